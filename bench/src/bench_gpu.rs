//! The GPU benchmark of issue 5: the op list and sizes shared with `bench/gpu_peers.py`
//! (PyTorch), timed on GPU 0. Prints one JSON line per op: `{"op", "ms", "gb", "gflop"}`
//! (the bytes an op must move and the flops it must do, for the achieved rates).
//!
//! Timing: after two warm-up runs, 5 trials of `reps` back-to-back evaluations each
//! followed by one synchronisation; the median trial's time per evaluation (host overhead
//! overlaps the GPU as in eager PyTorch, measured the same way).
//!
//! Usage: `bench_gpu [--reps N] [--only NAME[,NAME]]`

use mlxr::{ops, random, Array, Device, Dtype, Result};
use std::time::Instant;

/// Milliseconds per evaluation of `f` (median of 5 trials of `reps` runs).
fn time(reps: usize, mut f: impl FnMut() -> Result<Array>) -> Result<f64> {
    for _ in 0..2 {
        f()?.eval()?;
    }
    mlxr::synchronize()?;
    let mut t = Vec::new();
    for _ in 0..5 {
        let s = Instant::now();
        for _ in 0..reps {
            f()?.eval()?;
        }
        mlxr::synchronize()?;
        t.push(s.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
    t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    Ok(t[t.len() / 2])
}

/// Uniform [-1, 1) values of `shape` and `dtype` (drawn on the CPU), evaluated on the
/// GPU.
fn rand(shape: &[usize], dtype: Dtype, seed: u64) -> Result<Array> {
    let k = random::key(seed);
    let a = mlxr::with_device(Device::cpu(), || {
        random::uniform(-1.0f32, 1.0f32, shape, Dtype::Float32, Some(&k))
    })?;
    a.eval()?;
    let a = ops::astype(&ops::multiply(&a, 1.0f32)?, dtype)?;
    a.eval()?;
    Ok(a)
}

/// `n` random row indices below `hi` (uint32), on the GPU.
fn rand_idx(n: usize, hi: u32, seed: u64) -> Result<Array> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let v: Vec<u32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 32) % hi as u64) as u32
        })
        .collect();
    let a = ops::contiguous(&Array::from_slice(&v, &[n])?)?;
    a.eval()?;
    Ok(a)
}

struct Bench {
    reps: usize,
    only: Option<Vec<String>>,
}

