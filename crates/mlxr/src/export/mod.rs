//! Function export and import (MLX's `export_function`, `import_function` and
//! `exporter`): a function is traced on example inputs with `compile`'s tracer, its graph
//! (inputs, captured constants with their data, every primitive with its parameters,
//! outputs) is written to a `.mlxfn` file, and [`import_function`] rebuilds a callable that
//! replays the graph lazily on new inputs of the traced shapes and dtypes (any shapes of the
//! same ranks with `shapeless`). A file can hold several traces of one function
//! ([`Exporter`]); a call picks the trace whose input signature matches.
//!
//! # File format (version 1)
//!
//! A hand-written little-endian binary format, not compatible with MLX's own `.mlxfn`
//! files. Integers are `u64` unless noted; a *string* or *blob* is a `u64` length and the
//! bytes; a *vector* is a `u64` count and its items; a *shape* is a vector of `u64`; a
//! *dtype* is its variant name as a string (`"Float32"`).
//!
//! ```text
//! magic     8 bytes  "MLXRFN\0\0"
//! version   u32      1
//! metadata  string   (free text, e.g. a JSON model configuration)
//! shapeless u8       0 or 1
//! traces    vector of trace:
//!   num_args   u64               positional inputs (the first inputs)
//!   kw_names   vector of string  keyword inputs, sorted (the inputs after them)
//!   inputs     vector of (dtype, shape)
//!   constants  vector of (dtype, shape, blob of row-major data)
//!   nodes      vector of node, in topological order:
//!     tag      string             the primitive's type (see `primitives.rs`)
//!     state    blob               its parameters (`ExportState`)
//!     inputs   vector of ref
//!     outputs  vector of (dtype, shape)
//!   outputs    vector of ref
//! checksum  u64      FNV-1a of every byte before it
//! ```
//!
//! A *ref* is a `u8` kind then `u64` fields: `0 i` (input `i`), `1 i` (constant `i`),
//! `2 n k` (output `k` of node `n`, an earlier node). Reading checks the magic, version,
//! checksum, every length against the bytes left and every ref, so a corrupt or truncated
//! file gives an [`Error::Io`], a file of another version an [`Error::Unsupported`].

pub mod primitives;
pub mod serial;

use crate::array::Array;
use crate::device::{Stream, StreamOrDevice};
use crate::dtype::Dtype;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use crate::transforms::compile::{self, Graph, Ref, TapeNode};
use crate::transforms::ArrayFn;
pub use serial::{ExportState, ImportState, Reader, Serial, Writer};
use std::any::Any;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Keyword inputs of an exported function, by name (sorted, as stored).
pub type Kwargs = BTreeMap<String, Array>;

/// A function of positional and keyword arrays, as [`export_function`] takes it.
pub type KwFn = Arc<dyn Fn(&[Array], &Kwargs) -> Result<Vec<Array>> + Send + Sync>;

/// The first bytes of every export file.
pub const MAGIC: &[u8; 8] = b"MLXRFN\0\0";
/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

/// The signature of one trace: how many positional inputs, the keyword names, and the
/// shape and dtype of every input (positional first, then keywords by name).
#[derive(Clone, Debug, PartialEq)]
struct TraceSig {
    num_args: usize,
    kw_names: Vec<String>,
    inputs: Vec<(Vec<usize>, Dtype)>,
}

impl TraceSig {
    fn of(args: &[Array], kwargs: &Kwargs) -> Self {
        TraceSig {
            num_args: args.len(),
            kw_names: kwargs.keys().cloned().collect(),
            inputs: args
                .iter()
                .chain(kwargs.values())
                .map(|a| (a.shape().to_vec(), a.dtype()))
                .collect(),
        }
    }

    /// Whether inputs of signature `other` can use this trace: same positional count,
    /// keyword names and dtypes, and the same shapes (only the same ranks if `shapeless`).
    fn accepts(&self, other: &TraceSig, shapeless: bool) -> bool {
        self.num_args == other.num_args
            && self.kw_names == other.kw_names
            && self.inputs.len() == other.inputs.len()
            && self.inputs.iter().zip(&other.inputs).all(|(a, b)| {
                a.1 == b.1
                    && if shapeless {
                        a.0.len() == b.0.len()
                    } else {
                        a.0 == b.0
                    }
            })
    }

