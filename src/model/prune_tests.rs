//! Pruning hand-built networks with known dead units: the pruned network is smaller, computes
//! the same function, reports its new size and saves and loads like any other.

use super::*;
use crate::model::arch::names_and_shapes;
use crate::model::{build_sized, load_network};
use crate::nn::prune::DEFAULT_EPSILON;
use crate::nn::weights;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const OUTPUTS: usize = 3;

fn widths(first: &[usize], second: &[usize]) -> HiddenWidths {
    HiddenWidths {
        first: first.to_vec(),
        second: second.to_vec(),
    }
}

/// Sets unit `u` of layer `name` (its weight row / output-channel slice and bias): to zero,
/// or to values in (-eps, 0], which on the non-negative inputs a ReLU network's hidden layers
/// see (images in [0, 1], ReLU outputs) keep the unit's output at exactly 0 too.
fn kill(net: &mut Network, name: &str, u: usize, tiny: bool, rng: &mut StdRng) {
    let groups = net
        .unit_groups()
        .into_iter()
        .find(|g| net.params.spec(&format!("{name}.weight")).unwrap().offset == g.weight.start)
        .unwrap();
    let mut value = || {
        if tiny {
            -rng.random_range(0.0f32..0.9e-3)
        } else {
            0.0
        }
    };
    for j in groups.unit_weights(u) {
        net.params.values[j] = value();
    }
    net.params.values[groups.unit_bias(u)] = value();
}

fn outputs(net: &mut Network, x: &[f32], batch: usize) -> Vec<f32> {
    net.training = false;
    net.forward(x, batch).to_vec()
}

/// The pruned network's outputs equal the original's up to f32 rounding (the sums lose only
/// zero terms, but their order may change): |a - b| <= 1e-5 (1 + |a|).
fn assert_same_function(net: &mut Network, pruned: &mut Network, seed: u64) {
    let batch = 7;
    let mut rng = StdRng::seed_from_u64(seed);
    let x: Vec<f32> = (0..batch * net.input_shape().size())
        .map(|_| rng.random::<f32>())
        .collect();
    let (a, b) = (outputs(net, &x, batch), outputs(pruned, &x, batch));
    assert_eq!(a.len(), b.len());
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
            "output {i}: {a} vs {b}"
        );
    }
}

#[test]
fn fcnn_dead_units_are_removed_and_the_function_kept() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut net = build_sized(Arch::Fcnn, &widths(&[6], &[5]), OUTPUTS, 0.0, 2);
    kill(&mut net, "fc1", 1, false, &mut rng);
    kill(&mut net, "fc1", 4, true, &mut rng);
    kill(&mut net, "fc2", 2, true, &mut rng);
    // Zero weights but a bias >= eps: a constant the next layer uses; kept.
    kill(&mut net, "fc2", 0, false, &mut rng);
    let bias = net.params.spec("fc2.bias").unwrap().offset;
    net.params.values[bias] = 0.5;
    let (mut pruned, report) = prune(&net, Arch::Fcnn, DEFAULT_EPSILON).unwrap();
    assert_eq!(report.widths, widths(&[4], &[4]));
    assert_eq!(report.layers[0].kept, vec![0, 2, 3, 5]);
    assert_eq!(report.layers[1].kept, vec![0, 1, 3, 4]);
    assert_eq!((report.layers[0].before, report.layers[1].after()), (6, 4));
    assert_eq!(
        names_and_shapes(&pruned),
        [
            ("fc1.weight", vec![4, 784]),
            ("fc1.bias", vec![4]),
            ("fc2.weight", vec![4, 4]),
            ("fc2.bias", vec![4]),
            ("fc3.weight", vec![OUTPUTS, 4]),
            ("fc3.bias", vec![OUTPUTS]),
        ]
        .map(|(n, s)| (n.to_string(), s))
    );
    assert_eq!(report.params_before, net.params.len());
    assert_eq!(
        report.params_after,
        784 * 4 + 4 + 4 * 4 + 4 + 4 * OUTPUTS + OUTPUTS
    );
    assert_eq!(report.params_after, pruned.params.len());
    assert_eq!(report.flops_before, 2 * (784 * 6 + 6 * 5 + 5 * OUTPUTS));
    assert_eq!(report.flops_after, 2 * (784 * 4 + 4 * 4 + 4 * OUTPUTS));
    assert_same_function(&mut net, &mut pruned, 3);
}

