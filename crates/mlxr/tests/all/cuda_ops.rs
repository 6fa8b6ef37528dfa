//! The compute primitives on the GPU (unary, binary, divmod, select, reductions,
//! argmax/argmin, softmax, log-sum-exp, matmul, addmm) compared with the same ops on the
//! CPU: random inputs of every dtype each op supports, contiguous, transposed, broadcast,
//! scalar-broadcast and sliced layouts, special values (NaN, ±inf, ties, zero divisors,
//! out-of-range shifts). Every test skips (with a message) when no GPU is usable.

use crate::common::*;
use mlxr::primitives::binary::{Binary, BinaryOp};
use mlxr::{ops, Array, Device, Dtype};
use std::sync::Arc;

/// GPU 0, or `None` (with a message) when no GPU is usable. `MLXR_CUDA_OPS_DRY=1` runs
/// the test bodies on the CPU twice instead (to check the tests themselves anywhere).
pub(crate) fn gpu_or_skip(test: &str) -> Option<Device> {
    if std::env::var("MLXR_CUDA_OPS_DRY").as_deref() == Ok("1") {
        return Some(Device::cpu());
    }
    match Device::gpu(0) {
        Ok(d) => Some(d),
        Err(e) => {
            eprintln!("{test}: skipped: {e}");
            None
        }
    }
}

/// Tolerances (rtol, atol) for GPU vs CPU results: the math libraries differ by an ulp
/// or two; half precision results may round to the neighbouring value.
pub(crate) fn gpu_tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float16 => (2e-3, 2e-3),
        Dtype::Bfloat16 => (1.6e-2, 1e-2),
        Dtype::Float32 => (1e-5, 1e-6),
        Dtype::Complex64 => (1e-4, 1e-5),
        Dtype::Float64 => (1e-12, 1e-14),
        _ => (0.0, 0.0),
    }
}

/// Run `body` on the CPU and on the GPU and compare every result with `tol`.
pub(crate) fn compare_with(
    test: &str,
    tol: impl Fn(Dtype) -> (f64, f64),
    body: impl Fn() -> Vec<(String, Array)>,
) {
    let Some(gpu) = gpu_or_skip(test) else {
        return;
    };
    let want = mlxr::with_device(Device::cpu(), &body);
    let got = mlxr::with_device(gpu, &body);
    assert_eq!(got.len(), want.len(), "{test}: case count");
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        g.eval()
            .unwrap_or_else(|e| panic!("{test}: {name} on the GPU: {e}"));
        assert!(
            gpu.is_cpu() || !g.data().unwrap().is_host() || g.size() == 0,
            "{test}: {name}: the result is not on the GPU"
        );
        assert_eq!(g.dtype(), w.dtype(), "{test}: {name}: dtype");
        let (r, a) = tol(w.dtype());
        if w.dtype() == Dtype::Complex64 {
            assert_close_complex(g, w, r, a, &format!("{test}: {name}"));
        } else {
            assert_close(g, w, r, a, &format!("{test}: {name}"));
        }
    }
}

/// Complex closeness by magnitude: `|g - w| <= atol + rtol * |w|` (NaN and infinities
/// must match part by part).
fn assert_close_complex(got: &Array, want: &Array, rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape mismatch");
    let g = got.to_vec::<mlxr::Complex32>().unwrap();
    let w = want.to_vec::<mlxr::Complex32>().unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let special = |x: f32| !x.is_finite();
        let ok = if special(a.re) || special(a.im) || special(b.re) || special(b.im) {
            let same = |x: f32, y: f32| {
                (x.is_nan() && y.is_nan())
                    || x == y
                    || (x - y).abs() as f64 <= atol + rtol * (y.abs() as f64)
            };
            same(a.re, b.re) && same(a.im, b.im)
        } else {
            let d = ((a.re - b.re) as f64).hypot((a.im - b.im) as f64);
            d <= atol + rtol * (b.re as f64).hypot(b.im as f64)
        };
        assert!(ok, "{what}: element {i} differs: got {a}, want {b}");
    }
}

