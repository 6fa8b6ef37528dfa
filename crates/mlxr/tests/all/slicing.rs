//! Slicing: `slice` (Python slice semantics per axis), basic indexing with `SliceArg`,
//! `flip`, and reading/copying views with negative strides through the shared kernels.

use crate::common::*;
use crate::shape::{check_exact, layouts, run_cases, Cases, TEST_DTYPES};
use mlxr::ops::{self, SliceArg};
use mlxr::{Array, Dtype};
use std::sync::Arc;

/// Python text of one axis' slice.
fn py_slice(s: Option<isize>, e: Option<isize>, k: isize) -> String {
    let f = |v: Option<isize>| v.map_or(String::new(), |v| v.to_string());
    format!("{}:{}:{}", f(s), f(e), k)
}

fn shares(a: &Array, b: &Array) -> bool {
    // Evaluate both first: evaluating `b` on the GPU may move `a`'s host data there.
    a.eval().unwrap();
    b.eval().unwrap();
    Arc::ptr_eq(&a.data().unwrap().storage, &b.data().unwrap().storage)
}

#[test]
fn slice_matches_python_slices() {
    on_each_device(|_| {
        let mut rng = Rng::new(5);
        let mut cases = Vec::new();
        let mut got = Vec::new();
        let inputs: Vec<(String, Array)> = TEST_DTYPES
            .iter()
            .enumerate()
            .flat_map(|(i, &d)| layouts(&[4, 5, 6], d, 100 + i as u64))
            .collect();
        for (what, a) in &inputs {
            for _ in 0..6 {
                let mut st = vec![];
                let mut en = vec![];
                let mut ks = vec![];
                let mut py = vec![];
                for &n in a.shape() {
                    let n = n as isize;
                    let mut r =
                        |lo: isize, hi: isize| (rng.uniform(lo as f64, hi as f64)).floor() as isize;
                    let k = [1, 1, 2, 3, -1, -2, -4][r(0, 7) as usize];
                    let s = r(-n - 3, n + 3);
                    let e = r(-n - 3, n + 3);
                    st.push(s);
                    en.push(e);
                    ks.push(k);
                    py.push(py_slice(Some(s), Some(e), k));
                }
                let g = ops::slice(a, &st, &en, &ks).unwrap();
                got.push((format!("{what} [{}]", py.join(", ")), g));
                cases.push((format!("out = a[{}]", py.join(", ")), vec![("a", a)]));
            }
        }
        let want = numpy_batch(&cases);
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, &w[0], what);
        }
    });
}

#[test]
fn slice_edge_cases() {
    on_each_device(|_| {
        let a = rand(&[5, 3], Dtype::Int32, -50.0, 50.0, 1);
        let specs: Vec<(Vec<isize>, Vec<isize>, Vec<isize>)> = vec![
            (vec![0, 0], vec![5, 3], vec![1, 1]),
            (vec![-1, -1], vec![isize::MIN, isize::MIN], vec![-1, -1]),
            (vec![isize::MAX, 0], vec![isize::MIN, 3], vec![-2, 1]),
            (vec![3, 0], vec![1, 3], vec![1, 1]),
            (vec![10, 0], vec![20, 3], vec![1, 1]),
            (vec![-10, -1], vec![10, 0], vec![3, -1]),
            (vec![2, 1], vec![3, 2], vec![1, 1]),
        ];
        let mut cases = vec![];
        let mut got = vec![];
        for (s, e, k) in &specs {
            let py: Vec<String> = (0..2)
                .map(|i| py_slice(Some(s[i]), Some(e[i]), k[i]))
                .collect();
            got.push(ops::slice(&a, s, e, k).unwrap());
            cases.push((format!("out = a[{}]", py.join(", ")), vec![("a", &a)]));
        }
        // 0-d: the empty slice is the array itself; an empty array slices to empty.
        let z = Array::scalar(3.5f32);
        assert_eq!(
            ops::slice(&z, &[], &[], &[])
                .unwrap()
                .item::<f32>()
                .unwrap(),
            3.5
        );
        let e = Array::from_slice::<f32>(&[], &[0, 4]).unwrap();
        assert_eq!(
            ops::slice(&e, &[0, 1], &[3, 3], &[1, 1]).unwrap().shape(),
            &[0, 2]
        );
        let want = numpy_batch(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &format!("spec {:?}", specs[i]));
        }
        // Errors: wrong lengths, zero step.
        assert!(ops::slice(&a, &[0], &[1], &[1]).is_err());
        assert!(ops::slice(&a, &[0, 0], &[1, 1], &[1]).is_err());
        let e = ops::slice(&a, &[0, 0], &[1, 1], &[1, 0]).unwrap_err();
        assert!(e.to_string().contains("step"), "{e}");
    });
}

