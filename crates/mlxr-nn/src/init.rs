//! Parameter initializers with MLX's definitions (`mlx.nn.init`): each returns an array of
//! the given shape and dtype drawn from the global random key (or filled).

use mlxr::{ops, random, Array, Dtype, Error, Result};

/// Every element `value`.
pub fn constant(shape: &[usize], value: f32, dtype: Dtype) -> Result<Array> {
    ops::full(shape, value, Some(dtype))
}

/// Normal samples with the given mean and standard deviation.
pub fn normal(shape: &[usize], mean: f32, std: f32, dtype: Dtype) -> Result<Array> {
    random::normal(shape, dtype, mean, std, None)
}

/// Uniform samples in `[low, high)`.
pub fn uniform(shape: &[usize], low: f32, high: f32, dtype: Dtype) -> Result<Array> {
    random::uniform(low, high, shape, dtype, None)
}

/// The identity matrix (a square 2-D shape is required).
pub fn identity(shape: &[usize], dtype: Dtype) -> Result<Array> {
    if shape.len() != 2 || shape[0] != shape[1] {
        return Err(Error::Shape(format!(
            "init.identity: the shape must be square 2-D, got {shape:?}"
        )));
    }
    ops::eye(shape[0], None, 0, Some(dtype))
}

/// `(fan_in, fan_out)` of a weight shape as MLX computes it: the last axis is the input,
/// the first the output, and the axes between multiply both (receptive field).
pub fn fans(shape: &[usize]) -> Result<(f32, f32)> {
    match shape.len() {
        0 | 1 => Err(Error::Shape(format!(
            "init: fan in and fan out need at least 2 dimensions, got shape {shape:?}"
        ))),
        2 => Ok((shape[1] as f32, shape[0] as f32)),
        _ => {
            let rf: usize = shape[1..shape.len() - 1].iter().product();
            Ok(((shape[shape.len() - 1] * rf) as f32, (shape[0] * rf) as f32))
        }
    }
}

/// Glorot (Xavier) normal: std `gain * sqrt(2 / (fan_in + fan_out))`.
pub fn glorot_normal(shape: &[usize], gain: f32, dtype: Dtype) -> Result<Array> {
    let (fi, fo) = fans(shape)?;
    normal(shape, 0.0, gain * (2.0 / (fi + fo)).sqrt(), dtype)
}

/// Glorot (Xavier) uniform: limit `gain * sqrt(6 / (fan_in + fan_out))`.
pub fn glorot_uniform(shape: &[usize], gain: f32, dtype: Dtype) -> Result<Array> {
    let (fi, fo) = fans(shape)?;
    let l = gain * (6.0 / (fi + fo)).sqrt();
    uniform(shape, -l, l, dtype)
}

/// Which fan He initialization scales by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanMode {
    /// The input fan.
    FanIn,
    /// The output fan.
    FanOut,
}

fn fan(shape: &[usize], mode: FanMode) -> Result<f32> {
    let (fi, fo) = fans(shape)?;
    Ok(match mode {
        FanMode::FanIn => fi,
        FanMode::FanOut => fo,
    })
}

/// He (Kaiming) normal: std `gain / sqrt(fan)`.
pub fn he_normal(shape: &[usize], mode: FanMode, gain: f32, dtype: Dtype) -> Result<Array> {
    normal(shape, 0.0, gain / fan(shape, mode)?.sqrt(), dtype)
}

/// He (Kaiming) uniform: limit `gain * sqrt(3 / fan)`.
pub fn he_uniform(shape: &[usize], mode: FanMode, gain: f32, dtype: Dtype) -> Result<Array> {
    let l = gain * (3.0 / fan(shape, mode)?).sqrt();
    uniform(shape, -l, l, dtype)
}
