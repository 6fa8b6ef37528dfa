//! Discrete Fourier transforms with MLX's `mx.fft` API: `fft`, `ifft`, `fft2`, `ifft2`,
//! `fftn`, `ifftn`, `rfft`, `irfft`, `rfft2`, `irfft2`, `rfftn`, `irfftn`, `fftshift`,
//! `ifftshift`, the sample frequencies `fftfreq` / `rfftfreq` and the short-time
//! transforms `stft` / `istft` (compositions).
//!
//! Each transform pads (with zeros) or truncates the input to the requested sizes, casts
//! it (complex transforms and `irfft*`: complex64; `rfft*`: float32, a complex input
//! losing its imaginary part, as MLX) and builds one `FFT` node. Outputs are complex64,
//! or float32 for `irfft*`. Inverse transforms scale by `1/n` ("backward" normalisation).
//!
//! ```
//! use mlxr::{ops, Array};
//! let x = Array::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[4]).unwrap();
//! let y = ops::fft::rfft(&x, None, -1).unwrap();
//! assert_eq!(y.shape(), &[3]);
//! let back = ops::fft::irfft(&y, Some(4), -1).unwrap();
//! let v = back.to_vec::<f32>().unwrap();
//! assert!((v[2] - 3.0).abs() < 1e-5);
//! ```

use super::{astype, normalize_axis, pad, roll, slice, stream, PadMode};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::fft::Fft;
use std::sync::Arc;

/// The shared body of every transform: `n[i]` points along `axes[i]`.
fn fft_impl(
    a: &Array,
    n: &[usize],
    axes: &[isize],
    real: bool,
    inverse: bool,
    op: &str,
) -> Result<Array> {
    if a.ndim() < 1 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Requires array with at least one dimension (got a 0-dimensional array)."
        )));
    }
    if n.len() != axes.len() {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Shape and axes have different sizes (sizes {n:?}, axes {axes:?})."
        )));
    }
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut ax = Vec::with_capacity(axes.len());
    for &x in axes {
        let v = normalize_axis(x, a.ndim(), op).map_err(|_| {
            Error::InvalidArgument(format!(
                "[{op}] Invalid axis {x} for an array with {} dimensions (shape {:?}).",
                a.ndim(),
                a.shape()
            ))
        })?;
        if ax.contains(&v) {
            return Err(Error::InvalidArgument(format!(
                "[{op}] Duplicated axis received {axes:?}."
            )));
        }
        ax.push(v);
    }
    if let Some(&bad) = n.iter().find(|&&k| k == 0) {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Invalid FFT output size requested ({bad})."
        )));
    }
    let last = *ax.last().expect("non-empty");
    let mut in_shape = a.shape().to_vec();
    for (&x, &k) in ax.iter().zip(n) {
        in_shape[x] = k;
    }
    let n_real = in_shape[last];
    if real && inverse {
        in_shape[last] = n_real / 2 + 1;
    }
    let in_type = if real && !inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    let x = astype(a, in_type)?;
    let x = resize(&x, &in_shape)?;
    let p = Fft {
        axes: ax,
        inverse,
        real,
        n: if real { n_real } else { 0 },
    };
    let out_shape = p.out_shape(&in_shape);
    let out_type = if real && inverse {
        Dtype::Float32
    } else {
        Dtype::Complex64
    };
    Ok(Array::new_node(
        out_shape,
        out_type,
        Arc::new(p),
        vec![x],
        stream(),
    ))
}

/// Truncate (a slice) and then zero-pad `x` to `shape` (same rank).
fn resize(x: &Array, shape: &[usize]) -> Result<Array> {
    if x.shape() == shape {
        return Ok(x.clone());
    }
    let cur = x.shape().to_vec();
    let x = if cur.iter().zip(shape).any(|(c, s)| c > s) {
        let start = vec![0isize; cur.len()];
        let stop: Vec<isize> = cur
            .iter()
            .zip(shape)
            .map(|(&c, &s)| c.min(s) as isize)
            .collect();
        slice(x, &start, &stop, &vec![1; cur.len()])?
    } else {
        x.clone()
    };
    if x.shape() == shape {
        return Ok(x);
    }
    let widths: Vec<(usize, usize)> = x
        .shape()
        .iter()
        .zip(shape)
        .map(|(&c, &s)| (0, s - c))
        .collect();
    pad(&x, &widths, PadMode::Constant, 0.0)
}

