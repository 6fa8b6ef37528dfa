//! Reduction primitives: `Reduce` (sum, prod, max, min, and, or over a set of axes) and
//! `ArgReduce` (argmax/argmin along one axis). Both produce the keepdims shape; the ops
//! squeeze the reduced axes when asked.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["And", "Or", "Sum", "Prod", "Min", "Max", "ArgMin", "ArgMax"];

use crate::array::Array;
use crate::backend::cpu::reduce::{arg_reduce, reduce, Kind};
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// `axes` as the `isize` list the ops take.
pub(crate) fn isize_axes(axes: &[usize]) -> Vec<isize> {
    axes.iter().map(|&a| a as isize).collect()
}

/// Axes of an unbatched array, renumbered for the array with a batch axis at `batch`.
pub(crate) fn shift_axes(axes: &[usize], batch: usize) -> Vec<usize> {
    axes.iter()
        .map(|&a| if a >= batch { a + 1 } else { a })
        .collect()
}

/// The permutation putting the kept axes first (in order) and `axes` last.
fn kept_then_reduced(ndim: usize, axes: &[usize]) -> Vec<usize> {
    (0..ndim)
        .filter(|i| !axes.contains(i))
        .chain(axes.iter().copied())
        .collect()
}

/// `x` with `axes` moved last and merged into one axis: shape `kept + [prod(axes)]`.
fn flatten_reduced(x: &Array, axes: &[usize]) -> Result<Array> {
    let perm = kept_then_reduced(x.ndim(), axes);
    let t = ops::transpose_axes(x, &isize_axes(&perm))?;
    let mut shape: Vec<usize> = perm[..x.ndim() - axes.len()]
        .iter()
        .map(|&i| x.shape()[i])
        .collect();
    shape.push(axes.iter().map(|&i| x.shape()[i]).product());
    ops::reshape_to(&t, &shape)
}

/// The inverse of [`flatten_reduced`] for an array of shape `shape`.
fn unflatten_reduced(f: &Array, shape: &[usize], axes: &[usize]) -> Result<Array> {
    let perm = kept_then_reduced(shape.len(), axes);
    let tshape: Vec<usize> = perm.iter().map(|&i| shape[i]).collect();
    let mut inv = vec![0isize; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i as isize;
    }
    ops::transpose_axes(&ops::reshape_to(f, &tshape)?, &inv)
}

/// The product of every other element of each reduced group (the derivative of `prod`),
/// from exclusive cumulative products in both directions, so zeros are handled exactly
/// (as MLX: `grad(prod)([2, 0, 3, 4]) == [0, 24, 0, 0]`).
fn prod_partials(x: &Array, axes: &[usize]) -> Result<Array> {
    let f = flatten_reduced(x, axes)?;
    let left = ops::cumprod(&f, Some(-1), false, false)?;
    let right = ops::cumprod(&f, Some(-1), true, false)?;
    unflatten_reduced(&ops::multiply(&left, &right)?, x.shape(), axes)
}

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
    /// `sum`: the cotangent broadcast back; `prod`: times the product of the other
    /// elements; `max`/`min`: split equally among the elements equal to the result (MLX:
    /// `grad(max)([1, 3, 3, 2]) == [0, .5, .5, 0]`); `all`/`any`: zero.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let c = &cotangents[0];
        let g = match self.op {
            ReduceOp::Sum => ops::broadcast_to(c, x.shape())?,
            ReduceOp::Prod => ops::multiply(&prod_partials(x, &self.axes)?, c)?,
            ReduceOp::Max | ReduceOp::Min => {
                let mask = ops::equal(x, &outputs[0])?;
                let n = ops::sum(&mask, Some(&isize_axes(&self.axes)), true)?;
                let n = ops::astype(&n, c.dtype())?;
                ops::multiply(&mask, &ops::divide(c, &n)?)?
            }
            ReduceOp::And | ReduceOp::Or => ops::zeros_like(x)?,
        };
        Ok(vec![ops::astype(&g, x.dtype())?])
    }
    /// `max`/`min` take the tangent of the first extreme element (in row-major order over
    /// the reduced axes), as MLX.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let x = &primals[0];
        let t = &tangents[0];
        let axes = isize_axes(&self.axes);
        let out_shape: Vec<usize> = x
            .shape()
            .iter()
            .enumerate()
            .map(|(i, &d)| if self.axes.contains(&i) { 1 } else { d })
            .collect();
        let r = match self.op {
            ReduceOp::Sum => ops::sum(t, Some(&axes), true)?,
            ReduceOp::Prod => ops::sum(
                &ops::multiply(&prod_partials(x, &self.axes)?, t)?,
                Some(&axes),
                true,
            )?,
            ReduceOp::Max | ReduceOp::Min => {
                let fx = flatten_reduced(x, &self.axes)?;
                let ft = flatten_reduced(t, &self.axes)?;
                let idx = if self.op == ReduceOp::Max {
                    ops::argmax(&fx, Some(-1), true)?
                } else {
                    ops::argmin(&fx, Some(-1), true)?
                };
                ops::reshape_to(&ops::take_along_axis(&ft, &idx, Some(-1))?, &out_shape)?
            }
            ReduceOp::And | ReduceOp::Or => ops::zeros(&out_shape, Some(t.dtype()))?,
        };
        Ok(vec![r])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let b = axes[0].unwrap_or(0);
        let (x, b) = match axes[0] {
            Some(_) => (x.clone(), b),
            None => (ops::expand_dims(x, &[0])?, 0),
        };
        let new_axes = shift_axes(&self.axes, b);
        let shape: Vec<usize> = x
            .shape()
            .iter()
            .enumerate()
            .map(|(i, &d)| if new_axes.contains(&i) { 1 } else { d })
            .collect();
        let dtype = match self.op {
            ReduceOp::And | ReduceOp::Or => Dtype::Bool,
            ReduceOp::Sum | ReduceOp::Prod => ops::sum_dtype(x.dtype()),
            ReduceOp::Min | ReduceOp::Max => x.dtype(),
        };
        let out = Array::new_node(
            shape,
            dtype,
            Arc::new(Reduce {
                op: self.op,
                axes: new_axes,
            }),
            vec![x],
            ops::stream(),
        );
        Ok((vec![out], vec![Some(b)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::reduce::reduce_gpu(self.op, &self.axes, inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::kept_axes_shape(inputs, &self.axes)
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
    /// Integer output: zero cotangent for the input.
    fn vjp(&self, primals: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros_like(&primals[0])?])
    }
    /// Integer output: a zero uint32 tangent (as MLX).
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let mut shape = primals[0].shape().to_vec();
        shape[self.axis] = 1;
        Ok(vec![ops::zeros(&shape, Some(Dtype::Uint32))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, b) = match axes[0] {
            Some(b) => (inputs[0].clone(), b),
            None => (ops::expand_dims(&inputs[0], &[0])?, 0),
        };
        let axis = shift_axes(&[self.axis], b)[0];
        let mut shape = x.shape().to_vec();
        shape[axis] = 1;
        let out = Array::new_node(
            shape,
            Dtype::Uint32,
            Arc::new(ArgReduce { op: self.op, axis }),
            vec![x],
            ops::stream(),
        );
        Ok((vec![out], vec![Some(b)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::reduce::arg_reduce_gpu(self.op, self.axis, inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::kept_axes_shape(inputs, &[self.axis])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
