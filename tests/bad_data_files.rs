//! The catalogue of bad inputs, data files: each test runs the real `gped` binary on a fake data
//! folder of tiny IDX / CIFAR-10 files with one defect and checks that it fails cleanly while
//! loading, before any run folder is made: a non-zero exit code, a message on stderr naming
//! the file (and what was expected and found), no panic, and no file changed or left behind.
//! The config, output-folder and run-folder cases are in `tests/bad_inputs.rs`.

mod common;

use common::cli::{assert_fails_with, run_untouched, s};
use common::fixture::Fixture;

// ---------------------------------------------------------------------------------------------
// Data files

#[test]
fn truncated_idx_file() {
    let f = Fixture::new();
    let path = f.mnist("train-images-idx3-ubyte");
    std::fs::write(&path, &common::idx_images(3, 28, 28)[..1000]).unwrap();
    // 16 header bytes + 3 x 28 x 28 pixels.
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&path),
            "not a valid IDX file",
            "expected 2368 bytes, found 1000",
            "truncated",
        ],
    );
}

#[test]
fn empty_idx_file() {
    let f = Fixture::new();
    let path = f.mnist("t10k-labels-idx1-ubyte");
    std::fs::write(&path, b"").unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&path),
            "expected a header of 8 bytes",
            "found a file of 0 bytes",
        ],
    );
}

#[test]
fn wrong_magic_idx_file() {
    let f = Fixture::new();
    let path = f.mnist("train-images-idx3-ubyte");
    std::fs::write(&path, common::idx_labels(&[0, 1, 2])).unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&path),
            "expected magic number 0x00000803",
            "found 0x00000801",
        ],
    );
}

#[test]
fn gz_file_that_is_not_gzip() {
    let f = Fixture::new();
    let raw = f.mnist("train-images-idx3-ubyte");
    std::fs::remove_file(&raw).unwrap();
    let path = f.mnist("train-images-idx3-ubyte.gz");
    std::fs::write(&path, b"<html>404 not found</html>").unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&path),
            "not a valid IDX file",
            // "<htm" read as a big-endian u32.
            "expected magic number 0x00000803 (images), found 0x3c68746d",
            "named .gz but is neither gzip data nor IDX",
        ],
    );
}

#[test]
fn truncated_gzip_file() {
    let f = Fixture::new();
    let raw = f.mnist("t10k-images-idx3-ubyte");
    let gz = common::gzip(&std::fs::read(&raw).unwrap());
    std::fs::remove_file(&raw).unwrap();
    let path = f.mnist("t10k-images-idx3-ubyte.gz");
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[s(&path), "not a valid gzip file", "truncated or corrupt"],
    );
}

#[test]
fn image_and_label_counts_disagree() {
    let f = Fixture::new();
    let labels = f.mnist("train-labels-idx1-ubyte");
    std::fs::write(&labels, common::idx_labels(&[0, 1])).unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[
            s(&labels),
            s(&f.mnist("train-images-idx3-ubyte")),
            "expected 3 labels, one per image",
            "found 2",
        ],
    );
}

#[test]
fn label_out_of_range() {
    let f = Fixture::new();
    let labels = f.mnist("t10k-labels-idx1-ubyte");
    std::fs::write(&labels, common::idx_labels(&[3, 10])).unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[s(&labels), "label 1 is 10, expected a class below 10"],
    );
}

#[test]
fn images_of_the_wrong_size() {
    let f = Fixture::new();
    let path = f.mnist("train-images-idx3-ubyte");
    std::fs::write(&path, common::idx_images(3, 32, 32)).unwrap();
    assert_fails_with(
        &f.run(&[]),
        &[s(&path), "expected mnist images of 1x28x28, found 1x32x32"],
    );
}

