//! Softmax and log-sum-exp kernels on the CPU, over any set of axes of a strided input.
//!
//! The elements that one output row combines (the reduced axes, in row-major order) are
//! read directly when they form a contiguous run, else gathered into a per-thread
//! scratch row. Real inputs compute in f32 (f64 for f64 inputs) with a vectorisable
//! exponential (compiled for AVX2 too and picked at run time); complex inputs compute in
//! complex64. Softmax writes its output with the kept axes outermost and the reduced axes
//! innermost (row-contiguous for the usual last-axis case) and returns matching strides.

use super::reduce::par_for;
use super::strided::SendPtr;
use super::PAR_THRESHOLD;
use crate::array::{row_strides, Data};
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use num_complex::Complex32;
use rayon::prelude::*;
use std::any::TypeId;
use std::sync::Arc;

/// Rows at least this long are processed with several threads each when there are few.
const PAR_ROW: usize = 1 << 16;

// ---- row arithmetic ------------------------------------------------------------------

/// A floating compute type for the row kernels (f32 or f64).
pub trait RowFloat: Element + num_traits::Float {
    /// Largest non-NaN element (-inf if none).
    fn row_max(x: &[Self]) -> Self;
    /// `out[i] = exp(x[i] - m)`; returns the sum of `out`. `x[i] - m` is never positive
    /// unless NaN.
    fn exp_sum(x: &[Self], m: Self, out: &mut [Self]) -> Self;
    /// Sum of `exp(x[i] - m)` (same conditions as `exp_sum`).
    fn lse_sum(x: &[Self], m: Self) -> Self;
    /// `out[i] *= s`.
    fn scale(out: &mut [Self], s: Self);
}

/// Natural exponential for `x <= 0` (and NaN), vectorisable: range reduction by ln 2 and
/// a degree-7 Taylor polynomial on |r| <= ln2/2 (error below 2 ulp); results below the
/// smallest normal flush to zero.
#[inline(always)]
fn exp_nonpos(x: f32) -> f32 {
    const LO: f32 = -87.33;
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    const LN2_HI: f32 = 0.693_359_4; // 355/512, exact
    const LN2_LO: f32 = -2.121_944_4e-4; // ln 2 - LN2_HI
    #[allow(clippy::manual_clamp)] // max/min keep NaN handling (clamp would propagate NaN)
    let xc = x.max(LO).min(0.0);
    let t = xc * std::f32::consts::LOG2_E + MAGIC;
    let k = t - MAGIC;
    let ki = (t.to_bits() as i32).wrapping_sub(0x4B40_0000);
    let r = xc - k * LN2_HI - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((ki + 127) as u32) << 23);
    let v = p * scale;
    let v = if x < LO { 0.0 } else { v };
    #[allow(clippy::eq_op)]
    if x != x {
        x
    } else {
        v
    }
}

