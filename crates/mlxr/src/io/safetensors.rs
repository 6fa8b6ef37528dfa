//! `.safetensors` files: an 8-byte little-endian header length, a JSON header (each
//! tensor's dtype, shape and byte range in the data section, plus optional string
//! metadata under `__metadata__`), then the raw little-endian tensor data.
//!
//! The format is read and written here directly rather than through the `safetensors`
//! crate, because the crate (0.6) has no complex dtype while MLX's `mx.save_safetensors`
//! writes complex64 tensors under the dtype `C64`; with our own code MLX's complex files
//! load and ours load in MLX (the tests cross-check every other dtype with the crate).
//! Every mlxr dtype is written, float64 as `F64` (standard, though MLX 0.32 itself
//! refuses F64 both ways); like MLX, `F8_E4M3` and `F8_E8M0` tensors load as their raw
//! bytes (uint8), other dtypes mlxr lacks are an error.
//!
//! Reading checks what the crate checks: header at most 100 MB, valid UTF-8 JSON, known
//! dtypes, each tensor's byte range matching its shape, and the ranges tiling the data
//! section exactly (no gaps, overlaps or trailing bytes — MLX ignores trailing bytes, we
//! report them as a wrong data length). Writing lays the tensors out like the crate,
//! widest dtype first (stable, so names keep their given order within a dtype size), with
//! the header padded to 8 bytes, so every tensor is aligned to its element size. Loading
//! returns the tensors in file order and reads each one straight into its array's buffer.

use super::{check_names, host_buffer_array, io_error, read_exact_or, with_extension};
use super::{NamedArrays, RawData};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use serde_json::Value;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::io::{Read, Write};
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

/// The dtype a safetensors dtype name loads as. Like MLX, the 8-bit floats `F8_E4M3`
/// and `F8_E8M0` load as their raw bytes (uint8).
fn parse_dtype(s: &str) -> Option<Dtype> {
    if matches!(s, "F8_E4M3" | "F8_E8M0") {
        return Some(Dtype::Uint8);
    }
    Dtype::ALL
        .iter()
        .copied()
        .find(|&d| safetensors_dtype_name(d) == s)
}

/// One tensor's entry in the header.
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

/// A non-negative JSON integer as `u64`.
fn as_index(v: &Value) -> Option<u64> {
    v.as_u64()
}

/// Parse and validate the JSON header against a data section of `data_len` bytes; the
/// tensors come back in file order.
fn parse_header(
    text: &[u8],
    data_len: u64,
) -> std::result::Result<(Vec<Entry>, HashMap<String, String>), String> {
    let text = std::str::from_utf8(text).map_err(|_| "the header is not valid UTF-8")?;
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("the header is not valid JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or("the header is not a JSON object of tensors")?;
    let mut metadata = HashMap::new();
    let mut entries = Vec::with_capacity(obj.len());
    for (name, v) in obj {
        if name == "__metadata__" {
            match v {
                Value::Null => {}
                Value::Object(m) => {
                    for (k, v) in m {
                        let s = v.as_str().ok_or_else(|| {
                            format!("metadata value of '{k}' is not a string: {v}")
                        })?;
                        metadata.insert(k.clone(), s.to_string());
                    }
                }
                _ => return Err(format!("__metadata__ is not an object of strings: {v}")),
            }
            continue;
        }
        let bad = |what: &str| format!("tensor '{name}': {what}");
        let t = v
            .as_object()
            .ok_or_else(|| bad(&format!("entry is not an object: {v}")))?;
        let dtype_s = t
            .get("dtype")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("missing or non-string 'dtype'"))?;
        let dtype = parse_dtype(dtype_s).ok_or_else(|| {
            bad(&format!(
                "unsupported dtype '{dtype_s}' (mlxr reads BOOL, U8..U64, I8..I64, F16, BF16, \
                 F32, F64, C64, and F8_E4M3/F8_E8M0 as raw uint8)"
            ))
        })?;
        let shape = t
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|s| {
                s.iter()
                    .map(|d| as_index(d).and_then(|d| usize::try_from(d).ok()))
                    .collect::<Option<Vec<usize>>>()
            })
            .ok_or_else(|| bad("missing or malformed 'shape' (a list of non-negative integers)"))?;
        let offs = t
            .get("data_offsets")
            .and_then(Value::as_array)
            .filter(|o| o.len() == 2)
            .and_then(|o| Some((as_index(&o[0])?, as_index(&o[1])?)))
            .ok_or_else(|| {
                bad("missing or malformed 'data_offsets' (two non-negative integers)")
            })?;
        let (begin, end) = offs;
        if begin > end {
            return Err(bad(&format!("data_offsets [{begin}, {end}] are reversed")));
        }
        if end > data_len {
            return Err(bad(&format!(
                "data_offsets [{begin}, {end}] are out of range: the data section has {data_len} \
                 bytes (truncated file?)"
            )));
        }
        let nbytes = shape
            .iter()
            .try_fold(dtype.size() as u64, |acc, &d| acc.checked_mul(d as u64));
        if nbytes != Some(end - begin) {
            return Err(bad(&format!(
                "shape {shape:?} of {dtype_s} needs {} bytes, data_offsets [{begin}, {end}] hold {}",
                nbytes.map_or("too many".to_string(), |n| n.to_string()),
                end - begin
            )));
        }
        entries.push(Entry {
            name: name.clone(),
            dtype,
            shape,
            begin,
            end,
        });
    }
    entries.sort_by_key(|e| (e.begin, e.end));
    let mut at = 0u64;
    for e in &entries {
        if e.begin != at {
            return Err(format!(
                "tensor '{}': data_offsets [{}, {}] do not start where the previous tensor \
                 ends (byte {at}): gap or overlap",
                e.name, e.begin, e.end
            ));
        }
        at = e.end;
    }
    if at != data_len {
        return Err(format!(
            "wrong data length: the tensors cover {at} bytes, the data section has {data_len}"
        ));
    }
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
    for e in entries {
        let a = host_buffer_array(r, &e.shape, e.dtype, false, false)
            .map_err(|m| format!("tensor '{}': {m}", e.name))?;
        out.push((e.name, a));
    }
    Ok((out, metadata))
}

