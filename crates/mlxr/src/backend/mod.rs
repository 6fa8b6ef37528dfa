//! Backends: the kernels behind the primitives. `cpu` runs on host memory; a `cuda`
//! backend mirrors it file by file.

pub mod cpu;
