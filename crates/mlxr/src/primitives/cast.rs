//! `AsType`: conversion between dtypes.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["AsType"];

use crate::array::Array;
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

/// Convert elements to another dtype (MLX's `astype` semantics: floats truncate towards
/// zero into integers, complex → real keeps the real part, non-zero → true).
#[derive(Debug, Clone, PartialEq)]
pub struct AsType {
    /// The target dtype.
    pub dtype: Dtype,
}

impl Primitive for AsType {
    fn name(&self) -> String {
        "AsType".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        outputs[0].set_data(copy_to_contiguous(&d, x.shape(), x.dtype(), self.dtype)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        let (g, st) = cuda::resolve(outputs[0].stream())?;
        outputs[0].set_data(cuda::copy::cast(
            g,
            st,
            &d,
            x.shape(),
            x.dtype(),
            self.dtype,
        )?);
        Ok(())
    }
    /// The cotangent converted back to the input's dtype. As MLX, a conversion passes the
    /// gradient straight through, also to and from integer or bool dtypes (so
    /// `grad(|x| x.astype(int32).astype(float32).sum())` is one, as in MLX).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![ops::astype(&cotangents[0], primals[0].dtype())?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::astype(&tangents[0], self.dtype)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![ops::astype(&inputs[0], self.dtype)?], vec![axes[0]]))
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
