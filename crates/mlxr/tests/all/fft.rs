//! `ops::fft`: every transform against `numpy.fft` on random inputs (odd, prime, power-of-two
//! and long lengths, padding and truncation, every axis, non-contiguous inputs, batches,
//! empty arrays), output dtypes, MLX's errors, and the vjp / jvp / vmap rules of the `FFT`
//! primitive (finite differences: the transforms are linear, so a large step is exact).

use crate::common::*;
use crate::gradcheck::{check_tol, check_vmap, r64};
use mlxr::ops::{self, fft};
use mlxr::{Array, Complex32, Dtype, Result};

/// A random complex64 array.
fn crand(shape: &[usize], seed: u64) -> Array {
    rand(shape, Dtype::Complex64, -1.0, 1.0, seed)
}

/// A random float32 array.
fn frand(shape: &[usize], seed: u64) -> Array {
    rand(shape, Dtype::Float32, -1.0, 1.0, seed)
}

type Case = (String, Array, Box<dyn Fn(&Array) -> Result<Array>>);

#[test]
#[allow(clippy::type_complexity)]
fn transforms_match_numpy() {
    on_each_device(|_| {
        let mut cases: Vec<Case> = Vec::new();
        let mut add = |code: &str, x: Array, f: Box<dyn Fn(&Array) -> Result<Array>>| {
            cases.push((code.to_string(), x, f));
        };
        // 1-D complex transforms over many lengths (powers of two, odd, prime, long).
        for (i, &n) in [1usize, 2, 3, 7, 8, 13, 16, 97, 128, 1000, 4096, 1009]
            .iter()
            .enumerate()
        {
            let x = crand(&[3, n], 10 + i as u64);
            add(
                "out = np.fft.fft(x).astype(np.complex64)",
                x.clone(),
                Box::new(|x| fft::fft(x, None, -1)),
            );
            add(
                "out = np.fft.ifft(x).astype(np.complex64)",
                x,
                Box::new(|x| fft::ifft(x, None, -1)),
            );
            let r = frand(&[2, n], 50 + i as u64);
            add(
                "out = np.fft.rfft(x).astype(np.complex64)",
                r.clone(),
                Box::new(|x| fft::rfft(x, None, -1)),
            );
            if n > 1 {
                let h = crand(&[2, n / 2 + 1], 90 + i as u64);
                let code = format!("out = np.fft.irfft(x, n={n}).astype(np.float32)");
                add(&code, h, Box::new(move |x| fft::irfft(x, Some(n), -1)));
            }
        }
        // Padding / truncation, other axes, real inputs to complex transforms.
        let x = crand(&[4, 6, 5], 200);
        add(
            "out = np.fft.fft(x, n=9, axis=1).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::fft(x, Some(9), 1)),
        );
        add(
            "out = np.fft.fft(x, n=3, axis=0).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::fft(x, Some(3), 0)),
        );
        add(
            "out = np.fft.ifft(x, n=11, axis=-3).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::ifft(x, Some(11), -3)),
        );
        add(
            "out = np.fft.fft2(x).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::fft2(x, None, &[-2, -1])),
        );
        add(
            "out = np.fft.ifft2(x, s=(3, 8), axes=(0, 2)).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::ifft2(x, Some(&[3, 8]), &[0, 2])),
        );
        add(
            "out = np.fft.fftn(x).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::fftn(x, None, None)),
        );
        add(
            "out = np.fft.ifftn(x, s=(7, 2), axes=(2, 0)).astype(np.complex64)",
            x.clone(),
            Box::new(|x| fft::ifftn(x, Some(&[7, 2]), Some(&[2, 0]))),
        );
        let r = frand(&[3, 4, 10], 300);
        add(
            "out = np.fft.fft(x, axis=1).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::fft(x, None, 1)),
        );
        add(
            "out = np.fft.rfft(x, n=7, axis=1).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::rfft(x, Some(7), 1)),
        );
        add(
            "out = np.fft.rfft(x, n=16).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::rfft(x, Some(16), -1)),
        );
        add(
            "out = np.fft.rfft2(x).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::rfft2(x, None, &[-2, -1])),
        );
        add(
            "out = np.fft.rfftn(x).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::rfftn(x, None, None)),
        );
        add(
            "out = np.fft.rfftn(x, s=(5, 3), axes=(2, 0)).astype(np.complex64)",
            r.clone(),
            Box::new(|x| fft::rfftn(x, Some(&[5, 3]), Some(&[2, 0]))),
        );
        let h = crand(&[3, 4, 6], 301);
        add(
            "out = np.fft.irfft2(x).astype(np.float32)",
            h.clone(),
            Box::new(|x| fft::irfft2(x, None, &[-2, -1])),
        );
        add(
            "out = np.fft.irfftn(x).astype(np.float32)",
            h.clone(),
            Box::new(|x| fft::irfftn(x, None, None)),
        );
        add(
            "out = np.fft.irfftn(x, s=(5, 9), axes=(0, 2)).astype(np.float32)",
            h.clone(),
            Box::new(|x| fft::irfftn(x, Some(&[5, 9]), Some(&[0, 2]))),
        );
        add(
            "out = np.fft.irfft(x, n=3, axis=1).astype(np.float32)",
            h.clone(),
            Box::new(|x| fft::irfft(x, Some(3), 1)),
        );
        // Non-contiguous inputs: a transpose and a strided slice.
        let big = crand(&[6, 10], 400);
        let t = ops::transpose(&big).unwrap();
        add(
            "out = np.fft.fft(x, axis=1).astype(np.complex64)",
            t,
            Box::new(|x| fft::fft(x, None, 1)),
        );
        add(
            "out = np.fft.fft(x[::2, 1::3], axis=0).astype(np.complex64)",
            big.clone(),
            Box::new(|x| fft::fft(&ops::slice(x, &[0, 1], &[6, 10], &[2, 3])?, None, 0)),
        );
        let rbig = frand(&[7, 9], 401);
        add(
            "out = np.fft.rfft(x.T).astype(np.complex64)",
            rbig,
            Box::new(|x| fft::rfft(&ops::transpose(x)?, None, -1)),
        );
        // Shifts.
        add(
            "out = np.fft.fftshift(x)",
            r.clone(),
            Box::new(|x| fft::fftshift(x, None)),
        );
        add(
            "out = np.fft.ifftshift(x, axes=(1, 2))",
            r.clone(),
            Box::new(|x| fft::ifftshift(x, Some(&[1, 2]))),
        );
        add(
            "out = np.fft.ifftshift(np.fft.fftshift(x, axes=(0,)), axes=(0,))",
            r.clone(),
            Box::new(|x| fft::ifftshift(&fft::fftshift(x, Some(&[0]))?, Some(&[0]))),
        );
        // A long parallel transform along a strided axis.
        let long = crand(&[1 << 12, 16], 500);
        add(
            "out = np.fft.fft(x, axis=0).astype(np.complex64)",
            long,
            Box::new(|x| fft::fft(x, None, 0)),
        );
        let batch: Vec<(String, Vec<(&str, &Array)>)> = cases
            .iter()
            .map(|(c, x, _)| (c.clone(), vec![("x", x)]))
            .collect();
        let refs = numpy_batch(&batch);
        for ((code, x, f), want) in cases.iter().zip(refs) {
            let got = f(x).unwrap();
            assert_eq!(got.dtype(), want[0].dtype(), "{code}: dtype");
            let n = x.shape().iter().max().copied().unwrap_or(1) as f64;
            let atol = 2e-6 * n.sqrt().max(1.0) * 4.0;
            assert_close(&got, &want[0], 1e-4, atol, code);
        }
    });
}

