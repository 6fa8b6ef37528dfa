//! Distributed communication, MLX's `mlx.core.distributed`: a [`Group`] of processes (rank,
//! size, `split`), [`init`] choosing a communication backend, and the collectives as lazy
//! ops (`ops.rs`: `all_sum`, `all_max`, `all_min`, `all_gather`, `sum_scatter`, `send`,
//! `recv`, `recv_like`) whose primitives (`primitives.rs`) call the group's [`Backend`]
//! when the graph is evaluated.
//!
//! Backends: `mpi` (feature `mpi`, `mpi.rs`: rsmpi over the system's Open MPI, on host
//! memory; processes started by `mpirun` or `mlxr-launch --backend mpi`), `nccl` (feature
//! `cuda`, `nccl.rs`: NCCL through cudarc, on GPU memory; processes started by
//! `mlxr-launch --backend nccl`, which passes the rank, the size and a rendezvous address
//! for NCCL's unique id in the environment, see [`env`]). Without a backend, or when the
//! process was not launched as part of a job, the world is the size-1 *singleton* group in
//! which every collective is the identity (as MLX's `init(strict=False)`).

mod ops;
mod primitives;

#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(feature = "cuda")]
pub mod nccl;

pub use ops::{all_gather, all_max, all_min, all_sum, recv, recv_like, send, sum_scatter};
pub use primitives::NAMES;

use crate::dtype::Dtype;
use crate::error::{Error, Result};
use std::any::Any;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

/// The environment variables the launcher (`mlxr-launch`) sets for each process.
pub mod env {
    /// The process's rank in the world group (0-based).
    pub const RANK: &str = "MLXR_RANK";
    /// The number of processes in the world group.
    pub const WORLD_SIZE: &str = "MLXR_WORLD_SIZE";
    /// The process's index among the processes of its host (chooses its GPU).
    pub const LOCAL_RANK: &str = "MLXR_LOCAL_RANK";
    /// `host:port` where rank 0 hands out NCCL's unique id (rank 0 listens there).
    pub const COORDINATOR: &str = "MLXR_COORDINATOR";
    /// The backend the launcher chose (`mpi` or `nccl`); `init(_, "any")` follows it.
    pub const BACKEND: &str = "MLXR_DIST_BACKEND";
}

/// The reduction of an all-reduce or reduce-scatter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Elementwise sum (logical or for bool).
    Sum,
    /// Elementwise maximum (logical or for bool).
    Max,
    /// Elementwise minimum (logical and for bool).
    Min,
}

/// A communication backend: the processes of one communicator and the collectives over
/// them. Host-memory backends (MPI) implement the byte-level methods below; buffers are
/// row-contiguous elements of `dtype`. A GPU backend (NCCL) runs its collectives in the
/// primitives' GPU evaluation instead and reports [`Backend::on_gpu`].
pub trait Backend: Send + Sync + Debug + Any {
    /// The backend's name (`"mpi"`, `"nccl"`, `"singleton"`).
    fn name(&self) -> &'static str;
    /// This process's rank in the communicator.
    fn rank(&self) -> usize;
    /// The number of processes in the communicator.
    fn size(&self) -> usize;
    /// Split into sub-communicators: processes with the same `color` form one, ordered by
    /// `key` (ties by rank).
    fn split(&self, color: i32, key: i32) -> Result<Arc<dyn Backend>>;
    /// Whether the collectives run on GPU memory (the ops are then placed on a GPU stream).
    fn on_gpu(&self) -> bool {
        false
    }
    /// `output = reduce over ranks of input` (`input.len() == output.len()`).
    fn all_reduce(&self, input: &[u8], output: &mut [u8], dtype: Dtype, op: ReduceOp)
        -> Result<()>;
    /// `output = concat over ranks of input` (`output.len() == size * input.len()`).
    fn all_gather(&self, input: &[u8], output: &mut [u8], dtype: Dtype) -> Result<()>;
    /// `output = rank's block of (reduce over ranks of input)`
    /// (`input.len() == size * output.len()`).
    fn reduce_scatter(
        &self,
        input: &[u8],
        output: &mut [u8],
        dtype: Dtype,
        op: ReduceOp,
    ) -> Result<()>;
    /// Send `input` to rank `dst` (blocks until the buffer may be reused).
    fn send(&self, input: &[u8], dtype: Dtype, dst: usize) -> Result<()>;
    /// Receive into `output` from rank `src` (blocks until the data is there).
    fn recv(&self, output: &mut [u8], dtype: Dtype, src: usize) -> Result<()>;
    /// Upcast, for backends whose GPU paths need their concrete type.
    fn as_any(&self) -> &dyn Any;
}

