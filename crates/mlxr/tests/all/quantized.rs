//! Quantization (`quantize`, `dequantize`, `quantized_matmul`, `gather_qmm`) against MLX
//! itself (the `mlx` wheel run through `common::numpy_batch`): packed words bit for bit,
//! scales/biases and dequantized values exactly, products within float rounding; MLX's
//! errors; and the vjp / jvp / vmap rules of the quantization primitives.

use crate::common::*;
use crate::gradcheck::{check_tol, check_vmap, r64};
use mlxr::ops::{self, QuantizationMode};
use mlxr::{Array, Dtype};

const AFFINE: QuantizationMode = QuantizationMode::Affine;
const BITS: [u32; 7] = [1, 2, 3, 4, 5, 6, 8];

/// MLX code that turns the input `w` (float32 / float16 as saved) into `dt`.
fn mx_dtype(dt: Dtype) -> &'static str {
    match dt {
        Dtype::Float16 => "mx.float16",
        Dtype::Bfloat16 => "mx.bfloat16",
        _ => "mx.float32",
    }
}

/// Random weights with groups of different ranges and signs (some all-positive, some
/// constant).
fn weights(rows: usize, k: usize, dt: Dtype, seed: u64) -> Array {
    let base = rand(&[rows, k], Dtype::Float32, -1.0, 1.0, seed);
    let scale = rand(&[rows, 1], Dtype::Float32, 0.1, 3.0, seed + 1);
    let w = ops::multiply(&base, &scale).unwrap();
    // First 32 elements of row 0 positive, of row 1 constant.
    let mut v = w.to_vec::<f32>().unwrap();
    for x in v.iter_mut().take(32) {
        *x = x.abs() + 0.25;
    }
    if rows > 1 {
        for x in v.iter_mut().skip(k).take(32) {
            *x = 0.75;
        }
    }
    Array::from_slice(&v, &[rows, k])
        .unwrap()
        .astype(dt)
        .unwrap()
}

#[test]
fn quantize_and_dequantize_match_mlx_bitwise() {
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let mut inputs = Vec::new();
    for (di, dt) in [Dtype::Float32, Dtype::Float16, Dtype::Bfloat16]
        .into_iter()
        .enumerate()
    {
        for (bi, &bits) in BITS.iter().enumerate() {
            for (gi, g) in [32usize, 64, 128].into_iter().enumerate() {
                let seed = (di * 100 + bi * 10 + gi) as u64;
                inputs.push((dt, bits, g, weights(6, 256, dt, seed)));
            }
        }
    }
    for (dt, bits, g, w) in &inputs {
        let code = format!(
            "import mlx.core as mx\nwa = mx.array(w).astype({})\nq, s, b = mx.quantize(wa, {g}, {bits})\n\
             dq = mx.dequantize(q, s, b, {g}, {bits})\n\
             out = [np.array(q), np.array(s.astype(mx.float32)), np.array(b.astype(mx.float32)), np.array(dq.astype(mx.float32))]",
            mx_dtype(*dt)
        );
        cases.push((code, vec![("w", w)]));
        let (q, s, b) = ops::quantize(w, Some(*g), Some(*bits), AFFINE).unwrap();
        let b = b.unwrap();
        let d = ops::dequantize(&q, &s, Some(&b), Some(*g), Some(*bits), AFFINE, None).unwrap();
        assert_eq!(d.dtype(), *dt);
        assert_eq!(s.dtype(), *dt);
        ours.push((q, s, b, d));
    }
    let refs = numpy_batch(&cases);
    for ((dt, bits, g, _), ((q, s, b, d), r)) in inputs.iter().zip(ours.iter().zip(&refs)) {
        let what = format!("{dt:?} bits={bits} group={g}");
        assert_eq!(q.shape(), r[0].shape(), "{what}: packed shape");
        assert_eq!(
            q.to_vec::<u32>().unwrap(),
            r[0].to_vec::<u32>().unwrap(),
            "{what}: packed words"
        );
        for (name, a, want) in [
            ("scales", s, &r[1]),
            ("biases", b, &r[2]),
            ("dequantized", d, &r[3]),
        ] {
            assert_eq!(
                a.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap(),
                want.to_vec::<f32>().unwrap(),
                "{what}: {name}"
            );
        }
    }
}

