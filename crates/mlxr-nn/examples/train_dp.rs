//! Data-parallel training of the main job's language model (`mlxr_nn::models::Lm`) over the
//! processes of a distributed job: every process builds the same model (same seed) and the
//! same global batch, takes its own slice of the batch's rows, computes the loss and the
//! gradients on that slice, averages the gradients over the group
//! (`mlxr_nn::distributed::average_gradients`) and applies the same optimizer update, so
//! all processes keep identical parameters, equal (up to float rounding) to one process
//! training on the whole batch.
//!
//! ```text
//! cargo build --release --features mpi --example train_dp
//! mlxr-launch -n 2 --backend mpi -- target/release/examples/train_dp --steps 50
//! # on GPUs: cargo build --release --features cuda --example train_dp, then --backend nccl
//! ```
//!
//! Started without a launcher it trains alone (the singleton group). Rank 0 prints the
//! loss averaged over the group and can save the final weights (`--out`).

use clap::{Parser, ValueEnum};
use mlxr::distributed::{self, Group};
use mlxr::{Array, Result};
use mlxr_nn::distributed::average_gradients;
use mlxr_nn::models::{Lm, LmConfig};
use mlxr_nn::optimizers::{AdamW, Optimizer, Sgd};
use mlxr_nn::ModuleExt;

/// Model sizes: `micro` (1 layer, 32 wide, for tests) and the main job's `tiny`/`small`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Size {
    /// 1 layer, 32 wide, 2 heads.
    Micro,
    /// 2 layers, 128 wide, 4 heads.
    Tiny,
    /// 4 layers, 256 wide, 8 heads.
    Small,
}

/// The optimizer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Opt {
    /// AdamW (betas 0.9/0.95, weight decay 0.01), as the main job.
    Adamw,
    /// Plain SGD.
    Sgd,
}

/// Data-parallel training of the mlxr language model.
#[derive(Parser, Debug, Clone)]
pub struct Args {
    /// Optimizer steps.
    #[arg(long, default_value_t = 100)]
    pub steps: usize,
    /// Global batch (sequences per step over all processes; a multiple of their number).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Context length in characters.
    #[arg(long, default_value_t = 64)]
    pub context: usize,
    /// Model size.
    #[arg(long, value_enum, default_value_t = Size::Tiny)]
    pub model_size: Size,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = Opt::Adamw)]
    pub optimizer: Opt,
    /// Learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Random seed (model initialisation and batches; the same on every process).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where rank 0 saves the final weights (`.safetensors`).
    #[arg(long)]
    pub out: Option<String>,
    /// Print the loss every this many steps (0: never).
    #[arg(long, default_value_t = 10)]
    pub log_every: usize,
}

/// What a run ends with.
pub struct Trained {
    /// The model after the last step.
    pub model: Lm,
    /// The loss of every step, averaged over the group.
    pub losses: Vec<f32>,
    /// The group it trained in.
    pub group: Group,
}

fn lcg(s: &mut u64) -> usize {
    *s = s
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*s >> 33) as usize
}

/// A small generated corpus (sentences from a tiny grammar), as token ids, and its size of
/// vocabulary.
fn corpus(seed: u64) -> (Vec<i32>, usize) {
    let words = [
        "the", "a", "fox", "dog", "bird", "runs", "sees", "sleeps", "near", "river", "tree",
        "quick", "lazy", "old",
    ];
    let mut s = seed ^ 0x9e37_79b9;
    let mut text = String::new();
    for _ in 0..4000 {
        let n = 3 + lcg(&mut s) % 5;
        let sentence: Vec<&str> = (0..n).map(|_| words[lcg(&mut s) % words.len()]).collect();
        text.push_str(&sentence.join(" "));
        text.push_str(". ");
    }
    let mut chars: Vec<char> = text.chars().collect();
    chars.sort_unstable();
    chars.dedup();
    let ids = text
        .chars()
        .map(|c| chars.binary_search(&c).unwrap_or(0) as i32)
        .collect();
    (ids, chars.len())
}

