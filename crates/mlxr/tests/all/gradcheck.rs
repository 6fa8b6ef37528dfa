//! Transformation checks shared by the per-family rule tests: `check` compares a function's
//! vjp and jvp with central finite differences in float64, `check_vmap` compares vmap with
//! the loop-and-stack reference. Both record the primitive names found in the function's
//! graph, so `transforms_walk` can fail when a primitive has no checked rule.

#![allow(dead_code)]

use mlxr::{ops, Array, Dtype, Result};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// Primitive names whose vjp and jvp were compared with finite differences.
pub static GRAD_CHECKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
/// Primitive names whose vmap was compared with the loop-and-stack reference.
pub static VMAP_CHECKED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// A function of arrays, as the checks take it.
pub type F<'a> = &'a dyn Fn(&[Array]) -> Result<Vec<Array>>;

/// The names of every primitive in the (unevaluated) graph of `outs`.
pub fn graph_names(outs: &[Array]) -> BTreeSet<String> {
    let mut seen = std::collections::HashSet::new();
    let mut names = BTreeSet::new();
    let mut stack: Vec<Array> = outs.to_vec();
    while let Some(a) = stack.pop() {
        if !seen.insert(a.id()) {
            continue;
        }
        if let Some(p) = a.primitive() {
            names.insert(p.name());
        }
        stack.extend(a.inputs());
    }
    names
}

fn to_f64(a: &Array) -> Vec<f64> {
    a.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap()
}

fn perturbed(x: &Array, dir: &[f64], h: f64) -> Array {
    let v: Vec<f64> = to_f64(x).iter().zip(dir).map(|(a, d)| a + h * d).collect();
    Array::from_slice(&v, x.shape())
        .unwrap()
        .astype(x.dtype())
        .unwrap()
}

/// Deterministic pseudo-random values in [-1, 1).
fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

fn is_float(a: &Array) -> bool {
    matches!(a.dtype(), Dtype::Float64 | Dtype::Float32)
}

fn close(got: &[f64], want: &[f64], rtol: f64, atol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs() || (g.is_nan() && w.is_nan()),
            "{what}: element {i}: got {g}, want {w}\n got  {got:?}\n want {want:?}"
        );
    }
}

/// Check `f`'s vjp and jvp at `inputs` (float64 arrays; integer or bool inputs are held
/// constant) against central finite differences, with a random cotangent and tangent.
/// Outputs that are not floating point must get zero tangents. Records the graph's
/// primitive names in [`GRAD_CHECKED`].
pub fn check(what: &str, f: F, inputs: &[Array]) {
    check_tol(what, f, inputs, 1e-5, 1e-4, 1e-6)
}

/// [`check`] with an explicit step `h` and tolerances.
pub fn check_tol(what: &str, f: F, inputs: &[Array], h: f64, rtol: f64, atol: f64) {
    let outs = f(inputs).unwrap_or_else(|e| panic!("{what}: forward: {e}"));
    GRAD_CHECKED.lock().unwrap().extend(graph_names(&outs));
    mlxr::eval(&outs).unwrap();
    let diff: Vec<usize> = (0..inputs.len())
        .filter(|&i| is_float(&inputs[i]))
        .collect();
    // Differentiate only the float inputs; the others stay captured constants.
    let g = |xs: &[Array]| -> Result<Vec<Array>> {
        let mut full = inputs.to_vec();
        for (&i, x) in diff.iter().zip(xs) {
            full[i] = x.clone();
        }
        f(&full)
    };
    let primals: Vec<Array> = diff.iter().map(|&i| inputs[i].clone()).collect();
    let eval_at = |xs: &[Array]| -> Vec<Vec<f64>> {
        g(xs)
            .unwrap()
            .iter()
            .map(|o| {
                if is_float(o) {
                    to_f64(o)
                } else {
                    vec![0.0; o.size()]
                }
            })
            .collect()
    };

    // vjp against <cot, (f(x + h e_j) - f(x - h e_j)) / 2h> for every element j.
    let cots: Vec<Array> = outs
        .iter()
        .enumerate()
        .map(|(k, o)| {
            if is_float(o) {
                Array::from_slice(&noise(o.size(), 7 + k as u64), o.shape())
                    .unwrap()
                    .astype(o.dtype())
                    .unwrap()
            } else {
                ops::zeros_like(o).unwrap()
            }
        })
        .collect();
    let (_, grads) = mlxr::vjp(g, &primals, &cots).unwrap_or_else(|e| panic!("{what}: vjp: {e}"));
    let cotv: Vec<Vec<f64>> = cots
        .iter()
        .map(|c| {
            if is_float(c) {
                to_f64(c)
            } else {
                vec![0.0; c.size()]
            }
        })
        .collect();
    for (pi, p) in primals.iter().enumerate() {
        assert_eq!(
            grads[pi].shape(),
            p.shape(),
            "{what}: vjp shape of input {pi}"
        );
        let mut fd = vec![0.0; p.size()];
        for (j, v) in fd.iter_mut().enumerate() {
            let mut e = vec![0.0; p.size()];
            e[j] = 1.0;
            let mut xp = primals.clone();
            let mut xm = primals.clone();
            xp[pi] = perturbed(p, &e, h);
            xm[pi] = perturbed(p, &e, -h);
            let (fp, fm) = (eval_at(&xp), eval_at(&xm));
            *v = fp
                .iter()
                .zip(&fm)
                .zip(&cotv)
                .map(|((a, b), c)| {
                    a.iter()
                        .zip(b)
                        .zip(c)
                        .map(|((a, b), c)| c * (a - b) / (2.0 * h))
                        .sum::<f64>()
                })
                .sum();
        }
        close(
            &to_f64(&grads[pi]),
            &fd,
            rtol,
            atol,
            &format!("{what}: vjp of input {pi}"),
        );
    }

    // jvp against (f(x + h t) - f(x - h t)) / 2h.
    let tans_v: Vec<Vec<f64>> = primals
        .iter()
        .enumerate()
        .map(|(i, p)| noise(p.size(), 101 + i as u64))
        .collect();
    let tans: Vec<Array> = primals
        .iter()
        .zip(&tans_v)
        .map(|(p, t)| {
            Array::from_slice(t, p.shape())
                .unwrap()
                .astype(p.dtype())
                .unwrap()
        })
        .collect();
    let (_, jt) = mlxr::jvp(g, &primals, &tans).unwrap_or_else(|e| panic!("{what}: jvp: {e}"));
    let xp: Vec<Array> = primals
        .iter()
        .zip(&tans_v)
        .map(|(p, t)| perturbed(p, t, h))
        .collect();
    let xm: Vec<Array> = primals
        .iter()
        .zip(&tans_v)
        .map(|(p, t)| perturbed(p, t, -h))
        .collect();
    let (fp, fm) = (eval_at(&xp), eval_at(&xm));
    for (k, o) in outs.iter().enumerate() {
        assert_eq!(jt[k].shape(), o.shape(), "{what}: jvp shape of output {k}");
        let fd: Vec<f64> = fp[k]
            .iter()
            .zip(&fm[k])
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        let got = if is_float(&jt[k]) || jt[k].dtype().is_inexact() {
            to_f64(&jt[k])
        } else {
            vec![0.0; o.size()]
        };
        close(&got, &fd, rtol, atol, &format!("{what}: jvp of output {k}"));
    }
}

