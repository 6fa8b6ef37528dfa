//! Shape ops: concatenate, stack, split, unstack, tile, repeat, pad, roll, diagonal, diag,
//! atleast_*, as_strided, view, unflatten, swapaxes, moveaxis, contiguous — against NumPy,
//! on several dtypes and layouts (contiguous, transposed, broadcast, step-sliced).

use crate::common::*;
use mlxr::ops::{self, PadMode};
use mlxr::{Array, Dtype};
use std::sync::Arc;

/// Dtypes covering every element size and kind.
pub const TEST_DTYPES: [Dtype; 9] = [
    Dtype::Bool,
    Dtype::Int8,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Int32,
    Dtype::Float32,
    Dtype::Uint64,
    Dtype::Float64,
    Dtype::Complex64,
];

/// Random arrays of logical shape `shape` in four layouts: contiguous, transposed,
/// broadcast along the first axis, and step-sliced (with a reversed last axis).
pub fn layouts(shape: &[usize], dtype: Dtype, seed: u64) -> Vec<(String, Array)> {
    let nd = shape.len();
    let mut out = vec![(
        format!("{dtype} contiguous"),
        rand(shape, dtype, -20.0, 20.0, seed),
    )];
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    out.push((
        format!("{dtype} transposed"),
        ops::transpose(&rand(&rev, dtype, -20.0, 20.0, seed + 1)).unwrap(),
    ));
    if nd > 0 {
        let mut s1 = shape.to_vec();
        s1[0] = 1;
        out.push((
            format!("{dtype} broadcast"),
            ops::broadcast_to(&rand(&s1, dtype, -20.0, 20.0, seed + 2), shape).unwrap(),
        ));
        let big: Vec<usize> = shape.iter().map(|&n| 2 * n + 1).collect();
        let b = rand(&big, dtype, -20.0, 20.0, seed + 3);
        let mut st = vec![1isize; nd];
        let mut en: Vec<isize> = big.iter().map(|&n| n as isize).collect();
        let mut ks = vec![2isize; nd];
        st[nd - 1] = -2;
        en[nd - 1] = isize::MIN;
        ks[nd - 1] = -2;
        let s = ops::slice(&b, &st, &en, &ks).unwrap();
        assert_eq!(s.shape(), shape);
        out.push((format!("{dtype} sliced"), s));
    }
    out
}

/// Exact comparison with a NumPy result (bfloat16 results are compared as float32, the
/// dtype NumPy computed them in).
pub fn check_exact(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape mismatch");
    if got.dtype() == Dtype::Bfloat16 {
        assert_eq!(want.dtype(), Dtype::Float32, "{what}: dtype");
        assert_close(&got.astype(Dtype::Float32).unwrap(), want, 0.0, 0.0, what);
    } else {
        assert_eq!(got.dtype(), want.dtype(), "{what}: dtype mismatch");
        assert_close(got, want, 0.0, 0.0, what);
    }
}

