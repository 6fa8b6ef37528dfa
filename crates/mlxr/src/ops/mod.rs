//! The user-facing ops, with MLX's names and semantics. Each op validates its inputs
//! (returning an `Error` that names the op and the offending shapes/axes/dtypes) and builds
//! a graph node; nothing is computed until evaluation. Ops run on the current default
//! stream (see [`crate::with_stream`]). Files mirror `primitives/`.

pub mod advanced_indexing;
pub mod arith;
pub mod binary;
pub mod cast;
pub mod conv;
pub mod creation;
pub mod einsum;
pub mod fast;
pub mod fft;
pub mod indexing;
pub mod linalg;
pub mod optim;
pub mod qqmm;
pub mod quantized;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod slicing;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;

pub use advanced_indexing::*;
pub use arith::ScalarOperand;
pub use binary::*;
pub use cast::*;
pub use conv::*;
pub use creation::*;
pub use einsum::*;
pub use fast::*;
pub use indexing::*;
pub use linalg::*;
pub use qqmm::*;
pub use quantized::*;
pub use reduce::*;
pub use scan::*;
pub use shape::*;
pub use slicing::*;
pub use softmax::*;
pub use sort::*;
pub use ternary::*;
pub use unary::*;

use crate::array::Array;
use crate::device::{Stream, StreamOrDevice};
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use num_complex::Complex32;

/// The stream ops built now run on.
pub(crate) fn stream() -> Stream {
    StreamOrDevice::Default.resolve()
}

/// Turn a possibly negative axis into an index in `0..ndim`, or an error naming `op`.
pub fn normalize_axis(axis: isize, ndim: usize, op: &str) -> Result<usize> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(Error::InvalidArgument(format!(
            "{op}: axis {axis} is out of bounds for an array with {ndim} dimensions"
        )));
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

/// Normalise a list of axes (negative allowed); duplicates are an error. Sorted ascending.
pub fn normalize_axes(axes: &[isize], ndim: usize, op: &str) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        out.push(normalize_axis(a, ndim, op)?);
    }
    out.sort_unstable();
    for w in out.windows(2) {
        if w[0] == w[1] {
            return Err(Error::InvalidArgument(format!(
                "{op}: duplicate axis {} in {:?}",
                w[0], axes
            )));
        }
    }
    Ok(out)
}

/// NumPy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize], op: &str) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(Error::Shape(format!(
                "{op}: shapes {a:?} and {b:?} cannot be broadcast together"
            )));
        };
    }
    Ok(out)
}

/// A Rust scalar used as an op argument. Like Python scalars in MLX, it is *weakly
/// typed*: it takes the dtype of the array it meets when that dtype can hold its kind
/// (`a_f16 * 2.0` stays float16, `a_i8 + 1` stays int8).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// A boolean (combines like a bool array).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A complex number.
    Complex(Complex32),
}

impl Scalar {
    /// The dtype this scalar takes on its own (no array to follow).
    pub fn default_dtype(&self) -> Dtype {
        match self {
            Scalar::Bool(_) => Dtype::Bool,
            Scalar::Int(_) => Dtype::Int32,
            Scalar::Float(_) => Dtype::Float32,
            Scalar::Complex(_) => Dtype::Complex64,
        }
    }
    /// The dtype this scalar takes next to an array of dtype `d`.
    pub fn weak_dtype(&self, d: Dtype) -> Dtype {
        match self {
            Scalar::Bool(_) => d,
            Scalar::Int(_) => {
                if d == Dtype::Bool {
                    Dtype::Int32
                } else {
                    d
                }
            }
            Scalar::Float(_) => {
                if d.is_inexact() {
                    d
                } else {
                    Dtype::Float32
                }
            }
            Scalar::Complex(_) => Dtype::Complex64,
        }
    }
    /// A 0-d array of `dtype` holding this value; an error when an integer does not fit
    /// an integer dtype (as MLX: "Converting 300 to uint8 would result in overflow").
    pub fn to_array_checked(&self, dtype: Dtype) -> Result<Array> {
        if let Scalar::Int(v) = *self {
            let fits = match dtype {
                Dtype::Uint8 => u8::try_from(v).is_ok(),
                Dtype::Uint16 => u16::try_from(v).is_ok(),
                Dtype::Uint32 => u32::try_from(v).is_ok(),
                Dtype::Uint64 => v >= 0,
                Dtype::Int8 => i8::try_from(v).is_ok(),
                Dtype::Int16 => i16::try_from(v).is_ok(),
                Dtype::Int32 => i32::try_from(v).is_ok(),
                _ => true,
            };
            if !fits {
                return Err(Error::InvalidArgument(format!(
                    "Converting {v} to {dtype} would result in overflow."
                )));
            }
        }
        Ok(self.to_array(dtype))
    }

