//! `mlxr-nn`: MLX's `mlx.nn` and `mlx.optimizers` for mlxr — modules with nested, named
//! parameters, layers, activations, losses, initializers, optimizers and schedules.
//!
//! ```ignore
//! use mlxr_nn::{layers::Linear, Module, ModuleExt};
//! let mut l = Linear::new(4, 2, true)?;
//! let y = l.forward(&x)?;
//! let (loss, grads) = mlxr_nn::value_and_grad(|m: &Linear, a: &[Array]| ...)(&l, &[x])?;
//! ```

pub mod activations;
pub mod distributed;
pub mod init;
pub mod layers;
pub mod losses;
pub mod models;
pub mod module;
pub mod optimizers;

pub use module::{value_and_grad, Module, ModuleExt, Param};
