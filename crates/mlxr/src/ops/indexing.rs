//! Indexing ops: `take`, `take_along_axis`, `put_along_axis`, the general `gather` and
//! `scatter` family (several index arrays broadcast together, the machinery behind
//! NumPy-style advanced indexing and MLX's `.at[...]` updates), slice updates with
//! static or dynamic starts, and `kron`.
//!
//! Indices may have any integer dtype; negative indices count from the end. MLX does
//! not check bounds (out-of-range indices read or write arbitrary memory there); here
//! they never do: gathers clamp an out-of-range index into its axis and scatters drop
//! an update whose index is out of range (JAX's defaults). Dynamic slice starts are
//! clamped so the window fits.

use super::{broadcast_shapes, normalize_axis, stream, to_array, ToOperand};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::{astype, broadcast_to, reshape_to, transpose_axes};
use crate::primitives::indexing::{
    DynamicSlice, DynamicSliceUpdate, Gather, GatherAxis, Scatter, ScatterAxis, ScatterReduce,
    SliceUpdate,
};
use std::sync::Arc;

/// `axes` normalised against `a`, each at most once (an error names `op`).
fn distinct_axes(a: &Array, axes: &[isize], op: &str) -> Result<Vec<usize>> {
    let mut ax = Vec::with_capacity(axes.len());
    for &x in axes {
        let x = normalize_axis(x, a.ndim(), op)?;
        if ax.contains(&x) {
            return Err(Error::InvalidArgument(format!(
                "[{op}] repeated axis {x} in {axes:?}"
            )));
        }
        ax.push(x);
    }
    Ok(ax)
}

/// Check that `idx` holds integers (bool and floating indices are errors, as in MLX).
fn check_index_dtype(idx: &Array, op: &str) -> Result<()> {
    match idx.dtype() {
        Dtype::Bool => Err(Error::Dtype(format!(
            "[{op}] Boolean indices not supported."
        ))),
        d if d.is_integer() => Ok(()),
        d => Err(Error::Dtype(format!(
            "[{op}] Got indices with invalid dtype {d}. Indices must be integral."
        ))),
    }
}

/// MLX's `gather`: for each position of the index arrays (broadcast together to shape
/// `I`), the window of shape `slice_sizes` of `a` starting, on axis `axes[j]`, at
/// `indices[j]` (and at 0 on other axes). Output shape: `I ++ slice_sizes`.
pub fn gather(
    a: &Array,
    indices: &[Array],
    axes: &[isize],
    slice_sizes: &[usize],
) -> Result<Array> {
    if indices.len() != axes.len() {
        return Err(Error::InvalidArgument(format!(
            "[gather] {} index arrays were given for {} axes",
            indices.len(),
            axes.len()
        )));
    }
    if slice_sizes.len() != a.ndim() {
        return Err(Error::InvalidArgument(format!(
            "[gather] slice_sizes {slice_sizes:?} must have one entry per axis of an array of shape {:?}",
            a.shape()
        )));
    }
    let ax = distinct_axes(a, axes, "gather")?;
    for (d, (&s, &n)) in slice_sizes.iter().zip(a.shape()).enumerate() {
        if s > n {
            return Err(Error::InvalidArgument(format!(
                "[gather] slice size {s} is larger than axis {d} of size {n} (shape {:?})",
                a.shape()
            )));
        }
    }
    let mut ishape: Vec<usize> = vec![];
    for i in indices {
        check_index_dtype(i, "gather")?;
        ishape = broadcast_shapes(&ishape, i.shape(), "gather")?;
    }
    let idx: Vec<Array> = indices
        .iter()
        .map(|i| broadcast_to(i, &ishape))
        .collect::<Result<_>>()?;
    if ishape.iter().product::<usize>() > 0 && ax.iter().any(|&x| a.shape()[x] == 0) {
        return Err(Error::InvalidArgument(
            "[gather] Cannot do a non-empty take from an empty axis.".into(),
        ));
    }
    let mut shape = ishape.clone();
    shape.extend_from_slice(slice_sizes);
    let mut inputs = vec![a.clone()];
    inputs.extend(idx);
    Ok(Array::new_node(
        shape,
        a.dtype(),
        Arc::new(Gather {
            axes: ax,
            slice_sizes: slice_sizes.to_vec(),
        }),
        inputs,
        stream(),
    ))
}

