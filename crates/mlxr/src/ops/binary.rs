//! Binary elementwise ops with MLX's names and semantics. Every op takes two operands
//! (arrays or weakly typed Rust scalars), promotes them to a common dtype
//! ([`super::promote_operands`]), broadcasts them (NumPy rules) and builds the node.
//!
//! Semantics as MLX: `divide` of integers is true division (float32); `floor_divide` and
//! `remainder` follow Python's sign rules (the remainder has the divisor's sign, for
//! floats too) and integer division by zero gives 0 (`floor_divide`) or the dividend
//! (`remainder`) instead of trapping; integer overflow wraps; `power` of integers with a
//! negative exponent is 0; `maximum`/`minimum` propagate NaN; comparisons and logical ops
//! return bool (complex numbers compare lexicographically); bitwise ops and shifts need
//! integer or bool inputs.

use super::{astype, broadcast_shapes, broadcast_to, promote_operands, stream, ToOperand};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::binary::{Binary, BinaryOp, DivMod};
use std::sync::Arc;

/// Broadcast two arrays together, naming `op` in the error.
pub(crate) fn broadcast_pair(a: &Array, b: &Array, op: &str) -> Result<(Array, Array, Vec<usize>)> {
    let shape = broadcast_shapes(a.shape(), b.shape(), op)?;
    Ok((broadcast_to(a, &shape)?, broadcast_to(b, &shape)?, shape))
}

/// Promote, convert to float32 when `float` and the common dtype is not inexact, and
/// broadcast.
fn prepare(
    a: impl ToOperand,
    b: impl ToOperand,
    name: &str,
    float: bool,
) -> Result<(Array, Array, Vec<usize>)> {
    let (mut a, mut b) = promote_operands(a, b)?;
    if float && !a.dtype().is_inexact() {
        a = astype(&a, Dtype::Float32)?;
        b = astype(&b, Dtype::Float32)?;
    }
    broadcast_pair(&a, &b, name)
}

fn node(a: Array, b: Array, shape: Vec<usize>, op: BinaryOp) -> Result<Array> {
    let out = op.output_dtype(a.dtype())?;
    Ok(Array::new_node(
        shape,
        out,
        Arc::new(Binary { op }),
        vec![a, b],
        stream(),
    ))
}

fn binary_op(a: impl ToOperand, b: impl ToOperand, op: BinaryOp) -> Result<Array> {
    let float = matches!(
        op,
        BinaryOp::Divide | BinaryOp::ArcTan2 | BinaryOp::LogAddExp
    );
    let (a, b, shape) = prepare(a, b, op.op_name(), float)?;
    node(a, b, shape, op)
}

macro_rules! binary_fns {
    ($($(#[$doc:meta])* $name:ident => $op:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
            binary_op(a, b, BinaryOp::$op)
        }
    )*};
}

binary_fns! {
    /// `a + b` (integers wrap; bool: logical or).
    add => Add;
    /// `a - b` (integers wrap).
    subtract => Subtract;
    /// `a * b` (integers wrap; bool: logical and).
    multiply => Multiply;
    /// True division `a / b`: integer and bool inputs give float32.
    divide => Divide;
    /// `floor(a / b)`; integers round towards `-inf` as Python, and `x // 0 == 0`
    /// (NumPy also gives 0). Complex: same as `divide`.
    floor_divide => FloorDivide;
    /// `a - b * floor(a / b)`: the result has the sign of `b` (floats too); for integers
    /// `x % 0 == x` (as MLX; NumPy gives 0). No complex.
    remainder => Remainder;
    /// `a ** b`. Integers wrap on overflow and give 0 for negative exponents (as MLX;
    /// NumPy raises). Complex: `exp(b * log(a))`.
    power => Power;
    /// Elementwise maximum; NaN propagates. Complex: lexicographic.
    maximum => Maximum;
    /// Elementwise minimum; NaN propagates. Complex: lexicographic.
    minimum => Minimum;
    /// `atan2(a, b)` (integer inputs give float32; no complex).
    arctan2 => ArcTan2;
    /// `log(exp(a) + exp(b))` without overflow (integer inputs give float32).
    logaddexp => LogAddExp;
    /// Bool: `a == b` (NaN is not equal to itself).
    equal => Equal;
    /// Bool: `a != b`.
    not_equal => NotEqual;
    /// Bool: `a < b` (complex: lexicographic).
    less => Less;
    /// Bool: `a <= b`.
    less_equal => LessEqual;
    /// Bool: `a > b`.
    greater => Greater;
    /// Bool: `a >= b`.
    greater_equal => GreaterEqual;
}

