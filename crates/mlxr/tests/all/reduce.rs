//! Reductions, softmax and logsumexp against NumPy: every op over no axis, one axis,
//! several axes and negative axes, keepdims on and off, for every dtype, on contiguous,
//! transposed and broadcast inputs; empty arrays, NaN/inf, large inputs (parallel paths
//! and accuracy) and bad arguments. Output dtypes are MLX's (tables below were printed
//! by MLX 0.32.4).

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

/// The axis sets exercised on 3-d inputs, as Rust and as Python.
const AXES: [(Option<&[isize]>, &str); 8] = [
    (None, "None"),
    (Some(&[0]), "(0,)"),
    (Some(&[1]), "(1,)"),
    (Some(&[-1]), "(-1,)"),
    (Some(&[0, 2]), "(0, 2)"),
    (Some(&[-1, -3]), "(-1, -3)"),
    (Some(&[0, 1, 2]), "(0, 1, 2)"),
    (Some(&[]), "()"),
];

fn py_axes() -> String {
    format!(
        "[{}]",
        AXES.iter().map(|a| a.1).collect::<Vec<_>>().join(", ")
    )
}

/// NumPy's name for the dtype the reference is cast to (bfloat16 compares as float32).
fn np_name(d: Dtype) -> &'static str {
    if d == Dtype::Bfloat16 {
        "float32"
    } else {
        d.name()
    }
}

/// A NumPy dtype to accumulate `d` in exactly (wrapping integers stay consistent after
/// casting back).
fn np_acc(d: Dtype) -> &'static str {
    match d {
        Dtype::Uint64 => "np.uint64",
        Dtype::Complex64 => "np.complex128",
        d if d.is_floating() => "np.float64",
        _ => "np.int64",
    }
}

/// MLX's output dtype of sum/prod.
fn mlx_sum_dtype(d: Dtype) -> Dtype {
    match d {
        Dtype::Bool | Dtype::Int8 | Dtype::Int16 | Dtype::Int32 => Dtype::Int32,
        Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 => Dtype::Uint32,
        d => d,
    }
}

/// MLX's output dtype of mean/logsumexp (var/std: complex → float32).
fn mlx_float_dtype(d: Dtype) -> Dtype {
    if d.is_inexact() {
        d
    } else {
        Dtype::Float32
    }
}

fn check(got: &Array, want: &Array, dt: Dtype, what: &str) {
    assert_eq!(got.dtype(), dt, "{what}: dtype");
    let (r, a) = tol(dt);
    assert_close(got, want, r, a, what);
}

/// A 3-d input of shape (3, 4, 5) in one of three layouts: contiguous, transposed from
/// (5, 3, 4), broadcast from (3, 1, 5).
fn input(dt: Dtype, layout: usize, lo: f64, hi: f64, seed: u64) -> Array {
    let (lo, hi) = if dt.is_unsigned() {
        (0.0, hi - lo)
    } else {
        (lo, hi)
    };
    match layout {
        0 => rand(&[3, 4, 5], dt, lo, hi, seed),
        1 => ops::transpose_axes(&rand(&[5, 3, 4], dt, lo, hi, seed), &[1, 2, 0]).unwrap(),
        _ => ops::broadcast_to(&rand(&[3, 1, 5], dt, lo, hi, seed), &[3, 4, 5]).unwrap(),
    }
}

type ReduceFn = fn(&Array, Option<&[isize]>, bool) -> mlxr::Result<Array>;

#[test]
fn sum_prod_max_min_all_any_every_dtype_and_layout() {
    on_each_device(|_| {
        let mut inputs = Vec::new();
        for (i, &dt) in Dtype::ALL.iter().enumerate() {
            for layout in 0..3 {
                let x = input(dt, layout, -5.0, 5.0, 10 + i as u64 * 3 + layout as u64);
                let p = if dt.is_floating() || dt.is_complex() {
                    input(dt, layout, 0.5, 1.5, 99 + i as u64)
                } else {
                    input(dt, layout, -2.0, 3.0, 99 + i as u64)
                };
                inputs.push((dt, layout, x, p));
            }
        }
        let mut cases = Vec::new();
        for (dt, _, x, p) in &inputs {
            let sd = mlx_sum_dtype(*dt);
            let code = format!(
                "out = []\n\
                 for ax in {axes}:\n\
                 \x20   for k in (False, True):\n\
                 \x20       sdt = np.{same} if ax == () else np.{sd}\n\
                 \x20       out.append(np.sum(x.astype({acc}), axis=ax, keepdims=k).astype(sdt))\n\
                 \x20       out.append(np.prod(p.astype({acc}), axis=ax, keepdims=k).astype(sdt))\n\
                 \x20       out.append(np.max(x, axis=ax, keepdims=k))\n\
                 \x20       out.append(np.min(x, axis=ax, keepdims=k))\n\
                 \x20       out.append(np.all(x, axis=ax, keepdims=k))\n\
                 \x20       out.append(np.any(x, axis=ax, keepdims=k))\n",
                axes = py_axes(),
                same = np_name(*dt),
                sd = np_name(sd),
                acc = np_acc(*dt),
            );
            cases.push((code, vec![("x", x), ("p", p)]));
        }
        let refs = numpy_batch(&cases);
        for ((dt, layout, x, p), want) in inputs.iter().zip(&refs) {
            let mut w = want.iter();
            for (ax, axs) in AXES {
                for k in [false, true] {
                    let what =
                        |op: &str| format!("{op} {dt} layout {layout} axes {axs} keepdims {k}");
                    let sd = if axs == "()" { *dt } else { mlx_sum_dtype(*dt) };
                    let ops_: [(&str, ReduceFn, &Array, Dtype); 6] = [
                        ("sum", ops::sum, x, sd),
                        ("prod", ops::prod, p, sd),
                        ("max", ops::max, x, *dt),
                        ("min", ops::min, x, *dt),
                        ("all", ops::all, x, Dtype::Bool),
                        ("any", ops::any, x, Dtype::Bool),
                    ];
                    for (name, f, inp, odt) in ops_ {
                        let got = f(inp, ax, k).unwrap();
                        check(&got, w.next().unwrap(), odt, &what(name));
                    }
                }
            }
        }
    });
}

