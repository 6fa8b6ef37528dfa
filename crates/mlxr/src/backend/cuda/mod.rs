//! The CUDA backend (feature `cuda`): kernels on NVIDIA GPUs, mirroring `backend/cpu`
//! file by file (`copy.rs` ↔ `copy.rs`, `elementwise.rs` ↔ `elementwise.rs`, ...), plus
//! the GPU's own machinery: `libs` (finding the CUDA libraries at run time),
//! `allocator` (caching device memory), `kernels` (NVRTC compilation and launch).
//!
//! Each GPU is set up once, lazily and thread-safely, at first use: its primary context,
//! one CUDA stream per mlxr [`Stream`](crate::Stream) (created on first use), its
//! allocator and its kernel cache. A missing driver, NVRTC or GPU makes
//! [`device_count`] an error (with the reason) and the GPU unavailable — never a panic.
//!
//! Data movement: arrays are not tied to a device. Before a node runs,
//! [`prepare_inputs`] moves each input's data to the node's device (host → device upload,
//! or device → host download after synchronising the producing stream), replacing the
//! input's data so it moves once; reads from other CUDA streams are ordered with events.

pub mod allocator;
pub mod binary;
pub mod copy;
pub mod creation;
pub mod elementwise;
pub mod indexing;
pub mod kernels;
pub mod libs;
pub mod matmul;
pub mod optim;
pub mod profile;
pub mod random;
pub mod reduce;
pub mod scan;
pub mod shape;
pub mod softmax;
pub mod sort;
pub mod ternary;
pub mod unary;

use crate::array::{Array, Data};
use crate::buffer::Storage;
use crate::device::{DeviceType, Stream};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use allocator::{Allocator, DeviceBuffer};
use cudarc::driver::{result, safe::CudaContext, sys, CudaStream, DriverError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// A CUDA stream handle that may be passed between threads, with the index of the mlxr
/// stream it serves. CUDA streams live for the whole process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawStream {
    cu: usize,
    /// The mlxr stream index.
    pub index: usize,
}

impl RawStream {
    /// The driver handle.
    pub fn cu(&self) -> sys::CUstream {
        self.cu as sys::CUstream
    }
}

/// A driver error as an mlxr error.
pub(crate) fn drv(e: DriverError, what: &str) -> Error {
    Error::Device(format!("CUDA {what} failed: {e:?}"))
}

/// One GPU: its context, streams, allocator and kernels.
pub struct Gpu {
    /// The device ordinal.
    pub index: usize,
    /// The primary context.
    pub ctx: Arc<CudaContext>,
    /// Compute capability as `10 * major + minor` (90 on H100/H200).
    pub arch: u32,
    /// Number of multiprocessors.
    pub sm_count: u32,
    /// The device name.
    pub name: String,
    /// Total device memory in bytes.
    pub total_memory: usize,
    streams: Mutex<HashMap<usize, Arc<CudaStream>>>,
    /// The caching allocator.
    pub allocator: Allocator,
    pub(crate) kernels: kernels::KernelCache,
}

type Slot = OnceLock<std::result::Result<Gpu, String>>;

/// Probe once: libraries, driver, device count. The error says why no GPU is usable.
fn probe() -> &'static std::result::Result<Vec<Slot>, String> {
    static STATE: OnceLock<std::result::Result<Vec<Slot>, String>> = OnceLock::new();
    STATE.get_or_init(|| {
        guarded(|| {
            libs::load_driver().map_err(|e| e.to_string())?;
            // SAFETY: only probes dlopen.
            if !unsafe { sys::is_culib_present() } {
                return Err("the NVIDIA driver library (libcuda) cannot be opened".into());
            }
            result::init().map_err(|e| format!("cuInit failed (no usable NVIDIA GPU?): {e:?}"))?;
            let n = result::device::get_count()
                .map_err(|e| format!("cuDeviceGetCount failed: {e:?}"))?;
            if n <= 0 {
                return Err("the NVIDIA driver reports no CUDA device".into());
            }
            libs::load_nvrtc().map_err(|e| {
                format!("NVRTC (needed to compile the GPU kernels) is unavailable: {e}")
            })?;
            Ok((0..n).map(|_| OnceLock::new()).collect())
        })
    })
}

/// Run `f`, turning a panic (cudarc panics on a missing library or symbol) into an error.
fn guarded<T>(
    f: impl FnOnce() -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into());
        Err(format!("the CUDA libraries failed to load: {msg}"))
    })
}

/// The number of usable GPUs, or why there is none.
pub fn device_count() -> Result<usize> {
    match probe() {
        Ok(v) => Ok(v.len()),
        Err(e) => Err(Error::Device(e.clone())),
    }
}

/// Whether at least one GPU is usable.
pub fn is_available() -> bool {
    matches!(probe(), Ok(v) if !v.is_empty())
}

