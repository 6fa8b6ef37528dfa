//! Reductions with MLX's names and semantics: `sum`, `prod`, `max`, `min`, `all`, `any`,
//! `argmax`, `argmin`, `logsumexp`, `count_nonzero`, `mean`, `var`, `std`.
//!
//! Axes are given as `Option<&[isize]>`: `None` reduces every axis, `Some(&[])` reduces
//! none; negative axes count from the end; out-of-range or repeated axes are an error.
//! Output dtypes follow MLX: `sum`/`prod` widen small integers (bool, int8, int16 →
//! int32; uint8, uint16 → uint32), `mean`/`var`/`std`/`logsumexp` give at least float32,
//! `all`/`any` give bool, `argmax`/`argmin` give uint32, `count_nonzero` gives int32.

use super::{normalize_axes, normalize_axis, reshape_to, stream};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::reduce::{ArgReduce, ArgReduceOp, Reduce, ReduceOp};
use crate::primitives::softmax::LogSumExp;
use std::sync::Arc;

/// MLX's `at_least_float`: inexact dtypes unchanged, others float32.
pub fn at_least_float(d: Dtype) -> Dtype {
    if d.is_inexact() {
        d
    } else {
        Dtype::Float32
    }
}

/// The dtype `sum` and `prod` produce for an input dtype (as MLX).
pub fn sum_dtype(d: Dtype) -> Dtype {
    match d {
        Dtype::Bool | Dtype::Int8 | Dtype::Int16 => Dtype::Int32,
        Dtype::Uint8 | Dtype::Uint16 => Dtype::Uint32,
        d => d,
    }
}

/// Normalised, sorted reduction axes (`None`: all axes).
pub(crate) fn reduction_axes(a: &Array, axes: Option<&[isize]>, op: &str) -> Result<Vec<usize>> {
    match axes {
        None => Ok((0..a.ndim()).collect()),
        Some(ax) => normalize_axes(ax, a.ndim(), op),
    }
}

/// The shape after reducing `axes`, with or without the size-1 axes.
pub(crate) fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keepdims {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

/// Build a `Reduce` node (keepdims shape) and squeeze it unless `keepdims`.
fn reduce_node(
    a: &Array,
    op: ReduceOp,
    axes: Vec<usize>,
    dtype: Dtype,
    keepdims: bool,
) -> Result<Array> {
    let kshape = reduced_shape(a.shape(), &axes, true);
    let out_shape = reduced_shape(a.shape(), &axes, keepdims);
    let r = Array::new_node(
        kshape,
        dtype,
        Arc::new(Reduce { op, axes }),
        vec![a.clone()],
        stream(),
    );
    if keepdims {
        Ok(r)
    } else {
        reshape_to(&r, &out_shape)
    }
}

/// Sum over `axes` (all when `None`). Output dtype: int32 for bool/int8/int16, uint32 for
/// uint8/uint16, else the input dtype; integers wrap on overflow. An empty axis set
/// returns the input unchanged (as MLX).
pub fn sum(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "sum")?;
    if ax.is_empty() {
        return Ok(a.clone());
    }
    reduce_node(a, ReduceOp::Sum, ax, sum_dtype(a.dtype()), keepdims)
}

/// Product over `axes` (all when `None`); dtypes as [`sum`]. Empty reductions give 1.
pub fn prod(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "prod")?;
    if ax.is_empty() {
        return Ok(a.clone());
    }
    reduce_node(a, ReduceOp::Prod, ax, sum_dtype(a.dtype()), keepdims)
}

fn check_nonempty_axes(a: &Array, ax: &[usize], op: &str) -> Result<()> {
    for &x in ax {
        if a.shape()[x] == 0 {
            return Err(Error::InvalidArgument(format!(
                "[{op}] Cannot {op} reduce over axis {x} with size 0 (shape {:?}).",
                a.shape()
            )));
        }
    }
    Ok(())
}

/// Maximum over `axes` (all when `None`), in the input dtype. NaN propagates; complex
/// values compare by real part, then imaginary part. Reducing an axis of size 0 is an
/// error.
pub fn max(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "max")?;
    if ax.is_empty() {
        return Ok(a.clone());
    }
    check_nonempty_axes(a, &ax, "max")?;
    reduce_node(a, ReduceOp::Max, ax, a.dtype(), keepdims)
}

/// Minimum over `axes`; see [`max`].
pub fn min(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "min")?;
    if ax.is_empty() {
        return Ok(a.clone());
    }
    check_nonempty_axes(a, &ax, "min")?;
    reduce_node(a, ReduceOp::Min, ax, a.dtype(), keepdims)
}

/// Whether every element over `axes` is non-zero (bool output; NaN counts as non-zero;
/// an empty reduction gives true).
pub fn all(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "all")?;
    if ax.is_empty() {
        return super::astype(a, Dtype::Bool);
    }
    reduce_node(a, ReduceOp::And, ax, Dtype::Bool, keepdims)
}

