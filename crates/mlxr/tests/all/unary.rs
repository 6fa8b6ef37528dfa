//! Unary elementwise ops: output dtypes against MLX's table, values against NumPy (or
//! mpmath for erf/erfinv) over every dtype and layout, special values, errors.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

/// Output dtype of each unary op for each input dtype, printed by MLX 0.32.4
/// (`getattr(mx, op)(mx.ones((2,), dtype=d)).dtype`, ERR where MLX raises). Columns follow
/// `Dtype::ALL`.
const MLX_UNARY_DTYPES: &str = "\
abs bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 float32
negative ERR uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
sign bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
exp float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
expm1 float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 ERR
log float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
log1p float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
log2 float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
log10 float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
sqrt float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
rsqrt float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
square bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
reciprocal float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
sin float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
cos float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
tan float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arcsin float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arccos float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arctan float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
sinh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
cosh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
tanh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arcsinh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arccosh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
arctanh float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
sigmoid float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 ERR
erf float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 ERR
erfinv float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 ERR
floor bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 ERR
ceil bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 ERR
round bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
isnan bool bool bool bool bool bool bool bool bool bool bool bool bool bool
isinf bool bool bool bool bool bool bool bool bool bool bool bool bool bool
isposinf bool bool bool bool bool bool bool bool bool bool bool bool bool bool
isneginf bool bool bool bool bool bool bool bool bool bool bool bool bool bool
isfinite bool bool bool bool bool bool bool bool bool bool bool bool bool bool
logical_not bool bool bool bool bool bool bool bool bool bool bool bool bool bool
bitwise_invert bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
degrees float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
radians float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
conj bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
real bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 float32
imag bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 float32
stop_gradient bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
";

type UnaryFn = fn(&Array) -> mlxr::Result<Array>;

fn unary_by_name(name: &str) -> UnaryFn {
    match name {
        "abs" => ops::abs,
        "negative" => ops::negative,
        "sign" => ops::sign,
        "exp" => ops::exp,
        "expm1" => ops::expm1,
        "log" => ops::log,
        "log1p" => ops::log1p,
        "log2" => ops::log2,
        "log10" => ops::log10,
        "sqrt" => ops::sqrt,
        "rsqrt" => ops::rsqrt,
        "square" => ops::square,
        "reciprocal" => ops::reciprocal,
        "sin" => ops::sin,
        "cos" => ops::cos,
        "tan" => ops::tan,
        "arcsin" => ops::arcsin,
        "arccos" => ops::arccos,
        "arctan" => ops::arctan,
        "sinh" => ops::sinh,
        "cosh" => ops::cosh,
        "tanh" => ops::tanh,
        "arcsinh" => ops::arcsinh,
        "arccosh" => ops::arccosh,
        "arctanh" => ops::arctanh,
        "sigmoid" => ops::sigmoid,
        "erf" => ops::erf,
        "erfinv" => ops::erfinv,
        "floor" => ops::floor,
        "ceil" => ops::ceil,
        "round" => |a| ops::round(a, 0),
        "isnan" => ops::isnan,
        "isinf" => ops::isinf,
        "isposinf" => ops::isposinf,
        "isneginf" => ops::isneginf,
        "isfinite" => ops::isfinite,
        "logical_not" => ops::logical_not,
        "bitwise_invert" => ops::bitwise_invert,
        "degrees" => ops::degrees,
        "radians" => ops::radians,
        "conj" => ops::conj,
        "real" => ops::real,
        "imag" => ops::imag,
        "stop_gradient" => ops::stop_gradient,
        _ => panic!("unknown op {name}"),
    }
}

/// Compare values with the tolerance of `got`'s dtype (the reference may have a wider
/// dtype, e.g. NumPy's float64 for integer inputs or float32 for bfloat16).
fn check(got: &Array, want: &Array, what: &str) {
    let (r, a) = tol(got.dtype());
    assert_close(got, want, r, a, what);
}

