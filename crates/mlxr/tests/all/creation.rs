//! Creation ops: zeros/ones/full (and `_like`), arange, linspace, eye, identity, tri,
//! meshgrid — values against NumPy (emulating MLX's arithmetic where MLX differs from
//! NumPy: arange accumulates in the output dtype, linspace computes in float32), dtypes
//! against MLX's defaults.

use crate::common::*;
use crate::shape::{check_exact, run_cases, Cases};
use mlxr::ops;
use mlxr::{Array, Complex32, Dtype};

#[test]
fn zeros_ones_full() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for &dt in &Dtype::ALL {
            if dt == Dtype::Bfloat16 {
                continue;
            }
            let n = if dt == Dtype::Bool {
                "bool_"
            } else {
                dt.name()
            };
            got.push(ops::zeros(&[2, 3], Some(dt)).unwrap());
            cases.push((format!("out = np.zeros((2, 3), np.{n})"), vec![]));
            got.push(ops::ones(&[4], Some(dt)).unwrap());
            cases.push((format!("out = np.ones(4, np.{n})"), vec![]));
            got.push(ops::full(&[3, 1, 2], 7, Some(dt)).unwrap());
            cases.push((format!("out = np.full((3, 1, 2), 7, np.{n})"), vec![]));
            let x = rand(&[3, 2], dt, -5.0, 5.0, 3);
            got.push(ops::zeros_like(&x).unwrap());
            cases.push(("out = np.zeros_like(x)".into(), vec![("x", x.clone())]));
            got.push(ops::ones_like(&x).unwrap());
            cases.push(("out = np.ones_like(x)".into(), vec![("x", x.clone())]));
            got.push(ops::full_like(&x, 2, None).unwrap());
            cases.push(("out = np.full_like(x, 2)".into(), vec![("x", x.clone())]));
            // An array value broadcasts (here a transposed one).
            let v = ops::transpose(&rand(&[3, 1], dt, -5.0, 5.0, 4)).unwrap();
            got.push(ops::full(&[2, 4, 3], &v, None).unwrap());
            cases.push((
                "out = np.broadcast_to(v, (2, 4, 3)).copy()".into(),
                vec![("v", v.clone())],
            ));
        }
        // Default dtypes follow the value; explicit dtypes convert it; 0-d and empty shapes.
        assert_eq!(ops::zeros(&[2], None).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::ones(&[2], None).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::full(&[2], 3, None).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::full(&[2], 3.0, None).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::full(&[2], true, None).unwrap().dtype(), Dtype::Bool);
        let c = ops::full(&[2], Complex32::new(1.0, -2.0), None).unwrap();
        assert_eq!(
            c.to_vec::<Complex32>().unwrap(),
            vec![Complex32::new(1.0, -2.0); 2]
        );
        assert_eq!(
            ops::full(&[3], 2.7, Some(Dtype::Int32))
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![2; 3]
        );
        let bf = ops::full(&[2], 1.5, Some(Dtype::Bfloat16)).unwrap();
        assert_eq!(bf.dtype(), Dtype::Bfloat16);
        assert_eq!(bf.to_vec::<f32>().unwrap(), vec![1.5, 1.5]);
        assert_eq!(ops::full(&[], 4, None).unwrap().item::<i32>().unwrap(), 4);
        assert_eq!(ops::zeros(&[0, 3], None).unwrap().shape(), &[0, 3]);
        let big = ops::full(&[100_000], -3i32, Some(Dtype::Int16)).unwrap();
        assert!(big.to_vec::<i16>().unwrap().iter().all(|&v| v == -3));
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &cases[i].0);
        }
        // Errors: values that do not fit, shapes that do not broadcast.
        let e = ops::full(&[2], 300, Some(Dtype::Uint8)).unwrap_err();
        assert!(e.to_string().contains("overflow"), "{e}");
        let v = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
        let e = ops::full(&[2], &v, None).unwrap_err();
        assert!(e.to_string().contains("[3]"), "{e}");
    });
}

