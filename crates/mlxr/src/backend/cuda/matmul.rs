//! Matrix products on the GPU, the twin of backend/cpu/matmul.rs: `Matmul` and `AddMM`
//! through cuBLASLt for float32, float16, bfloat16 (both accumulating in float32),
//! float64 and complex64.
//!
//! Row-major products are computed as the column-major product `outᵀ = bᵀ · aᵀ`, so a
//! row-major operand is passed as is and a column-major (transposed) one with the
//! transpose flag: no copies for either layout, nor for sliced leading dimensions. Batch
//! axes that merge into one (count, stride) per operand, broadcast (stride 0) included,
//! run as one strided-batched call; an operand whose batch axes are not row-major (e.g.
//! attention heads of a transposed [B, L, H, D] view) is first copied row-contiguous so
//! that the call stays one, rather than one per outer batch. Operands with other strides (e.g. both strides non-unit) are first copied to
//! row-contiguous storage.
//!
//! float32 uses `CUBLAS_COMPUTE_32F` (full float32 precision, the CPU's results) by
//! default; `MLXR_CUDA_TF32=1` switches to TF32 tensor cores
//! (`CUBLAS_COMPUTE_32F_FAST_TF32`), which MLX's CUDA backend also offers as an opt-in
//! speed/precision trade-off.

use super::copy::copy_to_contiguous;
use super::{data_ptr, Gpu, RawStream};
use crate::array::{row_strides, Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use cudarc::cublaslt::result as lt;
use cudarc::cublaslt::sys;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, OnceLock};

/// Workspace given to cuBLASLt per call.
const WORKSPACE: usize = 32 << 20;

fn blas_err(e: lt::CublasError, what: &str) -> Error {
    Error::Device(format!("cuBLASLt {what} failed: {e:?}"))
}

/// Whether `MLXR_CUDA_TF32` asks for TF32 float32 products.
fn tf32() -> bool {
    static V: OnceLock<bool> = OnceLock::new();
    *V.get_or_init(|| {
        std::env::var("MLXR_CUDA_TF32")
            .map(|v| matches!(v.as_str(), "1" | "true" | "yes" | "on"))
            .unwrap_or(false)
    })
}

/// The cuBLASLt handle of a GPU (created once).
fn handle(g: &Gpu) -> Result<sys::cublasLtHandle_t> {
    static H: OnceLock<Mutex<HashMap<usize, usize>>> = OnceLock::new();
    super::libs::load_cublaslt()?;
    let mut m = H
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(&h) = m.get(&g.index) {
        return Ok(h as sys::cublasLtHandle_t);
    }
    let h = lt::create_handle().map_err(|e| blas_err(e, "cublasLtCreate"))?;
    m.insert(g.index, h as usize);
    Ok(h)
}

/// Whether cuBLASLt handles `dtype`.
pub fn supported(dtype: Dtype) -> bool {
    matches!(
        dtype,
        Dtype::Float32 | Dtype::Float16 | Dtype::Bfloat16 | Dtype::Float64 | Dtype::Complex64
    )
}

/// (data type, compute type, scale type).
fn types(
    dtype: Dtype,
) -> (
    sys::cudaDataType,
    sys::cublasComputeType_t,
    sys::cudaDataType,
) {
    use sys::cublasComputeType_t as C;
    use sys::cudaDataType as D;
    match dtype {
        Dtype::Float16 => (D::CUDA_R_16F, C::CUBLAS_COMPUTE_32F, D::CUDA_R_32F),
        Dtype::Bfloat16 => (D::CUDA_R_16BF, C::CUBLAS_COMPUTE_32F, D::CUDA_R_32F),
        Dtype::Float64 => (D::CUDA_R_64F, C::CUBLAS_COMPUTE_64F, D::CUDA_R_64F),
        Dtype::Complex64 => (D::CUDA_C_32F, C::CUBLAS_COMPUTE_32F, D::CUDA_C_32F),
        _ => {
            let c = if tf32() {
                C::CUBLAS_COMPUTE_32F_FAST_TF32
            } else {
                C::CUBLAS_COMPUTE_32F
            };
            (D::CUDA_R_32F, c, D::CUDA_R_32F)
        }
    }
}

/// One operand as cuBLASLt sees it (column-major): its layout rows/cols/ld and whether
/// it is transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Mat {
    rows: u64,
    cols: u64,
    ld: i64,
    trans: bool,
}

