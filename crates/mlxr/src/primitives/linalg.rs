//! Matrix factorization primitives (MLX's `Inverse`, `Cholesky`, `Eigh`, `SVD`, `QRF`,
//! `LUF`, `Eig`), batched over leading axes, float32 and float64. CPU kernels live in
//! `backend/cpu/linalg.rs`; on the GPU they run through `cpu_fallback` (MLX itself runs them
//! on the CPU stream only).
//!
//! MLX 0.32 has no derivatives for these; mlxr gives the standard ones (built from ops, so
//! they compose): `Inverse`, `Cholesky`, `Eigh`, `SVD` and `QRF` have vjp and jvp rules.
//! The symmetric factorizations read one triangle of their input, and their gradients are
//! with respect to the entries actually read (the other triangle gets zero). `LUF` and
//! `Eig` have no derivative (a clear error, as MLX).

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &["Inverse", "Cholesky", "Eigh", "SVD", "QRF", "LUF", "Eig"];

use crate::array::Array;
use crate::backend::cpu::linalg::{self as k, Out};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// The last two axes swapped.
pub(crate) fn mt(x: &Array) -> Result<Array> {
    ops::swapaxes(x, -1, -2)
}

/// `x @ y`.
fn mm(x: &Array, y: &Array) -> Result<Array> {
    ops::matmul(x, y)
}

/// A batch of diagonal matrices from vectors (`[..., n]` → `[..., n, n]`).
fn diag_embed(v: &Array) -> Result<Array> {
    let n = v.shape()[v.ndim() - 1];
    let eye = ops::eye(n, None, 0, Some(v.dtype()))?;
    ops::multiply(&ops::expand_dims(v, &[-2])?, &eye)
}

/// The diagonal of a batch of matrices (`[..., n, n]` → `[..., n]`).
fn diag_of(x: &Array) -> Result<Array> {
    ops::diagonal(x, 0, -2, -1)
}

/// The gradient with respect to the entries read from one triangle of a symmetric input,
/// from the gradient `s` of the symmetric matrix they stand for: `tril(s + s^T, -1) +
/// diag(s)` (or the upper version).
fn read_triangle(s: &Array, upper: bool) -> Result<Array> {
    let st = ops::add(s, &mt(s)?)?;
    let off = if upper {
        ops::triu(&st, 1)?
    } else {
        ops::tril(&st, -1)?
    };
    ops::add(&off, &diag_embed(&diag_of(s)?)?)
}

/// The symmetric matrix the entries of one triangle stand for.
fn symmetric_from(t: &Array, upper: bool) -> Result<Array> {
    let (tri, strict) = if upper {
        (ops::triu(t, 0)?, ops::triu(t, 1)?)
    } else {
        (ops::tril(t, 0)?, ops::tril(t, -1)?)
    };
    ops::add(&tri, &mt(&strict)?)
}

/// `x` with its batch axis (if any) moved to the front, for the batched kernels.
fn batch_front(x: &Array, axis: Option<usize>) -> Result<Array> {
    match axis {
        Some(b) => ops::moveaxis(x, b as isize, 0),
        None => ops::expand_dims(x, &[0]),
    }
}

/// A multi-output node on the current stream.
fn node(outs: Vec<(Vec<usize>, Dtype)>, p: Arc<dyn Primitive>, x: Array) -> Vec<Array> {
    Array::new_multi(outs, p, vec![x], ops::stream())
}

/// `1 / (w_j - w_i)` off the diagonal, 0 on it (`w`: `[..., n]`).
fn inv_gaps(w: &Array) -> Result<Array> {
    let n = w.shape()[w.ndim() - 1];
    let d = ops::subtract(&ops::expand_dims(w, &[-2])?, &ops::expand_dims(w, &[-1])?)?;
    let eye = ops::astype(&ops::eye(n, None, 0, None)?, Dtype::Bool)?;
    let safe = ops::where_(&eye, 1.0, &d)?;
    ops::where_(&eye, 0.0, &ops::reciprocal(&safe)?)
}

