//! Named parameter tensors of one network, stored in one flat f32 buffer (and a gradient
//! buffer of the same length), so that optimisers and the SGLD step make a single fused pass
//! over all parameters. Names and layouts follow PyTorch (`fc1.weight` is `[out, in]`,
//! `conv1.weight` is `[out_ch, in_ch, kh, kw]`), so the safetensors files gped writes load
//! into the matching torch module.

use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};
use std::ops::Range;

/// Name, shape and place in the flat buffer of one parameter tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
}

impl ParamSpec {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Its range in the flat buffer.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// All parameters of a network: values, gradients, and the named tensors they hold.
#[derive(Debug, Clone, Default)]
pub struct ParamSet {
    pub values: Vec<f32>,
    pub grads: Vec<f32>,
    pub specs: Vec<ParamSpec>,
}

impl ParamSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a zero-initialised tensor and returns its range in the flat buffers.
    pub fn add(&mut self, name: &str, shape: &[usize]) -> Range<usize> {
        let spec = ParamSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            offset: self.values.len(),
        };
        let range = spec.range();
        self.values.resize(range.end, 0.0);
        self.grads.resize(range.end, 0.0);
        self.specs.push(spec);
        range
    }

    /// Total number of scalar parameters.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The spec of tensor `name`, if present.
    pub fn spec(&self, name: &str) -> Option<&ParamSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// The values of tensor `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&[f32]> {
        self.spec(name).map(|s| &self.values[s.range()])
    }

    /// Sets every gradient to zero.
    pub fn zero_grads(&mut self) {
        self.grads.fill(0.0);
    }
}

impl Stateful for ParamSet {
    /// Each tensor under its PyTorch name and shape (values only; gradients are scratch).
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        for spec in &self.specs {
            let name = format!("{prefix}{}", spec.name);
            out.f32s_shaped(&name, &spec.shape, &self.values[spec.range()]);
        }
    }

    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        for spec in &self.specs {
            let name = format!("{prefix}{}", spec.name);
            state.f32s_shaped_into(&name, &spec.shape, &mut self.values[spec.range()])?;
        }
        Ok(())
    }
}