/// The sizes and axes of an n-dimensional transform from MLX's optional `s` / `axes`:
/// `axes` defaults to every axis, `s` to the input's sizes along `axes` (`default_last`
/// gives the last axis' size instead, for `irfftn`). `s` without `axes` is an error, as
/// in MLX.
fn sizes_axes(
    a: &Array,
    s: Option<&[usize]>,
    axes: Option<&[isize]>,
    irfft: bool,
    op: &str,
) -> Result<(Vec<usize>, Vec<isize>)> {
    let axes: Vec<isize> = match (s, axes) {
        (Some(_), None) => {
            return Err(Error::InvalidArgument(format!(
                "[{op}] `axes` should not be `None` if `s` is not `None`."
            )))
        }
        (_, Some(ax)) => ax.to_vec(),
        (None, None) => (0..a.ndim() as isize).collect(),
    };
    let s = match s {
        Some(s) => s.to_vec(),
        None => {
            let mut v = Vec::with_capacity(axes.len());
            for (i, &x) in axes.iter().enumerate() {
                let k = a.dim(x).map_err(|_| {
                    Error::InvalidArgument(format!(
                        "[{op}] Invalid axis {x} for an array with {} dimensions (shape {:?}).",
                        a.ndim(),
                        a.shape()
                    ))
                })?;
                v.push(if irfft && i + 1 == axes.len() {
                    2 * k.saturating_sub(1)
                } else {
                    k
                });
            }
            v
        }
    };
    Ok((s, axes))
}

/// The size along `axis` (`n` when given); errors for a bad axis.
fn axis_len(a: &Array, n: Option<usize>, axis: isize, irfft: bool, op: &str) -> Result<usize> {
    if a.ndim() < 1 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] Requires array with at least one dimension (got a 0-dimensional array)."
        )));
    }
    match n {
        Some(n) => Ok(n),
        None => {
            let k = a.dim(axis).map_err(|_| {
                Error::InvalidArgument(format!(
                    "[{op}] Invalid axis {axis} for an array with {} dimensions (shape {:?}).",
                    a.ndim(),
                    a.shape()
                ))
            })?;
            Ok(if irfft { 2 * k.saturating_sub(1) } else { k })
        }
    }
}

/// One-dimensional discrete Fourier transform along `axis`, with `n` points (the input is
/// truncated or zero-padded; default: its length).
pub fn fft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "fft")?;
    fft_impl(a, &[k], &[axis], false, false, "fft")
}

/// One-dimensional inverse discrete Fourier transform (scaled by `1/n`).
pub fn ifft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "ifft")?;
    fft_impl(a, &[k], &[axis], false, true, "ifft")
}

/// N-dimensional transform over `axes` (default all) with sizes `s` (default the input's).
pub fn fftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "fftn")?;
    fft_impl(a, &s, &axes, false, false, "fftn")
}

/// N-dimensional inverse transform; see [`fftn`].
pub fn ifftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "ifftn")?;
    fft_impl(a, &s, &axes, false, true, "ifftn")
}

/// Two-dimensional transform: [`fftn`] with `axes` (MLX's default `[-2, -1]`).
pub fn fft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "fft2")?;
    fft_impl(a, &s, &axes, false, false, "fft2")
}

/// Two-dimensional inverse transform: [`ifftn`] with `axes` (MLX's default `[-2, -1]`).
pub fn ifft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "ifft2")?;
    fft_impl(a, &s, &axes, false, true, "ifft2")
}

/// Transform of a real signal along `axis`: the `n / 2 + 1` non-negative frequencies
/// (complex inputs are replaced by their real part, as MLX).
pub fn rfft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, false, "rfft")?;
    fft_impl(a, &[k], &[axis], true, false, "rfft")
}

/// Inverse of [`rfft`]: a float32 signal of `n` points (default `2 * (m - 1)` for `m`
/// input frequencies) from its non-negative frequencies.
pub fn irfft(a: &Array, n: Option<usize>, axis: isize) -> Result<Array> {
    let k = axis_len(a, n, axis, true, "irfft")?;
    fft_impl(a, &[k], &[axis], true, true, "irfft")
}

