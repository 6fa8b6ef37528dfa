//! Random-number kernels on the CPU: the threefry2x32 counter-based hash behind MLX's
//! splittable keys, random bits, and fused kernels mapping bits to MLX's distributions.
//!
//! The distribution kernels replay, element by element, the op sequence MLX 0.32 builds
//! (each step rounded to the output dtype as MLX's separate ops do; transcendental
//! functions computed in f32 with the same libm calls and the same erf / erfinv / exp
//! approximations MLX's CPU backend uses), so values match MLX bit for bit.

use super::strided::SendPtr;
use crate::array::Data;
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::{dispatch_float, Array, Dtype};
use rayon::prelude::*;

/// The threefry2x32 hash (20 rounds) of a 64-bit counter under a 64-bit key.
#[inline]
pub fn threefry2x32(key: [u32; 2], count: [u32; 2]) -> [u32; 2] {
    const ROT: [[u32; 4]; 2] = [[13, 15, 26, 6], [17, 29, 16, 24]];
    let ks = [key[0], key[1], key[0] ^ key[1] ^ 0x1BD1_1BDA];
    let mut x = [count[0].wrapping_add(ks[0]), count[1].wrapping_add(ks[1])];
    for i in 0..5usize {
        for &r in &ROT[i % 2] {
            x[0] = x[0].wrapping_add(x[1]);
            x[1] = x[1].rotate_left(r) ^ x[0];
        }
        x[0] = x[0].wrapping_add(ks[(i + 1) % 3]);
        x[1] = x[1]
            .wrapping_add(ks[(i + 2) % 3])
            .wrapping_add(i as u32 + 1);
    }
    x
}

/// Fill `nbytes` bytes at `out` with MLX's random bits for `key`: the bytes are the
/// little-endian words `w[0..ceil(nbytes/4)]`, where for `h = words/2` the pair
/// `(w[i], w[h + odd + i]) = threefry(key, (i, h + odd + i))` and, when the word count
/// is odd, `w[h] = threefry(key, (h, 0))[0]`.
pub fn fill_bits(key: [u32; 2], out: &mut [u8]) {
    let nbytes = out.len();
    let words = nbytes.div_ceil(4);
    let half = words / 2;
    let odd = words % 2;
    let put = |out: *mut u8, w: usize, v: u32| {
        let b = v.to_le_bytes();
        let n = (nbytes - 4 * w).min(4);
        // SAFETY: word `w` starts inside the buffer; at most the remaining bytes are written.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), out.add(4 * w), n) };
    };
    let p = SendPtr(out.as_mut_ptr());
    let body = |i: usize| {
        let p = p;
        let j = half + odd + i;
        let r = threefry2x32(key, [i as u32, j as u32]);
        put(p.0, i, r[0]);
        put(p.0, j, r[1]);
    };
    if half >= 1 << 14 {
        (0..half).into_par_iter().with_min_len(4096).for_each(body);
    } else {
        (0..half).for_each(body);
    }
    if odd == 1 {
        put(p.0, half, threefry2x32(key, [half as u32, 0])[0]);
    }
}

/// Read a key array (uint32, shape `[2]`).
pub fn key_value(key: &Array) -> Result<[u32; 2]> {
    if key.dtype() != Dtype::Uint32 {
        return Err(Error::Dtype(format!(
            "[bits] Expected key type uint32 but received {}.",
            key.dtype()
        )));
    }
    if key.shape() != [2] {
        return Err(Error::Shape(format!(
            "[bits] Expected key shape (2) but received {:?}.",
            key.shape()
        )));
    }
    let v = key.to_vec::<u32>()?;
    Ok([v[0], v[1]])
}

