//! Quantization kernels on the CPU: MLX's affine quantization (`quantize` / `dequantize`
//! with `bits` in 1..=8 packed as a little-endian bit stream into uint32 words per row) and
//! the fused quantized matrix product, which dequantizes one weight row (or one column
//! block) at a time into a small per-thread buffer and never materialises the whole
//! dequantized matrix. Work is split over cores with rayon.

use super::copy::gather_to_vec;
use super::strided::SendPtr;
use crate::array::Data;
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use crate::{dispatch_all, dispatch_float};
use rayon::prelude::*;

/// Unpack `out.len()` values of `bits` bits from the bit stream `words` (element `i`
/// occupies bits `i*bits .. (i+1)*bits` of the stream, word 0's least significant bit
/// first).
#[inline]
pub fn unpack_row(words: &[u32], bits: u32, out: &mut [u32]) {
    let mask = (1u64 << bits) - 1;
    let mut buf = 0u64;
    let mut have = 0u32;
    let mut wi = 0usize;
    for o in out.iter_mut() {
        if have < bits {
            buf |= (words[wi] as u64) << have;
            wi += 1;
            have += 32;
        }
        *o = (buf & mask) as u32;
        buf >>= bits;
        have -= bits;
    }
}

/// Pack `vals` (each below `2^bits`) into the bit stream layout read by [`unpack_row`].
#[inline]
fn pack_row(vals: &[u32], bits: u32, words: &mut [u32]) {
    let mut buf = 0u64;
    let mut have = 0u32;
    let mut wi = 0usize;
    for &v in vals {
        buf |= (v as u64) << have;
        have += bits;
        if have >= 32 {
            words[wi] = buf as u32;
            wi += 1;
            buf >>= 32;
            have -= 32;
        }
    }
    if have > 0 {
        words[wi] = buf as u32;
    }
}

/// The affine parameters of one group, as MLX computes them (in float32, or float64 for
/// float64 inputs): the scale and bias such that `w ≈ scale * q + bias` with `q` in
/// `0..2^bits`, the bias being an exactly representable edge of the group (its min or
/// max, chosen by magnitude) when possible.
#[inline]
pub fn affine_params<A: Acc>(group: &[A], bits: u32) -> (A, A) {
    let n_bins = A::from_f64(((1u32 << bits) - 1) as f64);
    let eps = A::from_f64(1e-7f32 as f64);
    let mut w_max = A::neg_infinity();
    let mut w_min = A::infinity();
    for &v in group {
        w_max = w_max.max(v);
        w_min = w_min.min(v);
    }
    if bits == 1 {
        return ((w_max - w_min).max(eps), w_min);
    }
    let mask = w_min.abs() > w_max.abs();
    let mut scale = ((w_max - w_min) / n_bins).max(eps);
    if !mask {
        scale = -scale;
    }
    let edge = if mask { w_min } else { w_max };
    let q0 = A::rint(edge / scale);
    if q0 != A::zero() {
        (edge / q0, edge)
    } else {
        (scale, A::zero())
    }
}

/// Affine quantization of row-contiguous `w` (`rows × k`, any float dtype) in groups of
/// `group_size` along each row: returns the packed words (`rows × k*bits/32`, uint32) and
/// the scales and biases (`rows × k/group_size`, in `w`'s dtype).
pub fn affine_quantize(
    w: &Data,
    shape: &[usize],
    dtype: Dtype,
    group_size: usize,
    bits: u32,
) -> Result<(Data, Data, Data)> {
    if dtype == Dtype::Float64 {
        affine_quantize_in::<f64>(w, shape, dtype, group_size, bits)
    } else {
        affine_quantize_in::<f32>(w, shape, dtype, group_size, bits)
    }
}

