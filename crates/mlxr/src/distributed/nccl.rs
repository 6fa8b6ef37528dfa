//! The NCCL backend (feature `cuda`): NCCL through cudarc's bindings (loaded at run time,
//! like the rest of the CUDA backend: `libnccl.so.2` from the system or the
//! `nvidia-nccl-cu13` wheel), on GPU memory. The collectives run on the op's CUDA stream,
//! ordered with the rest of the GPU work.
//!
//! The world communicator is made from the launcher's environment (`mlxr-launch --backend
//! nccl` sets [`super::env`]'s variables): the process uses GPU `MLXR_LOCAL_RANK` modulo the
//! number of visible GPUs (the launcher also narrows `CUDA_VISIBLE_DEVICES` to one GPU per
//! process), and rank 0 hands NCCL's unique id to the other ranks over TCP at
//! `MLXR_COORDINATOR` (`host:port`; rank 0 listens, the others connect). Without those
//! variables the world is a size-1 communicator on GPU 0 (a real NCCL communicator, so the
//! code path runs on a one-GPU machine).

use super::{env, Backend, Group, ReduceOp};
use crate::array::{Array, Data};
use crate::backend::cuda::{self, libs, Gpu, RawStream};
use crate::device::{Device, DeviceType};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use cudarc::nccl::{result as nres, sys as nsys};
use std::any::Any;
use std::ffi::c_void;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long ranks wait for each other at the rendezvous.
const RENDEZVOUS_TIMEOUT: Duration = Duration::from_secs(300);
/// Tag in front of the unique id on the wire.
const MAGIC: &[u8; 8] = b"MLXRNCCL";

/// Whether NCCL can be used: a GPU is usable and `libnccl.so.2` loads.
pub fn is_available() -> bool {
    crate::device::gpu_is_available() && libs::load_nccl().is_ok()
}

fn nccl_err(e: nres::NcclError, what: &str) -> Error {
    Error::Device(format!("NCCL {what} failed: {e:?}"))
}

/// One NCCL communicator.
pub struct NcclBackend {
    comm: usize,
    rank: usize,
    size: usize,
    /// The GPU the communicator runs on.
    device: usize,
    /// Serialises calls on the communicator.
    lock: Mutex<()>,
}

// SAFETY: the communicator handle is only used while holding `lock`.
unsafe impl std::marker::Send for NcclBackend {}
unsafe impl Sync for NcclBackend {}

impl std::fmt::Debug for NcclBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NcclBackend(rank {} of {}, GPU {})",
            self.rank, self.size, self.device
        )
    }
}

impl Drop for NcclBackend {
    fn drop(&mut self) {
        // SAFETY: the communicator is live and dropped once.
        unsafe {
            let _ = nres::comm_destroy(self.comm());
        }
    }
}

impl NcclBackend {
    fn comm(&self) -> nsys::ncclComm_t {
        self.comm as nsys::ncclComm_t
    }
}

fn env_usize(var: &str) -> Result<Option<usize>> {
    match std::env::var(var) {
        Ok(v) => {
            v.trim().parse().map(Some).map_err(|_| {
                Error::InvalidArgument(format!("distributed: {var}={v} is not a number"))
            })
        }
        Err(_) => Ok(None),
    }
}

