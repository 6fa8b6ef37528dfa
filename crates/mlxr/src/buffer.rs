//! Storage: the memory an evaluated array's data lives in. Host memory is a 64-byte
//! aligned allocation; with the `cuda` feature, device memory is another variant.
//!
//! On Linux, large host buffers (at least [`HUGE_MIN`], 32 MiB) are mapped directly with
//! `mmap`, aligned to 2 MiB and advised `MADV_HUGEPAGE`: the kernel then backs them with
//! transparent huge pages, so a fresh output costs a few page faults instead of one per
//! 4 KiB (as NumPy does for its large arrays). Fresh mappings are zero, so zeroed large
//! buffers cost nothing extra.

use crate::dtype::Element;
use crate::error::{Error, Result};
use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

const ALIGN: usize = 64;

/// Host buffers of at least this many bytes are mapped directly and advised to use huge
/// pages (Linux). glibc's malloc maps buffers this large itself (32 MiB is its largest
/// dynamic mmap threshold) and unmaps them on free, so they never come back from its
/// heap warm; smaller ones may be reused from the heap without page faults, and are
/// left to it.
pub const HUGE_MIN: usize = 32 << 20;

/// Huge page size (the alignment and granularity of directly mapped buffers).
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

/// Map `bytes` (at least [`HUGE_MIN`]) of fresh zeroed memory, 2 MiB aligned and advised
/// to use huge pages; the mapping spans `bytes` rounded up to 2 MiB. None when the kernel
/// refuses.
#[cfg(target_os = "linux")]
fn map_huge(bytes: usize) -> Option<NonNull<u8>> {
    let len = bytes.checked_next_multiple_of(HUGE_PAGE)?;
    let total = len.checked_add(HUGE_PAGE)?;
    // SAFETY: an anonymous private mapping with no address hint; the unused head and tail
    // are unmapped right away, leaving `len` bytes starting 2 MiB aligned.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            total,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return None;
        }
        let start = p as usize;
        let aligned = start.next_multiple_of(HUGE_PAGE);
        let head = aligned - start;
        if head > 0 {
            libc::munmap(p, head);
        }
        let tail = total - head - len;
        if tail > 0 {
            libc::munmap((aligned + len) as *mut libc::c_void, tail);
        }
        // Advice only: a kernel without transparent huge pages keeps 4 KiB pages.
        libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
        NonNull::new(aligned as *mut u8)
    }
}

/// A 64-byte aligned block of host memory.
pub struct HostBuffer {
    ptr: NonNull<u8>,
    bytes: usize,
    /// Mapped by `map_huge` (freed with `munmap`) rather than the global allocator.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    mapped: bool,
}

// SAFETY: the buffer is plain memory; access is synchronised by the graph (a buffer is
// written only by the kernel that produces it, or by a donee that holds the only handle).
unsafe impl Send for HostBuffer {}
unsafe impl Sync for HostBuffer {}

impl HostBuffer {
    /// Allocate `bytes` bytes (uninitialised contents are never exposed: kernels write
    /// every element they produce; `zeroed` asks for zeros).
    pub fn new(bytes: usize, zeroed: bool) -> Result<HostBuffer> {
        if bytes == 0 {
            return Ok(HostBuffer {
                ptr: NonNull::<u64>::dangling().cast(),
                bytes: 0,
                mapped: false,
            });
        }
        let layout = Layout::from_size_align(bytes, ALIGN)
            .map_err(|_| Error::Device(format!("cannot allocate {bytes} bytes")))?;
        crate::memory::host_alloc(bytes)?;
        #[cfg(target_os = "linux")]
        if bytes >= HUGE_MIN {
            if let Some(ptr) = map_huge(bytes) {
                return Ok(HostBuffer {
                    ptr,
                    bytes,
                    mapped: true,
                });
            }
        }
        // SAFETY: layout has non-zero size.
        let p = unsafe {
            if zeroed {
                alloc_zeroed(layout)
            } else {
                alloc(layout)
            }
        };
        let ptr = NonNull::new(p).ok_or_else(|| {
            crate::memory::host_free(bytes);
            Error::Device(format!("out of host memory allocating {bytes} bytes"))
        })?;
        Ok(HostBuffer {
            ptr,
            bytes,
            mapped: false,
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.bytes
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }
    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr is valid for `bytes` bytes for the lifetime of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.bytes) }
    }
    /// The raw bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` gives exclusive access.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.bytes) }
    }
    /// The buffer as a slice of `T` (the buffer holds whole elements of `T`).
    pub fn as_slice<T: Element>(&self) -> &[T] {
        let n = self.bytes / std::mem::size_of::<T>();
        // SAFETY: 64-byte alignment covers every element type; bool buffers hold only 0/1
        // (every writer stores valid `T` values).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const T, n) }
    }
    /// The buffer as a mutable slice of `T`.
    pub fn as_mut_slice<T: Element>(&mut self) -> &mut [T] {
        let n = self.bytes / std::mem::size_of::<T>();
        // SAFETY: see `as_slice`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr() as *mut T, n) }
    }
    /// Raw pointer to the first byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }
    /// Raw mutable pointer to the first byte (writers must hold the only handle or write
    /// disjoint elements).
    pub fn as_mut_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        if self.bytes > 0 {
            crate::memory::host_free(self.bytes);
            #[cfg(target_os = "linux")]
            if self.mapped {
                // SAFETY: mapped by `map_huge` with this rounded length.
                unsafe {
                    libc::munmap(
                        self.ptr.as_ptr() as *mut libc::c_void,
                        self.bytes.next_multiple_of(HUGE_PAGE),
                    );
                }
                return;
            }
            // SAFETY: allocated in `new` with this layout.
            unsafe {
                dealloc(
                    self.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(self.bytes, ALIGN),
                )
            }
        }
    }
}

/// Where an array's elements live.
pub enum Storage {
    /// Host (CPU) memory.
    Host(HostBuffer),
    /// Device memory of a GPU.
    #[cfg(feature = "cuda")]
    Cuda(crate::backend::cuda::allocator::DeviceBuffer),
}

impl Storage {
    /// Whether the storage is host memory (always, without the `cuda` feature).
    #[inline]
    pub fn is_host(&self) -> bool {
        matches!(self, Storage::Host(_))
    }
    /// The host buffer. Kernels on the CPU only ever see host storage (evaluation moves
    /// device data to the host first), so device storage here is a bug.
    pub fn host(&self) -> &HostBuffer {
        match self {
            Storage::Host(h) => h,
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => panic!("host access to device storage {b:?}"),
        }
    }
    /// The host buffer, mutably (see [`Storage::host`]).
    pub fn host_mut(&mut self) -> &mut HostBuffer {
        match self {
            Storage::Host(h) => h,
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => panic!("host access to device storage {b:?}"),
        }
    }
    /// Size in bytes.
    pub fn nbytes(&self) -> usize {
        match self {
            Storage::Host(h) => h.len(),
            #[cfg(feature = "cuda")]
            Storage::Cuda(b) => b.len(),
        }
    }
}