/// A report of what the backend found: libraries (and where), NVRTC's version, the GPUs,
/// the kernel cache folder; or why no GPU is usable.
pub fn describe() -> String {
    let mut out = Vec::new();
    out.push(format!(
        "driver: {}",
        libs::load_driver().unwrap_or_else(|e| e.to_string())
    ));
    match libs::load_nvrtc() {
        Ok(p) => {
            let v = kernels::nvrtc_version()
                .map(|(a, b)| format!("{a}.{b}"))
                .unwrap_or_else(|e| e.to_string());
            out.push(format!("nvrtc {v}: {p}"));
        }
        Err(e) => out.push(format!("nvrtc: {e}")),
    }
    match device_count() {
        Ok(n) => {
            for i in 0..n {
                match gpu(i) {
                    Ok(g) => out.push(format!(
                        "GPU {i}: {} (sm_{}), {} multiprocessors, {} MiB",
                        g.name,
                        g.arch,
                        g.sm_count,
                        g.total_memory >> 20
                    )),
                    Err(e) => out.push(format!("GPU {i}: {e}")),
                }
            }
        }
        Err(e) => out.push(format!("no GPU: {e}")),
    }
    out.push(format!("kernel cache: {}", kernels::cache_dir().display()));
    out.join("\n")
}

/// GPU `index`, set up at first use.
pub fn gpu(index: usize) -> Result<&'static Gpu> {
    let slots = probe().as_ref().map_err(|e| Error::Device(e.clone()))?;
    let slot = slots.get(index).ok_or_else(|| {
        Error::Device(format!(
            "GPU {index} does not exist: this machine has {} GPU(s)",
            slots.len()
        ))
    })?;
    let g = slot
        .get_or_init(|| guarded(|| Gpu::new(index).map_err(|e| e.to_string())))
        .as_ref()
        .map_err(|e| Error::Device(e.clone()))?;
    g.ctx
        .bind_to_thread()
        .map_err(|e| drv(e, "cuCtxSetCurrent"))?;
    Ok(g)
}

/// GPU `index` if it has been set up already (never initialises).
pub(crate) fn initialised(index: usize) -> Option<&'static Gpu> {
    probe().as_ref().ok()?.get(index)?.get()?.as_ref().ok()
}

impl Gpu {
    fn new(index: usize) -> Result<Gpu> {
        let ctx = CudaContext::new(index).map_err(|e| drv(e, "context creation"))?;
        // mlxr orders work across streams itself (see `prepare_inputs`).
        // SAFETY: no cudarc-managed buffers are used with this context.
        unsafe { ctx.disable_event_tracking() };
        let (maj, min) = ctx
            .compute_capability()
            .map_err(|e| drv(e, "cuDeviceGetAttribute"))?;
        let sm_count = ctx
            .attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT)
            .map_err(|e| drv(e, "cuDeviceGetAttribute"))?;
        let total = ctx.total_mem().map_err(|e| drv(e, "cuDeviceTotalMem"))?;
        let name = ctx.name().unwrap_or_else(|_| "unknown GPU".into());
        let pool = if ctx.has_async_alloc() {
            // SAFETY: a valid device of this context.
            Some(
                unsafe { result::device::get_default_mem_pool(ctx.cu_device()) }
                    .map_err(|e| drv(e, "cuDeviceGetDefaultMemPool"))?,
            )
        } else {
            None
        };
        Ok(Gpu {
            index,
            arch: (maj * 10 + min) as u32,
            sm_count: sm_count.max(1) as u32,
            name,
            total_memory: total,
            allocator: Allocator::new(index, total, pool),
            kernels: kernels::KernelCache::default(),
            streams: Mutex::new(HashMap::new()),
            ctx,
        })
    }

    /// The CUDA stream serving mlxr stream `index` on this GPU (created at first use).
    pub fn stream(&self, index: usize) -> Result<RawStream> {
        let mut m = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        let s = match m.get(&index) {
            Some(s) => s.clone(),
            None => {
                let s = self
                    .ctx
                    .new_stream()
                    .map_err(|e| drv(e, "cuStreamCreate"))?;
                m.insert(index, s.clone());
                s
            }
        };
        Ok(RawStream {
            cu: s.cu_stream() as usize,
            index,
        })
    }

    /// Fresh row-contiguous device data of `shape` and `dtype`, for work on `stream`.
    pub fn alloc(&self, shape: &[usize], dtype: Dtype, stream: RawStream) -> Result<Data> {
        let n: usize = shape.iter().product();
        let buf = self.allocator.alloc(n * dtype.size(), stream)?;
        Ok(Data::row_contiguous(Arc::new(Storage::Cuda(buf)), shape))
    }

    /// A fresh device buffer of `bytes` bytes.
    pub fn alloc_bytes(&self, bytes: usize, stream: RawStream) -> Result<DeviceBuffer> {
        self.allocator.alloc(bytes, stream)
    }
}

/// The GPU and CUDA stream an mlxr GPU stream runs on (context bound to this thread).
pub fn resolve(s: Stream) -> Result<(&'static Gpu, RawStream)> {
    if s.device.kind != DeviceType::Gpu {
        return Err(Error::Device(format!("{s} is not a GPU stream")));
    }
    let g = gpu(s.device.index)?;
    let st = g.stream(s.index)?;
    Ok((g, st))
}

