//! The evaluation's outputs as files: `eval.json`, every number of [`EvalResults`] under
//! stable snake_case names (absent values as `null`), and `report.md`, a Markdown report
//! readable on its own: what was evaluated, the tables of calibration, uncertainty, OOD
//! detection, ranking and agreement, the figures, and what each metric means.
//!
//! `eval.json` keys (MODEL = `teacher` or `students.NAME`, NAME a predictive or a Dirichlet
//! (EnD^2) student, whose predictive is its alpha / alpha_0 and whose uncertainties are its
//! Dirichlet's):
//! - `run_dir`, `dataset`, `arch`, `mask_size`, `iterations`, `ensemble_samples`, `test_size`;
//!   `ood` = null or {`name`, `source` (`catalogue`|`folder`), `size`, `teacher_scored`};
//!   `settings` = {`ece_bins`, `ranking_inputs`, `ranking_k`, `ranking_trials`, `ranking_seed`,
//!   `fpr_at_tpr`}; `notes` (strings).
//! - MODEL.`calibration` = {`accuracy`, `nll`, `brier`, `ece`, `reliability` (bins of `lo`,
//!   `hi`, `count`, `accuracy`, `confidence`), `rejection_auc`, `rejection_curve` {`rejected`,
//!   `accuracy`}}.
//! - MODEL.`uncertainty_test` and MODEL.`uncertainty_ood` (null without OOD scores) =
//!   {`total`, `aleatoric`, `knowledge`}: means in nats.
//! - MODEL.`ood_detection` (null without OOD scores) = {`total`, `knowledge`}, each
//!   {`auroc`, `aupr`, `fpr_at_95_tpr`}.
//! - `students.NAME` also: `target` (`predictive`|`dirichlet`), `entropy_student`, `ranking` = {`total`, `knowledge`} each
//!   {`mean`, `std`} of nDCG@k, and `agreement` = {`total_mae`, `aleatoric_mae`,
//!   `knowledge_mae`, `knowledge_negative_fraction`}.
//! - `ood_flag` (null when the run chose no OOD threshold) = {`student`, `score`, `tpr`,
//!   `threshold`, `holdout`, `holdout_tpr`, `test_tpr` (share of test inputs not flagged),
//!   `ood_flagged` (share of the OOD set flagged, null without one)}.
//! - `diagnostics` (null when the run's `metrics.json` has none) = {`chains`,
//!   `draws_per_chain`, `draw_stride`, `inputs`, `quantities`, `diagnosed`, `rhat`
//!   {`median`, `max`}, `ess` {`median`, `min`}}: the teacher chains' convergence, as the run
//!   computed it.

use super::ood::DetectionScores;
use super::plots::PlotFile;
use super::results::{EvalResults, ModelResults};
use crate::base::write_atomic;
use crate::config::Target;
use crate::sampler::diagnostics::Diagnostics;
use crate::{Error, Result};
use std::fmt::Write;
use std::path::Path;

/// Writes `eval.json` and `report.md` into `dir`.
pub fn write_report(dir: &Path, results: &EvalResults, plots: &[PlotFile]) -> Result<()> {
    let json = serde_json::to_string_pretty(results)
        .map_err(|e| Error::InvalidArgument(format!("eval.json: {e}")))?;
    write_atomic(&dir.join("eval.json"), json.as_bytes())?;
    write_atomic(&dir.join("report.md"), markdown(results, plots).as_bytes())
}

/// A number with 4 decimals, or an em dash when absent or not finite.
fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.4}"),
        _ => "—".into(),
    }
}

/// Every model's results with its display name, the teacher first.
fn models(r: &EvalResults) -> Vec<(String, &ModelResults)> {
    std::iter::once(("teacher ensemble".to_string(), &r.teacher))
        .chain(r.students.iter().map(|(name, s)| {
            let pair = match (&s.entropy_student, s.target) {
                (Some(e), _) => format!(" + {e}"),
                (None, Target::Dirichlet) => " (Dirichlet, EnD²)".into(),
                (None, _) => String::new(),
            };
            (format!("student {name}{pair}"), &s.model)
        }))
        .collect()
}

/// The Markdown report.
pub fn markdown(r: &EvalResults, plots: &[PlotFile]) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = write_markdown(&mut md, r, plots);
    md
}

/// One figure of a markdown report: its heading, the PNG `STEM.png`, and the caption with a
/// link to the vector version `STEM.svg`.
pub fn write_figure(md: &mut String, title: &str, stem: &str, caption: &str) -> std::fmt::Result {
    writeln!(md, "### {title}\n")?;
    writeln!(md, "![{title}]({stem}.png)\n")?;
    writeln!(
        md,
        "{caption} (Vector version: [{stem}.svg]({stem}.svg).)\n"
    )
}

