//! The Python `array` class (MLX's `mlx.core.array`): construction, properties, operators
//! with weakly typed Python scalars, NumPy-style indexing and `a.at[idx]` updates,
//! conversion back to Python and NumPy. Methods that are plain ops with the array first
//! (`a.sum()`, `a.exp()`, ...) are attached in `mlxr/core/__init__.py`.

use crate::convert::{self, to_array, to_operand, IntoPyResult, PyDtype};
use crate::device::on;
use mlxr::ops::{self, IndexArg, Operand, SliceArg};
use mlxr::Array;
use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyEllipsis, PySlice, PyTuple};

/// An N-dimensional array (lazy: computed when evaluated or read).
#[pyclass(name = "array", module = "mlxr.core", subclass, weakref)]
pub struct PyArray {
    /// The array.
    pub a: Array,
}

impl From<Array> for PyArray {
    fn from(a: Array) -> Self {
        PyArray { a }
    }
}

/// One Python index entry as an mlxr index entry.
fn index_arg(obj: &Bound<PyAny>) -> PyResult<IndexArg> {
    if obj.is_none() {
        return Ok(IndexArg::Basic(SliceArg::NewAxis));
    }
    if obj.is_instance_of::<PyEllipsis>() {
        return Ok(IndexArg::Basic(SliceArg::Ellipsis));
    }
    if let Ok(s) = obj.downcast::<PySlice>() {
        let get = |name: &str| -> PyResult<Option<isize>> {
            let v = s.getattr(name)?;
            if v.is_none() {
                Ok(None)
            } else {
                Ok(Some(v.extract::<isize>()?))
            }
        };
        let step = get("step")?.unwrap_or(1);
        if step == 0 {
            return Err(PyValueError::new_err("slice step cannot be zero"));
        }
        return Ok(IndexArg::Basic(SliceArg::Range {
            start: get("start")?,
            stop: get("stop")?,
            step,
        }));
    }
    if obj.downcast::<PyArray>().is_err() {
        if let Ok(i) = obj.extract::<isize>() {
            if !obj.is_instance_of::<pyo3::types::PyBool>() {
                return Ok(IndexArg::Basic(SliceArg::Index(i)));
            }
        }
    }
    let a = to_array(obj, None).map_err(|_| {
        PyTypeError::new_err(format!(
            "Cannot index mlx array using the given type {}.",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    Ok(IndexArg::Array(a))
}

/// A Python index (an entry or a tuple of entries) as mlxr index entries.
pub fn index_args(obj: &Bound<PyAny>) -> PyResult<Vec<IndexArg>> {
    if let Ok(t) = obj.downcast::<PyTuple>() {
        t.iter().map(|x| index_arg(&x)).collect()
    } else {
        Ok(vec![index_arg(obj)?])
    }
}

impl PyArray {
    /// A binary operator: NotImplemented for operands that are not array-like.
    fn bin(
        &self,
        other: &Bound<PyAny>,
        f: fn(Operand, Operand) -> mlxr::Result<Array>,
        reflected: bool,
    ) -> PyResult<PyObject> {
        let py = other.py();
        let o = match to_operand(other) {
            Ok(o) => o,
            Err(_) => return Ok(py.NotImplemented()),
        };
        let me = Operand::Array(self.a.clone());
        let r = if reflected { f(o, me) } else { f(me, o) };
        Ok(wrap(py, r.py()?)?.into_any())
    }
}

/// The array wrapped as a Python object.
fn wrap(py: Python<'_>, a: Array) -> PyResult<Py<PyArray>> {
    Py::new(py, PyArray { a })
}

#[pymethods]
impl PyArray {
    #[new]
    #[pyo3(signature = (val, dtype=None))]
    fn new(val: &Bound<PyAny>, dtype: Option<PyDtype>) -> PyResult<Self> {
        Ok(PyArray {
            a: to_array(val, dtype.map(|d| d.0))?,
        })
    }

    /// The shape as a tuple.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.a.shape())
    }
    /// The element type.
    #[getter]
    fn dtype(&self) -> PyDtype {
        PyDtype(self.a.dtype())
    }
    /// The number of elements.
    #[getter]
    fn size(&self) -> usize {
        self.a.size()
    }
    /// The number of dimensions.
    #[getter]
    fn ndim(&self) -> usize {
        self.a.ndim()
    }
    /// Bytes per element.
    #[getter]
    fn itemsize(&self) -> usize {
        self.a.itemsize()
    }
    /// Bytes of all elements.
    #[getter]
    fn nbytes(&self) -> usize {
        self.a.nbytes()
    }
    /// The transpose (all axes reversed).
    #[getter(T)]
    fn t(&self) -> PyResult<PyArray> {
        ops::transpose(&self.a).py().map(PyArray::from)
    }
    /// `a.at[idx].add(v)` and friends.
    #[getter]
    fn at(&self) -> ArrayAt {
        ArrayAt { a: self.a.clone() }
    }

    fn __repr__(&self) -> PyResult<String> {
        self.a.eval().py()?;
        Ok(format!("{}", self.a))
    }
    fn __str__(&self) -> PyResult<String> {
        self.__repr__()
    }
    fn __len__(&self) -> PyResult<usize> {
        if self.a.ndim() == 0 {
            return Err(PyTypeError::new_err("len() 0-dimensional array."));
        }
        Ok(self.a.shape()[0])
    }
    fn __iter__(slf: PyRef<'_, Self>) -> PyResult<ArrayIterator> {
        if slf.a.ndim() == 0 {
            return Err(PyTypeError::new_err("iteration over a 0-d array"));
        }
        Ok(ArrayIterator {
            a: slf.a.clone(),
            next: 0,
        })
    }
    fn __bool__(&self, py: Python<'_>) -> PyResult<bool> {
        if self.a.size() != 1 {
            return Err(PyValueError::new_err(
                "The truth value of an array with more than one element is ambiguous.",
            ));
        }
        convert::item(py, &self.a)?.bind(py).is_truthy()
    }
    fn __int__(&self, py: Python<'_>) -> PyResult<PyObject> {
        let v = convert::item(py, &self.a)?;
        Ok(py.import("builtins")?.getattr("int")?.call1((v,))?.unbind())
    }
    fn __float__(&self, py: Python<'_>) -> PyResult<f64> {
        convert::item(py, &self.a)?.extract(py)
    }
    fn __index__(&self, py: Python<'_>) -> PyResult<i64> {
        if !(self.a.dtype().is_integer() || self.a.dtype() == mlxr::Dtype::Bool) {
            return Err(PyTypeError::new_err(
                "Only integer arrays can be converted to an index",
            ));
        }
        convert::item(py, &self.a)?.extract(py)
    }
    fn __hash__(slf: PyRef<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }

    /// The value of a one-element array as a Python scalar.
    fn item(&self, py: Python<'_>) -> PyResult<PyObject> {
        convert::item(py, &self.a)
    }
    /// Nested lists of Python scalars.
    fn tolist(&self, py: Python<'_>) -> PyResult<PyObject> {
        convert::tolist(py, &self.a)
    }
    /// A NumPy array with the same values (a copy).
    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__(
        &self,
        py: Python<'_>,
        dtype: Option<&Bound<PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<PyObject> {
        let _ = copy;
        let np = py.import("numpy")?;
        let a = if self.a.dtype() == mlxr::Dtype::Bfloat16 {
            ops::astype(&self.a, mlxr::Dtype::Float32).py()?
        } else {
            self.a.clone()
        };
        let bytes = a.to_bytes().py()?;
        let pybytes = pyo3::types::PyBytes::new(py, &bytes);
        let flat = np.call_method1("frombuffer", (pybytes, convert::numpy_name(a.dtype())))?;
        let out = flat.call_method1("reshape", (PyTuple::new(py, a.shape())?,))?;
        let out = out.call_method0("copy")?;
        match dtype {
            Some(d) if !d.is_none() => Ok(out.call_method1("astype", (d,))?.unbind()),
            _ => Ok(out.unbind()),
        }
    }
    /// A copy converted to `dtype`.
    #[pyo3(signature = (dtype, stream=None))]
    fn astype(&self, dtype: PyDtype, stream: Option<&Bound<PyAny>>) -> PyResult<PyArray> {
        on(stream, || ops::astype(&self.a, dtype.0)).map(PyArray::from)
    }
    /// The same elements in a new shape (`a.reshape(2, 3)` or `a.reshape((2, 3))`).
    #[pyo3(signature = (*shape, stream=None))]
    fn reshape(&self, shape: &Bound<PyTuple>, stream: Option<&Bound<PyAny>>) -> PyResult<PyArray> {
        let dims: Vec<isize> = if shape.len() == 1 && shape.get_item(0)?.extract::<isize>().is_err()
        {
            shape.get_item(0)?.extract()?
        } else {
            shape.extract()?
        };
        on(stream, || ops::reshape(&self.a, &dims)).map(PyArray::from)
    }
    /// Permute the axes (reversed when none are given).
    #[pyo3(signature = (*axes, stream=None))]
    fn transpose(&self, axes: &Bound<PyTuple>, stream: Option<&Bound<PyAny>>) -> PyResult<PyArray> {
        let axes: Option<Vec<isize>> = if axes.is_empty() {
            None
        } else if axes.len() == 1 && axes.get_item(0)?.extract::<isize>().is_err() {
            let x = axes.get_item(0)?;
            if x.is_none() {
                None
            } else {
                Some(x.extract()?)
            }
        } else {
            Some(axes.extract()?)
        };
        on(stream, || match &axes {
            None => ops::transpose(&self.a),
            Some(ax) => ops::transpose_axes(&self.a, ax),
        })
        .map(PyArray::from)
    }

    fn __getitem__(&self, idx: &Bound<PyAny>) -> PyResult<PyArray> {
        let idx = index_args(idx)?;
        ops::get_item(&self.a, &idx)
            .map_err(|e| match e {
                mlxr::Error::Index(m) => PyIndexError::new_err(m),
                e => convert::to_pyerr(e),
            })
            .map(PyArray::from)
    }
    fn __setitem__(&mut self, idx: &Bound<PyAny>, val: &Bound<PyAny>) -> PyResult<()> {
        let idx = index_args(idx)?;
        let v = to_operand(val)?;
        self.a = ops::set_item(&self.a, &idx, v).py()?;
        Ok(())
    }

    fn __add__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::add, false)
    }
    fn __radd__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::add, true)
    }
    fn __sub__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::subtract, false)
    }
    fn __rsub__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::subtract, true)
    }
    fn __mul__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::multiply, false)
    }
    fn __rmul__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::multiply, true)
    }
    fn __truediv__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::divide, false)
    }
    fn __rtruediv__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::divide, true)
    }
    fn __floordiv__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::floor_divide, false)
    }
    fn __rfloordiv__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::floor_divide, true)
    }
    fn __mod__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::remainder, false)
    }
    fn __rmod__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::remainder, true)
    }
    fn __and__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_and, false)
    }
    fn __rand__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_and, true)
    }
    fn __or__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_or, false)
    }
    fn __ror__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_or, true)
    }
    fn __xor__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_xor, false)
    }
    fn __rxor__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::bitwise_xor, true)
    }
    fn __lshift__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::left_shift, false)
    }
    fn __rlshift__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::left_shift, true)
    }
    fn __rshift__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::right_shift, false)
    }
    fn __rrshift__(&self, other: &Bound<PyAny>) -> PyResult<PyObject> {
        self.bin(other, ops::right_shift, true)
    }

    /// In place (MLX semantics: this array object now holds the result).
    fn __iadd__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::add(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __isub__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::subtract(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __imul__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::multiply(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __itruediv__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::divide(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __ifloordiv__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::floor_divide(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __imod__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::remainder(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __ipow__(&mut self, other: &Bound<PyAny>, modulo: Option<&Bound<PyAny>>) -> PyResult<()> {
        let _ = modulo;
        let o = to_operand(other)?;
        self.a = ops::power(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __iand__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::bitwise_and(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __ior__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::bitwise_or(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __ixor__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::bitwise_xor(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __ilshift__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::left_shift(&self.a, o).py()?;
        Ok(())
    }
    /// In place (MLX semantics: this array object now holds the result).
    fn __irshift__(&mut self, other: &Bound<PyAny>) -> PyResult<()> {
        let o = to_operand(other)?;
        self.a = ops::right_shift(&self.a, o).py()?;
        Ok(())
    }
    fn __pow__(&self, other: &Bound<PyAny>, modulo: Option<&Bound<PyAny>>) -> PyResult<PyObject> {
        let _ = modulo;
        let py = other.py();
        match to_operand(other) {
            Ok(o) => Ok(wrap(py, ops::power(&self.a, o).py()?)?.into_any()),
            Err(_) => Ok(py.NotImplemented()),
        }
    }
    fn __rpow__(&self, other: &Bound<PyAny>, modulo: Option<&Bound<PyAny>>) -> PyResult<PyObject> {
        let _ = modulo;
        let py = other.py();
        match to_operand(other) {
            Ok(o) => Ok(wrap(py, ops::power(o, &self.a).py()?)?.into_any()),
            Err(_) => Ok(py.NotImplemented()),
        }
    }
    fn __matmul__(&self, other: &Bound<PyAny>) -> PyResult<PyArray> {
        let b = to_array(other, None)?;
        ops::matmul(&self.a, &b).py().map(PyArray::from)
    }
    fn __rmatmul__(&self, other: &Bound<PyAny>) -> PyResult<PyArray> {
        let b = to_array(other, None)?;
        ops::matmul(&b, &self.a).py().map(PyArray::from)
    }
    fn __neg__(&self) -> PyResult<PyArray> {
        ops::negative(&self.a).py().map(PyArray::from)
    }
    fn __pos__(&self) -> PyArray {
        PyArray { a: self.a.clone() }
    }
    fn __abs__(&self) -> PyResult<PyArray> {
        ops::abs(&self.a).py().map(PyArray::from)
    }
    fn __invert__(&self) -> PyResult<PyArray> {
        ops::bitwise_invert(&self.a).py().map(PyArray::from)
    }
    fn __richcmp__(&self, other: &Bound<PyAny>, op: CompareOp) -> PyResult<PyObject> {
        let py = other.py();
        let o = match to_operand(other) {
            Ok(o) => o,
            Err(_) => {
                return match op {
                    CompareOp::Eq => Ok(false.into_pyobject(py)?.to_owned().into_any().unbind()),
                    CompareOp::Ne => Ok(true.into_pyobject(py)?.to_owned().into_any().unbind()),
                    _ => Ok(py.NotImplemented()),
                }
            }
        };
        let r = match op {
            CompareOp::Eq => ops::equal(&self.a, o),
            CompareOp::Ne => ops::not_equal(&self.a, o),
            CompareOp::Lt => ops::less(&self.a, o),
            CompareOp::Le => ops::less_equal(&self.a, o),
            CompareOp::Gt => ops::greater(&self.a, o),
            CompareOp::Ge => ops::greater_equal(&self.a, o),
        };
        Ok(wrap(py, r.py()?)?.into_any())
    }
    /// The buffer protocol (`memoryview(a)`, NumPy): a read-only, row-contiguous copy of
    /// the data kept alive until the view is released.
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut pyo3::ffi::Py_buffer,
        flags: std::os::raw::c_int,
    ) -> PyResult<()> {
        crate::buffer::fill(slf, view, flags)
    }
    unsafe fn __releasebuffer__(&self, view: *mut pyo3::ffi::Py_buffer) {
        crate::buffer::release(view)
    }
    fn __copy__(&self) -> PyArray {
        PyArray { a: self.a.clone() }
    }
    #[pyo3(signature = (memo=None))]
    fn __deepcopy__(&self, memo: Option<&Bound<PyAny>>) -> PyResult<PyArray> {
        let _ = memo;
        Ok(PyArray { a: self.a.clone() })
    }
    fn __getstate__(&self, py: Python<'_>) -> PyResult<PyObject> {
        self.__array__(py, None, None)
    }
    fn __setstate__(&mut self, state: &Bound<PyAny>) -> PyResult<()> {
        self.a = to_array(state, None)?;
        Ok(())
    }
    fn __getnewargs__(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        Ok(PyTuple::new(py, [0i32])?.unbind())
    }
}

/// `a.at`: indexing it gives an [`ArrayAtIndex`] with the update methods.
#[pyclass(name = "ArrayAt", module = "mlxr.core")]
pub struct ArrayAt {
    a: Array,
}

#[pymethods]
impl ArrayAt {
    fn __getitem__(&self, idx: &Bound<PyAny>) -> PyResult<ArrayAtIndex> {
        Ok(ArrayAtIndex {
            a: self.a.clone(),
            idx: index_args(idx)?,
        })
    }
}

/// The iterator over the first axis of an array (`iter(a)`, MLX's `ArrayIterator`).
#[pyclass(name = "ArrayIterator", module = "mlxr.core")]
pub struct ArrayIterator {
    a: Array,
    next: usize,
}

#[pymethods]
impl ArrayIterator {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }
    fn __next__(&mut self) -> PyResult<Option<PyArray>> {
        if self.next >= self.a.shape()[0] {
            return Ok(None);
        }
        let i = self.next;
        self.next += 1;
        Ok(Some(PyArray {
            a: ops::take_index(&self.a, i as i64, Some(0)).py()?,
        }))
    }
}

/// `a.at[idx]`: functional updates that accumulate over repeated indices.
#[pyclass(name = "ArrayAtIndex", module = "mlxr.core")]
pub struct ArrayAtIndex {
    a: Array,
    idx: Vec<IndexArg>,
}

#[pymethods]
impl ArrayAtIndex {
    /// The updated array.
    fn add(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).add(v).py().map(PyArray::from)
    }
    /// The updated array.
    fn subtract(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).subtract(v).py().map(PyArray::from)
    }
    /// The updated array.
    fn multiply(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).multiply(v).py().map(PyArray::from)
    }
    /// The updated array.
    fn divide(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).divide(v).py().map(PyArray::from)
    }
    /// The updated array.
    fn maximum(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).maximum(v).py().map(PyArray::from)
    }
    /// The updated array.
    fn minimum(&self, value: &Bound<PyAny>) -> PyResult<PyArray> {
        let v = to_operand(value)?;
        self.a.at(&self.idx).minimum(v).py().map(PyArray::from)
    }
}
