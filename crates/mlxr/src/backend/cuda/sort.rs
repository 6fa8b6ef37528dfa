//! Sorting on the GPU, the twin of backend/cpu/sort.rs: `Sort`, `ArgSort`, `Partition`,
//! `ArgPartition` and `SearchSorted` for every dtype, with the CPU's order (NaNs last,
//! `-0.0 == 0.0`, stable). Kernels in `kernels/sort.cu`.
//!
//! The sorted axis is moved innermost (a copy unless the view already is row-contiguous;
//! the output keeps that layout, as softmax's). A row of at most 16384 elements is sorted
//! by one block in shared memory (a merge sort: registers, then merge-path rounds), with
//! the smallest tile configuration that holds it. Longer rows are block-sorted in tiles
//! of 16384 and merged pairwise in global memory, log2(n / 16384) passes. Partitions are
//! full sorts (a sort is a valid partition, the property MLX documents).

use super::kernels::{type_name, Group, SORT};
use super::softmax::{permuted_strides, rows_of};
use super::{data_ptr, Gpu, RawStream};
use crate::array::{Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::ffi::c_void;
use std::sync::Arc;

/// Tile configurations (threads, elements per thread), smallest first.
const CONFIGS: [(usize, usize); 6] = [(64, 4), (128, 8), (256, 8), (512, 8), (512, 16), (1024, 16)];
/// The configuration of the global merge passes (and the tiles they start from).
const BIG: (usize, usize) = (1024, 16);

fn block_name(t: Dtype, arg: bool, (threads, v): (usize, usize)) -> String {
    format!("mlxr::sort_block<{}, {arg}, {threads}, {v}>", type_name(t))
}

fn merge_name(t: Dtype, arg: bool) -> String {
    format!(
        "mlxr::merge_pass<{}, {arg}, {}, {}>",
        type_name(t),
        BIG.0,
        BIG.1
    )
}

fn search_name(t: Dtype) -> String {
    format!("mlxr::searchsorted<{}>", type_name(t))
}

/// The kernels of one (dtype, sort or argsort): every tile size and the merge pass.
fn group_names(t: Dtype, arg: bool) -> Vec<String> {
    CONFIGS
        .iter()
        .map(|&c| block_name(t, arg, c))
        .chain(std::iter::once(merge_name(t, arg)))
        .collect()
}

fn search_group() -> Vec<String> {
    Dtype::ALL.iter().map(|&t| search_name(t)).collect()
}

/// The compile groups of the sort kernels.
pub fn kernel_groups() -> Vec<Group> {
    let mut v: Vec<Group> = Dtype::ALL
        .iter()
        .flat_map(|&t| {
            [false, true].map(|arg| Group {
                program: &SORT,
                names: group_names(t, arg),
            })
        })
        .collect();
    v.push(Group {
        program: &SORT,
        names: search_group(),
    });
    v
}

/// Shared memory of a tile of `threads * v` elements of `t` (+ their u32 indices).
fn smem_bytes(t: Dtype, arg: bool, (threads, v): (usize, usize)) -> usize {
    let tile = threads * v;
    tile * t.size() + if arg { tile * 4 } else { 0 }
}

fn ptr(p: &mut u64) -> *mut c_void {
    p as *mut u64 as *mut c_void
}

fn ptr64(p: &mut i64) -> *mut c_void {
    p as *mut i64 as *mut c_void
}

/// Sort `rows` row-contiguous rows of `n` elements of `t` (device data `x`): the sorted
/// values, or (`arg`) their uint32 indices within the row, as fresh row-contiguous data.
pub fn sort_rows(
    g: &Gpu,
    stream: RawStream,
    x: &Data,
    t: Dtype,
    rows: usize,
    n: usize,
    arg: bool,
) -> Result<Data> {
    let total = rows * n;
    let out_dtype = if arg { Dtype::Uint32 } else { t };
    if total == 0 {
        return g.alloc(&[total], out_dtype, stream);
    }
    if n > u32::MAX as usize {
        return Err(Error::InvalidArgument(format!(
            "argsort on the GPU: rows of {n} elements exceed uint32 indices"
        )));
    }
    let group = || group_names(t, arg);
    let mut xp = data_ptr(x, t);
    let mut nn = n as i64;
    if let Some(&c) = CONFIGS.iter().find(|&&(th, v)| th * v >= n) {
        // One block per row.
        let out = g.alloc(&[total], out_dtype, stream)?;
        let (mut vp, mut ip) = if arg {
            (0u64, data_ptr(&out, Dtype::Uint32))
        } else {
            (data_ptr(&out, t), 0u64)
        };
        let (mut tiles, mut keep) = (1i64, 0i32);
        let f = g.function(&SORT, &block_name(t, arg, c), group)?;
        let mut args = [
            ptr(&mut xp),
            ptr(&mut vp),
            ptr(&mut ip),
            ptr64(&mut nn),
            ptr64(&mut tiles),
            &mut keep as *mut i32 as *mut c_void,
        ];
        g.launch_grid(f, rows, c.0, smem_bytes(t, arg, c), stream, &mut args)?;
        return Ok(out);
    }
    // Long rows: sorted tiles, then merge passes ping-ponging between two buffers.
    let tile = BIG.0 * BIG.1;
    let tiles = n.div_ceil(tile);
    let vals = [g.alloc(&[total], t, stream)?, g.alloc(&[total], t, stream)?];
    let idx = if arg {
        Some([
            g.alloc(&[total], Dtype::Uint32, stream)?,
            g.alloc(&[total], Dtype::Uint32, stream)?,
        ])
    } else {
        None
    };
    let vptr = |k: usize| data_ptr(&vals[k], t);
    let iptr = |k: usize| idx.as_ref().map_or(0, |b| data_ptr(&b[k], Dtype::Uint32));
    let smem = smem_bytes(t, arg, BIG);
    {
        let f = g.function(&SORT, &block_name(t, arg, BIG), group)?;
        let (mut vp, mut ip, mut ti, mut keep) = (vptr(0), iptr(0), tiles as i64, 1i32);
        let mut args = [
            ptr(&mut xp),
            ptr(&mut vp),
            ptr(&mut ip),
            ptr64(&mut nn),
            ptr64(&mut ti),
            &mut keep as *mut i32 as *mut c_void,
        ];
        g.launch_grid(f, rows * tiles, BIG.0, smem, stream, &mut args)?;
    }
    let f = g.function(&SORT, &merge_name(t, arg), group)?;
    let mut cur = 0;
    let mut width = tile;
    while width < n {
        let (mut xv, mut xi, mut yv, mut yi) = (vptr(cur), iptr(cur), vptr(1 - cur), iptr(1 - cur));
        let (mut ti, mut w) = (tiles as i64, width as i64);
        let mut args = [
            ptr(&mut xv),
            ptr(&mut xi),
            ptr(&mut yv),
            ptr(&mut yi),
            ptr64(&mut nn),
            ptr64(&mut ti),
            ptr64(&mut w),
        ];
        g.launch_grid(f, rows * tiles, BIG.0, smem, stream, &mut args)?;
        cur = 1 - cur;
        width *= 2;
    }
    let [a, b] = idx.unwrap_or(vals);
    Ok(if cur == 0 { a } else { b })
}

/// Sort (`arg == false`) or argsort device data `x` of `shape` along `axis`: fresh data
/// of `shape` whose layout has `axis` innermost.
pub fn sort(
    g: &Gpu,
    stream: RawStream,
    x: &Data,
    shape: &[usize],
    axis: usize,
    t: Dtype,
    arg: bool,
) -> Result<Data> {
    let (xd, rows, n, perm) = rows_of(g, stream, x, shape, &[axis], t)?;
    let out = sort_rows(g, stream, &xd, t, rows, n, arg)?;
    let size: usize = shape.iter().product();
    Ok(Data::with_layout(
        Arc::clone(&out.storage),
        shape,
        permuted_strides(shape, &perm),
        0,
        Some(size),
    ))
}

/// Evaluate `Sort`/`ArgSort` (and `Partition`/`ArgPartition`, as full sorts) on the GPU.
pub fn sort_gpu(axis: usize, arg: bool, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let (g, st) = super::resolve(outputs[0].stream())?;
    let y = sort(g, st, &d, x.shape(), axis, x.dtype(), arg)?;
    outputs[0].set_data(y);
    Ok(())
}

/// Evaluate `SearchSorted` on the GPU: `a` (1-D, sorted in the order above) and values
/// `v` of the same dtype; uint32 indices of `v`'s shape.
pub fn searchsorted_gpu(right: bool, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (a, v) = (&inputs[0], &inputs[1]);
    let t = a.dtype();
    if v.dtype() != t {
        return Err(Error::Dtype(format!(
            "searchsorted: values of {} searched in an array of {t}",
            v.dtype()
        )));
    }
    let (g, st) = super::resolve(outputs[0].stream())?;
    let out = g.alloc(v.shape(), Dtype::Uint32, st)?;
    let m = v.size();
    if m > 0 {
        let ad = contiguous(g, st, a, t)?;
        let vd = contiguous(g, st, v, t)?;
        let f = g.function(&SORT, &search_name(t), search_group)?;
        let (mut ap, mut vp, mut op) = (
            data_ptr(&ad, t),
            data_ptr(&vd, t),
            data_ptr(&out, Dtype::Uint32),
        );
        let (mut n, mut mm, mut r) = (a.size() as i64, m as i64, right as i32);
        let mut args = [
            ptr(&mut ap),
            ptr(&mut vp),
            ptr(&mut op),
            ptr64(&mut n),
            ptr64(&mut mm),
            &mut r as *mut i32 as *mut c_void,
        ];
        g.launch(f, m, st, &mut args)?;
    }
    outputs[0].set_data(out);
    Ok(())
}

/// `x`'s device data as row-contiguous data (a copy unless it already is).
fn contiguous(g: &Gpu, st: RawStream, x: &Array, t: Dtype) -> Result<Data> {
    let d = x.data()?;
    if d.flags.row_contiguous || x.size() == 0 {
        Ok(d)
    } else {
        super::copy::copy_to_contiguous(g, st, &d, x.shape(), t, t)
    }
}
