//! Matrix products (`matmul`, `addmm`, `inner`, `outer`, `tensordot`) and MLX's
//! `mx.linalg` factorizations and solvers (`inv`, `tri_inv`, `cholesky`, `cholesky_inv`,
//! `qr`, `svd`, `eigh`, `eigvalsh`, `eig`, `eigvals`, `lu`, `lu_factor`, `solve`,
//! `solve_triangular`, `pinv`, `cross`; primitives in `primitives/linalg.rs`), the
//! determinants `det` / `slogdet` (compositions, as MLX) and the masked products
//! `block_masked_mm` / `segmented_mm`.
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
    if let Some((m, k, shape)) = fold_batch(a, b) {
        // A stack times one matrix (a linear layer on [B, L, K]): one [B·L, K] product,
        // whose gradient wrt `b` is one product too (not B of them and a sum), as MLX.
        let out = matmul(&reshape_to(a, &[m, k])?, b)?;
        return reshape_to(&out, &shape);
    }
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

/// When `a` is a stack of matrices (3-D or more) and `b` one matrix with a matching inner
/// dimension: the rows of the folded `a` (`m`), the inner dimension `k` and the product's
/// shape.
fn fold_batch(a: &Array, b: &Array) -> Option<(usize, usize, Vec<usize>)> {
    if a.ndim() < 3 || b.ndim() != 2 {
        return None;
    }
    let k = a.shape()[a.ndim() - 1];
    if k != b.shape()[0] {
        return None; // the general path reports the mismatch
    }
    let lead = &a.shape()[..a.ndim() - 1];
    let mut shape = lead.to_vec();
    shape.push(b.shape()[1]);
    Some((lead.iter().product(), k, shape))
}

