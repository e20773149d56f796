//! PyTorch's default initialisation of `nn.Linear` and `nn.Conv2d`, so that a gped network
//! starts from the same distribution as the authors' torch modules: weights from
//! `kaiming_uniform_(w, a = sqrt(5))`, i.e. U(-b, b) with b = gain * sqrt(3 / fan_in) and
//! gain = sqrt(2 / (1 + a^2)) = sqrt(1/3), which gives b = 1 / sqrt(fan_in); biases from
//! U(-1/sqrt(fan_in), 1/sqrt(fan_in)). `fan_in` is `in_features` for a dense layer and
//! `in_channels * kh * kw` for a convolution.

use rand::Rng;

/// The `a` PyTorch passes to `kaiming_uniform_` in `reset_parameters` (the negative slope of a
/// leaky ReLU, a historical choice that makes the bound 1/sqrt(fan_in)).
pub const TORCH_DEFAULT_A: f64 = 2.236_067_977_499_79; // sqrt(5)

/// Bound `b` of `kaiming_uniform_(w, a)` with PyTorch's leaky-ReLU gain: sqrt(6 / ((1 + a^2) fan_in)).
pub fn kaiming_uniform_bound(fan_in: usize, a: f64) -> f32 {
    assert!(fan_in > 0, "kaiming_uniform_bound: fan_in must be positive");
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    (gain * (3.0 / fan_in as f64).sqrt()) as f32
}

/// Fills `values` with U(-bound, bound) draws.
pub fn fill_uniform<R: Rng + ?Sized>(values: &mut [f32], bound: f32, rng: &mut R) {
    if bound == 0.0 {
        values.fill(0.0);
        return;
    }
    for v in values {
        *v = rng.random_range(-bound..bound);
    }
}

/// PyTorch's default weight init for a layer with `fan_in` inputs per output: U(-b, b) with
/// b = 1/sqrt(fan_in).
pub fn torch_default_weight<R: Rng + ?Sized>(weight: &mut [f32], fan_in: usize, rng: &mut R) {
    fill_uniform(weight, kaiming_uniform_bound(fan_in, TORCH_DEFAULT_A), rng);
}

/// PyTorch's default bias init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
pub fn torch_default_bias<R: Rng + ?Sized>(bias: &mut [f32], fan_in: usize, rng: &mut R) {
    assert!(fan_in > 0, "torch_default_bias: fan_in must be positive");
    fill_uniform(bias, (1.0 / (fan_in as f64).sqrt()) as f32, rng);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn torch_gain_gives_inverse_sqrt_fan_in() {
        // gain = sqrt(2 / (1 + 5)) = sqrt(1/3); b = sqrt(1/3) * sqrt(3 / 784) = 1 / 28.
        assert!((kaiming_uniform_bound(784, TORCH_DEFAULT_A) - 1.0 / 28.0).abs() < 1e-7);
        // a = 0 is He's ReLU init: b = sqrt(6 / fan_in) = sqrt(6 / 24) = 0.5.
        assert!((kaiming_uniform_bound(24, 0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn weight_and_bias_draws_have_uniform_bounds_and_variance() {
        let mut rng = SmallRng::seed_from_u64(7);
        let n = 200_000;
        for fan_in in [3usize, 160, 784] {
            let b = 1.0 / (fan_in as f64).sqrt();
            let mut w = vec![0f32; n];
            torch_default_weight(&mut w, fan_in, &mut rng);
            let mut bias = vec![0f32; n];
            torch_default_bias(&mut bias, fan_in, &mut rng);
            for v in [&w, &bias] {
                let max = v.iter().fold(0f64, |m, &x| m.max((x as f64).abs()));
                assert!(max <= b, "a draw exceeds the bound {b}");
                // With 200k draws the largest |x| is within b * 1e-4 of b almost surely.
                assert!(
                    max > b * 0.999,
                    "draws do not reach the bound: {max} vs {b}"
                );
                let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n as f64;
                let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n as f64;
                // Var U(-b, b) = b^2 / 3 = 1 / (3 fan_in). The sample variance's relative
                // standard error is sqrt(4/5) / sqrt(n) = 0.2% at n = 200k; 2% is 10 sigma.
                let want = 1.0 / (3.0 * fan_in as f64);
                assert!(
                    (var / want - 1.0).abs() < 0.02,
                    "fan_in {fan_in}: var {var} vs {want}"
                );
                // The mean's standard error is b / sqrt(3 n); allow 6 of them.
                assert!(mean.abs() < 6.0 * b / (3.0 * n as f64).sqrt());
            }
        }
    }
}
