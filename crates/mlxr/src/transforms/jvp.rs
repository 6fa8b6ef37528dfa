//! Forward mode: `jvp`.

use super::{stand_in, tape, tracing};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops;
use std::collections::{HashMap, HashSet};

/// Jacobian-vector product of `f` at `primals` along `tangents` (one per primal, same
/// shapes). Returns `f`'s outputs and their tangents.
pub fn jvp<F>(f: F, primals: &[Array], tangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    if primals.len() != tangents.len() {
        return Err(Error::InvalidArgument(format!(
            "jvp: {} primals but {} tangents were given",
            primals.len(),
            tangents.len()
        )));
    }
    for (p, t) in primals.iter().zip(tangents) {
        if p.shape() != t.shape() {
            return Err(Error::Shape(format!(
                "jvp: primal shape {:?} does not match tangent shape {:?}",
                p.shape(),
                t.shape()
            )));
        }
    }
    let ins: Vec<Array> = primals.iter().map(stand_in).collect();
    let outs = tracing(|| f(&ins))?;
    let sources: HashSet<u64> = ins.iter().map(|a| a.id()).collect();
    let order = tape(&outs, &sources);
    let mut tan: HashMap<(u64, usize), Array> = HashMap::new();
    for (s, t) in ins.iter().zip(tangents) {
        let prev = tan.remove(&(s.id(), 0));
        let t = match prev {
            Some(p) => ops::add(&p, t)?,
            None => t.clone(),
        };
        tan.insert((s.id(), 0), t);
    }
    for node in &order {
        if sources.contains(&node.id()) {
            continue;
        }
        let inputs = node.inputs();
        let prim = node
            .primitive()
            .ok_or_else(|| Error::Unsupported("jvp: a traced node lost its primitive".into()))?;
        let argnums: Vec<usize> = (0..inputs.len())
            .filter(|&i| {
                tan.contains_key(&(inputs[i].id(), inputs[i].output_index()))
                    && prim.differentiable_input(i)
            })
            .collect();
        if argnums.is_empty() {
            continue;
        }
        let ts: Vec<Array> = argnums
            .iter()
            .map(|&i| tan[&(inputs[i].id(), inputs[i].output_index())].clone())
            .collect();
        let outs_t = prim.jvp(&inputs, &ts, &argnums)?;
        let outputs = node.siblings_and_self();
        if outs_t.len() != outputs.len() {
            return Err(Error::Unsupported(format!(
                "jvp: {} returned {} tangents for {} outputs",
                prim.name(),
                outs_t.len(),
                outputs.len()
            )));
        }
        for (o, t) in outputs.iter().zip(outs_t) {
            tan.insert((o.id(), o.output_index()), t);
        }
    }
    let tangents_out = outs
        .iter()
        .map(|o| match tan.get(&(o.id(), o.output_index())) {
            Some(t) => Ok(t.clone()),
            None => ops::zeros_like(o),
        })
        .collect::<Result<_>>()?;
    Ok((outs, tangents_out))
}