    /// MLX's description of a signature in error messages.
    fn describe(&self, out: &mut String) {
        for (i, (shape, dt)) in self.inputs.iter().enumerate() {
            let s: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            let label = if i < self.num_args {
                format!("{}", i + 1)
            } else {
                format!("{:?}", self.kw_names[i - self.num_args])
            };
            out.push_str(&format!("   {label}: ({}) {dt}\n", s.join(",")));
        }
    }
}

/// Records traces of a function and writes them to one `.mlxfn` file (MLX's
/// `mx.exporter`). Each [`Exporter::add`] traces the function on new example inputs and
/// rewrites the file with every trace so far.
pub struct Exporter {
    path: PathBuf,
    f: KwFn,
    shapeless: bool,
    metadata: String,
    traces: Vec<(TraceSig, Vec<u8>)>,
}

impl Exporter {
    /// An exporter of `f` to `path` (no trace yet; nothing is written until [`Self::add`]).
    pub fn new<F>(path: impl AsRef<Path>, f: F) -> Self
    where
        F: Fn(&[Array], &Kwargs) -> Result<Vec<Array>> + Send + Sync + 'static,
    {
        Exporter {
            path: path.as_ref().to_path_buf(),
            f: Arc::new(f),
            shapeless: false,
            metadata: String::new(),
            traces: Vec::new(),
        }
    }

    /// Whether the traces accept inputs of other shapes (of the same ranks and dtypes).
    pub fn shapeless(mut self, on: bool) -> Self {
        self.shapeless = on;
        self
    }

    /// A string saved with the function (read back by [`ImportedFunction::metadata`]).
    pub fn metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = metadata.into();
        self
    }

    /// How many traces were added.
    pub fn num_traces(&self) -> usize {
        self.traces.len()
    }

    /// Trace the function on `args` and `kwargs` and rewrite the file with all traces. A
    /// second trace with the same signature is an error, as in MLX.
    pub fn add(&mut self, args: &[Array], kwargs: &Kwargs) -> Result<()> {
        let sig = TraceSig::of(args, kwargs);
        if self
            .traces
            .iter()
            .any(|(s, _)| s.accepts(&sig, self.shapeless))
        {
            return Err(Error::Unsupported(
                "[export_function] Attempting to export a function twice with the same \
                 signature is not allowed."
                    .into(),
            ));
        }
        let n = args.len();
        let names = sig.kw_names.clone();
        let f = self.f.clone();
        let flat: ArrayFn = Arc::new(move |xs: &[Array]| {
            let kw: Kwargs = names.iter().cloned().zip(xs[n..].iter().cloned()).collect();
            f(&xs[..n], &kw)
        });
        let inputs: Vec<Array> = args.iter().chain(kwargs.values()).cloned().collect();
        let graph = compile::simplify(compile::trace(&flat, &inputs, self.shapeless)?);
        let mut w = Writer::new();
        write_trace(&mut w, &sig, &graph)?;
        self.traces.push((sig, w.into_bytes()));
        std::fs::write(&self.path, self.to_bytes()).map_err(|e| {
            Error::Io(format!(
                "[export_function] Failed to write {}: {e}",
                self.path.display()
            ))
        })
    }

    /// The file's bytes with the traces added so far.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(MAGIC);
        w.u32(VERSION);
        w.str(&self.metadata);
        self.shapeless.write(&mut w);
        w.usize(self.traces.len());
        for (_, t) in &self.traces {
            w.raw(t);
        }
        let sum = serial::fnv1a(w.bytes());
        w.u64(sum);
        w.into_bytes()
    }
}

