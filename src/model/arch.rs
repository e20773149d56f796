//! Builds the paper's networks with PyTorch's layer names and default initialisation.
//!
//! - FCNN: fc1 784->floor(400 K1), ReLU, [dropout], fc2 ->floor(400 K2), ReLU, [dropout], fc3 ->out.
//! - Plane MLP (`gped demo`): the FCNN's layers on a point of the plane, fc1 2->floor(100 K1),
//!   fc2 ->floor(100 K2), fc3 ->out.
//! - MNIST CNN: conv1 1->floor(10 K1) k4, pool2, ReLU, conv2 ->floor(20 K1) k4, pool2, ReLU,
//!   fc1 320->floor(80 K2), ReLU, [dropout], fc2 ->out.
//! - CIFAR-10 CNN: conv1 3->floor(16 K1) k5, pool2, ReLU, conv2 ->floor(32 K1) k5, pool2, ReLU,
//!   fc1 ->floor(200 K2), ReLU, [dropout], fc2 ->floor(50 K2), ReLU, [dropout], fc3 ->out.
//!
//! (Pool-then-ReLU equals the paper's ReLU-then-pool, as in PyTorch's MNIST example
//! `relu(max_pool2d(conv(x), 2))`.) Each conv + pool pair is one [`Conv2d`] with the pool
//! fused in ([`Conv2d::with_max_pool`]), which computes the same function and gradients.
//!
//! Dropout (when p > 0) follows every hidden fully connected layer, as in the released code's
//! MLP students. The teacher is the spec with K1 = K2 = 1, one output per class and no dropout.

use super::widths::HiddenWidths;
use crate::config::Arch;
use crate::nn::{Conv2d, Dropout, Flatten, Linear, Network, ParamSet, Relu, Shape};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// What to build: an architecture, its width multipliers, outputs and dropout.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub arch: Arch,
    /// K1 (convolutions / first hidden layer) and K2 (fully connected hidden layers).
    pub width: [f64; 2],
    /// Outputs: one per class for a predictive head, 1 for an entropy head.
    pub outputs: usize,
    /// Dropout probability after each hidden fully connected layer (0 = none).
    pub dropout: f32,
}

impl ModelSpec {
    /// The paper's teacher for `arch` on a dataset of `classes` classes: full width, one
    /// output per class, no dropout.
    pub fn teacher(arch: Arch, classes: usize) -> Self {
        ModelSpec {
            arch,
            width: [1.0, 1.0],
            outputs: classes,
            dropout: 0.0,
        }
    }

    /// Hidden widths floor(w K1) and floor(w K2), as in the paper.
    pub fn hidden_widths(&self) -> (Vec<usize>, Vec<usize>) {
        let (w1, w2) = self.arch.scaled_widths();
        let scale = |ws: &[usize], k: f64| {
            ws.iter()
                .map(|&w| (w as f64 * k).floor() as usize)
                .collect()
        };
        (scale(w1, self.width[0]), scale(w2, self.width[1]))
    }
}

/// Appends `layers` while initialising their tensors in order, like a PyTorch module's init.
struct Builder {
    net: Network,
    rng: StdRng,
    seed: u64,
    dropout: f32,
}

impl Builder {
    fn shape(&self) -> Shape {
        self.net.output_shape()
    }

    fn linear(&mut self, name: &str, out: usize) {
        let inputs = self.shape().size();
        let layer = Linear::new(&mut self.net.params, name, inputs, out);
        layer.init(&mut self.net.params.values, &mut self.rng);
        self.net.push(layer);
    }

    /// A convolution with the 2x2 max-pool that follows it fused in (see
    /// [`Conv2d::with_max_pool`]: the same function and gradients as the two layers).
    fn conv_pool(&mut self, name: &str, out: usize, kernel: usize) {
        let input = self.shape();
        let layer =
            Conv2d::new(&mut self.net.params, name, input, out, kernel, 1, 0).with_max_pool(2);
        layer.init(&mut self.net.params.values, &mut self.rng);
        self.net.push(layer);
    }

    fn relu(&mut self) {
        let shape = self.shape();
        self.net.push(Relu::new(shape));
    }

    fn flatten(&mut self) {
        let shape = self.shape();
        self.net.push(Flatten::new(shape));
    }

    /// Hidden fully connected layer: linear, ReLU, then dropout when configured.
    fn hidden(&mut self, name: &str, out: usize) {
        self.linear(name, out);
        self.relu();
        if self.dropout > 0.0 {
            let shape = self.shape();
            self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.net.push(Dropout::new(shape, self.dropout, self.seed));
        }
    }
}

/// Builds the network of `spec`, its parameters drawn from `seed` (PyTorch default init).
pub fn build(spec: &ModelSpec, seed: u64) -> Network {
    let (first, second) = spec.hidden_widths();
    let widths = HiddenWidths { first, second };
    build_sized(spec.arch, &widths, spec.outputs, spec.dropout, seed)
}

