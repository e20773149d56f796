//! End-to-end `gped predict`: a short run (made here through the binary, on the real files of
//! `GPED_DATA_DIR`, else on the synthetic folder of `tests/common/synthetic.rs`) answers IDX
//! images files (raw, gzipped, on stdin), PNG and JPEG files and folders of them; its JSON
//! lines equal `infer::Distilled` called directly on the pixels scaled here by hand (p / 255),
//! the OOD flag included (the run held out 500 training images and chose its threshold on
//! them); CSV has the documented header and `--out` writes the file; without an entropy
//! student aleatoric and epistemic are null; and images of another size, corrupt pictures and
//! empty folders fail with the file and what was expected.

mod common;

use common::cli::{gped, s, text};
use gped::config::RunConfig;
use gped::infer::{Distilled, Predictions};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// A short run: 200 iterations with 100 of burn-in, small students at every step.
const CONFIG: &str = r#"
seed = 5
[data]
dataset = "mnist"
mask_size = 10
holdout = 500
[schedule]
iterations = 200
burn_in = 100
[[students]]
name = "predictive"
target = "predictive"
thinning = 1
width = [0.1, 0.1]
[[students]]
name = "entropy"
target = "entropy"
estimator = "running-mean"
loss = "l1"
thinning = 1
width = [0.1, 0.1]
[eval]
every = 100
log_every = 100
"#;

/// The run folder shared by the tests (made once).
fn short_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    common::cli::shared_run(&RUN, CONFIG)
}

/// `n` 28x28 images (pixel k is k mod 256, shifted by `shift` so the images differ).
fn images(n: u32, shift: u8) -> Vec<u8> {
    let mut bytes = common::idx_images(n, 28, 28);
    for p in &mut bytes[16..] {
        *p = p.wrapping_add(shift);
    }
    bytes
}

/// `Distilled` on the pixels of an IDX images file, scaled to [0, 1] here.
fn direct(run: &Path, idx: &[u8]) -> Predictions {
    let pixels: Vec<f32> = idx[16..].iter().map(|&p| p as f32 / 255.0).collect();
    Distilled::open(run).unwrap().predict(&pixels).unwrap()
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(out.status.success(), "gped predict failed\n{}", text(out));
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn f32_of(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// Checks `lines` against `expected`, for input `input`.
fn assert_lines(lines: &[Value], input: &str, expected: &Predictions) {
    let u = &expected.uncertainty;
    assert_eq!(lines.len(), u.total.len());
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["input"], input);
        assert_eq!(line["index"], i);
        assert_eq!(line["class"], expected.class[i]);
        let probs: Vec<f32> = line["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(f32_of)
            .collect();
        assert_eq!(probs, expected.probs[i * 10..(i + 1) * 10]);
        assert_eq!(f32_of(&line["total"]), u.total[i]);
        match (&u.aleatoric, &u.knowledge) {
            (Some(a), Some(k)) => {
                assert_eq!(f32_of(&line["aleatoric"]), a[i]);
                assert_eq!(f32_of(&line["epistemic"]), k[i]);
            }
            _ => {
                assert!(line["aleatoric"].is_null(), "{line}");
                assert!(line["epistemic"].is_null(), "{line}");
            }
        }
        match &expected.ood {
            Some(flags) => assert_eq!(line["ood"], flags[i], "{line}"),
            None => assert!(line["ood"].is_null(), "{line}"),
        }
    }
}

#[test]
fn json_lines_equal_the_students_called_directly() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (images(3, 0), images(2, 77));
    let raw = tmp.path().join("a-images-idx3-ubyte");
    let gz = tmp.path().join("b-images-idx3-ubyte.gz");
    std::fs::write(&raw, &a).unwrap();
    std::fs::write(&gz, common::gzip(&b)).unwrap();
    let lines = json_lines(&gped(&["predict", s(run), s(&raw), s(&gz)]));
    assert_eq!(lines.len(), 5);
    let expected_a = direct(run, &a);
    assert!(expected_a.uncertainty.aleatoric.is_some());
    assert!(expected_a.ood.is_some(), "the run chose an OOD threshold");
    assert_lines(&lines[..3], s(&raw), &expected_a);
    assert_lines(&lines[3..], s(&gz), &direct(run, &b));

    // The same file on stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(["predict", s(run), "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&common::gzip(&a))
        .unwrap();
    let lines = json_lines(&child.wait_with_output().unwrap());
    assert_lines(&lines, "-", &expected_a);
}

#[test]
fn csv_has_one_column_per_class_and_goes_to_the_out_file() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("images.idx");
    std::fs::write(&input, images(4, 3)).unwrap();
    let csv = tmp.path().join("answers.csv");
    let out = gped(&[
        "predict",
        s(run),
        s(&input),
        "--format",
        "csv",
        "--out",
        s(&csv),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
    let content = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = content.lines().collect();
    assert_eq!(
        rows[0],
        "input,index,class,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,total,aleatoric,epistemic,ood"
    );
    assert_eq!(rows.len(), 5);
    let expected = direct(run, &images(4, 3));
    for (i, row) in rows[1..].iter().enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), 17, "{row}");
        assert_eq!(cells[0], s(&input));
        assert_eq!(cells[1], i.to_string());
        assert_eq!(cells[2], expected.class[i].to_string());
        let p: f32 = cells[3].parse().unwrap();
        assert_eq!(p, expected.probs[i * 10]);
        let epistemic: f32 = cells[15].parse().unwrap();
        assert_eq!(
            epistemic,
            expected.uncertainty.knowledge.as_ref().unwrap()[i]
        );
        assert_eq!(cells[16], expected.ood.as_ref().unwrap()[i].to_string());
    }
}

