//! The op functions of `mlxr.core` with MLX's Python signatures (positional-only arrays,
//! `axis`/`keepdims` keywords, a keyword-only `stream`). Each converts its arguments
//! (array-likes, weakly typed scalars, axes, shapes) and calls the mlxr op on the stream.

use crate::array::PyArray;
use crate::convert::{to_array, ArrayLike, Axes, IntoPyResult, Opnd, PyDtype, Shape};
use crate::device::on;
use mlxr::ops::{self, PadMode};
use mlxr::{Array, Dtype};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

type S<'a> = Option<&'a Bound<'a, PyAny>>;

fn out(r: PyResult<Array>) -> PyResult<PyArray> {
    r.map(PyArray::from)
}

fn ax(a: Option<Axes>) -> Option<Vec<isize>> {
    a.and_then(|a| a.0)
}

fn list(v: Vec<Array>) -> Vec<PyArray> {
    v.into_iter().map(PyArray::from).collect()
}

macro_rules! unary {
    ($reg:ident: $($name:ident => $f:path),* $(,)?) => {
        $(
            #[doc = concat!("Elementwise `", stringify!($name), "`.")]
            #[pyfunction]
            #[pyo3(signature = (a, /, *, stream=None))]
            fn $name(a: ArrayLike, stream: S) -> PyResult<PyArray> {
                out(on(stream, || $f(&a.0)))
            }
        )*
        fn $reg(m: &Bound<PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

unary!(reg_unary:
    abs => ops::abs, arccos => ops::arccos, arccosh => ops::arccosh, arcsin => ops::arcsin,
    arcsinh => ops::arcsinh, arctan => ops::arctan, arctanh => ops::arctanh,
    ceil => ops::ceil, conj => ops::conj, conjugate => ops::conjugate, cos => ops::cos,
    cosh => ops::cosh, degrees => ops::degrees, erf => ops::erf, erfinv => ops::erfinv,
    exp => ops::exp, expm1 => ops::expm1, floor => ops::floor, imag => ops::imag,
    isfinite => ops::isfinite, isinf => ops::isinf, isnan => ops::isnan,
    isneginf => ops::isneginf, isposinf => ops::isposinf, log => ops::log,
    log10 => ops::log10, log1p => ops::log1p, log2 => ops::log2,
    logical_not => ops::logical_not, negative => ops::negative, radians => ops::radians,
    real => ops::real, reciprocal => ops::reciprocal, rsqrt => ops::rsqrt,
    sigmoid => ops::sigmoid, sign => ops::sign, sin => ops::sin, sinh => ops::sinh,
    sqrt => ops::sqrt, square => ops::square, tan => ops::tan, tanh => ops::tanh,
    stop_gradient => ops::stop_gradient, bitwise_invert => ops::bitwise_invert,
    matrix_transpose => matrix_transpose_impl,
);

fn matrix_transpose_impl(a: &Array) -> mlxr::Result<Array> {
    if a.ndim() < 2 {
        return ops::transpose(a);
    }
    ops::swapaxes(a, -1, -2)
}

macro_rules! binary {
    ($reg:ident: $($name:ident => $f:path),* $(,)?) => {
        $(
            #[doc = concat!("Elementwise `", stringify!($name), "` with broadcasting.")]
            #[pyfunction]
            #[pyo3(signature = (a, b, /, *, stream=None))]
            fn $name(a: Opnd, b: Opnd, stream: S) -> PyResult<PyArray> {
                out(on(stream, || $f(a.0, b.0)))
            }
        )*
        fn $reg(m: &Bound<PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

binary!(reg_binary:
    add => ops::add, subtract => ops::subtract, multiply => ops::multiply,
    divide => ops::divide, floor_divide => ops::floor_divide, remainder => ops::remainder,
    power => ops::power, maximum => ops::maximum, minimum => ops::minimum,
    arctan2 => ops::arctan2, logaddexp => ops::logaddexp, equal => ops::equal,
    not_equal => ops::not_equal, less => ops::less, less_equal => ops::less_equal,
    greater => ops::greater, greater_equal => ops::greater_equal,
    bitwise_and => ops::bitwise_and, bitwise_or => ops::bitwise_or,
    bitwise_xor => ops::bitwise_xor, left_shift => ops::left_shift,
    right_shift => ops::right_shift, logical_and => ops::logical_and,
    logical_or => ops::logical_or, logical_xor => ops::logical_xor,
);

macro_rules! reduce {
    ($reg:ident: $($name:ident => $f:path),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($name), "` over `axis` (all axes when None).")]
            #[pyfunction]
            #[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
            fn $name(a: ArrayLike, axis: Option<Axes>, keepdims: bool, stream: S) -> PyResult<PyArray> {
                out(on(stream, || $f(&a.0, ax(axis).as_deref(), keepdims)))
            }
        )*
        fn $reg(m: &Bound<PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

reduce!(reg_reduce:
    sum => ops::sum, prod => ops::prod, max => ops::max, min => ops::min, all => ops::all,
    any => ops::any, logsumexp => ops::logsumexp, mean => ops::mean, median => ops::median,
);

/// The number of non-zero elements over `axis`.
#[pyfunction]
#[pyo3(signature = (a, /, *, axis=None, keepdims=false, stream=None))]
fn count_nonzero(a: ArrayLike, axis: Option<Axes>, keepdims: bool, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::count_nonzero(&a.0, ax(axis).as_deref(), keepdims)
    }))
}

/// Variance over `axis`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, ddof=0, *, stream=None))]
fn var(
    a: ArrayLike,
    axis: Option<Axes>,
    keepdims: bool,
    ddof: i32,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::var(&a.0, ax(axis).as_deref(), keepdims, ddof)
    }))
}

