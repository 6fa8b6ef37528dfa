//! Indexing: take, take_along_axis, put_along_axis, gather / scatter (all reductions,
//! duplicate indices), slice updates with static and dynamic starts, against NumPy; MLX's
//! semantics where they differ (out-of-range indices, NaN in scatter max/min); bad input.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

const ALL: [Dtype; 14] = Dtype::ALL;
const INDEX_DTYPES: [Dtype; 6] = [
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Uint8,
    Dtype::Int16,
    Dtype::Uint32,
    Dtype::Int8,
];

fn idx(v: &[i64], shape: &[usize], dt: Dtype) -> Array {
    Array::from_slice(v, shape).unwrap().astype(dt).unwrap()
}

fn transposed(a: &Array) -> Array {
    // A non-contiguous view with the same logical values as `a`.
    let nd = a.ndim() as isize;
    let perm: Vec<isize> = (0..nd).rev().collect();
    let t = ops::contiguous(&ops::transpose_axes(a, &perm).unwrap()).unwrap();
    ops::transpose_axes(&t, &perm).unwrap()
}

#[test]
fn take_every_dtype_axis_and_index_type() {
    on_each_device(|_| {
        let mut data = vec![];
        for (n, &dt) in ALL.iter().enumerate() {
            let a = rand(&[4, 5, 6], dt, -50.0, 50.0, n as u64);
            let idt = INDEX_DTYPES[n % INDEX_DTYPES.len()];
            let signed = idt.is_signed_integer();
            let i1 = idx(
                if signed {
                    &[0, -1, 3, 2, 2, -4]
                } else {
                    &[0, 3, 3, 2, 1, 1]
                },
                &[2, 3],
                idt,
            );
            let i0 = idx(&[3, 0, 1], &[3], idt);
            let at = transposed(&a);
            data.push((a, at, i0, i1));
        }
        let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
        let mut got = vec![];
        for (a, at, i0, i1) in &data {
            for (axis, ii) in [
                (None, i1),
                (Some(0isize), i0),
                (Some(1), i1),
                (Some(2), i1),
                (Some(-1), i0),
            ] {
                for (src, aa) in [("a", a), ("at", at)] {
                    got.push(ops::take(aa, ii, axis).unwrap());
                    let ax = axis.map_or("None".to_string(), |x| x.to_string());
                    cases.push((
                        format!("out = np.take({src}, i.astype(np.int64), axis={ax})"),
                        vec![(src, aa), ("i", ii)],
                    ));
                }
            }
            // A scalar index removes the axis.
            got.push(ops::take_index(a, -2, Some(1)).unwrap());
            cases.push(("out = np.take(a, -2, axis=1)".into(), vec![("a", a)]));
        }
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w[0].astype(g.dtype()).unwrap();
            assert_matches(g, &w, &format!("take case {k}: {}", cases[k].0));
        }
    });
}

