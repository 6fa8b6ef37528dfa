//! Matrix multiplication on the CPU: batched GEMM over operands of any strides (transposed,
//! sliced and broadcast operands are read in place, never copied first).
//!
//! f32, f16 and bf16 run through a packed GEMM with an AVX-512 micro-kernel when the
//! processor has AVX-512F (half types are converted to f32 while packing and accumulate in
//! f32; the result is rounded once). Without AVX-512, for small or vector-shaped products,
//! and for f64/complex64, the `gemm` crate does the work (it also takes arbitrary strides).
//!
//! The packed GEMM follows the usual blocking: a KC-deep slice of B is packed into
//! NR-column panels, an MC-row block of A into MR-row panels, and a 12×32 register tile is
//! accumulated per panel pair. Threads each take their own rectangle of C (no
//! synchronisation), split along rows or columns by a cost estimate. Packing converts and
//! transposes 16×16 blocks in registers, so row- or column-major operands pack equally fast.
//! The block sizes can be overridden for tuning with `MLXR_GEMM_KC`, `MLXR_GEMM_MC` and
//! `MLXR_GEMM_NC`.

use super::copy::copy_cast_into;
use super::strided::SendPtr;
use crate::array::Data;
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use num_complex::Complex32;
use rayon::prelude::*;
use std::cell::RefCell;

/// A read-only matrix view: the address of element `[0, 0]` and the row and column strides,
/// in elements (any sign, zero for broadcast axes).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<T> {
    /// Address of element `[0, 0]`.
    pub ptr: *const T,
    /// Elements between consecutive rows.
    pub rs: isize,
    /// Elements between consecutive columns.
    pub cs: isize,
}
// SAFETY: a `MatRef` is only read, and the data it points to outlives the kernel call.
unsafe impl<T> Send for MatRef<T> {}
unsafe impl<T> Sync for MatRef<T> {}

impl<T> MatRef<T> {
    /// The view of the block starting at row `i`, column `j`.
    #[inline]
    fn at(self, i: usize, j: usize) -> MatRef<T> {
        MatRef {
            // wrapping: zero-size or broadcast views may point anywhere inside the storage
            ptr: self
                .ptr
                .wrapping_offset(i as isize * self.rs + j as isize * self.cs),
            ..self
        }
    }
}

/// A writable matrix view (see [`MatRef`]); writers write disjoint elements.
#[derive(Clone, Copy, Debug)]
pub struct MatMut<T> {
    /// Address of element `[0, 0]`.
    pub ptr: *mut T,
    /// Elements between consecutive rows.
    pub rs: isize,
    /// Elements between consecutive columns.
    pub cs: isize,
}
// SAFETY: tasks write disjoint tiles of the destination.
unsafe impl<T> Send for MatMut<T> {}
unsafe impl<T> Sync for MatMut<T> {}

// ---- element conversion for packing -----------------------------------------------------

/// Element types the packed f32 GEMM reads (converted to f32 while packing).
pub trait PackElem: Element {
    /// Convert one element to f32.
    fn to_f32(self) -> f32;
    /// Convert a contiguous run to f32.
    fn run_to_f32(src: &[Self], dst: &mut [f32]);
}
impl PackElem for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn run_to_f32(src: &[Self], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }
}
impl PackElem for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    #[inline(always)]
    fn run_to_f32(src: &[Self], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
}
impl PackElem for bf16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    #[inline(always)]
    fn run_to_f32(src: &[Self], dst: &mut [f32]) {
        src.convert_to_f32_slice(dst);
    }
}

// ---- the packed f32 GEMM -----------------------------------------------------------------

/// Rows of a micro-tile (each row's A element is broadcast).
const MR: usize = 12;
/// Columns of a micro-tile (two AVX-512 vectors).
const NR: usize = 32;
/// Depth of a packed block (a B micro-panel of KC×NR floats stays in L1).
const KC: usize = 256;
/// Largest depth block the packing line buffers hold.
const KC_MAX: usize = 1024;
/// Most rows of a packed A block (MC×KC floats stay in L2).
const MC_MAX: usize = 20 * MR;
/// Most columns of a packed B block.
const NC: usize = 4096;

/// 64-byte aligned storage unit for packed panels.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Al([f32; 16]);

/// A 64-byte aligned buffer of at least `floats` floats, grown in `v` as needed.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn aligned_buf(v: &mut Vec<Al>, floats: usize) -> *mut f32 {
    let n = floats.div_ceil(16);
    if v.len() < n {
        v.resize(n, Al([0.0; 16]));
    }
    v.as_mut_ptr() as *mut f32
}

