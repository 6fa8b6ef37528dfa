//! The shape copies on the GPU (concatenate, pad in every mode, tile, repeat, roll, diag)
//! compared with the CPU, which they must equal exactly: every dtype, contiguous,
//! transposed, broadcast and sliced (strided, reversed) inputs read in place, empty
//! inputs and outputs. Every test skips (with a message) when no GPU is usable.

use crate::common::*;
use crate::cuda_ops::{compare_with, layouts};
use mlxr::ops::PadMode;
use mlxr::{ops, Array, Dtype};

fn exact(_: Dtype) -> (f64, f64) {
    (0.0, 0.0)
}

/// A reversed view (negative strides) of a random [3, 4, 5] array.
fn reversed(dt: Dtype, seed: u64) -> Array {
    let x = rand(&[3, 4, 5], dt, -50.0, 50.0, seed);
    ops::slice(&x, &[2, 3, 4], &[-4, -5, -6], &[-1, -1, -1]).unwrap()
}

fn inputs(dt: Dtype, seed: u64) -> Vec<(String, Array)> {
    let mut v = layouts(&[3, 4, 5], dt, -50.0, 50.0, seed);
    v.push(("reversed".into(), reversed(dt, seed + 7)));
    v
}

#[test]
fn gpu_concatenate_matches_cpu() {
    compare_with("gpu_concatenate_matches_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in Dtype::ALL {
            let xs: Vec<Array> = inputs(dt, 100).into_iter().map(|p| p.1).collect();
            for axis in 0..3 {
                v.push((
                    format!("{dt} all layouts axis {axis}"),
                    ops::concatenate(&xs, axis).unwrap(),
                ));
            }
            let a = rand(&[3, 4, 5], dt, -50.0, 50.0, 1);
            let b = rand(&[3, 2, 5], dt, -50.0, 50.0, 2);
            let e = rand(&[3, 0, 5], dt, -50.0, 50.0, 3);
            v.push((
                format!("{dt} sizes and empty axis 1"),
                ops::concatenate(&[a.clone(), e.clone(), b, e], 1).unwrap(),
            ));
            v.push((
                format!("{dt} contiguous axis 0"),
                ops::concatenate(&[a.clone(), a.clone()], 0).unwrap(),
            ));
            let z = rand(&[0, 4, 5], dt, 0.0, 1.0, 4);
            v.push((
                format!("{dt} all empty"),
                ops::concatenate(&[z.clone(), z], 0).unwrap(),
            ));
            let wide = rand(&[64, 600], dt, -50.0, 50.0, 6);
            let narrow = rand(&[64, 3], dt, -50.0, 50.0, 7);
            v.push((
                format!("{dt} contiguous rows axis 1"),
                ops::concatenate(&[wide.clone(), narrow, wide], 1).unwrap(),
            ));
            let big = rand(&[257, 129], dt, -50.0, 50.0, 5);
            let bt = ops::transpose_axes(&big, &[1, 0]).unwrap();
            v.push((
                format!("{dt} large mixed"),
                ops::concatenate(&[bt.clone(), bt], 1).unwrap(),
            ));
        }
        v
    });
}

#[test]
fn gpu_pad_matches_cpu() {
    compare_with("gpu_pad_matches_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        let modes = [
            PadMode::Constant,
            PadMode::Edge,
            PadMode::Reflect,
            PadMode::Symmetric,
        ];
        for dt in Dtype::ALL {
            for (name, x) in inputs(dt, 200) {
                for mode in modes {
                    let p = ops::pad(&x, &[(1, 2), (0, 3), (2, 0)], mode, 7).unwrap();
                    v.push((format!("{dt} {name} {mode:?}"), p));
                    let w = ops::pad(&x, &[(2, 2), (3, 3), (4, 4)], mode, 1).unwrap();
                    v.push((format!("{dt} {name} {mode:?} wide"), w));
                }
            }
            let e = rand(&[0, 3], dt, 0.0, 1.0, 3);
            v.push((
                format!("{dt} empty constant"),
                ops::pad(&e, &[(1, 1), (1, 2)], PadMode::Constant, 5).unwrap(),
            ));
            let s = rand(&[1, 7], dt, -5.0, 5.0, 4);
            for mode in modes {
                v.push((
                    format!("{dt} single row {mode:?}"),
                    ops::pad(&s, &[(3, 2), (0, 0)], mode, 2).unwrap(),
                ));
            }
            let big = rand(&[300, 257], dt, -5.0, 5.0, 5);
            v.push((
                format!("{dt} large reflect"),
                ops::pad(&big, &[(5, 7), (100, 3)], PadMode::Reflect, 0).unwrap(),
            ));
        }
        v
    });
}

#[test]
fn gpu_tile_repeat_roll_diag_match_cpu() {
    compare_with("gpu_tile_repeat_roll_diag_match_cpu", exact, || {
        let mut v: Vec<(String, Array)> = Vec::new();
        for dt in Dtype::ALL {
            for (name, x) in inputs(dt, 300) {
                let t = |r: &[usize]| ops::tile(&x, r).unwrap();
                v.push((format!("{dt} {name} tile 2,1,3"), t(&[2, 1, 3])));
                v.push((format!("{dt} {name} tile 2"), t(&[2])));
                v.push((format!("{dt} {name} tile 2,1,1,2"), t(&[2, 1, 1, 2])));
                v.push((format!("{dt} {name} tile 0"), t(&[1, 0, 1])));
                for axis in 0..3 {
                    let r = ops::repeat(&x, 3, Some(axis)).unwrap();
                    v.push((format!("{dt} {name} repeat axis {axis}"), r));
                }
                v.push((
                    format!("{dt} {name} repeat flat"),
                    ops::repeat(&x, 2, None).unwrap(),
                ));
                v.push((
                    format!("{dt} {name} roll 2,-7"),
                    ops::roll(&x, &[2, -7], Some(&[0, 2])).unwrap(),
                ));
                v.push((
                    format!("{dt} {name} roll flat 13"),
                    ops::roll(&x, &[13], None).unwrap(),
                ));
                v.push((
                    format!("{dt} {name} roll all"),
                    ops::roll(&x, &[-1, 5, 123], Some(&[0, 1, 2])).unwrap(),
                ));
            }
            let a = rand(&[11], dt, -5.0, 5.0, 9);
            let strided = ops::slice(&rand(&[22], dt, -5.0, 5.0, 10), &[1], &[22], &[2]).unwrap();
            let rev = ops::slice(&a, &[10], &[-12], &[-1]).unwrap();
            for (name, x) in [
                ("contiguous", &a),
                ("strided", &strided),
                ("reversed", &rev),
            ] {
                for k in [0isize, 3, -2] {
                    v.push((format!("{dt} diag {name} k={k}"), ops::diag(x, k).unwrap()));
                }
            }
            let e = rand(&[0], dt, 0.0, 1.0, 11);
            v.push((format!("{dt} diag empty k=2"), ops::diag(&e, 2).unwrap()));
            v.push((format!("{dt} diag empty"), ops::diag(&e, 0).unwrap()));
            let one = rand(&[1], dt, -5.0, 5.0, 12);
            v.push((format!("{dt} diag one k=-1"), ops::diag(&one, -1).unwrap()));
            let z = rand(&[0, 3], dt, 0.0, 1.0, 13);
            v.push((
                format!("{dt} roll empty"),
                ops::roll(&z, &[1], Some(&[1])).unwrap(),
            ));
        }
        v
    });
}
