//! `mx.linalg` factorizations and solvers against `numpy.linalg` (float32 and float64,
//! batches, non-contiguous inputs, tall / wide / empty matrices), factorizations checked
//! by reconstruction where the factors are not unique, errors, and the vjp / jvp / vmap
//! rules of the factorization primitives (finite differences in float64).

use crate::common::*;
use crate::gradcheck::{check, check_vmap, r64};
use mlxr::ops;
use mlxr::{Array, Dtype, Result};

/// A random well-conditioned square batch (`x + n I`).
fn wellcond(shape: &[usize], dt: Dtype, seed: u64) -> Array {
    let n = shape[shape.len() - 1];
    let x = rand(shape, Dtype::Float64, -1.0, 1.0, seed);
    let e = ops::multiply(
        ops::eye(n, None, 0, Some(Dtype::Float64)).unwrap(),
        n as f64,
    )
    .unwrap();
    ops::add(&x, &e).unwrap().astype(dt).unwrap()
}

/// A random symmetric positive definite batch (`x x^T + n I`).
fn spd(shape: &[usize], dt: Dtype, seed: u64) -> Array {
    let n = shape[shape.len() - 1];
    let x = rand(shape, Dtype::Float64, -1.0, 1.0, seed);
    let xxt = ops::matmul(&x, &ops::swapaxes(&x, -1, -2).unwrap()).unwrap();
    let e = ops::multiply(
        ops::eye(n, None, 0, Some(Dtype::Float64)).unwrap(),
        n as f64,
    )
    .unwrap();
    ops::add(&xxt, &e).unwrap().astype(dt).unwrap()
}

fn mt(x: &Array) -> Array {
    ops::swapaxes(x, -1, -2).unwrap()
}

fn tols(dt: Dtype) -> (f64, f64) {
    if dt == Dtype::Float64 {
        (1e-9, 1e-10)
    } else {
        (2e-4, 2e-4)
    }
}

