//! The CPU kernels of `ToFP8` / `FromFP8`: conversions between the real floating types
//! and fp8 E4M3 (the "FN" variant: 4 exponent bits with bias 7, 3 mantissa bits, no
//! infinities, `0x7F` / `0xFF` the only NaNs, largest finite value 448) stored as uint8,
//! with MLX's rounding: round to nearest, ties to even (subnormals included), and every
//! magnitude at or above 448 — infinities and NaN too — saturating to ±448 by its sign.

use super::elementwise::unary_map;
use crate::array::{Array, Data};
use crate::dtype::{Dtype, Element};

use crate::error::{Error, Result};

/// The largest finite E4M3 magnitude.
const MAX: f64 = 448.0;
/// The smallest normal E4M3 magnitude, `2^-6`.
const MIN_NORMAL: f64 = 0.015625;

/// `x` as E4M3 bits (MLX's rounding and saturation).
#[inline]
pub fn e4m3_from_f64(x: f64) -> u8 {
    let sign = if x.is_sign_negative() { 0x80u8 } else { 0 };
    let a = x.abs();
    if a.is_nan() || a >= MAX {
        return sign | 0x7E;
    }
    if a < MIN_NORMAL {
        // Subnormals are multiples of 2^-9; 8 of them round up to the smallest normal,
        // whose code is 8 as well.
        return sign | (a * 512.0).round_ties_even() as u8;
    }
    let mut e = ((a.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let m = a / f64::powi(2.0, e);
    let mut q = ((m - 1.0) * 8.0).round_ties_even() as i32;
    if q == 8 {
        q = 0;
        e += 1;
    }
    // a < 448 keeps the code at or below 0x7E (448 itself).
    sign | (((e + 7) << 3) as u8 | q as u8)
}

/// The value of the E4M3 bits `c` (NaN for `0x7F` / `0xFF`).
#[inline]
pub fn e4m3_to_f64(c: u8) -> f64 {
    let sign = if c & 0x80 != 0 { -1.0 } else { 1.0 };
    let e = ((c >> 3) & 0xF) as i32;
    let m = (c & 7) as f64;
    if c & 0x7F == 0x7F {
        return f64::NAN;
    }
    let v = if e == 0 {
        m / 512.0
    } else {
        (1.0 + m / 8.0) * f64::powi(2.0, e - 7)
    };
    sign * v
}

/// `x` (float16, bfloat16, float32 or float64) converted to E4M3 bits (uint8).
pub fn to_fp8(x: &Array) -> Result<Data> {
    crate::dispatch_float!(x.dtype(), T => unary_map::<T, u8, _>(x, |v: T| e4m3_from_f64(v.to_f64())),
    _ => Err(Error::Dtype(format!(
        "[to_fp8] Only real floating types are supported but x.dtype() == {}.",
        x.dtype()
    ))))
}

/// The E4M3 bits of `x` (uint8) converted to `dtype` (a real floating type; every E4M3
/// value is exact in each). The NaN codes decode to MLX's NaN bit patterns: float32
/// `0x7FF00000` and float16 `0x7D00` with the code's sign, bfloat16 `0x7FC0` whatever the
/// sign (float64: a NaN with the code's sign).
pub fn from_fp8(x: &Array, dtype: Dtype) -> Result<Data> {
    let neg = |c: u8| c & 0x80 != 0;
    let is_nan = |c: u8| c & 0x7F == 0x7F;
    match dtype {
        Dtype::Float32 => unary_map::<u8, f32, _>(x, move |c: u8| {
            if is_nan(c) {
                f32::from_bits(0x7FF0_0000 | ((neg(c) as u32) << 31))
            } else {
                e4m3_to_f64(c) as f32
            }
        }),
        Dtype::Float16 => unary_map::<u8, half::f16, _>(x, move |c: u8| {
            if is_nan(c) {
                half::f16::from_bits(0x7D00 | ((neg(c) as u16) << 15))
            } else {
                half::f16::from_f64(e4m3_to_f64(c))
            }
        }),
        Dtype::Bfloat16 => unary_map::<u8, half::bf16, _>(x, move |c: u8| {
            if is_nan(c) {
                half::bf16::from_bits(0x7FC0)
            } else {
                half::bf16::from_f64(e4m3_to_f64(c))
            }
        }),
        Dtype::Float64 => unary_map::<u8, f64, _>(x, move |c: u8| {
            let v = e4m3_to_f64(c);
            if neg(c) {
                -v.abs()
            } else {
                v
            }
        }),
        _ => Err(Error::Dtype(format!(
            "[from_fp8] Only real floating types are supported but dtype == {dtype}."
        ))),
    }
}
