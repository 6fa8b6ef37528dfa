//! The byte-level encoding of `.mlxfn` files: [`Writer`] / [`Reader`] (little-endian,
//! length-prefixed, bounds-checked), the [`Serial`] trait for the value types primitives
//! hold (integers, floats, bools, strings, vectors, options, dtypes and the primitives'
//! parameter enums), and the [`ExportState`] / [`ImportState`] traits through which a
//! primitive writes and reads its parameters.
//!
//! `ExportState` is a supertrait of [`crate::Primitive`], so a new primitive type that does
//! not say how it is exported does not compile. The macros `exportable!` (a struct whose
//! fields are all `Serial`, listed exhaustively: adding a field without listing it fails to
//! compile) and `not_exportable!` (a primitive that cannot be saved, e.g. one holding a
//! closure or a communication group) implement it.

use crate::dtype::Dtype;
use crate::error::{Error, Result};

/// Appends values to a byte buffer (little-endian; lengths as `u64`).
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer::default()
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    /// The bytes written so far, borrowed.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
    /// Raw bytes, without a length.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    /// A `u8`.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// A `u32`.
    pub fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }
    /// A `u64`.
    pub fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }
    /// A length or index (as `u64`).
    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }
    /// A byte string: its length, then the bytes.
    pub fn blob(&mut self, b: &[u8]) {
        self.usize(b.len());
        self.raw(b);
    }
    /// A UTF-8 string (as a byte string).
    pub fn str(&mut self, s: &str) {
        self.blob(s.as_bytes());
    }
}

/// Reads values back from a byte slice; every read checks the bounds, so a truncated or
/// corrupt input gives an [`Error::Io`] rather than a panic.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    /// The error for malformed input.
    pub fn corrupt(&self, what: &str) -> Error {
        Error::Io(format!(
            "[import_function] The file is corrupt or truncated: {what} (at byte {})",
            self.pos
        ))
    }
    /// The next `n` raw bytes.
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.corrupt(&format!(
                "expected {n} more bytes, {} left",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// A `u8`.
    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.raw(1)?[0])
    }
    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(
            self.raw(4)?.try_into().expect("4 bytes"),
        ))
    }
    /// A `u64`.
    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(
            self.raw(8)?.try_into().expect("8 bytes"),
        ))
    }
    /// A length or index written by [`Writer::usize`].
    pub fn usize(&mut self) -> Result<usize> {
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| self.corrupt("length out of range"))
    }
    /// A count of items that each take at least `min_bytes`: checked against the bytes
    /// left, so a corrupt count cannot make the reader allocate without bound.
    pub fn count(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.usize()?;
        if n.saturating_mul(min_bytes.max(1)) > self.remaining() {
            return Err(self.corrupt(&format!("a count of {n} items does not fit")));
        }
        Ok(n)
    }
    /// A byte string.
    pub fn blob(&mut self) -> Result<&'a [u8]> {
        let n = self.usize()?;
        self.raw(n)
    }
    /// A UTF-8 string.
    pub fn str(&mut self) -> Result<String> {
        let b = self.blob()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.corrupt("a string is not UTF-8"))
    }
}

/// A value that can be written to and read back from an export file.
pub trait Serial: Sized {
    /// Write the value.
    fn write(&self, w: &mut Writer);
    /// Read a value written by [`Serial::write`].
    fn read(r: &mut Reader) -> Result<Self>;
}

impl Serial for bool {
    fn write(&self, w: &mut Writer) {
        w.u8(*self as u8);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        match r.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(r.corrupt("a bool is neither 0 nor 1")),
        }
    }
}

impl Serial for u32 {
    fn write(&self, w: &mut Writer) {
        w.u32(*self);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        r.u32()
    }
}

impl Serial for usize {
    fn write(&self, w: &mut Writer) {
        w.usize(*self);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        r.usize()
    }
}

impl Serial for isize {
    fn write(&self, w: &mut Writer) {
        w.u64(*self as i64 as u64);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        let v = r.u64()? as i64;
        isize::try_from(v).map_err(|_| r.corrupt("integer out of range"))
    }
}

impl Serial for f32 {
    fn write(&self, w: &mut Writer) {
        w.u32(self.to_bits());
    }
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(f32::from_bits(r.u32()?))
    }
}

impl Serial for f64 {
    fn write(&self, w: &mut Writer) {
        w.u64(self.to_bits());
    }
    fn read(r: &mut Reader) -> Result<Self> {
        Ok(f64::from_bits(r.u64()?))
    }
}

impl Serial for String {
    fn write(&self, w: &mut Writer) {
        w.str(self);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        r.str()
    }
}

impl<T: Serial> Serial for Vec<T> {
    fn write(&self, w: &mut Writer) {
        w.usize(self.len());
        for x in self {
            x.write(w);
        }
    }
    fn read(r: &mut Reader) -> Result<Self> {
        let n = r.count(1)?;
        (0..n).map(|_| T::read(r)).collect()
    }
}