#[test]
fn unary_output_dtypes_match_mlx() {
    on_each_device(|_| {
        for line in MLX_UNARY_DTYPES.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let op = unary_by_name(f[0]);
            for (i, &dt) in Dtype::ALL.iter().enumerate() {
                let x = Array::from_slice(&[1.0f32, 0.5], &[2])
                    .unwrap()
                    .astype(dt)
                    .unwrap();
                let r = op(&x).and_then(|r| {
                    r.eval()?;
                    Ok(r)
                });
                match (f[i + 1], r) {
                    ("ERR", Err(_)) => {}
                    ("ERR", Ok(r)) => panic!("{}({dt}) should fail, gave {}", f[0], r.dtype()),
                    (want, Ok(r)) => assert_eq!(r.dtype().name(), want, "{}({dt})", f[0]),
                    (want, Err(e)) => panic!("{}({dt}) should give {want}, failed: {e}", f[0]),
                }
            }
        }
    });
}

/// The input layouts every op is checked on, with the NumPy expression rebuilding each
/// from the inputs `x` (5x6), `r` (1x6), `s` (0-d) and `e` (0x3).
fn layouts(x: &Array, r: &Array, s: &Array, e: &Array) -> Vec<(Array, &'static str)> {
    vec![
        (x.clone(), "x"),
        (ops::transpose(x).unwrap(), "x.T"),
        (
            ops::broadcast_to(r, &[4, 6]).unwrap(),
            "np.broadcast_to(r, (4, 6))",
        ),
        (s.clone(), "s"),
        (e.clone(), "e"),
    ]
}

/// Run every `(op, numpy expression, lo, hi, complex?)` over every dtype and layout.
fn run_value_cases(cases: &[(&str, &str, f64, f64, bool)], dtypes: &[Dtype]) {
    let mut np_cases = Vec::new();
    let mut got = Vec::new();
    let mut inputs = Vec::new();
    for (k, &(_, _, lo, hi, cplx)) in cases.iter().enumerate() {
        for (j, &dt) in dtypes.iter().enumerate() {
            if dt == Dtype::Complex64 && !cplx {
                continue;
            }
            let seed = (k * 31 + j) as u64;
            let (lo, hi) = if dt.is_integer() || dt == Dtype::Bool {
                (lo.ceil(), hi.floor() + 1.0)
            } else {
                (lo, hi)
            };
            let x = rand(&[5, 6], dt, lo, hi, seed);
            let r = rand(&[1, 6], dt, lo, hi, seed + 1000);
            let s = ops::reshape(&rand(&[1], dt, lo, hi, seed + 2000), &[]).unwrap();
            let e = rand(&[0, 3], dt, lo, hi, 0);
            inputs.push((k, dt, x, r, s, e));
        }
    }
    for (k, dt, x, r, s, e) in &inputs {
        let (name, expr, ..) = cases[*k];
        let op = unary_by_name(name);
        let cast = if dt.is_inexact() {
            ""
        } else {
            ".astype(np.float32)"
        };
        let ls = layouts(x, r, s, e);
        let exprs: Vec<String> = ls
            .iter()
            .map(|(_, l)| format!("f(np.asarray({l}){cast})"))
            .collect();
        np_cases.push((
            format!("f = lambda x: {expr}\nout = [{}]", exprs.join(", ")),
            vec![("x", x), ("r", r), ("s", s), ("e", e)],
        ));
        got.push((
            name,
            *dt,
            ls.into_iter()
                .map(|(a, l)| (op(&a).unwrap(), l))
                .collect::<Vec<_>>(),
        ));
    }
    let want = numpy_batch(&np_cases);
    for ((name, dt, outs), w) in got.iter().zip(want) {
        for ((g, l), w) in outs.iter().zip(w) {
            check(g, &w, &format!("{name}({l}) for {dt}"));
        }
    }
}

