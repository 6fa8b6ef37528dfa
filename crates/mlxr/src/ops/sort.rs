//! Sorting and selection ops: `sort`, `argsort`, `partition`, `argpartition`, `topk`
//! `searchsorted` and `median`, with MLX's semantics (stable sorts, NaNs last, uint32 indices;
//! `axis = None` works on the flattened array).

use super::stream;
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use crate::ops::{astype, reshape_to};
use crate::primitives::sort::{ArgPartition, ArgSort, Partition, SearchSorted, Sort};
use std::sync::Arc;

/// Resolve `axis` (None flattens) for a sorting op; MLX's message on a bad axis.
fn sort_axis(a: &Array, axis: Option<isize>, op: &str) -> Result<(Array, usize)> {
    match axis {
        None => Ok((reshape_to(a, &[a.size()])?, 0)),
        Some(x) => {
            let n = a.ndim() as isize;
            if x < -n || x >= n {
                return Err(Error::InvalidArgument(format!(
                    "[{op}] Axis {x} is out of bounds for array with {} dimensions.",
                    a.ndim()
                )));
            }
            Ok((a.clone(), if x < 0 { x + n } else { x } as usize))
        }
    }
}

/// A sorted copy of `a` along `axis` (MLX's default is `Some(-1)`; `None` sorts the
/// flattened array). The sort is stable and NaNs go last.
pub fn sort(a: &Array, axis: Option<isize>) -> Result<Array> {
    let (a, axis) = sort_axis(a, axis, "sort")?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Sort { axis }),
        vec![a],
        stream(),
    ))
}

/// The indices (uint32) that sort `a` along `axis` (stable; NaNs last).
pub fn argsort(a: &Array, axis: Option<isize>) -> Result<Array> {
    let (a, axis) = sort_axis(a, axis, "argsort")?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        Dtype::Uint32,
        Arc::new(ArgSort { axis }),
        vec![a],
        stream(),
    ))
}

fn kth_index(a: &Array, kth: isize, axis: usize, op: &str) -> Result<usize> {
    let n = a.shape()[axis] as isize;
    if kth < -n || kth >= n {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Received invalid kth {kth} along axis {axis} for array with shape: {:?}",
            a.shape()
        )));
    }
    Ok(if kth < 0 { kth + n } else { kth } as usize)
}

/// A copy of `a` partitioned along `axis` so that position `kth` (negative counts from
/// the end) holds the value a sort would put there, smaller values before it and the
/// others after it (their order within each side is unspecified, as in MLX).
pub fn partition(a: &Array, kth: isize, axis: Option<isize>) -> Result<Array> {
    let (a, axis) = sort_axis(a, axis, "partition")?;
    let kth = kth_index(&a, kth, axis, "partition")?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Partition { kth, axis }),
        vec![a],
        stream(),
    ))
}

/// The indices (uint32) that partition `a` along `axis` around `kth`; see [`partition`].
pub fn argpartition(a: &Array, kth: isize, axis: Option<isize>) -> Result<Array> {
    let (a, axis) = sort_axis(a, axis, "argpartition")?;
    let kth = kth_index(&a, kth, axis, "argpartition")?;
    Ok(Array::new_node(
        a.shape().to_vec(),
        Dtype::Uint32,
        Arc::new(ArgPartition { kth, axis }),
        vec![a],
        stream(),
    ))
}

/// The window `start..start+len` of `a` along `axis` (a copy).
pub(crate) fn slice_axis(a: &Array, axis: usize, start: usize, len: usize) -> Result<Array> {
    let mut size = a.shape().to_vec();
    size[axis] = len;
    super::slice_dynamic(
        a,
        &Array::from_slice(&[start as i64], &[1])?,
        &[axis as isize],
        &size,
    )
}

