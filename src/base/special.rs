//! The special functions of the Dirichlet distribution, in f64: ln Gamma(x) by the Lanczos
//! approximation (g = 7, 9 coefficients; Godfrey's, as given in Press et al., Numerical
//! Recipes, 3rd ed., Sec. 6.1, and Wikipedia's "Lanczos approximation"; relative error about
//! 1e-15) and the digamma function psi(x) = d ln Gamma / dx by the recurrence
//! psi(x) = psi(x + 1) - 1/x up to x >= 10 and the asymptotic series
//! psi(x) ~ ln x - 1/(2x) - sum_n B_2n / (2n x^2n) (Abramowitz & Stegun 6.3.18; the first
//! omitted term is below 2e-14 at x = 10). Both are defined for x > 0 and give NaN elsewhere.

/// Godfrey's Lanczos coefficients for g = 7.
const LANCZOS: [f64; 9] = [
    0.999_999_999_999_809_9,
    676.520_368_121_885_1,
    -1_259.139_216_722_402_8,
    771.323_428_777_653_1,
    -176.615_029_162_140_6,
    12.507_343_278_686_905,
    -0.138_571_095_265_720_12,
    9.984_369_578_019_572e-6,
    1.505_632_735_149_311_6e-7,
];
const LANCZOS_G: f64 = 7.0;

/// ln Gamma(x) for x > 0 (NaN for x <= 0 or NaN, +inf for +inf).
pub fn ln_gamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    if x < 0.5 {
        // Gamma(x) = Gamma(x + 1) / x: the approximation is for x >= 1/2.
        return ln_gamma(x + 1.0) - x.ln();
    }
    let z = x - 1.0;
    let series = LANCZOS[1..]
        .iter()
        .enumerate()
        .fold(LANCZOS[0], |acc, (i, &c)| acc + c / (z + i as f64 + 1.0));
    let t = z + LANCZOS_G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (z + 0.5) * t.ln() - t + series.ln()
}

/// The digamma function psi(x) = Gamma'(x) / Gamma(x) for x > 0 (NaN for x <= 0 or NaN,
/// +inf for +inf).
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    let (mut x, mut shift) = (x, 0.0);
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    // B_2 / 2, B_4 / 4, ..., B_12 / 12 (Bernoulli numbers 1/6, -1/30, 1/42, -1/30, 5/66,
    // -691/2730), the coefficients of x^-2, x^-4, ... in the series.
    const SERIES: [f64; 6] = [
        1.0 / 12.0,
        -1.0 / 120.0,
        1.0 / 252.0,
        -1.0 / 240.0,
        1.0 / 132.0,
        -691.0 / 32_760.0,
    ];
    let inv2 = 1.0 / (x * x);
    let tail = SERIES.iter().rev().fold(0.0, |acc, &c| acc * inv2 + c) * inv2;
    shift + x.ln() - 0.5 / x - tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Euler-Mascheroni constant gamma = -psi(1) (to 16 digits, A&S 6.1.3).
    const EULER: f64 = 0.577_215_664_901_532_9;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    /// Known values: Gamma(1/2) = sqrt(pi); Gamma(1) = Gamma(2) = 1; Gamma(10) = 9! = 362880;
    /// Gamma(100) = 99!, whose ln is 359.13420536957540 (A&S Table 6.4 style, computed as
    /// sum_{k<=99} ln k here); for small x, ln Gamma(x) = -ln x - gamma x + O(x^2)
    /// (A&S 6.1.33).
    #[test]
    fn ln_gamma_of_known_values() {
        let pi = std::f64::consts::PI;
        assert!(close(ln_gamma(0.5), 0.5 * pi.ln(), 1e-14));
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
        assert!(close(ln_gamma(10.0), 362_880f64.ln(), 1e-14));
        let ln_99_factorial: f64 = (2..=99).map(|k| (k as f64).ln()).sum();
        assert!(close(ln_gamma(100.0), ln_99_factorial, 1e-13));
        assert!(close(ln_gamma(100.0), 359.134_205_369_575_4, 1e-13));
        let x = 1e-9;
        assert!(close(ln_gamma(x), -x.ln() - EULER * x, 1e-14));
        // Gamma(3/2) = sqrt(pi) / 2; Gamma(x + 1) = x Gamma(x) across the x = 1/2 switch.
        assert!(close(ln_gamma(1.5), 0.5 * pi.ln() - 2f64.ln(), 1e-14));
        for x in [0.1, 0.3, 0.49, 0.5, 0.7, 3.3, 17.2] {
            assert!(
                close(ln_gamma(x + 1.0), ln_gamma(x) + f64::ln(x), 1e-13),
                "{x}"
            );
        }
    }

    /// Known values: psi(1) = -gamma; psi(1/2) = -gamma - 2 ln 2; psi(n) = H_{n-1} - gamma
    /// (A&S 6.3.2-6.3.3); psi(x) ~ ln x - 1/(2x) - 1/(12 x^2) for large x; psi(x) ~ -1/x - gamma
    /// for small x (A&S 6.3.5 with psi(1 + x) = -gamma + O(x)).
    #[test]
    fn digamma_of_known_values() {
        assert!(close(digamma(1.0), -EULER, 1e-14));
        assert!(close(digamma(0.5), -EULER - 2.0 * 2f64.ln(), 1e-14));
        for n in [2usize, 5, 10, 30] {
            let harmonic: f64 = (1..n).map(|k| 1.0 / k as f64).sum();
            assert!(close(digamma(n as f64), harmonic - EULER, 1e-14), "{n}");
        }
        let x = 1e6;
        assert!(close(
            digamma(x),
            x.ln() - 0.5 / x - 1.0 / (12.0 * x * x),
            1e-15
        ));
        let x = 1e-8;
        assert!(close(digamma(x), -1.0 / x - EULER, 1e-14));
    }

    /// psi is the derivative of ln Gamma: central differences of ln_gamma, step h = 1e-5 x
    /// (truncation error ~h^2 psi''/6, rounding ~1e-16 |ln Gamma| / h).
    #[test]
    fn digamma_is_the_derivative_of_ln_gamma() {
        for x in [0.05, 0.4, 0.9, 1.7, 4.2, 9.99, 10.01, 55.0, 1234.5] {
            let h = 1e-5 * x;
            let fd = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(close(digamma(x), fd, 1e-7), "{x}: {} vs {fd}", digamma(x));
        }
    }

    #[test]
    fn outside_the_domain_is_nan() {
        for x in [0.0, -1.0, -0.5, f64::NAN] {
            assert!(ln_gamma(x).is_nan() && digamma(x).is_nan(), "{x}");
        }
        assert_eq!(ln_gamma(f64::INFINITY), f64::INFINITY);
    }
}