#[test]
fn quantize_batched_and_strided_input() {
    // A 3-D input and a transposed (non-contiguous) view quantize like their copies.
    let w = weights(4, 128, Dtype::Float32, 7);
    let w3 = ops::reshape(&w, &[2, 2, 128]).unwrap();
    let (q3, s3, _) = ops::quantize(&w3, None, None, AFFINE).unwrap();
    let (q, s, _) = ops::quantize(&w, None, None, AFFINE).unwrap();
    assert_eq!(q3.shape(), &[2, 2, 16]);
    assert_eq!(q3.to_vec::<u32>().unwrap(), q.to_vec::<u32>().unwrap());
    assert_eq!(s3.to_vec::<f32>().unwrap(), s.to_vec::<f32>().unwrap());
    let wt = ops::transpose(&weights(128, 64, Dtype::Float32, 8)).unwrap();
    let wc = ops::contiguous(&wt).unwrap();
    let (a, _, _) = ops::quantize(&wt, Some(32), Some(3), AFFINE).unwrap();
    let (b, _, _) = ops::quantize(&wc, Some(32), Some(3), AFFINE).unwrap();
    assert_eq!(a.to_vec::<u32>().unwrap(), b.to_vec::<u32>().unwrap());
}

#[test]
fn quantized_matmul_matches_mlx() {
    struct Case {
        x: Array,
        w: Array,
        transpose: bool,
        bits: u32,
        g: usize,
        xcode: &'static str,
    }
    let mut cs = Vec::new();
    for (i, &bits) in BITS.iter().enumerate() {
        let g = [32, 64, 128][i % 3];
        // transpose=True: w (n, k), x (b, m, k).
        cs.push(Case {
            x: rand(&[2, 5, 256], Dtype::Float32, -1.0, 1.0, 40 + i as u64),
            w: weights(24, 256, Dtype::Float32, 50 + i as u64),
            transpose: true,
            bits,
            g,
            xcode: "x",
        });
        // transpose=False: w (k, n), x (m, k) given as a transposed view.
        let xt = rand(&[192, 3], Dtype::Float32, -1.0, 1.0, 60 + i as u64);
        cs.push(Case {
            x: ops::transpose(&xt).unwrap(),
            w: weights(192, 128, Dtype::Float32, 70 + i as u64),
            transpose: false,
            bits,
            g,
            xcode: "x",
        });
    }
    // Large enough to run in parallel; a vector x; float16.
    cs.push(Case {
        x: rand(&[33, 512], Dtype::Float32, -1.0, 1.0, 80),
        w: weights(300, 512, Dtype::Float32, 81),
        transpose: true,
        bits: 4,
        g: 64,
        xcode: "x",
    });
    cs.push(Case {
        x: rand(&[128], Dtype::Float32, -1.0, 1.0, 82),
        w: weights(128, 256, Dtype::Float32, 83),
        transpose: false,
        bits: 8,
        g: 128,
        xcode: "x",
    });
    cs.push(Case {
        x: rand(&[4, 128], Dtype::Float16, -1.0, 1.0, 84),
        w: weights(16, 128, Dtype::Float16, 85),
        transpose: true,
        bits: 4,
        g: 32,
        xcode: "x",
    });
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for c in &cs {
        let (q, s, b) = ops::quantize(&c.w, Some(c.g), Some(c.bits), AFFINE).unwrap();
        let out = ops::quantized_matmul(
            &c.x,
            &q,
            &s,
            b.as_ref(),
            c.transpose,
            Some(c.g),
            Some(c.bits),
            AFFINE,
        )
        .unwrap();
        let dt = mx_dtype(c.w.dtype());
        let code = format!(
            "import mlx.core as mx\nq, s, b = mx.quantize(mx.array(w).astype({dt}), {g}, {bits})\n\
             xa = mx.array({xc}).astype({xdt})\n\
             out = np.array(mx.quantized_matmul(xa, q, s, b, transpose={t}, group_size={g}, bits={bits}).astype(mx.float32))",
            g = c.g,
            bits = c.bits,
            xc = c.xcode,
            xdt = mx_dtype(c.x.dtype()),
            t = if c.transpose { "True" } else { "False" },
        );
        cases.push(code);
        ours.push(out);
    }
    let cases: Vec<(String, Vec<(&str, &Array)>)> = cases
        .into_iter()
        .zip(&cs)
        .map(|(code, c)| (code, vec![("w", &c.w), ("x", &c.x)]))
        .collect();
    let refs = numpy_batch(&cases);
    for ((c, got), r) in cs.iter().zip(&ours).zip(&refs) {
        let what = format!(
            "qmm bits={} g={} transpose={} x{:?}",
            c.bits,
            c.g,
            c.transpose,
            c.x.shape()
        );
        let (rt, at) = if c.x.dtype() == Dtype::Float16 {
            (1e-2, 1e-2)
        } else {
            (1e-4, 1e-4)
        };
        assert_eq!(got.dtype(), c.x.dtype(), "{what}: dtype");
        assert_close(&got.astype(Dtype::Float32).unwrap(), &r[0], rt, at, &what);
    }
}

