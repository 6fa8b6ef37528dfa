//! Function transformations over Python callables on flat lists of arrays: the Python
//! layer (`mlxr/core/_transforms.py`) flattens pytrees and calls these. A callback's
//! Python exception is stashed and re-raised unchanged when the transform returns.
//! `_Compiled` wraps `mlxr::compile`.

use crate::array::PyArray;
use crate::convert::{stash, IntoPyResult};
use mlxr::Array;
use pyo3::prelude::*;
use pyo3::types::PyList;

fn arrays(v: Vec<PyRef<'_, PyArray>>) -> Vec<Array> {
    v.iter().map(|p| p.a.clone()).collect()
}

fn wrap(v: Vec<Array>) -> Vec<PyArray> {
    v.into_iter().map(PyArray::from).collect()
}

/// Call a Python function taking and returning a list of arrays.
fn call(f: &Py<PyAny>, xs: &[Array]) -> mlxr::Result<Vec<Array>> {
    Python::with_gil(|py| -> PyResult<Vec<Array>> {
        let args = PyList::new(py, xs.iter().map(|a| PyArray::from(a.clone())))?;
        let r = f.call1(py, (args,))?;
        let v: Vec<PyRef<PyArray>> = r.extract(py)?;
        Ok(arrays(v))
    })
    .map_err(stash)
}

/// `(outputs, vjps)` of `fun` at `primals` for `cotangents`.
#[pyfunction]
fn _vjp(
    fun: Py<PyAny>,
    primals: Vec<PyRef<PyArray>>,
    cotangents: Vec<PyRef<PyArray>>,
) -> PyResult<(Vec<PyArray>, Vec<PyArray>)> {
    let (p, c) = (arrays(primals), arrays(cotangents));
    let (o, g) = mlxr::vjp(|xs: &[Array]| call(&fun, xs), &p, &c).py()?;
    Ok((wrap(o), wrap(g)))
}

/// `(outputs, jvps)` of `fun` at `primals` for `tangents`.
#[pyfunction]
fn _jvp(
    fun: Py<PyAny>,
    primals: Vec<PyRef<PyArray>>,
    tangents: Vec<PyRef<PyArray>>,
) -> PyResult<(Vec<PyArray>, Vec<PyArray>)> {
    let (p, t) = (arrays(primals), arrays(tangents));
    let (o, g) = mlxr::jvp(|xs: &[Array]| call(&fun, xs), &p, &t).py()?;
    Ok((wrap(o), wrap(g)))
}

/// `(outputs, gradients)`: the gradient of the first output (a scalar) with respect to
/// the arguments at `argnums`.
#[pyfunction]
fn _value_and_grad(
    fun: Py<PyAny>,
    args: Vec<PyRef<PyArray>>,
    argnums: Vec<usize>,
) -> PyResult<(Vec<PyArray>, Vec<PyArray>)> {
    let a = arrays(args);
    let vg = mlxr::value_and_grad(|xs: &[Array]| call(&fun, xs), &argnums);
    let (o, g) = vg(&a).py()?;
    Ok((wrap(o), wrap(g)))
}

/// `fun` vectorised over `in_axes` of its inputs, outputs mapped to `out_axes`.
#[pyfunction]
fn _vmap(
    fun: Py<PyAny>,
    inputs: Vec<PyRef<PyArray>>,
    in_axes: Vec<Option<isize>>,
    out_axes: Vec<Option<isize>>,
) -> PyResult<Vec<PyArray>> {
    let a = arrays(inputs);
    let f = mlxr::vmap(|xs: &[Array]| call(&fun, xs), &in_axes, &out_axes);
    f(&a).py().map(wrap)
}

/// `fun(inputs)` whose backward pass recomputes `fun` instead of keeping intermediates.
#[pyfunction]
fn _checkpoint(fun: Py<PyAny>, inputs: Vec<PyRef<PyArray>>) -> PyResult<Vec<PyArray>> {
    let a = arrays(inputs);
    let f = mlxr::checkpoint(move |xs: &[Array]| call(&fun, xs));
    f(&a).py().map(wrap)
}

/// A function with custom vjp / jvp / vmap rules over flat lists of arrays.
#[pyclass(name = "_CustomFunction", module = "mlxr.core")]
pub struct PyCustomFunction {
    f: mlxr::transforms::CustomFunction,
}

