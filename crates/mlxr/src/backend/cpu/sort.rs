//! Sorting kernels on the CPU: stable sort / argsort along an axis, partition /
//! argpartition and searchsorted.
//!
//! Order: NumPy's (and MLX's) total order — NaNs last, `-0.0 == 0.0` (kept in input
//! order, the sorts being stable), complex numbers lexicographically by (real, imag)
//! with NaN-containing values last. Real dtypes are sorted through an order-preserving
//! unsigned key: lines of 32-bit keys up to 2^15 long with the AVX-512 quicksort of
//! `simd_sort.rs` where the CPU has it, everything else with an LSD radix sort (parallel
//! over lines, or MSD-split then parallel over buckets for one big line); equal keys of
//! distinct values (`-0.0` / `0.0`, NaN payloads) are put back in input order afterwards.
//! Complex numbers use a stable comparison sort.

// `v != v` is the NaN test of the generic element types (no `is_nan` on the trait), and
// the key buffers are sized with `set_len` because the sorts write every slot before reading.
#![allow(clippy::eq_op, clippy::uninit_vec)]

use super::strided::SendPtr;
use super::PAR_THRESHOLD;
use crate::array::Data;
use crate::backend::cpu::copy::contiguous_data;
use crate::dtype::Element;
use crate::error::Result;
use crate::{dispatch_all, Array, Complex32, Dtype};
use half::{bf16, f16};
use rayon::prelude::*;
use std::cmp::Ordering;

/// An unsigned radix key.
pub trait RadixKey: Copy + Send + Sync + Ord + Default + 'static {
    /// Number of key bits.
    const BITS: u32;
    /// The key as a u64.
    fn bits(self) -> u64;
    /// Sorts `v` ascending (equal keys being identical, the order among them does not
    /// matter), with `tmp` (at least as long) and `hist` as scratch: the radix sort, or
    /// for up to 2^15 32-bit keys the AVX-512 quicksort where the CPU has it.
    fn sort_keys(v: &mut [Self], tmp: &mut [Self], hist: &mut Vec<u32>) {
        if v.len() <= 96 {
            v.sort_unstable();
        } else {
            radix_sort_by(v, tmp, hist, |k: Self| k);
        }
    }
}
macro_rules! radix_key {
    ($($t:ty),*) => {$(
        impl RadixKey for $t {
            const BITS: u32 = <$t>::BITS;
            #[inline(always)]
            fn bits(self) -> u64 {
                self as u64
            }
        }
    )*};
}
radix_key!(u8, u16, u64);
impl RadixKey for u32 {
    const BITS: u32 = 32;
    #[inline(always)]
    fn bits(self) -> u64 {
        self as u64
    }
    fn sort_keys(v: &mut [u32], tmp: &mut [u32], hist: &mut Vec<u32>) {
        // The quicksort wins below ~2^15 keys (measured on AVX-512 Zen 4: 2.9 vs 6.2 ns
        // per key at 1000, 3.6 vs 3.8 at 16384, 4.1 vs 3.8 at 65536).
        if v.len() > 1 << 15 || !super::simd_sort::sort_u32(v, tmp) {
            if v.len() <= 96 {
                v.sort_unstable();
            } else {
                radix_sort_by(v, tmp, hist, |k: u32| k);
            }
        }
    }
}

/// Digit width (bits) and number of passes of a radix sort on `K`: 11-bit digits for
/// keys of 32 bits or more (fewer passes), 8-bit digits for narrower keys.
#[inline]
fn digits<K: RadixKey>() -> (u32, usize) {
    let d = if K::BITS >= 32 { 11 } else { 8 };
    (d, K::BITS.div_ceil(d) as usize)
}

/// The element order of sorting, as an order-preserving unsigned key (`None` for
/// complex, which is compared instead).
pub trait SortElem: Element {
    /// The key type (same size as the element).
    type K: RadixKey;
    /// The key: `a < b` in the sort order iff `key(a) < key(b)`; equal elements (e.g.
    /// `-0.0` and `0.0`, or two NaNs) get equal keys.
    fn key(self) -> Self::K;
    /// The element with key `k` (for floats, `+0.0` for the zero key and some NaN for
    /// the NaN key).
    fn from_key(k: Self::K) -> Self;
}