fn write_markdown(md: &mut String, r: &EvalResults, plots: &[PlotFile]) -> std::fmt::Result {
    writeln!(md, "# GPED evaluation\n")?;
    writeln!(md, "Run folder: `{}`\n", r.run_dir)?;
    writeln!(md, "| | |\n|---|---|")?;
    writeln!(
        md,
        "| dataset | {} (test set: {} inputs, occlusion square m = {}) |",
        r.dataset, r.test_size, r.mask_size
    )?;
    writeln!(md, "| teacher architecture | {} |", r.arch)?;
    writeln!(md, "| iterations T | {} |", r.iterations)?;
    writeln!(
        md,
        "| posterior samples in the teacher ensemble | {} |",
        r.ensemble_samples
    )?;
    match &r.ood {
        Some(o) => writeln!(
            md,
            "| OOD set | {} ({}, {} inputs; teacher scored: {}) |",
            o.name,
            match o.source {
                super::OodSource::Catalogue => "catalogue dataset",
                super::OodSource::Folder => "IDX folder",
            },
            o.size,
            if o.teacher_scored { "yes" } else { "no" }
        )?,
        None => writeln!(md, "| OOD set | none |")?,
    }
    writeln!(md)?;
    for note in &r.notes {
        writeln!(md, "> {note}\n")?;
    }
    if let Some(d) = &r.diagnostics {
        write_diagnostics(md, d)?;
    }

    writeln!(md, "## Calibration and selective prediction (test set)\n")?;
    writeln!(
        md,
        "| model | accuracy | NLL | Brier | ECE ({} bins) | accuracy-rejection AUC |",
        r.settings.ece_bins
    )?;
    writeln!(md, "|---|---|---|---|---|---|")?;
    for (name, m) in models(r) {
        let c = &m.calibration;
        writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} |",
            num(Some(c.accuracy)),
            num(Some(c.nll)),
            num(Some(c.brier)),
            num(Some(c.ece)),
            num(Some(c.rejection_auc))
        )?;
    }

    writeln!(md, "\n## Mean uncertainty (nats)\n")?;
    writeln!(
        md,
        "| model | total (test) | aleatoric (test) | knowledge (test) | total (OOD) | aleatoric (OOD) | knowledge (OOD) |"
    )?;
    writeln!(md, "|---|---|---|---|---|---|---|")?;
    for (name, m) in models(r) {
        let (t, o) = (&m.uncertainty_test, m.uncertainty_ood.as_ref());
        writeln!(
            md,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            num(Some(t.total)),
            num(t.aleatoric),
            num(t.knowledge),
            num(o.map(|o| o.total)),
            num(o.and_then(|o| o.aleatoric)),
            num(o.and_then(|o| o.knowledge))
        )?;
    }

    if let Some(ood) = &r.ood {
        writeln!(
            md,
            "\n## OOD detection: {} against the test set\n",
            ood.name
        )?;
        writeln!(
            md,
            "| model | score | AUROC | AUPR | FPR at 95% TPR |\n|---|---|---|---|---|"
        )?;
        let row = |md: &mut String, name: &str, score: &str, d: Option<&DetectionScores>| {
            writeln!(
                md,
                "| {name} | {score} | {} | {} | {} |",
                num(d.map(|d| d.auroc)),
                num(d.map(|d| d.aupr)),
                num(d.map(|d| d.fpr_at_95_tpr))
            )
        };
        for (name, m) in models(r) {
            let det = m.ood_detection.as_ref();
            row(md, &name, "total", det.map(|d| &d.total))?;
            row(
                md,
                &name,
                "knowledge",
                det.and_then(|d| d.knowledge.as_ref()),
            )?;
        }
    }

    if let Some(flag) = &r.ood_flag {
        writeln!(md, "\n## OOD flag (`gped predict`)\n")?;
        writeln!(
            md,
            "Student `{}` flags an input when its {} uncertainty exceeds {:.4} nats, the \
             threshold the run chose on {} held-out training images to let {:.1}% of them \
             pass ({:.1}% did).\n",
            flag.student,
            flag.rule.score,
            flag.rule.threshold,
            flag.rule.holdout,
            100.0 * flag.rule.tpr,
            100.0 * flag.rule.holdout_tpr
        )?;
        writeln!(
            md,
            "| set | share not flagged | share flagged |\n|---|---|---|"
        )?;
        writeln!(
            md,
            "| test | {} | {} |",
            num(Some(flag.test_tpr)),
            num(Some(1.0 - flag.test_tpr))
        )?;
        if let (Some(share), Some(ood)) = (flag.ood_flagged, &r.ood) {
            writeln!(
                md,
                "| {} (OOD) | {} | {} |",
                ood.name,
                num(Some(1.0 - share)),
                num(Some(share))
            )?;
        }
    }

    if !r.students.is_empty() {
        writeln!(
            md,
            "\n## Uncertainty ranking: nDCG@{} of the student's order against the teacher's\n",
            r.settings.ranking_k
        )?;
        writeln!(
            md,
            "{} trials of {} random test inputs (seed {}); mean ± standard deviation.\n",
            r.settings.ranking_trials, r.settings.ranking_inputs, r.settings.ranking_seed
        )?;
        writeln!(md, "| student | total | knowledge |\n|---|---|---|")?;
        for (name, s) in &r.students {
            let fmt = |n: Option<super::NdcgStats>| {
                n.map_or("—".to_string(), |n| {
                    format!("{:.4} ± {:.4}", n.mean, n.std)
                })
            };
            writeln!(
                md,
                "| {name} | {} | {} |",
                fmt(Some(s.ranking.total)),
                fmt(s.ranking.knowledge)
            )?;
        }
        writeln!(
            md,
            "\n## Per-input agreement with the teacher (test set, nats)\n"
        )?;
        writeln!(
            md,
            "| student | total MAE | expected-entropy MAE | knowledge MAE | inputs with knowledge < 0 |"
        )?;
        writeln!(md, "|---|---|---|---|---|")?;
        for (name, s) in &r.students {
            let a = &s.agreement;
            writeln!(
                md,
                "| {name} | {} | {} | {} | {} |",
                num(Some(a.total_mae)),
                num(a.aleatoric_mae),
                num(a.knowledge_mae),
                num(a.knowledge_negative_fraction)
            )?;
        }
    }

    writeln!(md, "\n## Figures\n")?;
    for p in plots {
        write_figure(md, &p.title, &p.stem, &p.caption)?;
    }

    writeln!(md, "## Definitions\n")?;
    for line in DEFINITIONS {
        writeln!(md, "- {line}")?;
    }
    writeln!(
        md,
        "\nEvery number above is in `eval.json` under the same names."
    )
}

