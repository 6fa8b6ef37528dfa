//! `MultiHeadAttention` (MLX's layer: query/key/value/output projections, scaled dot-product
//! attention per head with an optional additive or boolean mask) and the causal mask helper.

use super::Linear;
use crate::module;
use mlxr::{ops, Array, Dtype, Error, Result};

/// Multi-head attention with `num_heads` heads over `dims` features.
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    /// Queries projection.
    pub query_proj: Linear,
    /// Keys projection.
    pub key_proj: Linear,
    /// Values projection.
    pub value_proj: Linear,
    /// Output projection.
    pub out_proj: Linear,
    /// Number of heads.
    pub num_heads: usize,
}
module!(MultiHeadAttention {
    query_proj,
    key_proj,
    value_proj,
    out_proj
});

impl MultiHeadAttention {
    /// A new layer with MLX's defaults for the optional dimensions (all `dims`) and `bias`.
    pub fn new(dims: usize, num_heads: usize, bias: bool) -> Result<Self> {
        if num_heads == 0 || !dims.is_multiple_of(num_heads) {
            return Err(Error::InvalidArgument(format!(
                "The input feature dimensions should be divisible by the number of heads ({dims} % {num_heads}) != 0"
            )));
        }
        Ok(MultiHeadAttention {
            query_proj: Linear::new(dims, dims, bias)?,
            key_proj: Linear::new(dims, dims, bias)?,
            value_proj: Linear::new(dims, dims, bias)?,
            out_proj: Linear::new(dims, dims, bias)?,
            num_heads,
        })
    }
    /// Attend: `queries (B, L, D)`, `keys`/`values (B, S, D)`; `mask` broadcasts to
    /// `(B, heads, L, S)` and is added (float) or selects (bool, false = masked out).
    pub fn forward(
        &self,
        queries: &Array,
        keys: &Array,
        values: &Array,
        mask: Option<&Array>,
    ) -> Result<Array> {
        let heads = |x: &Array| -> Result<Array> {
            let (b, l, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
            ops::transpose_axes(
                &ops::reshape_to(x, &[b, l, self.num_heads, d / self.num_heads])?,
                &[0, 2, 1, 3],
            )
        };
        for (n, x) in [("queries", queries), ("keys", keys), ("values", values)] {
            if x.ndim() != 3 {
                return Err(Error::Shape(format!(
                    "MultiHeadAttention: {n} must be (B, L, D), got {:?}",
                    x.shape()
                )));
            }
        }
        let q = heads(&self.query_proj.forward(queries)?)?;
        let k = heads(&self.key_proj.forward(keys)?)?;
        let v = heads(&self.value_proj.forward(values)?)?;
        let o = scaled_dot_product_attention(&q, &k, &v, (1.0 / q.shape()[3] as f32).sqrt(), mask)?;
        let (b, l) = (o.shape()[0], o.shape()[2]);
        let o = ops::reshape_to(
            &ops::transpose_axes(&o, &[0, 2, 1, 3])?,
            &[b, l, o.shape()[1] * o.shape()[3]],
        )?;
        self.out_proj.forward(&o)
    }
    /// MLX's `create_additive_causal_mask(N)`: 0 on and below the diagonal, the dtype's
    /// lowest value above it.
    pub fn create_additive_causal_mask(n: usize, dtype: Dtype) -> Result<Array> {
        let i = ops::arange(n as i64)?;
        let m = ops::less(&ops::expand_dims(&i, &[1])?, &ops::expand_dims(&i, &[0])?)?;
        let lowest = match dtype {
            Dtype::Float16 => f32::from(mlxr::f16::MIN) as f64,
            Dtype::Bfloat16 => f32::from(mlxr::bf16::MIN) as f64,
            Dtype::Float64 => f64::MIN,
            _ => f32::MIN as f64,
        };
        ops::multiply(
            &ops::astype(&m, dtype)?,
            ops::full(&[], lowest, Some(dtype))?,
        )
    }
}

/// `softmax(q @ k.T * scale + mask) @ v` over the last two axes (`q (..., L, E)`, `k (..., S, E)`,
/// `v (..., S, Ev)`), the softmax in float32 precision; a bool mask selects (false =
/// excluded), a float mask is added.
pub fn scaled_dot_product_attention(
    q: &Array,
    k: &Array,
    v: &Array,
    scale: f32,
    mask: Option<&Array>,
) -> Result<Array> {
    let s = ops::matmul(&ops::multiply(q, scale)?, &ops::swapaxes(k, -1, -2)?)?;
    let s = match mask {
        None => s,
        Some(m) if m.dtype() == Dtype::Bool => {
            ops::r#where(m, &s, &ops::full(&[], f32::NEG_INFINITY, Some(s.dtype()))?)?
        }
        Some(m) => ops::add(&s, m)?,
    };
    let p = ops::softmax(&s, Some(&[-1]), true)?;
    ops::matmul(&p, v)
}
