//! Random numbers: bit-exact agreement with MLX 0.32.4 (fixtures made by
//! tests/fixtures/make_random_fixtures.py) for keys, splits and every distribution over
//! several keys, odd shapes and dtypes; the global key; statistical sanity over 10^6
//! samples; bad inputs.

use crate::common::*;
use mlxr::random;
use mlxr::{Array, Dtype};
use std::collections::HashMap;

const CASES: &str = include_str!("../fixtures/random/cases.txt");
const VALUES: &[u8] = include_bytes!("../fixtures/random/values.bin");

struct Case {
    func: String,
    p: HashMap<String, String>,
}

impl Case {
    fn get(&self, k: &str) -> &str {
        self.p
            .get(k)
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("{} has no {k}", self.func))
    }
    fn f(&self, k: &str) -> f32 {
        self.get(k).parse().unwrap()
    }
    fn i(&self, k: &str) -> i64 {
        self.get(k).parse().unwrap()
    }
    fn shape(&self, k: &str) -> Vec<usize> {
        match self.get(k) {
            "scalar" | "" => vec![],
            s => s.split(',').map(|x| x.parse().unwrap()).collect(),
        }
    }
    fn dtype(&self, k: &str) -> Dtype {
        Dtype::from_name(self.get(k)).unwrap()
    }
    fn key(&self) -> Array {
        random::key(self.get("seed").parse().unwrap())
    }
    /// The expected result as raw bytes, its dtype and shape.
    fn expected(&self) -> (Vec<u8>, Dtype, Vec<usize>) {
        let off: usize = self.get("offset").parse().unwrap();
        let n: usize = self.get("nbytes").parse().unwrap();
        (
            VALUES[off..off + n].to_vec(),
            self.dtype("out_dtype"),
            self.shape("out_shape"),
        )
    }
    fn desc(&self) -> String {
        let mut v: Vec<_> = self
            .p
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "offset" | "nbytes"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        v.sort();
        format!("{} {}", self.func, v.join(" "))
    }
}

fn cases() -> Vec<Case> {
    CASES
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace();
            let func = it.next().unwrap().to_string();
            let p = it
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            Case { func, p }
        })
        .collect()
}

