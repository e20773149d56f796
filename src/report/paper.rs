//! The paper's Tables 5, 6 and 7 laid out with a sweep's numbers: for the MNIST CNN (Table 5),
//! the MNIST FCNN (Table 6) and the CIFAR-10 CNN (Table 7), one row per training subset n and
//! mask rate m^2/784 of the grid, and the columns teacher NLL, student NLL with U_o and with
//! U_s, entropy MAE with U_o and with U_s. A predictive student with the running-mean estimator
//! (U_o, Eq. 10) fills "student NLL U_o", one with the sample estimator (U_s, Eq. 9) "student
//! NLL U_s"; entropy students likewise. Each of our numbers stands beside the published one,
//! `0.054 (paper 0.054)`; several seeds give `mean ± std`; a column no student fills is `-`.
//! Cells that differ in a setting other than n, the mask, the seed or a student's estimator
//! (a student width, say) get a table each.

use super::rows::{Row, Settings, SweepRows};
use super::summary::MeanStd;
use crate::config::{Arch, DatasetName, Estimator, Target};
use std::collections::BTreeMap;

/// The columns after the row labels.
pub const COLUMNS: [&str; 5] = [
    "teacher NLL",
    "student NLL U_o",
    "student NLL U_s",
    "entropy MAE U_o",
    "entropy MAE U_s",
];

/// A published row: training subset n, mask side m (rate m^2/784), the five columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperRow {
    pub train_subset: usize,
    pub mask_size: usize,
    pub values: [Option<f64>; 5],
}

/// One of the paper's tables of Experiment 2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperTable {
    pub number: u8,
    /// The model as the paper names it.
    pub model: &'static str,
    pub dataset: DatasetName,
    pub arch: Arch,
    pub rows: &'static [PaperRow],
}

const fn row(n: usize, m: usize, v: [f64; 5]) -> PaperRow {
    let values = [Some(v[0]), Some(v[1]), Some(v[2]), Some(v[3]), Some(v[4])];
    PaperRow {
        train_subset: n,
        mask_size: m,
        values,
    }
}

/// A row with the NLL columns only (teacher, U_o, U_s).
const fn nll_row(n: usize, m: usize, v: [f64; 3]) -> PaperRow {
    PaperRow {
        train_subset: n,
        mask_size: m,
        values: [Some(v[0]), Some(v[1]), Some(v[2]), None, None],
    }
}

/// The published numbers: Vadera, Jalaian, Marlin, "Generalized Bayesian Posterior
/// Expectation Distillation for Deep Neural Networks", UAI 2020, supplementary Tables 5
/// (CNN-MNIST), 6 (FCNN-MNIST) and 7 (CNN-CIFAR10), as transcribed in the project's
/// PAPER.md. The paper's mask rates .03, .13, .29, .51, .80 are m = 5, 10, 15, 20, 25 on 28x28
/// images; the 10k rows of Table 6 and Table 7 give the NLL columns only.
pub const PAPER_TABLES: [PaperTable; 3] = [
    PaperTable {
        number: 5,
        model: "CNN-MNIST",
        dataset: DatasetName::Mnist,
        arch: Arch::MnistCnn,
        rows: &[
            row(60_000, 0, [0.022, 0.053, 0.053, 0.016, 0.017]),
            row(60_000, 10, [0.090, 0.219, 0.221, 0.049, 0.058]),
            row(60_000, 15, [0.267, 0.463, 0.472, 0.108, 0.120]),
            row(60_000, 20, [1.024, 1.184, 1.187, 0.118, 0.127]),
        ],
    },
    PaperTable {
        number: 6,
        model: "FCNN-MNIST",
        dataset: DatasetName::Mnist,
        arch: Arch::Fcnn,
        rows: &[
            row(60_000, 0, [0.052, 0.054, 0.082, 0.016, 0.020]),
            row(60_000, 5, [0.081, 0.094, 0.133, 0.023, 0.034]),
            row(60_000, 10, [0.155, 0.186, 0.240, 0.043, 0.068]),
            row(60_000, 15, [0.360, 0.398, 0.471, 0.086, 0.109]),
            row(60_000, 20, [1.010, 1.033, 1.107, 0.106, 0.099]),
            row(60_000, 25, [2.088, 2.089, 2.094, 0.021, 0.022]),
            nll_row(10_000, 0, [0.137, 0.184, 0.243]),
            nll_row(10_000, 15, [0.556, 0.637, 0.760]),
        ],
    },
    PaperTable {
        number: 7,
        model: "CNN-CIFAR10",
        dataset: DatasetName::Cifar10,
        arch: Arch::CifarCnn,
        rows: &[
            nll_row(10_000, 0, [0.912, 1.372, 1.391]),
            nll_row(50_000, 0, [0.671, 0.924, 0.932]),
        ],
    },
];

