//! End-to-end `gped report`: a hand-made sweep folder (one finished MNIST-CNN chain, one
//! chain not started; no training) is reported into `--out`: `results.csv`, `report.md` with
//! the Table 5 layout and the missing cell, and the heatmap as PNG and SVG. A folder that is
//! not a sweep fails with exit code 1, naming `sweep.json`.

use std::path::Path;
use std::process::{Command, Output};

fn gped(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gped"))
        .args(args)
        .output()
        .expect("gped runs")
}

/// Mask side {0, 15} on the MNIST CNN; the mask-0 chain finished, the mask-15 one not started.
fn sweep(dir: &Path) {
    let cell = |m: u32| {
        serde_json::json!({"name": format!("data.mask_size-{m}"), "settings": {"data.mask_size": m},
                           "chain": format!("data.mask_size-{m}"), "students": {"predictive": "predictive"}})
    };
    let chain = |m: u32| serde_json::json!({"name": format!("data.mask_size-{m}"), "dir": format!("chains/data.mask_size-{m}")});
    let doc = serde_json::json!({
        "format": "gped-sweep-1", "spec": {"axes": {"data.mask_size": [0, 15]}},
        "axes": {"data.mask_size": [0, 15]}, "varied": ["data.mask_size"],
        "cells": [cell(0), cell(15)], "chains": [chain(0), chain(15)],
    });
    std::fs::write(dir.join("sweep.json"), doc.to_string()).unwrap();
    let run = dir.join("chains/data.mask_size-0");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        run.join("config.toml"),
        "[teacher]\narch = \"mnist-cnn\"\n[[students]]\nname = \"predictive\"\nestimator = \"running-mean\"\n",
    )
    .unwrap();
    let test = serde_json::json!({"teacher_nll": 0.025, "teacher_acc": 0.99, "student_nll": 0.031, "student_acc": 0.99});
    let metrics = serde_json::json!({
        "teacher_nll": 0.025, "teacher_acc": 0.99, "ensemble_samples": 10, "iterations": 1000,
        "students": {"predictive": {"target": "predictive", "params": 10, "flops": 20, "steps": 5, "test": test}},
        "time": {"wall_s": 3.5, "ms_per_iteration": 3.5},
    });
    std::fs::write(run.join("metrics.json"), metrics.to_string()).unwrap();
}

#[test]
fn report_writes_csv_markdown_and_figures() {
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path());
    let out = dir.path().join("out");
    let o = gped(&[
        "report",
        dir.path().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("(1 rows)"), "{stdout}");
    assert!(
        stdout.contains("not finished: data.mask_size-15: chain data.mask_size-15: no folder"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.starts_with("cell,data.mask_size,mask_size,"), "{csv}");
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    // CNN-MNIST, no mask, U_o predictive student: Table 5's first row (0.022 / 0.053).
    assert!(md.contains("### Table 5 layout: CNN-MNIST"), "{md}");
    assert!(
        md.contains("| 60000 | 0.00 (0) | 0.025 (paper 0.022) | 0.031 (paper 0.053) | - | - | - |"),
        "{md}"
    );
    for ext in ["png", "svg"] {
        assert!(out.join(format!("heatmap_mask_subset.{ext}")).is_file());
    }
}

#[test]
fn a_folder_without_sweep_json_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = gped(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let file = dir.path().join("sweep.json").display().to_string();
    assert!(stderr.starts_with("error: sweep.json"), "{stderr}");
    assert!(
        stderr.contains(&file) && stderr.contains("gped sweep"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
