//! Device memory: a caching allocator over stream-ordered allocation
//! (`cuMemAllocAsync` / `cuMemFreeAsync` on the device's default memory pool). Freed
//! buffers go to a cache keyed by (stream, size bucket) and are reused by later
//! allocations on the same stream (stream order makes the reuse safe without any
//! synchronisation). Statistics (active, cache, peak) and limits back `mlxr::memory`.

use super::{drv, RawStream};
use crate::error::{Error, Result};
use cudarc::driver::{result, sys};
use std::collections::HashMap;
use std::sync::Mutex;

/// A block of device memory owned by one array storage. Returned to its device's cache
/// when dropped.
pub struct DeviceBuffer {
    ptr: sys::CUdeviceptr,
    bytes: usize,
    capacity: usize,
    device: usize,
    stream: RawStream,
}

impl DeviceBuffer {
    /// The device address of the first byte (0 for an empty buffer).
    pub fn ptr(&self) -> sys::CUdeviceptr {
        self.ptr
    }
    /// The requested size in bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }
    /// True for an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }
    /// The size of the block actually reserved (its bucket).
    pub fn capacity(&self) -> usize {
        self.capacity
    }
    /// The GPU index.
    pub fn device(&self) -> usize {
        self.device
    }
    /// The stream the buffer was allocated on (its producer runs there; it is freed
    /// there).
    pub fn stream(&self) -> RawStream {
        self.stream
    }
}

impl Drop for DeviceBuffer {
    fn drop(&mut self) {
        if self.capacity == 0 {
            return;
        }
        if let Some(g) = super::initialised(self.device) {
            g.allocator.release(self.ptr, self.capacity, self.stream);
        }
    }
}

impl std::fmt::Debug for DeviceBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DeviceBuffer(gpu {}, {:#x}, {} bytes)",
            self.device, self.ptr, self.bytes
        )
    }
}

/// The size class of an allocation of `n` bytes: 256 bytes at least, powers of two up to
/// 1 MiB, then steps of an eighth of the next power of two (at most 64 MiB), so at most
/// 12.5% is wasted on large blocks.
pub fn bucket(n: usize) -> usize {
    if n <= 256 {
        return 256;
    }
    let p = n.next_power_of_two();
    if p <= 1 << 20 {
        return p;
    }
    let step = (p / 8).min(64 << 20);
    n.div_ceil(step) * step
}

struct State {
    /// Cached blocks: (stream index, capacity) → blocks.
    free: HashMap<(usize, usize), Vec<(sys::CUdeviceptr, RawStream)>>,
    active: usize,
    cache: usize,
    peak: usize,
    memory_limit: usize,
    cache_limit: usize,
}

/// The caching allocator of one GPU.
pub struct Allocator {
    device: usize,
    state: Mutex<State>,
    pool: Option<usize>,
    total: usize,
}

// SAFETY: the pool handle is an opaque driver handle usable from any thread.
unsafe impl Send for Allocator {}
unsafe impl Sync for Allocator {}

