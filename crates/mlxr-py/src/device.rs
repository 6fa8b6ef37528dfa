//! Devices, streams and memory: `mx.Device`, `mx.Stream`, `mx.cpu`/`mx.gpu`, the default
//! device, stream scopes (`with mx.stream(s):`), thread-local streams
//! (`mx.ThreadLocalStream`), `synchronize` and the memory figures.

use crate::convert::IntoPyResult;
use mlxr::{Device, DeviceType, Stream, StreamOrDevice};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::sync::Mutex;
use std::thread::ThreadId;

/// The kind of a device (`mx.DeviceType.cpu` / `mx.DeviceType.gpu`).
#[pyclass(name = "DeviceType", module = "mlxr.core", eq, eq_int, frozen)]
#[derive(Clone, Copy, PartialEq)]
#[allow(non_camel_case_types)]
pub enum PyDeviceType {
    /// The host CPU.
    cpu,
    /// An NVIDIA GPU.
    gpu,
}

/// A device (`mx.Device(mx.cpu)`, `mx.Device(mx.gpu, 0)`).
#[pyclass(name = "Device", module = "mlxr.core", frozen, eq)]
#[derive(Clone, Copy, PartialEq)]
pub struct PyDevice(pub Device);

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (r#type, index=0))]
    fn new(r#type: PyDeviceType, index: usize) -> PyResult<Self> {
        match r#type {
            PyDeviceType::cpu => Ok(PyDevice(Device::cpu())),
            PyDeviceType::gpu => Device::gpu(index).py().map(PyDevice),
        }
    }
    /// The device kind.
    #[getter]
    fn r#type(&self) -> PyDeviceType {
        match self.0.kind {
            DeviceType::Cpu => PyDeviceType::cpu,
            DeviceType::Gpu => PyDeviceType::gpu,
        }
    }
    /// The device's index among devices of its kind.
    #[getter]
    fn index(&self) -> usize {
        self.0.index
    }
    fn __repr__(&self) -> String {
        self.0.to_string()
    }
    fn __hash__(&self) -> u64 {
        (self.0.index as u64) * 2 + (self.0.kind == DeviceType::Gpu) as u64
    }
}

/// A stream of work on a device.
#[pyclass(name = "Stream", module = "mlxr.core", frozen, eq)]
#[derive(Clone, Copy, PartialEq)]
pub struct PyStream(pub Stream);

#[pymethods]
impl PyStream {
    /// The stream's device.
    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice(self.0.device)
    }
    /// The stream's index.
    #[getter]
    fn index(&self) -> usize {
        self.0.index
    }
    fn __repr__(&self) -> String {
        self.0.to_string()
    }
    fn __hash__(&self) -> u64 {
        self.0.index as u64
    }
}

/// A stream that is a different stream in each thread (MLX's `ThreadLocalStream`, made
/// by `new_thread_local_stream`): a thread's stream on the device is created the first
/// time that thread uses it (the creating thread's at construction).
#[pyclass(name = "ThreadLocalStream", module = "mlxr.core", frozen)]
pub struct PyThreadLocalStream {
    device: Device,
    /// The creating thread's stream (shown by `repr`).
    first: Stream,
    streams: Mutex<HashMap<ThreadId, Stream>>,
}

impl PyThreadLocalStream {
    /// The calling thread's stream.
    pub fn current(&self) -> Stream {
        let mut m = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry(std::thread::current().id())
            .or_insert_with(|| mlxr::new_stream(self.device))
    }
}

#[pymethods]
impl PyThreadLocalStream {
    /// The stream's device.
    #[getter]
    fn device(&self) -> PyDevice {
        PyDevice(self.device)
    }
    fn __repr__(&self) -> String {
        format!("ThreadLocalStream({}, {})", self.device, self.first.index)
    }
}