fn run_case(c: &Case) -> Option<Array> {
    let key = c.key();
    let k = Some(&key);
    let f32dt = |c: &Case| c.dtype("dtype");
    Some(match c.func.as_str() {
        "key" => random::key(c.get("seed").parse().unwrap()),
        "split" => random::split(&key, c.i("num") as usize).unwrap(),
        "uniform" => {
            random::uniform(c.f("low"), c.f("high"), &c.shape("shape"), f32dt(c), k).unwrap()
        }
        "normal" => {
            random::normal(&c.shape("shape"), f32dt(c), c.f("loc"), c.f("scale"), k).unwrap()
        }
        "gumbel" => random::gumbel(&c.shape("shape"), f32dt(c), k).unwrap(),
        "laplace" => {
            random::laplace(&c.shape("shape"), f32dt(c), c.f("loc"), c.f("scale"), k).unwrap()
        }
        "truncated_normal" => random::truncated_normal(
            c.f("lower"),
            c.f("upper"),
            Some(&c.shape("shape")),
            f32dt(c),
            k,
        )
        .unwrap(),
        "bernoulli" => {
            let p = Array::scalar(c.f("p")).astype(c.dtype("pdtype")).unwrap();
            random::bernoulli(&p, Some(&c.shape("shape")), k).unwrap()
        }
        "randint" => {
            random::randint(c.i("low"), c.i("high"), &c.shape("shape"), f32dt(c), k).unwrap()
        }
        "permutation" => random::permutation(c.i("n") as usize, k).unwrap(),
        "permutation_of" => {
            let x = Array::from_slice(&(0..24).collect::<Vec<i32>>(), &[2, 3, 4]).unwrap();
            random::permutation_of(&x, c.i("axis") as isize, k).unwrap()
        }
        "categorical" => {
            // NumPy's linspace(-2, 2, 24) in float32: i * (4 / 23) - 2 in f64, last = 2.
            let step = 4.0f64 / 23.0;
            let v: Vec<f32> = (0..24)
                .map(|i| {
                    if i == 23 {
                        2.0
                    } else {
                        (i as f64 * step - 2.0) as f32
                    }
                })
                .collect();
            let mut l = Array::from_slice(&v, &[2, 3, 4]).unwrap();
            if c.p.contains_key("ldtype") {
                l = l.astype(c.dtype("ldtype")).unwrap();
            }
            let ax = c.i("axis") as isize;
            if c.p.contains_key("num_samples") {
                random::categorical_samples(&l, ax, c.i("num_samples") as usize, k).unwrap()
            } else if c.get("out_shape") == "5,2,3" {
                random::categorical_shape(&l, ax, &[5, 2, 3], k).unwrap()
            } else {
                random::categorical(&l, ax, k).unwrap()
            }
        }
        "categorical_single" => {
            let step = 4.0f64 / 23.0;
            let row: Vec<f32> = (0..24)
                .map(|i| {
                    if i == 23 {
                        2.0
                    } else {
                        (i as f64 * step - 2.0) as f32
                    }
                })
                .collect();
            let r = Array::from_slice(&row, &[24]).unwrap();
            match c.get("variant") {
                "flat_shape" => random::categorical_shape(&r, -1, &[7], k).unwrap(),
                "row_samples" => {
                    let l = r.reshape(&[1, 24]).unwrap();
                    random::categorical_samples(&l, -1, 9, k).unwrap()
                }
                "column" => {
                    let l = r.reshape(&[24, 1]).unwrap();
                    random::categorical(&l, 0, k).unwrap()
                }
                "row_samples_f16" => {
                    let l = r.reshape(&[1, 24]).unwrap().astype(Dtype::Float16).unwrap();
                    random::categorical_samples(&l, -1, 5, k).unwrap()
                }
                "masked" => {
                    let mut m = row[..6].to_vec();
                    m[1] = f32::NEG_INFINITY;
                    m[4] = f32::NEG_INFINITY;
                    let l = Array::from_slice(&m, &[6]).unwrap();
                    random::categorical_shape(&l, -1, &[3, 4], k).unwrap()
                }
                v => panic!("unknown categorical_single variant {v}"),
            }
        }
        "uniform_arr" | "truncated_normal_arr" | "randint_arr" | "bernoulli_arr" => {
            let lo = Array::from_slice(&[-1.0f32, 0.0, 2.0], &[3]).unwrap();
            let hi = Array::from_slice(&[1.0f32, 5.0], &[2, 1]).unwrap();
            match c.func.as_str() {
                "uniform_arr" => random::uniform(&lo, &hi, &[2, 3], Dtype::Float32, k).unwrap(),
                "truncated_normal_arr" => {
                    random::truncated_normal(&lo, &hi, None, Dtype::Float32, k).unwrap()
                }
                "randint_arr" => random::randint(
                    Array::from_slice(&[0i32, 10, -5], &[3]).unwrap(),
                    Array::from_slice(&[3i32, 100], &[2, 1]).unwrap(),
                    &[2, 3],
                    Dtype::Int32,
                    k,
                )
                .unwrap(),
                _ => random::bernoulli(
                    Array::from_slice(&[0.1f32, 0.5, 0.9], &[3]).unwrap(),
                    Some(&[4, 3]),
                    k,
                )
                .unwrap(),
            }
        }
        _ => return None,
    })
}