#[test]
fn mean_var_std_count_nonzero_every_dtype_and_layout() {
    on_each_device(|_| {
        let mut inputs = Vec::new();
        for (i, &dt) in Dtype::ALL.iter().enumerate() {
            for layout in 0..3 {
                let x = input(dt, layout, -3.0, 3.0, 500 + i as u64 * 3 + layout as u64);
                inputs.push((dt, layout, x));
            }
        }
        let vdt = |d: Dtype| {
            if d.is_complex() {
                Dtype::Float32
            } else {
                mlx_float_dtype(d)
            }
        };
        let cases: Vec<_> = inputs
            .iter()
            .map(|(dt, _, x)| {
                let acc = if dt.is_complex() { "np.complex128" } else { "np.float64" };
                (
                    format!(
                        "out = []\nfor ax in {axes}:\n    for k in (False, True):\n        \
                         y = x.astype({acc})\n        \
                         out.append(np.mean(y, axis=ax, keepdims=k).astype(np.{md}))\n        \
                         for dd in (0, 1):\n            \
                         out.append(np.var(y, axis=ax, keepdims=k, ddof=dd).astype(np.{vd}))\n            \
                         out.append(np.std(y, axis=ax, keepdims=k, ddof=dd).astype(np.{vd}))\n        \
                         out.append(np.asarray(np.count_nonzero(x, axis=ax, keepdims=k)).astype(np.int32))\n",
                        axes = py_axes(),
                        md = np_name(mlx_float_dtype(*dt)),
                        vd = np_name(vdt(*dt)),
                    ),
                    vec![("x", x)],
                )
            })
            .collect();
        let refs = numpy_batch(&cases);
        for ((dt, layout, x), want) in inputs.iter().zip(&refs) {
            let mut w = want.iter();
            for (ax, axs) in AXES {
                for k in [false, true] {
                    let what =
                        |op: &str| format!("{op} {dt} layout {layout} axes {axs} keepdims {k}");
                    let md = mlx_float_dtype(*dt);
                    check(
                        &ops::mean(x, ax, k).unwrap(),
                        w.next().unwrap(),
                        md,
                        &what("mean"),
                    );
                    for dd in [0, 1] {
                        // Half-precision variance rounds the mean and every deviation,
                        // so allow a few ulps.
                        let vd = vdt(*dt);
                        let (r, a) = tol(vd);
                        let v = ops::var(x, ax, k, dd).unwrap();
                        assert_eq!(v.dtype(), vd);
                        assert_close(
                            &v,
                            w.next().unwrap(),
                            r * 4.0,
                            a * 4.0,
                            &what(&format!("var ddof {dd}")),
                        );
                        let sd = ops::std(x, ax, k, dd).unwrap();
                        assert_eq!(sd.dtype(), vd);
                        assert_close(
                            &sd,
                            w.next().unwrap(),
                            r * 4.0,
                            a * 4.0,
                            &what(&format!("std ddof {dd}")),
                        );
                    }
                    check(
                        &ops::count_nonzero(x, ax, k).unwrap(),
                        w.next().unwrap(),
                        Dtype::Int32,
                        &what("count_nonzero"),
                    );
                }
            }
        }
    });
}

#[test]
fn mean_var_edge_cases_match_mlx() {
    // Values printed by MLX 0.32.4.
    let f = |v: &[f32]| Array::from_slice(v, &[v.len()]).unwrap();
    let item = |a: mlxr::Result<Array>| a.unwrap().item::<f64>().unwrap();
    assert_eq!(
        item(ops::var(&f(&[1.0, 2.0]), None, false, 2)),
        f64::INFINITY
    );
    assert_eq!(
        item(ops::var(&f(&[1.0, 2.0]), None, false, 3)),
        f64::INFINITY
    );
    assert!(item(ops::var(&f(&[1.0]), None, false, 1)).is_nan());
    assert!((item(ops::var(&f(&[1.0, 2.0]), None, false, -1)) - 1.0 / 6.0).abs() < 1e-7);
    assert!(item(ops::mean(&f(&[]), None, false)).is_nan());
    // Integer sums wrap before the mean (MLX: mean([2^31-1, 2^31-1] int32) == -1).
    let i = Array::from_slice(&[i32::MAX, i32::MAX], &[2]).unwrap();
    let m = ops::mean(&i, None, false).unwrap();
    assert_eq!(
        (m.dtype(), m.item::<f32>().unwrap()),
        (Dtype::Float32, -1.0)
    );
    // float16: the sum overflows to inf before scaling; variance from rounded deviations.
    let h = |v: &[f32]| f(v).astype(Dtype::Float16).unwrap();
    assert_eq!(
        item(ops::mean(&h(&[60000.0, 60000.0]), None, false)),
        f64::INFINITY
    );
    assert_eq!(
        item(ops::var(&h(&[100.0, 200.0, 300.0]), None, false, 0)),
        6664.0
    );
    assert_eq!(
        item(ops::var(&h(&[10001.0, 10002.0, 10003.0]), None, false, 0)),
        0.0
    );
    assert_eq!(
        item(ops::std(&h(&[1.0, 2.0, 4.0]), None, false, 1)),
        1.52734375
    );
    let c = Array::from_slice(
        &[
            mlxr::Complex32::new(1.0, 2.0),
            mlxr::Complex32::new(3.0, -1.0),
        ],
        &[2],
    )
    .unwrap();
    let v = ops::var(&c, None, false, 0).unwrap();
    assert_eq!(
        (v.dtype(), v.item::<f32>().unwrap()),
        (Dtype::Float32, 3.25)
    );
    assert!(ops::mean(&f(&[1.0]), Some(&[1]), false).is_err());
    assert!(ops::var(&f(&[1.0]), Some(&[0, -1]), false, 0).is_err());
}

