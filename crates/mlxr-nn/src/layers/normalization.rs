//! Normalization layers: `LayerNorm` and `RMSNorm` (over the last axis, computed in float32
//! for half-precision inputs and cast back, as MLX's fused kernels), `GroupNorm`,
//! `InstanceNorm` and `BatchNorm` (with its running statistics as shared, non-trainable
//! state updated by the forward pass in training mode).

use crate::{layer, module, Module, Param};
use mlxr::{ops, Array, Dtype, Error, Result};
use std::sync::{Arc, Mutex, MutexGuard};

fn in_f32(x: &Array) -> Result<Array> {
    match x.dtype() {
        Dtype::Float16 | Dtype::Bfloat16 => ops::astype(x, Dtype::Float32),
        _ => Ok(x.clone()),
    }
}

/// Layer normalization over the last axis: `(x - mean) / sqrt(var + eps) * weight + bias`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Scale `(dims,)` (ones), if affine.
    pub weight: Option<Param>,
    /// Shift `(dims,)` (zeros), if affine with bias.
    pub bias: Option<Param>,
    /// Added to the variance.
    pub eps: f32,
}
module!(LayerNorm { weight, bias });
layer!(LayerNorm);

impl LayerNorm {
    /// A new layer (MLX's defaults: eps 1e-5, affine, bias).
    pub fn new(dims: usize, eps: f32, affine: bool, bias: bool) -> Result<LayerNorm> {
        if eps <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "[LayerNorm] 'eps' must be positive but got {eps}."
            )));
        }
        Ok(LayerNorm {
            weight: if affine {
                Some(Param::new(ops::ones(&[dims], None)?))
            } else {
                None
            },
            bias: if affine && bias {
                Some(Param::new(ops::zeros(&[dims], None)?))
            } else {
                None
            },
            eps,
        })
    }
    /// Normalize `x` over its last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let xf = in_f32(x)?;
        let mean = ops::mean(&xf, Some(&[-1]), true)?;
        let c = ops::subtract(&xf, &mean)?;
        let var = ops::mean(&ops::square(&c)?, Some(&[-1]), true)?;
        let mut y = ops::multiply(&c, &ops::rsqrt(&ops::add(&var, self.eps)?)?)?;
        y = ops::astype(&y, x.dtype())?;
        if let Some(w) = &self.weight {
            y = ops::multiply(&y, &w.value)?;
        }
        if let Some(b) = &self.bias {
            y = ops::add(&y, &b.value)?;
        }
        Ok(y)
    }
}

/// Root-mean-square normalization over the last axis: `x * rsqrt(mean(x^2) + eps) * weight`.
#[derive(Debug, Clone)]
pub struct RMSNorm {
    /// Scale `(dims,)` (ones).
    pub weight: Param,
    /// Added to the mean square.
    pub eps: f32,
}
module!(RMSNorm { weight });
layer!(RMSNorm);

impl RMSNorm {
    /// A new layer (MLX's default eps: 1e-5).
    pub fn new(dims: usize, eps: f32) -> Result<RMSNorm> {
        Ok(RMSNorm {
            weight: Param::new(ops::ones(&[dims], None)?),
            eps,
        })
    }
    /// Normalize `x` over its last axis.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let xf = in_f32(x)?;
        let ms = ops::mean(&ops::square(&xf)?, Some(&[-1]), true)?;
        let y = ops::astype(
            &ops::multiply(&xf, &ops::rsqrt(&ops::add(&ms, self.eps)?)?)?,
            x.dtype(),
        )?;
        ops::multiply(&y, &self.weight.value)
    }
}

fn check_eps(name: &str, eps: f32) -> Result<()> {
    if eps <= 0.0 {
        return Err(Error::InvalidArgument(format!(
            "[{name}] 'eps' must be positive but got {eps}."
        )));
    }
    Ok(())
}

