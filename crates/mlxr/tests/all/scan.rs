//! Scans: cumsum / cumprod / cummax / cummin / logcumsumexp for every dtype, axis
//! (including None), reverse and inclusive flags, non-contiguous inputs, MLX's output
//! dtypes; convolve; bad input. References from NumPy.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

type ScanFn = fn(&Array, Option<isize>, bool, bool) -> mlxr::Result<Array>;

#[test]
fn scans_every_dtype_axis_and_flag() {
    on_each_device(|_| {
        let dts = [
            Dtype::Bool,
            Dtype::Uint8,
            Dtype::Int8,
            Dtype::Uint16,
            Dtype::Int32,
            Dtype::Uint64,
            Dtype::Int64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ];
        let fns: [(&str, ScanFn, &str, &str); 4] = [
            ("cumsum", ops::cumsum, "np.add", "0"),
            ("cumprod", ops::cumprod, "np.multiply", "1"),
            ("cummax", ops::cummax, "np.maximum", "lo"),
            ("cummin", ops::cummin, "np.minimum", "hi"),
        ];
        let mut data = vec![];
        for (k, &dt) in dts.iter().enumerate() {
            let (lo, hi) = if dt.is_floating() || dt.is_complex() {
                (-1.5, 1.5)
            } else {
                (-4.0, 5.0)
            };
            let a = rand(&[3, 4, 5], dt, lo, hi, k as u64);
            let t = ops::transpose_axes(
                &ops::contiguous(&ops::transpose_axes(&a, &[2, 0, 1]).unwrap()).unwrap(),
                &[1, 2, 0],
            )
            .unwrap();
            data.push((a, t));
        }
        let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
        let mut got = vec![];
        for (a, t) in &data {
            let dt = a.dtype();
            for &(name, f, ufunc, ident) in &fns {
                if dt.is_complex() && matches!(name, "cummax" | "cummin") {
                    continue;
                }
                for axis in [Some(0isize), Some(1), Some(-1), None] {
                    for (reverse, inclusive) in
                        [(false, true), (true, true), (false, false), (true, false)]
                    {
                        let x = if reverse { t } else { a };
                        let r = f(x, axis, reverse, inclusive).unwrap();
                        // NumPy: flip, accumulate, shift by the identity, flip back; then
                        // convert to MLX's dtype (integer wraps agree).
                        let odt = r.dtype();
                        let ax = axis.map_or("0".to_string(), |v| v.to_string());
                        let flat = if axis.is_none() {
                            "x = x.reshape(-1)\n"
                        } else {
                            ""
                        };
                        let code = format!(
                            "x = a.astype(np.{np_dt})\n{flat}ax = {ax}\n\
                             lo = (np.iinfo(x.dtype).min if x.dtype.kind in 'iu' else (False if x.dtype == bool else -np.inf))\n\
                             hi = (np.iinfo(x.dtype).max if x.dtype.kind in 'iu' else (True if x.dtype == bool else np.inf))\n\
                             ident = {ident}\n\
                             if {rev}: x = np.flip(x, ax)\n\
                             y = {ufunc}.accumulate(x, axis=ax, dtype=x.dtype)\n\
                             if not {inc}:\n  sh = list(y.shape); sh[ax] = 1\n  y = np.concatenate([np.full(sh, ident, dtype=y.dtype), np.take(y, range(y.shape[ax] - 1), axis=ax)], axis=ax)\n\
                             if {rev}: y = np.flip(y, ax)\n\
                             out = y",
                            np_dt = np_name(if odt == Dtype::Bfloat16 { Dtype::Float32 } else { odt }),
                            rev = if reverse { "True" } else { "False" },
                            inc = if inclusive { "True" } else { "False" },
                        );
                        got.push(r);
                        cases.push((code, vec![("a", x)]));
                    }
                }
            }
        }
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w[0].astype(g.dtype()).unwrap();
            let (rt, at) = match g.dtype() {
                // f16 / bf16 accumulate in their own precision (as MLX and NumPy's f16);
                // bf16 is compared with an f32 reference.
                Dtype::Bfloat16 => (3e-2, 3e-2),
                // f16 partial sums reach ~8 (ulp 2^-7): the GPU's association may differ
                // from NumPy's sequential one by a few of those ulps.
                Dtype::Float16 => (1e-2, 1e-2),
                d => tol(d),
            };
            assert_close(g, &w, rt, at, &format!("case {k}:\n{}", cases[k].0));
        }
    });
}

