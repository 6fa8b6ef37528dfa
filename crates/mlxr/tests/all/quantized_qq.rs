//! `qqmm` and `gather_qqmm` against MLX's math: MLX's CPU does not evaluate its
//! `QQMatmul` ("NYI for the general case"), so the reference is MLX's own `quantize` /
//! `dequantize` followed by a NumPy matmul (through `common::numpy_batch`); the vjp follows
//! the graph MLX builds, and the errors are MLX's graph-construction checks. Registered as
//! `quantized_qq` so that `cargo test quantized` runs it.

use crate::common::*;
use mlxr::ops::{self, QuantizationMode};
use mlxr::{Array, Dtype};

/// Random weights with rows of different magnitudes.
fn fp_weights(rows: usize, k: usize, seed: u64) -> Array {
    let base = rand(&[rows, k], Dtype::Float32, -1.0, 1.0, seed);
    let scale = rand(&[rows, 1], Dtype::Float32, 0.05, 4.0, seed + 1);
    ops::multiply(&base, &scale).unwrap()
}

/// MLX code: `fq(a)` = MLX's `dequantize(quantize(a))` in float32 (mode `M`, optional
/// global scale `G`), the math of `qqmm` that MLX's CPU does not evaluate ("NYI").
const FQ: &str = "import mlx.core as mx\n\
def fq(a, G=None):\n    r = mx.quantize(mx.array(a), mode=M, global_scale=G)\n    \
return np.array(mx.dequantize(r[0], r[1], r[2] if len(r) > 2 else None, mode=M, \
global_scale=G, dtype=mx.float32))\n";

fn mode_name(m: QuantizationMode) -> String {
    m.to_string()
}

#[test]
fn qqmm_matches_mlx_math() {
    use QuantizationMode::*;
    let x = rand(&[8, 64], Dtype::Float32, -2.0, 2.0, 1);
    let x3 = rand(&[2, 3, 64], Dtype::Float32, -2.0, 2.0, 2);
    let xv = rand(&[64], Dtype::Float32, -2.0, 2.0, 3);
    let w = fp_weights(32, 64, 4);
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for mode in [Nvfp4, Mxfp8, Mxfp4, Affine] {
        for (xi, xa) in [&x, &x3, &xv].into_iter().enumerate() {
            let code = format!(
                "M = '{}'\n{FQ}xx = fq(x.reshape(-1, 64))\nout = (xx @ fq(w).T).reshape(x.shape[:-1] + (32,))",
                mode_name(mode)
            );
            cases.push((code, vec![("x", xa), ("w", &w)]));
            let y = ops::qqmm(xa, &w, None, None, None, mode, None, None).unwrap();
            ours.push((format!("{mode} x{xi}"), y));
        }
        if mode != Affine {
            // Packed weight.
            let (q, s, _) = ops::quantize(&w, None, None, mode).unwrap();
            let y = ops::qqmm(&x, &q, Some(&s), None, None, mode, None, None).unwrap();
            let code = format!("M = '{}'\n{FQ}out = fq(x) @ fq(w).T", mode_name(mode));
            cases.push((code, vec![("x", &x), ("w", &w)]));
            ours.push((format!("{mode} packed"), y));
        }
    }
    // nvfp4 with global scales, w unquantized and packed.
    let (gx, gw) = (Array::scalar(3.5f32), Array::scalar(7.0f32));
    let y = ops::qqmm(&x, &w, None, None, None, Nvfp4, Some(&gx), Some(&gw)).unwrap();
    let code = format!("M = 'nvfp4'\n{FQ}out = fq(x, mx.array(gx)) @ fq(w, mx.array(gw)).T");
    cases.push((
        code.clone(),
        vec![("x", &x), ("w", &w), ("gx", &gx), ("gw", &gw)],
    ));
    ours.push(("nvfp4 global".into(), y));
    let (q, s, _) = ops::quantize_with_global_scale(&w, None, None, Nvfp4, Some(&gw)).unwrap();
    let y = ops::qqmm(&x, &q, Some(&s), None, None, Nvfp4, Some(&gx), Some(&gw)).unwrap();
    cases.push((code, vec![("x", &x), ("w", &w), ("gx", &gx), ("gw", &gw)]));
    ours.push(("nvfp4 global packed".into(), y));
    let refs = numpy_batch(&cases);
    for ((what, y), r) in ours.iter().zip(&refs) {
        assert_eq!(y.dtype(), Dtype::Float32, "{what}");
        assert_close(y, &r[0], 1e-5, 1e-4, what);
    }
    // Output dtype follows x.
    let y = ops::qqmm(
        &x.astype(Dtype::Bfloat16).unwrap(),
        &w,
        None,
        None,
        None,
        Nvfp4,
        None,
        None,
    )
    .unwrap();
    assert_eq!(y.dtype(), Dtype::Bfloat16);
}

