//! Generic elementwise kernels on the GPU, the twin of backend/cpu/elementwise.rs: apply
//! a functor defined in a `.cu` program to one, two or three inputs of the output's shape
//! (broadcast inputs carry zero strides). Dense inputs with one layout run linearly over
//! their span and keep that layout; a single-element input is read once (binary); others
//! go through the general kernel, whose collapsed shape and strides are passed by value
//! in a fixed-size parameter struct (`Strided`, at most [`MAX_NDIM`] axes), with 32-bit
//! indices when every index fits and 64-bit ones otherwise.

use super::kernels::{type_name, Group, Program, MAX_NDIM, SELFTEST};
use super::{data_ptr, device_buffer, Gpu, RawStream};
use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::strided::collapse;
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::ffi::c_void;

/// A unary op: `functor` (a struct in `program` with `operator()(T)`), the dtype pairs
/// it supports and which pairs compile together.
pub struct UnaryOp {
    /// The source defining the functor.
    pub program: &'static Program,
    /// The functor's C++ name (e.g. `mlxr::Identity`).
    pub functor: &'static str,
    /// Every supported (input, output) dtype pair.
    pub pairs: fn() -> Vec<(Dtype, Dtype)>,
    /// The pairs compiled in one module with a given pair (the pair itself included).
    pub group: fn(Dtype, Dtype) -> Vec<(Dtype, Dtype)>,
}

/// Dtypes of a binary kernel: (a, b, out).
pub type Triple = (Dtype, Dtype, Dtype);
/// Dtypes of a ternary kernel: (a, b, c, out).
pub type Quad = (Dtype, Dtype, Dtype, Dtype);

/// A binary op (see [`UnaryOp`]); dtype triples are (a, b, out).
pub struct BinaryOp {
    /// The source defining the functor.
    pub program: &'static Program,
    /// The functor's C++ name.
    pub functor: &'static str,
    /// Every supported (a, b, out) triple.
    pub triples: fn() -> Vec<Triple>,
    /// The triples compiled together with a given triple.
    pub group: fn(Dtype, Dtype, Dtype) -> Vec<Triple>,
}

/// A ternary op (see [`UnaryOp`]); dtype tuples are (a, b, c, out).
pub struct TernaryOp {
    /// The source defining the functor.
    pub program: &'static Program,
    /// The functor's C++ name.
    pub functor: &'static str,
    /// Every supported (a, b, c, out) tuple.
    pub tuples: fn() -> Vec<Quad>,
    /// The tuples compiled together with a given tuple.
    pub group: fn(Dtype, Dtype, Dtype, Dtype) -> Vec<Quad>,
}

const IDX: [&str; 2] = ["int", "long long"];

fn kname(kernel: &str, functor: &str, types: &[Dtype], idx: &str) -> String {
    let t: Vec<&str> = types.iter().map(|&d| type_name(d)).collect();
    format!("mlxr::{kernel}<{functor}, {}, {idx}>", t.join(", "))
}

impl UnaryOp {
    /// The kernel names of one (input, output) pair and index type: every variant.
    pub fn names(&self, a: Dtype, out: Dtype, idx: &str) -> Vec<String> {
        ["unary_v", "unary_g", "unary_gv"]
            .iter()
            .map(|k| kname(k, self.functor, &[a, out], idx))
            .collect()
    }
    /// Every compile group of this op.
    pub fn groups(&self) -> Vec<Group> {
        let parts = partition((self.pairs)(), |&(a, o)| (self.group)(a, o));
        IDX.iter()
            .flat_map(|idx| {
                parts.iter().map(move |ps| Group {
                    program: self.program,
                    names: ps
                        .iter()
                        .flat_map(|&(a, o)| self.names(a, o, idx))
                        .collect(),
                })
            })
            .collect()
    }
    fn group_names(&self, a: Dtype, o: Dtype, idx: &str) -> Vec<String> {
        (self.group)(a, o)
            .into_iter()
            .flat_map(|(a, o)| self.names(a, o, idx))
            .collect()
    }
}