/// A new thread-local stream on a device.
#[pyfunction]
fn new_thread_local_stream(device: &Bound<PyAny>) -> PyResult<PyThreadLocalStream> {
    let d = match stream_or_device(device)? {
        StreamOrDevice::Device(d) => d,
        StreamOrDevice::Stream(s) => s.device,
        StreamOrDevice::Default => mlxr::default_device(),
    };
    let first = mlxr::new_stream(d);
    let mut streams = HashMap::new();
    streams.insert(std::thread::current().id(), first);
    Ok(PyThreadLocalStream {
        device: d,
        first,
        streams: Mutex::new(streams),
    })
}

/// A `stream=` argument: a Stream, a Device, or a DeviceType (its device 0), or a
/// ThreadLocalStream (the calling thread's stream).
pub fn stream_or_device(obj: &Bound<PyAny>) -> PyResult<StreamOrDevice> {
    if obj.is_none() {
        return Ok(StreamOrDevice::Default);
    }
    if let Ok(s) = obj.downcast::<PyStream>() {
        return Ok(StreamOrDevice::Stream(s.get().0));
    }
    if let Ok(d) = obj.downcast::<PyDevice>() {
        return Ok(StreamOrDevice::Device(d.get().0));
    }
    if let Ok(t) = obj.downcast::<PyThreadLocalStream>() {
        return Ok(StreamOrDevice::Stream(t.get().current()));
    }
    if let Ok(t) = obj.extract::<PyDeviceType>() {
        return Ok(StreamOrDevice::Device(PyDevice::new(t, 0)?.0));
    }
    Err(PyTypeError::new_err(
        "stream must be None, a Stream or a Device",
    ))
}

/// Run `f` on the stream named by a `stream=` argument (or the current default).
pub fn on<R>(stream: Option<&Bound<PyAny>>, f: impl FnOnce() -> mlxr::Result<R>) -> PyResult<R> {
    match stream {
        None => f().py(),
        Some(s) if s.is_none() => f().py(),
        Some(s) => {
            let sod = stream_or_device(s)?;
            mlxr::with_stream(sod, f).py()
        }
    }
}

/// The default device.
#[pyfunction]
fn default_device() -> PyDevice {
    PyDevice(mlxr::default_device())
}

/// Set the default device.
#[pyfunction]
fn set_default_device(device: &Bound<PyAny>) -> PyResult<()> {
    let d = match stream_or_device(device)? {
        StreamOrDevice::Device(d) => d,
        StreamOrDevice::Stream(s) => s.device,
        StreamOrDevice::Default => mlxr::default_device(),
    };
    mlxr::set_default_device(d).py()
}

/// The default stream of a device.
#[pyfunction]
fn default_stream(device: &Bound<PyAny>) -> PyResult<PyStream> {
    Ok(PyStream(stream_or_device(device)?.resolve()))
}

/// Make the default stream of `stream`'s device `stream` (a no-op beyond checking the
/// argument: ops use the scoped stream or the device's default stream).
#[pyfunction]
fn set_default_stream(stream: &Bound<PyAny>) -> PyResult<()> {
    stream_or_device(stream).map(|_| ())
}

/// A new stream on a device.
#[pyfunction]
fn new_stream(device: &Bound<PyAny>) -> PyResult<PyStream> {
    let d = match stream_or_device(device)? {
        StreamOrDevice::Device(d) => d,
        StreamOrDevice::Stream(s) => s.device,
        StreamOrDevice::Default => mlxr::default_device(),
    };
    Ok(PyStream(mlxr::new_stream(d)))
}

/// Enter a stream scope (used by the `mx.stream` context manager).
#[pyfunction]
fn _push_stream(s: &Bound<PyAny>) -> PyResult<()> {
    mlxr::device::push_stream(stream_or_device(s)?);
    Ok(())
}

/// Leave the innermost stream scope.
#[pyfunction]
fn _pop_stream() {
    mlxr::device::pop_stream();
}

/// Wait for the work queued on a stream (all streams when None).
#[pyfunction]
#[pyo3(signature = (stream=None))]
fn synchronize(stream: Option<&Bound<PyAny>>) -> PyResult<()> {
    let _ = stream;
    mlxr::synchronize().py()
}

