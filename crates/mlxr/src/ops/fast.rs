//! MLX's `mx.fast` ops that are compositions on the CPU: `cross_entropy` (logsumexp minus
//! the target logit) and `gated_delta_update` (the gated delta rule recurrence, one step
//! per time index). Built from ordinary ops, so every transformation and device handles
//! them through those ops' rules.

use super::{astype, expand_dims, slice, squeeze};
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};

/// Shape as MLX prints it in messages: `(3,4)`.
fn tuple(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("({})", v.join(","))
}

/// The cross entropy of `logits` (classes on the last axis) against integer class indices
/// `targets` (the logits' shape without the last axis): `logsumexp(logits, -1) -
/// logits[..., target]`, in float32 (MLX's `fast.cross_entropy`; on the CPU MLX reduces
/// in the logits' dtype and converts the result, as here). Differentiable in `logits`.
pub fn cross_entropy(logits: &Array, targets: &Array) -> Result<Array> {
    if logits.ndim() == 0 {
        return Err(Error::InvalidArgument(
            "[cross_entropy] logits must have at least 1 dimension but got input with 0 dimensions."
                .into(),
        ));
    }
    if !targets.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "[cross_entropy] targets must be integer class indices but got {}.",
            targets.dtype()
        )));
    }
    let nd = logits.ndim();
    if targets.shape() != &logits.shape()[..nd - 1] {
        return Err(Error::Shape(format!(
            "[cross_entropy] targets shape {} does not match logits shape {} with the last axis removed.",
            tuple(targets.shape()),
            tuple(logits.shape())
        )));
    }
    let lse = super::logsumexp(logits, Some(&[-1]), false)?;
    let idx = expand_dims(targets, &[-1])?;
    let picked = squeeze(
        &super::take_along_axis(logits, &idx, Some(-1))?,
        Some(&[-1]),
    )?;
    astype(&super::subtract(&lse, &picked)?, Dtype::Float32)
}

/// Time step `t` of `x` (axis 1 removed).
fn step(x: &Array, t: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    start[1] = t as isize;
    stop[1] = t as isize + 1;
    squeeze(&slice(x, &start, &stop, &vec![1; nd])?, Some(&[1]))
}

