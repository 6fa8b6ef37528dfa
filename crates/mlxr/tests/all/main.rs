//! The integration test suite, one binary with a module per op family. Reference values
//! come from NumPy (run through `common::numpy`) or MLX, never from mlxr itself.

mod common;
mod gradcheck;

mod binary;
mod composite;
mod core;
mod creation;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
mod cuda_nvrtc;
#[cfg(feature = "cuda")]
mod cuda_ops;
mod einsum;
mod io;
mod matmul;
mod reduce;
mod shape;
mod slicing;
mod ternary;
mod unary;
mod indexing;
mod random;
mod scan;
mod sort;
mod rules_elementwise;
mod rules_structural;
mod transforms;
mod transforms_walk;
mod advanced_indexing;