/// Wait until all work queued on a GPU stream is done.
pub fn synchronize(s: Stream) -> Result<()> {
    let (_, st) = resolve(s)?;
    // SAFETY: a live stream.
    unsafe { result::stream::synchronize(st.cu()) }.map_err(|e| drv(e, "cuStreamSynchronize"))
}

/// The device buffer of a storage, if it lives on a GPU.
pub fn device_buffer(s: &Storage) -> Option<&DeviceBuffer> {
    match s {
        Storage::Cuda(b) => Some(b),
        _ => None,
    }
}

/// Device address of element `offset` of `d` (elements of `dtype`).
pub fn data_ptr(d: &Data, dtype: Dtype) -> u64 {
    let b = device_buffer(&d.storage).expect("device data");
    b.ptr() + (d.offset * dtype.size()) as u64
}

/// Make `waiter` wait for the work queued so far on `on`.
fn stream_wait(on: RawStream, waiter: RawStream) -> Result<()> {
    if on == waiter {
        return Ok(());
    }
    let ev = result::event::create(sys::CUevent_flags::CU_EVENT_DISABLE_TIMING)
        .map_err(|e| drv(e, "cuEventCreate"))?;
    // SAFETY: live event and streams; the event is destroyed after the wait is queued
    // (the driver keeps it until the wait completes).
    unsafe {
        result::event::record(ev, on.cu()).map_err(|e| drv(e, "cuEventRecord"))?;
        result::stream::wait_event(
            waiter.cu(),
            ev,
            sys::CUevent_wait_flags::CU_EVENT_WAIT_DEFAULT,
        )
        .map_err(|e| drv(e, "cuStreamWaitEvent"))?;
        let _ = result::event::destroy(ev);
    }
    Ok(())
}

/// Before a node on `stream` runs: give it its inputs on its own device. On the CPU,
/// device data is downloaded (after its stream finishes); on a GPU, host data (or data
/// of another GPU) is uploaded; data of another stream of the same GPU is ordered with
/// an event. Moved data replaces the input's data, so it moves once.
pub(crate) fn prepare_inputs(stream: Stream, inputs: &[Array]) -> Result<()> {
    match stream.device.kind {
        DeviceType::Cpu => {
            for x in inputs {
                let d = x.data()?;
                if !d.storage.is_host() {
                    x.set_data(copy::to_host(&d, x.shape(), x.dtype())?);
                }
            }
        }
        DeviceType::Gpu => {
            let (g, st) = resolve(stream)?;
            for x in inputs {
                let d = x.data()?;
                match device_buffer(&d.storage) {
                    Some(b) if b.device() == g.index => stream_wait(b.stream(), st)?,
                    Some(_) => {
                        let h = copy::to_host(&d, x.shape(), x.dtype())?;
                        x.set_data(copy::to_device(g, st, &h, x.shape(), x.dtype())?);
                    }
                    None => x.set_data(copy::to_device(g, st, &d, x.shape(), x.dtype())?),
                }
            }
        }
    }
    Ok(())
}

/// After a GPU node on `stream` is queued: inputs owned by another stream of the GPU
/// (which frees and reuses their memory) must wait for this node's reads.
pub(crate) fn finish_inputs(stream: Stream, inputs: &[Array]) -> Result<()> {
    if stream.device.kind != DeviceType::Gpu {
        return Ok(());
    }
    let (_, st) = resolve(stream)?;
    for x in inputs {
        let d = x.data()?;
        if let Some(b) = device_buffer(&d.storage) {
            if b.stream() != st {
                stream_wait(st, b.stream())?;
            }
        }
    }
    Ok(())
}

/// Run a primitive's CPU kernel for a GPU node (the ops and dtypes that have no GPU kernel
/// yet): inputs are downloaded, `eval_cpu` runs on host copies, and the outputs are
/// uploaded onto the node's stream. Correct but slow; used only for rare cases.
pub(crate) fn cpu_fallback(
    p: &dyn crate::Primitive,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let cpu = crate::device::default_stream(crate::device::Device::cpu());
    let tmp_in = inputs
        .iter()
        .map(|x| {
            let d = x.data()?;
            let h = if d.storage.is_host() {
                d
            } else {
                copy::to_host(&d, x.shape(), x.dtype())?
            };
            Ok(Array::from_data(h, x.shape().to_vec(), x.dtype(), cpu))
        })
        .collect::<Result<Vec<_>>>()?;
    let tmp_out = outputs
        .iter()
        .map(|o| {
            Ok(Array::from_data(
                Data::alloc(&[0], o.dtype())?,
                o.shape().to_vec(),
                o.dtype(),
                cpu,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    p.eval_cpu(&tmp_in, &tmp_out)?;
    let (g, st) = resolve(outputs[0].stream())?;
    for (o, t) in outputs.iter().zip(&tmp_out) {
        let d = t.data()?;
        o.set_data(copy::to_device(g, st, &d, o.shape(), o.dtype())?);
    }
    Ok(())
}
