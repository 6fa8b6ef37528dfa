//! The training-throughput benchmark: tokens per second of one training step (forward,
//! backward, AdamW update, all evaluated) of the main job's language model
//! (`mlxr_nn::models::Lm`, as `examples/train_lm.rs`) on random tokens (vocabulary 28 by default, train_lm's). Each size prints
//! one JSON line with the median step time over `--steps` timed steps after `--warmup`
//! untimed ones; `bench/train_peers.py` times the same model in MLX and PyTorch with the same
//! output format, and `bench/run_train.py` runs them side by side.
//!
//! Usage: `bench_train [--device cpu|gpu] [--size tiny,small] [--steps N] [--warmup N]
//! [--batch B] [--context L] [--vocab V]`

use mlxr::{Array, Device, Result};
use mlxr_nn::models::{Lm, LmConfig};
use mlxr_nn::optimizers::{AdamW, Optimizer};
use mlxr_nn::ModuleExt;
use std::time::Instant;

/// Random tokens in `[0, vocab)` of shape `(batch, context)` from a small generator.
fn tokens(batch: usize, context: usize, vocab: usize, seed: &mut u64) -> Result<Array> {
    let v: Vec<i32> = (0..batch * context)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((*seed >> 33) % vocab as u64) as i32
        })
        .collect();
    Array::from_slice(&v, &[batch, context])
}

fn loss_fn(m: &Lm, a: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![m.loss(&a[0], &a[1])?])
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let get = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let num = |k: &str, d: usize| get(k).map_or(d, |v| v.parse().expect("a number"));
    let dev_name = get("--device").unwrap_or_else(|| "cpu".into());
    let device = match dev_name.as_str() {
        "gpu" | "cuda" => Device::gpu(0)?,
        _ => Device::cpu(),
    };
    let sizes = get("--size").unwrap_or_else(|| "tiny,small".into());
    let (steps, warmup) = (num("--steps", 10), num("--warmup", 3));
    let (batch, context, vocab) = (num("--batch", 32), num("--context", 64), num("--vocab", 28));
    mlxr::with_device(device, || -> Result<()> {
        for size in sizes.split(',') {
            mlxr::random::seed(0);
            let cfg = LmConfig::named(size, vocab)?;
            let mut model = Lm::new(cfg)?;
            let params: Vec<Array> = model
                .named_parameters()
                .into_iter()
                .map(|(_, a)| a)
                .collect();
            mlxr::eval(&params)?;
            let mut opt = AdamW::new(3e-3, (0.9, 0.95), 1e-8, 0.01, true)?;
            let vg = mlxr_nn::value_and_grad(loss_fn);
            let mut seed = 7u64;
            let mut times = Vec::with_capacity(steps);
            let mut last_loss = f32::NAN;
            for i in 0..warmup + steps {
                let x = tokens(batch, context, vocab, &mut seed)?;
                let y = tokens(batch, context, vocab, &mut seed)?;
                mlxr::eval(&[x.clone(), y.clone()])?;
                let start = Instant::now();
                let (loss, grads) = vg(&model, &[x, y])?;
                opt.update(&mut model, &grads)?;
                let mut all: Vec<Array> = model
                    .named_parameters()
                    .into_iter()
                    .map(|(_, a)| a)
                    .collect();
                all.extend(opt.state_arrays());
                all.push(loss[0].clone());
                mlxr::eval(&all)?;
                mlxr::synchronize()?;
                let dt = start.elapsed().as_secs_f64();
                if i >= warmup {
                    times.push(dt);
                }
                last_loss = loss[0].item::<f32>()?;
            }
            times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
            let med = times[times.len() / 2];
            println!(
                "{{\"impl\": \"mlxr\", \"device\": \"{dev_name}\", \"size\": \"{size}\", \"params\": {}, \"batch\": {batch}, \"context\": {context}, \"steps\": {steps}, \"step_ms\": {:.3}, \"tokens_per_s\": {:.1}, \"loss\": {last_loss:.4}}}",
                model.num_parameters(),
                med * 1e3,
                (batch * context) as f64 / med
            );
        }
        Ok(())
    })
}