/// Owned NumPy cases: `(code, [(name, array)])`.
pub type Cases = Vec<(String, Vec<(&'static str, Array)>)>;

/// Run owned cases through [`numpy_batch`].
pub fn run_cases(cases: &Cases) -> Vec<Vec<Array>> {
    let refs: Vec<(String, Vec<(&str, &Array)>)> = cases
        .iter()
        .map(|(c, v)| (c.clone(), v.iter().map(|(n, a)| (*n, a)).collect()))
        .collect();
    numpy_batch(&refs)
}

fn shares(a: &Array, b: &Array) -> bool {
    // Evaluate both first: evaluating `b` on the GPU may move `a`'s host data there.
    a.eval().unwrap();
    b.eval().unwrap();
    Arc::ptr_eq(&a.data().unwrap().storage, &b.data().unwrap().storage)
}

fn np_name(d: Dtype) -> &'static str {
    if d == Dtype::Bool {
        "bool_"
    } else {
        d.name()
    }
}

#[test]
fn concatenate_matches_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &dt) in TEST_DTYPES.iter().enumerate() {
            for (j, axis) in [0isize, 1, -1].into_iter().enumerate() {
                let ax = axis.rem_euclid(3) as usize;
                let s1 = [3usize, 4, 5];
                let mut s2 = s1;
                s2[ax] = 2;
                let mut s3 = s1;
                s3[ax] = 0;
                let l1 = layouts(&s1, dt, 10 * i as u64);
                let l2 = layouts(&s2, dt, 10 * i as u64 + 5);
                let x = l1[j % l1.len()].1.clone();
                let y = l2[(j + 1 + i) % l2.len()].1.clone();
                let z = rand(&s3, dt, 0.0, 1.0, 1);
                let g = ops::concatenate(&[x.clone(), y.clone(), z, x.clone()], axis).unwrap();
                got.push((format!("{dt} axis {axis}"), g));
                cases.push((
                    format!(
                        "z = np.zeros({s3:?}, dtype=x.dtype)\nout = np.concatenate([x, y, z, x], {axis})"
                    ),
                    vec![("x", x), ("y", y)],
                ));
            }
        }
        // Mixed dtypes promote as MLX.
        let pairs = [
            (Dtype::Int8, Dtype::Uint8),
            (Dtype::Float16, Dtype::Int32),
            (Dtype::Bool, Dtype::Int8),
            (Dtype::Float32, Dtype::Complex64),
            (Dtype::Uint64, Dtype::Int8),
            (Dtype::Int64, Dtype::Float16),
            (Dtype::Uint32, Dtype::Int32),
        ];
        for (i, &(p, q)) in pairs.iter().enumerate() {
            let x = rand(&[2, 3], p, 0.0, 50.0, 200 + i as u64);
            let y = rand(&[4, 3], q, 0.0, 50.0, 300 + i as u64);
            let want_dt = mlxr::promote_types(p, q);
            let g = ops::concatenate(&[x.clone(), y.clone()], 0).unwrap();
            assert_eq!(g.dtype(), want_dt, "{p} + {q}");
            got.push((format!("{p} + {q}"), g));
            let n = np_name(want_dt);
            cases.push((
                format!("out = np.concatenate([x.astype(np.{n}), y.astype(np.{n})])"),
                vec![("x", x), ("y", y)],
            ));
        }
        // Large inputs (parallel paths): 2-D along each axis and 1-D.
        let b1 = rand(&[300, 200], Dtype::Float32, -1.0, 1.0, 7);
        let b2 = ops::transpose(&rand(&[150, 300], Dtype::Float32, -1.0, 1.0, 8)).unwrap();
        let c1 = rand(&[100_000], Dtype::Int16, -100.0, 100.0, 9);
        let c2 = rand(&[50_001], Dtype::Int16, -100.0, 100.0, 10);
        let g = ops::concatenate(&[b1.clone(), b2.clone()], 1).unwrap();
        got.push(("large axis 1".into(), g));
        cases.push((
            "out = np.concatenate([a, b], 1)".into(),
            vec![("a", b1.clone()), ("b", b2.clone())],
        ));
        let g = ops::concatenate(
            &[ops::transpose(&b2).unwrap(), ops::transpose(&b1).unwrap()],
            0,
        )
        .unwrap();
        got.push(("large axis 0".into(), g));
        cases.push((
            "out = np.concatenate([b.T, a.T], 0)".into(),
            vec![("a", b1), ("b", b2)],
        ));
        got.push((
            "large 1-d".into(),
            ops::concatenate(&[c1.clone(), c2.clone()], 0).unwrap(),
        ));
        cases.push((
            "out = np.concatenate([a, b])".into(),
            vec![("a", c1), ("b", c2)],
        ));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
    });
}

#[test]
fn concatenate_and_stack_errors() {
    let a = rand(&[2, 3, 4], Dtype::Float32, 0.0, 1.0, 1);
    let b = rand(&[2, 3, 2], Dtype::Float32, 0.0, 1.0, 2);
    let e = ops::concatenate(&[], 0).unwrap_err();
    assert!(e.to_string().contains("no arrays"), "{e}");
    let e = ops::concatenate(&[a.clone(), b.clone()], 1).unwrap_err();
    assert!(
        e.to_string().contains("[2, 3, 4]") && e.to_string().contains("[2, 3, 2]"),
        "{e}"
    );
    assert!(ops::concatenate(&[a.clone(), b.clone()], 2).is_ok());
    assert!(ops::concatenate(&[a.clone(), b.clone()], 3).is_err());
    assert!(ops::concatenate(&[a.clone(), b.clone()], -4).is_err());
    let e = ops::concatenate(&[a.clone(), ops::reshape(&b, &[-1]).unwrap()], 0).unwrap_err();
    assert!(e.to_string().contains("dimensions"), "{e}");
    assert!(ops::concatenate(&[Array::scalar(1.0f32), Array::scalar(2.0f32)], 0).is_err());
    // A single array is returned as is.
    assert!(ops::concatenate(std::slice::from_ref(&a), 0)
        .unwrap()
        .is_same(&a));
    assert!(ops::stack(&[], 0).is_err());
    let e = ops::stack(&[a.clone(), b.clone()], 0).unwrap_err();
    assert!(e.to_string().contains("same shape"), "{e}");
    assert!(ops::stack(&[a.clone(), a.clone()], 4).is_err());
    assert!(ops::stack(&[a.clone(), a.clone()], -5).is_err());
}