pub(crate) fn compare(test: &str, body: impl Fn() -> Vec<(String, Array)>) {
    compare_with(test, gpu_tol, body)
}

/// Layouts of one random input of `shape` (3-d): contiguous, transposed view, broadcast
/// view (of a [1, s1, 1] array) and a strided slice.
pub(crate) fn layouts(
    shape: &[usize],
    dt: Dtype,
    lo: f64,
    hi: f64,
    seed: u64,
) -> Vec<(String, Array)> {
    let x = rand(shape, dt, lo, hi, seed);
    let t = rand(&[shape[2], shape[0], shape[1]], dt, lo, hi, seed + 1);
    let t = ops::transpose_axes(&t, &[1, 2, 0]).unwrap();
    let b = rand(&[1, shape[1], 1], dt, lo, hi, seed + 2);
    let b = ops::broadcast_to(&b, shape).unwrap();
    let s = rand(&[shape[0], shape[1], 2 * shape[2]], dt, lo, hi, seed + 3);
    let s = ops::slice(
        &s,
        &[0, 0, 1],
        &[shape[0] as isize, shape[1] as isize, 2 * shape[2] as isize],
        &[1, 1, 2],
    )
    .unwrap();
    vec![
        ("contiguous".into(), x),
        ("transposed".into(), t),
        ("broadcast".into(), b),
        ("sliced".into(), s),
    ]
}

/// NaN, ±inf, ±0 and ordinary values, as a [2, 8] float64 array.
pub(crate) fn specials() -> Array {
    let v = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.5,
        -2.5,
        1e-3,
        100.0,
        -100.0,
        0.999,
        3.0,
    ];
    Array::from_slice(&v, &[2, 8]).unwrap()
}

type UnaryFn = fn(&Array) -> mlxr::Result<Array>;

fn unary_ops() -> Vec<(&'static str, UnaryFn, f64, f64)> {
    vec![
        ("abs", ops::abs, -3.0, 3.0),
        ("negative", ops::negative, -3.0, 3.0),
        ("sign", ops::sign, -3.0, 3.0),
        ("exp", ops::exp, -3.0, 3.0),
        ("expm1", ops::expm1, -3.0, 3.0),
        ("log", ops::log, -1.0, 5.0),
        ("log1p", ops::log1p, -1.5, 5.0),
        ("log2", ops::log2, -1.0, 5.0),
        ("log10", ops::log10, -1.0, 5.0),
        ("sqrt", ops::sqrt, -1.0, 5.0),
        ("rsqrt", ops::rsqrt, -1.0, 5.0),
        ("square", ops::square, -3.0, 3.0),
        ("reciprocal", ops::reciprocal, -3.0, 3.0),
        ("sin", ops::sin, -3.0, 3.0),
        ("cos", ops::cos, -3.0, 3.0),
        ("tan", ops::tan, -1.2, 1.2),
        ("arcsin", ops::arcsin, -1.2, 1.2),
        ("arccos", ops::arccos, -1.2, 1.2),
        ("arctan", ops::arctan, -3.0, 3.0),
        ("sinh", ops::sinh, -3.0, 3.0),
        ("cosh", ops::cosh, -3.0, 3.0),
        ("tanh", ops::tanh, -3.0, 3.0),
        ("arcsinh", ops::arcsinh, -3.0, 3.0),
        ("arccosh", ops::arccosh, 0.5, 4.0),
        ("arctanh", ops::arctanh, -1.2, 1.2),
        ("sigmoid", ops::sigmoid, -6.0, 6.0),
        ("erf", ops::erf, -2.0, 2.0),
        ("erfinv", ops::erfinv, -1.1, 1.1),
        ("floor", ops::floor, -3.0, 3.0),
        ("ceil", ops::ceil, -3.0, 3.0),
        ("round", |a| ops::round(a, 0), -3.0, 3.0),
        ("isnan", ops::isnan, -3.0, 3.0),
        ("isinf", ops::isinf, -3.0, 3.0),
        ("isposinf", ops::isposinf, -3.0, 3.0),
        ("isneginf", ops::isneginf, -3.0, 3.0),
        ("isfinite", ops::isfinite, -3.0, 3.0),
        ("logical_not", ops::logical_not, -2.0, 2.0),
        ("bitwise_invert", ops::bitwise_invert, -100.0, 100.0),
        ("degrees", ops::degrees, -3.0, 3.0),
        ("radians", ops::radians, -300.0, 300.0),
        ("conj", ops::conj, -3.0, 3.0),
        ("real", ops::real, -3.0, 3.0),
        ("imag", ops::imag, -3.0, 3.0),
        (
            "nan_to_num",
            |a| ops::nan_to_num(a, 1.5, Some(9.0), None),
            -3.0,
            3.0,
        ),
        ("stop_gradient", ops::stop_gradient, -3.0, 3.0),
    ]
}

