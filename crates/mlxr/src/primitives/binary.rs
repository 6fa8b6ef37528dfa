//! Binary elementwise primitives: `Binary { op }` (arithmetic, comparisons, logical and
//! bitwise ops on two arrays of one dtype and one shape) and `DivMod` (two outputs:
//! the floor quotient and the remainder). Also the helpers the elementwise families
//! share for their transformation rules (complex-aware products, batching elementwise
//! inputs).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "Add",
    "Subtract",
    "Multiply",
    "Divide",
    "FloorDivide",
    "Remainder",
    "Power",
    "Maximum",
    "Minimum",
    "ArcTan2",
    "LogAddExp",
    "Equal",
    "NotEqual",
    "Less",
    "LessEqual",
    "Greater",
    "GreaterEqual",
    "LogicalAnd",
    "LogicalOr",
    "LogicalXor",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "LeftShift",
    "RightShift",
    "DivMod",
];

use crate::array::Array;
use crate::backend::cpu::binary::{binary_cpu, divmod_cpu};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// `c * conj(d)`: a cotangent times a derivative, conjugating complex derivatives (MLX's
/// convention for complex vjps). Real `d` multiplies as is.
pub(crate) fn vjp_mul(c: &Array, d: &Array) -> Result<Array> {
    if d.dtype().is_complex() {
        ops::multiply(c, &ops::conj(d)?)
    } else {
        ops::multiply(c, d)
    }
}

/// The tangent of argument `i`, if it has one.
pub(crate) fn tangent_of<'a>(
    i: usize,
    tangents: &'a [Array],
    argnums: &[usize],
) -> Option<&'a Array> {
    argnums.iter().position(|&a| a == i).map(|k| &tangents[k])
}

/// The sum of the terms present (zeros like `like` when there are none).
pub(crate) fn sum_terms(terms: Vec<Option<Array>>, like: &Array) -> Result<Array> {
    let mut acc: Option<Array> = None;
    for t in terms.into_iter().flatten() {
        acc = Some(match acc {
            Some(a) => ops::add(&a, &t)?,
            None => t,
        });
    }
    acc.map_or_else(|| ops::zeros_like(like), Ok)
}

/// The batch size: the size of the first batched input's batch axis.
pub(crate) fn batch_size(inputs: &[Array], axes: &[Option<usize>], op: &str) -> Result<usize> {
    inputs
        .iter()
        .zip(axes)
        .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        .ok_or_else(|| Error::InvalidArgument(format!("{op} vmap: no input is batched")))
}

/// `x` with its batch at axis 0: a batched input has its batch axis moved there, an
/// unbatched one is broadcast (as a view) to `b` copies along a new axis 0.
pub(crate) fn batch_to_front(x: &Array, axis: Option<usize>, b: usize) -> Result<Array> {
    match axis {
        Some(a) => ops::moveaxis(x, a as isize, 0),
        None => {
            let mut shape = vec![b];
            shape.extend_from_slice(x.shape());
            ops::broadcast_to(&ops::expand_dims(x, &[0])?, &shape)
        }
    }
}

