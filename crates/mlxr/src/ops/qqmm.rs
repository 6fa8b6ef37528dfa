//! `qqmm` and `gather_qqmm` (MLX 0.32): matrix products where the input `x` is quantized on
//! the fly and the weight `w` is either already quantized (packed `uint32` with its scales)
//! or quantized on the fly too.
//!
//! Both are composed from [`quantize_with_global_scale`] and
//! [`dequantize_with_global_scale`]: the product is `dq(q(x)) @ dq(w).T` with the
//! dequantized values in float32 (exact for the float modes), cast to `x`'s dtype. MLX's CPU
//! build refuses to evaluate its `QQMatmul` ("NYI for the general case"), so the reference
//! is that math with MLX's own quantize / dequantize.
//!
//! The vjp follows the graph MLX builds: the cotangent `g` is quantized as well,
//! `dx = qqmm(g, w.T)` and `dw = qqmm(g.T, x.T)` (both operands quantized along the
//! contracted axis, so `dw` needs the flattened batch size to be a multiple of the group
//! size); with nvfp4 global scales the cotangent's global scale is `max|g|`. A quantized
//! `w` gets no gradient (MLX fails to differentiate that case; here `dx` is formed from the
//! dequantized weight).

use super::quantized::{dequantize_with_global_scale, pick_matrices, quantize_with_global_scale};
use super::*;
use crate::transforms::custom_function;

/// `(2,3)` as MLX prints shapes in messages.
fn shp(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("({})", v.join(","))
}

/// MLX's dtype check of a non-quantized operand.
fn check_float(a: &Array, which: &str, op: &str) -> Result<()> {
    if !matches!(a.dtype(), Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16) {
        return Err(Error::Dtype(format!(
            "[{op}] Only real floating types except float64 are supported but {which} argument \
             dtype == {}.",
            a.dtype()
        )));
    }
    Ok(())
}

/// MLX's checks of the global scales: nvfp4 only, float32 scalars, both or neither.
fn check_global_scales(
    mode: QuantizationMode,
    gx: Option<&Array>,
    gw: Option<&Array>,
    op: &str,
) -> Result<bool> {
    for g in [gx, gw].into_iter().flatten() {
        if mode != QuantizationMode::Nvfp4 {
            return Err(Error::InvalidArgument(format!(
                "[{op}] Global scale is only supported for 'nvfp4' quantization mode."
            )));
        }
        if g.size() != 1 {
            return Err(Error::Shape(format!(
                "[{op}] Global scale must be a scalar but got shape {}.",
                shp(g.shape())
            )));
        }
        if g.dtype() != Dtype::Float32 {
            return Err(Error::Dtype(format!(
                "[{op}] Global scale must have dtype float32 but got {}.",
                g.dtype()
            )));
        }
    }
    if gx.is_some() != gw.is_some() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] For nvfp4 mode, either both global_scale_x and global_scale_w must be \
             provided, or neither."
        )));
    }
    Ok(gx.is_some())
}

/// `dequantize(quantize(a))` along the last axis, in float32.
fn fake_quantize(
    a: &Array,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
) -> Result<Array> {
    let (q, s, b) = quantize_with_global_scale(a, group_size, bits, mode, global_scale)?;
    dequantize_with_global_scale(
        &q,
        &s,
        b.as_ref(),
        group_size,
        bits,
        mode,
        global_scale,
        Some(Dtype::Float32),
    )
}

/// The weight as float32 values: dequantized when packed, else quantized and dequantized.
#[allow(clippy::too_many_arguments)]
fn weight_values(
    w: &Array,
    scales: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale: Option<&Array>,
) -> Result<Array> {
    match scales {
        Some(s) => dequantize_with_global_scale(
            w,
            s,
            None,
            group_size,
            bits,
            mode,
            global_scale,
            Some(Dtype::Float32),
        ),
        None => fake_quantize(w, group_size, bits, mode, global_scale),
    }
}

