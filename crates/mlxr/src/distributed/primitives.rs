//! The communication primitives: `AllReduce` (sum/max/min), `AllGather`, `ReduceScatter`,
//! `Send` and `Recv`. Their CPU evaluation hands row-contiguous host bytes to the group's
//! [`Backend`](super::Backend) (MPI); their GPU evaluation runs NCCL (`nccl.rs`). The
//! transformation rules follow MLX's: the cotangent of `all_sum` passes through unchanged
//! (every rank holds the same output, so each rank's loss is counted once), the cotangent
//! of `all_gather` is the rank's own block, and the vjp/jvp of `sum_scatter` are
//! `all_gather`/`sum_scatter` of the cotangent/tangent.

/// The names this file's primitives report. They are not part of
/// [`crate::primitives::all_names`]: their rules need several processes and are checked by
/// the MPI tests (`tests/distributed_mpi.rs`).
pub const NAMES: &[&str] = &["AllReduce", "AllGather", "ReduceScatter", "Send", "Recv"];

use super::{Group, ReduceOp};
use crate::array::{Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::sync::Arc;

/// Row-contiguous host data of an evaluated input (a copy only when it is not already so).
fn contiguous_host(x: &Array) -> Result<Data> {
    let d = x.data()?;
    if d.flags.row_contiguous {
        Ok(d)
    } else {
        copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())
    }
}

/// The bytes of `n` elements of row-contiguous host data.
fn bytes(d: &Data, n: usize, dtype: Dtype) -> &[u8] {
    let sz = dtype.size();
    &d.host().bytes()[d.offset * sz..(d.offset + n) * sz]
}

/// Fresh host data for `out` and a closure's access to its bytes.
fn with_output(out: &Array, f: impl FnOnce(&mut [u8]) -> Result<()>) -> Result<()> {
    let mut d = Data::alloc(out.shape(), out.dtype())?;
    let n = out.nbytes();
    let storage = Arc::get_mut(&mut d.storage)
        .ok_or_else(|| Error::Unsupported("fresh storage is shared".into()))?;
    f(&mut storage.host_mut().bytes_mut()[..n])?;
    out.set_data(d);
    Ok(())
}

/// Move the batch axis of a vmapped input of a first-axis collective (gather/scatter
/// along axis 0 of the unbatched array) out of the way: returns the input to use and the
/// output's batch axis. A batch axis at 0 moves to 1 (a batched scalar becomes `[1, B]`).
fn first_axis_vmap(x: &Array, axis: Option<usize>) -> Result<(Array, Option<usize>)> {
    match axis {
        None => Ok((x.clone(), None)),
        Some(0) if x.ndim() == 1 => Ok((ops::expand_dims(x, &[0])?, Some(1))),
        Some(0) => Ok((ops::moveaxis(x, 0, 1)?, Some(1))),
        Some(b) => Ok((x.clone(), Some(b))),
    }
}

// ---- AllReduce ------------------------------------------------------------------------

/// Reduce an array elementwise over the processes of a group; every process gets the
/// result.
#[derive(Debug, Clone)]
pub struct AllReduce {
    /// The group.
    pub group: Group,
    /// The reduction.
    pub op: ReduceOp,
}

impl AllReduce {
    /// `1` where this rank's value equals the reduced output, divided by the number of
    /// ranks that hold it (how a max/min shares its derivative among ties).
    fn share(&self, x: &Array, out: &Array) -> Result<Array> {
        let hit = ops::astype(&ops::equal(x, out)?, x.dtype())?;
        let count = super::all_sum(&hit, Some(&self.group))?;
        ops::divide(&hit, &count)
    }
}

crate::export::serial::not_exportable!(
    AllReduce,
    "collective communication over a distributed group"
);

