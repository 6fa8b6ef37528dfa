//! Random numbers on the GPU, the twin of backend/cpu/random.rs: MLX's threefry2x32 random
//! bits (bit for bit the CPU's and MLX's) and the kernels mapping bits to distributions
//! (uniform, normal, truncated normal, Gumbel, Laplace, Bernoulli, randint, categorical,
//! the multivariate-normal product and the complex normal), replaying the CPU's formulas
//! (kernels in `kernels/random.cu`). `SymSqrt` (the eigen-decomposition behind
//! `multivariate_normal`) runs through the CPU fallback: like MLX, which computes it on
//! the CPU only, it is a small per-matrix iterative solve with no GPU kernel.

use super::copy::copy_to_contiguous;
use super::kernels::{type_name, Func, Group, Program};
use super::{data_ptr, resolve, Gpu, RawStream};
use crate::array::{Array, Data};
use crate::backend::cpu::random::{key_value_check, Dist};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::ffi::c_void;

/// `kernels/random.cu`.
pub static RANDOM: Program = Program {
    name: "random",
    source: include_str!("kernels/random.cu"),
};

const FLOATS: [Dtype; 4] = [
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
];

fn bits_names() -> Vec<String> {
    vec!["mlxr::random_bits".into()]
}

fn dist_names() -> Vec<String> {
    let mut v: Vec<String> = FLOATS
        .iter()
        .flat_map(|&d| {
            let t = type_name(d);
            [
                format!("mlxr::random_transform<{t}>"),
                format!("mlxr::bernoulli<{t}>"),
            ]
        })
        .collect();
    v.extend(
        ["categorical", "mvn_apply", "complex_normal"]
            .iter()
            .map(|k| format!("mlxr::{k}")),
    );
    v
}

fn randint_names() -> Vec<String> {
    Dtype::ALL
        .iter()
        .filter(|d| !d.is_inexact())
        .map(|&d| format!("mlxr::randint<{}>", type_name(d)))
        .collect()
}

/// Every compile group of the random kernels.
pub fn kernel_groups() -> Vec<Group> {
    [bits_names(), dist_names(), randint_names()]
        .into_iter()
        .map(|names| Group {
            program: &RANDOM,
            names,
        })
        .collect()
}

fn function(g: &Gpu, name: &str) -> Result<Func> {
    if name.contains("random_bits") {
        g.function(&RANDOM, name, bits_names)
    } else if name.contains("randint") {
        g.function(&RANDOM, name, randint_names)
    } else {
        g.function(&RANDOM, name, dist_names)
    }
}

fn arg<T>(x: &mut T) -> *mut c_void {
    x as *mut T as *mut c_void
}

/// `a`'s elements in row-major order as dtype `to` on the device (`a`'s own data when it
/// already is so).
fn contiguous(g: &Gpu, st: RawStream, a: &Array, to: Dtype) -> Result<Data> {
    let d = a.data()?;
    if a.dtype() == to && d.flags.row_contiguous {
        return Ok(d);
    }
    copy_to_contiguous(g, st, &d, a.shape(), a.dtype(), to)
}

/// A distribution parameter as float64 on the device and whether it is one value (else
/// one per sample, in row-major order).
fn param(g: &Gpu, st: RawStream, p: &Array, n: usize) -> Result<(Data, i32)> {
    if p.size() != 1 && p.size() != n {
        return Err(Error::Shape(format!(
            "random: a parameter of shape {:?} does not match {n} samples",
            p.shape()
        )));
    }
    Ok((
        contiguous(g, st, p, Dtype::Float64)?,
        i32::from(p.size() == 1),
    ))
}

/// `RandomBits` on the GPU (input: the key).
pub fn random_bits_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    let key = &inputs[0];
    key_value_check(key)?;
    let kd = key.data()?;
    let od = g.alloc(out.shape(), out.dtype(), st)?;
    let nbytes = out.size() * out.dtype().size();
    if nbytes > 0 {
        let words = nbytes.div_ceil(4);
        let units = words / 2 + words % 2;
        let f = function(g, "mlxr::random_bits")?;
        let (mut kp, mut ks) = (data_ptr(&kd, Dtype::Uint32), kd.strides[0] as i64);
        let (mut op, mut nb) = (data_ptr(&od, out.dtype()), nbytes as u64);
        g.launch(
            f,
            units,
            st,
            &mut [arg(&mut kp), arg(&mut ks), arg(&mut op), arg(&mut nb)],
        )?;
    }
    out.set_data(od);
    Ok(())
}

