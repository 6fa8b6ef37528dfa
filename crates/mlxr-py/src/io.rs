//! `mx.load`, `mx.save`, `mx.savez`, `mx.savez_compressed`, `mx.save_safetensors`:
//! `.npy`, `.npz` and `.safetensors` files through `mlxr::io`, given a path or a binary
//! file object (anything with `read` / `write`, like `io.BytesIO`).

use crate::array::PyArray;
use crate::convert::{ArrayLike, IntoPyResult};
use mlxr::io::{self, Loaded};
use mlxr::Array;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use std::collections::HashMap;

/// A path argument (`str` or `os.PathLike`).
fn path(file: &Bound<PyAny>) -> PyResult<String> {
    let os = file.py().import("os")?;
    let p = os.call_method1("fspath", (file,)).map_err(|_| {
        PyValueError::new_err(
            "file must be a path (str or os.PathLike); file objects are not supported",
        )
    })?;
    p.extract()
}

/// A binary file object (has `write` or `read`), rather than a path.
fn is_file_object(file: &Bound<PyAny>, method: &str) -> bool {
    !file.is_instance_of::<pyo3::types::PyString>() && file.hasattr(method).unwrap_or(false)
}

/// Write bytes to a file object.
fn write_to(file: &Bound<PyAny>, bytes: Vec<u8>) -> PyResult<()> {
    file.call_method1("write", (pyo3::types::PyBytes::new(file.py(), &bytes),))?;
    Ok(())
}

/// The format of a file object from `format` or its `name`'s extension.
fn object_format(file: &Bound<PyAny>, format: Option<&str>) -> PyResult<String> {
    if let Some(f) = format {
        return Ok(f.to_string());
    }
    let name: Option<String> = file.getattr("name").ok().and_then(|n| n.extract().ok());
    name.as_deref()
        .and_then(|n| n.rsplit_once('.').map(|(_, e)| e.to_string()))
        .ok_or_else(|| {
            PyValueError::new_err(
                "[load] Could not infer the file format of a file object; pass format=",
            )
        })
}

fn dict<'py>(py: Python<'py>, arrays: Vec<(String, Array)>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, a) in arrays {
        d.set_item(k, PyArray::from(a))?;
    }
    Ok(d)
}

/// Load an array (`.npy`) or a dict of arrays (`.npz`, `.safetensors`).
#[pyfunction]
#[pyo3(signature = (file, /, format=None, return_metadata=false, *, stream=None))]
fn load(
    py: Python<'_>,
    file: &Bound<PyAny>,
    format: Option<&str>,
    return_metadata: bool,
    stream: Option<&Bound<PyAny>>,
) -> PyResult<PyObject> {
    let _ = stream;
    let (p, loaded) = if is_file_object(file, "read") {
        let fmt = object_format(file, format)?;
        let bytes: Vec<u8> = file.call_method0("read")?.extract()?;
        let loaded = match fmt.as_str() {
            "npy" => io::load_npy_bytes(&bytes).map(Loaded::Array),
            "npz" => io::load_npz_bytes(&bytes).map(Loaded::Arrays),
            "safetensors" => io::load_safetensors_bytes(&bytes)
                .map(|(arrays, metadata)| Loaded::Safetensors { arrays, metadata }),
            f => {
                return Err(PyValueError::new_err(format!(
                    "[load] Unknown file format {f}; use npy, npz or safetensors"
                )))
            }
        }
        .py()?;
        (format!("file.{fmt}"), loaded)
    } else {
        let p = path(file)?;
        let loaded = match format {
            Some(f) => io::load_with_format(&p, f),
            None => io::load(&p),
        }
        .py()?;
        (p, loaded)
    };
    let (obj, meta): (PyObject, Option<HashMap<String, String>>) = match loaded {
        Loaded::Array(a) => (Py::new(py, PyArray::from(a))?.into_any(), None),
        Loaded::Arrays(v) => (dict(py, v)?.into_any().unbind(), None),
        Loaded::Safetensors { arrays, metadata } => {
            (dict(py, arrays)?.into_any().unbind(), Some(metadata))
        }
    };
    if return_metadata {
        if meta.is_none() && !p.ends_with(".safetensors") && format != Some("safetensors") {
            return Err(PyValueError::new_err(
                "[load] metadata not supported for format npy/npz",
            ));
        }
        let m = PyDict::new(py);
        for (k, v) in meta.unwrap_or_default() {
            m.set_item(k, v)?;
        }
        Ok(PyTuple::new(py, [obj, m.into_any().unbind()])?
            .into_any()
            .unbind())
    } else {
        Ok(obj)
    }
}

