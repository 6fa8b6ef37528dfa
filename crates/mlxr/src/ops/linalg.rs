//! Matrix products: `matmul`, `addmm`, `inner`, `outer`, `tensordot`.
//!
//! `matmul` follows MLX (and NumPy): 1-D operands are promoted to matrices and the added
//! axis is removed from the result, batch axes broadcast, only floating (and complex) dtypes
//! are accepted. Operands reach the kernel as views: transposed, sliced and broadcast
//! inputs are not copied.

use super::{astype, broadcast_to, reshape_to, transpose_axes};
use super::{broadcast_shapes, normalize_axis, stream};
use crate::array::Array;
use crate::dtype::{promote_types, Dtype};
use crate::error::{Error, Result};
use crate::primitives::matmul::{AddMM, Matmul};
use std::sync::Arc;

/// Operands of a matrix product, ready for the primitive.
struct Prepared {
    /// `a` as `batch + [m, k]` (a broadcast view).
    a: Array,
    /// `b` as `batch + [k, n]` (a broadcast view).
    b: Array,
    /// The primitive's output shape, `batch + [m, n]`.
    full: Vec<usize>,
    /// The result's shape (axes added for 1-D operands removed).
    shape: Vec<usize>,
}

/// Validate and promote `a @ b` (the dtype is already decided: `dt`).
fn prepare(a: &Array, b: &Array, dt: Dtype, op: &str) -> Result<Prepared> {
    let (sa, sb) = (a.shape().to_vec(), b.shape().to_vec());
    if sa.is_empty() || sb.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{op}: got a 0-dimensional input (shapes {sa:?} and {sb:?}); inputs must have at least one dimension"
        )));
    }
    let mut a = astype(a, dt)?;
    let mut b = astype(b, dt)?;
    let (a1, b1) = (sa.len() == 1, sb.len() == 1);
    if a1 {
        a = reshape_to(&a, &[1, sa[0]])?;
    }
    if b1 {
        b = reshape_to(&b, &[sb[0], 1])?;
    }
    let (ea, eb) = (a.shape().to_vec(), b.shape().to_vec());
    let (na, nb) = (ea.len(), eb.len());
    let (m, k, k2, n) = (ea[na - 2], ea[na - 1], eb[nb - 2], eb[nb - 1]);
    if k != k2 {
        return Err(Error::Shape(format!(
            "{op}: the last dimension of the first input with shape {sa:?} must match the second to last dimension of the second input with shape {sb:?}"
        )));
    }
    let batch = broadcast_shapes(&ea[..na - 2], &eb[..nb - 2], op).map_err(|_| {
        Error::Shape(format!(
            "{op}: the batch dimensions of shapes {sa:?} and {sb:?} cannot be broadcast together"
        ))
    })?;
    let mut sa2 = batch.clone();
    sa2.extend_from_slice(&[m, k]);
    let mut sb2 = batch.clone();
    sb2.extend_from_slice(&[k, n]);
    let a = broadcast_to(&a, &sa2)?;
    let b = broadcast_to(&b, &sb2)?;
    let mut full = batch.clone();
    full.extend_from_slice(&[m, n]);
    let mut shape = batch;
    if !a1 {
        shape.push(m);
    }
    if !b1 {
        shape.push(n);
    }
    Ok(Prepared { a, b, full, shape })
}

/// Reject dtypes without a matrix-product kernel.
fn check_inexact(dt: Dtype, given: &[Dtype], op: &str) -> Result<()> {
    if dt.is_inexact() {
        return Ok(());
    }
    let names: Vec<&str> = given.iter().map(|d| d.name()).collect();
    Err(Error::Dtype(format!(
        "{op}: only floating point types are supported (float16, bfloat16, float32, float64, complex64), but {} were given, which promote to {dt}",
        names.join(" and ")
    )))
}

/// Matrix product with MLX's (NumPy's) rules: 2-D operands multiply as matrices; N-d
/// operands are stacks of matrices in the last two axes, whose batch axes broadcast; a 1-D
/// first operand is a row vector and a 1-D second operand a column vector, and the added
/// axis is removed from the result. The dtypes promote and must be floating or complex.
pub fn matmul(a: &Array, b: &Array) -> Result<Array> {
    let dt = promote_types(a.dtype(), b.dtype());
    check_inexact(dt, &[a.dtype(), b.dtype()], "matmul")?;
    let p = prepare(a, b, dt, "matmul")?;
    let out = Array::new_node(
        p.full.clone(),
        dt,
        Arc::new(Matmul),
        vec![p.a, p.b],
        stream(),
    );
    if p.shape != p.full {
        reshape_to(&out, &p.shape)
    } else {
        Ok(out)
    }
}

/// `alpha * (a @ b) + beta * c` (MLX's `addmm`): the product follows [`matmul`]'s rules and
/// `c` must broadcast to its shape. The dtype is the promotion of all three inputs.
pub fn addmm(c: &Array, a: &Array, b: &Array, alpha: f32, beta: f32) -> Result<Array> {
    let dt = promote_types(c.dtype(), promote_types(a.dtype(), b.dtype()));
    check_inexact(dt, &[c.dtype(), a.dtype(), b.dtype()], "addmm")?;
    let p = prepare(a, b, dt, "addmm")?;
    let fits = broadcast_shapes(c.shape(), &p.shape, "addmm").is_ok_and(|s| s == p.shape);
    if !fits {
        return Err(Error::Shape(format!(
            "addmm: c of shape {:?} must broadcast to the output shape {:?} (a {:?}, b {:?})",
            c.shape(),
            p.shape,
            a.shape(),
            b.shape()
        )));
    }
    let c = broadcast_to(&astype(c, dt)?, &p.shape)?;
    let c = reshape_to(&c, &p.full)?;
    let out = Array::new_node(
        p.full.clone(),
        dt,
        Arc::new(AddMM { alpha, beta }),
        vec![c, p.a, p.b],
        stream(),
    );
    if p.shape != p.full {
        reshape_to(&out, &p.shape)
    } else {
        Ok(out)
    }
}

