//! NumPy-style indexing with index arrays: `get_item` (`a[idx]` where `idx` mixes
//! integers, slices, new axes, an ellipsis and integer arrays) and the functional updates
//! `set_item` / [`At`] (MLX's `a.at[idx].add(v)` family), built on `gather` and `scatter`.
//!
//! Placement follows NumPy: the index arrays (and integers, once any array is present) are
//! broadcast together; if they are adjacent in the index, their broadcast dimensions replace
//! them in place, otherwise they go first. Boolean masks are not supported (their result
//! shape depends on the data), as in MLX.

use super::slicing::{index, SliceArg};
use super::{broadcast_shapes, ToOperand};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;

/// One entry of an index: a basic entry ([`SliceArg`]) or an integer index array.
#[derive(Debug, Clone)]
pub enum IndexArg {
    /// An integer, slice, new axis or ellipsis.
    Basic(SliceArg),
    /// An integer array (negative entries count from the end).
    Array(Array),
}

impl<T: Into<SliceArg>> From<T> for IndexArg {
    fn from(v: T) -> IndexArg {
        IndexArg::Basic(v.into())
    }
}

impl From<Array> for IndexArg {
    fn from(a: Array) -> IndexArg {
        IndexArg::Array(a)
    }
}

impl From<&Array> for IndexArg {
    fn from(a: &Array) -> IndexArg {
        IndexArg::Array(a.clone())
    }
}

