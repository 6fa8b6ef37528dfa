//! Activation functions with MLX's definitions (`mlx.nn` functions of the same names).

use mlxr::ops;
use mlxr::{Array, Result};
use std::sync::Arc;

/// An activation passed to a layer (MLX's callables such as `nn.relu`): e.g.
/// `Arc::new(activations::gelu)`.
pub type Activation = Arc<dyn Fn(&Array) -> Result<Array> + Send + Sync>;

/// `max(x, 0)`.
pub fn relu(x: &Array) -> Result<Array> {
    ops::maximum(x, 0.0)
}
/// `min(max(x, 0), 6)`.
pub fn relu6(x: &Array) -> Result<Array> {
    ops::minimum(&ops::maximum(x, 0.0)?, 6.0)
}
/// `max(x, slope * x)`.
pub fn leaky_relu(x: &Array, negative_slope: f32) -> Result<Array> {
    ops::maximum(&ops::multiply(x, negative_slope)?, x)
}
/// `x` where `x > 0`, else `alpha * (exp(x) - 1)`.
pub fn elu(x: &Array, alpha: f32) -> Result<Array> {
    ops::r#where(
        &ops::greater(x, 0.0)?,
        x,
        &ops::multiply(&ops::expm1(x)?, alpha)?,
    )
}
/// `max(x, 0) + alpha * (exp(min(x, 0) / alpha) - 1)`.
pub fn celu(x: &Array, alpha: f32) -> Result<Array> {
    let neg = ops::multiply(
        &ops::expm1(&ops::divide(&ops::minimum(x, 0.0)?, alpha)?)?,
        alpha,
    )?;
    ops::add(&ops::maximum(x, 0.0)?, &neg)
}
/// Scaled ELU with MLX's constants.
pub fn selu(x: &Array) -> Result<Array> {
    ops::multiply(&elu(x, 1.673_263_2)?, 1.050_701)
}
/// Exact GELU: `x * (1 + erf(x / sqrt 2)) / 2`.
pub fn gelu(x: &Array) -> Result<Array> {
    let e = ops::add(
        &ops::erf(&ops::multiply(x, std::f32::consts::FRAC_1_SQRT_2)?)?,
        1.0,
    )?;
    ops::divide(&ops::multiply(x, &e)?, 2.0)
}
/// Tanh approximation of GELU: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
pub fn gelu_approx(x: &Array) -> Result<Array> {
    let x3 = ops::multiply(&ops::power(x, 3.0)?, 0.044715)?;
    let t = ops::tanh(&ops::multiply(
        &ops::add(x, &x3)?,
        (2.0f32 / std::f32::consts::PI).sqrt(),
    )?)?;
    ops::multiply(&ops::multiply(x, 0.5)?, &ops::add(&t, 1.0)?)
}
/// Sigmoid approximation of GELU: `x * sigmoid(1.702 x)`.
pub fn gelu_fast_approx(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::sigmoid(&ops::multiply(x, 1.702)?)?)
}
/// `x * sigmoid(x)` (swish).
pub fn silu(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::sigmoid(x)?)
}
/// `log(1 + exp(x))`, computed as `logaddexp(x, 0)`.
pub fn softplus(x: &Array) -> Result<Array> {
    ops::logaddexp(x, 0.0)
}
/// `x * tanh(softplus(x))`.
pub fn mish(x: &Array) -> Result<Array> {
    ops::multiply(x, &ops::tanh(&softplus(x)?)?)
}
/// `x / (1 + |x|)`.
pub fn softsign(x: &Array) -> Result<Array> {
    ops::divide(x, &ops::add(&ops::abs(x)?, 1.0)?)
}
/// `1 / (1 + exp(-x))`.
pub fn sigmoid(x: &Array) -> Result<Array> {
    ops::sigmoid(x)
}
/// `-softplus(-x)`.
pub fn log_sigmoid(x: &Array) -> Result<Array> {
    ops::negative(&softplus(&ops::negative(x)?)?)
}
/// `tanh(x)`.
pub fn tanh(x: &Array) -> Result<Array> {
    ops::tanh(x)
}
/// `x * min(max(x + 3, 0), 6) / 6`.
pub fn hardswish(x: &Array) -> Result<Array> {
    let r = ops::minimum(&ops::maximum(&ops::add(x, 3.0)?, 0.0)?, 6.0)?;
    ops::divide(&ops::multiply(x, &r)?, 6.0)
}
/// `clip(x, min, max)`.
pub fn hard_tanh(x: &Array, min_val: f32, max_val: f32) -> Result<Array> {
    ops::minimum(&ops::maximum(x, min_val)?, max_val)
}
/// Gated linear unit: split `x` in two halves `a, b` along `axis`, `a * sigmoid(b)`.
pub fn glu(x: &Array, axis: isize) -> Result<Array> {
    let parts = ops::split(x, 2, axis)?;
    ops::multiply(&parts[0], &ops::sigmoid(&parts[1])?)
}
/// `max(0, x) + alpha * min(0, x)` with a learned `alpha`.
pub fn prelu(x: &Array, alpha: &Array) -> Result<Array> {
    ops::add(
        &ops::maximum(x, 0.0)?,
        &ops::multiply(alpha, &ops::minimum(x, 0.0)?)?,
    )
}
/// Softmax along `axis`.
pub fn softmax(x: &Array, axis: isize) -> Result<Array> {
    ops::softmax(x, Some(&[axis]), false)
}
/// `x - logsumexp(x)` along `axis`.
pub fn log_softmax(x: &Array, axis: isize) -> Result<Array> {
    ops::subtract(x, &ops::logsumexp(x, Some(&[axis]), true)?)
}
/// `1` where `x > threshold`, else `0` (in `x`'s dtype).
pub fn step(x: &Array, threshold: f32) -> Result<Array> {
    ops::astype(&ops::greater(x, threshold)?, x.dtype())
}