/// `vmap` of a one-input primitive: move the batch axis to the front, apply, and report
/// axis 0 for every output.
macro_rules! front_vmap {
    ($self:ident, $x:ident => $out:expr) => {
        fn vmap(
            &$self,
            inputs: &[Array],
            axes: &[Option<usize>],
        ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
            let $x = batch_front(&inputs[0], axes[0])?;
            let o: Vec<Array> = $out;
            let n = o.len();
            Ok((o, vec![Some(0); n]))
        }
    };
}

/// `vjp` and `jvp` that refuse, for factorizations MLX does not differentiate.
macro_rules! no_derivatives {
    ($what:literal) => {
        fn vjp(&self, _: &[Array], _: &[Array], _: &[usize], _: &[Array]) -> Result<Vec<Array>> {
            Err(Error::Unsupported(
                concat!($what, " has no vjp (as in MLX)").into(),
            ))
        }
        fn jvp(&self, _: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
            Err(Error::Unsupported(
                concat!($what, " has no jvp (as in MLX)").into(),
            ))
        }
    };
}

macro_rules! common_impl {
    () => {
        #[cfg(feature = "cuda")]
        fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
            crate::backend::cuda::cpu_fallback(self, inputs, outputs)
        }
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}

/// Evaluate a batched kernel into `outputs`.
fn run(
    inputs: &[Array],
    outputs: &[Array],
    f: impl Fn(&[f64], usize, usize) -> Result<Vec<Out>> + Sync,
) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let shapes: Vec<Vec<usize>> = outputs.iter().map(|o| o.shape().to_vec()).collect();
    let dts: Vec<Dtype> = outputs.iter().map(|o| o.dtype()).collect();
    let res = k::batched(&d, x.shape(), x.dtype(), &shapes, &dts, f)?;
    for (o, r) in outputs.iter().zip(res) {
        o.set_data(r);
    }
    Ok(())
}

// ---- Inverse ------------------------------------------------------------------------

/// The inverse of square matrices; with `tri`, of the lower (or `upper`) triangle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inverse {
    /// Invert a triangular matrix (the other triangle is ignored).
    pub tri: bool,
    /// For `tri`: the upper triangle.
    pub upper: bool,
}

impl Inverse {
    /// An `Inverse` node for `x`.
    pub fn apply(&self, x: &Array) -> Array {
        node(
            vec![(x.shape().to_vec(), x.dtype())],
            Arc::new(self.clone()),
            x.clone(),
        )
        .pop()
        .expect("one output")
    }
    /// `t` restricted to the triangle this inverse reads.
    fn mask(&self, t: &Array) -> Result<Array> {
        match (self.tri, self.upper) {
            (false, _) => Ok(t.clone()),
            (true, true) => ops::triu(t, 0),
            (true, false) => ops::tril(t, 0),
        }
    }
}

impl Primitive for Inverse {
    fn name(&self) -> String {
        "Inverse".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (tri, upper) = (self.tri, self.upper);
        run(inputs, outputs, move |a, n, _| {
            let v = if tri {
                k::tri_inverse(a, n, upper)
            } else {
                k::inverse(a, n)?
            };
            Ok(vec![Out::Real(v)])
        })
    }
    /// `-(A^-T C A^-T)` (masked to the triangle read, for triangular inverses).
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let bt = mt(&outputs[0])?;
        let g = ops::negative(&mm(&mm(&bt, &cotangents[0])?, &bt)?)?;
        Ok(vec![self.mask(&g)?])
    }
    /// `-(A^-1 T A^-1)`.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let b = self.apply(&primals[0]);
        let t = self.mask(&ops::astype(&tangents[0], primals[0].dtype())?)?;
        Ok(vec![ops::negative(&mm(&mm(&b, &t)?, &b)?)?])
    }
    front_vmap!(self, x => vec![self.apply(&x)]);
    common_impl!();
}

// ---- Cholesky -----------------------------------------------------------------------