/// Bitwise/shift ops: integer or bool inputs only, with MLX's error naming both dtypes.
fn bitwise_op(a: impl ToOperand, b: impl ToOperand, op: BinaryOp) -> Result<Array> {
    let (a, b) = promote_operands(a, b)?;
    let dt = a.dtype();
    if !(dt.is_integer() || dt == Dtype::Bool) {
        return Err(Error::Dtype(format!(
            "[{}] Only allowed on integer or boolean types but got types {} and {} \
             (promoted to {dt}).",
            op.op_name(),
            a.dtype(),
            b.dtype()
        )));
    }
    let (a, b) = if dt == Dtype::Bool && matches!(op, BinaryOp::LeftShift | BinaryOp::RightShift) {
        (astype(&a, Dtype::Uint8)?, astype(&b, Dtype::Uint8)?)
    } else {
        (a, b)
    };
    let (a, b, shape) = broadcast_pair(&a, &b, op.op_name())?;
    node(a, b, shape, op)
}

/// Bitwise and (integer or bool inputs; error for floating point).
pub fn bitwise_and(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    bitwise_op(a, b, BinaryOp::BitwiseAnd)
}
/// Bitwise or (integer or bool inputs; error for floating point).
pub fn bitwise_or(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    bitwise_op(a, b, BinaryOp::BitwiseOr)
}
/// Bitwise xor (integer or bool inputs; error for floating point).
pub fn bitwise_xor(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    bitwise_op(a, b, BinaryOp::BitwiseXor)
}
/// `a << b` (integer inputs; bool gives uint8). Shifts by a negative amount or by the
/// bit width or more give 0 (as NumPy; MLX's CPU result there is platform-dependent).
pub fn left_shift(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    bitwise_op(a, b, BinaryOp::LeftShift)
}
/// `a >> b`, arithmetic for signed integers (bool gives uint8). Shifts by a negative
/// amount or by the bit width or more give 0, or -1 for negative `a` (as NumPy).
pub fn right_shift(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    bitwise_op(a, b, BinaryOp::RightShift)
}

/// Logical ops: both operands are converted to bool (any dtype, non-zero is true).
fn logical_op(a: impl ToOperand, b: impl ToOperand, op: BinaryOp) -> Result<Array> {
    let a = astype(&a.to_operand().into_array(), Dtype::Bool)?;
    let b = astype(&b.to_operand().into_array(), Dtype::Bool)?;
    let (a, b, shape) = broadcast_pair(&a, &b, op.op_name())?;
    node(a, b, shape, op)
}

/// Bool: `a && b` (inputs of any dtype, non-zero is true).
pub fn logical_and(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    logical_op(a, b, BinaryOp::LogicalAnd)
}
/// Bool: `a || b` (inputs of any dtype, non-zero is true).
pub fn logical_or(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    logical_op(a, b, BinaryOp::LogicalOr)
}
/// Bool: `a != b` as truth values (inputs of any dtype, non-zero is true).
pub fn logical_xor(a: impl ToOperand, b: impl ToOperand) -> Result<Array> {
    logical_op(a, b, BinaryOp::LogicalXor)
}

/// `(floor_divide(a, b), remainder(a, b))` from one node with two outputs. Integer
/// division by zero gives `(0, a)` (MLX 0.32 traps there).
pub fn divmod(a: impl ToOperand, b: impl ToOperand) -> Result<(Array, Array)> {
    let (a, b, shape) = prepare(a, b, "divmod", false)?;
    let dt = BinaryOp::Remainder
        .output_dtype(a.dtype())
        .map_err(|_| Error::Dtype(format!("[divmod] Not supported for {}.", a.dtype())))?;
    let mut v = Array::new_multi(
        vec![(shape.clone(), dt), (shape, dt)],
        Arc::new(DivMod),
        vec![a, b],
        stream(),
    );
    let r = v.pop().expect("two outputs");
    let q = v.pop().expect("two outputs");
    Ok((q, r))
}
