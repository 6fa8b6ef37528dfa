//! The crate's error type: every fallible public function returns `Result<T, Error>`.

/// Errors raised by mlxr. Messages name the op and the offending shapes, axes or dtypes.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// Shapes that do not fit together (broadcasting, reshape, matmul, ...).
    #[error("{0}")]
    Shape(String),
    /// An argument with a bad value (axis out of range, negative size, ...).
    #[error("{0}")]
    InvalidArgument(String),
    /// A dtype the op does not support.
    #[error("{0}")]
    Dtype(String),
    /// An index out of range.
    #[error("{0}")]
    Index(String),
    /// Reading or writing files.
    #[error("{0}")]
    Io(String),
    /// A device or backend problem (missing GPU, missing libraries, out of memory).
    #[error("{0}")]
    Device(String),
    /// Something this build or this primitive does not implement.
    #[error("{0}")]
    Unsupported(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// Build an `Err(Error::Shape(format!(...)))`.
#[macro_export]
macro_rules! shape_err {
    ($($t:tt)*) => { Err($crate::Error::Shape(format!($($t)*))) };
}
/// Build an `Err(Error::InvalidArgument(format!(...)))`.
#[macro_export]
macro_rules! arg_err {
    ($($t:tt)*) => { Err($crate::Error::InvalidArgument(format!($($t)*))) };
}
/// Build an `Err(Error::Dtype(format!(...)))`.
#[macro_export]
macro_rules! dtype_err {
    ($($t:tt)*) => { Err($crate::Error::Dtype(format!($($t)*))) };
}
