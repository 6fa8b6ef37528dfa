//! Transformer layers (MLX's `TransformerEncoderLayer`, `TransformerEncoder`,
//! `TransformerDecoderLayer`, `TransformerDecoder`, `Transformer`): multi-head attention
//! without biases, LayerNorms `ln1..ln3`, an MLP `linear1`/`linear2` with an activation,
//! dropout after attention and the activation, pre-norm (`norm_first`, the default) or
//! post-norm, and optional gradient checkpointing of each layer. Parameter paths are MLX's
//! (`encoder.layers.0.attention.query_proj.weight`, `decoder.layers.1.cross_attention...`,
//! `encoder.ln.weight`), so weights load from MLX's files.

use super::{Dropout, LayerNorm, Linear, MultiHeadAttention};
use crate::activations::{self, Activation};
use crate::{module, Module, ModuleExt, Param};
use mlxr::{ops, Array, Result};
use std::sync::Arc;

fn relu() -> Activation {
    Arc::new(activations::relu)
}

/// Run `f(layer, inputs)` with gradient checkpointing: the layer's parameters become inputs
/// of a [`mlxr::checkpoint`]ed function, so its intermediates are recomputed in the backward
/// pass instead of being kept (as MLX's `nn.utils.checkpoint`).
fn checkpointed<L>(
    layer: &L,
    inputs: &[Array],
    f: fn(&L, &[Array]) -> Result<Array>,
) -> Result<Array>
where
    L: Module + Clone + Send + Sync + 'static,
{
    let params: Vec<Array> = layer
        .named_parameters()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    let n_in = inputs.len();
    let template = layer.clone();
    let run = mlxr::checkpoint(move |args: &[Array]| {
        let mut l = template.clone();
        let mut it = args[n_in..].iter();
        l.visit_mut("", &mut |_, p: &mut Param| {
            if let Some(a) = it.next() {
                p.value = a.clone();
            }
        });
        Ok(vec![f(&l, &args[..n_in])?])
    });
    let mut args = inputs.to_vec();
    args.extend(params);
    Ok(run(&args)?.remove(0))
}

/// Masks travel through `checkpointed` as inputs: the given ones in order, and which were given.
fn mask_args(masks: &[Option<&Array>]) -> (Vec<Array>, Vec<bool>) {
    let mut v = Vec::new();
    let mut present = Vec::new();
    for m in masks {
        present.push(m.is_some());
        if let Some(m) = m {
            v.push((*m).clone());
        }
    }
    (v, present)
}

/// One encoder layer: self-attention and an MLP, each with a residual connection.
#[derive(Clone)]
pub struct TransformerEncoderLayer {
    /// Self-attention (no biases).
    pub attention: MultiHeadAttention,
    /// Norm of the attention block.
    pub ln1: LayerNorm,
    /// Norm of the MLP block.
    pub ln2: LayerNorm,
    /// `dims -> mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims -> dims`.
    pub linear2: Linear,
    /// After attention.
    pub dropout1: Dropout,
    /// After the activation.
    pub dropout2: Dropout,
    /// The MLP's activation (MLX's default: relu).
    pub activation: Activation,
    /// Normalize before each block (pre-norm) instead of after the residual sum.
    pub norm_first: bool,
}
module!(TransformerEncoderLayer {
    attention,
    ln1,
    ln2,
    linear1,
    linear2,
    dropout1,
    dropout2
});

impl TransformerEncoderLayer {
    /// A new layer (MLX's defaults: `mlp_dims = 4 dims`, `dropout = 0`, relu, `norm_first`).
    pub fn new(
        dims: usize,
        num_heads: usize,
        mlp_dims: Option<usize>,
        dropout: f32,
        activation: Option<Activation>,
        norm_first: bool,
    ) -> Result<Self> {
        let mlp = mlp_dims.unwrap_or(4 * dims);
        Ok(TransformerEncoderLayer {
            attention: MultiHeadAttention::new(dims, num_heads, false)?,
            ln1: LayerNorm::new(dims, 1e-5, true, true)?,
            ln2: LayerNorm::new(dims, 1e-5, true, true)?,
            linear1: Linear::new(dims, mlp, true)?,
            linear2: Linear::new(mlp, dims, true)?,
            dropout1: Dropout::new(dropout)?,
            dropout2: Dropout::new(dropout)?,
            activation: activation.unwrap_or_else(relu),
            norm_first,
        })
    }
    fn mlp(&self, x: &Array) -> Result<Array> {
        let y = (self.activation)(&self.linear1.forward(x)?)?;
        self.linear2.forward(&self.dropout2.forward(&y)?)
    }
    /// Apply to `x (B, L, dims)`; `mask` is added to the attention scores (or selects, if
    /// bool).
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.attention.forward(&y, &y, &y, mask)?;
            let x = ops::add(x, &self.dropout1.forward(&y)?)?;
            let y = self.mlp(&self.ln2.forward(&x)?)?;
            ops::add(&x, &y)
        } else {
            let y = self.attention.forward(x, x, x, mask)?;
            let x = self
                .ln1
                .forward(&ops::add(x, &self.dropout1.forward(&y)?)?)?;
            let y = self.mlp(&x)?;
            self.ln2.forward(&ops::add(&x, &y)?)
        }
    }
}