impl Allocator {
    /// The allocator of GPU `device` with `total` bytes of memory; `pool` is the device's
    /// default memory pool when stream-ordered allocation is supported.
    pub(crate) fn new(device: usize, total: usize, pool: Option<sys::CUmemoryPool>) -> Allocator {
        Allocator {
            device,
            state: Mutex::new(State {
                free: HashMap::new(),
                active: 0,
                cache: 0,
                peak: 0,
                memory_limit: total,
                cache_limit: total,
            }),
            pool: pool.map(|p| p as usize),
            total,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Allocate `bytes` bytes for work on `stream` (uninitialised contents).
    pub fn alloc(&self, bytes: usize, stream: RawStream) -> Result<DeviceBuffer> {
        if bytes == 0 {
            return Ok(DeviceBuffer {
                ptr: 0,
                bytes: 0,
                capacity: 0,
                device: self.device,
                stream,
            });
        }
        let cap = bucket(bytes);
        let make = |ptr| DeviceBuffer {
            ptr,
            bytes,
            capacity: cap,
            device: self.device,
            stream,
        };
        {
            let mut st = self.lock();
            if let Some(ptr) = st
                .free
                .get_mut(&(stream.index, cap))
                .and_then(|v| v.pop())
                .map(|(p, _)| p)
            {
                st.cache -= cap;
                st.active += cap;
                st.peak = st.peak.max(st.active);
                return Ok(make(ptr));
            }
            if st.active + cap > st.memory_limit {
                drop(st);
                self.clear_cache()?;
                let st = self.lock();
                if st.active + cap > st.memory_limit {
                    return Err(Error::Device(format!(
                        "out of memory on GPU {}: allocating {bytes} bytes would exceed the memory \
                         limit of {} bytes ({} bytes in use); see mlxr::memory::set_memory_limit",
                        self.device, st.memory_limit, st.active
                    )));
                }
            }
        }
        let ptr = match self.raw_alloc(cap, stream) {
            Ok(p) => p,
            Err(e) if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY => {
                // Give the cache back to the driver and try once more.
                self.clear_cache()?;
                self.raw_alloc(cap, stream).map_err(|e| {
                    let st = self.lock();
                    Error::Device(format!(
                        "out of memory on GPU {}: cannot allocate {bytes} bytes ({} bytes in use \
                         by arrays, {} bytes of device memory in total): {e:?}",
                        self.device, st.active, self.total
                    ))
                })?
            }
            Err(e) => return Err(drv(e, "cuMemAllocAsync")),
        };
        let mut st = self.lock();
        st.active += cap;
        st.peak = st.peak.max(st.active);
        Ok(make(ptr))
    }

    fn raw_alloc(
        &self,
        cap: usize,
        stream: RawStream,
    ) -> std::result::Result<sys::CUdeviceptr, result::DriverError> {
        // SAFETY: the context is current (callers bind it); the stream lives forever.
        unsafe {
            if self.pool.is_some() {
                result::malloc_async(stream.cu(), cap)
            } else {
                result::malloc_sync(cap)
            }
        }
    }

    fn raw_free(&self, ptr: sys::CUdeviceptr, stream: RawStream) {
        if let Some(g) = super::initialised(self.device) {
            let _ = g.ctx.bind_to_thread();
        }
        // SAFETY: `ptr` came from `raw_alloc` and is freed once; work using it was
        // enqueued on `stream` (or joined into it), so a stream-ordered free is safe.
        unsafe {
            let _ = if self.pool.is_some() {
                result::free_async(ptr, stream.cu())
            } else {
                result::free_sync(ptr)
            };
        }
    }

    /// Return a block to the cache (or to the driver when the cache is full).
    fn release(&self, ptr: sys::CUdeviceptr, cap: usize, stream: RawStream) {
        let mut to_free = Vec::new();
        {
            let mut st = self.lock();
            st.active -= cap;
            if cap > st.cache_limit {
                to_free.push((ptr, stream));
            } else {
                if st.cache + cap > st.cache_limit {
                    let need = st.cache + cap - st.cache_limit;
                    to_free = evict(&mut st, need);
                }
                st.free
                    .entry((stream.index, cap))
                    .or_default()
                    .push((ptr, stream));
                st.cache += cap;
            }
        }
        for (p, s) in to_free {
            self.raw_free(p, s);
        }
    }

    /// Free every cached block and give the memory back to the driver.
    pub fn clear_cache(&self) -> Result<()> {
        let blocks: Vec<(sys::CUdeviceptr, RawStream)> = {
            let mut st = self.lock();
            st.cache = 0;
            st.free.drain().flat_map(|(_, v)| v).collect()
        };
        if blocks.is_empty() {
            return Ok(());
        }
        for &(p, s) in &blocks {
            self.raw_free(p, s);
        }
        if let Some(pool) = self.pool {
            if let Some(g) = super::initialised(self.device) {
                g.ctx
                    .synchronize()
                    .map_err(|e| drv(e, "cuCtxSynchronize"))?;
            }
            // SAFETY: the default pool of this device.
            unsafe { result::mem_pool::trim_to(pool as sys::CUmemoryPool, 0) }
                .map_err(|e| drv(e, "cuMemPoolTrimTo"))?;
        }
        Ok(())
    }

    /// Bytes held by live arrays.
    pub fn active_memory(&self) -> usize {
        self.lock().active
    }
    /// Bytes held in the cache.
    pub fn cache_memory(&self) -> usize {
        self.lock().cache
    }
    /// The largest `active_memory` since the start or the last reset.
    pub fn peak_memory(&self) -> usize {
        self.lock().peak
    }
    /// Reset the peak to the current active memory.
    pub fn reset_peak_memory(&self) {
        let mut st = self.lock();
        st.peak = st.active;
    }
    /// The memory limit.
    pub fn memory_limit(&self) -> usize {
        self.lock().memory_limit
    }
    /// Set the memory limit (allocations beyond it fail); returns the previous one.
    pub fn set_memory_limit(&self, limit: usize) -> usize {
        std::mem::replace(&mut self.lock().memory_limit, limit)
    }
    /// Set the cache limit (the cache is trimmed to it); returns the previous one.
    pub fn set_cache_limit(&self, limit: usize) -> usize {
        let (old, to_free) = {
            let mut st = self.lock();
            let old = std::mem::replace(&mut st.cache_limit, limit);
            let to_free = if st.cache > limit {
                let need = st.cache - limit;
                evict(&mut st, need)
            } else {
                Vec::new()
            };
            (old, to_free)
        };
        for (p, s) in to_free {
            self.raw_free(p, s);
        }
        old
    }
}

/// Take at least `need` bytes of cached blocks out of the cache, largest first.
fn evict(st: &mut State, need: usize) -> Vec<(sys::CUdeviceptr, RawStream)> {
    let mut keys: Vec<(usize, usize)> = st.free.keys().copied().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.1));
    let mut out = Vec::new();
    let mut freed = 0;
    for k in keys {
        let v = st.free.get_mut(&k).expect("key");
        while freed < need {
            match v.pop() {
                Some(b) => {
                    freed += k.1;
                    st.cache -= k.1;
                    out.push(b);
                }
                None => break,
            }
        }
        if v.is_empty() {
            st.free.remove(&k);
        }
        if freed >= need {
            break;
        }
    }
    out
}
