//! Array-creation kernels on the GPU, the twin of backend/cpu/creation.rs: fill (full,
//! zeros, ones), arange, linspace, eye and tri, each writing a fresh row-contiguous
//! output with the CPU's exact values (kernels in `kernels/creation.cu`).
//!
//! Float `arange` accumulates `start + step` step by step on the CPU, rounding every
//! step. When no step can round (start and step are multiples of a power of two `2^e`
//! and every value stays below `2^(precision + e)` and the dtype's largest value), the
//! values are `start + i·step` exactly and computed in parallel; otherwise one GPU
//! thread repeats the CPU's accumulation.

use super::copy::copy_to_contiguous;
use super::kernels::{type_name, Arg, Group, CREATION};
use super::{data_ptr, Gpu, RawStream};
use crate::array::{Array, Data};
use crate::backend::cpu::creation::f64_to_int_bits;
use crate::dtype::{Dtype, DtypeCategory, Element};
use crate::error::{Error, Result};

const IDX: [&str; 2] = ["int", "long long"];
/// Largest index a 32-bit kernel may compute.
const SMALL: usize = 1 << 30;

/// The unsigned integer type of an element width (copies and fills move bytes only).
pub(crate) fn bytes_type(size: usize) -> Result<&'static str> {
    Ok(match size {
        1 => "mlxr::u8",
        2 => "mlxr::u16",
        4 => "mlxr::u32",
        8 => "mlxr::u64",
        s => {
            return Err(Error::Unsupported(format!(
                "no GPU copy kernel for {s}-byte elements"
            )))
        }
    })
}

fn fill_names(idx: &str) -> Vec<String> {
    [1, 2, 4, 8]
        .iter()
        .map(|&s| format!("mlxr::fill<{}, {idx}>", bytes_type(s).expect("a width")))
        .collect()
}

/// The kernels of one output dtype and index type.
fn dtype_names(d: Dtype, idx: &str) -> Vec<String> {
    let t = type_name(d);
    let mut v = vec![
        format!("mlxr::linspace_f32<{t}, {idx}>"),
        format!("mlxr::eye_tri<{t}, {idx}>"),
    ];
    match d.category() {
        DtypeCategory::Bool => {}
        DtypeCategory::SignedInteger | DtypeCategory::UnsignedInteger => {
            v.push(format!("mlxr::arange_int<{t}, {idx}>"))
        }
        DtypeCategory::Floating | DtypeCategory::ComplexFloating => {
            v.push(format!("mlxr::arange_fast<{t}, {idx}>"));
            v.push(format!("mlxr::arange_seq<{t}, {idx}>"));
        }
    }
    if d == Dtype::Float64 {
        v.push(format!("mlxr::linspace_f64<{idx}>"));
    }
    v
}

/// The compile groups of the creation kernels: the fills, then one group per dtype.
pub fn kernel_groups() -> Vec<Group> {
    let mut g = Vec::new();
    for idx in IDX {
        g.push(Group {
            program: &CREATION,
            names: fill_names(idx),
        });
        for d in Dtype::ALL {
            g.push(Group {
                program: &CREATION,
                names: dtype_names(d, idx),
            });
        }
    }
    g
}

fn idx_of(wide: bool) -> &'static str {
    IDX[wide as usize]
}

/// A fresh row-contiguous array of `shape` whose every element is the single element of
/// device data `value` (of `dtype`, any layout).
pub fn fill(
    g: &Gpu,
    stream: RawStream,
    value: &Data,
    shape: &[usize],
    dtype: Dtype,
) -> Result<Data> {
    let od = g.alloc(shape, dtype, stream)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(od);
    }
    let width = dtype.size();
    let wide = n >= SMALL;
    let idx = idx_of(wide);
    let name = format!("mlxr::fill<{}, {idx}>", bytes_type(width)?);
    let f = g.function(&CREATION, &name, || fill_names(idx))?;
    let yp = data_ptr(&od, dtype);
    let vec = yp.is_multiple_of(16);
    let units = if vec { n.div_ceil(16 / width) } else { n };
    g.launch_with(
        f,
        units,
        stream,
        wide,
        &[
            Arg::Ptr(data_ptr(value, dtype)),
            Arg::Ptr(yp),
            Arg::Idx(n as i64),
            Arg::I32(vec as i32),
        ],
    )?;
    Ok(od)
}

