//! `Upsample` (MLX's `nn.Upsample`) and its functions `upsample_nearest`, `upsample_linear`,
//! `upsample_cubic`: resize the spatial axes of channels-last inputs `(N, spatial..., C)` by
//! a scale factor per axis, with MLX's index arithmetic (`align_corners`, and antialiasing
//! for downsampling). Sample positions and weights are computed on the host in float32
//! exactly as MLX does; the resampling itself is `take` along one axis at a time times the
//! tap weights (weights are float32, so half-precision inputs give float32 results with
//! the linear and cubic modes, as in MLX), so it is differentiable and runs on any device.

use crate::{layer, module};
use mlxr::{ops, Array, Error, Result};

/// The interpolation of an [`Upsample`] layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsampleMode {
    /// Nearest neighbour.
    Nearest,
    /// Linear per axis (bilinear, trilinear).
    Linear,
    /// Cubic per axis (bicubic).
    Cubic,
}

/// Resize the spatial axes of `(N, spatial..., C)` inputs (MLX's `nn.Upsample`).
#[derive(Debug, Clone)]
pub struct Upsample {
    /// The scale per spatial axis, or one value for every axis.
    pub scale_factor: Vec<f64>,
    /// The interpolation.
    pub mode: UpsampleMode,
    /// Align the corner pixels of input and output (linear and cubic modes).
    pub align_corners: bool,
    /// Low-pass filter when downsampling (linear and cubic modes).
    pub antialias: bool,
}
module!(Upsample {});
layer!(Upsample);

impl Upsample {
    /// A new layer; `mode` is `"nearest"`, `"linear"` or `"cubic"` (MLX's names).
    pub fn new(
        scale_factor: &[f64],
        mode: &str,
        align_corners: bool,
        antialias: bool,
    ) -> Result<Upsample> {
        let mode = match mode {
            "nearest" => UpsampleMode::Nearest,
            "linear" => UpsampleMode::Linear,
            "cubic" => UpsampleMode::Cubic,
            m => {
                return Err(Error::InvalidArgument(format!(
                    "[Upsample] Got unsupported upsampling algorithm: {m}"
                )))
            }
        };
        if antialias && mode == UpsampleMode::Nearest {
            return Err(Error::InvalidArgument(
                "[Upsample] Antialiasing is not supported for nearest neighbor upsampling".into(),
            ));
        }
        check_aa(align_corners, antialias)?;
        if scale_factor.is_empty() || scale_factor.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::InvalidArgument(format!(
                "[Upsample] The scale factors must be positive and finite, got {scale_factor:?}"
            )));
        }
        Ok(Upsample {
            scale_factor: scale_factor.to_vec(),
            mode,
            align_corners,
            antialias,
        })
    }
    /// Resize `x` of shape `(N, spatial..., C)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let dims = x.ndim().saturating_sub(2);
        if dims == 0 {
            return Err(Error::Shape(format!(
                "[Upsample] The input should have at least 1 spatial dimension which means it \
                 should be at least 3D but {}D was provided",
                x.ndim()
            )));
        }
        let scale = if self.scale_factor.len() == 1 {
            vec![self.scale_factor[0]; dims]
        } else {
            self.scale_factor.clone()
        };
        match self.mode {
            UpsampleMode::Nearest => upsample_nearest(x, &scale),
            UpsampleMode::Linear => upsample_linear(x, &scale, self.align_corners, self.antialias),
            UpsampleMode::Cubic => upsample_cubic(x, &scale, self.align_corners, self.antialias),
        }
    }
}

fn check_aa(align_corners: bool, antialias: bool) -> Result<()> {
    if antialias && align_corners {
        return Err(Error::InvalidArgument(
            "[Upsample] antialias=True with align_corners=True is not supported. Use \
             align_corners=False for antialiased interpolation."
                .into(),
        ));
    }
    Ok(())
}

fn check_scales(x: &Array, scale: &[f64]) -> Result<()> {
    if x.ndim() < 3 || x.ndim() - 2 != scale.len() {
        return Err(Error::Shape(format!(
            "[Upsample] One scale per spatial dimension is required but scale_factor={scale:?} \
             and the input has shape {:?}",
            x.shape()
        )));
    }
    Ok(())
}