#[test]
fn unary_ops_match_the_cpu() {
    compare("unary_ops_match_the_cpu", || {
        let mut out = Vec::new();
        for (name, f, lo, hi) in unary_ops() {
            for (i, dt) in Dtype::ALL.into_iter().enumerate() {
                if name == "nan_to_num" && !(dt.is_floating() || dt.is_complex()) {
                    continue; // the identity: returns its input, wherever it lives (as MLX)
                }
                for (layout, x) in layouts(&[3, 17, 33], dt, lo, hi, 10 + i as u64) {
                    if let Ok(y) = f(&x) {
                        out.push((format!("{name} {dt} {layout}"), y));
                    }
                }
            }
        }
        out
    });
}

#[test]
fn unary_ops_special_values_match_the_cpu() {
    compare("unary_ops_special_values_match_the_cpu", || {
        let mut out = Vec::new();
        for (name, f, _, _) in unary_ops() {
            for dt in [
                Dtype::Float16,
                Dtype::Bfloat16,
                Dtype::Float32,
                Dtype::Float64,
            ] {
                let x = specials().astype(dt).unwrap();
                if let Ok(y) = f(&x) {
                    out.push((format!("{name} {dt}"), y));
                }
            }
            // Complex with special parts.
            let re = specials();
            let im =
                ops::transpose_axes(&ops::reshape(&specials(), &[8, 2]).unwrap(), &[1, 0]).unwrap();
            let z = ops::add(
                re.astype(Dtype::Complex64).unwrap(),
                ops::multiply(
                    im.astype(Dtype::Complex64).unwrap(),
                    mlxr::Complex32::new(0.0, 1.0),
                )
                .unwrap(),
            )
            .unwrap();
            if let Ok(y) = f(&z) {
                if !matches!(
                    name,
                    "tan" | "tanh" | "arctan" | "arctanh" | "sinh" | "cosh"
                ) {
                    out.push((format!("{name} complex64"), y));
                }
            }
        }
        out
    });
}

type BinaryFn = fn(&Array, &Array) -> mlxr::Result<Array>;

fn arctan2(a: &Array, b: &Array) -> mlxr::Result<Array> {
    let dt = mlxr::promote_types(a.dtype(), b.dtype());
    if !dt.is_floating() {
        return Err(mlxr::Error::Dtype("arctan2: floats only".into()));
    }
    let shape = ops::broadcast_shapes(a.shape(), b.shape(), "arctan2")?;
    let a = ops::broadcast_to(&a.astype(dt)?, &shape)?;
    let b = ops::broadcast_to(&b.astype(dt)?, &shape)?;
    Ok(Array::new_node(
        shape,
        dt,
        Arc::new(Binary {
            op: BinaryOp::ArcTan2,
        }),
        vec![a, b],
        mlxr::StreamOrDevice::Default.resolve(),
    ))
}

/// A value range (lo, hi).
type Range = (f64, f64);

