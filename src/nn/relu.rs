//! The rectifier max(x, 0) between the layers of every network in the paper. The backward pass
//! reads only the forward output: dL/dx = dL/dy where y > 0, else 0.

use rayon::prelude::*;

use super::gemm::parallel_elementwise;
use super::{Layer, Shape};

/// Elementwise max(x, 0); shape-preserving.
#[derive(Debug, Clone)]
pub struct Relu {
    shape: Shape,
}

/// Split size for the parallel loops: large enough that each task streams a few pages.
const CHUNK: usize = 1 << 14;

impl Relu {
    /// A ReLU over `shape`-shaped examples.
    pub fn new(shape: Shape) -> Self {
        Relu { shape }
    }
}

impl Layer for Relu {
    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(
        &mut self,
        _params: &[f32],
        input: &[f32],
        output: &mut [f32],
        batch: usize,
        _train: bool,
    ) {
        assert_eq!(input.len(), batch * self.shape.size(), "Relu: input length");
        assert_eq!(output.len(), input.len(), "Relu: output length");
        let rectify = |(y, x): (&mut [f32], &[f32])| {
            for (y, &x) in y.iter_mut().zip(x) {
                // `x < 0` rather than `max`: a NaN passes through, as in PyTorch, so a
                // diverged chain shows up in the loss instead of being silently zeroed.
                *y = if x < 0.0 { 0.0 } else { x };
            }
        };
        if parallel_elementwise(input.len()) {
            output
                .par_chunks_mut(CHUNK)
                .zip(input.par_chunks(CHUNK))
                .for_each(rectify);
        } else {
            rectify((output, input));
        }
    }

    fn backward(
        &mut self,
        _params: &[f32],
        _grads: &mut [f32],
        _input: &[f32],
        output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        _batch: usize,
    ) {
        let Some(dx) = grad_input else { return };
        assert!(
            dx.len() == output.len() && grad_output.len() == output.len(),
            "Relu: lengths"
        );
        let gate = |(dx, (y, dy)): (&mut [f32], (&[f32], &[f32]))| {
            for (dx, (&y, &dy)) in dx.iter_mut().zip(y.iter().zip(dy)) {
                *dx = if y > 0.0 { dy } else { 0.0 };
            }
        };
        if parallel_elementwise(dx.len()) {
            dx.par_chunks_mut(CHUNK)
                .zip(output.par_chunks(CHUNK).zip(grad_output.par_chunks(CHUNK)))
                .for_each(gate);
        } else {
            gate((dx, (output, grad_output)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, random_vec};
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn forward_and_backward_by_hand() {
        let mut relu = Relu::new(Shape::flat(4));
        let x = [-1.5, 0.0, 2.0, 0.25];
        let mut y = [f32::NAN; 4];
        relu.forward(&[], &x, &mut y, 1, true);
        assert_eq!(y, [0.0, 0.0, 2.0, 0.25]);
        let mut dx = [f32::NAN; 4];
        relu.backward(
            &[],
            &mut [],
            &x,
            &y,
            &[1.0, 2.0, 3.0, 4.0],
            Some(&mut dx),
            1,
        );
        assert_eq!(dx, [0.0, 0.0, 3.0, 4.0]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        // Inputs in +-[0.01, 1]: no input within the 1e-6 step of the kink at 0.
        let mut rng = SmallRng::seed_from_u64(41);
        let shape = Shape::image(3, 4, 5);
        let x: Vec<f32> = random_vec(&mut rng, 2 * shape.size(), 0.01, 1.0)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i % 3 == 0 { v } else { -v })
            .collect();
        let mut relu = Relu::new(shape);
        let rep = check_layer(&mut relu, &[], &x, 2, true, &|_, x| {
            x.iter().map(|&v| v.max(0.0)).collect()
        });
        eprintln!("relu: {rep:?}");
    }

    #[test]
    fn large_input_takes_parallel_path() {
        let mut rng = SmallRng::seed_from_u64(42);
        let shape = Shape::flat(100_000);
        let x = random_vec(&mut rng, shape.size(), -1.0, 1.0);
        let mut y = vec![0f32; x.len()];
        let mut relu = Relu::new(shape);
        relu.forward(&[], &x, &mut y, 1, true);
        assert!(y.iter().zip(&x).all(|(&y, &x)| y == x.max(0.0)));
        let mut dx = vec![0f32; x.len()];
        relu.backward(&[], &mut [], &x, &y, &x, Some(&mut dx), 1);
        assert!(
            dx.iter()
                .zip(&x)
                .all(|(&d, &x)| d == if x > 0.0 { x } else { 0.0 })
        );
    }
}
