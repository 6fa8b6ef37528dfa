//! The newer parts of MLX's API: `linalg::det` / `slogdet` against NumPy (batches,
//! non-contiguous inputs, singular and empty matrices, MLX's bit-exact cofactor formulas,
//! gradients by finite differences), the fp8 E4M3 conversions against MLX 0.32.4 fixtures
//! (`tests/fixtures/make_fp8_fixtures.py`: every float16 / bfloat16 bit pattern, float32
//! edge cases, every code), `fftfreq` / `rfftfreq`, `stft` / `istft`, `segmented_mm`,
//! `block_masked_mm`, `cross_entropy`, `gated_delta_update` against NumPy, the DOT export
//! and the print precision, GGUF files (MLX-written fixtures from
//! `tests/fixtures/make_gguf_fixtures.py`, quantized tensors, round trips), and the errors
//! of each.

use crate::common::*;
use crate::gradcheck::{check, check_vmap, r64};
use mlxr::ops::{self, fft};
use mlxr::{Array, Dtype, Result};

fn s(code: &str) -> String {
    code.to_string()
}

/// A float64 batch with a zero row in the last matrix (an exactly singular matrix).
fn with_singular(shape: &[usize], seed: u64) -> Array {
    let x = rand(shape, Dtype::Float64, -2.0, 2.0, seed);
    let n = shape[shape.len() - 1];
    let mut v = x.to_vec::<f64>().unwrap();
    let total = v.len();
    for j in 0..n {
        v[total - n * n + j] = 0.0;
    }
    Array::from_slice(&v, shape).unwrap()
}

// ---- det / slogdet ------------------------------------------------------------------

#[test]
fn det_slogdet_match_numpy() {
    on_each_device(|_| {
        for dt in [Dtype::Float32, Dtype::Float64] {
            let (rt, at) = if dt == Dtype::Float64 {
                (1e-10, 1e-12)
            } else {
                (2e-4, 2e-5)
            };
            let mut inputs = Vec::new();
            for (i, shape) in [
                vec![1, 1],
                vec![2, 2],
                vec![3, 3],
                vec![4, 4],
                vec![3, 5, 5],
                vec![2, 2, 6, 6],
                vec![2, 3, 3],
                vec![4, 2, 2],
            ]
            .iter()
            .enumerate()
            {
                inputs.push(
                    rand(shape, Dtype::Float64, -2.0, 2.0, 100 + i as u64)
                        .astype(dt)
                        .unwrap(),
                );
            }
            // Non-contiguous: transposed batches and a strided slice.
            let big = rand(&[3, 7, 7], Dtype::Float64, -2.0, 2.0, 7)
                .astype(dt)
                .unwrap();
            inputs.push(ops::swapaxes(&big, -1, -2).unwrap());
            inputs.push(ops::slice(&big, &[0, 0, 0], &[3, 7, 7], &[1, 2, 2]).unwrap());
            let small = rand(&[4, 3, 3], Dtype::Float64, -2.0, 2.0, 8)
                .astype(dt)
                .unwrap();
            inputs.push(ops::swapaxes(&small, -1, -2).unwrap());
            // Singular matrices on both paths.
            inputs.push(with_singular(&[2, 3, 3], 9).astype(dt).unwrap());
            inputs.push(with_singular(&[2, 5, 5], 10).astype(dt).unwrap());
            let cases: Vec<(String, Vec<(&str, &Array)>)> = inputs
                .iter()
                .map(|a| {
                    (
                        s("s, l = np.linalg.slogdet(a)\nout = [np.linalg.det(a).astype(a.dtype), s.astype(a.dtype), l.astype(a.dtype)]"),
                        vec![("a", a)],
                    )
                })
                .collect();
            let refs = numpy_batch(&cases);
            for (a, r) in inputs.iter().zip(&refs) {
                let what = format!("det {:?} {dt}", a.shape());
                let d = ops::det(a).unwrap();
                assert_eq!(d.dtype(), dt, "{what}");
                // Orders of 4 and more take the exponential in float32, as MLX.
                let drt = if *a.shape().last().unwrap() >= 4 {
                    f64::max(rt, 1e-6)
                } else {
                    rt
                };
                assert_close(&d, &r[0], drt, at * 10.0, &what);
                let (sg, la) = ops::slogdet(a).unwrap();
                assert_eq!((sg.dtype(), la.dtype()), (dt, dt), "{what}");
                assert_close(&sg, &r[1], 0.0, 0.0, &format!("{what} sign"));
                assert_close(&la, &r[2], rt, at * 10.0, &format!("{what} logabsdet"));
            }
        }
    });
}

#[test]
fn det_small_orders_bit_exact_and_dtypes() {
    // Orders 2 and 3 use MLX's cofactor expansion in the input dtype, so float32 and
    // float16 results equal NumPy's same formula in that dtype bit for bit.
    let f2 = "out = a[...,0,0]*a[...,1,1] - a[...,0,1]*a[...,1,0]";
    let f3 = "e = lambda i, j: a[..., i, j]\nout = e(0,0)*(e(1,1)*e(2,2) - e(1,2)*e(2,1)) - e(0,1)*(e(1,0)*e(2,2) - e(1,2)*e(2,0)) + e(0,2)*(e(1,0)*e(2,1) - e(1,1)*e(2,0))";
    for dt in [Dtype::Float32, Dtype::Float16] {
        let a2 = rand(&[50, 2, 2], dt, -3.0, 3.0, 21);
        let a3 = rand(&[50, 3, 3], dt, -3.0, 3.0, 22);
        let a3t = ops::swapaxes(&a3, -1, -2).unwrap();
        let refs = numpy_batch(&[
            (s(f2), vec![("a", &a2)]),
            (s(f3), vec![("a", &a3)]),
            (s(f3), vec![("a", &a3t)]),
        ]);
        for (a, r) in [&a2, &a3, &a3t].iter().zip(&refs) {
            let d = ops::det(a).unwrap();
            assert_eq!(d.dtype(), dt);
            assert_close(
                &d,
                &r[0],
                0.0,
                0.0,
                &format!("det {:?} {dt} bit-exact", a.shape()),
            );
        }
    }
    // bfloat16 keeps its dtype; integers and bool compute in float32.
    let b = rand(&[3, 3], Dtype::Bfloat16, -2.0, 2.0, 23);
    assert_eq!(ops::det(&b).unwrap().dtype(), Dtype::Bfloat16);
    let i = Array::from_slice(
        &[2i32, 1, 0, 1, 3, 1, 0, 1, 4, 5, 6, 7, 8, 9, 1, 2],
        &[4, 4],
    )
    .unwrap();
    let d = ops::det(&i).unwrap();
    assert_eq!(d.dtype(), Dtype::Float32);
    let want = numpy1(
        "out = np.float32(np.linalg.det(a.astype(np.float64)))",
        &[("a", &i)],
    );
    assert_close(&d, &want, 1e-5, 1e-5, "det int32 4x4");
    let (sg, la) =
        ops::slogdet(&Array::from_slice(&[true, false, false, true], &[2, 2]).unwrap()).unwrap();
    assert_eq!(
        (sg.item::<f32>().unwrap(), la.item::<f32>().unwrap()),
        (1.0, 0.0)
    );
    // Empty matrices: det 1, slogdet (1, 0), with the batch shape.
    let e = ops::zeros(&[2, 0, 0], Some(Dtype::Float32)).unwrap();
    assert_eq!(
        ops::det(&e).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0, 1.0]
    );
    let (sg, la) = ops::slogdet(&e).unwrap();
    assert_eq!(sg.to_vec::<f32>().unwrap(), vec![1.0, 1.0]);
    assert_eq!(la.to_vec::<f32>().unwrap(), vec![0.0, 0.0]);
    // Exactly singular small matrices: det 0, slogdet (0, -inf).
    let z = Array::from_slice(&[1.0f32, 2.0, 2.0, 4.0], &[2, 2]).unwrap();
    assert_eq!(ops::det(&z).unwrap().item::<f32>().unwrap(), 0.0);
    let (sg, la) = ops::slogdet(&z).unwrap();
    assert_eq!(sg.item::<f32>().unwrap(), 0.0);
    assert_eq!(la.item::<f32>().unwrap(), f32::NEG_INFINITY);
}