/// (name, op, x range, y range).
fn binary_ops() -> Vec<(&'static str, BinaryFn, Range, Range)> {
    let r = (-20.0, 20.0);
    vec![
        ("add", |a, b| ops::add(a, b), r, r),
        ("subtract", |a, b| ops::subtract(a, b), r, r),
        ("multiply", |a, b| ops::multiply(a, b), r, r),
        ("divide", |a, b| ops::divide(a, b), r, r),
        (
            "floor_divide",
            |a, b| ops::floor_divide(a, b),
            r,
            (-5.0, 5.0),
        ),
        ("remainder", |a, b| ops::remainder(a, b), r, (-5.0, 5.0)),
        ("power", |a, b| ops::power(a, b), (-4.0, 4.0), (-2.0, 6.0)),
        ("maximum", |a, b| ops::maximum(a, b), r, r),
        ("minimum", |a, b| ops::minimum(a, b), r, r),
        ("arctan2", arctan2, r, r),
        ("logaddexp", |a, b| ops::logaddexp(a, b), r, r),
        ("equal", |a, b| ops::equal(a, b), (-3.0, 3.0), (-3.0, 3.0)),
        (
            "not_equal",
            |a, b| ops::not_equal(a, b),
            (-3.0, 3.0),
            (-3.0, 3.0),
        ),
        ("less", |a, b| ops::less(a, b), (-3.0, 3.0), (-3.0, 3.0)),
        (
            "less_equal",
            |a, b| ops::less_equal(a, b),
            (-3.0, 3.0),
            (-3.0, 3.0),
        ),
        (
            "greater",
            |a, b| ops::greater(a, b),
            (-3.0, 3.0),
            (-3.0, 3.0),
        ),
        (
            "greater_equal",
            |a, b| ops::greater_equal(a, b),
            (-3.0, 3.0),
            (-3.0, 3.0),
        ),
        ("logical_and", |a, b| ops::logical_and(a, b), r, r),
        ("logical_or", |a, b| ops::logical_or(a, b), r, r),
        ("logical_xor", |a, b| ops::logical_xor(a, b), r, r),
        (
            "bitwise_and",
            |a, b| ops::bitwise_and(a, b),
            (-200.0, 200.0),
            (-200.0, 200.0),
        ),
        (
            "bitwise_or",
            |a, b| ops::bitwise_or(a, b),
            (-200.0, 200.0),
            (-200.0, 200.0),
        ),
        (
            "bitwise_xor",
            |a, b| ops::bitwise_xor(a, b),
            (-200.0, 200.0),
            (-200.0, 200.0),
        ),
        (
            "left_shift",
            |a, b| ops::left_shift(a, b),
            (-200.0, 200.0),
            (-3.0, 70.0),
        ),
        (
            "right_shift",
            |a, b| ops::right_shift(a, b),
            (-200.0, 200.0),
            (-3.0, 70.0),
        ),
    ]
}

#[test]
fn binary_ops_match_the_cpu() {
    let shape = [3, 17, 33];
    compare("binary_ops_match_the_cpu", || {
        let mut out = Vec::new();
        for (name, f, rx, ry) in binary_ops() {
            for (i, dt) in Dtype::ALL.into_iter().enumerate() {
                let seed = 100 + 10 * i as u64;
                let xs = layouts(&shape, dt, rx.0, rx.1, seed);
                let ys = layouts(&shape, dt, ry.0, ry.1, seed + 5);
                // (x layout, y layout) pairs: same layouts, mixed, scalar operands.
                let pairs = [(0, 0), (0, 1), (1, 1), (2, 0), (0, 3), (3, 2)];
                for (a, b) in pairs {
                    let (la, x) = &xs[a];
                    let (lb, y) = &ys[b];
                    if let Ok(z) = f(x, y) {
                        out.push((format!("{name} {dt} {la}/{lb}"), z));
                    }
                }
                let s = rand(&[], dt, ry.0, ry.1, seed + 9);
                if let Ok(z) = f(&xs[0].1, &s) {
                    out.push((format!("{name} {dt} contiguous/scalar"), z));
                }
                if let Ok(z) = f(&s, &xs[1].1) {
                    out.push((format!("{name} {dt} scalar/transposed"), z));
                }
            }
        }
        out
    });
}