macro_rules! sort_uint {
    ($($t:ty),*) => {$(
        impl SortElem for $t {
            type K = $t;
            #[inline(always)]
            fn key(self) -> $t { self }
            #[inline(always)]
            fn from_key(k: $t) -> $t { k }
        }
    )*};
}
sort_uint!(u8, u16, u32, u64);
macro_rules! sort_int {
    ($($t:ty => $u:ty),*) => {$(
        impl SortElem for $t {
            type K = $u;
            #[inline(always)]
            fn key(self) -> $u { (self as $u) ^ (1 << (<$u>::BITS - 1)) }
            #[inline(always)]
            fn from_key(k: $u) -> $t { (k ^ (1 << (<$u>::BITS - 1))) as $t }
        }
    )*};
}
sort_int!(i8 => u8, i16 => u16, i32 => u32, i64 => u64);
impl SortElem for bool {
    type K = u8;
    #[inline(always)]
    fn key(self) -> u8 {
        self as u8
    }
    #[inline(always)]
    fn from_key(k: u8) -> bool {
        k != 0
    }
}
macro_rules! sort_float {
    ($($t:ty => $u:ty, $i:ty),*) => {$(
        impl SortElem for $t {
            type K = $u;
            #[inline(always)]
            fn key(self) -> $u {
                // Branchless: negative values flip every bit, others set the sign bit;
                // -0.0 maps to 0.0's key and every NaN to the largest key.
                let sign: $u = 1 << (<$u>::BITS - 1);
                let b = self.to_bits();
                let b = if b == sign { 0 } else { b };
                let k = b ^ ((((b as $i) >> (<$u>::BITS - 1)) as $u) | sign);
                if self.is_nan() { <$u>::MAX } else { k }
            }
            #[inline(always)]
            fn from_key(k: $u) -> $t {
                let sign: $u = 1 << (<$u>::BITS - 1);
                <$t>::from_bits(if k & sign != 0 { k ^ sign } else { !k })
            }
        }
    )*};
}
sort_float!(f32 => u32, i32, f64 => u64, i64, f16 => u16, i16, bf16 => u16, i16);

/// Stable sort of `v` by `key`, using `tmp` (at least as long as `v`) and `hist` as
/// scratch: an LSD radix sort over the key's digits (skipping digits equal for every
/// element); small inputs use the standard library's stable sort.
pub fn radix_sort_by<E: Copy, K: RadixKey>(
    v: &mut [E],
    tmp: &mut [E],
    hist: &mut Vec<u32>,
    key: impl Fn(E) -> K,
) {
    let n = v.len();
    if n <= 96 {
        v.sort_by_key(|&e| key(e));
        return;
    }
    let (d, passes) = digits::<K>();
    let nb = 1usize << d;
    let mask = (nb - 1) as u64;
    hist.clear();
    hist.resize(passes * nb, 0);
    for &e in v.iter() {
        let k = key(e).bits();
        for p in 0..passes {
            hist[p * nb + ((k >> (p as u32 * d)) & mask) as usize] += 1;
        }
    }
    let tmp = &mut tmp[..n];
    let mut in_tmp = false;
    for p in 0..passes {
        let h = &mut hist[p * nb..(p + 1) * nb];
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut acc = 0u32;
        for c in h.iter_mut() {
            let t = *c;
            *c = acc;
            acc += t;
        }
        let (src, dst): (&[E], &mut [E]) = if in_tmp {
            (&tmp[..], &mut v[..])
        } else {
            (&v[..], &mut tmp[..])
        };
        let shift = p as u32 * d;
        for &e in src {
            let dg = ((key(e).bits() >> shift) & mask) as usize;
            // SAFETY: the prefix sums give each element a distinct slot below n.
            unsafe {
                let slot = h.get_unchecked_mut(dg);
                *dst.get_unchecked_mut(*slot as usize) = e;
                *slot += 1;
            }
        }
        in_tmp = !in_tmp;
    }
    if in_tmp {
        v.copy_from_slice(tmp);
    }
}

