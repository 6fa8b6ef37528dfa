//! Sorting on the GPU compared with the CPU: sort and argsort (stable, so indices must
//! be equal) for every dtype, along the last and a middle axis, of transposed/broadcast/
//! sliced inputs, rows from 1 element to several shared-memory tiles (the global merge
//! passes), with duplicates, NaN, ±inf and ±0; partitions (full sorts on the GPU, checked
//! through their kth element and sorted contents); searchsorted left and right.

use super::cuda_ops::{compare, layouts};
use crate::common::*;
use mlxr::{ops, Array, Dtype};

/// Values with many duplicates (and, for floats, NaN, ±inf, ±0) of `shape`.
fn dup_heavy(shape: &[usize], dt: Dtype, seed: u64) -> Array {
    let x = rand(shape, Dtype::Float64, -6.0, 6.0, seed);
    let x = ops::floor(&x).unwrap();
    if dt.is_floating() || dt == Dtype::Complex64 {
        // Sprinkle specials: every 7th NaN, every 11th +inf, every 13th -inf, every 5th -0.
        let n: usize = shape.iter().product();
        let mut v = x.to_vec::<f64>().unwrap();
        for (i, e) in v.iter_mut().enumerate().take(n) {
            if i % 7 == 3 {
                *e = f64::NAN;
            } else if i % 11 == 5 {
                *e = f64::INFINITY;
            } else if i % 13 == 6 {
                *e = f64::NEG_INFINITY;
            } else if i % 5 == 1 {
                *e = -0.0;
            }
        }
        Array::from_slice(&v, shape).unwrap().astype(dt).unwrap()
    } else {
        x.astype(dt).unwrap()
    }
}

#[test]
fn sort_and_argsort_match_the_cpu() {
    compare("sort_and_argsort_match_the_cpu", || {
        let mut out = Vec::new();
        for dt in Dtype::ALL {
            for (shape, axis) in [
                (vec![6usize, 5, 40], -1isize),
                (vec![6, 5, 40], 1),
                (vec![3, 4, 1], -1),
                (vec![2, 0, 5], -1),
            ] {
                for (name, x) in layouts(&shape, dt, -20.0, 20.0, 11) {
                    out.push((
                        format!("sort {dt} {shape:?} axis {axis} {name}"),
                        ops::sort(&x, Some(axis)).unwrap(),
                    ));
                    out.push((
                        format!("argsort {dt} {shape:?} axis {axis} {name}"),
                        ops::argsort(&x, Some(axis)).unwrap(),
                    ));
                }
            }
            // Duplicates and special values, stable ties.
            let d = dup_heavy(&[4, 300], dt, 5);
            out.push((format!("sort dup {dt}"), ops::sort(&d, Some(-1)).unwrap()));
            out.push((
                format!("argsort dup {dt}"),
                ops::argsort(&d, Some(-1)).unwrap(),
            ));
        }
        out
    });
}

#[test]
fn row_lengths_across_tile_sizes_match_the_cpu() {
    compare("row_lengths_across_tile_sizes_match_the_cpu", || {
        let mut out = Vec::new();
        for n in [
            1usize, 2, 3, 17, 255, 256, 257, 1000, 1024, 1025, 4100, 8192, 16384,
        ] {
            let x = rand(&[3, n], Dtype::Float32, -100.0, 100.0, n as u64);
            out.push((format!("sort n={n}"), ops::sort(&x, Some(-1)).unwrap()));
            out.push((
                format!("argsort n={n}"),
                ops::argsort(&x, Some(-1)).unwrap(),
            ));
        }
        for dt in [
            Dtype::Float32,
            Dtype::Int32,
            Dtype::Float64,
            Dtype::Bfloat16,
        ] {
            // Rows longer than a tile: block sort + merge passes (1, 2 and 3 passes).
            for n in [16385usize, 40000, 70001] {
                let x = dup_heavy(&[2, n], dt, n as u64);
                out.push((
                    format!("long sort {dt} n={n}"),
                    ops::sort(&x, Some(-1)).unwrap(),
                ));
                out.push((
                    format!("long argsort {dt} n={n}"),
                    ops::argsort(&x, Some(-1)).unwrap(),
                ));
            }
        }
        let flat = rand(&[300_000], Dtype::Float32, -1.0, 1.0, 3);
        out.push(("flat sort".into(), ops::sort(&flat, None).unwrap()));
        out.push(("flat argsort".into(), ops::argsort(&flat, None).unwrap()));
        out
    });
}

fn side(right: bool) -> &'static str {
    if right {
        "right"
    } else {
        "left"
    }
}

#[test]
fn partitions_and_searchsorted_match_the_cpu() {
    compare("partitions_and_searchsorted_match_the_cpu", || {
        let mut out = Vec::new();
        for dt in Dtype::ALL {
            let x = rand(&[5, 64], dt, -50.0, 50.0, 21);
            for kth in [0isize, 10, 63, -1] {
                let p = ops::partition(&x, kth, Some(-1)).unwrap();
                let ip = ops::argpartition(&x, kth, Some(-1)).unwrap();
                let k = kth.rem_euclid(64);
                let at = |a: &Array| ops::slice(a, &[0, k], &[5, k + 1], &[1, 1]).unwrap();
                // The kth element is the same on both devices; the rest is a permutation.
                out.push((format!("partition kth {dt} {kth}"), at(&p)));
                out.push((
                    format!("partition sorted {dt} {kth}"),
                    ops::sort(&p, Some(-1)).unwrap(),
                ));
                let vals = ops::take_along_axis(&x, &ip, Some(-1)).unwrap();
                out.push((format!("argpartition kth {dt} {kth}"), at(&vals)));
            }
            if dt != Dtype::Complex64 {
                let a = ops::sort(&rand(&[200], dt, -30.0, 30.0, 1), None).unwrap();
                let v = rand(&[3, 50], dt, -35.0, 35.0, 2);
                let vt = ops::transpose(&rand(&[50, 3], dt, -35.0, 35.0, 3)).unwrap();
                for right in [false, true] {
                    out.push((
                        format!("searchsorted {dt} right={right}"),
                        ops::searchsorted(&a, &v, side(right)).unwrap(),
                    ));
                    out.push((
                        format!("searchsorted transposed {dt} right={right}"),
                        ops::searchsorted(&a, &vt, side(right)).unwrap(),
                    ));
                }
            }
        }
        out
    });
}
