//! The MPI backend (feature `mpi`): rsmpi over the system's Open MPI, on host memory.
//!
//! MPI is initialised once (thread level `MPI_THREAD_MULTIPLE` requested; calls are
//! serialised by one lock anyway) and finalised by an `atexit` handler, so a program that
//! returns from `main` ends the MPI job cleanly. Types with an MPI equivalent (bool as
//! bytes, unsigned/signed integers, float32/64, complex64 as float32 pairs for sums) are
//! reduced by MPI itself; float16 and bfloat16, which MPI lacks, are gathered and reduced
//! on each process in float32 in rank order (the same result on every rank).

use super::{Backend, ReduceOp};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::{bf16, f16};
use mpi::collective::SystemOperation;
use mpi::datatype::{DatatypeRef, DynBuffer, DynBufferMut, Equivalence};
use mpi::topology::{Color, SimpleCommunicator};
use mpi::traits::*;
use std::any::Any;
use std::mem::ManuallyDrop;
use std::sync::{Arc, Mutex};

/// The MPI environment (dropping it finalises MPI), kept until the process exits.
static UNIVERSE: Mutex<Option<mpi::environment::Universe>> = Mutex::new(None);
/// Serialises every MPI call of this process.
static CALLS: Mutex<()> = Mutex::new(());

extern "C" fn finalize_at_exit() {
    let u = UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(u);
}

/// One communicator of the MPI backend.
pub struct MpiBackend {
    comm: ManuallyDrop<SimpleCommunicator>,
    rank: usize,
    size: usize,
}

// SAFETY: MPI is initialised with (at least) serialised threading and every call through
// the communicator handle holds `CALLS`, so the handle may move between and be shared by
// threads.
unsafe impl std::marker::Send for MpiBackend {}
unsafe impl Sync for MpiBackend {}

impl std::fmt::Debug for MpiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MpiBackend(rank {} of {})", self.rank, self.size)
    }
}

impl Drop for MpiBackend {
    fn drop(&mut self) {
        // A communicator may only be freed while MPI is running.
        if mpi::environment::is_initialized() && !mpi::environment::is_finalized() {
            let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
            // SAFETY: dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.comm) };
        }
    }
}

/// Initialise MPI (once) and return the world communicator.
pub(crate) fn init_world() -> Result<Arc<dyn Backend>> {
    let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
    if mpi::environment::is_finalized() {
        return Err(Error::Device(
            "distributed::init(mpi): MPI was already finalised in this process".into(),
        ));
    }
    let world = if mpi::environment::is_initialized() {
        SimpleCommunicator::world()
    } else {
        let (universe, _level) = mpi::initialize_with_threading(mpi::Threading::Multiple)
            .ok_or_else(|| {
                Error::Device("distributed::init(mpi): MPI_Init_thread failed".into())
            })?;
        let world = universe.world();
        *UNIVERSE.lock().unwrap_or_else(|e| e.into_inner()) = Some(universe);
        // SAFETY: registering a plain `extern "C"` function.
        unsafe { libc::atexit(finalize_at_exit) };
        world
    };
    Ok(Arc::new(MpiBackend::new(world)))
}

impl MpiBackend {
    fn new(comm: SimpleCommunicator) -> MpiBackend {
        let rank = comm.rank() as usize;
        let size = comm.size() as usize;
        MpiBackend {
            comm: ManuallyDrop::new(comm),
            rank,
            size,
        }
    }

    fn count(n: usize, what: &str) -> Result<i32> {
        i32::try_from(n).map_err(|_| {
            Error::InvalidArgument(format!(
                "{what}: {n} elements exceed MPI's limit of 2^31 - 1 per call"
            ))
        })
    }
}

/// MPI's datatype for `dtype` and how many MPI elements one mlxr element is (complex64 is
/// two floats); `None` for float16/bfloat16.
fn mpi_type(dtype: Dtype) -> Option<(DatatypeRef<'static>, usize)> {
    Some(match dtype {
        Dtype::Bool | Dtype::Uint8 => (u8::equivalent_datatype(), 1),
        Dtype::Uint16 => (u16::equivalent_datatype(), 1),
        Dtype::Uint32 => (u32::equivalent_datatype(), 1),
        Dtype::Uint64 => (u64::equivalent_datatype(), 1),
        Dtype::Int8 => (i8::equivalent_datatype(), 1),
        Dtype::Int16 => (i16::equivalent_datatype(), 1),
        Dtype::Int32 => (i32::equivalent_datatype(), 1),
        Dtype::Int64 => (i64::equivalent_datatype(), 1),
        Dtype::Float32 => (f32::equivalent_datatype(), 1),
        Dtype::Float64 => (f64::equivalent_datatype(), 1),
        Dtype::Complex64 => (f32::equivalent_datatype(), 2),
        Dtype::Float16 | Dtype::Bfloat16 => return None,
    })
}

/// A byte buffer seen as `count` elements of an MPI datatype.
fn buf<'a>(b: &'a [u8], t: DatatypeRef<'static>, count: i32) -> DynBuffer<'a> {
    // SAFETY: `b` holds `count` elements of `t` (checked by the callers' sizes) and lives
    // as long as the buffer.
    unsafe { DynBuffer::from_raw(b.as_ptr(), count, t) }
}
fn buf_mut<'a>(b: &'a mut [u8], t: DatatypeRef<'static>, count: i32) -> DynBufferMut<'a> {
    // SAFETY: as in `buf`.
    unsafe { DynBufferMut::from_raw(b.as_mut_ptr(), count, t) }
}