#[test]
fn arange_matches_mlx() {
    on_each_device(|_| {
        // Values printed by MLX 0.32.4 for its integer/float conversions.
        let g = |a: Array| a.to_vec::<f64>().unwrap();
        assert_eq!(
            g(ops::arange_range(0.5, 5, 1.5, Some(Dtype::Int32)).unwrap()),
            vec![0.0, 2.0, 4.0]
        );
        assert_eq!(
            g(ops::arange_range(0, 5, 1.5, Some(Dtype::Int32)).unwrap()),
            vec![0.0, 1.0, 2.0, 3.0]
        );
        assert_eq!(
            g(ops::arange_range(-3, 5, 1.7, Some(Dtype::Int32)).unwrap()),
            vec![-3.0, -1.0, 1.0, 3.0, 5.0]
        );
        assert_eq!(
            g(ops::arange_range(10, 0, -3, Some(Dtype::Uint8)).unwrap()),
            vec![10.0, 7.0, 4.0, 1.0]
        );
        let f = ops::arange_range(0, 1, 0.1, None).unwrap();
        assert_eq!(f.dtype(), Dtype::Float32);
        assert_eq!(f.to_vec::<f32>().unwrap()[7] as f64, 0.7000000476837158);
        assert_eq!(ops::arange(5).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::arange(5.0).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::arange_range(5, 0, 1, None).unwrap().shape(), &[0]);
        let c = ops::arange_range(0.1, 3, 1, Some(Dtype::Complex64)).unwrap();
        assert_eq!(
            c.to_vec::<Complex32>().unwrap()[2],
            Complex32::new(2.1, 0.0)
        );
        // Against NumPy, emulating MLX: start and step converted to the dtype, then the value
        // accumulated in the dtype.
        let specs: Vec<(f64, f64, f64, bool, Dtype)> = vec![
            (0.0, 10.0, 1.0, false, Dtype::Int32),
            (-7.0, 20.0, 3.0, false, Dtype::Int64),
            (20.0, -7.0, -4.0, false, Dtype::Int16),
            (0.0, 10.0, 3.0, false, Dtype::Float16),
            (-2.5, 7.0, 0.37, true, Dtype::Float32),
            (-2.5, 7.0, 0.37, true, Dtype::Float64),
            (1.0, -3.0, -0.25, true, Dtype::Float16),
            (0.0, 3.0, 0.001, true, Dtype::Float32),
            (0.0, 200.0, 7.0, false, Dtype::Uint8),
            (3.7, 50.0, 2.2, true, Dtype::Int8),
        ];
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for &(s, e, k, float, dt) in &specs {
            let a = if float {
                ops::arange_range(s, e, k, Some(dt)).unwrap()
            } else {
                ops::arange_range(s as i64, e as i64, k as i64, Some(dt)).unwrap()
            };
            got.push(a);
            let code = if dt.is_integer() {
                format!(
                    "n = max(int(np.ceil(({e} - {s}) / {k})), 0)\ns0 = int({s}); st = int({s} + {k}) - s0\n\
                     out = np.array([s0 + i * st for i in range(n)], dtype=np.int64).astype(np.{dt})"
                )
            } else {
                format!(
                    "n = max(int(np.ceil(({e} - {s}) / {k})), 0)\nT = np.{dt}\nv = T({s}); st = T(T({s} + {k}) - v)\n\
                     vals = []\nfor i in range(n):\n    vals.append(v)\n    v = T(v + st)\nout = np.array(vals, dtype=T)"
                )
            };
            cases.push((code, vec![]));
        }
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &format!("arange {:?}", specs[i]));
        }
        // Errors.
        let e = ops::arange_range(0, 5, 0, None).unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
        assert!(ops::arange_range(0, 5, 1, Some(Dtype::Bool)).is_err());
        assert!(ops::arange(Array::scalar(3i32)).is_err());
        assert!(ops::arange(f64::NAN).is_err());
        assert!(ops::arange(1e12).is_err());
        assert!(ops::arange(Complex32::new(1.0, 0.0)).is_err());
    });
}

#[test]
fn linspace_matches_mlx() {
    on_each_device(|_| {
        let specs: Vec<(f64, f64, usize, Option<Dtype>)> = vec![
            (-3.0, 10.0, 7, None),
            (0.0, 1.0, 11, None),
            (2.5, -7.3, 9, Some(Dtype::Float16)),
            (0.1, 0.7, 13, Some(Dtype::Float64)),
            (0.0, 10.0, 4, Some(Dtype::Int32)),
            (5.0, 9.0, 1, None),
            (5.0, 9.0, 0, None),
            (-1.0, 1.0, 5, Some(Dtype::Bool)),
            (0.0, 1.0, 50_000, None),
        ];
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for &(s, e, n, dt) in &specs {
            let a = ops::linspace(s, e, n, dt).unwrap();
            let dt = dt.unwrap_or(Dtype::Float32);
            assert_eq!(a.dtype(), dt);
            got.push(a);
            let ft = if dt == Dtype::Float64 {
                "float64"
            } else {
                "float32"
            };
            let np_dt = if dt == Dtype::Bool {
                "bool_"
            } else {
                dt.name()
            };
            cases.push((
                format!(
                    "T = np.{ft}\nif {n} == 1:\n    r = np.array([T({s})])\nelse:\n    t = np.arange({n}, dtype=T) / T({n} - 1)\n    r = T({s}) * (T(1) - t) + T({e}) * t\nout = r.astype(np.{np_dt})"
                ),
                vec![],
            ));
        }
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &format!("linspace {:?}", specs[i]));
        }
        // Values printed by MLX 0.32.4.
        let l = ops::linspace(-3.0, 10.0, 7, None)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(l[1] as f64, -0.8333332538604736);
        assert_eq!(l[2] as f64, 1.3333336114883423);
    });
}

