//! The real MNIST and Fashion-MNIST files of `GPED_DATA_DIR` load with the published shapes,
//! label counts and checksums. Skipped (with a message) when `GPED_DATA_DIR` is unset.

mod common;

use std::time::Instant;

use gped::data::{ChecksumPolicy, DatasetStatus, Split, check_dataset, dataset_spec, load};

// Label histograms, computed independently of gped with Python's gzip + collections.Counter
// over shared/data/*/{train,t10k}-labels-idx1-ubyte.gz (bytes after the 8-byte header). The
// MNIST train counts are also the well-known published ones (5923 zeros, ..., 5949 nines).
const MNIST_TRAIN_COUNTS: [usize; 10] =
    [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const MNIST_TEST_COUNTS: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

#[test]
fn mnist_loads_with_published_shapes_counts_and_checksums() {
    let Some(dir) = common::real_data_dir("mnist_loads_with_published_shapes_counts_and_checksums")
    else {
        return;
    };
    let start = Instant::now();
    let train = load(&dir, "mnist", Split::Train, ChecksumPolicy::Verify).unwrap();
    eprintln!("MNIST train (gz, verified) loaded in {:?}", start.elapsed());
    assert_eq!(train.shape(), [60_000, 1, 28, 28]);
    assert_eq!(train.label_counts(), MNIST_TRAIN_COUNTS);
    assert!(train.images().iter().all(|v| (0.0..=1.0).contains(v)));
    // Pixels are k/255: the border of MNIST digits is 0, and the maximum is exactly 1.
    assert_eq!(train.image(0)[0], 0.0);
    assert_eq!(train.images().iter().cloned().fold(0.0, f32::max), 1.0);
    // The first training digit is the famous 5, the first test digit a 7.
    assert_eq!(train.label(0), 5);

    let test = load(&dir, "mnist", Split::Test, ChecksumPolicy::Verify).unwrap();
    assert_eq!(test.shape(), [10_000, 1, 28, 28]);
    assert_eq!(test.label_counts(), MNIST_TEST_COUNTS);
    assert_eq!(test.label(0), 7);
}

#[test]
fn fashion_mnist_loads_balanced_with_checksums() {
    let Some(dir) = common::real_data_dir("fashion_mnist_loads_balanced_with_checksums") else {
        return;
    };
    let train = load(&dir, "fashion-mnist", Split::Train, ChecksumPolicy::Verify).unwrap();
    assert_eq!(train.shape(), [60_000, 1, 28, 28]);
    assert_eq!(train.label_counts(), vec![6000; 10]);
    let test = load(&dir, "fashion-mnist", Split::Test, ChecksumPolicy::Verify).unwrap();
    assert_eq!(test.shape(), [10_000, 1, 28, 28]);
    assert_eq!(test.label_counts(), vec![1000; 10]);
    // Fashion-MNIST differs from MNIST (the OOD set must not be a copy).
    let mnist = load(&dir, "mnist", Split::Test, ChecksumPolicy::Verify).unwrap();
    assert_ne!(test.image(0), mnist.image(0));
}

#[test]
fn check_reports_both_datasets_present_and_verified() {
    let Some(dir) = common::real_data_dir("check_reports_both_datasets_present_and_verified")
    else {
        return;
    };
    for name in ["mnist", "fashion-mnist"] {
        match check_dataset(&dir, dataset_spec(name).unwrap()) {
            DatasetStatus::Present {
                train_shape,
                test_shape,
                checksums_verified,
            } => {
                assert_eq!(train_shape, [60_000, 1, 28, 28], "{name}");
                assert_eq!(test_shape, [10_000, 1, 28, 28], "{name}");
                assert!(checksums_verified, "{name}");
            }
            other => panic!("{name}: expected present, found {other:?}"),
        }
    }
}
