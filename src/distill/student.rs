//! A student f(y, x | phi): a network distilling one posterior expectation. At its steps
//! (t > B and t mod H = 0) it turns the teacher's current values on a distillation batch into
//! targets with its estimator (U_s or U_o) and takes one Adam step on its loss (Eq. 8),
//! plus, when its `group_lasso` lambda is > 0, the group lasso on its hidden units
//! (Experiment 3), whose gradient joins the loss's before the Adam step (Adam's own weight
//! decay is then added inside the optimiser, as always). A pruned student continues with its
//! smaller network, no group lasso and a fresh Adam ([`Student::install_pruned`]).

use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::config::Arch;
use crate::config::{Estimator as EstimatorChoice, StudentConfig, Target};
use crate::expectation::{
    CurrentSample, Estimator, PosteriorExpectation, RunningMean, RunningMutualInformation,
    for_student,
};
use crate::model::{ModelSpec, build};
use crate::nn::{Network, UnitGroups, group_lasso};
use crate::optim::{Adam, AdamConfig, Optimizer, StepLr};

/// One student with its target, estimator, optimiser and the buffers of a step.
pub struct Student {
    pub name: String,
    pub net: Network,
    pub target: Box<dyn PosteriorExpectation>,
    pub target_kind: Target,
    estimator: Box<dyn Estimator>,
    optimizer: Adam,
    /// lambda of the group lasso (0 = off) and the groups it penalises: every hidden unit.
    group_lasso: f32,
    lasso_groups: Vec<UnitGroups>,
    schedule: Option<StepLr>,
    /// The step count at which the StepLR schedule starts (0; the step of pruning after it).
    schedule_origin: u64,
    thinning: u64,
    /// Optimiser steps taken.
    pub steps: u64,
    values: Vec<f32>,
    targets: Vec<f32>,
    grad: Vec<f32>,
    /// Sum and count of losses since the last [`Student::take_mean_loss`].
    loss_sum: f64,
    loss_count: u64,
}

impl Student {
    /// The student of `cfg` with architecture `arch`, `classes` classes, a pool of
    /// `pool_size` inputs (for U_o) and weights and dropout from `seed`.
    pub fn new(
        cfg: &StudentConfig,
        arch: Arch,
        classes: usize,
        pool_size: usize,
        seed: u64,
    ) -> Result<Self> {
        let target = for_student(cfg, classes);
        let width = target.width();
        let estimator: Box<dyn Estimator> = match (cfg.target, cfg.estimator) {
            (Target::Dirichlet, EstimatorChoice::RunningMean) => {
                return Err(crate::Error::config(
                    "students[].estimator",
                    format!(
                        "must be `sample` for target `dirichlet` (student `{}`), found \
                         `running-mean`",
                        cfg.name
                    ),
                ));
            }
            (Target::MutualInformation, EstimatorChoice::Sample) => {
                return Err(crate::Error::config(
                    "students[].estimator",
                    format!(
                        "must be `running-mean` for target `mutual-information` (student `{}`), \
                         found `sample`",
                        cfg.name
                    ),
                ));
            }
            (Target::MutualInformation, EstimatorChoice::RunningMean) => {
                Box::new(RunningMutualInformation::new(pool_size, classes))
            }
            (_, EstimatorChoice::Sample) => Box::new(CurrentSample),
            (_, EstimatorChoice::RunningMean) => Box::new(RunningMean::new(pool_size, width)),
        };
        let spec = ModelSpec {
            arch,
            width: cfg.width,
            outputs: width,
            dropout: cfg.dropout as f32,
        };
        let net = build(&spec, seed);
        let mut optimizer = Adam::new(AdamConfig {
            lr: cfg.learning_rate as f32,
            weight_decay: cfg.weight_decay as f32,
            ..AdamConfig::default()
        })?;
        optimizer.size_state(net.params.len());
        let schedule = match cfg.lr_decay_every {
            0 => None,
            every => Some(StepLr::new(
                cfg.learning_rate as f32,
                every,
                cfg.lr_decay_factor as f32,
            )?),
        };
        let lasso_groups = net.hidden_unit_groups();
        Ok(Student {
            name: cfg.name.clone(),
            net,
            target,
            target_kind: cfg.target,
            estimator,
            optimizer,
            group_lasso: cfg.group_lasso as f32,
            lasso_groups,
            schedule,
            schedule_origin: 0,
            thinning: cfg.thinning,
            steps: 0,
            values: Vec::new(),
            targets: Vec::new(),
            grad: Vec::new(),
            loss_sum: 0.0,
            loss_count: 0,
        })
    }