/// Standard deviation over `axis`.
#[pyfunction]
#[pyo3(name = "std", signature = (a, /, axis=None, keepdims=false, ddof=0, *, stream=None))]
fn std_(
    a: ArrayLike,
    axis: Option<Axes>,
    keepdims: bool,
    ddof: i32,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::std(&a.0, ax(axis).as_deref(), keepdims, ddof)
    }))
}

/// Index of the largest element along `axis` (flattened when None).
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
fn argmax(a: ArrayLike, axis: Option<isize>, keepdims: bool, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::argmax(&a.0, axis, keepdims)))
}

/// Index of the smallest element along `axis` (flattened when None).
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, keepdims=false, *, stream=None))]
fn argmin(a: ArrayLike, axis: Option<isize>, keepdims: bool, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::argmin(&a.0, axis, keepdims)))
}

/// Cumulative sum.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, reverse=false, inclusive=true, dtype=None, stream=None))]
fn cumsum(
    a: ArrayLike,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || match dtype {
        Some(d) => ops::cumsum_dtype(&a.0, axis, reverse, inclusive, d.0),
        None => ops::cumsum(&a.0, axis, reverse, inclusive),
    }))
}

/// Cumulative product.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, reverse=false, inclusive=true, dtype=None, stream=None))]
fn cumprod(
    a: ArrayLike,
    axis: Option<isize>,
    reverse: bool,
    inclusive: bool,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || match dtype {
        Some(d) => ops::cumprod_dtype(&a.0, axis, reverse, inclusive, d.0),
        None => ops::cumprod(&a.0, axis, reverse, inclusive),
    }))
}

macro_rules! scan {
    ($reg:ident: $($name:ident => $f:path),* $(,)?) => {
        $(
            #[doc = concat!("Cumulative `", stringify!($name), "`.")]
            #[pyfunction]
            #[pyo3(signature = (a, /, axis=None, *, reverse=false, inclusive=true, stream=None))]
            fn $name(a: ArrayLike, axis: Option<isize>, reverse: bool, inclusive: bool, stream: S) -> PyResult<PyArray> {
                out(on(stream, || $f(&a.0, axis, reverse, inclusive)))
            }
        )*
        fn $reg(m: &Bound<PyModule>) -> PyResult<()> {
            $(m.add_function(wrap_pyfunction!($name, m)?)?;)*
            Ok(())
        }
    };
}

scan!(reg_scan: cummax => ops::cummax, cummin => ops::cummin, logcumsumexp => ops::logcumsumexp);

/// Convert to `dtype`.
#[pyfunction]
#[pyo3(signature = (a, dtype, /, *, stream=None))]
fn astype(a: ArrayLike, dtype: PyDtype, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::astype(&a.0, dtype.0)))
}

/// Reinterpret the bytes as `dtype`.
#[pyfunction]
#[pyo3(signature = (a, dtype, /, *, stream=None))]
fn view(a: ArrayLike, dtype: PyDtype, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::view(&a.0, dtype.0)))
}

/// A new shape (one dimension may be -1).
#[pyfunction]
#[pyo3(signature = (a, /, shape, *, stream=None))]
fn reshape(a: ArrayLike, shape: Axes, stream: S) -> PyResult<PyArray> {
    let shape = shape.0.unwrap_or_default();
    out(on(stream, || ops::reshape(&a.0, &shape)))
}

/// Permute the axes (reverse them when None).
#[pyfunction]
#[pyo3(signature = (a, /, axes=None, *, stream=None))]
fn transpose(a: ArrayLike, axes: Option<Axes>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || match &ax(axes) {
        None => ops::transpose(&a.0),
        Some(ax) => ops::transpose_axes(&a.0, ax),
    }))
}

/// Permute the axes (the Array API name of `transpose`).
#[pyfunction]
#[pyo3(signature = (a, /, axes=None, *, stream=None))]
fn permute_dims(a: ArrayLike, axes: Option<Axes>, stream: S) -> PyResult<PyArray> {
    transpose(a, axes, stream)
}

/// Broadcast to `shape`.
#[pyfunction]
#[pyo3(signature = (a, /, shape, *, stream=None))]
fn broadcast_to(a: ArrayLike, shape: Shape, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::broadcast_to(&a.0, &shape.0)))
}