/// Export `f` traced on `args` and `kwargs` to `path` (MLX's `mx.export_function`; MLX
/// names such files `*.mlxfn`). With `shapeless` the imported function accepts inputs of
/// other shapes (same ranks and dtypes) where the graph's shapes can be recomputed.
///
/// ```
/// use mlxr::export::{export_function, import_function, Kwargs};
/// use mlxr::{ops, Array};
/// let path = std::env::temp_dir().join("mlxr_doc_export.mlxfn");
/// let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
/// export_function(&path, |a: &[Array], _: &Kwargs| Ok(vec![ops::exp(&a[0])?]), &[x.clone()],
///     &Kwargs::new(), false).unwrap();
/// let f = import_function(&path).unwrap();
/// let y = f.call(&[x], &Kwargs::new()).unwrap();
/// assert!((y[0].to_vec::<f32>().unwrap()[1] - 2f32.exp()).abs() < 1e-5);
/// ```
pub fn export_function<F>(
    path: impl AsRef<Path>,
    f: F,
    args: &[Array],
    kwargs: &Kwargs,
    shapeless: bool,
) -> Result<()>
where
    F: Fn(&[Array], &Kwargs) -> Result<Vec<Array>> + Send + Sync + 'static,
{
    Exporter::new(path, f)
        .shapeless(shapeless)
        .add(args, kwargs)
}

fn write_shape_dtype(w: &mut Writer, shape: &[usize], dtype: Dtype) {
    dtype.write(w);
    shape.to_vec().write(w);
}

fn write_ref(w: &mut Writer, r: &Ref) {
    match *r {
        Ref::Input(i) => {
            w.u8(0);
            w.usize(i);
        }
        Ref::Const(i) => {
            w.u8(1);
            w.usize(i);
        }
        Ref::Node { node, out } => {
            w.u8(2);
            w.usize(node);
            w.usize(out);
        }
    }
}

fn write_trace(w: &mut Writer, sig: &TraceSig, g: &Graph) -> Result<()> {
    w.usize(sig.num_args);
    sig.kw_names.write(w);
    w.usize(g.inputs.len());
    for (s, d) in &g.inputs {
        write_shape_dtype(w, s, *d);
    }
    crate::eval::eval(&g.constants)?;
    w.usize(g.constants.len());
    for c in &g.constants {
        write_shape_dtype(w, c.shape(), c.dtype());
        w.blob(&c.to_bytes()?);
    }
    w.usize(g.nodes.len());
    for n in &g.nodes {
        let tag = n.primitive.export_tag();
        let mut state = Writer::new();
        n.primitive.export_state(&mut state)?;
        if !primitives::is_registered(tag) {
            return Err(Error::Unsupported(format!(
                "[export_function] The primitive {tag} ({}) has no importer: add it to the \
                 registry in export/primitives.rs",
                n.primitive.name()
            )));
        }
        w.str(tag);
        w.blob(state.bytes());
        w.usize(n.inputs.len());
        for r in &n.inputs {
            write_ref(w, r);
        }
        w.usize(n.outputs.len());
        for (s, d) in &n.outputs {
            write_shape_dtype(w, s, *d);
        }
    }
    w.usize(g.outputs.len());
    for r in &g.outputs {
        write_ref(w, r);
    }
    Ok(())
}

/// One trace of an imported function.
struct ImportedTrace {
    sig: TraceSig,
    graph: Graph,
}

/// A function read by [`import_function`]: call it with arrays of a traced signature.
pub struct ImportedFunction {
    traces: Vec<ImportedTrace>,
    shapeless: bool,
    metadata: String,
}

impl std::fmt::Debug for ImportedFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ImportedFunction({} traces, shapeless: {})",
            self.traces.len(),
            self.shapeless
        )
    }
}

/// Read a function exported by [`export_function`] or an [`Exporter`].
pub fn import_function(path: impl AsRef<Path>) -> Result<ImportedFunction> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| {
        Error::Io(format!(
            "[import_function] Failed to open {}: {e}",
            path.display()
        ))
    })?;
    ImportedFunction::from_bytes(&bytes)
}

fn read_shape_dtype(r: &mut Reader) -> Result<(Vec<usize>, Dtype)> {
    let d = Dtype::read(r)?;
    let s = Vec::<usize>::read(r)?;
    Ok((s, d))
}