/// Vectorise an elementwise primitive `prim` with outputs of dtypes `out_dtypes`. When
/// every input is batched on the same axis with the same shape the primitive applies
/// directly (the outputs keep that axis); otherwise batch axes move to 0, inputs of lower
/// rank get size-1 axes after the batch axis (unbatched ones in front), and all are
/// broadcast to the common shape (the outputs are batched on axis 0).
pub(crate) fn vmap_elementwise(
    prim: Arc<dyn Primitive>,
    inputs: &[Array],
    axes: &[Option<usize>],
    out_dtypes: &[Dtype],
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let b = batch_size(inputs, axes, &prim.name())?;
    let same = axes.iter().all(|a| a.is_some() && *a == axes[0])
        && inputs.iter().all(|x| x.shape() == inputs[0].shape());
    let (ins, shape, out_axis) = if same {
        (inputs.to_vec(), inputs[0].shape().to_vec(), axes[0])
    } else {
        let rank = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| x.ndim() - usize::from(a.is_some()))
            .max()
            .unwrap_or(0);
        let mut moved = Vec::with_capacity(inputs.len());
        for (x, a) in inputs.iter().zip(axes) {
            let y = match a {
                Some(a) => {
                    let y = ops::moveaxis(x, *a as isize, 0)?;
                    let mut s = vec![b];
                    s.resize(1 + rank + 1 - y.ndim(), 1);
                    s.extend_from_slice(&y.shape()[1..]);
                    ops::reshape_to(&y, &s)?
                }
                None => {
                    let mut s = vec![1; rank + 1 - x.ndim()];
                    s.extend_from_slice(x.shape());
                    ops::reshape_to(x, &s)?
                }
            };
            moved.push(y);
        }
        let mut shape: Vec<usize> = vec![];
        for y in &moved {
            shape = ops::broadcast_shapes(&shape, y.shape(), &prim.name())?;
        }
        let ins = moved
            .iter()
            .map(|y| ops::broadcast_to(y, &shape))
            .collect::<Result<Vec<_>>>()?;
        (ins, shape, Some(0))
    };
    let specs = out_dtypes.iter().map(|&d| (shape.clone(), d)).collect();
    let outs = Array::new_multi(specs, prim, ins, ops::stream());
    let n = outs.len();
    Ok((outs, vec![out_axis; n]))
}

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

impl Binary {
    /// The same op on new inputs of one shape and dtype.
    fn apply(&self, a: &Array, b: &Array) -> Result<Array> {
        Ok(Array::new_node(
            a.shape().to_vec(),
            self.op.output_dtype(a.dtype())?,
            Arc::new(self.clone()),
            vec![a.clone(), b.clone()],
            ops::stream(),
        ))
    }
}

