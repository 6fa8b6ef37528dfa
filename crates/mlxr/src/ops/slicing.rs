//! Slicing ops, all views sharing the input's storage: `slice` (MLX's per-axis
//! start/stop/strides with Python's slice semantics), `index` (NumPy basic indexing with
//! [`SliceArg`]: integers, ranges, new axes, an ellipsis) and `flip`.

use super::shape::reshape_to;
use super::{normalize_axes, stream};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::primitives::slicing::Slice;
use std::sync::Arc;

/// Normalise one axis of a slice like Python's `slice.indices(n)`: `start`/`stop` of None
/// take the defaults for the step's direction, negative indices count from the end and
/// out-of-range ones are clamped. Returns `(start, stop, len)`.
pub fn normalize_slice(
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
    n: usize,
) -> (isize, isize, usize) {
    let n = n as isize;
    let clamp = |v: isize, lo: isize, hi: isize| -> isize {
        if v < 0 {
            let v = v.saturating_add(n);
            if v < 0 {
                lo
            } else {
                v
            }
        } else if v > hi {
            hi
        } else {
            v
        }
    };
    if step > 0 {
        let s = start.map_or(0, |v| clamp(v, 0, n));
        let e = stop.map_or(n, |v| clamp(v, 0, n));
        let len = if e > s { (e - s - 1) / step + 1 } else { 0 };
        (s, e, len as usize)
    } else {
        let s = start.map_or(n - 1, |v| clamp(v, -1, n - 1));
        let e = stop.map_or(-1, |v| clamp(v, -1, n - 1));
        let len = if s > e {
            (s - e - 1) / step.unsigned_abs() as isize + 1
        } else {
            0
        };
        (s, e, len as usize)
    }
}

/// The slice of `a` taking, on axis `i`, indices `start[i]`, `start[i] + strides[i]`, ...
/// up to (not including) `stop[i]`, with Python's semantics: negative indices count from
/// the end, out-of-range bounds are clamped, negative steps walk backwards (to take an
/// axis whole in reverse, use `start = -1`, `stop = isize::MIN`), and an empty range gives
/// an empty axis. A view: it shares `a`'s storage.
pub fn slice(a: &Array, start: &[isize], stop: &[isize], strides: &[isize]) -> Result<Array> {
    let nd = a.ndim();
    if start.len() != nd || stop.len() != nd || strides.len() != nd {
        return Err(Error::InvalidArgument(format!(
            "slice: start {start:?}, stop {stop:?} and strides {strides:?} must each have one \
             entry per axis of the array of shape {:?}",
            a.shape()
        )));
    }
    let mut spec = Vec::with_capacity(nd);
    for i in 0..nd {
        spec.push((Some(start[i]), Some(stop[i]), strides[i]));
    }
    slice_axes(a, &spec, "slice")
}

/// Slice with optional bounds per axis (`(start, stop, step)`, None = the default).
fn slice_axes(
    a: &Array,
    spec: &[(Option<isize>, Option<isize>, isize)],
    op: &str,
) -> Result<Array> {
    let mut st = Vec::with_capacity(spec.len());
    let mut en = Vec::with_capacity(spec.len());
    let mut steps = Vec::with_capacity(spec.len());
    let mut shape = Vec::with_capacity(spec.len());
    for (ax, &(s, e, k)) in spec.iter().enumerate() {
        if k == 0 {
            return Err(Error::InvalidArgument(format!(
                "{op}: slice step cannot be zero (axis {ax})"
            )));
        }
        let (s, e, len) = normalize_slice(s, e, k, a.shape()[ax]);
        st.push(s);
        en.push(e);
        steps.push(k);
        shape.push(len);
    }
    let full = (0..spec.len()).all(|i| st[i] == 0 && steps[i] == 1 && shape[i] == a.shape()[i]);
    if full {
        return Ok(a.clone());
    }
    Ok(Array::new_node(
        shape,
        a.dtype(),
        Arc::new(Slice {
            start: st,
            stop: en,
            strides: steps,
        }),
        vec![a.clone()],
        stream(),
    ))
}

/// One entry of a basic index (NumPy's `a[...]`), see [`index`]. Rust values convert:
/// integers to `Index`, ranges (`1..3`, `..3`, `2..`, `..`) to `Range`/`Full`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceArg {
    /// One position (negative counts from the end); drops the axis.
    Index(isize),
    /// `start:stop:step` with Python's semantics (None = default for the step's sign).
    Range {
        /// First index (None: the start, or the end for negative steps).
        start: Option<isize>,
        /// Bound not included (None: past the end, or before the start for negative steps).
        stop: Option<isize>,
        /// Step (non-zero).
        step: isize,
    },
    /// The whole axis (`:`).
    Full,
    /// A new axis of size 1 (`None` / `np.newaxis`).
    NewAxis,
    /// As many whole axes as needed (`...`); at most one per index.
    Ellipsis,
}

