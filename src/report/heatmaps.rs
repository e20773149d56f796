//! Which heatmaps a sweep's grid supports and their values, in the style of the paper's
//! Figure 1. Over mask rate x training subset (when `data.mask_size` or `data.train_subset`
//! is an axis): the teacher's NLL, each predictive student's NLL gap (student minus teacher)
//! and each entropy student's MAE. Over mask rate x student width (for each varied
//! `students.N.width` axis): the NLL gap or entropy MAE of each student whose width the axis
//! changes. A point that several seeds fill shows their mean; cells that differ in any other
//! varied setting get a figure each (`STEM_1`, `STEM_2`, ...), named in its caption.

use super::heatmap_figure::{Heatmap, Panel};
use super::rows::{Row, Settings, SweepRows, estimator_symbol};
use super::summary::MeanStd;
use crate::config::Target;
use std::collections::{BTreeMap, BTreeSet};

const MASK: &str = "data.mask_size";
const SUBSET: &str = "data.train_subset";

/// Whether `key` is a student's width axis (`students.0.width`, `students[0].width`).
fn is_width_axis(key: &str) -> bool {
    key.starts_with("students") && key.ends_with(".width")
}

/// Every heatmap `rows` support, in order: mask x subset, then one per width axis.
pub fn heatmaps(rows: &SweepRows) -> Vec<Heatmap> {
    let varied = |k: &str| rows.varied.iter().any(|v| v == k);
    let mut maps = Vec::new();
    if varied(MASK) || varied(SUBSET) {
        let axes = [MASK, SUBSET, "seed"];
        for (i, group, members) in groups(rows, &axes) {
            let stem = numbered("heatmap_mask_subset", i);
            maps.push(mask_subset(stem, &group, &members));
        }
    }
    for key in rows.varied.iter().filter(|k| is_width_axis(k)) {
        let axes = [MASK, key.as_str(), "seed"];
        for (i, group, members) in groups(rows, &axes) {
            let base = format!("heatmap_width_mask_{}", file_safe(key));
            if let Some(map) = width_mask(numbered(&base, i), key, &group, &members) {
                maps.push(map);
            }
        }
    }
    maps
}

/// `stem`, or `stem_i` when there are several groups (`i` counts from 1; 0 = the only one).
fn numbered(stem: &str, i: usize) -> String {
    match i {
        0 => stem.to_string(),
        i => format!("{stem}_{i}"),
    }
}

/// A key with every character outside `[A-Za-z0-9_-]` as `_`.
fn file_safe(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

type Group<'a> = (usize, Settings, Vec<&'a Row>);

/// The rows split by their varied settings other than `axes`, in the order of their first
/// rows, numbered from 1 when there are several (0 when there is one).
fn groups<'a>(rows: &'a SweepRows, axes: &[&str]) -> Vec<Group<'a>> {
    let mut order: Vec<Settings> = Vec::new();
    let mut members: BTreeMap<Settings, Vec<&Row>> = BTreeMap::new();
    for r in &rows.rows {
        let key: Vec<_> = r
            .settings
            .iter()
            .filter(|(k, _)| !axes.contains(&k.as_str()))
            .cloned()
            .collect();
        if !members.contains_key(&key) {
            order.push(key.clone());
        }
        members.entry(key).or_default().push(r);
    }
    let several = order.len() > 1;
    order
        .into_iter()
        .enumerate()
        .map(|(i, key)| {
            let m = members.remove(&key).unwrap_or_default();
            (if several { i + 1 } else { 0 }, key, m)
        })
        .collect()
}

/// The distinct mask sizes of `rows`, increasing, with their labels `rate (m = m)`.
fn mask_axis(rows: &[&Row]) -> (Vec<usize>, Vec<String>) {
    let masks: BTreeSet<usize> = rows.iter().map(|r| r.mask_size).collect();
    let labels = masks
        .iter()
        .map(|&m| {
            let rate = rows
                .iter()
                .find(|r| r.mask_size == m)
                .map_or(0.0, |r| r.mask_rate);
            format!("{rate:.2} (m = {m})")
        })
        .collect();
    (masks.into_iter().collect(), labels)
}

/// The mean at each (y, x) of `value` over the rows at that point.
fn grid<Y: PartialEq>(
    rows: &[&Row],
    ys: &[Y],
    y_of: impl Fn(&Row) -> Y,
    xs: &[usize],
    value: impl Fn(&Row) -> Option<f64>,
) -> Vec<Vec<Option<f64>>> {
    ys.iter()
        .map(|y| {
            xs.iter()
                .map(|&x| {
                    let at = rows.iter().filter(|r| r.mask_size == x && y_of(r) == *y);
                    MeanStd::of(at.filter_map(|r| value(r))).map(|m| m.mean)
                })
                .collect()
        })
        .collect()
}

/// The students of `rows` with `target`, by name, with the estimator they share (if one).
fn students(rows: &[&Row], target: Target) -> Vec<(String, String)> {
    let mut names: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.target == target) {
        names
            .entry(&r.student)
            .or_default()
            .insert(estimator_symbol(r.estimator));
    }
    names
        .into_iter()
        .map(|(n, e)| {
            let label = match e.len() {
                1 => format!("{n} ({})", e.iter().next().unwrap_or(&"")),
                _ => n.to_string(),
            };
            (n.to_string(), label)
        })
        .collect()
}

