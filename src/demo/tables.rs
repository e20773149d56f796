//! The demo's per-input numbers as CSV, one row per input, for reading or plotting elsewhere:
//! `grid.csv` (the map's cells, row by row from the bottom) and `points.csv` (the test
//! points). Columns: [`COLUMNS`]; `label` is empty for a grid cell. Uncertainties are in nats.

use super::grid::plane_point;
use super::maps::InputSet;
use crate::base::write_atomic;
use crate::{Error, Result};
use std::path::Path;

/// The columns of both files.
pub const COLUMNS: [&str; 10] = [
    "x",
    "y",
    "label",
    "distance",
    "teacher_total",
    "teacher_aleatoric",
    "teacher_epistemic",
    "student_total",
    "student_aleatoric",
    "student_epistemic",
];

/// Writes `set` as CSV to `path` (atomically), with each input's label when `labelled`.
pub fn write_csv(path: &Path, set: &InputSet, labelled: bool) -> Result<()> {
    let csv_err = |e: csv::Error| Error::InvalidArgument(format!("{}: {e}", path.display()));
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS).map_err(csv_err)?;
    let (t, s) = (&set.teacher, &set.student);
    for i in 0..set.inputs.len() {
        let (x, y) = plane_point(&set.inputs, i);
        let label = match labelled {
            true => set.inputs.label(i).to_string(),
            false => String::new(),
        };
        let values = [
            t.total[i],
            t.aleatoric[i],
            t.epistemic[i],
            s.total[i],
            s.aleatoric[i],
            s.epistemic[i],
        ];
        let record = [
            x.to_string(),
            y.to_string(),
            label,
            set.distance[i].to_string(),
        ]
        .into_iter()
        .chain(values.iter().map(f32::to_string));
        out.write_record(record).map_err(csv_err)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    write_atomic(path, &bytes)
}
