//! Matrix products: matmul (vectors, batches, broadcasting, strided views, every dtype),
//! addmm, inner, outer, tensordot — against NumPy.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Data, Dtype};

/// A view of `base`'s storage with explicit shape, strides and offset (step slices,
/// negative strides, broadcast axes).
fn view(base: &Array, shape: &[usize], strides: &[isize], offset: usize) -> Array {
    let d = base.data().unwrap();
    let v = Data::with_layout(d.storage.clone(), shape, strides.to_vec(), offset, None);
    Array::from_data(v, shape.to_vec(), base.dtype(), base.stream())
}

/// Check `got` against NumPy's `want` with an absolute tolerance scaled by the depth of
/// the products (`k`) and a relative one for the dtype.
fn check(got: &Array, want: &Array, dtype: Dtype, k: usize, what: &str) {
    assert_eq!(got.dtype(), dtype, "{what}: dtype");
    let kf = (k.max(1) as f64).sqrt();
    let (r, a) = match dtype {
        Dtype::Float16 => (4e-3, 4e-3 * kf),
        Dtype::Bfloat16 => (2e-2, 2e-2 * kf),
        Dtype::Float32 | Dtype::Complex64 => (1e-5, 2e-6 * kf),
        _ => (1e-12, 1e-13 * kf),
    };
    assert_close(got, want, r, a, what);
}

#[test]
fn matmul_shapes_and_vectors() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        let shapes: Vec<(Vec<usize>, Vec<usize>, Vec<usize>)> = vec![
            (vec![3, 4], vec![4, 5], vec![3, 5]),
            (vec![4], vec![4, 5], vec![5]),
            (vec![3, 4], vec![4], vec![3]),
            (vec![4], vec![4], vec![]),
            (vec![1, 1], vec![1, 1], vec![1, 1]),
            (vec![2, 1, 3, 4], vec![5, 4, 6], vec![2, 5, 3, 6]),
            (vec![3], vec![5, 3, 6], vec![5, 6]),
            (vec![5, 2, 3], vec![3], vec![5, 2]),
            (vec![1, 3, 4], vec![2, 1, 4, 2], vec![2, 1, 3, 2]),
            // packed kernel: partial tiles, several depth blocks, several row blocks
            (vec![100, 70], vec![70, 130], vec![100, 130]),
            (vec![150, 300], vec![300, 70], vec![150, 70]),
            (vec![300, 40], vec![40, 33], vec![300, 33]),
            (vec![13, 20], vec![20, 4200], vec![13, 4200]),
            // many small products, and batches of large ones
            (vec![64, 7, 9], vec![64, 9, 5], vec![64, 7, 5]),
            (vec![3, 64, 48], vec![48, 80], vec![3, 64, 80]),
            (vec![2, 130, 120], vec![2, 120, 70], vec![2, 130, 70]),
        ];
        let mut ins = vec![];
        for (i, (sa, sb, _)) in shapes.iter().enumerate() {
            ins.push((
                rand(sa, f, -1.0, 1.0, 10 + i as u64),
                rand(sb, f, -1.0, 1.0, 100 + i as u64),
            ));
        }
        let cases: Vec<_> = ins
            .iter()
            .map(|(a, b)| {
                (
                    "out = np.matmul(a, b)".to_string(),
                    vec![("a", a), ("b", b)],
                )
            })
            .collect();
        let want = numpy_batch(&cases);
        for (i, ((a, b), (sa, sb, so))) in ins.iter().zip(&shapes).enumerate() {
            let got = ops::matmul(a, b).unwrap();
            assert_eq!(got.shape(), &so[..], "case {i}: {sa:?} @ {sb:?}");
            let k = *sa.last().unwrap();
            check(&got, &want[i][0], f, k, &format!("matmul {sa:?} @ {sb:?}"));
            // the method form
            assert_eq!(a.matmul(b).unwrap().shape(), &so[..]);
        }
    });
}

