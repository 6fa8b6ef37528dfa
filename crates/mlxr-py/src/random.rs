//! `mx.random`: MLX's splittable keys and samplers (values identical to MLX), registered
//! as the `random` submodule of `mlxr._core`.

use crate::array::PyArray;
use crate::convert::{to_array, ArrayLike, IntoPyResult, Opnd, PyDtype, Shape};
use crate::device::on;
use mlxr::random as r;
use mlxr::{Array, Dtype};
use pyo3::prelude::*;

type S<'a> = Option<&'a Bound<'a, PyAny>>;

fn key_of(k: &Option<ArrayLike>) -> Option<&Array> {
    k.as_ref().map(|k| &k.0)
}

fn shape_or_empty(s: Option<Shape>) -> Vec<usize> {
    s.map(|s| s.0).unwrap_or_default()
}

fn dt(d: Option<PyDtype>, default: Dtype) -> Dtype {
    d.map(|d| d.0).unwrap_or(default)
}

/// Seed the global key.
#[pyfunction]
fn seed(seed: u64) {
    r::seed(seed)
}

/// A key from a seed.
#[pyfunction]
fn key(seed: u64) -> PyArray {
    r::key(seed).into()
}

/// Split a key into `num` keys.
#[pyfunction]
#[pyo3(signature = (key, num=2, stream=None))]
fn split(key: ArrayLike, num: usize, stream: S) -> PyResult<PyArray> {
    on(stream, || r::split(&key.0, num)).map(PyArray::from)
}

/// Random bits of `width` bytes.
#[pyfunction]
#[pyo3(signature = (shape=None, width=4, key=None, stream=None))]
fn bits(
    shape: Option<Shape>,
    width: usize,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || {
        r::bits(&shape_or_empty(shape), width, key_of(&key))
    })
    .map(PyArray::from)
}

/// Uniform samples in `[low, high)`.
#[pyfunction]
#[pyo3(signature = (low=None, high=None, shape=None, dtype=None, key=None, stream=None))]
fn uniform(
    low: Option<Opnd>,
    high: Option<Opnd>,
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    use mlxr::ops::{Operand, Scalar};
    let lo = low
        .map(|x| x.0)
        .unwrap_or(Operand::Scalar(Scalar::Float(0.0)));
    let hi = high
        .map(|x| x.0)
        .unwrap_or(Operand::Scalar(Scalar::Float(1.0)));
    let d = dt(dtype, Dtype::Float32);
    on(stream, || {
        r::uniform(lo, hi, &shape_or_empty(shape), d, key_of(&key))
    })
    .map(PyArray::from)
}

/// Normal samples.
#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, loc=None, scale=None, key=None, stream=None))]
fn normal(
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    loc: Option<&Bound<PyAny>>,
    scale: Option<&Bound<PyAny>>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Float32);
    let shape = shape_or_empty(shape);
    let as_f = |x: Option<&Bound<PyAny>>| -> Option<f32> {
        match x {
            None => None,
            Some(v) if v.is_none() => None,
            Some(v) if v.downcast::<PyArray>().is_err() => v.extract::<f32>().ok(),
            _ => None,
        }
    };
    let simple =
        |x: Option<&Bound<PyAny>>| x.is_none_or(|v| v.is_none() || as_f(Some(v)).is_some());
    if simple(loc) && simple(scale) {
        let l = as_f(loc).unwrap_or(0.0);
        let s = as_f(scale).unwrap_or(1.0);
        return on(stream, || r::normal(&shape, d, l, s, key_of(&key))).map(PyArray::from);
    }
    let conv = |x: Option<&Bound<PyAny>>| -> PyResult<Option<Array>> {
        match x {
            None => Ok(None),
            Some(v) if v.is_none() => Ok(None),
            Some(v) => to_array(v, None).map(Some),
        }
    };
    let (l, s) = (conv(loc)?, conv(scale)?);
    on(stream, || {
        r::normal_with(&shape, d, l.as_ref(), s.as_ref(), key_of(&key))
    })
    .map(PyArray::from)
}

/// Integers in `[low, high)`.
#[pyfunction]
#[pyo3(signature = (low, high, shape=None, dtype=None, key=None, stream=None))]
fn randint(
    low: Opnd,
    high: Opnd,
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Int32);
    on(stream, || {
        r::randint(low.0, high.0, &shape_or_empty(shape), d, key_of(&key))
    })
    .map(PyArray::from)
}

