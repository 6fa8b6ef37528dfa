//! Operator sugar for arrays: `+ - * / % & | ^ << >>`, unary `-` and `!`.
//!
//! Every operator returns `Result<Array>` (`type Output = Result<Array>`), so a bad
//! combination (shapes that do not broadcast, `&` on floats, a scalar that overflows the
//! array's dtype) is an error to handle, never a panic:
//!
//! ```
//! use mlxr::Array;
//! let a = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
//! let b = Array::from_slice(&[3.0f32, 4.0], &[2]).unwrap();
//! let c = ((&a + &b).unwrap() * 2.0).unwrap();
//! assert_eq!(c.to_vec::<f32>().unwrap(), vec![8.0, 12.0]);
//! let d = (2.0f32 - &a).unwrap(); // scalars on the left work too
//! assert_eq!(d.to_vec::<f32>().unwrap(), vec![1.0, 0.0]);
//! assert!((&a & &b).is_err()); // bitwise ops need integers or bools
//! ```
//!
//! Operands may be `Array` or `&Array` on either side, or a Rust scalar (on the right:
//! any [`ScalarOperand`] — `f32`, `f64`, integers, `bool`, `Complex32`; on the left:
//! `f32`, `f64`, `i32` — one integer type so that `1 - &a` infers). Unsuffixed literals
//! work: `&a * 2.0`, `1 - &a`. Scalars are weakly
//! typed as in MLX: `a_f16 * 2.0` stays float16, `int_array + 2.5` is float32.
//! `/` is true division, `%` is `remainder` (the divisor's sign), `!` is
//! `bitwise_invert` (for bool arrays, logical not), `-` is `negative`.

use super::binary::{
    add, bitwise_and, bitwise_or, bitwise_xor, divide, left_shift, multiply, remainder,
    right_shift, subtract,
};
use super::unary::{bitwise_invert, negative};
use super::ToOperand;
use crate::array::Array;
use crate::error::Result;
use num_complex::Complex32;
use std::ops;

/// Rust scalars that may appear on the right of an array operator (`&a * 2.0`). One
/// generic impl per operator (rather than one per scalar type) lets unsuffixed literals
/// infer: `&a * 2.0` and `&a + 1` need no `f32`/`i32` suffix.
pub trait ScalarOperand: ToOperand {}
macro_rules! scalar_operand {
    ($($t:ty),*) => {$(impl ScalarOperand for $t {})*};
}
scalar_operand!(f32, f64, i8, i16, i32, i64, u8, u16, u32, bool, Complex32);

macro_rules! binary_operator {
    ($Trait:ident, $method:ident, $f:ident) => {
        impl ops::$Trait<&Array> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl ops::$Trait<Array> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl ops::$Trait<&Array> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl ops::$Trait<Array> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl<T: ScalarOperand> ops::$Trait<T> for &Array {
            type Output = Result<Array>;
            fn $method(self, rhs: T) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl<T: ScalarOperand> ops::$Trait<T> for Array {
            type Output = Result<Array>;
            fn $method(self, rhs: T) -> Result<Array> {
                $f(self, rhs)
            }
        }
        binary_operator!(@left $Trait, $method, $f, f32, f64, i32);
    };
    (@left $Trait:ident, $method:ident, $f:ident, $($t:ty),*) => {$(
        impl ops::$Trait<&Array> for $t {
            type Output = Result<Array>;
            fn $method(self, rhs: &Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
        impl ops::$Trait<Array> for $t {
            type Output = Result<Array>;
            fn $method(self, rhs: Array) -> Result<Array> {
                $f(self, rhs)
            }
        }
    )*};
}

binary_operator!(Add, add, add);
binary_operator!(Sub, sub, subtract);
binary_operator!(Mul, mul, multiply);
binary_operator!(Div, div, divide);
binary_operator!(Rem, rem, remainder);
binary_operator!(BitAnd, bitand, bitwise_and);
binary_operator!(BitOr, bitor, bitwise_or);
binary_operator!(BitXor, bitxor, bitwise_xor);
binary_operator!(Shl, shl, left_shift);
binary_operator!(Shr, shr, right_shift);

impl ops::Neg for &Array {
    type Output = Result<Array>;
    fn neg(self) -> Result<Array> {
        negative(self)
    }
}
impl ops::Neg for Array {
    type Output = Result<Array>;
    fn neg(self) -> Result<Array> {
        negative(&self)
    }
}
impl ops::Not for &Array {
    type Output = Result<Array>;
    fn not(self) -> Result<Array> {
        bitwise_invert(self)
    }
}
impl ops::Not for Array {
    type Output = Result<Array>;
    fn not(self) -> Result<Array> {
        bitwise_invert(&self)
    }
}
