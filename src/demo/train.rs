//! The demo's run: Algorithm 1, the loop of `gped run` (`distill::session::start_with_data`),
//! on data made in memory from the config's seed. The teacher's data D are the two-moons
//! training points; the distillation pool D' holds them and [`POOL_POINTS`] unlabelled points
//! spread uniformly over the plane's square, so that the students are also shown what the
//! teacher says away from the data; the test split is the two-moons test points; and the
//! map's grid is the OOD split, so that the run's teacher ensemble covers every cell
//! (`ensemble_ood.safetensors`). The run folder is an ordinary one: `infer::Distilled` opens it.

use super::grid::{GRID_SIDE, Grid};
use crate::Result;
use crate::base::seeds;
use crate::config::ValidConfig;
use crate::data::{Dataset, Split, run_split};
use crate::distill::session::{self, Replace};
use crate::distill::{Control, RunData, RunSummary};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

/// Unlabelled inputs of the pool D' besides the training points, uniform over the square.
pub const POOL_POINTS: usize = 1500;

/// The demo's data for `cfg` (a `two-moons` config; see the module's description), with
/// `grid`'s cells as the OOD split.
pub fn demo_data(cfg: &ValidConfig, grid: &Grid) -> Result<RunData> {
    // Two moons are generated: no data folder is read.
    let labelled = run_split(cfg, Path::new(""), Split::Train)?;
    let test = run_split(cfg, Path::new(""), Split::Test)?;
    let mut rng = StdRng::seed_from_u64(seeds::derive(cfg.seed, "demo-pool"));
    let mut images = labelled.images().to_vec();
    images.extend((0..2 * POOL_POINTS).map(|_| rng.random::<f32>()));
    let mut labels = labelled.labels().to_vec();
    // The pool's own points have no label; the teacher never trains on them.
    labels.resize(labelled.len() + POOL_POINTS, 0);
    let train = Dataset::new(
        images,
        labels,
        labelled.image_shape(),
        labelled.num_classes(),
    )?;
    Ok(RunData {
        train,
        teacher_indices: (0..labelled.len()).collect(),
        test,
        ood: Some(grid.points().clone()),
        holdout: None,
    })
}

/// A finished demo run: its summary and the data it ran on.
pub struct Trained {
    pub summary: RunSummary,
    pub data: RunData,
    pub grid: Grid,
}

impl Trained {
    /// The teacher's training points D (the labelled moons).
    pub fn training_points(&self) -> Result<Dataset> {
        self.data.train.subset(&self.data.teacher_indices)
    }
}

/// Runs the demo's GPED run of `cfg` into the new run folder `dir` (absent or empty), with the
/// map's grid of [`GRID_SIDE`] cells a side; `quiet` turns the progress output off.
pub fn train(cfg: &ValidConfig, dir: &Path, quiet: bool) -> Result<Trained> {
    let grid = Grid::new(GRID_SIDE)?;
    let data = demo_data(cfg, &grid)?;
    let summary =
        session::start_with_data(cfg, dir, &data, Replace::Never, &Control::default(), quiet)?;
    Ok(Trained {
        summary,
        data,
        grid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_config;

    #[test]
    fn the_teacher_trains_on_the_moons_and_the_pool_adds_the_square() {
        let cfg = demo_config(0, &[]).unwrap();
        let data = demo_data(&cfg, &Grid::new(4).unwrap()).unwrap();
        let n = cfg.dataset_info().train_size;
        assert_eq!(data.train.len(), n + POOL_POINTS);
        assert_eq!(data.teacher_indices, (0..n).collect::<Vec<_>>());
        assert_eq!(data.test.len(), cfg.dataset_info().test_size);
        assert_eq!(data.ood.as_ref().map(Dataset::len), Some(16));
        assert_eq!(data.train.label_counts(), vec![n / 2 + POOL_POINTS, n / 2]);
        assert!(data.train.images().iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(
            data.train,
            demo_data(&cfg, &Grid::new(4).unwrap()).unwrap().train
        );
    }
}
