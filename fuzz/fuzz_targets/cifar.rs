//! Fuzzes the CIFAR-10 binary batch reader: gzip detection, then `parse_batch` into empty and into already filled buffers.
#![no_main]

use std::path::Path;

use gped::data::Dataset;
use gped::data::{
    CIFAR10_CLASSES, CIFAR10_IMAGE_SHAPE, CIFAR10_RECORD_LEN, decompress_if_gzipped, parse_batch,
};
use gped_fuzz::check_err;
use libfuzzer_sys::fuzz_target;

const PATH: &str = "fuzz/cifar-10-batches-bin/data_batch_1.bin";
const PIXELS: usize = CIFAR10_RECORD_LEN - 1;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(PATH);
    let bytes = match decompress_if_gzipped(data.to_vec(), path) {
        Ok(bytes) => bytes,
        Err(e) => return check_err(&e, path),
    };

    // Into empty buffers.
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let parsed = parse_batch(&bytes, path, &mut pixels, &mut labels);
    // Whatever happened, the buffers hold whole records only.
    assert_eq!(labels.len() * PIXELS, pixels.len());
    match parsed {
        Ok(()) => {
            assert_eq!(labels.len() * CIFAR10_RECORD_LEN, bytes.len());
            assert!(labels.iter().all(|&l| usize::from(l) < CIFAR10_CLASSES));
            // A second batch file appends after the first (as read_batches does).
            let n = labels.len();
            parse_batch(&bytes, path, &mut pixels, &mut labels).expect("same bytes parse again");
            assert_eq!(labels.len(), 2 * n);
            assert_eq!(labels.len() * PIXELS, pixels.len());
            let dataset = Dataset::from_u8(&pixels, labels, CIFAR10_IMAGE_SHAPE, CIFAR10_CLASSES)
                .expect("a parsed batch makes a dataset");
            assert_eq!(dataset.shape(), [2 * n, 3, 32, 32]);
        }
        Err(e) => check_err(&e, path),
    }
});