#[test]
fn array_methods_match_ops() {
    let x = rand(&[2, 3], Dtype::Float32, -1.0, 1.0, 5);
    let same =
        |a: Array, b: Array| assert_eq!(a.to_vec::<f64>().unwrap(), b.to_vec::<f64>().unwrap());
    same(
        x.sum(Some(&[1]), false).unwrap(),
        ops::sum(&x, Some(&[1]), false).unwrap(),
    );
    same(
        x.prod(None, true).unwrap(),
        ops::prod(&x, None, true).unwrap(),
    );
    same(
        x.max(None, false).unwrap(),
        ops::max(&x, None, false).unwrap(),
    );
    same(
        x.min(Some(&[0]), false).unwrap(),
        ops::min(&x, Some(&[0]), false).unwrap(),
    );
    same(
        x.all(None, false).unwrap(),
        ops::all(&x, None, false).unwrap(),
    );
    same(
        x.any(None, false).unwrap(),
        ops::any(&x, None, false).unwrap(),
    );
    same(
        x.argmax(Some(1), false).unwrap(),
        ops::argmax(&x, Some(1), false).unwrap(),
    );
    same(
        x.argmin(None, false).unwrap(),
        ops::argmin(&x, None, false).unwrap(),
    );
    same(
        x.logsumexp(None, false).unwrap(),
        ops::logsumexp(&x, None, false).unwrap(),
    );
    same(
        x.mean(Some(&[0]), true).unwrap(),
        ops::mean(&x, Some(&[0]), true).unwrap(),
    );
    same(
        x.var(None, false, 1).unwrap(),
        ops::var(&x, None, false, 1).unwrap(),
    );
    same(
        x.std(Some(&[-1]), false, 0).unwrap(),
        ops::std(&x, Some(&[-1]), false, 0).unwrap(),
    );
    same(
        x.softmax(Some(&[-1]), false).unwrap(),
        ops::softmax(&x, Some(&[-1]), false).unwrap(),
    );
}

#[test]
fn argmax_argmin_every_dtype_and_layout() {
    on_each_device(|_| {
        let mut inputs = Vec::new();
        for (i, &dt) in Dtype::ALL.iter().enumerate() {
            for layout in 0..3 {
                // A narrow integer range gives many ties (the first occurrence must win).
                inputs.push((
                    dt,
                    layout,
                    input(dt, layout, -3.0, 3.0, 200 + i as u64 * 3 + layout as u64),
                ));
            }
        }
        let axes: [(Option<isize>, &str); 6] = [
            (None, "None"),
            (Some(0), "0"),
            (Some(1), "1"),
            (Some(2), "2"),
            (Some(-1), "-1"),
            (Some(-3), "-3"),
        ];
        let pyax = format!(
            "[{}]",
            axes.iter().map(|a| a.1).collect::<Vec<_>>().join(", ")
        );
        let cases: Vec<_> = inputs
            .iter()
            .map(|(_, _, x)| {
                (
                    format!(
                        "out = []\nfor ax in {pyax}:\n    for k in (False, True):\n        \
                         out.append(np.argmax(x, axis=ax, keepdims=k).astype(np.uint32))\n        \
                         out.append(np.argmin(x, axis=ax, keepdims=k).astype(np.uint32))\n"
                    ),
                    vec![("x", x)],
                )
            })
            .collect();
        let refs = numpy_batch(&cases);
        for ((dt, layout, x), want) in inputs.iter().zip(&refs) {
            let mut w = want.iter();
            for (ax, axs) in axes {
                for k in [false, true] {
                    let what = format!("{dt} layout {layout} axis {axs} keepdims {k}");
                    check(
                        &ops::argmax(x, ax, k).unwrap(),
                        w.next().unwrap(),
                        Dtype::Uint32,
                        &format!("argmax {what}"),
                    );
                    check(
                        &ops::argmin(x, ax, k).unwrap(),
                        w.next().unwrap(),
                        Dtype::Uint32,
                        &format!("argmin {what}"),
                    );
                }
            }
        }
    });
}

