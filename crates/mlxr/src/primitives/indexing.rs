//! Indexing primitives: `Gather` / `Scatter` (several broadcast index arrays, MLX's
//! advanced-indexing machinery), `GatherAxis` / `ScatterAxis` (`take_along_axis`,
//! `put_along_axis`), `SliceUpdate` (static window) and `DynamicSlice` /
//! `DynamicSliceUpdate` (window start read from an array at evaluation time).
//! Kernels live in `backend/cpu/indexing.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::indexing as k;
pub use crate::backend::cpu::indexing::ScatterReduce;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

macro_rules! equivalent_by_eq {
    () => {
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}

/// Gather windows of `slice_sizes` from input 0 at the starts given by inputs 1.. (index
/// arrays of one shape `I`, one per entry of `axes`). Output shape: `I ++ slice_sizes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gather {
    /// The axis each index array indexes.
    pub axes: Vec<usize>,
    /// The window shape (one entry per input axis).
    pub slice_sizes: Vec<usize>,
}

impl Primitive for Gather {
    fn name(&self) -> String {
        "Gather".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::gather(
            &inputs[0],
            &inputs[1..],
            &self.axes,
            &self.slice_sizes,
            outputs[0].shape(),
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// `take_along_axis`: inputs `[a, indices]`, `a` broadcast to the output's shape on every
/// axis but `axis`; output shape = indices' shape.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherAxis {
    /// The indexed axis.
    pub axis: usize,
}

impl Primitive for GatherAxis {
    fn name(&self) -> String {
        "GatherAxis".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::gather_axis(&inputs[0], &inputs[1], self.axis)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Scatter: inputs `[a, idx_0, .., idx_{k-1}, updates]`; `updates` has shape
/// `I ++ window` with one window entry per axis of `a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    /// How updates combine with the values in place.
    pub reduce: ScatterReduce,
    /// The axis each index array indexes.
    pub axes: Vec<usize>,
}

impl Primitive for Scatter {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::None => "Scatter",
            ScatterReduce::Sum => "Scatter Sum",
            ScatterReduce::Prod => "Scatter Prod",
            ScatterReduce::Max => "Scatter Max",
            ScatterReduce::Min => "Scatter Min",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let n = inputs.len();
        let out = k::scatter(
            &inputs[0],
            &inputs[1..n - 1],
            &inputs[n - 1],
            &self.axes,
            self.reduce,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// `put_along_axis` (reduce `None`) and `scatter_add_axis` (reduce `Sum`): inputs
/// `[a, indices, values]`, all of one shape except along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterAxis {
    /// `None` or `Sum`.
    pub reduce: ScatterReduce,
    /// The indexed axis.
    pub axis: usize,
}

impl Primitive for ScatterAxis {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::Sum => "ScatterAxis Sum",
            _ => "ScatterAxis",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::scatter_axis(&inputs[0], &inputs[1], &inputs[2], self.axis, self.reduce)?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// A copy of input 0 with the window `start..stop` (steps `strides`) combined with input
/// 1 (already broadcast to the window's shape).
#[derive(Debug, Clone, PartialEq)]
pub struct SliceUpdate {
    /// How the update combines with the values in place.
    pub reduce: ScatterReduce,
    /// First index per axis (normalised).
    pub start: Vec<usize>,
    /// Step per axis (may be negative).
    pub strides: Vec<isize>,
}

impl Primitive for SliceUpdate {
    fn name(&self) -> String {
        match self.reduce {
            ScatterReduce::None => "SliceUpdate",
            ScatterReduce::Sum => "SliceUpdate Sum",
            ScatterReduce::Prod => "SliceUpdate Prod",
            ScatterReduce::Max => "SliceUpdate Max",
            ScatterReduce::Min => "SliceUpdate Min",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let a = &inputs[0];
        let out = k::copy_or_donate(a)?;
        k::update_window(
            &out,
            a.shape(),
            a.dtype(),
            &inputs[1],
            &self.start,
            &self.strides,
            self.reduce,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Window starts for `DynamicSlice` / `DynamicSliceUpdate`: one integer per entry of
/// `axes` (others start at 0), wrapped if negative and clamped so the window fits.
fn dynamic_starts(a: &Array, start: &Array, axes: &[usize], size: &[usize]) -> Result<Vec<usize>> {
    let sv = k::start_values(start)?;
    let mut st = vec![0usize; a.ndim()];
    for (j, &ax) in axes.iter().enumerate() {
        st[ax] = k::wrap_clamp(sv[j], a.shape()[ax], size[ax]);
    }
    Ok(st)
}

/// A window of input 0 of shape `slice_size`, starting on `axes` at the positions held
/// by input 1 (an integer array with one entry per axis).
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicSlice {
    /// The axes whose start is given.
    pub axes: Vec<usize>,
    /// The window shape.
    pub slice_size: Vec<usize>,
}

impl Primitive for DynamicSlice {
    fn name(&self) -> String {
        "DynamicSlice".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let st = dynamic_starts(&inputs[0], &inputs[1], &self.axes, &self.slice_size)?;
        outputs[0].set_data(k::copy_window(&inputs[0], &st, &self.slice_size)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// A copy of input 0 with the window of input 1's shape, starting on `axes` at the
/// positions held by input 2, replaced by input 1.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicSliceUpdate {
    /// The axes whose start is given.
    pub axes: Vec<usize>,
}

impl Primitive for DynamicSliceUpdate {
    fn name(&self) -> String {
        "DynamicSliceUpdate".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (a, upd) = (&inputs[0], &inputs[1]);
        let st = dynamic_starts(a, &inputs[2], &self.axes, upd.shape())?;
        let out = k::copy_or_donate(a)?;
        let steps = vec![1isize; a.ndim()];
        k::update_window(&out, a.shape(), a.dtype(), upd, &st, &steps, ScatterReduce::None)?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}
