//! `compile`: trace a function once per input signature into a graph (a tape of primitive
//! applications over the inputs and captured constants), simplify it (common
//! subexpression merging, dead-code removal) and replay the tape on later calls, without
//! calling the function again.
//!
//! The replay builds ordinary lazy nodes with the traced primitives, so a compiled
//! function's result composes with `grad`, `vjp`, `jvp`, `vmap` and `eval` like any graph.
//! Arrays the function captures from outside (not inputs) are constants baked into the
//! tape, as in MLX: rebinding them later does not change the compiled function. Random
//! samplers called without a key inside the function draw from a constant key (the same
//! numbers on every call) unless the global key is an input of the function
//! ([`crate::random::state`] / [`crate::random::set_state`], which Python's
//! `mx.compile(.., inputs=mx.random.state, outputs=mx.random.state)` uses).
//!
//! Kernel fusion is not done yet: compiling removes the cost of calling the function
//! (Python overhead, op validation) and duplicate work, not kernel launches.

use super::{tape, tracing};
use crate::array::Array;
use crate::device::{Stream, StreamOrDevice};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use crate::primitives::shape::{Broadcast, Reshape};
use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// 0: not read from the environment yet; 1: enabled; 2: disabled.
static ENABLED: AtomicU8 = AtomicU8::new(0);

/// Whether compiled functions trace and replay (true unless [`disable_compile`] was called
/// or the environment variable `MLXR_DISABLE_COMPILE` is set to a value other than `0` or
/// empty). When disabled, a compiled function calls the original function every time.
pub fn compile_enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let off = std::env::var("MLXR_DISABLE_COMPILE")
                .map(|v| !v.is_empty() && v != "0")
                .unwrap_or(false);
            ENABLED.store(if off { 2 } else { 1 }, Ordering::Relaxed);
            !off
        }
    }
}

/// Turn compilation off globally (MLX's `mx.disable_compile`): compiled functions call
/// the original function.
pub fn disable_compile() {
    ENABLED.store(2, Ordering::Relaxed);
}

/// Turn compilation back on globally (MLX's `mx.enable_compile`).
pub fn enable_compile() {
    ENABLED.store(1, Ordering::Relaxed);
}

/// The stand-in for a compiled function's input while it is traced: the input's shape and
/// dtype, no data.
#[derive(Debug, Clone, PartialEq)]
struct Placeholder;

crate::export::serial::not_exportable!(
    Placeholder,
    "a stand-in for an input of a function being compiled"
);