#[test]
#[allow(clippy::type_complexity)]
fn solvers_match_numpy() {
    on_each_device(|_| {
        for dt in [Dtype::Float32, Dtype::Float64] {
            let (rt, at) = tols(dt);
            let a = wellcond(&[2, 5, 5], dt, 1);
            let s = spd(&[3, 4, 4], dt, 2);
            let b = rand(&[2, 5, 3], dt, -1.0, 1.0, 3);
            let bv = rand(&[2, 5], dt, -1.0, 1.0, 4);
            let tall = rand(&[6, 4], dt, -1.0, 1.0, 5);
            let at_t = mt(&wellcond(&[5, 5], dt, 6)); // non-contiguous
            type F = Box<dyn Fn() -> Result<Array>>;
            let cases: Vec<(&str, Vec<(&str, &Array)>, F)> = vec![
                ("out = np.linalg.inv(a)", vec![("a", &a)], {
                    let a = a.clone();
                    Box::new(move || ops::inv(&a))
                }),
                ("out = np.linalg.inv(a)", vec![("a", &at_t)], {
                    let a = at_t.clone();
                    Box::new(move || ops::inv(&a))
                }),
                ("out = np.linalg.inv(np.tril(a))", vec![("a", &a)], {
                    let a = a.clone();
                    Box::new(move || ops::tri_inv(&a, false))
                }),
                ("out = np.linalg.inv(np.triu(a))", vec![("a", &a)], {
                    let a = a.clone();
                    Box::new(move || ops::tri_inv(&a, true))
                }),
                ("out = np.linalg.solve(a, b)", vec![("a", &a), ("b", &b)], {
                    let (a, b) = (a.clone(), b.clone());
                    Box::new(move || ops::solve(&a, &b))
                }),
                (
                    "out = np.linalg.solve(a, bv[..., None])[..., 0]",
                    vec![("a", &a), ("bv", &bv)],
                    {
                        let (a, b) = (a.clone(), bv.clone());
                        Box::new(move || ops::solve(&a, &b))
                    },
                ),
                (
                    "out = np.linalg.solve(np.triu(a), b)",
                    vec![("a", &a), ("b", &b)],
                    {
                        let (a, b) = (a.clone(), b.clone());
                        Box::new(move || ops::solve_triangular(&a, &b, true))
                    },
                ),
                ("out = np.linalg.cholesky(s)", vec![("s", &s)], {
                    let s = s.clone();
                    Box::new(move || ops::cholesky(&s, false))
                }),
                (
                    "out = np.swapaxes(np.linalg.cholesky(s), -1, -2)",
                    vec![("s", &s)],
                    {
                        let s = s.clone();
                        Box::new(move || ops::cholesky(&s, true))
                    },
                ),
                ("out = np.linalg.inv(s)", vec![("s", &s)], {
                    let s = s.clone();
                    Box::new(move || ops::cholesky_inv(&ops::cholesky(&s, false)?, false))
                }),
                ("out = np.linalg.eigvalsh(s)", vec![("s", &s)], {
                    let s = s.clone();
                    Box::new(move || ops::eigvalsh(&s, "L"))
                }),
                (
                    "out = np.linalg.eigvalsh(np.triu(s) + np.triu(s, 1).swapaxes(-1, -2) * 0.5, UPLO='U')",
                    vec![("s", &s)],
                    {
                        let s = s.clone();
                        Box::new(move || {
                            let t = ops::add(
                                &ops::triu(&s, 0)?,
                                &ops::multiply(mt(&ops::triu(&s, 1)?), 0.5)?,
                            )?;
                            ops::eigvalsh(&t, "U")
                        })
                    },
                ),
                (
                    "out = np.linalg.svd(t, compute_uv=False)",
                    vec![("t", &tall)],
                    {
                        let t = tall.clone();
                        Box::new(move || Ok(ops::svd(&t, false)?.remove(0)))
                    },
                ),
                (
                    "out = np.linalg.svd(t.T, compute_uv=False)",
                    vec![("t", &tall)],
                    {
                        let t = tall.clone();
                        Box::new(move || Ok(ops::svd(&mt(&t), false)?.remove(0)))
                    },
                ),
                ("out = np.linalg.pinv(t)", vec![("t", &tall)], {
                    let t = tall.clone();
                    Box::new(move || ops::pinv(&t))
                }),
                (
                    "out = np.sort_complex(np.linalg.eigvals(a).astype(np.complex64))",
                    vec![("a", &a)],
                    {
                        let a = a.clone();
                        Box::new(move || {
                            let w = ops::eigvals(&a)?;
                            // sort_complex: by real part, then imaginary part.
                            sort_complex(&w)
                        })
                    },
                ),
                (
                    "out = np.cross(t[:3, :3], t[3:, :3])",
                    vec![("t", &tall)],
                    {
                        let t = tall.clone();
                        Box::new(move || {
                            let x = ops::slice(&t, &[0, 0], &[3, 3], &[1, 1])?;
                            let y = ops::slice(&t, &[3, 0], &[6, 3], &[1, 1])?;
                            ops::cross(&x, &y, -1)
                        })
                    },
                ),
            ];
            let batch: Vec<(String, Vec<(&str, &Array)>)> = cases
                .iter()
                .map(|(c, i, _)| (c.to_string(), i.clone()))
                .collect();
            let refs = numpy_batch(&batch);
            for ((code, _, f), want) in cases.iter().zip(refs) {
                let got = f().unwrap();
                let want = if got.dtype() == Dtype::Complex64 {
                    want[0].clone()
                } else {
                    want[0].astype(dt).unwrap()
                };
                let what = format!("{code} ({dt})");
                if got.dtype() != Dtype::Complex64 {
                    assert_eq!(got.dtype(), dt, "{what}: dtype");
                }
                assert_close(&got, &want, rt, at, &what);
            }
        }
    });
}

/// Sort complex values of the last axis by (re, im) (a host-side helper for comparisons).
fn sort_complex(w: &Array) -> Result<Array> {
    let v = w.to_vec::<mlxr::Complex32>()?;
    let n = *w.shape().last().unwrap();
    let mut out = Vec::with_capacity(v.len());
    for row in v.chunks(n.max(1)) {
        let mut r = row.to_vec();
        r.sort_by(|a, b| a.re.total_cmp(&b.re).then(a.im.total_cmp(&b.im)));
        out.extend(r);
    }
    Array::from_slice(&out, w.shape())
}

