//! Recurrent layers (MLX's `RNN`, `GRU`, `LSTM`): inputs `(N, L, D)` or `(L, D)`, an
//! optional initial state, and every step's hidden state as output. The input projection
//! of all steps is one matmul; the steps then run in order on slices (views) of it. MLX's
//! parameter names and gate orders: `RNN {Wxh, Whh, bias}`, `GRU {Wx, Wh, b, bhn}` with
//! gates `(r, z, n)`, `LSTM {Wx, Wh, bias}` with gates `(i, f, g, o)`.
#![allow(non_snake_case)]

use crate::activations::Activation;
use crate::{module, Param};
use mlxr::{ops, random, Array, Dtype, Error, Result};
use std::sync::Arc;

fn uniform(shape: &[usize], scale: f32) -> Result<Param> {
    Ok(Param::new(random::uniform(
        -scale,
        scale,
        shape,
        Dtype::Float32,
        None,
    )?))
}

/// Check `x` is `(N, L, D)` or `(L, D)` with `D == input_size`, and an initial state is the
/// batch shape plus `hidden`.
fn check(
    layer: &str,
    x: &Array,
    input_size: usize,
    hidden_size: usize,
    states: &[(&str, Option<&Array>)],
) -> Result<()> {
    if !(x.ndim() == 2 || x.ndim() == 3) || x.shape()[x.ndim() - 1] != input_size {
        return Err(Error::Shape(format!(
            "{layer}: the input must be (N, L, {input_size}) or (L, {input_size}), got {:?}",
            x.shape()
        )));
    }
    let mut want = x.shape()[..x.ndim() - 2].to_vec();
    want.push(hidden_size);
    for (name, s) in states {
        if let Some(s) = s {
            if s.shape() != want.as_slice() {
                return Err(Error::Shape(format!(
                    "{layer}: the initial {name} state must have shape {want:?}, got {:?}",
                    s.shape()
                )));
            }
        }
    }
    Ok(())
}

/// `x[..., t, :]` as a view.
fn step(x: &Array, t: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    start[nd - 2] = t as isize;
    stop[nd - 2] = t as isize + 1;
    ops::squeeze(&ops::slice(x, &start, &stop, &vec![1; nd])?, Some(&[-2]))
}

/// `x[..., lo..hi]` along the last axis.
fn features(x: &Array, lo: usize, hi: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut start = vec![0isize; nd];
    let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    start[nd - 1] = lo as isize;
    stop[nd - 1] = hi as isize;
    ops::slice(x, &start, &stop, &vec![1; nd])
}

/// The input projection `x @ W.T (+ b)` of every step at once.
fn project(x: &Array, w: &Array, b: Option<&Param>) -> Result<Array> {
    let wt = ops::transpose(w)?;
    match b {
        Some(b) => ops::addmm(b, x, &wt, 1.0, 1.0),
        None => ops::matmul(x, &wt),
    }
}

/// An Elman recurrent layer: `h_t = nonlinearity(Wxh x_t + Whh h_{t-1} + bias)`.
#[derive(Clone)]
pub struct RNN {
    /// `(hidden_size, input_size)`.
    pub Wxh: Param,
    /// `(hidden_size, hidden_size)`.
    pub Whh: Param,
    /// `(hidden_size,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The non-linearity (MLX's default: tanh).
    pub nonlinearity: Activation,
}
module!(RNN { Wxh, Whh, bias });

