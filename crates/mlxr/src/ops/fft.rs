//! Discrete Fourier transforms with MLX's `mx.fft` API: `fft`, `ifft`, `fft2`, `ifft2`,
//! `fftn`, `ifftn`, `rfft`, `irfft`, `rfft2`, `irfft2`, `rfftn`, `irfftn`, `fftshift`,
//! `ifftshift`.
//!
//! Each transform pads (with zeros) or truncates the input to the requested sizes, casts
//! it (complex transforms and `irfft*`: complex64; `rfft*`: float32, a complex input
//! losing its imaginary part, as MLX) and builds one `FFT` node. Outputs are complex64,
//! or float32 for `irfft*`. Inverse transforms scale by `1/n` ("backward" normalisation).
//!
//! ```
//! use mlxr::{ops, Array};
//! let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
//! let y = ops::fft::rfft(&x, None, -1).unwrap();
//! assert_eq!(y.shape(), &[3]);
//! let back = ops::fft::irfft(&y, Some(4), -1).unwrap();
//! let v = back.to_vec::<f32>().unwrap();
//! assert!((v[2] - 3.0).abs() < 1e-5);
//! ```

use super::{astype, normalize_axis, pad, roll, slice, stream, PadMode};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::fft::Fft;
use std::sync::Arc;

/// The shared body of every transform: `n[i]` points along `axes[i]`.
fn fft_impl(
    a: &Array,
    n: &[usize],
    axes: &[isize],
    real: bool,
    inverse: bool,
    op: &str,
) -> Result<Array> {
    if a.ndim() < 1 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Requires array with at least one dimension (got a 0-dimensional array)."
        )));
    }
    if n.len() != axes.len() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Shape and axes have different sizes (sizes {n:?}, axes {axes:?})."
        )));
    }
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut ax = Vec::with_capacity(axes.len());
    for &x in axes {
        let v = normalize_axis(x, a.ndim(), op).map_err(|_| {
            Error::InvalidArgument(format!(
                "[{op}] Invalid axis {x} for an array with {} dimensions (shape {:?}).",
                a.ndim(),
                a.shape()
            ))
        })?;
        if ax.contains(&v) {
            return Err(Error::InvalidArgument(format!(
                "[{op}] Duplicated axis received {axes:?}."
            )));
        }
        ax.push(v);
    }
    if let Some(&bad) = n.iter().find(|&&k| k == 0) {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Invalid FFT output size requested ({bad})."
        )));
    }
    let last = *ax.last().expect("non-empty");
    let mut in_shape = a.shape().to_vec();
    for (&x, &k) in ax.iter().zip(n) {
        in_shape[x] = k;
    }
    let n_real = in_shape[last];
    if real && inverse {
        in_shape[last] = n_real / 2 + 1;
    }
    let in_type = if real && !inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    let x = astype(a, in_type)?;
    let x = resize(&x, &in_shape)?;
    let p = Fft {
        axes: ax,
        inverse,
        real,
        n: if real { n_real } else { 0 },
    };
    let out_shape = p.out_shape(&in_shape);
    let out_type = if real && inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    Ok(Array::new_node(
        out_shape,
        out_type,
        Arc::new(p),
        vec![x],
        stream(),
    ))
}

/// Truncate (a slice) and then zero-pad `x` to `shape` (same rank).
fn resize(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let cur = x.shape().to_vec();
    let x = if cur.iter().zip(shape).any(|(c, s)| c > s) {
        let start = vec![0isize; cur.len()];
        let stop: Vec<isize> = cur
            .iter()
            .zip(shape)
            .map(|(&c, &s)| c.min(s) as isize)
            .collect();
        slice(x, &start, &stop, &vec![1; cur.len()])?
    } else {
        x.clone()
    };
    if x.shape() == shape {
        return Ok(x);
    }
    let widths: Vec<(usize, usize)> = x
        .shape()
        .iter()
        .zip(shape)
        .map(|(&c, &s)| (0, s - c))
        .collect();
    pad(&x, &widths, PadMode::Constant, 0.0)
}

/// The sizes and axes of an n-dimensional transform from MLX's optional `s` / `axes`:
/// `axes` defaults to every axis, `s` to the input's sizes along `axes` (`default_last`
/// gives the last axis' size instead, for `irfftn`). `s` without `axes` is an error, as
/// in MLX.
fn sizes_axes(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    irfft: bool,
    op: &str,
) -> Result<(Vec<usize>, Vec<isize>)> {
    let axes: Vec<isize> = match (s, axes) {
        (Some(_), None) => {
            return Err(Error::InvalidArgument(format!(
                "[{op}] `axes` should not be `None` if `s` is not `None`."
            )))
        }
        (_, Some(ax)) => ax.to_vec(),
        (None, None) => (0..a.ndim() as isize).collect(),
    };
    let s = match s {
        Some(s) => s.to_vec(),
        None => {
            let mut v = Vec::with_capacity(axes.len());
            for (i, &x) in axes.iter().enumerate() {
                let k = a.dim(x).map_err(|_| {
                    Error::InvalidArgument(format!(
                        "[{op}] Invalid axis {x} for an array with {} dimensions (shape {:?}).",
                        a.ndim(),
                        a.shape()
                    ))
                })?;
                v.push(if irfft && i + 1 == axes.len() {
                    2 * k.saturating_sub(1)
                } else {
                    k
                });
            }
            v
        }
    };
    Ok((s, axes))
}

