//! Binary elementwise ops: output dtypes against MLX's table, values against NumPy over
//! every dtype and layout (contiguous, transposed, broadcast, scalar, 0-d, empty), Python
//! division semantics and integer edge cases, weak-scalar promotion, operators, errors.

use crate::common::*;
use mlxr::ops::{self, ToOperand};
use mlxr::{Array, Complex32, Dtype};

/// Output dtype of `op(a, a)` for `a` of each dtype (columns follow `Dtype::ALL`),
/// printed by MLX 0.32.4; ERR where MLX raises.
const MLX_BINARY_DTYPES: &str = "\
add bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
subtract bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
multiply bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
divide float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
floor_divide bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
remainder bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 ERR
power bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
maximum bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
minimum bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64
arctan2 float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 ERR
logaddexp float32 float32 float32 float32 float32 float32 float32 float32 float32 float16 bfloat16 float32 float64 complex64
equal bool bool bool bool bool bool bool bool bool bool bool bool bool bool
not_equal bool bool bool bool bool bool bool bool bool bool bool bool bool bool
less bool bool bool bool bool bool bool bool bool bool bool bool bool bool
less_equal bool bool bool bool bool bool bool bool bool bool bool bool bool bool
greater bool bool bool bool bool bool bool bool bool bool bool bool bool bool
greater_equal bool bool bool bool bool bool bool bool bool bool bool bool bool bool
logical_and bool bool bool bool bool bool bool bool bool bool bool bool bool bool
logical_or bool bool bool bool bool bool bool bool bool bool bool bool bool bool
logical_xor bool bool bool bool bool bool bool bool bool bool bool bool bool bool
bitwise_and bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
bitwise_or bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
bitwise_xor bool uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
left_shift uint8 uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
right_shift uint8 uint8 uint16 uint32 uint64 int8 int16 int32 int64 ERR ERR ERR ERR ERR
";

type BinFn = fn(&Array, &Array) -> mlxr::Result<Array>;

fn binary_by_name(name: &str) -> BinFn {
    match name {
        "add" => |a, b| ops::add(a, b),
        "subtract" => |a, b| ops::subtract(a, b),
        "multiply" => |a, b| ops::multiply(a, b),
        "divide" => |a, b| ops::divide(a, b),
        "floor_divide" => |a, b| ops::floor_divide(a, b),
        "remainder" => |a, b| ops::remainder(a, b),
        "power" => |a, b| ops::power(a, b),
        "maximum" => |a, b| ops::maximum(a, b),
        "minimum" => |a, b| ops::minimum(a, b),
        "arctan2" => |a, b| ops::arctan2(a, b),
        "logaddexp" => |a, b| ops::logaddexp(a, b),
        "equal" => |a, b| ops::equal(a, b),
        "not_equal" => |a, b| ops::not_equal(a, b),
        "less" => |a, b| ops::less(a, b),
        "less_equal" => |a, b| ops::less_equal(a, b),
        "greater" => |a, b| ops::greater(a, b),
        "greater_equal" => |a, b| ops::greater_equal(a, b),
        "logical_and" => |a, b| ops::logical_and(a, b),
        "logical_or" => |a, b| ops::logical_or(a, b),
        "logical_xor" => |a, b| ops::logical_xor(a, b),
        "bitwise_and" => |a, b| ops::bitwise_and(a, b),
        "bitwise_or" => |a, b| ops::bitwise_or(a, b),
        "bitwise_xor" => |a, b| ops::bitwise_xor(a, b),
        "left_shift" => |a, b| ops::left_shift(a, b),
        "right_shift" => |a, b| ops::right_shift(a, b),
        "divmod_q" => |a, b| Ok(ops::divmod(a, b)?.0),
        "divmod_r" => |a, b| Ok(ops::divmod(a, b)?.1),
        _ => panic!("unknown op {name}"),
    }
}

