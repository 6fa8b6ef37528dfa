//! Reductions on the GPU, the twin of backend/cpu/reduce.rs: `Reduce` (sum, prod, max,
//! min, all, any over any set of axes, with the CPU's output dtypes: small integers sum
//! in 32 bits, f16/bf16 accumulate in f32) and `ArgReduce` (first index on ties, the
//! first NaN wins). Kernels in `kernels/reduce.cu`:
//!
//! - the input's axes split into kept axes (the outputs, collapsed) and reduced axes
//!   (sorted by decreasing stride, collapsed);
//! - a *row* kernel (one warp per output, lanes over the reduced elements, warp
//!   shuffles) when the innermost reduced axis is contiguous, a *column* kernel (one
//!   thread per output, adjacent threads on adjacent outputs) when the innermost kept
//!   axis is contiguous (reductions over leading axes) or the rows are short;
//! - when there are too few outputs to fill the GPU (all-reduces, tall columns), each
//!   output's elements are split into chunks whose partial accumulators go to a scratch
//!   buffer reduced by a second launch (two passes).

use super::kernels::{type_name, Group, MAX_NDIM, REDUCE};
use super::{data_ptr, Gpu, RawStream};
use crate::array::{Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitives::reduce::{ArgReduceOp, ReduceOp};
use std::ffi::c_void;

const IDX: [&str; 2] = ["int", "long long"];
/// Largest index a 32-bit kernel may compute.
const SMALL: usize = 1 << 30;

fn functor(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => "SumR",
        ReduceOp::Prod => "ProdR",
        ReduceOp::Max => "MaxR",
        ReduceOp::Min => "MinR",
        ReduceOp::And => "AndR",
        ReduceOp::Or => "OrR",
    }
}

/// (accumulator, output) dtypes of `op` on `input`, as the CPU.
pub fn acc_out(op: ReduceOp, input: Dtype) -> (Dtype, Dtype) {
    use Dtype::*;
    match op {
        ReduceOp::Sum | ReduceOp::Prod => match input {
            Bool | Int8 | Int16 | Int32 => (Int32, Int32),
            Uint8 | Uint16 | Uint32 => (Uint32, Uint32),
            Float16 => (Float32, Float16),
            Bfloat16 => (Float32, Bfloat16),
            d => (d, d),
        },
        ReduceOp::Max | ReduceOp::Min => (input, input),
        ReduceOp::And | ReduceOp::Or => (Bool, Bool),
    }
}

fn rname(kernel: &str, op: ReduceOp, input: Dtype, acc: Dtype, out: Dtype, idx: &str) -> String {
    format!(
        "mlxr::{kernel}<mlxr::{}<{}, {}>, {}, {}, {idx}>",
        functor(op),
        type_name(input),
        type_name(acc),
        type_name(input),
        type_name(out)
    )
}

/// The kernels of one (op, input dtype, index type): final, partial and second-pass
/// launches of both kernels.
fn group_names(op: ReduceOp, input: Dtype, idx: &str) -> Vec<String> {
    let (acc, out) = acc_out(op, input);
    let mut v = Vec::new();
    for k in ["reduce_row", "reduce_col"] {
        v.push(rname(k, op, input, acc, out, idx));
        v.push(rname(k, op, input, acc, acc, idx));
        v.push(rname(k, op, acc, acc, out, idx));
        v.push(rname(k, op, acc, acc, acc, idx));
    }
    v.dedup();
    let mut seen = Vec::new();
    v.retain(|n| {
        if seen.contains(n) {
            false
        } else {
            seen.push(n.clone());
            true
        }
    });
    v
}

const OPS: [ReduceOp; 6] = [
    ReduceOp::Sum,
    ReduceOp::Prod,
    ReduceOp::Max,
    ReduceOp::Min,
    ReduceOp::And,
    ReduceOp::Or,
];

fn arg_names(d: Dtype, idx: &str) -> Vec<String> {
    vec![
        format!("mlxr::arg_row<{}, {idx}>", type_name(d)),
        format!("mlxr::arg_col<{}, {idx}>", type_name(d)),
    ]
}

/// The compile groups of the reductions.
pub fn kernel_groups() -> Vec<Group> {
    let mut g = Vec::new();
    for idx in IDX {
        for op in OPS {
            for d in Dtype::ALL {
                g.push(Group {
                    program: &REDUCE,
                    names: group_names(op, d, idx),
                });
            }
        }
        for d in Dtype::ALL {
            g.push(Group {
                program: &REDUCE,
                names: arg_names(d, idx),
            });
        }
    }
    g
}

// ---- parameters ------------------------------------------------------------------------

