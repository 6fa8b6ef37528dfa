//! `Linear` (`x @ W.T + b`), `Bilinear` (`x1 W x2 + b`) and `Identity`.

use crate::{layer, module, Param};
use mlxr::{ops, random, Array, Dtype, Error, Result};

/// `y = x @ weight.T + bias` with weight `(output_dims, input_dims)`, initialised uniform in
/// `±1/sqrt(input_dims)` (bias too), as MLX.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `(output_dims, input_dims)`.
    pub weight: Param,
    /// `(output_dims,)`, if the layer has a bias.
    pub bias: Option<Param>,
}
module!(Linear { weight, bias });
layer!(Linear);

impl Linear {
    /// A new layer with random weights from the global key.
    pub fn new(input_dims: usize, output_dims: usize, bias: bool) -> Result<Linear> {
        let s = (1.0 / input_dims as f32).sqrt();
        let weight = random::uniform(-s, s, &[output_dims, input_dims], Dtype::Float32, None)?;
        let bias = if bias {
            Some(Param::new(random::uniform(
                -s,
                s,
                &[output_dims],
                Dtype::Float32,
                None,
            )?))
        } else {
            None
        };
        Ok(Linear {
            weight: Param::new(weight),
            bias,
        })
    }
    /// Apply to `x` of shape `(..., input_dims)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let wt = ops::transpose(&self.weight)?;
        match &self.bias {
            Some(b) => ops::addmm(b, x, &wt, 1.0, 1.0),
            None => ops::matmul(x, &wt),
        }
    }
}

/// `y[o] = sum_ij x2[j] W[o, j, i] x1[i] + b[o]`: weight `(output_dims, input2_dims,
/// input1_dims)` (MLX's layout), initialised uniform in `±1/sqrt(input1_dims)`, as MLX.
#[derive(Debug, Clone)]
pub struct Bilinear {
    /// `(output_dims, input2_dims, input1_dims)`.
    pub weight: Param,
    /// `(output_dims,)`, if the layer has a bias.
    pub bias: Option<Param>,
}
module!(Bilinear { weight, bias });

impl Bilinear {
    /// A new layer with random weights from the global key.
    pub fn new(
        input1_dims: usize,
        input2_dims: usize,
        output_dims: usize,
        bias: bool,
    ) -> Result<Bilinear> {
        let s = (1.0 / input1_dims as f32).sqrt();
        let w = random::uniform(
            -s,
            s,
            &[output_dims, input2_dims, input1_dims],
            Dtype::Float32,
            None,
        )?;
        let bias = if bias {
            Some(Param::new(random::uniform(
                -s,
                s,
                &[output_dims],
                Dtype::Float32,
                None,
            )?))
        } else {
            None
        };
        Ok(Bilinear {
            weight: Param::new(w),
            bias,
        })
    }
    /// Apply to `x1 (..., input1_dims)` and `x2 (..., input2_dims)`.
    pub fn forward(&self, x1: &Array, x2: &Array) -> Result<Array> {
        let w = &self.weight;
        let (out, in2, in1) = (w.shape()[0], w.shape()[1], w.shape()[2]);
        if x1.ndim() == 0
            || x2.ndim() == 0
            || x1.shape()[x1.ndim() - 1] != in1
            || x2.shape()[x2.ndim() - 1] != in2
        {
            return Err(Error::Shape(format!(
                "Bilinear: inputs of shapes {:?} and {:?} do not end in {in1} and {in2}",
                x1.shape(),
                x2.shape()
            )));
        }
        let lead = &x1.shape()[..x1.ndim() - 1];
        let n: usize = lead.iter().product();
        let a = ops::reshape_to(x1, &[n, in1])?;
        let b = ops::reshape_to(x2, &[n, 1, in2])?;
        // (n, in1) @ (in1, out*in2) -> (n, out, in2) -> (n, in2, out); then x2 @ that.
        let wm = ops::transpose(&ops::reshape_to(w, &[out * in2, in1])?)?;
        let t = ops::swapaxes(
            &ops::reshape_to(&ops::matmul(&a, &wm)?, &[n, out, in2])?,
            -2,
            -1,
        )?;
        let y = ops::reshape_to(&ops::matmul(&b, &t)?, &[n, out])?;
        let y = match &self.bias {
            Some(bias) => ops::add(&y, &bias.value)?,
            None => y,
        };
        let mut shape = lead.to_vec();
        shape.push(out);
        ops::reshape_to(&y, &shape)
    }
}

/// The identity layer.
#[derive(Debug, Clone, Default)]
pub struct Identity;
module!(Identity {});
layer!(Identity);

impl Identity {
    /// Returns `x`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        Ok(x.clone())
    }
}
