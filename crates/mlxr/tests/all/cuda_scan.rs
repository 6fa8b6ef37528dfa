//! The scans on the GPU (cumsum, cumprod, cummax, cummin, logcumsumexp; forward and
//! reverse, inclusive and exclusive, every axis) and convolve compared with the CPU:
//! every dtype, contiguous, transposed, broadcast, sliced and reversed inputs, empty
//! arrays, NaN and infinities, long rows (block-per-row kernel, many chunks) and long
//! columns. Integer, bool, max and min scans must be exact; float sums and products of
//! long rows are associated differently, so they get a tolerance. Every test skips (with
//! a message) when no GPU is usable.

use crate::common::*;
use crate::cuda_ops::{compare_with, gpu_or_skip, gpu_tol, layouts};
use mlxr::{ops, Array, Dtype};

type ScanFn = fn(&Array, Option<isize>, bool, bool) -> mlxr::Result<Array>;

fn scans() -> Vec<(&'static str, ScanFn, f64, f64)> {
    vec![
        ("cumsum", ops::cumsum, 0.0, 3.0),
        ("cumprod", ops::cumprod, 0.5, 1.5),
        ("cummax", ops::cummax, -50.0, 50.0),
        ("cummin", ops::cummin, -50.0, 50.0),
        ("logcumsumexp", ops::logcumsumexp, -3.0, 3.0),
    ]
}

/// Float scans may round differently from the CPU's sequential order.
fn scan_tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float16 => (1e-2, 1e-2),
        Dtype::Bfloat16 => (6e-2, 6e-2),
        Dtype::Float32 | Dtype::Complex64 => (2e-5, 2e-5),
        Dtype::Float64 => (1e-12, 1e-12),
        _ => (0.0, 0.0),
    }
}

#[test]
fn gpu_scans_match_cpu() {
    compare_with("gpu_scans_match_cpu", scan_tol, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for (op, f, lo, hi) in scans() {
            for dt in Dtype::ALL {
                let (lo, hi) = if dt.is_integer() && op == "cumprod" {
                    (-2.0, 3.0)
                } else {
                    (lo, hi)
                };
                let mut xs = layouts(&[3, 4, 5], dt, lo, hi, 7);
                let r = rand(&[3, 4, 5], dt, lo, hi, 8);
                let r = ops::slice(&r, &[2, 3, 4], &[-4, -5, -6], &[-1, -1, -1]).unwrap();
                xs.push(("reversed".into(), r));
                for (name, x) in &xs {
                    for axis in 0..3 {
                        for (rev, inc) in
                            [(false, true), (true, true), (false, false), (true, false)]
                        {
                            let y = f(x, Some(axis), rev, inc).unwrap();
                            v.push((
                                format!("{op} {dt} {name} axis {axis} rev {rev} incl {inc}"),
                                y,
                            ));
                        }
                    }
                }
                let x = rand(&[4, 33], dt, lo, hi, 9);
                v.push((format!("{op} {dt} flat"), f(&x, None, false, true).unwrap()));
                v.push((
                    format!("{op} {dt} rows 33"),
                    f(&x, Some(1), true, false).unwrap(),
                ));
                let e = rand(&[0, 4], dt, lo, hi, 10);
                v.push((
                    format!("{op} {dt} empty"),
                    f(&e, Some(1), false, true).unwrap(),
                ));
                let e = rand(&[3, 0], dt, lo, hi, 10);
                v.push((
                    format!("{op} {dt} empty axis"),
                    f(&e, Some(1), false, true).unwrap(),
                ));
                let s = rand(&[7], dt, lo, hi, 11);
                let s0 = ops::reshape_to(&ops::slice(&s, &[2], &[3], &[1]).unwrap(), &[]).unwrap();
                v.push((format!("{op} {dt} 0-d"), f(&s0, None, false, true).unwrap()));
            }
        }
        v
    });
}

#[test]
fn gpu_scans_of_specials_match_cpu() {
    compare_with("gpu_scans_of_specials_match_cpu", scan_tol, || {
        let vals = [
            1.0,
            f64::NAN,
            -2.0,
            f64::INFINITY,
            0.0,
            -0.0,
            f64::NEG_INFINITY,
            3.5,
            -7.25,
            f64::NAN,
            2.0,
            0.5,
        ];
        let base = Array::from_slice(&vals, &[2, 6]).unwrap();
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in [
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
        ] {
            let x = base.astype(dt).unwrap();
            for (op, f, _, _) in scans() {
                for axis in 0..2 {
                    for (rev, inc) in [(false, true), (true, false)] {
                        v.push((
                            format!("{op} {dt} specials axis {axis} rev {rev} incl {inc}"),
                            f(&x, Some(axis), rev, inc).unwrap(),
                        ));
                    }
                }
            }
        }
        v
    });
}

