//! [`Distilled`]: the students of a run folder, rebuilt with the architecture, widths and
//! output heads of the run's config and loaded from their weight files, in evaluation mode
//! (dropout off). The first predictive student gives the class probabilities and the total
//! uncertainty H[p(y|x)]; the first entropy student, when the run has one, gives the aleatoric
//! uncertainty E_theta H[p(y|x,theta)] and with it the epistemic uncertainty, their difference.
//! A Dirichlet (EnD^2) student answers only in a run without a predictive student: its
//! expected predictive alpha / alpha_0 and its Dirichlet's three uncertainties; beside a
//! predictive student it is left to `gped eval`, which compares the two.
//! A multi-head student (`students[].heads`) answers as one student per head, named
//! `NAME/TARGET`, each reading its columns of the shared output layer: a two-headed
//! (predictive + entropy) student alone gives the probabilities and the whole decomposition.

use crate::config::{HeadConfig, RunConfig, StudentConfig, Target, ValidConfig};
use crate::data::Dataset;
use crate::expectation::{PosteriorExpectation, columns, for_target};
use crate::model::{ModelSpec, build, load_network};
use crate::nn::{Network, weights};
use crate::uncertainty::{OodThreshold, Uncertainty, expected_predictive};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// What a missing file of a run folder is told to look like.
const RUN_DIR_HINT: &str =
    "RUN_DIR must be a folder written by `gped run` (config.toml, students/)";

/// One distilled student: its network with the head of its target (softmax for the
/// predictive, exp for the entropy and the variance); or one head of a multi-head student,
/// named `NAME/TARGET`, with the student's network.
pub struct DistilledStudent {
    pub name: String,
    pub target: Target,
    /// The config's student it is (for a head: the student it is a head of).
    pub student: String,
    net: Network,
    head: Box<dyn PosteriorExpectation>,
    /// The head's columns of the network's outputs (all of them for a single-head student).
    columns: std::ops::Range<usize>,
}

impl DistilledStudent {
    /// Outputs per input: the classes for the predictive and the variance, 1 for the entropy.
    pub fn width(&self) -> usize {
        self.head.width()
    }

    /// The student's predictions `[n, width]` for `inputs` `[n, input_size]`, in chunks of
    /// `chunk` inputs, in evaluation mode.
    pub fn predict(&mut self, inputs: &[f32], n: usize, chunk: usize) -> Vec<f32> {
        let len = inputs.len() / n.max(1);
        let width = self.width();
        let mut out = vec![0.0; n * width];
        let total = self.net.output_size();
        let mut own = Vec::new();
        self.net.training = false;
        for start in (0..n).step_by(chunk.max(1)) {
            let rows = chunk.max(1).min(n - start);
            let x = &inputs[start * len..(start + rows) * len];
            let raw = self.net.forward(x, rows);
            let raw = if width == total {
                raw
            } else {
                own.resize(rows * width, 0.0);
                columns::gather(raw, total, self.columns.clone(), &mut own);
                &own
            };
            self.head
                .predict(raw, &mut out[start * width..(start + rows) * width]);
        }
        out
    }
}

/// The students of a finished run, ready to predict.
pub struct Distilled {
    pub dir: PathBuf,
    pub config: ValidConfig,
    /// In config order.
    pub students: Vec<DistilledStudent>,
    /// The run's OOD threshold (`ood_threshold.json`), when it chose one (data.holdout > 0).
    pub ood: Option<OodThreshold>,
}

/// The per-input answers of [`Distilled::predict`] for `n` inputs of `classes` classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub classes: usize,
    /// The predictive student's class probabilities `[n, classes]`.
    pub probs: Vec<f32>,
    /// The most probable class of each input `[n]` (the first one on a tie).
    pub class: Vec<usize>,
    /// Total uncertainty (the entropy of `probs`), aleatoric (the entropy student's output)
    /// and epistemic (total - aleatoric, not clipped), in nats, each `[n]`; aleatoric and
    /// epistemic are `None` without an entropy student.
    pub uncertainty: Uncertainty,
    /// Per input, whether the run's OOD threshold flags it; `None` when the run has no
    /// threshold.
    pub ood: Option<Vec<bool>>,
}

