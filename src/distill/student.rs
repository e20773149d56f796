//! A student f(y, x | phi): a network distilling one posterior expectation. At its steps
//! (t > B and t mod H = 0) it turns the teacher's current values on a distillation batch into
//! targets with its estimator (U_s or U_o) and takes one Adam step on its loss (Eq. 8),
//! plus, when its `group_lasso` lambda is > 0, the group lasso on its hidden units
//! (Experiment 3), whose gradient joins the loss's before the Adam step (Adam's own weight
//! decay is then added inside the optimiser, as always). A pruned student continues with its
//! smaller network, no group lasso and a fresh Adam ([`Student::install_pruned`]).
//! A student with several heads (`students[].heads`, see `head`) shares its hidden layers
//! among them: each head makes its own targets and loss on its columns of the one output
//! layer, and the student takes one backward pass and one Adam step on the sum of the losses.

use super::head::{Head, heads_of};
use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};
use crate::config::Arch;
use crate::config::{LassoGroups, StudentConfig, Target};
use crate::model::{ModelSpec, build};
use crate::nn::Network;
use crate::nn::group_lasso::{self, LassoLayer};
use crate::optim::{Adam, AdamConfig, Optimizer, StepLr};

/// Each hidden layer's group-lasso lambda: `group_lasso` x `group_lasso_layers[l]`, or
/// `group_lasso` for every one of the `layers` when no multipliers are given (validation has
/// checked that they are one per layer).
fn layer_lambdas(cfg: &StudentConfig, layers: usize) -> Vec<f32> {
    match cfg.group_lasso_layers.as_slice() {
        [] => vec![cfg.group_lasso as f32; layers],
        multipliers => multipliers
            .iter()
            .map(|m| (cfg.group_lasso * m) as f32)
            .collect(),
    }
}

