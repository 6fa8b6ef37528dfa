//! Random numbers with MLX's splittable keys (`mx.random`): a key is a uint32 array of
//! shape `[2]`; `bits` hashes counters with threefry2x32 under the key, and every
//! distribution is a function of those bits, so the same key, shape and dtype give the
//! values MLX 0.32 gives. Calls without a key use a per-thread global key (seeded from
//! the clock, reset by [`seed`]) that is split on every use, as MLX does.
//!
//! Differences from MLX: float64 is accepted (MLX's CPU raises "Unsupported type");
//! `multivariate_normal` computes the covariance's square root with a Jacobi
//! eigen-solver instead of MLX's SVD, so its values match MLX to float32 rounding, not
//! bit for bit.

use crate::array::Array;
use crate::backend::cpu::random::threefry2x32;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops::{self, broadcast_shapes, stream, to_array, ToOperand};
use crate::primitives::random::{
    Bernoulli, Categorical, ComplexNormal, Dist, MvnApply, RandInt, RandomBits, RandomTransform,
    SymSqrt,
};
use std::cell::{Cell, RefCell};
use std::sync::Arc;

thread_local! {
    static GLOBAL_KEY: Cell<Option<[u32; 2]>> = const { Cell::new(None) };
    /// The global key as an array, once [`set_state`] gave one (it may be lazy, e.g. a
    /// compiled function's traced input): then it replaces `GLOBAL_KEY` and is split lazily.
    static GLOBAL_KEY_ARRAY: RefCell<Option<Array>> = const { RefCell::new(None) };
}

fn key_pair(seed: u64) -> [u32; 2] {
    [(seed >> 32) as u32, seed as u32]
}

/// Split a key value in two, as `split(key)` does.
fn split_pair(k: [u32; 2]) -> ([u32; 2], [u32; 2]) {
    // bits of shape [2, 2] (4 words): pairs (w0, w2) and (w1, w3).
    let a = threefry2x32(k, [0, 2]);
    let b = threefry2x32(k, [1, 3]);
    ([a[0], b[0]], [a[1], b[1]])
}

/// Seed this thread's global key (`mx.random.seed`).
pub fn seed(s: u64) {
    GLOBAL_KEY_ARRAY.with(|g| *g.borrow_mut() = None);
    GLOBAL_KEY.with(|g| g.set(Some(key_pair(s))));
}

fn clock_pair() -> [u32; 2] {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    key_pair(ms)
}

/// This thread's global key as a uint32 array of shape `[2]` (MLX's `mx.random.state[0]`).
/// Compiled functions take it as an input (and give the next one as an output) so that
/// their random numbers vary between calls.
pub fn state() -> Array {
    if let Some(k) = GLOBAL_KEY_ARRAY.with(|g| g.borrow().clone()) {
        return k;
    }
    let k = GLOBAL_KEY.with(|g| {
        let k = g.get().unwrap_or_else(clock_pair);
        g.set(Some(k));
        k
    });
    Array::from_slice(&k, &[2]).expect("key")
}

/// Replace this thread's global key by `key` (uint32 of shape `[2]`, possibly lazy): the
/// next samplers without a key split it with graph ops, so a traced key flows through.
pub fn set_state(key: &Array) -> Result<()> {
    crate::backend::cpu::random::key_value_check(key)?;
    GLOBAL_KEY_ARRAY.with(|g| *g.borrow_mut() = Some(key.clone()));
    Ok(())
}

/// The next key of the global sequence: the global key is split in two, the first half
/// becomes the new global key and the second is returned.
fn next_key() -> Result<Array> {
    if let Some(k) = GLOBAL_KEY_ARRAY.with(|g| g.borrow().clone()) {
        let s = split(&k, 2)?;
        let next = ops::take_index(&s, 0, Some(0))?;
        GLOBAL_KEY_ARRAY.with(|g| *g.borrow_mut() = Some(next));
        return ops::take_index(&s, 1, Some(0));
    }
    let k = GLOBAL_KEY.with(|g| {
        let cur = g.get().unwrap_or_else(clock_pair);
        let (a, b) = split_pair(cur);
        g.set(Some(a));
        b
    });
    Array::from_slice(&k, &[2])
}

fn get_key(key: Option<&Array>) -> Result<Array> {
    match key {
        Some(k) => {
            crate::backend::cpu::random::key_value_check(k)?;
            Ok(k.clone())
        }
        None => next_key(),
    }
}

