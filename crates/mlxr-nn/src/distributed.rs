//! Distributed training helpers (MLX's `mlx.nn.average_gradients` and
//! `mlx.nn.layers.distributed`): [`average_gradients`] for data parallelism, and the
//! tensor-parallel linear layers [`AllToShardedLinear`] (full input, output sharded along
//! its last axis) and [`ShardedToAllLinear`] (sharded input, full output, summed over the
//! group), with [`sum_gradients`] (identity forward, `all_sum` of the cotangent backward).

use crate::layers::Linear;
use crate::{layer, module, Param};
use mlxr::distributed::{self, Group};
use mlxr::tree::{tree_flatten, tree_unflatten};
use mlxr::{ops, random, Array, Dtype, Error, Result, Tree};

/// Average a tree of gradients over the processes of `group` (the world when `None`):
/// `all_sum(g) / size` for every array (MLX's `nn.average_gradients`). To send fewer,
/// larger messages, consecutive arrays of one dtype are flattened and concatenated into
/// buffers of up to `all_reduce_size` bytes (MLX's default is 32 MiB; `0` reduces each
/// array on its own). In a group of size 1 the gradients are returned as they are.
pub fn average_gradients(
    gradients: &Tree,
    group: Option<&Group>,
    all_reduce_size: usize,
) -> Result<Tree> {
    let group = match group {
        Some(g) => g.clone(),
        None => distributed::world()?,
    };
    let n = group.size();
    if n == 1 {
        return Ok(gradients.clone());
    }
    let items = tree_flatten(gradients);
    let average = |x: &Array| -> Result<Array> {
        let s = distributed::all_sum(x, Some(&group))?;
        let a = ops::divide(&s, n as f32)?;
        // Integer gradients would become float32: keep the dtype, as the update expects.
        ops::astype(&a, x.dtype())
    };
    let mut out: Vec<(String, Array)> = Vec::with_capacity(items.len());
    if all_reduce_size == 0 {
        for (k, g) in &items {
            out.push((k.clone(), average(g)?));
        }
        return tree_unflatten(&out);
    }
    // Buckets of consecutive arrays of one dtype, each at most `all_reduce_size` bytes
    // (an array larger than that is a bucket of its own).
    let mut start = 0;
    while start < items.len() {
        let dt = items[start].1.dtype();
        let mut end = start;
        let mut bytes = 0;
        while end < items.len()
            && items[end].1.dtype() == dt
            && (end == start || bytes + items[end].1.nbytes() <= all_reduce_size)
        {
            bytes += items[end].1.nbytes();
            end += 1;
        }
        let bucket = &items[start..end];
        if bucket.len() == 1 {
            out.push((bucket[0].0.clone(), average(&bucket[0].1)?));
        } else {
            let flat: Vec<Array> = bucket
                .iter()
                .map(|(_, g)| ops::reshape(g, &[-1]))
                .collect::<Result<_>>()?;
            let avg = average(&ops::concatenate(&flat, 0)?)?;
            let mut off = 0isize;
            for (k, g) in bucket {
                let len = g.size() as isize;
                let part = ops::slice(&avg, &[off], &[off + len], &[1])?;
                let shape: Vec<isize> = g.shape().iter().map(|&d| d as isize).collect();
                out.push((k.clone(), ops::reshape(&part, &shape)?));
                off += len;
            }
        }
        start = end;
    }
    tree_unflatten(&out)
}

/// Identity in the forward pass, `all_sum` of the cotangent in the backward pass (MLX's
/// `sum_gradients(group)`): what a tensor-parallel layer applies to an input that every
/// process holds in full, so that its gradient collects every shard's contribution.
pub fn sum_gradients(x: &Array, group: &Group) -> Result<Array> {
    if group.size() == 1 {
        return Ok(x.clone());
    }
    let g = group.clone();
    let f = mlxr::custom_function(|a: &[Array]| Ok(vec![a[0].clone()])).with_vjp(
        move |_primals: &[Array], cotangents: &[Array], _outputs: &[Array]| {
            Ok(vec![distributed::all_sum(&cotangents[0], Some(&g))?])
        },
    );
    Ok(f.call(std::slice::from_ref(x))?.remove(0))
}

fn shard_dims(dims: usize, n: usize, what: &str, layer: &str) -> Result<usize> {
    if !dims.is_multiple_of(n) {
        return Err(Error::Shape(format!(
            "{layer}: {what} {dims} is not divisible by the group size {n}"
        )));
    }
    Ok(dims / n)
}

/// `group`, or the world group when None.
fn group_or_world(group: Option<&Group>) -> Result<Group> {
    match group {
        Some(g) => Ok(g.clone()),
        None => distributed::world(),
    }
}

/// A weight of `shape` and (with `bias`) a bias of its first dimension, uniform in
/// `±scale` (MLX's linear initialisation).
fn init_params(scale: f32, shape: &[usize; 2], bias: bool) -> Result<(Param, Option<Param>)> {
    let w = uniform(scale, shape)?;
    let b = if bias {
        Some(uniform(scale, &shape[..1])?)
    } else {
        None
    };
    Ok((w, b))
}

