//! Loss functions with MLX's definitions and defaults (`mlx.nn.losses`): each takes a
//! [`Reduction`] (MLX's default per loss is noted) and checks its input shapes.

use mlxr::{ops, Array, Error, Result};

/// How a loss reduces its elementwise values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Keep every value.
    None,
    /// The mean of all values.
    Mean,
    /// The sum of all values.
    Sum,
}

fn reduce(loss: Array, r: Reduction) -> Result<Array> {
    match r {
        Reduction::None => Ok(loss),
        Reduction::Mean => ops::mean(&loss, None, false),
        Reduction::Sum => ops::sum(&loss, None, false),
    }
}

fn same_shape(op: &str, a: &Array, b: &Array, what: &str) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::Shape(format!(
            "{op}: inputs shape {:?} does not match {what} shape {:?}",
            a.shape(),
            b.shape()
        )));
    }
    Ok(())
}

fn weighted(op: &str, loss: Array, weights: Option<&Array>) -> Result<Array> {
    match weights {
        None => Ok(loss),
        Some(w) => {
            if w.shape() != loss.shape() {
                return Err(Error::Shape(format!(
                    "{op}: weights with shape {:?} is not the same as output loss with shape {:?}",
                    w.shape(),
                    loss.shape()
                )));
            }
            ops::multiply(&loss, w)
        }
    }
}

/// Cross entropy of `logits` against class indices (`targets` with the class axis dropped)
/// or probabilities (`targets` of `logits`' shape), with optional label smoothing and
/// weights. MLX's default reduction: none.
pub fn cross_entropy(
    logits: &Array,
    targets: &Array,
    weights: Option<&Array>,
    axis: isize,
    label_smoothing: f32,
    reduction: Reduction,
) -> Result<Array> {
    if !(0.0..1.0).contains(&label_smoothing) {
        return Err(Error::InvalidArgument(format!(
            "cross_entropy: label smoothing must be in [0, 1), got {label_smoothing}"
        )));
    }
    let ax = ops::normalize_axis(axis, logits.ndim(), "cross_entropy")?;
    let as_probs = targets.ndim() == logits.ndim();
    let mut dropped = logits.shape().to_vec();
    dropped.remove(ax);
    if (as_probs && targets.shape() != logits.shape())
        || (!as_probs && targets.shape() != dropped.as_slice())
    {
        return Err(Error::Shape(format!(
            "cross_entropy: targets shape {:?} does not match logits shape {:?}",
            targets.shape(),
            logits.shape()
        )));
    }
    let axis = ax as isize;
    let max = ops::stop_gradient(&ops::max(logits, Some(&[axis]), true)?)?;
    let l = ops::subtract(logits, &max)?;
    let score = if as_probs {
        ops::sum(&ops::multiply(&l, targets)?, Some(&[axis]), false)?
    } else {
        ops::squeeze(
            &ops::take_along_axis(&l, &ops::expand_dims(targets, &[axis])?, Some(axis))?,
            Some(&[axis]),
        )?
    };
    let lse = ops::logsumexp(&l, Some(&[axis]), false)?;
    let loss = if label_smoothing > 0.0 {
        let adjusted = ops::multiply(&score, 1.0 - label_smoothing)?;
        let smoothed = ops::multiply(&ops::mean(&l, Some(&[axis]), false)?, -label_smoothing)?;
        ops::add(&ops::subtract(&lse, &adjusted)?, &smoothed)?
    } else {
        ops::subtract(&lse, &score)?
    };
    reduce(weighted("cross_entropy", loss, weights)?, reduction)
}

/// Binary cross entropy of logits (or probabilities with `with_logits = false`, logs
/// clipped at -100). MLX's default reduction: mean.
pub fn binary_cross_entropy(
    inputs: &Array,
    targets: &Array,
    weights: Option<&Array>,
    with_logits: bool,
    reduction: Reduction,
) -> Result<Array> {
    same_shape("binary_cross_entropy", inputs, targets, "targets")?;
    let loss = if with_logits {
        ops::subtract(
            &ops::logaddexp(0.0, inputs)?,
            &ops::multiply(inputs, targets)?,
        )?
    } else {
        let lp = ops::maximum(&ops::log(inputs)?, -100.0)?;
        let lq = ops::maximum(&ops::log(&ops::subtract(1.0, inputs)?)?, -100.0)?;
        let t = ops::add(
            &ops::multiply(targets, &lp)?,
            &ops::multiply(&ops::subtract(1.0, targets)?, &lq)?,
        )?;
        ops::negative(&t)?
    };
    reduce(weighted("binary_cross_entropy", loss, weights)?, reduction)
}

/// Negative log likelihood of log-probabilities at class indices. MLX's default: none.
pub fn nll_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    let g = ops::take_along_axis(inputs, &ops::expand_dims(targets, &[axis])?, Some(axis))?;
    reduce(ops::negative(&ops::squeeze(&g, Some(&[axis]))?)?, reduction)
}

/// Mean squared error. MLX's default reduction: mean.
pub fn mse_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape("mse_loss", predictions, targets, "targets")?;
    reduce(
        ops::square(&ops::subtract(predictions, targets)?)?,
        reduction,
    )
}

/// Mean absolute error. MLX's default reduction: mean.
pub fn l1_loss(predictions: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    same_shape("l1_loss", predictions, targets, "targets")?;
    reduce(ops::abs(&ops::subtract(predictions, targets)?)?, reduction)
}

