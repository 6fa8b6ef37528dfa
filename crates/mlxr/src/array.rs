//! `Array`: a cheap handle to a node of the lazy graph. A node holds the primitive that
//! produces it, its inputs and the shapes/dtypes of its outputs; once evaluated it holds
//! each output's data (storage, strides, offset) and lets go of its inputs.

use crate::buffer::{HostBuffer, Storage};
use crate::device::{Stream, StreamOrDevice};
use crate::dtype::{Dtype, Element};
use crate::error::{Error, Result};
use crate::primitive::Primitive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Layout facts about an evaluated array's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Elements are in row-major order with no gaps.
    pub row_contiguous: bool,
    /// Elements are in column-major order with no gaps.
    pub col_contiguous: bool,
    /// The elements fill `data_size` consecutive slots with no gaps and no repeats, in some
    /// order (e.g. a transposed row-contiguous array): elementwise ops may run over the
    /// span linearly and keep the strides.
    pub contiguous: bool,
}

/// The data of one evaluated array: its storage and how the logical elements map into it.
#[derive(Clone)]
pub struct Data {
    /// The shared storage (views share it).
    pub storage: Arc<Storage>,
    /// Per-axis strides, in elements (may be zero for broadcast axes, negative for flips).
    pub strides: Vec<isize>,
    /// Offset of element `[0, 0, ...]` from the start of the storage, in elements.
    pub offset: usize,
    /// Number of storage slots the elements span when `flags.contiguous`.
    pub data_size: usize,
    /// Layout flags.
    pub flags: Flags,
}

impl Data {
    /// Fresh row-contiguous host storage for `shape` and `dtype`.
    pub fn alloc(shape: &[usize], dtype: Dtype) -> Result<Data> {
        let n: usize = shape.iter().product();
        let buf = HostBuffer::new(n * dtype.size(), false)?;
        Ok(Data::row_contiguous(Arc::new(Storage::Host(buf)), shape))
    }

    /// Fresh zero-filled row-contiguous host storage.
    pub fn alloc_zeroed(shape: &[usize], dtype: Dtype) -> Result<Data> {
        let n: usize = shape.iter().product();
        let buf = HostBuffer::new(n * dtype.size(), true)?;
        Ok(Data::row_contiguous(Arc::new(Storage::Host(buf)), shape))
    }

    /// Row-contiguous data over a storage, starting at slot 0.
    pub fn row_contiguous(storage: Arc<Storage>, shape: &[usize]) -> Data {
        let strides = row_strides(shape);
        let n: usize = shape.iter().product();
        Data::with_layout(storage, shape, strides, 0, Some(n))
    }

    /// Data with explicit strides and offset; flags are computed from the layout.
    /// `data_size` may be given when known; otherwise it is derived.
    pub fn with_layout(
        storage: Arc<Storage>,
        shape: &[usize],
        strides: Vec<isize>,
        offset: usize,
        data_size: Option<usize>,
    ) -> Data {
        let (flags, span) = layout_flags(shape, &strides);
        Data {
            storage,
            strides,
            offset,
            data_size: data_size.unwrap_or(span),
            flags,
        }
    }

    /// The host buffer (error if not on the host).
    pub fn host(&self) -> &HostBuffer {
        self.storage.host()
    }

    /// The host buffer as a slice of `T`, starting at the array's offset.
    pub fn slice<T: Element>(&self) -> &[T] {
        &self.storage.host().as_slice::<T>()[self.offset..]
    }

}

/// Row-major strides for a shape, in elements.
pub fn row_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![0isize; shape.len()];
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        s[i] = acc;
        acc *= shape[i].max(1) as isize;
    }
    s
}

/// Compute layout flags for a shape and strides; returns the flags and the number of slots
/// the data spans when it is dense.
pub fn layout_flags(shape: &[usize], strides: &[isize]) -> (Flags, usize) {
    let size: usize = shape.iter().product();
    if size == 0 {
        return (
            Flags {
                row_contiguous: true,
                col_contiguous: true,
                contiguous: true,
            },
            0,
        );
    }
    // Row contiguous: strides match row-major for every axis of size > 1.
    let mut row = true;
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        if shape[i] != 1 {
            if strides[i] != acc {
                row = false;
                break;
            }
            acc *= shape[i] as isize;
        }
    }
    let mut col = true;
    acc = 1;
    for i in 0..shape.len() {
        if shape[i] != 1 {
            if strides[i] != acc {
                col = false;
                break;
            }
            acc *= shape[i] as isize;
        }
    }
    // Dense in some order: sort non-unit axes by |stride|; positive strides forming a
    // row-major chain.
    let mut dims: Vec<(isize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&n, _)| n != 1)
        .map(|(&n, &s)| (s, n))
        .collect();
    dims.sort_by_key(|d| d.0);
    let mut dense = true;
    acc = 1;
    for &(s, n) in &dims {
        if s != acc {
            dense = false;
            break;
        }
        acc *= n as isize;
    }
    (
        Flags {
            row_contiguous: row,
            col_contiguous: col,
            contiguous: dense,
        },
        if dense { size } else { 0 },
    )
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The output description of a node.
#[derive(Clone, Debug)]
pub(crate) struct OutSpec {
    pub shape: Vec<usize>,
    pub dtype: Dtype,
}

