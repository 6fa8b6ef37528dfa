//! Scans on the GPU, the twin of backend/cpu/scan.rs: `Scan` (cumulative sum, product,
//! max, min and logaddexp along one axis, forward or reverse, inclusive or exclusive,
//! every dtype, accumulating in the element type as the CPU does) and `Convolve` (full
//! 1-D convolution). Kernels in `kernels/scan.cu`:
//!
//! - the input is made row-contiguous (a copy only when it is not) and seen as
//!   `[outer, n, inner]` around the scanned axis;
//! - `inner == 1` (the axis is the last one): a *row* scan, a warp per row, or a block
//!   of 256 threads per row when rows are long and too few to fill the GPU with warps;
//! - `inner > 1`: a *column* scan, one thread per (outer, inner) column walking the axis,
//!   adjacent threads on adjacent columns;
//! - when there are too few rows or columns to fill the GPU, the axis is cut into
//!   segments: one pass computes each segment's total, a second scans the totals
//!   (exclusive), a third scans each segment from its carry-in.
//!
//! Integer, bool, max and min scans equal the CPU's bit for bit; float sums and products
//! of rows longer than a few elements are associated differently (thread-local runs,
//! then a tree across threads), so they differ from the CPU's sequential sums by
//! rounding (as do segmented column scans). Unsegmented column scans and convolution keep
//! the CPU's order exactly.

use super::copy::copy_to_contiguous;
use super::kernels::{type_name, Arg, Group, SCAN};
use super::{data_ptr, Gpu, RawStream};
use crate::array::{Array, Data};
use crate::backend::cpu::scan::ScanOp;
use crate::dtype::Dtype;
use crate::error::{Error, Result};

const IDX: [&str; 2] = ["int", "long long"];
/// Largest index a 32-bit kernel may compute.
const SMALL: usize = 1 << 30;
const OPS: [ScanOp; 5] = [
    ScanOp::Sum,
    ScanOp::Prod,
    ScanOp::Max,
    ScanOp::Min,
    ScanOp::LogAddExp,
];
const CONV_DTYPES: [Dtype; 4] = [
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
];

fn functor(op: ScanOp) -> &'static str {
    match op {
        ScanOp::Sum => "mlxr::ScanSum",
        ScanOp::Prod => "mlxr::ScanProd",
        ScanOp::Max => "mlxr::ScanMax",
        ScanOp::Min => "mlxr::ScanMin",
        ScanOp::LogAddExp => "mlxr::ScanLogAddExp",
    }
}

fn row_name(op: ScanOp, d: Dtype, idx: &str, tpr: usize) -> String {
    format!(
        "mlxr::scan_row<{}, {}, {idx}, {tpr}>",
        functor(op),
        type_name(d)
    )
}

fn col_name(op: ScanOp, d: Dtype, idx: &str) -> String {
    format!("mlxr::scan_col<{}, {}, {idx}>", functor(op), type_name(d))
}

/// The kernels of one (op, dtype, index type).
fn scan_names(op: ScanOp, d: Dtype, idx: &str) -> Vec<String> {
    vec![
        row_name(op, d, idx, 32),
        row_name(op, d, idx, 256),
        col_name(op, d, idx),
    ]
}

fn conv_names(idx: &str) -> Vec<String> {
    CONV_DTYPES
        .iter()
        .map(|&d| format!("mlxr::convolve_full<{}, {idx}>", type_name(d)))
        .collect()
}

/// The compile groups of the scan kernels: one per (op, dtype, index type), plus the
/// convolutions.
pub fn kernel_groups() -> Vec<Group> {
    let mut g = Vec::new();
    for idx in IDX {
        for op in OPS {
            for d in Dtype::ALL {
                g.push(Group {
                    program: &SCAN,
                    names: scan_names(op, d, idx),
                });
            }
        }
        g.push(Group {
            program: &SCAN,
            names: conv_names(idx),
        });
    }
    g
}

/// Elements per thread of a row-scan chunk (`ScanVt` of scan.cu).
fn vt(d: Dtype) -> usize {
    (16 / d.size()).max(4)
}

/// The launches of one scan: GPU, stream, op, dtype and index width.
struct Kernels<'a> {
    g: &'a Gpu,
    stream: RawStream,
    op: ScanOp,
    dtype: Dtype,
    wide: bool,
}