fn read_ref(r: &mut Reader) -> Result<Ref> {
    Ok(match r.u8()? {
        0 => Ref::Input(r.usize()?),
        1 => Ref::Const(r.usize()?),
        2 => Ref::Node {
            node: r.usize()?,
            out: r.usize()?,
        },
        _ => return Err(r.corrupt("bad input reference")),
    })
}

/// Check that `r` names an existing input, constant or output of an earlier node.
fn check_ref(r: &Ref, g: &Graph, reader: &Reader) -> Result<()> {
    let ok = match *r {
        Ref::Input(i) => i < g.inputs.len(),
        Ref::Const(i) => i < g.constants.len(),
        Ref::Node { node, out } => g.nodes.get(node).is_some_and(|n| out < n.outputs.len()),
    };
    if ok {
        Ok(())
    } else {
        Err(reader.corrupt(&format!("a reference out of range ({r:?})")))
    }
}

fn read_trace(r: &mut Reader, stream: Stream) -> Result<ImportedTrace> {
    let num_args = r.usize()?;
    let kw_names = Vec::<String>::read(r)?;
    let n_in = r.count(1)?;
    let inputs = (0..n_in)
        .map(|_| read_shape_dtype(r))
        .collect::<Result<Vec<_>>>()?;
    if num_args + kw_names.len() != inputs.len() {
        return Err(r.corrupt("the input counts disagree"));
    }
    let mut g = Graph {
        inputs: inputs.clone(),
        constants: vec![],
        nodes: vec![],
        outputs: vec![],
        traced_nodes: 0,
    };
    let n_const = r.count(1)?;
    for _ in 0..n_const {
        let (shape, dtype) = read_shape_dtype(r)?;
        let data = r.blob()?;
        let size = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_mul(dtype.size()));
        if size != Some(data.len()) {
            return Err(r.corrupt("a constant's data does not match its shape"));
        }
        g.constants.push(Array::from_bytes(data, &shape, dtype)?);
    }
    let n_nodes = r.count(1)?;
    for _ in 0..n_nodes {
        let tag = r.str()?;
        let state = r.blob()?;
        let primitive = primitives::import_primitive(&tag, state)?;
        let n_ins = r.count(1)?;
        let ins = (0..n_ins)
            .map(|_| read_ref(r))
            .collect::<Result<Vec<_>>>()?;
        for x in &ins {
            check_ref(x, &g, r)?;
        }
        let n_outs = r.count(1)?;
        let outputs = (0..n_outs)
            .map(|_| read_shape_dtype(r))
            .collect::<Result<Vec<_>>>()?;
        if outputs.is_empty() {
            return Err(r.corrupt("a node without outputs"));
        }
        g.nodes.push(TapeNode {
            primitive,
            inputs: ins,
            outputs,
            stream,
        });
    }
    g.traced_nodes = g.nodes.len();
    let n_out = r.count(1)?;
    for _ in 0..n_out {
        let o = read_ref(r)?;
        check_ref(&o, &g, r)?;
        g.outputs.push(o);
    }
    Ok(ImportedTrace {
        sig: TraceSig {
            num_args,
            kw_names,
            inputs,
        },
        graph: g,
    })
}

impl ImportedFunction {
    /// Read a function from the bytes of an export file.
    pub fn from_bytes(bytes: &[u8]) -> Result<ImportedFunction> {
        let head = MAGIC.len() + 4;
        if bytes.len() < head + 8 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(Error::Io(
                "[import_function] Not an mlxr function file (bad magic bytes or too short)".into(),
            ));
        }
        let version = u32::from_le_bytes(bytes[MAGIC.len()..head].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(Error::Unsupported(format!(
                "[import_function] The file has format version {version}; this build reads \
                 version {VERSION}"
            )));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if serial::fnv1a(body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(Error::Io(
                "[import_function] The file is corrupt or truncated (checksum mismatch)".into(),
            ));
        }
        let mut r = Reader::new(&body[head..]);
        let metadata = r.str()?;
        let shapeless = bool::read(&mut r)?;
        let n = r.count(1)?;
        let stream = StreamOrDevice::Default.resolve();
        let traces = (0..n)
            .map(|_| read_trace(&mut r, stream))
            .collect::<Result<Vec<_>>>()?;
        if r.remaining() != 0 {
            return Err(r.corrupt("extra bytes after the last trace"));
        }
        Ok(ImportedFunction {
            traces,
            shapeless,
            metadata,
        })
    }

