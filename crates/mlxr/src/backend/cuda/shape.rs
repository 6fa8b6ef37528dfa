//! Shape copies on the GPU, the twin of backend/cpu/shape.rs: strided copies into a
//! region of an output (concatenate: one launch per input; a device memcpy when the
//! input and its region are both one contiguous run, a pitched 2-D memcpy when both are
//! rows of one contiguous run of at least 512 bytes), per-axis gathers (pad in every
//! mode, tile, repeat, roll) and the 1-D → 2-D diagonal matrix (diag). Inputs are read
//! in place through their strides; outputs are fresh and row-contiguous. Kernels in
//! `kernels/shape.cu`, instantiated per element width.

use super::creation::bytes_type;
use super::kernels::{Arg, Group, MAX_NDIM, SHAPE};
use super::{data_ptr, drv, Gpu, RawStream};
use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::strided::collapse;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::shape::PadMode;
use cudarc::driver::{result, sys};
use std::ffi::c_void;

const IDX: [&str; 2] = ["int", "long long"];
/// Largest index a 32-bit kernel may compute.
const SMALL: usize = 1 << 30;
const WIDTHS: [usize; 4] = [1, 2, 4, 8];

fn names(width: usize, idx: &str) -> Vec<String> {
    let t = bytes_type(width).expect("a width");
    ["copy_strided", "gather_axes", "diag"]
        .iter()
        .map(|k| format!("mlxr::{k}<{t}, {idx}>"))
        .collect()
}

/// The compile groups of the shape kernels: one per element width and index type.
pub fn kernel_groups() -> Vec<Group> {
    IDX.iter()
        .flat_map(|idx| {
            WIDTHS.iter().map(move |&w| Group {
                program: &SHAPE,
                names: names(w, idx),
            })
        })
        .collect()
}

fn kernel(g: &Gpu, kernel: &str, width: usize, wide: bool) -> Result<super::kernels::Func> {
    let idx = IDX[wide as usize];
    let name = format!("mlxr::{kernel}<{}, {idx}>", bytes_type(width)?);
    g.function(&SHAPE, &name, || names(width, idx))
}

/// `Σ |stride| · (n - 1)`: the farthest element from the first.
fn span(shape: &[usize], strides: &[isize]) -> usize {
    shape
        .iter()
        .zip(strides)
        .map(|(&n, &s)| s.unsigned_abs() * n.saturating_sub(1))
        .sum()
}

// ---- strided copy ------------------------------------------------------------------------

/// `Strided<Idx, 2>` of elementwise.cuh, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct Strided2<I: Copy> {
    shape: [I; MAX_NDIM],
    strides: [[I; MAX_NDIM]; 2],
    inner_strides: [I; 2],
    inner: I,
    rdim: i32,
}

fn strided2<I: Copy + Default + TryFrom<i64>>(shape: &[usize], st: &[Vec<isize>]) -> Strided2<I> {
    let c = |v: i64| I::try_from(v).ok().unwrap_or_default();
    let nd = shape.len();
    let mut p = Strided2 {
        shape: [I::default(); MAX_NDIM],
        strides: [[I::default(); MAX_NDIM]; 2],
        inner_strides: [c(st[0][nd - 1] as i64), c(st[1][nd - 1] as i64)],
        inner: c(shape[nd - 1] as i64),
        rdim: (nd - 1) as i32,
    };
    for d in 0..nd - 1 {
        p.shape[d] = c(shape[d] as i64);
        p.strides[0][d] = c(st[0][d] as i64);
        p.strides[1][d] = c(st[1][d] as i64);
    }
    p
}

