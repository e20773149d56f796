//! A synthetic stand-in for the real data folder, for the tests that need *some* MNIST-shaped
//! data: `mnist/` and `fashion-mnist/`, each with the four standard gzipped IDX files
//! (`train-images-idx3-ubyte.gz`, `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`,
//! `t10k-labels-idx1-ubyte.gz`, the names of `src/data/catalog.rs`) of 28x28 images in 10
//! classes. Made deterministically from a fixed seed (SplitMix64, written here so that no
//! library version can change the files).
//!
//! The "digits" (`mnist`) are strokes: each class has its own three line segments, drawn with
//! per-image shift, endpoint jitter and brightness, plus sparse salt noise. A network learns
//! them quickly, and a 10x10 occlusion square never hides all three strokes. The "clothes"
//! (`fashion-mnist`, the OOD set) are filled, textured shapes (boxes, ellipses, triangles,
//! rings, bars): visibly not strokes. The files are not MNIST's, so runs on them must set
//! `data.verify_checksums = false`.

use std::path::Path;

/// Training images of `mnist`. SGLD weighs the likelihood by N, the training-set size, against
/// noise of a fixed size: with the default step size the teacher of `tests/eval_cli.rs` learns
/// (its test accuracy after 600 steps, seed 3: 0.91; 0.87 with N = 10,000; 0.57 with 4,000
/// thinner strokes). Made in about half a second, loaded by a run in a fraction of one.
pub const TRAIN_IMAGES: usize = 20_000;
/// Test images of each dataset (the in-distribution test set and the OOD set), and training
/// images of `fashion-mnist` (never used by a run: OOD sets are test splits).
pub const TEST_IMAGES: usize = 1000;

const SIDE: usize = 28;
const CLASSES: usize = 10;
const SEED: u64 = 0x6770_6564; // "gped"

/// Writes the synthetic data folder into `dir` (which must exist).
pub fn write_data_folder(dir: &Path) {
    type Draw = fn(usize, &mut SplitMix64) -> Vec<f32>;
    let datasets: [(&str, Draw, usize); 2] = [
        ("mnist", stroke_image, TRAIN_IMAGES),
        ("fashion-mnist", shape_image, TEST_IMAGES),
    ];
    for (d, (name, draw, train)) in datasets.into_iter().enumerate() {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        for (s, (prefix, n)) in [("train", train), ("t10k", TEST_IMAGES)]
            .into_iter()
            .enumerate()
        {
            let mut rng = SplitMix64(SEED ^ ((d as u64) << 32) ^ s as u64);
            let labels: Vec<u8> = (0..n).map(|i| (i % CLASSES) as u8).collect();
            let mut pixels = Vec::with_capacity(n * SIDE * SIDE);
            for &label in &labels {
                let image = draw(label as usize, &mut rng);
                pixels.extend(
                    image
                        .iter()
                        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
                );
            }
            let write = |file: &str, bytes: Vec<u8>| {
                std::fs::write(folder.join(format!("{file}.gz")), super::gzip(&bytes)).unwrap()
            };
            write(
                &format!("{prefix}-images-idx3-ubyte"),
                idx_images_of(n, &pixels),
            );
            write(
                &format!("{prefix}-labels-idx1-ubyte"),
                super::idx_labels(&labels),
            );
        }
    }
}

/// An IDX images file holding `n` 28x28 images `pixels`.
fn idx_images_of(n: usize, pixels: &[u8]) -> Vec<u8> {
    assert_eq!(pixels.len(), n * SIDE * SIDE);
    let mut bytes = 0x0803u32.to_be_bytes().to_vec();
    for d in [n, SIDE, SIDE] {
        bytes.extend((d as u32).to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

/// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014).
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Class `c`'s three strokes, as segments ((x0, y0), (x1, y1)) in pixels: fixed per class.
fn strokes(c: usize) -> [[f32; 4]; 3] {
    let mut rng = SplitMix64(SEED.wrapping_mul(31).wrapping_add(c as u64));
    std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(5.0, 23.0)))
}

/// Distance from (x, y) to the segment [a, b].
fn segment_distance(x: f32, y: f32, [ax, ay, bx, by]: [f32; 4]) -> f32 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = (dx * dx + dy * dy).max(1e-6);
    let t = (((x - ax) * dx + (y - ay) * dy) / len2).clamp(0.0, 1.0);
    let (px, py) = (ax + t * dx - x, ay + t * dy - y);
    (px * px + py * py).sqrt()
}

/// A "digit" of class `c`: its strokes (about 3 pixels wide), shifted by up to 2 pixels, each
/// endpoint jittered by up to 1.5 pixels, brightness 0.8-1, plus 3% salt pixels.
fn stroke_image(c: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let (shift_x, shift_y) = (rng.uniform(-2.0, 2.0), rng.uniform(-2.0, 2.0));
    let brightness = rng.uniform(0.8, 1.0);
    let segments = strokes(c).map(|[ax, ay, bx, by]| {
        [
            ax + shift_x + rng.uniform(-1.5, 1.5),
            ay + shift_y + rng.uniform(-1.5, 1.5),
            bx + shift_x + rng.uniform(-1.5, 1.5),
            by + shift_y + rng.uniform(-1.5, 1.5),
        ]
    });
    let mut image = vec![0.0; SIDE * SIDE];
    for (p, v) in image.iter_mut().enumerate() {
        let (x, y) = ((p % SIDE) as f32, (p / SIDE) as f32);
        let d = segments
            .iter()
            .map(|&s| segment_distance(x, y, s))
            .fold(f32::INFINITY, f32::min);
        *v = brightness * (2.0 - d).clamp(0.0, 1.0);
        if rng.uniform(0.0, 1.0) < 0.03 {
            *v = v.max(rng.uniform(0.2, 0.8));
        }
    }
    image
}

/// A "garment" of class `c`: a filled shape (box, ellipse, triangle, ring or bars by c mod 5,
/// large or small by c / 5) of 8-18 pixels, centred within 3 pixels, filled with a diagonal
/// texture of brightness 0.3-1.
fn shape_image(c: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let half = if c < 5 { 9.0 } else { 5.5 } + rng.uniform(-1.5, 1.5);
    let (cx, cy) = (13.5 + rng.uniform(-3.0, 3.0), 13.5 + rng.uniform(-3.0, 3.0));
    let level = rng.uniform(0.3, 0.7);
    let mut image = vec![0.0; SIDE * SIDE];
    for (p, v) in image.iter_mut().enumerate() {
        let (u, w) = (
            ((p % SIDE) as f32 - cx) / half,
            ((p / SIDE) as f32 - cy) / half,
        );
        let r2 = u * u + w * w;
        let inside = match c % 5 {
            0 => u.abs() <= 1.0 && w.abs() <= 1.0,
            1 => r2 <= 1.0,
            2 => w <= 1.0 && u.abs() <= (w + 1.0) / 2.0,
            3 => (0.4..=1.0).contains(&r2),
            _ => u.abs() <= 1.0 && w.abs() <= 1.0 && (w * 4.0).rem_euclid(1.0) < 0.5,
        };
        if inside {
            *v = level + 0.3 * (((p % SIDE + p / SIDE) % 3) as f32);
        }
    }
    image
}
