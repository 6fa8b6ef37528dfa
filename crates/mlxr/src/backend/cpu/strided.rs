//! N-d strided iteration shared by CPU kernels: collapse axes that are contiguous for
//! every operand, then walk the result as rows (the last collapsed axis) in parallel.

use crate::array::Data;
use crate::dtype::Element;
use rayon::prelude::*;

/// The whole host buffer of `d` as `&[T]`, and the index in it of element `[0, ..., 0]`.
/// Kernels that walk strides index it with `base + offset`: strides may be negative (a
/// reversed view), so an element can sit before the array's own offset.
pub fn base_slice<T: Element>(d: &Data) -> (&[T], isize) {
    (d.host().as_slice::<T>(), d.offset as isize)
}

/// Merge adjacent axes that are contiguous for every operand and drop size-1 axes.
/// Returns the collapsed shape and one stride vector per operand.
pub fn collapse(shape: &[usize], strides: &[&[isize]]) -> (Vec<usize>, Vec<Vec<isize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<isize>> = vec![Vec::new(); strides.len()];
    for (i, &n) in shape.iter().enumerate() {
        if n == 1 {
            continue;
        }
        if let Some(&last) = out_shape.last() {
            let mergeable = strides.iter().enumerate().all(|(k, s)| {
                let prev = *out_strides[k].last().expect("same length");
                prev == s[i] * n as isize
            });
            let _ = last;
            if mergeable {
                *out_shape.last_mut().expect("non-empty") *= n;
                for (k, s) in strides.iter().enumerate() {
                    *out_strides[k].last_mut().expect("non-empty") = s[i];
                }
                continue;
            }
        }
        out_shape.push(n);
        for (k, s) in strides.iter().enumerate() {
            out_strides[k].push(s[i]);
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for s in out_strides.iter_mut() {
            s.push(0);
        }
    }
    (out_shape, out_strides)
}

/// Offsets of row `row` (a row is one run of the last axis) for each operand.
#[inline]
pub fn row_offsets(row: usize, shape: &[usize], strides: &[Vec<isize>], out: &mut [isize]) {
    let nd = shape.len();
    for o in out.iter_mut() {
        *o = 0;
    }
    let mut r = row;
    for ax in (0..nd - 1).rev() {
        let i = r % shape[ax];
        r /= shape[ax];
        for (k, s) in strides.iter().enumerate() {
            out[k] += i as isize * s[ax];
        }
    }
}

/// Call `f(first_row, rows, offsets)` over all rows of a collapsed iteration space, in
/// parallel chunks when the work is large. `offsets` are those of `first_row`; `f` walks
/// its chunk with [`RowWalker`].
pub fn par_rows<F>(shape: &[usize], strides: &[Vec<isize>], parallel: bool, f: F)
where
    F: Fn(usize, usize) + Sync + Send,
{
    let inner = *shape.last().expect("collapsed shape is non-empty");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    let total = rows * inner;
    let threads = rayon::current_num_threads();
    if !parallel || total < super::PAR_THRESHOLD || threads == 1 || rows == 1 {
        let _ = strides;
        f(0, rows);
        return;
    }
    let chunks = (threads * 4).min(rows);
    let per = rows.div_ceil(chunks);
    (0..chunks).into_par_iter().for_each(|c| {
        let start = c * per;
        let end = ((c + 1) * per).min(rows);
        if start < end {
            f(start, end - start);
        }
    });
}

/// Walks consecutive rows, updating per-operand offsets incrementally.
pub struct RowWalker<'a> {
    shape: &'a [usize],
    strides: &'a [Vec<isize>],
    idx: Vec<usize>,
    /// Current offsets, one per operand.
    pub offsets: Vec<isize>,
}

impl<'a> RowWalker<'a> {
    /// Start at `row`.
    pub fn new(row: usize, shape: &'a [usize], strides: &'a [Vec<isize>]) -> Self {
        let nd = shape.len();
        let mut idx = vec![0usize; nd.saturating_sub(1)];
        let mut r = row;
        for ax in (0..nd - 1).rev() {
            idx[ax] = r % shape[ax];
            r /= shape[ax];
        }
        let mut offsets = vec![0isize; strides.len()];
        row_offsets(row, shape, strides, &mut offsets);
        RowWalker {
            shape,
            strides,
            idx,
            offsets,
        }
    }
    /// Advance to the next row.
    #[inline]
    pub fn next_row(&mut self) {
        let nd = self.shape.len();
        let mut ax = nd - 1;
        while ax > 0 {
            ax -= 1;
            self.idx[ax] += 1;
            for (k, s) in self.strides.iter().enumerate() {
                self.offsets[k] += s[ax];
            }
            if self.idx[ax] < self.shape[ax] {
                return;
            }
            for (k, s) in self.strides.iter().enumerate() {
                self.offsets[k] -= s[ax] * self.shape[ax] as isize;
            }
            self.idx[ax] = 0;
        }
    }
}

/// A raw pointer that may be shared across threads writing disjoint elements.
#[derive(Clone, Copy)]
pub struct SendPtr<T>(pub *mut T);
// SAFETY: users write disjoint elements from different threads.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}
