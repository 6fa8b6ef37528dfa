//! Softmax and log-sum-exp on the GPU, the twin of backend/cpu/softmax.rs. The kernels
//! (`kernels/softmax.cu`) take row-contiguous rows: one warp (rows of at most 1024
//! elements), a block holding the row in registers (aligned rows that fit: one read of
//! the row), or one block per row with an online max/sum.
//! Reductions over other axes (or non-contiguous rows) first copy the input with the
//! reduced axes moved innermost; softmax's output keeps that layout (the kept axes
//! outermost, as the CPU's). Real inputs compute in f32 (f64 for f64); complex64 runs
//! through the CPU fallback.

use super::copy::copy_to_contiguous;
use super::kernels::{type_name, Group, SOFTMAX};
use super::{data_ptr, Gpu, RawStream};
use crate::array::{layout_flags, row_strides, Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::ffi::c_void;
use std::sync::Arc;

const IDX: [&str; 2] = ["int", "long long"];
const SMALL: usize = 1 << 30;
/// Rows at most this long take one warp each (longer ones a block).
const WARP_ROW: usize = 1024;

/// The (input, output) dtype pairs with kernels: real inputs to themselves (integers
/// convert the float32 result back, as the CPU) and to float32; float64 to itself.
fn pairs() -> Vec<(Dtype, Dtype)> {
    let mut v = Vec::new();
    for d in Dtype::ALL {
        match d {
            Dtype::Complex64 => {}
            Dtype::Float64 | Dtype::Float32 => v.push((d, d)),
            _ => {
                v.push((d, d));
                v.push((d, Dtype::Float32));
            }
        }
    }
    v
}

fn compute(d: Dtype) -> Dtype {
    if d == Dtype::Float64 {
        Dtype::Float64
    } else {
        Dtype::Float32
    }
}

fn kname(kernel: &str, a: Dtype, o: Dtype, idx: &str) -> String {
    format!(
        "mlxr::{kernel}<{}, {}, {}, {idx}>",
        type_name(a),
        type_name(compute(a)),
        type_name(o)
    )
}

/// Packs per thread of the register-row softmax.
const PACKS: usize = 8;

fn reg_name(a: Dtype, o: Dtype, idx: &str) -> String {
    let k = kname("softmax_reg_rows", a, o, idx);
    format!("{}, {PACKS}>", &k[..k.len() - 1])
}

fn group_names(a: Dtype, o: Dtype, idx: &str) -> Vec<String> {
    vec![
        reg_name(a, o, idx),
        kname("softmax_rows", a, o, idx),
        kname("logsumexp_rows", a, o, idx),
        kname("softmax_warp_rows", a, o, idx),
        kname("logsumexp_warp_rows", a, o, idx),
    ]
}

/// The compile groups of softmax and log-sum-exp.
pub fn kernel_groups() -> Vec<Group> {
    IDX.iter()
        .flat_map(|idx| {
            pairs().into_iter().map(move |(a, o)| Group {
                program: &SOFTMAX,
                names: group_names(a, o, idx),
            })
        })
        .collect()
}

/// The floating dtypes with softmax-VJP kernels.
const VJP_DTYPES: [Dtype; 4] = [
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
];

fn vjp_names(t: Dtype, idx: &str) -> Vec<String> {
    ["softmax_vjp_warp_rows", "softmax_vjp_rows"]
        .iter()
        .map(|k| format!("mlxr::{k}<{}, {idx}>", type_name(t)))
        .collect()
}

/// The compile groups of the softmax VJP.
pub fn vjp_kernel_groups() -> Vec<Group> {
    IDX.iter()
        .flat_map(|idx| {
            VJP_DTYPES.iter().map(move |&t| Group {
                program: &SOFTMAX,
                names: vjp_names(t, idx),
            })
        })
        .collect()
}

/// Whether the GPU kernels handle (in, out).
pub fn supported(a: Dtype, o: Dtype) -> bool {
    pairs().contains(&(a, o))
}

/// `x` with the reduced `axes` innermost, as row-contiguous rows: (data, rows, len,
/// permutation). Copies unless the permuted view already is row-contiguous.
pub(crate) fn rows_of(
    g: &Gpu,
    stream: RawStream,
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    dtype: Dtype,
) -> Result<(Data, usize, usize, Vec<usize>)> {
    let perm: Vec<usize> = (0..shape.len())
        .filter(|i| !axes.contains(i))
        .chain(axes.iter().copied())
        .collect();
    let pshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let pstrides: Vec<isize> = perm.iter().map(|&p| x.strides[p]).collect();
    let (flags, _) = layout_flags(&pshape, &pstrides);
    let len: usize = axes.iter().map(|&a| shape[a]).product();
    let n: usize = shape.iter().product();
    let rows = n.checked_div(len).unwrap_or(0);
    let view = Data {
        strides: pstrides,
        flags,
        ..x.clone()
    };
    let d = if flags.row_contiguous {
        view
    } else {
        copy_to_contiguous(g, stream, &view, &pshape, dtype, dtype)?
    };
    Ok((d, rows, len, perm))
}

/// Strides of `shape` laid out in memory with its axes in the order `perm` (the layout
/// [`rows_of`] produces).
pub(crate) fn permuted_strides(shape: &[usize], perm: &[usize]) -> Vec<isize> {
    let pshape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let pstr = row_strides(&pshape);
    let mut strides = vec![0isize; shape.len()];
    for (i, &p) in perm.iter().enumerate() {
        strides[p] = pstr[i];
    }
    strides
}

#[allow(clippy::too_many_arguments)]
fn launch(
    g: &Gpu,
    stream: RawStream,
    kernel: &str,
    x: &Data,
    y: &Data,
    a: Dtype,
    o: Dtype,
    rows: usize,
    len: usize,
    mode: Option<i32>,
) -> Result<()> {
    if rows == 0 {
        return Ok(());
    }
    let small = rows * len < SMALL;
    let idx = IDX[!small as usize];
    let (mut xp, mut yp) = (data_ptr(x, a), data_ptr(y, o));
    // Rows that fit in registers as aligned 16-byte packs: one block of `threads` per row,
    // one read of the row. Short rows: one warp per row. Others: one block of 256.
    let v = 16 / a.size().min(16);
    let reg = kernel == "softmax_rows"
        && len > WARP_ROW
        && len.is_multiple_of(v)
        && len <= 1024 * PACKS * v
        && xp % 16 == 0
        && yp % (v * o.size()) as u64 == 0;
    let warp = len <= WARP_ROW;
    let mut reg = reg;
    if reg {
        // The register-row kernel needs one block of `threads` per row: only where the
        // compiled kernel allows that many threads (its register use decides).
        let threads = (len / v).div_ceil(PACKS).div_ceil(32) * 32;
        let f = g.function(&SOFTMAX, &reg_name(a, o, idx), || group_names(a, o, idx))?;
        reg = threads <= g.max_block(f)?;
    }
    let (name, block) = if reg {
        let threads = (len / v).div_ceil(PACKS).div_ceil(32) * 32;
        (reg_name(a, o, idx), threads.clamp(32, 1024))
    } else if warp {
        (kname(&kernel.replace("_rows", "_warp_rows"), a, o, idx), 32)
    } else {
        (kname(kernel, a, o, idx), 256)
    };
    let f = g.function(&SOFTMAX, &name, || group_names(a, o, idx))?;
    let (mut r32, mut l32, mut r64, mut l64) = (rows as i32, len as i32, rows as i64, len as i64);
    let mut m = mode.unwrap_or(0);
    let mut args: Vec<*mut c_void> = vec![
        &mut xp as *mut u64 as *mut c_void,
        &mut yp as *mut u64 as *mut c_void,
    ];
    if small {
        args.push(&mut r32 as *mut i32 as *mut c_void);
        args.push(&mut l32 as *mut i32 as *mut c_void);
    } else {
        args.push(&mut r64 as *mut i64 as *mut c_void);
        args.push(&mut l64 as *mut i64 as *mut c_void);
    }
    if mode.is_some() {
        args.push(&mut m as *mut i32 as *mut c_void);
    }
    if reg {
        g.launch_grid(f, rows.min(i32::MAX as usize), block, 0, stream, &mut args)
    } else {
        // One warp or one block of 256 per row (`launch` uses blocks of 256 threads).
        g.launch(f, rows * block, stream, &mut args)
    }
}

/// Softmax of device data `x` over the sorted, distinct `axes`, into fresh device data of
/// `out` whose layout has the reduced axes innermost. `precise` computes half inputs
/// without rounding intermediates (MLX's non-precise mode rounds them, as the CPU).
#[allow(clippy::too_many_arguments)]
pub fn softmax(
    g: &Gpu,
    stream: RawStream,
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    a: Dtype,
    o: Dtype,
    precise: bool,
) -> Result<Data> {
    if !supported(a, o) {
        return Err(Error::Dtype(format!(
            "softmax on the GPU: no kernel from {a} to {o}"
        )));
    }
    let mode = if precise || !matches!(a, Dtype::Float16 | Dtype::Bfloat16) {
        0
    } else if axes.len() == 1 && axes[0] + 1 == shape.len() {
        1
    } else {
        2
    };
    let (xd, rows, len, perm) = rows_of(g, stream, x, shape, axes, a)?;
    let n: usize = shape.iter().product();
    let strides = permuted_strides(shape, &perm);
    let buf = g.alloc(&[n], o, stream)?;
    let y = Data::with_layout(Arc::clone(&buf.storage), shape, strides, 0, Some(n));
    launch(
        g,
        stream,
        "softmax_rows",
        &xd,
        &y,
        a,
        o,
        rows,
        len,
        Some(mode),
    )?;
    Ok(y)
}

/// Log-sum-exp of device data `x` over the sorted, distinct `axes` into fresh
/// row-contiguous device data of the keepdims shape and dtype `o`.
#[allow(clippy::too_many_arguments)]
pub fn logsumexp(
    g: &Gpu,
    stream: RawStream,
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    a: Dtype,
    o: Dtype,
) -> Result<Data> {
    if !supported(a, o) {
        return Err(Error::Dtype(format!(
            "logsumexp on the GPU: no kernel from {a} to {o}"
        )));
    }
    let mut out_shape = shape.to_vec();
    for &ax in axes {
        out_shape[ax] = 1;
    }
    let y = g.alloc(&out_shape, o, stream)?;
    let (xd, rows, len, _) = rows_of(g, stream, x, shape, axes, a)?;
    if len == 0 {
        return Err(Error::InvalidArgument(
            "logsumexp on the GPU: the reduced axes are empty".into(),
        ));
    }
    launch(g, stream, "logsumexp_rows", &xd, &y, a, o, rows, len, None)?;
    Ok(y)
}

/// Evaluate `Softmax` (primitive `p`) on the GPU; complex inputs use the CPU fallback.
pub fn softmax_gpu(
    p: &dyn crate::Primitive,
    axes: &[usize],
    precise: bool,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let x = &inputs[0];
    let o = outputs[0].dtype();
    if !supported(x.dtype(), o) {
        return super::cpu_fallback(p, inputs, outputs);
    }
    let d = x.data()?;
    let (g, st) = super::resolve(outputs[0].stream())?;
    let y = softmax(g, st, &d, x.shape(), axes, x.dtype(), o, precise)?;
    outputs[0].set_data(y);
    Ok(())
}

/// Evaluate `LogSumExp` (primitive `p`) on the GPU; complex inputs (and empty reduced
/// axes) use the CPU fallback.
pub fn logsumexp_gpu(
    p: &dyn crate::Primitive,
    axes: &[usize],
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let x = &inputs[0];
    let o = outputs[0].dtype();
    let len: usize = axes.iter().map(|&a| x.shape()[a]).product();
    if !supported(x.dtype(), o) || len == 0 {
        return super::cpu_fallback(p, inputs, outputs);
    }
    let d = x.data()?;
    let (g, st) = super::resolve(outputs[0].stream())?;
    let y = logsumexp(g, st, &d, x.shape(), axes, x.dtype(), o)?;
    outputs[0].set_data(y);
    Ok(())
}

/// Evaluate `SoftmaxVjp` on the GPU: `g = s*c - s*sum(s*c)` over the last axis of `s`
/// (the softmax output) and `c` (the cotangent), both of one floating dtype; inputs that
/// are not row-contiguous are copied first.
pub fn softmax_vjp_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let (s, c) = (&inputs[0], &inputs[1]);
    let t = s.dtype();
    if !VJP_DTYPES.contains(&t) || c.dtype() != t {
        return Err(Error::Dtype(format!(
            "softmax_vjp on the GPU: no kernel for {t} and {}",
            c.dtype()
        )));
    }
    let (g, st) = super::resolve(outputs[0].stream())?;
    let shape = s.shape();
    let n: usize = shape.iter().product();
    let len = shape.last().copied().unwrap_or(1);
    let out = g.alloc(shape, t, st)?;
    if n == 0 || len == 0 {
        outputs[0].set_data(out);
        return Ok(());
    }
    let rows = n / len;
    let dense = |a: &Array| -> Result<Data> {
        let d = a.data()?;
        if d.flags.row_contiguous {
            Ok(d)
        } else {
            copy_to_contiguous(g, st, &d, a.shape(), t, t)
        }
    };
    let (sd, cd) = (dense(s)?, dense(c)?);
    let small = n < SMALL;
    let idx = IDX[!small as usize];
    let warp = len <= WARP_ROW;
    let names = vjp_names(t, idx);
    let f = g.function(&SOFTMAX, &names[!warp as usize], || vjp_names(t, idx))?;
    let (mut sp, mut cp, mut gp) = (data_ptr(&sd, t), data_ptr(&cd, t), data_ptr(&out, t));
    let (mut r32, mut l32, mut r64, mut l64) = (rows as i32, len as i32, rows as i64, len as i64);
    let mut args: Vec<*mut c_void> = vec![
        &mut sp as *mut u64 as *mut c_void,
        &mut cp as *mut u64 as *mut c_void,
        &mut gp as *mut u64 as *mut c_void,
    ];
    if small {
        args.push(&mut r32 as *mut i32 as *mut c_void);
        args.push(&mut l32 as *mut i32 as *mut c_void);
    } else {
        args.push(&mut r64 as *mut i64 as *mut c_void);
        args.push(&mut l64 as *mut i64 as *mut c_void);
    }
    // One warp or one block of 256 per row (`launch` uses blocks of 256 threads).
    let block = if warp { 32 } else { 256 };
    g.launch(f, rows * block, st, &mut args)?;
    outputs[0].set_data(out);
    Ok(())
}
