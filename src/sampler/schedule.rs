//! Step-size schedules eta_t = eta s(t) of the teacher's samplers (`sampler.schedule`), as a
//! factor s(t) of the base step size eta (`sampler.step_size`), with s(0) = 1:
//!
//! - constant: s(t) = 1, the paper's (Eq. 7 at a fixed eta);
//! - polynomial: eta_t = a (b + t)^-gamma (Welling & Teh 2011, whose conditions
//!   sum eta_t = infinity, sum eta_t^2 < infinity hold for gamma in (0.5, 1]), with
//!   a = eta b^gamma so that eta_0 = eta: s(t) = (b / (b + t))^gamma;
//! - cyclical: the cosine cycles of cSG-MCMC (Zhang, Li, Zhang, Chen & Wilson 2020, Eq. 1):
//!   the run's T iterations are M cycles of L = ceil(T / M) steps, and
//!   s(t) = (cos(pi r) + 1) / 2 with r = (t mod L) / L in [0, 1). Steps with r < beta (the
//!   `exploration` share) explore: the samplers drop their noise there (SGLD becomes SGD,
//!   SGHMC becomes SGD with momentum) and their samples are not used; the rest sample.
//!
//! The schedule is a pure function of the iteration t: a resumed run needs no state for it.

use crate::config::{SamplerConfig, StepSchedule};
use crate::{Error, Result};

/// The shape s(t) of the step size eta_t = eta s(t).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// s(t) = 1.
    Constant,
    /// s(t) = (b / (b + t))^gamma.
    Polynomial { b: f64, gamma: f64 },
    /// Cosine cycles of `cycle` steps; the first `exploration` share of each explores.
    Cyclical { cycle: u64, exploration: f64 },
}

