//! Ternary and composite elementwise ops: `where`, `clip`, `isclose`, against NumPy.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Complex32, Dtype};

#[test]
fn where_matches_numpy() {
    on_each_device(|_| {
        let dtypes = [
            Dtype::Bool,
            Dtype::Uint8,
            Dtype::Int16,
            Dtype::Int32,
            Dtype::Uint64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ];
        let cond = rand(&[4, 5], Dtype::Bool, 0.0, 1.0, 1);
        let fcond = rand(&[4, 5], Dtype::Int32, -2.0, 2.0, 2); // -2..1: non-zero is true
        let crow = rand(&[1, 5], Dtype::Bool, 0.0, 1.0, 3);
        let mut cases = Vec::new();
        let mut got = Vec::new();
        let mut inputs = Vec::new();
        for (k, &dt) in dtypes.iter().enumerate() {
            let x = rand(&[4, 5], dt, -10.0, 10.0, 10 + k as u64);
            let y = rand(&[4, 5], dt, -10.0, 10.0, 30 + k as u64);
            let yc = rand(&[4, 1], dt, -10.0, 10.0, 50 + k as u64);
            let s = ops::reshape(&rand(&[1], dt, -10.0, 10.0, 70 + k as u64), &[]).unwrap();
            inputs.push((dt, x, y, yc, s));
        }
        for (dt, x, y, yc, s) in &inputs {
            let t = |a: &Array| ops::transpose(a).unwrap();
            got.push((
                *dt,
                vec![
                    ops::r#where(&cond, x, y).unwrap(),
                    ops::r#where(t(&cond), t(x), t(y)).unwrap(),
                    ops::r#where(&cond, t(&t(x)), yc).unwrap(),
                    ops::r#where(&crow, x, s).unwrap(),
                    ops::r#where(&fcond, s, y).unwrap(),
                    ops::r#where(t(&cond), t(x), ops::reshape(y, &[5, 4]).unwrap()).unwrap(),
                    ops::where_(
                        ops::reshape(&crow, &[5])
                            .unwrap()
                            .astype(Dtype::Bool)
                            .unwrap()
                            .reshape(&[5])
                            .unwrap(),
                        s,
                        s,
                    )
                    .unwrap(),
                ],
            ));
            cases.push((
                "out = [np.where(c, x, y), np.where(c.T, x.T, y.T), np.where(c, x, yc), np.where(cr, x, s), \
                 np.where(fc, s, y), np.where(c.T, x.T, y.reshape(5, 4)), np.where(cr.reshape(5), s, s)]"
                    .to_string(),
                vec![("c", &cond), ("fc", &fcond), ("cr", &crow), ("x", x), ("y", y), ("yc", yc), ("s", s)],
            ));
        }
        let want = numpy_batch(&cases);
        for ((dt, g), w) in got.iter().zip(want) {
            for (k, (g, w)) in g.iter().zip(&w).enumerate() {
                assert_eq!(g.dtype(), *dt);
                let (r, a) = tol(*dt);
                assert_close(g, w, r, a, &format!("where case {k} for {dt}"));
            }
        }
        // large (parallel) and empty
        let big_c = rand(&[300, 200], Dtype::Bool, 0.0, 1.0, 5);
        let big_x = rand(&[300, 200], Dtype::Float32, -1.0, 1.0, 6);
        let w = numpy1(
            "out = np.where(c, x, np.float32(0.5))",
            &[("c", &big_c), ("x", &big_x)],
        );
        assert_matches(
            &ops::r#where(&big_c, &big_x, 0.5).unwrap(),
            &w,
            "large where",
        );
        let e = ops::r#where(rand(&[0, 3], Dtype::Bool, 0.0, 1.0, 1), 1.0, 2.0).unwrap();
        assert_eq!(e.shape(), &[0, 3]);
        assert_eq!(e.to_vec::<f32>().unwrap(), Vec::<f32>::new());
        // dtypes as MLX: scalars are weak
        let h = rand(&[5], Dtype::Float16, 0.0, 1.0, 7);
        let i = Array::from_slice(&[1i32, 5, 9], &[3]).unwrap();
        let c3 = Array::from_slice(&[true, false, true], &[3]).unwrap();
        assert_eq!(
            ops::r#where(ops::reshape(&crow, &[5]).unwrap(), 1.0, &h)
                .unwrap()
                .dtype(),
            Dtype::Float16
        );
        assert_eq!(ops::r#where(&c3, 1, &i).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::r#where(&c3, 1.5, &i).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::r#where(&c3, 1, 2).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::r#where(&c3, 1.0, 2).unwrap().dtype(), Dtype::Float32);
        // complex / float conditions: non-zero is true
        let cc =
            Array::from_slice(&[Complex32::new(0.0, 1.0), Complex32::new(0.0, 0.0)], &[2]).unwrap();
        assert_eq!(
            ops::r#where(&cc, 1, 2).unwrap().to_vec::<i32>().unwrap(),
            vec![1, 2]
        );
        let fc = Array::from_slice(&[0.5f32, 0.0, -0.0], &[3]).unwrap();
        assert_eq!(
            ops::r#where(&fc, 1, 2).unwrap().to_vec::<i32>().unwrap(),
            vec![1, 2, 2]
        );
        // shape mismatch
        let e = ops::r#where(Array::from_slice(&[true, false], &[2]).unwrap(), &i, 1).unwrap_err();
        assert!(e.to_string().contains("where"), "{e}");
    });
}

#[test]
fn clip_matches_numpy() {
    on_each_device(|_| {
        let nan = f32::NAN;
        let f = Array::from_slice(&[1.0f32, nan, 3.0, -5.0, 0.5, f32::INFINITY], &[6]).unwrap();
        let lo = Array::from_slice(&[0.0f32, 0.0, 2.0, 0.0, 1.0, 0.0], &[6]).unwrap();
        let i = Array::from_slice(&[1i32, 5, 9, -3], &[4]).unwrap();
        let h = rand(&[3, 4], Dtype::Float16, -3.0, 3.0, 1);
        let t = ops::transpose(&rand(&[4, 3], Dtype::Float64, -3.0, 3.0, 2)).unwrap();
        let want = numpy(
            "out = [np.clip(f, 0.0, 2.0), np.maximum(f, lo), np.minimum(f, 2.0), np.clip(i, 2, 5), \
             np.clip(h, np.float16(-1), np.float16(1)), np.clip(t, -1.0, 0.5), np.minimum(np.maximum(f, 2.0), 0.0)]",
            &[("f", &f), ("lo", &lo), ("i", &i), ("h", &h), ("t", &t)],
        );
        let got = [
            ops::clip(&f, Some(0.0), Some(2.0)).unwrap(),
            ops::clip(&f, Some(&lo), None::<f32>).unwrap(),
            ops::clip(&f, None::<f32>, Some(2.0)).unwrap(),
            ops::clip(&i, Some(2), Some(5)).unwrap(),
            ops::clip(&h, Some(-1.0), Some(1.0)).unwrap(),
            ops::clip(&t, Some(-1.0), Some(0.5)).unwrap(),
            // a_min > a_max: a_max wins (as MLX and NumPy)
            ops::clip(&f, Some(2.0), Some(0.0)).unwrap(),
        ];
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w.astype(g.dtype()).unwrap();
            assert_matches(g, &w, &format!("clip case {k}"));
        }
        assert_eq!(got[3].dtype(), Dtype::Int32);
        assert_eq!(got[4].dtype(), Dtype::Float16);
        // weak promotion as MLX: clip(int, 2.5, None) is float32; bool with ints is int32
        let c = ops::clip(&i, Some(2.5), None::<f32>).unwrap();
        assert_eq!(c.dtype(), Dtype::Float32);
        assert_eq!(c.to_vec::<f32>().unwrap(), vec![2.5, 5.0, 9.0, 2.5]);
        let b = Array::from_slice(&[true, false], &[2]).unwrap();
        assert_eq!(
            ops::clip(&b, Some(0), Some(0)).unwrap().dtype(),
            Dtype::Int32
        );
        // complex: lexicographic maximum/minimum (MLX: clip(1+5j, 0, 1) == 1+0j)
        let z = Array::from_slice(&[Complex32::new(1.0, 5.0)], &[1]).unwrap();
        assert_eq!(
            ops::clip(&z, Some(0.0), Some(1.0))
                .unwrap()
                .to_vec::<Complex32>()
                .unwrap(),
            vec![Complex32::new(1.0, 0.0)]
        );
        // errors: both bounds None, bound out of the dtype's range, shape mismatch
        let e = ops::clip(&f, None::<f32>, None::<f32>).unwrap_err();
        assert!(e.to_string().contains("clip"), "{e}");
        let u = Array::from_slice(&[5u8], &[1]).unwrap();
        assert!(ops::clip(&u, Some(-1), Some(300)).is_err());
        assert!(ops::clip(&f, Some(&i), None::<f32>).is_err());
    });
}

