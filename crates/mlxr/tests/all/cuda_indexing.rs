//! The indexing primitives on the GPU (gather / take, take_along_axis, scatter with every
//! reduction, put_along_axis / scatter_add_axis, slice updates, dynamic slices) compared
//! with the same ops on the CPU: every dtype, every index dtype, negative and
//! out-of-range indices, duplicates, contiguous / transposed / broadcast / sliced
//! inputs, empty arrays, the vectorised row paths. Results must be identical except
//! float sums and products over duplicate indices (atomics run in any order). Every
//! test skips (with a message) when no GPU is usable; `MLXR_CUDA_OPS_DRY=1` runs the
//! bodies on the CPU twice (to check the tests themselves anywhere).

use super::cuda_ops::gpu_or_skip;
use crate::common::*;
use mlxr::{ops, Array, Device, Dtype};

/// Run `body` on the CPU and on the GPU; compare each result with the tolerance `tol`
/// gives for its case name and dtype ((0, 0): identical values, NaN matching NaN).
pub fn compare_cases(
    test: &str,
    tol: impl Fn(&str, Dtype) -> (f64, f64),
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
        let (r, a) = tol(name, w.dtype());
        assert_close(g, w, r, a, &format!("{test}: {name}"));
    }
}

fn exact(_: &str, _: Dtype) -> (f64, f64) {
    (0.0, 0.0)
}

const INT_DTYPES: [Dtype; 8] = [
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
];

fn is_unsigned(d: Dtype) -> bool {
    matches!(
        d,
        Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 | Dtype::Uint64
    )
}

fn idx(v: &[i64], shape: &[usize], dt: Dtype) -> Array {
    Array::from_slice(v, shape).unwrap().astype(dt).unwrap()
}

/// A [r, c] input of `dt` in several layouts: contiguous, a transposed view, a strided
/// slice and a broadcast view.
fn layouts2(r: usize, c: usize, dt: Dtype, seed: u64) -> Vec<(&'static str, Array)> {
    let x = rand(&[r, c], dt, -8.0, 8.0, seed);
    let t = ops::transpose(&rand(&[c, r], dt, -8.0, 8.0, seed + 1)).unwrap();
    let s = rand(&[r, 2 * c], dt, -8.0, 8.0, seed + 2);
    let s = ops::slice(&s, &[0, 1], &[r as isize, 2 * c as isize], &[1, 2]).unwrap();
    let b = ops::broadcast_to(&rand(&[1, c], dt, -8.0, 8.0, seed + 3), &[r, c]).unwrap();
    vec![
        ("contiguous", x),
        ("transposed", t),
        ("sliced", s),
        ("broadcast", b),
    ]
}

#[test]
fn gpu_take_and_gather_every_dtype_layout_and_index_type() {
    compare_cases("gpu_take_and_gather", exact, || {
        let mut out = vec![];
        for (k, &dt) in Dtype::ALL.iter().enumerate() {
            for (lname, a) in layouts2(12, 8, dt, 10 + k as u64) {
                for (j, &it) in INT_DTYPES.iter().enumerate() {
                    // Negative and out-of-range indices (gathers clamp).
                    let v: Vec<i64> = if is_unsigned(it) {
                        vec![0, 11, 3, 3, 7, 200, 1]
                    } else {
                        vec![0, -1, 3, 3, -12, 100, -100]
                    };
                    let i = idx(&v, &[7], it);
                    let name = format!("{dt} {lname} take rows idx {it}");
                    out.push((name, ops::take(&a, &i, Some(0)).unwrap()));
                    if j % 3 == 0 {
                        let i2 = idx(&v[..6], &[2, 3], it);
                        let name = format!("{dt} {lname} take cols idx {it}");
                        out.push((name, ops::take(&a, &i2, Some(1)).unwrap()));
                        let name = format!("{dt} {lname} take flat idx {it}");
                        out.push((name, ops::take(&a, &i2, None).unwrap()));
                    }
                }
                // Two broadcast index arrays, windows of 1 x 3 (clamped to fit).
                let r = idx(&[0, 5, -1], &[3, 1], Dtype::Int32);
                let c = idx(&[0, 6, -2, 2], &[1, 4], Dtype::Int64);
                let name = format!("{dt} {lname} gather 2 arrays");
                out.push((name, ops::gather(&a, &[r, c], &[0, 1], &[1, 3]).unwrap()));
                // Empty index array.
                let e = idx(&[], &[0], Dtype::Int32);
                out.push((
                    format!("{dt} {lname} empty"),
                    ops::take(&a, &e, Some(0)).unwrap(),
                ));
            }
        }
        out
    });
}

