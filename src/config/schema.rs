//! The run configuration as plain serde data: one struct per TOML table, each field with its
//! meaning and default. A missing key takes its default and an unknown key is an error naming
//! it. The values are not yet checked; `RunConfig::validate` does that once, at the boundary.
//! The defaults are the paper's MNIST/FCNN settings (appendix A.1-A.2).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::choices::{
    Arch, DatasetName, Estimator, LassoGroups, Loss, OodScore, SamplerKind, StepSchedule, Target,
};
use super::heads::HeadConfig;
use super::prune::PruneConfig;

/// Everything a run needs, as read from a TOML file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Master seed; every random stream of the run derives from it. Default 0.
    pub seed: u64,
    /// Worker threads; 0 = all cores. Default 0.
    pub threads: usize,
    /// The dataset and its preparation.
    pub data: DataConfig,
    /// The teacher network.
    pub teacher: TeacherConfig,
    /// The sampler of the teacher's posterior (SGLD, Eq. 7, by default) and its step sizes.
    pub sampler: SamplerConfig,
    /// Iteration count T and burn-in B.
    pub schedule: ScheduleConfig,
    /// How distillation minibatches S' are drawn from the pool D'.
    pub pool: PoolConfig,
    /// One student per posterior expectation. Default: `predictive` (posterior predictive, U_s,
    /// cross-entropy, H = 100) and `entropy` (expected entropy, U_o, L1, H = 10).
    pub students: Vec<StudentConfig>,
    /// Test-set evaluation and metric logging.
    pub eval: EvalConfig,
    /// Pruning and fine-tuning of the group-lasso students (Experiment 3); off by default.
    pub prune: PruneConfig,
    /// Where the run writes its outputs.
    pub output: OutputConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            seed: 0,
            threads: 0,
            data: DataConfig::default(),
            teacher: TeacherConfig::default(),
            sampler: SamplerConfig::default(),
            schedule: ScheduleConfig::default(),
            pool: PoolConfig::default(),
            students: vec![StudentConfig::default(), StudentConfig::default_entropy()],
            eval: EvalConfig::default(),
            prune: PruneConfig::default(),
            output: OutputConfig::default(),
        }
    }
}

/// `[data]`: the dataset D and its preparation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The dataset (`two-moons` is generated from the seed, the others are read from the
    /// data folder). Default `mnist`.
    pub dataset: DatasetName,
    /// Folder holding the datasets, used unless `--data-dir` is given; "" = `$GPED_DATA_DIR`,
    /// else `./data`. A run folder's `config.toml` records the absolute folder the run read
    /// (see `data::resolve_run_data_dir`). Default "".
    pub dir: PathBuf,
    /// m: side of the square occluded (set to 0) in every training and test image, 0 = none;
    /// must be smaller than the image side. Default 0.
    pub mask_size: usize,
    /// n: size of the teacher's training subset of D, 0 = all; at most the training set size.
    /// The pool D' is always the whole training set. Default 0.
    pub train_subset: usize,
    /// Out-of-distribution dataset for evaluation, "" = none; must have the dataset's image
    /// shape. Default "".
    #[serde(with = "empty_as_none")]
    pub ood: Option<DatasetName>,
    /// Check the MD5 of the dataset files. Default true.
    pub verify_checksums: bool,
    /// Training images held out (a seeded random sample), kept out of D and D' (unoccluded):
    /// the in-distribution inputs on which the run chooses its OOD threshold
    /// (`ood_threshold.json`), 0 = none (no OOD flag). At most half the training split, and
    /// train_subset must fit in what remains. Default 0.
    pub holdout: usize,
    /// Download a dataset the run reads (`dataset`, `ood`) into the data folder when files of
    /// it are missing there (`--offline` forbids it for one command). Default true.
    pub fetch: bool,
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            dataset: DatasetName::Mnist,
            dir: PathBuf::new(),
            mask_size: 0,
            train_subset: 0,
            ood: None,
            verify_checksums: true,
            holdout: 0,
            fetch: true,
        }
    }
}

