//! Array-creation primitives: `Full` (one value, or a broadcast array, written out),
//! `Arange`, `Linspace`, `Eye` and `Tri`. Their kernels live in `backend/cpu/creation.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Full", "Arange", "Linspace", "Eye", "Tri"];

use super::shape::{equivalent_by_eq, node};
use crate::array::Array;
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::backend::cpu::creation as kernels;
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use std::any::Any;

/// Rules of a primitive without inputs: nothing depends on a transformed value, so the
/// transformations never reach it; it has no cotangents to give, and no tangent or
/// batched form to build.
macro_rules! no_input_rules {
    () => {
        fn vjp(
            &self,
            _: &[Array],
            _: &[Array],
            argnums: &[usize],
            _: &[Array],
        ) -> Result<Vec<Array>> {
            debug_assert!(argnums.is_empty());
            Ok(vec![])
        }
        fn jvp(&self, _: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
            Err(Error::Unsupported(format!(
                "[{}::jvp] the primitive has no inputs, so it has no tangent to propagate",
                self.name()
            )))
        }
        fn vmap(
            &self,
            _: &[Array],
            _: &[Option<usize>],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            Err(Error::Unsupported(format!(
                "[{}::vmap] the primitive has no inputs, so it cannot be batched",
                self.name()
            )))
        }
    };
}

/// Write out the input (already broadcast to the output's shape and of its dtype) as a
/// fresh row-contiguous array; a single value is filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Full;

impl Primitive for Full {
    fn name(&self) -> String {
        "Full".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = &outputs[0];
        let single = d
            .strides
            .iter()
            .zip(x.shape())
            .all(|(&s, &n)| s == 0 || n == 1);
        let data = if single && x.size() > 0 {
            kernels::fill(&d, out.shape(), out.dtype())?
        } else {
            copy_to_contiguous(&d, x.shape(), x.dtype(), out.dtype())?
        };
        out.set_data(data);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::creation::full_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangents[0].clone()])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let t = &tangents[0];
        Ok(vec![node(
            t.shape().to_vec(),
            t.dtype(),
            Full,
            vec![t.clone()],
        )])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        Ok((
            vec![node(x.shape().to_vec(), x.dtype(), Full, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    equivalent_by_eq!();
}

/// `start, start + step, ...` up to (not including) `stop`, in the output's dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Arange {
    /// First value.
    pub start: f64,
    /// Bound (not included).
    pub stop: f64,
    /// Step (non-zero).
    pub step: f64,
}

impl Primitive for Arange {
    fn name(&self) -> String {
        "Arange".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = &outputs[0];
        out.set_data(kernels::arange(
            self.start,
            self.step,
            out.size(),
            out.dtype(),
        )?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::creation::arange_gpu(self.start, self.step, outputs)
    }
    no_input_rules!();
    equivalent_by_eq!();
}

/// Evenly spaced values from `start` to `stop` inclusive (count from the output's shape).
#[derive(Debug, Clone, PartialEq)]
pub struct Linspace {
    /// First value.
    pub start: f64,
    /// Last value.
    pub stop: f64,
}

impl Primitive for Linspace {
    fn name(&self) -> String {
        "Linspace".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = &outputs[0];
        out.set_data(kernels::linspace(
            self.start,
            self.stop,
            out.size(),
            out.dtype(),
        )?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::creation::linspace_gpu(self.start, self.stop, outputs)
    }
    no_input_rules!();
    equivalent_by_eq!();
}

/// A 2-D array with ones on diagonal `k` and zeros elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Eye {
    /// Which diagonal: > 0 above the main one, < 0 below.
    pub k: isize,
}

impl Primitive for Eye {
    fn name(&self) -> String {
        "Eye".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = &outputs[0];
        let (n, m) = (out.shape()[0], out.shape()[1]);
        out.set_data(kernels::eye(n, m, self.k, out.dtype())?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::creation::eye_tri_gpu(self.k, false, outputs)
    }
    no_input_rules!();
    equivalent_by_eq!();
}

/// A 2-D array with ones on and below diagonal `k` and zeros above.
#[derive(Debug, Clone, PartialEq)]
pub struct Tri {
    /// The last diagonal of ones: > 0 above the main one, < 0 below.
    pub k: isize,
}

impl Primitive for Tri {
    fn name(&self) -> String {
        "Tri".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = &outputs[0];
        let (n, m) = (out.shape()[0], out.shape()[1]);
        out.set_data(kernels::tri(n, m, self.k, out.dtype())?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::creation::eye_tri_gpu(self.k, true, outputs)
    }
    no_input_rules!();
    equivalent_by_eq!();
}
