//! Conversions between Python objects and mlxr values: errors to Python exceptions, the
//! `Dtype` class, array construction from scalars / nested sequences / NumPy arrays,
//! weakly typed scalar operands, and arrays back to Python scalars and lists.

use crate::array::PyArray;
use mlxr::ops::{Operand, Scalar};
use mlxr::{Array, Complex32, Dtype};
use pyo3::exceptions::{PyIndexError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyComplex, PyFloat, PyInt, PyList, PyTuple};
use pyo3::IntoPyObjectExt;
use std::cell::RefCell;

thread_local! {
    /// A Python exception raised inside a callback that a Rust transform called; it is
    /// re-raised unchanged once the transform returns.
    static PENDING: RefCell<Option<PyErr>> = const { RefCell::new(None) };
}

/// Keep a callback's Python exception and turn it into an mlxr error for the Rust caller.
pub fn stash(e: PyErr) -> mlxr::Error {
    let msg = e.to_string();
    PENDING.with(|p| *p.borrow_mut() = Some(e));
    mlxr::Error::InvalidArgument(msg)
}

/// The Python exception for an mlxr error (MLX's choice of exception class), or the
/// stashed exception of a Python callback.
pub fn to_pyerr(e: mlxr::Error) -> PyErr {
    if let Some(p) = PENDING.with(|p| p.borrow_mut().take()) {
        return p;
    }
    use mlxr::Error::*;
    match e {
        Shape(m) | InvalidArgument(m) | Dtype(m) => PyValueError::new_err(m),
        Index(m) => PyIndexError::new_err(m),
        Io(m) | Device(m) | Unsupported(m) => PyRuntimeError::new_err(m),
    }
}

/// `Result` from mlxr to `PyResult`.
pub trait IntoPyResult<T> {
    /// Map the error to its Python exception.
    fn py(self) -> PyResult<T>;
}
impl<T> IntoPyResult<T> for mlxr::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}

/// An array data type (`mx.float32`, ...), MLX's `mlx.core.Dtype`.
#[pyclass(name = "Dtype", module = "mlxr.core", frozen, eq)]
#[derive(Clone, Copy, PartialEq)]
pub struct PyDtype(pub Dtype);

#[pymethods]
impl PyDtype {
    /// Bytes per element.
    #[getter]
    fn size(&self) -> usize {
        self.0.size()
    }
    fn __repr__(&self) -> String {
        format!("mlx.core.{}", self.0.name())
    }
    fn __hash__(&self) -> u64 {
        self.0 as u64
    }
    /// The dtype's name (`"float32"`).
    #[getter]
    fn name(&self) -> &'static str {
        self.0.name()
    }
}

/// Every dtype, in MLX's order, with its module attribute name.
pub const ALL_DTYPES: [Dtype; 14] = [
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
    Dtype::Complex64,
];

/// The kind of a Python scalar, ordered by how it combines in a list.
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
enum Kind {
    Bool,
    Int,
    Float,
    Complex,
}

/// A leaf of a nested Python sequence.
enum Leaf {
    Bool(bool),
    Int(i64),
    Float(f64),
    Complex(Complex32),
    Array(Array),
}

fn leaf_kind(l: &Leaf) -> Kind {
    match l {
        Leaf::Bool(_) => Kind::Bool,
        Leaf::Int(_) => Kind::Int,
        Leaf::Float(_) => Kind::Float,
        Leaf::Complex(_) => Kind::Complex,
        Leaf::Array(_) => Kind::Bool,
    }
}