/// MLX's `take`: the entries of `a` at `indices` along `axis` (output shape
/// `a.shape[..axis] ++ indices.shape ++ a.shape[axis+1..]`), or of the flattened `a`
/// when `axis` is `None` (output shape = `indices.shape`).
pub fn take(a: &Array, indices: &Array, axis: Option<isize>) -> Result<Array> {
    check_index_dtype(indices, "take")?;
    let (a, axis) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(x) => {
            let n = a.ndim() as isize;
            if x < -n || x >= n {
                return Err(Error::InvalidArgument(format!(
                    "[take] Received invalid axis {x} for array with {} dimensions.",
                    a.ndim()
                )));
            }
            (a.clone(), normalize_axis(x, a.ndim(), "take")?)
        }
    };
    if a.shape()[axis] == 0 && indices.size() > 0 {
        return Err(Error::InvalidArgument(
            "[take] Cannot do a non-empty take from an empty axis.".into(),
        ));
    }
    let mut ss = a.shape().to_vec();
    ss[axis] = ss[axis].min(1);
    let g = gather(&a, std::slice::from_ref(indices), &[axis as isize], &ss)?;
    // g: I ++ a[..axis] ++ [1] ++ a[axis+1..]; drop the 1 and move I to `axis`.
    let ni = indices.ndim();
    let mut shape: Vec<usize> = indices.shape().to_vec();
    shape.extend_from_slice(&a.shape()[..axis]);
    shape.extend_from_slice(&a.shape()[axis + 1..]);
    let g = reshape_to(&g, &shape)?;
    if axis == 0 || ni == 0 {
        return Ok(g);
    }
    // Current order: [I (ni), pre (axis), post]; wanted: [pre, I, post].
    let mut perm: Vec<isize> = (ni..ni + axis).map(|x| x as isize).collect();
    perm.extend((0..ni).map(|x| x as isize));
    perm.extend((ni + axis..shape.len()).map(|x| x as isize));
    transpose_axes(&g, &perm)
}

/// `take` with one integer index: removes `axis` (or returns one element of the flattened
/// array when `axis` is `None`).
pub fn take_index(a: &Array, index: i64, axis: Option<isize>) -> Result<Array> {
    take(a, &Array::scalar(index as i32), axis)
}

/// Broadcast shapes except on `axis` (whose size is taken from `b`).
fn broadcast_except(a: &[usize], b: &[usize], axis: usize, op: &str) -> Result<Vec<usize>> {
    let mut a1 = a.to_vec();
    let mut b1 = b.to_vec();
    a1[axis] = 1;
    b1[axis] = 1;
    let mut s = broadcast_shapes(&a1, &b1, op)?;
    s[axis] = b[axis];
    Ok(s)
}

/// MLX's `take_along_axis`: `out[.., i, ..] = a[.., indices[.., i, ..], ..]` along `axis`
/// (`a` and `indices` broadcast against each other on the other axes); with `axis` `None`
/// the flattened `a` and 1-D indices.
pub fn take_along_axis(a: &Array, indices: &Array, axis: Option<isize>) -> Result<Array> {
    check_index_dtype(indices, "take_along_axis")?;
    let (a, axis) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(x) => (a.clone(), normalize_axis(x, a.ndim(), "take_along_axis")?),
    };
    if indices.ndim() != a.ndim() {
        return Err(Error::Shape(format!(
            "[take_along_axis] Indices of dimension {} does not match array of dimension {}.",
            indices.ndim(),
            a.ndim()
        )));
    }
    if a.shape()[axis] == 0 && indices.size() > 0 {
        return Err(Error::InvalidArgument(
            "[take_along_axis] Cannot do a non-empty take from an empty axis.".into(),
        ));
    }
    let out_shape = broadcast_except(a.shape(), indices.shape(), axis, "take_along_axis")?;
    let mut a_shape = out_shape.clone();
    a_shape[axis] = a.shape()[axis];
    let ab = broadcast_to(&a, &a_shape)?;
    let ib = broadcast_to(indices, &out_shape)?;
    Ok(Array::new_node(
        out_shape,
        a.dtype(),
        Arc::new(GatherAxis { axis }),
        vec![ab, ib],
        stream(),
    ))
}