/// N-dimensional real transform: the real transform of the last of `axes`, complex
/// transforms of the others.
pub fn rfftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, false, "rfftn")?;
    fft_impl(a, &s, &axes, true, false, "rfftn")
}

/// Inverse of [`rfftn`] (the last axis' default size is `2 * (m - 1)`).
pub fn irfftn(a: &Array, s: Option<&[usize]>, axes: Option<&[isize]>) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, axes, true, "irfftn")?;
    fft_impl(a, &s, &axes, true, true, "irfftn")
}

/// Two-dimensional real transform ([`rfftn`] over `axes`, MLX's default `[-2, -1]`).
pub fn rfft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), false, "rfft2")?;
    fft_impl(a, &s, &axes, true, false, "rfft2")
}

/// Two-dimensional inverse real transform ([`irfftn`] over `axes`).
pub fn irfft2(a: &Array, s: Option<&[usize]>, axes: &[isize]) -> Result<Array> {
    let (s, axes) = sizes_axes(a, s, Some(axes), true, "irfft2")?;
    fft_impl(a, &s, &axes, true, true, "irfft2")
}

/// Roll `axes` (default all) by `dir * (n / 2)` (floor).
fn shift(a: &Array, axes: Option<&[isize]>, inverse: bool, op: &str) -> Result<Array> {
    let axes: Vec<isize> = match axes {
        Some(x) => x.to_vec(),
        None => (0..a.ndim() as isize).collect(),
    };
    if axes.is_empty() {
        return Ok(a.clone());
    }
    let mut shifts = Vec::with_capacity(axes.len());
    for &x in &axes {
        let k = normalize_axis(x, a.ndim(), op).map_err(|_| {
            Error::InvalidArgument(format!(
                "[{op}] Invalid axis {x} for array with {} dimensions.",
                a.ndim()
            ))
        })?;
        let n = a.shape()[k] as isize;
        shifts.push(if inverse { -(n / 2) } else { n / 2 });
    }
    roll(a, &shifts, Some(&axes))
}

/// Move the zero frequency to the centre: roll each of `axes` (default all) by `n / 2`.
pub fn fftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift(a, axes, false, "fftshift")
}

/// Inverse of [`fftshift`]: roll each of `axes` (default all) by `-(n / 2)`.
pub fn ifftshift(a: &Array, axes: Option<&[isize]>) -> Result<Array> {
    shift(a, axes, true, "ifftshift")
}

/// The sample frequencies of an `n`-point transform with sample spacing `d` (MLX's
/// `fftfreq`), float32: `[0, 1, ..., (n-1)/2, -(n/2), ..., -1] * (1 / (n d))`, the factor
/// computed in double precision and rounded to float32 (as MLX, so values are
/// bit-identical). `n` must be positive and `d` non-zero.
pub fn fftfreq(n: i64, d: f64) -> Result<Array> {
    freq_check(n, d, "fftfreq")?;
    let pos = super::arange_range(0, (n - 1) / 2 + 1, 1, Some(Dtype::Float32))?;
    let neg = super::arange_range(-(n / 2), 0, 1, Some(Dtype::Float32))?;
    let k = super::concatenate(&[pos, neg], 0)?;
    super::multiply(&k, Array::scalar((1.0 / (n as f64 * d)) as f32))
}

/// The non-negative sample frequencies of an `n`-point real transform with sample
/// spacing `d` (MLX's `rfftfreq`), float32: `[0, 1, ..., n/2] * (1 / (n d))`.
pub fn rfftfreq(n: i64, d: f64) -> Result<Array> {
    freq_check(n, d, "rfftfreq")?;
    let k = super::arange_range(0, n / 2 + 1, 1, Some(Dtype::Float32))?;
    super::multiply(&k, Array::scalar((1.0 / (n as f64 * d)) as f32))
}

/// MLX's argument checks of `fftfreq` / `rfftfreq`.
fn freq_check(n: i64, d: f64, op: &str) -> Result<()> {
    if n <= 0 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] `n` must be greater than 0 (got {n})."
        )));
    }
    if d == 0.0 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] `d` must be non-zero."
        )));
    }
    Ok(())
}

// ---- short-time transforms ------------------------------------------------------------

