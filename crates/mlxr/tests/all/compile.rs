//! `compile`: compiled functions give the uncompiled results (and NumPy's) for an MLP
//! training step, attention, reductions and indexing; the function is traced once per
//! signature (counted in the closure), again on a new shape, once for all shapes when
//! shapeless; captured constants, CSE/DCE node counts, composition with grad / vmap, the
//! global switch, random numbers and the errors.

use crate::common::{assert_close, numpy, rand};
use mlxr::ops::{self, IndexArg, SliceArg};
use mlxr::{compile, Array, Dtype, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

fn r32(shape: &[usize], seed: u64) -> Array {
    rand(shape, Dtype::Float32, -1.0, 1.0, seed)
}

/// Bitwise equality (the replay runs the same kernels on the same inputs).
fn same(got: &[Array], want: &[Array], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.shape(), w.shape(), "{what}: shape");
        assert_eq!(g.dtype(), w.dtype(), "{what}: dtype");
        assert_eq!(
            g.to_bytes().unwrap(),
            w.to_bytes().unwrap(),
            "{what}: values"
        );
    }
}

/// Serialises this module's tests: one of them turns the global switch off for a moment,
/// and the others count traces.
fn guard() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A counter of calls.
fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// One SGD step of a two-layer MLP with a mean squared error loss: returns the loss and the
/// updated parameters.
fn mlp_step(a: &[Array]) -> Result<Vec<Array>> {
    let (w1, b1, w2, b2, x, y) = (&a[0], &a[1], &a[2], &a[3], &a[4], &a[5]);
    let loss = |p: &[Array]| -> Result<Vec<Array>> {
        let h = ops::maximum(&ops::add(&ops::matmul(x, &p[0])?, &p[1])?, 0.0)?;
        let o = ops::add(&ops::matmul(&h, &p[2])?, &p[3])?;
        let d = ops::subtract(&o, y)?;
        Ok(vec![ops::mean(&ops::multiply(&d, &d)?, None, false)?])
    };
    let vg = mlxr::value_and_grad(loss, &[0, 1, 2, 3]);
    let (l, g) = vg(&[w1.clone(), b1.clone(), w2.clone(), b2.clone()])?;
    let mut out = vec![l[0].clone()];
    for (p, gp) in [w1, b1, w2, b2].iter().zip(&g) {
        out.push(ops::subtract(p, &ops::multiply(gp, 0.1)?)?);
    }
    Ok(out)
}

#[test]
fn compile_mlp_step_matches_uncompiled_and_numpy() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        mlp_step(a)
    });
    let mut params = vec![r32(&[5, 8], 1), r32(&[8], 2), r32(&[8, 3], 3), r32(&[3], 4)];
    let mut ref_params = params.clone();
    for step in 0..4u64 {
        let x = r32(&[6, 5], 10 + step);
        let y = r32(&[6, 3], 20 + step);
        let mut args = params.clone();
        args.extend([x.clone(), y.clone()]);
        let got = c.call(&args).unwrap();
        let mut rargs = ref_params.clone();
        rargs.extend([x.clone(), y.clone()]);
        let want = mlp_step(&rargs).unwrap();
        same(&got, &want, &format!("mlp step {step}"));
        if step == 0 {
            let np = numpy(
                "\
                 h = np.maximum(x @ w1 + b1, 0); o = h @ w2 + b2; r = o - y\n\
                 go = 2 * r / r.size\n\
                 gw2 = h.T @ go; gb2 = go.sum(0); gh = go @ w2.T * (h > 0)\n\
                 gw1 = x.T @ gh; gb1 = gh.sum(0)\n\
                 out = [np.float32((r * r).mean()), w1 - 0.1 * gw1, b1 - 0.1 * gb1, \
                 w2 - 0.1 * gw2, b2 - 0.1 * gb2]",
                &[
                    ("w1", &params[0]),
                    ("b1", &params[1]),
                    ("w2", &params[2]),
                    ("b2", &params[3]),
                    ("x", &x),
                    ("y", &y),
                ],
            );
            for (g, w) in got.iter().zip(&np) {
                assert_close(g, w, 1e-4, 1e-5, "mlp step vs numpy");
            }
        }
        params = got[1..].to_vec();
        ref_params = want[1..].to_vec();
    }
    assert_eq!(
        n.load(Ordering::Relaxed),
        1,
        "traced once for four same-shaped calls"
    );
    assert_eq!(c.num_traces(), 1);
}

