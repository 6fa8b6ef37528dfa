//! Shape primitives. Views that share the input's storage: `Reshape` (where the layout
//! allows), `Transpose`, `Broadcast`, `Diagonal`, `View` (bit reinterpretation, where the
//! layout allows). Copies: `Copy` (row-contiguous data), `Concatenate`, `Pad`, `Tile`,
//! `Repeat`, `Roll` and `Diag` (1-D → 2-D), whose kernels live in `backend/cpu/shape.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "Reshape",
    "Transpose",
    "Broadcast",
    "Copy",
    "Concatenate",
    "Pad",
    "Tile",
    "Repeat",
    "Roll",
    "Diagonal",
    "Diag",
    "View",
];

use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::backend::cpu::shape as kernels;
use crate::backend::cpu::shape::FILL;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

macro_rules! equivalent_by_eq {
    () => {
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}
#[allow(unused_imports)]
pub(crate) use equivalent_by_eq;

/// New shape with the same elements in row-major order. A view when the input's layout
/// allows (row-contiguous, or axes that split/merge cleanly), a copy otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    /// The output shape.
    pub shape: Vec<usize>,
}

/// Strides that view data of `shape`/`strides` as `new_shape` without copying, if any.
pub fn reshape_strides(
    shape: &[usize],
    strides: &[isize],
    new_shape: &[usize],
) -> Option<Vec<isize>> {
    let size: usize = shape.iter().product();
    if size == 0 {
        return Some(row_strides(new_shape));
    }
    // Drop size-1 axes of the input, then match groups of axes.
    let dims: Vec<(usize, isize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&n, _)| n != 1)
        .map(|(&n, &s)| (n, s))
        .collect();
    let mut out = vec![0isize; new_shape.len()];
    let mut i = 0; // index into dims
    let mut j = 0; // index into new_shape
    while j < new_shape.len() {
        if new_shape[j] == 1 {
            out[j] = if i < dims.len() {
                dims[i].1 * dims[i].0 as isize
            } else {
                1
            };
            j += 1;
            continue;
        }
        if i >= dims.len() {
            return None;
        }
        // Take one group: input axes i..ie that are mutually contiguous, with the product
        // equal to the product of output axes j..je.
        let (mut pin, mut pout) = (dims[i].0, new_shape[j]);
        let (mut ie, mut je) = (i + 1, j + 1);
        while pin != pout {
            if pin < pout {
                if ie >= dims.len() {
                    return None;
                }
                pin *= dims[ie].0;
                ie += 1;
            } else {
                while je < new_shape.len() && new_shape[je] == 1 {
                    je += 1;
                }
                if je >= new_shape.len() {
                    return None;
                }
                pout *= new_shape[je];
                je += 1;
            }
        }
        for k in i..ie - 1 {
            if dims[k].1 != dims[k + 1].1 * dims[k + 1].0 as isize {
                return None;
            }
        }
        // Output strides within the group: row-major scaled by the innermost stride.
        let mut acc = dims[ie - 1].1;
        for k in (j..je).rev() {
            out[k] = acc;
            acc *= new_shape[k] as isize;
        }
        i = ie;
        j = je;
    }
    if i != dims.len() {
        return None;
    }
    Some(out)
}