/// The size-1 group used when no backend is available: collectives are the identity.
#[derive(Debug)]
struct Singleton;

impl Singleton {
    fn no_peer(what: &str) -> Error {
        Error::InvalidArgument(format!(
            "{what}: the singleton group (size 1, no distributed backend) has no other process"
        ))
    }
}

impl Backend for Singleton {
    fn name(&self) -> &'static str {
        "singleton"
    }
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn split(&self, _color: i32, _key: i32) -> Result<Arc<dyn Backend>> {
        Ok(Arc::new(Singleton))
    }
    fn all_reduce(&self, input: &[u8], output: &mut [u8], _: Dtype, _: ReduceOp) -> Result<()> {
        output.copy_from_slice(input);
        Ok(())
    }
    fn all_gather(&self, input: &[u8], output: &mut [u8], _: Dtype) -> Result<()> {
        output.copy_from_slice(input);
        Ok(())
    }
    fn reduce_scatter(&self, input: &[u8], output: &mut [u8], _: Dtype, _: ReduceOp) -> Result<()> {
        output.copy_from_slice(input);
        Ok(())
    }
    fn send(&self, _: &[u8], _: Dtype, _: usize) -> Result<()> {
        Err(Singleton::no_peer("send"))
    }
    fn recv(&self, _: &mut [u8], _: Dtype, _: usize) -> Result<()> {
        Err(Singleton::no_peer("recv"))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A group of processes that communicate (MLX's `mx.distributed.Group`). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Group {
    backend: Arc<dyn Backend>,
}

impl Group {
    /// A group over a backend's communicator.
    pub fn from_backend(backend: Arc<dyn Backend>) -> Group {
        Group { backend }
    }
    /// The size-1 group without a backend.
    pub fn singleton() -> Group {
        Group::from_backend(Arc::new(Singleton))
    }
    /// This process's rank in the group.
    pub fn rank(&self) -> usize {
        self.backend.rank()
    }
    /// The number of processes in the group.
    pub fn size(&self) -> usize {
        self.backend.size()
    }
    /// The backend's name (`"mpi"`, `"nccl"` or `"singleton"`).
    pub fn backend_name(&self) -> &'static str {
        self.backend.name()
    }
    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }
    /// Whether this is the backend-less size-1 group.
    pub fn is_singleton(&self) -> bool {
        self.backend.as_any().is::<Singleton>()
    }
    /// Split the group (MLX's `Group.split(color, key=-1)`): processes passing the same
    /// `color` form a new group, ranked by `key` (`None` or a negative key: by their rank in
    /// this group). Every process of the group must call it.
    pub fn split(&self, color: i32, key: Option<i32>) -> Result<Group> {
        if color < 0 {
            return Err(Error::InvalidArgument(format!(
                "Group.split: color must be non-negative, got {color}"
            )));
        }
        let key = match key {
            Some(k) if k >= 0 => k,
            _ => self.rank() as i32,
        };
        Ok(Group::from_backend(self.backend.split(color, key)?))
    }
    /// Whether two handles refer to the same communicator.
    pub fn same(&self, other: &Group) -> bool {
        Arc::ptr_eq(&self.backend, &other.backend)
    }
}

/// The world group, once [`init`] has made it.
static WORLD: Mutex<Option<Group>> = Mutex::new(None);

fn env_usize(var: &str) -> Option<usize> {
    std::env::var(var).ok()?.trim().parse().ok()
}

/// Whether this process was started by an MPI launcher (`mpirun`/`mpiexec`, or
/// `mlxr-launch --backend mpi`).
pub fn launched_by_mpi() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

/// Whether the environment describes a job the NCCL backend can join (the launcher set
/// the rank, the size and the coordinator address).
fn launched_for_nccl() -> bool {
    std::env::var_os(env::COORDINATOR).is_some()
        && env_usize(env::RANK).is_some()
        && env_usize(env::WORLD_SIZE).is_some()
}

