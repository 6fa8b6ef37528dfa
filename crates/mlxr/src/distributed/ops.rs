//! The collectives as lazy ops with MLX's names and semantics (`mx.distributed.all_sum`,
//! ...): they validate their arguments and build graph nodes; the communication happens
//! when the result is evaluated. `group: None` means the world group. Ops run on the CPU
//! for host backends (MPI; GPU inputs are downloaded) and on a GPU stream for NCCL. In the
//! backend-less singleton group every collective returns its input.

use super::primitives::{AllGather, AllReduce, Recv, ReduceScatter, Send};
use super::{group_or_world, Group, ReduceOp};
use crate::array::Array;
use crate::device::{default_stream, Device, DeviceType, Stream, StreamOrDevice};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use std::sync::Arc;

/// The stream a collective of `group` runs on: the current default stream when it is on
/// the backend's kind of device, else that device's default stream.
fn comm_stream(group: &Group) -> Result<Stream> {
    let now = StreamOrDevice::Default.resolve();
    if group.backend().on_gpu() {
        if now.device.kind == DeviceType::Gpu {
            return Ok(now);
        }
        #[cfg(feature = "cuda")]
        {
            let dev = super::nccl::device_of(group)?;
            return Ok(default_stream(dev));
        }
        #[cfg(not(feature = "cuda"))]
        return Err(Error::Device(
            "a GPU communication backend in a build without CUDA".into(),
        ));
    }
    if now.device.kind == DeviceType::Cpu {
        Ok(now)
    } else {
        Ok(default_stream(Device::cpu()))
    }
}

/// The shared all-reduce builder (`all_sum`, `all_max`, `all_min`).
pub(crate) fn all_reduce(x: &Array, op: ReduceOp, group: Option<&Group>) -> Result<Array> {
    let g = group_or_world(group)?;
    if g.is_singleton() {
        return Ok(x.clone());
    }
    Ok(Array::new_node(
        x.shape().to_vec(),
        x.dtype(),
        Arc::new(AllReduce {
            group: g.clone(),
            op,
        }),
        vec![x.clone()],
        comm_stream(&g)?,
    ))
}

/// Sum `x` elementwise over the processes of `group` (the world when `None`); every
/// process gets the sum (MLX's `all_sum`). Bool: logical or.
pub fn all_sum(x: &Array, group: Option<&Group>) -> Result<Array> {
    all_reduce(x, ReduceOp::Sum, group)
}

/// Elementwise maximum of `x` over the processes of `group` (MLX's `all_max`).
pub fn all_max(x: &Array, group: Option<&Group>) -> Result<Array> {
    all_reduce(x, ReduceOp::Max, group)
}

/// Elementwise minimum of `x` over the processes of `group` (MLX's `all_min`).
pub fn all_min(x: &Array, group: Option<&Group>) -> Result<Array> {
    all_reduce(x, ReduceOp::Min, group)
}

/// Concatenate the `x` of every process of `group` along the first axis, in rank order
/// (MLX's `all_gather`); a scalar gives one element per process. All processes must pass
/// the same shape.
pub fn all_gather(x: &Array, group: Option<&Group>) -> Result<Array> {
    let g = group_or_world(group)?;
    if g.is_singleton() {
        return if x.ndim() == 0 {
            ops::reshape(x, &[1])
        } else {
            Ok(x.clone())
        };
    }
    let mut shape = x.shape().to_vec();
    if shape.is_empty() {
        shape.push(g.size());
    } else {
        shape[0] *= g.size();
    }
    Ok(Array::new_node(
        shape,
        x.dtype(),
        Arc::new(AllGather { group: g.clone() }),
        vec![x.clone()],
        comm_stream(&g)?,
    ))
}

/// The shared reduce-scatter builder.
pub(crate) fn reduce_scatter(x: &Array, op: ReduceOp, group: Option<&Group>) -> Result<Array> {
    let g = group_or_world(group)?;
    if x.ndim() == 0 {
        return Err(Error::Shape(
            "sum_scatter: the input must have at least one axis (its first axis is split \
             among the processes)"
                .into(),
        ));
    }
    let n = g.size();
    if !x.shape()[0].is_multiple_of(n) {
        return Err(Error::Shape(format!(
            "sum_scatter: the first axis of shape {:?} is not divisible by the group size {n}",
            x.shape()
        )));
    }
    if g.is_singleton() {
        return Ok(x.clone());
    }
    let mut shape = x.shape().to_vec();
    shape[0] /= n;
    Ok(Array::new_node(
        shape,
        x.dtype(),
        Arc::new(ReduceScatter {
            group: g.clone(),
            op,
        }),
        vec![x.clone()],
        comm_stream(&g)?,
    ))
}

/// Sum `x` over the processes of `group` and give each process its block of the first
/// axis: process `r` gets rows `[r n / size, (r + 1) n / size)` of the sum (MLX's
/// `sum_scatter`). The first axis must be divisible by the group size.
pub fn sum_scatter(x: &Array, group: Option<&Group>) -> Result<Array> {
    reduce_scatter(x, ReduceOp::Sum, group)
}

fn check_peer(g: &Group, peer: usize, what: &str) -> Result<()> {
    if g.is_singleton() {
        return Err(Error::InvalidArgument(format!(
            "{what}: the singleton group (size 1, no distributed backend) has no other process"
        )));
    }
    if peer >= g.size() {
        return Err(Error::InvalidArgument(format!(
            "{what}: rank {peer} is out of range for a group of size {}",
            g.size()
        )));
    }
    if peer == g.rank() {
        return Err(Error::InvalidArgument(format!(
            "{what}: a process cannot communicate with itself (rank {peer})"
        )));
    }
    Ok(())
}

/// Send `x` to process `dst` of `group` (MLX's `send`). Returns `x` as an array whose
/// evaluation performs the send; the receiver calls [`recv`] or [`recv_like`] with the
/// same shape and dtype.
pub fn send(x: &Array, dst: usize, group: Option<&Group>) -> Result<Array> {
    let g = group_or_world(group)?;
    check_peer(&g, dst, "send")?;
    Ok(Array::new_node(
        x.shape().to_vec(),
        x.dtype(),
        Arc::new(Send {
            group: g.clone(),
            dst,
        }),
        vec![x.clone()],
        comm_stream(&g)?,
    ))
}

/// Receive an array of `shape` and `dtype` from process `src` of `group` (MLX's `recv`).
pub fn recv(shape: &[usize], dtype: Dtype, src: usize, group: Option<&Group>) -> Result<Array> {
    let g = group_or_world(group)?;
    check_peer(&g, src, "recv")?;
    Ok(Array::new_node(
        shape.to_vec(),
        dtype,
        Arc::new(Recv {
            group: g.clone(),
            src,
        }),
        vec![],
        comm_stream(&g)?,
    ))
}

/// Receive an array with the shape and dtype of `x` from process `src` (MLX's
/// `recv_like`).
pub fn recv_like(x: &Array, src: usize, group: Option<&Group>) -> Result<Array> {
    recv(x.shape(), x.dtype(), src, group)
}