/// The global batch of one step (the same on every process): inputs and next tokens.
fn global_batch(data: &[i32], batch: usize, context: usize, rng: &mut u64) -> Vec<Vec<i32>> {
    (0..batch)
        .map(|_| {
            let start = lcg(rng) % (data.len() - context - 1);
            data[start..start + context + 1].to_vec()
        })
        .collect()
}

/// Rows `rows` of a batch as `(x, y)` arrays.
fn rows_to_arrays(rows: &[Vec<i32>], context: usize) -> Result<(Array, Array)> {
    let x: Vec<i32> = rows.iter().flat_map(|r| r[..context].to_vec()).collect();
    let y: Vec<i32> = rows.iter().flat_map(|r| r[1..].to_vec()).collect();
    Ok((
        Array::from_slice(&x, &[rows.len(), context])?,
        Array::from_slice(&y, &[rows.len(), context])?,
    ))
}

fn loss_fn(m: &Lm, a: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![m.loss(&a[0], &a[1])?])
}

/// Train in the world group (MPI or NCCL when launched so, else alone).
pub fn run(args: &Args) -> Result<Trained> {
    let group = distributed::init(false, "any")?;
    let (rank, size) = (group.rank(), group.size());
    if !args.batch.is_multiple_of(size) || args.batch == 0 {
        return Err(mlxr::Error::InvalidArgument(format!(
            "train_dp: the batch {} is not a positive multiple of the {size} processes",
            args.batch
        )));
    }
    mlxr::random::seed(args.seed);
    let (data, vocab) = corpus(args.seed);
    let cfg = match args.model_size {
        Size::Micro => LmConfig {
            vocab,
            dims: 32,
            layers: 1,
            heads: 2,
        },
        Size::Tiny => LmConfig::named("tiny", vocab)?,
        Size::Small => LmConfig::named("small", vocab)?,
    };
    let mut model = Lm::new(cfg)?;
    let mut opt: Box<dyn Optimizer> = match args.optimizer {
        Opt::Adamw => Box::new(AdamW::new(args.lr, (0.9, 0.95), 1e-8, 0.01, true)?),
        Opt::Sgd => Box::new(Sgd::new(args.lr, 0.0, 0.0, 0.0, false)?),
    };
    if rank == 0 {
        println!(
            "train_dp: {size} process(es) ({} backend), {} parameters, global batch {} ({} per process)",
            group.backend_name(),
            model.num_parameters(),
            args.batch,
            args.batch / size
        );
    }
    let vg = mlxr_nn::value_and_grad(loss_fn);
    let per = args.batch / size;
    let mut rng = args.seed.wrapping_add(17);
    let mut losses = Vec::with_capacity(args.steps);
    for step in 1..=args.steps {
        let rows = global_batch(&data, args.batch, args.context, &mut rng);
        let (x, y) = rows_to_arrays(&rows[rank * per..(rank + 1) * per], args.context)?;
        let (loss, grads) = vg(&model, &[x, y])?;
        let grads = average_gradients(&grads, Some(&group), 32 << 20)?;
        opt.update(&mut model, &grads)?;
        let mean_loss =
            mlxr::ops::divide(&distributed::all_sum(&loss[0], Some(&group))?, size as f32)?;
        let mut all: Vec<Array> = model
            .named_parameters()
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        all.extend(opt.state_arrays());
        all.push(mean_loss.clone());
        mlxr::eval(&all)?;
        let l = mean_loss.item::<f32>()?;
        losses.push(l);
        if rank == 0 && args.log_every > 0 && (step % args.log_every == 0 || step == 1) {
            println!("step {step}: loss {l:.4}");
        }
    }
    if rank == 0 {
        if let Some(out) = &args.out {
            model.save_weights(out)?;
            println!("train_dp: wrote {out}");
        }
    }
    Ok(Trained {
        model,
        losses,
        group,
    })
}

#[allow(dead_code)]
fn main() -> Result<()> {
    let args = Args::parse();
    let t = run(&args)?;
    if t.group.rank() == 0 {
        println!(
            "train_dp: final loss {:.4}",
            t.losses.last().copied().unwrap_or(f32::NAN)
        );
    }
    Ok(())
}
