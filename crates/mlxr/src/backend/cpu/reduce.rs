//! Reduction kernels on the CPU: sum, prod, max, min, all, any over any set of axes of a
//! strided input, and argmax/argmin along one axis.
//!
//! The input's axes are split into kept and reduced ones; each group is collapsed (kept
//! axes jointly with the output's row-major strides, reduced axes sorted by stride) and
//! one of three loops runs:
//! - *row*: each output reduces its elements with the innermost reduced run walked as a
//!   (usually contiguous) slice, accumulated in several lanes and pairwise for accuracy;
//!   covers reducing everything and reducing trailing axes, and is the general strided
//!   path. Parallel over outputs, or inside an output when there are few.
//! - *column*: the innermost kept axis is contiguous in the input and the reduced axes are
//!   outside it: whole input rows are accumulated into a buffer of output accumulators,
//!   so memory is read sequentially. Parallel over column blocks, or over the reduced
//!   rows with per-thread partial buffers when there are few.
//!
//! Accumulation types follow MLX: f16/bf16 accumulate in f32, integers in the output
//! integer type (wrapping), floating sums blockwise/pairwise.

use super::strided::SendPtr;
use super::PAR_THRESHOLD;
use crate::array::{row_strides, Data};
use crate::dtype::Element;
use crate::error::{Error, Result};
use half::{bf16, f16};
use num_complex::Complex32;
use rayon::prelude::*;
use std::marker::PhantomData;

/// Elements of a contiguous run summed with plain lanes before splitting pairwise.
const PAIRWISE_BLOCK: usize = 2048;
/// Reduced rows accumulated in the column loop before folding into the running totals.
const COL_BLOCK: usize = 256;
/// Output columns handled by one work item of the column loop.
const COL_CHUNK: usize = 2048;

// ---- element helpers -----------------------------------------------------------------