/// Precision (significand bits) and largest finite value of a float dtype (complex64:
/// of its float32 parts).
fn float_format(d: Dtype) -> (i32, f64) {
    match d {
        Dtype::Float16 => (11, 65504.0),
        Dtype::Bfloat16 => (8, 3.3895313892515355e38),
        Dtype::Float64 => (53, f64::MAX),
        _ => (24, f32::MAX as f64),
    }
}

/// `2^k` as an f64 (0 below the subnormals, infinity above the largest power).
fn pow2(k: i32) -> f64 {
    if k > 1023 {
        f64::INFINITY
    } else if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else if k >= -1074 {
        f64::from_bits(1u64 << (k + 1074))
    } else {
        0.0
    }
}

/// The exponent of the lowest set bit of a finite non-zero `x` (`x = odd · 2^e`).
fn low_bit(x: f64) -> i32 {
    let b = x.to_bits();
    let e_raw = ((b >> 52) & 0x7ff) as i32;
    let frac = b & ((1u64 << 52) - 1);
    let (m, e) = if e_raw == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), e_raw - 1075)
    };
    e + m.trailing_zeros() as i32
}

/// Whether accumulating `s0 + st` `n - 1` times in a float format of `precision` bits
/// (largest value `max`) never rounds, so value `i` is exactly `s0 + i·st`.
fn exact_progression(s0: f64, st: f64, n: usize, precision: i32, max: f64) -> bool {
    if !s0.is_finite() || !st.is_finite() {
        return false;
    }
    let e = [s0, st]
        .iter()
        .filter(|v| **v != 0.0)
        .map(|&v| low_bit(v))
        .min();
    let Some(e) = e else {
        return true;
    };
    // An upper bound of every |value| (with a margin for this computation's rounding).
    let bound = (s0.abs() + (n.saturating_sub(1)) as f64 * st.abs()) * (1.0 + 1e-12);
    bound < pow2(precision + e) && bound <= max
}

/// `n` values `start, start + step, ...` of `dtype`, equal to the CPU's (see the module
/// comment).
pub fn arange(
    g: &Gpu,
    stream: RawStream,
    start: f64,
    step: f64,
    n: usize,
    dtype: Dtype,
) -> Result<Data> {
    let od = g.alloc(&[n], dtype, stream)?;
    let cat = dtype.category();
    if cat == DtypeCategory::Bool {
        return Err(Error::Dtype(
            "arange: bool is not supported for arange".into(),
        ));
    }
    if n == 0 {
        return Ok(od);
    }
    let wide = n >= SMALL;
    let idx = idx_of(wide);
    let t = type_name(dtype);
    let group = || dtype_names(dtype, idx);
    let yp = data_ptr(&od, dtype);
    if matches!(
        cat,
        DtypeCategory::SignedInteger | DtypeCategory::UnsignedInteger
    ) {
        let s0 = f64_to_int_bits(start);
        let st = f64_to_int_bits(start + step).wrapping_sub(s0);
        let f = g.function(&CREATION, &format!("mlxr::arange_int<{t}, {idx}>"), group)?;
        g.launch_with(
            f,
            n,
            stream,
            wide,
            &[Arg::Ptr(yp), Arg::I64(s0), Arg::I64(st), Arg::Idx(n as i64)],
        )?;
        return Ok(od);
    }
    // Start and step in the dtype, exactly as the CPU converts them.
    let (s0, st) = if cat == DtypeCategory::ComplexFloating {
        let s0 = start as f32;
        let st = (start + step) as f32 - s0;
        (s0 as f64, st as f64)
    } else {
        crate::dispatch_float!(dtype, T => {
            let s0 = T::from_f64(start);
            let st = T::from_f64(T::from_f64(start + step).to_f64() - s0.to_f64());
            (s0.to_f64(), st.to_f64())
        }, _ => unreachable!("a floating dtype"))
    };
    let (precision, max) = float_format(dtype);
    let fast = exact_progression(s0, st, n, precision, max);
    let kernel = if fast { "arange_fast" } else { "arange_seq" };
    let f = g.function(&CREATION, &format!("mlxr::{kernel}<{t}, {idx}>"), group)?;
    g.launch_with(
        f,
        if fast { n } else { 1 },
        stream,
        wide,
        &[Arg::Ptr(yp), Arg::F64(s0), Arg::F64(st), Arg::Idx(n as i64)],
    )?;
    Ok(od)
}