#[test]
fn stack_matches_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        let arrs: Vec<Vec<(String, Array)>> =
            [Dtype::Int32, Dtype::Float16, Dtype::Complex64, Dtype::Bool]
                .iter()
                .enumerate()
                .map(|(i, &d)| layouts(&[3, 2], d, 70 + i as u64))
                .collect();
        for l in &arrs {
            let xs: Vec<Array> = l.iter().map(|(_, a)| a.clone()).collect();
            for axis in [0isize, 1, 2, -1, -3] {
                got.push((
                    format!("{} axis {axis}", l[0].0),
                    ops::stack(&xs, axis).unwrap(),
                ));
                cases.push((
                    format!("out = np.stack([p, q, r, s], {axis})"),
                    vec![
                        ("p", xs[0].clone()),
                        ("q", xs[1].clone()),
                        ("r", xs[2].clone()),
                        ("s", xs[3].clone()),
                    ],
                ));
            }
        }
        let s = ops::stack(&[Array::scalar(1i32), Array::scalar(2.5f32)], 0).unwrap();
        assert_eq!(s.dtype(), Dtype::Float32);
        assert_eq!(s.to_vec::<f32>().unwrap(), vec![1.0, 2.5]);
        let one = ops::stack(&[arrs[0][0].1.clone()], 1).unwrap();
        assert_eq!(one.shape(), &[3, 1, 2]);
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
    });
}

#[test]
fn split_and_unstack() {
    on_each_device(|_| {
        let a = rand(&[4, 6, 5], Dtype::Float32, -1.0, 1.0, 3);
        a.eval().unwrap();
        let at = ops::transpose(&a).unwrap();
        let mut got: Vec<Vec<Array>> = vec![];
        let mut cases: Cases = vec![];
        let x = &a;
        let specs: Vec<(Vec<Array>, &str, &Array)> = vec![
            (
                ops::split_sections(x, 2, 0).unwrap(),
                "np.split(x, 2, 0)",
                x,
            ),
            (
                ops::split_sections(x, 3, 1).unwrap(),
                "np.split(x, 3, 1)",
                x,
            ),
            (ops::split(x, 5, -1).unwrap(), "np.split(x, 5, -1)", x),
            (
                ops::split_indices(x, &[1, 3], 2).unwrap(),
                "np.split(x, [1, 3], 2)",
                x,
            ),
            (
                ops::split(x, [3, 1], 1).unwrap(),
                "np.split(x, [3, 1], 1)",
                x,
            ),
            (
                ops::split(x, vec![-1, 10], 0).unwrap(),
                "np.split(x, [-1, 10], 0)",
                x,
            ),
            (
                ops::split_indices(x, &[], 0).unwrap(),
                "np.split(x, [], 0)",
                x,
            ),
            (x.split(2, -3).unwrap(), "np.split(x, 2, -3)", x),
            (
                ops::split_sections(&at, 2, 1).unwrap(),
                "np.split(x, 2, 1)",
                &at,
            ),
            (ops::unstack(x, 0).unwrap(), "list(x)", x),
            (
                ops::unstack(x, -1).unwrap(),
                "[x[..., i] for i in range(x.shape[-1])]",
                x,
            ),
            (
                ops::unstack(&at, 1).unwrap(),
                "[x[:, i] for i in range(x.shape[1])]",
                &at,
            ),
        ];
        for (g, code, x) in specs {
            got.push(g);
            cases.push((format!("out = {code}"), vec![("x", x.clone())]));
        }
        let want = run_cases(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.len(), w.len(), "case {i}: {}", cases[i].0);
            for (gp, wp) in g.iter().zip(w) {
                check_exact(gp, wp, &cases[i].0);
                if gp.size() > 0 {
                    assert!(shares(&a, gp), "split parts are views ({})", cases[i].0);
                }
            }
        }
        // Empty arrays and errors.
        let e = Array::from_slice::<f32>(&[], &[0, 4]).unwrap();
        let p = ops::split_sections(&e, 2, 0).unwrap();
        assert_eq!(
            p.iter().map(|x| x.shape().to_vec()).collect::<Vec<_>>(),
            vec![vec![0, 4]; 2]
        );
        assert!(ops::unstack(&e, 0).unwrap().is_empty());
        assert_eq!(ops::unstack(&e, 1).unwrap().len(), 4);
        let err = ops::split_sections(&a, 4, 1).unwrap_err();
        assert!(err.to_string().contains("equal"), "{err}");
        assert!(ops::split_sections(&a, 0, 1).is_err());
        assert!(ops::split_sections(&a, 2, 3).is_err());
        assert!(ops::split_indices(&a, &[1], -4).is_err());
        assert!(ops::unstack(&Array::scalar(1.0f32), 0).is_err());
        assert!(ops::unstack(&a, 3).is_err());
    });
}