#[test]
fn float_math_matches_numpy() {
    on_each_device(|_| {
        let cases: &[(&str, &str, f64, f64, bool)] = &[
            ("exp", "np.exp(x)", -5.0, 5.0, true),
            ("expm1", "np.expm1(x)", -2.0, 2.0, false),
            ("log", "np.log(x)", 0.1, 10.0, true),
            ("log1p", "np.log1p(x)", -0.5, 5.0, true),
            ("log2", "np.log2(x)", 0.1, 10.0, true),
            ("log10", "np.log10(x)", 0.1, 10.0, true),
            ("sqrt", "np.sqrt(x)", 0.0, 10.0, true),
            ("rsqrt", "1 / np.sqrt(x)", 0.2, 10.0, true),
            ("reciprocal", "1 / x", 0.5, 5.0, true),
            ("sin", "np.sin(x)", -4.0, 4.0, true),
            ("cos", "np.cos(x)", -4.0, 4.0, true),
            ("tan", "np.tan(x)", -1.2, 1.2, true),
            ("arcsin", "np.arcsin(x)", -0.95, 0.95, true),
            ("arccos", "np.arccos(x)", -0.95, 0.95, true),
            ("arctan", "np.arctan(x)", -5.0, 5.0, true),
            ("sinh", "np.sinh(x)", -3.0, 3.0, true),
            ("cosh", "np.cosh(x)", -3.0, 3.0, true),
            ("tanh", "np.tanh(x)", -3.0, 3.0, true),
            ("arcsinh", "np.arcsinh(x)", -5.0, 5.0, true),
            ("arccosh", "np.arccosh(x)", 1.1, 5.0, true),
            ("arctanh", "np.arctanh(x)", -0.9, 0.9, true),
            ("sigmoid", "1 / (1 + np.exp(-x))", -10.0, 10.0, false),
            ("degrees", "x * (180 / np.pi)", -4.0, 4.0, true),
            ("radians", "x * (np.pi / 180)", -200.0, 200.0, true),
        ];
        let dtypes = [
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Complex64,
            Dtype::Int32,
        ];
        run_value_cases(cases, &dtypes);
        // integer-valued and bool inputs for a few (values in the domain)
        let more: &[(&str, &str, f64, f64, bool)] = &[
            ("exp", "np.exp(x)", 0.0, 5.0, false),
            ("sqrt", "np.sqrt(x)", 0.0, 9.0, false),
            ("sin", "np.sin(x)", -3.0, 3.0, false),
        ];
        run_value_cases(
            more,
            &[
                Dtype::Bool,
                Dtype::Uint8,
                Dtype::Int8,
                Dtype::Int64,
                Dtype::Uint64,
            ],
        );
    });
}

#[test]
fn integer_preserving_ops_match_numpy() {
    on_each_device(|_| {
        let cases: &[(&str, &str, f64, f64, bool)] = &[
            ("abs", "np.abs(x)", -100.0, 100.0, true),
            ("negative", "np.negative(x)", -100.0, 100.0, true),
            ("square", "np.square(x)", -100.0, 100.0, true),
            ("sign", "np.sign(x)", -3.0, 3.0, false),
            ("floor", "np.floor(x)", -5.0, 5.0, false),
            ("ceil", "np.ceil(x)", -5.0, 5.0, false),
            ("round", "np.round(x)", -5.0, 5.0, true),
            ("conj", "np.conj(x)", -5.0, 5.0, true),
            ("real", "np.real(x)", -5.0, 5.0, true),
            ("imag", "np.imag(x)", -5.0, 5.0, true),
        ];
        let mut np_cases = Vec::new();
        let mut got = Vec::new();
        let mut inputs = Vec::new();
        let dtypes = [
            Dtype::Uint8,
            Dtype::Uint16,
            Dtype::Uint32,
            Dtype::Uint64,
            Dtype::Int8,
            Dtype::Int16,
            Dtype::Int32,
            Dtype::Int64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Complex64,
        ];
        for (k, &(_, _, lo, hi, cplx)) in cases.iter().enumerate() {
            for (j, &dt) in dtypes.iter().enumerate() {
                if dt == Dtype::Complex64 && !cplx {
                    continue;
                }
                // unsigned: random values over the full range of the type wrap on negate
                let (lo, hi) = if dt.is_unsigned() {
                    (0.0, 250.0)
                } else {
                    (lo, hi)
                };
                let x = rand(&[7, 5], dt, lo, hi, (k * 17 + j) as u64);
                inputs.push((k, dt, x));
            }
        }
        for (k, dt, x) in &inputs {
            let (name, expr, ..) = cases[*k];
            let op = unary_by_name(name);
            let xt = ops::transpose(x).unwrap();
            np_cases.push((
                format!("f = lambda x: {expr}\nout = [f(x).astype(x.dtype) if x.dtype != np.complex64 or '{name}' not in ('abs', 'real', 'imag') else f(x), f(x.T)]"),
                vec![("x", x)],
            ));
            let (a, b) = (op(x).unwrap(), op(&xt).unwrap());
            // NumPy keeps the dtype for these ops; check ours matches the input dtype
            // (float32 magnitude/parts for complex abs/real/imag).
            let want_dt = if *dt == Dtype::Complex64 && ["abs", "real", "imag"].contains(&name) {
                Dtype::Float32
            } else {
                *dt
            };
            assert_eq!(a.dtype(), want_dt, "{name}({dt}) dtype");
            got.push((name, *dt, a, b));
        }
        let want = numpy_batch(&np_cases);
        for ((name, dt, a, b), w) in got.iter().zip(want) {
            check(a, &w[0], &format!("{name} for {dt}"));
            check(
                b,
                &w[1].astype(b.dtype()).unwrap(),
                &format!("{name} of transposed {dt}"),
            );
        }
        // bool: abs, sign, square, floor, ceil, round, conj, real are the identity
        let b = rand(&[9], Dtype::Bool, 0.0, 1.0, 5);
        for name in [
            "abs", "sign", "square", "floor", "ceil", "round", "conj", "real",
        ] {
            let r = unary_by_name(name)(&b).unwrap();
            assert_eq!(
                r.to_vec::<bool>().unwrap(),
                b.to_vec::<bool>().unwrap(),
                "{name}(bool)"
            );
        }
        assert_eq!(
            ops::imag(&b).unwrap().to_vec::<bool>().unwrap(),
            vec![false; 9]
        );
        // wrapping: abs(int8 -128) == -128 (as MLX and NumPy), negative(uint8 5) == 251
        let i = Array::from_slice(&[-128i8, 127, -1], &[3]).unwrap();
        assert_eq!(
            ops::abs(&i).unwrap().to_vec::<i8>().unwrap(),
            vec![-128, 127, 1]
        );
        assert_eq!(
            ops::negative(&i).unwrap().to_vec::<i8>().unwrap(),
            vec![-128, -127, 1]
        );
        assert_eq!(
            ops::square(&i).unwrap().to_vec::<i8>().unwrap(),
            vec![0, 1, 1]
        );
        let u = Array::from_slice(&[0u8, 5, 250], &[3]).unwrap();
        assert_eq!(
            ops::negative(&u).unwrap().to_vec::<u8>().unwrap(),
            vec![0, 251, 6]
        );
        assert_eq!(
            ops::sign(&u).unwrap().to_vec::<u8>().unwrap(),
            vec![0, 1, 1]
        );
    });
}