#[inline(always)]
fn max16_f32(x: &[f32]) -> f32 {
    let mut l = [f32::NEG_INFINITY; 16];
    let mut ch = x.chunks_exact(16);
    for c in &mut ch {
        for j in 0..16 {
            l[j] = if c[j] > l[j] { c[j] } else { l[j] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for v in l.into_iter().chain(ch.remainder().iter().copied()) {
        m = if v > m { v } else { m };
    }
    m
}

#[inline(always)]
fn exp_sum_f32(x: &[f32], m: f32, out: &mut [f32]) -> f32 {
    let mut l = [0f32; 16];
    let n16 = x.len() / 16 * 16;
    for (c, o) in x[..n16]
        .chunks_exact(16)
        .zip(out[..n16].chunks_exact_mut(16))
    {
        for j in 0..16 {
            let e = exp_nonpos(c[j] - m);
            o[j] = e;
            l[j] += e;
        }
    }
    let mut s = 0f32;
    for i in n16..x.len() {
        let e = exp_nonpos(x[i] - m);
        out[i] = e;
        s += e;
    }
    l.iter().sum::<f32>() + s
}

#[inline(always)]
fn lse_sum_f32(x: &[f32], m: f32) -> f32 {
    let mut l = [0f32; 16];
    let mut ch = x.chunks_exact(16);
    for c in &mut ch {
        for j in 0..16 {
            l[j] += exp_nonpos(c[j] - m);
        }
    }
    let mut s = 0f32;
    for &v in ch.remainder() {
        s += exp_nonpos(v - m);
    }
    l.iter().sum::<f32>() + s
}

#[inline(always)]
fn scale_f32(out: &mut [f32], s: f32) {
    for v in out.iter_mut() {
        *v *= s;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    //! The f32 row loops compiled for AVX2 + FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn max(x: &[f32]) -> f32 {
        super::max16_f32(x)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_sum(x: &[f32], m: f32, out: &mut [f32]) -> f32 {
        super::exp_sum_f32(x, m, out)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn lse_sum(x: &[f32], m: f32) -> f32 {
        super::lse_sum_f32(x, m)
    }
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn scale(out: &mut [f32], s: f32) {
        super::scale_f32(out, s)
    }
}

#[inline]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

impl RowFloat for f32 {
    fn row_max(x: &[f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU supports the enabled features.
            return unsafe { avx2::max(x) };
        }
        max16_f32(x)
    }
    fn exp_sum(x: &[f32], m: f32, out: &mut [f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2::exp_sum(x, m, out) };
        }
        exp_sum_f32(x, m, out)
    }
    fn lse_sum(x: &[f32], m: f32) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2::lse_sum(x, m) };
        }
        lse_sum_f32(x, m)
    }
    fn scale(out: &mut [f32], s: f32) {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: as above.
            return unsafe { avx2::scale(out, s) };
        }
        scale_f32(out, s)
    }
}

impl RowFloat for f64 {
    fn row_max(x: &[f64]) -> f64 {
        x.iter()
            .fold(f64::NEG_INFINITY, |m, &v| if v > m { v } else { m })
    }
    fn exp_sum(x: &[f64], m: f64, out: &mut [f64]) -> f64 {
        let mut s = 0.0;
        for (o, &v) in out.iter_mut().zip(x) {
            *o = (v - m).exp();
            s += *o;
        }
        s
    }
    fn lse_sum(x: &[f64], m: f64) -> f64 {
        x.iter().map(|&v| (v - m).exp()).sum()
    }
    fn scale(out: &mut [f64], s: f64) {
        for v in out.iter_mut() {
            *v *= s;
        }
    }
}

/// How MLX's non-precise softmax rounds half-precision intermediates.
#[derive(Clone, Copy, Debug)]
struct HalfMode {
    /// float16 or bfloat16.
    dtype: Dtype,
    /// The fused (last-axis) kernel accumulates the sum in half precision and multiplies
    /// by the rounded reciprocal; the composed form (other axes) sums in f32, rounds once
    /// and divides.
    fused: bool,
}

/// Round an f32/f64 value through a half dtype.
#[inline]
fn round_through<C: RowFloat>(v: C, h: Dtype) -> C {
    match h {
        Dtype::Float16 => C::from_f64(half::f16::from_f64(v.to_f64()).to_f64()),
        Dtype::Bfloat16 => C::from_f64(half::bf16::from_f64(v.to_f64()).to_f64()),
        _ => v,
    }
}

/// `out[i] = exp(x[i] - m)` with half-precision rounding; returns the sum (rounded as
/// the mode sums).
fn half_exp_sum<C: RowFloat>(x: &[C], m: C, out: &mut [C], h: HalfMode) -> C {
    let r = |v: C| round_through(v, h.dtype);
    let mut s = C::zero();
    for (o, &v) in out.iter_mut().zip(x) {
        let e = r(r(v - m).exp());
        *o = e;
        s = if h.fused { r(s + e) } else { s + e };
    }
    s
}

/// Normalise `out` by the sum `s` of its exponentials.
fn half_normalise<C: RowFloat>(out: &mut [C], s: C, h: HalfMode) {
    let r = |v: C| round_through(v, h.dtype);
    if h.fused {
        let inv = r(C::one() / r(s));
        C::scale(out, inv);
    } else {
        let s = r(s);
        for v in out.iter_mut() {
            *v = *v / s;
        }
    }
}

