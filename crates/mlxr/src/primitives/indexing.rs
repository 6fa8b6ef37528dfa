//! Indexing primitives: `Gather` / `Scatter` (several broadcast index arrays, MLX's
//! advanced-indexing machinery), `GatherAxis` / `ScatterAxis` (`take_along_axis`,
//! `put_along_axis`), `SliceUpdate` (static window) and `DynamicSlice` /
//! `DynamicSliceUpdate` (window start read from an array at evaluation time).
//! Kernels live in `backend/cpu/indexing.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "Gather",
    "GatherAxis",
    "Scatter",
    "Scatter Sum",
    "Scatter Prod",
    "Scatter Max",
    "Scatter Min",
    "ScatterAxis",
    "ScatterAxis Sum",
    "SliceUpdate",
    "SliceUpdate Sum",
    "SliceUpdate Prod",
    "SliceUpdate Max",
    "SliceUpdate Min",
    "DynamicSlice",
    "DynamicSliceUpdate",
];

use super::shape::{
    batch_size, front_or_expand, node, tangent, tangent_or_zeros, to_front, vmap_loop,
};
use super::slicing::Slice;
use crate::array::Array;
use crate::backend::cpu::indexing as k;
pub use crate::backend::cpu::indexing::ScatterReduce;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

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

/// Gather windows of `slice_sizes` from input 0 at the starts given by inputs 1.. (index
/// arrays of one shape `I`, one per entry of `axes`). Output shape: `I ++ slice_sizes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gather {
    /// The axis each index array indexes.
    pub axes: Vec<usize>,
    /// The window shape (one entry per input axis).
    pub slice_sizes: Vec<usize>,
}