/// Broadcast arrays against each other.
#[pyfunction]
#[pyo3(signature = (*arrays, stream=None))]
fn broadcast_arrays(arrays: Vec<ArrayLike>, stream: S) -> PyResult<Vec<PyArray>> {
    let v: Vec<Array> = arrays.into_iter().map(|a| a.0).collect();
    on(stream, || ops::broadcast_arrays(&v)).map(list)
}

/// The broadcast of several shapes.
#[pyfunction]
#[pyo3(signature = (*shapes))]
fn broadcast_shapes(py: Python<'_>, shapes: Vec<Shape>) -> PyResult<Py<PyTuple>> {
    if shapes.is_empty() {
        return Err(PyValueError::new_err(
            "[broadcast_shapes] No input shapes provided.",
        ));
    }
    let mut s = shapes[0].0.clone();
    for t in &shapes[1..] {
        s = ops::broadcast_shapes(&s, &t.0, "broadcast_shapes").py()?;
    }
    Ok(PyTuple::new(py, s)?.unbind())
}

/// A row-contiguous copy when needed.
#[pyfunction]
#[pyo3(signature = (a, /, allow_col_major=false, *, stream=None))]
fn contiguous(a: ArrayLike, allow_col_major: bool, stream: S) -> PyResult<PyArray> {
    let _ = allow_col_major;
    out(on(stream, || ops::contiguous(&a.0)))
}

/// Insert axes of size 1.
#[pyfunction]
#[pyo3(signature = (a, /, axis, *, stream=None))]
fn expand_dims(a: ArrayLike, axis: Axes, stream: S) -> PyResult<PyArray> {
    let ax = axis.0.unwrap_or_default();
    out(on(stream, || ops::expand_dims(&a.0, &ax)))
}

/// Remove axes of size 1.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, stream=None))]
fn squeeze(a: ArrayLike, axis: Option<Axes>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::squeeze(&a.0, ax(axis).as_deref())))
}

/// Flatten axes `start_axis..=end_axis`.
#[pyfunction]
#[pyo3(signature = (a, /, start_axis=0, end_axis=-1, *, stream=None))]
fn flatten(a: ArrayLike, start_axis: isize, end_axis: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::flatten(&a.0, start_axis, end_axis)))
}

/// Split `axis` into `shape`.
#[pyfunction]
#[pyo3(signature = (a, /, axis, shape, *, stream=None))]
fn unflatten(a: ArrayLike, axis: isize, shape: Vec<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::unflatten(&a.0, axis, &shape)))
}

/// Swap two axes.
#[pyfunction]
#[pyo3(signature = (a, /, axis1, axis2, *, stream=None))]
fn swapaxes(a: ArrayLike, axis1: isize, axis2: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::swapaxes(&a.0, axis1, axis2)))
}

/// Move an axis.
#[pyfunction]
#[pyo3(signature = (a, /, source, destination, *, stream=None))]
fn moveaxis(a: ArrayLike, source: isize, destination: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::moveaxis(&a.0, source, destination)))
}

fn arrays(v: Vec<ArrayLike>) -> Vec<Array> {
    v.into_iter().map(|a| a.0).collect()
}

/// Join arrays along an axis (flattened first when `axis` is None).
#[pyfunction]
#[pyo3(signature = (arrays, axis=0, *, stream=None))]
fn concatenate(arrays: Vec<ArrayLike>, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    let v = self::arrays(arrays);
    out(on(stream, || match axis {
        Some(ax) => ops::concatenate(&v, ax),
        None => {
            let flat: Vec<Array> = v
                .iter()
                .map(|a| ops::reshape(a, &[-1]))
                .collect::<mlxr::Result<_>>()?;
            ops::concatenate(&flat, 0)
        }
    }))
}

/// Alias of `concatenate`.
#[pyfunction]
#[pyo3(signature = (arrays, axis=0, *, stream=None))]
fn concat(arrays: Vec<ArrayLike>, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    concatenate(arrays, axis, stream)
}

/// Stack arrays along a new axis.
#[pyfunction]
#[pyo3(signature = (arrays, axis=0, *, stream=None))]
fn stack(arrays: Vec<ArrayLike>, axis: isize, stream: S) -> PyResult<PyArray> {
    let v = self::arrays(arrays);
    out(on(stream, || ops::stack(&v, axis)))
}

/// Split into equal sections or at indices.
#[pyfunction]
#[pyo3(signature = (a, /, indices_or_sections, axis=0, *, stream=None))]
fn split(
    a: ArrayLike,
    indices_or_sections: &Bound<PyAny>,
    axis: isize,
    stream: S,
) -> PyResult<Vec<PyArray>> {
    if let Ok(n) = indices_or_sections.extract::<usize>() {
        on(stream, || ops::split_sections(&a.0, n, axis)).map(list)
    } else {
        let idx: Vec<isize> = indices_or_sections.extract()?;
        on(stream, || ops::split_indices(&a.0, &idx, axis)).map(list)
    }
}