/// The column-major description of the transpose of a row-major-indexed `r × c` matrix
/// with strides `(rs, cs)` (what the `outᵀ = bᵀ aᵀ` formulation multiplies), or `None`
/// when neither layout fits.
fn transposed_view(r: usize, c: usize, rs: isize, cs: isize) -> Option<Mat> {
    // Row-major storage: the transpose is column-major c × r with ld = rs.
    if cs == 1 || c == 1 {
        let ld = if r == 1 { c.max(1) as isize } else { rs };
        if ld >= c.max(1) as isize {
            return Some(Mat {
                rows: c as u64,
                cols: r as u64,
                ld: ld as i64,
                trans: false,
            });
        }
    }
    // Column-major storage: column-major r × c with ld = cs, transposed.
    if rs == 1 || r == 1 {
        let ld = if c == 1 { r.max(1) as isize } else { cs };
        if ld >= r.max(1) as isize {
            return Some(Mat {
                rows: r as u64,
                cols: c as u64,
                ld: ld as i64,
                trans: true,
            });
        }
    }
    None
}

/// RAII wrappers of the cuBLASLt descriptors.
struct Layout(sys::cublasLtMatrixLayout_t);
impl Drop for Layout {
    fn drop(&mut self) {
        // SAFETY: created by create_matrix_layout, destroyed once.
        unsafe {
            let _ = lt::destroy_matrix_layout(self.0);
        }
    }
}
struct Desc(sys::cublasLtMatmulDesc_t);
impl Drop for Desc {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe {
            let _ = lt::destroy_matmul_desc(self.0);
        }
    }
}
struct Pref(sys::cublasLtMatmulPreference_t);
impl Drop for Pref {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe {
            let _ = lt::destroy_matmul_pref(self.0);
        }
    }
}

fn layout(dt: sys::cudaDataType, m: Mat, batch: usize, stride: i64) -> Result<Layout> {
    let l = Layout(
        lt::create_matrix_layout(dt, m.rows, m.cols, m.ld)
            .map_err(|e| blas_err(e, "cublasLtMatrixLayoutCreate"))?,
    );
    if batch > 1 {
        let count = batch as i32;
        // SAFETY: valid layout; the buffers hold the attribute's type.
        unsafe {
            lt::set_matrix_layout_attribute(
                l.0,
                sys::cublasLtMatrixLayoutAttribute_t::CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                &count as *const i32 as *const c_void,
                4,
            )
            .map_err(|e| blas_err(e, "cublasLtMatrixLayoutSetAttribute"))?;
            lt::set_matrix_layout_attribute(
                l.0,
                sys::cublasLtMatrixLayoutAttribute_t::CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                &stride as *const i64 as *const c_void,
                8,
            )
            .map_err(|e| blas_err(e, "cublasLtMatrixLayoutSetAttribute"))?;
        }
    }
    Ok(l)
}

/// Largest power of two (at most 256) dividing `v` (256 for 0).
fn align_of(v: u64) -> u32 {
    if v == 0 {
        256
    } else {
        (1u64 << v.trailing_zeros().min(8)) as u32
    }
}

/// A planned batched product (element strides of each batch axis for a, b, out).
struct Plan {
    m: usize,
    n: usize,
    k: usize,
    /// Merged batch axes: (size, a stride, b stride, out stride).
    batch: Vec<(usize, isize, isize, isize)>,
    a: Mat,
    b: Mat,
}

fn merge_batch(dims: &[(usize, isize, isize, isize)]) -> Vec<(usize, isize, isize, isize)> {
    let mut out: Vec<(usize, isize, isize, isize)> = Vec::new();
    for &d in dims {
        if d.0 == 1 {
            continue;
        }
        if let Some(l) = out.last_mut() {
            let n = d.0 as isize;
            if l.1 == d.1 * n && l.2 == d.2 * n && l.3 == d.3 * n {
                *l = (l.0 * d.0, d.1, d.2, d.3);
                continue;
            }
        }
        out.push(d);
    }
    out
}

/// What selects a cuBLASLt plan: the GPU, types, shapes, operand layouts, the merged
/// inner batch and the pointer alignments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct GemmKey {
    gpu: usize,
    dtype: Dtype,
    tf32: bool,
    m: usize,
    n: usize,
    k: usize,
    a: Mat,
    b: Mat,
    inner: (usize, isize, isize, isize),
    /// Alignments (bytes) of a, b and out.
    align: [u32; 3],
}

