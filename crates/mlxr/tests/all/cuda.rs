//! The CUDA backend on a GPU: host ↔ device round trips for every dtype, the view and copy
//! primitives (astype, transpose, reshape, broadcast, contiguous) compared with the CPU,
//! the elementwise launchers, 64-bit indexing, memory statistics and limits, the kernel
//! disk cache. Every test skips (with a message) when no GPU is usable.

use crate::common::*;
use mlxr::backend::cuda;
use mlxr::{memory, ops, Array, Device, Dtype};
use std::sync::{Mutex, MutexGuard};

/// Tests here measure memory and allocate a lot: run them one at a time.
static GPU_LOCK: Mutex<()> = Mutex::new(());

fn gpu_or_skip(test: &str) -> Option<(Device, MutexGuard<'static, ()>)> {
    match Device::gpu(0) {
        Ok(d) => Some((d, GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner()))),
        Err(e) => {
            eprintln!("{test}: skipped: {e}");
            None
        }
    }
}

/// Bitwise-faithful host copy of an array (device data downloaded without conversion).
fn host_copy(a: &Array) -> Array {
    Array::from_bytes(&a.to_bytes().unwrap(), a.shape(), a.dtype()).unwrap()
}

/// Same dtype, shape and values (NaN equals NaN; exact otherwise), compared on the CPU.
fn assert_same(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    mlxr::with_device(Device::cpu(), || {
        let (g, w) = (host_copy(got), host_copy(want));
        match got.dtype() {
            Dtype::Complex64 => {
                let (g, w) = (
                    g.to_vec::<mlxr::Complex32>().unwrap(),
                    w.to_vec::<mlxr::Complex32>().unwrap(),
                );
                for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                    let eq = |x: f32, y: f32| x == y || (x.is_nan() && y.is_nan());
                    assert!(
                        eq(a.re, b.re) && eq(a.im, b.im),
                        "{what}: element {i}: {a} vs {b}"
                    );
                }
            }
            d if d.is_floating() => {
                let (g, w) = (g.to_vec::<f64>().unwrap(), w.to_vec::<f64>().unwrap());
                for (i, (a, b)) in g.iter().zip(&w).enumerate() {
                    assert!(
                        a == b || (a.is_nan() && b.is_nan()),
                        "{what}: element {i}: {a} vs {b}"
                    );
                }
            }
            d if d.is_unsigned() => assert_eq!(
                g.to_vec::<u64>().unwrap(),
                w.to_vec::<u64>().unwrap(),
                "{what}"
            ),
            _ => assert_eq!(
                g.to_vec::<i64>().unwrap(),
                w.to_vec::<i64>().unwrap(),
                "{what}"
            ),
        }
    });
}

/// Run `body` on the CPU and on the GPU and compare every result.
fn cpu_vs_gpu(test: &str, body: impl Fn() -> Vec<(String, Array)>) {
    let Some((gpu, _lock)) = gpu_or_skip(test) else {
        return;
    };
    let want = mlxr::with_device(Device::cpu(), &body);
    let got = mlxr::with_device(gpu, &body);
    assert_eq!(got.len(), want.len());
    for ((name, g), (_, w)) in got.iter().zip(&want) {
        g.eval()
            .unwrap_or_else(|e| panic!("{test}: {name} on the GPU: {e}"));
        assert_same(g, w, &format!("{test}: {name}"));
    }
}

/// Inputs with special values for conversions: NaN, ±inf, out-of-range for every
/// integer type, negative, fractional, halfway cases for f16/bf16 rounding.
fn special_values() -> Array {
    let v: Vec<f64> = vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        -0.5,
        2.7,
        -2.7,
        127.5,
        128.0,
        -129.3,
        255.9,
        256.0,
        300.7,
        -300.7,
        32767.9,
        65504.0,
        65520.0,
        70000.5,
        -70000.5,
        2147483647.0,
        2147483648.5,
        -2147483649.0,
        4294967296.0,
        1e19,
        -1e19,
        1e30,
        -1e30,
        1e-8,
        1.0 + 2f64.powi(-11) + 2f64.powi(-40),
        1.0 + 2f64.powi(-8) + 2f64.powi(-22),
        1.0 + 2f64.powi(-8),
        3.0 * 2f64.powi(-130),
        6e-8,
        1.00048828125,
    ];
    let n = v.len();
    Array::from_slice(&v, &[n]).unwrap()
}

