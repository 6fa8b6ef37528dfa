//! Data types: the `Dtype` enum, MLX's type-promotion table, the `Element` trait that ties
//! a Rust scalar type to its dtype, and the `dispatch_*` macros that instantiate a generic
//! body once per dtype.

use half::{bf16, f16};
use num_complex::Complex32;
use std::fmt;

/// The element type of an array (MLX's `Dtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dtype {
    Bool,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Int8,
    Int16,
    Int32,
    Int64,
    Float16,
    Bfloat16,
    Float32,
    Float64,
    Complex64,
}

/// MLX's dtype categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtypeCategory {
    Bool,
    UnsignedInteger,
    SignedInteger,
    Floating,
    ComplexFloating,
}

impl Dtype {
    /// All dtypes, in MLX's order.
    pub const ALL: [Dtype; 14] = [
        Dtype::Bool,
        Dtype::Uint8,
        Dtype::Uint16,
        Dtype::Uint32,
        Dtype::Uint64,
        Dtype::Int8,
        Dtype::Int16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Complex64,
    ];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        use Dtype::*;
        match self {
            Bool | Uint8 | Int8 => 1,
            Uint16 | Int16 | Float16 | Bfloat16 => 2,
            Uint32 | Int32 | Float32 => 4,
            Uint64 | Int64 | Float64 | Complex64 => 8,
        }
    }

    /// The dtype's category.
    pub fn category(self) -> DtypeCategory {
        use Dtype::*;
        match self {
            Bool => DtypeCategory::Bool,
            Uint8 | Uint16 | Uint32 | Uint64 => DtypeCategory::UnsignedInteger,
            Int8 | Int16 | Int32 | Int64 => DtypeCategory::SignedInteger,
            Float16 | Bfloat16 | Float32 | Float64 => DtypeCategory::Floating,
            Complex64 => DtypeCategory::ComplexFloating,
        }
    }

    /// Real floating point (f16, bf16, f32, f64).
    pub fn is_floating(self) -> bool {
        self.category() == DtypeCategory::Floating
    }
    /// Complex.
    pub fn is_complex(self) -> bool {
        self == Dtype::Complex64
    }
    /// Floating or complex (MLX's `inexact`).
    pub fn is_inexact(self) -> bool {
        self.is_floating() || self.is_complex()
    }
    /// Signed or unsigned integer (not bool).
    pub fn is_integer(self) -> bool {
        matches!(
            self.category(),
            DtypeCategory::UnsignedInteger | DtypeCategory::SignedInteger
        )
    }
    /// Unsigned integer.
    pub fn is_unsigned(self) -> bool {
        self.category() == DtypeCategory::UnsignedInteger
    }
    /// Signed integer.
    pub fn is_signed_integer(self) -> bool {
        self.category() == DtypeCategory::SignedInteger
    }
    /// MLX's name of the dtype (`float32`, `bfloat16`, ...).
    pub fn name(self) -> &'static str {
        use Dtype::*;
        match self {
            Bool => "bool",
            Uint8 => "uint8",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Uint64 => "uint64",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            Float16 => "float16",
            Bfloat16 => "bfloat16",
            Float32 => "float32",
            Float64 => "float64",
            Complex64 => "complex64",
        }
    }
    /// Parse MLX's name of a dtype.
    pub fn from_name(name: &str) -> Option<Dtype> {
        Dtype::ALL.iter().copied().find(|d| d.name() == name)
    }

    /// The real dtype underlying a complex one (complex64 → float32); others unchanged.
    pub fn real_part(self) -> Dtype {
        if self.is_complex() {
            Dtype::Float32
        } else {
            self
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// MLX's `promote_types`: the dtype two arrays combine into.
pub fn promote_types(a: Dtype, b: Dtype) -> Dtype {
    use Dtype::*;
    if a == b {
        return a;
    }
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    match (lo, hi) {
        (Bool, x) => x,
        (_, Complex64) => Complex64,
        // unsigned with unsigned: the wider one
        (Uint8 | Uint16 | Uint32, Uint16 | Uint32 | Uint64) => hi,
        // unsigned with signed
        (Uint8, Int8 | Int16) => Int16,
        (Uint8, Int32) => Int32,
        (Uint8, Int64) => Int64,
        (Uint16, Int8 | Int16 | Int32) => Int32,
        (Uint16, Int64) => Int64,
        (Uint32, Int8 | Int16 | Int32 | Int64) => Int64,
        (Uint64, Int8 | Int16 | Int32 | Int64) => Float32,
        // signed with signed: the wider one
        (Int8 | Int16 | Int32, Int16 | Int32 | Int64) => hi,
        // integer with float: the float
        (Uint8 | Uint16 | Uint32 | Uint64 | Int8 | Int16 | Int32 | Int64, f) => f,
        // floats
        (Float16, Bfloat16) => Float32,
        (Float16 | Bfloat16, Float32) => Float32,
        (Float16 | Bfloat16 | Float32, Float64) => Float64,
        _ => unreachable!("promote_types: unhandled pair {lo:?} {hi:?}"),
    }
}

/// A Rust scalar type that is the element of some dtype.
pub trait Element:
    Copy + Send + Sync + 'static + Default + PartialEq + fmt::Debug
{
    /// The dtype of this element type.
    const DTYPE: Dtype;
    /// Convert to f64 (complex: real part; bool: 0/1).
    fn to_f64(self) -> f64;
    /// Convert to i64 (floats truncate and saturate, NaN → 0).
    fn to_i64(self) -> i64;
    /// Convert to u64 (floats truncate and saturate, NaN → 0).
    fn to_u64(self) -> u64;
    /// Convert to bool (non-zero is true).
    fn to_bool(self) -> bool;
    /// Convert to complex64.
    fn to_c64(self) -> Complex32;
    /// Convert from f64.
    fn from_f64(v: f64) -> Self;
    /// Convert from i64.
    fn from_i64(v: i64) -> Self;
    /// Convert from u64.
    fn from_u64(v: u64) -> Self;
    /// Convert from bool.
    fn from_bool(v: bool) -> Self;
    /// Convert from complex64 (real dtypes take the real part).
    fn from_c64(v: Complex32) -> Self;
    /// Convert to another element type with MLX's `astype` semantics.
    #[inline(always)]
    fn cast<U: Element>(self) -> U {
        match U::DTYPE.category() {
            DtypeCategory::Bool => U::from_bool(self.to_bool()),
            DtypeCategory::UnsignedInteger => {
                if Self::DTYPE.is_signed_integer() {
                    U::from_i64(self.to_i64())
                } else {
                    U::from_u64(self.to_u64())
                }
            }
            DtypeCategory::SignedInteger => {
                if Self::DTYPE.is_unsigned() {
                    U::from_u64(self.to_u64())
                } else {
                    U::from_i64(self.to_i64())
                }
            }
            DtypeCategory::Floating => {
                if Self::DTYPE == Dtype::Float64 || Self::DTYPE.is_floating() {
                    U::from_f64(self.to_f64())
                } else if Self::DTYPE.is_unsigned() {
                    U::from_u64(self.to_u64())
                } else if Self::DTYPE.is_complex() {
                    U::from_f64(self.to_f64())
                } else {
                    U::from_i64(self.to_i64())
                }
            }
            DtypeCategory::ComplexFloating => U::from_c64(self.to_c64()),
        }
    }
}

macro_rules! impl_int_element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                self as u64
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                self != 0
            }
            #[inline(always)]
            fn to_c64(self) -> Complex32 {
                Complex32::new(self as f32, 0.0)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_bool(v: bool) -> Self {
                v as $t
            }
            #[inline(always)]
            fn from_c64(v: Complex32) -> Self {
                v.re as $t
            }
        }
    };
}
impl_int_element!(u8, Uint8);
impl_int_element!(u16, Uint16);
impl_int_element!(u32, Uint32);
impl_int_element!(u64, Uint64);
impl_int_element!(i8, Int8);
impl_int_element!(i16, Int16);
impl_int_element!(i32, Int32);
impl_int_element!(i64, Int64);

