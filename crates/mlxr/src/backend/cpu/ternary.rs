//! CPU kernels of the ternary elementwise primitives: `Select` (`where`).

use super::elementwise::ternary_map;
use crate::array::{Array, Data};
use crate::dispatch_all;
use crate::error::Result;

/// `out[i] = if cond[i] { x[i] } else { y[i] }`; `cond` is bool, `x` and `y` share a
/// dtype, and all three have the output's shape.
pub fn select_cpu(cond: &Array, x: &Array, y: &Array) -> Result<Data> {
    dispatch_all!(x.dtype(), T => ternary_map::<bool, T, T, T, _>(cond, x, y, |c, a, b| {
        if c {
            a
        } else {
            b
        }
    }))
}