#[test]
fn without_an_entropy_student_aleatoric_and_epistemic_are_null() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("run");
    std::fs::create_dir_all(copy.join("students")).unwrap();
    let mut cfg = RunConfig::load(run.join("config.toml")).unwrap();
    cfg.students.truncate(1);
    cfg.save(copy.join("config.toml")).unwrap();
    std::fs::copy(
        run.join("students/predictive.safetensors"),
        copy.join("students/predictive.safetensors"),
    )
    .unwrap();
    let input = tmp.path().join("images.idx");
    std::fs::write(&input, images(2, 9)).unwrap();
    let lines = json_lines(&gped(&["predict", s(&copy), s(&input)]));
    let expected = direct(&copy, &images(2, 9));
    assert_eq!(expected.uncertainty.aleatoric, None);
    assert_lines(&lines, s(&input), &expected);
}

#[test]
fn images_of_another_size_name_the_file_and_both_shapes() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("cifar-sized.idx");
    std::fs::write(&input, common::idx_images(2, 32, 32)).unwrap();
    let out = gped(&["predict", s(run), s(&input)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    for part in [s(&input), "[1, 32, 32]", "[1, 28, 28]"] {
        assert!(err.contains(part), "{part}: {err}");
    }
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn the_run_chose_its_ood_threshold_on_the_held_out_images() {
    let run = short_run();
    let text = std::fs::read_to_string(run.join("ood_threshold.json")).unwrap();
    let t: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(t["score"], "total");
    assert_eq!(t["tpr"], 0.95);
    assert_eq!(t["holdout"], 500);
    // ceil(0.95 * 500) = 475 of the 500 held-out scores are <= the threshold, more only by
    // ties.
    assert!(t["holdout_tpr"].as_f64().unwrap() >= 0.95, "{t}");
    let metrics: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["ood_threshold"], t);
}

/// `idx` (an IDX images file of 28x28 images) as one greyscale PNG per image, `NAME-i.png`.
fn pngs(dir: &Path, name: &str, idx: &[u8]) -> Vec<PathBuf> {
    idx[16..]
        .chunks_exact(784)
        .enumerate()
        .map(|(i, pixels)| {
            let path = dir.join(format!("{name}-{i}.png"));
            image::GrayImage::from_raw(28, 28, pixels.to_vec())
                .unwrap()
                .save(&path)
                .unwrap();
            path
        })
        .collect()
}

#[test]
fn png_files_and_folders_equal_the_same_pixels_as_idx() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let idx = images(3, 40);
    let expected = direct(run, &idx);
    let files = pngs(tmp.path(), "digit", &idx);
    std::fs::write(tmp.path().join("notes.txt"), "not an image").unwrap();
    // One file: one line, index 0.
    let lines = json_lines(&gped(&["predict", s(run), s(&files[1])]));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["input"], s(&files[1]));
    assert_eq!(lines[0]["index"], 0);
    assert_eq!(lines[0]["class"], expected.class[1]);
    assert_eq!(f32_of(&lines[0]["total"]), expected.uncertainty.total[1]);
    // The folder: its three PNGs in name order (the text file skipped), each named by path.
    let lines = json_lines(&gped(&["predict", s(run), s(tmp.path())]));
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["input"], s(&files[i]));
        assert_eq!(line["index"], 0);
        assert_eq!(line["class"], expected.class[i]);
        assert_eq!(f32_of(&line["total"]), expected.uncertainty.total[i]);
        let k = expected.uncertainty.knowledge.as_ref().unwrap();
        assert_eq!(f32_of(&line["epistemic"]), k[i]);
        assert_eq!(line["ood"], expected.ood.as_ref().unwrap()[i]);
    }
}

#[test]
fn a_colour_jpeg_of_another_size_is_greyscaled_and_resized() {
    // A flat colour stays flat under resizing; its luma, 0.2126 R + 0.7152 G + 0.0722 B of
    // (30, 200, 90) = 155.9, is what the students must see (JPEG may move it by a level).
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("photo.JPG");
    image::RgbImage::from_pixel(60, 45, image::Rgb([30, 200, 90]))
        .save_with_format(&path, image::ImageFormat::Jpeg)
        .unwrap();
    let lines = json_lines(&gped(&["predict", s(run), s(&path)]));
    assert_eq!(lines.len(), 1);
    let mut distilled = Distilled::open(run).unwrap();
    let lo = distilled.predict(&[154.0 / 255.0; 784]).unwrap();
    let hi = distilled.predict(&[158.0 / 255.0; 784]).unwrap();
    let total = f32_of(&lines[0]["total"]);
    let (a, b) = (lo.uncertainty.total[0], hi.uncertainty.total[0]);
    assert!(
        total >= a.min(b) - 1e-3 && total <= a.max(b) + 1e-3,
        "{total} not between {a} and {b}"
    );
}

#[test]
fn corrupt_pictures_and_empty_folders_are_named() {
    let run = short_run();
    let tmp = tempfile::tempdir().unwrap();
    let files = pngs(tmp.path(), "cut", &images(1, 0));
    let bytes = std::fs::read(&files[0]).unwrap();
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).unwrap();
    let out = gped(&["predict", s(run), s(&files[0])]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(s(&files[0])) && err.contains("PNG or JPEG"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let empty = tempfile::tempdir().unwrap();
    let out = gped(&["predict", s(run), s(empty.path())]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(s(empty.path())) && err.contains(".png"),
        "{err}"
    );
}
