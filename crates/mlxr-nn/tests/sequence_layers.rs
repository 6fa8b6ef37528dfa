//! Recurrent layers (RNN, GRU, LSTM), the Transformer family and ALiBi against MLX: forward
//! values and parameter gradients with the same weights (saved here as `.safetensors`,
//! loaded strictly by MLX, so the parameter names must be MLX's), batched and unbatched
//! inputs, non-contiguous inputs, initial states, masks, checkpointing, and errors.

mod mlx_ref;

use mlx_ref::{close, mlx, rand, scratch};
use mlxr::tree::tree_flatten;
use mlxr::{ops, Array, Dtype, Result};
use mlxr_nn::layers::*;
use mlxr_nn::{activations, Module, ModuleExt};
use std::sync::Arc;

/// `sum(f(m) * r)` and its gradients with respect to every parameter, in sorted path order
/// (the order of MLX's `sorted(tree_flatten(g))`).
fn grads_sorted<M: Module + Clone>(
    m: &M,
    f: impl Fn(&M, &[Array]) -> Result<Vec<Array>>,
    args: &[Array],
) -> (Array, Vec<(String, Array)>) {
    let (l, g) = mlxr_nn::value_and_grad(f)(m, args).unwrap();
    let mut g = tree_flatten(&g);
    g.sort_by(|a, b| a.0.cmp(&b.0));
    (l[0].clone(), g)
}

const PY_GRADS: &str = "from mlx.utils import tree_flatten\n\
    l, g = nn.value_and_grad(m, f)(m, *args)\n\
    gs = [v for _, v in sorted(tree_flatten(g))]\n\
    names = [k for k, _ in sorted(tree_flatten(g))]";

fn dot(a: &Array, r: &Array) -> Result<Array> {
    ops::sum(&ops::multiply(a, r)?, None, false)
}

/// Compare `[forward outputs..., loss, grads...]` with MLX's, and the gradient names.
fn compare(what: &str, got: &[Array], grads: &[(String, Array)], want: &[Array]) {
    assert_eq!(got.len() + grads.len(), want.len(), "{what}: output count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(g, w, 2e-4, 2e-5, &format!("{what}: output {i}"));
    }
    for ((name, g), w) in grads.iter().zip(&want[got.len()..]) {
        close(g, w, 2e-3, 2e-5, &format!("{what}: grad {name}"));
    }
}

#[test]
fn rnn_matches_mlx() {
    let d = scratch();
    let x = rand(&[2, 5, 4], -1.0, 1.0, 1);
    // Unbatched and non-contiguous: (5, 4) as the transpose of (4, 5).
    let xu = ops::transpose(&rand(&[4, 5], -1.0, 1.0, 2)).unwrap();
    let h0 = rand(&[2, 6], -1.0, 1.0, 3);
    let r = rand(&[2, 5, 6], -1.0, 1.0, 4);
    for (bias, relu) in [(true, false), (false, true)] {
        let m = RNN::new(
            4,
            6,
            bias,
            if relu {
                Some(Arc::new(activations::relu))
            } else {
                None
            },
        )
        .unwrap();
        m.save_weights(d.join("m.safetensors")).unwrap();
        let got = vec![
            m.forward(&x, None).unwrap(),
            m.forward(&x, Some(&h0)).unwrap(),
            m.forward(&xu, None).unwrap(),
        ];
        let (l, g) = grads_sorted(
            &m,
            |m: &RNN, a| Ok(vec![dot(&m.forward(&a[0], Some(&a[1]))?, &a[2])?]),
            &[x.clone(), h0.clone(), r.clone()],
        );
        let py = format!(
            "m = nn.RNN(4, 6, bias={}{}); m.load_weights(os.path.join(d, 'm.safetensors'))\n\
             f = lambda m, x, h, r: (m(x, h) * r).sum()\nargs = [x, h0, r]\n{PY_GRADS}\n\
             out = [m(x), m(x, h0), m(xu), l] + gs",
            if bias { "True" } else { "False" },
            if relu { ", nonlinearity=nn.relu" } else { "" }
        );
        let want = mlx(
            &py,
            &[("x", &x), ("xu", &xu), ("h0", &h0), ("r", &r)],
            Some(&d),
        );
        let mut all = got;
        all.push(l);
        compare(&format!("RNN bias={bias}"), &all, &g, &want);
        let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            if bias {
                vec!["Whh", "Wxh", "bias"]
            } else {
                vec!["Whh", "Wxh"]
            }
        );
    }
}