impl BinaryOp {
    /// The kernel names of one (a, b, out) triple and index type: every variant.
    pub fn names(&self, a: Dtype, b: Dtype, out: Dtype, idx: &str) -> Vec<String> {
        [
            "binary_vv",
            "binary_sv",
            "binary_vs",
            "binary_g",
            "binary_gv",
        ]
        .iter()
        .map(|k| kname(k, self.functor, &[a, b, out], idx))
        .collect()
    }
    /// Every compile group of this op.
    pub fn groups(&self) -> Vec<Group> {
        let parts = partition((self.triples)(), |&(a, b, o)| (self.group)(a, b, o));
        IDX.iter()
            .flat_map(|idx| {
                parts.iter().map(move |ts| Group {
                    program: self.program,
                    names: ts
                        .iter()
                        .flat_map(|&(a, b, o)| self.names(a, b, o, idx))
                        .collect(),
                })
            })
            .collect()
    }
    fn group_names(&self, a: Dtype, b: Dtype, o: Dtype, idx: &str) -> Vec<String> {
        (self.group)(a, b, o)
            .into_iter()
            .flat_map(|(a, b, o)| self.names(a, b, o, idx))
            .collect()
    }
}

impl TernaryOp {
    /// The kernel names of one (a, b, c, out) tuple and index type: every variant.
    pub fn names(&self, a: Dtype, b: Dtype, c: Dtype, out: Dtype, idx: &str) -> Vec<String> {
        ["ternary_v", "ternary_g"]
            .iter()
            .map(|k| kname(k, self.functor, &[a, b, c, out], idx))
            .collect()
    }
    /// Every compile group of this op.
    pub fn groups(&self) -> Vec<Group> {
        let parts = partition((self.tuples)(), |&(a, b, c, o)| (self.group)(a, b, c, o));
        IDX.iter()
            .flat_map(|idx| {
                parts.iter().map(move |ts| Group {
                    program: self.program,
                    names: ts
                        .iter()
                        .flat_map(|&(a, b, c, o)| self.names(a, b, c, o, idx))
                        .collect(),
                })
            })
            .collect()
    }
    fn group_names(&self, a: Dtype, b: Dtype, c: Dtype, o: Dtype, idx: &str) -> Vec<String> {
        (self.group)(a, b, c, o)
            .into_iter()
            .flat_map(|(a, b, c, o)| self.names(a, b, c, o, idx))
            .collect()
    }
}

/// Split `items` into the groups `group_of` assigns (each item once, in order).
fn partition<T: Copy + PartialEq>(items: Vec<T>, group_of: impl Fn(&T) -> Vec<T>) -> Vec<Vec<T>> {
    let mut done: Vec<T> = Vec::new();
    let mut out = Vec::new();
    for it in &items {
        if done.contains(it) {
            continue;
        }
        let mut g = group_of(it);
        if !g.contains(it) {
            g.push(*it);
        }
        g.retain(|x| !done.contains(x));
        done.extend(g.iter().copied());
        out.push(g);
    }
    out
}

// ---- parameters --------------------------------------------------------------------------

/// `Strided<Idx, N>` of elementwise.cuh, field for field.
#[repr(C)]
#[derive(Clone, Copy)]
struct Strided<I: Copy, const N: usize> {
    shape: [I; MAX_NDIM],
    strides: [[I; MAX_NDIM]; N],
    inner_strides: [I; N],
    inner: I,
    rdim: i32,
}

/// An index type of the kernels (`int` or `long long`).
trait Index: Copy + Default {
    fn from_isize(v: isize) -> Self;
}
impl Index for i32 {
    fn from_isize(v: isize) -> Self {
        v as i32
    }
}
impl Index for i64 {
    fn from_isize(v: isize) -> Self {
        v as i64
    }
}

/// Largest index a 32-bit kernel may compute (a margin keeps `i + stride` in range).
const SMALL: usize = 1 << 30;

/// A collapsed iteration space: shape and per-operand strides (the output first).
struct Collapsed {
    shape: Vec<usize>,
    strides: Vec<Vec<isize>>,
}

