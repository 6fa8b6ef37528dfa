//! Low-level bindings of the newer `mlx.core` functions (`_to_fp8`, `_from_fp8`,
//! `_segmented_mm`, `_block_masked_mm`, `_fftfreq`, `_stft`, `_istft`, `_export_to_dot`,
//! the print precision, `_cross_entropy`, `_gated_delta_update`);
//! `python/mlxr/core/_extra.py`, `fft.py`, `linalg.py` and `fast.py` give them MLX's
//! Python signatures and docstrings.

use crate::array::PyArray;
use crate::convert::{ArrayLike, PyDtype};
use crate::device::on;
use mlxr::ops::{self, fft, PadMode};
use mlxr::Error;
use pyo3::prelude::*;

type S<'a> = Option<&'a Bound<'a, PyAny>>;

/// `to_fp8(x)`.
#[pyfunction]
#[pyo3(signature = (x, *, stream=None))]
fn _to_fp8(x: ArrayLike, stream: S) -> PyResult<PyArray> {
    on(stream, || ops::to_fp8(&x.0)).map(PyArray::from)
}

/// `from_fp8(x, dtype)`.
#[pyfunction]
#[pyo3(signature = (x, dtype, *, stream=None))]
fn _from_fp8(x: ArrayLike, dtype: PyDtype, stream: S) -> PyResult<PyArray> {
    on(stream, || ops::from_fp8(&x.0, dtype.0)).map(PyArray::from)
}

/// `segmented_mm(a, b, segments)`.
#[pyfunction]
#[pyo3(signature = (a, b, segments, *, stream=None))]
fn _segmented_mm(a: ArrayLike, b: ArrayLike, segments: ArrayLike, stream: S) -> PyResult<PyArray> {
    on(stream, || ops::segmented_mm(&a.0, &b.0, &segments.0)).map(PyArray::from)
}

/// `block_masked_mm(a, b, block_size, mask_out, mask_lhs, mask_rhs)`.
#[pyfunction]
#[pyo3(signature = (a, b, block_size, mask_out, mask_lhs, mask_rhs, *, stream=None))]
fn _block_masked_mm(
    a: ArrayLike,
    b: ArrayLike,
    block_size: i64,
    mask_out: Option<ArrayLike>,
    mask_lhs: Option<ArrayLike>,
    mask_rhs: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        if block_size != 32 && block_size != 64 {
            return Err(Error::InvalidArgument(format!(
                "[block_masked_mm] Only block_sizes 32, 64 are supported. Got block size {block_size}."
            )));
        }
        ops::block_masked_mm(
            &a.0,
            &b.0,
            block_size as usize,
            mask_out.as_ref().map(|m| &m.0),
            mask_lhs.as_ref().map(|m| &m.0),
            mask_rhs.as_ref().map(|m| &m.0),
        )
    })
    .map(PyArray::from)
}

/// `fftfreq(n, d)` or (`real`) `rfftfreq(n, d)`.
#[pyfunction]
#[pyo3(signature = (n, d, real, *, stream=None))]
fn _fftfreq(n: i64, d: f64, real: bool, stream: S) -> PyResult<PyArray> {
    on(stream, || {
        if real {
            fft::rfftfreq(n, d)
        } else {
            fft::fftfreq(n, d)
        }
    })
    .map(PyArray::from)
}

/// The `pad_mode` of `stft` (MLX's error for other strings).
fn pad_mode(s: &str) -> mlxr::Result<PadMode> {
    match s {
        "constant" => Ok(PadMode::Constant),
        "edge" => Ok(PadMode::Edge),
        "reflect" => Ok(PadMode::Reflect),
        "symmetric" => Ok(PadMode::Symmetric),
        m => Err(Error::InvalidArgument(format!(
            "Invalid padding mode ({m}) passed to pad"
        ))),
    }
}

/// `stft(x, ...)`.
#[pyfunction]
#[pyo3(signature = (x, n_fft, hop_length, win_length, window, center, pad_mode_, norm, onesided, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn _stft(
    x: ArrayLike,
    n_fft: i64,
    hop_length: Option<i64>,
    win_length: Option<i64>,
    window: Option<ArrayLike>,
    center: bool,
    pad_mode_: &str,
    norm: &str,
    onesided: Option<bool>,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        let opts = fft::StftOptions {
            hop_length,
            win_length,
            window: window.as_ref().map(|w| &w.0),
            center,
            pad_mode: pad_mode(pad_mode_)?,
            norm: fft::FftNorm::parse(norm, "stft")?,
            onesided,
        };
        fft::stft(&x.0, n_fft, &opts)
    })
    .map(PyArray::from)
}

