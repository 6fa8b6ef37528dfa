"""mlxr: MLX's Python API (``mlxr.core``, ``mlxr.nn``, ``mlxr.optimizers``, ``mlxr.utils``)
on mlxr, a Rust implementation of MLX's programming model that runs on any CPU.

Replace ``mlx`` by ``mlxr`` in imports (``import mlxr.core as mx``), or call
:func:`mlxr.alias_mlx` (or set ``MLXR_ALIAS_MLX=1`` and import ``mlxr`` first) so that
``import mlx.core`` resolves to mlxr.
"""

import importlib
import os
import sys

__version__ = "0.1.0"

_SUBMODULES = ["core", "core.random", "core.distributed", "core.cuda", "core.metal", "nn",
               "nn.init", "nn.losses", "nn.utils", "nn.layers", "nn.layers.distributed",
               "optimizers", "utils"]


def alias_mlx():
    """Make ``import mlx``, ``import mlx.core``, ``mlx.nn``, ... resolve to mlxr's modules.

    Call this before the first ``import mlx...`` of the program (an installed MLX is
    shadowed for the rest of the process)."""
    sys.modules["mlx"] = sys.modules[__name__]
    for name in _SUBMODULES:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ImportError:
            continue
        sys.modules[f"mlx.{name}"] = mod


if os.environ.get("MLXR_ALIAS_MLX") == "1":
    alias_mlx()