/// A PRNG key from a seed (`mx.random.key`): uint32 `[seed >> 32, seed & 0xffffffff]`.
pub fn key(seed: u64) -> Array {
    Array::from_slice(&key_pair(seed), &[2]).expect("key")
}

/// Random bits of `shape`: `width` bytes per element (1, 2 or 4 → uint8, uint16, uint32).
pub fn bits(shape: &[usize], width: usize, key: Option<&Array>) -> Result<Array> {
    let dtype = match width {
        1 => Dtype::Uint8,
        2 => Dtype::Uint16,
        4 => Dtype::Uint32,
        w => {
            return Err(Error::InvalidArgument(format!(
                "[bits] Width must be 1, 2 or 4 bytes, got {w}."
            )))
        }
    };
    let key = get_key(key)?;
    Ok(Array::new_node(
        shape.to_vec(),
        dtype,
        Arc::new(RandomBits {
            shape: shape.to_vec(),
            width,
        }),
        vec![key],
        stream(),
    ))
}

/// Split `key` into `num` keys (`mx.random.split(key, num)`): uint32 of shape `[num, 2]`.
pub fn split(key: &Array, num: usize) -> Result<Array> {
    bits(&[num, 2], 4, Some(key))
}

/// Split `key` into two keys.
pub fn split2(key: &Array) -> Result<(Array, Array)> {
    let s = split(key, 2)?;
    Ok((
        ops::take_index(&s, 0, Some(0))?,
        ops::take_index(&s, 1, Some(0))?,
    ))
}

/// A parameter for a distribution kernel: kept as is when it has one element, else
/// broadcast to the output shape.
fn param(p: &Array, shape: &[usize]) -> Result<Array> {
    if p.size() == 1 {
        Ok(p.clone())
    } else {
        ops::broadcast_to(p, shape)
    }
}

fn check_float(dtype: Dtype, op: &str) -> Result<()> {
    if !dtype.is_floating() {
        return Err(Error::Dtype(format!(
            "[{op}] Can only generate uniform numbers with real floating point type, got {dtype}."
        )));
    }
    Ok(())
}

fn check_shape(shape: &[usize], params: &[&Array], op: &str) -> Result<()> {
    let mut b = shape.to_vec();
    for p in params {
        b = broadcast_shapes(&b, p.shape(), op)?;
    }
    if b != shape {
        return Err(Error::Shape(format!(
            "[{op}] Cannot generate random values of shape {shape:?} from broadcasted shape {b:?}."
        )));
    }
    Ok(())
}

fn transform(
    shape: &[usize],
    dtype: Dtype,
    dist: Dist,
    ps: Vec<Array>,
    key: Option<&Array>,
) -> Result<Array> {
    let b = bits(shape, 4, key)?;
    let mut inputs = vec![b];
    for p in &ps {
        inputs.push(param(p, shape)?);
    }
    Ok(Array::new_node(
        shape.to_vec(),
        dtype,
        Arc::new(RandomTransform { dist, dtype }),
        inputs,
        stream(),
    ))
}

/// Uniform samples in `[low, high)` (`mx.random.uniform`). `low` and `high` (scalars or
/// arrays, converted to `dtype`) must broadcast to `shape`. `dtype` must be a real
/// floating type. As in MLX, rounding in low precision can return `high` itself.
pub fn uniform(
    low: impl ToOperand,
    high: impl ToOperand,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    check_float(dtype, "uniform")?;
    let (lo, hi) = (to_array(low), to_array(high));
    check_shape(shape, &[&lo, &hi], "uniform")?;
    transform(shape, dtype, Dist::Uniform, vec![lo, hi], key)
}

/// Standard normal samples (`mx.random.normal` with `loc = 0`, `scale = 1`) with
/// `loc` / `scale` applied as in MLX (`x * scale + loc`, skipped when 1 / 0). For
/// complex64 the real and imaginary parts are each N(0, 1/2).
pub fn normal(
    shape: &[usize],
    dtype: Dtype,
    loc: f32,
    scale: f32,
    key: Option<&Array>,
) -> Result<Array> {
    let l = (loc != 0.0).then(|| Array::scalar(loc));
    let s = (scale != 1.0).then(|| Array::scalar(scale));
    normal_with(shape, dtype, l.as_ref(), s.as_ref(), key)
}

