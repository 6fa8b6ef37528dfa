//! Indexing on the GPU, the twin of backend/cpu/indexing.rs: `Gather` / `Scatter` (several
//! broadcast index arrays), `GatherAxis` / `ScatterAxis` (`take_along_axis`,
//! `put_along_axis`, `scatter_add_axis`), slice updates with static or dynamic starts and
//! `DynamicSlice`. Kernels in `kernels/indexing.cu`.
//!
//! Semantics equal the CPU's: index arrays of any integer dtype (cast on the device to
//! row-contiguous int64 first), negative indices wrap, gathers clamp out-of-range starts,
//! scatters drop windows that do not fit. Scatter with duplicate indices: add / prod /
//! max / min accumulate through atomics (floating-point sums may differ from the CPU's
//! row-major order in the last bits, and float32 atomic adds on global memory flush
//! subnormal values to zero); `set` gives the CPU's "last update in row-major
//! order wins" exactly (an owner pass with `atomicMax` picks the last index position per
//! indexed cell). `put_along_axis` / `scatter_add_axis` apply each line's updates in
//! order, so their results equal the CPU's bit for bit.
//!
//! Fast paths: a gather whose windows are contiguous in the source (e.g. `take` of rows
//! along axis 0) moves 16-, 8- or 4-byte vectors with several loads in flight per
//! thread; a float16/bfloat16/float32 scatter-add of contiguous 16-byte aligned windows
//! from row-contiguous updates adds 16 bytes per vector atomic (sm_90); a row-contiguous
//! input that cannot be donated is copied with the driver's device-to-device copy.

use super::copy::copy_to_contiguous;
use super::kernels::{type_name, Func, Group, Program, MAX_NDIM};
use super::{data_ptr, device_buffer, drv, resolve, Gpu, RawStream};
use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::indexing::ScatterReduce;
use crate::backend::cpu::strided::collapse;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use cudarc::driver::result;
use std::ffi::c_void;

/// `kernels/indexing.cu`.
pub static INDEXING: Program = Program {
    name: "indexing",
    source: include_str!("kernels/indexing.cu"),
};

/// Largest index a 32-bit kernel may compute.
const SMALL: usize = 1 << 30;

const IDX: [&str; 2] = ["int", "long long"];
const OPS: [ScatterReduce; 5] = [
    ScatterReduce::None,
    ScatterReduce::Sum,
    ScatterReduce::Prod,
    ScatterReduce::Max,
    ScatterReduce::Min,
];
const VECS: [(usize, &str); 3] = [(16, "mlxr::v16"), (8, "mlxr::v8"), (4, "mlxr::u32")];

fn op_name(r: ScatterReduce) -> &'static str {
    match r {
        ScatterReduce::None => "mlxr::OpSet",
        ScatterReduce::Sum => "mlxr::OpSum",
        ScatterReduce::Prod => "mlxr::OpProd",
        ScatterReduce::Max => "mlxr::OpMax",
        ScatterReduce::Min => "mlxr::OpMin",
    }
}

/// The unsigned type of a dtype's element size (kernels that only move elements).
fn move_type(d: Dtype) -> &'static str {
    match d.size() {
        1 => "mlxr::u8",
        2 => "mlxr::u16",
        4 => "mlxr::u32",
        _ => "mlxr::u64",
    }
}

fn misc_names() -> Vec<String> {
    let mut v = vec!["mlxr::index_offsets".to_string()];
    for i in IDX {
        v.push(format!("mlxr::scatter_owner<{i}>"));
        for t in ["mlxr::f16", "mlxr::bf16", "float"] {
            v.push(format!("mlxr::scatter_add_rows<{t}, {i}>"));
        }
        for (_, vt) in VECS {
            v.push(format!("mlxr::gather_v<{vt}, {i}>"));
        }
    }
    v
}

fn move_names(ty: &str) -> Vec<String> {
    IDX.iter()
        .flat_map(|i| {
            [
                format!("mlxr::gather_g<{ty}, {i}>"),
                format!("mlxr::gather_axis_g<{ty}, {i}>"),
            ]
        })
        .collect()
}

