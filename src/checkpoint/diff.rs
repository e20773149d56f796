//! Which settings of a resumed run may differ from its checkpoint's: none that changes a
//! result. Both configs are flattened to dotted keys (`sampler.step_size`,
//! `students.0.thinning`) and compared; only where outputs go and how often checkpoints are
//! written (`output.dir`, `output.checkpoint_every`) and where the data is read from
//! (`data.dir`) may change.

use crate::config::RunConfig;
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Keys that do not change a run's results.
const FREE_KEYS: [&str; 3] = ["output.dir", "output.checkpoint_every", "data.dir"];

/// One differing key: its value in the checkpoint and in the given config (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub key: String,
    pub checkpoint: Option<String>,
    pub given: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(absent)".into());
        write!(
            f,
            "`{}` (checkpoint: {}, given: {})",
            self.key,
            show(&self.checkpoint),
            show(&self.given)
        )
    }
}

/// The keys whose values differ between the checkpoint's config and the given one, except
/// the free keys, in key order.
pub fn differences(checkpoint: &RunConfig, given: &RunConfig) -> Result<Vec<Difference>> {
    let (a, b) = (flatten(checkpoint)?, flatten(given)?);
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    Ok(keys
        .into_iter()
        .filter(|k| !FREE_KEYS.contains(&k.as_str()) && a.get(*k) != b.get(*k))
        .map(|k| Difference {
            key: k.clone(),
            checkpoint: a.get(k).cloned(),
            given: b.get(k).cloned(),
        })
        .collect())
}

/// Every leaf of `config` as (dotted key, TOML value text).
fn flatten(config: &RunConfig) -> Result<BTreeMap<String, String>> {
    let value = toml::Value::try_from(config)
        .map_err(|e| Error::InvalidArgument(format!("config as TOML: {e}")))?;
    let mut out = BTreeMap::new();
    walk("", &value, &mut out);
    Ok(out)
}

fn walk(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        toml::Value::Table(table) => table.iter().for_each(|(k, v)| walk(&key(k), v, out)),
        // Arrays of tables (the students) by index; arrays of numbers are one leaf.
        toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| walk(&key(&i.to_string()), v, out)),
        leaf => {
            out.insert(prefix.to_string(), leaf.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_configs_have_no_difference() {
        let c = RunConfig::default();
        assert!(differences(&c, &c.clone()).unwrap().is_empty());
    }

    #[test]
    fn each_changed_key_is_named_with_both_values() {
        let a = RunConfig::default();
        let mut b = a.clone();
        b.sampler.step_size *= 2.0;
        b.students[1].thinning = 7;
        b.output.checkpoint_every = 5; // free
        b.data.dir = "elsewhere".into(); // free
        let d = differences(&a, &b).unwrap();
        let keys: Vec<_> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["sampler.step_size", "students.1.thinning"]);
        assert_eq!(d[1].checkpoint.as_deref(), Some("10"));
        assert_eq!(d[1].given.as_deref(), Some("7"));
        assert!(
            d[1].to_string()
                .contains("`students.1.thinning` (checkpoint: 10, given: 7)")
        );
    }

    #[test]
    fn a_removed_student_shows_its_keys_as_absent() {
        let a = RunConfig::default();
        let mut b = a.clone();
        b.students.pop();
        let d = differences(&a, &b).unwrap();
        assert!(
            d.iter()
                .all(|d| d.key.starts_with("students.1.") && d.given.is_none())
        );
        assert!(d.iter().any(|d| d.key == "students.1.name"), "{d:?}");
    }
}