/// Softmax of one row `x` into `out` (same length); `half` emulates MLX's non-precise
/// half-precision arithmetic.
fn softmax_row<C: RowFloat>(x: &[C], out: &mut [C], half: Option<HalfMode>) {
    let m = C::row_max(x);
    match half {
        None => {
            let s = C::exp_sum(x, m, out);
            C::scale(out, C::one() / s);
        }
        Some(h) => {
            let s = half_exp_sum(x, m, out, h);
            half_normalise(out, s, h);
        }
    }
}

/// `softmax_row` splitting one long row across threads.
fn softmax_row_par<C: RowFloat>(x: &[C], out: &mut [C], half: Option<HalfMode>) {
    const CH: usize = 1 << 14;
    let m = x
        .par_chunks(CH)
        .map(C::row_max)
        .reduce(|| C::neg_infinity(), |a, b| if b > a { b } else { a });
    let s = x
        .par_chunks(CH)
        .zip(out.par_chunks_mut(CH))
        .map(|(x, o)| match half {
            None => C::exp_sum(x, m, o),
            Some(h) => half_exp_sum(x, m, o, h),
        })
        .reduce(C::zero, |a, b| a + b);
    match half {
        None => {
            let inv = C::one() / s;
            out.par_chunks_mut(CH).for_each(|o| C::scale(o, inv));
        }
        Some(h) => out.par_chunks_mut(CH).for_each(|o| half_normalise(o, s, h)),
    }
}

/// Log-sum-exp of one row (non-empty).
fn lse_row<C: RowFloat>(x: &[C], par: bool) -> C {
    const CH: usize = 1 << 14;
    let m = if par {
        x.par_chunks(CH)
            .map(C::row_max)
            .reduce(|| C::neg_infinity(), |a, b| if b > a { b } else { a })
    } else {
        C::row_max(x)
    };
    if m.is_infinite() {
        // All elements are -inf/NaN (m = -inf), or some is +inf: the result is m unless
        // a NaN is present.
        return if x.iter().any(|v| v.is_nan()) {
            C::nan()
        } else {
            m
        };
    }
    let s = if par {
        x.par_chunks(CH)
            .map(|c| C::lse_sum(c, m))
            .reduce(C::zero, |a, b| a + b)
    } else {
        C::lse_sum(x, m)
    };
    s.ln() + m
}

// ---- layout --------------------------------------------------------------------------

/// The rows of a reduction over `axes`: kept dims `(size, stride)` (outer, in order) and
/// reduced dims (inner, in order), size-1 dims dropped and contiguous neighbours merged.
struct Rows {
    kdims: Vec<(usize, isize)>,
    rdims: Vec<(usize, isize)>,
    n_rows: usize,
    len: usize,
}

fn merge_dims(dims: impl Iterator<Item = (usize, isize)>) -> Vec<(usize, isize)> {
    let mut out: Vec<(usize, isize)> = Vec::new();
    for (n, s) in dims {
        if n == 1 {
            continue;
        }
        if let Some(last) = out.last_mut() {
            if last.1 == s * n as isize {
                last.0 *= n;
                last.1 = s;
                continue;
            }
        }
        out.push((n, s));
    }
    out
}

impl Rows {
    fn new(shape: &[usize], strides: &[isize], axes: &[usize]) -> Rows {
        let kept = (0..shape.len()).filter(|i| !axes.contains(i));
        let kdims = merge_dims(kept.map(|i| (shape[i], strides[i])));
        let rdims = merge_dims(axes.iter().map(|&i| (shape[i], strides[i])));
        let n_rows = (0..shape.len())
            .filter(|i| !axes.contains(i))
            .map(|i| shape[i])
            .product();
        let len = axes.iter().map(|&i| shape[i]).product();
        Rows {
            kdims,
            rdims,
            n_rows,
            len,
        }
    }
    /// Whether each row is one contiguous run (stride 1) in the input.
    fn contiguous(&self) -> bool {
        self.rdims.is_empty() || (self.rdims.len() == 1 && self.rdims[0].1 == 1)
    }
}

