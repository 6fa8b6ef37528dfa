//! Fast Fourier transforms on the CPU (the kernel of the `FFT` primitive), through the
//! `rustfft` crate: O(n log n) for every length (mixed radix, Rader and Bluestein for
//! primes), in single precision like MLX's complex64.
//!
//! The input is first copied to a row-contiguous buffer; then each transformed axis is
//! processed in turn: lines along the last axis are transformed in place, lines along
//! other axes are gathered into a scratch line, transformed and scattered back. Lines are
//! spread over cores with rayon when the array is large.

use super::copy::copy_to_contiguous;
use crate::array::Data;
use crate::dtype::Dtype;
use crate::error::Result;
use num_complex::Complex32;
use rayon::prelude::*;
use rustfft::{Fft, FftDirection, FftPlanner};
use std::sync::Arc;

/// A raw pointer that may cross threads (each task touches disjoint lines).
#[derive(Clone, Copy)]
struct Ptr(*mut Complex32);
// SAFETY: used only for disjoint writes from parallel tasks.
unsafe impl Send for Ptr {}
unsafe impl Sync for Ptr {}

/// The buffer of fresh row-contiguous data as a mutable slice.
fn slice_mut(d: &mut Data, n: usize) -> &mut [Complex32] {
    let off = d.offset;
    let buf = Arc::get_mut(&mut d.storage)
        .expect("fresh storage")
        .host_mut();
    &mut buf.as_mut_slice::<Complex32>()[off..off + n]
}

/// Transform every line of `buf` (row-contiguous, `shape`) along `axis` in place, with
/// no scaling. `plan` has length `shape[axis]`.
fn transform_axis(buf: &mut [Complex32], shape: &[usize], axis: usize, plan: &Arc<dyn Fft<f32>>) {
    let n = shape[axis];
    let total: usize = shape.iter().product();
    if total == 0 || n <= 1 {
        return;
    }
    let inner: usize = shape[axis + 1..].iter().product();
    let par = total >= super::PAR_THRESHOLD;
    let scratch_len = plan.get_inplace_scratch_len();
    if inner == 1 {
        // Contiguous lines: transform them in place, a chunk of lines per task.
        let lines_per_task = (super::PAR_THRESHOLD / n).max(1);
        let work = |chunk: &mut [Complex32]| {
            let mut scratch = vec![Complex32::default(); scratch_len];
            plan.process_with_scratch(chunk, &mut scratch);
        };
        if par {
            buf.par_chunks_mut(lines_per_task * n).for_each(work);
        } else {
            work(buf);
        }
        return;
    }
    // Strided lines: one block of `n * inner` elements per outer index; each line of the
    // block (stride `inner`) is gathered, transformed and scattered back.
    let block = n * inner;
    let lines = total / n;
    let p = Ptr(buf.as_mut_ptr());
    let run = |first: usize, count: usize| {
        let p = p;
        let mut line = vec![Complex32::default(); n];
        let mut scratch = vec![Complex32::default(); scratch_len];
        for l in first..first + count {
            let (o, i) = (l / inner, l % inner);
            let base = o * block + i;
            for (k, v) in line.iter_mut().enumerate() {
                // SAFETY: `base + k * inner` is inside the buffer; lines are disjoint.
                *v = unsafe { *p.0.add(base + k * inner) };
            }
            plan.process_with_scratch(&mut line, &mut scratch);
            for (k, v) in line.iter().enumerate() {
                // SAFETY: as above; no other task writes this line.
                unsafe { *p.0.add(base + k * inner) = *v };
            }
        }
    };
    if par {
        let per = (super::PAR_THRESHOLD / n).max(1);
        let tasks = lines.div_ceil(per);
        (0..tasks)
            .into_par_iter()
            .for_each(|t| run(t * per, per.min(lines - t * per)));
    } else {
        run(0, lines);
    }
}

/// Multiply every element by `s`.
fn scale(buf: &mut [Complex32], s: f32) {
    if buf.len() >= super::PAR_THRESHOLD {
        buf.par_iter_mut().for_each(|v| *v *= s);
    } else {
        buf.iter_mut().for_each(|v| *v *= s);
    }
}

/// Transform `buf` (row-contiguous, `shape`) along each of `axes` (forward or inverse,
/// unscaled).
fn transform_axes(
    planner: &mut FftPlanner<f32>,
    buf: &mut [Complex32],
    shape: &[usize],
    axes: &[usize],
    dir: FftDirection,
) {
    for &ax in axes {
        if shape[ax] > 1 {
            let plan = planner.plan_fft(shape[ax], dir);
            transform_axis(buf, shape, ax, &plan);
        }
    }
}

