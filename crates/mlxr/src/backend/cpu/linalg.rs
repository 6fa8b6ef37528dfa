//! Matrix factorizations on the CPU, hand-written and computed in float64 whatever the
//! array's dtype (float32 results are rounded once at the end): partial-pivot LU (inverse,
//! `lu_factor`), triangular inverse, Cholesky, Householder QR, cyclic Jacobi for symmetric
//! eigenproblems, one-sided Jacobi SVD, and Hessenberg + shifted complex QR for general
//! eigenproblems. Every kernel works on one row-major matrix; [`batched`] runs it over the
//! leading (batch) axes in parallel.

use super::copy::copy_to_contiguous;
use crate::array::Data;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use num_complex::{Complex32, Complex64};
use rayon::prelude::*;
use std::sync::Arc;

/// One output of a kernel for one matrix: real values or complex values.
pub enum Out {
    /// Real values (written in the output's dtype).
    Real(Vec<f64>),
    /// Complex values (written as complex64).
    Complex(Vec<Complex64>),
    /// Indices (written as uint32).
    Index(Vec<u32>),
}

/// Run `f` on every `m x n` matrix of `src` (shape `batch + [m, n]`, any real dtype, read
/// as float64); `f` returns one [`Out`] per output. The outputs are assembled into data of
/// `out_shapes` / `out_dtypes` (each `batch + ...`).
pub fn batched(
    src: &Data,
    shape: &[usize],
    dtype: Dtype,
    out_shapes: &[Vec<usize>],
    out_dtypes: &[Dtype],
    f: impl Fn(&[f64], usize, usize) -> Result<Vec<Out>> + Sync,
) -> Result<Vec<Data>> {
    let nd = shape.len();
    let (m, n) = (shape[nd - 2], shape[nd - 1]);
    let batch: usize = shape[..nd - 2].iter().product();
    let x = copy_to_contiguous(src, shape, dtype, Dtype::Float64)?;
    let xs = &x.slice::<f64>()[..batch * m * n];
    let results: Vec<Vec<Out>> = if batch > 1 && batch * m * n * n.max(m) >= 1 << 15 {
        (0..batch)
            .into_par_iter()
            .map(|b| f(&xs[b * m * n..(b + 1) * m * n], m, n))
            .collect::<Result<_>>()?
    } else {
        (0..batch)
            .map(|b| f(&xs[b * m * n..(b + 1) * m * n], m, n))
            .collect::<Result<_>>()?
    };
    let mut outs = Vec::with_capacity(out_shapes.len());
    for (k, (s, &dt)) in out_shapes.iter().zip(out_dtypes).enumerate() {
        let total: usize = s.iter().product();
        let mut d = Data::alloc(s, dt)?;
        let off = d.offset;
        let buf = Arc::get_mut(&mut d.storage).expect("fresh").host_mut();
        let per = total.checked_div(batch).unwrap_or(0);
        for (b, r) in results.iter().enumerate() {
            let range = off + b * per..off + (b + 1) * per;
            match (&r[k], dt) {
                (Out::Real(v), Dtype::Float32) => buf.as_mut_slice::<f32>()[range]
                    .iter_mut()
                    .zip(v)
                    .for_each(|(o, &x)| *o = x as f32),
                (Out::Real(v), Dtype::Float64) => {
                    buf.as_mut_slice::<f64>()[range].copy_from_slice(v)
                }
                (Out::Complex(v), Dtype::Complex64) => buf.as_mut_slice::<Complex32>()[range]
                    .iter_mut()
                    .zip(v)
                    .for_each(|(o, x)| *o = Complex32::new(x.re as f32, x.im as f32)),
                (Out::Index(v), Dtype::Uint32) => {
                    buf.as_mut_slice::<u32>()[range].copy_from_slice(v)
                }
                _ => {
                    return Err(Error::Unsupported(format!(
                        "linalg kernel: output {k} cannot be written as {dt}"
                    )))
                }
            }
        }
        let _ = total;
        outs.push(d);
    }
    Ok(outs)
}

