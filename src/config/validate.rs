//! Validation at the boundary: `RunConfig::validate` checks every range and every rule that
//! ties settings together (burn-in B < T, a mask smaller than the image, M <= n, a teacher
//! architecture that takes the dataset's images, losses that suit their target, unique student
//! names) and returns a `ValidConfig`, which the rest of gped trusts without checking again.
//! Each error names the full key (`sampler.step_size`, `students[1].thinning`), the rule and
//! the value found.

use std::collections::HashSet;
use std::ops::Deref;

use super::choices::{DatasetInfo, OodScore, SamplerKind, StepSchedule, Target};
use super::prune::check_prune;
use super::schema::{RunConfig, StudentConfig};
use crate::{Error, Result};

/// A run configuration whose values have all been checked. Read it through `Deref`.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConfig(RunConfig);

impl Deref for ValidConfig {
    type Target = RunConfig;

    fn deref(&self) -> &RunConfig {
        &self.0
    }
}

impl ValidConfig {
    /// The checked configuration.
    pub fn config(&self) -> &RunConfig {
        &self.0
    }

    /// Gives the configuration back (to change it and validate again).
    pub fn into_inner(self) -> RunConfig {
        self.0
    }

    /// The same configuration with `data.dir` set to `dir` (where the data was read from; no
    /// rule depends on it, so the configuration stays valid).
    pub fn with_data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.0.data.dir = dir.into();
        self
    }

    /// Sizes and image shape of the run's dataset.
    pub fn dataset_info(&self) -> DatasetInfo {
        self.0.data.dataset.info()
    }

    /// n: the size of the teacher's training set D (the subset, or the whole training set).
    pub fn teacher_train_size(&self) -> usize {
        effective_subset(&self.0)
    }

    /// N': the size of the distillation pool D' (always the whole training set).
    pub fn pool_size(&self) -> usize {
        self.dataset_info().train_size
    }
}

/// Most worker threads a run may ask for.
pub const MAX_THREADS: usize = 1024;
/// Most teacher iterations T (10^12: a million times the paper's 10^6).
pub const MAX_ITERATIONS: u64 = 1_000_000_000_000;
/// Most chains `sampler.chains` (each holds a teacher network and its sampler's state).
pub const MAX_CHAINS: usize = 64;
/// Largest student width multiplier K1 or K2 (a student 16 times as wide as the teacher).
pub const MAX_WIDTH_MULTIPLIER: f64 = 16.0;

impl RunConfig {
    /// Checks every value; the first violation is returned as `Error::Config` naming its key.
    /// Every size is bounded (threads, iterations, batch sizes, widths), so that a valid config
    /// never asks for an impossible allocation.
    pub fn validate(&self) -> Result<ValidConfig> {
        at_most(
            "threads",
            self.threads,
            MAX_THREADS,
            "the largest thread count",
        )?;
        check_data(self)?;
        check_teacher_and_sampler(self)?;
        let s = &self.schedule;
        positive_int("schedule.iterations", s.iterations)?;
        if s.iterations > MAX_ITERATIONS {
            return Err(Error::config(
                "schedule.iterations",
                format!("must be <= {MAX_ITERATIONS}, found {}", s.iterations),
            ));
        }
        if s.burn_in >= s.iterations {
            return Err(Error::config(
                "schedule.burn_in",
                format!(
                    "must be < schedule.iterations ({}), found {}",
                    s.iterations, s.burn_in
                ),
            ));
        }
        let p = &self.pool;
        let pool_size = self.data.dataset.info().train_size;
        positive_int("pool.batch_size", p.batch_size as u64)?;
        at_most(
            "pool.batch_size",
            p.batch_size,
            pool_size,
            "the pool size (all training inputs)",
        )?;
        non_negative("pool.input_noise_std", p.input_noise_std)?;
        if !(0.0..=1.0).contains(&p.mixup) {
            return Err(Error::config(
                "pool.mixup",
                format!("must be in [0, 1], found {:?}", p.mixup),
            ));
        }
        check_students(self)?;
        positive_int("eval.every", self.eval.every)?;
        positive_int("eval.log_every", self.eval.log_every)?;
        positive_int("eval.test_batch", self.eval.test_batch as u64)?;
        check_ood_flag(self)?;
        at_most(
            "eval.test_batch",
            self.eval.test_batch,
            self.data.dataset.info().test_size,
            "the test set size",
        )?;
        at_most(
            "eval.diagnostic_inputs",
            self.eval.diagnostic_inputs,
            self.data.dataset.info().test_size,
            "the test set size",
        )?;
        let mut valid = self.clone();
        check_prune(&mut valid)?;
        Ok(ValidConfig(valid))
    }
}

