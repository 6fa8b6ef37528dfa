//! The creation primitives on the GPU (full, zeros, ones, arange, linspace, eye, tri)
//! compared with the CPU, which they must equal bit for bit: every dtype, empty and 0-d
//! shapes, arange progressions that never round (parallel kernel) and that do (the
//! CPU's step-by-step accumulation), integer wrapping, half-precision overflow. Every
//! test skips (with a message) when no GPU is usable.

use crate::common::*;
use crate::cuda_ops::{compare_with, gpu_or_skip};
use mlxr::{ops, Array, Dtype};

fn exact(_: Dtype) -> (f64, f64) {
    (0.0, 0.0)
}

#[test]
fn gpu_full_matches_cpu() {
    compare_with("gpu_full_matches_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in Dtype::ALL {
            let f = |s: &[usize], x: i32| ops::full(s, x, Some(dt)).unwrap();
            v.push((format!("full 3 {dt}"), f(&[3, 5, 7], 3)));
            v.push((
                format!("zeros {dt}"),
                ops::zeros(&[1000, 33], Some(dt)).unwrap(),
            ));
            v.push((
                format!("ones odd {dt}"),
                ops::ones(&[17], Some(dt)).unwrap(),
            ));
            v.push((format!("ones 1 {dt}"), ops::ones(&[1], Some(dt)).unwrap()));
            v.push((format!("big {dt}"), f(&[70001], 1)));
            v.push((format!("empty {dt}"), f(&[0, 4], 1)));
            v.push((format!("0-d {dt}"), f(&[], 1)));
            let a = rand(&[1, 5], dt, -3.0, 3.0, 11);
            v.push((
                format!("broadcast array {dt}"),
                ops::full(&[4, 5], &a, None).unwrap(),
            ));
            let b = rand(&[5, 4], dt, -3.0, 3.0, 12).transpose(&[1, 0]).unwrap();
            v.push((
                format!("transposed array {dt}"),
                ops::full(&[4, 5], &b, None).unwrap(),
            ));
            let s = rand(&[1, 1], dt, -3.0, 3.0, 13);
            v.push((
                format!("one-element array {dt}"),
                ops::full(&[3, 9], &s, None).unwrap(),
            ));
        }
        v.push((
            "full nan f32".into(),
            ops::full(&[5], f32::NAN, Some(Dtype::Float32)).unwrap(),
        ));
        v
    });
}

#[test]
fn gpu_arange_matches_cpu() {
    compare_with("gpu_arange_matches_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in Dtype::ALL {
            if dt == Dtype::Bool {
                continue;
            }
            let r = |a: f64, b: f64, s: f64| ops::arange_range(a, b, s, Some(dt)).unwrap();
            let ri = |a: i32, b: i32, s: i32| ops::arange_range(a, b, s, Some(dt)).unwrap();
            v.push((format!("0..10 {dt}"), ri(0, 10, 1)));
            v.push((format!("-3..20 step 2 {dt}"), ri(-3, 20, 2)));
            v.push((format!("5..-5 step -1 {dt}"), ri(5, -5, -1)));
            v.push((format!("0..300 {dt}"), ri(0, 300, 1)));
            v.push((format!("empty {dt}"), ri(3, 3, 1)));
            v.push((format!("long {dt}"), ri(0, 100_003, 1)));
            if dt.is_inexact() {
                v.push((format!("0..1 step 0.1 {dt}"), r(0.0, 1.0, 0.1)));
                v.push((format!("-3.5..7 step 0.5 {dt}"), r(-3.5, 7.0, 0.5)));
                v.push((format!("0.25..3000 step 0.75 {dt}"), r(0.25, 3000.0, 0.75)));
                v.push((format!("1e8.. {dt}"), r(1e8, 1e8 + 50.0, 1.0)));
                v.push((format!("to 70000 step 7 {dt}"), r(1.0, 70000.0, 7.0)));
                v.push((format!("-1..1 step 1/3 {dt}"), r(-1.0, 1.0, 1.0 / 3.0)));
                v.push((format!("huge step {dt}"), r(0.0, 1e30, 1e29)));
                v.push((format!("tiny step {dt}"), r(0.0, 1e-6, 1e-7)));
                v.push((format!("long 0.5 {dt}"), r(-1000.0, 40000.0, 0.5)));
            }
        }
        v.push((
            "default int32".into(),
            ops::arange_range(2, 9, 3, None).unwrap(),
        ));
        v.push(("arange(7)".into(), ops::arange(7).unwrap()));
        v
    });
}

#[test]
fn gpu_linspace_eye_tri_match_cpu() {
    compare_with("gpu_linspace_eye_tri_match_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in Dtype::ALL {
            let l = |a: f64, b: f64, n: usize| ops::linspace(a, b, n, Some(dt)).unwrap();
            v.push((format!("linspace 0..1 x50 {dt}"), l(0.0, 1.0, 50)));
            v.push((format!("linspace -5..5 x1 {dt}"), l(-5.0, 5.0, 1)));
            v.push((format!("linspace 3..-2 x7 {dt}"), l(3.0, -2.0, 7)));
            v.push((format!("linspace empty {dt}"), l(0.0, 1.0, 0)));
            v.push((format!("linspace long {dt}"), l(-0.3, 1000.7, 100_001)));
            for k in [0isize, 2, -3, 10, -10] {
                let e = ops::eye(5, Some(7), k, Some(dt)).unwrap();
                v.push((format!("eye 5x7 k={k} {dt}"), e));
                let t = ops::tri(6, Some(4), k, Some(dt)).unwrap();
                v.push((format!("tri 6x4 k={k} {dt}"), t));
            }
            v.push((
                format!("eye 0 {dt}"),
                ops::eye(0, None, 0, Some(dt)).unwrap(),
            ));
            v.push((
                format!("identity 300 {dt}"),
                ops::identity(300, Some(dt)).unwrap(),
            ));
            v.push((
                format!("tri 1x0 {dt}"),
                ops::tri(1, Some(0), 0, Some(dt)).unwrap(),
            ));
        }
        v
    });
}

#[test]
fn gpu_creation_errors_are_errors() {
    let Some(gpu) = gpu_or_skip("gpu_creation_errors_are_errors") else {
        return;
    };
    mlxr::with_device(gpu, || {
        assert!(ops::arange_range(0, 5, 1, Some(Dtype::Bool)).is_err());
        assert!(ops::arange_range(0, 5, 0, None).is_err());
    });
}