/// Rank 0's side of the rendezvous: listen at `addr` and send `id` to `size - 1` ranks.
fn serve_id(addr: &str, id: &nsys::ncclUniqueId, size: usize) -> Result<()> {
    let port = addr.rsplit(':').next().unwrap_or("");
    // Listen on every interface at the coordinator's port (the host name may name this
    // machine by an address other than the loopback one).
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).map_err(|e| {
        Error::Device(format!(
            "distributed(nccl): rank 0 cannot listen on {addr}: {e}"
        ))
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Device(e.to_string()))?;
    let mut msg = MAGIC.to_vec();
    msg.extend(id.internal.iter().map(|&c| c as u8));
    let deadline = Instant::now() + RENDEZVOUS_TIMEOUT;
    let mut served = 0;
    while served + 1 < size {
        match listener.accept() {
            Ok((mut s, _)) => {
                s.set_nonblocking(false)
                    .map_err(|e| Error::Device(e.to_string()))?;
                s.write_all(&msg).map_err(|e| {
                    Error::Device(format!("distributed(nccl): sending the unique id: {e}"))
                })?;
                served += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err(Error::Device(format!(
                        "distributed(nccl): only {served} of {} ranks reached the rendezvous \
                         at {addr} within {} s",
                        size - 1,
                        RENDEZVOUS_TIMEOUT.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(Error::Device(format!("distributed(nccl): accept: {e}"))),
        }
    }
    Ok(())
}

/// The other ranks' side: connect to `addr` (retrying until rank 0 listens) and read the id.
fn fetch_id(addr: &str) -> Result<nsys::ncclUniqueId> {
    let deadline = Instant::now() + RENDEZVOUS_TIMEOUT;
    loop {
        let sock = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(5)).ok());
        if let Some(mut s) = sock {
            let mut buf = [0u8; 136];
            s.read_exact(&mut buf).map_err(|e| {
                Error::Device(format!("distributed(nccl): reading the unique id: {e}"))
            })?;
            if &buf[..8] != MAGIC {
                return Err(Error::Device(format!(
                    "distributed(nccl): {addr} is not an mlxr rendezvous"
                )));
            }
            let mut internal = [0 as std::ffi::c_char; 128];
            for (d, &s) in internal.iter_mut().zip(&buf[8..]) {
                *d = s as std::ffi::c_char;
            }
            return Ok(nsys::ncclUniqueId { internal });
        }
        if Instant::now() > deadline {
            return Err(Error::Device(format!(
                "distributed(nccl): could not reach rank 0 at {addr} within {} s",
                RENDEZVOUS_TIMEOUT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Make the world communicator from the launcher's environment (see the module comment).
pub(crate) fn init_world() -> Result<Arc<dyn Backend>> {
    let rank = env_usize(env::RANK)?.unwrap_or(0);
    let size = env_usize(env::WORLD_SIZE)?.unwrap_or(1);
    if size == 0 || rank >= size {
        return Err(Error::InvalidArgument(format!(
            "distributed(nccl): rank {rank} does not fit a world of size {size}"
        )));
    }
    let local = env_usize(env::LOCAL_RANK)?.unwrap_or(rank);
    let n = crate::device::gpu_count()?;
    let device = local % n;
    cuda::gpu(device)?; // context current on this thread
    libs::load_nccl()?;
    let id = if size == 1 {
        nres::get_uniqueid().map_err(|e| nccl_err(e, "ncclGetUniqueId"))?
    } else {
        let addr = std::env::var(env::COORDINATOR).map_err(|_| {
            Error::InvalidArgument(format!(
                "distributed(nccl): {} is not set (start the processes with `mlxr-launch \
                 --backend nccl`)",
                env::COORDINATOR
            ))
        })?;
        if rank == 0 {
            let id = nres::get_uniqueid().map_err(|e| nccl_err(e, "ncclGetUniqueId"))?;
            serve_id(&addr, &id, size)?;
            id
        } else {
            fetch_id(&addr)?
        }
    };
    let mut comm: nsys::ncclComm_t = std::ptr::null_mut();
    // SAFETY: `comm` receives the new communicator; the context is current.
    unsafe { nres::comm_init_rank(&mut comm, size as i32, id, rank as i32) }
        .map_err(|e| nccl_err(e, "ncclCommInitRank"))?;
    Ok(Arc::new(NcclBackend {
        comm: comm as usize,
        rank,
        size,
        device,
        lock: Mutex::new(()),
    }))
}

impl Backend for NcclBackend {
    fn name(&self) -> &'static str {
        "nccl"
    }
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn on_gpu(&self) -> bool {
        true
    }
    fn split(&self, color: i32, key: i32) -> Result<Arc<dyn Backend>> {
        let _l = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        cuda::gpu(self.device)?;
        let mut new: nsys::ncclComm_t = std::ptr::null_mut();
        // SAFETY: a live communicator; `new` receives the split one; default config.
        unsafe { nsys::ncclCommSplit(self.comm(), color, key, &mut new, std::ptr::null_mut()) }
            .result()
            .map_err(|e| nccl_err(e, "ncclCommSplit"))?;
        let mut count = 0;
        let mut me = 0;
        // SAFETY: a live communicator.
        unsafe {
            nsys::ncclCommCount(new, &mut count)
                .result()
                .map_err(|e| nccl_err(e, "ncclCommCount"))?;
            nsys::ncclCommUserRank(new, &mut me)
                .result()
                .map_err(|e| nccl_err(e, "ncclCommUserRank"))?;
        }
        Ok(Arc::new(NcclBackend {
            comm: new as usize,
            rank: me as usize,
            size: count as usize,
            device: self.device,
            lock: Mutex::new(()),
        }))
    }
    fn all_reduce(&self, _: &[u8], _: &mut [u8], _: Dtype, _: ReduceOp) -> Result<()> {
        Err(Self::host_error())
    }
    fn all_gather(&self, _: &[u8], _: &mut [u8], _: Dtype) -> Result<()> {
        Err(Self::host_error())
    }
    fn reduce_scatter(&self, _: &[u8], _: &mut [u8], _: Dtype, _: ReduceOp) -> Result<()> {
        Err(Self::host_error())
    }
    fn send(&self, _: &[u8], _: Dtype, _: usize) -> Result<()> {
        Err(Self::host_error())
    }
    fn recv(&self, _: &mut [u8], _: Dtype, _: usize) -> Result<()> {
        Err(Self::host_error())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl NcclBackend {
    fn host_error() -> Error {
        Error::Unsupported(
            "the nccl backend communicates GPU arrays; this collective was placed on the CPU \
             (run it on a GPU stream)"
                .into(),
        )
    }
}

/// The GPU of an NCCL group.
pub(crate) fn device_of(group: &Group) -> Result<Device> {
    Ok(Device {
        kind: DeviceType::Gpu,
        index: backend_of(group)?.device,
    })
}

fn backend_of(group: &Group) -> Result<&NcclBackend> {
    group
        .backend()
        .as_any()
        .downcast_ref::<NcclBackend>()
        .ok_or_else(|| {
            Error::Unsupported(format!(
                "the {} backend runs its collectives on the CPU, but this one was placed on \
                 a GPU stream",
                group.backend_name()
            ))
        })
}

/// NCCL's datatype for `dtype` and how many NCCL elements one element is.
fn nccl_type(dtype: Dtype) -> Result<(nsys::ncclDataType_t, usize)> {
    use nsys::ncclDataType_t as T;
    Ok(match dtype {
        Dtype::Bool | Dtype::Uint8 => (T::ncclUint8, 1),
        Dtype::Int8 => (T::ncclInt8, 1),
        Dtype::Int32 => (T::ncclInt32, 1),
        Dtype::Uint32 => (T::ncclUint32, 1),
        Dtype::Int64 => (T::ncclInt64, 1),
        Dtype::Uint64 => (T::ncclUint64, 1),
        Dtype::Float16 => (T::ncclFloat16, 1),
        Dtype::Bfloat16 => (T::ncclBfloat16, 1),
        Dtype::Float32 => (T::ncclFloat32, 1),
        Dtype::Float64 => (T::ncclFloat64, 1),
        Dtype::Complex64 => (T::ncclFloat32, 2),
        Dtype::Int16 | Dtype::Uint16 => {
            return Err(Error::Dtype(format!(
                "distributed(nccl): NCCL has no {dtype} type; cast to int32 first"
            )))
        }
    })
}

/// NCCL's reduction for `op` on `dtype` (bool: max for sum/max, min for min).
fn nccl_op(op: ReduceOp, dtype: Dtype) -> Result<nsys::ncclRedOp_t> {
    use nsys::ncclRedOp_t as O;
    if dtype == Dtype::Complex64 && op != ReduceOp::Sum {
        return Err(Error::Dtype(
            "all_max/all_min: complex64 has no order; only sums are supported".into(),
        ));
    }
    Ok(match (op, dtype) {
        (ReduceOp::Sum | ReduceOp::Max, Dtype::Bool) => O::ncclMax,
        (ReduceOp::Sum, _) => O::ncclSum,
        (ReduceOp::Max, _) => O::ncclMax,
        (ReduceOp::Min, _) => O::ncclMin,
    })
}

/// The backend, GPU, stream and row-contiguous device data of an op's input, after
/// checking that the op's stream is on the communicator's GPU.
fn setup<'a>(group: &'a Group, out: &Array) -> Result<(&'a NcclBackend, &'static Gpu, RawStream)> {
    let b = backend_of(group)?;
    let (g, st) = cuda::resolve(out.stream())?;
    if g.index != b.device {
        return Err(Error::Device(format!(
            "distributed(nccl): the op runs on GPU {} but the communicator is on GPU {}",
            g.index, b.device
        )));
    }
    Ok((b, g, st))
}

fn contiguous(g: &Gpu, st: RawStream, x: &Array) -> Result<Data> {
    let d = x.data()?;
    if d.flags.row_contiguous {
        Ok(d)
    } else {
        cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())
    }
}

fn ptr(d: &Data, dtype: Dtype) -> *mut c_void {
    cuda::data_ptr(d, dtype) as usize as *mut c_void
}

fn cu(st: RawStream) -> nsys::cudaStream_t {
    st.cu() as nsys::cudaStream_t
}

/// GPU evaluation of `AllReduce`.
pub(crate) fn eval_all_reduce(group: &Group, op: ReduceOp, x: &Array, out: &Array) -> Result<()> {
    let (b, g, st) = setup(group, out)?;
    let dt = x.dtype();
    let (t, k) = nccl_type(dt)?;
    let o = g.alloc(out.shape(), dt, st)?;
    if x.size() > 0 {
        let d = contiguous(g, st, x)?;
        let rop = nccl_op(op, dt)?;
        let _l = b.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: device buffers of `x.size() * k` elements of `t` on the communicator's
        // GPU; the call is queued on the op's stream.
        unsafe {
            nres::all_reduce(
                ptr(&d, dt),
                ptr(&o, dt),
                x.size() * k,
                t,
                rop,
                b.comm(),
                cu(st),
            )
        }
        .map_err(|e| nccl_err(e, "ncclAllReduce"))?;
    }
    out.set_data(o);
    Ok(())
}

/// GPU evaluation of `AllGather`.
pub(crate) fn eval_all_gather(group: &Group, x: &Array, out: &Array) -> Result<()> {
    let (b, g, st) = setup(group, out)?;
    let dt = x.dtype();
    let (t, k) = nccl_type(dt)?;
    let o = g.alloc(out.shape(), dt, st)?;
    if x.size() > 0 {
        let d = contiguous(g, st, x)?;
        let _l = b.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the output holds `size` blocks of the input's length.
        unsafe { nres::all_gather(ptr(&d, dt), ptr(&o, dt), x.size() * k, t, b.comm(), cu(st)) }
            .map_err(|e| nccl_err(e, "ncclAllGather"))?;
    }
    out.set_data(o);
    Ok(())
}

/// GPU evaluation of `ReduceScatter`.
pub(crate) fn eval_reduce_scatter(
    group: &Group,
    op: ReduceOp,
    x: &Array,
    out: &Array,
) -> Result<()> {
    let (b, g, st) = setup(group, out)?;
    let dt = x.dtype();
    let (t, k) = nccl_type(dt)?;
    let o = g.alloc(out.shape(), dt, st)?;
    if out.size() > 0 {
        let d = contiguous(g, st, x)?;
        let rop = nccl_op(op, dt)?;
        let _l = b.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the input holds `size` blocks of the output's length.
        unsafe {
            nres::reduce_scatter(
                ptr(&d, dt),
                ptr(&o, dt),
                out.size() * k,
                t,
                rop,
                b.comm(),
                cu(st),
            )
        }
        .map_err(|e| nccl_err(e, "ncclReduceScatter"))?;
    }
    out.set_data(o);
    Ok(())
}

/// GPU evaluation of `Send`: the output is the input.
pub(crate) fn eval_send(group: &Group, dst: usize, x: &Array, out: &Array) -> Result<()> {
    let (b, g, st) = setup(group, out)?;
    let dt = x.dtype();
    let (t, k) = nccl_type(dt)?;
    let d = contiguous(g, st, x)?;
    if x.size() > 0 {
        let _l = b.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a device buffer of `x.size() * k` elements of `t`.
        unsafe { nres::send(ptr(&d, dt), x.size() * k, t, dst as i32, b.comm(), cu(st)) }
            .map_err(|e| nccl_err(e, "ncclSend"))?;
    }
    out.set_data(d);
    Ok(())
}

/// GPU evaluation of `Recv`.
pub(crate) fn eval_recv(group: &Group, src: usize, out: &Array) -> Result<()> {
    let (b, g, st) = setup(group, out)?;
    let dt = out.dtype();
    let (t, k) = nccl_type(dt)?;
    let o = g.alloc(out.shape(), dt, st)?;
    if out.size() > 0 {
        let _l = b.lock.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: a device buffer of `out.size() * k` elements of `t`.
        unsafe { nres::recv(ptr(&o, dt), out.size() * k, t, src as i32, b.comm(), cu(st)) }
            .map_err(|e| nccl_err(e, "ncclRecv"))?;
    }
    out.set_data(o);
    Ok(())
}
