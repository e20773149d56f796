//! Repeated measurements summarised as mean ± standard deviation: the rows of a sweep that
//! differ only in their seed (when `seed` is an axis), and the cells of the paper tables and
//! heatmaps that several seeds fill.

use super::rows::{Row, Settings, SweepRows};
use std::collections::BTreeMap;

/// The mean and the sample standard deviation (denominator n - 1) of n values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanStd {
    pub mean: f64,
    /// None for a single value.
    pub std: Option<f64>,
    pub n: usize,
}

impl MeanStd {
    /// Of the finite `values`; None when there is none.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<MeanStd> {
        let v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let std = (n > 1)
            .then(|| (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt());
        Some(MeanStd { mean, std, n })
    }

    /// `mean ± std` with `decimals` decimals, or the mean alone for one value.
    pub fn text(&self, decimals: usize) -> String {
        match self.std {
            Some(s) => format!("{:.*} ± {:.*}", decimals, self.mean, decimals, s),
            None => format!("{:.*}", decimals, self.mean),
        }
    }
}

/// The text of an optional summary: `-` when absent.
pub fn text_or_dash(m: Option<MeanStd>, decimals: usize) -> String {
    m.map_or("-".into(), |m| m.text(decimals))
}

/// The rows of one setting (every varied axis but `seed`) and one student, over the seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedGroup {
    /// The varied settings other than `seed`.
    pub settings: Settings,
    pub student: String,
    pub seeds: Vec<u64>,
    pub teacher_nll: Option<MeanStd>,
    pub student_nll: Option<MeanStd>,
    pub student_acc: Option<MeanStd>,
    pub entropy_mae: Option<MeanStd>,
}

/// The seed groups of `rows` in the order of their first row; empty when `seed` is not an
/// axis of the sweep.
pub fn seed_groups(rows: &SweepRows) -> Vec<SeedGroup> {
    if !rows.varied.iter().any(|k| k == "seed") {
        return Vec::new();
    }
    let mut order = Vec::new();
    let mut groups: BTreeMap<(Settings, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows.rows {
        let settings: Settings = r
            .settings
            .iter()
            .filter(|(k, _)| k != "seed")
            .cloned()
            .collect();
        let key = (settings, r.student.clone());
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(r);
    }
    order
        .into_iter()
        .map(|key| {
            let rs = &groups[&key];
            let stat = |f: fn(&Row) -> Option<f64>| MeanStd::of(rs.iter().filter_map(|r| f(r)));
            SeedGroup {
                seeds: rs.iter().map(|r| r.seed).collect(),
                teacher_nll: stat(|r| r.teacher_nll),
                student_nll: stat(|r| r.student_nll),
                student_acc: stat(|r| r.student_acc),
                entropy_mae: stat(|r| r.entropy_mae),
                settings: key.0,
                student: key.1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_std() {
        // 0.06 and 0.08: mean 0.07, deviations ±0.01, sample variance 2 * 0.01^2 / 1.
        let m = MeanStd::of([0.06, 0.08]).unwrap();
        assert!((m.mean - 0.07).abs() < 1e-12);
        assert!((m.std.unwrap() - 0.0002f64.sqrt()).abs() < 1e-12);
        assert_eq!(m.text(3), "0.070 ± 0.014");
        // One value has no spread; non-finite values are left out.
        let one = MeanStd::of([0.5, f64::NAN]).unwrap();
        assert_eq!((one.n, one.std, one.text(2)), (1, None, "0.50".to_string()));
        assert_eq!(MeanStd::of([]), None);
        assert_eq!(text_or_dash(None, 3), "-");
    }
}