/// Random bits of `shape` with `width` bytes per element (uint8 / uint16 / uint32).
pub fn random_bits(key: &Array, shape: &[usize], dtype: Dtype) -> Result<Data> {
    let k = key_value(key)?;
    let out = Data::alloc(shape, dtype)?;
    let n: usize = shape.iter().product::<usize>() * dtype.size();
    // SAFETY: the fresh buffer holds exactly `n` bytes, all written by `fill_bits`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(out.host().as_mut_ptr(), n) };
    fill_bits(k, bytes);
    Ok(out)
}

// ---- MLX's float approximations -----------------------------------------------------

/// MLX's CPU `exp` (Cephes-style: 2^round(x·log2 e) times a degree-6 polynomial of the
/// remainder; exact 0 / inf beyond ±88).
#[inline]
pub fn mlx_exp(x0: f32) -> f32 {
    #[allow(clippy::approx_constant)] // MLX's literal, kept for bit-identical results
    let x = x0 * 1.442695f32;
    let ip = (x + 0.5).floor();
    let fp = x - ip;
    let mut p = 1.535336188319500e-4f32;
    p = p.mul_add(fp, 1.339887440266574e-3);
    p = p.mul_add(fp, 9.618437357674640e-3);
    p = p.mul_add(fp, 5.550332471162809e-2);
    p = p.mul_add(fp, 2.402264791363012e-1);
    p = p.mul_add(fp, 6.931472028550421e-1);
    p = p.mul_add(fp, 1.0);
    let e = ((ip as i32).wrapping_add(127) << 23) as u32;
    let r = if x0.is_nan() {
        x0
    } else {
        f32::from_bits(e) * p
    };
    if x0 > 88.0 {
        f32::INFINITY
    } else if x0 < -88.0 {
        0.0
    } else {
        r
    }
}

/// MLX's CPU `erf` (Abramowitz–Stegun 7.1.26 with MLX's `exp`).
#[inline]
pub fn mlx_erf(v: f32) -> f32 {
    let t = 1.0 / 0.3275911f32.mul_add(v.abs(), 1.0);
    let mut r = 1.061405429f32.mul_add(t, -1.453152027);
    r = r.mul_add(t, 1.421413741);
    r = r.mul_add(t, -0.284496736);
    r = r.mul_add(t, 0.254829592);
    let e = -mlx_exp(-v * v);
    let res = (e * t).mul_add(r, 1.0);
    if v > 0.0 {
        res
    } else {
        -res
    }
}

/// MLX's CPU `erfinv` (a single-precision minimax approximation in `log(1 - a²)`).
#[inline]
pub fn mlx_erfinv(a: f32) -> f32 {
    let t = a.mul_add(0.0 - a, 1.0).ln();
    let p = if t.abs() > 6.125 {
        let mut p = 3.03697567e-10f32;
        p = p.mul_add(t, 2.93243101e-8);
        p = p.mul_add(t, 1.22150334e-6);
        p = p.mul_add(t, 2.84108955e-5);
        p = p.mul_add(t, 3.93552968e-4);
        p = p.mul_add(t, 3.02698812e-3);
        p = p.mul_add(t, 4.83185798e-3);
        p = p.mul_add(t, -2.64646143e-1);
        p.mul_add(t, 8.40016484e-1)
    } else {
        let mut p = 5.43877832e-9f32;
        p = p.mul_add(t, 1.43285448e-7);
        p = p.mul_add(t, 1.22774793e-6);
        p = p.mul_add(t, 1.12963626e-7);
        p = p.mul_add(t, -5.61530760e-5);
        p = p.mul_add(t, -1.47697632e-4);
        p = p.mul_add(t, 2.31468678e-3);
        p = p.mul_add(t, 1.15392581e-2);
        p = p.mul_add(t, -2.32015476e-1);
        p.mul_add(t, 8.86226892e-1)
    };
    a * p
}

// ---- distributions ------------------------------------------------------------------

