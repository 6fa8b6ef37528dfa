//! Memory statistics and limits of the default device's allocator (MLX's
//! `get_active_memory`, `get_cache_memory`, `get_peak_memory`, `reset_peak_memory`,
//! `set_memory_limit`, `set_cache_limit`, `clear_cache`). On a GPU they describe its
//! caching device allocator; on the CPU, host buffers (which are not cached, so the cache
//! is always empty).

use crate::device::{default_device, DeviceType};
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};

static HOST_ACTIVE: AtomicUsize = AtomicUsize::new(0);
static HOST_PEAK: AtomicUsize = AtomicUsize::new(0);
static HOST_LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Count a host allocation of `bytes` (an error beyond the memory limit).
#[inline]
pub(crate) fn host_alloc(bytes: usize) -> Result<()> {
    let now = HOST_ACTIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    let limit = HOST_LIMIT.load(Ordering::Relaxed);
    if now > limit {
        HOST_ACTIVE.fetch_sub(bytes, Ordering::Relaxed);
        return Err(Error::Device(format!(
            "out of memory: allocating {bytes} bytes on the host would exceed the memory limit \
             of {limit} bytes ({} bytes in use); see mlxr::memory::set_memory_limit",
            now - bytes
        )));
    }
    HOST_PEAK.fetch_max(now, Ordering::Relaxed);
    Ok(())
}

/// Count a host deallocation.
#[inline]
pub(crate) fn host_free(bytes: usize) {
    HOST_ACTIVE.fetch_sub(bytes, Ordering::Relaxed);
}

#[cfg(feature = "cuda")]
fn gpu_allocator() -> Option<&'static crate::backend::cuda::allocator::Allocator> {
    let d = default_device();
    if d.kind != DeviceType::Gpu {
        return None;
    }
    crate::backend::cuda::gpu(d.index)
        .ok()
        .map(|g| &g.allocator)
}

#[cfg(not(feature = "cuda"))]
fn gpu_allocator() -> Option<&'static NoGpu> {
    let _ = (default_device(), DeviceType::Gpu);
    None
}

/// Stand-in for the device allocator in builds without a GPU backend.
#[cfg(not(feature = "cuda"))]
struct NoGpu;
#[cfg(not(feature = "cuda"))]
#[allow(dead_code)]
impl NoGpu {
    fn active_memory(&self) -> usize {
        0
    }
    fn cache_memory(&self) -> usize {
        0
    }
    fn peak_memory(&self) -> usize {
        0
    }
    fn reset_peak_memory(&self) {}
    fn memory_limit(&self) -> usize {
        0
    }
    fn set_memory_limit(&self, _: usize) -> usize {
        0
    }
    fn set_cache_limit(&self, _: usize) -> usize {
        0
    }
    fn clear_cache(&self) -> Result<()> {
        Ok(())
    }
}

/// Bytes currently held by arrays on the default device.
pub fn active_memory() -> usize {
    match gpu_allocator() {
        Some(a) => a.active_memory(),
        None => HOST_ACTIVE.load(Ordering::Relaxed),
    }
}

/// Bytes held in the default device's allocator cache (freed by arrays, kept for reuse).
pub fn cache_memory() -> usize {
    match gpu_allocator() {
        Some(a) => a.cache_memory(),
        None => 0,
    }
}

/// The largest [`active_memory`] since the program started or [`reset_peak_memory`].
pub fn peak_memory() -> usize {
    match gpu_allocator() {
        Some(a) => a.peak_memory(),
        None => HOST_PEAK.load(Ordering::Relaxed),
    }
}

/// Reset the peak memory to the current active memory.
pub fn reset_peak_memory() {
    match gpu_allocator() {
        Some(a) => a.reset_peak_memory(),
        None => HOST_PEAK.store(HOST_ACTIVE.load(Ordering::Relaxed), Ordering::Relaxed),
    }
}

/// The memory limit: allocations that would take active memory beyond it fail with
/// `Error::Device` (after the cache is freed). Defaults to the GPU's memory, unlimited
/// on the host.
pub fn memory_limit() -> usize {
    match gpu_allocator() {
        Some(a) => a.memory_limit(),
        None => HOST_LIMIT.load(Ordering::Relaxed),
    }
}

/// Set the memory limit in bytes; returns the previous limit.
pub fn set_memory_limit(limit: usize) -> usize {
    match gpu_allocator() {
        Some(a) => a.set_memory_limit(limit),
        None => HOST_LIMIT.swap(limit, Ordering::Relaxed),
    }
}

/// Set the cache limit in bytes (the cache is trimmed to it; 0 disables caching);
/// returns the previous limit. The host has no cache (returns 0).
pub fn set_cache_limit(limit: usize) -> usize {
    match gpu_allocator() {
        Some(a) => a.set_cache_limit(limit),
        None => 0,
    }
}

/// Free the allocator cache of the default device.
pub fn clear_cache() {
    if let Some(a) = gpu_allocator() {
        let _ = a.clear_cache();
    }
}
