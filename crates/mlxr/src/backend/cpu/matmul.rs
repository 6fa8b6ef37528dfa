//! Matrix multiplication on the CPU: batched GEMM over operands of any strides (transposed,
//! sliced and broadcast operands are read in place, never copied first).
//!
//! f32, f16 and bf16 run through a packed GEMM with an AVX-512 micro-kernel when the
//! processor has AVX-512F (half types are converted to f32 while packing and accumulate in
//! f32; the result is rounded once). Without AVX-512, for small or vector-shaped products,
//! and for f64/complex64, the `gemm` crate does the work (it also takes arbitrary strides).

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
/// Most rows of a packed A block (MC×KC floats stay in L2).
const MC_MAX: usize = 20 * MR;
/// Most columns of a packed B block.
const NC: usize = 4096;

/// 64-byte aligned storage unit for packed panels.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Al([f32; 16]);

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
/// `a` must be readable over the block; `dst` must hold `mc.div_ceil(MR) * MR * kc` floats.
unsafe fn pack_a<T: PackElem>(a: MatRef<T>, mc: usize, kc: usize, dst: *mut f32) {
    let mut line = [0f32; KC];
    for ip in 0..mc.div_ceil(MR) {
        let i0 = ip * MR;
        let mr = MR.min(mc - i0);
        let panel = dst.add(ip * MR * kc);
        if a.cs == 1 || (a.rs != 1 && a.cs.abs() <= a.rs.abs()) {
            // rows are (nearly) contiguous: walk each row along the depth
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
/// `b` must be readable over the block; `dst` must hold `NR * kc` floats.
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
        let mut line = [0f32; KC];
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
    use super::{MatMut, MR, NR};
    use std::arch::x86_64::*;

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

/// `C = alpha * A·B + beta * C` in f32 with the packed AVX-512 kernel (`beta == 0` never
/// reads C), for an `m×k` A and a `k×n` B of element type `T`. Runs on up to `threads`
/// rayon threads.
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
    let threads = threads.max(1);
    // Split the rows into blocks of at most MC_MAX (a multiple of MR), their count a
    // multiple of the thread count when there are enough rows.
    let mut mb = m.div_ceil(MC_MAX);
    if threads > 1 && m >= threads * MR * 4 {
        mb = mb.div_ceil(threads) * threads;
    }
    let mc = m.div_ceil(mb).div_ceil(MR) * MR;
    let mb = m.div_ceil(mc);
    let mut bbuf: Vec<Al> = Vec::new();
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        let np = nc.div_ceil(NR);
        // Column splits so that there are enough tasks for the threads.
        let ns = if threads > 1 && mb < 2 * threads {
            (2 * threads).div_ceil(mb).min(np)
        } else {
            1
        };
        let per = np.div_ceil(ns);
        let ns = np.div_ceil(per);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let bp = SendPtr(aligned_buf(&mut bbuf, np * NR * kc));
            let bsub = b.at(pc, jc);
            let pack = |jp: usize| {
                let bp = bp;
                let nr = NR.min(nc - jp * NR);
                pack_b_panel(bsub.at(0, jp * NR), kc, nr, bp.0.add(jp * NR * kc));
            };
            if threads > 1 && np > 1 {
                (0..np).into_par_iter().for_each(pack);
            } else {
                (0..np).for_each(pack);
            }
            let beta = if pc == 0 { beta } else { 1.0 };
            let task = |t: usize| {
                let (bp, c, a) = (bp, c, a);
                let (ib, js) = (t / ns, t % ns);
                let i0 = ib * mc;
                let mci = mc.min(m - i0);
                let mp = mci.div_ceil(MR);
                A_PACK.with(|buf| {
                    let mut buf = buf.borrow_mut();
                    let ap = aligned_buf(&mut buf, mp * MR * kc);
                    pack_a(a.at(i0, pc), mci, kc, ap);
                    for jp in js * per..((js + 1) * per).min(np) {
                        let j = jc + jp * NR;
                        let nr = NR.min(n - j);
                        let bpanel = bp.0.add(jp * NR * kc);
                        for ip in 0..mp {
                            let i = i0 + ip * MR;
                            let ct = MatMut {
                                ptr: c.ptr.wrapping_offset(i as isize * c.rs + j as isize * c.cs),
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
                });
            };
            let tasks = mb * ns;
            if threads > 1 && tasks > 1 {
                (0..tasks).into_par_iter().for_each(task);
            } else {
                (0..tasks).for_each(task);
            }
        }
    }
}

// ---- dispatch ----------------------------------------------------------------------------

/// Whether the packed AVX-512 kernel should take an `m×k · k×n` product (large enough that
/// packing pays, not vector-shaped).
fn use_packed(m: usize, n: usize, k: usize) -> bool {
    m >= MR / 2 && n >= NR / 2 && k >= 8 && m * n * k >= 1 << 15 && has_avx512()
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
        for ax in 0..nd {
            oa += idx[ax] as isize * a.strides[ax];
            ob += idx[ax] as isize * b.strides[ax];
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