#[test]
fn matches_mlx_bit_for_bit() {
    let mut checked = 0;
    let mut failures = vec![];
    for c in cases() {
        if matches!(
            c.func.as_str(),
            "multivariate_normal" | "global_uniform" | "global_normal"
        ) {
            continue;
        }
        let got = run_case(&c).unwrap_or_else(|| panic!("unknown case {}", c.func));
        let (want, dt, shape) = c.expected();
        if got.dtype() != dt || got.shape() != shape.as_slice() {
            failures.push(format!(
                "{}: got {} {:?}, want {dt} {shape:?}",
                c.desc(),
                got.dtype(),
                got.shape()
            ));
            continue;
        }
        let gb = got.to_bytes().unwrap();
        // On the GPU, transforms through `log` round it once from double where the CPU
        // (and MLX's CPU) call glibc's logf / log1pf, which may differ by an ulp: there
        // those cases must agree to float32 rounding (scaled by the output's magnitude).
        let on_gpu = !got.data().unwrap().is_host();
        let log_based = matches!(
            c.func.as_str(),
            "gumbel" | "laplace" | "normal" | "truncated_normal"
        );
        if gb != want && on_gpu && log_based && (dt.is_floating() || dt.is_complex()) {
            // Complex values compare as their float32 parts.
            let (vdt, n) = if dt.is_complex() {
                (Dtype::Float32, got.size() * 2)
            } else {
                (dt, got.size())
            };
            let as_f64 = |b: &[u8]| {
                Array::from_bytes(b, &[n], vdt)
                    .unwrap()
                    .astype(Dtype::Float64)
                    .unwrap()
                    .to_vec::<f64>()
                    .unwrap()
            };
            let (wv, gv) = (as_f64(&want), as_f64(&gb));
            let rel = if matches!(vdt, Dtype::Float32 | Dtype::Float64) {
                1e-6
            } else {
                1e-2
            };
            let scale = wv.iter().fold(1.0f64, |m, v| m.max(v.abs()));
            if wv
                .iter()
                .zip(&gv)
                .all(|(a, b)| a == b || (a - b).abs() <= rel * scale)
            {
                checked += 1;
                continue;
            }
        }
        if gb != want {
            let es = dt.size();
            let bad: Vec<usize> = (0..gb.len() / es)
                .filter(|&i| gb[i * es..(i + 1) * es] != want[i * es..(i + 1) * es])
                .collect();
            let i = bad[0];
            failures.push(format!(
                "{}: {} of {} elements differ (first: #{i}, got bytes {:?}, want {:?})",
                c.desc(),
                bad.len(),
                got.size(),
                &gb[i * es..(i + 1) * es],
                &want[i * es..(i + 1) * es]
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        checked + failures.len(),
        failures.join("\n")
    );
    assert!(checked > 1000, "only {checked} cases");
}

#[test]
fn global_key_sequence_matches_mlx() {
    for c in cases() {
        if !c.func.starts_with("global_") {
            continue;
        }
        let s: u64 = c.get("seed").parse().unwrap();
        random::seed(s);
        let a = random::uniform(0.0, 1.0, &[5], Dtype::Float32, None).unwrap();
        let b = random::normal(&[3], Dtype::Float32, 0.0, 1.0, None).unwrap();
        let got = if c.func == "global_uniform" { a } else { b };
        let (want, _, _) = c.expected();
        assert_eq!(got.to_bytes().unwrap(), want, "{}", c.desc());
    }
}

#[test]
fn multivariate_normal_matches_mlx_to_rounding() {
    let mean = Array::from_slice(&[1.0f32, -2.0, 0.5], &[3]).unwrap();
    let cov =
        Array::from_slice(&[2.0f32, 0.5, 0.1, 0.5, 1.0, 0.3, 0.1, 0.3, 0.5], &[3, 3]).unwrap();
    let mut n = 0;
    for c in cases() {
        if c.func != "multivariate_normal" {
            continue;
        }
        let got =
            random::multivariate_normal(&mean, &cov, &[6], Dtype::Float32, Some(&c.key())).unwrap();
        let (want, dt, shape) = c.expected();
        let want = Array::from_bytes(&want, &shape, dt).unwrap();
        assert_close(&got, &want, 1e-5, 1e-5, &c.desc());
        n += 1;
    }
    assert_eq!(n, 5);
}

/// Values of MLX's C++ `random::bits` (not exposed in Python) for key(0), printed by a
/// probe linked against libmlx 0.32.4: widths 1, 2, 4 and odd sizes.
#[test]
fn bits_match_mlx_cpp() {
    let k = random::key(0);
    let want: &[(usize, usize, &[u32])] = &[
        (1, 1, &[89]),
        (1, 3, &[89, 1, 32]),
        (1, 5, &[143, 35, 95, 55, 29]),
        (1, 7, &[143, 35, 95, 55, 29, 21, 219]),
        (2, 1, &[345]),
        (2, 3, &[9103, 14175, 5405]),
        (2, 7, &[20137, 63263, 1497, 14756, 16513, 41486, 44591]),
        (4, 1, &[1797259609]),
        (4, 3, &[4146024105, 1351547692, 2718843009]),
        (
            4,
            7,
            &[
                2285895361, 1501764800, 1518642379, 3098264785, 433833334, 4221794875, 839183663,
            ],
        ),
    ];
    for &(w, n, vals) in want {
        let b = random::bits(&[n], w, Some(&k)).unwrap();
        let dt = [Dtype::Uint8, Dtype::Uint16, Dtype::Uint8, Dtype::Uint32][w - 1];
        assert_eq!(b.dtype(), dt);
        assert_eq!(b.to_vec::<u32>().unwrap(), vals, "width {w} n {n}");
    }
    // A key is split into `num` keys of shape [num, 2].
    let s = random::split(&k, 3).unwrap();
    assert_eq!(s.shape(), &[3, 2]);
    let (a, b) = random::split2(&k).unwrap();
    assert_eq!(a.to_vec::<u32>().unwrap(), vec![4146024105, 967050713]);
    assert_eq!(b.to_vec::<u32>().unwrap(), vec![2718843009, 1272950319]);
}

fn mean_var(a: &Array) -> (f64, f64) {
    let v = a.to_vec::<f64>().unwrap();
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var)
}

#[test]
fn statistics_over_a_million_samples() {
    let k = random::key(2024);
    let n = 1_000_000;
    let u = random::uniform(-1.0, 3.0, &[n], Dtype::Float32, Some(&k)).unwrap();
    let (m, v) = mean_var(&u);
    assert!(
        (m - 1.0).abs() < 0.01 && (v - 16.0 / 12.0).abs() < 0.01,
        "uniform {m} {v}"
    );
    let vals = u.to_vec::<f32>().unwrap();
    assert!(vals.iter().all(|&x| (-1.0..3.0).contains(&x)));
    let z = random::normal(&[n], Dtype::Float32, 2.0, 3.0, Some(&k)).unwrap();
    let (m, v) = mean_var(&z);
    assert!(
        (m - 2.0).abs() < 0.01 && (v - 9.0).abs() < 0.05,
        "normal {m} {v}"
    );
    let zb = random::normal(&[n], Dtype::Bfloat16, 0.0, 1.0, Some(&k)).unwrap();
    let (m, v) = mean_var(&zb);
    assert!(
        m.abs() < 0.01 && (v - 1.0).abs() < 0.02,
        "normal bf16 {m} {v}"
    );
    let g = random::gumbel(&[n], Dtype::Float32, Some(&k)).unwrap();
    let (m, v) = mean_var(&g);
    let pi2_6 = std::f64::consts::PI.powi(2) / 6.0;
    assert!(
        (m - 0.5772156649).abs() < 0.01 && (v - pi2_6).abs() < 0.02,
        "gumbel {m} {v}"
    );
    let l = random::laplace(&[n], Dtype::Float32, 0.5, 2.0, Some(&k)).unwrap();
    let (m, v) = mean_var(&l);
    assert!(
        (m - 0.5).abs() < 0.02 && (v - 8.0).abs() < 0.1,
        "laplace {m} {v}"
    );
    let t = random::truncated_normal(-1.0, 2.0, Some(&[n]), Dtype::Float32, Some(&k)).unwrap();
    let tv = t.to_vec::<f32>().unwrap();
    assert!(tv.iter().all(|&x| (-1.0..=2.0).contains(&x)));
    let (m, _) = mean_var(&t);
    // E[X] = (phi(a) - phi(b)) / (Phi(b) - Phi(a)) for a = -1, b = 2.
    assert!((m - 0.2283).abs() < 0.01, "truncated normal {m}");
    let r = random::randint(-5, 5, &[n], Dtype::Int32, Some(&k)).unwrap();
    let rv = r.to_vec::<i32>().unwrap();
    assert!(rv.iter().all(|&x| (-5..5).contains(&x)));
    let (m, v) = mean_var(&r);
    assert!(
        (m + 0.5).abs() < 0.02 && (v - 8.25).abs() < 0.05,
        "randint {m} {v}"
    );
    let b = random::bernoulli(0.3, Some(&[n]), Some(&k)).unwrap();
    let (m, _) = mean_var(&b);
    assert!((m - 0.3).abs() < 0.005, "bernoulli {m}");
    // Categorical frequencies follow softmax(logits).
    let logits = Array::from_slice(&[0.0f32, 1.0, 2.0], &[3]).unwrap();
    let c = random::categorical_samples(&logits, -1, 300_000, Some(&k)).unwrap();
    let cv = c.to_vec::<u32>().unwrap();
    let z: f64 = (0..3).map(|i| (i as f64).exp()).sum();
    for i in 0..3u32 {
        let f = cv.iter().filter(|&&x| x == i).count() as f64 / cv.len() as f64;
        assert!(
            (f - (i as f64).exp() / z).abs() < 0.005,
            "categorical {i} {f}"
        );
    }
    // Permutations are permutations.
    let p = random::permutation(1000, Some(&k)).unwrap();
    let mut pv = p.to_vec::<u32>().unwrap();
    pv.sort();
    assert_eq!(pv, (0..1000).collect::<Vec<u32>>());
    // Multivariate normal: sample covariance.
    let mean = Array::from_slice(&[1.0f32, -1.0], &[2]).unwrap();
    let cov = Array::from_slice(&[2.0f32, 0.8, 0.8, 1.0], &[2, 2]).unwrap();
    let s = random::multivariate_normal(&mean, &cov, &[200_000], Dtype::Float32, Some(&k)).unwrap();
    let sv = s.to_vec::<f64>().unwrap();
    let m = sv.len() / 2;
    let (m0, m1) = (
        sv.iter().step_by(2).sum::<f64>() / m as f64,
        sv.iter().skip(1).step_by(2).sum::<f64>() / m as f64,
    );
    let c01 = (0..m)
        .map(|i| (sv[2 * i] - m0) * (sv[2 * i + 1] - m1))
        .sum::<f64>()
        / m as f64;
    let c00 = (0..m).map(|i| (sv[2 * i] - m0).powi(2)).sum::<f64>() / m as f64;
    assert!(
        (m0 - 1.0).abs() < 0.02 && (m1 + 1.0).abs() < 0.02,
        "mvn mean {m0} {m1}"
    );
    assert!(
        (c01 - 0.8).abs() < 0.03 && (c00 - 2.0).abs() < 0.04,
        "mvn cov {c00} {c01}"
    );
}

#[test]
fn same_key_same_values_and_global_key_advances() {
    let k = random::key(5);
    let a = random::normal(&[4], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let b = random::normal(&[4], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    assert_eq!(a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
    random::seed(9);
    let x = random::uniform(0.0, 1.0, &[4], Dtype::Float32, None).unwrap();
    let y = random::uniform(0.0, 1.0, &[4], Dtype::Float32, None).unwrap();
    assert_ne!(x.to_vec::<f32>().unwrap(), y.to_vec::<f32>().unwrap());
    random::seed(9);
    let x2 = random::uniform(0.0, 1.0, &[4], Dtype::Float32, None).unwrap();
    assert_eq!(x.to_vec::<f32>().unwrap(), x2.to_vec::<f32>().unwrap());
    // Empty shapes.
    assert_eq!(
        random::uniform(0.0, 1.0, &[0, 3], Dtype::Float32, Some(&k))
            .unwrap()
            .size(),
        0
    );
    assert_eq!(random::permutation(0, Some(&k)).unwrap().size(), 0);
    assert_eq!(random::split(&k, 0).unwrap().shape(), &[0, 2]);
}

#[test]
fn bad_inputs_are_errors() {
    let k = random::key(0);
    let k = Some(&k);
    assert!(random::uniform(0.0, 1.0, &[3], Dtype::Int32, k).is_err());
    assert!(random::normal(&[3], Dtype::Int32, 0.0, 1.0, k).is_err());
    assert!(random::gumbel(&[3], Dtype::Uint8, k).is_err());
    assert!(random::randint(0, 5, &[3], Dtype::Float32, k).is_err());
    assert!(random::bernoulli(Array::from_slice(&[1i32, 0], &[2]).unwrap(), None, k).is_err());
    // Parameters that do not broadcast to the shape.
    let lo = Array::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
    assert!(random::uniform(&lo, 2.0, &[], Dtype::Float32, k).is_err());
    assert!(random::uniform(&lo, 2.0, &[3], Dtype::Float32, k).is_err());
    assert!(random::bernoulli(&lo, Some(&[4, 3]), k).is_err());
    // Keys must be uint32 of shape [2].
    let bad = Array::from_slice(&[1u32, 2, 3], &[3]).unwrap();
    assert!(random::uniform(0.0, 1.0, &[3], Dtype::Float32, Some(&bad)).is_err());
    let bad = Array::from_slice(&[1i32, 2], &[2]).unwrap();
    assert!(random::normal(&[3], Dtype::Float32, 0.0, 1.0, Some(&bad)).is_err());
    assert!(random::bits(&[3], 3, k).is_err());
    let logits = Array::from_slice(&[0.0f32; 6], &[2, 3]).unwrap();
    assert!(random::categorical(&logits, 2, k).is_err());
    assert!(random::categorical_shape(&logits, -1, &[5, 3], k).is_err());
    let mean = Array::from_slice(&[0.0f32; 2], &[2]).unwrap();
    let cov = Array::from_slice(&[1.0f32; 9], &[3, 3]).unwrap();
    assert!(random::multivariate_normal(&mean, &cov, &[], Dtype::Float32, k).is_err());
    let cov2 = Array::from_slice(&[1.0f32, 0.0, 0.0, 1.0], &[2, 2]).unwrap();
    assert!(random::multivariate_normal(&mean, &cov2, &[], Dtype::Float16, k).is_err());
    assert!(random::permutation_of(&mean, 1, k).is_err());
}