/// The Cholesky factor of symmetric positive definite matrices given by their lower (or
/// `upper`) triangle: `L` (`A = L L^T`) or `U` (`A = U^T U`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cholesky {
    /// Read the upper triangle and return `U`.
    pub upper: bool,
}

impl Cholesky {
    /// A `Cholesky` node for `x`.
    pub fn apply(&self, x: &Array) -> Array {
        node(
            vec![(x.shape().to_vec(), x.dtype())],
            Arc::new(self.clone()),
            x.clone(),
        )
        .pop()
        .expect("one output")
    }
}

/// `tril(x)` with its diagonal halved.
fn phi(x: &Array) -> Result<Array> {
    let half = ops::multiply(&diag_embed(&diag_of(x)?)?, 0.5)?;
    ops::subtract(&ops::tril(x, 0)?, &half)
}

impl Primitive for Cholesky {
    fn name(&self) -> String {
        "Cholesky".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let upper = self.upper;
        run(inputs, outputs, move |a, n, _| {
            Ok(vec![Out::Real(k::cholesky(a, n, upper)?)])
        })
    }
    /// With `L` the lower factor and `C` its cotangent: `S = L^-T Φ(L^T C) L^-1`
    /// (`Φ`: lower triangle, diagonal halved), mapped to the triangle read.
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (l, c) = if self.upper {
            (mt(&outputs[0])?, mt(&cotangents[0])?)
        } else {
            (outputs[0].clone(), cotangents[0].clone())
        };
        let li = Inverse {
            tri: true,
            upper: false,
        }
        .apply(&l);
        let p = phi(&mm(&mt(&l)?, &c)?)?;
        let s = mm(&mm(&mt(&li)?, &p)?, &li)?;
        Ok(vec![read_triangle(&s, self.upper)?])
    }
    /// `dL = L Φ(L^-1 dA L^-T)` with `dA` the symmetric tangent the triangle stands for.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let out = self.apply(&primals[0]);
        let l = if self.upper { mt(&out)? } else { out };
        let li = Inverse {
            tri: true,
            upper: false,
        }
        .apply(&l);
        let t = ops::astype(&tangents[0], primals[0].dtype())?;
        let da = symmetric_from(&t, self.upper)?;
        let dl = mm(&l, &phi(&mm(&mm(&li, &da)?, &mt(&li)?)?)?)?;
        Ok(vec![if self.upper { mt(&dl)? } else { dl }])
    }
    front_vmap!(self, x => vec![self.apply(&x)]);
    common_impl!();
}

// ---- Eigh ---------------------------------------------------------------------------

/// Eigenvalues (ascending) and, with `vectors`, eigenvectors (columns) of symmetric
/// matrices given by their lower (or `upper`) triangle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eigh {
    /// Read the upper triangle (`UPLO="U"`).
    pub upper: bool,
    /// Also return the eigenvectors.
    pub vectors: bool,
}

impl Eigh {
    /// The outputs for `x`: `[w]` or `[w, V]`.
    pub fn apply(&self, x: &Array) -> Vec<Array> {
        let nd = x.ndim();
        let mut outs = vec![(x.shape()[..nd - 1].to_vec(), x.dtype())];
        if self.vectors {
            outs.push((x.shape().to_vec(), x.dtype()));
        }
        node(outs, Arc::new(self.clone()), x.clone())
    }
}

