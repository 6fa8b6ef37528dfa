//! Fused softmax-family primitives: `Softmax` and `LogSumExp`, over any set of axes, and
//! `SoftmaxVjp`, softmax's fused backward pass over the last axis.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Softmax", "LogSumExp", "SoftmaxVjp"];

use super::reduce::{isize_axes, shift_axes};
use crate::array::Array;
use crate::backend::cpu::softmax;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// `x` with a batch axis: its position (a new axis 0 for an unbatched input).
fn batched(x: &Array, axis: Option<usize>) -> Result<(Array, usize)> {
    match axis {
        Some(b) => Ok((x.clone(), b)),
        None => Ok((ops::expand_dims(x, &[0])?, 0)),
    }
}

/// `exp(x - max) / sum(exp(x - max))` over `axes` (sorted, distinct), computed in f32
/// (f64 for f64, complex64 for complex) and written in the output dtype. With
/// `precise == false`, half-precision inputs round intermediates to half precision as
/// MLX does.
#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    /// The normalised axes, sorted ascending.
    pub axes: Vec<usize>,
    /// Compute half inputs fully in f32.
    pub precise: bool,
}

impl Primitive for Softmax {
    fn name(&self) -> String {
        "Softmax".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = softmax::softmax(
            &d,
            x.shape(),
            &self.axes,
            x.dtype(),
            outputs[0].dtype(),
            self.precise,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    /// `s * c - s * sum(s * c)` over the axes, with `s` the softmax output.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let s = &outputs[0];
        let c = &cotangents[0];
        let t = s.dtype();
        if self.axes.len() == 1
            && self.axes[0] + 1 == s.ndim()
            && c.dtype() == t
            && primals[0].dtype() == t
            && c.shape() == s.shape()
            && t.is_floating()
        {
            return Ok(vec![softmax_vjp(s, c)]);
        }
        let sc = ops::multiply(s, c)?;
        let tot = ops::sum(&sc, Some(&isize_axes(&self.axes)), true)?;
        let g = ops::subtract(&sc, &ops::multiply(s, &tot)?)?;
        Ok(vec![ops::astype(&g, primals[0].dtype())?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let x = &primals[0];
        let axes = isize_axes(&self.axes);
        let s = ops::softmax(x, Some(&axes), self.precise)?;
        let st = ops::multiply(&s, &tangents[0])?;
        let tot = ops::sum(&st, Some(&axes), true)?;
        Ok(vec![ops::subtract(&st, &ops::multiply(&s, &tot)?)?])
    }
    /// The axes shift past the batch axis; the output dtype stays the unbatched one
    /// (over the last axis alone: at least float32).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, b) = batched(&inputs[0], axes[0])?;
        let last_only = self.axes.len() == 1 && self.axes[0] + 2 == x.ndim();
        let dtype = if last_only {
            ops::at_least_float(x.dtype())
        } else {
            x.dtype()
        };
        let out = Array::new_node(
            x.shape().to_vec(),
            dtype,
            Arc::new(Softmax {
                axes: shift_axes(&self.axes, b),
                precise: self.precise,
            }),
            vec![x],
            ops::stream(),
        );
        Ok((vec![out], vec![Some(b)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::softmax::softmax_gpu(self, &self.axes, self.precise, inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `log(sum(exp(x)))` over `axes` (sorted, distinct), stabilised by the maximum (an
/// infinite maximum is replaced by 0, as MLX); the output keeps the reduced axes with
/// size 1.
#[derive(Debug, Clone, PartialEq)]
pub struct LogSumExp {
    /// The reduced axes, sorted ascending.
    pub axes: Vec<usize>,
}

impl Primitive for LogSumExp {
    fn name(&self) -> String {
        "LogSumExp".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = softmax::logsumexp(&d, x.shape(), &self.axes, x.dtype(), outputs[0].dtype())?;
        outputs[0].set_data(out);
        Ok(())
    }
    /// `c * softmax(x)` over the axes (so an infinite input makes every element of its
    /// group NaN, as MLX).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let w = ops::softmax(x, Some(&isize_axes(&self.axes)), true)?;
        let g = ops::multiply(&cotangents[0], &w)?;
        Ok(vec![ops::astype(&g, x.dtype())?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let axes = isize_axes(&self.axes);
        let w = ops::softmax(&primals[0], Some(&axes), true)?;
        Ok(vec![ops::sum(
            &ops::multiply(&tangents[0], &w)?,
            Some(&axes),
            true,
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, b) = batched(&inputs[0], axes[0])?;
        let new_axes = shift_axes(&self.axes, b);
        let mut shape = x.shape().to_vec();
        for &a in &new_axes {
            shape[a] = 1;
        }
        let out = Array::new_node(
            shape,
            ops::at_least_float(x.dtype()),
            Arc::new(LogSumExp { axes: new_axes }),
            vec![x],
            ops::stream(),
        );
        Ok((vec![out], vec![Some(b)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::softmax::logsumexp_gpu(self, &self.axes, inputs, outputs)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::kept_axes_shape(inputs, &self.axes)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `s*c - s*sum(s*c)` over the last axis as composed ops (the definition [`SoftmaxVjp`]
/// fuses; its derivatives go through it).
fn softmax_vjp_composed(s: &Array, c: &Array) -> Result<Array> {
    let sc = ops::multiply(s, c)?;
    let tot = ops::sum(&sc, Some(&[-1]), true)?;
    ops::subtract(&sc, &ops::multiply(s, &tot)?)
}

/// The fused softmax VJP node over the last axis of `s` (a softmax output) and `c` (its
/// cotangent), of the same shape and floating dtype.
fn softmax_vjp(s: &Array, c: &Array) -> Array {
    Array::new_node(
        s.shape().to_vec(),
        s.dtype(),
        Arc::new(SoftmaxVjp),
        vec![s.clone(), c.clone()],
        ops::stream(),
    )
}

/// Softmax's vector-Jacobian product over the last axis, fused: `s*c - s*sum(s*c)` per
/// row, with `s` the softmax output and `c` the cotangent (same shape, one floating
/// dtype), computed in f32 (f64 for f64) and rounded to half dtypes after each step as
/// the composed ops are. One kernel instead of four in training's backward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftmaxVjp;

impl Primitive for SoftmaxVjp {
    fn name(&self) -> String {
        "SoftmaxVjp".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let s = crate::backend::cpu::copy::contiguous_data(&inputs[0])?;
        let c = crate::backend::cpu::copy::contiguous_data(&inputs[1])?;
        let out = softmax::softmax_vjp(&s, &c, inputs[0].shape(), inputs[0].dtype())?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::softmax::softmax_vjp_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (_, g) = crate::transforms::vjp(
            |x| Ok(vec![softmax_vjp_composed(&x[0], &x[1])?]),
            primals,
            cotangents,
        )?;
        Ok(argnums.iter().map(|&i| g[i].clone()).collect())
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        // Tangents of the inputs not in `argnums` are zero.
        let mut full: Vec<Array> = primals
            .iter()
            .map(ops::zeros_like)
            .collect::<Result<_>>()?;
        for (k, &i) in argnums.iter().enumerate() {
            full[i] = tangents[k].clone();
        }
        let (_, t) = crate::transforms::jvp(
            |x| Ok(vec![softmax_vjp_composed(&x[0], &x[1])?]),
            primals,
            &full,
        )?;
        Ok(t)
    }
    /// Batch axes move to the front (an unbatched input is broadcast); the last axis stays
    /// last.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n = inputs
            .iter()
            .zip(axes)
            .find_map(|(x, a)| a.map(|a| x.shape()[a]))
            .unwrap_or(1);
        let front = |x: &Array, a: Option<usize>| -> Result<Array> {
            match a {
                Some(a) => ops::moveaxis(x, a as isize, 0),
                None => {
                    let mut shape = vec![n];
                    shape.extend_from_slice(x.shape());
                    ops::broadcast_to(&ops::expand_dims(x, &[0])?, &shape)
                }
            }
        };
        let s = front(&inputs[0], axes[0])?;
        let c = front(&inputs[1], axes[1])?;
        Ok((vec![softmax_vjp(&s, &c)], vec![Some(0)]))
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
