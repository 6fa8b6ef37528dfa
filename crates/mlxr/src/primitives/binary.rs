//! Binary elementwise primitives: `Binary { op }` (arithmetic, comparisons, logical and
//! bitwise ops on two arrays of one dtype and one shape) and `DivMod` (two outputs:
//! the floor quotient and the remainder).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::binary::{binary_cpu, divmod_cpu};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use std::any::Any;

/// The operation of a [`Binary`] primitive. Inputs have the same dtype (promoted by the
/// op) and shape (broadcast by the op).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `a + b` (integers wrap; bool: or).
    Add,
    /// `a - b` (integers wrap).
    Subtract,
    /// `a * b` (integers wrap; bool: and).
    Multiply,
    /// `a / b` (floating point only: the op converts integers to float32).
    Divide,
    /// `floor(a / b)` (integers: Python's rounding; division by zero gives 0).
    FloorDivide,
    /// `a - b * floor(a / b)`: the sign of `b` (integers: `a % 0 == a`).
    Remainder,
    /// `a ** b` (integers: wrapping, negative exponents give 0).
    Power,
    /// Larger of the two (NaN propagates; complex: lexicographic).
    Maximum,
    /// Smaller of the two (NaN propagates; complex: lexicographic).
    Minimum,
    /// `atan2(a, b)`.
    ArcTan2,
    /// `log(exp(a) + exp(b))`, computed stably.
    LogAddExp,
    /// `a == b` (bool output).
    Equal,
    /// `a != b` (bool output).
    NotEqual,
    /// `a < b` (bool output; complex: lexicographic).
    Less,
    /// `a <= b` (bool output).
    LessEqual,
    /// `a > b` (bool output).
    Greater,
    /// `a >= b` (bool output).
    GreaterEqual,
    /// Logical and of bool arrays.
    LogicalAnd,
    /// Logical or of bool arrays.
    LogicalOr,
    /// Logical xor of bool arrays.
    LogicalXor,
    /// Bitwise and (integers and bool).
    BitwiseAnd,
    /// Bitwise or (integers and bool).
    BitwiseOr,
    /// Bitwise xor (integers and bool).
    BitwiseXor,
    /// `a << b` (integers; shifts of the bit width or more, or negative, give 0).
    LeftShift,
    /// `a >> b` (integers, arithmetic for signed; shifts of the bit width or more, or
    /// negative, give 0 or -1).
    RightShift,
}

impl BinaryOp {
    /// MLX's name of the op (`"add"`, `"floor_divide"`, ...), for error messages.
    pub fn op_name(&self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Subtract => "subtract",
            Multiply => "multiply",
            Divide => "divide",
            FloorDivide => "floor_divide",
            Remainder => "remainder",
            Power => "power",
            Maximum => "maximum",
            Minimum => "minimum",
            ArcTan2 => "arctan2",
            LogAddExp => "logaddexp",
            Equal => "equal",
            NotEqual => "not_equal",
            Less => "less",
            LessEqual => "less_equal",
            Greater => "greater",
            GreaterEqual => "greater_equal",
            LogicalAnd => "logical_and",
            LogicalOr => "logical_or",
            LogicalXor => "logical_xor",
            BitwiseAnd => "bitwise_and",
            BitwiseOr => "bitwise_or",
            BitwiseXor => "bitwise_xor",
            LeftShift => "left_shift",
            RightShift => "right_shift",
        }
    }

    /// Whether the output is bool whatever the input dtype.
    pub fn is_predicate(&self) -> bool {
        use BinaryOp::*;
        matches!(
            self,
            Equal
                | NotEqual
                | Less
                | LessEqual
                | Greater
                | GreaterEqual
                | LogicalAnd
                | LogicalOr
                | LogicalXor
        )
    }

    /// The output dtype for inputs of (common) dtype `input`, or the error MLX raises
    /// for that dtype.
    pub fn output_dtype(&self, input: Dtype) -> Result<Dtype> {
        use BinaryOp::*;
        let name = self.op_name();
        match self {
            Remainder | ArcTan2 if input.is_complex() => {
                Err(Error::Dtype(format!("[{name}] Not supported for {input}.")))
            }
            Divide | ArcTan2 | LogAddExp if !input.is_inexact() => Err(Error::Dtype(format!(
                "[{name}] expects floating point inputs, got {input}."
            ))),
            LogicalAnd | LogicalOr | LogicalXor if input != Dtype::Bool => Err(Error::Dtype(
                format!("[{name}] expects bool inputs, got {input}."),
            )),
            BitwiseAnd | BitwiseOr | BitwiseXor | LeftShift | RightShift
                if !(input.is_integer() || input == Dtype::Bool) =>
            {
                Err(Error::Dtype(format!(
                    "[{name}] Only allowed on integer or boolean types but got {input}."
                )))
            }
            LeftShift | RightShift if input == Dtype::Bool => Err(Error::Dtype(format!(
                "[{name}] expects integer inputs (bool is converted to uint8 by the op)."
            ))),
            _ if self.is_predicate() => Ok(Dtype::Bool),
            _ => Ok(input),
        }
    }
}

/// An elementwise function of two arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Binary {
    /// Which function.
    pub op: BinaryOp,
}

impl Primitive for Binary {
    fn name(&self) -> String {
        format!("{:?}", self.op)
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let data = binary_cpu(self.op, &inputs[0], &inputs[1], outputs[0].dtype())?;
        outputs[0].set_data(data);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::binary::binary_gpu(self.op, inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `divmod`: outputs `floor_divide(a, b)` and `remainder(a, b)` from one node.
#[derive(Debug, Clone, PartialEq)]
pub struct DivMod;

impl Primitive for DivMod {
    fn name(&self) -> String {
        "DivMod".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (q, r) = divmod_cpu(&inputs[0], &inputs[1])?;
        outputs[0].set_data(q);
        outputs[1].set_data(r);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::binary::divmod_gpu(inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