#[test]
fn gpu_is_usable_when_expected() {
    // scripts/gpu-test sets MLXR_EXPECT_GPU=1 on the GPU machine: there, a GPU that cannot
    // be used must fail loudly rather than make every GPU test skip.
    eprintln!("{}", cuda::describe());
    match Device::gpu(0) {
        Ok(_) => assert!(mlxr::gpu_is_available()),
        Err(e) => {
            assert!(!mlxr::gpu_is_available());
            if std::env::var("MLXR_EXPECT_GPU").as_deref() == Ok("1") {
                panic!("MLXR_EXPECT_GPU=1 but the GPU is not usable: {e}");
            }
            eprintln!("gpu_is_usable_when_expected: skipped: {e}");
        }
    }
    assert!(Device::gpu(1000).is_err());
}

#[test]
fn round_trip_every_dtype() {
    let Some((gpu, _lock)) = gpu_or_skip("round_trip_every_dtype") else {
        return;
    };
    for &dt in &Dtype::ALL {
        let host = mlxr::with_device(Device::cpu(), || rand(&[3, 5, 7], dt, -50.0, 50.0, 3));
        host.eval().unwrap();
        let bytes = host.to_bytes().unwrap();
        // A GPU op reads the host array: its data moves to the device, once.
        let dev = mlxr::with_device(gpu, || ops::contiguous(&host).unwrap());
        dev.eval().unwrap();
        assert!(!dev.data().unwrap().is_host(), "{dt}: result on the device");
        assert!(
            !host.data().unwrap().is_host(),
            "{dt}: the input moved to the device"
        );
        assert_eq!(dev.to_bytes().unwrap(), bytes, "{dt}: device → host bytes");
        assert_eq!(host.to_bytes().unwrap(), bytes, "{dt}: moved input bytes");
        assert_eq!(
            dev.to_vec::<f64>().unwrap(),
            host_copy(&host).to_vec::<f64>().unwrap(),
            "{dt}: to_vec"
        );
        assert_eq!(
            dev.to_string(),
            host_copy(&host).to_string(),
            "{dt}: Display"
        );
        // A CPU op reads the device array: it moves back.
        let back = mlxr::with_device(Device::cpu(), || ops::contiguous(&dev).unwrap());
        assert_eq!(back.to_bytes().unwrap(), bytes, "{dt}: back on the CPU");
        assert!(back.data().unwrap().is_host());
        // item on a device scalar.
        let s = mlxr::with_device(gpu, || {
            ops::contiguous(&Array::scalar(7i32).astype(dt).unwrap()).unwrap()
        });
        assert_eq!(
            s.item::<f64>().unwrap(),
            if dt == Dtype::Bool { 1.0 } else { 7.0 },
            "{dt}: item"
        );
    }
    // Empty arrays.
    let e = mlxr::with_device(gpu, || {
        ops::contiguous(&Array::from_slice::<f32>(&[], &[0, 3]).unwrap()).unwrap()
    });
    assert_eq!(e.to_vec::<f32>().unwrap(), Vec::<f32>::new());
    assert_eq!(e.shape(), &[0, 3]);
}

#[test]
fn astype_every_pair_matches_cpu() {
    cpu_vs_gpu("astype_every_pair_matches_cpu", || {
        let specials = special_values();
        let rnd = rand(&[4, 6, 5], Dtype::Float64, -400.0, 400.0, 21);
        let mut out = Vec::new();
        for &from in &Dtype::ALL {
            let s = specials.astype(from).unwrap();
            let r = rnd.astype(from).unwrap();
            // Layouts: dense, transposed (dense, other order), broadcast, size-1 axes, 0-d.
            let t = ops::transpose_axes(&r, &[2, 0, 1]).unwrap();
            let b = ops::broadcast_to(&ops::reshape(&r, &[4, 1, 6, 5]).unwrap(), &[4, 3, 6, 5])
                .unwrap();
            let z = ops::reshape(&r, &[120]).unwrap();
            let z0 = ops::reshape(
                &ops::contiguous(&ops::transpose(&r).unwrap()).unwrap(),
                &[1, 120, 1],
            )
            .unwrap();
            for &to in &Dtype::ALL {
                let k = format!("{from}->{to}");
                out.push((format!("{k} specials"), s.astype(to).unwrap()));
                out.push((format!("{k} dense"), r.astype(to).unwrap()));
                out.push((format!("{k} transposed"), t.astype(to).unwrap()));
                out.push((format!("{k} broadcast"), b.astype(to).unwrap()));
                out.push((format!("{k} flat"), z.astype(to).unwrap()));
                out.push((format!("{k} size-1 axes"), z0.astype(to).unwrap()));
            }
            out.push((
                format!("{from} 0-d"),
                Array::scalar(-3.5f32).astype(from).unwrap(),
            ));
        }
        out
    });
}

