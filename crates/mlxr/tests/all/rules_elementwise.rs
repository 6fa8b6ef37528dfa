//! Transformation-rule checks (vjp/jvp against finite differences, vmap against loop-and-stack)
//! for the elementwise primitive families (unary, binary, ternary, cast, reduce, softmax,
//! matmul). `run_grad` / `run_vmap` are called by `transforms_walk`; the `#[test]`s below
//! check MLX's conventions at kinks and ties (expected values from mlx 0.32.4) and second
//! order derivatives.

use crate::gradcheck::{check, check_tol, check_vmap, r64};
use mlxr::{ops, Array, Dtype, Result};
use num_complex::Complex32;

type Un = fn(&Array) -> Result<Array>;
type Bin = fn(&Array, &Array) -> Result<Array>;
type Red = fn(&Array, Option<&[isize]>, bool) -> Result<Array>;
type ArgRed = fn(&Array, Option<isize>, bool) -> Result<Array>;
/// An input range `[lo, hi)`.
type Range = (f64, f64);
/// Two inputs' shapes and vmap axes.
type Case2 = (Vec<usize>, Option<isize>, Vec<usize>, Option<isize>);

fn u(f: Un) -> Un {
    f
}
fn bn(f: Bin) -> Bin {
    f
}
fn rd(f: Red) -> Red {
    f
}
fn ar(f: ArgRed) -> ArgRed {
    f
}

/// Unary ops with an input range away from their kinks, poles and domain edges.
fn unary_table() -> Vec<(&'static str, Un, f64, f64)> {
    vec![
        ("abs", u(ops::abs), 0.2, 1.5),
        ("negative", u(ops::negative), -1.0, 1.0),
        ("sign", u(ops::sign), 0.2, 1.5),
        ("exp", u(ops::exp), -1.0, 1.0),
        ("expm1", u(ops::expm1), -1.0, 1.0),
        ("log", u(ops::log), 0.5, 2.0),
        ("log1p", u(ops::log1p), 0.5, 2.0),
        ("log2", u(ops::log2), 0.5, 2.0),
        ("log10", u(ops::log10), 0.5, 2.0),
        ("sqrt", u(ops::sqrt), 0.5, 2.0),
        ("rsqrt", u(ops::rsqrt), 0.5, 2.0),
        ("square", u(ops::square), -1.0, 1.0),
        ("reciprocal", u(ops::reciprocal), 0.5, 2.0),
        ("sin", u(ops::sin), -1.0, 1.0),
        ("cos", u(ops::cos), -1.0, 1.0),
        ("tan", u(ops::tan), -1.0, 1.0),
        ("arcsin", u(ops::arcsin), -0.8, 0.8),
        ("arccos", u(ops::arccos), -0.8, 0.8),
        ("arctan", u(ops::arctan), -2.0, 2.0),
        ("sinh", u(ops::sinh), -1.0, 1.0),
        ("cosh", u(ops::cosh), -1.0, 1.0),
        ("tanh", u(ops::tanh), -1.0, 1.0),
        ("arcsinh", u(ops::arcsinh), -2.0, 2.0),
        ("arccosh", u(ops::arccosh), 1.5, 3.0),
        ("arctanh", u(ops::arctanh), -0.8, 0.8),
        ("sigmoid", u(ops::sigmoid), -2.0, 2.0),
        ("erf", u(ops::erf), -1.5, 1.5),
        ("erfinv", u(ops::erfinv), -0.8, 0.8),
        ("floor", u(ops::floor), 0.1, 0.4),
        ("ceil", u(ops::ceil), 0.1, 0.4),
        ("round0", u(|x| ops::round(x, 0)), 0.1, 0.4),
        ("round2", u(|x| ops::round(x, 2)), 0.101, 0.104),
        ("isnan", u(ops::isnan), -1.0, 1.0),
        ("isinf", u(ops::isinf), -1.0, 1.0),
        ("isposinf", u(ops::isposinf), -1.0, 1.0),
        ("isneginf", u(ops::isneginf), -1.0, 1.0),
        ("isfinite", u(ops::isfinite), -1.0, 1.0),
        ("logical_not", u(ops::logical_not), 0.2, 1.0),
        ("degrees", u(ops::degrees), -1.0, 1.0),
        ("radians", u(ops::radians), -1.0, 1.0),
        ("conj", u(ops::conj), -1.0, 1.0),
        ("real", u(ops::real), -1.0, 1.0),
        ("imag", u(ops::imag), -1.0, 1.0),
        (
            "nan_to_num",
            u(|x| ops::nan_to_num(x, 0.0, None, None)),
            -1.0,
            1.0,
        ),
    ]
}

/// Float binary ops with ranges for `a` and `b` away from kinks and poles.
fn binary_table() -> Vec<(&'static str, Bin, Range, Range)> {
    let any = (-1.0, 1.0);
    let pos = (0.5, 2.0);
    vec![
        ("add", bn(|a, b| ops::add(a, b)), any, any),
        ("subtract", bn(|a, b| ops::subtract(a, b)), any, any),
        ("multiply", bn(|a, b| ops::multiply(a, b)), any, any),
        ("divide", bn(|a, b| ops::divide(a, b)), any, pos),
        (
            "floor_divide",
            bn(|a, b| ops::floor_divide(a, b)),
            (0.1, 0.4),
            (1.0, 1.2),
        ),
        (
            "remainder",
            bn(|a, b| ops::remainder(a, b)),
            (1.1, 1.4),
            (0.9, 1.0),
        ),
        ("power", bn(|a, b| ops::power(a, b)), pos, (-1.5, 1.5)),
        ("arctan2", |a, b| ops::arctan2(a, b), any, pos),
        ("logaddexp", bn(|a, b| ops::logaddexp(a, b)), any, any),
        ("equal", bn(|a, b| ops::equal(a, b)), any, any),
        ("not_equal", bn(|a, b| ops::not_equal(a, b)), any, any),
        ("less", bn(|a, b| ops::less(a, b)), any, any),
        ("less_equal", bn(|a, b| ops::less_equal(a, b)), any, any),
        ("greater", bn(|a, b| ops::greater(a, b)), any, any),
        (
            "greater_equal",
            bn(|a, b| ops::greater_equal(a, b)),
            any,
            any,
        ),
        ("logical_and", bn(|a, b| ops::logical_and(a, b)), any, any),
        ("logical_or", bn(|a, b| ops::logical_or(a, b)), any, any),
        ("logical_xor", bn(|a, b| ops::logical_xor(a, b)), any, any),
    ]
}

/// Integer-only binary ops (checked with integer inputs, held constant).
fn int_binary_table() -> Vec<(&'static str, Bin)> {
    vec![
        ("bitwise_and", bn(|a, b| ops::bitwise_and(a, b))),
        ("bitwise_or", bn(|a, b| ops::bitwise_or(a, b))),
        ("bitwise_xor", bn(|a, b| ops::bitwise_xor(a, b))),
        ("left_shift", bn(|a, b| ops::left_shift(a, b))),
        ("right_shift", bn(|a, b| ops::right_shift(a, b))),
    ]
}

/// Small non-negative int32 values.
fn ints(shape: &[usize], seed: u64) -> Array {
    r64(shape, 0.0, 4.0, seed).astype(Dtype::Int32).unwrap()
}