/// Offsets of consecutive multi-indices over `dims` (row-major).
struct Odo<'a> {
    dims: &'a [(usize, isize)],
    idx: Vec<usize>,
    off: isize,
}
impl<'a> Odo<'a> {
    fn new(dims: &'a [(usize, isize)], start: usize) -> Self {
        let mut idx = vec![0; dims.len()];
        let mut off = 0;
        let mut r = start;
        for (k, &(n, s)) in dims.iter().enumerate().rev() {
            idx[k] = r % n;
            r /= n;
            off += idx[k] as isize * s;
        }
        Odo { dims, idx, off }
    }
    #[inline]
    fn next(&mut self) {
        for k in (0..self.dims.len()).rev() {
            let (n, s) = self.dims[k];
            self.idx[k] += 1;
            self.off += s;
            if self.idx[k] < n {
                return;
            }
            self.idx[k] = 0;
            self.off -= s * n as isize;
        }
    }
}

/// Copy one row (starting at input offset `off`) into `buf`, converting to `C`.
fn gather<T: Element, C: Element>(
    base: SendPtr<T>,
    off: isize,
    rdims: &[(usize, isize)],
    buf: &mut [C],
) {
    if rdims.is_empty() {
        // SAFETY: the row's single element lies within the input.
        buf[0] = unsafe { *base.0.offset(off) }.cast();
        return;
    }
    let (n, s) = *rdims.last().expect("non-empty");
    let outer = &rdims[..rdims.len() - 1];
    let mut odo = Odo::new(outer, 0);
    for chunk in buf.chunks_exact_mut(n) {
        let p = off + odo.off;
        for (i, b) in chunk.iter_mut().enumerate() {
            // SAFETY: as above.
            *b = unsafe { *base.0.offset(p + i as isize * s) }.cast();
        }
        odo.next();
    }
}

fn same<A: 'static, B: 'static>() -> bool {
    TypeId::of::<A>() == TypeId::of::<B>()
}

fn base_ptr<T: Element>(x: &Data) -> SendPtr<T> {
    // SAFETY: offset is within the storage.
    SendPtr(unsafe { (x.host().as_ptr() as *const T).add(x.offset) } as *mut T)
}

/// Output data for softmax: the kept axes outermost, the reduced axes innermost.
fn softmax_out(shape: &[usize], axes: &[usize], dtype: Dtype) -> Result<Data> {
    let perm: Vec<usize> = (0..shape.len())
        .filter(|i| !axes.contains(i))
        .chain(axes.iter().copied())
        .collect();
    let pshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let pstr = row_strides(&pshape);
    let mut strides = vec![0isize; shape.len()];
    for (i, &p) in perm.iter().enumerate() {
        strides[p] = pstr[i];
    }
    let d = Data::alloc(&pshape, dtype)?;
    let n = shape.iter().product();
    Ok(Data::with_layout(d.storage, shape, strides, 0, Some(n)))
}

// ---- entry points ---------------------------------------------------------------------

/// Softmax of `x` (of `shape`, dtype `in_dtype`) over the sorted, distinct `axes`, into
/// fresh data of `out_dtype` whose layout has the reduced axes innermost. `precise`
/// computes half inputs without rounding intermediates to half precision.
pub fn softmax(
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    in_dtype: Dtype,
    out_dtype: Dtype,
    precise: bool,
) -> Result<Data> {
    let half = if precise || !matches!(in_dtype, Dtype::Float16 | Dtype::Bfloat16) {
        None
    } else {
        Some(HalfMode {
            dtype: in_dtype,
            fused: axes.len() == 1 && axes[0] + 1 == shape.len(),
        })
    };
    if in_dtype == Dtype::Complex64 || out_dtype == Dtype::Complex64 {
        if in_dtype != out_dtype {
            return Err(Error::Dtype(format!(
                "softmax: no kernel from {in_dtype} to {out_dtype}"
            )));
        }
        return softmax_complex(x, shape, axes);
    }
    // The output dtype is the input's, or float32 (integer inputs over the last axis).
    if out_dtype != in_dtype && out_dtype != Dtype::Float32 {
        return Err(Error::Dtype(format!(
            "softmax: no kernel from {in_dtype} to {out_dtype}"
        )));
    }
    if in_dtype == Dtype::Float64 {
        return softmax_real::<f64, f64, f64>(x, shape, axes, half);
    }
    crate::dispatch_all!(in_dtype, T => {
        if out_dtype == in_dtype {
            softmax_real::<T, f32, T>(x, shape, axes, half)
        } else {
            softmax_real::<T, f32, f32>(x, shape, axes, half)
        }
    })
}