#[pymethods]
impl PyCustomFunction {
    #[new]
    #[pyo3(signature = (fun, vjp=None, jvp=None, vmap=None))]
    fn new(
        fun: Py<PyAny>,
        vjp: Option<Py<PyAny>>,
        jvp: Option<Py<PyAny>>,
        vmap: Option<Py<PyAny>>,
    ) -> Self {
        let mut f = mlxr::custom_function(move |xs: &[Array]| call(&fun, xs));
        if let Some(v) = vjp {
            f = f.with_vjp(move |p: &[Array], c: &[Array], o: &[Array]| {
                Python::with_gil(|py| -> PyResult<Vec<Array>> {
                    let l =
                        |x: &[Array]| PyList::new(py, x.iter().map(|a| PyArray::from(a.clone())));
                    let r = v.call1(py, (l(p)?, l(c)?, l(o)?))?;
                    Ok(arrays(r.extract(py)?))
                })
                .map_err(stash)
            });
        }
        if let Some(j) = jvp {
            f = f.with_jvp(move |p: &[Array], t: &[Array]| {
                Python::with_gil(|py| -> PyResult<Vec<Array>> {
                    let l =
                        |x: &[Array]| PyList::new(py, x.iter().map(|a| PyArray::from(a.clone())));
                    let r = j.call1(py, (l(p)?, l(t)?))?;
                    Ok(arrays(r.extract(py)?))
                })
                .map_err(stash)
            });
        }
        if let Some(vm) = vmap {
            f = f.with_vmap(move |xs: &[Array], axes: &[Option<usize>]| {
                Python::with_gil(|py| -> PyResult<(Vec<Array>, Vec<Option<usize>>)> {
                    let l = PyList::new(py, xs.iter().map(|a| PyArray::from(a.clone())))?;
                    let r = vm.call1(py, (l, axes.to_vec()))?;
                    let (o, ax): (Vec<PyRef<PyArray>>, Vec<Option<usize>>) = r.extract(py)?;
                    Ok((arrays(o), ax))
                })
                .map_err(stash)
            });
        }
        PyCustomFunction { f }
    }

    fn __call__(&self, inputs: Vec<PyRef<PyArray>>) -> PyResult<Vec<PyArray>> {
        self.f.call(&arrays(inputs)).py().map(wrap)
    }
}

/// A compiled function over flat lists of arrays (`mlxr::compile`): traced once per input
/// signature (shapes and dtypes, or only ranks and dtypes when shapeless), replayed after.
/// The Python layer keys one of these per structure of the arguments (their tree and
/// non-array constants).
#[pyclass(name = "_Compiled", module = "mlxr.core")]
pub struct PyCompiled {
    c: mlxr::transforms::Compiled,
}

#[pymethods]
impl PyCompiled {
    #[new]
    #[pyo3(signature = (fun, shapeless=false))]
    fn new(fun: Py<PyAny>, shapeless: bool) -> Self {
        let c = mlxr::compile(move |xs: &[Array]| call(&fun, xs)).shapeless(shapeless);
        PyCompiled { c }
    }

    fn __call__(&self, inputs: Vec<PyRef<PyArray>>) -> PyResult<Vec<PyArray>> {
        self.c.call(&arrays(inputs)).py().map(wrap)
    }

    /// How many times the function was traced.
    #[getter]
    fn num_traces(&self) -> usize {
        self.c.num_traces()
    }

    /// `(traced_nodes, nodes, constants)` of the graph for `inputs` (tracing if needed).
    fn graph_info(&self, inputs: Vec<PyRef<PyArray>>) -> PyResult<(usize, usize, usize)> {
        let i = self.c.graph_info(&arrays(inputs)).py()?;
        Ok((i.traced_nodes, i.nodes, i.constants))
    }
}

/// Turn compilation off globally.
#[pyfunction]
fn _disable_compile() {
    mlxr::disable_compile()
}

/// Turn compilation on globally.
#[pyfunction]
fn _enable_compile() {
    mlxr::enable_compile()
}

/// Whether compilation is on (off after `disable_compile` or with `MLXR_DISABLE_COMPILE`).
#[pyfunction]
fn _compile_enabled() -> bool {
    mlxr::transforms::compile_enabled()
}

/// Evaluate arrays (other Python threads run meanwhile: the GIL is released).
#[pyfunction]
fn _eval(py: Python<'_>, outputs: Vec<PyRef<PyArray>>) -> PyResult<()> {
    let a = arrays(outputs);
    py.allow_threads(|| mlxr::eval(&a)).py()
}

/// Start evaluating arrays (the GIL is released meanwhile).
#[pyfunction]
fn _async_eval(py: Python<'_>, outputs: Vec<PyRef<PyArray>>) -> PyResult<()> {
    let a = arrays(outputs);
    py.allow_threads(|| mlxr::async_eval(&a)).py()
}

/// Register this file's functions.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(_vjp, m)?)?;
    m.add_function(wrap_pyfunction!(_jvp, m)?)?;
    m.add_function(wrap_pyfunction!(_value_and_grad, m)?)?;
    m.add_function(wrap_pyfunction!(_vmap, m)?)?;
    m.add_function(wrap_pyfunction!(_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(_eval, m)?)?;
    m.add_function(wrap_pyfunction!(_async_eval, m)?)?;
    m.add_class::<PyCustomFunction>()?;
    m.add_class::<PyCompiled>()?;
    m.add_function(wrap_pyfunction!(_disable_compile, m)?)?;
    m.add_function(wrap_pyfunction!(_enable_compile, m)?)?;
    m.add_function(wrap_pyfunction!(_compile_enabled, m)?)?;
    Ok(())
}