#[test]
fn gpu_take_rows_vector_paths() {
    // Row sizes hitting the 16-, 8- and 4-byte vector paths and the scalar path, a
    // broadcast index array, a sliced (offset) table, and a table with > 2^16 rows.
    compare_cases("gpu_take_rows_vector_paths", exact, || {
        let mut out = vec![];
        for (dt, cols) in [
            (Dtype::Bfloat16, 4096),
            (Dtype::Bfloat16, 12),
            (Dtype::Float32, 6),
            (Dtype::Float32, 5),
            (Dtype::Uint8, 20),
            (Dtype::Complex64, 3),
            (Dtype::Float64, 7),
        ] {
            let t = rand(&[300, cols], dt, -4.0, 4.0, cols as u64);
            let i = rand(&[1000], Dtype::Int32, -300.0, 300.0, 7);
            out.push((
                format!("{dt} x {cols}"),
                ops::take(&t, &i, Some(0)).unwrap(),
            ));
            let s = ops::slice(&t, &[1, 0], &[300, cols as isize], &[1, 1]).unwrap();
            out.push((
                format!("{dt} x {cols} offset"),
                ops::take(&s, &i, Some(0)).unwrap(),
            ));
            let ib = ops::broadcast_to(&idx(&[5, -1, 2], &[1, 3], Dtype::Int64), &[4, 3]).unwrap();
            out.push((
                format!("{dt} x {cols} bcast idx"),
                ops::take(&t, &ib, Some(0)).unwrap(),
            ));
        }
        let big = rand(&[70000, 2], Dtype::Float32, -1.0, 1.0, 3);
        let i = rand(&[5000], Dtype::Int64, 0.0, 70000.0, 4);
        out.push(("big table".into(), ops::take(&big, &i, Some(0)).unwrap()));
        out
    });
}

#[test]
fn gpu_take_along_axis_every_dtype() {
    compare_cases("gpu_take_along_axis", exact, || {
        let mut out = vec![];
        for (k, &dt) in Dtype::ALL.iter().enumerate() {
            for (lname, a) in layouts2(6, 5, dt, 40 + k as u64) {
                for &it in &[Dtype::Int8, Dtype::Uint16, Dtype::Int32, Dtype::Int64] {
                    let i1 = rand(&[6, 9], it, 0.0, 5.0, 3);
                    let name = format!("{dt} {lname} axis 1 idx {it}");
                    out.push((name, ops::take_along_axis(&a, &i1, Some(1)).unwrap()));
                    let i0 = idx(
                        &[-1, 0, 9, -9, 2],
                        &[1, 5],
                        if is_unsigned(it) { Dtype::Int32 } else { it },
                    );
                    let name = format!("{dt} {lname} axis 0 idx {it}");
                    out.push((name, ops::take_along_axis(&a, &i0, Some(0)).unwrap()));
                }
                let it = ops::transpose(&rand(&[5, 6], Dtype::Int32, -5.0, 5.0, 9)).unwrap();
                let name = format!("{dt} {lname} transposed idx");
                out.push((name, ops::take_along_axis(&a, &it, Some(1)).unwrap()));
                let e = idx(&[], &[6, 0], Dtype::Int32);
                let name = format!("{dt} {lname} empty");
                out.push((name, ops::take_along_axis(&a, &e, Some(1)).unwrap()));
            }
        }
        out
    });
}

/// Float sums and products over duplicates may round differently (atomics).
fn scatter_tol(name: &str, dt: Dtype) -> (f64, f64) {
    if name.contains("sum") || name.contains("prod") {
        match dt {
            Dtype::Float16 => (4e-3, 4e-3),
            Dtype::Bfloat16 => (2e-2, 2e-2),
            Dtype::Float32 | Dtype::Complex64 => (1e-5, 1e-5),
            Dtype::Float64 => (1e-12, 1e-12),
            _ => (0.0, 0.0),
        }
    } else {
        (0.0, 0.0)
    }
}

