//! Indexing kernels on the CPU: gather / scatter with several broadcast index arrays
//! (MLX's `Gather` / `Scatter`), their one-axis forms (`GatherAxis` / `ScatterAxis`, behind
//! `take_along_axis` / `put_along_axis`), and slice updates with static or dynamic
//! starts.
//!
//! Index semantics: negative indices count from the end of their axis. Out-of-range
//! indices never read or write out of bounds: gathers clamp the index into the axis
//! (as JAX does), scatters drop the update (JAX's default).

use super::scan::Arith;
use super::strided::{collapse, par_rows, RowWalker, SendPtr};
use super::PAR_THRESHOLD;
use crate::array::{row_strides, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::error::Result;
use crate::{dispatch_all, Array, Error};
use rayon::prelude::*;

/// How a scatter combines an update with the value already in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScatterReduce {
    /// Overwrite (with duplicate indices, the last update in row-major order wins).
    None,
    /// Add.
    Sum,
    /// Multiply.
    Prod,
    /// Maximum (`out > upd ? out : upd`: a NaN update wins, a NaN in place is replaced).
    Max,
    /// Minimum (`out < upd ? out : upd`).
    Min,
}

/// Run `$body` with `$T` an unsigned integer type of the dtype's element size (for
/// kernels that only move elements).
macro_rules! dispatch_size {
    ($dt:expr, $T:ident => $body:expr) => {{
        match $dt.size() {
            1 => {
                type $T = u8;
                $body
            }
            2 => {
                type $T = u16;
                $body
            }
            4 => {
                type $T = u32;
                $body
            }
            _ => {
                type $T = u64;
                $body
            }
        }
    }};
}

/// A (possibly negative) start index of a window of `size` along an axis of `dim`,
/// wrapped and clamped so the window fits.
#[inline(always)]
pub fn wrap_clamp(i: i64, dim: usize, size: usize) -> usize {
    let d = dim as i64;
    let i = if i < 0 { i + d } else { i };
    i.clamp(0, (d - size as i64).max(0)) as usize
}

/// A (possibly negative) start index of a window of `size` along an axis of `dim`,
/// wrapped; `None` when the window does not fit.
#[inline(always)]
pub fn wrap_check(i: i64, dim: usize, size: usize) -> Option<usize> {
    let d = dim as i64;
    let i = if i < 0 { i + d } else { i };
    if i >= 0 && i + size as i64 <= d {
        Some(i as usize)
    } else {
        None
    }
}

/// The values of an integer array in row-major order, as i64 (error for other dtypes).
pub fn index_values(idx: &Array) -> Result<Vec<i64>> {
    if !idx.dtype().is_integer() {
        return Err(Error::Dtype(format!(
            "indices must be integers, got {}",
            idx.dtype()
        )));
    }
    idx.to_vec::<i64>()
}

/// Copy `n` elements from `src[so + k*ss]` to `dst[k]`.
#[inline(always)]
unsafe fn copy_run<T: Copy>(src: *const T, so: isize, ss: isize, dst: *mut T, n: usize) {
    if ss == 1 {
        std::ptr::copy_nonoverlapping(src.offset(so), dst, n);
    } else {
        for k in 0..n {
            *dst.add(k) = *src.offset(so + k as isize * ss);
        }
    }
}

