//! The state of a run as named tensors and scalars: a [`StateWriter`] collects them (every
//! part of a run adds its own under a prefix, through [`Stateful`]) and serialises them as one
//! safetensors file; a [`StateReader`] reads them back, checking each tensor's dtype and length
//! against the object it is loaded into, with errors that name the file and the tensor.
//! Scalars live in the file's string metadata; f64 values are written with Rust's shortest
//! round-trip formatting, so they read back bit for bit.

use super::error::{Error, Result};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The format name used in errors.
const FORMAT: &str = "gped checkpoint";

/// Something whose state a checkpoint saves and restores.
pub trait Stateful {
    /// Adds the state under names starting with `prefix`.
    fn save_state(&self, prefix: &str, out: &mut StateWriter);
    /// Restores the state saved under `prefix`. The object must have been built with the same
    /// settings (sizes); a tensor of another length is an error.
    fn load_state(&mut self, prefix: &str, state: &StateReader) -> Result<()>;
}

/// Named tensors (1-D or with a shape) and scalars, collected for one file.
#[derive(Debug, Default)]
pub struct StateWriter {
    tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
    scalars: BTreeMap<String, String>,
}

impl StateWriter {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an F32 tensor of shape `shape` (product = `values.len()`).
    pub fn f32s_shaped(&mut self, name: &str, shape: &[usize], values: &[f32]) {
        assert_eq!(shape.iter().product::<usize>(), values.len(), "{name}");
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .push((name.into(), Dtype::F32, shape.to_vec(), bytes));
    }

    /// Adds a 1-D F32 tensor.
    pub fn f32s(&mut self, name: &str, values: &[f32]) {
        self.f32s_shaped(name, &[values.len()], values);
    }

    /// Adds a 1-D F64 tensor.
    pub fn f64s(&mut self, name: &str, values: &[f64]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .push((name.into(), Dtype::F64, vec![values.len()], bytes));
    }

    /// Adds a 1-D U32 tensor.
    pub fn u32s(&mut self, name: &str, values: &[u32]) {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.tensors
            .push((name.into(), Dtype::U32, vec![values.len()], bytes));
    }

    /// Adds a scalar (any value whose `Display` its `FromStr` reads back exactly: integers,
    /// f64, strings).
    pub fn scalar(&mut self, name: &str, value: impl ToString) {
        self.scalars.insert(name.into(), value.to_string());
    }

    /// The safetensors bytes of everything added.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut views = Vec::with_capacity(self.tensors.len());
        for (name, dtype, shape, bytes) in &self.tensors {
            let view = TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|e| Error::InvalidArgument(format!("checkpoint tensor `{name}`: {e}")))?;
            views.push((name.as_str(), view));
        }
        let meta: HashMap<String, String> = self.scalars.clone().into_iter().collect();
        safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::InvalidArgument(format!("checkpoint serialisation: {e}")))
    }
}

/// A parsed state file; every read names `path` in its errors.
pub struct StateReader<'a> {
    path: PathBuf,
    file: SafeTensors<'a>,
    scalars: HashMap<String, String>,
}

impl<'a> StateReader<'a> {
    /// Parses the safetensors `bytes` read from `path`.
    pub fn parse(bytes: &'a [u8], path: &Path) -> Result<Self> {
        let bad = |e: safetensors::SafeTensorError| Error::format(path, FORMAT, e.to_string());
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(bad)?;
        let scalars = meta.metadata().clone().unwrap_or_default();
        let file = SafeTensors::deserialize(bytes).map_err(bad)?;
        Ok(StateReader {
            path: path.to_path_buf(),
            file,
            scalars,
        })
    }

    /// The file the state was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The scalar `name`, parsed.
    pub fn scalar<T: FromStr>(&self, name: &str) -> Result<T> {
        let text = self.text(name)?;
        text.parse().map_err(|_| {
            Error::format(
                &self.path,
                FORMAT,
                format!(
                    "scalar `{name}`: expected a {}, found `{text}`",
                    std::any::type_name::<T>()
                ),
            )
        })
    }