#[test]
fn tile_and_repeat_match_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &dt) in TEST_DTYPES.iter().enumerate() {
            for (what, x) in layouts(&[2, 3], dt, 500 + 7 * i as u64) {
                for reps in [vec![2usize], vec![2, 1], vec![3, 1, 2], vec![1, 0], vec![]] {
                    got.push((
                        format!("{what} tile {reps:?}"),
                        ops::tile(&x, &reps).unwrap(),
                    ));
                    cases.push((
                        format!("out = np.tile(x, {reps:?})"),
                        vec![("x", x.clone())],
                    ));
                }
                for (r, ax) in [
                    (2usize, None),
                    (3, Some(0isize)),
                    (2, Some(-1)),
                    (0, Some(1)),
                    (1, Some(0)),
                ] {
                    got.push((
                        format!("{what} repeat {r} {ax:?}"),
                        ops::repeat(&x, r, ax).unwrap(),
                    ));
                    let axs = ax.map_or("None".to_string(), |a| a.to_string());
                    cases.push((
                        format!("out = np.repeat(x, {r}, {axs})"),
                        vec![("x", x.clone())],
                    ));
                }
            }
        }
        // 0-d and large inputs.
        let z = Array::scalar(4i64);
        got.push(("0-d tile".into(), ops::tile(&z, &[2, 3]).unwrap()));
        cases.push(("out = np.tile(x, [2, 3])".into(), vec![("x", z.clone())]));
        got.push(("0-d repeat".into(), ops::repeat(&z, 3, None).unwrap()));
        cases.push(("out = np.repeat(x, 3)".into(), vec![("x", z.clone())]));
        let big = ops::transpose(&rand(&[300, 120], Dtype::Float32, -1.0, 1.0, 9)).unwrap();
        got.push(("large tile".into(), ops::tile(&big, &[2, 3]).unwrap()));
        cases.push(("out = np.tile(x, [2, 3])".into(), vec![("x", big.clone())]));
        got.push((
            "large repeat".into(),
            ops::repeat(&big, 3, Some(1)).unwrap(),
        ));
        cases.push(("out = np.repeat(x, 3, 1)".into(), vec![("x", big.clone())]));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        // Errors.
        assert!(ops::repeat(&z, 2, Some(0)).is_err());
        assert!(ops::repeat(&big, 2, Some(2)).is_err());
        assert!(ops::repeat(&big, 2, Some(-3)).is_err());
        assert_eq!(ops::repeat(&big, 1, None).unwrap().shape(), &[36000]);
    });
}

#[test]
fn pad_matches_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        let modes = [
            (PadMode::Constant, "constant"),
            (PadMode::Edge, "edge"),
            (PadMode::Reflect, "reflect"),
            (PadMode::Symmetric, "symmetric"),
        ];
        for (i, &dt) in TEST_DTYPES.iter().enumerate() {
            for (j, (what, x)) in layouts(&[3, 4], dt, 900 + 5 * i as u64)
                .into_iter()
                .enumerate()
            {
                let (mode, name) = modes[(i + j) % 4];
                for widths in [
                    vec![(1usize, 2usize)],
                    vec![(0, 3), (2, 0)],
                    vec![(5, 4), (7, 1)],
                    vec![(0, 0), (1, 1)],
                ] {
                    let g = ops::pad(&x, &widths, mode, 0).unwrap();
                    got.push((format!("{what} {name} {widths:?}"), g));
                    let w: Vec<String> =
                        widths.iter().map(|(a, b)| format!("({a}, {b})")).collect();
                    cases.push((
                        format!("out = np.pad(x, [{}], mode='{name}')", w.join(", ")),
                        vec![("x", x.clone())],
                    ));
                }
            }
        }
        // Constant values: a scalar (converted to the array's dtype), a one-element array.
        let xi = rand(&[2, 3], Dtype::Int32, -9.0, 9.0, 3);
        got.push((
            "int 7".into(),
            ops::pad(&xi, &[(1, 2)], PadMode::Constant, 7).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(1, 2)], constant_values=7)".into(),
            vec![("x", xi.clone())],
        ));
        got.push((
            "int 2.5".into(),
            ops::pad(&xi, &[(2, 1)], PadMode::Constant, 2.5).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(2, 1)], constant_values=2)".into(),
            vec![("x", xi.clone())],
        ));
        let xh = rand(&[2, 3], Dtype::Float16, -9.0, 9.0, 4);
        let v = Array::from_slice(&[1.5f64], &[1]).unwrap();
        got.push((
            "f16 array value".into(),
            ops::pad(&xh, &[(1, 1), (0, 2)], PadMode::Constant, &v).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(1, 1), (0, 2)], constant_values=1.5)".into(),
            vec![("x", xh.clone())],
        ));
        let xb = rand(&[3], Dtype::Bool, -1.0, 1.0, 5);
        got.push((
            "bool true".into(),
            ops::pad(&xb, &[(2, 1)], PadMode::Constant, true).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(2, 1)], constant_values=True)".into(),
            vec![("x", xb.clone())],
        ));
        // Size-1 axis in reflect mode, 3-D and large inputs.
        let x1 = rand(&[1, 3, 2], Dtype::Float32, -1.0, 1.0, 6);
        got.push((
            "reflect size 1".into(),
            ops::pad(&x1, &[(2, 2), (1, 0), (0, 3)], PadMode::Reflect, 0).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(2, 2), (1, 0), (0, 3)], mode='reflect')".into(),
            vec![("x", x1.clone())],
        ));
        let big = ops::transpose(&rand(&[300, 200], Dtype::Float32, -1.0, 1.0, 7)).unwrap();
        got.push((
            "large".into(),
            ops::pad(&big, &[(3, 1), (2, 5)], PadMode::Constant, -1.0).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(3, 1), (2, 5)], constant_values=-1)".into(),
            vec![("x", big.clone())],
        ));
        got.push((
            "large edge".into(),
            ops::pad(&big, &[(3, 1)], PadMode::Edge, 0).unwrap(),
        ));
        cases.push((
            "out = np.pad(x, [(3, 1)], mode='edge')".into(),
            vec![("x", big.clone())],
        ));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        // Edge mode on an empty axis fills with the constant, as MLX.
        let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
        let p = ops::pad(&e, &[(1, 1)], PadMode::Edge, 0).unwrap();
        assert_eq!(p.shape(), &[2, 5]);
        assert!(p.to_vec::<f32>().unwrap().iter().all(|&v| v == 0.0));
        // 0-d arrays have nothing to pad; no padding returns the input.
        let z = Array::scalar(2i32);
        assert_eq!(
            ops::pad(&z, &[], PadMode::Constant, 0)
                .unwrap()
                .item::<i32>()
                .unwrap(),
            2
        );
        assert!(ops::pad(&xi, &[(0, 0)], PadMode::Constant, 0)
            .unwrap()
            .is_same(&xi));
        // Errors: widths per axis, multi-element values, values out of range.
        let err = ops::pad(&xi, &[(1, 1), (1, 1), (1, 1)], PadMode::Constant, 0).unwrap_err();
        assert!(err.to_string().contains("padding"), "{err}");
        assert!(ops::pad(&xi, &[], PadMode::Constant, 0).is_err());
        let two = Array::from_slice(&[1i32, 2], &[2]).unwrap();
        assert!(ops::pad(&xi, &[(1, 1)], PadMode::Constant, &two).is_err());
        let i8a = rand(&[3], Dtype::Int8, 0.0, 5.0, 1);
        let err = ops::pad(&i8a, &[(1, 1)], PadMode::Constant, 300).unwrap_err();
        assert!(err.to_string().contains("overflow"), "{err}");
    });
}