/// `Gather`: for each position `p` of the (already broadcast) index arrays, copy the
/// window of `slice_sizes` of `a` that starts at `indices[j][p]` on axis `axes[j]` (0 on
/// other axes). The output (row-contiguous, `idx_shape ++ slice_sizes`) is returned.
pub fn gather(
    a: &Array,
    indices: &[Array],
    axes: &[usize],
    slice_sizes: &[usize],
    out_shape: &[usize],
) -> Result<Data> {
    let out = Data::alloc(out_shape, a.dtype())?;
    let n_idx: usize = indices.first().map_or(1, |i| i.size());
    let slice_len: usize = slice_sizes.iter().product();
    if n_idx * slice_len == 0 {
        return Ok(out);
    }
    let ad = a.data()?;
    let idx: Vec<Vec<i64>> = indices.iter().map(index_values).collect::<Result<_>>()?;
    let base_of = |p: usize| -> isize {
        let mut o = ad.offset as isize;
        for (j, &ax) in axes.iter().enumerate() {
            o += wrap_clamp(idx[j][p], a.shape()[ax], slice_sizes[ax]) as isize * ad.strides[ax];
        }
        o
    };
    let sst = row_strides(slice_sizes);
    let (cs, st) = collapse(slice_sizes, &[&sst, &ad.strides]);
    let inner = *cs.last().expect("non-empty");
    let sstride = *st[1].last().expect("non-empty");
    let rows = slice_len / inner;
    let total = n_idx * slice_len;
    dispatch_size!(a.dtype(), T => {
        let src = ad.host().as_slice::<T>().as_ptr();
        let sp = SendPtr(src as *mut T);
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        let one = |p: usize| {
            let (sp, dp) = (sp, dp);
            let base = base_of(p);
            // SAFETY: every index was clamped into its axis, so all reads are inside the
            // input's span; each `p` writes its own `slice_len` block of the output.
            unsafe {
                let d = dp.0.add(p * slice_len);
                if slice_len == 1 {
                    *d = *sp.0.offset(base);
                } else if rows == 1 {
                    copy_run(sp.0, base, sstride, d, inner);
                } else {
                    let mut w = RowWalker::new(0, &cs, &st);
                    for _ in 0..rows {
                        copy_run(sp.0, base + w.offsets[1], sstride, d.offset(w.offsets[0]), inner);
                        w.next_row();
                    }
                }
            }
        };
        if total < PAR_THRESHOLD {
            (0..n_idx).for_each(one);
        } else if n_idx >= 4 * rayon::current_num_threads() {
            let min_len = (PAR_THRESHOLD / slice_len).max(1);
            (0..n_idx).into_par_iter().with_min_len(min_len).for_each(one);
        } else {
            // Few large windows: parallel over the rows of each window.
            for p in 0..n_idx {
                let base = base_of(p);
                par_rows(&cs, &st, true, |first, nrows| {
                    let (sp, dp) = (sp, dp);
                    let mut w = RowWalker::new(first, &cs, &st);
                    for _ in 0..nrows {
                        // SAFETY: as above; rows write disjoint ranges.
                        unsafe {
                            let d = dp.0.add(p * slice_len).offset(w.offsets[0]);
                            copy_run(sp.0, base + w.offsets[1], sstride, d, inner);
                        }
                        w.next_row();
                    }
                });
            }
        }
    });
    Ok(out)
}

/// Row-contiguous output data holding a copy of `a` (or `a`'s own buffer when it can be
/// donated).
pub fn copy_or_donate(a: &Array) -> Result<Data> {
    let d = a.data()?;
    if d.flags.row_contiguous && a.is_donatable() {
        return Ok(d);
    }
    copy_to_contiguous(&d, a.shape(), a.dtype(), a.dtype())
}

#[inline(always)]
fn apply<T: Arith>(r: ScatterReduce, o: &mut T, u: T) {
    match r {
        ScatterReduce::None => *o = u,
        ScatterReduce::Sum => *o = o.add(u),
        ScatterReduce::Prod => *o = o.mul(u),
        ScatterReduce::Max => {
            if !o.gt(u) {
                *o = u
            }
        }
        ScatterReduce::Min => {
            if !o.lt(u) {
                *o = u
            }
        }
    }
}