/// The gated delta rule over a sequence (MLX's `fast.gated_delta_update`, the recurrence
/// of gated DeltaNet layers). Shapes: `q`, `k` `[B, T, Hk, Dk]`, `v` `[B, T, Hv, Dv]`
/// (`Hv` a multiple of `Hk`: query/key heads are repeated), `gamma` (decay, linear space)
/// `[B, T, Hv]` or `[B, T, Hv, Dk]`, `beta` `[B, T, Hv]`, `initial_state` `[B, Hv, Dv,
/// Dk]` (zeros by default), `mask` `[B, T]` (a step whose mask is false leaves the state
/// unchanged and outputs zeros). Per step: `S = S * gamma`, `delta = (v - S k) * beta`,
/// `S = S + delta k^T`, `y = S q`. Returns `[y [B, T, Hv, Dv], final state]`; the state
/// is kept in (at least) float32, `y` has the inputs' dtype. Differentiable.
#[allow(clippy::too_many_arguments)]
pub fn gated_delta_update(
    q: &Array,
    k: &Array,
    v: &Array,
    gamma: &Array,
    beta: &Array,
    initial_state: Option<&Array>,
    mask: Option<&Array>,
) -> Result<Vec<Array>> {
    let op = "[gated_delta_update]";
    for (name, x) in [("q", q), ("k", k), ("v", v)] {
        if x.ndim() != 4 {
            return Err(Error::Shape(format!(
                "{op} {name} must have shape [B, T, H, D], got {}.",
                tuple(x.shape())
            )));
        }
    }
    let (b, t, hk, dk) = (q.shape()[0], q.shape()[1], q.shape()[2], q.shape()[3]);
    let (hv, dv) = (v.shape()[2], v.shape()[3]);
    if k.shape() != q.shape() {
        return Err(Error::Shape(format!(
            "{op} q and k must have the same shape, got {} and {}.",
            tuple(q.shape()),
            tuple(k.shape())
        )));
    }
    if v.shape()[..2] != [b, t] || hk == 0 || hv % hk != 0 {
        return Err(Error::Shape(format!(
            "{op} v of shape {} must be [B, T, Hv, Dv] with Hv a multiple of the {hk} heads of q of shape {}.",
            tuple(v.shape()),
            tuple(q.shape())
        )));
    }
    let g_ok = gamma.shape() == [b, t, hv] || gamma.shape() == [b, t, hv, dk];
    if !g_ok {
        return Err(Error::Shape(format!(
            "{op} gamma must have shape {} or {}, got {}.",
            tuple(&[b, t, hv]),
            tuple(&[b, t, hv, dk]),
            tuple(gamma.shape())
        )));
    }
    if beta.shape() != [b, t, hv] {
        return Err(Error::Shape(format!(
            "{op} beta must have shape {}, got {}.",
            tuple(&[b, t, hv]),
            tuple(beta.shape())
        )));
    }
    if let Some(s) = initial_state {
        if s.shape() != [b, hv, dv, dk] {
            return Err(Error::Shape(format!(
                "{op} initial_state must have shape {}, got {}.",
                tuple(&[b, hv, dv, dk]),
                tuple(s.shape())
            )));
        }
    }
    if let Some(m) = mask {
        if m.shape() != [b, t] {
            return Err(Error::Shape(format!(
                "{op} mask must have shape {}, got {}.",
                tuple(&[b, t]),
                tuple(m.shape())
            )));
        }
    }
    let out_dt = promote_types(promote_types(q.dtype(), k.dtype()), v.dtype());
    let (q, k) = if hv > hk {
        let r = hv / hk;
        (
            super::repeat(q, r, Some(-2))?,
            super::repeat(k, r, Some(-2))?,
        )
    } else {
        (q.clone(), k.clone())
    };
    let mut state = match initial_state {
        Some(s) => astype(s, promote_types(s.dtype(), Dtype::Float32))?,
        None => super::zeros(&[b, hv, dv, dk], Some(Dtype::Float32))?,
    };
    let mask = match mask {
        Some(m) => Some(astype(m, Dtype::Bool)?),
        None => None,
    };
    let mut ys = Vec::with_capacity(t);
    for i in 0..t {
        let (qt, kt, vt) = (step(&q, i)?, step(&k, i)?, step(v, i)?);
        let gt = step(gamma, i)?;
        let decay = if gt.ndim() == 2 {
            expand_dims(&gt, &[-1, -2])?
        } else {
            expand_dims(&gt, &[-2])?
        };
        let old = state.clone();
        let s = super::multiply(&state, &decay)?;
        let kx = expand_dims(&kt, &[-2])?;
        let kv = super::sum(&super::multiply(&s, &kx)?, Some(&[-1]), false)?;
        let bt = expand_dims(&step(beta, i)?, &[-1])?;
        let delta = super::multiply(&super::subtract(&vt, &kv)?, &bt)?;
        let s = super::add(&s, &super::multiply(&kx, &expand_dims(&delta, &[-1])?)?)?;
        let y = super::sum(
            &super::multiply(&s, &expand_dims(&qt, &[-2])?)?,
            Some(&[-1]),
            false,
        )?;
        match &mask {
            Some(m) => {
                let mt = step(&expand_dims(m, &[-1])?, i)?;
                let ms = expand_dims(&mt, &[-1, -2])?;
                state = super::where_(&ms, &s, &old)?;
                ys.push(super::where_(&expand_dims(&mt, &[-1])?, &y, 0.0)?);
            }
            None => {
                state = s;
                ys.push(y);
            }
        }
    }
    let y = if ys.is_empty() {
        super::zeros(&[b, 0, hv, dv], Some(out_dt))?
    } else {
        astype(&super::stack(&ys, 1)?, out_dt)?
    };
    Ok(vec![y, state])
}
