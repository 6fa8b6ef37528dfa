//! CPU kernels of the unary elementwise primitives (`Unary`), plus the scalar math they
//! need: a vectorisable float32 `exp` (used by `exp`, `sigmoid`, ...), `erf` (via libm)
//! and an accurate `erfinv`. float16/bfloat16 compute in float32 and round once.

use super::binary::IntOps;
use super::elementwise::unary_map;
use crate::array::{Array, Data};
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use crate::primitives::unary::UnaryOp;
use crate::{dispatch_all, dispatch_float, dispatch_int};
use half::{bf16, f16};
use num_complex::Complex32;

/// Scalar float math shared by the elementwise kernels.
pub mod fmath {
    /// `e^x` for float32, branch-free so loops over it vectorise. Relative error about
    /// 1 ulp; overflows to `inf` above ~88.72, underflows (through subnormals) to 0.
    #[inline(always)]
    pub fn exp_f32(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        const LN2_HI: f32 = 0.693_359_4;
        const LN2_LO: f32 = -2.121_944_4e-4;
        const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
        let xc = x.clamp(-104.0, 89.0);
        let t = xc * LOG2E + MAGIC;
        let n = t - MAGIC;
        let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
        let r = xc - n * LN2_HI - n * LN2_LO;
        let mut p = 1.987_569_1e-4f32;
        p = p * r + 1.398_2e-3;
        p = p * r + 8.333_452e-3;
        p = p * r + 4.166_579_6e-2;
        p = p * r + 1.666_666_5e-1;
        p = p * r + 5.000_000_1e-1;
        let y = p * r * r + r + 1.0;
        // Scale by 2^n in two steps so neither factor overflows or underflows early.
        let e1 = ni >> 1;
        let e2 = ni.wrapping_sub(e1);
        let s1 = f32::from_bits((e1.wrapping_add(127) as u32) << 23);
        let s2 = f32::from_bits((e2.wrapping_add(127) as u32) << 23);
        let out = y * s1 * s2;
        if x.is_nan() {
            x
        } else {
            out
        }
    }

    /// `1 / (1 + e^-x)` for float32.
    #[inline(always)]
    pub fn sigmoid_f32(x: f32) -> f32 {
        1.0 / (1.0 + exp_f32(-x))
    }

