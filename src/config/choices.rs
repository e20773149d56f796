//! The named choices of a run configuration (dataset, teacher architecture, sampler and its
//! step-size schedule, posterior expectation g, estimator U, distillation loss l) and the facts
//! about them that validation needs: each dataset's size and image shape, each architecture's
//! input shape and hidden widths, and which losses suit which target. The data and model
//! modules own the real datasets and networks; this is the small table they must agree with.

use serde::{Deserialize, Serialize};

/// A dataset known to gped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// MNIST handwritten digits.
    Mnist,
    /// Fashion-MNIST (Zalando), the MNIST-shaped OOD set.
    FashionMnist,
    /// Kuzushiji-MNIST.
    Kmnist,
    /// CIFAR-10.
    Cifar10,
    /// Two moons: two interleaving half circles in the plane, one per class, with Gaussian
    /// noise (`gped demo`'s data). Generated from the run's seed (`data::two_moons`), never
    /// read from files; each point is a 1x2 "image" (x, y) scaled into [0, 1].
    TwoMoons,
}

/// Sizes and image shape of a dataset, as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatasetInfo {
    /// Number of training examples (N for the full set; also N', the size of the pool D').
    pub train_size: usize,
    /// Number of test examples.
    pub test_size: usize,
    /// Image shape as (height, width, channels).
    pub shape: ImageShape,
    /// Number of classes.
    pub classes: usize,
}

/// Image shape as height, width, channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageShape {
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Colour channels.
    pub channels: usize,
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

const GREY_28: ImageShape = ImageShape {
    height: 28,
    width: 28,
    channels: 1,
};
const COLOUR_32: ImageShape = ImageShape {
    height: 32,
    width: 32,
    channels: 3,
};
/// A point (x, y) of the plane, stored as a one-row image of two values.
const POINT_2D: ImageShape = ImageShape {
    height: 1,
    width: 2,
    channels: 1,
};

impl DatasetName {
    /// The published sizes and shape of the dataset: MNIST, Fashion-MNIST and KMNIST have
    /// 60000 training and 10000 test images of 28x28x1; CIFAR-10 has 50000 and 10000 of 32x32x3.
    /// Two moons, generated, has 500 training and 500 test points of 1x2x1 in 2 classes.
    pub fn info(self) -> DatasetInfo {
        match self {
            DatasetName::Mnist | DatasetName::FashionMnist | DatasetName::Kmnist => DatasetInfo {
                train_size: 60_000,
                test_size: 10_000,
                shape: GREY_28,
                classes: 10,
            },
            DatasetName::Cifar10 => DatasetInfo {
                train_size: 50_000,
                test_size: 10_000,
                shape: COLOUR_32,
                classes: 10,
            },
            DatasetName::TwoMoons => DatasetInfo {
                train_size: 500,
                test_size: 500,
                shape: POINT_2D,
                classes: 2,
            },
        }
    }

    /// Whether the dataset is generated from the run's seed rather than read from a data
    /// folder (so there is nothing to fetch or check).
    pub fn is_generated(self) -> bool {
        self == DatasetName::TwoMoons
    }

    /// The name as written in a config file (e.g. `fashion-mnist`).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Kmnist => "kmnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::TwoMoons => "two-moons",
        }
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Teacher (and student) architecture, appendix A.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    /// 784-400-400-10 fully connected, ReLU (Balan et al.'s net).
    Fcnn,
    /// Conv(10,k4)-Pool2-Conv(20,k4)-Pool2-FC80-FC10, ReLU.
    MnistCnn,
    /// Conv(16,k5)-Pool2-Conv(32,k5)-Pool2-FC200-FC50-FC10, ReLU.
    CifarCnn,
    /// 2-100-100-C fully connected, ReLU: the FCNN's layers on a point of the plane
    /// (`two-moons`, `gped demo`).
    PlaneMlp,
}

