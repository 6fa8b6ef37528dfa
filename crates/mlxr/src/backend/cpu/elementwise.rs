//! Generic elementwise kernels on the CPU: map one, two or three inputs of the output's
//! shape (broadcast inputs carry zero strides) through a scalar function. Dense inputs run
//! linearly over their span and keep their layout; a dense input with a broadcast scalar
//! runs linearly too; others are walked row by row.
//!
//! The linear inner loops are plain loops over slices so they vectorise; on x86-64 they
//! are compiled a second time with AVX2/FMA/F16C enabled and picked at run time.

use super::strided::{collapse, RowWalker, SendPtr};
use super::PAR_THRESHOLD;
use crate::array::{row_strides, Data};
use crate::dtype::Element;
use crate::error::Result;
use crate::Array;
use rayon::prelude::*;

const CHUNK: usize = 1 << 14;

// ---- vectorisable inner loops with run-time CPU feature dispatch -------------------

/// Whether the AVX2 + FMA + F16C versions of the inner loops can run on this CPU.
#[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
#[inline]
fn has_avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    static STATE: AtomicU8 = AtomicU8::new(0);
    match STATE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let ok = is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c");
            STATE.store(if ok { 1 } else { 2 }, Ordering::Relaxed);
            ok
        }
    }
}

/// Defines `$name` (portable body) and picks an AVX2 build of the same body at run time
/// (optimised builds only: debug builds keep one copy to compile faster).
macro_rules! multiversion {
    (fn $name:ident<$($g:ident),*>($($arg:ident : $ty:ty),*) where $($bounds:tt)*) => {
        #[inline(always)]
        #[allow(clippy::too_many_arguments)]
        fn $name<$($g),*>($($arg: $ty),*) where $($bounds)* {
            #[inline(always)]
            fn body<$($g),*>($($arg: $ty),*) where $($bounds)* {
                loops::$name($($arg),*)
            }
            #[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn avx2<$($g),*>($($arg: $ty),*) where $($bounds)* {
                body($($arg),*)
            }
            #[cfg(all(target_arch = "x86_64", not(debug_assertions)))]
            if has_avx2() {
                // SAFETY: the CPU supports the enabled features.
                return unsafe { avx2($($arg),*) };
            }
            body($($arg),*)
        }
    };
}

/// The portable loop bodies (kept trivially simple so LLVM vectorises them).
mod loops {
    #[inline(always)]
    pub fn map1<T: Copy, U, F: Fn(T) -> U>(s: &[T], d: &mut [U], f: &F) {
        for (o, &x) in d.iter_mut().zip(s) {
            *o = f(x);
        }
    }
    /// In place: `d` holds `T` values on entry (same size and alignment as `U`).
    #[inline(always)]
    pub fn map1_inplace<T: Copy, U, F: Fn(T) -> U>(d: &mut [U], f: &F) {
        for o in d.iter_mut() {
            // SAFETY: the caller guarantees T and U are the same type.
            let x: T = unsafe { *(o as *mut U as *const T) };
            *o = f(x);
        }
    }
    #[inline(always)]
    pub fn map2<A: Copy, B: Copy, U, F: Fn(A, B) -> U>(a: &[A], b: &[B], d: &mut [U], f: &F) {
        for ((o, &x), &y) in d.iter_mut().zip(a).zip(b) {
            *o = f(x, y);
        }
    }
    #[inline(always)]
    pub fn map2_sv<A: Copy, B: Copy, U, F: Fn(A, B) -> U>(a: A, b: &[B], d: &mut [U], f: &F) {
        for (o, &y) in d.iter_mut().zip(b) {
            *o = f(a, y);
        }
    }
    #[inline(always)]
    pub fn map2_vs<A: Copy, B: Copy, U, F: Fn(A, B) -> U>(a: &[A], b: B, d: &mut [U], f: &F) {
        for (o, &x) in d.iter_mut().zip(a) {
            *o = f(x, b);
        }
    }
    /// In place over the first input: `d` holds `A` values on entry.
    #[inline(always)]
    pub fn map2_inplace_a<A: Copy, B: Copy, U, F: Fn(A, B) -> U>(d: &mut [U], b: &[B], f: &F) {
        for (o, &y) in d.iter_mut().zip(b) {
            // SAFETY: the caller guarantees A and U are the same type.
            let x: A = unsafe { *(o as *mut U as *const A) };
            *o = f(x, y);
        }
    }
    #[inline(always)]
    pub fn map3<A: Copy, B: Copy, C: Copy, U, F: Fn(A, B, C) -> U>(
        a: &[A],
        b: &[B],
        c: &[C],
        d: &mut [U],
        f: &F,
    ) {
        for (((o, &x), &y), &z) in d.iter_mut().zip(a).zip(b).zip(c) {
            *o = f(x, y, z);
        }
    }
}