impl Primitive for Gather {
    fn name(&self) -> String {
        "Gather".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::gather(
            &inputs[0],
            &inputs[1..],
            &self.axes,
            &self.slice_sizes,
            outputs[0].shape(),
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::gather_gpu(&self.axes, &self.slice_sizes, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let a = &primals[0];
        let idx = &primals[1..];
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let z = ops::zeros_like(a)?;
                    ops::scatter_add(&z, idx, &cotangents[0], &self.axes_isize())
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        match tangent(tangents, argnums, 0) {
            Some(t) => Ok(vec![ops::gather(
                t,
                &primals[1..],
                &self.axes_isize(),
                &self.slice_sizes,
            )?]),
            None => {
                let mut shape = if primals.len() > 1 {
                    primals[1].shape().to_vec()
                } else {
                    vec![]
                };
                shape.extend_from_slice(&self.slice_sizes);
                Ok(vec![ops::zeros(&shape, Some(primals[0].dtype()))?])
            }
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let idx_batched = axes[1..].iter().any(|a| a.is_some());
        let ax: Vec<isize> = self.axes.iter().map(|&x| x as isize + 1).collect();
        if !idx_batched {
            // Only the operand is batched: gather its whole batch axis as part of the window.
            let a = to_front(&inputs[0], axes[0], b)?;
            let mut ss = vec![b];
            ss.extend_from_slice(&self.slice_sizes);
            let out = ops::gather(&a, &inputs[1..], &ax, &ss)?;
            let nidx = if inputs.len() > 1 {
                inputs[1].ndim()
            } else {
                0
            };
            return Ok((vec![out], vec![Some(nidx)]));
        }
        let idx: Vec<Array> = inputs[1..]
            .iter()
            .zip(&axes[1..])
            .map(|(x, &a)| to_front(x, a, b))
            .collect::<Result<_>>()?;
        if axes[0].is_none() {
            let out = ops::gather(&inputs[0], &idx, &self.axes_isize(), &self.slice_sizes)?;
            return Ok((vec![out], vec![Some(0)]));
        }
        // Both batched: item k gathers from operand item k through an extra index array.
        let a = to_front(&inputs[0], axes[0], b)?;
        let bidx = batch_index(b, idx[0].shape())?;
        let mut all = vec![bidx];
        all.extend(idx.iter().cloned());
        let mut ax0 = vec![0isize];
        ax0.extend(ax);
        let mut ss = vec![1];
        ss.extend_from_slice(&self.slice_sizes);
        let out = ops::gather(&a, &all, &ax0, &ss)?;
        let mut shape = idx[0].shape().to_vec();
        shape.extend_from_slice(&self.slice_sizes);
        Ok((vec![ops::reshape_to(&out, &shape)?], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

/// `take_along_axis`: inputs `[a, indices]`, `a` broadcast to the output's shape on every
/// axis but `axis`; output shape = indices' shape.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherAxis {
    /// The indexed axis.
    pub axis: usize,
}

impl Primitive for GatherAxis {
    fn name(&self) -> String {
        "GatherAxis".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::gather_axis(&inputs[0], &inputs[1], self.axis)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::gather_axis_gpu(self.axis, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    let z = ops::zeros_like(&primals[0])?;
                    ops::scatter_add_axis(&z, &primals[1], &cotangents[0], Some(self.axis as isize))
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        match tangent(tangents, argnums, 0) {
            Some(t) => Ok(vec![ops::take_along_axis(
                t,
                &primals[1],
                Some(self.axis as isize),
            )?]),
            None => Ok(vec![ops::zeros(
                primals[1].shape(),
                Some(primals[0].dtype()),
            )?]),
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let a = front_or_expand(&inputs[0], axes[0])?;
        let i = front_or_expand(&inputs[1], axes[1])?;
        Ok((
            vec![ops::take_along_axis(&a, &i, Some(self.axis as isize + 1))?],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// Scatter: inputs `[a, idx_0, .., idx_{k-1}, updates]`; `updates` has shape
/// `I ++ window` with one window entry per axis of `a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    /// How updates combine with the values in place.
    pub reduce: ScatterReduce,
    /// The axis each index array indexes.
    pub axes: Vec<usize>,
}

impl Primitive for Scatter {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::None => "Scatter",
            ScatterReduce::Sum => "Scatter Sum",
            ScatterReduce::Prod => "Scatter Prod",
            ScatterReduce::Max => "Scatter Max",
            ScatterReduce::Min => "Scatter Min",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let n = inputs.len();
        let out = k::scatter(
            &inputs[0],
            &inputs[1..n - 1],
            &inputs[n - 1],
            &self.axes,
            self.reduce,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::scatter_gpu(self.reduce, &self.axes, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let n = primals.len();
        let (a, idx, upd) = (&primals[0], &primals[1..n - 1], &primals[n - 1]);
        let ct = &cotangents[0];
        let ax = self.axes_isize();
        let win = &upd.shape()[upd.ndim() - a.ndim()..];
        if self.reduce == ScatterReduce::Prod {
            return Err(Error::Unsupported(
                "[scatter] VJP not implemented for scatter_prod (as MLX)".into(),
            ));
        }
        let out = &outputs[0];
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    match self.reduce {
                        ScatterReduce::None => ops::scatter(ct, idx, ops::zeros_like(upd)?, &ax),
                        ScatterReduce::Sum => Ok(ct.clone()),
                        _ => ops::r#where(ops::equal(a, out)?, ct, 0.0),
                    }
                } else if i == n - 1 {
                    let g = ops::gather(ct, idx, &ax, win)?;
                    match self.reduce {
                        ScatterReduce::None | ScatterReduce::Sum => Ok(g),
                        _ => ops::r#where(
                            ops::equal(upd, ops::gather(out, idx, &ax, win)?)?,
                            &g,
                            0.0,
                        ),
                    }
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let n = primals.len();
        let (a, idx, upd) = (&primals[0], &primals[1..n - 1], &primals[n - 1]);
        let ax = self.axes_isize();
        let ta = tangent_or_zeros(tangents, argnums, 0, a)?;
        let tu = tangent_or_zeros(tangents, argnums, n - 1, upd)?;
        let t = match self.reduce {
            ScatterReduce::None => ops::scatter(&ta, idx, &tu, &ax)?,
            ScatterReduce::Sum => ops::scatter_add(&ta, idx, &tu, &ax)?,
            ScatterReduce::Prod => {
                return Err(Error::Unsupported(
                    "[scatter] JVP not implemented for scatter_prod (as MLX)".into(),
                ))
            }
            _ => {
                let out = node(
                    a.shape().to_vec(),
                    a.dtype(),
                    self.clone(),
                    primals.to_vec(),
                );
                let win = &upd.shape()[upd.ndim() - a.ndim()..];
                let keep_a = ops::r#where(ops::equal(a, &out)?, &ta, 0.0)?;
                let won = ops::equal(upd, ops::gather(&out, idx, &ax, win)?)?;
                let tu = ops::r#where(won, &tu, 0.0)?;
                ops::scatter_add(&keep_a, idx, &tu, &ax)?
            }
        };
        Ok(vec![t])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // Every input gets the batch in front; an extra index array (the item number)
        // on the new axis 0 keeps the items apart.
        let n = inputs.len();
        let b = batch_size(inputs, axes);
        let a = to_front(&inputs[0], axes[0], b)?;
        let idx: Vec<Array> = inputs[1..n - 1]
            .iter()
            .zip(&axes[1..n - 1])
            .map(|(x, &ax)| to_front(x, ax, b))
            .collect::<Result<_>>()?;
        let upd = to_front(&inputs[n - 1], axes[n - 1], b)?;
        let ni = inputs[n - 1].ndim() + usize::from(axes[0].is_some())
            - usize::from(axes[n - 1].is_some())
            - inputs[0].ndim();
        let ishape: Vec<usize> = upd.shape()[..ni + 1].to_vec();
        let mut ushape = ishape.clone();
        ushape.push(1);
        ushape.extend_from_slice(&upd.shape()[ni + 1..]);
        let upd = ops::reshape_to(&upd, &ushape)?;
        let mut all = vec![a.clone(), batch_index(b, &ishape)?];
        for i in idx {
            all.push(ops::broadcast_to(&i, &ishape)?);
        }
        all.push(upd);
        let mut ax = vec![0usize];
        ax.extend(self.axes.iter().map(|&x| x + 1));
        let p = Scatter {
            reduce: self.reduce,
            axes: ax,
        };
        Ok((
            vec![node(a.shape().to_vec(), a.dtype(), p, all)],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// `put_along_axis` (reduce `None`) and `scatter_add_axis` (reduce `Sum`): inputs
/// `[a, indices, values]`, all of one shape except along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterAxis {
    /// `None` or `Sum`.
    pub reduce: ScatterReduce,
    /// The indexed axis.
    pub axis: usize,
}

impl Primitive for ScatterAxis {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::Sum => "ScatterAxis Sum",
            _ => "ScatterAxis",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::scatter_axis(&inputs[0], &inputs[1], &inputs[2], self.axis, self.reduce)?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::scatter_axis_gpu(self.reduce, self.axis, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let (v, i) = (&primals[2], &primals[1]);
        let ct = &cotangents[0];
        let ax = Some(self.axis as isize);
        argnums
            .iter()
            .map(|&k| match k {
                0 => match self.reduce {
                    ScatterReduce::Sum => Ok(ct.clone()),
                    _ => ops::put_along_axis(ct, i, ops::zeros_like(v)?, ax),
                },
                2 => ops::take_along_axis(ct, i, ax),
                _ => ops::zeros_like(&primals[k]),
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let ta = tangent_or_zeros(tangents, argnums, 0, &primals[0])?;
        let tv = tangent_or_zeros(tangents, argnums, 2, &primals[2])?;
        let ax = Some(self.axis as isize);
        Ok(vec![match self.reduce {
            ScatterReduce::Sum => ops::scatter_add_axis(&ta, &primals[1], &tv, ax)?,
            _ => ops::put_along_axis(&ta, &primals[1], &tv, ax)?,
        }])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let a = to_front(&inputs[0], axes[0], b)?;
        let i = front_or_expand(&inputs[1], axes[1])?;
        let v = front_or_expand(&inputs[2], axes[2])?;
        let ax = Some(self.axis as isize + 1);
        Ok((
            vec![match self.reduce {
                ScatterReduce::Sum => ops::scatter_add_axis(&a, &i, &v, ax)?,
                _ => ops::put_along_axis(&a, &i, &v, ax)?,
            }],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// A copy of input 0 with the window `start..stop` (steps `strides`) combined with input
/// 1 (already broadcast to the window's shape).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceUpdate {
    /// How the update combines with the values in place.
    pub reduce: ScatterReduce,
    /// First index per axis (normalised).
    pub start: Vec<usize>,
    /// Step per axis (may be negative).
    pub strides: Vec<isize>,
}

impl Primitive for SliceUpdate {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::None => "SliceUpdate",
            ScatterReduce::Sum => "SliceUpdate Sum",
            ScatterReduce::Prod => "SliceUpdate Prod",
            ScatterReduce::Max => "SliceUpdate Max",
            ScatterReduce::Min => "SliceUpdate Min",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let a = &inputs[0];
        let out = k::copy_or_donate(a)?;
        k::update_window(
            &out,
            a.shape(),
            a.dtype(),
            &inputs[1],
            &self.start,
            &self.strides,
            self.reduce,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::slice_update_gpu(
            self.reduce,
            &self.start,
            &self.strides,
            inputs,
            outputs,
        )
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (a, u) = (&primals[0], &primals[1]);
        let ct = &cotangents[0];
        let out = &outputs[0];
        argnums
            .iter()
            .map(|&k| {
                if k == 0 {
                    match self.reduce {
                        ScatterReduce::None => {
                            self.update(ct, &ops::zeros_like(u)?, ScatterReduce::None)
                        }
                        ScatterReduce::Sum => Ok(ct.clone()),
                        ScatterReduce::Prod => ops::multiply(
                            ct,
                            &self.update(&ops::ones_like(a)?, u, ScatterReduce::None)?,
                        ),
                        _ => ops::r#where(ops::equal(a, out)?, ct, 0.0),
                    }
                } else {
                    let g = self.window(ct, u.shape());
                    match self.reduce {
                        ScatterReduce::None | ScatterReduce::Sum => Ok(g),
                        ScatterReduce::Prod => ops::multiply(&g, self.window(a, u.shape())),
                        _ => ops::r#where(ops::equal(u, self.window(out, u.shape()))?, &g, 0.0),
                    }
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let (a, u) = (&primals[0], &primals[1]);
        let ta = tangent_or_zeros(tangents, argnums, 0, a)?;
        let tu = tangent_or_zeros(tangents, argnums, 1, u)?;
        let t = match self.reduce {
            ScatterReduce::None | ScatterReduce::Sum => self.update(&ta, &tu, self.reduce)?,
            ScatterReduce::Prod => {
                let da = ops::multiply(
                    &ta,
                    &self.update(&ops::ones_like(a)?, u, ScatterReduce::None)?,
                )?;
                let du = ops::multiply(&tu, self.window(a, u.shape()))?;
                self.update(&da, &du, ScatterReduce::Sum)?
            }
            _ => {
                let out = self.update(a, u, self.reduce)?;
                let keep_a = ops::r#where(ops::equal(a, &out)?, &ta, 0.0)?;
                let won = ops::equal(u, self.window(&out, u.shape()))?;
                self.update(&keep_a, &ops::r#where(won, &tu, 0.0)?, ScatterReduce::Sum)?
            }
        };
        Ok(vec![t])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let a = to_front(&inputs[0], axes[0], b)?;
        let u = to_front(&inputs[1], axes[1], b)?;
        let mut p = self.clone();
        p.start.insert(0, 0);
        p.strides.insert(0, 1);
        Ok((
            vec![node(a.shape().to_vec(), a.dtype(), p, vec![a, u])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// Window starts for `DynamicSlice` / `DynamicSliceUpdate`: one integer per entry of
/// `axes` (others start at 0), wrapped if negative and clamped so the window fits.
fn dynamic_starts(a: &Array, start: &Array, axes: &[usize], size: &[usize]) -> Result<Vec<usize>> {
    let sv = k::start_values(start)?;
    let mut st = vec![0usize; a.ndim()];
    for (j, &ax) in axes.iter().enumerate() {
        st[ax] = k::wrap_clamp(sv[j], a.shape()[ax], size[ax]);
    }
    Ok(st)
}

/// A window of input 0 of shape `slice_size`, starting on `axes` at the positions held
/// by input 1 (an integer array with one entry per axis).
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicSlice {
    /// The axes whose start is given.
    pub axes: Vec<usize>,
    /// The window shape.
    pub slice_size: Vec<usize>,
}

impl Primitive for DynamicSlice {
    fn name(&self) -> String {
        "DynamicSlice".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let st = dynamic_starts(&inputs[0], &inputs[1], &self.axes, &self.slice_size)?;
        outputs[0].set_data(k::copy_window(&inputs[0], &st, &self.slice_size)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::dynamic_slice_gpu(
            &self.axes,
            &self.slice_size,
            inputs,
            outputs,
        )
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let a = &primals[0];
        argnums
            .iter()
            .map(|&k| {
                if k == 0 {
                    let p = DynamicSliceUpdate {
                        axes: self.axes.clone(),
                    };
                    let z = ops::zeros_like(a)?;
                    Ok(node(
                        a.shape().to_vec(),
                        a.dtype(),
                        p,
                        vec![z, cotangents[0].clone(), primals[1].clone()],
                    ))
                } else {
                    ops::zeros_like(&primals[k])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let t = tangent_or_zeros(tangents, argnums, 0, &primals[0])?;
        Ok(vec![node(
            self.slice_size.clone(),
            t.dtype(),
            self.clone(),
            vec![t, primals[1].clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[1].is_some() {
            return vmap_loop(inputs, axes, "DynamicSlice", |xs| {
                Ok(vec![node(
                    self.slice_size.clone(),
                    xs[0].dtype(),
                    self.clone(),
                    xs.to_vec(),
                )])
            });
        }
        let b = batch_size(inputs, axes);
        let a = to_front(&inputs[0], axes[0], b)?;
        let mut ss = vec![b];
        ss.extend_from_slice(&self.slice_size);
        let p = DynamicSlice {
            axes: self.axes.iter().map(|&x| x + 1).collect(),
            slice_size: ss.clone(),
        };
        Ok((
            vec![node(ss, a.dtype(), p, vec![a, inputs[1].clone()])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// A copy of input 0 with the window of input 1's shape, starting on `axes` at the
/// positions held by input 2, replaced by input 1.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicSliceUpdate {
    /// The axes whose start is given.
    pub axes: Vec<usize>,
}

impl Primitive for DynamicSliceUpdate {
    fn name(&self) -> String {
        "DynamicSliceUpdate".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (a, upd) = (&inputs[0], &inputs[1]);
        let st = dynamic_starts(a, &inputs[2], &self.axes, upd.shape())?;
        let out = k::copy_or_donate(a)?;
        let steps = vec![1isize; a.ndim()];
        k::update_window(
            &out,
            a.shape(),
            a.dtype(),
            upd,
            &st,
            &steps,
            ScatterReduce::None,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::indexing::dynamic_slice_update_gpu(&self.axes, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let (a, u, st) = (&primals[0], &primals[1], &primals[2]);
        let ct = &cotangents[0];
        argnums
            .iter()
            .map(|&k| match k {
                0 => Ok(node(
                    a.shape().to_vec(),
                    a.dtype(),
                    self.clone(),
                    vec![ct.clone(), ops::zeros_like(u)?, st.clone()],
                )),
                1 => {
                    let p = DynamicSlice {
                        axes: self.axes.clone(),
                        slice_size: u.shape().to_vec(),
                    };
                    Ok(node(
                        u.shape().to_vec(),
                        ct.dtype(),
                        p,
                        vec![ct.clone(), st.clone()],
                    ))
                }
                _ => ops::zeros_like(&primals[k]),
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let ta = tangent_or_zeros(tangents, argnums, 0, &primals[0])?;
        let tu = tangent_or_zeros(tangents, argnums, 1, &primals[1])?;
        Ok(vec![node(
            ta.shape().to_vec(),
            ta.dtype(),
            self.clone(),
            vec![ta, tu, primals[2].clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[2].is_some() {
            return vmap_loop(inputs, axes, "DynamicSliceUpdate", |xs| {
                Ok(vec![node(
                    xs[0].shape().to_vec(),
                    xs[0].dtype(),
                    self.clone(),
                    xs.to_vec(),
                )])
            });
        }
        let b = batch_size(inputs, axes);
        let a = to_front(&inputs[0], axes[0], b)?;
        let u = to_front(&inputs[1], axes[1], b)?;
        let p = DynamicSliceUpdate {
            axes: self.axes.iter().map(|&x| x + 1).collect(),
        };
        Ok((
            vec![node(
                a.shape().to_vec(),
                a.dtype(),
                p,
                vec![a, u, inputs[2].clone()],
            )],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

impl Gather {
    fn axes_isize(&self) -> Vec<isize> {
        self.axes.iter().map(|&x| x as isize).collect()
    }
}

impl Scatter {
    fn axes_isize(&self) -> Vec<isize> {
        self.axes.iter().map(|&x| x as isize).collect()
    }
}

impl SliceUpdate {
    /// The window of `x` this update writes (of shape `shape`).
    fn window(&self, x: &Array, shape: &[usize]) -> Array {
        let start: Vec<isize> = self.start.iter().map(|&s| s as isize).collect();
        let stop: Vec<isize> = start
            .iter()
            .zip(&self.strides)
            .zip(shape)
            .map(|((&s, &k), &n)| s + k * n as isize)
            .collect();
        let p = Slice {
            start,
            stop,
            strides: self.strides.clone(),
        };
        node(shape.to_vec(), x.dtype(), p, vec![x.clone()])
    }
    /// `x` with this update's window combined with `u` by `reduce`.
    fn update(&self, x: &Array, u: &Array, reduce: ScatterReduce) -> Result<Array> {
        let p = SliceUpdate {
            reduce,
            start: self.start.clone(),
            strides: self.strides.clone(),
        };
        Ok(node(
            x.shape().to_vec(),
            x.dtype(),
            p,
            vec![x.clone(), u.clone()],
        ))
    }
}

/// The item number of each index position: int32 `[b, ...]` broadcast to `shape`
/// (whose first entry is `b`).
fn batch_index(b: usize, shape: &[usize]) -> Result<Array> {
    let v: Vec<i32> = (0..b as i32).collect();
    let mut s = vec![1usize; shape.len()];
    s[0] = b;
    ops::broadcast_to(&Array::from_slice(&v, &s)?, shape)
}
