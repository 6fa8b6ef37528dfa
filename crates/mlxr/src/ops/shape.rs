//! Shape ops: reshape, transpose, broadcasting, squeezing, flattening and friends;
//! joining and splitting (concatenate, stack, split, unstack); copies that rearrange
//! elements (tile, repeat, pad, roll); diagonals (diagonal, diag, trace); strided and
//! dtype views (as_strided, view).

use super::slicing::slice;
use super::{astype, broadcast_shapes, normalize_axes, normalize_axis, stream, Operand, ToOperand};
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use crate::primitives::shape::{
    Broadcast, Concatenate, Copy, Diag, Diagonal, Pad, Repeat, Reshape, Roll, Tile, Transpose, View,
};
use crate::primitives::slicing::AsStrided;
use std::sync::Arc;

pub use crate::primitives::shape::PadMode;

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
        if known == 0 || !size.is_multiple_of(known) {
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

/// Split axis `axis` into the axes `shape` (one entry may be `-1`; their product must be
/// the axis' size).
pub fn unflatten(a: &Array, axis: isize, shape: &[isize]) -> Result<Array> {
    let ax = normalize_axis(axis, a.ndim(), "unflatten")?;
    if shape.is_empty() {
        return Err(Error::InvalidArgument(
            "unflatten: the shape to unflatten to cannot be empty".into(),
        ));
    }
    let n = a.shape()[ax];
    let sub = infer_shape(shape, n, "unflatten").map_err(|e| {
        Error::Shape(format!(
            "unflatten: cannot unflatten axis {axis} of size {n} (shape {:?}) into {shape:?}: {e}",
            a.shape()
        ))
    })?;
    let mut out: Vec<usize> = a.shape()[..ax].to_vec();
    out.extend_from_slice(&sub);
    out.extend_from_slice(&a.shape()[ax + 1..]);
    reshape_to(a, &out)
}

/// Swap two axes (a view).
pub fn swapaxes(a: &Array, axis1: isize, axis2: isize) -> Result<Array> {
    let a1 = normalize_axis(axis1, a.ndim(), "swapaxes")?;
    let a2 = normalize_axis(axis2, a.ndim(), "swapaxes")?;
    let mut perm: Vec<isize> = (0..a.ndim() as isize).collect();
    perm.swap(a1, a2);
    transpose_axes(a, &perm)
}

/// Move axis `source` to position `destination`, keeping the order of the others (a view).
pub fn moveaxis(a: &Array, source: isize, destination: isize) -> Result<Array> {
    let s = normalize_axis(source, a.ndim(), "moveaxis")?;
    let d = normalize_axis(destination, a.ndim(), "moveaxis")?;
    let mut perm: Vec<isize> = (0..a.ndim() as isize)
        .filter(|&i| i != s as isize)
        .collect();
    perm.insert(d, s as isize);
    transpose_axes(a, &perm)
}

/// Join arrays along an existing axis. The shapes must match except along `axis`; the
/// result has the promoted dtype of all inputs (MLX's `promote_types`).
pub fn concatenate(arrays: &[Array], axis: isize) -> Result<Array> {
    let first = arrays.first().ok_or_else(|| {
        Error::InvalidArgument("concatenate: no arrays provided for concatenation".into())
    })?;
    let nd = first.ndim();
    for x in arrays {
        if x.ndim() != nd {
            return Err(Error::Shape(format!(
                "concatenate: all the input arrays must have the same number of dimensions, \
                 but got shapes {:?} and {:?}",
                first.shape(),
                x.shape()
            )));
        }
    }
    let ax = normalize_axis(axis, nd, "concatenate")?;
    let mut out_shape = first.shape().to_vec();
    out_shape[ax] = 0;
    let mut dtype = first.dtype();
    for x in arrays {
        let ok = (0..nd).all(|i| i == ax || x.shape()[i] == first.shape()[i]);
        if !ok {
            let shapes: Vec<String> = arrays.iter().map(|x| format!("{:?}", x.shape())).collect();
            return Err(Error::Shape(format!(
                "concatenate: all the input array dimensions must match exactly except for \
                 the concatenation axis {axis}, but got shapes {}",
                shapes.join(", ")
            )));
        }
        out_shape[ax] += x.shape()[ax];
        dtype = promote_types(dtype, x.dtype());
    }
    if arrays.len() == 1 {
        return Ok(first.clone());
    }
    let inputs: Vec<Array> = arrays
        .iter()
        .map(|x| astype(x, dtype))
        .collect::<Result<_>>()?;
    Ok(Array::new_node(
        out_shape,
        dtype,
        Arc::new(Concatenate { axis: ax }),
        inputs,
        stream(),
    ))
}

/// Join arrays of one shape along a new axis `axis` (of the output; negative allowed).
pub fn stack(arrays: &[Array], axis: isize) -> Result<Array> {
    let first = arrays
        .first()
        .ok_or_else(|| Error::InvalidArgument("stack: no arrays provided for stacking".into()))?;
    for x in arrays {
        if x.shape() != first.shape() {
            return Err(Error::Shape(format!(
                "stack: all arrays must have the same shape, but got {:?} and {:?}",
                first.shape(),
                x.shape()
            )));
        }
    }
    let ax = normalize_axis(axis, first.ndim() + 1, "stack")? as isize;
    let expanded: Vec<Array> = arrays
        .iter()
        .map(|x| expand_dims(x, &[ax]))
        .collect::<Result<_>>()?;
    if expanded.len() == 1 {
        return Ok(expanded[0].clone());
    }
    concatenate(&expanded, ax)
}

/// How [`split`] cuts an axis: into equal sections, or at indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Split {
    /// This many equal parts (the axis must divide evenly).
    Sections(usize),
    /// Cut before each of these indices (Python slice semantics for each piece).
    Indices(Vec<isize>),
}
impl From<usize> for Split {
    fn from(n: usize) -> Split {
        Split::Sections(n)
    }
}
impl From<i32> for Split {
    fn from(n: i32) -> Split {
        Split::Sections(n.max(0) as usize)
    }
}
impl From<&[isize]> for Split {
    fn from(v: &[isize]) -> Split {
        Split::Indices(v.to_vec())
    }
}
impl<const N: usize> From<[isize; N]> for Split {
    fn from(v: [isize; N]) -> Split {
        Split::Indices(v.to_vec())
    }
}
impl From<Vec<isize>> for Split {
    fn from(v: Vec<isize>) -> Split {
        Split::Indices(v)
    }
}