impl DataConfig {
    /// The folder named for the datasets: `flag` (the `--data-dir` flag) when given, else
    /// `dir` when set. `None` leaves the choice to `data::resolve_data_dir`
    /// (`$GPED_DATA_DIR`, else `./data`).
    pub fn explicit_dir<'a>(&'a self, flag: Option<&'a Path>) -> Option<&'a Path> {
        flag.or(self.configured_dir())
    }

    /// `dir`, unless it is empty.
    fn configured_dir(&self) -> Option<&Path> {
        (!self.dir.as_os_str().is_empty()).then_some(self.dir.as_path())
    }
}

/// `[teacher]`: the teacher network p(y|x,theta).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeacherConfig {
    /// Architecture; must take the dataset's image shape (`fcnn` and `mnist-cnn` 28x28x1,
    /// `cifar-cnn` 32x32x3, `plane-mlp` the 1x2x1 points of `two-moons`). Students use the
    /// same architecture scaled by their widths.
    /// Default `fcnn`.
    pub arch: Arch,
}

impl Default for TeacherConfig {
    fn default() -> Self {
        TeacherConfig { arch: Arch::Fcnn }
    }
}

/// `[sampler]`: the sampler of the teacher's posterior, with a spherical Gaussian prior of
/// precision tau. Every sampler follows the gradient of the potential
/// U(theta) = -log p(D | theta) - log p(theta), estimated on a minibatch as N g_bar + tau theta
/// (g_bar: the minibatch's mean NLL gradient, N: the teacher's training-set size n), with the
/// step size eta_t of `schedule`. The paper's sampler is SGLD at a constant step size (Eq. 7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplerConfig {
    /// eta: the step size, > 0; with a schedule other than `constant`, eta_0, the first step's.
    /// Default 4e-6 (the paper's MNIST value for SGLD; 2e-6 for CIFAR-10). The samplers scale
    /// eta differently: SGHMC's eta multiplies grad U once per step into the momentum, which
    /// carries it over about 1/alpha steps, so eta = eta_SGLD alpha / 2 moves theta as fast;
    /// pSGLD's eta is multiplied by G = 1 / (rms_epsilon + sqrt(V)), about 1/|g_bar|.
    pub step_size: f64,
    /// tau: the prior precision, >= 0. Default 10.
    pub prior_precision: f64,
    /// M: teacher minibatch size, > 0 and at most the training subset size. Default 100.
    pub batch_size: usize,
    /// The update rule: `sgld` (Eq. 7: theta <- theta - eta/2 grad U + sqrt(eta) xi),
    /// `sghmc` (SGD with momentum plus noise: theta <- theta + v after
    /// v <- (1 - alpha) v - eta grad U + sqrt(2 alpha eta) xi), `psgld` (SGLD preconditioned
    /// by RMSprop: theta <- theta - eta/2 G grad U + sqrt(eta G) xi) or `cyclical` (cSGLD:
    /// SGLD on the cyclical schedule). Default `sgld`.
    pub kind: SamplerKind,
    /// The step-size schedule eta_t: `constant` (eta_t = eta), `polynomial`
    /// (eta_t = a (b + t)^-gamma with a = eta b^gamma, so that eta_0 = eta; Welling & Teh 2011),
    /// `cyclical` (cSG-MCMC's cosine cycles, Zhang et al. 2020: `cycles` cycles over the run's
    /// T iterations, eta_t = eta/2 (cos(pi (t mod L) / L) + 1) with L = ceil(T / cycles); the
    /// first `exploration` of each cycle drops the noise (SGD, or SGD with momentum for SGHMC)
    /// and its samples are not used; students and the test-set ensemble take samples from the
    /// rest). Any kind runs on any schedule (`sghmc` on `cyclical` is cSGHMC); "" = the kind's
    /// own: `cyclical` for `kind = "cyclical"` (which takes no other), `constant` for the
    /// others. Default "".
    #[serde(with = "empty_as_none")]
    pub schedule: Option<StepSchedule>,
    /// alpha: SGHMC's friction, in (0, 1]: the share of the momentum lost each step (Chen et
    /// al.'s alpha = epsilon C / M in their "SGD with momentum" form, where the mass M is
    /// folded into alpha and eta = epsilon^2 / M; momentum 1 - alpha), and the scale of the
    /// injected noise, sqrt(2 alpha eta); the gradient-noise estimate beta_hat is 0.
    /// alpha = 1 is SGLD at step 2 eta. Default 0.1.
    pub friction: f64,
    /// a: pSGLD's RMSprop decay, in [0, 1): V <- a V + (1 - a) g_bar^2 (V starts at 0).
    /// Default 0.99 (Li et al. 2016). pSGLD drops Li et al.'s Gamma term, which is sound only
    /// when V averages over many of the chain's autocorrelation times: on a 2-D regression
    /// (the tests') 0.99 inflates the posterior variances by 20-30%, 0.99999 does not.
    pub rms_decay: f64,
    /// lambda: pSGLD's regulariser in G = 1 / (lambda + sqrt(V)), > 0. Default 1e-5
    /// (Li et al. 2016).
    pub rms_epsilon: f64,
    /// b of the polynomial schedule, > 0. Default 1000.
    pub decay_b: f64,
    /// gamma of the polynomial schedule, in (0, 1]; (0.5, 1] meets Welling & Teh's
    /// conditions (sum eta_t = infinity, sum eta_t^2 < infinity). Default 0.55.
    pub decay_gamma: f64,
    /// M: cycles of the cyclical schedule over the run's T iterations, >= 1 and <= T.
    /// Default 4.
    pub cycles: u64,
    /// beta: the share of each cycle of the cyclical schedule that explores (no noise, no
    /// samples taken), in [0, 1); each cycle must keep a sampling step. Default 0.8.
    pub exploration: f64,
    /// C: chains sampled side by side, in 1..=64, each a teacher network with its own initial
    /// weights, noise stream and minibatches (chain 0's are a one-chain run's), all feeding
    /// the same students and test-set ensemble: at an evaluation point each chain adds its
    /// sample (C per point), and rows [c M'/C, (c+1) M'/C) of each distillation batch S' take
    /// chain c's values. Their agreement is the diagnostics' split R-hat
    /// (`eval.diagnostic_inputs`). Default 1.
    pub chains: usize,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            kind: SamplerKind::Sgld,
            step_size: 4e-6,
            prior_precision: 10.0,
            batch_size: 100,
            schedule: None,
            friction: 0.1,
            rms_decay: 0.99,
            rms_epsilon: 1e-5,
            decay_b: 1000.0,
            decay_gamma: 0.55,
            cycles: 4,
            exploration: 0.8,
            chains: 1,
        }
    }
}