#[test]
fn views_and_copies_match_cpu() {
    cpu_vs_gpu("views_and_copies_match_cpu", || {
        let mut out = Vec::new();
        for &dt in &Dtype::ALL {
            let a = rand(&[2, 3, 4, 5], dt, -20.0, 20.0, 5);
            let t = ops::transpose_axes(&a, &[3, 1, 0, 2]).unwrap();
            out.push((format!("{dt} transpose"), t.clone()));
            out.push((
                format!("{dt} contiguous(transpose)"),
                ops::contiguous(&t).unwrap(),
            ));
            out.push((
                format!("{dt} reshape(transpose) copies"),
                ops::reshape(&t, &[5, -1]).unwrap(),
            ));
            out.push((
                format!("{dt} reshape view"),
                ops::reshape(&a, &[6, 20]).unwrap(),
            ));
            let row = rand(&[1, 5], dt, -5.0, 5.0, 9);
            let bc = ops::broadcast_to(&row, &[3, 4, 5]).unwrap();
            out.push((format!("{dt} broadcast"), bc.clone()));
            out.push((
                format!("{dt} contiguous(broadcast)"),
                ops::contiguous(&bc).unwrap(),
            ));
            out.push((
                format!("{dt} transpose(broadcast) copy"),
                ops::contiguous(&ops::transpose(&bc).unwrap()).unwrap(),
            ));
            let col = rand(&[3, 1], dt, -5.0, 5.0, 10);
            out.push((
                format!("{dt} broadcast column"),
                ops::contiguous(&ops::broadcast_to(&col, &[2, 3, 7]).unwrap()).unwrap(),
            ));
            let s = rand(&[], dt, -5.0, 5.0, 11);
            out.push((
                format!("{dt} scalar broadcast"),
                ops::contiguous(&ops::broadcast_to(&s, &[4, 4]).unwrap()).unwrap(),
            ));
            let e = Array::from_slice::<f32>(&[], &[0, 4])
                .unwrap()
                .astype(dt)
                .unwrap();
            out.push((
                format!("{dt} empty transpose"),
                ops::contiguous(&ops::transpose(&e).unwrap()).unwrap(),
            ));
            // Many axes that do not merge: 9 axes of size 2, reversed.
            let m = rand(&[2; 9], dt, -5.0, 5.0, 12);
            let rev: Vec<isize> = (0..9).rev().collect();
            out.push((
                format!("{dt} 9-d transpose copy"),
                ops::contiguous(&ops::transpose_axes(&m, &rev).unwrap()).unwrap(),
            ));
        }
        out
    });
}

#[test]
fn too_many_axes_is_an_error() {
    let Some((gpu, _lock)) = gpu_or_skip("too_many_axes_is_an_error") else {
        return;
    };
    mlxr::with_device(gpu, || {
        let m = rand(&[2; 12], Dtype::Float32, -5.0, 5.0, 12);
        let perm: Vec<isize> = (0..12).map(|i| ((i * 5) % 12) as isize).collect();
        let c = ops::contiguous(&ops::transpose_axes(&m, &perm).unwrap()).unwrap();
        let e = c.eval().unwrap_err();
        assert!(e.to_string().contains("at most 10"), "{e}");
    });
}