#[test]
fn roll_matches_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &dt) in [
            Dtype::Int32,
            Dtype::Float16,
            Dtype::Complex64,
            Dtype::Bool,
            Dtype::Bfloat16,
        ]
        .iter()
        .enumerate()
        {
            for (what, x) in layouts(&[3, 4, 5], dt, 40 + 5 * i as u64) {
                let specs: Vec<(Vec<isize>, Option<Vec<isize>>, String)> = vec![
                    (vec![2], None, "np.roll(x, 2)".into()),
                    (vec![-7], None, "np.roll(x, -7)".into()),
                    (vec![1, 2], None, "np.roll(x, 3)".into()),
                    (vec![1], Some(vec![0]), "np.roll(x, 1, 0)".into()),
                    (vec![1, 3], Some(vec![-1]), "np.roll(x, 4, -1)".into()),
                    (vec![-2], Some(vec![0, 2]), "np.roll(x, -2, (0, 2))".into()),
                    (
                        vec![1, 7, 3],
                        Some(vec![2, 1]),
                        "np.roll(x, (1, 7), (2, 1))".into(),
                    ),
                    (vec![1, 2], Some(vec![1, 1]), "np.roll(x, 3, 1)".into()),
                    (
                        vec![13, -5, 9],
                        Some(vec![0, 1, 2]),
                        "np.roll(x, (13, -5, 9), (0, 1, 2))".into(),
                    ),
                    (vec![3], Some(vec![0]), "x".into()),
                ];
                for (s, ax, code) in specs {
                    got.push((
                        format!("{what} {code}"),
                        ops::roll(&x, &s, ax.as_deref()).unwrap(),
                    ));
                    cases.push((format!("out = {code}"), vec![("x", x.clone())]));
                }
            }
        }
        let big = ops::transpose(&rand(&[300, 200], Dtype::Float64, -1.0, 1.0, 7)).unwrap();
        got.push((
            "large".into(),
            ops::roll(&big, &[17, -3], Some(&[0, 1])).unwrap(),
        ));
        cases.push((
            "out = np.roll(x, (17, -3), (0, 1))".into(),
            vec![("x", big.clone())],
        ));
        got.push(("large flat".into(), ops::roll(&big, &[1001], None).unwrap()));
        cases.push(("out = np.roll(x, 1001)".into(), vec![("x", big.clone())]));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        // 0-d and empty arrays, errors.
        let z = Array::scalar(3i32);
        assert_eq!(ops::roll(&z, &[1], None).unwrap().item::<i32>().unwrap(), 3);
        assert!(ops::roll(&z, &[1], Some(&[0])).is_err());
        let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
        assert_eq!(ops::roll(&e, &[1], Some(&[0])).unwrap().shape(), &[0, 3]);
        let x = rand(&[3, 4], Dtype::Float32, 0.0, 1.0, 1);
        let err = ops::roll(&x, &[1, 2], Some(&[0, 1, 1])).unwrap_err();
        assert!(err.to_string().contains("shift"), "{err}");
        assert!(ops::roll(&x, &[], Some(&[0])).is_err());
        assert!(ops::roll(&x, &[1], Some(&[2])).is_err());
    });
}