#[test]
fn gru_matches_mlx() {
    let d = scratch();
    let x = rand(&[3, 4, 5], -1.0, 1.0, 11);
    let xu = rand(&[4, 5], -1.0, 1.0, 12);
    let h0 = rand(&[3, 6], -1.0, 1.0, 13);
    let hu = rand(&[6], -1.0, 1.0, 14);
    let r = rand(&[3, 4, 6], -1.0, 1.0, 15);
    for bias in [true, false] {
        let m = GRU::new(5, 6, bias).unwrap();
        m.save_weights(d.join("m.safetensors")).unwrap();
        let got = vec![
            m.forward(&x, None).unwrap(),
            m.forward(&x, Some(&h0)).unwrap(),
            m.forward(&xu, Some(&hu)).unwrap(),
        ];
        // Gradients with and without an initial state (the first step differs).
        let (l, g) = grads_sorted(
            &m,
            |m: &GRU, a| {
                let y = ops::add(
                    &dot(&m.forward(&a[0], Some(&a[1]))?, &a[2])?,
                    &dot(&m.forward(&a[0], None)?, &a[2])?,
                )?;
                Ok(vec![y])
            },
            &[x.clone(), h0.clone(), r.clone()],
        );
        let py = format!(
            "m = nn.GRU(5, 6, bias={}); m.load_weights(os.path.join(d, 'm.safetensors'))\n\
             f = lambda m, x, h, r: (m(x, h) * r).sum() + (m(x) * r).sum()\nargs = [x, h0, r]\n{PY_GRADS}\n\
             out = [m(x), m(x, h0), m(xu, hu), l] + gs",
            if bias { "True" } else { "False" }
        );
        let want = mlx(
            &py,
            &[("x", &x), ("xu", &xu), ("h0", &h0), ("hu", &hu), ("r", &r)],
            Some(&d),
        );
        let mut all = got;
        all.push(l);
        compare(&format!("GRU bias={bias}"), &all, &g, &want);
        let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            if bias {
                vec!["Wh", "Wx", "b", "bhn"]
            } else {
                vec!["Wh", "Wx"]
            }
        );
    }
}

#[test]
fn lstm_matches_mlx() {
    let d = scratch();
    let x = rand(&[2, 4, 3], -1.0, 1.0, 21);
    let xu = rand(&[4, 3], -1.0, 1.0, 22);
    let h0 = rand(&[2, 5], -1.0, 1.0, 23);
    let c0 = rand(&[2, 5], -1.0, 1.0, 24);
    let r = rand(&[2, 4, 5], -1.0, 1.0, 25);
    let rc = rand(&[2, 4, 5], -1.0, 1.0, 26);
    for bias in [true, false] {
        let m = LSTM::new(3, 5, bias).unwrap();
        m.save_weights(d.join("m.safetensors")).unwrap();
        let (h1, c1) = m.forward(&x, None, None).unwrap();
        let (h2, c2) = m.forward(&x, Some(&h0), Some(&c0)).unwrap();
        let (h3, c3) = m.forward(&xu, None, None).unwrap();
        let (h4, _) = m.forward(&x, None, Some(&c0)).unwrap();
        let (l, g) = grads_sorted(
            &m,
            |m: &LSTM, a| {
                let (h, c) = m.forward(&a[0], Some(&a[1]), Some(&a[2]))?;
                Ok(vec![ops::add(&dot(&h, &a[3])?, &dot(&c, &a[4])?)?])
            },
            &[x.clone(), h0.clone(), c0.clone(), r.clone(), rc.clone()],
        );
        let py = format!(
            "m = nn.LSTM(3, 5, bias={}); m.load_weights(os.path.join(d, 'm.safetensors'))\n\
             def f(m, x, h, c, r, rc):\n    hh, cc = m(x, h, c)\n    return (hh * r).sum() + (cc * rc).sum()\n\
             args = [x, h0, c0, r, rc]\n{PY_GRADS}\n\
             out = [*m(x), *m(x, h0, c0), *m(xu), m(x, None, c0)[0], l] + gs",
            if bias { "True" } else { "False" }
        );
        let want = mlx(
            &py,
            &[
                ("x", &x),
                ("xu", &xu),
                ("h0", &h0),
                ("c0", &c0),
                ("r", &r),
                ("rc", &rc),
            ],
            Some(&d),
        );
        let all = vec![h1, c1, h2, c2, h3, c3, h4, l];
        compare(&format!("LSTM bias={bias}"), &all, &g, &want);
    }
}

#[test]
fn recurrent_errors() {
    let m = LSTM::new(3, 5, true).unwrap();
    let e = m
        .forward(&ops::zeros(&[2, 4, 7], None).unwrap(), None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("LSTM") && e.contains("(N, L, 3)"), "{e}");
    let e = m
        .forward(
            &ops::zeros(&[2, 4, 3], None).unwrap(),
            Some(&ops::zeros(&[3, 5], None).unwrap()),
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("hidden"), "{e}");
    assert!(RNN::new(3, 4, true, None)
        .unwrap()
        .forward(&ops::zeros(&[3], None).unwrap(), None)
        .is_err());
    assert!(GRU::new(3, 4, true)
        .unwrap()
        .forward(&ops::zeros(&[0, 3], None).unwrap(), None)
        .unwrap_err()
        .to_string()
        .contains("empty"));
    let g = GRU::new(3, 4, true).unwrap();
    let y = g
        .forward(&ops::zeros(&[2, 3], Some(Dtype::Float32)).unwrap(), None)
        .unwrap();
    assert_eq!(y.shape(), &[2, 4]);
}

