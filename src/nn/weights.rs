//! Parameters as safetensors files: every named tensor of a [`ParamSet`] as little-endian F32
//! with its PyTorch name and shape, so `safetensors.torch.load_file` gives a state dict that
//! loads into the matching torch module. Loading checks every name and shape.

use super::params::ParamSet;
use crate::base::write_atomic;
use crate::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::path::Path;

/// Serialises `params` (values only) with optional string metadata.
pub fn to_safetensors(
    params: &ParamSet,
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = params
        .specs
        .iter()
        .map(|s| {
            params.values[s.range()]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect()
        })
        .collect();
    let mut views = Vec::with_capacity(params.specs.len());
    for (spec, data) in params.specs.iter().zip(&bytes) {
        let view = TensorView::new(Dtype::F32, spec.shape.clone(), data)
            .map_err(|e| Error::InvalidArgument(format!("tensor `{}`: {e}", spec.name)))?;
        views.push((spec.name.clone(), view));
    }
    safetensors::serialize(views, metadata)
        .map_err(|e| Error::InvalidArgument(format!("safetensors serialisation: {e}")))
}

/// Writes `params` to `path` atomically.
pub fn save(
    params: &ParamSet,
    path: &Path,
    metadata: Option<HashMap<String, String>>,
) -> Result<()> {
    write_atomic(path, &to_safetensors(params, metadata)?)
}

/// Loads the values of every tensor of `params` from the safetensors bytes `bytes` (read from
/// `path`, which errors name). Every tensor must be present, F32, with the expected shape;
/// `params` is left unchanged on error.
pub fn load_from_bytes(params: &mut ParamSet, bytes: &[u8], path: &Path) -> Result<()> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| Error::format(path, "safetensors", e.to_string()))?;
    let mut loaded = params.values.clone();
    for spec in &params.specs {
        let view = file.tensor(&spec.name).map_err(|_| Error::MissingTensor {
            path: path.to_path_buf(),
            name: spec.name.clone(),
        })?;
        if view.dtype() != Dtype::F32 {
            return Err(Error::format(
                path,
                "safetensors",
                format!(
                    "tensor `{}`: expected dtype F32, found {:?}",
                    spec.name,
                    view.dtype()
                ),
            ));
        }
        if view.shape() != spec.shape.as_slice() {
            return Err(Error::Shape {
                path: path.to_path_buf(),
                name: spec.name.clone(),
                expected: spec.shape.clone(),
                found: view.shape().to_vec(),
            });
        }
        for (dst, chunk) in loaded[spec.range()]
            .iter_mut()
            .zip(view.data().chunks_exact(4))
        {
            *dst = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
    }
    params.values = loaded;
    Ok(())
}

/// Loads `params` from the safetensors file at `path`.
pub fn load(params: &mut ParamSet, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    load_from_bytes(params, &bytes, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ParamSet {
        let mut p = ParamSet::new();
        p.add("fc1.weight", &[3, 2]);
        p.add("fc1.bias", &[3]);
        for (i, v) in p.values.iter_mut().enumerate() {
            *v = i as f32 * 0.5 - 1.0;
        }
        p
    }

    #[test]
    fn round_trip_keeps_names_shapes_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("student.safetensors");
        let p = sample();
        save(&p, &path, None).unwrap();
        let mut q = sample();
        q.values.fill(0.0);
        load(&mut q, &path).unwrap();
        assert_eq!(p.values, q.values);
    }

    #[test]
    fn wrong_shape_is_a_clear_error_and_leaves_params_unchanged() {
        let mut other = ParamSet::new();
        other.add("fc1.weight", &[2, 3]);
        other.add("fc1.bias", &[3]);
        let bytes = to_safetensors(&other, None).unwrap();
        let mut p = sample();
        let before = p.values.clone();
        let err = load_from_bytes(&mut p, &bytes, Path::new("w.safetensors")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("fc1.weight") && msg.contains("[3, 2]") && msg.contains("[2, 3]"),
            "{msg}"
        );
        assert_eq!(p.values, before);
    }

    #[test]
    fn missing_tensor_is_named() {
        let mut other = ParamSet::new();
        other.add("fc1.weight", &[3, 2]);
        let bytes = to_safetensors(&other, None).unwrap();
        let err = load_from_bytes(&mut sample(), &bytes, Path::new("w.safetensors")).unwrap_err();
        assert!(
            err.to_string().contains("missing tensor `fc1.bias`"),
            "{err}"
        );
    }

    #[test]
    fn garbage_is_a_format_error() {
        let err = load_from_bytes(&mut sample(), b"not a safetensors file", Path::new("w.st"))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("w.st: not a valid safetensors file"),
            "{err}"
        );
    }
}
