//! Generic elementwise kernels on the CPU: map one, two or three inputs of the output's
//! shape (broadcast inputs carry zero strides) through a scalar function. Dense inputs run
//! linearly over their span and keep their layout; others are walked row by row.

use super::strided::{base_slice, collapse, par_rows, RowWalker, SendPtr};
use super::PAR_THRESHOLD;
use crate::array::{row_strides, Data};
use crate::dtype::Element;
use crate::error::Result;
use crate::Array;
use rayon::prelude::*;
use std::sync::Arc;

const CHUNK: usize = 1 << 14;

/// Storage for an output with the same dense layout as `like` (whose span is
/// `like.data_size`), reusing `like`'s buffer when `donor` allows.
fn alloc_like<U: Element>(like: &Data, donor: Option<&Array>, shape: &[usize]) -> Result<Data> {
    if let Some(a) = donor {
        if a.dtype() == U::DTYPE && a.is_donatable() {
            return Ok(like.clone());
        }
    }
    let mut d = Data::alloc(&[like.data_size], U::DTYPE)?;
    d.strides = like.strides.clone();
    d.flags = like.flags;
    d.data_size = like.data_size;
    let _ = shape;
    Ok(d)
}

/// `out[i] = f(x[i])` over `x`'s shape.
pub fn unary_map<T: Element, U: Element, F>(x: &Array, f: F) -> Result<Data>
where
    F: Fn(T) -> U + Sync + Send,
{
    let xd = x.data()?;
    let shape = x.shape();
    if xd.flags.contiguous {
        let n = xd.data_size;
        let out = alloc_like::<U>(&xd, Some(x), shape)?;
        let src = &xd.slice::<T>()[..n];
        let dp = out.host().as_mut_ptr() as *mut U;
        // SAFETY: out is fresh or the donated (exclusively held) input; reading x[i] then
        // writing out[i] at the same index is fine even when they alias.
        let dst = unsafe { std::slice::from_raw_parts_mut(dp.add(out.offset), n) };
        if n >= PAR_THRESHOLD {
            let sp = SendPtr(src.as_ptr() as *mut T);
            dst.par_chunks_mut(CHUNK).enumerate().for_each(|(c, d)| {
                let sp = sp;
                for (i, o) in d.iter_mut().enumerate() {
                    // SAFETY: index within src.
                    *o = f(unsafe { *sp.0.add(c * CHUNK + i) });
                }
            });
        } else {
            for i in 0..n {
                dst[i] = f(src[i]);
            }
        }
        return Ok(out);
    }
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &xd.strides]);
    let inner = *cs.last().expect("non-empty");
    let sx = st[1][st[1].len() - 1];
    let (src, xb) = base_slice::<T>(&xd);
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_rows(&cs, &st, true, |first, rows| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize;
            let xo = xb + w.offsets[1];
            for i in 0..inner {
                // SAFETY: rows write disjoint ranges of the fresh output.
                unsafe { *dp.0.add(o + i) = f(src[(xo + i as isize * sx) as usize]) };
            }
            w.next_row();
        }
    });
    Ok(out)
}