#[test]
fn transformer_matches_mlx() {
    let d = scratch();
    let src = rand(&[2, 5, 8], -1.0, 1.0, 31);
    let tgt = rand(&[2, 4, 8], -1.0, 1.0, 32);
    let r = rand(&[2, 4, 8], -1.0, 1.0, 33);
    let tmask = MultiHeadAttention::create_additive_causal_mask(4, Dtype::Float32).unwrap();
    // A boolean memory mask hiding the last source position.
    let mmask = ops::less(ops::arange(5).unwrap(), 4).unwrap();
    for (norm_first, gelu, ckpt) in [
        (true, false, false),
        (false, true, false),
        (true, false, true),
    ] {
        let act: Option<mlxr_nn::activations::Activation> = if gelu {
            Some(Arc::new(activations::gelu))
        } else {
            None
        };
        let m =
            Transformer::new(8, 2, 2, 1, Some(12), 0.0, act, None, None, norm_first, ckpt).unwrap();
        m.save_weights(d.join("t.safetensors")).unwrap();
        let out = m
            .forward(&src, &tgt, None, Some(&tmask), Some(&mmask))
            .unwrap();
        let f = |m: &Transformer, a: &[Array]| -> Result<Vec<Array>> {
            Ok(vec![dot(
                &m.forward(&a[0], &a[1], None, Some(&a[2]), Some(&a[3]))?,
                &a[4],
            )?])
        };
        let (l, g) = grads_sorted(
            &m,
            f,
            &[
                src.clone(),
                tgt.clone(),
                tmask.clone(),
                mmask.clone(),
                r.clone(),
            ],
        );
        let py = format!(
            "m = nn.Transformer(dims=8, num_heads=2, num_encoder_layers=2, num_decoder_layers=1, mlp_dims=12, norm_first={}, activation={}, checkpoint={})\n\
             m.load_weights(os.path.join(d, 't.safetensors'))\nmmb = globals()['mmask'].astype(mx.bool_)\n\
             f = lambda m, s, t, tm, mm, r: (m(s, t, None, tm, mm) * r).sum()\nargs = [src, tgt, tmask, mmb, r]\n{PY_GRADS}\n\
             out = [m(src, tgt, None, tmask, mmb), l] + gs",
            if norm_first { "True" } else { "False" },
            if gelu { "nn.gelu" } else { "nn.relu" },
            if ckpt { "True" } else { "False" },
        );
        let mm_f = ops::astype(&mmask, Dtype::Float32).unwrap();
        let want = mlx(
            &py,
            &[
                ("src", &src),
                ("tgt", &tgt),
                ("tmask", &tmask),
                ("mmask", &mm_f),
                ("r", &r),
            ],
            Some(&d),
        );
        compare(
            &format!("Transformer norm_first={norm_first} gelu={gelu} checkpoint={ckpt}"),
            &[out, l],
            &g,
            &want,
        );
        let names: Vec<&str> = g.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"encoder.layers.0.attention.query_proj.weight"));
        assert!(names.contains(&"decoder.layers.0.cross_attention.out_proj.weight"));
        assert!(names.contains(&"decoder.ln.bias"));
        // Encoder layer: 4 attention weights (no biases), 2 norms, 2 linears: 12; decoder
        // layer: 8 + 6 + 4 = 18; plus the final norms.
        assert_eq!(g.len(), 2 * 12 + 2 + 18 + 2);
    }
}

