//! NumPy `.npy` files: writing (format 1.0, or 2.0 when the header needs it) and reading
//! (formats 1.0, 2.0 and 3.0), every dtype mlxr has, C and Fortran order, little- and
//! big-endian data, 0-d and empty arrays. bfloat16, which NumPy lacks, is written and read
//! as MLX does: under the descr `<V2` (a 2-byte void to NumPy).
//!
//! Data moves in one piece: saving writes the array's buffer as is when it is row- (or
//! column-) contiguous, and loading reads straight into the new array's buffer. Corrupt,
//! truncated or over-long inputs give an error, never a panic.

use super::{host_buffer_array, io_error, read_exact_or, LayoutKind, RawData};
use crate::array::Array;
use crate::dtype::Dtype;
use crate::error::Result;
use std::io::{Read, Write};
use std::path::Path;

/// The magic string that starts every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest header accepted when reading (NumPy's own writers stay far below it).
const MAX_HEADER_LEN: usize = 1 << 20;

/// The NumPy descr string under which a dtype is written (bfloat16: `<V2`, as MLX does).
pub fn npy_descr(d: Dtype) -> &'static str {
    match d {
        Dtype::Bool => "|b1",
        Dtype::Uint8 => "|u1",
        Dtype::Uint16 => "<u2",
        Dtype::Uint32 => "<u4",
        Dtype::Uint64 => "<u8",
        Dtype::Int8 => "|i1",
        Dtype::Int16 => "<i2",
        Dtype::Int32 => "<i4",
        Dtype::Int64 => "<i8",
        Dtype::Float16 => "<f2",
        Dtype::Bfloat16 => "<V2",
        Dtype::Float32 => "<f4",
        Dtype::Float64 => "<f8",
        Dtype::Complex64 => "<c8",
    }
}

