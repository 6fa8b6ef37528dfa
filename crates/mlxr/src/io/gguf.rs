//! GGUF files (the llama.cpp / ggml container, version 3) as MLX reads and writes them:
//! [`load_gguf`] (`mx.load` of a `.gguf` file) and [`save_gguf`] (`mx.save_gguf`).
//!
//! Layout: the magic `GGUF`, the version, the tensor and metadata counts, the metadata
//! key/value pairs, the tensor descriptions (name, dimensions innermost first, ggml type,
//! offset into the data section), padding to the alignment (`general.alignment`, 32 by
//! default) and the tensor data, each tensor aligned. Everything is little-endian.
//!
//! Tensor types, as MLX handles them: F32, F16, I8, I16 and I32 load as those dtypes;
//! BF16 loads as float16 (MLX converts it so); Q4_0, Q4_1 and Q8_0 load as MLX's affine
//! quantization with groups of 32 — the packed `uint32` weights under the tensor's name,
//! and float16 `scales` / `biases` under its name with a trailing `.weight` replaced by
//! `.scales` / `.biases` (Q4_0: `bias = -8 scale`, Q8_0: `bias = -128 scale`, Q4_1 its
//! stored minimum). Other quantized types are an error naming the type. Saving writes
//! float32, float16, int8, int16 and int32 arrays (MLX's set).
//!
//! Metadata values are 0-d arrays (scalars), 1-D arrays (numeric GGUF arrays), strings
//! and lists of strings ([`GgufValue`]); float64 values load as float32 and nested arrays
//! are an error, as MLX.

use super::{check_names, io_error, with_extension, NamedArrays, RawData};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use half::f16;
use std::borrow::Borrow;
use std::path::{Path, PathBuf};

/// A GGUF metadata value as MLX exposes it.
#[derive(Clone, Debug)]
pub enum GgufValue {
    /// A number or bool (0-d) or a numeric / bool GGUF array (1-D).
    Array(Array),
    /// A string.
    String(String),
    /// An array of strings.
    Strings(Vec<String>),
}

/// GGUF metadata in file order.
pub type GgufMetadata = Vec<(String, GgufValue)>;

/// The default alignment of the data section and of each tensor.
const DEFAULT_ALIGNMENT: u64 = 32;

/// ggml tensor type codes used here.
mod ggml {
    pub const F32: u32 = 0;
    pub const F16: u32 = 1;
    pub const Q4_0: u32 = 2;
    pub const Q4_1: u32 = 3;
    pub const Q8_0: u32 = 8;
    pub const I8: u32 = 24;
    pub const I16: u32 = 25;
    pub const I32: u32 = 26;
    pub const BF16: u32 = 30;

    /// The name of a ggml type (for errors).
    pub fn name(t: u32) -> String {
        const NAMES: [&str; 31] = [
            "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K",
            "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
            "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
            "BF16",
        ];
        NAMES
            .get(t as usize)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("type {t}"))
    }
}

/// GGUF metadata value type codes.
mod vt {
    pub const U8: u32 = 0;
    pub const I8: u32 = 1;
    pub const U16: u32 = 2;
    pub const I16: u32 = 3;
    pub const U32: u32 = 4;
    pub const I32: u32 = 5;
    pub const F32: u32 = 6;
    pub const BOOL: u32 = 7;
    pub const STRING: u32 = 8;
    pub const ARRAY: u32 = 9;
    pub const U64: u32 = 10;
    pub const I64: u32 = 11;
    pub const F64: u32 = 12;
}

// ---- reading ----------------------------------------------------------------------------

/// A bounds-checked little-endian cursor over the file's bytes.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| format!("truncated file: it ends inside {what}"))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self, what: &str) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }
    fn u64(&mut self, what: &str) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8"),
        ))
    }
    fn string(&mut self, what: &str) -> std::result::Result<String, String> {
        let n = self.u64(what)?;
        let n = usize::try_from(n).map_err(|_| format!("{what}: length {n} is too large"))?;
        let s = self.take(n, what)?;
        String::from_utf8(s.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
    }
}

