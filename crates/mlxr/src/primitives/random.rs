//! Random primitives: `RandomBits` (threefry2x32 bits from a key) and the fused kernels
//! that turn bits into MLX's distributions (`RandomTransform`, `Bernoulli`, `RandInt`,
//! `Categorical`, `SymSqrt`, `MvnApply`). Kernels live in `backend/cpu/random.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::random as k;
pub use crate::backend::cpu::random::Dist;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

macro_rules! equivalent_by_eq {
    () => {
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}

/// Random bits of `shape` from input 0 (a uint32 key of shape `[2]`), `width` bytes per
/// element (output uint8, uint16 or uint32).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomBits {
    /// The output shape.
    pub shape: Vec<usize>,
    /// Bytes per element: 1, 2 or 4.
    pub width: usize,
}

impl Primitive for RandomBits {
    fn name(&self) -> String {
        "RandomBits".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = k::random_bits(&inputs[0], &self.shape, outputs[0].dtype())?;
        outputs[0].set_data(d);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Samples of a distribution from uint32 bits (input 0) and the distribution's
/// parameters (inputs 1.., one value or one per sample).
#[derive(Debug, Clone, PartialEq)]
pub struct RandomTransform {
    /// The distribution.
    pub dist: Dist,
    /// The floating output dtype.
    pub dtype: Dtype,
}

impl Primitive for RandomTransform {
    fn name(&self) -> String {
        format!("RandomTransform({:?})", self.dist)
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = k::transform(&inputs[0], self.dist, &inputs[1..], self.dtype)?;
        outputs[0].set_data(d);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Bernoulli samples (bool) from uint32 bits (input 0) and probabilities (input 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Bernoulli;

impl Primitive for Bernoulli {
    fn name(&self) -> String {
        "Bernoulli".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::bernoulli(&inputs[0], &inputs[1])?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Integer samples from uint32 bits (input 0) between `low` (input 1) and `high`
/// (input 2).
#[derive(Debug, Clone, PartialEq)]
pub struct RandInt {
    /// The integer output dtype.
    pub dtype: Dtype,
}

impl Primitive for RandInt {
    fn name(&self) -> String {
        "RandInt".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::randint(&inputs[0], &inputs[1], &inputs[2], self.dtype)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// `argmax(gumbel + logits, axis)`: input 0 is float32 Gumbel noise, input 1 the logits
/// broadcast to its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Categorical {
    /// The category axis.
    pub axis: usize,
}

impl Primitive for Categorical {
    fn name(&self) -> String {
        "Categorical".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::categorical(&inputs[0], &inputs[1], self.axis)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// The symmetric square root of symmetric positive semi-definite matrices (float32).
#[derive(Debug, Clone, PartialEq)]
pub struct SymSqrt;

impl Primitive for SymSqrt {
    fn name(&self) -> String {
        "SymSqrt".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::sym_sqrt(&inputs[0])?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// `mean + z @ std` per sample (inputs `[z, mean, std]`, float32).
#[derive(Debug, Clone, PartialEq)]
pub struct MvnApply;

impl Primitive for MvnApply {
    fn name(&self) -> String {
        "MvnApply".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::mvn_apply(&inputs[0], &inputs[1], &inputs[2])?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Complex normal samples from uint32 bits of shape `[..., 2]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplexNormal {
    /// Optional real scale.
    pub scale: Option<f32>,
    /// Optional real location.
    pub loc: Option<f32>,
}

impl Primitive for ComplexNormal {
    fn name(&self) -> String {
        "ComplexNormal".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::complex_normal(&inputs[0], self.scale, self.loc)?);
        Ok(())
    }
    equivalent_by_eq!();
}
