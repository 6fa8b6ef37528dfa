//! Quantization kernels on the CPU: MLX's affine quantization (`quantize` / `dequantize`
//! with `bits` in 1..=8 packed as a little-endian bit stream into uint32 words per row),
//! the microscaling float modes (`mxfp4` / `mxfp8`: E2M1 / E4M3 elements with an E8M0
//! power-of-two scale per 32; `nvfp4`: E2M1 elements with an E4M3 scale per 16), and the
//! fused quantized matrix product, which dequantizes one weight row (or one column block)
//! at a time into a small per-thread buffer and never materialises the whole dequantized
//! matrix. Work is split over cores with rayon.
//!
//! The float modes reproduce MLX 0.32's CPU results bit for bit, including the roundings
//! of its composed graph: for float16 / bfloat16 inputs every step is rounded to the
//! input type, a group holding inf or NaN gets the scale byte MLX's integer conversions
//! leave (and a zero divisor), and E2M1 rounding is "nearest, ties to the smaller
//! magnitude" (MLX's arg-min over the code table).

use super::copy::gather_to_vec;
use super::strided::SendPtr;
use crate::array::Data;
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use crate::ops::quantized::QuantizationMode;
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

/// How the packed weights of a quantized product decode: affine (`scale * q + bias` per
/// group) or a float mode (`element * scale`, the scale byte decoded and rounded to the
/// product's type as MLX's kernel does).
pub enum QWeights<'a> {
    /// Affine: `bits`-bit levels, the biases' data (scales and biases share one dtype).
    Affine {
        /// Bits per element.
        bits: u32,
        /// The biases (shaped like the scales).
        biases: &'a Data,
    },
    /// A float mode (mxfp4, mxfp8, nvfp4; scales are uint8).
    Fp(QuantizationMode),
}

/// The per-call decoder of packed weight rows.
enum Decoder<A> {
    Affine {
        bits: u32,
        s: Vec<A>,
        b: Vec<A>,
    },
    Fp {
        bits: u32,
        s: Vec<u8>,
        stab: Vec<A>,
        etab: Vec<A>,
    },
}

impl<A: Acc> Decoder<A> {
    fn bits(&self) -> u32 {
        match self {
            Decoder::Affine { bits, .. } | Decoder::Fp { bits, .. } => *bits,
        }
    }

    /// Dequantize `out.len()` elements of packed row `row` (rows of `cols` elements, word
    /// slice `words` already positioned at column `c0`, a multiple of `group_size`) into
    /// `out`; `vals` is scratch of at least `out.len()`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn fill(
        &self,
        words: &[u32],
        row: usize,
        cols: usize,
        c0: usize,
        group_size: usize,
        out: &mut [A],
        vals: &mut [u32],
    ) {
        let groups = cols / group_size;
        let g0 = row * groups + c0 / group_size;
        match self {
            Decoder::Affine { bits, s, b } => {
                unpack_row(words, *bits, &mut vals[..out.len()]);
                for (gi, (seg, v)) in out
                    .chunks_mut(group_size)
                    .zip(vals.chunks(group_size))
                    .enumerate()
                {
                    let (sc, bs) = (s[g0 + gi], b[g0 + gi]);
                    for (d, &q) in seg.iter_mut().zip(v) {
                        *d = sc * A::from_f64(q as f64) + bs;
                    }
                }
            }
            Decoder::Fp {
                bits,
                s,
                stab,
                etab,
            } => {
                let per = (32 / bits) as usize;
                let mask = (1u32 << *bits) - 1;
                for (gi, seg) in out.chunks_mut(group_size).enumerate() {
                    let sc = stab[s[g0 + gi] as usize];
                    let wg = &words[gi * group_size / per..];
                    for (w, d) in wg.iter().zip(seg.chunks_mut(per)) {
                        let mut w = *w;
                        for o in d.iter_mut() {
                            *o = etab[(w & mask) as usize] * sc;
                            w >>= *bits;
                        }
                    }
                }
            }
        }
    }
}

