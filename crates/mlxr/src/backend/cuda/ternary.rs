//! Ternary elementwise ops on the GPU, the twin of backend/cpu/ternary.rs: `Select`
//! (`where(cond, x, y)`) with the `mlxr::Select` functor of `kernels/binary.cu`, run by
//! the generic ternary launcher of `elementwise.rs`, for every dtype.

use super::elementwise::{self, Quad, TernaryOp};
use super::kernels::{Group, BINARY};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;

fn select_tuples() -> Vec<Quad> {
    Dtype::ALL.iter().map(|&d| (Dtype::Bool, d, d, d)).collect()
}

/// `cond ? a : b` for every dtype (all compiled together).
pub static SELECT: TernaryOp = TernaryOp {
    program: &BINARY,
    functor: "mlxr::Select",
    tuples: select_tuples,
    group: |_, _, _, _| select_tuples(),
};

/// The compile groups of the ternary ops.
pub fn kernel_groups() -> Vec<Group> {
    SELECT.groups()
}

/// Evaluate `Select` on the GPU of its output's stream.
pub fn select_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = super::resolve(outputs[0].stream())?;
    let d = elementwise::ternary(
        g,
        st,
        &SELECT,
        &inputs[0],
        &inputs[1],
        &inputs[2],
        outputs[0].dtype(),
    )?;
    outputs[0].set_data(d);
    Ok(())
}
