//! Which dataset files a command reads, and which of them the data folder lacks. A run reads
//! both splits of its dataset and the test split of its OOD set; an evaluation reads the test
//! splits only. A dataset that lacks a file the command reads is fetched whole: every missing
//! file of it, so that the folder ends up as `gped data fetch` would leave it.

use std::path::Path;

use super::catalog::{DatasetSpec, FileSpec, Split, dataset_spec};
use super::source::find_file;
use crate::Result;
use crate::config::{DatasetName, ValidConfig};

/// Both splits.
pub const BOTH_SPLITS: &[Split] = &[Split::Train, Split::Test];
/// The test split only.
pub const TEST_SPLIT: &[Split] = &[Split::Test];

/// A dataset a command reads, and which of its splits.
#[derive(Debug, Clone, Copy)]
pub struct Need<'a> {
    pub spec: &'a DatasetSpec,
    pub splits: &'static [Split],
}

/// A dataset with files missing from the data folder, some of which the command reads.
#[derive(Debug, Clone)]
pub struct Shortfall<'a> {
    pub spec: &'a DatasetSpec,
    /// Every file of the dataset that is missing (read by the command or not).
    pub missing: Vec<FileSpec>,
}

/// What a run of `cfg` reads: both splits of `data.dataset`, the test split of `data.ood`
/// (datasets generated in memory, such as `two-moons`, read no files).
pub fn run_needs(cfg: &ValidConfig) -> Result<Vec<Need<'static>>> {
    let mut needs = Vec::new();
    if let Some(spec) = catalogue_spec(cfg.data.dataset)? {
        needs.push(Need {
            spec,
            splits: BOTH_SPLITS,
        });
    }
    if let Some(spec) = cfg.data.ood.map(catalogue_spec).transpose()?.flatten() {
        needs.push(Need {
            spec,
            splits: TEST_SPLIT,
        });
    }
    Ok(needs)
}

/// What an evaluation of a run of `cfg` reads: the test split of `data.dataset`, and that of
/// the OOD set `ood` when it names a catalogue dataset (a folder is read as it is), else of
/// the run's `data.ood`.
pub fn eval_needs(cfg: &ValidConfig, ood: Option<&str>) -> Result<Vec<Need<'static>>> {
    let mut needs = Vec::new();
    if let Some(spec) = catalogue_spec(cfg.data.dataset)? {
        needs.push(Need {
            spec,
            splits: TEST_SPLIT,
        });
    }
    let ood_spec = match ood {
        Some(choice) => dataset_spec(choice).ok(),
        None => cfg.data.ood.map(catalogue_spec).transpose()?.flatten(),
    };
    if let Some(spec) = ood_spec {
        needs.push(Need {
            spec,
            splits: TEST_SPLIT,
        });
    }
    Ok(needs)
}

/// The catalogue entry of `name`; `None` for a dataset generated in memory.
fn catalogue_spec(name: DatasetName) -> Result<Option<&'static DatasetSpec>> {
    match name.is_generated() {
        true => Ok(None),
        false => dataset_spec(name.as_str()).map(Some),
    }
}

/// The datasets of `needs` that lack in `data_dir` a file the command reads, each with all of
/// its missing files, in the order of `needs`.
pub fn shortfalls<'a>(data_dir: &Path, needs: &[Need<'a>]) -> Vec<Shortfall<'a>> {
    let mut out: Vec<Shortfall<'a>> = Vec::new();
    for need in needs {
        if out.iter().any(|s| s.spec.name == need.spec.name) {
            continue;
        }
        let dir = need.spec.files_dir(data_dir);
        let absent = |f: &&FileSpec| find_file(&dir, f.name).is_none();
        let read_missing = need
            .spec
            .files
            .iter()
            .filter(|f| need.splits.contains(&f.split))
            .any(|f| absent(&f));
        if read_missing {
            out.push(Shortfall {
                spec: need.spec,
                missing: need.spec.files.iter().filter(absent).copied().collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    fn cfg(text: &str) -> ValidConfig {
        RunConfig::from_toml_str(text, "t.toml")
            .unwrap()
            .validate()
            .unwrap()
    }

    #[test]
    fn a_run_reads_its_dataset_and_the_ood_test_split() {
        let c = cfg("[data]\nood = \"fashion-mnist\"\n");
        let needs = run_needs(&c).unwrap();
        let names: Vec<_> = needs.iter().map(|n| (n.spec.name, n.splits)).collect();
        assert_eq!(
            names,
            [("mnist", BOTH_SPLITS), ("fashion-mnist", TEST_SPLIT)]
        );
        let eval = eval_needs(&c, None).unwrap();
        assert_eq!(eval.len(), 2);
        assert!(eval.iter().all(|n| n.splits == TEST_SPLIT));
        let other = eval_needs(&c, Some("kmnist")).unwrap();
        assert_eq!(other[1].spec.name, "kmnist");
        assert_eq!(eval_needs(&c, Some("/some/folder")).unwrap().len(), 1);
    }

    #[test]
    fn a_generated_dataset_reads_no_files() {
        let c = cfg(
            "[data]\ndataset = \"two-moons\"\n[teacher]\narch = \"plane-mlp\"\n[eval]\ntest_batch = 100\n",
        );
        assert!(run_needs(&c).unwrap().is_empty());
        assert!(eval_needs(&c, None).unwrap().is_empty());
    }

    #[test]
    fn a_dataset_missing_a_file_it_reads_is_fetched_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let c = cfg("[data]\nood = \"fashion-mnist\"\n");
        let needs = run_needs(&c).unwrap();
        let all = shortfalls(tmp.path(), &needs);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].missing.len(), 4);
        // The OOD set's test files are there: its missing training files are not read.
        let fashion = tmp.path().join("fashion-mnist");
        std::fs::create_dir_all(&fashion).unwrap();
        std::fs::write(fashion.join("t10k-images-idx3-ubyte.gz"), b"x").unwrap();
        std::fs::write(fashion.join("t10k-labels-idx1-ubyte"), b"x").unwrap();
        let some = shortfalls(tmp.path(), &needs);
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].spec.name, "mnist");
        // One MNIST file there: the other three are fetched.
        let mnist = tmp.path().join("mnist");
        std::fs::create_dir_all(&mnist).unwrap();
        std::fs::write(mnist.join("train-images-idx3-ubyte"), b"x").unwrap();
        let names: Vec<_> = shortfalls(tmp.path(), &needs)[0]
            .missing
            .iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte",
                "t10k-labels-idx1-ubyte"
            ]
        );
    }
}