#[test]
fn binary_and_ternary_launchers() {
    let Some((gpu, _lock)) = gpu_or_skip("binary_and_ternary_launchers") else {
        return;
    };
    for dt in [
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Float32,
    ] {
        let a = rand(&[3, 4, 5], dt, -50.0, 50.0, 1);
        let b = rand(&[3, 4, 5], dt, -50.0, 50.0, 2);
        let c = rand(&[3, 4, 5], Dtype::Bool, 0.0, 1.0, 3);
        let row = rand(&[5], dt, -50.0, 50.0, 4);
        let one = rand(&[], dt, -50.0, 50.0, 5);
        let at = ops::transpose_axes(&a, &[2, 0, 1]).unwrap();
        let bt = ops::transpose_axes(&b, &[2, 0, 1]).unwrap();
        let brow = ops::broadcast_to(&row, &[3, 4, 5]).unwrap();
        let bone = ops::broadcast_to(&one, &[3, 4, 5]).unwrap();
        let cases: Vec<(&str, Array, Array)> = vec![
            ("vv", a.clone(), b.clone()),
            ("vv transposed", at.clone(), bt.clone()),
            (
                "general",
                a.clone(),
                // (4, 5, 3) permuted to (3, 4, 5): strided, not dense in row order.
                ops::transpose_axes(&rand(&[4, 5, 3], dt, -50.0, 50.0, 6), &[2, 0, 1]).unwrap(),
            ),
            ("broadcast row", a.clone(), brow.clone()),
            ("scalar-vector", bone.clone(), b.clone()),
            (
                "vector-scalar",
                at.clone(),
                ops::broadcast_to(&one, &[5, 3, 4]).unwrap(),
            ),
        ];
        // Reference: NumPy adds float16 in float16 (rounding each sum); bfloat16 is
        // compared with float32 sums rounded to bfloat16.
        let to_ref = |x: &Array| {
            if dt == Dtype::Bfloat16 {
                x.astype(Dtype::Float32).unwrap()
            } else {
                x.clone()
            }
        };
        let refs: Vec<(Array, Array)> = cases
            .iter()
            .map(|(_, x, y)| (to_ref(x), to_ref(y)))
            .collect();
        let batch: Vec<(String, Vec<(&str, &Array)>)> = refs
            .iter()
            .map(|(x, y)| ("out = x + y".to_string(), vec![("x", x), ("y", y)]))
            .collect();
        let wants = numpy_batch(&batch);
        for ((what, x, y), want) in cases.iter().zip(wants) {
            let got = mlxr::with_device(gpu, || cuda::elementwise::selftest_add(x, y).unwrap());
            let want = mlxr::with_device(Device::cpu(), || want[0].astype(dt).unwrap());
            assert_matches(&got, &want, &format!("selftest add {dt} {what}"));
        }
        let ct = ops::transpose_axes(&c, &[2, 0, 1]).unwrap();
        for (what, cc, x, y) in [
            ("dense", c.clone(), a.clone(), b.clone()),
            ("general", c.clone(), a.clone(), brow.clone()),
            ("transposed", ct.clone(), at.clone(), bt.clone()),
        ] {
            let got = mlxr::with_device(gpu, || {
                cuda::elementwise::selftest_select(&cc, &x, &y).unwrap()
            });
            let (xf, yf) = (
                x.astype(Dtype::Float64).unwrap(),
                y.astype(Dtype::Float64).unwrap(),
            );
            let want = numpy1(
                "out = np.where(c, x, y)",
                &[("c", &cc), ("x", &xf), ("y", &yf)],
            );
            let want = mlxr::with_device(Device::cpu(), || want.astype(dt).unwrap());
            assert_matches(&got, &want, &format!("selftest select {dt} {what}"));
        }
    }
}

#[test]
fn large_arrays_use_64_bit_indexing() {
    let Some((gpu, _lock)) = gpu_or_skip("large_arrays_use_64_bit_indexing") else {
        return;
    };
    let n = (1usize << 30) + 5;
    mlxr::with_device(gpu, || {
        let s = Array::scalar(7u8);
        // General kernel (broadcast input), 64-bit indices.
        let big = ops::contiguous(&ops::broadcast_to(&s, &[n]).unwrap()).unwrap();
        // Linear kernel, 64-bit indices.
        let as_i8 = big.astype(Dtype::Int8).unwrap();
        let v = as_i8.to_vec::<i8>().unwrap();
        assert_eq!(v.len(), n);
        assert!(v.iter().all(|&x| x == 7));
        drop(v);
        // General kernel with a large stride: a (2, n/2) transpose.
        let m = (1usize << 29) + 3;
        let two = ops::contiguous(
            &ops::broadcast_to(&Array::from_slice(&[1u8, 2], &[2, 1]).unwrap(), &[2, m]).unwrap(),
        )
        .unwrap();
        let t = ops::contiguous(&ops::transpose(&two).unwrap()).unwrap();
        let v = t.to_vec::<u8>().unwrap();
        assert_eq!(v.len(), 2 * m);
        assert!(v.chunks(2).all(|c| c == [1, 2]));
    });
    memory::clear_cache();
}