impl Distilled {
    /// Opens the run folder `dir` written by `gped run`: its `config.toml` and
    /// `students/NAME.safetensors` for every student of the config.
    pub fn open(dir: &Path) -> Result<Self> {
        Distilled::with_config(dir, read_run_config(dir)?)
    }

    /// The students of the run folder `dir` whose (already read) config is `config`.
    pub fn with_config(dir: &Path, config: ValidConfig) -> Result<Self> {
        let classes = config.dataset_info().classes;
        let mut students = Vec::new();
        for cfg in &config.students {
            let heads = cfg.head_configs();
            let mut offset = 0;
            for head in &heads {
                let mut student = open_student(dir, &config, cfg, head, classes)?;
                let width = student.width();
                student.columns = offset..offset + width;
                offset += width;
                if heads.len() > 1 {
                    student.name = format!("{}/{}", cfg.name, head.target.as_str());
                }
                students.push(student);
            }
        }
        Ok(Distilled {
            dir: dir.to_path_buf(),
            config,
            students,
            ood: OodThreshold::load(dir)?,
        })
    }

    /// Indices of the students distilling `target`, in config order.
    pub fn students_of(&self, target: Target) -> Vec<usize> {
        (0..self.students.len())
            .filter(|&i| self.students[i].target == target)
            .collect()
    }

    /// Number of classes of the run's dataset.
    pub fn classes(&self) -> usize {
        self.config.dataset_info().classes
    }

    /// Values per input image: channels x height x width of the run's dataset.
    pub fn input_size(&self) -> usize {
        self.image_shape().iter().product()
    }

    /// `[channels, height, width]` of the run's dataset's images.
    pub fn image_shape(&self) -> [usize; 3] {
        let s = self.config.dataset_info().shape;
        [s.channels, s.height, s.width]
    }

    /// [`Distilled::predict`] on the images of `images` (read from `source`, which errors
    /// name), after checking that they have the run's image shape.
    pub fn predict_images(&mut self, images: &Dataset, source: &Path) -> Result<Predictions> {
        let expected = self.image_shape();
        if images.image_shape() != expected {
            return Err(Error::InvalidArgument(format!(
                "{}: images of {:?} (channels, height, width), expected {expected:?} as the \
                 run's dataset `{}` has",
                source.display(),
                images.image_shape(),
                self.config.data.dataset
            )));
        }
        self.predict(images.images())
    }

    /// The answers of the first predictive student and the first entropy student (when the
    /// run has one) for `inputs` `[n, input_size]`, in chunks of the run's `eval.test_batch`.
    ///
    /// The epistemic uncertainty total - aleatoric comes from two separately distilled
    /// networks, so it can come out negative where the entropy student's output exceeds the
    /// predictive's entropy; it is reported as is, not clipped at 0, as `gped eval` does (a
    /// negative value says the two students disagree there).
    ///
    /// Without a predictive student, the first Dirichlet student answers (class
    /// probabilities alpha / alpha_0, its Dirichlet's uncertainties, none negative).
    pub fn predict(&mut self, inputs: &[f32]) -> Result<Predictions> {
        let size = self.input_size();
        if !inputs.len().is_multiple_of(size) {
            return Err(Error::InvalidArgument(format!(
                "expected inputs of {size} values each, found {} values in all",
                inputs.len()
            )));
        }
        let n = inputs.len() / size;
        let chunk = self.config.eval.test_batch;
        let classes = self.classes();
        let first = |target| self.students_of(target).first().copied();
        let entropy = first(Target::Entropy);
        let (probs, uncertainty) = match (first(Target::Predictive), first(Target::Dirichlet)) {
            (Some(p), _) => {
                let probs = self.students[p].predict(inputs, n, chunk);
                let aleatoric = entropy.map(|e| self.students[e].predict(inputs, n, chunk));
                let uncertainty = Uncertainty::from_predictive(&probs, classes, aleatoric);
                (probs, uncertainty)
            }
            (None, Some(d)) => {
                let alphas = self.students[d].predict(inputs, n, chunk);
                let uncertainty = Uncertainty::from_dirichlet(&alphas, classes);
                (expected_predictive(&alphas, classes), uncertainty)
            }
            (None, None) => {
                return Err(Error::InvalidArgument(format!(
                    "run folder {} has no predictive (or Dirichlet) student to predict with",
                    self.dir.display()
                )));
            }
        };
        let class = probs
            .chunks_exact(classes)
            .map(|row| (0..classes).fold(0, |best, c| if row[c] > row[best] { c } else { best }))
            .collect();
        let ood = self.ood.as_ref().and_then(|t| t.flags(&uncertainty));
        Ok(Predictions {
            classes,
            probs,
            class,
            uncertainty,
            ood,
        })
    }
}

