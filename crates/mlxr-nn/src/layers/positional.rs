//! Positional encodings: `RoPE` (rotary, MLX's `fast.rope` semantics) and
//! `SinusoidalPositionalEncoding`.

use crate::module;
use mlxr::{ops, Array, Dtype, Error, Result};

/// Rotary positional encoding of the first `dims` features of the last axis, with positions
/// along the second-to-last axis (`offset + i`, times `scale`). The default rotates the
/// feature pairs `(j, j + dims/2)`; `traditional` rotates consecutive pairs `(2j, 2j+1)`.
#[derive(Debug, Clone)]
pub struct RoPE {
    /// Features rotated (even).
    pub dims: usize,
    /// Rotate consecutive pairs instead of halves.
    pub traditional: bool,
    /// Base of the frequencies (`base^(-2j/dims)`).
    pub base: f32,
    /// Multiplies the positions.
    pub scale: f32,
}
module!(RoPE {});

impl RoPE {
    /// A new encoding (MLX's defaults: `traditional = false`, `base = 10000`, `scale = 1`).
    pub fn new(dims: usize, traditional: bool, base: f32, scale: f32) -> Result<RoPE> {
        if dims == 0 || !dims.is_multiple_of(2) {
            return Err(Error::InvalidArgument(format!(
                "RoPE: dims must be even and positive, got {dims}"
            )));
        }
        Ok(RoPE {
            dims,
            traditional,
            base,
            scale,
        })
    }
    /// Apply to `x (..., L, D)` with positions starting at `offset`.
    pub fn forward(&self, x: &Array, offset: usize) -> Result<Array> {
        if x.ndim() < 2 || x.shape()[x.ndim() - 1] < self.dims {
            return Err(Error::Shape(format!(
                "RoPE: the input of shape {:?} needs at least 2 dimensions and {} features",
                x.shape(),
                self.dims
            )));
        }
        let nd = x.ndim();
        let (l, d) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let half = self.dims / 2;
        // theta[t, j] = (offset + t) * scale * base^(-2j/dims), in float32.
        let pos = ops::multiply(
            &ops::arange_range(
                offset as f64,
                (offset + l) as f64,
                1.0,
                Some(Dtype::Float32),
            )?,
            self.scale,
        )?;
        let j = ops::arange_range(0, half as i64, 1, Some(Dtype::Float32))?;
        let inv = ops::exp(&ops::multiply(
            &j,
            -2.0 * self.base.ln() / self.dims as f32,
        )?)?;
        let theta = ops::multiply(
            &ops::expand_dims(&pos, &[1])?,
            &ops::expand_dims(&inv, &[0])?,
        )?;
        let (cos, sin) = (ops::cos(&theta)?, ops::sin(&theta)?);
        let xf = ops::astype(x, Dtype::Float32)?;
        let rot = ops::slice(
            &xf,
            &vec![0; nd],
            &{
                let mut s = x.shape().iter().map(|&v| v as isize).collect::<Vec<_>>();
                s[nd - 1] = self.dims as isize;
                s
            },
            &vec![1; nd],
        )?;
        let (x1, x2) = if self.traditional {
            let mut shape = rot.shape().to_vec();
            shape[nd - 1] = half;
            shape.push(2);
            let pairs = ops::reshape_to(&rot, &shape)?;
            let p = ops::split(&pairs, 2usize, -1)?;
            (
                ops::squeeze(&p[0], Some(&[-1]))?,
                ops::squeeze(&p[1], Some(&[-1]))?,
            )
        } else {
            let p = ops::split(&rot, 2usize, -1)?;
            (p[0].clone(), p[1].clone())
        };
        let o1 = ops::subtract(&ops::multiply(&x1, &cos)?, &ops::multiply(&x2, &sin)?)?;
        let o2 = ops::add(&ops::multiply(&x1, &sin)?, &ops::multiply(&x2, &cos)?)?;
        let rotated = if self.traditional {
            let s = ops::stack(&[o1, o2], -1)?;
            let mut shape = s.shape().to_vec();
            shape.pop();
            shape[nd - 1] = self.dims;
            ops::reshape_to(&s, &shape)?
        } else {
            ops::concatenate(&[o1, o2], -1)?
        };
        let out = if self.dims < d {
            let mut start = vec![0isize; nd];
            start[nd - 1] = self.dims as isize;
            let stop: Vec<isize> = x.shape().iter().map(|&v| v as isize).collect();
            let rest = ops::slice(&xf, &start, &stop, &vec![1; nd])?;
            ops::concatenate(&[rotated, rest], -1)?
        } else {
            rotated
        };
        ops::astype(&out, x.dtype())
    }
}

/// Sinusoidal encoding of real positions: `[sin(x * sigma), cos(x * sigma)] * scale` with
/// `dims / 2` frequencies `sigma` spaced geometrically from `max_freq` down to `min_freq`.
#[derive(Debug, Clone)]
pub struct SinusoidalPositionalEncoding {
    sigmas: Array,
    /// Multiplies the output (MLX's default `sqrt(2 / dims)`).
    pub scale: f32,
    /// Put the cosines first.
    pub cos_first: bool,
}
module!(SinusoidalPositionalEncoding {});