#[test]
fn dtypes_and_real_parts() {
    on_each_device(|_| {
        let x64 = r64(&[3, 5], -1.0, 1.0, 1);
        assert_eq!(fft::fft(&x64, None, -1).unwrap().dtype(), Dtype::Complex64);
        assert_eq!(fft::rfft(&x64, None, -1).unwrap().dtype(), Dtype::Complex64);
        let xi = ops::arange(8.0).unwrap().astype(Dtype::Int32).unwrap();
        let y = fft::fft(&xi, None, -1).unwrap();
        assert_eq!(y.dtype(), Dtype::Complex64);
        assert!((y.to_vec::<Complex32>().unwrap()[0].re - 28.0).abs() < 1e-5);
        // rfft of a complex input transforms its real part (as MLX).
        let c =
            Array::from_slice(&[Complex32::new(1.0, 2.0), Complex32::new(3.0, 4.0)], &[2]).unwrap();
        let y = fft::rfft(&c, None, -1)
            .unwrap()
            .to_vec::<Complex32>()
            .unwrap();
        assert_eq!(y, vec![Complex32::new(4.0, 0.0), Complex32::new(-2.0, 0.0)]);
        let h = crand(&[3, 4], 2);
        let y = fft::irfft(&h, None, -1).unwrap();
        assert_eq!((y.dtype(), y.shape()), (Dtype::Float32, &[3usize, 6][..]));
        // No axes: the input unchanged.
        let r = frand(&[2, 3], 3);
        assert!(fft::fftn(&r, Some(&[]), Some(&[])).unwrap().is_same(&r));
        // fftshift keeps the dtype.
        assert_eq!(fft::fftshift(&xi, None).unwrap().dtype(), Dtype::Int32);
    });
}

#[test]
fn empty_arrays() {
    on_each_device(|_| {
        let e = ops::zeros(&[0, 4], Some(Dtype::Float32)).unwrap();
        let y = fft::fft(&e, None, -1).unwrap();
        assert_eq!((y.shape(), y.dtype()), (&[0usize, 4][..], Dtype::Complex64));
        y.eval().unwrap();
        let y = fft::rfft(&e, None, -1).unwrap();
        assert_eq!(y.shape(), &[0, 3]);
        y.eval().unwrap();
        // A zero-length axis is padded to n.
        let z = ops::zeros(&[3, 0], Some(Dtype::Float32)).unwrap();
        let y = fft::fft(&z, Some(4), -1).unwrap();
        assert_eq!(y.shape(), &[3, 4]);
        assert!(y
            .to_vec::<Complex32>()
            .unwrap()
            .iter()
            .all(|v| *v == Complex32::new(0.0, 0.0)));
    });
}

