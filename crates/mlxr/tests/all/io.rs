//! File formats: `.npy`, `.npz` and `.safetensors` round trips for every dtype and shape,
//! non-contiguous inputs, interop with NumPy and MLX in both directions (fixtures written
//! by tests/fixtures/make_io_fixtures.py, and files written here checked by `python3`),
//! the `load`/`save` dispatch, every error case, and truncation/corruption fuzzing.

use crate::common::Rng;
use mlxr::io::{self, Loaded};
use mlxr::ops;
use mlxr::{Array, Complex32, Dtype, Error};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A fresh scratch directory.
fn tmp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "mlxr-io-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The values of `make_io_fixtures.py`'s `pattern(shape, dtype)`: every byte of each
/// element matters.
fn pattern(shape: &[usize], dtype: Dtype) -> Array {
    let n: usize = shape.iter().product();
    let ks: Vec<i64> = (0..n as i64).map(|i| (i * 7 + 3) % 23).collect();
    macro_rules! ints {
        ($t:ty, $f:expr) => {
            Array::from_slice(&ks.iter().map(|&k| $f(k) as $t).collect::<Vec<$t>>(), shape).unwrap()
        };
    }
    match dtype {
        Dtype::Bool => {
            let v: Vec<bool> = (0..n).map(|i| i % 3 == 0).collect();
            Array::from_slice(&v, shape).unwrap()
        }
        Dtype::Uint8 => ints!(u8, |k| k),
        Dtype::Int8 => ints!(i8, |k| k - 11),
        Dtype::Uint16 => ints!(u16, |k| k * 2000),
        Dtype::Int16 => ints!(i16, |k| (k - 11) * 2000),
        Dtype::Uint32 => ints!(u32, |k| k * 150_000_001),
        Dtype::Int32 => ints!(i32, |k| (k - 11) * 150_000_001),
        Dtype::Uint64 => ints!(u64, |k| k as u64 * 700_000_000_000_000_001),
        Dtype::Int64 => ints!(i64, |k| (k - 11) * 700_000_000_000_000_001),
        Dtype::Complex64 => {
            let v: Vec<Complex32> = ks
                .iter()
                .enumerate()
                .map(|(i, &k)| Complex32::new((k - 11) as f32 / 4.0, (i % 5) as f32 - 2.0))
                .collect();
            Array::from_slice(&v, shape).unwrap()
        }
        _ => {
            let v: Vec<f64> = ks.iter().map(|&k| (k - 11) as f64 / 4.0).collect();
            Array::from_slice(&v, shape).unwrap().astype(dtype).unwrap()
        }
    }
}

/// Same dtype, shape and bytes (row-major).
fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(
        got.to_bytes().unwrap(),
        want.to_bytes().unwrap(),
        "{what}: values\n got: {got}\nwant: {want}"
    );
}

const SHAPES: &[&[usize]] = &[&[], &[0], &[0, 3], &[1], &[5], &[2, 3, 4], &[1, 1, 1]];

fn io_msg<T: std::fmt::Debug>(r: mlxr::Result<T>, what: &str) -> String {
    match r {
        Err(Error::Io(m)) => m,
        other => panic!("{what}: expected Err(Error::Io), got {other:?}"),
    }
}

// ---- round trips ------------------------------------------------------------------

#[test]
fn npy_round_trip_every_dtype_and_shape() {
    let dir = tmp_dir("npy");
    for d in Dtype::ALL {
        for shape in SHAPES {
            let a = pattern(shape, d);
            let what = format!("npy {d} {shape:?}");
            let bytes = io::save_npy_bytes(&a).unwrap();
            // the data starts on a 64-byte boundary, as NumPy writes it
            let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + hlen) % 64, 0, "{what}: header padding");
            assert_eq!(bytes.len(), 10 + hlen + a.nbytes(), "{what}: length");
            assert_same(&io::load_npy_bytes(&bytes).unwrap(), &a, &what);
        }
        let a = pattern(&[3, 4], d);
        let p = dir.join(format!("{d}.npy"));
        io::save_npy(&p, &a).unwrap();
        assert_same(&io::load_npy(&p).unwrap(), &a, &format!("npy file {d}"));
    }
    // a header too long for format 1.0 (over 64 KiB: 22000 dims) is written as 2.0
    let many = Array::from_slice(&[2.5f32], &vec![1; 22000]).unwrap();
    let bytes = io::save_npy_bytes(&many).unwrap();
    assert_eq!(bytes[6..8], [2, 0]);
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    assert_eq!((12 + hlen) % 64, 0);
    let got = io::load_npy_bytes(&bytes).unwrap();
    assert_eq!((got.ndim(), got.item::<f32>().unwrap()), (22000, 2.5));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn npy_non_contiguous_inputs() {
    let a = pattern(&[2, 3, 4], Dtype::Float32);
    // a 3-D transpose is neither row- nor column-contiguous: written as a row-major copy
    let t = ops::transpose_axes(&a, &[2, 0, 1]).unwrap();
    let bytes = io::save_npy_bytes(&t).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..64]).contains("'fortran_order': False"));
    assert_same(&io::load_npy_bytes(&bytes).unwrap(), &t, "3-D transpose");
    // a full transpose is column-contiguous: written as is, in Fortran order (like MLX)
    let f = ops::transpose(&a).unwrap();
    let bytes = io::save_npy_bytes(&f).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..64]).contains("'fortran_order': True"));
    assert_same(&io::load_npy_bytes(&bytes).unwrap(), &f, "full transpose");
    // broadcast (stride 0) and a transposed broadcast
    let b = ops::broadcast_to(&pattern(&[3, 1], Dtype::Int16), &[2, 3, 4]).unwrap();
    assert_same(
        &io::load_npy_bytes(&io::save_npy_bytes(&b).unwrap()).unwrap(),
        &b,
        "bcast",
    );
    let bt = ops::transpose_axes(&b, &[1, 2, 0]).unwrap();
    assert_same(
        &io::load_npy_bytes(&io::save_npy_bytes(&bt).unwrap()).unwrap(),
        &bt,
        "bcast T",
    );
    // every dtype transposed
    for d in Dtype::ALL {
        let t = ops::transpose_axes(&pattern(&[2, 3, 2], d), &[1, 2, 0]).unwrap();
        let got = io::load_npy_bytes(&io::save_npy_bytes(&t).unwrap()).unwrap();
        assert_same(&got, &t, &format!("transposed {d}"));
    }
}