/// The dtype and byte size of one element of a numeric metadata type (float64 is read as
/// float32, as MLX).
fn meta_dtype(t: u32) -> Option<(Dtype, usize)> {
    Some(match t {
        vt::U8 => (Dtype::Uint8, 1),
        vt::I8 => (Dtype::Int8, 1),
        vt::U16 => (Dtype::Uint16, 2),
        vt::I16 => (Dtype::Int16, 2),
        vt::U32 => (Dtype::Uint32, 4),
        vt::I32 => (Dtype::Int32, 4),
        vt::F32 => (Dtype::Float32, 4),
        vt::BOOL => (Dtype::Bool, 1),
        vt::U64 => (Dtype::Uint64, 8),
        vt::I64 => (Dtype::Int64, 8),
        vt::F64 => (Dtype::Float32, 8),
        _ => return None,
    })
}

/// `n` numeric metadata values of type `t` as an array of `shape`.
fn meta_numbers(
    r: &mut Reader,
    t: u32,
    n: usize,
    shape: &[usize],
    key: &str,
) -> std::result::Result<Array, String> {
    let (dt, size) =
        meta_dtype(t).ok_or_else(|| format!("metadata '{key}' has unknown value type {t}"))?;
    let bytes = n
        .checked_mul(size)
        .ok_or_else(|| format!("metadata '{key}' is too large"))?;
    let raw = r.take(bytes, "the metadata")?;
    let a = if t == vt::F64 {
        let v: Vec<f32> = raw
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8")) as f32)
            .collect();
        Array::from_vec(v, shape)
    } else {
        Array::from_bytes(raw, shape, dt)
    };
    a.map_err(|e| e.to_string())
}

/// One metadata value.
fn read_value(r: &mut Reader, t: u32, key: &str) -> std::result::Result<GgufValue, String> {
    match t {
        vt::STRING => Ok(GgufValue::String(r.string("a metadata string")?)),
        vt::ARRAY => {
            let et = r.u32("a metadata array")?;
            let n = r.u64("a metadata array")?;
            let n = usize::try_from(n).map_err(|_| format!("metadata '{key}' is too large"))?;
            match et {
                vt::ARRAY => Err(format!(
                    "metadata '{key}': only one level of nested arrays is supported (as MLX)"
                )),
                vt::STRING => {
                    // Each string takes at least its 8-byte length.
                    if n > r.b.len() / 8 {
                        return Err("truncated file: it ends inside the metadata".into());
                    }
                    let v = (0..n)
                        .map(|_| r.string("a metadata string"))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    Ok(GgufValue::Strings(v))
                }
                _ => Ok(GgufValue::Array(meta_numbers(r, et, n, &[n], key)?)),
            }
        }
        _ => Ok(GgufValue::Array(meta_numbers(r, t, 1, &[], key)?)),
    }
}

/// The description of one tensor.
struct TensorInfo {
    name: String,
    /// Dimensions, outermost first (reversed from the file's ggml order).
    shape: Vec<usize>,
    ggml_type: u32,
    offset: u64,
}

/// Bytes per block and elements per block of a loadable ggml type.
fn block_layout(t: u32) -> Option<(usize, usize)> {
    Some(match t {
        ggml::F32 | ggml::I32 => (4, 1),
        ggml::F16 | ggml::I16 | ggml::BF16 => (2, 1),
        ggml::I8 => (1, 1),
        ggml::Q4_0 => (18, 32),
        ggml::Q4_1 => (20, 32),
        ggml::Q8_0 => (34, 32),
        _ => return None,
    })
}

/// The `scales` / `biases` names of a quantized tensor (MLX's: a trailing `.weight` is
/// replaced).
fn quant_names(name: &str) -> (String, String) {
    let base = name.strip_suffix(".weight").unwrap_or(name);
    (format!("{base}.scales"), format!("{base}.biases"))
}

