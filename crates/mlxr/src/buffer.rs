//! Storage: the memory an evaluated array's data lives in. Host memory is a 64-byte
//! aligned allocation; the CUDA backend adds device memory as another variant.

use crate::dtype::Element;
use crate::error::{Error, Result};
use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;

const ALIGN: usize = 64;

/// A 64-byte aligned block of host memory.
pub struct HostBuffer {
    ptr: NonNull<u8>,
    bytes: usize,
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
            });
        }
        let layout = Layout::from_size_align(bytes, ALIGN)
            .map_err(|_| Error::Device(format!("cannot allocate {bytes} bytes")))?;
        // SAFETY: layout has non-zero size.
        let p = unsafe {
            if zeroed {
                alloc_zeroed(layout)
            } else {
                alloc(layout)
            }
        };
        let ptr = NonNull::new(p).ok_or_else(|| {
            Error::Device(format!("out of host memory allocating {bytes} bytes"))
        })?;
        Ok(HostBuffer { ptr, bytes })
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
            // SAFETY: allocated in `new` with this layout.
            unsafe { dealloc(self.ptr.as_ptr(), Layout::from_size_align_unchecked(self.bytes, ALIGN)) }
        }
    }
}

/// Where an array's elements live.
pub enum Storage {
    /// Host (CPU) memory.
    Host(HostBuffer),
}

impl Storage {
    /// The host buffer (error if the data lives elsewhere).
    pub fn host(&self) -> &HostBuffer {
        match self {
            Storage::Host(h) => h,
        }
    }
    /// The host buffer, mutably.
    pub fn host_mut(&mut self) -> &mut HostBuffer {
        match self {
            Storage::Host(h) => h,
        }
    }
    /// Size in bytes.
    pub fn nbytes(&self) -> usize {
        match self {
            Storage::Host(h) => h.len(),
        }
    }
}