/// The fused quantized product `x @ dequantize(w).T` (`transpose`) or `x @ dequantize(w)`,
/// accumulated in `A`. `x` is `batch × m × k` (any layout, any dtype); `wq` and `scales`
/// (and an affine format's biases) are `[batch ×] n × (k*bits/32)` / `n × k/group`
/// (transpose) or `[batch ×] k × (n*bits/32)` / `k × n/group`. The output is
/// row-contiguous `batch × m × n` of `out_dtype`.
#[allow(clippy::too_many_arguments)]
pub fn quantized_matmul<A: Acc>(
    x: (&Data, &[usize], Dtype),
    wq: (&Data, &[usize]),
    scales: (&Data, &[usize], Dtype),
    format: QWeights<'_>,
    sh: QmmShape,
    transpose: bool,
    group_size: usize,
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
    let dec: Decoder<A> = match format {
        QWeights::Affine { bits, biases } => Decoder::Affine {
            bits,
            s: gather_to_vec::<A>(scales.0, scales.1, scales.2),
            b: gather_to_vec::<A>(biases, scales.1, scales.2),
        },
        QWeights::Fp(mode) => Decoder::Fp {
            bits: mode.defaults().1,
            s: gather_to_vec::<u8>(scales.0, scales.1, Dtype::Uint8),
            stab: fp_scale_table::<A>(mode, out_dtype),
            etab: fp_element_table::<A>(mode),
        },
    };
    let bits = dec.bits();
    let mut out = vec![A::zero(); batch * m * n];
    let wb = |i: usize| if w_batched { i } else { 0 };
    let work = batch * m * n * k;
    if transpose {
        // w rows are output columns: dequantize a block of rows, dot with every x row.
        const NB: usize = 8;
        let kp = k * bits as usize / 32;
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
                let row = wi * n + r;
                let base = row * kp;
                dec.fill(&q[base..base + kp], row, k, 0, group_size, wr, &mut vals);
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
                let row = wi * k + kk;
                let base = row * np + blk * wpb;
                dec.fill(
                    &q[base..base + wpb],
                    row,
                    n,
                    c0,
                    group_size,
                    &mut seg,
                    &mut vals,
                );
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

// ---------------------------------------------------------------------------------------
// Microscaling float modes (mxfp4, mxfp8, nvfp4).
// ---------------------------------------------------------------------------------------

/// The values of the 16 E2M1 (fp4) codes: sign bit 3, two exponent bits, one mantissa bit.
pub const FP4_VALUES: [f32; 16] = [
    0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0,
];

/// The value of an E4M3 (fp8, "fn" variant: no infinities, `0x7F`/`0xFF` are NaN) byte.
#[inline]
pub fn fp8_e4m3_value(c: u8) -> f32 {
    let sign = if c & 0x80 != 0 { -1.0f32 } else { 1.0 };
    let e = ((c >> 3) & 0xF) as i32;
    let m = (c & 7) as f32;
    if c & 0x7F == 0x7F {
        return f32::NAN.copysign(sign);
    }
    let v = if e == 0 {
        m * (2.0f32).powi(-9)
    } else {
        (1.0 + m / 8.0) * (2.0f32).powi(e - 7)
    };
    sign * v
}

/// The E4M3 byte of `x` as MLX's `to_fp8` makes it: round to nearest even, saturate at
/// ±448 (NaN and infinities too, keeping their sign bit).
#[inline]
pub fn fp8_e4m3_code(x: f64) -> u8 {
    let sign = if x.is_sign_negative() { 0x80u8 } else { 0 };
    let a = x.abs();
    if a.is_nan() || a > 448.0 {
        return 0x7E | sign;
    }
    if a < 1.0 / 64.0 {
        // Subnormals: multiples of 2^-9 (8 × 2^-9 is the smallest normal, code 8).
        return (a * 512.0).round_ties_even() as u8 | sign;
    }
    let e = a.log2().floor() as i32;
    // log2 may be off by one ulp at powers of two: fix the exponent exactly.
    let e = if (2f64).powi(e) > a {
        e - 1
    } else if (2f64).powi(e + 1) <= a {
        e + 1
    } else {
        e
    };
    let m = (a / (2f64).powi(e) - 1.0) * 8.0;
    let code = ((e + 7) * 8) as f64 + m.round_ties_even();
    (code.min(126.0) as u8) | sign
}

/// The E8M0 scale byte's value `2^(s - 127)` (`s = 255` is `2^128`, infinite in f32).
#[inline]
pub fn e8m0_value(s: u8) -> f64 {
    (2f64).powi(s as i32 - 127)
}

/// MLX's E2M1 code of `x` (already divided by its group's scale): the nearest of the 16
/// values with distances computed by `dist` (the arithmetic of the input type), ties and
/// NaN going to the first code in table order — so ties round to the smaller magnitude,
/// values in `[-0.25, 0.25]` and non-finite values give code 0.
#[inline]
fn fp4_code_with(x: f64, dist: impl Fn(f64, f64) -> f64) -> u8 {
    let a = x.abs();
    if !a.is_finite() {
        return 0;
    }
    if a <= 8.0 {
        // Differences with the table values are exact here: thresholds give the arg-min.
        let m: u8 = if a <= 0.25 {
            return 0;
        } else if a <= 0.75 {
            1
        } else if a <= 1.25 {
            2
        } else if a <= 1.75 {
            3
        } else if a <= 2.5 {
            4
        } else if a <= 3.5 {
            5
        } else if a <= 5.0 {
            6
        } else {
            7
        };
        return if x < 0.0 { m | 8 } else { m };
    }
    // Far out the rounded distances may tie: take the arg-min as MLX does.
    let mut best = 0u8;
    let mut bd = dist(x, FP4_VALUES[0] as f64);
    for (j, &v) in FP4_VALUES.iter().enumerate().skip(1) {
        let d = dist(x, v as f64);
        if d < bd {
            bd = d;
            best = j as u8;
        }
    }
    best
}

/// How MLX rounds the intermediate results of the float-mode graph for an input type
/// (float16 / bfloat16 ops are computed in f32 and rounded; bfloat16 makes NaN positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// float32 (no extra rounding).
    F32,
    /// float16.
    F16,
    /// bfloat16.
    Bf16,
}

impl Rounding {
    /// The rounding of `dtype` (float64 is handled separately).
    pub fn of(dtype: Dtype) -> Rounding {
        match dtype {
            Dtype::Float16 => Rounding::F16,
            Dtype::Bfloat16 => Rounding::Bf16,
            _ => Rounding::F32,
        }
    }

    /// `x` rounded to the type and back.
    #[inline(always)]
    pub fn r(self, x: f32) -> f32 {
        match self {
            Rounding::F32 => x,
            Rounding::F16 => half::f16::from_f32(x).to_f32(),
            Rounding::Bf16 => {
                if x.is_nan() {
                    f32::NAN
                } else {
                    half::bf16::from_f32(x).to_f32()
                }
            }
        }
    }

    /// `x` (exact in f64) rounded once to the type.
    #[inline(always)]
    fn r64(self, x: f64) -> f32 {
        match self {
            Rounding::F32 => x as f32,
            Rounding::F16 => half::f16::from_f64(x).to_f32(),
            Rounding::Bf16 => {
                if x.is_nan() {
                    f32::NAN
                } else {
                    half::bf16::from_f64(x).to_f32()
                }
            }
        }
    }
}

/// MLX's conversion of a float to uint8 on x86: truncate to int32 (NaN and out-of-range
/// values give `i32::MIN`), keep the low byte.
#[inline]
fn u8_of(f: f64) -> u8 {
    if f.is_nan() || !(-2147483648.0..2147483648.0).contains(&f) {
        0
    } else {
        (f as i32) as u8
    }
}

/// `⌈log2 k⌉` for a positive finite f32, exactly.
#[inline]
fn ceil_log2_f32(k: f32) -> i32 {
    let b = k.to_bits();
    let exp = ((b >> 23) & 0xFF) as i32;
    let frac = b & 0x7F_FFFF;
    if exp == 0 {
        // Subnormal: k = frac · 2^-149.
        (32 - (frac - 1).leading_zeros()) as i32 - 149
    } else {
        exp - 127 + (frac != 0) as i32
    }
}

/// The E8M0 scale of a group with largest magnitude `amax` (an f32 holding a value of the
/// input type) for element maximum `maxval`, as MLX's graph computes it in that type:
/// the exponent `⌈log2(amax / maxval)⌉` (0 for an all-zero group), the stored byte
/// `exponent + 127` (wrapping like MLX's uint8 conversion; a group with inf or NaN gets
/// the byte MLX's int32 conversion of the non-finite exponent leaves) and the divisor
/// `2^exponent` rounded to the type (zero for a non-finite group).
#[inline]
fn mx_scale_f32(amax: f32, maxval: f32, rd: Rounding) -> (u8, f32) {
    let k = rd.r(amax / maxval);
    let ac: f32 = if k == 0.0 {
        0.0
    } else if !k.is_finite() {
        // int32(NaN or inf) is INT_MIN; 2^INT_MIN = 0 < k holds for +inf only.
        let aa = if k > 0.0 { i32::MIN + 1 } else { i32::MIN };
        rd.r(aa as f32)
    } else {
        rd.r(ceil_log2_f32(k) as f32)
    };
    let div = if ac < -1100.0 {
        0.0
    } else {
        rd.r64((2f64).powi(ac as i32))
    };
    (u8_of(rd.r(ac + 127.0) as f64), div)
}

/// [`mx_scale_f32`] for float64 inputs: the exponent is `round(log2 k)`, raised by one
/// when `2^e < k` compared in float32 (as MLX's graph casts for the comparison).
#[inline]
fn mx_scale_f64(amax: f64, maxval: f64) -> (u8, f64) {
    let k = amax / maxval;
    let ac: f64 = if k == 0.0 {
        0.0
    } else {
        let s = k.log2().round_ties_even();
        let ti = if s.is_finite() && s.abs() < 2147483648.0 {
            s as i32
        } else {
            i32::MIN
        };
        let v = if ti < -200 {
            0.0f32
        } else if ti > 200 {
            f32::INFINITY
        } else {
            (2f64).powi(ti) as f32
        };
        let aa = if v < k as f32 { ti.wrapping_add(1) } else { ti };
        aa as f64
    };
    let div = if ac < -1100.0 {
        0.0
    } else {
        (2f64).powi(ac as i32)
    };
    (u8_of(ac + 127.0), div)
}

/// Pack 4-bit codes, 8 per uint32 word, least significant nibble first.
#[inline]
fn pack4(codes: &[u8], words: &mut [u32]) {
    for (w, c) in words.iter_mut().zip(codes.chunks_exact(8)) {
        *w = c
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &v)| acc | ((v as u32) << (4 * i)));
    }
}

