//! `--set key.path=value` overrides. The resolved configuration is written to a TOML table
//! (so every key, default students included, is present), the override replaces one value in
//! that table, and serde reads the table back: an override is type-checked, and an unknown
//! key rejected, exactly as if it had been written in the file.

use super::default_loss::fill_default_losses;
use super::schema::RunConfig;
use crate::{Error, Result};

/// Applies each `key.path=value` in order to `config`.
pub fn apply_overrides(mut config: RunConfig, overrides: &[String]) -> Result<RunConfig> {
    for raw in overrides {
        config = apply_one(config, raw)?;
    }
    Ok(config)
}

fn apply_one(config: RunConfig, raw: &str) -> Result<RunConfig> {
    let (key, value) = raw
        .split_once('=')
        .ok_or_else(|| Error::config(raw.trim(), format!("--set {raw}: expected KEY=VALUE")))?;
    let key = key.trim();
    let path = parse_path(key)?;
    let mut table = toml::Table::try_from(&config).map_err(|e| {
        Error::config(
            key,
            format!("--set {raw}: config cannot be written as TOML: {e}"),
        )
    })?;
    set_value(&mut table, key, &path, parse_value(value.trim()))?;
    let mut config = table.clone().try_into().map_err(|e: toml::de::Error| {
        let message = e.to_string().trim_end().replace('\n', " ");
        Error::config(key, format!("--set {raw}: {message}"))
    })?;
    fill_default_losses(&mut config, &table);
    Ok(config)
}

/// One step of a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `students.0.width` or `students[0].width` into segments; a segment of digits is an
/// array index.
fn parse_path(key: &str) -> Result<Vec<Segment>> {
    let normalised = key.replace('[', ".").replace(']', "");
    let segments: Vec<Segment> = normalised
        .split('.')
        .map(|s| match s.parse::<usize>() {
            Ok(i) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Segment::Index(i),
            _ => Segment::Key(s.to_string()),
        })
        .collect();
    if segments.iter().any(|s| *s == Segment::Key(String::new())) {
        return Err(Error::config(key, "--set: empty segment in the key path"));
    }
    Ok(segments)
}

/// Reads `text` as a TOML value (`3`, `1e-3`, `true`, `[1, 2]`, `"x"`, `{ a = 1 }`), or as a
/// plain string when it does not parse as one.
fn parse_value(text: &str) -> toml::Value {
    let doc = format!("v = {text}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) if t.len() == 1 => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(text.into())),
        _ => toml::Value::String(text.to_string()),
    }
}

