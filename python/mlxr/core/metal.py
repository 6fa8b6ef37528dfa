"""``mlxr.core.metal``: there is no Metal backend in mlxr; these mirror MLX's functions."""


def is_available():
    """Always False: mlxr has no Metal backend."""
    return False


def device_info():
    """Empty: no Metal device."""
    return {}


def start_capture(path):
    """Unsupported without Metal."""
    raise RuntimeError("[metal.start_capture] Metal is not available in mlxr")


def stop_capture():
    """No-op without Metal."""


# --- MLX's deprecated ``mx.metal`` memory functions: aliases of the ``mx.*`` ones, with
# the same message MLX prints ------------------------------------------------------------

import sys as _sys


def _deprecated(name):
    from mlxr import _core

    def f(*args, **kwargs):
        print(
            f"mx.metal.{name} is deprecated and will be removed in a future version. "
            f"Use mx.{name} instead.",
            file=_sys.stderr,
        )
        return getattr(_core, name)(*args, **kwargs)

    f.__name__ = name
    f.__doc__ = f"Deprecated alias of ``mx.{name}``."
    return f


get_active_memory = _deprecated("get_active_memory")
get_peak_memory = _deprecated("get_peak_memory")
reset_peak_memory = _deprecated("reset_peak_memory")
get_cache_memory = _deprecated("get_cache_memory")
set_memory_limit = _deprecated("set_memory_limit")
set_cache_limit = _deprecated("set_cache_limit")
set_wired_limit = _deprecated("set_wired_limit")
clear_cache = _deprecated("clear_cache")