/// MLX's affine quantization of a Q4_0 / Q4_1 / Q8_0 tensor: packed weights (`uint32`,
/// `bits` per element, element `j` of a word in bits `bits * j`), float16 scales and
/// biases, one per 32 elements.
fn dequant_affine(
    t: u32,
    shape: &[usize],
    raw: &[u8],
) -> std::result::Result<(Array, Array, Array), String> {
    let (block_bytes, _) = block_layout(t).expect("quantized type");
    let nb = raw.len() / block_bytes;
    let bits = if t == ggml::Q8_0 { 8 } else { 4 };
    let per_word = 32 / bits;
    let mut words = vec![0u32; nb * 32 / per_word];
    let mut scales = Vec::with_capacity(nb);
    let mut biases = Vec::with_capacity(nb);
    let mut q = [0u32; 32];
    for (i, blk) in raw.chunks_exact(block_bytes).enumerate() {
        let d = f16::from_le_bytes([blk[0], blk[1]]);
        let qs = match t {
            ggml::Q4_0 => {
                biases.push(f16::from_f32(-8.0 * d.to_f32()));
                &blk[2..]
            }
            ggml::Q4_1 => {
                biases.push(f16::from_le_bytes([blk[2], blk[3]]));
                &blk[4..]
            }
            _ => {
                biases.push(f16::from_f32(-128.0 * d.to_f32()));
                &blk[2..]
            }
        };
        scales.push(d);
        if bits == 4 {
            for j in 0..16 {
                q[j] = (qs[j] & 0xF) as u32;
                q[j + 16] = (qs[j] >> 4) as u32;
            }
        } else {
            for j in 0..32 {
                q[j] = (qs[j] as i8 as i32 + 128) as u32;
            }
        }
        for (w, chunk) in words[i * 32 / per_word..(i + 1) * 32 / per_word]
            .iter_mut()
            .zip(q.chunks_exact(per_word))
        {
            *w = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (j, &v)| acc | (v << (bits * j)));
        }
    }
    let nd = shape.len();
    let mut wshape = shape.to_vec();
    let mut sshape = shape.to_vec();
    if nd == 0 {
        return Err("a quantized tensor must have at least one dimension".into());
    }
    wshape[nd - 1] = shape[nd - 1] * bits / 32;
    sshape[nd - 1] = shape[nd - 1] / 32;
    let e = |e: crate::Error| e.to_string();
    Ok((
        Array::from_vec(words, &wshape).map_err(e)?,
        Array::from_vec(scales, &sshape).map_err(e)?,
        Array::from_vec(biases, &sshape).map_err(e)?,
    ))
}