impl RNN {
    /// A new layer with weights uniform in `±1/sqrt(hidden_size)` (MLX's initialization);
    /// `nonlinearity` defaults to tanh.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        bias: bool,
        nonlinearity: Option<Activation>,
    ) -> Result<RNN> {
        let s = 1.0 / (hidden_size as f32).sqrt();
        Ok(RNN {
            Wxh: uniform(&[hidden_size, input_size], s)?,
            Whh: uniform(&[hidden_size, hidden_size], s)?,
            bias: if bias {
                Some(uniform(&[hidden_size], s)?)
            } else {
                None
            },
            nonlinearity: nonlinearity.unwrap_or_else(|| Arc::new(ops::tanh)),
        })
    }
    /// The hidden states of every step, `(N, L, H)` or `(L, H)`, from `x` and an optional
    /// initial hidden state `(N, H)` or `(H,)` (none: zero).
    pub fn forward(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let (h, d) = (self.Whh.shape()[0], self.Wxh.shape()[1]);
        check("RNN", x, d, h, &[("hidden", hidden)])?;
        let xp = project(x, &self.Wxh, self.bias.as_ref())?;
        let whh_t = ops::transpose(&self.Whh)?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::with_capacity(x.shape()[x.ndim() - 2]);
        for t in 0..x.shape()[x.ndim() - 2] {
            let xt = step(&xp, t)?;
            let pre = match &hidden {
                Some(hs) => ops::addmm(&xt, hs, &whh_t, 1.0, 1.0)?,
                None => xt,
            };
            let hs = (self.nonlinearity)(&pre)?;
            all.push(hs.clone());
            hidden = Some(hs);
        }
        stack_steps("RNN", &all)
    }
}

fn stack_steps(layer: &str, all: &[Array]) -> Result<Array> {
    if all.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{layer}: the input sequence is empty (L = 0)"
        )));
    }
    ops::stack(all, -2)
}

/// A gated recurrent unit: `r, z = sigmoid(W_x{r,z} x + W_h{r,z} h + b_{r,z})`,
/// `n = tanh(W_xn x + b_n + r * (W_hn h + bhn))`, `h' = (1 - z) n + z h`.
#[derive(Clone, Debug)]
pub struct GRU {
    /// `(3 hidden_size, input_size)`, gates `r, z, n`.
    pub Wx: Param,
    /// `(3 hidden_size, hidden_size)`.
    pub Wh: Param,
    /// `(3 hidden_size,)`, if the layer has biases.
    pub b: Option<Param>,
    /// `(hidden_size,)`: the bias of the hidden projection of `n`.
    pub bhn: Option<Param>,
}
module!(GRU { Wx, Wh, b, bhn });

impl GRU {
    /// A new layer with weights uniform in `±1/sqrt(hidden_size)` (MLX's initialization).
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<GRU> {
        let s = 1.0 / (hidden_size as f32).sqrt();
        Ok(GRU {
            Wx: uniform(&[3 * hidden_size, input_size], s)?,
            Wh: uniform(&[3 * hidden_size, hidden_size], s)?,
            b: if bias {
                Some(uniform(&[3 * hidden_size], s)?)
            } else {
                None
            },
            bhn: if bias {
                Some(uniform(&[hidden_size], s)?)
            } else {
                None
            },
        })
    }
    /// The hidden states of every step, `(N, L, H)` or `(L, H)`, from `x` and an optional
    /// initial hidden state (none: zero).
    pub fn forward(&self, x: &Array, hidden: Option<&Array>) -> Result<Array> {
        let (h, d) = (self.Wh.shape()[1], self.Wx.shape()[1]);
        check("GRU", x, d, h, &[("hidden", hidden)])?;
        let xp = project(x, &self.Wx, self.b.as_ref())?;
        let x_rz = features(&xp, 0, 2 * h)?;
        let x_n = features(&xp, 2 * h, 3 * h)?;
        let wh_t = ops::transpose(&self.Wh)?;
        let mut hidden = hidden.cloned();
        let mut all = Vec::with_capacity(x.shape()[x.ndim() - 2]);
        for t in 0..x.shape()[x.ndim() - 2] {
            let mut rz = step(&x_rz, t)?;
            let mut h_proj_n = None;
            if let Some(hs) = &hidden {
                let hp = ops::matmul(hs, &wh_t)?;
                let mut hn = features(&hp, 2 * h, 3 * h)?;
                if let Some(bhn) = &self.bhn {
                    hn = ops::add(&hn, &bhn.value)?;
                }
                h_proj_n = Some(hn);
                rz = ops::add(&rz, &features(&hp, 0, 2 * h)?)?;
            }
            let rz = ops::sigmoid(&rz)?;
            let (r, z) = (features(&rz, 0, h)?, features(&rz, h, 2 * h)?);
            let mut n = step(&x_n, t)?;
            if let Some(hn) = &h_proj_n {
                n = ops::add(&n, &ops::multiply(&r, hn)?)?;
            } else if let Some(bhn) = &self.bhn {
                n = ops::add(&n, &ops::multiply(&r, &bhn.value)?)?;
            }
            let n = ops::tanh(&n)?;
            let keep_n = ops::multiply(&ops::subtract(1.0, &z)?, &n)?;
            let hs = match &hidden {
                Some(hs) => ops::add(&keep_n, &ops::multiply(&z, hs)?)?,
                None => keep_n,
            };
            all.push(hs.clone());
            hidden = Some(hs);
        }
        stack_steps("GRU", &all)
    }
}

