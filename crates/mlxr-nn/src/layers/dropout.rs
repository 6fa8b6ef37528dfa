//! `Dropout`: in training mode, zero each element with probability `p` and scale the rest by
//! `1 / (1 - p)`; the identity in eval mode.

use crate::{layer, module};
use mlxr::{ops, random, Array, Error, Result};

/// Dropout with probability `p` (MLX's default 0.5).
#[derive(Debug, Clone)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f32,
    /// Train (drop) or eval (identity) mode.
    pub training: bool,
}
module!(Dropout {} training);
layer!(Dropout);

impl Dropout {
    /// A new layer in training mode; `p` must lie in `[0, 1)`.
    pub fn new(p: f32) -> Result<Dropout> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::InvalidArgument(format!(
                "The dropout probability {p} is not in [0, 1)"
            )));
        }
        Ok(Dropout { p, training: true })
    }
    /// Apply (draws the mask from the global key in training mode).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let keep = 1.0 - self.p;
        if keep == 1.0 || !self.training {
            return Ok(x.clone());
        }
        let mask = random::bernoulli(keep, Some(x.shape()), None)?;
        ops::multiply(&ops::multiply(&mask, x)?, 1.0 / keep)
    }
}