impl SamplerConfig {
    /// The schedule the sampler runs: `schedule`, or the kind's own when it is empty.
    pub fn step_schedule(&self) -> StepSchedule {
        self.schedule.unwrap_or(self.kind.own_schedule())
    }
}

/// `[schedule]`: how long the chain runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// T: teacher iterations, > 0. Default 1000000.
    pub iterations: u64,
    /// B: burn-in iterations, < T; no distillation or ensembling before it. Default 1000
    /// (the paper's MNIST value; 10000 for CIFAR-10).
    pub burn_in: u64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            iterations: 1_000_000,
            burn_in: 1000,
        }
    }
}

/// `[pool]`: distillation minibatches S' from D' (all training inputs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolConfig {
    /// M': distillation minibatch size, > 0 and at most the training set size. Default 100.
    pub batch_size: usize,
    /// Std of the Gaussian noise added to each distillation input, >= 0. Default 0.001.
    pub input_noise_std: f64,
    /// Clamp noisy inputs to [0, 1]. Default false.
    pub clamp: bool,
    /// Fraction of each distillation batch made of mixup inputs lambda x_i + (1-lambda) x_j
    /// (lambda ~ U(0,1)) of two pool inputs, in [0, 1]; 0 is the paper. Default 0. Measured
    /// once (FCNN, 10^5 iterations, H = 10): 0.5 lowered the student's Fashion-MNIST AUROC
    /// (0.933 -> 0.918) and raised its NLL (0.064 -> 0.073); weight decay is what helps.
    pub mixup: f64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            batch_size: 100,
            input_noise_std: 0.001,
            clamp: false,
            mixup: 0.0,
        }
    }
}