/// Pack bytes, 4 per uint32 word, least significant byte first.
#[inline]
fn pack8(codes: &[u8], words: &mut [u32]) {
    for (w, c) in words.iter_mut().zip(codes.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
}

/// Quantize one group (`w`, values of the input type held in f32) in a float mode:
/// returns the scale byte and writes the element codes.
fn fp_group_f32(
    w: &[f32],
    mode: QuantizationMode,
    rd: Rounding,
    gscale: Option<f32>,
    codes: &mut [u8],
) -> u8 {
    let mut amax = 0.0f32;
    let mut nan = false;
    for &v in w {
        nan |= v.is_nan();
        amax = amax.max(v.abs());
    }
    if nan {
        amax = f32::NAN;
    }
    let dist = |x: f64, v: f64| rd.r(rd.r(x as f32 - v as f32).abs()) as f64;
    match mode {
        QuantizationMode::Nvfp4 => {
            // Scale: E4M3 of amax / 6 (times 448·6 / global_scale); elements divided by
            // the decoded scale in the input type, then times that factor in f32.
            let l = gscale.map_or(1.0f32, |g| 2688.0f32 / g);
            let i = rd.r(amax / 6.0);
            let sb = fp8_e4m3_code((i * l) as f64);
            let p = rd.r(fp8_e4m3_value(sb));
            let dist32 = |x: f64, v: f64| ((x as f32 - v as f32).abs()) as f64;
            for (c, &v) in codes.iter_mut().zip(w) {
                let x = rd.r(v / p) * l;
                *c = fp4_code_with(x as f64, dist32);
            }
            sb
        }
        QuantizationMode::Mxfp4 => {
            let (sb, div) = mx_scale_f32(amax, 6.0, rd);
            for (c, &v) in codes.iter_mut().zip(w) {
                *c = fp4_code_with(rd.r(v / div) as f64, dist);
            }
            sb
        }
        _ => {
            let (sb, div) = mx_scale_f32(amax, 448.0, rd);
            for (c, &v) in codes.iter_mut().zip(w) {
                *c = fp8_e4m3_code(rd.r(v / div) as f64);
            }
            sb
        }
    }
}

/// [`fp_group_f32`] for float64 inputs (computed in f64; MLX 0.32 reads float64 buffers
/// as float32 in its fp8 conversions, mlxr converts the values).
fn fp_group_f64(w: &[f64], mode: QuantizationMode, gscale: Option<f32>, codes: &mut [u8]) -> u8 {
    let mut amax = 0.0f64;
    let mut nan = false;
    for &v in w {
        nan |= v.is_nan();
        amax = amax.max(v.abs());
    }
    if nan {
        amax = f64::NAN;
    }
    let dist = |x: f64, v: f64| (x - v).abs();
    match mode {
        QuantizationMode::Nvfp4 => {
            let l = gscale.map_or(1.0f64, |g| (2688.0f32 / g) as f64);
            let sb = fp8_e4m3_code(amax / 6.0 * l);
            let p = fp8_e4m3_value(sb) as f64;
            for (c, &v) in codes.iter_mut().zip(w) {
                *c = fp4_code_with(v / p * l, dist);
            }
            sb
        }
        QuantizationMode::Mxfp4 => {
            let (sb, div) = mx_scale_f64(amax, 6.0);
            for (c, &v) in codes.iter_mut().zip(w) {
                *c = fp4_code_with(v / div, dist);
            }
            sb
        }
        _ => {
            let (sb, div) = mx_scale_f64(amax, 448.0);
            for (c, &v) in codes.iter_mut().zip(w) {
                *c = fp8_e4m3_code(v / div);
            }
            sb
        }
    }
}

/// Quantization of row-contiguous `w` (`rows × k`, any float dtype) in a float mode
/// (`mxfp4`, `mxfp8`, `nvfp4`; `global_scale` for nvfp4 only): returns the packed codes
/// (`rows × k*bits/32`, uint32) and the scale bytes (`rows × k/group_size`, uint8).
pub fn fp_quantize(
    w: &Data,
    shape: &[usize],
    dtype: Dtype,
    mode: QuantizationMode,
    global_scale: Option<f32>,
) -> Result<(Data, Data)> {
    let (group_size, bits) = mode.defaults();
    let k = *shape.last().expect("matrix");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let kp = k * bits as usize / 32;
    let groups = k / group_size;
    let mut q = vec![0u32; rows * kp];
    let mut scales = vec![0u8; rows * groups];
    if rows * k > 0 {
        let par = rows * k >= super::PAR_THRESHOLD;
        if dtype == Dtype::Float64 {
            let wv: Vec<f64> = gather_to_vec::<f64>(w, shape, dtype);
            let body = |((row, qrow), srow): ((&[f64], &mut [u32]), &mut [u8])| {
                let mut codes = vec![0u8; k];
                for (g, s) in srow.iter_mut().enumerate() {
                    let r = g * group_size..(g + 1) * group_size;
                    *s = fp_group_f64(&row[r.clone()], mode, global_scale, &mut codes[r]);
                }
                if bits == 4 {
                    pack4(&codes, qrow)
                } else {
                    pack8(&codes, qrow)
                }
            };
            if par {
                wv.par_chunks(k)
                    .zip(q.par_chunks_mut(kp))
                    .zip(scales.par_chunks_mut(groups))
                    .for_each(body);
            } else {
                wv.chunks(k)
                    .zip(q.chunks_mut(kp))
                    .zip(scales.chunks_mut(groups))
                    .for_each(body);
            }
        } else {
            let rd = Rounding::of(dtype);
            let wv: Vec<f32> = gather_to_vec::<f32>(w, shape, dtype);
            let body = |((row, qrow), srow): ((&[f32], &mut [u32]), &mut [u8])| {
                let mut codes = vec![0u8; k];
                for (g, s) in srow.iter_mut().enumerate() {
                    let r = g * group_size..(g + 1) * group_size;
                    *s = fp_group_f32(&row[r.clone()], mode, rd, global_scale, &mut codes[r]);
                }
                if bits == 4 {
                    pack4(&codes, qrow)
                } else {
                    pack8(&codes, qrow)
                }
            };
            if par {
                wv.par_chunks(k)
                    .zip(q.par_chunks_mut(kp))
                    .zip(scales.par_chunks_mut(groups))
                    .for_each(body);
            } else {
                wv.chunks(k)
                    .zip(q.chunks_mut(kp))
                    .zip(scales.chunks_mut(groups))
                    .for_each(body);
            }
        }
    }
    let mut pshape = shape.to_vec();
    *pshape.last_mut().expect("matrix") = kp;
    let mut sshape = shape.to_vec();
    *sshape.last_mut().expect("matrix") = groups;
    Ok((
        data_from(&q, &pshape, Dtype::Uint32)?,
        data_from(&scales, &sshape, Dtype::Uint8)?,
    ))
}

/// The decoded value of every scale byte of a float mode, rounded to `dtype` (MLX
/// converts the scale to the input type before using it).
fn fp_scale_table<A: Acc>(mode: QuantizationMode, dtype: Dtype) -> Vec<A> {
    (0..=255u8)
        .map(|s| {
            let v = if mode == QuantizationMode::Nvfp4 {
                fp8_e4m3_value(s) as f64
            } else {
                e8m0_value(s)
            };
            let v = if dtype == Dtype::Float64 {
                v
            } else {
                Rounding::of(dtype).r64(v) as f64
            };
            A::from_f64(v)
        })
        .collect()
}

/// The decoded value of every element code of a float mode (16 for fp4, 256 for fp8).
fn fp_element_table<A: Acc>(mode: QuantizationMode) -> Vec<A> {
    if mode == QuantizationMode::Mxfp8 {
        (0..=255u8)
            .map(|c| A::from_f64(fp8_e4m3_value(c) as f64))
            .collect()
    } else {
        FP4_VALUES.iter().map(|&v| A::from_f64(v as f64)).collect()
    }
}

/// Dequantization in a float mode: `element * scale` for packed `wq` (`rows × k*bits/32`)
/// and scale bytes (`rows × k/group_size`), the scale rounded to `out_dtype` first and the
/// product rounded to it (as MLX). With `global_scale` (nvfp4) the value is
/// `element * (scale * (global_scale / 2688))` in `out_dtype` (float32 or float64).
#[allow(clippy::too_many_arguments)]
pub fn fp_dequantize(
    wq: &Data,
    wq_shape: &[usize],
    scales: &Data,
    s_shape: &[usize],
    out_shape: &[usize],
    out_dtype: Dtype,
    mode: QuantizationMode,
    global_scale: Option<f32>,
) -> Result<Data> {
    let (group_size, bits) = mode.defaults();
    let k = *out_shape.last().expect("matrix");
    let rows: usize = out_shape[..out_shape.len() - 1].iter().product();
    let kp = *wq_shape.last().expect("matrix");
    let groups = k / group_size;
    let q: Vec<u32> = gather_to_vec::<u32>(wq, wq_shape, Dtype::Uint32);
    let s: Vec<u8> = gather_to_vec::<u8>(scales, s_shape, Dtype::Uint8);
    let out = Data::alloc(out_shape, out_dtype)?;
    if rows * k == 0 {
        return Ok(out);
    }
    // Every (scale byte, code) product is computed once per row group from tables.
    let elems: Vec<f64> = fp_element_table::<f64>(mode);
    let stab: Vec<f64> = match global_scale {
        None => fp_scale_table::<f64>(mode, out_dtype),
        Some(g) if out_dtype == Dtype::Float64 => {
            let fac = g as f64 / 2688.0;
            (0..=255u8)
                .map(|b| fp8_e4m3_value(b) as f64 * fac)
                .collect()
        }
        Some(g) => {
            let fac = g / 2688.0;
            (0..=255u8)
                .map(|b| (fp8_e4m3_value(b) * fac) as f64)
                .collect()
        }
    };
    dispatch_float!(out_dtype, T => {
        let p = SendPtr(out.host().as_mut_ptr() as *mut T);
        let off = out.offset;
        let rd = Rounding::of(out_dtype);
        let row = |r: usize| {
            let p = p;
            // SAFETY: each row writes its own disjoint range of the fresh output.
            let o = unsafe { std::slice::from_raw_parts_mut(p.ptr().add(off + r * k), k) };
            let words = &q[r * kp..(r + 1) * kp];
            for g in 0..groups {
                let sc = stab[s[r * groups + g] as usize];
                let seg = &mut o[g * group_size..(g + 1) * group_size];
                let wseg = &words[g * group_size * bits as usize / 32..];
                for (j, d) in seg.iter_mut().enumerate() {
                    let code = if bits == 4 {
                        (wseg[j / 8] >> (4 * (j % 8))) & 0xF
                    } else {
                        (wseg[j / 4] >> (8 * (j % 4))) & 0xFF
                    };
                    let v = elems[code as usize] * sc;
                    *d = if out_dtype == Dtype::Float64 {
                        T::from_f64(v)
                    } else {
                        // The product is exact in f32; round it once to the output type
                        // (bfloat16 NaN positive, as MLX).
                        T::from_f64(rd.r(v as f32) as f64)
                    };
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
