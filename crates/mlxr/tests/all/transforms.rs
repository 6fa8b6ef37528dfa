//! The transformations themselves: captured constants, several outputs and argnums,
//! higher-order gradients (Hessian-vector products against finite differences of
//! gradients), vmap of grad and grad of vmap, stop_gradient, custom functions, checkpoint,
//! value_and_grad over trees, tree utilities and the errors of each.

use crate::gradcheck::r64;
use mlxr::tree::{tree_flatten, tree_map, tree_map_with_path, tree_unflatten};
use mlxr::{ops, Array, Dtype, Result, Tree};

fn v(a: &Array) -> Vec<f64> {
    a.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap()
}

fn close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: got {got:?} want {want:?}"
        );
    }
}

#[test]
fn captured_arrays_are_constants() {
    let c_lazy = ops::exp(&r64(&[4], -1.0, 1.0, 1)).unwrap(); // not evaluated yet
    let c_eval = r64(&[4], -1.0, 1.0, 2);
    c_eval.eval().unwrap();
    let x = r64(&[4], -1.0, 1.0, 3);
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let y = ops::multiply(&ops::multiply(&a[0], &c_lazy)?, &c_eval)?;
        Ok(vec![ops::sum(&y, None, false)?])
    };
    let g = mlxr::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = v(&c_lazy)
        .iter()
        .zip(v(&c_eval))
        .map(|(a, b)| a * b)
        .collect();
    close(&v(&g[0]), &want, 1e-12, "grad with captured arrays");
    // The captured arrays are still usable and unchanged afterwards.
    close(
        &v(&ops::multiply(&c_lazy, 1.0).unwrap()),
        &v(&c_lazy),
        0.0,
        "captured array intact",
    );
}

#[test]
fn several_outputs_and_argnums() {
    let x = r64(&[3], -1.0, 1.0, 4);
    let y = r64(&[3], -1.0, 1.0, 5);
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::multiply(&a[0], &a[1])?, ops::sin(&a[0])?])
    };
    let c0 = r64(&[3], -1.0, 1.0, 6);
    let c1 = r64(&[3], -1.0, 1.0, 7);
    let (outs, g) = mlxr::vjp(f, &[x.clone(), y.clone()], &[c0.clone(), c1.clone()]).unwrap();
    assert_eq!(outs.len(), 2);
    let (xv, yv, c0v, c1v) = (v(&x), v(&y), v(&c0), v(&c1));
    let gx: Vec<f64> = (0..3)
        .map(|i| c0v[i] * yv[i] + c1v[i] * xv[i].cos())
        .collect();
    let gy: Vec<f64> = (0..3).map(|i| c0v[i] * xv[i]).collect();
    close(&v(&g[0]), &gx, 1e-12, "vjp x");
    close(&v(&g[1]), &gy, 1e-12, "vjp y");
    // grad with argnums [1] only, and value_and_grad's auxiliary outputs.
    let h = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            ops::sum(&ops::multiply(&a[0], &a[1])?, None, false)?,
            ops::exp(&a[0])?,
        ])
    };
    let (vals, g) = mlxr::value_and_grad(h, &[1])(&[x.clone(), y.clone()]).unwrap();
    assert_eq!(vals.len(), 2);
    assert_eq!(g.len(), 1);
    close(&v(&g[0]), &xv, 1e-12, "grad argnums [1]");
    // jvp with two tangents.
    let (_, t) = mlxr::jvp(f, &[x.clone(), y.clone()], &[c0.clone(), c1.clone()]).unwrap();
    let t0: Vec<f64> = (0..3).map(|i| c0v[i] * yv[i] + xv[i] * c1v[i]).collect();
    let t1: Vec<f64> = (0..3).map(|i| xv[i].cos() * c0v[i]).collect();
    close(&v(&t[0]), &t0, 1e-12, "jvp out 0");
    close(&v(&t[1]), &t1, 1e-12, "jvp out 1");
}

