//! Dtype conversion ops: `astype`, `view` (bit reinterpretation).

use super::stream;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitives::cast::AsType;
use std::sync::Arc;

/// Convert to `dtype` (a no-op returning the same array when the dtype already matches).
pub fn astype(a: &Array, dtype: Dtype) -> Result<Array> {
    if a.dtype() == dtype {
        return Ok(a.clone());
    }
    Ok(Array::new_node(
        a.shape().to_vec(),
        dtype,
        Arc::new(AsType { dtype }),
        vec![a.clone()],
        stream(),
    ))
}

impl Array {
    /// Convert to `dtype`; see [`astype`].
    pub fn astype(&self, dtype: Dtype) -> Result<Array> {
        astype(self, dtype)
    }
}
