//! Shape ops: reshape, transpose, broadcasting, squeezing, flattening and friends.

use super::{broadcast_shapes, normalize_axes, normalize_axis, stream};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::primitives::shape::{Broadcast, Copy, Reshape, Transpose};
use std::sync::Arc;

/// Resolve a shape with at most one `-1` for an array of `size` elements.
pub fn infer_shape(shape: &[isize], size: usize, op: &str) -> Result<Vec<usize>> {
    let mut infer = None;
    let mut known = 1usize;
    for (i, &d) in shape.iter().enumerate() {
        if d == -1 {
            if infer.is_some() {
                return Err(Error::InvalidArgument(format!(
                    "{op}: can only infer one dimension, got shape {shape:?}"
                )));
            }
            infer = Some(i);
        } else if d < 0 {
            return Err(Error::InvalidArgument(format!(
                "{op}: invalid dimension {d} in shape {shape:?}"
            )));
        } else {
            known *= d as usize;
        }
    }
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(i) = infer {
        if known == 0 || size % known != 0 {
            return Err(Error::Shape(format!(
                "{op}: cannot infer the dimension of shape {shape:?} for an array of size {size}"
            )));
        }
        out[i] = size / known;
    } else if known != size {
        return Err(Error::Shape(format!(
            "{op}: cannot reshape an array of size {size} into shape {shape:?}"
        )));
    }
    Ok(out)
}

/// Reshape to `shape` (one entry may be `-1`). A view when the data's layout allows.
pub fn reshape(a: &Array, shape: &[isize]) -> Result<Array> {
    let shape = infer_shape(shape, a.size(), "reshape")?;
    if shape == a.shape() {
        return Ok(a.clone());
    }
    Ok(Array::new_node(
        shape.clone(),
        a.dtype(),
        Arc::new(Reshape { shape }),
        vec![a.clone()],
        stream(),
    ))
}

/// Reshape to a shape given in `usize`.
pub fn reshape_to(a: &Array, shape: &[usize]) -> Result<Array> {
    let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
    reshape(a, &s)
}

/// Permute the axes: `axes` lists, for each output axis, the input axis (negative allowed).
pub fn transpose_axes(a: &Array, axes: &[isize]) -> Result<Array> {
    if axes.len() != a.ndim() {
        return Err(Error::InvalidArgument(format!(
            "transpose: axes {axes:?} do not match an array with {} dimensions",
            a.ndim()
        )));
    }
    let perm: Vec<usize> = axes
        .iter()
        .map(|&x| normalize_axis(x, a.ndim(), "transpose"))
        .collect::<Result<_>>()?;
    let mut seen = vec![false; perm.len()];
    for &p in &perm {
        if seen[p] {
            return Err(Error::InvalidArgument(format!(
                "transpose: repeated axis in {axes:?}"
            )));
        }
        seen[p] = true;
    }
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        return Ok(a.clone());
    }
    let shape = perm.iter().map(|&p| a.shape()[p]).collect();
    Ok(Array::new_node(
        shape,
        a.dtype(),
        Arc::new(Transpose { perm }),
        vec![a.clone()],
        stream(),
    ))
}

/// Reverse the axes.
pub fn transpose(a: &Array) -> Result<Array> {
    let axes: Vec<isize> = (0..a.ndim() as isize).rev().collect();
    transpose_axes(a, &axes)
}

/// MLX's `permute_dims` (same as [`transpose_axes`]).
pub fn permute_dims(a: &Array, axes: &[isize]) -> Result<Array> {
    transpose_axes(a, axes)
}

/// Broadcast to `shape` (NumPy rules; a view).
pub fn broadcast_to(a: &Array, shape: &[usize]) -> Result<Array> {
    if a.shape() == shape {
        return Ok(a.clone());
    }
    let b = broadcast_shapes(a.shape(), shape, "broadcast_to")?;
    if b != shape {
        return Err(Error::Shape(format!(
            "broadcast_to: cannot broadcast an array of shape {:?} to shape {:?}",
            a.shape(),
            shape
        )));
    }
    Ok(Array::new_node(
        shape.to_vec(),
        a.dtype(),
        Arc::new(Broadcast {
            shape: shape.to_vec(),
        }),
        vec![a.clone()],
        stream(),
    ))
}

