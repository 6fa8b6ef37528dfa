//! Quantization with MLX's API: `quantize`, `dequantize`, `quantized_matmul` and
//! `gather_qmm`, and the [`QuantizationMode`] they take.
//!
//! Affine quantization (the default mode) splits the last axis into groups of
//! `group_size` (32, 64 or 128) elements; each group gets a scale and a bias (in the
//! input's dtype) and each element becomes a `bits`-bit level (1, 2, 3, 4, 5, 6 or 8)
//! packed into uint32 words as a bit stream, least significant bits first — bit-identical
//! to MLX's output.
//!
//! ```
//! use mlxr::{ops, Array};
//! let w = Array::from_slice(&(0..128).map(|i| i as f32 / 64.0 - 1.0).collect::<Vec<_>>(), &[2, 64]).unwrap();
//! let (wq, scales, biases) = ops::quantize(&w, Some(64), Some(4), ops::QuantizationMode::Affine).unwrap();
//! assert_eq!(wq.shape(), &[2, 8]);
//! let back = ops::dequantize(&wq, &scales, biases.as_ref(), Some(64), Some(4), Default::default(), None).unwrap();
//! let err = ops::max(&ops::abs(&ops::subtract(&back, &w).unwrap()).unwrap(), None, false).unwrap();
//! assert!(err.item::<f32>().unwrap() < 0.07);
//! ```

use super::{astype, broadcast_shapes, broadcast_to, expand_dims, reshape, squeeze, take};
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use crate::primitives::quantized::{Dequantize, Quantize, QuantizedMatmul};
use std::fmt;
use std::str::FromStr;

/// How weights are quantized (MLX's `mode` strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QuantizationMode {
    /// A scale and a bias per group, integer levels (`"affine"`).
    #[default]
    Affine,
    /// OCP microscaling FP4 (E2M1 elements, E8M0 scale per 32) (`"mxfp4"`).
    Mxfp4,
    /// OCP microscaling FP8 (E4M3 elements, E8M0 scale per 32) (`"mxfp8"`).
    Mxfp8,
    /// NVIDIA FP4 (E2M1 elements, E4M3 scale per 16) (`"nvfp4"`).
    Nvfp4,
}

impl QuantizationMode {
    /// MLX's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            QuantizationMode::Affine => "affine",
            QuantizationMode::Mxfp4 => "mxfp4",
            QuantizationMode::Mxfp8 => "mxfp8",
            QuantizationMode::Nvfp4 => "nvfp4",
        }
    }

    /// The default `(group_size, bits)` of the mode.
    pub fn defaults(self) -> (usize, u32) {
        match self {
            QuantizationMode::Affine => (64, 4),
            QuantizationMode::Mxfp4 => (32, 4),
            QuantizationMode::Mxfp8 => (32, 8),
            QuantizationMode::Nvfp4 => (16, 4),
        }
    }
}

impl fmt::Display for QuantizationMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuantizationMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "affine" => Ok(QuantizationMode::Affine),
            "mxfp4" => Ok(QuantizationMode::Mxfp4),
            "mxfp8" => Ok(QuantizationMode::Mxfp8),
            "nvfp4" => Ok(QuantizationMode::Nvfp4),
            _ => Err(Error::InvalidArgument(format!(
                "Invalid quantization mode '{s}'. The supported modes are 'affine', 'mxfp4', \
                 'mxfp8' and 'nvfp4'."
            ))),
        }
    }
}