/// Save an array to a `.npy` file.
#[pyfunction]
fn save(file: &Bound<PyAny>, arr: ArrayLike) -> PyResult<()> {
    if is_file_object(file, "write") {
        return write_to(file, io::save_npy_bytes(&arr.0).py()?);
    }
    io::save(path(file)?, &arr.0).py().map(|_| ())
}

fn named(args: Vec<ArrayLike>, kwargs: Option<&Bound<PyDict>>) -> PyResult<Vec<(String, Array)>> {
    let mut v: Vec<(String, Array)> = args
        .into_iter()
        .enumerate()
        .map(|(i, a)| (format!("arr_{i}"), a.0))
        .collect();
    if let Some(kw) = kwargs {
        for (k, a) in kw.iter() {
            let a: ArrayLike = a.extract()?;
            v.push((k.extract()?, a.0));
        }
    }
    Ok(v)
}

/// Save arrays to an uncompressed `.npz` (positional ones as `arr_0`, ...).
#[pyfunction]
#[pyo3(signature = (file, *args, **kwargs))]
fn savez(
    file: &Bound<PyAny>,
    args: Vec<ArrayLike>,
    kwargs: Option<&Bound<PyDict>>,
) -> PyResult<()> {
    if is_file_object(file, "write") {
        return write_to(file, io::savez_bytes(&named(args, kwargs)?, false).py()?);
    }
    io::savez(path(file)?, &named(args, kwargs)?)
        .py()
        .map(|_| ())
}

/// Save arrays to a compressed `.npz`.
#[pyfunction]
#[pyo3(signature = (file, *args, **kwargs))]
fn savez_compressed(
    file: &Bound<PyAny>,
    args: Vec<ArrayLike>,
    kwargs: Option<&Bound<PyDict>>,
) -> PyResult<()> {
    if is_file_object(file, "write") {
        return write_to(file, io::savez_bytes(&named(args, kwargs)?, true).py()?);
    }
    io::savez_compressed(path(file)?, &named(args, kwargs)?)
        .py()
        .map(|_| ())
}

/// Save a dict of arrays (and string metadata) to `.safetensors`.
#[pyfunction]
#[pyo3(signature = (file, arrays, metadata=None))]
fn save_safetensors(
    file: &Bound<PyAny>,
    arrays: &Bound<PyDict>,
    metadata: Option<HashMap<String, String>>,
) -> PyResult<()> {
    let mut v = Vec::with_capacity(arrays.len());
    for (k, a) in arrays.iter() {
        let a: ArrayLike = a.extract()?;
        v.push((k.extract::<String>()?, a.0));
    }
    if is_file_object(file, "write") {
        return write_to(
            file,
            io::save_safetensors_bytes(&v, metadata.as_ref()).py()?,
        );
    }
    io::save_safetensors(path(file)?, &v, metadata.as_ref())
        .py()
        .map(|_| ())
}

/// Register this file's functions.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    m.add_function(wrap_pyfunction!(savez, m)?)?;
    m.add_function(wrap_pyfunction!(savez_compressed, m)?)?;
    m.add_function(wrap_pyfunction!(save_safetensors, m)?)?;
    Ok(())
}