fn softmax_real<T: Element, C: RowFloat, O: Element>(
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    half: Option<HalfMode>,
) -> Result<Data> {
    let out = softmax_out(shape, axes, O::DTYPE)?;
    let rows = Rows::new(shape, &x.strides, axes);
    let (n_rows, len) = (rows.n_rows, rows.len);
    if n_rows * len == 0 {
        return Ok(out);
    }
    let base = base_ptr::<T>(x);
    let op = SendPtr(out.host().as_mut_ptr() as *mut O);
    let direct_in = same::<T, C>() && rows.contiguous();
    let direct_out = same::<O, C>();
    let threads = rayon::current_num_threads();
    let one_row = |r: usize, off: isize, bin: &mut Vec<C>, bout: &mut Vec<C>, par: bool| {
        let op = op;
        let base = base;
        let xin: &[C] = if direct_in {
            // SAFETY: T == C and the row is a contiguous run of the input.
            unsafe { std::slice::from_raw_parts(base.0.offset(off) as *const C, len) }
        } else {
            bin.resize(len, C::zero());
            gather(base, off, &rows.rdims, bin);
            bin
        };
        // SAFETY: row r owns output elements r*len..(r+1)*len.
        let dst = unsafe { std::slice::from_raw_parts_mut(op.0.add(r * len), len) };
        let res: &mut [C] = if direct_out {
            // SAFETY: O == C.
            unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut C, len) }
        } else {
            bout.resize(len, C::zero());
            bout
        };
        if par {
            softmax_row_par(xin, res, half);
        } else {
            softmax_row(xin, res, half);
        }
        if !direct_out {
            for (d, &v) in dst.iter_mut().zip(res.iter()) {
                *d = v.cast();
            }
        }
    };
    if n_rows < threads && len >= PAR_ROW {
        let (mut bin, mut bout) = (Vec::new(), Vec::new());
        let mut odo = Odo::new(&rows.kdims, 0);
        for r in 0..n_rows {
            one_row(r, odo.off, &mut bin, &mut bout, true);
            odo.next();
        }
        return Ok(out);
    }
    let par = n_rows * len >= PAR_THRESHOLD && threads > 1;
    let chunks = if par { (threads * 4).min(n_rows) } else { 1 };
    let per = n_rows.div_ceil(chunks);
    let body = |c: usize| {
        let (start, end) = (c * per, ((c + 1) * per).min(n_rows));
        let (mut bin, mut bout) = (Vec::new(), Vec::new());
        let mut odo = Odo::new(&rows.kdims, start);
        for r in start..end {
            one_row(r, odo.off, &mut bin, &mut bout, false);
            odo.next();
        }
    };
    par_for(chunks, &body);
    Ok(out)
}

/// Largest element in MLX's complex order (real part, then imaginary part).
fn complex_max(x: &[Complex32]) -> Complex32 {
    use super::reduce::Ordered;
    x.iter()
        .fold(Complex32::lowest(), |m, &v| if v.gt(m) { v } else { m })
}

fn softmax_complex(x: &Data, shape: &[usize], axes: &[usize]) -> Result<Data> {
    let out = softmax_out(shape, axes, Dtype::Complex64)?;
    let rows = Rows::new(shape, &x.strides, axes);
    let (n_rows, len) = (rows.n_rows, rows.len);
    if n_rows * len == 0 {
        return Ok(out);
    }
    let base = base_ptr::<Complex32>(x);
    let op = SendPtr(out.host().as_mut_ptr() as *mut Complex32);
    let body = |r: usize, off: isize| {
        let op = op;
        // SAFETY: row r owns its output elements.
        let dst = unsafe { std::slice::from_raw_parts_mut(op.0.add(r * len), len) };
        gather(base, off, &rows.rdims, dst);
        let m = complex_max(dst);
        let mut s = Complex32::new(0.0, 0.0);
        for v in dst.iter_mut() {
            *v = (*v - m).exp();
            s += *v;
        }
        for v in dst.iter_mut() {
            *v /= s;
        }
    };
    let mut odo = Odo::new(&rows.kdims, 0);
    for r in 0..n_rows {
        body(r, odo.off);
        odo.next();
    }
    Ok(out)
}