#[test]
fn eye_identity_tri() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (n, m, k, dt) in [
            (3usize, None, 0isize, None),
            (3, Some(4), 1, Some(Dtype::Int32)),
            (4, Some(2), -1, Some(Dtype::Bool)),
            (2, Some(3), 5, Some(Dtype::Float16)),
            (5, Some(5), -7, Some(Dtype::Complex64)),
            (0, None, 0, None),
            (300, Some(200), 3, Some(Dtype::Uint8)),
        ] {
            let dtn = match dt {
                None => "float32",
                Some(Dtype::Bool) => "bool_",
                Some(d) => d.name(),
            };
            let ms = m.map_or("None".to_string(), |m| m.to_string());
            got.push(ops::eye(n, m, k, dt).unwrap());
            cases.push((format!("out = np.eye({n}, {ms}, {k}, np.{dtn})"), vec![]));
            got.push(ops::tri(n, m, k, dt).unwrap());
            cases.push((format!("out = np.tri({n}, {ms}, {k}, np.{dtn})"), vec![]));
        }
        got.push(ops::identity(4, Some(Dtype::Int64)).unwrap());
        cases.push(("out = np.identity(4, np.int64)".into(), vec![]));
        got.push(ops::identity(2, None).unwrap());
        cases.push(("out = np.identity(2, np.float32)".into(), vec![]));
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &cases[i].0);
        }
    });
}

#[test]
fn meshgrid_matches_numpy() {
    on_each_device(|_| {
        let x = rand(&[3], Dtype::Int32, -9.0, 9.0, 1);
        let y = rand(&[4], Dtype::Float32, -1.0, 1.0, 2);
        let z = ops::transpose(&rand(&[2, 3], Dtype::Float16, -1.0, 1.0, 3)).unwrap();
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for sparse in [false, true] {
            for indexing in ["xy", "ij"] {
                let py = if sparse { "True" } else { "False" };
                got.push(
                    ops::meshgrid(&[x.clone(), y.clone(), z.clone()], sparse, indexing).unwrap(),
                );
                cases.push((
                    format!("out = np.meshgrid(x, y, z, sparse={py}, indexing='{indexing}')"),
                    vec![("x", x.clone()), ("y", y.clone()), ("z", z.clone())],
                ));
                got.push(ops::meshgrid(&[y.clone(), x.clone()], sparse, indexing).unwrap());
                cases.push((
                    format!("out = np.meshgrid(y, x, sparse={py}, indexing='{indexing}')"),
                    vec![("x", x.clone()), ("y", y.clone())],
                ));
                got.push(ops::meshgrid(std::slice::from_ref(&x), sparse, indexing).unwrap());
                cases.push((
                    format!("out = np.meshgrid(x, sparse={py}, indexing='{indexing}')"),
                    vec![("x", x.clone())],
                ));
            }
        }
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len(), "{}", cases[i].0);
            for (gp, wp) in g.iter().zip(w) {
                check_exact(gp, wp, &cases[i].0);
            }
        }
        assert!(ops::meshgrid(&[], false, "xy").unwrap().is_empty());
        let e = ops::meshgrid(std::slice::from_ref(&x), false, "foo").unwrap_err();
        assert!(e.to_string().contains("indexing"), "{e}");
    });
}

#[test]
fn tril_triu_match_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &dt) in crate::shape::TEST_DTYPES.iter().enumerate() {
            for (what, x) in crate::shape::layouts(&[2, 4, 5], dt, 10 + 5 * i as u64) {
                for k in [0isize, 2, -1, -9] {
                    got.push((format!("{what} tril {k}"), ops::tril(&x, k).unwrap()));
                    cases.push((format!("out = np.tril(x, {k})"), vec![("x", x.clone())]));
                    got.push((format!("{what} triu {k}"), ops::triu(&x, k).unwrap()));
                    cases.push((format!("out = np.triu(x, {k})"), vec![("x", x.clone())]));
                }
            }
        }
        let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
        got.push(("empty tril".into(), ops::tril(&e, 0).unwrap()));
        cases.push(("out = np.zeros((0, 3), np.float32)".into(), vec![]));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        let v = rand(&[3], Dtype::Float32, 0.0, 1.0, 1);
        let err = ops::tril(&v, 0).unwrap_err();
        assert!(err.to_string().contains("2-D"), "{err}");
        assert!(ops::triu(&Array::scalar(1.0f32), 0).is_err());
    });
}
