//! Quantization with MLX's API: `quantize`, `dequantize`, `quantized_matmul` and
//! `gather_qmm`, and the [`QuantizationMode`] they take.
//!
//! Affine quantization (the default mode) splits the last axis into groups of
//! `group_size` (32, 64 or 128) elements; each group gets a scale and a bias (in the
//! input's dtype) and each element becomes a `bits`-bit level (1, 2, 3, 4, 5, 6 or 8)
//! packed into uint32 words as a bit stream, least significant bits first — bit-identical
//! to MLX's output. The microscaling float modes `mxfp4`, `mxfp8` (groups of 32, an E8M0
//! power-of-two scale byte, E2M1 / E4M3 elements) and `nvfp4` (groups of 16, an E4M3
//! scale byte, E2M1 elements, optional global scale) have no biases; they too match MLX
//! bit for bit.
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

/// The group size and bits after defaults, checked for the mode (affine: group sizes 32,
/// 64, 128 and 1–6 or 8 bits; the float modes take only their own).
fn params(
    mode: QuantizationMode,
    group_size: Option<usize>,
    bits: Option<u32>,
    op: &str,
) -> Result<(usize, u32)> {
    let (dg, db) = mode.defaults();
    let (g, b) = (group_size.unwrap_or(dg), bits.unwrap_or(db));
    if mode != QuantizationMode::Affine {
        if g != dg {
            return Err(Error::InvalidArgument(format!(
                "[{op}] {mode} quantization requires group size {dg} but got {g}."
            )));
        }
        if b != db {
            return Err(Error::InvalidArgument(format!(
                "[{op}] {mode} quantization requires bits to be {db} but got {b}."
            )));
        }
        return Ok((g, b));
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

/// MLX's checks of a `global_scale` argument: nvfp4 only, float32, one element.
fn check_global_scale(mode: QuantizationMode, gs: &Array, op: &str) -> Result<()> {
    if mode != QuantizationMode::Nvfp4 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Global scale is only supported for 'nvfp4' quantization mode."
        )));
    }
    if gs.dtype() != Dtype::Float32 {
        return Err(Error::Dtype(format!(
            "[{op}] Global scale must have dtype float32 but got {}.",
            gs.dtype()
        )));
    }
    if gs.size() != 1 {
        return Err(Error::Shape(format!(
            "[{op}] Global scale must be a scalar but got shape {}.",
            shp(gs.shape())
        )));
    }
    Ok(())
}

/// Quantize the last axis of `w` (at least 2-D, floating, last dimension divisible by
/// `group_size`). Returns the packed weights (uint32, last dimension `k * bits / 32`),
/// the scales and — for affine quantization — the biases. `None` takes the mode's
/// default group size and bits (affine 64 and 4, mxfp4 32 and 4, mxfp8 32 and 8, nvfp4
/// 16 and 4).
///
/// Affine scales and biases have `w`'s dtype. The float modes return no biases and one
/// uint8 scale per group: mxfp4 / mxfp8 an E8M0 power of two `2^(s - 127)` (the smallest
/// power of two not below the group's largest magnitude over 6 / 448) with E2M1 / E4M3
/// elements; nvfp4 an E4M3 scale (the group's largest magnitude over 6, rounded) with E2M1
/// elements. Codes are packed least significant bits first, 8 (fp4) or 4 (fp8) per word.
/// The results equal MLX's bit for bit (see `backend/cpu/quantized.rs` for the details).
pub fn quantize(
    w: &Array,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
) -> Result<(Array, Array, Option<Array>)> {
    quantize_with_global_scale(w, group_size, bits, mode, None)
}

/// [`quantize`] with MLX's `global_scale` (nvfp4 only; a float32 scalar `g`): the group
/// scales become `E4M3(max|w| / 6 * 2688 / g)` and the elements `w / scale * 2688 / g`
/// (2688 = 448 · 6, so `g` is the tensor's largest magnitude in NVIDIA's two-level scheme).
pub fn quantize_with_global_scale(
    w: &Array,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
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
    if let Some(gs) = global_scale {
        check_global_scale(mode, gs, "quantize")?;
    }
    let (g, b) = params(mode, group_size, bits, "quantize")?;
    let p = Quantize {
        group_size: g,
        bits: b,
        mode,
    };
    let gs = global_scale.map(|a| reshape(a, &[])).transpose()?;
    let mut outs = p.nodes(w.clone(), gs).into_iter();
    let wq = outs.next().expect("packed");
    let scales = outs.next().expect("scales");
    Ok((wq, scales, outs.next()))
}

