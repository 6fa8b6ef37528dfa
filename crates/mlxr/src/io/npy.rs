//! NumPy `.npy` files (format versions 1–3): header parsing, every dtype mlxr has
//! (bfloat16 is stored under its MLX-compatible descr `<V2` is not standard, so it is
//! refused on save, as NumPy has no bfloat16), C and Fortran order, and clear errors for
//! truncated or corrupt files.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The NumPy descr string of a dtype (little-endian).
pub fn npy_descr(d: Dtype) -> Result<&'static str> {
    Ok(match d {
        Dtype::Bool => "|b1",
        Dtype::Uint8 => "|u1",
        Dtype::Uint16 => "<u2",
        Dtype::Uint32 => "<u4",
        Dtype::Uint64 => "<u8",
        Dtype::Int8 => "|i1",
        Dtype::Int16 => "<i2",
        Dtype::Int32 => "<i4",
        Dtype::Int64 => "<i8",
        Dtype::Float16 => "<f2",
        Dtype::Float32 => "<f4",
        Dtype::Float64 => "<f8",
        Dtype::Complex64 => "<c8",
        Dtype::Bfloat16 => {
            return Err(Error::Dtype(
                "save_npy: bfloat16 has no NumPy dtype; convert to float32 first".into(),
            ))
        }
    })
}

fn descr_dtype(descr: &str) -> Result<(Dtype, bool)> {
    let (endian, code) = descr.split_at(1.min(descr.len()));
    let big = endian == ">";
    let d = match code {
        "b1" => Dtype::Bool,
        "u1" => Dtype::Uint8,
        "u2" => Dtype::Uint16,
        "u4" => Dtype::Uint32,
        "u8" => Dtype::Uint64,
        "i1" => Dtype::Int8,
        "i2" => Dtype::Int16,
        "i4" => Dtype::Int32,
        "i8" => Dtype::Int64,
        "f2" => Dtype::Float16,
        "f4" => Dtype::Float32,
        "f8" => Dtype::Float64,
        "c8" => Dtype::Complex64,
        _ => {
            return Err(Error::Io(format!(
                "load_npy: unsupported dtype descr '{descr}'"
            )))
        }
    };
    Ok((d, big))
}

/// Serialise an array to `.npy` bytes.
pub fn save_npy_bytes(a: &Array) -> Result<Vec<u8>> {
    let descr = npy_descr(a.dtype())?;
    let shape = match a.ndim() {
        0 => "()".to_string(),
        1 => format!("({},)", a.shape()[0]),
        _ => format!(
            "({})",
            a.shape()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = MAGIC.len() + 2 + 2 + header.len() + 1;
    let pad = (64 - total % 64) % 64;
    header.push_str(&" ".repeat(pad));
    header.push('\n');
    let mut out = Vec::with_capacity(total + pad + a.nbytes());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&a.to_bytes()?);
    Ok(out)
}

/// Write an array to a `.npy` file.
pub fn save_npy(path: impl AsRef<Path>, a: &Array) -> Result<()> {
    let bytes = save_npy_bytes(a)?;
    std::fs::write(path.as_ref(), bytes)
        .map_err(|e| Error::Io(format!("save_npy: {}: {e}", path.as_ref().display())))
}

fn header_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let pat = format!("'{key}':");
    let start = header
        .find(&pat)
        .ok_or_else(|| Error::Io(format!("load_npy: header has no '{key}': {header}")))?
        + pat.len();
    Ok(header[start..].trim_start())
}

/// Parse `.npy` bytes.
pub fn load_npy_bytes(bytes: &[u8]) -> Result<Array> {
    let bad = |m: &str| Error::Io(format!("load_npy: {m}"));
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(bad("truncated header"));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => return Err(bad(&format!("unsupported format version {v}"))),
    };
    if bytes.len() < hstart + hlen {
        return Err(bad("truncated header"));
    }
    let header = std::str::from_utf8(&bytes[hstart..hstart + hlen])
        .map_err(|_| bad("header is not text"))?;
    let descr_v = header_value(header, "descr")?;
    let descr = descr_v
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .ok_or_else(|| bad("malformed descr"))?;
    let (dtype, big) = descr_dtype(descr)?;
    let fortran = header_value(header, "fortran_order")?.starts_with("True");
    let shape_v = header_value(header, "shape")?;
    let inner = shape_v
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| bad("malformed shape"))?;
    let mut shape = Vec::new();
    for part in inner.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        shape.push(
            p.parse::<usize>()
                .map_err(|_| bad(&format!("malformed shape entry '{p}'")))?,
        );
    }
    let n = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad("shape overflows"))?;
    let nbytes = n
        .checked_mul(dtype.size())
        .ok_or_else(|| bad("shape overflows"))?;
    let data = &bytes[hstart + hlen..];
    if data.len() < nbytes {
        return Err(bad(&format!(
            "truncated data: shape {shape:?} of {dtype} needs {nbytes} bytes, the file has {}",
            data.len()
        )));
    }
    let mut raw = data[..nbytes].to_vec();
    if big && dtype.size() > 1 {
        let w = if dtype == Dtype::Complex64 { 4 } else { dtype.size() };
        for c in raw.chunks_mut(w) {
            c.reverse();
        }
    }
    if fortran && shape.len() > 1 {
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let a = Array::from_bytes(&raw, &rev, dtype)?;
        let t = crate::ops::transpose(&a)?;
        return crate::ops::contiguous(&t);
    }
    Array::from_bytes(&raw, &shape, dtype)
}

/// Read a `.npy` file.
pub fn load_npy(path: impl AsRef<Path>) -> Result<Array> {
    let bytes = std::fs::read(path.as_ref())
        .map_err(|e| Error::Io(format!("load_npy: {}: {e}", path.as_ref().display())))?;
    load_npy_bytes(&bytes)
}