/// The checks shared by [`qqmm`] and [`gather_qqmm`]; returns whether `w` is packed.
fn check_operands(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    mode: QuantizationMode,
    op: &str,
) -> Result<bool> {
    check_float(x, "first", op)?;
    let packed = w.dtype() == Dtype::Uint32;
    if !packed {
        check_float(w, "second", op)?;
    } else if scales.is_none() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Scales must be provided if second argument is quantized."
        )));
    } else if mode == QuantizationMode::Affine {
        return Err(Error::InvalidArgument(format!(
            "[{op}] A packed affine weight needs biases, which {op} does not take; pass the \
             weight unquantized."
        )));
    }
    Ok(packed)
}

/// The reduction size `w` stands for (the packed last axis unpacked).
fn weight_k(w: &Array, packed: bool, bits: Option<u32>, mode: QuantizationMode) -> usize {
    let k = *w.shape().last().unwrap_or(&0);
    if packed {
        k * 32 / bits.unwrap_or(mode.defaults().1) as usize
    } else {
        k
    }
}

/// Quantized-input matrix product (MLX's `mx.qqmm`): `x` is quantized along its last axis
/// in `mode` (default parameters from the mode: nvfp4 16/4, mxfp8 32/8, mxfp4 32/4, affine
/// 64/4) and multiplied by the 2-D `w` transposed, `w` being used as given when packed
/// (`uint32`, with `scales`) or quantized the same way otherwise. `global_scale_x` /
/// `global_scale_w` (nvfp4 only, both or neither) are the float32 global scales of the two
/// operands. The result has `x`'s dtype and shape `x.shape[:-1] + [w.shape[0]]`.
///
/// Differentiable with respect to `x` and a non-packed `w` (see the module documentation).
#[allow(clippy::too_many_arguments)]
pub fn qqmm(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale_x: Option<&Array>,
    global_scale_w: Option<&Array>,
) -> Result<Array> {
    let op = "qqmm";
    let packed = check_operands(x, w, scales, mode, op)?;
    if w.ndim() != 2 || x.ndim() == 0 {
        return Err(Error::Shape(format!(
            "[{op}] Only 2D inputs are supported but x.ndim() == {} and w.ndim() == {}.",
            x.ndim(),
            w.ndim()
        )));
    }
    let has_gs = check_global_scales(mode, global_scale_x, global_scale_w, op)?;
    let k = weight_k(w, packed, bits, mode);
    if x.shape()[x.ndim() - 1] != k {
        return Err(Error::Shape(format!(
            "[{op}] Last dimension of first input with shape {} must match last dimension of \
             second input with shape {}.",
            shp(x.shape()),
            shp(w.shape())
        )));
    }
    let mut inputs = vec![x.clone(), w.clone()];
    if let Some(s) = scales.filter(|_| packed) {
        inputs.push(s.clone());
    }
    if let (Some(gx), Some(gw)) = (global_scale_x, global_scale_w) {
        inputs.push(gx.clone());
        inputs.push(gw.clone());
    }
    // (x, w, scales, gx, gw) from the custom function's inputs.
    let unpack = move |ins: &[Array]| {
        let s = packed.then(|| ins[2].clone());
        let gs = has_gs.then(|| {
            let n = ins.len();
            (ins[n - 2].clone(), ins[n - 1].clone())
        });
        (ins[0].clone(), ins[1].clone(), s, gs)
    };
    let f = custom_function(move |ins: &[Array]| {
        let (x, w, s, gs) = unpack(ins);
        let (gx, gw) = (gs.as_ref().map(|g| &g.0), gs.as_ref().map(|g| &g.1));
        let x2 = if x.ndim() == 1 {
            expand_dims(&x, &[0])?
        } else {
            x.clone()
        };
        let xd = fake_quantize(&x2, group_size, bits, mode, gx)?;
        let wd = weight_values(&w, s.as_ref(), group_size, bits, mode, gw)?;
        let mut y = matmul(&xd, &transpose(&wd)?)?;
        if x.ndim() == 1 {
            y = squeeze(&y, Some(&[0]))?;
        }
        Ok(vec![astype(&y, x.dtype())?])
    })
    .with_vjp(move |primals: &[Array], cots: &[Array], _outs: &[Array]| {
        let (x, w, s, gs) = unpack(primals);
        let (gx, gw) = (gs.as_ref().map(|g| &g.0), gs.as_ref().map(|g| &g.1));
        let g = &cots[0];
        let n = *g.shape().last().unwrap_or(&1) as isize;
        let kk = *x.shape().last().unwrap_or(&1) as isize;
        let g2 = reshape(g, &[-1, n])?;
        let x2 = reshape(&x, &[-1, kk])?;
        let gg = if has_gs {
            Some(astype(&max(&abs(&g2)?, None, false)?, Dtype::Float32)?)
        } else {
            None
        };
        // dx = q(g) @ q(w.T).T (the packed weight enters dequantized).
        let wt = match &s {
            Some(s) => transpose(&weight_values(&w, Some(s), group_size, bits, mode, gw)?)?,
            None => transpose(&w)?,
        };
        let (gx_wt, gw_wt) = match (&gg, gw) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        let dx = qqmm(
            &g2,
            &contiguous(&wt)?,
            None,
            group_size,
            bits,
            mode,
            gx_wt,
            gw_wt,
        )?;
        let dx = astype(&reshape_to(&dx, x.shape())?, x.dtype())?;
        let mut out = vec![dx];
        if s.is_some() {
            out.push(zeros_like(&w)?);
        } else {
            // dw = q(g.T) @ q(x.T).T, both quantized along the flattened batch axis.
            let (ga, xa) = match (&gg, gx) {
                (Some(a), Some(b)) => (Some(a), Some(b)),
                _ => (None, None),
            };
            let dw = qqmm(
                &transpose(&g2)?,
                &contiguous(&transpose(&x2)?)?,
                None,
                group_size,
                bits,
                mode,
                ga,
                xa,
            )?;
            out.push(astype(&dw, w.dtype())?);
        }
        for p in &primals[2..] {
            out.push(zeros_like(p)?);
        }
        Ok(out)
    });
    Ok(f.call(&inputs)?.remove(0))
}