/// Split along an axis into its slices.
#[pyfunction]
#[pyo3(signature = (x, /, *, axis=0, stream=None))]
fn unstack(x: ArrayLike, axis: isize, stream: S) -> PyResult<Vec<PyArray>> {
    on(stream, || ops::unstack(&x.0, axis)).map(list)
}

/// Repeat the array `reps` times along each axis.
#[pyfunction]
#[pyo3(signature = (a, reps, /, *, stream=None))]
fn tile(a: ArrayLike, reps: Shape, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::tile(&a.0, &reps.0)))
}

/// Repeat each element.
#[pyfunction]
#[pyo3(signature = (array, repeats, axis=None, *, stream=None))]
fn repeat(array: ArrayLike, repeats: usize, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::repeat(&array.0, repeats, axis)))
}

/// Pad with a constant or the edges.
#[pyfunction]
#[pyo3(signature = (a, pad_width, mode="constant", constant_values=None, *, stream=None))]
fn pad(
    a: ArrayLike,
    pad_width: &Bound<PyAny>,
    mode: &str,
    constant_values: Option<Opnd>,
    stream: S,
) -> PyResult<PyArray> {
    let widths: Vec<(usize, usize)> = if let Ok(n) = pad_width.extract::<usize>() {
        vec![(n, n)]
    } else if let Ok(v) = pad_width.extract::<Vec<(usize, usize)>>() {
        v
    } else if let Ok(v) = pad_width.extract::<(usize, usize)>() {
        vec![v]
    } else if let Ok(v) = pad_width.extract::<Vec<usize>>() {
        match v.as_slice() {
            [n] => vec![(*n, *n)],
            [l, r] => vec![(*l, *r)],
            _ => return Err(PyValueError::new_err("[pad] Invalid pad_width.")),
        }
    } else {
        return Err(PyValueError::new_err("[pad] Invalid pad_width."));
    };
    let mode = match mode {
        "constant" => PadMode::Constant,
        "edge" => PadMode::Edge,
        "reflect" => PadMode::Reflect,
        "symmetric" => PadMode::Symmetric,
        m => {
            return Err(PyValueError::new_err(format!(
                "[pad] Invalid pad mode {m}; use constant, edge, reflect or symmetric"
            )))
        }
    };
    let cv = constant_values
        .map(|c| c.0)
        .unwrap_or(ops::Operand::Scalar(ops::Scalar::Int(0)));
    out(on(stream, || ops::pad(&a.0, &widths, mode, cv)))
}

/// Roll elements along axes.
#[pyfunction]
#[pyo3(signature = (a, shift, axis=None, *, stream=None))]
fn roll(a: ArrayLike, shift: Axes, axis: Option<Axes>, stream: S) -> PyResult<PyArray> {
    let shift = shift.0.unwrap_or_default();
    out(on(stream, || ops::roll(&a.0, &shift, ax(axis).as_deref())))
}

/// Diagonals of a matrix.
#[pyfunction]
#[pyo3(signature = (a, offset=0, axis1=0, axis2=1, stream=None))]
fn diagonal(
    a: ArrayLike,
    offset: isize,
    axis1: isize,
    axis2: isize,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || ops::diagonal(&a.0, offset, axis1, axis2)))
}

/// Extract a diagonal or build a diagonal matrix.
#[pyfunction]
#[pyo3(signature = (a, /, k=0, *, stream=None))]
fn diag(a: ArrayLike, k: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::diag(&a.0, k)))
}

/// Sum along a diagonal.
#[pyfunction]
#[pyo3(signature = (a, /, offset=0, axis1=0, axis2=1, dtype=None, *, stream=None))]
fn trace(
    a: ArrayLike,
    offset: isize,
    axis1: isize,
    axis2: isize,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::trace(&a.0, offset, axis1, axis2, dtype.map(|d| d.0))
    }))
}

macro_rules! atleast {
    ($name:ident, $f:path) => {
        /// At least this many dimensions (one array gives an array, several a list).
        #[pyfunction]
        #[pyo3(signature = (*arys, stream=None))]
        fn $name(py: Python<'_>, arys: Vec<ArrayLike>, stream: S) -> PyResult<PyObject> {
            let mut v = Vec::with_capacity(arys.len());
            for a in &arys {
                v.push(PyArray::from(on(stream, || $f(&a.0))?));
            }
            if v.len() == 1 {
                Ok(Py::new(py, v.pop().expect("one"))?.into_any())
            } else {
                Ok(PyList::new(py, v)?.into_any().unbind())
            }
        }
    };
}
atleast!(atleast_1d, ops::atleast_1d);
atleast!(atleast_2d, ops::atleast_2d);
atleast!(atleast_3d, ops::atleast_3d);

/// A strided view of the data.
#[pyfunction]
#[pyo3(signature = (a, /, shape=None, strides=None, offset=0, *, stream=None))]
fn as_strided(
    a: ArrayLike,
    shape: Option<Shape>,
    strides: Option<Vec<isize>>,
    offset: usize,
    stream: S,
) -> PyResult<PyArray> {
    let shape = shape.map(|s| s.0).unwrap_or_else(|| a.0.shape().to_vec());
    let strides = strides.unwrap_or_else(|| mlxr::array::row_strides(&shape));
    out(on(stream, || {
        ops::as_strided(&a.0, &shape, &strides, offset)
    }))
}

