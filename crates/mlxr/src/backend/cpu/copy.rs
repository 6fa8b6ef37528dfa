//! Copies on the CPU: strided → row-contiguous, with an optional dtype conversion
//! (the kernels behind `contiguous`, `astype`, reshape of non-contiguous data, and reads).

use super::strided::{base_slice, collapse, par_rows, RowWalker, SendPtr};
use crate::array::Data;
use crate::dtype::{Dtype, Element};
use crate::error::Result;
use crate::{dispatch_all, Array};

/// Copy `src` (with its layout) into fresh row-contiguous storage of dtype `to`.
pub fn copy_to_contiguous(src: &Data, shape: &[usize], from: Dtype, to: Dtype) -> Result<Data> {
    let out = Data::alloc(shape, to)?;
    dispatch_all!(from, S => dispatch_all!(to, D => {
        copy_cast_into::<S, D>(src, shape, &out);
    }));
    Ok(out)
}

/// Copy and convert the elements of `src` into the row-contiguous `dst`.
pub fn copy_cast_into<S: Element, D: Element>(src: &Data, shape: &[usize], dst: &Data) {
    let n: usize = shape.iter().product();
    if n == 0 {
        return;
    }
    let (s, sbase) = base_slice::<S>(src);
    let dp = SendPtr(dst.host().as_mut_ptr() as *mut D);
    let dst_off = dst.offset;
    if src.flags.row_contiguous {
        let s = &s[sbase as usize..][..n];
        // SAFETY: dst is fresh, row-contiguous with n elements past its offset.
        let d = unsafe { std::slice::from_raw_parts_mut(dp.0.add(dst_off), n) };
        if n >= super::PAR_THRESHOLD {
            use rayon::prelude::*;
            d.par_chunks_mut(1 << 14)
                .zip(s.par_chunks(1 << 14))
                .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(d, &s)| *d = s.cast()));
        } else {
            d.iter_mut().zip(s).for_each(|(d, &s)| *d = s.cast());
        }
        return;
    }
    let ostr = crate::array::row_strides(shape);
    let (cs, st) = collapse(shape, &[&ostr, &src.strides]);
    let inner = *cs.last().expect("non-empty");
    let sstride = st[1][st[1].len() - 1];
    par_rows(&cs, &st, true, |first, rows| {
        let dp = dp;
        let mut w = RowWalker::new(first, &cs, &st);
        for _ in 0..rows {
            let o = w.offsets[0] as usize + dst_off;
            let so = sbase + w.offsets[1];
            for i in 0..inner {
                let v = s[(so + i as isize * sstride) as usize];
                // SAFETY: each row writes its own disjoint range of dst.
                unsafe { *dp.0.add(o + i) = v.cast() };
            }
            w.next_row();
        }
    });
}

/// The elements of `src` in row-major order, converted to `T`.
pub fn gather_to_vec<T: Element>(src: &Data, shape: &[usize], dtype: Dtype) -> Vec<T> {
    let n: usize = shape.iter().product();
    let out = Data::alloc(shape, T::DTYPE).expect("host allocation");
    dispatch_all!(dtype, S => copy_cast_into::<S, T>(src, shape, &out));
    out.slice::<T>()[..n].to_vec()
}

/// Row-contiguous data for an evaluated array: its own data when already row-contiguous,
/// else a copy.
pub fn contiguous_data(a: &Array) -> Result<Data> {
    let d = a.data()?;
    if d.flags.row_contiguous {
        Ok(d)
    } else {
        copy_to_contiguous(&d, a.shape(), a.dtype(), a.dtype())
    }
}