#[test]
fn higher_order_gradients() {
    let x = r64(&[5], -1.5, 1.5, 8);
    let cube = |a: &[Array]| -> Result<Vec<Array>> {
        let x3 = ops::multiply(&ops::multiply(&a[0], &a[0])?, &a[0])?;
        Ok(vec![ops::sum(
            &ops::add(&x3, &ops::sin(&a[0])?)?,
            None,
            false,
        )?])
    };
    // d/dx sum(x^3 + sin x) = 3x^2 + cos x; second derivative (of the sum of the first) 6x - sin x.
    let g1 = mlxr::grad(cube, &[0]);
    let sum_g1 =
        |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::sum(&g1(a)?[0], None, false)?]) };
    let g2 = mlxr::grad(sum_g1, &[0])(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = v(&x).iter().map(|x| 6.0 * x - x.sin()).collect();
    close(&v(&g2[0]), &want, 1e-10, "grad of grad");
    // Third order: 6 - cos x.
    let g2f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(
            &mlxr::grad(sum_g1, &[0])(a)?[0],
            None,
            false,
        )?])
    };
    let g3 = mlxr::grad(g2f, &[0])(std::slice::from_ref(&x)).unwrap();
    let want: Vec<f64> = v(&x).iter().map(|x| 6.0 - x.cos()).collect();
    close(&v(&g3[0]), &want, 1e-10, "third order");
    // jvp of grad (forward-over-reverse) equals the Hessian-vector product.
    let t = r64(&[5], -1.0, 1.0, 9);
    let (_, hv) = mlxr::jvp(
        |a: &[Array]| g1(a),
        std::slice::from_ref(&x),
        std::slice::from_ref(&t),
    )
    .unwrap();
    let want: Vec<f64> = v(&x)
        .iter()
        .zip(v(&t))
        .map(|(x, t)| (6.0 * x - x.sin()) * t)
        .collect();
    close(&v(&hv[0]), &want, 1e-10, "jvp of grad");
}

/// The loss of a 2-layer MLP with a tanh hidden layer.
fn mlp_loss(p: &[Array], x: &Array, y: &Array) -> Result<Array> {
    let h = ops::tanh(&ops::add(&ops::matmul(x, &p[0])?, &p[1])?)?;
    let o = ops::add(&ops::matmul(&h, &p[2])?, &p[3])?;
    let d = ops::subtract(&o, y)?;
    ops::mean(&ops::square(&d)?, None, false)
}

#[test]
fn mlp_hessian_vector_products_match_finite_differences() {
    let x = r64(&[6, 4], -1.0, 1.0, 10);
    let y = r64(&[6, 3], -1.0, 1.0, 11);
    let params = vec![
        r64(&[4, 5], -0.7, 0.7, 12),
        r64(&[5], -0.2, 0.2, 13),
        r64(&[5, 3], -0.7, 0.7, 14),
        r64(&[3], -0.2, 0.2, 15),
    ];
    let loss = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![mlp_loss(p, &x, &y)?]) };
    let grad = mlxr::grad(loss, &[0, 1, 2, 3]);
    let dirs: Vec<Array> = params
        .iter()
        .enumerate()
        .map(|(i, p)| r64(p.shape(), -1.0, 1.0, 20 + i as u64))
        .collect();
    // Reverse-over-reverse: grad of <grad(p), v>.
    let gv = |p: &[Array]| -> Result<Vec<Array>> {
        let g = grad(p)?;
        let mut s = Array::scalar(0.0f64);
        for (gi, di) in g.iter().zip(&dirs) {
            s = ops::add(&s, &ops::sum(&ops::multiply(gi, di)?, None, false)?)?;
        }
        Ok(vec![s])
    };
    let hvp_rr = mlxr::grad(gv, &[0, 1, 2, 3])(&params).unwrap();
    // Forward-over-reverse.
    let (_, hvp_fr) = mlxr::jvp(|p: &[Array]| grad(p), &params, &dirs).unwrap();
    // Central finite differences of the gradient along the direction.
    let h = 1e-5;
    let shifted = |s: f64| -> Vec<Array> {
        let p: Vec<Array> = params
            .iter()
            .zip(&dirs)
            .map(|(p, d)| ops::add(p, ops::multiply(d, s).unwrap()).unwrap())
            .collect();
        grad(&p).unwrap()
    };
    let (gp, gm) = (shifted(h), shifted(-h));
    for i in 0..4 {
        let fd: Vec<f64> = v(&gp[i])
            .iter()
            .zip(v(&gm[i]))
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect();
        close(
            &v(&hvp_rr[i]),
            &fd,
            1e-6,
            &format!("reverse-over-reverse HVP, param {i}"),
        );
        close(
            &v(&hvp_fr[i]),
            &fd,
            1e-6,
            &format!("forward-over-reverse HVP, param {i}"),
        );
    }
}

