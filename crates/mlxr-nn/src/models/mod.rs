//! Complete models built from the layers, shared by the examples and the benchmarks.

pub mod lm;

pub use lm::{Lm, LmBlock, LmConfig};