/// `[[students]]`: one student f(y,x|phi) distilling one posterior expectation. A field missing
/// from a student takes the value of the default `predictive` student.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentConfig {
    /// Unique, non-empty name of characters `[a-z0-9_-]`; names the student's outputs.
    /// Default `predictive`.
    pub name: String,
    /// The expectation g: `predictive`, `entropy`, `variance`, `mutual-information` (only
    /// with `running-mean`) or `dirichlet` (EnD^2's Dirichlet over the teacher's samples, the
    /// baseline of the paper's Tables 2, 3 and 8; only with `sample`). Default `predictive`.
    pub target: Target,
    /// The estimator U: `sample` (U_s, Eq. 9) or `running-mean` (U_o, Eq. 10). Default `sample`.
    pub estimator: Estimator,
    /// The loss l: `cross-entropy`, `inverse-kl`, `symmetric-kl` or `l1` for the predictive;
    /// `l1` for the entropy, the variance and the mutual information; `dirichlet-nll` for the
    /// Dirichlet. Default: the target's first (a student table that leaves `loss` out gets
    /// it: `cross-entropy` for the predictive, `dirichlet-nll` for the Dirichlet, `l1` for
    /// the others).
    pub loss: Loss,
    /// H: the student steps every H teacher iterations after burn-in, > 0. Default 100.
    pub thinning: u64,
    /// K1, K2: width multipliers of the teacher's architecture, > 0; every resulting layer
    /// width floor(w K) must be >= 1. Default [1.0, 1.0].
    #[serde(deserialize_with = "exactly_two")]
    pub width: [f64; 2],
    /// Dropout probability of the student's hidden layers while training, in [0, 1).
    /// Default 0.5.
    pub dropout: f64,
    /// alpha: Adam learning rate, > 0. Default 1e-3.
    pub learning_rate: f64,
    /// Adam L2 weight decay (PyTorch's `weight_decay`), >= 0. Default 1e-4 for the default
    /// predictive student, 0 for the default entropy student; 0 in the paper's presets.
    /// Beyond the paper: it keeps the predictive student from growing confident off the data
    /// (FCNN, MNIST, 10^5 iterations, H = 10: Fashion-MNIST AUROC by total uncertainty 0.933
    /// without, 0.967 with 1e-4 (teacher 0.976), student NLL 0.064 vs 0.068; 1e-3 costs
    /// fidelity: NLL 0.104).
    pub weight_decay: f64,
    /// lambda of the group lasso (Experiment 3, student architecture search), >= 0: adds
    /// lambda * sum of the L2 norms of the hidden units' groups (each unit's incoming weights
    /// and bias, or more: `group_lasso_groups`; the output layer's units are not penalised) to the student's loss, so that whole units
    /// go to zero and can be pruned. Needs dropout = 0, as in the paper. Default 0 (off).
    pub group_lasso: f64,
    /// Beyond the paper: one multiplier per hidden layer with parameters, input to output
    /// (FCNN and `plane-mlp` 2, MNIST CNN 3: conv1, conv2, fc; CIFAR CNN 4), so that layer
    /// l's groups are penalised with lambda x `group_lasso_layers[l]`; each finite and >= 0.
    /// A single lambda prunes the layers with small groups first (an MNIST CNN conv1 channel
    /// has 17 weights, a conv2 channel 161); `[1, 3.1, 4.3]` there is Yuan & Lin's (2006)
    /// sqrt(group size) weighting. Default [] (every layer x 1, the paper's penalty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_lasso_layers: Vec<f64>,
    /// Beyond the paper: what a unit's group is, `incoming` (the paper's: its incoming weights
    /// and bias) or `incoming-outgoing` (also the next layer's weights that read the unit, so
    /// a CNN's conv1 channel is penalised with its slice of conv2, whose MACs it costs).
    /// Pruning still removes a unit when its incoming weights and bias are below epsilon.
    /// Default `incoming`.
    #[serde(skip_serializing_if = "LassoGroups::is_incoming")]
    pub group_lasso_groups: LassoGroups,
    /// StepLR: multiply the learning rate by `lr_decay_factor` every this many student steps,
    /// 0 = never. Default 0.
    pub lr_decay_every: u64,
    /// StepLR factor, in (0, 1]. Default 0.5.
    pub lr_decay_factor: f64,
    /// T_0 of a `dirichlet` student's temperature annealing (EnD^2): at its step s the
    /// concentrations are exp(z / T) and the teacher's probabilities are heated to
    /// softmax(ln p / T), with T going linearly from T_0 to 1 over `dirichlet_anneal_steps`
    /// student steps, then 1 (predictions always use T = 1). Finite and >= 1; other targets
    /// ignore it. Default 10 (the initial temperature of Malinin et al.'s reference code).
    pub dirichlet_temperature: f64,
    /// The student steps over which a `dirichlet` student's temperature falls from
    /// `dirichlet_temperature` to 1; 0 = no annealing (T = 1 from the start). Default 5000.
    pub dirichlet_anneal_steps: u64,
    /// eps of a `dirichlet` student's smoothing of the teacher's (heated) probabilities
    /// towards the uniform, p <- (1 - eps) p + eps / K, which bounds ln p_k >= ln(eps / K) in
    /// the Dirichlet NLL. In (0, 1). Default 1e-7 (Malinin et al.'s PriorNetworks image code;
    /// their NMT code uses 1e-3).
    pub dirichlet_smoothing: f64,
    /// Several heads on the student's one trunk (see `config::heads`), each
    /// `{ target, estimator, loss }`, trained on the sum of their losses; the student's own
    /// target, estimator and loss must then be left out. Default [] (one head: the student's
    /// own target, estimator and loss).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub heads: Vec<HeadConfig>,
}

