//! The grid of a sweep: every combination of the axes' values is a cell, named after its
//! settings; cells that differ only in student settings (`students...` keys) share one teacher
//! chain, a single run whose students are the union of theirs. The paper samples one chain
//! per student; sharing it is where gped is cheaper by design.
//!
//! In a chain, students of the same name and the same settings are one student; students of
//! the same name and different settings are renamed `NAME-1`, `NAME-2`, ... in the order the
//! cells list them (a student's initial weights and dropout draws are seeded by its name, so a
//! chain's students differ from those of separate runs in their draws, not in distribution).

use super::spec::{Setting, SweepSpec, override_text};
use crate::config::{RunConfig, StudentConfig, ValidConfig};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One cell: a point of the grid.
#[derive(Debug, Clone)]
pub struct Cell {
    /// `key-value` of each axis, joined by `__` (characters outside `[A-Za-z0-9._-]` as `_`).
    pub name: String,
    /// The axes' values at this cell, in axis order.
    pub settings: Vec<Setting>,
    /// The index of its chain in [`Grid::chains`].
    pub chain: usize,
    /// Its students' names -> their names in the chain.
    pub students: BTreeMap<String, String>,
}

/// One teacher chain: a run folder `chains/NAME` holding the students of its cells.
#[derive(Debug, Clone)]
pub struct Chain {
    /// Named like a cell, after its settings other than students' (`all` when there are none).
    pub name: String,
    /// The settings of its cells other than students'.
    pub settings: Vec<Setting>,
    /// Indices of its cells in [`Grid::cells`].
    pub cells: Vec<usize>,
    /// The run: the base config, the fixed and chain settings, and the union of the cells'
    /// students.
    pub config: ValidConfig,
}

/// A sweep's cells and chains.
#[derive(Debug, Clone)]
pub struct Grid {
    pub cells: Vec<Cell>,
    pub chains: Vec<Chain>,
    /// The axes with more than one value.
    pub varied: Vec<String>,
}

/// Whether `key` is a student setting (a cell that differs only in these shares a chain).
pub fn is_student_key(key: &str) -> bool {
    key == "students" || key.starts_with("students.") || key.starts_with("students[")
}

impl Grid {
    /// Expands `spec` (in the folder `spec_dir`, for its `base` file). Every cell's config and
    /// every chain's config must validate; errors name the cell.
    pub fn expand(spec: &SweepSpec, spec_dir: &Path) -> Result<Grid> {
        let base = spec.base_config(spec_dir)?;
        let fixed: Vec<String> = spec.fixed().iter().map(override_text).collect();
        let base = base.with_overrides(&fixed)?;
        let axes = spec.axes();
        let varied = axes
            .iter()
            .filter(|(_, v)| v.len() > 1)
            .map(|(k, _)| k.clone())
            .collect();
        let mut grid = Grid {
            cells: Vec::new(),
            chains: Vec::new(),
            varied,
        };
        let mut chain_students: Vec<Vec<StudentConfig>> = Vec::new();
        for settings in combinations(&axes) {
            let name = label(&settings, "cell");
            let config = configure(&base, &settings)
                .and_then(|c| c.validate())
                .map_err(|e| in_cell(&name, e))?;
            let chain_settings: Vec<Setting> = settings
                .iter()
                .filter(|(k, _)| !(spec.share_chains && is_student_key(k)))
                .cloned()
                .collect();
            let chain = match grid
                .chains
                .iter()
                .position(|c| c.settings == chain_settings)
            {
                Some(i) => i,
                None => {
                    grid.chains.push(Chain {
                        name: label(&chain_settings, "all"),
                        settings: chain_settings.clone(),
                        cells: Vec::new(),
                        config: configure(&base, &chain_settings)?.validate()?,
                    });
                    chain_students.push(Vec::new());
                    grid.chains.len() - 1
                }
            };
            let students = config
                .students
                .iter()
                .map(|s| (s.name.clone(), join_student(&mut chain_students[chain], s)))
                .collect();
            grid.chains[chain].cells.push(grid.cells.len());
            if grid.cells.iter().any(|c| c.name == name) {
                return Err(Error::InvalidArgument(format!(
                    "two cells of the sweep are both named `{name}`; make the axes' values \
                     differ in more than punctuation"
                )));
            }
            grid.cells.push(Cell {
                name,
                settings,
                chain,
                students,
            });
        }
        for (chain, students) in grid.chains.iter_mut().zip(chain_students) {
            let mut config = chain.config.config().clone();
            config.students = students;
            chain.config = config.validate().map_err(|e| in_cell(&chain.name, e))?;
        }
        Ok(grid)
    }

    /// The cells of chain `chain`.
    pub fn cells_of(&self, chain: &Chain) -> impl Iterator<Item = &Cell> {
        chain.cells.iter().map(|&i| &self.cells[i])
    }
}

/// Every combination of the axes' values, the last axis varying fastest.
fn combinations(axes: &[(String, Vec<toml::Value>)]) -> Vec<Vec<Setting>> {
    axes.iter().fold(vec![Vec::new()], |acc, (key, values)| {
        acc.iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((key.clone(), v.clone()));
                    next
                })
            })
            .collect()
    })
}