#[test]
fn matmul_strided_operands() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        let a = rand(&[90, 70], f, -1.0, 1.0, 1);
        let b = rand(&[70, 110], f, -1.0, 1.0, 2);
        let at = ops::transpose(&rand(&[70, 90], f, -1.0, 1.0, 3)).unwrap();
        let bt = ops::transpose(&rand(&[110, 70], f, -1.0, 1.0, 4)).unwrap();
        // step slices: every other row and column of a bigger array, offset
        let big = rand(&[200, 300], f, -1.0, 1.0, 5);
        let sl = view(&big, &[90, 70], &[600, 2], 301);
        // negative strides (flipped rows)
        let big2 = rand(&[70, 110], f, -1.0, 1.0, 6);
        let flip = view(&big2, &[70, 110], &[-110, 1], 69 * 110);
        // broadcast rows (row stride 0) and a broadcast batch
        let row = rand(&[1, 70], f, -1.0, 1.0, 7);
        let brow = ops::broadcast_to(&row, &[90, 70]).unwrap();
        let bb = ops::broadcast_to(&b, &[3, 70, 110]).unwrap();
        let a3 = rand(&[3, 90, 70], f, -1.0, 1.0, 8);
        // a transposed batch: (3, 70, 90) -> (3, 90, 70) via axes (0, 2, 1)
        let a3t = ops::transpose_axes(&rand(&[3, 70, 90], f, -1.0, 1.0, 9), &[0, 2, 1]).unwrap();
        // batch axis innermost in memory
        let a3p = ops::transpose_axes(&rand(&[90, 70, 3], f, -1.0, 1.0, 10), &[2, 0, 1]).unwrap();
        let pairs: Vec<(&str, &Array, &Array)> = vec![
            ("at@b", &at, &b),
            ("a@bt", &a, &bt),
            ("at@bt", &at, &bt),
            ("slice@b", &sl, &b),
            ("brow@b", &brow, &b),
            ("a3@bb", &a3, &bb),
            ("a3t@b", &a3t, &b),
            ("a3p@bt", &a3p, &bt),
        ];
        let cases: Vec<_> = pairs
            .iter()
            .map(|(_, x, y)| ("out = x @ y".to_string(), vec![("x", *x), ("y", *y)]))
            .collect();
        let want = numpy_batch(&cases);
        for (i, (name, x, y)) in pairs.iter().enumerate() {
            let got = ops::matmul(x, y).unwrap();
            check(&got, &want[i][0], f, 70, name);
        }
        // Negative strides: the references index the base arrays in NumPy (the views
        // themselves are not passed to NumPy).
        let s1 = view(&big, &[5, 4], &[-3, 7], 1000);
        let s2 = view(&big2, &[4, 3], &[1, 110], 5);
        let want = numpy(
            "f = big.ravel()\n\
             s1 = f[1000 - 3 * np.arange(5)[:, None] + 7 * np.arange(4)[None, :]]\n\
             s2 = big2.ravel()[5 + np.arange(4)[:, None] + 110 * np.arange(3)[None, :]]\n\
             out = [a @ big2[::-1], s1 @ s2]",
            &[("a", &a), ("big", &big), ("big2", &big2)],
        );
        check(&ops::matmul(&a, &flip).unwrap(), &want[0], f, 70, "a@flip");
        // small strided operands go through the other kernel
        check(
            &ops::matmul(&s1, &s2).unwrap(),
            &want[1],
            f,
            4,
            "small strided",
        );
    });
}

