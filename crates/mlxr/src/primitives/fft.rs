//! The `FFT` primitive (MLX's `FFT`): complex, real-forward and real-inverse discrete
//! Fourier transforms over a list of axes, with its vjp / jvp (the adjoint transforms, as
//! MLX defines them) and vmap rules. The CPU kernel is `backend/cpu/fft.rs`; on the GPU it
//! runs through `cpu_fallback` until a cuFFT path exists.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["FFT"];

use super::reduce::shift_axes;
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// A discrete Fourier transform over `axes` (normalised, distinct, in the caller's order).
/// The op has already padded / truncated the input. Complex transforms map complex64 to
/// complex64 of the same shape; a real forward transform maps float32 with `n` points on
/// the last of `axes` to complex64 with `n / 2 + 1`; a real inverse transform maps
/// complex64 with `n / 2 + 1` points to float32 with `n` (the output shape says `n`).
/// Inverse transforms scale by `1 / n` per axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fft {
    /// The transformed axes.
    pub axes: Vec<usize>,
    /// Inverse transform.
    pub inverse: bool,
    /// Real transform (rfft / irfft).
    pub real: bool,
    /// The full (real-signal) length of the last axis for real transforms; 0 otherwise.
    pub n: usize,
}

impl Fft {
    /// A node of this primitive for input `x` with output shape `out_shape`.
    fn node(&self, x: Array, out_shape: Vec<usize>) -> Array {
        let dt = if self.real && self.inverse {
            Dtype::Float32
        } else {
            Dtype::Complex64
        };
        Array::new_node(
            out_shape,
            dt,
            Arc::new(self.clone()),
            vec![x],
            ops::stream(),
        )
    }

    /// The output shape for an input of shape `in_shape`.
    pub fn out_shape(&self, in_shape: &[usize]) -> Vec<usize> {
        let mut s = in_shape.to_vec();
        if self.real {
            let last = *self.axes.last().expect("axes");
            s[last] = if self.inverse { self.n } else { self.n / 2 + 1 };
        }
        s
    }

    /// The number of points of the transform (product of the transformed lengths, the real
    /// axis counted with its full length).
    fn points(&self, in_shape: &[usize]) -> usize {
        let last = *self.axes.last().expect("axes");
        self.axes
            .iter()
            .map(|&a| {
                if self.real && a == last {
                    self.n
                } else {
                    in_shape[a]
                }
            })
            .product()
    }

    /// The weights of the real axis' frequencies in the real transforms' adjoints: 1 for
    /// the zero (and, for even `n`, the Nyquist) frequency, 2 for the others (each stands
    /// for itself and its conjugate twin). Shape `[m]` broadcast along axis `last`.
    fn mask(&self, ndim: usize, n: usize) -> Result<Array> {
        let m = n / 2 + 1;
        let w: Vec<f32> = (0..m)
            .map(|k| {
                if k == 0 || (n.is_multiple_of(2) && k == n / 2) {
                    1.0
                } else {
                    2.0
                }
            })
            .collect();
        let last = *self.axes.last().expect("axes");
        let mut shape = vec![1; ndim];
        shape[last] = m;
        Array::from_slice(&w, &shape)
    }
}

impl Primitive for Fft {
    fn name(&self) -> String {
        "FFT".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = crate::backend::cpu::fft::fft(
            &d,
            x.shape(),
            x.dtype(),
            outputs[0].shape(),
            &self.axes,
            self.inverse,
            self.real,
        )?;
        outputs[0].set_data(out);
        Ok(())
    }
    /// The GPU runs the CPU kernel (downloaded input, uploaded output) until a cuFFT path
    /// exists.
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::cpu_fallback(self, inputs, outputs)
    }
    /// The adjoint transform (MLX's convention: the conjugate transpose of the linear
    /// map): `N * ifft(c)` for a forward complex transform, `fft(c) / N` for an inverse
    /// one; for `rfft` the real part of `N * ifft` of the cotangent zero-extended to `n`
    /// points; for `irfft` the `rfft` of the cotangent with the twin frequencies doubled,
    /// over `N`.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let c = &cotangents[0];
        let n_pts = self.points(x.shape()) as f64;
        let g = if !self.real {
            let c = ops::astype(c, Dtype::Complex64)?;
            let adj = Fft {
                axes: self.axes.clone(),
                inverse: !self.inverse,
                real: false,
                n: 0,
            };
            let y = adj.node(c, x.shape().to_vec());
            if self.inverse {
                ops::divide(&y, n_pts)?
            } else {
                ops::multiply(&y, n_pts)?
            }
        } else if !self.inverse {
            // rfft: zero-extend the cotangent's real axis to n points, complex inverse,
            // scale, real part.
            let last = *self.axes.last().expect("axes");
            let c = ops::astype(c, Dtype::Complex64)?;
            let mut widths = vec![(0, 0); c.ndim()];
            widths[last] = (0, x.shape()[last] - c.shape()[last]);
            let c = ops::pad(&c, &widths, ops::PadMode::Constant, 0.0)?;
            let adj = Fft {
                axes: self.axes.clone(),
                inverse: true,
                real: false,
                n: 0,
            };
            let y = adj.node(c, x.shape().to_vec());
            ops::real(&ops::multiply(&y, n_pts)?)?
        } else {
            // irfft: rfft of the cotangent, twin frequencies doubled, over N.
            let c = ops::astype(c, Dtype::Float32)?;
            let adj = Fft {
                axes: self.axes.clone(),
                inverse: false,
                real: true,
                n: self.n,
            };
            let y = adj.node(c, x.shape().to_vec());
            let w = self.mask(x.ndim(), self.n)?;
            ops::divide(&ops::multiply(&y, &w)?, n_pts)?
        };
        Ok(vec![ops::astype(&g, x.dtype())?])
    }
    /// The transform is linear: the tangent is the transform of the input's tangent.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let x = &primals[0];
        let t = ops::astype(&tangents[0], x.dtype())?;
        let out_shape = self.out_shape(x.shape());
        Ok(vec![self.node(t, out_shape)])
    }
    /// The batch axis is one more untouched axis; the transformed axes shift past it.
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, b) = match axes[0] {
            Some(b) => (inputs[0].clone(), b),
            None => (ops::expand_dims(&inputs[0], &[0])?, 0),
        };
        let p = Fft {
            axes: shift_axes(&self.axes, b),
            inverse: self.inverse,
            real: self.real,
            n: self.n,
        };
        let out_shape = p.out_shape(x.shape());
        Ok((vec![p.node(x, out_shape)], vec![Some(b)]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
