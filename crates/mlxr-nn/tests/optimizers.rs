//! Optimizers against MLX: ten steps on a fixed problem (gradients a fixed function of the
//! parameters and the step, computed the same way on both sides) give MLX's parameters;
//! schedules give MLX's learning rates; state round-trips; `clip_grad_norm` matches.

mod mlx_ref;

use mlx_ref::{close, mlx, rand};
use mlxr::tree::{tree_flatten, Tree};
use mlxr::{ops, Array, Result};
use mlxr_nn::optimizers::*;

fn params() -> Tree {
    let mut t = Tree::dict();
    t.insert("w", rand(&[3, 4], -1.0, 1.0, 1).into()).unwrap();
    let mut inner = Tree::dict();
    inner.insert("b", rand(&[4], -1.0, 1.0, 2).into()).unwrap();
    t.insert("layer", inner).unwrap();
    t
}

/// The fixed gradients at step `t`: `sin((t + 1) p) + 0.1` for every parameter.
fn grads(p: &Tree, t: usize) -> Result<Tree> {
    mlxr::tree::tree_map(p, &mut |a| {
        ops::add(&ops::sin(&ops::multiply(a, (t + 1) as f32)?)?, 0.1)
    })
}

fn run(opt: &mut dyn Optimizer, steps: usize) -> Tree {
    let mut p = params();
    for t in 0..steps {
        let g = grads(&p, t).unwrap();
        p = opt.apply_gradients(&g, &p).unwrap();
        let mut all: Vec<Array> = tree_flatten(&p).into_iter().map(|(_, a)| a).collect();
        all.extend(opt.state_arrays());
        mlxr::eval(&all).unwrap();
    }
    p
}

const MLX_LOOP: &str = "p = {'w': w, 'layer': {'b': b}}\n\
    from mlx.utils import tree_map\n\
    for t in range(10):\n    g = tree_map(lambda a: mx.sin(a * (t + 1)) + 0.1, p)\n    p = opt.apply_gradients(g, p)\n    mx.eval(p, opt.state)\n\
    out = [p['w'], p['layer']['b']]";

#[test]
fn ten_steps_match_mlx() {
    let cases: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("optim.SGD(0.1)", Box::new(Sgd::new(0.1, 0.0, 0.0, 0.0, false).unwrap())),
        ("optim.SGD(0.1, momentum=0.9, weight_decay=0.01, dampening=0.1)", Box::new(Sgd::new(0.1, 0.9, 0.01, 0.1, false).unwrap())),
        ("optim.SGD(0.05, momentum=0.8, nesterov=True)", Box::new(Sgd::new(0.05, 0.8, 0.0, 0.0, true).unwrap())),
        ("optim.Adam(0.01)", Box::new(Adam::new(0.01, (0.9, 0.999), 1e-8, false).unwrap())),
        ("optim.Adam(0.01, betas=[0.8, 0.99], bias_correction=True)", Box::new(Adam::new(0.01, (0.8, 0.99), 1e-8, true).unwrap())),
        ("optim.AdamW(0.01)", Box::new(AdamW::new(0.01, (0.9, 0.999), 1e-8, 0.01, false).unwrap())),
        ("optim.AdamW(0.02, weight_decay=0.1, bias_correction=True)", Box::new(AdamW::new(0.02, (0.9, 0.999), 1e-8, 0.1, true).unwrap())),
        ("optim.Adamax(0.01)", Box::new(Adamax::new(0.01, (0.9, 0.999), 1e-8).unwrap())),
        ("optim.Lion(0.01, weight_decay=0.1)", Box::new(Lion::new(0.01, (0.9, 0.99), 0.1).unwrap())),
        ("optim.RMSprop(0.01)", Box::new(RMSprop::new(0.01, 0.99, 1e-8).unwrap())),
        ("optim.Adagrad(0.1)", Box::new(Adagrad::new(0.1, 1e-8).unwrap())),
        ("optim.AdaDelta(0.5)", Box::new(AdaDelta::new(0.5, 0.9, 1e-6).unwrap())),
        ("optim.SGD(optim.cosine_decay(0.1, 6, 0.01))", Box::new(Sgd::new(cosine_decay(0.1, 6, 0.01).unwrap(), 0.0, 0.0, 0.0, false).unwrap())),
        (
            "optim.Adam(optim.join_schedules([optim.linear_schedule(0.0, 0.05, 3), optim.exponential_decay(0.05, 0.8)], [3]))",
            Box::new(Adam::new(join_schedules(vec![linear_schedule(0.0, 0.05, 3).unwrap(), exponential_decay(0.05, 0.8)], vec![3]).unwrap(), (0.9, 0.999), 1e-8, false).unwrap()),
        ),
        ("optim.SGD(optim.step_decay(0.1, 0.5, 3))", Box::new(Sgd::new(step_decay(0.1, 0.5, 3).unwrap(), 0.0, 0.0, 0.0, false).unwrap())),
    ];
    let p0 = params();
    let w = p0.get_path("w").unwrap().as_array().unwrap().clone();
    let b = p0.get_path("layer.b").unwrap().as_array().unwrap().clone();
    for (py, mut opt) in cases {
        let got = run(opt.as_mut(), 10);
        let want = mlx(
            &format!("opt = {py}\n{MLX_LOOP}"),
            &[("w", &w), ("b", &b)],
            None,
        );
        // Adam-style normalisation amplifies float32 rounding of near-zero gradients, hence 1e-4.
        close(
            got.get_path("w").unwrap().as_array().unwrap(),
            &want[0],
            1e-4,
            2e-5,
            py,
        );
        close(
            got.get_path("layer.b").unwrap().as_array().unwrap(),
            &want[1],
            1e-4,
            2e-5,
            py,
        );
    }
}

