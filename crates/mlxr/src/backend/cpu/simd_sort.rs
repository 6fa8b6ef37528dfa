//! An AVX-512 quicksort of unsigned 32-bit keys, used by `sort.rs` for the keys of
//! 32-bit dtypes when the CPU has AVX-512F (detected at run time; other machines keep
//! the radix sort).
//!
//! The algorithm: partition around the median of 16 samples with compress-and-store, out
//! of place (the keys move between the output and a scratch buffer of the same length at
//! each level, so no load waits on the previous block's count; a counting pass first
//! fixes where the second part starts, so both parts take whole-vector stores); slices of
//! at most 128 keys are sorted in registers by a bitonic network (each vector sorted,
//! then vectors merged pairwise) and written to the output. Copies of a pivot that is
//! the minimum are split off in one extra pass, so inputs with few distinct values stay
//! linear per level; a recursion depth limit falls back to the standard library's
//! unstable sort (O(n log n) worst case). Unstable: callers sort keys whose equal values
//! are interchangeable.

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    type V = __m512i;

    /// Keys sorted in registers at the leaves of the recursion.
    const SMALL: usize = 128;

    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn cx(v: V, partner: V, take_max: __mmask16) -> V {
        let mn = _mm512_min_epu32(v, partner);
        let mx = _mm512_max_epu32(v, partner);
        _mm512_mask_blend_epi32(take_max, mn, mx)
    }

    /// Lane `i` gets lane `i ^ 1`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x1(v: V) -> V {
        _mm512_shuffle_epi32::<0xB1>(v)
    }
    /// Lane `i` gets lane `i ^ 2`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x2(v: V) -> V {
        _mm512_shuffle_epi32::<0x4E>(v)
    }
    /// Lane `i` gets lane `i ^ 3`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x3(v: V) -> V {
        _mm512_shuffle_epi32::<0x1B>(v)
    }
    /// Lane `i` gets lane `i ^ 4`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x4(v: V) -> V {
        _mm512_shuffle_i32x4::<0xB1>(v, v)
    }
    /// Lane `i` gets lane `i ^ 8`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x8(v: V) -> V {
        _mm512_shuffle_i32x4::<0x4E>(v, v)
    }
    /// Lane `i` gets lane `i ^ 7`.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn x7(v: V) -> V {
        _mm512_permutexvar_epi32(
            _mm512_setr_epi32(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8),
            v,
        )
    }
    /// Lanes reversed (lane `i` gets lane `i ^ 15`).
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn rev(v: V) -> V {
        _mm512_permutexvar_epi32(
            _mm512_setr_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
            v,
        )
    }

    /// Sorts the 16 lanes of one vector (bitonic network, 10 steps).
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn sort16(v: V) -> V {
        let v = cx(v, x1(v), 0xAAAA);
        let v = cx(v, x3(v), 0xCCCC);
        let v = cx(v, x1(v), 0xAAAA);
        let v = cx(v, x7(v), 0xF0F0);
        let v = cx(v, x2(v), 0xCCCC);
        let v = cx(v, x1(v), 0xAAAA);
        let v = cx(v, rev(v), 0xFF00);
        clean16(v)
    }

    /// The in-vector half-cleaners of a bitonic merge whose halves are each bitonic
    /// within 8 lanes (distances 4, 2, 1).
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn clean16(v: V) -> V {
        let v = cx(v, x4(v), 0xF0F0);
        let v = cx(v, x2(v), 0xCCCC);
        cx(v, x1(v), 0xAAAA)
    }

    /// Sorts a vector that is bitonic (distances 8, 4, 2, 1).
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn clean_full(v: V) -> V {
        clean16(cx(v, x8(v), 0xFF00))
    }

    /// Sorts `N` vectors as one sequence of `16 N` keys: each vector, then bitonic merges
    /// of blocks of 1, 2, 4, ... vectors.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    fn sort_vecs<const N: usize>(v: &mut [V; N]) {
        for x in v.iter_mut() {
            *x = sort16(*x);
        }
        let mut b = 1;
        while b < N {
            let mut s = 0;
            while s < N {
                for i in 0..b {
                    let r = rev(v[s + 2 * b - 1 - i]);
                    let a = v[s + i];
                    v[s + i] = _mm512_min_epu32(a, r);
                    v[s + 2 * b - 1 - i] = rev(_mm512_max_epu32(a, r));
                }
                let mut d = b / 2;
                while d >= 1 {
                    let mut t = s;
                    while t < s + 2 * b {
                        for i in 0..d {
                            let a = v[t + i];
                            let c = v[t + i + d];
                            v[t + i] = _mm512_min_epu32(a, c);
                            v[t + i + d] = _mm512_max_epu32(a, c);
                        }
                        t += 2 * d;
                    }
                    d /= 2;
                }
                for x in v[s..s + 2 * b].iter_mut() {
                    *x = clean_full(*x);
                }
                s += 2 * b;
            }
            b *= 2;
        }
    }

    /// Mask of the lanes of vector `i` that hold one of `n` keys.
    #[inline]
    fn lane_mask(n: usize, i: usize) -> __mmask16 {
        let c = n.saturating_sub(16 * i).min(16);
        ((1u32 << c) - 1) as __mmask16
    }

    /// Sorts `n <= 16 M` keys read at `src` into `dst` (may be `src`) in `N >= M`
    /// registers (missing lanes and the last `N - M` vectors padded with `u32::MAX`, which
    /// the compiler folds away).
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn sort_n<const N: usize, const M: usize>(src: *const u32, dst: *mut u32, n: usize) {
        let pad = _mm512_set1_epi32(-1);
        let mut v = [pad; N];
        for (i, x) in v.iter_mut().enumerate().take(M) {
            // SAFETY: masked lanes are not read.
            *x = unsafe {
                _mm512_mask_loadu_epi32(pad, lane_mask(n, i), src.add(16 * i) as *const i32)
            };
        }
        sort_vecs(&mut v);
        for (i, x) in v.iter().enumerate().take(M) {
            // SAFETY: masked lanes are not written.
            unsafe { _mm512_mask_storeu_epi32(dst.add(16 * i) as *mut i32, lane_mask(n, i), *x) };
        }
    }

    /// Sorts `n <= SMALL` keys read at `src` into `dst`.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn sort_small(src: *const u32, dst: *mut u32, n: usize) {
        // SAFETY: each variant reads and writes only the first n keys.
        unsafe {
            match n.div_ceil(16) {
                0 => {}
                1 if n == 1 => *dst = *src,
                1 => sort_n::<1, 1>(src, dst, n),
                2 => sort_n::<2, 2>(src, dst, n),
                3 => sort_n::<4, 3>(src, dst, n),
                4 => sort_n::<4, 4>(src, dst, n),
                5 => sort_n::<8, 5>(src, dst, n),
                6 => sort_n::<8, 6>(src, dst, n),
                7 => sort_n::<8, 7>(src, dst, n),
                8 => sort_n::<8, 8>(src, dst, n),
                9 => sort_n::<16, 9>(src, dst, n),
                10 => sort_n::<16, 10>(src, dst, n),
                11 => sort_n::<16, 11>(src, dst, n),
                12 => sort_n::<16, 12>(src, dst, n),
                13 => sort_n::<16, 13>(src, dst, n),
                14 => sort_n::<16, 14>(src, dst, n),
                15 => sort_n::<16, 15>(src, dst, n),
                _ => sort_n::<16, 16>(src, dst, n),
            }
        }
    }

    /// Partitions the `n` keys at `src` into `dst` (a different buffer): those with
    /// `x < pivot` (`x <= pivot` when `LE`) first, then the others, each part in input
    /// order; returns how many come first. Out of place, so that no load waits on the
    /// previous block's count; a counting pass first fixes where the second part starts,
    /// so both parts are written with whole-vector stores (the lanes past a block's
    /// keys are overwritten by the next block) and masked stores only at the two ends.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn partition<const LE: bool>(
        src: *const u32,
        dst: *mut u32,
        n: usize,
        pivot: u32,
    ) -> usize {
        let pv = _mm512_set1_epi32(pivot as i32);
        let (si, di) = (src as *const i32, dst as *mut i32);
        let below = |valid: __mmask16, x: V| {
            if LE {
                _mm512_mask_cmple_epu32_mask(valid, x, pv)
            } else {
                _mm512_mask_cmplt_epu32_mask(valid, x, pv)
            }
        };
        let full = n / 16 * 16;
        let rm = ((1u32 << (n - full)) - 1) as __mmask16;
        // SAFETY (whole block): loads read src[0..n]; the stores write dst[0..n] only
        // (whole-vector stores only where 16 lanes fit inside the part being written).
        unsafe {
            let mut k = 0usize;
            let mut i = 0;
            while i < full {
                k += below(0xFFFF, _mm512_loadu_epi32(si.add(i))).count_ones() as usize;
                i += 16;
            }
            if rm != 0 {
                k += below(rm, _mm512_maskz_loadu_epi32(rm, si.add(full))).count_ones() as usize;
            }
            if k == 0 || k == n {
                return k;
            }
            let mut l = 0usize;
            let mut r = k;
            let mut put = |x: V, valid: __mmask16| {
                let m = below(valid, x);
                let g = !m & valid;
                let c = m.count_ones() as usize;
                let cg = g.count_ones() as usize;
                let lo = _mm512_maskz_compress_epi32(m, x);
                let hi = _mm512_maskz_compress_epi32(g, x);
                if l + 16 <= k {
                    _mm512_storeu_epi32(di.add(l), lo);
                } else {
                    _mm512_mask_storeu_epi32(di.add(l), ((1u32 << c) - 1) as __mmask16, lo);
                }
                if r + 16 <= n {
                    _mm512_storeu_epi32(di.add(r), hi);
                } else {
                    _mm512_mask_storeu_epi32(di.add(r), ((1u32 << cg) - 1) as __mmask16, hi);
                }
                l += c;
                r += cg;
            };
            let mut i = 0;
            while i < full {
                put(_mm512_loadu_epi32(si.add(i)), 0xFFFF);
                i += 16;
            }
            if rm != 0 {
                put(_mm512_maskz_loadu_epi32(rm, si.add(full)), rm);
            }
            k
        }
    }

    /// The median of 16 keys spread over the `n > SMALL` keys at `p`.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn pivot(p: *const u32, n: usize) -> u32 {
        let step = n / 16;
        let mut s = [0u32; 16];
        for (i, x) in s.iter_mut().enumerate() {
            // SAFETY: step * i + step / 2 < n.
            *x = unsafe { *p.add(step * i + step / 2) };
        }
        // SAFETY: s holds 16 keys.
        let v = sort16(unsafe { _mm512_loadu_epi32(s.as_ptr() as *const i32) });
        // SAFETY: as above.
        unsafe { _mm512_storeu_epi32(s.as_mut_ptr() as *mut i32, v) };
        s[8]
    }

    /// Sorts the `n` keys that are at `out` (or at `tmp` when `in_tmp`) into `out`,
    /// with `tmp` (n keys) as scratch: each partition moves the keys to the other
    /// buffer, the leaves sort into `out`.
    #[target_feature(enable = "avx512f,popcnt")]
    unsafe fn qsort(
        mut out: *mut u32,
        mut tmp: *mut u32,
        mut n: usize,
        mut in_tmp: bool,
        mut depth: u32,
    ) {
        // SAFETY (whole body): out[0..n] and tmp[0..n] are the caller's buffers;
        // partitions split both the same way.
        unsafe {
            loop {
                let (src, dst) = if in_tmp { (tmp, out) } else { (out, tmp) };
                if n <= SMALL {
                    sort_small(src, out, n);
                    return;
                }
                if depth == 0 {
                    if in_tmp {
                        std::ptr::copy_nonoverlapping(tmp, out, n);
                    }
                    std::slice::from_raw_parts_mut(out, n).sort_unstable();
                    return;
                }
                depth -= 1;
                let pv = pivot(src, n);
                let k = partition::<false>(src, dst, n, pv);
                if k == 0 {
                    // The pivot is the minimum: its copies go first, already in order.
                    let e = partition::<true>(src, dst, n, pv);
                    std::slice::from_raw_parts_mut(out, e).fill(pv);
                    if e == n {
                        return;
                    }
                    out = out.add(e);
                    tmp = tmp.add(e);
                    n -= e;
                    in_tmp = !in_tmp;
                    continue;
                }
                in_tmp = !in_tmp;
                if k < n - k {
                    qsort(out, tmp, k, in_tmp, depth);
                    out = out.add(k);
                    tmp = tmp.add(k);
                    n -= k;
                } else {
                    qsort(out.add(k), tmp.add(k), n - k, in_tmp, depth);
                    n = k;
                }
            }
        }
    }

    /// Whether the AVX-512 sort can run on this CPU.
    pub fn available() -> bool {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("popcnt")
    }

    /// Sorts `v` ascending with `tmp` (at least as long) as scratch; requires
    /// `available()`.
    pub fn sort(v: &mut [u32], tmp: &mut [u32]) {
        assert!(available(), "AVX-512F required");
        assert!(tmp.len() >= v.len(), "scratch too short");
        let depth = 2 * (usize::BITS - v.len().leading_zeros()) + 4;
        // SAFETY: the CPU has AVX-512F (checked above); the sort stays inside `v` and
        // `tmp`.
        unsafe { qsort(v.as_mut_ptr(), tmp.as_mut_ptr(), v.len(), false, depth) }
    }
}

/// Sorts `v` ascending (unstable) with the vectorised quicksort when the CPU supports
/// it, with `tmp` (at least as long as `v`) as scratch; returns `false` (leaving `v`
/// unchanged) otherwise.
pub fn sort_u32(v: &mut [u32], tmp: &mut [u32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if avx512::available() {
        avx512::sort(v, tmp);
        return true;
    }
    let _ = (v, tmp);
    false
}
