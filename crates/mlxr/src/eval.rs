//! Evaluation: order the unevaluated part of the graph topologically, run each primitive
//! on its stream's device, and detach evaluated nodes from their inputs.

use crate::array::{Array, Node};
use crate::device::DeviceType;
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::sync::Arc;

/// Evaluate the given arrays (and everything they depend on that is not yet evaluated).
pub fn eval(outputs: &[Array]) -> Result<()> {
    let mut order = topo_order(outputs);
    for i in 0..order.len() {
        let node = order[i].take().expect("each node once");
        eval_node(node)?;
    }
    Ok(())
}

/// Start evaluating the given arrays. On the CPU this evaluates them before returning;
/// reads of the arrays are valid afterwards either way.
pub fn async_eval(outputs: &[Array]) -> Result<()> {
    eval(outputs)
}

/// Post-order of the unevaluated nodes reachable from `outputs` (iterative, so deep
/// graphs do not overflow the stack).
fn topo_order(outputs: &[Array]) -> Vec<Option<Arc<Node>>> {
    let mut visited: HashSet<u64> = HashSet::new();
    let mut order = Vec::new();
    // (node, inputs snapshot, next input index)
    let mut stack: Vec<(Arc<Node>, Vec<Array>, usize)> = Vec::new();
    for a in outputs {
        if visited.contains(&a.node.id) || a.is_evaluated() {
            continue;
        }
        visited.insert(a.node.id);
        let inputs = a.node.lock().inputs.clone();
        stack.push((a.node.clone(), inputs, 0));
        while let Some(top) = stack.last_mut() {
            if top.2 < top.1.len() {
                let child = top.1[top.2].clone();
                top.2 += 1;
                if visited.contains(&child.node.id) {
                    continue;
                }
                visited.insert(child.node.id);
                let st = child.node.lock();
                if st.primitive.is_none() || st.data.iter().all(|d| d.is_some()) {
                    continue;
                }
                let inputs = st.inputs.clone();
                drop(st);
                stack.push((child.node.clone(), inputs, 0));
            } else {
                let (node, _, _) = stack.pop().expect("non-empty");
                order.push(Some(node));
            }
        }
    }
    order
}

fn eval_node(node: Arc<Node>) -> Result<()> {
    let (prim, inputs) = {
        let mut st = node.lock();
        if st.data.iter().all(|d| d.is_some()) {
            return Ok(());
        }
        let prim = match &st.primitive {
            Some(p) => p.clone(),
            None => {
                return Err(Error::Unsupported(
                    "an array without data or primitive was evaluated".into(),
                ))
            }
        };
        (prim, std::mem::take(&mut st.inputs))
    };
    let outputs: Vec<Array> = (0..node.outputs.len())
        .map(|out| Array {
            node: node.clone(),
            out,
        })
        .collect();
    let res = match node.stream.device.kind {
        DeviceType::Cpu => prim.eval_cpu(&inputs, &outputs),
        DeviceType::Gpu => prim.eval_gpu(&inputs, &outputs),
    };
    let mut st = node.lock();
    match res {
        Ok(()) => {
            if st.data.iter().any(|d| d.is_none()) {
                st.inputs = inputs;
                return Err(Error::Unsupported(format!(
                    "{}: eval did not produce every output",
                    prim.name()
                )));
            }
            st.primitive = None;
            Ok(())
        }
        Err(e) => {
            st.inputs = inputs;
            Err(e)
        }
    }
}

/// Wait until all work scheduled on every device has finished (a no-op for the CPU, where
/// `eval` returns after the work is done).
pub fn synchronize() -> Result<()> {
    Ok(())
}