/// The student `cfg` of the run folder `dir` answering with its head `head` (the whole
/// student for a single-head one; its columns are set by the caller): its network at the
/// config's widths with all the student's outputs, loaded from `students/NAME.safetensors`.
fn open_student(
    dir: &Path,
    config: &ValidConfig,
    cfg: &StudentConfig,
    head: &HeadConfig,
    classes: usize,
) -> Result<DistilledStudent> {
    let outputs = cfg.outputs(classes);
    let path = dir
        .join("students")
        .join(format!("{}.safetensors", cfg.name));
    if !path.is_file() {
        return Err(not_a_run(
            &format!("weights of student `{}`", cfg.name),
            path,
        ));
    }
    let arch = config.teacher.arch;
    let net = if config.prune.enabled() && config.prune.prunes(&cfg.name, cfg.group_lasso) {
        // Pruned: at the widths of its tensors.
        load_network(arch, outputs, &path)?
    } else {
        // At the config's widths, every tensor's shape checked against them.
        let spec = ModelSpec {
            arch,
            width: cfg.width,
            outputs,
            dropout: cfg.dropout as f32,
        };
        let mut net = build(&spec, 0);
        weights::load(&mut net.params, &path)?;
        net.training = false;
        net
    };
    let head_target = for_target(head.target, classes, head.loss);
    Ok(DistilledStudent {
        name: cfg.name.clone(),
        target: head.target,
        student: cfg.name.clone(),
        net,
        columns: 0..head_target.width(),
        head: head_target,
    })
}

/// The validated `config.toml` of the run folder `dir` (errors name the missing folder or
/// file and say what a run folder holds).
pub fn read_run_config(dir: &Path) -> Result<ValidConfig> {
    if !dir.is_dir() {
        return Err(not_a_run("run folder", dir.to_path_buf()));
    }
    let config_path = dir.join("config.toml");
    if !config_path.is_file() {
        return Err(not_a_run("run config `config.toml`", config_path));
    }
    RunConfig::load(&config_path)?.validate()
}