/// `Scatter`: a copy of `a` where, for each position `p` of the (broadcast) index arrays,
/// the window `updates[p, ...]` (shape `updates.shape[idx_ndim..]`, one entry per axis of
/// `a`) is combined into `a` at the start given by `indices[j][p]` on axis `axes[j]`.
/// Updates are applied in row-major order of `p`; windows that do not fit are dropped.
pub fn scatter(
    a: &Array,
    indices: &[Array],
    updates: &Array,
    axes: &[usize],
    reduce: ScatterReduce,
) -> Result<Data> {
    let out = copy_or_donate(a)?;
    let idx_ndim = updates.ndim() - a.ndim();
    let idx_shape = &updates.shape()[..idx_ndim];
    let win = &updates.shape()[idx_ndim..];
    let n_idx: usize = idx_shape.iter().product();
    let slice_len: usize = win.iter().product();
    if n_idx * slice_len == 0 {
        return Ok(out);
    }
    let ud = updates.data()?;
    let idx: Vec<Vec<i64>> = indices.iter().map(index_values).collect::<Result<_>>()?;
    let ostr = row_strides(a.shape());
    // Start offset (in the output) of each update window, or -1 to drop it.
    let bases: Vec<isize> = (0..n_idx)
        .map(|p| {
            let mut o = out.offset as isize;
            for (j, &ax) in axes.iter().enumerate() {
                match wrap_check(idx[j][p], a.shape()[ax], win[ax]) {
                    Some(i) => o += i as isize * ostr[ax],
                    None => return -1,
                }
            }
            o
        })
        .collect();
    // Offset (in the updates) of each window.
    let ubase: Vec<isize> = {
        let hs = &ud.strides[..idx_ndim];
        (0..n_idx)
            .map(|p| {
                let mut r = p;
                let mut o = ud.offset as isize;
                for ax in (0..idx_ndim).rev() {
                    o += (r % idx_shape[ax]) as isize * hs[ax];
                    r /= idx_shape[ax];
                }
                o
            })
            .collect()
    };
    let (cs, st) = collapse(win, &[&ostr, &ud.strides[idx_ndim..]]);
    let inner = *cs.last().expect("non-empty");
    let ostride = *st[0].last().expect("non-empty");
    let ustride = *st[1].last().expect("non-empty");
    let rows = slice_len / inner;
    dispatch_all!(a.dtype(), T => {
        let up = SendPtr(ud.host().as_slice::<T>().as_ptr() as *mut T);
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        // Apply columns [c0, c1) of rows [r0, r1) of every window, in update order.
        let run = |r0: usize, r1: usize, c0: usize, c1: usize| {
            let (up, dp) = (up, dp);
            let mut w = RowWalker::new(r0, &cs, &st);
            let mut row_offs = Vec::with_capacity(r1 - r0);
            for _ in r0..r1 {
                row_offs.push((w.offsets[0], w.offsets[1]));
                w.next_row();
            }
            for p in 0..n_idx {
                let b = bases[p];
                if b < 0 {
                    continue;
                }
                for &(oo, uo) in &row_offs {
                    for c in c0..c1 {
                        // SAFETY: windows were checked to fit in the output; tasks own
                        // disjoint (row, column) parts of every window.
                        unsafe {
                            let o = &mut *dp.0.offset(b + oo + c as isize * ostride);
                            let u = *up.0.offset(ubase[p] + uo + c as isize * ustride);
                            apply(reduce, o, u);
                        }
                    }
                }
            }
        };
        let total = n_idx * slice_len;
        let threads = rayon::current_num_threads();
        if total < PAR_THRESHOLD || threads == 1 || slice_len < 256 {
            run(0, rows, 0, inner);
        } else if rows >= 2 * threads {
            let chunks = (threads * 4).min(rows);
            let per = rows.div_ceil(chunks);
            (0..chunks).into_par_iter().for_each(|k| {
                let (r0, r1) = (k * per, ((k + 1) * per).min(rows));
                if r0 < r1 {
                    run(r0, r1, 0, inner);
                }
            });
        } else {
            let chunks = (threads * 2).min(inner.div_ceil(64));
            let per = inner.div_ceil(chunks);
            (0..chunks).into_par_iter().for_each(|k| {
                let (c0, c1) = (k * per, ((k + 1) * per).min(inner));
                if c0 < c1 {
                    run(0, rows, c0, c1);
                }
            });
        }
    });
    Ok(out)
}