/// `alpha * (a @ b) + beta * c` (MLX's `addmm`): the product follows [`matmul`]'s rules and
/// `c` must broadcast to its shape. The dtype is the promotion of all three inputs.
pub fn addmm(c: &Array, a: &Array, b: &Array, alpha: f32, beta: f32) -> Result<Array> {
    let dt = promote_types(c.dtype(), promote_types(a.dtype(), b.dtype()));
    check_inexact(dt, &[c.dtype(), a.dtype(), b.dtype()], "addmm")?;
    if let Some((m, k, shape)) = fold_batch(a, b) {
        // As in `matmul`, when `c` is one row (or a scalar) that broadcasts either way.
        if c.ndim() <= 1
            && c.shape()
                .iter()
                .all(|&d| d == 1 || d == shape[shape.len() - 1])
        {
            let out = addmm(c, &reshape_to(a, &[m, k])?, b, alpha, beta)?;
            return reshape_to(&out, &shape);
        }
    }
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

// ---- factorizations and solvers (MLX's `mx.linalg`) ---------------------------------

use crate::primitives::linalg::{Cholesky, Eig, Eigh, Inverse, Luf, Qrf, Svd};

/// Reject inputs that are not (batches of) float32 / float64 matrices, with MLX's messages.
fn check_matrix(a: &Array, op: &str, square: bool) -> Result<()> {
    if a.ndim() < 2 {
        return Err(Error::InvalidArgument(format!(
            "[linalg::{op}] Arrays must have >= 2 dimensions. Received array with {} dimensions (shape {:?}).",
            a.ndim(),
            a.shape()
        )));
    }
    if !matches!(a.dtype(), Dtype::Float32 | Dtype::Float64) {
        return Err(Error::Dtype(format!(
            "[linalg::{op}] Arrays must have type float32 or float64. Received array with type {}.",
            a.dtype()
        )));
    }
    let nd = a.ndim();
    if square && a.shape()[nd - 1] != a.shape()[nd - 2] {
        return Err(Error::Shape(format!(
            "[linalg::{op}] Only defined for square matrices, got shape {:?}.",
            a.shape()
        )));
    }
    Ok(())
}

/// The inverse of (batches of) square matrices (LU with partial pivoting; a singular
/// matrix is an error at evaluation). Differentiable.
pub fn inv(a: &Array) -> Result<Array> {
    check_matrix(a, "inv", true)?;
    Ok(Inverse {
        tri: false,
        upper: false,
    }
    .apply(a))
}

/// The inverse of triangular matrices: the lower (or `upper`) triangle of `a` is read, the
/// other ignored. Differentiable.
pub fn tri_inv(a: &Array, upper: bool) -> Result<Array> {
    check_matrix(a, "tri_inv", true)?;
    Ok(Inverse { tri: true, upper }.apply(a))
}

/// The Cholesky factor of symmetric positive definite matrices: `L` with `A = L L^T` from
/// the lower triangle, or (`upper`) `U` with `A = U^T U` from the upper triangle. A matrix
/// that is not positive definite is an error at evaluation. Differentiable (with respect to
/// the triangle read).
pub fn cholesky(a: &Array, upper: bool) -> Result<Array> {
    check_matrix(a, "cholesky", true)?;
    Ok(Cholesky { upper }.apply(a))
}

/// The inverse of `A` from its Cholesky factor (`L`, or `U` when `upper`).
pub fn cholesky_inv(l: &Array, upper: bool) -> Result<Array> {
    check_matrix(l, "cholesky_inv", true)?;
    let li = tri_inv(l, upper)?;
    let lit = ops_mt(&li)?;
    if upper {
        matmul(&li, &lit)
    } else {
        matmul(&lit, &li)
    }
}

/// The last two axes swapped.
fn ops_mt(x: &Array) -> Result<Array> {
    super::swapaxes(x, -1, -2)
}

/// The reduced QR factorization `(Q, R)`: `Q` is `m x k` with orthonormal columns, `R` is
/// `k x n` upper triangular (non-negative diagonal), `k = min(m, n)`. Differentiable.
pub fn qr(a: &Array) -> Result<(Array, Array)> {
    check_matrix(a, "qr", false)?;
    let o = Qrf::apply(a);
    Ok((o[0].clone(), o[1].clone()))
}

/// The singular value decomposition: `[U, S, Vt]` (`U`: `m x m`, `S`: `min(m, n)`
/// descending, `Vt`: `n x n`, so `A = U[:, :k] diag(S) Vt[:k]`) with `compute_uv`, else
/// `[S]`. Differentiable (cotangents of the columns past `min(m, n)` are ignored).
pub fn svd(a: &Array, compute_uv: bool) -> Result<Vec<Array>> {
    check_matrix(a, "svd", false)?;
    Ok(Svd { compute_uv }.apply(a))
}

/// Whether `uplo` names the upper triangle (`"U"`) or the lower (`"L"`).
fn parse_uplo(uplo: &str, op: &str) -> Result<bool> {
    match uplo {
        "L" => Ok(false),
        "U" => Ok(true),
        _ => Err(Error::InvalidArgument(format!(
            "[linalg::{op}] UPLO must be \"L\" or \"U\", got {uplo:?}."
        ))),
    }
}

/// Eigenvalues (ascending) and eigenvectors (columns) of symmetric matrices given by the
/// `uplo` (`"L"` or `"U"`) triangle. Differentiable.
pub fn eigh(a: &Array, uplo: &str) -> Result<(Array, Array)> {
    check_matrix(a, "eigh", true)?;
    let upper = parse_uplo(uplo, "eigh")?;
    let o = Eigh {
        upper,
        vectors: true,
    }
    .apply(a);
    Ok((o[0].clone(), o[1].clone()))
}

/// Eigenvalues (ascending) of symmetric matrices; see [`eigh`].
pub fn eigvalsh(a: &Array, uplo: &str) -> Result<Array> {
    check_matrix(a, "eigvalsh", true)?;
    let upper = parse_uplo(uplo, "eigvalsh")?;
    Ok(Eigh {
        upper,
        vectors: false,
    }
    .apply(a)
    .remove(0))
}

/// Eigenvalues and unit-norm eigenvectors (columns) of general square matrices, complex64
/// (no derivative, as MLX).
pub fn eig(a: &Array) -> Result<(Array, Array)> {
    check_matrix(a, "eig", true)?;
    let o = Eig { vectors: true }.apply(a);
    Ok((o[0].clone(), o[1].clone()))
}

/// Eigenvalues (complex64) of general square matrices; see [`eig`].
pub fn eigvals(a: &Array) -> Result<Array> {
    check_matrix(a, "eigvals", true)?;
    Ok(Eig { vectors: false }.apply(a).remove(0))
}

/// LU factorization with partial pivoting in LAPACK's packed form: `(LU, pivots)`, with
/// `L`'s unit diagonal implied and `pivots` (uint32, 0-based) the row swapped with row `i`.
pub fn lu_factor(a: &Array) -> Result<(Array, Array)> {
    check_matrix(a, "lu_factor", false)?;
    let o = Luf::apply(a);
    Ok((o[0].clone(), o[1].clone()))
}

/// LU factorization `(P, L, U)` as MLX: `P` (uint32, `m`) with `A = L[P] @ U`, `L`
/// (`m x k`, unit lower triangular), `U` (`k x n`, upper triangular).
pub fn lu(a: &Array) -> Result<(Array, Array, Array)> {
    check_matrix(a, "lu", false)?;
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let k = m.min(n);
    let o = Luf::apply(a);
    let p = astype(&super::argsort(&o[2], Some(-1))?, Dtype::Uint32)?;
    let all: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    let mut lstop = all.clone();
    lstop[nd - 1] = k as isize;
    let mut ustop = all;
    ustop[nd - 2] = k as isize;
    let zeros = vec![0isize; nd];
    let ones = vec![1isize; nd];
    let lpart = super::slice(&o[0], &zeros, &lstop, &ones)?;
    let l = super::add(
        &super::tril(&lpart, -1)?,
        &super::eye(m, Some(k), 0, Some(a.dtype()))?,
    )?;
    let upart = super::slice(&o[0], &zeros, &ustop, &ones)?;
    let u = super::triu(&upart, 0)?;
    Ok((p, l, u))
}

/// The solution `x` of `a @ x = b` (`b` a batch of matrices, or of vectors when it has one
/// axis less than `a`), computed as `inv(a) @ b` so it is differentiable in both inputs.
pub fn solve(a: &Array, b: &Array) -> Result<Array> {
    check_matrix(a, "solve", true)?;
    solve_with(&inv(a)?, a, b, "solve")
}

/// `x` with `a @ x = b` for triangular `a` (the lower or `upper` triangle is read), as
/// `tri_inv(a) @ b`.
pub fn solve_triangular(a: &Array, b: &Array, upper: bool) -> Result<Array> {
    check_matrix(a, "solve_triangular", true)?;
    solve_with(&tri_inv(a, upper)?, a, b, "solve_triangular")
}

/// `ainv @ b`, `b` a vector batch when it has one axis less than `a`.
fn solve_with(ainv: &Array, a: &Array, b: &Array, op: &str) -> Result<Array> {
    let n = a.shape()[a.ndim() - 1];
    let vector = b.ndim() + 1 == a.ndim() || b.ndim() == 1;
    let bn = if vector {
        b.shape().last().copied()
    } else if b.ndim() >= 2 {
        Some(b.shape()[b.ndim() - 2])
    } else {
        None
    };
    if bn != Some(n) {
        return Err(Error::Shape(format!(
            "[linalg::{op}] Last dimension of first input with shape {:?} must match second to last dimension of second input with shape {:?}.",
            a.shape(),
            b.shape()
        )));
    }
    let dt = promote_types(a.dtype(), b.dtype());
    let b = astype(b, dt)?;
    if vector {
        let x = matmul(ainv, &super::expand_dims(&b, &[-1])?)?;
        super::squeeze(&x, Some(&[-1]))
    } else {
        matmul(ainv, &b)
    }
}

/// The Moore-Penrose pseudo-inverse through the SVD: singular values at most
/// `eps * max(m, n) * max(S)` are treated as zero. Differentiable (through the SVD).
pub fn pinv(a: &Array) -> Result<Array> {
    check_matrix(a, "pinv", false)?;
    let nd = a.ndim();
    let (m, n) = (a.shape()[nd - 2], a.shape()[nd - 1]);
    let k = m.min(n);
    if k == 0 {
        let mut s = a.shape().to_vec();
        s.swap(nd - 2, nd - 1);
        return super::zeros(&s, Some(a.dtype()));
    }
    let o = svd(a, true)?;
    let zeros = vec![0isize; nd];
    let ones = vec![1isize; nd];
    let mut ustop: Vec<isize> = o[0].shape().iter().map(|&d| d as isize).collect();
    ustop[nd - 1] = k as isize;
    let mut vstop: Vec<isize> = o[2].shape().iter().map(|&d| d as isize).collect();
    vstop[nd - 2] = k as isize;
    let u = super::slice(&o[0], &zeros, &ustop, &ones)?;
    let vt = super::slice(&o[2], &zeros, &vstop, &ones)?;
    let s = &o[1];
    let eps = if a.dtype() == Dtype::Float64 {
        f64::EPSILON
    } else {
        f32::EPSILON as f64
    };
    let cutoff = super::multiply(&super::max(s, Some(&[-1]), true)?, eps * m.max(n) as f64)?;
    let keep = super::greater(s, &cutoff)?;
    let safe = super::where_(&keep, s, 1.0)?;
    let sinv = super::where_(&keep, &super::reciprocal(&safe)?, 0.0)?;
    let vs = super::multiply(&ops_mt(&vt)?, &super::expand_dims(&sinv, &[-2])?)?;
    matmul(&vs, &ops_mt(&u)?)
}

/// The cross product of 3-vectors along `axis` (the inputs broadcast; both must have size
/// 3 on the axis).
pub fn cross(a: &Array, b: &Array, axis: isize) -> Result<Array> {
    let ab = super::broadcast_arrays(&[a.clone(), b.clone()]).map_err(|_| {
        Error::Shape(format!(
            "[linalg::cross] shapes {:?} and {:?} cannot be broadcast together",
            a.shape(),
            b.shape()
        ))
    })?;
    let (a, b) = (&ab[0], &ab[1]);
    let ax = normalize_axis(axis, a.ndim(), "linalg::cross")?;
    if a.shape()[ax] != 3 {
        return Err(Error::Shape(format!(
            "[linalg::cross] The input arrays must have size 3 along the axis, got shapes {:?} and {:?} with axis {axis}.",
            a.shape(),
            b.shape()
        )));
    }
    let pa = super::split_sections(a, 3, ax as isize)?;
    let pb = super::split_sections(b, 3, ax as isize)?;
    let term = |i: usize, j: usize| -> Result<Array> {
        super::subtract(
            &super::multiply(&pa[i], &pb[j])?,
            &super::multiply(&pa[j], &pb[i])?,
        )
    };
    super::concatenate(&[term(1, 2)?, term(2, 0)?, term(0, 1)?], ax as isize)
}

// ---- determinants ---------------------------------------------------------------------

/// Validate a determinant input and convert it to an inexact dtype (integers and bool
/// become float32, as MLX), with MLX's messages.
fn det_input(a: &Array, op: &str) -> Result<Array> {
    if a.ndim() < 2 {
        return Err(Error::InvalidArgument(format!(
            "[linalg::{op}] Arrays must have >= 2 dimensions. Received array with {} dimensions.",
            a.ndim()
        )));
    }
    let nd = a.ndim();
    if a.shape()[nd - 1] != a.shape()[nd - 2] {
        return Err(Error::Shape(format!(
            "[linalg::{op}] Only defined for square matrices, got shape {:?}.",
            a.shape()
        )));
    }
    if a.dtype() == Dtype::Complex64 {
        return Err(Error::Dtype(format!(
            "[linalg::{op}] Complex inputs are not supported."
        )));
    }
    if a.dtype().is_inexact() {
        Ok(a.clone())
    } else {
        astype(a, Dtype::Float32)
    }
}

/// Element `(i, j)` of every matrix of `a` (the last two axes removed).
fn entry(a: &Array, i: usize, j: usize) -> Result<Array> {
    let nd = a.ndim();
    let zeros = vec![0isize; nd];
    let mut start = zeros.clone();
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    start[nd - 2] = i as isize;
    start[nd - 1] = j as isize;
    stop[nd - 2] = i as isize + 1;
    stop[nd - 1] = j as isize + 1;
    let s = super::slice(a, &start, &stop, &vec![1; nd])?;
    super::squeeze(&s, Some(&[-2, -1]))
}

/// The determinant of matrices of order 0 to 3 by cofactor expansion, in MLX's order of
/// operations (so float32 results are bit-identical): `ad - bc` for 2x2 and
/// `a(ei - fh) - b(di - fg) + c(dh - eg)` for 3x3. Differentiable.
fn small_det(a: &Array) -> Result<Array> {
    use super::{multiply as mul, subtract as sub};
    let nd = a.ndim();
    let n = a.shape()[nd - 1];
    let e = |i, j| entry(a, i, j);
    match n {
        0 => super::ones(&a.shape()[..nd - 2], Some(a.dtype())),
        1 => e(0, 0),
        2 => sub(mul(e(0, 0)?, e(1, 1)?)?, mul(e(0, 1)?, e(1, 0)?)?),
        _ => {
            let minor = |r0: usize, r1: usize, c0: usize, c1: usize| -> Result<Array> {
                sub(mul(e(r0, c0)?, e(r1, c1)?)?, mul(e(r0, c1)?, e(r1, c0)?)?)
            };
            let t0 = mul(e(0, 0)?, minor(1, 2, 1, 2)?)?;
            let t1 = mul(e(0, 1)?, minor(1, 2, 0, 2)?)?;
            let t2 = mul(e(0, 2)?, minor(1, 2, 0, 1)?)?;
            super::add(sub(t0, t1)?, t2)
        }
    }
}

/// `(sign, log|det|)` of matrices of order 4 and more through the LU factorization (as
/// MLX): the sign is the parity of the row swaps and of the negative pivots (0 when a
/// pivot is zero), `log|det|` the sum of the logs of the pivots' magnitudes (`-inf` when
/// one is zero). float16 / bfloat16 inputs are an error, as MLX's `lu_factor`.
fn lu_slogdet(a: &Array) -> Result<(Array, Array)> {
    if !matches!(a.dtype(), Dtype::Float32 | Dtype::Float64) {
        return Err(Error::Dtype(format!(
            "[linalg::lu_factor] Arrays must have type float32 or float64. Received array with type {}.",
            a.dtype()
        )));
    }
    let n = a.shape()[a.ndim() - 1];
    let o = Luf::apply(a);
    let diag = super::diagonal(&o[0], 0, -2, -1)?;
    let singular = super::any(&super::equal(&diag, 0.0)?, Some(&[-1]), false)?;
    let idx = super::arange_range(0, n as i64, 1, Some(Dtype::Uint32))?;
    let swaps = super::sum(&super::not_equal(&o[1], &idx)?, Some(&[-1]), false)?;
    let negative = super::sum(&super::less(&diag, 0.0)?, Some(&[-1]), false)?;
    let parity = super::remainder(super::add(&swaps, &negative)?, 2)?;
    let sign = astype(
        &super::subtract(1, super::multiply(2, &parity)?)?,
        a.dtype(),
    )?;
    let sign = super::where_(&singular, 0.0, &sign)?;
    let logs = super::sum(&super::log(&super::abs(&diag)?)?, Some(&[-1]), false)?;
    let logabs = super::where_(&singular, f64::NEG_INFINITY, &logs)?;
    Ok((sign, logabs))
}

/// The determinant of (batches of) square matrices in the last two axes (MLX's
/// `linalg::det`). Integer and bool inputs give float32; complex inputs are an error.
/// Orders up to 3 use the cofactor expansion (differentiable, also in float16/bfloat16);
/// larger matrices use `sign * exp(log|det|)` from the LU factorization (float32 /
/// float64 only, no derivative, the exponential taken in float32: as MLX).
pub fn det(a: &Array) -> Result<Array> {
    let a = det_input(a, "det")?;
    if a.shape()[a.ndim() - 1] <= 3 {
        return small_det(&a);
    }
    let (sign, logabs) = lu_slogdet(&a)?;
    // MLX 0.32 takes the exponential in float32 (for float64 inputs too: `log|det|` is
    // rounded to float32 first), so its float64 determinants of order 4 and more carry
    // float32 precision; mlxr gives the same values.
    let mag = astype(&super::exp(&astype(&logabs, Dtype::Float32)?)?, a.dtype())?;
    super::multiply(&sign, &mag)
}

/// The sign (-1, 0 or 1) and the natural log of the absolute value of the determinant of
/// (batches of) square matrices (MLX's `linalg::slogdet`): `det = sign * exp(logabsdet)`,
/// and a singular matrix gives `(0, -inf)`. Same dtypes and paths as [`det`]: orders up
/// to 3 take the sign and log of the cofactor expansion.
pub fn slogdet(a: &Array) -> Result<(Array, Array)> {
    let a = det_input(a, "slogdet")?;
    let nd = a.ndim();
    let n = a.shape()[nd - 1];
    if n == 0 {
        let batch = &a.shape()[..nd - 2];
        return Ok((
            super::ones(batch, Some(a.dtype()))?,
            super::zeros(batch, Some(a.dtype()))?,
        ));
    }
    if n <= 3 {
        let d = small_det(&a)?;
        return Ok((super::sign(&d)?, super::log(&super::abs(&d)?)?));
    }
    lu_slogdet(&a)
}

// ---- masked products ------------------------------------------------------------------

/// A block mask of shape `(..., ceil(rows / bs), ceil(cols / bs))` expanded to the
/// elements: `(..., rows, cols)`, each block entry repeated over its `bs x bs` block.
fn expand_block_mask(mask: &Array, bs: usize, rows: usize, cols: usize) -> Result<Array> {
    let nd = mask.ndim();
    let (rb, cb) = (mask.shape()[nd - 2], mask.shape()[nd - 1]);
    let batch = &mask.shape()[..nd - 2];
    let mut s1 = batch.to_vec();
    s1.extend_from_slice(&[rb, 1, cb, 1]);
    let mut s2 = batch.to_vec();
    s2.extend_from_slice(&[rb, bs, cb, bs]);
    let mut s3 = batch.to_vec();
    s3.extend_from_slice(&[rb * bs, cb * bs]);
    let m = broadcast_to(&reshape_to(mask, &s1)?, &s2)?;
    let m = reshape_to(&m, &s3)?;
    let mut stop: Vec<isize> = s3.iter().map(|&d| d as isize).collect();
    stop[nd - 2] = rows as isize;
    stop[nd - 1] = cols as isize;
    super::slice(&m, &vec![0; nd], &stop, &vec![1; nd])
}

/// Apply a block mask to `x` (whose last two axes are `rows x cols`): a bool mask zeroes
/// the masked-out blocks (a NaN there does not leak), any other mask scales each block by
/// its entry (in `x`'s dtype). The mask broadcasts (NumPy rules) against
/// `(ceil(rows / bs), ceil(cols / bs))`, as in MLX.
fn apply_block_mask(x: &Array, mask: &Array, bs: usize, what: &str) -> Result<Array> {
    let nd = x.ndim();
    let (rows, cols) = (x.shape()[nd - 2], x.shape()[nd - 1]);
    let want = [rows.div_ceil(bs), cols.div_ceil(bs)];
    let target = super::broadcast_shapes(mask.shape(), &want, "[block_masked_mm]")
        .ok()
        .filter(|t| t[t.len() - 2..] == want)
        .ok_or_else(|| {
            Error::Shape(format!(
                "[block_masked_mm] {what} of shape {:?} cannot be broadcast to the block shape \
                 {want:?} (ceil of {rows}x{cols} over the block size {bs}).",
                mask.shape()
            ))
        })?;
    let mask = broadcast_to(mask, &target)?;
    let full = expand_block_mask(&mask, bs, rows, cols)?;
    if mask.dtype() == Dtype::Bool {
        super::where_(&full, x, 0.0)
    } else {
        super::multiply(x, &astype(&full, x.dtype())?)
    }
}

/// Matrix product with block masking (MLX's `block_masked_mm`): the blocks of
/// `block_size x block_size` of `a` (`..., M, K`), `b` (`..., K, N`) and of the output
/// (`..., M, N`) are multiplied by the entries of `mask_lhs` (`..., ceil(M/bs),
/// ceil(K/bs)`), `mask_rhs` and `mask_out` (each broadcasting to its shape). A bool mask
/// drops its `false` blocks (as zeros that do not propagate NaN), a numeric mask scales
/// the blocks. `block_size` must be 32 or 64 and the inputs real floating (as MLX); batch
/// axes broadcast as in [`matmul`]. Differentiable in `a`, `b` and the numeric masks (a
/// composition of `where` / `multiply` / `matmul`).
pub fn block_masked_mm(
    a: &Array,
    b: &Array,
    block_size: usize,
    mask_out: Option<&Array>,
    mask_lhs: Option<&Array>,
    mask_rhs: Option<&Array>,
) -> Result<Array> {
    if block_size != 32 && block_size != 64 {
        return Err(Error::InvalidArgument(format!(
            "[block_masked_mm] Only block_sizes 32, 64 are supported. Got block size {block_size}."
        )));
    }
    let dt = promote_types(a.dtype(), b.dtype());
    if !dt.is_floating() {
        return Err(Error::Dtype(format!(
            "[block_masked_mm] Only real floating point types are supported but {} and {} were provided which results in {dt}, which is not a real floating point type.",
            a.dtype(),
            b.dtype()
        )));
    }
    if mask_out.is_none() && mask_lhs.is_none() && mask_rhs.is_none() {
        return matmul(&astype(a, dt)?, &astype(b, dt)?);
    }
    let (a1, b1) = (a.ndim() == 1, b.ndim() == 1);
    if a.ndim() == 0 || b.ndim() == 0 {
        return Err(Error::InvalidArgument(format!(
            "[block_masked_mm] inputs must have at least one dimension (shapes {:?} and {:?}).",
            a.shape(),
            b.shape()
        )));
    }
    let mut a = astype(a, dt)?;
    let mut b = astype(b, dt)?;
    if a1 {
        a = super::expand_dims(&a, &[0])?;
    }
    if b1 {
        b = super::expand_dims(&b, &[-1])?;
    }
    let (ka, kb) = (a.shape()[a.ndim() - 1], b.shape()[b.ndim() - 2]);
    if ka != kb {
        return Err(Error::Shape(format!(
            "[block_masked_mm] Last dimension of first input with shape {:?} must match second to last dimension of second input with shape {:?}.",
            a.shape(),
            b.shape()
        )));
    }
    if let Some(m) = mask_lhs {
        a = apply_block_mask(&a, m, block_size, "mask_lhs")?;
    }
    if let Some(m) = mask_rhs {
        b = apply_block_mask(&b, m, block_size, "mask_rhs")?;
    }
    let mut out = matmul(&a, &b)?;
    if let Some(m) = mask_out {
        out = apply_block_mask(&out, m, block_size, "mask_out")?;
    }
    if b1 {
        out = super::squeeze(&out, Some(&[-1]))?;
    }
    if a1 {
        out = super::squeeze(&out, Some(&[if b1 { -1 } else { -2 }]))?;
    }
    Ok(out)
}

/// Matrix products over segments of the inner dimension (MLX's `segmented_mm`): `a` is
/// `M x K`, `b` is `K x N`, `segments` (integer, shape `(..., 2)`) holds `[start, end)`
/// ranges of `K`; the result (`segments.shape[:-1] + [M, N]`) holds
/// `a[:, start:end] @ b[start:end]` per segment (zero for an empty range; ranges are
/// clipped to `[0, K]`). Differentiable in `a` and `b`.
pub fn segmented_mm(a: &Array, b: &Array, segments: &Array) -> Result<Array> {
    if a.ndim() != 2 || b.ndim() != 2 {
        return Err(Error::InvalidArgument(format!(
            "[segmented_mm] Batched matmul not supported: a and b must be matrices, got shapes {:?} and {:?}.",
            a.shape(),
            b.shape()
        )));
    }
    let dt = promote_types(a.dtype(), b.dtype());
    if !dt.is_floating() {
        return Err(Error::Dtype(format!(
            "[segmented_mm] Only real floating point types are supported but {} and {} were provided which results in {dt}, which is not a real floating point type.",
            a.dtype(),
            b.dtype()
        )));
    }
    if !segments.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "[segmented_mm] Got segments with invalid dtype {}. Segments must be integral.",
            segments.dtype()
        )));
    }
    if segments.ndim() == 0 || segments.shape()[segments.ndim() - 1] != 2 {
        return Err(Error::Shape(format!(
            "[segmented_mm] The segments should have shape (..., 2) but {:?} was provided.",
            segments.shape()
        )));
    }
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    if b.shape()[0] != k {
        return Err(Error::Shape(format!(
            "[segmented_mm] Last dimension of first input with shape {:?} must match first dimension of second input with shape {:?}.",
            a.shape(),
            b.shape()
        )));
    }
    let batch = segments.shape()[..segments.ndim() - 1].to_vec();
    let s = reshape_to(
        &astype(segments, Dtype::Int64)?,
        &[batch.iter().product(), 2],
    )?;
    let parts = super::split_sections(&s, 2, 1)?;
    // keep[s, 0, k]: whether k lies in segment s.
    let kk = super::arange_range(0, k as i64, 1, Some(Dtype::Int64))?;
    let start = super::expand_dims(&parts[0], &[-1])?;
    let stop = super::expand_dims(&parts[1], &[-1])?;
    let keep = super::logical_and(super::greater_equal(&kk, &start)?, super::less(&kk, &stop)?)?;
    let a = astype(a, dt)?;
    let b = astype(b, dt)?;
    let masked = super::where_(&keep, &super::expand_dims(&a, &[0])?, 0.0)?;
    let out = matmul(&masked, &b)?;
    let mut shape = batch;
    shape.extend_from_slice(&[m, n]);
    reshape_to(&out, &shape)
}
