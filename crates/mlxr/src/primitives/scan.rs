//! Scan primitives: `Scan` (cumulative sum / product / max / min / logaddexp along one
//! axis) and `Convolve` (1-D full convolution, the kernel behind `convolve`). Kernels
//! live in `backend/cpu/scan.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "CumSum",
    "CumProd",
    "CumMax",
    "CumMin",
    "CumLogaddexp",
    "Convolve",
];

use super::shape::{node, vmap_loop};
use crate::array::Array;
use crate::backend::cpu::scan as k;
pub use crate::backend::cpu::scan::ScanOp;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

/// A scan along `axis` (MLX's `Scan`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The accumulation.
    pub op: ScanOp,
    /// The scanned axis.
    pub axis: usize,
    /// Scan from the end.
    pub reverse: bool,
    /// Include the current element.
    pub inclusive: bool,
}

impl Primitive for Scan {
    fn name(&self) -> String {
        match self.op {
            ScanOp::Sum => "CumSum",
            ScanOp::Prod => "CumProd",
            ScanOp::Max => "CumMax",
            ScanOp::Min => "CumMin",
            ScanOp::LogAddExp => "CumLogaddexp",
        }
        .into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out = k::scan(&inputs[0], self.op, self.axis, self.reverse, self.inclusive)?;
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::scan::scan_gpu(
            self.op,
            self.axis,
            self.reverse,
            self.inclusive,
            inputs,
            outputs,
        )
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        // Reduce to an inclusive forward scan of `s` (the flipped input for reverse scans,
        // shifted by one with the op's identity in front for exclusive ones).
        let x1 = self.flip(&primals[0])?;
        let ct1 = self.flip(&cotangents[0])?;
        let out1 = self.flip(&outputs[0])?;
        let s = if self.inclusive {
            x1
        } else {
            self.shift(&x1, self.identity())?
        };
        let g = self.incl_vjp(&s, &ct1, &out1)?;
        let g = if self.inclusive { g } else { self.unshift(&g)? };
        Ok(vec![self.flip(&g)?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let x1 = self.flip(&primals[0])?;
        let t1 = self.flip(&tangents[0])?;
        let (s, ts) = if self.inclusive {
            (x1, t1)
        } else {
            (self.shift(&x1, self.identity())?, self.shift(&t1, 0.0)?)
        };
        let out = self.incl(&s)?;
        let mut r = self.incl_jvp(&s, &ts, &out)?;
        if !self.inclusive {
            // The first output is the op's identity, a constant.
            r = self.shift(&self.unshift(&r)?, 0.0)?;
        }
        Ok(vec![self.flip(&r)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let mut p = self.clone();
        if let Some(b) = axes[0] {
            if b <= self.axis {
                p.axis += 1;
            }
        }
        Ok((
            vec![node(x.shape().to_vec(), x.dtype(), p, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    fn output_shapes(&self, inputs: &[Array]) -> Option<Vec<Vec<usize>>> {
        crate::primitive::same_shapes(inputs, 1)
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Full 1-D convolution of two floating 1-D arrays of one dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Convolve;

impl Primitive for Convolve {
    fn name(&self) -> String {
        "Convolve".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::convolve_full(&inputs[0], &inputs[1])?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::scan::convolve_gpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let (a, v) = (&primals[0], &primals[1]);
        let ct = &cotangents[0];
        let (n, m) = (a.size(), v.size());
        argnums
            .iter()
            .map(|&i| {
                // Correlate the cotangent with the other input.
                let (other, start, len) = if i == 0 { (v, m - 1, n) } else { (a, n - 1, m) };
                let c = conv_full(ct, &ops::flip(other, None)?);
                ops::slice(&c, &[start as isize], &[(start + len) as isize], &[1])
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let (a, v) = (&primals[0], &primals[1]);
        let mut acc: Option<Array> = None;
        for (&i, t) in argnums.iter().zip(tangents) {
            let c = if i == 0 {
                conv_full(t, v)
            } else {
                conv_full(a, t)
            };
            acc = Some(match acc {
                None => c,
                Some(p) => ops::add(&p, &c)?,
            });
        }
        Ok(vec![acc.expect("jvp is called with at least one tangent")])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        vmap_loop(inputs, axes, "Convolve", |xs| {
            Ok(vec![conv_full(&xs[0], &xs[1])])
        })
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Full 1-D convolution of `x` and `y` (a `Convolve` node).
fn conv_full(x: &Array, y: &Array) -> Array {
    let len = if x.size() == 0 || y.size() == 0 {
        0
    } else {
        x.size() + y.size() - 1
    };
    node(vec![len], x.dtype(), Convolve, vec![x.clone(), y.clone()])
}

impl Scan {
    fn ax(&self) -> Option<isize> {
        Some(self.axis as isize)
    }

    /// The op's identity (the first output of an exclusive scan).
    fn identity(&self) -> f64 {
        match self.op {
            ScanOp::Sum => 0.0,
            ScanOp::Prod => 1.0,
            ScanOp::Max | ScanOp::LogAddExp => f64::NEG_INFINITY,
            ScanOp::Min => f64::INFINITY,
        }
    }

    /// `x` flipped along the axis for reverse scans.
    fn flip(&self, x: &Array) -> Result<Array> {
        if self.reverse {
            ops::flip(x, Some(&[self.axis as isize]))
        } else {
            Ok(x.clone())
        }
    }

    /// Elements `start..stop` along the axis.
    fn part(&self, x: &Array, start: usize, stop: usize) -> Result<Array> {
        let nd = x.ndim();
        let mut st = vec![0isize; nd];
        let mut en: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
        st[self.axis] = start as isize;
        en[self.axis] = stop as isize;
        ops::slice(x, &st, &en, &vec![1; nd])
    }

    /// `fill` followed by `x` without its last element, along the axis.
    fn shift(&self, x: &Array, fill: f64) -> Result<Array> {
        let n = x.shape()[self.axis];
        if n == 0 {
            return Ok(x.clone());
        }
        let mut hs = x.shape().to_vec();
        hs[self.axis] = 1;
        let head = ops::full(&hs, fill, Some(x.dtype()))?;
        ops::concatenate(&[head, self.part(x, 0, n - 1)?], self.axis as isize)
    }

    /// `g` without its first element, followed by a zero, along the axis.
    fn unshift(&self, g: &Array) -> Result<Array> {
        let n = g.shape()[self.axis];
        if n == 0 {
            return Ok(g.clone());
        }
        let mut ts = g.shape().to_vec();
        ts[self.axis] = 1;
        let tail = ops::zeros(&ts, Some(g.dtype()))?;
        ops::concatenate(&[self.part(g, 1, n)?, tail], self.axis as isize)
    }

    /// The inclusive forward scan of `s` with this op.
    fn incl(&self, s: &Array) -> Result<Array> {
        let p = Scan {
            op: self.op,
            axis: self.axis,
            reverse: false,
            inclusive: true,
        };
        Ok(node(s.shape().to_vec(), s.dtype(), p, vec![s.clone()]))
    }

    /// Reverse inclusive cumulative sum along the axis.
    fn rcumsum(&self, x: &Array) -> Result<Array> {
        ops::cumsum(x, self.ax(), true, true)
    }

    /// For cummax / cummin: the position each output of the inclusive scan `out` of `s`
    /// takes its value from (the last position reaching the running extreme, as MLX).
    fn source(&self, s: &Array, out: &Array) -> Result<Array> {
        let n = s.shape()[self.axis];
        let mut ps = vec![1usize; s.ndim()];
        ps[self.axis] = n;
        let pos: Vec<i32> = (0..n as i32).collect();
        let pos = ops::broadcast_to(&Array::from_slice(&pos, &ps)?, s.shape())?;
        let hit = ops::r#where(ops::equal(s, out)?, &pos, -1)?;
        ops::maximum(ops::cummax(&hit, self.ax(), false, true)?, 0)
    }

    /// Masks for cumprod with zeros: (before the first zero, at the first zero, the
    /// input with ones up to and including the first zero).
    fn zero_masks(&self, s: &Array) -> Result<(Array, Array, Array)> {
        let z = ops::equal(s, 0.0)?;
        let cz = ops::cumsum(&ops::astype(&z, Dtype::Int32)?, self.ax(), false, true)?;
        let before = ops::equal(&cz, 0)?;
        let first = ops::logical_and(&z, ops::equal(&cz, 1)?)?;
        let ones_upto = ops::r#where(ops::logical_or(&before, &first)?, 1.0, s)?;
        Ok((before, first, ones_upto))
    }

    /// vjp of the inclusive forward scan `out` of `s`.
    fn incl_vjp(&self, s: &Array, ct: &Array, out: &Array) -> Result<Array> {
        match self.op {
            ScanOp::Sum => self.rcumsum(ct),
            ScanOp::Prod => {
                // Exact with zeros: before the first zero, sum_{i>=j} ct_i out_i / x_j; at
                // the first zero z, prod_{k<z} x_k * sum_{i>=z} ct_i prod_{z<k<=i} x_k;
                // after it, 0.
                let (before, first, ones_upto) = self.zero_masks(s)?;
                let safe = ops::r#where(&before, s, 1.0)?;
                let p1 = ops::divide(self.rcumsum(&ops::multiply(ct, out)?)?, &safe)?;
                let excl = ops::cumprod(s, self.ax(), false, false)?;
                let p = ops::cumprod(&ones_upto, self.ax(), false, true)?;
                let p2 = ops::multiply(&excl, self.rcumsum(&ops::multiply(ct, &p)?)?)?;
                ops::r#where(&before, &p1, ops::r#where(&first, &p2, 0.0)?)
            }
            ScanOp::Max | ScanOp::Min => {
                let src = self.source(s, out)?;
                ops::scatter_add_axis(&ops::zeros_like(s)?, &src, ct, self.ax())
            }
            ScanOp::LogAddExp => {
                let w = self.rcumsum(&ops::multiply(ct, ops::exp(&ops::negative(out)?)?)?)?;
                ops::multiply(ops::exp(s)?, &w)
            }
        }
    }

    /// jvp of the inclusive forward scan `out` of `s` along `t`.
    fn incl_jvp(&self, s: &Array, t: &Array, out: &Array) -> Result<Array> {
        match self.op {
            ScanOp::Sum => ops::cumsum(t, self.ax(), false, true),
            ScanOp::Prod => {
                let (before, first, ones_upto) = self.zero_masks(s)?;
                let safe = ops::r#where(&before, s, 1.0)?;
                let p1 = ops::multiply(
                    out,
                    ops::cumsum(&ops::divide(t, &safe)?, self.ax(), false, true)?,
                )?;
                let excl = ops::cumprod(s, self.ax(), false, false)?;
                let c = ops::r#where(&first, ops::multiply(t, &excl)?, 0.0)?;
                let c = ops::sum(&c, Some(&[self.axis as isize]), true)?;
                let p = ops::cumprod(&ones_upto, self.ax(), false, true)?;
                ops::r#where(&before, &p1, ops::multiply(&c, &p)?)
            }
            ScanOp::Max | ScanOp::Min => {
                let src = self.source(s, out)?;
                ops::take_along_axis(t, &src, self.ax())
            }
            ScanOp::LogAddExp => {
                let w = ops::cumsum(&ops::multiply(t, ops::exp(s)?)?, self.ax(), false, true)?;
                ops::multiply(ops::exp(&ops::negative(out)?)?, &w)
            }
        }
    }
}
