//! Layers, activations and losses against MLX: forward values with the same weights
//! (exchanged through `.safetensors` files both ways), and errors.

mod mlx_ref;

use mlx_ref::{close, mlx, rand, scratch};
use mlxr::{ops, Array, Dtype};
use mlxr_nn::layers::*;
use mlxr_nn::losses::{self, Reduction};
use mlxr_nn::{activations as act, ModuleExt};

#[test]
fn layers_match_mlx_with_exchanged_weights() {
    let d = scratch();
    let x = rand(&[2, 5, 8], -1.0, 1.0, 1);
    let lin = Linear::new(8, 6, true).unwrap();
    lin.save_weights(d.join("lin.safetensors")).unwrap();
    let ln = LayerNorm::new(8, 1e-5, true, true).unwrap();
    let mut rms = RMSNorm::new(8, 1e-5).unwrap();
    rms.update(&{
        let mut t = mlxr::Tree::dict();
        t.insert("weight", rand(&[8], 0.5, 1.5, 2).into()).unwrap();
        t
    })
    .unwrap();
    rms.save_weights(d.join("rms.safetensors")).unwrap();
    let mha = MultiHeadAttention::new(8, 2, true).unwrap();
    mha.save_weights(d.join("mha.safetensors")).unwrap();
    let seq = Sequential::new(vec![
        Box::new(Linear::new(8, 4, false).unwrap()),
        Box::new(Identity),
        Box::new(Linear::new(4, 3, true).unwrap()),
    ]);
    seq.save_weights(d.join("seq.safetensors")).unwrap();
    let emb = Embedding::new(10, 8).unwrap();
    emb.save_weights(d.join("emb.safetensors")).unwrap();
    let ids = Array::from_slice(&[1i32, 9, 0, 3, 3, 7], &[2, 3]).unwrap();
    let bil = Bilinear::new(8, 3, 4, true).unwrap();
    bil.save_weights(d.join("bil.safetensors")).unwrap();
    let x2 = rand(&[2, 5, 3], -1.0, 1.0, 3);
    let mask = MultiHeadAttention::create_additive_causal_mask(5, Dtype::Float32).unwrap();
    let rope = RoPE::new(6, false, 10000.0, 1.0).unwrap();
    let rope_t = RoPE::new(8, true, 500.0, 0.5).unwrap();
    let x4 = rand(&[2, 3, 5, 8], -1.0, 1.0, 4);
    let sin = SinusoidalPositionalEncoding::new(8, 1e-4, 1.0, None, false, false).unwrap();
    let pos = rand(&[4], 0.0, 10.0, 5);
    let got = vec![
        lin.forward(&x).unwrap(),
        ln.forward(&x).unwrap(),
        rms.forward(&x).unwrap(),
        mha.forward(&x, &x, &x, Some(&mask)).unwrap(),
        seq.forward(&x).unwrap(),
        emb.forward(&ids).unwrap(),
        emb.as_linear(&x).unwrap(),
        bil.forward(&x, &x2).unwrap(),
        mask.clone(),
        rope.forward(&x4, 3).unwrap(),
        rope_t.forward(&x4, 0).unwrap(),
        sin.forward(&pos).unwrap(),
    ];
    let want = mlx(
        "lin = nn.Linear(8, 6); lin.load_weights(os.path.join(d, 'lin.safetensors'))\n\
         ln = nn.LayerNorm(8)\n\
         rms = nn.RMSNorm(8); rms.load_weights(os.path.join(d, 'rms.safetensors'))\n\
         mha = nn.MultiHeadAttention(8, 2, bias=True); mha.load_weights(os.path.join(d, 'mha.safetensors'))\n\
         seq = nn.Sequential(nn.Linear(8, 4, bias=False), nn.Identity(), nn.Linear(4, 3)); seq.load_weights(os.path.join(d, 'seq.safetensors'))\n\
         emb = nn.Embedding(10, 8); emb.load_weights(os.path.join(d, 'emb.safetensors'))\n\
         bil = nn.Bilinear(8, 3, 4); bil.load_weights(os.path.join(d, 'bil.safetensors'))\n\
         mask = nn.MultiHeadAttention.create_additive_causal_mask(5)\n\
         out = [lin(x), ln(x), rms(x), mha(x, x, x, mask), seq(x), emb(ids), emb.as_linear(x), bil(x, x2), mask,\n\
                nn.RoPE(6)(x4, offset=3), nn.RoPE(8, traditional=True, base=500, scale=0.5)(x4),\n\
                nn.SinusoidalPositionalEncoding(8)(pos)]",
        &[("x", &x), ("ids", &ids), ("x2", &x2), ("x4", &x4), ("pos", &pos)],
        Some(&d),
    );
    let names = [
        "Linear",
        "LayerNorm",
        "RMSNorm",
        "MultiHeadAttention",
        "Sequential",
        "Embedding",
        "as_linear",
        "Bilinear",
        "causal mask",
        "RoPE",
        "RoPE traditional",
        "Sinusoidal",
    ];
    for ((g, w), n) in got.iter().zip(&want).zip(names) {
        close(g, w, 1e-4, 1e-5, n);
    }
}