/// `GatherAxis` (`take_along_axis`): `out[q] = a[q with axis -> indices[q]]`. `a` has the
/// output's shape on every axis but `axis` (broadcast views allowed); indices are clamped.
pub fn gather_axis(a: &Array, indices: &Array, axis: usize) -> Result<Data> {
    let shape = indices.shape().to_vec();
    let out = Data::alloc(&shape, a.dtype())?;
    if indices.size() == 0 {
        return Ok(out);
    }
    let ad = a.data()?;
    let iv = index_values(indices)?;
    let dim = a.shape()[axis];
    let astep = ad.strides[axis];
    let mut astr = ad.strides.clone();
    astr[axis] = 0;
    let ostr = row_strides(&shape);
    let (cs, st) = collapse(&shape, &[&ostr, &astr]);
    let inner = *cs.last().expect("non-empty");
    let sa = *st[1].last().expect("n");
    dispatch_size!(a.dtype(), T => {
        let src = SendPtr(ad.host().as_slice::<T>().as_ptr() as *mut T);
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        let aoff = ad.offset as isize;
        par_rows(&cs, &st, true, |first, rows| {
            let (src, dp) = (src, dp);
            let mut w = RowWalker::new(first, &cs, &st);
            for _ in 0..rows {
                let (o, ao) = (w.offsets[0], w.offsets[1]);
                for k in 0..inner {
                    let kk = k as isize;
                    let i = wrap_clamp(iv[(o + kk) as usize], dim, 1) as isize;
                    // SAFETY: clamped index; rows write disjoint output ranges.
                    unsafe {
                        *dp.0.offset(o + kk) = *src.0.offset(aoff + ao + kk * sa + i * astep);
                    }
                }
                w.next_row();
            }
        });
    });
    Ok(out)
}

/// `ScatterAxis` (`put_along_axis`, `scatter_add_axis`): a copy of `a` with
/// `out[q with axis -> indices[q]] (op)= values[q]` for every position `q` of `indices`
/// (which, like `values`, has `a`'s shape on every axis but `axis`). Updates along the
/// axis are applied in order; out-of-range indices are dropped.
pub fn scatter_axis(
    a: &Array,
    indices: &Array,
    values: &Array,
    axis: usize,
    reduce: ScatterReduce,
) -> Result<Data> {
    let out = copy_or_donate(a)?;
    if indices.size() == 0 {
        return Ok(out);
    }
    let iv = index_values(indices)?;
    let irow = row_strides(indices.shape());
    let vd = values.data()?;
    let dim = a.shape()[axis];
    let ostr_full = row_strides(a.shape());
    let ostep = ostr_full[axis];
    // Iterate with `axis` moved last so each row runs along it (rows own disjoint parts
    // of the output, and updates along the axis keep their order).
    let mut perm: Vec<usize> = (0..a.ndim()).filter(|&d| d != axis).collect();
    perm.push(axis);
    let shape: Vec<usize> = perm.iter().map(|&d| indices.shape()[d]).collect();
    let ostr: Vec<isize> = perm
        .iter()
        .map(|&d| if d == axis { 0 } else { ostr_full[d] })
        .collect();
    let istr: Vec<isize> = perm.iter().map(|&d| irow[d]).collect();
    let vstr: Vec<isize> = perm.iter().map(|&d| vd.strides[d]).collect();
    let n = *shape.last().expect("ndim >= 1");
    let outer: usize = shape[..shape.len() - 1].iter().product();
    let walk_shape: Vec<usize> = shape[..shape.len() - 1]
        .iter()
        .copied()
        .chain([1])
        .collect();
    let (ia, va) = (*istr.last().expect("n"), *vstr.last().expect("n"));
    let strides = vec![ostr, istr, vstr];
    dispatch_all!(a.dtype(), T => {
        // Whole storage: values may be a view with negative strides (offsets below 0
        // relative to `vd.offset`).
        let vp = vd.storage.host().as_slice::<T>();
        let vbase = vd.offset as isize;
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        let ooff = out.offset as isize;
        let body = |first: usize, count: usize| {
            let dp = dp;
            let mut w = RowWalker::new(first, &walk_shape, &strides);
            for _ in 0..count {
                let (o, io, vo) = (w.offsets[0], w.offsets[1], w.offsets[2]);
                for k in 0..n as isize {
                    let i = iv[(io + k * ia) as usize];
                    if let Some(i) = wrap_check(i, dim, 1) {
                        let v = vp[(vbase + vo + k * va) as usize];
                        // SAFETY: checked index; rows own disjoint output regions.
                        unsafe { apply(reduce, &mut *dp.0.offset(ooff + o + i as isize * ostep), v) };
                    }
                }
                w.next_row();
            }
        };
        if outer * n >= PAR_THRESHOLD && outer > 1 {
            let chunks = (rayon::current_num_threads() * 4).min(outer);
            let per = outer.div_ceil(chunks);
            (0..chunks).into_par_iter().for_each(|c| {
                let s = c * per;
                let e = ((c + 1) * per).min(outer);
                if s < e {
                    body(s, e - s);
                }
            });
        } else {
            body(0, outer);
        }
    });
    Ok(out)
}