/// A floating output type of a distribution kernel: arithmetic is done exactly (in f64)
/// and rounded to the type after every op, as MLX's separate ops do; transcendental
/// functions run in f32 (f64 for float64).
pub trait RFloat: Element {
    /// Round an f64 to this type (f16 / bf16 through f32, which is exact for the values
    /// rounded here and avoids `half`'s f64 conversions, which lose sticky bits).
    #[inline(always)]
    fn r(x: f64) -> Self {
        if Self::DTYPE == Dtype::Float64 {
            Self::from_f64(x)
        } else {
            Self::from_f32_(x as f32)
        }
    }
    /// Round an f32 to this type.
    fn from_f32_(x: f32) -> Self;
    /// The value as f64 (exact).
    #[inline(always)]
    fn v(self) -> f64 {
        self.to_f64()
    }
    /// `log` as MLX computes it for this type.
    #[inline(always)]
    fn log(self) -> Self {
        if Self::DTYPE == Dtype::Float64 {
            Self::r(self.v().ln())
        } else {
            Self::r((self.v() as f32).ln() as f64)
        }
    }
    /// `log1p` as MLX computes it for this type.
    #[inline(always)]
    fn log1p(self) -> Self {
        if Self::DTYPE == Dtype::Float64 {
            Self::r(self.v().ln_1p())
        } else {
            Self::r((self.v() as f32).ln_1p() as f64)
        }
    }
    /// MLX's `erfinv` (always single precision).
    #[inline(always)]
    fn erfinv(self) -> Self {
        Self::r(mlx_erfinv(self.v() as f32) as f64)
    }
    /// MLX's `erf` (always single precision).
    #[inline(always)]
    fn erf(self) -> Self {
        Self::r(mlx_erf(self.v() as f32) as f64)
    }
    /// The largest value below 1.
    fn below_one() -> Self;
}
impl RFloat for f32 {
    #[inline(always)]
    fn from_f32_(x: f32) -> Self {
        x
    }
    fn below_one() -> Self {
        1.0 - f32::EPSILON / 2.0
    }
}
impl RFloat for f64 {
    #[inline(always)]
    fn from_f32_(x: f32) -> Self {
        x as f64
    }
    fn below_one() -> Self {
        1.0 - f64::EPSILON / 2.0
    }
}
impl RFloat for half::f16 {
    #[inline(always)]
    fn from_f32_(x: f32) -> Self {
        half::f16::from_f32(x)
    }
    fn below_one() -> Self {
        half::f16::from_bits(0x3bff)
    }
}
impl RFloat for half::bf16 {
    #[inline(always)]
    fn from_f32_(x: f32) -> Self {
        half::bf16::from_f32(x)
    }
    fn below_one() -> Self {
        half::bf16::from_bits(0x3f7f)
    }
}

/// Which distribution a [`transform`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dist {
    /// `lo + (hi - lo) * u` (params: lo, hi).
    Uniform,
    /// `sqrt2 * erfinv(u in [-1, 1))`, then `* scale`, `+ loc` (params: scale?, loc?).
    Normal {
        /// A scale parameter follows.
        scale: bool,
        /// A loc parameter follows.
        loc: bool,
    },
    /// Truncated standard normal on `[lower, upper]` (params: lower, upper).
    TruncatedNormal,
    /// `-log(-log(u))`.
    Gumbel,
    /// `sign(u) * log1p(-|u|)` for `u in [-1, 1)`, then `* scale`, `+ loc` (params:
    /// scale?, loc?).
    Laplace {
        /// A scale parameter follows.
        scale: bool,
        /// A loc parameter follows.
        loc: bool,
    },
}

/// A parameter: one value, or one per output element.
struct Param(Vec<f64>);
impl Param {
    #[inline(always)]
    fn at(&self, i: usize) -> f64 {
        if self.0.len() == 1 {
            self.0[0]
        } else {
            self.0[i]
        }
    }
}

fn params(ps: &[Array], n: usize) -> Result<Vec<Param>> {
    ps.iter()
        .map(|p| {
            let v = p.to_vec::<f64>()?;
            if v.len() != 1 && v.len() != n {
                return Err(Error::Shape(format!(
                    "random: a parameter of shape {:?} does not match {n} samples",
                    p.shape()
                )));
            }
            Ok(Param(v))
        })
        .collect()
}