/// Reverse the order along axes.
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, stream=None))]
fn flip(a: ArrayLike, axis: Option<Axes>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::flip(&a.0, ax(axis).as_deref())))
}

/// Softmax over `axis` (all axes when None).
#[pyfunction]
#[pyo3(signature = (a, /, axis=None, *, precise=false, stream=None))]
fn softmax(a: ArrayLike, axis: Option<Axes>, precise: bool, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::softmax(&a.0, ax(axis).as_deref(), precise)
    }))
}

/// Sort along `axis` (flattened when None).
#[pyfunction]
#[pyo3(signature = (a, /, axis=-1, *, stream=None))]
fn sort(a: ArrayLike, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::sort(&a.0, axis)))
}

/// Indices that sort along `axis`.
#[pyfunction]
#[pyo3(signature = (a, /, axis=-1, *, stream=None))]
fn argsort(a: ArrayLike, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::argsort(&a.0, axis)))
}

/// Partition around the `kth` element.
#[pyfunction]
#[pyo3(signature = (a, /, kth, axis=-1, *, stream=None))]
fn partition(a: ArrayLike, kth: isize, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::partition(&a.0, kth, axis)))
}

/// Indices that partition around the `kth` element.
#[pyfunction]
#[pyo3(signature = (a, /, kth, axis=-1, *, stream=None))]
fn argpartition(a: ArrayLike, kth: isize, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::argpartition(&a.0, kth, axis)))
}

/// The `k` largest elements along `axis` (unordered).
#[pyfunction]
#[pyo3(signature = (a, /, k, axis=-1, *, stream=None))]
fn topk(a: ArrayLike, k: usize, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::topk(&a.0, k, axis)))
}

/// Insertion points of `values` in a sorted sequence.
#[pyfunction]
#[pyo3(signature = (sorted_sequence, values, /, side="left", *, stream=None))]
fn searchsorted(
    sorted_sequence: ArrayLike,
    values: ArrayLike,
    side: &str,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::searchsorted(&sorted_sequence.0, &values.0, side)
    }))
}

/// `x` where `condition`, else `y`.
#[pyfunction]
#[pyo3(name = "where", signature = (condition, x, y, /, *, stream=None))]
fn where_(condition: Opnd, x: Opnd, y: Opnd, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::where_(condition.0, x.0, y.0)))
}

/// Clip to `[a_min, a_max]`.
#[pyfunction]
#[pyo3(signature = (a, /, a_min, a_max, *, stream=None))]
fn clip(a: ArrayLike, a_min: Option<Opnd>, a_max: Option<Opnd>, stream: S) -> PyResult<PyArray> {
    if a_min.is_none() && a_max.is_none() {
        return Err(PyValueError::new_err(
            "At most one of a_min and a_max may be None",
        ));
    }
    out(on(stream, || {
        ops::clip(&a.0, a_min.map(|x| x.0), a_max.map(|x| x.0))
    }))
}

/// Elementwise closeness.
#[pyfunction]
#[pyo3(signature = (a, b, /, rtol=1e-5, atol=1e-8, *, equal_nan=false, stream=None))]
fn isclose(
    a: Opnd,
    b: Opnd,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || ops::isclose(a.0, b.0, rtol, atol, equal_nan)))
}

/// Whether all elements are close.
#[pyfunction]
#[pyo3(signature = (a, b, /, rtol=1e-5, atol=1e-8, *, equal_nan=false, stream=None))]
fn allclose(
    a: Opnd,
    b: Opnd,
    rtol: f64,
    atol: f64,
    equal_nan: bool,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::allclose(a.0, b.0, rtol, atol, equal_nan)
    }))
}

/// Whether two arrays have equal shapes and values.
#[pyfunction]
#[pyo3(signature = (a, b, equal_nan=false, stream=None))]
fn array_equal(a: ArrayLike, b: ArrayLike, equal_nan: bool, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::array_equal(&a.0, &b.0, equal_nan)))
}

/// Round to `decimals`.
#[pyfunction]
#[pyo3(signature = (a, /, decimals=0, stream=None))]
fn round(a: ArrayLike, decimals: i32, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::round(&a.0, decimals)))
}

/// Replace NaN and infinities.
#[pyfunction]
#[pyo3(signature = (a, nan=0.0, posinf=None, neginf=None, *, stream=None))]
fn nan_to_num(
    a: ArrayLike,
    nan: f64,
    posinf: Option<f64>,
    neginf: Option<f64>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || ops::nan_to_num(&a.0, nan, posinf, neginf)))
}

/// Quotient and remainder.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn divmod(a: Opnd, b: Opnd, stream: S) -> PyResult<(PyArray, PyArray)> {
    let (q, r) = on(stream, || ops::divmod(a.0, b.0))?;
    Ok((q.into(), r.into()))
}