/// A paper table filled with a sweep's numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct LaidTable {
    pub paper: &'static PaperTable,
    /// The settings its cells share that split the sweep into several such tables.
    pub group: Settings,
    pub rows: Vec<LaidRow>,
}

/// One row: n, m, the mask rate and the five cells' text.
#[derive(Debug, Clone, PartialEq)]
pub struct LaidRow {
    pub train_subset: usize,
    pub mask_size: usize,
    pub mask_rate: f64,
    pub cells: [String; 5],
}

/// Whether `key` is set apart by the tables' rows or columns rather than by a table of its
/// own: the mask, the training subset, the seed, a student's estimator.
fn is_table_axis(key: &str) -> bool {
    matches!(key, "data.mask_size" | "data.train_subset" | "seed")
        || (key.starts_with("students") && key.ends_with(".estimator"))
}

/// The paper tables that `rows` fill, in the order of `PAPER_TABLES`, then of the groups'
/// first rows; rows in decreasing n, then increasing mask.
pub fn lay_out(rows: &SweepRows) -> Vec<LaidTable> {
    let mut tables = Vec::new();
    for paper in &PAPER_TABLES {
        let mut order: Vec<Settings> = Vec::new();
        let mut groups: BTreeMap<Settings, Vec<&Row>> = BTreeMap::new();
        for r in rows
            .rows
            .iter()
            .filter(|r| r.dataset == paper.dataset && r.arch == paper.arch)
        {
            let group: Vec<_> = r
                .settings
                .iter()
                .filter(|(k, _)| !is_table_axis(k))
                .cloned()
                .collect();
            if !groups.contains_key(&group) {
                order.push(group.clone());
            }
            groups.entry(group).or_default().push(r);
        }
        for group in order {
            let rows = lay_rows(paper, &groups[&group]);
            tables.push(LaidTable { paper, group, rows });
        }
    }
    tables
}

fn lay_rows(paper: &PaperTable, rows: &[&Row]) -> Vec<LaidRow> {
    let mut keys: Vec<(usize, usize)> =
        rows.iter().map(|r| (r.train_subset, r.mask_size)).collect();
    keys.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    keys.dedup();
    keys.into_iter()
        .map(|(n, m)| {
            let at: Vec<&Row> = rows
                .iter()
                .copied()
                .filter(|r| (r.train_subset, r.mask_size) == (n, m))
                .collect();
            let published = paper
                .rows
                .iter()
                .find(|p| (p.train_subset, p.mask_size) == (n, m))
                .map_or([None; 5], |p| p.values);
            let ours = column_values(&at);
            let cells = std::array::from_fn(|c| cell_text(&ours[c], published[c]));
            LaidRow {
                train_subset: n,
                mask_size: m,
                mask_rate: at[0].mask_rate,
                cells,
            }
        })
        .collect()
}