/// The `k` largest elements of `a` along `axis` (`None`: of the flattened array), in
/// unspecified order (as MLX: the last `k` entries of a partition).
pub fn topk(a: &Array, k: usize, axis: Option<isize>) -> Result<Array> {
    let (a, axis) = sort_axis(a, axis, "topk")?;
    let n = a.shape()[axis];
    if k > n {
        return Err(Error::InvalidArgument(format!(
            "[topk] Received invalid k={k} along axis {axis} for array with shape: {:?}",
            a.shape()
        )));
    }
    if k == 0 {
        return slice_axis(&a, axis, 0, 0);
    }
    let p = partition(&a, (n - k) as isize, Some(axis as isize))?;
    slice_axis(&p, axis, n - k, k)
}

/// NumPy's `searchsorted`: for each value of `v`, the index at which inserting it into
/// the sorted 1-D `a` keeps it sorted — the first such index with `side = "left"`, the
/// last with `"right"`. Both are converted to their common dtype; NaNs sort last.
/// Output: uint32 with `v`'s shape.
pub fn searchsorted(a: &Array, v: &Array, side: &str) -> Result<Array> {
    let right = match side {
        "left" => false,
        "right" => true,
        s => {
            return Err(Error::InvalidArgument(format!(
                "[searchsorted] Invalid side '{s}'. Expected 'left' or 'right'."
            )))
        }
    };
    if a.ndim() != 1 {
        return Err(Error::Shape(format!(
            "[searchsorted] The sorted sequence must be 1-D but has {} dimensions.",
            a.ndim()
        )));
    }
    let dt = promote_types(a.dtype(), v.dtype());
    Ok(Array::new_node(
        v.shape().to_vec(),
        Dtype::Uint32,
        Arc::new(SearchSorted { right }),
        vec![astype(a, dt)?, astype(v, dt)?],
        stream(),
    ))
}

/// MLX's `median` over `axes` (`None`: all axes): the middle value of the sorted
/// elements, or the mean of the two middle ones. Integer and bool inputs give float32;
/// a NaN anywhere in a reduced group gives NaN. Error for an empty group.
pub fn median(a: &Array, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
    let all: Vec<isize> = (0..a.ndim() as isize).collect();
    let ax = super::normalize_axes(axes.unwrap_or(&all), a.ndim(), "median")?;
    let dtype = if a.dtype().is_inexact() {
        a.dtype()
    } else {
        Dtype::Float32
    };
    let keep: Vec<usize> = (0..a.ndim()).filter(|d| !ax.contains(d)).collect();
    let n: usize = ax.iter().map(|&d| a.shape()[d]).product();
    if n == 0 {
        return Err(Error::InvalidArgument(
            "[median] Cannot take median along empty axis.".into(),
        ));
    }
    let perm: Vec<isize> = keep.iter().chain(&ax).map(|&d| d as isize).collect();
    let mut flat: Vec<usize> = keep.iter().map(|&d| a.shape()[d]).collect();
    flat.push(n);
    let x = reshape_to(&super::transpose_axes(a, &perm)?, &flat)?;
    let s = sort(&x, Some(-1))?;
    let pick =
        |i: usize| -> Result<Array> { astype(&super::take_index(&s, i as i64, Some(-1))?, dtype) };
    let mid = n / 2;
    let mut m = if n % 2 == 1 {
        pick(mid)?
    } else {
        super::multiply(&super::add(&pick(mid - 1)?, &pick(mid)?)?, 0.5)?
    };
    if dtype.is_inexact() {
        // Sorting puts NaNs last: a NaN in the group shows in its last element.
        let last = super::take_index(&s, n as i64 - 1, Some(-1))?;
        m = super::r#where(&super::isnan(&last)?, f32::NAN, &m)?;
        m = astype(&m, dtype)?;
    }
    if keepdims {
        let shape: Vec<usize> = (0..a.ndim())
            .map(|d| if ax.contains(&d) { 1 } else { a.shape()[d] })
            .collect();
        m = reshape_to(&m, &shape)?;
    }
    Ok(m)
}