/// `log(a) * out` for the exponent's derivative of `a ** b`, zero where `a == 0` and
/// `b > 0` (MLX: `d/db 0 ** 2 == 0`, while `0 ** 0` and `0 ** -1` give `-inf`).
fn power_exponent_derivative(a: &Array, b: &Array, out: &Array) -> Result<Array> {
    let l = ops::multiply(&ops::log(a)?, out)?;
    let zero = ops::logical_and(&ops::equal(a, 0)?, &ops::greater(b, 0)?)?;
    ops::r#where(&zero, &ops::zeros_like(&l)?, &l)
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
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        use BinaryOp::*;
        let (a, b) = (&primals[0], &primals[1]);
        let c = &cotangents[0];
        let out = &outputs[0];
        argnums
            .iter()
            .map(|&i| {
                let g = match (self.op, i) {
                    (Add, _) | (Subtract, 0) | (Remainder, 0) => c.clone(),
                    (Subtract, _) => ops::negative(c)?,
                    (Multiply, 0) => vjp_mul(c, b)?,
                    (Multiply, _) => vjp_mul(c, a)?,
                    (Divide, 0) => vjp_mul(c, &ops::reciprocal(b)?)?,
                    (Divide, _) => ops::negative(&vjp_mul(c, &ops::divide(out, b)?)?)?,
                    (Remainder, _) => ops::negative(&ops::multiply(c, &ops::floor_divide(a, b)?)?)?,
                    (Power, 0) => {
                        let d = ops::multiply(b, &ops::power(a, &ops::subtract(b, 1)?)?)?;
                        vjp_mul(c, &d)?
                    }
                    (Power, _) => vjp_mul(c, &power_exponent_derivative(a, b, out)?)?,
                    (Maximum, 0) => ops::multiply(c, &ops::greater(a, b)?)?,
                    (Maximum, _) => ops::multiply(c, &ops::less_equal(a, b)?)?,
                    (Minimum, 0) => ops::multiply(c, &ops::less(a, b)?)?,
                    (Minimum, _) => ops::multiply(c, &ops::greater_equal(a, b)?)?,
                    (ArcTan2, _) => {
                        let den = ops::add(&ops::square(a)?, &ops::square(b)?)?;
                        if i == 0 {
                            ops::multiply(c, &ops::divide(b, &den)?)?
                        } else {
                            ops::negative(&ops::multiply(c, &ops::divide(a, &den)?)?)?
                        }
                    }
                    (LogAddExp, _) => {
                        let x = if i == 0 { a } else { b };
                        vjp_mul(c, &ops::exp(&ops::subtract(x, out)?)?)?
                    }
                    // Integer- or bool-valued ops (floor_divide, comparisons, logical,
                    // bitwise, shifts): zero cotangents.
                    _ => ops::zeros_like(&primals[i])?,
                };
                ops::astype(&g, primals[i].dtype())
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        use BinaryOp::*;
        let (a, b) = (&primals[0], &primals[1]);
        let ta = tangent_of(0, tangents, argnums);
        let tb = tangent_of(1, tangents, argnums);
        let like = &tangents[0];
        let or_zero =
            |t: Option<&Array>| t.map_or_else(|| ops::zeros_like(like), |t| Ok(t.clone()));
        let t = match self.op {
            Add => sum_terms(vec![ta.cloned(), tb.cloned()], like)?,
            Subtract => sum_terms(vec![ta.cloned(), tb.map(ops::negative).transpose()?], like)?,
            Multiply => sum_terms(
                vec![
                    ta.map(|t| ops::multiply(t, b)).transpose()?,
                    tb.map(|t| ops::multiply(a, t)).transpose()?,
                ],
                like,
            )?,
            Divide => {
                let out = self.apply(a, b)?;
                let num = sum_terms(
                    vec![
                        ta.cloned(),
                        tb.map(|t| ops::negative(&ops::multiply(t, &out)?))
                            .transpose()?,
                    ],
                    like,
                )?;
                ops::divide(&num, b)?
            }
            Remainder => sum_terms(
                vec![
                    ta.cloned(),
                    tb.map(|t| ops::negative(&ops::multiply(t, &ops::floor_divide(a, b)?)?))
                        .transpose()?,
                ],
                like,
            )?,
            Power => {
                let out = self.apply(a, b)?;
                sum_terms(
                    vec![
                        ta.map(|t| {
                            let d = ops::multiply(b, &ops::power(a, &ops::subtract(b, 1)?)?)?;
                            ops::multiply(t, &d)
                        })
                        .transpose()?,
                        tb.map(|t| ops::multiply(t, &power_exponent_derivative(a, b, &out)?))
                            .transpose()?,
                    ],
                    like,
                )?
            }
            Maximum => ops::r#where(&ops::greater(a, b)?, &or_zero(ta)?, &or_zero(tb)?)?,
            Minimum => ops::r#where(&ops::less(a, b)?, &or_zero(ta)?, &or_zero(tb)?)?,
            ArcTan2 => {
                let den = ops::add(&ops::square(a)?, &ops::square(b)?)?;
                let num = sum_terms(
                    vec![
                        ta.map(|t| ops::multiply(t, b)).transpose()?,
                        tb.map(|t| ops::negative(&ops::multiply(t, a)?))
                            .transpose()?,
                    ],
                    like,
                )?;
                ops::divide(&num, &den)?
            }
            LogAddExp => {
                let out = self.apply(a, b)?;
                sum_terms(
                    vec![
                        ta.map(|t| ops::multiply(t, &ops::exp(&ops::subtract(a, &out)?)?))
                            .transpose()?,
                        tb.map(|t| ops::multiply(t, &ops::exp(&ops::subtract(b, &out)?)?))
                            .transpose()?,
                    ],
                    like,
                )?
            }
            _ => ops::zeros_like(like)?,
        };
        Ok(vec![t])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let dt = self.op.output_dtype(inputs[0].dtype())?;
        vmap_elementwise(Arc::new(self.clone()), inputs, axes, &[dt])
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::binary::binary_gpu(self.op, inputs, outputs)
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
    /// Both outputs are piecewise constant in `b` and the quotient in `a`; MLX gives zero
    /// cotangents to both inputs.
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| ops::zeros_like(&primals[i]))
            .collect()
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![
            ops::zeros_like(&tangents[0])?,
            ops::zeros_like(&tangents[0])?,
        ])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let dt = inputs[0].dtype();
        vmap_elementwise(Arc::new(self.clone()), inputs, axes, &[dt, dt])
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::binary::divmod_gpu(inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 2)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