#[test]
fn vmap_of_grad_and_grad_of_vmap() {
    // Per-example gradients: vmap(grad(f)) over the batch of x.
    let w = r64(&[4], -1.0, 1.0, 30);
    let xs = r64(&[5, 4], -1.0, 1.0, 31);
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(
            &ops::tanh(&ops::multiply(&a[0], &a[1])?)?,
            None,
            false,
        )?])
    };
    let per_example =
        mlxr::vmap(mlxr::grad(f, &[0]), &[None, Some(0)], &[Some(0)])(&[w.clone(), xs.clone()])
            .unwrap();
    assert_eq!(per_example[0].shape(), &[5, 4]);
    for b in 0..5 {
        let xb = ops::take_index(&xs, b as i64, Some(0)).unwrap();
        let want = mlxr::grad(f, &[0])(&[w.clone(), xb]).unwrap();
        let got = ops::take_index(&per_example[0], b as i64, Some(0)).unwrap();
        close(&v(&got), &v(&want[0]), 1e-12, "vmap of grad");
    }
    // grad of a vmapped function: d/dw sum_b f(w, x_b).
    let batched = mlxr::vmap(f, &[None, Some(0)], &[Some(0)]);
    let total =
        |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::sum(&batched(a)?[0], None, false)?]) };
    let g = mlxr::grad(total, &[0])(&[w.clone(), xs.clone()]).unwrap();
    let want = ops::sum(&per_example[0], Some(&[0]), false).unwrap();
    close(&v(&g[0]), &v(&want), 1e-12, "grad of vmap");
    // Nested vmap: an outer product through two vmaps.
    let a = r64(&[3], -1.0, 1.0, 32);
    let b = r64(&[4], -1.0, 1.0, 33);
    let mul = |x: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::multiply(&x[0], &x[1])?]) };
    let inner = mlxr::vmap(mul, &[None, Some(0)], &[Some(0)]);
    let outer =
        mlxr::vmap(|x: &[Array]| inner(x), &[Some(0), None], &[Some(0)])(&[a.clone(), b.clone()])
            .unwrap();
    let want = ops::outer(&a, &b).unwrap();
    close(&v(&outer[0]), &v(&want), 1e-12, "nested vmap");
    // out_axes = 1 and an output that does not depend on the mapped input.
    let both = |x: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            ops::exp(&x[0])?,
            ops::ones(&[2], Some(Dtype::Float32))?,
        ])
    };
    let r = mlxr::vmap(both, &[Some(0)], &[Some(1)])(std::slice::from_ref(&xs)).unwrap();
    assert_eq!(r[0].shape(), &[4, 5]);
    assert_eq!(r[1].shape(), &[2, 5]);
}

#[test]
fn stop_gradient_blocks_gradients() {
    let x = r64(&[3], 0.5, 1.5, 40);
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let s = ops::stop_gradient(&ops::square(&a[0])?)?;
        Ok(vec![ops::sum(&ops::add(&s, &a[0])?, None, false)?])
    };
    let g = mlxr::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    close(&v(&g[0]), &[1.0, 1.0, 1.0], 0.0, "stop_gradient");
}