#[test]
fn matmul_dtypes() {
    on_each_device(|_| {
        // (m, k, n): a small product (fallback kernel) and a large one (packed kernel)
        let sizes = [(5usize, 6usize, 7usize), (70, 130, 90)];
        for &dt in &[
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ] {
            let mut arrs = vec![];
            for (i, &(m, k, n)) in sizes.iter().enumerate() {
                let a = rand(&[m, k], dt, -1.0, 1.0, 20 + i as u64);
                let b = rand(&[k, n], dt, -1.0, 1.0, 30 + i as u64);
                let at = ops::transpose(&rand(&[k, m], dt, -1.0, 1.0, 40 + i as u64)).unwrap();
                arrs.push((a, b, at, k));
            }
            // reference: the inputs in a wide type, rounded once to the result type
            let code = match dt {
                Dtype::Float16 => "out = [(x.astype(np.float64) @ y.astype(np.float64)).astype(np.float16), (z.astype(np.float64) @ y.astype(np.float64)).astype(np.float16)]",
                Dtype::Bfloat16 => "out = [x.astype(np.float64) @ y.astype(np.float64), z.astype(np.float64) @ y.astype(np.float64)]",
                Dtype::Complex64 => "out = [(x.astype(np.complex128) @ y).astype(np.complex64), (z.astype(np.complex128) @ y).astype(np.complex64)]",
                _ => "out = [x @ y, z @ y]",
            };
            let cases: Vec<_> = arrs
                .iter()
                .map(|(a, b, at, _)| (code.to_string(), vec![("x", a), ("y", b), ("z", at)]))
                .collect();
            let want = numpy_batch(&cases);
            for (i, (a, b, at, k)) in arrs.iter().enumerate() {
                let got = ops::matmul(a, b).unwrap();
                check(
                    &got,
                    &want[i][0].astype(dt).unwrap(),
                    dt,
                    *k,
                    &format!("{dt} a@b"),
                );
                let got = ops::matmul(at, b).unwrap();
                check(
                    &got,
                    &want[i][1].astype(dt).unwrap(),
                    dt,
                    *k,
                    &format!("{dt} a.T@b"),
                );
            }
        }
    });
}

#[test]
fn matmul_promotion_and_errors() {
    let h = rand(&[3, 4], Dtype::Float16, -1.0, 1.0, 1);
    let bh = rand(&[4, 2], Dtype::Bfloat16, -1.0, 1.0, 2);
    let f = rand(&[4, 2], Dtype::Float32, -1.0, 1.0, 3);
    let i = rand(&[4, 2], Dtype::Int32, -3.0, 3.0, 4);
    let d = rand(&[4, 2], Dtype::Float64, -1.0, 1.0, 5);
    // promotions as MLX: f16@bf16 -> f32, f16@f32 -> f32, f16@i32 -> f16, f16@f64 -> f64
    assert_eq!(ops::matmul(&h, &bh).unwrap().dtype(), Dtype::Float32);
    assert_eq!(ops::matmul(&h, &f).unwrap().dtype(), Dtype::Float32);
    assert_eq!(ops::matmul(&h, &d).unwrap().dtype(), Dtype::Float64);
    let hi = ops::matmul(&h, &i).unwrap();
    assert_eq!(hi.dtype(), Dtype::Float16);
    let want = numpy1(
        "out = (x.astype(np.float64) @ y.astype(np.float64)).astype(np.float16)",
        &[("x", &h), ("y", &i)],
    );
    check(&hi, &want, Dtype::Float16, 4, "f16 @ i32");
    let hb = ops::matmul(&h, &bh).unwrap();
    let want = numpy1(
        "out = (x.astype(np.float32) @ y).astype(np.float32)",
        &[("x", &h), ("y", &bh)],
    );
    // bf16 inputs are exact in f32, so the f32 product matches closely
    check(&hb, &want, Dtype::Float32, 4, "f16 @ bf16");

    // integer and bool products are rejected, naming the dtypes
    let ii = rand(&[3, 4], Dtype::Int32, -3.0, 3.0, 6);
    let e = ops::matmul(&ii, &i).unwrap_err();
    assert!(matches!(e, mlxr::Error::Dtype(_)), "{e}");
    assert!(e.to_string().contains("int32"), "{e}");
    let bb = rand(&[3, 3], Dtype::Bool, 0.0, 1.0, 7);
    assert!(ops::matmul(&bb, &bb).is_err());
    let u = rand(&[3, 3], Dtype::Uint8, 0.0, 5.0, 8);
    assert!(ops::matmul(&u, &u).is_err());
    // inner dimensions must agree; the message names both shapes
    let a = rand(&[2, 3], Dtype::Float32, -1.0, 1.0, 9);
    let b = rand(&[4, 2], Dtype::Float32, -1.0, 1.0, 10);
    let e = ops::matmul(&a, &b).unwrap_err();
    assert!(matches!(e, mlxr::Error::Shape(_)), "{e}");
    assert!(
        e.to_string().contains("[2, 3]") && e.to_string().contains("[4, 2]"),
        "{e}"
    );
    assert!(ops::matmul(
        &rand(&[3], Dtype::Float32, 0.0, 1.0, 1),
        &rand(&[4], Dtype::Float32, 0.0, 1.0, 2)
    )
    .is_err());
    // batch dimensions that do not broadcast
    let e = ops::matmul(
        &rand(&[2, 3, 4], Dtype::Float32, 0.0, 1.0, 1),
        &rand(&[3, 4, 2], Dtype::Float32, 0.0, 1.0, 2),
    )
    .unwrap_err();
    assert!(e.to_string().contains("[2, 3, 4]"), "{e}");
    // 0-d inputs
    let s = Array::scalar(2.0f32);
    assert!(ops::matmul(&s, &a).is_err());
    assert!(ops::matmul(&a, &s).is_err());
}

