//! Quantization primitives: `Quantize` (one node; outputs packed weights, scales and, in
//! affine mode, biases), `Dequantize` and `QuantizedMatmul` (the fused product with a
//! quantized matrix), for every quantization mode, with their rules. Kernels live in
//! `backend/cpu/quantized.rs`; on the GPU they run through `cpu_fallback`.
//!
//! Derivatives follow MLX: no gradient flows to the packed weights; `QuantizedMatmul` and
//! `Dequantize` are differentiable in `x`, the scales and the biases (affine) — the uint8
//! scales of the float modes have none (an error, as MLX), nvfp4's global scale has one;
//! `Quantize`'s affine scales and biases are differentiated through the float computation
//! that produces them (the rounding held constant), as MLX's composed fallback is, and its
//! float modes pass zeros back.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Quantize", "Dequantize", "QuantizedMatmul"];

use super::binary::{batch_size, batch_to_front, sum_terms, tangent_of};
use crate::array::Array;
use crate::backend::cpu::quantized as cpu;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::ops::quantized::QuantizationMode;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// Quantization of the last axis of `w` in groups of `group_size`. Inputs: `w` and, for
/// nvfp4 with a global scale, that float32 scalar. Outputs: packed uint32 words, scales
/// (affine: `w`'s dtype, then biases of that dtype; float modes: uint8 scale bytes only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantize {
    /// Elements sharing one scale (and bias).
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode.
    pub mode: QuantizationMode,
}

impl Quantize {
    /// The output nodes for input `w` (and nvfp4's global scale).
    pub(crate) fn nodes(&self, w: Array, global_scale: Option<Array>) -> Vec<Array> {
        let mut qs = w.shape().to_vec();
        let k = *qs.last().expect("matrix");
        *qs.last_mut().expect("matrix") = k * self.bits as usize / 32;
        let mut ss = w.shape().to_vec();
        *ss.last_mut().expect("matrix") = k / self.group_size;
        let dt = w.dtype();
        let outs = if self.mode == QuantizationMode::Affine {
            vec![(qs, Dtype::Uint32), (ss.clone(), dt), (ss, dt)]
        } else {
            vec![(qs, Dtype::Uint32), (ss, Dtype::Uint8)]
        };
        let mut inputs = vec![w];
        inputs.extend(global_scale);
        Array::new_multi(outs, Arc::new(self.clone()), inputs, ops::stream())
    }

    /// The global scale of an evaluated input list, as f32.
    fn global_scale(inputs: &[Array]) -> Result<Option<f32>> {
        inputs
            .get(1)
            .map(|g| -> Result<f32> {
                let v: Vec<f32> = crate::backend::cpu::copy::gather_to_vec::<f32>(
                    &g.data()?,
                    g.shape(),
                    g.dtype(),
                );
                Ok(v[0])
            })
            .transpose()
    }

    /// Scales and biases as a differentiable function of `w` (MLX's formulas with ops; the
    /// rounded quantity `q0` is held constant).
    fn params_graph(&self, w: &Array) -> Result<Vec<Array>> {
        let k = *w.shape().last().expect("matrix");
        let mut gs: Vec<isize> = w.shape()[..w.ndim() - 1]
            .iter()
            .map(|&d| d as isize)
            .collect();
        gs.push((k / self.group_size) as isize);
        gs.push(self.group_size as isize);
        let wf = ops::astype(w, Dtype::Float64)?;
        let wg = ops::reshape(&wf, &gs)?;
        let w_max = ops::max(&wg, Some(&[-1]), false)?;
        let w_min = ops::min(&wg, Some(&[-1]), false)?;
        let eps = 1e-7f64;
        let (scale, bias) = if self.bits == 1 {
            (
                ops::maximum(&ops::subtract(&w_max, &w_min)?, eps)?,
                w_min.clone(),
            )
        } else {
            let n_bins = ((1u32 << self.bits) - 1) as f64;
            let mask = ops::greater(&ops::abs(&w_min)?, &ops::abs(&w_max)?)?;
            let sc = ops::maximum(&ops::divide(&ops::subtract(&w_max, &w_min)?, n_bins)?, eps)?;
            let sc = ops::where_(&mask, &sc, &ops::negative(&sc)?)?;
            let edge = ops::where_(&mask, &w_min, &w_max)?;
            let q0 = ops::stop_gradient(&ops::round(&ops::divide(&edge, &sc)?, 0)?)?;
            let nz = ops::not_equal(&q0, 0.0)?;
            let safe_q0 = ops::where_(&nz, &q0, 1.0)?;
            (
                ops::where_(&nz, &ops::divide(&edge, &safe_q0)?, &sc)?,
                ops::where_(&nz, &edge, 0.0)?,
            )
        };
        Ok(vec![
            ops::astype(&scale, w.dtype())?,
            ops::astype(&bias, w.dtype())?,
        ])
    }
}

