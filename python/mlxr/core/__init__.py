"""``mlxr.core``: arrays, ops, devices and streams, transformations, random numbers and
file I/O with MLX's ``mlx.core`` API. Most of it is the Rust extension ``mlxr._core``;
this package adds the parts written in Python (pytree transforms, array methods, dtype
info, stream contexts)."""

from mlxr._core import *  # noqa: F401,F403
from mlxr._core import array, Dtype, _gpu_is_available, _push_stream, _pop_stream  # noqa: F401
from mlxr import _core

from ._dtypes import (  # noqa: F401
    DtypeCategory, finfo, iinfo, issubdtype, isdtype, can_cast,
    generic, number, integer, signedinteger, unsignedinteger, inexact, floating,
    complexfloating,
)
from ._transforms import (  # noqa: F401
    grad, value_and_grad, vjp, jvp, vmap, checkpoint, custom_function, compile,
    disable_compile, enable_compile, eval, async_eval,
)
from ._export import (  # noqa: F401
    export_function, import_function, exporter, FunctionExporter,
)
from ._extra import *  # noqa: F401,F403
from ._extra import stream, StreamContext  # noqa: F401
from ._conv import (  # noqa: F401
    conv1d, conv2d, conv3d, conv_general, conv_transpose1d, conv_transpose2d, conv_transpose3d,
)
from . import cuda, metal, fast, linalg, fft  # noqa: F401
# ``from . import random`` would find the extension's ``random`` submodule (bound by the
# ``*`` import above) instead of ``random.py``, which adds ``state``.
import importlib as _importlib

random = _importlib.import_module(".random", __name__)
distributed = _importlib.import_module(".distributed", __name__)
from . import _methods  # noqa: F401  (attaches array methods)

__version__ = _core.__version__