/// MLX's `split(a, indices_or_sections, axis)`: a number splits into that many equal parts,
/// a list of indices cuts before each index. The parts are views of `a`.
pub fn split(a: &Array, indices_or_sections: impl Into<Split>, axis: isize) -> Result<Vec<Array>> {
    match indices_or_sections.into() {
        Split::Sections(n) => split_sections(a, n, axis),
        Split::Indices(v) => split_indices(a, &v, axis),
    }
}

/// Split into `n` equal parts along `axis` (an error unless the axis size divides by `n`).
pub fn split_sections(a: &Array, n: usize, axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis(axis, a.ndim(), "split")?;
    if n == 0 {
        return Err(Error::InvalidArgument(
            "split: the number of splits must be positive, got 0".into(),
        ));
    }
    let size = a.shape()[ax];
    if !size.is_multiple_of(n) {
        return Err(Error::Shape(format!(
            "split: array split does not result in sub arrays with equal size: attempting {n} \
             splits along axis {ax} for shape {:?}",
            a.shape()
        )));
    }
    let step = (size / n) as isize;
    let idx: Vec<isize> = (1..n as isize).map(|i| i * step).collect();
    split_indices(a, &idx, axis)
}

/// Split along `axis` before each index in `indices`: the parts are
/// `a[..i0], a[i0..i1], ..., a[ik..]` (Python slice semantics: negative indices count from
/// the end, out of range ones clamp, decreasing ones give empty parts).
pub fn split_indices(a: &Array, indices: &[isize], axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis(axis, a.ndim(), "split")?;
    let nd = a.ndim();
    let mut bounds: Vec<isize> = vec![0];
    bounds.extend_from_slice(indices);
    bounds.push(a.shape()[ax] as isize);
    let mut out = Vec::with_capacity(bounds.len() - 1);
    for w in bounds.windows(2) {
        let mut start = vec![0isize; nd];
        let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
        start[ax] = w[0];
        stop[ax] = w[1];
        out.push(slice(a, &start, &stop, &vec![1; nd])?);
    }
    Ok(out)
}

/// Split along `axis` into its slices, removing the axis (views).
pub fn unstack(a: &Array, axis: isize) -> Result<Vec<Array>> {
    let ax = normalize_axis(axis, a.ndim(), "unstack")?;
    if a.shape()[ax] == 0 {
        return Ok(vec![]);
    }
    split_sections(a, a.shape()[ax], axis)?
        .iter()
        .map(|p| squeeze(p, Some(&[ax as isize])))
        .collect()
}

