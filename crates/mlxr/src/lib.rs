//! mlxr: MLX's programming model in Rust — lazy arrays, composable function
//! transformations, a NumPy-like API — running on the CPU and (with `--features cuda`) on
//! NVIDIA GPUs.
//!
//! ```
//! use mlxr::{ops, Array};
//! let a = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2]).unwrap();
//! let b = ops::transpose(&a).unwrap();
//! assert_eq!(b.to_vec::<f32>().unwrap(), vec![1.0, 3.0, 2.0, 4.0]);
//! ```

// Kernels rebind captured raw pointers and ops (`let op = op;`) to move them into rayon
// closures, and some float literals are written as published (MLX's constants).
#![allow(clippy::redundant_locals, clippy::excessive_precision)]

pub mod array;
pub mod backend;
pub mod buffer;
pub mod device;
pub mod distributed;
pub mod dtype;
pub mod error;
pub mod eval;
pub mod export;
pub mod graph_dot;
pub mod io;
pub mod memory;
pub mod ops;
pub mod primitive;
pub mod primitives;
pub mod random;
pub mod repr;
pub mod transforms;
pub mod tree;

pub use array::{Array, Data};
pub use device::{
    default_device, default_stream, gpu_count, gpu_is_available, new_stream, set_default_device,
    with_device, with_stream, Device, DeviceType, Stream, StreamOrDevice,
};
pub use dtype::{promote_types, Dtype, DtypeCategory, Element};
pub use error::{Error, Result};
pub use eval::{async_eval, eval, gpu_profile_report, synchronize};
pub use graph_dot::export_to_dot;
pub use num_complex::Complex32;
pub use primitive::Primitive;
pub use transforms::{
    checkpoint, compile, custom_function, disable_compile, enable_compile, grad, jvp,
    value_and_grad, value_and_grad_tree, vjp, vmap,
};
pub use tree::Tree;

#[doc(hidden)]
pub use half;
pub use half::{bf16, f16};