    /// The scalar `name` as text.
    pub fn text(&self, name: &str) -> Result<&str> {
        self.scalars
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Error::format(&self.path, FORMAT, format!("scalar `{name}` is missing")))
    }

    /// The shape of tensor `name`, if the file has it.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.file.tensor(name).ok().map(|t| t.shape().to_vec())
    }

    /// The bytes of tensor `name`, checked to be `dtype` of shape `shape`.
    fn data(&self, name: &str, dtype: Dtype, shape: &[usize]) -> Result<&[u8]> {
        let view = self.file.tensor(name).map_err(|_| Error::MissingTensor {
            path: self.path.clone(),
            name: name.into(),
        })?;
        if view.dtype() != dtype {
            return Err(Error::format(
                &self.path,
                FORMAT,
                format!(
                    "tensor `{name}`: expected dtype {dtype:?}, found {:?}",
                    view.dtype()
                ),
            ));
        }
        if view.shape() != shape {
            return Err(Error::Shape {
                path: self.path.clone(),
                name: name.into(),
                expected: shape.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        Ok(view.data())
    }

    /// Reads the 1-D F32 tensor `name` into `out` (of its length).
    pub fn f32s_into(&self, name: &str, out: &mut [f32]) -> Result<()> {
        self.f32s_shaped_into(name, &[out.len()], out)
    }

    /// Reads the F32 tensor `name` of shape `shape` (product = `out.len()`) into `out`.
    pub fn f32s_shaped_into(&self, name: &str, shape: &[usize], out: &mut [f32]) -> Result<()> {
        let data = self.data(name, Dtype::F32, shape)?;
        for (v, c) in out.iter_mut().zip(data.chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }

    /// Reads the F64 tensor `name` into `out` (of its length).
    pub fn f64s_into(&self, name: &str, out: &mut [f64]) -> Result<()> {
        let data = self.data(name, Dtype::F64, &[out.len()])?;
        for (v, c) in out.iter_mut().zip(data.chunks_exact(8)) {
            *v = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        }
        Ok(())
    }

    /// Reads the U32 tensor `name` into `out` (of its length).
    pub fn u32s_into(&self, name: &str, out: &mut [u32]) -> Result<()> {
        let data = self.data(name, Dtype::U32, &[out.len()])?;
        for (v, c) in out.iter_mut().zip(data.chunks_exact(4)) {
            *v = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written() -> Vec<u8> {
        let mut w = StateWriter::new();
        w.f32s("a", &[1.5, -2.0]);
        w.f64s("b", &[0.1, 1e300]);
        w.u32s("c", &[7, u32::MAX]);
        w.scalar("x", 0.1f64 + 0.2);
        w.scalar("n", u64::MAX);
        w.to_bytes().unwrap()
    }

    #[test]
    fn tensors_and_scalars_round_trip_bit_for_bit() {
        let bytes = written();
        let r = StateReader::parse(&bytes, Path::new("ck")).unwrap();
        let (mut a, mut b, mut c) = ([0f32; 2], [0f64; 2], [0u32; 2]);
        r.f32s_into("a", &mut a).unwrap();
        r.f64s_into("b", &mut b).unwrap();
        r.u32s_into("c", &mut c).unwrap();
        assert_eq!(a, [1.5, -2.0]);
        assert_eq!(b, [0.1, 1e300]);
        assert_eq!(c, [7, u32::MAX]);
        // 0.1 + 0.2 = 0.30000000000000004: the shortest round-trip text keeps every bit.
        assert_eq!(
            r.scalar::<f64>("x").unwrap().to_bits(),
            (0.1f64 + 0.2).to_bits()
        );
        assert_eq!(r.scalar::<u64>("n").unwrap(), u64::MAX);
    }

    #[test]
    fn wrong_length_dtype_or_name_are_errors_naming_file_and_tensor() {
        let bytes = written();
        let r = StateReader::parse(&bytes, Path::new("run/ck.safetensors")).unwrap();
        let e = r.f32s_into("a", &mut [0.0; 3]).unwrap_err().to_string();
        assert!(
            e.contains("ck.safetensors") && e.contains("`a`") && e.contains("[3]"),
            "{e}"
        );
        let e = r.f64s_into("a", &mut [0.0; 2]).unwrap_err().to_string();
        assert!(e.contains("expected dtype F64, found F32"), "{e}");
        let e = r.f32s_into("zz", &mut [0.0; 2]).unwrap_err().to_string();
        assert!(e.contains("zz"), "{e}");
        let e = r.scalar::<u64>("x").unwrap_err().to_string();
        assert!(e.contains("scalar `x`") && e.contains("u64"), "{e}");
    }

    #[test]
    fn truncated_bytes_are_a_format_error() {
        let bytes = written();
        for cut in [0, 7, 8, bytes.len() / 2, bytes.len() - 1] {
            let e = StateReader::parse(&bytes[..cut], Path::new("ck"))
                .err()
                .unwrap_or_else(|| panic!("cut at {cut} parsed"));
            assert!(
                e.to_string().contains("ck: not a valid gped checkpoint"),
                "{e}"
            );
        }
    }
}