/// A stack of encoder layers and a final LayerNorm `ln`.
#[derive(Clone)]
pub struct TransformerEncoder {
    /// The layers.
    pub layers: Vec<TransformerEncoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    /// Checkpoint each layer (recompute it in the backward pass).
    pub checkpoint: bool,
}
module!(TransformerEncoder { layers, ln });

impl TransformerEncoder {
    /// `num_layers` layers with the given options (MLX's argument order).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        num_layers: usize,
        dims: usize,
        num_heads: usize,
        mlp_dims: Option<usize>,
        dropout: f32,
        activation: Option<Activation>,
        norm_first: bool,
        checkpoint: bool,
    ) -> Result<Self> {
        Ok(TransformerEncoder {
            layers: (0..num_layers)
                .map(|_| {
                    TransformerEncoderLayer::new(
                        dims,
                        num_heads,
                        mlp_dims,
                        dropout,
                        activation.clone(),
                        norm_first,
                    )
                })
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims, 1e-5, true, true)?,
            checkpoint,
        })
    }
    /// Apply every layer, then the final norm.
    pub fn forward(&self, x: &Array, mask: Option<&Array>) -> Result<Array> {
        let mut x = x.clone();
        for l in &self.layers {
            x = if self.checkpoint {
                let (m, present) = mask_args(&[mask]);
                let mut inputs = vec![x];
                inputs.extend(m);
                if present[0] {
                    checkpointed(l, &inputs, |l, a| l.forward(&a[0], Some(&a[1])))?
                } else {
                    checkpointed(l, &inputs, |l, a| l.forward(&a[0], None))?
                }
            } else {
                l.forward(&x, mask)?
            };
        }
        self.ln.forward(&x)
    }
}

/// One decoder layer: self-attention, cross-attention over the encoder's output (`memory`)
/// and an MLP, each with a residual connection.
#[derive(Clone)]
pub struct TransformerDecoderLayer {
    /// Self-attention (no biases).
    pub self_attention: MultiHeadAttention,
    /// Attention over the memory (no biases).
    pub cross_attention: MultiHeadAttention,
    /// Norm of the self-attention block.
    pub ln1: LayerNorm,
    /// Norm of the cross-attention block.
    pub ln2: LayerNorm,
    /// Norm of the MLP block.
    pub ln3: LayerNorm,
    /// `dims -> mlp_dims`.
    pub linear1: Linear,
    /// `mlp_dims -> dims`.
    pub linear2: Linear,
    /// After self-attention.
    pub dropout1: Dropout,
    /// After cross-attention.
    pub dropout2: Dropout,
    /// After the activation.
    pub dropout3: Dropout,
    /// The MLP's activation (MLX's default: relu).
    pub activation: Activation,
    /// Pre-norm instead of post-norm.
    pub norm_first: bool,
}
module!(TransformerDecoderLayer {
    self_attention,
    cross_attention,
    ln1,
    ln2,
    ln3,
    linear1,
    linear2,
    dropout1,
    dropout2,
    dropout3
});

