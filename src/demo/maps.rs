//! The numbers behind the demo's figure: the uncertainty decomposition (total = aleatoric +
//! epistemic, `uncertainty`) of the teacher, from its ensemble sums in the run folder, and of
//! the students, from one forward pass of `infer::Distilled`, on the grid's cells and on the
//! test points; and what the report quotes of them: the mean uncertainties on the data (the
//! test points) and far from it (cells farther than [`FAR_DISTANCE`] from every training
//! point), and how far the students' maps are from the teacher's.

use super::grid::nearest_distances;
use super::train::Trained;
use crate::data::Dataset;
use crate::ensemble::Ensemble;
use crate::infer::Distilled;
use crate::uncertainty::Uncertainty;
use crate::{Error, Result};
use serde::Serialize;
use std::path::Path;

/// A grid cell is "far" from the data when every training point is farther than this, in the
/// plane's units (the moons' arcs have radius 1 and noise 0.1).
pub const FAR_DISTANCE: f64 = 1.0;

/// One model's uncertainties on a set of inputs, each `[n]`, in nats.
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    /// H[p(y|x)], the entropy of the predictive distribution.
    pub total: Vec<f32>,
    /// E_theta H[p(y|x,theta)], the expected entropy.
    pub aleatoric: Vec<f32>,
    /// total - aleatoric, the mutual information I(y; theta | x, D) (the students' can be
    /// slightly negative: two networks' estimates).
    pub epistemic: Vec<f32>,
}

impl Decomposition {
    /// The decomposition `u` of `who`, which must include the expected entropy.
    fn of(u: Uncertainty, who: &str) -> Result<Self> {
        match (u.aleatoric, u.knowledge) {
            (Some(aleatoric), Some(epistemic)) => Ok(Decomposition {
                total: u.total,
                aleatoric,
                epistemic,
            }),
            _ => Err(Error::InvalidArgument(format!(
                "{who}: expected an expected-entropy estimate (an `entropy` student), found none"
            ))),
        }
    }

    /// The means of the three over the inputs `i` where `keep(i)`.
    pub fn means(&self, keep: impl Fn(usize) -> bool) -> Means {
        let kept: Vec<usize> = (0..self.total.len()).filter(|&i| keep(i)).collect();
        let mean = |v: &[f32]| {
            kept.iter().map(|&i| f64::from(v[i])).sum::<f64>() / kept.len().max(1) as f64
        };
        Means {
            total: mean(&self.total),
            aleatoric: mean(&self.aleatoric),
            epistemic: mean(&self.epistemic),
        }
    }
}

/// The teacher's and the students' uncertainties on one set of inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSet {
    pub inputs: Dataset,
    /// Each input's distance to the nearest training point, in the plane's units.
    pub distance: Vec<f64>,
    pub teacher: Decomposition,
    pub student: Decomposition,
}

/// The demo's maps: the grid's cells and the test points.
#[derive(Debug, Clone, PartialEq)]
pub struct Maps {
    pub grid: InputSet,
    pub points: InputSet,
    /// Posterior samples in the teacher's ensembles.
    pub ensemble_samples: u64,
}

/// Mean total, aleatoric and epistemic uncertainty (or mean absolute differences), in nats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Means {
    pub total: f64,
    pub aleatoric: f64,
    pub epistemic: f64,
}

impl Means {
    /// ("total", total), ("aleatoric", aleatoric), ("epistemic", epistemic).
    pub fn named(&self) -> [(&'static str, f64); 3] {
        [
            ("total", self.total),
            ("aleatoric", self.aleatoric),
            ("epistemic", self.epistemic),
        ]
    }
}

/// One model's means on the data and far from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Regions {
    /// Over the test points (drawn as the training points).
    pub on_data: Means,
    /// Over the cells farther than [`FAR_DISTANCE`] from every training point.
    pub far: Means,
}

/// What the report quotes of the maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub teacher: Regions,
    pub student: Regions,
    /// Mean |student - teacher| over every cell of the grid.
    pub grid_mae: Means,
    pub far_distance: f64,
    pub far_cells: usize,
    pub grid_cells: usize,
    pub test_points: usize,
    pub ensemble_samples: u64,
}

impl Maps {
    /// Reads the finished run folder `dir` of `trained` (the teacher's ensemble sums over the
    /// test points and the grid, and the students) and computes both models' uncertainties.
    pub fn compute(dir: &Path, trained: &Trained) -> Result<Self> {
        let training = trained.training_points()?;
        let mut students = Distilled::open(dir)?;
        let mut set = |inputs: &Dataset, file: &str| -> Result<(InputSet, u64)> {
            let path = dir.join(file);
            let ensemble = Ensemble::load(&path)?;
            if ensemble.len() != inputs.len() {
                return Err(Error::format(
                    &path,
                    "ensemble safetensors",
                    format!(
                        "expected sums for {} inputs, found {}",
                        inputs.len(),
                        ensemble.len()
                    ),
                ));
            }
            let teacher = Uncertainty::from_ensemble(&ensemble);
            let student = students.predict(inputs.images())?.uncertainty;
            let set = InputSet {
                inputs: inputs.clone(),
                distance: nearest_distances(inputs, &training),
                teacher: Decomposition::of(teacher, "the teacher's ensemble")?,
                student: Decomposition::of(student, &format!("the students of {}", dir.display()))?,
            };
            Ok((set, ensemble.samples()))
        };
        let (grid, ensemble_samples) = set(trained.grid.points(), "ensemble_ood.safetensors")?;
        let (points, _) = set(&trained.data.test, "ensemble_test.safetensors")?;
        Ok(Maps {
            grid,
            points,
            ensemble_samples,
        })
    }

    /// The means the report quotes.
    pub fn summary(&self) -> Summary {
        let far = |i: usize| self.grid.distance[i] > FAR_DISTANCE;
        let regions = |of: fn(&InputSet) -> &Decomposition| Regions {
            on_data: of(&self.points).means(|_| true),
            far: of(&self.grid).means(far),
        };
        let (t, s) = (&self.grid.teacher, &self.grid.student);
        let mae = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .map(|(a, b)| f64::from((a - b).abs()))
                .sum::<f64>()
                / a.len().max(1) as f64
        };
        Summary {
            teacher: regions(|set| &set.teacher),
            student: regions(|set| &set.student),
            grid_mae: Means {
                total: mae(&s.total, &t.total),
                aleatoric: mae(&s.aleatoric, &t.aleatoric),
                epistemic: mae(&s.epistemic, &t.epistemic),
            },
            far_distance: FAR_DISTANCE,
            far_cells: (0..self.grid.distance.len()).filter(|&i| far(i)).count(),
            grid_cells: self.grid.distance.len(),
            test_points: self.points.distance.len(),
            ensemble_samples: self.ensemble_samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_are_over_the_kept_inputs() {
        let d = Decomposition {
            total: vec![0.6, 0.2, 0.4],
            aleatoric: vec![0.1, 0.2, 0.3],
            epistemic: vec![0.5, 0.0, 0.1],
        };
        let m = d.means(|i| i != 1);
        assert!((m.total - 0.5).abs() < 1e-6, "{m:?}");
        assert!((m.aleatoric - 0.2).abs() < 1e-6, "{m:?}");
        assert!((m.epistemic - 0.3).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn a_decomposition_needs_the_expected_entropy() {
        let u = Uncertainty::from_predictive(&[0.5, 0.5], 2, None);
        let err = Decomposition::of(u, "the students")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the students") && err.contains("entropy"),
            "{err}"
        );
    }
}
