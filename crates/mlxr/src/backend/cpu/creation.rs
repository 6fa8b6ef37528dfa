//! Array-creation kernels on the CPU: fill with one value (full, zeros, ones), arange,
//! linspace, eye and tri. Each writes a fresh row-contiguous output.

use super::shape::{dispatch_bytes, par_blocks};
use super::strided::{base_slice, SendPtr};
use crate::array::Data;
use crate::dispatch_all;
use crate::dtype::{Dtype, DtypeCategory, Element};
use crate::error::{Error, Result};
use num_complex::Complex32;

/// A fresh row-contiguous array of `shape` with every element equal to the single
/// element of `value` (any layout; its dtype is the output's).
pub fn fill(value: &Data, shape: &[usize], dtype: Dtype) -> Result<Data> {
    let out = Data::alloc(shape, dtype)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(out);
    }
    dispatch_bytes!(dtype.size(), T => {
        let v: T = base_slice::<T>(value).0[value.offset];
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        par_blocks(&[n], |_, _, lo, hi| {
            let dp = dp.ptr();
            // SAFETY: blocks write disjoint ranges of the fresh output.
            unsafe { std::slice::from_raw_parts_mut(dp.add(lo), hi - lo) }.fill(v);
        });
    });
    Ok(out)
}

/// `n` values `start, start + step, ...` of `dtype`, computed as MLX does: the start and
/// the step are first converted to the dtype (the step as `T(start + step) - T(start)`),
/// then the value is accumulated in the dtype (integers wrap).
pub fn arange(start: f64, step: f64, n: usize, dtype: Dtype) -> Result<Data> {
    let out = Data::alloc(&[n], dtype)?;
    match dtype.category() {
        DtypeCategory::Bool => {
            return Err(Error::Dtype(
                "arange: bool is not supported for arange".into(),
            ))
        }
        DtypeCategory::SignedInteger | DtypeCategory::UnsignedInteger => {
            dispatch_all!(dtype, T => {
                let s0 = f64_to_int_bits(start);
                let st = f64_to_int_bits(start + step).wrapping_sub(s0);
                // SAFETY: `out` is fresh storage of that many elements, owned here.
                let o = unsafe { out_slice::<T>(out.host().as_mut_ptr(), n) };
                let mut v = s0;
                for x in o.iter_mut() {
                    *x = T::from_i64(v);
                    v = v.wrapping_add(st);
                }
            })
        }
        DtypeCategory::Floating => dispatch_all!(dtype, T => {
            let s0 = T::from_f64(start);
            let st = T::from_f64(T::from_f64(start + step).to_f64() - s0.to_f64());
            // SAFETY: `out` is fresh storage of that many elements, owned here.
            let o = unsafe { out_slice::<T>(out.host().as_mut_ptr(), n) };
            let mut v = s0;
            for x in o.iter_mut() {
                *x = v;
                v = T::from_f64(v.to_f64() + st.to_f64());
            }
        }),
        DtypeCategory::ComplexFloating => {
            let s0 = start as f32;
            let st = (start + step) as f32 - s0;
            // SAFETY: `out` is fresh storage of that many elements, owned here.
            let o = unsafe { out_slice::<Complex32>(out.host().as_mut_ptr(), n) };
            let mut v = s0;
            for x in o.iter_mut() {
                *x = Complex32::new(v, 0.0);
                v += st;
            }
        }
    }
    Ok(out)
}

/// A float converted to the integer it truncates to, as an i64 bit pattern that wraps to
/// narrower types the way C's conversion does for in-range values.
pub(crate) fn f64_to_int_bits(v: f64) -> i64 {
    if v >= i64::MAX as f64 {
        // Beyond i64: go through u64 (uint64 ranges).
        (v as u64) as i64
    } else {
        v as i64
    }
}

/// The first `n` elements of fresh storage as a mutable slice.
///
/// # Safety
/// `p` must point to storage of at least `n` elements of `T` that nothing else accesses
/// while the slice lives.
unsafe fn out_slice<'a, T: Element>(p: *mut u8, n: usize) -> &'a mut [T] {
    std::slice::from_raw_parts_mut(p as *mut T, n)
}

/// `num` evenly spaced values from `start` to `stop` (inclusive), computed as MLX does:
/// `start·(1 − t) + stop·t` with `t = i / (num − 1)`, in float64 for a float64 output and
/// in float32 otherwise, then converted to `dtype`.
pub fn linspace(start: f64, stop: f64, num: usize, dtype: Dtype) -> Result<Data> {
    let out = Data::alloc(&[num], dtype)?;
    let den = num.saturating_sub(1);
    if dtype == Dtype::Float64 {
        // SAFETY: `out` is fresh storage of that many elements, owned here.
        let o = unsafe { out_slice::<f64>(out.host().as_mut_ptr(), num) };
        for (i, x) in o.iter_mut().enumerate() {
            *x = if num == 1 {
                start
            } else {
                let t = i as f64 / den as f64;
                start * (1.0 - t) + stop * t
            };
        }
        return Ok(out);
    }
    let (s, e) = (start as f32, stop as f32);
    dispatch_all!(dtype, T => {
        // SAFETY: `out` is fresh storage of that many elements, owned here.
        let o = unsafe { out_slice::<T>(out.host().as_mut_ptr(), num) };
        for (i, x) in o.iter_mut().enumerate() {
            let v = if num == 1 {
                s
            } else {
                let t = i as f32 / den as f32;
                s * (1.0 - t) + e * t
            };
            *x = v.cast::<T>();
        }
    });
    Ok(out)
}

/// An `n × m` matrix of `dtype` with ones where `keep(row, col)` holds and zeros elsewhere
/// (the kernel behind eye and tri).
fn mask_matrix<F>(n: usize, m: usize, dtype: Dtype, keep: F) -> Result<Data>
where
    F: Fn(usize, usize) -> bool + Sync + Send,
{
    let out = Data::alloc(&[n, m], dtype)?;
    dispatch_all!(dtype, T => {
        let one = T::from_bool(true);
        let zero = T::default();
        let dp = SendPtr(out.host().as_mut_ptr() as *mut T);
        par_blocks(&[n, m], |first, rows, lo, hi| {
            let dp = dp.ptr();
            for r in first..first + rows {
                for c in lo..hi {
                    // SAFETY: blocks write disjoint elements of the fresh output.
                    unsafe { *dp.add(r * m + c) = if keep(r, c) { one } else { zero } };
                }
            }
        });
    });
    Ok(out)
}

/// `n × m` with ones on diagonal `k` (`col - row == k`).
pub fn eye(n: usize, m: usize, k: isize, dtype: Dtype) -> Result<Data> {
    mask_matrix(n, m, dtype, |r, c| c as isize - r as isize == k)
}

/// `n × m` with ones on and below diagonal `k` (`col - row <= k`).
pub fn tri(n: usize, m: usize, k: isize, dtype: Dtype) -> Result<Data> {
    mask_matrix(n, m, dtype, |r, c| c as isize - r as isize <= k)
}
