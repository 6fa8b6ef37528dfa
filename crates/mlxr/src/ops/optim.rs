//! Fused optimizer steps: [`adam_step`], one Adam/AdamW update of float32 parameters in
//! one kernel (mlxr-nn's Adam and AdamW use it for float32 parameters). The result has
//! the same bits as the update composed from elementwise ops.

use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::optim::AdamStep;
use std::sync::Arc;

/// One Adam step of float32 parameters `p` with gradient `g` and moments `m`, `v` (all
/// float32 of one shape): returns `(p', m', v')` with
/// `m' = m*b1 + g*(1-b1)`, `v' = v*b2 + g²*(1-b2)` and
/// `p' = p*decay - (a*m') / (sqrt(v')*c2 + eps)`,
/// where `a` is the learning rate (or the bias-corrected `lr / (1 - b1^t)`), `c2` the
/// second-moment correction `1/sqrt(1 - b2^t)` (None: 1) and `decay` AdamW's
/// `1 - lr * weight_decay` (None: no decay); the scalars are one-element float32 arrays.
/// Differentiable (through the composed definition).
#[allow(clippy::too_many_arguments)]
pub fn adam_step(
    p: &Array,
    g: &Array,
    m: &Array,
    v: &Array,
    a: &Array,
    c2: Option<&Array>,
    decay: Option<&Array>,
    betas: (f32, f32),
    eps: f32,
) -> Result<(Array, Array, Array)> {
    for (name, x) in [("p", p), ("g", g), ("m", m), ("v", v)] {
        if x.dtype() != Dtype::Float32 {
            return Err(Error::Dtype(format!(
                "adam_step: {name} must be float32, got {}",
                x.dtype()
            )));
        }
        if x.shape() != p.shape() {
            return Err(Error::Shape(format!(
                "adam_step: {name} has shape {:?}, the parameters {:?}",
                x.shape(),
                p.shape()
            )));
        }
    }
    let mut inputs = vec![p.clone(), g.clone(), m.clone(), v.clone()];
    for (name, s) in [("a", Some(a)), ("c2", c2), ("decay", decay)] {
        if let Some(s) = s {
            if s.dtype() != Dtype::Float32 || s.size() != 1 {
                return Err(Error::InvalidArgument(format!(
                    "adam_step: {name} must be a one-element float32 array, got {} of shape {:?}",
                    s.dtype(),
                    s.shape()
                )));
            }
            inputs.push(s.clone());
        }
    }
    let prim = AdamStep {
        b1: betas.0,
        b2: betas.1,
        eps,
        bias: c2.is_some(),
        decay: decay.is_some(),
    };
    let out = Array::new_multi(
        vec![(p.shape().to_vec(), Dtype::Float32); 3],
        Arc::new(prim),
        inputs,
        super::stream(),
    );
    let mut it = out.into_iter();
    let (p2, m2, v2) = (it.next(), it.next(), it.next());
    Ok((p2.expect("p'"), m2.expect("m'"), v2.expect("v'")))
}
