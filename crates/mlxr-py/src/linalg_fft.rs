//! Low-level bindings of `ops::fft` and the `mx.linalg` factorizations (`_fftn`,
//! `_fftshift`, `_linalg_*`); `python/mlxr/core/fft.py` and `linalg.py` give them MLX's
//! Python signatures (defaults, `n` / `axis` spelled per function).

use crate::array::PyArray;
use crate::convert::ArrayLike;
use crate::device::on;
use mlxr::ops::{self, fft};
use mlxr::{Array, Error};
use pyo3::prelude::*;

type S<'a> = Option<&'a Bound<'a, PyAny>>;

fn list(v: Vec<Array>) -> Vec<PyArray> {
    v.into_iter().map(PyArray::from).collect()
}

/// Sizes from Python ints (a non-positive size is MLX's "Invalid FFT output size" error).
fn sizes(s: Option<Vec<i64>>) -> mlxr::Result<Option<Vec<usize>>> {
    match s {
        None => Ok(None),
        Some(v) => v
            .into_iter()
            .map(|k| {
                if k <= 0 {
                    Err(Error::InvalidArgument(format!(
                        "[fftn] Invalid FFT output size requested ({k})."
                    )))
                } else {
                    Ok(k as usize)
                }
            })
            .collect::<mlxr::Result<Vec<_>>>()
            .map(Some),
    }
}

/// Any n-dimensional transform: `real` / `inverse` pick fftn, ifftn, rfftn or irfftn.
#[pyfunction]
#[pyo3(signature = (a, s, axes, real, inverse, *, stream=None))]
fn _fftn(
    a: ArrayLike,
    s: Option<Vec<i64>>,
    axes: Option<Vec<isize>>,
    real: bool,
    inverse: bool,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        let s = sizes(s)?;
        let (s, axes) = (s.as_deref(), axes.as_deref());
        match (real, inverse) {
            (false, false) => fft::fftn(&a.0, s, axes),
            (false, true) => fft::ifftn(&a.0, s, axes),
            (true, false) => fft::rfftn(&a.0, s, axes),
            (true, true) => fft::irfftn(&a.0, s, axes),
        }
    })
    .map(PyArray::from)
}

/// `fftshift` / `ifftshift`.
#[pyfunction]
#[pyo3(signature = (a, axes, inverse, *, stream=None))]
fn _fftshift(
    a: ArrayLike,
    axes: Option<Vec<isize>>,
    inverse: bool,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        if inverse {
            fft::ifftshift(&a.0, axes.as_deref())
        } else {
            fft::fftshift(&a.0, axes.as_deref())
        }
    })
    .map(PyArray::from)
}

/// The factorizations and solvers by name: `inv`, `tri_inv` (flag: upper), `cholesky`
/// (flag: upper), `cholesky_inv` (flag: upper), `qr`, `svd` (flag: compute_uv), `eigh` /
/// `eigvalsh` (uplo), `eig`, `eigvals`, `lu`, `lu_factor`, `solve` (b),
/// `solve_triangular` (b, flag: upper), `pinv`, `det`, `slogdet`. Returns a list of arrays.
#[pyfunction]
#[pyo3(signature = (name, a, b=None, flag=false, uplo="L", *, stream=None))]
fn _linalg(
    name: &str,
    a: ArrayLike,
    b: Option<ArrayLike>,
    flag: bool,
    uplo: &str,
    stream: S,
) -> PyResult<Vec<PyArray>> {
    let a = a.0;
    let b = b.map(|b| b.0);
    let need_b = || {
        b.clone()
            .ok_or_else(|| Error::InvalidArgument(format!("[linalg::{name}] needs b")))
    };
    on(stream, || {
        Ok(match name {
            "inv" => vec![ops::inv(&a)?],
            "tri_inv" => vec![ops::tri_inv(&a, flag)?],
            "cholesky" => vec![ops::cholesky(&a, flag)?],
            "cholesky_inv" => vec![ops::cholesky_inv(&a, flag)?],
            "qr" => {
                let (q, r) = ops::qr(&a)?;
                vec![q, r]
            }
            "svd" => ops::svd(&a, flag)?,
            "eigh" => {
                let (w, v) = ops::eigh(&a, uplo)?;
                vec![w, v]
            }
            "eigvalsh" => vec![ops::eigvalsh(&a, uplo)?],
            "eig" => {
                let (w, v) = ops::eig(&a)?;
                vec![w, v]
            }
            "eigvals" => vec![ops::eigvals(&a)?],
            "lu" => {
                let (p, l, u) = ops::lu(&a)?;
                vec![p, l, u]
            }
            "lu_factor" => {
                let (lu, p) = ops::lu_factor(&a)?;
                vec![lu, p]
            }
            "solve" => vec![ops::solve(&a, &need_b()?)?],
            "solve_triangular" => vec![ops::solve_triangular(&a, &need_b()?, flag)?],
            "pinv" => vec![ops::pinv(&a)?],
            "det" => vec![ops::det(&a)?],
            "slogdet" => {
                let (sign, logabs) = ops::slogdet(&a)?;
                vec![sign, logabs]
            }
            "cross" => vec![ops::cross(&a, &need_b()?, if flag { 0 } else { -1 })?],
            other => {
                return Err(Error::InvalidArgument(format!(
                    "[linalg] unknown function {other}"
                )))
            }
        })
    })
    .map(list)
}

/// Register the functions on `_core`.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_fftn, m)?)?;
    m.add_function(wrap_pyfunction!(_fftshift, m)?)?;
    m.add_function(wrap_pyfunction!(_linalg, m)?)?;
    Ok(())
}
