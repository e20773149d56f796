//! The distillation pool D' of Algorithm 1: all training inputs (occluded like the teacher's
//! data), from which each student step draws a minibatch S' of M' indices uniformly WITH
//! replacement. As in the authors' released code, each drawn input gets fresh Gaussian noise
//! (std 0.001 in the paper), optionally clamped to [0, 1] (their CNN runs). The drawn indices
//! are returned too: the U_o estimator (Eq. 10) keeps one running mean per pool index.
//!
//! Beyond the paper, a fraction of each batch can be *mixup* inputs, lambda x_i + (1-lambda) x_j
//! of two pool inputs with lambda ~ U(0, 1): inputs between the training images, where the
//! teacher's posterior is uncertain, so that the students also learn what the teacher says
//! off the data (their OOD uncertainty). A mixed input has no pool index ([`NO_SLOT`]): U_o
//! keeps no memory for it and uses the current sample's value.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::dataset::Dataset;
use crate::base::gaussian;
use crate::{Error, Result};

/// Gaussian noise added to every distillation input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct InputNoise {
    /// Standard deviation of the noise; 0 turns it off. Default 0.001 (the released code).
    pub std: f32,
    /// Whether noisy inputs are clamped to [0, 1]. Default false (the released code clamps
    /// for the CNNs only).
    pub clamp: bool,
}

impl Default for InputNoise {
    fn default() -> Self {
        InputNoise {
            std: 0.001,
            clamp: false,
        }
    }
}

/// The index reported for a mixup input: it is no pool input, and has no U_o slot.
pub const NO_SLOT: usize = usize::MAX;

/// The distillation pool D' over a dataset's images (its labels are not used).
#[derive(Debug, Clone)]
pub struct DistillPool<'a> {
    inputs: &'a Dataset,
    noise: InputNoise,
    /// Fraction of each batch made of mixup inputs, in [0, 1].
    mixup: f32,
}

impl<'a> DistillPool<'a> {
    /// A pool over all images of `inputs` with input noise `noise`.
    pub fn new(inputs: &'a Dataset, noise: InputNoise) -> Result<Self> {
        if inputs.is_empty() {
            return Err(Error::InvalidArgument(
                "distillation pool over an empty dataset".into(),
            ));
        }
        if !(noise.std.is_finite() && noise.std >= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "distillation input noise std: expected a finite value >= 0, found {}",
                noise.std
            )));
        }
        Ok(DistillPool {
            inputs,
            noise,
            mixup: 0.0,
        })
    }

    /// The same pool with a fraction `mixup` in [0, 1] of each batch made of mixup inputs.
    pub fn with_mixup(mut self, mixup: f32) -> Result<Self> {
        if !(0.0..=1.0).contains(&mixup) {
            return Err(Error::InvalidArgument(format!(
                "distillation mixup fraction: expected a value in [0, 1], found {mixup}"
            )));
        }
        self.mixup = mixup;
        Ok(self)
    }

    /// Size N' of the pool.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Always false: a pool is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `[channels, height, width]` of one input.
    pub fn input_shape(&self) -> [usize; 3] {
        self.inputs.image_shape()
    }

    /// Draws M' = `indices_out.len()` pool indices uniformly with replacement into
    /// `indices_out` and writes the noisy inputs, `[M', channels, height, width]`, into
    /// `inputs_out`. The last round(mixup M') rows are then replaced by mixup inputs (index
    /// [`NO_SLOT`]). Allocates nothing.
    pub fn sample_batch(
        &mut self,
        rng: &mut impl Rng,
        indices_out: &mut [usize],
        inputs_out: &mut [f32],
    ) -> Result<()> {
        for index in indices_out.iter_mut() {
            *index = rng.random_range(0..self.inputs.len());
        }
        self.inputs.gather_images(indices_out, inputs_out)?;
        let mixed = (self.mixup * indices_out.len() as f32).round() as usize;
        let len = self.inputs.image_len();
        let first = indices_out.len() - mixed;
        for (r, index) in indices_out.iter_mut().enumerate().skip(first) {
            let other = self.inputs.image(rng.random_range(0..self.inputs.len()));
            let lambda: f32 = rng.random();
            for (x, &y) in inputs_out[r * len..(r + 1) * len].iter_mut().zip(other) {
                *x = lambda * *x + (1.0 - lambda) * y;
            }
            *index = NO_SLOT;
        }
        if self.noise.std > 0.0 {
            add_gaussian_noise(rng, self.noise.std, inputs_out);
        }
        if self.noise.clamp {
            for x in inputs_out.iter_mut() {
                *x = x.clamp(0.0, 1.0);
            }
        }
        Ok(())
    }
}

