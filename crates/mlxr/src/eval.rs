//! Evaluation: order the unevaluated part of the graph topologically, run each primitive
//! on its stream's device, and detach evaluated nodes from their inputs.

use crate::array::{Array, Node};
use crate::device::DeviceType;
use crate::error::{Error, Result};
use std::collections::HashSet;
use std::sync::Arc;

/// Evaluate the given arrays (and everything they depend on that is not yet evaluated),
/// waiting until the work is done.
pub fn eval(outputs: &[Array]) -> Result<()> {
    eval_impl(outputs, true)
}

/// Start evaluating the given arrays. CPU work is done before this returns; GPU work may
/// still be running on its streams. Reads of the arrays are valid afterwards either way
/// (they wait for the GPU).
pub fn async_eval(outputs: &[Array]) -> Result<()> {
    eval_impl(outputs, false)
}

fn eval_impl(outputs: &[Array], wait: bool) -> Result<()> {
    let mut order = topo_order(outputs);
    #[cfg(feature = "cuda")]
    let mut gpu_streams: Vec<crate::device::Stream> = Vec::new();
    for slot in order.iter_mut() {
        let node = slot.take().expect("each node once");
        #[cfg(feature = "cuda")]
        if node.stream.device.kind == DeviceType::Gpu && !gpu_streams.contains(&node.stream) {
            gpu_streams.push(node.stream);
        }
        eval_node(node)?;
    }
    #[cfg(feature = "cuda")]
    if wait {
        for s in gpu_streams {
            crate::backend::cuda::synchronize(s)?;
        }
    }
    let _ = wait;
    Ok(())
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
    let tracing = crate::transforms::is_tracing();
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
        // While a transformation traces, the graph must survive evaluation: keep the
        // inputs (a clone also keeps their buffers from being donated) and the primitive.
        if tracing {
            (prim, st.inputs.clone())
        } else {
            (prim, std::mem::take(&mut st.inputs))
        }
    };
    let outputs: Vec<Array> = (0..node.outputs.len())
        .map(|out| Array {
            node: node.clone(),
            out,
        })
        .collect();
    let res = run_primitive(&*prim, node.stream, &inputs, &outputs);
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
            if tracing {
                st.inputs = inputs;
            } else {
                st.primitive = None;
            }
            Ok(())
        }
        Err(e) => {
            st.inputs = inputs;
            Err(e)
        }
    }
}

/// Run a primitive on its stream's device.
#[cfg(not(feature = "cuda"))]
fn run_primitive(
    prim: &dyn crate::Primitive,
    stream: crate::device::Stream,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    match stream.device.kind {
        DeviceType::Cpu => prim.eval_cpu(inputs, outputs),
        DeviceType::Gpu => prim.eval_gpu(inputs, outputs),
    }
}

/// Run a primitive on its stream's device, first moving its inputs' data there (and
/// ordering reads across GPU streams).
#[cfg(feature = "cuda")]
fn run_primitive(
    prim: &dyn crate::Primitive,
    stream: crate::device::Stream,
    inputs: &[Array],
    outputs: &[Array],
) -> Result<()> {
    use crate::backend::cuda;
    cuda::prepare_inputs(stream, inputs)?;
    match stream.device.kind {
        DeviceType::Cpu => prim.eval_cpu(inputs, outputs),
        DeviceType::Gpu if cuda::profile::enabled() => {
            let (_, st) = cuda::resolve(stream)?;
            let span = cuda::profile::begin(st)?;
            prim.eval_gpu(inputs, outputs)?;
            let name = prim.name();
            let key = format!(
                "{name} {} {:?}{}",
                outputs[0].dtype(),
                outputs[0].shape(),
                inputs
                    .iter()
                    .map(|x| format!(" <- {:?}", x.shape()))
                    .collect::<String>()
            );
            cuda::profile::end(span, st, name, key)?;
            cuda::finish_inputs(stream, inputs)
        }
        DeviceType::Gpu => {
            prim.eval_gpu(inputs, outputs)?;
            cuda::finish_inputs(stream, inputs)
        }
    }
}

/// Wait until the work queued on the default GPU stream has finished (a no-op without a
/// GPU: on the CPU `eval` returns after the work is done).
pub fn synchronize() -> Result<()> {
    #[cfg(feature = "cuda")]
    if crate::device::gpu_is_available() {
        let gpu = crate::device::Device {
            kind: DeviceType::Gpu,
            index: 0,
        };
        crate::backend::cuda::synchronize(crate::device::default_stream(gpu))?;
    }
    Ok(())
}

/// The GPU profile gathered since the last call when `MLXR_PROFILE=1` is set: GPU time
/// and host (queueing) time per primitive and per primitive/dtype/shape, the `rows`
/// heaviest of each (see `backend/cuda/profile.rs`). None when profiling is off or
/// without the `cuda` feature.
pub fn gpu_profile_report(rows: usize) -> Result<Option<String>> {
    #[cfg(feature = "cuda")]
    {
        crate::backend::cuda::profile::report(rows)
    }
    #[cfg(not(feature = "cuda"))]
    {
        let _ = rows;
        Ok(None)
    }
}