/// Whether any element over `axes` is non-zero (bool output; an empty reduction gives
/// false).
pub fn any(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "any")?;
    if ax.is_empty() {
        return super::astype(a, Dtype::Bool);
    }
    reduce_node(a, ReduceOp::Or, ax, Dtype::Bool, keepdims)
}

fn arg_reduce(a: &Array, axis: Option<isize>, keepdims: bool, op: ArgReduceOp) -> Result<Array> {
    let name = match op {
        ArgReduceOp::ArgMax => "argmax",
        ArgReduceOp::ArgMin => "argmin",
    };
    let (x, ax) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(ax) => (a.clone(), normalize_axis(ax, a.ndim(), name)?),
    };
    if a.size() == 0 {
        return Err(Error::InvalidArgument(format!(
            "[{name}] Cannot {name} reduce zero size array (shape {:?}).",
            a.shape()
        )));
    }
    let kshape = reduced_shape(x.shape(), &[ax], true);
    let r = Array::new_node(
        kshape,
        Dtype::Uint32,
        Arc::new(ArgReduce { op, axis: ax }),
        vec![x.clone()],
        stream(),
    );
    match (axis, keepdims) {
        (None, true) => reshape_to(&r, &vec![1; a.ndim()]),
        (None, false) => reshape_to(&r, &[]),
        (Some(_), true) => Ok(r),
        (Some(_), false) => reshape_to(&r, &reduced_shape(x.shape(), &[ax], false)),
    }
}

/// Index (uint32) of the maximum along `axis` (`None`: of the flattened array). The first
/// occurrence wins ties; a NaN counts as the maximum (the first NaN wins). Empty arrays
/// are an error.
pub fn argmax(a: &Array, axis: Option<isize>, keepdims: bool) -> Result<Array> {
    arg_reduce(a, axis, keepdims, ArgReduceOp::ArgMax)
}

/// Index (uint32) of the minimum along `axis`; see [`argmax`] (a NaN counts as the
/// minimum).
pub fn argmin(a: &Array, axis: Option<isize>, keepdims: bool) -> Result<Array> {
    arg_reduce(a, axis, keepdims, ArgReduceOp::ArgMin)
}

/// `log(sum(exp(a)))` over `axes`, computed stably (the maximum is subtracted first; an
/// infinite maximum gives ±inf, or NaN with a NaN present). Output dtype: at least
/// float32. Empty inputs are an error (as MLX).
pub fn logsumexp(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "logsumexp")?;
    if a.size() == 0 {
        return Err(Error::InvalidArgument(format!(
            "[logsumexp] Received empty array (shape {:?}).",
            a.shape()
        )));
    }
    let dtype = at_least_float(a.dtype());
    let kshape = reduced_shape(a.shape(), &ax, true);
    let out_shape = reduced_shape(a.shape(), &ax, keepdims);
    let r = Array::new_node(
        kshape,
        dtype,
        Arc::new(LogSumExp { axes: ax }),
        vec![a.clone()],
        stream(),
    );
    if keepdims {
        Ok(r)
    } else {
        reshape_to(&r, &out_shape)
    }
}

/// Number of non-zero elements over `axes` (int32; NaN counts as non-zero).
pub fn count_nonzero(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "count_nonzero")?;
    let nz = super::astype(a, Dtype::Bool)?;
    if ax.is_empty() {
        return super::astype(&nz, Dtype::Int32);
    }
    reduce_node(&nz, ReduceOp::Sum, ax, Dtype::Int32, keepdims)
}

impl Array {
    /// Sum over `axes`; see [`sum`].
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        sum(self, axes, keepdims)
    }
    /// Product over `axes`; see [`prod`].
    pub fn prod(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        prod(self, axes, keepdims)
    }
    /// Maximum over `axes`; see [`max`].
    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        max(self, axes, keepdims)
    }
    /// Minimum over `axes`; see [`min`].
    pub fn min(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        min(self, axes, keepdims)
    }
    /// Whether all elements over `axes` are non-zero; see [`all`].
    pub fn all(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        all(self, axes, keepdims)
    }
    /// Whether any element over `axes` is non-zero; see [`any`].
    pub fn any(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        any(self, axes, keepdims)
    }
    /// Index of the maximum; see [`argmax`].
    pub fn argmax(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        argmax(self, axis, keepdims)
    }
    /// Index of the minimum; see [`argmin`].
    pub fn argmin(&self, axis: Option<isize>, keepdims: bool) -> Result<Array> {
        argmin(self, axis, keepdims)
    }
    /// Log-sum-exp over `axes`; see [`logsumexp`].
    pub fn logsumexp(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        logsumexp(self, axes, keepdims)
    }
}