#[test]
fn matmul_empty() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        // k = 0: zeros
        let z = ops::matmul(
            &Array::from_slice::<f32>(&[], &[2, 0]).unwrap(),
            &Array::from_slice::<f32>(&[], &[0, 3]).unwrap(),
        )
        .unwrap();
        assert_eq!(z.shape(), &[2, 3]);
        assert_eq!(z.to_vec::<f32>().unwrap(), vec![0.0; 6]);
        for &dt in &[
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float64,
            Dtype::Complex64,
        ] {
            let z = ops::matmul(
                &rand(&[4, 0], dt, 0.0, 1.0, 1),
                &rand(&[0, 2], dt, 0.0, 1.0, 2),
            )
            .unwrap();
            assert_eq!(z.dtype(), dt);
            assert_eq!(z.to_vec::<f64>().unwrap(), vec![0.0; 8]);
        }
        let z = ops::matmul(&rand(&[0], f, 0.0, 1.0, 1), &rand(&[0], f, 0.0, 1.0, 2)).unwrap();
        assert_eq!(z.shape(), &[] as &[usize]);
        assert_eq!(z.item::<f32>().unwrap(), 0.0);
        // m = 0, n = 0, empty batch
        assert_eq!(
            ops::matmul(
                &rand(&[0, 3], f, 0.0, 1.0, 1),
                &rand(&[3, 4], f, 0.0, 1.0, 2)
            )
            .unwrap()
            .shape(),
            &[0, 4]
        );
        let e = ops::matmul(
            &rand(&[2, 3], f, 0.0, 1.0, 1),
            &rand(&[3, 0], f, 0.0, 1.0, 2),
        )
        .unwrap();
        assert_eq!(e.shape(), &[2, 0]);
        assert_eq!(e.to_vec::<f32>().unwrap().len(), 0);
        let e = ops::matmul(
            &rand(&[0, 2, 3], f, 0.0, 1.0, 1),
            &rand(&[3, 4], f, 0.0, 1.0, 2),
        )
        .unwrap();
        assert_eq!(e.shape(), &[0, 2, 4]);
        e.eval().unwrap();
    });
}