#[test]
fn weights_saved_by_mlx_load_here() {
    let d = scratch();
    mlx(
        "m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)); mx.eval(m.parameters())\n\
         m.save_weights(os.path.join(d, 'm.safetensors'))\n\
         out = [m.layers[0].weight, m.layers[2].bias, m(x)]",
        &[("x", &rand(&[5, 4], -1.0, 1.0, 6))],
        Some(&d),
    );
    let want: Vec<Array> = (0..3)
        .map(|i| mlxr::io::load_npy(d.join(format!("out_{i}.npy"))).unwrap())
        .collect();
    #[derive(Clone)]
    struct Relu;
    mlxr_nn::module!(Relu {});
    impl Relu {
        fn forward(&self, x: &Array) -> mlxr::Result<Array> {
            act::relu(x)
        }
    }
    mlxr_nn::layer!(Relu);
    let mut m = Sequential::new(vec![
        Box::new(Linear::new(4, 3, true).unwrap()),
        Box::new(Relu),
        Box::new(Linear::new(3, 2, true).unwrap()),
    ]);
    m.load_weights(d.join("m.safetensors"), true).unwrap();
    let p = m.parameters();
    close(
        p.get_path("layers.0.weight").unwrap().as_array().unwrap(),
        &want[0],
        0.0,
        0.0,
        "loaded weight",
    );
    close(
        p.get_path("layers.2.bias").unwrap().as_array().unwrap(),
        &want[1],
        0.0,
        0.0,
        "loaded bias",
    );
    close(
        &m.forward(&rand(&[5, 4], -1.0, 1.0, 6)).unwrap(),
        &want[2],
        1e-5,
        1e-6,
        "forward after load",
    );
    // Strict loading rejects a file with a different parameter set; shapes must match.
    let mut small = Sequential::new(vec![Box::new(Linear::new(4, 3, true).unwrap())]);
    assert!(small
        .load_weights(d.join("m.safetensors"), true)
        .unwrap_err()
        .to_string()
        .contains("not a parameter"));
    let mut wrong = Sequential::new(vec![
        Box::new(Linear::new(4, 5, true).unwrap()),
        Box::new(Relu),
        Box::new(Linear::new(3, 2, true).unwrap()),
    ]);
    assert!(wrong
        .load_weights(d.join("m.safetensors"), false)
        .unwrap_err()
        .to_string()
        .contains("shape"));
    assert!(m.load_weights(d.join("m.bin"), false).is_err());
}