fn np_name(d: Dtype) -> &'static str {
    match d {
        Dtype::Bool => "bool_",
        Dtype::Complex64 => "complex64",
        d => d.name(),
    }
}

#[test]
fn scan_dtypes_and_special_values() {
    on_each_device(|_| {
        let b = Array::from_slice(&[true, true, false], &[3]).unwrap();
        let s = ops::cumsum(&b, None, false, true).unwrap();
        assert_eq!(
            (s.dtype(), s.to_vec::<i32>().unwrap()),
            (Dtype::Int32, vec![1, 2, 2])
        );
        assert_eq!(
            ops::cumprod(&b, None, false, true).unwrap().dtype(),
            Dtype::Bool
        );
        assert_eq!(
            ops::cummax(&b, None, false, true).unwrap().dtype(),
            Dtype::Bool
        );
        let i8a = Array::from_slice(&[100i8, 100, 100], &[3]).unwrap();
        let s = ops::cumsum(&i8a, None, false, true).unwrap();
        assert_eq!(
            (s.dtype(), s.to_vec::<i8>().unwrap()),
            (Dtype::Int8, vec![100, -56, 44])
        );
        assert_eq!(
            ops::cumsum_dtype(&i8a, None, false, true, Dtype::Int32)
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![100, 200, 300]
        );
        assert_eq!(
            ops::logcumsumexp(&i8a, None, false, true).unwrap().dtype(),
            Dtype::Float32
        );
        // Exclusive max / min start from the dtype's extremes.
        let u = Array::from_slice(&[1u8, 2], &[2]).unwrap();
        assert_eq!(
            ops::cummin(&u, Some(0), false, false)
                .unwrap()
                .to_vec::<u8>()
                .unwrap(),
            vec![255, 1]
        );
        let f = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        assert_eq!(
            ops::cummax(&f, Some(0), false, false)
                .unwrap()
                .to_vec::<f32>()
                .unwrap(),
            vec![f32::NEG_INFINITY, 1.0]
        );
        // NaN propagates through max / min / logaddexp.
        let n = Array::from_slice(&[1.0f32, f32::NAN, 0.0, 5.0], &[4]).unwrap();
        for f in [ops::cummax as ScanFn, ops::cummin, ops::logcumsumexp] {
            let v = f(&n, None, false, true).unwrap().to_vec::<f32>().unwrap();
            assert!(v[0] == 1.0 && v[1..].iter().all(|x| x.is_nan()), "{v:?}");
        }
        // f16 accumulates in f16 (as MLX): 3000 ones sum to 2048 sequentially on the CPU;
        // the GPU's parallel scan associates differently (partial sums below 2048 stay
        // exact), so it lands between 2048 and 3000.
        let ones = Array::from_slice(&vec![1.0f32; 3000], &[3000])
            .unwrap()
            .astype(Dtype::Float16)
            .unwrap();
        let last = ops::cumsum(&ones, None, false, true)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()[2999];
        if ones.data().unwrap().is_host() {
            assert_eq!(last, 2048.0);
        } else {
            assert!((2048.0..=3000.0).contains(&last), "{last}");
        }
        // logcumsumexp against NumPy, with -inf.
        let l = Array::from_slice(
            &[f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0, 3.0, -2.0, 40.0],
            &[2, 3],
        )
        .unwrap();
        for (axis, rev, inc) in [
            (Some(1isize), false, true),
            (Some(0), true, true),
            (None, false, false),
        ] {
            let got = ops::logcumsumexp(&l, axis, rev, inc).unwrap();
            let ax = axis.map_or("None".into(), |a| a.to_string());
            let code = format!(
                "x = a if {ax} is not None else a.reshape(-1)\nax = {ax} if {ax} is not None else 0\nif {rev}: x = np.flip(x, ax)\ny = np.logaddexp.accumulate(x, axis=ax)\nif not {inc}:\n  sh = list(y.shape); sh[ax] = 1\n  y = np.concatenate([np.full(sh, -np.inf, dtype=y.dtype), np.take(y, range(y.shape[ax]-1), axis=ax)], axis=ax)\nif {rev}: y = np.flip(y, ax)\nout = y",
                rev = if rev { "True" } else { "False" },
                inc = if inc { "True" } else { "False" }
            );
            assert_matches(
                &got,
                &numpy1(&code, &[("a", &l)]),
                &format!("logcumsumexp {axis:?}"),
            );
        }
        // 0-d, empty and size-1 inputs.
        assert_eq!(
            ops::cumsum(&Array::scalar(3i32), None, false, true)
                .unwrap()
                .shape(),
            &[1]
        );
        assert!(ops::cumsum(&Array::scalar(3i32), Some(0), false, true).is_err());
        let e = Array::from_slice::<f32>(&[], &[2, 0]).unwrap();
        assert_eq!(
            ops::cumprod(&e, Some(1), true, false).unwrap().shape(),
            &[2, 0]
        );
        // Big inputs (parallel paths) along both axes.
        let big = rand(&[300, 400], Dtype::Float32, -1.0, 1.0, 9);
        for ax in [0isize, 1] {
            let got = ops::cumsum(&big, Some(ax), false, true).unwrap();
            let want = numpy1(
                &format!("out = np.cumsum(a.astype(np.float64), axis={ax}).astype(np.float32)"),
                &[("a", &big)],
            );
            assert_close(&got, &want, 1e-4, 1e-4, "big cumsum");
        }
        // Broadcast input.
        let bb =
            ops::broadcast_to(&Array::from_slice(&[1i32, 2, 3], &[3]).unwrap(), &[2, 3]).unwrap();
        assert_eq!(
            ops::cumsum(&bb, Some(0), false, true)
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            vec![1, 2, 3, 2, 4, 6]
        );
        // Bad axes.
        assert!(ops::cumsum(&big, Some(2), false, true).is_err());
        assert!(ops::cummax(&big, Some(-3), false, true).is_err());
    });
}