#[test]
fn quantized_matmul_batched_weights_and_gather_qmm() {
    let w = rand(&[3, 1, 16, 128], Dtype::Float32, -1.0, 1.0, 90);
    let x = rand(&[2, 4, 128], Dtype::Float32, -1.0, 1.0, 91);
    let (q, s, b) = ops::quantize(&w, None, None, AFFINE).unwrap();
    let got = ops::quantized_matmul(&x, &q, &s, b.as_ref(), true, None, None, AFFINE).unwrap();
    assert_eq!(got.shape(), &[3, 2, 4, 16]);
    let e = rand(&[4, 16, 128], Dtype::Float32, -1.0, 1.0, 92);
    let (eq, es, eb) = ops::quantize(&e, Some(32), Some(2), AFFINE).unwrap();
    let x3 = rand(&[3, 2, 128], Dtype::Float32, -1.0, 1.0, 93);
    let lhs = Array::from_slice(&[0i32, 2], &[2]).unwrap();
    let rhs = Array::from_slice(&[1u32, 3], &[2, 1]).unwrap();
    let g1 = ops::gather_qmm(
        &x3,
        &eq,
        &es,
        eb.as_ref(),
        None,
        Some(&Array::from_slice(&[0i32, 3, 1], &[3]).unwrap()),
        true,
        Some(32),
        Some(2),
        AFFINE,
    )
    .unwrap();
    let g2 = ops::gather_qmm(
        &x3,
        &eq,
        &es,
        eb.as_ref(),
        Some(&lhs),
        Some(&rhs),
        true,
        Some(32),
        Some(2),
        AFFINE,
    )
    .unwrap();
    assert_eq!(g2.shape(), &[2, 2, 2, 16]);
    let refs = numpy(
        "import mlx.core as mx\nq, s, b = mx.quantize(mx.array(w))\n\
         o1 = mx.quantized_matmul(mx.array(x), q, s, b)\n\
         eq, es, eb = mx.quantize(mx.array(e), 32, 2)\n\
         o2 = mx.gather_qmm(mx.array(x3), eq, es, eb, rhs_indices=mx.array([0, 3, 1]), group_size=32, bits=2)\n\
         o3 = mx.gather_qmm(mx.array(x3), eq, es, eb, lhs_indices=mx.array([0, 2]), rhs_indices=mx.array([[1], [3]], dtype=mx.uint32), group_size=32, bits=2)\n\
         out = [np.array(o1), np.array(o2), np.array(o3)]",
        &[("w", &w), ("x", &x), ("e", &e), ("x3", &x3)],
    );
    assert_close(&got, &refs[0], 1e-4, 1e-4, "batched w");
    assert_close(&g1, &refs[1], 1e-4, 1e-4, "gather_qmm rhs");
    assert_close(&g2, &refs[2], 1e-4, 1e-4, "gather_qmm lhs+rhs");
}