#[test]
fn det_errors() {
    let msg = |r: Result<Array>| r.unwrap_err().to_string();
    assert!(msg(ops::det(&ops::zeros(&[3], None).unwrap()))
        .contains("Arrays must have >= 2 dimensions"));
    assert!(msg(ops::det(&ops::zeros(&[2, 3], None).unwrap()))
        .contains("Only defined for square matrices"));
    assert!(msg(ops::det(
        &ops::zeros(&[2, 2], Some(Dtype::Complex64)).unwrap()
    ))
    .contains("Complex inputs are not supported"));
    // float16 matrices past order 3 go through lu_factor, which (as in MLX) needs
    // float32 / float64.
    assert!(msg(ops::det(
        &ops::zeros(&[4, 4], Some(Dtype::Float16)).unwrap()
    ))
    .contains("[linalg::lu_factor] Arrays must have type float32 or float64"));
    assert!(ops::slogdet(&ops::zeros(&[2, 3], None).unwrap())
        .unwrap_err()
        .to_string()
        .contains("[linalg::slogdet] Only defined for square matrices"));
}

#[test]
fn det_gradients() {
    // Orders up to 3 are differentiable (as in MLX): d det / dA = adj(A)^T, also for a
    // singular matrix; d log|det| / dA = inv(A)^T.
    for n in 1..=3usize {
        let a = r64(&[2, n, n], -1.0, 1.0, 30 + n as u64);
        check(
            &format!("det {n}x{n}"),
            &|x| Ok(vec![ops::det(&x[0])?]),
            std::slice::from_ref(&a),
        );
        let a = ops::add(
            &a,
            ops::multiply(ops::eye(n, None, 0, Some(Dtype::Float64)).unwrap(), 3.0).unwrap(),
        )
        .unwrap();
        check(
            &format!("slogdet {n}x{n}"),
            &|x| Ok(vec![ops::slogdet(&x[0])?.1]),
            std::slice::from_ref(&a),
        );
    }
    let sing = Array::from_slice(&[1.0f32, 2.0, 2.0, 4.0], &[2, 2]).unwrap();
    let g = mlxr::grad(|x: &[Array]| Ok(vec![ops::det(&x[0])?]), &[0])(&[sing]).unwrap();
    assert_eq!(g[0].to_vec::<f32>().unwrap(), vec![4.0, -2.0, -2.0, 1.0]);
    // Orders 4 and more go through LUF, which has no derivative (as in MLX).
    let big = r64(&[4, 4], -1.0, 1.0, 40);
    assert!(mlxr::grad(|x: &[Array]| Ok(vec![ops::det(&x[0])?]), &[0])(&[big]).is_err());
    // vmap of the composition.
    check_vmap(
        "det",
        &|x| Ok(vec![ops::det(&x[0])?]),
        &[r64(&[3, 5, 5], -1.0, 1.0, 41)],
        &[Some(0)],
    );
}

// ---- fp8 ------------------------------------------------------------------------------

const TO_F16: &[u8] = include_bytes!("../fixtures/fp8/to_fp8_f16.bin");
const TO_BF16: &[u8] = include_bytes!("../fixtures/fp8/to_fp8_bf16.bin");
const TO_F32: &[u8] = include_bytes!("../fixtures/fp8/to_fp8_f32.bin");
const FROM_F32: &[u8] = include_bytes!("../fixtures/fp8/from_fp8_f32.bin");

fn assert_bytes(got: &Array, want: &[u8], what: &str) {
    let g = got.to_vec::<u8>().unwrap();
    assert_eq!(g.len(), want.len(), "{what}: length");
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        assert_eq!(a, b, "{what}: element {i}: got {a:#04x}, want {b:#04x}");
    }
}

#[test]
fn to_fp8_matches_mlx_fixtures() {
    on_each_device(|_| {
        let bits: Vec<u16> = (0..=u16::MAX).collect();
        let b = Array::from_slice(&bits, &[65536]).unwrap();
        for (dt, want) in [(Dtype::Float16, TO_F16), (Dtype::Bfloat16, TO_BF16)] {
            let x = ops::view(&b, dt).unwrap();
            let y = ops::to_fp8(&x).unwrap();
            assert_eq!(y.dtype(), Dtype::Uint8);
            assert_bytes(&y, want, &format!("to_fp8 of every {dt}"));
            // Non-contiguous: every other element of a 2-d view, transposed.
            let x2 = ops::transpose(&ops::reshape(&x, &[256, 256]).unwrap()).unwrap();
            let y2 = ops::to_fp8(&x2).unwrap();
            let w2 = ops::transpose(
                &ops::reshape(&Array::from_slice(want, &[65536]).unwrap(), &[256, 256]).unwrap(),
            )
            .unwrap();
            assert!(
                ops::array_equal(&y2, &w2, false)
                    .unwrap()
                    .item::<bool>()
                    .unwrap(),
                "to_fp8 {dt} transposed"
            );
        }
        let n = TO_F32.len() / 5;
        let xs: Vec<f32> = TO_F32[..4 * n]
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let x = Array::from_slice(&xs, &[n]).unwrap();
        assert_bytes(
            &ops::to_fp8(&x).unwrap(),
            &TO_F32[4 * n..],
            "to_fp8 float32",
        );
        // float64 inputs round once from the exact value (MLX 0.32.4 misreads float64;
        // mlxr gives the float32 answer for values that are exact in float32).
        let x64 = x.astype(Dtype::Float64).unwrap();
        assert_bytes(
            &ops::to_fp8(&x64).unwrap(),
            &TO_F32[4 * n..],
            "to_fp8 float64",
        );
    });
}

#[test]
fn from_fp8_matches_mlx_fixtures() {
    on_each_device(|_| {
        let codes: Vec<u8> = (0..=255).collect();
        let c = Array::from_slice(&codes, &[256]).unwrap();
        let want: Vec<f32> = FROM_F32
            .chunks(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let got = ops::from_fp8(&c, Dtype::Float32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "from_fp8 code {i}: got {g}, want {w}"
            );
        }
        // Every value is exact in the other floating types.
        for dt in [Dtype::Float16, Dtype::Bfloat16, Dtype::Float64] {
            let y = ops::from_fp8(&c, dt).unwrap();
            assert_eq!(y.dtype(), dt);
            let v = y.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap();
            for (i, (g, w)) in v.iter().zip(&want).enumerate() {
                assert!(
                    g == w || (g.is_nan() && w.is_nan()),
                    "from_fp8 {dt} code {i}: {g} vs {w}"
                );
            }
        }
        // Round trip: decoding then encoding gives the code back (NaN codes saturate).
        let back = ops::to_fp8(&ops::from_fp8(&c, Dtype::Float32).unwrap())
            .unwrap()
            .to_vec::<u8>()
            .unwrap();
        for (i, b) in back.iter().enumerate() {
            let want = match i {
                0x7F => 0x7E,
                0xFF => 0xFE,
                _ => i as u8,
            };
            assert_eq!(*b, want, "round trip of code {i}");
        }
        // A strided (reversed) view.
        let rev = ops::slice(&c, &[255], &[-257], &[-1]).unwrap();
        let r = ops::from_fp8(&rev, Dtype::Float32)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(r[255].to_bits(), want[0].to_bits());
        assert_eq!(r[200].to_bits(), want[55].to_bits());
    });
}