/// Log-sum-exp of `x` over the sorted, distinct `axes` into fresh row-contiguous data of
/// the keepdims shape and `out_dtype` (MLX's: at least float). The input is non-empty.
pub fn logsumexp(
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    in_dtype: Dtype,
    out_dtype: Dtype,
) -> Result<Data> {
    let mut out_shape = shape.to_vec();
    for &a in axes {
        out_shape[a] = 1;
    }
    if in_dtype == Dtype::Complex64 {
        return lse_complex(x, shape, axes, &out_shape);
    }
    // The output dtype is the input's (floats) or float32.
    if out_dtype != in_dtype && out_dtype != Dtype::Float32 {
        return Err(Error::Dtype(format!(
            "logsumexp: no kernel from {in_dtype} to {out_dtype}"
        )));
    }
    if in_dtype == Dtype::Float64 {
        return lse_real::<f64, f64, f64>(x, shape, axes, &out_shape);
    }
    crate::dispatch_all!(in_dtype, T => {
        if out_dtype == in_dtype {
            lse_real::<T, f32, T>(x, shape, axes, &out_shape)
        } else {
            lse_real::<T, f32, f32>(x, shape, axes, &out_shape)
        }
    })
}

fn lse_real<T: Element, C: RowFloat, O: Element>(
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    out_shape: &[usize],
) -> Result<Data> {
    let out = Data::alloc(out_shape, O::DTYPE)?;
    let rows = Rows::new(shape, &x.strides, axes);
    let (n_rows, len) = (rows.n_rows, rows.len);
    if n_rows * len == 0 {
        return Ok(out);
    }
    let base = base_ptr::<T>(x);
    let op = SendPtr(out.host().as_mut_ptr() as *mut O);
    let direct = same::<T, C>() && rows.contiguous();
    let threads = rayon::current_num_threads();
    let one = |off: isize, buf: &mut Vec<C>, par: bool| -> O {
        let base = base;
        let xin: &[C] = if direct {
            // SAFETY: T == C and the row is contiguous.
            unsafe { std::slice::from_raw_parts(base.0.offset(off) as *const C, len) }
        } else {
            buf.resize(len, C::zero());
            gather(base, off, &rows.rdims, buf);
            buf
        };
        lse_row(xin, par).cast()
    };
    if n_rows < threads && len >= PAR_ROW {
        let mut buf = Vec::new();
        let mut odo = Odo::new(&rows.kdims, 0);
        for r in 0..n_rows {
            // SAFETY: fresh output.
            unsafe { *op.0.add(r) = one(odo.off, &mut buf, true) };
            odo.next();
        }
        return Ok(out);
    }
    let par = n_rows * len >= PAR_THRESHOLD && threads > 1;
    let chunks = if par { (threads * 4).min(n_rows) } else { 1 };
    let per = n_rows.div_ceil(chunks);
    let body = |c: usize| {
        let op = op;
        let (start, end) = (c * per, ((c + 1) * per).min(n_rows));
        let mut buf = Vec::new();
        let mut odo = Odo::new(&rows.kdims, start);
        for r in start..end {
            // SAFETY: each output written by one chunk.
            unsafe { *op.0.add(r) = one(odo.off, &mut buf, false) };
            odo.next();
        }
    };
    par_for(chunks, &body);
    Ok(out)
}

fn lse_complex(x: &Data, shape: &[usize], axes: &[usize], out_shape: &[usize]) -> Result<Data> {
    let out = Data::alloc(out_shape, Dtype::Complex64)?;
    let rows = Rows::new(shape, &x.strides, axes);
    let (n_rows, len) = (rows.n_rows, rows.len);
    if n_rows * len == 0 {
        return Ok(out);
    }
    let base = base_ptr::<Complex32>(x);
    let op = SendPtr(out.host().as_mut_ptr() as *mut Complex32);
    let mut buf = vec![Complex32::new(0.0, 0.0); len];
    let mut odo = Odo::new(&rows.kdims, 0);
    for r in 0..n_rows {
        gather(base, odo.off, &rows.rdims, &mut buf);
        let mut m = complex_max(&buf);
        if m.re.is_infinite() || m.im.is_infinite() {
            m = Complex32::new(0.0, 0.0);
        }
        let s: Complex32 = buf.iter().map(|&v| (v - m).exp()).sum();
        // SAFETY: fresh output.
        unsafe { *op.0.add(r) = s.ln() + m };
        odo.next();
    }
    Ok(out)
}