/// Copy the elements of device data `src` (of `shape`, any strides) into `dst`'s buffer
/// at `dst_offset + Σ index·dst_strides` (elements of `dtype`; the region of an output
/// that one input of concatenate fills).
#[allow(clippy::too_many_arguments)]
pub fn copy_into(
    g: &Gpu,
    stream: RawStream,
    src: &Data,
    shape: &[usize],
    dtype: Dtype,
    dst: &Data,
    dst_strides: &[isize],
    dst_offset: usize,
) -> Result<()> {
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(());
    }
    let size = dtype.size();
    let (cs, st) = collapse(shape, &[&src.strides, dst_strides]);
    let xp = data_ptr(src, dtype);
    let yp = data_ptr(dst, dtype) + (dst_offset * size) as u64;
    if n == 1 || (cs.len() == 1 && st[0][0] == 1 && st[1][0] == 1) {
        // One contiguous run on both sides: the copy engine's memcpy.
        // SAFETY: both ranges lie inside live device buffers (the source covers its `n`
        // contiguous elements, the destination region is inside the fresh output).
        return unsafe { result::memcpy_dtod_async(yp, xp, n * size, stream.cu()) }
            .map_err(|e| drv(e, "cuMemcpyDtoDAsync"));
    }
    if cs.len() == 2 && st[0][1] == 1 && st[1][1] == 1 && cs[1] * size >= 512 {
        // Rows of one contiguous run on both sides (e.g. concatenating contiguous arrays
        // along the last axis): a pitched copy by the copy engine.
        let (sp, dp) = (st[0][0] as usize * size, st[1][0] as usize * size);
        if st[0][0] > 0 && st[1][0] > 0 && sp < (1 << 31) && dp < (1 << 31) {
            let copy = sys::CUDA_MEMCPY2D {
                srcXInBytes: 0,
                srcY: 0,
                srcMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
                srcHost: std::ptr::null(),
                srcDevice: xp,
                srcArray: std::ptr::null_mut(),
                srcPitch: sp,
                dstXInBytes: 0,
                dstY: 0,
                dstMemoryType: sys::CUmemorytype::CU_MEMORYTYPE_DEVICE,
                dstHost: std::ptr::null_mut(),
                dstDevice: yp,
                dstArray: std::ptr::null_mut(),
                dstPitch: dp,
                WidthInBytes: cs[1] * size,
                Height: cs[0],
            };
            // SAFETY: `cs[0]` rows of `cs[1]` elements at the given pitches lie inside the
            // source's and the destination region's live device buffers.
            return unsafe { sys::cuMemcpy2DAsync_v2(&copy, stream.cu()) }
                .result()
                .map_err(|e| drv(e, "cuMemcpy2DAsync"));
        }
    }
    if cs.len() > MAX_NDIM {
        return Err(Error::Unsupported(format!(
            "concatenate on the GPU: an input has {} axes that cannot be merged (shape \
             {shape:?}); at most {MAX_NDIM} are supported",
            cs.len()
        )));
    }
    let wide = n >= SMALL || span(&cs, &st[0]) >= SMALL || span(&cs, &st[1]) >= SMALL;
    let f = kernel(g, "copy_strided", size, wide)?;
    let (mut p32, mut p64) = (strided2::<i32>(&cs, &st), strided2::<i64>(&cs, &st));
    let pp = if wide {
        &mut p64 as *mut _ as *mut c_void
    } else {
        &mut p32 as *mut _ as *mut c_void
    };
    let inner = *cs.last().expect("non-empty");
    let rows = n / inner;
    g.launch_with(
        f,
        rows * inner.div_ceil(4),
        stream,
        wide,
        &[
            Arg::Ptr(xp),
            Arg::Ptr(yp),
            Arg::Raw(pp),
            Arg::Idx(rows as i64),
        ],
    )
}

// ---- per-axis gathers ----------------------------------------------------------------------

/// How an axis of [`gather_axes`] maps output positions to source positions (the
/// `AxisMode` of shape.cu).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisMode {
    /// `i - arg`; positions outside the source take the fill value.
    PadConstant = 0,
    /// `i - arg`, clamped into the source.
    PadEdge = 1,
    /// `i - arg`, mirrored without repeating the edge.
    PadReflect = 2,
    /// `i - arg`, mirrored repeating the edge.
    PadSymmetric = 3,
    /// `i mod n`.
    Tile = 4,
    /// `i / arg`.
    Repeat = 5,
    /// `(i - arg) mod n`, with `0 <= arg < n`.
    Roll = 6,
}

/// One axis of a gather: output length, source length and stride, mode and its argument.
#[derive(Clone, Copy, Debug)]
pub struct AxisMap {
    /// Output length.
    pub out: usize,
    /// Source length.
    pub n: usize,
    /// Source stride (elements).
    pub stride: isize,
    /// How positions map.
    pub mode: AxisMode,
    /// The mode's argument (pad: elements added in front; repeat: repetitions; roll: the
    /// shift reduced into `0..n`).
    pub arg: isize,
}

impl AxisMap {
    /// The identity map of an axis of length `n` and stride `stride`.
    pub fn identity(n: usize, stride: isize) -> AxisMap {
        AxisMap {
            out: n,
            n,
            stride,
            mode: AxisMode::PadConstant,
            arg: 0,
        }
    }
    fn is_identity(&self) -> bool {
        self.out == self.n
            && match self.mode {
                AxisMode::PadConstant
                | AxisMode::PadEdge
                | AxisMode::PadReflect
                | AxisMode::PadSymmetric
                | AxisMode::Roll => self.arg == 0,
                AxisMode::Tile => true,
                AxisMode::Repeat => self.arg == 1,
            }
    }
}

