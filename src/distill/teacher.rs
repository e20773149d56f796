//! The teacher: a network whose posterior p(theta|D) is sampled online (SGLD, Eq. 7, or another
//! of `sampler`'s samplers, as `sampler.kind` says), one minibatch step at a time, and whose
//! predictive probabilities p(y|x,theta_t) at the current sample feed the students' targets and
//! the test-set ensemble.

use crate::base::{StateReader, StateWriter, Stateful};
use crate::config::ValidConfig;
use crate::data::Dataset;
use crate::model::{ModelSpec, build};
use crate::nn::gemm::{for_each_chunk, parallel_elementwise};
use crate::nn::{Network, loss};
use crate::sampler::{self, Sampler};
use crate::{Error, Result};

/// Predictions on a batch run as two halves on the network and its twin when the batch's
/// forward pass does at least this many multiply-adds per weight (until commit 2531824 each
/// weight was copied to the twin first; now the twin reads the network's weights, but the
/// fork-join and the smaller products still have to pay off). Per example: MNIST CNN 12.9,
/// CIFAR-10 CNN 12.9, FCNN 1.0; so every network's distillation batch of 100 is split, and
/// the evaluation's batches of 1,000.
/// Measured (criterion, gped_iteration, 2 threads, quiet machine, alternating): FCNN
/// iteration 2.41-2.85 -> 1.97-2.13 ms with the split (1 thread: 3.50-3.65 -> 3.71-3.87 ms,
/// the copy for nothing), MNIST CNN 5.85 -> 5.06 ms (an older engine), FCNN teacher's pass
/// over 10,000 test images in batches of 1,000: 27.2-30.5 -> 26.7-26.8 ms. (An earlier
/// measurement of the FCNN iteration under load from a build, 3.45 -> 3.84 ms, had kept the
/// FCNN's batch of 100 whole.)
const TWIN_MIN_MACS_PER_PARAM: usize = 50;

/// How the teacher's minibatch gradient is spread over the cores: a speed choice only, the
/// same gradient up to f32 rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GradientSplit {
    /// On the network alone.
    Whole,
    /// Two half minibatches on the network and its twin, concurrently, when the network
    /// splits (see [`TWIN_MIN_MACS_PER_PARAM`]); else whole.
    Halves,
}

/// The teacher network, its sampler and the buffers of one step.
pub struct Teacher {
    pub net: Network,
    /// A second instance of the network's layers and buffers, without weights of its own (it
    /// reads the network's, lent for the pass), so that predictions on a large batch, and
    /// the sampler's gradient when asked, run as two halves on two threads.
    twin: Network,
    /// Multiply-adds of one example's forward pass.
    macs_per_example: usize,
    sampler: Box<dyn Sampler>,
    classes: usize,
    inputs: Vec<f32>,
    labels: Vec<u8>,
    grad: Vec<f32>,
    probs: Vec<f32>,
}

impl Teacher {
    /// The configured teacher with weights from `init_seed` and sampler noise from
    /// `noise_seed`; `data_size` is N, the size of the teacher's training set.
    pub fn new(
        cfg: &ValidConfig,
        data_size: usize,
        init_seed: u64,
        noise_seed: u64,
    ) -> Result<Self> {
        let spec = ModelSpec::teacher(cfg.teacher.arch, cfg.dataset_info().classes);
        let net = build(&spec, init_seed);
        let mut twin = build(&spec, init_seed);
        // Never read: the twin runs on the network's weights (`forward_with`).
        twin.params.values = Vec::new();
        let sampler = sampler::from_config(
            &cfg.sampler,
            cfg.schedule.iterations,
            data_size,
            net.params.len(),
            noise_seed,
        )?;
        let m = cfg.sampler.batch_size;
        let classes = spec.outputs;
        Ok(Teacher {
            inputs: vec![0.0; m * net.input_shape().size()],
            labels: vec![0; m],
            grad: vec![0.0; m * classes],
            probs: Vec::new(),
            macs_per_example: net.macs_per_example(),
            net,
            twin,
            sampler,
            classes,
        })
    }

    /// Number of classes of the predictive distribution.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Whether the sample after step `t` is one to use: false in the exploration phase of a
    /// cyclical schedule (see `sampler::Schedule`), true otherwise. Burn-in is the caller's.
    pub fn collecting(&self, t: u64) -> bool {
        self.sampler.collecting(t)
    }

