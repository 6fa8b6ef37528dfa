//! Convolutions with MLX's names, layouts and semantics: `conv1d`, `conv2d`, `conv3d`,
//! `conv_general` (strides, asymmetric and negative padding, kernel and input dilation,
//! groups, flip) and the transposed `conv_transpose1d/2d/3d`.
//!
//! Layouts are channels-last as in MLX: the input is `(N, spatial..., C_in)` and the weight
//! `(C_out, kernel..., C_in / groups)`; the output is `(N, out..., C_out)`.
//!
//! There is no convolution primitive: each convolution is composed from existing ops, so it
//! runs on every device and every transformation (vjp, jvp, vmap) applies. Input dilation
//! interleaves zeros (`expand_dims` + `pad` + `reshape`), padding is `pad` (or a crop for
//! negative padding), then each kernel tap is a strided `slice` of the input; the taps are
//! stacked (im2col) and multiplied with the weight through one `matmul` (groups become the
//! batch axis of that matmul). A transposed convolution is `conv_general` with the stride
//! as input dilation, the padding `dilation * (k - 1) - padding` and a flipped kernel.

use super::{
    astype, expand_dims, flip, matmul, pad, reshape_to, slice, stack, swapaxes, transpose,
    transpose_axes, PadMode,
};
use crate::array::Array;
use crate::dtype::promote_types;
use crate::error::{Error, Result};

/// One value per spatial axis from `v` (a single value applies to every axis).
fn per_axis<T: Copy + std::fmt::Debug>(v: &[T], n: usize, what: &str) -> Result<Vec<T>> {
    match v.len() {
        1 => Ok(vec![v[0]; n]),
        k if k == n => Ok(v.to_vec()),
        k => Err(Error::InvalidArgument(format!(
            "[conv] Expected {n} (or 1) {what} values for {n} spatial dimensions, got {k}: {v:?}"
        ))),
    }
}

/// Check that every value of `v` is positive.
fn positive(v: &[usize], what: &str) -> Result<()> {
    if v.contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "[conv] {what} sizes must be positive. Got {} ({v:?}).",
            what.to_lowercase()
        )));
    }
    Ok(())
}

/// Interleave `d - 1` zeros between the elements of `axis` (MLX's input dilation).
fn dilate_axis(x: &Array, axis: usize, d: usize) -> Result<Array> {
    let n = x.shape()[axis];
    if d == 1 || n == 0 {
        return Ok(x.clone());
    }
    let e = expand_dims(x, &[axis as isize + 1])?;
    let mut widths = vec![(0, 0); e.ndim()];
    widths[axis + 1] = (0, d - 1);
    let p = pad(&e, &widths, PadMode::Constant, 0)?;
    let mut shape = x.shape().to_vec();
    shape[axis] = n * d;
    let r = reshape_to(&p, &shape)?;
    let nd = r.ndim();
    let start = vec![0isize; nd];
    let mut stop: Vec<isize> = r.shape().iter().map(|&s| s as isize).collect();
    stop[axis] = ((n - 1) * d + 1) as isize;
    slice(&r, &start, &stop, &vec![1; nd])
}

/// Pad (positive) or crop (negative) the spatial axes `1..=lo.len()` of `x`.
fn pad_or_crop(x: &Array, lo: &[isize], hi: &[isize]) -> Result<Array> {
    let nd = x.ndim();
    let mut widths = vec![(0usize, 0usize); nd];
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = x.shape().iter().map(|&s| s as isize).collect();
    let mut crop = false;
    for i in 0..lo.len() {
        widths[i + 1] = (lo[i].max(0) as usize, hi[i].max(0) as usize);
        if lo[i] < 0 {
            start[i + 1] = -lo[i];
            crop = true;
        }
        if hi[i] < 0 {
            stop[i + 1] += hi[i];
            crop = true;
        }
    }
    let x = if crop {
        slice(x, &start, &stop, &vec![1; nd])?
    } else {
        x.clone()
    };
    pad(&x, &widths, PadMode::Constant, 0)
}