impl Primitive for AllReduce {
    fn name(&self) -> String {
        "AllReduce".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = contiguous_host(x)?;
        with_output(&outputs[0], |out| {
            self.group
                .backend()
                .all_reduce(bytes(&d, x.size(), x.dtype()), out, x.dtype(), self.op)
        })
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        super::nccl::eval_all_reduce(&self.group, self.op, &inputs[0], &outputs[0])
    }
    /// Sum: the cotangent itself (MLX's rule). Max/min: the cotangent where this rank's
    /// value is the result, shared equally among ranks that tie.
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        match self.op {
            ReduceOp::Sum => Ok(vec![cotangents[0].clone()]),
            _ => {
                let w = self.share(&primals[0], &outputs[0])?;
                Ok(vec![ops::multiply(&cotangents[0], &w)?])
            }
        }
    }
    /// Sum: `all_sum` of the tangents. Max/min: the tangent of the rank(s) holding the
    /// result (averaged over ties).
    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        match self.op {
            ReduceOp::Sum => Ok(vec![super::all_sum(&tangents[0], Some(&self.group))?]),
            _ => {
                let x = &primals[0];
                let out = super::ops::all_reduce(x, self.op, Some(&self.group))?;
                let w = self.share(x, &out)?;
                Ok(vec![super::all_sum(
                    &ops::multiply(&tangents[0], &w)?,
                    Some(&self.group),
                )?])
            }
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((
            vec![super::ops::all_reduce(
                &inputs[0],
                self.op,
                Some(&self.group),
            )?],
            vec![axes[0]],
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- AllGather ------------------------------------------------------------------------

/// Concatenate the arrays of every process of a group along the first axis (a scalar
/// becomes one element per process).
#[derive(Debug, Clone)]
pub struct AllGather {
    /// The group.
    pub group: Group,
}

crate::export::serial::not_exportable!(
    AllGather,
    "collective communication over a distributed group"
);

impl Primitive for AllGather {
    fn name(&self) -> String {
        "AllGather".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = contiguous_host(x)?;
        with_output(&outputs[0], |out| {
            self.group
                .backend()
                .all_gather(bytes(&d, x.size(), x.dtype()), out, x.dtype())
        })
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        super::nccl::eval_all_gather(&self.group, &inputs[0], &outputs[0])
    }
    /// This rank's block of the cotangent (MLX's rule).
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let c = &cotangents[0];
        let r = self.group.rank() as isize;
        if x.ndim() == 0 {
            let s = ops::slice(c, &[r], &[r + 1], &[1])?;
            return Ok(vec![ops::reshape(&s, &[])?]);
        }
        let n0 = x.shape()[0] as isize;
        let mut start = vec![0isize; x.ndim()];
        let mut stop: Vec<isize> = c.shape().iter().map(|&s| s as isize).collect();
        start[0] = r * n0;
        stop[0] = (r + 1) * n0;
        Ok(vec![ops::slice(c, &start, &stop, &vec![1; x.ndim()])?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![super::all_gather(&tangents[0], Some(&self.group))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, ax) = first_axis_vmap(&inputs[0], axes[0])?;
        Ok((vec![super::all_gather(&x, Some(&self.group))?], vec![ax]))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- ReduceScatter --------------------------------------------------------------------

/// Reduce over the processes of a group, then give each process its block of the first
/// axis (MLX's `sum_scatter`).
#[derive(Debug, Clone)]
pub struct ReduceScatter {
    /// The group.
    pub group: Group,
    /// The reduction.
    pub op: ReduceOp,
}

crate::export::serial::not_exportable!(
    ReduceScatter,
    "collective communication over a distributed group"
);

impl Primitive for ReduceScatter {
    fn name(&self) -> String {
        "ReduceScatter".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = contiguous_host(x)?;
        with_output(&outputs[0], |out| {
            self.group.backend().reduce_scatter(
                bytes(&d, x.size(), x.dtype()),
                out,
                x.dtype(),
                self.op,
            )
        })
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        super::nccl::eval_reduce_scatter(&self.group, self.op, &inputs[0], &outputs[0])
    }
    /// `all_gather` of the cotangent (the adjoint of taking this rank's block of a sum).
    fn vjp(
        &self,
        _primals: &[Array],
        cotangents: &[Array],
        _argnums: &[usize],
        _outputs: &[Array],
    ) -> Result<Vec<Array>> {
        if self.op != ReduceOp::Sum {
            return Err(Error::Unsupported(
                "ReduceScatter: only the sum has a vjp rule".into(),
            ));
        }
        Ok(vec![super::all_gather(&cotangents[0], Some(&self.group))?])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        if self.op != ReduceOp::Sum {
            return Err(Error::Unsupported(
                "ReduceScatter: only the sum has a jvp rule".into(),
            ));
        }
        Ok(vec![super::sum_scatter(&tangents[0], Some(&self.group))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let (x, ax) = match axes[0] {
            Some(0) if inputs[0].ndim() >= 2 => (ops::moveaxis(&inputs[0], 0, 1)?, Some(1)),
            other => (inputs[0].clone(), other),
        };
        Ok((
            vec![super::ops::reduce_scatter(&x, self.op, Some(&self.group))?],
            vec![ax],
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

// ---- Send / Recv ----------------------------------------------------------------------

/// Send an array to another process. The output is the input (so evaluating it performs
/// the send and later ops may depend on it).
#[derive(Debug, Clone)]
pub struct Send {
    /// The group.
    pub group: Group,
    /// The destination rank.
    pub dst: usize,
}

crate::export::serial::not_exportable!(Send, "collective communication over a distributed group");

impl Primitive for Send {
    fn name(&self) -> String {
        "Send".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = contiguous_host(x)?;
        self.group
            .backend()
            .send(bytes(&d, x.size(), x.dtype()), x.dtype(), self.dst)?;
        outputs[0].set_data(d);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        super::nccl::eval_send(&self.group, self.dst, &inputs[0], &outputs[0])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((
            vec![super::send(&inputs[0], self.dst, Some(&self.group))?],
            vec![axes[0]],
        ))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Receive an array of a known shape and dtype from another process.
#[derive(Debug, Clone)]
pub struct Recv {
    /// The group.
    pub group: Group,
    /// The source rank.
    pub src: usize,
}

crate::export::serial::not_exportable!(Recv, "collective communication over a distributed group");

impl Primitive for Recv {
    fn name(&self) -> String {
        "Recv".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let dtype = outputs[0].dtype();
        with_output(&outputs[0], |out| {
            self.group.backend().recv(out, dtype, self.src)
        })
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, _inputs: &[Array], outputs: &[Array]) -> Result<()> {
        super::nccl::eval_recv(&self.group, self.src, &outputs[0])
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
