//! Reverse mode: `vjp`, `grad`, `value_and_grad`.

use super::{stand_in, tape, tracing};
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops;
use crate::tree::{tree_flatten, tree_map, Tree};
use std::collections::{HashMap, HashSet};

type Key = (u64, usize);

fn key(a: &Array) -> Key {
    (a.id(), a.output_index())
}

fn accumulate(map: &mut HashMap<Key, Array>, k: Key, g: Array) -> Result<()> {
    let v = match map.remove(&k) {
        Some(prev) => ops::add(&prev, &g)?,
        None => g,
    };
    map.insert(k, v);
    Ok(())
}

/// Vector-Jacobian product of `f` at `primals` with `cotangents` (one per output of `f`).
/// Returns `f`'s outputs and the cotangents of the primals (zeros for primals the outputs
/// do not depend on).
pub fn vjp<F>(f: F, primals: &[Array], cotangents: &[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    vjp_with(f, primals, |outs| {
        if outs.len() != cotangents.len() {
            return Err(Error::InvalidArgument(format!(
                "vjp: the function returned {} outputs but {} cotangents were given",
                outs.len(),
                cotangents.len()
            )));
        }
        Ok(cotangents.iter().cloned().map(Some).collect())
    })
}

/// The engine behind `vjp` and `grad`: trace `f` on stand-ins for `primals`, ask
/// `seed(outputs)` for the outputs' cotangents (None: that output gets none), and walk the
/// tape backwards applying each primitive's vjp rule.
pub(crate) fn vjp_with<F, S>(f: F, primals: &[Array], seed: S) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
    S: FnOnce(&[Array]) -> Result<Vec<Option<Array>>>,
{
    let ins: Vec<Array> = primals.iter().map(stand_in).collect();
    let outs = tracing(|| f(&ins))?;
    let cotangents = seed(&outs)?;
    for (o, c) in outs.iter().zip(&cotangents) {
        if let Some(c) = c {
            if o.shape() != c.shape() {
                return Err(Error::Shape(format!(
                    "vjp: output shape {:?} does not match cotangent shape {:?}. If you are \
                     using grad, your function must return a scalar.",
                    o.shape(),
                    c.shape()
                )));
            }
        }
    }
    let sources: HashSet<u64> = ins.iter().map(|a| a.id()).collect();
    let seeded: Vec<Array> = outs
        .iter()
        .zip(&cotangents)
        .filter(|(_, c)| c.is_some())
        .map(|(o, _)| o.clone())
        .collect();
    let order = tape(&seeded, &sources);
    let on_tape: HashSet<u64> = order.iter().map(|a| a.id()).collect();
    let mut cot: HashMap<Key, Array> = HashMap::new();
    for (o, c) in outs.iter().zip(cotangents) {
        if let Some(c) = c {
            if on_tape.contains(&o.id()) {
                accumulate(&mut cot, key(o), c)?;
            }
        }
    }
    for node in order.iter().rev() {
        if sources.contains(&node.id()) {
            continue;
        }
        let outputs = node.siblings_and_self();
        let cts: Vec<Option<Array>> = outputs.iter().map(|o| cot.remove(&key(o))).collect();
        if cts.iter().all(|c| c.is_none()) {
            continue;
        }
        let cts: Vec<Array> = cts
            .into_iter()
            .zip(&outputs)
            .map(|(c, o)| c.map_or_else(|| ops::zeros_like(o), Ok))
            .collect::<Result<_>>()?;
        let inputs = node.inputs();
        let prim = node
            .primitive()
            .ok_or_else(|| Error::Unsupported("vjp: a traced node lost its primitive".into()))?;
        let argnums: Vec<usize> = (0..inputs.len())
            .filter(|&i| on_tape.contains(&inputs[i].id()) && prim.differentiable_input(i))
            .collect();
        if argnums.is_empty() {
            continue;
        }
        let grads = prim.vjp(&inputs, &cts, &argnums, &outputs)?;
        if grads.len() != argnums.len() {
            return Err(Error::Unsupported(format!(
                "vjp: {} returned {} cotangents for {} inputs",
                prim.name(),
                grads.len(),
                argnums.len()
            )));
        }
        for (&i, g) in argnums.iter().zip(grads) {
            if g.shape() != inputs[i].shape() {
                return Err(Error::Shape(format!(
                    "vjp: {} produced a cotangent of shape {:?} for an input of shape {:?}",
                    prim.name(),
                    g.shape(),
                    inputs[i].shape()
                )));
            }
            accumulate(&mut cot, key(&inputs[i]), g)?;
        }
    }
    let grads = ins
        .iter()
        .zip(primals)
        .map(|(s, p)| match cot.remove(&key(s)) {
            Some(g) => ops::astype(&g, p.dtype()),
            None => ops::zeros_like(p),
        })
        .collect::<Result<_>>()?;
    Ok((outs, grads))
}

fn check_argnums(op: &str, argnums: &[usize], args: &[Array]) -> Result<()> {
    if argnums.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{op}: argnums must name at least one argument"
        )));
    }
    for &i in argnums {
        let a = args.get(i).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "{op}: argnum {i} is out of range for a function called with {} arguments",
                args.len()
            ))
        })?;
        if !a.dtype().is_inexact() {
            return Err(Error::Dtype(format!(
                "{op}: cannot differentiate with respect to argument {i} of integer or bool \
                 dtype {}; convert it to a floating type",
                a.dtype()
            )));
        }
    }
    Ok(())
}