#[test]
fn qqmm_vjp_quantizes_the_cotangent() {
    use QuantizationMode::*;
    let x = rand(&[2, 16, 64], Dtype::Float32, -2.0, 2.0, 5);
    let w = fp_weights(32, 64, 6);
    let g = rand(&[2, 16, 32], Dtype::Float32, -1.0, 1.0, 7);
    for mode in [Nvfp4, Mxfp8] {
        let (_, grads) = mlxr::vjp(
            |a: &[Array]| {
                Ok(vec![ops::qqmm(
                    &a[0], &a[1], None, None, None, mode, None, None,
                )?])
            },
            &[x.clone(), w.clone()],
            std::slice::from_ref(&g),
        )
        .unwrap();
        let code = format!(
            "M = '{}'\n{FQ}g2 = g.reshape(-1, 32); x2 = x.reshape(-1, 64)\n\
             dx = (fq(g2) @ fq(np.ascontiguousarray(w.T)).T).reshape(x.shape)\n\
             dw = fq(np.ascontiguousarray(g2.T)) @ fq(np.ascontiguousarray(x2.T)).T\n\
             out = [dx, dw]",
            mode_name(mode)
        );
        let r = numpy(&code, &[("x", &x), ("w", &w), ("g", &g)]);
        assert_close(&grads[0], &r[0], 1e-5, 1e-4, &format!("{mode} dx"));
        assert_close(&grads[1], &r[1], 1e-5, 1e-4, &format!("{mode} dw"));
    }
    // A packed weight: only x gets a gradient.
    let (q, s, _) = ops::quantize(&w, None, None, Nvfp4).unwrap();
    let (_, grads) = mlxr::vjp(
        |a: &[Array]| {
            Ok(vec![ops::qqmm(
                &a[0],
                &q,
                Some(&s),
                None,
                None,
                Nvfp4,
                None,
                None,
            )?])
        },
        std::slice::from_ref(&x),
        std::slice::from_ref(&g),
    )
    .unwrap();
    assert_eq!(grads[0].shape(), x.shape());
}

#[test]
fn gather_qqmm_matches_mlx_math() {
    use QuantizationMode::*;
    let x = rand(&[3, 2, 64], Dtype::Float32, -2.0, 2.0, 8);
    let w = fp_weights(4 * 32, 64, 9).reshape(&[4, 32, 64]).unwrap();
    let lhs = Array::from_slice(&[0u32, 2, 1, 1], &[4]).unwrap();
    let rhs = Array::from_slice(&[3u32, 0, 1, 3], &[4]).unwrap();
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for mode in [Nvfp4, Mxfp8] {
        let y = ops::gather_qqmm(
            &x,
            &w,
            None,
            Some(&lhs),
            Some(&rhs),
            None,
            None,
            mode,
            None,
            None,
        )
        .unwrap();
        let code = format!(
            "M = '{}'\n{FQ}xx = fq(x.reshape(-1, 64)).reshape(x.shape)\n\
             ww = fq(w.reshape(-1, 64)).reshape(w.shape)\n\
             out = xx[lhs.astype(np.int64)] @ np.swapaxes(ww[rhs.astype(np.int64)], -1, -2)",
            mode_name(mode)
        );
        cases.push((
            code,
            vec![("x", &x), ("w", &w), ("lhs", &lhs), ("rhs", &rhs)],
        ));
        ours.push((format!("{mode}"), y));
        let (q, s, _) = ops::quantize(&w, None, None, mode).unwrap();
        let y = ops::gather_qqmm(
            &x,
            &q,
            Some(&s),
            Some(&lhs),
            Some(&rhs),
            None,
            None,
            mode,
            None,
            None,
        )
        .unwrap();
        cases.push((
            cases.last().unwrap().0.clone(),
            cases.last().unwrap().1.clone(),
        ));
        ours.push((format!("{mode} packed"), y));
    }
    let refs = numpy_batch(&cases);
    for ((what, y), r) in ours.iter().zip(&refs) {
        assert_eq!(y.shape(), &[4, 2, 32], "{what}");
        assert_close(y, &r[0], 1e-5, 1e-4, what);
    }
}

#[test]
fn qqmm_errors_as_mlx() {
    use QuantizationMode::*;
    let x = rand(&[4, 64], Dtype::Float32, -1.0, 1.0, 10);
    let w = rand(&[32, 64], Dtype::Float32, -1.0, 1.0, 11);
    let err = |r: mlxr::Result<Array>| r.unwrap_err().to_string();
    let e = err(ops::qqmm(
        &x,
        &rand(&[32, 63], Dtype::Float32, 0.0, 1.0, 1),
        None,
        None,
        None,
        Nvfp4,
        None,
        None,
    ));
    assert!(
        e.contains("Last dimension of first input with shape (4,64)"),
        "{e}"
    );
    let e = err(ops::qqmm(
        &x.astype(Dtype::Int32).unwrap(),
        &w,
        None,
        None,
        None,
        Nvfp4,
        None,
        None,
    ));
    assert!(e.contains("first argument dtype == int32"), "{e}");
    let w3 = rand(&[3, 32, 64], Dtype::Float32, 0.0, 1.0, 1);
    let e = err(ops::qqmm(&x, &w3, None, None, None, Nvfp4, None, None));
    assert!(e.contains("Only 2D inputs are supported"), "{e}");
    let g = Array::scalar(1.0f32);
    let e = err(ops::qqmm(&x, &w, None, None, None, Nvfp4, Some(&g), None));
    assert!(
        e.contains("either both global_scale_x and global_scale_w"),
        "{e}"
    );
    let e = err(ops::qqmm(&x, &w, None, None, None, Mxfp8, Some(&g), None));
    assert!(e.contains("only supported for 'nvfp4'"), "{e}");
    let g2 = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let e = err(ops::qqmm(
        &x,
        &w,
        None,
        None,
        None,
        Nvfp4,
        Some(&g2),
        Some(&g),
    ));
    assert!(
        e.contains("Global scale must be a scalar but got shape (2)"),
        "{e}"
    );
    let (q, s, _) = ops::quantize(&w, None, None, Nvfp4).unwrap();
    let e = err(ops::qqmm(&x, &q, None, None, None, Nvfp4, None, None));
    assert!(e.contains("Scales must be provided"), "{e}");
    assert!(ops::qqmm(&x, &q, Some(&s), None, None, Mxfp8, None, None)
        .and_then(|y| y.eval().map(|_| y))
        .is_err());
}