/// Builds `arch` with explicit hidden widths (e.g. a pruned network's, which no K1, K2 give),
/// `outputs` outputs and dropout `dropout`, its parameters drawn from `seed`.
pub fn build_sized(
    arch: Arch,
    widths: &HiddenWidths,
    outputs: usize,
    dropout: f32,
    seed: u64,
) -> Network {
    let input = arch.input_shape();
    let input = Shape::image(input.channels, input.height, input.width);
    let mut b = Builder {
        net: Network::new(input, ParamSet::new()),
        rng: StdRng::seed_from_u64(seed),
        seed,
        dropout,
    };
    let (first, second) = HiddenWidths::names(arch);
    let output = HiddenWidths::output_name(arch);
    match arch {
        Arch::Fcnn | Arch::PlaneMlp => {
            // Inputs are already flat rows [batch, 784] (or [batch, 2]): no Flatten copy is
            // needed.
            for (name, &units) in first.iter().chain(&second).zip(widths.all()) {
                b.hidden(name, units);
            }
        }
        Arch::MnistCnn | Arch::CifarCnn => {
            let kernel = if arch == Arch::MnistCnn { 4 } else { 5 };
            for (name, &ch) in first.iter().zip(&widths.first) {
                // max-pool before ReLU: relu(pool(x)) = pool(relu(x)) (ReLU is monotone), with
                // the same gradients, and the ReLU then runs on a 4x smaller tensor.
                b.conv_pool(name, ch, kernel);
                b.relu();
            }
            b.flatten();
            for (name, &units) in second.iter().zip(&widths.second) {
                b.hidden(name, units);
            }
        }
    }
    b.linear(&output, outputs);
    b.net
}