/// `a[idx]` with NumPy's rules (see the module docs). Without index arrays this is
/// [`index`] (a view); with them, a gather.
pub fn get_item(a: &Array, idx: &[IndexArg]) -> Result<Array> {
    if !idx.iter().any(|x| matches!(x, IndexArg::Array(_))) {
        let basic: Vec<SliceArg> = idx
            .iter()
            .map(|x| match x {
                IndexArg::Basic(b) => *b,
                IndexArg::Array(_) => unreachable!("no arrays"),
            })
            .collect();
        return index(a, &basic);
    }
    for x in idx {
        if let IndexArg::Array(i) = x {
            if i.dtype() == Dtype::Bool {
                return Err(Error::Dtype(
                    "get_item: boolean mask indices are not supported (the result shape would \
                     depend on the data); use `where` or integer indices"
                        .into(),
                ));
            }
            if !i.dtype().is_integer() {
                return Err(Error::Dtype(format!(
                    "get_item: index arrays must be integral, got {}",
                    i.dtype()
                )));
            }
        }
    }
    // Basic part: arrays (and integers, which become 0-d index arrays) keep their axis.
    let mut basic = Vec::with_capacity(idx.len());
    // (position in the basic view, index array)
    let mut adv: Vec<(usize, Array)> = Vec::new();
    // Entry positions of the advanced indices in `idx`, to decide adjacency.
    let mut adv_entries = Vec::new();
    let consumed = idx
        .iter()
        .filter(|x| {
            !matches!(
                x,
                IndexArg::Basic(SliceArg::NewAxis) | IndexArg::Basic(SliceArg::Ellipsis)
            )
        })
        .count();
    if consumed > a.ndim() {
        return Err(Error::InvalidArgument(format!(
            "get_item: too many indices ({consumed}) for an array of shape {:?}",
            a.shape()
        )));
    }
    let mut view_axis = 0usize;
    let mut in_axis = 0usize;
    for (k, x) in idx.iter().enumerate() {
        match x {
            IndexArg::Array(i) => {
                adv.push((view_axis, i.clone()));
                adv_entries.push(k);
                basic.push(SliceArg::Full);
                view_axis += 1;
                in_axis += 1;
            }
            IndexArg::Basic(SliceArg::Index(i)) => {
                let n = a.shape()[in_axis] as isize;
                let j = if *i < 0 { i + n } else { *i };
                if j < 0 || j >= n {
                    return Err(Error::InvalidArgument(format!(
                        "get_item: index {i} is out of bounds for axis {in_axis} with size {n}"
                    )));
                }
                adv.push((view_axis, Array::scalar(j as i64)));
                adv_entries.push(k);
                basic.push(SliceArg::Full);
                view_axis += 1;
                in_axis += 1;
            }
            IndexArg::Basic(SliceArg::NewAxis) => {
                basic.push(SliceArg::NewAxis);
                view_axis += 1;
            }
            IndexArg::Basic(SliceArg::Ellipsis) => {
                basic.push(SliceArg::Ellipsis);
                view_axis += a.ndim() - consumed;
                in_axis += a.ndim() - consumed;
            }
            IndexArg::Basic(b) => {
                basic.push(*b);
                view_axis += 1;
                in_axis += 1;
            }
        }
    }
    let v = index(a, &basic)?;
    let mut ishape: Vec<usize> = Vec::new();
    for (_, i) in &adv {
        ishape = broadcast_shapes(&ishape, i.shape(), "get_item")?;
    }
    let axes: Vec<isize> = adv.iter().map(|(p, _)| *p as isize).collect();
    let arrays: Vec<Array> = adv.iter().map(|(_, i)| i.clone()).collect();
    let mut sizes = v.shape().to_vec();
    for (p, _) in &adv {
        sizes[*p] = sizes[*p].min(1);
    }
    // Empty axes with a non-empty index are an error in gather; report it as NumPy does.
    for (p, _) in &adv {
        if v.shape()[*p] == 0 && ishape.iter().product::<usize>() > 0 {
            return Err(Error::InvalidArgument(format!(
                "get_item: cannot index an empty axis {p} of shape {:?}",
                v.shape()
            )));
        }
    }
    let g = ops::gather(&v, &arrays, &axes, &sizes)?;
    // g: I ++ view dims (1 at the advanced axes): drop those.
    let rest: Vec<usize> = (0..v.ndim())
        .filter(|d| !adv.iter().any(|(p, _)| p == d))
        .map(|d| v.shape()[d])
        .collect();
    let mut shape = ishape.clone();
    shape.extend_from_slice(&rest);
    let g = ops::reshape_to(&g, &shape)?;
    let adjacent = adv_entries.windows(2).all(|w| w[1] == w[0] + 1);
    if !adjacent || ishape.is_empty() {
        return Ok(g);
    }
    // Move the broadcast block to where the first advanced index stood.
    let first = adv[0].0;
    let before = (0..first)
        .filter(|d| !adv.iter().any(|(p, _)| p == d))
        .count();
    if before == 0 {
        return Ok(g);
    }
    let ni = ishape.len();
    let mut perm: Vec<isize> = (ni..ni + before).map(|x| x as isize).collect();
    perm.extend((0..ni).map(|x| x as isize));
    perm.extend((ni + before..shape.len()).map(|x| x as isize));
    ops::transpose_axes(&g, &perm)
}

/// How [`update_item`] combines the values with the current entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// Replace (with duplicate indices, the last update wins).
    Set,
    /// Add (duplicates accumulate).
    Add,
    /// Subtract (duplicates accumulate).
    Subtract,
    /// Multiply (duplicates accumulate).
    Multiply,
    /// Divide (duplicates accumulate).
    Divide,
    /// Maximum.
    Maximum,
    /// Minimum.
    Minimum,
}