/// Check `vmap(f, in_axes)` at `inputs` against slicing each mapped input along its axis,
/// calling `f` per item and stacking the results on axis 0. Records the graph's primitive
/// names in [`VMAP_CHECKED`].
pub fn check_vmap(what: &str, f: F, inputs: &[Array], in_axes: &[Option<isize>]) {
    let outs = f(&unmapped(inputs, in_axes, 0)).unwrap_or_else(|e| panic!("{what}: forward: {e}"));
    VMAP_CHECKED.lock().unwrap().extend(graph_names(&outs));
    let n = inputs
        .iter()
        .zip(in_axes)
        .find_map(|(a, ax)| ax.map(|ax| a.dim(ax).unwrap()))
        .expect("one mapped input");
    let mut per: Vec<Vec<Array>> = vec![Vec::new(); outs.len()];
    for b in 0..n {
        for (k, o) in f(&unmapped(inputs, in_axes, b))
            .unwrap()
            .into_iter()
            .enumerate()
        {
            per[k].push(o);
        }
    }
    let got =
        mlxr::vmap(f, in_axes, &[Some(0)])(inputs).unwrap_or_else(|e| panic!("{what}: vmap: {e}"));
    assert_eq!(got.len(), outs.len(), "{what}: vmap output count");
    for (k, g) in got.iter().enumerate() {
        let want = ops::stack(&per[k], 0).unwrap();
        assert_eq!(g.shape(), want.shape(), "{what}: vmap shape of output {k}");
        assert_eq!(g.dtype(), want.dtype(), "{what}: vmap dtype of output {k}");
        if want.dtype().is_inexact() && want.dtype() != Dtype::Complex64 {
            close(
                &to_f64(g),
                &to_f64(&want),
                1e-9,
                1e-12,
                &format!("{what}: vmap output {k}"),
            );
        } else {
            assert!(
                ops::array_equal(g, &want, true)
                    .unwrap()
                    .item::<bool>()
                    .unwrap(),
                "{what}: vmap output {k}: got {g}, want {want}"
            );
        }
    }
}

/// Item `b` of every mapped input (unmapped inputs as they are).
fn unmapped(inputs: &[Array], in_axes: &[Option<isize>], b: usize) -> Vec<Array> {
    inputs
        .iter()
        .zip(in_axes)
        .map(|(a, ax)| match ax {
            Some(ax) => ops::take_index(a, b as i64, Some(*ax)).unwrap(),
            None => a.clone(),
        })
        .collect()
}

/// Random float64 input in [lo, hi).
pub fn r64(shape: &[usize], lo: f64, hi: f64, seed: u64) -> Array {
    crate::common::rand(shape, Dtype::Float64, lo, hi, seed)
}