impl Arch {
    /// The image shape the architecture takes.
    pub fn input_shape(self) -> ImageShape {
        match self {
            Arch::Fcnn | Arch::MnistCnn => GREY_28,
            Arch::CifarCnn => COLOUR_32,
            Arch::PlaneMlp => POINT_2D,
        }
    }

    /// The teacher's hidden widths (units or channels) scaled by K1 and by K2 respectively;
    /// a student with multipliers (K1, K2) has widths floor(w K1) and floor(w K2).
    pub fn scaled_widths(self) -> (&'static [usize], &'static [usize]) {
        match self {
            Arch::Fcnn => (&[400], &[400]),
            Arch::MnistCnn => (&[10, 20], &[80]),
            Arch::CifarCnn => (&[16, 32], &[200, 50]),
            Arch::PlaneMlp => (&[100], &[100]),
        }
    }

    /// The number of hidden layers with parameters (the layers whose units a group lasso
    /// penalises and pruning removes): those of both [`Arch::scaled_widths`] lists.
    pub fn hidden_layers(self) -> usize {
        let (first, second) = self.scaled_widths();
        first.len() + second.len()
    }

    /// The name as written in a config file (e.g. `mnist-cnn`).
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Fcnn => "fcnn",
            Arch::MnistCnn => "mnist-cnn",
            Arch::CifarCnn => "cifar-cnn",
            Arch::PlaneMlp => "plane-mlp",
        }
    }
}

/// The teacher's sampler (`sampler.kind`): how theta moves from one sample to the next given
/// the minibatch gradient (`sampler` has the updates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamplerKind {
    /// Stochastic gradient Langevin dynamics (Welling & Teh 2011), the paper's Eq. 7.
    #[default]
    Sgld,
    /// Stochastic gradient Hamiltonian Monte Carlo (Chen, Fox & Guestrin 2014): SGLD with a
    /// momentum and friction.
    Sghmc,
    /// Preconditioned SGLD (Li, Chen, Carlson & Carin 2016): SGLD with an RMSprop diagonal
    /// preconditioner.
    Psgld,
    /// Cyclical SGLD, cSGLD (Zhang, Li, Zhang, Chen & Wilson 2020): SGLD on the cyclical
    /// step-size schedule, whose samples are taken in each cycle's sampling phase only.
    Cyclical,
}

impl SamplerKind {
    /// The name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SamplerKind::Sgld => "sgld",
            SamplerKind::Sghmc => "sghmc",
            SamplerKind::Psgld => "psgld",
            SamplerKind::Cyclical => "cyclical",
        }
    }

    /// The step-size schedule of the kind when `sampler.schedule` is left empty: cyclical for
    /// `cyclical`, constant for the others.
    pub fn own_schedule(self) -> StepSchedule {
        match self {
            SamplerKind::Cyclical => StepSchedule::Cyclical,
            _ => StepSchedule::Constant,
        }
    }
}

impl std::fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The step-size schedule eta_t of the teacher's sampler (`sampler.schedule`); any sampler
/// runs on any schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepSchedule {
    /// eta_t = eta (the paper's).
    Constant,
    /// eta_t = a (b + t)^-gamma (Welling & Teh 2011), with a such that eta_0 = eta.
    Polynomial,
    /// The cosine cycles of cSG-MCMC (Zhang et al. 2020), each an exploration phase (no noise)
    /// then a sampling phase.
    Cyclical,
}

impl StepSchedule {
    /// The name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            StepSchedule::Constant => "constant",
            StepSchedule::Polynomial => "polynomial",
            StepSchedule::Cyclical => "cyclical",
        }
    }
}