fn effective_subset(c: &RunConfig) -> usize {
    match c.data.train_subset {
        0 => c.data.dataset.info().train_size - c.data.holdout,
        n => n,
    }
}

fn check_data(c: &RunConfig) -> Result<()> {
    let d = &c.data;
    let info = d.dataset.info();
    let side = info.shape.height.min(info.shape.width);
    if d.mask_size >= side {
        return Err(Error::config(
            "data.mask_size",
            format!(
                "must be < the image side of {} ({side}), found {}",
                d.dataset, d.mask_size
            ),
        ));
    }
    at_most(
        "data.holdout",
        d.holdout,
        info.train_size / 2,
        &format!("half the {} training set size", d.dataset),
    )?;
    at_most(
        "data.train_subset",
        d.train_subset,
        info.train_size - d.holdout,
        &if d.holdout == 0 {
            format!("the {} training set size", d.dataset)
        } else {
            format!(
                "the {} training set size less data.holdout ({})",
                d.dataset, d.holdout
            )
        },
    )?;
    if let Some(ood) = d.ood {
        if ood == d.dataset {
            return Err(Error::config(
                "data.ood",
                format!("must differ from data.dataset, found {ood}"),
            ));
        }
        if ood.info().shape != info.shape {
            return Err(Error::config(
                "data.ood",
                format!(
                    "must have the images of data.dataset {} ({}), found {ood} ({})",
                    d.dataset,
                    info.shape,
                    ood.info().shape
                ),
            ));
        }
    }
    Ok(())
}

/// The OOD flag's settings: a rate in (0, 1), and the students its score needs when the
/// run chooses a threshold (data.holdout > 0).
fn check_ood_flag(c: &RunConfig) -> Result<()> {
    let tpr = c.eval.ood_tpr;
    if !(tpr > 0.0 && tpr < 1.0) {
        return Err(Error::config(
            "eval.ood_tpr",
            format!("must be in (0, 1), found {tpr:?}"),
        ));
    }
    if c.data.holdout == 0 {
        return Ok(());
    }
    let has = |t: Target| c.students.iter().any(|s| s.has_target(t));
    let needs = match c.eval.ood_score {
        OodScore::Total => vec![Target::Predictive],
        OodScore::Epistemic => vec![Target::Predictive, Target::Entropy],
    };
    match needs.into_iter().find(|&t| !has(t)) {
        Some(missing) => Err(Error::config(
            "eval.ood_score",
            format!(
                "`{}` needs a student with target = \"{}\" to choose the OOD threshold on \
                 data.holdout, found none",
                c.eval.ood_score,
                missing.as_str()
            ),
        )),
        None => Ok(()),
    }
}

fn check_teacher_and_sampler(c: &RunConfig) -> Result<()> {
    let arch = c.teacher.arch;
    let shape = c.data.dataset.info().shape;
    if arch.input_shape() != shape {
        return Err(Error::config(
            "teacher.arch",
            format!(
                "must take the {shape} images of {}, found {} (which takes {})",
                c.data.dataset,
                arch.as_str(),
                arch.input_shape()
            ),
        ));
    }
    let s = &c.sampler;
    positive("sampler.step_size", s.step_size)?;
    non_negative("sampler.prior_precision", s.prior_precision)?;
    positive_int("sampler.batch_size", s.batch_size as u64)?;
    positive_int("sampler.chains", s.chains as u64)?;
    at_most("sampler.chains", s.chains, MAX_CHAINS, "the most chains")?;
    at_most(
        "sampler.batch_size",
        s.batch_size,
        effective_subset(c),
        "the teacher's training set size n",
    )?;
    check_sampler_settings(c)
}