/// MLX's uniform sample in [0, 1) of type T from 32 random bits.
#[inline(always)]
fn unit<T: RFloat>(b: u32) -> T {
    let s = (b as f32) / 4294967296.0f32;
    let s = T::r(s as f64);
    if s.v() > T::below_one().v() {
        T::below_one()
    } else {
        s
    }
}

/// `lo + (hi - lo) * unit` with MLX's rounding (`hi - lo`, the product and the sum each
/// rounded to T).
#[inline(always)]
fn scaled<T: RFloat>(b: u32, lo: T, hi: T) -> T {
    let range = T::r(hi.v() - lo.v());
    T::r(T::r(range.v() * unit::<T>(b).v()).v() + lo.v())
}

#[inline(always)]
fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn transform_typed<T: RFloat>(bits: &[u32], dist: Dist, ps: &[Param], out: &Data) {
    let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
    let sqrt2 = T::r(std::f64::consts::SQRT_2);
    let m1 = -(1.0 - f32::EPSILON / 2.0); // nextafter(-1.0f, 0.0f)
    let f = |i: usize| -> T {
        let b = bits[i];
        match dist {
            Dist::Uniform => scaled::<T>(b, T::r(ps[0].at(i)), T::r(ps[1].at(i))),
            Dist::Normal { scale, loc } => {
                // MLX samples u and takes erfinv in float32, then converts.
                let u = scaled::<f32>(b, m1, 1.0);
                let e = T::r(mlx_erfinv(u) as f64);
                let mut x = T::r(sqrt2.v() * e.v());
                let mut k = 0;
                if scale {
                    x = T::r(x.v() * T::r(ps[k].at(i)).v());
                    k += 1;
                }
                if loc {
                    x = T::r(x.v() + T::r(ps[k].at(i)).v());
                }
                x
            }
            Dist::TruncatedNormal => {
                let (lo, hi) = (T::r(ps[0].at(i)), T::r(ps[1].at(i)));
                let a = T::r(lo.v() / sqrt2.v()).erf();
                let c = T::r(hi.v() / sqrt2.v()).erf();
                let u = scaled::<T>(b, a, c);
                let x = T::r(sqrt2.v() * u.erfinv().v());
                // maximum(minimum(upper, x), lower)
                let x = if hi.v() < x.v() { hi } else { x };
                if lo.v() > x.v() {
                    lo
                } else {
                    x
                }
            }
            Dist::Gumbel => {
                let u = unit::<T>(b);
                T::r(-T::r(-u.log().v()).log().v())
            }
            Dist::Laplace { scale, loc } => {
                // sign(u) * log1p(-|u|) in float32, then converted.
                let u = scaled::<f32>(b, m1, 1.0);
                let l = (-u.abs()).ln_1p();
                let mut x = T::r((sign(u as f64) as f32 * l) as f64);
                let mut k = 0;
                if scale {
                    x = T::r(x.v() * T::r(ps[k].at(i)).v());
                    k += 1;
                }
                if loc {
                    x = T::r(x.v() + T::r(ps[k].at(i)).v());
                }
                x
            }
        }
    };
    let n = bits.len();
    let body = |i: usize| {
        let dp = dp;
        // SAFETY: i < n, the fresh output's size; each index is written once.
        unsafe { *dp.0.add(i) = f(i) };
    };
    if n >= 1 << 14 {
        (0..n).into_par_iter().with_min_len(4096).for_each(body);
    } else {
        (0..n).for_each(body);
    }
}

