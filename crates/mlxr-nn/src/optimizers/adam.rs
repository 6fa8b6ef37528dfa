//! The Adam family (MLX's `Adam`, `AdamW`, `Adamax`) and `Lion`.

use super::{LearningRate, OptimizerState, ParamState, Rule};
use mlxr::{ops, Array, Dtype, Error, Result};
use std::cell::RefCell;
use std::collections::HashMap;

fn zeros_mv(p: &Array) -> Result<ParamState> {
    Ok([
        ("m".to_string(), ops::zeros_like(p)?),
        ("v".to_string(), ops::zeros_like(p)?),
    ]
    .into())
}

/// What a shared scalar is computed from: a name, two node ids, packed constants, dtype.
type SharedKey = (&'static str, u64, u64, u64, Dtype);

thread_local! {
    /// Scalars an update shares across its parameters (bias corrections, weight-decay
    /// factors), keyed by what they are computed from (node ids of the learning rate and
    /// step, the constants, the dtype): one small graph per update instead of one per
    /// parameter. Cleared when it grows (old updates' entries are never asked again).
    static SHARED: RefCell<HashMap<SharedKey, Vec<Array>>> =
        RefCell::new(HashMap::new());
}

/// The arrays `f` computes for `key`, computed once per key (see `SHARED`).
fn shared(key: SharedKey, f: impl FnOnce() -> Result<Vec<Array>>) -> Result<Vec<Array>> {
    if let Some(v) = SHARED.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(v);
    }
    let v = f()?;
    SHARED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= 32 {
            m.clear();
        }
        m.insert(key, v.clone());
    });
    Ok(v)
}

/// `1 - lr * weight_decay` (in `lr`'s dtype), shared by an update's parameters.
fn decay_factor(lr: &Array, weight_decay: f32) -> Result<Array> {
    let key = (
        "decay",
        lr.id(),
        weight_decay.to_bits() as u64,
        0,
        lr.dtype(),
    );
    Ok(shared(key, || {
        Ok(vec![ops::subtract(1.0, &ops::multiply(lr, weight_decay)?)?])
    })?
    .remove(0))
}

/// Adam's bias corrections `[lr / (1 - b1^t), 1 / sqrt(1 - b2^t)]` in `dtype`, shared by
/// an update's parameters.
fn bias_corrections(lr: &Array, step: &Array, betas: (f32, f32), dtype: Dtype) -> Result<Vec<Array>> {
    let (b1, b2) = betas;
    let key = (
        "adam",
        lr.id(),
        step.id(),
        ((b1.to_bits() as u64) << 32) | b2.to_bits() as u64,
        dtype,
    );
    shared(key, || {
        let s = ops::astype(step, Dtype::Float32)?;
        let c1 = ops::astype(
            &ops::divide(lr, &ops::subtract(1.0, &ops::power(b1, &s)?)?)?,
            dtype,
        )?;
        let c2 = ops::astype(
            &ops::rsqrt(&ops::subtract(1.0, &ops::power(b2, &s)?)?)?,
            dtype,
        )?;
        Ok(vec![c1, c2])
    })
}

/// The Adam step shared by Adam and AdamW (`decay`: AdamW's `1 - lr * weight_decay`,
/// applied to the parameters first). Float32 parameters take one fused kernel.
#[allow(clippy::too_many_arguments)]
fn adam_step(
    g: &Array,
    p: &Array,
    decay: Option<&Array>,
    st: &mut ParamState,
    lr: &Array,
    step: &Array,
    betas: (f32, f32),
    eps: f32,
    bias_correction: bool,
) -> Result<Array> {
    let (b1, b2) = betas;
    let f32s = [g, p, &st["m"], &st["v"], lr]
        .iter()
        .all(|a| a.dtype() == Dtype::Float32)
        && g.shape() == p.shape()
        && st["m"].shape() == p.shape()
        && st["v"].shape() == p.shape();
    if f32s && lr.size() == 1 {
        // Float32 parameters: one fused kernel (same bits as the composed update below).
        let (a, c2) = if bias_correction {
            let c = bias_corrections(lr, step, betas, g.dtype())?;
            (c[0].clone(), Some(c[1].clone()))
        } else {
            (lr.clone(), None)
        };
        let (p2, m2, v2) = ops::optim::adam_step(
            p,
            g,
            &st["m"],
            &st["v"],
            &a,
            c2.as_ref(),
            decay,
            betas,
            eps,
        )?;
        st.insert("m".into(), m2);
        st.insert("v".into(), v2);
        return Ok(p2);
    }
    let p = &match decay {
        Some(d) => ops::multiply(p, d)?,
        None => p.clone(),
    };
    let m = ops::add(&ops::multiply(&st["m"], b1)?, &ops::multiply(g, 1.0 - b1)?)?;
    let v = ops::add(
        &ops::multiply(&st["v"], b2)?,
        &ops::multiply(&ops::square(g)?, 1.0 - b2)?,
    )?;
    st.insert("m".into(), m.clone());
    st.insert("v".into(), v.clone());
    if bias_correction {
        let c = bias_corrections(lr, step, betas, g.dtype())?;
        let (c1, c2) = (&c[0], &c[1]);
        let num = ops::multiply(c1, &m)?;
        let den = ops::add(&ops::multiply(&ops::sqrt(&v)?, c2)?, eps)?;
        ops::subtract(p, &ops::divide(&num, &den)?)
    } else {
        ops::subtract(
            p,
            &ops::divide(&ops::multiply(lr, &m)?, &ops::add(&ops::sqrt(&v)?, eps)?)?,
        )
    }
}