/// Write named arrays (and metadata) in safetensors format.
fn write_safetensors<W: Write, K: AsRef<str>, A: Borrow<Array>>(
    op: &str,
    path: Option<&Path>,
    w: &mut W,
    arrays: &[(K, A)],
    metadata: Option<&HashMap<String, String>>,
) -> Result<()> {
    check_names(op, path, arrays.iter().map(|(k, _)| k.as_ref()))?;
    if arrays.iter().any(|(k, _)| k.as_ref() == "__metadata__") {
        return Err(io_error(
            op,
            path,
            "the name '__metadata__' is reserved for the metadata",
        ));
    }
    let js = |s: &str| serde_json::to_string(s).expect("strings serialise");
    // Widest dtype first (stable), so that every tensor is aligned to its element size.
    let mut order: Vec<usize> = (0..arrays.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(arrays[i].1.borrow().itemsize()));
    let mut h = String::from("{");
    if let Some(m) = metadata {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        let items: Vec<String> = keys
            .iter()
            .map(|k| format!("{}:{}", js(k), js(&m[*k])))
            .collect();
        h.push_str(&format!("\"__metadata__\":{{{}}}", items.join(",")));
    }
    let mut at = 0usize;
    for &i in &order {
        let (name, a) = (&arrays[i].0, arrays[i].1.borrow());
        if h.len() > 1 {
            h.push(',');
        }
        let shape: Vec<String> = a.shape().iter().map(|d| d.to_string()).collect();
        h.push_str(&format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{at},{}]}}",
            js(name.as_ref()),
            safetensors_dtype_name(a.dtype()),
            shape.join(","),
            at + a.nbytes()
        ));
        at += a.nbytes();
    }
    h.push('}');
    while h.len() % 8 != 0 {
        h.push(' ');
    }
    let werr = |e: std::io::Error| io_error(op, path, e);
    w.write_all(&(h.len() as u64).to_le_bytes()).map_err(werr)?;
    w.write_all(h.as_bytes()).map_err(werr)?;
    for &i in &order {
        // One array at a time: a non-contiguous array's copy lives only while written.
        let raw = RawData::new(arrays[i].1.borrow(), false)?;
        w.write_all(raw.bytes()).map_err(werr)?;
    }
    Ok(())
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
    let f = std::fs::File::create(&p).map_err(|e| io_error(op, Some(&p), e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    write_safetensors(op, Some(&p), &mut w, arrays, metadata)?;
    w.flush().map_err(|e| io_error(op, Some(&p), e))?;
    Ok(p)
}

/// Serialise named arrays (and metadata) to `.safetensors` bytes.
pub fn save_safetensors_bytes<K: AsRef<str>, A: Borrow<Array>>(
    arrays: &[(K, A)],
    metadata: Option<&HashMap<String, String>>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write_safetensors("save_safetensors", None, &mut out, arrays, metadata)?;
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