/// Map uint32 random bits to samples of `dist` in the floating `dtype`; `ps` are the
/// distribution's parameters (one value, or one per sample in row-major order).
pub fn transform(bits: &Array, dist: Dist, ps: &[Array], dtype: Dtype) -> Result<Data> {
    let b = bits.to_vec::<u32>()?;
    let out = Data::alloc(bits.shape(), dtype)?;
    let ps = params(ps, b.len())?;
    dispatch_float!(dtype, T => transform_typed::<T>(&b, dist, &ps, &out),
        _ => return Err(Error::Dtype(format!("random: unsupported dtype {dtype}"))));
    Ok(out)
}

/// `uniform(float32) < p` (MLX's bernoulli, compared in the promoted dtype): bool samples.
pub fn bernoulli(bits: &Array, p: &Array) -> Result<Data> {
    let b = bits.to_vec::<u32>()?;
    let out = Data::alloc(bits.shape(), Dtype::Bool)?;
    let ps = params(std::slice::from_ref(p), b.len())?;
    let dp = out.host().as_mut_ptr() as *mut bool;
    dispatch_float!(p.dtype(), T => {
        for (i, &bb) in b.iter().enumerate() {
            let u = unit::<f32>(bb);
            // SAFETY: i < the output's size.
            unsafe { *dp.add(i) = (u as f64) < T::r(ps[0].at(i)).v() };
        }
    }, _ => return Err(Error::Dtype(format!(
        "[bernoulli] bernoulli probability `p` must be a float type, got {}.", p.dtype()))));
    Ok(out)
}

/// Convert a float to an integer type as MLX's x86-64 build does (through a signed
/// 32-bit conversion for int32 and narrower types, 64-bit otherwise; out of range gives
/// the minimum of that intermediate, then wraps).
#[inline]
fn float_to_int<T: Element>(x: f32) -> T {
    let wide = matches!(T::DTYPE, Dtype::Int64 | Dtype::Uint64 | Dtype::Uint32);
    let v: i64 = if wide {
        if x.is_nan() || !(-9.223372e18..9.223372e18).contains(&x) {
            i64::MIN
        } else {
            x as i64
        }
    } else if x.is_nan() || !(-2147483648.0..2147483648.0).contains(&x) {
        i32::MIN as i64
    } else {
        x as i32 as i64
    };
    T::from_i64(v)
}

/// MLX's randint: `u = uniform(low, high)` in float32, then `floor(u)` converted to the
/// integer `dtype` and clipped as `maximum(minimum(x, high - 1), low)` with `low`/`high`
/// converted to `dtype` (so out-of-range bounds behave as in MLX).
pub fn randint(bits: &Array, low: &Array, high: &Array, dtype: Dtype) -> Result<Data> {
    use crate::backend::cpu::scan::Arith;
    let b = bits.to_vec::<u32>()?;
    let n = b.len();
    let out = Data::alloc(bits.shape(), dtype)?;
    let lf = params(std::slice::from_ref(low), n)?;
    let hf = params(std::slice::from_ref(high), n)?;
    crate::dispatch_all!(dtype, T => {
        let lo_d: Vec<T> = low.astype(dtype)?.to_vec::<T>()?;
        let hi_d: Vec<T> = high.astype(dtype)?.to_vec::<T>()?;
        let at = |v: &Vec<T>, i: usize| if v.len() == 1 { v[0] } else { v[i] };
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        let body = |i: usize| {
            let dp = dp;
            let lo = (lf[0].at(i) as f32) as f64;
            let hi = (hf[0].at(i) as f32) as f64;
            let u: f32 = scaled::<f32>(b[i], lo as f32, hi as f32);
            let x: T = float_to_int::<T>(u.floor());
            let h1 = at(&hi_d, i).add(T::from_i64(-1));
            let x = if h1.lt(x) { h1 } else { x };
            let l = at(&lo_d, i);
            let x = if l.gt(x) { l } else { x };
            // SAFETY: i < n, the output's size.
            unsafe { *dp.0.add(i) = x };
        };
        if n >= 1 << 14 {
            (0..n).into_par_iter().with_min_len(4096).for_each(body);
        } else {
            (0..n).for_each(body);
        }
    });
    Ok(out)
}