#[test]
fn special_values() {
    on_each_device(|_| {
        let nan = f64::NAN;
        let inf = f64::INFINITY;
        let vals = [
            nan, inf, -inf, 0.0, -0.0, 1.5, -2.5, 0.5, 2.5, -0.5, 1e30, -1e-30, 100.0, -100.0,
        ];
        let mut np_cases = Vec::new();
        let mut got = Vec::new();
        let xs: Vec<Array> = [
            Dtype::Float32,
            Dtype::Float64,
            Dtype::Float16,
            Dtype::Bfloat16,
        ]
        .iter()
        .map(|&d| {
            Array::from_slice(&vals, &[vals.len()])
                .unwrap()
                .astype(d)
                .unwrap()
        })
        .collect();
        let preds = [
            ("isnan", "np.isnan(x)"),
            ("isinf", "np.isinf(x)"),
            ("isposinf", "np.isposinf(x)"),
            ("isneginf", "np.isneginf(x)"),
            ("isfinite", "np.isfinite(x)"),
            ("logical_not", "np.logical_not(x)"),
            // MLX: sign(NaN) == 0 (NumPy gives NaN)
            (
                "sign",
                "np.where(np.isnan(x), 0, np.sign(x)).astype(x.dtype)",
            ),
            ("floor", "np.floor(x)"),
            ("ceil", "np.ceil(x)"),
            ("round", "np.round(x)"),
            ("exp", "np.exp(x)"),
            ("expm1", "np.expm1(x)"),
            ("log", "np.log(x)"),
            ("sqrt", "np.sqrt(x)"),
            ("rsqrt", "1 / np.sqrt(x)"),
            ("reciprocal", "1 / x"),
            ("sigmoid", "1 / (1 + np.exp(-x))"),
            ("tanh", "np.tanh(x)"),
            ("abs", "np.abs(x)"),
            ("square", "np.square(x)"),
            ("arctan", "np.arctan(x)"),
        ];
        for x in &xs {
            for (name, expr) in preds {
                np_cases.push((format!("out = {expr}"), vec![("x", x)]));
                got.push((name, x.dtype(), unary_by_name(name)(x).unwrap()));
            }
        }
        // exp across the whole float32 range, including overflow/underflow edges
        let big: Vec<f32> = (0..2001)
            .map(|i| -110.0 + i as f32 * 0.1)
            .chain([88.72, 88.73, -87.5, -103.9])
            .collect();
        let xb = Array::from_slice(&big, &[big.len()]).unwrap();
        np_cases.push(("out = np.exp(x)".into(), vec![("x", &xb)]));
        got.push(("exp", Dtype::Float32, ops::exp(&xb).unwrap()));
        let want = numpy_batch(&np_cases);
        for ((name, dt, g), w) in got.iter().zip(want) {
            if g.dtype() == Dtype::Bool {
                assert_eq!(
                    g.to_vec::<bool>().unwrap(),
                    w[0].to_vec::<bool>().unwrap(),
                    "{name}({dt})"
                );
            } else if *name == "exp" && *dt == Dtype::Float32 && g.size() > 100 {
                // relative accuracy of the vectorised exp, subnormals included
                let (gv, wv) = (g.to_vec::<f64>().unwrap(), w[0].to_vec::<f64>().unwrap());
                for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
                    let ok = if *b == 0.0 || b.is_infinite() {
                        a == b
                    } else {
                        (a - b).abs() <= 4e-7 * b.abs() + 1e-44
                    };
                    assert!(ok, "exp({}) = {a}, want {b}", big[i]);
                }
            } else {
                check(g, &w[0], &format!("{name}({dt}) on special values"));
            }
        }
        // complex predicates (MLX: either part for isnan/isinf; isposinf/isneginf look at
        // the real part)
        let c = Array::from_slice(
            &[
                mlxr::Complex32::new(f32::NAN, 0.0),
                mlxr::Complex32::new(0.0, f32::INFINITY),
                mlxr::Complex32::new(f32::INFINITY, 1.0),
                mlxr::Complex32::new(1.0, 2.0),
                mlxr::Complex32::new(0.0, 0.0),
            ],
            &[5],
        )
        .unwrap();
        let b = |a: mlxr::Result<Array>| a.unwrap().to_vec::<bool>().unwrap();
        assert_eq!(b(ops::isnan(&c)), vec![true, false, false, false, false]);
        assert_eq!(b(ops::isinf(&c)), vec![false, true, true, false, false]);
        assert_eq!(b(ops::isfinite(&c)), vec![false, false, false, true, true]);
        assert_eq!(b(ops::isposinf(&c)), vec![false, false, true, false, false]);
        assert_eq!(
            b(ops::logical_not(&c)),
            vec![false, false, false, false, true]
        );
        // integer predicates
        let i = Array::from_slice(&[0i32, -3, 7], &[3]).unwrap();
        assert_eq!(b(ops::isnan(&i)), vec![false; 3]);
        assert_eq!(b(ops::isinf(&i)), vec![false; 3]);
        assert_eq!(b(ops::isfinite(&i)), vec![true; 3]);
        assert_eq!(b(ops::logical_not(&i)), vec![true, false, false]);
        // MLX: sign of complex is x / |x|, 0 at 0
        let s = ops::sign(&c).unwrap().to_vec::<mlxr::Complex32>().unwrap();
        assert!(
            (s[3].re - 1.0 / 5f32.sqrt()).abs() < 1e-6
                && (s[3].im - 2.0 / 5f32.sqrt()).abs() < 1e-6
        );
        assert_eq!(s[4], mlxr::Complex32::new(0.0, 0.0));
    });
}

