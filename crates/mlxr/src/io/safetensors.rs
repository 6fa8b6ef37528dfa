//! `.safetensors` files: an 8-byte little-endian header length, a JSON header (each
//! tensor's dtype, shape and byte range in the data section, plus optional string
//! metadata under `__metadata__`), then the raw little-endian tensor data.
//!
//! Reading and writing go through the `safetensors` crate: its `Metadata` parses and
//! validates the header (known dtypes, each tensor's byte range matching its shape, the
//! ranges tiling the data section from byte 0 without gaps or overlaps, header at most
//! 100 MB), and `serialize`/`serialize_to_file` lay files out (widest dtype first, then by
//! name, header padded to 8 bytes so every tensor is aligned to its element size). Around
//! the crate, this module
//! - streams: the header is read first, then each tensor straight into its array's buffer
//!   (the crate's `SafeTensors` would need the whole file in memory); the data section must
//!   be exactly as long as the tensors (MLX ignores trailing bytes, we report them);
//! - explains rejections: the crate's errors do not always say which tensor is wrong or
//!   why, so when it rejects a header, [`diagnose`] walks the JSON to name the tensor and
//!   the problem;
//! - handles complex64, which the crate (0.6) has no dtype for while MLX's
//!   `mx.save_safetensors` writes complex64 tensors under the dtype `C64`: a `C64` tensor
//!   is handed to the crate as `F64` of the same shape (same 8-byte elements, so the same
//!   layout and alignment) and the header written by the crate is rewritten to say `C64`
//!   (reading does the reverse). The rewritten header is the crate's JSON with its keys
//!   sorted (same length, so the data offsets stay valid), which also makes the output
//!   deterministic (the crate writes the metadata in hash-map order).
//!
//! Every mlxr dtype is written, float64 as `F64` (standard, though MLX 0.32 itself refuses
//! F64 both ways); like MLX, `F8_E4M3` and `F8_E8M0` tensors load as their raw bytes
//! (uint8); other dtypes mlxr lacks are an error. Loading returns the tensors in file
//! order (by data offset, then name).

use super::{check_names, host_buffer_array, io_error, read_exact_or, with_extension};
use super::{NamedArrays, RawData};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use safetensors::tensor::{Metadata, TensorInfo, View};
use safetensors::Dtype as SDtype;
use serde_json::Value;
use std::borrow::{Borrow, Cow};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The largest header accepted (the `safetensors` crate's limit).
const MAX_HEADER_LEN: u64 = 100_000_000;

/// The safetensors name of a dtype.
pub fn safetensors_dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::Bool => "BOOL",
        Dtype::Uint8 => "U8",
        Dtype::Uint16 => "U16",
        Dtype::Uint32 => "U32",
        Dtype::Uint64 => "U64",
        Dtype::Int8 => "I8",
        Dtype::Int16 => "I16",
        Dtype::Int32 => "I32",
        Dtype::Int64 => "I64",
        Dtype::Float16 => "F16",
        Dtype::Bfloat16 => "BF16",
        Dtype::Float32 => "F32",
        Dtype::Float64 => "F64",
        Dtype::Complex64 => "C64",
    }
}

/// The crate's dtype an mlxr dtype is handed over as (complex64 as `F64`, see the module
/// docs).
fn to_crate_dtype(d: Dtype) -> SDtype {
    match d {
        Dtype::Bool => SDtype::BOOL,
        Dtype::Uint8 => SDtype::U8,
        Dtype::Uint16 => SDtype::U16,
        Dtype::Uint32 => SDtype::U32,
        Dtype::Uint64 => SDtype::U64,
        Dtype::Int8 => SDtype::I8,
        Dtype::Int16 => SDtype::I16,
        Dtype::Int32 => SDtype::I32,
        Dtype::Int64 => SDtype::I64,
        Dtype::Float16 => SDtype::F16,
        Dtype::Bfloat16 => SDtype::BF16,
        Dtype::Float32 => SDtype::F32,
        Dtype::Float64 | Dtype::Complex64 => SDtype::F64,
    }
}