/// The update kernels of dtype `d` and index type `i`: the scatter family (`scatter`)
/// or the slice-update family (slice updates and put_along_axis).
fn update_names(d: Dtype, i: &str, scatter: bool) -> Vec<String> {
    let t = type_name(d);
    let mut v = Vec::new();
    for r in OPS {
        let o = op_name(r);
        if scatter {
            v.push(format!("mlxr::scatter_g<{o}, {t}, {i}>"));
        } else {
            v.push(format!("mlxr::update_window_g<{o}, {t}, {i}>"));
            if matches!(r, ScatterReduce::None | ScatterReduce::Sum) {
                v.push(format!("mlxr::scatter_axis_g<{o}, {t}, {i}>"));
            }
        }
    }
    v
}

/// Every compile group of the indexing kernels.
pub fn kernel_groups() -> Vec<Group> {
    let mut g = vec![Group {
        program: &INDEXING,
        names: misc_names(),
    }];
    for ty in ["mlxr::u8", "mlxr::u16", "mlxr::u32", "mlxr::u64"] {
        g.push(Group {
            program: &INDEXING,
            names: move_names(ty),
        });
    }
    for d in Dtype::ALL {
        for i in IDX {
            for scatter in [true, false] {
                g.push(Group {
                    program: &INDEXING,
                    names: update_names(d, i, scatter),
                });
            }
        }
    }
    g
}

fn misc(g: &Gpu, name: &str) -> Result<Func> {
    g.function(&INDEXING, name, misc_names)
}

// ---- parameters --------------------------------------------------------------------------

/// An index type of the kernels.
trait Ix: Copy + Default {
    const NAME: &'static str;
    fn of(v: isize) -> Self;
}
impl Ix for i32 {
    const NAME: &'static str = "int";
    fn of(v: isize) -> Self {
        v as i32
    }
}
impl Ix for i64 {
    const NAME: &'static str = "long long";
    fn of(v: isize) -> Self {
        v as i64
    }
}

/// `Layout<Idx, K>` of indexing.cu, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct Layout<I: Copy, const K: usize> {
    shape: [I; MAX_NDIM],
    strides: [[I; MAX_NDIM]; K],
    ndim: i32,
}

/// `Cells` of indexing.cu.
#[repr(C)]
#[derive(Clone, Copy)]
struct Cells {
    ostr: [i64; MAX_NDIM],
    dim: [i64; MAX_NDIM],
    cstr: [i64; MAX_NDIM],
    n: i32,
}

/// A collapsed iteration space (shape, one stride vector per operand).
struct Space {
    shape: Vec<usize>,
    strides: Vec<Vec<isize>>,
}

impl Space {
    fn new(shape: &[usize], strides: &[&[isize]], what: &str) -> Result<Space> {
        let (shape, strides) = collapse(shape, strides);
        if shape.len() > MAX_NDIM {
            return Err(Error::Unsupported(format!(
                "{what} on the GPU: {} axes cannot be merged; at most {MAX_NDIM} are supported",
                shape.len()
            )));
        }
        Ok(Space { shape, strides })
    }
    /// Whether every offset of the space fits 32-bit kernels.
    fn small(&self) -> bool {
        self.strides.iter().all(|s| {
            s.iter()
                .zip(&self.shape)
                .map(|(&s, &n)| s.unsigned_abs() * (n.max(1) - 1))
                .sum::<usize>()
                < SMALL
        })
    }
    fn layout<I: Ix, const K: usize>(&self) -> Layout<I, K> {
        let mut l = Layout {
            shape: [I::default(); MAX_NDIM],
            strides: [[I::default(); MAX_NDIM]; K],
            ndim: self.shape.len() as i32,
        };
        for (d, &n) in self.shape.iter().enumerate() {
            l.shape[d] = I::of(n as isize);
            for k in 0..K {
                l.strides[k][d] = I::of(self.strides[k][d]);
            }
        }
        l
    }
}

fn arg<T>(x: &mut T) -> *mut c_void {
    x as *mut T as *mut c_void
}

// ---- shared steps ------------------------------------------------------------------------

/// A row-contiguous int64 copy of an index array on the device (the array itself when it
/// already is one). Non-integer indices are an error, as on the CPU.
fn indices_i64(g: &Gpu, st: RawStream, idx: &Array) -> Result<Data> {
    if !idx.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "indices must be integers, got {}",
            idx.dtype()
        )));
    }
    let d = idx.data()?;
    if idx.dtype() == Dtype::Int64 && d.flags.row_contiguous {
        return Ok(d);
    }
    copy_to_contiguous(g, st, &d, idx.shape(), idx.dtype(), Dtype::Int64)
}