thread_local! {
    static A_PACK: RefCell<Vec<Al>> = const { RefCell::new(Vec::new()) };
}

/// Whether the packed AVX-512 GEMM can run on this processor.
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Pack rows `0..mc`, depth `0..kc` of `a` into MR-row panels: panel `ip` holds, for each
/// depth `p`, the MR elements `a[ip*MR + i, p]` (zero past `mc`).
///
/// # Safety
/// AVX-512F (on x86-64); `a` must be readable over the block; `dst` (64-byte aligned) must
/// hold `mc.div_ceil(MR) * MR * kc` floats.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
unsafe fn pack_a<T: PackElem>(a: MatRef<T>, mc: usize, kc: usize, dst: *mut f32) {
    let mut line = [0f32; KC_MAX];
    for ip in 0..mc.div_ceil(MR) {
        let i0 = ip * MR;
        let mr = MR.min(mc - i0);
        let panel = dst.add(ip * MR * kc);
        if a.cs == 1 || (a.rs != 1 && a.cs.abs() <= a.rs.abs()) {
            // rows are (nearly) contiguous: walk each row along the depth
            #[cfg(target_arch = "x86_64")]
            if a.cs == 1 && mr == MR {
                avx512::pack_a_rows(a.at(i0, 0), kc, panel);
                continue;
            }
            for i in 0..mr {
                let row = a.at(i0 + i, 0);
                if row.cs == 1 {
                    let src = std::slice::from_raw_parts(row.ptr, kc);
                    T::run_to_f32(src, &mut line[..kc]);
                    for (p, &v) in line[..kc].iter().enumerate() {
                        *panel.add(p * MR + i) = v;
                    }
                } else {
                    for p in 0..kc {
                        *panel.add(p * MR + i) =
                            (*row.ptr.wrapping_offset(p as isize * row.cs)).to_f32();
                    }
                }
            }
            for i in mr..MR {
                for p in 0..kc {
                    *panel.add(p * MR + i) = 0.0;
                }
            }
        } else {
            // columns are contiguous (a transposed operand) or strided
            #[cfg(target_arch = "x86_64")]
            if a.rs == 1 && mr == MR {
                avx512::pack_a_cols(a.at(i0, 0), kc, panel);
                continue;
            }
            for p in 0..kc {
                let col = a.at(i0, p);
                let d = std::slice::from_raw_parts_mut(panel.add(p * MR), MR);
                if col.rs == 1 {
                    T::run_to_f32(std::slice::from_raw_parts(col.ptr, mr), &mut d[..mr]);
                } else {
                    for (i, x) in d[..mr].iter_mut().enumerate() {
                        *x = (*col.ptr.wrapping_offset(i as isize * col.rs)).to_f32();
                    }
                }
                d[mr..].fill(0.0);
            }
        }
    }
}

