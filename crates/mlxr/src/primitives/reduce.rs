//! Reduction primitives: `Reduce` (sum, prod, max, min, and, or over a set of axes) and
//! `ArgReduce` (argmax/argmin along one axis). Both produce the keepdims shape; the ops
//! squeeze the reduced axes when asked.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::reduce::{arg_reduce, reduce, Kind};
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

/// The reduction a [`Reduce`] performs (MLX's `Reduce::ReduceType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Logical and of `x != 0` (`all`).
    And,
    /// Logical or of `x != 0` (`any`).
    Or,
    /// Sum (`sum`).
    Sum,
    /// Product (`prod`).
    Prod,
    /// Minimum (`min`).
    Min,
    /// Maximum (`max`).
    Max,
}

impl ReduceOp {
    fn kind(self) -> Kind {
        match self {
            ReduceOp::And => Kind::And,
            ReduceOp::Or => Kind::Or,
            ReduceOp::Sum => Kind::Sum,
            ReduceOp::Prod => Kind::Prod,
            ReduceOp::Min => Kind::Min,
            ReduceOp::Max => Kind::Max,
        }
    }
}

/// Reduce over `axes` (sorted, distinct); the output keeps the reduced axes with size 1
/// and has the op's MLX output dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Reduce {
    /// What to compute.
    pub op: ReduceOp,
    /// The reduced axes, sorted ascending.
    pub axes: Vec<usize>,
}

impl Primitive for Reduce {
    fn name(&self) -> String {
        format!("{:?}", self.op)
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = reduce(
            self.op.kind(),
            &d,
            x.shape(),
            &self.axes,
            x.dtype(),
            outputs[0].dtype(),
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::reduce::reduce_gpu(self.op, &self.axes, inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Which index an [`ArgReduce`] finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgReduceOp {
    /// Index of the minimum.
    ArgMin,
    /// Index of the maximum.
    ArgMax,
}

/// Index (uint32) of the first maximum or minimum along `axis`, NaN counting as the
/// extreme (the first NaN wins); the output keeps `axis` with size 1.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgReduce {
    /// What to find.
    pub op: ArgReduceOp,
    /// The reduced axis.
    pub axis: usize,
}

impl Primitive for ArgReduce {
    fn name(&self) -> String {
        format!("{:?}", self.op)
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = arg_reduce(
            &d,
            x.shape(),
            self.axis,
            self.op == ArgReduceOp::ArgMax,
            x.dtype(),
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::reduce::arg_reduce_gpu(self.op, self.axis, inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