/// The mlxr dtype a crate dtype loads as (`complex` for tensors the header called `C64`).
/// Like MLX, the 8-bit floats `F8_E4M3` and `F8_E8M0` load as their raw bytes (uint8).
fn from_crate_dtype(d: SDtype, complex: bool) -> Option<Dtype> {
    Some(match d {
        SDtype::F64 if complex => Dtype::Complex64,
        SDtype::BOOL => Dtype::Bool,
        SDtype::U8 | SDtype::F8_E4M3 | SDtype::F8_E8M0 => Dtype::Uint8,
        SDtype::U16 => Dtype::Uint16,
        SDtype::U32 => Dtype::Uint32,
        SDtype::U64 => Dtype::Uint64,
        SDtype::I8 => Dtype::Int8,
        SDtype::I16 => Dtype::Int16,
        SDtype::I32 => Dtype::Int32,
        SDtype::I64 => Dtype::Int64,
        SDtype::F16 => Dtype::Float16,
        SDtype::BF16 => Dtype::Bfloat16,
        SDtype::F32 => Dtype::Float32,
        SDtype::F64 => Dtype::Float64,
        _ => return None,
    })
}

/// The dtype names mlxr reads, for error messages.
const READABLE: &str =
    "mlxr reads BOOL, U8..U64, I8..I64, F16, BF16, F32, F64, C64, and F8_E4M3/F8_E8M0 as raw uint8";

/// Whether a header dtype name is one mlxr can load.
fn readable_dtype_name(s: &str) -> bool {
    matches!(s, "F8_E4M3" | "F8_E8M0") || Dtype::ALL.iter().any(|&d| safetensors_dtype_name(d) == s)
}