/// Pack columns `j0..j0+nr` (at most NR), depth `0..kc` of `b` into one NR-column panel:
/// for each depth `p`, the NR elements `b[p, j0 + j]` (zero past `nr`).
///
/// # Safety
/// AVX-512F (on x86-64); `b` must be readable over the block; `dst` (64-byte aligned) must
/// hold `NR * kc` floats.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
unsafe fn pack_b_panel<T: PackElem>(b: MatRef<T>, kc: usize, nr: usize, dst: *mut f32) {
    if b.cs == 1 || (b.rs != 1 && b.cs.abs() <= b.rs.abs()) {
        for p in 0..kc {
            let row = b.at(p, 0);
            let d = std::slice::from_raw_parts_mut(dst.add(p * NR), NR);
            if row.cs == 1 {
                T::run_to_f32(std::slice::from_raw_parts(row.ptr, nr), &mut d[..nr]);
            } else {
                for (j, x) in d[..nr].iter_mut().enumerate() {
                    *x = (*row.ptr.wrapping_offset(j as isize * row.cs)).to_f32();
                }
            }
            d[nr..].fill(0.0);
        }
    } else {
        // columns are contiguous along the depth (a transposed operand) or strided
        #[cfg(target_arch = "x86_64")]
        if b.rs == 1 && nr == NR {
            avx512::pack_b_cols(b, kc, dst);
            return;
        }
        let mut line = [0f32; KC_MAX];
        for j in 0..nr {
            let col = b.at(0, j);
            if col.rs == 1 {
                T::run_to_f32(std::slice::from_raw_parts(col.ptr, kc), &mut line[..kc]);
            } else {
                for (p, x) in line[..kc].iter_mut().enumerate() {
                    *x = (*col.ptr.wrapping_offset(p as isize * col.rs)).to_f32();
                }
            }
            for (p, &v) in line[..kc].iter().enumerate() {
                *dst.add(p * NR + j) = v;
            }
        }
        for j in nr..NR {
            for p in 0..kc {
                *dst.add(p * NR + j) = 0.0;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{MatMut, MatRef, PackElem, MR, NR};
    use crate::dtype::Dtype;
    use std::arch::x86_64::*;

    /// Sixteen consecutive elements as f32.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load16<T: PackElem>(p: *const T) -> __m512 {
        match T::DTYPE {
            Dtype::Float16 => _mm512_cvtph_ps(_mm256_loadu_si256(p as *const __m256i)),
            Dtype::Bfloat16 => {
                let h = _mm512_cvtepu16_epi32(_mm256_loadu_si256(p as *const __m256i));
                _mm512_castsi512_ps(_mm512_slli_epi32::<16>(h))
            }
            _ => _mm512_loadu_ps(p as *const f32),
        }
    }

    /// Transpose a 16×16 block held as 16 row vectors.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn transpose16(r: &mut [__m512; 16]) {
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        for g in 0..4 {
            let b = 4 * g;
            r[b] = _mm512_shuffle_ps::<0x44>(t[b], t[b + 2]);
            r[b + 1] = _mm512_shuffle_ps::<0xEE>(t[b], t[b + 2]);
            r[b + 2] = _mm512_shuffle_ps::<0x44>(t[b + 1], t[b + 3]);
            r[b + 3] = _mm512_shuffle_ps::<0xEE>(t[b + 1], t[b + 3]);
        }
        for h in 0..2 {
            let b = 8 * h;
            for i in 0..4 {
                t[b + i] = _mm512_shuffle_f32x4::<0x88>(r[b + i], r[b + 4 + i]);
                t[b + 4 + i] = _mm512_shuffle_f32x4::<0xDD>(r[b + i], r[b + 4 + i]);
            }
        }
        for i in 0..8 {
            r[i] = _mm512_shuffle_f32x4::<0x88>(t[i], t[8 + i]);
            r[8 + i] = _mm512_shuffle_f32x4::<0xDD>(t[i], t[8 + i]);
        }
    }

    /// Pack one full MR-row panel of a row-contiguous A (`a.cs == 1`): for each depth `p`,
    /// the MR elements `a[0..MR, p]`.
    ///
    /// # Safety
    /// AVX-512F; `a` readable over `MR×kc`; `panel` holds `MR * kc` floats.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn pack_a_rows<T: PackElem>(a: MatRef<T>, kc: usize, panel: *mut f32) {
        let full = kc / 16 * 16;
        let mut r = [_mm512_setzero_ps(); 16];
        for p0 in (0..full).step_by(16) {
            for (i, v) in r.iter_mut().enumerate().take(MR) {
                *v = load16(a.ptr.wrapping_offset(i as isize * a.rs).add(p0));
            }
            for v in r.iter_mut().skip(MR) {
                *v = _mm512_setzero_ps();
            }
            transpose16(&mut r);
            for (q, v) in r.iter().enumerate() {
                _mm512_mask_storeu_ps(panel.add((p0 + q) * MR), (1 << MR) - 1, *v);
            }
        }
        for i in 0..MR {
            let row = a.ptr.wrapping_offset(i as isize * a.rs);
            for p in full..kc {
                *panel.add(p * MR + i) = (*row.add(p)).to_f32();
            }
        }
    }

    /// Pack one full MR-row panel of a column-contiguous A (`a.rs == 1`).
    ///
    /// # Safety
    /// AVX-512F; `a` readable over `MR×kc`; `panel` holds `MR * kc` floats.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn pack_a_cols<T: PackElem>(a: MatRef<T>, kc: usize, panel: *mut f32) {
        const MASK: u16 = (1 << MR) - 1;
        for p in 0..kc {
            let col = a.ptr.wrapping_offset(p as isize * a.cs);
            let v = if T::DTYPE == Dtype::Float32 {
                _mm512_maskz_loadu_ps(MASK, col as *const f32)
            } else {
                let mut tmp = [0u16; 16];
                std::ptr::copy_nonoverlapping(col as *const u16, tmp.as_mut_ptr(), MR);
                load16(tmp.as_ptr() as *const T)
            };
            _mm512_mask_storeu_ps(panel.add(p * MR), MASK, v);
        }
    }

    /// Pack one full NR-column panel of a column-contiguous B (`b.rs == 1`): for each depth
    /// `p`, the NR elements `b[p, 0..NR]`.
    ///
    /// # Safety
    /// AVX-512F; `b` readable over `kc×NR`; `dst` (64-byte aligned) holds `NR * kc` floats.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn pack_b_cols<T: PackElem>(b: MatRef<T>, kc: usize, dst: *mut f32) {
        let full = kc / 16 * 16;
        let mut r = [_mm512_setzero_ps(); 16];
        for h in 0..NR / 16 {
            for p0 in (0..full).step_by(16) {
                for (j, v) in r.iter_mut().enumerate() {
                    *v = load16(b.ptr.wrapping_offset((h * 16 + j) as isize * b.cs).add(p0));
                }
                transpose16(&mut r);
                for (q, v) in r.iter().enumerate() {
                    _mm512_store_ps(dst.add((p0 + q) * NR + h * 16), *v);
                }
            }
        }
        for j in 0..NR {
            let col = b.ptr.wrapping_offset(j as isize * b.cs);
            for p in full..kc {
                *dst.add(p * NR + j) = (*col.add(p)).to_f32();
            }
        }
    }

    /// `C[0..mr, 0..nr] = alpha * Ap·Bp + beta * C` for one micro-tile (`beta == 0` never
    /// reads C). `a` holds `kc` groups of MR floats, `b` `kc` groups of NR floats, both
    /// 64-byte aligned.
    ///
    /// # Safety
    /// The processor must have AVX-512F; the pointers must be valid as described.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn micro_kernel(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: MatMut<f32>,
        mr: usize,
        nr: usize,
        alpha: f32,
        beta: f32,
    ) {
        // Fetch the C tile while the products run (its rows are far apart in memory).
        for i in 0..mr {
            let p = c.ptr.wrapping_offset(i as isize * c.rs) as *const i8;
            _mm_prefetch::<_MM_HINT_T0>(p);
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(124));
        }
        let mut c0 = [_mm512_setzero_ps(); MR];
        let mut c1 = [_mm512_setzero_ps(); MR];
        let (mut a, mut b) = (a, b);
        for _ in 0..kc {
            let b0 = _mm512_load_ps(b);
            let b1 = _mm512_load_ps(b.add(16));
            for i in 0..MR {
                let ai = _mm512_set1_ps(*a.add(i));
                c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
            }
            a = a.add(MR);
            b = b.add(NR);
        }
        let va = _mm512_set1_ps(alpha);
        if mr == MR && nr == NR && c.cs == 1 {
            for i in 0..MR {
                let p = c.ptr.offset(i as isize * c.rs);
                let mut r0 = _mm512_mul_ps(c0[i], va);
                let mut r1 = _mm512_mul_ps(c1[i], va);
                if beta != 0.0 {
                    let vb = _mm512_set1_ps(beta);
                    r0 = _mm512_fmadd_ps(_mm512_loadu_ps(p), vb, r0);
                    r1 = _mm512_fmadd_ps(_mm512_loadu_ps(p.add(16)), vb, r1);
                }
                _mm512_storeu_ps(p, r0);
                _mm512_storeu_ps(p.add(16), r1);
            }
        } else {
            let mut t = [0f32; MR * NR];
            for i in 0..MR {
                _mm512_storeu_ps(t.as_mut_ptr().add(i * NR), _mm512_mul_ps(c0[i], va));
                _mm512_storeu_ps(t.as_mut_ptr().add(i * NR + 16), _mm512_mul_ps(c1[i], va));
            }
            for i in 0..mr {
                for j in 0..nr {
                    let p = c.ptr.offset(i as isize * c.rs + j as isize * c.cs);
                    let v = t[i * NR + j];
                    *p = if beta != 0.0 { v + beta * *p } else { v };
                }
            }
        }
    }
}