/// [`affine_quantize`] computing in `A`.
fn affine_quantize_in<A: Acc>(
    w: &Data,
    shape: &[usize],
    dtype: Dtype,
    group_size: usize,
    bits: u32,
) -> Result<(Data, Data, Data)> {
    let k = *shape.last().expect("matrix");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let wv: Vec<A> = gather_to_vec::<A>(w, shape, dtype);
    let kp = k * bits as usize / 32;
    let groups = k / group_size;
    let n_bins = A::from_f64(((1u32 << bits) - 1) as f64);
    let mut q = vec![0u32; rows * kp];
    let mut scales = vec![A::zero(); rows * groups];
    let mut biases = vec![A::zero(); rows * groups];
    type Item<'a, A> = (((&'a [A], &'a mut [u32]), &'a mut [A]), &'a mut [A]);
    let body = |(((row, qrow), srow), brow): Item<'_, A>| {
        let mut vals = vec![0u32; k];
        for g in 0..groups {
            let grp = &row[g * group_size..(g + 1) * group_size];
            let (s, b) = affine_params(grp, bits);
            srow[g] = s;
            brow[g] = b;
            for (v, &x) in vals[g * group_size..].iter_mut().zip(grp) {
                let r = A::rint((x - b) / s);
                *v = r.max(A::zero()).min(n_bins).to_f64() as u32;
            }
        }
        pack_row(&vals, bits, qrow);
    };
    if k > 0 && groups > 0 {
        if rows * k >= super::PAR_THRESHOLD {
            wv.par_chunks(k)
                .zip(q.par_chunks_mut(kp.max(1)))
                .zip(scales.par_chunks_mut(groups))
                .zip(biases.par_chunks_mut(groups))
                .for_each(body);
        } else {
            wv.chunks(k)
                .zip(q.chunks_mut(kp.max(1)))
                .zip(scales.chunks_mut(groups))
                .zip(biases.chunks_mut(groups))
                .for_each(body);
        }
    }
    let mut pshape = shape.to_vec();
    *pshape.last_mut().expect("matrix") = kp;
    let mut sshape = shape.to_vec();
    *sshape.last_mut().expect("matrix") = groups;
    Ok((
        data_from(&q, &pshape, Dtype::Uint32)?,
        data_from(&scales, &sshape, dtype)?,
        data_from(&biases, &sshape, dtype)?,
    ))
}

/// Floating types the quantization kernels compute in (f32, or f64 for float64).
pub trait Acc: Element + num_traits::Float + std::iter::Sum {
    /// Round half to even.
    fn rint(self) -> Self;
}
impl Acc for f32 {
    #[inline(always)]
    fn rint(self) -> Self {
        self.round_ties_even()
    }
}
impl Acc for f64 {
    #[inline(always)]
    fn rint(self) -> Self {
        self.round_ties_even()
    }
}

/// Row-contiguous data of `dtype` holding `v` converted element by element.
fn data_from<S: Element>(v: &[S], shape: &[usize], dtype: Dtype) -> Result<Data> {
    let out = Data::alloc(shape, dtype)?;
    dispatch_all!(dtype, T => {
        let p = out.host().as_mut_ptr() as *mut T;
        // SAFETY: fresh row-contiguous storage of v.len() elements of T.
        let d = unsafe { std::slice::from_raw_parts_mut(p.add(out.offset), v.len()) };
        d.iter_mut().zip(v).for_each(|(d, &s)| *d = s.cast());
    });
    Ok(out)
}