impl Primitive for Eigh {
    fn name(&self) -> String {
        "Eigh".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (upper, vectors) = (self.upper, self.vectors);
        run(inputs, outputs, move |a, n, _| {
            let (w, v) = k::eigh(a, n, upper);
            let mut o = vec![Out::Real(w)];
            if vectors {
                o.push(Out::Real(v));
            }
            Ok(o)
        })
    }
    /// `S = V (diag(cw) + F ∘ (V^T cV)) V^T` with `F_ij = 1 / (w_j - w_i)`, mapped to the
    /// triangle read.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let (w, v) = if self.vectors {
            (outputs[0].clone(), outputs[1].clone())
        } else {
            let o = Eigh {
                upper: self.upper,
                vectors: true,
            }
            .apply(&primals[0]);
            (o[0].clone(), o[1].clone())
        };
        let mut inner = diag_embed(&cotangents[0])?;
        if self.vectors {
            let f = inv_gaps(&w)?;
            inner = ops::add(&inner, &ops::multiply(&f, &mm(&mt(&v)?, &cotangents[1])?)?)?;
        }
        let s = mm(&mm(&v, &inner)?, &mt(&v)?)?;
        Ok(vec![read_triangle(&s, self.upper)?])
    }
    /// `dw = diag(V^T dA V)`, `dV = V (F ∘ (V^T dA V))`.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let o = Eigh {
            upper: self.upper,
            vectors: true,
        }
        .apply(&primals[0]);
        let (w, v) = (&o[0], &o[1]);
        let t = ops::astype(&tangents[0], primals[0].dtype())?;
        let da = symmetric_from(&t, self.upper)?;
        let m = mm(&mm(&mt(v)?, &da)?, v)?;
        let mut out = vec![diag_of(&m)?];
        if self.vectors {
            out.push(mm(v, &ops::multiply(&inv_gaps(w)?, &m)?)?);
        }
        Ok(out)
    }
    front_vmap!(self, x => self.apply(&x));
    common_impl!();
}

// ---- SVD ----------------------------------------------------------------------------

/// Singular value decomposition: `[U (m x m), S (k), Vt (n x n)]` with `compute_uv`, else
/// `[S]` (descending singular values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Svd {
    /// Also return the singular vectors.
    pub compute_uv: bool,
}

impl Svd {
    /// The outputs for `x`.
    pub fn apply(&self, x: &Array) -> Vec<Array> {
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let batch = x.shape()[..nd - 2].to_vec();
        let with = |tail: &[usize]| {
            let mut s = batch.clone();
            s.extend_from_slice(tail);
            (s, x.dtype())
        };
        let outs = if self.compute_uv {
            vec![with(&[m, m]), with(&[m.min(n)]), with(&[n, n])]
        } else {
            vec![with(&[m.min(n)])]
        };
        node(outs, Arc::new(self.clone()), x.clone())
    }
}

/// The first `k` columns of `x`.
fn first_cols(x: &Array, k: usize) -> Result<Array> {
    let nd = x.ndim();
    let mut stop: Vec<isize> = x.shape().iter().map(|&d| d as isize).collect();
    stop[nd - 1] = k as isize;
    ops::slice(x, &vec![0; nd], &stop, &vec![1; nd])
}