/// Normal samples with optional array `loc` and `scale` (converted to `dtype`, broadcast to
/// `shape`).
pub fn normal_with(
    shape: &[usize],
    dtype: Dtype,
    loc: Option<&Array>,
    scale: Option<&Array>,
    key: Option<&Array>,
) -> Result<Array> {
    if dtype == Dtype::Complex64 {
        let one = |a: Option<&Array>| -> Result<Option<f32>> {
            match a {
                None => Ok(None),
                Some(a) if a.size() == 1 => Ok(Some(a.item::<f32>()?)),
                Some(a) => Err(Error::InvalidArgument(format!(
                    "[normal] complex64 samples take scalar loc and scale, got shape {:?}",
                    a.shape()
                ))),
            }
        };
        let (l, s) = (one(loc)?, one(scale)?);
        let mut bshape = shape.to_vec();
        bshape.push(2);
        let b = bits(&bshape, 4, key)?;
        return Ok(Array::new_node(
            shape.to_vec(),
            dtype,
            Arc::new(ComplexNormal { scale: s, loc: l }),
            vec![b],
            stream(),
        ));
    }
    if !dtype.is_floating() {
        return Err(Error::Dtype(format!(
            "[normal] Only floating point and complex64 types are supported, got {dtype}."
        )));
    }
    let mut ps = vec![];
    if let Some(s) = scale {
        ps.push(s.clone());
    }
    if let Some(l) = loc {
        ps.push(l.clone());
    }
    let refs: Vec<&Array> = ps.iter().collect();
    check_shape(shape, &refs, "normal")?;
    transform(
        shape,
        dtype,
        Dist::Normal {
            scale: scale.is_some(),
            loc: loc.is_some(),
        },
        ps,
        key,
    )
}

/// Integers uniformly in `[low, high)` (`mx.random.randint`); `dtype` must be an integer
/// type (or bool). As in MLX, samples are drawn in float32 and clipped to
/// `[low, high - 1]` after conversion, so bounds beyond float32's exact integers or
/// outside `dtype`'s range behave as MLX's do.
pub fn randint(
    low: impl ToOperand,
    high: impl ToOperand,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    if dtype.is_inexact() {
        return Err(Error::Dtype(
            "[randint] randint only accepts integer dtypes and bool.".into(),
        ));
    }
    let (lo, hi) = (to_array(low), to_array(high));
    check_shape(shape, &[&lo, &hi], "randint")?;
    let b = bits(shape, 4, key)?;
    Ok(Array::new_node(
        shape.to_vec(),
        dtype,
        Arc::new(RandInt { dtype }),
        vec![b, param(&lo, shape)?, param(&hi, shape)?],
        stream(),
    ))
}

/// Bernoulli samples (bool) that are true with probability `p` (`mx.random.bernoulli`):
/// `uniform(p.dtype) < p`. `p` must be floating (a Rust float becomes float32); `shape`
/// defaults to `p`'s shape.
pub fn bernoulli(p: impl ToOperand, shape: Option<&[usize]>, key: Option<&Array>) -> Result<Array> {
    let p = to_array(p);
    if !p.dtype().is_floating() {
        return Err(Error::Dtype(format!(
            "[bernoulli] bernoulli probability `p` must be a float type, got {}.",
            p.dtype()
        )));
    }
    let shape = shape.map_or_else(|| p.shape().to_vec(), |s| s.to_vec());
    check_shape(&shape, &[&p], "bernoulli")?;
    let b = bits(&shape, 4, key)?;
    Ok(Array::new_node(
        shape.clone(),
        Dtype::Bool,
        Arc::new(Bernoulli),
        vec![b, param(&p, &shape)?],
        stream(),
    ))
}

/// Samples of the standard normal truncated to `[lower, upper]`
/// (`mx.random.truncated_normal`): inverse-CDF sampling between `erf(lower/√2)` and
/// `erf(upper/√2)`, clipped to the bounds. `shape` defaults to the bounds' broadcast
/// shape.
pub fn truncated_normal(
    lower: impl ToOperand,
    upper: impl ToOperand,
    shape: Option<&[usize]>,
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    check_float(dtype, "truncated_normal")?;
    let (lo, hi) = (to_array(lower), to_array(upper));
    let shape = match shape {
        Some(s) => s.to_vec(),
        None => broadcast_shapes(lo.shape(), hi.shape(), "truncated_normal")?,
    };
    check_shape(&shape, &[&lo, &hi], "truncated_normal")?;
    transform(&shape, dtype, Dist::TruncatedNormal, vec![lo, hi], key)
}