impl SinusoidalPositionalEncoding {
    /// A new encoding (MLX's defaults: `min_freq = 1e-4`, `max_freq = 1`, `scale = None`,
    /// `cos_first = false`, `full_turns = false`).
    pub fn new(
        dims: usize,
        min_freq: f32,
        max_freq: f32,
        scale: Option<f32>,
        cos_first: bool,
        full_turns: bool,
    ) -> Result<Self> {
        if dims < 2 {
            return Err(Error::InvalidArgument(format!(
                "SinusoidalPositionalEncoding: dims must be at least 2, got {dims}"
            )));
        }
        let h = dims / 2;
        let one_zero = if h == 1 {
            Array::from_slice(&[1.0f32], &[1])?
        } else {
            ops::subtract(
                1.0,
                &ops::divide(
                    &ops::arange_range(0, h as i64, 1, Some(Dtype::Float32))?,
                    (h - 1) as f32,
                )?,
            )?
        };
        let (lo, hi) = (min_freq.ln(), max_freq.ln());
        let mut sigmas = ops::exp(&ops::add(&ops::multiply(&one_zero, hi - lo)?, lo)?)?;
        if full_turns {
            sigmas = ops::multiply(&sigmas, 2.0 * std::f32::consts::PI)?;
        }
        Ok(SinusoidalPositionalEncoding {
            sigmas,
            scale: scale.unwrap_or((2.0 / dims as f32).sqrt()),
            cos_first,
        })
    }
    /// Encode `x` (any shape; the output adds a last axis of `dims`).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = ops::multiply(&ops::expand_dims(x, &[-1])?, &self.sigmas)?;
        let (c, s) = (ops::cos(&y)?, ops::sin(&y)?);
        let y = if self.cos_first {
            ops::concatenate(&[c, s], -1)?
        } else {
            ops::concatenate(&[s, c], -1)?
        };
        if self.scale != 1.0 {
            ops::multiply(&y, self.scale)
        } else {
            Ok(y)
        }
    }
}

/// Attention with linear biases (MLX's `ALiBi`): adds `-|i - j| * slope_h` to the attention
/// scores of head `h` (query position `i`, key position `j`), with geometric per-head slopes.
/// It has no parameters.
#[derive(Debug, Clone, Default)]
pub struct ALiBi;
module!(ALiBi {});

/// The slopes of `n` heads (the paper's geometric sequence, interleaved for counts that are
/// not powers of two), as MLX computes them in double precision.
fn alibi_slopes(n: usize) -> Vec<f64> {
    let l = (n as f64).log2();
    if l.fract() == 0.0 {
        let start = 2f64.powf(-(2f64.powf(-(l - 3.0))));
        (0..n).map(|i| start * start.powi(i as i32)).collect()
    } else {
        let p = 1usize << l.floor() as u32;
        let mut s = alibi_slopes(p);
        s.extend(alibi_slopes(2 * p).into_iter().step_by(2).take(n - p));
        s
    }
}

impl ALiBi {
    /// The per-head slopes, shape `(num_heads, 1, 1)` (MLX's `create_alibi_slope`).
    pub fn create_alibi_slope(num_heads: usize, dtype: Dtype) -> Result<Array> {
        if num_heads == 0 {
            return Err(Error::InvalidArgument(
                "ALiBi: num_heads must be positive".into(),
            ));
        }
        let s: Vec<f32> = alibi_slopes(num_heads).iter().map(|&v| v as f32).collect();
        ops::astype(&Array::from_slice(&s, &[num_heads, 1, 1])?, dtype)
    }
    /// The bias `(1, num_heads, q_sequence_length - offset, k_sequence_length)` (MLX's
    /// `create_alibi_matrix`: query positions `offset..q_sequence_length`).
    pub fn create_alibi_matrix(
        q_sequence_length: usize,
        k_sequence_length: usize,
        num_heads: usize,
        offset: usize,
        dtype: Dtype,
    ) -> Result<Array> {
        if offset > q_sequence_length {
            return Err(Error::InvalidArgument(format!(
                "ALiBi: offset {offset} exceeds the query length {q_sequence_length}"
            )));
        }
        let x1 = ops::arange_range(offset as i64, q_sequence_length as i64, 1, None)?;
        let x2 = ops::arange_range(0, k_sequence_length as i64, 1, None)?;
        let d = ops::subtract(&ops::expand_dims(&x1, &[1])?, &ops::expand_dims(&x2, &[0])?)?;
        let dist = ops::negative(&ops::abs(&ops::expand_dims(&d, &[0, 1])?)?)?;
        let slope = Self::create_alibi_slope(num_heads, dtype)?;
        ops::astype(&ops::multiply(&dist, &slope)?, dtype)
    }
    /// Add the biases to `attention_scores (B, heads, L, S)` (queries at positions
    /// `offset..offset + L`), plus `mask` when given.
    pub fn forward(
        &self,
        attention_scores: &Array,
        offset: usize,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let nd = attention_scores.ndim();
        if nd < 2 {
            return Err(Error::Shape(format!(
                "ALiBi: the attention scores need at least 2 dimensions (B, heads, L, S), got {:?}",
                attention_scores.shape()
            )));
        }
        let sh = attention_scores.shape();
        let mut bias = Self::create_alibi_matrix(
            sh[nd - 2] + offset,
            sh[nd - 1],
            sh[1],
            offset,
            attention_scores.dtype(),
        )?;
        if let Some(m) = mask {
            bias = ops::add(&bias, m)?;
        }
        ops::add(attention_scores, &bias)
    }
}
