//! Scan ops: `cumsum`, `cumprod`, `cummax`, `cummin`, `logcumsumexp` along one axis
//! (`None` flattens), with MLX's `reverse` / `inclusive` flags and output dtypes
//! (`cumsum` of bool gives int32; integer types keep their dtype and wrap;
//! `logcumsumexp` of integers gives float32); `diff`; and `convolve`.

use super::{normalize_axis, stream};
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use crate::ops::{astype, reshape_to};
use crate::primitives::scan::{Convolve, Scan, ScanOp};
use std::sync::Arc;

fn scan_op(
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
    op: ScanOp,
    dtype: Option<Dtype>,
    name: &str,
) -> Result<Array> {
    let (a, axis) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(x) => {
            let n = a.ndim() as isize;
            if x < -n || x >= n {
                return Err(Error::InvalidArgument(format!(
                    "[{name}] Axis {x} is out of bounds for array with {} dimensions.",
                    a.ndim()
                )));
            }
            (a.clone(), normalize_axis(x, a.ndim(), name)?)
        }
    };
    let dt = match dtype {
        Some(d) => d,
        None => match op {
            ScanOp::Sum if a.dtype() == Dtype::Bool => Dtype::Int32,
            ScanOp::LogAddExp if !a.dtype().is_inexact() => Dtype::Float32,
            _ => a.dtype(),
        },
    };
    let a = astype(&a, dt)?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        dt,
        Arc::new(Scan {
            op,
            axis,
            reverse,
            inclusive,
        }),
        vec![a],
        stream(),
    ))
}

/// Cumulative sum along `axis` (`None`: of the flattened array). `reverse` sums from the
/// end; `inclusive == false` shifts by one (the first output is 0). Bool sums to int32;
/// other dtypes keep theirs (integers wrap; f16/bf16 accumulate in their own precision,
/// as MLX).
pub fn cumsum(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_op(a, axis, reverse, inclusive, ScanOp::Sum, None, "cumsum")
}

/// [`cumsum`] computed in (and returning) `dtype`.
pub fn cumsum_dtype(
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
    dtype: Dtype,
) -> Result<Array> {
    scan_op(
        a,
        axis,
        reverse,
        inclusive,
        ScanOp::Sum,
        Some(dtype),
        "cumsum",
    )
}

/// Cumulative product along `axis`; see [`cumsum`] for the flags (bool stays bool).
pub fn cumprod(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_op(a, axis, reverse, inclusive, ScanOp::Prod, None, "cumprod")
}

/// [`cumprod`] computed in (and returning) `dtype`.
pub fn cumprod_dtype(
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
    dtype: Dtype,
) -> Result<Array> {
    scan_op(
        a,
        axis,
        reverse,
        inclusive,
        ScanOp::Prod,
        Some(dtype),
        "cumprod",
    )
}

/// Cumulative maximum along `axis` (NaN propagates; an exclusive scan starts from the
/// dtype's lowest value, -inf for floats).
pub fn cummax(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_op(a, axis, reverse, inclusive, ScanOp::Max, None, "cummax")
}

/// Cumulative minimum along `axis` (NaN propagates; an exclusive scan starts from the
/// dtype's highest value, +inf for floats).
pub fn cummin(a: &Array, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
    scan_op(a, axis, reverse, inclusive, ScanOp::Min, None, "cummin")
}

/// Cumulative `log(sum(exp(a)))` along `axis` (integers and bool give float32; an
/// exclusive scan starts from -inf).
pub fn logcumsumexp(
    a: &Array,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
) -> Result<Array> {
    scan_op(
        a,
        axis,
        reverse,
        inclusive,
        ScanOp::LogAddExp,
        None,
        "logcumsumexp",
    )
}

/// The discrete linear convolution of two 1-D floating arrays (`np.convolve`; the
/// shorter one is the filter). `mode`: `"full"` (length `n + m - 1`), `"same"` (length
/// `max(n, m)`, centred) or `"valid"` (length `max(n, m) - min(n, m) + 1`).
pub fn convolve(a: &Array, v: &Array, mode: &str) -> Result<Array> {
    if a.ndim() != 1 || v.ndim() != 1 {
        return Err(Error::Shape(format!(
            "[convolve] Inputs must be 1D, got shapes {:?} and {:?}.",
            a.shape(),
            v.shape()
        )));
    }
    let dt = promote_types(a.dtype(), v.dtype());
    if !dt.is_floating() {
        return Err(Error::Dtype(format!(
            "[convolve] Invalid input array with type {dt}. Convolution currently only supports floating point types"
        )));
    }
    if !matches!(mode, "full" | "same" | "valid") {
        return Err(Error::InvalidArgument(format!(
            "[convolve] Invalid mode '{mode}'. Expected 'full', 'same' or 'valid'."
        )));
    }
    let (mut a, mut v) = (astype(a, dt)?, astype(v, dt)?);
    if v.size() > a.size() {
        std::mem::swap(&mut a, &mut v);
    }
    let (n, m) = (a.size(), v.size());
    if m == 0 {
        return Err(Error::InvalidArgument(
            "[convolve] Inputs cannot be empty.".into(),
        ));
    }
    let full = Array::new_node(
        vec![n + m - 1],
        dt,
        Arc::new(Convolve),
        vec![a, v],
        stream(),
    );
    match mode {
        "full" => Ok(full),
        "same" => super::sort::slice_axis(&full, 0, (m - 1) / 2, n),
        _ => super::sort::slice_axis(&full, 0, m - 1, n - m + 1),
    }
}

/// The `n`-th discrete difference along `axis` (MLX's `diff`): `a[1:] - a[:-1]` applied
/// `n` times (`a[1:] != a[:-1]` for bool). `n = 0` returns `a`; `n` at least the axis
/// length gives an empty axis.
pub fn diff(a: &Array, n: usize, axis: isize) -> Result<Array> {
    let nd = a.ndim() as isize;
    if axis < -nd || axis >= nd {
        return Err(Error::InvalidArgument(format!(
            "[diff] Axis {axis} is out of bounds for the array with {nd} dimensions."
        )));
    }
    let ax = normalize_axis(axis, a.ndim(), "diff")?;
    let mut x = a.clone();
    for _ in 0..n {
        let len = x.shape()[ax];
        if len == 0 {
            break;
        }
        let hi = super::sort::slice_axis(&x, ax, 1, len - 1)?;
        let lo = super::sort::slice_axis(&x, ax, 0, len - 1)?;
        x = if x.dtype() == Dtype::Bool {
            super::not_equal(&hi, &lo)?
        } else {
            super::subtract(&hi, &lo)?
        };
    }
    Ok(x)
}

impl Array {
    /// See [`cumsum`].
    pub fn cumsum(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cumsum(self, axis, reverse, inclusive)
    }
    /// See [`cumprod`].
    pub fn cumprod(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cumprod(self, axis, reverse, inclusive)
    }
    /// See [`cummax`].
    pub fn cummax(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cummax(self, axis, reverse, inclusive)
    }
    /// See [`cummin`].
    pub fn cummin(&self, axis: Option<isize>, reverse: bool, inclusive: bool) -> Result<Array> {
        cummin(self, axis, reverse, inclusive)
    }
    /// See [`logcumsumexp`].
    pub fn logcumsumexp(
        &self,
        axis: Option<isize>,
        reverse: bool,
        inclusive: bool,
    ) -> Result<Array> {
        logcumsumexp(self, axis, reverse, inclusive)
    }
}
