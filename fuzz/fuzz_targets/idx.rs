//! Fuzzes the IDX (MNIST-family) reader: gzip detection, the images and labels parsers, and the joining of both into a Dataset.
#![no_main]

use std::path::Path;

use gped::data::{
    IdxImages, dataset_from_parts, decompress_if_gzipped, parse_images, parse_labels,
};
use gped_fuzz::check_err;
use libfuzzer_sys::fuzz_target;

const IMAGES: &str = "fuzz/train-images-idx3-ubyte";
const LABELS: &str = "fuzz/train-labels-idx1-ubyte";
const CLASSES: usize = 10;

/// Decompresses `bytes` if gzipped, checking the error on failure.
fn decompress(bytes: &[u8], path: &Path) -> Option<Vec<u8>> {
    decompress_if_gzipped(bytes.to_vec(), path)
        .map_err(|e| check_err(&e, path))
        .ok()
}

fn images(bytes: &[u8], path: &Path) -> Option<IdxImages> {
    match parse_images(bytes, path) {
        Ok(images) => {
            assert!(images.rows >= 1 && images.cols >= 1);
            assert_eq!(images.pixels.len(), images.n * images.rows * images.cols);
            assert_eq!(bytes.len(), 16 + images.pixels.len());
            Some(images)
        }
        Err(e) => {
            check_err(&e, path);
            None
        }
    }
}

fn labels(bytes: &[u8], path: &Path) -> Option<Vec<u8>> {
    match parse_labels(bytes, path, CLASSES) {
        Ok(labels) => {
            assert_eq!(bytes.len(), 8 + labels.len());
            assert!(labels.iter().all(|&l| usize::from(l) < CLASSES));
            Some(labels)
        }
        Err(e) => {
            check_err(&e, path);
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let (images_path, labels_path) = (Path::new(IMAGES), Path::new(LABELS));

    // The whole input as one file, read both as images and as labels.
    if let Some(bytes) = decompress(data, images_path) {
        images(&bytes, images_path);
        labels(&bytes, labels_path);
    }

    // The input as a pair of files: a little-endian u32 length L, then L bytes of the images
    // file, then the labels file. When both parse, join them (counts may disagree).
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let split = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (image_file, label_file) = rest.split_at(split);
    let Some(image_bytes) = decompress(image_file, images_path) else {
        return;
    };
    let Some(label_bytes) = decompress(label_file, labels_path) else {
        return;
    };
    let (Some(images), Some(labels)) = (
        images(&image_bytes, images_path),
        labels(&label_bytes, labels_path),
    ) else {
        return;
    };
    let n_labels = labels.len();
    match dataset_from_parts(&images, labels, images_path, labels_path, CLASSES) {
        Ok(dataset) => {
            assert_eq!(images.n, n_labels);
            assert_eq!(dataset.shape(), [images.n, 1, images.rows, images.cols]);
            assert!(dataset.images().iter().all(|v| (0.0..=1.0).contains(v)));
        }
        Err(e) => {
            assert_ne!(images.n, n_labels, "counts agree, yet: {e}");
            check_err(&e, labels_path);
        }
    }
});