/// `(2,3)` as MLX prints shapes in messages.
fn shp(s: &[usize]) -> String {
    format!(
        "({})",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// The group size and bits after defaults, checked for the mode.
fn params(
    mode: QuantizationMode,
    group_size: Option<usize>,
    bits: Option<u32>,
    op: &str,
) -> Result<(usize, u32)> {
    let (dg, db) = mode.defaults();
    let (g, b) = (group_size.unwrap_or(dg), bits.unwrap_or(db));
    if mode != QuantizationMode::Affine {
        return Err(Error::Unsupported(format!(
            "[{op}] Quantization mode '{mode}' is not implemented in mlxr yet (only 'affine')."
        )));
    }
    if ![32, 64, 128].contains(&g) {
        return Err(Error::InvalidArgument(format!(
            "[{op}] The requested group size {g} is not supported. The supported group sizes \
             are 32, 64, and 128."
        )));
    }
    if ![1, 2, 3, 4, 5, 6, 8].contains(&b) {
        return Err(Error::InvalidArgument(format!(
            "[{op}] The requested number of bits {b} is not supported. The supported bits are \
             1, 2, 3, 4, 5, 6 and 8."
        )));
    }
    Ok((g, b))
}

/// Quantize the last axis of `w` (at least 2-D, floating, last dimension divisible by
/// `group_size`). Returns the packed weights (uint32, last dimension `k * bits / 32`),
/// the scales and — for affine quantization — the biases (last dimension
/// `k / group_size`, `w`'s dtype). `None` takes the mode's default (affine: 64 and 4).
pub fn quantize(
    w: &Array,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
) -> Result<(Array, Array, Option<Array>)> {
    if !w.dtype().is_floating() {
        return Err(Error::Dtype(format!(
            "[quantize] Only real floating types can be quantized but w has type {}.",
            w.dtype()
        )));
    }
    if w.ndim() < 2 {
        return Err(Error::Shape(format!(
            "[quantize] The matrix to be quantized must have at least 2 dimension but it has \
             only {}.",
            w.ndim()
        )));
    }
    let g = group_size.unwrap_or(mode.defaults().0);
    if g == 0 || !w.shape()[w.ndim() - 1].is_multiple_of(g) {
        return Err(Error::Shape(format!(
            "[quantize] The last dimension of the matrix needs to be divisible by the \
             quantization group size {g}. However the provided  matrix has shape {}",
            shp(w.shape())
        )));
    }
    let (g, b) = params(mode, group_size, bits, "quantize")?;
    let p = Quantize {
        group_size: g,
        bits: b,
        mode,
    };
    let mut outs = p.nodes(w.clone());
    let biases = outs.pop();
    let scales = outs.pop().expect("scales");
    let wq = outs.pop().expect("packed");
    Ok((wq, scales, biases))
}

/// The checks shared by `dequantize` and `quantized_matmul`: `w` uint32, biases present
/// (affine), scales and biases of one shape. Returns the biases.
fn check_packed<'a>(
    w: &Array,
    scales: &Array,
    biases: Option<&'a Array>,
    op: &str,
) -> Result<&'a Array> {
    if w.dtype() != Dtype::Uint32 {
        return Err(Error::Dtype(format!(
            "[{op}] The weight matrix should be uint32 but received {}",
            w.dtype()
        )));
    }
    let b = biases.ok_or_else(|| {
        Error::InvalidArgument(format!(
            "[{op}] Biases must be provided for affine quantization."
        ))
    })?;
    if scales.shape() != b.shape() {
        return Err(Error::Shape(format!(
            "[{op}] Scales and biases should have the same shape. Received scales with shape \
             {} and biases with {}",
            shp(scales.shape()),
            shp(b.shape())
        )));
    }
    if !scales.dtype().is_floating() || !b.dtype().is_floating() {
        return Err(Error::Dtype(format!(
            "[{op}] Scales and biases must be floating point (got {} and {}).",
            scales.dtype(),
            b.dtype()
        )));
    }
    Ok(b)
}

/// Dequantize packed `w` with its `scales` and `biases`: `scale * q + bias` per element.
/// The values are computed in the common type of the scales and biases, then cast to
/// `dtype` when given.
pub fn dequantize(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let (g, bt) = params(mode, group_size, bits, "dequantize")?;
    let b = check_packed(w, scales, biases, "dequantize")?;
    if w.ndim() < 2 {
        return Err(Error::Shape(format!(
            "[dequantize] The matrix to be dequantized must have at least 2 dimension but it \
             has only {}.",
            w.ndim()
        )));
    }
    let nd = w.ndim();
    let ok = scales.ndim() == nd
        && w.shape()[..nd - 1] == scales.shape()[..nd - 1]
        && w.shape()[nd - 1] * 32 == scales.shape()[nd - 1] * g * bt as usize;
    if !ok {
        return Err(Error::Shape(format!(
            "[dequantize] Shape of scales and biases does not match the matrix given the \
             quantization parameters. Provided matrix of shape {} and scales/biases of shape \
             {} with group_size={g} and bits={bt}.",
            shp(w.shape()),
            shp(scales.shape())
        )));
    }
    let sdt = promote_types(scales.dtype(), b.dtype());
    let out_dt = dtype.unwrap_or(sdt);
    if !out_dt.is_floating() {
        return Err(Error::Dtype(format!(
            "[dequantize] The output type must be floating point (got {out_dt})."
        )));
    }
    // Computed in the scales' type, then cast (as MLX).
    let p = Dequantize {
        group_size: g,
        bits: bt,
        mode,
        dtype: sdt,
    };
    let out = p.node(w.clone(), astype(scales, sdt)?, astype(b, sdt)?);
    astype(&out, out_dt)
}