/// MLX's categorical sampling: `argmax(gumbel + logits)` along `axis` of `g` (float32
/// Gumbel noise) and `logits` (broadcast to `g`'s shape), with the sum rounded to their
/// common dtype; ties pick the first index. Output: uint32, `g`'s shape without `axis`.
pub fn categorical(g: &Array, logits: &Array, axis: usize) -> Result<Data> {
    let shape = g.shape();
    let mut oshape = shape.to_vec();
    let k = oshape.remove(axis);
    let out = Data::alloc(&oshape, Dtype::Uint32)?;
    let m: usize = oshape.iter().product();
    if m == 0 {
        return Ok(out);
    }
    let gv = g.to_vec::<f32>()?;
    let lv = logits.to_vec::<f64>()?;
    let pd = crate::promote_types(Dtype::Float32, logits.dtype());
    let inner: usize = shape[axis + 1..].iter().product();
    let round = |x: f64| -> f64 {
        match pd {
            Dtype::Float64 => x,
            _ => x as f32 as f64,
        }
    };
    let dp = SendPtr(out.host().as_mut_ptr() as *mut u32);
    let body = |o: usize| {
        let dp = dp;
        let (outer, inn) = (o / inner, o % inner);
        let base = outer * k * inner + inn;
        let mut best = f64::NEG_INFINITY;
        let mut bi = 0u32;
        for j in 0..k {
            let e = base + j * inner;
            let v = round(gv[e] as f64 + lv[e]);
            if j == 0 || v > best || (v.is_nan() && !best.is_nan()) {
                best = v;
                bi = j as u32;
            }
        }
        // SAFETY: o < m, the output's size.
        unsafe { *dp.0.add(o) = bi };
    };
    if m * k >= 1 << 15 {
        (0..m).into_par_iter().for_each(body);
    } else {
        (0..m).for_each(body);
    }
    Ok(out)
}

/// Symmetric square root `Q sqrt(max(L, 0)) Q^T` of each symmetric `n x n` matrix of a
/// float32 array of shape `[..., n, n]` (cyclic Jacobi eigenvalue iterations in f64).
pub fn sym_sqrt(cov: &Array) -> Result<Data> {
    let shape = cov.shape().to_vec();
    let n = shape[shape.len() - 1];
    let out = Data::alloc(&shape, Dtype::Float32)?;
    let v = cov.to_vec::<f64>()?;
    let mats = if n == 0 { 0 } else { v.len() / (n * n) };
    let res: Vec<Vec<f32>> = (0..mats)
        .into_par_iter()
        .map(|b| {
            let a = &v[b * n * n..(b + 1) * n * n];
            sym_sqrt_one(a, n).into_iter().map(|x| x as f32).collect()
        })
        .collect();
    let dp = out.host().as_mut_ptr() as *mut f32;
    for (b, r) in res.iter().enumerate() {
        // SAFETY: each matrix fills its own n*n block of the fresh output.
        unsafe { std::ptr::copy_nonoverlapping(r.as_ptr(), dp.add(b * n * n), n * n) };
    }
    Ok(out)
}