/// Whether a backend can be used by this build on this machine (MLX's
/// `mx.distributed.is_available(backend)`): `"mpi"` needs the `mpi` feature, `"nccl"` the
/// `cuda` feature, a GPU and `libnccl.so.2`; `"any"` is true when one of them is.
pub fn is_available(backend: &str) -> bool {
    match backend {
        "mpi" => cfg!(feature = "mpi"),
        "nccl" => nccl_available(),
        "any" => is_available("mpi") || is_available("nccl"),
        _ => false,
    }
}

#[cfg(feature = "cuda")]
fn nccl_available() -> bool {
    nccl::is_available()
}
#[cfg(not(feature = "cuda"))]
fn nccl_available() -> bool {
    false
}

fn init_backend(name: &str) -> Result<Group> {
    match name {
        "mpi" => {
            #[cfg(feature = "mpi")]
            {
                Ok(Group::from_backend(mpi::init_world()?))
            }
            #[cfg(not(feature = "mpi"))]
            {
                Err(Error::Unsupported(
                    "distributed::init: the mpi backend is not in this build of mlxr (build \
                     with `--features mpi`, which needs Open MPI)"
                        .into(),
                ))
            }
        }
        "nccl" => {
            #[cfg(feature = "cuda")]
            {
                Ok(Group::from_backend(nccl::init_world()?))
            }
            #[cfg(not(feature = "cuda"))]
            {
                Err(Error::Unsupported(
                    "distributed::init: the nccl backend needs the CUDA backend (build with \
                     `--features cuda`)"
                        .into(),
                ))
            }
        }
        other => Err(Error::InvalidArgument(format!(
            "distributed::init: unknown backend '{other}' (any, mpi or nccl)"
        ))),
    }
}

/// Initialise the distributed world and return its group (MLX's
/// `mx.distributed.init(strict=False, backend="any")`). The first successful call decides
/// the world; later calls return the same group.
///
/// `backend`: `"mpi"`, `"nccl"` or `"any"`. `"any"` follows `MLXR_DIST_BACKEND` when the
/// launcher set it; else it takes NCCL when the launcher's rendezvous variables are set
/// and NCCL is usable, else MPI when the process was started by an MPI launcher, else no
/// backend. Without a backend the result is the singleton group (size 1), or an error when
/// `strict`. A named backend that fails to initialise is an error when `strict` and the
/// singleton group otherwise.
pub fn init(strict: bool, backend: &str) -> Result<Group> {
    let mut world = WORLD.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(g) = world.as_ref() {
        // A strict call does not accept the singleton world: it tries the backends again.
        if (backend == "any" || g.backend_name() == backend) && !(strict && g.is_singleton()) {
            return Ok(g.clone());
        }
        // A singleton world may still be replaced by a named backend.
        if !g.is_singleton() {
            return Err(Error::InvalidArgument(format!(
                "distributed::init: the world was already initialised with the {} backend; \
                 cannot switch to '{backend}'",
                g.backend_name()
            )));
        }
    }
    let choice: Option<String> = match backend {
        "any" => {
            if let Ok(b) = std::env::var(env::BACKEND) {
                Some(b)
            } else if launched_for_nccl() && is_available("nccl") {
                Some("nccl".into())
            } else if launched_by_mpi() && is_available("mpi") {
                Some("mpi".into())
            } else {
                None
            }
        }
        "mpi" | "nccl" => Some(backend.to_string()),
        other => {
            return Err(Error::InvalidArgument(format!(
                "distributed::init: unknown backend '{other}' (any, mpi or nccl)"
            )))
        }
    };
    let group = match choice {
        Some(name) => match init_backend(&name) {
            Ok(g) => g,
            Err(e) if strict => return Err(e),
            Err(_) => Group::singleton(),
        },
        None if strict => {
            return Err(Error::Device(
                "distributed::init(strict): no distributed backend is available (build with \
                 `--features mpi` and start the processes with `mlxr-launch` or `mpirun`)"
                    .into(),
            ))
        }
        None => Group::singleton(),
    };
    *world = Some(group.clone());
    Ok(group)
}

/// The world group: the one [`init`] made, or `init(false, "any")` at first use (as MLX's
/// ops do when no group is passed).
pub fn world() -> Result<Group> {
    if let Some(g) = WORLD.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Ok(g.clone());
    }
    init(false, "any")
}

/// The group an op runs on: the one given, else the world group.
pub(crate) fn group_or_world(group: Option<&Group>) -> Result<Group> {
    match group {
        Some(g) => Ok(g.clone()),
        None => world(),
    }
}