/// Arithmetic of an accumulator type (sums and products). Integers wrap, as in MLX.
pub trait Accum: Element {
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self * o`.
    fn mul(self, o: Self) -> Self;
}

macro_rules! accum_int {
    ($($t:ty),*) => {$(
        impl Accum for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline(always)]
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        }
    )*};
}
accum_int!(i32, u32, i64, u64);
impl Accum for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
}
impl Accum for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
}
impl Accum for Complex32 {
    const ZERO: Self = Complex32::new(0.0, 0.0);
    const ONE: Self = Complex32::new(1.0, 0.0);
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
}

/// Ordering used by max/min/argmax/argmin: the natural order for real types (NaN is
/// handled separately and wins), lexicographic (real, then imaginary) for complex, as
/// MLX.
pub trait Ordered: Element {
    /// The smallest value (identity of max).
    fn lowest() -> Self;
    /// The largest value (identity of min).
    fn highest() -> Self;
    /// `self > o`.
    fn gt(self, o: Self) -> bool;
    /// `self < o`.
    fn lt(self, o: Self) -> bool;
    /// Whether the value is NaN (never for integers and bool).
    fn nan(self) -> bool;
}

macro_rules! ordered_int {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            #[inline(always)]
            fn lowest() -> Self { <$t>::MIN }
            #[inline(always)]
            fn highest() -> Self { <$t>::MAX }
            #[inline(always)]
            fn gt(self, o: Self) -> bool { self > o }
            #[inline(always)]
            fn lt(self, o: Self) -> bool { self < o }
            #[inline(always)]
            fn nan(self) -> bool { false }
        }
    )*};
}
ordered_int!(u8, u16, u32, u64, i8, i16, i32, i64);
impl Ordered for bool {
    #[inline(always)]
    fn lowest() -> Self {
        false
    }
    #[inline(always)]
    fn highest() -> Self {
        true
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self & !o
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        !self & o
    }
    #[inline(always)]
    fn nan(self) -> bool {
        false
    }
}
macro_rules! ordered_float {
    ($($t:ty),*) => {$(
        impl Ordered for $t {
            #[inline(always)]
            fn lowest() -> Self { <$t>::NEG_INFINITY }
            #[inline(always)]
            fn highest() -> Self { <$t>::INFINITY }
            #[inline(always)]
            fn gt(self, o: Self) -> bool { self > o }
            #[inline(always)]
            fn lt(self, o: Self) -> bool { self < o }
            #[inline(always)]
            #[allow(clippy::eq_op)]
            fn nan(self) -> bool { self != self }
        }
    )*};
}
ordered_float!(f32, f64, f16, bf16);
impl Ordered for Complex32 {
    #[inline(always)]
    fn lowest() -> Self {
        Complex32::new(f32::NEG_INFINITY, f32::NEG_INFINITY)
    }
    #[inline(always)]
    fn highest() -> Self {
        Complex32::new(f32::INFINITY, f32::INFINITY)
    }
    #[inline(always)]
    fn gt(self, o: Self) -> bool {
        self.re > o.re || (self.re == o.re && self.im > o.im)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        self.re < o.re || (self.re == o.re && self.im < o.im)
    }
    #[inline(always)]
    fn nan(self) -> bool {
        self.re.is_nan() || self.im.is_nan()
    }
}

// ---- reducers ------------------------------------------------------------------------

/// One reduction: how to fold input elements into an accumulator and finish it.
pub trait Reducer: Copy + Send + Sync {
    /// Input element type.
    type In: Element;
    /// Accumulator type.
    type Acc: Copy + Send + Sync;
    /// Output element type.
    type Out: Element;
    /// Whether long accumulations should be blocked for accuracy (floating sums).
    const BLOCKED: bool = false;
    /// The identity.
    fn init(&self) -> Self::Acc;
    /// Fold one element.
    fn step(&self, a: Self::Acc, x: Self::In) -> Self::Acc;
    /// Combine two partial results.
    fn merge(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// The output value of an accumulator.
    fn finish(&self, a: Self::Acc) -> Self::Out;

    /// Reduce a contiguous run: 16 independent lanes (vectorisable), split pairwise
    /// above `PAIRWISE_BLOCK` elements.
    #[inline]
    fn run(&self, xs: &[Self::In]) -> Self::Acc {
        if xs.len() > PAIRWISE_BLOCK {
            let h = (xs.len() / 2 + 15) & !15;
            return self.merge(self.run(&xs[..h]), self.run(&xs[h..]));
        }
        let mut l = [self.init(); 16];
        let mut ch = xs.chunks_exact(16);
        for c in &mut ch {
            for j in 0..16 {
                l[j] = self.step(l[j], c[j]);
            }
        }
        for j in 0..8 {
            l[j] = self.merge(l[j], l[j + 8]);
        }
        for j in 0..4 {
            l[j] = self.merge(l[j], l[j + 4]);
        }
        let mut acc = self.merge(self.merge(l[0], l[2]), self.merge(l[1], l[3]));
        for &x in ch.remainder() {
            acc = self.step(acc, x);
        }
        acc
    }
}

/// Sum: input `T`, accumulator `A`, output `O`.
#[derive(Clone, Copy)]
pub struct SumR<T, A, O>(PhantomData<(T, A, O)>);
impl<T: Element, A: Accum, O: Element> Reducer for SumR<T, A, O> {
    type In = T;
    type Acc = A;
    type Out = O;
    const BLOCKED: bool = true;
    #[inline(always)]
    fn init(&self) -> A {
        A::ZERO
    }
    #[inline(always)]
    fn step(&self, a: A, x: T) -> A {
        a.add(x.cast::<A>())
    }
    #[inline(always)]
    fn merge(&self, a: A, b: A) -> A {
        a.add(b)
    }
    #[inline(always)]
    fn finish(&self, a: A) -> O {
        a.cast::<O>()
    }
}

/// Product: input `T`, accumulator `A`, output `O`.
#[derive(Clone, Copy)]
pub struct ProdR<T, A, O>(PhantomData<(T, A, O)>);
impl<T: Element, A: Accum, O: Element> Reducer for ProdR<T, A, O> {
    type In = T;
    type Acc = A;
    type Out = O;
    #[inline(always)]
    fn init(&self) -> A {
        A::ONE
    }
    #[inline(always)]
    fn step(&self, a: A, x: T) -> A {
        a.mul(x.cast::<A>())
    }
    #[inline(always)]
    fn merge(&self, a: A, b: A) -> A {
        a.mul(b)
    }
    #[inline(always)]
    fn finish(&self, a: A) -> O {
        a.cast::<O>()
    }
}

/// Maximum (NaN propagates).
#[derive(Clone, Copy)]
pub struct MaxR<T>(PhantomData<T>);
impl<T: Ordered> Reducer for MaxR<T> {
    type In = T;
    type Acc = T;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T {
        T::lowest()
    }
    #[inline(always)]
    fn step(&self, a: T, x: T) -> T {
        if x.gt(a) || x.nan() {
            x
        } else {
            a
        }
    }
    #[inline(always)]
    fn merge(&self, a: T, b: T) -> T {
        if a.nan() {
            a
        } else {
            self.step(a, b)
        }
    }
    #[inline(always)]
    fn finish(&self, a: T) -> T {
        a
    }
    fn run(&self, xs: &[T]) -> T {
        // Plain lanes ignore NaN; one extra check restores propagation.
        let mut l = [T::lowest(); 16];
        let mut nan = false;
        let mut ch = xs.chunks_exact(16);
        for c in &mut ch {
            for j in 0..16 {
                nan |= c[j].nan();
                l[j] = if c[j].gt(l[j]) { c[j] } else { l[j] };
            }
        }
        let mut acc = T::lowest();
        for v in l {
            acc = self.step(acc, v);
        }
        for &x in ch.remainder() {
            acc = self.step(acc, x);
        }
        if nan && !acc.nan() {
            xs.iter().copied().find(|x| x.nan()).unwrap_or(acc)
        } else {
            acc
        }
    }
}

/// Minimum (NaN propagates).
#[derive(Clone, Copy)]
pub struct MinR<T>(PhantomData<T>);
impl<T: Ordered> Reducer for MinR<T> {
    type In = T;
    type Acc = T;
    type Out = T;
    #[inline(always)]
    fn init(&self) -> T {
        T::highest()
    }
    #[inline(always)]
    fn step(&self, a: T, x: T) -> T {
        if x.lt(a) || x.nan() {
            x
        } else {
            a
        }
    }
    #[inline(always)]
    fn merge(&self, a: T, b: T) -> T {
        if a.nan() {
            a
        } else {
            self.step(a, b)
        }
    }
    #[inline(always)]
    fn finish(&self, a: T) -> T {
        a
    }
    fn run(&self, xs: &[T]) -> T {
        let mut l = [T::highest(); 16];
        let mut nan = false;
        let mut ch = xs.chunks_exact(16);
        for c in &mut ch {
            for j in 0..16 {
                nan |= c[j].nan();
                l[j] = if c[j].lt(l[j]) { c[j] } else { l[j] };
            }
        }
        let mut acc = T::highest();
        for v in l {
            acc = self.step(acc, v);
        }
        for &x in ch.remainder() {
            acc = self.step(acc, x);
        }
        if nan && !acc.nan() {
            xs.iter().copied().find(|x| x.nan()).unwrap_or(acc)
        } else {
            acc
        }
    }
}

/// Logical and of `x != 0` (NaN counts as true).
#[derive(Clone, Copy)]
pub struct AndR<T>(PhantomData<T>);
impl<T: Element> Reducer for AndR<T> {
    type In = T;
    type Acc = bool;
    type Out = bool;
    #[inline(always)]
    fn init(&self) -> bool {
        true
    }
    #[inline(always)]
    fn step(&self, a: bool, x: T) -> bool {
        a & x.to_bool()
    }
    #[inline(always)]
    fn merge(&self, a: bool, b: bool) -> bool {
        a & b
    }
    #[inline(always)]
    fn finish(&self, a: bool) -> bool {
        a
    }
}

/// Logical or of `x != 0`.
#[derive(Clone, Copy)]
pub struct OrR<T>(PhantomData<T>);
impl<T: Element> Reducer for OrR<T> {
    type In = T;
    type Acc = bool;
    type Out = bool;
    #[inline(always)]
    fn init(&self) -> bool {
        false
    }
    #[inline(always)]
    fn step(&self, a: bool, x: T) -> bool {
        a | x.to_bool()
    }
    #[inline(always)]
    fn merge(&self, a: bool, b: bool) -> bool {
        a | b
    }
    #[inline(always)]
    fn finish(&self, a: bool) -> bool {
        a
    }
}

/// The reduction kinds (mirrors the primitive's op enum).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sum.
    Sum,
    /// Product.
    Prod,
    /// Maximum.
    Max,
    /// Minimum.
    Min,
    /// Logical and.
    And,
    /// Logical or.
    Or,
}

/// Reduce `x` (of `shape`, dtype `in_dtype`) over the sorted, distinct `axes` with `kind`
/// into fresh row-contiguous data of the keepdims shape and dtype `out_dtype` (which must
/// be MLX's output dtype for the kind).
pub fn reduce(
    kind: Kind,
    x: &Data,
    shape: &[usize],
    axes: &[usize],
    in_dtype: crate::Dtype,
    out_dtype: crate::Dtype,
) -> Result<Data> {
    use crate::Dtype as D;
    macro_rules! go {
        ($r:expr) => {
            run_reduce($r, x, shape, axes)
        };
    }
    macro_rules! sum_like {
        ($R:ident) => {
            match (in_dtype, out_dtype) {
                (D::Bool, D::Int32) => go!($R::<bool, i32, i32>(PhantomData)),
                (D::Uint8, D::Uint32) => go!($R::<u8, u32, u32>(PhantomData)),
                (D::Uint16, D::Uint32) => go!($R::<u16, u32, u32>(PhantomData)),
                (D::Uint32, D::Uint32) => go!($R::<u32, u32, u32>(PhantomData)),
                (D::Uint64, D::Uint64) => go!($R::<u64, u64, u64>(PhantomData)),
                (D::Int8, D::Int32) => go!($R::<i8, i32, i32>(PhantomData)),
                (D::Int16, D::Int32) => go!($R::<i16, i32, i32>(PhantomData)),
                (D::Int32, D::Int32) => go!($R::<i32, i32, i32>(PhantomData)),
                (D::Int64, D::Int64) => go!($R::<i64, i64, i64>(PhantomData)),
                (D::Float16, D::Float16) => go!($R::<f16, f32, f16>(PhantomData)),
                (D::Bfloat16, D::Bfloat16) => go!($R::<bf16, f32, bf16>(PhantomData)),
                (D::Float32, D::Float32) => go!($R::<f32, f32, f32>(PhantomData)),
                (D::Float64, D::Float64) => go!($R::<f64, f64, f64>(PhantomData)),
                (D::Complex64, D::Complex64) => {
                    go!($R::<Complex32, Complex32, Complex32>(PhantomData))
                }
                _ => Err(Error::Dtype(format!(
                    "reduce: no {:?} kernel from {in_dtype} to {out_dtype}",
                    kind
                ))),
            }
        };
    }
    match kind {
        Kind::Sum => sum_like!(SumR),
        Kind::Prod => sum_like!(ProdR),
        Kind::Max => crate::dispatch_all!(in_dtype, T => go!(MaxR::<T>(PhantomData))),
        Kind::Min => crate::dispatch_all!(in_dtype, T => go!(MinR::<T>(PhantomData))),
        Kind::And => crate::dispatch_all!(in_dtype, T => go!(AndR::<T>(PhantomData))),
        Kind::Or => crate::dispatch_all!(in_dtype, T => go!(OrR::<T>(PhantomData))),
    }
}

// ---- iteration helpers ---------------------------------------------------------------

/// An odometer over `(size, stride)` dims giving the running offset.
struct Odo<'a> {
    dims: &'a [(usize, isize)],
    idx: Vec<usize>,
    off: isize,
}

impl<'a> Odo<'a> {
    /// Start at linear index `start` (row-major over `dims`).
    fn new(dims: &'a [(usize, isize)], start: usize) -> Self {
        let mut idx = vec![0; dims.len()];
        let mut off = 0;
        let mut r = start;
        for (k, &(n, s)) in dims.iter().enumerate().rev() {
            idx[k] = r % n;
            r /= n;
            off += idx[k] as isize * s;
        }
        Odo { dims, idx, off }
    }
    #[inline]
    fn next(&mut self) {
        for k in (0..self.dims.len()).rev() {
            let (n, s) = self.dims[k];
            self.idx[k] += 1;
            self.off += s;
            if self.idx[k] < n {
                return;
            }
            self.idx[k] = 0;
            self.off -= s * n as isize;
        }
    }
}

/// Split `shape`/`strides` into kept dims `(size, in stride, out stride)` collapsed in
/// order, and reduced dims `(size, in stride)` sorted by decreasing |stride| and
/// collapsed. Size-1 dims are dropped.
#[allow(clippy::type_complexity)]
fn split_dims(
    shape: &[usize],
    strides: &[isize],
    axes: &[usize],
) -> (Vec<(usize, isize, isize)>, Vec<(usize, isize)>) {
    let mut out_shape = shape.to_vec();
    for &a in axes {
        out_shape[a] = 1;
    }
    let ostr = row_strides(&out_shape);
    let mut kept: Vec<(usize, isize, isize)> = Vec::new();
    let mut red: Vec<(usize, isize)> = Vec::new();
    for i in 0..shape.len() {
        if shape[i] == 1 {
            continue;
        }
        if axes.contains(&i) {
            red.push((shape[i], strides[i]));
        } else {
            if let Some(last) = kept.last_mut() {
                if last.1 == strides[i] * shape[i] as isize && last.2 == ostr[i] * shape[i] as isize
                {
                    last.0 *= shape[i];
                    last.1 = strides[i];
                    last.2 = ostr[i];
                    continue;
                }
            }
            kept.push((shape[i], strides[i], ostr[i]));
        }
    }
    // Broadcast (zero-stride) dims first, then by decreasing |stride|, so the innermost
    // reduced dim is the densest one.
    red.sort_by_key(|d| {
        std::cmp::Reverse(if d.1 == 0 {
            usize::MAX
        } else {
            d.1.unsigned_abs()
        })
    });
    let mut rc: Vec<(usize, isize)> = Vec::new();
    for d in red {
        if let Some(last) = rc.last_mut() {
            if last.1 == d.1 * d.0 as isize {
                last.0 *= d.0;
                last.1 = d.1;
                continue;
            }
        }
        rc.push(d);
    }
    (kept, rc)
}

/// Base pointer of an array's element `[0, ..., 0]`.
#[inline]
fn base_ptr<T: Element>(x: &Data) -> SendPtr<T> {
    // SAFETY: offset is within the storage.
    SendPtr(unsafe { (x.host().as_ptr() as *const T).add(x.offset) } as *mut T)
}

fn threads() -> usize {
    rayon::current_num_threads()
}

/// Run `f(i)` for `i in 0..n` on the rayon pool (sequentially when `n <= 1`). Kernels
/// pass their closures as trait objects so that rayon's machinery is instantiated once,
/// not once per dtype and reduction (which made compilation very slow).
pub(crate) fn par_for(n: usize, f: &(dyn Fn(usize) + Sync)) {
    if n <= 1 {
        if n == 1 {
            f(0);
        }
        return;
    }
    (0..n).into_par_iter().for_each(f);
}

/// `f(i)` for `i in 0..n` in parallel, collected in order.
fn par_map<A: Send>(n: usize, f: impl Fn(usize) -> A + Sync) -> Vec<A> {
    let mut out: Vec<Option<A>> = (0..n).map(|_| None).collect();
    let addr = out.as_mut_ptr() as usize;
    par_for(n, &|i| {
        // SAFETY: each index of the live vector is written by exactly one task.
        unsafe { *(addr as *mut Option<A>).add(i) = Some(f(i)) };
    });
    out.into_iter().map(|a| a.expect("filled")).collect()
}

/// Pairwise combination of a stream of partial results: a binary counter of levels, so
/// n partials combine in a balanced tree with O(log n) memory (accurate float sums).
struct Pairwise<T> {
    items: Vec<(u32, T)>,
}

impl<T> Pairwise<T> {
    fn new() -> Self {
        Pairwise { items: Vec::new() }
    }
    fn push(&mut self, mut x: T, merge: impl Fn(T, T) -> T) {
        let mut lvl = 0;
        while self.items.last().is_some_and(|t| t.0 == lvl) {
            let (_, y) = self.items.pop().expect("non-empty");
            x = merge(y, x);
            lvl += 1;
        }
        self.items.push((lvl, x));
    }
    fn finish(mut self, merge: impl Fn(T, T) -> T) -> Option<T> {
        let mut acc = self.items.pop()?.1;
        while let Some((_, y)) = self.items.pop() {
            acc = merge(y, acc);
        }
        Some(acc)
    }
}

/// Reduce one output's elements: the outer reduced dims (walked by an odometer) from
/// `outer.start` to `outer.end`, each with the inner run restricted to `inner`.
#[inline]
#[allow(clippy::too_many_arguments)]
fn reduce_part<R: Reducer>(
    r: R,
    base: SendPtr<R::In>,
    off: isize,
    outer_dims: &[(usize, isize)],
    outer: std::ops::Range<usize>,
    inner_s: isize,
    inner: std::ops::Range<usize>,
) -> R::Acc {
    let mut odo = Odo::new(outer_dims, outer.start);
    let one = |p: isize| -> R::Acc {
        if inner_s == 1 {
            // SAFETY: the run lies within the input's elements.
            let s = unsafe {
                std::slice::from_raw_parts(base.0.offset(p + inner.start as isize), inner.len())
            };
            r.run(s)
        } else {
            let mut a = r.init();
            for i in inner.clone() {
                // SAFETY: as above.
                a = r.step(a, unsafe { *base.0.offset(p + i as isize * inner_s) });
            }
            a
        }
    };
    if R::BLOCKED && outer.len() > 8 {
        let mut pw = Pairwise::new();
        for _ in outer {
            pw.push(one(off + odo.off), |a, b| r.merge(a, b));
            odo.next();
        }
        return pw.finish(|a, b| r.merge(a, b)).unwrap_or_else(|| r.init());
    }
    let mut acc = r.init();
    for _ in outer {
        acc = r.merge(acc, one(off + odo.off));
        odo.next();
    }
    acc
}

fn run_reduce<R: Reducer>(r: R, x: &Data, shape: &[usize], axes: &[usize]) -> Result<Data> {
    let mut out_shape = shape.to_vec();
    for &a in axes {
        out_shape[a] = 1;
    }
    let out = Data::alloc(&out_shape, R::Out::DTYPE)?;
    let n_out: usize = out_shape.iter().product();
    if n_out == 0 {
        return Ok(out);
    }
    let op = SendPtr(out.host().as_mut_ptr() as *mut R::Out);
    let n_red: usize = axes.iter().map(|&a| shape[a]).product();
    if n_red == 0 {
        let v = r.finish(r.init());
        // SAFETY: fresh output of n_out elements.
        unsafe { std::slice::from_raw_parts_mut(op.0, n_out) }.fill(v);
        return Ok(out);
    }
    let (kept, red) = split_dims(shape, &x.strides, axes);
    let base = base_ptr::<R::In>(x);
    let total = n_out * n_red;
    let par = total >= PAR_THRESHOLD && threads() > 1;

    // Column loop: innermost kept dim contiguous, reduced dims strided outside it.
    if let (Some(&(kn, 1, _)), Some(&(_, rs))) = (kept.last(), red.last()) {
        if rs != 1 && kn >= 16 {
            col_reduce(r, base, op, &kept, &red, par);
            return Ok(out);
        }
    }

    // Row loop.
    let (inner_n, inner_s) = red.last().copied().unwrap_or((1, 0));
    let outer_dims: Vec<(usize, isize)> = red[..red.len().saturating_sub(1)].to_vec();
    let n_outer: usize = outer_dims.iter().map(|d| d.0).product();
    let kdims: Vec<(usize, isize)> = kept.iter().map(|d| (d.0, d.1)).collect();
    if !par || n_out >= 4 * threads() {
        let chunks = if par { (threads() * 4).min(n_out) } else { 1 };
        let per = n_out.div_ceil(chunks);
        let body = |c: usize| {
            let op = op;
            let (start, end) = (c * per, ((c + 1) * per).min(n_out));
            if start >= end {
                return;
            }
            let mut ko = Odo::new(&kdims, start);
            for o in start..end {
                let a = reduce_part(
                    r,
                    base,
                    ko.off,
                    &outer_dims,
                    0..n_outer,
                    inner_s,
                    0..inner_n,
                );
                // SAFETY: each output index is written by one chunk.
                unsafe { *op.0.add(o) = r.finish(a) };
                ko.next();
            }
        };
        par_for(chunks, &body);
        return Ok(out);
    }
    // Few outputs, much work each: split each output's elements across threads.
    let parts = threads() * 2;
    let mut ko = Odo::new(&kdims, 0);
    for o in 0..n_out {
        let off = ko.off;
        let a = if n_outer >= parts {
            let per = n_outer.div_ceil(parts);
            par_map(parts, |p| {
                let rg = (p * per).min(n_outer)..((p + 1) * per).min(n_outer);
                reduce_part(r, base, off, &outer_dims, rg, inner_s, 0..inner_n)
            })
            .into_iter()
            .fold(r.init(), |a, b| r.merge(a, b))
        } else {
            // Split the inner run into aligned pieces.
            let per = (inner_n.div_ceil(parts) + 15) & !15;
            let np = inner_n.div_ceil(per);
            par_map(np, |p| {
                let rg = p * per..((p + 1) * per).min(inner_n);
                reduce_part(r, base, off, &outer_dims, 0..n_outer, inner_s, rg)
            })
            .into_iter()
            .fold(r.init(), |a, b| r.merge(a, b))
        };
        // SAFETY: fresh output.
        unsafe { *op.0.add(o) = r.finish(a) };
        ko.next();
    }
    Ok(out)
}

/// Accumulate reduced rows `rows` (odometer over `red`) of the column block starting at
/// input offset `off` into `tot` (length = block width).
fn col_block<R: Reducer>(
    r: R,
    base: SendPtr<R::In>,
    off: isize,
    red: &[(usize, isize)],
    rows: std::ops::Range<usize>,
    tot: &mut [R::Acc],
) {
    let w = tot.len();
    let mut odo = Odo::new(red, rows.start);
    if R::BLOCKED && rows.len() > COL_BLOCK {
        let mut pw: Pairwise<Vec<R::Acc>> = Pairwise::new();
        let merge = |mut a: Vec<R::Acc>, b: Vec<R::Acc>| {
            for (x, &y) in a.iter_mut().zip(&b) {
                *x = r.merge(*x, y);
            }
            a
        };
        let mut left = rows.len();
        while left > 0 {
            let n = left.min(COL_BLOCK);
            let mut blk = vec![r.init(); w];
            for _ in 0..n {
                // SAFETY: the row's w elements lie within the input.
                let s = unsafe { std::slice::from_raw_parts(base.0.offset(off + odo.off), w) };
                for (a, &v) in blk.iter_mut().zip(s) {
                    *a = r.step(*a, v);
                }
                odo.next();
            }
            pw.push(blk, merge);
            left -= n;
        }
        if let Some(b) = pw.finish(merge) {
            for (t, &v) in tot.iter_mut().zip(&b) {
                *t = r.merge(*t, v);
            }
        }
    } else {
        for _ in rows {
            // SAFETY: as above.
            let s = unsafe { std::slice::from_raw_parts(base.0.offset(off + odo.off), w) };
            for (a, &v) in tot.iter_mut().zip(s) {
                *a = r.step(*a, v);
            }
            odo.next();
        }
    }
}

fn col_reduce<R: Reducer>(
    r: R,
    base: SendPtr<R::In>,
    op: SendPtr<R::Out>,
    kept: &[(usize, isize, isize)],
    red: &[(usize, isize)],
    par: bool,
) {
    let (kn, _, _) = *kept.last().expect("kept");
    let kouter: Vec<(usize, isize)> = kept[..kept.len() - 1].iter().map(|d| (d.0, d.1)).collect();
    let okouter: Vec<(usize, isize)> = kept[..kept.len() - 1].iter().map(|d| (d.0, d.2)).collect();
    let n_ko: usize = kouter.iter().map(|d| d.0).product();
    let n_red: usize = red.iter().map(|d| d.0).product();
    let n_kc = kn.div_ceil(COL_CHUNK);
    let items = n_ko * n_kc;
    let finish_into = |o: usize, tot: &[R::Acc]| {
        let op = op;
        for (k, &t) in tot.iter().enumerate() {
            // SAFETY: each output element is written once.
            unsafe { *op.0.add(o + k) = r.finish(t) };
        }
    };
    let item_loc = |it: usize| {
        let (ko, kc) = (it / n_kc, it % n_kc);
        let ioff = Odo::new(&kouter, ko).off;
        let ooff = Odo::new(&okouter, ko).off as usize;
        let c0 = kc * COL_CHUNK;
        let w = COL_CHUNK.min(kn - c0);
        (ioff + c0 as isize, ooff + c0, w)
    };
    if !par || items >= 2 * threads() || n_red < 2 * threads() {
        let body = |it: usize| {
            let (ioff, ooff, w) = item_loc(it);
            let mut tot = vec![r.init(); w];
            col_block(r, base, ioff, red, 0..n_red, &mut tot);
            finish_into(ooff, &tot);
        };
        if par {
            par_for(items, &body);
        } else {
            (0..items).for_each(body);
        }
        return;
    }
    // Few column blocks: split the reduced rows across threads, merge partial rows.
    let parts = threads();
    let per = n_red.div_ceil(parts);
    for it in 0..items {
        let (ioff, ooff, w) = item_loc(it);
        let partials: Vec<Vec<R::Acc>> = par_map(parts, |p| {
            let rg = (p * per).min(n_red)..((p + 1) * per).min(n_red);
            let mut tot = vec![r.init(); w];
            col_block(r, base, ioff, red, rg, &mut tot);
            tot
        });
        let mut tot = partials[0].clone();
        for p in &partials[1..] {
            for (t, &v) in tot.iter_mut().zip(p) {
                *t = r.merge(*t, v);
            }
        }
        finish_into(ooff, &tot);
    }
}

// ---- argmax / argmin -----------------------------------------------------------------
//
// The winner is the first occurrence of the best value, NaN beating everything (the first
// NaN). A contiguous run is scanned in L1-sized blocks: a vectorised pass finds the
// block's best value (in lanes) and whether it holds a NaN; only when the block improves
// on the best so far is it searched again for the first occurrence. Long runs are split
// between threads and the pieces combined in order, ties going to the lower index.

/// Lanes of the contiguous argmax/argmin scan.
const ARG_LANES: usize = 16;
/// Elements per block of the contiguous scan (4 KiB of f32, so the search for the first
/// occurrence rereads little, from L1).
const ARG_BLOCK: usize = 1024;

/// Whether `x` beats the current best `b` for argmax (`MAX`) or argmin: NaN wins (the
/// first one), otherwise strict comparison keeps the first occurrence on ties.
#[inline(always)]
fn better<T: Ordered, const MAX: bool>(x: T, b: T) -> bool {
    !b.nan() & (x.nan() | ord::<T, MAX>(x, b))
}

/// Strict order of non-NaN values: `x > b` for argmax, `x < b` for argmin.
#[inline(always)]
fn ord<T: Ordered, const MAX: bool>(x: T, b: T) -> bool {
    if MAX {
        x.gt(b)
    } else {
        x.lt(b)
    }
}

/// Of two candidates `(value, index)`, the winner: the better value, or the lower index
/// on a tie.
#[inline(always)]
fn pick<T: Ordered, const MAX: bool>(a: (T, usize), b: (T, usize)) -> (T, usize) {
    if better::<T, MAX>(b.0, a.0) || (!better::<T, MAX>(a.0, b.0) && b.1 < a.1) {
        b
    } else {
        a
    }
}

/// The winner `(value, index)` of a non-empty contiguous run, indices counted from `base`.
fn arg_run<T: Ordered, const MAX: bool>(x: &[T], base: usize) -> (T, usize) {
    let mut best: Option<(T, usize)> = None;
    for (bk, blk) in x.chunks(ARG_BLOCK).enumerate() {
        let off = base + bk * ARG_BLOCK;
        // The block's best non-NaN value, in lanes, and whether it holds a NaN.
        let mut bv = [blk[0]; ARG_LANES];
        let mut nan = [false; ARG_LANES];
        let chunks = blk.chunks_exact(ARG_LANES);
        let rest = chunks.remainder();
        for c in chunks {
            for j in 0..ARG_LANES {
                let v = c[j];
                let g = ord::<T, MAX>(v, bv[j]);
                bv[j] = if g { v } else { bv[j] };
                nan[j] |= v.nan();
            }
        }
        let mut has_nan = nan.iter().fold(false, |a, &b| a | b);
        let mut m = bv[0];
        for &v in &bv[1..] {
            if ord::<T, MAX>(v, m) {
                m = v;
            }
        }
        for &v in rest {
            if ord::<T, MAX>(v, m) {
                m = v;
            }
            has_nan |= v.nan();
        }
        if has_nan {
            // No NaN before this block: its first NaN wins the run.
            let k = blk.iter().position(|v| v.nan()).unwrap_or(0);
            return (blk[k], off + k);
        }
        if let Some((b, _)) = best {
            if !ord::<T, MAX>(m, b) {
                continue;
            }
        }
        // First occurrence of `m` (neither above nor below it) in the block.
        let tie = |v: T| !v.gt(m) & !v.lt(m);
        let mut k = 0;
        for c in blk.chunks(ARG_LANES) {
            if c.iter().fold(false, |a, &v| a | tie(v)) {
                k += c.iter().position(|&v| tie(v)).unwrap_or(0);
                break;
            }
            k += c.len();
        }
        best = Some((m, off + k));
    }
    best.unwrap_or((x[0], base))
}

/// Longest piece of a run scanned by one `arg_run` call (gives threads work to share on
/// long runs).
const ARG_PIECE: usize = 1 << 20;

/// Index of the max (`max`) or min along `axis` of `x`, as uint32 in fresh
/// row-contiguous data of the keepdims shape. The axis must be non-empty.
pub fn arg_reduce(
    x: &Data,
    shape: &[usize],
    axis: usize,
    max: bool,
    dtype: crate::Dtype,
) -> Result<Data> {
    if max {
        crate::dispatch_all!(dtype, T => arg_reduce_t::<T, true>(x, shape, axis))
    } else {
        crate::dispatch_all!(dtype, T => arg_reduce_t::<T, false>(x, shape, axis))
    }
}

fn arg_reduce_t<T: Ordered, const MAX: bool>(
    x: &Data,
    shape: &[usize],
    axis: usize,
) -> Result<Data> {
    let mut out_shape = shape.to_vec();
    out_shape[axis] = 1;
    let out = Data::alloc(&out_shape, crate::Dtype::Uint32)?;
    let n_out: usize = out_shape.iter().product();
    let n = shape[axis];
    if n_out == 0 {
        return Ok(out);
    }
    if n == 0 {
        return Err(Error::InvalidArgument(
            "arg_reduce: cannot reduce an empty axis".into(),
        ));
    }
    let (kept, _) = split_dims(shape, &x.strides, &[axis]);
    let s = if n == 1 { 1 } else { x.strides[axis] };
    let base = base_ptr::<T>(x);
    let op = SendPtr(out.host().as_mut_ptr() as *mut u32);
    let par = n_out * n >= PAR_THRESHOLD && threads() > 1;
    let load = |p: isize| -> T {
        let base = base;
        // SAFETY: p addresses an element of the input.
        unsafe { *base.0.offset(p) }
    };
    let kdims: Vec<(usize, isize)> = kept.iter().map(|d| (d.0, d.1)).collect();
    // Contiguous along the axis: each output scans a slice.
    if s == 1 {
        let run = |off: isize, lo: usize, hi: usize| -> (T, usize) {
            let base = base;
            // SAFETY: elements lo..hi along the axis from `off` are in the input.
            let xs = unsafe { std::slice::from_raw_parts(base.0.offset(off).add(lo), hi - lo) };
            arg_run::<T, MAX>(xs, lo)
        };
        if n_out >= 2 * threads() || !par {
            let chunks = if par { (threads() * 4).min(n_out) } else { 1 };
            let per = n_out.div_ceil(chunks);
            par_for(chunks, &|c: usize| {
                let op = op;
                let (start, end) = (c * per, ((c + 1) * per).min(n_out));
                if start >= end {
                    return;
                }
                let mut ko = Odo::new(&kdims, start);
                for o in start..end {
                    let mut best = run(ko.off, 0, n.min(ARG_PIECE));
                    for lo in (ARG_PIECE..n).step_by(ARG_PIECE) {
                        best = pick::<T, MAX>(best, run(ko.off, lo, (lo + ARG_PIECE).min(n)));
                    }
                    // SAFETY: each output written once.
                    unsafe { *op.0.add(o) = best.1 as u32 };
                    ko.next();
                }
            });
        } else {
            // Few long runs: split each between the threads.
            let pieces = (threads() * 4).max(n.div_ceil(ARG_PIECE)).min(n);
            let per = n.div_ceil(pieces);
            let mut ko = Odo::new(&kdims, 0);
            for o in 0..n_out {
                let off = ko.off;
                let parts = par_map(pieces, |p| {
                    let (lo, hi) = (p * per, ((p + 1) * per).min(n));
                    (lo < hi).then(|| run(off, lo, hi))
                });
                let best = parts
                    .into_iter()
                    .flatten()
                    .reduce(pick::<T, MAX>)
                    .expect("non-empty axis");
                // SAFETY: each output written once.
                unsafe { *op.0.add(o) = best.1 as u32 };
                ko.next();
            }
        }
        return Ok(out);
    }
    if let Some(&(kn, 1, _)) = kept.last() {
        if kn >= 16 && n > 1 {
            // Column loop: keep the best value and index of a block of outputs, updated
            // row by row (branch-free, vectorised along the contiguous outputs).
            let kouter: Vec<(usize, isize)> =
                kept[..kept.len() - 1].iter().map(|d| (d.0, d.1)).collect();
            let okouter: Vec<(usize, isize)> =
                kept[..kept.len() - 1].iter().map(|d| (d.0, d.2)).collect();
            let n_ko: usize = kouter.iter().map(|d| d.0).product();
            let n_kc = kn.div_ceil(COL_CHUNK);
            let body = |it: usize| {
                let op = op;
                let base = base;
                let (ko, kc) = (it / n_kc, it % n_kc);
                let c0 = kc * COL_CHUNK;
                let w = COL_CHUNK.min(kn - c0);
                let ioff = Odo::new(&kouter, ko).off + c0 as isize;
                let ooff = Odo::new(&okouter, ko).off as usize + c0;
                // SAFETY: row i of the block is `w` contiguous input elements.
                let row = |i: usize| unsafe {
                    std::slice::from_raw_parts(base.0.offset(ioff + i as isize * s), w)
                };
                let mut best: Vec<T> = row(0).to_vec();
                let mut idx = vec![0u32; w];
                for i in 1..n {
                    let r = row(i);
                    for ((b, ix), &v) in best.iter_mut().zip(idx.iter_mut()).zip(r) {
                        let t = better::<T, MAX>(v, *b);
                        *b = if t { v } else { *b };
                        *ix = if t { i as u32 } else { *ix };
                    }
                }
                // SAFETY: each output written once.
                unsafe { std::ptr::copy_nonoverlapping(idx.as_ptr(), op.0.add(ooff), w) };
            };
            if par {
                par_for(n_ko * n_kc, &body);
            } else {
                (0..n_ko * n_kc).for_each(body);
            }
            return Ok(out);
        }
    }
    let chunks = if par { (threads() * 4).min(n_out) } else { 1 };
    let per = n_out.div_ceil(chunks);
    let body = |c: usize| {
        let op = op;
        let (start, end) = (c * per, ((c + 1) * per).min(n_out));
        if start >= end {
            return;
        }
        let mut ko = Odo::new(&kdims, start);
        for o in start..end {
            let mut best = load(ko.off);
            let mut bi = 0u32;
            for i in 1..n {
                let v = load(ko.off + i as isize * s);
                if better::<T, MAX>(v, best) {
                    best = v;
                    bi = i as u32;
                }
            }
            // SAFETY: each output written once.
            unsafe { *op.0.add(o) = bi };
            ko.next();
        }
    };
    par_for(chunks, &body);
    Ok(out)
}