    /// Whether Algorithm 1 updates this student at teacher step `t` with burn-in `burn_in`.
    pub fn is_due(&self, t: u64, burn_in: u64) -> bool {
        t > burn_in && t.is_multiple_of(self.thinning)
    }

    /// One distillation step, at teacher step `t`, on the pool batch `indices` with inputs
    /// `inputs` `[batch, input_size]` and the teacher's current probabilities `probs`
    /// `[batch, classes]`. Returns the loss. Dropout masks depend only on (seed, t).
    pub fn step(
        &mut self,
        t: u64,
        indices: &[usize],
        inputs: &[f32],
        probs: &[f32],
        classes: usize,
    ) -> f32 {
        let batch = indices.len();
        let n = batch * self.target.width();
        self.values.resize(batch * self.target.value_width(), 0.0);
        self.targets.resize(n, 0.0);
        self.grad.resize(n, 0.0);
        // g_hat_i <- U(g_hat_i, theta, m_i) for i in S'.
        self.target.set_student_step(self.steps);
        self.target.value(probs, classes, &mut self.values);
        self.estimator
            .update(indices, &self.values, &mut self.targets);
        // phi <- phi - alpha_s grad_phi sum_i l(g_hat_i, f(x_i|phi)).
        self.net.training = true;
        self.net.reseed(t);
        self.net.params.zero_grads();
        let raw = self.net.forward(inputs, batch);
        let loss = self.target.loss(raw, &self.targets, &mut self.grad);
        self.net.backward(inputs, &self.grad, batch);
        if self.group_lasso > 0.0 {
            let params = &mut self.net.params;
            group_lasso::add_gradient(
                &params.values,
                &mut params.grads,
                &self.lasso_groups,
                self.group_lasso,
            );
        }
        if let Some(schedule) = &self.schedule {
            schedule.apply(self.steps - self.schedule_origin, &mut self.optimizer);
        }
        self.optimizer.step(&mut self.net.params);
        self.steps += 1;
        self.loss_sum += loss as f64;
        self.loss_count += 1;
        loss
    }

    /// Replaces the network by `net` (its pruned version: see `distill::prune`) and goes on
    /// without the group lasso, with a fresh Adam (same settings, learning rate
    /// `learning_rate`) whose StepLR schedule, if any, starts again from it now. The
    /// estimator's memory (U_o) and the step count are kept; `origin` is the step count at
    /// pruning ([`Student::steps_before`] the pruning iteration).
    pub fn install_pruned(&mut self, net: Network, learning_rate: f32, origin: u64) -> Result<()> {
        let mut optimizer = Adam::new(AdamConfig {
            lr: learning_rate,
            ..*self.optimizer.config()
        })?;
        optimizer.size_state(net.params.len());
        self.net = net;
        self.optimizer = optimizer;
        self.group_lasso = 0.0;
        self.lasso_groups = Vec::new();
        self.schedule = self.schedule.map(|s| s.with_base_lr(learning_rate));
        self.schedule_origin = origin;
        Ok(())
    }

    /// The steps a student takes in iterations 0..t with burn-in `burn_in`: the t' < t with
    /// t' > B and t' mod H = 0.
    pub fn steps_before(&self, t: u64, burn_in: u64) -> u64 {
        let multiples_below = |n: u64| n.div_ceil(self.thinning); // t' in 0..n, t' mod H = 0
        multiples_below(t).saturating_sub(multiples_below(burn_in + 1))
    }

    /// The learning rate of the next step (before any StepLR change it brings).
    pub fn learning_rate(&self) -> f32 {
        self.optimizer.config().lr
    }

    /// Whether the student's weights are under the group lasso now.
    pub fn has_group_lasso(&self) -> bool {
        self.group_lasso > 0.0
    }

    /// The group lasso penalty lambda * sum of the hidden units' group norms at the current
    /// weights (0 when lambda = 0); not part of the loss [`Student::step`] returns.
    pub fn group_lasso_penalty(&self) -> f64 {
        group_lasso::penalty(
            &self.net.params.values,
            &self.lasso_groups,
            self.group_lasso as f64,
        )
    }

