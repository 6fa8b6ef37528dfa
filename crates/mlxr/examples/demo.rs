//! The main job until training lands: build a small computation lazily — a two-layer MLP
//! classifier's forward pass on random data, with softmax probabilities, a cross-entropy
//! loss and accuracy — evaluate it on the default device, and report what ran where.
//!
//! Run: `cargo run --release --example demo [-- --device cpu|gpu]`

use mlxr::ops;
use mlxr::{Array, Device, Dtype, Result};
use std::time::Instant;

fn randn(shape: &[usize], seed: u64, scale: f32) -> Result<Array> {
    // A small deterministic generator (xorshift + Box-Muller) so the demo needs no RNG crate.
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let v: Vec<f32> = (0..n)
        .map(|_| {
            let (u1, u2) = (next(), next());
            ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32 * scale
        })
        .collect();
    Array::from_slice(&v, shape)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let device = match args
        .iter()
        .position(|a| a == "--device")
        .map(|i| args[i + 1].as_str())
    {
        Some("cpu") => Device::cpu(),
        Some("gpu") => Device::gpu(0)?,
        _ => mlxr::default_device(),
    };
    mlxr::set_default_device(device)?;
    println!("mlxr demo on {device}");

    let (batch, din, hidden, classes) = (512usize, 256usize, 1024usize, 10usize);
    let x = randn(&[batch, din], 1, 1.0)?;
    let w1 = randn(&[din, hidden], 2, (2.0 / din as f32).sqrt())?;
    let b1 = ops::zeros(&[hidden], Some(Dtype::Float32))?;
    let w2 = randn(&[hidden, classes], 3, (1.0 / hidden as f32).sqrt())?;
    let labels: Vec<u32> = (0..batch as u32)
        .map(|i| (i * 7 + 3) % classes as u32)
        .collect();
    let labels = Array::from_slice(&labels, &[batch])?;

    // Build the graph: nothing is computed yet.
    let t0 = Instant::now();
    let h = ops::maximum(&ops::add(&ops::matmul(&x, &w1)?, &b1)?, 0.0)?;
    let logits = ops::matmul(&h, &w2)?;
    let probs = ops::softmax(&logits, Some(&[-1]), false)?;
    // Cross-entropy through a one-hot mask: logsumexp(logits) - logits[label].
    let classes_row = ops::arange_range(0.0, classes as f64, 1.0, Some(Dtype::Uint32))?;
    let onehot = ops::equal(&ops::expand_dims(&labels, &[-1])?, &classes_row)?;
    let picked = ops::sum(&ops::multiply(&logits, &onehot)?, Some(&[-1]), false)?;
    let lse = ops::logsumexp(&logits, Some(&[-1]), false)?;
    let loss = ops::divide(
        &ops::sum(&ops::subtract(&lse, &picked)?, None, false)?,
        batch as f32,
    )?;
    let pred = ops::argmax(&logits, Some(-1), false)?;
    let correct = ops::sum(&ops::equal(&pred, &labels)?, None, false)?;
    let built = t0.elapsed();
    assert!(!loss.is_evaluated(), "ops are lazy");

    let t1 = Instant::now();
    mlxr::eval(&[loss.clone(), correct.clone(), probs.clone()])?;
    let ran = t1.elapsed();

    let flops = 2.0 * batch as f64 * (din * hidden + hidden * classes) as f64;
    println!(
        "graph built in {:.3} ms, evaluated in {:.3} ms ({:.2} GFLOP/s)",
        built.as_secs_f64() * 1e3,
        ran.as_secs_f64() * 1e3,
        flops / ran.as_secs_f64() / 1e9
    );
    println!(
        "cross-entropy loss {:.4} (log({classes}) = {:.4} for an untrained model), accuracy {:.3}",
        loss.item::<f32>()?,
        (classes as f32).ln(),
        correct.item::<f32>()? / batch as f32
    );
    let first = ops::slice(&probs, &[0, 0], &[1, classes as isize], &[1, 1])?;
    println!("probabilities of the first example: {first}");
    let row_sums = ops::sum(&probs, Some(&[-1]), false)?.to_vec::<f32>()?;
    let worst = row_sums
        .iter()
        .map(|s| (s - 1.0).abs())
        .fold(0.0f32, f32::max);
    println!("every row of the softmax sums to 1 (largest deviation {worst:.2e})");
    Ok(())
}
