//! The random primitives on the GPU compared with the CPU: random bits must be identical
//! (every width, odd sizes, split keys, strided keys); distributions (uniform, normal with
//! loc/scale, truncated normal, Gumbel, Laplace, Bernoulli, randint, categorical,
//! multivariate normal, complex normal) in every supported dtype must agree to the last
//! bit but for rare one-ulp differences of `log` (see `kernels/random.cu`). Skips without
//! a GPU; `MLXR_CUDA_OPS_DRY=1` runs the bodies on the CPU twice.

use super::cuda_indexing::compare_cases;
use super::cuda_ops::gpu_or_skip;
use mlxr::{random, Array, Dtype};

fn exact(_: &str, _: Dtype) -> (f64, f64) {
    (0.0, 0.0)
}

/// One ulp of the dtype (relative), for transforms that take a `log`.
fn ulp(_: &str, d: Dtype) -> (f64, f64) {
    match d {
        Dtype::Float16 => (1e-3, 1e-3),
        Dtype::Bfloat16 => (8e-3, 8e-3),
        Dtype::Float32 | Dtype::Complex64 => (2.4e-7, 2.4e-7),
        // float64 samples go through MLX's float32 erfinv / log (as on the CPU).
        Dtype::Float64 => (2.4e-7, 2.4e-7),
        _ => (0.0, 0.0),
    }
}

#[test]
fn gpu_random_bits_are_identical() {
    compare_cases("gpu_random_bits", exact, || {
        let mut out = vec![];
        let k = random::key(7);
        let (k1, k2) = random::split2(&k).unwrap();
        let keys = random::split(&k, 4).unwrap();
        // A key that is a strided view (words 1 and 5 of the four keys).
        let flat = mlxr::ops::reshape(&keys, &[8]).unwrap();
        let kcol = mlxr::ops::slice(&flat, &[1], &[8], &[4]).unwrap();
        for (kn, key) in [("k", &k), ("k1", &k1), ("k2", &k2), ("k col", &kcol)] {
            for width in [1usize, 2, 4] {
                for shape in [
                    vec![0],
                    vec![1],
                    vec![3],
                    vec![5],
                    vec![7, 3],
                    vec![1001],
                    vec![64, 257],
                ] {
                    let b = random::bits(&shape, width, Some(key)).unwrap();
                    out.push((format!("{kn} width {width} shape {shape:?}"), b));
                }
            }
        }
        out
    });
}

#[test]
fn gpu_distributions_match_the_cpu() {
    compare_cases("gpu_distributions", ulp, || {
        let mut out = vec![];
        let key = random::key(3);
        let shape = [33, 65];
        let lo = Array::from_slice(&[-2.0f32, 0.5, 1.0], &[3, 1]).unwrap();
        let hi = Array::from_slice(&[3.0f32], &[1]).unwrap();
        for dt in [
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
        ] {
            let u = random::uniform(-1.5, 4.0, &shape, dt, Some(&key)).unwrap();
            out.push((format!("{dt} uniform"), u));
            let u = random::uniform(&lo, &hi, &[3, 40], dt, Some(&key)).unwrap();
            out.push((format!("{dt} uniform array bounds"), u));
            out.push((
                format!("{dt} normal"),
                random::normal(&shape, dt, 0.0, 1.0, Some(&key)).unwrap(),
            ));
            out.push((
                format!("{dt} normal loc scale"),
                random::normal(&shape, dt, 1.5, 0.25, Some(&key)).unwrap(),
            ));
            let loc = Array::from_slice(&[0.0f32, 10.0], &[2, 1]).unwrap();
            let sc = Array::from_slice(&[2.0f32, 3.0, 4.0], &[1, 3]).unwrap();
            out.push((
                format!("{dt} normal arrays"),
                random::normal_with(&[2, 3], dt, Some(&loc), Some(&sc), Some(&key)).unwrap(),
            ));
            out.push((
                format!("{dt} truncated normal"),
                random::truncated_normal(-1.0, 2.0, Some(&shape), dt, Some(&key)).unwrap(),
            ));
            out.push((
                format!("{dt} gumbel"),
                random::gumbel(&shape, dt, Some(&key)).unwrap(),
            ));
            out.push((
                format!("{dt} laplace"),
                random::laplace(&shape, dt, 0.0, 1.0, Some(&key)).unwrap(),
            ));
            out.push((
                format!("{dt} laplace loc scale"),
                random::laplace(&shape, dt, -1.0, 2.0, Some(&key)).unwrap(),
            ));
            let p = Array::from_slice(&[0.1f32, 0.5, 0.9], &[3])
                .unwrap()
                .astype(dt)
                .unwrap();
            out.push((
                format!("{dt} bernoulli"),
                random::bernoulli(&p, Some(&[500, 3]), Some(&key)).unwrap(),
            ));
        }
        out.push((
            "empty".into(),
            random::uniform(0.0, 1.0, &[0, 3], Dtype::Float32, Some(&key)).unwrap(),
        ));
        out.push((
            "complex normal".into(),
            random::normal(&[17, 3], Dtype::Complex64, 0.0, 1.0, Some(&key)).unwrap(),
        ));
        out.push((
            "complex normal loc scale".into(),
            random::normal(&[17, 3], Dtype::Complex64, 1.0, 2.0, Some(&key)).unwrap(),
        ));
        out
    });
}