/// One indexed axis: the int64 index values (device address), and the axis's size, the
/// window's size along it and the stride (in elements) of one step along it.
struct Axis {
    idx: u64,
    dim: usize,
    size: usize,
    stride: isize,
}

/// The window start (element offset) of each of `n` index positions: the sum over the
/// indexed axes of `start * stride`, each start wrapped and clamped (`check` false) or
/// checked (`check` true: a window that does not fit gives -1).
fn window_starts(
    g: &Gpu,
    st: RawStream,
    axes: &[Axis],
    n: usize,
    check: bool,
) -> Result<super::allocator::DeviceBuffer> {
    let buf = g.alloc_bytes(n.max(1) * 8, st)?;
    if axes.is_empty() {
        // SAFETY: the fresh buffer holds n * 8 bytes.
        unsafe { result::memset_d8_async(buf.ptr(), 0, n * 8, st.cu()) }
            .map_err(|e| drv(e, "cuMemsetD8Async"))?;
        return Ok(buf);
    }
    let f = misc(g, "mlxr::index_offsets")?;
    for (j, a) in axes.iter().enumerate() {
        let (mut ip, mut bp) = (a.idx, buf.ptr());
        let (mut nn, mut dim, mut size, mut stride) =
            (n as i64, a.dim as i64, a.size as i64, a.stride as i64);
        let mut mode: i32 = i32::from(check) | if j > 0 { 2 } else { 0 };
        g.launch(
            f,
            n,
            st,
            &mut [
                arg(&mut ip),
                arg(&mut bp),
                arg(&mut nn),
                arg(&mut dim),
                arg(&mut size),
                arg(&mut stride),
                arg(&mut mode),
            ],
        )?;
    }
    Ok(buf)
}

/// Row-contiguous output data holding a copy of `a` on `st` (or `a`'s own buffer when it
/// can be donated).
fn copy_or_donate(g: &Gpu, st: RawStream, a: &Array) -> Result<Data> {
    let d = a.data()?;
    if d.flags.row_contiguous {
        if device_buffer(&d.storage).is_some_and(|b| b.stream() == st) && a.is_donatable() {
            return Ok(d);
        }
        let out = g.alloc(a.shape(), a.dtype(), st)?;
        let bytes = a.size() * a.dtype().size();
        if bytes > 0 {
            // SAFETY: both ranges hold `bytes` bytes of live device memory.
            unsafe {
                result::memcpy_dtod_async(
                    data_ptr(&out, a.dtype()),
                    data_ptr(&d, a.dtype()),
                    bytes,
                    st.cu(),
                )
            }
            .map_err(|e| drv(e, "cuMemcpyDtoDAsync"))?;
        }
        return Ok(out);
    }
    copy_to_contiguous(g, st, &d, a.shape(), a.dtype(), a.dtype())
}