/// The settings of the other samplers and schedules, each checked whatever the kind and the
/// schedule (a bad value is an error even where unused), and the rules that tie them together.
fn check_sampler_settings(c: &RunConfig) -> Result<()> {
    let s = &c.sampler;
    in_range(
        "sampler.friction",
        s.friction,
        |v| v > 0.0 && v <= 1.0,
        "(0, 1]",
    )?;
    in_range(
        "sampler.rms_decay",
        s.rms_decay,
        |v| (0.0..1.0).contains(&v),
        "[0, 1)",
    )?;
    positive("sampler.rms_epsilon", s.rms_epsilon)?;
    positive("sampler.decay_b", s.decay_b)?;
    in_range(
        "sampler.decay_gamma",
        s.decay_gamma,
        |v| v > 0.0 && v <= 1.0,
        "(0, 1]",
    )?;
    positive_int("sampler.cycles", s.cycles)?;
    in_range(
        "sampler.exploration",
        s.exploration,
        |v| (0.0..1.0).contains(&v),
        "[0, 1)",
    )?;
    if let Some(schedule) = s.schedule
        && s.kind == SamplerKind::Cyclical
        && schedule != StepSchedule::Cyclical
    {
        return Err(Error::config(
            "sampler.schedule",
            format!(
                "kind = \"cyclical\" (cSGLD) runs the cyclical schedule: must be \"cyclical\" or \
                 \"\", found \"{schedule}\" (SGLD on another schedule is kind = \"sgld\")"
            ),
        ));
    }
    if s.step_schedule() != StepSchedule::Cyclical {
        return Ok(());
    }
    let iterations = c.schedule.iterations;
    if s.cycles > iterations {
        return Err(Error::config(
            "sampler.cycles",
            format!(
                "must be <= schedule.iterations ({iterations}) for the cyclical schedule, found {}",
                s.cycles
            ),
        ));
    }
    // The last step of a cycle of L = ceil(T / M) steps is at (L - 1) / L of it.
    let cycle = iterations.div_ceil(s.cycles);
    if (cycle - 1) as f64 / (cycle as f64) < s.exploration {
        return Err(Error::config(
            "sampler.exploration",
            format!(
                "leaves no sampling step in the cycles of {cycle} iterations \
                 (schedule.iterations {iterations} / sampler.cycles {}): must be <= {:?}, found {:?}",
                s.cycles,
                (cycle - 1) as f64 / cycle as f64,
                s.exploration
            ),
        ));
    }
    Ok(())
}

/// A `dirichlet` student's annealing temperature (finite, >= 1) and smoothing (in (0, 1):
/// 0 would take the log of a zero probability); checked whatever the target, as every key
/// is; its estimator is checked with the heads', `heads::check_student_heads`.
fn check_dirichlet(key: &dyn Fn(&str) -> String, s: &StudentConfig) -> Result<()> {
    let t = s.dirichlet_temperature;
    if !(t.is_finite() && t >= 1.0) {
        return Err(Error::config(
            key("dirichlet_temperature"),
            format!("must be finite and >= 1, found {t:?}"),
        ));
    }
    let eps = s.dirichlet_smoothing;
    if !(eps > 0.0 && eps < 1.0) {
        return Err(Error::config(
            key("dirichlet_smoothing"),
            format!("must be in (0, 1), found {eps:?}"),
        ));
    }
    Ok(())
}

fn check_students(c: &RunConfig) -> Result<()> {
    if c.students.is_empty() {
        return Err(Error::config(
            "students",
            "must list at least one student, found none",
        ));
    }
    let mut names = HashSet::new();
    for (i, s) in c.students.iter().enumerate() {
        let key = |field: &str| format!("students[{i}].{field}");
        check_name(&key("name"), &s.name)?;
        if !names.insert(s.name.as_str()) {
            return Err(Error::config(
                key("name"),
                format!("must be unique, found `{}` twice", s.name),
            ));
        }
        super::heads::check_student_heads(i, s)?;
        check_dirichlet(&key, s)?;
        positive_int(&key("thinning"), s.thinning)?;
        check_width(&key("width"), s, c)?;
        if !(0.0..1.0).contains(&s.dropout) {
            return Err(Error::config(
                key("dropout"),
                format!("must be in [0, 1), found {:?}", s.dropout),
            ));
        }
        positive(&key("learning_rate"), s.learning_rate)?;
        non_negative(&key("weight_decay"), s.weight_decay)?;
        non_negative(&key("group_lasso"), s.group_lasso)?;
        check_group_lasso_layers(&key("group_lasso_layers"), s, c)?;
        if s.group_lasso > 0.0 && s.dropout > 0.0 {
            return Err(Error::config(
                key("group_lasso"),
                format!(
                    "group_lasso = {:?} needs {} = 0 (the paper turns dropout off while \
                     pruning), found dropout = {:?}",
                    s.group_lasso,
                    key("dropout"),
                    s.dropout
                ),
            ));
        }
        if !(s.lr_decay_factor > 0.0 && s.lr_decay_factor <= 1.0) {
            return Err(Error::config(
                key("lr_decay_factor"),
                format!("must be in (0, 1], found {:?}", s.lr_decay_factor),
            ));
        }
    }
    Ok(())
}