/// Identity axes become plain, size-1 identity axes are dropped, and neighbouring
/// identity axes contiguous in the source merge. Never empty.
fn simplify(axes: &[AxisMap]) -> Vec<AxisMap> {
    let mut out: Vec<AxisMap> = Vec::new();
    for a in axes {
        let a = if a.is_identity() {
            AxisMap::identity(a.n, a.stride)
        } else {
            *a
        };
        if a.is_identity() && a.n == 1 {
            continue;
        }
        if let Some(last) = out.last_mut() {
            if a.is_identity() && last.is_identity() && last.stride == a.stride * a.n as isize {
                *last = AxisMap::identity(last.n * a.n, a.stride);
                continue;
            }
        }
        out.push(a);
    }
    if out.is_empty() {
        out.push(AxisMap::identity(1, 0));
    }
    out
}

/// `GatherParams<Idx>` of shape.cu, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct GatherParams<I: Copy> {
    out_shape: [I; MAX_NDIM],
    in_shape: [I; MAX_NDIM],
    strides: [I; MAX_NDIM],
    arg: [I; MAX_NDIM],
    mode: [i32; MAX_NDIM],
    ndim: i32,
}

fn gather_params<I: Copy + Default + TryFrom<i64>>(axes: &[AxisMap]) -> GatherParams<I> {
    let c = |v: i64| I::try_from(v).ok().unwrap_or_default();
    let mut p = GatherParams {
        out_shape: [I::default(); MAX_NDIM],
        in_shape: [I::default(); MAX_NDIM],
        strides: [I::default(); MAX_NDIM],
        arg: [I::default(); MAX_NDIM],
        mode: [0; MAX_NDIM],
        ndim: axes.len() as i32,
    };
    for (d, a) in axes.iter().enumerate() {
        p.out_shape[d] = c(a.out as i64);
        p.in_shape[d] = c(a.n as i64);
        p.strides[d] = c(a.stride as i64);
        p.arg[d] = c(a.arg as i64);
        p.mode[d] = a.mode as i32;
    }
    p
}

/// A fresh row-contiguous array of the axes' output shape whose element `(i_0, .., i_k)`
/// is `src[Σ src_index(axis, i_axis) · stride]`, or the single element of `fill` where an
/// axis maps outside the source (pad). `op` names the op in errors.
pub fn gather_axes(
    g: &Gpu,
    stream: RawStream,
    src: &Data,
    dtype: Dtype,
    axes: &[AxisMap],
    fill: Option<&Data>,
    op: &str,
) -> Result<Data> {
    let out_shape: Vec<usize> = axes.iter().map(|a| a.out).collect();
    let od = g.alloc(&out_shape, dtype, stream)?;
    let total: usize = out_shape.iter().product();
    if total == 0 {
        return Ok(od);
    }
    let ax = simplify(axes);
    if ax.len() > MAX_NDIM {
        return Err(Error::Unsupported(format!(
            "{op} on the GPU: {} axes that cannot be merged (output shape {out_shape:?}); at \
             most {MAX_NDIM} are supported",
            ax.len()
        )));
    }
    let needs_fill = ax.iter().any(|a| {
        a.n == 0 || (a.mode == AxisMode::PadConstant && (a.arg > 0 || a.out > a.n + a.arg as usize))
    });
    let fp = match fill {
        Some(f) => data_ptr(f, dtype),
        None if needs_fill => {
            return Err(Error::InvalidArgument(format!(
                "{op} on the GPU: positions outside the input need a fill value"
            )))
        }
        None => 0,
    };
    let src_span: usize = ax
        .iter()
        .map(|a| a.stride.unsigned_abs() * a.n.saturating_sub(1))
        .sum();
    let biggest = ax.iter().map(|a| a.out.max(a.n) * 2).max().unwrap_or(0);
    let wide = total >= SMALL || src_span >= SMALL || biggest >= SMALL;
    let f = kernel(g, "gather_axes", dtype.size(), wide)?;
    let (mut p32, mut p64) = (gather_params::<i32>(&ax), gather_params::<i64>(&ax));
    let pp = if wide {
        &mut p64 as *mut _ as *mut c_void
    } else {
        &mut p32 as *mut _ as *mut c_void
    };
    let inner = ax.last().expect("non-empty").out;
    let rows = total / inner;
    g.launch_with(
        f,
        rows * inner.div_ceil(4),
        stream,
        wide,
        &[
            Arg::Ptr(data_ptr(src, dtype)),
            Arg::Ptr(data_ptr(&od, dtype)),
            Arg::Ptr(fp),
            Arg::Raw(pp),
            Arg::Idx(rows as i64),
        ],
    )?;
    Ok(od)
}