/// Copy the windows of `slice_sizes` of `src` (dtype `dt`) starting at `base[p]` into
/// row-contiguous `out` (`n` windows). `axes` are the indexed axes (for alignment).
#[allow(clippy::too_many_arguments)]
fn gather_windows(
    g: &Gpu,
    st: RawStream,
    src: &Data,
    dt: Dtype,
    base: u64,
    n: usize,
    slice_sizes: &[usize],
    axes: &[Axis],
    out: &Data,
) -> Result<()> {
    let slice_len: usize = slice_sizes.iter().product();
    let total = n * slice_len;
    if total == 0 {
        return Ok(());
    }
    let esize = dt.size();
    let sst = row_strides(slice_sizes);
    let sp = Space::new(slice_sizes, &[&sst, &src.strides], "gather")?;
    let (src_ptr, out_ptr) = (data_ptr(src, dt), data_ptr(out, dt));
    if sp.shape.len() == 1 && sp.strides[1][0] == 1 && slice_len > 1 {
        // Contiguous windows: move vectors.
        let bytes = slice_len * esize;
        let vec = VECS.iter().find(|(vb, _)| {
            let vb = *vb;
            bytes.is_multiple_of(vb)
                && src_ptr % vb as u64 == 0
                && out_ptr % vb as u64 == 0
                && axes
                    .iter()
                    .all(|a| (a.stride.unsigned_abs() * esize).is_multiple_of(vb))
        });
        if let Some(&(vb, vt)) = vec {
            let vtotal = total * esize / vb;
            let row = bytes / vb;
            let (mut s, mut o, mut b) = (src_ptr, out_ptr, base);
            let mut es = esize as i32;
            let units = vtotal.div_ceil(4);
            if vtotal < SMALL {
                let f = misc(g, &format!("mlxr::gather_v<{vt}, int>"))?;
                let (mut t, mut r) = (vtotal as i32, row as i32);
                let mut a = [
                    arg(&mut s),
                    arg(&mut o),
                    arg(&mut b),
                    arg(&mut t),
                    arg(&mut r),
                    arg(&mut es),
                ];
                return g.launch(f, units, st, &mut a);
            }
            let f = misc(g, &format!("mlxr::gather_v<{vt}, long long>"))?;
            let (mut t, mut r) = (vtotal as i64, row as i64);
            let mut a = [
                arg(&mut s),
                arg(&mut o),
                arg(&mut b),
                arg(&mut t),
                arg(&mut r),
                arg(&mut es),
            ];
            return g.launch(f, units, st, &mut a);
        }
    }
    let ty = move_type(dt);
    let small = total < SMALL && sp.small();
    fn go<I: Ix>(
        g: &Gpu,
        st: RawStream,
        ty: &str,
        sp: &Space,
        ptrs: (u64, u64, u64),
        total: usize,
        slice_len: usize,
    ) -> Result<()> {
        let f = g.function(
            &INDEXING,
            &format!("mlxr::gather_g<{ty}, {}>", I::NAME),
            || move_names(ty),
        )?;
        let (mut s, mut o, mut b) = ptrs;
        let (mut t, mut sl) = (I::of(total as isize), I::of(slice_len as isize));
        // The kernel reads `Layout<Idx, 1>` over the source strides (operand 1).
        let l = sp.layout::<I, 2>();
        let mut l1 = Layout::<I, 1> {
            shape: l.shape,
            strides: [l.strides[1]],
            ndim: l.ndim,
        };
        g.launch(
            f,
            total,
            st,
            &mut [
                arg(&mut s),
                arg(&mut o),
                arg(&mut b),
                arg(&mut t),
                arg(&mut sl),
                arg(&mut l1),
            ],
        )
    }
    let ptrs = (src_ptr, out_ptr, base);
    if small {
        go::<i32>(g, st, ty, &sp, ptrs, total, slice_len)
    } else {
        go::<i64>(g, st, ty, &sp, ptrs, total, slice_len)
    }
}

/// An update kernel (`name`) for dtype `d`, compiled with its family.
fn update_fn(g: &Gpu, name: &str, d: Dtype) -> Result<Func> {
    let i = if name.ends_with("long long>") {
        IDX[1]
    } else {
        IDX[0]
    };
    g.function(&INDEXING, name, || {
        update_names(d, i, name.starts_with("mlxr::scatter_g"))
    })
}

/// Combine `upd` into the window of row-contiguous `out` (shape `shape`) that starts at
/// element `off` (plus `*start` when given: a device int64) with steps `steps`.
#[allow(clippy::too_many_arguments)]
fn update_window(
    g: &Gpu,
    st: RawStream,
    out: &Data,
    shape: &[usize],
    dt: Dtype,
    upd: &Array,
    off: usize,
    start: Option<u64>,
    steps: &[isize],
    reduce: ScatterReduce,
) -> Result<()> {
    let total = upd.size();
    if total == 0 {
        return Ok(());
    }
    let ud = upd.data()?;
    let full = row_strides(shape);
    let wstr: Vec<isize> = full.iter().zip(steps).map(|(&f, &s)| f * s).collect();
    let sp = Space::new(upd.shape(), &[&wstr, &ud.strides], "slice update")?;
    let small = total < SMALL && sp.small();
    let mut o = data_ptr(out, dt) + (off * dt.size()) as u64;
    let mut u = data_ptr(&ud, dt);
    let mut s = start.unwrap_or(0);
    let op = op_name(reduce);
    let t = type_name(dt);
    if small {
        let f = update_fn(g, &format!("mlxr::update_window_g<{op}, {t}, int>"), dt)?;
        let (mut n, mut l) = (total as i32, sp.layout::<i32, 2>());
        let mut a = [
            arg(&mut o),
            arg(&mut u),
            arg(&mut s),
            arg(&mut n),
            arg(&mut l),
        ];
        g.launch(f, total, st, &mut a)
    } else {
        let f = update_fn(
            g,
            &format!("mlxr::update_window_g<{op}, {t}, long long>"),
            dt,
        )?;
        let (mut n, mut l) = (total as i64, sp.layout::<i64, 2>());
        let mut a = [
            arg(&mut o),
            arg(&mut u),
            arg(&mut s),
            arg(&mut n),
            arg(&mut l),
        ];
        g.launch(f, total, st, &mut a)
    }
}

