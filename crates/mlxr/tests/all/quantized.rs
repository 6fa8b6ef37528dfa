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

// ---------------------------------------------------------------------------------------
// Microscaling float modes: mxfp4, mxfp8, nvfp4.
// ---------------------------------------------------------------------------------------

const FP_MODES: [QuantizationMode; 3] = [
    QuantizationMode::Mxfp4,
    QuantizationMode::Mxfp8,
    QuantizationMode::Nvfp4,
];

/// The special values placed alone in otherwise zero rows of [`fp_weights`].
const SPECIALS: [f32; 14] = [
    0.0,
    -0.0,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
    1e-45,
    1e-40,
    1e-38,
    3e38,
    -3.4e38,
    65504.0,
    1e-7,
    6e-8,
    -2.5e-5,
];

/// Weights for the float modes (`rows ≥ 40`, `k` a multiple of 32): rows of random values
/// whose magnitudes span 2^-40 .. 2^40, rows of exact ties (E2M1 and E4M3 midpoints at a
/// power-of-two scale whose group maximum sits on the largest code), rows with one special
/// value (zeros, infinities, NaN, subnormals, huge), an all-zero and an all-NaN row, and
/// a row of negative zeros and tiny negatives.
fn fp_weights(rows: usize, k: usize, seed: u64) -> Array {
    let mut r = Rng::new(seed);
    let mut v = vec![0.0f32; rows * k];
    let fp4_ties = [0.25f32, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 0.5, 3.0, 6.0];
    for row in 0..rows {
        let out = &mut v[row * k..(row + 1) * k];
        let e = (r.uniform(-40.0, 40.0)).floor() as i32;
        let scale = (2f32).powi(e);
        match row % 4 {
            0 | 1 => {
                for x in out.iter_mut() {
                    *x = r.uniform(-1.0, 1.0) as f32 * scale;
                }
            }
            2 => {
                // E2M1 ties: group maxima 6·2^e (mx) or an E4M3 scale (nv) times 6.
                for (j, x) in out.iter_mut().enumerate() {
                    let t = fp4_ties[(r.next_u64() % fp4_ties.len() as u64) as usize];
                    let s = if r.uniform(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
                    *x = if j % 16 == 0 {
                        6.0 * scale
                    } else {
                        s * t * scale
                    };
                }
            }
            _ => {
                // E4M3 ties: midpoints (1 + (2m+1)/16)·2^p around a group maximum 448·2^e.
                for (j, x) in out.iter_mut().enumerate() {
                    let m = (r.next_u64() % 8) as f32;
                    let p = (r.next_u64() % 14) as i32 - 7;
                    let s = if r.uniform(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
                    *x = if j % 32 == 0 {
                        448.0 * scale
                    } else {
                        s * (1.0 + (2.0 * m + 1.0) / 16.0) * (2f32).powi(p) * scale
                    };
                }
            }
        }
    }
    for (i, &sv) in SPECIALS.iter().enumerate() {
        let row = 4 + i;
        let out = &mut v[row * k..(row + 1) * k];
        out.fill(0.0);
        out[3] = sv;
        out[k - 1] = 0.5;
    }
    let base = 4 + SPECIALS.len();
    v[base * k..(base + 1) * k].fill(0.0);
    v[(base + 1) * k..(base + 2) * k].fill(f32::NAN);
    for (j, x) in v[(base + 2) * k..(base + 3) * k].iter_mut().enumerate() {
        *x = if j % 2 == 0 { -0.0 } else { -1e-30 };
    }
    Array::from_slice(&v, &[rows, k]).unwrap()
}

/// Assert equal shapes and values (NaN matching NaN; compared as float64).
fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_close(got, want, 0.0, 0.0, what);
}

#[test]
fn fp_quantize_and_dequantize_match_mlx_bitwise() {
    let mut inputs = Vec::new();
    for (mi, mode) in FP_MODES.into_iter().enumerate() {
        for (di, dt) in [Dtype::Float32, Dtype::Float16, Dtype::Bfloat16]
            .into_iter()
            .enumerate()
        {
            let w = fp_weights(64, 128, (mi * 10 + di) as u64 + 500);
            inputs.push((mode, dt, w));
        }
    }
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for (mode, dt, w) in &inputs {
        let code = format!(
            "import mlx.core as mx\nwa = mx.array(w).astype({dtc})\nq, s = mx.quantize(wa, mode='{mode}')\n\
             dq = mx.dequantize(q, s, mode='{mode}')\n\
             dq32 = mx.dequantize(q, s, mode='{mode}', dtype=mx.float32)\n\
             dq16 = mx.dequantize(q, s, mode='{mode}', dtype=mx.float16)\n\
             out = [np.array(q), np.array(s), np.array(dq.astype(mx.float32)), np.array(dq32), np.array(dq16)]",
            dtc = mx_dtype(*dt)
        );
        cases.push((code, vec![("w", w)]));
        let wd = w.astype(*dt).unwrap();
        let (q, s, b) = ops::quantize(&wd, None, None, *mode).unwrap();
        assert!(b.is_none(), "{mode}: no biases");
        assert_eq!(s.dtype(), Dtype::Uint8);
        let dq = |dt: Option<Dtype>| ops::dequantize(&q, &s, None, None, None, *mode, dt).unwrap();
        let d = dq(None);
        assert_eq!(d.dtype(), Dtype::Bfloat16, "{mode}: default output dtype");
        ours.push((
            q.clone(),
            s.clone(),
            d,
            dq(Some(Dtype::Float32)),
            dq(Some(Dtype::Float16)),
        ));
    }
    let refs = numpy_batch(&cases);
    for ((mode, dt, _), ((q, s, d, d32, d16), r)) in inputs.iter().zip(ours.iter().zip(&refs)) {
        let what = format!("{mode} {dt:?}");
        assert_eq!(q.shape(), r[0].shape(), "{what}: packed shape");
        assert_eq!(
            q.to_vec::<u32>().unwrap(),
            r[0].to_vec::<u32>().unwrap(),
            "{what}: packed words"
        );
        assert_eq!(
            s.to_vec::<u8>().unwrap(),
            r[1].to_vec::<u8>().unwrap(),
            "{what}: scales"
        );
        assert_same(
            &d.astype(Dtype::Float32).unwrap(),
            &r[2],
            &format!("{what}: dequantized"),
        );
        assert_same(d32, &r[3], &format!("{what}: dequantized float32"));
        assert_same(d16, &r[4], &format!("{what}: dequantized float16"));
    }
}

#[test]
fn fp_every_code_and_scale_dequantizes_like_mlx() {
    // All 256 scale bytes against every element code, into each float type.
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let mut keep = Vec::new();
    for mode in FP_MODES {
        let (g, bits) = mode.defaults();
        let per = 32 / bits as usize;
        let n_codes = 1usize << bits;
        let words: Vec<u32> = (0..256 * g / per)
            .map(|i| {
                (0..per).fold(0u32, |acc, j| {
                    let c = ((i * per + j) % n_codes) as u32;
                    acc | (c << (bits as usize * j))
                })
            })
            .collect();
        let q = Array::from_slice(&words, &[256, g / per]).unwrap();
        let sv: Vec<u8> = (0..=255u8).collect();
        let s = Array::from_slice(&sv, &[256, 1]).unwrap();
        for dt in [Dtype::Float32, Dtype::Float16, Dtype::Bfloat16] {
            let code = format!(
                "import mlx.core as mx\ndq = mx.dequantize(mx.array(q), mx.array(s), mode='{mode}', dtype={})\n\
                 out = np.array(dq.astype(mx.float32))",
                mx_dtype(dt)
            );
            cases.push(code);
            let d = ops::dequantize(&q, &s, None, None, None, mode, Some(dt)).unwrap();
            assert_eq!(d.dtype(), dt);
            ours.push((format!("{mode} {dt:?}"), d));
            keep.push((q.clone(), s.clone()));
        }
    }
    let cases: Vec<(String, Vec<(&str, &Array)>)> = cases
        .into_iter()
        .zip(&keep)
        .map(|(c, (q, s))| (c, vec![("q", q), ("s", s)]))
        .collect();
    let refs = numpy_batch(&cases);
    for ((what, d), r) in ours.iter().zip(&refs) {
        assert_same(&d.astype(Dtype::Float32).unwrap(), &r[0], what);
    }
}

#[test]
fn mxfp4_float64_matches_mlx_and_fp8_modes_follow_float32() {
    // MLX computes mxfp4 on float64 in float64; its fp8 conversions read float64 buffers
    // as float32 (garbage), where mlxr converts the values: for float32-exact inputs the
    // mxfp8 / nvfp4 results equal the float32 ones.
    let mut r = Rng::new(77);
    let v: Vec<f64> = (0..64 * 64)
        .map(|i| {
            let row = i / 64;
            let e = ((row * 37) % 1400) - 700;
            r.uniform(-1.0, 1.0) * (2f64).powi(e)
        })
        .collect();
    let mut v = v;
    v[5 * 64 + 3] = f64::NAN;
    v[6 * 64 + 1] = f64::INFINITY;
    v[7 * 64 + 2] = 5e-324;
    v[8 * 64 + 4] = 1.7e308;
    for x in v[9 * 64..10 * 64].iter_mut() {
        *x = 0.0;
    }
    let w = Array::from_slice(&v, &[64, 64]).unwrap();
    let mx4 = QuantizationMode::Mxfp4;
    let (q, s, _) = ops::quantize(&w, None, None, mx4).unwrap();
    let d = ops::dequantize(&q, &s, None, None, None, mx4, Some(Dtype::Float64)).unwrap();
    let refs = numpy(
        "import mlx.core as mx\nq, s = mx.quantize(mx.array(w, dtype=mx.float64), mode='mxfp4')\n\
         out = [np.array(q), np.array(s), np.array(mx.dequantize(q, s, mode='mxfp4', dtype=mx.float64))]",
        &[("w", &w)],
    );
    assert_eq!(q.to_vec::<u32>().unwrap(), refs[0].to_vec::<u32>().unwrap());
    assert_eq!(s.to_vec::<u8>().unwrap(), refs[1].to_vec::<u8>().unwrap());
    assert_same(&d, &refs[2], "mxfp4 float64 dequantize");
    // The random and tie rows (the special rows' subnormal group maxima round differently
    // in float32).
    let v32: Vec<f32> = fp_weights(48, 64, 9).to_vec::<f32>().unwrap()[24 * 64..].to_vec();
    let w32 = Array::from_slice(&v32, &[24, 64]).unwrap();
    let w64 = w32.astype(Dtype::Float64).unwrap();
    for mode in [QuantizationMode::Mxfp8, QuantizationMode::Nvfp4] {
        let (q32, s32, _) = ops::quantize(&w32, None, None, mode).unwrap();
        let (q64, s64, _) = ops::quantize(&w64, None, None, mode).unwrap();
        assert_eq!(
            q32.to_vec::<u32>().unwrap(),
            q64.to_vec::<u32>().unwrap(),
            "{mode}"
        );
        assert_eq!(
            s32.to_vec::<u8>().unwrap(),
            s64.to_vec::<u8>().unwrap(),
            "{mode}"
        );
        let d64 =
            ops::dequantize(&q64, &s64, None, None, None, mode, Some(Dtype::Float64)).unwrap();
        let d32 =
            ops::dequantize(&q32, &s32, None, None, None, mode, Some(Dtype::Float32)).unwrap();
        assert_same(
            &d64,
            &d32.astype(Dtype::Float64).unwrap(),
            &format!("{mode} f64"),
        );
    }
}

#[test]
fn nvfp4_global_scale_matches_mlx() {
    let w = fp_weights(48, 64, 31);
    let gss = [1.0f32, 0.37, 2688.0, 13.3, 1e4, 1e-6];
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    let nv = QuantizationMode::Nvfp4;
    let gs_arrays: Vec<Array> = gss.iter().map(|&g| Array::scalar(g)).collect();
    for (dt, gs) in [Dtype::Float32, Dtype::Bfloat16, Dtype::Float16]
        .into_iter()
        .flat_map(|d| gs_arrays.iter().map(move |g| (d, g)))
    {
        let code = format!(
            "import mlx.core as mx\ng = mx.array(gs)\nq, s = mx.quantize(mx.array(w).astype({dtc}), mode='nvfp4', global_scale=g)\n\
             dq = mx.dequantize(q, s, mode='nvfp4', global_scale=g)\n\
             dq2 = mx.dequantize(q, s, mode='nvfp4', global_scale=g, dtype=mx.float16)\n\
             out = [np.array(q), np.array(s), np.array(dq), np.array(dq2)]",
            dtc = mx_dtype(dt)
        );
        cases.push((code, vec![("w", &w), ("gs", gs)]));
        let wd = w.astype(dt).unwrap();
        let (q, s, _) = ops::quantize_with_global_scale(&wd, None, None, nv, Some(gs)).unwrap();
        let d = ops::dequantize_with_global_scale(&q, &s, None, None, None, nv, Some(gs), None)
            .unwrap();
        let d2 = ops::dequantize_with_global_scale(
            &q,
            &s,
            None,
            None,
            None,
            nv,
            Some(gs),
            Some(Dtype::Float16),
        )
        .unwrap();
        // MLX promotes the requested type with the float32 global scale.
        assert_eq!(d.dtype(), Dtype::Float32);
        assert_eq!(d2.dtype(), Dtype::Float32);
        ours.push((
            format!("{dt:?} gs={}", gs.item::<f32>().unwrap()),
            q,
            s,
            d,
            d2,
        ));
    }
    let refs = numpy_batch(&cases);
    for ((what, q, s, d, d2), r) in ours.iter().zip(&refs) {
        assert_eq!(
            q.to_vec::<u32>().unwrap(),
            r[0].to_vec::<u32>().unwrap(),
            "{what}"
        );
        assert_eq!(
            s.to_vec::<u8>().unwrap(),
            r[1].to_vec::<u8>().unwrap(),
            "{what}"
        );
        assert_same(d, &r[2], what);
        assert_same(d2, &r[3], what);
    }
}

#[test]
fn fp_quantized_matmul_matches_mlx() {
    struct Case {
        mode: QuantizationMode,
        x: Array,
        w: Array,
        transpose: bool,
        wdt: Dtype,
    }
    let mut cs = Vec::new();
    for (i, mode) in FP_MODES.into_iter().enumerate() {
        let s = i as u64 * 10 + 900;
        cs.push(Case {
            mode,
            x: rand(&[2, 5, 256], Dtype::Float32, -1.0, 1.0, s),
            w: rand(&[24, 256], Dtype::Float32, -1.0, 1.0, s + 1),
            transpose: true,
            wdt: Dtype::Float32,
        });
        // x (m, k) as a transposed view, w (k, n).
        cs.push(Case {
            mode,
            x: ops::transpose(&rand(&[96, 3], Dtype::Float32, -1.0, 1.0, s + 2)).unwrap(),
            w: rand(&[96, 64], Dtype::Float32, -2.0, 2.0, s + 3),
            transpose: false,
            wdt: Dtype::Float32,
        });
        // Large enough to run in parallel.
        cs.push(Case {
            mode,
            x: rand(&[33, 512], Dtype::Float32, -1.0, 1.0, s + 4),
            w: rand(&[300, 512], Dtype::Float32, -1.0, 1.0, s + 5),
            transpose: true,
            wdt: Dtype::Float32,
        });
        // A vector; float16 and bfloat16 inputs.
        cs.push(Case {
            mode,
            x: rand(&[64], Dtype::Float32, -1.0, 1.0, s + 6),
            w: rand(&[64, 96], Dtype::Float32, -1.0, 1.0, s + 7),
            transpose: false,
            wdt: Dtype::Float32,
        });
        for dt in [Dtype::Float16, Dtype::Bfloat16] {
            cs.push(Case {
                mode,
                x: rand(&[4, 128], dt, -1.0, 1.0, s + 8),
                w: rand(&[16, 128], Dtype::Float32, -1.0, 1.0, s + 9),
                transpose: true,
                wdt: dt,
            });
            cs.push(Case {
                mode,
                x: rand(&[4, 32], dt, -1.0, 1.0, s + 8),
                w: rand(&[32, 64], Dtype::Float32, -1.0, 1.0, s + 9),
                transpose: false,
                wdt: dt,
            });
        }
    }
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for c in &cs {
        let (q, s, _) = ops::quantize(&c.w.astype(c.wdt).unwrap(), None, None, c.mode).unwrap();
        let out =
            ops::quantized_matmul(&c.x, &q, &s, None, c.transpose, None, None, c.mode).unwrap();
        assert_eq!(out.dtype(), c.x.dtype());
        let code = format!(
            "import mlx.core as mx\nq, s = mx.quantize(mx.array(w).astype({wdt}), mode='{m}')\n\
             xa = mx.array(x).astype({xdt})\n\
             out = np.array(mx.quantized_matmul(xa, q, s, transpose={t}, mode='{m}').astype(mx.float32))",
            m = c.mode,
            wdt = mx_dtype(c.wdt),
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
            "{} transpose={} x{:?} {:?}",
            c.mode,
            c.transpose,
            c.x.shape(),
            c.x.dtype()
        );
        let (rt, at) = match c.x.dtype() {
            Dtype::Float16 => (1e-2, 2e-2),
            Dtype::Bfloat16 => (3e-2, 1e-1),
            _ => (1e-4, 1e-4),
        };
        assert_close(&got.astype(Dtype::Float32).unwrap(), &r[0], rt, at, &what);
    }
}

#[test]
fn fp_batched_weights_gather_qmm_and_gradients() {
    let w = rand(&[3, 1, 16, 128], Dtype::Float32, -1.0, 1.0, 990);
    let x = rand(&[2, 4, 128], Dtype::Float32, -1.0, 1.0, 991);
    let e = rand(&[4, 16, 64], Dtype::Float32, -1.0, 1.0, 992);
    let x3 = rand(&[3, 2, 64], Dtype::Float32, -1.0, 1.0, 993);
    let lhs = Array::from_slice(&[0i32, 2], &[2]).unwrap();
    let rhs = Array::from_slice(&[1u32, 3], &[2, 1]).unwrap();
    let rhs3 = Array::from_slice(&[0i32, 3, 1], &[3]).unwrap();
    let xg = rand(&[3, 128], Dtype::Float32, -1.0, 1.0, 994);
    let wg = rand(&[8, 128], Dtype::Float32, -1.0, 1.0, 995);
    for mode in FP_MODES {
        let (q, s, _) = ops::quantize(&w, None, None, mode).unwrap();
        let got = ops::quantized_matmul(&x, &q, &s, None, true, None, None, mode).unwrap();
        assert_eq!(got.shape(), &[3, 2, 4, 16]);
        let (eq, es, _) = ops::quantize(&e, None, None, mode).unwrap();
        let g1 = ops::gather_qmm(
            &x3,
            &eq,
            &es,
            None,
            None,
            Some(&rhs3),
            true,
            None,
            None,
            mode,
        )
        .unwrap();
        let g2 = ops::gather_qmm(
            &x3,
            &eq,
            &es,
            None,
            Some(&lhs),
            Some(&rhs),
            true,
            None,
            None,
            mode,
        )
        .unwrap();
        assert_eq!(g2.shape(), &[2, 2, 2, 16]);
        // Gradient wrt x (MLX: none wrt the uint8 scales).
        let (qg, sg, _) = ops::quantize(&wg, None, None, mode).unwrap();
        let (_, gx) = mlxr::vjp(
            |a| {
                let y = ops::quantized_matmul(&a[0], &qg, &sg, None, true, None, None, mode)?;
                Ok(vec![ops::sum(&ops::multiply(&y, &y)?, None, false)?])
            },
            std::slice::from_ref(&xg),
            &[ops::ones(&[], None).unwrap()],
        )
        .unwrap();
        let refs = numpy(
            &format!(
                "import mlx.core as mx\nm = '{mode}'\nq, s = mx.quantize(mx.array(w), mode=m)\n\
                 o1 = mx.quantized_matmul(mx.array(x), q, s, mode=m)\n\
                 eq, es = mx.quantize(mx.array(e), mode=m)\n\
                 o2 = mx.gather_qmm(mx.array(x3), eq, es, rhs_indices=mx.array([0, 3, 1]), mode=m)\n\
                 o3 = mx.gather_qmm(mx.array(x3), eq, es, lhs_indices=mx.array([0, 2]), rhs_indices=mx.array([[1], [3]], dtype=mx.uint32), mode=m)\n\
                 qg, sg = mx.quantize(mx.array(wg), mode=m)\n\
                 gx = mx.grad(lambda x: (mx.quantized_matmul(x, qg, sg, mode=m) ** 2).sum())(mx.array(xg))\n\
                 out = [np.array(o1), np.array(o2), np.array(o3), np.array(gx)]"
            ),
            &[("w", &w), ("x", &x), ("e", &e), ("x3", &x3), ("wg", &wg), ("xg", &xg)],
        );
        assert_close(&got, &refs[0], 1e-4, 1e-4, &format!("{mode} batched w"));
        assert_close(&g1, &refs[1], 1e-4, 1e-4, &format!("{mode} gather_qmm rhs"));
        assert_close(
            &g2,
            &refs[2],
            1e-4,
            1e-4,
            &format!("{mode} gather_qmm lhs+rhs"),
        );
        assert_close(&gx[0], &refs[3], 1e-4, 1e-4, &format!("{mode} grad wrt x"));
        // No gradient wrt the scales or the packed weights.
        let e1 = mlxr::vjp(
            |a| {
                Ok(vec![ops::quantized_matmul(
                    &xg, &qg, &a[0], None, true, None, None, mode,
                )?])
            },
            std::slice::from_ref(&sg),
            &[ops::ones(&[3, 8], None).unwrap()],
        );
        assert!(
            msg(e1).contains(&format!("no gradient wrt scales in {mode} quantization")),
            "{mode}"
        );
        let e2 = mlxr::vjp(
            |a| {
                Ok(vec![ops::dequantize(
                    &qg, &a[0], None, None, None, mode, None,
                )?])
            },
            std::slice::from_ref(&sg),
            &[ops::ones(&[8, 128], Some(Dtype::Bfloat16)).unwrap()],
        );
        assert!(msg(e2).contains("no gradient wrt scales"), "{mode}");
    }
}

#[test]
fn fp_quantization_errors_match_mlx() {
    let z = |s: &[usize], dt| ops::zeros(s, Some(dt)).unwrap();
    let f32 = Dtype::Float32;
    let mx4 = QuantizationMode::Mxfp4;
    let mx8 = QuantizationMode::Mxfp8;
    let nv = QuantizationMode::Nvfp4;
    let w = rand(&[8, 64], f32, -1.0, 1.0, 5);
    // quantize
    assert!(msg(ops::quantize(&w, Some(16), None, mx4))
        .contains("[quantize] mxfp4 quantization requires group size 32 but got 16."));
    assert!(msg(ops::quantize(&w, Some(64), Some(8), mx4))
        .contains("[quantize] mxfp4 quantization requires group size 32 but got 64."));
    assert!(msg(ops::quantize(&w, None, Some(4), mx8))
        .contains("[quantize] mxfp8 quantization requires bits to be 8 but got 4."));
    assert!(msg(ops::quantize(&w, Some(32), None, nv))
        .contains("[quantize] nvfp4 quantization requires group size 16 but got 32."));
    assert!(msg(ops::quantize(&w, None, Some(8), nv))
        .contains("[quantize] nvfp4 quantization requires bits to be 4 but got 8."));
    assert!(msg(ops::quantize(&z(&[4, 48], f32), None, None, mx4))
        .contains("needs to be divisible by the quantization group size 32. However the provided  matrix has shape (4,48)"));
    assert!(
        msg(ops::quantize(&z(&[4, 64], Dtype::Int32), None, None, nv))
            .contains("Only real floating types can be quantized but w has type int32.")
    );
    let g1 = Array::scalar(1.0f32);
    let gq = |w: &Array, g: Option<usize>, m, gs: &Array| {
        ops::quantize_with_global_scale(w, g, None, m, Some(gs))
    };
    assert!(msg(gq(&w, None, mx4, &g1))
        .contains("[quantize] Global scale is only supported for 'nvfp4' quantization mode."));
    assert!(msg(gq(&w, None, QuantizationMode::Affine, &g1))
        .contains("Global scale is only supported for 'nvfp4'"));
    assert!(
        msg(gq(&w, Some(32), nv, &Array::scalar(mlxr::half::f16::ONE)))
            .contains("[quantize] Global scale must have dtype float32 but got float16.")
    );
    assert!(msg(gq(
        &w,
        None,
        nv,
        &Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap()
    ))
    .contains("[quantize] Global scale must be a scalar but got shape (2)."));
    assert!(gq(
        &w,
        None,
        nv,
        &Array::from_slice(&[1.0f32], &[1, 1]).unwrap()
    )
    .is_ok());
    // dequantize
    let (q, s, _) = ops::quantize(&w, None, None, mx4).unwrap();
    let qi = q.astype(Dtype::Int32).unwrap();
    let sf = s.astype(f32).unwrap();
    let dq = |q: &Array, s: &Array, b: Option<&Array>, g: Option<usize>, dt: Option<Dtype>| {
        ops::dequantize(q, s, b, g, None, mx4, dt)
    };
    assert!(msg(dq(&q, &s, Some(&s), None, None))
        .contains("[dequantize] Biases must be null for quantization mode 'mxfp4'."));
    assert!(msg(dq(&q, &sf, Some(&sf), None, None))
        .contains("[dequantize] Scale type must be uint8 but received type float32."));
    assert!(msg(dq(&qi, &s, None, Some(64), None))
        .contains("[dequantize] The matrix should be given as a uint32"));
    assert!(msg(dq(&q, &s, None, Some(64), None))
        .contains("[dequantize] mxfp4 quantization requires group size 32 but got 64."));
    assert!(msg(dq(&qi, &s, None, None, Some(Dtype::Int32))).contains(
        "[dequantize] Only real floating types are supported but output dtype == int32."
    ));
    let s1 = ops::slice(&s, &[0, 0], &[8, 1], &[1, 1]).unwrap();
    assert!(msg(dq(&q, &s1, None, None, None)).contains(
        "[dequantize] Shape of scales does not match the matrix given the quantization parameters. Provided matrix of shape (8,8) and scales of shape (8,1)."
    ));
    let q0 = ops::take(&q, &Array::scalar(0i32), Some(0)).unwrap();
    let s0 = ops::take(&s, &Array::scalar(0i32), Some(0)).unwrap();
    assert!(msg(dq(&q0, &s0, None, Some(64), None)).contains(
        "The matrix to be dequantized must have at least 2 dimension but it has only 1."
    ));
    assert!(msg(ops::dequantize_with_global_scale(
        &q,
        &s,
        None,
        None,
        None,
        mx4,
        Some(&g1),
        None
    ))
    .contains("[dequantize] Global scale is only supported for 'nvfp4' quantization mode."));
    // quantized_matmul
    let x = rand(&[3, 64], f32, -1.0, 1.0, 6);
    let qmm = |x: &Array, q: &Array, s: &Array, b: Option<&Array>, t: bool, g: Option<usize>| {
        ops::quantized_matmul(x, q, s, b, t, g, None, mx4)
    };
    assert!(msg(qmm(&x, &q, &s, Some(&s), true, None))
        .contains("[quantized_matmul] Biases must be null for quantization mode 'mxfp4'."));
    assert!(msg(qmm(&x, &q, &sf, Some(&sf), true, None))
        .contains("[quantized_matmul] Scale type must be uint8 but received type float32."));
    assert!(msg(qmm(&x, &qi, &s, None, true, None))
        .contains("[quantized_matmul] The weight matrix should be uint32 but received int32"));
    assert!(msg(qmm(
        &x.astype(Dtype::Int32).unwrap(),
        &q,
        &s,
        None,
        true,
        None
    ))
    .contains("[quantized_matmul] Only real floating types are supported but x.dtype() == int32."));
    assert!(msg(qmm(&x, &q, &s, None, false, None)).contains(
        "Last dimension of first input with shape (..., 64) does not match the expanded quantized matrix (8, 64) computed from shape (8,8) with group_size=32, bits=4 and transpose=false"
    ));
    assert!(msg(qmm(&x, &q, &s1, None, true, Some(64)))
        .contains("[quantized_matmul] mxfp4 quantization requires group size 32 but got 64."));
    let q2 = ops::stack(&[q.clone(), q.clone()], 0).unwrap();
    let s3 = ops::stack(&[s.clone(), s.clone(), s.clone()], 0).unwrap();
    assert!(msg(qmm(&x, &q2, &s3, None, true, None)).contains(
        "[quantized_matmul] Weight and scales should have the same batch shape. Received weight with shape (2,8,8), scales with (3,8,2)."
    ));
    // gather_qmm's global scale: validated, then only on MLX's GPU.
    let (qn, sn, _) = ops::quantize(
        &ops::stack(&[w.clone(), w.clone()], 0).unwrap(),
        None,
        None,
        nv,
    )
    .unwrap();
    let idx = Array::from_slice(&[1i32, 0, 1], &[3]).unwrap();
    let gg = |m, gs: &Array| {
        ops::gather_qmm_with_global_scale(
            &x,
            &qn,
            &sn,
            None,
            None,
            Some(&idx),
            true,
            None,
            None,
            m,
            Some(gs),
        )
    };
    assert!(msg(gg(nv, &g1)).contains(
        "[gather_qmm] Global scale must have one entry per expert with shape (2) but got ()."
    ));
    assert!(
        msg(gg(nv, &Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap()))
            .contains("[gather_qmm] Global scale is only supported on the GPU.")
    );
    assert!(msg(gg(mx4, &g1))
        .contains("[gather_qmm] Global scale is only supported for 'nvfp4' quantization mode."));
}

/// The float modes' vjp / jvp checks (float64 x; packed weights and scales constant) and
/// nvfp4's global-scale derivative.
pub fn run_grad_fp() {
    let x = r64(&[3, 64], -1.0, 1.0, 41);
    let w = r64(&[4, 64], -1.0, 1.0, 42);
    for mode in FP_MODES {
        let (q, s, _) = ops::quantize(&w, None, None, mode).unwrap();
        for transpose in [true, false] {
            let xx = if transpose {
                x.clone()
            } else {
                r64(&[2, 4], -1.0, 1.0, 43)
            };
            let (qq, ss) = (q.clone(), s.clone());
            check_tol(
                &format!("quantized_matmul {mode} transpose={transpose}"),
                &move |a| {
                    Ok(vec![ops::quantized_matmul(
                        &a[0], &qq, &ss, None, transpose, None, None, mode,
                    )?])
                },
                &[xx],
                1e-4,
                1e-5,
                1e-7,
            );
        }
    }
    // d/dg of dequantize(.., global_scale=g) = element * scale / 2688.
    let nv = QuantizationMode::Nvfp4;
    let w32 = rand(&[4, 32], Dtype::Float32, -1.0, 1.0, 44);
    let g = Array::scalar(3.0f32);
    let (q, s, _) = ops::quantize_with_global_scale(&w32, None, None, nv, Some(&g)).unwrap();
    let c = rand(&[4, 32], Dtype::Float32, -1.0, 1.0, 45);
    let f = |a: &[Array]| -> mlxr::Result<Vec<Array>> {
        Ok(vec![ops::dequantize_with_global_scale(
            &q,
            &s,
            None,
            None,
            None,
            nv,
            Some(&a[0]),
            None,
        )?])
    };
    let (_, gv) = mlxr::vjp(f, std::slice::from_ref(&g), std::slice::from_ref(&c)).unwrap();
    let base = ops::dequantize(&q, &s, None, None, None, nv, Some(Dtype::Float32)).unwrap();
    let want = ops::divide(
        ops::sum(&ops::multiply(&c, &base).unwrap(), None, false).unwrap(),
        2688.0,
    )
    .unwrap();
    assert_close(&gv[0], &want, 1e-5, 1e-6, "nvfp4 global scale vjp");
    let (_, tv) = mlxr::jvp(f, std::slice::from_ref(&g), &[Array::scalar(2.0f32)]).unwrap();
    let want_t = ops::multiply(&base, 2.0 / 2688.0).unwrap();
    assert_close(&tv[0], &want_t, 1e-5, 1e-7, "nvfp4 global scale jvp");
}

/// The float modes' vmap checks.
pub fn run_vmap_fp() {
    for mode in FP_MODES {
        let w = rand(&[3, 8, 64], Dtype::Float32, -1.0, 1.0, 51);
        check_vmap(
            &format!("quantize {mode}"),
            &move |a| {
                let (q, s, _) = ops::quantize(&a[0], None, None, mode)?;
                Ok(vec![q, s])
            },
            std::slice::from_ref(&w),
            &[Some(1)],
        );
        let (q, s, _) = ops::quantize(&w, None, None, mode).unwrap();
        check_vmap(
            &format!("dequantize {mode}"),
            &move |a| {
                Ok(vec![ops::dequantize(
                    &a[0], &a[1], None, None, None, mode, None,
                )?])
            },
            &[q.clone(), s.clone()],
            &[Some(0), Some(0)],
        );
        let x = rand(&[2, 4, 64], Dtype::Float32, -1.0, 1.0, 52);
        let (q0, s0) = (
            ops::take(&q, &Array::scalar(0i32), Some(0)).unwrap(),
            ops::take(&s, &Array::scalar(0i32), Some(0)).unwrap(),
        );
        let qmm = move |a: &[Array]| -> mlxr::Result<Vec<Array>> {
            Ok(vec![ops::quantized_matmul(
                &a[0], &a[1], &a[2], None, true, None, None, mode,
            )?])
        };
        check_vmap(
            &format!("quantized_matmul {mode} x batched"),
            &qmm,
            &[x, q0, s0],
            &[Some(1), None, None],
        );
        let x2 = rand(&[4, 64], Dtype::Float32, -1.0, 1.0, 53);
        check_vmap(
            &format!("quantized_matmul {mode} w batched"),
            &qmm,
            &[x2, q, s],
            &[None, Some(0), Some(0)],
        );
    }
}

#[test]
fn fp_quantized_rules() {
    run_grad_fp();
    run_vmap_fp();
}