impl Kernels<'_> {
    fn idx(&self) -> &'static str {
        IDX[self.wide as usize]
    }
    /// `scan_row` over `units` units; `ptrs` = [x, y, carry_in, totals] (0 = none).
    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        tpr: usize,
        ptrs: [u64; 4],
        units: usize,
        n: usize,
        seg_len: usize,
        segs: usize,
        reverse: bool,
        inclusive: bool,
    ) -> Result<()> {
        let idx = self.idx();
        let name = row_name(self.op, self.dtype, idx, tpr);
        let f = self
            .g
            .function(&SCAN, &name, || scan_names(self.op, self.dtype, idx))?;
        let mut args: Vec<Arg> = ptrs.iter().map(|&p| Arg::Ptr(p)).collect();
        args.extend([
            Arg::Idx(units as i64),
            Arg::Idx(n as i64),
            Arg::Idx(seg_len as i64),
            Arg::Idx(segs as i64),
            Arg::I32(reverse as i32),
            Arg::I32(inclusive as i32),
        ]);
        self.g
            .launch_with(f, units * tpr, self.stream, self.wide, &args)
    }
    /// `scan_col` over `[outer, n, inner]` cut into `segs` segments of `seg_len`.
    #[allow(clippy::too_many_arguments)]
    fn col(
        &self,
        ptrs: [u64; 4],
        outer: usize,
        n: usize,
        inner: usize,
        seg_len: usize,
        segs: usize,
        reverse: bool,
        inclusive: bool,
    ) -> Result<()> {
        let idx = self.idx();
        let name = col_name(self.op, self.dtype, idx);
        let f = self
            .g
            .function(&SCAN, &name, || scan_names(self.op, self.dtype, idx))?;
        let mut args: Vec<Arg> = ptrs.iter().map(|&p| Arg::Ptr(p)).collect();
        args.extend([
            Arg::Idx(outer as i64),
            Arg::Idx(n as i64),
            Arg::Idx(inner as i64),
            Arg::Idx(seg_len as i64),
            Arg::Idx(segs as i64),
            Arg::I32(reverse as i32),
            Arg::I32(inclusive as i32),
        ]);
        self.g
            .launch_with(f, outer * segs * inner, self.stream, self.wide, &args)
    }
}

/// Scan device array `x` along `axis` with `op` into fresh row-contiguous device data of
/// `x`'s shape and dtype (see the module comment).
#[allow(clippy::too_many_arguments)]
pub fn scan(
    g: &Gpu,
    stream: RawStream,
    x: &Array,
    op: ScanOp,
    axis: usize,
    reverse: bool,
    inclusive: bool,
) -> Result<Data> {
    let shape = x.shape();
    let dtype = x.dtype();
    let od = g.alloc(shape, dtype, stream)?;
    let size = x.size();
    if size == 0 {
        return Ok(od);
    }
    let d = x.data()?;
    let xd = if d.flags.row_contiguous {
        d
    } else {
        copy_to_contiguous(g, stream, &d, shape, dtype, dtype)?
    };
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let wide = size >= SMALL;
    let k = Kernels {
        g,
        stream,
        op,
        dtype,
        wide,
    };
    let (xp, yp) = (data_ptr(&xd, dtype), data_ptr(&od, dtype));
    let sm = g.sm_count as usize;
    if inner == 1 {
        // Rows too few to fill the GPU: segments of whole 256-thread chunks.
        let c256 = 256 * vt(dtype);
        let (seg_len, segs) = if outer < 2 * sm && n >= 4 * c256 {
            let seg_len = n.div_ceil((4 * sm).div_ceil(outer)).next_multiple_of(c256);
            (seg_len, n.div_ceil(seg_len))
        } else {
            (n, 1)
        };
        if segs == 1 {
            // Enough rows to give every multiprocessor many warps: a warp per row; else
            // long rows get a block each.
            let tpr = if n > 1024 && outer < 64 * sm { 256 } else { 32 };
            k.row(tpr, [xp, yp, 0, 0], outer, n, n, 1, reverse, inclusive)?;
        } else {
            let units = outer * segs;
            let totals = g.alloc(&[units], dtype, stream)?;
            let prefix = g.alloc(&[units], dtype, stream)?;
            let (tp, pp) = (data_ptr(&totals, dtype), data_ptr(&prefix, dtype));
            k.row(
                256,
                [xp, 0, 0, tp],
                units,
                n,
                seg_len,
                segs,
                reverse,
                inclusive,
            )?;
            k.row(32, [tp, pp, 0, 0], outer, segs, segs, 1, false, false)?;
            k.row(
                256,
                [xp, yp, pp, 0],
                units,
                n,
                seg_len,
                segs,
                reverse,
                inclusive,
            )?;
        }
    } else {
        // Columns too few to fill the GPU: segments of the axis.
        let cols = outer * inner;
        let (seg_len, segs) = if cols < 256 * sm && n >= 64 {
            let seg_len = n.div_ceil((1024 * sm).div_ceil(cols)).max(16);
            (seg_len, n.div_ceil(seg_len))
        } else {
            (n, 1)
        };
        if segs == 1 {
            k.col([xp, yp, 0, 0], outer, n, inner, n, 1, reverse, inclusive)?;
        } else {
            let units = cols * segs;
            let totals = g.alloc(&[units], dtype, stream)?;
            let prefix = g.alloc(&[units], dtype, stream)?;
            let (tp, pp) = (data_ptr(&totals, dtype), data_ptr(&prefix, dtype));
            k.col(
                [xp, 0, 0, tp],
                outer,
                n,
                inner,
                seg_len,
                segs,
                reverse,
                inclusive,
            )?;
            k.col([tp, pp, 0, 0], outer, segs, inner, segs, 1, false, false)?;
            k.col(
                [xp, yp, pp, 0],
                outer,
                n,
                inner,
                seg_len,
                segs,
                reverse,
                inclusive,
            )?;
        }
    }
    drop(xd);
    Ok(od)
}