#[test]
fn take_edge_cases() {
    on_each_device(|_| {
        let a = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 1);
        // Empty selections.
        let e = idx(&[], &[0], Dtype::Int32);
        assert_eq!(ops::take(&a, &e, Some(0)).unwrap().shape(), &[0, 4]);
        assert_eq!(ops::take(&a, &e, Some(1)).unwrap().shape(), &[3, 0]);
        assert_eq!(ops::take(&a, &e, None).unwrap().shape(), &[0]);
        let z = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
        assert_eq!(ops::take(&z, &e, Some(0)).unwrap().shape(), &[0, 3]);
        assert!(ops::take(&z, &idx(&[0], &[1], Dtype::Int32), Some(0)).is_err());
        // Broadcast input and broadcast indices.
        let b = ops::broadcast_to(
            &Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap(),
            &[4, 3],
        )
        .unwrap();
        let ib = ops::broadcast_to(&idx(&[2, 0], &[2], Dtype::Int64), &[3, 2]).unwrap();
        let got = ops::take(&b, &ib, Some(1)).unwrap();
        let want = numpy1("out = np.take(b, i, axis=1)", &[("b", &b), ("i", &ib)]);
        assert_matches(&got, &want, "take broadcast");
        // 0-d array, size-1 dims.
        let s = Array::scalar(7i32);
        assert_eq!(
            ops::take(&s, &idx(&[0, 0], &[2], Dtype::Int32), None)
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![7, 7]
        );
        let one = rand(&[1, 3, 1], Dtype::Int32, 0.0, 9.0, 3);
        let got = ops::take(&one, &idx(&[0, 0, 0], &[3], Dtype::Int32), Some(2)).unwrap();
        assert_matches(
            &got,
            &numpy1("out = np.take(a, [0,0,0], axis=2)", &[("a", &one)]),
            "take size-1",
        );
        // Out of range: clamped (MLX reads out of bounds; mlxr never does).
        let v = Array::from_slice(&[10i32, 11, 12, 13], &[4]).unwrap();
        let got = ops::take(&v, &idx(&[5, -9, 3, -1], &[4], Dtype::Int32), None).unwrap();
        assert_eq!(got.to_vec::<i32>().unwrap(), vec![13, 10, 13, 13]);
        // Large take in parallel, rows of a big matrix.
        let big = rand(&[2000, 64], Dtype::Float32, -1.0, 1.0, 4);
        let rows: Vec<i64> = (0..3000).map(|i| (i * 7919 % 2000) as i64 - 1000).collect();
        let ri = idx(&rows, &[3000], Dtype::Int32);
        let got = ops::take(&big, &ri, Some(0)).unwrap();
        assert_matches(
            &got,
            &numpy1("out = np.take(a, i, axis=0)", &[("a", &big), ("i", &ri)]),
            "big take",
        );
    });
}

