//! Quantization primitives (MLX's `fast::Quantize` / `fast::ConvertFP8`-free affine path):
//! `Quantize` (one node, outputs packed weights, scales, biases), `Dequantize` and
//! `QuantizedMatmul` (the fused product with a quantized matrix), with their rules. Kernels
//! live in `backend/cpu/quantized.rs`; on the GPU they run through `cpu_fallback`.
//!
//! Derivatives follow MLX: no gradient flows to the packed weights; `QuantizedMatmul` and
//! `Dequantize` are differentiable in `x`, the scales and the biases; `Quantize`'s scales
//! and biases are differentiated through the float computation that produces them (the
//! rounding held constant), as MLX's composed fallback is.

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

/// Affine quantization of the last axis of `w` in groups of `group_size` (outputs: packed
/// uint32 words, scales, biases in `w`'s dtype).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantize {
    /// Elements sharing one scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode (only affine has a kernel).
    pub mode: QuantizationMode,
}

impl Quantize {
    /// The output nodes for input `w`.
    pub(crate) fn nodes(&self, w: Array) -> Vec<Array> {
        let mut qs = w.shape().to_vec();
        let k = *qs.last().expect("matrix");
        *qs.last_mut().expect("matrix") = k * self.bits as usize / 32;
        let mut ss = w.shape().to_vec();
        *ss.last_mut().expect("matrix") = k / self.group_size;
        let dt = w.dtype();
        Array::new_multi(
            vec![(qs, Dtype::Uint32), (ss.clone(), dt), (ss, dt)],
            Arc::new(self.clone()),
            vec![w],
            ops::stream(),
        )
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
    /// The cotangents of the scales and biases pulled back through [`Self::params_graph`];
    /// the packed output carries none.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let cots = vec![cotangents[1].clone(), cotangents[2].clone()];
        let (_, g) = crate::transforms::vjp(|x| self.params_graph(&x[0]), primals, &cots)?;
        Ok(g)
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let (_, t) = crate::transforms::jvp(|x| self.params_graph(&x[0]), primals, tangents)?;
        let q0 = ops::zeros(
            &{
                let mut s = primals[0].shape().to_vec();
                let k = *s.last().expect("matrix");
                *s.last_mut().expect("matrix") = k * self.bits as usize / 32;
                s
            },
            Some(Dtype::Uint32),
        )?;
        Ok(vec![q0, t[0].clone(), t[1].clone()])
    }
    /// The batch axis moves to the front (rows are quantized independently).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes, "Quantize")?;
        let w = batch_to_front(&inputs[0], axes[0], b)?;
        Ok((self.nodes(w), vec![Some(0); 3]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Affine dequantization `scale * q + bias` of packed weights. Inputs: packed uint32
/// `w`, `scales`, `biases` (same leading shape); output in `dtype`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dequantize {
    /// Elements sharing one scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode (only affine has a kernel).
    pub mode: QuantizationMode,
    /// The output dtype.
    pub dtype: Dtype,
}

impl Dequantize {
    /// A node of this primitive.
    pub(crate) fn node(&self, w: Array, scales: Array, biases: Array) -> Array {
        let mut s = w.shape().to_vec();
        let kp = *s.last().expect("matrix");
        *s.last_mut().expect("matrix") = kp * 32 / self.bits as usize;
        Array::new_node(
            s,
            self.dtype,
            Arc::new(self.clone()),
            vec![w, scales, biases],
            ops::stream(),
        )
    }

    /// The unpacked integers of `w` as floats of `dt` (shape of the dequantized matrix).
    fn levels(&self, w: &Array, scales: &Array, dt: Dtype) -> Result<Array> {
        let one = ops::ones(scales.shape(), Some(dt))?;
        let zero = ops::zeros(scales.shape(), Some(dt))?;
        let p = Dequantize {
            dtype: dt,
            ..self.clone()
        };
        Ok(p.node(w.clone(), one, zero))
    }
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
    /// summed per group.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (w, s, b) = (&primals[0], &primals[1], &primals[2]);
        let c = &cotangents[0];
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
    /// Linear in the scales and biases: the dequantization of the tangents.
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        if tangent_of(0, tangents, argnums).is_some() {
            return Err(Error::Unsupported(
                "[Dequantize::jvp] No JVP wrt the quantized matrix.".into(),
            ));
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
        Ok(vec![self.node(w.clone(), ts, tb)])
    }
    /// Batch axes move to the front (unbatched inputs broadcast along it).
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let b = batch_size(inputs, axes, "Dequantize")?;
        let ins = inputs
            .iter()
            .zip(axes)
            .map(|(x, a)| batch_to_front(x, *a, b))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            vec![self.node(ins[0].clone(), ins[1].clone(), ins[2].clone())],
            vec![Some(0)],
        ))
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
/// (2-D, or with the same batch shape as `x`), `scales`, `biases` (like `w`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizedMatmul {
    /// Elements sharing one scale and bias.
    pub group_size: usize,
    /// Bits per element.
    pub bits: u32,
    /// The quantization mode (only affine has a kernel).
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