fn close(x: &Array, y: &Array, tol: f64, what: &str) {
    assert_close(
        &x.astype(Dtype::Float64).unwrap(),
        &y.astype(Dtype::Float64).unwrap(),
        tol,
        tol,
        what,
    );
}

#[test]
fn factorizations_reconstruct() {
    on_each_device(|_| {
        for dt in [Dtype::Float32, Dtype::Float64] {
            let tol = if dt == Dtype::Float64 { 1e-10 } else { 2e-5 };
            for shape in [[3usize, 5, 5], [2, 7, 4], [2, 4, 7], [1, 1, 1], [2, 6, 6]] {
                let a = rand(&shape, dt, -1.0, 1.0, shape.iter().sum::<usize>() as u64);
                let (m, n) = (shape[1], shape[2]);
                let k = m.min(n);
                // QR: Q R = A, Q^T Q = I, R upper triangular.
                let (q, r) = ops::qr(&a).unwrap();
                assert_eq!(q.shape(), &[shape[0], m, k]);
                assert_eq!(r.shape(), &[shape[0], k, n]);
                close(&ops::matmul(&q, &r).unwrap(), &a, tol, "qr: Q R");
                let eye =
                    ops::broadcast_to(&ops::eye(k, None, 0, Some(dt)).unwrap(), &[shape[0], k, k])
                        .unwrap();
                close(&ops::matmul(&mt(&q), &q).unwrap(), &eye, tol, "qr: Q^T Q");
                close(&ops::triu(&r, 0).unwrap(), &r, 0.0, "qr: R triangular");
                // SVD: U diag(S) Vt = A, U and Vt orthogonal, S descending.
                let o = ops::svd(&a, true).unwrap();
                let (u, s, vt) = (&o[0], &o[1], &o[2]);
                assert_eq!(u.shape(), &[shape[0], m, m]);
                assert_eq!(vt.shape(), &[shape[0], n, n]);
                let uk = ops::slice(
                    u,
                    &[0, 0, 0],
                    &[shape[0] as isize, m as isize, k as isize],
                    &[1, 1, 1],
                )
                .unwrap();
                let vk = ops::slice(
                    vt,
                    &[0, 0, 0],
                    &[shape[0] as isize, k as isize, n as isize],
                    &[1, 1, 1],
                )
                .unwrap();
                let us = ops::multiply(&uk, ops::expand_dims(s, &[-2]).unwrap()).unwrap();
                close(&ops::matmul(&us, &vk).unwrap(), &a, tol, "svd: U S Vt");
                let em =
                    ops::broadcast_to(&ops::eye(m, None, 0, Some(dt)).unwrap(), &[shape[0], m, m])
                        .unwrap();
                close(&ops::matmul(&mt(u), u).unwrap(), &em, tol, "svd: U^T U");
                let en =
                    ops::broadcast_to(&ops::eye(n, None, 0, Some(dt)).unwrap(), &[shape[0], n, n])
                        .unwrap();
                close(&ops::matmul(vt, &mt(vt)).unwrap(), &en, tol, "svd: Vt Vt^T");
                let sv = s.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
                for row in sv.chunks(k) {
                    assert!(
                        row.windows(2).all(|w| w[0] >= w[1]),
                        "svd: S descending {row:?}"
                    );
                }
                // LU: L[P] @ U = A; lu_factor's packed form matches.
                let (p, l, uu) = ops::lu(&a).unwrap();
                assert_eq!(p.dtype(), Dtype::Uint32);
                let lp = ops::take_along_axis(
                    &l,
                    &ops::expand_dims(&p.astype(Dtype::Int32).unwrap(), &[-1]).unwrap(),
                    Some(-2),
                )
                .unwrap();
                close(&ops::matmul(&lp, &uu).unwrap(), &a, tol, "lu: L[P] U");
                let (lu, piv) = ops::lu_factor(&a).unwrap();
                assert_eq!(lu.shape(), a.shape());
                assert_eq!(piv.shape(), &[shape[0], k]);
            }
            // eigh: V diag(w) V^T = A and V orthogonal; eig: A V = V diag(w).
            let s = spd(&[2, 5, 5], dt, 9);
            let (w, v) = ops::eigh(&s, "L").unwrap();
            let vw = ops::multiply(&v, ops::expand_dims(&w, &[-2]).unwrap()).unwrap();
            close(
                &ops::matmul(&vw, &mt(&v)).unwrap(),
                &s,
                tol * 10.0,
                "eigh: V w V^T",
            );
            let a = wellcond(&[2, 6, 6], dt, 10);
            let (w, v) = ops::eig(&a).unwrap();
            let ac = a.astype(Dtype::Complex64).unwrap();
            let lhs = ops::matmul(&ac, &v).unwrap();
            let rhs = ops::multiply(&v, ops::expand_dims(&w, &[-2]).unwrap()).unwrap();
            assert_close(&lhs, &rhs, 1e-4, 1e-4, "eig: A V = V w");
            // A rotation: eigenvalues ±i.
            let rot = Array::from_slice(&[0.0f32, 1.0, -1.0, 0.0], &[2, 2]).unwrap();
            let w = sort_complex(&ops::eigvals(&rot).unwrap())
                .unwrap()
                .to_vec::<mlxr::Complex32>()
                .unwrap();
            assert!(
                (w[0].im + 1.0).abs() < 1e-6
                    && (w[1].im - 1.0).abs() < 1e-6
                    && w[0].re.abs() < 1e-6
            );
        }
    });
}

