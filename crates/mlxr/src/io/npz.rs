//! NumPy `.npz` archives: a zip file with one `<name>.npy` member per array, stored
//! ([`savez`], like `np.savez`/`mx.savez`) or deflated ([`savez_compressed`]). Loading
//! keeps the archive's member order and reads archives written by NumPy and MLX.

use super::npy::{read_npy, NpyOut};
use super::{check_names, io_error, with_extension, NamedArrays};
use crate::array::Array;
use crate::error::Result;
use std::borrow::Borrow;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Write the arrays as members `<name>.npy` of a zip archive.
fn write_npz<W: Write + Seek, K: AsRef<str>, A: Borrow<Array>>(
    op: &str,
    path: Option<&Path>,
    w: W,
    arrays: &[(K, A)],
    compressed: bool,
) -> Result<W> {
    check_names(op, path, arrays.iter().map(|(k, _)| k.as_ref()))?;
    let zerr = |e: zip::result::ZipError| io_error(op, path, e);
    let mut z = ZipWriter::new(w);
    for (name, a) in arrays {
        // One array at a time: a non-contiguous array's row-major copy lives only while
        // it is written.
        let o = NpyOut::new(a.borrow())?;
        let opts = SimpleFileOptions::default()
            .compression_method(if compressed {
                CompressionMethod::Deflated
            } else {
                CompressionMethod::Stored
            })
            .large_file(o.len() as u64 >= u32::MAX as u64);
        z.start_file(format!("{}.npy", name.as_ref()), opts)
            .map_err(zerr)?;
        o.write(&mut z).map_err(|e| io_error(op, path, e))?;
    }
    z.finish().map_err(zerr)
}

fn save_file<K: AsRef<str>, A: Borrow<Array>>(
    op: &str,
    path: &Path,
    arrays: &[(K, A)],
    compressed: bool,
) -> Result<PathBuf> {
    let p = with_extension(path, "npz");
    let f = std::fs::File::create(&p).map_err(|e| io_error(op, Some(&p), e))?;
    let mut w = write_npz(op, Some(&p), std::io::BufWriter::new(f), arrays, compressed)?;
    w.flush().map_err(|e| io_error(op, Some(&p), e))?;
    Ok(p)
}

/// Save named arrays to an uncompressed `.npz` archive, like MLX's `mx.savez` (`.npz` is
/// appended to the path when missing). Members keep the given order; names must be
/// distinct. Returns the path written.
pub fn savez<K: AsRef<str>, A: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: &[(K, A)],
) -> Result<PathBuf> {
    save_file("savez", path.as_ref(), arrays, false)
}

/// Save named arrays to a deflate-compressed `.npz` archive, like MLX's
/// `mx.savez_compressed` (`.npz` is appended when missing). Returns the path written.
pub fn savez_compressed<K: AsRef<str>, A: Borrow<Array>>(
    path: impl AsRef<Path>,
    arrays: &[(K, A)],
) -> Result<PathBuf> {
    save_file("savez_compressed", path.as_ref(), arrays, true)
}

/// Serialise named arrays to `.npz` bytes (deflated when `compressed`).
pub fn savez_bytes<K: AsRef<str>, A: Borrow<Array>>(
    arrays: &[(K, A)],
    compressed: bool,
) -> Result<Vec<u8>> {
    let w = write_npz(
        "savez",
        None,
        std::io::Cursor::new(Vec::new()),
        arrays,
        compressed,
    )?;
    Ok(w.into_inner())
}

/// Read every member of a zip archive as a `.npy` array.
fn read_npz<R: Read + Seek>(r: R) -> std::result::Result<NamedArrays, String> {
    let mut z =
        ZipArchive::new(r).map_err(|e| format!("not a valid .npz file (zip archive): {e}"))?;
    let mut out: NamedArrays = Vec::with_capacity(z.len());
    for i in 0..z.len() {
        let mut f = z
            .by_index(i)
            .map_err(|e| format!("cannot read archive member {i}: {e}"))?;
        let name = f.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(format!("archive member '{name}' is not a .npy array"));
        };
        if out.iter().any(|(n, _)| n == key) {
            return Err(format!("archive member '{name}' appears twice"));
        }
        let size = f.size();
        let a = read_npy(&mut f, Some(size)).map_err(|m| format!("member '{name}': {m}"))?;
        out.push((key.to_string(), a));
    }
    Ok(out)
}

/// Load a `.npz` archive (stored or deflated, as written by NumPy, MLX or [`savez`]):
/// the arrays under their member names without `.npy`, in archive order.
pub fn load_npz(path: impl AsRef<Path>) -> Result<NamedArrays> {
    let path = path.as_ref();
    let err = |m: String| io_error("load_npz", Some(path), m);
    let f = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    read_npz(std::io::BufReader::new(f)).map_err(err)
}

/// Load `.npz` bytes; see [`load_npz`].
pub fn load_npz_bytes(bytes: &[u8]) -> Result<NamedArrays> {
    read_npz(std::io::Cursor::new(bytes)).map_err(|m| io_error("load_npz", None, m))
}