/// A ready cuBLASLt plan: descriptors, layouts and the chosen algorithm.
struct Prepared {
    desc: Desc,
    la: Layout,
    lb: Layout,
    lc: Layout,
    algo: sys::cublasLtMatmulAlgo_t,
}

// SAFETY: the descriptors are host objects that are never modified after creation;
// cuBLASLt allows concurrent calls reading them.
unsafe impl Send for Prepared {}
// SAFETY: as above.
unsafe impl Sync for Prepared {}

/// The plan of `key`, from the cache or created (descriptors + heuristic) and cached.
fn prepared(h: sys::cublasLtHandle_t, key: &GemmKey) -> Result<Arc<Prepared>> {
    static CACHE: OnceLock<Mutex<HashMap<GemmKey, Arc<Prepared>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(p) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        return Ok(Arc::clone(p));
    }
    let (dt, ct, st) = types(key.dtype);
    let (m, n, inner) = (key.m, key.n, key.inner);
    let count = inner.0;
    // Column-major: D (n × m, ld n) = op(B) (n × k) · op(A) (k × m).
    let la = layout(dt, key.b, count, inner.2 as i64)?;
    let lb = layout(dt, key.a, count, inner.1 as i64)?;
    let dmat = Mat {
        rows: n as u64,
        cols: m as u64,
        ld: n.max(1) as i64,
        trans: false,
    };
    let lc = layout(dt, dmat, count, inner.3 as i64)?;
    let desc =
        Desc(lt::create_matmul_desc(ct, st).map_err(|e| blas_err(e, "cublasLtMatmulDescCreate"))?);
    let ta: i32 = key.b.trans as i32;
    let tb: i32 = key.a.trans as i32;
    // SAFETY: valid descriptor; the values are cublasOperation_t (int32).
    unsafe {
        lt::set_matmul_desc_attribute(
            desc.0,
            sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_TRANSA,
            &ta as *const i32 as *const c_void,
            4,
        )
        .map_err(|e| blas_err(e, "cublasLtMatmulDescSetAttribute"))?;
        lt::set_matmul_desc_attribute(
            desc.0,
            sys::cublasLtMatmulDescAttributes_t::CUBLASLT_MATMUL_DESC_TRANSB,
            &tb as *const i32 as *const c_void,
            4,
        )
        .map_err(|e| blas_err(e, "cublasLtMatmulDescSetAttribute"))?;
    }
    let [al_a, al_b, al_o] = key.align;
    let pref =
        Pref(lt::create_matmul_pref().map_err(|e| blas_err(e, "cublasLtMatmulPreferenceCreate"))?);
    let ws_bytes = WORKSPACE as u64;
    {
        use sys::cublasLtMatmulPreferenceAttributes_t as P;
        let set = |attr: P, v: &[u8]| -> Result<()> {
            // SAFETY: valid preference; `v` holds the attribute's value.
            unsafe {
                lt::set_matmul_pref_attribute(pref.0, attr, v.as_ptr() as *const c_void, v.len())
            }
            .map_err(|e| blas_err(e, "cublasLtMatmulPreferenceSetAttribute"))
        };
        set(
            P::CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
            &ws_bytes.to_ne_bytes(),
        )?;
        set(
            P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
            &al_b.to_ne_bytes(),
        )?;
        set(
            P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
            &al_a.to_ne_bytes(),
        )?;
        set(
            P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
            &al_o.to_ne_bytes(),
        )?;
        set(
            P::CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
            &al_o.to_ne_bytes(),
        )?;
    }
    // SAFETY: all descriptors are valid.
    let heur = unsafe { lt::get_matmul_algo_heuristic(h, desc.0, la.0, lb.0, lc.0, lc.0, pref.0) }
        .map_err(|e| {
            // No algorithm for this layout: the caller falls back to the CPU.
            Error::Unsupported(format!(
                "cuBLASLt has no algorithm for this product ({}, m={m}, n={n}, k={}): {e:?}",
                key.dtype, key.k
            ))
        })?;
    let p = Arc::new(Prepared {
        desc,
        la,
        lb,
        lc,
        algo: heur.algo,
    });
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(*key, Arc::clone(&p));
    Ok(p)
}