#[test]
fn empty_and_errors() {
    let e = ops::zeros(&[0, 3, 3], Some(Dtype::Float32)).unwrap();
    assert_eq!(ops::inv(&e).unwrap().shape(), &[0, 3, 3]);
    ops::inv(&e).unwrap().eval().unwrap();
    let o = ops::svd(&e, true).unwrap();
    mlxr::eval(&o).unwrap();
    let msg = |r: Result<Array>| r.err().map(|e| e.to_string()).unwrap_or_default();
    let x = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 1);
    assert!(msg(ops::inv(&x)).contains("square"));
    assert!(msg(ops::inv(&ops::ones(&[3], None).unwrap())).contains(">= 2 dimensions"));
    assert!(
        msg(ops::inv(&ops::eye(3, None, 0, Some(Dtype::Int32)).unwrap()))
            .contains("float32 or float64")
    );
    assert!(msg(ops::inv(
        &ops::eye(3, None, 0, Some(Dtype::Float16)).unwrap()
    ))
    .contains("float32 or float64"));
    let sing = ops::inv(&ops::zeros(&[3, 3], None).unwrap()).unwrap();
    assert!(sing.eval().unwrap_err().to_string().contains("singular"));
    let npd = ops::cholesky(
        &ops::negative(&ops::eye(3, None, 0, None).unwrap()).unwrap(),
        false,
    )
    .unwrap();
    assert!(npd
        .eval()
        .unwrap_err()
        .to_string()
        .contains("positive definite"));
    assert!(msg(ops::solve(
        &ops::eye(3, None, 0, None).unwrap(),
        &ops::ones(&[4], None).unwrap()
    ))
    .contains("must match"));
    assert!(
        msg(ops::eigh(&ops::eye(3, None, 0, None).unwrap(), "X").map(|x| x.0)).contains("UPLO")
    );
    assert!(msg(ops::cross(
        &ops::ones(&[2, 4], None).unwrap(),
        &ops::ones(&[4], None).unwrap(),
        -1
    ))
    .contains("size 3"));
    let lu = ops::lu_factor(&x).unwrap().0;
    lu.eval().unwrap();
}

