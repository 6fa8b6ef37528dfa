//! Primitive types, one file per family. Each type implements [`crate::Primitive`]: its
//! CPU (and GPU) evaluation dispatches to `backend/<device>/<same file name>`, and its
//! transformation rules sit beside it.

pub mod binary;
pub mod cast;
pub mod creation;
pub mod fft;
pub mod fp8;
pub mod indexing;
pub mod linalg;
pub mod matmul;
pub mod optim;
pub mod quantized;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod slicing;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;

/// Every name a primitive's `Primitive::name` can return (each family file lists its own
/// in `NAMES`). The transformation tests walk this list and fail if a primitive lacks a
/// checked vjp, jvp or vmap rule.
pub fn all_names() -> Vec<&'static str> {
    [
        binary::NAMES,
        cast::NAMES,
        creation::NAMES,
        fft::NAMES,
        fp8::NAMES,
        indexing::NAMES,
        linalg::NAMES,
        matmul::NAMES,
        optim::NAMES,
        quantized::NAMES,
        random::NAMES,
        reduce::NAMES,
        scan::NAMES,
        shape::NAMES,
        slicing::NAMES,
        softmax::NAMES,
        sort::NAMES,
        ternary::NAMES,
        unary::NAMES,
    ]
    .concat()
}
