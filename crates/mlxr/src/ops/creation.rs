//! Array-creation ops with MLX's names, defaults and dtype rules: `zeros`, `ones`, `full`
//! (and their `_like` forms), `arange`, `linspace`, `eye`, `identity`, `tri`, `tril`,
//! `triu` and `meshgrid`. The default floating dtype is float32, as in MLX.

use super::shape::{broadcast_to, reshape_to};
use super::{astype, stream, Operand, Scalar, ToOperand};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::creation::{Arange, Eye, Full, Linspace, Tri};
use std::sync::Arc;

/// An array of `shape` filled with `value` (a scalar, or an array broadcast to `shape`).
/// The dtype is `dtype` when given, else the value's (a Rust integer gives int32, a float
/// float32, a bool bool). An integer that does not fit an integer `dtype` is an error.
pub fn full(shape: &[usize], value: impl ToOperand, dtype: Option<Dtype>) -> Result<Array> {
    let v = match value.to_operand() {
        Operand::Scalar(s) => s.to_array_checked(dtype.unwrap_or(s.default_dtype()))?,
        Operand::Array(a) => match dtype {
            Some(d) => astype(&a, d)?,
            None => a,
        },
    };
    let dt = v.dtype();
    let b = broadcast_to(&v, shape).map_err(|e| {
        Error::Shape(format!(
            "full: cannot fill shape {shape:?} with a value of shape {:?} ({e})",
            v.shape()
        ))
    })?;
    Ok(Array::new_node(
        shape.to_vec(),
        dt,
        Arc::new(Full),
        vec![b],
        stream(),
    ))
}

/// An array of `shape` filled with zeros (dtype float32 unless given).
pub fn zeros(shape: &[usize], dtype: Option<Dtype>) -> Result<Array> {
    full(shape, 0, Some(dtype.unwrap_or(Dtype::Float32)))
}

/// An array of `shape` filled with ones (dtype float32 unless given).
pub fn ones(shape: &[usize], dtype: Option<Dtype>) -> Result<Array> {
    full(shape, 1, Some(dtype.unwrap_or(Dtype::Float32)))
}

/// Zeros with `a`'s shape and dtype.
pub fn zeros_like(a: &Array) -> Result<Array> {
    zeros(a.shape(), Some(a.dtype()))
}

/// Ones with `a`'s shape and dtype.
pub fn ones_like(a: &Array) -> Result<Array> {
    ones(a.shape(), Some(a.dtype()))
}

/// `value` filled in `a`'s shape, with `dtype` or else `a`'s dtype.
pub fn full_like(a: &Array, value: impl ToOperand, dtype: Option<Dtype>) -> Result<Array> {
    full(a.shape(), value, Some(dtype.unwrap_or(a.dtype())))
}

/// A number argument of arange: its value and whether it is a float.
fn arange_arg(x: impl ToOperand, what: &str) -> Result<(f64, bool)> {
    match x.to_operand() {
        Operand::Scalar(Scalar::Int(v)) => Ok((v as f64, false)),
        Operand::Scalar(Scalar::Bool(v)) => Ok((v as i32 as f64, false)),
        Operand::Scalar(Scalar::Float(v)) => Ok((v, true)),
        Operand::Scalar(Scalar::Complex(_)) => Err(Error::InvalidArgument(format!(
            "arange: {what} must be a real number, not a complex one"
        ))),
        Operand::Array(a) => Err(Error::InvalidArgument(format!(
            "arange: {what} must be a Rust number, not an array of shape {:?}",
            a.shape()
        ))),
    }
}

/// `0, 1, ..., stop - 1` (MLX's `arange(stop)`): int32 for an integer `stop`, float32 for
/// a float.
pub fn arange(stop: impl ToOperand) -> Result<Array> {
    arange_range(0, stop, 1, None)
}

/// MLX's `arange(start, stop, step, dtype)`: `ceil((stop - start) / step)` values
/// `start, start + step, ...`. Without `dtype` the result is float32 if any argument is a
/// float, else int32. A zero step and a bool dtype are errors. Values are computed as MLX
/// does: start and step are converted to the dtype, then the value is accumulated.
pub fn arange_range(
    start: impl ToOperand,
    stop: impl ToOperand,
    step: impl ToOperand,
    dtype: Option<Dtype>,
) -> Result<Array> {
    let (start, f1) = arange_arg(start, "start")?;
    let (stop, f2) = arange_arg(stop, "stop")?;
    let (step, f3) = arange_arg(step, "step")?;
    let dtype = dtype.unwrap_or(if f1 || f2 || f3 {
        Dtype::Float32
    } else {
        Dtype::Int32
    });
    if step == 0.0 {
        return Err(Error::InvalidArgument(
            "arange: step must be nonzero".into(),
        ));
    }
    if dtype == Dtype::Bool {
        return Err(Error::Dtype(
            "arange: bool is not supported for arange".into(),
        ));
    }
    let len = ((stop - start) / step).ceil();
    if len.is_nan() || len > i32::MAX as f64 {
        return Err(Error::InvalidArgument(format!(
            "arange: start {start}, stop {stop} and step {step} give more than the maximum \
             size of {} elements",
            i32::MAX
        )));
    }
    let n = len.max(0.0) as usize;
    Ok(Array::new_node(
        vec![n],
        dtype,
        Arc::new(Arange { start, stop, step }),
        vec![],
        stream(),
    ))
}