/// Tensor dot product over explicit axes: axis `a_axes[i]` of `a` contracts with axis
/// `b_axes[i]` of `b` (negative axes allowed). The result has `a`'s remaining axes followed
/// by `b`'s.
pub fn tensordot_axes(a: &Array, b: &Array, a_axes: &[isize], b_axes: &[isize]) -> Result<Array> {
    if a_axes.len() != b_axes.len() {
        return Err(Error::InvalidArgument(format!(
            "tensordot: the axes lists must have the same length, got {a_axes:?} and {b_axes:?}"
        )));
    }
    let norm = |axes: &[isize], x: &Array| -> Result<Vec<usize>> {
        let v: Vec<usize> = axes
            .iter()
            .map(|&ax| normalize_axis(ax, x.ndim(), "tensordot"))
            .collect::<Result<_>>()?;
        let mut s = v.clone();
        s.sort_unstable();
        if s.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::InvalidArgument(format!(
                "tensordot: repeated axis in {axes:?}"
            )));
        }
        Ok(v)
    };
    let (ca, cb) = (norm(a_axes, a)?, norm(b_axes, b)?);
    for (&x, &y) in ca.iter().zip(&cb) {
        if a.shape()[x] != b.shape()[y] {
            return Err(Error::Shape(format!(
                "tensordot: a and b must have the same shape on the contracted axes, got shapes {:?} and {:?} with axes {a_axes:?} and {b_axes:?}",
                a.shape(),
                b.shape()
            )));
        }
    }
    let fa: Vec<usize> = (0..a.ndim()).filter(|i| !ca.contains(i)).collect();
    let fb: Vec<usize> = (0..b.ndim()).filter(|i| !cb.contains(i)).collect();
    let ksize: usize = ca.iter().map(|&i| a.shape()[i]).product();
    let ma: usize = fa.iter().map(|&i| a.shape()[i]).product();
    let nb: usize = fb.iter().map(|&i| b.shape()[i]).product();
    let pa: Vec<isize> = fa.iter().chain(&ca).map(|&i| i as isize).collect();
    let pb: Vec<isize> = cb.iter().chain(&fb).map(|&i| i as isize).collect();
    let a2 = reshape_to(&transpose_axes(a, &pa)?, &[ma, ksize])?;
    let b2 = reshape_to(&transpose_axes(b, &pb)?, &[ksize, nb])?;
    let out = matmul(&a2, &b2)?;
    let shape: Vec<usize> = fa
        .iter()
        .map(|&i| a.shape()[i])
        .chain(fb.iter().map(|&i| b.shape()[i]))
        .collect();
    reshape_to(&out, &shape)
}

/// Tensor dot product contracting the last `axes` axes of `a` with the first `axes` axes
/// of `b` (MLX's `tensordot(a, b, axes=2)` with an integer).
pub fn tensordot(a: &Array, b: &Array, axes: usize) -> Result<Array> {
    if axes > a.ndim() || axes > b.ndim() {
        return Err(Error::InvalidArgument(format!(
            "tensordot: cannot contract {axes} axes of arrays with shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    let a_axes: Vec<isize> = (a.ndim() - axes..a.ndim()).map(|i| i as isize).collect();
    let b_axes: Vec<isize> = (0..axes).map(|i| i as isize).collect();
    let sa = &a.shape()[a.ndim() - axes..];
    let sb = &b.shape()[..axes];
    if sa != sb {
        return Err(Error::Shape(format!(
            "tensordot: a and b must have the same shape on the contracted axes, got shapes {:?} and {:?} with axes={axes}",
            a.shape(),
            b.shape()
        )));
    }
    tensordot_axes(a, b, &a_axes, &b_axes)
}

/// Inner product: for 1-D arrays the dot product, in higher dimensions a sum product over
/// the last axes (result shape `a.shape[:-1] + b.shape[:-1]`). A 0-d operand multiplies.
pub fn inner(a: &Array, b: &Array) -> Result<Array> {
    if a.ndim() == 0 || b.ndim() == 0 {
        return super::multiply(a, b);
    }
    let (la, lb) = (a.shape()[a.ndim() - 1], b.shape()[b.ndim() - 1]);
    if la != lb {
        return Err(Error::Shape(format!(
            "inner: a and b must have the same last dimension, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )));
    }
    tensordot_axes(a, b, &[-1], &[-1])
}

/// Outer product of the flattened operands: `out[i, j] = a.flat[i] * b.flat[j]` (any
/// dtype, as `multiply`).
pub fn outer(a: &Array, b: &Array) -> Result<Array> {
    let a2 = reshape_to(a, &[a.size(), 1])?;
    let b2 = reshape_to(b, &[1, b.size()])?;
    super::multiply(&a2, &b2)
}

impl Array {
    /// Matrix product; see [`matmul`].
    pub fn matmul(&self, other: &Array) -> Result<Array> {
        matmul(self, other)
    }
}