/// The product of `x` with the quantized matrix `w`: `x @ dequantize(w).T` when
/// `transpose` (MLX's default), else `x @ dequantize(w)`, computed by a fused kernel that
/// dequantizes on the fly. Batch axes of `x` and `w` broadcast; a 1-D `x` is a vector.
/// The output dtype is the common type of `x`, the scales and the biases.
#[allow(clippy::too_many_arguments)]
pub fn quantized_matmul(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
) -> Result<Array> {
    let op = "quantized_matmul";
    let (g, bt) = params(mode, group_size, bits, op)?;
    let b = check_packed(w, scales, biases, op)?;
    if w.ndim() < 2 || x.ndim() < 1 {
        return Err(Error::Shape(format!(
            "[{op}] The quantized matrix must have at least 2 dimensions (got {}) and x at \
             least 1 (got {}).",
            w.ndim(),
            x.ndim()
        )));
    }
    let nd = w.ndim();
    let (wr, wc) = (w.shape()[nd - 2], w.shape()[nd - 1]);
    let ok = scales.ndim() == nd
        && w.shape()[..nd - 1] == scales.shape()[..nd - 1]
        && wc * 32 == scales.shape()[nd - 1] * g * bt as usize;
    if !ok {
        return Err(Error::Shape(format!(
            "[{op}] The shapes of the weight and scales are incompatible based on bits and \
             group_size. w.shape() == {} and scales.shape() == {} with group_size={g} and \
             bits={bt}",
            shp(w.shape()),
            shp(scales.shape())
        )));
    }
    let unpacked = wc * 32 / bt as usize;
    let (k, n) = if transpose {
        (unpacked, wr)
    } else {
        (wr, unpacked)
    };
    let xk = x.shape()[x.ndim() - 1];
    if xk != k {
        let (r, c) = if transpose { (k, n) } else { (wr, unpacked) };
        return Err(Error::Shape(format!(
            "[{op}] Last dimension of first input with shape (..., {xk}) does not match the \
             expanded quantized matrix ({r}, {c}) computed from shape {} with group_size={g}, \
             bits={bt} and transpose={transpose}",
            shp(w.shape())
        )));
    }
    let out_dt = promote_types(promote_types(x.dtype(), scales.dtype()), b.dtype());
    let out_dt = if out_dt.is_floating() {
        out_dt
    } else {
        Dtype::Float32
    };
    let vector = x.ndim() == 1;
    let x = if vector {
        expand_dims(x, &[0])?
    } else {
        x.clone()
    };
    let x = astype(&x, out_dt)?;
    let (s, bb) = (astype(scales, out_dt)?, astype(b, out_dt)?);
    let xb = &x.shape()[..x.ndim() - 2];
    let wb = &w.shape()[..nd - 2];
    let (x, w, s, bb) = if wb.is_empty() {
        (x.clone(), w.clone(), s, bb)
    } else {
        let batch = broadcast_shapes(xb, wb, op)?;
        let with = |a: &Array, tail: &[usize]| -> Result<Array> {
            let mut sh = batch.clone();
            sh.extend_from_slice(tail);
            broadcast_to(a, &sh)
        };
        let xt = x.shape()[x.ndim() - 2..].to_vec();
        let wt = w.shape()[nd - 2..].to_vec();
        let st = s.shape()[nd - 2..].to_vec();
        (
            with(&x, &xt)?,
            with(w, &wt)?,
            with(&s, &st)?,
            with(&bb, &st)?,
        )
    };
    let p = QuantizedMatmul {
        group_size: g,
        bits: bt,
        mode,
        transpose,
    };
    let out = p.node(x, w, s, bb);
    if vector {
        squeeze(&out, Some(&[-2]))
    } else {
        Ok(out)
    }
}

/// Quantized matrix product with matrix-level gather (MLX's `gather_qmm`): the batch
/// entries of `x` picked by `lhs_indices` (flat indices over `x`'s batch axes; all of them
/// in order when `None`) times the quantized matrices of `w` picked by `rhs_indices`, the
/// index shapes broadcast. Composed from `take` and [`quantized_matmul`].
#[allow(clippy::too_many_arguments)]
pub fn gather_qmm(
    x: &Array,
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
) -> Result<Array> {
    let pick = |a: &Array, idx: Option<&Array>| -> Result<Array> {
        match idx {
            None => Ok(a.clone()),
            Some(i) => {
                if !i.dtype().is_integer() {
                    return Err(Error::Dtype(format!(
                        "[gather_qmm] Got indices with invalid dtype {}. Indices must be integral.",
                        i.dtype()
                    )));
                }
                if a.ndim() < 2 {
                    return Err(Error::Shape(
                        "[gather_qmm] Gathered inputs need at least 2 dimensions.".into(),
                    ));
                }
                let t = &a.shape()[a.ndim() - 2..];
                let flat = reshape(a, &[-1, t[0] as isize, t[1] as isize])?;
                take(&flat, i, Some(0))
            }
        }
    };
    let x = if x.ndim() == 1 {
        expand_dims(x, &[0])?
    } else {
        x.clone()
    };
    let xs = pick(&x, lhs_indices)?;
    let ws = pick(w, rhs_indices)?;
    let ss = pick(scales, rhs_indices)?;
    let bs = biases.map(|b| pick(b, rhs_indices)).transpose()?;
    quantized_matmul(
        &xs,
        &ws,
        &ss,
        bs.as_ref(),
        transpose,
        group_size,
        bits,
        mode,
    )
}