impl Primitive for Placeholder {
    fn name(&self) -> String {
        "CompilePlaceholder".into()
    }
    fn eval_cpu(&self, _: &[Array], _: &[Array]) -> Result<()> {
        Err(Error::Unsupported(
            "compile: the function evaluated (read) a value that depends on an input while \
             being traced; compiled functions cannot depend on the values of their inputs \
             (use ops such as `where` instead of control flow on values)"
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

/// Where a tape node's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Ref {
    /// The compiled function's input `i`.
    Input(usize),
    /// Captured constant `i`.
    Const(usize),
    /// Output `out` of tape node `node`.
    Node { node: usize, out: usize },
}

/// One primitive application of the tape.
pub(crate) struct TapeNode {
    pub(crate) primitive: Arc<dyn Primitive>,
    pub(crate) inputs: Vec<Ref>,
    pub(crate) outputs: Vec<(Vec<usize>, Dtype)>,
    pub(crate) stream: Stream,
}

/// The traced and simplified graph of one input signature.
pub(crate) struct Graph {
    /// The shapes and dtypes of the inputs it was traced with.
    pub(crate) inputs: Vec<(Vec<usize>, Dtype)>,
    pub(crate) constants: Vec<Array>,
    pub(crate) nodes: Vec<TapeNode>,
    pub(crate) outputs: Vec<Ref>,
    /// Nodes recorded before simplification.
    pub(crate) traced_nodes: usize,
}

/// The cache key of a call: the default stream and, per input, the shape (or only the
/// number of axes when shapeless) and dtype.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Signature {
    stream: Stream,
    inputs: Vec<(Vec<usize>, usize, Dtype)>,
}

/// Sizes of a traced graph (see [`Compiled::graph_info`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphInfo {
    /// Primitive applications recorded while tracing (between the inputs and outputs).
    pub traced_nodes: usize,
    /// Primitive applications replayed per call, after merging common subexpressions and
    /// removing dead code.
    pub nodes: usize,
    /// Captured constants the graph reads.
    pub constants: usize,
}

#[derive(Default)]
struct Cache {
    entries: Vec<(Signature, Arc<Graph>)>,
}

/// A compiled function (see [`compile`]). Cloning shares the cache.
#[derive(Clone)]
pub struct Compiled {
    f: super::ArrayFn,
    shapeless: bool,
    num_inputs: Option<usize>,
    cache: Arc<Mutex<Cache>>,
    traces: Arc<AtomicUsize>,
}

/// Compile `f`: the first call for an input signature (the shapes and dtypes of the inputs,
/// and the default stream) traces `f` on data-less stand-ins and records its graph; later
/// calls with that signature replay the recorded graph on the new inputs without calling
/// `f`. A call with a new signature traces again.
///
/// ```
/// use mlxr::{compile, ops, Array};
/// let f = compile(|x: &[Array]| Ok(vec![ops::exp(&ops::multiply(&x[0], 2.0)?)?]));
/// let x = Array::from_slice(&[0.0f32, 1.0], &[2]).unwrap();
/// let y = f.call(&[x]).unwrap();
/// assert!((y[0].to_vec::<f32>().unwrap()[1] - 2f32.exp()).abs() < 1e-5);
/// ```
pub fn compile<F>(f: F) -> Compiled
where
    F: Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    Compiled {
        f: Arc::new(f),
        shapeless: false,
        num_inputs: None,
        cache: Arc::new(Mutex::new(Cache::default())),
        traces: Arc::new(AtomicUsize::new(0)),
    }
}

impl Compiled {
    /// Shapeless mode (MLX's `shapeless=True`): only the number of axes and the dtype of each
    /// input key the cache, and a graph traced for other shapes is replayed with output
    /// shapes recomputed by each primitive ([`Primitive::output_shapes`]; a reshape that only
    /// adds or removes unit axes follows its input; captured arrays broadcast against an
    /// input are broadcast again to the new shape). When a node's shapes cannot be
    /// recomputed (e.g. a general reshape, a slice, an input broadcast to a fixed shape),
    /// the function is traced again for the new shapes.
    pub fn shapeless(mut self, on: bool) -> Self {
        self.shapeless = on;
        self
    }

    /// Require exactly `n` inputs: a call with another number is an error.
    pub fn num_inputs(mut self, n: usize) -> Self {
        self.num_inputs = Some(n);
        self
    }

    /// How many times the function has been traced (called) so far.
    pub fn num_traces(&self) -> usize {
        self.traces.load(Ordering::Relaxed)
    }

    /// How many traced graphs are cached.
    pub fn cache_size(&self) -> usize {
        self.lock().entries.len()
    }

    /// The sizes of the graph used for `args` (tracing it if needed).
    pub fn graph_info(&self, args: &[Array]) -> Result<GraphInfo> {
        self.check_arity(args)?;
        let g = match self.lookup(args)? {
            Some(g) => g.0,
            None => self.trace_and_store(args)?,
        };
        Ok(GraphInfo {
            traced_nodes: g.traced_nodes,
            nodes: g.nodes.len(),
            constants: g.constants.len(),
        })
    }

    /// Call the compiled function.
    pub fn call(&self, args: &[Array]) -> Result<Vec<Array>> {
        self.check_arity(args)?;
        if !compile_enabled() {
            return (self.f)(args);
        }
        if let Some((g, exact)) = self.lookup(args)? {
            if exact {
                return replay(&g, args, false, None).map(|o| o.expect("exact replay"));
            }
            if let Some(out) = replay(&g, args, true, None)? {
                return Ok(out);
            }
        }
        let g = self.trace_and_store(args)?;
        replay(&g, args, false, None).map(|o| o.expect("exact replay"))
    }