/// A buffer of at least `n` elements of `K` carved out of `v` (contents unspecified).
fn key_buf<K: RadixKey>(v: &mut Vec<u64>, n: usize) -> &mut [K] {
    let words = (n * std::mem::size_of::<K>()).div_ceil(8);
    if v.len() < words {
        v.resize(words, 0);
    }
    // SAFETY: the u64 buffer is 8-aligned and long enough; K is a plain unsigned integer
    // valid for any bit pattern.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr() as *mut K, n) }
}

/// Sort a line of real values (read with `stride`) through their keys: transform,
/// radix sort the keys, transform back. The float keys merge `-0.0` with `0.0` and all
/// NaNs; when such values occur, the run of zeros and the trailing NaNs are rewritten
/// with the original values in input order, so the result equals a stable sort.
#[allow(clippy::too_many_arguments)]
fn sort_values_line<T: SortElem>(
    src: &[T],
    stride: usize,
    n: usize,
    kb: &mut Vec<u64>,
    kt: &mut Vec<u64>,
    hist: &mut Vec<u32>,
    out: SendPtr<T>,
    off: usize,
) {
    debug_assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<T::K>());
    let zk = T::default().key();
    let fl = T::DTYPE.is_floating();
    let mut special = false;
    // A contiguous line is sorted as keys in its own output slots (same size as the
    // elements); a strided one in scratch.
    let keys: &mut [T::K] = if stride == 1 {
        // SAFETY: the caller hands this line the n output slots at `off`; a key has the
        // element's size and any bit pattern is a valid key.
        let keys = unsafe { std::slice::from_raw_parts_mut(out.0.add(off) as *mut T::K, n) };
        for (x, &v) in keys.iter_mut().zip(&src[..n]) {
            *x = v.key();
            special |= fl && (*x == zk || v != v);
        }
        keys
    } else {
        let keys = key_buf::<T::K>(kb, n);
        for (k, x) in keys.iter_mut().enumerate() {
            let v = src[k * stride];
            *x = v.key();
            special |= fl && (*x == zk || v != v);
        }
        keys
    };
    let tmp = key_buf::<T::K>(kt, n);
    T::K::sort_keys(keys, tmp, hist);
    // Where the zeros start (computed while the keys are still there).
    let start = if special {
        keys.partition_point(|&k| k < zk)
    } else {
        0
    };
    // SAFETY: the caller hands each line its own output positions.
    unsafe {
        if stride == 1 {
            let o = out.0.add(off) as *mut T::K;
            for k in 0..n {
                *(o.add(k) as *mut T) = T::from_key(*o.add(k));
            }
        } else {
            for (k, &key) in keys.iter().enumerate() {
                *out.0.add(off + k * stride) = T::from_key(key);
            }
        }
    }
    if special {
        let zeros: Vec<T> = (0..n)
            .map(|k| src[k * stride])
            .filter(|v| v.key() == zk)
            .collect();
        let nans: Vec<T> = (0..n)
            .map(|k| src[k * stride])
            .filter(|v| *v != *v)
            .collect();
        // SAFETY: as above.
        unsafe {
            for (j, &z) in zeros.iter().enumerate() {
                *out.0.add(off + (start + j) * stride) = z;
            }
            for (j, &z) in nans.iter().enumerate() {
                *out.0.add(off + (n - nans.len() + j) * stride) = z;
            }
        }
    }
}