#[test]
fn logsumexp_every_dtype_and_layout() {
    on_each_device(|_| {
        let dts = [
            Dtype::Bool,
            Dtype::Uint8,
            Dtype::Int8,
            Dtype::Int32,
            Dtype::Int64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ];
        let mut inputs = Vec::new();
        for (i, &dt) in dts.iter().enumerate() {
            for layout in 0..3 {
                inputs.push((
                    dt,
                    layout,
                    input(dt, layout, -4.0, 4.0, 300 + i as u64 * 3 + layout as u64),
                ));
            }
        }
        let cases: Vec<_> = inputs
            .iter()
            .map(|(dt, _, x)| {
                let acc = if *dt == Dtype::Complex64 { "np.complex128" } else { "np.float64" };
                (
                    format!(
                        "out = []\nfor ax in {axes}:\n    for k in (False, True):\n        \
                         y = x.astype({acc})\n        \
                         m = np.max(y, axis=ax, keepdims=True) if ax != () else y\n        \
                         m = np.where(np.isinf(m), 0, m)\n        \
                         r = np.log(np.sum(np.exp(y - m), axis=ax, keepdims=True)) + m\n        \
                         if not k:\n            r = np.squeeze(r, axis=ax) if ax is not None else r.reshape(())\n        \
                         out.append(r.astype(np.{od}))\n",
                        axes = py_axes(),
                        od = np_name(mlx_float_dtype(*dt)),
                    ),
                    vec![("x", x)],
                )
            })
            .collect();
        let refs = numpy_batch(&cases);
        for ((dt, layout, x), want) in inputs.iter().zip(&refs) {
            let mut w = want.iter();
            for (ax, axs) in AXES {
                for k in [false, true] {
                    let got = ops::logsumexp(x, ax, k).unwrap();
                    check(
                        &got,
                        w.next().unwrap(),
                        mlx_float_dtype(*dt),
                        &format!("logsumexp {dt} layout {layout} axes {axs} keepdims {k}"),
                    );
                }
            }
        }
    });
}

#[test]
fn softmax_every_dtype_and_layout() {
    on_each_device(|_| {
        let dts = [
            Dtype::Bool,
            Dtype::Uint8,
            Dtype::Int16,
            Dtype::Int32,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ];
        let axes: [(Option<&[isize]>, &str); 6] = [
            (None, "None"),
            (Some(&[-1]), "(-1,)"),
            (Some(&[2]), "(2,)"),
            (Some(&[0]), "(0,)"),
            (Some(&[1, -1]), "(1, 2)"),
            (Some(&[]), "()"),
        ];
        let pyax = format!(
            "[{}]",
            axes.iter().map(|a| a.1).collect::<Vec<_>>().join(", ")
        );
        let mut inputs = Vec::new();
        for (i, &dt) in dts.iter().enumerate() {
            for layout in 0..3 {
                inputs.push((
                    dt,
                    layout,
                    input(dt, layout, -4.0, 4.0, 400 + i as u64 * 3 + layout as u64),
                ));
            }
        }
        // Output dtype: at least float over the last axis alone, else the input dtype.
        let out_dt = |dt: Dtype, axs: &str| {
            if axs == "(-1,)" || axs == "(2,)" {
                mlx_float_dtype(dt)
            } else {
                dt
            }
        };
        let cases: Vec<_> = inputs
            .iter()
            .map(|(dt, _, x)| {
                let acc = match dt {
                    Dtype::Complex64 => "np.complex128",
                    Dtype::Float64 => "np.float64",
                    // f32 arithmetic, so results that round to exactly 1 agree when
                    // integer outputs truncate.
                    _ => "np.float32",
                };
                let dts: Vec<String> = axes.iter().map(|a| format!("np.{}", np_name(out_dt(*dt, a.1)))).collect();
                (
                    format!(
                        "out = []\nfor ax, od in zip({pyax}, [{dts}]):\n    \
                         y = x.astype({acc})\n    \
                         m = np.max(y, axis=ax, keepdims=True) if ax != () else y\n    \
                         e = np.exp(y - m)\n    \
                         out.append((e / (np.sum(e, axis=ax, keepdims=True) if ax != () else e)).astype(od))\n",
                        dts = dts.join(", ")
                    ),
                    vec![("x", x)],
                )
            })
            .collect();
        let refs = numpy_batch(&cases);
        for ((dt, layout, x), want) in inputs.iter().zip(&refs) {
            let mut w = want.iter();
            for (ax, axs) in axes {
                for precise in [false, true] {
                    let got = ops::softmax(x, ax, precise).unwrap();
                    let what = format!("softmax {dt} layout {layout} axes {axs} precise {precise}");
                    check(
                        &got,
                        &w.clone().next().unwrap().clone(),
                        out_dt(*dt, axs),
                        &what,
                    );
                }
                w.next();
            }
        }
    });
}