#[test]
fn fp8_errors_and_rules() {
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    assert!(
        e(ops::to_fp8(&ops::zeros(&[2], Some(Dtype::Int32)).unwrap()))
            .contains("[to_fp8] Only real floating types are supported but x.dtype() == int32")
    );
    assert!(e(ops::to_fp8(
        &ops::zeros(&[2], Some(Dtype::Complex64)).unwrap()
    ))
    .contains("complex64"));
    assert!(e(ops::from_fp8(
        &ops::zeros(&[2], Some(Dtype::Int8)).unwrap(),
        Dtype::Float32
    ))
    .contains("[from_fp8] Input must have type uint8 but x.dtype() == int8"));
    assert!(e(ops::from_fp8(
        &ops::zeros(&[2], Some(Dtype::Uint8)).unwrap(),
        Dtype::Int32
    ))
    .contains("[from_fp8] Only real floating types are supported but dtype == int32"));
    // No derivative, as in MLX.
    let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let f = |x: &[Array]| {
        Ok(vec![ops::sum(
            &ops::from_fp8(&ops::to_fp8(&x[0])?, Dtype::Float32)?,
            None,
            false,
        )?])
    };
    assert!(mlxr::grad(f, &[0])(&[x]).is_err());
    // Scalars and empty arrays.
    let s = ops::to_fp8(&Array::scalar(1.0f32)).unwrap();
    assert_eq!((s.shape().len(), s.item::<u8>().unwrap()), (0, 56));
    assert_eq!(
        ops::to_fp8(&ops::zeros(&[0, 3], None).unwrap())
            .unwrap()
            .shape(),
        &[0, 3]
    );
    run_vmap();
}

/// The vmap checks of this file's primitives (also run by `transforms_walk`).
pub fn run_vmap() {
    let x = r64(&[3, 4, 5], -500.0, 500.0, 50)
        .astype(Dtype::Float32)
        .unwrap();
    check_vmap(
        "to_fp8",
        &|x| Ok(vec![ops::to_fp8(&x[0])?]),
        std::slice::from_ref(&x),
        &[Some(1)],
    );
    let c = ops::to_fp8(&x).unwrap();
    check_vmap(
        "from_fp8",
        &|x| Ok(vec![ops::from_fp8(&x[0], Dtype::Float32)?]),
        std::slice::from_ref(&c),
        &[Some(2)],
    );
}

// ---- fftfreq / rfftfreq -----------------------------------------------------------------

#[test]
fn fftfreq_bit_exact() {
    for (n, d) in [
        (1i64, 1.0f64),
        (2, 1.0),
        (7, 0.3),
        (8, 0.1),
        (9, -2.0),
        (64, 1e-3),
        (33, 7.5),
    ] {
        let scale = (1.0 / (n as f64 * d)) as f32;
        let k: Vec<f32> = (0..=(n - 1) / 2)
            .chain(-(n / 2)..0)
            .map(|i| i as f32 * scale)
            .collect();
        let got = fft::fftfreq(n, d).unwrap();
        assert_eq!(got.dtype(), Dtype::Float32);
        let g = got.to_vec::<f32>().unwrap();
        assert_eq!(g.len(), k.len());
        for (a, b) in g.iter().zip(&k) {
            assert_eq!(a.to_bits(), b.to_bits(), "fftfreq({n}, {d})");
        }
        let k: Vec<f32> = (0..=n / 2).map(|i| i as f32 * scale).collect();
        let g = fft::rfftfreq(n, d).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(g.len(), k.len());
        for (a, b) in g.iter().zip(&k) {
            assert_eq!(a.to_bits(), b.to_bits(), "rfftfreq({n}, {d})");
        }
        let want = numpy(
            &format!("out = [np.fft.fftfreq({n}, {d}), np.fft.rfftfreq({n}, {d})]"),
            &[],
        );
        assert_close(
            &fft::fftfreq(n, d).unwrap(),
            &want[0],
            1e-6,
            1e-6,
            "fftfreq vs numpy",
        );
        assert_close(
            &fft::rfftfreq(n, d).unwrap(),
            &want[1],
            1e-6,
            1e-6,
            "rfftfreq vs numpy",
        );
    }
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    assert!(e(fft::fftfreq(0, 1.0)).contains("[fftfreq] `n` must be greater than 0"));
    assert!(e(fft::rfftfreq(-3, 1.0)).contains("[rfftfreq] `n` must be greater than 0"));
    assert!(e(fft::fftfreq(4, 0.0)).contains("[fftfreq] `d` must be non-zero"));
}

// ---- stft / istft ---------------------------------------------------------------------

const STFT_REF: &str = r#"
def stft_ref(x, n_fft, hop=None, wl=None, w=None, center=True, mode="reflect", norm="backward", onesided=None):
    hop = hop or n_fft // 4
    wl = n_fft if wl is None else wl
    w = np.ones(wl, np.float32) if w is None else w
    l = (n_fft - w.shape[0]) // 2
    w = np.pad(w, (l, n_fft - w.shape[0] - l))
    if center:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(n_fft // 2, n_fft // 2)], mode=mode)
    T = 1 + (x.shape[-1] - n_fft) // hop
    fr = np.stack([x[..., t * hop:t * hop + n_fft] for t in range(T)], axis=-2) * w
    if onesided is None:
        onesided = not np.iscomplexobj(x)
    spec = np.fft.rfft(fr, axis=-1, norm=norm) if onesided else np.fft.fft(fr, axis=-1, norm=norm)
    return np.swapaxes(spec, -1, -2).astype(np.complex64)
"#;

#[test]
fn stft_matches_numpy() {
    let x = rand(&[2, 3, 40], Dtype::Float32, -1.0, 1.0, 60);
    let xt = ops::swapaxes(&rand(&[41, 2], Dtype::Float32, -1.0, 1.0, 61), 0, 1).unwrap();
    let w6 = rand(&[6], Dtype::Float32, 0.0, 1.0, 62);
    let w8 = rand(&[8], Dtype::Float32, 0.0, 1.0, 63);
    let xc = rand(&[37], Dtype::Complex64, -1.0, 1.0, 64);
    let short = rand(&[3], Dtype::Float32, -1.0, 1.0, 65);
    type Case<'a> = (fft::StftOptions<'a>, i64, &'a Array, &'a str);
    let cases: Vec<Case> = vec![
        (Default::default(), 8, &x, "stft_ref(x, 8)"),
        (
            fft::StftOptions {
                hop_length: Some(3),
                window: Some(&w6),
                ..Default::default()
            },
            8,
            &x,
            "stft_ref(x, 8, hop=3, w=w6)",
        ),
        (
            fft::StftOptions {
                win_length: Some(5),
                ..Default::default()
            },
            8,
            &xt,
            "stft_ref(x, 8, wl=5)",
        ),
        (
            fft::StftOptions {
                center: false,
                window: Some(&w8),
                ..Default::default()
            },
            8,
            &xt,
            "stft_ref(x, 8, w=w8, center=False)",
        ),
        (
            fft::StftOptions {
                pad_mode: ops::PadMode::Edge,
                hop_length: Some(2),
                ..Default::default()
            },
            7,
            &x,
            "stft_ref(x, 7, hop=2, mode='edge')",
        ),
        (
            fft::StftOptions {
                pad_mode: ops::PadMode::Constant,
                norm: fft::FftNorm::Ortho,
                ..Default::default()
            },
            16,
            &x,
            "stft_ref(x, 16, mode='constant', norm='ortho')",
        ),
        (
            fft::StftOptions {
                norm: fft::FftNorm::Forward,
                onesided: Some(false),
                ..Default::default()
            },
            8,
            &x,
            "stft_ref(x, 8, norm='forward', onesided=False)",
        ),
        (Default::default(), 8, &xc, "stft_ref(x, 8)"),
        (Default::default(), 80, &x, "stft_ref(x, 80)"),
        (Default::default(), 8, &short, "stft_ref(x, 8)"),
        (
            fft::StftOptions {
                win_length: Some(0),
                ..Default::default()
            },
            8,
            &x,
            "stft_ref(x, 8, wl=0)",
        ),
    ];
    let refs = numpy_batch(
        &cases
            .iter()
            .map(|(_, _, xx, code)| {
                (
                    format!("{STFT_REF}\nout = {code}"),
                    vec![("x", *xx), ("w6", &w6), ("w8", &w8)],
                )
            })
            .collect::<Vec<_>>(),
    );
    for ((opts, n, xx, code), r) in cases.iter().zip(&refs) {
        let got = fft::stft(xx, *n, opts).unwrap();
        assert_eq!(got.dtype(), Dtype::Complex64, "{code}");
        assert_close(&got, &r[0], 1e-4, 2e-5, code);
    }
}

