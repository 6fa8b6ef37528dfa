//! Adafactor (MLX's `Adafactor`): Adam-like steps whose second moments are factored into
//! row and column averages for parameters with two or more dimensions, with relative step
//! sizes, parameter-scale learning rates and update clipping.

use super::{LearningRate, OptimizerState, ParamState, Rule};
use mlxr::{ops, Array, Dtype, Error, Result};

/// Adafactor (MLX's defaults: `learning_rate = None`, `eps = (1e-30, 1e-3)`,
/// `clip_threshold = 1`, `decay_rate = -0.8`, `beta_1 = None`, `weight_decay = 0`,
/// `scale_parameter = true`, `relative_step = true`, `warmup_init = false`).
#[derive(Clone)]
pub struct Adafactor {
    base: OptimizerState,
    /// Whether a learning rate was given (without one, `relative_step` must hold).
    pub has_learning_rate: bool,
    /// `(eps1, eps2)`: added to the squared gradients; the floor of the parameter scale.
    pub eps: (f32, f32),
    /// The largest RMS of an unscaled update.
    pub clip_threshold: f32,
    /// `beta2_t = 1 - t^decay_rate`.
    pub decay_rate: f32,
    /// First-moment decay, if a first moment is kept.
    pub beta_1: Option<f32>,
    /// Decoupled weight decay.
    pub weight_decay: f32,
    /// Scale the step by `max(eps2, RMS(parameter))`.
    pub scale_parameter: bool,
    /// Use `min(1e-2, 1/sqrt(t))` (ignoring the learning rate) as the step size.
    pub relative_step: bool,
    /// With `relative_step`, use `min(1e-6 t, 1/sqrt(t))`.
    pub warmup_init: bool,
}

impl Adafactor {
    /// An optimizer with MLX's defaults and an optional learning rate (used only when
    /// `relative_step` is turned off).
    pub fn new(learning_rate: Option<LearningRate>) -> Result<Adafactor> {
        Adafactor::with_options(
            learning_rate,
            (1e-30, 1e-3),
            1.0,
            -0.8,
            None,
            0.0,
            true,
            true,
            false,
        )
    }
    /// An optimizer with every option (MLX's argument order). Without a learning rate,
    /// `relative_step` must be true.
    #[allow(clippy::too_many_arguments)]
    pub fn with_options(
        learning_rate: Option<LearningRate>,
        eps: (f32, f32),
        clip_threshold: f32,
        decay_rate: f32,
        beta_1: Option<f32>,
        weight_decay: f32,
        scale_parameter: bool,
        relative_step: bool,
        warmup_init: bool,
    ) -> Result<Adafactor> {
        if learning_rate.is_none() && !relative_step {
            return Err(Error::InvalidArgument(
                "Adafactor: a learning_rate is required when relative_step is false".into(),
            ));
        }
        Ok(Adafactor {
            has_learning_rate: learning_rate.is_some(),
            base: OptimizerState::new(learning_rate.unwrap_or(LearningRate::Const(0.0)))?,
            eps,
            clip_threshold,
            decay_rate,
            beta_1,
            weight_decay,
            scale_parameter,
            relative_step,
            warmup_init,
        })
    }
}

fn rms(x: &Array) -> Result<Array> {
    ops::sqrt(&ops::mean(&ops::square(x)?, None, false)?)
}

impl Rule for Adafactor {
    rule_base!();
    fn init_single(&self, p: &Array) -> Result<ParamState> {
        let mut st = ParamState::new();
        let sh = p.shape();
        if p.ndim() >= 2 {
            let n = sh.len();
            st.insert(
                "exp_avg_sq_row".into(),
                ops::zeros(&sh[..n - 1], Some(p.dtype()))?,
            );
            let mut col = sh[..n - 2].to_vec();
            col.push(sh[n - 1]);
            st.insert("exp_avg_sq_col".into(), ops::zeros(&col, Some(p.dtype()))?);
        } else {
            st.insert("exp_avg_sq".into(), ops::zeros_like(p)?);
        }
        if self.beta_1.is_some() {
            st.insert("exp_avg".into(), ops::zeros_like(p)?);
        }
        Ok(st)
    }
    fn apply_single(
        &self,
        g: &Array,
        p: &Array,
        st: &mut ParamState,
        lr: &Array,
        step: &Array,
    ) -> Result<Array> {
        let t = ops::astype(step, Dtype::Float32)?;
        let p_rms = rms(p)?;
        let rel = if self.relative_step {
            let min_step = if self.warmup_init {
                ops::multiply(&t, 1e-6f32)?
            } else {
                Array::scalar(1e-2f32)
            };
            ops::minimum(&min_step, &ops::rsqrt(&t)?)?
        } else {
            lr.clone()
        };
        let rel = ops::astype(&rel, p_rms.dtype())?;
        let lr_eff = if self.scale_parameter {
            ops::multiply(&ops::maximum(&p_rms, self.eps.1)?, &rel)?
        } else {
            rel
        };
        let beta2 = ops::subtract(
            1.0,
            &ops::astype(&ops::power(&t, self.decay_rate)?, p_rms.dtype())?,
        )?;
        let one_minus = ops::subtract(1.0, &beta2)?;
        let sq = ops::add(&ops::square(g)?, self.eps.0)?;
        let update = if g.ndim() >= 2 {
            let row = ops::add(
                &ops::multiply(&beta2, &st["exp_avg_sq_row"])?,
                &ops::multiply(&one_minus, &ops::mean(&sq, Some(&[-1]), false)?)?,
            )?;
            let col = ops::add(
                &ops::multiply(&beta2, &st["exp_avg_sq_col"])?,
                &ops::multiply(&one_minus, &ops::mean(&sq, Some(&[-2]), false)?)?,
            )?;
            st.insert("exp_avg_sq_row".into(), row.clone());
            st.insert("exp_avg_sq_col".into(), col.clone());
            let r = ops::rsqrt(&ops::divide(&row, &ops::mean(&row, Some(&[-1]), true)?)?)?;
            let c = ops::rsqrt(&col)?;
            let approx =
                ops::multiply(&ops::expand_dims(&r, &[-1])?, &ops::expand_dims(&c, &[-2])?)?;
            ops::multiply(&approx, g)?
        } else {
            let v = ops::add(
                &ops::multiply(&beta2, &st["exp_avg_sq"])?,
                &ops::multiply(&one_minus, &sq)?,
            )?;
            st.insert("exp_avg_sq".into(), v.clone());
            ops::multiply(&ops::rsqrt(&v)?, g)?
        };
        let update = ops::divide(
            &update,
            &ops::maximum(&ops::divide(&rms(&update)?, self.clip_threshold)?, 1.0)?,
        )?;
        let mut update = ops::multiply(&lr_eff, &update)?;
        if let Some(b1) = self.beta_1 {
            let m = ops::add(
                &ops::multiply(&st["exp_avg"], b1)?,
                &ops::multiply(&update, 1.0 - b1)?,
            )?;
            st.insert("exp_avg".into(), m.clone());
            update = m;
        }
        let p = if self.weight_decay != 0.0 {
            ops::add(
                p,
                &ops::multiply(p, &ops::multiply(&lr_eff, -self.weight_decay)?)?,
            )?
        } else {
            p.clone()
        };
        ops::subtract(&p, &update)
    }
}