#[test]
fn isclose_matches_numpy() {
    on_each_device(|_| {
        let inf = f64::INFINITY;
        let nan = f64::NAN;
        let a = Array::from_slice(
            &[1.0, 1e-9, inf, -inf, inf, nan, nan, 1.0, 100.0, 0.0],
            &[10],
        )
        .unwrap();
        let b = Array::from_slice(
            &[
                1.00001,
                0.0,
                inf,
                -inf,
                -inf,
                nan,
                1.0,
                1.0 + 1e-6,
                100.001,
                1e-8,
            ],
            &[10],
        )
        .unwrap();
        let mut cases = Vec::new();
        let mut got = Vec::new();
        let arrays: Vec<(Array, Array)> = [
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Float16,
            Dtype::Complex64,
        ]
        .iter()
        .map(|&d| (a.astype(d).unwrap(), b.astype(d).unwrap()))
        .collect();
        for (x, y) in &arrays {
            cases.push((
                "out = [np.isclose(x, y), np.isclose(x, y, equal_nan=True), np.isclose(x, y, rtol=1e-3, atol=1e-4), np.isclose(x[:, None], y[None, :])]"
                    .to_string(),
                vec![("x", x), ("y", y)],
            ));
            got.push(vec![
                ops::isclose(x, y, 1e-5, 1e-8, false).unwrap(),
                ops::isclose(x, y, 1e-5, 1e-8, true).unwrap(),
                ops::isclose(x, y, 1e-3, 1e-4, false).unwrap(),
                ops::isclose(
                    ops::reshape(x, &[10, 1]).unwrap(),
                    ops::reshape(y, &[1, 10]).unwrap(),
                    1e-5,
                    1e-8,
                    false,
                )
                .unwrap(),
            ]);
        }
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            for (j, (g, w)) in g.iter().zip(&w).enumerate() {
                assert_eq!(g.dtype(), Dtype::Bool);
                assert_eq!(
                    g.to_vec::<bool>().unwrap(),
                    w.to_vec::<bool>().unwrap(),
                    "isclose dtype #{k} case {j}"
                );
            }
        }
        // integers and bools; a scalar operand
        let i = Array::from_slice(&[1u8, 2], &[2]).unwrap();
        let j = Array::from_slice(&[2u8, 2], &[2]).unwrap();
        assert_eq!(
            ops::isclose(&i, &j, 1e-5, 1e-8, false)
                .unwrap()
                .to_vec::<bool>()
                .unwrap(),
            vec![false, true]
        );
        let h = Array::from_slice(&[1.0f32, 1.5], &[2]).unwrap();
        assert_eq!(
            ops::isclose(&h, 1.0, 1e-5, 1e-8, false)
                .unwrap()
                .to_vec::<bool>()
                .unwrap(),
            vec![true, false]
        );
        assert!(ops::isclose(
            &h,
            Array::from_slice(&[1.0f32; 3], &[3]).unwrap(),
            1e-5,
            1e-8,
            false
        )
        .is_err());
    });
}