#[test]
fn custom_function_rules_are_used() {
    // sin with a deliberately different vjp (2 * cotangent) and jvp (3 * tangent).
    let cf = mlxr::custom_function(|x: &[Array]| Ok(vec![ops::sin(&x[0])?]))
        .with_vjp(|_p, cot, _o| Ok(vec![ops::multiply(&cot[0], 2.0)?]))
        .with_jvp(|_p, t| Ok(vec![ops::multiply(&t[0], 3.0)?]));
    let x = r64(&[3], -1.0, 1.0, 41);
    let out = cf.call(std::slice::from_ref(&x)).unwrap();
    close(
        &v(&out[0]),
        &v(&ops::sin(&x).unwrap()),
        1e-15,
        "custom forward",
    );
    let f =
        |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::sum(&cf.call(a)?[0], None, false)?]) };
    let g = mlxr::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    close(&v(&g[0]), &[2.0, 2.0, 2.0], 0.0, "custom vjp");
    let t = r64(&[3], -1.0, 1.0, 42);
    let (_, jt) = mlxr::jvp(
        |a: &[Array]| cf.call(a),
        std::slice::from_ref(&x),
        std::slice::from_ref(&t),
    )
    .unwrap();
    close(
        &v(&jt[0]),
        &v(&ops::multiply(&t, 3.0).unwrap()),
        1e-15,
        "custom jvp",
    );
    // Without rules the function itself is transformed.
    let plain = mlxr::custom_function(|x: &[Array]| Ok(vec![ops::sin(&x[0])?]));
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(&plain.call(a)?[0], None, false)?])
    };
    let g = mlxr::grad(f, &[0])(std::slice::from_ref(&x)).unwrap();
    close(&v(&g[0]), &v(&ops::cos(&x).unwrap()), 1e-15, "fallback vjp");
    // A custom vmap rule.
    let cv = mlxr::custom_function(|x: &[Array]| Ok(vec![ops::exp(&x[0])?]))
        .with_vmap(|x, ax| Ok((vec![ops::negative(&x[0])?], vec![ax[0]])));
    let xs = r64(&[2, 3], -1.0, 1.0, 43);
    let r = mlxr::vmap(|a: &[Array]| cv.call(a), &[Some(0)], &[Some(0)])(std::slice::from_ref(&xs))
        .unwrap();
    close(
        &v(&r[0]),
        &v(&ops::negative(&xs).unwrap()),
        0.0,
        "custom vmap",
    );
}

#[test]
fn checkpoint_gives_the_same_gradients() {
    let w = r64(&[4, 4], -0.5, 0.5, 44);
    let x = r64(&[3, 4], -1.0, 1.0, 45);
    let layer = move |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::tanh(&ops::matmul(&a[0], &a[1])?)?])
    };
    let ck = mlxr::checkpoint(layer);
    let f_plain = |a: &[Array]| -> Result<Vec<Array>> {
        let mut h = a[0].clone();
        for _ in 0..3 {
            h = layer(&[h, a[1].clone()])?.remove(0);
        }
        Ok(vec![ops::sum(&h, None, false)?])
    };
    let f_ck = |a: &[Array]| -> Result<Vec<Array>> {
        let mut h = a[0].clone();
        for _ in 0..3 {
            h = ck(&[h, a[1].clone()])?.remove(0);
        }
        Ok(vec![ops::sum(&h, None, false)?])
    };
    let g1 = mlxr::grad(f_plain, &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    let g2 = mlxr::grad(f_ck, &[0, 1])(&[x.clone(), w.clone()]).unwrap();
    for i in 0..2 {
        close(&v(&g2[i]), &v(&g1[i]), 1e-12, "checkpoint gradient");
    }
}

#[test]
fn value_and_grad_over_a_tree_of_parameters() {
    let mut layer0 = Tree::dict();
    layer0
        .insert("weight", r64(&[4, 5], -0.7, 0.7, 50).into())
        .unwrap();
    layer0
        .insert("bias", r64(&[5], -0.2, 0.2, 51).into())
        .unwrap();
    let mut layer1 = Tree::dict();
    layer1
        .insert("weight", r64(&[5, 3], -0.7, 0.7, 52).into())
        .unwrap();
    layer1
        .insert("bias", r64(&[3], -0.2, 0.2, 53).into())
        .unwrap();
    let mut params = Tree::dict();
    params
        .insert("layers", Tree::List(vec![layer0, layer1]))
        .unwrap();
    params.insert("step", Array::scalar(3i32).into()).unwrap();
    let x = r64(&[6, 4], -1.0, 1.0, 54);
    let y = r64(&[6, 3], -1.0, 1.0, 55);
    let leaf = |t: &Tree, p: &str| t.get_path(p).unwrap().as_array().unwrap().clone();
    let loss = |t: &Tree, a: &[Array]| -> Result<Vec<Array>> {
        let p = [
            leaf(t, "layers.0.weight"),
            leaf(t, "layers.0.bias"),
            leaf(t, "layers.1.weight"),
            leaf(t, "layers.1.bias"),
        ];
        Ok(vec![mlp_loss(&p, &a[0], &a[1])?])
    };
    let (vals, grads) = mlxr::value_and_grad_tree(loss)(&params, &[x.clone(), y.clone()]).unwrap();
    let flat = [
        leaf(&params, "layers.0.weight"),
        leaf(&params, "layers.0.bias"),
        leaf(&params, "layers.1.weight"),
        leaf(&params, "layers.1.bias"),
    ];
    let plain = |p: &[Array]| -> Result<Vec<Array>> { Ok(vec![mlp_loss(p, &x, &y)?]) };
    let (pv, pg) = mlxr::value_and_grad(plain, &[0, 1, 2, 3])(&flat).unwrap();
    close(&v(&vals[0]), &v(&pv[0]), 1e-15, "tree value");
    let paths: Vec<String> = tree_flatten(&grads).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.weight",
            "layers.1.bias",
            "step"
        ]
    );
    for (i, p) in [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    .iter()
    .enumerate()
    {
        close(&v(&leaf(&grads, p)), &v(&pg[i]), 1e-15, p);
    }
    assert_eq!(v(&leaf(&grads, "step")), [0.0], "integer leaf is constant");
}

