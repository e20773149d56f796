//! The demo's map: a grid of `side x side` square cells over the plane's square
//! (`data::PLANE`), each cell's centre an unlabelled input of the run (its OOD split), and each
//! cell's distance to the nearest training point, which tells the cells on the data from
//! those far from it.

use crate::Result;
use crate::data::{Dataset, PLANE};

/// Cells along each side of the map: 80 x 80 = 6,400 inputs.
pub const GRID_SIDE: usize = 80;

/// The cells of the map, row by row from the bottom (cell `row * side + col`).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    side: usize,
    /// Each cell's centre as a 1x2 input in the dataset's unit square, label 0 (unused).
    points: Dataset,
}

impl Grid {
    /// The grid of `side x side` cells over the plane's square.
    pub fn new(side: usize) -> Result<Self> {
        let centre = |i: usize| ((i as f64 + 0.5) / side as f64) as f32;
        let images = (0..side)
            .flat_map(|row| (0..side).flat_map(move |col| [centre(col), centre(row)]))
            .collect();
        let points = Dataset::new(images, vec![0; side * side], [1, 1, 2], 2)?;
        Ok(Grid { side, points })
    }

    /// Cells along each side.
    pub fn side(&self) -> usize {
        self.side
    }

    /// The cells' centres, as the run's inputs.
    pub fn points(&self) -> &Dataset {
        &self.points
    }

    /// Side length of a cell in the plane's units.
    pub fn cell_size(&self) -> f64 {
        PLANE.side / self.side as f64
    }
}

/// The point (x, y) of the plane that input `i` of `inputs` (1x2, scaled by `data::PLANE`)
/// stands for.
pub fn plane_point(inputs: &Dataset, i: usize) -> (f64, f64) {
    let image = inputs.image(i);
    PLANE.from_unit([image[0], image[1]])
}

/// For each input of `inputs`, its distance in the plane to the nearest input of `data`.
pub fn nearest_distances(inputs: &Dataset, data: &Dataset) -> Vec<f64> {
    let data: Vec<(f64, f64)> = (0..data.len()).map(|j| plane_point(data, j)).collect();
    (0..inputs.len())
        .map(|i| {
            let (x, y) = plane_point(inputs, i);
            data.iter()
                .map(|&(u, v)| (x - u).powi(2) + (y - v).powi(2))
                .fold(f64::INFINITY, f64::min)
                .sqrt()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cover_the_square_row_by_row_from_the_bottom() {
        let grid = Grid::new(4).unwrap();
        assert_eq!(grid.points().len(), 16);
        // Cell 1 is the second of the bottom row: centre (3/8, 1/8) of the unit square.
        assert_eq!(grid.points().image(1), &[0.375, 0.125]);
        assert_eq!(grid.points().image(15), &[0.875, 0.875]);
        let (x, y) = plane_point(grid.points(), 0);
        assert_eq!((x, y), (PLANE.x_min + 0.625, PLANE.y_min + 0.625));
        assert_eq!(grid.cell_size(), 1.25);
    }

    #[test]
    fn distances_are_to_the_nearest_point_in_plane_units() {
        let grid = Grid::new(2).unwrap();
        // One data point at the centre of cell 0: distance 0 there, one cell side (2.5) to
        // cells 1 and 2, and the diagonal to cell 3.
        let data = grid.points().subset(&[0]).unwrap();
        let d = nearest_distances(grid.points(), &data);
        assert!(d[0].abs() < 1e-6, "{d:?}");
        assert!(
            (d[1] - 2.5).abs() < 1e-6 && (d[2] - 2.5).abs() < 1e-6,
            "{d:?}"
        );
        assert!((d[3] - 2.5 * 2f64.sqrt()).abs() < 1e-6, "{d:?}");
    }
}
