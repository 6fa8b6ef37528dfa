//! The CPU backend: kernels on host memory, parallel over cores with rayon for large
//! arrays. `strided` holds the shared N-d iteration machinery; the other files are named
//! after the primitive families they implement.

pub mod copy;
pub mod elementwise;
pub mod indexing;
pub mod random;
pub mod scan;
pub mod sort;
pub mod reduce;
pub mod softmax;
pub mod strided;
pub mod unary;
pub mod binary;
pub mod ternary;

/// Elements below which a kernel runs on one thread.
pub const PAR_THRESHOLD: usize = 1 << 15;
