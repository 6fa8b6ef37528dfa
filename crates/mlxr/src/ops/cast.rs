//! Dtype conversion ops: `astype`, `view` (bit reinterpretation), and the fp8 (E4M3)
//! conversions `to_fp8` / `from_fp8` (primitives in `primitives/fp8.rs`).

use super::stream;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::cast::AsType;
use crate::primitives::fp8::{FromFp8, ToFp8};
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

/// Convert a real floating array (float16, bfloat16, float32, float64) to fp8 E4M3, as
/// its bits in a uint8 array (MLX's `to_fp8`): round to nearest, ties to even (subnormals
/// too), and magnitudes at or above 448 — infinities and NaN included — saturate to ±448
/// by their sign. Not differentiable (as MLX).
pub fn to_fp8(x: &Array) -> Result<Array> {
    if !x.dtype().is_floating() {
        return Err(Error::Dtype(format!(
            "[to_fp8] Only real floating types are supported but x.dtype() == {}.",
            x.dtype()
        )));
    }
    Ok(Array::new_node(
        x.shape().to_vec(),
        Dtype::Uint8,
        Arc::new(ToFp8),
        vec![x.clone()],
        stream(),
    ))
}

/// Decode fp8 E4M3 bits (a uint8 array) to the real floating `dtype` (MLX's `from_fp8`,
/// whose default is bfloat16): exact, with `0x7F` / `0xFF` as NaN. Not differentiable (as
/// MLX).
pub fn from_fp8(x: &Array, dtype: Dtype) -> Result<Array> {
    if x.dtype() != Dtype::Uint8 {
        return Err(Error::Dtype(format!(
            "[from_fp8] Input must have type uint8 but x.dtype() == {}.",
            x.dtype()
        )));
    }
    if !dtype.is_floating() {
        return Err(Error::Dtype(format!(
            "[from_fp8] Only real floating types are supported but dtype == {dtype}."
        )));
    }
    Ok(Array::new_node(
        x.shape().to_vec(),
        dtype,
        Arc::new(FromFp8 { dtype }),
        vec![x.clone()],
        stream(),
    ))
}

impl Array {
    /// Convert to `dtype`; see [`astype`].
    pub fn astype(&self, dtype: Dtype) -> Result<Array> {
        astype(self, dtype)
    }
}
