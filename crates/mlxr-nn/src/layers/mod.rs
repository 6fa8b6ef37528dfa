//! Layers (MLX's `mlx.nn` classes): each is a struct holding its parameters as
//! [`Param`](crate::Param)s, implements [`Module`] through the `module!` macro, and has a
//! `forward`.

pub mod attention;
pub mod containers;
pub mod convolution;
pub mod dropout;
pub mod embedding;
pub mod linear;
pub mod normalization;
pub mod pooling;
pub mod positional;
pub mod quantized;
pub mod recurrent;
pub mod transformer;
pub mod upsample;

pub use attention::MultiHeadAttention;
pub use containers::Sequential;
pub use convolution::{Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d};
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use linear::{Bilinear, Identity, Linear};
pub use normalization::{BatchNorm, GroupNorm, InstanceNorm, LayerNorm, RMSNorm, RunningStat};
pub use pooling::{AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d};
pub use positional::{ALiBi, RoPE, SinusoidalPositionalEncoding};
pub use quantized::{QuantizedEmbedding, QuantizedLinear};
pub use recurrent::{GRU, LSTM, RNN};
pub use transformer::{
    Transformer, TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
    TransformerEncoderLayer,
};
pub use upsample::{Upsample, UpsampleMode};

use crate::Module;
use mlxr::{Array, Result};

/// A layer with one input and one output (what [`Sequential`] chains).
pub trait Layer: Module {
    /// Apply the layer.
    fn forward(&self, x: &Array) -> Result<Array>;
    /// A boxed clone (so boxed layers can be cloned).
    fn box_clone(&self) -> Box<dyn Layer>;
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.box_clone()
    }
}

/// Implement [`Layer`] for a `Clone` type with an inherent `forward(&self, &Array)`.
#[macro_export]
macro_rules! layer {
    ($ty:ty) => {
        impl $crate::layers::Layer for $ty {
            fn forward(&self, x: &mlxr::Array) -> mlxr::Result<mlxr::Array> {
                <$ty>::forward(self, x)
            }
            fn box_clone(&self) -> Box<dyn $crate::layers::Layer> {
                Box::new(self.clone())
            }
        }
    };
}
