//! Optimizers with per-coordinate step sizes from squared-gradient averages: `RMSprop`,
//! `Adagrad`, `AdaDelta` (MLX's definitions and defaults).

use super::{LearningRate, OptimizerState, ParamState, Rule};
use mlxr::{ops, Array, Error, Result};

/// RMSprop (MLX's defaults: alpha 0.99, eps 1e-8).
#[derive(Clone)]
pub struct RMSprop {
    base: OptimizerState,
    /// Smoothing constant.
    pub alpha: f32,
    /// Added to the denominator.
    pub eps: f32,
}

impl RMSprop {
    /// A new optimizer.
    pub fn new(lr: impl Into<LearningRate>, alpha: f32, eps: f32) -> Result<RMSprop> {
        if alpha < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "RMSprop alpha should be >=0, {alpha} was provided instead"
            )));
        }
        if eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "RMSprop epsilon should be >0, {eps} was provided instead"
            )));
        }
        Ok(RMSprop {
            base: OptimizerState::new(lr)?,
            alpha,
            eps,
        })
    }
}

impl Rule for RMSprop {
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
        let v = ops::add(
            &ops::multiply(&st["v"], self.alpha)?,
            &ops::multiply(&ops::square(g)?, 1.0 - self.alpha)?,
        )?;
        st.insert("v".into(), v.clone());
        ops::subtract(
            p,
            &ops::divide(
                &ops::multiply(lr, g)?,
                &ops::add(&ops::sqrt(&v)?, self.eps)?,
            )?,
        )
    }
}

/// Adagrad (MLX's default eps: 1e-8).
#[derive(Clone)]
pub struct Adagrad {
    base: OptimizerState,
    /// Added to the denominator.
    pub eps: f32,
}

impl Adagrad {
    /// A new optimizer.
    pub fn new(lr: impl Into<LearningRate>, eps: f32) -> Result<Adagrad> {
        if eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "Adagrad epsilon should be >0, {eps} was provided instead"
            )));
        }
        Ok(Adagrad {
            base: OptimizerState::new(lr)?,
            eps,
        })
    }
}

impl Rule for Adagrad {
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
        let v = ops::add(&st["v"], &ops::square(g)?)?;
        st.insert("v".into(), v.clone());
        ops::subtract(
            p,
            &ops::divide(
                &ops::multiply(lr, g)?,
                &ops::add(&ops::sqrt(&v)?, self.eps)?,
            )?,
        )
    }
}

/// AdaDelta (MLX's defaults: rho 0.9, eps 1e-6).
#[derive(Clone)]
pub struct AdaDelta {
    base: OptimizerState,
    /// Decay of the running averages.
    pub rho: f32,
    /// Added inside the square roots.
    pub eps: f32,
}

impl AdaDelta {
    /// A new optimizer.
    pub fn new(lr: impl Into<LearningRate>, rho: f32, eps: f32) -> Result<AdaDelta> {
        if rho < 0.0 {
            return Err(Error::InvalidArgument(format!(
                "AdaDelta rho should be >=0, {rho} was provided instead"
            )));
        }
        if eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "AdaDelta epsilon should be >0, {eps} was provided instead"
            )));
        }
        Ok(AdaDelta {
            base: OptimizerState::new(lr)?,
            rho,
            eps,
        })
    }
}

impl Rule for AdaDelta {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        Ok([
            ("v".to_string(), ops::zeros_like(p)?),
            ("u".to_string(), ops::zeros_like(p)?),
        ]
        .into())
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        _step: &Array,
    ) -> Result<Array> {
        let rho = self.rho;
        let v = ops::add(
            &ops::multiply(&st["v"], rho)?,
            &ops::multiply(&ops::square(g)?, 1.0 - rho)?,
        )?;
        let d = ops::multiply(
            &ops::divide(
                &ops::sqrt(&ops::add(&st["u"], self.eps)?)?,
                &ops::sqrt(&ops::add(&v, self.eps)?)?,
            )?,
            g,
        )?;
        let u = ops::add(
            &ops::multiply(&st["u"], rho)?,
            &ops::multiply(&ops::square(&d)?, 1.0 - rho)?,
        )?;
        st.insert("v".into(), v);
        st.insert("u".into(), u);
        ops::subtract(p, &ops::multiply(lr, &d)?)
    }
}