/// Adam (MLX's defaults: betas (0.9, 0.999), eps 1e-8, no bias correction).
#[derive(Clone)]
pub struct Adam {
    base: OptimizerState,
    /// `(beta1, beta2)`.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
    /// Apply bias correction.
    pub bias_correction: bool,
}

impl Adam {
    /// A new optimizer.
    pub fn new(
        lr: impl Into<LearningRate>,
        betas: (f32, f32),
        eps: f32,
        bias_correction: bool,
    ) -> Result<Adam> {
        Ok(Adam {
            base: OptimizerState::new(lr)?,
            betas,
            eps,
            bias_correction,
        })
    }
}

impl Rule for Adam {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        zeros_mv(p)
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        step: &Array,
    ) -> Result<Array> {
        adam_step(
            g,
            p,
            None,
            st,
            lr,
            step,
            self.betas,
            self.eps,
            self.bias_correction,
        )
    }
}

/// AdamW: Adam with decoupled weight decay `p *= 1 - lr * weight_decay` (MLX's defaults:
/// betas (0.9, 0.999), eps 1e-8, weight_decay 0.01, no bias correction).
#[derive(Clone)]
pub struct AdamW {
    base: OptimizerState,
    /// `(beta1, beta2)`.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
    /// Decoupled weight decay.
    pub weight_decay: f32,
    /// Apply bias correction.
    pub bias_correction: bool,
}

impl AdamW {
    /// A new optimizer.
    pub fn new(
        lr: impl Into<LearningRate>,
        betas: (f32, f32),
        eps: f32,
        weight_decay: f32,
        bias_correction: bool,
    ) -> Result<AdamW> {
        Ok(AdamW {
            base: OptimizerState::new(lr)?,
            betas,
            eps,
            weight_decay,
            bias_correction,
        })
    }
}

impl Rule for AdamW {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        zeros_mv(p)
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        step: &Array,
    ) -> Result<Array> {
        let decay = decay_factor(lr, self.weight_decay)?;
        adam_step(
            g,
            p,
            Some(&decay),
            st,
            lr,
            step,
            self.betas,
            self.eps,
            self.bias_correction,
        )
    }
}

/// Adamax: Adam with the infinity norm (MLX's defaults: betas (0.9, 0.999), eps 1e-8).
#[derive(Clone)]
pub struct Adamax {
    base: OptimizerState,
    /// `(beta1, beta2)`.
    pub betas: (f32, f32),
    /// Added to the denominator.
    pub eps: f32,
}

impl Adamax {
    /// A new optimizer.
    pub fn new(lr: impl Into<LearningRate>, betas: (f32, f32), eps: f32) -> Result<Adamax> {
        Ok(Adamax {
            base: OptimizerState::new(lr)?,
            betas,
            eps,
        })
    }
}

impl Rule for Adamax {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        zeros_mv(p)
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        _step: &Array,
    ) -> Result<Array> {
        let (b1, b2) = self.betas;
        let m = ops::add(&ops::multiply(&st["m"], b1)?, &ops::multiply(g, 1.0 - b1)?)?;
        let v = ops::maximum(&ops::multiply(&st["v"], b2)?, &ops::abs(g)?)?;
        st.insert("m".into(), m.clone());
        st.insert("v".into(), v.clone());
        ops::subtract(
            p,
            &ops::divide(&ops::multiply(lr, &m)?, &ops::add(&v, self.eps)?)?,
        )
    }
}

/// Lion: the sign of an interpolated momentum (MLX's defaults: betas (0.9, 0.99),
/// weight_decay 0).
#[derive(Clone)]
pub struct Lion {
    base: OptimizerState,
    /// `(beta1, beta2)`.
    pub betas: (f32, f32),
    /// Decoupled weight decay.
    pub weight_decay: f32,
}

impl Lion {
    /// A new optimizer; betas must lie in [0, 1).
    pub fn new(lr: impl Into<LearningRate>, betas: (f32, f32), weight_decay: f32) -> Result<Lion> {
        for (i, b) in [betas.0, betas.1].iter().enumerate() {
            if !(0.0..1.0).contains(b) {
                return Err(Error::InvalidArgument(format!(
                    "Lion beta{} should be in [0, 1), {b} was provided instead",
                    i + 1
                )));
            }
        }
        Ok(Lion {
            base: OptimizerState::new(lr)?,
            betas,
            weight_decay,
        })
    }
}

impl Rule for Lion {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        Ok([("m".to_string(), ops::zeros_like(p)?)].into())
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        _step: &Array,
    ) -> Result<Array> {
        let (b1, b2) = self.betas;
        let m = &st["m"];
        let c = ops::add(&ops::multiply(m, b1)?, &ops::multiply(g, 1.0 - b1)?)?;
        let nm = ops::add(&ops::multiply(m, b2)?, &ops::multiply(g, 1.0 - b2)?)?;
        st.insert("m".into(), nm);
        let p = if self.weight_decay > 0.0 {
            ops::multiply(&decay_factor(lr, self.weight_decay)?, p)?
        } else {
            p.clone()
        };
        ops::subtract(&p, &ops::multiply(lr, &ops::sign(&c)?)?)
    }
}