#[test]
fn diagonal_and_diag_match_numpy() {
    on_each_device(|_| {
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &dt) in [
            Dtype::Float32,
            Dtype::Int8,
            Dtype::Complex64,
            Dtype::Bfloat16,
        ]
        .iter()
        .enumerate()
        {
            for (what, x) in layouts(&[3, 4, 5], dt, 60 + 5 * i as u64) {
                for (off, a1, a2) in [
                    (0isize, 0isize, 1isize),
                    (1, 0, 2),
                    (-2, 2, 1),
                    (2, -1, 0),
                    (7, 0, 1),
                    (-3, 1, 2),
                ] {
                    let g = ops::diagonal(&x, off, a1, a2).unwrap();
                    x.eval().unwrap();
                    assert!(shares(&x, &g), "diagonal is a view");
                    got.push((format!("{what} diagonal {off} {a1} {a2}"), g));
                    cases.push((
                        format!("out = np.diagonal(x, {off}, {a1}, {a2})"),
                        vec![("x", x.clone())],
                    ));
                }
            }
            for (what, x) in layouts(&[4, 3], dt, 80 + 5 * i as u64) {
                for k in [0isize, 1, -2, 5] {
                    got.push((format!("{what} diag {k}"), ops::diag(&x, k).unwrap()));
                    cases.push((format!("out = np.diag(x, {k})"), vec![("x", x.clone())]));
                }
            }
            let v = rand(&[4], dt, -5.0, 5.0, 90 + i as u64);
            let vr = ops::flip(&v, None).unwrap();
            for k in [0isize, 2, -1] {
                got.push((format!("{dt} 1-d diag {k}"), ops::diag(&v, k).unwrap()));
                cases.push((format!("out = np.diag(x, {k})"), vec![("x", v.clone())]));
                got.push((
                    format!("{dt} reversed 1-d diag {k}"),
                    ops::diag(&vr, k).unwrap(),
                ));
                cases.push((
                    format!("out = np.diag(x[::-1], {k})"),
                    vec![("x", v.clone())],
                ));
            }
        }
        let a = rand(&[3, 4], Dtype::Float32, 0.0, 1.0, 1);
        got.push(("method".into(), a.diagonal(1, 0, 1).unwrap()));
        cases.push(("out = np.diagonal(x, 1)".into(), vec![("x", a.clone())]));
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        let e = Array::from_slice::<f32>(&[], &[0]).unwrap();
        assert_eq!(
            ops::diag(&e, 2).unwrap().to_vec::<f32>().unwrap(),
            vec![0.0; 4]
        );
        // Errors.
        let v = rand(&[3], Dtype::Float32, 0.0, 1.0, 1);
        let err = ops::diagonal(&v, 0, 0, 1).unwrap_err();
        assert!(err.to_string().contains("two dimensions"), "{err}");
        assert!(ops::diagonal(&a, 0, 1, 1).is_err());
        assert!(ops::diagonal(&a, 0, 0, 2).is_err());
        assert!(ops::diagonal(&a, 0, -3, 1).is_err());
        assert!(ops::diag(&Array::scalar(1.0f32), 0).is_err());
        assert!(ops::diag(&rand(&[2, 2, 2], Dtype::Float32, 0.0, 1.0, 1), 0).is_err());
    });
}

#[test]
fn axis_moves_unflatten_atleast() {
    on_each_device(|_| {
        let a = rand(&[2, 3, 4], Dtype::Int32, -9.0, 9.0, 1);
        let s = ops::slice(&a, &[0, 2, 0], &[2, isize::MIN, 4], &[1, -1, 2]).unwrap();
        let z = Array::scalar(5.0f32);
        let v = rand(&[3], Dtype::Float32, 0.0, 1.0, 2);
        let got = vec![
            ops::swapaxes(&a, 0, -1).unwrap(),
            a.swapaxes(1, 1).unwrap(),
            ops::moveaxis(&a, 0, -1).unwrap(),
            a.moveaxis(-1, 1).unwrap(),
            ops::moveaxis(&s, 2, 0).unwrap(),
            ops::unflatten(&a, 1, &[3, 1]).unwrap(),
            ops::unflatten(&a, -1, &[-1, 2]).unwrap(),
            ops::unflatten(&s, 2, &[1, 2]).unwrap(),
            ops::atleast_1d(&z).unwrap(),
            ops::atleast_2d(&v).unwrap(),
            ops::atleast_3d(&v).unwrap(),
            ops::atleast_3d(&ops::reshape(&v, &[1, 3]).unwrap()).unwrap(),
            ops::atleast_3d(&z).unwrap(),
            ops::atleast_2d(&a).unwrap(),
            a.squeeze(None).unwrap(),
            a.expand_dims(&[0, -1]).unwrap(),
        ];
        let want = numpy(
            "out = [np.swapaxes(a, 0, -1), a, np.moveaxis(a, 0, -1), np.moveaxis(a, -1, 1), \
             np.moveaxis(s, 2, 0), a.reshape(2, 3, 1, 4), a.reshape(2, 3, 2, 2), \
             s.reshape(2, 3, 1, 2), np.atleast_1d(z), np.atleast_2d(v), np.atleast_3d(v), \
             np.atleast_3d(v.reshape(1, 3)), np.atleast_3d(z), a, a, a[None, ..., None]]",
            &[("a", &a), ("s", &s), ("z", &z), ("v", &v)],
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, w, &format!("case {i}"));
        }
        // swapaxes/moveaxis are views.
        a.eval().unwrap();
        assert!(shares(&a, &ops::swapaxes(&a, 0, 2).unwrap()));
        assert!(shares(&a, &ops::moveaxis(&a, 0, 2).unwrap()));
        // Errors.
        assert!(ops::swapaxes(&a, 0, 3).is_err());
        assert!(ops::moveaxis(&a, 0, 3).is_err());
        assert!(ops::moveaxis(&a, -4, 0).is_err());
        let err = ops::unflatten(&a, -1, &[3, 2]).unwrap_err();
        assert!(err.to_string().contains("unflatten"), "{err}");
        assert!(ops::unflatten(&a, -1, &[]).is_err());
        assert!(ops::unflatten(&a, 3, &[2, 2]).is_err());
        assert!(ops::unflatten(&a, -1, &[-1, -1]).is_err());
        assert!(ops::unflatten(&z, 0, &[1]).is_err());
    });
}

