//! Primitive types, one file per family. Each type implements [`crate::Primitive`]: its
//! CPU (and GPU) evaluation dispatches to `backend/<device>/<same file name>`, and its
//! transformation rules sit beside it.

pub mod cast;
pub mod indexing;
pub mod random;
pub mod scan;
pub mod shape;
pub mod sort;
pub mod unary;
pub mod binary;
pub mod ternary;
pub mod reduce;
pub mod softmax;