/// The normalisation of a transform (NumPy's and MLX's `norm`): `Backward` scales the
/// inverse by `1/n`, `Ortho` both directions by `1/sqrt(n)`, `Forward` the forward one by
/// `1/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FftNorm {
    /// No scaling forward, `1/n` inverse (the default).
    #[default]
    Backward,
    /// `1/sqrt(n)` both ways.
    Ortho,
    /// `1/n` forward, no scaling inverse.
    Forward,
}

impl FftNorm {
    /// Parse `"backward"`, `"ortho"` or `"forward"` (`op` names the caller in the error).
    pub fn parse(s: &str, op: &str) -> Result<FftNorm> {
        match s {
            "backward" => Ok(FftNorm::Backward),
            "ortho" => Ok(FftNorm::Ortho),
            "forward" => Ok(FftNorm::Forward),
            _ => Err(Error::InvalidArgument(format!(
                "[{op}] Invalid norm {s:?}. Expected one of {{'backward', 'ortho', 'forward'}}."
            ))),
        }
    }
}

/// Options of [`stft`] (MLX's keyword arguments; `Default` gives MLX's defaults).
#[derive(Debug, Clone)]
pub struct StftOptions<'a> {
    /// Samples between frames (default `n_fft / 4`; must be positive).
    pub hop_length: Option<i64>,
    /// Length of the default rectangular window (default `n_fft`; ignored when `window`
    /// is given).
    pub win_length: Option<i64>,
    /// A one-dimensional window of at most `n_fft` samples, centred and zero-padded to
    /// `n_fft` (default: ones of `win_length`).
    pub window: Option<&'a Array>,
    /// Pad `n_fft / 2` samples at both ends so frames are centred (default true).
    pub center: bool,
    /// How `center` pads (default `Reflect`).
    pub pad_mode: PadMode,
    /// Normalisation (default `Backward`).
    pub norm: FftNorm,
    /// Keep only the non-negative frequencies (default: true for real input, false for
    /// complex).
    pub onesided: Option<bool>,
}

impl Default for StftOptions<'_> {
    fn default() -> Self {
        StftOptions {
            hop_length: None,
            win_length: None,
            window: None,
            center: true,
            pad_mode: PadMode::Reflect,
            norm: FftNorm::Backward,
            onesided: None,
        }
    }
}

/// Options of [`istft`] (MLX's keyword arguments; `Default` gives MLX's defaults).
#[derive(Debug, Clone)]
pub struct IstftOptions<'a> {
    /// Transform size (default `2 * (n_freq - 1)` when onesided, else `n_freq`).
    pub n_fft: Option<i64>,
    /// Samples between frames (default `n_fft / 4`).
    pub hop_length: Option<i64>,
    /// Length of the default rectangular window (default `n_fft`).
    pub win_length: Option<i64>,
    /// The analysis window (see [`StftOptions::window`]).
    pub window: Option<&'a Array>,
    /// Whether the STFT was centred (its `n_fft / 2` padding is trimmed; default true).
    pub center: bool,
    /// Normalisation (default `Backward`).
    pub norm: FftNorm,
    /// Whether the STFT holds only the non-negative frequencies (default true).
    pub onesided: Option<bool>,
    /// Trim or zero-pad the output to this length (non-positive: empty).
    pub length: Option<i64>,
}

impl Default for IstftOptions<'_> {
    fn default() -> Self {
        IstftOptions {
            n_fft: None,
            hop_length: None,
            win_length: None,
            window: None,
            center: true,
            norm: FftNorm::Backward,
            onesided: None,
            length: None,
        }
    }
}

