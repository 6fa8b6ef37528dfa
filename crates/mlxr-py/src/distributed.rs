//! `mx.distributed`: MLX's `mlx.core.distributed` over `mlxr::distributed`, registered as
//! the `distributed` submodule of `mlxr._core` (`python/mlxr/core/distributed.py`
//! re-exports it). The `Group` class, `is_available`, `init` and the collectives
//! (`all_sum`, `all_max`, `all_min`, `all_gather`, `sum_scatter`, `send`, `recv`,
//! `recv_like`) with MLX's signatures (`group=` and `stream=` keywords).
//!
//! The backends are those of the build: MPI with the `mpi` cargo feature, NCCL with
//! `cuda`; without one, `init()` gives the size-1 singleton group. In the singleton group
//! the Python API follows MLX rather than the Rust crate where they differ: `all_gather`
//! and `sum_scatter` return their input unchanged (also for scalars) and `Group.split`
//! raises `RuntimeError`. MLX's other backend names (`ring`, `jaccl`) are accepted and
//! never available.

use crate::array::PyArray;
use crate::convert::{ArrayLike, IntoPyResult, PyDtype, Shape};
use crate::device::on;
use mlxr::distributed::{self as dist, Group};
use mlxr::Array;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

type S<'a> = Option<&'a Bound<'a, PyAny>>;

/// Backend names MLX knows that mlxr does not implement.
const FOREIGN_BACKENDS: [&str; 2] = ["ring", "jaccl"];

/// A group of processes that communicate (MLX's `mlx.core.distributed.Group`).
#[pyclass(name = "Group", module = "mlxr.core.distributed", frozen)]
#[derive(Clone)]
pub struct PyGroup(pub Group);

#[pymethods]
impl PyGroup {
    /// This process's rank in the group.
    fn rank(&self) -> usize {
        self.0.rank()
    }
    /// The number of processes in the group.
    fn size(&self) -> usize {
        self.0.size()
    }
    /// Split the group into subgroups: processes passing the same `color` form one,
    /// ranked by `key` (by their rank in this group when `key` is negative).
    #[pyo3(signature = (color, key=-1))]
    fn split(&self, color: i32, key: i32) -> PyResult<PyGroup> {
        if self.0.is_singleton() {
            return Err(PyRuntimeError::new_err(
                "Cannot split the distributed group further.",
            ));
        }
        self.0.split(color, Some(key)).py().map(PyGroup)
    }
    /// The communication backend's name (`"mpi"`, `"nccl"` or `"singleton"`); an mlxr
    /// extension.
    #[getter]
    fn backend(&self) -> &'static str {
        self.0.backend_name()
    }
    fn __repr__(&self) -> String {
        format!(
            "Group(rank={}, size={}, backend='{}')",
            self.0.rank(),
            self.0.size(),
            self.0.backend_name()
        )
    }
}

fn check_backend_name(backend: &str) -> PyResult<()> {
    if matches!(backend, "any" | "mpi" | "nccl") || FOREIGN_BACKENDS.contains(&backend) {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!(
            "[distributed] The only valid values for backend are 'any', 'mpi', 'nccl', \
             'jaccl' and 'ring' but '{backend}' was provided."
        )))
    }
}

/// Whether this build can create a group with `backend` (`"any"`, `"mpi"`, `"nccl"`;
/// `"ring"` and `"jaccl"` are never available in mlxr).
#[pyfunction]
#[pyo3(signature = (backend="any"))]
fn is_available(backend: &str) -> PyResult<bool> {
    check_backend_name(backend)?;
    Ok(dist::is_available(backend))
}