// ---- primitives --------------------------------------------------------------------------

/// `Gather` on the GPU (inputs `[a, idx..]`).
pub fn gather_gpu(
    axes: &[usize],
    slice_sizes: &[usize],
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let a = &inputs[0];
    let idx = &inputs[1..];
    let od = g.alloc(outputs[0].shape(), a.dtype(), st)?;
    let n: usize = idx.first().map_or(1, |i| i.size());
    let slice_len: usize = slice_sizes.iter().product();
    if n * slice_len == 0 {
        outputs[0].set_data(od);
        return Ok(());
    }
    let ad = a.data()?;
    let iv: Vec<Data> = idx
        .iter()
        .map(|i| indices_i64(g, st, i))
        .collect::<Result<_>>()?;
    let ax: Vec<Axis> = axes
        .iter()
        .zip(&iv)
        .map(|(&x, d)| Axis {
            idx: data_ptr(d, Dtype::Int64),
            dim: a.shape()[x],
            size: slice_sizes[x],
            stride: ad.strides[x],
        })
        .collect();
    let base = window_starts(g, st, &ax, n, false)?;
    gather_windows(g, st, &ad, a.dtype(), base.ptr(), n, slice_sizes, &ax, &od)?;
    outputs[0].set_data(od);
    Ok(())
}

/// `GatherAxis` (`take_along_axis`) on the GPU (inputs `[a, indices]`).
pub fn gather_axis_gpu(axis: usize, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let (a, indices) = (&inputs[0], &inputs[1]);
    let shape = indices.shape().to_vec();
    let od = g.alloc(&shape, a.dtype(), st)?;
    let total = indices.size();
    if total == 0 {
        outputs[0].set_data(od);
        return Ok(());
    }
    let ad = a.data()?;
    let iv = indices_i64(g, st, indices)?;
    let mut astr = ad.strides.clone();
    astr[axis] = 0;
    let sp = Space::new(&shape, &[&astr], "take_along_axis")?;
    let ty = move_type(a.dtype());
    let (mut s, mut o, mut i) = (
        data_ptr(&ad, a.dtype()),
        data_ptr(&od, a.dtype()),
        data_ptr(&iv, Dtype::Int64),
    );
    let (mut dim, mut astep) = (a.shape()[axis] as i64, ad.strides[axis] as i64);
    if total < SMALL && sp.small() {
        let f = g.function(
            &INDEXING,
            &format!("mlxr::gather_axis_g<{ty}, int>"),
            || move_names(ty),
        )?;
        let (mut n, mut l) = (total as i32, sp.layout::<i32, 1>());
        let mut args = [
            arg(&mut s),
            arg(&mut o),
            arg(&mut i),
            arg(&mut n),
            arg(&mut l),
            arg(&mut dim),
            arg(&mut astep),
        ];
        g.launch(f, total, st, &mut args)?;
    } else {
        let f = g.function(
            &INDEXING,
            &format!("mlxr::gather_axis_g<{ty}, long long>"),
            || move_names(ty),
        )?;
        let (mut n, mut l) = (total as i64, sp.layout::<i64, 1>());
        let mut args = [
            arg(&mut s),
            arg(&mut o),
            arg(&mut i),
            arg(&mut n),
            arg(&mut l),
            arg(&mut dim),
            arg(&mut astep),
        ];
        g.launch(f, total, st, &mut args)?;
    }
    outputs[0].set_data(od);
    Ok(())
}