#[test]
fn istft_inverts_stft() {
    let x = rand(&[2, 37], Dtype::Float32, -1.0, 1.0, 70);
    let hann: Vec<f32> = (0..8)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / 8.0).cos() + 0.1)
        .collect();
    let w = Array::from_slice(&hann, &[8]).unwrap();
    let w6 = rand(&[6], Dtype::Float32, 0.5, 1.0, 71);
    for (sopts, iopts, n, len) in [
        (
            fft::StftOptions::default(),
            fft::IstftOptions::default(),
            8i64,
            36usize,
        ),
        (
            fft::StftOptions {
                window: Some(&w),
                hop_length: Some(2),
                ..Default::default()
            },
            fft::IstftOptions {
                window: Some(&w),
                hop_length: Some(2),
                ..Default::default()
            },
            8,
            36,
        ),
        (
            fft::StftOptions {
                window: Some(&w6),
                norm: fft::FftNorm::Ortho,
                ..Default::default()
            },
            fft::IstftOptions {
                window: Some(&w6),
                n_fft: Some(8),
                norm: fft::FftNorm::Ortho,
                ..Default::default()
            },
            8,
            36,
        ),
        (
            fft::StftOptions {
                hop_length: Some(2),
                ..Default::default()
            },
            fft::IstftOptions {
                n_fft: Some(7),
                hop_length: Some(2),
                ..Default::default()
            },
            7,
            37,
        ),
        (
            fft::StftOptions {
                onesided: Some(false),
                norm: fft::FftNorm::Forward,
                ..Default::default()
            },
            fft::IstftOptions {
                onesided: Some(false),
                norm: fft::FftNorm::Forward,
                ..Default::default()
            },
            8,
            36,
        ),
        (
            fft::StftOptions {
                center: false,
                ..Default::default()
            },
            fft::IstftOptions {
                center: false,
                ..Default::default()
            },
            8,
            36,
        ),
        (
            fft::StftOptions::default(),
            fft::IstftOptions {
                length: Some(30),
                ..Default::default()
            },
            8,
            30,
        ),
    ] {
        let s = fft::stft(&x, n, &sopts).unwrap();
        let y = fft::istft(&s, &iopts).unwrap();
        assert_eq!(y.shape(), &[2, len], "istft length");
        assert_eq!(y.dtype(), Dtype::Float32);
        let want = ops::slice(&x, &[0, 0], &[2, len as isize], &[1, 1]).unwrap();
        assert_close(&y, &want, 1e-4, 1e-5, "istft(stft(x))");
    }
    // length past the overlap-added frames is zero-padded (as MLX: the 36 samples and the
    // 4 reflected ones of the right padding, then zeros); non-positive lengths give empty
    // outputs.
    let s = fft::stft(&x, 8, &Default::default()).unwrap();
    let y = fft::istft(
        &s,
        &fft::IstftOptions {
            length: Some(50),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(y.shape(), &[2, 50]);
    let tail = ops::slice(&y, &[0, 40], &[2, 50], &[1, 1]).unwrap();
    assert!(tail.to_vec::<f32>().unwrap().iter().all(|&v| v == 0.0));
    for l in [0, -1] {
        let y = fft::istft(
            &s,
            &fft::IstftOptions {
                length: Some(l),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(y.shape(), &[2, 0]);
    }
    // The envelope is floored at 1e-8 (MLX): a tiny window scales the output up.
    let x1 = ops::ones(&[40], None).unwrap();
    let s1 = fft::stft(&x1, 8, &Default::default()).unwrap();
    let tiny = ops::full(&[8], 1e-5, None).unwrap();
    let y = fft::istft(
        &s1,
        &fft::IstftOptions {
            window: Some(&tiny),
            ..Default::default()
        },
    )
    .unwrap();
    let v = y.to_vec::<f32>().unwrap();
    assert!((v[5] - 4000.0).abs() < 1.0, "envelope floor: {}", v[5]);
    // Gradients flow through both (compositions of differentiable ops).
    let g = mlxr::grad(
        |a: &[Array]| {
            let s = fft::stft(&a[0], 8, &Default::default())?;
            Ok(vec![ops::sum(
                &fft::istft(&s, &Default::default())?,
                None,
                false,
            )?])
        },
        &[0],
    )(std::slice::from_ref(&x))
    .unwrap();
    assert_eq!(g[0].shape(), x.shape());
}

#[test]
fn stft_istft_errors() {
    let x = ops::ones(&[20], None).unwrap();
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    let d = fft::StftOptions::default;
    assert!(e(fft::stft(&Array::scalar(1.0f32), 8, &d()))
        .contains("[stft] Input must have at least one dimension"));
    assert!(e(fft::stft(&x, 0, &d())).contains("[stft] n_fft must be positive"));
    assert!(e(fft::stft(&x, 3, &d())).contains("[stft] hop_length must be positive"));
    assert!(e(fft::stft(
        &x,
        8,
        &fft::StftOptions {
            hop_length: Some(-1),
            ..d()
        }
    ))
    .contains("hop_length must be positive"));
    assert!(e(fft::stft(
        &x,
        8,
        &fft::StftOptions {
            win_length: Some(9),
            ..d()
        }
    ))
    .contains("window length must not exceed n_fft"));
    let w2 = ops::ones(&[2, 4], None).unwrap();
    assert!(e(fft::stft(
        &x,
        8,
        &fft::StftOptions {
            window: Some(&w2),
            ..d()
        }
    ))
    .contains("window must be a one-dimensional array"));
    assert!(e(fft::stft(
        &x,
        21,
        &fft::StftOptions {
            center: false,
            ..d()
        }
    ))
    .contains("Input is too short"));
    assert!(fft::FftNorm::parse("bad", "stft")
        .unwrap_err()
        .to_string()
        .contains("Invalid norm"));
    let s = fft::stft(&x, 8, &d()).unwrap();
    let di = fft::IstftOptions::default;
    assert!(e(fft::istft(&x, &di())).contains("[istft] Input must have at least two dimensions"));
    assert!(e(fft::istft(
        &s,
        &fft::IstftOptions {
            n_fft: Some(0),
            ..di()
        }
    ))
    .contains("[istft] n_fft must be positive"));
    assert!(e(fft::istft(
        &ops::ones(&[1, 4], Some(Dtype::Complex64)).unwrap(),
        &di()
    ))
    .contains("n_fft must be positive"));
    assert!(e(fft::istft(
        &s,
        &fft::IstftOptions {
            win_length: Some(9),
            ..di()
        }
    ))
    .contains("window length must not exceed n_fft"));
}

// ---- segmented_mm / block_masked_mm ----------------------------------------------------

#[test]
fn segmented_mm_matches_numpy() {
    let a = rand(&[5, 9], Dtype::Float32, -1.0, 1.0, 80);
    let b = rand(&[9, 4], Dtype::Float32, -1.0, 1.0, 81);
    let at = ops::transpose(&rand(&[9, 5], Dtype::Float32, -1.0, 1.0, 82)).unwrap();
    let segs = Array::from_slice(&[0i32, 3, 3, 9, 2, 2, 7, 4, 0, 9, 1, 8], &[2, 3, 2]).unwrap();
    let seg1 = Array::from_slice(&[2u32, 6], &[2]).unwrap();
    let code = "s = segs.reshape(-1, 2)\nr = [(a[:, max(lo,0):max(hi,lo)] @ b[max(lo,0):max(hi,lo)]) if hi > lo else np.zeros((a.shape[0], b.shape[1]), a.dtype) for lo, hi in s]\nout = np.stack(r).reshape(segs.shape[:-1] + (a.shape[0], b.shape[1])).astype(np.float32)";
    let refs = numpy_batch(&[
        (s(code), vec![("a", &a), ("b", &b), ("segs", &segs)]),
        (s(code), vec![("a", &at), ("b", &b), ("segs", &segs)]),
        (s(code), vec![("a", &a), ("b", &b), ("segs", &seg1)]),
    ]);
    assert_close(
        &ops::segmented_mm(&a, &b, &segs).unwrap(),
        &refs[0][0],
        1e-5,
        1e-6,
        "segmented_mm",
    );
    assert_close(
        &ops::segmented_mm(&at, &b, &segs).unwrap(),
        &refs[1][0],
        1e-5,
        1e-6,
        "segmented_mm transposed",
    );
    let one = ops::segmented_mm(&a, &b, &seg1).unwrap();
    assert_eq!(one.shape(), &[5, 4]);
    assert_close(&one, &refs[2][0], 1e-5, 1e-6, "segmented_mm one segment");
    // dtypes: float16 with float32 promotes; float64 stays.
    let h = ops::segmented_mm(&a.astype(Dtype::Float16).unwrap(), &b, &segs).unwrap();
    assert_eq!(h.dtype(), Dtype::Float32);
    let d = ops::segmented_mm(
        &a.astype(Dtype::Float64).unwrap(),
        &b.astype(Dtype::Float64).unwrap(),
        &segs,
    )
    .unwrap();
    assert_eq!(d.dtype(), Dtype::Float64);
    // Differentiable in a and b (MLX has no vjp for SegmentedMM).
    check(
        "segmented_mm",
        &|x| Ok(vec![ops::segmented_mm(&x[0], &x[1], &x[2])?]),
        &[
            r64(&[3, 6], -1.0, 1.0, 83),
            r64(&[6, 2], -1.0, 1.0, 84),
            Array::from_slice(&[0i32, 2, 1, 6], &[2, 2]).unwrap(),
        ],
    );
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    assert!(e(ops::segmented_mm(
        &ops::zeros(&[2, 5, 9], None).unwrap(),
        &b,
        &segs
    ))
    .contains("Batched matmul not supported"));
    assert!(e(ops::segmented_mm(
        &a.astype(Dtype::Int32).unwrap(),
        &b.astype(Dtype::Int32).unwrap(),
        &segs
    ))
    .contains("Only real floating point types are supported"));
    assert!(e(ops::segmented_mm(
        &a,
        &b,
        &segs.astype(Dtype::Float32).unwrap()
    ))
    .contains("Segments must be integral"));
    assert!(e(ops::segmented_mm(
        &a,
        &b,
        &ops::zeros(&[1, 3], Some(Dtype::Int32)).unwrap()
    ))
    .contains("The segments should have shape (..., 2)"));
    assert!(e(ops::segmented_mm(
        &a,
        &ops::zeros(&[8, 4], None).unwrap(),
        &segs
    ))
    .contains("must match"));
}

#[test]
fn block_masked_mm_matches_numpy() {
    let a = rand(&[2, 70, 40], Dtype::Float32, -1.0, 1.0, 90);
    let b = rand(&[40, 33], Dtype::Float32, -1.0, 1.0, 91);
    let mo = rand(&[2, 3, 2], Dtype::Bool, 0.0, 1.0, 92);
    let ml = rand(&[2, 3, 2], Dtype::Float32, -1.0, 2.0, 93);
    let mr = rand(&[2, 2], Dtype::Float32, -1.0, 2.0, 94);
    let mrb = rand(&[2, 2], Dtype::Bool, 0.0, 1.0, 95);
    let code = "def ex(m, r, c):\n    m = np.asarray(m)\n    return np.repeat(np.repeat(m, 32, -2), 32, -1)[..., :r, :c]\nA = a * ex(ml, 70, 40) if ml.size > 1 else a\nB = b * ex(mr, 40, 33) if mr.size > 1 else b\nout = (A @ B) * ex(mo, 70, 33)";
    let none = Array::scalar(0.0f32);
    let refs = numpy_batch(&[
        (
            s(code),
            vec![("a", &a), ("b", &b), ("mo", &mo), ("ml", &ml), ("mr", &mr)],
        ),
        (
            s(code),
            vec![
                ("a", &a),
                ("b", &b),
                ("mo", &mo),
                ("ml", &none),
                ("mr", &none),
            ],
        ),
        (
            s(code),
            vec![
                ("a", &a),
                ("b", &b),
                ("mo", &ml),
                ("ml", &none),
                ("mr", &mrb),
            ],
        ),
    ]);
    let got = ops::block_masked_mm(&a, &b, 32, Some(&mo), Some(&ml), Some(&mr)).unwrap();
    assert_close(&got, &refs[0][0], 1e-4, 1e-5, "block_masked_mm all masks");
    let got = ops::block_masked_mm(&a, &b, 32, Some(&mo), None, None).unwrap();
    assert_close(&got, &refs[1][0], 1e-4, 1e-5, "block_masked_mm out mask");
    let got = ops::block_masked_mm(&a, &b, 32, Some(&ml), None, Some(&mrb)).unwrap();
    assert_close(
        &got,
        &refs[2][0],
        1e-4,
        1e-5,
        "block_masked_mm numeric out mask, bool rhs mask",
    );
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    // A bool mask drops NaNs in the masked-out blocks.
    let nan = ops::full(&[64, 64], f32::NAN, None).unwrap();
    let keep = Array::from_slice(&[false, true, true, true], &[2, 2]).unwrap();
    let r = ops::block_masked_mm(
        &nan,
        &ops::ones(&[64, 64], None).unwrap(),
        32,
        Some(&keep),
        None,
        None,
    )
    .unwrap();
    assert_eq!(r.to_vec::<f32>().unwrap()[0], 0.0);
    // Integer inputs are an error (as MLX); masks broadcast; 1-D operands.
    let i = ops::block_masked_mm(
        &a.astype(Dtype::Int32).unwrap(),
        &b.astype(Dtype::Int32).unwrap(),
        64,
        None,
        None,
        None,
    );
    assert!(e(i).contains("real floating point"));
    let row = Array::from_slice(&[true, false], &[1, 2]).unwrap();
    let full = ops::broadcast_to(&row, &[3, 2]).unwrap();
    assert_close(
        &ops::block_masked_mm(&a, &b, 32, Some(&row), None, None).unwrap(),
        &ops::block_masked_mm(&a, &b, 32, Some(&full), None, None).unwrap(),
        0.0,
        0.0,
        "broadcast mask",
    );
    let v = rand(&[40], Dtype::Float32, -1.0, 1.0, 96);
    let mv = rand(&[1, 2], Dtype::Bool, 0.0, 1.0, 97);
    let r = ops::block_masked_mm(&v, &b, 32, None, Some(&mv), None).unwrap();
    assert_eq!(r.shape(), &[33]);
    // Gradients in a and the numeric masks.
    check(
        "block_masked_mm",
        &|x| {
            Ok(vec![ops::block_masked_mm(
                &x[0],
                &x[1],
                32,
                Some(&x[2]),
                Some(&x[3]),
                None,
            )?])
        },
        &[
            r64(&[40, 3], -1.0, 1.0, 98),
            r64(&[3, 4], -1.0, 1.0, 99),
            r64(&[2, 1], -1.0, 1.0, 100),
            r64(&[2, 1], -1.0, 1.0, 101),
        ],
    );
    assert!(e(ops::block_masked_mm(
        &a,
        &b,
        32,
        Some(&ops::ones(&[3, 3], None).unwrap()),
        None,
        None
    ))
    .contains("mask_out"));
    assert!(e(ops::block_masked_mm(
        &a,
        &ops::zeros(&[41, 33], None).unwrap(),
        32,
        None,
        None,
        None
    ))
    .contains("must match"));
    for bs in [0, 16, 128] {
        let m = e(ops::block_masked_mm(&a, &b, bs, Some(&mo), None, None));
        assert!(m.contains("Only block_sizes 32, 64"), "{m}");
    }
}

// ---- fast.cross_entropy / gated_delta_update -----------------------------------------

#[test]
fn cross_entropy_matches_numpy() {
    let l = rand(&[3, 4, 10], Dtype::Float32, -3.0, 3.0, 110);
    let t = rand(&[3, 4], Dtype::Int32, 0.0, 10.0, 111);
    let lt = ops::swapaxes(&rand(&[10, 4, 3], Dtype::Float32, -3.0, 3.0, 112), 0, 2).unwrap();
    let code = "m = l.max(-1, keepdims=True)\nlse = np.log(np.exp(l - m).sum(-1)) + m[..., 0]\nout = (lse - np.take_along_axis(l, t[..., None], -1)[..., 0]).astype(np.float32)";
    let refs = numpy_batch(&[
        (s(code), vec![("l", &l), ("t", &t)]),
        (s(code), vec![("l", &lt), ("t", &t)]),
    ]);
    let got = ops::cross_entropy(&l, &t).unwrap();
    assert_eq!(got.dtype(), Dtype::Float32);
    assert_close(&got, &refs[0][0], 1e-5, 1e-5, "cross_entropy");
    assert_close(
        &ops::cross_entropy(&lt, &t.astype(Dtype::Uint32).unwrap()).unwrap(),
        &refs[1][0],
        1e-5,
        1e-5,
        "cross_entropy transposed",
    );
    let h = ops::cross_entropy(&l.astype(Dtype::Float16).unwrap(), &t).unwrap();
    assert_eq!(h.dtype(), Dtype::Float32);
    assert_close(&h, &refs[0][0], 1e-2, 1e-2, "cross_entropy float16");
    // The gradient of the summed loss: softmax(l) - onehot(t) (the float32 output rules
    // out finite differences in float64).
    let g = mlxr::grad(
        |x: &[Array]| {
            Ok(vec![ops::sum(
                &ops::cross_entropy(&x[0], &t)?,
                None,
                false,
            )?])
        },
        &[0],
    )(std::slice::from_ref(&l))
    .unwrap();
    let want = numpy1(
        "e = np.exp(l - l.max(-1, keepdims=True))\nout = e / e.sum(-1, keepdims=True) - np.eye(10, dtype=np.float32)[t]",
        &[("l", &l), ("t", &t)],
    );
    assert_close(&g[0], &want, 1e-5, 1e-6, "cross_entropy gradient");
    let e = |r: Result<Array>| r.unwrap_err().to_string();
    assert!(
        e(ops::cross_entropy(&l, &t.astype(Dtype::Float32).unwrap()))
            .contains("targets must be integer class indices but got float32")
    );
    assert!(e(ops::cross_entropy(
        &l,
        &ops::zeros(&[3, 2], Some(Dtype::Int32)).unwrap()
    ))
    .contains(
        "targets shape (3,2) does not match logits shape (3,4,10) with the last axis removed"
    ));
    assert!(e(ops::cross_entropy(
        &Array::scalar(1.0f32),
        &Array::scalar(0i32)
    ))
    .contains("at least 1 dimension"));
}

const GDN_REF: &str = r#"
def gdn_ref(q, k, v, g, beta, state=None, mask=None):
    B, T, Hk, Dk = q.shape
    Hv, Dv = v.shape[-2:]
    S = np.zeros((B, Hv, Dv, Dk)) if state is None else state.astype(np.float64)
    r = Hv // Hk
    q = np.repeat(q, r, -2).astype(np.float64); k = np.repeat(k, r, -2).astype(np.float64)
    ys = []
    for t in range(T):
        old = S
        gt = g[:, t]
        S = S * (gt[..., None, None] if gt.ndim == 2 else gt[..., None, :])
        kt = k[:, t]
        kv = (S * kt[..., None, :]).sum(-1)
        delta = (v[:, t] - kv) * beta[:, t][..., None]
        S = S + kt[..., None, :] * delta[..., None]
        y = (S * q[:, t][..., None, :]).sum(-1)
        if mask is not None:
            m = mask[:, t].astype(bool)
            S = np.where(m[:, None, None, None], S, old)
            y = np.where(m[:, None, None], y, 0)
        ys.append(y)
    return [np.stack(ys, 1).astype(np.float32), S.astype(np.float32)]
"#;

#[test]
fn gated_delta_update_matches_numpy() {
    let (b, t, hk, hv, dk, dv) = (2, 5, 2, 4, 3, 6);
    let q = rand(&[b, t, hk, dk], Dtype::Float32, -1.0, 1.0, 120);
    let k = rand(&[b, t, hk, dk], Dtype::Float32, -1.0, 1.0, 121);
    let v = rand(&[b, t, hv, dv], Dtype::Float32, -1.0, 1.0, 122);
    let g = rand(&[b, t, hv], Dtype::Float32, 0.0, 1.0, 123);
    let g4 = rand(&[b, t, hv, dk], Dtype::Float32, 0.0, 1.0, 124);
    let beta = rand(&[b, t, hv], Dtype::Float32, 0.0, 1.0, 125);
    let s0 = rand(&[b, hv, dv, dk], Dtype::Float32, -1.0, 1.0, 126);
    let m = rand(&[b, t], Dtype::Bool, 0.0, 1.0, 127);
    let ins = vec![
        ("q", &q),
        ("k", &k),
        ("v", &v),
        ("g", &g),
        ("g4", &g4),
        ("beta", &beta),
        ("s0", &s0),
        ("m", &m),
    ];
    let refs = numpy_batch(&[
        (
            format!("{GDN_REF}\nout = gdn_ref(q, k, v, g, beta)"),
            ins.clone(),
        ),
        (
            format!("{GDN_REF}\nout = gdn_ref(q, k, v, g4, beta, s0)"),
            ins.clone(),
        ),
        (
            format!("{GDN_REF}\nout = gdn_ref(q, k, v, g, beta, s0, m)"),
            ins.clone(),
        ),
    ]);
    let got = ops::gated_delta_update(&q, &k, &v, &g, &beta, None, None).unwrap();
    assert_eq!(got[0].shape(), &[b, t, hv, dv]);
    assert_eq!(got[1].shape(), &[b, hv, dv, dk]);
    assert_close(&got[0], &refs[0][0], 1e-4, 1e-5, "gdn y");
    assert_close(&got[1], &refs[0][1], 1e-4, 1e-5, "gdn state");
    let got = ops::gated_delta_update(&q, &k, &v, &g4, &beta, Some(&s0), None).unwrap();
    assert_close(
        &got[0],
        &refs[1][0],
        1e-4,
        1e-5,
        "gdn y (per-key gamma, initial state)",
    );
    assert_close(
        &got[1],
        &refs[1][1],
        1e-4,
        1e-5,
        "gdn state (per-key gamma, initial state)",
    );
    let got = ops::gated_delta_update(&q, &k, &v, &g, &beta, Some(&s0), Some(&m)).unwrap();
    assert_close(&got[0], &refs[2][0], 1e-4, 1e-5, "gdn y (mask)");
    assert_close(&got[1], &refs[2][1], 1e-4, 1e-5, "gdn state (mask)");
    // float16 inputs: y in float16, the state in float32.
    let h = |x: &Array| x.astype(Dtype::Float16).unwrap();
    let got = ops::gated_delta_update(
        &h(&q),
        &h(&k),
        &h(&v),
        &h(&g),
        &h(&beta),
        Some(&h(&s0)),
        None,
    )
    .unwrap();
    assert_eq!(
        (got[0].dtype(), got[1].dtype()),
        (Dtype::Float16, Dtype::Float32)
    );
    check(
        "gated_delta_update",
        &|x| ops::gated_delta_update(&x[0], &x[1], &x[2], &x[3], &x[4], Some(&x[5]), None),
        &[
            r64(&[1, 3, 1, 2], -1.0, 1.0, 130),
            r64(&[1, 3, 1, 2], -1.0, 1.0, 131),
            r64(&[1, 3, 2, 2], -1.0, 1.0, 132),
            r64(&[1, 3, 2], 0.2, 1.0, 133),
            r64(&[1, 3, 2], 0.2, 1.0, 134),
            r64(&[1, 2, 2, 2], -1.0, 1.0, 135),
        ],
    );
    let e = |r: Result<Vec<Array>>| r.unwrap_err().to_string();
    assert!(e(ops::gated_delta_update(
        &q,
        &k,
        &v,
        &ops::zeros(&[b, t, 2], None).unwrap(),
        &beta,
        None,
        None
    ))
    .contains("gamma must have shape"));
    assert!(e(ops::gated_delta_update(
        &q,
        &k,
        &ops::zeros(&[b, t, 3, dv], None).unwrap(),
        &g,
        &beta,
        None,
        None
    ))
    .contains("multiple"));
    assert!(e(ops::gated_delta_update(
        &q,
        &k,
        &v,
        &g,
        &beta,
        Some(&q),
        None
    ))
    .contains("initial_state must have shape"));
    assert!(e(ops::gated_delta_update(
        &ops::zeros(&[t, hk, dk], None).unwrap(),
        &k,
        &v,
        &g,
        &beta,
        None,
        None
    ))
    .contains("[B, T, H, D]"));
}

// ---- export_to_dot, print precision ---------------------------------------------------

#[test]
fn export_to_dot_format() {
    let x = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
    let y = Array::from_slice(&[3.0f32, 4.0], &[2]).unwrap();
    let z = ops::multiply(ops::add(&x, &y).unwrap(), &x).unwrap();
    let dot = mlxr::export_to_dot(
        std::slice::from_ref(&z),
        &[("x".into(), x.clone()), ("y".into(), y.clone())],
    );
    // Node ids vary: replace them.
    let norm: Vec<String> = dot
        .lines()
        .map(|l| {
            l.split(' ')
                .map(|w| {
                    if !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) {
                        "N"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let want = [
        "digraph {",
        "{ rank=source; \"x\"; }",
        "{ rank=source; \"y\"; }",
        "{ N [label =\"Add\", shape=rectangle]; }",
        "\"x\" -> N",
        "\"y\" -> N",
        "{ \"C\"; }",
        "N -> \"C\"",
        "{ N [label =\"Multiply\", shape=rectangle]; }",
        "\"C\" -> N",
        "\"x\" -> N",
        "{ rank=sink; \"D\"; }",
        "N -> \"D\"",
        "}",
    ];
    assert_eq!(norm, want, "{dot}");
    // Multi-output nodes; an output consumed inside the graph is not a sink.
    let (q, r) = ops::divmod(
        Array::from_slice(&[5i32, 6], &[2]).unwrap(),
        Array::from_slice(&[4i32, 4], &[2]).unwrap(),
    )
    .unwrap();
    let sum = ops::add(&q, &r).unwrap();
    let dot = mlxr::export_to_dot(&[sum, q.clone()], &[]);
    assert_eq!(dot.matches("rank=sink").count(), 1, "{dot}");
    assert_eq!(dot.matches("label =\"DivMod\"").count(), 1, "{dot}");
    assert!(
        dot.contains("{ \"C\"; }") && dot.contains("{ \"D\"; }"),
        "{dot}"
    );
    // Evaluated arrays are sources.
    z.eval().unwrap();
    let dot = mlxr::export_to_dot(std::slice::from_ref(&z), &[]);
    assert_eq!(dot, "digraph {\n{ rank=source; \"A\"; }\n}");
    // Names past Z.
    let mut a = Array::scalar(1.0f32);
    for _ in 0..30 {
        a = ops::add(&a, 1.0).unwrap();
    }
    assert!(mlxr::export_to_dot(&[a], &[]).contains("\"AE\""));
}

#[test]
fn print_precision_formats() {
    use mlxr::repr::format_float_with as f;
    assert_eq!(f(1.23456789, -1), "1.23457");
    assert_eq!(f(1.23456789, 3), "1.235");
    assert_eq!(f(2.0, 3), "2.000");
    assert_eq!(f(123456.7890625, 3), "123456.789");
    assert_eq!(f(1e-5, 3), "0.000");
    assert_eq!(f(1.5, 0), "2");
    assert_eq!(f(2.5, 0), "2");
    assert_eq!(f(-0.0, 2), "-0.00");
    assert_eq!(f(f64::NAN, 3), "nan");
    assert_eq!(f(f64::NEG_INFINITY, 3), "-inf");
    assert_eq!(f(1.2345678806304932, -5), "1.234568");
    assert_eq!(f(1.2345678806304932, 10), "1.2345678806");
}

// ---- GGUF -----------------------------------------------------------------------------

/// Bitwise equality of shape, dtype and bytes (compared as float64 values, NaN-free).
fn assert_identical(got: &Array, want: &Array, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(
        got.to_vec::<f64>().unwrap(),
        want.to_vec::<f64>().unwrap(),
        "{what}: values"
    );
}

#[test]
fn gguf_reads_mlx_files() {
    use mlxr::io::{self, GgufValue};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gguf");
    let loaded = io::load(dir.join("mlx_written.gguf")).unwrap();
    let want = io::load(dir.join("mlx_written.npz")).unwrap();
    assert_eq!(loaded.arrays().len(), want.arrays().len());
    for (name, w) in want.arrays() {
        assert_identical(loaded.get(name).unwrap(), w, name);
    }
    let meta = loaded.gguf_metadata().unwrap();
    let get = |k: &str| &meta.iter().find(|(n, _)| n == k).unwrap().1;
    assert!(matches!(get("general.name"), GgufValue::String(s) if s == "fixture"));
    assert!(matches!(get("tokens"), GgufValue::Strings(v) if v == &["a", "bc", ""]));
    let arr = |k: &str| match get(k) {
        GgufValue::Array(a) => a.clone(),
        _ => panic!("{k} is not an array"),
    };
    assert_identical(&arr("u8"), &Array::scalar(7u8), "u8");
    assert_identical(&arr("i32"), &Array::scalar(-3i32), "i32");
    assert_identical(&arr("u64"), &Array::scalar(1u64 << 40), "u64");
    assert_identical(&arr("f32"), &Array::scalar(1.25f32), "f32");
    assert_identical(&arr("flag"), &Array::scalar(true), "flag");
    let v = Array::from_slice(&[1i16, -2, 3], &[3]).unwrap();
    assert_identical(&arr("vec"), &v, "vec");

    // Quantized tensors become MLX's affine quantization, bit for bit.
    let q = io::load(dir.join("quant.gguf")).unwrap();
    let want = io::load(dir.join("quant_mlx.npz")).unwrap();
    assert_eq!(q.arrays().len(), want.arrays().len());
    for (name, w) in want.arrays() {
        assert_identical(q.get(name).unwrap(), w, name);
    }
    // ... and dequantize to the blocks' values.
    let w = q.get("blk.0.q4_0.weight").unwrap();
    let s = q.get("blk.0.q4_0.scales").unwrap();
    let b = q.get("blk.0.q4_0.biases").unwrap();
    let d = ops::dequantize(
        w,
        s,
        Some(b),
        Some(32),
        Some(4),
        ops::QuantizationMode::Affine,
        None,
    )
    .unwrap();
    assert_eq!(d.shape(), &[3, 64]);
}

#[test]
fn gguf_round_trip_and_errors() {
    use mlxr::io::{self, GgufValue};
    let dir = std::env::temp_dir().join(format!("mlxr-gguf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let arrays = vec![
        ("w.weight", rand(&[3, 5], Dtype::Float32, -1.0, 1.0, 1)),
        ("h", rand(&[2, 3, 4], Dtype::Float16, -1.0, 1.0, 2)),
        (
            "i8",
            ops::astype(&rand(&[7], Dtype::Float32, -100.0, 100.0, 3), Dtype::Int8).unwrap(),
        ),
        (
            "i16",
            ops::astype(&rand(&[2, 2], Dtype::Float32, -1e4, 1e4, 4), Dtype::Int16).unwrap(),
        ),
        (
            "i32",
            ops::astype(&rand(&[4, 1], Dtype::Float32, -1e6, 1e6, 5), Dtype::Int32).unwrap(),
        ),
        (
            "t",
            ops::transpose(&rand(&[3, 4], Dtype::Float32, -1.0, 1.0, 6)).unwrap(),
        ),
        ("s", Array::scalar(3.5f32)),
        ("e", ops::zeros(&[0, 3], Some(Dtype::Float32)).unwrap()),
    ];
    let meta = vec![
        (s("name"), GgufValue::String(s("model"))),
        (s("list"), GgufValue::Strings(vec![s("x"), s("yz")])),
        (s("empty"), GgufValue::Strings(vec![])),
        (s("n"), GgufValue::Array(Array::scalar(-9i64))),
        (
            s("v"),
            GgufValue::Array(Array::from_slice(&[0.5f32, 2.0], &[2]).unwrap()),
        ),
        (
            s("b"),
            GgufValue::Array(Array::from_slice(&[true, false], &[2]).unwrap()),
        ),
    ];
    let p = io::save_gguf(dir.join("rt"), &arrays, &meta).unwrap();
    assert_eq!(p, dir.join("rt.gguf"));
    let bytes = io::save_gguf_bytes(&arrays, &meta).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), bytes);
    for l in [io::load(&p).unwrap(), {
        let (arrays, metadata) = io::load_gguf_bytes(&bytes).unwrap();
        io::Loaded::Gguf { arrays, metadata }
    }] {
        for (name, a) in &arrays {
            assert_identical(l.get(name).unwrap(), a, name);
        }
        let m = l.gguf_metadata().unwrap();
        assert_eq!(m.len(), meta.len());
        assert!(matches!(&m[1].1, GgufValue::Strings(v) if v == &["x", "yz"]));
        assert!(matches!(&m[2].1, GgufValue::Strings(v) if v.is_empty()));
        match (&m[4].1, &meta[4].1) {
            (GgufValue::Array(a), GgufValue::Array(b)) => assert_identical(a, b, "v"),
            _ => panic!("v"),
        }
    }

    let msg = |r: Result<std::path::PathBuf>| r.unwrap_err().to_string();
    for dt in [
        Dtype::Bfloat16,
        Dtype::Float64,
        Dtype::Uint8,
        Dtype::Int64,
        Dtype::Bool,
    ] {
        let a = ops::zeros(&[2], Some(dt)).unwrap();
        let m = msg(io::save_gguf(dir.join("bad"), &[("a", &a)], &[]));
        assert!(
            m.contains("not supported") && m.contains(&dt.to_string()),
            "{m}"
        );
    }
    let two_d = GgufValue::Array(ops::zeros(&[2, 2], Some(Dtype::Int32)).unwrap());
    let m = msg(io::save_gguf(
        dir.join("bad"),
        &[] as &[(&str, Array)],
        &[(s("k"), two_d)],
    ));
    assert!(m.contains("more than one dimension"), "{m}");
    let half_meta = GgufValue::Array(Array::scalar(half::f16::ONE));
    let m = msg(io::save_gguf(
        dir.join("bad"),
        &[] as &[(&str, Array)],
        &[(s("k"), half_meta)],
    ));
    assert!(m.contains("float16") && m.contains("metadata"), "{m}");

    // Corrupt files.
    let err = |b: &[u8]| io::load_gguf_bytes(b).unwrap_err().to_string();
    assert!(err(b"GGUX\x03\0\0\0").contains("bad magic"));
    assert!(err(&bytes[..bytes.len() - 3]).contains("extends past the end"));
    assert!(err(&bytes[..40]).contains("truncated"));
    let mut v1 = bytes.clone();
    v1[4] = 1;
    assert!(err(&v1).contains("version 1"));
    // An unsupported quantized type names it.
    let mut f = b"GGUF".to_vec();
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&1u64.to_le_bytes());
    f.extend_from_slice(&0u64.to_le_bytes());
    f.extend_from_slice(&1u64.to_le_bytes());
    f.push(b'q');
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&256u64.to_le_bytes());
    f.extend_from_slice(&12u32.to_le_bytes()); // Q4_K
    f.extend_from_slice(&0u64.to_le_bytes());
    f.resize(64 + 144, 0);
    let m = err(&f);
    assert!(m.contains("Q4_K") && m.contains("'q'"), "{m}");
    std::fs::remove_dir_all(&dir).unwrap();
}