impl Primitive for Reshape {
    fn name(&self) -> String {
        "Reshape".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = match self.view(x, &d) {
            Some(v) => v,
            None => {
                let c = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
                Data::row_contiguous(c.storage, &self.shape)
            }
        };
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        let out = match self.view(x, &d) {
            Some(v) => v,
            None => {
                let (g, st) = cuda::resolve(outputs[0].stream())?;
                let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
                Data::row_contiguous(c.storage, &self.shape)
            }
        };
        outputs[0].set_data(out);
        Ok(())
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::reshape_to(&cotangents[0], primals[0].shape())?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::reshape_to(&tangents[0], &self.shape)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut s = vec![b];
        s.extend_from_slice(&self.shape);
        Ok((vec![ops::reshape_to(&x, &s)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

impl Reshape {
    /// The output as a view of `x`'s data `d`, when the layout allows (any device).
    fn view(&self, x: &Array, d: &Data) -> Option<Data> {
        reshape_strides(x.shape(), &d.strides, &self.shape)
            .map(|st| Data::with_layout(d.storage.clone(), &self.shape, st, d.offset, None))
    }
}

/// Permute axes (a view).
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// `out.axis(i) = in.axis(perm[i])`.
    pub perm: Vec<usize>,
}

impl Primitive for Transpose {
    fn name(&self) -> String {
        "Transpose".into()
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        let s = inputs[0].shape();
        (s.len() == self.perm.len()).then(|| vec![self.perm.iter().map(|&p| s[p]).collect()])
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let mut inv = vec![0isize; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inv[p] = i as isize;
        }
        Ok(vec![ops::transpose_axes(&cotangents[0], &inv)?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let p: Vec<isize> = self.perm.iter().map(|&p| p as isize).collect();
        Ok(vec![ops::transpose_axes(&tangents[0], &p)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut p = vec![0isize];
        p.extend(self.perm.iter().map(|&p| p as isize + 1));
        Ok((vec![ops::transpose_axes(&x, &p)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

impl Transpose {
    /// The permuted view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let strides = self.perm.iter().map(|&p| d.strides[p]).collect();
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            outputs[0].shape(),
            strides,
            d.offset,
            None,
        ));
        Ok(())
    }
}

/// Broadcast to a larger shape (a view with zero strides on the new axes).
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The output shape.
    pub shape: Vec<usize>,
}

impl Primitive for Broadcast {
    fn name(&self) -> String {
        "Broadcast".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let (n, k) = (self.shape.len(), x.ndim());
        let mut red: Vec<isize> = (0..(n - k) as isize).collect();
        for i in 0..k {
            if x.shape()[i] == 1 && self.shape[n - k + i] != 1 {
                red.push((n - k + i) as isize);
            }
        }
        let g = if red.is_empty() {
            cotangents[0].clone()
        } else {
            ops::sum(&cotangents[0], Some(&red), false)?
        };
        Ok(vec![ops::reshape_to(&g, x.shape())?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::broadcast_to(&tangents[0], &self.shape)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let k = x.ndim() - 1;
        let mut s = vec![b];
        s.extend(std::iter::repeat_n(1, self.shape.len() - k));
        s.extend_from_slice(&x.shape()[1..]);
        let x = ops::reshape_to(&x, &s)?;
        let mut out = vec![b];
        out.extend_from_slice(&self.shape);
        Ok((vec![ops::broadcast_to(&x, &out)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

impl Broadcast {
    /// The broadcast view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let n = self.shape.len();
        let k = x.ndim();
        let mut strides = vec![0isize; n];
        for i in 0..k {
            if x.shape()[i] != 1 || self.shape[n - k + i] == 1 {
                strides[n - k + i] = d.strides[i];
            }
        }
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            &self.shape,
            strides,
            d.offset,
            None,
        ));
        Ok(())
    }
}

/// Materialise row-contiguous data (`contiguous`). Data that already is row-contiguous is
/// shared, not copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy;

impl Primitive for Copy {
    fn name(&self) -> String {
        "Copy".into()
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        if d.flags.row_contiguous {
            outputs[0].set_data(d);
        } else {
            outputs[0].set_data(copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?);
        }
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        if d.flags.row_contiguous {
            outputs[0].set_data(d);
            return Ok(());
        }
        let (g, st) = cuda::resolve(outputs[0].stream())?;
        let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        outputs[0].set_data(c);
        Ok(())
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangents[0].clone()])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![tangents[0].clone()])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![ops::contiguous(&inputs[0])?], vec![axes[0]]))
    }
    equivalent_by_eq!();
}

/// Join arrays of one dtype along an existing axis (the inputs have the output's dtype;
/// the op converts mixed dtypes first).
#[derive(Debug, Clone, PartialEq)]
pub struct Concatenate {
    /// The (non-negative) axis joined along.
    pub axis: usize,
}

impl Primitive for Concatenate {
    fn name(&self) -> String {
        "Concatenate".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out_shape = outputs[0].shape();
        let dtype = outputs[0].dtype();
        let out = Data::alloc(out_shape, dtype)?;
        let ostr = row_strides(out_shape);
        let mut at = 0usize;
        for x in inputs {
            let d = x.data()?;
            let off = at as isize * ostr[self.axis];
            kernels::copy_into(&d, x.shape(), dtype.size(), &out, &ostr, off)?;
            at += x.shape()[self.axis];
        }
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::concatenate_gpu(self.axis, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let ct = &cotangents[0];
        let mut offs = vec![0usize];
        for p in primals {
            offs.push(offs.last().unwrap() + p.shape()[self.axis]);
        }
        argnums
            .iter()
            .map(|&i| {
                let start: Vec<isize> = (0..ct.ndim())
                    .map(|d| if d == self.axis { offs[i] as isize } else { 0 })
                    .collect();
                let mut stop: Vec<isize> = ct.shape().iter().map(|&d| d as isize).collect();
                stop[self.axis] = offs[i + 1] as isize;
                ops::slice(ct, &start, &stop, &vec![1; ct.ndim()])
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let ts: Vec<Array> = primals
            .iter()
            .enumerate()
            .map(|(i, p)| tangent_or_zeros(tangents, argnums, i, p))
            .collect::<Result<_>>()?;
        Ok(vec![ops::concatenate(&ts, self.axis as isize)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let xs: Vec<Array> = inputs
            .iter()
            .zip(axes)
            .map(|(x, &a)| to_front(x, a, b))
            .collect::<Result<_>>()?;
        Ok((
            vec![ops::concatenate(&xs, self.axis as isize + 1)?],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// How `pad` fills the new positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value (`constant_values`).
    Constant,
    /// Repeat the edge element.
    Edge,
    /// Mirror without repeating the edge (`[1, 2, 3]` → `3 2 | 1 2 3 | 2 1`).
    Reflect,
    /// Mirror repeating the edge (`[1, 2, 3]` → `2 1 | 1 2 3 | 3 2`).
    Symmetric,
}

/// Pad every axis with `low[i]` elements before and `high[i]` after. Inputs: the array and
/// a 0-d array of its dtype holding the constant value.
#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    /// Elements added before, per axis.
    pub low: Vec<usize>,
    /// Elements added after, per axis.
    pub high: Vec<usize>,
    /// How new elements are filled.
    pub mode: PadMode,
}

/// Where output position `i` of a padded axis of length `n` (with `lo` added in front)
/// reads, as an input index, or None for the fill value.
pub fn pad_source(i: usize, n: usize, lo: usize, mode: PadMode) -> Option<usize> {
    let j = i as isize - lo as isize;
    let n = n as isize;
    if (0..n).contains(&j) {
        return Some(j as usize);
    }
    if n == 0 {
        return None;
    }
    Some(match mode {
        PadMode::Constant => return None,
        PadMode::Edge => j.clamp(0, n - 1) as usize,
        PadMode::Reflect => {
            if n == 1 {
                0
            } else {
                let p = 2 * (n - 1);
                let r = j.rem_euclid(p);
                (if r >= n { p - r } else { r }) as usize
            }
        }
        PadMode::Symmetric => {
            let p = 2 * n;
            let r = j.rem_euclid(p);
            (if r >= n { p - 1 - r } else { r }) as usize
        }
    })
}

impl Primitive for Pad {
    fn name(&self) -> String {
        "Pad".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (x, v) = (&inputs[0], &inputs[1]);
        let (d, vd) = (x.data()?, v.data()?);
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = x.shape()[ax];
                (0..out_shape[ax])
                    .map(|i| match pad_source(i, n, self.low[ax], self.mode) {
                        Some(j) => j as isize * d.strides[ax],
                        None => FILL,
                    })
                    .collect()
            })
            .collect();
        let out = kernels::gather_axes(&d, x.dtype(), out_shape, &maps, Some(&vd))?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::pad_gpu(&self.low, self.mode, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, ct) = (&primals[0], &cotangents[0]);
        let nd = x.ndim();
        let constant = self.mode == PadMode::Constant || x.size() == 0;
        let gx = if constant {
            let start: Vec<isize> = self.low.iter().map(|&l| l as isize).collect();
            let stop: Vec<isize> = (0..nd)
                .map(|d| (self.low[d] + x.shape()[d]) as isize)
                .collect();
            ops::slice(ct, &start, &stop, &vec![1; nd])?
        } else {
            let mut g = ct.clone();
            for ax in 0..nd {
                if self.low[ax] + self.high[ax] == 0 {
                    continue;
                }
                let n = x.shape()[ax];
                let m = g.shape()[ax];
                let src: Vec<i64> = (0..m)
                    .map(|i| pad_source(i, n, self.low[ax], self.mode).unwrap_or(0) as i64)
                    .collect();
                let mut ishape = vec![1usize; nd];
                ishape[ax] = m;
                let idx = ops::broadcast_to(&Array::from_slice(&src, &ishape)?, g.shape())?;
                let mut zs = g.shape().to_vec();
                zs[ax] = n;
                g = ops::scatter_add_axis(
                    &ops::zeros(&zs, Some(g.dtype()))?,
                    &idx,
                    &g,
                    Some(ax as isize),
                )?;
            }
            g
        };
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    Ok(gx.clone())
                } else if constant {
                    let total =
                        ops::subtract(&ops::sum(ct, None, false)?, &ops::sum(&gx, None, false)?)?;
                    ops::reshape_to(&total, primals[1].shape())
                } else {
                    ops::zeros_like(&primals[1])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let tx = tangent_or_zeros(tangents, argnums, 0, &primals[0])?;
        let tv = tangent_or_zeros(tangents, argnums, 1, &primals[1])?;
        let shape: Vec<usize> = (0..tx.ndim())
            .map(|d| tx.shape()[d] + self.low[d] + self.high[d])
            .collect();
        Ok(vec![node(shape, tx.dtype(), self.clone(), vec![tx, tv])])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[1].is_some() {
            return vmap_loop(inputs, axes, "Pad", |xs| {
                let shape: Vec<usize> = (0..xs[0].ndim())
                    .map(|d| xs[0].shape()[d] + self.low[d] + self.high[d])
                    .collect();
                Ok(vec![node(shape, xs[0].dtype(), self.clone(), xs.to_vec())])
            });
        }
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut p = self.clone();
        p.low.insert(0, 0);
        p.high.insert(0, 0);
        let shape: Vec<usize> = (0..x.ndim())
            .map(|d| x.shape()[d] + p.low[d] + p.high[d])
            .collect();
        Ok((
            vec![node(shape, x.dtype(), p, vec![x, inputs[1].clone()])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// Repeat the whole array `reps[i]` times along each axis (the input already has the
/// output's number of axes).
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Repetitions per axis.
    pub reps: Vec<usize>,
}

impl Primitive for Tile {
    fn name(&self) -> String {
        "Tile".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = x.shape()[ax];
                (0..out_shape[ax])
                    .map(|i| (i % n) as isize * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), out_shape, &maps, None)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::tile_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let mut s = vec![];
        for (&r, &n) in self.reps.iter().zip(x.shape()) {
            s.extend([r, n]);
        }
        let g = ops::reshape_to(&cotangents[0], &s)?;
        let red: Vec<isize> = (0..x.ndim()).map(|i| 2 * i as isize).collect();
        let g = ops::sum(&g, Some(&red), false)?;
        Ok(vec![ops::reshape_to(&g, x.shape())?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let shape: Vec<usize> = t
            .shape()
            .iter()
            .zip(&self.reps)
            .map(|(&n, &r)| n * r)
            .collect();
        Ok(vec![node(shape, t.dtype(), self.clone(), vec![t.clone()])])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut reps = vec![1];
        reps.extend_from_slice(&self.reps);
        let shape: Vec<usize> = x.shape().iter().zip(&reps).map(|(&n, &r)| n * r).collect();
        Ok((
            vec![node(shape, x.dtype(), Tile { reps }, vec![x])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// Repeat each element `repeats` times along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// Repetitions of each element.
    pub repeats: usize,
    /// The (non-negative) axis.
    pub axis: usize,
}

impl Primitive for Repeat {
    fn name(&self) -> String {
        "Repeat".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let r = if ax == self.axis { self.repeats } else { 1 };
                (0..out_shape[ax])
                    .map(|i| (i / r) as isize * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), out_shape, &maps, None)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::repeat_gpu(self.repeats, self.axis, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let mut s = x.shape().to_vec();
        s.insert(self.axis + 1, self.repeats);
        let g = ops::reshape_to(&cotangents[0], &s)?;
        Ok(vec![ops::sum(&g, Some(&[self.axis as isize + 1]), false)?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let mut shape = t.shape().to_vec();
        shape[self.axis] *= self.repeats;
        Ok(vec![node(shape, t.dtype(), self.clone(), vec![t.clone()])])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let p = Repeat {
            repeats: self.repeats,
            axis: self.axis + 1,
        };
        let mut shape = x.shape().to_vec();
        shape[p.axis] *= self.repeats;
        Ok((vec![node(shape, x.dtype(), p, vec![x])], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

/// Shift elements along each axis cyclically (`out[i] = in[(i - shift) mod n]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    /// The shift of every axis (0 for axes not rolled).
    pub shifts: Vec<isize>,
}

impl Primitive for Roll {
    fn name(&self) -> String {
        "Roll".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let shape = x.shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = shape[ax] as isize;
                (0..n)
                    .map(|i| (i - self.shifts[ax]).rem_euclid(n) * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), shape, &maps, None)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::roll_gpu(&self.shifts, inputs, outputs)
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let ct = &cotangents[0];
        let p = Roll {
            shifts: self.shifts.iter().map(|s| -s).collect(),
        };
        Ok(vec![node(
            ct.shape().to_vec(),
            ct.dtype(),
            p,
            vec![ct.clone()],
        )])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        Ok(vec![node(
            t.shape().to_vec(),
            t.dtype(),
            self.clone(),
            vec![t.clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut shifts = vec![0];
        shifts.extend_from_slice(&self.shifts);
        Ok((
            vec![node(
                x.shape().to_vec(),
                x.dtype(),
                Roll { shifts },
                vec![x],
            )],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// The diagonals between two axes, as a view: the other axes in order, then the diagonal.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagonal {
    /// Which diagonal: > 0 above the main one, < 0 below.
    pub offset: isize,
    /// The first (non-negative) axis.
    pub axis1: usize,
    /// The second (non-negative) axis.
    pub axis2: usize,
}

impl Primitive for Diagonal {
    fn name(&self) -> String {
        "Diagonal".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let nd = x.ndim();
        let (a1, a2) = (self.axis1, self.axis2);
        let mut perm: Vec<usize> = (0..nd).filter(|&i| i != a1 && i != a2).collect();
        perm.extend([a1, a2]);
        let g = diag_embed(&cotangents[0], x.shape()[a1], x.shape()[a2], self.offset)?;
        let mut inv = vec![0isize; nd];
        for (i, &p) in perm.iter().enumerate() {
            inv[p] = i as isize;
        }
        Ok(vec![ops::transpose_axes(&g, &inv)?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        Ok(vec![ops::diagonal(
            t,
            self.offset,
            self.axis1 as isize,
            self.axis2 as isize,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let d = ops::diagonal(
            &x,
            self.offset,
            self.axis1 as isize + 1,
            self.axis2 as isize + 1,
        )?;
        Ok((vec![d], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

impl Diagonal {
    /// The diagonal view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let out_shape = outputs[0].shape();
        let (a1, a2) = (self.axis1, self.axis2);
        let mut strides: Vec<isize> = (0..d.strides.len())
            .filter(|&i| i != a1 && i != a2)
            .map(|i| d.strides[i])
            .collect();
        strides.push(d.strides[a1] + d.strides[a2]);
        let mut offset = d.offset;
        if outputs[0].size() > 0 {
            let start = if self.offset >= 0 {
                self.offset * d.strides[a2]
            } else {
                -self.offset * d.strides[a1]
            };
            offset = (d.offset as isize + start) as usize;
        }
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            out_shape,
            strides,
            offset,
            None,
        ));
        Ok(())
    }
}

/// A square matrix with the 1-D input on diagonal `k` and zeros elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// Which diagonal: > 0 above the main one, < 0 below.
    pub k: isize,
}

impl Primitive for Diag {
    fn name(&self) -> String {
        "Diag".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        outputs[0].set_data(kernels::diag_matrix(&d, x.size(), self.k, x.dtype())?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::shape::diag_gpu(self.k, inputs, outputs)
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::diagonal(&cotangents[0], self.k, 0, 1)?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::diag(&tangents[0], self.k)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let m = x.shape()[1] + self.k.unsigned_abs();
        Ok((vec![diag_embed(&x, m, m, self.k)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

/// Reinterpret the bytes of the elements as another dtype (the last axis scales by the
/// ratio of the sizes). A view when the layout allows; viewing as bool normalises every
/// non-zero byte to `true`.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The dtype the bytes are read as.
    pub dtype: Dtype,
}

/// Strides (in elements of `out_size` bytes) and offset viewing data laid out with
/// `strides`/`offset` (in elements of `in_size` bytes) as the other dtype, if possible.
fn view_layout(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    in_size: usize,
    out_size: usize,
) -> Option<(Vec<isize>, usize)> {
    if !(offset * in_size).is_multiple_of(out_size) {
        return None;
    }
    let nd = shape.len();
    let mut out = Vec::with_capacity(nd);
    for (i, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        if i + 1 == nd && in_size != out_size {
            if n != 1 && s != 1 {
                return None;
            }
            out.push(1);
        } else {
            let b = s * in_size as isize;
            if b % out_size as isize != 0 {
                return None;
            }
            out.push(b / out_size as isize);
        }
    }
    Some((out, offset * in_size / out_size))
}

impl Primitive for View {
    fn name(&self) -> String {
        "View".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let (is, os) = (x.dtype().size(), self.dtype.size());
        if self.dtype == Dtype::Bool && x.dtype() != Dtype::Bool {
            let c = if d.flags.row_contiguous {
                d
            } else {
                copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?
            };
            outputs[0].set_data(kernels::bytes_to_bool(&c, is, out_shape)?);
            return Ok(());
        }
        if let Some((st, off)) = view_layout(x.shape(), &d.strides, d.offset, is, os) {
            outputs[0].set_data(Data::with_layout(
                d.storage.clone(),
                out_shape,
                st,
                off,
                None,
            ));
            return Ok(());
        }
        let c = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
        outputs[0].set_data(Data::row_contiguous(c.storage, out_shape));
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        // The CPU's cases: bytes -> bool normalises, a compatible layout is a view,
        // anything else is a row-contiguous copy read with the new dtype.
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let (is, os) = (x.dtype().size(), self.dtype.size());
        if self.dtype != Dtype::Bool || x.dtype() == Dtype::Bool {
            if let Some((st, off)) = view_layout(x.shape(), &d.strides, d.offset, is, os) {
                outputs[0].set_data(Data::with_layout(
                    d.storage.clone(),
                    out_shape,
                    st,
                    off,
                    None,
                ));
                return Ok(());
            }
        }
        let (g, st) = cuda::resolve(outputs[0].stream())?;
        // A fresh copy starts at offset 0, so its bytes can be read with any dtype.
        let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        if self.dtype == Dtype::Bool && x.dtype() != Dtype::Bool {
            // Every non-zero byte becomes true: a uint8 -> bool conversion of the bytes.
            let bytes = Data::row_contiguous(c.storage, out_shape);
            let b = cuda::copy::copy_to_contiguous(
                g,
                st,
                &bytes,
                out_shape,
                Dtype::Uint8,
                Dtype::Bool,
            )?;
            outputs[0].set_data(b);
            return Ok(());
        }
        outputs[0].set_data(Data::row_contiguous(c.storage, out_shape));
        Ok(())
    }
    fn vjp(&self, primals: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::Unsupported(format!(
            "[View::vjp] Not implemented for View {} (as MLX: a bit reinterpretation of {} has no gradient)",
            self.dtype,
            primals[0].dtype()
        )))
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Err(Error::Unsupported(format!(
            "[View::jvp] Not implemented for View {} (as MLX: a bit reinterpretation of {} has no derivative)",
            self.dtype,
            primals[0].dtype()
        )))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        if x.ndim() == 1 {
            // Items were 0-d: view each element on its own axis.
            let e = ops::expand_dims(&x, &[-1])?;
            let v = ops::view(&e, self.dtype)?;
            return Ok((vec![ops::reshape_to(&v, &[b])?], vec![Some(0)]));
        }
        Ok((vec![ops::view(&x, self.dtype)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

// ---- Helpers shared by the transformation rules of the structural families ----

/// A new single-output node on the current stream.
pub(crate) fn node(
    shape: Vec<usize>,
    dtype: Dtype,
    prim: impl Primitive,
    inputs: Vec<Array>,
) -> Array {
    Array::new_node(shape, dtype, Arc::new(prim), inputs, ops::stream())
}

/// The tangent of input `i`, if it has one.
pub(crate) fn tangent<'a>(tangents: &'a [Array], argnums: &[usize], i: usize) -> Option<&'a Array> {
    argnums.iter().position(|&a| a == i).map(|k| &tangents[k])
}

/// The tangent of input `i`, or zeros shaped like it.
pub(crate) fn tangent_or_zeros(
    tangents: &[Array],
    argnums: &[usize],
    i: usize,
    x: &Array,
) -> Result<Array> {
    match tangent(tangents, argnums, i) {
        Some(t) => Ok(t.clone()),
        None => ops::zeros_like(x),
    }
}

/// The size of the vmapped axis.
pub(crate) fn batch_size(inputs: &[Array], axes: &[Option<usize>]) -> usize {
    inputs
        .iter()
        .zip(axes)
        .find_map(|(x, a)| a.map(|a| x.shape()[a]))
        .unwrap_or(1)
}

/// `x` with its batch axis moved to the front; an unbatched `x` is broadcast to `b` items.
pub(crate) fn to_front(x: &Array, ax: Option<usize>, b: usize) -> Result<Array> {
    match ax {
        Some(a) => ops::moveaxis(x, a as isize, 0),
        None => {
            let e = ops::expand_dims(x, &[0])?;
            let mut s = e.shape().to_vec();
            s[0] = b;
            ops::broadcast_to(&e, &s)
        }
    }
}

/// `x` with its batch axis moved to the front; an unbatched `x` gets a leading size-1 axis.
pub(crate) fn front_or_expand(x: &Array, ax: Option<usize>) -> Result<Array> {
    match ax {
        Some(a) => ops::moveaxis(x, a as isize, 0),
        None => ops::expand_dims(x, &[0]),
    }
}

/// vmap by looping over the batch: `f` is applied to each item's inputs and the outputs
/// are stacked on axis 0.
pub(crate) fn vmap_loop(
    inputs: &[Array],
    axes: &[Option<usize>],
    name: &str,
    f: impl Fn(&[Array]) -> Result<Vec<Array>>,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let b = batch_size(inputs, axes);
    if b == 0 {
        return Err(Error::Unsupported(format!(
            "[{name}::vmap] vmap over an empty axis is not supported here"
        )));
    }
    let mut per: Vec<Vec<Array>> = vec![];
    for i in 0..b {
        let items: Vec<Array> = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| match a {
                Some(a) => ops::take_index(x, i as i64, Some(*a as isize)),
                None => Ok(x.clone()),
            })
            .collect::<Result<_>>()?;
        let outs = f(&items)?;
        if per.is_empty() {
            per = vec![vec![]; outs.len()];
        }
        for (k, o) in outs.into_iter().enumerate() {
            per[k].push(o);
        }
    }
    let outs = per
        .iter()
        .map(|p| ops::stack(p, 0))
        .collect::<Result<Vec<_>>>()?;
    let n = outs.len();
    Ok((outs, vec![Some(0); n]))
}

/// Place `ct` (`[..., L]`) on diagonal `offset` of zero matrices `[..., n1, n2]`.
pub(crate) fn diag_embed(ct: &Array, n1: usize, n2: usize, offset: isize) -> Result<Array> {
    let nd = ct.ndim();
    let l = ct.shape()[nd - 1];
    let mut shape = ct.shape()[..nd - 1].to_vec();
    shape.extend([n1, n2]);
    let z = ops::zeros(&shape, Some(ct.dtype()))?;
    if l == 0 {
        return Ok(z);
    }
    let (r0, c0) = if offset >= 0 {
        (0, offset)
    } else {
        (-offset, 0)
    };
    let rows: Vec<i64> = (0..l as i64).map(|i| i + r0 as i64).collect();
    let cols: Vec<i64> = (0..l as i64).map(|i| i + c0 as i64).collect();
    let rows = Array::from_slice(&rows, &[l])?;
    let cols = Array::from_slice(&cols, &[l])?;
    let mut ushape = vec![l];
    ushape.extend_from_slice(&ct.shape()[..nd - 1]);
    ushape.extend([1, 1]);
    let upd = ops::reshape_to(&ops::moveaxis(ct, -1, 0)?, &ushape)?;
    let k = (nd - 1) as isize;
    ops::scatter(&z, &[rows, cols], &upd, &[k, k + 1])
}