/// Tolerances of long float sums: the GPU adds thread-local runs and then across
/// threads, the CPU left to right.
fn long_tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float32 | Dtype::Complex64 => (1e-4, 1e-4),
        Dtype::Float64 => (1e-11, 1e-11),
        _ => scan_tol(dtype),
    }
}

#[test]
fn gpu_long_scans_match_cpu() {
    compare_with("gpu_long_scans_match_cpu", long_tol, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        let shapes: [(&[usize], isize); 5] = [
            (&[3, 5000], 1),
            (&[1, 100_003], 1),
            (&[300, 2000], 1),
            (&[5000, 3], 0),
            (&[2, 700, 33], 1),
        ];
        for (shape, axis) in shapes {
            for dt in [
                Dtype::Int32,
                Dtype::Int64,
                Dtype::Uint8,
                Dtype::Float32,
                Dtype::Float64,
                Dtype::Complex64,
            ] {
                let x = rand(shape, dt, 0.0, 1.0, 21);
                let xi = rand(shape, dt, -100.0, 100.0, 22);
                for (rev, inc) in [(false, true), (true, false)] {
                    let tag = format!("{dt} {shape:?} axis {axis} rev {rev} incl {inc}");
                    v.push((
                        format!("cumsum {tag}"),
                        ops::cumsum(&x, Some(axis), rev, inc).unwrap(),
                    ));
                    v.push((
                        format!("cummax {tag}"),
                        ops::cummax(&xi, Some(axis), rev, inc).unwrap(),
                    ));
                }
            }
            for dt in [Dtype::Float16, Dtype::Bfloat16, Dtype::Bool, Dtype::Int8] {
                let x = rand(shape, dt, -100.0, 100.0, 23);
                v.push((
                    format!("cummin {dt} {shape:?}"),
                    ops::cummin(&x, Some(axis), false, true).unwrap(),
                ));
                v.push((
                    format!("cummax {dt} {shape:?} rev"),
                    ops::cummax(&x, Some(axis), true, false).unwrap(),
                ));
            }
            let x = rand(shape, Dtype::Float32, -3.0, 3.0, 24);
            v.push((
                format!("logcumsumexp f32 {shape:?}"),
                ops::logcumsumexp(&x, Some(axis), false, true).unwrap(),
            ));
            let b = rand(shape, Dtype::Bool, -1.0, 1.0, 25);
            v.push((
                format!("cumsum bool {shape:?}"),
                ops::cumsum(&b, Some(axis), false, true).unwrap(),
            ));
        }
        v
    });
}

#[test]
fn gpu_convolve_matches_cpu() {
    compare_with("gpu_convolve_matches_cpu", gpu_tol, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in [
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
        ] {
            let a = rand(&[50], dt, -2.0, 2.0, 31);
            let w = rand(&[7], dt, -2.0, 2.0, 32);
            let strided = ops::slice(&rand(&[40], dt, -2.0, 2.0, 33), &[1], &[40], &[3]).unwrap();
            let rev = ops::slice(&w, &[6], &[-8], &[-1]).unwrap();
            let long = rand(&[3000], dt, -1.0, 1.0, 34);
            let one = rand(&[1], dt, -2.0, 2.0, 35);
            let cases = [
                ("plain", &a, &w),
                ("strided", &strided, &w),
                ("reversed", &a, &rev),
                ("swapped", &w, &a),
                ("long", &long, &a),
                ("one", &a, &one),
                ("one-one", &one, &one),
            ];
            for (name, x, y) in cases {
                for mode in ["full", "same", "valid"] {
                    v.push((
                        format!("{dt} {name} {mode}"),
                        ops::convolve(x, y, mode).unwrap(),
                    ));
                }
            }
        }
        v
    });
}

#[test]
fn gpu_scan_errors_are_errors() {
    let Some(gpu) = gpu_or_skip("gpu_scan_errors_are_errors") else {
        return;
    };
    mlxr::with_device(gpu, || {
        let i = rand(&[5], Dtype::Int32, 0.0, 5.0, 1);
        assert!(ops::convolve(&i, &i, "full").is_err());
        let e = rand(&[0], Dtype::Float32, 0.0, 5.0, 1);
        let f = rand(&[3], Dtype::Float32, 0.0, 5.0, 1);
        assert!(ops::convolve(&f, &e, "full").is_err());
        assert!(ops::cumsum(&f, Some(1), false, true).is_err());
    });
}
