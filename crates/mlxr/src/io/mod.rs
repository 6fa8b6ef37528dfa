//! Reading and writing arrays in MLX's file formats: `.npy` (one array), `.npz` (named
//! arrays, stored or deflated), `.safetensors` (named arrays plus string metadata) and
//! `.gguf` (named arrays plus typed metadata; `gguf.rs`).
//!
//! The functions mirror MLX's: [`save`] (`mx.save`), [`savez`] (`mx.savez`),
//! [`savez_compressed`] (`mx.savez_compressed`), [`save_safetensors`]
//! (`mx.save_safetensors`), [`save_gguf`] (`mx.save_gguf`) and [`load`] (`mx.load`, dispatching on the extension). Like
//! MLX, the savers append the format's extension when the path lacks it. Every failure —
//! a missing file, a truncated or corrupt one, an unsupported dtype — is an
//! [`Error::Io`] naming the function, the file and the problem.

pub mod gguf;
pub mod npy;
pub mod npz;
pub mod safetensors;

pub use gguf::{load_gguf, load_gguf_bytes, save_gguf, save_gguf_bytes, GgufMetadata, GgufValue};
pub use npy::{load_npy, load_npy_bytes, save_npy, save_npy_bytes};
pub use npz::{load_npz, load_npz_bytes, savez, savez_bytes, savez_compressed};
pub use safetensors::{
    load_safetensors, load_safetensors_bytes, save_safetensors, save_safetensors_bytes,
};

use crate::array::{Array, Data};
use crate::buffer::{HostBuffer, Storage};
use crate::device::StreamOrDevice;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Named arrays in file order (`.npz` members, `.safetensors` tensors).
pub type NamedArrays = Vec<(String, Array)>;

/// What [`load`] read from a file.
#[derive(Clone, Debug)]
pub enum Loaded {
    /// The array of a `.npy` file.
    Array(Array),
    /// The named arrays of a `.npz` file, in archive order.
    Arrays(NamedArrays),
    /// The tensors of a `.safetensors` file, in file order, and its metadata.
    Safetensors {
        /// The tensors.
        arrays: NamedArrays,
        /// The `__metadata__` strings (empty when the file has none).
        metadata: HashMap<String, String>,
    },
    /// The tensors of a `.gguf` file, in file order, and its metadata.
    Gguf {
        /// The tensors (a quantized one as its weights, scales and biases).
        arrays: NamedArrays,
        /// The metadata, in file order.
        metadata: GgufMetadata,
    },
}

impl Loaded {
    /// The single array of a `.npy` file (`None` for named arrays).
    pub fn array(&self) -> Option<&Array> {
        match self {
            Loaded::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The single array of a `.npy` file, or an error naming what was loaded instead.
    pub fn into_array(self) -> Result<Array> {
        match self {
            Loaded::Array(a) => Ok(a),
            _ => Err(Error::Io(
                "load: the file holds named arrays (.npz/.safetensors), not one array".into(),
            )),
        }
    }
    /// The named arrays (empty for a `.npy` file).
    pub fn arrays(&self) -> &[(String, Array)] {
        match self {
            Loaded::Array(_) => &[],
            Loaded::Arrays(v)
            | Loaded::Safetensors { arrays: v, .. }
            | Loaded::Gguf { arrays: v, .. } => v,
        }
    }
    /// The named arrays, consuming the result (a `.npy` array comes back under the name
    /// `arr_0`, NumPy's name for an unnamed array).
    pub fn into_arrays(self) -> NamedArrays {
        match self {
            Loaded::Array(a) => vec![("arr_0".to_string(), a)],
            Loaded::Arrays(v)
            | Loaded::Safetensors { arrays: v, .. }
            | Loaded::Gguf { arrays: v, .. } => v,
        }
    }
    /// The array named `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Array> {
        self.arrays()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
    }
    /// The GGUF metadata (`None` for the other formats).
    pub fn gguf_metadata(&self) -> Option<&GgufMetadata> {
        match self {
            Loaded::Gguf { metadata, .. } => Some(metadata),
            _ => None,
        }
    }
    /// The safetensors metadata (`None` for `.npy`/`.npz`/`.gguf`).
    pub fn metadata(&self) -> Option<&HashMap<String, String>> {
        match self {
            Loaded::Safetensors { metadata, .. } => Some(metadata),
            _ => None,
        }
    }
}

/// Load a file, picking the format from its extension like MLX's `mx.load`: `.npy` gives
/// one array, `.npz` named arrays, `.safetensors` and `.gguf` named arrays and metadata.
pub fn load(path: impl AsRef<Path>) -> Result<Loaded> {
    let path = path.as_ref();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .ok_or_else(|| {
            io_error(
                "load",
                Some(path),
                "could not infer the file format from the extension (expected .npy, .npz, \
                 .safetensors or .gguf)",
            )
        })?;
    load_with_format(path, &ext)
}

/// Load a file in an explicit format (`"npy"`, `"npz"`, `"safetensors"` or `"gguf"`), whatever
/// its extension (MLX's `mx.load(file, format=...)`).
pub fn load_with_format(path: impl AsRef<Path>, format: &str) -> Result<Loaded> {
    let path = path.as_ref();
    match format {
        "npy" => Ok(Loaded::Array(load_npy(path)?)),
        "npz" => Ok(Loaded::Arrays(load_npz(path)?)),
        "safetensors" => {
            let (arrays, metadata) = load_safetensors(path)?;
            Ok(Loaded::Safetensors { arrays, metadata })
        }
        "gguf" => {
            let (arrays, metadata) = load_gguf(path)?;
            Ok(Loaded::Gguf { arrays, metadata })
        }
        f => Err(io_error(
            "load",
            Some(path),
            format!("unknown file format '{f}' (expected npy, npz, safetensors or gguf)"),
        )),
    }
}

/// Save one array as `.npy` like MLX's `mx.save`: `.npy` is appended to the path when it
/// does not already end with it. Returns the path written.
pub fn save(path: impl AsRef<Path>, a: &Array) -> Result<PathBuf> {
    let p = with_extension(path.as_ref(), "npy");
    save_npy(&p, a)?;
    Ok(p)
}

/// `path` with `.ext` appended unless it already ends with it (MLX's savers do this).
pub fn with_extension(path: &Path, ext: &str) -> PathBuf {
    let dotted = format!(".{ext}");
    if path.as_os_str().to_string_lossy().ends_with(&dotted) {
        path.to_path_buf()
    } else {
        let mut s = path.as_os_str().to_os_string();
        s.push(&dotted);
        PathBuf::from(s)
    }
}

/// An `Error::Io` naming the function, the file (when there is one) and the problem.
pub(crate) fn io_error(op: &str, path: Option<&Path>, msg: impl std::fmt::Display) -> Error {
    match path {
        Some(p) => Error::Io(format!("{op}: {}: {msg}", p.display())),
        None => Error::Io(format!("{op}: {msg}")),
    }
}

/// `read_exact` with end-of-file reported as a truncated file.
pub(crate) fn read_exact_or<R: Read>(
    r: &mut R,
    buf: &mut [u8],
    what: &str,
) -> std::result::Result<(), String> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            format!("truncated file: it ends inside {what}")
        } else {
            format!("read error in {what}: {e}")
        }
    })
}