/// A copy of `a` with `a[idx]` combined with `values` (broadcast to the shape of
/// `get_item(a, idx)`) by `kind`. Each element of `a` addressed by the index is updated,
/// every time it is addressed (duplicates accumulate, except for `Set`).
pub fn update_item(
    a: &Array,
    idx: &[IndexArg],
    values: impl ToOperand,
    kind: UpdateKind,
) -> Result<Array> {
    let values = super::to_array(values);
    // The flat position in `a` of every element of `a[idx]`: index the per-axis
    // coordinates (broadcast views of aranges, so nothing of `a`'s size is materialised).
    let mut pos: Option<Array> = None;
    let mut stride = 1i64;
    for d in (0..a.ndim()).rev() {
        let mut s = vec![1usize; a.ndim()];
        s[d] = a.shape()[d];
        let coord = ops::arange_range(0, a.shape()[d] as i64, 1, Some(Dtype::Int64))?;
        let coord = ops::reshape_to(&coord, &s)?;
        let coord = ops::broadcast_to(&coord, a.shape())?;
        let c = get_item(&coord, idx)?;
        let term = ops::multiply(&c, stride)?;
        pos = Some(match pos {
            None => term,
            Some(p) => ops::add(&p, &term)?,
        });
        stride *= a.shape()[d] as i64;
    }
    let pos = match pos {
        Some(p) => p,
        // 0-d `a`: only basic entries (new axes / ellipsis) can index it.
        None => ops::zeros(get_item(a, idx)?.shape(), Some(Dtype::Int64))?,
    };
    let target_shape = pos.shape().to_vec();
    let bshape = broadcast_shapes(values.shape(), &target_shape, "update_item")?;
    if bshape != target_shape {
        return Err(Error::Shape(format!(
            "update_item: values of shape {:?} cannot be broadcast to the indexed shape {:?}",
            values.shape(),
            target_shape
        )));
    }
    let n = pos.size();
    let flat_pos = ops::reshape_to(&pos, &[n])?;
    let vals = ops::broadcast_to(&ops::astype(&values, a.dtype())?, &target_shape)?;
    let vals = ops::reshape_to(&vals, &[n, 1])?;
    let flat = ops::reshape_to(a, &[a.size()])?;
    let idx = [flat_pos];
    let out = match kind {
        UpdateKind::Set => ops::scatter(&flat, &idx, &vals, &[0])?,
        UpdateKind::Add => ops::scatter_add(&flat, &idx, &vals, &[0])?,
        UpdateKind::Subtract => ops::scatter_subtract(&flat, &idx, &vals, &[0])?,
        UpdateKind::Multiply => ops::scatter_prod(&flat, &idx, &vals, &[0])?,
        UpdateKind::Divide => ops::scatter_divide(&flat, &idx, &vals, &[0])?,
        UpdateKind::Maximum => ops::scatter_max(&flat, &idx, &vals, &[0])?,
        UpdateKind::Minimum => ops::scatter_min(&flat, &idx, &vals, &[0])?,
    };
    ops::reshape_to(&out, a.shape())
}

/// `a[idx] = values` as a new array (see [`update_item`]).
pub fn set_item(a: &Array, idx: &[IndexArg], values: impl ToOperand) -> Result<Array> {
    update_item(a, idx, values, UpdateKind::Set)
}

/// MLX's `a.at[idx]`: functional updates at an index, from [`Array::at`].
#[derive(Debug, Clone)]
pub struct At {
    a: Array,
    idx: Vec<IndexArg>,
}

impl At {
    /// `a[idx] += v`, accumulating over duplicate indices.
    pub fn add(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Add)
    }
    /// `a[idx] -= v`, accumulating over duplicate indices.
    pub fn subtract(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Subtract)
    }
    /// `a[idx] *= v`, accumulating over duplicate indices.
    pub fn multiply(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Multiply)
    }
    /// `a[idx] /= v`, accumulating over duplicate indices.
    pub fn divide(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Divide)
    }
    /// `a[idx] = maximum(a[idx], v)`.
    pub fn maximum(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Maximum)
    }
    /// `a[idx] = minimum(a[idx], v)`.
    pub fn minimum(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Minimum)
    }
    /// `a[idx] = v` (the last of duplicate updates wins).
    pub fn set(&self, v: impl ToOperand) -> Result<Array> {
        update_item(&self.a, &self.idx, v, UpdateKind::Set)
    }
}

impl Array {
    /// NumPy indexing with index arrays: see [`get_item`].
    pub fn get(&self, idx: &[IndexArg]) -> Result<Array> {
        get_item(self, idx)
    }
    /// MLX's `a.at[idx]`: `a.at(&idx)?.add(v)` etc. (see [`At`]).
    pub fn at(&self, idx: &[IndexArg]) -> At {
        At {
            a: self.clone(),
            idx: idx.to_vec(),
        }
    }
}
