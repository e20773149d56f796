//! Reading a finished run back for evaluation: its resolved config, its students (the
//! [`Distilled`] networks of `students/NAME.safetensors`), the teacher's streamed ensemble
//! sums, the occluded test set exactly as the run built it, and the OOD set: the run's own
//! (`data.ood`, with the teacher's OOD ensemble) or one named on the command line (a catalogue
//! dataset or a folder of IDX test images), on which only the students can be scored unless it
//! is the run's own; and the teacher chains' convergence diagnostics of `metrics.json`, when it
//! has them.

use crate::config::ValidConfig;
use crate::data::{
    Dataset, Split, checksum_policy, dataset_spec, load, load_idx_images_folder, occluded_test_set,
};
use crate::ensemble::Ensemble;
use crate::infer::{Distilled, read_run_config};
use crate::sampler::diagnostics::Diagnostics;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// A finished run folder, loaded.
pub struct RunFolder {
    pub dir: PathBuf,
    pub config: ValidConfig,
    /// The students, in config order, weights loaded, in evaluation mode.
    pub students: Distilled,
    /// The teacher's ensemble sums on the test set.
    pub ensemble_test: Ensemble,
    /// The teacher's ensemble sums on the run's OOD set, when it had one.
    pub ensemble_ood: Option<Ensemble>,
    /// `metrics.json`'s `diagnostics` (split R-hat and ESS of the teacher chains), when the
    /// run wrote them.
    pub diagnostics: Option<Diagnostics>,
}

impl RunFolder {
    /// Opens the run folder `dir` written by `gped run`.
    pub fn open(dir: &Path) -> Result<Self> {
        let config = read_run_config(dir)?;
        let ensemble_path = dir.join("ensemble_test.safetensors");
        if !ensemble_path.is_file() {
            return Err(Error::NotFound {
                what: "teacher ensemble `ensemble_test.safetensors` (is the run finished?)".into(),
                path: ensemble_path,
                hint: "RUN_DIR must be a folder written by `gped run` (config.toml, students/, \
                       ensemble_test.safetensors)"
                    .into(),
            });
        }
        let ensemble_test = Ensemble::load(&ensemble_path)?;
        let ood_path = dir.join("ensemble_ood.safetensors");
        let ensemble_ood = match (config.data.ood, ood_path.is_file()) {
            (Some(_), true) => Some(Ensemble::load(&ood_path)?),
            _ => None,
        };
        let students = Distilled::with_config(dir, config.clone())?;
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            config,
            students,
            ensemble_test,
            ensemble_ood,
            diagnostics: read_diagnostics(dir),
        })
    }

    /// The occluded test set of the run, checked against the ensemble's size.
    pub fn test_set(&self, data_dir: &Path) -> Result<Dataset> {
        let test = occluded_test_set(&self.config, data_dir)?;
        check_covers(
            &self.ensemble_test,
            &test,
            &self.dir.join("ensemble_test.safetensors"),
        )?;
        Ok(test)
    }
}

/// Where an OOD set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OodSource {
    /// A catalogue dataset's test split.
    Catalogue,
    /// A folder holding IDX test images.
    Folder,
}

/// The OOD test set of an evaluation.
pub struct OodSet {
    /// Catalogue name, or the folder's path.
    pub name: String,
    pub source: OodSource,
    /// The unoccluded inputs (labels unused).
    pub data: Dataset,
    /// The teacher's ensemble sums on it: only for the run's own OOD set.
    pub teacher: Option<Ensemble>,
}

/// The OOD set of the evaluation of `run`: `choice` (a catalogue name or a folder) when given,
/// else the run's `data.ood`; `None` when neither exists. The teacher's ensemble comes along
/// only when the set is the run's own.
pub fn load_ood_set(
    run: &RunFolder,
    choice: Option<&str>,
    data_dir: &Path,
) -> Result<Option<OodSet>> {
    let cfg = &run.config;
    let run_ood = cfg.data.ood.map(|d| d.as_str());
    let Some(choice) = choice.or(run_ood) else {
        return Ok(None);
    };
    let classes = cfg.dataset_info().classes;
    let (data, source, name) = if let Ok(spec) = dataset_spec(choice) {
        let data = load(data_dir, spec.name, Split::Test, checksum_policy(cfg))?;
        (data, OodSource::Catalogue, spec.name.to_string())
    } else if Path::new(choice).is_dir() {
        let data = load_idx_images_folder(Path::new(choice), classes)?;
        (data, OodSource::Folder, choice.to_string())
    } else {
        return Err(Error::InvalidArgument(format!(
            "--ood `{choice}` is neither a catalogue dataset (mnist, fashion-mnist, kmnist, \
             cifar10) nor a folder holding t10k-images-idx3-ubyte[.gz]"
        )));
    };
    let shape = cfg.dataset_info().shape;
    let expected = [shape.channels, shape.height, shape.width];
    if data.image_shape() != expected {
        return Err(Error::InvalidArgument(format!(
            "OOD set `{name}` has images of {:?} (channels, height, width); the run's dataset \
             `{}` has {expected:?}",
            data.image_shape(),
            cfg.data.dataset
        )));
    }
    let own = source == OodSource::Catalogue && Some(name.as_str()) == run_ood;
    let teacher = match (own, &run.ensemble_ood) {
        (true, Some(ens)) => {
            check_covers(ens, &data, &run.dir.join("ensemble_ood.safetensors"))?;
            Some(ens.clone())
        }
        _ => None,
    };
    Ok(Some(OodSet {
        name,
        source,
        data,
        teacher,
    }))
}

/// Checks that `ensemble` (read from `path`) has one row per input of `data` and its classes.
fn check_covers(ensemble: &Ensemble, data: &Dataset, path: &Path) -> Result<()> {
    if ensemble.len() != data.len() || ensemble.classes() != data.num_classes() {
        return Err(Error::format(
            path,
            "ensemble safetensors",
            format!(
                "expected sums for {} inputs of {} classes, found {} inputs of {}",
                data.len(),
                data.num_classes(),
                ensemble.len(),
                ensemble.classes()
            ),
        ));
    }
    Ok(())
}
/// `metrics.json`'s `diagnostics` in the run folder `dir`; `None` when the file or the key is
/// absent (a run from before diagnostics, or `eval.diagnostic_inputs = 0`) or unreadable: they
/// are a remark in the report, never a reason to refuse the evaluation.
fn read_diagnostics(dir: &Path) -> Option<Diagnostics> {
    let text = std::fs::read_to_string(dir.join("metrics.json")).ok()?;
    let metrics: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(metrics.get("diagnostics")?.clone()).ok()
}