#[test]
fn state_round_trips_and_resumes() {
    let mut a = Adam::new(0.01, (0.9, 0.999), 1e-8, true).unwrap();
    let full = run(&mut a, 10);
    // Five steps, save the state to a file, restore into a fresh optimizer, five more.
    let mut b = Adam::new(0.01, (0.9, 0.999), 1e-8, true).unwrap();
    let mut p = params();
    for t in 0..5 {
        p = b.apply_gradients(&grads(&p, t).unwrap(), &p).unwrap();
    }
    let dir = mlx_ref::scratch();
    let state = b.state().unwrap();
    mlxr::io::save_safetensors(dir.join("opt.safetensors"), &tree_flatten(&state), None).unwrap();
    let loaded = mlxr::tree::tree_unflatten(
        &mlxr::io::load_safetensors(dir.join("opt.safetensors"))
            .unwrap()
            .0,
    )
    .unwrap();
    let mut c = Adam::new(0.01, (0.9, 0.999), 1e-8, true).unwrap();
    c.set_state(&loaded).unwrap();
    assert_eq!(c.base_step(), 5);
    for t in 5..10 {
        p = c.apply_gradients(&grads(&p, t).unwrap(), &p).unwrap();
    }
    close(
        p.get_path("w").unwrap().as_array().unwrap(),
        full.get_path("w").unwrap().as_array().unwrap(),
        1e-6,
        1e-7,
        "resumed",
    );
    assert!(c.set_state(&Tree::dict()).is_err());
}

#[test]
fn clip_grad_norm_matches_mlx() {
    let g = params();
    let (clipped, norm) = clip_grad_norm(&g, 0.5).unwrap();
    let w = g.get_path("w").unwrap().as_array().unwrap().clone();
    let b = g.get_path("layer.b").unwrap().as_array().unwrap().clone();
    let want = mlx(
        "g, n = optim.clip_grad_norm({'w': w, 'layer': {'b': b}}, 0.5)\nout = [g['w'], g['layer']['b'], n]",
        &[("w", &w), ("b", &b)],
        None,
    );
    close(
        clipped.get_path("w").unwrap().as_array().unwrap(),
        &want[0],
        1e-6,
        1e-7,
        "clipped w",
    );
    close(
        clipped.get_path("layer.b").unwrap().as_array().unwrap(),
        &want[1],
        1e-6,
        1e-7,
        "clipped b",
    );
    close(&norm, &want[2], 1e-6, 1e-7, "norm");
    assert!(clip_grad_norm(&g, -1.0).is_err());
    assert!(Sgd::new(0.1, 0.0, 0.0, 0.0, true).is_err());
    assert!(step_decay(0.1, 0.5, 0).is_err());
    assert!(join_schedules(vec![exponential_decay(0.1, 0.9)], vec![3]).is_err());
}