/// The default `dirichlet_smoothing`: 1e-7, the `teacher_prob_smoothing` default of Malinin's
/// PriorNetworks image code (`expectation::target::for_target` uses it where no config is given).
pub const DEFAULT_DIRICHLET_SMOOTHING: f64 = 1e-7;

impl Default for StudentConfig {
    /// The posterior-predictive student of Table 1: U_s, cross-entropy, H = 100.
    fn default() -> Self {
        StudentConfig {
            name: "predictive".to_string(),
            target: Target::Predictive,
            estimator: Estimator::Sample,
            loss: Loss::CrossEntropy,
            thinning: 100,
            width: [1.0, 1.0],
            dropout: 0.5,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            group_lasso: 0.0,
            group_lasso_layers: Vec::new(),
            group_lasso_groups: LassoGroups::Incoming,
            lr_decay_every: 0,
            lr_decay_factor: 0.5,
            dirichlet_temperature: 10.0,
            dirichlet_anneal_steps: 5000,
            dirichlet_smoothing: DEFAULT_DIRICHLET_SMOOTHING,
            heads: Vec::new(),
        }
    }
}

impl StudentConfig {
    /// The expected-entropy student of Table 1: U_o, L1, H = 10, otherwise as the default.
    pub fn default_entropy() -> Self {
        StudentConfig {
            name: "entropy".to_string(),
            target: Target::Entropy,
            estimator: Estimator::RunningMean,
            loss: Loss::L1,
            thinning: 10,
            // No dropout: the exp-head regression to the expected entropy fits markedly worse
            // with it (FCNN, MNIST, H = 1, 2e4 iterations: entropy MAE 0.027 without dropout,
            // 0.040 with p = 0.5; at 1e5 iterations 0.016 against 0.023).
            dropout: 0.0,
            weight_decay: 0.0,
            ..StudentConfig::default()
        }
    }
}

/// `[eval]`: the teacher's test-set ensemble and metric logging.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalConfig {
    /// After burn-in, add the teacher's test-set predictions to the ensemble every this many
    /// iterations, > 0. Default 1000.
    pub every: u64,
    /// Write a `metrics.jsonl` line every this many iterations, > 0. Default 1000.
    pub log_every: u64,
    /// Batch size of test-set passes, > 0. Default 1000.
    pub test_batch: usize,
    /// The students' uncertainty that flags an input as out of distribution: `total` or
    /// `epistemic` (needs an entropy student). Default `total`.
    pub ood_score: OodScore,
    /// The share of held-out in-distribution inputs (data.holdout) that the OOD threshold
    /// lets pass unflagged (its true-positive rate), in (0, 1). Default 0.95.
    pub ood_tpr: f64,
    /// Convergence diagnostics: at each evaluation point every chain's class probabilities on
    /// the first this many test inputs are kept (at most 512 points per chain, evenly spaced
    /// over the run), and `metrics.json` gets their split R-hat and ESS (`diagnostics`);
    /// 0 = none; at most the test set size. Default 100.
    pub diagnostic_inputs: usize,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            every: 1000,
            log_every: 1000,
            test_batch: 1000,
            ood_score: OodScore::Total,
            ood_tpr: 0.95,
            diagnostic_inputs: 100,
        }
    }
}