/// MLX's `conv_general`: an N-d convolution (1 to 3 spatial axes) of `input`
/// `(N, spatial..., C_in)` with `weight` `(C_out, kernel..., C_in / groups)`.
///
/// Each of `stride`, `padding_lo`, `padding_hi`, `kernel_dilation` and `input_dilation`
/// holds one value per spatial axis, or a single value for all of them. Padding may be
/// negative (a crop). `input_dilation` inserts `d - 1` zeros between input elements (what a
/// transposed convolution needs); `flip` flips the kernel's spatial axes (a true
/// convolution rather than a cross-correlation). The dtypes promote and must be floating
/// point. Output spatial size per axis: `(in_dilated + lo + hi - span) / stride + 1` with
/// `span = kernel_dilation * (k - 1) + 1`.
#[allow(clippy::too_many_arguments)]
pub fn conv_general(
    input: &Array,
    weight: &Array,
    stride: &[usize],
    padding_lo: &[isize],
    padding_hi: &[isize],
    kernel_dilation: &[usize],
    input_dilation: &[usize],
    groups: usize,
    flip_kernel: bool,
) -> Result<Array> {
    let nd = input.ndim();
    if !(3..=5).contains(&nd) {
        return Err(Error::Shape(format!(
            "[conv] Only works for inputs with 1-3 spatial dimensions. The inputs must be in \
             the format [N, ..., C_in], got shape {:?}",
            input.shape()
        )));
    }
    if weight.ndim() != nd {
        return Err(Error::Shape(format!(
            "[conv] Invalid weight array with {} dimensions for input with {nd} dimensions: \
             the weight must be [C_out, ..., C_in] (input {:?}, weight {:?})",
            weight.ndim(),
            input.shape(),
            weight.shape()
        )));
    }
    for (a, which) in [(input, "input"), (weight, "weight")] {
        if !a.dtype().is_floating() {
            return Err(Error::Dtype(format!(
                "[conv] Invalid {which} array with type {}. Convolution currently only \
                 supports floating point types",
                a.dtype()
            )));
        }
    }
    let sd = nd - 2;
    let stride = per_axis(stride, sd, "stride")?;
    let lo = per_axis(padding_lo, sd, "padding")?;
    let hi = per_axis(padding_hi, sd, "padding")?;
    let kdil = per_axis(kernel_dilation, sd, "kernel dilation")?;
    let idil = per_axis(input_dilation, sd, "input dilation")?;
    positive(&stride, "Stride")?;
    positive(&kdil, "Kernel dilation")?;
    positive(&idil, "Input dilation")?;
    let (ishape, wshape) = (input.shape(), weight.shape());
    let (n, c_in, c_out, cg) = (ishape[0], ishape[nd - 1], wshape[0], wshape[nd - 1]);
    if groups == 0 {
        return Err(Error::InvalidArgument(
            "[conv] The number of groups must be positive, got 0.".into(),
        ));
    }
    if c_in % groups != 0 {
        return Err(Error::InvalidArgument(format!(
            "[conv] The input channels must be divisible by the number of groups. Got input \
             with shape {ishape:?} and {groups} groups."
        )));
    }
    if c_out % groups != 0 {
        return Err(Error::InvalidArgument(format!(
            "[conv] The output channels must be divisible by the number of groups. Got weight \
             with shape {wshape:?} and {groups} groups."
        )));
    }
    if cg * groups != c_in {
        return Err(Error::Shape(format!(
            "[conv] Expect the input channels in the input and weight array to match but got \
             shapes - input: {ishape:?} and weight: {wshape:?}{}",
            if groups > 1 {
                format!(" (with {groups} groups)")
            } else {
                String::new()
            }
        )));
    }
    let mut out_sp = Vec::with_capacity(sd);
    for i in 0..sd {
        let l = ishape[i + 1];
        let dil_len = if l == 0 { 0 } else { (l - 1) * idil[i] + 1 } as isize;
        let padded = dil_len + lo[i] + hi[i];
        let span = (kdil[i] * (wshape[i + 1].max(1) - 1) + 1) as isize;
        if wshape[i + 1] == 0 || padded < span {
            return Err(Error::Shape(format!(
                "[conv] Spatial dimensions of input after padding cannot be smaller than weight \
                 spatial dimensions. Got error at axis {} for input with shape {ishape:?}, \
                 padding low {lo:?}, padding high {hi:?}, and weight of shape {wshape:?}.",
                i + 1
            )));
        }
        out_sp.push(((padded - span) as usize) / stride[i] + 1);
    }

    let dt = promote_types(input.dtype(), weight.dtype());
    let mut x = astype(input, dt)?;
    let mut w = astype(weight, dt)?;
    if flip_kernel {
        let axes: Vec<isize> = (1..=sd as isize).collect();
        w = flip(&w, Some(&axes))?;
    }
    for (i, &d) in idil.iter().enumerate() {
        x = dilate_axis(&x, i + 1, d)?;
    }
    x = pad_or_crop(&x, &lo, &hi)?;

    // One strided slice of the input per kernel tap, in the weight's (row-major) tap order.
    let ksp = &wshape[1..nd - 1];
    let kk: usize = ksp.iter().product();
    let mut taps = Vec::with_capacity(kk);
    let mut idx = vec![0usize; sd];
    for _ in 0..kk {
        let mut start = vec![0isize; nd];
        let mut stop: Vec<isize> = x.shape().iter().map(|&s| s as isize).collect();
        let mut steps = vec![1isize; nd];
        for i in 0..sd {
            let s = (idx[i] * kdil[i]) as isize;
            start[i + 1] = s;
            stop[i + 1] = s + ((out_sp[i] - 1) * stride[i]) as isize + 1;
            steps[i + 1] = stride[i] as isize;
        }
        taps.push(slice(&x, &start, &stop, &steps)?);
        for i in (0..sd).rev() {
            idx[i] += 1;
            if idx[i] < ksp[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    // (N, out..., KK, C_in)
    let patches = if kk == 1 {
        expand_dims(&taps[0], &[-2])?
    } else {
        stack(&taps, -2)?
    };
    let m: usize = n * out_sp.iter().product::<usize>();
    let mut out_shape = vec![n];
    out_shape.extend_from_slice(&out_sp);
    out_shape.push(c_out);
    let y = if groups == 1 {
        let pm = reshape_to(&patches, &[m, kk * c_in])?;
        let wm = reshape_to(&w, &[c_out, kk * c_in])?;
        matmul(&pm, &transpose(&wm)?)?
    } else {
        let og = c_out / groups;
        let pm = reshape_to(&patches, &[m, kk, groups, cg])?;
        let pm = reshape_to(&transpose_axes(&pm, &[2, 0, 1, 3])?, &[groups, m, kk * cg])?;
        let wm = swapaxes(&reshape_to(&w, &[groups, og, kk * cg])?, 1, 2)?;
        let y = matmul(&pm, &wm)?; // (G, M, Og)
        reshape_to(&transpose_axes(&y, &[1, 0, 2])?, &[m, c_out])?
    };
    reshape_to(&y, &out_shape)
}

/// MLX's `conv1d`: input `(N, L, C_in)`, weight `(C_out, K, C_in / groups)`.
pub fn conv1d(
    input: &Array,
    weight: &Array,
    stride: usize,
    padding: isize,
    dilation: usize,
    groups: usize,
) -> Result<Array> {
    rank("conv1d", input, weight, 3)?;
    conv_general(
        input,
        weight,
        &[stride],
        &[padding],
        &[padding],
        &[dilation],
        &[1],
        groups,
        false,
    )
}

/// MLX's `conv2d`: input `(N, H, W, C_in)`, weight `(C_out, KH, KW, C_in / groups)`;
/// `stride`, `padding`, `dilation` are per axis `(h, w)`.
pub fn conv2d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize),
    padding: (isize, isize),
    dilation: (usize, usize),
    groups: usize,
) -> Result<Array> {
    rank("conv2d", input, weight, 4)?;
    let p = [padding.0, padding.1];
    conv_general(
        input,
        weight,
        &[stride.0, stride.1],
        &p,
        &p,
        &[dilation.0, dilation.1],
        &[1],
        groups,
        false,
    )
}

/// MLX's `conv3d`: input `(N, D, H, W, C_in)`, weight `(C_out, KD, KH, KW, C_in / groups)`.
pub fn conv3d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize, usize),
    padding: (isize, isize, isize),
    dilation: (usize, usize, usize),
    groups: usize,
) -> Result<Array> {
    rank("conv3d", input, weight, 5)?;
    let p = [padding.0, padding.1, padding.2];
    conv_general(
        input,
        weight,
        &[stride.0, stride.1, stride.2],
        &p,
        &p,
        &[dilation.0, dilation.1, dilation.2],
        &[1],
        groups,
        false,
    )
}