multiversion!(fn map1<T, U, F>(s: &[T], d: &mut [U], f: &F) where T: Copy, F: Fn(T) -> U);
multiversion!(fn map1_inplace<T, U, F>(d: &mut [U], f: &F) where T: Copy, F: Fn(T) -> U);
multiversion!(fn map2<A, B, U, F>(a: &[A], b: &[B], d: &mut [U], f: &F) where A: Copy, B: Copy, F: Fn(A, B) -> U);
multiversion!(fn map2_sv<A, B, U, F>(a: A, b: &[B], d: &mut [U], f: &F) where A: Copy, B: Copy, F: Fn(A, B) -> U);
multiversion!(fn map2_vs<A, B, U, F>(a: &[A], b: B, d: &mut [U], f: &F) where A: Copy, B: Copy, F: Fn(A, B) -> U);
multiversion!(fn map2_inplace_a<A, B, U, F>(d: &mut [U], b: &[B], f: &F) where A: Copy, B: Copy, F: Fn(A, B) -> U);
multiversion!(fn map3<A, B, C, U, F>(a: &[A], b: &[B], c: &[C], d: &mut [U], f: &F) where A: Copy, B: Copy, C: Copy, F: Fn(A, B, C) -> U);

/// A chunk body behind a reference to a trait object: the parallel drivers (rayon's
/// generic machinery) are then compiled once, not once per op and dtype.
type Body<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Run `body(start, len)` over `0..n` in chunks, in parallel when `n` is large.
fn for_chunks(n: usize, body: Body) {
    if n >= PAR_THRESHOLD && rayon::current_num_threads() > 1 {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .for_each(|c| body(c * CHUNK, CHUNK.min(n - c * CHUNK)));
    } else {
        body(0, n);
    }
}

/// A body over `rows` consecutive rows starting at row `first`, each restricted to the
/// columns `c0..c0 + len` of the innermost axis.
type SegBody<'a> = &'a (dyn Fn(usize, usize, usize, usize) + Sync);

/// Walk a collapsed strided iteration space in parallel: whole rows in chunks, or, when
/// there is a single (long) row, column ranges of it.
fn par_segments(shape: &[usize], strides: &[Vec<isize>], body: SegBody) {
    let inner = *shape.last().expect("collapsed shape is non-empty");
    let rows: usize = shape[..shape.len() - 1].iter().product();
    if rows == 1 {
        for_chunks(inner, &|c0, len| body(0, 1, c0, len));
    } else {
        super::strided::par_rows(shape, strides, true, |first, n| body(first, n, 0, inner));
    }
}

// ---- output allocation ------------------------------------------------------------

/// Whether `a` (an input of the kernel) may be overwritten by an output of type `U`.
fn can_donate<U: Element>(a: &Array) -> bool {
    a.dtype() == U::DTYPE && a.is_donatable()
}

/// Fresh storage for an output with the same dense layout as `like` (whose span is
/// `like.data_size`), starting at offset 0.
fn alloc_like<U: Element>(like: &Data) -> Result<Data> {
    let mut d = Data::alloc(&[like.data_size], U::DTYPE)?;
    d.strides = like.strides.clone();
    d.flags = like.flags;
    d.data_size = like.data_size;
    Ok(d)
}

/// Whether two dense layouts of `shape` visit their spans in the same order (strides
/// equal on every axis longer than 1), so one linear pass covers both.
fn same_dense_layout(shape: &[usize], a: &Data, b: &Data) -> bool {
    a.flags.contiguous
        && b.flags.contiguous
        && shape
            .iter()
            .zip(a.strides.iter().zip(&b.strides))
            .all(|(&n, (x, y))| n == 1 || x == y)
}

/// Whether every stride is zero (a broadcast scalar).
fn is_scalar_broadcast(d: &Data) -> bool {
    d.strides.iter().all(|&s| s == 0)
}

// ---- maps ---------------------------------------------------------------------------