/// `ones(dims)` and `zeros(dims)` as the affine weight and bias.
fn affine_params(dims: usize) -> Result<(Option<Param>, Option<Param>)> {
    Ok((
        Some(Param::new(ops::ones(&[dims], None)?)),
        Some(Param::new(ops::zeros(&[dims], None)?)),
    ))
}

/// `weight * x + bias` when affine.
fn apply_affine(x: Array, weight: &Option<Param>, bias: &Option<Param>) -> Result<Array> {
    match (weight, bias) {
        (Some(w), Some(b)) => ops::add(&ops::multiply(&w.value, &x)?, &b.value),
        (Some(w), None) => ops::multiply(&w.value, &x),
        _ => Ok(x),
    }
}

/// Check that the last axis of `x` has `dims` features and `x` at least `min_ndim` axes.
fn check_features(name: &str, x: &Array, dims: usize, min_ndim: usize) -> Result<()> {
    if x.ndim() < min_ndim || x.shape()[x.ndim() - 1] != dims {
        return Err(Error::Shape(format!(
            "[{name}] Expected an input with at least {min_ndim} dimensions and {dims} features \
             in the last one, got shape {:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// Group normalization (MLX's `GroupNorm`): the features split into `num_groups` groups,
/// each normalized over the group's features and every non-batch position. MLX's default
/// grouping puts feature `c` in group `c % num_groups`; with `pytorch_compatible`, groups
/// are contiguous runs of features (PyTorch's grouping).
#[derive(Debug, Clone)]
pub struct GroupNorm {
    /// Scale `(dims,)` (ones), if affine.
    pub weight: Option<Param>,
    /// Shift `(dims,)` (zeros), if affine.
    pub bias: Option<Param>,
    /// The number of groups.
    pub num_groups: usize,
    /// The number of features.
    pub dims: usize,
    /// Added to the variance.
    pub eps: f32,
    /// Group contiguous features (PyTorch's grouping).
    pub pytorch_compatible: bool,
}
module!(GroupNorm { weight, bias });
layer!(GroupNorm);

impl GroupNorm {
    /// A new layer (MLX's defaults: eps 1e-5, affine, not pytorch_compatible).
    pub fn new(
        num_groups: usize,
        dims: usize,
        eps: f32,
        affine: bool,
        pytorch_compatible: bool,
    ) -> Result<GroupNorm> {
        check_eps("GroupNorm", eps)?;
        if num_groups == 0 {
            return Err(Error::InvalidArgument(format!(
                "The number of groups ({num_groups}) must be a positive integer."
            )));
        }
        if dims == 0 {
            return Err(Error::InvalidArgument(format!(
                "The number of features ({dims}) must be a positive integer."
            )));
        }
        if !dims.is_multiple_of(num_groups) {
            return Err(Error::InvalidArgument(format!(
                "The number of features ({dims}) must be evenly divisible by the number of \
                 groups ({num_groups})."
            )));
        }
        let (weight, bias) = if affine {
            affine_params(dims)?
        } else {
            (None, None)
        };
        Ok(GroupNorm {
            weight,
            bias,
            num_groups,
            dims,
            eps,
            pytorch_compatible,
        })
    }
    /// Normalize `x` of shape `(N, ..., dims)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        check_features("GroupNorm", x, self.dims, 2)?;
        let g = self.num_groups;
        let b = x.shape()[0];
        let y = if self.pytorch_compatible {
            let gs = (self.dims / g) as isize;
            let r = ops::reshape(x, &[b as isize, -1, g as isize, gs])?;
            let r = ops::reshape(
                &ops::transpose_axes(&r, &[0, 2, 1, 3])?,
                &[b as isize, g as isize, -1],
            )?;
            let n = layer_norm_last(&r, self.eps)?;
            let n = ops::reshape(&n, &[b as isize, g as isize, -1, gs])?;
            ops::reshape_to(&ops::transpose_axes(&n, &[0, 2, 1, 3])?, x.shape())?
        } else {
            let r = ops::reshape(x, &[b as isize, -1, g as isize])?;
            let mean = ops::mean(&r, Some(&[1]), true)?;
            let var = ops::var(&r, Some(&[1]), true, 0)?;
            let n = ops::multiply(
                &ops::subtract(&r, &mean)?,
                &ops::rsqrt(&ops::add(&var, self.eps)?)?,
            )?;
            ops::reshape_to(&n, x.shape())?
        };
        apply_affine(y, &self.weight, &self.bias)
    }
}

/// Layer normalization without affine parameters over the last axis (in float32 for
/// half-precision inputs, as MLX's fused `layer_norm`).
fn layer_norm_last(x: &Array, eps: f32) -> Result<Array> {
    normalize(x, &[-1], eps)
}

/// `(x - mean) / sqrt(var + eps)` over `axes`, computed in float32 for half-precision inputs.
fn normalize(x: &Array, axes: &[isize], eps: f32) -> Result<Array> {
    let xf = in_f32(x)?;
    let mean = ops::mean(&xf, Some(axes), true)?;
    let c = ops::subtract(&xf, &mean)?;
    let var = ops::mean(&ops::square(&c)?, Some(axes), true)?;
    let y = ops::multiply(&c, &ops::rsqrt(&ops::add(&var, eps)?)?)?;
    ops::astype(&y, x.dtype())
}

/// Instance normalization (MLX's `InstanceNorm`): each channel of each sample normalized
/// over the spatial axes of `(N, spatial..., C)` inputs.
#[derive(Debug, Clone)]
pub struct InstanceNorm {
    /// Scale `(dims,)` (ones), if affine.
    pub weight: Option<Param>,
    /// Shift `(dims,)` (zeros), if affine.
    pub bias: Option<Param>,
    /// The number of channels.
    pub dims: usize,
    /// Added to the variance.
    pub eps: f32,
}
module!(InstanceNorm { weight, bias });
layer!(InstanceNorm);

impl InstanceNorm {
    /// A new layer (MLX's defaults: eps 1e-5, not affine).
    pub fn new(dims: usize, eps: f32, affine: bool) -> Result<InstanceNorm> {
        check_eps("InstanceNorm", eps)?;
        let (weight, bias) = if affine {
            affine_params(dims)?
        } else {
            (None, None)
        };
        Ok(InstanceNorm {
            weight,
            bias,
            dims,
            eps,
        })
    }
    /// Normalize `x` of shape `(N, spatial..., dims)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() < 3 {
            return Err(Error::Shape(format!(
                "InstanceNorm expects inputs with at least 3 dimensions (N, ..., C) but the \
                 input has {} dimensions (shape {:?}).",
                x.ndim(),
                x.shape()
            )));
        }
        if self.weight.is_some() {
            check_features("InstanceNorm", x, self.dims, 3)?;
        }
        let axes: Vec<isize> = (1..x.ndim() as isize - 1).collect();
        let y = normalize(x, &axes, self.eps)?;
        apply_affine(y, &self.weight, &self.bias)
    }
}

/// A parameter shared by every clone of its module and updated by the forward pass (the
/// running statistics of [`BatchNorm`]). It is never trainable: `unfreeze` leaves it
/// frozen, as MLX's `BatchNorm` does.
#[derive(Debug, Clone)]
pub struct RunningStat(Arc<Mutex<Param>>);

impl RunningStat {
    fn new(value: Array) -> RunningStat {
        RunningStat(Arc::new(Mutex::new(Param {
            value,
            trainable: false,
        })))
    }
    fn lock(&self) -> MutexGuard<'_, Param> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// The current value.
    pub fn value(&self) -> Array {
        self.lock().value.clone()
    }
    /// Replace the value (seen by every clone).
    pub fn set(&self, value: Array) {
        self.lock().value = value;
    }
}

impl Module for RunningStat {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        let p = self.lock();
        f(prefix, &p);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        let mut p = self.lock();
        f(prefix, &mut p);
        p.trainable = false;
    }
}

/// Batch normalization (MLX's `BatchNorm`) over inputs `(N, C)`, `(N, L, C)` or
/// `(N, H, W, C)`: statistics over every axis but the last. In training mode it normalizes
/// with the batch's mean and (biased) variance and, when tracking, updates
/// `running_mean`/`running_var` with `momentum` (the running variance from the unbiased
/// estimate); in eval mode it uses the running statistics. The running statistics appear in
/// `parameters()` and saved weights under MLX's names but are never trainable, and clones
/// of the layer share them, so updates made inside `nn::value_and_grad` (which runs the
/// forward pass on a clone) persist, as in MLX.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// Scale `(num_features,)` (ones), if affine.
    pub weight: Option<Param>,
    /// Shift `(num_features,)` (zeros), if affine.
    pub bias: Option<Param>,
    /// The running mean (zeros), if tracking.
    pub running_mean: Option<RunningStat>,
    /// The running variance (ones), if tracking.
    pub running_var: Option<RunningStat>,
    /// The number of features (channels).
    pub num_features: usize,
    /// Added to the variance.
    pub eps: f32,
    /// The weight of the new batch statistics in the running averages.
    pub momentum: f32,
    /// Train (batch statistics) or eval (running statistics) mode.
    pub training: bool,
}
module!(BatchNorm { weight, bias, running_mean, running_var } training);
layer!(BatchNorm);