/// Affine dequantization: `w = scale * q + bias` for packed `wq` (`rows × k*bits/32`) and
/// `scales`/`biases` (`rows × k/group_size`), computed with the output type's rounding
/// after the product and after the sum (as MLX). `out_shape` is `[.., rows-shape, k]`.
#[allow(clippy::too_many_arguments)]
pub fn affine_dequantize(
    wq: &Data,
    wq_shape: &[usize],
    scales: &Data,
    biases: &Data,
    s_shape: &[usize],
    s_dtype: Dtype,
    out_shape: &[usize],
    out_dtype: Dtype,
    group_size: usize,
    bits: u32,
) -> Result<Data> {
    let k = *out_shape.last().expect("matrix");
    let rows: usize = out_shape[..out_shape.len() - 1].iter().product();
    let kp = *wq_shape.last().expect("matrix");
    let groups = k / group_size;
    let q: Vec<u32> = gather_to_vec::<u32>(wq, wq_shape, Dtype::Uint32);
    let s: Vec<f64> = gather_to_vec::<f64>(scales, s_shape, s_dtype);
    let b: Vec<f64> = gather_to_vec::<f64>(biases, s_shape, s_dtype);
    let out = Data::alloc(out_shape, out_dtype)?;
    if rows * k == 0 {
        return Ok(out);
    }
    dispatch_float!(out_dtype, T => {
        let p = SendPtr(out.host().as_mut_ptr() as *mut T);
        let off = out.offset;
        let row = |r: usize| {
            let p = p;
            let mut vals = vec![0u32; k];
            unpack_row(&q[r * kp..(r + 1) * kp], bits, &mut vals);
            // SAFETY: each row writes its own disjoint range of the fresh output.
            let o = unsafe { std::slice::from_raw_parts_mut(p.ptr().add(off + r * k), k) };
            for g in 0..groups {
                let (sc, bi) = (s[r * groups + g], b[r * groups + g]);
                for j in g * group_size..(g + 1) * group_size {
                    let prod = T::from_f64(sc * vals[j] as f64).to_f64();
                    o[j] = T::from_f64(prod + bi);
                }
            }
        };
        if rows * k >= super::PAR_THRESHOLD {
            (0..rows).into_par_iter().for_each(row);
        } else {
            (0..rows).for_each(row);
        }
    }, _ => return Err(Error::Dtype(format!("[dequantize] unsupported output type {out_dtype:?}"))));
    Ok(out)
}

/// The shapes of one quantized product: `batch` independent products of `x` (`m × k`) with
/// the quantized `w`; `w_batched` says whether `w` (and its scales/biases) has one matrix
/// per batch entry or one shared matrix.
#[derive(Debug, Clone, Copy)]
pub struct QmmShape {
    /// Number of batch entries.
    pub batch: usize,
    /// Rows of `x`.
    pub m: usize,
    /// Contraction length.
    pub k: usize,
    /// Columns of the output.
    pub n: usize,
    /// Whether `w` has a matrix per batch entry.
    pub w_batched: bool,
}

