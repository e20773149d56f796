//! The teacher: a network whose posterior p(theta|D) is sampled online with SGLD (Eq. 7),
//! one minibatch step at a time, and whose predictive probabilities p(y|x,theta_t) at the
//! current sample feed the students' targets and the test-set ensemble.

use crate::checkpoint::{StateReader, StateWriter, Stateful};
use crate::config::ValidConfig;
use crate::data::Dataset;
use crate::model::{ModelSpec, build};
use crate::nn::{Network, loss};
use crate::sampler::{Sgld, SgldConfig};
use crate::{Error, Result};

/// The teacher network, its SGLD sampler and the buffers of one step.
pub struct Teacher {
    pub net: Network,
    sgld: Sgld,
    classes: usize,
    inputs: Vec<f32>,
    labels: Vec<u8>,
    grad: Vec<f32>,
    probs: Vec<f32>,
}

impl Teacher {
    /// The configured teacher with weights from `init_seed` and SGLD noise from `noise_seed`;
    /// `data_size` is N, the size of the teacher's training set.
    pub fn new(
        cfg: &ValidConfig,
        data_size: usize,
        init_seed: u64,
        noise_seed: u64,
    ) -> Result<Self> {
        let spec = ModelSpec::teacher(cfg.teacher.arch);
        let net = build(&spec, init_seed);
        let sgld = Sgld::new(
            SgldConfig {
                step_size: cfg.sampler.step_size,
                prior_precision: cfg.sampler.prior_precision,
                data_size,
            },
            noise_seed,
        )?;
        let m = cfg.sampler.batch_size;
        let classes = spec.outputs;
        Ok(Teacher {
            inputs: vec![0.0; m * net.input_shape().size()],
            labels: vec![0; m],
            grad: vec![0.0; m * classes],
            probs: Vec::new(),
            net,
            sgld,
            classes,
        })
    }

    /// Number of classes of the predictive distribution.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// One SGLD step on the minibatch `indices` of `data` (Eq. 7):
    /// theta <- theta - eta/2 (N g_bar + tau theta) + sqrt(eta) xi.
    /// Returns the minibatch's mean NLL before the step; `iteration` names a divergence.
    pub fn sgld_step(&mut self, data: &Dataset, indices: &[usize], iteration: u64) -> Result<f32> {
        let m = indices.len();
        data.gather_images(indices, &mut self.inputs)?;
        data.gather_labels(indices, &mut self.labels)?;
        self.net.params.zero_grads();
        self.net.reseed(iteration);
        let logits = self.net.forward(&self.inputs, m);
        let nll = loss::nll(logits, &self.labels, self.classes, &mut self.grad);
        if !nll.is_finite() {
            return Err(Error::NonFinite {
                iteration,
                quantity: "teacher minibatch NLL".into(),
                hint: "the SGLD step size (sampler.step_size) is probably too large".into(),
            });
        }
        self.net.backward(&self.inputs, &self.grad, m);
        self.sgld.step(&mut self.net.params);
        Ok(nll)
    }

    /// The current sample's predictive probabilities p(y|x,theta_t), `[batch, classes]`,
    /// for `inputs` `[batch, input_size]`.
    pub fn predict(&mut self, inputs: &[f32], batch: usize) -> &[f32] {
        let k = self.classes;
        if self.probs.len() < batch * k {
            self.probs.resize(batch * k, 0.0);
        }
        let logits = self.net.forward(inputs, batch);
        loss::softmax_rows(logits, k, &mut self.probs[..batch * k]);
        &self.probs[..batch * k]
    }
}

impl Stateful for Teacher {
    /// The current sample theta_t and the SGLD noise stream.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        self.net.params.save_state(&format!("{prefix}params/"), out);
        self.sgld.save_state(&format!("{prefix}sgld/"), out);
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        self.net
            .params
            .load_state(&format!("{prefix}params/"), state)?;
        self.sgld.load_state(&format!("{prefix}sgld/"), state)
    }
}