impl std::fmt::Display for StepSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The posterior expectation g(y, x, theta) a student learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The posterior predictive: g = p(y|x,theta), a softmax over the classes.
    Predictive,
    /// The expected entropy: g = H[p(.|x,theta)], one positive output (aleatoric uncertainty).
    Entropy,
    /// The marginal variance: g = p(y|x,theta)(1 - p(y|x,theta)), one output per class.
    Variance,
    /// The mutual information (knowledge uncertainty) H[E_theta p] - E_theta H[p], one
    /// non-negative output. Not an expectation of one sample's value: only the running-mean
    /// estimator (U_o) can estimate it.
    MutualInformation,
    /// EnD^2's Dirichlet (Malinin et al. 2020): one positive concentration alpha_k = exp(z_k)
    /// per class, fitted to the teacher's samples p(y|x,theta) as draws of Dir(alpha) by the
    /// Dirichlet negative log-likelihood. Each sample is one draw: only U_s suits it.
    Dirichlet,
}

impl Target {
    /// The losses that suit the target: the predictive takes any distribution loss, the
    /// entropy, the variance and the mutual information take L1.
    pub fn allowed_losses(self) -> &'static [Loss] {
        match self {
            Target::Predictive => &[
                Loss::CrossEntropy,
                Loss::InverseKl,
                Loss::SymmetricKl,
                Loss::L1,
            ],
            Target::Entropy | Target::Variance | Target::MutualInformation => &[Loss::L1],
            Target::Dirichlet => &[Loss::DirichletNll],
        }
    }

    /// The loss a student table without `loss` gets: cross-entropy for the predictive, the
    /// Dirichlet NLL for the Dirichlet, L1 for the others.
    pub fn default_loss(self) -> Loss {
        self.allowed_losses()[0]
    }

    /// The student's outputs per input for `classes` classes: one per class for the
    /// predictive and the variance, one for the entropy and the mutual information.
    pub fn outputs(self, classes: usize) -> usize {
        match self {
            Target::Predictive | Target::Variance | Target::Dirichlet => classes,
            Target::Entropy | Target::MutualInformation => 1,
        }
    }

    /// Whether the target is a posterior expectation of one sample's value, which U_s can
    /// estimate; the mutual information needs U_o's running means.
    pub fn allows_sample_estimator(self) -> bool {
        self != Target::MutualInformation
    }

    /// Whether U_o's running mean suits the target: not for the Dirichlet, whose loss treats
    /// each teacher sample as one draw of its distribution (a running mean of the samples
    /// is no draw of it).
    pub fn allows_running_mean_estimator(self) -> bool {
        self != Target::Dirichlet
    }

    /// The name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Predictive => "predictive",
            Target::Entropy => "entropy",
            Target::Variance => "variance",
            Target::MutualInformation => "mutual-information",
            Target::Dirichlet => "dirichlet",
        }
    }
}

/// The estimator U of the expectation at a distillation input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Estimator {
    /// U_s (Eq. 9): the current sample's value g(x_i, theta_t).
    Sample,
    /// U_o (Eq. 10): the running mean over the samples seen at x_i.
    RunningMean,
}

/// Which weights make up a hidden unit's group in the group lasso (`group_lasso_groups`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LassoGroups {
    /// The paper's: the unit's incoming weights and its bias.
    #[default]
    Incoming,
    /// Beyond the paper: also the unit's outgoing weights, the next layer's inputs that read
    /// it (a conv1 channel's input slice of every conv2 filter), so that the penalty drives a
    /// unit to zero on both sides at once and counts what removing it saves downstream.
    IncomingOutgoing,
}

impl LassoGroups {
    /// Whether this is the paper's default (left out of written configs).
    pub fn is_incoming(&self) -> bool {
        *self == LassoGroups::Incoming
    }

    /// The name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            LassoGroups::Incoming => "incoming",
            LassoGroups::IncomingOutgoing => "incoming-outgoing",
        }
    }
}

/// The student uncertainty that `gped predict`'s OOD flag thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OodScore {
    /// Total uncertainty: the entropy of the predictive student's distribution.
    Total,
    /// Epistemic (knowledge) uncertainty: total minus the entropy student's output.
    Epistemic,
}