    /// Mean loss of the steps since the last call (None when no step was taken).
    pub fn take_mean_loss(&mut self) -> Option<f64> {
        let mean = (self.loss_count > 0).then(|| self.loss_sum / self.loss_count as f64);
        self.loss_sum = 0.0;
        self.loss_count = 0;
        mean
    }

    /// The student's predictions (softmax or exp head applied) for `inputs`
    /// `[batch, input_size]`, in evaluation mode, written to `out` `[batch, width]`.
    pub fn predict(&mut self, inputs: &[f32], batch: usize, out: &mut [f32]) {
        self.net.training = false;
        let raw = self.net.forward(inputs, batch);
        self.target.predict(raw, out);
    }
}

impl Stateful for Student {
    /// Weights, optimiser state, estimator memory (U_o), step count and the loss sums of the
    /// current logging window.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.net.params.save_state(&format!("{prefix}params/"), out);
        self.optimizer.save_state(&format!("{prefix}adam/"), out);
        self.estimator
            .save_state(&format!("{prefix}estimator/"), out);
        out.scalar(&format!("{prefix}steps"), self.steps);
        out.scalar(&format!("{prefix}loss_sum"), self.loss_sum);
        out.scalar(&format!("{prefix}loss_count"), self.loss_count);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.net
            .params
            .load_state(&format!("{prefix}params/"), state)?;
        self.optimizer
            .load_state(&format!("{prefix}adam/"), state)?;
        self.estimator
            .load_state(&format!("{prefix}estimator/"), state)?;
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        self.loss_sum = state.scalar(&format!("{prefix}loss_sum"))?;
        self.loss_count = state.scalar(&format!("{prefix}loss_count"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const CLASSES: usize = 10;

    fn config(group_lasso: f64) -> StudentConfig {
        StudentConfig {
            width: [0.02, 0.02],
            dropout: 0.0,
            group_lasso,
            ..StudentConfig::default()
        }
    }

    /// Three pool inputs and the teacher's probabilities on them.
    fn batch() -> (Vec<usize>, Vec<f32>, Vec<f32>) {
        let mut rng = StdRng::seed_from_u64(1);
        let inputs = (0..3 * 784).map(|_| rng.random::<f32>()).collect();
        let mut probs: Vec<f32> = (0..3 * CLASSES).map(|_| rng.random::<f32>()).collect();
        for row in probs.chunks_mut(CLASSES) {
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|p| *p /= sum);
        }
        (vec![0, 4, 7], inputs, probs)
    }

    fn student(group_lasso: f64) -> Student {
        Student::new(&config(group_lasso), Arch::Fcnn, CLASSES, 10, 3).unwrap()
    }

    /// With lambda = 0 a step is the step without the group lasso, bit for bit: the same
    /// sequence (targets, forward, loss, backward, Adam) written out here.
    #[test]
    fn zero_lambda_leaves_the_step_unchanged() {
        let (indices, inputs, probs) = batch();
        let mut with = student(0.0);
        let loss = with.step(101, &indices, &inputs, &probs, CLASSES);
        let mut by_hand = student(0.0);
        let s = &mut by_hand;
        let n = indices.len() * s.target.width();
        let v = indices.len() * s.target.value_width();
        let (mut values, mut targets, mut grad) = (vec![0.0; v], vec![0.0; n], vec![0.0; n]);
        s.target.value(&probs, CLASSES, &mut values);
        s.estimator.update(&indices, &values, &mut targets);
        s.net.training = true;
        s.net.reseed(101);
        s.net.params.zero_grads();
        let raw = s.net.forward(&inputs, indices.len());
        let expect = s.target.loss(raw, &targets, &mut grad);
        s.net.backward(&inputs, &grad, indices.len());
        s.optimizer.step(&mut s.net.params);
        assert_eq!(loss.to_bits(), expect.to_bits());
        assert_eq!(with.net.params.values, by_hand.net.params.values);
        assert_eq!(with.group_lasso_penalty(), 0.0);
    }

    /// lambda > 0 changes the hidden layers' step and leaves the output layer's (Adam is per
    /// coordinate, and the output layer is not penalised) bit for bit.
    #[test]
    fn group_lasso_moves_only_the_hidden_layers() {
        let (indices, inputs, probs) = batch();
        let mut plain = student(0.0);
        let mut lasso = student(1e-2);
        assert!(lasso.group_lasso_penalty() > 0.0);
        plain.step(101, &indices, &inputs, &probs, CLASSES);
        lasso.step(101, &indices, &inputs, &probs, CLASSES);
        for spec in &plain.net.params.specs {
            let (a, b) = (
                &plain.net.params.values[spec.range()],
                &lasso.net.params.values[spec.range()],
            );
            if spec.name.starts_with("fc3") {
                assert_eq!(a, b, "{}", spec.name);
            } else {
                assert_ne!(a, b, "{}", spec.name);
            }
        }
    }

    /// `steps_before` counts the due iterations below t, as `is_due` decides them one by one.
    #[test]
    fn steps_before_counts_the_due_iterations() {
        for thinning in [1, 3, 10] {
            let s = Student::new(
                &StudentConfig {
                    thinning,
                    ..config(0.0)
                },
                Arch::Fcnn,
                CLASSES,
                10,
                3,
            )
            .unwrap();
            for burn_in in [0, 5, 9, 10] {
                for t in 0..60 {
                    let counted = (0..t).filter(|&u| s.is_due(u, burn_in)).count() as u64;
                    assert_eq!(
                        s.steps_before(t, burn_in),
                        counted,
                        "H {thinning} B {burn_in} t {t}"
                    );
                }
            }
        }
    }

    /// A mutual-information student needs U_o: with U_s it is refused (the config check does
    /// it first, naming the index); with U_o its target has one output and its values K + 1.
    #[test]
    fn mutual_information_needs_the_running_mean() {
        let mi = |estimator| StudentConfig {
            target: Target::MutualInformation,
            loss: crate::config::Loss::L1,
            estimator,
            ..config(0.0)
        };
        let err = Student::new(&mi(EstimatorChoice::Sample), Arch::Fcnn, CLASSES, 10, 3)
            .err()
            .expect("U_s refused");
        assert!(err.to_string().contains("estimator"), "{err}");
        let mut s = Student::new(
            &mi(EstimatorChoice::RunningMean),
            Arch::Fcnn,
            CLASSES,
            10,
            3,
        )
        .unwrap();
        assert_eq!((s.target.width(), s.target.value_width()), (1, CLASSES + 1));
        let (indices, inputs, probs) = batch();
        assert!(s.step(101, &indices, &inputs, &probs, CLASSES).is_finite());
    }

    /// A Dirichlet student needs U_s: with U_o it is refused; with U_s it has K outputs,
    /// positive predictions alpha, and finite losses along its annealing.
    #[test]
    fn dirichlet_needs_the_current_sample() {
        let dirichlet = |estimator| StudentConfig {
            target: Target::Dirichlet,
            loss: crate::config::Loss::DirichletNll,
            estimator,
            dirichlet_anneal_steps: 2,
            ..config(0.0)
        };
        let err = Student::new(
            &dirichlet(EstimatorChoice::RunningMean),
            Arch::Fcnn,
            CLASSES,
            10,
            3,
        )
        .err()
        .expect("U_o refused");
        assert!(err.to_string().contains("estimator"), "{err}");
        let mut s = Student::new(
            &dirichlet(EstimatorChoice::Sample),
            Arch::Fcnn,
            CLASSES,
            10,
            3,
        )
        .unwrap();
        assert_eq!(s.target.width(), CLASSES);
        let (indices, inputs, probs) = batch();
        for t in 101..105 {
            assert!(s.step(t, &indices, &inputs, &probs, CLASSES).is_finite());
        }
        let mut alpha = vec![0.0; indices.len() * CLASSES];
        s.predict(&inputs, indices.len(), &mut alpha);
        assert!(alpha.iter().all(|&a| a > 0.0 && a.is_finite()));
    }

    /// After `install_pruned` the student steps the smaller network with a fresh Adam at the
    /// new learning rate, without the group lasso.
    #[test]
    fn a_pruned_student_steps_its_smaller_network() {
        let (indices, inputs, probs) = batch();
        let mut s = student(1e-2);
        s.step(101, &indices, &inputs, &probs, CLASSES);
        let (net, report) = crate::model::prune(&s.net, Arch::Fcnn, 1e9).unwrap();
        assert_eq!(report.params_after, net.params.len());
        s.install_pruned(net, 5e-4, s.steps).unwrap();
        assert!(!s.has_group_lasso());
        assert_eq!(s.learning_rate(), 5e-4);
        let before = s.net.params.values.clone();
        let loss = s.step(102, &indices, &inputs, &probs, CLASSES);
        assert!(loss.is_finite());
        assert_eq!(s.net.params.len(), report.params_after);
        assert_ne!(s.net.params.values, before);
    }
}