/// Each parameter tensor's name and shape, in order (for the tests of this module and of
/// `prune`).
#[cfg(test)]
pub(crate) fn names_and_shapes(net: &Network) -> Vec<(String, Vec<usize>)> {
    net.params
        .specs
        .iter()
        .map(|s| (s.name.clone(), s.shape.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fcnn_teacher_has_the_papers_shapes_and_parameter_count() {
        let net = build(&ModelSpec::teacher(Arch::Fcnn, 10), 0);
        let expect = [
            ("fc1.weight", vec![400, 784]),
            ("fc1.bias", vec![400]),
            ("fc2.weight", vec![400, 400]),
            ("fc2.bias", vec![400]),
            ("fc3.weight", vec![10, 400]),
            ("fc3.bias", vec![10]),
        ];
        let expect: Vec<_> = expect
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect();
        assert_eq!(names_and_shapes(&net), expect);
        // 784*400 + 400 + 400*400 + 400 + 400*10 + 10 = 478,410.
        assert_eq!(net.params.len(), 478_410);
        assert_eq!(net.macs_per_example(), 784 * 400 + 400 * 400 + 400 * 10);
        assert_eq!(net.output_size(), 10);
    }

    #[test]
    fn mnist_cnn_shapes_follow_the_paper() {
        // 28 -k4-> 25 -pool-> 12 -k4-> 9 -pool-> 4: fc1 takes 20*4*4 = 320 inputs.
        let net = build(&ModelSpec::teacher(Arch::MnistCnn, 10), 0);
        let shapes: Vec<_> = names_and_shapes(&net).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            shapes,
            vec![
                vec![10, 1, 4, 4],
                vec![10],
                vec![20, 10, 4, 4],
                vec![20],
                vec![80, 320],
                vec![80],
                vec![10, 80],
                vec![10]
            ]
        );
    }

    #[test]
    fn cifar_cnn_shapes_follow_the_paper() {
        // 32 -k5-> 28 -pool-> 14 -k5-> 10 -pool-> 5: fc1 takes 32*5*5 = 800 inputs.
        let net = build(&ModelSpec::teacher(Arch::CifarCnn, 10), 0);
        let fc: Vec<_> = names_and_shapes(&net)
            .into_iter()
            .filter(|(n, _)| n.ends_with("weight"))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(fc[2], vec![200, 800]);
        assert_eq!(fc[3], vec![50, 200]);
        assert_eq!(fc[4], vec![10, 50]);
    }

    #[test]
    fn student_widths_are_floored_multiples() {
        // floor(10*0.55) = 5, floor(20*0.55) = 11, floor(80*0.3) = 24; entropy head: 1 output.
        let spec = ModelSpec {
            arch: Arch::MnistCnn,
            width: [0.55, 0.3],
            outputs: 1,
            dropout: 0.0,
        };
        let net = build(&spec, 0);
        assert_eq!(
            net.params.spec("conv1.weight").unwrap().shape,
            vec![5, 1, 4, 4]
        );
        assert_eq!(
            net.params.spec("conv2.weight").unwrap().shape,
            vec![11, 5, 4, 4]
        );
        assert_eq!(
            net.params.spec("fc1.weight").unwrap().shape,
            vec![24, 11 * 16]
        );
        assert_eq!(net.output_size(), 1);
    }

    #[test]
    fn plane_mlp_takes_a_point_and_has_one_output_per_class() {
        let net = build(&ModelSpec::teacher(Arch::PlaneMlp, 2), 0);
        let weights: Vec<_> = names_and_shapes(&net)
            .into_iter()
            .filter(|(n, _)| n.ends_with("weight"))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(weights, vec![vec![100, 2], vec![100, 100], vec![2, 100]]);
        assert_eq!(net.output_size(), 2);
    }

    #[test]
    fn same_seed_same_weights() {
        let spec = ModelSpec::teacher(Arch::Fcnn, 10);
        assert_eq!(build(&spec, 3).params.values, build(&spec, 3).params.values);
        assert_ne!(build(&spec, 3).params.values, build(&spec, 4).params.values);
    }

    /// Mean NLL of `net` on (`x`, `labels`), accumulated in f64.
    fn nll(net: &mut Network, x: &[f32], labels: &[u8], batch: usize) -> f64 {
        let k = net.output_size();
        let out = net.forward(x, batch);
        let mut grad = vec![0.0; out.len()];
        crate::nn::loss::nll(out, labels, k, &mut grad) as f64
    }

    /// Whole-network check: the backward pass through every layer of a built network against
    /// central differences of its mean NLL, on evenly spaced coordinates of every tensor.
    /// The forward pass is f32, so the step is h = 2e-3 and the tolerance
    /// |g - fd| <= 2e-3 + 2e-2 |fd|: f32 rounding of the loss (~1e-7 |L|) divided by h gives
    /// ~1e-4, and each layer's own gradient is checked to 1e-4 against an f64 reference in its
    /// own tests. A coordinate whose perturbation crosses a ReLU or max-pool kink has one-sided
    /// differences that disagree by more than the tolerance; it is skipped (at most 10% may be).
    /// A wrong or missing term in the chaining of layers gives errors of the order of the
    /// gradient itself.
    fn check_network(spec: &ModelSpec) {
        use rand::Rng;
        let mut net = build(spec, 11);
        net.training = false;
        let batch = 3;
        let mut rng = StdRng::seed_from_u64(5);
        let x: Vec<f32> = (0..batch * net.input_shape().size())
            .map(|_| rng.random::<f32>())
            .collect();
        let labels: Vec<u8> = (0..batch).map(|i| (i * 3 % 10) as u8).collect();
        net.params.zero_grads();
        let k = net.output_size();
        let out = net.forward(&x, batch).to_vec();
        let mut grad = vec![0.0; out.len()];
        let base = crate::nn::loss::nll(&out, &labels, k, &mut grad) as f64;
        net.backward(&x, &grad, batch);
        let analytic = net.params.grads.clone();
        let h = 2e-3f32;
        let tol = |fd: f64| 2e-3 + 2e-2 * fd.abs();
        let (mut checked, mut kinks) = (0, 0);
        for spec_t in net.params.specs.clone() {
            let range = spec_t.range();
            let stride = (range.len() / 25).max(1) | 1;
            for j in range.step_by(stride) {
                let orig = net.params.values[j];
                net.params.values[j] = orig + h;
                let up = nll(&mut net, &x, &labels, batch);
                net.params.values[j] = orig - h;
                let down = nll(&mut net, &x, &labels, batch);
                net.params.values[j] = orig;
                let fd = (up - down) / (2.0 * h as f64);
                let (fd_up, fd_down) = ((up - base) / h as f64, (base - down) / h as f64);
                checked += 1;
                if (fd_up - fd_down).abs() > tol(fd) {
                    kinks += 1;
                    continue;
                }
                let g = analytic[j] as f64;
                assert!(
                    (g - fd).abs() <= tol(fd),
                    "{:?} {} [{}]: backward {g}, finite difference {fd}",
                    spec.arch,
                    spec_t.name,
                    j - spec_t.offset
                );
            }
        }
        assert!(checked > 100, "only {checked} coordinates checked");
        assert!(
            kinks * 10 <= checked,
            "{kinks} of {checked} coordinates at a kink"
        );
    }

    #[test]
    fn whole_fcnn_gradient_matches_finite_differences() {
        check_network(&ModelSpec {
            arch: Arch::Fcnn,
            width: [0.03, 0.03],
            outputs: 10,
            dropout: 0.0,
        });
    }

    #[test]
    fn whole_mnist_cnn_gradient_matches_finite_differences() {
        check_network(&ModelSpec {
            arch: Arch::MnistCnn,
            width: [0.4, 0.2],
            outputs: 10,
            dropout: 0.0,
        });
    }

    #[test]
    fn whole_cifar_cnn_gradient_matches_finite_differences() {
        check_network(&ModelSpec {
            arch: Arch::CifarCnn,
            width: [0.25, 0.1],
            outputs: 10,
            dropout: 0.0,
        });
    }
}
