//! The group lasso's in-out groups (`nn::group_lasso::LassoLayer`) on a built architecture:
//! the flat-buffer blocks a unit's group takes from the next layer are the slices PyTorch's
//! tensor layouts give by index (`nn` cannot build the paper's networks, so this lives here).

use super::{ModelSpec, build};
use crate::config::Arch;
use crate::nn::group_lasso::{LassoLayer, fill_away_from_zero, penalty};

/// The MNIST CNN's in-out groups against their definition by tensor index (PyTorch
/// layouts: conv `[out, in, kh, kw]`, Linear `[out, in]`, the flatten of `[c, h, w]`
/// channel-major): conv1 channel c with conv2.weight[:, c]; conv2 channel c with the
/// fc1 columns c*16 .. c*16 + 16 (its 4 x 4 map); fc1 unit j with fc2's column j.
#[test]
fn cnn_outgoing_groups_follow_the_tensor_layouts() {
    let spec = ModelSpec {
        arch: Arch::MnistCnn,
        width: [0.3, 0.1], // conv 3 and 6 channels, fc 8 units
        outputs: 10,
        dropout: 0.0,
    };
    let mut net = build(&spec, 0);
    fill_away_from_zero(&mut net.params.values, 3);
    let p = &net.params;
    let t = |name: &str| (p.tensor(name).unwrap(), p.spec(name).unwrap().shape.clone());
    let sq = |v: &[f32]| v.iter().map(|&w| w as f64 * w as f64).sum::<f64>();
    let mut expect = [0.0f64; 3];
    // One layer's norms: row u of `weight` and `bias[u]`, plus of every row of the next
    // layer's weight `[rows, cols]` the `block` inputs u feeds, from column u * block.
    let mut add = |l: usize, layer: &str, next: &str, block: usize| {
        let (w, shape) = t(&format!("{layer}.weight"));
        let (b, _) = t(&format!("{layer}.bias"));
        let (nw, nshape) = t(&format!("{next}.weight"));
        let row = w.len() / shape[0];
        let cols = nw.len() / nshape[0];
        for u in 0..shape[0] {
            let mut s = sq(&w[u * row..(u + 1) * row]) + (b[u] as f64).powi(2);
            for r in 0..nshape[0] {
                s += sq(&nw[r * cols + u * block..r * cols + (u + 1) * block]);
            }
            expect[l] += s.sqrt();
        }
    };
    add(0, "conv1", "conv2", 16); // conv2.weight[r, u, :, :]: 4 x 4 per input channel
    add(1, "conv2", "fc1", 16); // fc1 columns of channel u's 4 x 4 map
    add(2, "fc1", "fc2", 1);
    let layers = LassoLayer::of(&net.unit_groups(), true).unwrap();
    assert_eq!(layers.len(), 3);
    for (l, layer) in layers.iter().enumerate() {
        let mut lambdas = [0.0f32; 3];
        lambdas[l] = 1.0;
        let got = penalty(&net.params.values, std::slice::from_ref(layer), &[1.0]);
        let whole = penalty(&net.params.values, &layers, &lambdas);
        assert!(
            (got - expect[l]).abs() < 1e-9 * expect[l],
            "layer {l}: {got} vs {}",
            expect[l]
        );
        assert_eq!(got, whole);
    }
}

/// On every architecture the in-out groups can be built, and the outgoing blocks of a layer's
/// units cover the next layer's weight tensor exactly once (each weight that reads a unit
/// belongs to that unit's group, and to no other unit of the layer).
#[test]
fn outgoing_blocks_partition_the_next_weight_on_every_arch() {
    for arch in [Arch::Fcnn, Arch::MnistCnn, Arch::CifarCnn, Arch::PlaneMlp] {
        let spec = ModelSpec {
            arch,
            width: [0.5, 0.25],
            outputs: 10,
            dropout: 0.0,
        };
        let net = build(&spec, 0);
        let groups = net.unit_groups();
        let layers = LassoLayer::of(&groups, true).unwrap();
        assert_eq!(layers.len(), groups.len() - 1, "{arch:?}");
        for (layer, next) in layers.iter().zip(&groups[1..]) {
            let mut hits = vec![0u32; net.params.len()];
            for u in 0..layer.units.units() {
                for range in layer.outgoing(u) {
                    for h in &mut hits[range] {
                        *h += 1;
                    }
                }
            }
            for (i, &h) in hits.iter().enumerate() {
                let expect = u32::from(next.weight.contains(&i));
                assert_eq!(h, expect, "{arch:?}: parameter {i}");
            }
        }
    }
}