/// Matrix product.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn matmul(a: ArrayLike, b: ArrayLike, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::matmul(&a.0, &b.0)))
}

/// `alpha * (a @ b) + beta * c`.
#[pyfunction]
#[pyo3(signature = (c, a, b, /, alpha=1.0, beta=1.0, *, stream=None))]
fn addmm(
    c: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    alpha: f32,
    beta: f32,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || ops::addmm(&c.0, &a.0, &b.0, alpha, beta)))
}

/// Tensor contraction over `axes`.
#[pyfunction]
#[pyo3(signature = (a, b, /, axes=None, *, stream=None))]
fn tensordot(
    a: ArrayLike,
    b: ArrayLike,
    axes: Option<&Bound<PyAny>>,
    stream: S,
) -> PyResult<PyArray> {
    match axes {
        None => out(on(stream, || ops::tensordot(&a.0, &b.0, 2))),
        Some(x) => {
            if let Ok(n) = x.extract::<usize>() {
                out(on(stream, || ops::tensordot(&a.0, &b.0, n)))
            } else {
                let (l, r): (Axes, Axes) = x.extract()?;
                let (l, r) = (l.0.unwrap_or_default(), r.0.unwrap_or_default());
                out(on(stream, || ops::tensordot_axes(&a.0, &b.0, &l, &r)))
            }
        }
    }
}

/// Inner product over the last axes.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn inner(a: ArrayLike, b: ArrayLike, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::inner(&a.0, &b.0)))
}

/// Outer product of the flattened inputs.
#[pyfunction]
#[pyo3(signature = (a, b, /, *, stream=None))]
fn outer(a: ArrayLike, b: ArrayLike, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::outer(&a.0, &b.0)))
}

/// Kronecker product.
#[pyfunction]
#[pyo3(signature = (a, b, *, stream=None))]
fn kron(a: ArrayLike, b: ArrayLike, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::kron(&a.0, &b.0)))
}

/// Einstein summation.
#[pyfunction]
#[pyo3(signature = (subscripts, *operands, stream=None))]
fn einsum(subscripts: &str, operands: Vec<ArrayLike>, stream: S) -> PyResult<PyArray> {
    let v = arrays(operands);
    out(on(stream, || ops::einsum(subscripts, &v)))
}

/// The contraction path of an einsum and its description.
#[pyfunction]
#[pyo3(signature = (subscripts, *operands))]
fn einsum_path(subscripts: &str, operands: Vec<ArrayLike>) -> PyResult<(Vec<Vec<usize>>, String)> {
    let v = arrays(operands);
    ops::einsum_path(subscripts, &v).py()
}

/// Discrete linear convolution of 1-d arrays.
#[pyfunction]
#[pyo3(signature = (a, v, /, mode="full", *, stream=None))]
fn convolve(a: ArrayLike, v: ArrayLike, mode: &str, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::convolve(&a.0, &v.0, mode)))
}

/// n-th discrete difference.
#[pyfunction]
#[pyo3(signature = (a, /, n=1, axis=-1, *, stream=None))]
fn diff(a: ArrayLike, n: usize, axis: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::diff(&a.0, n, axis)))
}

/// Elements at `indices` along `axis` (flattened when None).
#[pyfunction]
#[pyo3(signature = (a, /, indices, axis=None, *, stream=None))]
fn take(a: ArrayLike, indices: &Bound<PyAny>, axis: Option<isize>, stream: S) -> PyResult<PyArray> {
    if indices.downcast::<PyArray>().is_err() {
        if let Ok(i) = indices.extract::<i64>() {
            return out(on(stream, || ops::take_index(&a.0, i, axis)));
        }
    }
    let idx = to_array(indices, None)?;
    out(on(stream, || ops::take(&a.0, &idx, axis)))
}

/// Elements at `indices` along `axis`, matching shapes.
#[pyfunction]
#[pyo3(signature = (a, /, indices, axis=-1, *, stream=None))]
fn take_along_axis(
    a: ArrayLike,
    indices: ArrayLike,
    axis: Option<isize>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || ops::take_along_axis(&a.0, &indices.0, axis)))
}

/// Write `values` at `indices` along `axis`.
#[pyfunction]
#[pyo3(signature = (a, /, indices, values, axis=None, *, stream=None))]
fn put_along_axis(
    a: ArrayLike,
    indices: ArrayLike,
    values: Opnd,
    axis: Option<isize>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::put_along_axis(&a.0, &indices.0, values.0, axis)
    }))
}

/// A slice of size `slice_size` starting at the (array) `start_indices` along `axes`.
#[pyfunction]
#[pyo3(signature = (a, start_indices, axes, slice_size, *, stream=None))]
fn slice(
    a: ArrayLike,
    start_indices: ArrayLike,
    axes: Vec<isize>,
    slice_size: Shape,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::slice_dynamic(&a.0, &start_indices.0, &axes, &slice_size.0)
    }))
}