/// The factorization primitives' vjp / jvp checks (float64 finite differences).
pub fn run_grad() {
    let a = wellcond(&[2, 4, 4], Dtype::Float64, 11);
    check(
        "inv",
        &|x| Ok(vec![ops::inv(&x[0])?]),
        std::slice::from_ref(&a),
    );
    check(
        "tri_inv",
        &|x| Ok(vec![ops::tri_inv(&x[0], true)?]),
        std::slice::from_ref(&a),
    );
    check(
        "solve",
        &|x| Ok(vec![ops::solve(&x[0], &x[1])?]),
        &[a.clone(), r64(&[2, 4, 2], -1.0, 1.0, 12)],
    );
    let s = spd(&[2, 4, 4], Dtype::Float64, 13);
    check(
        "cholesky",
        &|x| Ok(vec![ops::cholesky(&x[0], false)?]),
        std::slice::from_ref(&s),
    );
    check(
        "cholesky upper",
        &|x| Ok(vec![ops::cholesky(&x[0], true)?]),
        std::slice::from_ref(&s),
    );
    check(
        "eigh",
        &|x| {
            let (w, v) = ops::eigh(&x[0], "L")?;
            // Eigenvectors up to sign: compare v * sign(v[0]).
            let first = ops::slice(&v, &[0, 0, 0], &[2, 1, 4], &[1, 1, 1])?;
            Ok(vec![w, ops::multiply(&v, &ops::sign(&first)?)?])
        },
        std::slice::from_ref(&s),
    );
    check(
        "eigvalsh U",
        &|x| Ok(vec![ops::eigvalsh(&x[0], "U")?]),
        std::slice::from_ref(&s),
    );
    let g = r64(&[2, 3, 3], -1.0, 1.0, 14);
    check(
        "svd",
        &|x| {
            let o = ops::svd(&x[0], true)?;
            // Sign-invariant products of the singular vectors.
            Ok(vec![
                o[1].clone(),
                ops::matmul(&o[0], &mt(&o[0]))?,
                ops::multiply(
                    &ops::slice(&o[0], &[0, 0, 0], &[2, 3, 1], &[1, 1, 1])?,
                    &ops::slice(&o[2], &[0, 0, 0], &[2, 1, 3], &[1, 1, 1])?,
                )?,
            ])
        },
        std::slice::from_ref(&g),
    );
    let tall = r64(&[5, 3], -1.0, 1.0, 15);
    check(
        "svd values tall",
        &|x| ops::svd(&x[0], false),
        std::slice::from_ref(&tall),
    );
    check(
        "qr tall",
        &|x| {
            let (q, r) = ops::qr(&x[0])?;
            Ok(vec![q, r])
        },
        std::slice::from_ref(&tall),
    );
    check(
        "qr wide",
        &|x| {
            let (q, r) = ops::qr(&mt(&x[0]))?;
            Ok(vec![q, r])
        },
        std::slice::from_ref(&tall),
    );
    check(
        "pinv",
        &|x| Ok(vec![ops::pinv(&x[0])?]),
        std::slice::from_ref(&tall),
    );
}

/// The factorization primitives' vmap checks.
pub fn run_vmap() {
    let a = wellcond(&[3, 4, 4], Dtype::Float64, 21);
    // The batch on axis 1 (a non-contiguous view).
    let s = ops::moveaxis(&spd(&[3, 4, 4], Dtype::Float64, 22), 0, 1).unwrap();
    check_vmap(
        "inv",
        &|x| Ok(vec![ops::inv(&x[0])?]),
        std::slice::from_ref(&a),
        &[Some(0)],
    );
    check_vmap(
        "cholesky",
        &|x| Ok(vec![ops::cholesky(&x[0], false)?]),
        std::slice::from_ref(&s),
        &[Some(1)],
    );
    check_vmap(
        "eigh",
        &|x| {
            let (w, v) = ops::eigh(&x[0], "L")?;
            Ok(vec![w, v])
        },
        std::slice::from_ref(&s),
        &[Some(1)],
    );
    let g = r64(&[4, 3, 5], -1.0, 1.0, 23);
    check_vmap(
        "svd",
        &|x| ops::svd(&x[0], true),
        std::slice::from_ref(&g),
        &[Some(1)],
    );
    check_vmap(
        "qr",
        &|x| {
            let (q, r) = ops::qr(&x[0])?;
            Ok(vec![q, r])
        },
        std::slice::from_ref(&g),
        &[Some(2)],
    );
    check_vmap(
        "lu_factor",
        &|x| {
            let (l, p) = ops::lu_factor(&x[0])?;
            Ok(vec![l, p])
        },
        std::slice::from_ref(&a),
        &[Some(0)],
    );
    check_vmap(
        "eig",
        &|x| Ok(vec![ops::eigvals(&x[0])?]),
        std::slice::from_ref(&a),
        &[Some(0)],
    );
}

#[test]
fn linalg_rules() {
    run_grad();
    run_vmap();
}