/// `Scatter` on the GPU (inputs `[a, idx.., updates]`).
pub fn scatter_gpu(
    reduce: ScatterReduce,
    axes: &[usize],
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let k = inputs.len();
    let (a, idx, upd) = (&inputs[0], &inputs[1..k - 1], &inputs[k - 1]);
    let dt = a.dtype();
    let out = copy_or_donate(g, st, a)?;
    let idx_ndim = upd.ndim() - a.ndim();
    let win = &upd.shape()[idx_ndim..];
    let n: usize = upd.shape()[..idx_ndim].iter().product();
    let slice_len: usize = win.iter().product();
    if n * slice_len == 0 {
        outputs[0].set_data(out);
        return Ok(());
    }
    let ud = upd.data()?;
    let iv: Vec<Data> = idx
        .iter()
        .map(|i| indices_i64(g, st, i))
        .collect::<Result<_>>()?;
    let ostr = row_strides(a.shape());
    let ax: Vec<Axis> = axes
        .iter()
        .zip(&iv)
        .map(|(&x, d)| Axis {
            idx: data_ptr(d, Dtype::Int64),
            dim: a.shape()[x],
            size: win[x],
            stride: ostr[x],
        })
        .collect();
    let base = window_starts(g, st, &ax, n, true)?;
    let total = n * slice_len;
    let (out_ptr, upd_ptr) = (data_ptr(&out, dt), data_ptr(&ud, dt));
    let wsp = Space::new(win, &[&ostr], "scatter")?;

    // float16 / bfloat16 / float32 add of contiguous, 16-byte aligned windows from
    // row-contiguous updates: vector atomics.
    let esize = dt.size();
    if reduce == ScatterReduce::Sum
        && matches!(dt, Dtype::Float16 | Dtype::Bfloat16 | Dtype::Float32)
        && wsp.shape.len() == 1
        && wsp.strides[0][0] == 1
        && (slice_len * esize).is_multiple_of(16)
        && ud.flags.row_contiguous
        && out_ptr.is_multiple_of(16)
        && upd_ptr.is_multiple_of(16)
        && ax
            .iter()
            .all(|a| (a.stride.unsigned_abs() * esize).is_multiple_of(16))
    {
        let vtotal = total * esize / 16;
        let row16 = slice_len * esize / 16;
        let t = type_name(dt);
        let (mut o, mut u, mut b) = (out_ptr, upd_ptr, base.ptr());
        if vtotal < SMALL {
            let f = misc(g, &format!("mlxr::scatter_add_rows<{t}, int>"))?;
            let (mut n, mut r) = (vtotal as i32, row16 as i32);
            let mut args = [
                arg(&mut o),
                arg(&mut u),
                arg(&mut b),
                arg(&mut n),
                arg(&mut r),
            ];
            g.launch(f, vtotal, st, &mut args)?;
        } else {
            let f = misc(g, &format!("mlxr::scatter_add_rows<{t}, long long>"))?;
            let (mut n, mut r) = (vtotal as i64, row16 as i64);
            let mut args = [
                arg(&mut o),
                arg(&mut u),
                arg(&mut b),
                arg(&mut n),
                arg(&mut r),
            ];
            g.launch(f, vtotal, st, &mut args)?;
        }
        outputs[0].set_data(out);
        return Ok(());
    }

    let usp = Space::new(upd.shape(), &[&ud.strides], "scatter")?;
    let small = total < SMALL && usp.small() && wsp.small();
    // `set` with several index positions: find each indexed cell's owner (the last
    // position in row-major order that writes it).
    let mut cells = Cells {
        ostr: [0; MAX_NDIM],
        dim: [1; MAX_NDIM],
        cstr: [0; MAX_NDIM],
        n: 0,
    };
    let mut owner_buf = None;
    if reduce == ScatterReduce::None && n > 1 && !axes.is_empty() {
        if n > i32::MAX as usize {
            return Err(Error::Unsupported(format!(
                "scatter on the GPU: {n} index positions (at most 2^31 - 1 for `set`)"
            )));
        }
        let mut ncell = 1usize;
        for (j, &x) in axes.iter().enumerate().rev() {
            cells.ostr[j] = ostr[x] as i64;
            cells.dim[j] = a.shape()[x] as i64;
            cells.cstr[j] = ncell as i64;
            ncell *= a.shape()[x];
        }
        cells.n = axes.len() as i32;
        let ob = g.alloc_bytes(ncell * 4, st)?;
        // SAFETY: the fresh buffer holds ncell * 4 bytes; 0xff.. is -1 (no owner).
        unsafe { result::memset_d8_async(ob.ptr(), 0xff, ncell * 4, st.cu()) }
            .map_err(|e| drv(e, "cuMemsetD8Async"))?;
        let wi: Vec<usize> = (0..a.ndim())
            .map(|d| if axes.contains(&d) { win[d] } else { 1 })
            .collect();
        let wisp = Space::new(&wi, &[&ostr], "scatter")?;
        let wlen: usize = wi.iter().product();
        let ototal = n * wlen;
        let (mut b, mut op) = (base.ptr(), ob.ptr());
        if ototal < SMALL && wisp.small() {
            let f = misc(g, "mlxr::scatter_owner<int>")?;
            let (mut t, mut w, mut l) = (ototal as i32, wlen as i32, wisp.layout::<i32, 1>());
            let mut args = [
                arg(&mut b),
                arg(&mut op),
                arg(&mut t),
                arg(&mut w),
                arg(&mut l),
                arg(&mut cells),
            ];
            g.launch(f, ototal, st, &mut args)?;
        } else {
            let f = misc(g, "mlxr::scatter_owner<long long>")?;
            let (mut t, mut w, mut l) = (ototal as i64, wlen as i64, wisp.layout::<i64, 1>());
            let mut args = [
                arg(&mut b),
                arg(&mut op),
                arg(&mut t),
                arg(&mut w),
                arg(&mut l),
                arg(&mut cells),
            ];
            g.launch(f, ototal, st, &mut args)?;
        }
        owner_buf = Some(ob);
    }
    let op = op_name(reduce);
    let t = type_name(dt);
    let (mut o, mut u, mut b) = (out_ptr, upd_ptr, base.ptr());
    let mut ow = owner_buf.as_ref().map_or(0, |b| b.ptr());
    if small {
        let f = update_fn(g, &format!("mlxr::scatter_g<{op}, {t}, int>"), dt)?;
        let (mut tt, mut sl) = (total as i32, slice_len as i32);
        let (mut ul, mut wl) = (usp.layout::<i32, 1>(), wsp.layout::<i32, 1>());
        let mut args = [
            arg(&mut o),
            arg(&mut u),
            arg(&mut b),
            arg(&mut ow),
            arg(&mut tt),
            arg(&mut sl),
            arg(&mut ul),
            arg(&mut wl),
            arg(&mut cells),
        ];
        g.launch(f, total, st, &mut args)?;
    } else {
        let f = update_fn(g, &format!("mlxr::scatter_g<{op}, {t}, long long>"), dt)?;
        let (mut tt, mut sl) = (total as i64, slice_len as i64);
        let (mut ul, mut wl) = (usp.layout::<i64, 1>(), wsp.layout::<i64, 1>());
        let mut args = [
            arg(&mut o),
            arg(&mut u),
            arg(&mut b),
            arg(&mut ow),
            arg(&mut tt),
            arg(&mut sl),
            arg(&mut ul),
            arg(&mut wl),
            arg(&mut cells),
        ];
        g.launch(f, total, st, &mut args)?;
    }
    drop(owner_buf);
    outputs[0].set_data(out);
    Ok(())
}

