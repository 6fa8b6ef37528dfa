//! The buffer protocol of `array` (`memoryview(a)`, zero-conversion reads by NumPy and
//! other buffer consumers): a read-only, row-contiguous copy of the elements, with the
//! shape, strides and struct format held alive until the consumer releases the view.

use crate::array::PyArray;
use crate::convert::IntoPyResult;
use mlxr::Dtype;
use pyo3::exceptions::PyBufferError;
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::CString;
use std::os::raw::{c_int, c_void};

/// What a buffer view points into.
struct Holder {
    bytes: Vec<u8>,
    shape: Vec<ffi::Py_ssize_t>,
    strides: Vec<ffi::Py_ssize_t>,
    format: CString,
}

/// The struct-module format of a dtype (None for bfloat16, which has none).
fn format(d: Dtype) -> Option<&'static str> {
    Some(match d {
        Dtype::Bool => "?",
        Dtype::Uint8 => "B",
        Dtype::Uint16 => "H",
        Dtype::Uint32 => "I",
        Dtype::Uint64 => "Q",
        Dtype::Int8 => "b",
        Dtype::Int16 => "h",
        Dtype::Int32 => "i",
        Dtype::Int64 => "q",
        Dtype::Float16 => "e",
        Dtype::Float32 => "f",
        Dtype::Float64 => "d",
        Dtype::Complex64 => "Zf",
        Dtype::Bfloat16 => return None,
    })
}

/// Fill `view` for `slf` (see `__getbuffer__`).
///
/// # Safety
/// `view` must be a valid `Py_buffer` to fill, as CPython passes it.
pub unsafe fn fill(
    slf: Bound<'_, PyArray>,
    view: *mut ffi::Py_buffer,
    flags: c_int,
) -> PyResult<()> {
    if view.is_null() {
        return Err(PyBufferError::new_err("View is null"));
    }
    if (flags & ffi::PyBUF_WRITABLE) == ffi::PyBUF_WRITABLE {
        return Err(PyBufferError::new_err(
            "mlxr arrays export read-only buffers",
        ));
    }
    let a = slf.borrow().a.clone();
    let fmt = format(a.dtype()).ok_or_else(|| {
        PyBufferError::new_err("bfloat16 arrays have no buffer format; convert with astype first")
    })?;
    let bytes = a.to_bytes().py()?;
    let item = a.itemsize() as ffi::Py_ssize_t;
    let shape: Vec<ffi::Py_ssize_t> = a.shape().iter().map(|&d| d as ffi::Py_ssize_t).collect();
    let mut strides = vec![item; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1].max(1);
    }
    let mut h = Box::new(Holder {
        bytes,
        shape,
        strides,
        format: CString::new(fmt).expect("no NUL"),
    });
    (*view).obj = slf.into_any().into_ptr();
    (*view).buf = h.bytes.as_mut_ptr() as *mut c_void;
    (*view).len = h.bytes.len() as ffi::Py_ssize_t;
    (*view).readonly = 1;
    (*view).itemsize = item;
    (*view).format = if (flags & ffi::PyBUF_FORMAT) == ffi::PyBUF_FORMAT {
        h.format.as_ptr() as *mut _
    } else {
        std::ptr::null_mut()
    };
    (*view).ndim = h.shape.len() as c_int;
    (*view).shape = if (flags & ffi::PyBUF_ND) == ffi::PyBUF_ND {
        h.shape.as_mut_ptr()
    } else {
        std::ptr::null_mut()
    };
    (*view).strides = if (flags & ffi::PyBUF_STRIDES) == ffi::PyBUF_STRIDES {
        h.strides.as_mut_ptr()
    } else {
        std::ptr::null_mut()
    };
    (*view).suboffsets = std::ptr::null_mut();
    (*view).internal = Box::into_raw(h) as *mut c_void;
    Ok(())
}

/// Free what [`fill`] allocated.
///
/// # Safety
/// `view` must have been filled by [`fill`].
pub unsafe fn release(view: *mut ffi::Py_buffer) {
    if !view.is_null() && !(*view).internal.is_null() {
        drop(Box::from_raw((*view).internal as *mut Holder));
        (*view).internal = std::ptr::null_mut();
    }
}