#[test]
fn erf_and_erfinv_match_mpmath() {
    on_each_device(|_| {
        let xs: Vec<f64> = (0..41)
            .map(|i| -4.0 + i as f64 * 0.2)
            .chain([0.0, 1e-8, -1e-300, 6.0, -30.0])
            .collect();
        let ps: Vec<f64> = (0..99)
            .map(|i| -0.98 + i as f64 * 0.02)
            .chain([
                0.0,
                1e-10,
                -0.5,
                0.999999,
                -0.999999999,
                1.0 - 1e-15,
                0.9999999999999999,
            ])
            .collect();
        let x64 = Array::from_slice(&xs, &[xs.len()]).unwrap();
        let p64 = Array::from_slice(&ps, &[ps.len()]).unwrap();
        let code_erf = "import mpmath\nmpmath.mp.dps = 40\nout = np.array([float(mpmath.erf(mpmath.mpf(float(v)))) for v in x])";
        let code_inv = "import mpmath\nmpmath.mp.dps = 40\nout = np.array([float(mpmath.erfinv(mpmath.mpf(float(v)))) for v in x])";
        let mut cases = vec![
            (code_erf.to_string(), vec![("x", &x64)]),
            (code_inv.to_string(), vec![("x", &p64)]),
        ];
        let x32 = x64.astype(Dtype::Float32).unwrap();
        let p32 = p64.astype(Dtype::Float32).unwrap();
        let x16 = x64.astype(Dtype::Float16).unwrap();
        let p16 = p64.astype(Dtype::Bfloat16).unwrap();
        for x in [&x32, &x16] {
            cases.push((code_erf.to_string(), vec![("x", x)]));
        }
        for p in [&p32, &p16] {
            cases.push((code_inv.to_string(), vec![("x", p)]));
        }
        let want = numpy_batch(&cases);
        assert_close(
            &ops::erf(&x64).unwrap(),
            &want[0][0],
            1e-14,
            1e-300,
            "erf f64",
        );
        assert_close(
            &ops::erfinv(&p64).unwrap(),
            &want[1][0],
            1e-13,
            1e-300,
            "erfinv f64",
        );
        check(&ops::erf(&x32).unwrap(), &want[2][0], "erf f32");
        check(&ops::erf(&x16).unwrap(), &want[3][0], "erf f16");
        assert_close(
            &ops::erfinv(&p32).unwrap(),
            &want[4][0],
            2e-6,
            1e-30,
            "erfinv f32",
        );
        check(&ops::erfinv(&p16).unwrap(), &want[5][0], "erfinv bf16");
        // edges: ±inf at ±1, NaN outside, int input → float32
        let e = Array::from_slice(&[1.0f32, -1.0, 1.5, -2.0, f32::NAN], &[5]).unwrap();
        let r = ops::erfinv(&e).unwrap().to_vec::<f32>().unwrap();
        assert_eq!(&r[..2], &[f32::INFINITY, f32::NEG_INFINITY]);
        assert!(r[2..].iter().all(|v| v.is_nan()));
        let i = Array::from_slice(&[0i32, 1], &[2]).unwrap();
        assert_eq!(
            ops::erfinv(&i).unwrap().to_vec::<f32>().unwrap(),
            vec![0.0, f32::INFINITY]
        );
    });
}

