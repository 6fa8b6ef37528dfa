//! Unary elementwise ops with MLX's names and output dtypes: math functions (`exp`,
//! `sin`, `erf`, ... — integer and bool inputs become float32, float16/bfloat16/float64
//! are kept), sign/magnitude ops that keep integer dtypes (`abs`, `negative`, `square`,
//! `sign`), rounding, NaN/inf predicates (bool output), complex parts, `nan_to_num` and
//! `stop_gradient`.

use super::{astype, binary::multiply, stream};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitives::unary::{StopGradient, Unary, UnaryOp};
use std::sync::Arc;

/// Build the node of a unary op: float math converts integer/bool inputs to float32
/// first; the output dtype (or MLX's error for the dtype) comes from the op.
fn unary_op(a: &Array, op: UnaryOp) -> Result<Array> {
    let a = if op.is_float_math() && !a.dtype().is_inexact() {
        astype(a, Dtype::Float32)?
    } else {
        a.clone()
    };
    let out = op.output_dtype(a.dtype())?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        out,
        Arc::new(Unary { op }),
        vec![a],
        stream(),
    ))
}

macro_rules! unary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(a: &Array) -> Result<Array> {
            unary_op(a, UnaryOp::$op)
        }
    )*};
}

unary_fns! {
    /// Absolute value; keeps integer dtypes (wrapping: `abs(int8(-128)) == -128`);
    /// complex gives the float32 magnitude.
    abs => Abs;
    /// `-a`; keeps integer dtypes (wrapping). Error for bool (use `logical_not`).
    negative => Negative;
    /// `-1`, `0` or `1` in `a`'s dtype (NaN gives 0, as MLX; complex: `a / |a|`).
    sign => Sign;
    /// `e^a` (integer/bool inputs give float32; complex supported).
    exp => Exp;
    /// `e^a - 1`, accurate near 0 (no complex).
    expm1 => Expm1;
    /// Natural logarithm (complex supported).
    log => Log;
    /// `log(1 + a)`, accurate near 0 (complex supported).
    log1p => Log1p;
    /// Base-2 logarithm (complex supported).
    log2 => Log2;
    /// Base-10 logarithm (complex supported).
    log10 => Log10;
    /// Square root (NaN for negative reals; complex supported).
    sqrt => Sqrt;
    /// `1 / sqrt(a)` (complex supported).
    rsqrt => Rsqrt;
    /// `a * a`; keeps integer dtypes (wrapping).
    square => Square;
    /// `1 / a` (integer inputs give float32).
    reciprocal => Reciprocal;
    /// Sine (radians).
    sin => Sin;
    /// Cosine (radians).
    cos => Cos;
    /// Tangent (radians).
    tan => Tan;
    /// Inverse sine.
    arcsin => ArcSin;
    /// Inverse cosine.
    arccos => ArcCos;
    /// Inverse tangent.
    arctan => ArcTan;
    /// Hyperbolic sine.
    sinh => Sinh;
    /// Hyperbolic cosine.
    cosh => Cosh;
    /// Hyperbolic tangent.
    tanh => Tanh;
    /// Inverse hyperbolic sine.
    arcsinh => ArcSinh;
    /// Inverse hyperbolic cosine.
    arccosh => ArcCosh;
    /// Inverse hyperbolic tangent.
    arctanh => ArcTanh;
    /// Logistic sigmoid `1 / (1 + e^-a)` (no complex).
    sigmoid => Sigmoid;
    /// The error function (no complex).
    erf => Erf;
    /// The inverse error function: `±inf` at `±1`, NaN outside `[-1, 1]` (no complex).
    erfinv => ErfInv;
    /// Round towards `-inf` (identity for integers; no complex).
    floor => Floor;
    /// Round towards `+inf` (identity for integers; no complex).
    ceil => Ceil;
    /// Bool: NaN elements (false for integer dtypes; complex: either part).
    isnan => IsNan;
    /// Bool: infinite elements (complex: either part).
    isinf => IsInf;
    /// Bool: `+inf` elements.
    isposinf => IsPosInf;
    /// Bool: `-inf` elements.
    isneginf => IsNegInf;
    /// Bool: finite elements (true for integer dtypes).
    isfinite => IsFinite;
    /// Bool: `a == 0` (any dtype).
    logical_not => LogicalNot;
    /// Bitwise not; integers and bool only (error for floating dtypes).
    bitwise_invert => BitwiseInvert;
    /// Radians to degrees (integer inputs give float32).
    degrees => Degrees;
    /// Degrees to radians (integer inputs give float32).
    radians => Radians;
    /// Complex conjugate (identity for real dtypes).
    conj => Conj;
    /// Real part: float32 for complex, the array itself for real dtypes.
    real => Real;
    /// Imaginary part: float32 for complex, zeros of the same dtype for real dtypes.
    imag => Imag;
}

