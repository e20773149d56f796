//! Scratch buffers owned by layers (im2col columns, pooling argmax, dropout masks). A buffer
//! grows to the largest batch seen and never shrinks; a smaller batch uses a prefix of it, so
//! once a network has run one step at its batch size, its forward and backward passes allocate
//! nothing.

/// The first `len` elements of `buf`, growing it (with `T::default()`) only if it is shorter.
pub(crate) fn prefix<T: Copy + Default>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    if buf.len() < len {
        buf.resize(len, T::default());
    }
    &mut buf[..len]
}

/// Sum of `x` with eight independent accumulators, so the compiler can keep them in one SIMD
/// register instead of a serial chain of dependent adds (and the rounding error grows with
/// `len / 8` rather than `len`).
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_grows_only_when_needed() {
        let mut buf: Vec<u32> = Vec::new();
        assert_eq!(prefix(&mut buf, 10).len(), 10);
        let cap = buf.capacity();
        assert_eq!(prefix(&mut buf, 4).len(), 4);
        assert_eq!(prefix(&mut buf, 10).len(), 10);
        assert_eq!(buf.capacity(), cap);
    }

    #[test]
    fn sum_matches_exact_integer_sum() {
        // Integers below 2^24 are exact in f32, so any grouping gives the exact total
        // 0 + 1 + ... + 1000 = 1000 * 1001 / 2.
        let x: Vec<f32> = (0..=1000).map(|i| i as f32).collect();
        assert_eq!(sum(&x), 500_500.0);
        assert_eq!(sum(&x[..5]), 10.0);
    }
}