/// Block sizes (overridable for tuning through `MLXR_GEMM_KC/MC/NC`).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn blocking() -> (usize, usize, usize) {
    use std::sync::OnceLock;
    static B: OnceLock<(usize, usize, usize)> = OnceLock::new();
    *B.get_or_init(|| {
        let get = |name: &str, d: usize| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let kc = get("MLXR_GEMM_KC", KC).clamp(16, KC_MAX);
        let mc = get("MLXR_GEMM_MC", MC_MAX).max(MR) / MR * MR;
        let nc = get("MLXR_GEMM_NC", NC).max(NR) / NR * NR;
        (kc, mc, nc)
    })
}

thread_local! {
    static B_PACK: RefCell<Vec<Al>> = const { RefCell::new(Vec::new()) };
}

/// One thread's share of [`sgemm_packed`]: the whole product on the calling thread.
///
/// # Safety
/// As [`sgemm_packed`].
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm_serial<T: PackElem>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    c: MatMut<f32>,
    alpha: f32,
    beta: f32,
) {
    let (kcb, mcb, ncb) = blocking();
    A_PACK.with(|abuf| {
        B_PACK.with(|bbuf| {
            let mut abuf = abuf.borrow_mut();
            let mut bbuf = bbuf.borrow_mut();
            for jc in (0..n).step_by(ncb) {
                let nc = ncb.min(n - jc);
                let np = nc.div_ceil(NR);
                for pc in (0..k).step_by(kcb) {
                    let kc = kcb.min(k - pc);
                    let bp = aligned_buf(&mut bbuf, np * NR * kc);
                    for jp in 0..np {
                        let nr = NR.min(nc - jp * NR);
                        pack_b_panel(b.at(pc, jc + jp * NR), kc, nr, bp.add(jp * NR * kc));
                    }
                    let beta = if pc == 0 { beta } else { 1.0 };
                    for ic in (0..m).step_by(mcb) {
                        let mc = mcb.min(m - ic);
                        let mp = mc.div_ceil(MR);
                        let ap = aligned_buf(&mut abuf, mp * MR * kc);
                        pack_a(a.at(ic, pc), mc, kc, ap);
                        for jp in 0..np {
                            let j = jc + jp * NR;
                            let nr = NR.min(n - j);
                            let bpanel = bp.add(jp * NR * kc);
                            for ip in 0..mp {
                                let i = ic + ip * MR;
                                let ct = MatMut {
                                    ptr: c
                                        .ptr
                                        .wrapping_offset(i as isize * c.rs + j as isize * c.cs),
                                    ..c
                                };
                                avx512::micro_kernel(
                                    kc,
                                    ap.add(ip * MR * kc),
                                    bpanel,
                                    ct,
                                    MR.min(m - i),
                                    nr,
                                    alpha,
                                    beta,
                                );
                            }
                        }
                    }
                }
            }
        })
    });
}