#[test]
fn encoder_layer_and_checkpoint() {
    let d = scratch();
    let x = rand(&[2, 6, 8], -1.0, 1.0, 41);
    // A non-contiguous input: the transpose of a (2, 8, 6) array.
    let xt = ops::swapaxes(&rand(&[2, 8, 6], -1.0, 1.0, 42), 1, 2).unwrap();
    let mask = MultiHeadAttention::create_additive_causal_mask(6, Dtype::Float32).unwrap();
    let r = rand(&[2, 6, 8], -1.0, 1.0, 43);
    let layer = TransformerEncoderLayer::new(8, 4, None, 0.0, None, true).unwrap();
    layer.save_weights(d.join("l.safetensors")).unwrap();
    let enc = TransformerEncoder::new(2, 8, 2, Some(16), 0.0, None, false, false).unwrap();
    enc.save_weights(d.join("e.safetensors")).unwrap();
    let mut enc_ck = enc.clone();
    enc_ck.checkpoint = true;
    let got = [
        layer.forward(&x, Some(&mask)).unwrap(),
        layer.forward(&xt, None).unwrap(),
        enc.forward(&x, Some(&mask)).unwrap(),
        enc_ck.forward(&xt, None).unwrap(),
    ];
    let want = mlx(
        "l = nn.TransformerEncoderLayer(8, 4); l.load_weights(os.path.join(d, 'l.safetensors'))\n\
         e = nn.TransformerEncoder(2, 8, 2, mlp_dims=16, norm_first=False); e.load_weights(os.path.join(d, 'e.safetensors'))\n\
         out = [l(x, mask), l(xt, None), e(x, mask), e(xt, None)]",
        &[("x", &x), ("xt", &xt), ("mask", &mask)],
        Some(&d),
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        close(g, w, 2e-4, 2e-5, &format!("encoder output {i}"));
    }
    // Checkpointing changes the memory, not the gradients.
    let f = |m: &TransformerEncoder, a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![dot(&m.forward(&a[0], Some(&a[1]))?, &a[2])?])
    };
    let args = [x.clone(), mask.clone(), r.clone()];
    let (l1, g1) = grads_sorted(&enc, f, &args);
    let (l2, g2) = grads_sorted(&enc_ck, f, &args);
    close(&l2, &l1, 1e-6, 1e-6, "checkpointed loss");
    assert_eq!(g1.len(), g2.len());
    for ((n, a), (_, b)) in g1.iter().zip(&g2) {
        close(b, a, 1e-5, 1e-6, &format!("checkpointed grad {n}"));
    }
    // Errors and modes.
    assert!(TransformerEncoderLayer::new(8, 3, None, 0.0, None, true).is_err());
    assert!(TransformerEncoder::new(1, 8, 2, None, 1.5, None, true, false).is_err());
    assert!(layer
        .forward(&ops::zeros(&[6, 8], None).unwrap(), None)
        .is_err());
    let mut t = Transformer::new(8, 2, 1, 1, None, 0.1, None, None, None, true, false).unwrap();
    t.eval_mode();
    assert!(!t.is_training());
    // A custom encoder replaces the standard one (its parameters move under `encoder.`).
    let custom = Transformer::new(
        8,
        2,
        1,
        1,
        None,
        0.0,
        None,
        Some(Box::new(
            TransformerEncoder::new(3, 8, 2, None, 0.0, None, true, false).unwrap(),
        )),
        None,
        true,
        false,
    )
    .unwrap();
    let names: Vec<String> = custom
        .named_parameters()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.iter().any(|n| n.starts_with("encoder.layers.2.")));
}

#[test]
fn alibi_matches_mlx() {
    let s4 = rand(&[2, 4, 5, 7], -1.0, 1.0, 51);
    let s3 = rand(&[1, 3, 5, 5], -1.0, 1.0, 52);
    let s6h = ops::astype(&rand(&[2, 6, 3, 4], -1.0, 1.0, 53), Dtype::Float16).unwrap();
    let mask = MultiHeadAttention::create_additive_causal_mask(5, Dtype::Float32).unwrap();
    let a = ALiBi;
    let got = [
        a.forward(&s4, 0, None).unwrap(),
        a.forward(&s4, 2, None).unwrap(),
        a.forward(&s3, 0, Some(&mask)).unwrap(),
        a.forward(&s6h, 1, None).unwrap(),
        ALiBi::create_alibi_slope(6, Dtype::Float32).unwrap(),
        ALiBi::create_alibi_matrix(4, 6, 5, 1, Dtype::Float32).unwrap(),
    ];
    let want = mlx(
        "a = nn.ALiBi()\n\
         out = [a(s4), a(s4, offset=2), a(s3, mask=mask), a(s6h.astype(mx.float16), offset=1),\n\
                nn.ALiBi.create_alibi_slope(6), nn.ALiBi.create_alibi_matrix(4, 6, 5, offset=1)]",
        &[
            ("s4", &s4),
            ("s3", &s3),
            ("s6h", &ops::astype(&s6h, Dtype::Float32).unwrap()),
            ("mask", &mask),
        ],
        None,
    );
    assert_eq!(got[3].dtype(), Dtype::Float16);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let tol = if i == 3 { 2e-3 } else { 1e-6 };
        close(g, w, tol, tol, &format!("ALiBi {i}"));
    }
    assert!(a
        .forward(&ops::zeros(&[3], None).unwrap(), 0, None)
        .is_err());
    assert!(ALiBi::create_alibi_matrix(2, 3, 4, 5, Dtype::Float32).is_err());
    assert_eq!(a.num_parameters(), 0);
}