impl TransformerDecoderLayer {
    /// A new layer (MLX's defaults: `mlp_dims = 4 dims`, `dropout = 0`, relu, `norm_first`).
    pub fn new(
        dims: usize,
        num_heads: usize,
        mlp_dims: Option<usize>,
        dropout: f32,
        activation: Option<Activation>,
        norm_first: bool,
    ) -> Result<Self> {
        let mlp = mlp_dims.unwrap_or(4 * dims);
        Ok(TransformerDecoderLayer {
            self_attention: MultiHeadAttention::new(dims, num_heads, false)?,
            cross_attention: MultiHeadAttention::new(dims, num_heads, false)?,
            ln1: LayerNorm::new(dims, 1e-5, true, true)?,
            ln2: LayerNorm::new(dims, 1e-5, true, true)?,
            ln3: LayerNorm::new(dims, 1e-5, true, true)?,
            linear1: Linear::new(dims, mlp, true)?,
            linear2: Linear::new(mlp, dims, true)?,
            dropout1: Dropout::new(dropout)?,
            dropout2: Dropout::new(dropout)?,
            dropout3: Dropout::new(dropout)?,
            activation: activation.unwrap_or_else(relu),
            norm_first,
        })
    }
    fn mlp(&self, x: &Array) -> Result<Array> {
        let y = (self.activation)(&self.linear1.forward(x)?)?;
        self.linear2.forward(&self.dropout3.forward(&y)?)
    }
    /// Apply to `x (B, L, dims)` attending to `memory (B, S, dims)`; `x_mask` masks the
    /// self-attention, `memory_mask` the cross-attention.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        if self.norm_first {
            let y = self.ln1.forward(x)?;
            let y = self.self_attention.forward(&y, &y, &y, x_mask)?;
            let x = ops::add(x, &self.dropout1.forward(&y)?)?;
            let y = self.ln2.forward(&x)?;
            let y = self
                .cross_attention
                .forward(&y, memory, memory, memory_mask)?;
            let x = ops::add(&x, &self.dropout2.forward(&y)?)?;
            let y = self.mlp(&self.ln3.forward(&x)?)?;
            ops::add(&x, &y)
        } else {
            let y = self.self_attention.forward(x, x, x, x_mask)?;
            let x = self
                .ln1
                .forward(&ops::add(x, &self.dropout1.forward(&y)?)?)?;
            let y = self
                .cross_attention
                .forward(&x, memory, memory, memory_mask)?;
            let x = self
                .ln2
                .forward(&ops::add(&x, &self.dropout2.forward(&y)?)?)?;
            let y = self.mlp(&x)?;
            self.ln3.forward(&ops::add(&x, &y)?)
        }
    }
}

/// A stack of decoder layers and a final LayerNorm `ln`.
#[derive(Clone)]
pub struct TransformerDecoder {
    /// The layers.
    pub layers: Vec<TransformerDecoderLayer>,
    /// The final norm.
    pub ln: LayerNorm,
    /// Checkpoint each layer (recompute it in the backward pass).
    pub checkpoint: bool,
}
module!(TransformerDecoder { layers, ln });

impl TransformerDecoder {
    /// `num_layers` layers with the given options (MLX's argument order).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        num_layers: usize,
        dims: usize,
        num_heads: usize,
        mlp_dims: Option<usize>,
        dropout: f32,
        activation: Option<Activation>,
        norm_first: bool,
        checkpoint: bool,
    ) -> Result<Self> {
        Ok(TransformerDecoder {
            layers: (0..num_layers)
                .map(|_| {
                    TransformerDecoderLayer::new(
                        dims,
                        num_heads,
                        mlp_dims,
                        dropout,
                        activation.clone(),
                        norm_first,
                    )
                })
                .collect::<Result<_>>()?,
            ln: LayerNorm::new(dims, 1e-5, true, true)?,
            checkpoint,
        })
    }
    /// Apply every layer, then the final norm.
    pub fn forward(
        &self,
        x: &Array,
        memory: &Array,
        x_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let mut x = x.clone();
        for l in &self.layers {
            x = if self.checkpoint {
                let (m, present) = mask_args(&[x_mask, memory_mask]);
                let mut inputs = vec![x, memory.clone()];
                inputs.extend(m);
                match (present[0], present[1]) {
                    (true, true) => checkpointed(l, &inputs, |l, a| {
                        l.forward(&a[0], &a[1], Some(&a[2]), Some(&a[3]))
                    })?,
                    (true, false) => checkpointed(l, &inputs, |l, a| {
                        l.forward(&a[0], &a[1], Some(&a[2]), None)
                    })?,
                    (false, true) => checkpointed(l, &inputs, |l, a| {
                        l.forward(&a[0], &a[1], None, Some(&a[2]))
                    })?,
                    (false, false) => {
                        checkpointed(l, &inputs, |l, a| l.forward(&a[0], &a[1], None, None))?
                    }
                }
            } else {
                l.forward(&x, memory, x_mask, memory_mask)?
            };
        }
        self.ln.forward(&x)
    }
}