    /// The compiled function as a closure (to pass to `grad`, `vmap`, ...).
    pub fn as_fn(&self) -> impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + Clone {
        let c = self.clone();
        move |xs: &[Array]| c.call(xs)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_arity(&self, args: &[Array]) -> Result<()> {
        match self.num_inputs {
            Some(n) if n != args.len() => Err(Error::InvalidArgument(format!(
                "compile: the compiled function takes {n} inputs but was called with {}",
                args.len()
            ))),
            _ => Ok(()),
        }
    }

    fn signature(&self, args: &[Array]) -> Signature {
        Signature {
            stream: StreamOrDevice::Default.resolve(),
            inputs: args
                .iter()
                .map(|a| {
                    let shape = if self.shapeless {
                        vec![]
                    } else {
                        a.shape().to_vec()
                    };
                    (shape, a.ndim(), a.dtype())
                })
                .collect(),
        }
    }

    /// The cached graph for `args`: one traced with exactly these shapes (true), else in
    /// shapeless mode the most recent one of the same signature (false).
    fn lookup(&self, args: &[Array]) -> Result<Option<(Arc<Graph>, bool)>> {
        let sig = self.signature(args);
        let cache = self.lock();
        let mut other = None;
        for (s, g) in cache.entries.iter().rev() {
            if *s != sig {
                continue;
            }
            let exact = g.inputs.len() == args.len()
                && g.inputs
                    .iter()
                    .zip(args)
                    .all(|((sh, _), a)| sh == a.shape());
            if exact {
                return Ok(Some((g.clone(), true)));
            }
            if other.is_none() {
                other = Some(g.clone());
            }
        }
        Ok(other.map(|g| (g, false)))
    }

    fn trace_and_store(&self, args: &[Array]) -> Result<Arc<Graph>> {
        self.traces.fetch_add(1, Ordering::Relaxed);
        let g = Arc::new(simplify(trace(&self.f, args, self.shapeless)?));
        let sig = self.signature(args);
        self.lock().entries.push((sig, g.clone()));
        Ok(g)
    }
}

/// Trace `f` on stand-ins of `args` and record its graph. With `shapeless`, a constant
/// that is an unevaluated broadcast (e.g. a captured bias broadcast against an input)
/// becomes a tape node over its source, so that a replay can broadcast the source to the
/// new shape.
pub(crate) fn trace(f: &super::ArrayFn, args: &[Array], shapeless: bool) -> Result<Graph> {
    let placeholders: Vec<Array> = args
        .iter()
        .map(|a| {
            Array::new_node(
                a.shape().to_vec(),
                a.dtype(),
                Arc::new(Placeholder),
                vec![],
                a.stream(),
            )
        })
        .collect();
    let outs = tracing(|| f(&placeholders))?;
    let sources: HashSet<u64> = placeholders.iter().map(|p| p.id()).collect();
    let order = tape(&outs, &sources);
    let mut refs: HashMap<(u64, usize), Ref> = placeholders
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.id(), 0), Ref::Input(i)))
        .collect();
    let mut constants: Vec<Array> = Vec::new();
    let mut const_refs: HashMap<(u64, usize), usize> = HashMap::new();
    let mut constant = |a: &Array, constants: &mut Vec<Array>| {
        let key = (a.id(), a.output_index());
        let i = *const_refs.entry(key).or_insert_with(|| {
            constants.push(a.clone());
            constants.len() - 1
        });
        Ref::Const(i)
    };
    let mut nodes: Vec<TapeNode> = Vec::with_capacity(order.len());
    for node in &order {
        if sources.contains(&node.id()) {
            continue;
        }
        let primitive = node.primitive().ok_or_else(|| {
            Error::Unsupported("compile: a traced node lost its primitive".into())
        })?;
        let mut inputs = Vec::new();
        for x in node.inputs() {
            let r = match refs.get(&(x.id(), x.output_index())) {
                Some(r) => *r,
                None => match x.primitive() {
                    Some(p) if shapeless && p.as_any().is::<Broadcast>() => {
                        let src = x.inputs().into_iter().next().ok_or_else(|| {
                            Error::Unsupported("compile: a broadcast without input".into())
                        })?;
                        let src = refs
                            .get(&(src.id(), src.output_index()))
                            .copied()
                            .unwrap_or_else(|| constant(&src, &mut constants));
                        let r = Ref::Node {
                            node: nodes.len(),
                            out: 0,
                        };
                        refs.insert((x.id(), x.output_index()), r);
                        nodes.push(TapeNode {
                            primitive: p,
                            inputs: vec![src],
                            outputs: vec![(x.shape().to_vec(), x.dtype())],
                            stream: x.stream(),
                        });
                        r
                    }
                    _ => constant(&x, &mut constants),
                },
            };
            inputs.push(r);
        }
        let sibs = node.siblings_and_self();
        let j = nodes.len();
        for s in &sibs {
            refs.insert(
                (s.id(), s.output_index()),
                Ref::Node {
                    node: j,
                    out: s.output_index(),
                },
            );
        }
        nodes.push(TapeNode {
            primitive,
            inputs,
            outputs: sibs
                .iter()
                .map(|s| (s.shape().to_vec(), s.dtype()))
                .collect(),
            stream: node.stream(),
        });
    }
    let outputs = outs
        .iter()
        .map(|o| match refs.get(&(o.id(), o.output_index())) {
            Some(r) => *r,
            None => constant(o, &mut constants),
        })
        .collect();
    Ok(Graph {
        inputs: args
            .iter()
            .map(|a| (a.shape().to_vec(), a.dtype()))
            .collect(),
        constants,
        traced_nodes: nodes.len(),
        nodes,
        outputs,
    })
}