#[test]
fn softmax_half_precision_modes_match_mlx() {
    // Printed by MLX 0.32.4 for x = (arange(12).reshape(3, 4) * 0.37 - 2) in float16 /
    // bfloat16: softmax over the last axis (fused kernel) and axis 0 (composed), imprecise
    // and precise. The modes differ in the last bit, so most elements must match exactly
    // and the rest within one ulp (exp itself may differ in the last bit).
    #[rustfmt::skip]
    let refs: [(Dtype, isize, bool, [f32; 12]); 8] = [
        (Dtype::Float16, -1, false, [0.132080078125, 0.191162109375, 0.276611328125, 0.400390625, 0.132080078125, 0.191162109375, 0.276611328125, 0.400390625, 0.1319580078125, 0.191162109375, 0.276611328125, 0.400634765625]),
        (Dtype::Float16, -1, true, [0.1319580078125, 0.1910400390625, 0.276611328125, 0.400390625, 0.1319580078125, 0.1910400390625, 0.276611328125, 0.400390625, 0.1319580078125, 0.1910400390625, 0.276611328125, 0.400390625]),
        (Dtype::Float16, 0, false, [0.04046630859375, 0.04046630859375, 0.04046630859375, 0.04046630859375, 0.1778564453125, 0.1778564453125, 0.1778564453125, 0.1778564453125, 0.78173828125, 0.78173828125, 0.78173828125, 0.78173828125]),
        (Dtype::Float16, 0, true, [0.040496826171875, 0.040496826171875, 0.040496826171875, 0.040496826171875, 0.177978515625, 0.1778564453125, 0.1778564453125, 0.1778564453125, 0.78173828125, 0.78173828125, 0.78173828125, 0.78173828125]),
        (Dtype::Bfloat16, -1, false, [0.1318359375, 0.1904296875, 0.27734375, 0.400390625, 0.1318359375, 0.1904296875, 0.27734375, 0.400390625, 0.1318359375, 0.19140625, 0.279296875, 0.3984375]),
        (Dtype::Bfloat16, -1, true, [0.1318359375, 0.1904296875, 0.27734375, 0.400390625, 0.1318359375, 0.19140625, 0.27734375, 0.400390625, 0.1328125, 0.19140625, 0.27734375, 0.3984375]),
        (Dtype::Bfloat16, 0, false, [0.0400390625, 0.0400390625, 0.0400390625, 0.040771484375, 0.1767578125, 0.1787109375, 0.1767578125, 0.1796875, 0.78125, 0.78125, 0.78125, 0.78125]),
        (Dtype::Bfloat16, 0, true, [0.04052734375, 0.04052734375, 0.04052734375, 0.040771484375, 0.177734375, 0.177734375, 0.177734375, 0.1787109375, 0.78125, 0.78125, 0.78125, 0.78125]),
    ];
    let base: Vec<f32> = (0..12).map(|i| i as f32 * 0.37 - 2.0).collect();
    let x16 = Array::from_slice(&base, &[3, 4])
        .unwrap()
        .astype(Dtype::Float16)
        .unwrap();
    for (dt, axis, precise, want) in refs {
        let x = x16.astype(dt).unwrap();
        let got = ops::softmax(&x, Some(&[axis]), precise).unwrap();
        assert_eq!(got.dtype(), dt);
        let got = got.to_vec::<f32>().unwrap();
        let exact = got.iter().zip(&want).filter(|(a, b)| a == b).count();
        let ulp = if dt == Dtype::Float16 {
            1.0 / 1024.0
        } else {
            1.0 / 128.0
        };
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= w * ulp * 1.01,
                "{dt} axis {axis} precise {precise}: {got:?} vs {want:?}"
            );
        }
        assert!(
            exact >= 10,
            "{dt} axis {axis} precise {precise}: only {exact}/12 exact: {got:?} vs {want:?}"
        );
    }
}

#[test]
fn nan_and_inf() {
    on_each_device(|_| {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        let rows: Vec<f32> = vec![
            1.0, nan, 3.0, 2.0, // NaN in the middle
            nan, nan, 3.0, 1.0, // several NaNs
            inf, 1.0, -inf, 2.0, // +inf
            -inf, -inf, -inf, -inf, // all -inf
            inf, inf, 0.0, 1.0, // two +inf
            -inf, 1.0, 5.0, 5.0, // -inf and a tie
        ];
        for dt in [
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Float16,
            Dtype::Bfloat16,
        ] {
            let x = Array::from_slice(&rows, &[6, 4])
                .unwrap()
                .astype(dt)
                .unwrap();
            let xt = ops::transpose(&ops::transpose(&x).unwrap().astype(dt).unwrap()).unwrap();
            let want = numpy(
                "y = x.astype(np.float64)\n\
                 m = np.max(y, axis=1, keepdims=True)\n\
                 mm = np.where(np.isinf(m), 0, m)\n\
                 lse = (np.log(np.sum(np.exp(y - mm), axis=1, keepdims=True)) + mm)[:, 0]\n\
                 e = np.exp(y - m)\n\
                 out = [np.max(x, axis=1), np.min(x, axis=1), np.argmax(x, axis=1).astype(np.uint32),\n\
                 \x20      np.argmin(x, axis=1).astype(np.uint32), lse, e / e.sum(axis=1, keepdims=True),\n\
                 \x20      np.max(x, axis=0), np.argmax(x, axis=0).astype(np.uint32), np.sum(x, axis=1)]",
                &[("x", &x)],
            );
            let od = if dt == Dtype::Bfloat16 {
                Dtype::Bfloat16
            } else {
                dt
            };
            for (name, a) in [("contiguous", &x), ("transposed", &xt)] {
                let what = |op: &str| format!("{op} {dt} {name}");
                check(
                    &ops::max(a, Some(&[1]), false).unwrap(),
                    &want[0],
                    od,
                    &what("max"),
                );
                check(
                    &ops::min(a, Some(&[1]), false).unwrap(),
                    &want[1],
                    od,
                    &what("min"),
                );
                check(
                    &ops::argmax(a, Some(1), false).unwrap(),
                    &want[2],
                    Dtype::Uint32,
                    &what("argmax"),
                );
                check(
                    &ops::argmin(a, Some(1), false).unwrap(),
                    &want[3],
                    Dtype::Uint32,
                    &what("argmin"),
                );
                check(
                    &ops::logsumexp(a, Some(&[1]), false).unwrap(),
                    &want[4],
                    od,
                    &what("logsumexp"),
                );
                check(
                    &ops::softmax(a, Some(&[1]), true).unwrap(),
                    &want[5],
                    od,
                    &what("softmax"),
                );
                check(
                    &ops::max(a, Some(&[0]), false).unwrap(),
                    &want[6],
                    od,
                    &what("max axis 0"),
                );
                check(
                    &ops::argmax(a, Some(0), false).unwrap(),
                    &want[7],
                    Dtype::Uint32,
                    &what("argmax axis 0"),
                );
                check(
                    &ops::sum(a, Some(&[1]), false).unwrap(),
                    &want[8],
                    od,
                    &what("sum"),
                );
            }
        }
    });
}