fn attention(a: &[Array]) -> Result<Vec<Array>> {
    let (q, k, v) = (&a[0], &a[1], &a[2]);
    let s = ops::multiply(&ops::matmul(q, &ops::swapaxes(k, -1, -2)?)?, 0.5)?;
    let p = ops::softmax(&s, Some(&[-1]), false)?;
    Ok(vec![ops::matmul(&p, v)?, p])
}

#[test]
fn compile_attention_and_softmax() {
    let _g = guard();
    let c = compile(attention);
    for seed in 0..2u64 {
        let (q, k, v) = (
            r32(&[2, 4, 8], seed * 3 + 1),
            r32(&[2, 6, 8], seed * 3 + 2),
            r32(&[2, 6, 8], seed * 3 + 3),
        );
        let got = c.call(&[q.clone(), k.clone(), v.clone()]).unwrap();
        same(
            &got,
            &attention(&[q.clone(), k.clone(), v.clone()]).unwrap(),
            "attention",
        );
        let np = numpy(
            "\
             s = q @ np.swapaxes(k, -1, -2) * 0.5\n\
             e = np.exp(s - s.max(-1, keepdims=True)); p = e / e.sum(-1, keepdims=True)\n\
             out = [p @ v, p]",
            &[("q", &q), ("k", &k), ("v", &v)],
        );
        assert_close(&got[0], &np[0], 1e-5, 1e-6, "attention vs numpy");
        assert_close(&got[1], &np[1], 1e-5, 1e-6, "softmax vs numpy");
    }
    assert_eq!(c.num_traces(), 1);
}

fn reductions(a: &[Array]) -> Result<Vec<Array>> {
    let x = &a[0];
    Ok(vec![
        ops::sum(x, Some(&[0]), false)?,
        ops::max(x, Some(&[1]), true)?,
        ops::mean(x, None, false)?,
        ops::logsumexp(x, Some(&[-1]), false)?,
        ops::argmax(x, Some(1), false)?,
    ])
}

#[test]
fn compile_reductions() {
    let _g = guard();
    let c = compile(reductions);
    for seed in 0..3 {
        let x = r32(&[4, 7], 40 + seed);
        same(
            &c.call(std::slice::from_ref(&x)).unwrap(),
            &reductions(std::slice::from_ref(&x)).unwrap(),
            "reductions",
        );
    }
    assert_eq!(c.num_traces(), 1);
}

fn indexing(a: &[Array]) -> Result<Vec<Array>> {
    let (x, idx) = (&a[0], &a[1]);
    let rows = ops::take(x, idx, Some(0))?;
    let sl = ops::get_item(
        x,
        &[
            IndexArg::Basic(SliceArg::Range {
                start: Some(1),
                stop: None,
                step: 2,
            }),
            IndexArg::Basic(SliceArg::Index(-1)),
        ],
    )?;
    let upd = x.at(&[IndexArg::Array(idx.clone())]).add(1.0)?;
    Ok(vec![ops::multiply(&rows, 2.0)?, sl, upd])
}

#[test]
fn compile_indexing() {
    let _g = guard();
    let c = compile(indexing);
    for seed in 0..2u64 {
        let x = r32(&[5, 3], 50 + seed);
        let idx = Array::from_slice(&[4i32, 0, 4, seed as i32], &[4]).unwrap();
        let args = [x.clone(), idx.clone()];
        let got = c.call(&args).unwrap();
        same(&got, &indexing(&args).unwrap(), "indexing");
        let np = numpy(
            "u = x.copy(); np.add.at(u, idx, 1.0)\n\
             out = [x[idx] * 2, x[1::2, -1], u]",
            &[("x", &x), ("idx", &idx)],
        );
        for (g, w) in got.iter().zip(&np) {
            assert_close(g, w, 1e-6, 1e-6, "indexing vs numpy");
        }
    }
    assert_eq!(c.num_traces(), 1);
}

