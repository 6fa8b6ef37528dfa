//! Matrix-product primitives: `Matmul` (batched `a @ b`) and `AddMM`
//! (`alpha * (a @ b) + beta * c`). Their kernels live in `backend/cpu/matmul.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::matmul::matmul as cpu_matmul;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::matmul::matmul_gpu(self, inputs, outputs, None)
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::matmul::matmul_gpu(self, inputs, outputs, Some((self.alpha, self.beta)))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
