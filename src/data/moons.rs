//! The two-moons dataset of `gped demo`: two interleaving half circles in the plane, the upper
//! one class 0 and the lower one class 1, each point moved by Gaussian noise of std
//! [`MOONS_NOISE`]; the classic toy problem (as scikit-learn's `make_moons`). It is generated
//! from a seed, never read from files. A point (x, y) is stored as a 1x2 "image" whose two
//! values are its coordinates scaled from the square [`PLANE`] of the plane into [0, 1], the
//! range of every dataset's values; the moons lie in the middle of that square, so that the
//! rest of it is the plane away from the data.

use super::dataset::Dataset;
use crate::Result;
use crate::base::GaussianStream;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;

/// Std of the Gaussian noise added to each coordinate of a point on the moons' arcs of radius 1.
pub const MOONS_NOISE: f64 = 0.1;

/// A square of the plane, mapped onto the unit square of the dataset's values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneSquare {
    /// Smallest x.
    pub x_min: f64,
    /// Smallest y.
    pub y_min: f64,
    /// Side length.
    pub side: f64,
}

/// The square of the plane the two moons are scaled from: x in [-2, 3], y in [-2.25, 2.75].
/// The moons span about x in [-1.2, 2.2] and y in [-0.7, 1.2], in its middle.
pub const PLANE: PlaneSquare = PlaneSquare {
    x_min: -2.0,
    y_min: -2.25,
    side: 5.0,
};

impl PlaneSquare {
    /// The dataset values (in [0, 1], clamped) of the point (x, y).
    pub fn to_unit(&self, x: f64, y: f64) -> [f32; 2] {
        let scale = |v: f64, min: f64| ((v - min) / self.side).clamp(0.0, 1.0) as f32;
        [scale(x, self.x_min), scale(y, self.y_min)]
    }

    /// The point (x, y) of the plane whose dataset values are `[u, v]`.
    pub fn from_unit(&self, [u, v]: [f32; 2]) -> (f64, f64) {
        (
            self.x_min + f64::from(u) * self.side,
            self.y_min + f64::from(v) * self.side,
        )
    }
}

/// `n` two-moons points drawn from `seed`, as a dataset of 1x2 images in 2 classes: point i
/// is of class i mod 2, at angle pi U(0, 1) on its arc (class 0: (cos a, sin a); class 1:
/// (1 - cos a, 1/2 - sin a)), plus N(0, [`MOONS_NOISE`]^2) noise on each coordinate, scaled
/// by [`PLANE`].
pub fn two_moons(n: usize, seed: u64) -> Result<Dataset> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut noise = vec![0.0f32; 2 * n];
    GaussianStream::new(seed).fill(&mut noise);
    let mut images = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for (i, e) in noise.chunks_exact(2).enumerate() {
        let a = PI * rng.random::<f64>();
        let class = (i % 2) as u8;
        let (x, y) = match class {
            0 => (a.cos(), a.sin()),
            _ => (1.0 - a.cos(), 0.5 - a.sin()),
        };
        let noisy = |v: f64, e: f32| v + MOONS_NOISE * f64::from(e);
        images.extend(PLANE.to_unit(noisy(x, e[0]), noisy(y, e[1])));
        labels.push(class);
    }
    Dataset::new(images, labels, [1, 1, 2], 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_balanced_reproducible_and_inside_the_unit_square() {
        let d = two_moons(400, 7).unwrap();
        assert_eq!(d.shape(), [400, 1, 1, 2]);
        assert_eq!(d.label_counts(), vec![200, 200]);
        assert!(d.images().iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(d, two_moons(400, 7).unwrap());
        assert_ne!(d, two_moons(400, 8).unwrap());
    }

    #[test]
    fn each_class_lies_near_its_arc() {
        // Class 0 within 6 noise stds of the unit circle around (0, 0), class 1 of the one
        // around (1, 1/2) (a 2-D noise longer than 6 stds has probability exp(-18)); the upper
        // arc has y >= 0 before the noise, the lower y <= 1/2.
        let d = two_moons(1000, 3).unwrap();
        for i in 0..d.len() {
            let img = d.image(i);
            let (x, y) = PLANE.from_unit([img[0], img[1]]);
            let (cx, cy, side) = match d.label(i) {
                0 => (0.0, 0.0, y > -6.0 * MOONS_NOISE),
                _ => (1.0, 0.5, y < 0.5 + 6.0 * MOONS_NOISE),
            };
            let r = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 6.0 * MOONS_NOISE, "point {i}: r = {r}");
            assert!(side, "point {i} at ({x}, {y}) on the wrong side");
        }
    }

    #[test]
    fn the_plane_square_maps_both_ways() {
        let [u, v] = PLANE.to_unit(0.5, 0.25);
        assert_eq!([u, v], [0.5, 0.5]);
        let (x, y) = PLANE.from_unit([0.0, 1.0]);
        assert_eq!((x, y), (-2.0, 2.75));
        assert_eq!(PLANE.to_unit(-10.0, 10.0), [0.0, 1.0]);
    }
}
