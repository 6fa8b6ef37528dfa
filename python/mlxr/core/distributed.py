"""``mlxr.core.distributed``: MLX's ``mlx.core.distributed`` (groups of processes and
collective operations). The implementation is the extension's ``distributed`` submodule
(``crates/mlxr-py/src/distributed.rs`` over ``mlxr::distributed``); this module re-exports
it so that ``import mlxr.core.distributed`` works.

Backends: MPI when the extension was built with the ``mpi`` cargo feature and the
processes were started by ``mpirun``, NCCL with the ``cuda`` feature; otherwise ``init()``
returns the size-1 singleton group in which every collective returns its input."""

from mlxr._core import distributed as _d

Group = _d.Group
is_available = _d.is_available
init = _d.init
all_sum = _d.all_sum
all_max = _d.all_max
all_min = _d.all_min
all_gather = _d.all_gather
sum_scatter = _d.sum_scatter
send = _d.send
recv = _d.recv
recv_like = _d.recv_like