/// The fused quantized product `x @ dequantize(w).T` (`transpose`) or `x @ dequantize(w)`,
/// accumulated in `A`. `x` is `batch × m × k` (any layout, any dtype); `wq`, `scales`,
/// `biases` are `[batch ×] n × (k*bits/32)` / `n × k/group` (transpose) or
/// `[batch ×] k × (n*bits/32)` / `k × n/group`. The output is row-contiguous
/// `batch × m × n` of `out_dtype`.
#[allow(clippy::too_many_arguments)]
pub fn quantized_matmul<A: Acc>(
    x: (&Data, &[usize], Dtype),
    wq: (&Data, &[usize]),
    scales: (&Data, &[usize], Dtype),
    biases: &Data,
    sh: QmmShape,
    transpose: bool,
    group_size: usize,
    bits: u32,
    out_dtype: Dtype,
) -> Result<Data> {
    let QmmShape {
        batch,
        m,
        k,
        n,
        w_batched,
    } = sh;
    let xv: Vec<A> = gather_to_vec::<A>(x.0, x.1, x.2);
    let q: Vec<u32> = gather_to_vec::<u32>(wq.0, wq.1, Dtype::Uint32);
    let s: Vec<A> = gather_to_vec::<A>(scales.0, scales.1, scales.2);
    let b: Vec<A> = gather_to_vec::<A>(biases, scales.1, scales.2);
    let mut out = vec![A::zero(); batch * m * n];
    let wb = |i: usize| if w_batched { i } else { 0 };
    let work = batch * m * n * k;
    if transpose {
        // w rows are output columns: dequantize a block of rows, dot with every x row.
        const NB: usize = 8;
        let kp = k * bits as usize / 32;
        let groups = k / group_size;
        let blocks = n.div_ceil(NB);
        let op = SendPtr(out.as_mut_ptr());
        let task = |t: usize| {
            let op = op;
            let (bi, blk) = (t / blocks, t % blocks);
            let (n0, n1) = (blk * NB, ((blk + 1) * NB).min(n));
            let wi = wb(bi);
            let mut vals = vec![0u32; k];
            let mut wrow = vec![A::zero(); (n1 - n0) * k];
            for (r, wr) in (n0..n1).zip(wrow.chunks_mut(k)) {
                let base = (wi * n + r) * kp;
                unpack_row(&q[base..base + kp], bits, &mut vals);
                let sb = (wi * n + r) * groups;
                for g in 0..groups {
                    let (sc, bs) = (s[sb + g], b[sb + g]);
                    for j in g * group_size..(g + 1) * group_size {
                        wr[j] = sc * A::from_f64(vals[j] as f64) + bs;
                    }
                }
            }
            for i in 0..m {
                let xr = &xv[(bi * m + i) * k..][..k];
                for (r, wr) in (n0..n1).zip(wrow.chunks(k)) {
                    let d = dot(xr, wr);
                    // SAFETY: each task writes its own (batch, column block) cells.
                    unsafe { *op.ptr().add((bi * m + i) * n + r) = d };
                }
            }
        };
        let tasks = batch * blocks;
        if work >= super::PAR_THRESHOLD {
            (0..tasks).into_par_iter().for_each(task);
        } else {
            (0..tasks).for_each(task);
        }
    } else {
        // w rows are contraction steps: per column block, dequantize one row segment per
        // step and accumulate its outer product with the x column.
        let cb = group_size;
        let np = n * bits as usize / 32;
        let groups = n / group_size;
        let blocks = n / cb;
        let wpb = cb * bits as usize / 32;
        let op = SendPtr(out.as_mut_ptr());
        let task = |t: usize| {
            let op = op;
            let (bi, blk) = (t / blocks, t % blocks);
            let c0 = blk * cb;
            let wi = wb(bi);
            let mut vals = vec![0u32; cb];
            let mut seg = vec![A::zero(); cb];
            let mut acc = vec![A::zero(); m * cb];
            for kk in 0..k {
                let base = (wi * k + kk) * np + blk * wpb;
                unpack_row(&q[base..base + wpb], bits, &mut vals);
                let g = (wi * k + kk) * groups + blk;
                let (sc, bs) = (s[g], b[g]);
                for (d, &v) in seg.iter_mut().zip(&vals) {
                    *d = sc * A::from_f64(v as f64) + bs;
                }
                for i in 0..m {
                    let a = xv[(bi * m + i) * k + kk];
                    for (o, &w) in acc[i * cb..(i + 1) * cb].iter_mut().zip(&seg) {
                        *o = *o + a * w;
                    }
                }
            }
            for i in 0..m {
                for (j, &v) in acc[i * cb..(i + 1) * cb].iter().enumerate() {
                    // SAFETY: each task writes its own (batch, column block) cells.
                    unsafe { *op.ptr().add((bi * m + i) * n + c0 + j) = v };
                }
            }
        };
        let tasks = batch * blocks;
        if work >= super::PAR_THRESHOLD {
            (0..tasks).into_par_iter().for_each(task);
        } else {
            (0..tasks).for_each(task);
        }
    }
    data_from(&out, &[batch, m, n], out_dtype)
}

/// Dot product with eight independent partial sums (vectorises).
#[inline]
fn dot<A: Acc>(a: &[A], b: &[A]) -> A {
    let mut acc = [A::zero(); 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            acc[j] = acc[j] + x[j] * y[j];
        }
    }
    let mut s = acc.iter().copied().sum::<A>();
    for (x, y) in ra.iter().zip(rb) {
        s = s + *x * *y;
    }
    s
}