/// A transposed convolution with one value per spatial axis (MLX's
/// `conv_transpose_general`): `conv_general` of the input dilated by `stride`, padded by
/// `dilation * (k - 1) - padding` (plus `output_padding` at the end), with the flipped
/// kernel. Output size per axis: `(L - 1) * stride - 2 * padding + dilation * (k - 1) + 1 +
/// output_padding`. The weight is `(C_out, kernel..., C_in / groups)` as in MLX.
#[allow(clippy::too_many_arguments)]
pub fn conv_transpose_general(
    input: &Array,
    weight: &Array,
    stride: &[usize],
    padding: &[isize],
    dilation: &[usize],
    output_padding: &[isize],
    groups: usize,
) -> Result<Array> {
    let nd = input.ndim();
    if !(3..=5).contains(&nd) || weight.ndim() != nd {
        return Err(Error::Shape(format!(
            "[conv_transpose] Expected an input [N, ..., C_in] with 1-3 spatial dimensions and \
             a weight [C_out, ..., C_in] of the same rank, got {:?} and {:?}",
            input.shape(),
            weight.shape()
        )));
    }
    let sd = nd - 2;
    let stride = per_axis(stride, sd, "stride")?;
    let padding = per_axis(padding, sd, "padding")?;
    let dilation = per_axis(dilation, sd, "dilation")?;
    let output_padding = per_axis(output_padding, sd, "output padding")?;
    positive(&dilation, "Kernel dilation")?;
    let mut lo = Vec::with_capacity(sd);
    let mut hi = Vec::with_capacity(sd);
    for i in 0..sd {
        let span = (dilation[i] * weight.shape()[i + 1].saturating_sub(1)) as isize;
        lo.push(span - padding[i]);
        hi.push(span - padding[i] + output_padding[i]);
    }
    conv_general(
        input,
        weight,
        &[1],
        &lo,
        &hi,
        &dilation,
        &stride,
        groups,
        true,
    )
}