#[test]
fn index_matches_numpy_basic_indexing() {
    on_each_device(|_| {
        use SliceArg::*;
        let a = rand(&[3, 4, 5], Dtype::Float32, -1.0, 1.0, 2);
        let at = ops::transpose(&a).unwrap();
        let r = SliceArg::range_step;
        let cases_spec: Vec<(&Array, Vec<SliceArg>, &str)> = vec![
            (&a, vec![1.into()], "1"),
            (&a, vec![(-1).into(), (1..3).into()], "-1, 1:3"),
            (&a, vec![Ellipsis, 2.into()], "..., 2"),
            (
                &a,
                vec![NewAxis, 1.into(), Ellipsis, r(None, None, -2)],
                "None, 1, ..., ::-2",
            ),
            (
                &a,
                vec![Full, NewAxis, (..2).into(), (3..).into()],
                ":, None, :2, 3:",
            ),
            (
                &a,
                vec![r(Some(-1), None, -1), Full, 0.into()],
                "-1::-1, :, 0",
            ),
            (&a, vec![0.into(), 0.into(), 0.into()], "0, 0, 0"),
            (
                &a,
                vec![0.into(), 0.into(), 0.into(), NewAxis],
                "0, 0, 0, None",
            ),
            (&a, vec![], "..."),
            (&a, vec![r(Some(5), Some(1), 1)], "5:1"),
            (&at, vec![1.into(), r(None, None, -1)], "1, ::-1"),
            (
                &at,
                vec![Ellipsis, r(Some(1), None, 2), NewAxis],
                "..., 1::2, None",
            ),
        ];
        let mut cases = vec![];
        let mut got = vec![];
        for (x, args, py) in &cases_spec {
            got.push(ops::index(x, args).unwrap());
            cases.push((format!("out = x[{py}]"), vec![("x", *x)]));
        }
        let want = numpy_batch(&cases);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            check_exact(g, &w[0], &format!("index [{}]", cases_spec[i].2));
        }
        // 0-d arrays: a new axis, or nothing.
        let z = Array::scalar(7i32);
        assert_eq!(z.index(&[NewAxis]).unwrap().shape(), &[1]);
        assert_eq!(z.index(&[Ellipsis]).unwrap().item::<i32>().unwrap(), 7);
        // Errors: out-of-range ints, too many indices, two ellipses, zero steps.
        let e = ops::index(&a, &[3.into()]).unwrap_err();
        assert!(e.to_string().contains("out of bounds"), "{e}");
        assert!(ops::index(&a, &[(-4).into()]).is_err());
        assert!(ops::index(&a, &[0.into(), 0.into(), 0.into(), 0.into()]).is_err());
        assert!(ops::index(&a, &[Ellipsis, Ellipsis]).is_err());
        assert!(ops::index(&a, &[SliceArg::step(0)]).is_err());
        assert!(z.index(&[0.into()]).is_err());
    });
}

#[test]
fn slices_and_flips_are_views() {
    on_each_device(|_| {
        let a = rand(&[6, 7], Dtype::Float32, -1.0, 1.0, 3);
        a.eval().unwrap();
        let s = ops::slice(&a, &[1, -1], &[5, isize::MIN], &[2, -3]).unwrap();
        let i = ops::index(&a, &[2.into(), SliceArg::step(-1)]).unwrap();
        let f = ops::flip(&a, None).unwrap();
        let f1 = ops::flip(&a, Some(&[-1])).unwrap();
        for (what, v) in [
            ("slice", &s),
            ("index", &i),
            ("flip", &f),
            ("flip axis", &f1),
        ] {
            assert!(shares(&a, v), "{what} must share the input's storage");
        }
        let want = numpy(
            "out = [a[1:5:2, ::-3], a[2, ::-1], a[::-1, ::-1], a[:, ::-1]]",
            &[("a", &a)],
        );
        check_exact(&s, &want[0], "slice");
        check_exact(&i, &want[1], "index");
        check_exact(&f, &want[2], "flip");
        check_exact(&f1, &want[3], "flip axis");
        assert!(ops::flip(&a, Some(&[2])).is_err());
        assert!(ops::flip(&a, Some(&[0, 0])).is_err());
    });
}