/// `RandomTransform` on the GPU (inputs: uint32 bits, then the parameters).
pub fn transform_gpu(dist: Dist, dtype: Dtype, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    if !FLOATS.contains(&dtype) {
        return Err(Error::Dtype(format!("random: unsupported dtype {dtype}")));
    }
    let bits = &inputs[0];
    let n = bits.size();
    let od = g.alloc(bits.shape(), dtype, st)?;
    let ps: Vec<(Data, i32)> = inputs[1..]
        .iter()
        .map(|p| param(g, st, p, n))
        .collect::<Result<_>>()?;
    if n == 0 {
        out.set_data(od);
        return Ok(());
    }
    let bd = contiguous(g, st, bits, Dtype::Uint32)?;
    let (mut code, mut has_scale, mut has_loc) = match dist {
        Dist::Uniform => (0i32, 0i32, 0i32),
        Dist::Normal { scale, loc } => (1, scale as i32, loc as i32),
        Dist::TruncatedNormal => (2, 0, 0),
        Dist::Gumbel => (3, 0, 0),
        Dist::Laplace { scale, loc } => (4, scale as i32, loc as i32),
    };
    let pp = |k: usize| -> (u64, i32) {
        ps.get(k)
            .map_or((0, 1), |(d, s)| (data_ptr(d, Dtype::Float64), *s))
    };
    let ((mut p0, mut s0), (mut p1, mut s1)) = (pp(0), pp(1));
    let f = function(g, &format!("mlxr::random_transform<{}>", type_name(dtype)))?;
    let (mut bp, mut op, mut nn) = (data_ptr(&bd, Dtype::Uint32), data_ptr(&od, dtype), n as i64);
    g.launch(
        f,
        n,
        st,
        &mut [
            arg(&mut bp),
            arg(&mut op),
            arg(&mut nn),
            arg(&mut code),
            arg(&mut p0),
            arg(&mut s0),
            arg(&mut p1),
            arg(&mut s1),
            arg(&mut has_scale),
            arg(&mut has_loc),
        ],
    )?;
    out.set_data(od);
    Ok(())
}

/// `Bernoulli` on the GPU (inputs: uint32 bits, p).
pub fn bernoulli_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    let (bits, p) = (&inputs[0], &inputs[1]);
    if !FLOATS.contains(&p.dtype()) {
        return Err(Error::Dtype(format!(
            "[bernoulli] bernoulli probability `p` must be a float type, got {}.",
            p.dtype()
        )));
    }
    let n = bits.size();
    let od = g.alloc(bits.shape(), Dtype::Bool, st)?;
    let (pd, mut sp) = param(g, st, p, n)?;
    if n > 0 {
        let bd = contiguous(g, st, bits, Dtype::Uint32)?;
        let f = function(g, &format!("mlxr::bernoulli<{}>", type_name(p.dtype())))?;
        let (mut bp, mut op, mut nn) = (
            data_ptr(&bd, Dtype::Uint32),
            data_ptr(&od, Dtype::Bool),
            n as i64,
        );
        let mut pp = data_ptr(&pd, Dtype::Float64);
        g.launch(
            f,
            n,
            st,
            &mut [
                arg(&mut bp),
                arg(&mut op),
                arg(&mut nn),
                arg(&mut pp),
                arg(&mut sp),
            ],
        )?;
    }
    out.set_data(od);
    Ok(())
}

/// `RandInt` on the GPU (inputs: uint32 bits, low, high).
pub fn randint_gpu(dtype: Dtype, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    if dtype.is_inexact() {
        return Err(Error::Dtype(
            "[randint] randint only accepts integer dtypes and bool.".into(),
        ));
    }
    let (bits, low, high) = (&inputs[0], &inputs[1], &inputs[2]);
    let n = bits.size();
    let od = g.alloc(bits.shape(), dtype, st)?;
    let (lf, mut sl) = param(g, st, low, n)?;
    let (hf, mut sh) = param(g, st, high, n)?;
    if n > 0 {
        let lt = contiguous(g, st, low, dtype)?;
        let ht = contiguous(g, st, high, dtype)?;
        let bd = contiguous(g, st, bits, Dtype::Uint32)?;
        let f = function(g, &format!("mlxr::randint<{}>", type_name(dtype)))?;
        let (mut bp, mut op, mut nn) =
            (data_ptr(&bd, Dtype::Uint32), data_ptr(&od, dtype), n as i64);
        let (mut lp, mut hp) = (data_ptr(&lf, Dtype::Float64), data_ptr(&hf, Dtype::Float64));
        let (mut ltp, mut htp) = (data_ptr(&lt, dtype), data_ptr(&ht, dtype));
        g.launch(
            f,
            n,
            st,
            &mut [
                arg(&mut bp),
                arg(&mut op),
                arg(&mut nn),
                arg(&mut lp),
                arg(&mut sl),
                arg(&mut hp),
                arg(&mut sh),
                arg(&mut ltp),
                arg(&mut htp),
            ],
        )?;
    }
    out.set_data(od);
    Ok(())
}

