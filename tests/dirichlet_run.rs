//! End to end with an EnD^2 `dirichlet` student: a short run (through the binary, on the real
//! files of `GPED_DATA_DIR`, else on the synthetic folder of `tests/common/synthetic.rs`)
//! with a predictive and a Dirichlet student on the same teacher chain, Fashion-MNIST as OOD
//! set; `metrics.json` scores the Dirichlet student (expected predictive NLL, aleatoric and
//! knowledge MAE); `gped eval` puts it beside the predictive student in `eval.json` and
//! `report.md`, and its NLL, accuracy and mean knowledge uncertainty there equal those
//! computed here from its weights (alpha = exp of its f64 outputs, predictive alpha / alpha_0,
//! knowledge by `uncertainty::dirichlet_uncertainty`, unit-tested against Monte Carlo);
//! `gped predict` (`infer::Distilled`) still answers with the predictive student.

mod common;

use common::cli::{eval_json, number, read_json, short_run};
use common::reference::{self, Mlp};
use gped::config::RunConfig;
use gped::data::occluded_test_set;

/// A short run: 10x10 occlusion, 400 iterations with 200 of burn-in, both students at every
/// step, the Dirichlet student's temperature annealed over its first 100 steps.
const CONFIG: &str = r#"
seed = 5
[data]
dataset = "mnist"
mask_size = 10
ood = "fashion-mnist"
[schedule]
iterations = 400
burn_in = 200
[[students]]
name = "predictive"
thinning = 1
[[students]]
name = "end2"
target = "dirichlet"
thinning = 1
dirichlet_anneal_steps = 100
[eval]
every = 50
log_every = 100
"#;

#[test]
fn a_dirichlet_student_is_trained_scored_and_evaluated() {
    let (_tmp, run) = short_run(CONFIG);
    let data = common::test_data().dir();

    // metrics.json: the Dirichlet student's scores, under its name.
    let metrics = read_json(&run.join("metrics.json"));
    assert_eq!(metrics["students"]["end2"]["target"], "dirichlet");
    assert_eq!(number(&metrics, "/students/end2/steps"), 199.0);
    for key in [
        "student_nll",
        "student_acc",
        "aleatoric_mae",
        "knowledge_mae",
    ] {
        let v = number(&metrics, &format!("/students/end2/test/{key}"));
        assert!(v.is_finite() && v >= 0.0, "{key} {v}");
    }

    // gped eval: the Dirichlet student beside the predictive one.
    let (out_dir, eval) = eval_json(&run);
    let end2 = &eval["students"]["end2"];
    assert_eq!(end2["target"], "dirichlet");
    assert_eq!(eval["students"]["predictive"]["target"], "predictive");
    for pointer in [
        "/ood_detection/total/auroc",
        "/ood_detection/knowledge/auroc",
        "/ranking/total/mean",
        "/ranking/knowledge/mean",
        "/agreement/aleatoric_mae",
        "/agreement/knowledge_mae",
    ] {
        let v = number(end2, pointer);
        assert!(
            (0.0..=1.0).contains(&v) || pointer.contains("mae"),
            "{pointer} {v}"
        );
    }
    let report = std::fs::read_to_string(out_dir.path().join("report.md")).unwrap();
    assert!(
        report.contains("student end2 (Dirichlet, EnD²)"),
        "{report}"
    );
    assert!(
        !report.contains("`end2` has no entropy student"),
        "{report}"
    );

    // The eval's numbers recomputed here in f64 from the student's weights. gped runs the
    // network in f32 (each output within ~5e-6 of the exact one, as in tests/eval_cli.rs),
    // so alpha = exp(z) within 1e-5 of itself (relative) and the means within 1e-4.
    let cfg = RunConfig::load(run.join("config.toml"))
        .unwrap()
        .validate()
        .unwrap();
    let test = occluded_test_set(&cfg, data).unwrap();
    let net = Mlp::read(
        &run.join("students/end2.safetensors"),
        &["fc1", "fc2", "fc3"],
    );
    let alphas: Vec<Vec<f64>> = (0..test.len())
        .map(|i| {
            let x: Vec<f64> = test.image(i).iter().map(|&v| f64::from(v)).collect();
            net.forward(&x).iter().map(|z| z.exp()).collect()
        })
        .collect();
    let probs: Vec<Vec<f64>> = alphas
        .iter()
        .map(|a| a.iter().map(|v| v / a.iter().sum::<f64>()).collect())
        .collect();
    let c = reference::classification(&probs, test.labels(), 1e-5);
    let nll = number(end2, "/calibration/nll");
    assert!((nll - c.nll).abs() < 1e-4, "nll {nll} vs {}", c.nll);
    let acc = number(end2, "/calibration/accuracy");
    assert!(
        (acc - c.accuracy).abs() <= c.near_ties as f64 / test.len() as f64 + 1e-12,
        "accuracy {acc} vs {}",
        c.accuracy
    );
    let knowledge: Vec<f64> = alphas
        .iter()
        .map(|a| gped::uncertainty::dirichlet_uncertainty(a).knowledge)
        .collect();
    let found = number(end2, "/uncertainty_test/knowledge");
    let want = reference::mean(&knowledge);
    assert!(
        (found - want).abs() < 1e-4 * want.max(1.0),
        "knowledge {found} vs {want}"
    );

    // `gped predict`'s answers come from the predictive student, the Dirichlet one beside it:
    // its class probabilities are the predictive student's softmax, computed here.
    let predictive = Mlp::read(
        &run.join("students/predictive.safetensors"),
        &["fc1", "fc2", "fc3"],
    );
    let x = test.images()[..3 * 784].to_vec();
    let got = gped::infer::Distilled::open(&run)
        .unwrap()
        .predict(&x)
        .unwrap();
    for i in 0..3 {
        let row: Vec<f64> = x[i * 784..(i + 1) * 784]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let p = reference::softmax(&predictive.forward(&row));
        for (c, p) in p.iter().enumerate() {
            assert!(
                (f64::from(got.probs[i * 10 + c]) - p).abs() < 1e-5,
                "p[{i},{c}]"
            );
        }
    }
}