/// The output size of an axis of size `n` scaled by `s` (MLX: `int(s * n)`).
fn out_size(n: usize, s: f64) -> usize {
    (s * n as f64) as usize
}

/// The (float32) source position of each output index along an axis.
fn scaled_indices(n: usize, s: f64, align_corners: bool) -> Vec<f32> {
    let m = out_size(n, s);
    if align_corners {
        let c = ((n as f64 - 1.0) / (m.max(2) - 1) as f64) as f32;
        (0..m).map(|i| i as f32 * c).collect()
    } else {
        let step = 1.0 / s;
        let start = ((m as f64 - 1.0) * step - n as f64 + 1.0) / 2.0;
        let (step, start) = (step as f32, start as f32);
        (0..m).map(|i| i as f32 * step - start).collect()
    }
}

/// One tap of a separable resampling: source index and weight per output position.
type Tap = (Vec<i32>, Vec<f32>);

fn linear_taps(n: usize, s: f64, align_corners: bool) -> Vec<Tap> {
    let hi = n as f32 - 1.0;
    let (mut l, mut r, mut wl, mut wr) = (vec![], vec![], vec![], vec![]);
    for p in scaled_indices(n, s, align_corners) {
        let p = p.max(0.0).min(hi);
        let (fl, cl) = (p.floor(), p.ceil());
        let w = p - fl;
        l.push(fl as i32);
        r.push(cl as i32);
        wl.push(1.0 - w);
        wr.push(w);
    }
    vec![(l, wl), (r, wr)]
}

fn cubic_taps(n: usize, s: f64, align_corners: bool) -> Vec<Tap> {
    const A: f32 = -0.75;
    let near = |x: f32| ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let far = |x: f32| (((x - 5.0) * x + 8.0) * x - 4.0) * A;
    let hi = n as f32 - 1.0;
    let mut taps: Vec<Tap> = vec![(vec![], vec![]); 4];
    for p in scaled_indices(n, s, align_corners) {
        let l1 = p.floor();
        let r1 = (p + 1.0).floor();
        let l2 = l1 - 1.0;
        let r2 = r1 + 1.0;
        for (t, (g, w)) in [
            (l1, near((p - l1).abs())),
            (r1, near((p - r1).abs())),
            (l2, far((p - l2).abs())),
            (r2, far((p - r2).abs())),
        ]
        .into_iter()
        .enumerate()
        {
            taps[t].0.push(g.max(0.0).min(hi) as i32);
            taps[t].1.push(w);
        }
    }
    taps
}

/// Antialiased taps (a kernel widened by `1 / s` when downsampling, normalised).
fn aa_taps(n: usize, s: f64, kernel: fn(f32) -> f32, radius: f64) -> Vec<Tap> {
    let pos = scaled_indices(n, s, false);
    let inv = if s < 1.0 { 1.0 / s } else { 1.0 };
    let taps = (radius * inv).ceil() as i64 + 1;
    let inv32 = inv as f32;
    let mut idx = Vec::new();
    let mut ws = Vec::new();
    for k in (-taps + 1)..taps {
        let (mut ii, mut ww) = (Vec::with_capacity(pos.len()), Vec::with_capacity(pos.len()));
        for &p in &pos {
            let i = p.floor() + k as f32;
            let w = kernel((p - i).abs() / inv32);
            ww.push(if i >= 0.0 && i < n as f32 { w } else { 0.0 });
            ii.push(i);
        }
        idx.push(ii);
        ws.push(ww);
    }
    let hi = n as f32 - 1.0;
    let mut sum = vec![0f32; pos.len()];
    for w in &ws {
        for (s, v) in sum.iter_mut().zip(w) {
            *s += v;
        }
    }
    for s in sum.iter_mut() {
        if *s <= 0.0 {
            *s = 1.0;
        }
    }
    idx.into_iter()
        .zip(ws)
        .map(|(i, w)| {
            (
                i.iter().map(|v| v.max(0.0).min(hi) as i32).collect(),
                w.iter().zip(&sum).map(|(w, s)| w / s).collect(),
            )
        })
        .collect()
}