/// Write `update` at the (array) `start_indices` along `axes`.
#[pyfunction]
#[pyo3(signature = (a, update, start_indices, axes, *, stream=None))]
fn slice_update(
    a: ArrayLike,
    update: Opnd,
    start_indices: ArrayLike,
    axes: Vec<isize>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::slice_update_dynamic(&a.0, update.0, &start_indices.0, &axes)
    }))
}

fn dtype_or(d: Option<PyDtype>, default: Dtype) -> Dtype {
    d.map(|d| d.0).unwrap_or(default)
}

/// An array of zeros.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, *, stream=None))]
fn zeros(shape: Shape, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::zeros(&shape.0, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// An array of ones.
#[pyfunction]
#[pyo3(signature = (shape, dtype=None, *, stream=None))]
fn ones(shape: Shape, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::ones(&shape.0, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// An array filled with `vals` (broadcast to `shape`).
#[pyfunction]
#[pyo3(signature = (shape, vals, dtype=None, *, stream=None))]
fn full(shape: Shape, vals: Opnd, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::full(&shape.0, vals.0, dtype.map(|d| d.0))
    }))
}

/// Zeros shaped like `a`.
#[pyfunction]
#[pyo3(signature = (a, /, dtype=None, *, stream=None))]
fn zeros_like(a: ArrayLike, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::zeros(a.0.shape(), Some(dtype_or(dtype, a.0.dtype())))
    }))
}

/// Ones shaped like `a`.
#[pyfunction]
#[pyo3(signature = (a, /, dtype=None, *, stream=None))]
fn ones_like(a: ArrayLike, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::ones(a.0.shape(), Some(dtype_or(dtype, a.0.dtype())))
    }))
}

/// `vals` shaped like `a`.
#[pyfunction]
#[pyo3(signature = (a, vals, dtype=None, *, stream=None))]
fn full_like(a: ArrayLike, vals: Opnd, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::full_like(&a.0, vals.0, dtype.map(|d| d.0))
    }))
}

/// Evenly spaced values (`arange(stop)` or `arange(start, stop, step)`).
#[pyfunction]
#[pyo3(signature = (*args, dtype=None, start=None, stop=None, step=None, stream=None))]
fn arange(
    args: &Bound<PyTuple>,
    dtype: Option<PyDtype>,
    start: Option<Opnd>,
    stop: Option<Opnd>,
    step: Option<Opnd>,
    stream: S,
) -> PyResult<PyArray> {
    use ops::{Operand, Scalar};
    let mut pos: Vec<Operand> = Vec::new();
    let mut dt = dtype.map(|d| d.0);
    for x in args.iter() {
        if let Ok(d) = x.extract::<PyDtype>() {
            dt = Some(d.0);
        } else if !x.is_none() {
            pos.push(crate::convert::to_operand(&x)?);
        }
    }
    let (a, b, c) = match (pos.len(), start, stop, step) {
        (0, st, Some(sp), sz) => (
            st.map(|s| s.0).unwrap_or(Operand::Scalar(Scalar::Int(0))),
            sp.0,
            sz.map(|s| s.0).unwrap_or(Operand::Scalar(Scalar::Int(1))),
        ),
        (1, None, None, sz) => (
            Operand::Scalar(Scalar::Int(0)),
            pos.remove(0),
            sz.map(|s| s.0).unwrap_or(Operand::Scalar(Scalar::Int(1))),
        ),
        (1, None, Some(sp), sz) => (
            pos.remove(0),
            sp.0,
            sz.map(|s| s.0).unwrap_or(Operand::Scalar(Scalar::Int(1))),
        ),
        (2, None, None, sz) => {
            let a = pos.remove(0);
            (
                a,
                pos.remove(0),
                sz.map(|s| s.0).unwrap_or(Operand::Scalar(Scalar::Int(1))),
            )
        }
        (3, None, None, None) => {
            let a = pos.remove(0);
            let b = pos.remove(0);
            (a, b, pos.remove(0))
        }
        _ => return Err(PyTypeError::new_err("arange(): incompatible arguments")),
    };
    out(on(stream, || ops::arange_range(a, b, c, dt)))
}

