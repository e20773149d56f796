//! The group lasso (group L1/L2) penalty of the paper's student architecture search
//! (Experiment 3): sum over layers l of lambda_l * sum over l's groups of the group's L2 norm,
//! one group per hidden unit, made of the unit's incoming weights and its bias (see
//! [`UnitGroups`]), and beyond the paper optionally also of its outgoing weights, the next
//! layer's weights that read it ([`LassoLayer`]). Outgoing groups overlap incoming ones (a
//! conv2 weight belongs to its filter's group and to its input channel's); the penalty is the
//! plain sum over all groups. The paper has one lambda for every layer; a per-layer lambda_l
//! (`group_lasso_layers`) is beyond it. Driving a whole group to zero lets pruning
//! ([`super::prune`]) remove the unit. The gradient of a group g of layer l with norm
//! ||g|| > 0 is lambda_l g / ||g||; at ||g|| = 0 the subgradient 0 is used. Norms are
//! accumulated in f64.

use std::ops::Range;

use super::layer::UnitGroups;
use crate::{Error, Result};

/// One hidden layer's groups: each unit's incoming weights and bias (`units`) and, when
/// `next` (the units of the layer after it) is given, the unit's outgoing weights: of every
/// row of the next layer's weight, the block of inputs the unit feeds (one column of a Linear,
/// an input-channel slice of a Conv2d, h x w columns of a Linear after a flatten).
#[derive(Debug, Clone)]
pub struct LassoLayer {
    pub units: UnitGroups,
    pub next: Option<UnitGroups>,
}

impl LassoLayer {
    /// The groups of every hidden layer of a network whose layers with parameters have the
    /// units `layers`, input to output (the last, the output layer, is not penalised), with
    /// the outgoing weights in each group when `outgoing`. Fails when a next layer's inputs
    /// are not one equal block per unit of the layer before.
    pub fn of(layers: &[UnitGroups], outgoing: bool) -> Result<Vec<LassoLayer>> {
        layers
            .windows(2)
            .map(|pair| {
                let (units, next) = (&pair[0], &pair[1]);
                if outgoing && !next.fan_in.is_multiple_of(units.units()) {
                    return Err(Error::InvalidArgument(format!(
                        "group lasso: a layer of {} inputs per unit does not read its {} \
                         input units in equal blocks",
                        next.fan_in,
                        units.units()
                    )));
                }
                Ok(LassoLayer {
                    units: units.clone(),
                    next: outgoing.then(|| next.clone()),
                })
            })
            .collect()
    }

    /// The ranges of unit `u`'s outgoing weights in the flat buffer (none without `next`).
    pub fn outgoing(&self, u: usize) -> impl Iterator<Item = Range<usize>> + '_ {
        self.next.iter().flat_map(move |next| {
            let block = next.fan_in / self.units.units();
            (0..next.units()).map(move |row| {
                let start = next.weight.start + row * next.fan_in + u * block;
                start..start + block
            })
        })
    }
}

/// The sum of the squares of `values`, in f64.
fn squares(values: &[f32]) -> f64 {
    values.iter().map(|&w| w as f64 * w as f64).sum()
}

/// The L2 norm of unit `u`'s incoming group (incoming weights and bias) in `values`.
pub fn group_norm(values: &[f32], groups: &UnitGroups, u: usize) -> f64 {
    let bias = values[groups.unit_bias(u)] as f64;
    (squares(&values[groups.unit_weights(u)]) + bias * bias).sqrt()
}

/// The L2 norm of unit `u`'s group in `layer` (incoming weights, outgoing weights if any,
/// bias). Without outgoing weights it is [`group_norm`], bit for bit.
pub fn lasso_norm(values: &[f32], layer: &LassoLayer, u: usize) -> f64 {
    let incoming = squares(&values[layer.units.unit_weights(u)]);
    let outgoing: f64 = layer.outgoing(u).map(|r| squares(&values[r])).sum();
    let bias = values[layer.units.unit_bias(u)] as f64;
    (incoming + outgoing + bias * bias).sqrt()
}

/// sum over layers l of `lambdas[l]` * the sum of the L2 norms of `layers[l]`'s groups (one
/// lambda per layer; the sum in f64).
pub fn penalty(values: &[f32], layers: &[LassoLayer], lambdas: &[f32]) -> f64 {
    assert_eq!(
        layers.len(),
        lambdas.len(),
        "one lambda per layer of groups"
    );
    layers
        .iter()
        .zip(lambdas)
        .map(|(layer, &lambda)| {
            lambda as f64
                * (0..layer.units.units())
                    .map(|u| lasso_norm(values, layer, u))
                    .sum::<f64>()
        })
        .sum()
}