/// The window of a short-time transform, zero-padded (centred) to `n_fft` samples, and
/// the checked hop length.
fn stft_window(
    n_fft: i64,
    hop_length: Option<i64>,
    win_length: Option<i64>,
    window: Option<&Array>,
    op: &str,
) -> Result<(Array, usize)> {
    if n_fft <= 0 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] n_fft must be positive (got {n_fft})."
        )));
    }
    let hop = hop_length.unwrap_or(n_fft / 4);
    if hop <= 0 {
        return Err(Error::InvalidArgument(format!(
            "[{op}] hop_length must be positive (got {hop})."
        )));
    }
    let n = n_fft as usize;
    let w = match window {
        Some(w) => {
            if w.ndim() != 1 {
                return Err(Error::Shape(format!(
                    "[{op}] window must be a one-dimensional array (got shape {:?}).",
                    w.shape()
                )));
            }
            w.clone()
        }
        None => {
            let wl = win_length.unwrap_or(n_fft);
            if wl < 0 {
                return Err(Error::InvalidArgument(format!(
                    "[{op}] win_length must not be negative (got {wl})."
                )));
            }
            super::ones(&[wl as usize], Some(Dtype::Float32))?
        }
    };
    let wl = w.shape()[0];
    if wl > n {
        return Err(Error::Shape(format!(
            "[{op}] window length must not exceed n_fft (window of {wl} samples, n_fft {n})."
        )));
    }
    let left = (n - wl) / 2;
    let w = pad(&w, &[(left, n - wl - left)], PadMode::Constant, 0)?;
    Ok((w, hop as usize))
}

/// Scale `x` by `f` (skipped when `f == 1`).
fn scaled(x: &Array, f: f64) -> Result<Array> {
    if f == 1.0 {
        Ok(x.clone())
    } else {
        super::multiply(x, f)
    }
}

/// Short-time Fourier transform (MLX's `mx.fft.stft`): the last axis of `x` is split
/// into frames of `n_fft` samples every `hop_length` samples (after padding `n_fft / 2`
/// at both ends when `center`), each frame is multiplied by the window and transformed.
/// The result is complex64 of shape `(..., n_freq, n_frames)` with `n_freq = n_fft / 2 +
/// 1` when onesided, else `n_fft`. A composition of `pad`, `take`, `multiply` and the
/// transforms, so it is differentiable.
pub fn stft(x: &Array, n_fft: i64, opts: &StftOptions) -> Result<Array> {
    if x.ndim() == 0 {
        return Err(Error::InvalidArgument(
            "[stft] Input must have at least one dimension.".into(),
        ));
    }
    let (w, hop) = stft_window(n_fft, opts.hop_length, opts.win_length, opts.window, "stft")?;
    let n = n_fft as usize;
    let nd = x.ndim();
    let mut x = x.clone();
    if opts.center {
        let mut widths = vec![(0, 0); nd];
        widths[nd - 1] = (n / 2, n / 2);
        x = pad(&x, &widths, opts.pad_mode, 0)?;
    }
    let len = x.shape()[nd - 1];
    if len < n {
        return Err(Error::Shape(format!(
            "[stft] Input is too short for the given n_fft ({len} samples{}, n_fft {n}).",
            if opts.center { " after padding" } else { "" }
        )));
    }
    let frames = 1 + (len - n) / hop;
    let idx: Vec<i32> = (0..frames)
        .flat_map(|t| (0..n).map(move |k| (t * hop + k) as i32))
        .collect();
    let idx = Array::from_vec(idx, &[frames, n])?;
    let framed = super::multiply(&super::take(&x, &idx, Some(-1))?, &w)?;
    let onesided = opts.onesided.unwrap_or(!x.dtype().is_complex());
    let spec = if onesided {
        rfft(&framed, None, -1)?
    } else {
        fft(&framed, None, -1)?
    };
    let spec = match opts.norm {
        FftNorm::Backward => spec,
        FftNorm::Ortho => scaled(&spec, 1.0 / (n as f64).sqrt())?,
        FftNorm::Forward => scaled(&spec, 1.0 / n as f64)?,
    };
    super::swapaxes(&spec, -1, -2)
}

