//! What the fuzz targets share: the check every error must pass, the tiny run whose state the
//! `checkpoint` target loads fuzzed checkpoints into, and a valid checkpoint of it (the seed of
//! that target's corpus).

use gped::base::{StateWriter, Stateful};
use gped::checkpoint::{self, Checkpoint, Header};
use gped::config::{RunConfig, ValidConfig};
use gped::data::Dataset;
use gped::distill::{RunData, RunState};
use std::path::Path;
use std::sync::OnceLock;

/// An error must say something and name the file it is about.
pub fn check_err(err: &gped::Error, path: &Path) {
    let msg = err.to_string();
    assert!(!msg.is_empty(), "empty error message: {err:?}");
    assert!(
        msg.contains(&path.display().to_string()),
        "error does not name {}: {msg}",
        path.display()
    );
}

/// The run every fuzzed checkpoint is loaded into: the MNIST CNN teacher (29,880 weights, so a
/// valid checkpoint stays near 150 KB), two narrow students (U_s with dropout, U_o), 8 pool
/// inputs, 4 test inputs and 4 OOD inputs of 28x28.
pub fn checkpoint_fixture() -> &'static (ValidConfig, RunData) {
    static FIXTURE: OnceLock<(ValidConfig, RunData)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let overrides: Vec<String> = [
            "teacher.arch=\"mnist-cnn\"",
            "schedule.iterations=100",
            "schedule.burn_in=5",
            "students.0.width=[0.2,0.2]",
            "students.1.width=[0.2,0.2]",
            "pool.batch_size=4",
            "sampler.batch_size=4",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let cfg = RunConfig::default()
            .with_overrides(&overrides)
            .and_then(|c| c.validate())
            .expect("fixture config is valid");
        let images = |n: usize, seed: usize| -> Dataset {
            let pixels = (0..n * 784)
                .map(|i| ((i * 31 + seed) % 97) as f32 / 97.0)
                .collect();
            let labels = (0..n).map(|i| (i % 10) as u8).collect();
            Dataset::new(pixels, labels, [1, 28, 28], 10).expect("fixture dataset")
        };
        let data = RunData {
            train: images(8, 1),
            teacher_indices: (0..8).collect(),
            test: images(4, 2),
            ood: Some(images(4, 3)),
            holdout: None,
        };
        (cfg, data)
    })
}

/// A valid checkpoint of the fixture run at iteration 10 (its fresh state).
pub fn checkpoint_seed() -> Vec<u8> {
    let (cfg, data) = checkpoint_fixture();
    let mut state = RunState::new(cfg, data).expect("fixture state");
    state.next = 10;
    let mut out = StateWriter::new();
    state.save_state("", &mut out);
    let header = Header {
        iteration: 10,
        config: (**cfg).clone(),
        metrics_jsonl_bytes: 0,
    };
    let dir = std::env::temp_dir().join(format!("gped-fuzz-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp folder");
    let path = Checkpoint::path_in(&dir);
    checkpoint::write(&path, &header, out).expect("seed checkpoint");
    let bytes = std::fs::read(&path).expect("seed bytes");
    let _ = std::fs::remove_dir_all(&dir);
    debug_assert!(Path::new(&path).extension().is_some());
    bytes
}