#[test]
fn negative_strides_through_kernels() {
    on_each_device(|dev| {
        let mut got: Vec<(String, Array)> = vec![];
        let mut cases: Cases = vec![];
        for (k, &dt) in [
            Dtype::Float32,
            Dtype::Int8,
            Dtype::Complex64,
            Dtype::Bool,
            Dtype::Float16,
        ]
        .iter()
        .enumerate()
        {
            let a = rand(&[5, 6, 4], dt, -9.0, 9.0, 40 + k as u64);
            let r = ops::flip(&a, None).unwrap();
            let r1 =
                ops::slice(&a, &[4, 0, -1], &[isize::MIN, 6, isize::MIN], &[-2, 1, -1]).unwrap();
            let tr = ops::transpose(&r).unwrap();
            // Merging reversed axes is a view; flattening a transposed reversed view copies.
            let m = ops::reshape(&r, &[30, 4]).unwrap();
            assert!(shares(&a, &m), "reshape of a reversed view stays a view");
            got.push((format!("{dt} reversed to_vec"), r.clone()));
            got.push((format!("{dt} step -2 slice"), r1.clone()));
            got.push((format!("{dt} contiguous"), ops::contiguous(&tr).unwrap()));
            got.push((format!("{dt} reshape"), m));
            got.push((format!("{dt} flatten"), ops::reshape(&r, &[-1]).unwrap()));
            got.push((
                format!("{dt} flatten copy"),
                ops::reshape(&ops::transpose(&r1).unwrap(), &[-1]).unwrap(),
            ));
            got.push((format!("{dt} astype"), r.astype(Dtype::Float64).unwrap()));
            cases.push((
                "r = a[::-1, ::-1, ::-1]\nout = [r, a[4::-2, :, ::-1], r.T, r.reshape(30, 4), \
                 r.reshape(-1), r1.T.reshape(-1), r.real.astype(np.float64)]"
                    .into(),
                vec![("a", a.clone()), ("r1", r1.clone())],
            ));
        }
        let want: Vec<Array> = run_cases(&cases).into_iter().flatten().collect();
        for ((what, g), w) in got.iter().zip(&want) {
            check_exact(g, w, what);
        }
        // The CPU's generic elementwise kernels (called directly below) read reversed
        // views too; the GPU's are covered by the cases above.
        if !dev.is_cpu() {
            return;
        }
        let a = rand(&[33, 17], Dtype::Float32, -1.0, 1.0, 50);
        let b = rand(&[33, 17], Dtype::Float32, -1.0, 1.0, 51);
        let ra = ops::flip(&a, None).unwrap();
        let rb = ops::flip(&b, Some(&[1])).unwrap();
        let c = rand(&[17], Dtype::Float32, -1.0, 1.0, 52);
        let rc = ops::broadcast_to(&ops::flip(&c, None).unwrap(), &[33, 17]).unwrap();
        use mlxr::backend::cpu::elementwise::{binary_map, ternary_map, unary_map};
        let d = |data: mlxr::Data, shape: &[usize]| {
            Array::from_data(
                data,
                shape.to_vec(),
                Dtype::Float32,
                mlxr::StreamOrDevice::Default.resolve(),
            )
        };
        let u = d(
            unary_map::<f32, f32, _>(&ra, |x| x * 2.0).unwrap(),
            &[33, 17],
        );
        let bsum = d(
            binary_map::<f32, f32, f32, _>(&ra, &rb, |x, y| x + y).unwrap(),
            &[33, 17],
        );
        let t = d(
            ternary_map::<f32, f32, f32, f32, _>(&ra, &rb, &rc, |x, y, z| x * y + z).unwrap(),
            &[33, 17],
        );
        let want = numpy(
            "ra = a[::-1, ::-1]; rb = b[:, ::-1]; rc = c[::-1]\nout = [ra * 2, ra + rb, ra * rb + rc]",
            &[("a", &a), ("b", &b), ("c", &c)],
        );
        assert_close(&u, &want[0], 1e-6, 1e-6, "unary on reversed");
        assert_close(&bsum, &want[1], 1e-6, 1e-6, "binary on reversed");
        assert_close(&t, &want[2], 1e-6, 1e-6, "ternary on reversed");
    });
}
