//! Transformation-rule checks (vjp/jvp against finite differences, vmap against loop-and-stack)
//! for the structural primitive families (shape, slicing, creation, indexing, sort, scan,
//! random). Called by `transforms_walk`; the `#[test]`s below pin MLX's conventions with
//! values taken from MLX 0.32 itself.

use crate::gradcheck::{check, check_tol, check_vmap, r64};
use mlxr::ops::{self, PadMode};
use mlxr::primitives::random::MvnApply;
use mlxr::{random, Array, Dtype, Error, Result, StreamOrDevice};
use std::sync::Arc;

type V = Result<Vec<Array>>;

fn i32s(v: &[i32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn f64s(v: &[f64], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn f32s(v: &[f32], shape: &[usize]) -> Array {
    Array::from_slice(v, shape).unwrap()
}

fn vals(a: &Array) -> Vec<f64> {
    a.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap()
}

fn assert_vals(got: &Array, want: &[f64], tol: f64, what: &str) {
    let g = vals(got);
    assert_eq!(g.len(), want.len(), "{what}: {g:?} vs {want:?}");
    for (a, b) in g.iter().zip(want) {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}: got {g:?}, want {want:?}"
        );
    }
}

/// `a` evaluated (detached from the ops that made it, so that the checks record only the
/// primitives of the functions under test).
fn ev(a: Array) -> Array {
    mlxr::eval(std::slice::from_ref(&a)).unwrap();
    a
}

/// A 1-D input with exact zeros (for cumprod).
fn with_zeros(seed: u64) -> Array {
    let mut v = vals(&r64(&[7], 0.5, 1.5, seed));
    v[2] = 0.0;
    v[5] = 0.0;
    f64s(&v, &[7])
}

/// The MvnApply node itself (the public op also computes the covariance's square root).
fn mvn_apply(z: &Array, mean: &Array, std: &Array) -> Array {
    Array::new_node(
        z.shape().to_vec(),
        Dtype::Float32,
        Arc::new(MvnApply),
        vec![z.clone(), mean.clone(), std.clone()],
        StreamOrDevice::Default.resolve(),
    )
}

/// Finite-difference checks of every primitive of these families.
pub fn run_grad() {
    grad_shape();
    grad_slicing_creation();
    grad_indexing();
    grad_sort();
    grad_scan();
    grad_random();
}

fn grad_shape() {
    let x3 = r64(&[2, 3, 4], -1.0, 1.0, 1);
    check(
        "reshape",
        &|x| Ok(vec![ops::reshape(&x[0], &[4, -1])?]),
        std::slice::from_ref(&x3),
    );
    check(
        "transpose",
        &|x| Ok(vec![ops::transpose_axes(&x[0], &[2, 0, 1])?]),
        std::slice::from_ref(&x3),
    );
    check(
        "broadcast",
        &|x| Ok(vec![ops::broadcast_to(&x[0], &[2, 3, 4])?]),
        &[r64(&[3, 1], -1.0, 1.0, 2)],
    );
    check(
        "copy",
        &|x| Ok(vec![ops::contiguous(&ops::transpose(&x[0])?)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "concatenate axis 0",
        &|x| Ok(vec![ops::concatenate(&[x[0].clone(), x[1].clone()], 0)?]),
        &[x3.clone(), r64(&[1, 3, 4], -1.0, 1.0, 3)],
    );
    check(
        "concatenate axis -1",
        &|x| {
            Ok(vec![ops::concatenate(
                &[x[0].clone(), x[1].clone(), x[0].clone()],
                -1,
            )?])
        },
        &[x3.clone(), r64(&[2, 3, 2], -1.0, 1.0, 4)],
    );
    check(
        "pad constant (array value)",
        &|x| {
            Ok(vec![ops::pad(
                &x[0],
                &[(1, 0), (0, 2), (2, 1)],
                PadMode::Constant,
                &x[1],
            )?])
        },
        &[x3.clone(), f64s(&[0.5], &[])],
    );
    for mode in [PadMode::Edge, PadMode::Reflect, PadMode::Symmetric] {
        check(
            &format!("pad {mode:?}"),
            &|x| Ok(vec![ops::pad(&x[0], &[(2, 1), (0, 0), (3, 2)], mode, 0.0)?]),
            std::slice::from_ref(&x3),
        );
    }
    check(
        "tile",
        &|x| Ok(vec![ops::tile(&x[0], &[2, 1, 3])?]),
        std::slice::from_ref(&x3),
    );
    check(
        "tile new axes",
        &|x| Ok(vec![ops::tile(&x[0], &[2, 1, 1, 2])?]),
        std::slice::from_ref(&x3),
    );
    check(
        "repeat axis 0",
        &|x| Ok(vec![ops::repeat(&x[0], 3, Some(0))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "repeat axis -1",
        &|x| Ok(vec![ops::repeat(&x[0], 2, Some(-1))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "repeat flat",
        &|x| Ok(vec![ops::repeat(&x[0], 2, None)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "roll",
        &|x| Ok(vec![ops::roll(&x[0], &[1, -3], Some(&[0, 2]))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "roll flat",
        &|x| Ok(vec![ops::roll(&x[0], &[5], None)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "diagonal",
        &|x| Ok(vec![ops::diagonal(&x[0], 1, 0, 2)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "diagonal neg",
        &|x| Ok(vec![ops::diagonal(&x[0], -1, -1, 1)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "diag k=1",
        &|x| Ok(vec![ops::diag(&x[0], 1)?]),
        &[r64(&[3], -1.0, 1.0, 5)],
    );
    check(
        "diag k=-2",
        &|x| Ok(vec![ops::diag(&x[0], -2)?]),
        &[r64(&[3], -1.0, 1.0, 6)],
    );
    check(
        "diag of 2-D",
        &|x| Ok(vec![ops::diag(&x[0], 0)?]),
        &[r64(&[3, 4], -1.0, 1.0, 7)],
    );
}

fn grad_slicing_creation() {
    let x3 = r64(&[3, 4, 5], -1.0, 1.0, 11);
    check(
        "slice",
        &|x| {
            Ok(vec![ops::slice(
                &x[0],
                &[1, 0, 4],
                &[3, 4, 0],
                &[1, 2, -2],
            )?])
        },
        std::slice::from_ref(&x3),
    );
    check(
        "slice negative steps",
        &|x| {
            Ok(vec![ops::slice(
                &x[0],
                &[-1, -1, -2],
                &[isize::MIN, 0, isize::MIN],
                &[-2, -1, -1],
            )?])
        },
        std::slice::from_ref(&x3),
    );
    check(
        "flip",
        &|x| Ok(vec![ops::flip(&x[0], Some(&[0, -1]))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "as_strided overlapping",
        &|x| Ok(vec![ops::as_strided(&x[0], &[3, 2, 4], &[7, 1, 2], 3)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "full from array",
        &|x| Ok(vec![ops::full(&[2, 3, 4], &x[0], None)?]),
        &[r64(&[3, 1], -1.0, 1.0, 12)],
    );
    check(
        "creation (no inputs)",
        &|x| {
            Ok(vec![
                ops::reshape(&x[0], &[-1])?,
                ops::arange_range(0.0, 3.0, 0.5, Some(Dtype::Float64))?,
                ops::linspace(0.0, 1.0, 5, Some(Dtype::Float64))?,
                ops::eye(3, Some(4), 1, Some(Dtype::Float64))?,
                ops::tri(3, None, 0, Some(Dtype::Float64))?,
            ])
        },
        &[r64(&[2, 2], -1.0, 1.0, 13)],
    );
}

fn grad_indexing() {
    let x3 = r64(&[4, 3, 5], -1.0, 1.0, 21);
    let dup = i32s(&[1, 3, 1, 0, 3, -1], &[2, 3]);
    check(
        "take dup axis 0",
        &|x| Ok(vec![ops::take(&x[0], &x[1], Some(0))?]),
        &[x3.clone(), dup.clone()],
    );
    check(
        "take dup axis -1",
        &|x| Ok(vec![ops::take(&x[0], &x[1], Some(-1))?]),
        &[x3.clone(), dup.clone()],
    );
    check(
        "gather two index arrays",
        &|x| {
            Ok(vec![ops::gather(
                &x[0],
                &[x[1].clone(), x[2].clone()],
                &[0, 2],
                &[1, 2, 2],
            )?])
        },
        &[
            x3.clone(),
            i32s(&[0, 2, 2, 3], &[4]),
            i32s(&[1, 0, 1, 3], &[4]),
        ],
    );
    let ia = i32s(&[0, 2, 2, 1, 0, 0, 2, 1, 1, 2, 0, 0], &[4, 3, 1]);
    check(
        "take_along_axis dup axis -1",
        &|x| Ok(vec![ops::take_along_axis(&x[0], &x[1], Some(-1))?]),
        &[
            x3.clone(),
            ops::concatenate(&[ia.clone(), ia.clone()], -1).unwrap(),
        ],
    );
    check(
        "take_along_axis axis 0",
        &|x| Ok(vec![ops::take_along_axis(&x[0], &x[1], Some(0))?]),
        &[x3.clone(), i32s(&[3, 1, 1, 0, 2], &[1, 1, 5])],
    );
    // Scatters: `a` [5, 3], updates at rows.
    let a = r64(&[5, 3], -1.0, 1.0, 22);
    let rows = i32s(&[3, 0, 4], &[3]);
    let rows_dup = i32s(&[3, 0, 3, -1, 0], &[5]);
    let u3 = r64(&[3, 1, 3], -1.0, 1.0, 23);
    let u5 = r64(&[5, 1, 3], -1.0, 1.0, 24);
    check(
        "scatter unique",
        &|x| Ok(vec![ops::scatter(&x[0], &[x[1].clone()], &x[2], &[0])?]),
        &[a.clone(), rows.clone(), u3.clone()],
    );
    check(
        "scatter_add dup",
        &|x| Ok(vec![ops::scatter_add(&x[0], &[x[1].clone()], &x[2], &[0])?]),
        &[a.clone(), rows_dup.clone(), u5.clone()],
    );
    check(
        "scatter_max dup",
        &|x| Ok(vec![ops::scatter_max(&x[0], &[x[1].clone()], &x[2], &[0])?]),
        &[a.clone(), rows_dup.clone(), u5.clone()],
    );
    check(
        "scatter_min dup",
        &|x| Ok(vec![ops::scatter_min(&x[0], &[x[1].clone()], &x[2], &[0])?]),
        &[a.clone(), rows_dup.clone(), u5.clone()],
    );
    check(
        "scatter 3-D two axes",
        &|x| {
            Ok(vec![ops::scatter_add(
                &x[0],
                &[x[1].clone(), x[2].clone()],
                &x[3],
                &[0, 2],
            )?])
        },
        &[
            x3.clone(),
            i32s(&[0, 3, 0], &[3]),
            i32s(&[4, 1, 4], &[3]),
            r64(&[3, 1, 2, 1], -1.0, 1.0, 25),
        ],
    );
    check(
        "put_along_axis axis -1",
        &|x| Ok(vec![ops::put_along_axis(&x[0], &x[1], &x[2], Some(-1))?]),
        &[
            a.clone(),
            i32s(&[2, 0, 1, 1, 0], &[5, 1]),
            r64(&[5, 1], -1.0, 1.0, 26),
        ],
    );
    check(
        "scatter_add_axis dup axis 0",
        &|x| Ok(vec![ops::scatter_add_axis(&x[0], &x[1], &x[2], Some(0))?]),
        &[
            a.clone(),
            i32s(&[1, 1, 4, 1, 2, 4], &[2, 3]),
            r64(&[2, 3], -1.0, 1.0, 27),
        ],
    );
    let u = r64(&[2, 3, 2], -1.0, 1.0, 28);
    let (st, sp, ss) = ([3isize, 0, 4], [0isize, 3, 0], [-2isize, 1, -3]);
    check(
        "slice_update negative steps",
        &|x| Ok(vec![ops::slice_update(&x[0], &x[1], &st, &sp, &ss)?]),
        &[x3.clone(), u.clone()],
    );
    check(
        "slice_update_add",
        &|x| Ok(vec![ops::slice_update_add(&x[0], &x[1], &st, &sp, &ss)?]),
        &[x3.clone(), u.clone()],
    );
    check(
        "slice_update_prod",
        &|x| Ok(vec![ops::slice_update_prod(&x[0], &x[1], &st, &sp, &ss)?]),
        &[x3.clone(), u.clone()],
    );
    check(
        "slice_update_max",
        &|x| Ok(vec![ops::slice_update_max(&x[0], &x[1], &st, &sp, &ss)?]),
        &[x3.clone(), u.clone()],
    );
    check(
        "slice_update_min",
        &|x| Ok(vec![ops::slice_update_min(&x[0], &x[1], &st, &sp, &ss)?]),
        &[x3.clone(), u.clone()],
    );
    check(
        "slice_dynamic",
        &|x| Ok(vec![ops::slice_dynamic(&x[0], &x[1], &[0, 2], &[2, 3, 2])?]),
        &[x3.clone(), i32s(&[1, -3], &[2])],
    );
    check(
        "slice_update_dynamic",
        &|x| {
            Ok(vec![ops::slice_update_dynamic(
                &x[0],
                &x[1],
                &x[2],
                &[-1, 0],
            )?])
        },
        &[x3.clone(), r64(&[2, 3], -1.0, 1.0, 29), i32s(&[2, 1], &[2])],
    );
}

fn grad_sort() {
    let x3 = r64(&[3, 4, 5], -1.0, 1.0, 31);
    check(
        "sort axis 0",
        &|x| Ok(vec![ops::sort(&x[0], Some(0))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "sort axis -1",
        &|x| Ok(vec![ops::sort(&x[0], Some(-1))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "sort flat",
        &|x| Ok(vec![ops::sort(&x[0], None)?]),
        std::slice::from_ref(&x3),
    );
    check(
        "argsort (integer output) + take_along_axis",
        &|x| {
            let i = ops::argsort(&x[0], Some(1))?;
            Ok(vec![i.clone(), ops::take_along_axis(&x[0], &i, Some(1))?])
        },
        std::slice::from_ref(&x3),
    );
    check(
        "partition axis 0",
        &|x| Ok(vec![ops::partition(&x[0], 1, Some(0))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "partition axis -1",
        &|x| Ok(vec![ops::partition(&x[0], -2, Some(-1))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "argpartition (integer output)",
        &|x| {
            let i = ops::argpartition(&x[0], 2, Some(-1))?;
            Ok(vec![i.clone(), ops::take_along_axis(&x[0], &i, Some(-1))?])
        },
        std::slice::from_ref(&x3),
    );
    check(
        "topk",
        &|x| Ok(vec![ops::topk(&x[0], 2, Some(1))?]),
        std::slice::from_ref(&x3),
    );
    check(
        "searchsorted (integer output)",
        &|x| {
            Ok(vec![ops::searchsorted(
                &ops::sort(&x[0], None)?,
                &x[1],
                "right",
            )?])
        },
        &[r64(&[6], -1.0, 1.0, 32), r64(&[2, 3], -1.0, 1.0, 33)],
    );
}

fn grad_scan() {
    let x3 = r64(&[3, 4, 5], 0.5, 1.5, 41);
    for (rev, inc) in [(false, true), (true, true), (false, false), (true, false)] {
        for ax in [0isize, -1] {
            let tag = format!("axis {ax} reverse {rev} inclusive {inc}");
            check(
                &format!("cumsum {tag}"),
                &|x| Ok(vec![ops::cumsum(&x[0], Some(ax), rev, inc)?]),
                std::slice::from_ref(&x3),
            );
            check(
                &format!("cumprod {tag}"),
                &|x| Ok(vec![ops::cumprod(&x[0], Some(ax), rev, inc)?]),
                std::slice::from_ref(&x3),
            );
            check(
                &format!("cumprod zeros {tag}"),
                &|x| Ok(vec![ops::cumprod(&x[0], Some(0), rev, inc)?]),
                &[with_zeros(42)],
            );
            // Exclusive max / min / logaddexp scans start at +-inf: drop that constant.
            let body = move |y: Array| -> Result<Array> {
                if inc {
                    return Ok(y);
                }
                let nd = y.ndim();
                let a = ops::normalize_axis(ax, nd, "t").unwrap();
                let n = y.shape()[a] as isize;
                let mut s = vec![0isize; nd];
                let mut e: Vec<isize> = y.shape().iter().map(|&d| d as isize).collect();
                if rev {
                    e[a] = n - 1;
                } else {
                    s[a] = 1;
                }
                ops::slice(&y, &s, &e, &vec![1; nd])
            };
            let xs = r64(&[3, 4, 5], -2.0, 2.0, 43);
            check(
                &format!("cummax {tag}"),
                &|x| Ok(vec![body(ops::cummax(&x[0], Some(ax), rev, inc)?)?]),
                std::slice::from_ref(&xs),
            );
            check(
                &format!("cummin {tag}"),
                &|x| Ok(vec![body(ops::cummin(&x[0], Some(ax), rev, inc)?)?]),
                std::slice::from_ref(&xs),
            );
            check(
                &format!("logcumsumexp {tag}"),
                &|x| Ok(vec![body(ops::logcumsumexp(&x[0], Some(ax), rev, inc)?)?]),
                std::slice::from_ref(&xs),
            );
        }
    }
    for mode in ["full", "same", "valid"] {
        check(
            &format!("convolve {mode}"),
            &|x| Ok(vec![ops::convolve(&x[0], &x[1], mode)?]),
            &[r64(&[7], -1.0, 1.0, 44), r64(&[3], -1.0, 1.0, 45)],
        );
    }
    check(
        "convolve (short first)",
        &|x| Ok(vec![ops::convolve(&x[0], &x[1], "full")?]),
        &[r64(&[2], -1.0, 1.0, 46), r64(&[5], -1.0, 1.0, 47)],
    );
}

fn grad_random() {
    let k = random::key(3);
    let f64d = Dtype::Float64;
    check(
        "uniform",
        &|x| {
            Ok(vec![random::uniform(
                &x[0],
                &x[1],
                &[2, 3],
                f64d,
                Some(&x[2]),
            )?])
        },
        &[f64s(&[-0.5], &[]), r64(&[2, 3], 1.0, 2.0, 51), k.clone()],
    );
    let (sc, lc) = (r64(&[3], 0.5, 2.0, 52), f64s(&[0.3], &[1]));
    check(
        "normal scale+loc",
        &|x| {
            Ok(vec![random::normal_with(
                &[2, 3],
                f64d,
                Some(&x[1]),
                Some(&x[0]),
                Some(&x[2]),
            )?])
        },
        &[sc.clone(), lc.clone(), k.clone()],
    );
    check(
        "normal scale",
        &|x| {
            Ok(vec![random::normal_with(
                &[2, 3],
                f64d,
                None,
                Some(&x[0]),
                Some(&x[1]),
            )?])
        },
        &[sc.clone(), k.clone()],
    );
    check(
        "normal loc",
        &|x| {
            Ok(vec![random::normal_with(
                &[2, 3],
                f64d,
                Some(&x[0]),
                None,
                Some(&x[1]),
            )?])
        },
        &[lc.clone(), k.clone()],
    );
    // MLX computes erf / erfinv in single precision even for float64 samples: a larger
    // step keeps the finite differences above that rounding.
    check_tol(
        "truncated_normal",
        &|x| {
            Ok(vec![random::truncated_normal(
                &x[0],
                &x[1],
                Some(&[2, 3]),
                f64d,
                Some(&x[2]),
            )?])
        },
        &[r64(&[2, 3], -1.5, -0.5, 53), f64s(&[1.2], &[]), k.clone()],
        1e-3,
        1e-3,
        1e-4,
    );
    // Samplers with no float parameter: checked for zero / pass-through rules.
    check(
        "samplers without float parameters",
        &|x| {
            Ok(vec![
                ops::reshape(&x[0], &[-1])?,
                random::normal(&[3], f64d, 0.0, 1.0, Some(&x[1]))?,
                random::gumbel(&[3], f64d, Some(&x[1]))?,
                random::laplace(&[3], f64d, 0.0, 1.0, Some(&x[1]))?,
                random::laplace(&[3], f64d, 0.0, 2.0, Some(&x[1]))?,
                random::laplace(&[3], f64d, 1.0, 1.0, Some(&x[1]))?,
                random::laplace(&[3], f64d, 1.0, 2.0, Some(&x[1]))?,
                random::randint(0, 10, &[3], Dtype::Int32, Some(&x[1]))?,
                random::bits(&[3], 2, Some(&x[1]))?,
                random::normal(&[3], Dtype::Complex64, 0.0, 1.0, Some(&x[1]))?,
            ])
        },
        &[r64(&[2], -1.0, 1.0, 54), k.clone()],
    );
    check(
        "bernoulli / categorical (integer outputs)",
        &|x| {
            Ok(vec![
                random::bernoulli(&x[0], None, Some(&x[2]))?,
                random::categorical(&x[1], -1, Some(&x[2]))?,
                ops::reshape(&x[1], &[-1])?,
            ])
        },
        &[
            r64(&[2, 3], 0.1, 0.9, 55),
            r64(&[2, 4], -1.0, 1.0, 56),
            k.clone(),
        ],
    );
    // MvnApply (the public op's covariance square root has no vjp, as in MLX).
    let z = random::normal(&[2, 3], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    check_tol(
        "mvn_apply",
        &|x| Ok(vec![mvn_apply(&x[0], &x[1], &x[2])]),
        &[
            z,
            r64(&[2, 3], -1.0, 1.0, 57)
                .astype(Dtype::Float32)
                .map(ev)
                .unwrap(),
            r64(&[2, 3, 3], -1.0, 1.0, 58)
                .astype(Dtype::Float32)
                .map(ev)
                .unwrap(),
        ],
        1e-2,
        2e-3,
        2e-3,
    );
}

/// The batch size of the vmap checks.
const B: usize = 3;

/// A random float64 input whose items have shape `item`, batched at `ax` (None: one item).
fn bat(item: &[usize], ax: Option<isize>, seed: u64) -> Array {
    let mut s = item.to_vec();
    if let Some(a) = ax {
        let p = if a < 0 {
            (s.len() as isize + 1 + a) as usize
        } else {
            a as usize
        };
        s.insert(p, B);
    }
    r64(&s, -1.0, 1.0, seed)
}

/// Like [`bat`] with int32 values in `0..hi`.
fn bati(item: &[usize], ax: Option<isize>, hi: usize, seed: u64) -> Array {
    let x = bat(item, ax, seed);
    let v: Vec<i32> = vals(&x)
        .iter()
        .map(|&v| (((v + 1.0) / 2.0 * hi as f64) as i32).min(hi as i32 - 1))
        .collect();
    i32s(&v, x.shape())
}

/// vmap checks of every primitive of these families.
pub fn run_vmap() {
    let (s0, s1, sl, no) = (Some(0isize), Some(1isize), Some(-1isize), None::<isize>);
    // One-input primitives, batched at 0, 1 and -1.
    for a in [s0, s1, sl] {
        let x = bat(&[2, 3, 4], a, 61);
        let one = |what: &str, f: &dyn Fn(&Array) -> Result<Vec<Array>>, x: &Array| {
            check_vmap(what, &|v| f(&v[0]), std::slice::from_ref(x), &[a]);
        };
        one("reshape", &|x| Ok(vec![ops::reshape(x, &[-1, 2])?]), &x);
        one(
            "transpose",
            &|x| Ok(vec![ops::transpose_axes(x, &[1, 2, 0])?]),
            &x,
        );
        one(
            "broadcast",
            &|x| Ok(vec![ops::broadcast_to(x, &[5, 2, 3, 4])?]),
            &bat(&[3, 1], a, 62),
        );
        one(
            "copy",
            &|x| Ok(vec![ops::contiguous(&ops::transpose(x)?)?]),
            &x,
        );
        one("tile", &|x| Ok(vec![ops::tile(x, &[2, 1, 1, 2])?]), &x);
        one(
            "repeat",
            &|x| {
                Ok(vec![
                    ops::repeat(x, 2, Some(-1))?,
                    ops::repeat(x, 3, Some(0))?,
                ])
            },
            &x,
        );
        one(
            "roll",
            &|x| Ok(vec![ops::roll(x, &[1, -1], Some(&[0, 2]))?]),
            &x,
        );
        one("diagonal", &|x| Ok(vec![ops::diagonal(x, 1, 2, 0)?]), &x);
        one("diag", &|x| Ok(vec![ops::diag(x, -1)?]), &bat(&[3], a, 63));
        one(
            "view",
            &|x| Ok(vec![ops::view(x, Dtype::Int16)?]),
            &x.astype(Dtype::Float32).map(ev).unwrap(),
        );
        one(
            "pad",
            &|x| Ok(vec![ops::pad(x, &[(1, 2)], PadMode::Edge, 0.0)?]),
            &x,
        );
        one(
            "pad constant",
            &|x| {
                Ok(vec![ops::pad(
                    x,
                    &[(0, 1), (2, 0), (1, 1)],
                    PadMode::Constant,
                    3.0,
                )?])
            },
            &x,
        );
        one(
            "slice",
            &|x| {
                Ok(vec![ops::slice(
                    x,
                    &[-1, 0, 3],
                    &[isize::MIN, 3, 0],
                    &[-1, 2, -2],
                )?])
            },
            &x,
        );
        one(
            "as_strided",
            &|x| Ok(vec![ops::as_strided(x, &[3, 2], &[1, 2], 1)?]),
            &x,
        );
        one(
            "full",
            &|x| Ok(vec![ops::full(&[2, 3, 4], x, None)?]),
            &bat(&[3, 1], a, 64),
        );
        one(
            "sort",
            &|x| {
                Ok(vec![
                    ops::sort(x, Some(0))?,
                    ops::argsort(x, Some(-1))?,
                    ops::sort(x, None)?,
                ])
            },
            &x,
        );
        one(
            "partition",
            &|x| {
                Ok(vec![
                    ops::partition(x, 1, Some(-1))?,
                    ops::argpartition(x, 0, Some(0))?,
                ])
            },
            &x,
        );
        for (r, i) in [(false, true), (true, false)] {
            one(
                "scans",
                &|x| {
                    Ok(vec![
                        ops::cumsum(x, Some(0), r, i)?,
                        ops::cumprod(x, Some(-1), r, i)?,
                        // Exclusive max / min / logaddexp scans start at -inf, which the
                        // comparison does not take: those run inclusive.
                        ops::cummax(x, Some(1), r, true)?,
                        ops::cummin(x, Some(0), i, true)?,
                        ops::logcumsumexp(x, Some(-1), r, true)?,
                    ])
                },
                &x,
            );
        }
    }
    check_vmap(
        "creation (unbatched outputs)",
        &|x| {
            Ok(vec![
                ops::reshape(&x[0], &[-1])?,
                ops::arange_range(0.0, 3.0, 0.5, Some(Dtype::Float64))?,
                ops::linspace(0.0, 1.0, 5, Some(Dtype::Float64))?,
                ops::eye(3, Some(4), 1, Some(Dtype::Float64))?,
                ops::tri(3, None, 0, Some(Dtype::Float64))?,
            ])
        },
        &[bat(&[2], s0, 60)],
        &[s0],
    );
    check_vmap(
        "view of 0-d items",
        &|x| Ok(vec![ops::view(&x[0], Dtype::Uint32)?]),
        &[bat(&[], s0, 65).astype(Dtype::Float32).map(ev).unwrap()],
        &[s0],
    );
    // Two inputs, every mix of batched / unbatched.
    let mixes = [[s0, s1], [s1, no], [no, sl], [sl, s0]];
    for a in mixes {
        let (x, y) = (bat(&[2, 3, 4], a[0], 66), bat(&[2, 3, 2], a[1], 67));
        check_vmap(
            "concatenate",
            &|x| Ok(vec![ops::concatenate(&[x[0].clone(), x[1].clone()], -1)?]),
            &[x.clone(), y.clone()],
            &a,
        );
        check_vmap(
            "pad with batched value",
            &|x| {
                Ok(vec![ops::pad(
                    &x[0],
                    &[(1, 1)],
                    PadMode::Constant,
                    &ops::take_index(&x[1], 1, None)?,
                )?])
            },
            &[x.clone(), y.clone()],
            &a,
        );
        // Indexing: operand, indices, or both batched.
        let i = bati(&[5], a[1], 2, 68);
        check_vmap(
            "take",
            &|x| {
                Ok(vec![
                    ops::take(&x[0], &x[1], Some(-1))?,
                    ops::take(&x[0], &x[1], Some(0))?,
                ])
            },
            &[x.clone(), i.clone()],
            &a,
        );
        check_vmap(
            "gather two index arrays",
            &|x| {
                Ok(vec![ops::gather(
                    &x[0],
                    &[x[1].clone(), ops::flip(&x[1], None)?],
                    &[0, 2],
                    &[1, 2, 2],
                )?])
            },
            &[x.clone(), i.clone()],
            &a,
        );
        let ia = bati(&[2, 1, 4], a[1], 3, 69);
        check_vmap(
            "take_along_axis / put_along_axis / scatter_add_axis",
            &|x| {
                Ok(vec![
                    ops::take_along_axis(&x[0], &x[1], Some(1))?,
                    ops::put_along_axis(&x[0], &x[1], f64s(&[5.0], &[]), Some(1))?,
                    ops::scatter_add_axis(&x[0], &x[1], f64s(&[2.0], &[]), Some(1))?,
                ])
            },
            &[x.clone(), ia.clone()],
            &a,
        );
        let u = ops::reshape(
            &ops::arange_range(0.0, 30.0, 1.0, Some(Dtype::Float64)).unwrap(),
            &[5, 1, 3, 2],
        )
        .unwrap();
        check_vmap(
            "scatters (batched indices)",
            &|x| {
                let i = [x[1].clone()];
                Ok(vec![
                    ops::scatter(&x[0], &i, &u, &[0])?,
                    ops::scatter_add(&x[0], &i, &u, &[0])?,
                    ops::scatter_prod(&x[0], &i, &u, &[0])?,
                    ops::scatter_max(&x[0], &i, &u, &[0])?,
                    ops::scatter_min(&x[0], &i, &u, &[0])?,
                ])
            },
            &[x.clone(), i.clone()],
            &a,
        );
        check_vmap(
            "scatters (batched updates)",
            &|x| {
                let u = ops::reshape(&x[1], &[2, 1, 3, 2])?;
                let i = [i32s(&[1, 0], &[2])];
                Ok(vec![
                    ops::scatter(&x[0], &i, &u, &[0])?,
                    ops::scatter_max(&x[0], &i, &u, &[0])?,
                ])
            },
            &[x.clone(), y.clone()],
            &a,
        );
        let st = bati(&[1], a[1], 3, 70);
        check_vmap(
            "slice_dynamic / slice_update_dynamic (batched starts)",
            &|x| {
                Ok(vec![
                    ops::slice_dynamic(&x[0], &x[1], &[-1], &[2, 3, 2])?,
                    ops::slice_update_dynamic(&x[0], f64s(&[7.0, 8.0], &[2]), &x[1], &[2])?,
                ])
            },
            &[x.clone(), st.clone()],
            &a,
        );
        check_vmap(
            "slice_update_dynamic (batched update)",
            &|x| {
                Ok(vec![ops::slice_update_dynamic(
                    &x[0],
                    &x[1],
                    &i32s(&[-1], &[1]),
                    &[1],
                )?])
            },
            &[x.clone(), bat(&[2, 2], a[1], 71)],
            &a,
        );
        let (ss, sp, sk) = (
            [1isize, 2, -1],
            [isize::MIN, isize::MIN, 0],
            [-1isize, -2, -2],
        );
        check_vmap(
            "slice updates",
            &|x| {
                Ok(vec![
                    ops::slice_update(&x[0], &x[1], &ss, &sp, &sk)?,
                    ops::slice_update_add(&x[0], &x[1], &ss, &sp, &sk)?,
                    ops::slice_update_prod(&x[0], &x[1], &ss, &sp, &sk)?,
                    ops::slice_update_max(&x[0], &x[1], &ss, &sp, &sk)?,
                    ops::slice_update_min(&x[0], &x[1], &ss, &sp, &sk)?,
                ])
            },
            &[x.clone(), bat(&[2, 2, 2], a[1], 72)],
            &a,
        );
        check_vmap(
            "searchsorted",
            &|x| {
                Ok(vec![ops::searchsorted(
                    &ops::sort(&ops::reshape(&x[0], &[-1])?, None)?,
                    &x[1],
                    "left",
                )?])
            },
            &[x.clone(), y.clone()],
            &a,
        );
        check_vmap(
            "convolve",
            &|x| {
                Ok(vec![ops::convolve(
                    &ops::reshape(&x[0], &[-1])?,
                    &ops::reshape(&x[1], &[-1])?,
                    "same",
                )?])
            },
            &[x.clone(), y.clone()],
            &a,
        );
    }
    // Random: batched keys and batched parameters.
    let keys = random::split(&random::key(5), B).unwrap();
    let f64d = Dtype::Float64;
    let samplers = |x: &[Array]| -> V {
        let k = Some(&x[0]);
        Ok(vec![
            random::bits(&[2, 3], 1, k)?,
            random::uniform(0.5, 2.0, &[2, 3], f64d, k)?,
            random::normal(&[2, 3], f64d, 1.0, 2.0, k)?,
            random::normal(&[2], f64d, 0.0, 1.0, k)?,
            random::normal(&[2], f64d, 1.0, 1.0, k)?,
            random::normal(&[2], f64d, 0.0, 3.0, k)?,
            random::truncated_normal(-1.0, 1.0, Some(&[2, 3]), f64d, k)?,
            random::gumbel(&[2], f64d, k)?,
            random::laplace(&[2], f64d, 0.0, 1.0, k)?,
            random::laplace(&[2], f64d, 1.0, 1.0, k)?,
            random::laplace(&[2], f64d, 0.0, 2.0, k)?,
            random::laplace(&[2], f64d, 1.0, 2.0, k)?,
            random::bernoulli(0.3, Some(&[4]), k)?,
            random::randint(-3, 9, &[4], Dtype::Int32, k)?,
            random::categorical(&x[1], -1, k)?,
            random::normal(&[3], Dtype::Complex64, 0.0, 1.0, k)?,
            random::multivariate_normal(
                &f32s(&[1.0, 2.0], &[2]),
                &f32s(&[2.0, 0.5, 0.5, 1.0], &[2, 2]),
                &[3],
                Dtype::Float32,
                k,
            )?,
        ])
    };
    for a in [[s0, no], [s0, s0], [s1, sl], [sl, s1]] {
        let k = if a[0] == s0 {
            keys.clone()
        } else {
            ops::transpose(&keys).unwrap()
        };
        check_vmap(
            "random samplers, batched keys",
            &samplers,
            &[k, bat(&[2, 4], a[1], 73)],
            &a,
        );
    }
    let k = random::key(9);
    let triples = [[s0, s1, s0], [no, sl, s0], [s0, no, no], [no, no, sl]];
    for a in triples {
        let lo = ev(ops::subtract(bat(&[2, 3], a[0], 74), 1.0).unwrap());
        let hi = ev(ops::add(bat(&[2, 3], a[1], 75), 2.0).unwrap());
        let p = ev(ops::multiply(ops::add(bat(&[2, 3], a[2], 76), 1.0).unwrap(), 0.5).unwrap());
        let il = bati(&[3], a[2], 4, 77);
        check_vmap(
            "random samplers, batched parameters",
            &|x| {
                let kk = Some(&k);
                let (lo, hi, p) = (&x[0], &x[1], &x[2]);
                Ok(vec![
                    random::uniform(lo, hi, &[2, 3], f64d, kk)?,
                    random::normal_with(&[2, 3], f64d, Some(lo), Some(hi), kk)?,
                    random::normal_with(&[2, 3], f64d, None, Some(hi), kk)?,
                    random::truncated_normal(lo, hi, None, f64d, kk)?,
                    random::bernoulli(p, Some(&[2, 3]), kk)?,
                    random::randint(&x[3], 9, &[3], Dtype::Int32, kk)?,
                ])
            },
            &[lo, hi, p, il],
            &[a[0], a[1], a[2], a[2]],
        );
    }
    let z = random::normal(&[B, 3], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let m = r64(&[3], -1.0, 1.0, 78)
        .astype(Dtype::Float32)
        .map(ev)
        .unwrap();
    let s = r64(&[3, 3, B], -1.0, 1.0, 79)
        .astype(Dtype::Float32)
        .map(ev)
        .unwrap();
    check_vmap(
        "mvn_apply",
        &|x| Ok(vec![mvn_apply(&x[0], &x[1], &x[2])]),
        &[z, m, s],
        &[s0, no, sl],
    );
    let cov = f32s(&[2.0, 0.5, 0.5, 1.0, 1.0, 0.0, 0.0, 3.0], &[2, 2, 2]);
    check_vmap(
        "multivariate_normal over covariances",
        &|x| {
            Ok(vec![random::multivariate_normal(
                &f32s(&[0.0, 1.0], &[2]),
                &x[0],
                &[],
                Dtype::Float32,
                Some(&k),
            )?])
        },
        &[cov],
        &[s0],
    );
}

// ---- MLX conventions, with values from MLX 0.32 ----

fn vjp1(f: impl Fn(&Array) -> Result<Array>, x: &Array, ct: &Array) -> Array {
    mlxr::vjp(
        |a: &[Array]| Ok(vec![f(&a[0])?]),
        std::slice::from_ref(x),
        std::slice::from_ref(ct),
    )
    .unwrap()
    .1
    .remove(0)
}

fn vjp2(
    f: impl Fn(&Array, &Array) -> Result<Array>,
    x: &Array,
    u: &Array,
    ct: &Array,
) -> Vec<Array> {
    mlxr::vjp(
        |a: &[Array]| Ok(vec![f(&a[0], &a[1])?]),
        &[x.clone(), u.clone()],
        std::slice::from_ref(ct),
    )
    .unwrap()
    .1
}

#[test]
fn sort_ties_follow_the_stable_permutation() {
    let x = f32s(&[3.0, 1.0, 2.0, 1.0, 5.0], &[5]);
    let c = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    assert_vals(
        &vjp1(|x| ops::sort(x, None), &x, &c),
        &[4.0, 1.0, 3.0, 2.0, 5.0],
        0.0,
        "sort vjp",
    );
    let t = mlxr::jvp(
        |a: &[Array]| Ok(vec![ops::sort(&a[0], None)?]),
        std::slice::from_ref(&x),
        std::slice::from_ref(&c),
    )
    .unwrap()
    .1;
    assert_vals(&t[0], &[2.0, 4.0, 3.0, 1.0, 5.0], 0.0, "sort jvp");
    assert_vals(
        &vjp1(|x| ops::partition(x, 2, None), &x, &c),
        &[4.0, 1.0, 3.0, 2.0, 5.0],
        0.0,
        "partition vjp",
    );
    let u = ops::zeros(&[5], Some(Dtype::Uint32)).unwrap();
    let g = vjp1(|x| ops::argsort(x, None), &x, &u);
    assert_vals(&g, &[0.0; 5], 0.0, "argsort has no gradient");
}

#[test]
fn scatter_vjp_conventions() {
    let a = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let i = [i32s(&[1, 1, 3], &[3])];
    let ct = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let set = |a: &Array, u: &Array| ops::scatter(a, &i, &ops::reshape(u, &[3, 1])?, &[0]);
    let u = f32s(&[10.0, 2.0, 30.0], &[3]);
    // Overwritten positions get no cotangent; every duplicate update gets one.
    let g = vjp2(set, &a, &u, &ct);
    assert_vals(&g[0], &[1.0, 0.0, 3.0, 0.0], 0.0, "scatter a");
    assert_vals(&g[1], &[2.0, 2.0, 4.0], 0.0, "scatter u");
    let add = |a: &Array, u: &Array| ops::scatter_add(a, &i, &ops::reshape(u, &[3, 1])?, &[0]);
    let g = vjp2(add, &a, &u, &ct);
    assert_vals(&g[0], &[1.0, 2.0, 3.0, 4.0], 0.0, "scatter_add a");
    assert_vals(&g[1], &[2.0, 2.0, 4.0], 0.0, "scatter_add u");
    let max = |a: &Array, u: &Array| ops::scatter_max(a, &i, &ops::reshape(u, &[3, 1])?, &[0]);
    let min = |a: &Array, u: &Array| ops::scatter_min(a, &i, &ops::reshape(u, &[3, 1])?, &[0]);
    let g = vjp2(max, &a, &u, &ct);
    assert_vals(&g[0], &[1.0, 0.0, 3.0, 0.0], 0.0, "scatter_max a");
    assert_vals(&g[1], &[2.0, 0.0, 4.0], 0.0, "scatter_max u");
    let g = vjp2(min, &a, &u, &ct);
    assert_vals(&g[0], &[1.0, 2.0, 3.0, 4.0], 0.0, "scatter_min a");
    assert_vals(&g[1], &[0.0, 2.0, 0.0], 0.0, "scatter_min u");
    // Ties: every tied value gets the whole cotangent.
    let i2 = [i32s(&[1, 1, 2], &[3])];
    let max2 = |a: &Array, u: &Array| ops::scatter_max(a, &i2, &ops::reshape(u, &[3, 1])?, &[0]);
    let t = f32s(&[1.0, 5.0, 3.0, 4.0], &[4]);
    let g = vjp2(max2, &t, &f32s(&[5.0, 2.0, 3.0], &[3]), &ct);
    assert_vals(&g[0], &[1.0, 2.0, 3.0, 4.0], 0.0, "scatter_max ties a");
    assert_vals(&g[1], &[2.0, 0.0, 3.0], 0.0, "scatter_max ties u");
    let g = vjp2(max2, &t, &f32s(&[7.0, 7.0, 3.0], &[3]), &ct);
    assert_vals(
        &g[0],
        &[1.0, 0.0, 3.0, 4.0],
        0.0,
        "scatter_max tied winners a",
    );
    assert_vals(&g[1], &[2.0, 2.0, 3.0], 0.0, "scatter_max tied winners u");
    // put_along_axis follows scatter.
    let put = |a: &Array, u: &Array| ops::put_along_axis(a, &i[0], u, Some(0));
    let g = vjp2(put, &a, &u, &ct);
    assert_vals(&g[0], &[1.0, 0.0, 3.0, 0.0], 0.0, "put_along_axis a");
    assert_vals(&g[1], &[2.0, 2.0, 4.0], 0.0, "put_along_axis u");
}

#[test]
fn scatter_prod_has_no_rules_as_mlx() {
    let a = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let u = f32s(&[10.0, 2.0, 30.0], &[3]);
    let f = |x: &[Array]| -> V {
        Ok(vec![ops::scatter_prod(
            &x[0],
            &[i32s(&[1, 1, 3], &[3])],
            &ops::reshape(&x[1], &[3, 1])?,
            &[0],
        )?])
    };
    let e = mlxr::vjp(f, &[a.clone(), u.clone()], std::slice::from_ref(&a)).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported(ref m) if m.contains("scatter_prod")),
        "{e}"
    );
    let e = mlxr::jvp(f, &[a.clone(), u.clone()], &[a.clone(), u.clone()]).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported(ref m) if m.contains("scatter_prod")),
        "{e}"
    );
}

#[test]
fn slice_update_vjp_conventions() {
    let x = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let ct = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let g = vjp2(
        |x, u| ops::slice_update(x, u, &[3], &[0], &[-2]),
        &x,
        &f32s(&[9.0, 8.0], &[2]),
        &ct,
    );
    assert_vals(&g[0], &[1.0, 0.0, 3.0, 0.0], 0.0, "slice_update a");
    assert_vals(&g[1], &[4.0, 2.0], 0.0, "slice_update u");
    let u = f32s(&[9.0, 1.0], &[2]);
    let g = vjp2(
        |x, u| ops::slice_update_max(x, u, &[1], &[3], &[1]),
        &x,
        &u,
        &ct,
    );
    assert_vals(&g[0], &[1.0, 0.0, 3.0, 4.0], 0.0, "slice_update_max a");
    assert_vals(&g[1], &[2.0, 0.0], 0.0, "slice_update_max u");
    let g = vjp2(
        |x, u| ops::slice_update_prod(x, u, &[1], &[3], &[1]),
        &x,
        &u,
        &ct,
    );
    assert_vals(&g[0], &[1.0, 18.0, 3.0, 4.0], 0.0, "slice_update_prod a");
    assert_vals(&g[1], &[4.0, 9.0], 0.0, "slice_update_prod u");
    let g = vjp2(
        |x, u| ops::slice_update_dynamic(x, u, &i32s(&[1], &[1]), &[0]),
        &x,
        &f32s(&[9.0, 9.0], &[2]),
        &ct,
    );
    assert_vals(&g[0], &[1.0, 0.0, 0.0, 4.0], 0.0, "slice_update_dynamic a");
    assert_vals(&g[1], &[2.0, 3.0], 0.0, "slice_update_dynamic u");
}

#[test]
fn cumulative_vjp_conventions() {
    let c4 = f32s(&[1.0, 2.0, 3.0, 4.0], &[4]);
    let c5 = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    let z = f32s(&[2.0, 0.0, 3.0, 4.0], &[4]);
    assert_vals(
        &vjp1(|x| ops::cumprod(x, None, false, true), &z, &c4),
        &[1.0, 118.0, 0.0, 0.0],
        0.0,
        "cumprod zero",
    );
    let z2 = f32s(&[2.0, 0.0, 3.0, 0.0], &[4]);
    assert_vals(
        &vjp1(|x| ops::cumprod(x, None, false, true), &z2, &c4),
        &[1.0, 22.0, 0.0, 0.0],
        0.0,
        "cumprod zeros",
    );
    assert_vals(
        &vjp1(|x| ops::cumprod(x, None, true, false), &z, &c4),
        &[0.0, 12.0, 8.0, 9.0],
        0.0,
        "cumprod rev excl",
    );
    let m = f32s(&[1.0, 3.0, 3.0, 2.0, 5.0], &[5]);
    assert_vals(
        &vjp1(|x| ops::cummax(x, None, false, true), &m, &c5),
        &[1.0, 2.0, 7.0, 0.0, 5.0],
        0.0,
        "cummax ties",
    );
    assert_vals(
        &vjp1(|x| ops::cummax(x, None, true, true), &m, &c5),
        &[0.0, 0.0, 0.0, 0.0, 15.0],
        0.0,
        "cummax rev",
    );
    assert_vals(
        &vjp1(|x| ops::cummax(x, None, false, false), &m, &c5),
        &[2.0, 3.0, 9.0, 0.0, 0.0],
        0.0,
        "cummax excl",
    );
    let n = f32s(&[3.0, 1.0, 1.0, 2.0, 0.0], &[5]);
    assert_vals(
        &vjp1(|x| ops::cummin(x, None, false, true), &n, &c5),
        &[1.0, 2.0, 7.0, 0.0, 5.0],
        0.0,
        "cummin ties",
    );
    let lse = [1.71321, 5.26992, 3.50832, 0.773794, 3.73476];
    assert_vals(
        &vjp1(|x| ops::logcumsumexp(x, None, false, true), &m, &c5),
        &lse,
        1e-5,
        "logcumsumexp",
    );
    let lse_ex = [2.88145, 6.51307, 3.87067, 0.734814, 0.0];
    assert_vals(
        &vjp1(|x| ops::logcumsumexp(x, None, false, false), &m, &c5),
        &lse_ex,
        1e-5,
        "logcumsumexp excl",
    );
    let cs = vjp1(|x| ops::cumsum(x, None, true, false), &m, &c5);
    assert_vals(&cs, &[0.0, 1.0, 3.0, 6.0, 10.0], 0.0, "cumsum rev excl");
}

#[test]
fn shape_vjp_conventions() {
    let g = vjp1(
        |x| ops::pad(x, &[(2, 2)], PadMode::Edge, 0.0),
        &f32s(&[1.0, 2.0, 3.0], &[3]),
        &f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], &[7]),
    );
    assert_vals(&g, &[6.0, 4.0, 18.0], 0.0, "pad edge");
    let ct = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
    let g = vjp1(
        |x| ops::as_strided(x, &[3, 2], &[1, 1], 0),
        &f32s(&[1.0, 2.0, 3.0, 4.0], &[4]),
        &ct,
    );
    assert_vals(&g, &[1.0, 5.0, 9.0, 6.0], 0.0, "as_strided");
    // full: the value gets the summed cotangent.
    let g = vjp1(
        |v| ops::full(&[2, 3], v, None),
        &f32s(&[1.0, 2.0, 3.0], &[3]),
        &ops::reshape(&ct, &[2, 3]).unwrap(),
    );
    assert_vals(&g, &[5.0, 7.0, 9.0], 0.0, "full");
    let g = vjp1(
        |v| ops::full(&[2, 3], v, None),
        &f32s(&[2.0], &[]),
        &ops::ones(&[2, 3], None).unwrap(),
    );
    assert_vals(&g, &[6.0], 0.0, "full scalar");
}

#[test]
fn view_and_sym_sqrt_have_no_derivatives_as_mlx() {
    let x = f32s(&[1.0, 2.0], &[2]);
    let f = |a: &[Array]| -> V { Ok(vec![ops::view(&a[0], Dtype::Int32)?]) };
    let e = mlxr::vjp(f, std::slice::from_ref(&x), &[i32s(&[1, 2], &[2])]).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported(ref m) if m.contains("View")),
        "{e}"
    );
    let e = mlxr::jvp(f, std::slice::from_ref(&x), std::slice::from_ref(&x)).unwrap_err();
    assert!(
        matches!(e, Error::Unsupported(ref m) if m.contains("View")),
        "{e}"
    );
    let k = random::key(0);
    let cov = f32s(&[2.0, 0.5, 0.5, 1.0], &[2, 2]);
    let g = |a: &[Array]| -> V {
        Ok(vec![random::multivariate_normal(
            &f32s(&[0.0, 0.0], &[2]),
            &a[0],
            &[],
            Dtype::Float32,
            Some(&k),
        )?])
    };
    let e = mlxr::vjp(g, std::slice::from_ref(&cov), std::slice::from_ref(&x)).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    // The mean is differentiable.
    let h = |a: &[Array]| -> V {
        Ok(vec![random::multivariate_normal(
            &a[0],
            &cov,
            &[],
            Dtype::Float32,
            Some(&k),
        )?])
    };
    let (_, gm) = mlxr::vjp(
        h,
        &[f32s(&[1.0, 2.0], &[2])],
        &[ops::ones(&[2], None).unwrap()],
    )
    .unwrap();
    assert_vals(&gm[0], &[1.0, 1.0], 0.0, "mvn mean");
}

#[test]
fn random_gradients_match_mlx() {
    let k = random::key(0);
    let one = ops::ones(&[3], None).unwrap();
    let (_, g) = mlxr::vjp(
        |a: &[Array]| {
            Ok(vec![random::uniform(
                &a[0],
                &a[1],
                &[3],
                Dtype::Float32,
                Some(&k),
            )?])
        },
        &[f32s(&[0.0], &[]), f32s(&[2.0], &[])],
        std::slice::from_ref(&one),
    )
    .unwrap();
    assert_vals(&g[0], &[1.08697], 1e-5, "uniform low");
    assert_vals(&g[1], &[1.91303], 1e-5, "uniform high");
    let (_, g) = mlxr::vjp(
        |a: &[Array]| {
            Ok(vec![random::normal_with(
                &[3],
                Dtype::Float32,
                Some(&a[0]),
                Some(&a[1]),
                Some(&k),
            )?])
        },
        &[f32s(&[0.5], &[]), f32s(&[2.0], &[])],
        std::slice::from_ref(&one),
    )
    .unwrap();
    assert_vals(&g[0], &[3.0], 1e-6, "normal loc");
    assert_vals(&g[1], &[1.67335], 1e-5, "normal scale");
    let (_, g) = mlxr::vjp(
        |a: &[Array]| {
            Ok(vec![random::truncated_normal(
                &a[0],
                &a[1],
                Some(&[3]),
                Dtype::Float32,
                Some(&k),
            )?])
        },
        &[f32s(&[-0.5], &[]), f32s(&[1.0], &[])],
        std::slice::from_ref(&one),
    )
    .unwrap();
    assert_vals(&g[0], &[1.00019], 1e-4, "truncated_normal lower");
    assert_vals(&g[1], &[1.5022], 1e-4, "truncated_normal upper");
    let (_, g) = mlxr::vjp(
        |a: &[Array]| Ok(vec![random::bernoulli(&a[0], Some(&[3]), Some(&k))?]),
        &[f32s(&[0.5], &[])],
        &[ops::ones(&[3], Some(Dtype::Bool)).unwrap()],
    )
    .unwrap();
    assert_vals(&g[0], &[0.0], 0.0, "bernoulli");
}

#[test]
fn vmap_over_keys_matches_mlx() {
    let keys = random::split(&random::key(0), 2).unwrap();
    let f = |a: &[Array]| -> V {
        Ok(vec![random::uniform(
            0.0,
            1.0,
            &[3],
            Dtype::Float32,
            Some(&a[0]),
        )?])
    };
    let got = mlxr::vmap(f, &[Some(0)], &[Some(0)])(&[keys]).unwrap();
    let want = [0.555248, 0.694741, 0.297654, 0.872414, 0.111052, 0.277081];
    assert_vals(&got[0], &want, 1e-5, "vmapped uniform");
    let lo = f32s(&[0.0, 0.5], &[2]);
    let k = random::key(0);
    let f = |a: &[Array]| -> V {
        Ok(vec![random::uniform(
            &a[0],
            1.0,
            &[3],
            Dtype::Float32,
            Some(&k),
        )?])
    };
    let got = mlxr::vmap(f, &[Some(0)], &[Some(0)])(&[lo]).unwrap();
    let want = [0.965321, 0.314682, 0.63303, 0.982661, 0.657341, 0.816515];
    assert_vals(&got[0], &want, 1e-5, "vmapped low");
}

#[test]
fn second_order_through_structural_rules() {
    // The vjp of sort / take / cumprod is itself differentiable: check the vjp of the vjp
    // (a function of the cotangent) against finite differences.
    let x = r64(&[3, 4], -1.0, 1.0, 81);
    let xs = x.clone();
    check(
        "vjp of sort",
        &move |c| {
            Ok(mlxr::vjp(
                |a: &[Array]| Ok(vec![ops::sort(&a[0], Some(0))?]),
                std::slice::from_ref(&xs),
                c,
            )?
            .1)
        },
        &[r64(&[3, 4], -1.0, 1.0, 82)],
    );
    let xs = x.clone();
    check(
        "vjp of take with duplicates",
        &move |c| {
            Ok(mlxr::vjp(
                |a: &[Array]| Ok(vec![ops::take(&a[0], &i32s(&[2, 0, 2], &[3]), Some(1))?]),
                std::slice::from_ref(&xs),
                c,
            )?
            .1)
        },
        &[r64(&[3, 3], -1.0, 1.0, 83)],
    );
}

#[test]
fn structural_families_have_checked_rules() {
    // The walk over these families only (`transforms_walk` covers every family).
    run_grad();
    run_vmap();
    use mlxr::primitives::{creation, indexing, random as rnd, scan, shape, slicing, sort};
    let names: Vec<&str> = [
        shape::NAMES,
        slicing::NAMES,
        creation::NAMES,
        indexing::NAMES,
        sort::NAMES,
        scan::NAMES,
        rnd::NAMES,
    ]
    .concat();
    let grad = crate::gradcheck::GRAD_CHECKED.lock().unwrap().clone();
    let vmap = crate::gradcheck::VMAP_CHECKED.lock().unwrap().clone();
    // MLX has no vjp/jvp for these (tested above to return Error::Unsupported).
    let no_derivative = ["View", "SymSqrt", "Scatter Prod"];
    let no_grad: Vec<&&str> = names
        .iter()
        .filter(|n| !grad.contains(**n) && !no_derivative.contains(n))
        .collect();
    let no_vmap: Vec<&&str> = names.iter().filter(|n| !vmap.contains(**n)).collect();
    assert!(
        no_grad.is_empty() && no_vmap.is_empty(),
        "unchecked: vjp/jvp {no_grad:?}; vmap {no_vmap:?}"
    );
}

#[test]
fn negative_stride_values_in_axis_scatters_and_slice_updates() {
    // The scan and slice vjps pass reversed views as values: the kernels must read them.
    let a = ops::zeros(&[2, 4], Some(Dtype::Float32)).unwrap();
    let v = f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0], &[2, 4]);
    let vr = ops::flip(&v, Some(&[-1])).unwrap();
    let idx = i32s(&[3, 2, 1, 0, 0, 1, 2, 3], &[2, 4]);
    let got = ops::put_along_axis(&a, &idx, &vr, Some(-1)).unwrap();
    assert_vals(
        &got,
        &[1.0, 2.0, 3.0, 4.0, 8.0, 7.0, 6.0, 5.0],
        0.0,
        "put_along_axis",
    );
    let got = ops::scatter_add_axis(&a, &idx, &vr, Some(-1)).unwrap();
    assert_vals(
        &got,
        &[1.0, 2.0, 3.0, 4.0, 8.0, 7.0, 6.0, 5.0],
        0.0,
        "scatter_add_axis",
    );
    let got = ops::slice_update(&a, &vr, &[0, 0], &[2, 4], &[1, 1]).unwrap();
    assert_vals(
        &got,
        &[4.0, 3.0, 2.0, 1.0, 8.0, 7.0, 6.0, 5.0],
        0.0,
        "slice_update",
    );
}
