//! Regression tests of the fuzz targets (`fuzz/`): the seed inputs parse, hostile inputs made by
//! hand and every input a fuzz run found (kept in `tests/fuzz_regressions/<target>-<name>.bin`)
//! fail with an error naming the file, what was expected and what was found, and never with a
//! panic or a giant allocation. The test binary records each thread's largest single allocation
//! to check that no header or gzip trailer is taken on trust as a size.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use gped::config::RunConfig;
use gped::data::{
    CIFAR10_RECORD_LEN, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, dataset_from_parts,
    decompress_if_gzipped, parse_batch, parse_images, parse_labels,
};
use gped::distill::state::build_networks;

/// The system allocator, recording per thread the largest size asked for in one allocation.
struct LargestAllocation;

thread_local! {
    // Const-initialised and without a destructor, so the allocator may touch it at any time.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn record(size: usize) {
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// Runs `f` on this thread and checks that none of its allocations asked for more than
/// `limit` bytes at once (a header or trailer taken on trust asks for gigabytes).
fn with_allocation_limit<T>(limit: usize, f: impl FnOnce() -> T) -> T {
    LARGEST.with(|largest| largest.set(0));
    let out = f();
    let largest = LARGEST.with(Cell::get);
    assert!(
        largest <= limit,
        "largest single allocation was {largest} bytes, expected at most {limit}"
    );
    out
}

const IMAGES: &str = "fuzz/train-images-idx3-ubyte";
const LABELS: &str = "fuzz/train-labels-idx1-ubyte";
const CIFAR: &str = "fuzz/cifar-10-batches-bin/data_batch_1.bin";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `fuzz/seeds/<target>`, by name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = root().join("fuzz/seeds").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

/// The bytes of `tests/fuzz_regressions/<name>`.
fn regression(name: &str) -> Vec<u8> {
    let path: PathBuf = root().join("tests/fuzz_regressions").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The idx target's split of an input into an images file and a labels file: a u32 LE length
/// L, L bytes (or what is left) of the images file, then the labels file.
fn split_pair(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (len, rest) = bytes.split_first_chunk::<4>().unwrap();
    rest.split_at((u32::from_le_bytes(*len) as usize).min(rest.len()))
}

/// The error's message, checked to start with the file's path.
fn message<T: std::fmt::Debug>(result: gped::Result<T>, path: &str) -> String {
    let msg = result.expect_err("expected an error").to_string();
    assert!(msg.starts_with(&format!("{path}: ")), "{msg}");
    msg
}

fn assert_contains(msg: &str, parts: &[&str]) {
    for part in parts {
        assert!(msg.contains(part), "`{msg}` lacks `{part}`");
    }
}

/// An IDX header (magic, then big-endian dimensions) followed by `body`.
fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut bytes = magic.to_be_bytes().to_vec();
    for d in dims {
        bytes.extend(d.to_be_bytes());
    }
    bytes.extend(body);
    bytes
}

/// A gzip stream whose trailer claims `isize` bytes of content; the deflate data is cut off.
fn gzip_claiming(isize: u32) -> Vec<u8> {
    let mut bytes = common::gzip(&[1, 2, 3]);
    bytes.truncate(bytes.len() - 8);
    bytes.extend([0, 0, 0, 0]);
    bytes.extend(isize.to_le_bytes());
    bytes
}

// ---- Seeds: the valid inputs the fuzz runs start from. ----

#[test]
fn idx_seeds_parse() {
    let (ip, lp) = (Path::new(IMAGES), Path::new(LABELS));
    for (name, bytes) in seeds("idx") {
        if name.starts_with("pair") {
            let (image_file, label_file) = split_pair(&bytes);
            let images =
                parse_images(&decompress_if_gzipped(image_file.to_vec(), ip).unwrap(), ip).unwrap();
            let labels = parse_labels(
                &decompress_if_gzipped(label_file.to_vec(), lp).unwrap(),
                lp,
                10,
            )
            .unwrap();
            let joined = dataset_from_parts(&images, labels, ip, lp, 10);
            if name.contains("mismatch") {
                let msg = message(joined, LABELS);
                assert_contains(&msg, &["expected 2 labels, one per image of", "found 3"]);
            } else {
                assert_eq!(joined.unwrap().shape(), [3, 1, 4, 5], "{name}");
            }
        } else {
            let bytes = decompress_if_gzipped(bytes, ip).unwrap();
            if name.starts_with("images") {
                assert_eq!(parse_images(&bytes, ip).unwrap().n, 3, "{name}");
            } else {
                assert_eq!(parse_labels(&bytes, lp, 10).unwrap(), [0, 9, 3], "{name}");
            }
        }
    }
}

#[test]
fn cifar_seeds_parse() {
    let path = Path::new(CIFAR);
    let mut total = 0;
    for (name, bytes) in seeds("cifar") {
        let bytes = decompress_if_gzipped(bytes, path).unwrap();
        let (mut pixels, mut labels) = (Vec::new(), Vec::new());
        parse_batch(&bytes, path, &mut pixels, &mut labels)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(labels.len() * (CIFAR10_RECORD_LEN - 1), pixels.len());
        total += labels.len();
    }
    assert_eq!(total, 3);
}

#[test]
fn config_seeds_parse_and_validate() {
    for (name, bytes) in seeds("config") {
        let text = String::from_utf8(bytes).unwrap();
        let config = if name.ends_with(".toml") {
            RunConfig::from_toml_str(&text, &name).unwrap()
        } else {
            let overrides: Vec<String> = text.lines().map(str::to_string).collect();
            RunConfig::default().with_overrides(&overrides).unwrap()
        };
        let valid = config.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        build_networks(&valid, valid.teacher_train_size(), valid.pool_size())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = RunConfig::from_toml_str(&config.to_toml_string().unwrap(), &name).unwrap();
        assert_eq!(back, config, "{name}");
    }
}

// ---- Hostile IDX headers: sizes are checked against the file before anything is allocated. ----

#[test]
fn idx_header_claiming_2_pow_32_images_on_a_20_byte_body() {
    let bytes = idx(IDX_IMAGES_MAGIC, &[u32::MAX, 28, 28], &[0; 20]);
    let result = with_allocation_limit(4096, || parse_images(&bytes, Path::new(IMAGES)));
    let msg = message(result, IMAGES);
    assert_contains(
        &msg,
        &[
            "not a valid IDX file",
            "dimensions 4294967295x28x28, so expected 3367254359296 bytes, found 36",
            "truncated",
        ],
    );
    let bytes = idx(IDX_LABELS_MAGIC, &[u32::MAX], &[0; 20]);
    let result = with_allocation_limit(4096, || parse_labels(&bytes, Path::new(LABELS), 10));
    let msg = message(result, LABELS);
    assert_contains(&msg, &["expected 4294967303 bytes, found 28"]);
}

#[test]
fn idx_dimensions_whose_product_overflows() {
    let bytes = idx(IDX_IMAGES_MAGIC, &[u32::MAX; 3], &[7; 4]);
    let result = with_allocation_limit(4096, || parse_images(&bytes, Path::new(IMAGES)));
    let msg = message(result, IMAGES);
    assert_contains(
        &msg,
        &["dimensions 4294967295x4294967295x4294967295, which is too large"],
    );
}

#[test]
fn idx_zero_images_of_a_huge_size_make_an_empty_dataset() {
    let (ip, lp) = (Path::new(IMAGES), Path::new(LABELS));
    let bytes = idx(IDX_IMAGES_MAGIC, &[0, u32::MAX, u32::MAX], &[]);
    let images = with_allocation_limit(4096, || parse_images(&bytes, ip)).unwrap();
    assert_eq!(images.pixels.len(), 0);
    let labels = parse_labels(&idx(IDX_LABELS_MAGIC, &[0], &[]), lp, 10).unwrap();
    let d =
        with_allocation_limit(4096, || dataset_from_parts(&images, labels, ip, lp, 10)).unwrap();
    assert_eq!(d.shape(), [0, 1, u32::MAX as usize, u32::MAX as usize]);
    // One label too many for zero images.
    let labels = parse_labels(&idx(IDX_LABELS_MAGIC, &[1], &[4]), lp, 10).unwrap();
    let msg = message(dataset_from_parts(&images, labels, ip, lp, 10), LABELS);
    assert_contains(
        &msg,
        &["expected 0 labels, one per image of", IMAGES, "found 1"],
    );
}

#[test]
fn idx_header_cut_inside_the_dimensions() {
    let bytes = idx(IDX_IMAGES_MAGIC, &[3, 28], &[]);
    let msg = message(parse_images(&bytes, Path::new(IMAGES)), IMAGES);
    assert_contains(
        &msg,
        &["expected a header of 16 bytes for an IDX images file, found a file of 12 bytes"],
    );
}

// ---- Found by fuzzing. ----

/// `fuzz run idx` with `-malloc_limit_mb=512`, before the fix: a 59-byte gzip stream cut
/// short, whose last 4 bytes (read as the trailer's ISIZE) claim 3.8 GB, made
/// `decompress_if_gzipped` reserve 1 GiB of output before failing.
#[test]
fn idx_gzip_trailer_size_hint() {
    let bytes = regression("idx-gzip-trailer-size-hint.bin");
    let (image_file, label_file) = split_pair(&bytes);
    assert_eq!((image_file.len(), label_file.len()), (59, 0));
    assert_eq!(&image_file[..2], [0x1f, 0x8b]);
    let result = with_allocation_limit(1 << 20, || {
        decompress_if_gzipped(image_file.to_vec(), Path::new(IMAGES))
    });
    let msg = message(result, IMAGES);
    assert_contains(
        &msg,
        &["not a valid gzip file", "decompression failed after"],
    );
}

// ---- Hostile gzip streams. ----

#[test]
fn gzip_trailer_claiming_4_gib_on_a_tiny_file() {
    let bytes = gzip_claiming(u32::MAX);
    assert!(bytes.len() < 40);
    // The decoder's own state takes some tens of KiB; the output buffer must not take GiB.
    let result = with_allocation_limit(1 << 20, || decompress_if_gzipped(bytes, Path::new(IMAGES)));
    let msg = message(result, IMAGES);
    assert_contains(&msg, &["not a valid gzip file", "truncated or corrupt"]);
}

#[test]
fn truncated_gzip_of_a_valid_idx_file() {
    let mut bytes = common::gzip(&common::idx_images(10, 28, 28));
    bytes.truncate(bytes.len() / 2);
    let msg = message(decompress_if_gzipped(bytes, Path::new(IMAGES)), IMAGES);
    assert_contains(
        &msg,
        &["not a valid gzip file", "decompression failed after"],
    );
    // Only the magic bytes.
    let msg = message(
        decompress_if_gzipped(vec![0x1f, 0x8b], Path::new(LABELS)),
        LABELS,
    );
    assert_contains(&msg, &["not a valid gzip file"]);
}

#[test]
fn gzip_bomb_ish_stream_under_the_cap_then_fails_as_idx() {
    // 16 MiB of zeros from a few KiB: decompressed (under the cap), then rejected by its magic.
    let bomb = common::gzip(&vec![0; 16 << 20]);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    // The trailer's size is right here, so the output buffer is allocated once, at its size.
    let bytes =
        with_allocation_limit(17 << 20, || decompress_if_gzipped(bomb, Path::new(IMAGES))).unwrap();
    assert_eq!(bytes.len(), 16 << 20);
    let msg = message(parse_images(&bytes, Path::new(IMAGES)), IMAGES);
    assert_contains(
        &msg,
        &["expected magic number 0x00000803 (images), found 0x00000000"],
    );
}

#[test]
fn gzip_cap_is_a_gibibyte() {
    // The cap itself is tested in the library (src/data/source.rs) with a small cap.
    assert_eq!(gped::data::MAX_DECOMPRESSED_LEN, 1 << 30);
}

// ---- Hostile CIFAR-10 batches. ----

#[test]
fn cifar_batch_one_byte_short_and_bad_label_in_a_later_record() {
    let path = Path::new(CIFAR);
    let mut record = vec![0u8; CIFAR10_RECORD_LEN];
    let mut bytes = record.clone();
    record[0] = 10;
    bytes.extend(&record);
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let msg = message(parse_batch(&bytes, path, &mut pixels, &mut labels), CIFAR);
    assert_contains(&msg, &["record 1 has label 10, expected a class below 10"]);
    bytes.pop();
    let msg = message(parse_batch(&bytes, path, &mut pixels, &mut labels), CIFAR);
    assert_contains(
        &msg,
        &["found 6145 bytes (1 whole records and 3072 bytes over)"],
    );
}

// ---- Hostile configs. ----

#[test]
fn config_deeply_nested_value_is_an_error() {
    let text = format!("seed = {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let msg = RunConfig::from_toml_str(&text, "<fuzz>")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("<fuzz>: "), "{msg}");
    let err = RunConfig::default()
        .with_overrides(&[format!("seed={}", "[".repeat(10_000))])
        .unwrap_err();
    assert!(err.to_string().contains("seed"), "{err}");
}

#[test]
fn config_override_index_too_large_for_usize() {
    let err = RunConfig::default()
        .with_overrides(&["students.99999999999999999999999.name=x".to_string()])
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("students"), "{msg}");
}

#[test]
fn config_with_the_largest_sizes_builds_its_networks_and_one_beyond_is_refused() {
    // The config fuzz target builds every valid config's networks; the largest the bounds allow
    // (students 16 times as wide as the CIFAR-10 CNN teacher, the largest teacher) must build,
    // and the width that used to ask for an impossible allocation is refused by validation.
    let overrides: Vec<String> = [
        "data.dataset=cifar10",
        "teacher.arch=cifar-cnn",
        "students.0.width=[16,16]",
        "students.1.width=[16,16]",
        "threads=1024",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let valid = RunConfig::default()
        .with_overrides(&overrides)
        .and_then(|c| c.validate())
        .unwrap();
    let (teacher, students) =
        build_networks(&valid, valid.teacher_train_size(), valid.pool_size()).unwrap();
    // Student predictive net: conv 3->256 (5x5), conv 256->512 (5x5), FC 512*5*5 -> 3200,
    // FC 3200 -> 800, FC 800 -> 10; weights plus biases (appendix A.2 widths times 16).
    let expected = (256 * 3 * 25 + 256)
        + (512 * 256 * 25 + 512)
        + (512 * 25 * 3200 + 3200)
        + (3200 * 800 + 800)
        + (800 * 10 + 10);
    assert_eq!(students[0].net.params.len(), expected);
    assert!(teacher.net.params.len() < expected);
    let err = RunConfig::default()
        .with_overrides(&["students.0.width=[1e9,1e9]".to_string()])
        .and_then(|c| c.validate())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("students[0].width") && err.contains("<= 16"),
        "{err}"
    );
}