/// Split `m×n` into a `tm×tn` grid of `threads` blocks (whole micro-tiles each), choosing
/// the split with the least estimated time per block: its padded multiply-adds plus the
/// packing of its rows of A and columns of B (each block packs both); column splits win
/// ties.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn thread_grid(m: usize, n: usize, k: usize, threads: usize) -> (usize, usize) {
    let (mp, np) = (m.div_ceil(MR), n.div_ceil(NR));
    let mut best = (usize::MAX, 1, 1);
    for tm in 1..=threads {
        if !threads.is_multiple_of(tm) {
            continue;
        }
        let tn = threads / tm;
        if tm > mp || tn > np {
            continue;
        }
        let (rows, cols) = (mp.div_ceil(tm) * MR, np.div_ceil(tn) * NR);
        // a micro-tile step does MR*NR multiply-adds in about MR cycles; packing costs
        // about half a cycle per element
        let cost = rows * cols * k / NR + (rows + cols) * k / 2;
        if cost < best.0 || (cost == best.0 && tn > best.2) {
            best = (cost, tm, tn);
        }
    }
    if best.0 == usize::MAX {
        (1, 1)
    } else {
        (best.1, best.2)
    }
}

/// `C = alpha * A·B + beta * C` in f32 with the packed AVX-512 kernel (`beta == 0` never
/// reads C), for an `m×k` A and a `k×n` B of element type `T`. Runs on up to `threads`
/// rayon threads, each computing its own block of C (no synchronisation in between).
///
/// # Safety
/// The processor must have AVX-512F ([`has_avx512`]); the views must be valid for the
/// given sizes and C's elements distinct; `m, n, k > 0`.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
pub unsafe fn sgemm_packed<T: PackElem>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    c: MatMut<f32>,
    alpha: f32,
    beta: f32,
    threads: usize,
) {
    // at least ~2^21 multiply-adds per thread
    let threads = threads.clamp(1, ((m * n * k) >> 21).max(1));
    let (tm, tn) = thread_grid(m, n, k, threads);
    if tm * tn == 1 {
        return sgemm_serial(m, n, k, a, b, c, alpha, beta);
    }
    let (mp, np) = (m.div_ceil(MR), n.div_ceil(NR));
    (0..tm * tn).into_par_iter().for_each(|t| {
        let (a, b, c) = (a, b, c);
        let (bi, bj) = (t / tn, t % tn);
        let i0 = (bi * mp / tm) * MR;
        let i1 = (((bi + 1) * mp / tm) * MR).min(m);
        let j0 = (bj * np / tn) * NR;
        let j1 = (((bj + 1) * np / tn) * NR).min(n);
        if i0 < i1 && j0 < j1 {
            let ct = MatMut {
                ptr: c
                    .ptr
                    .wrapping_offset(i0 as isize * c.rs + j0 as isize * c.cs),
                ..c
            };
            sgemm_serial(
                i1 - i0,
                j1 - j0,
                k,
                a.at(i0, 0),
                b.at(0, j0),
                ct,
                alpha,
                beta,
            );
        }
    });
}