/// The checks shared by `dequantize` and `quantized_matmul` in affine mode: `w` uint32,
/// biases present, scales and biases of one shape. Returns the biases.
fn check_packed<'a>(
    w: &Array,
    scales: &Array,
    biases: Option<&'a Array>,
    op: &str,
) -> Result<&'a Array> {
    if w.dtype() != Dtype::Uint32 {
        return Err(Error::Dtype(if op == "dequantize" {
            "[dequantize] The matrix should be given as a uint32".to_string()
        } else {
            format!(
                "[{op}] The weight matrix should be uint32 but received {}",
                w.dtype()
            )
        }));
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

/// The checks of packed float-mode inputs, in MLX's order: uint8 scales, no biases, uint32
/// weights.
fn check_packed_fp(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    mode: QuantizationMode,
    op: &str,
) -> Result<()> {
    if scales.dtype() != Dtype::Uint8 {
        return Err(Error::Dtype(format!(
            "[{op}] Scale type must be uint8 but received type {}.",
            scales.dtype()
        )));
    }
    if biases.is_some() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Biases must be null for quantization mode '{mode}'."
        )));
    }
    if w.dtype() != Dtype::Uint32 {
        return Err(Error::Dtype(if op == "dequantize" {
            "[dequantize] The matrix should be given as a uint32".to_string()
        } else {
            format!(
                "[{op}] The weight matrix should be uint32 but received {}",
                w.dtype()
            )
        }));
    }
    Ok(())
}

/// Dequantize packed `w` with its `scales` (and `biases`, affine mode). Affine:
/// `scale * q + bias` per element, computed in the common type of the scales and biases,
/// then cast to `dtype` when given. Float modes: `element * scale` in `dtype` (default
/// bfloat16, as MLX), bit-identical to MLX.
pub fn dequantize(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    dtype: Option<Dtype>,
) -> Result<Array> {
    dequantize_with_global_scale(w, scales, biases, group_size, bits, mode, None, dtype)
}

/// [`dequantize`] with MLX's `global_scale` (nvfp4 only, a float32 scalar `g`): the values
/// are `element * (scale * (g / 2688))`, in float32 (or float64 when `dtype` is float64 —
/// MLX promotes the requested type with the scale's float32).
#[allow(clippy::too_many_arguments)]
pub fn dequantize_with_global_scale(
    w: &Array,
    scales: &Array,
    biases: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
    dtype: Option<Dtype>,
) -> Result<Array> {
    if mode == QuantizationMode::Affine {
        let (g, bt) = params(mode, group_size, bits, "dequantize")?;
        let b = check_packed(w, scales, biases, "dequantize")?;
        if let Some(gs) = global_scale {
            check_global_scale(mode, gs, "dequantize")?;
        }
        return dequantize_affine(w, scales, b, g, bt, dtype);
    }
    if let Some(dt) = dtype {
        if !dt.is_floating() {
            return Err(Error::Dtype(format!(
                "[dequantize] Only real floating types are supported but output dtype == {dt}."
            )));
        }
    }
    check_packed_fp(w, scales, biases, mode, "dequantize")?;
    if w.ndim() < 2 {
        return Err(Error::Shape(format!(
            "[dequantize] The matrix to be dequantized must have at least 2 dimension but it \
             has only {}.",
            w.ndim()
        )));
    }
    if let Some(gs) = global_scale {
        check_global_scale(mode, gs, "dequantize")?;
    }
    let (g, bt) = params(mode, group_size, bits, "dequantize")?;
    let nd = w.ndim();
    let ok = scales.ndim() == nd
        && w.shape()[..nd - 1] == scales.shape()[..nd - 1]
        && w.shape()[nd - 1] * 32 == scales.shape()[nd - 1] * g * bt as usize;
    if !ok {
        return Err(Error::Shape(format!(
            "[dequantize] Shape of scales does not match the matrix given the quantization \
             parameters. Provided matrix of shape {} and scales of shape {}.",
            shp(w.shape()),
            shp(scales.shape())
        )));
    }
    let mut out_dt = dtype.unwrap_or(Dtype::Bfloat16);
    let mut inputs = vec![w.clone(), scales.clone()];
    if let Some(gs) = global_scale {
        out_dt = promote_types(out_dt, Dtype::Float32);
        inputs.push(reshape(gs, &[])?);
    }
    let p = Dequantize {
        group_size: g,
        bits: bt,
        mode,
        dtype: out_dt,
    };
    Ok(p.node(inputs))
}

/// Affine dequantization after the checks.
fn dequantize_affine(
    w: &Array,
    scales: &Array,
    b: &Array,
    g: usize,
    bt: u32,
    dtype: Option<Dtype>,
) -> Result<Array> {
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
        mode: QuantizationMode::Affine,
        dtype: sdt,
    };
    let out = p.node(vec![w.clone(), astype(scales, sdt)?, astype(b, sdt)?]);
    astype(&out, out_dt)
}