#[test]
fn take_along_axis_and_put_along_axis() {
    on_each_device(|_| {
        let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
        let mut got = vec![];
        let arrays: Vec<Array> = [
            Dtype::Float32,
            Dtype::Int8,
            Dtype::Bool,
            Dtype::Float16,
            Dtype::Complex64,
            Dtype::Uint64,
        ]
        .iter()
        .enumerate()
        .map(|(i, &d)| rand(&[3, 4, 5], d, -20.0, 20.0, 10 + i as u64))
        .collect();
        let ia = idx(
            &[0, -1, 2, 3, 1, 1, 4, 0, -5, 2, 2, 2],
            &[3, 4, 1],
            Dtype::Int32,
        );
        let ib = idx(&[0, 1, 2, 0, 0, -1, 1, 2], &[1, 4, 2], Dtype::Int64);
        let i0 = idx(&[2, 0, 1, 1, 0, 2, 2, 2, 0, 1], &[2, 1, 5], Dtype::Int16);
        let vals = rand(&[3, 4, 1], Dtype::Float64, -100.0, 100.0, 99);
        let ats: Vec<Array> = arrays.iter().map(transposed).collect();
        for (a, at) in arrays.iter().zip(&ats) {
            for (aa, an) in [(a, "a"), (at, "at")] {
                got.push(ops::take_along_axis(aa, &ia, Some(2)).unwrap());
                cases.push((
                    format!("out = np.take_along_axis({an}, i % 5, axis=2)"),
                    vec![(an, aa), ("i", &ia)],
                ));
                got.push(ops::take_along_axis(aa, &ib, Some(-1)).unwrap());
                cases.push((
                    format!(
                        "out = np.take_along_axis({an}, np.broadcast_to(ib % 5, (3,4,2)), axis=-1)"
                    ),
                    vec![(an, aa), ("ib", &ib)],
                ));
                got.push(ops::take_along_axis(aa, &i0, Some(0)).unwrap());
                cases.push((
                    format!("out = np.take_along_axis({an}, np.broadcast_to(i0, (2,4,5)), axis=0)"),
                    vec![(an, aa), ("i0", &i0)],
                ));
            }
            // put_along_axis: values cast to a's dtype; duplicates (row of ib) last wins.
            got.push(ops::put_along_axis(a, &ia, &vals, Some(2)).unwrap());
            cases.push((
                "o = a.copy()\nnp.put_along_axis(o, i % 5, v.astype(a.dtype), axis=2)\nout = o"
                    .into(),
                vec![("a", a), ("i", &ia), ("v", &vals)],
            ));
            got.push(
                ops::put_along_axis(a, &ib, vals.astype(Dtype::Float32).unwrap(), Some(2))
                    .unwrap_or_else(|e| panic!("{e}")),
            );
            cases.push((
                "o = a.copy()\nii = np.broadcast_to(ib % 5, (3,4,2))\nvv = np.broadcast_to(v.astype(np.float32).astype(a.dtype), (3,4,2))\nfor x in range(3):\n  for y in range(4):\n    for z in range(2):\n      o[x, y, ii[x, y, z]] = vv[x, y, z]\nout = o".into(),
                vec![("a", a), ("ib", &ib), ("v", &vals)],
            ));
        }
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w[0].astype(g.dtype()).unwrap();
            assert_matches(g, &w, &format!("case {k}: {}", cases[k].0));
        }
        // Flat (axis None) forms.
        let a = Array::from_slice(&(0..12).collect::<Vec<i32>>(), &[3, 4]).unwrap();
        let i = idx(&[0, 1, 3, -1], &[4], Dtype::Int32);
        assert_eq!(
            ops::take_along_axis(&a, &i, None)
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![0, 1, 3, 11]
        );
        let p = ops::put_along_axis(&a, &i, 7, None).unwrap();
        assert_eq!(p.shape(), &[3, 4]);
        assert_eq!(
            p.to_vec::<i32>().unwrap(),
            vec![7, 7, 2, 7, 4, 5, 6, 7, 8, 9, 10, 7]
        );
        // MLX broadcasts `a` too: a [1, 2] with indices [3, 1] gives [3, 2].
        let a12 = Array::from_slice(&[1i32, 2], &[1, 2]).unwrap();
        let i31 = idx(&[0, 1, 1], &[3, 1], Dtype::Int32);
        assert_eq!(
            ops::take_along_axis(&a12, &i31, Some(1))
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![1, 2, 2]
        );
        let p = ops::put_along_axis(&a12, &i31, 1, Some(1)).unwrap();
        assert_eq!(p.shape(), &[3, 2]);
        assert_eq!(p.to_vec::<i32>().unwrap(), vec![1, 2, 1, 1, 1, 1]);
        // scatter_add_axis accumulates duplicates.
        let z = Array::from_slice(&[0.0f32; 4], &[1, 4]).unwrap();
        let s = ops::scatter_add_axis(&z, &idx(&[1, 1, 3, 1], &[1, 4], Dtype::Int32), 1.5, Some(1))
            .unwrap();
        assert_eq!(s.to_vec::<f32>().unwrap(), vec![0.0, 4.5, 0.0, 1.5]);
    });
}