/// Adds the gradient of [`penalty`] to `grads`: lambda_l w / ||g|| for every weight and bias
/// w of a group g of layer l with ||g|| > 0, nothing at a group of norm 0 (the subgradient 0).
/// A weight in two groups (an incoming and an outgoing one) gets both terms.
pub fn add_gradient(values: &[f32], grads: &mut [f32], layers: &[LassoLayer], lambdas: &[f32]) {
    assert_eq!(
        layers.len(),
        lambdas.len(),
        "one lambda per layer of groups"
    );
    for (layer, &lambda) in layers.iter().zip(lambdas) {
        for u in 0..layer.units.units() {
            let norm = lasso_norm(values, layer, u);
            if norm == 0.0 || lambda == 0.0 {
                continue;
            }
            let scale = (lambda as f64 / norm) as f32;
            let ranges = std::iter::once(layer.units.unit_weights(u)).chain(layer.outgoing(u));
            for range in ranges {
                for (d, &w) in grads[range.clone()].iter_mut().zip(&values[range]) {
                    *d += scale * w;
                }
            }
            let b = layer.units.unit_bias(u);
            grads[b] += scale * values[b];
        }
    }
}

/// Test support: every value a random number in [-1, -0.1] U [0.1, 1], so that group norms
/// stay far from the kink of the L2 norm at 0 (the gradient checks need it).
#[cfg(test)]
pub(crate) fn fill_away_from_zero(values: &mut [f32], seed: u64) {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(seed);
    for v in values {
        let magnitude = rng.random_range(0.1f32..1.0);
        *v = if rng.random::<bool>() {
            magnitude
        } else {
            -magnitude
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, Network, ParamSet, Relu, Shape};

    /// 3 -> 2 (ReLU) -> 2 -> 1: two hidden layers' units are grouped, the output's are not.
    fn tiny() -> Network {
        let mut params = ParamSet::new();
        let fc1 = Linear::new(&mut params, "fc1", 3, 2);
        let fc2 = Linear::new(&mut params, "fc2", 2, 2);
        let fc3 = Linear::new(&mut params, "fc3", 2, 1);
        let mut net = Network::new(Shape::flat(3), params);
        net.push(fc1);
        net.push(Relu::new(Shape::flat(2)));
        net.push(fc2);
        net.push(Relu::new(Shape::flat(2)));
        net.push(fc3);
        net
    }

    fn layers(net: &Network, outgoing: bool) -> Vec<LassoLayer> {
        LassoLayer::of(&net.unit_groups(), outgoing).unwrap()
    }

    #[test]
    fn output_layer_is_not_grouped() {
        let net = tiny();
        for outgoing in [false, true] {
            let layers = layers(&net, outgoing);
            assert_eq!(layers.len(), 2);
            assert_eq!(layers[0].units.fan_in, 3);
            assert_eq!(layers[1].units.fan_in, 2);
            assert_eq!(layers.iter().map(|l| l.units.units()).sum::<usize>(), 4);
            assert_eq!(layers[1].next.is_some(), outgoing);
        }
    }

    #[test]
    fn value_matches_a_hand_computation() {
        let mut net = tiny();
        // fc1.weight [[3, 0, 0], [1, 2, 2]], fc1.bias [4, 0]: norms 5 and 3.
        // fc2.weight [[0, 0], [1, 1]], fc2.bias [0, 1]: norms 0 and sqrt(3).
        // fc3 (the output layer) is not penalised, whatever its weights.
        let values = [
            3.0, 0.0, 0.0, 1.0, 2.0, 2.0, 4.0, 0.0, // fc1
            0.0, 0.0, 1.0, 1.0, 0.0, 1.0, // fc2
            7.0, 7.0, 7.0, // fc3
        ];
        net.params.values.copy_from_slice(&values);
        let incoming = layers(&net, false);
        let lambda = 0.5;
        let expect = lambda as f64 * (5.0 + 3.0 + 0.0 + 3f64.sqrt());
        let got = penalty(&net.params.values, &incoming, &[lambda; 2]);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
        // Per-layer lambdas (0.5, 2): 0.5 (5 + 3) + 2 (0 + sqrt 3), by hand from the norms above.
        let expect = 0.5 * 8.0 + 2.0 * 3f64.sqrt();
        let got = penalty(&net.params.values, &incoming, &[0.5, 2.0]);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
        // With outgoing weights: fc1 unit 0 adds fc2's column 0 (0, 1): sqrt(25 + 1); unit 1
        // adds column 1 (0, 1): sqrt(9 + 1). fc2 unit 0 adds fc3's column 0 (7): sqrt(0 + 49);
        // unit 1 adds column 1 (7): sqrt(3 + 49). fc3's bias is in no group.
        let expect = 0.5 * (26f64.sqrt() + 10f64.sqrt()) + 2.0 * (7.0 + 52f64.sqrt());
        let got = penalty(&net.params.values, &layers(&net, true), &[0.5, 2.0]);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
    }

    /// Without outgoing weights a group's norm is the paper's incoming norm, bit for bit (so
    /// `incoming` runs reproduce those made before outgoing groups existed).
    #[test]
    fn incoming_norm_is_unchanged() {
        let mut net = tiny();
        fill_away_from_zero(&mut net.params.values, 11);
        for layer in layers(&net, false) {
            for u in 0..layer.units.units() {
                let a = lasso_norm(&net.params.values, &layer, u);
                let b = group_norm(&net.params.values, &layer.units, u);
                assert_eq!(a.to_bits(), b.to_bits());
            }
        }
    }

    #[test]
    fn zero_group_gets_the_zero_subgradient() {
        let mut net = tiny();
        net.params.values.fill(0.0);
        for outgoing in [false, true] {
            let mut grads = vec![0.0; net.params.len()];
            add_gradient(
                &net.params.values,
                &mut grads,
                &layers(&net, outgoing),
                &[1.0; 2],
            );
            assert!(grads.iter().all(|&g| g == 0.0));
        }
    }

    /// The gradient against central differences of the f64 penalty at random weights in
    /// [-1, -0.1] U [0.1, 1] (group norms >= 0.17, far from the kink at 0), with incoming and
    /// with in-out groups. The perturbed f32 weight is w + h rounded, so the difference
    /// divides by the step actually taken. The truncation error of central differences is
    /// about h^2 |d^3 ||g|| / dw^3| <= 3 h^2 / ||g||^2 ~ 1e-4 lambda at h = 1e-3 and
    /// ||g|| >= 0.17 per group (a weight in two groups: twice that), and the analytic gradient
    /// is rounded to f32 (relative 6e-8): the tolerance 1e-3 lambda + 1e-5 |fd| covers both
    /// with margin, while a wrong term (a missing bias, the output layer's bias penalised, a
    /// wrong norm, an outgoing weight missed or taken from the wrong column) is off by
    /// O(lambda / ||g||).
    #[test]
    fn gradient_matches_central_differences() {
        let mut net = tiny();
        fill_away_from_zero(&mut net.params.values, 7);
        for outgoing in [false, true] {
            let layers = layers(&net, outgoing);
            // A different lambda per layer, so that a layer given the other's lambda shows.
            let lambdas = [0.3f32, 0.7];
            let lambda = 0.7f32; // the largest, for the tolerance
            let mut grads = vec![0.0; net.params.len()];
            add_gradient(&net.params.values, &mut grads, &layers, &lambdas);
            let h = 1e-3f32;
            let mut values = net.params.values.clone();
            for j in 0..values.len() {
                let orig = values[j];
                values[j] = orig + h;
                let (up, h_up) = (
                    penalty(&values, &layers, &lambdas),
                    values[j] as f64 - orig as f64,
                );
                values[j] = orig - h;
                let (down, h_down) = (
                    penalty(&values, &layers, &lambdas),
                    orig as f64 - values[j] as f64,
                );
                values[j] = orig;
                let fd = (up - down) / (h_up + h_down);
                let g = grads[j] as f64;
                assert!(
                    (g - fd).abs() <= 1e-3 * lambda as f64 + 1e-5 * fd.abs(),
                    "outgoing {outgoing}, parameter {j}: gradient {g}, finite difference {fd}"
                );
            }
            // The output layer's bias (the last) is in no group; its 2 weights are fc2's
            // units' outgoing weights, penalised only with in-out groups.
            let n = grads.len();
            assert_eq!(grads[n - 1], 0.0);
            assert_eq!(grads[n - 3..n - 1].iter().all(|&g| g != 0.0), outgoing);
        }
    }
}