fn nll_gap(r: &Row) -> Option<f64> {
    Some(r.student_nll? - r.teacher_nll?)
}

/// `: k = v, ...` for a group's settings, to end a figure's title.
fn group_title(group: &[(String, String)]) -> String {
    let settings: Vec<String> = group.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    match settings.is_empty() {
        true => String::new(),
        false => format!(": {}", settings.join(", ")),
    }
}

/// ` Cells with k = v, ....` for a group's settings, to end a caption.
fn group_text(group: &[(String, String)]) -> String {
    if group.is_empty() {
        return String::new();
    }
    let settings: Vec<String> = group.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    format!(" Cells with {}.", settings.join(", "))
}

fn mask_subset(stem: String, group: &[(String, String)], rows: &[&Row]) -> Heatmap {
    let (masks, x_labels) = mask_axis(rows);
    let subsets: Vec<usize> = rows
        .iter()
        .map(|r| r.train_subset)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let cells = |value: &dyn Fn(&Row) -> Option<f64>| {
        grid(rows, &subsets, |r| r.train_subset, &masks, value)
    };
    // The teacher once per chain: its first row.
    let mut seen = BTreeSet::new();
    let teacher_rows: Vec<&Row> = rows
        .iter()
        .copied()
        .filter(|r| seen.insert(&r.chain))
        .collect();
    let mut panels = vec![Panel {
        title: "teacher NLL".into(),
        values: grid(
            &teacher_rows,
            &subsets,
            |r| r.train_subset,
            &masks,
            |r| r.teacher_nll,
        ),
    }];
    for (name, label) in students(rows, Target::Predictive) {
        panels.push(Panel {
            title: format!("NLL gap, student {label} - teacher"),
            values: cells(&|r: &Row| (r.student == name).then(|| nll_gap(r)).flatten()),
        });
    }
    for (name, label) in students(rows, Target::Entropy) {
        panels.push(Panel {
            title: format!("entropy MAE, student {label}"),
            values: cells(&|r: &Row| (r.student == name).then_some(r.entropy_mae).flatten()),
        });
    }
    Heatmap {
        stem,
        title: format!(
            "GPED over mask rate and training subset (paper Figure 1){}",
            group_title(group)
        ),
        caption: format!(
            "Test-set NLL of the teacher ensemble, the predictive students' NLL minus the \
             teacher's, and the entropy students' MAE to the teacher's expected entropy, over \
             the mask rate m^2/784 (across) and the teacher's training subset n (up); the mean \
             over seeds where several fill a point; grey: no finished run.{}",
            group_text(group)
        ),
        x_desc: "mask rate (mask side m)".into(),
        y_desc: "training subset n".into(),
        x_labels,
        y_labels: subsets.iter().map(|n| n.to_string()).collect(),
        panels,
    }
}

