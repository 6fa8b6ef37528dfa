//! The training-throughput benchmark: tokens per second of one training step (forward,
//! backward, AdamW update, all evaluated) of the main job's language model
//! (`mlxr_nn::models::Lm`, as `examples/train_lm.rs`) on random tokens (vocabulary 28 by
//! default, train_lm's). Each size prints one JSON line with the median step time over
//! `--steps` timed steps after `--warmup` untimed ones (or an `"error"` field when the step
//! fails, e.g. an op without a GPU kernel); `bench/train_peers.py` times the same model in
//! MLX and PyTorch with the same output format, and `bench/run_train.py` runs them side by
//! side.
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

/// The result of one size: `(parameters, median step seconds, last loss)`.
fn run_size(
    size: &str,
    vocab: usize,
    batch: usize,
    context: usize,
    warmup: usize,
    steps: usize,
) -> Result<(usize, f64, f32)> {
    mlxr::random::seed(0);
    let mut model = Lm::new(LmConfig::named(size, vocab)?)?;
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
        } else if i + 1 == warmup {
            // Profile (MLXR_PROFILE=1) the timed steps only.
            mlxr::gpu_profile_report(0)?;
        }
        last_loss = loss[0].item::<f32>()?;
    }
    times.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    if let Some(r) = mlxr::gpu_profile_report(30)? {
        eprintln!("size {size}, {steps} steps:\n{r}");
    }
    Ok((model.num_parameters(), times[times.len() / 2], last_loss))
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
    let sizes = get("--size").unwrap_or_else(|| "tiny,small".into());
    let device = match dev_name.as_str() {
        "gpu" | "cuda" => Device::gpu(0),
        _ => Ok(Device::cpu()),
    };
    let device = match device {
        Ok(d) => d,
        Err(e) => {
            for size in sizes.split(',') {
                println!(
                    "{{\"impl\": \"mlxr\", \"device\": \"{dev_name}\", \"size\": \"{size}\", \"error\": {:?}}}",
                    e.to_string()
                );
            }
            return Ok(());
        }
    };
    let (steps, warmup) = (num("--steps", 10).max(1), num("--warmup", 3));
    let (batch, context) = (num("--batch", 32), num("--context", 64));
    let vocab = num("--vocab", 28);
    mlxr::with_device(device, || {
        for size in sizes.split(',') {
            match run_size(size, vocab, batch, context, warmup, steps) {
                Ok((params, med, loss)) => println!(
                    "{{\"impl\": \"mlxr\", \"device\": \"{dev_name}\", \"size\": \"{size}\", \"params\": {params}, \"batch\": {batch}, \"context\": {context}, \"steps\": {steps}, \"step_ms\": {:.3}, \"tokens_per_s\": {:.1}, \"loss\": {loss:.4}}}",
                    med * 1e3,
                    (batch * context) as f64 / med
                ),
                Err(e) => println!(
                    "{{\"impl\": \"mlxr\", \"device\": \"{dev_name}\", \"size\": \"{size}\", \"error\": {:?}}}",
                    e.to_string()
                ),
            }
        }
    });
    Ok(())
}