/// In-place LU factorisation with partial pivoting of the row-major `m x n` matrix `a`:
/// returns LAPACK's pivots (row `i` was swapped with row `piv[i]`, 0-based), and whether a
/// zero pivot was met.
pub fn lu_in_place(a: &mut [f64], m: usize, n: usize) -> (Vec<usize>, bool) {
    let k = m.min(n);
    let mut piv = vec![0usize; k];
    let mut singular = false;
    for j in 0..k {
        let mut p = j;
        let mut best = a[j * n + j].abs();
        for i in j + 1..m {
            let v = a[i * n + j].abs();
            if v > best {
                best = v;
                p = i;
            }
        }
        piv[j] = p;
        if p != j {
            for c in 0..n {
                a.swap(j * n + c, p * n + c);
            }
        }
        let d = a[j * n + j];
        if d == 0.0 {
            singular = true;
            continue;
        }
        for i in j + 1..m {
            let l = a[i * n + j] / d;
            a[i * n + j] = l;
            if l != 0.0 {
                for c in j + 1..n {
                    a[i * n + c] -= l * a[j * n + c];
                }
            }
        }
    }
    (piv, singular)
}

/// The row permutation of pivots: row `i` of `L @ U` is row `perm[i]` of the input.
pub fn pivots_to_perm(piv: &[usize], m: usize) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..m).collect();
    for (i, &p) in piv.iter().enumerate() {
        perm.swap(i, p);
    }
    perm
}

/// The inverse of the `n x n` matrix `a` (LU with partial pivoting); an error when it is
/// singular.
pub fn inverse(a: &[f64], n: usize) -> Result<Vec<f64>> {
    let mut lu = a.to_vec();
    let (piv, singular) = lu_in_place(&mut lu, n, n);
    if singular {
        return Err(Error::InvalidArgument(
            "[linalg::inv] the matrix is singular (a zero pivot in its LU factorization)".into(),
        ));
    }
    let perm = pivots_to_perm(&piv, n);
    let mut inv = vec![0.0; n * n];
    // Solve A X = I column by column: P A = L U, so L U x = P e_c.
    let mut y = vec![0.0; n];
    for c in 0..n {
        for i in 0..n {
            y[i] = if perm[i] == c { 1.0 } else { 0.0 };
        }
        for i in 0..n {
            let mut s = y[i];
            for j in 0..i {
                s -= lu[i * n + j] * y[j];
            }
            y[i] = s;
        }
        for i in (0..n).rev() {
            let mut s = y[i];
            for j in i + 1..n {
                s -= lu[i * n + j] * y[j];
            }
            y[i] = s / lu[i * n + i];
        }
        for i in 0..n {
            inv[i * n + c] = y[i];
        }
    }
    Ok(inv)
}

/// The inverse of the lower (or upper) triangle of `a`, the other triangle read as zero.
pub fn tri_inverse(a: &[f64], n: usize, upper: bool) -> Vec<f64> {
    // Work on the lower triangle: for an upper triangle invert its transpose.
    let t = |i: usize, j: usize| if upper { a[j * n + i] } else { a[i * n + j] };
    let mut x = vec![0.0; n * n];
    for c in 0..n {
        // Forward substitution for column c of L^-1 (zero above the diagonal).
        x[c * n + c] = 1.0 / t(c, c);
        for i in c + 1..n {
            let mut s = 0.0;
            for j in c..i {
                s -= t(i, j) * x[j * n + c];
            }
            x[i * n + c] = s / t(i, i);
        }
    }
    if upper {
        let mut y = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                y[j * n + i] = x[i * n + j];
            }
        }
        y
    } else {
        x
    }
}