/// `ScatterAxis` on the GPU (inputs `[a, indices, values]`; reduce `None` or `Sum`).
pub fn scatter_axis_gpu(
    reduce: ScatterReduce,
    axis: usize,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let (a, indices, values) = (&inputs[0], &inputs[1], &inputs[2]);
    let dt = a.dtype();
    let out = copy_or_donate(g, st, a)?;
    if indices.size() == 0 {
        outputs[0].set_data(out);
        return Ok(());
    }
    let iv = indices_i64(g, st, indices)?;
    let vd = values.data()?;
    let irow = row_strides(indices.shape());
    let ostr = row_strides(a.shape());
    let keep: Vec<usize> = (0..a.ndim()).filter(|&d| d != axis).collect();
    let lshape: Vec<usize> = keep.iter().map(|&d| indices.shape()[d]).collect();
    let lo: Vec<isize> = keep.iter().map(|&d| ostr[d]).collect();
    let li: Vec<isize> = keep.iter().map(|&d| irow[d]).collect();
    let lv: Vec<isize> = keep.iter().map(|&d| vd.strides[d]).collect();
    let sp = Space::new(&lshape, &[&lo, &li, &lv], "put_along_axis")?;
    let lines: usize = lshape.iter().product();
    let op = op_name(reduce);
    let t = type_name(dt);
    let (mut o, mut v, mut i) = (
        data_ptr(&out, dt),
        data_ptr(&vd, dt),
        data_ptr(&iv, Dtype::Int64),
    );
    let mut n = indices.shape()[axis] as i64;
    let mut dim = a.shape()[axis] as i64;
    let mut ostep = ostr[axis] as i64;
    let mut ia = irow[axis] as i64;
    let mut va = vd.strides[axis] as i64;
    if lines < SMALL && sp.small() {
        let f = update_fn(g, &format!("mlxr::scatter_axis_g<{op}, {t}, int>"), dt)?;
        let (mut ln, mut l) = (lines as i32, sp.layout::<i32, 3>());
        let mut args = [
            arg(&mut o),
            arg(&mut v),
            arg(&mut i),
            arg(&mut ln),
            arg(&mut n),
            arg(&mut l),
            arg(&mut dim),
            arg(&mut ostep),
            arg(&mut ia),
            arg(&mut va),
        ];
        g.launch(f, lines, st, &mut args)?;
    } else {
        let f = update_fn(
            g,
            &format!("mlxr::scatter_axis_g<{op}, {t}, long long>"),
            dt,
        )?;
        let (mut ln, mut l) = (lines as i64, sp.layout::<i64, 3>());
        let mut args = [
            arg(&mut o),
            arg(&mut v),
            arg(&mut i),
            arg(&mut ln),
            arg(&mut n),
            arg(&mut l),
            arg(&mut dim),
            arg(&mut ostep),
            arg(&mut ia),
            arg(&mut va),
        ];
        g.launch(f, lines, st, &mut args)?;
    }
    outputs[0].set_data(out);
    Ok(())
}

