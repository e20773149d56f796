//! The entropy H[p] = -sum_y p_y ln p_y of a predictive distribution: the expectation g of the
//! expected-entropy target (aleatoric uncertainty, E_theta H[p(.|x, theta)]) and, of the
//! ensemble's mean, the total uncertainty of the decomposition.

use crate::nn::loss::xlnx;

/// Entropy -sum_y p_y ln p_y of one probability vector, in f64, with 0 ln 0 = 0.
pub fn entropy(p: &[f32]) -> f64 {
    -p.iter().map(|&p| xlnx(p as f64)).sum::<f64>()
}

/// Entropy of each row of `probs` `[batch, k]` into `out` `[batch]`, with 0 ln 0 = 0.
///
/// # Panics
/// If `probs.len()` is not `out.len() * k`.
pub fn entropy_rows(probs: &[f32], k: usize, out: &mut [f32]) {
    assert_eq!(
        probs.len(),
        out.len() * k,
        "probs must be [batch, k] with batch = out.len()"
    );
    for (p, h) in probs.chunks_exact(k).zip(out.iter_mut()) {
        *h = entropy(p) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_distributions() {
        // Uniform over 4: ln 4. A point mass: 0 (0 log 0 = 0). [1/2, 1/4, 1/4]: 1.5 ln 2.
        assert!((entropy(&[0.25; 4]) - 4f64.ln()).abs() < 1e-7);
        assert_eq!(entropy(&[1.0, 0.0, 0.0]), 0.0);
        assert!((entropy(&[0.5, 0.25, 0.25]) - 1.5 * 2f64.ln()).abs() < 1e-7);
    }

    #[test]
    fn entropy_rows_of_known_distributions() {
        // Uniform over 4 -> ln 4; [1/2, 1/2, 0, 0] -> ln 2 (0 ln 0 = 0); one-hot -> 0.
        let probs = [
            0.25, 0.25, 0.25, 0.25, 0.5, 0.5, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0,
        ];
        let mut h = [9.0f32; 3];
        entropy_rows(&probs, 4, &mut h);
        let close = |a: f32, b: f64| (a as f64 - b).abs() < 1e-6;
        assert!(
            close(h[0], 4f64.ln()) && close(h[1], 2f64.ln()) && h[2] == 0.0,
            "{h:?}"
        );
    }
}
