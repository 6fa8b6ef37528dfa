//! Unary elementwise primitives: `Unary { op }` (one `UnaryOp` per MLX unary op: `exp`,
//! `sin`, `abs`, `isnan`, ...) and `StopGradient` (the identity, with its own type since
//! its derivative is zero).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "Abs",
    "Negative",
    "Sign",
    "Exp",
    "Expm1",
    "Log",
    "Log1p",
    "Log2",
    "Log10",
    "Sqrt",
    "Rsqrt",
    "Square",
    "Reciprocal",
    "Sin",
    "Cos",
    "Tan",
    "ArcSin",
    "ArcCos",
    "ArcTan",
    "Sinh",
    "Cosh",
    "Tanh",
    "ArcSinh",
    "ArcCosh",
    "ArcTanh",
    "Sigmoid",
    "Erf",
    "ErfInv",
    "Floor",
    "Ceil",
    "Round",
    "IsNan",
    "IsInf",
    "IsPosInf",
    "IsNegInf",
    "IsFinite",
    "LogicalNot",
    "BitwiseInvert",
    "Degrees",
    "Radians",
    "Conj",
    "Real",
    "Imag",
    "NanToNum",
    "StopGradient",
];

use super::binary::vjp_mul;
use crate::array::Array;
use crate::backend::cpu::unary::unary_cpu;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use num_complex::Complex32;
use std::any::Any;
use std::f64::consts::{LN_10, LN_2, PI};
use std::sync::Arc;

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

/// How a unary op's derivative is applied in its rules.
enum Deriv {
    /// Zero (piecewise constant, or a bool/integer-valued output).
    Zero,
    /// A constant factor.
    Scale(f64),
    /// An elementwise factor (conjugated in vjps of complex inputs).
    Factor(Array),
    /// Rules written out per op (complex parts, `abs` of complex, `nan_to_num`).
    Special,
}

/// `x * k`, keeping integer dtypes for `k = ±1`.
fn scale(x: &Array, k: f64) -> Result<Array> {
    if k == 1.0 {
        Ok(x.clone())
    } else if k == -1.0 {
        ops::negative(x)
    } else {
        ops::multiply(x, k)
    }
}

impl Unary {
    /// The same op on a new input (for rules that need the output again).
    fn apply(&self, x: &Array) -> Result<Array> {
        Ok(Array::new_node(
            x.shape().to_vec(),
            self.op.output_dtype(x.dtype())?,
            Arc::new(self.clone()),
            vec![x.clone()],
            ops::stream(),
        ))
    }