/// The teacher chains' convergence: split R-hat and ESS, median and worst.
fn write_diagnostics(md: &mut String, d: &Diagnostics) -> std::fmt::Result {
    writeln!(md, "## Teacher chains: convergence\n")?;
    writeln!(
        md,
        "Over {} of the {} class probabilities p(y = k | x, θ) on the first {} test inputs, \
         from {} chain(s) of {} draws (one every {} evaluation point(s)){}.\n",
        d.diagnosed,
        d.quantities,
        d.inputs,
        d.chains,
        d.draws_per_chain,
        d.draw_stride,
        if d.chains == 1 {
            "; with one chain, R-hat compares its first and last halves"
        } else {
            ""
        }
    )?;
    writeln!(md, "| | median | worst |\n|---|---|---|")?;
    let inf = |v: Option<f64>| v.map_or("∞".to_string(), |v| format!("{v:.4}"));
    writeln!(
        md,
        "| split R-hat | {} | {} |",
        inf(d.rhat.median),
        inf(d.rhat.max)
    )?;
    writeln!(
        md,
        "| ESS (of {} draws) | {:.1} | {:.1} |\n",
        d.chains * d.draws_per_chain,
        d.ess.median,
        d.ess.min
    )
}

const DEFINITIONS: &[&str] = &[
    "**Teacher ensemble**: the average over the posterior samples θ_s taken by SGLD after burn-in of p(y|x,θ_s) (predictive) and of H[p(y|x,θ_s)] (expected entropy), streamed during the run.",
    "**Students**: the predictive student f(y|x) (softmax) and the expected-entropy student (exp output), one forward pass each. A Dirichlet student (EnD², Malinin et al. 2020) outputs concentrations α = exp(z): its predictive is α/α₀ (α₀ = Σ_k α_k), its aleatoric uncertainty −Σ_k (α_k/α₀)(ψ(α_k+1) − ψ(α₀+1)) and its knowledge uncertainty total − aleatoric, all from one forward pass.",
    "**Total uncertainty**: H[p(y|x)] = −Σ_y p ln p of the predictive distribution. **Aleatoric**: the expected entropy E_θ H[p(y|x,θ)]. **Knowledge** (epistemic): total − aleatoric, the mutual information between y and θ; ≥ 0 for the teacher, possibly slightly negative for the students, whose two terms are separate estimates.",
    "**ECE**: Σ_b |B_b|/n · |accuracy(B_b) − confidence(B_b)| over equal-width bins ((b−1)/B, b/B] of the max probability (Guo et al., 2017). **Brier**: mean over inputs of Σ_y (p_y − 1[y = label])². **NLL**: mean −ln p(label|x).",
    "**Accuracy-rejection curve**: accuracy on the inputs kept when the most uncertain (by total uncertainty) are rejected first; its area is the mean accuracy over all kept-set sizes n, n−1, …, 1.",
    "**OOD detection**: the OOD inputs are the positive class, scored by an uncertainty (higher = more likely OOD). AUROC is the Mann-Whitney statistic with ties counted ½; AUPR is the average precision; FPR at 95% TPR is the false-positive rate at the highest threshold detecting at least 95% of the OOD inputs.",
    "**Split R-hat** (BDA3): each teacher chain's draws of a quantity are cut in halves; with W the mean within-half variance and B/n the variance of the half means, R-hat = √(((n−1)/n·W + B/n)/W). Near 1 (below about 1.01) when the chains agree; with one chain it compares its two halves. **ESS**: the number of independent draws worth as much, C·n/τ with τ = 1 + 2Σρ_t the chains' integrated autocorrelation (Geyer's initial monotone sequence, as Stan and ArviZ); with one chain from its own autocorrelation.",
    "**nDCG@k**: for random subsets of test inputs, the student orders them by its uncertainty; DCG@k = Σ_{i≤k} rel_i / log2(i+1) with rel the teacher's uncertainty of the i-th input (linear gain, Järvelin & Kekäläinen 2002), divided by the DCG of the teacher's own order. 1 = the student puts the teacher's k most uncertain inputs first, in order.",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::calibration::calibration;
    use crate::eval::results::{EvalSettings, UncertaintyMeans};
    use std::collections::BTreeMap;

    /// A teacher-only evaluation without OOD set, from two hand-made test inputs.
    fn teacher_only() -> EvalResults {
        let probs = [0.9, 0.1, 0.3, 0.7];
        EvalResults {
            run_dir: "runs/x".into(),
            dataset: "mnist".into(),
            arch: "fcnn".into(),
            mask_size: 0,
            iterations: 10,
            ensemble_samples: 2,
            test_size: 2,
            ood: None,
            settings: EvalSettings {
                ece_bins: 15,
                ranking_inputs: 100,
                ranking_k: 20,
                ranking_trials: 500,
                ranking_seed: 1,
                fpr_at_tpr: 0.95,
            },
            teacher: ModelResults {
                calibration: calibration(&probs, &[0, 0], 2, &[0.3, 0.6]),
                uncertainty_test: UncertaintyMeans {
                    total: 0.5,
                    aleatoric: Some(0.4),
                    knowledge: Some(0.1),
                },
                uncertainty_ood: None,
                ood_detection: None,
            },
            students: BTreeMap::new(),
            ood_flag: None,
            diagnostics: None,
            notes: vec!["No OOD set.".into()],
        }
    }

    #[test]
    fn teacher_only_report_has_its_tables_and_no_ood_section() {
        let md = markdown(&teacher_only(), &[]);
        assert!(md.contains("| OOD set | none |"));
        assert!(md.contains("> No OOD set."));
        // Accuracy 1/2 (0.9 right, 0.3 wrong), knowledge 0.1 in the uncertainty table.
        assert!(md.contains("| teacher ensemble | 0.5000 |"), "{md}");
        assert!(md.contains("| 0.1000 | — |"), "{md}");
        assert!(!md.contains("## OOD detection") && !md.contains("nDCG@20 of"));
        assert!(!md.contains("## Teacher chains"));
    }

    #[test]
    fn chain_diagnostics_have_their_table_when_present() {
        use crate::sampler::diagnostics::{EssSummary, RhatSummary};
        let mut r = teacher_only();
        r.diagnostics = Some(Diagnostics {
            chains: 2,
            draws_per_chain: 50,
            draw_stride: 1,
            inputs: 100,
            quantities: 1000,
            diagnosed: 1000,
            rhat: RhatSummary {
                median: Some(1.002),
                max: None,
            },
            ess: EssSummary {
                median: 80.0,
                min: 12.5,
            },
        });
        let md = markdown(&r, &[]);
        assert!(md.contains("## Teacher chains: convergence"), "{md}");
        assert!(md.contains("| split R-hat | 1.0020 | ∞ |"), "{md}");
        assert!(md.contains("| ESS (of 100 draws) | 80.0 | 12.5 |"), "{md}");
    }

    #[test]
    fn json_uses_null_for_absent_values() {
        let dir = tempfile::tempdir().unwrap();
        write_report(dir.path(), &teacher_only(), &[]).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("eval.json")).unwrap())
                .unwrap();
        assert!(v["ood"].is_null() && v["teacher"]["ood_detection"].is_null());
        assert_eq!(v["teacher"]["calibration"]["accuracy"], 0.5);
        assert!(dir.path().join("report.md").is_file());
    }
}
