//! Shape primitives that change how elements are viewed: `Reshape`, `Transpose`,
//! `Broadcast` (views sharing the input's storage where the layout allows) and `Copy`
//! (materialise row-contiguous data).

use crate::array::{row_strides, Array, Data};
use crate::backend::cpu::copy::copy_to_contiguous;
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
pub fn reshape_strides(shape: &[usize], strides: &[isize], new_shape: &[usize]) -> Option<Vec<isize>> {
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
            out[j] = if i < dims.len() { dims[i].1 * dims[i].0 as isize } else { 1 };
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
        let out = match reshape_strides(x.shape(), &d.strides, &self.shape) {
            Some(st) => Data::with_layout(d.storage.clone(), &self.shape, st, d.offset, None),
            None => {
                let c = copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?;
                Data::row_contiguous(c.storage, &self.shape)
            }
        };
        outputs[0].set_data(out);
        Ok(())
    }
    equivalent_by_eq!();
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
    equivalent_by_eq!();
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
    equivalent_by_eq!();
}

/// Materialise row-contiguous data (`contiguous`).
#[derive(Debug, Clone, PartialEq)]
pub struct Copy;

impl Primitive for Copy {
    fn name(&self) -> String {
        "Copy".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        let x = &inputs[0];
        let d = x.data()?;
        outputs[0].set_data(copy_to_contiguous(&d, x.shape(), x.dtype(), x.dtype())?);
        Ok(())
    }
    equivalent_by_eq!();
}