fn check_name(key: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be non-empty, of characters [a-z0-9_-], found {name:?}"),
        ))
    }
}

/// `group_lasso_layers`: empty, or one finite multiplier >= 0 per hidden layer of the arch.
fn check_group_lasso_layers(key: &str, s: &StudentConfig, c: &RunConfig) -> Result<()> {
    let multipliers = &s.group_lasso_layers;
    let layers = c.teacher.arch.hidden_layers();
    if !multipliers.is_empty() && multipliers.len() != layers {
        return Err(Error::config(
            key,
            format!(
                "must be empty or have one multiplier per hidden layer of {} ({layers}), \
                 found {} values",
                c.teacher.arch.as_str(),
                multipliers.len()
            ),
        ));
    }
    for (l, &m) in multipliers.iter().enumerate() {
        non_negative(&format!("{key}[{l}]"), m)?;
    }
    Ok(())
}

/// K1 scales the first group of the architecture's hidden widths, K2 the second; every
/// floor(w K) must be at least 1.
fn check_width(key: &str, s: &StudentConfig, c: &RunConfig) -> Result<()> {
    let arch = c.teacher.arch;
    let (first, second) = arch.scaled_widths();
    for (k, (&mult, widths)) in s.width.iter().zip([first, second]).enumerate() {
        let name = if k == 0 { "K1" } else { "K2" };
        if !(mult.is_finite() && mult > 0.0 && mult <= MAX_WIDTH_MULTIPLIER) {
            return Err(Error::config(
                key,
                format!("{name} must be > 0 and <= {MAX_WIDTH_MULTIPLIER:?}, found {mult:?}"),
            ));
        }
        let smallest = widths.iter().copied().min().unwrap_or(1);
        if (smallest as f64 * mult).floor() < 1.0 {
            return Err(Error::config(
                key,
                format!(
                    "{name} = {mult:?} gives a layer of floor({smallest} x {mult:?}) = 0 units in {}; \
                     must be >= {:?}",
                    arch.as_str(),
                    1.0 / smallest as f64
                ),
            ));
        }
    }
    Ok(())
}

fn in_range(key: &str, v: f64, ok: impl Fn(f64) -> bool, range: &str) -> Result<()> {
    if ok(v) {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be in {range}, found {v:?}"),
        ))
    }
}

fn positive(key: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be finite and > 0, found {v:?}"),
        ))
    }
}

fn non_negative(key: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be finite and >= 0, found {v:?}"),
        ))
    }
}

fn positive_int(key: &str, v: u64) -> Result<()> {
    if v > 0 {
        Ok(())
    } else {
        Err(Error::config(key, "must be > 0, found 0"))
    }
}