fn width_mask(
    stem: String,
    key: &str,
    group: &[(String, String)],
    rows: &[&Row],
) -> Option<Heatmap> {
    let (masks, x_labels) = mask_axis(rows);
    let setting = |r: &Row| {
        r.settings
            .iter()
            .find(|(k, _)| k == key)
            .map_or(String::new(), |(_, v)| v.clone())
    };
    let mut widths: Vec<String> = Vec::new();
    for r in rows {
        if !widths.contains(&setting(r)) {
            widths.push(setting(r));
        }
    }
    let mut panels = Vec::new();
    for target in [Target::Predictive, Target::Entropy] {
        for (name, label) in students(rows, target) {
            // Only the students this axis resizes.
            let sizes: BTreeSet<String> = rows
                .iter()
                .filter(|r| r.student == name)
                .map(|r| format!("{:?}", r.width))
                .collect();
            if sizes.len() < 2 {
                continue;
            }
            let (title, value): (String, fn(&Row) -> Option<f64>) = match target {
                Target::Predictive => (format!("NLL gap, student {label} - teacher"), nll_gap),
                _ => (format!("entropy MAE, student {label}"), |r| r.entropy_mae),
            };
            let mine: Vec<&Row> = rows.iter().copied().filter(|r| r.student == name).collect();
            panels.push(Panel {
                title,
                values: grid(&mine, &widths, setting, &masks, value),
            });
        }
    }
    if panels.is_empty() {
        return None;
    }
    Some(Heatmap {
        stem,
        title: format!(
            "GPED over mask rate and student width ({key}){}",
            group_title(group)
        ),
        caption: format!(
            "The predictive students' test NLL minus the teacher's and the entropy students' \
             MAE, over the mask rate m^2/784 (across) and the width multipliers K1;K2 of \
             `{key}` (up), for each student that axis resizes; the mean over seeds where \
             several fill a point; grey: no finished run.{}",
            group_text(group)
        ),
        x_desc: "mask rate (mask side m)".into(),
        y_desc: format!("{key} (K1;K2)"),
        x_labels,
        y_labels: widths,
        panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Arch, DatasetName, Estimator, LassoGroups};
    use crate::report::Aurocs;

    /// A predictive row of an FCNN-MNIST cell (its chain named after n, m and the seed).
    fn row(settings: &[(&str, &str)], (n, m, seed): (usize, usize, u64), nll: (f64, f64)) -> Row {
        Row {
            cell: format!("n{n}-m{m}-s{seed}"),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dataset: DatasetName::Mnist,
            arch: Arch::Fcnn,
            mask_size: m,
            mask_rate: (m * m) as f64 / 784.0,
            train_subset: n,
            seed,
            student: "predictive".into(),
            chain_student: "predictive".into(),
            target: Target::Predictive,
            estimator: Estimator::Sample,
            width: [1.0, 1.0],
            group_lasso: 0.0,
            group_lasso_layers: Vec::new(),
            group_lasso_groups: LassoGroups::Incoming,
            hidden_widths: vec![400, 400],
            pruned_from: None,
            inference: None,
            front: Default::default(),
            teacher_nll: Some(nll.0),
            teacher_acc: None,
            student_nll: Some(nll.1),
            student_acc: None,
            entropy_mae: None,
            ood_student: Aurocs::default(),
            ood_teacher: Aurocs::default(),
            params: 1,
            flops: 2,
            iterations: 10,
            ensemble_samples: 1,
            chain_wall_s: 1.0,
            chain_ms_per_iteration: 1.0,
            chain: format!("n{n}-m{m}-s{seed}"),
        }
    }

    fn sweep(varied: &[&str], rows: Vec<Row>) -> SweepRows {
        SweepRows {
            varied: varied.iter().map(|v| v.to_string()).collect(),
            rows,
            missing: vec![],
        }
    }

    #[test]
    fn mask_by_subset_averages_seeds_and_leaves_gaps_empty() {
        let varied = ["data.mask_size", "data.train_subset", "seed"];
        fn s<'a>(m: &'a str, n: &'a str, seed: &'a str) -> [(&'a str, &'a str); 3] {
            [
                ("data.mask_size", m),
                ("data.train_subset", n),
                ("seed", seed),
            ]
        }
        let rows = vec![
            row(&s("0", "0", "0"), (60000, 0, 0), (0.05, 0.06)),
            row(&s("0", "0", "1"), (60000, 0, 1), (0.07, 0.10)),
            row(&s("15", "0", "0"), (60000, 15, 0), (0.36, 0.40)),
            row(&s("0", "10000", "0"), (10000, 0, 0), (0.14, 0.18)),
        ];
        let maps = heatmaps(&sweep(&varied, rows));
        assert_eq!(maps.len(), 1);
        let h = &maps[0];
        assert_eq!(h.stem, "heatmap_mask_subset");
        assert_eq!(h.x_labels, ["0.00 (m = 0)", "0.29 (m = 15)"]);
        // n increasing upwards: 10000 at the bottom.
        assert_eq!(h.y_labels, ["10000", "60000"]);
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-12);
        let teacher = &h.panels[0].values;
        // (60000, m 0): seeds 0.05 and 0.07 -> 0.06; (10000, m 15) has no run.
        assert!(
            close(teacher[1][0], 0.06) && close(teacher[1][1], 0.36) && close(teacher[0][0], 0.14)
        );
        assert_eq!(teacher[0][1], None);
        let gap = &h.panels[1];
        assert_eq!(gap.title, "NLL gap, student predictive (U_s) - teacher");
        // Gaps 0.01 and 0.03 -> 0.02; 0.40 - 0.36; 0.18 - 0.14.
        assert!(
            close(gap.values[1][0], 0.02)
                && close(gap.values[1][1], 0.04)
                && close(gap.values[0][0], 0.04)
        );
        assert_eq!(h.panels.len(), 2);
    }

    #[test]
    fn only_the_heatmaps_the_grid_supports() {
        let seeds = sweep(
            &["seed"],
            vec![row(&[("seed", "0")], (60000, 0, 0), (0.05, 0.06))],
        );
        assert!(heatmaps(&seeds).is_empty());
        // A width axis without a mask axis: one column of masks, one panel per resized
        // student; a width axis that resizes nobody draws nothing.
        let key = "students.0.width";
        let mut small = row(&[(key, "0.5;0.5")], (60000, 0, 0), (0.05, 0.09));
        small.width = [0.5, 0.5];
        let large = row(&[(key, "1.0;1.0")], (60000, 0, 0), (0.05, 0.06));
        let maps = heatmaps(&sweep(&[key], vec![small.clone(), large.clone()]));
        assert_eq!(maps.len(), 1);
        assert_eq!(maps[0].stem, "heatmap_width_mask_students_0_width");
        assert_eq!(
            (maps[0].y_labels.clone(), maps[0].x_labels.len()),
            (vec!["0.5;0.5".to_string(), "1.0;1.0".into()], 1)
        );
        small.width = [1.0, 1.0];
        assert!(heatmaps(&sweep(&[key], vec![small, large])).is_empty());
    }
}