// ---- softmax's vector-Jacobian product -------------------------------------------------

/// A floating element for [`softmax_vjp`]: its compute type (f32 for halves and f32,
/// f64 for f64) and the rounding back (half's `from_f32`, as the composed ops round).
trait VjpFloat: Element {
    type C: num_traits::Float + Send + Sync;
    fn up(self) -> Self::C;
    fn down(c: Self::C) -> Self;
}
impl VjpFloat for f32 {
    type C = f32;
    fn up(self) -> f32 {
        self
    }
    fn down(c: f32) -> f32 {
        c
    }
}
impl VjpFloat for f64 {
    type C = f64;
    fn up(self) -> f64 {
        self
    }
    fn down(c: f64) -> f64 {
        c
    }
}
impl VjpFloat for half::f16 {
    type C = f32;
    fn up(self) -> f32 {
        self.to_f32()
    }
    fn down(c: f32) -> Self {
        half::f16::from_f32(c)
    }
}
impl VjpFloat for half::bf16 {
    type C = f32;
    fn up(self) -> f32 {
        self.to_f32()
    }
    fn down(c: f32) -> Self {
        half::bf16::from_f32(c)
    }
}

/// One row of the softmax VJP, each step rounded to `T` as the composed ops round.
fn vjp_row<T: VjpFloat>(s: &[T], c: &[T], g: &mut [T]) {
    let r = |v: T::C| T::down(v).up();
    let mut acc = <T::C as num_traits::Zero>::zero();
    for (&sv, &cv) in s.iter().zip(c) {
        acc = acc + r(sv.up() * cv.up());
    }
    let tot = r(acc);
    for ((&sv, &cv), o) in s.iter().zip(c).zip(g.iter_mut()) {
        let su = sv.up();
        *o = T::down(r(su * cv.up()) - r(su * tot));
    }
}

fn vjp_typed<T: VjpFloat>(s: &Data, c: &Data, shape: &[usize]) -> Result<Data> {
    let n: usize = shape.iter().product();
    let len = shape.last().copied().unwrap_or(1);
    let mut buf = crate::buffer::HostBuffer::new(n * std::mem::size_of::<T>(), false)?;
    if n > 0 && len > 0 {
        let (s, c) = (&s.slice::<T>()[..n], &c.slice::<T>()[..n]);
        let g = &mut buf.as_mut_slice::<T>()[..n];
        if n >= PAR_THRESHOLD {
            let rows_per = (PAR_THRESHOLD / len).max(1) * len;
            g.par_chunks_mut(rows_per)
                .zip(s.par_chunks(rows_per).zip(c.par_chunks(rows_per)))
                .for_each(|(g, (s, c))| {
                    for ((g, s), c) in g.chunks_mut(len).zip(s.chunks(len)).zip(c.chunks(len)) {
                        vjp_row(s, c, g);
                    }
                });
        } else {
            for ((g, s), c) in g.chunks_mut(len).zip(s.chunks(len)).zip(c.chunks(len)) {
                vjp_row(s, c, g);
            }
        }
    }
    Ok(Data::row_contiguous(
        Arc::new(crate::buffer::Storage::Host(buf)),
        shape,
    ))
}

/// Softmax's vector-Jacobian product over the last axis, `g = s*c - s*sum(s*c)` per row,
/// of row-contiguous `s` (the softmax output) and `c` (the cotangent) of one floating
/// `dtype`: fresh row-contiguous data. Computes in f32 (f64 for f64), each step rounded
/// to half dtypes as the composed ops (multiply, sum, multiply, subtract) round.
pub fn softmax_vjp(s: &Data, c: &Data, shape: &[usize], dtype: Dtype) -> Result<Data> {
    crate::dispatch_float!(dtype, T => vjp_typed::<T>(s, c, shape), _ => Err(Error::Dtype(
        format!("softmax_vjp: {dtype} is not a floating dtype")
    )))
}