#[test]
fn compile_cache_hit_and_retrace() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        Ok(vec![ops::tanh(&ops::add(&a[0], &a[1])?)?])
    });
    let f = |x: &Array, y: &Array| {
        let got = c.call(&[x.clone(), y.clone()]).unwrap();
        let want = ops::tanh(&ops::add(x, y).unwrap()).unwrap();
        same(&got, &[want], "tanh(x + y)");
    };
    for s in 0..3 {
        f(&r32(&[3], s), &r32(&[3], s + 10));
    }
    assert_eq!(n.load(Ordering::Relaxed), 1, "same shapes: traced once");
    f(&r32(&[2, 3], 1), &r32(&[2, 3], 2));
    assert_eq!(n.load(Ordering::Relaxed), 2, "new shape: traced again");
    f(&r32(&[3], 5), &r32(&[3], 6));
    assert_eq!(
        n.load(Ordering::Relaxed),
        2,
        "the first shape is still cached"
    );
    // Broadcasting inputs of another shape and a new dtype retrace too.
    f(&r32(&[2, 3], 1), &r32(&[3], 2));
    f(&rand(&[3], Dtype::Float64, -1.0, 1.0, 3), &r32(&[3], 2));
    assert_eq!(n.load(Ordering::Relaxed), 4);
    assert_eq!(c.cache_size(), 4);
}

#[test]
fn compile_shapeless_reuses_the_trace() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    let body = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        let e = ops::exp(&ops::multiply(x, x)?)?;
        let s = ops::sum(&e, Some(&[-1]), false)?;
        let sm = ops::softmax(x, Some(&[-1]), false)?;
        Ok(vec![ops::subtract(&e, x)?, s, sm, ops::matmul(x, &a[1])?])
    };
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        body(a)
    })
    .shapeless(true);
    for (i, (b, d)) in [(2usize, 3usize), (5, 3), (1, 4), (7, 2)]
        .iter()
        .enumerate()
    {
        let x = r32(&[*b, *d], 60 + i as u64);
        let w = r32(&[*d, 2], 70 + i as u64);
        let args = [x, w];
        same(&c.call(&args).unwrap(), &body(&args).unwrap(), "shapeless");
    }
    // (1, 4): a unit axis at trace time is not a pattern the first trace can follow.
    assert!(
        n.load(Ordering::Relaxed) <= 2,
        "shapeless: {} traces",
        n.load(Ordering::Relaxed)
    );
    // Another number of axes is a new signature.
    let x = r32(&[2, 2, 3], 80);
    let w = r32(&[2, 3, 2], 81);
    same(
        &c.call(&[x.clone(), w.clone()]).unwrap(),
        &body(&[x, w]).unwrap(),
        "3-d",
    );
}

#[test]
fn compile_shapeless_broadcasts_captured_arrays_again() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    let (w, bias) = (r32(&[3, 4], 90), r32(&[4], 91));
    let (w2, b2) = (w.clone(), bias.clone());
    // A linear layer with a ReLU: the bias (and the scalar 0) are broadcast to the batch
    // size of the trace; a replay broadcasts them again to the new batch size.
    let layer = move |a: &[Array]| -> Result<Vec<Array>> {
        let h = ops::add(&ops::matmul(&a[0], &w2)?, &b2)?;
        Ok(vec![ops::maximum(&h, 0.0)?])
    };
    let l2 = layer.clone();
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        l2(a)
    })
    .shapeless(true);
    for b in [2usize, 5, 3] {
        let x = r32(&[b, 3], b as u64);
        let got = c.call(std::slice::from_ref(&x)).unwrap();
        same(
            &got,
            &layer(std::slice::from_ref(&x)).unwrap(),
            "relu(x @ w + b)",
        );
        let np = numpy(
            "out = np.maximum(x @ w + bias, 0)",
            &[("x", &x), ("w", &w), ("bias", &bias)],
        );
        assert_close(&got[0], &np[0], 1e-5, 1e-6, "shapeless layer vs numpy");
    }
    assert_eq!(
        n.load(Ordering::Relaxed),
        1,
        "one trace for every batch size"
    );
}