/// Parse a whole GGUF file.
fn read_gguf(bytes: &[u8]) -> std::result::Result<(NamedArrays, GgufMetadata), String> {
    let mut r = Reader { b: bytes, pos: 0 };
    if r.take(4, "the magic number")? != b"GGUF" {
        return Err("not a GGUF file (bad magic number)".into());
    }
    let version = r.u32("the header")?;
    if !(2..=3).contains(&version) {
        return Err(format!(
            "unsupported GGUF version {version} (2 and 3 are supported)"
        ));
    }
    let n_tensors = r.u64("the header")?;
    let n_kv = r.u64("the header")?;
    let mut metadata = GgufMetadata::new();
    let mut alignment = DEFAULT_ALIGNMENT;
    for _ in 0..n_kv {
        let key = r.string("a metadata key")?;
        let t = r.u32("the metadata")?;
        let v = read_value(&mut r, t, &key)?;
        if key == "general.alignment" {
            if let GgufValue::Array(a) = &v {
                if a.ndim() == 0 && a.dtype().is_integer() {
                    let al = a.item::<f64>().map_err(|e| e.to_string())? as u64;
                    if al == 0 || !al.is_power_of_two() {
                        return Err(format!("invalid general.alignment {al}"));
                    }
                    alignment = al;
                }
            }
        }
        metadata.push((key, v));
    }
    let mut infos = Vec::new();
    for _ in 0..n_tensors {
        let name = r.string("a tensor name")?;
        let nd = r.u32("a tensor description")?;
        if nd > 8 {
            return Err(format!("tensor '{name}' has {nd} dimensions (at most 8)"));
        }
        let mut shape = Vec::with_capacity(nd as usize);
        for _ in 0..nd {
            let d = r.u64("a tensor description")?;
            shape.push(usize::try_from(d).map_err(|_| format!("tensor '{name}' is too large"))?);
        }
        shape.reverse();
        let ggml_type = r.u32("a tensor description")?;
        let offset = r.u64("a tensor description")?;
        infos.push(TensorInfo {
            name,
            shape,
            ggml_type,
            offset,
        });
    }
    let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
    let mut arrays = NamedArrays::new();
    for ti in infos {
        let name = &ti.name;
        let (block_bytes, block_elems) = block_layout(ti.ggml_type).ok_or_else(|| {
            format!(
                "tensor '{name}' has the ggml type {}, which mlxr cannot load (supported: \
                 F32, F16, BF16, I8, I16, I32, Q4_0, Q4_1, Q8_0)",
                ggml::name(ti.ggml_type)
            )
        })?;
        let n = ti
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| format!("tensor '{name}' is too large"))?;
        let inner = ti.shape.last().copied().unwrap_or(1);
        if block_elems > 1 && inner % block_elems != 0 {
            return Err(format!(
                "tensor '{name}' of type {}: its innermost dimension {inner} is not a multiple \
                 of {block_elems}",
                ggml::name(ti.ggml_type)
            ));
        }
        let len = n / block_elems * block_bytes;
        let start = data_start
            .checked_add(ti.offset)
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s.checked_add(len).is_some_and(|e| e <= bytes.len()))
            .ok_or_else(|| {
                format!("tensor '{name}' extends past the end of the file (truncated or corrupt)")
            })?;
        let raw = &bytes[start..start + len];
        let e = |e: crate::Error| e.to_string();
        match ti.ggml_type {
            ggml::Q4_0 | ggml::Q4_1 | ggml::Q8_0 => {
                let (w, s, b) = dequant_affine(ti.ggml_type, &ti.shape, raw)?;
                let (sn, bn) = quant_names(name);
                arrays.push((name.clone(), w));
                arrays.push((sn, s));
                arrays.push((bn, b));
            }
            ggml::BF16 => {
                let v: Vec<f16> = raw
                    .chunks_exact(2)
                    .map(|c| f16::from_f32(half::bf16::from_le_bytes([c[0], c[1]]).to_f32()))
                    .collect();
                arrays.push((name.clone(), Array::from_vec(v, &ti.shape).map_err(e)?));
            }
            t => {
                let dt = match t {
                    ggml::F32 => Dtype::Float32,
                    ggml::F16 => Dtype::Float16,
                    ggml::I8 => Dtype::Int8,
                    ggml::I16 => Dtype::Int16,
                    _ => Dtype::Int32,
                };
                arrays.push((
                    name.clone(),
                    Array::from_bytes(raw, &ti.shape, dt).map_err(e)?,
                ));
            }
        }
    }
    Ok((arrays, metadata))
}

/// Load a `.gguf` file: its tensors in file order (quantized ones as weights, scales and
/// biases; see the module docs) and its metadata.
pub fn load_gguf(path: impl AsRef<Path>) -> Result<(NamedArrays, GgufMetadata)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_error("load_gguf", Some(path), e))?;
    read_gguf(&bytes).map_err(|m| io_error("load_gguf", Some(path), m))
}

/// Load GGUF bytes; see [`load_gguf`].
pub fn load_gguf_bytes(bytes: &[u8]) -> Result<(NamedArrays, GgufMetadata)> {
    read_gguf(bytes).map_err(|m| io_error("load_gguf", None, m))
}

// ---- writing ----------------------------------------------------------------------------

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The metadata type code of an array's dtype (float16, bfloat16, float64 and complex
/// are not allowed, as MLX).
fn meta_type(dt: Dtype) -> Option<u32> {
    Some(match dt {
        Dtype::Uint8 => vt::U8,
        Dtype::Int8 => vt::I8,
        Dtype::Uint16 => vt::U16,
        Dtype::Int16 => vt::I16,
        Dtype::Uint32 => vt::U32,
        Dtype::Int32 => vt::I32,
        Dtype::Float32 => vt::F32,
        Dtype::Bool => vt::BOOL,
        Dtype::Uint64 => vt::U64,
        Dtype::Int64 => vt::I64,
        _ => return None,
    })
}

