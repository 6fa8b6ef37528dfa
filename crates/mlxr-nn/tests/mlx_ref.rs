//! The MLX reference bridge for the nn tests: runs Python code with `mlx.core as mx`,
//! `mlx.nn as nn`, `mlx.optimizers as optim` and NumPy, with named input arrays (and files)
//! passed through a scratch directory; the code assigns `out` (an array or a list).

#![allow(dead_code)]

use mlxr::{Array, Dtype};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

static N: AtomicUsize = AtomicUsize::new(0);

/// A fresh scratch directory.
pub fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mlxr-nn-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `code` under MLX (CPU) with `inputs` bound as `mx.array`s (and the scratch directory
/// as `d`); returns `out` as mlxr arrays (float32 kept).
pub fn mlx(code: &str, inputs: &[(&str, &Array)], dir: Option<&PathBuf>) -> Vec<Array> {
    let own;
    let d = match dir {
        Some(d) => d,
        None => {
            own = scratch();
            &own
        }
    };
    let mut names = Vec::new();
    for (n, a) in inputs {
        mlxr::io::save_npy(d.join(format!("in_{n}.npy")), a).unwrap();
        names.push(format!("'{n}'"));
    }
    let indented: String = code.lines().map(|l| format!("    {l}\n")).collect();
    let script = format!(
        "import sys, os, math, numpy as np\nimport mlx.core as mx, mlx.nn as nn, mlx.optimizers as optim\nmx.set_default_device(mx.cpu)\nd = sys.argv[1]\ndef _run():\n    for _n in [{}]:\n        globals()[_n] = mx.array(np.load(os.path.join(d, 'in_' + _n + '.npy')))\n{indented}    return out\n_o = _run()\n_o = _o if isinstance(_o, (list, tuple)) else [_o]\nfor _i, _a in enumerate(_o):\n    np.save(os.path.join(d, 'out_%d.npy' % _i), np.array(_a.astype(mx.float32) if _a.dtype == mx.bfloat16 else _a))\nprint(len(_o), flush=True)\nos._exit(0)\n",
        names.join(", ")
    );
    let sp = d.join("ref.py");
    std::fs::write(&sp, script).unwrap();
    let o = Command::new("python3")
        .arg(&sp)
        .arg(d)
        .output()
        .expect("python3 with mlx");
    assert!(
        o.status.success(),
        "MLX reference failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let n: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    (0..n)
        .map(|i| mlxr::io::load_npy(d.join(format!("out_{i}.npy"))).unwrap())
        .collect()
}

/// Assert `got` matches `want` (same shape, float32 tolerance).
pub fn close(got: &Array, want: &Array, rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let g = got.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
    let w = want
        .astype(Dtype::Float64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap();
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan()),
            "{what}: element {i}: got {a}, want {b}"
        );
    }
}

/// A deterministic random float32 array in [lo, hi).
pub fn rand(shape: &[usize], lo: f32, hi: f32, seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect();
    Array::from_slice(&v, shape).unwrap()
}