/// `num` evenly spaced values from `start` to `stop` inclusive (dtype float32 unless
/// given; other dtypes get the float values converted, as in MLX).
pub fn linspace(start: f64, stop: f64, num: usize, dtype: Option<Dtype>) -> Result<Array> {
    Ok(Array::new_node(
        vec![num],
        dtype.unwrap_or(Dtype::Float32),
        Arc::new(Linspace { start, stop }),
        vec![],
        stream(),
    ))
}

/// An `n × m` matrix (`m` defaults to `n`) with ones on diagonal `k` (> 0 above the main
/// diagonal, < 0 below) and zeros elsewhere; dtype float32 unless given.
pub fn eye(n: usize, m: Option<usize>, k: isize, dtype: Option<Dtype>) -> Result<Array> {
    Ok(Array::new_node(
        vec![n, m.unwrap_or(n)],
        dtype.unwrap_or(Dtype::Float32),
        Arc::new(Eye { k }),
        vec![],
        stream(),
    ))
}

/// The `n × n` identity matrix (dtype float32 unless given).
pub fn identity(n: usize, dtype: Option<Dtype>) -> Result<Array> {
    eye(n, None, 0, dtype)
}

/// An `n × m` matrix (`m` defaults to `n`) with ones on and below diagonal `k` and zeros
/// above; dtype float32 unless given.
pub fn tri(n: usize, m: Option<usize>, k: isize, dtype: Option<Dtype>) -> Result<Array> {
    Ok(Array::new_node(
        vec![n, m.unwrap_or(n)],
        dtype.unwrap_or(Dtype::Float32),
        Arc::new(Tri { k }),
        vec![],
        stream(),
    ))
}

/// The mask of tril/triu (`tri` of the last two axes of `a`) and a zero of `a`'s dtype.
fn tri_mask(a: &Array, k: isize, op: &str) -> Result<(Array, Array)> {
    if a.ndim() < 2 {
        return Err(Error::InvalidArgument(format!(
            "{op}: the array must be at least 2-D, got shape {:?}",
            a.shape()
        )));
    }
    let (n, m) = (a.shape()[a.ndim() - 2], a.shape()[a.ndim() - 1]);
    Ok((
        tri(n, Some(m), k, Some(Dtype::Bool))?,
        zeros(&[], Some(a.dtype()))?,
    ))
}

/// The lower triangle of the last two axes of `a`: elements on and below diagonal `k`,
/// zeros above (MLX: `where(tri(.., k), a, 0)`; the dtype is kept).
pub fn tril(a: &Array, k: isize) -> Result<Array> {
    let (mask, zero) = tri_mask(a, k, "tril")?;
    super::where_(&mask, a, &zero)
}

/// The upper triangle of the last two axes of `a`: elements on and above diagonal `k`,
/// zeros below (MLX: `where(tri(.., k - 1), 0, a)`; the dtype is kept).
pub fn triu(a: &Array, k: isize) -> Result<Array> {
    let (mask, zero) = tri_mask(a, k - 1, "triu")?;
    super::where_(&mask, &zero, a)
}

/// Coordinate arrays from 1-D coordinate vectors (other arrays are flattened). With
/// `indexing` `"xy"` (Cartesian, the default in MLX/NumPy) the first two output axes are
/// swapped; `"ij"` keeps matrix order. `sparse` returns broadcastable arrays with size-1
/// axes instead of full ones. Each output keeps its input's dtype; full outputs are
/// broadcast views.
pub fn meshgrid(arrays: &[Array], sparse: bool, indexing: &str) -> Result<Vec<Array>> {
    if indexing != "xy" && indexing != "ij" {
        return Err(Error::InvalidArgument(format!(
            "meshgrid: invalid indexing value {indexing:?}; valid values are \"xy\" and \"ij\""
        )));
    }
    let n = arrays.len();
    let mut sizes: Vec<usize> = arrays.iter().map(|a| a.size()).collect();
    // Position of array i's axis in the output.
    let pos = |i: usize| -> usize {
        if indexing == "xy" && n >= 2 && i < 2 {
            1 - i
        } else {
            i
        }
    };
    if indexing == "xy" && n >= 2 {
        sizes.swap(0, 1);
    }
    arrays
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut shape = vec![1usize; n];
            shape[pos(i)] = a.size();
            let r = reshape_to(a, &shape)?;
            if sparse {
                Ok(r)
            } else {
                broadcast_to(&r, &sizes)
            }
        })
        .collect()
}