// ---- dispatch ----------------------------------------------------------------------------

/// Whether the packed AVX-512 kernel should take an `m×k · k×n` product (large enough that
/// packing pays, not vector-shaped).
fn use_packed(m: usize, n: usize, k: usize) -> bool {
    m >= MR / 2 && n >= NR / 2 && k >= 8 && m * n * k >= 1 << 18 && has_avx512()
}

/// `C = beta_g * C + alpha_g * A·B` through the `gemm` crate (`read` false: C is not read).
///
/// # Safety
/// Views valid for the sizes; `T` one of f32, f64, Complex32, f16.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_crate<T: 'static + Copy>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    c: MatMut<T>,
    alpha: T,
    beta: T,
    read: bool,
    threads: usize,
) {
    let par = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // gemm's convention: dst = alpha*dst + beta*lhs*rhs.
    gemm::gemm(
        m, n, k, c.ptr, c.cs, c.rs, read, a.ptr, a.cs, a.rs, b.ptr, b.cs, b.rs, beta, alpha, false,
        false, false, par,
    );
}

/// One f32 product `C = alpha*A·B + beta*C`, packed kernel or `gemm` crate.
///
/// # Safety
/// As [`sgemm_packed`].
#[allow(clippy::too_many_arguments)]
unsafe fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<f32>,
    b: MatRef<f32>,
    c: MatMut<f32>,
    alpha: f32,
    beta: f32,
    threads: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if use_packed(m, n, k) {
        return sgemm_packed(m, n, k, a, b, c, alpha, beta, threads);
    }
    gemm_crate(m, n, k, a, b, c, alpha, beta, beta != 0.0, threads);
}

/// Copy an `r×s` strided matrix into a fresh row-major f32 buffer.
///
/// # Safety
/// `x` valid for `r×s` elements.
unsafe fn to_f32_dense<T: PackElem>(x: MatRef<T>, r: usize, s: usize) -> Vec<f32> {
    let mut v = vec![0f32; r * s];
    for i in 0..r {
        let row = x.at(i, 0);
        let d = &mut v[i * s..(i + 1) * s];
        if row.cs == 1 {
            T::run_to_f32(std::slice::from_raw_parts(row.ptr, s), d);
        } else {
            for (j, o) in d.iter_mut().enumerate() {
                *o = (*row.ptr.wrapping_offset(j as isize * row.cs)).to_f32();
            }
        }
    }
    v
}

/// Elements that can be rounded from f32 (the results of half-precision products).
trait FromF32: PackElem {
    fn from_f32_run(src: &[f32], dst: &mut [Self]);
}
impl FromF32 for f16 {
    fn from_f32_run(src: &[f32], dst: &mut [Self]) {
        dst.convert_from_f32_slice(src);
    }
}
impl FromF32 for bf16 {
    fn from_f32_run(src: &[f32], dst: &mut [Self]) {
        dst.convert_from_f32_slice(src);
    }
}

