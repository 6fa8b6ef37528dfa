//! The integration test suite, one binary with a module per op family. Reference values
//! come from NumPy (run through `common::numpy`) or MLX, never from mlxr itself.

mod common;

mod core;
mod indexing;
mod random;
mod scan;
mod sort;
mod unary;
mod binary;
mod ternary;
mod reduce;
