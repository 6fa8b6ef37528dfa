//! Shape primitives. Views that share the input's storage: `Reshape` (where the layout
//! allows), `Transpose`, `Broadcast`, `Diagonal`, `View` (bit reinterpretation, where the
//! layout allows). Copies: `Copy` (row-contiguous data), `Concatenate`, `Pad`, `Tile`,
//! `Repeat`, `Roll` and `Diag` (1-D → 2-D), whose kernels live in `backend/cpu/shape.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
use crate::backend::cpu::shape as kernels;
use crate::backend::cpu::shape::FILL;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;

macro_rules! equivalent_by_eq {
    () => {
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}
#[allow(unused_imports)]
pub(crate) use equivalent_by_eq;

/// New shape with the same elements in row-major order. A view when the input's layout
/// allows (row-contiguous, or axes that split/merge cleanly), a copy otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    /// The output shape.
    pub shape: Vec<usize>,
}

/// Strides that view data of `shape`/`strides` as `new_shape` without copying, if any.
pub fn reshape_strides(
    shape: &[usize],
    strides: &[isize],
    new_shape: &[usize],
) -> Option<Vec<isize>> {
    let size: usize = shape.iter().product();
    if size == 0 {
        return Some(row_strides(new_shape));
    }
    // Drop size-1 axes of the input, then match groups of axes.
    let dims: Vec<(usize, isize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&n, _)| n != 1)
        .map(|(&n, &s)| (n, s))
        .collect();
    let mut out = vec![0isize; new_shape.len()];
    let mut i = 0; // index into dims
    let mut j = 0; // index into new_shape
    while j < new_shape.len() {
        if new_shape[j] == 1 {
            out[j] = if i < dims.len() {
                dims[i].1 * dims[i].0 as isize
            } else {
                1
            };
            j += 1;
            continue;
        }
        if i >= dims.len() {
            return None;
        }
        // Take one group: input axes i..ie that are mutually contiguous, with the product
        // equal to the product of output axes j..je.
        let (mut pin, mut pout) = (dims[i].0, new_shape[j]);
        let (mut ie, mut je) = (i + 1, j + 1);
        while pin != pout {
            if pin < pout {
                if ie >= dims.len() {
                    return None;
                }
                pin *= dims[ie].0;
                ie += 1;
            } else {
                while je < new_shape.len() && new_shape[je] == 1 {
                    je += 1;
                }
                if je >= new_shape.len() {
                    return None;
                }
                pout *= new_shape[je];
                je += 1;
            }
        }
        for k in i..ie - 1 {
            if dims[k].1 != dims[k + 1].1 * dims[k + 1].0 as isize {
                return None;
            }
        }
        // Output strides within the group: row-major scaled by the innermost stride.
        let mut acc = dims[ie - 1].1;
        for k in (j..je).rev() {
            out[k] = acc;
            acc *= new_shape[k] as isize;
        }
        i = ie;
        j = je;
    }
    if i != dims.len() {
        return None;
    }
    Some(out)
}

impl Primitive for Reshape {
    fn name(&self) -> String {
        "Reshape".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out = match self.view(x, &d) {
            Some(v) => v,
            None => {
                let c = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
                Data::row_contiguous(c.storage, &self.shape)
            }
        };
        outputs[0].set_data(out);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        let out = match self.view(x, &d) {
            Some(v) => v,
            None => {
                let (g, st) = cuda::resolve(outputs[0].stream())?;
                let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
                Data::row_contiguous(c.storage, &self.shape)
            }
        };
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

impl Reshape {
    /// The output as a view of `x`'s data `d`, when the layout allows (any device).
    fn view(&self, x: &Array, d: &Data) -> Option<Data> {
        reshape_strides(x.shape(), &d.strides, &self.shape)
            .map(|st| Data::with_layout(d.storage.clone(), &self.shape, st, d.offset, None))
    }
}

/// Permute axes (a view).
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    /// `out.axis(i) = in.axis(perm[i])`.
    pub perm: Vec<usize>,
}

impl Primitive for Transpose {
    fn name(&self) -> String {
        "Transpose".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    equivalent_by_eq!();
}

impl Transpose {
    /// The permuted view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let strides = self.perm.iter().map(|&p| d.strides[p]).collect();
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            outputs[0].shape(),
            strides,
            d.offset,
            None,
        ));
        Ok(())
    }
}

/// Broadcast to a larger shape (a view with zero strides on the new axes).
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    /// The output shape.
    pub shape: Vec<usize>,
}

impl Primitive for Broadcast {
    fn name(&self) -> String {
        "Broadcast".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    equivalent_by_eq!();
}

impl Broadcast {
    /// The broadcast view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let n = self.shape.len();
        let k = x.ndim();
        let mut strides = vec![0isize; n];
        for i in 0..k {
            if x.shape()[i] != 1 || self.shape[n - k + i] == 1 {
                strides[n - k + i] = d.strides[i];
            }
        }
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            &self.shape,
            strides,
            d.offset,
            None,
        ));
        Ok(())
    }
}