fn triangle(x: f32) -> f32 {
    (1.0 - x).max(0.0)
}

fn cubic_aa(x: f32) -> f32 {
    const A: f32 = -0.5;
    if x <= 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x <= 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Resample each spatial axis in turn: `sum_t take(x, idx_t, axis) * w_t`.
fn separable(x: &Array, scale: &[f64], taps: impl Fn(usize, f64) -> Vec<Tap>) -> Result<Array> {
    let mut out = x.clone();
    for (i, &s) in scale.iter().enumerate() {
        let axis = i + 1;
        let n = out.shape()[axis];
        let mut acc: Option<Array> = None;
        for (idx, w) in taps(n, s) {
            let m = idx.len();
            let ia = Array::from_slice(&idx, &[m])?;
            let mut wshape = vec![1; x.ndim()];
            wshape[axis] = m;
            let wa = Array::from_slice(&w, &wshape)?;
            let t = ops::multiply(&ops::take(&out, &ia, Some(axis as isize))?, &wa)?;
            acc = Some(match acc {
                Some(a) => ops::add(&a, &t)?,
                None => t,
            });
        }
        out = match acc {
            Some(a) => a,
            None => return Err(Error::InvalidArgument("[Upsample] no taps".into())),
        };
    }
    Ok(out)
}

/// Nearest-neighbour resize (MLX's `upsample_nearest`): integer scales repeat each element,
/// other scales pick the nearest source index.
pub fn upsample_nearest(x: &Array, scale: &[f64]) -> Result<Array> {
    check_scales(x, scale)?;
    let dims = scale.len();
    if scale.iter().all(|s| s.fract() == 0.0) {
        let mut shape: Vec<usize> = x.shape().to_vec();
        for d in 0..dims {
            shape.insert(2 + 2 * d, 1);
        }
        let r = ops::reshape_to(x, &shape)?;
        for d in 0..dims {
            shape[2 + 2 * d] = scale[d] as usize;
        }
        let b = ops::broadcast_to(&r, &shape)?;
        let mut out: Vec<usize> = vec![x.shape()[0]];
        for d in 0..dims {
            out.push(shape[1 + 2 * d] * shape[2 + 2 * d]);
        }
        out.push(x.shape()[x.ndim() - 1]);
        return ops::reshape_to(&b, &out);
    }
    let mut out = x.clone();
    for (i, &s) in scale.iter().enumerate() {
        let n = x.shape()[i + 1];
        let m = out_size(n, s);
        let r = (n as f64 / m.max(1) as f64) as f32;
        let idx: Vec<i32> = (0..m)
            .map(|j| {
                let v = if m > n {
                    ((j as f32 + 0.5) * r - 0.5).round_ties_even()
                } else {
                    j as f32 * r
                };
                v as u32 as i32
            })
            .collect();
        out = ops::take(&out, &Array::from_slice(&idx, &[m])?, Some(i as isize + 1))?;
    }
    Ok(out)
}

/// Linear resize per axis (MLX's `upsample_linear`).
pub fn upsample_linear(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_aa(align_corners, antialias)?;
    check_scales(x, scale)?;
    if antialias {
        separable(x, scale, |n, s| aa_taps(n, s, triangle, 1.0))
    } else {
        separable(x, scale, |n, s| linear_taps(n, s, align_corners))
    }
}

/// Cubic resize per axis (MLX's `upsample_cubic`, `a = -0.75`; antialiased with the Keys
/// kernel `a = -0.5`).
pub fn upsample_cubic(
    x: &Array,
    scale: &[f64],
    align_corners: bool,
    antialias: bool,
) -> Result<Array> {
    check_aa(align_corners, antialias)?;
    check_scales(x, scale)?;
    if antialias {
        separable(x, scale, |n, s| aa_taps(n, s, cubic_aa, 2.0))
    } else {
        separable(x, scale, |n, s| cubic_taps(n, s, align_corners))
    }
}