trait StepOf {
    fn base_step(&self) -> u64;
}
impl<R: Rule> StepOf for R {
    fn base_step(&self) -> u64 {
        self.base().step.item::<u64>().unwrap()
    }
}

/// Adafactor on 1-D, 2-D and 3-D parameters (factored second moments for ndim >= 2).
#[test]
fn adafactor_matches_mlx() {
    let mut p0 = params();
    p0.insert("k", rand(&[2, 3, 4], -1.0, 1.0, 3).into())
        .unwrap();
    let cases: Vec<(&str, Adafactor)> = vec![
        ("optim.Adafactor()", Adafactor::new(None).unwrap()),
        (
            "optim.Adafactor(learning_rate=0.01, relative_step=False, scale_parameter=False)",
            Adafactor::with_options(Some(0.01.into()), (1e-30, 1e-3), 1.0, -0.8, None, 0.0, false, false, false).unwrap(),
        ),
        (
            "optim.Adafactor(beta_1=0.9, weight_decay=0.1, warmup_init=True)",
            Adafactor::with_options(None, (1e-30, 1e-3), 1.0, -0.8, Some(0.9), 0.1, true, true, true).unwrap(),
        ),
        (
            "optim.Adafactor(learning_rate=0.05, eps=(1e-20, 1e-2), clip_threshold=0.5, decay_rate=-0.5, beta_1=0.8, relative_step=False)",
            Adafactor::with_options(Some(0.05.into()), (1e-20, 1e-2), 0.5, -0.5, Some(0.8), 0.0, true, false, false).unwrap(),
        ),
        (
            "optim.Adafactor(learning_rate=optim.cosine_decay(0.1, 6, 0.01), relative_step=False, weight_decay=0.05)",
            Adafactor::with_options(Some(cosine_decay(0.1, 6, 0.01).unwrap().into()), (1e-30, 1e-3), 1.0, -0.8, None, 0.05, true, false, false).unwrap(),
        ),
    ];
    let w = p0.get_path("w").unwrap().as_array().unwrap().clone();
    let b = p0.get_path("layer.b").unwrap().as_array().unwrap().clone();
    let k = p0.get_path("k").unwrap().as_array().unwrap().clone();
    for (py, mut opt) in cases {
        let mut p = p0.clone();
        for t in 0..10 {
            let g = grads(&p, t).unwrap();
            p = opt.apply_gradients(&g, &p).unwrap();
            let mut all: Vec<Array> = tree_flatten(&p).into_iter().map(|(_, a)| a).collect();
            all.extend(opt.state_arrays());
            mlxr::eval(&all).unwrap();
        }
        let want = mlx(
            &format!(
                "opt = {py}\np = {{'w': w, 'layer': {{'b': b}}, 'k': k}}\n\
                 from mlx.utils import tree_map\n\
                 for t in range(10):\n    g = tree_map(lambda a: mx.sin(a * (t + 1)) + 0.1, p)\n    p = opt.apply_gradients(g, p)\n    mx.eval(p, opt.state)\n\
                 out = [p['w'], p['layer']['b'], p['k'], opt.state['k']['exp_avg_sq_row'], opt.state['k']['exp_avg_sq_col']]"
            ),
            &[("w", &w), ("b", &b), ("k", &k)],
            None,
        );
        for (i, path) in ["w", "layer.b", "k"].iter().enumerate() {
            close(
                p.get_path(path).unwrap().as_array().unwrap(),
                &want[i],
                1e-4,
                2e-5,
                &format!("{py}: {path}"),
            );
        }
        let st = opt.state().unwrap();
        close(
            st.get_path("k.exp_avg_sq_row").unwrap().as_array().unwrap(),
            &want[3],
            1e-4,
            1e-7,
            &format!("{py}: row state"),
        );
        close(
            st.get_path("k.exp_avg_sq_col").unwrap().as_array().unwrap(),
            &want[4],
            1e-4,
            1e-7,
            &format!("{py}: col state"),
        );
    }
    // State shapes: factored for ndim >= 2, full for 1-D; a learning rate is needed without
    // relative steps.
    let opt = Adafactor::new(None).unwrap();
    let st = opt
        .init_single(&ops::zeros(&[2, 3, 4], None).unwrap())
        .unwrap();
    assert_eq!(st["exp_avg_sq_row"].shape(), &[2, 3]);
    assert_eq!(st["exp_avg_sq_col"].shape(), &[2, 4]);
    assert!(Adafactor::with_options(
        None,
        (1e-30, 1e-3),
        1.0,
        -0.8,
        None,
        0.0,
        true,
        false,
        false
    )
    .is_err());
}