/// The product of `x` with the quantized matrix `w`: `x @ dequantize(w).T` when
/// `transpose` (MLX's default), else `x @ dequantize(w)`, computed by a fused kernel that
/// dequantizes on the fly. Batch axes of `x` and `w` broadcast; a 1-D `x` is a vector.
/// Affine: the output dtype is the common type of `x`, the scales and the biases. Float
/// modes (uint8 scales, no biases): `x` must be floating and the output has its dtype.
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
    let affine = mode == QuantizationMode::Affine;
    let (g, bt, b) = if affine {
        let (g, bt) = params(mode, group_size, bits, op)?;
        (g, bt, Some(check_packed(w, scales, biases, op)?))
    } else {
        check_packed_fp(w, scales, biases, mode, op)?;
        let (dg, db) = mode.defaults();
        (group_size.unwrap_or(dg), bits.unwrap_or(db), None)
    };
    if w.ndim() < 2 || x.ndim() < 1 {
        return Err(Error::Shape(format!(
            "[{op}] The quantized matrix must have at least 2 dimensions (got {}) and x at \
             least 1 (got {}).",
            w.ndim(),
            x.ndim()
        )));
    }
    let nd = w.ndim();
    if scales.ndim() != nd || w.shape()[..nd - 2] != scales.shape()[..nd - 2] {
        return Err(Error::Shape(format!(
            "[{op}] Weight and scales should have the same batch shape. Received weight with \
             shape {}, scales with {}.",
            shp(w.shape()),
            shp(scales.shape())
        )));
    }
    let (wr, wc) = (w.shape()[nd - 2], w.shape()[nd - 1]);
    let ok = w.shape()[nd - 2] == scales.shape()[nd - 2]
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
    let out_dt = match b {
        Some(b) => {
            let dt = promote_types(promote_types(x.dtype(), scales.dtype()), b.dtype());
            if dt.is_floating() {
                dt
            } else {
                Dtype::Float32
            }
        }
        None => {
            if !x.dtype().is_floating() {
                return Err(Error::Dtype(format!(
                    "[{op}] Only real floating types are supported but x.dtype() == {}.",
                    x.dtype()
                )));
            }
            // MLX does not check these here (its kernel would misread the weights).
            params(mode, group_size, bits, op)?;
            x.dtype()
        }
    };
    let vector = x.ndim() == 1;
    let x = if vector {
        expand_dims(x, &[0])?
    } else {
        x.clone()
    };
    let x = astype(&x, out_dt)?;
    let s = if affine {
        astype(scales, out_dt)?
    } else {
        scales.clone()
    };
    let bb = b.map(|b| astype(b, out_dt)).transpose()?;
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
            bb.map(|b| with(&b, &st)).transpose()?,
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

/// The matrices (last two axes) of `a` picked by the flat batch indices `idx`, for the
/// gathered products (`gather_qmm`, `gather_qqmm`); all of `a` when `idx` is `None`.
pub(crate) fn pick_matrices(a: &Array, idx: Option<&Array>, op: &str) -> Result<Array> {
    let Some(i) = idx else {
        return Ok(a.clone());
    };
    if !i.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "[{op}] Got indices with invalid dtype {}. Indices must be integral.",
            i.dtype()
        )));
    }
    if a.ndim() < 2 {
        return Err(Error::Shape(format!(
            "[{op}] Gathered inputs need at least 2 dimensions."
        )));
    }
    let t = &a.shape()[a.ndim() - 2..];
    let flat = reshape(a, &[-1, t[0] as isize, t[1] as isize])?;
    take(&flat, i, Some(0))
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
    let pick = |a: &Array, idx: Option<&Array>| pick_matrices(a, idx, "gather_qmm");
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

/// [`gather_qmm`] with MLX's `global_scale` argument (nvfp4, one float32 entry per matrix
/// of `w`). MLX computes it only on its GPU; on the CPU it is an error there and here.
#[allow(clippy::too_many_arguments)]
pub fn gather_qmm_with_global_scale(
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
    global_scale: Option<&Array>,
) -> Result<Array> {
    let op = "gather_qmm";
    if let Some(gs) = global_scale {
        if mode != QuantizationMode::Nvfp4 {
            return Err(Error::InvalidArgument(format!(
                "[{op}] Global scale is only supported for 'nvfp4' quantization mode."
            )));
        }
        let experts = &w.shape()[..w.ndim().saturating_sub(2)];
        if gs.shape() != experts {
            return Err(Error::Shape(format!(
                "[{op}] Global scale must have one entry per expert with shape {} but got {}.",
                shp(experts),
                shp(gs.shape())
            )));
        }
        return Err(Error::Unsupported(format!(
            "[{op}] Global scale is only supported on the GPU."
        )));
    }
    gather_qmm(
        x,
        w,
        scales,
        biases,
        lhs_indices,
        rhs_indices,
        transpose,
        group_size,
        bits,
        mode,
    )
}
