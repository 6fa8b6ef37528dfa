//! Unary elementwise primitives: `Unary { op }` (one `UnaryOp` per MLX unary op: `exp`,
//! `sin`, `abs`, `isnan`, ...) and `StopGradient` (the identity, with its own type since
//! its derivative is zero).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::unary::unary_cpu;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use std::any::Any;

/// The operation of a [`Unary`] primitive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    /// `|x|` (complex → float32 magnitude).
    Abs,
    /// `-x` (integers wrap).
    Negative,
    /// `-1`, `0` or `1` (`0` for NaN; complex: `x / |x|`).
    Sign,
    /// `e^x`.
    Exp,
    /// `e^x - 1`.
    Expm1,
    /// Natural logarithm.
    Log,
    /// `log(1 + x)`.
    Log1p,
    /// Base-2 logarithm.
    Log2,
    /// Base-10 logarithm.
    Log10,
    /// Square root.
    Sqrt,
    /// `1 / sqrt(x)`.
    Rsqrt,
    /// `x * x` (integers wrap).
    Square,
    /// `1 / x`.
    Reciprocal,
    /// Sine.
    Sin,
    /// Cosine.
    Cos,
    /// Tangent.
    Tan,
    /// Inverse sine.
    ArcSin,
    /// Inverse cosine.
    ArcCos,
    /// Inverse tangent.
    ArcTan,
    /// Hyperbolic sine.
    Sinh,
    /// Hyperbolic cosine.
    Cosh,
    /// Hyperbolic tangent.
    Tanh,
    /// Inverse hyperbolic sine.
    ArcSinh,
    /// Inverse hyperbolic cosine.
    ArcCosh,
    /// Inverse hyperbolic tangent.
    ArcTanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// The error function.
    Erf,
    /// The inverse error function (`±inf` at `±1`, NaN outside `[-1, 1]`).
    ErfInv,
    /// Round towards `-inf`.
    Floor,
    /// Round towards `+inf`.
    Ceil,
    /// Round to the nearest integer, halves to even.
    Round,
    /// `x != x`.
    IsNan,
    /// `±inf` (complex: either part).
    IsInf,
    /// `+inf`.
    IsPosInf,
    /// `-inf`.
    IsNegInf,
    /// Neither NaN nor infinite.
    IsFinite,
    /// `x == 0`.
    LogicalNot,
    /// Bitwise not (integers and bool).
    BitwiseInvert,
    /// Radians to degrees.
    Degrees,
    /// Degrees to radians.
    Radians,
    /// Complex conjugate (identity for real dtypes).
    Conj,
    /// Real part (identity for real dtypes).
    Real,
    /// Imaginary part (zero for real dtypes).
    Imag,
    /// Replace NaN, `+inf` and `-inf` by the given values.
    NanToNum {
        /// Value for NaN.
        nan: f64,
        /// Value for `+inf`.
        posinf: f64,
        /// Value for `-inf`.
        neginf: f64,
    },
}

impl UnaryOp {
    /// MLX's name of the op (`"exp"`, `"arcsin"`, ...), for error messages.
    pub fn op_name(&self) -> &'static str {
        use UnaryOp::*;
        match self {
            Abs => "abs",
            Negative => "negative",
            Sign => "sign",
            Exp => "exp",
            Expm1 => "expm1",
            Log => "log",
            Log1p => "log1p",
            Log2 => "log2",
            Log10 => "log10",
            Sqrt => "sqrt",
            Rsqrt => "rsqrt",
            Square => "square",
            Reciprocal => "reciprocal",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            ArcSin => "arcsin",
            ArcCos => "arccos",
            ArcTan => "arctan",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            ArcSinh => "arcsinh",
            ArcCosh => "arccosh",
            ArcTanh => "arctanh",
            Sigmoid => "sigmoid",
            Erf => "erf",
            ErfInv => "erfinv",
            Floor => "floor",
            Ceil => "ceil",
            Round => "round",
            IsNan => "isnan",
            IsInf => "isinf",
            IsPosInf => "isposinf",
            IsNegInf => "isneginf",
            IsFinite => "isfinite",
            LogicalNot => "logical_not",
            BitwiseInvert => "bitwise_invert",
            Degrees => "degrees",
            Radians => "radians",
            Conj => "conj",
            Real => "real",
            Imag => "imag",
            NanToNum { .. } => "nan_to_num",
        }
    }

    /// Whether the op computes in floating point: integer and bool inputs are first
    /// converted to float32 (MLX's `exp(int_array)` is float32).
    pub fn is_float_math(&self) -> bool {
        use UnaryOp::*;
        matches!(
            self,
            Exp | Expm1
                | Log
                | Log1p
                | Log2
                | Log10
                | Sqrt
                | Rsqrt
                | Reciprocal
                | Sin
                | Cos
                | Tan
                | ArcSin
                | ArcCos
                | ArcTan
                | Sinh
                | Cosh
                | Tanh
                | ArcSinh
                | ArcCosh
                | ArcTanh
                | Sigmoid
                | Erf
                | ErfInv
                | Degrees
                | Radians
        )
    }

    /// The output dtype for an input of dtype `input` (after the float conversion of
    /// [`UnaryOp::is_float_math`]), or the error MLX raises for that dtype.
    pub fn output_dtype(&self, input: Dtype) -> Result<Dtype> {
        use UnaryOp::*;
        let name = self.op_name();
        let unsupported = || Err(Error::Dtype(format!("[{name}] Not supported for {input}.")));
        match self {
            Expm1 | Sigmoid | Erf | ErfInv | Floor | Ceil if input.is_complex() => unsupported(),
            NanToNum { .. } if input.is_complex() => unsupported(),
            _ if self.is_float_math() && !input.is_inexact() => Err(Error::Dtype(format!(
                "[{name}] expects a floating point input, got {input}."
            ))),
            Negative if input == Dtype::Bool => Err(Error::Dtype(format!(
                "[{name}] Not supported for bool, use logical_not instead."
            ))),
            BitwiseInvert if !(input.is_integer() || input == Dtype::Bool) => Err(Error::Dtype(
                format!("[{name}] Bitwise inverse only allowed on integer types, got {input}."),
            )),
            Abs | Real | Imag => Ok(input.real_part()),
            IsNan | IsInf | IsPosInf | IsNegInf | IsFinite | LogicalNot => Ok(Dtype::Bool),
            _ => Ok(input),
        }
    }
}

/// An elementwise function of one array.
#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    /// Which function.
    pub op: UnaryOp,
}

impl Primitive for Unary {
    fn name(&self) -> String {
        let s = format!("{:?}", self.op);
        s.split([' ', '{']).next().unwrap_or("Unary").to_string()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let data = unary_cpu(self.op, &inputs[0], outputs[0].dtype())?;
        outputs[0].set_data(data);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::unary::unary_gpu(self, self.op, inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The identity, blocking gradients (`stop_gradient`). The output shares the input's
/// data.
#[derive(Debug, Clone, PartialEq)]
pub struct StopGradient;

impl Primitive for StopGradient {
    fn name(&self) -> String {
        "StopGradient".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(inputs[0].data()?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(inputs[0].data()?);
        Ok(())
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