/// `out[i] = f(x[i])` over `x`'s shape. A dense input is mapped linearly (in place when
/// `x` is donatable and `T == U`).
pub fn unary_map<T: Element, U: Element, F>(x: &Array, f: F) -> Result<Data>
where
    F: Fn(T) -> U + Sync + Send,
{
    let xd = x.data()?;
    let shape = x.shape();
    if xd.flags.contiguous {
        let n = xd.data_size;
        let inplace = can_donate::<U>(x);
        let out = if inplace {
            xd.clone()
        } else {
            alloc_like::<U>(&xd)?
        };
        let sp = SendPtr(xd.slice::<T>().as_ptr() as *mut T);
        let dp = SendPtr(unsafe { (out.host().as_mut_ptr() as *mut U).add(out.offset) });
        for_chunks(n, &|start, len| {
            let (sp, dp) = (sp, dp);
            // SAFETY: chunks are disjoint ranges within both spans; when in place the
            // input is exclusively ours and only `d` is formed over the shared range.
            unsafe {
                let d = std::slice::from_raw_parts_mut(dp.0.add(start), len);
                if inplace {
                    map1_inplace::<T, U, F>(d, &f);
                } else {
                    let s = std::slice::from_raw_parts(sp.0.add(start), len);
                    map1(s, d, &f);
                }
            }
        });
        return Ok(out);
    }
    if shape.contains(&0) {
        return Data::alloc(shape, U::DTYPE);
    }
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &xd.strides]);
    let sx = st[1][st[1].len() - 1];
    // Index from the start of the storage (negative strides may point below `offset`).
    let src = xd.host().as_slice::<T>();
    let x0 = xd.offset as isize;
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_segments(&cs, &st, &|first, rows, c0, inner| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize + c0;
            let xo = x0 + w.offsets[1] + c0 as isize * sx;
            // SAFETY: segments write disjoint ranges of the fresh output.
            let dst = unsafe { std::slice::from_raw_parts_mut(dp.0.add(o), inner) };
            if sx == 1 {
                loops::map1(&src[xo as usize..][..inner], dst, &f);
            } else {
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = f(src[(xo + i as isize * sx) as usize]);
                }
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
    let n_elems: usize = shape.iter().product();
    if n_elems == 0 {
        return Data::alloc(shape, U::DTYPE);
    }
    // Same dense layout: run linearly over the span.
    if same_dense_layout(shape, &ad, &bd) {
        let n = ad.data_size;
        let in_a = can_donate::<U>(a);
        let out = if in_a {
            ad.clone()
        } else {
            alloc_like::<U>(&ad)?
        };
        let sa = SendPtr(ad.slice::<A>().as_ptr() as *mut A);
        let sb = SendPtr(bd.slice::<B>().as_ptr() as *mut B);
        let dp = SendPtr(unsafe { (out.host().as_mut_ptr() as *mut U).add(out.offset) });
        for_chunks(n, &|start, len| {
            let (sa, sb, dp) = (sa, sb, dp);
            // SAFETY: disjoint chunks within the spans; an in-place input is exclusively
            // ours and only the output slice is formed over it.
            unsafe {
                let d = std::slice::from_raw_parts_mut(dp.0.add(start), len);
                if in_a {
                    let y = std::slice::from_raw_parts(sb.0.add(start), len);
                    map2_inplace_a::<A, B, U, F>(d, y, &f);
                } else {
                    let x = std::slice::from_raw_parts(sa.0.add(start), len);
                    let y = std::slice::from_raw_parts(sb.0.add(start), len);
                    map2(x, y, d, &f);
                }
            }
        });
        return Ok(out);
    }
    // A dense array with a broadcast scalar: linear over the dense one.
    if ad.flags.contiguous && is_scalar_broadcast(&bd) {
        let vb = bd.slice::<B>()[0];
        let in_a = can_donate::<U>(a);
        let out = if in_a {
            ad.clone()
        } else {
            alloc_like::<U>(&ad)?
        };
        let sa = SendPtr(ad.slice::<A>().as_ptr() as *mut A);
        let dp = SendPtr(unsafe { (out.host().as_mut_ptr() as *mut U).add(out.offset) });
        let g = |x: A| f(x, vb);
        for_chunks(ad.data_size, &|start, len| {
            let (sa, dp) = (sa, dp);
            // SAFETY: as above.
            unsafe {
                let d = std::slice::from_raw_parts_mut(dp.0.add(start), len);
                if in_a {
                    map1_inplace::<A, U, _>(d, &g);
                } else {
                    map2_vs(std::slice::from_raw_parts(sa.0.add(start), len), vb, d, &f);
                }
            }
        });
        return Ok(out);
    }
    if bd.flags.contiguous && is_scalar_broadcast(&ad) {
        let va = ad.slice::<A>()[0];
        let in_b = can_donate::<U>(b);
        let out = if in_b {
            bd.clone()
        } else {
            alloc_like::<U>(&bd)?
        };
        let sb = SendPtr(bd.slice::<B>().as_ptr() as *mut B);
        let dp = SendPtr(unsafe { (out.host().as_mut_ptr() as *mut U).add(out.offset) });
        let g = |y: B| f(va, y);
        for_chunks(bd.data_size, &|start, len| {
            let (sb, dp) = (sb, dp);
            // SAFETY: as above.
            unsafe {
                let d = std::slice::from_raw_parts_mut(dp.0.add(start), len);
                if in_b {
                    map1_inplace::<B, U, _>(d, &g);
                } else {
                    map2_sv(va, std::slice::from_raw_parts(sb.0.add(start), len), d, &f);
                }
            }
        });
        return Ok(out);
    }
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &ad.strides, &bd.strides]);
    let (ia, ib) = (st[1][st[1].len() - 1], st[2][st[2].len() - 1]);
    // Index from the start of the storage (negative strides may point below `offset`).
    let (pa, pb) = (ad.host().as_slice::<A>(), bd.host().as_slice::<B>());
    let (a0, b0) = (ad.offset as isize, bd.offset as isize);
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_segments(&cs, &st, &|first, rows, c0, inner| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize + c0;
            // SAFETY: segments write disjoint ranges of the fresh output.
            let dst = unsafe { std::slice::from_raw_parts_mut(dp.0.add(o), inner) };
            let c = c0 as isize;
            let (ao, bo) = (a0 + w.offsets[1] + c * ia, b0 + w.offsets[2] + c * ib);
            if ia == 1 && ib == 1 {
                loops::map2(
                    &pa[ao as usize..][..inner],
                    &pb[bo as usize..][..inner],
                    dst,
                    &f,
                );
            } else if ia == 1 && ib == 0 {
                loops::map2_vs(&pa[ao as usize..][..inner], pb[bo as usize], dst, &f);
            } else if ia == 0 && ib == 1 {
                loops::map2_sv(pa[ao as usize], &pb[bo as usize..][..inner], dst, &f);
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
    if shape.contains(&0) {
        return Data::alloc(shape, U::DTYPE);
    }
    // Same dense layout: run linearly over the span.
    if same_dense_layout(shape, &ad, &bd) && same_dense_layout(shape, &ad, &cd) {
        let n = ad.data_size;
        let out = alloc_like::<U>(&ad)?;
        let (pa, pb, pc) = (
            &ad.slice::<A>()[..n],
            &bd.slice::<B>()[..n],
            &cd.slice::<C>()[..n],
        );
        let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
        for_chunks(n, &|start, len| {
            let dp = dp;
            // SAFETY: disjoint chunks of the fresh output.
            let d = unsafe { std::slice::from_raw_parts_mut(dp.0.add(start), len) };
            let r = start..start + len;
            map3(&pa[r.clone()], &pb[r.clone()], &pc[r], d, &f);
        });
        return Ok(out);
    }
    let out = Data::alloc(shape, U::DTYPE)?;
    let ostr = row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &ad.strides, &bd.strides, &cd.strides]);
    let last = |k: usize| st[k][st[k].len() - 1];
    let (ia, ib, ic) = (last(1), last(2), last(3));
    // Index from the start of the storage (negative strides may point below `offset`).
    let (pa, pb, pc) = (
        ad.host().as_slice::<A>(),
        bd.host().as_slice::<B>(),
        cd.host().as_slice::<C>(),
    );
    let (a0, b0, c0s) = (ad.offset as isize, bd.offset as isize, cd.offset as isize);
    let dp = SendPtr(out.host().as_mut_ptr() as *mut U);
    par_segments(&cs, &st, &|first, rows, c0, inner| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize + c0;
            // SAFETY: segments write disjoint ranges of the fresh output.
            let dst = unsafe { std::slice::from_raw_parts_mut(dp.0.add(o), inner) };
            let c = c0 as isize;
            let (ao, bo, co) = (
                a0 + w.offsets[1] + c * ia,
                b0 + w.offsets[2] + c * ib,
                c0s + w.offsets[3] + c * ic,
            );
            if ia == 1 && ib == 1 && ic == 1 {
                loops::map3(
                    &pa[ao as usize..][..inner],
                    &pb[bo as usize..][..inner],
                    &pc[co as usize..][..inner],
                    dst,
                    &f,
                );
            } else {
                for (i, d) in dst.iter_mut().enumerate() {
                    let ii = i as isize;
                    *d = f(
                        pa[(ao + ii * ia) as usize],
                        pb[(bo + ii * ib) as usize],
                        pc[(co + ii * ic) as usize],
                    );
                }
            }
            w.next_row();
        }
    });
    Ok(out)
}
