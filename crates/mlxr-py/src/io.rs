//! `mx.load`, `mx.save`, `mx.savez`, `mx.savez_compressed`, `mx.save_safetensors`,
//! `mx.save_gguf`: `.npy`, `.npz`, `.safetensors` and `.gguf` files through `mlxr::io`,
//! given a path or a binary file object (anything with `read` / `write`, like
//! `io.BytesIO`).

use crate::array::PyArray;
use crate::convert::{ArrayLike, IntoPyResult};
use mlxr::io::{self, GgufValue, Loaded};
use mlxr::Array;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
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
            "gguf" => io::load_gguf_bytes(&bytes)
                .map(|(arrays, metadata)| Loaded::Gguf { arrays, metadata }),
            f => {
                return Err(PyValueError::new_err(format!(
                    "[load] Unknown file format {f}; use npy, npz, safetensors or gguf"
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
    let m = PyDict::new(py);
    let (obj, has_meta): (PyObject, bool) = match loaded {
        Loaded::Array(a) => (Py::new(py, PyArray::from(a))?.into_any(), false),
        Loaded::Arrays(v) => (dict(py, v)?.into_any().unbind(), false),
        Loaded::Safetensors { arrays, metadata } => {
            for (k, v) in metadata {
                m.set_item(k, v)?;
            }
            (dict(py, arrays)?.into_any().unbind(), true)
        }
        Loaded::Gguf { arrays, metadata } => {
            for (k, v) in metadata {
                match v {
                    GgufValue::Array(a) => m.set_item(k, PyArray::from(a))?,
                    GgufValue::String(s) => m.set_item(k, s)?,
                    GgufValue::Strings(v) => m.set_item(k, PyList::new(py, v)?)?,
                }
            }
            (dict(py, arrays)?.into_any().unbind(), true)
        }
    };
    if return_metadata {
        if !has_meta && !p.ends_with(".safetensors") && format != Some("safetensors") {
            return Err(PyValueError::new_err(
                "[load] metadata not supported for format npy/npz",
            ));
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

/// Save a dict of arrays and a dict of metadata (arrays, strings, lists of strings) to
/// `.gguf`.
#[pyfunction]
#[pyo3(signature = (file, arrays, metadata=None))]
fn save_gguf(
    file: &Bound<PyAny>,
    arrays: &Bound<PyDict>,
    metadata: Option<&Bound<PyDict>>,
) -> PyResult<()> {
    let mut v = Vec::with_capacity(arrays.len());
    for (k, a) in arrays.iter() {
        let a = a.downcast::<PyArray>().map_err(|_| {
            PyValueError::new_err(format!(
                "[save_gguf] The values of arrays must be arrays, got {} for key {k}.",
                a.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        v.push((k.extract::<String>()?, a.borrow().a.clone()));
    }
    let mut meta = Vec::new();
    if let Some(md) = metadata {
        for (k, val) in md.iter() {
            let k: String = k.extract()?;
            let gv = if let Ok(a) = val.downcast::<PyArray>() {
                let a = a.borrow().a.clone();
                use mlxr::Dtype::*;
                if !matches!(
                    a.dtype(),
                    Uint8
                        | Int8
                        | Uint16
                        | Int16
                        | Uint32
                        | Int32
                        | Float32
                        | Bool
                        | Uint64
                        | Int64
                ) {
                    return Err(PyValueError::new_err(format!(
                        "[save_gguf] array type {} not supported for metadata (key {k}).",
                        a.dtype()
                    )));
                }
                GgufValue::Array(a)
            } else if let Ok(s) = val.downcast::<PyString>() {
                GgufValue::String(s.to_str()?.to_string())
            } else if let Ok(l) = val.downcast::<PyList>() {
                let strings: Option<Vec<String>> = l.iter().map(|x| x.extract().ok()).collect();
                GgufValue::Strings(strings.ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "[save_gguf] A list in metadata must hold only strings (key {k})."
                    ))
                })?)
            } else {
                return Err(PyValueError::new_err(format!(
                    "[save_gguf] Received unexpected type in metadata for key {k}: metadata \
                     values must be arrays, strings or lists of strings."
                )));
            };
            meta.push((k, gv));
        }
    }
    if is_file_object(file, "write") {
        return write_to(file, io::save_gguf_bytes(&v, &meta).py()?);
    }
    io::save_gguf(path(file)?, &v, &meta).py().map(|_| ())
}

/// Register this file's functions.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(save, m)?)?;
    m.add_function(wrap_pyfunction!(savez, m)?)?;
    m.add_function(wrap_pyfunction!(savez_compressed, m)?)?;
    m.add_function(wrap_pyfunction!(save_safetensors, m)?)?;
    m.add_function(wrap_pyfunction!(save_gguf, m)?)?;
    Ok(())
}