fn at_most(key: &str, v: usize, limit: usize, what: &str) -> Result<()> {
    if v <= limit {
        Ok(())
    } else {
        Err(Error::config(
            key,
            format!("must be <= {what} ({limit}), found {v}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, DatasetName, Estimator, Loss, Target};

    /// Validates the default config changed by `edit`; returns the error's key and message.
    fn invalid(edit: impl FnOnce(&mut RunConfig)) -> (String, String) {
        let mut c = RunConfig::default();
        edit(&mut c);
        match c.validate() {
            Ok(_) => panic!("expected a validation error for {c:?}"),
            Err(Error::Config { key, message }) => (key, message),
            Err(e) => panic!("expected a config error, got {e}"),
        }
    }

    fn assert_invalid(edit: impl FnOnce(&mut RunConfig), want_key: &str, want_in_message: &str) {
        let (key, message) = invalid(edit);
        assert_eq!(key, want_key, "{message}");
        assert!(
            message.contains(want_in_message),
            "`{message}` lacks `{want_in_message}`"
        );
    }

    #[test]
    fn default_is_valid() {
        let v = RunConfig::default().validate().unwrap();
        assert_eq!(v.teacher_train_size(), 60_000);
        assert_eq!(v.pool_size(), 60_000);
        assert_eq!(v.into_inner(), RunConfig::default());
    }

    #[test]
    fn the_papers_settings_are_valid() {
        // CIFAR-10 CNN, 10k subset, B = 10000, eta = 2e-6 (appendix A.2).
        let mut c = RunConfig::default();
        c.data.dataset = DatasetName::Cifar10;
        c.data.train_subset = 10_000;
        c.teacher.arch = Arch::CifarCnn;
        c.sampler.step_size = 2e-6;
        c.schedule.burn_in = 10_000;
        c.pool.clamp = true;
        let v = c.validate().unwrap();
        assert_eq!((v.teacher_train_size(), v.pool_size()), (10_000, 50_000));
        // MNIST with the largest mask of the paper, m = 25, and the smallest student tried.
        let mut c = RunConfig::default();
        c.data.mask_size = 25;
        c.data.ood = Some(DatasetName::FashionMnist);
        c.students[0].width = [0.01, 0.01];
        c.validate().unwrap();
    }

    #[test]
    fn sampler_ranges() {
        assert_invalid(
            |c| c.sampler.step_size = 0.0,
            "sampler.step_size",
            "> 0, found 0.0",
        );
        assert_invalid(
            |c| c.sampler.step_size = -4e-6,
            "sampler.step_size",
            "found -4e-6",
        );
        assert_invalid(
            |c| c.sampler.step_size = f64::NAN,
            "sampler.step_size",
            "NaN",
        );
        assert_invalid(
            |c| c.sampler.prior_precision = -1.0,
            "sampler.prior_precision",
            ">= 0",
        );
        assert_invalid(|c| c.sampler.batch_size = 0, "sampler.batch_size", "> 0");
        assert_invalid(
            |c| {
                c.data.train_subset = 50;
                c.sampler.batch_size = 100;
            },
            "sampler.batch_size",
            "(50), found 100",
        );
    }

    #[test]
    fn other_samplers_and_schedules_ranges() {
        for bad in [0.0, -0.1, 1.5, f64::NAN] {
            assert_invalid(|c| c.sampler.friction = bad, "sampler.friction", "(0, 1]");
        }
        for bad in [1.0, -0.01, f64::INFINITY] {
            assert_invalid(|c| c.sampler.rms_decay = bad, "sampler.rms_decay", "[0, 1)");
        }
        assert_invalid(
            |c| c.sampler.rms_epsilon = 0.0,
            "sampler.rms_epsilon",
            "> 0, found 0.0",
        );
        assert_invalid(|c| c.sampler.decay_b = -1.0, "sampler.decay_b", "> 0");
        for bad in [0.0, 1.01] {
            assert_invalid(
                |c| c.sampler.decay_gamma = bad,
                "sampler.decay_gamma",
                "(0, 1]",
            );
        }
        assert_invalid(|c| c.sampler.cycles = 0, "sampler.cycles", "> 0");
        assert_invalid(
            |c| c.sampler.exploration = 1.0,
            "sampler.exploration",
            "[0, 1), found 1.0",
        );
        // Ranges are checked whatever the kind: a bad value is an error even where unused.
        assert_invalid(
            |c| {
                c.sampler.kind = SamplerKind::Psgld;
                c.sampler.friction = 2.0;
            },
            "sampler.friction",
            "found 2.0",
        );
        // Any kind runs on any schedule.
        for kind in [SamplerKind::Sgld, SamplerKind::Sghmc, SamplerKind::Psgld] {
            for schedule in [
                None,
                Some(StepSchedule::Constant),
                Some(StepSchedule::Polynomial),
                Some(StepSchedule::Cyclical),
            ] {
                let mut c = RunConfig::default();
                c.sampler.kind = kind;
                c.sampler.schedule = schedule;
                assert!(c.validate().is_ok(), "{kind} on {schedule:?}");
            }
        }
    }

    #[test]
    fn cyclical_rules() {
        // kind = "cyclical" is cSGLD: its own schedule, or "cyclical" said explicitly.
        let mut c = RunConfig::default();
        c.sampler.kind = SamplerKind::Cyclical;
        assert_eq!(c.sampler.step_schedule(), StepSchedule::Cyclical);
        assert!(c.validate().is_ok());
        c.sampler.schedule = Some(StepSchedule::Cyclical);
        assert!(c.validate().is_ok());
        for other in [StepSchedule::Constant, StepSchedule::Polynomial] {
            assert_invalid(
                |c| {
                    c.sampler.kind = SamplerKind::Cyclical;
                    c.sampler.schedule = Some(other);
                },
                "sampler.schedule",
                &format!("found \"{other}\""),
            );
        }
        // M cycles need M iterations; a schedule that is not cyclical does not read them.
        assert_invalid(
            |c| {
                c.sampler.kind = SamplerKind::Cyclical;
                c.schedule.iterations = 3;
                c.schedule.burn_in = 0;
            },
            "sampler.cycles",
            "<= schedule.iterations (3) for the cyclical schedule, found 4",
        );
        let mut c = RunConfig::default();
        c.schedule.iterations = 3;
        c.schedule.burn_in = 0;
        assert!(c.validate().is_ok());
        // T = 20, M = 4: cycles of 5 steps, whose last is at 4/5 of its cycle.
        let cyclical = |c: &mut RunConfig, exploration: f64| {
            c.sampler.schedule = Some(StepSchedule::Cyclical);
            c.schedule.iterations = 20;
            c.schedule.burn_in = 0;
            c.sampler.exploration = exploration;
        };
        let mut c = RunConfig::default();
        cyclical(&mut c, 0.8);
        assert!(c.validate().is_ok());
        assert_invalid(
            |c| cyclical(c, 0.81),
            "sampler.exploration",
            "no sampling step in the cycles of 5 iterations",
        );
    }

    #[test]
    fn schedule_rules() {
        assert_invalid(|c| c.schedule.iterations = 0, "schedule.iterations", "> 0");
        assert_invalid(
            |c| c.schedule.burn_in = 1_000_000,
            "schedule.burn_in",
            "< schedule.iterations (1000000)",
        );
    }

    #[test]
    fn data_rules_use_the_datasets_sizes() {
        assert_invalid(
            |c| c.data.mask_size = 28,
            "data.mask_size",
            "(28), found 28",
        );
        assert_invalid(
            |c| c.data.train_subset = 60_001,
            "data.train_subset",
            "(60000), found 60001",
        );
        assert_invalid(
            |c| {
                c.data.dataset = DatasetName::Cifar10;
                c.teacher.arch = Arch::CifarCnn;
                c.data.train_subset = 60_000;
            },
            "data.train_subset",
            "(50000)",
        );
        assert_invalid(
            |c| c.data.ood = Some(DatasetName::Mnist),
            "data.ood",
            "must differ",
        );
        assert_invalid(
            |c| c.data.ood = Some(DatasetName::Cifar10),
            "data.ood",
            "32x32x3",
        );
    }

    #[test]
    fn teacher_must_fit_the_dataset() {
        assert_invalid(
            |c| c.data.dataset = DatasetName::Cifar10,
            "teacher.arch",
            "found fcnn",
        );
        assert_invalid(
            |c| c.teacher.arch = Arch::CifarCnn,
            "teacher.arch",
            "28x28x1",
        );
    }

    #[test]
    fn pool_and_eval_ranges() {
        assert_invalid(|c| c.pool.batch_size = 0, "pool.batch_size", "> 0");
        assert_invalid(|c| c.pool.mixup = 1.5, "pool.mixup", "[0, 1], found 1.5");
        assert_invalid(|c| c.pool.batch_size = 60_001, "pool.batch_size", "(60000)");
        assert_invalid(
            |c| c.pool.input_noise_std = -0.1,
            "pool.input_noise_std",
            ">= 0",
        );
        assert_invalid(|c| c.eval.every = 0, "eval.every", "> 0");
        assert_invalid(|c| c.eval.log_every = 0, "eval.log_every", "> 0");
        assert_invalid(|c| c.eval.test_batch = 0, "eval.test_batch", "> 0");
        // MNIST's test split has 10,000 images: a batch of all of them is fine, one more is not.
        let mut c = RunConfig::default();
        c.eval.test_batch = 10_000;
        assert!(c.validate().is_ok());
        assert_invalid(
            |c| c.eval.test_batch = 10_001,
            "eval.test_batch",
            "<= the test set size (10000), found 10001",
        );
    }

    #[test]
    fn ood_flag_rules() {
        // MNIST's 60,000 training images: at most half held out, and the teacher's subset
        // must fit in the rest.
        let mut c = RunConfig::default();
        c.data.holdout = 30_000;
        c.data.train_subset = 30_000;
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        assert_invalid(
            |c| c.data.holdout = 30_001,
            "data.holdout",
            "half the mnist training set size (30000), found 30001",
        );
        assert_invalid(
            |c| {
                c.data.holdout = 1000;
                c.data.train_subset = 59_001;
            },
            "data.train_subset",
            "less data.holdout (1000) (59000), found 59001",
        );
        for bad in [0.0, 1.0, f64::NAN, -0.5] {
            assert_invalid(|c| c.eval.ood_tpr = bad, "eval.ood_tpr", "(0, 1)");
        }
        // The default students are a predictive and an entropy student: both scores work.
        let mut c = RunConfig::default();
        c.data.holdout = 1000;
        c.eval.ood_score = OodScore::Epistemic;
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        assert_invalid(
            |c| {
                c.data.holdout = 1000;
                c.eval.ood_score = OodScore::Epistemic;
                c.students.retain(|s| s.target == Target::Predictive);
            },
            "eval.ood_score",
            "`epistemic` needs a student with target = \"entropy\"",
        );
        // Without a holdout no threshold is chosen, so no student is needed for it.
        let mut c = RunConfig::default();
        c.eval.ood_score = OodScore::Epistemic;
        c.students.retain(|s| s.target == Target::Predictive);
        assert!(c.validate().is_ok(), "{:?}", c.validate());
    }

    #[test]
    fn every_size_has_an_upper_bound() {
        let mut c = RunConfig {
            threads: MAX_THREADS,
            ..RunConfig::default()
        };
        c.schedule.iterations = MAX_ITERATIONS;
        c.students[0].width = [MAX_WIDTH_MULTIPLIER, MAX_WIDTH_MULTIPLIER];
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        assert_invalid(|c| c.threads = 1025, "threads", "(1024), found 1025");
        assert_invalid(|c| c.sampler.chains = 0, "sampler.chains", "> 0");
        assert_invalid(
            |c| c.sampler.chains = 65,
            "sampler.chains",
            "(64), found 65",
        );
        assert_invalid(
            |c| c.eval.diagnostic_inputs = 10_001,
            "eval.diagnostic_inputs",
            "(10000), found 10001",
        );
        assert_invalid(
            |c| c.schedule.iterations = u64::MAX,
            "schedule.iterations",
            "<= 1000000000000, found 18446744073709551615",
        );
        // The allocation `--set students.0.width=[1e9,1e9]` used to ask for.
        assert_invalid(
            |c| c.students[0].width = [1e9, 1e9],
            "students[0].width",
            "K1 must be > 0 and <= 16.0, found 1000000000.0",
        );
        assert_invalid(
            |c| c.students[1].width = [1.0, 16.5],
            "students[1].width",
            "K2 must be > 0 and <= 16.0, found 16.5",
        );
    }

    #[test]
    fn student_ranges_name_the_student_index() {
        assert_invalid(
            |c| c.students[1].thinning = 0,
            "students[1].thinning",
            "> 0",
        );
        assert_invalid(
            |c| c.students[0].dropout = 1.0,
            "students[0].dropout",
            "[0, 1), found 1.0",
        );
        assert_invalid(
            |c| c.students[1].learning_rate = 0.0,
            "students[1].learning_rate",
            "> 0",
        );
        assert_invalid(
            |c| c.students[0].weight_decay = -1e-4,
            "students[0].weight_decay",
            ">= 0",
        );
        assert_invalid(
            |c| c.students[1].group_lasso = -1e-6,
            "students[1].group_lasso",
            ">= 0, found -1e-6",
        );
        assert_invalid(
            |c| c.students[1].group_lasso = f64::NAN,
            "students[1].group_lasso",
            "finite",
        );
        assert_invalid(
            |c| c.students[0].lr_decay_factor = 0.0,
            "students[0].lr_decay_factor",
            "(0, 1]",
        );
        assert_invalid(
            |c| c.students[0].lr_decay_factor = 1.5,
            "students[0].lr_decay_factor",
            "1.5",
        );
        assert_invalid(
            |c| c.students[1].width = [1.0, -1.0],
            "students[1].width",
            "K2 must be > 0",
        );
        assert_invalid(|c| c.students.clear(), "students", "at least one");
    }

    #[test]
    fn group_lasso_layers_are_one_per_hidden_layer() {
        // The default teacher is the FCNN: two hidden layers.
        assert_invalid(
            |c| c.students[0].group_lasso_layers = vec![1.0, 2.0, 3.0],
            "students[0].group_lasso_layers",
            "one multiplier per hidden layer of fcnn (2), found 3 values",
        );
        assert_invalid(
            |c| c.students[1].group_lasso_layers = vec![1.0, -0.5],
            "students[1].group_lasso_layers[1]",
            ">= 0, found -0.5",
        );
        assert_invalid(
            |c| c.students[0].group_lasso_layers = vec![f64::INFINITY, 1.0],
            "students[0].group_lasso_layers[0]",
            "finite",
        );
        let mut c = RunConfig::default();
        c.students[0].group_lasso_layers = vec![0.0, 4.3];
        assert!(c.validate().is_ok(), "{:?}", c.validate());
        c.teacher.arch = Arch::MnistCnn;
        c.students[0].group_lasso_layers = vec![1.0, 3.1, 4.3];
        assert!(c.validate().is_ok(), "{:?}", c.validate());
    }

    #[test]
    fn group_lasso_needs_dropout_off() {
        // The default predictive student has dropout 0.5.
        assert_invalid(
            |c| c.students[0].group_lasso = 1e-5,
            "students[0].group_lasso",
            "needs students[0].dropout = 0",
        );
        let mut c = RunConfig::default();
        c.students[0].group_lasso = 1e-5;
        c.students[0].dropout = 0.0;
        assert!(c.validate().is_ok(), "{:?}", c.validate());
    }

    #[test]
    fn student_width_must_leave_every_layer_a_unit() {
        // FCNN: 400 x 0.002 = 0.8 -> 0 units (400 x 0.01 = 4 units passes in
        // the_papers_settings_are_valid).
        assert_invalid(
            |c| c.students[0].width = [0.002, 1.0],
            "students[0].width",
            "K1",
        );
        // MNIST CNN: the first conv has 10 channels, so K1 = 0.05 gives floor(0.5) = 0.
        assert_invalid(
            |c| {
                c.teacher.arch = Arch::MnistCnn;
                c.students[1].width = [0.05, 1.0];
            },
            "students[1].width",
            "floor(10 x 0.05) = 0",
        );
        // CIFAR CNN: the last FC has 50 units, so K2 = 0.01 gives 0 while FC200 would give 2.
        assert_invalid(
            |c| {
                c.data.dataset = DatasetName::Cifar10;
                c.teacher.arch = Arch::CifarCnn;
                c.students[0].width = [1.0, 0.01];
            },
            "students[0].width",
            "K2",
        );
    }

    #[test]
    fn student_names_and_losses() {
        assert_invalid(
            |c| c.students[1].name = "predictive".into(),
            "students[1].name",
            "unique",
        );
        assert_invalid(
            |c| c.students[0].name = String::new(),
            "students[0].name",
            "non-empty",
        );
        assert_invalid(
            |c| c.students[0].name = "Pred".into(),
            "students[0].name",
            "\"Pred\"",
        );
        assert_invalid(
            |c| c.students[1].loss = Loss::CrossEntropy,
            "students[1].loss",
            "one of l1 for target `entropy`, found `cross-entropy`",
        );
        assert_invalid(
            |c| {
                c.students[0].target = Target::Variance;
            },
            "students[0].loss",
            "target `variance`",
        );
        assert_invalid(
            |c| {
                c.students[0].target = Target::MutualInformation;
                c.students[0].loss = Loss::L1;
                c.students[0].estimator = Estimator::Sample;
            },
            "students[0].estimator",
            "must be `running-mean` for target `mutual-information`",
        );
        let mut c = RunConfig::default();
        c.students[0].loss = Loss::SymmetricKl;
        c.students[1].name = "ent_1-a".into();
        c.validate().unwrap();
    }

    /// A `dirichlet` student takes only the Dirichlet NLL, only U_s, a temperature >= 1 and a
    /// smoothing in (0, 1).
    #[test]
    fn dirichlet_student_checks() {
        let dirichlet = |c: &mut RunConfig| {
            c.students[0].target = Target::Dirichlet;
            c.students[0].loss = Loss::DirichletNll;
        };
        let mut c = RunConfig::default();
        dirichlet(&mut c);
        c.validate().unwrap();
        assert_invalid(
            |c| {
                dirichlet(c);
                c.students[0].loss = Loss::CrossEntropy;
            },
            "students[0].loss",
            "must be one of dirichlet-nll for target `dirichlet`, found `cross-entropy`",
        );
        assert_invalid(
            |c| c.students[0].loss = Loss::DirichletNll,
            "students[0].loss",
            "for target `predictive`, found `dirichlet-nll`",
        );
        assert_invalid(
            |c| {
                dirichlet(c);
                c.students[0].estimator = Estimator::RunningMean;
            },
            "students[0].estimator",
            "must be `sample` for target `dirichlet`",
        );
        for t in [0.5, f64::NAN, f64::INFINITY] {
            assert_invalid(
                |c| {
                    dirichlet(c);
                    c.students[0].dirichlet_temperature = t;
                },
                "students[0].dirichlet_temperature",
                "must be finite and >= 1",
            );
        }
        for eps in [0.0, -1e-3, 1.0, f64::NAN] {
            assert_invalid(
                |c| {
                    dirichlet(c);
                    c.students[0].dirichlet_smoothing = eps;
                },
                "students[0].dirichlet_smoothing",
                "must be in (0, 1)",
            );
        }
    }
}
