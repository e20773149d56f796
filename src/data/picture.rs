//! Images from picture files (PNG, JPEG) for prediction: each decoded, converted to the run's
//! channels (greyscale runs take the luma of any image, with the Rec. 709 weights of the
//! `image` crate, alpha ignored; colour runs take RGB and refuse greyscale files), resized to
//! the run's height and width with a bilinear (triangle) filter when its size differs, and
//! scaled to [0, 1] as the IDX training data are (`pixel / 255`). Pixel values are used as
//! they are: MNIST-like runs expect a light figure on a dark background. A folder of pictures
//! is its `.png`, `.jpg` and `.jpeg` files (any case), in name order, not recursive.

use crate::{Error, Result};
use image::imageops::FilterType;
use image::{DynamicImage, ImageReader, Limits};
use std::path::{Path, PathBuf};

/// File extensions read as pictures (compared in lower case).
pub const PICTURE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// Largest side accepted, in pixels (a guard against decompression bombs).
const MAX_SIDE: u32 = 16_384;

/// Whether `bytes` start like a PNG or a JPEG file.
pub fn is_picture(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// The picture files of `dir`, sorted by name; an error naming the folder when it holds none.
pub fn list_pictures(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if path.is_file() && ext.is_some_and(|e| PICTURE_EXTENSIONS.contains(&e.as_str())) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::NotFound {
            what: "picture files (.png, .jpg, .jpeg)".into(),
            path: dir.to_path_buf(),
            hint: "give a folder holding PNG or JPEG images, the image files themselves, or an \
                   IDX images file"
                .into(),
        });
    }
    files.sort();
    Ok(files)
}

/// The picture in `bytes` (read from `path`, which errors name) as `[channels, height,
/// width]` values in [0, 1], `shape` being the run's `[channels, height, width]` (1 or 3
/// channels).
pub fn decode_picture(bytes: &[u8], path: &Path, shape: [usize; 3]) -> Result<Vec<f32>> {
    let [channels, height, width] = shape;
    let bad = |detail: String| Error::Format {
        path: path.to_path_buf(),
        format: "PNG or JPEG image",
        detail,
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    let mut reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| bad(e.to_string()))?;
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| bad(e.to_string()))?;
    let resize = |p: DynamicImage| {
        if (p.width() as usize, p.height() as usize) == (width, height) {
            p
        } else {
            p.resize_exact(width as u32, height as u32, FilterType::Triangle)
        }
    };
    match channels {
        1 => Ok(resize(picture)
            .to_luma8()
            .into_raw()
            .iter()
            .map(|&v| f32::from(v) / 255.0)
            .collect()),
        3 if !picture.color().has_color() => Err(bad(format!(
            "a greyscale image ({:?}), expected a colour (RGB) image for the run's \
             {channels}-channel inputs",
            picture.color()
        ))),
        3 => {
            // Interleaved RGB (height, width, 3) to the runs' planar (3, height, width).
            let rgb = resize(picture).to_rgb8().into_raw();
            let plane = height * width;
            let mut out = vec![0.0; 3 * plane];
            for (i, px) in rgb.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    out[c * plane + i] = f32::from(px[c]) / 255.0;
                }
            }
            Ok(out)
        }
        other => Err(Error::InvalidArgument(format!(
            "pictures can feed runs of 1 or 3 channels, this run's images have {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayImage, ImageFormat, Luma, Rgb, RgbImage};

    fn encode(picture: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut bytes = std::io::Cursor::new(Vec::new());
        picture.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    }

    #[test]
    fn a_greyscale_png_of_the_run_size_is_read_exactly() {
        let grey = GrayImage::from_fn(28, 28, |x, y| Luma([(x * 9 + y) as u8]));
        let bytes = encode(DynamicImage::ImageLuma8(grey), ImageFormat::Png);
        assert!(is_picture(&bytes));
        let got = decode_picture(&bytes, Path::new("a.png"), [1, 28, 28]).unwrap();
        assert_eq!(got.len(), 784);
        // Row-major: pixel (x = 3, y = 2) is at 2 * 28 + 3, value (27 + 2) / 255.
        assert_eq!(got[2 * 28 + 3], 29.0 / 255.0);
    }

    #[test]
    fn colour_is_greyscaled_and_the_size_resized() {
        // A uniform colour stays uniform under any resize; its luma is the Rec. 709
        // weighted sum 0.2126 R + 0.7152 G + 0.0722 B (here of (200, 100, 50): 117.9).
        let rgb = RgbImage::from_pixel(56, 40, Rgb([200, 100, 50]));
        let bytes = encode(DynamicImage::ImageRgb8(rgb), ImageFormat::Png);
        let got = decode_picture(&bytes, Path::new("b.png"), [1, 28, 28]).unwrap();
        assert_eq!(got.len(), 784);
        let luma = 0.2126 * 200.0 + 0.7152 * 100.0 + 0.0722 * 50.0;
        assert!(
            got.iter().all(|&v| (v * 255.0 - luma).abs() <= 1.0),
            "{}",
            got[0]
        );
    }

    #[test]
    fn colour_runs_get_planar_rgb_and_refuse_greyscale() {
        let rgb = RgbImage::from_fn(32, 32, |x, _| Rgb([x as u8, 10, 250]));
        let bytes = encode(DynamicImage::ImageRgb8(rgb), ImageFormat::Png);
        let got = decode_picture(&bytes, Path::new("c.png"), [3, 32, 32]).unwrap();
        let plane = 32 * 32;
        assert_eq!(got[5], 5.0 / 255.0, "red plane, pixel (5, 0)");
        assert_eq!(got[plane + 5], 10.0 / 255.0, "green plane");
        assert_eq!(got[2 * plane + 5], 250.0 / 255.0, "blue plane");
        let grey = encode(
            DynamicImage::ImageLuma8(GrayImage::new(32, 32)),
            ImageFormat::Png,
        );
        let err = decode_picture(&grey, Path::new("g.png"), [3, 32, 32])
            .unwrap_err()
            .to_string();
        assert!(err.contains("g.png") && err.contains("greyscale"), "{err}");
    }

    #[test]
    fn a_jpeg_is_read() {
        let grey = GrayImage::from_pixel(28, 28, Luma([128]));
        let bytes = encode(DynamicImage::ImageLuma8(grey), ImageFormat::Jpeg);
        assert!(is_picture(&bytes));
        let got = decode_picture(&bytes, Path::new("d.jpg"), [1, 28, 28]).unwrap();
        // JPEG is lossy, but a flat grey survives within a level or two.
        assert!(got.iter().all(|&v| (v * 255.0 - 128.0).abs() <= 2.0));
    }

    #[test]
    fn a_corrupt_picture_is_named() {
        let mut bytes = encode(
            DynamicImage::ImageLuma8(GrayImage::new(28, 28)),
            ImageFormat::Png,
        );
        bytes.truncate(40);
        let err = decode_picture(&bytes, Path::new("broken.png"), [1, 28, 28])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("broken.png") && err.contains("PNG or JPEG"),
            "{err}"
        );
    }

    #[test]
    fn folders_list_their_pictures_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.PNG", "a.jpg", "c.txt", "d.jpeg"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("e.png")).unwrap();
        let names: Vec<String> = list_pictures(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.jpg", "b.PNG", "d.jpeg"]);
        let empty = tempfile::tempdir().unwrap();
        let err = list_pictures(empty.path()).unwrap_err().to_string();
        assert!(err.contains(&empty.path().display().to_string()), "{err}");
        assert!(err.contains(".png"), "{err}");
    }
}