impl Collapsed {
    fn new(shape: &[usize], inputs: &[&[isize]], op: &str) -> Result<Collapsed> {
        let ostr = row_strides(shape);
        let mut all: Vec<&[isize]> = vec![&ostr];
        all.extend_from_slice(inputs);
        let (cs, st) = collapse(shape, &all);
        if cs.len() > MAX_NDIM {
            return Err(Error::Unsupported(format!(
                "{op} on the GPU: the operands have {} axes that cannot be merged (shape \
                 {shape:?}); at most {MAX_NDIM} are supported",
                cs.len()
            )));
        }
        Ok(Collapsed {
            shape: cs,
            strides: st,
        })
    }
    fn rows(&self) -> usize {
        self.shape[..self.shape.len() - 1].iter().product()
    }
    /// Whether every index fits the 32-bit kernels.
    fn small(&self) -> bool {
        let n: usize = self.shape.iter().product();
        n < SMALL
            && self.strides.iter().all(|s| {
                s.iter()
                    .zip(&self.shape)
                    .map(|(&s, &n)| s.unsigned_abs() * (n - 1))
                    .sum::<usize>()
                    < SMALL
            })
    }
    /// The kernel parameters for the inputs (operands 1..).
    fn params<I: Index, const N: usize>(&self) -> Strided<I, N> {
        let nd = self.shape.len();
        let mut p = Strided {
            shape: [I::default(); MAX_NDIM],
            strides: [[I::default(); MAX_NDIM]; N],
            inner_strides: [I::default(); N],
            inner: I::from_isize(self.shape[nd - 1] as isize),
            rdim: (nd - 1) as i32,
        };
        for d in 0..nd - 1 {
            p.shape[d] = I::from_isize(self.shape[d] as isize);
            for k in 0..N {
                p.strides[k][d] = I::from_isize(self.strides[k + 1][d]);
            }
        }
        for k in 0..N {
            p.inner_strides[k] = I::from_isize(self.strides[k + 1][nd - 1]);
        }
        p
    }
    /// Threads the general kernel needs (one per WORK elements of a row).
    fn units(&self) -> usize {
        let inner = *self.shape.last().expect("non-empty");
        self.rows() * inner.div_ceil(4)
    }
    /// The pack width of the `_gv` kernels when they apply: every input's innermost
    /// stride is 1, the innermost length and every outer stride are multiples of the
    /// width (16 bytes of the widest type), and each pointer (`ptrs`: address and element
    /// size per operand, output included) is aligned for its packs.
    fn packs(&self, widest: usize, ptrs: &[(u64, usize)]) -> Option<usize> {
        let n = 16 / widest.clamp(1, 16);
        let nd = self.shape.len();
        let ok = n > 1
            && self.shape[nd - 1].is_multiple_of(n)
            && self.strides[1..]
                .iter()
                .all(|s| s[nd - 1] == 1 && s[..nd - 1].iter().all(|&x| x % n as isize == 0))
            && ptrs.iter().all(|&(p, size)| p % (n * size) as u64 == 0);
        ok.then_some(n)
    }
}

/// Whether every element of `d` (with `shape`) is the same storage slot.
fn single_element(d: &Data, shape: &[usize]) -> bool {
    shape
        .iter()
        .zip(&d.strides)
        .all(|(&n, &s)| n == 1 || s == 0)
}

/// Output storage with the dense layout of `like` (span `like.data_size`), reusing the
/// donor's buffer when it may be written (same dtype, only reference, produced on this
/// stream).
fn alloc_like(
    g: &Gpu,
    stream: RawStream,
    like: &Data,
    out: Dtype,
    donor: Option<(&Array, Dtype)>,
) -> Result<Data> {
    if let Some((a, dt)) = donor {
        if dt == out
            && device_buffer(&like.storage).is_some_and(|b| b.stream() == stream)
            && a.is_donatable()
        {
            return Ok(like.clone());
        }
    }
    let mut d = g.alloc(&[like.data_size], out, stream)?;
    d.strides = like.strides.clone();
    d.flags = like.flags;
    d.data_size = like.data_size;
    Ok(d)
}

fn ptr_arg(p: &mut u64) -> *mut c_void {
    p as *mut u64 as *mut c_void
}

