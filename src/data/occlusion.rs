//! The paper's occlusion (appendix A.1): in every training and test image one random m x m
//! square, placed uniformly so that it lies fully inside the image, is set to 0 in all
//! channels. Each image gets its own square, drawn once before training, so the data are fixed;
//! the occlusion rate is m^2 / (height * width) (m = 0, 5, 10, 15, 20, 25 on MNIST give the
//! rates 0, .03, .13, .29, .51, .80). m = 0 means no occlusion.

use rand::Rng;

use super::dataset::Dataset;
use crate::{Error, Result};

/// The squares of one occlusion draw: the top-left corner `(row, col)` of each image's square.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcclusionSquares {
    size: usize,
    corners: Vec<(usize, usize)>,
}

impl OcclusionSquares {
    /// Draws one `size x size` square per image for `n` images of `height x width`, each
    /// corner uniform over the positions that keep the square inside the image. With
    /// `size == 0` no square is drawn and `rng` is not used.
    pub fn draw(
        n: usize,
        [height, width]: [usize; 2],
        size: usize,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if size > height || size > width {
            return Err(Error::InvalidArgument(format!(
                "occlusion square of {size}x{size} does not fit in images of {height}x{width}"
            )));
        }
        let corners = if size == 0 {
            Vec::new()
        } else {
            (0..n)
                .map(|_| {
                    (
                        rng.random_range(0..=height - size),
                        rng.random_range(0..=width - size),
                    )
                })
                .collect()
        };
        Ok(OcclusionSquares { size, corners })
    }

    /// Side m of the squares.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Top-left corner `(row, col)` of image i's square, `[n]`; empty when `size == 0`.
    pub fn corners(&self) -> &[(usize, usize)] {
        &self.corners
    }

    /// Sets each image's square to 0 in all channels of `dataset`.
    pub fn apply(&self, dataset: &mut Dataset) -> Result<()> {
        if self.size == 0 {
            return Ok(());
        }
        let [n, _, height, width] = dataset.shape();
        if n != self.corners.len() {
            return Err(Error::InvalidArgument(format!(
                "occlusion drawn for {} images applied to a dataset of {n}",
                self.corners.len()
            )));
        }
        if self.size > height || self.size > width {
            return Err(Error::InvalidArgument(format!(
                "occlusion square of {0}x{0} does not fit in images of {height}x{width}",
                self.size
            )));
        }
        let image_len = dataset.image_len();
        let images = dataset.images_mut();
        for (image, &(row, col)) in images.chunks_exact_mut(image_len).zip(&self.corners) {
            for plane in image.chunks_exact_mut(height * width) {
                for r in row..row + self.size {
                    plane[r * width + col..r * width + col + self.size].fill(0.0);
                }
            }
        }
        Ok(())
    }
}

/// Occludes every image of `dataset` with its own random `size x size` square and returns the
/// squares drawn.
pub fn occlude(dataset: &mut Dataset, size: usize, rng: &mut impl Rng) -> Result<OcclusionSquares> {
    let [n, _, height, width] = dataset.shape();
    let squares = OcclusionSquares::draw(n, [height, width], size, rng)?;
    squares.apply(dataset)?;
    Ok(squares)
}

/// The fraction of an image's pixels a `size x size` square covers: m^2 / (height * width).
pub fn occlusion_rate(size: usize, [height, width]: [usize; 2]) -> f64 {
    (size * size) as f64 / (height * width) as f64
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    /// `n` images of 2 channels of 6x5, every value 0.5 (never 0 before occlusion).
    fn halves(n: usize) -> Dataset {
        Dataset::new(vec![0.5; n * 2 * 6 * 5], vec![0; n], [2, 6, 5], 10).unwrap()
    }

    #[test]
    fn each_image_has_exactly_its_square_zeroed_in_every_channel() {
        let mut d = halves(50);
        let squares = occlude(&mut d, 3, &mut StdRng::seed_from_u64(1)).unwrap();
        assert_eq!(squares.corners().len(), 50);
        for (i, &(row, col)) in squares.corners().iter().enumerate() {
            assert!(row + 3 <= 6 && col + 3 <= 5, "square {i} outside the image");
            for c in 0..2 {
                for r in 0..6 {
                    for x in 0..5 {
                        let inside = (row..row + 3).contains(&r) && (col..col + 3).contains(&x);
                        let v = d.image(i)[c * 30 + r * 5 + x];
                        assert_eq!(v, if inside { 0.0 } else { 0.5 }, "image {i} ({c},{r},{x})");
                    }
                }
            }
            assert_eq!(d.image(i).iter().filter(|&&v| v == 0.0).count(), 2 * 3 * 3);
        }
    }

    #[test]
    fn positions_cover_every_valid_corner() {
        // 6x5 images, 3x3 squares: rows 0..=3, cols 0..=2, i.e. 12 corners, all reachable.
        let squares =
            OcclusionSquares::draw(2000, [6, 5], 3, &mut StdRng::seed_from_u64(2)).unwrap();
        let mut seen = [[0usize; 3]; 4];
        for &(r, c) in squares.corners() {
            seen[r][c] += 1;
        }
        // Each corner has probability 1/12: about 167 of 2000; 100 is over 5 sigma below.
        assert!(seen.iter().flatten().all(|&k| k > 100), "{seen:?}");
    }

    #[test]
    fn same_seed_same_squares_other_seed_other_squares() {
        let draw = |seed| {
            let mut d = halves(20);
            let s = occlude(&mut d, 2, &mut StdRng::seed_from_u64(seed)).unwrap();
            (s, d)
        };
        let (a, da) = draw(7);
        let (b, db) = draw(7);
        let (c, _) = draw(8);
        assert_eq!(a, b);
        assert_eq!(da, db);
        assert_ne!(a.corners(), c.corners());
    }

    #[test]
    fn size_zero_changes_nothing() {
        let mut d = halves(3);
        let squares = occlude(&mut d, 0, &mut StdRng::seed_from_u64(3)).unwrap();
        assert!(squares.corners().is_empty());
        assert_eq!(d, halves(3));
    }

    #[test]
    fn square_larger_than_the_image_is_rejected() {
        let msg = occlude(&mut halves(1), 6, &mut StdRng::seed_from_u64(4))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("6x6 does not fit in images of 6x5"), "{msg}");
    }

    #[test]
    fn rates_match_the_paper() {
        // Appendix A.1: m = 5, 10, 15, 20, 25 on 28x28 give .03, .13, .29, .51, .80.
        let rates: Vec<f64> = [5, 10, 15, 20, 25]
            .iter()
            .map(|&m| (occlusion_rate(m, [28, 28]) * 100.0).round() / 100.0)
            .collect();
        assert_eq!(rates, vec![0.03, 0.13, 0.29, 0.51, 0.80]);
    }
}