/// `out = alpha * (a @ b) + beta * out` for device data of the planned shapes; `out` is
/// row-contiguous.
#[allow(clippy::too_many_arguments)]
fn gemm(
    g: &Gpu,
    stream: RawStream,
    dtype: Dtype,
    plan: &Plan,
    a: &Data,
    b: &Data,
    out: &Data,
    alpha: f32,
    beta: f32,
) -> Result<()> {
    let h = handle(g)?;
    let esz = dtype.size() as u64;
    let (m, n) = (plan.m, plan.n);
    let (inner, outer) = match plan.batch.split_last() {
        Some((l, rest)) => (*l, rest.to_vec()),
        None => ((1, 0, 0, 0), Vec::new()),
    };
    // Alignment of every pointer the call may form.
    let (pa, pb, po) = (data_ptr(a, dtype), data_ptr(b, dtype), data_ptr(out, dtype));
    let strides_or = |f: fn(&(usize, isize, isize, isize)) -> isize| -> u64 {
        plan.batch
            .iter()
            .map(|d| (f(d).unsigned_abs() as u64) * esz)
            .fold(0, |x, y| x | y)
    };
    let key = GemmKey {
        gpu: g.index,
        dtype,
        tf32: tf32(),
        m,
        n,
        k: plan.k,
        a: plan.a,
        b: plan.b,
        inner,
        align: [
            align_of(pa | strides_or(|d| d.1) | (plan.a.ld as u64 * esz)),
            align_of(pb | strides_or(|d| d.2) | (plan.b.ld as u64 * esz)),
            align_of(po | strides_or(|d| d.3) | (n as u64 * esz)),
        ],
    };
    let prep = prepared(h, &key)?;
    let ws = g.alloc_bytes(WORKSPACE, stream)?;
    // Scalars in the scale type.
    let (a32, b32) = (alpha, beta);
    let (a64, b64) = (alpha as f64, beta as f64);
    let (ac, bc) = ([alpha, 0.0f32], [beta, 0.0f32]);
    let (ap, bp): (*const c_void, *const c_void) = match dtype {
        Dtype::Float64 => (
            &a64 as *const f64 as *const c_void,
            &b64 as *const f64 as *const c_void,
        ),
        Dtype::Complex64 => (ac.as_ptr() as *const c_void, bc.as_ptr() as *const c_void),
        _ => (
            &a32 as *const f32 as *const c_void,
            &b32 as *const f32 as *const c_void,
        ),
    };
    // Loop over the outer batch axes (none when the batch merged into one axis).
    let n_outer: usize = outer.iter().map(|d| d.0).product();
    let mut idx = vec![0usize; outer.len()];
    for _ in 0..n_outer {
        let (mut oa, mut ob, mut oo) = (0isize, 0isize, 0isize);
        for (i, d) in outer.iter().enumerate() {
            oa += idx[i] as isize * d.1;
            ob += idx[i] as isize * d.2;
            oo += idx[i] as isize * d.3;
        }
        let off = |p: u64, o: isize| (p as i64 + o as i64 * esz as i64) as u64;
        // SAFETY: the pointers address live device buffers laid out as the layouts say;
        // the scalars outlive the (host-pointer-mode) call; the workspace is stream
        // ordered.
        unsafe {
            lt::matmul(
                h,
                prep.desc.0,
                ap,
                bp,
                off(pb, ob) as *const c_void,
                prep.la.0,
                off(pa, oa) as *const c_void,
                prep.lb.0,
                off(po, oo) as *const c_void,
                prep.lc.0,
                off(po, oo) as *mut c_void,
                prep.lc.0,
                &prep.algo,
                ws.ptr() as *mut c_void,
                WORKSPACE,
                stream.cu() as sys::cudaStream_t,
            )
        }
        .map_err(|e| blas_err(e, "cublasLtMatmul"))?;
        for ax in (0..outer.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < outer[ax].0 {
                break;
            }
            idx[ax] = 0;
        }
    }
    drop(ws);
    Ok(())
}