fn scatter_axis_op(
    a: &Array,
    indices: &Array,
    values: impl ToOperand,
    axis: Option<isize>,
    reduce: ScatterReduce,
    op: &str,
) -> Result<Array> {
    check_index_dtype(indices, op)?;
    let values = to_array(values);
    let flat = axis.is_none();
    let (a0, axis) = match axis {
        None => (reshape_to(a, &[a.size()])?, 0),
        Some(x) => (a.clone(), normalize_axis(x, a.ndim(), op)?),
    };
    if indices.ndim() != a0.ndim() {
        return Err(Error::Shape(format!(
            "[{op}] Indices of dimension {} does not match array of dimension {}.",
            indices.ndim(),
            a0.ndim()
        )));
    }
    if values.ndim() > a0.ndim() {
        return Err(Error::Shape(format!(
            "[{op}] values of shape {:?} have more dimensions than the array of shape {:?}",
            values.shape(),
            a0.shape()
        )));
    }
    let upd_shape = broadcast_shapes(indices.shape(), values.shape(), op)?;
    let out_shape = broadcast_except(&upd_shape, a0.shape(), axis, op)?;
    let mut u_shape = out_shape.clone();
    u_shape[axis] = upd_shape[axis];
    if a0.shape()[axis] == 0 && u_shape.iter().product::<usize>() > 0 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Cannot scatter into an empty axis."
        )));
    }
    let ab = broadcast_to(&a0, &out_shape)?;
    let ib = broadcast_to(indices, &u_shape)?;
    let vb = broadcast_to(&astype(&values, a.dtype())?, &u_shape)?;
    let out = Array::new_node(
        out_shape,
        a.dtype(),
        Arc::new(ScatterAxis { reduce, axis }),
        vec![ab, ib, vb],
        stream(),
    );
    if flat {
        return reshape_to(&out, a.shape());
    }
    Ok(out)
}

/// MLX's `put_along_axis`: a copy of `a` with `values` written at `indices` along `axis`
/// (indices and values broadcast together, and with `a` on the other axes; values are cast
/// to `a`'s dtype; with duplicate indices the last write wins). With `axis` `None`, `a` is
/// treated as flattened (the result keeps `a`'s shape).
pub fn put_along_axis(
    a: &Array,
    indices: &Array,
    values: impl ToOperand,
    axis: Option<isize>,
) -> Result<Array> {
    scatter_axis_op(
        a,
        indices,
        values,
        axis,
        ScatterReduce::None,
        "put_along_axis",
    )
}

/// MLX's `scatter_add_axis`: like [`put_along_axis`] but adds `values` (duplicates
/// accumulate).
pub fn scatter_add_axis(
    a: &Array,
    indices: &Array,
    values: impl ToOperand,
    axis: Option<isize>,
) -> Result<Array> {
    scatter_axis_op(
        a,
        indices,
        values,
        axis,
        ScatterReduce::Sum,
        "scatter_add_axis",
    )
}

