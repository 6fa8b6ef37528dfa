//! Slicing primitives, both views sharing the input's storage: `Slice` (a strided
//! sub-array, negative steps giving negative strides) and `AsStrided` (arbitrary shape,
//! strides and offset over the input's row-contiguous elements).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Slice", "AsStrided"];

use super::indexing::{ScatterReduce, SliceUpdate};
use super::shape::{batch_size, equivalent_by_eq, node, to_front};
use crate::array::{Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

/// Elements `start[i], start[i] + strides[i], ...` (stopping before `stop[i]`) of every
/// axis, with indices already normalised (the output shape holds the counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// First index taken, per axis.
    pub start: Vec<isize>,
    /// Index the slice stops before, per axis (normalised like Python's `slice.indices`).
    pub stop: Vec<isize>,
    /// Step per axis (non-zero, may be negative).
    pub strides: Vec<isize>,
}

impl Primitive for Slice {
    fn name(&self) -> String {
        "Slice".into()
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
        let (x, ct) = (&primals[0], &cotangents[0]);
        let z = ops::zeros_like(x)?;
        if ct.size() == 0 {
            return Ok(vec![z]);
        }
        let p = SliceUpdate {
            reduce: ScatterReduce::None,
            start: self.start.iter().map(|&s| s as usize).collect(),
            strides: self.strides.clone(),
        };
        Ok(vec![node(
            x.shape().to_vec(),
            x.dtype(),
            p,
            vec![z, ct.clone()],
        )])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        let shape = slice_shape(&self.start, &self.stop, &self.strides);
        Ok(vec![node(shape, t.dtype(), self.clone(), vec![t.clone()])])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        let mut p = self.clone();
        p.start.insert(0, 0);
        p.stop.insert(0, b as isize);
        p.strides.insert(0, 1);
        let shape = slice_shape(&p.start, &p.stop, &p.strides);
        Ok((vec![node(shape, x.dtype(), p, vec![x])], vec![Some(0)]))
    }
    equivalent_by_eq!();
}

impl Slice {
    /// The strided view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let out = &outputs[0];
        let strides: Vec<isize> = d
            .strides
            .iter()
            .zip(&self.strides)
            .map(|(&s, &k)| s * k)
            .collect();
        let mut offset = d.offset;
        if out.size() > 0 {
            let start: isize = d
                .strides
                .iter()
                .zip(&self.start)
                .map(|(&s, &i)| s * i)
                .sum();
            offset = (d.offset as isize + start) as usize;
        }
        out.set_data(Data::with_layout(
            d.storage.clone(),
            out.shape(),
            strides,
            offset,
            None,
        ));
        Ok(())
    }
}

/// A view with explicit shape, strides and offset (in elements) over the input's elements
/// in row-major order (the op checks that every element viewed lies inside the input).
#[derive(Debug, Clone, PartialEq)]
pub struct AsStrided {
    /// The output shape.
    pub shape: Vec<usize>,
    /// The output strides, in elements.
    pub strides: Vec<isize>,
    /// The offset of the first element, in elements.
    pub offset: usize,
}

impl Primitive for AsStrided {
    fn name(&self) -> String {
        "AsStrided".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let mut d = x.data()?;
        if !d.flags.row_contiguous {
            d = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
        }
        self.set_view(d, outputs);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let mut d = x.data()?;
        if !d.flags.row_contiguous {
            let (g, st) = cuda::resolve(outputs[0].stream())?;
            d = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        }
        self.set_view(d, outputs);
        Ok(())
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, ct) = (&primals[0], &cotangents[0]);
        let n = x.size();
        let idx = self.flat_indices();
        let s = idx.len();
        let z = ops::zeros(&[n], Some(ct.dtype()))?;
        if s == 0 {
            return Ok(vec![ops::reshape_to(&z, x.shape())?]);
        }
        let idx = Array::from_slice(&idx, &[s])?;
        let upd = ops::reshape_to(ct, &[s, 1])?;
        let g = ops::scatter_add(&z, &[idx], &upd, &[0])?;
        Ok(vec![ops::reshape_to(&g, x.shape())?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        Ok(vec![node(
            self.shape.clone(),
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
        let n = inputs[0].size() / b.max(1);
        let mut p = self.clone();
        p.shape.insert(0, b);
        p.strides.insert(0, n as isize);
        Ok((
            vec![node(p.shape.clone(), x.dtype(), p, vec![x])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

impl AsStrided {
    /// Set the output to the view over the row-contiguous `d` (metadata only).
    fn set_view(&self, d: Data, outputs: &[Array]) {
        let offset = if outputs[0].size() > 0 {
            d.offset + self.offset
        } else {
            d.offset
        };
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            &self.shape,
            self.strides.clone(),
            offset,
            None,
        ));
    }
}

/// The shape of a normalised slice.
fn slice_shape(start: &[isize], stop: &[isize], strides: &[isize]) -> Vec<usize> {
    start
        .iter()
        .zip(stop)
        .zip(strides)
        .map(|((&s, &e), &k)| {
            if k > 0 {
                if e > s {
                    ((e - s - 1) / k + 1) as usize
                } else {
                    0
                }
            } else if s > e {
                ((s - e - 1) / -k + 1) as usize
            } else {
                0
            }
        })
        .collect()
}

impl AsStrided {
    /// The flat input index of every element of the view, in row-major order.
    fn flat_indices(&self) -> Vec<i64> {
        let total: usize = self.shape.iter().product();
        let mut out = Vec::with_capacity(total);
        if total == 0 {
            return out;
        }
        let nd = self.shape.len();
        let mut pos = vec![0usize; nd];
        for _ in 0..total {
            let off: isize = pos
                .iter()
                .zip(&self.strides)
                .map(|(&i, &s)| i as isize * s)
                .sum();
            out.push(self.offset as i64 + off as i64);
            for d in (0..nd).rev() {
                pos[d] += 1;
                if pos[d] < self.shape[d] {
                    break;
                }
                pos[d] = 0;
            }
        }
        out
    }
}