#[test]
fn compile_shapeless_falls_back_to_tracing() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    // A flatten is a reshape to a size the trace fixed: new shapes trace again (and give
    // the right result).
    let body = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::multiply(&ops::reshape(&a[0], &[-1])?, 2.0)?])
    };
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        body(a)
    })
    .shapeless(true);
    for b in [2usize, 4, 4, 2] {
        let x = r32(&[b, 3], b as u64);
        same(
            &c.call(std::slice::from_ref(&x)).unwrap(),
            &body(std::slice::from_ref(&x)).unwrap(),
            "flatten",
        );
    }
    assert_eq!(n.load(Ordering::Relaxed), 2);
}

#[test]
fn compile_captured_constants_are_baked_in() {
    let _g = guard();
    let w = Arc::new(Mutex::new(r32(&[3], 100)));
    let w0 = w.lock().unwrap().clone();
    let lazy = ops::exp(&r32(&[3], 101)).unwrap(); // an unevaluated captured graph
    let (wc, lc) = (w.clone(), lazy.clone());
    let c = compile(move |a: &[Array]| {
        let w = wc.lock().unwrap().clone();
        Ok(vec![ops::add(&ops::multiply(&a[0], &w)?, &lc)?])
    });
    let x = r32(&[3], 102);
    let want = ops::add(ops::multiply(&x, &w0).unwrap(), &lazy).unwrap();
    same(
        &c.call(std::slice::from_ref(&x)).unwrap(),
        std::slice::from_ref(&want),
        "constants",
    );
    // Rebinding the captured array does not change the compiled function (as in MLX).
    *w.lock().unwrap() = r32(&[3], 103);
    same(
        &c.call(std::slice::from_ref(&x)).unwrap(),
        &[want],
        "constants after rebinding",
    );
    let info = c.graph_info(std::slice::from_ref(&x)).unwrap();
    assert_eq!(info.constants, 2);
    assert_eq!(info.nodes, 2);
}

#[test]
fn compile_grad_of_compiled_and_compiled_grad() {
    let _g = guard();
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(
            &ops::multiply(&ops::sin(&a[0])?, &a[1])?,
            None,
            false,
        )?])
    };
    let c = compile(f);
    let x = rand(&[4], Dtype::Float64, -1.0, 1.0, 110);
    let y = rand(&[4], Dtype::Float64, -1.0, 1.0, 111);
    let args = [x.clone(), y.clone()];
    let want = mlxr::grad(f, &[0, 1])(&args).unwrap();
    let got = mlxr::grad(c.as_fn(), &[0, 1])(&args).unwrap();
    same(&got, &want, "grad of compiled");
    let np = numpy("out = [np.cos(x) * y, np.sin(x)]", &[("x", &x), ("y", &y)]);
    assert_close(&got[0], &np[0], 1e-12, 1e-12, "grad x vs numpy");
    assert_close(&got[1], &np[1], 1e-12, 1e-12, "grad y vs numpy");
    // Compile of a gradient function.
    let n = counter();
    let n2 = n.clone();
    let cg = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        mlxr::grad(f, &[0, 1])(a)
    });
    same(&cg.call(&args).unwrap(), &want, "compiled grad");
    let x2 = rand(&[4], Dtype::Float64, -1.0, 1.0, 112);
    same(
        &cg.call(&[x2.clone(), y.clone()]).unwrap(),
        &mlxr::grad(f, &[0, 1])(&[x2, y.clone()]).unwrap(),
        "compiled grad, second call",
    );
    assert_eq!(n.load(Ordering::Relaxed), 1);
    // Second order: grad of grad through the compiled function.
    let gx = move |a: &[Array]| -> Result<Vec<Array>> {
        let g = mlxr::grad(c.as_fn(), &[0])(a)?;
        Ok(vec![ops::sum(&g[0], None, false)?])
    };
    let h = mlxr::grad(gx, &[0])(&args).unwrap();
    let np = numpy("out = -np.sin(x) * y", &[("x", &x), ("y", &y)]);
    assert_close(&h[0], &np[0], 1e-12, 1e-12, "grad of grad of compiled");
}