#[test]
fn scatter_family_with_duplicates() {
    on_each_device(|_| {
        let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
        let mut got = vec![];
        let i = idx(&[0, 2, 0, -1, 2, 0], &[6], Dtype::Int32);
        let dts = [
            Dtype::Float32,
            Dtype::Int32,
            Dtype::Uint8,
            Dtype::Float64,
            Dtype::Int64,
            Dtype::Float16,
        ];
        let arrays: Vec<Array> = dts
            .iter()
            .enumerate()
            .map(|(k, &d)| rand(&[5, 3], d, 1.0, 6.0, 30 + k as u64))
            .collect();
        let upds: Vec<Array> = dts
            .iter()
            .enumerate()
            .map(|(k, &d)| rand(&[6, 1, 3], d, 1.0, 4.0, 40 + k as u64))
            .collect();
        for (a, u) in arrays.iter().zip(&upds) {
            let ax = [0isize];
            let ii = std::slice::from_ref(&i);
            got.push(ops::scatter(a, ii, u, &ax).unwrap());
            cases.push((
                "o = a.copy()\nfor k, j in enumerate(i):\n  o[j] = u[k, 0]\nout = o".into(),
                vec![("a", a), ("i", &i), ("u", u)],
            ));
            got.push(ops::scatter_add(a, ii, u, &ax).unwrap());
            cases.push((
                "o = a.copy()\nnp.add.at(o, i, u[:, 0])\nout = o".into(),
                vec![("a", a), ("i", &i), ("u", u)],
            ));
            got.push(ops::scatter_prod(a, ii, u, &ax).unwrap());
            cases.push((
                "o = a.copy()\nnp.multiply.at(o, i, u[:, 0])\nout = o".into(),
                vec![("a", a), ("i", &i), ("u", u)],
            ));
            got.push(ops::scatter_max(a, ii, u, &ax).unwrap());
            cases.push((
                "o = a.copy()\nnp.maximum.at(o, i, u[:, 0])\nout = o".into(),
                vec![("a", a), ("i", &i), ("u", u)],
            ));
            got.push(ops::scatter_min(a, ii, u, &ax).unwrap());
            cases.push((
                "o = a.copy()\nnp.minimum.at(o, i, u[:, 0])\nout = o".into(),
                vec![("a", a), ("i", &i), ("u", u)],
            ));
        }
        // Two index arrays (broadcast together) on axes 0 and 2 of a 3-D array, with a
        // non-contiguous input and broadcast updates.
        let a3 = transposed(&rand(&[4, 3, 5], Dtype::Float32, -1.0, 1.0, 50));
        let r = idx(&[0, 3, 0, 1], &[4, 1], Dtype::Int64);
        let c = idx(&[4, -1, 2], &[1, 3], Dtype::Int16);
        let u3 = ops::broadcast_to(
            &rand(&[1, 3, 1], Dtype::Float32, -1.0, 1.0, 51),
            &[4, 3, 1, 3, 1],
        )
        .unwrap();
        got.push(ops::scatter_add(&a3, &[r.clone(), c.clone()], &u3, &[0, 2]).unwrap());
        cases.push((
            "o = a.copy()\nR, C = np.broadcast_arrays(r, c % 5)\nnp.add.at(o, (R, slice(None), C), np.broadcast_to(u[..., 0], (4,3,1,3))[:, :, 0, :])\nout = o".into(),
            vec![("a", &a3), ("r", &r), ("c", &c), ("u", &u3)],
        ));
        // A big scatter-add (parallel path) with many duplicates.
        let big = rand(&[500, 300], Dtype::Float32, -1.0, 1.0, 52);
        let bi = idx(
            &(0..2000).map(|k| (k * 37 % 500) as i64).collect::<Vec<_>>(),
            &[2000],
            Dtype::Int32,
        );
        let bu = rand(&[2000, 1, 300], Dtype::Float32, -1.0, 1.0, 53);
        got.push(ops::scatter_add(&big, std::slice::from_ref(&bi), &bu, &[0]).unwrap());
        cases.push((
            "o = a.copy()\nnp.add.at(o, i, u[:, 0])\nout = o".into(),
            vec![("a", &big), ("i", &bi), ("u", &bu)],
        ));
        got.push(ops::scatter(&big, std::slice::from_ref(&bi), &bu, &[0]).unwrap());
        cases.push((
            "o = a.copy()\nfor k, j in enumerate(i):\n  o[j] = u[k, 0]\nout = o".into(),
            vec![("a", &big), ("i", &bi), ("u", &bu)],
        ));
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w[0].astype(g.dtype()).unwrap();
            let (rt, at) = tol(g.dtype());
            assert_close(
                g,
                &w,
                rt.max(1e-5),
                at.max(1e-5),
                &format!("case {k}: {}", cases[k].0),
            );
        }
    });
}