/// `bool` stored as one byte (0 or 1).
impl Element for bool {
    const DTYPE: Dtype = Dtype::Bool;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self as i64
    }
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn to_bool(self) -> bool {
        self
    }
    #[inline(always)]
    fn to_c64(self) -> Complex32 {
        Complex32::new(self as u8 as f32, 0.0)
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn from_u64(v: u64) -> Self {
        v != 0
    }
    #[inline(always)]
    fn from_bool(v: bool) -> Self {
        v
    }
    #[inline(always)]
    fn from_c64(v: Complex32) -> Self {
        v.re != 0.0 || v.im != 0.0
    }
}

macro_rules! impl_float_element {
    ($t:ty, $d:ident, $to:expr, $from:expr) => {
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                ($to)(self)
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                ($to)(self) as i64
            }
            #[inline(always)]
            fn to_u64(self) -> u64 {
                let v: f64 = ($to)(self);
                if v < 0.0 {
                    (v as i64) as u64
                } else {
                    v as u64
                }
            }
            #[inline(always)]
            fn to_bool(self) -> bool {
                ($to)(self) != 0.0
            }
            #[inline(always)]
            fn to_c64(self) -> Complex32 {
                Complex32::new(($to)(self) as f32, 0.0)
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                ($from)(v)
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                ($from)(v as f64)
            }
            #[inline(always)]
            fn from_u64(v: u64) -> Self {
                ($from)(v as f64)
            }
            #[inline(always)]
            fn from_bool(v: bool) -> Self {
                ($from)(v as u8 as f64)
            }
            #[inline(always)]
            fn from_c64(v: Complex32) -> Self {
                ($from)(v.re as f64)
            }
        }
    };
}
impl_float_element!(f32, Float32, |x: f32| x as f64, |v: f64| v as f32);
impl_float_element!(f64, Float64, |x: f64| x, |v: f64| v);
impl_float_element!(f16, Float16, |x: f16| x.to_f64(), f16::from_f64);
impl_float_element!(bf16, Bfloat16, |x: bf16| x.to_f64(), bf16::from_f64);