/// One half-precision product, accumulated in f32 and rounded once. `c` is row-major.
///
/// # Safety
/// As [`sgemm_packed`].
#[allow(clippy::too_many_arguments)]
unsafe fn hgemm<T: FromF32>(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<T>,
    b: MatRef<T>,
    c: *mut T,
    alpha: f32,
    beta: f32,
    threads: usize,
) {
    let cs = std::slice::from_raw_parts_mut(c, m * n);
    let mut acc = vec![0f32; m * n];
    if beta != 0.0 {
        T::run_to_f32(cs, &mut acc);
    }
    let cm = MatMut {
        ptr: acc.as_mut_ptr(),
        rs: n as isize,
        cs: 1,
    };
    #[cfg(target_arch = "x86_64")]
    let packed = use_packed(m, n, k);
    #[cfg(not(target_arch = "x86_64"))]
    let packed = false;
    if packed {
        #[cfg(target_arch = "x86_64")]
        sgemm_packed(m, n, k, a, b, cm, alpha, beta, threads);
    } else {
        let ad = to_f32_dense(a, m, k);
        let bd = to_f32_dense(b, k, n);
        let ar = MatRef {
            ptr: ad.as_ptr(),
            rs: k as isize,
            cs: 1,
        };
        let br = MatRef {
            ptr: bd.as_ptr(),
            rs: n as isize,
            cs: 1,
        };
        gemm_crate(m, n, k, ar, br, cm, alpha, beta, beta != 0.0, threads);
    }
    T::from_f32_run(&acc, cs);
}

