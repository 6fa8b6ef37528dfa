//! Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
//! (MLX's `SGD`).

use super::{LearningRate, OptimizerState, ParamState, Rule};
use mlxr::{ops, Array, Error, Result};

/// SGD (MLX's defaults: momentum 0, weight_decay 0, dampening 0, nesterov false).
#[derive(Clone)]
pub struct Sgd {
    base: OptimizerState,
    /// Momentum strength.
    pub momentum: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Dampening of the momentum.
    pub dampening: f32,
    /// Nesterov momentum.
    pub nesterov: bool,
}

impl Sgd {
    /// A new optimizer.
    pub fn new(
        lr: impl Into<LearningRate>,
        momentum: f32,
        weight_decay: f32,
        dampening: f32,
        nesterov: bool,
    ) -> Result<Sgd> {
        if nesterov && (momentum <= 0.0 || dampening != 0.0) {
            return Err(Error::InvalidArgument(
                "Nesterov momentum requires a momentum and zero dampening.".into(),
            ));
        }
        Ok(Sgd {
            base: OptimizerState::new(lr)?,
            momentum,
            weight_decay,
            dampening,
            nesterov,
        })
    }
}

impl Rule for Sgd {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        Ok([("v".to_string(), ops::zeros_like(p)?)].into())
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        _step: &Array,
    ) -> Result<Array> {
        let g = if self.weight_decay != 0.0 {
            ops::add(g, &ops::multiply(p, self.weight_decay)?)?
        } else {
            g.clone()
        };
        if self.momentum <= 0.0 {
            return ops::subtract(p, &ops::multiply(lr, &g)?);
        }
        let mut v = ops::multiply(&st["v"], self.momentum)?;
        v = if self.dampening > 0.0 {
            ops::add(&v, &ops::multiply(&g, 1.0 - self.dampening)?)?
        } else {
            ops::add(&v, &g)?
        };
        let update = if self.nesterov {
            ops::add(&g, &ops::multiply(&v, self.momentum)?)?
        } else {
            v.clone()
        };
        st.insert("v".into(), v);
        ops::subtract(p, &ops::multiply(lr, &update)?)
    }
}