#[test]
fn gpu_randint_categorical_and_mvn() {
    compare_cases("gpu_randint_categorical_mvn", ulp, || {
        let mut out = vec![];
        let key = random::key(11);
        for &dt in Dtype::ALL.iter().filter(|d| !d.is_inexact()) {
            let r = random::randint(-5, 100, &[40, 7], dt, Some(&key)).unwrap();
            out.push((format!("{dt} randint"), r));
            let lo = Array::from_slice(&[0i32, 10, 200], &[3, 1]).unwrap();
            let r = random::randint(&lo, 300, &[3, 50], dt, Some(&key)).unwrap();
            out.push((format!("{dt} randint array low"), r));
        }
        let r = random::randint(
            -3_000_000_000i64,
            3_000_000_000i64,
            &[100],
            Dtype::Int64,
            Some(&key),
        )
        .unwrap();
        out.push(("randint wide".into(), r));
        for dt in [Dtype::Float32, Dtype::Float16, Dtype::Float64] {
            let logits = crate::common::rand(&[6, 9, 5], dt, -2.0, 2.0, 3);
            for axis in [0isize, 1, -1] {
                let c = random::categorical(&logits, axis, Some(&key)).unwrap();
                out.push((format!("{dt} categorical axis {axis}"), c));
            }
            let c = random::categorical_samples(&logits, -1, 4, Some(&key)).unwrap();
            out.push((format!("{dt} categorical samples"), c));
        }
        let mean = Array::from_slice(&[1.0f32, -1.0, 0.5], &[3]).unwrap();
        let cov =
            Array::from_slice(&[2.0f32, 0.3, 0.1, 0.3, 1.0, 0.2, 0.1, 0.2, 0.5], &[3, 3]).unwrap();
        let m =
            random::multivariate_normal(&mean, &cov, &[50], Dtype::Float32, Some(&key)).unwrap();
        out.push(("multivariate normal".into(), m));
        out
    });
}

#[test]
fn gpu_random_bad_inputs_are_errors() {
    let Some(gpu) = gpu_or_skip("gpu_random_bad_inputs") else {
        return;
    };
    mlxr::with_device(gpu, || {
        let bad = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        let r = random::bits(&[3], 4, Some(&bad)).and_then(|x| x.eval().map(|_| x));
        assert!(r.is_err(), "a float key must be an error");
        let bad = Array::from_slice(&[1u32, 2, 3], &[3]).unwrap();
        let r = random::bits(&[3], 4, Some(&bad)).and_then(|x| x.eval().map(|_| x));
        assert!(r.is_err(), "a key of 3 words must be an error");
    });
}
