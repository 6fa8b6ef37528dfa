//! Ternary elementwise primitives: `Select` (MLX's primitive behind `where`).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Select"];

use super::binary::{tangent_of, vmap_elementwise};
use crate::array::Array;
use crate::backend::cpu::ternary::select_cpu;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// `where(cond, x, y)`: inputs are a bool condition and two arrays of the output dtype,
/// all of the output's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Select;

impl Primitive for Select {
    fn name(&self) -> String {
        "Select".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(select_cpu(&inputs[0], &inputs[1], &inputs[2])?);
        Ok(())
    }
    /// The cotangent goes to `x` where `cond` holds and to `y` elsewhere; the condition
    /// gets a zero (bool) cotangent.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let cond = &primals[0];
        let c = &cotangents[0];
        argnums
            .iter()
            .map(|&i| match i {
                0 => ops::zeros_like(cond),
                1 => ops::r#where(cond, c, &ops::zeros_like(c)?),
                _ => ops::r#where(cond, &ops::zeros_like(c)?, c),
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let pick = |i: usize| match tangent_of(i, tangents, argnums) {
            Some(t) => ops::astype(t, primals[i].dtype()),
            None => ops::zeros_like(&primals[i]),
        };
        Ok(vec![ops::r#where(&primals[0], &pick(1)?, &pick(2)?)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let dt = inputs[1].dtype();
        vmap_elementwise(Arc::new(self.clone()), inputs, axes, &[dt])
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::ternary::select_gpu(inputs, outputs)
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
