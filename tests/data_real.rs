//! The real MNIST and Fashion-MNIST files of `GPED_DATA_DIR` load with the published shapes,
//! label counts and checksums: these tests are ignored unless asked for (`--include-ignored`),
//! and then fail without `GPED_DATA_DIR`. The paper's data pipeline (occlusion, teacher
//! subset, minibatches, distillation pool) runs on any MNIST-format data: the real files, else
//! the synthetic folder of `tests/common/synthetic.rs`.

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
#[ignore = "needs the real MNIST files: GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"]
fn mnist_loads_with_published_shapes_counts_and_checksums() {
    let dir = common::real_data_dir();
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
#[ignore = "needs the real MNIST files: GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"]
fn fashion_mnist_loads_balanced_with_checksums() {
    let dir = common::real_data_dir();
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
#[ignore = "needs the real MNIST files: GPED_DATA_DIR=../shared/data cargo test --release -- --include-ignored"]
fn check_reports_both_datasets_present_and_verified() {
    let dir = common::real_data_dir();
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

#[test]
fn paper_pipeline_on_mnist_occlusion_subset_pool_and_batches() {
    use gped::data::{DistillPool, EpochSampler, InputNoise, occlude, teacher_subset};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    let data = common::test_data();
    // The synthetic files are not MNIST's: their checksums are not checked.
    let policy = if data.is_real() {
        ChecksumPolicy::Verify
    } else {
        ChecksumPolicy::Skip
    };
    let clean = load(data.dir(), "mnist", Split::Train, policy).unwrap();
    let n = clean.len();
    let mut train = clean.clone();
    // m = 15: the paper's 29% occlusion rate on 28x28 digits.
    let squares = occlude(&mut train, 15, &mut StdRng::seed_from_u64(0)).unwrap();
    assert_eq!(squares.corners().len(), n);
    for i in [0, 1, n - 1] {
        let (row, col) = squares.corners()[i];
        for (p, (&after, &before)) in train.image(i).iter().zip(clean.image(i)).enumerate() {
            let inside = (row..row + 15).contains(&(p / 28)) && (col..col + 15).contains(&(p % 28));
            assert_eq!(
                after,
                if inside { 0.0 } else { before },
                "image {i} pixel {p}"
            );
        }
    }
    // D: a sixth of the occluded examples (10k of MNIST's 60k); D': all occluded inputs.
    let d = teacher_subset(n, Some(n / 6), &mut StdRng::seed_from_u64(1)).unwrap();
    assert_eq!(d.len(), n / 6);
    let mut sampler = EpochSampler::new(d.clone(), 2).unwrap();
    let mut batch = vec![0; 100];
    let mut images = vec![0.0; 100 * 784];
    let mut labels = vec![0; 100];
    sampler.next_batch(&mut batch);
    train.gather_images(&batch, &mut images).unwrap();
    train.gather_labels(&batch, &mut labels).unwrap();
    assert!(batch.iter().all(|i| d.binary_search(i).is_ok()));
    assert_eq!(&images[..784], train.image(batch[0]));

    let mut pool = DistillPool::new(
        &train,
        InputNoise {
            std: 0.001,
            clamp: true,
        },
    )
    .unwrap();
    let mut pool_indices = vec![0; 100];
    pool.sample_batch(
        &mut StdRng::seed_from_u64(3),
        &mut pool_indices,
        &mut images,
    )
    .unwrap();
    let (k, i) = (7, pool_indices[7]);
    let diff = images[k * 784..(k + 1) * 784]
        .iter()
        .zip(train.image(i))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    // Noise of std 0.001 over 784 pixels stays below 6 sigma.
    assert!(diff > 0.0 && diff < 0.006, "{diff}");
}