/// The size along `axis` (`n` when given); errors for a bad axis.
fn axis_len(a: &Array, n: Option<usize>, axis: isize, irfft: bool, op: &str) -> Result<usize> {
    if a.ndim() < 1 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Requires array with at least one dimension (got a 0-dimensional array)."
        )));
    }
    match n {
        Some(n) => Ok(n),
        None => {
            let k = a.dim(axis).map_err(|_| {
                Error::InvalidArgument(format!(
                    "[{op}] Invalid axis {axis} for an array with {} dimensions (shape {:?}).",
                    a.ndim(),
                    a.shape()
                ))
            })?;
            Ok(if irfft { 2 * k.saturating_sub(1) } else { k })
        }
    }
}

/// One-dimensional discrete Fourier transform along `axis`, with `n` points (the input is
/// truncated or zero-padded; default: its length).
pub fn fft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "fft")?;
    fft_impl(a, &[k], &[axis], false, false, "fft")
}

/// One-dimensional inverse discrete Fourier transform (scaled by `1/n`).
pub fn ifft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "ifft")?;
    fft_impl(a, &[k], &[axis], false, true, "ifft")
}

/// N-dimensional transform over `axes` (default all) with sizes `s` (default the input's).
pub fn fftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "fftn")?;
    fft_impl(a, &s, &axes, false, false, "fftn")
}

/// N-dimensional inverse transform; see [`fftn`].
pub fn ifftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "ifftn")?;
    fft_impl(a, &s, &axes, false, true, "ifftn")
}

/// Two-dimensional transform: [`fftn`] with `axes` (MLX's default `[-2, -1]`).
pub fn fft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "fft2")?;
    fft_impl(a, &s, &axes, false, false, "fft2")
}

/// Two-dimensional inverse transform: [`ifftn`] with `axes` (MLX's default `[-2, -1]`).
pub fn ifft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "ifft2")?;
    fft_impl(a, &s, &axes, false, true, "ifft2")
}

/// Transform of a real signal along `axis`: the `n / 2 + 1` non-negative frequencies
/// (complex inputs are replaced by their real part, as MLX).
pub fn rfft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "rfft")?;
    fft_impl(a, &[k], &[axis], true, false, "rfft")
}

/// Inverse of [`rfft`]: a float32 signal of `n` points (default `2 * (m - 1)` for `m`
/// input frequencies) from its non-negative frequencies.
pub fn irfft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, true, "irfft")?;
    fft_impl(a, &[k], &[axis], true, true, "irfft")
}

/// N-dimensional real transform: the real transform of the last of `axes`, complex
/// transforms of the others.
pub fn rfftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "rfftn")?;
    fft_impl(a, &s, &axes, true, false, "rfftn")
}

/// Inverse of [`rfftn`] (the last axis' default size is `2 * (m - 1)`).
pub fn irfftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, true, "irfftn")?;
    fft_impl(a, &s, &axes, true, true, "irfftn")
}

/// Two-dimensional real transform ([`rfftn`] over `axes`, MLX's default `[-2, -1]`).
pub fn rfft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "rfft2")?;
    fft_impl(a, &s, &axes, true, false, "rfft2")
}

/// Two-dimensional inverse real transform ([`irfftn`] over `axes`).
pub fn irfft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), true, "irfft2")?;
    fft_impl(a, &s, &axes, true, true, "irfft2")
}

/// Roll `axes` (default all) by `dir * (n / 2)` (floor).
fn shift(a: &Array, axes: Option<&[isize]>, inverse: bool, op: &str) -> Result<Array> {
    let axes: Vec<isize> = match axes {
        Some(x) => x.to_vec(),
        None => (0..a.ndim() as isize).collect(),
    };
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut shifts = Vec::with_capacity(axes.len());
    for &x in &axes {
        let k = normalize_axis(x, a.ndim(), op).map_err(|_| {
            Error::InvalidArgument(format!(
                "[{op}] Invalid axis {x} for array with {} dimensions.",
                a.ndim()
            ))
        })?;
        let n = a.shape()[k] as isize;
        shifts.push(if inverse { -(n / 2) } else { n / 2 });
    }
    roll(a, &shifts, Some(&axes))
}

/// Move the zero frequency to the centre: roll each of `axes` (default all) by `n / 2`.
pub fn fftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift(a, axes, false, "fftshift")
}

/// Inverse of [`fftshift`]: roll each of `axes` (default all) by `-(n / 2)`.
pub fn ifftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift(a, axes, true, "ifftshift")
}