/// Mutable part of a node.
pub(crate) struct NodeState {
    pub primitive: Option<Arc<dyn Primitive>>,
    pub inputs: Vec<Array>,
    pub data: Vec<Option<Data>>,
}

/// A node of the graph: one primitive application with one or more outputs.
pub(crate) struct Node {
    pub id: u64,
    pub outputs: Vec<OutSpec>,
    pub stream: Stream,
    pub state: Mutex<NodeState>,
}

impl Node {
    pub(crate) fn lock(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A lazily evaluated n-dimensional array. Cloning is cheap (a reference count).
#[derive(Clone)]
pub struct Array {
    pub(crate) node: Arc<Node>,
    pub(crate) out: usize,
}

impl Array {
    // ---- construction -------------------------------------------------------------

    /// An evaluated array from existing data.
    pub fn from_data(data: Data, shape: Vec<usize>, dtype: Dtype, stream: Stream) -> Array {
        Array {
            node: Arc::new(Node {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                outputs: vec![OutSpec { shape, dtype }],
                stream,
                state: Mutex::new(NodeState {
                    primitive: None,
                    inputs: vec![],
                    data: vec![Some(data)],
                }),
            }),
            out: 0,
        }
    }

    /// An array holding a copy of `data` with the given shape.
    pub fn from_slice<T: Element>(data: &[T], shape: &[usize]) -> Result<Array> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Shape(format!(
                "Array::from_slice: {} elements cannot have shape {:?}",
                data.len(),
                shape
            )));
        }
        let mut d = Data::alloc(shape, T::DTYPE)?;
        Arc::get_mut(&mut d.storage)
            .expect("fresh storage")
            .host_mut()
            .as_mut_slice::<T>()
            .copy_from_slice(data);
        Ok(Array::from_data(
            d,
            shape.to_vec(),
            T::DTYPE,
            StreamOrDevice::Default.resolve(),
        ))
    }

    /// An array that takes `data` (same as `from_slice`, kept for symmetry with Vec users).
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Array> {
        Array::from_slice(&data, shape)
    }

    /// A 0-d array holding one value.
    pub fn scalar<T: Element>(v: T) -> Array {
        Array::from_slice(&[v], &[]).expect("scalar")
    }

    /// An array of `dtype` built from raw little-endian bytes.
    pub fn from_bytes(bytes: &[u8], shape: &[usize], dtype: Dtype) -> Result<Array> {
        let n: usize = shape.iter().product();
        if n * dtype.size() != bytes.len() {
            return Err(Error::Shape(format!(
                "Array::from_bytes: {} bytes cannot hold shape {:?} of {}",
                bytes.len(),
                shape,
                dtype
            )));
        }
        let mut d = Data::alloc(shape, dtype)?;
        let buf = Arc::get_mut(&mut d.storage).expect("fresh").host_mut();
        buf.bytes_mut().copy_from_slice(bytes);
        if dtype == Dtype::Bool {
            for b in buf.bytes_mut() {
                *b = (*b != 0) as u8;
            }
        }
        Ok(Array::from_data(
            d,
            shape.to_vec(),
            dtype,
            StreamOrDevice::Default.resolve(),
        ))
    }

    /// A new graph node with one output.
    pub fn new_node(
        shape: Vec<usize>,
        dtype: Dtype,
        primitive: Arc<dyn Primitive>,
        inputs: Vec<Array>,
        stream: Stream,
    ) -> Array {
        Array::new_multi(vec![(shape, dtype)], primitive, inputs, stream)
            .pop()
            .expect("one output")
    }

    /// A new graph node with several outputs (siblings); returns one array per output.
    pub fn new_multi(
        outputs: Vec<(Vec<usize>, Dtype)>,
        primitive: Arc<dyn Primitive>,
        inputs: Vec<Array>,
        stream: Stream,
    ) -> Vec<Array> {
        let n = outputs.len();
        let node = Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            outputs: outputs
                .into_iter()
                .map(|(shape, dtype)| OutSpec { shape, dtype })
                .collect(),
            stream,
            state: Mutex::new(NodeState {
                primitive: Some(primitive),
                inputs,
                data: vec![None; n],
            }),
        });
        (0..n)
            .map(|out| Array {
                node: node.clone(),
                out,
            })
            .collect()
    }

    // ---- metadata -----------------------------------------------------------------

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.node.outputs[self.out].shape
    }
    /// Size of axis `axis` (negative counts from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        let a = crate::ops::normalize_axis(axis, self.ndim(), "dim")?;
        Ok(self.shape()[a])
    }
    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.shape().len()
    }
    /// Number of elements.
    pub fn size(&self) -> usize {
        self.shape().iter().product()
    }
    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.node.outputs[self.out].dtype
    }
    /// Bytes per element.
    pub fn itemsize(&self) -> usize {
        self.dtype().size()
    }
    /// Bytes of all elements.
    pub fn nbytes(&self) -> usize {
        self.size() * self.itemsize()
    }
    /// The stream this array is computed on.
    pub fn stream(&self) -> Stream {
        self.node.stream
    }
    /// A unique id of the node (shared by sibling outputs).
    pub fn id(&self) -> u64 {
        self.node.id
    }
    /// Which output of its node this array is.
    pub fn output_index(&self) -> usize {
        self.out
    }
    /// Whether two handles refer to the same array.
    pub fn is_same(&self, other: &Array) -> bool {
        Arc::ptr_eq(&self.node, &other.node) && self.out == other.out
    }

    // ---- graph --------------------------------------------------------------------

    /// Whether the data has been computed.
    pub fn is_evaluated(&self) -> bool {
        self.node.lock().data[self.out].is_some()
    }
    /// The primitive producing this array (None once evaluated, or for constants).
    pub fn primitive(&self) -> Option<Arc<dyn Primitive>> {
        self.node.lock().primitive.clone()
    }
    /// The inputs of the producing primitive (empty once evaluated).
    pub fn inputs(&self) -> Vec<Array> {
        self.node.lock().inputs.clone()
    }
    /// All outputs of this array's node, in order (this array among them).
    pub fn siblings_and_self(&self) -> Vec<Array> {
        (0..self.node.outputs.len())
            .map(|out| Array {
                node: self.node.clone(),
                out,
            })
            .collect()
    }

    /// Evaluate this array.
    pub fn eval(&self) -> Result<()> {
        crate::eval::eval(std::slice::from_ref(self))
    }

    /// The evaluated data (evaluates first if needed).
    pub fn data(&self) -> Result<Data> {
        if let Some(d) = self.node.lock().data[self.out].clone() {
            return Ok(d);
        }
        self.eval()?;
        self.node.lock().data[self.out]
            .clone()
            .ok_or_else(|| Error::Unsupported("array has no data after eval".into()))
    }

    /// Set the output data (called by primitives' eval).
    pub fn set_data(&self, data: Data) {
        self.node.lock().data[self.out] = Some(data);
    }

    /// Whether an op consuming this array may write its output into the array's buffer:
    /// this handle is the only reference to the node (no user handle, no other graph node)
    /// and no view shares the storage. Call it while holding exactly one `Data` of the
    /// array (from [`Array::data`]).
    pub fn is_donatable(&self) -> bool {
        if Arc::strong_count(&self.node) != 1 || self.node.outputs.len() != 1 {
            return false;
        }
        self.node.lock().data[self.out]
            .as_ref()
            .is_some_and(|d| Arc::strong_count(&d.storage) <= 2)
    }

    // ---- reading ------------------------------------------------------------------

    /// The single element, converted to `T` (error unless the array has one element).
    pub fn item<T: Element>(&self) -> Result<T> {
        if self.size() != 1 {
            return Err(Error::Shape(format!(
                "item: the array has shape {:?} ({} elements); item needs exactly one",
                self.shape(),
                self.size()
            )));
        }
        Ok(self.to_vec::<T>()?[0])
    }

    /// All elements in row-major order, converted to `T`.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let d = self.data()?;
        Ok(crate::backend::cpu::copy::gather_to_vec::<T>(
            &d,
            self.shape(),
            self.dtype(),
        ))
    }

    /// The raw bytes of all elements in row-major order.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let d = self.data()?;
        let shape = self.shape();
        let c = crate::backend::cpu::copy::copy_to_contiguous(&d, shape, self.dtype(), self.dtype())?;
        Ok(c.host().bytes()[..self.nbytes()].to_vec())
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}