#[test]
fn gpu_scatter_every_reduce_and_dtype() {
    compare_cases("gpu_scatter", scatter_tol, || {
        let mut out = vec![];
        for (k, &dt) in Dtype::ALL.iter().enumerate() {
            for (lname, a) in layouts2(6, 4, dt, 60 + k as u64) {
                // Duplicates, a negative index and out-of-range ones (dropped).
                let i = idx(&[0, 2, 0, -1, 2, 0, 6, -7, 5], &[9], Dtype::Int32);
                let u = rand(&[9, 1, 4], dt, 0.5, 2.0, 70 + k as u64);
                let ii = std::slice::from_ref(&i);
                let cases: [(&str, mlxr::Result<Array>); 5] = [
                    ("set", ops::scatter(&a, ii, &u, &[0])),
                    ("sum", ops::scatter_add(&a, ii, &u, &[0])),
                    ("prod", ops::scatter_prod(&a, ii, &u, &[0])),
                    ("max", ops::scatter_max(&a, ii, &u, &[0])),
                    ("min", ops::scatter_min(&a, ii, &u, &[0])),
                ];
                for (op, r) in cases {
                    if let Ok(r) = r {
                        out.push((format!("{dt} {lname} {op} rows"), r));
                    }
                }
                // Two index arrays (columns and rows), broadcast updates of a transposed view.
                let r = idx(&[1, 1, 3, -1], &[4, 1], Dtype::Int64);
                let c = idx(&[0, 3, 3], &[1, 3], Dtype::Uint8);
                let ub = ops::broadcast_to(&rand(&[1, 3, 1, 1], dt, 0.5, 2.0, 5), &[4, 3, 1, 1])
                    .unwrap();
                let rc = [r, c];
                let cases: [(&str, mlxr::Result<Array>); 3] = [
                    ("set", ops::scatter(&a, &rc, &ub, &[0, 1])),
                    ("sum", ops::scatter_add(&a, &rc, &ub, &[0, 1])),
                    ("max", ops::scatter_max(&a, &rc, &ub, &[0, 1])),
                ];
                for (op, r) in cases {
                    if let Ok(r) = r {
                        out.push((format!("{dt} {lname} {op} cells"), r));
                    }
                }
            }
            // Empty updates.
            let a = rand(&[3, 2], dt, 0.0, 3.0, 1);
            let e = idx(&[], &[0], Dtype::Int32);
            let ue = rand(&[0, 1, 2], dt, 0.0, 1.0, 2);
            out.push((
                format!("{dt} empty"),
                ops::scatter_add(&a, &[e], &ue, &[0]).unwrap(),
            ));
        }
        // Set with duplicates: the last update in row-major order wins, exactly, also
        // with many duplicates and overlapping-free windows of 2 columns.
        let big = rand(&[500, 300], Dtype::Float32, -1.0, 1.0, 52);
        let bi = idx(
            &(0..2000).map(|k| (k * 37 % 500) as i64).collect::<Vec<_>>(),
            &[2000],
            Dtype::Int32,
        );
        let bu = rand(&[2000, 1, 300], Dtype::Float32, -1.0, 1.0, 53);
        let bii = std::slice::from_ref(&bi);
        out.push((
            "big set".into(),
            ops::scatter(&big, bii, &bu, &[0]).unwrap(),
        ));
        out.push((
            "big sum".into(),
            ops::scatter_add(&big, bii, &bu, &[0]).unwrap(),
        ));
        out.push((
            "big max".into(),
            ops::scatter_max(&big, bii, &bu, &[0]).unwrap(),
        ));
        let w = rand(&[2000, 1, 2], Dtype::Float32, -1.0, 1.0, 54);
        let ci = rand(&[2000], Dtype::Int32, 0.0, 299.0, 55);
        let ri = rand(&[2000], Dtype::Int32, 0.0, 500.0, 56);
        let rc = [ri, ci];
        let w = ops::reshape(&w, &[2000, 1, 2]).unwrap();
        out.push((
            "2-wide set".into(),
            ops::scatter(&big, &rc, &w, &[0, 1]).unwrap(),
        ));
        out
    });
}

#[test]
fn gpu_scatter_add_half_rows_fast_path() {
    compare_cases("gpu_scatter_add_half_rows", scatter_tol, || {
        let mut out = vec![];
        for dt in [Dtype::Bfloat16, Dtype::Float16, Dtype::Float32] {
            let t = rand(&[256, 64], dt, -1.0, 1.0, 1);
            let i = rand(&[1000], Dtype::Int32, -256.0, 300.0, 2);
            let u = rand(&[1000, 1, 64], dt, -1.0, 1.0, 3);
            let ii = std::slice::from_ref(&i);
            out.push((
                format!("{dt} sum rows"),
                ops::scatter_add(&t, ii, &u, &[0]).unwrap(),
            ));
            // Non-contiguous updates take the general path.
            let ut =
                ops::transpose_axes(&rand(&[64, 1, 1000], dt, -1.0, 1.0, 4), &[2, 1, 0]).unwrap();
            out.push((
                format!("{dt} sum rows strided"),
                ops::scatter_add(&t, ii, &ut, &[0]).unwrap(),
            ));
        }
        out
    });
}