    /// `1 / (1 + e^-x)` for float64.
    #[inline(always)]
    pub fn sigmoid_f64(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The error function.
    #[inline]
    pub fn erf(x: f64) -> f64 {
        libm::erf(x)
    }

    /// The inverse error function: `erf(erfinv(x)) == x` for `x` in `(-1, 1)`, `±inf` at
    /// `±1`, NaN outside. Accurate to a few float64 ulps.
    pub fn erfinv(x: f64) -> f64 {
        if x.is_nan() || !(-1.0..=1.0).contains(&x) {
            return f64::NAN;
        }
        if x == 1.0 {
            return f64::INFINITY;
        }
        if x == -1.0 {
            return f64::NEG_INFINITY;
        }
        if x == 0.0 {
            return x;
        }
        let ax = x.abs();
        // Starting guess (Winitzki's closed form, ~2e-3 relative error).
        let a = 0.147;
        let l = (1.0 - ax) * (1.0 + ax);
        let l = l.ln();
        let t = 2.0 / (std::f64::consts::PI * a) + 0.5 * l;
        let mut y = ((t * t - l / a).sqrt() - t).sqrt();
        // Halley steps on erf(y) = ax, or erfc(y) = 1 - ax in the tail where erf loses
        // relative precision (1 - ax is exact there).
        let k = std::f64::consts::FRAC_2_SQRT_PI;
        let tail = ax > 0.5;
        let c = 1.0 - ax;
        for _ in 0..4 {
            let d = k * (-y * y).exp();
            let (f, fp) = if tail {
                (libm::erfc(y) - c, -d)
            } else {
                (libm::erf(y) - ax, d)
            };
            if fp == 0.0 {
                break;
            }
            let step = f / (fp + y * f);
            y -= step;
            if step.abs() <= 1e-17 * y.abs() {
                break;
            }
        }
        y.copysign(x)
    }

    /// Round half to even.
    #[inline(always)]
    pub fn round_even_f32(x: f32) -> f32 {
        x.round_ties_even()
    }

    /// Round half to even.
    #[inline(always)]
    pub fn round_even_f64(x: f64) -> f64 {
        x.round_ties_even()
    }
}

use fmath::*;

fn unsupported(op: UnaryOp, dt: Dtype) -> Error {
    Error::Dtype(format!("[{}] Not supported for {dt}.", op.op_name()))
}

/// Map a real float array through `f32f` (float32, and float16/bfloat16 via float32) or
/// `f64f` (float64); `cf` handles complex64 when given.
fn float_map<F32, F64, FC>(
    x: &Array,
    op: UnaryOp,
    f32f: F32,
    f64f: F64,
    cf: Option<FC>,
) -> Result<Data>
where
    F32: Fn(f32) -> f32 + Sync + Send + Copy,
    F64: Fn(f64) -> f64 + Sync + Send,
    FC: Fn(Complex32) -> Complex32 + Sync + Send,
{
    match x.dtype() {
        Dtype::Float32 => unary_map::<f32, f32, _>(x, f32f),
        Dtype::Float64 => unary_map::<f64, f64, _>(x, f64f),
        Dtype::Float16 => unary_map::<f16, f16, _>(x, move |v| f16::from_f32(f32f(v.to_f32()))),
        Dtype::Bfloat16 => unary_map::<bf16, bf16, _>(x, move |v| bf16::from_f32(f32f(v.to_f32()))),
        Dtype::Complex64 => match cf {
            Some(cf) => unary_map::<Complex32, Complex32, _>(x, cf),
            None => Err(unsupported(op, x.dtype())),
        },
        d => Err(unsupported(op, d)),
    }
}

/// Real-only float map (complex is an error).
fn real_map<F32, F64>(x: &Array, op: UnaryOp, f32f: F32, f64f: F64) -> Result<Data>
where
    F32: Fn(f32) -> f32 + Sync + Send + Copy,
    F64: Fn(f64) -> f64 + Sync + Send,
{
    float_map::<_, _, fn(Complex32) -> Complex32>(x, op, f32f, f64f, None)
}

/// A predicate on elements (output bool); integers and bool use `int_val`.
fn predicate<FF, FC>(x: &Array, ff: FF, cf: FC, int_val: bool) -> Result<Data>
where
    FF: Fn(f64) -> bool + Sync + Send + Copy,
    FC: Fn(Complex32) -> bool + Sync + Send,
{
    match x.dtype() {
        Dtype::Float32 => unary_map::<f32, bool, _>(x, move |v| ff(v as f64)),
        Dtype::Float64 => unary_map::<f64, bool, _>(x, ff),
        Dtype::Float16 => unary_map::<f16, bool, _>(x, move |v| ff(v.to_f64())),
        Dtype::Bfloat16 => unary_map::<bf16, bool, _>(x, move |v| ff(v.to_f64())),
        Dtype::Complex64 => unary_map::<Complex32, bool, _>(x, cf),
        d => dispatch_all!(d, T => unary_map::<T, bool, _>(x, move |_: T| int_val)),
    }
}

fn c_one() -> Complex32 {
    Complex32::new(1.0, 0.0)
}

/// Evaluate `op` on the CPU; `out` is the output dtype (see [`UnaryOp::output_dtype`]).
pub fn unary_cpu(op: UnaryOp, x: &Array, out: Dtype) -> Result<Data> {
    use UnaryOp::*;
    let dt = x.dtype();
    let _ = out;
    type C = Complex32;
    match op {
        Exp => float_map(x, op, exp_f32, f64::exp, Some(C::exp)),
        Expm1 => real_map(x, op, f32::exp_m1, f64::exp_m1),
        Log => float_map(x, op, f32::ln, f64::ln, Some(C::ln)),
        Log1p => float_map(
            x,
            op,
            f32::ln_1p,
            f64::ln_1p,
            Some(|z: C| (z + c_one()).ln()),
        ),
        Log2 => float_map(x, op, f32::log2, f64::log2, Some(C::log2)),
        Log10 => float_map(x, op, f32::log10, f64::log10, Some(C::log10)),
        Sqrt => float_map(x, op, f32::sqrt, f64::sqrt, Some(C::sqrt)),
        Rsqrt => float_map(
            x,
            op,
            |v: f32| 1.0 / v.sqrt(),
            |v: f64| 1.0 / v.sqrt(),
            Some(|z: C| z.sqrt().inv()),
        ),
        Reciprocal => float_map(
            x,
            op,
            |v: f32| 1.0 / v,
            |v: f64| 1.0 / v,
            Some(|z: C| z.inv()),
        ),
        Sin => float_map(x, op, f32::sin, f64::sin, Some(C::sin)),
        Cos => float_map(x, op, f32::cos, f64::cos, Some(C::cos)),
        Tan => float_map(x, op, f32::tan, f64::tan, Some(C::tan)),
        ArcSin => float_map(x, op, f32::asin, f64::asin, Some(C::asin)),
        ArcCos => float_map(x, op, f32::acos, f64::acos, Some(C::acos)),
        ArcTan => float_map(x, op, f32::atan, f64::atan, Some(C::atan)),
        Sinh => float_map(x, op, f32::sinh, f64::sinh, Some(C::sinh)),
        Cosh => float_map(x, op, f32::cosh, f64::cosh, Some(C::cosh)),
        Tanh => float_map(x, op, f32::tanh, f64::tanh, Some(C::tanh)),
        ArcSinh => float_map(x, op, f32::asinh, f64::asinh, Some(C::asinh)),
        ArcCosh => float_map(x, op, f32::acosh, f64::acosh, Some(C::acosh)),
        ArcTanh => float_map(x, op, f32::atanh, f64::atanh, Some(C::atanh)),
        Sigmoid => real_map(x, op, sigmoid_f32, sigmoid_f64),
        Erf => real_map(x, op, |v: f32| erf(v as f64) as f32, erf),
        ErfInv => real_map(x, op, |v: f32| erfinv(v as f64) as f32, erfinv),
        Degrees => {
            let k = 180.0 / std::f64::consts::PI;
            float_map(
                x,
                op,
                move |v: f32| v * k as f32,
                move |v: f64| v * k,
                Some(move |z: C| z * k as f32),
            )
        }
        Radians => {
            let k = std::f64::consts::PI / 180.0;
            float_map(
                x,
                op,
                move |v: f32| v * k as f32,
                move |v: f64| v * k,
                Some(move |z: C| z * k as f32),
            )
        }
        Abs => match dt {
            Dtype::Bool => unary_map::<bool, bool, _>(x, |v| v),
            Dtype::Complex64 => unary_map::<C, f32, _>(x, |z| z.norm()),
            _ => dispatch_int!(dt, T => unary_map::<T, T, _>(x, |v: T| v.w_abs()),
                _ => real_map(x, op, f32::abs, f64::abs)),
        },
        Negative => match dt {
            Dtype::Complex64 => unary_map::<C, C, _>(x, |z| -z),
            _ => dispatch_int!(dt, T => unary_map::<T, T, _>(x, |v: T| v.w_neg()),
                _ => real_map(x, op, |v: f32| -v, |v: f64| -v)),
        },
        Sign => match dt {
            Dtype::Bool => unary_map::<bool, bool, _>(x, |v| v),
            Dtype::Complex64 => unary_map::<C, C, _>(x, |z| {
                let n = z.norm();
                if n == 0.0 {
                    C::new(0.0, 0.0)
                } else {
                    z / n
                }
            }),
            _ => dispatch_int!(dt, T => unary_map::<T, T, _>(x, |v: T| v.sign()),
            _ => real_map(
                x,
                op,
                |v: f32| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { 0.0 },
                |v: f64| if v > 0.0 { 1.0 } else if v < 0.0 { -1.0 } else { 0.0 },
            )),
        },
        Square => match dt {
            Dtype::Bool => unary_map::<bool, bool, _>(x, |v| v),
            Dtype::Complex64 => unary_map::<C, C, _>(x, |z| z * z),
            _ => dispatch_int!(dt, T => unary_map::<T, T, _>(x, |v: T| v.w_mul(v)),
                _ => real_map(x, op, |v: f32| v * v, |v: f64| v * v)),
        },
        Floor | Ceil | Round if !dt.is_inexact() => {
            dispatch_all!(dt, T => unary_map::<T, T, _>(x, |v: T| v))
        }
        Floor => real_map(x, op, f32::floor, f64::floor),
        Ceil => real_map(x, op, f32::ceil, f64::ceil),
        Round => float_map(
            x,
            op,
            round_even_f32,
            round_even_f64,
            Some(|z: C| C::new(round_even_f32(z.re), round_even_f32(z.im))),
        ),
        IsNan => predicate(x, f64::is_nan, |z: C| z.re.is_nan() || z.im.is_nan(), false),
        IsInf => predicate(
            x,
            f64::is_infinite,
            |z: C| z.re.is_infinite() || z.im.is_infinite(),
            false,
        ),
        IsPosInf => predicate(
            x,
            |v| v == f64::INFINITY,
            |z: C| z.re == f32::INFINITY,
            false,
        ),
        IsNegInf => predicate(
            x,
            |v| v == f64::NEG_INFINITY,
            |z: C| z.re == f32::NEG_INFINITY,
            false,
        ),
        IsFinite => predicate(
            x,
            f64::is_finite,
            |z: C| z.re.is_finite() && z.im.is_finite(),
            true,
        ),
        LogicalNot => match dt {
            Dtype::Complex64 => unary_map::<C, bool, _>(x, |z| z.re == 0.0 && z.im == 0.0),
            _ => dispatch_all!(dt, T => unary_map::<T, bool, _>(x, |v: T| v == T::default())),
        },
        BitwiseInvert => match dt {
            Dtype::Bool => unary_map::<bool, bool, _>(x, |v| !v),
            _ => dispatch_int!(dt, T => unary_map::<T, T, _>(x, |v: T| !v),
                _ => Err(unsupported(op, dt))),
        },
        Conj => match dt {
            Dtype::Complex64 => unary_map::<C, C, _>(x, |z| z.conj()),
            _ => dispatch_all!(dt, T => unary_map::<T, T, _>(x, |v: T| v)),
        },
        Real => match dt {
            Dtype::Complex64 => unary_map::<C, f32, _>(x, |z| z.re),
            _ => dispatch_all!(dt, T => unary_map::<T, T, _>(x, |v: T| v)),
        },
        Imag => match dt {
            Dtype::Complex64 => unary_map::<C, f32, _>(x, |z| z.im),
            _ => dispatch_all!(dt, T => unary_map::<T, T, _>(x, |_: T| T::default())),
        },
        NanToNum {
            nan,
            posinf,
            neginf,
        } => dispatch_float!(dt, T => {
            let (n, p, m) = (T::from_f64(nan), T::from_f64(posinf), T::from_f64(neginf));
            unary_map::<T, T, _>(x, move |v: T| {
                let f = v.to_f64();
                if f.is_nan() {
                    n
                } else if f == f64::INFINITY {
                    p
                } else if f == f64::NEG_INFINITY {
                    m
                } else {
                    v
                }
            })
        }, _ => if dt.is_complex() {
            Err(unsupported(op, dt))
        } else {
            dispatch_all!(dt, T => unary_map::<T, T, _>(x, |v: T| v))
        }),
    }
}