#[test]
fn binary_ops_special_values_match_the_cpu() {
    compare("binary_ops_special_values_match_the_cpu", || {
        let mut out = Vec::new();
        let x = ops::reshape(&specials(), &[16, 1]).unwrap();
        let y = ops::reshape(&specials(), &[1, 16]).unwrap();
        for (name, f, _, _) in binary_ops() {
            for dt in [
                Dtype::Float16,
                Dtype::Bfloat16,
                Dtype::Float32,
                Dtype::Float64,
            ] {
                let (a, b) = (x.astype(dt).unwrap(), y.astype(dt).unwrap());
                if let Ok(z) = f(&a, &b) {
                    out.push((format!("{name} {dt}"), z));
                }
            }
        }
        // Integer edge cases: zero divisors, MIN / -1, shifts out of range.
        let iv: Vec<f64> = vec![
            0.0, 1.0, -1.0, 7.0, -7.0, 3.0, -3.0, 127.0, -128.0, 255.0, 64.0, 63.0, 8.0, -9.0,
        ];
        let n = iv.len();
        let xi = Array::from_slice(&iv, &[n, 1]).unwrap();
        let yi = Array::from_slice(&iv, &[1, n]).unwrap();
        for dt in Dtype::ALL.into_iter().filter(|d| d.is_integer()) {
            let (a, b) = (xi.astype(dt).unwrap(), yi.astype(dt).unwrap());
            for (name, f, _, _) in binary_ops() {
                if let Ok(z) = f(&a, &b) {
                    out.push((format!("{name} {dt} edge"), z));
                }
            }
            let m = Array::from_slice(&[i64::MIN, i64::MAX, -1, 0], &[4, 1])
                .unwrap()
                .astype(dt)
                .unwrap();
            let d = Array::from_slice(&[-1i64, 1, 0, 2], &[1, 4])
                .unwrap()
                .astype(dt)
                .unwrap();
            out.push((
                format!("floor_divide {dt} min"),
                ops::floor_divide(&m, &d).unwrap(),
            ));
            out.push((
                format!("remainder {dt} min"),
                ops::remainder(&m, &d).unwrap(),
            ));
        }
        out
    });
}

#[test]
fn divmod_and_select_match_the_cpu() {
    compare("divmod_and_select_match_the_cpu", || {
        let mut out = Vec::new();
        for (i, dt) in Dtype::ALL.into_iter().enumerate() {
            let seed = 300 + 10 * i as u64;
            let xs = layouts(&[4, 9, 35], dt, -30.0, 30.0, seed);
            let ys = layouts(&[4, 9, 35], dt, -6.0, 6.0, seed + 5);
            for ((la, x), (lb, y)) in xs.iter().zip(ys.iter().rev()) {
                if let Ok((q, r)) = ops::divmod(x, y) {
                    out.push((format!("divmod q {dt} {la}/{lb}"), q));
                    out.push((format!("divmod r {dt} {la}/{lb}"), r));
                }
            }
            let conds = layouts(&[4, 9, 35], Dtype::Bool, -1.0, 1.0, seed + 7);
            for (k, (lc, c)) in conds.iter().enumerate() {
                let (lx, x) = &xs[k];
                let (ly, y) = &ys[(k + 1) % 4];
                out.push((
                    format!("where {dt} {lc}/{lx}/{ly}"),
                    ops::where_(c, x, y).unwrap(),
                ));
            }
            let c = rand(&[9, 1], Dtype::Bool, -1.0, 1.0, seed + 8);
            out.push((
                format!("where {dt} broadcast cond"),
                ops::where_(&c, &xs[0].1, &ys[1].1).unwrap(),
            ));
        }
        out
    });
}

/// Tolerances for reductions (sums accumulate rounding differently on the GPU).
fn reduce_tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float16 => (4e-3, 6e-2),
        Dtype::Bfloat16 => (2e-2, 0.5),
        Dtype::Float32 => (1e-4, 1e-3),
        Dtype::Complex64 => (1e-4, 1e-3),
        Dtype::Float64 => (1e-12, 1e-10),
        _ => (0.0, 0.0),
    }
}

type ReduceFn = fn(&Array, Option<&[isize]>, bool) -> mlxr::Result<Array>;

