//! Matrix-product primitives: `Matmul` (batched `a @ b`) and `AddMM`
//! (`alpha * (a @ b) + beta * c`). Their kernels live in `backend/cpu/matmul.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Matmul", "AddMM"];

use super::binary::{batch_size, batch_to_front, sum_terms, tangent_of};
use crate::array::Array;
use crate::backend::cpu::matmul::matmul as cpu_matmul;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// The matrix transpose (last two axes) of `x`, conjugated when complex (the adjoint used
/// in complex vjps, as for `multiply`).
fn adjoint(x: &Array) -> Result<Array> {
    let t = ops::swapaxes(x, -1, -2)?;
    if x.dtype().is_complex() {
        ops::conj(&t)
    } else {
        Ok(t)
    }
}

/// `c @ adjoint(b)` and `adjoint(a) @ c`: the cotangents of the factors of `a @ b`.
fn product_vjp(a: &Array, b: &Array, c: &Array, i: usize) -> Result<Array> {
    if i == 0 {
        ops::matmul(c, &adjoint(b)?)
    } else {
        ops::matmul(&adjoint(a)?, c)
    }
}

/// `ta @ b + a @ tb` for the tangents present.
fn product_jvp(
    a: &Array,
    b: &Array,
    ta: Option<&Array>,
    tb: Option<&Array>,
) -> Result<Option<Array>> {
    let terms = vec![
        ta.map(|t| ops::matmul(t, b)).transpose()?,
        tb.map(|t| ops::matmul(a, t)).transpose()?,
    ];
    if terms.iter().all(|t| t.is_none()) {
        return Ok(None);
    }
    let like = terms.iter().flatten().next().expect("one term").clone();
    Ok(Some(sum_terms(terms, &like)?))
}

/// Inputs with their batch moved to axis 0 (unbatched ones broadcast along it), and the
/// output shape `[b] + out_shape` of the batched product of `a` (`batch + [m, k]`) and `b`
/// (`batch + [k, n]`), given as the last two inputs.
fn batched_inputs(
    inputs: &[Array],
    axes: &[Option<usize>],
    op: &str,
) -> Result<(Vec<Array>, Vec<usize>)> {
    let b = batch_size(inputs, axes, op)?;
    let ins = inputs
        .iter()
        .zip(axes)
        .map(|(x, a)| batch_to_front(x, *a, b))
        .collect::<Result<Vec<_>>>()?;
    let n = ins.len();
    let mut shape = ins[n - 2].shape().to_vec();
    let last = shape.len() - 1;
    shape[last] = *ins[n - 1].shape().last().expect("matrix");
    Ok((ins, shape))
}

/// Batched matrix product. Inputs `a` of shape `batch + [m, k]` and `b` of shape
/// `batch + [k, n]` (same batch shape, broadcast views allowed, same floating dtype);
/// output `batch + [m, n]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Matmul;

impl Primitive for Matmul {
    fn name(&self) -> String {
        "Matmul".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let out = &outputs[0];
        let k = a.shape()[a.ndim() - 1];
        let d = cpu_matmul(
            &a.data()?,
            &b.data()?,
            None,
            out.shape(),
            k,
            out.dtype(),
            1.0,
            0.0,
        )?;
        out.set_data(d);
        Ok(())
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| product_vjp(&primals[0], &primals[1], &cotangents[0], i))
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let (a, b) = (&primals[0], &primals[1]);
        let t = product_jvp(
            a,
            b,
            tangent_of(0, tangents, argnums),
            tangent_of(1, tangents, argnums),
        )?;
        Ok(vec![t.map_or_else(
            || ops::matmul(&ops::zeros_like(a)?, b),
            Ok,
        )?])
    }
    /// Batch axes move to 0 (an unbatched operand is broadcast along it, as a view).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (ins, shape) = batched_inputs(inputs, axes, "Matmul")?;
        let dt = ins[0].dtype();
        let out = Array::new_node(shape, dt, Arc::new(Matmul), ins, ops::stream());
        Ok((vec![out], vec![Some(0)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::matmul::matmul_gpu(self, inputs, outputs, None)
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        let (a, b) = (inputs[0].shape(), inputs[1].shape());
        let (na, nb) = (a.len(), b.len());
        if na < 2 || na != nb || a[..na - 2] != b[..nb - 2] || a[na - 1] != b[nb - 2] {
            return None;
        }
        let mut s = a.to_vec();
        s[na - 1] = b[nb - 1];
        Some(vec![s])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `alpha * (a @ b) + beta * c`. Inputs `c` (already of the output's shape, a broadcast
/// view allowed), `a`, `b` as for [`Matmul`], all of the output's dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct AddMM {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `c`.
    pub beta: f32,
}

impl Primitive for AddMM {
    fn name(&self) -> String {
        "AddMM".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (c, a, b) = (&inputs[0], &inputs[1], &inputs[2]);
        let out = &outputs[0];
        let k = a.shape()[a.ndim() - 1];
        let d = cpu_matmul(
            &a.data()?,
            &b.data()?,
            Some(&c.data()?),
            out.shape(),
            k,
            out.dtype(),
            self.alpha,
            self.beta,
        )?;
        out.set_data(d);
        Ok(())
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let c = &cotangents[0];
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    ops::multiply(c, self.beta)
                } else {
                    ops::multiply(
                        &product_vjp(&primals[1], &primals[2], c, i - 1)?,
                        self.alpha,
                    )
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let (a, b) = (&primals[1], &primals[2]);
        let prod = product_jvp(
            a,
            b,
            tangent_of(1, tangents, argnums),
            tangent_of(2, tangents, argnums),
        )?;
        let terms = vec![
            prod.map(|p| ops::multiply(&p, self.alpha)).transpose()?,
            tangent_of(0, tangents, argnums)
                .map(|t| ops::multiply(t, self.beta))
                .transpose()?,
        ];
        Ok(vec![sum_terms(terms, &primals[0])?])
    }
    /// Batch axes move to 0 (unbatched operands are broadcast along it, as views).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (ins, shape) = batched_inputs(inputs, axes, "AddMM")?;
        let dt = ins[0].dtype();
        let out = Array::new_node(shape, dt, Arc::new(self.clone()), ins, ops::stream());
        Ok((vec![out], vec![Some(0)]))
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::matmul::matmul_gpu(
            self,
            inputs,
            outputs,
            Some((self.alpha, self.beta)),
        )
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