/// Bernoulli samples with probability `p`.
#[pyfunction]
#[pyo3(signature = (p=None, shape=None, key=None, stream=None))]
fn bernoulli(
    p: Option<Opnd>,
    shape: Option<Shape>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    use mlxr::ops::{Operand, Scalar};
    let p = p
        .map(|x| x.0)
        .unwrap_or(Operand::Scalar(Scalar::Float(0.5)));
    let shape = shape.map(|s| s.0);
    on(stream, || r::bernoulli(p, shape.as_deref(), key_of(&key))).map(PyArray::from)
}

/// Normal samples truncated to `[lower, upper]`.
#[pyfunction]
#[pyo3(signature = (lower, upper, shape=None, dtype=None, key=None, stream=None))]
fn truncated_normal(
    lower: Opnd,
    upper: Opnd,
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Float32);
    let shape = shape.map(|s| s.0);
    on(stream, || {
        r::truncated_normal(lower.0, upper.0, shape.as_deref(), d, key_of(&key))
    })
    .map(PyArray::from)
}

/// Standard Gumbel samples.
#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, key=None, stream=None))]
fn gumbel(
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Float32);
    on(stream, || {
        r::gumbel(&shape_or_empty(shape), d, key_of(&key))
    })
    .map(PyArray::from)
}

/// Laplace samples.
#[pyfunction]
#[pyo3(signature = (shape=None, dtype=None, loc=0.0, scale=1.0, key=None, stream=None))]
fn laplace(
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    loc: f32,
    scale: f32,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Float32);
    on(stream, || {
        r::laplace(&shape_or_empty(shape), d, loc, scale, key_of(&key))
    })
    .map(PyArray::from)
}

/// Samples from the categorical distribution of `logits` along `axis`.
#[pyfunction]
#[pyo3(signature = (logits, axis=-1, shape=None, num_samples=None, key=None, stream=None))]
fn categorical(
    logits: ArrayLike,
    axis: isize,
    shape: Option<Shape>,
    num_samples: Option<usize>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    on(stream, || match (shape, num_samples) {
        (Some(s), _) => r::categorical_shape(&logits.0, axis, &s.0, key_of(&key)),
        (None, Some(n)) => r::categorical_samples(&logits.0, axis, n, key_of(&key)),
        (None, None) => r::categorical(&logits.0, axis, key_of(&key)),
    })
    .map(PyArray::from)
}

/// A random permutation of `range(x)` or of an array along `axis`.
#[pyfunction]
#[pyo3(signature = (x, axis=0, key=None, stream=None))]
fn permutation(
    x: &Bound<PyAny>,
    axis: isize,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    if x.downcast::<PyArray>().is_err() {
        if let Ok(n) = x.extract::<usize>() {
            return on(stream, || r::permutation(n, key_of(&key))).map(PyArray::from);
        }
    }
    let a = to_array(x, None)?;
    on(stream, || r::permutation_of(&a, axis, key_of(&key))).map(PyArray::from)
}

/// Multivariate normal samples.
#[pyfunction]
#[pyo3(signature = (mean, cov, shape=None, dtype=None, key=None, stream=None))]
fn multivariate_normal(
    mean: ArrayLike,
    cov: ArrayLike,
    shape: Option<Shape>,
    dtype: Option<PyDtype>,
    key: Option<ArrayLike>,
    stream: S,
) -> PyResult<PyArray> {
    let d = dt(dtype, Dtype::Float32);
    on(stream, || {
        r::multivariate_normal(&mean.0, &cov.0, &shape_or_empty(shape), d, key_of(&key))
    })
    .map(PyArray::from)
}

/// The global key (`mx.random.state[0]`).
#[pyfunction]
fn _get_state() -> PyArray {
    r::state().into()
}

/// Replace the global key (`mx.random.state[0] = key`; a compiled function's traced key
/// flows through the samplers).
#[pyfunction]
fn _set_state(key: PyRef<PyArray>) -> PyResult<()> {
    r::set_state(&key.a).py()
}

/// The `random` submodule.
pub fn register(parent: &Bound<PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "random")?;
    macro_rules! add {
        ($($f:ident),* $(,)?) => {$(m.add_function(wrap_pyfunction!($f, &m)?)?;)*};
    }
    add!(
        seed,
        key,
        split,
        bits,
        uniform,
        normal,
        randint,
        bernoulli,
        truncated_normal,
        gumbel,
        laplace,
        categorical,
        permutation,
        multivariate_normal,
        _get_state,
        _set_state
    );
    parent.add_submodule(&m)?;
    Ok(())
}
