//! `softmax`: the normalised exponential over a set of axes, as one fused kernel.

use super::reduce::{at_least_float, reduction_axes};
use super::stream;
use crate::array::Array;
use crate::error::Result;
use crate::primitives::softmax::Softmax;
use std::sync::Arc;

/// Softmax over `axes` (all when `None`): `exp(a - max) / sum(exp(a - max))`, stable for
/// large inputs. With `precise`, float16/bfloat16 inputs are computed entirely in
/// float32; otherwise intermediates round to the input precision (as MLX).
///
/// Output dtype as MLX: over the last axis alone it is at least float32 (integer and bool
/// inputs give float32); over any other set of axes it is the input dtype (integer inputs
/// are computed in float32 and converted back, truncating).
pub fn softmax(a: &Array, axes: Option<&[isize]>, precise: bool) -> Result<Array> {
    let ax = reduction_axes(a, axes, "softmax")?;
    let last_only = ax.len() == 1 && ax[0] + 1 == a.ndim();
    let dtype = if last_only {
        at_least_float(a.dtype())
    } else {
        a.dtype()
    };
    Ok(Array::new_node(
        a.shape().to_vec(),
        dtype,
        Arc::new(Softmax { axes: ax, precise }),
        vec![a.clone()],
        stream(),
    ))
}

impl Array {
    /// Softmax over `axes`; see [`softmax`].
    pub fn softmax(&self, axes: Option<&[isize]>, precise: bool) -> Result<Array> {
        softmax(self, axes, precise)
    }
}
