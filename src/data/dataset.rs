//! A labelled image dataset held in memory: the paper's D (and, through its inputs, D').
//! Images are f32 in [0, 1], stored row-major as one `[n, channels, height, width]` (NCHW)
//! buffer; labels are class indices below `num_classes`.

use crate::{Error, Result};

/// A labelled image dataset, checked once at construction and trusted afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    labels: Vec<u8>,
    channels: usize,
    height: usize,
    width: usize,
    num_classes: usize,
}

impl Dataset {
    /// Builds a dataset from `images` (`[n, channels, height, width]`, row-major, values in
    /// [0, 1]) and `labels` (`[n]`, each below `num_classes`), where `n = labels.len()`.
    pub fn new(
        images: Vec<f32>,
        labels: Vec<u8>,
        [channels, height, width]: [usize; 3],
        num_classes: usize,
    ) -> Result<Self> {
        let image_len = channels * height * width;
        if image_len == 0 {
            return Err(Error::InvalidArgument(format!(
                "dataset image shape {channels}x{height}x{width} has no pixels"
            )));
        }
        if images.len() != labels.len() * image_len {
            return Err(Error::InvalidArgument(format!(
                "dataset of {} labels and images of {channels}x{height}x{width}: expected {} \
                 pixel values, found {}",
                labels.len(),
                labels.len() * image_len,
                images.len()
            )));
        }
        if let Some((i, &label)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &l)| usize::from(l) >= num_classes)
        {
            return Err(Error::InvalidArgument(format!(
                "dataset label {i} is {label}, expected a class below {num_classes}"
            )));
        }
        Ok(Dataset {
            images,
            labels,
            channels,
            height,
            width,
            num_classes,
        })
    }

    /// Builds a dataset from 8-bit pixels (`[n, channels, height, width]`), mapping each to
    /// `p / 255` in [0, 1].
    pub fn from_u8(
        pixels: &[u8],
        labels: Vec<u8>,
        shape: [usize; 3],
        num_classes: usize,
    ) -> Result<Self> {
        let images = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        Dataset::new(images, labels, shape, num_classes)
    }

    /// Number of examples n.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the dataset has no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[n, channels, height, width]`.
    pub fn shape(&self) -> [usize; 4] {
        [self.len(), self.channels, self.height, self.width]
    }

    /// `[channels, height, width]` of one image.
    pub fn image_shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }

    /// Number of values in one image: `channels * height * width`.
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// All images, `[n, channels, height, width]`.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// All images, mutable (for in-place manipulations such as occlusion).
    pub fn images_mut(&mut self) -> &mut [f32] {
        &mut self.images
    }

    /// All labels, `[n]`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image `i`, `[channels, height, width]`. Panics if `i >= len()`, like slice indexing.
    pub fn image(&self, i: usize) -> &[f32] {
        let len = self.image_len();
        &self.images[i * len..(i + 1) * len]
    }

    /// Label of example `i`. Panics if `i >= len()`, like slice indexing.
    pub fn label(&self, i: usize) -> u8 {
        self.labels[i]
    }

    /// Number of examples of each class, `[num_classes]`.
    pub fn label_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &label in &self.labels {
            counts[usize::from(label)] += 1;
        }
        counts
    }

    /// A new dataset of the examples at `indices`, in that order (repeats allowed).
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        let mut images = vec![0.0; indices.len() * self.image_len()];
        let mut labels = vec![0; indices.len()];
        self.gather_images(indices, &mut images)?;
        self.gather_labels(indices, &mut labels)?;
        Ok(Dataset {
            images,
            labels,
            channels: self.channels,
            height: self.height,
            width: self.width,
            num_classes: self.num_classes,
        })
    }

    /// Copies the images at `indices` into `out` (`[indices.len(), channels, height, width]`),
    /// without allocating: the minibatch gather of the teacher and of the distillation pool.
    pub fn gather_images(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        let len = self.image_len();
        if out.len() != indices.len() * len {
            return Err(Error::InvalidArgument(format!(
                "gather of {} images of {len} values: output buffer has {} values, expected {}",
                indices.len(),
                out.len(),
                indices.len() * len
            )));
        }
        self.check_indices(indices)?;
        for (&i, dst) in indices.iter().zip(out.chunks_exact_mut(len)) {
            dst.copy_from_slice(self.image(i));
        }
        Ok(())
    }

    /// Copies the labels at `indices` into `out` (`[indices.len()]`).
    pub fn gather_labels(&self, indices: &[usize], out: &mut [u8]) -> Result<()> {
        if out.len() != indices.len() {
            return Err(Error::InvalidArgument(format!(
                "gather of {} labels: output buffer has {} entries",
                indices.len(),
                out.len()
            )));
        }
        self.check_indices(indices)?;
        for (&i, dst) in indices.iter().zip(out.iter_mut()) {
            *dst = self.labels[i];
        }
        Ok(())
    }

    fn check_indices(&self, indices: &[usize]) -> Result<()> {
        match indices.iter().find(|&&i| i >= self.len()) {
            Some(i) => Err(Error::InvalidArgument(format!(
                "example index {i} out of range for a dataset of {} examples",
                self.len()
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three 1x2x2 images whose pixel values encode (example, pixel): 10 * i + p.
    fn tiny() -> Dataset {
        let images = (0..3)
            .flat_map(|i| (0..4).map(move |p| (10 * i + p) as f32 / 100.0))
            .collect();
        Dataset::new(images, vec![2, 0, 1], [1, 2, 2], 3).unwrap()
    }

    #[test]
    fn image_and_label_slices_address_the_right_example() {
        let d = tiny();
        assert_eq!(d.shape(), [3, 1, 2, 2]);
        assert_eq!(d.image(1), &[0.10, 0.11, 0.12, 0.13]);
        assert_eq!(d.label(2), 1);
        assert_eq!(d.label_counts(), vec![1, 1, 1]);
    }

    #[test]
    fn subset_takes_examples_in_the_given_order() {
        let d = tiny();
        let s = d.subset(&[2, 0, 2]).unwrap();
        assert_eq!(s.shape(), [3, 1, 2, 2]);
        assert_eq!(s.labels(), &[1, 2, 1]);
        assert_eq!(s.image(0), d.image(2));
        assert_eq!(s.image(1), d.image(0));
        assert_eq!(s.num_classes(), 3);
    }

    #[test]
    fn subset_rejects_an_out_of_range_index() {
        let err = tiny().subset(&[0, 3]).unwrap_err().to_string();
        assert!(err.contains("index 3 out of range"), "{err}");
    }

    #[test]
    fn gather_checks_the_output_buffer_size() {
        let mut out = vec![0.0; 7];
        let err = tiny()
            .gather_images(&[0, 1], &mut out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("has 7 values, expected 8"), "{err}");
    }

    #[test]
    fn new_rejects_inconsistent_lengths_and_labels() {
        let err = Dataset::new(vec![0.0; 5], vec![0, 0], [1, 2, 2], 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expected 8 pixel values, found 5"), "{err}");
        let err = Dataset::new(vec![0.0; 4], vec![10], [1, 2, 2], 10)
            .unwrap_err()
            .to_string();
        assert!(err.contains("label 0 is 10"), "{err}");
    }

    #[test]
    fn from_u8_maps_pixels_to_the_unit_interval() {
        let d = Dataset::from_u8(&[0, 51, 255, 255], vec![0], [1, 2, 2], 10).unwrap();
        assert_eq!(d.image(0), &[0.0, 0.2, 1.0, 1.0]);
    }
}