/// `alpha * (a @ b) + beta * c` on the GPU into fresh row-contiguous device data of
/// `out_shape` (batch + [m, n]); `a` is batch + [m, k], `b` batch + [k, n] (broadcast views
/// allowed), `c` (if any) of the output's shape. The dtype must be [`supported`].
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    g: &Gpu,
    stream: RawStream,
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
        Some(c) if beta != 0.0 => copy_to_contiguous(g, stream, c, out_shape, dtype, dtype)?,
        _ => g.alloc(out_shape, dtype, stream)?,
    };
    let nb: usize = out_shape[..nd - 2].iter().product();
    if nb == 0 || m == 0 || n == 0 {
        return Ok(out);
    }
    let mut a_shape = out_shape[..nd - 2].to_vec();
    a_shape.extend([m, k]);
    let mut b_shape = out_shape[..nd - 2].to_vec();
    b_shape.extend([k, n]);
    let mut a = a.clone();
    let mut b = b.clone();
    let mut av = transposed_view(m, k, a.strides[nd - 2], a.strides[nd - 1]);
    if av.is_none() {
        a = copy_to_contiguous(g, stream, &a, &a_shape, dtype, dtype)?;
        av = transposed_view(m, k, a.strides[nd - 2], a.strides[nd - 1]);
    }
    let mut bv = transposed_view(k, n, b.strides[nd - 2], b.strides[nd - 1]);
    if bv.is_none() {
        b = copy_to_contiguous(g, stream, &b, &b_shape, dtype, dtype)?;
        bv = transposed_view(k, n, b.strides[nd - 2], b.strides[nd - 1]);
    }
    let ostr = row_strides(out_shape);
    let batch_dims = |a: &Data, b: &Data| -> Vec<(usize, isize, isize, isize)> {
        (0..nd - 2)
            .map(|i| (out_shape[i], a.strides[i], b.strides[i], ostr[i]))
            .collect()
    };
    let mut batch = merge_batch(&batch_dims(&a, &b));
    if batch.len() > 1 {
        // The batch axes do not merge into one, so the product would loop over the outer
        // ones (a launch each: e.g. attention's [B, H] heads of a transposed view). Make
        // the operands whose batch axes are not laid out row-major row-contiguous (one
        // copy kernel each) so that one strided-batched call does the whole product.
        let bshape = &out_shape[..nd - 2];
        let brow = row_strides(bshape);
        let row_major = |d: &Data, mat: usize| {
            (0..nd - 2).all(|i| bshape[i] == 1 || d.strides[i] == brow[i] * mat as isize)
                || (0..nd - 2).all(|i| bshape[i] == 1 || d.strides[i] == 0)
        };
        if !row_major(&a, m * k) {
            a = copy_to_contiguous(g, stream, &a, &a_shape, dtype, dtype)?;
            av = transposed_view(m, k, a.strides[nd - 2], a.strides[nd - 1]);
        }
        if !row_major(&b, k * n) {
            b = copy_to_contiguous(g, stream, &b, &b_shape, dtype, dtype)?;
            bv = transposed_view(k, n, b.strides[nd - 2], b.strides[nd - 1]);
        }
        batch = merge_batch(&batch_dims(&a, &b));
    }
    let plan = Plan {
        m,
        n,
        k,
        batch,
        a: av.expect("a row-contiguous operand has a BLAS layout"),
        b: bv.expect("a row-contiguous operand has a BLAS layout"),
    };
    gemm(g, stream, dtype, &plan, &a, &b, &out, alpha, beta)?;
    Ok(out)
}

/// Evaluate `Matmul` (inputs a, b) or `AddMM` (inputs c, a, b) on the GPU; other dtypes,
/// empty inner dimensions and layouts cuBLASLt has no algorithm for use the CPU fallback.
pub fn matmul_gpu(
    p: &dyn crate::Primitive,
    inputs: &[Array],
    outputs: &[Array],
    scales: Option<(f32, f32)>,
) -> Result<()> {
    let out = &outputs[0];
    let (c, a, b) = match scales {
        Some(_) => (Some(&inputs[0]), &inputs[1], &inputs[2]),
        None => (None, &inputs[0], &inputs[1]),
    };
    let k = a.shape()[a.ndim() - 1];
    if !supported(out.dtype()) || k == 0 {
        return super::cpu_fallback(p, inputs, outputs);
    }
    let (alpha, beta) = scales.unwrap_or((1.0, 0.0));
    let (g, st) = super::resolve(out.stream())?;
    let cd = match c {
        Some(c) => Some(c.data()?),
        None => None,
    };
    let d = matmul(
        g,
        st,
        &a.data()?,
        &b.data()?,
        cd.as_ref(),
        out.shape(),
        k,
        out.dtype(),
        alpha,
        beta,
    );
    match d {
        Ok(d) => {
            out.set_data(d);
            Ok(())
        }
        // cuBLASLt found no algorithm (no product was queued): compute on the CPU.
        Err(Error::Unsupported(_)) => super::cpu_fallback(p, inputs, outputs),
        Err(e) => Err(e),
    }
}
