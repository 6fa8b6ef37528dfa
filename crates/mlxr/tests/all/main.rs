//! The integration test suite, one binary with a module per op family. Reference values
//! come from NumPy (run through `common::numpy`) or MLX, never from mlxr itself.

// Reference values are pasted at the precision MLX/NumPy printed them.
#![allow(clippy::excessive_precision)]

mod common;
mod gradcheck;

mod advanced_indexing;
mod binary;
mod compile;
mod composite;
mod conv;
mod core;
mod creation;
#[cfg(feature = "cuda")]
mod cuda;
#[cfg(feature = "cuda")]
mod cuda_creation;
#[cfg(feature = "cuda")]
mod cuda_indexing;
#[cfg(feature = "cuda")]
mod cuda_nvrtc;
#[cfg(feature = "cuda")]
mod cuda_ops;
#[cfg(feature = "cuda")]
mod cuda_random;
#[cfg(feature = "cuda")]
mod cuda_scan;
#[cfg(feature = "cuda")]
mod cuda_shape;
#[cfg(feature = "cuda")]
mod cuda_sort;
mod distributed;
mod einsum;
mod export;
mod extra_api;
mod fft;
mod fused;
mod indexing;
mod io;
mod linalg;

mod matmul;
mod quantized;
mod quantized_qq;
mod random;
mod reduce;
mod rules_elementwise;
mod rules_structural;
mod scan;
mod shape;
mod slicing;
mod sort;
mod ternary;
mod transforms;
mod transforms_walk;
mod unary;
