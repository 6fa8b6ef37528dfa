//! Devices and streams: `Device::cpu()`, `Device::gpu(i)`, the default device, and the
//! stream-or-device every op runs on (the current default, or one chosen for a scope with
//! [`with_stream`] / [`with_device`], like MLX's `with mx.stream(s):`).

use crate::error::{Error, Result};
use std::cell::RefCell;
use std::fmt;
use std::sync::Mutex;

/// The kind of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceType {
    /// The host CPU.
    Cpu,
    /// An NVIDIA GPU (CUDA backend).
    Gpu,
}

/// A device: the CPU, or the GPU with a given index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Device {
    /// CPU or GPU.
    pub kind: DeviceType,
    /// Index among devices of that kind.
    pub index: usize,
}

impl Device {
    /// The CPU.
    pub const fn cpu() -> Device {
        Device {
            kind: DeviceType::Cpu,
            index: 0,
        }
    }
    /// The GPU with index `i`: an error when no usable GPU backend is present (a build
    /// without the `cuda` feature, no NVIDIA driver or GPU, NVRTC missing) or `i` is not
    /// below the number of GPUs.
    pub fn gpu(i: usize) -> Result<Device> {
        let n = gpu_count_result().map_err(|why| {
            Error::Device(format!("Device::gpu({i}): no GPU is available: {why}"))
        })?;
        if i >= n {
            return Err(Error::Device(format!(
                "Device::gpu({i}): GPU index out of range: this machine has {n} usable GPU(s)"
            )));
        }
        Ok(Device {
            kind: DeviceType::Gpu,
            index: i,
        })
    }
    /// True for the CPU.
    pub fn is_cpu(&self) -> bool {
        self.kind == DeviceType::Cpu
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DeviceType::Cpu => write!(f, "Device(cpu, {})", self.index),
            DeviceType::Gpu => write!(f, "Device(gpu, {})", self.index),
        }
    }
}

/// The number of usable GPUs, or why there is none.
#[cfg(feature = "cuda")]
fn gpu_count_result() -> std::result::Result<usize, String> {
    crate::backend::cuda::device_count().map_err(|e| e.to_string())
}

/// Without the `cuda` feature there is never a GPU.
#[cfg(not(feature = "cuda"))]
fn gpu_count_result() -> std::result::Result<usize, String> {
    Err(
        "this build of mlxr has no CUDA backend (build with `--features cuda`), so arrays \
         can only live on the CPU"
            .into(),
    )
}

/// Whether a GPU can be used by this build on this machine (the CUDA backend is built
/// in, the NVIDIA driver, NVRTC and at least one GPU are present).
pub fn gpu_is_available() -> bool {
    #[cfg(feature = "cuda")]
    {
        crate::backend::cuda::is_available()
    }
    #[cfg(not(feature = "cuda"))]
    {
        false
    }
}

/// The number of usable GPUs; an error saying why when there is none.
pub fn gpu_count() -> Result<usize> {
    gpu_count_result().map_err(Error::Device)
}

/// A stream of work on a device. Ops on one stream run in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stream {
    /// The device the stream runs on.
    pub device: Device,
    /// The stream's index on its device.
    pub index: usize,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Stream({}, {})", self.device, self.index)
    }
}

/// A stream, a device (meaning its default stream), or the current default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum StreamOrDevice {
    /// The current default stream.
    #[default]
    Default,
    /// The default stream of a device.
    Device(Device),
    /// A specific stream.
    Stream(Stream),
}

impl From<Device> for StreamOrDevice {
    fn from(d: Device) -> Self {
        StreamOrDevice::Device(d)
    }
}
impl From<Stream> for StreamOrDevice {
    fn from(s: Stream) -> Self {
        StreamOrDevice::Stream(s)
    }
}
impl From<Option<Device>> for StreamOrDevice {
    fn from(d: Option<Device>) -> Self {
        d.map_or(StreamOrDevice::Default, StreamOrDevice::Device)
    }
}

impl StreamOrDevice {
    /// Resolve to a concrete stream.
    pub fn resolve(self) -> Stream {
        match self {
            StreamOrDevice::Default => default_stream_now(),
            StreamOrDevice::Device(d) => default_stream(d),
            StreamOrDevice::Stream(s) => s,
        }
    }
}

struct Defaults {
    device: Option<Device>,
    streams: usize,
}

static DEFAULTS: Mutex<Defaults> = Mutex::new(Defaults {
    device: None,
    streams: 1,
});

thread_local! {
    static SCOPED: RefCell<Vec<Stream>> = const { RefCell::new(Vec::new()) };
}

/// The default device: the GPU when one is usable, otherwise the CPU (as MLX).
pub fn default_device() -> Device {
    let d = DEFAULTS.lock().unwrap_or_else(|e| e.into_inner()).device;
    d.unwrap_or_else(|| {
        if gpu_is_available() {
            Device {
                kind: DeviceType::Gpu,
                index: 0,
            }
        } else {
            Device::cpu()
        }
    })
}

/// Set the default device for ops that name none.
pub fn set_default_device(d: Device) -> Result<()> {
    if d.kind == DeviceType::Gpu && !gpu_is_available() {
        return Err(Error::Device(format!(
            "set_default_device({d}): no GPU is available"
        )));
    }
    DEFAULTS.lock().unwrap_or_else(|e| e.into_inner()).device = Some(d);
    Ok(())
}

/// The default stream of a device (index 0).
pub fn default_stream(d: Device) -> Stream {
    Stream {
        device: d,
        index: 0,
    }
}

/// A new stream on a device.
pub fn new_stream(d: Device) -> Stream {
    let mut g = DEFAULTS.lock().unwrap_or_else(|e| e.into_inner());
    let index = g.streams;
    g.streams += 1;
    Stream { device: d, index }
}

/// The stream ops run on right now: the innermost [`with_stream`] scope of this thread,
/// else the default device's default stream.
pub fn default_stream_now() -> Stream {
    SCOPED
        .with(|s| s.borrow().last().copied())
        .unwrap_or_else(|| default_stream(default_device()))
}

/// Run `f` with every op it builds placed on `s` (a stream or a device), like MLX's
/// `with mx.stream(s):`.
pub fn with_stream<R>(s: impl Into<StreamOrDevice>, f: impl FnOnce() -> R) -> R {
    let stream = s.into().resolve();
    SCOPED.with(|v| v.borrow_mut().push(stream));
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            SCOPED.with(|v| {
                v.borrow_mut().pop();
            });
        }
    }
    let _pop = Pop;
    f()
}

/// Make `s` the current stream of this thread until the matching [`pop_stream`] (the
/// enter half of a scope, for bindings whose scopes are not closures, like Python's
/// `with mx.stream(s):`).
pub fn push_stream(s: impl Into<StreamOrDevice>) {
    let stream = s.into().resolve();
    SCOPED.with(|v| v.borrow_mut().push(stream));
}

/// End the innermost [`push_stream`] scope of this thread (no-op when there is none).
pub fn pop_stream() {
    SCOPED.with(|v| {
        v.borrow_mut().pop();
    });
}

/// Alias of [`with_stream`] for a device.
pub fn with_device<R>(d: Device, f: impl FnOnce() -> R) -> R {
    with_stream(d, f)
}