/// `ReduceParams<Idx>` of reduce.cu, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct ReduceParams<I: Copy> {
    kshape: [I; MAX_NDIM],
    kstrides: [I; MAX_NDIM],
    rshape: [I; MAX_NDIM],
    rstrides: [I; MAX_NDIM],
    n_out: I,
    len: I,
    splits: I,
    chunk: I,
    kdim: i32,
    rdim: i32,
}

/// `ArgParams<Idx>` of reduce.cu.
#[repr(C)]
#[derive(Clone, Copy)]
struct ArgParams<I: Copy> {
    kshape: [I; MAX_NDIM],
    kstrides: [I; MAX_NDIM],
    n_out: I,
    len: I,
    stride: I,
    kdim: i32,
    is_max: i32,
}

/// A reduction's iteration space: kept dims and reduced dims `(size, stride)`.
#[derive(Clone, Debug)]
struct Plan {
    kept: Vec<(usize, isize)>,
    red: Vec<(usize, isize)>,
    n_out: usize,
    len: usize,
    splits: usize,
    chunk: usize,
}

/// Merge neighbouring dims (outer first) when the outer one steps over the inner one.
fn merge(dims: &[(usize, isize)]) -> Vec<(usize, isize)> {
    let mut out: Vec<(usize, isize)> = Vec::new();
    for &(n, s) in dims {
        if n == 1 {
            continue;
        }
        if let Some(last) = out.last_mut() {
            if last.1 == s * n as isize {
                *last = (last.0 * n, s);
                continue;
            }
        }
        out.push((n, s));
    }
    out
}

impl Plan {
    fn params<I: Copy + Default + TryFrom<i64>>(&self) -> ReduceParams<I> {
        let c = |v: i64| I::try_from(v).ok().unwrap_or_default();
        let mut p = ReduceParams {
            kshape: [I::default(); MAX_NDIM],
            kstrides: [I::default(); MAX_NDIM],
            rshape: [I::default(); MAX_NDIM],
            rstrides: [I::default(); MAX_NDIM],
            n_out: c(self.n_out as i64),
            len: c(self.len as i64),
            splits: c(self.splits as i64),
            chunk: c(self.chunk as i64),
            kdim: self.kept.len() as i32,
            rdim: self.red.len() as i32,
        };
        for (i, &(n, s)) in self.kept.iter().enumerate() {
            p.kshape[i] = c(n as i64);
            p.kstrides[i] = c(s as i64);
        }
        for (i, &(n, s)) in self.red.iter().enumerate() {
            p.rshape[i] = c(n as i64);
            p.rstrides[i] = c(s as i64);
        }
        p
    }
    /// Whether every index fits the 32-bit kernels.
    fn small(&self) -> bool {
        let span: usize = self
            .kept
            .iter()
            .chain(&self.red)
            .map(|&(n, s)| s.unsigned_abs() * (n.max(1) - 1))
            .sum();
        span < SMALL && self.n_out * self.splits < SMALL && self.len < SMALL
    }
}

#[allow(clippy::too_many_arguments)]
fn launch_reduce(
    g: &Gpu,
    stream: RawStream,
    name: &str,
    group: impl FnOnce() -> Vec<String>,
    plan: &Plan,
    x: u64,
    y: u64,
    threads: usize,
) -> Result<()> {
    let f = g.function(&REDUCE, name, group)?;
    let (mut xp, mut yp) = (x, y);
    let (mut p32, mut p64) = (plan.params::<i32>(), plan.params::<i64>());
    let pp = if plan.small() {
        &mut p32 as *mut _ as *mut c_void
    } else {
        &mut p64 as *mut _ as *mut c_void
    };
    g.launch(
        f,
        threads,
        stream,
        &mut [
            &mut xp as *mut u64 as *mut c_void,
            &mut yp as *mut u64 as *mut c_void,
            pp,
        ],
    )
}

/// Elements each thread of a split column reduction adds in sequence.
const COL_CHUNK: usize = 128;
/// The most column partials the final pass adds in sequence (more take another pass).
const COL_PASS: usize = 256;