/// Smooth L1: `0.5 d^2 / beta` below `beta`, `|d| - 0.5 beta` above. MLX's default: mean.
pub fn smooth_l1_loss(
    predictions: &Array,
    targets: &Array,
    beta: f32,
    reduction: Reduction,
) -> Result<Array> {
    same_shape("smooth_l1_loss", predictions, targets, "targets")?;
    let d = ops::abs(&ops::subtract(predictions, targets)?)?;
    let q = ops::divide(&ops::multiply(&ops::square(&d)?, 0.5)?, beta)?;
    let l = ops::subtract(&d, 0.5 * beta)?;
    reduce(ops::r#where(&ops::less(&d, beta)?, &q, &l)?, reduction)
}

/// Huber: quadratic up to `delta`, linear beyond. MLX's default reduction: none.
pub fn huber_loss(
    inputs: &Array,
    targets: &Array,
    delta: f32,
    reduction: Reduction,
) -> Result<Array> {
    let a = ops::abs(&ops::subtract(inputs, targets)?)?;
    let q = ops::minimum(&a, delta)?;
    let lin = ops::subtract(&a, &q)?;
    let loss = ops::add(
        &ops::multiply(&ops::square(&q)?, 0.5)?,
        &ops::multiply(&lin, delta)?,
    )?;
    reduce(loss, reduction)
}

/// KL divergence of log-probabilities: `sum(exp(t) * (t - x), axis)`. MLX's default: none.
pub fn kl_div_loss(
    inputs: &Array,
    targets: &Array,
    axis: isize,
    reduction: Reduction,
) -> Result<Array> {
    let l = ops::sum(
        &ops::multiply(&ops::exp(targets)?, &ops::subtract(targets, inputs)?)?,
        Some(&[axis]),
        false,
    )?;
    reduce(l, reduction)
}

/// `log(cosh(x - t))`, computed as `logaddexp(d, -d) - log 2`. MLX's default: none.
pub fn log_cosh_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    let d = ops::subtract(inputs, targets)?;
    let l = ops::subtract(
        &ops::logaddexp(&d, &ops::negative(&d)?)?,
        std::f32::consts::LN_2,
    )?;
    reduce(l, reduction)
}

/// Cosine similarity along `axis`: `sum(x1 x2) / max(|x1| |x2|, eps)`. MLX's default: none.
pub fn cosine_similarity_loss(
    x1: &Array,
    x2: &Array,
    axis: isize,
    eps: f32,
    reduction: Reduction,
) -> Result<Array> {
    let n1 = ops::sqrt(&ops::sum(&ops::square(x1)?, Some(&[axis]), false)?)?;
    let n2 = ops::sqrt(&ops::sum(&ops::square(x2)?, Some(&[axis]), false)?)?;
    let dot = ops::sum(&ops::multiply(x1, x2)?, Some(&[axis]), false)?;
    reduce(
        ops::divide(&dot, &ops::maximum(&ops::multiply(&n1, &n2)?, eps)?)?,
        reduction,
    )
}

/// Hinge: `max(1 - x t, 0)`. MLX's default reduction: none.
pub fn hinge_loss(inputs: &Array, targets: &Array, reduction: Reduction) -> Result<Array> {
    reduce(
        ops::maximum(&ops::subtract(1.0, &ops::multiply(inputs, targets)?)?, 0.0)?,
        reduction,
    )
}

/// Margin ranking: `max(0, -t (x1 - x2) + margin)`. MLX's default reduction: none.
pub fn margin_ranking_loss(
    inputs1: &Array,
    inputs2: &Array,
    targets: &Array,
    margin: f32,
    reduction: Reduction,
) -> Result<Array> {
    if inputs1.shape() != inputs2.shape() || inputs1.shape() != targets.shape() {
        return Err(Error::Shape(format!(
            "margin_ranking_loss: the shapes of the arguments do not match: {:?}, {:?}, {:?}",
            inputs1.shape(),
            inputs2.shape(),
            targets.shape()
        )));
    }
    let d = ops::subtract(inputs1, inputs2)?;
    let l = ops::add(&ops::negative(&ops::multiply(targets, &d)?)?, margin)?;
    reduce(ops::maximum(&l, 0.0)?, reduction)
}

/// Triplet margin loss with `p`-norm distances along `axis`. MLX's default reduction: none.
#[allow(clippy::too_many_arguments)]
pub fn triplet_loss(
    anchors: &Array,
    positives: &Array,
    negatives: &Array,
    axis: isize,
    p: f32,
    margin: f32,
    eps: f32,
    reduction: Reduction,
) -> Result<Array> {
    let dist = |o: &Array| -> Result<Array> {
        let s = ops::sum(
            &ops::power(&ops::abs(&ops::subtract(anchors, o)?)?, p)?,
            Some(&[axis]),
            false,
        )?;
        ops::power(&ops::add(&s, eps)?, 1.0 / p)
    };
    let l = ops::add(
        &ops::subtract(&dist(positives)?, &dist(negatives)?)?,
        margin,
    )?;
    reduce(ops::maximum(&l, 0.0)?, reduction)
}

/// Gaussian negative log likelihood with predicted variances (clamped at `eps`; `full`
/// adds `0.5 log(2 pi)`). MLX's default reduction: mean.
pub fn gaussian_nll_loss(
    inputs: &Array,
    targets: &Array,
    vars: &Array,
    full: bool,
    eps: f32,
    reduction: Reduction,
) -> Result<Array> {
    same_shape("gaussian_nll_loss", inputs, targets, "targets")?;
    same_shape("gaussian_nll_loss", inputs, vars, "vars")?;
    let v = ops::maximum(vars, eps)?;
    let t = ops::add(
        &ops::log(&v)?,
        &ops::divide(&ops::square(&ops::subtract(targets, inputs)?)?, &v)?,
    )?;
    let mut l = ops::multiply(&t, 0.5)?;
    if full {
        l = ops::add(&l, 0.5 * (2.0 * std::f32::consts::PI).ln())?;
    }
    reduce(l, reduction)
}