impl Primitive for Quantize {
    fn name(&self) -> String {
        "Quantize".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let w = &inputs[0];
        if self.mode != QuantizationMode::Affine {
            let gs = Self::global_scale(inputs)?;
            let (q, s) = cpu::fp_quantize(&w.data()?, w.shape(), w.dtype(), self.mode, gs)?;
            outputs[0].set_data(q);
            outputs[1].set_data(s);
            return Ok(());
        }
        let (q, s, b) =
            cpu::affine_quantize(&w.data()?, w.shape(), w.dtype(), self.group_size, self.bits)?;
        outputs[0].set_data(q);
        outputs[1].set_data(s);
        outputs[2].set_data(b);
        Ok(())
    }
    /// Runs the CPU kernel (downloaded input, uploaded outputs).
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::cpu_fallback(self, inputs, outputs)
    }
    /// Affine: the cotangents of the scales and biases pulled back through
    /// [`Self::params_graph`]; the packed output carries none. Float modes: zeros (the
    /// outputs are integer codes).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if self.mode != QuantizationMode::Affine {
            return argnums
                .iter()
                .map(|&i| ops::zeros_like(&primals[i]))
                .collect();
        }
        let cots = vec![cotangents[1].clone(), cotangents[2].clone()];
        let (_, g) = crate::transforms::vjp(|x| self.params_graph(&x[0]), primals, &cots)?;
        Ok(g)
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let q0 = ops::zeros(
            &{
                let mut s = primals[0].shape().to_vec();
                let k = *s.last().expect("matrix");
                *s.last_mut().expect("matrix") = k * self.bits as usize / 32;
                s
            },
            Some(Dtype::Uint32),
        )?;
        if self.mode != QuantizationMode::Affine {
            let mut ss = primals[0].shape().to_vec();
            let k = *ss.last().expect("matrix");
            *ss.last_mut().expect("matrix") = k / self.group_size;
            return Ok(vec![q0, ops::zeros(&ss, Some(Dtype::Uint8))?]);
        }
        let (_, t) = crate::transforms::jvp(|x| self.params_graph(&x[0]), primals, tangents)?;
        Ok(vec![q0, t[0].clone(), t[1].clone()])
    }
    /// The batch axis moves to the front (rows are quantized independently); a global
    /// scale must be unbatched.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes.get(1).is_some_and(|a| a.is_some()) {
            return Err(Error::Unsupported(
                "[Quantize::vmap] The global scale cannot be batched.".into(),
            ));
        }
        let b = batch_size(inputs, axes, "Quantize")?;
        let w = batch_to_front(&inputs[0], axes[0], b)?;
        let outs = self.nodes(w, inputs.get(1).cloned());
        let n = outs.len();
        Ok((outs, vec![Some(0); n]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Dequantization of packed weights. Affine: `scale * q + bias`, inputs packed uint32 `w`,
/// `scales`, `biases` (same leading shape, one float dtype). Float modes: `element *
/// scale`, inputs `w`, uint8 `scales` and, for nvfp4 with a global scale, that float32
/// scalar. Output in `dtype`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dequantize {
    /// Elements sharing one scale (and bias).
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode.
    pub mode: QuantizationMode,
    /// The output dtype.
    pub dtype: Dtype,
}

impl Dequantize {
    /// A node of this primitive over `inputs` (see the type's documentation).
    pub(crate) fn node(&self, inputs: Vec<Array>) -> Array {
        let mut s = inputs[0].shape().to_vec();
        let kp = *s.last().expect("matrix");
        *s.last_mut().expect("matrix") = kp * 32 / self.bits as usize;
        Array::new_node(s, self.dtype, Arc::new(self.clone()), inputs, ops::stream())
    }

    /// The unpacked integers of affine `w` as floats of `dt` (shape of the dequantized
    /// matrix).
    fn levels(&self, w: &Array, scales: &Array, dt: Dtype) -> Result<Array> {
        let one = ops::ones(scales.shape(), Some(dt))?;
        let zero = ops::zeros(scales.shape(), Some(dt))?;
        let p = Dequantize {
            dtype: dt,
            ..self.clone()
        };
        Ok(p.node(vec![w.clone(), one, zero]))
    }

    /// nvfp4 with a global scale `g`: the values without it (`element * scale`, in this
    /// node's dtype), whose product with `g / 2688` is the output.
    fn without_global_scale(&self, w: &Array, scales: &Array) -> Array {
        self.node(vec![w.clone(), scales.clone()])
    }
}

/// The error for a derivative wrt the uint8 scales of a float mode.
fn no_scale_grad(op: &str, mode: QuantizationMode) -> Error {
    Error::Unsupported(format!(
        "[{op}::vjp] no gradient wrt scales in {mode} quantization."
    ))
}

/// `x` (`[.., k]`) regrouped as `[.., k / g, g]`.
fn grouped(x: &Array, g: usize) -> Result<Array> {
    let mut s: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    let k = s.pop().expect("matrix");
    s.push(k / g as isize);
    s.push(g as isize);
    ops::reshape(x, &s)
}

fn no_weight_grad(op: &str) -> Error {
    Error::Unsupported(format!(
        "[{op}::vjp] no gradient wrt the quantized weights."
    ))
}

impl Primitive for Dequantize {
    fn name(&self) -> String {
        "Dequantize".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        if self.mode != QuantizationMode::Affine {
            let (w, s) = (&inputs[0], &inputs[1]);
            let gs = Quantize::global_scale(&inputs[1..])?;
            let out = cpu::fp_dequantize(
                &w.data()?,
                w.shape(),
                &s.data()?,
                s.shape(),
                outputs[0].shape(),
                outputs[0].dtype(),
                self.mode,
                gs,
            )?;
            outputs[0].set_data(out);
            return Ok(());
        }
        // The op gives scales and biases one dtype.
        let (w, s, b) = (&inputs[0], &inputs[1], &inputs[2]);
        let out = cpu::affine_dequantize(
            &w.data()?,
            w.shape(),
            &s.data()?,
            &b.data()?,
            s.shape(),
            s.dtype(),
            outputs[0].shape(),
            outputs[0].dtype(),
            self.group_size,
            self.bits,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    /// Runs the CPU kernel (downloaded inputs, uploaded output).
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::cpu_fallback(self, inputs, outputs)
    }
    /// Scales: the cotangent times the levels, summed per group; biases: the cotangent
    /// summed per group. Float modes: nvfp4's global scale gets the sum of the cotangent
    /// times the values without it, over 2688; the uint8 scales have no gradient.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let c = &cotangents[0];
        if self.mode != QuantizationMode::Affine {
            return argnums
                .iter()
                .map(|&i| match i {
                    0 => Err(no_weight_grad("Dequantize")),
                    1 => Err(no_scale_grad("Dequantize", self.mode)),
                    _ => {
                        let v = self.without_global_scale(&primals[0], &primals[1]);
                        let g = ops::sum(&ops::multiply(c, &v)?, None, false)?;
                        let g = ops::divide(&g, 2688.0)?;
                        ops::astype(&ops::reshape(&g, &[])?, primals[2].dtype())
                    }
                })
                .collect();
        }
        let (w, s, b) = (&primals[0], &primals[1], &primals[2]);
        argnums
            .iter()
            .map(|&i| match i {
                0 => Err(no_weight_grad("Dequantize")),
                1 => {
                    let lv = self.levels(w, s, c.dtype())?;
                    let g = ops::sum(
                        &grouped(&ops::multiply(c, &lv)?, self.group_size)?,
                        Some(&[-1]),
                        false,
                    )?;
                    ops::astype(&g, s.dtype())
                }
                _ => {
                    let g = ops::sum(&grouped(c, self.group_size)?, Some(&[-1]), false)?;
                    ops::astype(&g, b.dtype())
                }
            })
            .collect()
    }
    /// Linear in the scales and biases: the dequantization of the tangents. Float modes:
    /// linear in nvfp4's global scale; none for the uint8 scales.
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        if tangent_of(0, tangents, argnums).is_some() {
            return Err(Error::Unsupported(
                "[Dequantize::jvp] No JVP wrt the quantized matrix.".into(),
            ));
        }
        if self.mode != QuantizationMode::Affine {
            if tangent_of(1, tangents, argnums).is_some() {
                return Err(Error::Unsupported(format!(
                    "[Dequantize::jvp] No JVP wrt the scales in {} quantization.",
                    self.mode
                )));
            }
            let like = self.node(primals.to_vec());
            let t = tangent_of(2, tangents, argnums)
                .map(|t| -> Result<Array> {
                    let v = self.without_global_scale(&primals[0], &primals[1]);
                    let f = ops::divide(&ops::astype(t, self.dtype)?, 2688.0)?;
                    ops::multiply(&v, &f)
                })
                .transpose()?;
            return Ok(vec![sum_terms(vec![t], &like)?]);
        }
        let (w, s, b) = (&primals[0], &primals[1], &primals[2]);
        let ts = match tangent_of(1, tangents, argnums) {
            Some(t) => ops::astype(t, s.dtype())?,
            None => ops::zeros_like(s)?,
        };
        let tb = match tangent_of(2, tangents, argnums) {
            Some(t) => ops::astype(t, b.dtype())?,
            None => ops::zeros_like(b)?,
        };
        Ok(vec![self.node(vec![w.clone(), ts, tb])])
    }
    /// Batch axes move to the front (unbatched inputs broadcast along it); nvfp4's global
    /// scale must be unbatched.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes, "Dequantize")?;
        let mut ins = Vec::with_capacity(inputs.len());
        for (i, (x, a)) in inputs.iter().zip(axes).enumerate() {
            if self.mode != QuantizationMode::Affine && i == 2 {
                if a.is_some() {
                    return Err(Error::Unsupported(
                        "[Dequantize::vmap] The global scale cannot be batched.".into(),
                    ));
                }
                ins.push(x.clone());
            } else {
                ins.push(batch_to_front(x, *a, b)?);
            }
        }
        Ok((vec![self.node(ins)], vec![Some(0)]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The fused product of `x` with a quantized matrix: `x @ dequantize(w).T` (`transpose`)
/// or `x @ dequantize(w)`. Inputs: `x` (`batch + [m, k]`, the output's dtype), packed `w`
/// (2-D, or with the same batch shape as `x`), `scales` and, in affine mode, `biases`
/// (like `w`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizedMatmul {
    /// Elements sharing one scale (and bias).
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode.
    pub mode: QuantizationMode,
    /// Multiply with the transposed matrix.
    pub transpose: bool,
}

impl QuantizedMatmul {
    /// The output columns for packed weights of shape `w`.
    pub(crate) fn out_cols(&self, w: &[usize]) -> usize {
        if self.transpose {
            w[w.len() - 2]
        } else {
            w[w.len() - 1] * 32 / self.bits as usize
        }
    }

    /// A node of this primitive (inputs already validated and broadcast; `b` for the
    /// affine mode only).
    pub(crate) fn node(&self, x: Array, w: Array, s: Array, b: Option<Array>) -> Array {
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("matrix") = self.out_cols(w.shape());
        let dt = x.dtype();
        let mut inputs = vec![x, w, s];
        inputs.extend(b);
        Array::new_node(shape, dt, Arc::new(self.clone()), inputs, ops::stream())
    }

    /// Sum the leading axes of `g` so it has `ndim` axes (undoing the implicit broadcast
    /// of a 2-D weight over `x`'s batch).
    fn sum_leading(g: Array, ndim: usize) -> Result<Array> {
        if g.ndim() <= ndim {
            return Ok(g);
        }
        let ax: Vec<isize> = (0..(g.ndim() - ndim) as isize).collect();
        ops::sum(&g, Some(&ax), false)
    }
}

impl Primitive for QuantizedMatmul {
    fn name(&self) -> String {
        "QuantizedMatmul".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        // The op gives scales and biases one dtype.
        let (x, w, s) = (&inputs[0], &inputs[1], &inputs[2]);
        let out = &outputs[0];
        let nd = x.ndim();
        let (m, k) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let n = *out.shape().last().expect("matrix");
        let batch: usize = x.shape()[..nd - 2].iter().product();
        let sh = cpu::QmmShape {
            batch,
            m,
            k,
            n,
            w_batched: w.ndim() > 2,
        };
        let (xd, wd, sd) = (x.data()?, w.data()?, s.data()?);
        let bd = inputs.get(3).map(|b| b.data()).transpose()?;
        let format = || match &bd {
            Some(bd) => cpu::QWeights::Affine {
                bits: self.bits,
                biases: bd,
            },
            None => cpu::QWeights::Fp(self.mode),
        };
        let d = if out.dtype() == Dtype::Float64 {
            cpu::quantized_matmul::<f64>(
                (&xd, x.shape(), x.dtype()),
                (&wd, w.shape()),
                (&sd, s.shape(), s.dtype()),
                format(),
                sh,
                self.transpose,
                self.group_size,
                out.dtype(),
            )?
        } else {
            cpu::quantized_matmul::<f32>(
                (&xd, x.shape(), x.dtype()),
                (&wd, w.shape()),
                (&sd, s.shape(), s.dtype()),
                format(),
                sh,
                self.transpose,
                self.group_size,
                out.dtype(),
            )?
        };
        out.set_data(crate::array::Data::row_contiguous(d.storage, out.shape()));
        Ok(())
    }
    /// Runs the CPU kernel (downloaded inputs, uploaded output).
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::cpu_fallback(self, inputs, outputs)
    }
    /// `x`: the product of the cotangent with the matrix the other way round. Affine
    /// scales and biases: the outer products `cᵀx` (or `xᵀc`), shaped like the dequantized
    /// matrix, times the levels (scales) or as is (biases), summed per group. The uint8
    /// scales of the float modes have no gradient (an error, as MLX).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, w, s) = (&primals[0], &primals[1], &primals[2]);
        let b = primals.get(3);
        let c = &cotangents[0];
        let outer = || -> Result<Array> {
            if self.transpose {
                ops::matmul(&ops::swapaxes(c, -1, -2)?, x)
            } else {
                ops::matmul(&ops::swapaxes(x, -1, -2)?, c)
            }
        };
        argnums
            .iter()
            .map(|&i| match i {
                0 => {
                    let p = QuantizedMatmul {
                        transpose: !self.transpose,
                        ..self.clone()
                    };
                    let g = p.node(ops::astype(c, x.dtype())?, w.clone(), s.clone(), b.cloned());
                    Ok(g)
                }
                1 => Err(no_weight_grad("QuantizedMatmul")),
                2 if self.mode != QuantizationMode::Affine => {
                    Err(no_scale_grad("QuantizedMatmul", self.mode))
                }
                2 => {
                    let dq = Dequantize {
                        group_size: self.group_size,
                        bits: self.bits,
                        mode: self.mode,
                        dtype: c.dtype(),
                    };
                    let lv = dq.levels(w, s, c.dtype())?;
                    let g = ops::multiply(&outer()?, &lv)?;
                    let g = ops::sum(&grouped(&g, self.group_size)?, Some(&[-1]), false)?;
                    ops::astype(&Self::sum_leading(g, s.ndim())?, s.dtype())
                }
                _ => {
                    let b = b.expect("affine biases");
                    let g = ops::sum(&grouped(&outer()?, self.group_size)?, Some(&[-1]), false)?;
                    ops::astype(&Self::sum_leading(g, b.ndim())?, b.dtype())
                }
            })
            .collect()
    }
    /// Linear in `x` and bilinear in (`x`, scales / biases): each tangent is the same
    /// product with the tangent in its place (zeros for the other affine parameter). The
    /// float modes' uint8 scales have no tangent.
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        if tangent_of(1, tangents, argnums).is_some() {
            return Err(Error::Unsupported(
                "[QuantizedMatmul::jvp] No JVP wrt the quantized matrix yet.".into(),
            ));
        }
        let (x, w, s) = (&primals[0], &primals[1], &primals[2]);
        if self.mode != QuantizationMode::Affine {
            if tangent_of(2, tangents, argnums).is_some() {
                return Err(Error::Unsupported(format!(
                    "[QuantizedMatmul::jvp] No JVP wrt the scales in {} quantization.",
                    self.mode
                )));
            }
            let like = self.node(x.clone(), w.clone(), s.clone(), None);
            let tx = tangent_of(0, tangents, argnums)
                .map(|t| -> Result<Array> {
                    Ok(self.node(ops::astype(t, x.dtype())?, w.clone(), s.clone(), None))
                })
                .transpose()?;
            return Ok(vec![sum_terms(vec![tx], &like)?]);
        }
        let b = &primals[3];
        let tx = tangent_of(0, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(
                    ops::astype(t, x.dtype())?,
                    w.clone(),
                    s.clone(),
                    Some(b.clone()),
                ))
            })
            .transpose()?;
        let ts = tangent_of(2, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(
                    x.clone(),
                    w.clone(),
                    ops::astype(t, s.dtype())?,
                    Some(ops::zeros_like(b)?),
                ))
            })
            .transpose()?;
        let tb = tangent_of(3, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(
                    x.clone(),
                    w.clone(),
                    ops::zeros_like(s)?,
                    Some(ops::astype(t, b.dtype())?),
                ))
            })
            .transpose()?;
        let like = self.node(x.clone(), w.clone(), s.clone(), Some(b.clone()));
        Ok(vec![sum_terms(vec![tx, ts, tb], &like)?])
    }
    /// Every input gets its batch axis in front (unbatched ones broadcast), then the
    /// batch shapes are right-aligned by inserting unit axes after it, and the op
    /// broadcasts them: the output is batched on axis 0.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let bs = batch_size(inputs, axes, "QuantizedMatmul")?;
        let w_batched = axes[1..].iter().any(|a| a.is_some());
        let x = batch_to_front(&inputs[0], axes[0], bs)?;
        if !w_batched && inputs[1].ndim() == 2 {
            let p = self.node(
                x,
                inputs[1].clone(),
                inputs[2].clone(),
                inputs.get(3).cloned(),
            );
            return Ok((vec![p], vec![Some(0)]));
        }
        let mut ws = inputs[1..]
            .iter()
            .zip(&axes[1..])
            .map(|(a, ax)| batch_to_front(a, *ax, bs))
            .collect::<Result<Vec<_>>>()?;
        let r = x.ndim().max(ws[0].ndim());
        let pad = |a: &Array| -> Result<Array> {
            let extra = r - a.ndim();
            if extra == 0 {
                return Ok(a.clone());
            }
            let ax: Vec<isize> = (1..=extra as isize).collect();
            ops::expand_dims(a, &ax)
        };
        let x = pad(&x)?;
        for w in ws.iter_mut() {
            *w = pad(w)?;
        }
        let out = ops::quantized::quantized_matmul(
            &x,
            &ws[0],
            &ws[1],
            ws.get(2),
            self.transpose,
            Some(self.group_size),
            Some(self.bits),
            self.mode,
        )?;
        Ok((vec![out], vec![Some(0)]))
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        let mut s = inputs[0].shape().to_vec();
        *s.last_mut()? = self.out_cols(inputs[1].shape());
        Some(vec![s])
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
