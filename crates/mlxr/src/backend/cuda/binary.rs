//! Binary elementwise ops on the GPU, the twin of backend/cpu/binary.rs: one functor of
//! `kernels/binary.cu` per [`BinaryOp`] (Python-style integer division and remainder,
//! wrapping integer power, shifts that never trap, comparisons to bool, logaddexp,
//! arctan2, complex64 as the CPU), run by the generic binary launcher of
//! `elementwise.rs`. Every dtype [`BinaryOp::output_dtype`] accepts has a kernel; all
//! dtypes of one op compile into one module.

use super::elementwise::{self, BinaryOp as Kernel, Triple};
use super::kernels::{Group, BINARY};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitives::binary::BinaryOp;

/// The (a, b, out) dtype triples of `op`: both inputs of one accepted dtype.
fn triples_of(op: BinaryOp) -> Vec<Triple> {
    Dtype::ALL
        .iter()
        .filter_map(|&d| op.output_dtype(d).ok().map(|o| (d, d, o)))
        .collect()
}

macro_rules! kernels {
    ($($name:ident => $op:ident;)*) => {
        $(
            #[allow(non_upper_case_globals)]
            static $name: Kernel = Kernel {
                program: &BINARY,
                functor: concat!("mlxr::", stringify!($op)),
                triples: || triples_of(BinaryOp::$op),
                group: |_, _, _| triples_of(BinaryOp::$op),
            };
        )*
        /// The kernel of `op`.
        pub fn kernel(op: BinaryOp) -> &'static Kernel {
            match op {
                $(BinaryOp::$op => &$name,)*
            }
        }
        /// Every op kernel.
        fn all_kernels() -> Vec<&'static Kernel> {
            vec![$(&$name),*]
        }
    };
}

kernels! {
    K_ADD => Add;
    K_SUBTRACT => Subtract;
    K_MULTIPLY => Multiply;
    K_DIVIDE => Divide;
    K_FLOOR_DIVIDE => FloorDivide;
    K_REMAINDER => Remainder;
    K_POWER => Power;
    K_MAXIMUM => Maximum;
    K_MINIMUM => Minimum;
    K_ARCTAN2 => ArcTan2;
    K_LOGADDEXP => LogAddExp;
    K_EQUAL => Equal;
    K_NOT_EQUAL => NotEqual;
    K_LESS => Less;
    K_LESS_EQUAL => LessEqual;
    K_GREATER => Greater;
    K_GREATER_EQUAL => GreaterEqual;
    K_LOGICAL_AND => LogicalAnd;
    K_LOGICAL_OR => LogicalOr;
    K_LOGICAL_XOR => LogicalXor;
    K_BITWISE_AND => BitwiseAnd;
    K_BITWISE_OR => BitwiseOr;
    K_BITWISE_XOR => BitwiseXor;
    K_LEFT_SHIFT => LeftShift;
    K_RIGHT_SHIFT => RightShift;
}

/// The compile groups of every binary op.
pub fn kernel_groups() -> Vec<Group> {
    all_kernels().into_iter().flat_map(|k| k.groups()).collect()
}

/// Evaluate the `Binary` primitive (op `op`) on the GPU of its output's stream.
pub fn binary_gpu(op: BinaryOp, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = super::resolve(outputs[0].stream())?;
    let d = elementwise::binary(
        g,
        st,
        kernel(op),
        &inputs[0],
        &inputs[1],
        outputs[0].dtype(),
    )?;
    outputs[0].set_data(d);
    Ok(())
}

/// Evaluate `DivMod` on the GPU: the floor quotient and the remainder.
pub fn divmod_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = super::resolve(outputs[0].stream())?;
    let (a, b) = (&inputs[0], &inputs[1]);
    // Extra handles keep the first pass from donating an input the second pass reads.
    let (_keep_a, _keep_b) = (a.clone(), b.clone());
    let q = elementwise::binary(
        g,
        st,
        kernel(BinaryOp::FloorDivide),
        a,
        b,
        outputs[0].dtype(),
    )?;
    let r = elementwise::binary(g, st, kernel(BinaryOp::Remainder), a, b, outputs[1].dtype())?;
    outputs[0].set_data(q);
    outputs[1].set_data(r);
    Ok(())
}