/// `maximum`/`minimum` inputs that differ everywhere (no ties).
fn distinct(shape: &[usize], seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let base = r64(shape, -0.3, 0.3, seed);
    let step = Array::from_slice(
        &(0..n).map(|i| i as f64 * 0.7 - 2.0).collect::<Vec<_>>(),
        shape,
    )
    .unwrap();
    ops::add(&base, &step).unwrap()
}

/// Finite-difference checks of every primitive of these families.
pub fn run_grad() {
    // Unary, on a [2, 3] input.
    for (k, (name, f, lo, hi)) in unary_table().into_iter().enumerate() {
        check(
            name,
            &|x| Ok(vec![f(&x[0])?]),
            &[r64(&[2, 3], lo, hi, 10 + k as u64)],
        );
    }
    check(
        "abs negative",
        &|x| Ok(vec![ops::abs(&x[0])?]),
        &[r64(&[4], -1.5, -0.2, 3)],
    );
    // bitwise_invert only takes integers: its (zero) cotangent comes through astype.
    check(
        "bitwise_invert",
        &|x| {
            let i = ops::astype(&ops::multiply(&x[0], 10)?, Dtype::Int32)?;
            let inv = ops::astype(&ops::bitwise_invert(&i)?, Dtype::Float64)?;
            Ok(vec![ops::multiply(&x[0], &inv)?])
        },
        &[r64(&[2, 3], 0.11, 0.19, 4)],
    );
    // stop_gradient blocks the gradient; FD agrees when what it blocks is constant.
    check(
        "stop_gradient",
        &|x| {
            Ok(vec![ops::multiply(
                &x[0],
                &ops::stop_gradient(&ops::floor(&x[0])?)?,
            )?])
        },
        &[r64(&[2, 3], 1.1, 1.9, 5)],
    );
    check(
        "unary chain",
        &|x| Ok(vec![ops::tanh(&ops::exp(&ops::sin(&x[0])?)?)?]),
        &[r64(&[5], -1.0, 1.0, 6)],
    );

    // Binary, with broadcasting ([2, 3] with [3], and [2, 1] with [1, 3]).
    for (k, (name, f, ra, rb)) in binary_table().into_iter().enumerate() {
        let s = 100 + 2 * k as u64;
        check(
            name,
            &|x| Ok(vec![f(&x[0], &x[1])?]),
            &[r64(&[2, 3], ra.0, ra.1, s), r64(&[3], rb.0, rb.1, s + 1)],
        );
        check(
            &format!("{name} outer"),
            &|x| Ok(vec![f(&x[0], &x[1])?]),
            &[
                r64(&[2, 1], ra.0, ra.1, s + 50),
                r64(&[1, 3], rb.0, rb.1, s + 51),
            ],
        );
    }
    check(
        "multiply scalar",
        &|x| Ok(vec![ops::multiply(&x[0], 2.5)?]),
        &[r64(&[3], -1.0, 1.0, 7)],
    );
    check(
        "power scalar exp",
        &|x| Ok(vec![ops::power(&x[0], 3)?]),
        &[r64(&[3], -1.0, 1.0, 8)],
    );
    check(
        "maximum",
        &|x| Ok(vec![ops::maximum(&x[0], &x[1])?]),
        &[distinct(&[2, 3], 1), distinct(&[3], 2)],
    );
    check(
        "minimum",
        &|x| Ok(vec![ops::minimum(&x[0], &x[1])?]),
        &[distinct(&[2, 3], 3), distinct(&[3], 4)],
    );
    for (name, f) in int_binary_table() {
        check(
            name,
            &|x| {
                Ok(vec![ops::multiply(
                    &x[0],
                    &ops::astype(&f(&x[1], &x[2])?, Dtype::Float64)?,
                )?])
            },
            &[
                r64(&[2, 3], -1.0, 1.0, 9),
                ints(&[2, 3], 10),
                ints(&[3], 11),
            ],
        );
    }
    // divmod: MLX gives zero cotangents to both inputs (see `mlx_divmod_zero`), so only the
    // (piecewise constant) quotient is compared with finite differences.
    check(
        "divmod",
        &|x| Ok(vec![ops::divmod(&x[0], &x[1])?.0]),
        &[r64(&[2, 3], 1.1, 1.4, 12), r64(&[3], 0.9, 1.0, 13)],
    );

    // Select: the condition from the differentiated input, with broadcasting.
    check(
        "where",
        &|x| {
            Ok(vec![ops::r#where(
                &ops::greater(&x[0], 0.0)?,
                &x[0],
                &x[1],
            )?])
        },
        &[r64(&[2, 3], -1.0, 1.0, 14), r64(&[3], -1.0, 1.0, 15)],
    );
    check(
        "where scalar",
        &|x| Ok(vec![ops::r#where(&ops::less(&x[1], 0.0)?, &x[0], 2.0)?]),
        &[r64(&[2, 3], -1.0, 1.0, 16), r64(&[2, 1], -1.0, 1.0, 17)],
    );

    // AsType: float32 round trips (a larger step: float32 rounding), integer and bool
    // outputs (zero tangent, zero cotangent).
    check_tol(
        "astype f32",
        &|x| {
            Ok(vec![ops::astype(
                &ops::exp(&ops::astype(&x[0], Dtype::Float32)?)?,
                Dtype::Float64,
            )?])
        },
        &[r64(&[2, 3], -1.0, 1.0, 18)],
        1e-2,
        1e-3,
        1e-4,
    );
    check_tol(
        "astype to f32",
        &|x| Ok(vec![ops::astype(&x[0], Dtype::Float32)?]),
        &[r64(&[4], -1.0, 1.0, 19)],
        1e-2,
        1e-3,
        1e-4,
    );
    check(
        "astype int",
        &|x| Ok(vec![ops::astype(&x[0], Dtype::Int32)?]),
        &[r64(&[4], -3.0, 3.0, 20)],
    );
    check(
        "astype bool",
        &|x| Ok(vec![ops::astype(&x[0], Dtype::Bool)?]),
        &[r64(&[4], -3.0, 3.0, 21)],
    );

    // Reductions over several axis sets, with and without keepdims.
    let axis_sets: Vec<Option<Vec<isize>>> = vec![
        None,
        Some(vec![0]),
        Some(vec![1]),
        Some(vec![-1]),
        Some(vec![0, 2]),
        Some(vec![1, 2]),
    ];
    let reds: Vec<(&str, Red, f64, f64)> = vec![
        ("sum", rd(ops::sum), -1.0, 1.0),
        ("prod", rd(ops::prod), 0.5, 1.5),
        ("logsumexp", rd(ops::logsumexp), -1.0, 1.0),
    ];
    for (name, f, lo, hi) in reds {
        for (k, ax) in axis_sets.iter().enumerate() {
            for keep in [false, true] {
                let what = format!("{name} {ax:?} keepdims={keep}");
                check(
                    &what,
                    &|x| Ok(vec![f(&x[0], ax.as_deref(), keep)?]),
                    &[r64(&[2, 3, 4], lo, hi, 30 + k as u64)],
                );
            }
        }
    }
    for (name, f) in [("max", rd(ops::max)), ("min", rd(ops::min))] {
        for (k, ax) in axis_sets.iter().enumerate() {
            for keep in [false, true] {
                let what = format!("{name} {ax:?} keepdims={keep}");
                check(
                    &what,
                    &|x| Ok(vec![f(&x[0], ax.as_deref(), keep)?]),
                    &[distinct(&[2, 3, 4], 40 + k as u64)],
                );
            }
        }
    }
    check(
        "prod with a zero",
        &|x| Ok(vec![ops::prod(&x[0], Some(&[1]), false)?]),
        &[Array::from_slice(&[2.0, 0.0, 3.0, 0.5, 1.5, 0.7], &[2, 3]).unwrap()],
    );
    // all/any (bool outputs) and argmax/argmin (integer outputs): zero through astype.
    for (name, f) in [("all", rd(ops::all)), ("any", rd(ops::any))] {
        check(
            name,
            &|x| {
                let m = ops::astype(
                    &f(&ops::greater(&x[0], 0.0)?, Some(&[1]), true)?,
                    Dtype::Float64,
                )?;
                Ok(vec![ops::multiply(&x[0], &m)?, f(&x[0], None, false)?])
            },
            &[r64(&[2, 3], -1.0, 1.0, 50)],
        );
    }
    for (name, f) in [("argmax", ar(ops::argmax)), ("argmin", ar(ops::argmin))] {
        check(
            name,
            &|x| {
                let i = ops::astype(&f(&x[0], Some(1), true)?, Dtype::Float64)?;
                Ok(vec![ops::multiply(&x[0], &i)?, f(&x[0], None, false)?])
            },
            &[distinct(&[2, 3], 51)],
        );
    }
    check(
        "mean var std",
        &|x| {
            Ok(vec![
                ops::mean(&x[0], Some(&[0]), false)?,
                ops::var(&x[0], Some(&[1]), true, 1)?,
                ops::std(&x[0], None, false, 0)?,
            ])
        },
        &[r64(&[3, 4], -1.0, 1.0, 52)],
    );

    // Softmax over the last axis, other axes, several axes, precise.
    for (k, ax) in [vec![-1isize], vec![0], vec![0, 2]].into_iter().enumerate() {
        for precise in [false, true] {
            check(
                &format!("softmax {ax:?} precise={precise}"),
                &|x| Ok(vec![ops::softmax(&x[0], Some(&ax), precise)?]),
                &[r64(&[2, 3, 4], -2.0, 2.0, 60 + k as u64)],
            );
        }
    }
    check(
        "softmax all",
        &|x| Ok(vec![ops::softmax(&x[0], None, false)?]),
        &[r64(&[2, 3], -2.0, 2.0, 63)],
    );

    // Matmul: matrices, vectors on either side, broadcast batches.
    let mm_cases: Vec<(&[usize], &[usize])> = vec![
        (&[3, 4], &[4, 2]),
        (&[4], &[4, 2]),
        (&[3, 4], &[4]),
        (&[4], &[4]),
        (&[2, 1, 3, 4], &[3, 4, 5]),
        (&[2, 3, 4], &[4, 2]),
    ];
    for (k, (sa, sb)) in mm_cases.into_iter().enumerate() {
        let s = 70 + 2 * k as u64;
        check(
            &format!("matmul {sa:?} @ {sb:?}"),
            &|x| Ok(vec![ops::matmul(&x[0], &x[1])?]),
            &[r64(sa, -1.0, 1.0, s), r64(sb, -1.0, 1.0, s + 1)],
        );
    }
    check(
        "addmm",
        &|x| Ok(vec![ops::addmm(&x[0], &x[1], &x[2], 0.7, -1.3)?]),
        &[
            r64(&[2], -1.0, 1.0, 80),
            r64(&[3, 4], -1.0, 1.0, 81),
            r64(&[4, 2], -1.0, 1.0, 82),
        ],
    );
    check(
        "addmm batched",
        &|x| Ok(vec![ops::addmm(&x[0], &x[1], &x[2], 1.5, 0.5)?]),
        &[
            r64(&[2, 3, 1], -1.0, 1.0, 83),
            r64(&[2, 3, 4], -1.0, 1.0, 84),
            r64(&[4, 5], -1.0, 1.0, 85),
        ],
    );
    check(
        "addmm vector",
        &|x| Ok(vec![ops::addmm(&x[0], &x[1], &x[2], 1.0, 1.0)?]),
        &[
            r64(&[2], -1.0, 1.0, 86),
            r64(&[4], -1.0, 1.0, 87),
            r64(&[4, 2], -1.0, 1.0, 88),
        ],
    );
}

/// The in_axes mixes checked for a one-input function on an input of shape [3, 4, 2].
fn vmap1(what: &str, f: &dyn Fn(&Array) -> Result<Array>, x: &Array) {
    for ax in [0isize, 1, -1] {
        check_vmap(
            &format!("{what} in_axes={ax}"),
            &|v| Ok(vec![f(&v[0])?]),
            std::slice::from_ref(x),
            &[Some(ax)],
        );
    }
}

/// The in_axes mixes checked for a two-input elementwise function: both batched (same
/// and different axes), one unbatched (of another rank), ranks differing.
fn vmap2(
    what: &str,
    f: &dyn Fn(&Array, &Array) -> Result<Array>,
    gen: &dyn Fn(&[usize], u64) -> Array,
) {
    let cases: Vec<Case2> = vec![
        (vec![4, 3], Some(0), vec![4, 3], Some(0)),
        (vec![3, 4], Some(1), vec![4, 3], Some(0)),
        (vec![4, 3], Some(0), vec![2, 3], None),
        (vec![3], None, vec![3, 4], Some(-1)),
        (vec![4, 2, 3], Some(0), vec![3, 4], Some(-1)),
        (vec![2, 4, 3], Some(1), vec![1, 3], None),
    ];
    for (k, (sa, aa, sb, ab)) in cases.into_iter().enumerate() {
        let (a, b) = (gen(&sa, 200 + 2 * k as u64), gen(&sb, 201 + 2 * k as u64));
        check_vmap(
            &format!("{what} {sa:?}@{aa:?} {sb:?}@{ab:?}"),
            &|v| Ok(vec![f(&v[0], &v[1])?]),
            &[a, b],
            &[aa, ab],
        );
    }
}

/// vmap checks of every primitive of these families.
pub fn run_vmap() {
    let x = r64(&[3, 4, 2], 0.55, 0.8, 1);
    for (name, f, _, _) in unary_table() {
        vmap1(name, &|v| f(v), &x);
    }
    vmap1("abs", &|v| ops::abs(&ops::subtract(v, 0.7)?), &x);
    vmap1(
        "bitwise_invert",
        &|v| ops::bitwise_invert(v),
        &ints(&[3, 4, 2], 2),
    );
    vmap1("stop_gradient", &|v| ops::stop_gradient(v), &x);
    vmap1(
        "astype",
        &|v| ops::astype(v, Dtype::Int32),
        &r64(&[3, 4, 2], -5.0, 5.0, 3),
    );
    vmap1(
        "astype f32",
        &|v| ops::astype(&ops::astype(v, Dtype::Float32)?, Dtype::Float64),
        &x,
    );

    let f64gen = |s: &[usize], seed: u64| r64(s, 0.5, 2.0, seed);
    for (name, f, _, _) in binary_table() {
        vmap2(name, &|a, b| f(a, b), &f64gen);
    }
    for (name, f) in [
        ("maximum", bn(|a, b| ops::maximum(a, b))),
        ("minimum", bn(|a, b| ops::minimum(a, b))),
    ] {
        vmap2(name, &|a, b| f(a, b), &f64gen);
    }
    for (name, f) in int_binary_table() {
        vmap2(name, &|a, b| f(a, b), &|s, seed| ints(s, seed));
    }
    vmap2("divmod", &|a, b| ops::divmod(a, b).map(|p| p.0), &f64gen);
    check_vmap(
        "divmod both outputs",
        &|v| {
            let (q, r) = ops::divmod(&v[0], &v[1])?;
            Ok(vec![q, r])
        },
        &[r64(&[3, 4], 0.5, 3.0, 5), r64(&[3], 0.5, 1.0, 6)],
        &[Some(1), None],
    );

    // Select: condition, x and y batched or not, of different ranks.
    let c = ops::greater(r64(&[4, 3], -1.0, 1.0, 7), 0.0).unwrap();
    let (a, b) = (r64(&[3, 4], -1.0, 1.0, 8), r64(&[3], -1.0, 1.0, 9));
    let sel = |v: &[Array]| Ok(vec![ops::r#where(&v[0], &v[1], &v[2])?]);
    check_vmap(
        "where c0 x1 yN",
        &sel,
        &[c.clone(), a.clone(), b.clone()],
        &[Some(0), Some(1), None],
    );
    check_vmap(
        "where cN x1 yN",
        &sel,
        &[ops::greater(&b, 0.0).unwrap(), a.clone(), b.clone()],
        &[None, Some(1), None],
    );
    check_vmap(
        "where c0 xN y0",
        &sel,
        &[c.clone(), b.clone(), ops::transpose(&a).unwrap()],
        &[Some(0), None, Some(0)],
    );
    check_vmap(
        "where c-1 x-1 y-1",
        &sel,
        &[ops::transpose(&c).unwrap(), a.clone(), a.clone()],
        &[Some(-1), Some(-1), Some(-1)],
    );

    // Reductions: the batch axis before, between and after the reduced axes.
    let x = r64(&[3, 4, 2], -1.0, 1.0, 10);
    let xd = distinct(&[3, 4, 2], 11);
    for (name, f) in [
        ("sum", rd(ops::sum)),
        ("prod", rd(ops::prod)),
        ("max", rd(ops::max)),
        ("min", rd(ops::min)),
        ("all", rd(ops::all)),
        ("any", rd(ops::any)),
        ("logsumexp", rd(ops::logsumexp)),
    ] {
        for ax in [None, Some(vec![0isize]), Some(vec![-1]), Some(vec![0, 1])] {
            for keep in [false, true] {
                let input = if name == "max" || name == "min" {
                    &xd
                } else {
                    &x
                };
                let input = if name == "all" || name == "any" {
                    ops::greater(input, 0.0).unwrap()
                } else {
                    input.clone()
                };
                vmap1(
                    &format!("{name} {ax:?} keepdims={keep}"),
                    &|v| f(v, ax.as_deref(), keep),
                    &input,
                );
            }
        }
    }
    for (name, f) in [("argmax", ar(ops::argmax)), ("argmin", ar(ops::argmin))] {
        for ax in [None, Some(0isize), Some(-1)] {
            vmap1(&format!("{name} {ax:?}"), &|v| f(v, ax, true), &xd);
        }
    }
    for ax in [vec![-1isize], vec![0], vec![0, 1]] {
        vmap1(
            &format!("softmax {ax:?}"),
            &|v| ops::softmax(v, Some(&ax), false),
            &x,
        );
    }
    vmap1(
        "softmax int last axis",
        &|v| ops::softmax(v, Some(&[-1]), true),
        &ints(&[3, 4, 2], 12),
    );

    // Matmul / AddMM: batch on either operand or both, vectors, broadcast batches.
    let mm = |v: &[Array]| Ok(vec![ops::matmul(&v[0], &v[1])?]);
    let g = |s: &[usize], seed: u64| r64(s, -1.0, 1.0, seed);
    let mm_cases: Vec<Case2> = vec![
        (vec![5, 3, 4], Some(0), vec![4, 2], None),
        (vec![3, 4], None, vec![4, 2, 5], Some(-1)),
        (vec![3, 5, 4], Some(1), vec![5, 4, 2], Some(0)),
        (vec![5, 4], Some(0), vec![4, 2], None),
        (vec![3, 4], None, vec![4, 5], Some(1)),
        (vec![4, 5], Some(1), vec![5, 4], Some(0)),
        (vec![5, 2, 3, 4], Some(0), vec![4, 2], None),
        (vec![2, 3, 4], None, vec![5, 2, 4, 2], Some(0)),
        (vec![3, 4, 5], Some(-1), vec![4, 2], None),
    ];
    for (k, (sa, aa, sb, ab)) in mm_cases.into_iter().enumerate() {
        check_vmap(
            &format!("matmul {sa:?}@{aa:?} {sb:?}@{ab:?}"),
            &mm,
            &[g(&sa, 300 + 2 * k as u64), g(&sb, 301 + 2 * k as u64)],
            &[aa, ab],
        );
    }
    let am = |v: &[Array]| Ok(vec![ops::addmm(&v[0], &v[1], &v[2], 0.5, 2.0)?]);
    check_vmap(
        "addmm cN a0 bN",
        &am,
        &[g(&[2], 1), g(&[5, 3, 4], 2), g(&[4, 2], 3)],
        &[None, Some(0), None],
    );
    check_vmap(
        "addmm c0 aN b-1",
        &am,
        &[g(&[5, 3, 2], 4), g(&[3, 4], 5), g(&[4, 2, 5], 6)],
        &[Some(0), None, Some(-1)],
    );
    check_vmap(
        "addmm c1 a1 b0",
        &am,
        &[g(&[3, 5, 2], 7), g(&[3, 5, 4], 8), g(&[5, 4, 2], 9)],
        &[Some(1), Some(1), Some(0)],
    );
    check_vmap(
        "addmm c0 aN bN",
        &am,
        &[g(&[5, 1], 10), g(&[3, 4], 11), g(&[4, 2], 12)],
        &[Some(0), None, None],
    );
}

// ---- MLX conventions (expected values from mlx 0.32.4) ----

fn f32a(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn vals(a: &Array) -> Vec<f32> {
    a.astype(Dtype::Float32).unwrap().to_vec::<f32>().unwrap()
}

fn assert_vals(got: &Array, want: &[f32], what: &str) {
    let g = vals(got);
    assert_eq!(g.len(), want.len(), "{what}: length");
    for (i, (a, b)) in g.iter().zip(want).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-5 * (1.0 + b.abs());
        assert!(ok, "{what}: element {i}: got {g:?}, want {want:?}");
    }
}

/// `grad` of `sum(f(x))` at `x`.
fn grad_sum(f: impl Fn(&Array) -> Result<Array>, x: &Array) -> Array {
    let g = mlxr::grad(
        |v: &[Array]| Ok(vec![ops::sum(&f(&v[0])?, None, false)?]),
        &[0],
    );
    g(std::slice::from_ref(x)).unwrap().remove(0)
}

/// `grad` of `sum(f(x, y))` with respect to both.
fn grad_sum2(f: impl Fn(&Array, &Array) -> Result<Array>, x: &Array, y: &Array) -> (Array, Array) {
    let g = mlxr::grad(
        |v: &[Array]| Ok(vec![ops::sum(&f(&v[0], &v[1])?, None, false)?]),
        &[0, 1],
    );
    let mut r = g(&[x.clone(), y.clone()]).unwrap();
    let b = r.pop().unwrap();
    (r.pop().unwrap(), b)
}

fn jvp1(f: impl Fn(&Array) -> Result<Array>, x: &Array, t: &Array) -> Array {
    mlxr::jvp(
        |v: &[Array]| Ok(vec![f(&v[0])?]),
        std::slice::from_ref(x),
        std::slice::from_ref(t),
    )
    .unwrap()
    .1
    .remove(0)
}

#[test]
fn mlx_kinks_of_unary_ops() {
    let x = f32a(&[1.3, -2.7, 0.0], &[3]);
    assert_vals(&grad_sum(ops::abs, &x), &[1.0, -1.0, 0.0], "abs");
    assert_vals(
        &jvp1(
            ops::abs,
            &f32a(&[0.0, -1.0], &[2]),
            &f32a(&[1.0, 1.0], &[2]),
        ),
        &[0.0, -1.0],
        "abs jvp",
    );
    for (name, f) in [
        ("sign", u(ops::sign)),
        ("floor", u(ops::floor)),
        ("ceil", u(ops::ceil)),
        ("isnan", u(|a| ops::astype(&ops::isnan(a)?, Dtype::Float32))),
    ] {
        assert_vals(&grad_sum(f, &x), &[0.0; 3], name);
    }
    assert_vals(&grad_sum(|a| ops::round(a, 0), &x), &[0.0; 3], "round");
    assert_vals(
        &jvp1(ops::floor, &x, &f32a(&[1.0; 3], &[3])),
        &[0.0; 3],
        "floor jvp",
    );
    let t = jvp1(ops::isnan, &x, &f32a(&[1.0; 3], &[3]));
    assert_eq!(
        t.dtype(),
        Dtype::Float32,
        "isnan jvp dtype (mlx: float32 zeros)"
    );
    assert_vals(&t, &[0.0; 3], "isnan jvp");
    assert_vals(
        &grad_sum(ops::sqrt, &f32a(&[0.0, 4.0], &[2])),
        &[f32::INFINITY, 0.25],
        "sqrt at 0",
    );
    let nan = f32a(&[1.0, f32::NAN, f32::INFINITY], &[3]);
    assert_vals(
        &grad_sum(|a| ops::nan_to_num(a, 0.0, None, None), &nan),
        &[1.0, 0.0, 0.0],
        "nan_to_num",
    );
    // stop_gradient: d/dx (x * stop_gradient(x)) = stop_gradient(x).
    assert_vals(
        &grad_sum(|a| ops::multiply(a, &ops::stop_gradient(a)?), &x),
        &[1.3, -2.7, 0.0],
        "stop_gradient",
    );
    assert_vals(
        &grad_sum(ops::stop_gradient, &x),
        &[0.0; 3],
        "stop_gradient alone",
    );
}

#[test]
fn mlx_astype_passes_gradients_through() {
    // mlx 0.32.4: mx.grad(lambda x: x.astype(mx.int32).astype(mx.float32).sum())(x) == 1.
    let x = f32a(&[1.3, -2.7, 0.0], &[3]);
    let rt = |d: Dtype| move |a: &Array| ops::astype(&ops::astype(a, d)?, Dtype::Float32);
    assert_vals(
        &grad_sum(rt(Dtype::Int32), &x),
        &[1.0; 3],
        "int32 round trip",
    );
    assert_vals(&grad_sum(rt(Dtype::Bool), &x), &[1.0; 3], "bool round trip");
    assert_vals(
        &grad_sum(rt(Dtype::Float16), &x),
        &[1.0; 3],
        "float16 round trip",
    );
    let twice = |a: &Array| {
        ops::astype(
            &ops::multiply(&ops::astype(a, Dtype::Int32)?, 2)?,
            Dtype::Float32,
        )
    };
    assert_vals(&grad_sum(twice, &x), &[2.0; 3], "int multiply");
    let t = jvp1(|a| ops::astype(a, Dtype::Int32), &x, &f32a(&[1.7; 3], &[3]));
    assert_eq!(t.dtype(), Dtype::Int32);
    assert_eq!(t.to_vec::<i32>().unwrap(), vec![1, 1, 1]);
}

#[test]
fn mlx_reduction_ties() {
    let x = f32a(&[1.0, 3.0, 3.0, 2.0], &[4]);
    assert_vals(
        &grad_sum(|a| ops::max(a, None, false), &x),
        &[0.0, 0.5, 0.5, 0.0],
        "max ties",
    );
    let y = f32a(&[1.0, 1.0, 3.0, 2.0], &[4]);
    assert_vals(
        &grad_sum(|a| ops::min(a, None, false), &y),
        &[0.5, 0.5, 0.0, 0.0],
        "min ties",
    );
    let m = f32a(&[1.0, 5.0, 2.0, 5.0, 0.0, 5.0], &[2, 3]);
    let c = f32a(&[1.0, 2.0, 3.0], &[3]);
    let (_, g) = mlxr::vjp(
        |v: &[Array]| Ok(vec![ops::max(&v[0], Some(&[0]), false)?]),
        std::slice::from_ref(&m),
        &[c],
    )
    .unwrap();
    assert_vals(&g[0], &[0.0, 2.0, 0.0, 1.0, 0.0, 3.0], "max axis 0");
    // jvp: the tangent of the first extreme element (mlx 0.32.4).
    let t = f32a(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], &[2, 3]);
    assert_vals(
        &jvp1(|a| ops::max(a, None, false), &m, &t),
        &[0.2],
        "max jvp all",
    );
    assert_vals(
        &jvp1(|a| ops::max(a, Some(&[0]), false), &m, &t),
        &[0.4, 0.2, 0.6],
        "max jvp axis 0",
    );
    assert_vals(
        &jvp1(|a| ops::max(a, Some(&[1]), false), &m, &t),
        &[0.2, 0.4],
        "max jvp axis 1",
    );
    let t4 = f32a(&[0.3, -0.5, 0.7, 1.1], &[4]);
    assert_vals(
        &jvp1(|a| ops::max(a, None, false), &x, &t4),
        &[-0.5],
        "max jvp ties",
    );
    assert_vals(
        &jvp1(|a| ops::min(a, None, false), &y, &t4),
        &[0.3],
        "min jvp ties",
    );
    // NaN: every element gets NaN.
    let n = f32a(&[1.0, f32::NAN, 2.0], &[3]);
    assert_vals(
        &grad_sum(|a| ops::max(a, None, false), &n),
        &[f32::NAN; 3],
        "max nan",
    );
    // prod with zeros.
    assert_vals(
        &grad_sum(
            |a| ops::prod(a, None, false),
            &f32a(&[2.0, 0.0, 3.0, 0.0], &[4]),
        ),
        &[0.0; 4],
        "prod two zeros",
    );
    assert_vals(
        &grad_sum(
            |a| ops::prod(a, None, false),
            &f32a(&[2.0, 0.0, 3.0, 4.0], &[4]),
        ),
        &[0.0, 24.0, 0.0, 0.0],
        "prod one zero",
    );
    assert_vals(
        &jvp1(
            |a| ops::prod(a, None, false),
            &f32a(&[2.0, 0.0, 3.0, 4.0], &[4]),
            &f32a(&[1.0; 4], &[4]),
        ),
        &[24.0],
        "prod jvp",
    );
    // argmax: zero cotangent, uint32 zero tangent.
    assert_vals(
        &grad_sum(
            |a| ops::astype(&ops::argmax(a, None, false)?, Dtype::Float32),
            &x,
        ),
        &[0.0; 4],
        "argmax",
    );
    let t = jvp1(|a| ops::argmax(a, None, false), &x, &t4);
    assert_eq!(t.dtype(), Dtype::Uint32);
    assert_eq!(t.to_vec::<u32>().unwrap(), vec![0]);
    // logsumexp at infinities: NaN (mlx 0.32.4).
    let inf = f32a(&[1.0, f32::INFINITY, 3.0], &[3]);
    assert_vals(
        &grad_sum(|a| ops::logsumexp(a, None, false), &inf),
        &[f32::NAN; 3],
        "logsumexp inf",
    );
    let ninf = f32a(&[f32::NEG_INFINITY; 2], &[2]);
    assert_vals(
        &grad_sum(|a| ops::logsumexp(a, None, false), &ninf),
        &[f32::NAN; 2],
        "logsumexp -inf",
    );
    assert_vals(
        &grad_sum(
            |a| ops::logsumexp(a, None, false),
            &f32a(&[1.0, 2.0, 3.0], &[3]),
        ),
        &[0.0900306, 0.244728, 0.665241],
        "logsumexp",
    );
}

#[test]
fn mlx_binary_ties_and_edges() {
    let a = f32a(&[1.0, 2.0, 3.0], &[3]);
    let b = f32a(&[1.0, 1.0, 4.0], &[3]);
    let (ga, gb) = grad_sum2(|x, y| ops::maximum(x, y), &a, &b);
    assert_vals(&ga, &[0.0, 1.0, 0.0], "maximum a");
    assert_vals(&gb, &[1.0, 0.0, 1.0], "maximum b");
    let (ga, gb) = grad_sum2(|x, y| ops::minimum(x, y), &a, &b);
    assert_vals(&ga, &[0.0, 0.0, 1.0], "minimum a");
    assert_vals(&gb, &[1.0, 1.0, 0.0], "minimum b");
    let (ta, tb) = (
        f32a(&[0.1, 0.2, 0.3], &[3]),
        f32a(&[10.0, 20.0, 30.0], &[3]),
    );
    let jv = |f: Bin| {
        mlxr::jvp(
            |v: &[Array]| Ok(vec![f(&v[0], &v[1])?]),
            &[a.clone(), b.clone()],
            &[ta.clone(), tb.clone()],
        )
        .unwrap()
        .1
        .remove(0)
    };
    assert_vals(
        &jv(|x, y| ops::maximum(x, y)),
        &[10.0, 0.2, 30.0],
        "maximum jvp",
    );
    assert_vals(
        &jv(|x, y| ops::minimum(x, y)),
        &[10.0, 20.0, 0.3],
        "minimum jvp",
    );
    // power at 0 (mlx 0.32.4).
    let (ga, gb) = grad_sum2(
        |x, y| ops::power(x, y),
        &f32a(&[0.0, 0.0, 2.0, -2.0], &[4]),
        &f32a(&[2.0, 0.5, 3.0, 2.0], &[4]),
    );
    assert_vals(&ga, &[0.0, f32::INFINITY, 12.0, -4.0], "power base");
    assert_vals(&gb, &[0.0, 0.0, 5.54518, f32::NAN], "power exponent");
    let (ga, gb) = grad_sum2(
        |x, y| ops::power(x, y),
        &f32a(&[0.0, 0.0], &[2]),
        &f32a(&[-1.0, 0.0], &[2]),
    );
    assert_vals(
        &ga,
        &[f32::NEG_INFINITY, f32::NAN],
        "power base, 0 ** -1 and 0 ** 0",
    );
    assert_vals(
        &gb,
        &[f32::NEG_INFINITY, f32::NEG_INFINITY],
        "power exponent, 0 ** -1 and 0 ** 0",
    );
    // remainder / floor_divide.
    let (p, q) = (f32a(&[5.5, -3.2], &[2]), f32a(&[2.0, 1.5], &[2]));
    let (ga, gb) = grad_sum2(|x, y| ops::remainder(x, y), &p, &q);
    assert_vals(&ga, &[1.0, 1.0], "remainder a");
    assert_vals(&gb, &[-2.0, 3.0], "remainder b");
    let (ga, gb) = grad_sum2(|x, y| ops::floor_divide(x, y), &p, &q);
    assert_vals(&ga, &[0.0; 2], "floor_divide a");
    assert_vals(&gb, &[0.0; 2], "floor_divide b");
    // logaddexp at (-inf, -inf) and arctan2 at (0, 0): NaN.
    let (ga, gb) = grad_sum2(
        |x, y| ops::logaddexp(x, y),
        &f32a(&[1.0, f32::NEG_INFINITY], &[2]),
        &f32a(&[2.0, f32::NEG_INFINITY], &[2]),
    );
    assert_vals(&ga, &[0.268941, f32::NAN], "logaddexp a");
    assert_vals(&gb, &[0.731059, f32::NAN], "logaddexp b");
    let (ga, gb) = grad_sum2(
        |x, y| ops::arctan2(x, y),
        &f32a(&[0.0, 1.0], &[2]),
        &f32a(&[0.0, 1.0], &[2]),
    );
    assert_vals(&ga, &[f32::NAN, 0.5], "arctan2 a");
    assert_vals(&gb, &[f32::NAN, -0.5], "arctan2 b");
    // comparisons: zero cotangents in the input dtype, float zero tangents.
    let (ga, gb) = grad_sum2(
        |x, y| ops::astype(&ops::equal(x, y)?, Dtype::Float32),
        &a,
        &b,
    );
    assert_vals(&ga, &[0.0; 3], "equal a");
    assert_vals(&gb, &[0.0; 3], "equal b");
    let t = jv(|x, y| ops::equal(x, y));
    assert_eq!(t.dtype(), Dtype::Float32);
    // where: the condition gets nothing.
    let c = Array::from_slice(&[true, false, true], &[3]).unwrap();
    let (ga, gb) = grad_sum2(
        |x, y| ops::multiply(ops::r#where(&c, x, y)?, f32a(&[1.0, 2.0, 3.0], &[3])),
        &a,
        &b,
    );
    assert_vals(&ga, &[1.0, 0.0, 3.0], "where x");
    assert_vals(&gb, &[0.0, 2.0, 0.0], "where y");
}

#[test]
fn mlx_divmod_zero() {
    // mlx 0.32.4 gives zero cotangents and tangents for both outputs of divmod.
    let (p, q) = (f32a(&[5.5, -3.2], &[2]), f32a(&[2.0, 1.5], &[2]));
    let f = |v: &[Array]| {
        let (a, b) = ops::divmod(&v[0], &v[1])?;
        Ok(vec![a, b])
    };
    let ones = f32a(&[1.0, 1.0], &[2]);
    let (_, g) = mlxr::vjp(f, &[p.clone(), q.clone()], &[ones.clone(), ones.clone()]).unwrap();
    assert_vals(&g[0], &[0.0; 2], "divmod a");
    assert_vals(&g[1], &[0.0; 2], "divmod b");
    let (_, t) = mlxr::jvp(f, &[p, q], &[ones.clone(), ones]).unwrap();
    assert_vals(&t[0], &[0.0; 2], "divmod jvp q");
    assert_vals(&t[1], &[0.0; 2], "divmod jvp r");
}

#[test]
fn mlx_softmax_precise_half() {
    // mlx 0.32.4: vjp of softmax(x, precise=True) for float16 x = [1, 2, 3], cotangent [1, 0, 0].
    let x = f32a(&[1.0, 2.0, 3.0], &[3]).astype(Dtype::Float16).unwrap();
    let c = f32a(&[1.0, 0.0, 0.0], &[3]).astype(Dtype::Float16).unwrap();
    let (_, g) = mlxr::vjp(
        |v: &[Array]| Ok(vec![ops::softmax(&v[0], None, true)?]),
        &[x],
        &[c],
    )
    .unwrap();
    assert_eq!(g[0].dtype(), Dtype::Float16);
    let got = vals(&g[0]);
    for (a, b) in got.iter().zip([0.0819092f32, -0.0220337, -0.0598755]) {
        assert!((a - b).abs() < 2e-3, "softmax f16: {got:?}");
    }
}

fn c32(v: &[(f32, f32)]) -> Array {
    let v: Vec<Complex32> = v.iter().map(|&(r, i)| Complex32::new(r, i)).collect();
    Array::from_slice(&v, &[v.len()]).unwrap()
}

fn assert_c(got: &Array, want: &[(f32, f32)], what: &str) {
    let g = got.to_vec::<Complex32>().unwrap();
    for (a, &(r, i)) in g.iter().zip(want) {
        assert!(
            (a.re - r).abs() < 1e-4 && (a.im - i).abs() < 1e-4,
            "{what}: got {g:?}, want {want:?}"
        );
    }
}

#[test]
fn mlx_complex_conventions() {
    // Values from mlx 0.32.4 (`mx.vjp` / `mx.jvp` on complex64 inputs).
    let z = c32(&[(1.0, 2.0), (-3.0, 0.5)]);
    let ct = f32a(&[0.3, -0.7], &[2]);
    let cz = c32(&[(1.0, 1.0), (2.0, -1.0)]);
    let vjp1 = |f: Un, c: &Array| {
        mlxr::vjp(
            |v: &[Array]| Ok(vec![f(&v[0])?]),
            std::slice::from_ref(&z),
            std::slice::from_ref(c),
        )
        .unwrap()
        .1
        .remove(0)
    };
    let jvp1c = |f: Un| {
        mlxr::jvp(
            |v: &[Array]| Ok(vec![f(&v[0])?]),
            std::slice::from_ref(&z),
            std::slice::from_ref(&cz),
        )
        .unwrap()
        .1
        .remove(0)
    };
    assert_c(
        &vjp1(ops::real, &ct),
        &[(0.3, 0.0), (-0.7, 0.0)],
        "real vjp",
    );
    assert_c(
        &vjp1(ops::imag, &ct),
        &[(0.0, 0.3), (0.0, -0.7)],
        "imag vjp",
    );
    assert_c(
        &vjp1(ops::conj, &cz),
        &[(1.0, -1.0), (2.0, 1.0)],
        "conj vjp",
    );
    assert_c(
        &vjp1(ops::abs, &ct),
        &[(0.134164, 0.268328), (0.690476, -0.115079)],
        "abs vjp",
    );
    assert_c(
        &vjp1(ops::exp, &cz),
        &[(1.34052, -3.60293), (0.0635153, -0.0914306)],
        "exp vjp",
    );
    assert_vals(&jvp1c(ops::real), &[1.0, 2.0], "real jvp");
    assert_vals(&jvp1c(ops::imag), &[1.0, -1.0], "imag jvp");
    assert_vals(&jvp1c(ops::abs), &[1.34164, -2.13719], "abs jvp");
    let z2 = ops::multiply(&z, 2.0).unwrap();
    let (_, g) = mlxr::vjp(
        |v: &[Array]| Ok(vec![ops::multiply(&v[0], &v[1])?]),
        &[z.clone(), z2],
        std::slice::from_ref(&cz),
    )
    .unwrap();
    assert_c(&g[0], &[(6.0, -2.0), (-13.0, 4.0)], "multiply vjp a");
    assert_c(&g[1], &[(3.0, -1.0), (-6.5, 2.0)], "multiply vjp b");
    assert_c(
        &jvp1c(ops::exp),
        &[(-3.60293, 1.34052), (0.111254, 0.00404612)],
        "exp jvp",
    );
    assert_c(
        &vjp1(ops::log, &cz),
        &[(-0.2, 0.6), (-0.594595, 0.432432)],
        "log vjp",
    );
    assert_c(
        &vjp1(ops::sin, &cz),
        &[(-1.01917, 5.08462), (-2.30622, 0.969267)],
        "sin vjp",
    );
    let cd = c32(&[(0.5, -1.0), (2.0, 0.3)]);
    let (_, g) = mlxr::vjp(
        |v: &[Array]| Ok(vec![ops::divide(&v[0], &v[1])?]),
        &[z.clone(), cz.clone()],
        std::slice::from_ref(&cd),
    )
    .unwrap();
    assert_c(&g[0], &[(0.75, -0.25), (0.86, -0.28)], "divide vjp a");
    assert_c(&g[1], &[(-1.0, 0.75), (1.006, -0.708)], "divide vjp b");
    let a = ops::reshape_to(
        &c32(&[(1.0, 1.0), (2.0, -1.0), (0.0, 0.5), (3.0, 0.0)]),
        &[2, 2],
    )
    .unwrap();
    let b = ops::reshape_to(&c32(&[(2.0, -1.0), (1.0, 2.0)]), &[2, 1]).unwrap();
    let cm = ops::reshape_to(&c32(&[(1.0, 0.5), (2.0, -1.0)]), &[2, 1]).unwrap();
    let (_, g) = mlxr::vjp(
        |v: &[Array]| Ok(vec![ops::matmul(&v[0], &v[1])?]),
        &[a, b],
        &[cm],
    )
    .unwrap();
    assert_c(
        &g[0],
        &[(1.5, 2.0), (2.0, -1.5), (5.0, 0.0), (0.0, -5.0)],
        "matmul vjp a",
    );
    assert_c(&g[1], &[(1.0, -1.5), (7.5, -1.0)], "matmul vjp b");
}

#[test]
fn second_order() {
    // f(x) = tanh(x) * exp(x): f'' = e^x (tanh + 2 sech^2 (1 - tanh)).
    let f = |v: &[Array]| Ok(vec![ops::multiply(&ops::tanh(&v[0])?, &ops::exp(&v[0])?)?]);
    let g = mlxr::grad(f, &[0]);
    let gg = mlxr::grad(move |v: &[Array]| g(v), &[0]);
    for x in [-1.2f64, -0.3, 0.0, 0.4, 1.5] {
        let got = gg(&[Array::scalar(x)]).unwrap()[0].item::<f64>().unwrap();
        let (t, e) = (x.tanh(), x.exp());
        let s2 = 1.0 - t * t;
        let want = e * (t + 2.0 * s2 * (1.0 - t));
        assert!(
            (got - want).abs() < 1e-10,
            "d2/dx2 tanh(x) e^x at {x}: got {got}, want {want}"
        );
    }
    // Mixed second derivative of sum(x * y^2 * exp(x)) over vectors: d/dy (d/dx f) = 2y e^x (1 + x).
    let h = |v: &[Array]| {
        let p = ops::multiply(
            &ops::multiply(&v[0], &ops::square(&v[1])?)?,
            &ops::exp(&v[0])?,
        )?;
        Ok(vec![ops::sum(&p, None, false)?])
    };
    let dx = mlxr::grad(h, &[0]);
    let dxy = mlxr::grad(
        move |v: &[Array]| Ok(vec![ops::sum(&dx(v)?[0], None, false)?]),
        &[1],
    );
    let x = Array::from_slice(&[0.3f64, -0.5, 1.1], &[3]).unwrap();
    let y = Array::from_slice(&[1.2f64, 0.7, -0.4], &[3]).unwrap();
    let got = dxy(&[x.clone(), y.clone()]).unwrap()[0]
        .to_vec::<f64>()
        .unwrap();
    let (xs, ys) = (x.to_vec::<f64>().unwrap(), y.to_vec::<f64>().unwrap());
    for (i, g) in got.iter().enumerate() {
        let (xv, yv) = (xs[i], ys[i]);
        let want = 2.0 * yv * xv.exp() * (1.0 + xv);
        assert!(
            (g - want).abs() < 1e-10,
            "mixed second derivative {i}: got {g}, want {want}"
        );
    }
    // jvp of grad (forward over reverse) for a softmax / logsumexp / matmul chain, against FD.
    check(
        "grad of softmax-logsumexp-matmul",
        &|v| {
            let g = mlxr::grad(
                |w: &[Array]| {
                    let m = ops::matmul(&w[0], &ops::transpose(&w[0])?)?;
                    let s = ops::softmax(&m, Some(&[-1]), false)?;
                    Ok(vec![ops::sum(
                        &ops::multiply(&s, &ops::logsumexp(&m, Some(&[0]), true)?)?,
                        None,
                        false,
                    )?])
                },
                &[0],
            );
            g(v)
        },
        &[r64(&[2, 3], -1.0, 1.0, 99)],
    );
    check(
        "grad of max-sum-maximum",
        &|v| {
            let g = mlxr::grad(
                |w: &[Array]| {
                    let p = ops::sum(&ops::maximum(&w[0], 0.0)?, Some(&[1]), false)?;
                    Ok(vec![ops::sum(
                        &ops::multiply(&p, &ops::max(&w[0], Some(&[0]), false)?)?,
                        None,
                        false,
                    )?])
                },
                &[0],
            );
            g(v)
        },
        &[distinct(&[2, 2], 98)],
    );
}

#[test]
fn cotangent_dtypes_and_shapes() {
    // Half-precision inputs get half-precision cotangents of their own (unbroadcast) shape.
    for dt in [Dtype::Float16, Dtype::Bfloat16, Dtype::Float32] {
        let x = r64(&[2, 3], -1.0, 1.0, 1).astype(dt).unwrap();
        let y = r64(&[3], 0.5, 1.5, 2).astype(dt).unwrap();
        let f = |v: &[Array]| {
            let p = ops::multiply(&ops::exp(&v[0])?, &ops::log(&v[1])?)?;
            let s = ops::softmax(&p, Some(&[-1]), true)?;
            let m = ops::max(&ops::maximum(&s, &v[1])?, Some(&[0]), false)?;
            Ok(vec![ops::sum(&m, None, false)?])
        };
        let g = mlxr::grad(f, &[0, 1])(&[x.clone(), y.clone()]).unwrap();
        assert_eq!(g[0].dtype(), dt);
        assert_eq!(g[1].dtype(), dt);
        assert_eq!(g[0].shape(), &[2, 3]);
        assert_eq!(g[1].shape(), &[3]);
        // Against the float64 gradient, within the dtype's precision.
        let x64 = x.astype(Dtype::Float64).unwrap();
        let y64 = y.astype(Dtype::Float64).unwrap();
        let g64 = mlxr::grad(f, &[0, 1])(&[x64, y64]).unwrap();
        let tol = if dt == Dtype::Float32 { 1e-5 } else { 5e-2 };
        for (a, b) in g.iter().zip(&g64) {
            let (a, b) = (vals(a), vals(b));
            for (p, q) in a.iter().zip(&b) {
                assert!(
                    (p - q).abs() <= tol * (1.0 + q.abs()),
                    "{dt}: {a:?} vs {b:?}"
                );
            }
        }
    }
    // An integer input's path gives an integer cotangent; sum of int8 (an int32 output)
    // gives back int8.
    let x = r64(&[3], -1.0, 1.0, 3);
    let f = |v: &[Array]| {
        let i = ops::astype(&ops::multiply(&v[0], 10)?, Dtype::Int8)?;
        let s = ops::astype(&ops::sum(&ops::abs(&i)?, None, false)?, Dtype::Float64)?;
        Ok(vec![ops::multiply(&s, &ops::sum(&v[0], None, false)?)?])
    };
    let (_, g) = mlxr::vjp(f, std::slice::from_ref(&x), &[Array::scalar(1.0f64)]).unwrap();
    assert_eq!(g[0].dtype(), Dtype::Float64);
}

#[test]
fn vmap_of_grad_and_nested_vmap() {
    // Per-example gradients: vmap over grad (the vjp rules' graphs are vmapped).
    let loss = |v: &[Array]| {
        let h = ops::tanh(&ops::matmul(&v[0], &v[1])?)?;
        let p = ops::softmax(&h, Some(&[-1]), false)?;
        Ok(vec![ops::sum(
            &ops::multiply(&p, &ops::logsumexp(&h, Some(&[-1]), true)?)?,
            None,
            false,
        )?])
    };
    let per_example = |v: &[Array]| mlxr::grad(loss, &[0, 1])(v);
    check_vmap(
        "vmap of grad",
        &per_example,
        &[r64(&[4, 3], -1.0, 1.0, 1), r64(&[3, 2], -1.0, 1.0, 2)],
        &[Some(0), None],
    );
    check_vmap(
        "vmap of grad, both batched",
        &per_example,
        &[r64(&[3, 4], -1.0, 1.0, 3), r64(&[3, 2, 4], -1.0, 1.0, 4)],
        &[Some(1), Some(-1)],
    );
    // vmap of vmap: an outer product of elementwise ops and a reduction.
    let inner = |v: &[Array]| {
        let r = ops::multiply(&ops::sin(&v[0])?, &ops::exp(&v[1])?)?;
        Ok(vec![
            ops::sum(&r, None, false)?,
            ops::maximum(&v[0], &v[1])?,
        ])
    };
    let outer = |v: &[Array]| mlxr::vmap(inner, &[Some(0), None], &[Some(0)])(v);
    check_vmap(
        "vmap of vmap",
        &outer,
        &[r64(&[3, 4, 2], -1.0, 1.0, 5), r64(&[2, 3], -1.0, 1.0, 6)],
        &[None, Some(1)],
    );
}