/// LSD radix sort of `v` on the lowest `bits` bits of `key`, in place (with `tmp` as
/// scratch, `hist` as a reusable counter buffer). Stable.
fn lsd_low_bits<E: Copy, K: RadixKey>(
    v: &mut [E],
    tmp: &mut [E],
    bits: u32,
    hist: &mut Vec<u32>,
    key: &impl Fn(E) -> K,
) {
    let n = v.len();
    if n <= 64 {
        v.sort_by_key(|&e| key(e).bits() & ((1u64 << bits) - 1));
        return;
    }
    let d = 11u32;
    let passes = bits.div_ceil(d) as usize;
    let nb = 1usize << d;
    let mask = (nb - 1) as u64;
    hist.clear();
    hist.resize(passes * nb, 0);
    for &e in v.iter() {
        let k = key(e).bits();
        for p in 0..passes {
            hist[p * nb + ((k >> (p as u32 * d)) & mask) as usize] += 1;
        }
    }
    let mut in_tmp = false;
    for p in 0..passes {
        let h = &mut hist[p * nb..(p + 1) * nb];
        if h.iter().any(|&c| c as usize == n) {
            continue;
        }
        let mut acc = 0u32;
        for c in h.iter_mut() {
            let t = *c;
            *c = acc;
            acc += t;
        }
        let (src, dst): (&[E], &mut [E]) = if in_tmp {
            (&tmp[..], &mut v[..])
        } else {
            (&v[..], &mut tmp[..n])
        };
        let shift = p as u32 * d;
        for &e in src {
            let dg = ((key(e).bits() >> shift) & mask) as usize;
            // SAFETY: the prefix sums give each element a distinct slot below n.
            unsafe {
                let slot = h.get_unchecked_mut(dg);
                *dst.get_unchecked_mut(*slot as usize) = e;
                *slot += 1;
            }
        }
        in_tmp = !in_tmp;
    }
    if in_tmp {
        v.copy_from_slice(&tmp[..n]);
    }
}

/// Parallel stable sort of one large slice by `key`, leaving the result in `out` (same
/// length; `v` is clobbered): one parallel MSD pass on the key's top 11 bits scatters
/// into `out`, then every bucket is LSD-sorted on the remaining bits in cache, in
/// parallel over buckets.
pub fn par_msd_sort_by<E: Copy + Send + Sync, K: RadixKey>(
    v: &mut [E],
    out: &mut [E],
    key: impl Fn(E) -> K + Sync + Send,
) {
    let n = v.len();
    let top = K::BITS.min(11);
    let low = K::BITS - top;
    let nb = 1usize << top;
    let tasks = (rayon::current_num_threads() * 4).max(1);
    let per = n.div_ceil(tasks).max(1);
    let digit = |e: E| (key(e).bits() >> low) as usize;
    let hists: Vec<Vec<usize>> = v
        .par_chunks(per)
        .map(|c| {
            let mut h = vec![0usize; nb];
            for &e in c {
                h[digit(e)] += 1;
            }
            h
        })
        .collect();
    let nch = hists.len();
    let mut offs = vec![vec![0usize; nb]; nch];
    let mut bounds = vec![0usize; nb + 1];
    let mut acc = 0usize;
    for dg in 0..nb {
        bounds[dg] = acc;
        for c in 0..nch {
            offs[c][dg] = acc;
            acc += hists[c][dg];
        }
    }
    bounds[nb] = acc;
    let dp = SendPtr(out.as_mut_ptr());
    v.par_chunks(per)
        .zip(offs.into_par_iter())
        .for_each(|(c, mut off)| {
            let dp = dp;
            for &e in c {
                let dg = digit(e);
                // SAFETY: offsets partition `out` among chunks and digits.
                unsafe { *dp.0.add(off[dg]) = e };
                off[dg] += 1;
            }
        });
    if low == 0 {
        return;
    }
    // Disjoint (bucket, scratch) slices, largest first for load balance.
    let mut parts: Vec<(&mut [E], &mut [E])> = Vec::with_capacity(nb);
    let (mut rest_o, mut rest_v): (&mut [E], &mut [E]) = (out, v);
    for dg in 0..nb {
        let len = bounds[dg + 1] - bounds[dg];
        let (a, b) = rest_o.split_at_mut(len);
        let (c, d) = rest_v.split_at_mut(len);
        rest_o = b;
        rest_v = d;
        if len > 1 {
            parts.push((a, c));
        }
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    parts
        .into_par_iter()
        .for_each_init(Vec::new, |hist, (bucket, scratch)| {
            lsd_low_bits(bucket, scratch, low, hist, &key);
        });
}

/// A (key, index) pair for argsort / argpartition.
#[derive(Clone, Copy, Default)]
#[repr(C)]
struct Keyed<K> {
    k: K,
    i: u32,
}

/// NaN-last lexicographic order of complex numbers.
#[inline]
fn cmp_complex(a: &Complex32, b: &Complex32) -> Ordering {
    let (an, bn) = (
        a.re.is_nan() || a.im.is_nan(),
        b.re.is_nan() || b.im.is_nan(),
    );
    match (an, bn) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            a.re.partial_cmp(&b.re)
                .unwrap_or(Ordering::Equal)
                .then(a.im.partial_cmp(&b.im).unwrap_or(Ordering::Equal))
        }
    }
}