/// Per column, the values of each student (by its name in the cell; the teacher's once per
/// chain, under the name `teacher`).
fn column_values(rows: &[&Row]) -> [BTreeMap<String, Vec<f64>>; 5] {
    let mut cols: [BTreeMap<String, Vec<f64>>; 5] = Default::default();
    let mut chains = std::collections::BTreeSet::new();
    for r in rows {
        if let Some(t) = r.teacher_nll
            && chains.insert(&r.chain)
        {
            cols[0].entry("teacher".into()).or_default().push(t);
        }
        let (col, value) = match (r.target, r.estimator) {
            (Target::Predictive, Estimator::RunningMean) => (1, r.student_nll),
            (Target::Predictive, Estimator::Sample) => (2, r.student_nll),
            (Target::Entropy, Estimator::RunningMean) => (3, r.entropy_mae),
            (Target::Entropy, Estimator::Sample) => (4, r.entropy_mae),
            (Target::Variance | Target::MutualInformation | Target::Dirichlet, _) => continue,
        };
        if let Some(v) = value {
            cols[col].entry(r.student.clone()).or_default().push(v);
        }
    }
    cols
}

/// `ours (paper p)`, ours alone when the paper has no number there, `-` without ours. Several
/// students in one column are named: `a: 0.054; b: 0.061`.
fn cell_text(ours: &BTreeMap<String, Vec<f64>>, paper: Option<f64>) -> String {
    let stats: Vec<(&String, MeanStd)> = ours
        .iter()
        .filter_map(|(name, v)| MeanStd::of(v.iter().copied()).map(|m| (name, m)))
        .collect();
    let text = match stats.as_slice() {
        [] => return "-".into(),
        [(_, m)] => m.text(3),
        many => many
            .iter()
            .map(|(name, m)| format!("{name}: {}", m.text(3)))
            .collect::<Vec<_>>()
            .join("; "),
    };
    match paper {
        Some(p) => format!("{text} (paper {p:.3})"),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_masks_are_the_papers_rates() {
        // The paper's rates .03, .13, .29, .51, .80 round m^2/784 for m = 5, 10, 15, 20, 25.
        let rate = |m: usize| (m * m) as f64 / 784.0;
        for (m, published) in [(5, 0.03), (10, 0.13), (15, 0.29), (20, 0.51), (25, 0.80)] {
            assert!((rate(m) - published).abs() < 0.005, "m = {m}");
        }
        // Table 1's full-data numbers are the first rows of Tables 5, 6 and 7 (U_s NLL,
        // U_o entropy MAE): FCNN 0.052 / 0.082 / 0.016, CNN 0.022 / 0.053 / 0.016,
        // CIFAR-10 0.671 / 0.932.
        let t6 = PAPER_TABLES[1].rows[0].values;
        assert_eq!(
            (t6[0], t6[2], t6[3]),
            (Some(0.052), Some(0.082), Some(0.016))
        );
        let t5 = PAPER_TABLES[0].rows[0].values;
        assert_eq!(
            (t5[0], t5[2], t5[3]),
            (Some(0.022), Some(0.053), Some(0.016))
        );
        let t7 = PAPER_TABLES[2].rows[1].values;
        assert_eq!((t7[0], t7[2], t7[3]), (Some(0.671), Some(0.932), None));
    }

    #[test]
    fn cell_text_pairs_ours_with_the_paper() {
        let one = BTreeMap::from([("p".to_string(), vec![0.0544])]);
        assert_eq!(cell_text(&one, Some(0.054)), "0.054 (paper 0.054)");
        assert_eq!(cell_text(&one, None), "0.054");
        assert_eq!(cell_text(&BTreeMap::new(), Some(0.054)), "-");
        let seeds = BTreeMap::from([("p".to_string(), vec![0.06, 0.08])]);
        assert_eq!(
            cell_text(&seeds, Some(0.082)),
            "0.070 ± 0.014 (paper 0.082)"
        );
        let two = BTreeMap::from([("a".to_string(), vec![0.1]), ("b".to_string(), vec![0.2])]);
        assert_eq!(cell_text(&two, None), "a: 0.100; b: 0.200");
    }
}