/// A Python scalar as an mlxr scalar (None if `obj` is not one).
pub fn py_scalar(obj: &Bound<PyAny>) -> PyResult<Option<Scalar>> {
    if obj.is_instance_of::<PyBool>() {
        return Ok(Some(Scalar::Bool(obj.extract()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        let v: i64 = obj.extract().map_err(|_| {
            PyValueError::new_err("Integer is too large to convert to an array (beyond int64)")
        })?;
        return Ok(Some(Scalar::Int(v)));
    }
    if obj.is_instance_of::<PyFloat>() {
        return Ok(Some(Scalar::Float(obj.extract()?)));
    }
    if obj.is_instance_of::<PyComplex>() {
        let c: num_complex::Complex<f64> = obj.extract()?;
        return Ok(Some(Scalar::Complex(Complex32::new(
            c.re as f32,
            c.im as f32,
        ))));
    }
    Ok(None)
}

fn scalar_leaf(s: Scalar) -> Leaf {
    match s {
        Scalar::Bool(v) => Leaf::Bool(v),
        Scalar::Int(v) => Leaf::Int(v),
        Scalar::Float(v) => Leaf::Float(v),
        Scalar::Complex(v) => Leaf::Complex(v),
    }
}

/// Walk a nested list/tuple: its shape and leaves, or a clear error for ragged input.
fn walk(
    obj: &Bound<PyAny>,
    depth: usize,
    shape: &mut Vec<usize>,
    leaves: &mut Vec<Leaf>,
) -> PyResult<()> {
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let n = obj.len()?;
        if shape.len() == depth {
            if !leaves.is_empty() {
                return Err(PyValueError::new_err(
                    "Initialization encountered non-uniform length.",
                ));
            }
            shape.push(n);
        } else if shape.len() < depth || shape[depth] != n {
            return Err(PyValueError::new_err(
                "Initialization encountered non-uniform length.",
            ));
        }
        for item in obj.try_iter()? {
            walk(&item?, depth + 1, shape, leaves)?;
        }
        return Ok(());
    }
    if shape.len() != depth {
        return Err(PyValueError::new_err(
            "Initialization encountered non-uniform length.",
        ));
    }
    if let Some(s) = py_scalar(obj)? {
        leaves.push(scalar_leaf(s));
    } else if let Ok(a) = obj.downcast::<PyArray>() {
        leaves.push(Leaf::Array(a.borrow().a.clone()));
    } else {
        leaves.push(Leaf::Array(numpy_to_array(obj)?));
    }
    Ok(())
}

/// An array from a nested Python list or tuple (MLX's rules: ints become int32, or int64
/// when a value does not fit; floats float32; bools bool; complex complex64).
fn from_sequence(obj: &Bound<PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    let mut shape = Vec::new();
    let mut leaves = Vec::new();
    walk(obj, 0, &mut shape, &mut leaves)?;
    if leaves.iter().any(|l| matches!(l, Leaf::Array(_))) {
        // A list of arrays: stack them (every leaf must be an array of one shape).
        let mut arrs = Vec::with_capacity(leaves.len());
        for l in leaves {
            arrs.push(match l {
                Leaf::Array(a) => a,
                Leaf::Bool(v) => Array::scalar(v),
                Leaf::Int(v) => Array::scalar(v as i32),
                Leaf::Float(v) => Array::scalar(v as f32),
                Leaf::Complex(v) => Array::scalar(v),
            });
        }
        let inner = arrs[0].shape().to_vec();
        if arrs.iter().any(|a| a.shape() != inner.as_slice()) {
            return Err(PyValueError::new_err(
                "Initialization encountered non-uniform length.",
            ));
        }
        let dt = arrs
            .iter()
            .skip(1)
            .fold(arrs[0].dtype(), |d, a| mlxr::promote_types(d, a.dtype()));
        let arrs: Vec<Array> = arrs
            .iter()
            .map(|a| mlxr::ops::astype(a, dt))
            .collect::<mlxr::Result<_>>()
            .py()?;
        let flat = mlxr::ops::stack(&arrs, 0).py()?;
        let mut full = shape.clone();
        full.extend_from_slice(&inner);
        let full: Vec<isize> = full.iter().map(|&d| d as isize).collect();
        let out = mlxr::ops::reshape(&flat, &full).py()?;
        return match dtype {
            Some(d) => mlxr::ops::astype(&out, d).py(),
            None => Ok(out),
        };
    }
    let kind = leaves
        .iter()
        .map(leaf_kind)
        .fold(Kind::Bool, |a, b| if b > a { b } else { a });
    let kind = if leaves.is_empty() { Kind::Float } else { kind };
    let arr = match kind {
        Kind::Bool => {
            let v: Vec<bool> = leaves
                .iter()
                .map(|l| matches!(l, Leaf::Bool(true)))
                .collect();
            Array::from_vec(v, &shape)
        }
        Kind::Int => {
            let v: Vec<i64> = leaves
                .iter()
                .map(|l| match l {
                    Leaf::Bool(b) => *b as i64,
                    Leaf::Int(i) => *i,
                    _ => 0,
                })
                .collect();
            if v.iter().all(|&x| i32::try_from(x).is_ok()) {
                Array::from_vec(v.into_iter().map(|x| x as i32).collect(), &shape)
            } else {
                Array::from_vec(v, &shape)
            }
        }
        Kind::Float => {
            let v: Vec<f32> = leaves
                .iter()
                .map(|l| match l {
                    Leaf::Bool(b) => *b as i32 as f32,
                    Leaf::Int(i) => *i as f32,
                    Leaf::Float(f) => *f as f32,
                    _ => 0.0,
                })
                .collect();
            Array::from_vec(v, &shape)
        }
        Kind::Complex => {
            let v: Vec<Complex32> = leaves
                .iter()
                .map(|l| match l {
                    Leaf::Bool(b) => Complex32::new(*b as i32 as f32, 0.0),
                    Leaf::Int(i) => Complex32::new(*i as f32, 0.0),
                    Leaf::Float(f) => Complex32::new(*f as f32, 0.0),
                    Leaf::Complex(c) => *c,
                    Leaf::Array(_) => Complex32::new(0.0, 0.0),
                })
                .collect();
            Array::from_vec(v, &shape)
        }
    }
    .py()?;
    // Floats given with a float64 target keep their full precision.
    if dtype == Some(Dtype::Float64) && kind == Kind::Float {
        let v: Vec<f64> = leaves
            .iter()
            .map(|l| match l {
                Leaf::Bool(b) => *b as i32 as f64,
                Leaf::Int(i) => *i as f64,
                Leaf::Float(f) => *f,
                _ => 0.0,
            })
            .collect();
        return Array::from_vec(v, &shape).py();
    }
    match dtype {
        Some(d) if d != arr.dtype() => mlxr::ops::astype(&arr, d).py(),
        _ => Ok(arr),
    }
}

/// The mlxr dtype of a NumPy dtype (`kind`, `itemsize`); float64 maps to itself here (the
/// caller applies MLX's float64 → float32 default).
fn numpy_dtype(kind: &str, size: usize) -> PyResult<Dtype> {
    Ok(match (kind, size) {
        ("b", 1) => Dtype::Bool,
        ("u", 1) => Dtype::Uint8,
        ("u", 2) => Dtype::Uint16,
        ("u", 4) => Dtype::Uint32,
        ("u", 8) => Dtype::Uint64,
        ("i", 1) => Dtype::Int8,
        ("i", 2) => Dtype::Int16,
        ("i", 4) => Dtype::Int32,
        ("i", 8) => Dtype::Int64,
        ("f", 2) => Dtype::Float16,
        ("f", 4) => Dtype::Float32,
        ("f", 8) => Dtype::Float64,
        ("c", 8) => Dtype::Complex64,
        ("c", 16) => Dtype::Complex64,
        _ => {
            return Err(PyTypeError::new_err(format!(
                "Cannot convert a NumPy array of kind '{kind}' and item size {size} to an array"
            )))
        }
    })
}

/// An array from anything NumPy can turn into an array (`__array__`, the buffer
/// protocol, NumPy scalars). NumPy float64 becomes float32, as in MLX.
fn numpy_to_array(obj: &Bound<PyAny>) -> PyResult<Array> {
    numpy_to_array_dtype(obj, None)
}

fn numpy_to_array_dtype(obj: &Bound<PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    let py = obj.py();
    let np = py.import("numpy").map_err(|_| {
        PyTypeError::new_err(format!(
            "Cannot convert an object of type {} to an array",
            obj.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })?;
    // `ascontiguousarray` makes 0-d inputs (NumPy scalars, `np.array(2.5)`) 1-d, so the
    // shape is read from `asarray`.
    let arr = np.call_method1("asarray", (obj,))?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    let x = np.call_method1("ascontiguousarray", (&arr,))?;
    let dt = x.getattr("dtype")?;
    let kind: String = dt.getattr("kind")?.extract()?;
    if kind == "O" || kind == "U" || kind == "S" {
        return Err(PyTypeError::new_err(format!(
            "Cannot convert an object of type {} to an array",
            obj.get_type().name()?
        )));
    }
    let size: usize = dt.getattr("itemsize")?.extract()?;
    let src = numpy_dtype(&kind, size)?;
    let (x, src) = if kind == "c" && size == 16 {
        (x.call_method1("astype", ("complex64",))?, Dtype::Complex64)
    } else {
        (x, src)
    };
    // Native byte order.
    let x = if dt.getattr("isnative")?.extract::<bool>()? {
        x
    } else {
        x.call_method1("astype", (dt.call_method1("newbyteorder", ("=",))?,))?
    };
    let bytes: Vec<u8> = x.call_method0("tobytes")?.extract()?;
    let a = Array::from_bytes(&bytes, &shape, src).py()?;
    let target = dtype.unwrap_or(if src == Dtype::Float64 {
        Dtype::Float32
    } else {
        src
    });
    if target != src {
        mlxr::ops::astype(&a, target).py()
    } else {
        Ok(a)
    }
}

/// An array from any array-like Python object (MLX's `mx.array(obj, dtype)`).
pub fn to_array(obj: &Bound<PyAny>, dtype: Option<Dtype>) -> PyResult<Array> {
    if let Ok(a) = obj.downcast::<PyArray>() {
        let a = a.borrow().a.clone();
        return match dtype {
            Some(d) if d != a.dtype() => mlxr::ops::astype(&a, d).py(),
            _ => Ok(a),
        };
    }
    if let Some(s) = py_scalar(obj)? {
        let d = dtype.unwrap_or(match s {
            Scalar::Int(v) if i32::try_from(v).is_err() => Dtype::Int64,
            _ => s.default_dtype(),
        });
        return Ok(s.to_array(d));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        return from_sequence(obj, dtype);
    }
    numpy_to_array_dtype(obj, dtype)
}

/// An op argument: arrays stay arrays, Python scalars become weakly typed scalars.
pub fn to_operand(obj: &Bound<PyAny>) -> PyResult<Operand> {
    if let Ok(a) = obj.downcast::<PyArray>() {
        return Ok(Operand::Array(a.borrow().a.clone()));
    }
    if let Some(s) = py_scalar(obj)? {
        return Ok(Operand::Scalar(s));
    }
    Ok(Operand::Array(to_array(obj, None)?))
}

/// An array-like argument (converted with [`to_array`]).
pub struct ArrayLike(pub Array);
impl<'py> FromPyObject<'py> for ArrayLike {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        to_array(ob, None).map(ArrayLike)
    }
}

/// An operand argument (scalars weakly typed, see [`to_operand`]).
pub struct Opnd(pub Operand);
impl<'py> FromPyObject<'py> for Opnd {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        to_operand(ob).map(Opnd)
    }
}

/// `axis` arguments: None, an int or a sequence of ints.
pub struct Axes(pub Option<Vec<isize>>);
impl<'py> FromPyObject<'py> for Axes {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if ob.is_none() {
            return Ok(Axes(None));
        }
        if let Ok(i) = ob.extract::<isize>() {
            return Ok(Axes(Some(vec![i])));
        }
        Ok(Axes(Some(ob.extract::<Vec<isize>>()?)))
    }
}

/// Shape arguments: an int or a sequence of ints.
pub struct Shape(pub Vec<usize>);
impl<'py> FromPyObject<'py> for Shape {
    fn extract_bound(ob: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(i) = ob.extract::<i64>() {
            return usize::try_from(i)
                .map(|u| Shape(vec![u]))
                .map_err(|_| PyValueError::new_err(format!("Negative dimension {i} in shape")));
        }
        let v: Vec<i64> = ob.extract()?;
        v.iter()
            .map(|&i| {
                usize::try_from(i)
                    .map_err(|_| PyValueError::new_err(format!("Negative dimension {i} in shape")))
            })
            .collect::<PyResult<Vec<usize>>>()
            .map(Shape)
    }
}

/// A Python scalar holding element `i` of a flat vector of `T`.
fn elements(py: Python<'_>, a: &Array) -> PyResult<Vec<PyObject>> {
    macro_rules! conv {
        ($t:ty, $f:expr) => {{
            let v = a.to_vec::<$t>().py()?;
            v.into_iter()
                .map(|x| $f(x).into_py_any(py))
                .collect::<PyResult<Vec<_>>>()?
        }};
    }
    Ok(match a.dtype() {
        Dtype::Bool => {
            let v = a.to_vec::<bool>().py()?;
            v.into_iter()
                .map(|x| PyBool::new(py, x).to_owned().into_any().unbind())
                .collect()
        }
        Dtype::Uint8 => conv!(u8, |x| x),
        Dtype::Uint16 => conv!(u16, |x| x),
        Dtype::Uint32 => conv!(u32, |x| x),
        Dtype::Uint64 => conv!(u64, |x| x),
        Dtype::Int8 => conv!(i8, |x| x),
        Dtype::Int16 => conv!(i16, |x| x),
        Dtype::Int32 => conv!(i32, |x| x),
        Dtype::Int64 => conv!(i64, |x| x),
        Dtype::Float16 => conv!(mlxr::f16, |x: mlxr::f16| x.to_f64()),
        Dtype::Bfloat16 => conv!(mlxr::bf16, |x: mlxr::bf16| x.to_f64()),
        Dtype::Float32 => conv!(f32, |x: f32| x as f64),
        Dtype::Float64 => conv!(f64, |x| x),
        Dtype::Complex64 => conv!(Complex32, |x: Complex32| num_complex::Complex::<f64>::new(
            x.re as f64,
            x.im as f64
        )),
    })
}

/// MLX's `a.item()`: the Python scalar of a one-element array.
pub fn item(py: Python<'_>, a: &Array) -> PyResult<PyObject> {
    if a.size() != 1 {
        return Err(PyValueError::new_err(
            "item can only be called on arrays of size 1.",
        ));
    }
    Ok(elements(py, a)?.pop().expect("one element"))
}

/// MLX's `a.tolist()`: nested lists of Python scalars (a scalar for 0-d arrays).
pub fn tolist(py: Python<'_>, a: &Array) -> PyResult<PyObject> {
    let flat = elements(py, a)?;
    if a.ndim() == 0 {
        return Ok(flat.into_iter().next().expect("one element"));
    }
    fn nest(py: Python<'_>, flat: &[PyObject], shape: &[usize]) -> PyResult<PyObject> {
        if shape.len() == 1 {
            return Ok(PyList::new(py, flat.iter().map(|o| o.clone_ref(py)))?
                .into_any()
                .unbind());
        }
        let step: usize = shape[1..].iter().product();
        let mut items = Vec::with_capacity(shape[0]);
        for i in 0..shape[0] {
            items.push(nest(py, &flat[i * step..(i + 1) * step], &shape[1..])?);
        }
        Ok(PyList::new(py, items)?.into_any().unbind())
    }
    nest(py, &flat, a.shape())
}

/// The NumPy dtype name of an mlxr dtype (bfloat16 has none: it converts through float32).
pub fn numpy_name(d: Dtype) -> &'static str {
    match d {
        Dtype::Bfloat16 => "float32",
        d => d.name(),
    }
}