impl Element for Complex32 {
    const DTYPE: Dtype = Dtype::Complex64;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.re as f64
    }
    #[inline(always)]
    fn to_i64(self) -> i64 {
        self.re as i64
    }
    #[inline(always)]
    fn to_u64(self) -> u64 {
        self.re as u64
    }
    #[inline(always)]
    fn to_bool(self) -> bool {
        self.re != 0.0 || self.im != 0.0
    }
    #[inline(always)]
    fn to_c64(self) -> Complex32 {
        self
    }
    #[inline(always)]
    fn from_f64(v: f64) -> Self {
        Complex32::new(v as f32, 0.0)
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        Complex32::new(v as f32, 0.0)
    }
    #[inline(always)]
    fn from_u64(v: u64) -> Self {
        Complex32::new(v as f32, 0.0)
    }
    #[inline(always)]
    fn from_bool(v: bool) -> Self {
        Complex32::new(v as u8 as f32, 0.0)
    }
    #[inline(always)]
    fn from_c64(v: Complex32) -> Self {
        v
    }
}

/// Run `$body` with the type alias `$T` bound to the element type of `$dt` (any dtype).
#[macro_export]
macro_rules! dispatch_all {
    ($dt:expr, $T:ident => $body:expr) => {{
        use $crate::Dtype as __D;
        match $dt {
            __D::Bool => { type $T = bool; $body }
            __D::Uint8 => { type $T = u8; $body }
            __D::Uint16 => { type $T = u16; $body }
            __D::Uint32 => { type $T = u32; $body }
            __D::Uint64 => { type $T = u64; $body }
            __D::Int8 => { type $T = i8; $body }
            __D::Int16 => { type $T = i16; $body }
            __D::Int32 => { type $T = i32; $body }
            __D::Int64 => { type $T = i64; $body }
            __D::Float16 => { type $T = $crate::half::f16; $body }
            __D::Bfloat16 => { type $T = $crate::half::bf16; $body }
            __D::Float32 => { type $T = f32; $body }
            __D::Float64 => { type $T = f64; $body }
            __D::Complex64 => { type $T = $crate::Complex32; $body }
        }
    }};
}

/// Like `dispatch_all!` for the real numeric dtypes (ints and floats, not bool or complex);
/// other dtypes evaluate `$other`.
#[macro_export]
macro_rules! dispatch_real {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::Dtype as __D;
        match $dt {
            __D::Uint8 => { type $T = u8; $body }
            __D::Uint16 => { type $T = u16; $body }
            __D::Uint32 => { type $T = u32; $body }
            __D::Uint64 => { type $T = u64; $body }
            __D::Int8 => { type $T = i8; $body }
            __D::Int16 => { type $T = i16; $body }
            __D::Int32 => { type $T = i32; $body }
            __D::Int64 => { type $T = i64; $body }
            __D::Float16 => { type $T = $crate::half::f16; $body }
            __D::Bfloat16 => { type $T = $crate::half::bf16; $body }
            __D::Float32 => { type $T = f32; $body }
            __D::Float64 => { type $T = f64; $body }
            _ => $other,
        }
    }};
}

/// Like `dispatch_all!` for the real floating dtypes; other dtypes evaluate `$other`.
#[macro_export]
macro_rules! dispatch_float {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::Dtype as __D;
        match $dt {
            __D::Float16 => { type $T = $crate::half::f16; $body }
            __D::Bfloat16 => { type $T = $crate::half::bf16; $body }
            __D::Float32 => { type $T = f32; $body }
            __D::Float64 => { type $T = f64; $body }
            _ => $other,
        }
    }};
}

/// Like `dispatch_all!` for the integer dtypes (signed and unsigned, not bool); other
/// dtypes evaluate `$other`.
#[macro_export]
macro_rules! dispatch_int {
    ($dt:expr, $T:ident => $body:expr, _ => $other:expr) => {{
        use $crate::Dtype as __D;
        match $dt {
            __D::Uint8 => { type $T = u8; $body }
            __D::Uint16 => { type $T = u16; $body }
            __D::Uint32 => { type $T = u32; $body }
            __D::Uint64 => { type $T = u64; $body }
            __D::Int8 => { type $T = i8; $body }
            __D::Int16 => { type $T = i16; $body }
            __D::Int32 => { type $T = i32; $body }
            __D::Int64 => { type $T = i64; $body }
            _ => $other,
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn promotion_symmetric_and_known_pairs() {
        for &a in &Dtype::ALL {
            for &b in &Dtype::ALL {
                assert_eq!(promote_types(a, b), promote_types(b, a));
            }
        }
        assert_eq!(promote_types(Dtype::Uint8, Dtype::Int8), Dtype::Int16);
        assert_eq!(promote_types(Dtype::Uint64, Dtype::Int8), Dtype::Float32);
        assert_eq!(promote_types(Dtype::Float16, Dtype::Bfloat16), Dtype::Float32);
        assert_eq!(promote_types(Dtype::Int64, Dtype::Float16), Dtype::Float16);
        assert_eq!(promote_types(Dtype::Float64, Dtype::Complex64), Dtype::Complex64);
    }
}