#[test]
fn tree_utilities() {
    let items = vec![
        ("a.0.w".to_string(), Array::scalar(1.0f32)),
        ("a.1.w".to_string(), Array::scalar(2.0f32)),
        ("b".to_string(), Array::scalar(3.0f32)),
    ];
    let t = tree_unflatten(&items).unwrap();
    assert!(matches!(t.get("a"), Some(Tree::List(l)) if l.len() == 2));
    let back: Vec<String> = tree_flatten(&t).into_iter().map(|(p, _)| p).collect();
    assert_eq!(back, ["a.0.w", "a.1.w", "b"]);
    let doubled = tree_map(&t, &mut |a| ops::multiply(a, 2.0)).unwrap();
    assert_eq!(
        doubled
            .get_path("a.1.w")
            .unwrap()
            .as_array()
            .unwrap()
            .item::<f32>()
            .unwrap(),
        4.0
    );
    let mut seen = Vec::new();
    tree_map_with_path(&t, &mut |p, a| {
        seen.push(p.to_string());
        Ok(a.clone())
    })
    .unwrap();
    assert_eq!(seen, ["a.0.w", "a.1.w", "b"]);
    assert_eq!(t.num_leaves(), 3);
}

#[test]
fn transformation_errors() {
    let x = r64(&[3], -1.0, 1.0, 60);
    let i = Array::from_slice(&[1i32, 2, 3], &[3]).unwrap();
    let sum = |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::sum(&a[0], None, false)?]) };
    let e = mlxr::grad(sum, &[0])(std::slice::from_ref(&i))
        .unwrap_err()
        .to_string();
    assert!(e.contains("integer"), "{e}");
    let e = mlxr::grad(sum, &[1])(std::slice::from_ref(&x))
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of range"), "{e}");
    let id = |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::exp(&a[0])?]) };
    let e = mlxr::grad(id, &[0])(std::slice::from_ref(&x))
        .unwrap_err()
        .to_string();
    assert!(e.contains("scalar"), "{e}");
    let e = mlxr::vjp(id, std::slice::from_ref(&x), &[r64(&[4], 0.0, 1.0, 1)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cotangent shape"), "{e}");
    let e = mlxr::vjp(id, std::slice::from_ref(&x), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cotangents"), "{e}");
    let e = mlxr::jvp(id, std::slice::from_ref(&x), &[r64(&[2], 0.0, 1.0, 1)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("tangent shape"), "{e}");
    let e = mlxr::vmap(id, &[Some(1)], &[Some(0)])(std::slice::from_ref(&x))
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of bounds"), "{e}");
    let m = r64(&[2, 3], 0.0, 1.0, 2);
    let add = |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::add(&a[0], &a[1])?]) };
    let e = mlxr::vmap(add, &[Some(0), Some(1)], &[Some(0)])(&[m.clone(), m.clone()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("inconsistent"), "{e}");
    let e = mlxr::vmap(id, &[None], &[Some(0)])(std::slice::from_ref(&x))
        .unwrap_err()
        .to_string();
    assert!(e.contains("non-None"), "{e}");
    // Reading a vmapped value inside the function is a clear error, not a panic.
    let reads = |a: &[Array]| -> Result<Vec<Array>> {
        let _ = a[0].to_vec::<f64>()?;
        Ok(vec![a[0].clone()])
    };
    let e = mlxr::vmap(reads, &[Some(0)], &[Some(0)])(std::slice::from_ref(&m))
        .unwrap_err()
        .to_string();
    assert!(e.contains("vmap"), "{e}");
}
