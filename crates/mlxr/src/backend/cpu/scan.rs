//! Scans on the CPU (cumulative sum, product, max, min and logaddexp along one axis), and
//! the small arithmetic trait [`Arith`] the scan and scatter kernels share.

use super::strided::SendPtr;
use super::PAR_THRESHOLD;
use crate::array::Data;
use crate::backend::cpu::copy::contiguous_data;
use crate::dtype::Element;
use crate::error::Result;
use crate::{dispatch_all, Array, Complex32, Dtype};
use half::{bf16, f16};
use rayon::prelude::*;

/// The accumulation of a scan (MLX's `Scan::ReduceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanOp {
    /// Running sum.
    Sum,
    /// Running product.
    Prod,
    /// Running maximum (NaN propagates).
    Max,
    /// Running minimum (NaN propagates).
    Min,
    /// Running `log(sum(exp(x)))`.
    LogAddExp,
}

/// Element arithmetic used by scans and scatters: integer ops wrap, bool `add` is `or`
/// and `mul` is `and`, f16/bf16 compute in f32 and round once, complex compares
/// lexicographically (real part, then imaginary part).
pub trait Arith: Element {
    /// `a + b`.
    fn add(self, o: Self) -> Self;
    /// `a * b`.
    fn mul(self, o: Self) -> Self;
    /// `a > b`.
    fn gt(self, o: Self) -> bool;
    /// `a < b`.
    fn lt(self, o: Self) -> bool;
    /// Whether the value is NaN (never for integers and bool).
    fn is_nan(self) -> bool;
    /// The identity of `max` (-inf, or the type's minimum).
    fn lowest() -> Self;
    /// The identity of `min` (+inf, or the type's maximum).
    fn highest() -> Self;
    /// 0 (false).
    fn zero() -> Self;
    /// 1 (true).
    fn one() -> Self;
    /// `log(exp(a) + exp(b))` (only meaningful for floating types).
    fn logaddexp(self, o: Self) -> Self;
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)] fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)] fn gt(self, o: Self) -> bool { self > o }
            #[inline(always)] fn lt(self, o: Self) -> bool { self < o }
            #[inline(always)] fn is_nan(self) -> bool { false }
            #[inline(always)] fn lowest() -> Self { <$t>::MIN }
            #[inline(always)] fn highest() -> Self { <$t>::MAX }
            #[inline(always)] fn zero() -> Self { 0 }
            #[inline(always)] fn one() -> Self { 1 }
            #[inline(always)] fn logaddexp(self, o: Self) -> Self {
                <$t>::from_f64(logaddexp_f64(self as f64, o as f64))
            }
        }
    )*};
}
arith_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl Arith for bool {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self | o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self & o
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self & !o
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        !self & o
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline(always)]
    fn lowest() -> Self {
        false
    }
    #[inline(always)]
    fn highest() -> Self {
        true
    }
    #[inline(always)]
    fn zero() -> Self {
        false
    }
    #[inline(always)]
    fn one() -> Self {
        true
    }
    #[inline(always)]
    fn logaddexp(self, o: Self) -> Self {
        self | o
    }
}

#[inline(always)]
fn logaddexp_f32(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        return f32::NAN;
    }
    let (mx, mn) = if a > b { (a, b) } else { (b, a) };
    if mn == f32::NEG_INFINITY || mx == f32::INFINITY {
        return mx;
    }
    mx + (mn - mx).exp().ln_1p()
}

#[inline(always)]
fn logaddexp_f64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    let (mx, mn) = if a > b { (a, b) } else { (b, a) };
    if mn == f64::NEG_INFINITY || mx == f64::INFINITY {
        return mx;
    }
    mx + (mn - mx).exp().ln_1p()
}

macro_rules! arith_float {
    ($t:ty, $lae:expr) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn gt(self, o: Self) -> bool {
                self > o
            }
            #[inline(always)]
            fn lt(self, o: Self) -> bool {
                self < o
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            #[inline(always)]
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            #[inline(always)]
            fn highest() -> Self {
                <$t>::INFINITY
            }
            #[inline(always)]
            fn zero() -> Self {
                0.0
            }
            #[inline(always)]
            fn one() -> Self {
                1.0
            }
            #[inline(always)]
            fn logaddexp(self, o: Self) -> Self {
                ($lae)(self, o)
            }
        }
    };
}
arith_float!(f32, logaddexp_f32);
arith_float!(f64, logaddexp_f64);