/// What a line kernel computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineOp {
    Sort,
    ArgSort,
    Partition(usize),
    ArgPartition(usize),
}

/// Geometry of the lines along `axis` of a row-contiguous array.
struct Lines {
    n: usize,
    inner: usize,
    count: usize,
}

impl Lines {
    fn new(shape: &[usize], axis: usize) -> Lines {
        let n = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let outer: usize = shape[..axis].iter().product();
        Lines {
            n,
            inner,
            count: outer * inner,
        }
    }
    /// Offset of element 0 of line `l`.
    #[inline]
    fn start(&self, l: usize) -> usize {
        (l / self.inner) * self.n * self.inner + l % self.inner
    }
}

/// Sort (`arg == false`) or argsort (uint32 output) `x` along `axis`.
pub fn sort(x: &Array, axis: usize, arg: bool) -> Result<Data> {
    line_kernel(x, axis, if arg { LineOp::ArgSort } else { LineOp::Sort })
}

/// Partition (`arg == false`) or argpartition `x` along `axis` around `kth` (already
/// normalised): element `kth` is the one a sort would put there, smaller ones (in the
/// sort order) come before it, larger or equal ones after.
pub fn partition(x: &Array, axis: usize, kth: usize, arg: bool) -> Result<Data> {
    line_kernel(
        x,
        axis,
        if arg {
            LineOp::ArgPartition(kth)
        } else {
            LineOp::Partition(kth)
        },
    )
}

fn line_kernel(x: &Array, axis: usize, op: LineOp) -> Result<Data> {
    let shape = x.shape();
    let arg = matches!(op, LineOp::ArgSort | LineOp::ArgPartition(_));
    let out = Data::alloc(shape, if arg { Dtype::Uint32 } else { x.dtype() })?;
    if x.size() == 0 {
        return Ok(out);
    }
    let xd = contiguous_data(x)?;
    let lines = Lines::new(shape, axis);
    dispatch_all!(x.dtype(), T => {
        lines_typed::<T>(&xd, &out, &lines, op)
    });
    Ok(out)
}

/// Per-element-type entry: real dtypes go through keys, complex through comparisons.
trait LineSort: Element {
    fn run_line(
        src: &[Self],
        stride: usize,
        n: usize,
        op: LineOp,
        scratch: &mut Scratch<Self>,
        out: LineOut<Self>,
    );
    fn run_big(src: &[Self], op: LineOp, out: LineOut<Self>);
}

/// Where a line's results go.
#[derive(Clone, Copy)]
enum LineOut<T> {
    Values(SendPtr<T>, usize),
    Indices(SendPtr<u32>, usize),
}

/// Reusable per-thread buffers.
struct Scratch<T> {
    vals: Vec<T>,
    keyed: Vec<u64>,
    keyed_tmp: Vec<u64>,
    hist: Vec<u32>,
}

impl<T> Default for Scratch<T> {
    fn default() -> Self {
        Scratch {
            vals: Vec::new(),
            keyed: Vec::new(),
            keyed_tmp: Vec::new(),
            hist: Vec::new(),
        }
    }
}

#[inline]
unsafe fn write_line<T: Copy>(
    out: LineOut<T>,
    stride: usize,
    vals: Option<&[T]>,
    idx: Option<&mut dyn Iterator<Item = u32>>,
) {
    match out {
        LineOut::Values(p, off) => {
            let v = vals.expect("values");
            for (k, &x) in v.iter().enumerate() {
                *p.0.add(off + k * stride) = x;
            }
        }
        LineOut::Indices(p, off) => {
            let it = idx.expect("indices");
            for (k, i) in it.enumerate() {
                *p.0.add(off + k * stride) = i;
            }
        }
    }
}

impl<T: SortElem> LineSortKeyed for T {}

