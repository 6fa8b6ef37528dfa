//! Test helpers: the NumPy reference bridge, the per-device loop, random inputs and
//! tolerance checks.

#![allow(dead_code)]

use mlxr::{Array, Device, Dtype};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The devices tests run on: the CPU, plus the GPU when one is usable.
pub fn devices() -> Vec<Device> {
    let mut v = vec![Device::cpu()];
    if let Ok(g) = Device::gpu(0) {
        v.push(g);
    }
    v
}

/// Run one test body on every device (ops built inside run on that device).
pub fn on_each_device(f: impl Fn(Device)) {
    for d in devices() {
        mlxr::with_device(d, || f(d));
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn scratch_dir() -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("mlxr-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Evaluate Python/NumPy code as the reference. `inputs` are bound to NumPy arrays under
/// their names (bfloat16 arrays are passed as float32, since NumPy has no bfloat16); the
/// code must assign `out` (an array or a list/tuple of arrays). Returns the outputs as
/// mlxr arrays (NumPy's dtype kept).
pub fn numpy(code: &str, inputs: &[(&str, &Array)]) -> Vec<Array> {
    numpy_batch(&[(code.to_string(), inputs.to_vec())]).pop().unwrap()
}

/// Like [`numpy`] for many cases in one Python process (much faster: start-up is paid
/// once). Each case is `(code, inputs)`; returns each case's outputs.
pub fn numpy_batch(cases: &[(String, Vec<(&str, &Array)>)]) -> Vec<Vec<Array>> {
    let dir = scratch_dir();
    let mut body = String::new();
    for (ci, (code, inputs)) in cases.iter().enumerate() {
        let mut names = Vec::new();
        for (name, a) in inputs {
            let a = if a.dtype() == Dtype::Bfloat16 {
                a.astype(Dtype::Float32).unwrap()
            } else {
                (*a).clone()
            };
            mlxr::io::save_npy(dir.join(format!("c{ci}_{name}.npy")), &a).unwrap();
            names.push(format!("'{name}'"));
        }
        let indented: String = code.lines().map(|l| format!("    {l}\n")).collect();
        body.push_str(&format!(
            "def _case{ci}():\n    _g = {{}}\n    for _n in [{names}]:\n        _g[_n] = np.load(os.path.join(d, 'c{ci}_' + _n + '.npy'))\n    globals().update(_g)\n{indented}    return out\n_save({ci}, _case{ci}())\n",
            names = names.join(", ")
        ));
    }
    let script = format!(
        "import numpy as np, sys, os, warnings\nwarnings.simplefilter('ignore')\nd = sys.argv[1]\ncounts = []\ndef _save(ci, out):\n    _o = out if isinstance(out, (list, tuple)) else [out]\n    for _i, _a in enumerate(_o):\n        np.save(os.path.join(d, 'o%d_%d.npy' % (ci, _i)), np.asarray(_a))\n    counts.append(len(_o))\n{body}print(' '.join(map(str, counts)))\n"
    );
    let sp = dir.join("ref.py");
    std::fs::write(&sp, script).unwrap();
    let o = Command::new("python3")
        .arg(&sp)
        .arg(&dir)
        .output()
        .expect("python3 with numpy must be installed for the reference tests");
    assert!(
        o.status.success(),
        "numpy reference failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let counts: Vec<usize> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|c| c.parse().unwrap())
        .collect();
    let outs = counts
        .iter()
        .enumerate()
        .map(|(ci, &n)| {
            (0..n)
                .map(|i| mlxr::io::load_npy(dir.join(format!("o{ci}_{i}.npy"))).unwrap())
                .collect()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    outs
}

/// One reference output.
pub fn numpy1(code: &str, inputs: &[(&str, &Array)]) -> Array {
    numpy(code, inputs).pop().unwrap()
}

/// A small deterministic generator (splitmix64) for test inputs.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

/// A random array of `dtype` and `shape` with values in [lo, hi) (integers rounded down,
/// bools by sign of a uniform draw in [-1, 1)).
pub fn rand(shape: &[usize], dtype: Dtype, lo: f64, hi: f64, seed: u64) -> Array {
    let mut r = Rng::new(seed);
    let n: usize = shape.iter().product();
    match dtype {
        Dtype::Bool => {
            let v: Vec<bool> = (0..n).map(|_| r.uniform(-1.0, 1.0) > 0.0).collect();
            Array::from_slice(&v, shape).unwrap()
        }
        Dtype::Complex64 => {
            let v: Vec<mlxr::Complex32> = (0..n)
                .map(|_| mlxr::Complex32::new(r.uniform(lo, hi) as f32, r.uniform(lo, hi) as f32))
                .collect();
            Array::from_slice(&v, shape).unwrap()
        }
        _ => {
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    let x = r.uniform(lo, hi);
                    if dtype.is_integer() {
                        x.floor()
                    } else {
                        x
                    }
                })
                .collect();
            Array::from_slice(&v, shape).unwrap().astype(dtype).unwrap()
        }
    }
}

/// Default tolerances (rtol, atol) for comparing results of `dtype`.
pub fn tol(dtype: Dtype) -> (f64, f64) {
    match dtype {
        Dtype::Float16 => (2e-3, 2e-3),
        Dtype::Bfloat16 => (1.6e-2, 1e-2),
        Dtype::Float32 | Dtype::Complex64 => (2e-5, 1e-6),
        Dtype::Float64 => (1e-12, 1e-14),
        _ => (0.0, 0.0),
    }
}

/// Assert same shape and values within tolerance (NaNs must match NaNs; infinities must
/// match exactly). Compares in float64 (complex: both parts).
pub fn assert_close(got: &Array, want: &Array, rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape mismatch");
    let (g, w) = if got.dtype() == Dtype::Complex64 || want.dtype() == Dtype::Complex64 {
        let g: Vec<f64> = got
            .to_vec::<mlxr::Complex32>()
            .unwrap()
            .iter()
            .flat_map(|c| [c.re as f64, c.im as f64])
            .collect();
        let w: Vec<f64> = want
            .to_vec::<mlxr::Complex32>()
            .unwrap()
            .iter()
            .flat_map(|c| [c.re as f64, c.im as f64])
            .collect();
        (g, w)
    } else {
        (got.to_vec::<f64>().unwrap(), want.to_vec::<f64>().unwrap())
    };
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let ok = if a.is_nan() || b.is_nan() {
            a.is_nan() && b.is_nan()
        } else if a.is_infinite() || b.is_infinite() {
            a == b
        } else {
            (a - b).abs() <= atol + rtol * b.abs()
        };
        assert!(
            ok,
            "{what}: element {i} differs: got {a}, want {b} (rtol {rtol}, atol {atol})\n got: {got}\nwant: {want}"
        );
    }
}

/// Assert equal dtype, shape and values with the dtype's default tolerance.
pub fn assert_matches(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype mismatch");
    let (r, a) = tol(got.dtype());
    assert_close(got, want, r, a, what);
}
