//! Primitive types, one file per family. Each type implements [`crate::Primitive`]: its
//! CPU (and GPU) evaluation dispatches to `backend/<device>/<same file name>`, and its
//! transformation rules sit beside it.

pub mod binary;
pub mod cast;
pub mod creation;
pub mod matmul;
pub mod reduce;
pub mod shape;
pub mod slicing;
pub mod softmax;
pub mod ternary;
pub mod unary;