#[test]
fn empty_arrays_and_size_one_dims() {
    on_each_device(|_| {
        let e = rand(&[0, 3], Dtype::Float32, 0.0, 1.0, 1);
        let v = |a: mlxr::Result<Array>| {
            let a = a.unwrap();
            (a.shape().to_vec(), a.to_vec::<f64>().unwrap())
        };
        assert_eq!(v(ops::sum(&e, Some(&[0]), false)), (vec![3], vec![0.0; 3]));
        assert_eq!(v(ops::sum(&e, None, false)), (vec![], vec![0.0]));
        assert_eq!(
            v(ops::prod(&e, Some(&[0]), true)),
            (vec![1, 3], vec![1.0; 3])
        );
        assert_eq!(v(ops::all(&e, Some(&[0]), false)), (vec![3], vec![1.0; 3]));
        assert_eq!(v(ops::any(&e, Some(&[0]), false)), (vec![3], vec![0.0; 3]));
        assert_eq!(v(ops::max(&e, Some(&[1]), false)), (vec![0], vec![]));
        assert_eq!(v(ops::sum(&e, Some(&[1]), true)), (vec![0, 1], vec![]));
        assert_eq!(v(ops::count_nonzero(&e, None, false)), (vec![], vec![0.0]));
        assert_eq!(v(ops::softmax(&e, Some(&[0]), false)), (vec![0, 3], vec![]));
        assert!(ops::max(&e, Some(&[0]), false).is_err());
        assert!(ops::min(&e, None, false).is_err());
        assert!(ops::argmax(&e, Some(1), false).is_err());
        assert!(ops::argmin(&e, None, false).is_err());
        assert!(ops::logsumexp(&e, Some(&[1]), false).is_err());
        let u = rand(&[0], Dtype::Uint8, 0.0, 5.0, 1);
        let p = ops::prod(&u, None, false).unwrap();
        assert_eq!((p.dtype(), p.item::<u32>().unwrap()), (Dtype::Uint32, 1));

        // Size-1 dims and 0-d arrays.
        let x = rand(&[1, 4, 1], Dtype::Float32, -1.0, 1.0, 2);
        let want = numpy(
            "out = [x.sum(axis=(0, 2)), x.max(axis=0, keepdims=True), x.argmax(axis=2).astype(np.uint32), \
             x.sum(axis=(0, 2), keepdims=True)]",
            &[("x", &x)],
        );
        check(
            &ops::sum(&x, Some(&[0, 2]), false).unwrap(),
            &want[0],
            Dtype::Float32,
            "sum size-1",
        );
        check(
            &ops::max(&x, Some(&[0]), true).unwrap(),
            &want[1],
            Dtype::Float32,
            "max size-1",
        );
        check(
            &ops::argmax(&x, Some(2), false).unwrap(),
            &want[2],
            Dtype::Uint32,
            "argmax size-1",
        );
        check(
            &ops::sum(&x, Some(&[0, 2]), true).unwrap(),
            &want[3],
            Dtype::Float32,
            "sum size-1 keep",
        );
        let s = Array::scalar(3i8);
        // MLX: reducing a 0-d array over all (= no) axes returns it unchanged.
        assert_eq!(ops::sum(&s, None, false).unwrap().dtype(), Dtype::Int8);
        assert_eq!(ops::max(&s, None, true).unwrap().item::<i8>().unwrap(), 3);
        assert_eq!(ops::all(&s, None, false).unwrap().dtype(), Dtype::Bool);
        let a = ops::argmax(&s, None, true).unwrap();
        assert_eq!((a.shape().len(), a.item::<u32>().unwrap()), (0, 0));
        let l = ops::logsumexp(&s, None, false).unwrap();
        assert_eq!((l.dtype(), l.item::<f32>().unwrap()), (Dtype::Float32, 3.0));
        let sm = ops::softmax(&Array::scalar(2.5f32), None, false).unwrap();
        assert_eq!(sm.item::<f32>().unwrap(), 1.0);
    });
}