/// Whether a GPU is usable.
#[pyfunction]
fn _gpu_is_available() -> bool {
    mlxr::gpu_is_available()
}

/// The number of devices of a kind.
#[pyfunction]
fn device_count(r#type: PyDeviceType) -> usize {
    match r#type {
        PyDeviceType::cpu => 1,
        PyDeviceType::gpu => mlxr::gpu_count().unwrap_or(0),
    }
}

/// Bytes held by arrays.
#[pyfunction]
fn get_active_memory() -> usize {
    mlxr::memory::active_memory()
}
/// Bytes held in the allocator cache.
#[pyfunction]
fn get_cache_memory() -> usize {
    mlxr::memory::cache_memory()
}
/// The peak of the active memory.
#[pyfunction]
fn get_peak_memory() -> usize {
    mlxr::memory::peak_memory()
}
/// Reset the peak memory.
#[pyfunction]
fn reset_peak_memory() {
    mlxr::memory::reset_peak_memory()
}
/// The memory limit in bytes.
#[pyfunction]
fn get_memory_limit() -> usize {
    mlxr::memory::memory_limit()
}
/// Set the memory limit; returns the previous one.
#[pyfunction]
fn set_memory_limit(limit: usize) -> usize {
    mlxr::memory::set_memory_limit(limit)
}
/// Set the cache limit; returns the previous one.
#[pyfunction]
fn set_cache_limit(limit: usize) -> usize {
    mlxr::memory::set_cache_limit(limit)
}
/// Set the wired limit (no wired memory here: returns 0).
#[pyfunction]
fn set_wired_limit(limit: usize) -> usize {
    let _ = limit;
    0
}
/// Free the allocator cache.
#[pyfunction]
fn clear_cache() {
    mlxr::memory::clear_cache()
}

/// Register this file's classes and functions.
pub fn register(m: &Bound<PyModule>) -> PyResult<()> {
    m.add_class::<PyDeviceType>()?;
    m.add_class::<PyDevice>()?;
    m.add_class::<PyStream>()?;
    m.add("cpu", PyDeviceType::cpu)?;
    m.add("gpu", PyDeviceType::gpu)?;
    m.add_function(wrap_pyfunction!(default_device, m)?)?;
    m.add_function(wrap_pyfunction!(set_default_device, m)?)?;
    m.add_function(wrap_pyfunction!(default_stream, m)?)?;
    m.add_function(wrap_pyfunction!(set_default_stream, m)?)?;
    m.add_function(wrap_pyfunction!(new_stream, m)?)?;
    m.add_function(wrap_pyfunction!(_push_stream, m)?)?;
    m.add_class::<PyThreadLocalStream>()?;
    m.add_function(wrap_pyfunction!(new_thread_local_stream, m)?)?;
    m.add_function(wrap_pyfunction!(_pop_stream, m)?)?;
    m.add_function(wrap_pyfunction!(synchronize, m)?)?;
    m.add_function(wrap_pyfunction!(_gpu_is_available, m)?)?;
    m.add_function(wrap_pyfunction!(device_count, m)?)?;
    m.add_function(wrap_pyfunction!(get_active_memory, m)?)?;
    m.add_function(wrap_pyfunction!(get_cache_memory, m)?)?;
    m.add_function(wrap_pyfunction!(get_peak_memory, m)?)?;
    m.add_function(wrap_pyfunction!(reset_peak_memory, m)?)?;
    m.add_function(wrap_pyfunction!(get_memory_limit, m)?)?;
    m.add_function(wrap_pyfunction!(set_memory_limit, m)?)?;
    m.add_function(wrap_pyfunction!(set_cache_limit, m)?)?;
    m.add_function(wrap_pyfunction!(set_wired_limit, m)?)?;
    m.add_function(wrap_pyfunction!(clear_cache, m)?)?;
    Ok(())
}