/// Repeat the whole array `reps[i]` times along axis `i`. Shorter `reps` are padded with
/// leading 1s; a longer `reps` adds leading axes to the array (as MLX/NumPy).
pub fn tile(a: &Array, reps: &[usize]) -> Result<Array> {
    let nd = a.ndim().max(reps.len());
    let mut shape = vec![1usize; nd - a.ndim()];
    shape.extend_from_slice(a.shape());
    let mut r = vec![1usize; nd - reps.len()];
    r.extend_from_slice(reps);
    let x = reshape_to(a, &shape)?;
    if r.iter().all(|&k| k == 1) {
        return Ok(x);
    }
    let out: Vec<usize> = shape.iter().zip(&r).map(|(&n, &k)| n * k).collect();
    Ok(Array::new_node(
        out,
        a.dtype(),
        Arc::new(Tile { reps: r }),
        vec![x],
        stream(),
    ))
}

/// Repeat each element `repeats` times along `axis`; with no axis the array is flattened
/// first (MLX's `repeat`).
pub fn repeat(a: &Array, repeats: usize, axis: Option<isize>) -> Result<Array> {
    let (x, ax) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(axis) => (a.clone(), normalize_axis(axis, a.ndim(), "repeat")?),
    };
    if repeats == 1 {
        return Ok(x);
    }
    let mut out = x.shape().to_vec();
    out[ax] *= repeats;
    Ok(Array::new_node(
        out,
        a.dtype(),
        Arc::new(Repeat { repeats, axis: ax }),
        vec![x],
        stream(),
    ))
}

/// MLX's `pad(a, pad_width, mode, constant_values)`: add `pad_width[i].0` elements before
/// and `pad_width[i].1` after axis `i` (one pair applies to every axis). New elements are
/// `constant_values` (a scalar or a one-element array, converted to `a`'s dtype) in
/// `Constant` mode, or copies of the edge / mirror images in the other modes.
pub fn pad(
    a: &Array,
    pad_width: &[(usize, usize)],
    mode: PadMode,
    constant_values: impl ToOperand,
) -> Result<Array> {
    let nd = a.ndim();
    let widths: Vec<(usize, usize)> = match pad_width.len() {
        n if n == nd => pad_width.to_vec(),
        1 => vec![pad_width[0]; nd],
        0 if nd == 0 => vec![],
        n => {
            return Err(Error::InvalidArgument(format!(
                "pad: invalid number of padding sizes ({n}) for an array of shape {:?}: give \
                 one (before, after) pair per axis, or one pair for all axes",
                a.shape()
            )))
        }
    };
    let value = match constant_values.to_operand() {
        Operand::Scalar(s) => s.to_array_checked(a.dtype())?,
        Operand::Array(v) => {
            if v.size() != 1 {
                return Err(Error::Shape(format!(
                    "pad: constant_values must hold a single value, got shape {:?}",
                    v.shape()
                )));
            }
            astype(&reshape_to(&v, &[])?, a.dtype())?
        }
    };
    if widths.iter().all(|&(l, h)| l == 0 && h == 0) {
        return Ok(a.clone());
    }
    let out: Vec<usize> = a
        .shape()
        .iter()
        .zip(&widths)
        .map(|(&n, &(l, h))| n + l + h)
        .collect();
    Ok(Array::new_node(
        out,
        a.dtype(),
        Arc::new(Pad {
            low: widths.iter().map(|w| w.0).collect(),
            high: widths.iter().map(|w| w.1).collect(),
            mode,
        }),
        vec![a.clone(), value],
        stream(),
    ))
}