/// Run `op` over device data `x` (with `shape`, dtype `a`) into dtype `out`. With
/// `keep_layout`, a dense input keeps its layout (else the output is row-contiguous);
/// `donor` is the array `x` comes from, when its buffer may be reused.
#[allow(clippy::too_many_arguments)]
pub fn unary_data(
    g: &Gpu,
    stream: RawStream,
    op: &UnaryOp,
    x: &Data,
    shape: &[usize],
    a: Dtype,
    out: Dtype,
    keep_layout: bool,
    donor: Option<&Array>,
) -> Result<Data> {
    let n: usize = shape.iter().product();
    let group = |idx: &str| op.group_names(a, out, idx);
    if (keep_layout && x.flags.contiguous) || x.flags.row_contiguous {
        // Same layout as the input (row-contiguous when the input is).
        let od = alloc_like(g, stream, x, out, donor.map(|d| (d, a)))?;
        let len = x.data_size;
        if n == 0 || len == 0 {
            return Ok(od);
        }
        let small = len < SMALL;
        let idx = IDX[!small as usize];
        let name = kname("unary_v", op.functor, &[a, out], idx);
        let f = g.function(op.program, &name, || group(idx))?;
        let (mut xp, mut yp) = (data_ptr(x, a), data_ptr(&od, out));
        let (mut n32, mut n64) = (len as i32, len as i64);
        let nptr = if small {
            &mut n32 as *mut i32 as *mut c_void
        } else {
            &mut n64 as *mut i64 as *mut c_void
        };
        g.launch(
            f,
            len,
            stream,
            &mut [ptr_arg(&mut xp), ptr_arg(&mut yp), nptr],
        )?;
        return Ok(od);
    }
    let od = g.alloc(shape, out, stream)?;
    if n == 0 {
        return Ok(od);
    }
    let c = Collapsed::new(shape, &[&x.strides], op.functor)?;
    let small = c.small();
    let idx = IDX[!small as usize];
    let (mut xp, mut yp) = (data_ptr(x, a), data_ptr(&od, out));
    let packs = c.packs(
        a.size().max(out.size()),
        &[(xp, a.size()), (yp, out.size())],
    );
    let (kernel, units) = match packs {
        Some(w) => ("unary_gv", n / w),
        None => ("unary_g", c.units()),
    };
    let name = kname(kernel, op.functor, &[a, out], idx);
    let f = g.function(op.program, &name, || group(idx))?;
    let rows = c.rows();
    if small {
        let mut p = c.params::<i32, 1>();
        let mut r = rows as i32;
        g.launch(
            f,
            units,
            stream,
            &mut [
                ptr_arg(&mut xp),
                ptr_arg(&mut yp),
                &mut p as *mut _ as *mut c_void,
                &mut r as *mut i32 as *mut c_void,
            ],
        )?;
    } else {
        let mut p = c.params::<i64, 1>();
        let mut r = rows as i64;
        g.launch(
            f,
            units,
            stream,
            &mut [
                ptr_arg(&mut xp),
                ptr_arg(&mut yp),
                &mut p as *mut _ as *mut c_void,
                &mut r as *mut i64 as *mut c_void,
            ],
        )?;
    }
    Ok(od)
}

/// `out[i] = op(x[i])` on the GPU running `x`'s consumer (`stream`), the twin of the
/// CPU's `unary_map`: dense inputs keep their layout (and may be donated).
pub fn unary(g: &Gpu, stream: RawStream, op: &UnaryOp, x: &Array, out: Dtype) -> Result<Data> {
    let d = x.data()?;
    unary_data(g, stream, op, &d, x.shape(), x.dtype(), out, true, Some(x))
}

