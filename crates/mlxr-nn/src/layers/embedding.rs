//! `Embedding`: a lookup table of vectors, with `as_linear` for tied output projections.

use crate::{module, Param};
use mlxr::{ops, random, Array, Dtype, Result};

/// A table of `num_embeddings` vectors of `dims`, initialised normal with std
/// `sqrt(1/dims)`, as MLX.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// `(num_embeddings, dims)`.
    pub weight: Param,
}
module!(Embedding { weight });

impl Embedding {
    /// A new table with random weights from the global key.
    pub fn new(num_embeddings: usize, dims: usize) -> Result<Embedding> {
        let s = (1.0 / dims as f32).sqrt();
        Ok(Embedding {
            weight: Param::new(random::normal(
                &[num_embeddings, dims],
                Dtype::Float32,
                0.0,
                s,
                None,
            )?),
        })
    }
    /// The rows at the integer indices `x` (shape `x.shape ++ [dims]`).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        ops::take(&self.weight, x, Some(0))
    }
    /// `x @ weight.T`: the embedding used as an output projection (tied weights).
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        ops::matmul(x, &ops::transpose(&self.weight)?)
    }
}