/// Real element types: sort by radix key.
trait LineSortKeyed: SortElem {
    fn keyed_line(
        src: &[Self],
        stride: usize,
        n: usize,
        op: LineOp,
        s: &mut Scratch<Self>,
        out: LineOut<Self>,
    ) {
        if let (LineOp::Sort, LineOut::Values(p, off)) = (op, out) {
            sort_values_line(
                src,
                stride,
                n,
                &mut s.keyed,
                &mut s.keyed_tmp,
                &mut s.hist,
                p,
                off,
            );
            return;
        }
        s.vals.clear();
        s.vals.extend((0..n).map(|k| src[k * stride]));
        match op {
            LineOp::Sort => unreachable!("handled above"),
            LineOp::Partition(kth) => {
                s.vals.select_nth_unstable_by_key(kth, |e| e.key());
                // SAFETY: as above.
                unsafe { write_line(out, stride, Some(&s.vals), None) };
            }
            LineOp::ArgSort | LineOp::ArgPartition(_) => {
                if Self::K::BITS <= 32 {
                    // Pack (key, index) in a u64 and sort on the key's bytes only.
                    s.keyed.clear();
                    s.keyed.extend(
                        s.vals
                            .iter()
                            .enumerate()
                            .map(|(i, &e)| (e.key().bits() << 32) | i as u64),
                    );
                    if let LineOp::ArgPartition(kth) = op {
                        s.keyed.select_nth_unstable(kth);
                    } else {
                        if s.keyed_tmp.len() < n {
                            s.keyed_tmp.resize(n, 0);
                        }
                        radix_sort_by(&mut s.keyed, &mut s.keyed_tmp, &mut s.hist, |e: u64| {
                            (e >> 32) as u32
                        });
                    }
                    let mut it = s.keyed.iter().map(|&e| e as u32);
                    // SAFETY: as above.
                    unsafe { write_line(out, stride, None, Some(&mut it)) };
                } else {
                    let mut kv: Vec<Keyed<Self::K>> = s
                        .vals
                        .iter()
                        .enumerate()
                        .map(|(i, &e)| Keyed {
                            k: e.key(),
                            i: i as u32,
                        })
                        .collect();
                    if let LineOp::ArgPartition(kth) = op {
                        kv.select_nth_unstable_by_key(kth, |e| (e.k, e.i));
                    } else {
                        let mut tmp = kv.clone();
                        radix_sort_by(&mut kv, &mut tmp, &mut s.hist, |e: Keyed<Self::K>| e.k);
                    }
                    let mut it = kv.iter().map(|e| e.i);
                    // SAFETY: as above.
                    unsafe { write_line(out, stride, None, Some(&mut it)) };
                }
            }
        }
    }
}

macro_rules! line_sort_real {
    ($($t:ty),*) => {$(
        impl LineSort for $t {
            fn run_line(src: &[Self], stride: usize, n: usize, op: LineOp, s: &mut Scratch<Self>, out: LineOut<Self>) {
                Self::keyed_line(src, stride, n, op, s, out)
            }
            fn run_big(src: &[Self], op: LineOp, out: LineOut<Self>) {
                big_keyed::<$t>(src, op, out)
            }
        }
    )*};
}
line_sort_real!(bool, u8, u16, u32, u64, i8, i16, i32, i64, f16, bf16, f32, f64);