impl Primitive for Svd {
    fn name(&self) -> String {
        "SVD".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let uv = self.compute_uv;
        run(inputs, outputs, move |a, m, n| {
            let (u, s, vt) = k::svd(a, m, n);
            Ok(if uv {
                vec![Out::Real(u), Out::Real(s), Out::Real(vt)]
            } else {
                vec![Out::Real(s)]
            })
        })
    }
    /// The reduced-SVD adjoint (cotangents of `U`'s and `V`'s columns past `min(m, n)`
    /// are ignored: those columns are any basis of a complement):
    /// `U [(F ∘ (U^T cU - cU^T U)) S + diag(cS) + S (F ∘ (V^T cV - cV^T V))] V^T
    ///  + (I - U U^T) cU S^-1 V^T + U S^-1 cV^T (I - V V^T)`, `F_ij = 1 / (s_j² - s_i²)`.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let kk = m.min(n);
        let full = if self.compute_uv {
            outputs.to_vec()
        } else {
            Svd { compute_uv: true }.apply(x)
        };
        let u = first_cols(&full[0], kk)?;
        let s = full[1].clone();
        let v = first_cols(&mt(&full[2])?, kk)?;
        let cs = if self.compute_uv {
            &cotangents[1]
        } else {
            &cotangents[0]
        };
        let mut inner = diag_embed(cs)?;
        let mut extra: Option<Array> = None;
        if self.compute_uv {
            let cu = first_cols(&cotangents[0], kk)?;
            let cv = first_cols(&mt(&cotangents[2])?, kk)?;
            let f = inv_gaps(&ops::square(&s)?)?;
            let sm = diag_embed(&s)?;
            let utcu = mm(&mt(&u)?, &cu)?;
            let vtcv = mm(&mt(&v)?, &cv)?;
            let ju = ops::multiply(&f, &ops::subtract(&utcu, &mt(&utcu)?)?)?;
            let jv = ops::multiply(&f, &ops::subtract(&vtcv, &mt(&vtcv)?)?)?;
            inner = ops::add(&inner, &ops::add(&mm(&ju, &sm)?, &mm(&sm, &jv)?)?)?;
            let sinv = diag_embed(&ops::reciprocal(&s)?)?;
            let mut e: Option<Array> = None;
            if m > kk {
                let proj = ops::subtract(&cu, &mm(&u, &utcu)?)?;
                e = Some(mm(&mm(&proj, &sinv)?, &mt(&v)?)?);
            }
            if n > kk {
                let proj = ops::subtract(&cv, &mm(&v, &vtcv)?)?;
                let t = mm(&mm(&u, &sinv)?, &mt(&proj)?)?;
                e = Some(match e {
                    Some(a) => ops::add(&a, &t)?,
                    None => t,
                });
            }
            extra = e;
        }
        let mut g = mm(&mm(&u, &inner)?, &mt(&v)?)?;
        if let Some(e) = extra {
            g = ops::add(&g, &e)?;
        }
        Ok(vec![g])
    }
    /// `dP = U^T dA V`: `dS = diag(dP)`; for square inputs `dU = U (F ∘ (dP S + S dP^T))`,
    /// `dV = V (F ∘ (S dP + dP^T S))` (`F` as in the vjp), plus for non-square inputs the
    /// parts of `dA V S^-1` (`dA^T U S^-1`) outside the span of `U` (`V`); the columns past
    /// `min(m, n)` get zero tangents.
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let x = &primals[0];
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let kk = m.min(n);
        let full = Svd { compute_uv: true }.apply(x);
        let u = first_cols(&full[0], kk)?;
        let v = first_cols(&mt(&full[2])?, kk)?;
        let s = &full[1];
        let t = ops::astype(&tangents[0], x.dtype())?;
        let dp = mm(&mm(&mt(&u)?, &t)?, &v)?;
        let ds = diag_of(&dp)?;
        if !self.compute_uv {
            return Ok(vec![ds]);
        }
        let f = inv_gaps(&ops::square(s)?)?;
        let sm = diag_embed(s)?;
        let mut du = mm(
            &u,
            &ops::multiply(&f, &ops::add(&mm(&dp, &sm)?, &mm(&sm, &mt(&dp)?)?)?)?,
        )?;
        let mut dv = mm(
            &v,
            &ops::multiply(&f, &ops::add(&mm(&sm, &dp)?, &mm(&mt(&dp)?, &sm)?)?)?,
        )?;
        let sinv = diag_embed(&ops::reciprocal(s)?)?;
        if m > kk {
            // The part of dA V S^-1 outside U's span, and zero tangents for U's columns
            // past k (any basis of the complement).
            let av = mm(&mm(&t, &v)?, &sinv)?;
            let proj = ops::subtract(&av, &mm(&u, &mm(&mt(&u)?, &av)?)?)?;
            du = ops::add(&du, &proj)?;
            let mut zs = du.shape().to_vec();
            zs[nd - 1] = m - kk;
            du = ops::concatenate(&[du, ops::zeros(&zs, Some(x.dtype()))?], -1)?;
        }
        if n > kk {
            let au = mm(&mm(&mt(&t)?, &u)?, &sinv)?;
            let proj = ops::subtract(&au, &mm(&v, &mm(&mt(&v)?, &au)?)?)?;
            dv = ops::add(&dv, &proj)?;
            let mut zs = dv.shape().to_vec();
            zs[nd - 1] = n - kk;
            dv = ops::concatenate(&[dv, ops::zeros(&zs, Some(x.dtype()))?], -1)?;
        }
        Ok(vec![du, ds, mt(&dv)?])
    }
    front_vmap!(self, x => self.apply(&x));
    common_impl!();
}

