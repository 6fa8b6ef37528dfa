//! Function export on Python callables (`mlxr::export`): `_Exporter` traces a Python
//! function of `(args: list, kwargs: dict)` returning a list of arrays into a `.mlxfn`
//! file, one trace per `add`; `_import_function` reads a file back as an `_Imported`,
//! called with an argument list and a keyword dict. The Python layer
//! (`mlxr/core/_export.py`) accepts MLX's argument forms and output types.

use crate::array::PyArray;
use crate::convert::{stash, IntoPyResult};
use mlxr::export::{Exporter, ImportedFunction, Kwargs};
use mlxr::Array;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::collections::BTreeMap;

fn kwargs_of(kwargs: BTreeMap<String, PyRef<'_, PyArray>>) -> Kwargs {
    kwargs.into_iter().map(|(k, v)| (k, v.a.clone())).collect()
}

/// Records traces of a Python function into one file (MLX's `mx.exporter`).
#[pyclass(name = "_Exporter", module = "mlxr.core")]
pub struct PyExporter {
    ex: Exporter,
}

#[pymethods]
impl PyExporter {
    #[new]
    #[pyo3(signature = (path, fun, shapeless=false, metadata=None))]
    fn new(path: String, fun: Py<PyAny>, shapeless: bool, metadata: Option<String>) -> Self {
        let f = move |args: &[Array], kwargs: &Kwargs| -> mlxr::Result<Vec<Array>> {
            Python::with_gil(|py| -> PyResult<Vec<Array>> {
                let a = PyList::new(py, args.iter().map(|x| PyArray::from(x.clone())))?;
                let kw = PyDict::new(py);
                for (k, v) in kwargs {
                    kw.set_item(k, PyArray::from(v.clone()))?;
                }
                let r = fun.call1(py, (a, kw))?;
                let v: Vec<PyRef<PyArray>> = r.extract(py)?;
                Ok(v.iter().map(|p| p.a.clone()).collect())
            })
            .map_err(stash)
        };
        let ex = Exporter::new(path, f)
            .shapeless(shapeless)
            .metadata(metadata.unwrap_or_default());
        PyExporter { ex }
    }

    /// Trace the function on `args` and `kwargs` and rewrite the file.
    fn add(
        &mut self,
        args: Vec<PyRef<PyArray>>,
        kwargs: BTreeMap<String, PyRef<PyArray>>,
    ) -> PyResult<()> {
        let a: Vec<Array> = args.iter().map(|p| p.a.clone()).collect();
        self.ex.add(&a, &kwargs_of(kwargs)).py()
    }

    /// How many traces were added.
    #[getter]
    fn num_traces(&self) -> usize {
        self.ex.num_traces()
    }
}

/// A function read from a `.mlxfn` file.
#[pyclass(name = "_Imported", module = "mlxr.core")]
pub struct PyImported {
    f: ImportedFunction,
}

#[pymethods]
impl PyImported {
    fn __call__(
        &self,
        args: Vec<PyRef<PyArray>>,
        kwargs: BTreeMap<String, PyRef<PyArray>>,
    ) -> PyResult<Vec<PyArray>> {
        let a: Vec<Array> = args.iter().map(|p| p.a.clone()).collect();
        let out = self.f.call(&a, &kwargs_of(kwargs)).py()?;
        Ok(out.into_iter().map(PyArray::from).collect())
    }

    /// The metadata string saved with the function.
    #[getter]
    fn metadata(&self) -> String {
        self.f.metadata().to_string()
    }

    /// How many traces the file holds.
    #[getter]
    fn num_traces(&self) -> usize {
        self.f.num_traces()
    }
}

/// Read a function exported by `_Exporter`.
#[pyfunction]
fn _import_function(path: String) -> PyResult<PyImported> {
    Ok(PyImported {
        f: mlxr::export::import_function(path).py()?,
    })
}

/// Register this file's classes and functions.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_class::<PyExporter>()?;
    m.add_class::<PyImported>()?;
    m.add_function(wrap_pyfunction!(_import_function, m)?)?;
    Ok(())
}