/// A long short-term memory layer: gates `i, f, o = sigmoid(.)`, `g = tanh(.)` of
/// `Wx x + Wh h + bias`; `c' = f c + i g`, `h' = o tanh(c')`.
#[derive(Clone, Debug)]
pub struct LSTM {
    /// `(4 hidden_size, input_size)`, gates `i, f, g, o`.
    pub Wx: Param,
    /// `(4 hidden_size, hidden_size)`.
    pub Wh: Param,
    /// `(4 hidden_size,)`, if the layer has a bias.
    pub bias: Option<Param>,
}
module!(LSTM { Wx, Wh, bias });

impl LSTM {
    /// A new layer with weights uniform in `±1/sqrt(hidden_size)` (MLX's initialization).
    pub fn new(input_size: usize, hidden_size: usize, bias: bool) -> Result<LSTM> {
        let s = 1.0 / (hidden_size as f32).sqrt();
        Ok(LSTM {
            Wx: uniform(&[4 * hidden_size, input_size], s)?,
            Wh: uniform(&[4 * hidden_size, hidden_size], s)?,
            bias: if bias {
                Some(uniform(&[4 * hidden_size], s)?)
            } else {
                None
            },
        })
    }
    /// `(hidden states, cell states)` of every step, each `(N, L, H)` or `(L, H)`, from `x`
    /// and optional initial hidden and cell states (none: zero).
    pub fn forward(
        &self,
        x: &Array,
        hidden: Option<&Array>,
        cell: Option<&Array>,
    ) -> Result<(Array, Array)> {
        let (h, d) = (self.Wh.shape()[1], self.Wx.shape()[1]);
        check("LSTM", x, d, h, &[("hidden", hidden), ("cell", cell)])?;
        let xp = project(x, &self.Wx, self.bias.as_ref())?;
        let wh_t = ops::transpose(&self.Wh)?;
        let (mut hidden, mut cell) = (hidden.cloned(), cell.cloned());
        let (mut hs_all, mut cs_all) = (Vec::new(), Vec::new());
        for t in 0..x.shape()[x.ndim() - 2] {
            let mut ifgo = step(&xp, t)?;
            if let Some(hs) = &hidden {
                ifgo = ops::addmm(&ifgo, hs, &wh_t, 1.0, 1.0)?;
            }
            let i = ops::sigmoid(&features(&ifgo, 0, h)?)?;
            let f = ops::sigmoid(&features(&ifgo, h, 2 * h)?)?;
            let g = ops::tanh(&features(&ifgo, 2 * h, 3 * h)?)?;
            let o = ops::sigmoid(&features(&ifgo, 3 * h, 4 * h)?)?;
            let ig = ops::multiply(&i, &g)?;
            let c = match &cell {
                Some(c) => ops::add(&ops::multiply(&f, c)?, &ig)?,
                None => ig,
            };
            let hs = ops::multiply(&o, &ops::tanh(&c)?)?;
            hs_all.push(hs.clone());
            cs_all.push(c.clone());
            hidden = Some(hs);
            cell = Some(c);
        }
        Ok((stack_steps("LSTM", &hs_all)?, stack_steps("LSTM", &cs_all)?))
    }
}