#[test]
fn round_with_decimals_and_nan_to_num() {
    on_each_device(|_| {
        let f = Array::from_slice(
            &[1.25f32, 2.35, -1.25, 125.0, 0.5, 1.5, 2.5, -2.5, 1234.5678],
            &[9],
        )
        .unwrap();
        let f64a = f.astype(Dtype::Float64).unwrap();
        let h = f.astype(Dtype::Float16).unwrap();
        let i = Array::from_slice(&[-35i32, 0, 5, 15, 25, 1250, 1350], &[7]).unwrap();
        let want = numpy_batch(&[
            (
                "out = [np.round(f, 1), np.round(f, 2), np.round(f, -1), np.round(f, 0)]".into(),
                vec![("f", &f)],
            ),
            (
                "out = [np.round(f, 1), np.round(f, 3), np.round(f, -2)]".into(),
                vec![("f", &f64a)],
            ),
            ("out = [np.round(h, 1)]".into(), vec![("h", &h)]),
        ]);
        check(&ops::round(&f, 1).unwrap(), &want[0][0], "round(f32, 1)");
        check(&ops::round(&f, 2).unwrap(), &want[0][1], "round(f32, 2)");
        check(&ops::round(&f, -1).unwrap(), &want[0][2], "round(f32, -1)");
        check(&f.round(0).unwrap(), &want[0][3], "round(f32, 0)");
        check(&ops::round(&f64a, 1).unwrap(), &want[1][0], "round(f64, 1)");
        check(&ops::round(&f64a, 3).unwrap(), &want[1][1], "round(f64, 3)");
        check(
            &ops::round(&f64a, -2).unwrap(),
            &want[1][2],
            "round(f64, -2)",
        );
        check(&ops::round(&h, 1).unwrap(), &want[2][0], "round(f16, 1)");
        // integers: unchanged for decimals >= 0, rounded (half to even) to tens for -1
        // (MLX: round(int32 [-35, 0, 5, 15, 25], -1) scales by 0.1 in float32)
        assert_eq!(
            ops::round(&i, 2).unwrap().to_vec::<i32>().unwrap(),
            i.to_vec::<i32>().unwrap()
        );
        let r = ops::round(&i, -1).unwrap();
        assert_eq!(r.dtype(), Dtype::Int32);
        assert_eq!(
            r.to_vec::<i32>().unwrap(),
            vec![-40, 0, 0, 20, 20, 1250, 1350]
        );
        assert_eq!(
            ops::round(&i, -2).unwrap().to_vec::<i32>().unwrap(),
            vec![0, 0, 0, 0, 0, 1200, 1400]
        );
        // complex: both parts
        let c = Array::from_slice(
            &[
                mlxr::Complex32::new(1.55, 2.45),
                mlxr::Complex32::new(2.5, -0.5),
            ],
            &[2],
        )
        .unwrap();
        let rc = ops::round(&c, 0)
            .unwrap()
            .to_vec::<mlxr::Complex32>()
            .unwrap();
        assert_eq!(
            rc,
            vec![
                mlxr::Complex32::new(2.0, 2.0),
                mlxr::Complex32::new(2.0, -0.0)
            ]
        );

        // nan_to_num
        let v = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5, -0.0];
        for dt in [
            Dtype::Float32,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float64,
        ] {
            let x = Array::from_slice(&v, &[5]).unwrap().astype(dt).unwrap();
            let r = ops::nan_to_num(&x, 0.0, None, None).unwrap();
            assert_eq!(r.dtype(), dt);
            let max = match dt {
                Dtype::Float16 => 65504.0,
                Dtype::Bfloat16 => mlxr::bf16::MAX.to_f64(),
                Dtype::Float32 => f32::MAX as f64,
                _ => f64::MAX,
            };
            assert_eq!(
                r.to_vec::<f64>().unwrap(),
                vec![0.0, max, -max, 1.5, 0.0],
                "{dt}"
            );
            let r = ops::nan_to_num(&x, 1.0, Some(2.0), Some(-3.0)).unwrap();
            assert_eq!(
                r.to_vec::<f64>().unwrap(),
                vec![1.0, 2.0, -3.0, 1.5, 0.0],
                "{dt}"
            );
        }
        assert_eq!(
            ops::nan_to_num(&i, 0.0, None, None)
                .unwrap()
                .to_vec::<i32>()
                .unwrap(),
            i.to_vec::<i32>().unwrap()
        );
        assert!(ops::nan_to_num(&c, 0.0, None, None).is_err());
    });
}