impl SliceArg {
    /// `start:stop` (step 1).
    pub fn range(start: isize, stop: isize) -> SliceArg {
        SliceArg::Range {
            start: Some(start),
            stop: Some(stop),
            step: 1,
        }
    }
    /// `::step` (the whole axis with a step; negative steps reverse).
    pub fn step(step: isize) -> SliceArg {
        SliceArg::Range {
            start: None,
            stop: None,
            step,
        }
    }
    /// `start:stop:step` with optional bounds.
    pub fn range_step(start: Option<isize>, stop: Option<isize>, step: isize) -> SliceArg {
        SliceArg::Range { start, stop, step }
    }
}

macro_rules! slice_arg_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceArg {
            fn from(i: $t) -> SliceArg {
                SliceArg::Index(i as isize)
            }
        }
        impl From<std::ops::Range<$t>> for SliceArg {
            fn from(r: std::ops::Range<$t>) -> SliceArg {
                SliceArg::range(r.start as isize, r.end as isize)
            }
        }
        impl From<std::ops::RangeFrom<$t>> for SliceArg {
            fn from(r: std::ops::RangeFrom<$t>) -> SliceArg {
                SliceArg::range_step(Some(r.start as isize), None, 1)
            }
        }
        impl From<std::ops::RangeTo<$t>> for SliceArg {
            fn from(r: std::ops::RangeTo<$t>) -> SliceArg {
                SliceArg::range_step(None, Some(r.end as isize), 1)
            }
        }
    )*};
}
slice_arg_from_int!(i32, i64, isize, usize);

impl From<std::ops::RangeFull> for SliceArg {
    fn from(_: std::ops::RangeFull) -> SliceArg {
        SliceArg::Full
    }
}

/// NumPy basic indexing (`a[args]`): integers pick one position and drop the axis (an
/// out-of-range integer is an error), ranges slice, `NewAxis` inserts a size-1 axis,
/// `Ellipsis` stands for the whole axes not otherwise indexed, and axes past the last
/// argument are taken whole. A view sharing `a`'s storage.
pub fn index(a: &Array, args: &[SliceArg]) -> Result<Array> {
    let consumed = args
        .iter()
        .filter(|x| !matches!(x, SliceArg::NewAxis | SliceArg::Ellipsis))
        .count();
    let ellipses = args.iter().filter(|x| **x == SliceArg::Ellipsis).count();
    if ellipses > 1 {
        return Err(Error::InvalidArgument(
            "index: an index can only have a single ellipsis".into(),
        ));
    }
    if consumed > a.ndim() {
        return Err(Error::InvalidArgument(format!(
            "index: too many indices ({consumed}) for an array of shape {:?}",
            a.shape()
        )));
    }
    let mut spec = Vec::with_capacity(a.ndim());
    let mut out_shape: Vec<usize> = Vec::new();
    // Output axes: (Some(input axis) | None for a new axis); int axes are dropped.
    let mut ax = 0usize;
    for arg in args {
        match *arg {
            SliceArg::Index(i) => {
                let n = a.shape()[ax];
                let j = if i < 0 { i + n as isize } else { i };
                if j < 0 || j >= n as isize {
                    return Err(Error::InvalidArgument(format!(
                        "index: index {i} is out of bounds for axis {ax} with size {n} \
                         (shape {:?})",
                        a.shape()
                    )));
                }
                spec.push((Some(j), Some(j + 1), 1));
                ax += 1;
            }
            SliceArg::Range { start, stop, step } => {
                if step == 0 {
                    return Err(Error::InvalidArgument(format!(
                        "index: slice step cannot be zero (axis {ax})"
                    )));
                }
                let (_, _, len) = normalize_slice(start, stop, step, a.shape()[ax]);
                spec.push((start, stop, step));
                out_shape.push(len);
                ax += 1;
            }
            SliceArg::Full => {
                spec.push((None, None, 1));
                out_shape.push(a.shape()[ax]);
                ax += 1;
            }
            SliceArg::NewAxis => out_shape.push(1),
            SliceArg::Ellipsis => {
                for _ in 0..a.ndim() - consumed {
                    spec.push((None, None, 1));
                    out_shape.push(a.shape()[ax]);
                    ax += 1;
                }
            }
        }
    }
    while ax < a.ndim() {
        spec.push((None, None, 1));
        out_shape.push(a.shape()[ax]);
        ax += 1;
    }
    let s = slice_axes(a, &spec, "index")?;
    reshape_to(&s, &out_shape)
}

/// Reverse the order of elements along `axes` (all axes when None). A view with negative
/// strides.
pub fn flip(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    let ax: Vec<usize> = match axes {
        None => (0..a.ndim()).collect(),
        Some(axes) => normalize_axes(axes, a.ndim(), "flip")?,
    };
    let spec: Vec<(Option<isize>, Option<isize>, isize)> = (0..a.ndim())
        .map(|i| {
            if ax.contains(&i) {
                (None, None, -1)
            } else {
                (None, None, 1)
            }
        })
        .collect();
    slice_axes(a, &spec, "flip")
}

impl Array {
    /// See [`index`]: NumPy basic indexing, e.g. `a.index(&[1.into(), (..2).into()])`.
    pub fn index(&self, args: &[SliceArg]) -> Result<Array> {
        index(self, args)
    }
    /// See [`slice`].
    pub fn slice(&self, start: &[isize], stop: &[isize], strides: &[isize]) -> Result<Array> {
        slice(self, start, stop, strides)
    }
}
