//! CPU kernels of the binary elementwise primitives (`Binary`, `DivMod`), and the integer
//! arithmetic they share with the unary kernels (`IntOps`: wrapping, Python-style
//! division, shifts that never trap). float16/bfloat16 compute in float32.

use super::elementwise::binary_map;
use crate::array::{Array, Data};
use crate::dispatch_int;
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use crate::primitives::binary::BinaryOp;
use half::{bf16, f16};
use num_complex::Complex32;
use std::ops::{BitAnd, BitOr, BitXor, Not};

type C = Complex32;

/// Integer arithmetic with MLX's semantics and no panics: overflow wraps, division by
/// zero gives 0 (`floor_div`) or the dividend (`py_rem`), shifts out of range give 0
/// (or -1 for right shifts of negative numbers).
pub trait IntOps:
    Element
    + PartialOrd
    + Not<Output = Self>
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
{
    /// Wrapping `self + o`.
    fn w_add(self, o: Self) -> Self;
    /// Wrapping `self - o`.
    fn w_sub(self, o: Self) -> Self;
    /// Wrapping `self * o`.
    fn w_mul(self, o: Self) -> Self;
    /// Wrapping `-self`.
    fn w_neg(self) -> Self;
    /// Wrapping `|self|` (`MIN` stays `MIN`).
    fn w_abs(self) -> Self;
    /// `-1`, `0` or `1`.
    fn sign(self) -> Self;
    /// Quotient rounded towards `-inf`; 0 when `o == 0`.
    fn floor_div(self, o: Self) -> Self;
    /// Remainder with the sign of `o`; `self` when `o == 0`.
    fn py_rem(self, o: Self) -> Self;
    /// Wrapping `self ** e`; 0 for negative `e`.
    fn w_pow(self, e: Self) -> Self;
    /// `self << o`; 0 when `o` is negative or at least the bit width.
    fn shl(self, o: Self) -> Self;
    /// `self >> o` (arithmetic for signed types); saturates to 0 or -1 when `o` is
    /// negative or at least the bit width.
    fn shr(self, o: Self) -> Self;
}