impl Bench {
    fn want(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|x| x == name))
    }
    /// Time `f` as `name`, reporting the bytes and flops it must move and do.
    fn run(
        &self,
        name: &str,
        bytes: f64,
        flops: f64,
        f: &mut dyn FnMut() -> Result<Array>,
    ) -> Result<()> {
        if !self.want(name) {
            return Ok(());
        }
        // A failing row is reported (stderr) and the other rows still run.
        let ms = match time(self.reps, f) {
            Ok(ms) => ms,
            Err(e) => {
                eprintln!("bench_gpu: {name} failed: {e}");
                return Ok(());
            }
        };
        println!(
            "{{\"op\": \"{name}\", \"ms\": {ms:.4}, \"gb\": {:.4}, \"gflop\": {:.2}}}",
            bytes / 1e9,
            flops / 1e9
        );
        Ok(())
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
    };
    let b = Bench {
        reps: get("--reps").map_or(10, |r| r.parse().expect("--reps N")),
        only: get("--only").map(|s| s.split(',').map(String::from).collect()),
    };
    let any = |names: &[&str]| names.iter().any(|n| b.want(n));
    mlxr::with_device(Device::gpu(0)?, || -> Result<()> {
        let n28 = 1usize << 28;
        let f4 = 4.0;
        if any(&[
            "copy",
            "add",
            "exp",
            "sum_all",
            "sum_last",
            "sum_first",
            "softmax_f32",
        ]) {
            // 2^28 float32 elements, also seen as 8192 x 32768.
            let x = rand(&[8192, 32768], Dtype::Float32, 1)?;
            let y = rand(&[8192, 32768], Dtype::Float32, 2)?;
            let nb = n28 as f64 * f4;
            // A strided copy: every row but its first element (PyTorch: the same view's
            // .contiguous()).
            let xs = ops::slice(&x, &[0, 1], &[8192, 32768], &[1, 1])?;
            b.run("copy", 2.0 * nb, 0.0, &mut || ops::contiguous(&xs))?;
            b.run("add", 3.0 * nb, n28 as f64, &mut || ops::add(&x, &y))?;
            b.run("exp", 2.0 * nb, n28 as f64, &mut || ops::exp(&x))?;
            b.run("sum_all", nb, n28 as f64, &mut || ops::sum(&x, None, false))?;
            b.run("sum_last", nb, n28 as f64, &mut || {
                ops::sum(&x, Some(&[-1]), false)
            })?;
            b.run("sum_first", nb, n28 as f64, &mut || {
                ops::sum(&x, Some(&[0]), false)
            })?;
            b.run("softmax_f32", 2.0 * nb, 4.0 * n28 as f64, &mut || {
                ops::softmax(&x, Some(&[-1]), false)
            })?;
        }
        if b.want("softmax_bf16") {
            let x = rand(&[32768, 4096], Dtype::Bfloat16, 3)?;
            let nb = (32768 * 4096 * 2) as f64;
            b.run("softmax_bf16", 2.0 * nb, 4.0 * nb / 2.0, &mut || {
                ops::softmax(&x, Some(&[-1]), false)
            })?;
            // Diagnostics (mlxr only): the precise mode, and float32 rows of 4096.
            b.run(
                "softmax_bf16_precise",
                2.0 * nb,
                4.0 * nb / 2.0,
                &mut || ops::softmax(&x, Some(&[-1]), true),
            )?;
            let xf = rand(&[32768, 4096], Dtype::Float32, 3)?;
            b.run("softmax_f32_4096", 4.0 * nb, 4.0 * nb / 2.0, &mut || {
                ops::softmax(&xf, Some(&[-1]), false)
            })?;
        }
        for (name, n, dt) in [
            ("matmul_bf16_4096", 4096usize, Dtype::Bfloat16),
            ("matmul_bf16_8192", 8192, Dtype::Bfloat16),
            ("matmul_f32_4096", 4096, Dtype::Float32),
        ] {
            if b.want(name) {
                let a = rand(&[n, n], dt, 4)?;
                let c = rand(&[n, n], dt, 5)?;
                let nb = (3 * n * n * dt.size()) as f64;
                b.run(name, nb, 2.0 * (n as f64).powi(3), &mut || {
                    ops::matmul(&a, &c)
                })?;
            }
        }
        if any(&["sort_last", "argsort_last"]) {
            let w = rand(&[4096, 16384], Dtype::Float32, 6)?;
            let nb = (4096 * 16384 * 4) as f64;
            b.run("sort_last", 2.0 * nb, 0.0, &mut || ops::sort(&w, Some(-1)))?;
            b.run("argsort_last", 2.0 * nb, 0.0, &mut || {
                ops::argsort(&w, Some(-1))
            })?;
        }
        if b.want("sort_flat") {
            let w = rand(&[1 << 26], Dtype::Float32, 7)?;
            let nb = ((1 << 26) * 4) as f64;
            b.run("sort_flat", 2.0 * nb, 0.0, &mut || ops::sort(&w, None))?;
        }
        if any(&["take_rows", "scatter_add_rows"]) {
            let table = rand(&[131072, 4096], Dtype::Bfloat16, 8)?;
            let idx = rand_idx(32768, 131072, 9)?;
            let upd = rand(&[32768, 1, 4096], Dtype::Bfloat16, 10)?;
            let rows = (32768 * 4096 * 2) as f64;
            b.run("take_rows", 2.0 * rows, 0.0, &mut || {
                ops::take(&table, &idx, Some(0))
            })?;
            // Functional: a new table (a copy of 1 GiB) plus the row adds.
            let tb = (131072 * 4096 * 2) as f64;
            b.run(
                "scatter_add_rows",
                2.0 * tb + 2.0 * rows,
                rows / 2.0,
                &mut || ops::scatter_add(&table, std::slice::from_ref(&idx), &upd, &[0]),
            )?;
        }
        if b.want("chain_1000") {
            // Host overhead: 1000 dependent multiplies of a 256-element array.
            let x0 = rand(&[256], Dtype::Float32, 11)?;
            let c = ops::contiguous(&ops::full_like(&x0, 1.0001f32, None)?)?;
            c.eval()?;
            b.run("chain_1000", 0.0, 0.0, &mut || {
                let mut x = x0.clone();
                for _ in 0..1000 {
                    x = ops::multiply(&x, &c)?;
                }
                Ok(x)
            })?;
        }
        Ok(())
    })
}