/// Adds independent N(0, std^2) noise to every value. The normals come from the engine's
/// vectorised counter-based generator under a key drawn from `rng` (one draw per batch), so a
/// batch of 78,400 values costs tens of microseconds instead of milliseconds of scalar
/// Box-Muller in f64.
fn add_gaussian_noise(rng: &mut impl Rng, std: f32, values: &mut [f32]) {
    let key: u64 = rng.random();
    let mut normals = [0.0f32; 256];
    for (i, chunk) in values.chunks_mut(normals.len()).enumerate() {
        let z = &mut normals[..chunk.len()];
        gaussian::fill_at(key, (i * 256) as u64, z);
        for (x, z) in chunk.iter_mut().zip(z.iter()) {
            *x += std * z;
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// 4 images of 1x1x3 whose values identify the image: image i is [i/10; 3].
    fn pool_data() -> Dataset {
        let images = (0..4).flat_map(|i| [i as f32 / 10.0; 3]).collect();
        Dataset::new(images, vec![0; 4], [1, 1, 3], 10).unwrap()
    }

    fn off() -> InputNoise {
        InputNoise {
            std: 0.0,
            clamp: false,
        }
    }

    #[test]
    fn batch_inputs_are_the_images_at_the_drawn_indices() {
        let data = pool_data();
        let mut pool = DistillPool::new(&data, off()).unwrap();
        let (mut idx, mut x) = (vec![0; 6], vec![0.0; 18]);
        pool.sample_batch(&mut StdRng::seed_from_u64(1), &mut idx, &mut x)
            .unwrap();
        for (k, &i) in idx.iter().enumerate() {
            assert_eq!(&x[3 * k..3 * k + 3], data.image(i));
        }
    }

    #[test]
    fn indices_are_uniform_with_replacement() {
        let data = pool_data();
        let mut pool = DistillPool::new(&data, off()).unwrap();
        let (mut idx, mut x) = (vec![0; 4000], vec![0.0; 12_000]);
        pool.sample_batch(&mut StdRng::seed_from_u64(2), &mut idx, &mut x)
            .unwrap();
        let mut counts = [0usize; 4];
        idx.iter().for_each(|&i| counts[i] += 1);
        // Binomial(4000, 1/4): mean 1000, sd about 27; repeats are what "with replacement" means.
        assert!(
            counts.iter().all(|&c| (880..1120).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn same_seed_same_batch() {
        let data = pool_data();
        let noise = InputNoise {
            std: 0.01,
            clamp: false,
        };
        let draw = |seed| {
            let mut pool = DistillPool::new(&data, noise).unwrap();
            let (mut idx, mut x) = (vec![0; 5], vec![0.0; 15]);
            pool.sample_batch(&mut StdRng::seed_from_u64(seed), &mut idx, &mut x)
                .unwrap();
            (idx, x)
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }

    #[test]
    fn noise_has_the_configured_mean_and_std() {
        // Analytic reference: the noise is N(0, std^2); with 60000 values the sample mean has
        // sd std/245 and the sample std is within about 1% of std.
        let data = pool_data();
        let std = 0.05;
        let mut pool = DistillPool::new(&data, InputNoise { std, clamp: false }).unwrap();
        let (mut idx, mut x) = (vec![0; 20_000], vec![0.0; 60_000]);
        pool.sample_batch(&mut StdRng::seed_from_u64(5), &mut idx, &mut x)
            .unwrap();
        let noise: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(k, &v)| f64::from(v) - f64::from(data.image(idx[k / 3])[k % 3]))
            .collect();
        let mean = noise.iter().sum::<f64>() / noise.len() as f64;
        let var = noise.iter().map(|e| (e - mean).powi(2)).sum::<f64>() / noise.len() as f64;
        assert!(mean.abs() < 5.0 * f64::from(std) / 245.0, "mean {mean}");
        assert!(
            (var.sqrt() / f64::from(std) - 1.0).abs() < 0.03,
            "std {}",
            var.sqrt()
        );
    }

    #[test]
    fn clamping_keeps_inputs_in_the_unit_interval() {
        let data = pool_data();
        let mut pool = DistillPool::new(
            &data,
            InputNoise {
                std: 1.0,
                clamp: true,
            },
        )
        .unwrap();
        let (mut idx, mut x) = (vec![0; 100], vec![0.0; 300]);
        pool.sample_batch(&mut StdRng::seed_from_u64(6), &mut idx, &mut x)
            .unwrap();
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(
            x.contains(&0.0) && x.contains(&1.0),
            "noise of std 1 must hit both bounds"
        );
    }

    #[test]
    fn mixup_rows_are_convex_combinations_without_a_slot() {
        // Image i is [i/10; 3], so a mix of images i and j is [l i/10 + (1-l) j/10; 3]: three
        // equal values in [0, 0.3]. With mixup 0.5 of 10 rows, rows 5..10 are mixed.
        let data = pool_data();
        let mut pool = DistillPool::new(&data, off())
            .unwrap()
            .with_mixup(0.5)
            .unwrap();
        let (mut idx, mut x) = (vec![0; 10], vec![0.0; 30]);
        pool.sample_batch(&mut StdRng::seed_from_u64(7), &mut idx, &mut x)
            .unwrap();
        for (r, &i) in idx.iter().enumerate() {
            let row = &x[3 * r..3 * r + 3];
            if r < 5 {
                assert_eq!(row, data.image(i));
            } else {
                assert_eq!(i, NO_SLOT);
                assert!(row[0] == row[1] && row[1] == row[2], "{row:?}");
                assert!((0.0..=0.3).contains(&row[0]), "{row:?}");
            }
        }
        // Mixed values fall between the images, not only on them.
        let off_grid = (5..10).filter(|r| (x[3 * r] * 10.0).fract().abs() > 1e-3);
        assert!(off_grid.count() > 0, "{x:?}");
        assert!(
            DistillPool::new(&data, off())
                .unwrap()
                .with_mixup(1.5)
                .is_err()
        );
    }

    #[test]
    fn wrong_buffer_size_and_bad_noise_are_rejected() {
        let data = pool_data();
        let mut pool = DistillPool::new(&data, off()).unwrap();
        let (mut idx, mut x) = (vec![0; 2], vec![0.0; 5]);
        assert!(
            pool.sample_batch(&mut StdRng::seed_from_u64(0), &mut idx, &mut x)
                .is_err()
        );
        let bad = InputNoise {
            std: f32::NAN,
            clamp: false,
        };
        assert!(DistillPool::new(&data, bad).is_err());
    }
}