    /// The sampler's step on the minibatch `indices` of `data` at iteration `iteration`; for
    /// SGLD (Eq. 7): theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi.
    /// Returns the minibatch's mean NLL before the step; `iteration` names a divergence. The
    /// minibatch gradient is computed as `split` says (the loop's pipelining chooses it; see
    /// `distill::pipeline`).
    pub(super) fn sampler_step(
        &mut self,
        data: &Dataset,
        indices: &[usize],
        iteration: u64,
        split: GradientSplit,
    ) -> Result<f32> {
        let m = indices.len();
        data.gather_images(indices, &mut self.inputs)?;
        data.gather_labels(indices, &mut self.labels)?;
        self.net.reseed(iteration);
        let nll = if split == GradientSplit::Halves && self.splits(m) {
            self.gradient_in_halves(m, iteration)
        } else {
            self.net.params.zero_grads();
            let logits = self.net.forward(&self.inputs, m);
            let nll = loss::nll(logits, &self.labels, self.classes, &mut self.grad);
            if nll.is_finite() {
                self.net.backward(&self.inputs, &self.grad, m);
            }
            nll
        };
        if !nll.is_finite() {
            return Err(Error::NonFinite {
                iteration,
                quantity: "teacher minibatch NLL".into(),
                hint: "the sampler's step size (sampler.step_size) is probably too large".into(),
            });
        }
        self.sampler.step(&mut self.net.params, iteration);
        Ok(nll)
    }

    /// The minibatch gradient of the mean NLL (into the network's gradients) and that mean,
    /// from the first half of the `m` gathered examples on the network and the second on the
    /// twin, concurrently; the twin reads the network's weights, not a copy of them. Each
    /// half's mean is weighted by its share of m.
    fn gradient_in_halves(&mut self, m: usize, iteration: u64) -> f32 {
        let (k, half) = (self.classes, m / 2);
        self.twin.reseed(iteration);
        let size = self.net.input_shape().size();
        let (x1, x2) = self.inputs[..m * size].split_at(half * size);
        let (l1, l2) = self.labels[..m].split_at(half);
        let (g1, g2) = self.grad[..m * k].split_at_mut(half * k);
        // The weights and both gradient buffers leave their networks for the step (pointer
        // swaps), so that both halves read the one copy of the weights.
        let values = std::mem::take(&mut self.net.params.values);
        let mut grads = std::mem::take(&mut self.net.params.grads);
        let mut twin_grads = std::mem::take(&mut self.twin.params.grads);
        let half_step =
            |net: &mut Network, grads: &mut [f32], x: &[f32], labels: &[u8], g: &mut [f32]| {
                let rows = labels.len();
                let share = rows as f32 / m as f32;
                grads.fill(0.0);
                let nll = loss::nll(net.forward_with(&values, x, rows), labels, k, g);
                if nll.is_finite() {
                    g.iter_mut().for_each(|v| *v *= share);
                    net.backward_with(&values, grads, x, g, rows);
                }
                nll * share
            };
        let (net, twin) = (&mut self.net, &mut self.twin);
        let (a, b) = rayon::join(
            || half_step(net, &mut grads, x1, l1, g1),
            || half_step(twin, &mut twin_grads, x2, l2, g2),
        );
        add_assign(&mut grads, &twin_grads);
        self.net.params.values = values;
        self.net.params.grads = grads;
        self.twin.params.grads = twin_grads;
        a + b
    }

    /// Whether `predict` runs a batch of `batch` inputs as two halves on the twin.
    fn splits(&self, batch: usize) -> bool {
        batch >= 2
            && batch * self.macs_per_example >= TWIN_MIN_MACS_PER_PARAM * self.net.params.len()
    }

    /// The current sample's predictive probabilities p(y|x,theta_t), `[batch, classes]`,
    /// for `inputs` `[batch, input_size]`. A batch large enough (see
    /// [`TWIN_MIN_MACS_PER_PARAM`]) runs as two halves concurrently on the network and its
    /// twin: the teacher's forward pass on S' runs after both SGLD and student steps, when both
    /// cores are free. The split depends on the batch and the network only, not on the number
    /// of threads, so the values do not either.
    pub fn predict(&mut self, inputs: &[f32], batch: usize) -> &[f32] {
        let k = self.classes;
        if self.probs.len() < batch * k {
            self.probs.resize(batch * k, 0.0);
        }
        if !self.splits(batch) {
            let logits = self.net.forward(inputs, batch);
            loss::softmax_rows(logits, k, &mut self.probs[..batch * k]);
            return &self.probs[..batch * k];
        }
        let twin = &mut self.twin;
        let half = batch / 2;
        let (x1, x2) = inputs.split_at(half * inputs.len() / batch);
        let (p1, p2) = self.probs[..batch * k].split_at_mut(half * k);
        // The twin reads the network's weights, lent out for the pass (a pointer swap).
        let values = std::mem::take(&mut self.net.params.values);
        let net = &mut self.net;
        rayon::join(
            || loss::softmax_rows(net.forward_with(&values, x1, half), k, p1),
            || loss::softmax_rows(twin.forward_with(&values, x2, batch - half), k, p2),
        );
        self.net.params.values = values;
        &self.probs[..batch * k]
    }
}

