//! Training: `nn::value_and_grad` gives MLX's gradients for a model with the same weights,
//! frozen parameters get none, and a small MLP learns a synthetic classification task to
//! over 95% accuracy in well under a minute on the CPU; the main job's model matches MLX.

mod mlx_ref;

use mlx_ref::{close, mlx, rand, scratch};
use mlxr::tree::tree_flatten;
use mlxr::{ops, Array, Dtype, Result};
use mlxr_nn::layers::{LayerNorm, Linear};
use mlxr_nn::losses::{cross_entropy, Reduction};
use mlxr_nn::optimizers::{Adam, Optimizer};
use mlxr_nn::{activations, module, ModuleExt};

#[derive(Clone)]
struct Mlp {
    l1: Linear,
    norm: LayerNorm,
    l2: Linear,
}
module!(Mlp { l1, norm, l2 });

impl Mlp {
    fn new(i: usize, h: usize, o: usize) -> Result<Mlp> {
        Ok(Mlp {
            l1: Linear::new(i, h, true)?,
            norm: LayerNorm::new(h, 1e-5, true, true)?,
            l2: Linear::new(h, o, true)?,
        })
    }
    fn forward(&self, x: &Array) -> Result<Array> {
        self.l2.forward(&activations::gelu(
            &self.norm.forward(&self.l1.forward(x)?)?,
        )?)
    }
}

fn loss(m: &Mlp, a: &[Array]) -> Result<Vec<Array>> {
    Ok(vec![cross_entropy(
        &m.forward(&a[0])?,
        &a[1],
        None,
        -1,
        0.0,
        Reduction::Mean,
    )?])
}

#[test]
fn value_and_grad_matches_mlx() {
    let d = scratch();
    let mut m = Mlp::new(6, 8, 3).unwrap();
    m.save_weights(d.join("m.safetensors")).unwrap();
    let x = rand(&[5, 6], -1.0, 1.0, 1);
    let y = Array::from_slice(&[0i32, 2, 1, 1, 0], &[5]).unwrap();
    let (l, g) = mlxr_nn::value_and_grad(loss)(&m, &[x.clone(), y.clone()]).unwrap();
    let want = mlx(
        "class Mlp(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.l1 = nn.Linear(6, 8); self.norm = nn.LayerNorm(8); self.l2 = nn.Linear(8, 3)\n    def __call__(self, x):\n        return self.l2(nn.gelu(self.norm(self.l1(x))))\n\
         m = Mlp(); m.load_weights(os.path.join(d, 'm.safetensors'))\n\
         f = lambda m, x, y: nn.losses.cross_entropy(m(x), y, reduction='mean')\n\
         l, g = nn.value_and_grad(m, f)(m, x, y)\n\
         from mlx.utils import tree_flatten\n\
         out = [l] + [v for _, v in sorted(tree_flatten(g))]",
        &[("x", &x), ("y", &y)],
        Some(&d),
    );
    close(&l[0], &want[0], 1e-5, 1e-6, "loss");
    // Both sides' gradients in sorted path order.
    let mlx_order = [
        "l1.bias",
        "l1.weight",
        "l2.bias",
        "l2.weight",
        "norm.bias",
        "norm.weight",
    ];
    let ours: std::collections::HashMap<String, Array> = tree_flatten(&g).into_iter().collect();
    assert_eq!(ours.len(), 6);
    for (k, w) in mlx_order.iter().zip(&want[1..]) {
        close(&ours[*k], w, 1e-4, 1e-6, k);
    }
    // Frozen parameters get no gradient.
    m.freeze_paths(&["l1"]);
    let (_, g) = mlxr_nn::value_and_grad(loss)(&m, &[x, y]).unwrap();
    let paths: Vec<String> = tree_flatten(&g).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["norm.weight", "norm.bias", "l2.weight", "l2.bias"]);
}

#[test]
fn mlp_learns_a_synthetic_task() {
    mlxr::random::seed(3);
    // Four classes: the quadrant of the first two of 8 features (the rest is noise).
    let n = 2048;
    let x = mlxr::random::normal(&[n, 8], Dtype::Float32, 0.0, 1.0, None).unwrap();
    let cols = ops::split(&x, 8usize, 1).unwrap();
    let a = ops::astype(&ops::greater(&cols[0], 0.0).unwrap(), Dtype::Int32).unwrap();
    let b = ops::astype(&ops::greater(&cols[1], 0.0).unwrap(), Dtype::Int32).unwrap();
    let y = ops::reshape_to(&ops::add(ops::multiply(&a, 2).unwrap(), &b).unwrap(), &[n]).unwrap();
    mlxr::eval(&[x.clone(), y.clone()]).unwrap();
    let mut m = Mlp::new(8, 32, 4).unwrap();
    let mut opt = Adam::new(0.01, (0.9, 0.999), 1e-8, false).unwrap();
    let vg = mlxr_nn::value_and_grad(loss);
    let start = std::time::Instant::now();
    for step in 0..200 {
        let lo = (step * 128) % n;
        let xb = ops::slice(&x, &[lo as isize, 0], &[(lo + 128) as isize, 8], &[1, 1]).unwrap();
        let yb = ops::slice(&y, &[lo as isize], &[(lo + 128) as isize], &[1]).unwrap();
        let (_, g) = vg(&m, &[xb, yb]).unwrap();
        opt.update(&mut m, &g).unwrap();
        let mut all: Vec<Array> = m.named_parameters().into_iter().map(|(_, a)| a).collect();
        all.extend(opt.state_arrays());
        mlxr::eval(&all).unwrap();
    }
    let pred = ops::argmax(&m.forward(&x).unwrap(), Some(-1), false).unwrap();
    let acc = ops::mean(
        &ops::astype(
            &ops::equal(ops::astype(&pred, Dtype::Int32).unwrap(), &y).unwrap(),
            Dtype::Float32,
        )
        .unwrap(),
        None,
        false,
    )
    .unwrap()
    .item::<f32>()
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!("MLP accuracy {acc:.3} after 200 steps in {secs:.2} s");
    assert!(acc > 0.95, "accuracy {acc}");
    assert!(secs < 60.0, "took {secs} s");
}