/// `SliceUpdate` on the GPU (inputs `[a, update]`).
pub fn slice_update_gpu(
    reduce: ScatterReduce,
    start: &[usize],
    steps: &[isize],
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let a = &inputs[0];
    let out = copy_or_donate(g, st, a)?;
    let full = row_strides(a.shape());
    let off: usize = start.iter().zip(&full).map(|(&s, &f)| s * f as usize).sum();
    update_window(
        g,
        st,
        &out,
        a.shape(),
        a.dtype(),
        &inputs[1],
        off,
        None,
        steps,
        reduce,
    )?;
    outputs[0].set_data(out);
    Ok(())
}

/// The int64 start values of a dynamic slice (one per entry of `axes`) on the device, and
/// the window start computed from them (wrapped and clamped so the window fits).
fn dynamic_start(
    g: &Gpu,
    st: RawStream,
    a: &Array,
    start: &Array,
    axes: &[usize],
    size: &[usize],
    strides: &[isize],
) -> Result<(Data, super::allocator::DeviceBuffer, Vec<Axis>)> {
    let sv = indices_i64(g, st, start)?;
    if start.size() < axes.len() {
        return Err(Error::Shape(format!(
            "dynamic slice: {} start values for {} axes",
            start.size(),
            axes.len()
        )));
    }
    let p = data_ptr(&sv, Dtype::Int64);
    let ax: Vec<Axis> = axes
        .iter()
        .enumerate()
        .map(|(j, &x)| Axis {
            idx: p + 8 * j as u64,
            dim: a.shape()[x],
            size: size[x],
            stride: strides[x],
        })
        .collect();
    let base = window_starts(g, st, &ax, 1, false)?;
    Ok((sv, base, ax))
}

/// `DynamicSlice` on the GPU (inputs `[a, start]`).
pub fn dynamic_slice_gpu(
    axes: &[usize],
    slice_size: &[usize],
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let a = &inputs[0];
    let od = g.alloc(slice_size, a.dtype(), st)?;
    let ad = a.data()?;
    let (_sv, base, ax) = dynamic_start(g, st, a, &inputs[1], axes, slice_size, &ad.strides)?;
    gather_windows(g, st, &ad, a.dtype(), base.ptr(), 1, slice_size, &ax, &od)?;
    outputs[0].set_data(od);
    Ok(())
}

/// `DynamicSliceUpdate` on the GPU (inputs `[a, update, start]`).
pub fn dynamic_slice_update_gpu(axes: &[usize], inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = resolve(outputs[0].stream())?;
    let (a, upd) = (&inputs[0], &inputs[1]);
    let out = copy_or_donate(g, st, a)?;
    let full = row_strides(a.shape());
    let (_sv, base, _) = dynamic_start(g, st, a, &inputs[2], axes, upd.shape(), &full)?;
    let steps = vec![1isize; a.ndim()];
    update_window(
        g,
        st,
        &out,
        a.shape(),
        a.dtype(),
        upd,
        0,
        Some(base.ptr()),
        &steps,
        ScatterReduce::None,
    )?;
    outputs[0].set_data(out);
    Ok(())
}