fn scatter_op(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
    reduce: ScatterReduce,
    op: &str,
) -> Result<Array> {
    let updates = to_array(updates);
    if indices.len() != axes.len() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] {} index arrays were given for {} axes",
            indices.len(),
            axes.len()
        )));
    }
    let ax = distinct_axes(a, axes, op)?;
    let mut ishape: Vec<usize> = vec![];
    for i in indices {
        check_index_dtype(i, op)?;
        ishape = broadcast_shapes(&ishape, i.shape(), op)?;
    }
    if updates.ndim() != ishape.len() + a.ndim() {
        return Err(Error::Shape(format!(
            "[{op}] updates of shape {:?} must have {} dimensions (the indices' {} plus the array's {})",
            updates.shape(),
            ishape.len() + a.ndim(),
            ishape.len(),
            a.ndim()
        )));
    }
    let win = &updates.shape()[ishape.len()..];
    for (d, (&w, &n)) in win.iter().zip(a.shape()).enumerate() {
        if w > n {
            return Err(Error::Shape(format!(
                "[{op}] update window {win:?} is larger than the array of shape {:?} on axis {d}",
                a.shape()
            )));
        }
    }
    let mut ushape = ishape.clone();
    ushape.extend_from_slice(win);
    let lead = broadcast_shapes(&updates.shape()[..ishape.len()], &ishape, op)?;
    if lead != ishape {
        return Err(Error::Shape(format!(
            "[{op}] updates of shape {:?} do not match indices of shape {ishape:?}",
            updates.shape()
        )));
    }
    let ub = broadcast_to(&astype(&updates, a.dtype())?, &ushape)?;
    let mut inputs = vec![a.clone()];
    for i in indices {
        inputs.push(broadcast_to(i, &ishape)?);
    }
    inputs.push(ub);
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Scatter { reduce, axes: ax }),
        inputs,
        stream(),
    ))
}

/// MLX's `scatter`: a copy of `a` where, for each position `p` of the index arrays
/// (broadcast together to shape `I`), the window `updates[p]` (so `updates` has shape
/// `I ++ window`, one window entry per axis of `a`) is written starting at
/// `indices[j][p]` on axis `axes[j]` (0 on other axes). With duplicate indices the last
/// update (in row-major order of `I`) wins. Updates are cast to `a`'s dtype.
pub fn scatter(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    scatter_op(a, indices, updates, axes, ScatterReduce::None, "scatter")
}

/// Like [`scatter`], adding the updates (duplicates accumulate).
pub fn scatter_add(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    scatter_op(a, indices, updates, axes, ScatterReduce::Sum, "scatter_add")
}

/// Like [`scatter`], multiplying by the updates.
pub fn scatter_prod(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    scatter_op(
        a,
        indices,
        updates,
        axes,
        ScatterReduce::Prod,
        "scatter_prod",
    )
}

/// Like [`scatter`], keeping the maximum (`out > upd ? out : upd`, as MLX).
pub fn scatter_max(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    scatter_op(a, indices, updates, axes, ScatterReduce::Max, "scatter_max")
}

/// Like [`scatter`], keeping the minimum (`out < upd ? out : upd`, as MLX).
pub fn scatter_min(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    scatter_op(a, indices, updates, axes, ScatterReduce::Min, "scatter_min")
}

/// NumPy/MLX slice normalisation of one axis: returns (start, length) for a slice
/// `start:stop:step` of an axis of `n` (negative start/stop count from the end; values
/// are clamped).
pub(crate) fn slice_bounds(start: isize, stop: isize, step: isize, n: usize) -> (isize, usize) {
    let n = n as isize;
    if step > 0 {
        let s = if start < 0 { start + n } else { start }.clamp(0, n);
        let e = if stop < 0 { stop + n } else { stop }.clamp(0, n);
        let len = if e > s { (e - s + step - 1) / step } else { 0 };
        (s, len as usize)
    } else {
        let s = if start < 0 { start + n } else { start }.clamp(-1, n - 1);
        let e = if stop < 0 { stop + n } else { stop }.clamp(-1, n - 1);
        let len = if s > e {
            (s - e + (-step) - 1) / (-step)
        } else {
            0
        };
        (s, len as usize)
    }
}