/// `num` evenly spaced values from `start` to `stop` (inclusive) of `dtype`, with the
/// CPU's formula and float type.
pub fn linspace(
    g: &Gpu,
    stream: RawStream,
    start: f64,
    stop: f64,
    num: usize,
    dtype: Dtype,
) -> Result<Data> {
    let od = g.alloc(&[num], dtype, stream)?;
    if num == 0 {
        return Ok(od);
    }
    let wide = num >= SMALL;
    let idx = idx_of(wide);
    let yp = data_ptr(&od, dtype);
    let group = || dtype_names(dtype, idx);
    if dtype == Dtype::Float64 {
        let f = g.function(&CREATION, &format!("mlxr::linspace_f64<{idx}>"), group)?;
        g.launch_with(
            f,
            num,
            stream,
            wide,
            &[
                Arg::Ptr(yp),
                Arg::F64(start),
                Arg::F64(stop),
                Arg::Idx(num as i64),
            ],
        )?;
    } else {
        let name = format!("mlxr::linspace_f32<{}, {idx}>", type_name(dtype));
        let f = g.function(&CREATION, &name, group)?;
        g.launch_with(
            f,
            num,
            stream,
            wide,
            &[
                Arg::Ptr(yp),
                Arg::F32(start as f32),
                Arg::F32(stop as f32),
                Arg::Idx(num as i64),
            ],
        )?;
    }
    Ok(od)
}

/// `n × m` with ones where `col - row == k` (`tri == false`, eye) or `col - row <= k`
/// (`tri == true`), zeros elsewhere.
pub fn eye_tri(
    g: &Gpu,
    stream: RawStream,
    n: usize,
    m: usize,
    k: isize,
    tri: bool,
    dtype: Dtype,
) -> Result<Data> {
    let od = g.alloc(&[n, m], dtype, stream)?;
    let total = n * m;
    if total == 0 {
        return Ok(od);
    }
    let wide = total >= SMALL;
    let idx = idx_of(wide);
    let name = format!("mlxr::eye_tri<{}, {idx}>", type_name(dtype));
    let f = g.function(&CREATION, &name, || dtype_names(dtype, idx))?;
    g.launch_with(
        f,
        total,
        stream,
        wide,
        &[
            Arg::Ptr(data_ptr(&od, dtype)),
            Arg::Idx(n as i64),
            Arg::Idx(m as i64),
            Arg::I64(k as i64),
            Arg::I32(tri as i32),
        ],
    )?;
    Ok(od)
}

// ---- primitives ------------------------------------------------------------------------

/// Evaluate `Full` on the GPU: a single value (all strides zero) is filled in, anything
/// else (a broadcast array) is copied out row-contiguously.
pub fn full_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let x = &inputs[0];
    let out = &outputs[0];
    let d = x.data()?;
    let (g, st) = super::resolve(out.stream())?;
    let single = d
        .strides
        .iter()
        .zip(x.shape())
        .all(|(&s, &n)| s == 0 || n == 1);
    let data = if single && x.size() > 0 && x.dtype() == out.dtype() {
        fill(g, st, &d, out.shape(), out.dtype())?
    } else {
        copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), out.dtype())?
    };
    out.set_data(data);
    Ok(())
}

/// Evaluate `Arange` on the GPU.
pub fn arange_gpu(start: f64, step: f64, outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    out.set_data(arange(g, st, start, step, out.size(), out.dtype())?);
    Ok(())
}

/// Evaluate `Linspace` on the GPU.
pub fn linspace_gpu(start: f64, stop: f64, outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    out.set_data(linspace(g, st, start, stop, out.size(), out.dtype())?);
    Ok(())
}

/// Evaluate `Eye` (`tri == false`) or `Tri` on the GPU.
pub fn eye_tri_gpu(k: isize, tri: bool, outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = super::resolve(out.stream())?;
    let (n, m) = (out.shape()[0], out.shape()[1]);
    out.set_data(eye_tri(g, st, n, m, k, tri, out.dtype())?);
    Ok(())
}
