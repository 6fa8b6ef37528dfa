//! The op benchmark: times each op of the list shared with `bench/peers.py` on the chosen
//! device and prints one JSON line per op (`{"op": ..., "ms": median}`).
//!
//! Usage: `bench_ops [--device cpu|gpu] [--reps N] [--only NAME[,NAME]]`

use mlxr::ops;
use mlxr::{Array, Device, Dtype, Result};
use std::time::Instant;

fn rand(shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        })
        .collect();
    let a = Array::from_slice(&v, shape).expect("shape");
    // Move to the current device once, outside the timings.
    let a = ops::contiguous(&a).expect("copy");
    a.eval().expect("eval");
    a
}

/// `n` pseudo-random indices below `hi` (uint32), on the current device.
fn rand_idx(n: usize, hi: u32, seed: u64) -> Array {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let v: Vec<u32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 32) % hi as u64) as u32
        })
        .collect();
    let a = Array::from_slice(&v, &[n]).expect("shape");
    let a = ops::contiguous(&a).expect("copy");
    a.eval().expect("eval");
    a
}

/// Ops whose single run takes long: timed over at most `HEAVY_REPS` runs.
const HEAVY: &[&str] = &["sort_last", "argsort_last", "sort_flat", "scatter_add_rows"];
const HEAVY_REPS: usize = 5;

/// Median milliseconds of `f` (which builds and evaluates the op) over `reps` runs.
fn time(reps: usize, mut f: impl FnMut() -> Result<Array>) -> Result<f64> {
    for _ in 0..2 {
        f()?.eval()?;
    }
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let s = Instant::now();
        let out = f()?;
        out.eval()?;
        mlxr::synchronize()?;
        t.push(s.elapsed().as_secs_f64() * 1e3);
    }
    t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    Ok(t[t.len() / 2])
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
    };
    let device = match get("--device").as_deref() {
        Some("gpu") => Device::gpu(0)?,
        _ => Device::cpu(),
    };
    let reps: usize = get("--reps").map_or(10, |r| r.parse().expect("--reps N"));
    let only: Option<Vec<String>> = get("--only").map(|s| s.split(',').map(String::from).collect());
    let want = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));

    mlxr::with_device(device, || -> Result<()> {
        let n = 4096;
        let x = rand(&[n, n], 1);
        let y = rand(&[n, n], 2);
        let m1a = rand(&[1024, 1024], 3);
        let m1b = rand(&[1024, 1024], 4);
        let m2a = rand(&[2048, 2048], 5);
        let m2b = rand(&[2048, 2048], 6);
        let run = |name: &str, f: &mut dyn FnMut() -> Result<Array>| -> Result<()> {
            if want(name) {
                let r = if HEAVY.contains(&name) {
                    reps.min(HEAVY_REPS)
                } else {
                    reps
                };
                let ms = time(r, f)?;
                println!("{{\"op\": \"{name}\", \"ms\": {ms:.4}}}");
            }
            Ok(())
        };
        run("add", &mut || ops::add(&x, &y))?;
        run("exp", &mut || ops::exp(&x))?;
        run("sum_all", &mut || ops::sum(&x, None, false))?;
        run("sum_last", &mut || ops::sum(&x, Some(&[-1]), false))?;
        run("sum_first", &mut || ops::sum(&x, Some(&[0]), false))?;
        run("softmax", &mut || ops::softmax(&x, Some(&[-1]), false))?;
        run("matmul_1024", &mut || ops::matmul(&m1a, &m1b))?;
        run("matmul_2048", &mut || ops::matmul(&m2a, &m2b))?;
        run("transpose_copy", &mut || {
            ops::contiguous(&ops::transpose(&x)?)
        })?;
        run("argmax_last", &mut || ops::argmax(&x, Some(-1), false))?;
        run("argmin_first", &mut || ops::argmin(&x, Some(0), false))?;
        run("argmax_all", &mut || ops::argmax(&x, None, false))?;
        // Issue 3: sorting, gathers/scatters of rows, scans.
        let heavy = [
            "sort_last",
            "argsort_last",
            "sort_flat",
            "take_rows",
            "scatter_add_rows",
        ];
        if heavy.iter().any(|h| want(h)) {
            let wide = rand(&[4096, 16384], 7);
            run("sort_last", &mut || ops::sort(&wide, Some(-1)))?;
            run("argsort_last", &mut || ops::argsort(&wide, Some(-1)))?;
            drop(wide);
            let flat = rand(&[1 << 24], 8);
            run("sort_flat", &mut || ops::sort(&flat, None))?;
            drop(flat);
            let table = rand(&[131072, 1024], 9);
            let idx = rand_idx(32768, 131072, 10);
            let upd = rand(&[32768, 1, 1024], 11);
            run("take_rows", &mut || ops::take(&table, &idx, Some(0)))?;
            run("scatter_add_rows", &mut || {
                ops::scatter_add(&table, std::slice::from_ref(&idx), &upd, &[0])
            })?;
        }
        run("cumsum_last", &mut || {
            ops::cumsum(&x, Some(-1), false, true)
        })?;
        let _ = Dtype::Float32;
        Ok(())
    })
}