#[test]
fn as_strided_views() {
    on_each_device(|_| {
        let a = rand(&[4, 5], Dtype::Float32, -1.0, 1.0, 1);
        let at = ops::transpose(&a).unwrap();
        let specs: Vec<(Vec<usize>, Vec<isize>, usize)> = vec![
            (vec![3, 3], vec![5, 1], 0),
            (vec![4, 2], vec![1, 5], 3),
            (vec![2, 2, 3], vec![10, 5, 1], 1),
            (vec![6], vec![3], 2),
            (vec![20], vec![1], 0),
            (vec![3, 4], vec![0, 1], 7),
            (vec![], vec![], 19),
        ];
        let mut got = vec![];
        let mut cases = vec![];
        for (x, name) in [(&a, "a"), (&at, "at")] {
            for (shape, strides, off) in &specs {
                got.push(ops::as_strided(x, shape, strides, *off).unwrap());
                let bs: Vec<isize> = strides.iter().map(|s| s * 4).collect();
                cases.push((
                    format!(
                        "f = np.ascontiguousarray(x).ravel()[{off}:]\nout = np.lib.stride_tricks.as_strided(f, {shape:?}, {bs:?}).copy()"
                    ),
                    vec![("x", x)],
                ));
                let _ = name;
            }
        }
        let want = numpy_batch(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(
                g,
                &w[0],
                &format!("as_strided {:?}", specs[i % specs.len()]),
            );
        }
        // A view of contiguous input; negative strides; empty shapes.
        a.eval().unwrap();
        let r = ops::as_strided(&a, &[4, 5], &[-5, -1], 19).unwrap();
        assert!(shares(&a, &r));
        let mut rev = a.to_vec::<f32>().unwrap();
        rev.reverse();
        assert_eq!(r.to_vec::<f32>().unwrap(), rev);
        assert_eq!(
            ops::as_strided(&a, &[0, 3], &[100, 100], 50)
                .unwrap()
                .shape(),
            &[0, 3]
        );
        // Errors: lengths differ, reads outside the array.
        assert!(ops::as_strided(&a, &[2, 2], &[1], 0).is_err());
        let err = ops::as_strided(&a, &[5, 5], &[5, 1], 0).unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        assert!(ops::as_strided(&a, &[2], &[-1], 0).is_err());
        assert!(ops::as_strided(&a, &[], &[], 20).is_err());
    });
}