fn slice_update_op(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
    reduce: ScatterReduce,
    op: &str,
) -> Result<Array> {
    let update = to_array(update);
    let nd = a.ndim();
    if start.len() != nd || stop.len() != nd || strides.len() != nd {
        return Err(Error::InvalidArgument(format!(
            "[{op}] start {start:?}, stop {stop:?} and strides {strides:?} must each have one entry per axis of an array of shape {:?}",
            a.shape()
        )));
    }
    if strides.contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "[{op}] strides {strides:?} must not contain 0"
        )));
    }
    let mut st = Vec::with_capacity(nd);
    let mut win = Vec::with_capacity(nd);
    for d in 0..nd {
        let (s, len) = slice_bounds(start[d], stop[d], strides[d], a.shape()[d]);
        st.push(s.max(0) as usize);
        win.push(len);
    }
    let b = broadcast_shapes(update.shape(), &win, op)?;
    if b != win {
        return Err(Error::Shape(format!(
            "[{op}] an update of shape {:?} cannot be broadcast to the slice shape {win:?}",
            update.shape()
        )));
    }
    let ub = broadcast_to(&astype(&update, a.dtype())?, &win)?;
    if win.iter().product::<usize>() == 0 {
        return Ok(a.clone());
    }
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(SliceUpdate {
            reduce,
            start: st,
            strides: strides.to_vec(),
        }),
        vec![a.clone(), ub],
        stream(),
    ))
}

/// MLX's `slice_update`: a copy of `a` with the slice `start:stop:strides` (NumPy
/// normalisation per axis) replaced by `update` (broadcast to the slice's shape, cast to
/// `a`'s dtype).
pub fn slice_update(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
) -> Result<Array> {
    slice_update_op(
        a,
        update,
        start,
        stop,
        strides,
        ScatterReduce::None,
        "slice_update",
    )
}

/// Like [`slice_update`], adding `update` into the slice.
pub fn slice_update_add(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
) -> Result<Array> {
    slice_update_op(
        a,
        update,
        start,
        stop,
        strides,
        ScatterReduce::Sum,
        "slice_update_add",
    )
}

/// Like [`slice_update`], multiplying the slice by `update`.
pub fn slice_update_prod(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
) -> Result<Array> {
    slice_update_op(
        a,
        update,
        start,
        stop,
        strides,
        ScatterReduce::Prod,
        "slice_update_prod",
    )
}

/// Like [`slice_update`], keeping the maximum of the slice and `update`.
pub fn slice_update_max(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
) -> Result<Array> {
    slice_update_op(
        a,
        update,
        start,
        stop,
        strides,
        ScatterReduce::Max,
        "slice_update_max",
    )
}

/// Like [`slice_update`], keeping the minimum of the slice and `update`.
pub fn slice_update_min(
    a: &Array,
    update: impl ToOperand,
    start: &[isize],
    stop: &[isize],
    strides: &[isize],
) -> Result<Array> {
    slice_update_op(
        a,
        update,
        start,
        stop,
        strides,
        ScatterReduce::Min,
        "slice_update_min",
    )
}

/// Validate dynamic-slice axes and a start array with one integer per axis.
fn dynamic_axes(a: &Array, start: &Array, axes: &[isize], op: &str) -> Result<Vec<usize>> {
    if !start.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "[{op}] Start indices must be integers, got type {}.",
            start.dtype()
        )));
    }
    if start.size() != axes.len() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] {} start indices were given for {} axes",
            start.size(),
            axes.len()
        )));
    }
    distinct_axes(a, axes, op)
}

/// MLX's `slice` with dynamic starts: the window of shape `slice_size` (one entry per axis)
/// of `a`, starting on `axes` at the positions held by the integer array `start` (one per
/// axis; read at evaluation time; other axes start at 0). A negative start counts from
/// the end; starts are clamped so the window fits (MLX does not check).
pub fn slice_dynamic(
    a: &Array,
    start: &Array,
    axes: &[isize],
    slice_size: &[usize],
) -> Result<Array> {
    let ax = dynamic_axes(a, start, axes, "slice")?;
    if slice_size.len() != a.ndim() {
        return Err(Error::InvalidArgument(format!(
            "[slice] slice_size {slice_size:?} must have one entry per axis of an array of shape {:?}",
            a.shape()
        )));
    }
    for (d, (&s, &n)) in slice_size.iter().zip(a.shape()).enumerate() {
        if s > n {
            return Err(Error::InvalidArgument(format!(
                "[slice] slice size {s} is larger than axis {d} of size {n}"
            )));
        }
    }
    Ok(Array::new_node(
        slice_size.to_vec(),
        a.dtype(),
        Arc::new(DynamicSlice {
            axes: ax,
            slice_size: slice_size.to_vec(),
        }),
        vec![a.clone(), reshape_to(start, &[start.size()])?],
        stream(),
    ))
}

