//! Ternary and composite elementwise ops: `where` (the `Select` primitive), `clip` and
//! `isclose` (built from binary and unary ops, as MLX does).

use super::binary::{
    add, equal, less_equal, logical_and, logical_or, maximum, minimum, multiply, subtract,
};
use super::unary::{abs, isfinite, isnan};
use super::{astype, broadcast_shapes, broadcast_to, promote_operands, stream, ToOperand};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::ternary::Select;
use std::sync::Arc;

/// Elements of `x` where `cond` is true, else of `y`. `cond` is converted to bool
/// (non-zero is true); `x` and `y` are promoted together (scalars weakly typed); all
/// three are broadcast.
pub fn r#where(cond: impl ToOperand, x: impl ToOperand, y: impl ToOperand) -> Result<Array> {
    let c = astype(&cond.to_operand().into_array(), Dtype::Bool)?;
    let (x, y) = promote_operands(x, y)?;
    let shape = broadcast_shapes(c.shape(), x.shape(), "where")?;
    let shape = broadcast_shapes(&shape, y.shape(), "where")?;
    let (c, x, y) = (
        broadcast_to(&c, &shape)?,
        broadcast_to(&x, &shape)?,
        broadcast_to(&y, &shape)?,
    );
    let dt = x.dtype();
    Ok(Array::new_node(
        shape,
        dt,
        Arc::new(Select),
        vec![c, x, y],
        stream(),
    ))
}

/// Same as [`where`](r#where) (a name that needs no raw identifier).
pub fn where_(cond: impl ToOperand, x: impl ToOperand, y: impl ToOperand) -> Result<Array> {
    r#where(cond, x, y)
}

/// Limit values to `[a_min, a_max]`: `minimum(maximum(a, a_min), a_max)` (so NaN stays
/// NaN, and `a_max` wins when `a_min > a_max`). Either bound may be `None` (write
/// `None::<f32>`), not both. Bounds are promoted with `a` like any binary op
/// (`clip(int_array, 2.5, ..)` is float32).
pub fn clip(
    a: &Array,
    a_min: Option<impl ToOperand>,
    a_max: Option<impl ToOperand>,
) -> Result<Array> {
    if a_min.is_none() && a_max.is_none() {
        return Err(Error::InvalidArgument(
            "clip: at most one of a_min and a_max may be None".into(),
        ));
    }
    let mut r = a.clone();
    if let Some(lo) = a_min {
        r = maximum(&r, lo)?;
    }
    if let Some(hi) = a_max {
        r = minimum(&r, hi)?;
    }
    Ok(r)
}

/// Bool: `|a - b| <= atol + rtol * |b|` for finite `b`, or `a == b` (so equal
/// infinities are close and nothing finite is close to an infinity); NaNs are close to
/// each other only with `equal_nan`. (MLX 0.32 calls complex infinities never close;
/// this follows NumPy there.)
/// MLX's defaults are `rtol = 1e-5`, `atol = 1e-8`, `equal_nan = false`. Integer, bool,
/// float16 and bfloat16 inputs are compared in float32.
pub fn isclose(
    a: impl ToOperand,
    b: impl ToOperand,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
) -> Result<Array> {
    let (a, b) = promote_operands(a, b)?;
    let (a, b) = match a.dtype() {
        Dtype::Float64 | Dtype::Complex64 | Dtype::Float32 => (a, b),
        _ => (astype(&a, Dtype::Float32)?, astype(&b, Dtype::Float32)?),
    };
    broadcast_shapes(a.shape(), b.shape(), "isclose")?;
    let diff = abs(&subtract(&a, &b)?)?;
    let tol = add(&multiply(&abs(&b)?, rtol)?, atol)?;
    let within = logical_and(&less_equal(&diff, &tol)?, &isfinite(&b)?)?;
    let close = logical_or(&within, &equal(&a, &b)?)?;
    if equal_nan {
        logical_or(&close, &logical_and(&isnan(&a)?, &isnan(&b)?)?)
    } else {
        Ok(close)
    }
}