impl std::fmt::Display for OodScore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OodScore::Total => "total",
            OodScore::Epistemic => "epistemic",
        })
    }
}

/// The distillation loss l(g_hat, f).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// -sum_y g_hat_y log f_y.
    CrossEntropy,
    /// KL(f || g_hat).
    InverseKl,
    /// KL(g_hat || f) + KL(f || g_hat).
    SymmetricKl,
    /// sum |g_hat - f|.
    L1,
    /// The Dirichlet negative log-likelihood -ln Dir(g_hat | alpha) of the teacher's sample
    /// (the Dirichlet target's only loss).
    DirichletNll,
}

impl Loss {
    /// The name as written in a config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::InverseKl => "inverse-kl",
            Loss::SymmetricKl => "symmetric-kl",
            Loss::L1 => "l1",
            Loss::DirichletNll => "dirichlet-nll",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `as_str` must agree with serde's kebab-case names, since error messages use it.
    #[test]
    fn as_str_matches_serde_names() {
        #[derive(Serialize)]
        struct W<T> {
            v: T,
        }
        fn serde_name<T: Serialize>(v: T) -> String {
            let text = toml::to_string(&W { v }).unwrap();
            text.trim()
                .trim_start_matches("v = ")
                .trim_matches('"')
                .to_string()
        }
        for d in [
            DatasetName::Mnist,
            DatasetName::FashionMnist,
            DatasetName::Kmnist,
            DatasetName::Cifar10,
            DatasetName::TwoMoons,
        ] {
            assert_eq!(serde_name(d), d.as_str());
        }
        for a in [Arch::Fcnn, Arch::MnistCnn, Arch::CifarCnn, Arch::PlaneMlp] {
            assert_eq!(serde_name(a), a.as_str());
        }
        for t in [
            Target::Predictive,
            Target::Entropy,
            Target::Variance,
            Target::MutualInformation,
            Target::Dirichlet,
        ] {
            assert_eq!(serde_name(t), t.as_str());
        }
        for l in [
            Loss::CrossEntropy,
            Loss::InverseKl,
            Loss::SymmetricKl,
            Loss::L1,
            Loss::DirichletNll,
        ] {
            assert_eq!(serde_name(l), l.as_str());
        }
        for k in [
            SamplerKind::Sgld,
            SamplerKind::Sghmc,
            SamplerKind::Psgld,
            SamplerKind::Cyclical,
        ] {
            assert_eq!(serde_name(k), k.as_str());
        }
        for s in [
            StepSchedule::Constant,
            StepSchedule::Polynomial,
            StepSchedule::Cyclical,
        ] {
            assert_eq!(serde_name(s), s.as_str());
        }
        for g in [LassoGroups::Incoming, LassoGroups::IncomingOutgoing] {
            assert_eq!(serde_name(g), g.as_str());
        }
    }

    /// Sizes from the datasets' publications: MNIST/Fashion-MNIST/KMNIST 60000+10000 28x28
    /// grey; CIFAR-10 50000+10000 32x32 colour.
    #[test]
    fn dataset_sizes_are_the_published_ones() {
        assert_eq!(DatasetName::Mnist.info().train_size, 60_000);
        assert_eq!(DatasetName::Kmnist.info().shape, GREY_28);
        assert_eq!(DatasetName::Cifar10.info().train_size, 50_000);
        assert_eq!(DatasetName::Cifar10.info().shape.channels, 3);
        assert_eq!(
            Arch::CifarCnn.input_shape(),
            DatasetName::Cifar10.info().shape
        );
        assert_eq!(
            Arch::MnistCnn.input_shape(),
            DatasetName::FashionMnist.info().shape
        );
        assert_eq!(
            Arch::PlaneMlp.input_shape(),
            DatasetName::TwoMoons.info().shape
        );
        assert_eq!(DatasetName::TwoMoons.info().classes, 2);
    }
}