/// Shift elements cyclically (MLX's `roll`). Without axes, the flattened array rolls by
/// the sum of `shift` and keeps its shape. With one axis, that axis rolls by the sum of
/// `shift`; with several, a single shift applies to every axis, else `shift[i]` to
/// `axes[i]` (at least one shift per axis is required; repeated axes add up).
pub fn roll(a: &Array, shift: &[isize], axes: Option<&[isize]>) -> Result<Array> {
    let nd = a.ndim();
    let mut shifts = vec![0isize; nd];
    let x = match axes {
        None => {
            shifts = vec![shift.iter().sum()];
            reshape_to(a, &[a.size()])?
        }
        Some(axes) => {
            if shift.is_empty() && !axes.is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "roll: at least one shift value per axis is required, 0 provided for {} \
                     axes",
                    axes.len()
                )));
            }
            if axes.len() == 1 {
                let ax = normalize_axis(axes[0], nd, "roll")?;
                shifts[ax] = shift.iter().sum();
            } else if shift.len() == 1 {
                for &ax in axes {
                    shifts[normalize_axis(ax, nd, "roll")?] += shift[0];
                }
            } else {
                if shift.len() < axes.len() {
                    return Err(Error::InvalidArgument(format!(
                        "roll: at least one shift value per axis is required, {} provided \
                         for {} axes",
                        shift.len(),
                        axes.len()
                    )));
                }
                for (&ax, &s) in axes.iter().zip(shift) {
                    shifts[normalize_axis(ax, nd, "roll")?] += s;
                }
            }
            a.clone()
        }
    };
    if x.ndim() == 0
        || x.shape()
            .iter()
            .zip(&shifts)
            .all(|(&n, &s)| n == 0 || s % n as isize == 0)
    {
        return Ok(a.clone());
    }
    let r = Array::new_node(
        x.shape().to_vec(),
        a.dtype(),
        Arc::new(Roll { shifts }),
        vec![x],
        stream(),
    );
    reshape_to(&r, a.shape())
}

/// The diagonals between `axis1` and `axis2` (at `offset`: > 0 above the main diagonal,
/// < 0 below), as a view: the other axes in order, then the diagonal.
pub fn diagonal(a: &Array, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
    if a.ndim() < 2 {
        return Err(Error::InvalidArgument(format!(
            "diagonal: the array must have at least two dimensions, but got shape {:?}",
            a.shape()
        )));
    }
    let a1 = normalize_axis(axis1, a.ndim(), "diagonal")?;
    let a2 = normalize_axis(axis2, a.ndim(), "diagonal")?;
    if a1 == a2 {
        return Err(Error::InvalidArgument(format!(
            "diagonal: axis1 ({axis1}) and axis2 ({axis2}) cannot be the same axis"
        )));
    }
    let (n1, n2) = (a.shape()[a1] as isize, a.shape()[a2] as isize);
    let len = if offset >= 0 {
        n1.min(n2 - offset)
    } else {
        (n1 + offset).min(n2)
    }
    .max(0) as usize;
    let mut shape: Vec<usize> = (0..a.ndim())
        .filter(|&i| i != a1 && i != a2)
        .map(|i| a.shape()[i])
        .collect();
    shape.push(len);
    Ok(Array::new_node(
        shape,
        a.dtype(),
        Arc::new(Diagonal {
            offset,
            axis1: a1,
            axis2: a2,
        }),
        vec![a.clone()],
        stream(),
    ))
}

/// MLX's `diag`: a 1-D array becomes the square matrix with it on diagonal `k`; a 2-D
/// array gives its diagonal `k` (a view).
pub fn diag(a: &Array, k: isize) -> Result<Array> {
    match a.ndim() {
        1 => {
            let m = a.size() + k.unsigned_abs();
            Ok(Array::new_node(
                vec![m, m],
                a.dtype(),
                Arc::new(Diag { k }),
                vec![a.clone()],
                stream(),
            ))
        }
        2 => diagonal(a, k, 0, 1),
        _ => Err(Error::InvalidArgument(format!(
            "diag: the array must be 1-D or 2-D, got shape {:?}",
            a.shape()
        ))),
    }
}

/// MLX's `trace`: the sums of the diagonals at `offset` between `axis1` and `axis2`
/// (`sum(astype(diagonal(a, ..), dtype), -1)`, with `dtype` defaulting to `a`'s; the sum
/// follows `sum`'s dtype rules, so bool and small integers give int32, small unsigned
/// ones uint32).
pub fn trace(
    a: &Array,
    offset: isize,
    axis1: isize,
    axis2: isize,
    dtype: Option<Dtype>,
) -> Result<Array> {
    if a.ndim() < 2 {
        return Err(Error::InvalidArgument(format!(
            "trace: the array must have at least two dimensions, but got shape {:?}",
            a.shape()
        )));
    }
    let d = diagonal(a, offset, axis1, axis2)?;
    let d = astype(&d, dtype.unwrap_or(a.dtype()))?;
    super::sum(&d, Some(&[-1]), false)
}

/// `a` with at least one axis (0-d becomes shape `[1]`).
pub fn atleast_1d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape_to(a, &[1]),
        _ => Ok(a.clone()),
    }
}

/// `a` with at least two axes (`[n]` becomes `[1, n]`).
pub fn atleast_2d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape_to(a, &[1, 1]),
        1 => reshape_to(a, &[1, a.size()]),
        _ => Ok(a.clone()),
    }
}