/// `sum += other`, over the thread pool when long (the twin's half gradient into the
/// network's: memory-bound, so both cores' bandwidth).
fn add_assign(sum: &mut [f32], other: &[f32]) {
    const CHUNK: usize = 1 << 15;
    let parallel = parallel_elementwise(sum.len());
    for_each_chunk(sum, CHUNK, parallel, |(i, s)| {
        let o = &other[i * CHUNK..i * CHUNK + s.len()];
        s.iter_mut().zip(o).for_each(|(s, o)| *s += o);
    });
}

impl Stateful for Teacher {
    /// The current sample theta_t and the sampler's state (noise stream, step count, momentum
    /// or RMS average) under its name (`sgld/`, `sghmc/`, `psgld/`).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.net.params.save_state(&format!("{prefix}params/"), out);
        let name = self.sampler.name();
        self.sampler.save_state(&format!("{prefix}{name}/"), out);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.net
            .params
            .load_state(&format!("{prefix}params/"), state)?;
        let name = self.sampler.name();
        self.sampler.load_state(&format!("{prefix}{name}/"), state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, RunConfig};

    fn teacher(arch: crate::config::Arch) -> Teacher {
        let mut cfg = RunConfig::default();
        cfg.teacher.arch = arch;
        Teacher::new(&cfg.validate().unwrap(), 1000, 1, 2).unwrap()
    }

    #[test]
    fn batches_split_from_50_multiply_adds_per_weight() {
        // FCNN: 477,600 multiply-adds per example, 478,410 weights: 51 x 477,600 >= 50 x
        // 478,410 > 50 x 477,600. MNIST CNN: 385,280 and 29,880: 4 x 385,280 >= 50 x 29,880
        // > 3 x 385,280.
        let (fcnn, cnn) = (teacher(Arch::Fcnn), teacher(Arch::MnistCnn));
        assert!(fcnn.splits(51) && !fcnn.splits(50) && fcnn.splits(100));
        assert!(cnn.splits(4) && !cnn.splits(3) && cnn.splits(100));
    }

    #[test]
    fn predictions_in_two_halves_equal_one_pass_over_the_batch() {
        // To f32 rounding, not bit for bit: a half batch runs through other GEMM tilings (the
        // FCNN at 51 differs in the last bits), which is why the split depends on the batch
        // and the network only, never on the number of threads.
        for arch in [Arch::Fcnn, Arch::MnistCnn] {
            let mut teacher = teacher(arch);
            // Move the weights off their init, so a twin on any weights but these would disagree.
            teacher
                .net
                .params
                .values
                .iter_mut()
                .enumerate()
                .for_each(|(i, v)| *v += 1e-3 * (i % 7) as f32);
            for batch in [1, 2, 3, 51, 100, 1000] {
                let x: Vec<f32> = (0..batch * 784).map(|i| (i % 13) as f32 / 13.0).collect();
                let split = teacher.predict(&x, batch).to_vec();
                // The whole batch through the network alone (not synchronised by this call).
                let logits = teacher.net.forward(&x, batch).to_vec();
                let mut whole = vec![0.0; batch * 10];
                loss::softmax_rows(&logits, 10, &mut whole);
                for (a, b) in split.iter().zip(&whole) {
                    assert!((a - b).abs() < 1e-6, "{arch:?} batch {batch}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn sampler_gradient_in_halves_equals_the_whole_minibatch_gradient() {
        // Same minibatch, same weights (moved off their init, so a twin on other weights fails):
        // the NLL and every gradient coordinate agree to f32 rounding (1e-5 of the largest
        // coordinate; a missing weight of a half's share would be off by a factor of 2).
        for arch in [Arch::Fcnn, Arch::MnistCnn] {
            let images = (0..200 * 784)
                .map(|i| ((i * 7919) % 255) as f32 / 255.0)
                .collect();
            let labels = (0..200).map(|i| (i * 7 % 10) as u8).collect();
            let data = Dataset::new(images, labels, [1, 28, 28], 10).unwrap();
            let indices: Vec<usize> = (0..100).map(|i| (i * 37) % 200).collect();
            let mut grads = Vec::new();
            let mut nlls = Vec::new();
            for split in [GradientSplit::Whole, GradientSplit::Halves] {
                let mut t = teacher(arch);
                assert!(t.splits(100));
                t.net
                    .params
                    .values
                    .iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v += 1e-2 * (i % 7) as f32);
                nlls.push(t.sampler_step(&data, &indices, 5, split).unwrap());
                grads.push(t.net.params.grads.clone());
            }
            let scale = grads[0].iter().fold(0f32, |m, g| m.max(g.abs()));
            assert!(scale > 0.0);
            assert!(
                (nlls[0] - nlls[1]).abs() <= 1e-5 * nlls[0],
                "{arch:?}: {nlls:?}"
            );
            for (i, (a, b)) in grads[0].iter().zip(&grads[1]).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-5 * scale,
                    "{arch:?} grad {i}: {a} vs {b}"
                );
            }
        }
    }
}