/// One large contiguous line: parallel radix sort.
fn big_keyed<T: SortElem>(src: &[T], op: LineOp, out: LineOut<T>) {
    let n = src.len();
    match (op, out) {
        (LineOp::Sort, LineOut::Values(p, off)) => {
            let zk = T::default().key();
            let fl = T::DTYPE.is_floating();
            // Scratch for the scatter pass: a host buffer (huge pages, like outputs), or
            // a vector if that allocation fails.
            let hb = crate::buffer::HostBuffer::new(n * std::mem::size_of::<T::K>(), false).ok();
            let mut vb: Vec<u64> = Vec::new();
            let sorted: &mut [T::K] = match &hb {
                // SAFETY: a fresh 64-byte aligned buffer of n keys, used only here.
                Some(b) => unsafe {
                    std::slice::from_raw_parts_mut(b.as_mut_ptr() as *mut T::K, n)
                },
                None => key_buf::<T::K>(&mut vb, n),
            };
            let special = {
                // The keys go to the output slots first (a key has the element's size).
                // SAFETY: the output is a fresh buffer of n elements at `off`.
                let keys = unsafe { std::slice::from_raw_parts_mut(p.0.add(off) as *mut T::K, n) };
                let special = keys
                    .par_chunks_mut(1 << 14)
                    .zip(src.par_chunks(1 << 14))
                    .map(|(ks, vs)| {
                        let mut sp = false;
                        for (k, &v) in ks.iter_mut().zip(vs) {
                            *k = v.key();
                            sp |= fl && (*k == zk || v != v);
                        }
                        sp
                    })
                    .reduce(|| false, |a, b| a || b);
                par_msd_sort_by(keys, sorted, |k: T::K| k);
                special
            };
            // SAFETY: as above (the key view is no longer used).
            let d = unsafe { std::slice::from_raw_parts_mut(p.0.add(off), n) };
            d.par_chunks_mut(1 << 14)
                .zip(sorted.par_chunks(1 << 14))
                .for_each(|(d, ks)| {
                    for (d, &k) in d.iter_mut().zip(ks) {
                        *d = T::from_key(k);
                    }
                });
            if special {
                let zeros: Vec<T> = src.iter().copied().filter(|v| v.key() == zk).collect();
                let start = sorted.partition_point(|&k| k < zk);
                d[start..start + zeros.len()].copy_from_slice(&zeros);
                let nans: Vec<T> = src.iter().copied().filter(|v| *v != *v).collect();
                d[n - nans.len()..].copy_from_slice(&nans);
            }
        }
        (LineOp::ArgSort, LineOut::Indices(p, off)) => {
            // SAFETY: the output is a fresh buffer of n indices at `off`.
            let d = unsafe { std::slice::from_raw_parts_mut(p.0.add(off), n) };
            if T::K::BITS <= 32 {
                let mut kv: Vec<u64> = src
                    .par_iter()
                    .with_min_len(1 << 14)
                    .enumerate()
                    .map(|(i, &e)| (e.key().bits() << 32) | i as u64)
                    .collect();
                let mut sorted: Vec<u64> = Vec::with_capacity(n);
                // SAFETY: `par_msd_sort_by` writes every slot of `sorted`.
                unsafe { sorted.set_len(n) };
                let kbits = T::K::BITS;
                par_msd_sort_by(&mut kv, &mut sorted, move |e: u64| {
                    ((e >> 32) as u32) << (32 - kbits)
                });
                d.par_iter_mut()
                    .with_min_len(1 << 14)
                    .zip(sorted.par_iter())
                    .for_each(|(d, &e)| *d = e as u32);
            } else {
                let mut kv: Vec<Keyed<T::K>> = src
                    .par_iter()
                    .with_min_len(1 << 14)
                    .enumerate()
                    .map(|(i, &e)| Keyed {
                        k: e.key(),
                        i: i as u32,
                    })
                    .collect();
                let mut sorted = kv.clone();
                par_msd_sort_by(&mut kv, &mut sorted, |e: Keyed<T::K>| e.k);
                d.par_iter_mut()
                    .with_min_len(1 << 14)
                    .zip(sorted.par_iter())
                    .for_each(|(d, e)| *d = e.i);
            }
        }
        (op, out) => {
            let mut s = Scratch::default();
            T::keyed_line(src, 1, n, op, &mut s, out);
        }
    }
}

impl LineSort for Complex32 {
    fn run_line(
        src: &[Self],
        stride: usize,
        n: usize,
        op: LineOp,
        s: &mut Scratch<Self>,
        out: LineOut<Self>,
    ) {
        s.vals.clear();
        s.vals.extend((0..n).map(|k| src[k * stride]));
        match op {
            LineOp::Sort => {
                s.vals.sort_by(cmp_complex);
                // SAFETY: each line owns its output positions.
                unsafe { write_line(out, stride, Some(&s.vals), None) };
            }
            LineOp::Partition(kth) => {
                s.vals.select_nth_unstable_by(kth, cmp_complex);
                // SAFETY: as above.
                unsafe { write_line(out, stride, Some(&s.vals), None) };
            }
            LineOp::ArgSort | LineOp::ArgPartition(_) => {
                let v = &s.vals;
                let mut idx: Vec<u32> = (0..n as u32).collect();
                if let LineOp::ArgPartition(kth) = op {
                    idx.select_nth_unstable_by(kth, |&a, &b| {
                        cmp_complex(&v[a as usize], &v[b as usize]).then(a.cmp(&b))
                    });
                } else {
                    idx.sort_by(|&a, &b| cmp_complex(&v[a as usize], &v[b as usize]));
                }
                let mut it = idx.into_iter();
                // SAFETY: as above.
                unsafe { write_line(out, stride, None, Some(&mut it)) };
            }
        }
    }
    fn run_big(src: &[Self], op: LineOp, out: LineOut<Self>) {
        let mut s = Scratch::default();
        Self::run_line(src, 1, src.len(), op, &mut s, out);
    }
}