#[test]
fn truncated_cifar_record() {
    let f = Fixture::new();
    let dir = f.data().join("cifar10");
    std::fs::create_dir_all(&dir).unwrap();
    const RECORD: usize = 1 + 3 * 32 * 32;
    for k in 1..=5 {
        std::fs::write(dir.join(format!("data_batch_{k}.bin")), vec![1; 2 * RECORD]).unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), vec![2; RECORD]).unwrap();
    let path = dir.join("data_batch_3.bin");
    std::fs::write(&path, vec![1; 2 * RECORD - 100]).unwrap();
    assert_fails_with(
        &f.run(&[
            "--set",
            "data.dataset=cifar10",
            "--set",
            "teacher.arch=cifar-cnn",
        ]),
        &[
            s(&path),
            "not a valid CIFAR-10 binary file",
            "expected a positive multiple of 3073 bytes",
            "found 6046 bytes",
        ],
    );
}

#[test]
fn missing_data_folder() {
    // Offline, so that nothing is fetched: the message lists the files and how to get them.
    let f = Fixture::new();
    let missing = f.root().join("no-such-data");
    let (config, out) = (f.config(), f.root().join("run"));
    let output = run_untouched(
        f.root(),
        &[
            "run",
            s(&config),
            "--data-dir",
            s(&missing),
            "--out",
            s(&out),
            "--quiet",
            "--offline",
        ],
    );
    assert_fails_with(
        &output,
        &[
            s(&missing),
            "files of mnist that this command reads are missing, and --offline forbids",
            &format!(
                "{}[.gz]  MD5 6bbc9ace898e44ae57da46a324031adb",
                s(&missing.join("mnist/train-images-idx3-ubyte"))
            ),
            "GPED_MIRROR=URL",
        ],
    );
}

#[test]
fn missing_data_file() {
    let f = Fixture::new();
    std::fs::remove_file(f.mnist("t10k-images-idx3-ubyte")).unwrap();
    // The config forbids fetching here (data.fetch = false), as --offline does.
    assert_fails_with(
        &f.run(&["--set", "data.fetch=false"]),
        &[
            "data.fetch = false forbids fetching",
            // Every missing file of the dataset, and only those.
            &format!("{}[.gz]", s(&f.mnist("t10k-images-idx3-ubyte"))),
            "data.fetch=true",
        ],
    );
    let out = f.run(&["--offline"]);
    assert_fails_with(&out, &["--offline forbids fetching"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("train-images"), "{stderr}");
}

#[test]
fn subset_larger_than_the_data() {
    // Valid in the config (below MNIST's 60000), but the data folder holds 3 training images.
    let f = Fixture::new();
    assert_fails_with(
        &f.run(&["--set", "data.train_subset=5"]),
        &[
            "config key `data.train_subset`",
            "3 examples",
            s(&f.data()),
            "found 5",
        ],
    );
}

#[test]
fn data_check_reports_a_corrupt_dataset() {
    // KMNIST has no published checksums, so the format check is what catches the damage (a
    // damaged MNIST file fails its checksum first).
    let f = Fixture::new();
    let kmnist = f.data().join("kmnist");
    std::fs::rename(f.data().join("mnist"), &kmnist).unwrap();
    let path = kmnist.join("train-images-idx3-ubyte");
    std::fs::write(&path, &common::idx_images(3, 28, 28)[..100]).unwrap();
    let data = f.data();
    let out = run_untouched(f.root(), &["data", "check", "--data-dir", s(&data)]);
    assert_fails_with(&out, &[s(&path), "expected 2368 bytes, found 100"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("kmnist ") && l.contains("invalid")),
        "{stdout}"
    );
}

#[test]
fn checksum_mismatch() {
    let f = Fixture::new();
    let path = f.mnist("train-images-idx3-ubyte");
    // Checksums are verified unless TINY's override is undone.
    assert_fails_with(
        &f.run(&["--set", "data.verify_checksums=true"]),
        &[
            s(&path),
            "checksum mismatch: expected MD5 6bbc9ace898e44ae57da46a324031adb",
            "data.verify_checksums=false",
        ],
    );
}