/// Muon on 1-D (plain momentum), 2-D wide and tall (Newton-Schulz on the wide orientation,
/// learning rate scaled for tall matrices) and 3-D parameters (flattened to 2-D).
#[test]
fn muon_matches_mlx() {
    let mut p0 = params();
    p0.insert("k", rand(&[2, 3, 4], -1.0, 1.0, 3).into())
        .unwrap();
    p0.insert("t", rand(&[5, 3], -1.0, 1.0, 4).into()).unwrap();
    let cases: Vec<(&str, Muon)> = vec![
        ("optim.Muon(0.02)", Muon::with_lr(0.02).unwrap()),
        (
            "optim.Muon(0.05, momentum=0.9, weight_decay=0.0, nesterov=False, ns_steps=3)",
            Muon::new(0.05, 0.9, 0.0, false, 3).unwrap(),
        ),
        (
            "optim.Muon(optim.cosine_decay(0.1, 6, 0.01), weight_decay=0.1)",
            Muon::new(cosine_decay(0.1, 6, 0.01).unwrap(), 0.95, 0.1, true, 5).unwrap(),
        ),
    ];
    let names = ["w", "layer.b", "k", "t"];
    let inputs: Vec<(String, Array)> = names
        .iter()
        .map(|n| {
            let a = p0.get_path(n).unwrap().as_array().unwrap().clone();
            (n.replace("layer.", ""), a)
        })
        .collect();
    let refs: Vec<(&str, &Array)> = inputs.iter().map(|(n, a)| (n.as_str(), a)).collect();
    for (py, mut opt) in cases {
        let mut p = p0.clone();
        for t in 0..10 {
            let g = grads(&p, t).unwrap();
            p = opt.apply_gradients(&g, &p).unwrap();
            let mut all: Vec<Array> = tree_flatten(&p).into_iter().map(|(_, a)| a).collect();
            all.extend(opt.state_arrays());
            mlxr::eval(&all).unwrap();
        }
        let want = mlx(
            &format!(
                "opt = {py}\np = {{'w': w, 'layer': {{'b': b}}, 'k': k, 't': t}}\n\
                 from mlx.utils import tree_map\n\
                 for s in range(10):\n    g = tree_map(lambda a: mx.sin(a * (s + 1)) + 0.1, p)\n    p = opt.apply_gradients(g, p)\n    mx.eval(p, opt.state)\n\
                 out = [p['w'], p['layer']['b'], p['k'], p['t'], opt.state['k']['v']]"
            ),
            &refs,
            None,
        );
        for (i, path) in names.iter().enumerate() {
            close(
                p.get_path(path).unwrap().as_array().unwrap(),
                &want[i],
                1e-4,
                2e-5,
                &format!("{py}: {path}"),
            );
        }
        let st = opt.state().unwrap();
        close(
            st.get_path("k.v").unwrap().as_array().unwrap(),
            &want[4],
            1e-4,
            2e-5,
            &format!("{py}: state k.v"),
        );
    }
}