/// Compare with the tolerance of `got`'s dtype; complex results get an absolute
/// tolerance scaled by the largest magnitude (a small component of a large complex
/// number carries the error of the whole).
fn check(got: &Array, want: &Array, what: &str) {
    let (r, mut a) = tol(got.dtype());
    if got.dtype() == Dtype::Complex64 {
        let m = want
            .to_vec::<Complex32>()
            .unwrap()
            .iter()
            .filter(|z| z.norm().is_finite())
            .fold(0f32, |m, z| m.max(z.norm()));
        a = a.max(r * m as f64);
    }
    assert_close(got, want, r, a, what);
}

#[test]
fn binary_output_dtypes_match_mlx() {
    on_each_device(|_| {
        for line in MLX_BINARY_DTYPES.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let op = binary_by_name(f[0]);
            for (i, &dt) in Dtype::ALL.iter().enumerate() {
                let x = Array::from_slice(&[1.0f32, 2.0], &[2])
                    .unwrap()
                    .astype(dt)
                    .unwrap();
                let r = op(&x, &x).and_then(|r| {
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

/// `(op, NumPy reference as a function of x and y, value range)`. References differ from
/// NumPy's own function where MLX does: integer `x % 0 == x`, integer powers with negative
/// exponents are 0, float floor division is `floor(x / y)`, bool subtract is xor, complex
/// floor division is division and complex logaddexp is `hi + log1p(exp(lo - hi))` with the
/// lexicographic larger `hi` (MLX's branch of the logarithm, not NumPy-style principal).
const CASES: &[(&str, &str, f64, f64)] = &[
    ("add", "x + y", -50.0, 50.0),
    ("subtract", "(x ^ y) if x.dtype == np.bool_ else x - y", -50.0, 50.0),
    ("multiply", "x * y", -20.0, 20.0),
    ("divide", "(x.astype(np.float64) / y).astype(np.float32) if x.dtype.kind in 'biu' else x / y", -20.0, 20.0),
    ("floor_divide", "(x / y) if x.dtype.kind == 'c' else np.floor(x / y).astype(x.dtype) if x.dtype.kind == 'f' else np.floor_divide(x, y).astype(x.dtype)", -20.0, 20.0),
    ("remainder", "np.where(y == 0, x, np.remainder(x, np.where(y == 0, 1, y))).astype(x.dtype) if x.dtype.kind in 'biu' else np.remainder(x, y)", -20.0, 20.0),
    ("power", "np.where(y < 0, 0, np.power(x, np.where(y < 0, 0, y))).astype(x.dtype) if x.dtype.kind in 'biu' else np.power(x, y)", -3.0, 4.0),
    ("maximum", "np.maximum(x, y)", -50.0, 50.0),
    ("minimum", "np.minimum(x, y)", -50.0, 50.0),
    ("arctan2", "np.arctan2(x.astype(np.float32) if x.dtype.kind in 'biu' else x, y.astype(np.float32) if y.dtype.kind in 'biu' else y)", -5.0, 5.0),
    ("logaddexp", "(lambda g: np.where(g, x, y) + np.log1p(np.exp(np.where(g, y, x) - np.where(g, x, y))))((x.real > y.real) | ((x.real == y.real) & (x.imag > y.imag))) if x.dtype.kind == 'c' else np.logaddexp(x.astype(np.float32) if x.dtype.kind in 'biu' else x, y.astype(np.float32) if y.dtype.kind in 'biu' else y)", -5.0, 5.0),
    ("equal", "x == y", -3.0, 3.0),
    ("not_equal", "x != y", -3.0, 3.0),
    ("less", "x < y", -3.0, 3.0),
    ("less_equal", "x <= y", -3.0, 3.0),
    ("greater", "x > y", -3.0, 3.0),
    ("greater_equal", "x >= y", -3.0, 3.0),
    ("logical_and", "np.logical_and(x, y)", -2.0, 2.0),
    ("logical_or", "np.logical_or(x, y)", -2.0, 2.0),
    ("logical_xor", "np.logical_xor(x, y)", -2.0, 2.0),
    ("bitwise_and", "x & y", -100.0, 100.0),
    ("bitwise_or", "x | y", -100.0, 100.0),
    ("bitwise_xor", "x ^ y", -100.0, 100.0),
    ("left_shift", "np.left_shift(x.astype(np.uint8), y.astype(np.uint8)) if x.dtype == np.bool_ else np.left_shift(x, y)", 0.0, 12.0),
    ("right_shift", "np.right_shift(x.astype(np.uint8), y.astype(np.uint8)) if x.dtype == np.bool_ else np.right_shift(x, y)", 0.0, 12.0),
    ("divmod_q", "(x & y) if x.dtype == np.bool_ else np.floor(x / y).astype(x.dtype) if x.dtype.kind == 'f' else np.floor_divide(x, y).astype(x.dtype)", -20.0, 20.0),
    ("divmod_r", "(x & ~y) if x.dtype == np.bool_ else np.where(y == 0, x, np.remainder(x, np.where(y == 0, 1, y))).astype(x.dtype) if x.dtype.kind in 'iu' else np.remainder(x, y)", -20.0, 20.0),
];

fn supported(op: &str, dt: Dtype) -> bool {
    let table = MLX_BINARY_DTYPES.lines().find(|l| {
        l.split_whitespace().next()
            == Some(
                op.trim_end_matches("_q")
                    .trim_end_matches("_r")
                    .replace("divmod", "remainder")
                    .as_str(),
            )
    });
    let f: Vec<&str> = table.unwrap().split_whitespace().collect();
    let i = Dtype::ALL.iter().position(|&d| d == dt).unwrap();
    f[i + 1] != "ERR"
}

/// Input pairs in several layouts: `(x, y, numpy expression for x, for y)` built from
/// the NumPy inputs `a` (5x6), `b` (5x6), `r` (1x6), `c` (5x1), `s` (0-d), `e` (0x6).
fn layouts<'a>(
    a: &'a Array,
    b: &'a Array,
    r: &'a Array,
    c: &'a Array,
    s: &'a Array,
    e: &'a Array,
) -> Vec<(Array, Array, &'static str, &'static str)> {
    let t = |x: &Array| ops::transpose(x).unwrap();
    vec![
        (a.clone(), b.clone(), "a", "b"),
        (t(a), t(b), "a.T", "b.T"), // same dense non-row layout
        (
            t(a),
            ops::reshape(b, &[6, 5]).unwrap(),
            "a.T",
            "b.reshape(6, 5)",
        ), // mixed strides
        (a.clone(), r.clone(), "a", "r"), // row broadcast
        (c.clone(), r.clone(), "c", "r"), // outer broadcast
        (s.clone(), b.clone(), "s", "b"), // 0-d with array
        (a.clone(), s.clone(), "a", "s"),
        (s.clone(), s.clone(), "s", "s"), // 0-d result
        (e.clone(), r.clone(), "e", "r"), // empty
    ]
}

#[test]
fn binary_ops_match_numpy_on_every_dtype_and_layout() {
    on_each_device(|_| {
        let dtypes = [
            Dtype::Bool,
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
        let mut inputs = Vec::new();
        for (k, &(op, _, lo, hi)) in CASES.iter().enumerate() {
            for (j, &dt) in dtypes.iter().enumerate() {
                if !supported(op, dt) {
                    continue;
                }
                // unsigned inputs stay in range; shifts use non-negative counts
                let (lo, hi) = if dt.is_unsigned() {
                    (0.0, hi.max(4.0))
                } else {
                    (lo, hi)
                };
                let seed = (k * 100 + j) as u64;
                let g = |shape: &[usize], s: u64| rand(shape, dt, lo, hi, seed * 7 + s);
                let s = ops::reshape(&g(&[1], 5), &[]).unwrap();
                inputs.push((
                    op,
                    dt,
                    g(&[5, 6], 1),
                    g(&[5, 6], 2),
                    g(&[1, 6], 3),
                    g(&[5, 1], 4),
                    s,
                    g(&[0, 6], 6),
                ));
            }
        }
        let mut cases = Vec::new();
        let mut got = Vec::new();
        for (op, dt, a, b, r, c, s, e) in &inputs {
            let expr = CASES.iter().find(|c| c.0 == *op).unwrap().1;
            let f = binary_by_name(op);
            let ls = layouts(a, b, r, c, s, e);
            let exprs: Vec<String> = ls
                .iter()
                .map(|(_, _, x, y)| format!("f(np.asarray({x}), np.asarray({y}))"))
                .collect();
            cases.push((
                format!(
                    "f = lambda x, y: np.asarray({expr})\nout = [{}]",
                    exprs.join(", ")
                ),
                vec![("a", a), ("b", b), ("r", r), ("c", c), ("s", s), ("e", e)],
            ));
            let outs: Vec<(Array, String)> = ls
                .iter()
                .map(|(x, y, ex, ey)| (f(x, y).unwrap(), format!("{op}({ex}, {ey}) for {dt}")))
                .collect();
            got.push(outs);
        }
        let want = numpy_batch(&cases);
        for (outs, w) in got.iter().zip(want) {
            for ((g, what), w) in outs.iter().zip(w) {
                assert_eq!(g.shape(), w.shape(), "{what}");
                if g.dtype() == Dtype::Bool || g.dtype().is_integer() {
                    assert_eq!(
                        g.to_vec::<i64>().unwrap(),
                        w.to_vec::<i64>().unwrap(),
                        "{what}\n got {g}\nwant {w}"
                    );
                } else {
                    check(g, &w, what);
                }
            }
        }
    });
}

#[test]
fn division_and_integer_edge_cases() {
    on_each_device(|_| {
        let i = Array::from_slice(&[7i32, -7, 7, -7, 0, 5, -5, i32::MIN, i32::MIN], &[9]).unwrap();
        let j = Array::from_slice(&[2i32, 2, -2, -2, 0, 0, 0, -1, 1], &[9]).unwrap();
        let v = |a: mlxr::Result<Array>| a.unwrap().to_vec::<i64>().unwrap();
        // Python rounding; MLX: x // 0 == 0 and x % 0 == x; MIN // -1 wraps to MIN
        assert_eq!(
            v(ops::floor_divide(&i, &j)),
            vec![3, -4, -4, 3, 0, 0, 0, i32::MIN as i64, i32::MIN as i64]
        );
        assert_eq!(
            v(ops::remainder(&i, &j)),
            vec![1, 1, -1, -1, 0, 5, -5, 0, 0]
        );
        let (q, r) = ops::divmod(&i, &j).unwrap();
        assert_eq!(
            v(Ok(q)),
            vec![3, -4, -4, 3, 0, 0, 0, i32::MIN as i64, i32::MIN as i64]
        );
        assert_eq!(v(Ok(r)), vec![1, 1, -1, -1, 0, 5, -5, 0, 0]);
        // unsigned
        let u = Array::from_slice(&[7u8, 0, 5, 255], &[4]).unwrap();
        let w = Array::from_slice(&[2u8, 0, 0, 2], &[4]).unwrap();
        assert_eq!(v(ops::floor_divide(&u, &w)), vec![3, 0, 0, 127]);
        assert_eq!(v(ops::remainder(&u, &w)), vec![1, 0, 5, 1]);
        // int8 overflow wraps
        let a = Array::from_slice(&[127i8, -128, 100], &[3]).unwrap();
        assert_eq!(v(ops::add(&a, 1)), vec![-128, -127, 101]);
        assert_eq!(v(ops::multiply(&a, 2)), vec![-2, 0, -56]);
        assert_eq!(v(ops::subtract(&a, -1)), vec![-128, -127, 101]);
        // true division of ints is float32; by zero gives inf/nan
        let d = ops::divide(&i, &j).unwrap();
        assert_eq!(d.dtype(), Dtype::Float32);
        let dv = d.to_vec::<f32>().unwrap();
        assert_eq!(&dv[..4], &[3.5, -3.5, -3.5, 3.5]);
        assert!(dv[4].is_nan() && dv[5] == f32::INFINITY && dv[6] == f32::NEG_INFINITY);
        // integer power: wraps, 0 for negative exponents (MLX), 0**0 == 1
        let p = Array::from_slice(&[2i32, -1, 1, 0, 3, 0, 2, 3, -2], &[9]).unwrap();
        let e = Array::from_slice(&[-1i32, -1, -2, -1, -3, 0, 31, 40, 3], &[9]).unwrap();
        assert_eq!(
            v(ops::power(&p, &e)),
            vec![0, 0, 0, 0, 0, 1, i32::MIN as i64, 689956897, -8]
        );
        // float remainder has the divisor's sign; floor division is floor(x / y)
        let nan = f32::NAN;
        let inf = f32::INFINITY;
        let x = Array::from_slice(
            &[7.5f32, -7.5, 7.5, -7.5, 5.0, nan, inf, 1.0, -1.0, -6.0],
            &[10],
        )
        .unwrap();
        let y = Array::from_slice(
            &[2.0f32, 2.0, -2.0, -2.0, 0.0, 1.0, 2.0, inf, inf, 3.0],
            &[10],
        )
        .unwrap();
        let want = numpy(
            "out = [np.remainder(x, y), np.floor(x / y)]",
            &[("x", &x), ("y", &y)],
        );
        check(
            &ops::remainder(&x, &y).unwrap(),
            &want[0],
            "float remainder",
        );
        check(
            &ops::floor_divide(&x, &y).unwrap(),
            &want[1],
            "float floor_divide",
        );
        // maximum/minimum propagate NaN from either side
        let m1 = Array::from_slice(&[1.0f32, nan, nan], &[3]).unwrap();
        let m2 = Array::from_slice(&[nan, 1.0, nan], &[3]).unwrap();
        assert!(ops::maximum(&m1, &m2)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .all(|v| v.is_nan()));
        assert!(ops::minimum(&m1, &m2)
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .all(|v| v.is_nan()));
        // NaN is not equal to itself
        assert_eq!(
            ops::equal(&m1, &m1).unwrap().to_vec::<bool>().unwrap(),
            vec![true, false, false]
        );
        assert_eq!(
            ops::not_equal(&m1, &m1).unwrap().to_vec::<bool>().unwrap(),
            vec![false, true, true]
        );
        // logaddexp with infinities
        let la = Array::from_slice(&[f32::NEG_INFINITY, inf, nan, 1.0, f32::NEG_INFINITY], &[5])
            .unwrap();
        let lb = Array::from_slice(&[f32::NEG_INFINITY, inf, 1.0, 2.0, 3.0], &[5]).unwrap();
        let want = numpy1("out = np.logaddexp(x, y)", &[("x", &la), ("y", &lb)]);
        check(
            &ops::logaddexp(&la, &lb).unwrap(),
            &want,
            "logaddexp infinities",
        );
        // shifts: out-of-range counts give 0 / sign fill (as NumPy)
        let s = Array::from_slice(&[1i32, -8, 1, 16, -8], &[5]).unwrap();
        let c = Array::from_slice(&[33i32, 1, -1, 31, 40], &[5]).unwrap();
        assert_eq!(v(ops::left_shift(&s, &c)), vec![0, -16, 0, 0, 0]);
        assert_eq!(v(ops::right_shift(&s, &c)), vec![0, -4, 0, 0, -1]);
        let b8 = Array::from_slice(&[1i8, 1], &[2]).unwrap();
        assert_eq!(
            v(ops::left_shift(
                &b8,
                Array::from_slice(&[7i8, 8], &[2]).unwrap()
            )),
            vec![-128, 0]
        );
        // complex comparisons are lexicographic (as MLX and NumPy)
        let ca = Array::from_slice(
            &[
                Complex32::new(1.0, 2.0),
                Complex32::new(3.0, 0.0),
                Complex32::new(1.0, 0.0),
            ],
            &[3],
        )
        .unwrap();
        let cb = Array::from_slice(
            &[
                Complex32::new(1.0, 3.0),
                Complex32::new(2.0, 9.0),
                Complex32::new(1.0, 0.0),
            ],
            &[3],
        )
        .unwrap();
        let bv = |a: mlxr::Result<Array>| a.unwrap().to_vec::<bool>().unwrap();
        assert_eq!(bv(ops::less(&ca, &cb)), vec![true, false, false]);
        assert_eq!(bv(ops::greater_equal(&ca, &cb)), vec![false, true, true]);
        let mx = ops::maximum(&ca, &cb)
            .unwrap()
            .to_vec::<Complex32>()
            .unwrap();
        assert_eq!(
            mx,
            vec![
                Complex32::new(1.0, 3.0),
                Complex32::new(3.0, 0.0),
                Complex32::new(1.0, 0.0)
            ]
        );
        // complex division by zero gives infinities (as MLX)
        let z = ops::divide(&ca, Complex32::new(0.0, 0.0))
            .unwrap()
            .to_vec::<Complex32>()
            .unwrap();
        assert!(z[0].re.is_infinite() && z[0].im.is_infinite());
    });
}

#[test]
fn weak_scalar_promotion() {
    on_each_device(|_| {
        let h = rand(&[3], Dtype::Float16, -1.0, 1.0, 1);
        let bf = rand(&[3], Dtype::Bfloat16, -1.0, 1.0, 2);
        let i = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
        let i8a = Array::from_slice(&[1i8, 2, 3], &[3]).unwrap();
        let u8a = Array::from_slice(&[1u8, 2, 3], &[3]).unwrap();
        let b = Array::from_slice(&[true, false, true], &[3]).unwrap();
        assert_eq!(ops::multiply(&h, 2.0).unwrap().dtype(), Dtype::Float16);
        assert_eq!(ops::multiply(2.0, &h).unwrap().dtype(), Dtype::Float16);
        assert_eq!(ops::add(&bf, 1).unwrap().dtype(), Dtype::Bfloat16);
        assert_eq!(ops::add(&i, 2.5).unwrap().dtype(), Dtype::Float32);
        assert_eq!(
            ops::add(&i, 2.5).unwrap().to_vec::<f32>().unwrap(),
            vec![3.5, 4.5, 5.5]
        );
        assert_eq!(ops::add(&i8a, 1).unwrap().dtype(), Dtype::Int8);
        assert_eq!(ops::add(&b, 1).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::add(&b, true).unwrap().dtype(), Dtype::Bool);
        assert_eq!(ops::divide(&i, 2).unwrap().dtype(), Dtype::Float32);
        assert_eq!(ops::divide(&h, 2).unwrap().dtype(), Dtype::Float16);
        assert_eq!(
            ops::equal(&u8a, 2).unwrap().to_vec::<bool>().unwrap(),
            vec![false, true, false]
        );
        assert_eq!(
            ops::add(&h, Complex32::new(0.0, 1.0)).unwrap().dtype(),
            Dtype::Complex64
        );
        // a scalar that does not fit the array's integer dtype is an error (as MLX)
        let e = ops::add(&u8a, 300).unwrap_err();
        assert!(e.to_string().contains("overflow"), "{e}");
        assert!(ops::maximum(&u8a, -1).is_err());
        // two scalars: default dtypes
        assert_eq!(ops::add(1, 2).unwrap().dtype(), Dtype::Int32);
        assert_eq!(ops::add(1, 2.0).unwrap().dtype(), Dtype::Float32);
        // values stay exact in the array's dtype
        let want = numpy1("out = h * np.float16(2.0) - np.float16(1.0)", &[("h", &h)]);
        assert_matches(
            &ops::subtract(ops::multiply(&h, 2.0).unwrap(), 1.0).unwrap(),
            &want,
            "f16 weak",
        );
    });
}

#[test]
fn operators() {
    on_each_device(|_| {
        let a = rand(&[3, 4], Dtype::Float32, -2.0, 2.0, 10);
        let b = rand(&[4], Dtype::Float32, 0.5, 2.0, 11);
        let i = rand(&[3, 4], Dtype::Int32, -50.0, 50.0, 12);
        let j = rand(&[3, 4], Dtype::Int32, 0.0, 5.0, 13);
        let w = numpy(
            "out = [a + b, a - b, a * b, a / b, np.remainder(a, b), -a, 2.0 - a, a * 3, 3.0 / b, \
             i & j, i | j, i ^ j, i << j, i >> j, ~i, i + 1, 1 - i, (a + b) * 2]",
            &[("a", &a), ("b", &b), ("i", &i), ("j", &j)],
        );
        let got = vec![
            (&a + &b).unwrap(),
            (a.clone() - &b).unwrap(),
            (&a * b.clone()).unwrap(),
            (a.clone() / b.clone()).unwrap(),
            (&a % &b).unwrap(),
            (-&a).unwrap(),
            (2.0f32 - &a).unwrap(),
            (&a * 3).unwrap(),
            (3.0f64 / &b).unwrap(),
            (&i & &j).unwrap(),
            (&i | &j).unwrap(),
            (&i ^ &j).unwrap(),
            (&i << &j).unwrap(),
            (&i >> &j).unwrap(),
            (!&i).unwrap(),
            (&i + 1).unwrap(),
            (1 - &i).unwrap(),
            ((&a + &b).unwrap() * 2.0).unwrap(),
        ];
        for (k, (g, w)) in got.iter().zip(&w).enumerate() {
            let w = if g.dtype() == Dtype::Int32 {
                w.astype(Dtype::Int32).unwrap()
            } else {
                w.astype(Dtype::Float32).unwrap()
            };
            assert_matches(g, &w, &format!("operator case {k}"));
        }
        let bb = Array::from_slice(&[true, false], &[2]).unwrap();
        assert_eq!((!&bb).unwrap().to_vec::<bool>().unwrap(), vec![false, true]);
        assert_eq!(
            (&bb & true).unwrap().to_vec::<bool>().unwrap(),
            vec![true, false]
        );
        // errors come back as Err, never a panic
        assert!((&a & &b).is_err());
        assert!((&a + &rand(&[5], Dtype::Float32, 0.0, 1.0, 1)).is_err());
        assert!((&a << 1).is_err());
    });
}

#[test]
fn large_inputs_parallel_paths() {
    on_each_device(|_| {
        let a = rand(&[400, 300], Dtype::Float32, -3.0, 3.0, 21);
        let b = rand(&[400, 300], Dtype::Float32, -3.0, 3.0, 22);
        let r = rand(&[300], Dtype::Float32, -3.0, 3.0, 23);
        let c = rand(&[400, 1], Dtype::Float32, -3.0, 3.0, 24);
        let ia = rand(&[120_000], Dtype::Int64, -1000.0, 1000.0, 25);
        let ib = rand(&[120_000], Dtype::Int64, -10.0, 10.0, 26);
        let got = vec![
            ops::add(&a, &b).unwrap(),
            ops::multiply(&a, 2.5).unwrap(),
            ops::subtract(1.0, &a).unwrap(),
            ops::maximum(ops::transpose(&a).unwrap(), ops::transpose(&b).unwrap()).unwrap(),
            ops::add(
                ops::transpose(&a).unwrap(),
                ops::reshape(&b, &[300, 400]).unwrap(),
            )
            .unwrap(),
            ops::divide(&a, &r).unwrap(),
            ops::multiply(&c, &r).unwrap(),
            // donation: (a + b) is consumed only by the multiply
            ops::multiply(ops::add(&a, &b).unwrap(), &b).unwrap(),
            ops::floor_divide(&ia, &ib).unwrap(),
            ops::remainder(&ia, &ib).unwrap(),
            ops::less(&a, &b).unwrap(),
        ];
        let want = numpy(
            "out = [a + b, a * np.float32(2.5), np.float32(1) - a, np.maximum(a.T, b.T), a.T + b.reshape(300, 400), a / r, c * r, (a + b) * b, \
             np.floor_divide(ia, ib), np.where(ib == 0, ia, np.remainder(ia, np.where(ib == 0, 1, ib))), a < b]",
            &[("a", &a), ("b", &b), ("r", &r), ("c", &c), ("ia", &ia), ("ib", &ib)],
        );
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_matches(g, w, &format!("large case {k}"));
        }
        // inputs still hold their values after ops that could have donated
        let a0 = a.to_vec::<f32>().unwrap();
        let _ = ops::exp(&a).unwrap().eval();
        assert_eq!(a.to_vec::<f32>().unwrap(), a0);
    });
}

#[test]
fn bad_inputs_are_errors() {
    on_each_device(|_| {
        let f = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        let g = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
        let i = Array::from_slice(&[1i32, 2], &[2]).unwrap();
        let u64a = Array::from_slice(&[1u64, 2], &[2]).unwrap();
        let i64a = Array::from_slice(&[1i64, 2], &[2]).unwrap();
        let c = Array::from_slice(&[Complex32::new(1.0, 1.0)], &[1]).unwrap();
        let e = ops::add(&f, &g).unwrap_err();
        assert!(
            e.to_string().contains("add")
                && e.to_string().contains("[2]")
                && e.to_string().contains("[3]"),
            "{e}"
        );
        assert!(matches!(e, mlxr::Error::Shape(_)));
        let e = ops::bitwise_and(&f, &i).unwrap_err();
        assert!(
            e.to_string().contains("bitwise_and") && e.to_string().contains("float32"),
            "{e}"
        );
        assert!(ops::bitwise_or(&i, 1.5).is_err());
        assert!(ops::left_shift(&f, 1).is_err());
        assert!(
            ops::right_shift(&u64a, &i64a).is_err(),
            "uint64 with int64 promotes to float32"
        );
        assert!(ops::remainder(&c, &c).is_err());
        assert!(ops::divmod(&c, &c).is_err());
        assert!(ops::arctan2(&c, &c).is_err());
        assert!(ops::divmod(&f, &g).is_err());
        assert!(ops::logical_and(&f, &g).is_err());
        let _ = (1.0f32).to_operand();
    });
}

/// Speed check against NumPy (run with `cargo test --release --test all
/// elementwise_speed -- --ignored --nocapture`): 2^24 float32 elements.
#[test]
#[ignore]
fn elementwise_speed() {
    let n = 1usize << 24;
    let a = rand(&[n], Dtype::Float32, 0.0, 1.0, 1);
    let b = rand(&[n], Dtype::Float32, 0.0, 1.0, 2);
    let a2 = ops::reshape(&a, &[4096, 4096]).unwrap();
    let time = |name: &str, f: &dyn Fn() -> Array| {
        let mut best = f64::INFINITY;
        for _ in 0..7 {
            let t = std::time::Instant::now();
            f().eval().unwrap();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("mlxr  {name:<12} {:8.2} ms", best * 1e3);
    };
    time("add", &|| ops::add(&a, &b).unwrap());
    time("add_scalar", &|| ops::add(&a, 1.0).unwrap());
    time("exp", &|| ops::exp(&a).unwrap());
    time("sin", &|| ops::sin(&a).unwrap());
    time("sigmoid", &|| ops::sigmoid(&a).unwrap());
    time("maximum", &|| ops::maximum(&a, &b).unwrap());
    time("add_T", &|| {
        ops::add(ops::transpose(&a2).unwrap(), &a2).unwrap()
    });
    time("where", &|| {
        ops::r#where(ops::greater(&a, 0.5).unwrap(), &a, &b).unwrap()
    });
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(
            "import numpy as np, time\n\
             a = np.random.rand(1 << 24).astype(np.float32); b = np.random.rand(1 << 24).astype(np.float32)\n\
             a2 = a.reshape(4096, 4096)\n\
             for name, f in [('add', lambda: a + b), ('add_scalar', lambda: a + np.float32(1)), ('exp', lambda: np.exp(a)), ('sin', lambda: np.sin(a)), ('sigmoid', lambda: 1 / (1 + np.exp(-a))), ('maximum', lambda: np.maximum(a, b)), ('add_T', lambda: a2.T + a2), ('where', lambda: np.where(a > 0.5, a, b))]:\n\
             \x20   best = 1e9\n\
             \x20   for _ in range(7):\n\
             \x20       t = time.perf_counter(); f(); best = min(best, time.perf_counter() - t)\n\
             \x20   print('numpy %-12s %8.2f ms' % (name, best * 1e3))\n",
        )
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
}