impl BatchNorm {
    /// A new layer in training mode (MLX's defaults: eps 1e-5, momentum 0.1, affine,
    /// tracking running statistics).
    pub fn new(
        num_features: usize,
        eps: f32,
        momentum: f32,
        affine: bool,
        track_running_stats: bool,
    ) -> Result<BatchNorm> {
        check_eps("BatchNorm", eps)?;
        let (weight, bias) = if affine {
            affine_params(num_features)?
        } else {
            (None, None)
        };
        let (running_mean, running_var) = if track_running_stats {
            (
                Some(RunningStat::new(ops::zeros(&[num_features], None)?)),
                Some(RunningStat::new(ops::ones(&[num_features], None)?)),
            )
        } else {
            (None, None)
        };
        Ok(BatchNorm {
            weight,
            bias,
            running_mean,
            running_var,
            num_features,
            eps,
            momentum,
            training: true,
        })
    }
    /// Normalize `x` (and, in training mode, update the running statistics).
    pub fn forward(&self, x: &Array) -> Result<Array> {
        if x.ndim() < 2 || x.ndim() > 4 {
            return Err(Error::Shape(format!(
                "Expected input tensor to have 2, 3 or 4 dimensions, but got {} (shape {:?})",
                x.ndim(),
                x.shape()
            )));
        }
        check_features("BatchNorm", x, self.num_features, 2)?;
        let stats = x.shape()[..x.ndim() - 1].iter().product::<usize>();
        if self.training && stats == 1 {
            return Err(Error::InvalidArgument(
                "BatchNorm training requires more than one value per channel.".into(),
            ));
        }
        let axes: Vec<isize> = (0..x.ndim() as isize - 1).collect();
        let mut mean = ops::mean(x, Some(&axes), false)?;
        let mut var = ops::var(x, Some(&axes), false, 0)?;
        if let (Some(rm), Some(rv)) = (&self.running_mean, &self.running_var) {
            if self.training {
                let mu = self.momentum;
                let uvar = ops::var(x, Some(&axes), false, 1)?;
                let upd = |old: Array, new: &Array| -> Result<Array> {
                    ops::add(&ops::multiply(&old, 1.0 - mu)?, &ops::multiply(new, mu)?)
                };
                rm.set(upd(rm.value(), &ops::stop_gradient(&mean)?)?);
                rv.set(upd(rv.value(), &ops::stop_gradient(&uvar)?)?);
            } else {
                mean = rm.value();
                var = rv.value();
            }
        }
        let y = ops::multiply(
            &ops::subtract(x, &mean)?,
            &ops::rsqrt(&ops::add(&var, self.eps)?)?,
        )?;
        apply_affine(y, &self.weight, &self.bias)
    }
}