    /// A node of this primitive (inputs already validated and broadcast).
    pub(crate) fn node(&self, x: Array, w: Array, s: Array, b: Array) -> Array {
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("matrix") = self.out_cols(w.shape());
        let dt = x.dtype();
        Array::new_node(
            shape,
            dt,
            Arc::new(self.clone()),
            vec![x, w, s, b],
            ops::stream(),
        )
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
        let (x, w, s, b) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3]);
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
        let (xd, wd, sd, bd) = (x.data()?, w.data()?, s.data()?, b.data()?);
        let d = if out.dtype() == Dtype::Float64 {
            cpu::quantized_matmul::<f64>(
                (&xd, x.shape(), x.dtype()),
                (&wd, w.shape()),
                (&sd, s.shape(), s.dtype()),
                &bd,
                sh,
                self.transpose,
                self.group_size,
                self.bits,
                out.dtype(),
            )?
        } else {
            cpu::quantized_matmul::<f32>(
                (&xd, x.shape(), x.dtype()),
                (&wd, w.shape()),
                (&sd, s.shape(), s.dtype()),
                &bd,
                sh,
                self.transpose,
                self.group_size,
                self.bits,
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
    /// `x`: the product of the cotangent with the matrix the other way round. Scales and
    /// biases: the outer products `cᵀx` (or `xᵀc`), shaped like the dequantized matrix,
    /// times the levels (scales) or as is (biases), summed per group.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (x, w, s, b) = (&primals[0], &primals[1], &primals[2], &primals[3]);
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
                    let g = p.node(ops::astype(c, x.dtype())?, w.clone(), s.clone(), b.clone());
                    Ok(g)
                }
                1 => Err(no_weight_grad("QuantizedMatmul")),
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
                    let g = ops::sum(&grouped(&outer()?, self.group_size)?, Some(&[-1]), false)?;
                    ops::astype(&Self::sum_leading(g, b.ndim())?, b.dtype())
                }
            })
            .collect()
    }
    /// Linear in `x` and bilinear in (`x`, scales / biases): each tangent is the same
    /// product with the tangent in its place (zeros for the other affine parameter).
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        if tangent_of(1, tangents, argnums).is_some() {
            return Err(Error::Unsupported(
                "[QuantizedMatmul::jvp] No JVP wrt the quantized matrix yet.".into(),
            ));
        }
        let (x, w, s, b) = (&primals[0], &primals[1], &primals[2], &primals[3]);
        let tx = tangent_of(0, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(ops::astype(t, x.dtype())?, w.clone(), s.clone(), b.clone()))
            })
            .transpose()?;
        let ts = tangent_of(2, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(
                    x.clone(),
                    w.clone(),
                    ops::astype(t, s.dtype())?,
                    ops::zeros_like(b)?,
                ))
            })
            .transpose()?;
        let tb = tangent_of(3, tangents, argnums)
            .map(|t| -> Result<Array> {
                Ok(self.node(
                    x.clone(),
                    w.clone(),
                    ops::zeros_like(s)?,
                    ops::astype(t, b.dtype())?,
                ))
            })
            .transpose()?;
        let like = self.node(x.clone(), w.clone(), s.clone(), b.clone());
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
            let p = self.node(x, inputs[1].clone(), inputs[2].clone(), inputs[3].clone());
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
            Some(&ws[2]),
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