/// A non-negative JSON integer as `u64`.
fn as_index(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Why the crate rejected a header (`v`, before any `C64` rewrite; `data_len` bytes of
/// data): the first problem found, naming the tensor. `None` when nothing specific is
/// found (the caller then reports the crate's own message).
fn diagnose(v: &Value, data_len: u64) -> Option<String> {
    let Some(obj) = v.as_object() else {
        return Some("the header is not a JSON object of tensors".into());
    };
    let mut ranges = Vec::with_capacity(obj.len());
    for (name, v) in obj {
        if name == "__metadata__" {
            match v {
                Value::Null => {}
                Value::Object(m) => {
                    if let Some((k, v)) = m.iter().find(|(_, v)| !v.is_string()) {
                        return Some(format!("metadata value of '{k}' is not a string: {v}"));
                    }
                }
                _ => return Some(format!("__metadata__ is not an object of strings: {v}")),
            }
            continue;
        }
        let bad = |what: &str| Some(format!("tensor '{name}': {what}"));
        let Some(t) = v.as_object() else {
            return bad(&format!("entry is not an object: {v}"));
        };
        let Some(dtype_s) = t.get("dtype").and_then(Value::as_str) else {
            return bad("missing or non-string 'dtype'");
        };
        if !readable_dtype_name(dtype_s) {
            return bad(&format!("unsupported dtype '{dtype_s}' ({READABLE})"));
        }
        let Some(shape) = t.get("shape").and_then(Value::as_array).and_then(|s| {
            s.iter()
                .map(|d| as_index(d).and_then(|d| usize::try_from(d).ok()))
                .collect::<Option<Vec<usize>>>()
        }) else {
            return bad("missing or malformed 'shape' (a list of non-negative integers)");
        };
        let Some((begin, end)) = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .filter(|o| o.len() == 2)
            .and_then(|o| Some((as_index(&o[0])?, as_index(&o[1])?)))
        else {
            return bad("missing or malformed 'data_offsets' (two non-negative integers)");
        };
        if begin > end {
            return bad(&format!("data_offsets [{begin}, {end}] are reversed"));
        }
        if end > data_len {
            return bad(&format!(
                "data_offsets [{begin}, {end}] are out of range: the data section has {data_len} \
                 bytes (truncated file?)"
            ));
        }
        let size = if matches!(dtype_s, "F8_E4M3" | "F8_E8M0") {
            1
        } else {
            Dtype::ALL
                .iter()
                .find(|&&d| safetensors_dtype_name(d) == dtype_s)
                .map_or(1, |d| d.size())
        };
        let nbytes = shape
            .iter()
            .try_fold(size as u64, |acc, &d| acc.checked_mul(d as u64));
        if nbytes != Some(end - begin) {
            return bad(&format!(
                "shape {shape:?} of {dtype_s} needs {} bytes, data_offsets [{begin}, {end}] hold {}",
                nbytes.map_or("too many".to_string(), |n| n.to_string()),
                end - begin
            ));
        }
        ranges.push((begin, end, name));
    }
    ranges.sort();
    let mut at = 0u64;
    for (begin, end, name) in ranges {
        if begin != at {
            return Some(format!(
                "tensor '{name}': data_offsets [{begin}, {end}] do not start where the previous \
                 tensor ends (byte {at}): gap or overlap"
            ));
        }
        at = end;
    }
    None
}

/// Parse and validate a header (through the crate) against a data section of `data_len`
/// bytes: the tensors in file order as `(name, dtype, shape, begin, end)`, and the
/// metadata.
#[allow(clippy::type_complexity)]
fn parse_header(
    text: &[u8],
    data_len: u64,
) -> std::result::Result<(Vec<(String, Dtype, Vec<usize>)>, HashMap<String, String>), String> {
    let text = std::str::from_utf8(text).map_err(|_| "the header is not valid UTF-8")?;
    let original: Value =
        serde_json::from_str(text).map_err(|e| format!("the header is not valid JSON: {e}"))?;
    // C64 (MLX's complex64) goes to the crate as F64: same element size.
    let mut v = original.clone();
    let mut complex = HashSet::new();
    if let Some(obj) = v.as_object_mut() {
        for (name, t) in obj.iter_mut() {
            if name == "__metadata__" {
                continue;
            }
            if let Some(d) = t.get_mut("dtype").filter(|d| d.as_str() == Some("C64")) {
                *d = Value::String("F64".into());
                complex.insert(name.clone());
            }
        }
    }
    let meta: Metadata = serde_json::from_value(v).map_err(|e| {
        diagnose(&original, data_len).unwrap_or_else(|| format!("invalid header: {e}"))
    })?;
    let mut infos: Vec<(String, &TensorInfo)> = meta.tensors().into_iter().collect();
    infos.sort_by(|a, b| (a.1.data_offsets, &a.0).cmp(&(b.1.data_offsets, &b.0)));
    if let Some((name, t)) = infos
        .iter()
        .find(|(_, t)| t.data_offsets.1 as u64 > data_len)
    {
        let (b, e) = t.data_offsets;
        return Err(format!(
            "tensor '{name}': data_offsets [{b}, {e}] are out of range: the data section has \
             {data_len} bytes (truncated file?)"
        ));
    }
    let covered = meta.data_len() as u64;
    if covered != data_len {
        return Err(format!(
            "wrong data length: the tensors cover {covered} bytes, the data section has {data_len}"
        ));
    }
    let mut entries = Vec::with_capacity(infos.len());
    for (name, t) in infos {
        let dtype = from_crate_dtype(t.dtype, complex.contains(&name)).ok_or_else(|| {
            format!(
                "tensor '{name}': unsupported dtype '{:?}' ({READABLE})",
                t.dtype
            )
        })?;
        entries.push((name, dtype, t.shape.clone()));
    }
    let metadata = meta.metadata().clone().unwrap_or_default();
    Ok((entries, metadata))
}

/// Read a whole safetensors file of `total` bytes from `r`.
fn read_safetensors<R: Read>(
    r: &mut R,
    total: u64,
) -> std::result::Result<(NamedArrays, HashMap<String, String>), String> {
    if total < 8 {
        return Err(format!(
            "truncated or not a .safetensors file: {total} bytes is shorter than the 8-byte \
             header length"
        ));
    }
    let mut l = [0u8; 8];
    read_exact_or(r, &mut l, "the header length")?;
    let n = u64::from_le_bytes(l);
    if n > MAX_HEADER_LEN {
        return Err(format!(
            "header length {n} exceeds the limit of {MAX_HEADER_LEN} bytes (corrupt or not a \
             .safetensors file)"
        ));
    }
    if n > total - 8 {
        return Err(format!(
            "truncated header: the header length says {n} bytes, only {} remain",
            total - 8
        ));
    }
    let mut text = vec![0u8; n as usize];
    read_exact_or(r, &mut text, "the header")?;
    let (entries, metadata) = parse_header(&text, total - 8 - n)?;
    let mut out = Vec::with_capacity(entries.len());
    // The ranges tile the data section in this order, so the reads are sequential.
    for (name, dtype, shape) in entries {
        let a = host_buffer_array(r, &shape, dtype, false, false)
            .map_err(|m| format!("tensor '{name}': {m}"))?;
        out.push((name, a));
    }
    Ok((out, metadata))
}

/// An array handed to the crate's serializer: its crate dtype, shape and bytes.
struct ArrayView {
    dtype: SDtype,
    shape: Vec<usize>,
    raw: RawData,
}

impl View for &ArrayView {
    fn dtype(&self) -> SDtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(self.raw.bytes())
    }
    fn data_len(&self) -> usize {
        self.raw.bytes().len()
    }
}

/// Check the names, evaluate the arrays and wrap them for the crate; also the set of
/// complex64 names (whose header dtype is rewritten to `C64`).
#[allow(clippy::type_complexity)]
fn views<K: AsRef<str>, A: Borrow<Array>>(
    op: &str,
    path: Option<&Path>,
    arrays: &[(K, A)],
) -> Result<(Vec<(String, ArrayView)>, HashSet<String>)> {
    check_names(op, path, arrays.iter().map(|(k, _)| k.as_ref()))?;
    if arrays.iter().any(|(k, _)| k.as_ref() == "__metadata__") {
        return Err(io_error(
            op,
            path,
            "the name '__metadata__' is reserved for the metadata",
        ));
    }
    let mut complex = HashSet::new();
    let mut out = Vec::with_capacity(arrays.len());
    for (k, a) in arrays {
        let a = a.borrow();
        if a.dtype() == Dtype::Complex64 {
            complex.insert(k.as_ref().to_string());
        }
        out.push((
            k.as_ref().to_string(),
            ArrayView {
                dtype: to_crate_dtype(a.dtype()),
                shape: a.shape().to_vec(),
                raw: RawData::new(a, false)?,
            },
        ));
    }
    Ok((out, complex))
}

/// Rewrite the header the crate wrote (`header`, the bytes after the length, padded with
/// spaces) in place: complex64 tensors' dtype becomes `C64`, and keys are sorted. The
/// result is the same JSON text reordered, so it has the same length.
fn rewrite_header(header: &mut [u8], complex: &HashSet<String>) -> std::result::Result<(), String> {
    let mut v: Value = serde_json::from_slice(header)
        .map_err(|e| format!("cannot reread the header written by the safetensors crate: {e}"))?;
    if let Some(obj) = v.as_object_mut() {
        for name in complex {
            if let Some(d) = obj.get_mut(name).and_then(|t| t.get_mut("dtype")) {
                *d = Value::String("C64".into());
            }
        }
    }
    let text = serde_json::to_string(&v).expect("JSON values serialise");
    if text.len() > header.len() {
        return Err(format!(
            "the rewritten header ({} bytes) outgrew the crate's ({} bytes)",
            text.len(),
            header.len()
        ));
    }
    header[..text.len()].copy_from_slice(text.as_bytes());
    header[text.len()..].fill(b' ');
    Ok(())
}

/// The header bytes (after the 8-byte length) of serialised safetensors data.
fn header_range(bytes: &[u8]) -> std::result::Result<std::ops::Range<usize>, String> {
    let n = bytes
        .get(..8)
        .map(|l| u64::from_le_bytes(l.try_into().expect("8 bytes")) as usize)
        .ok_or("the safetensors crate wrote no header")?;
    if bytes.len() < 8 + n {
        return Err("the safetensors crate wrote a short header".into());
    }
    Ok(8..8 + n)
}

/// Save named arrays to a `.safetensors` file with optional string metadata, like MLX's
/// `mx.save_safetensors` (`.safetensors` is appended when missing). Every mlxr dtype is
/// supported; complex64 is written as `C64`, as MLX does. Returns the path written.
pub fn save_safetensors<K: AsRef<str>, A: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: &[(K, A)],
    metadata: Option<&HashMap<String, String>>,
) -> Result<PathBuf> {
    let op = "save_safetensors";
    let p = with_extension(path.as_ref(), "safetensors");
    let err = |m: String| io_error(op, Some(&p), m);
    let (views, complex) = views(op, Some(&p), arrays)?;
    safetensors::serialize_to_file(
        views.iter().map(|(k, v)| (k.as_str(), v)),
        metadata.cloned(),
        &p,
    )
    .map_err(|e| err(e.to_string()))?;
    drop(views);
    // Reread the crate's header and rewrite it in place.
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .map_err(|e| err(e.to_string()))?;
    let mut l = [0u8; 8];
    f.read_exact(&mut l).map_err(|e| err(e.to_string()))?;
    let n = u64::from_le_bytes(l);
    if n > MAX_HEADER_LEN {
        return Err(err(format!(
            "the safetensors crate wrote a header of {n} bytes"
        )));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).map_err(|e| err(e.to_string()))?;
    rewrite_header(&mut header, &complex).map_err(err)?;
    f.seek(SeekFrom::Start(8)).map_err(|e| err(e.to_string()))?;
    f.write_all(&header).map_err(|e| err(e.to_string()))?;
    f.flush().map_err(|e| err(e.to_string()))?;
    Ok(p)
}

