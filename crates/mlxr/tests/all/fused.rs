//! Fused training primitives. The Adam step (`ops::optim::adam_step`): the same bits as
//! the update composed from elementwise ops on the CPU (within one float32 rounding on the
//! GPU), with and without bias correction and weight decay, non-contiguous gradients,
//! empty parameters, gradients through it, and errors for bad inputs. The rule checks
//! (finite differences, vmap) of `AdamStep` and `SoftmaxVjp` for the walk over every
//! primitive (the softmax VJP's values are tested in reduce.rs).

use crate::common::*;
use crate::gradcheck::{check_tol, check_vmap, r64};
use mlxr::ops;
use mlxr::{Array, Dtype};

fn scalar(v: f32) -> Array {
    Array::from_slice(&[v], &[]).unwrap()
}

/// The update composed from ops, written independently of the library's definition.
fn composed(x: &[Array], bias: bool, decay: bool, b1: f32, b2: f32, eps: f32) -> Vec<Array> {
    let (p, g, m, v, a) = (&x[0], &x[1], &x[2], &x[3], &x[4]);
    let pd = if decay {
        ops::multiply(p, &x[5 + bias as usize]).unwrap()
    } else {
        p.clone()
    };
    let m2 = ops::add(
        &ops::multiply(m, b1).unwrap(),
        &ops::multiply(g, 1.0 - b1).unwrap(),
    )
    .unwrap();
    let v2 = ops::add(
        &ops::multiply(v, b2).unwrap(),
        &ops::multiply(&ops::square(g).unwrap(), 1.0 - b2).unwrap(),
    )
    .unwrap();
    let root = ops::sqrt(&v2).unwrap();
    let den = if bias {
        ops::add(&ops::multiply(&root, &x[5]).unwrap(), eps).unwrap()
    } else {
        ops::add(&root, eps).unwrap()
    };
    let p2 = ops::subtract(
        &pd,
        &ops::divide(&ops::multiply(a, &m2).unwrap(), &den).unwrap(),
    )
    .unwrap();
    vec![p2, m2, v2]
}

#[test]
fn adam_step_matches_the_composed_update() {
    on_each_device(|dev| {
        let gpu = dev != mlxr::Device::cpu();
        let (b1, b2, eps) = (0.9f32, 0.95f32, 1e-8f32);
        for (k, shape) in [&[37usize, 129][..], &[5], &[0, 3], &[]].iter().enumerate() {
            for bias in [false, true] {
                for decay in [false, true] {
                    let seed = 300 + k as u64 * 10 + bias as u64 * 2 + decay as u64;
                    let p = rand(shape, Dtype::Float32, -1.0, 1.0, seed);
                    // A transposed (non-contiguous) gradient where there are two axes.
                    let g = if shape.len() == 2 {
                        rand(&[shape[1], shape[0]], Dtype::Float32, -0.1, 0.1, seed + 1)
                            .transpose(&[1, 0])
                            .unwrap()
                    } else {
                        rand(shape, Dtype::Float32, -0.1, 0.1, seed + 1)
                    };
                    let m = rand(shape, Dtype::Float32, -0.05, 0.05, seed + 2);
                    let v = rand(shape, Dtype::Float32, 0.0, 0.01, seed + 3);
                    let mut x = vec![p.clone(), g.clone(), m.clone(), v.clone(), scalar(3e-3)];
                    if bias {
                        x.push(scalar(1.7));
                    }
                    if decay {
                        x.push(scalar(0.99997));
                    }
                    let c2 = bias.then(|| x[5].clone());
                    let dc = decay.then(|| x[5 + bias as usize].clone());
                    let (p2, m2, v2) = ops::optim::adam_step(
                        &p,
                        &g,
                        &m,
                        &v,
                        &x[4],
                        c2.as_ref(),
                        dc.as_ref(),
                        (b1, b2),
                        eps,
                    )
                    .unwrap();
                    let want = composed(&x, bias, decay, b1, b2, eps);
                    for (got, want, name) in [(&p2, &want[0], "p"), (&m2, &want[1], "m"), (&v2, &want[2], "v")] {
                        let what = format!("adam_step {name} {shape:?} bias {bias} decay {decay} on {dev:?}");
                        assert_eq!(got.shape(), want.shape(), "{what}");
                        if gpu {
                            assert_close(got, want, 1e-6, 1e-9, &what);
                        } else {
                            let (a, b) = (got.to_vec::<f32>().unwrap(), want.to_vec::<f32>().unwrap());
                            assert!(
                                a.iter().zip(&b).all(|(a, b)| a.to_bits() == b.to_bits()),
                                "{what}: not bit-identical"
                            );
                        }
                    }
                }
            }
        }
    });
}