    /// The metadata string saved with the function (empty if none).
    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// Whether the function was exported shapeless.
    pub fn is_shapeless(&self) -> bool {
        self.shapeless
    }

    /// How many traces the file holds.
    pub fn num_traces(&self) -> usize {
        self.traces.len()
    }

    /// Call the function: the trace whose signature matches `args` and `kwargs` is replayed
    /// (lazily, on the default stream). A trace of exactly these shapes is preferred; with
    /// `shapeless`, a trace of the same ranks is replayed with shapes recomputed, and an
    /// error says so if a node's output shape cannot be recomputed.
    pub fn call(&self, args: &[Array], kwargs: &Kwargs) -> Result<Vec<Array>> {
        let sig = TraceSig::of(args, kwargs);
        let inputs: Vec<Array> = args.iter().chain(kwargs.values()).cloned().collect();
        let stream = Some(StreamOrDevice::Default.resolve());
        if let Some(t) = self.traces.iter().find(|t| t.sig.accepts(&sig, false)) {
            return compile::replay(&t.graph, &inputs, false, stream)
                .map(|o| o.expect("exact replay"));
        }
        if self.shapeless {
            let mut tried = false;
            for t in self.traces.iter().filter(|t| t.sig.accepts(&sig, true)) {
                tried = true;
                if let Some(out) = compile::replay(&t.graph, &inputs, true, stream)? {
                    return Ok(out);
                }
            }
            if tried {
                return Err(Error::Shape(
                    "[import_function::call] The shapeless function cannot be replayed on \
                     inputs of these shapes: an operation of the exported graph (e.g. a \
                     reshape to a fixed shape or a slice) does not follow its inputs' shapes."
                        .into(),
                ));
            }
        }
        let mut msg = String::from(
            "[import_function::call] No imported function found which matches the given \
             positional and keyword arguments. Possible functions include:\n",
        );
        for (i, t) in self.traces.iter().enumerate() {
            msg.push_str(&format!(
                " {}. Function with {} positional inputs and {} keyword inputs:\n",
                i + 1,
                t.sig.num_args,
                t.sig.kw_names.len()
            ));
            t.sig.describe(&mut msg);
        }
        msg.push_str(&format!(
            "\nCalled with {} positional inputs and {} keyword inputs:\n",
            sig.num_args,
            sig.kw_names.len()
        ));
        sig.describe(&mut msg);
        Err(Error::InvalidArgument(msg))
    }
}

/// The forward computation of a custom function (`custom_function`, `checkpoint`) in an
/// imported graph: its outputs are its inputs after the first `skip` (the wrapped
/// function's outputs), and derivatives flow through those; the custom rules themselves
/// are closures and are not saved.
#[derive(Debug, Clone, PartialEq)]
pub struct PassThrough {
    /// The custom function's own inputs, which only the lost custom rules used.
    pub skip: usize,
}

serial::exportable!(PassThrough { skip });

impl Primitive for PassThrough {
    fn name(&self) -> String {
        "PassThrough".into()
    }
    fn differentiable_input(&self, input: usize) -> bool {
        input >= self.skip
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        for (o, i) in outputs.iter().zip(&inputs[self.skip..]) {
            o.set_data(i.data()?);
        }
        Ok(())
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_cpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i >= self.skip {
                    Ok(cotangents[i - self.skip].clone())
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        (self.skip..primals.len())
            .map(|o| match argnums.iter().position(|&i| i == o) {
                Some(k) => Ok(tangents[k].clone()),
                None => ops::zeros_like(&primals[o]),
            })
            .collect()
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        Ok((inputs[self.skip..].to_vec(), axes[self.skip..].to_vec()))
    }
    fn is_equivalent(&self, other: &dyn Primitive) -> bool {
        other.as_any().downcast_ref::<Self>() == Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
