//! Unary elementwise ops on the GPU, the twin of backend/cpu/unary.rs: one functor of
//! `kernels/unary.cu` per [`UnaryOp`], run by the generic unary launcher of
//! `elementwise.rs` (dense inputs keep their layout and may be donated). Every dtype the
//! CPU supports (those [`UnaryOp::output_dtype`] accepts) has a kernel; all dtypes of one
//! op compile into one module. `nan_to_num` (whose values are parameters) runs through
//! the CPU fallback.

use super::elementwise::{self, UnaryOp as Kernel};
use super::kernels::{Group, UNARY};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitives::unary::UnaryOp;

/// The (input, output) dtype pairs of `op`: every dtype the op accepts.
fn pairs_of(op: UnaryOp) -> Vec<(Dtype, Dtype)> {
    Dtype::ALL
        .iter()
        .filter_map(|&d| op.output_dtype(d).ok().map(|o| (d, o)))
        .collect()
}

macro_rules! kernels {
    ($($name:ident => $op:ident;)*) => {
        $(
            #[allow(non_upper_case_globals)]
            static $name: Kernel = Kernel {
                program: &UNARY,
                functor: concat!("mlxr::", stringify!($op)),
                pairs: || pairs_of(UnaryOp::$op),
                group: |_, _| pairs_of(UnaryOp::$op),
            };
        )*
        /// The kernel of `op`, or `None` when it has none (the CPU fallback runs).
        pub fn kernel(op: UnaryOp) -> Option<&'static Kernel> {
            match op {
                $(UnaryOp::$op => Some(&$name),)*
                UnaryOp::NanToNum { .. } => None,
            }
        }
        /// Every op kernel.
        fn all_kernels() -> Vec<&'static Kernel> {
            vec![$(&$name),*]
        }
    };
}

kernels! {
    K_ABS => Abs;
    K_NEGATIVE => Negative;
    K_SIGN => Sign;
    K_EXP => Exp;
    K_EXPM1 => Expm1;
    K_LOG => Log;
    K_LOG1P => Log1p;
    K_LOG2 => Log2;
    K_LOG10 => Log10;
    K_SQRT => Sqrt;
    K_RSQRT => Rsqrt;
    K_SQUARE => Square;
    K_RECIPROCAL => Reciprocal;
    K_SIN => Sin;
    K_COS => Cos;
    K_TAN => Tan;
    K_ARCSIN => ArcSin;
    K_ARCCOS => ArcCos;
    K_ARCTAN => ArcTan;
    K_SINH => Sinh;
    K_COSH => Cosh;
    K_TANH => Tanh;
    K_ARCSINH => ArcSinh;
    K_ARCCOSH => ArcCosh;
    K_ARCTANH => ArcTanh;
    K_SIGMOID => Sigmoid;
    K_ERF => Erf;
    K_ERFINV => ErfInv;
    K_FLOOR => Floor;
    K_CEIL => Ceil;
    K_ROUND => Round;
    K_ISNAN => IsNan;
    K_ISINF => IsInf;
    K_ISPOSINF => IsPosInf;
    K_ISNEGINF => IsNegInf;
    K_ISFINITE => IsFinite;
    K_LOGICAL_NOT => LogicalNot;
    K_BITWISE_INVERT => BitwiseInvert;
    K_DEGREES => Degrees;
    K_RADIANS => Radians;
    K_CONJ => Conj;
    K_REAL => Real;
    K_IMAG => Imag;
}

/// The compile groups of every unary op.
pub fn kernel_groups() -> Vec<Group> {
    all_kernels().into_iter().flat_map(|k| k.groups()).collect()
}

/// Evaluate the `Unary` primitive `p` (op `op`) on the GPU of its output's stream.
pub fn unary_gpu(
    p: &dyn crate::Primitive,
    op: UnaryOp,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let Some(k) = kernel(op) else {
        return super::cpu_fallback(p, inputs, outputs);
    };
    let (g, st) = super::resolve(outputs[0].stream())?;
    let d = elementwise::unary(g, st, k, &inputs[0], outputs[0].dtype())?;
    outputs[0].set_data(d);
    Ok(())
}
