//! Function transformations: `vjp`, `jvp`, `grad`, `value_and_grad`, `vmap`,
//! `custom_function`, `checkpoint` and `compile`. Each traces the function on stand-ins for its inputs,
//! finds the part of the graph that depends on them (the tape), and applies the rules each
//! primitive carries (`Primitive::vjp` / `jvp` / `vmap`).

pub mod compile;
pub mod custom;
pub mod jvp;
pub mod vjp;
pub mod vmap;

pub use compile::{compile, compile_enabled, disable_compile, enable_compile, Compiled, GraphInfo};
pub use custom::{checkpoint, custom_function, depends, CustomFunction};
pub use jvp::jvp;
pub use vjp::{grad, value_and_grad, value_and_grad_tree, vjp};
pub use vmap::vmap;

use crate::array::Array;
use crate::error::Result;
use crate::primitive::Primitive;
use std::any::Any;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::Arc;

/// A function of arrays, as the transformations take it.
pub type ArrayFn = Arc<dyn Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync>;

thread_local! {
    static TRACING: Cell<usize> = const { Cell::new(0) };
}

/// Whether a transformation is tracing a function on this thread. While it is, `eval`
/// keeps the graph (does not detach evaluated nodes), so the transformation can still walk it.
pub fn is_tracing() -> bool {
    TRACING.with(|t| t.get() > 0)
}

/// Run `f` with tracing on.
pub(crate) fn tracing<R>(f: impl FnOnce() -> R) -> R {
    TRACING.with(|t| t.set(t.get() + 1));
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            TRACING.with(|t| t.set(t.get() - 1));
        }
    }
    let _d = Done;
    f()
}

/// The stand-in for a traced input: an identity that shares its input's data. Its
/// transformation rules pass cotangents, tangents and batch axes through.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity;

impl Primitive for Identity {
    fn name(&self) -> String {
        "Identity".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(inputs[0].data()?);
        Ok(())
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_cpu(inputs, outputs)
    }
    fn vjp(
        &self,
        _: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        Ok(vec![cotangents[0].clone()])
    }
    fn jvp(&self, _: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![tangents[0].clone()])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((vec![inputs[0].clone()], vec![axes[0]]))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().is::<Self>()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A stand-in node for `a` (same shape, dtype and data; a distinct graph node).
pub(crate) fn stand_in(a: &Array) -> Array {
    Array::new_node(
        a.shape().to_vec(),
        a.dtype(),
        Arc::new(Identity),
        vec![a.clone()],
        a.stream(),
    )
}

/// The nodes between `outputs` and the `sources` (node ids), in topological order: every
/// node reachable from `outputs` that depends on a source (sources included). Returns one
/// array per node (output 0; use `siblings_and_self` for the rest).
pub(crate) fn tape(outputs: &[Array], sources: &HashSet<u64>) -> Vec<Array> {
    let mut visited: HashSet<u64> = HashSet::new();
    let mut depends: HashSet<u64> = HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<(Array, Vec<Array>, usize)> = Vec::new();
    for o in outputs {
        if !visited.insert(o.id()) {
            continue;
        }
        let ins = if sources.contains(&o.id()) {
            vec![]
        } else {
            o.inputs()
        };
        stack.push((o.clone(), ins, 0));
        while let Some(top) = stack.last_mut() {
            if top.2 < top.1.len() {
                let c = top.1[top.2].clone();
                top.2 += 1;
                if visited.insert(c.id()) {
                    let ins = if sources.contains(&c.id()) {
                        vec![]
                    } else {
                        c.inputs()
                    };
                    stack.push((c, ins, 0));
                }
            } else {
                let (a, ins, _) = stack.pop().expect("non-empty");
                let dep =
                    sources.contains(&a.id()) || ins.iter().any(|i| depends.contains(&i.id()));
                if dep {
                    depends.insert(a.id());
                    let first = Array {
                        node: a.node.clone(),
                        out: 0,
                    };
                    order.push(first);
                }
            }
        }
    }
    order
}
