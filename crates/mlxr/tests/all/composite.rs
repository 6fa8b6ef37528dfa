//! Ops composed from other families: allclose, array_equal, trace.

use crate::common::*;
use mlxr::{ops, Array, Dtype};

#[test]
fn allclose_and_array_equal() {
    on_each_device(|_| {
        let a = rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 1);
        let b = ops::add(&a, 1e-7).unwrap();
        let c = ops::add(&a, 1e-2).unwrap();
        let t = |x: Array| x.item::<bool>().unwrap();
        assert!(t(ops::allclose(&a, &b, 1e-5, 1e-8, false).unwrap()));
        assert!(!t(ops::allclose(&a, &c, 1e-5, 1e-8, false).unwrap()));
        // broadcasting, as numpy.allclose
        let row = ops::slice(&a, &[0, 0], &[1, 4], &[1, 1]).unwrap();
        let want = numpy1(
            "out = np.array(np.allclose(a, r))",
            &[("a", &a), ("r", &row)],
        );
        assert_eq!(
            t(ops::allclose(&a, &row, 1e-5, 1e-8, false).unwrap()),
            want.item::<bool>().unwrap()
        );
        let n = Array::from_slice(&[1.0f32, f32::NAN], &[2]).unwrap();
        assert!(!t(ops::allclose(&n, &n, 1e-5, 1e-8, false).unwrap()));
        assert!(t(ops::allclose(&n, &n, 1e-5, 1e-8, true).unwrap()));
        // array_equal: dtypes may differ; shapes must match (false otherwise, no error)
        let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
        let f = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        let j = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
        assert!(t(ops::array_equal(&i, &f, false).unwrap()));
        assert!(!t(ops::array_equal(&i, &j, false).unwrap()));
        assert!(!t(ops::array_equal(&n, &n, false).unwrap()));
        assert!(t(ops::array_equal(&n, &n, true).unwrap()));
        let at = ops::transpose(&a).unwrap();
        assert!(t(ops::array_equal(
            &ops::contiguous(&at).unwrap(),
            &at,
            false
        )
        .unwrap()));
        assert!(
            ops::allclose(&a, &j, 1e-5, 1e-8, false).is_err(),
            "shape mismatch is an error"
        );
    });
}

#[test]
fn trace_matches_numpy() {
    on_each_device(|_| {
        let a = rand(&[3, 4, 5], Dtype::Int32, -10.0, 10.0, 2);
        let f = rand(&[4, 4], Dtype::Float32, -1.0, 1.0, 3);
        let got = [
            ops::trace(&a, 0, 0, 1, None).unwrap(),
            ops::trace(&a, 1, -1, 0, None).unwrap(),
            ops::trace(&a, -2, 1, 2, None).unwrap(),
            ops::trace(&f, 0, 0, 1, None).unwrap(),
            ops::trace(&f, 0, 0, 1, Some(Dtype::Float64)).unwrap(),
            ops::trace(&ops::transpose(&f).unwrap(), 1, 0, 1, None).unwrap(),
        ];
        let want = numpy(
            "out = [np.trace(a, 0, 0, 1).astype(np.int32), np.trace(a, 1, 2, 0).astype(np.int32), \
             np.trace(a, -2, 1, 2).astype(np.int32), np.trace(f).astype(np.float32), \
             np.trace(f.astype(np.float64)), np.trace(f.T, 1).astype(np.float32)]",
            &[("a", &a), ("f", &f)],
        );
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_matches(g, w, &format!("trace case {i}"));
        }
        assert!(ops::trace(&Array::from_slice(&[1.0f32], &[1]).unwrap(), 0, 0, 1, None).is_err());
        assert!(ops::trace(&f, 0, 0, 0, None).is_err());
    });
}
