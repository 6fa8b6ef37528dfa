//! `quantize`, `dequantize`, `quantized_matmul`, `gather_qmm`, `qqmm` and `gather_qqmm` of `mlxr.core` with MLX's
//! Python signatures and defaults (`group_size`/`bits` from the mode, `mode="affine"`,
//! `transpose=True`), over `mlxr::ops::quantized`.

use crate::array::PyArray;
use crate::convert::{ArrayLike, IntoPyResult, PyDtype};
use crate::device::on;
use mlxr::ops::{self, QuantizationMode};
use mlxr::Array;
use pyo3::prelude::*;

type S<'a> = Option<&'a Bound<'a, PyAny>>;

/// The mode from its name.
fn mode_of(mode: &str) -> PyResult<QuantizationMode> {
    mode.parse::<QuantizationMode>().py()
}

/// `global_scale` (an array, nvfp4 only) when given and not None.
fn global_of(g: S) -> PyResult<Option<Array>> {
    match g {
        Some(g) if !g.is_none() => Ok(Some(g.extract::<ArrayLike>()?.0)),
        _ => Ok(None),
    }
}

/// Quantize `w`: `[w_q, scales, biases]` (affine) or `[w_q, scales]`.
#[pyfunction]
#[pyo3(signature = (w, /, group_size=None, bits=None, mode="affine", *, global_scale=None, stream=None))]
fn quantize(
    w: ArrayLike,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    global_scale: S,
    stream: S,
) -> PyResult<Vec<PyArray>> {
    let m = mode_of(mode)?;
    let g = global_of(global_scale)?;
    let (q, s, b) = on(stream, || {
        ops::quantize_with_global_scale(&w.0, group_size, bits, m, g.as_ref())
    })?;
    let mut v = vec![PyArray::from(q), PyArray::from(s)];
    v.extend(b.map(PyArray::from));
    Ok(v)
}

/// Dequantize `w` with its scales (and biases).
#[pyfunction]
#[pyo3(signature = (w, /, scales, biases=None, group_size=None, bits=None, mode="affine", global_scale=None, dtype=None, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn dequantize(
    w: ArrayLike,
    scales: ArrayLike,
    biases: Option<ArrayLike>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    global_scale: S,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    let m = mode_of(mode)?;
    let g = global_of(global_scale)?;
    let r = on(stream, || {
        ops::dequantize_with_global_scale(
            &w.0,
            &scales.0,
            biases.as_ref().map(|b| &b.0),
            group_size,
            bits,
            m,
            g.as_ref(),
            dtype.map(|d| d.0),
        )
    })?;
    Ok(r.into())
}

/// `x @ dequantize(w).T` (`transpose`) or `x @ dequantize(w)`, fused.
#[pyfunction]
#[pyo3(signature = (x, w, /, scales, biases=None, transpose=true, group_size=None, bits=None, mode="affine", *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn quantized_matmul(
    x: ArrayLike,
    w: ArrayLike,
    scales: ArrayLike,
    biases: Option<ArrayLike>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    stream: S,
) -> PyResult<PyArray> {
    let m = mode_of(mode)?;
    let r = on(stream, || {
        ops::quantized_matmul(
            &x.0,
            &w.0,
            &scales.0,
            biases.as_ref().map(|b| &b.0),
            transpose,
            group_size,
            bits,
            m,
        )
    })?;
    Ok(r.into())
}

/// Quantized matrix product with matrix-level gather.
#[pyfunction]
#[pyo3(signature = (x, w, /, scales, biases=None, lhs_indices=None, rhs_indices=None, transpose=true, group_size=None, bits=None, mode="affine", global_scale=None, *, sorted_indices=false, stream=None))]
#[allow(clippy::too_many_arguments)]
fn gather_qmm(
    x: ArrayLike,
    w: ArrayLike,
    scales: ArrayLike,
    biases: Option<ArrayLike>,
    lhs_indices: Option<ArrayLike>,
    rhs_indices: Option<ArrayLike>,
    transpose: bool,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    global_scale: S,
    sorted_indices: bool,
    stream: S,
) -> PyResult<PyArray> {
    let _ = sorted_indices; // a performance hint only
    let m = mode_of(mode)?;
    let g = global_of(global_scale)?;
    let r = on(stream, || {
        ops::gather_qmm_with_global_scale(
            &x.0,
            &w.0,
            &scales.0,
            biases.as_ref().map(|b| &b.0),
            lhs_indices.as_ref().map(|b| &b.0),
            rhs_indices.as_ref().map(|b| &b.0),
            transpose,
            group_size,
            bits,
            m,
            g.as_ref(),
        )
    })?;
    Ok(r.into())
}

/// `qqmm`: `x` quantized on the fly times `w` (packed, or quantized on the fly).
#[pyfunction]
#[pyo3(signature = (x, w, /, scales=None, group_size=None, bits=None, mode="nvfp4", global_scale_x=None, global_scale_w=None, *, stream=None))]
#[allow(clippy::too_many_arguments)]
fn qqmm(
    x: ArrayLike,
    w: ArrayLike,
    scales: Option<ArrayLike>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    global_scale_x: S,
    global_scale_w: S,
    stream: S,
) -> PyResult<PyArray> {
    let m = mode_of(mode)?;
    let gx = global_of(global_scale_x)?;
    let gw = global_of(global_scale_w)?;
    let r = on(stream, || {
        ops::qqmm(
            &x.0,
            &w.0,
            scales.as_ref().map(|s| &s.0),
            group_size,
            bits,
            m,
            gx.as_ref(),
            gw.as_ref(),
        )
    })?;
    Ok(r.into())
}

/// `qqmm` with matrix-level gather.
#[pyfunction]
#[pyo3(signature = (x, w, /, scales=None, lhs_indices=None, rhs_indices=None, group_size=None, bits=None, mode="nvfp4", global_scale_x=None, global_scale_w=None, *, sorted_indices=false, stream=None))]
#[allow(clippy::too_many_arguments)]
fn gather_qqmm(
    x: ArrayLike,
    w: ArrayLike,
    scales: Option<ArrayLike>,
    lhs_indices: Option<ArrayLike>,
    rhs_indices: Option<ArrayLike>,
    group_size: Option<usize>,
    bits: Option<u32>,
    mode: &str,
    global_scale_x: S,
    global_scale_w: S,
    sorted_indices: bool,
    stream: S,
) -> PyResult<PyArray> {
    let _ = sorted_indices; // a performance hint only
    let m = mode_of(mode)?;
    let gx = global_of(global_scale_x)?;
    let gw = global_of(global_scale_w)?;
    let r = on(stream, || {
        ops::gather_qqmm(
            &x.0,
            &w.0,
            scales.as_ref().map(|s| &s.0),
            lhs_indices.as_ref().map(|b| &b.0),
            rhs_indices.as_ref().map(|b| &b.0),
            group_size,
            bits,
            m,
            gx.as_ref(),
            gw.as_ref(),
        )
    })?;
    Ok(r.into())
}

/// Add this file's functions to `mlxr.core`.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(quantize, m)?)?;
    m.add_function(wrap_pyfunction!(dequantize, m)?)?;
    m.add_function(wrap_pyfunction!(quantized_matmul, m)?)?;
    m.add_function(wrap_pyfunction!(gather_qmm, m)?)?;
    m.add_function(wrap_pyfunction!(qqmm, m)?)?;
    m.add_function(wrap_pyfunction!(gather_qqmm, m)?)?;
    Ok(())
}
