//! The `Primitive` trait: one type per primitive (or per family), holding in one place
//! its evaluation on each device and its transformation rules (vjp, jvp, vmap).

use crate::array::Array;
use crate::error::{Error, Result};
use crate::export::serial::ExportState;
use std::any::Any;
use std::fmt::Debug;

/// A graph operation. Implementors live in `primitives/`, one file per family, with their
/// kernels in `backend/cpu/` (and `backend/cuda/`) under the same file name.
///
/// Every primitive also says how it is saved by `export_function` ([`ExportState`], a
/// supertrait: see `export/primitives.rs`), so a new primitive without it does not compile.
pub trait Primitive: Send + Sync + Debug + Any + ExportState {
    /// The primitive's name, for errors and graph printing (`"Add"`, `"Sum"`, ...).
    fn name(&self) -> String;

    /// Compute the outputs on the CPU. `inputs` are evaluated; each of `outputs` must get
    /// its data through [`Array::set_data`].
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()>;

    /// Compute the outputs on the GPU.
    fn eval_gpu(&self, _inputs: &[Array], _outputs: &[Array]) -> Result<()> {
        Err(Error::Unsupported(format!(
            "{} has no GPU implementation in this build",
            self.name()
        )))
    }

    /// Vector-Jacobian product: the cotangents of the inputs listed in `argnums`, given the
    /// cotangents of every output.
    fn vjp(
        &self,
        _primals: &[Array],
        _cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        Err(Error::Unsupported(format!(
            "{} has no vjp rule",
            self.name()
        )))
    }

    /// Jacobian-vector product: the tangents of every output, given the tangents of the
    /// inputs listed in `argnums`.
    fn jvp(
        &self,
        _primals: &[Array],
        _tangents: &[Array],
        _argnums: &[usize],
    ) -> Result<Vec<Array>> {
        Err(Error::Unsupported(format!(
            "{} has no jvp rule",
            self.name()
        )))
    }

    /// Vectorise over the given input axes: returns the outputs and the axis of each output
    /// that carries the vectorised dimension.
    fn vmap(
        &self,
        _inputs: &[Array],
        _axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Err(Error::Unsupported(format!(
            "{} has no vmap rule",
            self.name()
        )))
    }

    /// Whether derivatives flow to input `input` (false for inputs that only order or feed
    /// the evaluation, like the outputs a custom function wraps): the vjp engine neither asks
    /// for nor propagates cotangents through such inputs, and the jvp engine ignores their
    /// tangents.
    fn differentiable_input(&self, _input: usize) -> bool {
        true
    }

    /// The output shapes for `inputs` of other shapes than the node was built with, when
    /// the primitive's parameters do not fix them (elementwise ops, reductions over given
    /// axes, matmul ...). `compile(..).shapeless(true)` replays a traced graph on new
    /// shapes through this; `None` (the default) makes it trace the function again.
    fn output_shapes(&self, _inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        None
    }

    /// Whether `other` is the same operation with the same parameters (for common
    /// subexpression elimination in `compile`).
    fn is_equivalent(&self, _other: &dyn Primitive) -> bool {
        false
    }

    /// Upcast for `is_equivalent` implementations.
    fn as_any(&self) -> &dyn Any;
}

/// `n` outputs of the common shape of `inputs` (None when the inputs' shapes differ): the
/// [`Primitive::output_shapes`] of elementwise primitives, whose inputs are broadcast
/// before the node is built.
pub fn same_shapes(inputs: &[Array], n: usize) -> Option<Vec<Vec<usize>>> {
    let s = inputs.first()?.shape();
    inputs
        .iter()
        .all(|x| x.shape() == s)
        .then(|| vec![s.to_vec(); n])
}

/// The shape of one input with `axes` kept as size 1 (reductions), None when an axis is
/// out of range.
pub fn kept_axes_shape(inputs: &[Array], axes: &[usize]) -> Option<Vec<Vec<usize>>> {
    let mut s = inputs.first()?.shape().to_vec();
    for &a in axes {
        *s.get_mut(a)? = 1;
    }
    Some(vec![s])
}