/// Whether two captured constants certainly hold the same values: the same array, equal
/// evaluated scalars, or unevaluated nodes of equivalent primitives over such constants
/// (e.g. two broadcasts of the scalar `2.0`), looking at most `depth` nodes deep.
fn same_constant(a: &Array, b: &Array, depth: usize) -> bool {
    if a.is_same(b) {
        return true;
    }
    if a.shape() != b.shape() || a.dtype() != b.dtype() || a.output_index() != b.output_index() {
        return false;
    }
    match (a.primitive(), b.primitive()) {
        (Some(pa), Some(pb)) => {
            let (ia, ib) = (a.inputs(), b.inputs());
            depth > 0
                && ia.len() == ib.len()
                && pa.is_equivalent(pb.as_ref())
                && ia
                    .iter()
                    .zip(&ib)
                    .all(|(x, y)| same_constant(x, y, depth - 1))
        }
        (None, None) => {
            a.size() == 1
                && a.is_evaluated()
                && b.is_evaluated()
                && matches!((a.to_bytes(), b.to_bytes()), (Ok(x), Ok(y)) if x == y)
        }
        _ => false,
    }
}

/// Merge equal constants and common subexpressions (same primitive, equivalent
/// parameters, same inputs, same stream), then drop nodes and constants no output needs.
pub(crate) fn simplify(g: Graph) -> Graph {
    let Graph {
        inputs,
        constants,
        nodes,
        outputs,
        traced_nodes,
    } = g;
    // Constants of equal value become one (small ones: scalars and what is built from
    // them, compared a few nodes deep).
    let mut const_map: Vec<usize> = (0..constants.len()).collect();
    let mut reps: Vec<usize> = Vec::new();
    for (i, c) in constants.iter().enumerate() {
        if c.size() > 1 && c.primitive().is_none() {
            continue;
        }
        match reps.iter().find(|&&r| same_constant(&constants[r], c, 4)) {
            Some(&r) => const_map[i] = r,
            None => reps.push(i),
        }
    }
    let map_ref = |r: Ref, node_map: &[usize]| match r {
        Ref::Input(i) => Ref::Input(i),
        Ref::Const(i) => Ref::Const(const_map[i]),
        Ref::Node { node, out } => Ref::Node {
            node: node_map[node],
            out,
        },
    };
    // Common subexpressions, in topological order.
    let mut node_map: Vec<usize> = Vec::with_capacity(nodes.len());
    let mut by_inputs: HashMap<Vec<Ref>, Vec<usize>> = HashMap::new();
    let mut kept: Vec<Option<TapeNode>> = Vec::with_capacity(nodes.len());
    for (j, mut n) in nodes.into_iter().enumerate() {
        n.inputs = n.inputs.iter().map(|&r| map_ref(r, &node_map)).collect();
        let cands = by_inputs.entry(n.inputs.clone()).or_default();
        let same = cands.iter().copied().find(|&c| {
            let m = kept[c].as_ref().expect("kept candidate");
            m.stream == n.stream
                && m.outputs == n.outputs
                && m.primitive.is_equivalent(n.primitive.as_ref())
        });
        match same {
            Some(c) => {
                node_map.push(c);
                kept.push(None);
            }
            None => {
                cands.push(j);
                node_map.push(j);
                kept.push(Some(n));
            }
        }
    }
    let outputs: Vec<Ref> = outputs.iter().map(|&r| map_ref(r, &node_map)).collect();
    // Dead code: mark backwards from the outputs.
    let mut live = vec![false; kept.len()];
    let mut const_live = vec![false; constants.len()];
    let mark = |r: &Ref, live: &mut Vec<bool>, const_live: &mut Vec<bool>| match *r {
        Ref::Node { node, .. } => live[node] = true,
        Ref::Const(i) => const_live[i] = true,
        Ref::Input(_) => {}
    };
    for r in &outputs {
        mark(r, &mut live, &mut const_live);
    }
    for j in (0..kept.len()).rev() {
        if !live[j] {
            continue;
        }
        if let Some(n) = &kept[j] {
            for r in &n.inputs {
                mark(r, &mut live, &mut const_live);
            }
        }
    }
    // Renumber.
    let mut new_const = vec![usize::MAX; constants.len()];
    let mut consts = Vec::new();
    for (i, c) in constants.into_iter().enumerate() {
        if const_live[i] {
            new_const[i] = consts.len();
            consts.push(c);
        }
    }
    let mut new_node = vec![usize::MAX; kept.len()];
    let mut out_nodes = Vec::new();
    let renumber = |r: Ref, new_node: &[usize]| match r {
        Ref::Input(i) => Ref::Input(i),
        Ref::Const(i) => Ref::Const(new_const[i]),
        Ref::Node { node, out } => Ref::Node {
            node: new_node[node],
            out,
        },
    };
    for (j, n) in kept.into_iter().enumerate() {
        if let (true, Some(mut n)) = (live[j], n) {
            n.inputs = n.inputs.iter().map(|&r| renumber(r, &new_node)).collect();
            new_node[j] = out_nodes.len();
            out_nodes.push(n);
        }
    }
    let outputs = outputs.iter().map(|&r| renumber(r, &new_node)).collect();
    Graph {
        inputs,
        constants: consts,
        nodes: out_nodes,
        outputs,
        traced_nodes,
    }
}