#[test]
fn cnn_dead_channels_are_removed_and_the_function_kept() {
    // conv1 (4 ch) -> pool -> ReLU -> conv2 (5 ch) -> pool -> ReLU -> flatten -> fc1 (6) -> fc2.
    let mut rng = StdRng::seed_from_u64(4);
    let mut net = build_sized(Arch::MnistCnn, &widths(&[4, 5], &[6]), OUTPUTS, 0.0, 5);
    kill(&mut net, "conv1", 1, false, &mut rng);
    kill(&mut net, "conv2", 3, true, &mut rng);
    kill(&mut net, "conv2", 0, false, &mut rng);
    kill(&mut net, "fc1", 5, true, &mut rng);
    let (mut pruned, report) = prune(&net, Arch::MnistCnn, DEFAULT_EPSILON).unwrap();
    assert_eq!(report.widths, widths(&[3, 3], &[5]));
    let names: Vec<_> = report.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["conv1", "conv2", "fc1"]);
    // conv2 loses conv1's channel 1 from its inputs; fc1 loses conv2's channels 0 and 3,
    // 4 x 4 = 16 columns each.
    assert_eq!(
        names_and_shapes(&pruned)
            .into_iter()
            .filter(|(n, _)| n.ends_with("weight"))
            .map(|(_, s)| s)
            .collect::<Vec<_>>(),
        [
            vec![3, 1, 4, 4],
            vec![3, 3, 4, 4],
            vec![5, 3 * 16],
            vec![OUTPUTS, 5]
        ]
    );
    // 3 x 25 x 25 x 16 + 3 x 9 x 9 x 48 + 48 x 5 + 5 x 3 multiply-accumulates.
    let macs = 3 * 25 * 25 * 16 + 3 * 9 * 9 * 48 + 48 * 5 + 5 * OUTPUTS;
    assert_eq!(report.flops_after, 2 * macs);
    assert_eq!(report.params_after, pruned.params.len());
    assert_same_function(&mut net, &mut pruned, 6);
}

#[test]
fn every_layer_keeps_a_unit() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = build_sized(Arch::Fcnn, &widths(&[3], &[2]), OUTPUTS, 0.0, 8);
    for u in 0..3 {
        kill(&mut net, "fc1", u, true, &mut rng);
    }
    // All below eps; unit 2's group has the largest norm.
    let w = net.params.spec("fc1.weight").unwrap().offset;
    net.params.values[w + 2 * 784] = -0.99e-3;
    let (pruned, report) = prune(&net, Arch::Fcnn, DEFAULT_EPSILON).unwrap();
    assert_eq!(report.layers[0].kept, vec![2]);
    assert_eq!(report.widths, widths(&[1], &[2]));
    assert_eq!(pruned.params.spec("fc2.weight").unwrap().shape, vec![2, 1]);
}

#[test]
fn nothing_to_prune_gives_the_same_network() {
    let net = build_sized(Arch::CifarCnn, &widths(&[2, 3], &[4, 2]), OUTPUTS, 0.0, 9);
    let (pruned, report) = prune(&net, Arch::CifarCnn, DEFAULT_EPSILON).unwrap();
    assert_eq!(pruned.params.specs, net.params.specs);
    assert_eq!(pruned.params.values, net.params.values);
    assert_eq!(report.flops_after, report.flops_before);
}

#[test]
fn a_pruned_network_saves_and_loads_at_its_own_widths() {
    let mut rng = StdRng::seed_from_u64(10);
    let mut net = build_sized(Arch::MnistCnn, &widths(&[4, 5], &[6]), OUTPUTS, 0.0, 11);
    kill(&mut net, "conv2", 2, false, &mut rng);
    kill(&mut net, "fc1", 0, false, &mut rng);
    let (mut pruned, _) = prune(&net, Arch::MnistCnn, DEFAULT_EPSILON).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pruned.safetensors");
    weights::save(&pruned.params, &path, None).unwrap();
    assert_eq!(
        HiddenWidths::from_file(Arch::MnistCnn, &path).unwrap(),
        widths(&[4, 4], &[5])
    );
    let mut loaded = load_network(Arch::MnistCnn, OUTPUTS, &path).unwrap();
    assert_eq!(loaded.params.specs, pruned.params.specs);
    assert_eq!(loaded.params.values, pruned.params.values);
    assert_same_function(&mut pruned, &mut loaded, 12);
    // A file of another architecture names the first tensor that does not fit.
    let Err(err) = load_network(Arch::CifarCnn, OUTPUTS, &path) else {
        panic!("a MNIST CNN file loaded as a CIFAR-10 CNN");
    };
    assert!(err.to_string().contains("conv1.weight"), "{err}");
}