fn reduce_ops() -> Vec<(&'static str, ReduceFn, f64, f64)> {
    vec![
        ("sum", ops::sum, -1.0, 1.0),
        ("prod", ops::prod, 0.95, 1.05),
        ("max", ops::max, -10.0, 10.0),
        ("min", ops::min, -10.0, 10.0),
        ("all", ops::all, -0.05, 10.0),
        ("any", ops::any, -10.0, 0.05),
    ]
}

#[test]
fn reductions_match_the_cpu() {
    let axes_list: Vec<Option<Vec<isize>>> = vec![
        None,
        Some(vec![-1]),
        Some(vec![0]),
        Some(vec![1]),
        Some(vec![0, 2]),
        Some(vec![0, 1]),
        Some(vec![1, 2]),
    ];
    compare_with("reductions_match_the_cpu", reduce_tol, || {
        let mut out = Vec::new();
        for (name, f, lo, hi) in reduce_ops() {
            for (i, dt) in Dtype::ALL.into_iter().enumerate() {
                let (lo, hi) = if name == "prod" && dt.is_integer() {
                    (-3.0, 4.0)
                } else if name == "prod" && dt == Dtype::Bool {
                    (-0.01, 1.0)
                } else if name == "prod" && dt.is_complex() {
                    // Magnitudes below 1.5: no overflow, whose inf / NaN outcome depends
                    // on the order of the complex products.
                    (-1.0, 1.0)
                } else {
                    (lo, hi)
                };
                for (layout, x) in layouts(&[5, 37, 65], dt, lo, hi, 500 + i as u64) {
                    for axes in &axes_list {
                        if let Ok(y) = f(&x, axes.as_deref(), false) {
                            out.push((format!("{name} {dt} {layout} {axes:?}"), y));
                        }
                    }
                }
            }
        }
        out
    });
}

#[test]
fn large_reductions_match_the_cpu() {
    compare_with("large_reductions_match_the_cpu", reduce_tol, || {
        let mut out = Vec::new();
        for dt in [Dtype::Float32, Dtype::Float16, Dtype::Int32, Dtype::Float64] {
            // All-reduce of a long vector (two passes), tall columns (split columns),
            // wide rows, and a transposed all-reduce.
            let v = rand(&[1 << 20], dt, -1.0, 1.0, 7);
            let tall = rand(&[20000, 8], dt, -1.0, 1.0, 8);
            let wide = rand(&[4, 100000], dt, -1.0, 1.0, 9);
            let t = ops::transpose(&rand(&[300, 500], dt, -1.0, 1.0, 10)).unwrap();
            for (name, f, _, _) in reduce_ops() {
                if name == "prod" {
                    continue;
                }
                out.push((format!("{name} {dt} vector"), f(&v, None, false).unwrap()));
                out.push((
                    format!("{name} {dt} tall"),
                    f(&tall, Some(&[0]), false).unwrap(),
                ));
                out.push((
                    format!("{name} {dt} wide"),
                    f(&wide, Some(&[1]), true).unwrap(),
                ));
                out.push((
                    format!("{name} {dt} transposed"),
                    f(&t, None, false).unwrap(),
                ));
                out.push((
                    format!("{name} {dt} transposed rows"),
                    f(&t, Some(&[1]), false).unwrap(),
                ));
            }
        }
        // Empty reductions give the identity; NaN propagates through max/min.
        let e = Array::from_slice::<f32>(&[], &[3, 0]).unwrap();
        for (name, f, _, _) in reduce_ops() {
            if name != "max" && name != "min" {
                out.push((format!("{name} empty"), f(&e, Some(&[1]), false).unwrap()));
            }
        }
        let s = ops::reshape(&specials(), &[4, 4]).unwrap();
        for (name, f, _, _) in reduce_ops() {
            for ax in [0isize, 1] {
                out.push((
                    format!("{name} specials axis {ax}"),
                    f(&s, Some(&[ax]), false).unwrap(),
                ));
            }
        }
        out
    });
}

