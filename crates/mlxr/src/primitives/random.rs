//! Random primitives: `RandomBits` (threefry2x32 bits from a key) and the fused kernels
//! that turn bits into MLX's distributions (`RandomTransform`, `Bernoulli`, `RandInt`,
//! `Categorical`, `SymSqrt`, `MvnApply`). Kernels live in `backend/cpu/random.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "RandomBits",
    "RandomTransform(Uniform)",
    "RandomTransform(Normal { scale: false, loc: false })",
    "RandomTransform(Normal { scale: true, loc: false })",
    "RandomTransform(Normal { scale: false, loc: true })",
    "RandomTransform(Normal { scale: true, loc: true })",
    "RandomTransform(TruncatedNormal)",
    "RandomTransform(Gumbel)",
    "RandomTransform(Laplace { scale: false, loc: false })",
    "RandomTransform(Laplace { scale: true, loc: false })",
    "RandomTransform(Laplace { scale: false, loc: true })",
    "RandomTransform(Laplace { scale: true, loc: true })",
    "Bernoulli",
    "RandInt",
    "Categorical",
    "SymSqrt",
    "MvnApply",
    "ComplexNormal",
];

use super::shape::{batch_size, node, to_front, vmap_loop};
use crate::array::Array;
use crate::backend::cpu::random as k;
pub use crate::backend::cpu::random::Dist;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::random_bits_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        zero_cotangents(primals, argnums)
    }
    fn jvp(&self, _: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros(&self.shape, Some(self.dtype()))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        // One key per item: each item draws the bits its own key gives.
        vmap_loop(inputs, axes, "RandomBits", |xs| {
            Ok(vec![node(
                self.shape.clone(),
                self.dtype(),
                self.clone(),
                xs.to_vec(),
            )])
        })
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::transform_gpu(self.dist, self.dtype, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let parts = self.partials(primals)?;
        argnums
            .iter()
            .map(|&i| {
                if i == 0 {
                    return ops::zeros_like(&primals[0]);
                }
                let p = &primals[i];
                let g = ops::multiply(&cotangents[0], &parts[i - 1])?;
                let g = if g.shape() != p.shape() {
                    ops::reshape_to(&ops::sum(&g, None, false)?, p.shape())?
                } else {
                    g
                };
                ops::astype(&g, p.dtype())
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let parts = self.partials(primals)?;
        let mut acc = ops::zeros(primals[0].shape(), Some(self.dtype))?;
        for (&i, t) in argnums.iter().zip(tangents) {
            if i > 0 {
                acc = ops::add(&acc, ops::multiply(&parts[i - 1], t)?)?;
            }
        }
        Ok(vec![ops::astype(&acc, self.dtype)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_sampler(inputs, axes, |shape, ins| {
            node(shape, self.dtype, self.clone(), ins)
        })
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::bernoulli_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        zero_cotangents(primals, argnums)
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros(primals[0].shape(), Some(Dtype::Bool))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_sampler(inputs, axes, |shape, ins| {
            node(shape, Dtype::Bool, Bernoulli, ins)
        })
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::randint_gpu(self.dtype, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        zero_cotangents(primals, argnums)
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros(primals[0].shape(), Some(self.dtype))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_sampler(inputs, axes, |shape, ins| {
            node(shape, self.dtype, self.clone(), ins)
        })
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::categorical_gpu(self.axis, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        zero_cotangents(primals, argnums)
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let mut shape = primals[0].shape().to_vec();
        shape.remove(self.axis);
        Ok(vec![ops::zeros(&shape, Some(Dtype::Uint32))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let g = to_front(&inputs[0], axes[0], b)?;
        let l = to_front(&inputs[1], axes[1], b)?;
        let p = Categorical {
            axis: self.axis + 1,
        };
        let mut shape = g.shape().to_vec();
        shape.remove(p.axis);
        Ok((
            vec![node(shape, Dtype::Uint32, p, vec![g, l])],
            vec![Some(0)],
        ))
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        // An iterative eigen-solve per small matrix; MLX also runs it on the CPU only.
        crate::backend::cuda::cpu_fallback(self, inputs, outputs)
    }
    fn vjp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
        Err(Error::Unsupported(
            "[SymSqrt::vjp] Not implemented (as MLX, whose multivariate_normal square root goes \
             through an SVD without a vjp)"
                .into(),
        ))
    }
    fn jvp(&self, _: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Err(Error::Unsupported(
            "[SymSqrt::jvp] Not implemented (as MLX, whose multivariate_normal square root goes \
             through an SVD without a jvp)"
                .into(),
        ))
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let x = to_front(&inputs[0], axes[0], b)?;
        Ok((
            vec![node(x.shape().to_vec(), Dtype::Float32, SymSqrt, vec![x])],
            vec![Some(0)],
        ))
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::mvn_apply_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        // out = mean + z @ std, per sample.
        let (z, s) = (&primals[0], &primals[2]);
        let ct = &cotangents[0];
        argnums
            .iter()
            .map(|&i| match i {
                0 => {
                    let r = ops::matmul(&ops::expand_dims(ct, &[-2])?, &ops::swapaxes(s, -1, -2)?)?;
                    ops::squeeze(&r, Some(&[-2]))
                }
                1 => Ok(ct.clone()),
                _ => ops::multiply(ops::expand_dims(z, &[-1])?, ops::expand_dims(ct, &[-2])?),
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let (z, s) = (&primals[0], &primals[2]);
        let zs = |a: &Array, b: &Array| -> Result<Array> {
            ops::squeeze(&ops::matmul(&ops::expand_dims(a, &[-2])?, b)?, Some(&[-2]))
        };
        let mut acc = ops::zeros(z.shape(), Some(Dtype::Float32))?;
        for (&i, t) in argnums.iter().zip(tangents) {
            let d = match i {
                0 => zs(t, s)?,
                1 => t.clone(),
                _ => zs(z, t)?,
            };
            acc = ops::add(&acc, &d)?;
        }
        Ok(vec![acc])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let ins: Vec<Array> = inputs
            .iter()
            .zip(axes)
            .map(|(x, &a)| to_front(x, a, b))
            .collect::<Result<_>>()?;
        Ok((
            vec![node(ins[0].shape().to_vec(), Dtype::Float32, MvnApply, ins)],
            vec![Some(0)],
        ))
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
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::random::complex_normal_gpu(self.scale, self.loc, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        zero_cotangents(primals, argnums)
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let b = &primals[0];
        Ok(vec![ops::zeros(
            &b.shape()[..b.ndim() - 1],
            Some(Dtype::Complex64),
        )?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes);
        let bits = to_front(&inputs[0], axes[0], b)?;
        let shape = bits.shape()[..bits.ndim() - 1].to_vec();
        Ok((
            vec![node(shape, Dtype::Complex64, self.clone(), vec![bits])],
            vec![Some(0)],
        ))
    }
    equivalent_by_eq!();
}

/// Zero cotangents for inputs that no gradient flows to (keys, bits, integer samples).
fn zero_cotangents(primals: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
    argnums
        .iter()
        .map(|&i| ops::zeros_like(&primals[i]))
        .collect()
}

/// vmap of a sampler whose input 0 is uint32 bits of the output's shape and whose other
/// inputs are parameters holding one value or one value per sample.
fn vmap_sampler(
    inputs: &[Array],
    axes: &[Option<usize>],
    build: impl Fn(Vec<usize>, Vec<Array>) -> Array,
) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
    let b = batch_size(inputs, axes);
    let bits = to_front(&inputs[0], axes[0], b)?;
    let shape = bits.shape().to_vec();
    let mut ins = vec![bits];
    for (p, &ax) in inputs[1..].iter().zip(&axes[1..]) {
        let q = match ax {
            None if p.size() == 1 => p.clone(),
            None => to_front(p, None, b)?,
            Some(a) => {
                let f = ops::moveaxis(p, a as isize, 0)?;
                if f.size() == b {
                    let mut s = vec![1usize; shape.len()];
                    s[0] = b;
                    ops::broadcast_to(&ops::reshape_to(&f, &s)?, &shape)?
                } else {
                    ops::broadcast_to(&f, &shape)?
                }
            }
        };
        ins.push(q);
    }
    Ok((vec![build(shape.clone(), ins)], vec![Some(0)]))
}

impl RandomBits {
    /// The output dtype for the width.
    fn dtype(&self) -> Dtype {
        match self.width {
            1 => Dtype::Uint8,
            2 => Dtype::Uint16,
            _ => Dtype::Uint32,
        }
    }
}

impl RandomTransform {
    /// The standard variate of this distribution drawn from the same bits: uniform on
    /// [0, 1) for `Uniform` and `TruncatedNormal`, N(0, 1) for `Normal`, the standard
    /// Laplace for `Laplace`.
    fn standard(&self, bits: &Array) -> Array {
        let (dist, mut ins) = match self.dist {
            Dist::Uniform | Dist::TruncatedNormal => (
                Dist::Uniform,
                vec![bits.clone(), Array::scalar(0.0f64), Array::scalar(1.0f64)],
            ),
            Dist::Normal { .. } => (
                Dist::Normal {
                    scale: false,
                    loc: false,
                },
                vec![bits.clone()],
            ),
            Dist::Laplace { .. } => (
                Dist::Laplace {
                    scale: false,
                    loc: false,
                },
                vec![bits.clone()],
            ),
            Dist::Gumbel => (Dist::Gumbel, vec![bits.clone()]),
        };
        ins.truncate(if dist == Dist::Uniform { 3 } else { 1 });
        let p = RandomTransform {
            dist,
            dtype: self.dtype,
        };
        node(bits.shape().to_vec(), self.dtype, p, ins)
    }

    /// The derivative of every sample with respect to each parameter (inputs 1..), as
    /// arrays of the output's shape.
    fn partials(&self, primals: &[Array]) -> Result<Vec<Array>> {
        let bits = &primals[0];
        let shape = bits.shape();
        let cast = |a: &Array| ops::astype(a, self.dtype);
        Ok(match self.dist {
            Dist::Uniform => {
                let u = self.standard(bits);
                vec![ops::subtract(1.0, &u)?, u]
            }
            Dist::Normal { scale, loc } | Dist::Laplace { scale, loc } => {
                let mut v = vec![];
                if scale {
                    v.push(self.standard(bits));
                }
                if loc {
                    v.push(ops::ones(shape, Some(self.dtype))?);
                }
                v
            }
            Dist::TruncatedNormal => {
                // x = sqrt2 * erfinv(a + (c - a) u) with a = erf(lo / sqrt2), c = erf(hi / sqrt2):
                // dx/dlo = (1 - u) exp((x^2 - lo^2) / 2), dx/dhi = u exp((x^2 - hi^2) / 2).
                let u = self.standard(bits);
                let x = node(shape.to_vec(), self.dtype, self.clone(), primals.to_vec());
                let x2 = ops::square(&x)?;
                let e = |b: &Array| -> Result<Array> {
                    ops::exp(&ops::multiply(
                        ops::subtract(&x2, ops::square(&cast(b)?)?)?,
                        0.5,
                    )?)
                };
                vec![
                    ops::multiply(ops::subtract(1.0, &u)?, e(&primals[1])?)?,
                    ops::multiply(&u, e(&primals[2])?)?,
                ]
            }
            Dist::Gumbel => vec![],
        })
    }
}