/// A reshape that only inserts or removes unit axes (squeeze / expand_dims), followed on a
/// new input shape: the new output shape, if the pattern holds.
fn follow_unit_reshape(
    old_in: &[usize],
    old_out: &[usize],
    new_in: &[usize],
) -> Option<Vec<usize>> {
    if old_in.len() != new_in.len() {
        return None;
    }
    let mut out = old_out.to_vec();
    let mut k = 0;
    for (i, &d) in old_in.iter().enumerate() {
        if d == 1 {
            if new_in[i] != 1 {
                return None;
            }
            continue;
        }
        while k < old_out.len() && old_out[k] == 1 {
            k += 1;
        }
        if k >= old_out.len() || old_out[k] != d {
            return None;
        }
        out[k] = new_in[i];
        k += 1;
    }
    if old_out[k..].iter().any(|&d| d != 1) {
        return None;
    }
    Some(out)
}

/// For an elementwise node (inputs and outputs all of one shape when traced) some of whose
/// inputs are broadcasts: the inputs broadcast again, from their sources, to the common
/// shape of the new inputs (None when that is not possible).
fn rebroadcast(
    g: &Graph,
    n: &TapeNode,
    inputs: &[Array],
    values: &[Vec<Array>],
) -> Option<Vec<Array>> {
    let shape_of = |r: &Ref| -> Vec<usize> {
        match *r {
            Ref::Input(i) => g.inputs[i].0.clone(),
            Ref::Const(i) => g.constants[i].shape().to_vec(),
            Ref::Node { node, out } => g.nodes[node].outputs[out].0.clone(),
        }
    };
    let first = shape_of(n.inputs.first()?);
    let elementwise =
        n.inputs.iter().all(|r| shape_of(r) == first) && n.outputs.iter().all(|o| o.0 == first);
    if !elementwise {
        return None;
    }
    // The source of each input that a replayed broadcast produced.
    let sources: Vec<Option<Array>> = n
        .inputs
        .iter()
        .map(|r| match *r {
            Ref::Node { node, .. } if g.nodes[node].primitive.as_any().is::<Broadcast>() => {
                values[node][0].inputs().into_iter().next()
            }
            _ => None,
        })
        .collect();
    if sources.iter().all(|s| s.is_none()) {
        return None;
    }
    let mut target: Vec<usize> = vec![];
    for (x, s) in inputs.iter().zip(&sources) {
        let sh = s.as_ref().map_or(x.shape(), |a| a.shape());
        target = crate::ops::broadcast_shapes(&target, sh, "compile").ok()?;
    }
    inputs
        .iter()
        .zip(sources)
        .map(|(x, s)| match s {
            Some(src) if src.shape() == target.as_slice() => Some(src),
            Some(src) => Some(Array::new_node(
                target.clone(),
                src.dtype(),
                Arc::new(Broadcast {
                    shape: target.clone(),
                }),
                vec![src],
                x.stream(),
            )),
            None => (x.shape() == target.as_slice()).then(|| x.clone()),
        })
        .collect()
}