/// `config` with `settings` applied as `--set` overrides.
fn configure(config: &RunConfig, settings: &[Setting]) -> Result<RunConfig> {
    let overrides: Vec<String> = settings.iter().map(override_text).collect();
    config.clone().with_overrides(&overrides)
}

/// The chain's name for `student`, adding it to `students` unless an equal one is there.
fn join_student(students: &mut Vec<StudentConfig>, student: &StudentConfig) -> String {
    let same_settings = |s: &StudentConfig| {
        let mut renamed = s.clone();
        renamed.name = student.name.clone();
        renamed == *student
    };
    // A chain student keeps the cell's name when it is its first of that name, else NAME-k.
    let is_of = |s: &StudentConfig| {
        s.name == student.name
            || s.name
                .strip_prefix(&format!("{}-", student.name))
                .is_some_and(|k| k.parse::<usize>().is_ok())
    };
    if let Some(s) = students.iter().find(|s| is_of(s) && same_settings(s)) {
        return s.name.clone();
    }
    let taken = students.iter().filter(|s| is_of(s)).count();
    let mut joined = student.clone();
    if taken > 0 {
        joined.name = format!("{}-{taken}", student.name);
    }
    students.push(joined);
    students.last().map(|s| s.name.clone()).unwrap_or_default()
}

/// `key-value` of each setting joined by `__`, or `empty` for no settings.
fn label(settings: &[Setting], empty: &str) -> String {
    if settings.is_empty() {
        return empty.to_string();
    }
    settings
        .iter()
        .map(|(k, v)| format!("{k}-{}", value_label(v)))
        .collect::<Vec<_>>()
        .join("__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A value as it reads in a name: strings bare, arrays joined by `_`.
fn value_label(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(value_label).collect::<Vec<_>>().join("_"),
        other => other.to_string(),
    }
}

fn in_cell(name: &str, e: Error) -> Error {
    Error::InvalidArgument(format!("sweep cell `{name}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> SweepSpec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn cells_are_every_combination_and_student_settings_share_a_chain() {
        let s = spec(
            r#"
            [set]
            "schedule.iterations" = 5000
            [axes]
            "data.mask_size" = [0, 5, 10]
            "students.0.width" = [[0.5, 0.5], [1.0, 1.0]]
            "students.1.estimator" = ["sample"]
            "#,
        );
        let grid = Grid::expand(&s, Path::new(".")).unwrap();
        // 3 masks x 2 widths x 1 estimator; the axes in key order, the last fastest.
        assert_eq!(grid.cells.len(), 6);
        assert_eq!(grid.varied, ["data.mask_size", "students.0.width"]);
        assert_eq!(
            grid.cells[1].name,
            "data.mask_size-0__students.0.width-1.0_1.0__students.1.estimator-sample"
        );
        // One chain per mask, each with the two widths' predictive students and one shared
        // entropy student (its settings are the same in both cells).
        assert_eq!(grid.chains.len(), 3);
        for (i, chain) in grid.chains.iter().enumerate() {
            assert_eq!(chain.cells, [2 * i, 2 * i + 1]);
            assert_eq!(chain.config.schedule.iterations, 5000);
            let names: Vec<&str> = chain
                .config
                .students
                .iter()
                .map(|s| s.name.as_str())
                .collect();
            assert_eq!(names, ["predictive", "entropy", "predictive-1"]);
            assert_eq!(chain.config.students[2].width, [1.0, 1.0]);
            assert_eq!(chain.config.data.mask_size, 5 * i);
        }
        assert_eq!(grid.chains[1].name, "data.mask_size-5");
        let second = &grid.cells[1];
        assert_eq!(second.students["predictive"], "predictive-1");
        assert_eq!(second.students["entropy"], "entropy");
    }

    #[test]
    fn a_grid_without_chain_settings_is_one_chain_unless_unshared_and_bad_cells_are_named() {
        let s = spec(
            r#"
            [axes]
            "students.0.learning_rate" = [1e-3, 1e-4]
            "#,
        );
        let grid = Grid::expand(&s, Path::new(".")).unwrap();
        assert_eq!(grid.chains.len(), 1);
        assert_eq!(grid.chains[0].name, "all");
        assert_eq!(grid.cells[1].name, "students.0.learning_rate-0.0001");
        let s = spec(
            r#"
            share_chains = false
            [axes]
            "students.0.learning_rate" = [1e-3, 1e-4]
            "#,
        );
        let grid = Grid::expand(&s, Path::new(".")).unwrap();
        assert_eq!(grid.chains.len(), 2);
        assert_eq!(grid.chains[1].name, grid.cells[1].name);
        assert_eq!(grid.chains[1].config.students[0].learning_rate, 1e-4);
        let s = spec(
            r#"
            [axes]
            "students.0.thinning" = [1, 0]
            "#,
        );
        let err = Grid::expand(&s, Path::new(".")).unwrap_err().to_string();
        assert!(
            err.contains("sweep cell `students.0.thinning-0`") && err.contains("thinning"),
            "{err}"
        );
    }
}
