//! The draws a run keeps for its diagnostics: at each evaluation point, each chain's values of
//! the same `width` quantities (a run's: the teacher's class probabilities on a fixed set of
//! test inputs). Memory is bounded: at most `capacity` draws per chain are kept; when that
//! many are, every other one is dropped and from then on only every other evaluation point is
//! kept (the stride doubles), so the draws kept stay evenly spaced over the whole run. Which
//! points are kept depends on their count alone, so a resumed run keeps the same ones.

use crate::Result;
use crate::base::{StateReader, StateWriter, Stateful};

/// Draws of `width` quantities from each of `chains` chains, at most `capacity` per chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDraws {
    chains: usize,
    width: usize,
    capacity: usize,
    /// One kept draw every `stride` evaluation points (a power of two).
    stride: u64,
    /// Evaluation points offered so far.
    offered: u64,
    /// The kept draws, `[kept, chains, width]`.
    values: Vec<f32>,
}

impl ChainDraws {
    /// An empty record of `width` quantities per chain; `capacity` is rounded up to an even
    /// number of at least 4 (the fewest draws diagnosed).
    pub fn new(chains: usize, width: usize, capacity: usize) -> Self {
        ChainDraws {
            chains,
            width,
            capacity: capacity.max(4).next_multiple_of(2),
            stride: 1,
            offered: 0,
            values: Vec::new(),
        }
    }

    /// Number of chains.
    pub fn chains(&self) -> usize {
        self.chains
    }

    /// Quantities per chain and draw.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Draws kept per chain.
    pub fn kept(&self) -> usize {
        self.values.len() / (self.chains * self.width).max(1)
    }

    /// Evaluation points between two kept draws.
    pub fn stride(&self) -> u64 {
        self.stride
    }

    /// One evaluation point: when it is one to keep, `values` gives the chains' values,
    /// `[chains, width]` (called only then). A `values` of another length is a caller's bug
    /// and is dropped, not kept.
    pub fn record(&mut self, values: impl FnOnce() -> Vec<f32>) {
        let keep = self.offered.is_multiple_of(self.stride);
        self.offered += 1;
        if !keep || self.width == 0 || self.chains == 0 {
            return;
        }
        let point = values();
        debug_assert_eq!(point.len(), self.chains * self.width);
        if point.len() != self.chains * self.width {
            return;
        }
        self.values.extend_from_slice(&point);
        if self.kept() == self.capacity {
            let size = self.chains * self.width;
            let evens: Vec<f32> = self
                .values
                .chunks(size)
                .step_by(2)
                .flatten()
                .copied()
                .collect();
            self.values = evens;
            self.stride *= 2;
        }
    }

    /// Quantity `q`'s draws from chain `chain`, in draw order.
    pub fn series(&self, chain: usize, q: usize) -> Vec<f64> {
        let size = self.chains * self.width;
        self.values
            .chunks(size)
            .map(|point| point[chain * self.width + q] as f64)
            .collect()
    }
}

impl Stateful for ChainDraws {
    /// The kept draws as `values` `[kept, chains, width]`, with `stride` and `offered`.
    fn save_state(&self, prefix: &str, out: &mut StateWriter) {
        let shape = [self.kept(), self.chains, self.width];
        out.f32s_shaped(&format!("{prefix}values"), &shape, &self.values);
        out.scalar(&format!("{prefix}stride"), self.stride);
        out.scalar(&format!("{prefix}offered"), self.offered);
    }

    /// A checkpoint without draws (written before runs kept them) leaves the record empty:
    /// the diagnostics then cover the draws after the resume.
    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()> {
        let name = format!("{prefix}values");
        let Some(shape) = state.shape(&name) else {
            (self.values, self.stride, self.offered) = (Vec::new(), 1, 0);
            return Ok(());
        };
        let kept = shape.first().copied().unwrap_or(0);
        let mut values = vec![0.0; kept * self.chains * self.width];
        state.f32s_shaped_into(&name, &[kept, self.chains, self.width], &mut values)?;
        self.values = values;
        self.stride = state.scalar(&format!("{prefix}stride"))?;
        self.offered = state.scalar(&format!("{prefix}offered"))?;
        Ok(())
    }
}