#[test]
fn adam_step_gradients_and_errors() {
    on_each_device(|dev| {
        let shape = [4usize, 6];
        let p = rand(&shape, Dtype::Float32, -1.0, 1.0, 1);
        let g = rand(&shape, Dtype::Float32, -0.1, 0.1, 2);
        let m = rand(&shape, Dtype::Float32, -0.05, 0.05, 3);
        let v = rand(&shape, Dtype::Float32, 0.001, 0.01, 4);
        let (a, c2, d) = (scalar(0.01), scalar(1.5), scalar(0.999));
        let prim = [p, g, m, v, a, c2, d];
        let w = rand(&shape, Dtype::Float32, -1.0, 1.0, 5);
        let loss_fused = |x: &[Array]| -> mlxr::Result<Vec<Array>> {
            let (p2, m2, v2) = ops::optim::adam_step(
                &x[0], &x[1], &x[2], &x[3], &x[4], Some(&x[5]), Some(&x[6]), (0.9, 0.999), 1e-8,
            )?;
            let s = ops::add(&ops::add(&ops::multiply(&p2, &w)?, &m2)?, &v2)?;
            Ok(vec![ops::sum(&s, None, false)?])
        };
        let loss_comp = |x: &[Array]| -> mlxr::Result<Vec<Array>> {
            let o = composed(x, true, true, 0.9, 0.999, 1e-8);
            let s = ops::add(&ops::add(&ops::multiply(&o[0], &w)?, &o[1])?, &o[2])?;
            Ok(vec![ops::sum(&s, None, false)?])
        };
        let one = [scalar(1.0)];
        let (_, gf) = mlxr::vjp(loss_fused, &prim, &one).unwrap();
        let (_, gc) = mlxr::vjp(loss_comp, &prim, &one).unwrap();
        for (i, (a, b)) in gf.iter().zip(&gc).enumerate() {
            assert_close(a, b, 1e-5, 1e-7, &format!("adam_step vjp input {i} on {dev:?}"));
        }
        let t: Vec<Array> = prim.iter().map(|x| ops::ones_like(x).unwrap()).collect();
        let (_, tf) = mlxr::jvp(loss_fused, &prim, &t).unwrap();
        let (_, tc) = mlxr::jvp(loss_comp, &prim, &t).unwrap();
        assert_close(&tf[0], &tc[0], 1e-5, 1e-6, &format!("adam_step jvp on {dev:?}"));
        // Bad inputs.
        let half = prim[0].astype(Dtype::Float16).unwrap();
        let f = |p: &Array, g: &Array, a: &Array| {
            ops::optim::adam_step(p, g, &prim[2], &prim[3], a, None, None, (0.9, 0.999), 1e-8)
        };
        assert!(f(&half, &prim[1], &prim[4]).is_err(), "float16 parameters");
        let wrong = rand(&[6, 4], Dtype::Float32, -1.0, 1.0, 9);
        assert!(f(&prim[0], &wrong, &prim[4]).is_err(), "gradient of another shape");
        let two = Array::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        assert!(f(&prim[0], &prim[1], &two).is_err(), "two-element learning rate");
    });
}

/// `AdamStep` as a function of float32 inputs `[p, g, m, v, a, c2, decay]`.
fn adam_all(x: &[Array]) -> mlxr::Result<Vec<Array>> {
    let (p, m, v) = ops::optim::adam_step(
        &x[0], &x[1], &x[2], &x[3], &x[4], Some(&x[5]), Some(&x[6]), (0.9, 0.99), 1e-3,
    )?;
    Ok(vec![p, m, v])
}

fn adam_inputs() -> Vec<Array> {
    let f = |a: Array| a.astype(Dtype::Float32).unwrap();
    vec![
        f(r64(&[3, 4], -1.0, 1.0, 11)),
        f(r64(&[3, 4], -1.0, 1.0, 12)),
        f(r64(&[3, 4], -0.5, 0.5, 13)),
        f(r64(&[3, 4], 0.5, 1.0, 14)),
        f(r64(&[], 0.05, 0.1, 15)),
        f(r64(&[], 1.0, 2.0, 16)),
        f(r64(&[], 0.9, 1.0, 17)),
    ]
}

/// The softmax VJP node: `vjp(softmax)(x, c)` over the last axis.
fn softmax_vjp(x: &[Array]) -> mlxr::Result<Vec<Array>> {
    let (_, g) = mlxr::vjp(
        |a| Ok(vec![ops::softmax(&a[0], Some(&[-1]), false)?]),
        &x[..1],
        &x[1..2],
    )?;
    Ok(g)
}

/// Finite-difference checks of `AdamStep` (float32: a coarse step) and `SoftmaxVjp`.
pub fn run_grad() {
    check_tol("adam_step", &adam_all, &adam_inputs(), 1e-2, 2e-2, 2e-3);
    let x = r64(&[2, 3, 5], -2.0, 2.0, 21);
    let c = r64(&[2, 3, 5], -1.0, 1.0, 22);
    crate::gradcheck::check("softmax_vjp", &softmax_vjp, &[x, c]);
}

/// vmap checks of `AdamStep` (batched parameters, batched gradient only, batched scalar)
/// and `SoftmaxVjp` (batch axis in the middle, one input unbatched).
pub fn run_vmap() {
    let x = adam_inputs();
    let f = |a: Array| a.astype(Dtype::Float32).unwrap();
    let batched: Vec<Array> = x[..4]
        .iter()
        .enumerate()
        .map(|(i, _)| f(r64(&[3, 2, 4], -1.0, 1.0, 30 + i as u64)))
        .map(|a| ops::abs(&a).unwrap())
        .chain(x[4..].iter().cloned())
        .collect();
    check_vmap(
        "adam_step batched",
        &adam_all,
        &batched,
        &[Some(1), Some(1), Some(1), Some(1), None, None, None],
    );
    let mut only_g = x.clone();
    only_g[1] = f(r64(&[2, 3, 4], -1.0, 1.0, 40));
    check_vmap(
        "adam_step gradient batched",
        &adam_all,
        &only_g,
        &[None, Some(0), None, None, None, None, None],
    );
    let mut lr = x.clone();
    lr[4] = f(r64(&[5], 0.01, 0.1, 41));
    check_vmap(
        "adam_step learning rate batched",
        &adam_all,
        &lr,
        &[None, None, None, None, Some(0), None, None],
    );
    let s = r64(&[4, 3, 5], -2.0, 2.0, 42);
    let c = r64(&[4, 5], -1.0, 1.0, 43);
    check_vmap("softmax_vjp", &softmax_vjp, &[s, c], &[Some(1), None]);
}