/// Materialise row-contiguous data (`contiguous`). Data that already is row-contiguous is
/// shared, not copied.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy;

impl Primitive for Copy {
    fn name(&self) -> String {
        "Copy".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        if d.flags.row_contiguous {
            outputs[0].set_data(d);
        } else {
            outputs[0].set_data(copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?);
        }
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        if d.flags.row_contiguous {
            outputs[0].set_data(d);
            return Ok(());
        }
        let (g, st) = cuda::resolve(outputs[0].stream())?;
        let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        outputs[0].set_data(c);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Join arrays of one dtype along an existing axis (the inputs have the output's dtype;
/// the op converts mixed dtypes first).
#[derive(Debug, Clone, PartialEq)]
pub struct Concatenate {
    /// The (non-negative) axis joined along.
    pub axis: usize,
}

impl Primitive for Concatenate {
    fn name(&self) -> String {
        "Concatenate".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let out_shape = outputs[0].shape();
        let dtype = outputs[0].dtype();
        let out = Data::alloc(out_shape, dtype)?;
        let ostr = row_strides(out_shape);
        let mut at = 0usize;
        for x in inputs {
            let d = x.data()?;
            let off = at as isize * ostr[self.axis];
            kernels::copy_into(&d, x.shape(), dtype.size(), &out, &ostr, off)?;
            at += x.shape()[self.axis];
        }
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// How `pad` fills the new positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PadMode {
    /// A constant value (`constant_values`).
    Constant,
    /// Repeat the edge element.
    Edge,
    /// Mirror without repeating the edge (`[1, 2, 3]` → `3 2 | 1 2 3 | 2 1`).
    Reflect,
    /// Mirror repeating the edge (`[1, 2, 3]` → `2 1 | 1 2 3 | 3 2`).
    Symmetric,
}

/// Pad every axis with `low[i]` elements before and `high[i]` after. Inputs: the array and
/// a 0-d array of its dtype holding the constant value.
#[derive(Debug, Clone, PartialEq)]
pub struct Pad {
    /// Elements added before, per axis.
    pub low: Vec<usize>,
    /// Elements added after, per axis.
    pub high: Vec<usize>,
    /// How new elements are filled.
    pub mode: PadMode,
}

/// Where output position `i` of a padded axis of length `n` (with `lo` added in front)
/// reads, as an input index, or None for the fill value.
pub fn pad_source(i: usize, n: usize, lo: usize, mode: PadMode) -> Option<usize> {
    let j = i as isize - lo as isize;
    let n = n as isize;
    if (0..n).contains(&j) {
        return Some(j as usize);
    }
    if n == 0 {
        return None;
    }
    Some(match mode {
        PadMode::Constant => return None,
        PadMode::Edge => j.clamp(0, n - 1) as usize,
        PadMode::Reflect => {
            if n == 1 {
                0
            } else {
                let p = 2 * (n - 1);
                let r = j.rem_euclid(p);
                (if r >= n { p - r } else { r }) as usize
            }
        }
        PadMode::Symmetric => {
            let p = 2 * n;
            let r = j.rem_euclid(p);
            (if r >= n { p - 1 - r } else { r }) as usize
        }
    })
}

impl Primitive for Pad {
    fn name(&self) -> String {
        "Pad".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let (x, v) = (&inputs[0], &inputs[1]);
        let (d, vd) = (x.data()?, v.data()?);
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = x.shape()[ax];
                (0..out_shape[ax])
                    .map(|i| match pad_source(i, n, self.low[ax], self.mode) {
                        Some(j) => j as isize * d.strides[ax],
                        None => FILL,
                    })
                    .collect()
            })
            .collect();
        let out = kernels::gather_axes(&d, x.dtype(), out_shape, &maps, Some(&vd))?;
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Repeat the whole array `reps[i]` times along each axis (the input already has the
/// output's number of axes).
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    /// Repetitions per axis.
    pub reps: Vec<usize>,
}

impl Primitive for Tile {
    fn name(&self) -> String {
        "Tile".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = x.shape()[ax];
                (0..out_shape[ax])
                    .map(|i| (i % n) as isize * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), out_shape, &maps, None)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Repeat each element `repeats` times along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct Repeat {
    /// Repetitions of each element.
    pub repeats: usize,
    /// The (non-negative) axis.
    pub axis: usize,
}

impl Primitive for Repeat {
    fn name(&self) -> String {
        "Repeat".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let r = if ax == self.axis { self.repeats } else { 1 };
                (0..out_shape[ax])
                    .map(|i| (i / r) as isize * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), out_shape, &maps, None)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Shift elements along each axis cyclically (`out[i] = in[(i - shift) mod n]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    /// The shift of every axis (0 for axes not rolled).
    pub shifts: Vec<isize>,
}

impl Primitive for Roll {
    fn name(&self) -> String {
        "Roll".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let shape = x.shape();
        let maps: Vec<Vec<isize>> = (0..x.ndim())
            .map(|ax| {
                let n = shape[ax] as isize;
                (0..n)
                    .map(|i| (i - self.shifts[ax]).rem_euclid(n) * d.strides[ax])
                    .collect()
            })
            .collect();
        outputs[0].set_data(kernels::gather_axes(&d, x.dtype(), shape, &maps, None)?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// The diagonals between two axes, as a view: the other axes in order, then the diagonal.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagonal {
    /// Which diagonal: > 0 above the main one, < 0 below.
    pub offset: isize,
    /// The first (non-negative) axis.
    pub axis1: usize,
    /// The second (non-negative) axis.
    pub axis2: usize,
}

impl Primitive for Diagonal {
    fn name(&self) -> String {
        "Diagonal".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_view(inputs, outputs)
    }
    equivalent_by_eq!();
}

impl Diagonal {
    /// The diagonal view (metadata only, the same on every device).
    fn eval_view(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let d = inputs[0].data()?;
        let out_shape = outputs[0].shape();
        let (a1, a2) = (self.axis1, self.axis2);
        let mut strides: Vec<isize> = (0..d.strides.len())
            .filter(|&i| i != a1 && i != a2)
            .map(|i| d.strides[i])
            .collect();
        strides.push(d.strides[a1] + d.strides[a2]);
        let mut offset = d.offset;
        if outputs[0].size() > 0 {
            let start = if self.offset >= 0 {
                self.offset * d.strides[a2]
            } else {
                -self.offset * d.strides[a1]
            };
            offset = (d.offset as isize + start) as usize;
        }
        outputs[0].set_data(Data::with_layout(
            d.storage.clone(),
            out_shape,
            strides,
            offset,
            None,
        ));
        Ok(())
    }
}

/// A square matrix with the 1-D input on diagonal `k` and zeros elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Diag {
    /// Which diagonal: > 0 above the main one, < 0 below.
    pub k: isize,
}

impl Primitive for Diag {
    fn name(&self) -> String {
        "Diag".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        outputs[0].set_data(kernels::diag_matrix(&d, x.size(), self.k, x.dtype())?);
        Ok(())
    }
    equivalent_by_eq!();
}

/// Reinterpret the bytes of the elements as another dtype (the last axis scales by the
/// ratio of the sizes). A view when the layout allows; viewing as bool normalises every
/// non-zero byte to `true`.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// The dtype the bytes are read as.
    pub dtype: Dtype,
}

/// Strides (in elements of `out_size` bytes) and offset viewing data laid out with
/// `strides`/`offset` (in elements of `in_size` bytes) as the other dtype, if possible.
fn view_layout(
    shape: &[usize],
    strides: &[isize],
    offset: usize,
    in_size: usize,
    out_size: usize,
) -> Option<(Vec<isize>, usize)> {
    if !(offset * in_size).is_multiple_of(out_size) {
        return None;
    }
    let nd = shape.len();
    let mut out = Vec::with_capacity(nd);
    for (i, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        if i + 1 == nd && in_size != out_size {
            if n != 1 && s != 1 {
                return None;
            }
            out.push(1);
        } else {
            let b = s * in_size as isize;
            if b % out_size as isize != 0 {
                return None;
            }
            out.push(b / out_size as isize);
        }
    }
    Some((out, offset * in_size / out_size))
}

impl Primitive for View {
    fn name(&self) -> String {
        "View".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        let out_shape = outputs[0].shape();
        let (is, os) = (x.dtype().size(), self.dtype.size());
        if self.dtype == Dtype::Bool && x.dtype() != Dtype::Bool {
            let c = if d.flags.row_contiguous {
                d
            } else {
                copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?
            };
            outputs[0].set_data(kernels::bytes_to_bool(&c, is, out_shape)?);
            return Ok(());
        }
        if let Some((st, off)) = view_layout(x.shape(), &d.strides, d.offset, is, os) {
            outputs[0].set_data(Data::with_layout(
                d.storage.clone(),
                out_shape,
                st,
                off,
                None,
            ));
            return Ok(());
        }
        let c = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
        outputs[0].set_data(Data::row_contiguous(c.storage, out_shape));
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        use crate::backend::cuda;
        let x = &inputs[0];
        let d = x.data()?;
        let (g, st) = cuda::resolve(outputs[0].stream())?;
        let c = cuda::copy::copy_to_contiguous(g, st, &d, x.shape(), x.dtype(), x.dtype())?;
        outputs[0].set_data(c);
        Ok(())
    }
    equivalent_by_eq!();
}
