//! Pruning of the paper's student architecture search (Experiment 3): after distillation with
//! the group lasso, a hidden unit (Linear) or channel (Conv2d) is removed when all its incoming
//! weights are below epsilon in magnitude. Removal is physical: the unit's row of `weight` and
//! its `bias` entry go, and so do the next layer's inputs it fed (its column of a Linear
//! weight, its block of h x w columns of a Linear after a flatten, its input-channel slice of
//! a Conv2d weight), giving the tensors of a smaller dense network.
//!
//! - The bias counts as an incoming weight: a unit is dead only when its whole group lasso
//!   group (weights and bias) is below epsilon. A unit with zero weights and a large bias
//!   outputs a constant that the next layer uses, so removing it would change the function.
//! - Each layer keeps at least one unit (when all are dead, the one of largest group norm), so
//!   that the pruned network still has every layer.
//! - The output layer is never pruned: its units are the network's outputs.
//!
//! The layers between two layers with parameters (ReLU, max-pool, flatten, dropout) must act
//! per channel, as every layer of the engine does; the next layer's inputs are then
//! `units x block` per row with the block of unit `c` at `c * block`, which is checked.

use super::group_lasso::group_norm;
use super::layer::UnitGroups;
use super::params::ParamSet;
use crate::{Error, Result};

/// Default epsilon: the paper's 1e-3.
pub const DEFAULT_EPSILON: f32 = 1e-3;

/// How many units one layer had and kept, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerPrune {
    /// The layer's name (the prefix of its tensors, e.g. `fc1`, `conv2`).
    pub name: String,
    pub before: usize,
    /// Indices of the kept units, ascending.
    pub kept: Vec<usize>,
}

impl LayerPrune {
    /// Units after pruning.
    pub fn after(&self) -> usize {
        self.kept.len()
    }
}

/// Whether unit `u`'s incoming weights and bias are all below `eps` in magnitude.
pub fn is_dead(values: &[f32], groups: &UnitGroups, u: usize, eps: f32) -> bool {
    values[groups.unit_bias(u)].abs() < eps
        && values[groups.unit_weights(u)].iter().all(|w| w.abs() < eps)
}

/// The units of `groups` that survive pruning at `eps`, ascending; at least one (the unit of
/// largest group norm when all are dead).
pub fn kept_units(values: &[f32], groups: &UnitGroups, eps: f32) -> Vec<usize> {
    let kept: Vec<usize> = (0..groups.units())
        .filter(|&u| !is_dead(values, groups, u, eps))
        .collect();
    if !kept.is_empty() {
        return kept;
    }
    let norm = |u: usize| group_norm(values, groups, u);
    let largest = (0..groups.units())
        .max_by(|&a, &b| norm(a).total_cmp(&norm(b)))
        .unwrap_or(0);
    vec![largest]
}

/// The parameters of the network `params` with the dead hidden units of `layers` removed;
/// `layers` are the units of every layer with parameters, input to output (see
/// [`Network::unit_groups`](super::Network::unit_groups)). Tensors keep their names and
/// order; their shapes shrink. Also returns what each hidden layer kept.
pub fn prune_params(
    params: &ParamSet,
    layers: &[UnitGroups],
    eps: f32,
) -> Result<(ParamSet, Vec<LayerPrune>)> {
    let hidden = layers.len().saturating_sub(1);
    let mut report = Vec::with_capacity(hidden);
    for groups in &layers[..hidden] {
        report.push(LayerPrune {
            name: layer_name(params, groups)?,
            before: groups.units(),
            kept: kept_units(&params.values, groups, eps),
        });
    }
    let all = |n: usize| (0..n).collect::<Vec<_>>();
    let mut pruned = ParamSet::new();
    for (i, groups) in layers.iter().enumerate() {
        let rows = report
            .get(i)
            .map_or_else(|| all(groups.units()), |l| l.kept.clone());
        let inputs = i
            .checked_sub(1)
            .map(|prev| (layers[prev].units(), report[prev].kept.as_slice()));
        let weight = spec_at(params, groups.weight.start)?;
        let bias = spec_at(params, groups.bias.start)?;
        let (shape, values) = slice_weight(params, weight, &rows, inputs)?;
        let range = pruned.add(&weight.name, &shape);
        pruned.values[range].copy_from_slice(&values);
        let range = pruned.add(&bias.name, &[rows.len()]);
        let all_bias = &params.values[bias.range()];
        for (dst, &u) in pruned.values[range].iter_mut().zip(&rows) {
            *dst = all_bias[u];
        }
    }
    if pruned.specs.len() != params.specs.len() {
        return Err(Error::InvalidArgument(format!(
            "pruning: the network has {} tensors, its layers' units cover {}",
            params.specs.len(),
            pruned.specs.len()
        )));
    }
    Ok((pruned, report))
}

/// The kept `rows` of the weight tensor `spec` (`[units, inputs, ...]`), and of each row only
/// the blocks of the kept input units when `inputs` = (units of the previous layer, kept) is
/// given. Returns the new shape and values.
fn slice_weight(
    params: &ParamSet,
    spec: &super::ParamSpec,
    rows: &[usize],
    inputs: Option<(usize, &[usize])>,
) -> Result<(Vec<usize>, Vec<f32>)> {
    let weight = &params.values[spec.range()];
    let row_len = spec.len() / spec.shape[0];
    let mut shape = spec.shape.clone();
    shape[0] = rows.len();
    let (block, kept_inputs) = match inputs {
        None => (row_len, vec![0]),
        Some((units, kept)) => {
            if spec.shape.len() < 2 || !spec.shape[1].is_multiple_of(units) {
                return Err(Error::InvalidArgument(format!(
                    "pruning: the inputs of `{}` {:?} are not {units} blocks, one per unit \
                     of the layer before",
                    spec.name, spec.shape
                )));
            }
            shape[1] = spec.shape[1] / units * kept.len();
            (row_len / units, kept.to_vec())
        }
    };
    let mut values = Vec::with_capacity(rows.len() * kept_inputs.len() * block);
    for &r in rows {
        let row = &weight[r * row_len..(r + 1) * row_len];
        for &c in &kept_inputs {
            values.extend_from_slice(&row[c * block..(c + 1) * block]);
        }
    }
    Ok((shape, values))
}

/// The tensor starting at `offset` of the flat buffer.
fn spec_at(params: &ParamSet, offset: usize) -> Result<&super::ParamSpec> {
    params
        .specs
        .iter()
        .find(|s| s.offset == offset && !s.is_empty())
        .ok_or_else(|| {
            Error::InvalidArgument(format!("pruning: no tensor starts at offset {offset}"))
        })
}

/// `fc1` for the layer whose weight is `fc1.weight`.
fn layer_name(params: &ParamSet, groups: &UnitGroups) -> Result<String> {
    let name = &spec_at(params, groups.weight.start)?.name;
    Ok(name.strip_suffix(".weight").unwrap_or(name).to_string())
}