#[test]
fn view_reinterprets_bytes() {
    on_each_device(|_| {
        let pairs = [
            (Dtype::Float32, Dtype::Int32),
            (Dtype::Float32, Dtype::Uint8),
            (Dtype::Int8, Dtype::Int16),
            (Dtype::Int16, Dtype::Float16),
            (Dtype::Complex64, Dtype::Float32),
            (Dtype::Float32, Dtype::Complex64),
            (Dtype::Bool, Dtype::Uint8),
            (Dtype::Uint8, Dtype::Bool),
            (Dtype::Float64, Dtype::Int8),
            (Dtype::Int16, Dtype::Uint64),
            (Dtype::Float32, Dtype::Float32),
        ];
        let mut got = vec![];
        let mut cases: Cases = vec![];
        for (i, &(from, to)) in pairs.iter().enumerate() {
            for (what, x) in layouts(&[3, 4], from, 30 + 5 * i as u64) {
                let g = ops::view(&x, to).unwrap();
                got.push((format!("{what} as {to}"), g));
                let code = if to == Dtype::Bool {
                    "out = np.ascontiguousarray(x).view(np.uint8) != 0".to_string()
                } else {
                    format!("out = np.ascontiguousarray(x).view(np.{})", np_name(to))
                };
                cases.push((code, vec![("x", x)]));
            }
        }
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
        // Views share storage when the layout allows; 0-d arrays keep their size.
        let a = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 1);
        a.eval().unwrap();
        let v = a.view(Dtype::Uint16).unwrap();
        assert_eq!(v.shape(), &[3, 8]);
        assert!(shares(&a, &v));
        let z = Array::scalar(1.0f32);
        assert_eq!(
            ops::view(&z, Dtype::Int32).unwrap().item::<i32>().unwrap(),
            0x3f80_0000
        );
        let b = rand(&[5], Dtype::Bfloat16, -1.0, 1.0, 2);
        let back = ops::view(&ops::view(&b, Dtype::Int16).unwrap(), Dtype::Bfloat16).unwrap();
        assert_eq!(back.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        // Errors: 0-d size changes, last axis not a multiple of the new size.
        let err = ops::view(&z, Dtype::Int8).unwrap_err();
        assert!(err.to_string().contains("scalar"), "{err}");
        assert!(ops::view(&z, Dtype::Float64).is_err());
        let e = ops::view(&rand(&[2, 3], Dtype::Int8, 0.0, 9.0, 1), Dtype::Int32).unwrap_err();
        assert!(e.to_string().contains("multiple"), "{e}");
        assert!(ops::view(&rand(&[3], Dtype::Float32, 0.0, 9.0, 1), Dtype::Complex64).is_err());
    });
}

#[test]
fn contiguous_copies_only_when_needed() {
    on_each_device(|_| {
        let a = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 1);
        a.eval().unwrap();
        let c = ops::contiguous(&a).unwrap();
        assert!(shares(&a, &c), "row-contiguous input is shared");
        let t = ops::transpose(&a).unwrap();
        let ct = ops::contiguous(&t).unwrap();
        assert!(!shares(&a, &ct));
        assert!(ct.data().unwrap().flags.row_contiguous);
        check_exact(
            &ct,
            &numpy1("out = a.T", &[("a", &a)]),
            "contiguous of transpose",
        );
    });
}

#[test]
fn trace_matches_numpy() {
    on_each_device(|_| {
        // MLX: sum(astype(diagonal(a), dtype), -1), with sum's output dtypes.
        let sum_dtype = |d: Dtype| match d {
            Dtype::Bool | Dtype::Int8 | Dtype::Int16 => Dtype::Int32,
            Dtype::Uint8 | Dtype::Uint16 => Dtype::Uint32,
            d => d,
        };
        let mut got = vec![];
        let mut cases: Cases = vec![];
        let specs = [
            (Dtype::Float32, None, 0isize, 0isize, 1isize),
            (Dtype::Int8, None, 1, 0, 2),
            (Dtype::Bool, None, -1, 2, 1),
            (Dtype::Uint8, None, 0, -1, -2),
            (Dtype::Int32, Some(Dtype::Float16), 2, 1, 2),
            (Dtype::Complex64, None, 0, 0, 1),
            (Dtype::Float64, Some(Dtype::Int64), -2, 0, 2),
            (Dtype::Float32, None, 9, 0, 1),
        ];
        for (i, &(dt, to, off, a1, a2)) in specs.iter().enumerate() {
            for (what, x) in layouts(&[3, 4, 5], dt, 20 + 5 * i as u64) {
                let g = ops::trace(&x, off, a1, a2, to).unwrap();
                let want_dt = sum_dtype(to.unwrap_or(dt));
                assert_eq!(g.dtype(), want_dt, "{what}");
                got.push((format!("{what} trace {off} {a1} {a2} {to:?}"), g));
                let acc = if want_dt == Dtype::Complex64 {
                    "complex128"
                } else {
                    "float64"
                };
                cases.push((
                    format!(
                        "dg = np.diagonal(x, {off}, {a1}, {a2}).astype(np.{})\nout = dg.astype(np.{acc}).sum(-1).astype(np.{})",
                        np_name(to.unwrap_or(dt)),
                        np_name(want_dt)
                    ),
                    vec![("x", x)],
                ));
            }
        }
        let want = run_cases(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            let (r, a) = tol(g.dtype());
            assert_eq!(g.dtype(), w[0].dtype(), "{what}");
            assert_close(g, &w[0], r * 4.0, a * 4.0, what);
        }
        let m = rand(&[3, 3], Dtype::Float32, 0.0, 1.0, 1);
        assert_eq!(m.trace(0, 0, 1, None).unwrap().shape(), &[] as &[usize]);
        let err = ops::trace(&rand(&[3], Dtype::Float32, 0.0, 1.0, 1), 0, 0, 1, None).unwrap_err();
        assert!(err.to_string().contains("two dimensions"), "{err}");
        assert!(ops::trace(&m, 0, 0, 0, None).is_err());
        assert!(ops::trace(&m, 0, 0, 2, None).is_err());
    });
}