// ---- QRF ----------------------------------------------------------------------------

/// Reduced QR factorization: `Q` (`m x k`, orthonormal columns) and `R` (`k x n`, upper
/// triangular with a non-negative diagonal), `k = min(m, n)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qrf;

impl Qrf {
    /// `[Q, R]` for `x`.
    pub fn apply(x: &Array) -> Vec<Array> {
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let k = m.min(n);
        let mut qs = x.shape()[..nd - 2].to_vec();
        let mut rs = qs.clone();
        qs.extend_from_slice(&[m, k]);
        rs.extend_from_slice(&[k, n]);
        node(
            vec![(qs, x.dtype()), (rs, x.dtype())],
            Arc::new(Qrf),
            x.clone(),
        )
    }
}

/// `tril(m, -1) + tril(m, -1)^T + diag(m)`.
fn copyltu(m: &Array) -> Result<Array> {
    let l = ops::tril(m, -1)?;
    ops::add(&ops::add(&l, &mt(&l)?)?, &diag_embed(&diag_of(m)?)?)
}

/// The QR adjoint for `m >= n`: `(cQ + Q copyltu(M)) R^-T`, `M = R cR^T - cQ^T Q`.
fn qr_vjp_tall(q: &Array, r: &Array, cq: &Array, cr: &Array) -> Result<Array> {
    let mmat = ops::subtract(&mm(r, &mt(cr)?)?, &mm(&mt(cq)?, q)?)?;
    let b = ops::add(cq, &mm(q, &copyltu(&mmat)?)?)?;
    let ri = Inverse {
        tri: true,
        upper: true,
    }
    .apply(r);
    mm(&b, &mt(&ri)?)
}

/// Split the last axis at `k`.
fn split_cols(x: &Array, k: usize) -> Result<(Array, Array)> {
    let v = ops::split_indices(x, &[k as isize], -1)?;
    Ok((v[0].clone(), v[1].clone()))
}

impl Primitive for Qrf {
    fn name(&self) -> String {
        "QRF".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        run(inputs, outputs, |a, m, n| {
            let (q, r) = k::qr(a, m, n);
            Ok(vec![Out::Real(q), Out::Real(r)])
        })
    }
    /// For `m >= n` the standard adjoint; for `m < n` (`A = [X | Y]`, `R = [U | V]`) the
    /// adjoint of `X`'s factorization with `cQ + Y cV^T`, and `Q cV` for `Y`.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let (q, r) = (&outputs[0], &outputs[1]);
        let (cq, cr) = (&cotangents[0], &cotangents[1]);
        if m >= n {
            return Ok(vec![qr_vjp_tall(q, r, cq, cr)?]);
        }
        let (_, y) = split_cols(x, m)?;
        let (ru, _) = split_cols(r, m)?;
        let (cu, cv) = split_cols(cr, m)?;
        let cq2 = ops::add(cq, &mm(&y, &mt(&cv)?)?)?;
        let gx = qr_vjp_tall(q, &ru, &cq2, &cu)?;
        let gy = mm(q, &cv)?;
        Ok(vec![ops::concatenate(&[gx, gy], -1)?])
    }
    /// `C = Q^T dA R^-1`, `Ω = tril(C, -1) - tril(C, -1)^T`: `dR = (C - Ω) R`,
    /// `dQ = dA R^-1 - Q (C - Ω)` (for `m < n` on the square part, then
    /// `dV = Q^T (dY - dQ V)`).
    fn jvp(&self, primals: &[Array], tangents: &[Array], _argnums: &[usize]) -> Result<Vec<Array>> {
        let x = &primals[0];
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let o = Qrf::apply(x);
        let (q, r) = (&o[0], &o[1]);
        let t = ops::astype(&tangents[0], x.dtype())?;
        let (tx, ty, rsq, rrest) = if m >= n {
            (t.clone(), None, r.clone(), None)
        } else {
            let (tx, ty) = split_cols(&t, m)?;
            let (ru, rv) = split_cols(r, m)?;
            (tx, Some(ty), ru, Some(rv))
        };
        let ri = Inverse {
            tri: true,
            upper: true,
        }
        .apply(&rsq);
        let dar = mm(&tx, &ri)?;
        let c = mm(&mt(q)?, &dar)?;
        let l = ops::tril(&c, -1)?;
        let omega = ops::subtract(&l, &mt(&l)?)?;
        let cm = ops::subtract(&c, &omega)?;
        let dr = mm(&cm, &rsq)?;
        let dq = ops::subtract(&dar, &mm(q, &cm)?)?;
        let dr = match (ty, rrest) {
            (Some(ty), Some(rv)) => {
                let dv = mm(&mt(q)?, &ops::subtract(&ty, &mm(&dq, &rv)?)?)?;
                ops::concatenate(&[dr, dv], -1)?
            }
            _ => dr,
        };
        Ok(vec![dq, dr])
    }
    front_vmap!(self, x => Qrf::apply(&x));
    common_impl!();
}

