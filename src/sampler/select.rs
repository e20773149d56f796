//! The sampler a run's `[sampler]` table asks for: its kind (`sgld`, `sghmc`, `psgld`, or
//! `cyclical`, which is SGLD on the cyclical schedule) on its step-size schedule.

use super::{Psgld, PsgldConfig, Sampler, Schedule, Sghmc, SghmcConfig, Sgld, SgldConfig};
use crate::config::{SamplerConfig, SamplerKind, StepSchedule};
use crate::{Error, Result};

/// The sampler `cfg` asks for, for a run of `iterations` steps (the cyclical schedule's T) on a
/// training set of `data_size` examples (N), for `len` parameters, with noise from `seed`.
pub fn from_config(
    cfg: &SamplerConfig,
    iterations: u64,
    data_size: usize,
    len: usize,
    seed: u64,
) -> Result<Box<dyn Sampler>> {
    if cfg.kind == SamplerKind::Cyclical && cfg.step_schedule() != StepSchedule::Cyclical {
        return Err(Error::config(
            "sampler.schedule",
            format!(
                "kind = \"cyclical\" runs the cyclical schedule, found \"{}\"",
                cfg.step_schedule()
            ),
        ));
    }
    let schedule = Schedule::from_config(cfg, iterations)?;
    let (step_size, prior_precision) = (cfg.step_size, cfg.prior_precision);
    Ok(match cfg.kind {
        SamplerKind::Sgld | SamplerKind::Cyclical => {
            let config = SgldConfig {
                step_size,
                prior_precision,
                data_size,
            };
            Box::new(Sgld::new(config, seed)?.with_schedule(schedule))
        }
        SamplerKind::Sghmc => {
            let config = SghmcConfig {
                step_size,
                prior_precision,
                data_size,
                friction: cfg.friction,
            };
            Box::new(Sghmc::new(config, len, seed)?.with_schedule(schedule))
        }
        SamplerKind::Psgld => {
            let config = PsgldConfig {
                step_size,
                prior_precision,
                data_size,
                rms_decay: cfg.rms_decay,
                rms_epsilon: cfg.rms_epsilon,
            };
            Box::new(Psgld::new(config, len, seed)?.with_schedule(schedule))
        }
    })
}