#[test]
fn memory_statistics_and_limits() {
    let Some((gpu, _lock)) = gpu_or_skip("memory_statistics_and_limits") else {
        return;
    };
    const MIB: usize = 1 << 20;
    // Other test modules may run small GPU work concurrently: allow some slack.
    let slack = 16 * MIB;
    assert_eq!(mlxr::default_device(), gpu, "the GPU is the default device");
    memory::clear_cache();
    let a0 = memory::active_memory();
    let make = |bytes: usize| {
        mlxr::with_device(gpu, || {
            let x =
                ops::contiguous(&ops::broadcast_to(&Array::scalar(1.0f32), &[bytes / 4]).unwrap())
                    .unwrap();
            x.eval().map(|_| x)
        })
    };
    let x = make(256 * MIB).unwrap();
    let a1 = memory::active_memory();
    assert!(a1 + slack >= a0 + 256 * MIB, "active grows: {a0} -> {a1}");
    assert!(memory::peak_memory() >= a1);
    drop(x);
    let a2 = memory::active_memory();
    assert!(
        a2 <= a0 + slack,
        "active shrinks back: {a0} -> {a1} -> {a2}"
    );
    assert!(
        memory::cache_memory() + slack >= 256 * MIB,
        "freed memory is cached"
    );
    // The cached block is reused.
    let y = make(256 * MIB).unwrap();
    assert!(memory::cache_memory() < 256 * MIB);
    drop(y);
    memory::clear_cache();
    assert!(
        memory::cache_memory() < slack,
        "clear_cache empties the cache"
    );
    memory::reset_peak_memory();
    assert!(memory::peak_memory() <= memory::active_memory() + slack);
    // A limit too small for an allocation is an error, not an abort.
    let old = memory::set_memory_limit(memory::active_memory() + 64 * MIB);
    let r = make(1 << 30);
    let back = memory::set_memory_limit(old);
    assert!(back < old);
    let e = r.expect_err("allocation beyond the memory limit must fail");
    assert!(matches!(e, mlxr::Error::Device(_)), "{e:?}");
    assert!(e.to_string().contains("memory limit"), "{e}");
    // A cache limit of 0 frees blocks right away.
    let old_cache = memory::set_cache_limit(0);
    drop(make(64 * MIB).unwrap());
    assert!(memory::cache_memory() < slack);
    memory::set_cache_limit(old_cache);
    // Everything still works after the failure.
    assert_eq!(make(4 * MIB).unwrap().to_vec::<f32>().unwrap()[0], 1.0);
}

#[test]
fn kernel_disk_cache_is_written() {
    let Some((gpu, _lock)) = gpu_or_skip("kernel_disk_cache_is_written") else {
        return;
    };
    let dir = cuda::kernels::cache_dir();
    if let Some(env) = std::env::var_os("MLXR_KERNEL_CACHE") {
        assert_eq!(dir, std::path::PathBuf::from(env));
    }
    // Any kernel use compiles (or loads) its module through the disk cache.
    let x = mlxr::with_device(gpu, || {
        rand(&[8], Dtype::Int16, 0.0, 9.0, 1)
            .astype(Dtype::Float32)
            .unwrap()
    });
    x.eval().unwrap();
    let g = cuda::gpu(0).unwrap();
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("kernel cache {} missing: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("copy-") && f.ends_with(".cubin")),
        "no copy-*.cubin in {}: {files:?}",
        dir.display()
    );
    assert!(files.iter().any(|f| f.ends_with(".names")));
    eprintln!(
        "GPU 0: {} (sm_{}), {} SMs, {} GiB; kernel cache {} ({} files)",
        g.name,
        g.arch,
        g.sm_count,
        g.total_memory >> 30,
        dir.display(),
        files.len()
    );
}

#[test]
fn streams_on_one_gpu_are_ordered() {
    let Some((gpu, _lock)) = gpu_or_skip("streams_on_one_gpu_are_ordered") else {
        return;
    };
    let s2 = mlxr::new_stream(gpu);
    let a = mlxr::with_device(gpu, || rand(&[1000, 300], Dtype::Float32, -1.0, 1.0, 4));
    a.eval().unwrap();
    // Produced on the default stream, read on another, then on the CPU.
    let b = mlxr::with_stream(s2, || {
        ops::contiguous(&ops::transpose(&a).unwrap()).unwrap()
    });
    let c = mlxr::with_stream(s2, || b.astype(Dtype::Float64).unwrap());
    let want = numpy1("out = a.T.astype(np.float64)", &[("a", &a)]);
    assert_matches(&c, &want, "two streams");
    drop(b);
    drop(a);
    assert_eq!(c.shape(), &[300, 1000]);
}

#[test]
fn host_memory_statistics_without_a_gpu() {
    // Without a usable GPU the memory functions describe host buffers (never cached).
    if mlxr::gpu_is_available() {
        return;
    }
    let _lock = GPU_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    const MIB: usize = 1 << 20;
    let slack = 64 * MIB;
    let a0 = memory::active_memory();
    let x = Array::from_slice(&vec![1u8; 256 * MIB], &[256 * MIB]).unwrap();
    let a1 = memory::active_memory();
    assert!(a1 + slack >= a0 + 256 * MIB, "active grows: {a0} -> {a1}");
    assert!(memory::peak_memory() >= 256 * MIB);
    drop(x);
    assert!(memory::active_memory() < a1, "active shrinks");
    assert_eq!(memory::cache_memory(), 0);
    memory::clear_cache();
    assert!(memory::memory_limit() > 0);
}