macro_rules! arith_half {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32() + o.to_f32())
            }
            #[inline(always)]
            fn mul(self, o: Self) -> Self {
                <$t>::from_f32(self.to_f32() * o.to_f32())
            }
            #[inline(always)]
            fn gt(self, o: Self) -> bool {
                self.to_f32() > o.to_f32()
            }
            #[inline(always)]
            fn lt(self, o: Self) -> bool {
                self.to_f32() < o.to_f32()
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            #[inline(always)]
            fn lowest() -> Self {
                <$t>::NEG_INFINITY
            }
            #[inline(always)]
            fn highest() -> Self {
                <$t>::INFINITY
            }
            #[inline(always)]
            fn zero() -> Self {
                <$t>::ZERO
            }
            #[inline(always)]
            fn one() -> Self {
                <$t>::ONE
            }
            #[inline(always)]
            fn logaddexp(self, o: Self) -> Self {
                <$t>::from_f32(logaddexp_f32(self.to_f32(), o.to_f32()))
            }
        }
    };
}
arith_half!(f16);
arith_half!(bf16);

impl Arith for Complex32 {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self.re > o.re || (self.re == o.re && self.im > o.im)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self.re < o.re || (self.re == o.re && self.im < o.im)
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
    #[inline(always)]
    fn lowest() -> Self {
        Complex32::new(f32::NEG_INFINITY, f32::NEG_INFINITY)
    }
    #[inline(always)]
    fn highest() -> Self {
        Complex32::new(f32::INFINITY, f32::INFINITY)
    }
    #[inline(always)]
    fn zero() -> Self {
        Complex32::new(0.0, 0.0)
    }
    #[inline(always)]
    fn one() -> Self {
        Complex32::new(1.0, 0.0)
    }
    #[inline(always)]
    fn logaddexp(self, o: Self) -> Self {
        // log(exp(a) + exp(b)) with the larger real part factored out.
        if self.is_nan() || o.is_nan() {
            return Complex32::new(f32::NAN, f32::NAN);
        }
        let (mx, mn) = if self.re > o.re { (self, o) } else { (o, self) };
        if mn.re == f32::NEG_INFINITY {
            return mx;
        }
        mx + ((mn - mx).exp() + Complex32::new(1.0, 0.0)).ln()
    }
}

/// The NaN-propagating maximum used by `cummax`.
#[inline(always)]
pub fn max_nan<T: Arith>(a: T, b: T) -> T {
    if a.is_nan() {
        a
    } else if b.is_nan() || b.gt(a) {
        b
    } else {
        a
    }
}

/// The NaN-propagating minimum used by `cummin`.
#[inline(always)]
pub fn min_nan<T: Arith>(a: T, b: T) -> T {
    if a.is_nan() {
        a
    } else if b.is_nan() || b.lt(a) {
        b
    } else {
        a
    }
}

/// The identity element of a scan.
fn init<T: Arith>(op: ScanOp) -> T {
    match op {
        ScanOp::Sum => T::zero(),
        ScanOp::Prod => T::one(),
        ScanOp::Max | ScanOp::LogAddExp => T::lowest(),
        ScanOp::Min => T::highest(),
    }
}

#[inline(always)]
fn combine<T: Arith>(op: ScanOp, acc: T, x: T) -> T {
    match op {
        ScanOp::Sum => acc.add(x),
        ScanOp::Prod => acc.mul(x),
        ScanOp::Max => max_nan(acc, x),
        ScanOp::Min => min_nan(acc, x),
        ScanOp::LogAddExp => acc.logaddexp(x),
    }
}

