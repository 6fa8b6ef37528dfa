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