/// MLX's `conv_transpose1d`: input `(N, L, C_in)`, weight `(C_out, K, C_in / groups)`.
pub fn conv_transpose1d(
    input: &Array,
    weight: &Array,
    stride: usize,
    padding: isize,
    dilation: usize,
    output_padding: isize,
    groups: usize,
) -> Result<Array> {
    rank("conv_transpose1d", input, weight, 3)?;
    conv_transpose_general(
        input,
        weight,
        &[stride],
        &[padding],
        &[dilation],
        &[output_padding],
        groups,
    )
}

/// MLX's `conv_transpose2d`: input `(N, H, W, C_in)`, weight `(C_out, KH, KW, C_in /
/// groups)`; `stride`, `padding`, `dilation`, `output_padding` are per axis `(h, w)`.
pub fn conv_transpose2d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize),
    padding: (isize, isize),
    dilation: (usize, usize),
    output_padding: (isize, isize),
    groups: usize,
) -> Result<Array> {
    rank("conv_transpose2d", input, weight, 4)?;
    conv_transpose_general(
        input,
        weight,
        &[stride.0, stride.1],
        &[padding.0, padding.1],
        &[dilation.0, dilation.1],
        &[output_padding.0, output_padding.1],
        groups,
    )
}

/// MLX's `conv_transpose3d`: input `(N, D, H, W, C_in)`, weight `(C_out, KD, KH, KW, C_in /
/// groups)`.
pub fn conv_transpose3d(
    input: &Array,
    weight: &Array,
    stride: (usize, usize, usize),
    padding: (isize, isize, isize),
    dilation: (usize, usize, usize),
    output_padding: (isize, isize, isize),
    groups: usize,
) -> Result<Array> {
    rank("conv_transpose3d", input, weight, 5)?;
    conv_transpose_general(
        input,
        weight,
        &[stride.0, stride.1, stride.2],
        &[padding.0, padding.1, padding.2],
        &[dilation.0, dilation.1, dilation.2],
        &[output_padding.0, output_padding.1, output_padding.2],
        groups,
    )
}

/// Check that `input` and `weight` have the rank `op` needs.
fn rank(op: &str, input: &Array, weight: &Array, nd: usize) -> Result<()> {
    if input.ndim() != nd {
        return Err(Error::Shape(format!(
            "[{op}] Expected an input with {nd} dimensions [N, {}C_in], got shape {:?}",
            "S, ".repeat(nd - 2),
            input.shape()
        )));
    }
    if weight.ndim() != nd {
        return Err(Error::Shape(format!(
            "[{op}] Expected a weight with {nd} dimensions [C_out, {}C_in], got shape {:?}",
            "K, ".repeat(nd - 2),
            weight.shape()
        )));
    }
    Ok(())
}
