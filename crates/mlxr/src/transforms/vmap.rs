//! Vectorising map: `vmap`.

use super::{tape, tracing};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The stand-in for a vmapped input while tracing: it has the unbatched shape and no data.
#[derive(Debug, Clone, PartialEq)]
struct Placeholder;

crate::export::serial::not_exportable!(
    Placeholder,
    "a stand-in for an input of a function being vectorised"
);

impl Primitive for Placeholder {
    fn name(&self) -> String {
        "VmapPlaceholder".into()
    }
    fn eval_cpu(&self, _: &[Array], _: &[Array]) -> Result<()> {
        Err(Error::Unsupported(
            "vmap: the function evaluated (read) a value that depends on a vmapped input while \
             being traced; vmapped functions cannot depend on the values of their inputs"
                .into(),
        ))
    }
    fn eval_gpu(&self, i: &[Array], o: &[Array]) -> Result<()> {
        self.eval_cpu(i, o)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Vectorise `f` over the axes `in_axes` of its arguments (None: the argument is shared by
/// every item; a single entry applies to all arguments). The outputs carry the mapped axis
/// at `out_axes` (one entry per output, or a single entry for all; None only for outputs
/// that do not depend on a mapped input).
pub fn vmap<F>(
    f: F,
    in_axes: &[Option<isize>],
    out_axes: &[Option<isize>],
) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let in_axes = in_axes.to_vec();
    let out_axes = out_axes.to_vec();
    move |args: &[Array]| {
        let axes: Vec<Option<isize>> = if in_axes.len() == 1 && args.len() != 1 {
            vec![in_axes[0]; args.len()]
        } else {
            in_axes.clone()
        };
        if axes.len() != args.len() {
            return Err(Error::InvalidArgument(format!(
                "vmap: {} in_axes given for {} arguments",
                axes.len(),
                args.len()
            )));
        }
        let mut batch: Option<usize> = None;
        let mut norm = Vec::with_capacity(args.len());
        for (i, (a, ax)) in args.iter().zip(&axes).enumerate() {
            match ax {
                None => norm.push(None),
                Some(ax) => {
                    let n = a.ndim() as isize;
                    if *ax < -n || *ax >= n {
                        return Err(Error::InvalidArgument(format!(
                            "vmap: in_axes {ax} is out of bounds for argument {i} with shape {:?}",
                            a.shape()
                        )));
                    }
                    let ax = if *ax < 0 { ax + n } else { *ax } as usize;
                    let b = a.shape()[ax];
                    if let Some(prev) = batch {
                        if prev != b {
                            return Err(Error::Shape(format!(
                                "vmap: inconsistent sizes along the mapped axes: {prev} and {b} \
                                 (argument {i} has shape {:?})",
                                a.shape()
                            )));
                        }
                    }
                    batch = Some(b);
                    norm.push(Some(ax));
                }
            }
        }
        let b = batch.ok_or_else(|| {
            Error::InvalidArgument("vmap: at least one of in_axes must be non-None".into())
        })?;
        let mut placeholders = Vec::with_capacity(args.len());
        let mut mapped: HashMap<(u64, usize), (Array, Option<usize>)> = HashMap::new();
        for (a, ax) in args.iter().zip(&norm) {
            match ax {
                None => placeholders.push(a.clone()),
                Some(ax) => {
                    let mut shape = a.shape().to_vec();
                    shape.remove(*ax);
                    let p = Array::new_node(
                        shape,
                        a.dtype(),
                        Arc::new(Placeholder),
                        vec![],
                        a.stream(),
                    );
                    mapped.insert((p.id(), 0), (a.clone(), Some(*ax)));
                    placeholders.push(p);
                }
            }
        }
        let sources: HashSet<u64> = mapped.keys().map(|k| k.0).collect();
        let outs = tracing(|| f(&placeholders))?;
        let order = tape(&outs, &sources);
        for node in &order {
            if sources.contains(&node.id()) {
                continue;
            }
            let inputs = node.inputs();
            let mut ins = Vec::with_capacity(inputs.len());
            let mut in_ax = Vec::with_capacity(inputs.len());
            for x in &inputs {
                match mapped.get(&(x.id(), x.output_index())) {
                    Some((a, ax)) => {
                        ins.push(a.clone());
                        in_ax.push(*ax);
                    }
                    None => {
                        ins.push(x.clone());
                        in_ax.push(None);
                    }
                }
            }
            let prim = node.primitive().ok_or_else(|| {
                Error::Unsupported("vmap: a traced node lost its primitive".into())
            })?;
            let (vouts, vaxes) = prim.vmap(&ins, &in_ax)?;
            for (o, (v, ax)) in node
                .siblings_and_self()
                .iter()
                .zip(vouts.into_iter().zip(vaxes))
            {
                mapped.insert((o.id(), o.output_index()), (v, ax));
            }
        }
        let oaxes: Vec<Option<isize>> = if out_axes.len() == 1 && outs.len() != 1 {
            vec![out_axes[0]; outs.len()]
        } else {
            out_axes.clone()
        };
        if oaxes.len() != outs.len() {
            return Err(Error::InvalidArgument(format!(
                "vmap: {} out_axes given for {} outputs",
                oaxes.len(),
                outs.len()
            )));
        }
        outs.iter()
            .zip(&oaxes)
            .map(|(o, oax)| {
                let (v, ax) = match mapped.get(&(o.id(), o.output_index())) {
                    Some((v, ax)) => (v.clone(), *ax),
                    None => (o.clone(), None),
                };
                match (ax, oax) {
                    (Some(ax), Some(oax)) => {
                        let dst = ops::normalize_axis(*oax, v.ndim(), "vmap out_axes")?;
                        ops::moveaxis(&v, ax as isize, dst as isize)
                    }
                    (Some(_), None) => Err(Error::InvalidArgument(
                        "vmap: out_axes is None for an output that depends on a mapped input"
                            .into(),
                    )),
                    (None, Some(oax)) => {
                        let dst = ops::normalize_axis(*oax, v.ndim() + 1, "vmap out_axes")?;
                        let e = ops::expand_dims(&v, &[dst as isize])?;
                        let mut shape = e.shape().to_vec();
                        shape[dst] = b;
                        ops::broadcast_to(&e, &shape)
                    }
                    (None, None) => Ok(v),
                }
            })
            .collect()
    }
}