/// How an array's bytes are ordered in a [`RawData`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayoutKind {
    /// Row-major (C order).
    Row,
    /// Column-major (Fortran order).
    Column,
}

/// The bytes of an evaluated array in row- (or column-) major order: the array's own
/// buffer when it is laid out that way, else a row-major copy.
pub(crate) struct RawData {
    data: Data,
    start: usize,
    len: usize,
    pub(crate) layout: LayoutKind,
}

impl RawData {
    /// Evaluate `a` and get its bytes; `allow_column` accepts a column-major buffer as is.
    pub(crate) fn new(a: &Array, allow_column: bool) -> Result<RawData> {
        let d = a.host_data()?;
        let len = a.nbytes();
        let (data, layout) = if d.flags.row_contiguous {
            (d, LayoutKind::Row)
        } else if allow_column && d.flags.col_contiguous {
            (d, LayoutKind::Column)
        } else {
            let c =
                crate::backend::cpu::copy::copy_to_contiguous(&d, a.shape(), a.dtype(), a.dtype())?;
            (c, LayoutKind::Row)
        };
        let start = if len == 0 {
            0
        } else {
            data.offset * a.itemsize()
        };
        Ok(RawData {
            data,
            start,
            len,
            layout,
        })
    }
    /// The bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data.host().bytes()[self.start..self.start + self.len]
    }
}

/// Read the data of a `shape`/`dtype` array from `r` straight into a fresh buffer,
/// swapping bytes for big-endian data, mapping bool bytes to 0/1, and laying a
/// Fortran-order file out as a column-major array (no copy).
pub(crate) fn host_buffer_array<R: Read>(
    r: &mut R,
    shape: &[usize],
    dtype: Dtype,
    big_endian: bool,
    fortran_order: bool,
) -> std::result::Result<Array, String> {
    let n: usize = shape.iter().product();
    let mut buf = HostBuffer::new(n * dtype.size(), false).map_err(|e| e.to_string())?;
    read_exact_or(r, buf.bytes_mut(), "the array data")?;
    fix_bytes(buf.bytes_mut(), dtype, big_endian);
    let storage = Arc::new(Storage::Host(buf));
    let data = if fortran_order && shape.len() > 1 {
        let mut strides = vec![0isize; shape.len()];
        let mut acc = 1isize;
        for (s, &d) in strides.iter_mut().zip(shape) {
            *s = acc;
            acc *= d.max(1) as isize;
        }
        Data::with_layout(storage, shape, strides, 0, Some(n))
    } else {
        Data::row_contiguous(storage, shape)
    };
    Ok(Array::from_data(
        data,
        shape.to_vec(),
        dtype,
        StreamOrDevice::Default.resolve(),
    ))
}

/// Bring freshly read bytes into mlxr's representation: native (little-endian) byte order
/// and bools stored as 0/1.
pub(crate) fn fix_bytes(bytes: &mut [u8], dtype: Dtype, big_endian: bool) {
    if dtype == Dtype::Bool {
        for b in bytes.iter_mut() {
            *b = (*b != 0) as u8;
        }
    }
    // Every buffer is 64-byte aligned and holds whole elements, so the casts succeed.
    let swap_width = if big_endian != cfg!(target_endian = "big") {
        dtype.real_part().size()
    } else {
        1
    };
    match swap_width {
        2 => bytemuck::cast_slice_mut::<u8, u16>(bytes)
            .iter_mut()
            .for_each(|x| *x = x.swap_bytes()),
        4 => bytemuck::cast_slice_mut::<u8, u32>(bytes)
            .iter_mut()
            .for_each(|x| *x = x.swap_bytes()),
        8 => bytemuck::cast_slice_mut::<u8, u64>(bytes)
            .iter_mut()
            .for_each(|x| *x = x.swap_bytes()),
        _ => {}
    }
}

/// Check names for a multi-array file: no name may appear twice.
pub(crate) fn check_names<'a>(
    op: &str,
    path: Option<&Path>,
    names: impl Iterator<Item = &'a str>,
) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(io_error(op, path, format!("the name '{n}' is used twice")));
        }
    }
    Ok(())
}
