//! Fused optimizer updates on the GPU, the twin of backend/cpu/optim.rs: one Adam/AdamW
//! step of float32 parameters in one kernel (`kernels/optim.cu`), instead of about a
//! dozen elementwise kernels per parameter.

use super::copy::copy_to_contiguous;
use super::kernels::{Group, Program};
use super::{data_ptr, RawStream};
use crate::array::{Array, Data};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::ffi::c_void;

/// `kernels/optim.cu`: fused optimizer steps.
pub static OPTIM: Program = Program {
    name: "optim",
    source: include_str!("kernels/optim.cu"),
};

const IDX: [&str; 2] = ["int", "long long"];

fn names(idx: &str) -> Vec<String> {
    vec![format!("mlxr::adam_step<{idx}>")]
}

/// The compile groups of the optimizer kernels.
pub fn kernel_groups() -> Vec<Group> {
    IDX.iter()
        .map(|idx| Group {
            program: &OPTIM,
            names: names(idx),
        })
        .collect()
}

/// Evaluate `AdamStep` on the GPU. Inputs: p, g, m, v (float32, one shape), then the 0-d
/// float32 scalars a, [c2 when `bias`], [decay when `decay`]; outputs p', m', v'.
pub fn adam_step_gpu(
    consts: (f32, f32, f32),
    bias: bool,
    decay: bool,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    let (b1, b2, eps) = consts;
    if inputs.iter().any(|a| a.dtype() != Dtype::Float32) {
        return Err(Error::Dtype(
            "adam_step on the GPU: every input must be float32".into(),
        ));
    }
    let (g, st) = super::resolve(outputs[0].stream())?;
    let shape = inputs[0].shape();
    let n: usize = shape.iter().product();
    let dense = |a: &Array, st: RawStream| -> Result<Data> {
        let d = a.data()?;
        if d.flags.row_contiguous {
            Ok(d)
        } else {
            copy_to_contiguous(g, st, &d, a.shape(), Dtype::Float32, Dtype::Float32)
        }
    };
    let ins: Vec<Data> = inputs
        .iter()
        .map(|a| dense(a, st))
        .collect::<Result<_>>()?;
    let outs: Vec<Data> = (0..3)
        .map(|_| g.alloc(shape, Dtype::Float32, st))
        .collect::<Result<_>>()?;
    if n > 0 {
        let small = n < (1 << 30);
        let idx = IDX[!small as usize];
        let f = g.function(&OPTIM, &names(idx)[0], || names(idx))?;
        let mut ptrs: Vec<u64> = ins[..5]
            .iter()
            .map(|d| data_ptr(d, Dtype::Float32))
            .collect();
        let mut k = 5;
        let mut opt = |on: bool| -> u64 {
            if on {
                k += 1;
                data_ptr(&ins[k - 1], Dtype::Float32)
            } else {
                0
            }
        };
        ptrs.push(opt(bias));
        ptrs.push(opt(decay));
        ptrs.extend(outs.iter().map(|d| data_ptr(d, Dtype::Float32)));
        let (mut n32, mut n64) = (n as i32, n as i64);
        let mut scal = [b1, 1.0 - b1, b2, 1.0 - b2, eps];
        let mut args: Vec<*mut c_void> = ptrs
            .iter_mut()
            .map(|p| p as *mut u64 as *mut c_void)
            .collect();
        if small {
            args.push(&mut n32 as *mut i32 as *mut c_void);
        } else {
            args.push(&mut n64 as *mut i64 as *mut c_void);
        }
        args.extend(scal.iter_mut().map(|s| s as *mut f32 as *mut c_void));
        g.launch(f, n, st, &mut args)?;
    }
    for (o, d) in outputs.iter().zip(outs) {
        o.set_data(d);
    }
    Ok(())
}