#[test]
fn large_inputs_parallel_paths_and_accuracy() {
    on_each_device(|_| {
        let x = rand(&[1000, 1000], Dtype::Float32, -1.0, 1.0, 77);
        let xt = ops::transpose(&x).unwrap();
        let want = numpy(
            "y = x.astype(np.float64)\n\
             m = y.max(axis=1, keepdims=True)\n\
             e = np.exp(y - m)\n\
             out = [y.sum(), y.sum(axis=0), y.sum(axis=1), x.max(axis=0), x.min(axis=1), \
             x.argmax(axis=0).astype(np.uint32), x.argmin(axis=1).astype(np.uint32), \
             (np.log(e.sum(axis=1)) + m[:, 0]), e / e.sum(axis=1, keepdims=True), np.abs(y).sum(axis=0) / 1000.0, \
             np.log(np.exp(y).sum())]",
            &[("x", &x)],
        );
        let f = Dtype::Float32;
        let c = |a: mlxr::Result<Array>, w: &Array, what: &str| {
            let a = a.unwrap();
            assert_close(&a, w, 1e-5, 1e-5, what);
        };
        c(ops::sum(&x, None, false), &want[0], "sum all");
        c(ops::sum(&x, Some(&[0]), false), &want[1], "sum axis 0");
        c(ops::sum(&x, Some(&[1]), false), &want[2], "sum axis 1");
        c(
            ops::sum(&xt, Some(&[1]), false),
            &want[1],
            "sum axis 1 of transpose",
        );
        c(
            ops::sum(&xt, Some(&[0]), false),
            &want[2],
            "sum axis 0 of transpose",
        );
        c(ops::sum(&xt, None, false), &want[0], "sum all of transpose");
        check(
            &ops::max(&x, Some(&[0]), false).unwrap(),
            &want[3],
            f,
            "max axis 0",
        );
        check(
            &ops::max(&xt, Some(&[1]), false).unwrap(),
            &want[3],
            f,
            "max axis 1 of transpose",
        );
        check(
            &ops::min(&x, Some(&[1]), false).unwrap(),
            &want[4],
            f,
            "min axis 1",
        );
        check(
            &ops::argmax(&x, Some(0), false).unwrap(),
            &want[5],
            Dtype::Uint32,
            "argmax axis 0",
        );
        check(
            &ops::argmin(&x, Some(1), false).unwrap(),
            &want[6],
            Dtype::Uint32,
            "argmin axis 1",
        );
        check(
            &ops::argmin(&xt, Some(0), false).unwrap(),
            &want[6],
            Dtype::Uint32,
            "argmin transposed",
        );
        c(
            ops::logsumexp(&x, Some(&[1]), false),
            &want[7],
            "logsumexp axis 1",
        );
        c(
            ops::logsumexp(&xt, Some(&[0]), false),
            &want[7],
            "logsumexp transposed",
        );
        c(
            ops::softmax(&x, Some(&[-1]), false),
            &want[8],
            "softmax last axis",
        );
        let st = ops::softmax(&xt, Some(&[0]), false).unwrap();
        c(ops::transpose(&st), &want[8], "softmax transposed");
        c(
            ops::logsumexp(&x, None, false),
            &want[10],
            "logsumexp all (one long row)",
        );
        let _ = &want[9];
    });
}

#[test]
fn f32_sums_of_2_pow_24_elements_stay_accurate() {
    let n = 1usize << 24;
    let x = Array::from_slice(&vec![0.1f32; n], &[n]).unwrap();
    let want = numpy1(
        "v = np.float64(np.float32(0.1))\nout = np.array([v * 2**24, v * 2**20])",
        &[],
    )
    .to_vec::<f64>()
    .unwrap();
    let got = ops::sum(&x, None, false).unwrap().item::<f64>().unwrap();
    assert!(
        ((got - want[0]) / want[0]).abs() < 1e-6,
        "sum all: {got} vs {}",
        want[0]
    );
    let cols = ops::reshape(&x, &[1 << 20, 16]).unwrap();
    for v in ops::sum(&cols, Some(&[0]), false)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
    {
        assert!(
            ((v - want[1]) / want[1]).abs() < 1e-5,
            "column sum: {v} vs {}",
            want[1]
        );
    }
    let rows = ops::reshape(&x, &[16, 1 << 20]).unwrap();
    for v in ops::sum(&rows, Some(&[1]), false)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
    {
        assert!(
            ((v - want[1]) / want[1]).abs() < 1e-6,
            "row sum: {v} vs {}",
            want[1]
        );
    }
}

#[test]
fn integer_overflow_wraps_like_mlx() {
    // MLX: sum of int32 wraps; uint8 sums widen to uint32; int8 products widen to int32.
    let a = Array::from_slice(&[i32::MAX, 5], &[2]).unwrap();
    assert_eq!(
        ops::sum(&a, None, false).unwrap().item::<i32>().unwrap(),
        -2147483644
    );
    let b = Array::from_slice(&[255u8, 255], &[2]).unwrap();
    let s = ops::sum(&b, None, false).unwrap();
    assert_eq!((s.dtype(), s.item::<u32>().unwrap()), (Dtype::Uint32, 510));
    let c = Array::from_slice(&[100i8, 100, -2], &[3]).unwrap();
    let p = ops::prod(&c, None, false).unwrap();
    assert_eq!(
        (p.dtype(), p.item::<i32>().unwrap()),
        (Dtype::Int32, -20000)
    );
}