fn lines_typed<T: LineSort>(xd: &Data, out: &Data, lines: &Lines, op: LineOp) {
    let src = xd.slice::<T>();
    let arg = matches!(op, LineOp::ArgSort | LineOp::ArgPartition(_));
    let vp = SendPtr(out.host().as_mut_ptr() as *mut T);
    let ip = SendPtr(out.host().as_mut_ptr() as *mut u32);
    let mk_out = |off: usize| {
        if arg {
            LineOut::Indices(ip, off)
        } else {
            LineOut::Values(vp, off)
        }
    };
    let n = lines.n;
    let stride = lines.inner;
    if lines.count == 1 && n >= PAR_THRESHOLD {
        T::run_big(&src[..n], op, mk_out(0));
        return;
    }
    let total = lines.count * n;
    let body = |s: &mut Scratch<T>, l: usize| {
        let st = lines.start(l);
        T::run_line(&src[st..], stride, n, op, s, mk_out(st));
    };
    if total >= PAR_THRESHOLD / 4 && lines.count > 1 {
        let min_len = (4096 / n).max(1);
        (0..lines.count)
            .into_par_iter()
            .with_min_len(min_len)
            .for_each_init(Scratch::default, body);
    } else {
        let mut s = Scratch::default();
        (0..lines.count).for_each(|l| body(&mut s, l));
    }
}

/// NumPy's `searchsorted` on a sorted 1-D `a` (in the sort order above): for each value
/// of `v` (same dtype), the first index `i` with `v <= a[i]` (side left) or `v < a[i]`
/// (side right). Output: uint32 of `v`'s shape.
pub fn searchsorted(a: &Array, v: &Array, right: bool) -> Result<Data> {
    let out = Data::alloc(v.shape(), Dtype::Uint32)?;
    if v.size() == 0 {
        return Ok(out);
    }
    dispatch_all!(a.dtype(), T => {
        let av: Vec<T> = a.to_vec::<T>()?;
        let vv: Vec<T> = v.to_vec::<T>()?;
        let dp = SendPtr(out.host().as_mut_ptr() as *mut u32);
        let f = |i: usize| {
            let dp = dp;
            let r = T::search(&av, vv[i], right);
            // SAFETY: i < v.size(), the output's size.
            unsafe { *dp.0.add(i) = r as u32 };
        };
        if vv.len() >= 4096 {
            (0..vv.len()).into_par_iter().for_each(f);
        } else {
            (0..vv.len()).for_each(f);
        }
    });
    Ok(out)
}

/// Binary search in the sort order.
trait Search: Element {
    fn search(a: &[Self], x: Self, right: bool) -> usize;
}
macro_rules! search_real {
    ($($t:ty),*) => {$(
        impl Search for $t {
            fn search(a: &[Self], x: Self, right: bool) -> usize {
                let k = x.key();
                if right {
                    a.partition_point(|e| e.key() <= k)
                } else {
                    a.partition_point(|e| e.key() < k)
                }
            }
        }
    )*};
}
search_real!(bool, u8, u16, u32, u64, i8, i16, i32, i64, f16, bf16, f32, f64);
impl Search for Complex32 {
    fn search(a: &[Self], x: Self, right: bool) -> usize {
        if right {
            a.partition_point(|e| cmp_complex(e, &x) != Ordering::Greater)
        } else {
            a.partition_point(|e| cmp_complex(e, &x) == Ordering::Less)
        }
    }
}
