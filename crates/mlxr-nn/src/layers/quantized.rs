//! Quantized layers (MLX's `nn.QuantizedLinear`, `nn.QuantizedEmbedding`): the weight is
//! held packed with its scales and biases (all frozen, as MLX), the forward pass is
//! `mlxr::ops::quantized_matmul` / `dequantize`. `from_linear` / `from_embedding` are
//! MLX's `to_quantized`.

use super::{Embedding, Linear};
use crate::{layer, module, Param};
use mlxr::ops::{self, QuantizationMode};
use mlxr::{random, Array, Dtype, Result};

/// Frozen parameter.
fn frozen(a: Array) -> Param {
    Param {
        value: a,
        trainable: false,
    }
}

/// `y = x @ dequantize(weight).T + bias` with the weight quantized (MLX's
/// `QuantizedLinear`; parameter names `weight`, `scales`, `biases`, `bias`).
#[derive(Debug, Clone)]
pub struct QuantizedLinear {
    /// Packed `(output_dims, input_dims * bits / 32)` uint32.
    pub weight: Param,
    /// `(output_dims, input_dims / group_size)`.
    pub scales: Param,
    /// `(output_dims, input_dims / group_size)` (affine mode).
    pub biases: Option<Param>,
    /// `(output_dims,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// Elements sharing one scale and bias.
    pub group_size: usize,
    /// Bits per weight.
    pub bits: u32,
    /// The quantization mode.
    pub mode: QuantizationMode,
}
module!(QuantizedLinear {
    weight,
    scales,
    biases,
    bias
});
layer!(QuantizedLinear);

impl QuantizedLinear {
    /// A new layer with random weights (initialised like `Linear`, then quantized).
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: QuantizationMode,
    ) -> Result<QuantizedLinear> {
        let s = (1.0 / input_dims as f32).sqrt();
        let w = random::uniform(-s, s, &[output_dims, input_dims], Dtype::Float32, None)?;
        let b = if bias {
            Some(ops::zeros(&[output_dims], Some(Dtype::Float32))?)
        } else {
            None
        };
        Self::from_weights(&w, b, group_size, bits, mode)
    }

    /// Quantize `weight` (`(output_dims, input_dims)`) and keep `bias`.
    pub fn from_weights(
        weight: &Array,
        bias: Option<Array>,
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: QuantizationMode,
    ) -> Result<QuantizedLinear> {
        let (dg, db) = mode.defaults();
        let (g, b) = (group_size.unwrap_or(dg), bits.unwrap_or(db));
        let (wq, scales, biases) = ops::quantize(weight, Some(g), Some(b), mode)?;
        Ok(QuantizedLinear {
            weight: frozen(wq),
            scales: frozen(scales),
            biases: biases.map(frozen),
            bias: bias.map(frozen),
            group_size: g,
            bits: b,
            mode,
        })
    }

    /// MLX's `Linear.to_quantized` / `QuantizedLinear.from_linear`.
    pub fn from_linear(
        l: &Linear,
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: QuantizationMode,
    ) -> Result<QuantizedLinear> {
        Self::from_weights(
            &l.weight,
            l.bias.as_ref().map(|b| b.value.clone()),
            group_size,
            bits,
            mode,
        )
    }

    /// Apply to `x` of shape `(..., input_dims)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = ops::quantized_matmul(
            x,
            &self.weight,
            &self.scales,
            self.biases.as_ref().map(|b| &b.value),
            true,
            Some(self.group_size),
            Some(self.bits),
            self.mode,
        )?;
        match &self.bias {
            Some(b) => ops::add(&y, &b.value),
            None => Ok(y),
        }
    }
}

/// An embedding table held quantized (MLX's `QuantizedEmbedding`).
#[derive(Debug, Clone)]
pub struct QuantizedEmbedding {
    /// Packed `(num_embeddings, dims * bits / 32)` uint32.
    pub weight: Param,
    /// `(num_embeddings, dims / group_size)`.
    pub scales: Param,
    /// `(num_embeddings, dims / group_size)` (affine mode).
    pub biases: Option<Param>,
    /// Elements sharing one scale and bias.
    pub group_size: usize,
    /// Bits per weight.
    pub bits: u32,
    /// The quantization mode.
    pub mode: QuantizationMode,
}
module!(QuantizedEmbedding {
    weight,
    scales,
    biases
});

impl QuantizedEmbedding {
    /// A new table with random weights (initialised like `Embedding`, then quantized).
    pub fn new(
        num_embeddings: usize,
        dims: usize,
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: QuantizationMode,
    ) -> Result<QuantizedEmbedding> {
        let e = Embedding::new(num_embeddings, dims)?;
        Self::from_embedding(&e, group_size, bits, mode)
    }

    /// MLX's `Embedding.to_quantized` / `QuantizedEmbedding.from_embedding`.
    pub fn from_embedding(
        e: &Embedding,
        group_size: Option<usize>,
        bits: Option<u32>,
        mode: QuantizationMode,
    ) -> Result<QuantizedEmbedding> {
        let (dg, db) = mode.defaults();
        let (g, b) = (group_size.unwrap_or(dg), bits.unwrap_or(db));
        let (wq, scales, biases) = ops::quantize(&e.weight, Some(g), Some(b), mode)?;
        Ok(QuantizedEmbedding {
            weight: frozen(wq),
            scales: frozen(scales),
            biases: biases.map(frozen),
            group_size: g,
            bits: b,
            mode,
        })
    }

    /// The dequantized rows at the integer indices `x` (shape `x.shape ++ [dims]`).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let w = ops::take(&self.weight, x, Some(0))?;
        let s = ops::take(&self.scales, x, Some(0))?;
        let b = self
            .biases
            .as_ref()
            .map(|b| ops::take(&b.value, x, Some(0)))
            .transpose()?;
        ops::dequantize(
            &w,
            &s,
            b.as_ref(),
            Some(self.group_size),
            Some(self.bits),
            self.mode,
            None,
        )
    }

    /// `x @ dequantize(weight).T`: the table used as an output projection (tied weights).
    pub fn as_linear(&self, x: &Array) -> Result<Array> {
        ops::quantized_matmul(
            x,
            &self.weight,
            &self.scales,
            self.biases.as_ref().map(|b| &b.value),
            true,
            Some(self.group_size),
            Some(self.bits),
            self.mode,
        )
    }
}