// ---- LUF ----------------------------------------------------------------------------

/// LU factorization with partial pivoting: `[LU (m x n, L's unit diagonal implied),
/// pivots (k, uint32, LAPACK's 0-based row swaps), perm (m, uint32: row i of L U is row
/// perm[i] of A)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luf;

impl Luf {
    /// `[LU, pivots, perm]` for `x`.
    pub fn apply(x: &Array) -> Vec<Array> {
        let nd = x.ndim();
        let (m, n) = (x.shape()[nd - 2], x.shape()[nd - 1]);
        let batch = x.shape()[..nd - 2].to_vec();
        let with = |tail: &[usize]| {
            let mut s = batch.clone();
            s.extend_from_slice(tail);
            s
        };
        node(
            vec![
                (x.shape().to_vec(), x.dtype()),
                (with(&[m.min(n)]), Dtype::Uint32),
                (with(&[m]), Dtype::Uint32),
            ],
            Arc::new(Luf),
            x.clone(),
        )
    }
}

impl Primitive for Luf {
    fn name(&self) -> String {
        "LUF".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        run(inputs, outputs, |a, m, n| {
            let mut lu = a.to_vec();
            let (piv, _) = k::lu_in_place(&mut lu, m, n);
            let perm = k::pivots_to_perm(&piv, m);
            Ok(vec![
                Out::Real(lu),
                Out::Index(piv.iter().map(|&p| p as u32).collect()),
                Out::Index(perm.iter().map(|&p| p as u32).collect()),
            ])
        })
    }
    no_derivatives!("[LUF] the LU factorization");
    front_vmap!(self, x => Luf::apply(&x));
    common_impl!();
}

// ---- Eig ----------------------------------------------------------------------------

/// Eigenvalues and (with `vectors`) unit-norm eigenvectors of general real matrices, as
/// complex64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eig {
    /// Also return the eigenvectors.
    pub vectors: bool,
}

impl Eig {
    /// `[w]` or `[w, V]` for `x`.
    pub fn apply(&self, x: &Array) -> Vec<Array> {
        let nd = x.ndim();
        let mut outs = vec![(x.shape()[..nd - 1].to_vec(), Dtype::Complex64)];
        if self.vectors {
            outs.push((x.shape().to_vec(), Dtype::Complex64));
        }
        node(outs, Arc::new(self.clone()), x.clone())
    }
}

impl Primitive for Eig {
    fn name(&self) -> String {
        "Eig".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let vectors = self.vectors;
        run(inputs, outputs, move |a, n, _| {
            let (w, v) = k::eig(a, n, vectors)?;
            let mut o = vec![Out::Complex(w)];
            if vectors {
                o.push(Out::Complex(v));
            }
            Ok(o)
        })
    }
    no_derivatives!("[Eig] the general eigendecomposition");
    front_vmap!(self, x => self.apply(&x));
    common_impl!();
}