#[test]
fn argmax_argmin_match_the_cpu() {
    compare("argmax_argmin_match_the_cpu", || {
        let mut out = Vec::new();
        for (i, dt) in Dtype::ALL.into_iter().enumerate() {
            // A small value range gives many ties (the first index must win).
            let (lo, hi) = if dt.is_inexact() {
                (-3.0, 3.0)
            } else {
                (0.0, 4.0)
            };
            for (layout, x) in layouts(&[5, 37, 65], dt, lo, hi, 700 + i as u64) {
                for ax in [0isize, 1, 2, -1] {
                    out.push((
                        format!("argmax {dt} {layout} {ax}"),
                        ops::argmax(&x, Some(ax), false).unwrap(),
                    ));
                    out.push((
                        format!("argmin {dt} {layout} {ax}"),
                        ops::argmin(&x, Some(ax), true).unwrap(),
                    ));
                }
                out.push((
                    format!("argmax {dt} {layout} all"),
                    ops::argmax(&x, None, false).unwrap(),
                ));
            }
        }
        let s = ops::reshape(&specials(), &[4, 4]).unwrap();
        for ax in [0isize, 1] {
            out.push((
                format!("argmax specials {ax}"),
                ops::argmax(&s, Some(ax), false).unwrap(),
            ));
            out.push((
                format!("argmin specials {ax}"),
                ops::argmin(&s, Some(ax), false).unwrap(),
            ));
        }
        let long = rand(&[3, 5000], Dtype::Float32, -1.0, 1.0, 77);
        out.push((
            "argmax long rows".into(),
            ops::argmax(&long, Some(1), false).unwrap(),
        ));
        out
    });
}

#[test]
fn softmax_and_logsumexp_match_the_cpu() {
    compare_with("softmax_and_logsumexp_match_the_cpu", reduce_tol, || {
        let mut out = Vec::new();
        let axes_list: Vec<Vec<isize>> = vec![vec![-1], vec![1], vec![0, 2]];
        for (i, dt) in [
            Dtype::Float32,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float64,
            Dtype::Int32,
            Dtype::Complex64,
        ]
        .into_iter()
        .enumerate()
        {
            for (layout, x) in layouts(&[4, 7, 300], dt, -5.0, 5.0, 900 + i as u64) {
                for axes in &axes_list {
                    for precise in [false, true] {
                        out.push((
                            format!("softmax {dt} {layout} {axes:?} precise={precise}"),
                            ops::softmax(&x, Some(axes), precise).unwrap(),
                        ));
                    }
                    out.push((
                        format!("logsumexp {dt} {layout} {axes:?}"),
                        ops::logsumexp(&x, Some(axes), false).unwrap(),
                    ));
                }
            }
            let long = rand(&[3, 20000], dt, -5.0, 5.0, 950 + i as u64);
            out.push((
                format!("softmax {dt} long"),
                ops::softmax(&long, Some(&[-1]), false).unwrap(),
            ));
            out.push((
                format!("logsumexp {dt} long"),
                ops::logsumexp(&long, Some(&[-1]), true).unwrap(),
            ));
        }
        // Rows of -inf, +inf and NaN.
        let n = f64::NAN;
        let (i, m) = (f64::INFINITY, f64::NEG_INFINITY);
        let rows = Array::from_slice(
            &[
                m, m, m, m, //
                1.0, m, 2.0, m, //
                i, 1.0, 2.0, 3.0, //
                n, 1.0, 2.0, 3.0, //
                i, m, 0.0, n, //
                i, i, 0.0, 1.0,
            ],
            &[6, 4],
        )
        .unwrap();
        for dt in [Dtype::Float32, Dtype::Float16, Dtype::Float64] {
            let r = rows.astype(dt).unwrap();
            out.push((
                format!("softmax {dt} specials"),
                ops::softmax(&r, Some(&[-1]), true).unwrap(),
            ));
            out.push((
                format!("logsumexp {dt} specials"),
                ops::logsumexp(&r, Some(&[-1]), false).unwrap(),
            ));
        }
        out
    });
}