/// `out[i] = f(a[i], b[i])`; `a` and `b` already have the output's shape (broadcast
/// views allowed).
pub fn binary_map<A: Element, B: Element, U: Element, F>(a: &Array, b: &Array, f: F) -> Result<Data>
where
    F: Fn(A, B) -> U + Sync + Send,
{
    let ad = a.data()?;
    let bd = b.data()?;
    let shape = a.shape();
    // Same dense layout: run linearly over the span.
    if ad.flags.contiguous && bd.flags.contiguous && ad.strides == bd.strides {
        let n = ad.data_size;
        let out = if A::DTYPE == U::DTYPE && a.is_donatable() {
            alloc_like::<U>(&ad, Some(a), shape)?
        } else {
            alloc_like::<U>(&bd, Some(b), shape)?
        };
        let sa = SendPtr(ad.slice::<A>().as_ptr() as *mut A);
        let sb = SendPtr(bd.slice::<B>().as_ptr() as *mut B);
        let dp = out.host().as_mut_ptr() as *mut U;
        // SAFETY: see unary_map.
        let dst = unsafe { std::slice::from_raw_parts_mut(dp.add(out.offset), n) };
        let body = |c: usize, d: &mut [U]| {
            let (sa, sb) = (sa, sb);
            for (i, o) in d.iter_mut().enumerate() {
                let k = c * CHUNK + i;
                // SAFETY: k < n, within both inputs' spans.
                *o = unsafe { f(*sa.0.add(k), *sb.0.add(k)) };
            }
        };
        if n >= PAR_THRESHOLD {
            dst.par_chunks_mut(CHUNK).enumerate().for_each(|(c, d)| body(c, d));
        } else {
            dst.chunks_mut(CHUNK).enumerate().for_each(|(c, d)| body(c, d));
        }
        return Ok(out);
    }
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &ad.strides, &bd.strides]);
    let inner = *cs.last().expect("non-empty");
    let (ia, ib) = (st[1][st[1].len() - 1], st[2][st[2].len() - 1]);
    let ((pa, ab), (pb, bb)) = (base_slice::<A>(&ad), base_slice::<B>(&bd));
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_rows(&cs, &st, true, |first, rows| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize;
            // SAFETY: rows write disjoint ranges of the fresh output.
            let dst = unsafe { std::slice::from_raw_parts_mut(dp.0.add(o), inner) };
            let (ao, bo) = (ab + w.offsets[1], bb + w.offsets[2]);
            if ia == 1 && ib == 1 {
                let (ra, rb) = (&pa[ao as usize..][..inner], &pb[bo as usize..][..inner]);
                for i in 0..inner {
                    dst[i] = f(ra[i], rb[i]);
                }
            } else if ia == 1 && ib == 0 {
                let (ra, vb) = (&pa[ao as usize..][..inner], pb[bo as usize]);
                for i in 0..inner {
                    dst[i] = f(ra[i], vb);
                }
            } else if ia == 0 && ib == 1 {
                let (va, rb) = (pa[ao as usize], &pb[bo as usize..][..inner]);
                for i in 0..inner {
                    dst[i] = f(va, rb[i]);
                }
            } else {
                for (i, d) in dst.iter_mut().enumerate() {
                    let i = i as isize;
                    *d = f(pa[(ao + i * ia) as usize], pb[(bo + i * ib) as usize]);
                }
            }
            w.next_row();
        }
    });
    Ok(out)
}

/// `out[i] = f(a[i], b[i], c[i])`; all inputs already have the output's shape.
pub fn ternary_map<A: Element, B: Element, C: Element, U: Element, F>(
    a: &Array,
    b: &Array,
    c: &Array,
    f: F,
) -> Result<Data>
where
    F: Fn(A, B, C) -> U + Sync + Send,
{
    let (ad, bd, cd) = (a.data()?, b.data()?, c.data()?);
    let shape = a.shape();
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &ad.strides, &bd.strides, &cd.strides]);
    let inner = *cs.last().expect("non-empty");
    let last = |k: usize| st[k][st[k].len() - 1];
    let (ia, ib, ic) = (last(1), last(2), last(3));
    let ((pa, ab), (pb, bb), (pc, cb)) =
        (base_slice::<A>(&ad), base_slice::<B>(&bd), base_slice::<C>(&cd));
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_rows(&cs, &st, true, |first, rows| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize;
            let (ao, bo, co) = (ab + w.offsets[1], bb + w.offsets[2], cb + w.offsets[3]);
            for i in 0..inner {
                let ii = i as isize;
                let v = f(
                    pa[(ao + ii * ia) as usize],
                    pb[(bo + ii * ib) as usize],
                    pc[(co + ii * ic) as usize],
                );
                // SAFETY: rows write disjoint ranges of the fresh output.
                unsafe { *dp.0.add(o + i) = v };
            }
            w.next_row();
        }
    });
    Ok(out)
}

/// Keep `Arc` in scope for donation helpers used by kernels in sibling files.
#[allow(dead_code)]
fn _keep(_: Arc<()>) {}