/// `qqmm` with matrix-level gather (MLX's `mx.gather_qqmm`): the batch entries of `x`
/// picked by `lhs_indices` (flat indices over `x`'s batch axes; all in order when `None`)
/// times the (transposed) matrices of `w` picked by `rhs_indices`, the index shapes and
/// batch axes broadcasting. `x` is quantized on the fly, `w` is used as given when packed
/// (`uint32` with `scales`) or quantized too. The global scales (nvfp4 only, both or
/// neither) are float32 scalars. MLX defines no vjp for it.
#[allow(clippy::too_many_arguments)]
pub fn gather_qqmm(
    x: &Array,
    w: &Array,
    scales: Option<&Array>,
    lhs_indices: Option<&Array>,
    rhs_indices: Option<&Array>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: QuantizationMode,
    global_scale_x: Option<&Array>,
    global_scale_w: Option<&Array>,
) -> Result<Array> {
    let op = "gather_qqmm";
    let packed = check_operands(x, w, scales, mode, op)?;
    if w.ndim() < 2 || x.ndim() == 0 {
        return Err(Error::Shape(format!(
            "[{op}] The weight needs at least 2 dimensions but w.ndim() == {}.",
            w.ndim()
        )));
    }
    check_global_scales(mode, global_scale_x, global_scale_w, op)?;
    let k = weight_k(w, packed, bits, mode);
    if x.shape()[x.ndim() - 1] != k {
        return Err(Error::Shape(format!(
            "[{op}] Last dimension of first input with shape {} must match last dimension of \
             second input with shape {}.",
            shp(x.shape()),
            shp(w.shape())
        )));
    }
    let pick = |a: &Array, idx: Option<&Array>| pick_matrices(a, idx, op);
    let x2 = if x.ndim() == 1 {
        expand_dims(x, &[0])?
    } else {
        x.clone()
    };
    let xd = fake_quantize(&x2, group_size, bits, mode, global_scale_x)?;
    let wd = weight_values(w, scales, group_size, bits, mode, global_scale_w)?;
    let xs = pick(&xd, lhs_indices)?;
    let ws = pick(&wd, rhs_indices)?;
    let y = matmul(&xs, &swapaxes(&ws, -1, -2)?)?;
    astype(&y, x.dtype())
}