/// Batched matrix product into `out`: `out[b] = alpha * a[b] @ b[b] + beta * out[b]` for
/// every batch index (`beta == 0`: `out` is not read). `a` has shape `batch + [m, k]`, `b`
/// `batch + [k, n]` (any strides, zero for broadcast batch axes); `out` is row-contiguous
/// of shape `batch + [m, n]`. Supported dtypes: f16, bf16, f32, f64, complex64 (`alpha` and
/// `beta` are real).
#[allow(clippy::too_many_arguments)]
pub fn matmul_into(
    a: &Data,
    b: &Data,
    out: &Data,
    batch: &[usize],
    m: usize,
    n: usize,
    k: usize,
    dtype: Dtype,
    alpha: f32,
    beta: f32,
) -> Result<()> {
    let nb: usize = batch.iter().product();
    if nb == 0 || m == 0 || n == 0 {
        return Ok(());
    }
    let nd = batch.len();
    // A product against one shared B whose A batch axes merge with A's rows is one tall
    // product: fold the batch into the rows (out is row-contiguous, so its rows merge too).
    if nb > 1 && (0..nd).all(|ax| batch[ax] == 1 || b.strides[ax] == 0) {
        let dims: Vec<(usize, isize)> = (0..=nd)
            .map(|ax| (if ax < nd { batch[ax] } else { m }, a.strides[ax]))
            .filter(|&(size, _)| size != 1)
            .collect();
        if dims.windows(2).all(|w| w[0].1 == w[1].1 * w[1].0 as isize) {
            let rs = dims.last().map_or(a.strides[nd], |d| d.1);
            let fa = Data {
                strides: vec![rs, a.strides[nd + 1]],
                ..a.clone()
            };
            let fb = Data {
                strides: b.strides[nd..].to_vec(),
                ..b.clone()
            };
            return matmul_into(&fa, &fb, out, &[], nb * m, n, k, dtype, alpha, beta);
        }
    }
    // Offsets of each batch element.
    let mut offs: Vec<(isize, isize)> = Vec::with_capacity(nb);
    let mut idx = vec![0usize; nd];
    for _ in 0..nb {
        let (mut oa, mut ob) = (a.offset as isize, b.offset as isize);
        for (ax, &i) in idx.iter().enumerate() {
            oa += i as isize * a.strides[ax];
            ob += i as isize * b.strides[ax];
        }
        offs.push((oa, ob));
        for ax in (0..nd).rev() {
            idx[ax] += 1;
            if idx[ax] < batch[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    let (ars, acs) = (a.strides[nd], a.strides[nd + 1]);
    let (brs, bcs) = (b.strides[nd], b.strides[nd + 1]);
    let threads = rayon::current_num_threads();
    // Many small products: one thread per product. Otherwise each product uses all threads.
    let per_item = threads == 1 || nb == 1 || m * n * k >= 1 << 20;
    let inner_threads = if per_item { threads } else { 1 };
    let out_ptr = SendPtr(out.host().as_mut_ptr());
    let out_off = out.offset;
    let a_base = SendPtr(a.host().as_mut_ptr());
    let b_base = SendPtr(b.host().as_mut_ptr());

    macro_rules! run {
        ($T:ty, $body:expr) => {{
            let item = |bi: usize| {
                let (ap, bp, op) = (a_base, b_base, out_ptr);
                let (oa, ob) = offs[bi];
                let am = MatRef::<$T> {
                    ptr: (ap.0 as *const $T).wrapping_offset(oa),
                    rs: ars,
                    cs: acs,
                };
                let bm = MatRef::<$T> {
                    ptr: (bp.0 as *const $T).wrapping_offset(ob),
                    rs: brs,
                    cs: bcs,
                };
                let cp = (op.0 as *mut $T).wrapping_add(out_off + bi * m * n);
                #[allow(clippy::redundant_closure_call)]
                ($body)(am, bm, cp);
            };
            if per_item {
                (0..nb).for_each(item);
            } else {
                (0..nb).into_par_iter().for_each(item);
            }
        }};
    }
    let cmat = |p| MatMut {
        ptr: p,
        rs: n as isize,
        cs: 1,
    };
    // SAFETY (all arms): the views cover the inputs' elements as described by their
    // strides; each batch element writes its own block of the fresh output.
    match dtype {
        Dtype::Float32 => run!(f32, |am, bm, cp| unsafe {
            sgemm(m, n, k, am, bm, cmat(cp), alpha, beta, inner_threads)
        }),
        Dtype::Float16 => run!(f16, |am, bm, cp| unsafe {
            hgemm::<f16>(m, n, k, am, bm, cp, alpha, beta, inner_threads)
        }),
        Dtype::Bfloat16 => run!(bf16, |am, bm, cp| unsafe {
            hgemm::<bf16>(m, n, k, am, bm, cp, alpha, beta, inner_threads)
        }),
        Dtype::Float64 => run!(f64, |am, bm, cp| unsafe {
            gemm_crate(
                m,
                n,
                k,
                am,
                bm,
                MatMut {
                    ptr: cp,
                    rs: n as isize,
                    cs: 1,
                },
                alpha as f64,
                beta as f64,
                beta != 0.0,
                inner_threads,
            )
        }),
        Dtype::Complex64 => run!(Complex32, |am, bm, cp| unsafe {
            gemm_crate(
                m,
                n,
                k,
                am,
                bm,
                MatMut {
                    ptr: cp,
                    rs: n as isize,
                    cs: 1,
                },
                Complex32::new(alpha, 0.0),
                Complex32::new(beta, 0.0),
                beta != 0.0,
                inner_threads,
            )
        }),
        d => {
            return Err(Error::Dtype(format!(
                "matmul: no CPU kernel for {d} (supported: float16, bfloat16, float32, float64, complex64)"
            )))
        }
    }
    Ok(())
}

/// Batched `out = alpha * a @ b + beta * c` (see [`matmul_into`]); `c` (optional) already
/// has the output's shape and dtype (broadcast views allowed). `k == 0` gives
/// `beta * c` (or zeros).
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    a: &Data,
    b: &Data,
    c: Option<&Data>,
    out_shape: &[usize],
    k: usize,
    dtype: Dtype,
    alpha: f32,
    beta: f32,
) -> Result<Data> {
    let nd = out_shape.len();
    let (m, n) = (out_shape[nd - 2], out_shape[nd - 1]);
    let beta = if c.is_some() { beta } else { 0.0 };
    let out = match c {
        Some(c) if beta != 0.0 => {
            let out = Data::alloc(out_shape, dtype)?;
            crate::dispatch_all!(dtype, T => copy_cast_into::<T, T>(c, out_shape, &out));
            out
        }
        _ => {
            if k == 0 {
                return Data::alloc_zeroed(out_shape, dtype);
            }
            Data::alloc(out_shape, dtype)?
        }
    };
    if k == 0 {
        // out = beta * c
        if beta != 1.0 {
            let total: usize = out_shape.iter().product();
            let p = out.host().as_mut_ptr();
            macro_rules! scale {
                ($T:ty, $f:expr) => {{
                    // SAFETY: `out` is fresh and holds `total` elements.
                    let s = unsafe { std::slice::from_raw_parts_mut(p as *mut $T, total) };
                    s.iter_mut().for_each($f);
                }};
            }
            match dtype {
                Dtype::Float32 => scale!(f32, |x| *x *= beta),
                Dtype::Float64 => scale!(f64, |x| *x *= beta as f64),
                Dtype::Float16 => scale!(f16, |x| *x = f16::from_f32(x.to_f32() * beta)),
                Dtype::Bfloat16 => scale!(bf16, |x| *x = bf16::from_f32(x.to_f32() * beta)),
                Dtype::Complex64 => scale!(Complex32, |x| *x *= beta),
                _ => {}
            }
        }
        return Ok(out);
    }
    matmul_into(
        a,
        b,
        &out,
        &out_shape[..nd - 2],
        m,
        n,
        k,
        dtype,
        alpha,
        beta,
    )?;
    Ok(out)
}
