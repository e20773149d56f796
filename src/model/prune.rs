//! Pruning one of the paper's networks (Experiment 3): the engine's
//! [`prune_params`](crate::nn::prune::prune_params) removes the dead hidden units and
//! channels from the tensors, and the smaller network is rebuilt around them at its new
//! [`HiddenWidths`], without dropout (the paper prunes and fine-tunes without it). The
//! report gives each layer's units before and after and the parameters and FLOPs per example
//! of both networks: the entry point of fine-tuning and of the sweeps' size-accuracy fronts.

use super::arch::build_sized;
use super::widths::HiddenWidths;
use crate::config::Arch;
use crate::nn::Network;
use crate::nn::prune::{LayerPrune, prune_params};
use crate::{Error, Result};

/// What pruning did to a network.
#[derive(Debug, Clone, PartialEq)]
pub struct PruneReport {
    /// Each hidden layer's name, units before, kept units.
    pub layers: Vec<LayerPrune>,
    /// The pruned network's hidden widths.
    pub widths: HiddenWidths,
    pub params_before: usize,
    pub params_after: usize,
    pub flops_before: usize,
    pub flops_after: usize,
}

/// The network `net` of architecture `arch` without its hidden units (Linear) and channels
/// (Conv2d) whose incoming weights and bias are all below `eps` in magnitude (see
/// [`crate::nn::prune`]): a smaller dense network computing the same function up to the
/// removed units' contributions (exactly, up to f32 rounding, when they are zero), in
/// evaluation mode.
pub fn prune(net: &Network, arch: Arch, eps: f32) -> Result<(Network, PruneReport)> {
    let (params, layers) = prune_params(&net.params, &net.unit_groups(), eps)?;
    let widths = HiddenWidths::from_shapes(arch, |name| params.spec(name).map(|s| s.shape.clone()))
        .map_err(|name| {
            Error::InvalidArgument(format!(
                "pruning: the network has no tensor `{name}` of a {} network",
                arch.as_str()
            ))
        })?;
    let mut pruned = build_sized(arch, &widths, net.output_size(), 0.0, 0);
    if pruned.params.specs != params.specs {
        return Err(Error::InvalidArgument(format!(
            "pruning: the network's tensors are not those of a {} network",
            arch.as_str()
        )));
    }
    pruned.params.values = params.values;
    pruned.training = false;
    let report = PruneReport {
        layers,
        widths,
        params_before: net.params.len(),
        params_after: pruned.params.len(),
        flops_before: net.flops_per_example(),
        flops_after: pruned.flops_per_example(),
    };
    Ok((pruned, report))
}

#[cfg(test)]
#[path = "prune_tests.rs"]
mod tests;