/// Samples of the standard Gumbel distribution (`-log(-log(u))`, `mx.random.gumbel`).
pub fn gumbel(shape: &[usize], dtype: Dtype, key: Option<&Array>) -> Result<Array> {
    check_float(dtype, "gumbel")?;
    transform(shape, dtype, Dist::Gumbel, vec![], key)
}

/// Samples of the Laplace distribution (`mx.random.laplace`).
pub fn laplace(
    shape: &[usize],
    dtype: Dtype,
    loc: f32,
    scale: f32,
    key: Option<&Array>,
) -> Result<Array> {
    check_float(dtype, "laplace")?;
    let mut ps = vec![];
    if scale != 1.0 {
        ps.push(Array::scalar(scale));
    }
    if loc != 0.0 {
        ps.push(Array::scalar(loc));
    }
    transform(
        shape,
        dtype,
        Dist::Laplace {
            scale: scale != 1.0,
            loc: loc != 0.0,
        },
        ps,
        key,
    )
}

/// Samples (uint32) from the categorical distributions given by unnormalised `logits`
/// along `axis` (`mx.random.categorical`); the output has `logits`' shape without `axis`.
pub fn categorical(logits: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let ax = ops::normalize_axis(axis, logits.ndim(), "categorical")?;
    let mut shape = logits.shape().to_vec();
    shape.remove(ax);
    categorical_impl(logits, ax, &shape, key)
}

/// [`categorical`] with an output `shape` that `logits`' shape without `axis` broadcasts
/// to.
pub fn categorical_shape(
    logits: &Array,
    axis: isize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    let ax = ops::normalize_axis(axis, logits.ndim(), "categorical")?;
    let mut red = logits.shape().to_vec();
    red.remove(ax);
    let b = broadcast_shapes(shape, &red, "categorical")?;
    if b != shape {
        return Err(Error::Shape(format!(
            "[categorical] Requested shape {shape:?} is not broadcast compatible with the logits' shape without the axis {red:?}."
        )));
    }
    categorical_impl(logits, ax, shape, key)
}

/// [`categorical`] drawing `num_samples` samples per distribution (last output axis).
pub fn categorical_samples(
    logits: &Array,
    axis: isize,
    num_samples: usize,
    key: Option<&Array>,
) -> Result<Array> {
    let ax = ops::normalize_axis(axis, logits.ndim(), "categorical")?;
    let mut shape = logits.shape().to_vec();
    shape.remove(ax);
    shape.push(num_samples);
    let l = ops::expand_dims(logits, &[-1])?;
    categorical_impl(&l, ax, &shape, key)
}

fn categorical_impl(
    logits: &Array,
    axis: usize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    // MLX 0.32 samples a single distribution (every axis but `axis` of size 1) into a
    // non-scalar output by inverse CDF, and every other case with the Gumbel trick.
    let n = logits.shape()[axis];
    if n > 0 && logits.size() == n && !shape.is_empty() {
        return categorical_cdf(logits, n, shape, key);
    }
    // Gumbel noise with the category axis inserted where it lands in the broadcast.
    let offset = axis + shape.len() + 1 - logits.ndim();
    let mut gshape = shape.to_vec();
    gshape.insert(offset, logits.shape()[axis]);
    let g = gumbel(&gshape, Dtype::Float32, key)?;
    let full = broadcast_shapes(&gshape, logits.shape(), "categorical")?;
    if full != gshape {
        return Err(Error::Shape(format!(
            "[categorical] logits of shape {:?} do not broadcast to {gshape:?}",
            logits.shape()
        )));
    }
    let lb = ops::broadcast_to(logits, &gshape)?;
    Ok(Array::new_node(
        shape.to_vec(),
        Dtype::Uint32,
        Arc::new(Categorical { axis: offset }),
        vec![g, lb],
        stream(),
    ))
}

