//! Ternary elementwise primitives: `Select` (MLX's primitive behind `where`).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::ternary::select_cpu;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::ternary::select_gpu(inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