/// Initialise the communication backend and return the world group. Without a usable
/// backend the result is the size-1 singleton group, or a `RuntimeError` when `strict`.
/// `all_gather_factory` (used by MLX's `jaccl` backend only) is accepted and ignored.
#[pyfunction]
#[pyo3(signature = (strict=false, backend="any", *, all_gather_factory=None))]
fn init(
    py: Python<'_>,
    strict: bool,
    backend: &str,
    all_gather_factory: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyGroup> {
    let _ = all_gather_factory;
    check_backend_name(backend)?;
    if FOREIGN_BACKENDS.contains(&backend) {
        if strict {
            return Err(PyRuntimeError::new_err(format!(
                "[distributed] The '{backend}' backend is not implemented by mlxr (use \
                 'mpi' or 'nccl')"
            )));
        }
        return py
            .allow_threads(|| dist::init(false, "any"))
            .py()
            .map(PyGroup);
    }
    py.allow_threads(|| dist::init(strict, backend))
        .map_err(|e| match e {
            // MLX raises RuntimeError for every failure to set up a backend.
            mlxr::Error::InvalidArgument(m) => mlxr::Error::Device(m),
            e => e,
        })
        .py()
        .map(PyGroup)
}

fn group_of(group: &Option<PyRef<PyGroup>>) -> Option<Group> {
    group.as_ref().map(|g| g.0.clone())
}

/// The group an op runs on (the world when none is given).
fn resolve(group: &Option<PyRef<PyGroup>>) -> PyResult<Group> {
    match group_of(group) {
        Some(g) => Ok(g),
        None => dist::world().py(),
    }
}

macro_rules! reduce_op {
    ($($name:ident => $f:path, $doc:literal;)*) => {$(
        #[doc = $doc]
        #[pyfunction]
        #[pyo3(signature = (x, *, group=None, stream=None))]
        fn $name(x: ArrayLike, group: Option<PyRef<PyGroup>>, stream: S) -> PyResult<PyArray> {
            let g = resolve(&group)?;
            on(stream, || $f(&x.0, Some(&g))).map(PyArray::from)
        }
    )*};
}

reduce_op! {
    all_sum => dist::all_sum, "Sum `x` elementwise over the processes of the group.";
    all_max => dist::all_max, "Elementwise maximum of `x` over the processes of the group.";
    all_min => dist::all_min, "Elementwise minimum of `x` over the processes of the group.";
}

/// Concatenate every process's `x` along the first axis, in rank order.
#[pyfunction]
#[pyo3(signature = (x, *, group=None, stream=None))]
fn all_gather(x: ArrayLike, group: Option<PyRef<PyGroup>>, stream: S) -> PyResult<PyArray> {
    let g = resolve(&group)?;
    if g.is_singleton() {
        return Ok(x.0.into());
    }
    on(stream, || dist::all_gather(&x.0, Some(&g))).map(PyArray::from)
}

/// Sum `x` over the processes and give each its block of the first axis.
#[pyfunction]
#[pyo3(signature = (x, *, group=None, stream=None))]
fn sum_scatter(x: ArrayLike, group: Option<PyRef<PyGroup>>, stream: S) -> PyResult<PyArray> {
    let g = resolve(&group)?;
    if g.is_singleton() {
        return Ok(x.0.into());
    }
    on(stream, || dist::sum_scatter(&x.0, Some(&g))).map(PyArray::from)
}

fn singleton_p2p(g: &Group, what: &str) -> PyResult<()> {
    if g.is_singleton() {
        return Err(PyValueError::new_err(format!(
            "Cannot {what} a singleton group"
        )));
    }
    Ok(())
}

fn rank_arg(r: i64, what: &str) -> PyResult<usize> {
    usize::try_from(r).map_err(|_| PyValueError::new_err(format!("{what}: invalid rank {r}")))
}

/// Send `x` to the process of rank `dst`; returns an array whose evaluation sends.
#[pyfunction]
#[pyo3(signature = (x, dst, *, group=None, stream=None))]
fn send(x: ArrayLike, dst: i64, group: Option<PyRef<PyGroup>>, stream: S) -> PyResult<PyArray> {
    let g = resolve(&group)?;
    singleton_p2p(&g, "send to")?;
    let dst = rank_arg(dst, "send")?;
    on(stream, || dist::send(&x.0, dst, Some(&g))).map(PyArray::from)
}

/// Receive an array of `shape` and `dtype` from the process of rank `src`.
#[pyfunction]
#[pyo3(signature = (shape, dtype, src, *, group=None, stream=None))]
fn recv(
    shape: Shape,
    dtype: PyDtype,
    src: i64,
    group: Option<PyRef<PyGroup>>,
    stream: S,
) -> PyResult<PyArray> {
    let g = resolve(&group)?;
    singleton_p2p(&g, "recv from")?;
    let src = rank_arg(src, "recv")?;
    on(stream, || dist::recv(&shape.0, dtype.0, src, Some(&g))).map(PyArray::from)
}

/// Receive an array with the shape and dtype of `x` from the process of rank `src`.
#[pyfunction]
#[pyo3(signature = (x, src, *, group=None, stream=None))]
fn recv_like(
    x: ArrayLike,
    src: i64,
    group: Option<PyRef<PyGroup>>,
    stream: S,
) -> PyResult<PyArray> {
    let g = resolve(&group)?;
    singleton_p2p(&g, "recv from")?;
    let src = rank_arg(src, "recv_like")?;
    let like: &Array = &x.0;
    on(stream, || dist::recv_like(like, src, Some(&g))).map(PyArray::from)
}

/// Register the `distributed` submodule.
pub fn register(parent: &Bound<PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "distributed")?;
    m.add_class::<PyGroup>()?;
    macro_rules! add {
        ($($f:ident),* $(,)?) => {$(m.add_function(wrap_pyfunction!($f, &m)?)?;)*};
    }
    add!(
        is_available,
        init,
        all_sum,
        all_max,
        all_min,
        all_gather,
        sum_scatter,
        send,
        recv,
        recv_like
    );
    parent.add_submodule(&m)?;
    Ok(())
}