fn uniform(scale: f32, shape: &[usize]) -> Result<Param> {
    Ok(Param::new(random::uniform(
        -scale,
        scale,
        shape,
        Dtype::Float32,
        None,
    )?))
}

/// Rows `[r k, (r + 1) k)` of `a` along `axis` for rank `r` of `n`.
fn shard(a: &Array, axis: usize, r: usize, n: usize) -> Result<Array> {
    let k = a.shape()[axis] / n;
    let mut start = vec![0isize; a.ndim()];
    let mut stop: Vec<isize> = a.shape().iter().map(|&d| d as isize).collect();
    start[axis] = (r * k) as isize;
    stop[axis] = ((r + 1) * k) as isize;
    // A copy, so the shard does not keep the full weight alive.
    ops::contiguous(&ops::slice(a, &start, &stop, &vec![1; a.ndim()])?)
}

/// A linear layer whose output features are split over the processes of a group (MLX's
/// `AllToShardedLinear`): every process gets the full input and computes its block of
/// `output_dims / size` features. Weight `(output_dims / size, input_dims)`, bias
/// `(output_dims / size,)`.
#[derive(Debug, Clone)]
pub struct AllToShardedLinear {
    /// This process's rows of the weight.
    pub weight: Param,
    /// This process's block of the bias.
    pub bias: Option<Param>,
    /// The group the layer is sharded over.
    pub group: Group,
}
module!(AllToShardedLinear { weight, bias });
layer!(AllToShardedLinear);

impl AllToShardedLinear {
    /// A new layer with MLX's initialisation (uniform in `±1/sqrt(input_dims)`).
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group: Option<&Group>,
    ) -> Result<Self> {
        let group = group_or_world(group)?;
        let out = shard_dims(
            output_dims,
            group.size(),
            "output_dims",
            "AllToShardedLinear",
        )?;
        let s = (1.0 / input_dims as f32).sqrt();
        let (weight, bias) = init_params(s, &[out, input_dims], bias)?;
        Ok(AllToShardedLinear {
            weight,
            bias,
            group,
        })
    }
    /// This process's shard of a full [`Linear`] (MLX's `from_linear`).
    pub fn from_linear(linear: &Linear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (r, n) = (group.rank(), group.size());
        shard_dims(
            linear.weight.shape()[0],
            n,
            "output_dims",
            "AllToShardedLinear",
        )?;
        Ok(AllToShardedLinear {
            weight: Param::new(shard(&linear.weight, 0, r, n)?),
            bias: match &linear.bias {
                Some(b) => Some(Param::new(shard(b, 0, r, n)?)),
                None => None,
            },
            group,
        })
    }
    /// `x (..., input_dims)` → this process's features `(..., output_dims / size)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let x = sum_gradients(x, &self.group)?;
        let wt = ops::transpose(&self.weight)?;
        match &self.bias {
            Some(b) => ops::addmm(b, &x, &wt, 1.0, 1.0),
            None => ops::matmul(&x, &wt),
        }
    }
}

/// A linear layer whose input features are split over the processes of a group (MLX's
/// `ShardedToAllLinear`): each process multiplies its block of `input_dims / size`
/// features, the partial products are summed over the group, and the bias is added once.
/// Weight `(output_dims, input_dims / size)`, bias `(output_dims,)`.
#[derive(Debug, Clone)]
pub struct ShardedToAllLinear {
    /// This process's columns of the weight.
    pub weight: Param,
    /// The full bias.
    pub bias: Option<Param>,
    /// The group the layer is sharded over.
    pub group: Group,
}
module!(ShardedToAllLinear { weight, bias });
layer!(ShardedToAllLinear);

impl ShardedToAllLinear {
    /// A new layer with MLX's initialisation (uniform in `±1/sqrt(input_dims)`).
    pub fn new(
        input_dims: usize,
        output_dims: usize,
        bias: bool,
        group: Option<&Group>,
    ) -> Result<Self> {
        let group = group_or_world(group)?;
        let inp = shard_dims(input_dims, group.size(), "input_dims", "ShardedToAllLinear")?;
        let s = (1.0 / input_dims as f32).sqrt();
        let (weight, bias) = init_params(s, &[output_dims, inp], bias)?;
        Ok(ShardedToAllLinear {
            weight,
            bias,
            group,
        })
    }
    /// This process's shard of a full [`Linear`] (MLX's `from_linear`).
    pub fn from_linear(linear: &Linear, group: Option<&Group>) -> Result<Self> {
        let group = group_or_world(group)?;
        let (r, n) = (group.rank(), group.size());
        shard_dims(
            linear.weight.shape()[1],
            n,
            "input_dims",
            "ShardedToAllLinear",
        )?;
        Ok(ShardedToAllLinear {
            weight: Param::new(shard(&linear.weight, 1, r, n)?),
            bias: linear.bias.clone(),
            group,
        })
    }
    /// `x (..., input_dims / size)` (this process's features) → `(..., output_dims)`, the
    /// same on every process.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = ops::matmul(x, &ops::transpose(&self.weight)?)?;
        let y = distributed::all_sum(&y, Some(&self.group))?;
        match &self.bias {
            Some(b) => ops::add(&y, &b.value),
            None => Ok(y),
        }
    }
}