/// `num` evenly spaced values from `start` to `stop`.
#[pyfunction]
#[pyo3(signature = (start, stop, num=50, dtype=None, stream=None))]
fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::linspace(start, stop, num, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// Ones on the `k`-th diagonal.
#[pyfunction]
#[pyo3(signature = (n, m=None, k=0, dtype=None, *, stream=None))]
fn eye(
    n: usize,
    m: Option<usize>,
    k: isize,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::eye(n, m, k, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// The identity matrix.
#[pyfunction]
#[pyo3(signature = (n, dtype=None, *, stream=None))]
fn identity(n: usize, dtype: Option<PyDtype>, stream: S) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::identity(n, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// Ones at and below the `k`-th diagonal.
#[pyfunction]
#[pyo3(signature = (n, m=None, k=0, dtype=None, *, stream=None))]
fn tri(
    n: usize,
    m: Option<usize>,
    k: isize,
    dtype: Option<PyDtype>,
    stream: S,
) -> PyResult<PyArray> {
    out(on(stream, || {
        ops::tri(n, m, k, Some(dtype_or(dtype, Dtype::Float32)))
    }))
}

/// The lower triangle.
#[pyfunction]
#[pyo3(signature = (x, k=0, *, stream=None))]
fn tril(x: ArrayLike, k: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::tril(&x.0, k)))
}

/// The upper triangle.
#[pyfunction]
#[pyo3(signature = (x, k=0, *, stream=None))]
fn triu(x: ArrayLike, k: isize, stream: S) -> PyResult<PyArray> {
    out(on(stream, || ops::triu(&x.0, k)))
}

/// Coordinate grids.
#[pyfunction]
#[pyo3(signature = (*arrays, sparse=false, indexing="xy", stream=None))]
fn meshgrid(
    arrays: Vec<ArrayLike>,
    sparse: bool,
    indexing: &str,
    stream: S,
) -> PyResult<Vec<PyArray>> {
    let v = self::arrays(arrays);
    on(stream, || ops::meshgrid(&v, sparse, indexing)).map(list)
}

/// Make `inputs` depend on `dependencies` (for ordering and for checkpointing).
#[pyfunction]
fn depends(
    py: Python<'_>,
    inputs: &Bound<PyAny>,
    dependencies: &Bound<PyAny>,
) -> PyResult<PyObject> {
    let single = inputs.downcast::<PyArray>().is_ok();
    let ins: Vec<ArrayLike> = if single {
        vec![inputs.extract()?]
    } else {
        inputs.extract()?
    };
    let deps: Vec<ArrayLike> = if dependencies.downcast::<PyArray>().is_ok() {
        vec![dependencies.extract()?]
    } else {
        dependencies.extract()?
    };
    let outs = mlxr::transforms::custom::depends(&arrays(ins), &arrays(deps));
    let mut v = list(outs);
    if single {
        Ok(Py::new(py, v.remove(0))?.into_any())
    } else {
        Ok(PyList::new(py, v)?.into_any().unbind())
    }
}

/// The dtype of combining the given arrays and dtypes (MLX's promotion).
#[pyfunction]
#[pyo3(signature = (*arrays_and_dtypes))]
fn result_type(arrays_and_dtypes: &Bound<PyTuple>) -> PyResult<PyDtype> {
    let mut ops_: Vec<ops::Operand> = Vec::new();
    for x in arrays_and_dtypes.iter() {
        if let Ok(d) = x.extract::<PyDtype>() {
            ops_.push(ops::Operand::Array(
                Array::from_vec(Vec::<f32>::new(), &[0])
                    .py()
                    .and_then(|a| ops::astype(&a, d.0).py())?,
            ));
        } else {
            ops_.push(crate::convert::to_operand(&x)?);
        }
    }
    if ops_.is_empty() {
        return Err(PyValueError::new_err(
            "result_type needs at least one argument",
        ));
    }
    let mut d = ops_[0].clone();
    for o in &ops_[1..] {
        let dt = ops::result_type(&d, o);
        d = ops::Operand::Array(
            ops::astype(&Array::from_vec(Vec::<f32>::new(), &[0]).py()?, dt).py()?,
        );
    }
    Ok(PyDtype(match d {
        ops::Operand::Array(a) => a.dtype(),
        ops::Operand::Scalar(s) => s.default_dtype(),
    }))
}

/// Register every op of this file.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    reg_unary(m)?;
    reg_binary(m)?;
    reg_reduce(m)?;
    reg_scan(m)?;
    macro_rules! add {
        ($($f:ident),* $(,)?) => {$(m.add_function(wrap_pyfunction!($f, m)?)?;)*};
    }
    add!(
        count_nonzero,
        var,
        std_,
        argmax,
        argmin,
        cumsum,
        cumprod,
        astype,
        view,
        reshape,
        transpose,
        permute_dims,
        broadcast_to,
        broadcast_arrays,
        broadcast_shapes,
        contiguous,
        expand_dims,
        squeeze,
        flatten,
        unflatten,
        swapaxes,
        moveaxis,
        concatenate,
        concat,
        stack,
        split,
        unstack,
        tile,
        repeat,
        pad,
        roll,
        diagonal,
        diag,
        trace,
        atleast_1d,
        atleast_2d,
        atleast_3d,
        as_strided,
        flip,
        softmax,
        sort,
        argsort,
        partition,
        argpartition,
        topk,
        searchsorted,
        where_,
        clip,
        isclose,
        allclose,
        array_equal,
        round,
        nan_to_num,
        divmod,
        matmul,
        addmm,
        tensordot,
        inner,
        outer,
        kron,
        einsum,
        einsum_path,
        convolve,
        diff,
        take,
        take_along_axis,
        put_along_axis,
        slice,
        slice_update,
        zeros,
        ones,
        full,
        zeros_like,
        ones_like,
        full_like,
        arange,
        linspace,
        eye,
        identity,
        tri,
        tril,
        triu,
        meshgrid,
        depends,
        result_type,
    );
    Ok(())
}