/// `istft(stft_matrix, ...)`.
#[pyfunction]
#[pyo3(signature = (s, n_fft, hop_length, win_length, window, center, norm, onesided, length, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn _istft(
    s: ArrayLike,
    n_fft: Option<i64>,
    hop_length: Option<i64>,
    win_length: Option<i64>,
    window: Option<ArrayLike>,
    center: bool,
    norm: &str,
    onesided: Option<bool>,
    length: Option<i64>,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        let opts = fft::IstftOptions {
            n_fft,
            hop_length,
            win_length,
            window: window.as_ref().map(|w| &w.0),
            center,
            norm: fft::FftNorm::parse(norm, "istft")?,
            onesided,
            length,
        };
        fft::istft(&s.0, &opts)
    })
    .map(PyArray::from)
}

/// The DOT text of the graph of `outputs` (and the `named` arrays).
#[pyfunction]
fn _export_to_dot(outputs: Vec<PyRef<PyArray>>, named: Vec<(String, PyRef<PyArray>)>) -> String {
    let outs: Vec<mlxr::Array> = outputs.iter().map(|a| a.a.clone()).collect();
    let named: Vec<(String, mlxr::Array)> =
        named.into_iter().map(|(n, a)| (n, a.a.clone())).collect();
    mlxr::export_to_dot(&outs, &named)
}

/// Set the print precision (-1: MLX's default formatting).
#[pyfunction]
fn _set_print_precision(precision: i32) {
    mlxr::repr::set_print_precision(precision);
}

/// The print precision.
#[pyfunction]
fn _get_print_precision() -> i32 {
    mlxr::repr::print_precision()
}

/// `fast.cross_entropy(logits, targets)`.
#[pyfunction]
#[pyo3(signature = (logits, targets, *, stream=None))]
fn _cross_entropy(logits: ArrayLike, targets: ArrayLike, stream: S) -> PyResult<PyArray> {
    on(stream, || ops::cross_entropy(&logits.0, &targets.0)).map(PyArray::from)
}

/// `fast.gated_delta_update(q, k, v, gamma, beta, initial_state, mask)`.
#[pyfunction]
#[pyo3(signature = (q, k, v, gamma, beta, initial_state, mask, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn _gated_delta_update(
    q: ArrayLike,
    k: ArrayLike,
    v: ArrayLike,
    gamma: ArrayLike,
    beta: ArrayLike,
    initial_state: Option<ArrayLike>,
    mask: Option<ArrayLike>,
    stream: S,
) -> PyResult<Vec<PyArray>> {
    on(stream, || {
        ops::gated_delta_update(
            &q.0,
            &k.0,
            &v.0,
            &gamma.0,
            &beta.0,
            initial_state.as_ref().map(|s| &s.0),
            mask.as_ref().map(|m| &m.0),
        )
    })
    .map(|v| v.into_iter().map(PyArray::from).collect())
}

/// Register the functions on `_core`.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_to_fp8, m)?)?;
    m.add_function(wrap_pyfunction!(_from_fp8, m)?)?;
    m.add_function(wrap_pyfunction!(_segmented_mm, m)?)?;
    m.add_function(wrap_pyfunction!(_block_masked_mm, m)?)?;
    m.add_function(wrap_pyfunction!(_fftfreq, m)?)?;
    m.add_function(wrap_pyfunction!(_stft, m)?)?;
    m.add_function(wrap_pyfunction!(_istft, m)?)?;
    m.add_function(wrap_pyfunction!(_export_to_dot, m)?)?;
    m.add_function(wrap_pyfunction!(_set_print_precision, m)?)?;
    m.add_function(wrap_pyfunction!(_get_print_precision, m)?)?;
    m.add_function(wrap_pyfunction!(_cross_entropy, m)?)?;
    m.add_function(wrap_pyfunction!(_gated_delta_update, m)?)?;
    Ok(())
}
