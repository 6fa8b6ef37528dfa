//! Fused softmax-family primitives: `Softmax` and `LogSumExp`, over any set of axes.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::softmax;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::softmax::softmax_gpu(self, &self.axes, self.precise, inputs, outputs)
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::softmax::logsumexp_gpu(self, &self.axes, inputs, outputs)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