#[test]
fn bad_arguments_are_errors() {
    let x = rand(&[2, 3], Dtype::Float32, -1.0, 1.0, 1);
    let fs: [(&str, ReduceFn); 7] = [
        ("sum", ops::sum),
        ("prod", ops::prod),
        ("max", ops::max),
        ("min", ops::min),
        ("all", ops::all),
        ("any", ops::any),
        ("logsumexp", ops::logsumexp),
    ];
    for (name, f) in fs {
        for bad in [&[2isize][..], &[-3], &[0, 0], &[0, -2], &[1, 5]] {
            let e = f(&x, Some(bad), false);
            assert!(e.is_err(), "{name} with axes {bad:?} must fail");
        }
    }
    let e = ops::sum(&x, Some(&[0, -2]), false).unwrap_err().to_string();
    assert!(e.contains("duplicate"), "{e}");
    let e = ops::sum(&x, Some(&[2]), false).unwrap_err().to_string();
    assert!(e.contains("axis 2"), "{e}");
    assert!(ops::softmax(&x, Some(&[0, 0]), false).is_err());
    assert!(ops::softmax(&x, Some(&[2]), false).is_err());
    assert!(ops::argmax(&x, Some(2), false).is_err());
    assert!(ops::argmin(&x, Some(-3), false).is_err());
    assert!(ops::argmax(&Array::scalar(1.0f32), Some(0), false).is_err());
    let e = ops::argmax(&rand(&[3, 0], Dtype::Float32, 0.0, 1.0, 1), Some(0), false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("zero size"), "{e}");
    assert!(ops::count_nonzero(&x, Some(&[3]), false).is_err());
}

/// Softmax's gradient over the last axis goes through the fused `SoftmaxVjp` kernel:
/// check it against NumPy (float64) for every floating dtype, the warp-per-row and
/// block-per-row paths, a non-contiguous input and an empty one; then its own gradient
/// (second order, through the composed definition) against central differences.
#[test]
fn softmax_vjp_fused_matches_numpy() {
    on_each_device(|dev| {
        let shapes: [&[usize]; 4] = [&[3, 7, 33], &[4, 1500], &[2, 1], &[0, 5]];
        for dt in [Dtype::Float16, Dtype::Bfloat16, Dtype::Float32, Dtype::Float64] {
            for (k, shape) in shapes.iter().enumerate() {
                for transposed in [false, true] {
                    let seed = 900 + k as u64 * 7 + transposed as u64;
                    let x = if transposed && shape.len() == 2 {
                        let t: Vec<usize> = shape.iter().rev().copied().collect();
                        rand(&t, dt, -3.0, 3.0, seed).transpose(&[1, 0]).unwrap()
                    } else {
                        rand(shape, dt, -3.0, 3.0, seed)
                    };
                    let c = rand(shape, dt, -1.0, 1.0, seed + 50);
                    let (_, g) = mlxr::vjp(
                        |a| Ok(vec![ops::softmax(&a[0], Some(&[-1]), false)?]),
                        std::slice::from_ref(&x),
                        std::slice::from_ref(&c),
                    )
                    .unwrap();
                    let g = &g[0];
                    assert_eq!(g.dtype(), dt);
                    assert_eq!(g.shape(), x.shape());
                    let want = numpy1(
                        "y = x.astype(np.float64)\n\
                         e = np.exp(y - y.max(axis=-1, keepdims=True))\n\
                         s = e / e.sum(axis=-1, keepdims=True)\n\
                         sc = s * c.astype(np.float64)\n\
                         out = sc - s * sc.sum(axis=-1, keepdims=True)",
                        &[("x", &x), ("c", &c)],
                    );
                    let (rtol, atol) = tol(dt);
                    assert_close(
                        &g.astype(Dtype::Float64).unwrap(),
                        &want,
                        rtol * 4.0,
                        atol * 4.0,
                        &format!("softmax vjp {dt} {shape:?} transposed {transposed} on {dev:?}"),
                    );
                }
            }
        }
        // Second order: d/dx sum(w * vjp(softmax)(x, c)) against central differences.
        let x = rand(&[2, 5], Dtype::Float64, -2.0, 2.0, 77);
        let c = rand(&[2, 5], Dtype::Float64, -1.0, 1.0, 78);
        let w = rand(&[2, 5], Dtype::Float64, -1.0, 1.0, 79);
        let h = |x: &Array| -> mlxr::Result<Array> {
            let (_, g) = mlxr::vjp(
                |a| Ok(vec![ops::softmax(&a[0], Some(&[-1]), false)?]),
                std::slice::from_ref(x),
                std::slice::from_ref(&c),
            )?;
            ops::sum(&ops::multiply(&g[0], &w)?, None, false)
        };
        let (_, gg) = mlxr::vjp(
            |a| Ok(vec![h(&a[0])?]),
            std::slice::from_ref(&x),
            &[Array::from_slice(&[1.0f64], &[]).unwrap()],
        )
        .unwrap();
        let gg = gg[0].to_vec::<f64>().unwrap();
        let xv = x.to_vec::<f64>().unwrap();
        let eps = 1e-6;
        for i in 0..xv.len() {
            let at = |d: f64| {
                let mut v = xv.clone();
                v[i] += d;
                let xa = Array::from_slice(&v, &[2, 5]).unwrap();
                h(&xa).unwrap().item::<f64>().unwrap()
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (fd - gg[i]).abs() < 1e-6 * (1.0 + fd.abs()),
                "second-order softmax vjp at {i}: {} vs {fd} on {dev:?}",
                gg[i]
            );
        }
    });
}