/// Puts `value` at `path` in `table`. A missing table key is created (serde then rejects it
/// as unknown, naming it); an array index must be within the array.
fn set_value(
    table: &mut toml::Table,
    key: &str,
    path: &[Segment],
    value: toml::Value,
) -> Result<()> {
    let (first, rest) = match path.split_first() {
        Some((Segment::Key(k), rest)) => (k, rest),
        _ => {
            return Err(Error::config(
                key,
                "--set: a key path must start with a name",
            ));
        }
    };
    let mut node = table
        .entry(first.clone())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let mut walked = first.clone();
    for segment in rest {
        node = match (node, segment) {
            (toml::Value::Table(t), Segment::Key(k)) => t
                .entry(k.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new())),
            (toml::Value::Array(a), Segment::Index(i)) => {
                let len = a.len();
                a.get_mut(*i).ok_or_else(|| {
                    Error::config(key, format!("--set: `{walked}` has {len} entries (indices 0..{len}), found index {i}"))
                })?
            }
            (toml::Value::Array(_), Segment::Key(k)) => {
                return Err(Error::config(
                    key,
                    format!("--set: `{walked}` is a list; expected an index, found `{k}`"),
                ));
            }
            (other, _) => {
                return Err(Error::config(
                    key,
                    format!(
                        "--set: `{walked}` is not a table or a list (it holds a {} value)",
                        other.type_str()
                    ),
                ));
            }
        };
        match segment {
            Segment::Key(k) => walked = format!("{walked}.{k}"),
            Segment::Index(i) => walked = format!("{walked}[{i}]"),
        }
    }
    *node = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetName, Estimator};

    fn set(overrides: &[&str]) -> Result<RunConfig> {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        apply_overrides(RunConfig::default(), &overrides)
    }

    fn set_err(overrides: &[&str]) -> (String, String) {
        match set(overrides) {
            Ok(c) => panic!("expected an error for {overrides:?}, got {c:?}"),
            Err(Error::Config { key, message }) => (key, message),
            Err(e) => panic!("expected a config error, got {e}"),
        }
    }

    #[test]
    fn nested_and_top_level_values() {
        let c = set(&[
            "seed=9",
            "sampler.step_size=1e-3",
            "pool.clamp = true",
            "schedule.burn_in=5",
        ])
        .unwrap();
        assert_eq!(c.seed, 9);
        assert_eq!(c.sampler.step_size, 1e-3);
        assert!(c.pool.clamp);
        assert_eq!(c.schedule.burn_in, 5);
        assert_eq!(
            c.schedule.iterations,
            RunConfig::default().schedule.iterations
        );
    }

    #[test]
    fn array_index_into_default_students() {
        let c = set(&[
            "students.0.thinning=10",
            "students[1].width=[0.5, 0.25]",
            "students.1.estimator=sample",
        ])
        .unwrap();
        assert_eq!(c.students[0].thinning, 10);
        assert_eq!(c.students[1].width, [0.5, 0.25]);
        assert_eq!(c.students[1].estimator, Estimator::Sample);
        assert_eq!(c.students[1].name, "entropy");
    }

    #[test]
    fn array_index_into_students_from_a_file() {
        let file = RunConfig::from_toml_str("[[students]]\nname = \"only\"\n", "f.toml").unwrap();
        let c = file
            .with_overrides(&["students.0.dropout=0.0".to_string()])
            .unwrap();
        assert_eq!(c.students.len(), 1);
        assert_eq!(c.students[0].dropout, 0.0);
        let err = RunConfig::from_toml_str("[[students]]\nname = \"only\"\n", "f.toml")
            .unwrap()
            .with_overrides(&["students.1.dropout=0.0".to_string()])
            .unwrap_err();
        assert!(err.to_string().contains("1 entries"), "{err}");
    }

    #[test]
    fn whole_student_list_can_be_replaced() {
        let c = set(&["students=[{name = \"a\", thinning = 7}]"]).unwrap();
        assert_eq!(c.students.len(), 1);
        assert_eq!(
            (c.students[0].name.as_str(), c.students[0].thinning),
            ("a", 7)
        );
    }

    #[test]
    fn unparsable_value_falls_back_to_a_string() {
        let c = set(&[
            "data.dataset=fashion-mnist",
            "data.ood=kmnist",
            "output.dir=/tmp/x y",
        ])
        .unwrap();
        assert_eq!(c.data.dataset, DatasetName::FashionMnist);
        assert_eq!(c.data.ood, Some(DatasetName::Kmnist));
        assert_eq!(c.output.dir, std::path::PathBuf::from("/tmp/x y"));
        let c = set(&["students.0.name=\"quoted\""]).unwrap();
        assert_eq!(c.students[0].name, "quoted");
    }

    #[test]
    fn value_containing_equals_sign_keeps_it() {
        let c = set(&["output.dir=a=b"]).unwrap();
        assert_eq!(c.output.dir, std::path::PathBuf::from("a=b"));
    }

    #[test]
    fn wrong_type_names_the_key() {
        let (key, msg) = set_err(&["sampler.step_size=fast"]);
        assert_eq!(key, "sampler.step_size");
        assert!(
            msg.contains("invalid type") && msg.contains("step_size"),
            "{msg}"
        );
        let (key, msg) = set_err(&["students.0.thinning=1.5"]);
        assert_eq!(key, "students.0.thinning");
        assert!(msg.contains("invalid type"), "{msg}");
    }

    #[test]
    fn unknown_path_is_rejected_naming_it() {
        let (key, msg) = set_err(&["sampler.stepsize=1e-3"]);
        assert_eq!(key, "sampler.stepsize");
        assert!(msg.contains("unknown field `stepsize`"), "{msg}");
        let (_, msg) = set_err(&["nosuch.key=1"]);
        assert!(msg.contains("unknown field `nosuch`"), "{msg}");
        let (_, msg) = set_err(&["students.0.colour=red"]);
        assert!(msg.contains("unknown field `colour`"), "{msg}");
    }

    #[test]
    fn index_out_of_range_is_a_clear_error() {
        let (key, msg) = set_err(&["students.2.thinning=10"]);
        assert_eq!(key, "students.2.thinning");
        assert!(
            msg.contains("`students` has 2 entries") && msg.contains("index 2"),
            "{msg}"
        );
    }

    #[test]
    fn malformed_overrides_are_rejected() {
        let (_, msg) = set_err(&["seed"]);
        assert!(msg.contains("KEY=VALUE"), "{msg}");
        let (_, msg) = set_err(&["sampler..step_size=1"]);
        assert!(msg.contains("empty segment"), "{msg}");
        let (_, msg) = set_err(&["seed.x=1"]);
        assert!(msg.contains("`seed` is not a table or a list"), "{msg}");
        let (_, msg) = set_err(&["students.name=x"]);
        assert!(msg.contains("is a list"), "{msg}");
        let (_, msg) = set_err(&["0.x=1"]);
        assert!(msg.contains("must start with a name"), "{msg}");
    }

    #[test]
    fn later_overrides_win() {
        let c = set(&["seed=1", "seed=2"]).unwrap();
        assert_eq!(c.seed, 2);
    }
}