macro_rules! int_ops {
    ($signed:tt: $($t:ty),*) => {$(
        impl IntOps for $t {
            #[inline(always)]
            fn w_add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)]
            fn w_sub(self, o: Self) -> Self { self.wrapping_sub(o) }
            #[inline(always)]
            fn w_mul(self, o: Self) -> Self { self.wrapping_mul(o) }
            #[inline(always)]
            fn w_neg(self) -> Self { self.wrapping_neg() }
            #[inline(always)]
            fn w_abs(self) -> Self { int_ops!(@abs $signed self) }
            #[inline(always)]
            fn sign(self) -> Self { (self > 0) as $t - int_ops!(@neg $signed self) }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn floor_div(self, o: Self) -> Self {
                if o == 0 {
                    return 0;
                }
                let q = self.wrapping_div(o);
                if int_ops!(@signed $signed) && self.wrapping_rem(o) != 0 && ((self < 0) != (o < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn py_rem(self, o: Self) -> Self {
                if o == 0 {
                    return self;
                }
                let r = self.wrapping_rem(o);
                if int_ops!(@signed $signed) && r != 0 && ((r < 0) != (o < 0)) {
                    r.wrapping_add(o)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn w_pow(self, e: Self) -> Self {
                #[allow(unused_comparisons)]
                if e < 0 {
                    return 0;
                }
                let (mut base, mut e, mut acc) = (self, e, 1 as $t);
                while e != 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn shl(self, o: Self) -> Self {
                #[allow(unused_comparisons)]
                if o < 0 || (o as u64) >= <$t>::BITS as u64 {
                    0
                } else {
                    self << o
                }
            }
            #[inline(always)]
            fn shr(self, o: Self) -> Self {
                #[allow(unused_comparisons)]
                if o < 0 || (o as u64) >= <$t>::BITS as u64 {
                    #[allow(unused_comparisons)]
                    if self < 0 { !0 } else { 0 }
                } else {
                    self >> o
                }
            }
        }
    )*};
    (@abs signed $x:ident) => { $x.wrapping_abs() };
    (@abs unsigned $x:ident) => { $x };
    (@neg signed $x:ident) => { ($x < 0) as Self };
    (@neg unsigned $x:ident) => { 0 };
    (@signed signed) => { true };
    (@signed unsigned) => { false };
}
int_ops!(signed: i8, i16, i32, i64);
int_ops!(unsigned: u8, u16, u32, u64);

/// Lexicographic order of complex numbers (real part first), as MLX compares them.
#[inline(always)]
fn c_lt(x: C, y: C) -> bool {
    x.re < y.re || (x.re == y.re && x.im < y.im)
}

/// Complex division that, like C's, gives infinities for a non-zero number over zero.
#[inline(always)]
pub fn c_div(x: C, y: C) -> C {
    let q = x / y;
    if q.re.is_nan()
        && q.im.is_nan()
        && y.re == 0.0
        && y.im == 0.0
        && !(x.re.is_nan() || x.im.is_nan())
    {
        let s = f32::INFINITY.copysign(y.re);
        C::new(s * x.re, s * x.im)
    } else {
        q
    }
}

/// `x ** y` for complex numbers: `exp(y * log(x))`.
#[inline(always)]
fn c_pow(x: C, y: C) -> C {
    (y * x.ln()).exp()
}

/// Stable `log(exp(x) + exp(y))`.
#[inline(always)]
fn logaddexp_f32(x: f32, y: f32) -> f32 {
    let (hi, lo) = if x > y || x.is_nan() { (x, y) } else { (y, x) };
    if lo == f32::NEG_INFINITY || hi == f32::INFINITY || hi.is_nan() {
        return hi;
    }
    hi + super::unary::fmath::exp_f32(lo - hi).ln_1p()
}

/// Stable `log(exp(x) + exp(y))`.
#[inline(always)]
fn logaddexp_f64(x: f64, y: f64) -> f64 {
    let (hi, lo) = if x > y || x.is_nan() { (x, y) } else { (y, x) };
    if lo == f64::NEG_INFINITY || hi == f64::INFINITY || hi.is_nan() {
        return hi;
    }
    hi + (lo - hi).exp().ln_1p()
}

/// `log(exp(x) + exp(y))` for complex numbers: `hi + log(1 + exp(lo - hi))` with `hi` the
/// lexicographically larger operand. Like MLX, the imaginary part is not wrapped back to the
/// principal branch.
#[inline(always)]
fn logaddexp_c(x: C, y: C) -> C {
    let (hi, lo) = if c_lt(y, x) { (x, y) } else { (y, x) };
    if lo.re == f32::NEG_INFINITY || hi.re == f32::INFINITY {
        return hi;
    }
    hi + ((lo - hi).exp() + C::new(1.0, 0.0)).ln()
}

/// Python's float remainder: the sign of the divisor.
macro_rules! py_fmod {
    ($x:expr, $y:expr) => {{
        let (x, y) = ($x, $y);
        let r = x % y;
        if r != 0.0 && ((r < 0.0) != (y < 0.0)) {
            r + y
        } else {
            r
        }
    }};
}

/// Dispatch an arithmetic op whose output has the inputs' dtype. `float` is written once
/// and instantiated for f32 and f64 (f16/bf16 go through f32); `complex` and `bool` are
/// full expressions giving the `Result<Data>`.
macro_rules! arith {
    ($a:expr, $b:expr,
     int |$ix:ident, $iy:ident| $ie:expr,
     float |$fx:ident, $fy:ident| $fe:expr,
     complex => $ce:expr,
     bool => $be:expr) => {{
        let (a, b): (&Array, &Array) = ($a, $b);
        match a.dtype() {
            Dtype::Bool => $be,
            Dtype::Complex64 => $ce,
            Dtype::Float32 => binary_map::<f32, f32, f32, _>(a, b, |$fx: f32, $fy: f32| $fe),
            Dtype::Float64 => binary_map::<f64, f64, f64, _>(a, b, |$fx: f64, $fy: f64| $fe),
            Dtype::Float16 => binary_map::<f16, f16, f16, _>(a, b, |x: f16, y: f16| {
                let ($fx, $fy) = (x.to_f32(), y.to_f32());
                f16::from_f32($fe)
            }),
            Dtype::Bfloat16 => binary_map::<bf16, bf16, bf16, _>(a, b, |x: bf16, y: bf16| {
                let ($fx, $fy) = (x.to_f32(), y.to_f32());
                bf16::from_f32($fe)
            }),
            dt => dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |$ix: T, $iy: T| $ie),
                _ => unreachable!("arith: every dtype is handled")),
        }
    }};
}

/// Dispatch a comparison (bool output) over every dtype; complex uses `complex`.
macro_rules! compare {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $e:expr, complex |$cx:ident, $cy:ident| $ce:expr) => {{
        let (a, b): (&Array, &Array) = ($a, $b);
        match a.dtype() {
            Dtype::Bool => binary_map::<bool, bool, bool, _>(a, b, |$x: bool, $y: bool| $e),
            Dtype::Complex64 => binary_map::<C, C, bool, _>(a, b, |$cx: C, $cy: C| $ce),
            dt => crate::dispatch_real!(dt, T => binary_map::<T, T, bool, _>(a, b, |$x: T, $y: T| $e),
                _ => unreachable!("compare: every dtype is handled")),
        }
    }};
}

fn unsupported(op: BinaryOp, dt: Dtype) -> Error {
    Error::Dtype(format!("[{}] Not supported for {dt}.", op.op_name()))
}

/// Evaluate `op` on the CPU. `a` and `b` have the same dtype and shape; `out` is the
/// output dtype (bool for comparisons and logical ops, else the input dtype).
pub fn binary_cpu(op: BinaryOp, a: &Array, b: &Array, out: Dtype) -> Result<Data> {
    use BinaryOp::*;
    let dt = a.dtype();
    let _ = out;
    match op {
        Add => arith!(a, b,
            int |x, y| x.w_add(y),
            float |x, y| x + y,
            complex => binary_map::<C, C, C, _>(a, b, |x, y| x + y),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x | y)),
        Subtract => arith!(a, b,
            int |x, y| x.w_sub(y),
            float |x, y| x - y,
            complex => binary_map::<C, C, C, _>(a, b, |x, y| x - y),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x ^ y)),
        Multiply => arith!(a, b,
            int |x, y| x.w_mul(y),
            float |x, y| x * y,
            complex => binary_map::<C, C, C, _>(a, b, |x, y| x * y),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & y)),
        Divide => arith!(a, b,
            int |x, y| x.floor_div(y),
            float |x, y| x / y,
            complex => binary_map::<C, C, C, _>(a, b, c_div),
            bool => Err(unsupported(op, dt))),
        FloorDivide => arith!(a, b,
            int |x, y| x.floor_div(y),
            float |x, y| (x / y).floor(),
            complex => binary_map::<C, C, C, _>(a, b, c_div),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & y)),
        Remainder => arith!(a, b,
            int |x, y| x.py_rem(y),
            float |x, y| py_fmod!(x, y),
            complex => Err(unsupported(op, dt)),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & !y)),
        Power => arith!(a, b,
            int |x, y| x.w_pow(y),
            float |x, y| x.powf(y),
            complex => binary_map::<C, C, C, _>(a, b, c_pow),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x | !y)),
        Maximum => arith!(a, b,
            int |x, y| if x > y { x } else { y },
            float |x, y| if x > y || x.is_nan() { x } else { y },
            complex => binary_map::<C, C, C, _>(a, b, |x, y| if c_lt(x, y) { y } else { x }),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x | y)),
        Minimum => arith!(a, b,
            int |x, y| if x < y { x } else { y },
            float |x, y| if x < y || x.is_nan() { x } else { y },
            complex => binary_map::<C, C, C, _>(a, b, |x, y| if c_lt(y, x) { y } else { x }),
            bool => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & y)),
        ArcTan2 => match dt {
            Dtype::Float32 => binary_map::<f32, f32, f32, _>(a, b, f32::atan2),
            Dtype::Float64 => binary_map::<f64, f64, f64, _>(a, b, f64::atan2),
            Dtype::Float16 => binary_map::<f16, f16, f16, _>(a, b, |x, y| {
                f16::from_f32(x.to_f32().atan2(y.to_f32()))
            }),
            Dtype::Bfloat16 => binary_map::<bf16, bf16, bf16, _>(a, b, |x, y| {
                bf16::from_f32(x.to_f32().atan2(y.to_f32()))
            }),
            _ => Err(unsupported(op, dt)),
        },
        LogAddExp => match dt {
            Dtype::Float32 => binary_map::<f32, f32, f32, _>(a, b, logaddexp_f32),
            Dtype::Float64 => binary_map::<f64, f64, f64, _>(a, b, logaddexp_f64),
            Dtype::Float16 => binary_map::<f16, f16, f16, _>(a, b, |x, y| {
                f16::from_f32(logaddexp_f32(x.to_f32(), y.to_f32()))
            }),
            Dtype::Bfloat16 => binary_map::<bf16, bf16, bf16, _>(a, b, |x, y| {
                bf16::from_f32(logaddexp_f32(x.to_f32(), y.to_f32()))
            }),
            Dtype::Complex64 => binary_map::<C, C, C, _>(a, b, logaddexp_c),
            _ => Err(unsupported(op, dt)),
        },
        Equal => compare!(a, b, |x, y| x == y, complex | x, y | x == y),
        NotEqual => compare!(a, b, |x, y| x != y, complex | x, y | x != y),
        // bool compares as false < true (the macro instantiates these for bool too).
        #[allow(clippy::bool_comparison)]
        Less => compare!(a, b, |x, y| x < y, complex | x, y | c_lt(x, y)),
        LessEqual => compare!(a, b, |x, y| x <= y, complex | x, y | !c_lt(y, x)),
        #[allow(clippy::bool_comparison)]
        Greater => compare!(a, b, |x, y| x > y, complex | x, y | c_lt(y, x)),
        GreaterEqual => compare!(a, b, |x, y| x >= y, complex | x, y | !c_lt(x, y)),
        LogicalAnd | LogicalOr | LogicalXor => {
            if dt != Dtype::Bool {
                return Err(unsupported(op, dt));
            }
            match op {
                LogicalAnd => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & y),
                LogicalOr => binary_map::<bool, bool, bool, _>(a, b, |x, y| x | y),
                _ => binary_map::<bool, bool, bool, _>(a, b, |x, y| x ^ y),
            }
        }
        BitwiseAnd | BitwiseOr | BitwiseXor => match (op, dt) {
            (BitwiseAnd, Dtype::Bool) => binary_map::<bool, bool, bool, _>(a, b, |x, y| x & y),
            (BitwiseOr, Dtype::Bool) => binary_map::<bool, bool, bool, _>(a, b, |x, y| x | y),
            (_, Dtype::Bool) => binary_map::<bool, bool, bool, _>(a, b, |x, y| x ^ y),
            (BitwiseAnd, _) => {
                dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |x: T, y: T| x & y),
                _ => Err(unsupported(op, dt)))
            }
            (BitwiseOr, _) => {
                dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |x: T, y: T| x | y),
                _ => Err(unsupported(op, dt)))
            }
            _ => dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |x: T, y: T| x ^ y),
                _ => Err(unsupported(op, dt))),
        },
        LeftShift => dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |x: T, y: T| x.shl(y)),
            _ => Err(unsupported(op, dt))),
        RightShift => dispatch_int!(dt, T => binary_map::<T, T, T, _>(a, b, |x: T, y: T| x.shr(y)),
            _ => Err(unsupported(op, dt))),
    }
}

/// `divmod` on the CPU: the floor quotient and the remainder.
pub fn divmod_cpu(a: &Array, b: &Array) -> Result<(Data, Data)> {
    let dt = a.dtype();
    // Extra handles keep the first pass from donating an input the second pass reads.
    let (_keep_a, _keep_b) = (a.clone(), b.clone());
    let q = binary_cpu(BinaryOp::FloorDivide, a, b, dt)?;
    let r = binary_cpu(BinaryOp::Remainder, a, b, dt)?;
    Ok((q, r))
}
