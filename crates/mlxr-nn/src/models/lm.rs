//! The decoder-only transformer language model of the main job (`examples/train_lm.rs`)
//! and of the training-throughput benchmark (`bench/src/bench_train.rs`): token embedding,
//! pre-norm blocks of causal self-attention with RoPE and a SwiGLU feed-forward (RMSNorm,
//! no biases), a final RMSNorm and the embedding reused as the output projection. Its
//! three sizes are `tiny` (2 layers, 128 wide, 4 heads), `small` (4 x 256, 8 heads) and
//! `base` (8 x 512, 8 heads).

use crate::layers::{
    attention::scaled_dot_product_attention, Embedding, Linear, MultiHeadAttention, RMSNorm, RoPE,
};
use crate::losses::{cross_entropy, Reduction};
use crate::{activations, module};
use mlxr::{ops, Array, Dtype, Error, Result};

/// The shape of an [`Lm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LmConfig {
    /// Vocabulary size.
    pub vocab: usize,
    /// Model width.
    pub dims: usize,
    /// Number of blocks.
    pub layers: usize,
    /// Attention heads per block.
    pub heads: usize,
}

impl LmConfig {
    /// A named size: `tiny` (2 layers x 128, 4 heads), `small` (4 x 256, 8 heads) or `base`
    /// (8 x 512, 8 heads).
    pub fn named(size: &str, vocab: usize) -> Result<LmConfig> {
        let (dims, layers, heads) = match size {
            "tiny" => (128, 2, 4),
            "small" => (256, 4, 8),
            "base" => (512, 8, 8),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "LmConfig: unknown size '{size}' (tiny, small or base)"
                )))
            }
        };
        Ok(LmConfig {
            vocab,
            dims,
            layers,
            heads,
        })
    }
    /// The SwiGLU hidden width: `8 dims / 3` rounded down to a multiple of 16.
    pub fn hidden(&self) -> usize {
        8 * self.dims / 3 / 16 * 16
    }
}

/// One block: pre-norm causal self-attention with RoPE, then a SwiGLU feed-forward, each
/// with a residual connection.
#[derive(Clone)]
pub struct LmBlock {
    /// Norm before attention.
    pub attention_norm: RMSNorm,
    /// Query projection.
    pub wq: Linear,
    /// Key projection.
    pub wk: Linear,
    /// Value projection.
    pub wv: Linear,
    /// Output projection.
    pub wo: Linear,
    /// Norm before the feed-forward.
    pub ffn_norm: RMSNorm,
    /// Gate projection (`silu(w1 x) * w3 x`).
    pub w1: Linear,
    /// Down projection.
    pub w2: Linear,
    /// Up projection.
    pub w3: Linear,
    /// Attention heads.
    pub heads: usize,
    /// Rotary encoding of the head features.
    pub rope: RoPE,
}
module!(LmBlock {
    attention_norm,
    wq,
    wk,
    wv,
    wo,
    ffn_norm,
    w1,
    w2,
    w3
});

impl LmBlock {
    /// A block of width `dims` with `heads` heads.
    pub fn new(dims: usize, heads: usize, hidden: usize) -> Result<LmBlock> {
        if heads == 0 || !dims.is_multiple_of(heads) {
            return Err(Error::InvalidArgument(format!(
                "LmBlock: dims {dims} is not divisible by heads {heads}"
            )));
        }
        Ok(LmBlock {
            attention_norm: RMSNorm::new(dims, 1e-5)?,
            wq: Linear::new(dims, dims, false)?,
            wk: Linear::new(dims, dims, false)?,
            wv: Linear::new(dims, dims, false)?,
            wo: Linear::new(dims, dims, false)?,
            ffn_norm: RMSNorm::new(dims, 1e-5)?,
            w1: Linear::new(dims, hidden, false)?,
            w2: Linear::new(hidden, dims, false)?,
            w3: Linear::new(dims, hidden, false)?,
            heads,
            rope: RoPE::new(dims / heads, false, 10000.0, 1.0)?,
        })
    }
    /// Apply to `x (B, L, dims)` with the additive causal `mask (L, L)`.
    pub fn forward(&self, x: &Array, mask: &Array) -> Result<Array> {
        if x.ndim() != 3 {
            return Err(Error::Shape(format!(
                "LmBlock: the input must be (B, L, dims), got {:?}",
                x.shape()
            )));
        }
        let (b, l, d) = (x.shape()[0], x.shape()[1], x.shape()[2]);
        let h = self.attention_norm.forward(x)?;
        let split = |t: Array| -> Result<Array> {
            ops::transpose_axes(
                &ops::reshape_to(&t, &[b, l, self.heads, d / self.heads])?,
                &[0, 2, 1, 3],
            )
        };
        let q = self.rope.forward(&split(self.wq.forward(&h)?)?, 0)?;
        let k = self.rope.forward(&split(self.wk.forward(&h)?)?, 0)?;
        let v = split(self.wv.forward(&h)?)?;
        let scale = (1.0 / (d / self.heads) as f32).sqrt();
        let o = scaled_dot_product_attention(&q, &k, &v, scale, Some(mask))?;
        let o = ops::reshape_to(&ops::transpose_axes(&o, &[0, 2, 1, 3])?, &[b, l, d])?;
        let x = ops::add(x, &self.wo.forward(&o)?)?;
        let h = self.ffn_norm.forward(&x)?;
        let gate = activations::silu(&self.w1.forward(&h)?)?;
        let ff = self
            .w2
            .forward(&ops::multiply(&gate, &self.w3.forward(&h)?)?)?;
        ops::add(&x, &ff)
    }
}

/// The language model: `embedding`, `layers.<i>` ([`LmBlock`]s), `norm`; the logits are
/// `norm(x) @ embedding.weight.T` (tied weights).
#[derive(Clone)]
pub struct Lm {
    /// Token embedding (also the output projection).
    pub embedding: Embedding,
    /// The blocks.
    pub layers: Vec<LmBlock>,
    /// The final norm.
    pub norm: RMSNorm,
}
module!(Lm {
    embedding,
    layers,
    norm
});

impl Lm {
    /// A model of the given shape with random weights from the global key.
    pub fn new(cfg: LmConfig) -> Result<Lm> {
        Ok(Lm {
            embedding: Embedding::new(cfg.vocab, cfg.dims)?,
            layers: (0..cfg.layers)
                .map(|_| LmBlock::new(cfg.dims, cfg.heads, cfg.hidden()))
                .collect::<Result<_>>()?,
            norm: RMSNorm::new(cfg.dims, 1e-5)?,
        })
    }
    /// The logits `(B, L, vocab)` of the next token after each of `tokens (B, L)`.
    pub fn forward(&self, tokens: &Array) -> Result<Array> {
        if tokens.ndim() != 2 {
            return Err(Error::Shape(format!(
                "Lm: the tokens must be (B, L), got {:?}",
                tokens.shape()
            )));
        }
        let l = tokens.shape()[1];
        let mask = MultiHeadAttention::create_additive_causal_mask(l, Dtype::Float32)?;
        let mut x = self.embedding.forward(tokens)?;
        for b in &self.layers {
            x = b.forward(&x, &mask)?;
        }
        self.embedding.as_linear(&self.norm.forward(&x)?)
    }
    /// The mean cross-entropy of predicting `targets (B, L)` from `tokens (B, L)`.
    pub fn loss(&self, tokens: &Array, targets: &Array) -> Result<Array> {
        cross_entropy(
            &self.forward(tokens)?,
            targets,
            None,
            -1,
            0.0,
            Reduction::Mean,
        )
    }
}