/// The main job's model (`models::Lm`, used by train_lm and bench_train) against the same
/// model written in MLX (as bench/train_peers.py): logits, loss and every gradient with the
/// same weights, loaded strictly by MLX (so the parameter names agree too).
#[test]
fn lm_matches_mlx() {
    use mlxr_nn::models::{Lm, LmConfig};
    let d = scratch();
    let cfg = LmConfig {
        vocab: 11,
        dims: 32,
        layers: 2,
        heads: 4,
    };
    let m = Lm::new(cfg).unwrap();
    m.save_weights(d.join("lm.safetensors")).unwrap();
    let ids: Vec<i32> = (0..2 * 9).map(|i| (i * 7 + 3) % 11).collect();
    let x = Array::from_slice(&ids[..18], &[2, 9]).unwrap();
    let y = Array::from_slice(
        &ids.iter().map(|v| (v + 1) % 11).collect::<Vec<_>>(),
        &[2, 9],
    )
    .unwrap();
    let logits = m.forward(&x).unwrap();
    let f = |m: &Lm, a: &[Array]| -> Result<Vec<Array>> { Ok(vec![m.loss(&a[0], &a[1])?]) };
    let (l, g) = mlxr_nn::value_and_grad(f)(&m, &[x.clone(), y.clone()]).unwrap();
    let want = mlx(
        "dims, heads, hidden = 32, 4, 8 * 32 // 3 // 16 * 16\n\
         class Block(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.attention_norm = nn.RMSNorm(dims, eps=1e-5); self.ffn_norm = nn.RMSNorm(dims, eps=1e-5)\n        self.wq = nn.Linear(dims, dims, bias=False); self.wk = nn.Linear(dims, dims, bias=False)\n        self.wv = nn.Linear(dims, dims, bias=False); self.wo = nn.Linear(dims, dims, bias=False)\n        self.w1 = nn.Linear(dims, hidden, bias=False); self.w2 = nn.Linear(hidden, dims, bias=False); self.w3 = nn.Linear(dims, hidden, bias=False)\n        self.rope = nn.RoPE(dims // heads)\n    def __call__(self, x, mask):\n        B, L, D = x.shape\n        h = self.attention_norm(x)\n        sp = lambda t: t.reshape(B, L, heads, D // heads).transpose(0, 2, 1, 3)\n        q, k, v = self.rope(sp(self.wq(h))), self.rope(sp(self.wk(h))), sp(self.wv(h))\n        o = mx.fast.scaled_dot_product_attention(q, k, v, scale=math.sqrt(1 / (D // heads)), mask=mask)\n        x = x + self.wo(o.transpose(0, 2, 1, 3).reshape(B, L, D))\n        h = self.ffn_norm(x)\n        return x + self.w2(nn.silu(self.w1(h)) * self.w3(h))\n\
         class Lm(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.embedding = nn.Embedding(11, dims); self.layers = [Block() for _ in range(2)]; self.norm = nn.RMSNorm(dims, eps=1e-5)\n    def __call__(self, t):\n        mask = nn.MultiHeadAttention.create_additive_causal_mask(t.shape[1])\n        x = self.embedding(t)\n        for b in self.layers:\n            x = b(x, mask)\n        return self.embedding.as_linear(self.norm(x))\n\
         m = Lm(); m.load_weights(os.path.join(d, 'lm.safetensors'))\n\
         f = lambda m, x, y: nn.losses.cross_entropy(m(x), y, reduction='mean')\n\
         l, g = nn.value_and_grad(m, f)(m, x, y)\n\
         from mlx.utils import tree_flatten\n\
         out = [m(x), l] + [v for _, v in sorted(tree_flatten(g))]",
        &[("x", &x), ("y", &y)],
        Some(&d),
    );
    close(&logits, &want[0], 1e-4, 1e-5, "Lm logits");
    close(&l[0], &want[1], 1e-5, 1e-6, "Lm loss");
    let mut g = tree_flatten(&g);
    g.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(g.len(), want.len() - 2);
    for ((name, a), w) in g.iter().zip(&want[2..]) {
        close(a, w, 2e-3, 1e-5, name);
    }
}