/// Broadcast several arrays against each other.
pub fn broadcast_arrays(arrays: &[Array]) -> Result<Vec<Array>> {
    let mut shape: Vec<usize> = vec![];
    for a in arrays {
        shape = broadcast_shapes(&shape, a.shape(), "broadcast_arrays")?;
    }
    arrays.iter().map(|a| broadcast_to(a, &shape)).collect()
}

/// Row-contiguous copy of `a` (returns `a` itself when already row-contiguous after
/// evaluation; the check is made at evaluation time by the `Copy` kernel's caller).
pub fn contiguous(a: &Array) -> Result<Array> {
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Copy),
        vec![a.clone()],
        stream(),
    ))
}

/// Insert size-1 axes at `axes` (positions in the output; negative allowed).
pub fn expand_dims(a: &Array, axes: &[isize]) -> Result<Array> {
    let nd = a.ndim() + axes.len();
    let ax = normalize_axes(axes, nd, "expand_dims")?;
    let mut shape = Vec::with_capacity(nd);
    let mut it = a.shape().iter();
    for i in 0..nd {
        if ax.binary_search(&i).is_ok() {
            shape.push(1);
        } else {
            shape.push(*it.next().expect("counted"));
        }
    }
    reshape_to(a, &shape)
}

/// Remove size-1 axes: the given ones (error if not size 1), or all when `axes` is None.
pub fn squeeze(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    let shape: Vec<usize> = match axes {
        None => a.shape().iter().copied().filter(|&d| d != 1).collect(),
        Some(axes) => {
            let ax = normalize_axes(axes, a.ndim(), "squeeze")?;
            for &x in &ax {
                if a.shape()[x] != 1 {
                    return Err(Error::InvalidArgument(format!(
                        "squeeze: cannot squeeze axis {x} of size {} (shape {:?})",
                        a.shape()[x],
                        a.shape()
                    )));
                }
            }
            a.shape()
                .iter()
                .enumerate()
                .filter(|(i, _)| ax.binary_search(i).is_err())
                .map(|(_, &d)| d)
                .collect()
        }
    };
    reshape_to(a, &shape)
}

/// Flatten axes `start..=end` into one (negative allowed). A 0-d array becomes 1-d.
pub fn flatten(a: &Array, start_axis: isize, end_axis: isize) -> Result<Array> {
    if a.ndim() == 0 {
        return reshape_to(a, &[1]);
    }
    let s = normalize_axis(start_axis, a.ndim(), "flatten")?;
    let e = normalize_axis(end_axis, a.ndim(), "flatten")?;
    if s > e {
        return Err(Error::InvalidArgument(format!(
            "flatten: start_axis {start_axis} must not come after end_axis {end_axis}"
        )));
    }
    let mut shape: Vec<usize> = a.shape()[..s].to_vec();
    shape.push(a.shape()[s..=e].iter().product());
    shape.extend_from_slice(&a.shape()[e + 1..]);
    reshape_to(a, &shape)
}

impl Array {
    /// See [`reshape`].
    pub fn reshape(&self, shape: &[isize]) -> Result<Array> {
        reshape(self, shape)
    }
    /// See [`transpose`].
    pub fn t(&self) -> Result<Array> {
        transpose(self)
    }
    /// See [`transpose_axes`].
    pub fn transpose(&self, axes: &[isize]) -> Result<Array> {
        transpose_axes(self, axes)
    }
    /// See [`broadcast_to`].
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        broadcast_to(self, shape)
    }
    /// See [`flatten`] (all axes).
    pub fn flatten(&self) -> Result<Array> {
        flatten(self, 0, -1)
    }
}