#[test]
fn convolve_modes() {
    on_each_device(|_| {
        for (k, &dt) in [
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Float16,
            Dtype::Bfloat16,
        ]
        .iter()
        .enumerate()
        {
            for (n, m) in [(10usize, 3usize), (3, 4), (7, 7), (1, 5), (50, 8)] {
                let a = rand(&[n], dt, -1.0, 1.0, k as u64 * 10 + n as u64);
                let v = rand(&[m], dt, -1.0, 1.0, k as u64 * 10 + m as u64 + 100);
                for mode in ["full", "same", "valid"] {
                    let got = ops::convolve(&a, &v, mode).unwrap();
                    let want = numpy1(&format!("out = np.convolve(a.astype(np.float64), v.astype(np.float64), mode='{mode}')"), &[("a", &a), ("v", &v)]);
                    let (rt, at) = tol(dt);
                    assert_close(
                        &got,
                        &want.astype(dt).unwrap(),
                        rt * 4.0,
                        at * 4.0,
                        &format!("convolve {dt} {n} {m} {mode}"),
                    );
                    assert_eq!(got.dtype(), dt);
                }
            }
        }
        let a = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
        let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
        assert_eq!(
            ops::convolve(&a, &i, "full").unwrap().dtype(),
            Dtype::Float32
        );
        assert!(ops::convolve(&i, &i, "full").is_err());
        assert!(ops::convolve(&a, &a, "middle").is_err());
        assert!(ops::convolve(&ops::reshape(&a, &[1, 3]).unwrap(), &a, "full").is_err());
    });
}

#[test]
fn diff_orders_and_axes() {
    on_each_device(|_| {
        for (k, &dt) in [
            Dtype::Int32,
            Dtype::Float32,
            Dtype::Uint8,
            Dtype::Float16,
            Dtype::Bool,
        ]
        .iter()
        .enumerate()
        {
            let a = rand(&[4, 6, 5], dt, -9.0, 9.0, 200 + k as u64);
            let t = ops::transpose_axes(
                &ops::contiguous(&ops::transpose_axes(&a, &[1, 0, 2]).unwrap()).unwrap(),
                &[1, 0, 2],
            )
            .unwrap();
            for (n, axis) in [(1usize, -1isize), (2, 0), (3, 1), (0, 2), (6, 1), (9, 0)] {
                let got = ops::diff(&t, n, axis).unwrap();
                let want = numpy1(
                    &format!("out = np.diff(a, n={n}, axis={axis})"),
                    &[("a", &a)],
                );
                assert_matches(
                    &got,
                    &want.astype(got.dtype()).unwrap(),
                    &format!("diff {dt} n={n} axis={axis}"),
                );
            }
        }
        let b = Array::from_slice(&[true, false, true], &[3]).unwrap();
        assert_eq!(
            ops::diff(&b, 1, -1).unwrap().to_vec::<bool>().unwrap(),
            vec![true, true]
        );
        assert!(ops::diff(&Array::scalar(3i32), 1, -1).is_err());
        assert!(ops::diff(&b, 1, 1).is_err());
    });
}
