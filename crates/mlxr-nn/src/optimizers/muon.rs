//! Muon (MLX's `Muon`: MomentUm Orthogonalized by Newton-Schulz): SGD momentum whose
//! update, for parameters with two or more axes, is replaced by an approximately
//! orthogonal matrix computed by a quintic Newton-Schulz iteration.

use super::{LearningRate, OptimizerState, ParamState, Rule};
use mlxr::{ops, Array, Result};

/// The coefficients `(a, b, c)` of the quintic Newton-Schulz step
/// `X <- a X + (b A + c A A) X` with `A = X Xᵀ`.
const NS_COEFFS: (f32, f32, f32) = (3.4445, -4.7750, 2.0315);

/// Muon (MLX's defaults: momentum 0.95, weight_decay 0.01, Nesterov momentum, 5
/// Newton-Schulz steps).
///
/// Per parameter: `g += weight_decay * p` (when non-zero), `v = momentum * v + (1 -
/// momentum) * g`, the update is `g * (1 - momentum) + v * momentum` (Nesterov) or `v`.
/// A parameter with two or more axes has its update flattened to `(shape[0], -1)`,
/// orthogonalised by [`zeropower_newton_schulz5`], reshaped back, and the learning rate
/// scaled by `sqrt(max(1, shape[-2] / shape[-1]))`; 0-d and 1-d parameters take the plain
/// momentum update. Then `p -= lr * update`.
///
/// The hyperparameters are `f64` so that derived constants (`1 - momentum`) round to
/// float32 once, as Python's floats do in MLX.
#[derive(Clone)]
pub struct Muon {
    base: OptimizerState,
    /// The momentum strength.
    pub momentum: f64,
    /// The weight decay (an L2 penalty added to the gradient).
    pub weight_decay: f64,
    /// Use Nesterov momentum.
    pub nesterov: bool,
    /// The number of Newton-Schulz iterations.
    pub ns_steps: usize,
}

impl Muon {
    /// A new optimizer.
    pub fn new(
        lr: impl Into<LearningRate>,
        momentum: f64,
        weight_decay: f64,
        nesterov: bool,
        ns_steps: usize,
    ) -> Result<Muon> {
        Ok(Muon {
            base: OptimizerState::new(lr)?,
            momentum,
            weight_decay,
            nesterov,
            ns_steps,
        })
    }

    /// Muon with MLX's defaults for everything but the learning rate.
    pub fn with_lr(lr: impl Into<LearningRate>) -> Result<Muon> {
        Muon::new(lr, 0.95, 0.01, true, 5)
    }
}

/// An approximately orthogonal matrix with the singular vectors of the 2-d `x`
/// (`U Vᵀ` for `x = U S Vᵀ`): `x` is scaled to unit Frobenius norm (plus `1e-7`), then
/// `steps` quintic Newton-Schulz iterations run on the wide orientation (a tall `x` is
/// transposed first and back after).
pub fn zeropower_newton_schulz5(x: &Array, steps: usize) -> Result<Array> {
    if x.ndim() != 2 {
        return Err(mlxr::Error::Shape(format!(
            "Muon: expected a 2-d array for the Newton-Schulz iteration, got shape {:?}",
            x.shape()
        )));
    }
    let (a, b, c) = NS_COEFFS;
    let tall = x.shape()[0] > x.shape()[1];
    let mut x = if tall { ops::transpose(x)? } else { x.clone() };
    let norm = ops::sqrt(&ops::sum(&ops::square(&x)?, None, true)?)?;
    x = ops::divide(&x, &ops::add(&norm, 1e-7)?)?;
    for _ in 0..steps {
        let xt = ops::transpose(&x)?;
        let am = ops::matmul(&x, &xt)?;
        let bm = ops::addmm(&ops::multiply(&am, b)?, &am, &am, c, 1.0)?;
        x = ops::addmm(&ops::multiply(&x, a)?, &bm, &x, 1.0, 1.0)?;
    }
    if tall {
        x = ops::transpose(&x)?;
    }
    Ok(x)
}

impl Rule for Muon {
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
        let mu = self.momentum;
        let g = if self.weight_decay != 0.0 {
            ops::add(g, &ops::multiply(p, self.weight_decay)?)?
        } else {
            g.clone()
        };
        let v = ops::add(&ops::multiply(&st["v"], mu)?, &ops::multiply(&g, 1.0 - mu)?)?;
        st.insert("v".into(), v.clone());
        let mut update = if self.nesterov {
            ops::add(&ops::multiply(&g, 1.0 - mu)?, &ops::multiply(&v, mu)?)?
        } else {
            v
        };
        let mut lr = lr.clone();
        let shape = update.shape().to_vec();
        if shape.len() >= 2 {
            let flat = if shape.len() > 2 {
                ops::reshape(&update, &[shape[0] as isize, -1])?
            } else {
                update
            };
            update = zeropower_newton_schulz5(&flat, self.ns_steps)?;
            if shape.len() > 2 {
                let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
                update = ops::reshape(&update, &s)?;
            }
            // MLX scales by the last two axes of the parameter's own shape.
            let (rows, cols) = (shape[shape.len() - 2], shape[shape.len() - 1]);
            let scale = (rows as f64 / cols as f64).max(1.0).sqrt();
            lr = ops::multiply(&lr, scale)?;
        }
        ops::subtract(p, &ops::multiply(&lr, &update)?)
    }
}