/// The FFT primitive's kernel. `src` has shape `in_shape` (already padded / truncated by
/// the op) and dtype `in_dtype` (float32 for a real forward transform, else complex64);
/// the result has shape `out_shape` (complex64, or float32 for a real inverse transform).
/// Complex transforms run over `axes` in order; a real transform treats the last of
/// `axes` as the real axis (`n // 2 + 1` frequencies). Inverse transforms scale by `1/n`
/// per axis (NumPy's and MLX's "backward" normalisation).
pub fn fft(
    src: &Data,
    in_shape: &[usize],
    in_dtype: Dtype,
    out_shape: &[usize],
    axes: &[usize],
    inverse: bool,
    real: bool,
) -> Result<Data> {
    let dir = if inverse {
        FftDirection::Inverse
    } else {
        FftDirection::Forward
    };
    let mut planner = FftPlanner::<f32>::new();
    let in_total: usize = in_shape.iter().product();
    let out_total: usize = out_shape.iter().product();
    if !real {
        let mut d = copy_to_contiguous(src, in_shape, in_dtype, Dtype::Complex64)?;
        let buf = slice_mut(&mut d, in_total);
        transform_axes(&mut planner, buf, in_shape, axes, dir);
        if inverse {
            let n: usize = axes.iter().map(|&a| in_shape[a]).product();
            scale(buf, 1.0 / n as f32);
        }
        return Ok(d);
    }
    let last = *axes.last().expect("a real transform has axes");
    let rest = &axes[..axes.len() - 1];
    if !inverse {
        // Real forward: a full complex transform of the last axis (the input as complex),
        // keep the non-negative frequencies, then complex transforms of the other axes.
        let mut full = copy_to_contiguous(src, in_shape, in_dtype, Dtype::Complex64)?;
        let fbuf = slice_mut(&mut full, in_total);
        transform_axes(&mut planner, fbuf, in_shape, &[last], dir);
        let mut out = Data::alloc(out_shape, Dtype::Complex64)?;
        let obuf = slice_mut(&mut out, out_total);
        copy_prefix(fbuf, in_shape, obuf, out_shape, last);
        transform_axes(&mut planner, obuf, out_shape, rest, dir);
        return Ok(out);
    }
    // Real inverse: complex inverse transforms of the other axes, then the Hermitian
    // extension of the last axis to `n` points, its inverse transform, and the real part.
    let mut half = copy_to_contiguous(src, in_shape, in_dtype, Dtype::Complex64)?;
    let hbuf = slice_mut(&mut half, in_total);
    transform_axes(&mut planner, hbuf, in_shape, rest, dir);
    let n = out_shape[last];
    let m = in_shape[last];
    let mut full_shape = in_shape.to_vec();
    full_shape[last] = n;
    let full_total: usize = full_shape.iter().product();
    let mut full = Data::alloc(&full_shape, Dtype::Complex64)?;
    let fbuf = slice_mut(&mut full, full_total);
    hermitian_extend(hbuf, in_shape, fbuf, &full_shape, last, m, n);
    transform_axes(&mut planner, fbuf, &full_shape, &[last], dir);
    let count: usize = axes.iter().map(|&a| out_shape[a]).product();
    let s = 1.0 / count as f32;
    let out = Data::alloc(out_shape, Dtype::Float32)?;
    let op = out.host().as_mut_ptr() as *mut f32;
    // SAFETY: `out` is fresh and row-contiguous with `out_total` elements.
    let o = unsafe { std::slice::from_raw_parts_mut(op.add(out.offset), out_total) };
    o.iter_mut()
        .zip(fbuf.iter())
        .for_each(|(o, v)| *o = v.re * s);
    Ok(out)
}

/// Copy the first `dst_shape[axis]` entries of every line along `axis` of `src` into
/// `dst` (both row-contiguous; the shapes differ only on `axis`).
fn copy_prefix(
    src: &[Complex32],
    src_shape: &[usize],
    dst: &mut [Complex32],
    dst_shape: &[usize],
    axis: usize,
) {
    let inner: usize = src_shape[axis + 1..].iter().product();
    let (sn, dn) = (src_shape[axis] * inner, dst_shape[axis] * inner);
    if dn == 0 {
        return;
    }
    for (d, s) in dst.chunks_mut(dn).zip(src.chunks(sn)) {
        d.copy_from_slice(&s[..dn]);
    }
}

/// Fill each line along `axis` of `dst` (length `n`) with the Hermitian extension of the
/// `m` leading frequencies of `src`'s line: `X[k]` for `k < m` (`n / 2 + 1 == m`), and
/// `conj(X[n - k])` above; the imaginary parts of the zero (and, for even `n`, the Nyquist)
/// frequency are dropped as a real inverse transform ignores them.
fn hermitian_extend(
    src: &[Complex32],
    src_shape: &[usize],
    dst: &mut [Complex32],
    dst_shape: &[usize],
    axis: usize,
    m: usize,
    n: usize,
) {
    let inner: usize = src_shape[axis + 1..].iter().product();
    let outer: usize = src_shape[..axis].iter().product();
    let _ = dst_shape;
    for o in 0..outer {
        for i in 0..inner {
            let sb = o * m * inner + i;
            let db = o * n * inner + i;
            for k in 0..n {
                let v = if k < m {
                    let mut v = src[sb + k * inner];
                    if k == 0 || (n.is_multiple_of(2) && k == n / 2) {
                        v.im = 0.0;
                    }
                    v
                } else {
                    src[sb + (n - k) * inner].conj()
                };
                dst[db + k * inner] = v;
            }
        }
    }
}
