//! Fused optimizer primitives: `AdamStep`, one Adam/AdamW update of float32 parameters
//! (new parameters and both moments) in one kernel, built by [`crate::ops::optim`].

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["AdamStep"];

use crate::array::Array;
use crate::backend::cpu::optim::{adam_step, AdamConsts};
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

/// One Adam step: inputs `p, g, m, v` (float32, one shape), the 0-d float32 scalars `a`
/// (learning rate, or `lr / (1 - b1^t)` with bias correction), `c2` (`1/sqrt(1 - b2^t)`,
/// when `bias`) and `decay` (`1 - lr * weight_decay`, when `decay`); outputs
/// `p' = p*decay - (a*m') / (sqrt(v')*c2 + eps)`, `m' = m*b1 + g*(1-b1)`,
/// `v' = v*b2 + g²*(1-b2)`, with the composed ops' arithmetic (same bits).
#[derive(Debug, Clone, PartialEq)]
pub struct AdamStep {
    /// First-moment decay.
    pub b1: f32,
    /// Second-moment decay.
    pub b2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// Whether the `c2` input is present.
    pub bias: bool,
    /// Whether the `decay` input is present.
    pub decay: bool,
}

impl AdamStep {
    /// The update as composed ops over `x = [p, g, m, v, a, c2?, decay?]` (the definition
    /// the kernels fuse; derivatives and vmap go through it).
    pub fn composed(&self, x: &[Array]) -> Result<Vec<Array>> {
        let (p, g, m, v, a) = (&x[0], &x[1], &x[2], &x[3], &x[4]);
        let mut k = 5;
        let c2 = if self.bias {
            k += 1;
            Some(&x[k - 1])
        } else {
            None
        };
        let pd = if self.decay {
            ops::multiply(p, &x[k])?
        } else {
            p.clone()
        };
        let m2 = ops::add(
            &ops::multiply(m, self.b1)?,
            &ops::multiply(g, 1.0 - self.b1)?,
        )?;
        let v2 = ops::add(
            &ops::multiply(v, self.b2)?,
            &ops::multiply(&ops::square(g)?, 1.0 - self.b2)?,
        )?;
        let root = ops::sqrt(&v2)?;
        let den = match c2 {
            Some(c2) => ops::add(&ops::multiply(&root, c2)?, self.eps)?,
            None => ops::add(&root, self.eps)?,
        };
        let p2 = ops::subtract(&pd, &ops::divide(&ops::multiply(a, &m2)?, &den)?)?;
        Ok(vec![p2, m2, v2])
    }
}

/// The value of an evaluated 0-d (or one-element) float32 input.
fn scalar(a: &Array) -> Result<f32> {
    if a.size() != 1 {
        return Err(Error::Shape(format!(
            "AdamStep: the scalar inputs must have one element, got shape {:?}",
            a.shape()
        )));
    }
    Ok(a.data()?.slice::<f32>()[0])
}

impl Primitive for AdamStep {
    fn name(&self) -> String {
        "AdamStep".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        if inputs.iter().any(|a| a.dtype() != crate::Dtype::Float32) {
            return Err(Error::Dtype(
                "AdamStep: every input must be float32".into(),
            ));
        }
        let d = |i: usize| crate::backend::cpu::copy::contiguous_data(&inputs[i]);
        let mut k = 5;
        let mut next = |on: bool| -> Result<Option<f32>> {
            if on {
                k += 1;
                Ok(Some(scalar(&inputs[k - 1])?))
            } else {
                Ok(None)
            }
        };
        let c2 = next(self.bias)?.unwrap_or(1.0);
        let decay = next(self.decay)?;
        let consts = AdamConsts {
            b1: self.b1,
            b2: self.b2,
            eps: self.eps,
            a: scalar(&inputs[4])?,
            c2,
            decay,
        };
        let out = adam_step(&d(0)?, &d(1)?, &d(2)?, &d(3)?, inputs[0].shape(), consts)?;
        for (o, d) in outputs.iter().zip(out) {
            o.set_data(d);
        }
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::optim::adam_step_gpu(
            (self.b1, self.b2, self.eps),
            self.bias,
            self.decay,
            inputs,
            outputs,
        )
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (_, g) = crate::transforms::vjp(|x| self.composed(x), primals, cotangents)?;
        Ok(argnums.iter().map(|&i| g[i].clone()).collect())
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let mut full: Vec<Array> = primals
            .iter()
            .map(ops::zeros_like)
            .collect::<Result<_>>()?;
        for (k, &i) in argnums.iter().enumerate() {
            full[i] = tangents[k].clone();
        }
        let (_, t) = crate::transforms::jvp(|x| self.composed(x), primals, &full)?;
        Ok(t)
    }
    /// Through the composed ops: batch axes move to the front, unbatched inputs broadcast
    /// (a batched scalar becomes a column broadcast over the parameter's axes).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let nd = inputs[0].ndim() - axes[0].is_some() as usize;
        let moved: Vec<Array> = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| match a {
                Some(a) => {
                    let x = ops::moveaxis(x, *a as isize, 0)?;
                    if x.ndim() == 1 && nd > 0 {
                        // A batched scalar: broadcast over the parameter's axes.
                        let mut s = vec![x.shape()[0]];
                        s.extend(std::iter::repeat_n(1, nd));
                        ops::reshape(&x, &s.iter().map(|&d| d as isize).collect::<Vec<_>>())
                    } else {
                        Ok(x)
                    }
                }
                None => Ok(x.clone()),
            })
            .collect::<Result<_>>()?;
        let out = self.composed(&moved)?;
        // An output carries the batch axis (first) when a batched input reaches it.
        let axes = out.iter().map(|o| (o.ndim() > nd).then_some(0)).collect();
        Ok((out, axes))
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        Some(vec![inputs[0].shape().to_vec(); 3])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
