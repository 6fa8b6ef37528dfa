//! Shape kernels on the CPU: copies that move elements without arithmetic, so they work
//! on raw element bytes (one instantiation per element size, not per dtype). Strided
//! copies into a region of an output (concatenate), gathers through per-axis offset maps
//! (pad, tile, repeat, roll), the 1-D → 2-D diagonal matrix (diag) and the byte → bool
//! normalisation behind `view(.., bool)`. All read their inputs through strides (negative
//! ones included) and run in parallel for large outputs.

use super::strided::{base_slice, collapse, RowWalker, SendPtr};
use super::PAR_THRESHOLD;
use crate::array::Data;
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use rayon::prelude::*;

/// Instantiate `$body` with `$T` an unsigned integer type of `$size` bytes (element copies
/// do not need the dtype's meaning, only its width).
macro_rules! dispatch_bytes {
    ($size:expr, $T:ident => $body:expr) => {
        match $size {
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
            8 => {
                type $T = u64;
                $body
            }
            s => {
                return Err(Error::Unsupported(format!(
                    "no copy kernel for {s}-byte elements"
                )))
            }
        }
    };
}
pub(crate) use dispatch_bytes;

/// Offset value in a gather map marking an output position that takes the fill value.
pub const FILL: isize = isize::MIN;

/// Call `f(first_row, rows, lo, hi)` over the rows of `shape` (a row is one run of the last
/// axis), restricted to the inner range `lo..hi`. Large work runs in parallel: by chunks
/// of rows, or, when there are few rows, by chunks within each row.
pub fn par_blocks<F>(shape: &[usize], f: F)
where
    F: Fn(usize, usize, usize, usize) + Sync + Send,
{
    let inner = shape.last().copied().unwrap_or(1);
    let rows: usize = shape[..shape.len().saturating_sub(1)].iter().product();
    let total = rows * inner;
    let threads = rayon::current_num_threads();
    if total == 0 {
        return;
    }
    if total < PAR_THRESHOLD || threads == 1 {
        f(0, rows, 0, inner);
        return;
    }
    if rows >= threads * 4 {
        let chunks = (threads * 4).min(rows);
        let per = rows.div_ceil(chunks);
        (0..chunks).into_par_iter().for_each(|c| {
            let start = c * per;
            let end = ((c + 1) * per).min(rows);
            if start < end {
                f(start, end - start, 0, inner);
            }
        });
    } else {
        let per_row = (threads * 4).div_ceil(rows).max(1);
        let len = inner.div_ceil(per_row);
        (0..rows * per_row).into_par_iter().for_each(|b| {
            let (r, c) = (b / per_row, b % per_row);
            let lo = c * len;
            let hi = ((c + 1) * len).min(inner);
            if lo < hi {
                f(r, 1, lo, hi);
            }
        });
    }
}

/// Copy the elements of `src` (of `shape`, any strides) into `dst`'s buffer at
/// `dst_offset + Σ index·dst_strides` (the region of an output that one input fills).
/// `dst` must be storage this kernel's caller owns exclusively.
pub fn copy_into(
    src: &Data,
    shape: &[usize],
    itemsize: usize,
    dst: &Data,
    dst_strides: &[isize],
    dst_offset: isize,
) -> Result<()> {
    if shape.iter().product::<usize>() == 0 {
        return Ok(());
    }
    dispatch_bytes!(itemsize, T => copy_into_t::<T>(src, shape, dst, dst_strides, dst_offset));
    Ok(())
}

fn copy_into_t<T: Element>(
    src: &Data,
    shape: &[usize],
    dst: &Data,
    dst_strides: &[isize],
    dst_offset: isize,
) {
    let (s, sbase) = base_slice::<T>(src);
    let dp = SendPtr(dst.host().as_mut_ptr() as *mut T);
    let (cs, st) = collapse(shape, &[dst_strides, &src.strides]);
    let (di, si) = (st[0][st[0].len() - 1], st[1][st[1].len() - 1]);
    par_blocks(&cs, |first, rows, lo, hi| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = dst_offset + w.offsets[0];
            let so = sbase + w.offsets[1];
            if di == 1 && si == 1 {
                let from = &s[(so as usize + lo)..(so as usize + hi)];
                // SAFETY: each block writes its own disjoint range of the exclusively owned
                // destination, which holds the whole region.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        from.as_ptr(),
                        dp.0.offset(o + lo as isize),
                        hi - lo,
                    )
                };
            } else {
                for i in lo..hi {
                    let i = i as isize;
                    let v = s[(so + i * si) as usize];
                    // SAFETY: as above.
                    unsafe { *dp.0.offset(o + i * di) = v };
                }
            }
            w.next_row();
        }
    });
}