/// One student with its heads (target and estimator each), optimiser and the buffers of a
/// step.
pub struct Student {
    pub name: String,
    pub net: Network,
    /// One head per target, side by side in the network's outputs.
    heads: Vec<Head>,
    /// The network's outputs per input: the sum of the heads' widths.
    width: usize,
    optimizer: Adam,
    /// The groups the group lasso penalises (every hidden unit, one entry per hidden layer;
    /// with the outgoing weights for `incoming-outgoing`) and each layer's lambda (lambda x
    /// `group_lasso_layers`; all 0 = off).
    lasso_groups: Vec<LassoLayer>,
    lasso_lambdas: Vec<f32>,
    schedule: Option<StepLr>,
    /// The step count at which the StepLR schedule starts (0; the step of pruning after it).
    schedule_origin: u64,
    thinning: u64,
    /// Optimiser steps taken.
    pub steps: u64,
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
        let heads = heads_of(&cfg.head_configs(), cfg, classes, pool_size)?;
        let width = heads.iter().map(Head::width).sum();
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
        let outgoing = cfg.group_lasso_groups == LassoGroups::IncomingOutgoing;
        let lasso_groups = LassoLayer::of(&net.unit_groups(), outgoing)?;
        let lasso_lambdas = layer_lambdas(cfg, lasso_groups.len());
        Ok(Student {
            name: cfg.name.clone(),
            net,
            heads,
            width,
            optimizer,
            lasso_groups,
            lasso_lambdas,
            schedule,
            schedule_origin: 0,
            thinning: cfg.thinning,
            steps: 0,
            grad: Vec::new(),
            loss_sum: 0.0,
            loss_count: 0,
        })
    }

    /// The student's heads, in the order of their columns.
    pub fn heads(&self) -> &[Head] {
        &self.heads
    }

    /// The network's outputs per input (the sum of the heads' widths).
    pub fn width(&self) -> usize {
        self.width
    }

    /// The index of the student's head distilling `target`, if any.
    pub fn head_of(&self, target: Target) -> Option<usize> {
        self.heads.iter().position(|h| h.kind == target)
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
        self.grad.resize(batch * self.width, 0.0);
        // g_hat_i <- U(g_hat_i, theta, m_i) for i in S', for each head.
        for head in &mut self.heads {
            head.update_targets(indices, probs, classes, self.steps);
        }
        // phi <- phi - alpha_s grad_phi sum_heads sum_i l(g_hat_i, f(x_i|phi)).
        self.net.training = true;
        self.net.reseed(t);
        self.net.params.zero_grads();
        let raw = self.net.forward(inputs, batch);
        let loss = heads_loss(&mut self.heads, raw, self.width, &mut self.grad);
        self.net.backward(inputs, &self.grad, batch);
        if self.has_group_lasso() {
            let params = &mut self.net.params;
            group_lasso::add_gradient(
                &params.values,
                &mut params.grads,
                &self.lasso_groups,
                &self.lasso_lambdas,
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
        self.lasso_groups = Vec::new();
        self.lasso_lambdas = Vec::new();
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
        self.lasso_lambdas.iter().any(|&l| l > 0.0)
    }

    /// The group lasso penalty lambda * sum of the hidden units' group norms at the current
    /// weights (0 when lambda = 0); not part of the loss [`Student::step`] returns.
    pub fn group_lasso_penalty(&self) -> f64 {
        group_lasso::penalty(
            &self.net.params.values,
            &self.lasso_groups,
            &self.lasso_lambdas,
        )
    }

    /// Mean loss of the steps since the last call (None when no step was taken).
    pub fn take_mean_loss(&mut self) -> Option<f64> {
        let mean = (self.loss_count > 0).then(|| self.loss_sum / self.loss_count as f64);
        self.loss_sum = 0.0;
        self.loss_count = 0;
        mean
    }

    /// The student's predictions (each head's softmax or exp applied to its columns) for
    /// `inputs` `[batch, input_size]`, in evaluation mode, written to `out` `[batch, width]`.
    pub fn predict(&mut self, inputs: &[f32], batch: usize, out: &mut [f32]) {
        self.net.training = false;
        let raw = self.net.forward(inputs, batch);
        for head in &mut self.heads {
            head.predict(raw, self.width, out);
        }
    }
}

/// The sum of the heads' losses on the raw outputs `raw` `[batch, total]`, their gradients
/// written side by side into `grad` `[batch, total]` (each head into its columns).
pub fn heads_loss(heads: &mut [Head], raw: &[f32], total: usize, grad: &mut [f32]) -> f32 {
    heads.iter_mut().map(|h| h.loss(raw, total, grad)).sum()
}

impl Student {
    /// Where each head's state (its estimator's memory) is saved: under the student's own
    /// prefix for a single head (as before heads existed), under `heads/TARGET/` for several.
    fn head_prefixes(&self, prefix: &str) -> Vec<String> {
        match self.heads.as_slice() {
            [_] => vec![prefix.to_string()],
            heads => heads
                .iter()
                .map(|h| format!("{prefix}heads/{}/", h.kind.as_str()))
                .collect(),
        }
    }
}

impl Stateful for Student {
    /// Weights, optimiser state, estimator memory (U_o), step count and the loss sums of the
    /// current logging window.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.net.params.save_state(&format!("{prefix}params/"), out);
        self.optimizer.save_state(&format!("{prefix}adam/"), out);
        for (head, head_prefix) in self.heads.iter().zip(self.head_prefixes(prefix)) {
            head.save_state(&head_prefix, out);
        }
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
        let prefixes = self.head_prefixes(prefix);
        for (head, head_prefix) in self.heads.iter_mut().zip(prefixes) {
            head.load_state(&head_prefix, state)?;
        }
        self.steps = state.scalar(&format!("{prefix}steps"))?;
        self.loss_sum = state.scalar(&format!("{prefix}loss_sum"))?;
        self.loss_count = state.scalar(&format!("{prefix}loss_count"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Estimator as EstimatorChoice, Loss};
    use crate::expectation::{CurrentSample, Estimator, for_target};
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
    /// sequence (targets, forward, loss, backward, Adam) written out here, with the
    /// predictive target and U_s built directly (as the student did before it had heads: a
    /// single-head student's step is unchanged by them).
    #[test]
    fn zero_lambda_leaves_the_step_unchanged() {
        let (indices, inputs, probs) = batch();
        let mut with = student(0.0);
        let loss = with.step(101, &indices, &inputs, &probs, CLASSES);
        let mut by_hand = student(0.0);
        let s = &mut by_hand;
        let target = for_target(Target::Predictive, CLASSES, Loss::CrossEntropy);
        let n = indices.len() * target.width();
        let v = indices.len() * target.value_width();
        let (mut values, mut targets, mut grad) = (vec![0.0; v], vec![0.0; n], vec![0.0; n]);
        target.value(&probs, CLASSES, &mut values);
        CurrentSample.update(&indices, &values, &mut targets);
        s.net.training = true;
        s.net.reseed(101);
        s.net.params.zero_grads();
        let raw = s.net.forward(&inputs, indices.len());
        let expect = target.loss(raw, &targets, &mut grad);
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
        let lasso = student(1e-2);
        assert!(lasso.group_lasso_penalty() > 0.0);
        assert_step_moves_only(lasso, |name| !name.starts_with("fc3"));
    }

    /// One step of `lasso` and of the unpenalised student from the same start: the parameter
    /// tensors named `moved(name)` must differ, all others be equal bit for bit.
    fn assert_step_moves_only(mut lasso: Student, moved: impl Fn(&str) -> bool) {
        let (indices, inputs, probs) = batch();
        let mut plain = student(0.0);
        plain.step(101, &indices, &inputs, &probs, CLASSES);
        lasso.step(101, &indices, &inputs, &probs, CLASSES);
        for spec in &plain.net.params.specs {
            let (a, b) = (
                &plain.net.params.values[spec.range()],
                &lasso.net.params.values[spec.range()],
            );
            if moved(&spec.name) {
                assert_ne!(a, b, "{}", spec.name);
            } else {
                assert_eq!(a, b, "{}", spec.name);
            }
        }
    }

    /// `group_lasso_layers` = [0, 1] penalises the second hidden layer alone: fc1 and the
    /// output layer take the unpenalised step bit for bit, fc2 does not; and the penalty is
    /// the second layer's share alone.
    #[test]
    fn per_layer_multipliers_pick_the_layers() {
        let second_only = StudentConfig {
            group_lasso_layers: vec![0.0, 1.0],
            ..config(1e-2)
        };
        let lasso = Student::new(&second_only, Arch::Fcnn, CLASSES, 10, 3).unwrap();
        let groups = LassoLayer::of(&lasso.net.unit_groups(), false).unwrap();
        let values = &lasso.net.params.values;
        let expect = group_lasso::penalty(values, &groups, &[0.0, 1e-2]);
        assert_eq!(lasso.group_lasso_penalty(), expect);
        assert!(expect > 0.0);
        assert_step_moves_only(lasso, |name| name.starts_with("fc2"));
    }

    /// In-out groups reach the next layer's weights: penalising fc1 alone ([1, 0]) moves fc1
    /// and fc2's weight (fc1's outgoing weights), not fc2's bias or fc3; penalising fc2 alone
    /// ([0, 1]) moves fc2 and fc3's weight, not fc1 or fc3's bias (in no group).
    #[test]
    fn in_out_groups_move_the_next_layers_weights() {
        let in_out = |layers: Vec<f64>| StudentConfig {
            group_lasso_layers: layers,
            group_lasso_groups: LassoGroups::IncomingOutgoing,
            ..config(1e-2)
        };
        let first = Student::new(&in_out(vec![1.0, 0.0]), Arch::Fcnn, CLASSES, 10, 3).unwrap();
        assert_step_moves_only(first, |name| {
            name.starts_with("fc1") || name == "fc2.weight"
        });
        let second = Student::new(&in_out(vec![0.0, 1.0]), Arch::Fcnn, CLASSES, 10, 3).unwrap();
        assert_step_moves_only(second, |name| {
            name.starts_with("fc2") || name == "fc3.weight"
        });
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
        let head = &s.heads()[0].target;
        assert_eq!((head.width(), head.value_width()), (1, CLASSES + 1));
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
        assert_eq!(s.heads()[0].width(), CLASSES);
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
