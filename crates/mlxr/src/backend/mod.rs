//! Backends: the kernels behind the primitives. `cpu` runs on host memory; `cuda`
//! (feature `cuda`) mirrors it file by file on NVIDIA GPUs.

pub mod cpu;
#[cfg(feature = "cuda")]
pub mod cuda;