/// `value_and_grad(f, argnums)`: a function returning `f`'s outputs and the gradient of its
/// first output (which must be a scalar) with respect to the arguments in `argnums`. Further
/// outputs are returned as auxiliary values and not differentiated.
pub fn value_and_grad<F>(
    f: F,
    argnums: &[usize],
) -> impl Fn(&[Array]) -> Result<(Vec<Array>, Vec<Array>)>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let argnums = argnums.to_vec();
    move |args: &[Array]| {
        check_argnums("value_and_grad", &argnums, args)?;
        let diff: Vec<Array> = argnums.iter().map(|&i| args[i].clone()).collect();
        vjp_with(
            |xs: &[Array]| {
                let mut full = args.to_vec();
                for (&i, x) in argnums.iter().zip(xs) {
                    full[i] = x.clone();
                }
                f(&full)
            },
            &diff,
            |outs| {
                let first = outs.first().ok_or_else(|| {
                    Error::InvalidArgument(
                        "value_and_grad: the function returned no outputs".into(),
                    )
                })?;
                if first.ndim() != 0 {
                    return Err(Error::Shape(format!(
                        "grad: the function must return a scalar (0-d) array as its first \
                         output; it returned shape {:?}",
                        first.shape()
                    )));
                }
                let mut seeds = vec![Some(ops::ones_like(first)?)];
                seeds.resize(outs.len(), None);
                Ok(seeds)
            },
        )
    }
}

/// `grad(f, argnums)`: the gradient of `f`'s first output (a scalar) with respect to the
/// arguments in `argnums`.
pub fn grad<F>(f: F, argnums: &[usize]) -> impl Fn(&[Array]) -> Result<Vec<Array>>
where
    F: Fn(&[Array]) -> Result<Vec<Array>>,
{
    let vg = value_and_grad(f, argnums);
    move |args: &[Array]| vg(args).map(|(_, g)| g)
}

/// `value_and_grad` over a tree of parameters (what `nn.value_and_grad` builds on): `f`
/// takes the parameters and further (constant) arguments; the result has `f`'s outputs and
/// the gradient of its first output (a scalar) as a tree of the same structure. Leaves of
/// integer or bool dtype are held constant and get zero gradients.
pub fn value_and_grad_tree<F>(f: F) -> impl Fn(&Tree, &[Array]) -> Result<(Vec<Array>, Tree)>
where
    F: Fn(&Tree, &[Array]) -> Result<Vec<Array>>,
{
    move |params: &Tree, args: &[Array]| {
        let leaves: Vec<Array> = tree_flatten(params).into_iter().map(|(_, a)| a).collect();
        let diff: Vec<usize> = (0..leaves.len())
            .filter(|&i| leaves[i].dtype().is_inexact())
            .collect();
        let rebuild = |xs: &[Array]| -> Result<Tree> {
            let mut full = leaves.clone();
            for (&i, x) in diff.iter().zip(xs) {
                full[i] = x.clone();
            }
            let mut it = full.into_iter();
            tree_map(params, &mut |_| {
                it.next()
                    .ok_or_else(|| Error::InvalidArgument("value_and_grad: tree changed".into()))
            })
        };
        let primals: Vec<Array> = diff.iter().map(|&i| leaves[i].clone()).collect();
        let (outs, grads) = if primals.is_empty() {
            (f(params, args)?, vec![])
        } else {
            vjp_with(
                |xs: &[Array]| f(&rebuild(xs)?, args),
                &primals,
                |outs| {
                    let first = outs.first().ok_or_else(|| {
                        Error::InvalidArgument(
                            "value_and_grad: the function returned no outputs".into(),
                        )
                    })?;
                    if first.ndim() != 0 {
                        return Err(Error::Shape(format!(
                            "grad: the function must return a scalar (0-d) array as its \
                             first output; it returned shape {:?}",
                            first.shape()
                        )));
                    }
                    let mut seeds = vec![Some(ops::ones_like(first)?)];
                    seeds.resize(outs.len(), None);
                    Ok(seeds)
                },
            )?
        };
        let mut full: Vec<Array> = leaves.iter().map(ops::zeros_like).collect::<Result<_>>()?;
        for (&i, g) in diff.iter().zip(grads) {
            full[i] = g;
        }
        let mut it = full.into_iter();
        let g = tree_map(params, &mut |_| {
            it.next()
                .ok_or_else(|| Error::InvalidArgument("value_and_grad: tree changed".into()))
        })?;
        Ok((outs, g))
    }
}