#[test]
fn bitwise_invert_logical_not_and_stop_gradient() {
    on_each_device(|_| {
        let xs: Vec<Array> = [
            Dtype::Uint8,
            Dtype::Uint16,
            Dtype::Uint32,
            Dtype::Uint64,
            Dtype::Int8,
            Dtype::Int16,
            Dtype::Int32,
            Dtype::Int64,
            Dtype::Bool,
        ]
        .iter()
        .enumerate()
        .map(|(k, &d)| rand(&[4, 5], d, -100.0, 100.0, k as u64).astype(d).unwrap())
        .collect();
        let cases: Vec<_> = xs
            .iter()
            .map(|x| {
                (
                    "out = [np.invert(x), np.logical_not(x), np.invert(x.T)]".to_string(),
                    vec![("x", x)],
                )
            })
            .collect();
        let want = numpy_batch(&cases);
        for (x, w) in xs.iter().zip(want) {
            assert_matches(
                &ops::bitwise_invert(x).unwrap(),
                &w[0],
                &format!("bitwise_invert {}", x.dtype()),
            );
            assert_matches(
                &ops::logical_not(x).unwrap(),
                &w[1],
                &format!("logical_not {}", x.dtype()),
            );
            let t = ops::transpose(x).unwrap();
            assert_matches(
                &ops::bitwise_invert(&t).unwrap(),
                &w[2],
                &format!("bitwise_invert T {}", x.dtype()),
            );
        }
        let f = rand(&[3], Dtype::Float32, -1.0, 1.0, 1);
        let sg = ops::stop_gradient(&f).unwrap();
        assert_eq!(sg.to_vec::<f32>().unwrap(), f.to_vec::<f32>().unwrap());
        assert_eq!(sg.primitive().map(|p| p.name()), None, "evaluated");
    });
}