/// Overlap-add: `frames` (`..., T, n`) placed every `hop` samples and summed, giving
/// `(..., n + hop * (T - 1))`. Built from slices, pads and adds (MLX's scheme), so it
/// is differentiable.
fn overlap_add(frames: &Array, hop: usize) -> Result<Array> {
    let nd = frames.ndim();
    let (t, n) = (frames.shape()[nd - 2], frames.shape()[nd - 1]);
    let batch = frames.shape()[..nd - 2].to_vec();
    let total = n + hop * (t - 1);
    let r = n.div_ceil(hop);
    let mut widths = vec![(0, 0); nd];
    widths[nd - 1] = (0, r * hop - n);
    let padded = pad(frames, &widths, PadMode::Constant, 0)?;
    let mut s = batch.clone();
    s.extend_from_slice(&[t, r, hop]);
    let blocks = super::reshape_to(&padded, &s)?;
    let full = hop * (t - 1 + r);
    let mut out: Option<Array> = None;
    for j in 0..r {
        let mut start = vec![0isize; nd + 1];
        let mut stop: Vec<isize> = s.iter().map(|&d| d as isize).collect();
        start[nd - 1] = j as isize;
        stop[nd - 1] = j as isize + 1;
        let part = slice(&blocks, &start, &stop, &vec![1; nd + 1])?;
        let mut flat = batch.clone();
        flat.push(t * hop);
        let part = super::reshape_to(&part, &flat)?;
        let mut widths = vec![(0, 0); nd - 1];
        widths[nd - 2] = (j * hop, full - j * hop - t * hop);
        let part = pad(&part, &widths, PadMode::Constant, 0)?;
        out = Some(match out {
            None => part,
            Some(o) => super::add(&o, &part)?,
        });
    }
    let out = out.expect("at least one block");
    let mut stop: Vec<isize> = out.shape().iter().map(|&d| d as isize).collect();
    stop[nd - 2] = total as isize;
    slice(&out, &vec![0; nd - 1], &stop, &vec![1; nd - 1])
}

/// Inverse short-time Fourier transform (MLX's `mx.fft.istft`): each frame of `s`
/// (`..., n_freq, n_frames`) is inverse-transformed, windowed and overlap-added, and the
/// sum is divided by the overlap-added squared window (at least `1e-8`). With `center`
/// the `n_fft / 2` padding is trimmed; `length` trims or zero-pads the result. Real
/// output (float32, or the window's wider float type); differentiable.
pub fn istft(s: &Array, opts: &IstftOptions) -> Result<Array> {
    if s.ndim() < 2 {
        return Err(Error::InvalidArgument(
            "[istft] Input must have at least two dimensions (freq, frames).".into(),
        ));
    }
    let nd = s.ndim();
    let n_freq = s.shape()[nd - 2] as i64;
    let onesided = opts.onesided.unwrap_or(true);
    let n_fft = opts
        .n_fft
        .unwrap_or(if onesided { 2 * (n_freq - 1) } else { n_freq });
    let (w, hop) = stft_window(
        n_fft,
        opts.hop_length,
        opts.win_length,
        opts.window,
        "istft",
    )?;
    let n = n_fft as usize;
    let frames = super::swapaxes(s, -1, -2)?;
    let sig = if onesided {
        irfft(&frames, Some(n), -1)?
    } else {
        super::real(&ifft(&astype(&frames, Dtype::Complex64)?, Some(n), -1)?)?
    };
    let sig = match opts.norm {
        FftNorm::Backward => sig,
        FftNorm::Ortho => scaled(&sig, (n as f64).sqrt())?,
        FftNorm::Forward => scaled(&sig, n as f64)?,
    };
    let t = sig.shape()[nd - 2];
    let ola = overlap_add(&super::multiply(&sig, &w)?, hop)?;
    let w2 = super::broadcast_to(&super::square(&w)?, &[t, n])?;
    let env = overlap_add(&w2, hop)?;
    let out = super::divide(&ola, &super::maximum(&env, 1e-8)?)?;
    let total = out.shape()[nd - 2];
    let start = if opts.center { n / 2 } else { 0 };
    let end = match opts.length {
        Some(l) => start + l.max(0) as usize,
        None if opts.center => total.saturating_sub(n / 2).max(start),
        None => total,
    };
    let avail = end.min(total).max(start.min(total));
    let mut lo = vec![0isize; nd - 1];
    let mut hi: Vec<isize> = out.shape().iter().map(|&d| d as isize).collect();
    lo[nd - 2] = start.min(total) as isize;
    hi[nd - 2] = avail as isize;
    let mut out = slice(&out, &lo, &hi, &vec![1; nd - 1])?;
    let have = avail - start.min(total);
    if end - start > have {
        let mut widths = vec![(0, 0); nd - 1];
        widths[nd - 2] = (0, end - start - have);
        out = pad(&out, &widths, PadMode::Constant, 0)?;
    }
    Ok(out)
}