    /// `d out / d x` at `x` (with the output `out`), written with public ops so that it is
    /// itself differentiable.
    fn derivative(&self, x: &Array, out: &Array) -> Result<Deriv> {
        use UnaryOp::*;
        let complex = x.dtype().is_complex();
        Ok(match self.op {
            Sign | Floor | Ceil | Round | IsNan | IsInf | IsPosInf | IsNegInf | IsFinite
            | LogicalNot | BitwiseInvert => Deriv::Zero,
            Imag if !complex => Deriv::Zero,
            Real | Conj if !complex => Deriv::Scale(1.0),
            Abs if complex => Deriv::Special,
            Real | Imag | Conj | NanToNum { .. } => Deriv::Special,
            Negative => Deriv::Scale(-1.0),
            Degrees => Deriv::Scale(180.0 / PI),
            Radians => Deriv::Scale(PI / 180.0),
            Abs => Deriv::Factor(ops::sign(x)?),
            Exp => Deriv::Factor(out.clone()),
            Expm1 => Deriv::Factor(ops::add(out, 1)?),
            Log => Deriv::Factor(ops::reciprocal(x)?),
            Log1p => Deriv::Factor(ops::reciprocal(&ops::add(x, 1)?)?),
            Log2 => Deriv::Factor(ops::reciprocal(&ops::multiply(x, LN_2)?)?),
            Log10 => Deriv::Factor(ops::reciprocal(&ops::multiply(x, LN_10)?)?),
            Sqrt => Deriv::Factor(ops::divide(0.5, out)?),
            Rsqrt => Deriv::Factor(ops::multiply(&ops::divide(out, x)?, -0.5)?),
            Square => Deriv::Factor(ops::multiply(x, 2)?),
            Reciprocal => Deriv::Factor(ops::negative(&ops::square(out)?)?),
            Sin => Deriv::Factor(ops::cos(x)?),
            Cos => Deriv::Factor(ops::negative(&ops::sin(x)?)?),
            Tan => Deriv::Factor(ops::add(&ops::square(out)?, 1)?),
            ArcSin => Deriv::Factor(ops::rsqrt(&ops::subtract(1, &ops::square(x)?)?)?),
            ArcCos => Deriv::Factor(ops::negative(&ops::rsqrt(&ops::subtract(
                1,
                &ops::square(x)?,
            )?)?)?),
            ArcTan => Deriv::Factor(ops::reciprocal(&ops::add(&ops::square(x)?, 1)?)?),
            Sinh => Deriv::Factor(ops::cosh(x)?),
            Cosh => Deriv::Factor(ops::sinh(x)?),
            Tanh => Deriv::Factor(ops::subtract(1, &ops::square(out)?)?),
            ArcSinh => Deriv::Factor(ops::rsqrt(&ops::add(&ops::square(x)?, 1)?)?),
            ArcCosh => Deriv::Factor(ops::rsqrt(&ops::subtract(&ops::square(x)?, 1)?)?),
            ArcTanh => Deriv::Factor(ops::reciprocal(&ops::subtract(1, &ops::square(x)?)?)?),
            Sigmoid => Deriv::Factor(ops::multiply(out, &ops::subtract(1, out)?)?),
            Erf => Deriv::Factor(ops::multiply(
                &ops::exp(&ops::negative(&ops::square(x)?)?)?,
                2.0 / PI.sqrt(),
            )?),
            ErfInv => Deriv::Factor(ops::multiply(
                &ops::exp(&ops::square(out)?)?,
                PI.sqrt() / 2.0,
            )?),
        })
    }
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
    /// MLX's conventions: zero cotangents for piecewise-constant and bool-valued ops
    /// (`sign`, `floor`, `isnan`, ...), `abs` uses `sign` (0 at 0), `nan_to_num` passes
    /// the cotangent only where the input is finite, complex inputs get `c * conj(f')`
    /// (`real`: `c + 0j`, `imag`: `c * 1j`, `abs`: `c * z / |z|`).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use UnaryOp::*;
        let x = &primals[0];
        let c = &cotangents[0];
        let g = match self.derivative(x, &outputs[0])? {
            Deriv::Zero => ops::zeros_like(x)?,
            Deriv::Scale(k) => scale(c, k)?,
            Deriv::Factor(d) => vjp_mul(c, &d)?,
            Deriv::Special => match self.op {
                Abs => ops::multiply(c, &ops::sign(x)?)?,
                Conj => ops::conj(c)?,
                Real => ops::astype(c, x.dtype())?,
                Imag => ops::multiply(&ops::astype(c, x.dtype())?, Complex32::new(0.0, 1.0))?,
                _ => ops::r#where(&ops::isfinite(x)?, c, &ops::zeros_like(c)?)?,
            },
        };
        Ok(vec![ops::astype(&g, x.dtype())?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        use UnaryOp::*;
        let x = &primals[0];
        let t = &tangents[0];
        let needs_out = matches!(
            self.op,
            Exp | Expm1 | Sqrt | Rsqrt | Reciprocal | Tan | Tanh | Sigmoid | ErfInv
        );
        let out = if needs_out { self.apply(x)? } else { x.clone() };
        let r = match self.derivative(x, &out)? {
            Deriv::Zero => ops::zeros_like(t)?,
            Deriv::Scale(k) => scale(t, k)?,
            Deriv::Factor(d) => ops::multiply(t, &d)?,
            Deriv::Special => match self.op {
                Abs => ops::real(&ops::multiply(&ops::conj(&ops::sign(x)?)?, t)?)?,
                Conj => ops::conj(t)?,
                Real => ops::real(t)?,
                Imag => ops::imag(t)?,
                _ => ops::r#where(&ops::isfinite(x)?, t, &ops::zeros_like(t)?)?,
            },
        };
        Ok(vec![r])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![self.apply(&inputs[0])?], vec![axes[0]]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::unary::unary_gpu(self, self.op, inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
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
    fn vjp(&self, primals: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros_like(&primals[0])?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros_like(&tangents[0])?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![ops::stop_gradient(&inputs[0])?], vec![axes[0]]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(inputs[0].data()?);
        Ok(())
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
