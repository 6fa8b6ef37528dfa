//! Copies on the GPU, the twin of backend/cpu/copy.rs: host ↔ device transfers (keeping
//! the layout, moving only the span of storage the array's elements cover) and device
//! copies to row-contiguous storage with an optional dtype conversion (the kernels
//! behind `contiguous`, `astype` and reshape of non-contiguous data).

use super::elementwise::{self, UnaryOp};
use super::kernels::{Group, COPY};
use super::{device_buffer, drv, Gpu, RawStream};
use crate::array::Data;
use crate::buffer::{HostBuffer, Storage};
use crate::dtype::Dtype;
use crate::error::Result;
use cudarc::driver::result;
use std::sync::Arc;

/// The cast op: the identity functor, so the kernel's conversion to the output type
/// does all the work. The kernels for one input dtype and every output dtype are
/// compiled together.
pub static CAST: UnaryOp = UnaryOp {
    program: &COPY,
    functor: "mlxr::Identity",
    pairs: all_pairs,
    group: same_input,
};

fn all_pairs() -> Vec<(Dtype, Dtype)> {
    Dtype::ALL
        .iter()
        .flat_map(|&a| Dtype::ALL.iter().map(move |&b| (a, b)))
        .collect()
}

fn same_input(a: Dtype, _b: Dtype) -> Vec<(Dtype, Dtype)> {
    Dtype::ALL.iter().map(|&b| (a, b)).collect()
}

/// The compile groups of the copy kernels.
pub fn kernel_groups() -> Vec<Group> {
    CAST.groups()
}

/// The range of storage slots `[lo, hi)` that the elements of `d` (with `shape`) cover.
pub fn span(d: &Data, shape: &[usize]) -> (usize, usize) {
    if shape.iter().product::<usize>() == 0 {
        return (d.offset, d.offset);
    }
    let (mut lo, mut hi) = (d.offset as isize, d.offset as isize);
    for (&n, &s) in shape.iter().zip(&d.strides) {
        let ext = s * (n as isize - 1);
        if ext < 0 {
            lo += ext;
        } else {
            hi += ext;
        }
    }
    (lo as usize, hi as usize + 1)
}

/// Host copy of device data with the same layout (only the covered span is moved).
/// Waits for the stream that produced the data.
pub fn to_host(d: &Data, shape: &[usize], dtype: Dtype) -> Result<Data> {
    let b = device_buffer(&d.storage).expect("device data");
    let (lo, hi) = span(d, shape);
    let sz = dtype.size();
    let mut h = HostBuffer::new((hi - lo) * sz, false)?;
    if hi > lo {
        let g = super::gpu(b.device())?;
        let _ = g;
        let st = b.stream();
        // SAFETY: the source range lies inside the buffer; the destination holds
        // exactly that many bytes; the stream is synchronised before `h` is used.
        unsafe {
            result::memcpy_dtoh_async(h.bytes_mut(), b.ptr() + (lo * sz) as u64, st.cu())
                .map_err(|e| drv(e, "cuMemcpyDtoHAsync"))?;
            result::stream::synchronize(st.cu()).map_err(|e| drv(e, "cuStreamSynchronize"))?;
        }
    }
    Ok(Data {
        storage: Arc::new(Storage::Host(h)),
        strides: d.strides.clone(),
        offset: d.offset - lo,
        data_size: d.data_size,
        flags: d.flags,
    })
}

/// Device copy of host data with the same layout (only the covered span is moved),
/// queued on `stream`.
pub fn to_device(
    g: &Gpu,
    stream: RawStream,
    d: &Data,
    shape: &[usize],
    dtype: Dtype,
) -> Result<Data> {
    let (lo, hi) = span(d, shape);
    let sz = dtype.size();
    let buf = g.alloc_bytes((hi - lo) * sz, stream)?;
    if hi > lo {
        let src = &d.host().bytes()[lo * sz..hi * sz];
        // SAFETY: the destination holds `src.len()` bytes; a copy from pageable memory
        // has read `src` when the call returns.
        unsafe { result::memcpy_htod_async(buf.ptr(), src, stream.cu()) }
            .map_err(|e| drv(e, "cuMemcpyHtoDAsync"))?;
    }
    Ok(Data {
        storage: Arc::new(Storage::Cuda(buf)),
        strides: d.strides.clone(),
        offset: d.offset - lo,
        data_size: d.data_size,
        flags: d.flags,
    })
}

/// Copy device data `src` into fresh row-contiguous device storage of dtype `to`.
pub fn copy_to_contiguous(
    g: &Gpu,
    stream: RawStream,
    src: &Data,
    shape: &[usize],
    from: Dtype,
    to: Dtype,
) -> Result<Data> {
    elementwise::unary_data(g, stream, &CAST, src, shape, from, to, false, None)
}

/// Convert device data to dtype `to`; dense inputs keep their layout (one linear pass),
/// others become row-contiguous.
pub fn cast(
    g: &Gpu,
    stream: RawStream,
    src: &Data,
    shape: &[usize],
    from: Dtype,
    to: Dtype,
) -> Result<Data> {
    elementwise::unary_data(g, stream, &CAST, src, shape, from, to, true, None)
}

/// The elements of device data `src` in row-major order as dtype `T` on the host: a
/// device copy/cast to row-contiguous `T` (unless already so), then one download.
pub fn to_vec<T: crate::Element>(src: &Data, shape: &[usize], dtype: Dtype) -> Result<Vec<T>> {
    let b = device_buffer(&src.storage).expect("device data");
    let n: usize = shape.iter().product();
    let g = super::gpu(b.device())?;
    let st = b.stream();
    let c = if src.flags.row_contiguous && dtype == T::DTYPE {
        src.clone()
    } else {
        copy_to_contiguous(g, st, src, shape, dtype, T::DTYPE)?
    };
    let mut out = vec![T::default(); n];
    if n > 0 {
        let cb = device_buffer(&c.storage).expect("device data");
        // SAFETY: `c` holds n row-contiguous elements of T from its offset; the stream is
        // synchronised before `out` is read. Every element type is plain old data (bool
        // buffers hold 0/1).
        unsafe {
            result::memcpy_dtoh_async(
                out.as_mut_slice(),
                cb.ptr() + (c.offset * T::DTYPE.size()) as u64,
                st.cu(),
            )
            .map_err(|e| drv(e, "cuMemcpyDtoHAsync"))?;
            result::stream::synchronize(st.cu()).map_err(|e| drv(e, "cuStreamSynchronize"))?;
        }
    }
    Ok(out)
}