#[test]
fn gpu_put_along_axis_and_scatter_add_axis() {
    // Updates along the axis run in order on one thread: identical to the CPU.
    compare_cases("gpu_put_along_axis", exact, || {
        let mut out = vec![];
        for (k, &dt) in Dtype::ALL.iter().enumerate() {
            for (lname, a) in layouts2(5, 6, dt, 80 + k as u64) {
                let i = rand(&[5, 8], Dtype::Int16, -7.0, 7.0, 3);
                let v = rand(&[5, 8], dt, -3.0, 3.0, 4);
                let name = format!("{dt} {lname} put axis 1");
                out.push((name, ops::put_along_axis(&a, &i, &v, Some(1)).unwrap()));
                let name = format!("{dt} {lname} add axis 1");
                out.push((name, ops::scatter_add_axis(&a, &i, &v, Some(1)).unwrap()));
                let i0 = rand(&[3, 6], Dtype::Uint32, 0.0, 6.0, 5);
                let v0 = ops::broadcast_to(&rand(&[1, 6], dt, -3.0, 3.0, 6), &[3, 6]).unwrap();
                let name = format!("{dt} {lname} put axis 0");
                out.push((name, ops::put_along_axis(&a, &i0, &v0, Some(0)).unwrap()));
                let name = format!("{dt} {lname} add axis 0");
                out.push((name, ops::scatter_add_axis(&a, &i0, &v0, Some(0)).unwrap()));
            }
        }
        out
    });
}

#[test]
fn gpu_slice_updates_and_dynamic_slices() {
    compare_cases("gpu_slice_updates", exact, || {
        let mut out = vec![];
        for (k, &dt) in Dtype::ALL.iter().enumerate() {
            for (lname, a) in layouts2(7, 6, dt, 90 + k as u64) {
                let u = rand(&[3, 2], dt, 0.5, 2.0, 5);
                let cases: [(&str, mlxr::Result<Array>); 5] = [
                    ("set", ops::slice_update(&a, &u, &[1, 0], &[7, 6], &[2, 3])),
                    (
                        "add",
                        ops::slice_update_add(&a, &u, &[-1, 5], &[-7, 0], &[-2, -3]),
                    ),
                    (
                        "prod",
                        ops::slice_update_prod(&a, &u, &[0, 1], &[3, 3], &[1, 1]),
                    ),
                    (
                        "max",
                        ops::slice_update_max(&a, &u, &[4, 4], &[7, 6], &[1, 1]),
                    ),
                    (
                        "min",
                        ops::slice_update_min(&a, &u, &[2, 0], &[5, 6], &[1, 3]),
                    ),
                ];
                for (op, r) in cases {
                    out.push((format!("{dt} {lname} slice_update {op}"), r.unwrap()));
                }
                for (sv, it) in [
                    (vec![2i64, -3], Dtype::Int32),
                    (vec![9, 9], Dtype::Int64),
                    (vec![-100, 1], Dtype::Int8),
                ] {
                    let s = idx(&sv, &[2], it);
                    let name = format!("{dt} {lname} dynamic slice {sv:?}");
                    out.push((name, ops::slice_dynamic(&a, &s, &[0, 1], &[3, 2]).unwrap()));
                    let name = format!("{dt} {lname} dynamic update {sv:?}");
                    out.push((
                        name,
                        ops::slice_update_dynamic(&a, &u, &s, &[0, 1]).unwrap(),
                    ));
                }
                let s1 = idx(&[-2], &[1], Dtype::Uint16);
                let name = format!("{dt} {lname} dynamic slice one axis");
                out.push((name, ops::slice_dynamic(&a, &s1, &[1], &[7, 4]).unwrap()));
            }
        }
        out
    });
}

#[test]
fn gpu_indexing_bad_inputs_are_errors() {
    let Some(gpu) = gpu_or_skip("gpu_indexing_bad_inputs") else {
        return;
    };
    mlxr::with_device(gpu, || {
        let a = rand(&[4, 3], Dtype::Float32, 0.0, 1.0, 1);
        let f = Array::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
        let r = ops::take(&a, &f, Some(0)).and_then(|x| x.eval().map(|_| x));
        assert!(r.is_err(), "float indices must be an error");
        let r = ops::scatter(
            &a,
            std::slice::from_ref(&f),
            rand(&[2, 1, 3], Dtype::Float32, 0.0, 1.0, 2),
            &[0],
        )
        .and_then(|x| x.eval().map(|_| x));
        assert!(r.is_err(), "float scatter indices must be an error");
    });
}