/// Tolerances for matrix products (accumulation order differs).
fn matmul_tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float16 => (4e-3, 1e-2),
        Dtype::Bfloat16 => (2e-2, 6e-2),
        Dtype::Float32 | Dtype::Complex64 => (1e-4, 1e-4),
        Dtype::Float64 => (1e-12, 1e-12),
        _ => (0.0, 0.0),
    }
}

#[test]
fn matmul_matches_the_cpu() {
    compare_with("matmul_matches_the_cpu", matmul_tol, || {
        let mut out = Vec::new();
        let (m, k, n) = (33, 65, 17);
        for (i, dt) in [
            Dtype::Float32,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float64,
            Dtype::Complex64,
        ]
        .into_iter()
        .enumerate()
        {
            let s = 1000 + 20 * i as u64;
            let a = rand(&[m, k], dt, -1.0, 1.0, s);
            let b = rand(&[k, n], dt, -1.0, 1.0, s + 1);
            let at = ops::transpose(&rand(&[k, m], dt, -1.0, 1.0, s + 2)).unwrap();
            let bt = ops::transpose(&rand(&[n, k], dt, -1.0, 1.0, s + 3)).unwrap();
            let a3 = rand(&[3, m, k], dt, -1.0, 1.0, s + 4);
            let b3 = rand(&[3, k, n], dt, -1.0, 1.0, s + 5);
            let a4 = rand(&[2, 1, m, k], dt, -1.0, 1.0, s + 6);
            let big = rand(&[m, 2 * k], dt, -1.0, 1.0, s + 7);
            let sliced = ops::slice(&big, &[0, 0], &[m as isize, 2 * k as isize], &[1, 2]).unwrap();
            let v = rand(&[k], dt, -1.0, 1.0, s + 8);
            let bt3 =
                ops::transpose_axes(&rand(&[3, n, k], dt, -1.0, 1.0, s + 9), &[0, 2, 1]).unwrap();
            let b5 =
                ops::transpose_axes(&rand(&[k, 3, n], dt, -1.0, 1.0, s + 10), &[1, 0, 2]).unwrap();
            let cases: Vec<(&str, &Array, &Array)> = vec![
                ("plain", &a, &b),
                ("a transposed", &at, &b),
                ("b transposed", &a, &bt),
                ("both transposed", &at, &bt),
                ("batched", &a3, &b3),
                ("broadcast batch", &a4, &b3),
                ("shared b", &a3, &b),
                ("shared a", &a, &b3),
                ("sliced a", &sliced, &b),
                ("vector-matrix", &v, &b),
                ("matrix-vector", &at, &v),
                ("batched b transposed", &a3, &bt3),
                ("batch axis not outermost", &a3, &b5),
            ];
            for (name, x, y) in cases {
                out.push((format!("matmul {dt} {name}"), ops::matmul(x, y).unwrap()));
            }
            let c = rand(&[m, n], dt, -1.0, 1.0, s + 11);
            let crow = rand(&[n], dt, -1.0, 1.0, s + 12);
            out.push((
                format!("addmm {dt}"),
                ops::addmm(&c, &a, &b, 0.5, 2.0).unwrap(),
            ));
            out.push((
                format!("addmm {dt} broadcast c batched"),
                ops::addmm(&crow, &a3, &bt, 1.5, -1.0).unwrap(),
            ));
            out.push((
                format!("addmm {dt} beta 0"),
                ops::addmm(&c, &at, &b, 2.0, 0.0).unwrap(),
            ));
            let e = rand(&[m, 0], dt, -1.0, 1.0, s + 13);
            let e2 = rand(&[0, n], dt, -1.0, 1.0, s + 14);
            out.push((format!("matmul {dt} k=0"), ops::matmul(&e, &e2).unwrap()));
        }
        // A larger product.
        let a = rand(&[256, 512], Dtype::Float32, -1.0, 1.0, 5);
        let b = rand(&[512, 384], Dtype::Float32, -1.0, 1.0, 6);
        out.push((
            "matmul f32 256x512x384".into(),
            ops::matmul(&a, &b).unwrap(),
        ));
        out
    });
}