/// Reduce device data `x` (of `shape`, dtype `input`) over the sorted, distinct `axes`
/// with `op` into fresh row-contiguous device data of the keepdims shape and dtype
/// `out_dtype` (the op's MLX output dtype).
#[allow(clippy::too_many_arguments)]
pub fn reduce(
    g: &Gpu,
    stream: RawStream,
    op: ReduceOp,
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    input: Dtype,
    out_dtype: Dtype,
) -> Result<Data> {
    let (acc, out) = acc_out(op, input);
    if out != out_dtype {
        return Err(Error::Dtype(format!(
            "reduce on the GPU: no {op:?} kernel from {input} to {out_dtype}"
        )));
    }
    let mut out_shape = shape.to_vec();
    for &a in axes {
        out_shape[a] = 1;
    }
    let od = g.alloc(&out_shape, out, stream)?;
    let n_out: usize = out_shape.iter().product();
    if n_out == 0 {
        return Ok(od);
    }
    let kept_raw: Vec<(usize, isize)> = (0..shape.len())
        .filter(|i| !axes.contains(i))
        .map(|i| (shape[i], x.strides[i]))
        .collect();
    let mut red_raw: Vec<(usize, isize)> = axes
        .iter()
        .map(|&i| (shape[i], x.strides[i]))
        .filter(|d| d.0 != 1)
        .collect();
    red_raw.sort_by_key(|d| std::cmp::Reverse(d.1.unsigned_abs()));
    let kept = merge(&kept_raw);
    let red = merge(&red_raw);
    if kept.len() > MAX_NDIM || red.len() > MAX_NDIM {
        return Err(Error::Unsupported(format!(
            "reduce on the GPU: the input has too many axes that cannot be merged (shape \
             {shape:?}); at most {MAX_NDIM} kept and {MAX_NDIM} reduced are supported"
        )));
    }
    let len: usize = red.iter().map(|d| d.0).product();
    let kin = kept.last().map_or(0, |d| d.1.unsigned_abs());
    let rin = red.last().map_or(0, |d| d.1.unsigned_abs());
    let row = len >= 32 && (rin == 1 || (kin != 1 && !kept.is_empty()) || kept.is_empty());
    let sm = g.sm_count as usize;
    let splits = if row {
        let target = sm * 32;
        if n_out >= target {
            1
        } else {
            (target / n_out).min(len / 512).max(1)
        }
    } else {
        let target = sm * 1024;
        if n_out >= target {
            1
        } else {
            (target / n_out).min(len / COL_CHUNK).max(1)
        }
    };
    let chunk = if len == 0 { 0 } else { len.div_ceil(splits) };
    let splits = if len == 0 { 1 } else { len.div_ceil(chunk) };
    let plan = Plan {
        kept,
        red,
        n_out,
        len,
        splits,
        chunk,
    };
    let kernel = if row { "reduce_row" } else { "reduce_col" };
    let threads = |p: &Plan| {
        if row {
            p.n_out * p.splits * 32
        } else {
            p.n_out * p.splits
        }
    };
    let idx = IDX[!plan.small() as usize];
    let xp = data_ptr(x, input);
    let yp = data_ptr(&od, out);
    if splits == 1 {
        let name = rname(kernel, op, input, acc, out, idx);
        launch_reduce(
            g,
            stream,
            &name,
            || group_names(op, input, idx),
            &plan,
            xp,
            yp,
            threads(&plan),
        )?;
        return Ok(od);
    }
    // Two passes: partial accumulators, then their reduction.
    let scratch = g.alloc(&[n_out * splits], acc, stream)?;
    let sp = data_ptr(&scratch, acc);
    let name = rname(kernel, op, input, acc, acc, idx);
    launch_reduce(
        g,
        stream,
        &name,
        || group_names(op, input, idx),
        &plan,
        xp,
        sp,
        threads(&plan),
    )?;
    // Column partials are [splits, n_out]: while there are more than COL_PASS of them,
    // reduce them by chunks of COL_CHUNK into fewer (each thread adds its chunk in
    // sequence, so short chunks keep float sums accurate: relative error ~ chunk * eps
    // per pass instead of splits * eps).
    let (mut scratch, mut sp, mut splits) = (scratch, sp, splits);
    while !row && splits > COL_PASS {
        let s2 = splits.div_ceil(COL_CHUNK);
        let plan2 = Plan {
            kept: vec![(n_out, 1)],
            red: vec![(splits, n_out as isize)],
            n_out,
            len: splits,
            splits: s2,
            chunk: COL_CHUNK,
        };
        let next = g.alloc(&[n_out * s2], acc, stream)?;
        let np = data_ptr(&next, acc);
        let idx2 = IDX[!plan2.small() as usize];
        launch_reduce(
            g,
            stream,
            &rname("reduce_col", op, acc, acc, acc, idx2),
            || group_names(op, input, idx2),
            &plan2,
            sp,
            np,
            n_out * s2,
        )?;
        (scratch, sp, splits) = (next, np, s2);
    }
    // Row partials are [n_out, splits]; column partials [splits, n_out].
    let second = if row {
        Plan {
            kept: vec![(n_out, splits as isize)],
            red: vec![(splits, 1)],
            n_out,
            len: splits,
            splits: 1,
            chunk: splits,
        }
    } else {
        Plan {
            kept: vec![(n_out, 1)],
            red: vec![(splits, n_out as isize)],
            n_out,
            len: splits,
            splits: 1,
            chunk: splits,
        }
    };
    let idx2 = IDX[!second.small() as usize];
    let name = rname(kernel, op, acc, acc, out, idx2);
    launch_reduce(
        g,
        stream,
        &name,
        || group_names(op, input, idx2),
        &second,
        sp,
        yp,
        threads(&second),
    )?;
    drop(scratch);
    Ok(od)
}