impl Schedule {
    /// The polynomial decay a (b + t)^-gamma scaled to s(0) = 1; needs b > 0 and
    /// gamma in (0, 1].
    pub fn polynomial(b: f64, gamma: f64) -> Result<Self> {
        if !(b.is_finite() && b > 0.0) {
            return Err(Error::config(
                "sampler.decay_b",
                format!("must be finite and > 0, found {b:?}"),
            ));
        }
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::config(
                "sampler.decay_gamma",
                format!("must be in (0, 1], found {gamma:?}"),
            ));
        }
        Ok(Schedule::Polynomial { b, gamma })
    }

    /// `cycles` cosine cycles over `iterations` steps, each exploring for its first
    /// `exploration` share; needs 1 <= cycles <= iterations and a sampling step in every cycle.
    pub fn cyclical(iterations: u64, cycles: u64, exploration: f64) -> Result<Self> {
        if cycles == 0 || cycles > iterations {
            return Err(Error::config(
                "sampler.cycles",
                format!("must be in 1..={iterations} (schedule.iterations), found {cycles}"),
            ));
        }
        let cycle = iterations.div_ceil(cycles);
        let last = (cycle - 1) as f64 / cycle as f64;
        if !(0.0..1.0).contains(&exploration) || exploration > last {
            return Err(Error::config(
                "sampler.exploration",
                format!(
                    "must be in [0, {last:?}] for cycles of {cycle} steps (a sampling step in \
                     each), found {exploration:?}"
                ),
            ));
        }
        Ok(Schedule::Cyclical { cycle, exploration })
    }

    /// The schedule `cfg` asks for (`SamplerConfig::step_schedule`) over a run of
    /// `iterations` steps.
    pub fn from_config(cfg: &SamplerConfig, iterations: u64) -> Result<Self> {
        match cfg.step_schedule() {
            StepSchedule::Constant => Ok(Schedule::Constant),
            StepSchedule::Polynomial => Schedule::polynomial(cfg.decay_b, cfg.decay_gamma),
            StepSchedule::Cyclical => Schedule::cyclical(iterations, cfg.cycles, cfg.exploration),
        }
    }

    /// s(t), in (0, 1]; exactly 1 for the constant schedule (so eta_t = eta bit for bit).
    pub fn factor(&self, t: u64) -> f64 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Polynomial { b, gamma } => (b / (b + t as f64)).powf(gamma),
            Schedule::Cyclical { cycle, .. } => {
                let r = (t % cycle) as f64 / cycle as f64;
                0.5 * ((std::f64::consts::PI * r).cos() + 1.0)
            }
        }
    }

    /// eta_t = eta s(t).
    pub fn step_size(&self, eta: f64, t: u64) -> f64 {
        match self {
            Schedule::Constant => eta,
            _ => eta * self.factor(t),
        }
    }

    /// Whether step t explores: a cyclical schedule's first `exploration` share of each
    /// cycle, where the samplers drop their noise. Never for the other schedules.
    pub fn explores(&self, t: u64) -> bool {
        match *self {
            Schedule::Cyclical { cycle, exploration } => {
                ((t % cycle) as f64 / cycle as f64) < exploration
            }
            _ => false,
        }
    }

    /// Whether the sample after step t is one to use (distil, ensemble): every step's but
    /// an exploring one's. (Burn-in is the caller's.)
    pub fn collecting(&self, t: u64) -> bool {
        !self.explores(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_is_eta_bit_for_bit() {
        for eta in [4e-6, 2e-6, 0.1 + 0.2] {
            for t in [0, 1, 999_999] {
                assert_eq!(
                    Schedule::Constant.step_size(eta, t).to_bits(),
                    eta.to_bits()
                );
                assert!(Schedule::Constant.collecting(t));
            }
        }
    }

    #[test]
    fn polynomial_starts_at_eta_and_decays_as_t_to_the_minus_gamma() {
        // a (b + t)^-gamma with a = eta b^gamma: b = 100, gamma = 0.5, eta = 1e-3 gives
        // eta_0 = 1e-3, eta_300 = 1e-3 (100 / 400)^0.5 = 5e-4, eta_9900 = 1e-3 / 10 = 1e-4.
        let s = Schedule::polynomial(100.0, 0.5).unwrap();
        for (t, want) in [(0, 1e-3), (300, 5e-4), (9_900, 1e-4)] {
            let got = s.step_size(1e-3, t);
            assert!((got - want).abs() <= 1e-15, "t {t}: {got} vs {want}");
            assert!(s.collecting(t));
        }
        // gamma = 1: a / (b + t), halved at t = b.
        let s = Schedule::polynomial(1000.0, 1.0).unwrap();
        assert!((s.factor(1000) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn cyclical_is_zhang_et_als_cosine_with_its_phases() {
        // T = 100, M = 4: L = 25. r = (t mod 25) / 25; s = (cos(pi r) + 1) / 2:
        // t = 0 and 25: r = 0, s = 1; t = 5: r = 0.2, s = (cos(0.2 pi) + 1) / 2 = 0.904508...;
        // t = 20: r = 0.8, s = (cos(0.8 pi) + 1) / 2 = 0.0954915...; t = 24: r = 0.96.
        let s = Schedule::cyclical(100, 4, 0.8).unwrap();
        assert_eq!(
            s,
            Schedule::Cyclical {
                cycle: 25,
                exploration: 0.8
            }
        );
        for (t, want) in [
            (0, 1.0),
            (25, 1.0),
            (5, 0.904_508_497_187_473_7),
            (20, 0.095_491_502_812_526_27),
            (74, 0.5 * ((std::f64::consts::PI * 24.0 / 25.0).cos() + 1.0)),
        ] {
            assert!((s.factor(t) - want).abs() < 1e-15, "t {t}: {}", s.factor(t));
        }
        // Exploration: r < 0.8, i.e. t mod 25 in 0..20; sampling: 20..25.
        let sampling: Vec<u64> = (0..100).filter(|&t| s.collecting(t)).collect();
        let want: Vec<u64> = (0..4)
            .flat_map(|c| (20..25).map(move |k| 25 * c + k))
            .collect();
        assert_eq!(sampling, want);
        // T = 10, M = 3: L = ceil(10 / 3) = 4; the last cycle, cut to 2 steps, only explores.
        let s = Schedule::cyclical(10, 3, 0.5).unwrap();
        let sampling: Vec<u64> = (0..10).filter(|&t| s.collecting(t)).collect();
        assert_eq!(sampling, [2, 3, 6, 7]);
    }

    #[test]
    fn bad_schedules_name_their_key() {
        let key = |r: Result<Schedule>| match r {
            Err(Error::Config { key, .. }) => key,
            other => panic!("expected a config error, got {other:?}"),
        };
        assert_eq!(key(Schedule::polynomial(0.0, 0.5)), "sampler.decay_b");
        assert_eq!(key(Schedule::polynomial(1.0, 0.0)), "sampler.decay_gamma");
        assert_eq!(
            key(Schedule::polynomial(1.0, f64::NAN)),
            "sampler.decay_gamma"
        );
        assert_eq!(key(Schedule::cyclical(10, 0, 0.5)), "sampler.cycles");
        assert_eq!(key(Schedule::cyclical(10, 11, 0.5)), "sampler.cycles");
        assert_eq!(key(Schedule::cyclical(10, 2, 1.0)), "sampler.exploration");
        // Cycles of 5 steps: the last at r = 0.8, so 0.8 is the most exploration allowed.
        assert!(Schedule::cyclical(10, 2, 0.8).is_ok());
        assert_eq!(key(Schedule::cyclical(10, 2, 0.81)), "sampler.exploration");
    }
}