/// `out[i] = op(a[i], b[i])`; `a` and `b` already have the output's shape (broadcast views
/// allowed). The twin of the CPU's `binary_map`.
pub fn binary(
    g: &Gpu,
    stream: RawStream,
    op: &BinaryOp,
    a: &Array,
    b: &Array,
    out: Dtype,
) -> Result<Data> {
    let (ad, bd) = (a.data()?, b.data()?);
    let shape = a.shape();
    let (ta, tb) = (a.dtype(), b.dtype());
    let n: usize = shape.iter().product();
    let group = |idx: &str| op.group_names(ta, tb, out, idx);
    let linear = |kernel: &str, od: &Data, len: usize| -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        let small = len < SMALL;
        let idx = IDX[!small as usize];
        let name = kname(kernel, op.functor, &[ta, tb, out], idx);
        let f = g.function(op.program, &name, || group(idx))?;
        let (mut ap, mut bp, mut yp) = (data_ptr(&ad, ta), data_ptr(&bd, tb), data_ptr(od, out));
        let (mut n32, mut n64) = (len as i32, len as i64);
        let nptr = if small {
            &mut n32 as *mut i32 as *mut c_void
        } else {
            &mut n64 as *mut i64 as *mut c_void
        };
        g.launch(
            f,
            len,
            stream,
            &mut [ptr_arg(&mut ap), ptr_arg(&mut bp), ptr_arg(&mut yp), nptr],
        )
    };
    if n == 0 {
        return g.alloc(shape, out, stream);
    }
    if ad.flags.contiguous && bd.flags.contiguous && ad.strides == bd.strides {
        let od = if ta == out && a.is_donatable() {
            alloc_like(g, stream, &ad, out, Some((a, ta)))?
        } else {
            alloc_like(g, stream, &bd, out, Some((b, tb)))?
        };
        linear("binary_vv", &od, ad.data_size)?;
        return Ok(od);
    }
    if single_element(&ad, shape) && bd.flags.contiguous {
        let od = alloc_like(g, stream, &bd, out, Some((b, tb)))?;
        linear("binary_sv", &od, bd.data_size)?;
        return Ok(od);
    }
    if single_element(&bd, shape) && ad.flags.contiguous {
        let od = alloc_like(g, stream, &ad, out, Some((a, ta)))?;
        linear("binary_vs", &od, ad.data_size)?;
        return Ok(od);
    }
    let od = g.alloc(shape, out, stream)?;
    let c = Collapsed::new(shape, &[&ad.strides, &bd.strides], op.functor)?;
    let small = c.small();
    let idx = IDX[!small as usize];
    let (mut ap, mut bp, mut yp) = (data_ptr(&ad, ta), data_ptr(&bd, tb), data_ptr(&od, out));
    let packs = c.packs(
        ta.size().max(tb.size()).max(out.size()),
        &[(ap, ta.size()), (bp, tb.size()), (yp, out.size())],
    );
    let (kernel, units) = match packs {
        Some(w) => ("binary_gv", n / w),
        None => ("binary_g", c.units()),
    };
    let name = kname(kernel, op.functor, &[ta, tb, out], idx);
    let f = g.function(op.program, &name, || group(idx))?;
    let rows = c.rows();
    let (mut p32, mut p64) = (c.params::<i32, 2>(), c.params::<i64, 2>());
    let (mut r32, mut r64) = (rows as i32, rows as i64);
    let (pp, rp) = if small {
        (
            &mut p32 as *mut _ as *mut c_void,
            &mut r32 as *mut i32 as *mut c_void,
        )
    } else {
        (
            &mut p64 as *mut _ as *mut c_void,
            &mut r64 as *mut i64 as *mut c_void,
        )
    };
    g.launch(
        f,
        units,
        stream,
        &mut [ptr_arg(&mut ap), ptr_arg(&mut bp), ptr_arg(&mut yp), pp, rp],
    )?;
    Ok(od)
}

/// `out[i] = op(a[i], b[i], c[i])`; all inputs already have the output's shape. The twin
/// of the CPU's `ternary_map`.
#[allow(clippy::too_many_arguments)]
pub fn ternary(
    g: &Gpu,
    stream: RawStream,
    op: &TernaryOp,
    a: &Array,
    b: &Array,
    c: &Array,
    out: Dtype,
) -> Result<Data> {
    let (ad, bd, cd) = (a.data()?, b.data()?, c.data()?);
    let shape = a.shape();
    let (ta, tb, tc) = (a.dtype(), b.dtype(), c.dtype());
    let n: usize = shape.iter().product();
    let group = |idx: &str| op.group_names(ta, tb, tc, out, idx);
    if n == 0 {
        return g.alloc(shape, out, stream);
    }
    let (mut ap, mut bp, mut cp) = (data_ptr(&ad, ta), data_ptr(&bd, tb), data_ptr(&cd, tc));
    if ad.flags.contiguous
        && bd.flags.contiguous
        && cd.flags.contiguous
        && ad.strides == bd.strides
        && bd.strides == cd.strides
    {
        let od = alloc_like(g, stream, &bd, out, Some((b, tb)))?;
        let len = ad.data_size;
        let small = len < SMALL;
        let idx = IDX[!small as usize];
        let name = kname("ternary_v", op.functor, &[ta, tb, tc, out], idx);
        let f = g.function(op.program, &name, || group(idx))?;
        let mut yp = data_ptr(&od, out);
        let (mut n32, mut n64) = (len as i32, len as i64);
        let nptr = if small {
            &mut n32 as *mut i32 as *mut c_void
        } else {
            &mut n64 as *mut i64 as *mut c_void
        };
        g.launch(
            f,
            len,
            stream,
            &mut [
                ptr_arg(&mut ap),
                ptr_arg(&mut bp),
                ptr_arg(&mut cp),
                ptr_arg(&mut yp),
                nptr,
            ],
        )?;
        return Ok(od);
    }
    let od = g.alloc(shape, out, stream)?;
    let col = Collapsed::new(shape, &[&ad.strides, &bd.strides, &cd.strides], op.functor)?;
    let small = col.small();
    let idx = IDX[!small as usize];
    let name = kname("ternary_g", op.functor, &[ta, tb, tc, out], idx);
    let f = g.function(op.program, &name, || group(idx))?;
    let mut yp = data_ptr(&od, out);
    let rows = col.rows();
    let (mut p32, mut p64) = (col.params::<i32, 3>(), col.params::<i64, 3>());
    let (mut r32, mut r64) = (rows as i32, rows as i64);
    let (pp, rp) = if small {
        (
            &mut p32 as *mut _ as *mut c_void,
            &mut r32 as *mut i32 as *mut c_void,
        )
    } else {
        (
            &mut p64 as *mut _ as *mut c_void,
            &mut r64 as *mut i64 as *mut c_void,
        )
    };
    g.launch(
        f,
        col.units(),
        stream,
        &mut [
            ptr_arg(&mut ap),
            ptr_arg(&mut bp),
            ptr_arg(&mut cp),
            ptr_arg(&mut yp),
            pp,
            rp,
        ],
    )?;
    Ok(od)
}