/// MLX's `conjugate` (same as [`conj`]).
pub fn conjugate(a: &Array) -> Result<Array> {
    conj(a)
}

/// Round to `decimals` decimal places, halves to even (`round(2.5) == 2`). Integers are
/// unchanged for `decimals >= 0`. With `decimals != 0` the value is scaled by
/// `10^decimals`, rounded and scaled back (as MLX), so integers round to tens, hundreds,
/// ... for negative `decimals`.
pub fn round(a: &Array, decimals: i32) -> Result<Array> {
    if decimals == 0 || (!a.dtype().is_inexact() && decimals > 0) {
        return unary_op(a, UnaryOp::Round);
    }
    // float32 scale as MLX (float64 arrays get a float64 scale).
    let (scale, inv) = if a.dtype() == Dtype::Float64 {
        (10f64.powi(decimals), 10f64.powi(-decimals))
    } else {
        let s = 10f32.powi(decimals);
        (s as f64, (1.0 / s) as f64)
    };
    let r = multiply(a, scale)?;
    let r = unary_op(&r, UnaryOp::Round)?;
    let r = multiply(&r, inv)?;
    astype(&r, a.dtype())
}

/// Replace NaN by `nan`, `+inf` by `posinf` and `-inf` by `neginf` (defaults: the
/// largest and lowest finite values of the dtype). Integer and bool arrays are returned
/// unchanged; complex is an error (as MLX). Unlike MLX 0.32, float64 is supported.
pub fn nan_to_num(a: &Array, nan: f64, posinf: Option<f64>, neginf: Option<f64>) -> Result<Array> {
    let dt = a.dtype();
    if !dt.is_inexact() {
        return Ok(a.clone());
    }
    let max = match dt {
        Dtype::Float16 => half::f16::MAX.to_f64(),
        Dtype::Bfloat16 => half::bf16::MAX.to_f64(),
        Dtype::Float32 => f32::MAX as f64,
        _ => f64::MAX,
    };
    unary_op(
        a,
        UnaryOp::NanToNum {
            nan,
            posinf: posinf.unwrap_or(max),
            neginf: neginf.unwrap_or(-max),
        },
    )
}

/// The identity, but gradients do not flow through it. The result shares `a`'s data.
pub fn stop_gradient(a: &Array) -> Result<Array> {
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(StopGradient),
        vec![a.clone()],
        stream(),
    ))
}

macro_rules! unary_methods {
    ($($name:ident),*) => {
        impl Array {
            $(
                #[doc = concat!("See [`", stringify!($name), "`].")]
                pub fn $name(&self) -> Result<Array> {
                    $name(self)
                }
            )*
            /// See [`round`].
            pub fn round(&self, decimals: i32) -> Result<Array> {
                round(self, decimals)
            }
        }
    };
}

unary_methods!(
    abs,
    exp,
    expm1,
    log,
    log1p,
    log2,
    log10,
    sqrt,
    rsqrt,
    square,
    reciprocal,
    sin,
    cos,
    tan,
    sinh,
    cosh,
    tanh,
    sigmoid,
    floor,
    ceil,
    conj,
    real,
    imag,
    isnan,
    isinf,
    isfinite,
    negative,
    sign,
    logical_not,
    bitwise_invert,
    stop_gradient,
    erf,
    erfinv
);