/// The `(n + |k|) × (n + |k|)` matrix with the 1-D device data `src` (length `n`) on
/// diagonal `k` and zeros elsewhere.
pub fn diag_matrix(
    g: &Gpu,
    stream: RawStream,
    src: &Data,
    n: usize,
    k: isize,
    dtype: Dtype,
) -> Result<Data> {
    let m = n + k.unsigned_abs();
    let od = g.alloc(&[m, m], dtype, stream)?;
    if m == 0 {
        return Ok(od);
    }
    let stride = src.strides.first().copied().unwrap_or(0);
    let wide = m * m >= SMALL || stride.unsigned_abs() * n >= SMALL;
    let f = kernel(g, "diag", dtype.size(), wide)?;
    let xp = if n == 0 { 0 } else { data_ptr(src, dtype) };
    g.launch_with(
        f,
        m * m,
        stream,
        wide,
        &[
            Arg::Ptr(xp),
            Arg::Ptr(data_ptr(&od, dtype)),
            Arg::Idx(m as i64),
            Arg::Idx(k as i64),
            Arg::Idx(stride as i64),
        ],
    )?;
    Ok(od)
}

// ---- primitives ------------------------------------------------------------------------

/// Evaluate `Concatenate` along `axis` on the GPU: each input is copied into its slice of
/// the output.
pub fn concatenate_gpu(axis: usize, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let dtype = out.dtype();
    let od = g.alloc(out.shape(), dtype, st)?;
    let ostr = row_strides(out.shape());
    let mut at = 0usize;
    for x in inputs {
        let d = x.data()?;
        let off = at * ostr[axis] as usize;
        copy_into(g, st, &d, x.shape(), dtype, &od, &ostr, off)?;
        at += x.shape()[axis];
    }
    out.set_data(od);
    Ok(())
}

/// Evaluate `Pad` on the GPU (inputs: the array and the 0-d fill value).
pub fn pad_gpu(low: &[usize], mode: PadMode, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (x, v) = (&inputs[0], &inputs[1]);
    let (d, vd) = (x.data()?, v.data()?);
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let m = match mode {
        PadMode::Constant => AxisMode::PadConstant,
        PadMode::Edge => AxisMode::PadEdge,
        PadMode::Reflect => AxisMode::PadReflect,
        PadMode::Symmetric => AxisMode::PadSymmetric,
    };
    let axes: Vec<AxisMap> = (0..x.ndim())
        .map(|ax| AxisMap {
            out: out.shape()[ax],
            n: x.shape()[ax],
            stride: d.strides[ax],
            mode: m,
            arg: low[ax] as isize,
        })
        .collect();
    if v.dtype() != x.dtype() {
        return Err(Error::Dtype(format!(
            "pad: the fill value is {} but the array is {}",
            v.dtype(),
            x.dtype()
        )));
    }
    out.set_data(gather_axes(g, st, &d, x.dtype(), &axes, Some(&vd), "pad")?);
    Ok(())
}

/// Evaluate `Tile` on the GPU (the input has the output's number of axes).
pub fn tile_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let axes: Vec<AxisMap> = (0..x.ndim())
        .map(|ax| AxisMap {
            out: out.shape()[ax],
            n: x.shape()[ax],
            stride: d.strides[ax],
            mode: AxisMode::Tile,
            arg: 0,
        })
        .collect();
    out.set_data(gather_axes(g, st, &d, x.dtype(), &axes, None, "tile")?);
    Ok(())
}

/// Evaluate `Repeat` (each element `repeats` times along `axis`) on the GPU.
pub fn repeat_gpu(repeats: usize, axis: usize, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let axes: Vec<AxisMap> = (0..x.ndim())
        .map(|ax| {
            if ax == axis {
                AxisMap {
                    out: out.shape()[ax],
                    n: x.shape()[ax],
                    stride: d.strides[ax],
                    mode: AxisMode::Repeat,
                    arg: repeats.max(1) as isize,
                }
            } else {
                AxisMap::identity(x.shape()[ax], d.strides[ax])
            }
        })
        .collect();
    out.set_data(gather_axes(g, st, &d, x.dtype(), &axes, None, "repeat")?);
    Ok(())
}

/// Evaluate `Roll` (a shift per axis) on the GPU.
pub fn roll_gpu(shifts: &[isize], inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let axes: Vec<AxisMap> = (0..x.ndim())
        .map(|ax| {
            let n = x.shape()[ax];
            AxisMap {
                out: n,
                n,
                stride: d.strides[ax],
                mode: AxisMode::Roll,
                arg: if n == 0 {
                    0
                } else {
                    shifts[ax].rem_euclid(n as isize)
                },
            }
        })
        .collect();
    out.set_data(gather_axes(g, st, &d, x.dtype(), &axes, None, "roll")?);
    Ok(())
}

/// Evaluate `Diag` (1-D input on diagonal `k` of a square matrix) on the GPU.
pub fn diag_gpu(k: isize, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    out.set_data(diag_matrix(g, st, &d, x.size(), k, x.dtype())?);
    Ok(())
}