/// MLX's `slice_update` with dynamic starts: a copy of `a` with a window replaced by
/// `update`. The window has `update`'s shape aligned to the trailing axes of `a` (leading
/// axes missing from `update` span all of `a`); it starts on `axes` at the positions held
/// by `start` (read at evaluation time, negative counts from the end, clamped so the
/// window fits) and at 0 elsewhere. `update` is cast to `a`'s dtype.
pub fn slice_update_dynamic(
    a: &Array,
    update: impl ToOperand,
    start: &Array,
    axes: &[isize],
) -> Result<Array> {
    let update = to_array(update);
    let ax = dynamic_axes(a, start, axes, "slice_update")?;
    if update.ndim() > a.ndim() {
        return Err(Error::Shape(format!(
            "[slice_update] an update of shape {:?} has more dimensions than the array of shape {:?}",
            update.shape(),
            a.shape()
        )));
    }
    let lead = a.ndim() - update.ndim();
    let mut win: Vec<usize> = a.shape()[..lead].to_vec();
    win.extend_from_slice(update.shape());
    for (d, (&w, &n)) in win.iter().zip(a.shape()).enumerate() {
        if w > n {
            return Err(Error::Shape(format!(
                "[slice_update] an update of shape {:?} does not fit axis {d} of the array of shape {:?}",
                update.shape(),
                a.shape()
            )));
        }
    }
    let ub = broadcast_to(&astype(&update, a.dtype())?, &win)?;
    if win.iter().product::<usize>() == 0 {
        return Ok(a.clone());
    }
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(DynamicSliceUpdate { axes: ax }),
        vec![a.clone(), ub, reshape_to(start, &[start.size()])?],
        stream(),
    ))
}

/// MLX's `kron`: the Kronecker product of `a` and `b` (shapes padded with leading 1s
/// to the same rank; output shape `a.shape[i] * b.shape[i]`; dtype by promotion).
pub fn kron(a: &Array, b: &Array) -> Result<Array> {
    let nd = a.ndim().max(b.ndim());
    let pad = |s: &[usize]| -> Vec<usize> {
        let mut v = vec![1; nd - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (sa, sb) = (pad(a.shape()), pad(b.shape()));
    let ia: Vec<usize> = sa.iter().flat_map(|&d| [d, 1]).collect();
    let ib: Vec<usize> = sb.iter().flat_map(|&d| [1, d]).collect();
    let p = super::multiply(&reshape_to(a, &ia)?, &reshape_to(b, &ib)?)?;
    let out: Vec<usize> = sa.iter().zip(&sb).map(|(x, y)| x * y).collect();
    reshape_to(&p, &out)
}

/// MLX's `.at[indices].subtract(updates)`: [`scatter_add`] of `-updates`.
pub fn scatter_subtract(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    let u = to_array(updates);
    let u = if u.dtype() == Dtype::Bool {
        astype(&u, a.dtype())?
    } else {
        u
    };
    scatter_op(
        a,
        indices,
        super::negative(&u)?,
        axes,
        ScatterReduce::Sum,
        "scatter_subtract",
    )
}

/// MLX's `.at[indices].divide(updates)`: [`scatter_prod`] by `1 / updates` (computed in
/// floating point, then converted to `a`'s dtype, as MLX).
pub fn scatter_divide(
    a: &Array,
    indices: &[Array],
    updates: impl ToOperand,
    axes: &[isize],
) -> Result<Array> {
    let r = super::divide(1.0, to_array(updates))?;
    scatter_op(a, indices, r, axes, ScatterReduce::Prod, "scatter_divide")
}
