//! The gradient benchmark: forward + backward (`value_and_grad`) of a 4-layer MLP (batch
//! 256, width 1024, ReLU, mean squared error) in float32, timed on the chosen device; prints
//! one JSON line (`{"op": "mlp_value_and_grad", "ms": median}`), like `bench_ops`.
//!
//! Usage: `bench_grad [--device cpu|gpu] [--reps N]`; `bench/run_grad.py` runs it beside MLX.

use mlxr::ops;
use mlxr::{Array, Device, Result};
use std::time::Instant;

fn rand(shape: &[usize], seed: u64, scale: f32) -> Array {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let v: Vec<f32> = (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect();
    let a = ops::contiguous(&Array::from_slice(&v, shape).expect("shape")).expect("copy");
    a.eval().expect("eval");
    a
}

/// The MLP loss: `params` = [w0, b0, w1, b1, ...].
fn loss(p: &[Array], x: &Array, y: &Array) -> Result<Array> {
    let mut h = x.clone();
    let layers = p.len() / 2;
    for l in 0..layers {
        h = ops::add(&ops::matmul(&h, &p[2 * l])?, &p[2 * l + 1])?;
        if l + 1 < layers {
            h = ops::maximum(&h, 0.0)?;
        }
    }
    ops::mean(&ops::square(&ops::subtract(&h, y)?)?, None, false)
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
    mlxr::with_device(device, || -> Result<()> {
        let (batch, width, layers) = (256, 1024, 4);
        let x = rand(&[batch, width], 1, 1.0);
        let y = rand(&[batch, width], 2, 1.0);
        let mut params = Vec::new();
        for l in 0..layers {
            params.push(rand(
                &[width, width],
                10 + l as u64,
                1.0 / (width as f32).sqrt(),
            ));
            params.push(rand(&[width], 20 + l as u64, 0.01));
        }
        let argnums: Vec<usize> = (0..params.len()).collect();
        let vg = mlxr::value_and_grad(|p: &[Array]| Ok(vec![loss(p, &x, &y)?]), &argnums);
        let step = || -> Result<()> {
            let (v, g) = vg(&params)?;
            let mut all = v;
            all.extend(g);
            mlxr::eval(&all)?;
            mlxr::synchronize()
        };
        for _ in 0..2 {
            step()?;
        }
        let mut t = Vec::new();
        for _ in 0..reps {
            let s = Instant::now();
            step()?;
            t.push(s.elapsed().as_secs_f64() * 1e3);
        }
        t.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        println!(
            "{{\"op\": \"mlp_value_and_grad\", \"ms\": {:.4}}}",
            t[t.len() / 2]
        );
        Ok(())
    })
}