/// Samples of one categorical distribution (`logits` holds its `n` logits) by inverse
/// CDF, as MLX 0.32 draws them: `p = exp(l - max l)` (a one-hot of the maximum when the
/// maximum is infinite), `u ~ U[0, 1)` of `shape`, and the sample is the first index whose
/// cumulative sum exceeds `u * Σp` (clamped to `n - 1` against rounding).
fn categorical_cdf(
    logits: &Array,
    n: usize,
    shape: &[usize],
    key: Option<&Array>,
) -> Result<Array> {
    let l = ops::reshape_to(logits, &[n])?;
    let m = ops::max(&l, None, false)?;
    let infinite = ops::logical_or(
        ops::equal(&m, f32::NEG_INFINITY)?,
        ops::equal(&m, f32::INFINITY)?,
    )?;
    let top = ops::astype(&ops::equal(&l, &m)?, l.dtype())?;
    let p = ops::where_(&infinite, &top, &ops::exp(&ops::subtract(&l, &m)?)?)?;
    let cdf = ops::cumsum(&p, Some(0), false, true)?;
    let total = ops::sum(&p, None, false)?;
    let u = uniform(0.0f32, 1.0f32, shape, Dtype::Float32, key)?;
    let idx = ops::searchsorted(&cdf, &ops::multiply(&u, &total)?, "right")?;
    ops::minimum(&idx, (n - 1) as u32)
}

/// A random permutation of `0..n` (uint32 — MLX's `argsort` of random bits).
pub fn permutation(n: usize, key: Option<&Array>) -> Result<Array> {
    ops::argsort(&bits(&[n], 4, key)?, Some(-1))
}

/// `x` with its entries along `axis` randomly permuted (`mx.random.permutation(x, axis)`).
pub fn permutation_of(x: &Array, axis: isize, key: Option<&Array>) -> Result<Array> {
    let ax = ops::normalize_axis(axis, x.ndim(), "permutation")?;
    let p = permutation(x.shape()[ax], key)?;
    ops::take(x, &p, Some(ax as isize))
}

/// Jointly normal samples with mean `mean` (`[..., n]`) and covariance `cov`
/// (`[..., n, n]`, positive semi-definite) — `mx.random.multivariate_normal`. The output
/// has shape `broadcast(shape, mean batch, cov batch) ++ [n]`; only float32 is supported
/// (as MLX). Samples are `mean + z @ sqrt(cov)` with `z` standard normal and `sqrt(cov)`
/// the symmetric square root (as MLX's `U·√S·Vᵀ`).
pub fn multivariate_normal(
    mean: &Array,
    cov: &Array,
    shape: &[usize],
    dtype: Dtype,
    key: Option<&Array>,
) -> Result<Array> {
    if dtype != Dtype::Float32 {
        return Err(Error::Dtype(format!(
            "[multivariate_normal] dtype must be float32, got {dtype}."
        )));
    }
    if mean.ndim() < 1 {
        return Err(Error::Shape(
            "[multivariate_normal] mean must have at least one dimension.".into(),
        ));
    }
    if cov.ndim() < 2 {
        return Err(Error::Shape(
            "[multivariate_normal] cov must have at least two dimensions.".into(),
        ));
    }
    let n = mean.shape()[mean.ndim() - 1];
    if cov.shape()[cov.ndim() - 1] != n || cov.shape()[cov.ndim() - 2] != n {
        return Err(Error::Shape(format!(
            "[multivariate_normal] cov of shape {:?} must be [..., {n}, {n}] for mean of shape {:?}.",
            cov.shape(),
            mean.shape()
        )));
    }
    let mb = &mean.shape()[..mean.ndim() - 1];
    let cb = &cov.shape()[..cov.ndim() - 2];
    let batch = broadcast_shapes(
        &broadcast_shapes(shape, mb, "multivariate_normal")?,
        cb,
        "multivariate_normal",
    )?;
    let mut oshape = batch.clone();
    oshape.push(n);
    let covf = ops::astype(cov, Dtype::Float32)?;
    let std = Array::new_node(
        covf.shape().to_vec(),
        Dtype::Float32,
        Arc::new(SymSqrt),
        vec![covf],
        stream(),
    );
    let mut sshape = batch.clone();
    sshape.extend([n, n]);
    let z = normal(&oshape, Dtype::Float32, 0.0, 1.0, key)?;
    Ok(Array::new_node(
        oshape.clone(),
        Dtype::Float32,
        Arc::new(MvnApply),
        vec![
            z,
            ops::broadcast_to(&ops::astype(mean, Dtype::Float32)?, &oshape)?,
            ops::broadcast_to(&std, &sshape)?,
        ],
        stream(),
    ))
}