fn not_a_run(what: &str, path: PathBuf) -> Error {
    Error::NotFound {
        what: what.into(),
        path,
        hint: RUN_DIR_HINT.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, StudentConfig};
    use crate::nn::ParamSet;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A run folder holding `config.toml` (MNIST, FCNN students of widths 0.02 (8 hidden
    /// units), dropout 0.5 on the predictive) and each student's weights, built with seed
    /// 10 + its index; `with_entropy` adds the entropy student.
    fn run_folder(with_entropy: bool) -> (tempfile::TempDir, ValidConfig) {
        let mut students = vec![StudentConfig {
            width: [0.02, 0.02],
            ..StudentConfig::default()
        }];
        if with_entropy {
            students.push(StudentConfig {
                width: [0.02, 0.02],
                ..StudentConfig::default_entropy()
            });
        }
        run_folder_of(students)
    }

    /// A Dirichlet student of widths 0.02 named `name`.
    fn dirichlet(name: &str) -> StudentConfig {
        StudentConfig {
            name: name.into(),
            target: Target::Dirichlet,
            loss: crate::config::Loss::DirichletNll,
            width: [0.02, 0.02],
            ..StudentConfig::default()
        }
    }

    /// A run folder as [`run_folder`]'s, with the students `students`.
    fn run_folder_of(students: Vec<StudentConfig>) -> (tempfile::TempDir, ValidConfig) {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = RunConfig::default();
        cfg.teacher.arch = Arch::Fcnn;
        cfg.eval.test_batch = 2; // forces several chunks
        cfg.students = students;
        cfg.save(dir.path().join("config.toml")).unwrap();
        let cfg = cfg.validate().unwrap();
        std::fs::create_dir(dir.path().join("students")).unwrap();
        for (i, s) in cfg.students.iter().enumerate() {
            let net = build(&spec_of(s), 10 + i as u64);
            let path = dir
                .path()
                .join("students")
                .join(format!("{}.safetensors", s.name));
            weights::save(&net.params, &path, None).unwrap();
        }
        (dir, cfg)
    }

    fn spec_of(s: &StudentConfig) -> ModelSpec {
        ModelSpec {
            arch: Arch::Fcnn,
            width: s.width,
            outputs: s.target.outputs(10),
            dropout: s.dropout as f32,
        }
    }

    /// The FCNN's forward pass written out from its parameters in PyTorch's layout
    /// (`fcN.weight` `[out, in]`, `fcN.bias` `[out]`): fc1, ReLU, fc2, ReLU, fc3, without
    /// dropout (evaluation mode), in f64.
    fn mlp_by_hand(params: &ParamSet, x: &[f32]) -> Vec<f64> {
        let tensor = |name: &str| {
            let spec = params.specs.iter().find(|s| s.name == name).unwrap();
            (spec.shape.clone(), &params.values[spec.range()])
        };
        let mut h: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        for (layer, relu) in [("fc1", true), ("fc2", true), ("fc3", false)] {
            let (shape, w) = tensor(&format!("{layer}.weight"));
            let (_, b) = tensor(&format!("{layer}.bias"));
            let (out, inp) = (shape[0], shape[1]);
            h = (0..out)
                .map(|o| {
                    let z =
                        b[o] as f64 + (0..inp).map(|i| w[o * inp + i] as f64 * h[i]).sum::<f64>();
                    if relu { z.max(0.0) } else { z }
                })
                .collect();
        }
        h
    }

    fn inputs(n: usize) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(3);
        (0..n * 784).map(|_| rng.random::<f32>()).collect()
    }

    #[test]
    fn answers_match_the_networks_computed_by_hand() {
        let (dir, cfg) = run_folder(true);
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let n = 5;
        let x = inputs(n);
        let got = distilled.predict(&x).unwrap();
        let predictive = build(&spec_of(&cfg.students[0]), 10);
        let entropy = build(&spec_of(&cfg.students[1]), 11);
        let aleatoric = got.uncertainty.aleatoric.as_ref().unwrap();
        let epistemic = got.uncertainty.knowledge.as_ref().unwrap();
        for i in 0..n {
            let row = &x[i * 784..(i + 1) * 784];
            // Softmax and entropy -sum p ln p, by hand.
            let logits = mlp_by_hand(&predictive.params, row);
            let max = logits.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = logits.iter().map(|l| (l - max).exp()).sum();
            let p: Vec<f64> = logits.iter().map(|l| (l - max).exp() / z).collect();
            let total = -p.iter().map(|p| p * p.ln()).sum::<f64>();
            let class = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            // The entropy student's exp head.
            let expected_entropy = mlp_by_hand(&entropy.params, row)[0].exp();
            for (c, &p) in p.iter().enumerate() {
                assert!(
                    (got.probs[i * 10 + c] as f64 - p).abs() < 1e-5,
                    "p[{i},{c}]"
                );
            }
            assert_eq!(got.class[i], class);
            assert!((got.uncertainty.total[i] as f64 - total).abs() < 1e-4);
            assert!((aleatoric[i] as f64 - expected_entropy).abs() < 1e-4);
            assert!((epistemic[i] as f64 - (total - expected_entropy)).abs() < 1e-4);
        }
        // Calling again gives the same answers: no dropout, no state.
        assert_eq!(distilled.predict(&x).unwrap(), got);
    }

    #[test]
    fn the_ood_flag_follows_the_runs_threshold() {
        let (dir, _) = run_folder(true);
        let x = inputs(6);
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let plain = distilled.predict(&x).unwrap();
        assert_eq!(plain.ood, None, "no ood_threshold.json: no flag");
        // A threshold at the median total uncertainty of these inputs flags the upper half.
        let mut total = plain.uncertainty.total.clone();
        total.sort_by(f32::total_cmp);
        let threshold = OodThreshold::choose(crate::config::OodScore::Total, 0.5, &total).unwrap();
        threshold.save(dir.path()).unwrap();
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let got = distilled.predict(&x).unwrap();
        let expected: Vec<bool> = (plain.uncertainty.total.iter())
            .map(|&u| u > total[2])
            .collect();
        assert_eq!(got.ood, Some(expected.clone()));
        assert_eq!(expected.iter().filter(|&&f| f).count(), 3);
    }

    #[test]
    fn without_an_entropy_student_only_the_total_is_given() {
        let (dir, _) = run_folder(false);
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let got = distilled.predict(&inputs(3)).unwrap();
        assert_eq!(got.uncertainty.total.len(), 3);
        assert_eq!(got.uncertainty.aleatoric, None);
        assert_eq!(got.uncertainty.knowledge, None);
    }

    /// Beside a predictive student a Dirichlet student changes no answer; alone, it answers
    /// with alpha / alpha_0 and its Dirichlet's uncertainties (alpha = exp of the network's
    /// outputs computed by hand, the decomposition by `dirichlet_uncertainty`).
    #[test]
    fn a_dirichlet_student_answers_only_without_a_predictive_one() {
        let x = inputs(4);
        let (plain, _) = run_folder(true);
        let want = Distilled::open(plain.path()).unwrap().predict(&x).unwrap();
        let mut both = run_folder(true).1.students.to_vec();
        both.push(dirichlet("end2"));
        let (dir, _) = run_folder_of(both);
        assert_eq!(
            Distilled::open(dir.path()).unwrap().predict(&x).unwrap(),
            want
        );
        let (dir, cfg) = run_folder_of(vec![dirichlet("end2")]);
        let got = Distilled::open(dir.path()).unwrap().predict(&x).unwrap();
        let net = build(&spec_of(&cfg.students[0]), 10);
        for i in 0..4 {
            let alpha: Vec<f64> = mlp_by_hand(&net.params, &x[i * 784..(i + 1) * 784])
                .iter()
                .map(|z| z.exp())
                .collect();
            let alpha_0: f64 = alpha.iter().sum();
            for (c, a) in alpha.iter().enumerate() {
                assert!((got.probs[i * 10 + c] as f64 - a / alpha_0).abs() < 1e-5);
            }
            let u = crate::uncertainty::dirichlet_uncertainty(&alpha);
            assert!((got.uncertainty.total[i] as f64 - u.total).abs() < 1e-4);
            let knowledge = got.uncertainty.knowledge.as_ref().unwrap()[i] as f64;
            assert!(
                (knowledge - u.knowledge).abs() < 1e-4,
                "{knowledge} vs {u:?}"
            );
        }
    }

    #[test]
    fn a_folder_without_config_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = Distilled::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }

    #[test]
    fn a_missing_student_file_is_named() {
        let (dir, _) = run_folder(true);
        let path = dir.path().join("students").join("entropy.safetensors");
        std::fs::remove_file(&path).unwrap();
        let err = Distilled::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("student `entropy`"), "{err}");
        assert!(err.contains(&path.display().to_string()), "{err}");
    }

    #[test]
    fn weights_of_the_wrong_shape_are_named() {
        let (dir, _) = run_folder(true);
        let students = dir.path().join("students");
        // The entropy student's file (fc3 of 1 output) in place of the predictive's (10).
        std::fs::copy(
            students.join("entropy.safetensors"),
            students.join("predictive.safetensors"),
        )
        .unwrap();
        let err = Distilled::open(dir.path()).err().unwrap().to_string();
        assert!(err.contains("predictive.safetensors"), "{err}");
        assert!(err.contains("fc3"), "{err}");
    }

    #[test]
    fn images_of_another_shape_are_named() {
        let (dir, _) = run_folder(true);
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let images = Dataset::from_u8(&[7; 2 * 32 * 32], vec![0, 0], [1, 32, 32], 10).unwrap();
        let err = distilled
            .predict_images(&images, Path::new("big.idx"))
            .unwrap_err()
            .to_string();
        for part in ["big.idx", "[1, 32, 32]", "[1, 28, 28]", "mnist"] {
            assert!(err.contains(part), "{part}: {err}");
        }
    }

    #[test]
    fn inputs_of_the_wrong_size_are_refused() {
        let (dir, _) = run_folder(true);
        let mut distilled = Distilled::open(dir.path()).unwrap();
        let err = distilled.predict(&[0.5; 100]).unwrap_err().to_string();
        assert!(err.contains("784"), "{err}");
    }
}