/// Combine `update` (already broadcast to the window's shape) into the window of `out`
/// (row-contiguous, shape `shape`) starting at `start` with steps `steps`.
pub fn update_window(
    out: &Data,
    shape: &[usize],
    dtype: crate::Dtype,
    update: &Array,
    start: &[usize],
    steps: &[isize],
    reduce: ScatterReduce,
) -> Result<()> {
    if update.size() == 0 {
        return Ok(());
    }
    let ud = update.data()?;
    let full = row_strides(shape);
    let mut off = out.offset as isize;
    for d in 0..shape.len() {
        off += start[d] as isize * full[d];
    }
    let wstr: Vec<isize> = full.iter().zip(steps).map(|(&f, &s)| f * s).collect();
    let (cs, st) = collapse(update.shape(), &[&wstr, &ud.strides]);
    let inner = *cs.last().expect("non-empty");
    let (so, su) = (*st[0].last().expect("n"), *st[1].last().expect("n"));
    dispatch_all!(dtype, T => {
        // Whole storage: the update may be a view with negative strides.
        let up = ud.storage.host().as_slice::<T>();
        let ubase = ud.offset as isize;
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        par_rows(&cs, &st, true, |first, rows| {
            let dp = dp;
            let mut w = RowWalker::new(first, &cs, &st);
            for _ in 0..rows {
                let (o, u) = (w.offsets[0], w.offsets[1]);
                for k in 0..inner as isize {
                    // SAFETY: the window lies inside `out`; rows write disjoint elements.
                    unsafe {
                        apply(reduce, &mut *dp.0.offset(off + o + k * so), up[(ubase + u + k * su) as usize]);
                    }
                }
                w.next_row();
            }
        });
    });
    Ok(())
}

/// Copy the window of `a` starting at `start` (one entry per axis) with shape `size`
/// into fresh row-contiguous data.
pub fn copy_window(a: &Array, start: &[usize], size: &[usize]) -> Result<Data> {
    let ad = a.data()?;
    let mut off = ad.offset as isize;
    for (&s, &st) in start.iter().zip(&ad.strides) {
        off += s as isize * st;
    }
    let view = Data::with_layout(
        ad.storage.clone(),
        size,
        ad.strides.clone(),
        off.max(0) as usize,
        None,
    );
    copy_to_contiguous(&view, size, a.dtype(), a.dtype())
}

/// Read a small integer array of start indices (error for non-integers).
pub fn start_values(start: &Array) -> Result<Vec<i64>> {
    index_values(start)
}