/// Index (uint32) of the first maximum (`op` ArgMax) or minimum along `axis` of device
/// data `x`, as fresh row-contiguous device data of the keepdims shape.
pub fn arg_reduce(
    g: &Gpu,
    stream: RawStream,
    op: ArgReduceOp,
    x: &Data,
    shape: &[usize],
    axis: usize,
    dtype: Dtype,
) -> Result<Data> {
    let mut out_shape = shape.to_vec();
    out_shape[axis] = 1;
    let od = g.alloc(&out_shape, Dtype::Uint32, stream)?;
    let n_out: usize = out_shape.iter().product();
    let n = shape[axis];
    if n_out == 0 {
        return Ok(od);
    }
    if n == 0 {
        return Err(Error::InvalidArgument(
            "arg_reduce: cannot reduce an empty axis".into(),
        ));
    }
    let kept_raw: Vec<(usize, isize)> = (0..shape.len())
        .filter(|&i| i != axis)
        .map(|i| (shape[i], x.strides[i]))
        .collect();
    let kept = merge(&kept_raw);
    if kept.len() > MAX_NDIM {
        return Err(Error::Unsupported(format!(
            "argmax/argmin on the GPU: too many axes that cannot be merged (shape {shape:?})"
        )));
    }
    let s = if n == 1 { 1 } else { x.strides[axis] };
    let kin = kept.last().map_or(0, |d| d.1.unsigned_abs());
    let row = n >= 32 && (s.unsigned_abs() == 1 || kin != 1);
    let span: usize = kept
        .iter()
        .chain(std::iter::once(&(n, s)))
        .map(|&(k, st)| st.unsigned_abs() * (k.max(1) - 1))
        .sum();
    let small = span < SMALL && n_out < SMALL && n < SMALL;
    let idx = IDX[!small as usize];
    let kernel = if row { "arg_row" } else { "arg_col" };
    let name = format!("mlxr::{kernel}<{}, {idx}>", type_name(dtype));
    let f = g.function(&REDUCE, &name, || arg_names(dtype, idx))?;
    fn params<I: Copy + Default + TryFrom<i64>>(
        kept: &[(usize, isize)],
        n_out: usize,
        n: usize,
        s: isize,
        is_max: bool,
    ) -> ArgParams<I> {
        let c = |v: i64| I::try_from(v).ok().unwrap_or_default();
        let mut p = ArgParams {
            kshape: [I::default(); MAX_NDIM],
            kstrides: [I::default(); MAX_NDIM],
            n_out: c(n_out as i64),
            len: c(n as i64),
            stride: c(s as i64),
            kdim: kept.len() as i32,
            is_max: is_max as i32,
        };
        for (i, &(k, st)) in kept.iter().enumerate() {
            p.kshape[i] = c(k as i64);
            p.kstrides[i] = c(st as i64);
        }
        p
    }
    let is_max = op == ArgReduceOp::ArgMax;
    let mut p32 = params::<i32>(&kept, n_out, n, s, is_max);
    let mut p64 = params::<i64>(&kept, n_out, n, s, is_max);
    let pp = if small {
        &mut p32 as *mut _ as *mut c_void
    } else {
        &mut p64 as *mut _ as *mut c_void
    };
    let (mut xp, mut yp) = (data_ptr(x, dtype), data_ptr(&od, Dtype::Uint32));
    let threads = if row { n_out * 32 } else { n_out };
    g.launch(
        f,
        threads,
        stream,
        &mut [
            &mut xp as *mut u64 as *mut c_void,
            &mut yp as *mut u64 as *mut c_void,
            pp,
        ],
    )?;
    Ok(od)
}

/// Evaluate `Reduce` (op `op` over `axes`) on the GPU of its output's stream.
pub fn reduce_gpu(op: ReduceOp, axes: &[usize], inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let (g, st) = super::resolve(outputs[0].stream())?;
    let o = reduce(
        g,
        st,
        op,
        &d,
        x.shape(),
        axes,
        x.dtype(),
        outputs[0].dtype(),
    )?;
    outputs[0].set_data(o);
    Ok(())
}

/// Evaluate `ArgReduce` (op `op` along `axis`) on the GPU of its output's stream.
pub fn arg_reduce_gpu(
    op: ArgReduceOp,
    axis: usize,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let x = &inputs[0];
    let d = x.data()?;
    let (g, st) = super::resolve(outputs[0].stream())?;
    let o = arg_reduce(g, st, op, &d, x.shape(), axis, x.dtype())?;
    outputs[0].set_data(o);
    Ok(())
}