/// The Cholesky factor of the symmetric matrix given by the lower (or upper) triangle of
/// `a`: `L` with `L L^T = A`, or `U = L^T` when `upper`. A matrix that is not positive
/// definite is an error.
pub fn cholesky(a: &[f64], n: usize, upper: bool) -> Result<Vec<f64>> {
    let t = |i: usize, j: usize| if upper { a[j * n + i] } else { a[i * n + j] };
    let mut l = vec![0.0; n * n];
    for j in 0..n {
        let mut d = t(j, j);
        for k in 0..j {
            d -= l[j * n + k] * l[j * n + k];
        }
        if d <= 0.0 || d.is_nan() {
            return Err(Error::InvalidArgument(
                "[linalg::cholesky] the matrix is not positive definite".into(),
            ));
        }
        let d = d.sqrt();
        l[j * n + j] = d;
        for i in j + 1..n {
            let mut s = t(i, j);
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            l[i * n + j] = s / d;
        }
    }
    if upper {
        let mut u = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                u[j * n + i] = l[i * n + j];
            }
        }
        Ok(u)
    } else {
        Ok(l)
    }
}

/// Reduced Householder QR of the `m x n` matrix `a`: `Q` (`m x k`, orthonormal columns)
/// and `R` (`k x n`, upper triangular), `k = min(m, n)`.
pub fn qr(a: &[f64], m: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let k = m.min(n);
    let mut r = a.to_vec();
    let mut vs: Vec<Vec<f64>> = Vec::with_capacity(k);
    for j in 0..k {
        let norm: f64 = (j..m).map(|i| r[i * n + j].powi(2)).sum::<f64>().sqrt();
        let mut v: Vec<f64> = (j..m).map(|i| r[i * n + j]).collect();
        if norm == 0.0 {
            vs.push(vec![0.0; m - j]);
            continue;
        }
        let alpha = if v[0] >= 0.0 { -norm } else { norm };
        v[0] -= alpha;
        let vn: f64 = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if vn == 0.0 {
            vs.push(vec![0.0; m - j]);
            continue;
        }
        v.iter_mut().for_each(|x| *x /= vn);
        for c in j..n {
            let s: f64 = (j..m).map(|i| v[i - j] * r[i * n + c]).sum();
            for i in j..m {
                r[i * n + c] -= 2.0 * v[i - j] * s;
            }
        }
        vs.push(v);
    }
    // Q = H_0 H_1 ... H_{k-1} applied to the first k columns of I.
    let mut q = vec![0.0; m * k];
    for i in 0..k {
        q[i * k + i] = 1.0;
    }
    for j in (0..k).rev() {
        let v = &vs[j];
        for c in 0..k {
            let s: f64 = (j..m).map(|i| v[i - j] * q[i * k + c]).sum();
            for i in j..m {
                q[i * k + c] -= 2.0 * v[i - j] * s;
            }
        }
    }
    let mut rr = vec![0.0; k * n];
    for i in 0..k {
        for c in i..n {
            rr[i * n + c] = r[i * n + c];
        }
    }
    // Make R's diagonal non-negative (as LAPACK does not promise, but it keeps Q R
    // continuous for the gradient checks): flip the sign of a row of R and column of Q.
    for i in 0..k {
        if rr[i * n + i] < 0.0 {
            for c in 0..n {
                rr[i * n + c] = -rr[i * n + c];
            }
            for row in 0..m {
                q[row * k + i] = -q[row * k + i];
            }
        }
    }
    (q, rr)
}