/// Full 1-D convolution of device arrays `a` and `v` (floating, of one dtype, any
/// stride): `out[k] = Σ_j a[j]·v[k - j]`, in the CPU's order and precision.
pub fn convolve_full(g: &Gpu, stream: RawStream, a: &Array, v: &Array) -> Result<Data> {
    let dtype = a.dtype();
    if !CONV_DTYPES.contains(&dtype) || v.dtype() != dtype {
        return Err(Error::Dtype(format!(
            "convolve on the GPU: needs two floating arrays of one dtype, got {} and {}",
            dtype,
            v.dtype()
        )));
    }
    let (n, m) = (a.size(), v.size());
    let len = if n == 0 || m == 0 { 0 } else { n + m - 1 };
    let od = g.alloc(&[len], dtype, stream)?;
    if len == 0 {
        return Ok(od);
    }
    let (ad, vd) = (a.data()?, v.data()?);
    let stride = |d: &Data, k: usize| if k <= 1 { 0 } else { d.strides[0] };
    let (sa, sv) = (stride(&ad, n), stride(&vd, m));
    let wide = len >= SMALL || sa.unsigned_abs() * n >= SMALL || sv.unsigned_abs() * m >= SMALL;
    let idx = IDX[wide as usize];
    let name = format!("mlxr::convolve_full<{}, {idx}>", type_name(dtype));
    let f = g.function(&SCAN, &name, || conv_names(idx))?;
    g.launch_with(
        f,
        len,
        stream,
        wide,
        &[
            Arg::Ptr(data_ptr(&ad, dtype)),
            Arg::Ptr(data_ptr(&vd, dtype)),
            Arg::Ptr(data_ptr(&od, dtype)),
            Arg::Idx(n as i64),
            Arg::Idx(m as i64),
            Arg::Idx(sa as i64),
            Arg::Idx(sv as i64),
        ],
    )?;
    Ok(od)
}

/// Evaluate `Scan` on the GPU of its output's stream.
pub fn scan_gpu(
    op: ScanOp,
    axis: usize,
    reverse: bool,
    inclusive: bool,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (g, st) = super::resolve(outputs[0].stream())?;
    let d = scan(g, st, &inputs[0], op, axis, reverse, inclusive)?;
    outputs[0].set_data(d);
    Ok(())
}

/// Evaluate `Convolve` on the GPU of its output's stream.
pub fn convolve_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (g, st) = super::resolve(outputs[0].stream())?;
    let d = convolve_full(g, st, &inputs[0], &inputs[1])?;
    outputs[0].set_data(d);
    Ok(())
}
