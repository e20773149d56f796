//! The boundary between the convolutional and the fully connected part of a CNN (PyTorch's
//! `x.view(n, -1)`). Activations are already stored as `[batch, c*h*w]` in NCHW order, which is
//! exactly the flattened layout, so the layer only relabels the shape; its forward and backward
//! passes are plain copies (a network may skip them and alias the buffers instead).

use super::{Layer, Shape};

/// `[batch, c, h, w]` -> `[batch, c*h*w]`, same memory order.
#[derive(Debug, Clone)]
pub struct Flatten {
    input: Shape,
}

impl Flatten {
    /// Flattens `input`-shaped examples.
    pub fn new(input: Shape) -> Self {
        Flatten { input }
    }
}

impl Layer for Flatten {
    fn output_shape(&self) -> Shape {
        Shape::flat(self.input.size())
    }

    fn forward(
        &mut self,
        _params: &[f32],
        input: &[f32],
        output: &mut [f32],
        _batch: usize,
        _train: bool,
    ) {
        output.copy_from_slice(input);
    }

    fn backward(
        &mut self,
        _params: &[f32],
        _grads: &mut [f32],
        _input: &[f32],
        _output: &[f32],
        grad_output: &[f32],
        grad_input: Option<&mut [f32]>,
        _batch: usize,
    ) {
        if let Some(dx) = grad_input {
            dx.copy_from_slice(grad_output);
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
    fn flattens_in_nchw_order() {
        let shape = Shape::image(2, 3, 4);
        let flat = Flatten::new(shape);
        assert_eq!(flat.output_shape(), Shape::flat(24));
        // Identity on the buffer, so its gradient is the identity too.
        let mut rng = SmallRng::seed_from_u64(51);
        let x = random_vec(&mut rng, 2 * 24, -1.0, 1.0);
        let rep = check_layer(&mut { flat }, &[], &x, 2, true, &|_, x| x.to_vec());
        eprintln!("flatten: {rep:?}");
    }
}