impl<T: Serial> Serial for Option<T> {
    fn write(&self, w: &mut Writer) {
        match self {
            None => w.u8(0),
            Some(x) => {
                w.u8(1);
                x.write(w);
            }
        }
    }
    fn read(r: &mut Reader) -> Result<Self> {
        match r.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::read(r)?)),
            _ => Err(r.corrupt("bad option tag")),
        }
    }
}

/// `Serial` for a field-less enum, written as the variant's name (so files do not depend on
/// the order of variants). The `match` in `write` is exhaustive: a new variant must be
/// listed here to compile.
macro_rules! serial_enum {
    ($ty:path { $($v:ident),* $(,)? }) => {
        impl $crate::export::serial::Serial for $ty {
            fn write(&self, w: &mut $crate::export::serial::Writer) {
                use $ty as E;
                let name = match self {
                    $(E::$v => stringify!($v),)*
                };
                w.str(name);
            }
            fn read(r: &mut $crate::export::serial::Reader) -> $crate::error::Result<Self> {
                use $ty as E;
                let name = r.str()?;
                match name.as_str() {
                    $(stringify!($v) => Ok(E::$v),)*
                    other => Err(r.corrupt(&format!(
                        "unknown {} variant {other:?}",
                        stringify!($ty)
                    ))),
                }
            }
        }
    };
}
pub(crate) use serial_enum;

serial_enum!(Dtype {
    Bool,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Int8,
    Int16,
    Int32,
    Int64,
    Float16,
    Bfloat16,
    Float32,
    Float64,
    Complex64,
});

/// How a primitive's parameters are saved: every [`crate::Primitive`] implements this
/// (it is a supertrait), through `exportable!` or `not_exportable!`.
pub trait ExportState {
    /// The name identifying the primitive's type in export files (the Rust type's name).
    fn export_tag(&self) -> &'static str;
    /// Write the primitive's parameters, or explain why it cannot be exported.
    fn export_state(&self, w: &mut Writer) -> Result<()>;
}

/// How a primitive is rebuilt from its saved parameters (the counterpart of
/// [`ExportState`], for types that can be exported).
pub trait ImportState: Sized {
    /// The tag [`ExportState::export_tag`] writes.
    const TAG: &'static str;
    /// Read the parameters written by [`ExportState::export_state`].
    fn import_state(r: &mut Reader) -> Result<Self>;
}

/// Implement [`ExportState`] and [`ImportState`] for a primitive struct: `exportable!(T)` for
/// a unit struct, `exportable!(T { a, b })` listing every field (each must be [`Serial`]).
/// The fields are destructured without `..`, so a field added later and not listed here is
/// a compile error.
macro_rules! exportable {
    ($ty:ident) => {
        impl $crate::export::serial::ExportState for $ty {
            fn export_tag(&self) -> &'static str {
                stringify!($ty)
            }
            fn export_state(
                &self,
                _w: &mut $crate::export::serial::Writer,
            ) -> $crate::error::Result<()> {
                let $ty = self;
                Ok(())
            }
        }
        impl $crate::export::serial::ImportState for $ty {
            const TAG: &'static str = stringify!($ty);
            fn import_state(
                _r: &mut $crate::export::serial::Reader,
            ) -> $crate::error::Result<Self> {
                Ok($ty)
            }
        }
    };
    ($ty:ident { $($f:ident),* $(,)? }) => {
        impl $crate::export::serial::ExportState for $ty {
            fn export_tag(&self) -> &'static str {
                stringify!($ty)
            }
            fn export_state(
                &self,
                w: &mut $crate::export::serial::Writer,
            ) -> $crate::error::Result<()> {
                let $ty { $($f),* } = self;
                $($crate::export::serial::Serial::write($f, w);)*
                Ok(())
            }
        }
        impl $crate::export::serial::ImportState for $ty {
            const TAG: &'static str = stringify!($ty);
            fn import_state(
                r: &mut $crate::export::serial::Reader,
            ) -> $crate::error::Result<Self> {
                $(let $f = $crate::export::serial::Serial::read(r)?;)*
                Ok($ty { $($f),* })
            }
        }
    };
}
pub(crate) use exportable;

/// Implement [`ExportState`] for a primitive that cannot be exported (`why` says so in the
/// error): transformation stand-ins, closures, communication groups.
macro_rules! not_exportable {
    ($ty:ty, $why:expr) => {
        impl $crate::export::serial::ExportState for $ty {
            fn export_tag(&self) -> &'static str {
                stringify!($ty)
            }
            fn export_state(
                &self,
                _w: &mut $crate::export::serial::Writer,
            ) -> $crate::error::Result<()> {
                Err($crate::error::Error::Unsupported(format!(
                    "[export_function] The primitive {} cannot be exported: {}",
                    stringify!($ty),
                    $why
                )))
            }
        }
    };
}
pub(crate) use not_exportable;

/// FNV-1a (64 bits): the checksum at the end of a file.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