#[test]
fn addmm_matches_numpy() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        let a = rand(&[30, 40], f, -1.0, 1.0, 1);
        let b = rand(&[40, 50], f, -1.0, 1.0, 2);
        let c_full = rand(&[30, 50], f, -1.0, 1.0, 3);
        let c_row = rand(&[50], f, -1.0, 1.0, 4);
        let c_col = rand(&[30, 1], f, -1.0, 1.0, 5);
        let c_0d = rand(&[], f, -1.0, 1.0, 6);
        let ab = rand(&[2, 30, 40], f, -1.0, 1.0, 7);
        let c_b = rand(&[2, 1, 50], f, -1.0, 1.0, 8);
        let v = rand(&[40], f, -1.0, 1.0, 9);
        let c_v = rand(&[50], f, -1.0, 1.0, 10);
        let a16 = rand(&[30, 40], Dtype::Float16, -1.0, 1.0, 11);
        let b16 = rand(&[40, 50], Dtype::Float16, -1.0, 1.0, 12);
        let c16 = rand(&[30, 50], Dtype::Float16, -1.0, 1.0, 13);
        let big_a = rand(&[100, 120], f, -1.0, 1.0, 14);
        let big_b = rand(&[120, 90], f, -1.0, 1.0, 15);
        let big_c = rand(&[90], f, -1.0, 1.0, 16);
        let a_t = ops::transpose(&rand(&[40, 30], f, -1.0, 1.0, 17)).unwrap();
        let cases: Vec<(&Array, &Array, &Array, f32, f32)> = vec![
            (&c_full, &a, &b, 1.0, 1.0),
            (&c_full, &a, &b, 2.0, 0.5),
            (&c_row, &a, &b, -1.5, 3.0),
            (&c_col, &a, &b, 0.25, -2.0),
            (&c_0d, &a, &b, 1.0, 1.0),
            (&c_full, &a, &b, 1.0, 0.0),
            (&c_b, &ab, &b, 0.5, 1.5),
            (&c_v, &v, &b, 2.0, 2.0),
            (&c16, &a16, &b16, 0.5, 2.0),
            (&big_c, &big_a, &big_b, 1.5, -0.5),
            (&c_row, &a_t, &b, 1.0, 1.0),
        ];
        let refs: Vec<_> = cases
            .iter()
            .map(|(c, a, b, al, be)| {
                (
                    format!("out = ({al} * (a.astype(np.float64) @ b.astype(np.float64)) + {be} * c.astype(np.float64)).astype(np.result_type(a, b, c))"),
                    vec![("c", *c), ("a", *a), ("b", *b)],
                )
            })
            .collect();
        let want = numpy_batch(&refs);
        for (i, (c, a, b, al, be)) in cases.iter().enumerate() {
            let got = ops::addmm(c, a, b, *al, *be).unwrap();
            let k = a.shape()[a.ndim() - 1];
            check(
                &got,
                &want[i][0],
                got.dtype(),
                k * 4,
                &format!("addmm case {i}"),
            );
        }
        // dtype promotion: c joins the promotion
        let c32 = rand(&[50], f, -1.0, 1.0, 20);
        assert_eq!(
            ops::addmm(&c32, &a16, &b16, 1.0, 1.0).unwrap().dtype(),
            Dtype::Float32
        );
        let ci = rand(&[50], Dtype::Int32, -3.0, 3.0, 21);
        assert_eq!(
            ops::addmm(&ci, &a16, &b16, 1.0, 1.0).unwrap().dtype(),
            Dtype::Float16
        );
        // k = 0: beta * c
        let z = ops::addmm(
            &c_full,
            &rand(&[30, 0], f, 0.0, 1.0, 1),
            &rand(&[0, 50], f, 0.0, 1.0, 2),
            2.0,
            3.0,
        )
        .unwrap();
        let want = numpy1("out = 3.0 * c", &[("c", &c_full)]);
        check(&z, &want, f, 1, "addmm k=0");
        // errors: c that does not broadcast to the output, integer inputs, bad shapes
        let e = ops::addmm(&rand(&[7, 50], f, 0.0, 1.0, 1), &a, &b, 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("[7, 50]"), "{e}");
        assert!(ops::addmm(&rand(&[2, 30, 50], f, 0.0, 1.0, 1), &a, &b, 1.0, 1.0).is_err());
        assert!(ops::addmm(&rand(&[1], f, 0.0, 1.0, 1), &v, &v, 1.0, 1.0).is_err());
        let ii = rand(&[3, 3], Dtype::Int32, 0.0, 3.0, 1);
        assert!(ops::addmm(&ii, &ii, &ii, 1.0, 1.0).is_err());
        assert!(ops::addmm(&c_full, &a, &a, 1.0, 1.0).is_err());
    });
}