#[test]
fn errors() {
    let x = frand(&[3, 4], 1);
    let msg = |r: Result<Array>| r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg(fft::fft(&x, Some(0), -1)).contains("Invalid FFT output size"));
    assert!(msg(fft::fft(&ops::zeros(&[3, 0], None).unwrap(), None, -1))
        .contains("Invalid FFT output size"));
    assert!(msg(fft::fft(&x, None, 2)).contains("Invalid axis"));
    assert!(msg(fft::fft(&x, None, -3)).contains("Invalid axis"));
    assert!(msg(fft::fft(&Array::scalar(1.0f32), None, -1)).contains("at least one dimension"));
    assert!(msg(fft::fftn(&x, None, Some(&[0, 0]))).contains("Duplicated axis"));
    assert!(msg(fft::fftn(&x, Some(&[3]), Some(&[0, 1]))).contains("different sizes"));
    assert!(msg(fft::fftn(&x, Some(&[3, 4]), None)).contains("should not be `None`"));
    assert!(
        msg(fft::irfft(&ops::zeros(&[3, 1], None).unwrap(), None, -1))
            .contains("Invalid FFT output size")
    );
    assert!(msg(fft::fftshift(&x, Some(&[5]))).contains("Invalid axis"));
    assert!(msg(fft::ifft2(
        &ops::zeros(&[4], None).unwrap(),
        None,
        &[-2, -1]
    ))
    .contains("Invalid axis"));
}

/// `re + i * im` from two real arrays.
fn complex(re: &Array, im: &Array) -> Result<Array> {
    ops::add(re, &ops::multiply(im, Complex32::new(0.0, 1.0))?)
}

/// Real and imaginary parts of a complex array as two outputs.
fn parts(z: &Array) -> Result<Vec<Array>> {
    Ok(vec![ops::real(z)?, ops::imag(z)?])
}

/// The FFT family's vjp / jvp checks (linear maps: a large step is exact, the tolerance
/// covers complex64 rounding).
pub fn run_grad() {
    let (h, rt, at) = (0.5, 2e-3, 2e-3);
    let re = r64(&[3, 6], -1.0, 1.0, 1);
    let im = r64(&[3, 6], -1.0, 1.0, 2);
    check_tol(
        "fft",
        &|x| parts(&fft::fft(&complex(&x[0], &x[1])?, Some(7), -1)?),
        &[re.clone(), im.clone()],
        h,
        rt,
        at,
    );
    check_tol(
        "ifft2",
        &|x| {
            parts(&fft::ifft2(
                &complex(&x[0], &x[1])?,
                Some(&[2, 5]),
                &[0, 1],
            )?)
        },
        &[re.clone(), im.clone()],
        h,
        rt,
        at,
    );
    check_tol(
        "rfft",
        &|x| parts(&fft::rfft(&x[0], None, -1)?),
        std::slice::from_ref(&re),
        h,
        rt,
        at,
    );
    check_tol(
        "rfftn odd",
        &|x| parts(&fft::rfftn(&x[0], Some(&[5, 3]), Some(&[1, 0]))?),
        std::slice::from_ref(&re),
        h,
        rt,
        at,
    );
    let hre = r64(&[3, 4], -1.0, 1.0, 3);
    let him = r64(&[3, 4], -1.0, 1.0, 4);
    for n in [6usize, 7] {
        check_tol(
            &format!("irfft n={n}"),
            &move |x| Ok(vec![fft::irfft(&complex(&x[0], &x[1])?, Some(n), -1)?]),
            &[hre.clone(), him.clone()],
            h,
            rt,
            at,
        );
    }
    check_tol(
        "irfft2",
        &|x| Ok(vec![fft::irfft2(&complex(&x[0], &x[1])?, None, &[0, 1])?]),
        &[hre.clone(), him.clone()],
        h,
        rt,
        at,
    );
}

/// The FFT family's vmap checks.
pub fn run_vmap() {
    let c = crand(&[3, 4, 5], 7);
    let r = frand(&[3, 4, 6], 8);
    check_vmap(
        "fft",
        &|x| Ok(vec![fft::fft(&x[0], Some(6), 0)?]),
        std::slice::from_ref(&c),
        &[Some(1)],
    );
    check_vmap(
        "ifftn",
        &|x| Ok(vec![fft::ifftn(&x[0], None, None)?]),
        std::slice::from_ref(&c),
        &[Some(2)],
    );
    check_vmap(
        "rfft2",
        &|x| Ok(vec![fft::rfft2(&x[0], None, &[1, 0])?]),
        std::slice::from_ref(&r),
        &[Some(0)],
    );
    check_vmap(
        "irfft",
        &|x| Ok(vec![fft::irfft(&x[0], Some(7), -1)?]),
        std::slice::from_ref(&c),
        &[Some(-1)],
    );
}

#[test]
fn fft_rules() {
    run_grad();
    run_vmap();
}