fn sym_sqrt_one(a0: &[f64], n: usize) -> Vec<f64> {
    // Symmetrise, then rotate until the off-diagonal part vanishes.
    let mut a: Vec<f64> = (0..n * n)
        .map(|ij| 0.5 * (a0[ij] + a0[(ij % n) * n + ij / n]))
        .collect();
    let mut q = vec![0f64; n * n];
    for i in 0..n {
        q[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let scale: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum::<f64>();
        if off <= 1e-30 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for r in p + 1..n {
                let apr = a[p * n + r];
                if apr == 0.0 {
                    continue;
                }
                let theta = (a[r * n + r] - a[p * n + p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akr) = (a[k * n + p], a[k * n + r]);
                    a[k * n + p] = c * akp - s * akr;
                    a[k * n + r] = s * akp + c * akr;
                }
                for k in 0..n {
                    let (apk, ark) = (a[p * n + k], a[r * n + k]);
                    a[p * n + k] = c * apk - s * ark;
                    a[r * n + k] = s * apk + c * ark;
                }
                for k in 0..n {
                    let (qkp, qkr) = (q[k * n + p], q[k * n + r]);
                    q[k * n + p] = c * qkp - s * qkr;
                    q[k * n + r] = s * qkp + c * qkr;
                }
            }
        }
    }
    let l: Vec<f64> = (0..n).map(|i| a[i * n + i].max(0.0).sqrt()).collect();
    let mut out = vec![0f64; n * n];
    for i in 0..n {
        for j in 0..n {
            let mut s = 0.0;
            for k in 0..n {
                s += q[i * n + k] * l[k] * q[j * n + k];
            }
            out[i * n + j] = s;
        }
    }
    out
}

/// `mean + z @ std` per sample: `z` and `mean` of shape `[..., n]`, `std` broadcast to
/// `[..., n, n]`; float32 output.
pub fn mvn_apply(z: &Array, mean: &Array, std: &Array) -> Result<Data> {
    let shape = z.shape().to_vec();
    let n = shape[shape.len() - 1];
    let out = Data::alloc(&shape, Dtype::Float32)?;
    let zv = z.to_vec::<f32>()?;
    let mv = mean.to_vec::<f32>()?;
    let sv = std.to_vec::<f32>()?;
    let rows = zv.len().checked_div(n).unwrap_or(0);
    let dp = SendPtr(out.host().as_mut_ptr() as *mut f32);
    (0..rows).into_par_iter().with_min_len(64).for_each(|r| {
        let dp = dp;
        let s = &sv[r * n * n..(r + 1) * n * n];
        for j in 0..n {
            let mut acc = 0f32;
            for k in 0..n {
                acc += zv[r * n + k] * s[k * n + j];
            }
            // SAFETY: row r owns output elements r*n..(r+1)*n.
            unsafe { *dp.0.add(r * n + j) = mv[r * n + j] + acc };
        }
    });
    Ok(out)
}

/// MLX's complex normal: real and imaginary parts are `erfinv(u)` for consecutive
/// uniform samples `u in [-1, 1)` (so each part is N(0, 1/2)), then `* scale` and
/// `+ loc` (real scalars). `bits` has shape `[..., 2]`; the output is complex64 `[...]`.
pub fn complex_normal(bits: &Array, scale: Option<f32>, loc: Option<f32>) -> Result<Data> {
    let b = bits.to_vec::<u32>()?;
    let shape = &bits.shape()[..bits.ndim() - 1];
    let out = Data::alloc(shape, Dtype::Complex64)?;
    let m1 = -(1.0 - f32::EPSILON / 2.0);
    let dp = out.host().as_mut_ptr() as *mut f32;
    for (i, &bb) in b.iter().enumerate() {
        let u = scaled::<f32>(bb, m1, 1.0);
        let mut x = mlx_erfinv(u);
        if let Some(s) = scale {
            x *= s;
        }
        if let Some(l) = loc {
            if i % 2 == 0 {
                x += l;
            }
        }
        // SAFETY: i < 2 * (output size): the complex output viewed as floats.
        unsafe { *dp.add(i) = x };
    }
    Ok(out)
}

/// Check a key's dtype (uint32) and shape (`[2]`) without evaluating it.
pub fn key_value_check(key: &Array) -> Result<()> {
    if key.dtype() != Dtype::Uint32 {
        return Err(Error::Dtype(format!(
            "[bits] Expected key type uint32 but received {}.",
            key.dtype()
        )));
    }
    if key.shape() != [2] {
        return Err(Error::Shape(format!(
            "[bits] Expected key shape (2) but received {:?}.",
            key.shape()
        )));
    }
    Ok(())
}