/// A fresh row-contiguous array of `out_shape` whose element at index `(i_0, .., i_k)` is
/// `src[Σ maps[axis][i_axis]]` (offsets in elements, relative to `src`'s element
/// `[0, .., 0]`), or the value of the 0-d `fill` when any of the offsets is [`FILL`].
/// This one kernel serves pad (every mode), tile, repeat and roll: each axis maps its
/// output positions to input positions independently.
pub fn gather_axes(
    src: &Data,
    dtype: Dtype,
    out_shape: &[usize],
    maps: &[Vec<isize>],
    fill: Option<&Data>,
) -> Result<Data> {
    let out = Data::alloc(out_shape, dtype)?;
    if out_shape.iter().product::<usize>() == 0 {
        return Ok(out);
    }
    dispatch_bytes!(dtype.size(), T => gather_axes_t::<T>(src, out_shape, maps, fill, &out));
    Ok(out)
}

fn gather_axes_t<T: Element>(
    src: &Data,
    out_shape: &[usize],
    maps: &[Vec<isize>],
    fill: Option<&Data>,
    out: &Data,
) {
    let zero_d = [vec![0isize]];
    let (shape, maps): (Vec<usize>, &[Vec<isize>]) = if out_shape.is_empty() {
        (vec![1], &zero_d)
    } else {
        (out_shape.to_vec(), maps)
    };
    let fv: T = fill
        .map(|f| base_slice::<T>(f).0[f.offset])
        .unwrap_or_default();
    let (s, sbase) = base_slice::<T>(src);
    let nd = shape.len();
    let inner = shape[nd - 1];
    let last = &maps[nd - 1];
    let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
    par_blocks(&shape, |first, rows, lo, hi| {
        let dp = dp;
        // Outer index of `first`, then step through rows.
        let mut idx = vec![0usize; nd - 1];
        let mut r = first;
        for ax in (0..nd - 1).rev() {
            idx[ax] = r % shape[ax];
            r /= shape[ax];
        }
        for row in first..first + rows {
            let mut base = 0isize;
            let mut filled = false;
            for ax in 0..nd - 1 {
                let m = maps[ax][idx[ax]];
                if m == FILL {
                    filled = true;
                    break;
                }
                base += m;
            }
            // SAFETY: each block writes its own disjoint part of the fresh output.
            let dst =
                unsafe { std::slice::from_raw_parts_mut(dp.0.add(row * inner + lo), hi - lo) };
            if filled {
                dst.fill(fv);
            } else {
                let b = sbase + base;
                for (d, &m) in dst.iter_mut().zip(&last[lo..hi]) {
                    *d = if m == FILL { fv } else { s[(b + m) as usize] };
                }
            }
            for ax in (0..nd - 1).rev() {
                idx[ax] += 1;
                if idx[ax] < shape[ax] {
                    break;
                }
                idx[ax] = 0;
            }
        }
    });
}

/// The `(n + |k|) × (n + |k|)` matrix with the 1-D `src` (length `n`) on diagonal `k` and
/// zeros elsewhere.
pub fn diag_matrix(src: &Data, n: usize, k: isize, dtype: Dtype) -> Result<Data> {
    let m = n + k.unsigned_abs();
    let out = Data::alloc_zeroed(&[m, m], dtype)?;
    let (r0, c0) = if k >= 0 {
        (0, k as usize)
    } else {
        (k.unsigned_abs(), 0)
    };
    // The diagonal is a strided region of the output: stride m + 1.
    copy_into(
        src,
        &[n],
        dtype.size(),
        &out,
        &[m as isize + 1],
        (r0 * m + c0) as isize,
    )?;
    Ok(out)
}

/// Reinterpret the bytes of the row-contiguous `src` (elements of `itemsize` bytes) as
/// bools of `shape`: every non-zero byte becomes `true` (bool storage holds only 0 and 1).
pub fn bytes_to_bool(src: &Data, itemsize: usize, shape: &[usize]) -> Result<Data> {
    let out = Data::alloc(shape, Dtype::Bool)?;
    let nbytes: usize = shape.iter().product();
    let s = &src.host().bytes()[src.offset * itemsize..][..nbytes];
    let dp = SendPtr(out.host().as_mut_ptr());
    par_blocks(&[nbytes], |_, _, lo, hi| {
        let dp = dp;
        for (i, &b) in s.iter().enumerate().take(hi).skip(lo) {
            // SAFETY: blocks write disjoint bytes of the fresh output.
            unsafe { *dp.0.add(i) = (b != 0) as u8 };
        }
    });
    Ok(out)
}
