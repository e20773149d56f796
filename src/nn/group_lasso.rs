//! The group lasso (group L1/L2) penalty of the paper's student architecture search
//! (Experiment 3): sum over layers l of lambda_l * sum over l's groups of the group's L2 norm,
//! one group per unit, made of the unit's incoming weights and its bias (see [`UnitGroups`]).
//! The paper has one lambda for every layer; a per-layer lambda_l (`group_lasso_layers`) is
//! beyond it. Driving a whole group to zero lets pruning ([`super::prune`]) remove the unit.
//! The gradient of a group g of layer l with norm ||g|| > 0 is lambda_l g / ||g||; at
//! ||g|| = 0 the subgradient 0 is used. Norms are accumulated in f64.

use super::layer::UnitGroups;

/// The L2 norm of unit `u`'s group (incoming weights and bias) in `values`.
pub fn group_norm(values: &[f32], groups: &UnitGroups, u: usize) -> f64 {
    let bias = values[groups.unit_bias(u)] as f64;
    let squares: f64 = values[groups.unit_weights(u)]
        .iter()
        .map(|&w| w as f64 * w as f64)
        .sum();
    (squares + bias * bias).sqrt()
}

/// sum over layers l of `lambdas[l]` * the sum of the L2 norms of `groups[l]`'s units (one
/// lambda per layer of groups; the sum in f64).
pub fn penalty(values: &[f32], groups: &[UnitGroups], lambdas: &[f32]) -> f64 {
    assert_eq!(
        groups.len(),
        lambdas.len(),
        "one lambda per layer of groups"
    );
    groups
        .iter()
        .zip(lambdas)
        .map(|(g, &lambda)| {
            lambda as f64
                * (0..g.units())
                    .map(|u| group_norm(values, g, u))
                    .sum::<f64>()
        })
        .sum()
}

/// Adds the gradient of [`penalty`] to `grads`: lambda_l w / ||g|| for every weight and bias
/// w of a group g of layer l with ||g|| > 0, nothing at a group of norm 0 (the subgradient 0).
pub fn add_gradient(values: &[f32], grads: &mut [f32], groups: &[UnitGroups], lambdas: &[f32]) {
    assert_eq!(
        groups.len(),
        lambdas.len(),
        "one lambda per layer of groups"
    );
    for (g, &lambda) in groups.iter().zip(lambdas) {
        for u in 0..g.units() {
            let norm = group_norm(values, g, u);
            if norm == 0.0 || lambda == 0.0 {
                continue;
            }
            let scale = (lambda as f64 / norm) as f32;
            let weights = g.unit_weights(u);
            for (d, &w) in grads[weights.clone()].iter_mut().zip(&values[weights]) {
                *d += scale * w;
            }
            let b = g.unit_bias(u);
            grads[b] += scale * values[b];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::{Linear, Network, ParamSet, Relu, Shape};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

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

    #[test]
    fn output_layer_is_not_grouped() {
        let net = tiny();
        let groups = net.hidden_unit_groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].fan_in, 3);
        assert_eq!(groups[1].fan_in, 2);
        assert_eq!(groups.iter().map(UnitGroups::units).sum::<usize>(), 4);
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
        let lambda = 0.5;
        let expect = lambda as f64 * (5.0 + 3.0 + 0.0 + 3f64.sqrt());
        let got = penalty(&net.params.values, &net.hidden_unit_groups(), &[lambda; 2]);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
        // Per-layer lambdas (0.5, 2): 0.5 (5 + 3) + 2 (0 + sqrt 3), by hand from the norms above.
        let expect = 0.5 * 8.0 + 2.0 * 3f64.sqrt();
        let got = penalty(&net.params.values, &net.hidden_unit_groups(), &[0.5, 2.0]);
        assert!((got - expect).abs() < 1e-12, "{got} vs {expect}");
    }

    #[test]
    fn zero_group_gets_the_zero_subgradient() {
        let mut net = tiny();
        net.params.values.fill(0.0);
        let mut grads = vec![0.0; net.params.len()];
        add_gradient(
            &net.params.values,
            &mut grads,
            &net.hidden_unit_groups(),
            &[1.0; 2],
        );
        assert!(grads.iter().all(|&g| g == 0.0));
    }

    /// The gradient against central differences of the f64 penalty at random weights in
    /// [-1, -0.1] U [0.1, 1] (group norms >= 0.17, far from the kink at 0). The perturbed f32
    /// weight is w + h rounded, so the difference divides by the step actually taken. The
    /// truncation error of central differences is about h^2 |d^3 ||g|| / dw^3| <= 3 h^2 / ||g||^2
    /// ~ 1e-4 lambda at h = 1e-3 and ||g|| >= 0.17, and the analytic gradient is rounded to f32
    /// (relative 6e-8): the tolerance 1e-3 lambda + 1e-5 |fd| covers both with margin, while a
    /// wrong term (a missing bias, the output layer penalised, a wrong norm) is off by O(lambda).
    #[test]
    fn gradient_matches_central_differences() {
        let mut net = tiny();
        let mut rng = StdRng::seed_from_u64(7);
        for v in &mut net.params.values {
            let magnitude = rng.random_range(0.1f32..1.0);
            *v = if rng.random::<bool>() {
                magnitude
            } else {
                -magnitude
            };
        }
        let groups = net.hidden_unit_groups();
        // A different lambda per layer, so that a layer given the other's lambda shows.
        let lambdas = [0.3f32, 0.7];
        let lambda = 0.7f32; // the largest, for the tolerance
        let mut grads = vec![0.0; net.params.len()];
        add_gradient(&net.params.values, &mut grads, &groups, &lambdas);
        let h = 1e-3f32;
        let mut values = net.params.values.clone();
        for j in 0..values.len() {
            let orig = values[j];
            values[j] = orig + h;
            let (up, h_up) = (
                penalty(&values, &groups, &lambdas),
                values[j] as f64 - orig as f64,
            );
            values[j] = orig - h;
            let (down, h_down) = (
                penalty(&values, &groups, &lambdas),
                orig as f64 - values[j] as f64,
            );
            values[j] = orig;
            let fd = (up - down) / (h_up + h_down);
            let g = grads[j] as f64;
            assert!(
                (g - fd).abs() <= 1e-3 * lambda as f64 + 1e-5 * fd.abs(),
                "parameter {j}: gradient {g}, finite difference {fd}"
            );
        }
        // The output layer's parameters (the last 3) get nothing.
        assert!(grads[grads.len() - 3..].iter().all(|&g| g == 0.0));
    }
}
