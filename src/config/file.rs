//! Reading and writing a run configuration as TOML: parse a file (errors name the file, the
//! line and the key), apply `--set` overrides, print, and save atomically next to a run's
//! outputs. `configs/example.toml` is the documented default configuration.

use std::path::Path;

use super::default_loss::fill_default_losses;
use super::overrides::apply_overrides;
use super::schema::RunConfig;
use crate::base::write_atomic;
use crate::{Error, Result};

/// The default configuration with every key and its meaning, as in `configs/example.toml`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../configs/example.toml");

impl RunConfig {
    /// Parses TOML text; `origin` (a file path or a description such as `<string>`) names the
    /// source in errors. Missing keys take their defaults; unknown keys and wrong types are
    /// errors naming the key and the line. Values are not range-checked (see `validate`).
    /// A student table without `loss` gets its target's default loss.
    pub fn from_toml_str(text: &str, origin: impl AsRef<Path>) -> Result<RunConfig> {
        let error = |e: toml::de::Error| Error::ConfigFile {
            path: origin.as_ref().to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        };
        let mut config: RunConfig = toml::from_str(text).map_err(error)?;
        fill_default_losses(&mut config, &toml::from_str(text).map_err(error)?);
        Ok(config)
    }

    /// Reads and parses the TOML file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<RunConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigFile {
            path: path.to_path_buf(),
            message: format!("cannot read the run config: {e}"),
        })?;
        RunConfig::from_toml_str(&text, path)
    }

    /// Reads the TOML file at `path`, then applies `--set key.path=value` overrides in order
    /// (see [`RunConfig::with_overrides`]).
    pub fn load_with_overrides(path: impl AsRef<Path>, overrides: &[String]) -> Result<RunConfig> {
        RunConfig::load(path)?.with_overrides(overrides)
    }

    /// Applies `--set key.path=value` overrides in order. Keys are dotted paths into the TOML
    /// (`sampler.step_size`, `students.0.thinning` or `students[0].thinning`); values are TOML
    /// values (`3`, `1e-3`, `true`, `[0.5, 0.5]`, `"x"`), or plain strings when they do not
    /// parse as TOML (`data.dataset=fashion-mnist`). Each override is checked by serde as if it
    /// were in the file; errors name the override's key.
    pub fn with_overrides(self, overrides: &[String]) -> Result<RunConfig> {
        apply_overrides(self, overrides)
    }

    /// The configuration as TOML, every key written out. Fails only on values TOML cannot
    /// hold (an integer above 2^63 - 1).
    pub fn to_toml_string(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::InvalidArgument(format!("config cannot be written as TOML: {e}")))
    }

    /// Writes the configuration as TOML to `path` atomically (`base::write_atomic`: a
    /// temporary file in the same folder, flushed to disk, renamed over `path`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), self.to_toml_string()?.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatasetName, Loss, Target};

    fn parse(text: &str) -> Result<RunConfig> {
        RunConfig::from_toml_str(text, "test.toml")
    }

    fn parse_err(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("expected an error for {text:?}, parsed {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_file_gives_the_defaults() {
        assert_eq!(parse("").unwrap(), RunConfig::default());
    }

    #[test]
    fn example_file_is_exactly_the_default() {
        assert_eq!(parse(DEFAULT_CONFIG_TOML).unwrap(), RunConfig::default());
    }

    /// Equal values could still come from keys left out of the example; the example must
    /// write out every key, so its table must equal the default's serialised table.
    #[test]
    fn example_file_writes_out_every_key() {
        let example: toml::Table = toml::from_str(DEFAULT_CONFIG_TOML).unwrap();
        let default = toml::Table::try_from(RunConfig::default()).unwrap();
        assert_eq!(example, default);
    }

    #[test]
    fn missing_keys_take_defaults() {
        let c = parse("seed = 7\n[sampler]\nstep_size = 2e-6\n").unwrap();
        assert_eq!(c.seed, 7);
        assert_eq!(c.sampler.step_size, 2e-6);
        assert_eq!(c.sampler.prior_precision, 10.0);
        assert_eq!(c.data, RunConfig::default().data);
        assert_eq!(c.students, RunConfig::default().students);
    }

    #[test]
    fn students_in_file_replace_the_defaults_and_take_per_student_defaults() {
        let c =
            parse("[[students]]\nname = \"var\"\ntarget = \"variance\"\nloss = \"l1\"\n").unwrap();
        assert_eq!(c.students.len(), 1);
        let s = &c.students[0];
        assert_eq!(
            (s.name.as_str(), s.target, s.loss),
            ("var", Target::Variance, Loss::L1)
        );
        assert_eq!(s.thinning, 100);
        assert_eq!(s.width, [1.0, 1.0]);
    }

    #[test]
    fn ood_empty_is_none_and_a_name_is_some() {
        assert_eq!(parse("[data]\nood = \"\"").unwrap().data.ood, None);
        let c = parse("[data]\nood = \"fashion-mnist\"").unwrap();
        assert_eq!(c.data.ood, Some(DatasetName::FashionMnist));
        let msg = parse_err("[data]\nood = \"notmnist\"");
        assert!(msg.contains("notmnist") && msg.contains("ood"), "{msg}");
    }

    #[test]
    fn unknown_top_level_key_is_named_with_its_line() {
        let msg = parse_err("seed = 1\nsede = 2\n");
        assert!(msg.contains("test.toml"), "{msg}");
        assert!(msg.contains("unknown field `sede`"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn unknown_nested_key_is_named_with_its_line() {
        let msg = parse_err("[sampler]\nstep_size = 1e-6\nstepsize = 1e-6\n");
        assert!(msg.contains("unknown field `stepsize`"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
        let msg = parse_err("[[students]]\nname = \"a\"\nthining = 3\n");
        assert!(msg.contains("unknown field `thining`"), "{msg}");
        let msg = parse_err("[sample]\nstep_size = 1e-6\n");
        assert!(msg.contains("unknown field `sample`"), "{msg}");
    }

    #[test]
    fn wrong_type_is_named_with_its_line() {
        let msg = parse_err("[schedule]\niterations = \"many\"\n");
        assert!(
            msg.contains("line 2") && msg.contains("iterations"),
            "{msg}"
        );
        assert!(msg.contains("invalid type"), "{msg}");
        let msg = parse_err("[sampler]\nbatch_size = -5\n");
        assert!(msg.contains("batch_size"), "{msg}");
        let msg = parse_err("[teacher]\narch = \"resnet\"\n");
        assert!(msg.contains("resnet") && msg.contains("arch"), "{msg}");
        let msg = parse_err("[[students]]\nwidth = [1.0, 1.0, 1.0]\n");
        assert!(msg.contains("width") && msg.contains("length 3"), "{msg}");
        let msg = parse_err("[[students]]\ngroup_lasso_groups = \"both\"\n");
        assert!(
            msg.contains("group_lasso_groups") && msg.contains("incoming-outgoing"),
            "{msg}"
        );
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let msg = parse_err("seed = 1\n[data\n");
        assert!(msg.contains("test.toml") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn load_of_a_missing_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.toml");
        let msg = RunConfig::load(&path).unwrap_err().to_string();
        assert!(msg.contains("absent.toml"), "{msg}");
    }

    #[test]
    fn round_trip_through_validate_and_save() {
        let mut c = RunConfig {
            seed: 42,
            ..RunConfig::default()
        };
        c.data.ood = Some(DatasetName::Kmnist);
        c.data.mask_size = 10;
        c.data.dir = "/some/where".into();
        c.students[1].width = [0.5, 0.25];
        c.students[1].group_lasso_groups = crate::config::LassoGroups::IncomingOutgoing;
        c.sampler.step_size = 3.3e-7;
        let valid = c.validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        valid.save(&path).unwrap();
        let back = RunConfig::load(&path).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.validate().unwrap(), valid);
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.toml")]);
    }

    #[test]
    fn save_replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "garbage [").unwrap();
        RunConfig::default().save(&path).unwrap();
        assert_eq!(RunConfig::load(&path).unwrap(), RunConfig::default());
    }
}