/// Serialise named arrays (and metadata) to `.safetensors` bytes.
pub fn save_safetensors_bytes<K: AsRef<str>, A: Borrow<Array>>(
    arrays: &[(K, A)],
    metadata: Option<&HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let op = "save_safetensors";
    let (views, complex) = views(op, None, arrays)?;
    let mut out = safetensors::serialize(
        views.iter().map(|(k, v)| (k.as_str(), v)),
        metadata.cloned(),
    )
    .map_err(|e| io_error(op, None, e))?;
    let r = header_range(&out).map_err(|m| io_error(op, None, m))?;
    rewrite_header(&mut out[r], &complex).map_err(|m| io_error(op, None, m))?;
    Ok(out)
}

/// Load a `.safetensors` file: its tensors in file order and its metadata (empty when the
/// file has none).
pub fn load_safetensors(path: impl AsRef<Path>) -> Result<(NamedArrays, HashMap<String, String>)> {
    let path = path.as_ref();
    let err = |m: String| io_error("load_safetensors", Some(path), m);
    let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let len = f.metadata().map_err(|e| err(e.to_string()))?.len();
    read_safetensors(&mut std::io::BufReader::new(f), len).map_err(err)
}

/// Load `.safetensors` bytes; see [`load_safetensors`].
pub fn load_safetensors_bytes(bytes: &[u8]) -> Result<(NamedArrays, HashMap<String, String>)> {
    let mut r = bytes;
    read_safetensors(&mut r, bytes.len() as u64).map_err(|m| io_error("load_safetensors", None, m))
}
