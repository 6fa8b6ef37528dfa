//! `mlxr._core`: the Python extension module behind `mlxr.core` (MLX's `mlx.core` API).
//! The Python package (`python/mlxr`) re-exports it and adds the pure-Python parts
//! (pytree transforms, `nn`, `optimizers`, `utils`).

mod array;
mod buffer;
mod convert;
mod device;
mod distributed;
mod export;
mod extra;
mod io;
mod linalg_fft;
mod ops;
mod quantized;
mod random;
mod transforms;

use convert::{PyDtype, ALL_DTYPES};
use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<array::PyArray>()?;
    m.add_class::<array::ArrayAt>()?;
    m.add_class::<array::ArrayAtIndex>()?;
    m.add_class::<array::ArrayIterator>()?;
    m.add_class::<PyDtype>()?;
    for d in ALL_DTYPES {
        let name = if d == mlxr::Dtype::Bool {
            "bool_"
        } else {
            d.name()
        };
        m.add(name, PyDtype(d))?;
    }
    device::register(m)?;
    ops::register(m)?;
    quantized::register(m)?;
    transforms::register(m)?;
    io::register(m)?;
    linalg_fft::register(m)?;
    random::register(m)?;
    distributed::register(m)?;
    export::register(m)?;
    extra::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