fn msg<T>(r: mlxr::Result<T>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn quantization_errors() {
    let z = |s: &[usize], dt| ops::zeros(s, Some(dt)).unwrap();
    let f32 = Dtype::Float32;
    assert!(msg(ops::quantize(
        &z(&[4, 128], Dtype::Int32),
        None,
        None,
        AFFINE
    ))
    .contains("Only real floating types can be quantized but w has type int32."));
    assert!(msg(ops::quantize(&z(&[128], f32), None, None, AFFINE))
        .contains("must have at least 2 dimension but it has only 1"));
    assert!(msg(ops::quantize(&z(&[4, 100], f32), None, None, AFFINE))
        .contains("needs to be divisible by the quantization group size 64"));
    assert!(
        msg(ops::quantize(&z(&[4, 128], f32), Some(16), None, AFFINE))
            .contains("The requested group size 16 is not supported")
    );
    assert!(
        msg(ops::quantize(&z(&[4, 128], f32), None, Some(7), AFFINE))
            .contains("The requested number of bits 7 is not supported")
    );
    assert!(msg("fp3".parse::<QuantizationMode>()).contains("Invalid quantization mode"));
    let w = rand(&[8, 128], f32, -1.0, 1.0, 1);
    let (q, s, b) = ops::quantize(&w, None, None, AFFINE).unwrap();
    let b = b.unwrap();
    let x = rand(&[2, 128], f32, -1.0, 1.0, 2);
    let qmm = |x: &Array, q: &Array, s: &Array, b: Option<&Array>, t: bool, bits: Option<u32>| {
        ops::quantized_matmul(x, q, s, b, t, None, bits, AFFINE)
    };
    assert!(msg(qmm(&rand(&[2, 64], f32, 0.0, 1.0, 3), &q, &s, Some(&b), true, None))
        .contains("Last dimension of first input with shape (..., 64) does not match the expanded quantized matrix (128, 8)"));
    assert!(msg(qmm(&x, &q, &s, Some(&b), false, None))
        .contains("does not match the expanded quantized matrix (8, 128)"));
    assert!(msg(qmm(
        &x,
        &q.astype(Dtype::Int32).unwrap(),
        &s,
        Some(&b),
        true,
        None
    ))
    .contains("The weight matrix should be uint32 but received int32"));
    assert!(msg(qmm(&x, &q, &s, None, true, None))
        .contains("Biases must be provided for affine quantization."));
    let s1 = ops::slice(&s, &[0, 0], &[8, 1], &[1, 1]).unwrap();
    assert!(msg(qmm(&x, &q, &s1, Some(&b), true, None))
        .contains("Scales and biases should have the same shape. Received scales with shape (8,1) and biases with (8,2)"));
    assert!(msg(qmm(&x, &q, &s, Some(&b), true, Some(8)))
        .contains("The shapes of the weight and scales are incompatible"));
    assert!(msg(ops::dequantize(
        &q,
        &s,
        Some(&b),
        None,
        Some(3),
        AFFINE,
        None
    ))
    .contains("Shape of scales and biases does not match the matrix"));
    assert!(msg(ops::dequantize(&q, &s, None, None, None, AFFINE, None))
        .contains("[dequantize] Biases must be provided"));
    // No gradient flows to the packed weights.
    let qf = q.clone();
    let e = mlxr::vjp(
        |a| {
            Ok(vec![ops::quantized_matmul(
                &x,
                &a[0],
                &s,
                Some(&b),
                true,
                None,
                None,
                AFFINE,
            )?])
        },
        std::slice::from_ref(&qf),
        &[ops::ones(&[2, 8], None).unwrap()],
    );
    assert!(msg(e).contains("no gradient wrt the quantized weights"));
}

#[test]
fn quantized_gradients_match_mlx() {
    // Gradients wrt x, scales and biases, compared with MLX's.
    let w = rand(&[8, 128], Dtype::Float32, -1.0, 1.0, 11);
    let x = rand(&[3, 128], Dtype::Float32, -1.0, 1.0, 12);
    let (q, s, b) = ops::quantize(&w, None, Some(3), AFFINE).unwrap();
    let b = b.unwrap();
    let f = |a: &[Array]| -> mlxr::Result<Vec<Array>> {
        let y = ops::quantized_matmul(&a[0], &q, &a[1], Some(&a[2]), true, None, Some(3), AFFINE)?;
        Ok(vec![ops::sum(&ops::multiply(&y, &y)?, None, false)?])
    };
    let (_, g) = mlxr::vjp(
        f,
        &[x.clone(), s.clone(), b.clone()],
        &[ops::ones(&[], None).unwrap()],
    )
    .unwrap();
    let refs = numpy(
        "import mlx.core as mx\nq, s, b = mx.quantize(mx.array(w), 64, 3)\n\
         f = lambda x, s, b: (mx.quantized_matmul(x, q, s, b, bits=3) ** 2).sum()\n\
         out = [np.array(t) for t in mx.grad(f, argnums=(0, 1, 2))(mx.array(x), s, b)]",
        &[("w", &w), ("x", &x)],
    );
    for (i, name) in ["x", "scales", "biases"].iter().enumerate() {
        assert_close(&g[i], &refs[i], 1e-3, 1e-3, &format!("grad wrt {name}"));
    }
}

/// The quantization family's vjp / jvp checks (float64; the packed weights constant).
pub fn run_grad() {
    let w = r64(&[4, 64], -1.0, 1.0, 21);
    let (q, s, b) = ops::quantize(&w, Some(32), Some(4), AFFINE).unwrap();
    let b = b.unwrap();
    let x = r64(&[3, 64], -1.0, 1.0, 22);
    for transpose in [true, false] {
        let xx = if transpose {
            x.clone()
        } else {
            r64(&[2, 4], -1.0, 1.0, 23)
        };
        let qq = q.clone();
        check_tol(
            &format!("quantized_matmul transpose={transpose}"),
            &move |a| {
                Ok(vec![ops::quantized_matmul(
                    &a[0],
                    &qq,
                    &a[1],
                    Some(&a[2]),
                    transpose,
                    Some(32),
                    Some(4),
                    AFFINE,
                )?])
            },
            &[xx, s.clone(), b.clone()],
            1e-4,
            1e-5,
            1e-7,
        );
    }
    let qq = q.clone();
    check_tol(
        "dequantize",
        &move |a| {
            Ok(vec![ops::dequantize(
                &qq,
                &a[0],
                Some(&a[1]),
                Some(32),
                Some(4),
                AFFINE,
                None,
            )?])
        },
        &[s.clone(), b.clone()],
        1e-4,
        1e-5,
        1e-7,
    );
    for bits in [1u32, 3] {
        check_tol(
            &format!("quantize bits={bits}"),
            &move |a| {
                let (q, s, b) = ops::quantize(&a[0], Some(32), Some(bits), AFFINE)?;
                Ok(vec![q, s, b.unwrap()])
            },
            std::slice::from_ref(&w),
            1e-6,
            1e-4,
            1e-7,
        );
    }
}

/// The quantization family's vmap checks.
pub fn run_vmap() {
    let w = rand(&[3, 8, 64], Dtype::Float32, -1.0, 1.0, 31);
    check_vmap(
        "quantize",
        &|a| {
            let (q, s, b) = ops::quantize(&a[0], Some(32), Some(5), AFFINE)?;
            Ok(vec![q, s, b.unwrap()])
        },
        std::slice::from_ref(&w),
        &[Some(1)],
    );
    let (q, s, b) = ops::quantize(&w, Some(32), Some(5), AFFINE).unwrap();
    let b = b.unwrap();
    check_vmap(
        "dequantize",
        &|a| {
            Ok(vec![ops::dequantize(
                &a[0],
                &a[1],
                Some(&a[2]),
                Some(32),
                Some(5),
                AFFINE,
                None,
            )?])
        },
        &[q.clone(), s.clone(), b.clone()],
        &[Some(0), Some(0), Some(0)],
    );
    let x = rand(&[2, 4, 64], Dtype::Float32, -1.0, 1.0, 32);
    let (q0, s0, b0) = (
        ops::take(&q, &Array::scalar(0i32), Some(0)).unwrap(),
        ops::take(&s, &Array::scalar(0i32), Some(0)).unwrap(),
        ops::take(&b, &Array::scalar(0i32), Some(0)).unwrap(),
    );
    check_vmap(
        "quantized_matmul x batched",
        &|a| {
            Ok(vec![ops::quantized_matmul(
                &a[0],
                &a[1],
                &a[2],
                Some(&a[3]),
                true,
                Some(32),
                Some(5),
                AFFINE,
            )?])
        },
        &[x.clone(), q0, s0, b0],
        &[Some(1), None, None, None],
    );
    let x2 = rand(&[4, 64], Dtype::Float32, -1.0, 1.0, 33);
    check_vmap(
        "quantized_matmul w batched",
        &|a| {
            Ok(vec![ops::quantized_matmul(
                &a[0],
                &a[1],
                &a[2],
                Some(&a[3]),
                true,
                Some(32),
                Some(5),
                AFFINE,
            )?])
        },
        &[x2, q, s, b],
        &[None, Some(0), Some(0), Some(0)],
    );
}

#[test]
fn quantized_rules() {
    run_grad();
    run_vmap();
}