/// `Categorical` on the GPU (inputs: float32 Gumbel noise, logits of the same shape).
pub fn categorical_gpu(axis: usize, inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    let (gn, logits) = (&inputs[0], &inputs[1]);
    let shape = gn.shape();
    let k = shape[axis];
    let m: usize = shape
        .iter()
        .enumerate()
        .filter(|&(d, _)| d != axis)
        .map(|(_, &n)| n)
        .product();
    let od = g.alloc(out.shape(), Dtype::Uint32, st)?;
    if m > 0 {
        let gd = contiguous(g, st, gn, Dtype::Float32)?;
        let ld = contiguous(g, st, logits, Dtype::Float64)?;
        let inner: usize = shape[axis + 1..].iter().product();
        let mut f64 =
            i32::from(crate::promote_types(Dtype::Float32, logits.dtype()) == Dtype::Float64);
        let f = function(g, "mlxr::categorical")?;
        let (mut gp, mut lp, mut op) = (
            data_ptr(&gd, Dtype::Float32),
            data_ptr(&ld, Dtype::Float64),
            data_ptr(&od, Dtype::Uint32),
        );
        let (mut mm, mut kk, mut ii) = (m as i64, k as i64, inner.max(1) as i64);
        g.launch(
            f,
            m,
            st,
            &mut [
                arg(&mut gp),
                arg(&mut lp),
                arg(&mut op),
                arg(&mut mm),
                arg(&mut kk),
                arg(&mut ii),
                arg(&mut f64),
            ],
        )?;
    }
    out.set_data(od);
    Ok(())
}

/// `MvnApply` on the GPU (inputs: z `[..., n]`, mean `[..., n]`, std `[..., n, n]`).
pub fn mvn_apply_gpu(inputs: &[Array], outputs: &[Array]) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    let (z, mean, std) = (&inputs[0], &inputs[1], &inputs[2]);
    let shape = z.shape();
    let n = shape.last().copied().unwrap_or(0);
    let od = g.alloc(shape, Dtype::Float32, st)?;
    let total = z.size();
    if total > 0 && n > 0 {
        let zd = contiguous(g, st, z, Dtype::Float32)?;
        let md = contiguous(g, st, mean, Dtype::Float32)?;
        let sd = contiguous(g, st, std, Dtype::Float32)?;
        let f = function(g, "mlxr::mvn_apply")?;
        let (mut zp, mut mp, mut sp, mut op) = (
            data_ptr(&zd, Dtype::Float32),
            data_ptr(&md, Dtype::Float32),
            data_ptr(&sd, Dtype::Float32),
            data_ptr(&od, Dtype::Float32),
        );
        let (mut rows, mut nn) = ((total / n) as i64, n as i64);
        g.launch(
            f,
            total,
            st,
            &mut [
                arg(&mut zp),
                arg(&mut mp),
                arg(&mut sp),
                arg(&mut op),
                arg(&mut rows),
                arg(&mut nn),
            ],
        )?;
    }
    out.set_data(od);
    Ok(())
}

/// `ComplexNormal` on the GPU (input: uint32 bits `[..., 2]`).
pub fn complex_normal_gpu(
    scale: Option<f32>,
    loc: Option<f32>,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let out = &outputs[0];
    let (g, st) = resolve(out.stream())?;
    let bits = &inputs[0];
    let od = g.alloc(out.shape(), Dtype::Complex64, st)?;
    let n = bits.size();
    if n > 0 {
        let bd = contiguous(g, st, bits, Dtype::Uint32)?;
        let f = function(g, "mlxr::complex_normal")?;
        let (mut bp, mut op, mut nn) = (
            data_ptr(&bd, Dtype::Uint32),
            data_ptr(&od, Dtype::Complex64),
            n as i64,
        );
        let (mut hs, mut s) = (i32::from(scale.is_some()), scale.unwrap_or(1.0));
        let (mut hl, mut l) = (i32::from(loc.is_some()), loc.unwrap_or(0.0));
        g.launch(
            f,
            n,
            st,
            &mut [
                arg(&mut bp),
                arg(&mut op),
                arg(&mut nn),
                arg(&mut hs),
                arg(&mut s),
                arg(&mut hl),
                arg(&mut l),
            ],
        )?;
    }
    out.set_data(od);
    Ok(())
}
