//! `ToFP8` / `FromFP8`: conversions between the real floating types and fp8 E4M3 bits
//! stored as uint8 (MLX's `to_fp8` / `from_fp8`). Kernels in `backend/cpu/fp8.rs`; on the
//! GPU they run through `cpu_fallback`. Elementwise, so vmap keeps the batch axis; as in
//! MLX they have no vjp / jvp (the uint8 side carries no derivative).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["ToFP8", "FromFP8"];

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

/// Round a float16 / bfloat16 / float32 / float64 array to E4M3 bits (uint8): ties to
/// even, saturating at ±448 (infinities and NaN included, by their sign).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToFp8;

/// Decode E4M3 bits (uint8) to `dtype` (exact; `0x7F` / `0xFF` are NaN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromFp8 {
    /// The output dtype (a real floating type).
    pub dtype: Dtype,
}

macro_rules! fp8_common {
    ($name:literal) => {
        fn name(&self) -> String {
            $name.into()
        }
        #[cfg(feature = "cuda")]
        fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
            crate::backend::cuda::cpu_fallback(self, inputs, outputs)
        }
        fn vjp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
            Err(Error::Unsupported(
                concat!("[", $name, "] has no vjp (as in MLX)").into(),
            ))
        }
        fn jvp(&self, _: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
            Err(Error::Unsupported(
                concat!("[", $name, "] has no jvp (as in MLX)").into(),
            ))
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
    };
}

impl Primitive for ToFp8 {
    fp8_common!("ToFP8");
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(crate::backend::cpu::fp8::to_fp8(&inputs[0])?);
        Ok(())
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![ops::to_fp8(&inputs[0])?], vec![axes[0]]))
    }
}

impl Primitive for FromFp8 {
    fp8_common!("FromFP8");
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(crate::backend::cpu::fp8::from_fp8(&inputs[0], self.dtype)?);
        Ok(())
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![ops::from_fp8(&inputs[0], self.dtype)?], vec![axes[0]]))
    }
}