    /// A 0-d array of `dtype` holding this value (integers wrap if out of range).
    pub fn to_array(&self, dtype: Dtype) -> Array {
        let a = match *self {
            Scalar::Bool(v) => Array::scalar(v),
            Scalar::Int(v) => Array::scalar(v),
            Scalar::Float(v) => Array::scalar(v),
            Scalar::Complex(v) => Array::scalar(v),
        };
        if a.dtype() == dtype {
            a
        } else {
            // Convert eagerly: the value is known, and the result is a constant.
            let d = a.data().expect("host scalar");
            let c = crate::backend::cpu::copy::copy_to_contiguous(&d, &[], a.dtype(), dtype)
                .expect("host scalar");
            Array::from_data(c, vec![], dtype, stream())
        }
    }
}

/// An op argument: an array or a weakly typed scalar.
#[derive(Clone, Debug)]
pub enum Operand {
    /// An array (strongly typed).
    Array(Array),
    /// A scalar (weakly typed).
    Scalar(Scalar),
}

/// Things that can be passed where an op takes an array: arrays (owned or borrowed) and
/// Rust scalars (weakly typed, see [`Scalar`]).
pub trait ToOperand {
    /// Convert to an operand.
    fn to_operand(self) -> Operand;
}
impl ToOperand for &Array {
    fn to_operand(self) -> Operand {
        Operand::Array(self.clone())
    }
}
impl ToOperand for Array {
    fn to_operand(self) -> Operand {
        Operand::Array(self)
    }
}
impl ToOperand for &&Array {
    fn to_operand(self) -> Operand {
        Operand::Array((*self).clone())
    }
}
impl ToOperand for Operand {
    fn to_operand(self) -> Operand {
        self
    }
}
impl ToOperand for Scalar {
    fn to_operand(self) -> Operand {
        Operand::Scalar(self)
    }
}
impl ToOperand for bool {
    fn to_operand(self) -> Operand {
        Operand::Scalar(Scalar::Bool(self))
    }
}
macro_rules! int_operand {
    ($($t:ty),*) => {$(
        impl ToOperand for $t {
            fn to_operand(self) -> Operand {
                Operand::Scalar(Scalar::Int(self as i64))
            }
        }
    )*};
}
int_operand!(i8, i16, i32, i64, u8, u16, u32, usize, isize);
impl ToOperand for f32 {
    fn to_operand(self) -> Operand {
        Operand::Scalar(Scalar::Float(self as f64))
    }
}
impl ToOperand for f64 {
    fn to_operand(self) -> Operand {
        Operand::Scalar(Scalar::Float(self))
    }
}
impl ToOperand for Complex32 {
    fn to_operand(self) -> Operand {
        Operand::Scalar(Scalar::Complex(self))
    }
}

impl Operand {
    /// The operand as an array; scalars get their default dtype.
    pub fn into_array(self) -> Array {
        match self {
            Operand::Array(a) => a,
            Operand::Scalar(s) => s.to_array(s.default_dtype()),
        }
    }
}

/// An array from any operand (scalars take their default dtype: int32, float32, bool,
/// complex64).
pub fn to_array(x: impl ToOperand) -> Array {
    x.to_operand().into_array()
}

/// MLX's `result_type` for two operands, with scalars weakly typed.
pub fn result_type(a: &Operand, b: &Operand) -> Dtype {
    match (a, b) {
        (Operand::Array(a), Operand::Array(b)) => promote_types(a.dtype(), b.dtype()),
        (Operand::Array(a), Operand::Scalar(s)) | (Operand::Scalar(s), Operand::Array(a)) => {
            s.weak_dtype(a.dtype())
        }
        (Operand::Scalar(x), Operand::Scalar(y)) => {
            promote_types(x.default_dtype(), y.default_dtype())
        }
    }
}

/// Convert two operands to arrays of their common dtype (MLX's promotion, scalars weak).
pub fn promote_operands(a: impl ToOperand, b: impl ToOperand) -> Result<(Array, Array)> {
    let (a, b) = (a.to_operand(), b.to_operand());
    let dt = result_type(&a, &b);
    let conv = |o: Operand| -> Result<Array> {
        match o {
            Operand::Array(x) => astype(&x, dt),
            Operand::Scalar(s) => s.to_array_checked(dt),
        }
    };
    Ok((conv(a)?, conv(b)?))
}