/// Scan `x` along `axis` into fresh row-contiguous data of `x`'s dtype. `reverse` scans
/// from the end; an exclusive scan (`inclusive == false`) starts from the op's identity
/// and leaves out the current element.
pub fn scan(x: &Array, op: ScanOp, axis: usize, reverse: bool, inclusive: bool) -> Result<Data> {
    let shape = x.shape();
    let out = Data::alloc(shape, x.dtype())?;
    if x.size() == 0 {
        return Ok(out);
    }
    let xd = contiguous_data(x)?;
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    dispatch_all!(x.dtype(), T => {
        scan_typed::<T>(&xd, &out, op, outer, n, inner, reverse, inclusive)
    });
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn scan_typed<T: Arith>(
    xd: &Data,
    out: &Data,
    op: ScanOp,
    outer: usize,
    n: usize,
    inner: usize,
    reverse: bool,
    inclusive: bool,
) {
    let src = &xd.slice::<T>()[..outer * n * inner];
    let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
    let total = outer * n * inner;
    let par = total >= PAR_THRESHOLD;
    if inner == 1 {
        // One contiguous line per outer index.
        let line = |o: usize| {
            let dp = dp;
            let s = &src[o * n..(o + 1) * n];
            // SAFETY: each line writes its own disjoint range of the fresh output.
            let d = unsafe { std::slice::from_raw_parts_mut(dp.0.add(o * n), n) };
            scan_line(op, s, d, reverse, inclusive);
        };
        if par && outer > 1 {
            (0..outer).into_par_iter().for_each(line);
        } else {
            (0..outer).for_each(line);
        }
        return;
    }
    // Lines along `axis` are strided by `inner`: sweep whole rows of `inner` elements,
    // split into column blocks for parallelism.
    const BLOCK: usize = 1024;
    let blocks = inner.div_ceil(BLOCK);
    let task = |t: usize| {
        let dp = dp;
        let (o, b) = (t / blocks, t % blocks);
        let c0 = b * BLOCK;
        let w = (inner - c0).min(BLOCK);
        let base = o * n * inner + c0;
        let mut acc = vec![init::<T>(op); w];
        for step in 0..n {
            let i = if reverse { n - 1 - step } else { step };
            let off = base + i * inner;
            let s = &src[off..off + w];
            // SAFETY: tasks write disjoint (outer, column block) regions.
            let d = unsafe { std::slice::from_raw_parts_mut(dp.0.add(off), w) };
            if inclusive {
                for k in 0..w {
                    acc[k] = combine(op, acc[k], s[k]);
                    d[k] = acc[k];
                }
            } else {
                for k in 0..w {
                    d[k] = acc[k];
                    acc[k] = combine(op, acc[k], s[k]);
                }
            }
        }
    };
    let tasks = outer * blocks;
    if par && tasks > 1 {
        (0..tasks).into_par_iter().for_each(task);
    } else {
        (0..tasks).for_each(task);
    }
}

fn scan_line<T: Arith>(op: ScanOp, s: &[T], d: &mut [T], reverse: bool, inclusive: bool) {
    let n = s.len();
    let mut acc = init::<T>(op);
    macro_rules! run {
        ($f:expr) => {{
            let f = $f;
            if reverse {
                for i in (0..n).rev() {
                    if inclusive {
                        acc = f(acc, s[i]);
                        d[i] = acc;
                    } else {
                        d[i] = acc;
                        acc = f(acc, s[i]);
                    }
                }
            } else {
                for i in 0..n {
                    if inclusive {
                        acc = f(acc, s[i]);
                        d[i] = acc;
                    } else {
                        d[i] = acc;
                        acc = f(acc, s[i]);
                    }
                }
            }
        }};
    }
    match op {
        ScanOp::Sum => run!(|a: T, b: T| a.add(b)),
        ScanOp::Prod => run!(|a: T, b: T| a.mul(b)),
        ScanOp::Max => run!(max_nan::<T>),
        ScanOp::Min => run!(min_nan::<T>),
        ScanOp::LogAddExp => run!(|a: T, b: T| a.logaddexp(b)),
    }
}

/// Direct 1-D convolution (`np.convolve` with mode "full"): `out[k] = sum_j a[j] v[k-j]`,
/// accumulated in f64 (f32 for f16/bf16/f32) and rounded once; `a` and `v` are 1-D
/// floating arrays of the output dtype.
pub fn convolve_full(a: &Array, v: &Array) -> Result<Data> {
    let (n, m) = (a.size(), v.size());
    let len = if n == 0 || m == 0 { 0 } else { n + m - 1 };
    let out = Data::alloc(&[len], a.dtype())?;
    if len == 0 {
        return Ok(out);
    }
    let av: Vec<f64> = a.to_vec::<f64>()?;
    let vv: Vec<f64> = v.to_vec::<f64>()?;
    let single = a.dtype() != Dtype::Float64;
    let vals: Vec<f64> = (0..len)
        .into_par_iter()
        .with_min_len(256)
        .map(|k| {
            let j0 = k.saturating_sub(m - 1);
            let j1 = k.min(n - 1);
            if single {
                let mut s = 0f32;
                for j in j0..=j1 {
                    s += av[j] as f32 * vv[k - j] as f32;
                }
                s as f64
            } else {
                let mut s = 0f64;
                for j in j0..=j1 {
                    s += av[j] * vv[k - j];
                }
                s
            }
        })
        .collect();
    let dt = a.dtype();
    crate::dispatch_float!(dt, T => {
        let dp = out.host().as_mut_ptr() as *mut T;
        for (k, v) in vals.iter().enumerate() {
            // SAFETY: `k < len`, the output's size.
            unsafe { *dp.add(k) = T::from_f64(*v) };
        }
    }, _ => {});
    Ok(out)
}
