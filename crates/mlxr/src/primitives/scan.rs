//! Scan primitives: `Scan` (cumulative sum / product / max / min / logaddexp along one
//! axis) and `Convolve` (1-D full convolution, the kernel behind `convolve`). Kernels
//! live in `backend/cpu/scan.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::scan as k;
pub use crate::backend::cpu::scan::ScanOp;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

/// A scan along `axis` (MLX's `Scan`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The accumulation.
    pub op: ScanOp,
    /// The scanned axis.
    pub axis: usize,
    /// Scan from the end.
    pub reverse: bool,
    /// Include the current element.
    pub inclusive: bool,
}

impl Primitive for Scan {
    fn name(&self) -> String {
        match self.op {
            ScanOp::Sum => "CumSum",
            ScanOp::Prod => "CumProd",
            ScanOp::Max => "CumMax",
            ScanOp::Min => "CumMin",
            ScanOp::LogAddExp => "CumLogaddexp",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::scan(&inputs[0], self.op, self.axis, self.reverse, self.inclusive)?;
        outputs[0].set_data(out);
        Ok(())
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Full 1-D convolution of two floating 1-D arrays of one dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Convolve;

impl Primitive for Convolve {
    fn name(&self) -> String {
        "Convolve".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::convolve_full(&inputs[0], &inputs[1])?);
        Ok(())
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