#[test]
fn activations_match_mlx() {
    let x = rand(&[3, 8], -4.0, 4.0, 7);
    let alpha = rand(&[8], 0.1, 0.3, 8);
    let got = vec![
        act::relu(&x).unwrap(),
        act::relu6(&ops::multiply(&x, 3.0).unwrap()).unwrap(),
        act::leaky_relu(&x, 0.01).unwrap(),
        act::elu(&x, 1.0).unwrap(),
        act::celu(&x, 1.5).unwrap(),
        act::selu(&x).unwrap(),
        act::gelu(&x).unwrap(),
        act::gelu_approx(&x).unwrap(),
        act::gelu_fast_approx(&x).unwrap(),
        act::silu(&x).unwrap(),
        act::mish(&x).unwrap(),
        act::softplus(&x).unwrap(),
        act::softsign(&x).unwrap(),
        act::sigmoid(&x).unwrap(),
        act::log_sigmoid(&x).unwrap(),
        act::tanh(&x).unwrap(),
        act::hardswish(&x).unwrap(),
        act::hard_tanh(&x, -1.0, 1.0).unwrap(),
        act::glu(&x, -1).unwrap(),
        act::prelu(&x, &alpha).unwrap(),
        act::softmax(&x, -1).unwrap(),
        act::log_softmax(&x, -1).unwrap(),
        act::step(&x, 0.5).unwrap(),
    ];
    let want = mlx(
        "out = [nn.relu(x), nn.relu6(x * 3), nn.leaky_relu(x, 0.01), nn.elu(x, 1.0), nn.celu(x, 1.5), nn.selu(x), nn.gelu(x),\n\
         nn.gelu_approx(x), nn.gelu_fast_approx(x), nn.silu(x), nn.mish(x), nn.softplus(x), nn.softsign(x), nn.sigmoid(x),\n\
         nn.log_sigmoid(x), nn.tanh(x), nn.hardswish(x), nn.hard_tanh(x), nn.glu(x), nn.prelu(x, a), nn.softmax(x),\n\
         nn.log_softmax(x), nn.step(x, 0.5)]",
        &[("x", &x), ("a", &alpha)],
        None,
    );
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        close(g, w, 1e-5, 1e-6, &format!("activation {i}"));
    }
}

#[test]
fn losses_match_mlx() {
    let logits = rand(&[4, 5], -2.0, 2.0, 10);
    let cls = Array::from_slice(&[0i32, 4, 2, 2], &[4]).unwrap();
    let probs = act::softmax(&rand(&[4, 5], -1.0, 1.0, 11), -1).unwrap();
    let w = rand(&[4], 0.5, 1.5, 12);
    let p = rand(&[4, 5], -1.0, 1.0, 13);
    let t = rand(&[4, 5], -1.0, 1.0, 14);
    let pr = rand(&[4, 5], 0.05, 0.95, 15);
    let t01 = ops::astype(&ops::greater(&t, 0.0).unwrap(), Dtype::Float32).unwrap();
    let sgn = ops::sign(&t).unwrap();
    let var = rand(&[4, 5], 0.1, 2.0, 16);
    let n = rand(&[4, 5], -1.0, 1.0, 17);
    let (m, s) = (Reduction::Mean, Reduction::Sum);
    let no = Reduction::None;
    let lsm = act::log_softmax(&logits, -1).unwrap();
    let got = vec![
        losses::cross_entropy(&logits, &cls, None, -1, 0.0, no).unwrap(),
        losses::cross_entropy(&logits, &cls, Some(&w), -1, 0.1, m).unwrap(),
        losses::cross_entropy(&logits, &probs, None, -1, 0.0, s).unwrap(),
        losses::cross_entropy(&ops::transpose(&logits).unwrap(), &cls, None, 0, 0.0, no).unwrap(),
        losses::binary_cross_entropy(&p, &t01, None, true, m).unwrap(),
        losses::binary_cross_entropy(&pr, &t01, None, false, no).unwrap(),
        losses::nll_loss(&lsm, &cls, -1, m).unwrap(),
        losses::mse_loss(&p, &t, m).unwrap(),
        losses::l1_loss(&p, &t, s).unwrap(),
        losses::smooth_l1_loss(&ops::multiply(&p, 3.0).unwrap(), &t, 1.0, m).unwrap(),
        losses::huber_loss(&ops::multiply(&p, 3.0).unwrap(), &t, 1.0, no).unwrap(),
        losses::kl_div_loss(&lsm, &act::log_softmax(&t, -1).unwrap(), -1, no).unwrap(),
        losses::log_cosh_loss(&p, &t, m).unwrap(),
        losses::cosine_similarity_loss(&p, &t, 1, 1e-8, no).unwrap(),
        losses::hinge_loss(&p, &sgn, m).unwrap(),
        losses::margin_ranking_loss(&p, &t, &sgn, 0.1, m).unwrap(),
        losses::triplet_loss(&p, &t, &n, -1, 2.0, 1.0, 1e-6, no).unwrap(),
        losses::gaussian_nll_loss(&p, &t, &var, true, 1e-6, m).unwrap(),
    ];
    let want = mlx(
        "L = nn.losses\n\
         lsm = nn.log_softmax(logits)\n\
         out = [L.cross_entropy(logits, cls), L.cross_entropy(logits, cls, weights=w, label_smoothing=0.1, reduction='mean'),\n\
         L.cross_entropy(logits, probs, reduction='sum'), L.cross_entropy(logits.T, cls, axis=0),\n\
         L.binary_cross_entropy(p, t01), L.binary_cross_entropy(pr, t01, with_logits=False, reduction='none'),\n\
         L.nll_loss(lsm, cls, reduction='mean'), L.mse_loss(p, t), L.l1_loss(p, t, reduction='sum'),\n\
         L.smooth_l1_loss(p * 3, t), L.huber_loss(p * 3, t), L.kl_div_loss(lsm, nn.log_softmax(t)), L.log_cosh_loss(p, t, reduction='mean'),\n\
         L.cosine_similarity_loss(p, t), L.hinge_loss(p, sgn, reduction='mean'), L.margin_ranking_loss(p, t, sgn, margin=0.1, reduction='mean'),\n\
         L.triplet_loss(p, t, n), L.gaussian_nll_loss(p, t, var, full=True)]",
        &[("logits", &logits), ("cls", &cls), ("probs", &probs), ("w", &w), ("p", &p), ("t", &t), ("pr", &pr), ("t01", &t01), ("sgn", &sgn), ("var", &var), ("n", &n)],
        None,
    );
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        close(g, w, 1e-5, 1e-6, &format!("loss {i}"));
    }
    // Shape errors are clear.
    let e = losses::cross_entropy(
        &logits,
        &ops::zeros(&[3], Some(Dtype::Int32)).unwrap(),
        None,
        -1,
        0.0,
        no,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("targets shape"), "{e}");
    assert!(losses::mse_loss(&p, &w, m).is_err());
    assert!(losses::cross_entropy(&logits, &cls, None, -1, 1.5, no).is_err());
}

