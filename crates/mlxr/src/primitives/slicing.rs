//! Slicing primitives, both views sharing the input's storage: `Slice` (a strided
//! sub-array, negative steps giving negative strides) and `AsStrided` (arbitrary shape,
//! strides and offset over the input's row-contiguous elements).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use super::shape::equivalent_by_eq;
use crate::array::{Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

/// Elements `start[i], start[i] + strides[i], ...` (stopping before `stop[i]`) of every
/// axis, with indices already normalised (the output shape holds the counts).
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// First index taken, per axis.
    pub start: Vec<isize>,
    /// Index the slice stops before, per axis (normalised like Python's `slice.indices`).
    pub stop: Vec<isize>,
    /// Step per axis (non-zero, may be negative).
    pub strides: Vec<isize>,
}

impl Primitive for Slice {
    fn name(&self) -> String {
        "Slice".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    equivalent_by_eq!();
}

impl Slice {
    /// The strided view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let out = &outputs[0];
        let strides: Vec<isize> = d
            .strides
            .iter()
            .zip(&self.strides)
            .map(|(&s, &k)| s * k)
            .collect();
        let mut offset = d.offset;
        if out.size() > 0 {
            let start: isize = d
                .strides
                .iter()
                .zip(&self.start)
                .map(|(&s, &i)| s * i)
                .sum();
            offset = (d.offset as isize + start) as usize;
        }
        out.set_data(Data::with_layout(
            d.storage.clone(),
            out.shape(),
            strides,
            offset,
            None,
        ));
        Ok(())
    }
}

/// A view with explicit shape, strides and offset (in elements) over the input's elements
/// in row-major order (the op checks that every element viewed lies inside the input).
#[derive(Debug, Clone, PartialEq)]
pub struct AsStrided {
    /// The output shape.
    pub shape: Vec<usize>,
    /// The output strides, in elements.
    pub strides: Vec<isize>,
    /// The offset of the first element, in elements.
    pub offset: usize,
}

impl Primitive for AsStrided {
    fn name(&self) -> String {
        "AsStrided".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let mut d = x.data()?;
        if !d.flags.row_contiguous {
            d = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
        }
        self.set_view(d, outputs);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let mut d = x.data()?;
        if !d.flags.row_contiguous {
            let (g, st) = cuda::resolve(outputs[0].stream())?;
            d = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        }
        self.set_view(d, outputs);
        Ok(())
    }
    equivalent_by_eq!();
}

impl AsStrided {
    /// Set the output to the view over the row-contiguous `d` (metadata only).
    fn set_view(&self, d: Data, outputs: &[Array]) {
        let offset = if outputs[0].size() > 0 {
            d.offset + self.offset
        } else {
            d.offset
        };
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            &self.shape,
            self.strides.clone(),
            offset,
            None,
        ));
    }
}