#[test]
fn large_inputs_parallel_and_donation() {
    on_each_device(|_| {
        let n = 100_003;
        let x = rand(&[n], Dtype::Float32, -20.0, 20.0, 42);
        let x2 = rand(&[317, 331], Dtype::Float32, -3.0, 3.0, 43);
        // donation: the intermediate (x + 1) is consumed only by exp, which reuses it
        let d = ops::exp(&ops::add(&x, 1.0).unwrap()).unwrap();
        let t = ops::sin(&ops::transpose(&x2).unwrap()).unwrap();
        let sub = ops::sigmoid(&x).unwrap();
        let h = ops::exp(&x2.astype(Dtype::Float16).unwrap()).unwrap();
        let want = numpy_batch(&[
            (
                "out = [np.exp(x + np.float32(1)), 1 / (1 + np.exp(-x))]".into(),
                vec![("x", &x)],
            ),
            (
                "out = [np.sin(y.T), np.exp(y.astype(np.float16))]".into(),
                vec![("y", &x2)],
            ),
        ]);
        check(&d, &want[0][0], "exp(x + 1) large");
        check(&sub, &want[0][1], "sigmoid large");
        check(&t, &want[1][0], "sin of transposed large");
        check(&h, &want[1][1], "exp f16 large");
        // the input of a donated op is unchanged when the user still holds it
        let before = x.to_vec::<f32>().unwrap();
        let _ = ops::negative(&x).unwrap().eval();
        assert_eq!(x.to_vec::<f32>().unwrap(), before);
    });
}

#[test]
fn bad_inputs_are_errors() {
    on_each_device(|_| {
        let f = Array::from_slice(&[1.0f32], &[1]).unwrap();
        let c = Array::from_slice(&[mlxr::Complex32::new(1.0, 1.0)], &[1]).unwrap();
        let b = Array::from_slice(&[true], &[1]).unwrap();
        let e = ops::bitwise_invert(&f).unwrap_err();
        assert!(e.to_string().contains("bitwise_invert"), "{e}");
        assert!(ops::negative(&b)
            .unwrap_err()
            .to_string()
            .contains("logical_not"));
        for (name, r) in [
            ("erfinv", ops::erfinv(&c)),
            ("erf", ops::erf(&c)),
            ("expm1", ops::expm1(&c)),
            ("sigmoid", ops::sigmoid(&c)),
            ("floor", ops::floor(&c)),
            ("ceil", ops::ceil(&c)),
        ] {
            let e = r.unwrap_err();
            assert!(
                e.to_string().contains(name) && e.to_string().contains("complex64"),
                "{e}"
            );
        }
    });
}

/// A view of `base` (1-D) with the given shape, strides and offset, sharing its storage
/// (step and negative-stride slices, before slicing ops exist).
pub fn strided_view(base: &Array, shape: &[usize], strides: &[isize], offset: usize) -> Array {
    let d = base.data().unwrap();
    let v = mlxr::Data::with_layout(d.storage.clone(), shape, strides.to_vec(), offset, None);
    Array::from_data(v, shape.to_vec(), base.dtype(), base.stream())
}

#[test]
fn step_and_negative_stride_views() {
    on_each_device(|_| {
        let n = 80_000;
        let base = rand(&[2 * n], Dtype::Float32, -3.0, 3.0, 77);
        let step = strided_view(&base, &[n], &[2], 1); // base[1::2]
        let rev = strided_view(&base, &[n], &[-2], 2 * n - 2); // base[-2::-2]
        let small = strided_view(&base, &[3, 4], &[-8, 3], 40); // 2-d, negative row stride
        let got = [
            ops::exp(&step).unwrap(),
            ops::exp(&rev).unwrap(),
            ops::add(&step, &rev).unwrap(),
            ops::multiply(&rev, 2.0).unwrap(),
            ops::r#where(ops::greater(&rev, 0.0).unwrap(), &step, 0.0).unwrap(),
            ops::square(&small).unwrap(),
            ops::subtract(
                &small,
                ops::transpose(&strided_view(&base, &[4, 3], &[5, -1], 30)).unwrap(),
            )
            .unwrap(),
        ];
        let want = numpy(
            "s = b[1::2]; r = b[-2::-2]; m = np.lib.stride_tricks.as_strided(b[40:], (3, 4), (-32, 12)); \
             m2 = np.lib.stride_tricks.as_strided(b[30:], (4, 3), (20, -4))\n\
             out = [np.exp(s), np.exp(r), s + r, r * np.float32(2), np.where(r > 0, s, np.float32(0)), np.square(m), m - m2.T]",
            &[("b", &base)],
        );
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_matches(g, w, &format!("strided view case {k}"));
        }
    });
}