/// What can stand in for the Transformer's encoder (MLX's `custom_encoder`).
pub trait Encoder: Module {
    /// Encode `src` under `mask`.
    fn encode(&self, src: &Array, mask: Option<&Array>) -> Result<Array>;
    /// A boxed clone.
    fn box_clone(&self) -> Box<dyn Encoder>;
}

/// What can stand in for the Transformer's decoder (MLX's `custom_decoder`).
pub trait Decoder: Module {
    /// Decode `tgt` attending to `memory`.
    fn decode(
        &self,
        tgt: &Array,
        memory: &Array,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array>;
    /// A boxed clone.
    fn box_clone(&self) -> Box<dyn Decoder>;
}

impl Encoder for TransformerEncoder {
    fn encode(&self, src: &Array, mask: Option<&Array>) -> Result<Array> {
        self.forward(src, mask)
    }
    fn box_clone(&self) -> Box<dyn Encoder> {
        Box::new(self.clone())
    }
}

impl Decoder for TransformerDecoder {
    fn decode(
        &self,
        tgt: &Array,
        memory: &Array,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        self.forward(tgt, memory, tgt_mask, memory_mask)
    }
    fn box_clone(&self) -> Box<dyn Decoder> {
        Box::new(self.clone())
    }
}

/// The encoder-decoder Transformer (MLX's `Transformer`): parameters under `encoder.` and
/// `decoder.`.
pub struct Transformer {
    /// The encoder (a [`TransformerEncoder`] unless a custom one was given).
    pub encoder: Box<dyn Encoder>,
    /// The decoder (a [`TransformerDecoder`] unless a custom one was given).
    pub decoder: Box<dyn Decoder>,
}

impl Clone for Transformer {
    fn clone(&self) -> Self {
        Transformer {
            encoder: self.encoder.box_clone(),
            decoder: self.decoder.box_clone(),
        }
    }
}

impl Module for Transformer {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        self.encoder
            .visit(&crate::module::join(prefix, "encoder"), f);
        self.decoder
            .visit(&crate::module::join(prefix, "decoder"), f);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        self.encoder
            .visit_mut(&crate::module::join(prefix, "encoder"), f);
        self.decoder
            .visit_mut(&crate::module::join(prefix, "decoder"), f);
    }
    fn set_training(&mut self, training: bool) {
        self.encoder.set_training(training);
        self.decoder.set_training(training);
    }
    fn is_training(&self) -> bool {
        self.encoder.is_training() && self.decoder.is_training()
    }
}

impl Transformer {
    /// A Transformer with MLX's arguments (MLX's defaults: `dims = 512`, `num_heads = 8`,
    /// 6 + 6 layers, `mlp_dims = 4 dims`, `dropout = 0`, relu, `norm_first = true`,
    /// `checkpoint = false`); a custom encoder or decoder replaces the standard one.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dims: usize,
        num_heads: usize,
        num_encoder_layers: usize,
        num_decoder_layers: usize,
        mlp_dims: Option<usize>,
        dropout: f32,
        activation: Option<Activation>,
        custom_encoder: Option<Box<dyn Encoder>>,
        custom_decoder: Option<Box<dyn Decoder>>,
        norm_first: bool,
        checkpoint: bool,
    ) -> Result<Self> {
        let encoder = match custom_encoder {
            Some(e) => e,
            None => Box::new(TransformerEncoder::new(
                num_encoder_layers,
                dims,
                num_heads,
                mlp_dims,
                dropout,
                activation.clone(),
                norm_first,
                checkpoint,
            )?),
        };
        let decoder = match custom_decoder {
            Some(d) => d,
            None => Box::new(TransformerDecoder::new(
                num_decoder_layers,
                dims,
                num_heads,
                mlp_dims,
                dropout,
                activation,
                norm_first,
                checkpoint,
            )?),
        };
        Ok(Transformer { encoder, decoder })
    }
    /// `decoder(tgt, encoder(src, src_mask), tgt_mask, memory_mask)`.
    pub fn forward(
        &self,
        src: &Array,
        tgt: &Array,
        src_mask: Option<&Array>,
        tgt_mask: Option<&Array>,
        memory_mask: Option<&Array>,
    ) -> Result<Array> {
        let memory = self.encoder.encode(src, src_mask)?;
        self.decoder.decode(tgt, &memory, tgt_mask, memory_mask)
    }
}