#[test]
fn layer_errors_and_modes() {
    assert!(Dropout::new(1.0).is_err());
    assert!(LayerNorm::new(4, 0.0, true, true).is_err());
    assert!(MultiHeadAttention::new(6, 4, false).is_err());
    assert!(RoPE::new(3, false, 10000.0, 1.0).is_err());
    let mut dr = Dropout::new(0.5).unwrap();
    let x = ops::ones(&[1000], None).unwrap();
    let y = dr.forward(&x).unwrap().to_vec::<f32>().unwrap();
    let kept = y.iter().filter(|v| **v != 0.0).count();
    assert!((350..650).contains(&kept), "dropout kept {kept} of 1000");
    assert!(y.iter().all(|v| *v == 0.0 || *v == 2.0));
    dr.eval_mode();
    assert!(!mlxr_nn::Module::is_training(&dr));
    assert_eq!(
        dr.forward(&x).unwrap().to_vec::<f32>().unwrap(),
        vec![1.0; 1000]
    );
    let l = Linear::new(3, 2, true).unwrap();
    assert!(l.forward(&ops::ones(&[4, 5], None).unwrap()).is_err());
    let mut l2 = l.clone();
    let mut bad = mlxr::Tree::dict();
    bad.insert("weight", ops::ones(&[3, 3], None).unwrap().into())
        .unwrap();
    assert!(l2.update(&bad).unwrap_err().to_string().contains("shape"));
    let mut unknown = mlxr::Tree::dict();
    unknown
        .insert("nope", ops::ones(&[1], None).unwrap().into())
        .unwrap();
    assert!(l2
        .update(&unknown)
        .unwrap_err()
        .to_string()
        .contains("no parameter"));
    assert_eq!(l.num_parameters(), 8);
    let mut f = l.clone();
    f.freeze_paths(&["bias"]);
    let tp: Vec<String> = mlxr::tree::tree_flatten(&f.trainable_parameters())
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(tp, ["weight"]);
    f.unfreeze();
    assert_eq!(mlxr::tree::tree_flatten(&f.trainable_parameters()).len(), 2);
}
