//! The demo's settings: `configs/demo.toml`, embedded in the binary and documented there (two
//! moons, the 2-100-100-2 plane MLP, SGLD's step size and prior, T, B, H and the two students).

use crate::config::{DatasetName, RunConfig, ValidConfig};
use crate::{Error, Result};

/// `configs/demo.toml`.
pub const DEMO_CONFIG_TOML: &str = include_str!("../../configs/demo.toml");

/// The demo's config with master seed `seed`, then the `--set key=value` `overrides` applied,
/// validated. The dataset must stay `two-moons`: the demo's data and map are made for it.
pub fn demo_config(seed: u64, overrides: &[String]) -> Result<ValidConfig> {
    let mut cfg = RunConfig::from_toml_str(DEMO_CONFIG_TOML, "configs/demo.toml (embedded)")?;
    cfg.seed = seed;
    let cfg = cfg.with_overrides(overrides)?;
    if cfg.data.dataset != DatasetName::TwoMoons {
        return Err(Error::config(
            "data.dataset",
            format!(
                "must be `two-moons` in gped demo, found `{}`",
                cfg.data.dataset
            ),
        ));
    }
    cfg.validate()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preset_validates_with_its_seed_and_overrides() {
        let cfg = demo_config(7, &["schedule.iterations=3000".into()]).unwrap();
        assert_eq!((cfg.seed, cfg.schedule.iterations), (7, 3000));
        assert_eq!(cfg.dataset_info().classes, 2);
    }

    #[test]
    fn another_dataset_is_refused() {
        let err = demo_config(0, &["data.dataset=mnist".into()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("data.dataset") && err.contains("mnist"),
            "{err}"
        );
    }
}