/// Build the graph of `g` over `args`. With `shapeless`, nodes whose inputs changed shape
/// get new output shapes from their primitive; `None` when one cannot (trace again).
/// `stream`, when given, replaces the streams the nodes were traced on (imported graphs
/// run on the current default stream).
pub(crate) fn replay(
    g: &Graph,
    args: &[Array],
    shapeless: bool,
    stream: Option<Stream>,
) -> Result<Option<Vec<Array>>> {
    if args.len() != g.inputs.len() {
        return Err(Error::InvalidArgument(format!(
            "compile: the graph was traced with {} inputs but got {}",
            g.inputs.len(),
            args.len()
        )));
    }
    let mut values: Vec<Vec<Array>> = Vec::with_capacity(g.nodes.len());
    let get = |r: &Ref, values: &Vec<Vec<Array>>| -> Array {
        match *r {
            Ref::Input(i) => args[i].clone(),
            Ref::Const(i) => g.constants[i].clone(),
            Ref::Node { node, out } => values[node][out].clone(),
        }
    };
    let recorded = |r: &Ref| -> &[usize] {
        match *r {
            Ref::Input(i) => &g.inputs[i].0,
            Ref::Const(i) => g.constants[i].shape(),
            Ref::Node { node, out } => &g.nodes[node].outputs[out].0,
        }
    };
    for n in &g.nodes {
        let mut inputs: Vec<Array> = n.inputs.iter().map(|r| get(r, &values)).collect();
        let changed = shapeless
            && n.inputs
                .iter()
                .zip(&inputs)
                .any(|(r, x)| recorded(r) != x.shape());
        let (primitive, shapes) = if !changed {
            (
                n.primitive.clone(),
                n.outputs.iter().map(|o| o.0.clone()).collect(),
            )
        } else if let Some(r) = n.primitive.as_any().downcast_ref::<Reshape>() {
            match follow_unit_reshape(recorded(&n.inputs[0]), &r.shape, inputs[0].shape()) {
                Some(s) => (
                    Arc::new(Reshape { shape: s.clone() }) as Arc<dyn Primitive>,
                    vec![s],
                ),
                None => return Ok(None),
            }
        } else {
            if !n
                .inputs
                .iter()
                .zip(&inputs)
                .all(|(r, x)| recorded(r) == x.shape())
            {
                if let Some(new) = rebroadcast(g, n, &inputs, &values) {
                    inputs = new;
                }
            }
            match n.primitive.output_shapes(&inputs) {
                Some(s) if s.len() == n.outputs.len() => (n.primitive.clone(), s),
                _ => return Ok(None),
            }
        };
        let outs = shapes
            .into_iter()
            .zip(&n.outputs)
            .map(|(s, o)| (s, o.1))
            .collect();
        values.push(Array::new_multi(
            outs,
            primitive,
            inputs,
            stream.unwrap_or(n.stream),
        ));
    }
    Ok(Some(g.outputs.iter().map(|r| get(r, &values)).collect()))
}
