//! Fused optimizer updates on the CPU (the twin of backend/cuda/optim.rs): one Adam/AdamW
//! step of float32 parameters in one pass, with the composed ops' arithmetic (same bits).

use super::PAR_THRESHOLD;
use crate::buffer::{HostBuffer, Storage};
use crate::array::Data;
use crate::error::Result;
use rayon::prelude::*;
use std::sync::Arc;

/// The constants of one Adam step (see [`adam_step`]).
#[derive(Debug, Clone, Copy)]
pub struct AdamConsts {
    /// First-moment decay.
    pub b1: f32,
    /// Second-moment decay.
    pub b2: f32,
    /// Added to the denominator.
    pub eps: f32,
    /// The learning rate (or the bias-corrected `lr / (1 - b1^t)`).
    pub a: f32,
    /// The second-moment bias correction `1 / sqrt(1 - b2^t)` (1 without).
    pub c2: f32,
    /// The weight-decay factor `1 - lr * wd` (None: no decay).
    pub decay: Option<f32>,
}

/// One Adam step over row-contiguous float32 `p`, `g`, `m`, `v` of `n` elements:
/// `m' = m*b1 + g*(1-b1)`, `v' = v*b2 + g²*(1-b2)`,
/// `p' = p*decay - (a*m') / (sqrt(v')*c2 + eps)`; returns fresh data for (p', m', v').
pub fn adam_step(
    p: &Data,
    g: &Data,
    m: &Data,
    v: &Data,
    shape: &[usize],
    k: AdamConsts,
) -> Result<[Data; 3]> {
    let n: usize = shape.iter().product();
    let bytes = n * 4;
    let (mut po, mut mo, mut vo) = (
        HostBuffer::new(bytes, false)?,
        HostBuffer::new(bytes, false)?,
        HostBuffer::new(bytes, false)?,
    );
    if n > 0 {
        let (p, g, m, v) = (
            &p.slice::<f32>()[..n],
            &g.slice::<f32>()[..n],
            &m.slice::<f32>()[..n],
            &v.slice::<f32>()[..n],
        );
        let (omb1, omb2) = (1.0 - k.b1, 1.0 - k.b2);
        let run = |(((po, mo), vo), i0): (((&mut [f32], &mut [f32]), &mut [f32]), usize)| {
            for j in 0..po.len() {
                let i = i0 + j;
                let gi = g[i];
                let mi = m[i] * k.b1 + gi * omb1;
                let vi = v[i] * k.b2 + gi * gi * omb2;
                let pd = match k.decay {
                    Some(d) => p[i] * d,
                    None => p[i],
                };
                po[j] = pd - (k.a * mi) / (vi.sqrt() * k.c2 + k.eps);
                mo[j] = mi;
                vo[j] = vi;
            }
        };
        let (pos, mos, vos) = (
            po.as_mut_slice::<f32>(),
            mo.as_mut_slice::<f32>(),
            vo.as_mut_slice::<f32>(),
        );
        let ch = if n >= PAR_THRESHOLD { PAR_THRESHOLD } else { n };
        let starts: Vec<usize> = (0..n).step_by(ch).collect();
        if n >= PAR_THRESHOLD {
            pos.par_chunks_mut(ch)
                .zip(mos.par_chunks_mut(ch))
                .zip(vos.par_chunks_mut(ch))
                .zip(starts.into_par_iter())
                .for_each(run);
        } else {
            run((((pos, mos), vos), 0));
        }
    }
    let wrap = |b: HostBuffer| Data::row_contiguous(Arc::new(Storage::Host(b)), shape);
    Ok([wrap(po), wrap(mo), wrap(vo)])
}