/// MPI's operation for `op` on `dtype` (bool: or for sum/max, and for min).
fn mpi_op(op: ReduceOp, dtype: Dtype) -> Result<SystemOperation> {
    Ok(match (op, dtype) {
        (ReduceOp::Sum | ReduceOp::Max, Dtype::Bool) => SystemOperation::logical_or(),
        (ReduceOp::Min, Dtype::Bool) => SystemOperation::logical_and(),
        (_, Dtype::Complex64) if op != ReduceOp::Sum => {
            return Err(Error::Dtype(
                "all_max/all_min: complex64 has no order; only sums are supported".into(),
            ))
        }
        (ReduceOp::Sum, _) => SystemOperation::sum(),
        (ReduceOp::Max, _) => SystemOperation::max(),
        (ReduceOp::Min, _) => SystemOperation::min(),
    })
}

/// Reduce `size` blocks of `n` float16/bfloat16 elements (gathered in rank order) in
/// float32, rounding once.
fn reduce_half_blocks(blocks: &[u8], n: usize, size: usize, dtype: Dtype, op: ReduceOp) -> Vec<u8> {
    let read = |i: usize| -> f32 {
        let b = u16::from_le_bytes([blocks[2 * i], blocks[2 * i + 1]]);
        match dtype {
            Dtype::Float16 => f16::from_bits(b).to_f32(),
            _ => bf16::from_bits(b).to_f32(),
        }
    };
    let mut out = Vec::with_capacity(2 * n);
    for i in 0..n {
        let mut acc = read(i);
        for r in 1..size {
            let v = read(r * n + i);
            acc = match op {
                ReduceOp::Sum => acc + v,
                // NaN propagates, as in the elementwise maximum/minimum.
                ReduceOp::Max => {
                    if acc.is_nan() || v.is_nan() {
                        f32::NAN
                    } else {
                        acc.max(v)
                    }
                }
                ReduceOp::Min => {
                    if acc.is_nan() || v.is_nan() {
                        f32::NAN
                    } else {
                        acc.min(v)
                    }
                }
            };
        }
        let bits = match dtype {
            Dtype::Float16 => f16::from_f32(acc).to_bits(),
            _ => bf16::from_f32(acc).to_bits(),
        };
        out.extend_from_slice(&bits.to_le_bytes());
    }
    out
}

impl Backend for MpiBackend {
    fn name(&self) -> &'static str {
        "mpi"
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn split(&self, color: i32, key: i32) -> Result<Arc<dyn Backend>> {
        let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        let c = self
            .comm
            .split_by_color_with_key(Color::with_value(color), key)
            .ok_or_else(|| Error::Device("Group.split: MPI_Comm_split gave no group".into()))?;
        Ok(Arc::new(MpiBackend::new(c)))
    }
    fn all_reduce(
        &self,
        input: &[u8],
        output: &mut [u8],
        dtype: Dtype,
        op: ReduceOp,
    ) -> Result<()> {
        let n = input.len() / dtype.size();
        match mpi_type(dtype) {
            Some((t, k)) => {
                let mop = mpi_op(op, dtype)?;
                let c = Self::count(n * k, "all_reduce")?;
                let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
                self.comm
                    .all_reduce_into(&buf(input, t, c), &mut buf_mut(output, t, c), mop);
                Ok(())
            }
            None => {
                let mut blocks = vec![0u8; input.len() * self.size];
                self.all_gather(input, &mut blocks, dtype)?;
                output.copy_from_slice(&reduce_half_blocks(&blocks, n, self.size, dtype, op));
                Ok(())
            }
        }
    }
    fn all_gather(&self, input: &[u8], output: &mut [u8], dtype: Dtype) -> Result<()> {
        // Gathering moves bytes only: any dtype goes as bytes.
        let t = u8::equivalent_datatype();
        let c = Self::count(input.len(), "all_gather")?;
        let co = Self::count(output.len(), "all_gather")?;
        let _ = dtype;
        let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        self.comm
            .all_gather_into(&buf(input, t, c), &mut buf_mut(output, t, co));
        Ok(())
    }
    fn reduce_scatter(
        &self,
        input: &[u8],
        output: &mut [u8],
        dtype: Dtype,
        op: ReduceOp,
    ) -> Result<()> {
        let n = output.len() / dtype.size();
        match mpi_type(dtype) {
            Some((t, k)) => {
                let mop = mpi_op(op, dtype)?;
                let ci = Self::count(n * k * self.size, "sum_scatter")?;
                let co = Self::count(n * k, "sum_scatter")?;
                let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
                self.comm.reduce_scatter_block_into(
                    &buf(input, t, ci),
                    &mut buf_mut(output, t, co),
                    mop,
                );
                Ok(())
            }
            None => {
                let mut full = vec![0u8; input.len()];
                self.all_reduce(input, &mut full, dtype, op)?;
                let nb = output.len();
                output.copy_from_slice(&full[self.rank * nb..(self.rank + 1) * nb]);
                Ok(())
            }
        }
    }
    fn send(&self, input: &[u8], _dtype: Dtype, dst: usize) -> Result<()> {
        let t = u8::equivalent_datatype();
        let c = Self::count(input.len(), "send")?;
        let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        self.comm
            .process_at_rank(dst as i32)
            .send(&buf(input, t, c));
        Ok(())
    }
    fn recv(&self, output: &mut [u8], _dtype: Dtype, src: usize) -> Result<()> {
        let t = u8::equivalent_datatype();
        let c = Self::count(output.len(), "recv")?;
        let _g = CALLS.lock().unwrap_or_else(|e| e.into_inner());
        let status = self
            .comm
            .process_at_rank(src as i32)
            .receive_into(&mut buf_mut(output, t, c));
        let got = status.count(t) as usize;
        if got != output.len() {
            return Err(Error::Shape(format!(
                "recv: expected {} bytes from rank {src}, received {got}",
                output.len()
            )));
        }
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