/// `a` with at least three axes (`[n]` becomes `[1, n, 1]`, `[m, n]` becomes `[m, n, 1]`).
pub fn atleast_3d(a: &Array) -> Result<Array> {
    match a.ndim() {
        0 => reshape_to(a, &[1, 1, 1]),
        1 => reshape_to(a, &[1, a.size(), 1]),
        2 => reshape_to(a, &[a.shape()[0], a.shape()[1], 1]),
        _ => Ok(a.clone()),
    }
}

/// A view of `a`'s elements (in row-major order, as if flattened) with the given shape,
/// strides and offset, all in elements. Unlike MLX, which trusts the caller, every
/// element the view can reach must lie inside `a` (else an error).
pub fn as_strided(a: &Array, shape: &[usize], strides: &[isize], offset: usize) -> Result<Array> {
    if shape.len() != strides.len() {
        return Err(Error::InvalidArgument(format!(
            "as_strided: shape {shape:?} and strides {strides:?} must have the same length"
        )));
    }
    if shape.iter().product::<usize>() > 0 {
        let (mut lo, mut hi) = (offset as i128, offset as i128);
        for (&n, &s) in shape.iter().zip(strides) {
            let reach = (n as i128 - 1) * s as i128;
            if reach < 0 {
                lo += reach;
            } else {
                hi += reach;
            }
        }
        if lo < 0 || hi >= a.size() as i128 {
            return Err(Error::InvalidArgument(format!(
                "as_strided: shape {shape:?}, strides {strides:?} and offset {offset} reach \
                 elements {lo}..={hi}, outside the {} elements of the array of shape {:?}",
                a.size(),
                a.shape()
            )));
        }
    }
    let flat = reshape_to(a, &[a.size()])?;
    Ok(Array::new_node(
        shape.to_vec(),
        a.dtype(),
        Arc::new(AsStrided {
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset,
        }),
        vec![flat],
        stream(),
    ))
}

/// MLX's `view`: reinterpret the bytes of the elements as `dtype`. The last axis scales by
/// the ratio of the element sizes (its byte size must be a multiple of the new size); a
/// 0-d array can only change to a dtype of the same size. A view of `a`'s storage when
/// its layout allows.
pub fn view(a: &Array, dtype: Dtype) -> Result<Array> {
    if a.dtype() == dtype {
        return Ok(a.clone());
    }
    let (is, os) = (a.itemsize(), dtype.size());
    let mut shape = a.shape().to_vec();
    if is != os {
        let Some(last) = shape.last_mut() else {
            return Err(Error::InvalidArgument(format!(
                "view: changing the type of a scalar ({}) is only allowed for types of the \
                 same size, not {dtype}",
                a.dtype()
            )));
        };
        if (*last * is) % os != 0 {
            return Err(Error::Shape(format!(
                "view: when viewing {} as the larger {dtype}, the size in bytes of the last \
                 axis must be a multiple of {os}, but shape {:?} has {} bytes",
                a.dtype(),
                a.shape(),
                *last * is
            )));
        }
        *last = *last * is / os;
    }
    Ok(Array::new_node(
        shape,
        dtype,
        Arc::new(View { dtype }),
        vec![a.clone()],
        stream(),
    ))
}

impl Array {
    /// See [`swapaxes`].
    pub fn swapaxes(&self, axis1: isize, axis2: isize) -> Result<Array> {
        swapaxes(self, axis1, axis2)
    }
    /// See [`moveaxis`].
    pub fn moveaxis(&self, source: isize, destination: isize) -> Result<Array> {
        moveaxis(self, source, destination)
    }
    /// See [`squeeze`].
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        squeeze(self, axes)
    }
    /// See [`expand_dims`].
    pub fn expand_dims(&self, axes: &[isize]) -> Result<Array> {
        expand_dims(self, axes)
    }
    /// See [`split`].
    pub fn split(&self, indices_or_sections: impl Into<Split>, axis: isize) -> Result<Vec<Array>> {
        split(self, indices_or_sections, axis)
    }
    /// See [`diagonal`].
    pub fn diagonal(&self, offset: isize, axis1: isize, axis2: isize) -> Result<Array> {
        diagonal(self, offset, axis1, axis2)
    }
    /// See [`trace`].
    pub fn trace(
        &self,
        offset: isize,
        axis1: isize,
        axis2: isize,
        dtype: Option<Dtype>,
    ) -> Result<Array> {
        trace(self, offset, axis1, axis2, dtype)
    }
    /// See [`view`].
    pub fn view(&self, dtype: Dtype) -> Result<Array> {
        view(self, dtype)
    }
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