// ---- self-test ops (exercise the binary and ternary launchers) ----------------------------

const SELFTEST_DTYPES: [Dtype; 5] = [
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
];

/// `a + b` (same dtype in and out), tests only.
pub static SELFTEST_ADD: BinaryOp = BinaryOp {
    program: &SELFTEST,
    functor: "mlxr::SelftestAdd",
    triples: || SELFTEST_DTYPES.iter().map(|&d| (d, d, d)).collect(),
    group: |_, _, _| SELFTEST_DTYPES.iter().map(|&d| (d, d, d)).collect(),
};

/// `c ? a : b`, tests only.
pub static SELFTEST_SELECT: TernaryOp = TernaryOp {
    program: &SELFTEST,
    functor: "mlxr::SelftestSelect",
    tuples: || {
        SELFTEST_DTYPES
            .iter()
            .map(|&d| (Dtype::Bool, d, d, d))
            .collect()
    },
    group: |_, _, _, _| {
        SELFTEST_DTYPES
            .iter()
            .map(|&d| (Dtype::Bool, d, d, d))
            .collect()
    },
};

/// The compile groups of the self-test ops.
pub fn selftest_groups() -> Vec<Group> {
    let mut g = SELFTEST_ADD.groups();
    g.extend(SELFTEST_SELECT.groups());
    g
}

/// Evaluate `a + b` (same shape and dtype, any layout) with the self-test kernel on the
/// GPU of the current default stream. For tests of the launcher.
#[doc(hidden)]
pub fn selftest_add(a: &Array, b: &Array) -> Result<Array> {
    selftest_node(vec![a.clone(), b.clone()], a.dtype())
}

/// Evaluate `c ? a : b` (same shapes; `c` bool) with the self-test kernel.
#[doc(hidden)]
pub fn selftest_select(c: &Array, a: &Array, b: &Array) -> Result<Array> {
    selftest_node(vec![c.clone(), a.clone(), b.clone()], a.dtype())
}

fn selftest_node(inputs: Vec<Array>, dtype: Dtype) -> Result<Array> {
    use std::sync::Arc;
    let shape = inputs[0].shape().to_vec();
    let s = crate::device::StreamOrDevice::Default.resolve();
    Ok(Array::new_node(shape, dtype, Arc::new(Selftest), inputs, s))
}

/// The primitive behind [`selftest_add`] / [`selftest_select`] (GPU only).
#[derive(Debug)]
struct Selftest;

crate::export::serial::not_exportable!(Selftest, "an internal test kernel");

impl crate::Primitive for Selftest {
    fn name(&self) -> String {
        "Selftest".into()
    }
    fn eval_cpu(&self, _inputs: &[Array], _outputs: &[Array]) -> Result<()> {
        Err(Error::Unsupported("Selftest runs on the GPU only".into()))
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (g, st) = super::resolve(outputs[0].stream())?;
        let d = if inputs.len() == 2 {
            binary(
                g,
                st,
                &SELFTEST_ADD,
                &inputs[0],
                &inputs[1],
                outputs[0].dtype(),
            )?
        } else {
            ternary(
                g,
                st,
                &SELFTEST_SELECT,
                &inputs[0],
                &inputs[1],
                &inputs[2],
                outputs[0].dtype(),
            )?
        };
        outputs[0].set_data(d);
        Ok(())
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
