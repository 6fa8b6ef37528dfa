//! Normalization layers: `LayerNorm` and `RMSNorm` (over the last axis, computed in float32
//! for half-precision inputs and cast back, as MLX's fused kernels).

use crate::{layer, module, Param};
use mlxr::{ops, Array, Dtype, Error, Result};

fn in_f32(x: &Array) -> Result<Array> {
    match x.dtype() {
        Dtype::Float16 | Dtype::Bfloat16 => ops::astype(x, Dtype::Float32),
        _ => Ok(x.clone()),
    }
}

/// Layer normalization over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Scale `(dims,)` (ones), if affine.
    pub weight: Option<Param>,
    /// Shift `(dims,)` (zeros), if affine with bias.
    pub bias: Option<Param>,
    /// Added to the variance.
    pub eps: f32,
}
module!(LayerNorm { weight, bias });
layer!(LayerNorm);

impl LayerNorm {
    /// A new layer (MLX's defaults: eps 1e-5, affine, bias).
    pub fn new(dims: usize, eps: f32, affine: bool, bias: bool) -> Result<LayerNorm> {
        if eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "[LayerNorm] 'eps' must be positive but got {eps}."
            )));
        }
        Ok(LayerNorm {
            weight: if affine {
                Some(Param::new(ops::ones(&[dims], None)?))
            } else {
                None
            },
            bias: if affine && bias {
                Some(Param::new(ops::zeros(&[dims], None)?))
            } else {
                None
            },
            eps,
        })
    }
    /// Normalize `x` over its last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let xf = in_f32(x)?;
        let mean = ops::mean(&xf, Some(&[-1]), true)?;
        let c = ops::subtract(&xf, &mean)?;
        let var = ops::mean(&ops::square(&c)?, Some(&[-1]), true)?;
        let mut y = ops::multiply(&c, &ops::rsqrt(&ops::add(&var, self.eps)?)?)?;
        y = ops::astype(&y, x.dtype())?;
        if let Some(w) = &self.weight {
            y = ops::multiply(&y, &w.value)?;
        }
        if let Some(b) = &self.bias {
            y = ops::add(&y, &b.value)?;
        }
        Ok(y)
    }
}

/// Root-mean-square normalization over the last axis: `x * rsqrt(mean(x^2) + eps) * weight`.
#[derive(Debug, Clone)]
pub struct RMSNorm {
    /// Scale `(dims,)` (ones).
    pub weight: Param,
    /// Added to the mean square.
    pub eps: f32,
}
module!(RMSNorm { weight });
layer!(RMSNorm);

impl RMSNorm {
    /// A new layer (MLX's default eps: 1e-5).
    pub fn new(dims: usize, eps: f32) -> Result<RMSNorm> {
        Ok(RMSNorm {
            weight: Param::new(ops::ones(&[dims], None)?),
            eps,
        })
    }
    /// Normalize `x` over its last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let xf = in_f32(x)?;
        let ms = ops::mean(&ops::square(&xf)?, Some(&[-1]), true)?;
        let y = ops::astype(
            &ops::multiply(&xf, &ops::rsqrt(&ops::add(&ms, self.eps)?)?)?,
            x.dtype(),
        )?;
        ops::multiply(&y, &self.weight.value)
    }
}