#[test]
fn tensordot_and_inner() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        let x = rand(&[2, 3, 4], f, -1.0, 1.0, 1);
        let y = rand(&[3, 4, 5], f, -1.0, 1.0, 2);
        let z = rand(&[4, 3, 5], f, -1.0, 1.0, 3);
        let v = rand(&[4], f, -1.0, 1.0, 4);
        let w = rand(&[5, 4], f, -1.0, 1.0, 5);
        let xt = ops::transpose(&rand(&[4, 3, 2], f, -1.0, 1.0, 6)).unwrap();
        let results = vec![
            ops::tensordot(&x, &y, 2).unwrap(),
            ops::tensordot(&x, &w.t().unwrap(), 1).unwrap(),
            ops::tensordot(&x, &y, 0).unwrap(),
            ops::tensordot_axes(&x, &z, &[1, 2], &[1, 0]).unwrap(),
            ops::tensordot_axes(&x, &z, &[-2, -1], &[1, 0]).unwrap(),
            ops::tensordot_axes(&x, &z, &[2], &[0]).unwrap(),
            ops::tensordot_axes(&xt, &z, &[1, 2], &[1, 0]).unwrap(),
            ops::inner(&x, &w).unwrap(),
            ops::inner(&v, &v).unwrap(),
            ops::inner(&xt, &w).unwrap(),
        ];
        let want = numpy(
            "out = [np.tensordot(x, y, 2), np.tensordot(x, w.T, 1), np.tensordot(x, y, 0), \
             np.tensordot(x, z, [[1, 2], [1, 0]]), np.tensordot(x, z, [[-2, -1], [1, 0]]), \
             np.tensordot(x, z, [[2], [0]]), np.tensordot(xt, z, [[1, 2], [1, 0]]), \
             np.inner(x, w), np.inner(v, v), np.inner(xt, w)]",
            &[
                ("x", &x),
                ("y", &y),
                ("z", &z),
                ("v", &v),
                ("w", &w),
                ("xt", &xt),
            ],
        );
        for (i, (g, w)) in results.iter().zip(&want).enumerate() {
            check(g, w, f, 12, &format!("tensordot/inner case {i}"));
        }
        // errors
        assert!(ops::tensordot(&x, &y, 1).is_err()); // 4 vs 3
        assert!(ops::tensordot(&x, &y, 4).is_err());
        assert!(ops::tensordot_axes(&x, &z, &[1, 2], &[1]).is_err());
        assert!(ops::tensordot_axes(&x, &z, &[5], &[0]).is_err());
        assert!(ops::tensordot_axes(&x, &z, &[1, 1], &[1, 1]).is_err());
        assert!(ops::tensordot_axes(&x, &z, &[0], &[0]).is_err()); // 2 vs 4
        let e = ops::inner(&x, &rand(&[3], f, 0.0, 1.0, 1)).unwrap_err();
        assert!(e.to_string().contains("[2, 3, 4]"), "{e}");
        let xi = rand(&[2, 3], Dtype::Int32, 0.0, 3.0, 1);
        assert!(ops::inner(&xi, &xi).is_err());
        assert!(ops::tensordot(&xi, &xi.t().unwrap(), 1).is_err());
    });
}

#[test]
fn outer_and_scalar_inner() {
    on_each_device(|_| {
        let f = Dtype::Float32;
        let a = rand(&[4], f, -1.0, 1.0, 1);
        let b = rand(&[3], f, -1.0, 1.0, 2);
        let m = rand(&[2, 3], f, -1.0, 1.0, 3);
        let ai = rand(&[4], Dtype::Int32, -5.0, 5.0, 4);
        let bi = rand(&[2, 2], Dtype::Int32, -5.0, 5.0, 5);
        let s = Array::scalar(1.5f32);
        let h = rand(&[3], Dtype::Float16, -1.0, 1.0, 6);
        let got = [
            ops::outer(&a, &b).unwrap(),
            ops::outer(&m, &a).unwrap(),
            ops::outer(&ai, &bi).unwrap(),
            ops::outer(&s, &s).unwrap(),
            ops::inner(&s, &m).unwrap(),
            ops::outer(&h, &a).unwrap(),
        ];
        let want = numpy(
            "out = [np.outer(a, b), np.outer(m, a), np.outer(ai, bi), np.outer(s, s), \
             np.inner(s, m), np.outer(h.astype(np.float32), a)]",
            &[
                ("a", &a),
                ("b", &b),
                ("m", &m),
                ("ai", &ai),
                ("bi", &bi),
                ("s", &s),
                ("h", &h),
            ],
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_matches(g, w, &format!("outer/inner case {i}"));
        }
        assert_eq!(got[2].dtype(), Dtype::Int32);
        assert_eq!(got[3].shape(), &[1, 1]);
        assert_eq!(
            ops::outer(&rand(&[0], f, 0.0, 1.0, 1), &b).unwrap().shape(),
            &[0, 3]
        );
    });
}