/// Arrays of every dtype under names `t_<dtype>`, shapes cycling through `SHAPES`.
fn named_all_dtypes() -> Vec<(String, Array)> {
    Dtype::ALL
        .iter()
        .enumerate()
        .map(|(i, &d)| (format!("t_{d}"), pattern(SHAPES[i % SHAPES.len()], d)))
        .collect()
}

#[test]
fn npz_round_trip_keeps_order() {
    let dir = tmp_dir("npz");
    let mut arrays = named_all_dtypes();
    // non-contiguous members, and names NumPy would not produce
    let t = ops::transpose_axes(&pattern(&[2, 3, 4], Dtype::Float64), &[2, 0, 1]).unwrap();
    arrays.push(("transposed".into(), t));
    arrays.push(("nested/name with spaces".into(), pattern(&[2], Dtype::Int8)));
    arrays.push(("".into(), pattern(&[], Dtype::Bool)));
    for compressed in [false, true] {
        let p = if compressed {
            io::savez_compressed(dir.join("c"), &arrays).unwrap()
        } else {
            io::savez(dir.join("s.npz"), &arrays).unwrap()
        };
        assert_eq!(p.extension().unwrap(), "npz");
        let bytes = io::savez_bytes(&arrays, compressed).unwrap();
        for (how, got) in [
            ("file", io::load_npz(&p).unwrap()),
            ("bytes", io::load_npz_bytes(&bytes).unwrap()),
            ("load", io::load(&p).unwrap().into_arrays()),
        ] {
            assert_eq!(got.len(), arrays.len());
            for ((gn, ga), (wn, wa)) in got.iter().zip(&arrays) {
                assert_eq!(gn, wn, "npz {how} order (compressed {compressed})");
                assert_same(ga, wa, &format!("npz {how} {wn} (compressed {compressed})"));
            }
        }
    }
    // compression pays off on compressible data
    let z = [("z", Array::from_slice(&vec![0f32; 4096], &[4096]).unwrap())];
    assert!(
        io::savez_bytes(&z, true).unwrap().len() < io::savez_bytes(&z, false).unwrap().len() / 10
    );
    // borrowed arrays and an empty archive
    let a = pattern(&[2], Dtype::Int32);
    let p = io::savez(dir.join("borrowed"), &[("a", &a), ("b", &a)]).unwrap();
    assert_eq!(io::load_npz(&p).unwrap().len(), 2);
    let none: [(&str, &Array); 0] = [];
    assert!(io::load_npz_bytes(&io::savez_bytes(&none, false).unwrap())
        .unwrap()
        .is_empty());
    // duplicate names
    let m = io_msg(io::savez(dir.join("dup"), &[("a", &a), ("a", &a)]), "dup");
    assert!(
        m.contains("'a' is used twice") && m.contains("dup.npz"),
        "{m}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn safetensors_round_trip_with_metadata() {
    let dir = tmp_dir("st");
    let mut arrays = named_all_dtypes();
    let t = ops::transpose(&pattern(&[3, 4], Dtype::Bfloat16)).unwrap();
    arrays.push(("transposed".into(), t));
    arrays.push((
        "weird \"name\" \\ ✓".into(),
        pattern(&[2, 2], Dtype::Complex64),
    ));
    let meta: HashMap<String, String> = [
        ("format", "mlx"),
        ("quote\"key", "back\\slash\nnewline ✓"),
        ("empty", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for metadata in [Some(&meta), None] {
        let p = io::save_safetensors(dir.join("m"), &arrays, metadata).unwrap();
        assert_eq!(p, dir.join("m.safetensors"));
        let bytes = io::save_safetensors_bytes(&arrays, metadata).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
        for (how, (got, gmeta)) in [
            ("file", io::load_safetensors(&p).unwrap()),
            ("bytes", io::load_safetensors_bytes(&bytes).unwrap()),
        ] {
            assert_eq!(
                &gmeta,
                metadata.unwrap_or(&HashMap::new()),
                "{how} metadata"
            );
            assert_eq!(got.len(), arrays.len());
            for (wn, wa) in &arrays {
                let ga = &got.iter().find(|(n, _)| n == wn).unwrap().1;
                assert_same(ga, wa, &format!("safetensors {how} {wn}"));
            }
            // file order (the safetensors crate's): widest dtype first, then by name
            let sizes: Vec<usize> = got.iter().map(|(_, a)| a.itemsize()).collect();
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
        }
        // the header is padded to 8 bytes and every tensor is aligned to its itemsize
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let h: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        for (name, a) in &arrays {
            let begin = h[name]["data_offsets"][0].as_u64().unwrap() as usize;
            assert_eq!((8 + n + begin) % a.itemsize(), 0, "{name} alignment");
        }
    }
    // no tensors at all
    let none: [(&str, &Array); 0] = [];
    let (got, gmeta) =
        io::load_safetensors_bytes(&io::save_safetensors_bytes(&none, Some(&meta)).unwrap())
            .unwrap();
    assert!(got.is_empty() && gmeta == meta);
    // within a dtype, the safetensors crate orders tensors by name
    let same: Vec<(String, Array)> = ["z", "a", "m"]
        .iter()
        .map(|n| (n.to_string(), pattern(&[2], Dtype::Float32)))
        .collect();
    let (got, _) =
        io::load_safetensors_bytes(&io::save_safetensors_bytes(&same, None).unwrap()).unwrap();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["a", "m", "z"]);
    // bad names
    let a = pattern(&[2], Dtype::Int32);
    let m = io_msg(
        io::save_safetensors_bytes(&[("x", &a), ("x", &a)], None),
        "dup",
    );
    assert!(m.contains("'x' is used twice"), "{m}");
    let m = io_msg(
        io::save_safetensors_bytes(&[("__metadata__", &a)], None),
        "reserved",
    );
    assert!(m.contains("reserved"), "{m}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn safetensors_agrees_with_the_safetensors_crate() {
    use safetensors::{tensor::TensorView, Dtype as SD, SafeTensors};
    // ours → the crate (every dtype the crate has)
    let arrays: Vec<(String, Array)> = named_all_dtypes()
        .into_iter()
        .filter(|(_, a)| a.dtype() != Dtype::Complex64)
        .collect();
    let meta: HashMap<String, String> = [("k".to_string(), "v".to_string())].into();
    let bytes = io::save_safetensors_bytes(&arrays, Some(&meta)).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (_, m) = SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(m.metadata().as_ref().unwrap(), &meta);
    assert_eq!(st.len(), arrays.len());
    for (name, a) in &arrays {
        let v = st.tensor(name).unwrap();
        assert_eq!(v.shape(), a.shape(), "{name}");
        assert_eq!(
            format!("{:?}", v.dtype()),
            io::safetensors::safetensors_dtype_name(a.dtype())
        );
        assert_eq!(v.data(), &a.to_bytes().unwrap()[..], "{name}");
    }
    // the crate → ours
    let a = pattern(&[2, 3], Dtype::Float32);
    let b = pattern(&[4], Dtype::Bfloat16);
    let (ab, bb) = (a.to_bytes().unwrap(), b.to_bytes().unwrap());
    let views = vec![
        ("a", TensorView::new(SD::F32, vec![2, 3], &ab).unwrap()),
        ("b", TensorView::new(SD::BF16, vec![4], &bb).unwrap()),
    ];
    let bytes = safetensors::serialize(views, Some(meta.clone())).unwrap();
    let (got, gmeta) = io::load_safetensors_bytes(&bytes).unwrap();
    assert_eq!(gmeta, meta);
    assert_same(
        &got.iter().find(|(n, _)| n == "a").unwrap().1,
        &a,
        "crate a",
    );
    assert_same(
        &got.iter().find(|(n, _)| n == "b").unwrap().1,
        &b,
        "crate b",
    );
}

#[test]
fn npy_header_variants_parse() {
    // Headers other writers produce: other key orders, double quotes, no trailing comma,
    // Python 2 longs, other byte-order marks, bool as '?', odd whitespace.
    let f32s = pattern(&[2, 3], Dtype::Float32);
    let data = f32s.to_bytes().unwrap();
    let be: Vec<u8> = data
        .chunks(4)
        .flat_map(|c| c.iter().rev().copied())
        .collect();
    let cases: Vec<(&str, &[u8])> = vec![
        (
            "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
            &data,
        ),
        (
            "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}",
            &data,
        ),
        (
            "  {'descr':'=f4','fortran_order':False,'shape':(2L, 3L),}  \n",
            &data,
        ),
        (
            "{'descr': 'f4', 'fortran_order': False, 'shape': ( 2 , 3 , ) }\t\r\n",
            &data,
        ),
        (
            "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3)}",
            &be,
        ),
    ];
    for (h, d) in cases {
        let got = io::load_npy_bytes(&npy_with(h, d)).unwrap_or_else(|e| panic!("{h}: {e}"));
        assert_same(&got, &f32s, h);
    }
    let b = io::load_npy_bytes(&npy_with(
        "{'descr': '?', 'fortran_order': False, 'shape': (2,)}",
        &[1, 0],
    ))
    .unwrap();
    assert_eq!(b.to_vec::<bool>().unwrap(), [true, false]);
    // a 1-byte dtype ignores the byte-order mark; a Fortran-order 1-D array is plain
    let u = io::load_npy_bytes(&npy_with(
        "{'descr': '>u1', 'fortran_order': True, 'shape': (3,)}",
        &[1, 2, 3],
    ))
    .unwrap();
    assert_eq!(u.to_vec::<u8>().unwrap(), [1, 2, 3]);
    // a Fortran-order 0-size and a 0-d array
    let e = io::load_npy_bytes(&npy_with(
        "{'descr': '<i4', 'fortran_order': True, 'shape': (0, 5)}",
        &[],
    ))
    .unwrap();
    assert_eq!((e.shape(), e.size()), (&[0usize, 5][..], 0));
    let z = io::load_npy_bytes(&npy_with(
        "{'descr': '<i2', 'fortran_order': True, 'shape': ()}",
        &[7, 1],
    ))
    .unwrap();
    assert_eq!(z.item::<i16>().unwrap(), 0x107);
    // bfloat16 is written under MLX's descr
    let bf = io::save_npy_bytes(&pattern(&[2], Dtype::Bfloat16)).unwrap();
    assert!(String::from_utf8_lossy(&bf).contains("'descr': '<V2'"));
}

#[test]
fn bool_bytes_become_zero_or_one() {
    let mut npy = io::save_npy_bytes(&Array::from_slice(&[false; 4], &[4]).unwrap()).unwrap();
    let n = npy.len();
    npy[n - 4..].copy_from_slice(&[0, 1, 2, 255]);
    let a = io::load_npy_bytes(&npy).unwrap();
    assert_eq!(a.to_vec::<bool>().unwrap(), [false, true, true, true]);
    assert_eq!(a.to_bytes().unwrap(), [0, 1, 1, 1]);
    let arr = [("b", Array::from_slice(&[false; 3], &[3]).unwrap())];
    let mut st = io::save_safetensors_bytes(&arr, None).unwrap();
    let n = st.len();
    st[n - 3..].copy_from_slice(&[7, 0, 128]);
    let (got, _) = io::load_safetensors_bytes(&st).unwrap();
    assert_eq!(got[0].1.to_bytes().unwrap(), [1, 0, 1]);
}

#[test]
fn safetensors_fp8_loads_as_raw_bytes_like_mlx() {
    for dt in ["F8_E4M3", "F8_E8M0"] {
        let h = format!("{{\"q\":{{\"dtype\":\"{dt}\",\"shape\":[2],\"data_offsets\":[0,2]}}}}");
        let (got, _) = io::load_safetensors_bytes(&st_with(&h, &[0x38, 0x40])).unwrap();
        assert_same(
            &got[0].1,
            &Array::from_slice(&[0x38u8, 0x40], &[2]).unwrap(),
            dt,
        );
    }
}

// ---- interop ------------------------------------------------------------------------

fn parse_shape(s: &str) -> Vec<usize> {
    if s == "scalar" {
        vec![]
    } else {
        s.split('x').map(|d| d.parse().unwrap()).collect()
    }
}

#[test]
fn fixtures_from_numpy_and_mlx_load() {
    let dir = Path::new(FIXTURES).join("io");
    let manifest = std::fs::read_to_string(dir.join("manifest.txt")).unwrap();
    let mut files: HashMap<String, Loaded> = HashMap::new();
    let mut order: HashMap<String, Vec<String>> = HashMap::new();
    let mut count = 0;
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (file, member, dtype, shape) = (
            f[0],
            f[1],
            Dtype::from_name(f[2]).unwrap(),
            parse_shape(f[3]),
        );
        let loaded = files
            .entry(file.to_string())
            .or_insert_with(|| io::load(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}")));
        let got = if member == "-" {
            loaded.array().unwrap().clone()
        } else {
            order
                .entry(file.to_string())
                .or_default()
                .push(member.to_string());
            loaded
                .get(member)
                .unwrap_or_else(|| panic!("{file}: no member {member}"))
                .clone()
        };
        assert_same(&got, &pattern(&shape, dtype), &format!("{file} {member}"));
        count += 1;
    }
    assert!(count >= 60, "{count} fixtures");
    // npz members come back in archive order (NumPy writes them in kwargs order)
    for f in [
        "np_savez.npz",
        "np_savez_compressed.npz",
        "np_savez_unnamed.npz",
    ] {
        let names: Vec<&String> = files[f].arrays().iter().map(|(n, _)| n).collect();
        let want: Vec<&String> = order[f].iter().collect();
        assert_eq!(names, want, "{f} order");
    }
    // every member of every named file is in the manifest
    for (f, l) in &files {
        if let Some(o) = order.get(f) {
            assert_eq!(l.arrays().len(), o.len(), "{f}");
        }
    }
    // MLX metadata, and none
    let meta = files["mx_all.safetensors"].metadata().unwrap();
    assert_eq!(meta.len(), 2);
    assert_eq!(meta["format"], "mlx");
    assert_eq!(meta["note"], "unicode \u{2713} \"quoted\" \\ back");
    assert!(files["mx_nometa.safetensors"]
        .metadata()
        .unwrap()
        .is_empty());
    // extreme values
    let sp = io::load_npz(dir.join("np_special.npz")).unwrap();
    let get = |n: &str| sp.iter().find(|(m, _)| m == n).unwrap().1.clone();
    let f = get("f32").to_vec::<f32>().unwrap();
    assert!(f[0].is_nan());
    assert_eq!(f[1..3], [f32::INFINITY, f32::NEG_INFINITY]);
    assert!(f[3] == 0.0 && f[3].is_sign_negative());
    assert_eq!(f[4].to_bits(), 1);
    assert_eq!(f[5], f32::MAX);
    assert_eq!(get("u64").to_vec::<u64>().unwrap(), [0, u64::MAX]);
    assert_eq!(get("i64").to_vec::<i64>().unwrap(), [i64::MIN, i64::MAX]);
    let h = get("f16").to_vec::<mlxr::f16>().unwrap();
    assert_eq!(h[0], mlxr::f16::MAX);
    assert!(h[1].is_sign_negative() && h[1] == mlxr::f16::ZERO);
    assert_eq!(h[2].to_bits(), 1);
    assert_eq!(h[3], mlxr::f16::INFINITY);
}

#[test]
fn written_files_load_in_numpy_and_mlx() {
    let dir = tmp_dir("interop");
    let mut checks = Vec::new(); // (file, member, dtype, shape, layout)
    let t3 = [2usize, 3, 4];
    for d in Dtype::ALL {
        let a = pattern(&t3, d);
        io::save(dir.join(format!("c_{d}")), &a).unwrap();
        checks.push(format!("('c_{d}.npy', None, '{d}', (2, 3, 4))"));
        // transposed views (column-major → Fortran order; 3-D permutation → copy): the
        // files must hold the transposed values
        let f = ops::transpose(&a).unwrap();
        io::save(dir.join(format!("f_{d}")), &f).unwrap();
        checks.push(format!("('f_{d}.npy', None, '{d}', (2, 3, 4), 'T')"));
        let p = ops::transpose_axes(&a, &[1, 2, 0]).unwrap();
        io::save(dir.join(format!("p_{d}")), &p).unwrap();
        checks.push(format!("('p_{d}.npy', None, '{d}', (2, 3, 4), (1, 2, 0))"));
        io::save(dir.join(format!("s_{d}")), &pattern(&[], d)).unwrap();
        checks.push(format!("('s_{d}.npy', None, '{d}', ())"));
        io::save(dir.join(format!("e_{d}")), &pattern(&[0, 2], d)).unwrap();
        checks.push(format!("('e_{d}.npy', None, '{d}', (0, 2))"));
    }
    let arrays = named_all_dtypes();
    io::savez(dir.join("z"), &arrays).unwrap();
    io::savez_compressed(dir.join("zc"), &arrays).unwrap();
    let meta: HashMap<String, String> = [
        ("format".to_string(), "mlx".to_string()),
        ("n\"k".to_string(), "✓\\".to_string()),
    ]
    .into();
    // MLX 0.32 neither writes nor reads F64 safetensors (the crate test covers F64)
    let st_arrays: Vec<(String, Array)> = arrays
        .iter()
        .filter(|(_, a)| a.dtype() != Dtype::Float64)
        .cloned()
        .collect();
    io::save_safetensors(dir.join("st"), &st_arrays, Some(&meta)).unwrap();
    io::save_safetensors(dir.join("st_nometa"), &arrays[..3], None).unwrap();
    for (f, arrays) in [
        ("z.npz", &arrays),
        ("zc.npz", &arrays),
        ("st.safetensors", &st_arrays),
    ] {
        for (n, a) in arrays.iter() {
            let s: Vec<String> = a.shape().iter().map(|d| format!("{d}, ")).collect();
            checks.push(format!("('{f}', '{n}', '{}', ({}))", a.dtype(), s.concat()));
        }
    }
    let script = format!(
        r#"
import sys, os
sys.path.insert(0, {fixtures:?})
import numpy as np, mlx.core as mx
from make_io_fixtures import pattern, mlx_pattern, mlx_dtype
d = {dir:?}
checks = [{checks}]
mxcache, npcache = {{}}, {{}}
n = 0
for c in checks:
    f, member, dt, shape = c[:4]
    layout = c[4] if len(c) > 4 else None
    want_mx = mlx_pattern(shape, dt)
    if layout == 'T':
        want_mx = want_mx.T
    elif layout is not None:
        want_mx = want_mx.transpose(*layout)
    if f not in mxcache:
        mxcache[f] = mx.load(os.path.join(d, f))
    got = mxcache[f] if member is None else mxcache[f][member]
    assert got.dtype == mlx_dtype(dt), (f, member, got.dtype)
    assert got.shape == want_mx.shape, (f, member, got.shape)
    assert mx.array_equal(got, want_mx).item(), (f, member, got, want_mx)
    n += 1
    if f.endswith('.safetensors'):
        continue
    if f not in npcache:
        npcache[f] = np.load(os.path.join(d, f))
    g = npcache[f] if member is None else npcache[f][member]
    if dt == 'bfloat16':
        # NumPy has no bfloat16: it reads MLX's 2-byte void; compare the bits
        assert g.dtype == np.dtype('V2'), (f, g.dtype)
        w = np.array(want_mx.view(mx.uint16))
        assert np.array_equal(g.view(np.uint16), w), (f, member)
    else:
        w = np.array(want_mx)
        assert g.dtype == w.dtype and g.shape == w.shape, (f, member, g.dtype, g.shape)
        assert np.array_equal(g, w), (f, member, g, w)
    n += 1
for f in ['z.npz', 'zc.npz']:
    assert list(np.load(os.path.join(d, f)).files) == {names:?}, f
_, meta = mx.load(os.path.join(d, 'st.safetensors'), return_metadata=True)
assert meta == {{'format': 'mlx', 'n"k': '\u2713\\'}}, meta
_, meta = mx.load(os.path.join(d, 'st_nometa.safetensors'), return_metadata=True)
assert meta == {{}}, meta
print(n, flush=True)
# Skip interpreter teardown: MLX's threads occasionally abort it ("terminate called
# without an active exception") after every check has passed.
os._exit(0)
"#,
        fixtures = FIXTURES,
        dir = dir.to_str().unwrap(),
        checks = checks.join(",\n  "),
        names = arrays.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
    );
    let sp = dir.join("check.py");
    std::fs::write(&sp, script).unwrap();
    let o = Command::new("python3").arg(&sp).output().unwrap();
    assert!(
        o.status.success(),
        "python check failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let n: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!(n > 150, "{n} checks");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- dispatch ---------------------------------------------------------------------

#[test]
fn load_dispatches_on_extension_and_save_appends_it() {
    let dir = tmp_dir("dispatch");
    let a = pattern(&[2, 3], Dtype::Float32);
    // mx.save appends .npy unless present (also after another extension)
    assert_eq!(io::save(dir.join("x"), &a).unwrap(), dir.join("x.npy"));
    assert_eq!(io::save(dir.join("y.npy"), &a).unwrap(), dir.join("y.npy"));
    assert_eq!(
        io::save(dir.join("w.txt"), &a).unwrap(),
        dir.join("w.txt.npy")
    );
    assert!(dir.join("x.npy").exists() && dir.join("w.txt.npy").exists());
    let l = io::load(dir.join("x.npy")).unwrap();
    assert_same(l.array().unwrap(), &a, "load npy");
    assert!(l.arrays().is_empty() && l.metadata().is_none() && l.get("x").is_none());
    assert_same(&l.clone().into_array().unwrap(), &a, "into_array");
    assert_eq!(l.into_arrays()[0].0, "arr_0");

    let pz = io::savez(dir.join("z"), &[("a", &a)]).unwrap();
    assert_eq!(pz, dir.join("z.npz"));
    let l = io::load(&pz).unwrap();
    assert!(matches!(l, Loaded::Arrays(_)) && l.array().is_none() && l.metadata().is_none());
    assert_same(l.get("a").unwrap(), &a, "load npz");
    assert!(l.into_array().is_err());

    let meta: HashMap<String, String> = [("k".into(), "v".into())].into();
    let ps = io::save_safetensors(dir.join("s"), &[("a", &a)], Some(&meta)).unwrap();
    assert_eq!(ps, dir.join("s.safetensors"));
    let l = io::load(&ps).unwrap();
    assert_eq!(l.metadata().unwrap(), &meta);
    assert_same(l.get("a").unwrap(), &a, "load safetensors");

    // explicit format, whatever the extension
    std::fs::copy(&ps, dir.join("s.bin")).unwrap();
    let l = io::load_with_format(dir.join("s.bin"), "safetensors").unwrap();
    assert_same(l.get("a").unwrap(), &a, "load_with_format");
    std::fs::copy(&pz, dir.join("noext")).unwrap();
    let m = io_msg(io::load(dir.join("noext")), "no extension");
    assert!(
        m.contains("could not infer the file format") && m.contains("noext"),
        "{m}"
    );
    let m = io_msg(io::load(dir.join("s.bin")), "unknown extension");
    assert!(m.contains("unknown file format 'bin'"), "{m}");
    let m = io_msg(io::load_with_format(&ps, "gguf"), "gguf");
    assert!(m.contains("GGUF"), "{m}");
    // a file in another format than its extension says
    std::fs::copy(&ps, dir.join("lie.npy")).unwrap();
    let m = io_msg(io::load(dir.join("lie.npy")), "wrong extension");
    assert!(
        m.contains("load_npy") && m.contains("lie.npy") && m.contains("bad magic"),
        "{m}"
    );
    std::fs::copy(dir.join("x.npy"), dir.join("lie.npz")).unwrap();
    let m = io_msg(io::load(dir.join("lie.npz")), "wrong extension npz");
    assert!(m.contains("not a valid .npz"), "{m}");
    std::fs::copy(dir.join("x.npy"), dir.join("lie.safetensors")).unwrap();
    io_msg(
        io::load(dir.join("lie.safetensors")),
        "wrong extension safetensors",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- errors -------------------------------------------------------------------------

/// A `.npy` file with a hand-written header dict and data.
fn npy_with(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend_from_slice(&(header.len() as u16).to_le_bytes());
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

/// A `.safetensors` file with a hand-written header and data.
fn st_with(header: &str, data: &[u8]) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn corrupt_files_give_clear_errors() {
    let dir = tmp_dir("errors");
    let good = io::save_npy_bytes(&pattern(&[2, 3], Dtype::Float32)).unwrap();
    let hd = |s: &str| format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {s}, }}");
    let mut v4 = good.clone();
    v4[6] = 4;
    let npy_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "shorter than the .npy preamble"),
        (
            "magic",
            b"\x93NUMPZ\x01\x00\x00\x00{}".to_vec(),
            "bad magic",
        ),
        ("version", v4, "unsupported .npy format version 4.0"),
        ("hlen", good[..20].to_vec(), "truncated header"),
        ("garbage", npy_with("hello world", &[]), "malformed header"),
        (
            "nonutf8",
            npy_with("{'descr': '\u{0}\u{ff}'}", &[]),
            "unsupported dtype descr",
        ),
        (
            "nodict",
            npy_with("{'descr': '<f4', 'shape': (2,)", &[0; 8]),
            "malformed header",
        ),
        (
            "nokey",
            npy_with("{'descr': '<f4', 'fortran_order': False}", &[]),
            "no 'shape' key",
        ),
        (
            "extrakey",
            npy_with(&hd("(1,)").replace('}', "'x': 1}"), &[0; 4]),
            "unexpected key 'x'",
        ),
        (
            "dupkey",
            npy_with("{'shape': (1,), 'shape': (1,)}", &[]),
            "appears twice",
        ),
        (
            "struct",
            npy_with(
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}",
                &[0; 4],
            ),
            "structured",
        ),
        (
            "fortran",
            npy_with(
                "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,)}",
                &[0; 4],
            ),
            "True or False",
        ),
        (
            "negdim",
            npy_with(&hd("(2, -3)"), &[]),
            "bad shape entry '-3'",
        ),
        ("floatdim", npy_with(&hd("(2.5,)"), &[]), "bad shape entry"),
        (
            "hugedim",
            npy_with(&hd("(99999999999999999999999,)"), &[]),
            "too large",
        ),
        (
            "overflow",
            npy_with(&hd("(4294967296, 4294967296)"), &[]),
            "overflows",
        ),
        (
            "tail",
            npy_with(&format!("{} x", hd("(1,)")), &[0; 4]),
            "after the dictionary",
        ),
        (
            "c16",
            npy_with(
                "{'descr': '<c16', 'fortran_order': False, 'shape': (1,)}",
                &[0; 16],
            ),
            "unsupported dtype descr '<c16'",
        ),
        (
            "unicode",
            npy_with(
                "{'descr': '<U2', 'fortran_order': False, 'shape': (1,)}",
                &[0; 8],
            ),
            "unsupported dtype descr '<U2'",
        ),
        (
            "object",
            npy_with(
                "{'descr': '|O', 'fortran_order': False, 'shape': (1,)}",
                &[0; 8],
            ),
            "unsupported dtype descr '|O'",
        ),
        (
            "truncdata",
            good[..good.len() - 1].to_vec(),
            "truncated data: shape [2, 3] of float32 needs 24 data bytes, the file has 23",
        ),
        (
            "trailing",
            [&good[..], &[0u8][..]].concat(),
            "wrong data length",
        ),
        (
            "shapedata",
            npy_with(&hd("(2, 2)"), &[0; 8]),
            "needs 16 data bytes, the file has 8",
        ),
    ];
    for (name, bytes, want) in &npy_cases {
        let p = dir.join(format!("{name}.npy"));
        std::fs::write(&p, bytes).unwrap();
        for (how, m) in [
            ("load", io_msg(io::load(&p), name)),
            ("bytes", io_msg(io::load_npy_bytes(bytes), name)),
        ] {
            assert!(m.contains(want), "npy {name} ({how}): {m}");
            assert!(m.starts_with("load_npy: "), "{m}");
            if how == "load" {
                assert!(
                    m.contains(&*p.to_string_lossy()),
                    "npy {name} names the file: {m}"
                );
            }
        }
    }

    // npz
    let good_npz = io::savez_bytes(&[("a", pattern(&[2, 3], Dtype::Float32))], false).unwrap();
    let zip_with = |name: &str, data: &[u8]| {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, data).unwrap();
        z.finish().unwrap().into_inner()
    };
    let mut flipped = good_npz.clone();
    let at = flipped.windows(6).position(|w| w == b"\x93NUMPY").unwrap() + 130;
    flipped[at] ^= 0x40; // a data byte: the CRC no longer matches
    let npz_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "not a valid .npz"),
        ("notzip", good.clone(), "not a valid .npz"),
        (
            "truncated",
            good_npz[..good_npz.len() - 10].to_vec(),
            "not a valid .npz",
        ),
        (
            "member",
            zip_with("readme.txt", b"hi"),
            "member 'readme.txt' is not a .npy array",
        ),
        (
            "badnpy",
            zip_with("a.npy", b"\x93NUMPY\x01\x00"),
            "member 'a.npy': ",
        ),
        (
            "badnpy2",
            zip_with("a.npy", &good[..40]),
            "member 'a.npy': truncated",
        ),
        ("crc", flipped, "member 'a.npy'"),
    ];
    for (name, bytes, want) in &npz_cases {
        let p = dir.join(format!("{name}.npz"));
        std::fs::write(&p, bytes).unwrap();
        for (how, m) in [
            ("load", io_msg(io::load(&p), name)),
            ("bytes", io_msg(io::load_npz_bytes(bytes), name)),
        ] {
            assert!(m.contains(want), "npz {name} ({how}): {m}");
            assert!(m.starts_with("load_npz: "), "{m}");
            if how == "load" {
                assert!(
                    m.contains(&*p.to_string_lossy()),
                    "npz {name} names the file: {m}"
                );
            }
        }
    }

    // safetensors
    let t = |dt: &str, shape: &str, b: u64, e: u64| {
        format!("{{\"a\":{{\"dtype\":\"{dt}\",\"shape\":{shape},\"data_offsets\":[{b},{e}]}}}}")
    };
    let two = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}";
    let overlap = "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[1,3]}}";
    let mut huge = st_with(&t("F32", "[1]", 0, 4), &[0; 4]);
    huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let mut long = st_with(&t("F32", "[1]", 0, 4), &[0; 4]);
    long[..8].copy_from_slice(&1000u64.to_le_bytes());
    let st_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", vec![], "shorter than the 8-byte header length"),
        ("huge", huge, "exceeds the limit"),
        ("long", long, "truncated header"),
        ("garbage", st_with("{not json", &[]), "not valid JSON"),
        (
            "nonutf8",
            [&8u64.to_le_bytes()[..], b"{\"\xff\xfe\":1}"].concat(),
            "not valid UTF-8",
        ),
        ("array", st_with("[1, 2]", &[]), "not a JSON object"),
        (
            "entry",
            st_with("{\"a\": 3}", &[]),
            "tensor 'a': entry is not an object",
        ),
        (
            "nodtype",
            st_with("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", &[0; 4]),
            "'dtype'",
        ),
        (
            "dtype",
            st_with(&t("F8_E5M2", "[1]", 0, 1), &[0]),
            "unsupported dtype 'F8_E5M2'",
        ),
        (
            "shape",
            st_with(&t("F32", "[-1]", 0, 4), &[0; 4]),
            "malformed 'shape'",
        ),
        (
            "offsets",
            st_with(
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0]}}",
                &[0],
            ),
            "malformed 'data_offsets'",
        ),
        ("reversed", st_with(&t("U8", "[0]", 1, 0), &[0]), "reversed"),
        (
            "range",
            st_with(&t("F32", "[2]", 0, 8), &[0; 4]),
            "out of range: the data section has 4 bytes",
        ),
        (
            "mismatch",
            st_with(&t("F32", "[3]", 0, 8), &[0; 8]),
            "shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8",
        ),
        ("gap", st_with(two, &[0; 5]), "gap or overlap"),
        ("overlap", st_with(overlap, &[0; 3]), "gap or overlap"),
        (
            "start",
            st_with(&t("U8", "[2]", 1, 3), &[0; 3]),
            "gap or overlap",
        ),
        (
            "trailing",
            st_with(&t("F32", "[1]", 0, 4), &[0; 6]),
            "wrong data length: the tensors cover 4 bytes, the data section has 6",
        ),
        (
            "meta",
            st_with("{\"__metadata__\":{\"k\":1}}", &[]),
            "metadata value of 'k' is not a string",
        ),
        (
            "meta2",
            st_with("{\"__metadata__\":[1]}", &[]),
            "__metadata__ is not an object",
        ),
    ];
    for (name, bytes, want) in &st_cases {
        let p = dir.join(format!("{name}.safetensors"));
        std::fs::write(&p, bytes).unwrap();
        for (how, m) in [
            ("load", io_msg(io::load(&p), name)),
            ("bytes", io_msg(io::load_safetensors_bytes(bytes), name)),
        ] {
            assert!(m.contains(want), "safetensors {name} ({how}): {m}");
            assert!(m.starts_with("load_safetensors: "), "{m}");
            if how == "load" {
                assert!(
                    m.contains(&*p.to_string_lossy()),
                    "safetensors {name} names the file: {m}"
                );
            }
        }
    }

    // missing files and unwritable paths name the file
    let missing = dir.join("missing");
    for (what, m) in [
        (
            "npy",
            io_msg(io::load_npy(missing.with_extension("npy")), "missing npy"),
        ),
        (
            "npz",
            io_msg(io::load_npz(missing.with_extension("npz")), "missing npz"),
        ),
        (
            "st",
            io_msg(
                io::load_safetensors(missing.with_extension("safetensors")),
                "missing st",
            ),
        ),
        (
            "load",
            io_msg(io::load(missing.with_extension("npz")), "missing load"),
        ),
    ] {
        assert!(
            m.contains("missing.") && m.contains("No such file"),
            "{what}: {m}"
        );
    }
    let a = pattern(&[2], Dtype::Int32);
    let nodir = dir.join("no/such/dir/f");
    for m in [
        io_msg(io::save(&nodir, &a), "save"),
        io_msg(io::savez(&nodir, &[("a", &a)]), "savez"),
        io_msg(
            io::savez_compressed(&nodir, &[("a", &a)]),
            "savez_compressed",
        ),
        io_msg(
            io::save_safetensors(&nodir, &[("a", &a)], None),
            "save_safetensors",
        ),
    ] {
        assert!(m.contains("no/such/dir/f"), "{m}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_and_corrupted_inputs_never_panic() {
    let a = pattern(&[2, 3], Dtype::Float32);
    let b = pattern(&[3], Dtype::Complex64);
    let fixture = |f: &str| std::fs::read(Path::new(FIXTURES).join("io").join(f)).unwrap();
    type Loader = fn(&[u8]) -> bool;
    let npy: Loader = |x| io::load_npy_bytes(x).is_ok();
    let npz: Loader = |x| io::load_npz_bytes(x).is_ok();
    let st: Loader = |x| io::load_safetensors_bytes(x).is_ok();
    let meta: HashMap<String, String> = [("k".into(), "v".into())].into();
    let inputs: Vec<(&str, Vec<u8>, Loader)> = vec![
        ("npy", io::save_npy_bytes(&a).unwrap(), npy),
        (
            "npy fortran",
            io::save_npy_bytes(&ops::transpose(&a).unwrap()).unwrap(),
            npy,
        ),
        ("npy v2", fixture("np_v2_float32.npy"), npy),
        ("npy v3", fixture("np_v3_float32.npy"), npy),
        ("npy big", fixture("np_big_complex64.npy"), npy),
        (
            "npz",
            io::savez_bytes(&[("a", &a), ("b", &b)], false).unwrap(),
            npz,
        ),
        (
            "npz deflate",
            io::savez_bytes(&[("a", &a), ("b", &b)], true).unwrap(),
            npz,
        ),
        ("npz numpy", fixture("np_savez_compressed.npz"), npz),
        (
            "st",
            io::save_safetensors_bytes(&[("a", &a), ("b", &b)], Some(&meta)).unwrap(),
            st,
        ),
        ("st mlx", fixture("mx_nometa.safetensors"), st),
    ];
    let mut rng = Rng::new(42);
    let mut oks = 0;
    for (what, bytes, load) in &inputs {
        assert!(load(bytes), "{what} loads");
        for len in 0..bytes.len() {
            assert!(
                !load(&bytes[..len]),
                "{what} truncated to {len} bytes must fail"
            );
        }
        // flip bytes, mostly in the header region (where the parsing is)
        let hdr = bytes.len().min(200);
        for i in 0..1500 {
            let mut c = bytes.clone();
            for _ in 0..1 + i % 3 {
                let at = if i % 4 == 0 {
                    rng.next_u64() as usize % c.len()
                } else {
                    rng.next_u64() as usize % hdr
                };
                c[at] ^= 1 << (rng.next_u64() % 8);
            }
            oks += load(&c) as usize; // Ok or Err, never a panic
        }
        // overwrite with random bytes
        for _ in 0..200 {
            let mut c = bytes.clone();
            let at = rng.next_u64() as usize % c.len();
            let end = (at + 1 + rng.next_u64() as usize % 16).min(c.len());
            for x in &mut c[at..end] {
                *x = rng.next_u64() as u8;
            }
            oks += load(&c) as usize;
        }
    }
    assert!(oks > 0); // some flips (e.g. in data or padding) still load
}

/// Speed check for big arrays (run with `cargo test --release -- --ignored io_speed
/// --nocapture`): each format should save and load 256 MiB near disk/memcpy speed.
#[test]
#[ignore]
fn io_speed_256mib() {
    let dir = tmp_dir("speed");
    let n = 64 << 20;
    let a = Array::from_slice(&vec![1.5f32; n], &[n / 1024, 1024]).unwrap();
    a.eval().unwrap();
    let time = |what: &str, f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{what:>28}: {:7.1} ms  {:6.2} GB/s",
            s * 1e3,
            0.268435456 / s
        );
    };
    let t0 = std::time::Instant::now();
    let v = vec![7u8; 256 << 20];
    let mut w = vec![0u8; 256 << 20];
    w.copy_from_slice(&v);
    println!("memcpy 256 MiB: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    let t0 = std::time::Instant::now();
    std::fs::write(dir.join("raw"), &v).unwrap();
    println!(
        "fs::write 256 MiB: {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let t0 = std::time::Instant::now();
    let r = std::fs::read(dir.join("raw")).unwrap();
    println!(
        "fs::read 256 MiB: {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    drop((v, w, r));
    time("save npy", &mut || {
        io::save(dir.join("a"), &a).unwrap();
    });
    time("load npy", &mut || {
        io::load_npy(dir.join("a.npy")).unwrap().eval().unwrap();
    });
    time("savez", &mut || {
        io::savez(dir.join("z"), &[("a", &a)]).unwrap();
    });
    time("load npz", &mut || {
        io::load_npz(dir.join("z.npz")).unwrap();
    });
    time("save safetensors", &mut || {
        io::save_safetensors(dir.join("s"), &[("a", &a)], None).unwrap();
    });
    time("load safetensors", &mut || {
        io::load_safetensors(dir.join("s.safetensors")).unwrap();
    });
    let t = ops::transpose(&a).unwrap();
    time("save npy (transposed)", &mut || {
        io::save(dir.join("t"), &t).unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
}
