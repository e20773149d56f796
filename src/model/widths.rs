//! Explicit hidden widths of one of the paper's architectures: the per-layer unit counts a
//! network has, whether they came from the multipliers K1, K2 (floor(w K)) or from pruning,
//! which leaves counts no multiplier gives. A pruned network's widths are not written anywhere
//! else: they are read back from the shapes of its weights file (`fc1.weight` `[units, in]`,
//! `conv1.weight` `[channels, ...]`), so its safetensors file alone says how to rebuild it
//! ([`load_network`]).

use super::arch::build_sized;
use crate::config::Arch;
use crate::nn::{Network, weights};
use crate::{Error, Result};
use safetensors::tensor::SafeTensors;
use std::path::Path;

/// Units of each hidden layer: `first` scales with K1 (the convolutions' channels, or the
/// MLPs' first hidden layer), `second` with K2 (the remaining fully connected hidden layers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenWidths {
    pub first: Vec<usize>,
    pub second: Vec<usize>,
}

impl HiddenWidths {
    /// The names of `arch`'s hidden layers with parameters, in the groups of
    /// [`HiddenWidths`]: `fc1`, `fc2` for the MLPs, `conv1`.. and `fc1`.. for the CNNs.
    pub fn names(arch: Arch) -> (Vec<String>, Vec<String>) {
        let (first, second) = arch.scaled_widths();
        let numbered = |prefix: &str, n: usize, from: usize| {
            (from..from + n)
                .map(|i| format!("{prefix}{i}"))
                .collect::<Vec<_>>()
        };
        match arch {
            Arch::Fcnn | Arch::PlaneMlp => (
                numbered("fc", first.len(), 1),
                numbered("fc", second.len(), 1 + first.len()),
            ),
            Arch::MnistCnn | Arch::CifarCnn => (
                numbered("conv", first.len(), 1),
                numbered("fc", second.len(), 1),
            ),
        }
    }

    /// The name of `arch`'s output layer (`fc3` for the FCNN, `fc2` for the MNIST CNN).
    pub fn output_name(arch: Arch) -> String {
        let (first, second) = Self::names(arch);
        let fully_connected = first
            .iter()
            .chain(&second)
            .filter(|n| n.starts_with("fc"))
            .count();
        format!("fc{}", fully_connected + 1)
    }

    /// Every hidden width, input to output.
    pub fn all(&self) -> impl Iterator<Item = &usize> {
        self.first.iter().chain(&self.second)
    }

    /// The widths of the `arch` network whose tensor shapes `shape_of` gives (by name):
    /// the first dimension of each hidden layer's weight. Errors name a missing tensor.
    pub fn from_shapes(
        arch: Arch,
        shape_of: impl Fn(&str) -> Option<Vec<usize>>,
    ) -> std::result::Result<Self, String> {
        let (first, second) = Self::names(arch);
        let widths = |names: &[String]| {
            names
                .iter()
                .map(|n| {
                    let name = format!("{n}.weight");
                    match shape_of(&name).and_then(|s| s.first().copied()) {
                        Some(units) if units > 0 => Ok(units),
                        _ => Err(name),
                    }
                })
                .collect::<std::result::Result<Vec<_>, String>>()
        };
        Ok(HiddenWidths {
            first: widths(&first)?,
            second: widths(&second)?,
        })
    }

    /// The widths of the `arch` network in the safetensors file `path`.
    pub fn from_file(arch: Arch, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_bytes(arch, &bytes, path)
    }

    fn from_bytes(arch: Arch, bytes: &[u8], path: &Path) -> Result<Self> {
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::format(path, "safetensors", e.to_string()))?;
        Self::from_shapes(arch, |name| {
            file.tensor(name).ok().map(|t| t.shape().to_vec())
        })
        .map_err(|name| Error::MissingTensor {
            path: path.to_path_buf(),
            name,
        })
    }
}

/// The `arch` network with `outputs` outputs stored in the safetensors file `path`, at the
/// hidden widths of its tensors (a pruned network as well as any other), without dropout.
/// Every tensor's name and shape is checked as [`weights::load`] does.
pub fn load_network(arch: Arch, outputs: usize, path: &Path) -> Result<Network> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let widths = HiddenWidths::from_bytes(arch, &bytes, path)?;
    // The initial weights are all replaced by the file's; the seed is irrelevant.
    let mut net = build_sized(arch, &widths, outputs, 0.0, 0);
    weights::load_from_bytes(&mut net.params, &bytes, path)?;
    net.training = false;
    Ok(net)
}