#[test]
fn gather_windows() {
    on_each_device(|_| {
        let a = rand(&[5, 6, 7], Dtype::Int32, -100.0, 100.0, 60);
        let at = transposed(&a);
        let i0 = idx(&[0, 4, -1, 2], &[2, 2], Dtype::Int32);
        let i2 = idx(&[1, 5], &[2, 1], Dtype::Int64);
        for aa in [&a, &at] {
            let g = ops::gather(aa, &[i0.clone(), i2.clone()], &[0, 2], &[1, 3, 2]).unwrap();
            assert_eq!(g.shape(), &[2, 2, 1, 3, 2]);
            let want = numpy1(
                "I0, I2 = np.broadcast_arrays(i0 % 5, i2 % 7)\nI2 = np.minimum(I2, 5)\nout = np.stack([a[x:x+1, 0:3, y:y+2] for x, y in zip(I0.ravel(), I2.ravel())]).reshape(2, 2, 1, 3, 2)",
                &[("a", aa), ("i0", &i0), ("i2", &i2)],
            );
            assert_matches(&g, &want, "gather");
        }
        // No index arrays: a plain window from the origin.
        let g = ops::gather(&a, &[], &[], &[2, 2, 2]).unwrap();
        assert_matches(
            &g,
            &numpy1("out = a[:2, :2, :2]", &[("a", &a)]),
            "gather no indices",
        );
        assert!(ops::gather(&a, std::slice::from_ref(&i0), &[0, 1], &[1, 1, 1]).is_err());
        assert!(ops::gather(&a, std::slice::from_ref(&i0), &[0], &[1, 7, 1]).is_err());
        assert!(ops::gather(&a, std::slice::from_ref(&i0), &[3], &[1, 1, 1]).is_err());
        assert!(ops::gather(&a, &[i0.astype(Dtype::Float32).unwrap()], &[0], &[1, 1, 1]).is_err());
        assert!(ops::gather(
            &a,
            &[i0.clone(), idx(&[1, 2, 3], &[3], Dtype::Int32)],
            &[0, 1],
            &[1, 1, 1]
        )
        .is_err());
    });
}