#[test]
fn compile_vmap_of_compiled() {
    let _g = guard();
    let f =
        |a: &[Array]| -> Result<Vec<Array>> { Ok(vec![ops::matmul(&a[0], &ops::exp(&a[1])?)?]) };
    let c = compile(f);
    let x = r32(&[5, 2, 3], 120);
    let w = r32(&[3, 4], 121);
    let vm = mlxr::vmap(c.as_fn(), &[Some(0), None], &[Some(0)]);
    let got = vm(&[x.clone(), w.clone()]).unwrap();
    let want = mlxr::vmap(f, &[Some(0), None], &[Some(0)])(&[x.clone(), w.clone()]).unwrap();
    same(&got, &want, "vmap of compiled");
    let np = numpy("out = x @ np.exp(w)", &[("x", &x), ("w", &w)]);
    assert_close(&got[0], &np[0], 1e-5, 1e-6, "vmap of compiled vs numpy");
    // Compile of a vmapped function.
    let cv = compile(move |a: &[Array]| mlxr::vmap(f, &[Some(0), None], &[Some(0)])(a));
    same(&cv.call(&[x, w]).unwrap(), &want, "compiled vmap");
}

#[test]
fn compile_merges_common_subexpressions_and_drops_dead_code() {
    let _g = guard();
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        let e1 = ops::exp(x)?;
        let e2 = ops::exp(x)?; // same as e1
        let s1 = ops::multiply(&e1, 2.0)?;
        let s2 = ops::multiply(&e2, 2.0)?; // same as s1 once e2 is e1 (equal scalars merge)
        let _dead = ops::sin(&ops::cos(x)?)?; // never used
        Ok(vec![ops::add(&s1, &s2)?])
    };
    let c = compile(f);
    let x = r32(&[6], 130);
    let info = c.graph_info(std::slice::from_ref(&x)).unwrap();
    assert_eq!(info.traced_nodes, 5, "exp, exp, multiply, multiply, add");
    assert_eq!(info.nodes, 3, "exp, multiply, add");
    assert_eq!(info.constants, 1, "the scalar 2.0 once");
    same(
        &c.call(std::slice::from_ref(&x)).unwrap(),
        &f(std::slice::from_ref(&x)).unwrap(),
        "simplified graph",
    );
    // Different parameters do not merge.
    let g = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            ops::sum(&a[0], Some(&[0]), true)?,
            ops::sum(&a[0], Some(&[1]), true)?,
            ops::sum(&a[0], Some(&[0]), true)?,
        ])
    };
    let cg = compile(g);
    let y = r32(&[2, 3], 131);
    assert_eq!(cg.graph_info(std::slice::from_ref(&y)).unwrap().nodes, 2);
    same(
        &cg.call(std::slice::from_ref(&y)).unwrap(),
        &g(std::slice::from_ref(&y)).unwrap(),
        "reductions over different axes",
    );
}

#[test]
fn compile_outputs_inputs_and_constants() {
    let _g = guard();
    let k = r32(&[2], 140);
    let k2 = k.clone();
    let c = compile(move |a: &[Array]| Ok(vec![a[0].clone(), k2.clone(), ops::negative(&a[0])?]));
    let x = r32(&[2], 141);
    let out = c.call(std::slice::from_ref(&x)).unwrap();
    assert!(out[0].is_same(&x), "an input returned as is");
    same(&out[1..2], std::slice::from_ref(&k), "a constant output");
    same(&out[2..], &[ops::negative(&x).unwrap()], "negative");
}

