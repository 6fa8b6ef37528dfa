//! The CPU backend: kernels on host memory, parallel over cores with rayon for large
//! arrays. `strided` holds the shared N-d iteration machinery; the other files are named
//! after the primitive families they implement.

pub mod binary;
pub mod copy;
pub mod creation;
pub mod elementwise;
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
pub mod simd_sort;
pub mod softmax;
pub mod sort;
pub mod strided;
pub mod ternary;
pub mod unary;

/// Elements below which a kernel runs on one thread.
pub const PAR_THRESHOLD: usize = 1 << 15;