/// Eigenvalues (ascending) and eigenvectors (columns, unit norm) of the symmetric matrix
/// given by the lower (or upper) triangle of `a`, by cyclic Jacobi rotations.
pub fn eigh(a: &[f64], n: usize, upper: bool) -> (Vec<f64>, Vec<f64>) {
    let mut s = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            let (r, c) = if (i >= j) != upper { (i, j) } else { (j, i) };
            s[i * n + j] = a[r * n + c];
        }
    }
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| s[i * n + j].powi(2))
            .sum();
        let total: f64 = s.iter().map(|x| x * x).sum();
        if off <= 1e-30 * total || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = s[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (s[p * n + p], s[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * c;
                for k in 0..n {
                    let (skp, skq) = (s[k * n + p], s[k * n + q]);
                    s[k * n + p] = c * skp - sn * skq;
                    s[k * n + q] = sn * skp + c * skq;
                }
                for k in 0..n {
                    let (spk, sqk) = (s[p * n + k], s[q * n + k]);
                    s[p * n + k] = c * spk - sn * sqk;
                    s[q * n + k] = sn * spk + c * sqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - sn * vkq;
                    v[k * n + q] = sn * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| s[x * n + x].total_cmp(&s[y * n + y]));
    let w: Vec<f64> = order.iter().map(|&i| s[i * n + i]).collect();
    let mut vv = vec![0.0; n * n];
    for (newc, &oldc) in order.iter().enumerate() {
        for r in 0..n {
            vv[r * n + newc] = v[r * n + oldc];
        }
    }
    (w, vv)
}

/// Singular value decomposition of the `m x n` matrix `a` by one-sided Jacobi rotations:
/// `U` (`m x m`), `S` (`min(m, n)`, descending), `Vt` (`n x n`). The columns of `U` past
/// the rank are completed to an orthonormal basis.
pub fn svd(a: &[f64], m: usize, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    if m < n {
        // A^T = U' S V'^T, so A = V' S U'^T.
        let mut at = vec![0.0; n * m];
        for i in 0..m {
            for j in 0..n {
                at[j * m + i] = a[i * n + j];
            }
        }
        let (u2, s, vt2) = svd(&at, n, m);
        // U = V' = vt2^T (m x m); Vt = U'^T (n x n).
        let mut u = vec![0.0; m * m];
        for i in 0..m {
            for j in 0..m {
                u[i * m + j] = vt2[j * m + i];
            }
        }
        let mut vt = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                vt[i * n + j] = u2[j * n + i];
            }
        }
        return (u, s, vt);
    }
    // m >= n: rotate the columns of W = A until they are orthogonal; V accumulates.
    let mut w = a.to_vec();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    for _sweep in 0..100 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let (mut alpha, mut beta, mut gamma) = (0.0, 0.0, 0.0);
                for i in 0..m {
                    let (x, y) = (w[i * n + p], w[i * n + q]);
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let t = if zeta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for i in 0..m {
                    let (x, y) = (w[i * n + p], w[i * n + q]);
                    w[i * n + p] = c * x - s * y;
                    w[i * n + q] = s * x + c * y;
                }
                for i in 0..n {
                    let (x, y) = (v[i * n + p], v[i * n + q]);
                    v[i * n + p] = c * x - s * y;
                    v[i * n + q] = s * x + c * y;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Vec<f64> = (0..n)
        .map(|j| (0..m).map(|i| w[i * n + j].powi(2)).sum::<f64>().sqrt())
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| norms[y].total_cmp(&norms[x]));
    let s: Vec<f64> = order.iter().map(|&j| norms[j]).collect();
    let smax = s.first().copied().unwrap_or(0.0);
    let tol = smax * f64::EPSILON * m.max(n) as f64;
    // U's first columns: W's columns normalised (those of nonzero singular values).
    let mut cols: Vec<Vec<f64>> = Vec::with_capacity(m);
    for (k, &j) in order.iter().enumerate() {
        if s[k] > tol && s[k] > 0.0 {
            cols.push((0..m).map(|i| w[i * n + j] / s[k]).collect());
        } else {
            break;
        }
    }
    complete_basis(&mut cols, m);
    let mut u = vec![0.0; m * m];
    for (c, col) in cols.iter().enumerate() {
        for i in 0..m {
            u[i * m + c] = col[i];
        }
    }
    let mut vt = vec![0.0; n * n];
    for (k, &j) in order.iter().enumerate() {
        for i in 0..n {
            vt[k * n + i] = v[i * n + j];
        }
    }
    (u, s, vt)
}

/// Extend orthonormal vectors of length `m` to an orthonormal basis (Gram-Schmidt, twice,
/// against the unit vectors).
fn complete_basis(cols: &mut Vec<Vec<f64>>, m: usize) {
    let mut e = 0;
    while cols.len() < m && e < m {
        let mut x = vec![0.0; m];
        x[e] = 1.0;
        e += 1;
        for _ in 0..2 {
            for c in cols.iter() {
                let d: f64 = c.iter().zip(&x).map(|(a, b)| a * b).sum();
                x.iter_mut().zip(c).for_each(|(x, c)| *x -= d * c);
            }
        }
        let nrm: f64 = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nrm > 1e-8 {
            x.iter_mut().for_each(|v| *v /= nrm);
            cols.push(x);
        }
    }
}

/// Eigenvalues and (when `vectors`) unit-norm eigenvectors (columns) of a general real
/// `n x n` matrix: reduction to Hessenberg form, then complex single-shift QR iterations
/// (Wilkinson shifts, deflation) to a Schur form `T`, eigenvectors of `T` by back
/// substitution mapped back through the accumulated unitary factor. Each eigenvector is
/// scaled to unit norm with its largest component real (as LAPACK).
pub fn eig(a: &[f64], n: usize, vectors: bool) -> Result<(Vec<Complex64>, Vec<Complex64>)> {
    let z0 = Complex64::new(0.0, 0.0);
    let mut h: Vec<Complex64> = a.iter().map(|&x| Complex64::new(x, 0.0)).collect();
    let mut q = vec![z0; n * n];
    for i in 0..n {
        q[i * n + i] = Complex64::new(1.0, 0.0);
    }
    // Hessenberg reduction by Householder reflections (real arithmetic in complex type).
    for k in 0..n.saturating_sub(2) {
        let norm: f64 = (k + 1..n)
            .map(|i| h[i * n + k].norm_sqr())
            .sum::<f64>()
            .sqrt();
        if norm == 0.0 {
            continue;
        }
        let x0 = h[(k + 1) * n + k];
        let phase = if x0.norm() == 0.0 {
            Complex64::new(1.0, 0.0)
        } else {
            x0 / x0.norm()
        };
        let mut v: Vec<Complex64> = (k + 1..n).map(|i| h[i * n + k]).collect();
        v[0] += phase * norm;
        let vn: f64 = v.iter().map(|x| x.norm_sqr()).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= vn);
        // H = P H P with P = I - 2 v v^H on rows/cols k+1..n.
        for c in 0..n {
            let s: Complex64 = (k + 1..n).map(|i| v[i - k - 1].conj() * h[i * n + c]).sum();
            for i in k + 1..n {
                h[i * n + c] -= 2.0 * v[i - k - 1] * s;
            }
        }
        for r in 0..n {
            let s: Complex64 = (k + 1..n).map(|j| h[r * n + j] * v[j - k - 1]).sum();
            for j in k + 1..n {
                h[r * n + j] -= 2.0 * s * v[j - k - 1].conj();
            }
        }
        for r in 0..n {
            let s: Complex64 = (k + 1..n).map(|j| q[r * n + j] * v[j - k - 1]).sum();
            for j in k + 1..n {
                q[r * n + j] -= 2.0 * s * v[j - k - 1].conj();
            }
        }
    }
    // Shifted QR on the active window [lo, hi] with Givens rotations.
    let scale: f64 = a
        .iter()
        .map(|x| x.abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let mut hi = n;
    let mut iters = 0;
    while hi > 1 {
        // Deflate negligible subdiagonals.
        let mut l = hi - 1;
        while l > 0 {
            let s = h[(l - 1) * n + l - 1].norm() + h[l * n + l].norm();
            let s = if s == 0.0 { scale } else { s };
            if h[l * n + l - 1].norm() <= f64::EPSILON * s {
                h[l * n + l - 1] = z0;
                break;
            }
            l -= 1;
        }
        if l == hi - 1 {
            hi -= 1;
            iters = 0;
            continue;
        }
        iters += 1;
        if iters > 1000 {
            return Err(Error::InvalidArgument(
                "[linalg::eig] the QR iteration did not converge".into(),
            ));
        }
        // Wilkinson shift from the trailing 2x2 block (exceptional shift now and then).
        let (a11, a12, a21, a22) = (
            h[(hi - 2) * n + hi - 2],
            h[(hi - 2) * n + hi - 1],
            h[(hi - 1) * n + hi - 2],
            h[(hi - 1) * n + hi - 1],
        );
        let mut mu = {
            let tr = a11 + a22;
            let det = a11 * a22 - a12 * a21;
            let disc = (tr * tr - 4.0 * det).sqrt();
            let (e1, e2) = ((tr + disc) / 2.0, (tr - disc) / 2.0);
            if (e1 - a22).norm() < (e2 - a22).norm() {
                e1
            } else {
                e2
            }
        };
        if iters % 11 == 0 {
            mu += Complex64::new(h[(hi - 1) * n + hi - 2].norm(), 0.0);
        }
        for i in l..hi {
            h[i * n + i] -= mu;
        }
        let mut rots = Vec::with_capacity(hi - l);
        for k in l..hi - 1 {
            let (x, y) = (h[k * n + k], h[(k + 1) * n + k]);
            let r = (x.norm_sqr() + y.norm_sqr()).sqrt();
            let (c, s) = if r == 0.0 {
                (Complex64::new(1.0, 0.0), z0)
            } else {
                (x / r, y / r)
            };
            // G = [[c*, s*], [-s, c]] applied to rows k, k+1 (columns k..n).
            for j in k..n {
                let (p, t) = (h[k * n + j], h[(k + 1) * n + j]);
                h[k * n + j] = c.conj() * p + s.conj() * t;
                h[(k + 1) * n + j] = -s * p + c * t;
            }
            rots.push((k, c, s));
        }
        for &(k, c, s) in &rots {
            // Multiply by G^H on the right: columns k, k+1 (rows 0..=min(k+2, hi)).
            let top = (k + 2).min(hi - 1);
            for i in 0..=top {
                let (p, t) = (h[i * n + k], h[i * n + k + 1]);
                h[i * n + k] = p * c + t * s;
                h[i * n + k + 1] = -p * s.conj() + t * c.conj();
            }
            for i in 0..n {
                let (p, t) = (q[i * n + k], q[i * n + k + 1]);
                q[i * n + k] = p * c + t * s;
                q[i * n + k + 1] = -p * s.conj() + t * c.conj();
            }
        }
        for i in l..hi {
            h[i * n + i] += mu;
        }
    }
    let w: Vec<Complex64> = (0..n).map(|i| h[i * n + i]).collect();
    if !vectors {
        return Ok((w, vec![]));
    }
    // Eigenvectors of the upper triangular T: solve (T - w_k I) y = 0 with y_k = 1.
    let mut vecs = vec![z0; n * n];
    let small = f64::EPSILON * scale;
    for k in 0..n {
        let mut y = vec![z0; n];
        y[k] = Complex64::new(1.0, 0.0);
        for i in (0..k).rev() {
            let s: Complex64 = (i + 1..=k).map(|j| h[i * n + j] * y[j]).sum();
            let mut d = h[i * n + i] - w[k];
            if d.norm() < small {
                d = Complex64::new(small, 0.0);
            }
            y[i] = -s / d;
        }
        let mut x: Vec<Complex64> = (0..n)
            .map(|r| (0..=k).map(|j| q[r * n + j] * y[j]).sum())
            .collect();
        let nrm: f64 = x.iter().map(|v| v.norm_sqr()).sum::<f64>().sqrt();
        let big = x
            .iter()
            .copied()
            .max_by(|a, b| a.norm().total_cmp(&b.norm()))
            .unwrap_or(z0);
        let ph = if big.norm() == 0.0 {
            Complex64::new(1.0, 0.0)
        } else {
            big.conj() / big.norm()
        };
        x.iter_mut().for_each(|v| *v = *v * ph / nrm);
        for r in 0..n {
            vecs[r * n + k] = x[r];
        }
    }
    Ok((w, vecs))
}