/// Serialise the file.
fn write_gguf<K: AsRef<str>, A: Borrow<Array>>(
    arrays: &[(K, A)],
    metadata: &[(String, GgufValue)],
) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.extend_from_slice(b"GGUF");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(arrays.len() as u64).to_le_bytes());
    out.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        put_string(&mut out, k);
        match v {
            GgufValue::String(s) => {
                out.extend_from_slice(&vt::STRING.to_le_bytes());
                put_string(&mut out, s);
            }
            GgufValue::Strings(v) => {
                out.extend_from_slice(&vt::ARRAY.to_le_bytes());
                out.extend_from_slice(&vt::STRING.to_le_bytes());
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                for s in v {
                    put_string(&mut out, s);
                }
            }
            GgufValue::Array(a) => {
                if a.ndim() > 1 {
                    return Err(format!(
                        "metadata '{k}': cannot save arrays with more than one dimension"
                    ));
                }
                let t = meta_type(a.dtype()).ok_or_else(|| {
                    format!(
                        "metadata '{k}': array type {} is not supported for metadata",
                        a.dtype()
                    )
                })?;
                if a.ndim() == 1 {
                    out.extend_from_slice(&vt::ARRAY.to_le_bytes());
                    out.extend_from_slice(&t.to_le_bytes());
                    out.extend_from_slice(&(a.size() as u64).to_le_bytes());
                } else {
                    out.extend_from_slice(&t.to_le_bytes());
                }
                let raw = RawData::new(a, false).map_err(|e| e.to_string())?;
                out.extend_from_slice(raw.bytes());
            }
        }
    }
    let mut raws = Vec::with_capacity(arrays.len());
    let mut offset = 0u64;
    for (k, a) in arrays {
        let (k, a) = (k.as_ref(), a.borrow());
        let t = match a.dtype() {
            Dtype::Float32 => ggml::F32,
            Dtype::Float16 => ggml::F16,
            Dtype::Int8 => ggml::I8,
            Dtype::Int16 => ggml::I16,
            Dtype::Int32 => ggml::I32,
            d => {
                return Err(format!(
                    "array '{k}': dtype {d} is not supported (GGUF tensors can be float32, \
                     float16, int8, int16 or int32)"
                ))
            }
        };
        put_string(&mut out, k);
        out.extend_from_slice(&(a.ndim() as u32).to_le_bytes());
        for &d in a.shape().iter().rev() {
            out.extend_from_slice(&(d as u64).to_le_bytes());
        }
        out.extend_from_slice(&t.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        let raw = RawData::new(a, false).map_err(|e| e.to_string())?;
        offset = (offset + a.nbytes() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
        raws.push(raw);
    }
    let pad = |out: &mut Vec<u8>| {
        let n = (out.len() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
        out.resize(n as usize, 0);
    };
    pad(&mut out);
    for raw in &raws {
        out.extend_from_slice(raw.bytes());
        pad(&mut out);
    }
    Ok(out)
}

/// Serialise named arrays and metadata as GGUF bytes; see [`save_gguf`].
pub fn save_gguf_bytes<K: AsRef<str>, A: Borrow<Array>>(
    arrays: &[(K, A)],
    metadata: &[(String, GgufValue)],
) -> Result<Vec<u8>> {
    check_names("save_gguf", None, arrays.iter().map(|(k, _)| k.as_ref()))?;
    write_gguf(arrays, metadata).map_err(|m| io_error("save_gguf", None, m))
}

/// Save named arrays (float32, float16, int8, int16 or int32) and metadata to a `.gguf`
/// file like MLX's `mx.save_gguf` (`.gguf` is appended when missing). Metadata arrays
/// must be 0-d or 1-D of an integer, bool or float32 dtype. Returns the path written.
pub fn save_gguf<K: AsRef<str>, A: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: &[(K, A)],
    metadata: &[(String, GgufValue)],
) -> Result<PathBuf> {
    let p = with_extension(path.as_ref(), "gguf");
    check_names(
        "save_gguf",
        Some(&p),
        arrays.iter().map(|(k, _)| k.as_ref()),
    )?;
    let bytes = write_gguf(arrays, metadata).map_err(|m| io_error("save_gguf", Some(&p), m))?;
    std::fs::write(&p, bytes).map_err(|e| io_error("save_gguf", Some(&p), e))?;
    Ok(p)
}