#[test]
fn compile_disable_and_enable() {
    let _g = guard();
    let n = counter();
    let n2 = n.clone();
    let c = compile(move |a: &[Array]| {
        n2.fetch_add(1, Ordering::Relaxed);
        Ok(vec![ops::multiply(&a[0], 3.0)?])
    });
    let x = r32(&[2], 150);
    mlxr::disable_compile();
    assert!(!mlxr::transforms::compile_enabled());
    c.call(std::slice::from_ref(&x)).unwrap();
    c.call(std::slice::from_ref(&x)).unwrap();
    mlxr::enable_compile();
    let disabled_calls = n.load(Ordering::Relaxed);
    c.call(std::slice::from_ref(&x)).unwrap();
    c.call(std::slice::from_ref(&x)).unwrap();
    assert_eq!(
        disabled_calls, 2,
        "disabled: the function runs on every call"
    );
    assert_eq!(n.load(Ordering::Relaxed), 3, "enabled: traced once");
}

#[test]
fn compile_random_state() {
    let _g = guard();
    // Without the key as an input, samples inside the function are constants of the trace.
    let c = compile(|a: &[Array]| {
        Ok(vec![ops::add(
            &a[0],
            &mlxr::random::uniform(0.0, 1.0, &[3], Dtype::Float32, None)?,
        )?])
    });
    let z = ops::zeros(&[3], Some(Dtype::Float32)).unwrap();
    let a = c.call(std::slice::from_ref(&z)).unwrap();
    let b = c.call(std::slice::from_ref(&z)).unwrap();
    same(&a, &b, "the same numbers on every call");
    // With the global key passed in and out, the numbers follow the global sequence.
    let draw = |a: &[Array]| -> Result<Vec<Array>> {
        mlxr::random::set_state(&a[1])?;
        let u = mlxr::random::uniform(0.0, 1.0, &[3], Dtype::Float32, None)?;
        Ok(vec![ops::add(&a[0], &u)?, mlxr::random::state()])
    };
    let cs = compile(draw);
    mlxr::random::seed(7);
    let mut got = vec![];
    for _ in 0..3 {
        let o = cs.call(&[z.clone(), mlxr::random::state()]).unwrap();
        mlxr::random::set_state(&o[1]).unwrap();
        got.push(o[0].clone());
    }
    mlxr::random::seed(7);
    for (i, g) in got.iter().enumerate() {
        let want = mlxr::random::uniform(0.0, 1.0, &[3], Dtype::Float32, None).unwrap();
        same(std::slice::from_ref(g), &[want], &format!("draw {i}"));
    }
    assert_ne!(got[0].to_bytes().unwrap(), got[1].to_bytes().unwrap());
    assert_eq!(cs.num_traces(), 1);
    mlxr::random::seed(0);
}

#[test]
fn compile_errors() {
    let _g = guard();
    // Reading a value that depends on an input while tracing.
    let c = compile(|a: &[Array]| {
        let v = a[0].item::<f32>()?;
        Ok(vec![ops::multiply(&a[0], v)?])
    });
    let e = c.call(&[Array::scalar(2.0f32)]).unwrap_err();
    assert!(e.to_string().contains("compile"), "{e}");
    // A wrong number of inputs.
    let c = compile(|a: &[Array]| Ok(vec![ops::add(&a[0], &a[1])?])).num_inputs(2);
    let e = c.call(&[Array::scalar(1.0f32)]).unwrap_err();
    assert!(e.to_string().contains("takes 2 inputs"), "{e}");
    // An op error inside the function comes back unchanged (and nothing is cached).
    let e = c.call(&[r32(&[2], 1), r32(&[3], 2)]).unwrap_err();
    assert!(e.to_string().contains("broadcast"), "{e}");
    assert_eq!(c.cache_size(), 0);
}