/// Parse a descr string into a dtype and whether its data is big-endian.
fn descr_dtype(descr: &str) -> std::result::Result<(Dtype, bool), String> {
    let (big, code) = match descr.as_bytes().first() {
        Some(b'<' | b'|' | b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let d = match code {
        "b1" | "?" => Dtype::Bool,
        "u1" => Dtype::Uint8,
        "u2" => Dtype::Uint16,
        "u4" => Dtype::Uint32,
        "u8" => Dtype::Uint64,
        "i1" => Dtype::Int8,
        "i2" => Dtype::Int16,
        "i4" => Dtype::Int32,
        "i8" => Dtype::Int64,
        "f2" => Dtype::Float16,
        "f4" => Dtype::Float32,
        "f8" => Dtype::Float64,
        "c8" => Dtype::Complex64,
        // MLX stores bfloat16 as a 2-byte void.
        "V2" => Dtype::Bfloat16,
        _ => {
            return Err(format!(
                "unsupported dtype descr '{descr}' (mlxr reads bool, (u)int8..64, float16, \
                 bfloat16 as V2, float32, float64 and complex64)"
            ))
        }
    };
    Ok((d, big && d.size() > 1))
}

/// The parsed header of a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    pub dtype: Dtype,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

/// A cursor over the header text (a Python dict literal).
struct Lit<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lit<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn found(&self) -> String {
        match self.peek() {
            Some(c) if c.is_ascii_graphic() => format!("'{}'", c as char),
            Some(c) => format!("byte 0x{c:02x}"),
            None => "the end of the header".into(),
        }
    }
    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "malformed header: expected '{}' at offset {}, found {}",
                c as char,
                self.i,
                self.found()
            ))
        }
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => {
                return Err(format!(
                    "malformed header: expected a string at offset {}, found {}",
                    self.i,
                    self.found()
                ))
            }
        };
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            if self.s[self.i] == b'\\' {
                return Err("malformed header: escapes in strings are not supported".into());
            }
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err("malformed header: unterminated string".into());
        }
        let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(v)
    }
    fn word(&mut self) -> &[u8] {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_alphanumeric() {
            self.i += 1;
        }
        &self.s[start..self.i]
    }
    fn boolean(&mut self) -> std::result::Result<bool, String> {
        let at = self.i;
        match self.word() {
            b"True" => Ok(true),
            b"False" => Ok(false),
            w => Err(format!(
                "malformed header: 'fortran_order' must be True or False, found '{}' at offset {at}",
                String::from_utf8_lossy(w)
            )),
        }
    }
    fn shape(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let at = self.i;
            let w = self.word().to_vec();
            // Python 2 wrote longs as `3L`.
            let digits = w.strip_suffix(b"L").unwrap_or(&w);
            if digits.is_empty()
                || !digits.iter().all(u8::is_ascii_digit)
                || !matches!(self.peek(), Some(b',' | b')' | b' '))
            {
                let end = self.s[at..]
                    .iter()
                    .position(|&c| c == b',' || c == b')')
                    .map_or(self.s.len(), |e| at + e);
                return Err(format!(
                    "malformed header: bad shape entry '{}' at offset {at} (dims must be \
                     non-negative integers)",
                    String::from_utf8_lossy(&self.s[at..end]).trim()
                ));
            }
            let d = std::str::from_utf8(digits)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| {
                    format!(
                        "malformed header: shape entry '{}' is too large",
                        String::from_utf8_lossy(digits)
                    )
                })?;
            dims.push(d);
            self.ws();
            if !self.eat(b',') {
                self.ws();
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Parse the header dict (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`).
pub(crate) fn parse_header(text: &[u8]) -> std::result::Result<NpyHeader, String> {
    let mut p = Lit { s: text, i: 0 };
    p.ws();
    p.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.ws();
        p.expect(b':')?;
        p.ws();
        let dup = match key.as_str() {
            "descr" => {
                if p.peek() == Some(b'[') {
                    return Err("structured dtypes (a list descr) are not supported".into());
                }
                descr.replace(p.string()?).is_some()
            }
            "fortran_order" => fortran.replace(p.boolean()?).is_some(),
            "shape" => shape.replace(p.shape()?).is_some(),
            k => return Err(format!("malformed header: unexpected key '{k}'")),
        };
        if dup {
            return Err(format!("malformed header: key '{key}' appears twice"));
        }
        p.ws();
        if !p.eat(b',') {
            p.ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.ws();
    if p.i != text.len() {
        return Err(format!(
            "malformed header: unexpected {} after the dictionary",
            p.found()
        ));
    }
    let missing = |k: &str| format!("malformed header: no '{k}' key");
    let (dtype, big_endian) = descr_dtype(&descr.ok_or_else(|| missing("descr"))?)?;
    Ok(NpyHeader {
        dtype,
        big_endian,
        fortran_order: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// The full preamble (magic, version, header length, header dict, padding) for an array.
pub(crate) fn header_bytes(dtype: Dtype, shape: &[usize], fortran_order: bool) -> Vec<u8> {
    let shape = match shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': {}, 'shape': {shape}, }}",
        npy_descr(dtype),
        if fortran_order { "True" } else { "False" }
    );
    // Format 1.0 has a 2-byte header length; 2.0 a 4-byte one. Pad so the data starts at a
    // multiple of 64 bytes, ending the header with a newline, as NumPy does.
    let padded = |len_bytes: usize| {
        let unpadded = MAGIC.len() + 2 + len_bytes + dict.len() + 1;
        let pad = (64 - unpadded % 64) % 64;
        (unpadded, pad, dict.len() + pad + 1)
    };
    let (major, (unpadded, pad, hlen)) = match padded(2) {
        v @ (_, _, hlen) if hlen <= u16::MAX as usize => (1u8, v),
        _ => (2u8, padded(4)),
    };
    let mut out = Vec::with_capacity(unpadded + pad);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.push(b'\n');
    out
}

/// An array ready to be written as `.npy`: its preamble and its row- (or column-) major
/// bytes.
pub(crate) struct NpyOut {
    header: Vec<u8>,
    raw: RawData,
}

impl NpyOut {
    /// Prepare an array (evaluating it; a copy only when it is not contiguous).
    pub(crate) fn new(a: &Array) -> Result<NpyOut> {
        let raw = RawData::new(a, true)?;
        let fortran = raw.layout == LayoutKind::Column && a.ndim() > 1;
        Ok(NpyOut {
            header: header_bytes(a.dtype(), a.shape(), fortran),
            raw,
        })
    }
    /// Total bytes written.
    pub(crate) fn len(&self) -> usize {
        self.header.len() + self.raw.bytes().len()
    }
    /// Write the preamble and the data.
    pub(crate) fn write<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&self.header)?;
        w.write_all(self.raw.bytes())
    }
}

/// Read one `.npy` array from a reader. `remaining` is the number of bytes the reader
/// holds, when known (a file, a zip member): sizes are then checked before allocating.
/// The reader must end right after the data.
pub(crate) fn read_npy<R: Read>(
    r: &mut R,
    remaining: Option<u64>,
) -> std::result::Result<Array, String> {
    let mut pre = [0u8; 8];
    if let Some(n) = remaining {
        if n < 10 {
            return Err(format!(
                "truncated or not a .npy file: {n} bytes is shorter than the .npy preamble"
            ));
        }
    }
    read_exact_or(r, &mut pre, "the .npy preamble")?;
    if &pre[..6] != MAGIC {
        return Err(format!(
            "not a .npy file (bad magic bytes {:02x?}, expected \\x93NUMPY)",
            &pre[..6]
        ));
    }
    let (major, minor) = (pre[6], pre[7]);
    let (hlen, pre_len) = match (major, minor) {
        (1, 0) => {
            let mut l = [0u8; 2];
            read_exact_or(r, &mut l, "the header length")?;
            (u16::from_le_bytes(l) as usize, 10u64)
        }
        (2, 0) | (3, 0) => {
            let mut l = [0u8; 4];
            read_exact_or(r, &mut l, "the header length")?;
            (u32::from_le_bytes(l) as usize, 12u64)
        }
        _ => {
            return Err(format!(
                "unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)"
            ))
        }
    };
    if let Some(n) = remaining {
        if pre_len + hlen as u64 > n {
            return Err(format!(
                "truncated header: the header length field says {hlen} bytes, only {} remain",
                n.saturating_sub(pre_len)
            ));
        }
    }
    if hlen > MAX_HEADER_LEN {
        return Err(format!(
            "header length {hlen} exceeds the limit of {MAX_HEADER_LEN} bytes (corrupt file?)"
        ));
    }
    let mut text = vec![0u8; hlen];
    read_exact_or(r, &mut text, "the header")?;
    let h = parse_header(&text)?;
    let n = h
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .and_then(|n| n.checked_mul(h.dtype.size()).map(|b| (n, b)));
    let Some((_, nbytes)) = n else {
        return Err(format!(
            "shape {:?} of {} overflows the address space",
            h.shape, h.dtype
        ));
    };
    if let Some(n) = remaining {
        let have = n - pre_len - hlen as u64;
        if have != nbytes as u64 {
            return Err(format!(
                "{}: shape {:?} of {} needs {nbytes} data bytes, the file has {have}",
                if have < nbytes as u64 {
                    "truncated data"
                } else {
                    "wrong data length"
                },
                h.shape,
                h.dtype
            ));
        }
    }
    let a =
        host_buffer_array(r, &h.shape, h.dtype, h.big_endian, h.fortran_order).map_err(|e| {
            format!(
                "{e} (shape {:?} of {} needs {nbytes} data bytes)",
                h.shape, h.dtype
            )
        })?;
    // The reader must end here (this also lets zip members verify their checksum).
    let mut extra = [0u8; 1];
    match r.read(&mut extra) {
        Ok(0) => Ok(a),
        Ok(_) => Err(format!(
            "wrong data length: trailing bytes after the {nbytes} data bytes of shape {:?} of {}",
            h.shape, h.dtype
        )),
        Err(e) => Err(format!("read error after the data: {e}")),
    }
}

/// Serialise an array to `.npy` bytes (bfloat16 under the descr `<V2`, as MLX does).
pub fn save_npy_bytes(a: &Array) -> Result<Vec<u8>> {
    let o = NpyOut::new(a)?;
    let mut out = Vec::with_capacity(o.len());
    o.write(&mut out)
        .map_err(|e| io_error("save_npy", None, e))?;
    Ok(out)
}

/// Write an array to a `.npy` file at exactly `path` (see [`super::save`] for MLX's
/// `mx.save`, which appends `.npy` when missing). Non-contiguous arrays are written in
/// row-major order; column-contiguous ones (e.g. a transposed matrix) as Fortran order,
/// like MLX, without a copy.
pub fn save_npy(path: impl AsRef<Path>, a: &Array) -> Result<()> {
    let path = path.as_ref();
    let err = |e: std::io::Error| io_error("save_npy", Some(path), e);
    let o = NpyOut::new(a)?;
    let mut f = std::fs::File::create(path).map_err(err)?;
    o.write(&mut f).map_err(err)?;
    f.flush().map_err(err)
}

/// Parse `.npy` bytes.
pub fn load_npy_bytes(bytes: &[u8]) -> Result<Array> {
    let mut r = bytes;
    read_npy(&mut r, Some(bytes.len() as u64)).map_err(|m| io_error("load_npy", None, m))
}

/// Read a `.npy` file (formats 1.0–3.0, any byte order, C or Fortran order).
pub fn load_npy(path: impl AsRef<Path>) -> Result<Array> {
    let path = path.as_ref();
    let err = |m: String| io_error("load_npy", Some(path), m);
    let mut f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let len = f.metadata().map_err(|e| err(e.to_string()))?.len();
    read_npy(&mut f, Some(len)).map_err(err)
}