/// `[output]`: where the run writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutputConfig {
    /// Parent folder of the run folders. Default `runs`.
    pub dir: PathBuf,
    /// Save a checkpoint (`checkpoint.safetensors` in the run folder, replaced atomically)
    /// every this many iterations, 0 = only when stopped by SIGINT/SIGTERM. `gped run
    /// --resume` continues from it. Default 10000 (tens of milliseconds each, for the FCNN).
    pub checkpoint_every: u64,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            dir: PathBuf::from("runs"),
            checkpoint_every: 10_000,
        }
    }
}

/// Reads a list of exactly two numbers. (toml's reader fills a `[f64; 2]` from the first two
/// elements of a longer list and drops the rest silently.)
fn exactly_two<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[f64; 2], D::Error> {
    let values = Vec::<f64>::deserialize(d)?;
    <[f64; 2]>::try_from(values.as_slice()).map_err(|_| {
        serde::de::Error::invalid_length(values.len(), &"a list of 2 numbers [K1, K2]")
    })
}

/// Serde for an optional choice (a dataset name, a schedule) written as "" when absent (TOML
/// has no null).
mod empty_as_none {
    use serde::de::value::StrDeserializer;
    use serde::de::{DeserializeOwned, IntoDeserializer};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(name) => name.serialize(s),
            None => s.serialize_str(""),
        }
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        let text = String::deserialize(d)?;
        if text.is_empty() {
            return Ok(None);
        }
        let name: StrDeserializer<'_, D::Error> = text.as_str().into_deserializer();
        T::deserialize(name).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_papers_mnist_fcnn_settings() {
        let c = RunConfig::default();
        assert_eq!(c.seed, 0);
        assert_eq!(c.data.dataset, DatasetName::Mnist);
        assert_eq!(c.data.ood, None);
        assert!(c.data.verify_checksums);
        assert!(c.data.fetch);
        assert_eq!(c.teacher.arch, Arch::Fcnn);
        assert_eq!(c.sampler.step_size, 4e-6);
        assert_eq!(c.sampler.prior_precision, 10.0);
        assert_eq!(c.sampler.batch_size, 100);
        assert_eq!(c.sampler.kind, SamplerKind::Sgld);
        assert_eq!(c.sampler.step_schedule(), StepSchedule::Constant);
        assert_eq!(
            (c.schedule.iterations, c.schedule.burn_in),
            (1_000_000, 1000)
        );
        assert_eq!(c.pool.input_noise_std, 0.001);
        assert_eq!(c.students.len(), 2);
        let (p, e) = (&c.students[0], &c.students[1]);
        assert_eq!(
            (p.name.as_str(), p.target, p.estimator),
            ("predictive", Target::Predictive, Estimator::Sample)
        );
        assert_eq!((p.loss, p.thinning), (Loss::CrossEntropy, 100));
        assert_eq!(
            (e.name.as_str(), e.target, e.estimator),
            ("entropy", Target::Entropy, Estimator::RunningMean)
        );
        assert_eq!((e.loss, e.thinning, e.dropout), (Loss::L1, 10, 0.0));
        assert_eq!(e.learning_rate, 1e-3);
        assert_eq!(c.output.dir, PathBuf::from("runs"));
    }

    #[test]
    fn data_dir_flag_beats_the_configured_dir() {
        let mut d = DataConfig::default();
        assert_eq!(d.explicit_dir(None), None);
        d.dir = PathBuf::from("/cfg");
        assert_eq!(
            d.explicit_dir(Some(Path::new("/flag"))),
            Some(Path::new("/flag"))
        );
        assert_eq!(d.explicit_dir(None), Some(Path::new("/cfg")));
    }
}