#[test]
fn mlx_semantics_out_of_range_and_nan() {
    on_each_device(|_| {
        let z = Array::from_slice(&[0.0f32; 5], &[5, 1]).unwrap();
        let u = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3, 1, 1]).unwrap();
        // Out-of-range updates are dropped; negatives wrap.
        let s = ops::scatter_add(&z, &[idx(&[7, -1, -6], &[3], Dtype::Int32)], &u, &[0]).unwrap();
        assert_eq!(s.to_vec::<f32>().unwrap(), vec![0.0, 0.0, 0.0, 0.0, 2.0]);
        // MLX's .at[].maximum: out > upd ? out : upd (a NaN update wins, a NaN in place loses).
        let x = Array::from_slice(&[0.0f32, f32::NAN, 0.0], &[3]).unwrap();
        let up = Array::from_slice(&[f32::NAN, 2.0], &[2, 1]).unwrap();
        let i = idx(&[0, 1], &[2], Dtype::Int32);
        let m = ops::scatter_max(&x, std::slice::from_ref(&i), &up, &[0])
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(m[0].is_nan() && m[1] == 2.0 && m[2] == 0.0, "{m:?}");
        let m = ops::scatter_min(&x, std::slice::from_ref(&i), &up, &[0])
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(m[0].is_nan() && m[1] == 2.0, "{m:?}");
        // Updates are cast to the array's dtype (2.5 -> 2 for int32), uint8 wraps.
        let ai = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
        let s = ops::scatter_add(
            &ai,
            &[idx(&[0, 1], &[2], Dtype::Int32)],
            Array::from_slice(&[2.5f32, 2.0], &[2, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![3, 4, 3]);
        // Bool add is a logical or.
        let b = Array::from_slice(&[true, false], &[2]).unwrap();
        let s = ops::scatter_add(
            &b,
            &[idx(&[0, 1, 1], &[3], Dtype::Int32)],
            Array::from_slice(&[true, true, true], &[3, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(s.to_vec::<bool>().unwrap(), vec![true, true]);
        // Set with duplicates: the last update wins (MLX: [3, 5, 6, 0, 0, 0]).
        let d = Array::from_slice(&[0.0f32; 6], &[6]).unwrap();
        let s = ops::scatter(
            &d,
            &[idx(&[0, 0, 0, 1, 1, 2], &[6], Dtype::Int32)],
            Array::from_slice(&[1.0f32, 2., 3., 4., 5., 6.], &[6, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(
            s.to_vec::<f32>().unwrap(),
            vec![3.0, 5.0, 6.0, 0.0, 0.0, 0.0]
        );
    });
}

#[test]
fn slice_updates() {
    on_each_device(|_| {
        for &dt in &[
            Dtype::Float32,
            Dtype::Int16,
            Dtype::Bool,
            Dtype::Bfloat16,
            Dtype::Complex64,
        ] {
            let a = rand(&[4, 5, 6], dt, -9.0, 9.0, 70);
            let at = transposed(&a);
            let u = rand(&[2, 1, 3], dt, -9.0, 9.0, 71);
            let got = ops::slice_update(&at, &u, &[1, 4, -1], &[3, 0, 0], &[1, -2, -2]).unwrap();
            let want = numpy1(
                "o = a.copy()\no[1:3, 4:0:-2, -1:0:-2] = u\nout = o",
                &[("a", &a), ("u", &u)],
            );
            assert_matches(
                &got,
                &want.astype(dt).unwrap(),
                &format!("slice_update {dt}"),
            );
        }
        let a = rand(&[4, 5], Dtype::Float32, -1.0, 1.0, 72);
        let u = rand(&[2, 5], Dtype::Float32, -1.0, 1.0, 73);
        let got = ops::slice_update_add(&a, &u, &[0, 0], &[4, 5], &[2, 1]).unwrap();
        assert_matches(
            &got,
            &numpy1(
                "o = a.copy()\no[0:4:2] += u\nout = o",
                &[("a", &a), ("u", &u)],
            ),
            "slice_update_add",
        );
        let got = ops::slice_update_max(&a, 0.0, &[1, 1], &[3, 4], &[1, 1]).unwrap();
        assert_matches(
            &got,
            &numpy1(
                "o = a.copy()\no[1:3, 1:4] = np.maximum(o[1:3, 1:4], 0)\nout = o",
                &[("a", &a)],
            ),
            "slice_update_max",
        );
        let got = ops::slice_update_prod(&a, 2.0, &[1, 1], &[3, 4], &[1, 1]).unwrap();
        assert_matches(
            &got,
            &numpy1("o = a.copy()\no[1:3, 1:4] *= 2\nout = o", &[("a", &a)]),
            "slice_update_prod",
        );
        let got = ops::slice_update_min(&a, 0.0, &[-10, 3], &[10, 100], &[1, 1]).unwrap();
        assert_matches(
            &got,
            &numpy1(
                "o = a.copy()\no[:, 3:] = np.minimum(o[:, 3:], 0)\nout = o",
                &[("a", &a)],
            ),
            "slice_update_min clamped bounds",
        );
        // Empty slice: unchanged.
        let got = ops::slice_update(&a, 5.0, &[2, 0], &[2, 5], &[1, 1]).unwrap();
        assert_matches(&got, &a, "empty slice update");
        // Bad input.
        assert!(ops::slice_update(&a, &u, &[0, 0], &[4, 5], &[1, 1]).is_err());
        assert!(ops::slice_update(&a, &u, &[0], &[4], &[1]).is_err());
        assert!(ops::slice_update(&a, &u, &[0, 0], &[4, 5], &[0, 1]).is_err());
    });
}

#[test]
fn dynamic_slices() {
    on_each_device(|_| {
        let a = Array::from_slice(&(0..12).collect::<Vec<i32>>(), &[3, 4]).unwrap();
        let s = ops::slice_dynamic(&a, &idx(&[1], &[1], Dtype::Int32), &[0], &[2, 4]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![4, 5, 6, 7, 8, 9, 10, 11]);
        let s =
            ops::slice_dynamic(&a, &idx(&[1, 2], &[2], Dtype::Int64), &[1, 0], &[1, 2]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![9, 10]);
        let s = ops::slice_dynamic(&a, &Array::scalar(1u8), &[0], &[2, 2]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![4, 5, 8, 9]);
        // Starts are clamped so the window fits; negatives count from the end.
        let s = ops::slice_dynamic(&a, &idx(&[5], &[1], Dtype::Int32), &[0], &[2, 4]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![4, 5, 6, 7, 8, 9, 10, 11]);
        let s = ops::slice_dynamic(&a, &idx(&[-1], &[1], Dtype::Int32), &[1], &[1, 1]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![3]);
        // Non-contiguous input.
        let at = ops::transpose(&a).unwrap();
        let s =
            ops::slice_dynamic(&at, &idx(&[1, 1], &[2], Dtype::Int32), &[0, 1], &[2, 2]).unwrap();
        assert_eq!(s.to_vec::<i32>().unwrap(), vec![5, 9, 6, 10]);
        // slice_update with dynamic starts: update aligned to the trailing axes.
        let u = Array::from_slice(&[100i32, 101], &[1, 2]).unwrap();
        let r =
            ops::slice_update_dynamic(&a, &u, &idx(&[1, 2], &[2], Dtype::Int32), &[0, 1]).unwrap();
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![0, 1, 2, 3, 4, 5, 100, 101, 8, 9, 10, 11]
        );
        let r = ops::slice_update_dynamic(
            &a,
            Array::from_slice(&[100.5f32, 101.0], &[2]).unwrap(),
            &idx(&[2], &[1], Dtype::Int32),
            &[1],
        )
        .unwrap();
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![0, 1, 100, 101, 4, 5, 100, 101, 8, 9, 100, 101]
        );
        let a3 = Array::from_slice(&[0i32; 24], &[2, 3, 4]).unwrap();
        let r = ops::slice_update_dynamic(
            &a3,
            Array::from_slice(&[1i32, 2], &[1, 1, 2]).unwrap(),
            &idx(&[1], &[1], Dtype::Int32),
            &[2],
        )
        .unwrap();
        let v = r.to_vec::<i32>().unwrap();
        assert_eq!(
            (v[1], v[2], v.iter().filter(|&&x| x != 0).count()),
            (1, 2, 2)
        );
        // Bad input.
        assert!(ops::slice_dynamic(
            &a,
            &Array::from_slice(&[1.0f32], &[1]).unwrap(),
            &[0],
            &[2, 4]
        )
        .is_err());
        assert!(ops::slice_dynamic(&a, &idx(&[1], &[1], Dtype::Int32), &[0], &[4, 4]).is_err());
        assert!(ops::slice_dynamic(&a, &idx(&[1], &[1], Dtype::Int32), &[2], &[1, 4]).is_err());
        assert!(ops::slice_dynamic(&a, &idx(&[1, 1], &[2], Dtype::Int32), &[0], &[1, 4]).is_err());
        assert!(ops::slice_update_dynamic(
            &a,
            Array::from_slice(&[1i32; 5], &[5]).unwrap(),
            &idx(&[1], &[1], Dtype::Int32),
            &[1]
        )
        .is_err());
        assert!(ops::slice_update_dynamic(
            &a,
            Array::from_slice(&[1i32; 2], &[1, 1, 2]).unwrap(),
            &idx(&[1], &[1], Dtype::Int32),
            &[1]
        )
        .is_err());
    });
}

#[test]
fn bad_indexing_inputs() {
    on_each_device(|_| {
        let a = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 80);
        let fi = Array::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
        let bi = Array::from_slice(&[true, false], &[2]).unwrap();
        let i = idx(&[0, 1], &[2], Dtype::Int32);
        for bad in [&fi, &bi] {
            assert!(ops::take(&a, bad, Some(0)).is_err());
            assert!(
                ops::take_along_axis(&a, &ops::reshape(bad, &[1, 2]).unwrap(), Some(1)).is_err()
            );
            assert!(
                ops::put_along_axis(&a, &ops::reshape(bad, &[1, 2]).unwrap(), 1.0, Some(1))
                    .is_err()
            );
            assert!(ops::scatter(
                &a,
                std::slice::from_ref(bad),
                Array::from_slice(&[0.0f32; 8], &[2, 1, 4]).unwrap(),
                &[0]
            )
            .is_err());
        }
        let e = ops::take(&a, &fi, Some(0)).unwrap_err().to_string();
        assert!(e.contains("take") && e.contains("integral"), "{e}");
        assert!(ops::take(&a, &i, Some(2)).is_err());
        assert!(ops::take(&a, &i, Some(-3)).is_err());
        assert!(ops::take_along_axis(&a, &i, Some(0)).is_err()); // ndim mismatch
        assert!(ops::take_along_axis(&a, &idx(&[0; 8], &[4, 2], Dtype::Int32), Some(1)).is_err()); // no broadcast
        assert!(
            ops::put_along_axis(&a, &idx(&[0; 4], &[4, 1], Dtype::Int32), 1.0, Some(1)).is_err()
        );
        assert!(ops::take_along_axis(&a, &idx(&[0, 0], &[1, 2], Dtype::Int32), Some(2)).is_err());
        // Update shape mismatches.
        assert!(ops::scatter(
            &a,
            std::slice::from_ref(&i),
            Array::from_slice(&[0.0f32; 8], &[2, 4]).unwrap(),
            &[0]
        )
        .is_err());
        assert!(ops::scatter(
            &a,
            std::slice::from_ref(&i),
            Array::from_slice(&[0.0f32; 10], &[2, 1, 5]).unwrap(),
            &[0]
        )
        .is_err());
        assert!(ops::scatter(
            &a,
            std::slice::from_ref(&i),
            Array::from_slice(&[0.0f32; 12], &[3, 1, 4]).unwrap(),
            &[0]
        )
        .is_err());
        assert!(ops::scatter(
            &a,
            std::slice::from_ref(&i),
            Array::from_slice(&[0.0f32; 8], &[2, 1, 4]).unwrap(),
            &[2]
        )
        .is_err());
        assert!(ops::scatter(
            &a,
            &[i.clone(), i.clone()],
            Array::from_slice(&[0.0f32; 8], &[2, 1, 4]).unwrap(),
            &[0]
        )
        .is_err());
    });
}

#[test]
fn kron_and_at_subtract_divide() {
    on_each_device(|_| {
        let a = rand(&[2, 3], Dtype::Int32, -5.0, 5.0, 90);
        let b = rand(&[4, 1, 2], Dtype::Float32, -1.0, 1.0, 91);
        let bt = ops::transpose_axes(&rand(&[2, 1, 4], Dtype::Float32, -1.0, 1.0, 92), &[2, 1, 0])
            .unwrap();
        for (x, y) in [(&a, &b), (&b, &a), (&a, &bt), (&bt, &bt)] {
            let got = ops::kron(x, y).unwrap();
            assert_eq!(got.dtype(), mlxr::promote_types(x.dtype(), y.dtype()));
            let want = numpy1("out = np.kron(x, y)", &[("x", x), ("y", y)]);
            assert_matches(&got, &want.astype(got.dtype()).unwrap(), "kron");
        }
        let s = Array::scalar(2i8);
        let v = Array::from_slice(&[1.5f32, 10.0], &[2]).unwrap();
        assert_eq!(
            ops::kron(&s, &v).unwrap().to_vec::<f32>().unwrap(),
            vec![3.0, 20.0]
        );
        // .at[].subtract / .divide as MLX: uint8 wraps, int divide multiplies by 1/u cast to int.
        let u8a = Array::from_slice(&[1u8, 2, 3], &[3]).unwrap();
        let i = idx(&[0, 0], &[2], Dtype::Int32);
        let r = ops::scatter_subtract(
            &u8a,
            std::slice::from_ref(&i),
            Array::from_slice(&[2i32, 2], &[2, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(r.to_vec::<u8>().unwrap(), vec![253, 2, 3]);
        let ia = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
        let r = ops::scatter_divide(
            &ia,
            &[idx(&[0, 1], &[2], Dtype::Int32)],
            Array::from_slice(&[2i32, 2], &[2, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(r.to_vec::<i32>().unwrap(), vec![0, 0, 3]);
        let f = Array::from_slice(&[2.0f32; 5], &[5]).unwrap();
        let r = ops::scatter_divide(&f, &[idx(&[0, 0, 1, -1], &[4], Dtype::Int32)], 4.0, &[0]);
        assert!(r.is_err(), "updates must have the index dims");
        let r = ops::scatter_divide(
            &f,
            &[idx(&[0, 0, 1, -1], &[4], Dtype::Int32)],
            Array::from_slice(&[4.0f32; 4], &[4, 1]).unwrap(),
            &[0],
        )
        .unwrap();
        assert_eq!(r.to_vec::<f32>().unwrap(), vec![0.125, 0.5, 2.0, 2.0, 0.5]);
    });
}
