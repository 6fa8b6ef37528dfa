//! Convolution, pooling, upsampling and normalization layers against MLX: MLX builds each
//! layer (with random parameters), saves its weights, and computes the output and the
//! gradients of `sum(sin(layer(x)))` with respect to the input and every trainable
//! parameter; mlxr loads the same weights through `load_weights` and must agree. BatchNorm's
//! running statistics are followed through training steps and eval mode; bad arguments and
//! inputs give errors.

mod mlx_ref;

use mlx_ref::{close, mlx, rand, scratch};
use mlxr::{ops, Array, Result};
use mlxr_nn::layers::*;
use mlxr_nn::{Module, ModuleExt, Param};

/// A boxed layer as a `Module + Clone` (what `nn::value_and_grad` takes).
#[derive(Clone)]
struct Dyn(Box<dyn Layer>);

impl Module for Dyn {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        self.0.visit(prefix, f)
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        self.0.visit_mut(prefix, f)
    }
    fn set_training(&mut self, training: bool) {
        self.0.set_training(training)
    }
    fn is_training(&self) -> bool {
        self.0.is_training()
    }
}

fn loss(l: &dyn Layer, x: &Array) -> Result<Array> {
    ops::sum(&ops::sin(&l.forward(x)?)?, None, false)
}

/// The output, the input gradient and the gradients of `params` (in that order).
fn output_and_grads(m: &Dyn, x: &Array, params: &[&str]) -> Vec<Array> {
    let y = m.0.forward(x).unwrap();
    let mc = m.clone();
    let gx = mlxr::grad(move |a: &[Array]| Ok(vec![loss(&*mc.0, &a[0])?]), &[0])(
        std::slice::from_ref(x),
    )
    .unwrap()
    .pop()
    .unwrap();
    let mut out = vec![y, gx];
    if params.is_empty() {
        return out;
    }
    let (_, g) = mlxr_nn::value_and_grad(|m: &Dyn, a: &[Array]| Ok(vec![loss(&*m.0, &a[0])?]))(
        m,
        std::slice::from_ref(x),
    )
    .unwrap();
    for p in params {
        out.push(g.get_path(p).unwrap().as_array().unwrap().clone());
    }
    out
}

/// One layer case: the mlxr layer, MLX's constructor, the input shape, and the parameter
/// names whose gradients are compared.
struct Case {
    name: &'static str,
    layer: Box<dyn Layer>,
    mlx: &'static str,
    x: Vec<usize>,
    params: Vec<&'static str>,
}

fn case(
    name: &'static str,
    layer: Box<dyn Layer>,
    mlx: &'static str,
    x: &[usize],
    params: &[&'static str],
) -> Case {
    Case {
        name,
        layer,
        mlx,
        x: x.to_vec(),
        params: params.to_vec(),
    }
}

fn cases() -> Vec<Case> {
    let wb: &[&str] = &["weight", "bias"];
    vec![
        case(
            "Conv1d",
            Box::new(Conv1d::new(4, 6, 3, 2, 1, 1, 2, true).unwrap()),
            "nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2)",
            &[2, 9, 4],
            wb,
        ),
        case(
            "Conv1d no bias dilated",
            Box::new(Conv1d::new(3, 5, 2, 1, 0, 3, 1, false).unwrap()),
            "nn.Conv1d(3, 5, 2, dilation=3, bias=False)",
            &[2, 10, 3],
            &["weight"],
        ),
        case(
            "Conv2d",
            Box::new(Conv2d::new(3, 4, (3, 2), (2, 1), (1, 0), (1, 2), 1, true).unwrap()),
            "nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))",
            &[2, 7, 8, 3],
            wb,
        ),
        case(
            "Conv2d groups",
            Box::new(Conv2d::new(4, 6, (2, 2), (1, 1), (1, 1), (1, 1), 2, true).unwrap()),
            "nn.Conv2d(4, 6, 2, padding=1, groups=2)",
            &[2, 5, 4, 4],
            wb,
        ),
        case(
            "Conv3d",
            Box::new(Conv3d::new(2, 3, (2, 3, 2), (1, 2, 1), (1, 0, 1), (1, 1, 1), true).unwrap()),
            "nn.Conv3d(2, 3, (2, 3, 2), stride=(1, 2, 1), padding=(1, 0, 1))",
            &[1, 4, 5, 4, 2],
            wb,
        ),
        case(
            "ConvTranspose1d",
            Box::new(ConvTranspose1d::new(4, 3, 3, 2, 1, 1, 1, true).unwrap()),
            "nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1, output_padding=1)",
            &[2, 6, 4],
            wb,
        ),
        case(
            "ConvTranspose2d",
            Box::new(
                ConvTranspose2d::new(3, 2, (3, 2), (2, 2), (1, 0), (1, 2), (1, 0), true).unwrap(),
            ),
            "nn.ConvTranspose2d(3, 2, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2), output_padding=(1, 0))",
            &[2, 4, 5, 3],
            wb,
        ),
        case(
            "ConvTranspose3d",
            Box::new(
                ConvTranspose3d::new(2, 2, (2, 2, 2), (2, 1, 1), (0, 0, 0), (1, 1, 1), (0, 0, 0), true)
                    .unwrap(),
            ),
            "nn.ConvTranspose3d(2, 2, 2, stride=(2, 1, 1))",
            &[1, 3, 3, 2, 2],
            wb,
        ),
        case(
            "MaxPool1d",
            Box::new(MaxPool1d::new(3, Some(2), 1).unwrap()),
            "nn.MaxPool1d(3, stride=2, padding=1)",
            &[2, 9, 4],
            &[],
        ),
        case(
            "MaxPool2d",
            Box::new(MaxPool2d::new((2, 3), None, (1, 1)).unwrap()),
            "nn.MaxPool2d((2, 3), padding=1)",
            &[2, 6, 7, 3],
            &[],
        ),
        case(
            "MaxPool2d non-overlapping",
            Box::new(MaxPool2d::new((2, 2), None, (0, 0)).unwrap()),
            "nn.MaxPool2d(2)",
            &[2, 6, 4, 3],
            &[],
        ),
        case(
            "MaxPool3d",
            Box::new(MaxPool3d::new((2, 2, 2), Some((1, 2, 1)), (0, 0, 1)).unwrap()),
            "nn.MaxPool3d(2, stride=(1, 2, 1), padding=(0, 0, 1))",
            &[1, 4, 4, 3, 2],
            &[],
        ),
        case(
            "AvgPool1d",
            Box::new(AvgPool1d::new(3, Some(1), 1).unwrap()),
            "nn.AvgPool1d(3, stride=1, padding=1)",
            &[2, 7, 4],
            &[],
        ),
        case(
            "AvgPool2d",
            Box::new(AvgPool2d::new((2, 2), Some((1, 2)), (0, 1)).unwrap()),
            "nn.AvgPool2d(2, stride=(1, 2), padding=(0, 1))",
            &[2, 5, 6, 3],
            &[],
        ),
        case(
            "AvgPool3d",
            Box::new(AvgPool3d::new((2, 1, 2), None, (0, 0, 0)).unwrap()),
            "nn.AvgPool3d((2, 1, 2))",
            &[1, 4, 3, 4, 2],
            &[],
        ),
        case(
            "Upsample nearest x2",
            Box::new(Upsample::new(&[2.0], "nearest", false, false).unwrap()),
            "nn.Upsample(2)",
            &[2, 3, 4, 2],
            &[],
        ),
        case(
            "Upsample nearest x1.5",
            Box::new(Upsample::new(&[1.5, 2.5], "nearest", false, false).unwrap()),
            "nn.Upsample((1.5, 2.5))",
            &[2, 4, 3, 2],
            &[],
        ),
        case(
            "Upsample nearest x0.5",
            Box::new(Upsample::new(&[0.5], "nearest", false, false).unwrap()),
            "nn.Upsample(0.5)",
            &[1, 6, 3],
            &[],
        ),
        case(
            "Upsample linear",
            Box::new(Upsample::new(&[2.0, 1.5], "linear", false, false).unwrap()),
            "nn.Upsample((2, 1.5), mode='linear')",
            &[2, 3, 4, 2],
            &[],
        ),
        case(
            "Upsample linear align_corners",
            Box::new(Upsample::new(&[2.5], "linear", true, false).unwrap()),
            "nn.Upsample(2.5, mode='linear', align_corners=True)",
            &[2, 3, 4, 2],
            &[],
        ),
        case(
            "Upsample cubic",
            Box::new(Upsample::new(&[2.0], "cubic", false, false).unwrap()),
            "nn.Upsample(2, mode='cubic')",
            &[2, 4, 3, 2],
            &[],
        ),
        case(
            "Upsample cubic align_corners 1d",
            Box::new(Upsample::new(&[3.0], "cubic", true, false).unwrap()),
            "nn.Upsample(3, mode='cubic', align_corners=True)",
            &[2, 5, 3],
            &[],
        ),
        case(
            "Upsample linear antialias",
            Box::new(Upsample::new(&[0.5], "linear", false, true).unwrap()),
            "nn.Upsample(0.5, mode='linear', antialias=True)",
            &[1, 8, 6, 2],
            &[],
        ),
        case(
            "Upsample cubic antialias",
            Box::new(Upsample::new(&[0.6], "cubic", false, true).unwrap()),
            "nn.Upsample(0.6, mode='cubic', antialias=True)",
            &[2, 10, 2],
            &[],
        ),
        case(
            "GroupNorm",
            Box::new(GroupNorm::new(2, 6, 1e-5, true, false).unwrap()),
            "nn.GroupNorm(2, 6)",
            &[2, 5, 6],
            wb,
        ),
        case(
            "GroupNorm pytorch_compatible",
            Box::new(GroupNorm::new(3, 6, 1e-5, true, true).unwrap()),
            "nn.GroupNorm(3, 6, pytorch_compatible=True)",
            &[2, 4, 3, 6],
            wb,
        ),
        case(
            "GroupNorm not affine",
            Box::new(GroupNorm::new(4, 4, 1e-3, false, false).unwrap()),
            "nn.GroupNorm(4, 4, eps=1e-3, affine=False)",
            &[3, 5, 4],
            &[],
        ),
        case(
            "InstanceNorm affine",
            Box::new(InstanceNorm::new(4, 1e-5, true).unwrap()),
            "nn.InstanceNorm(4, affine=True)",
            &[2, 5, 6, 4],
            wb,
        ),
        case(
            "InstanceNorm",
            Box::new(InstanceNorm::new(3, 1e-5, false).unwrap()),
            "nn.InstanceNorm(3)",
            &[2, 7, 3],
            &[],
        ),
        case(
            "BatchNorm eval",
            Box::new({
                let mut b = BatchNorm::new(3, 1e-5, 0.1, true, true).unwrap();
                b.eval_mode();
                b
            }),
            "nn.BatchNorm(3); m.eval()",
            &[4, 5, 3],
            wb,
        ),
    ]
}

#[test]
fn layers_match_mlx_forward_and_gradients() {
    let d = scratch();
    let cases = cases();
    let xs: Vec<Array> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| rand(&c.x, -1.0, 1.0, 100 + i as u64))
        .collect();
    // MLX: build, randomize biases and norm parameters, save the weights, then output,
    // input gradient and parameter gradients of sum(sin(m(x))).
    let mut code = String::from(
        "from mlx.utils import tree_flatten, tree_map\nmx.random.seed(3)\nout = []\n\
         def loss(m, x):\n    return mx.sum(mx.sin(m(x)))\n",
    );
    let mut inputs = Vec::new();
    let names: Vec<String> = (0..cases.len()).map(|i| format!("x{i}")).collect();
    for (i, c) in cases.iter().enumerate() {
        let (ctor, post) = match c.mlx.split_once("; ") {
            Some((a, b)) => (a, b),
            None => (c.mlx, ""),
        };
        code.push_str(&format!(
            "m = {ctor}\n\
             m.update(tree_map(lambda p: p if p.ndim > 1 else mx.random.uniform(0.5, 1.5, p.shape), m.parameters()))\n\
             {post}\n\
             mx.eval(m.parameters()); m.save_weights(os.path.join(d, 'w{i}.safetensors')) if tree_flatten(m.parameters()) else None\n\
             g = dict(tree_flatten(nn.value_and_grad(m, loss)(m, x{i})[1])) if {ps:?} else {{}}\n\
             out += [m(x{i}), mx.grad(lambda x: loss(m, x))(x{i})] + [g[k] for k in {ps:?}]\n",
            ps = c.params
        ));
        inputs.push((names[i].as_str(), &xs[i]));
    }
    let want = mlx(&code, &inputs, Some(&d));
    let mut k = 0;
    for (i, c) in cases.into_iter().enumerate() {
        let mut m = Dyn(c.layer);
        if m.num_parameters() > 0 {
            m.load_weights(d.join(format!("w{i}.safetensors")), true)
                .unwrap();
        }
        let got = output_and_grads(&m, &xs[i], &c.params);
        let labels = ["output", "input gradient"]
            .iter()
            .map(|s| s.to_string())
            .chain(c.params.iter().map(|p| format!("gradient of {p}")));
        for (g, what) in got.iter().zip(labels) {
            close(g, &want[k], 1e-4, 1e-4, &format!("{}: {what}", c.name));
            k += 1;
        }
    }
    assert_eq!(k, want.len());
}

#[test]
fn batchnorm_running_statistics_match_mlx() {
    let d = scratch();
    let x1 = rand(&[4, 3, 5, 3], -1.0, 2.0, 1);
    let x2 = rand(&[4, 3, 5, 3], -2.0, 1.0, 2);
    let x3 = rand(&[2, 3, 5, 3], -1.0, 1.0, 3);
    let v = rand(&[6, 4], -1.0, 3.0, 4);
    let want = mlx(
        "from mlx.utils import tree_flatten\n\
         mx.random.seed(1)\n\
         m = nn.BatchNorm(3, momentum=0.2)\n\
         m.update({'weight': mx.random.uniform(0.5, 1.5, (3,)), 'bias': mx.random.uniform(-1, 1, (3,))})\n\
         mx.eval(m.parameters()); m.save_weights(os.path.join(d, 'bn.safetensors'))\n\
         names = sorted(k for k, _ in tree_flatten(m.parameters()))\n\
         trainable = sorted(k for k, _ in tree_flatten(m.trainable_parameters()))\n\
         assert names == ['bias', 'running_mean', 'running_var', 'weight'], names\n\
         assert trainable == ['bias', 'weight'], trainable\n\
         def loss(m, x):\n    return mx.sum(mx.sin(m(x)))\n\
         y1 = m(x1)\n\
         g = dict(tree_flatten(nn.value_and_grad(m, loss)(m, x2)[1]))\n\
         rm, rv = m.running_mean, m.running_var\n\
         m.eval()\n\
         y3 = m(x3)\n\
         g3 = dict(tree_flatten(nn.value_and_grad(m, loss)(m, x3)[1]))\n\
         gx3 = mx.grad(lambda x: loss(m, x))(x3)\n\
         n = nn.BatchNorm(4, affine=False, track_running_stats=False)\n\
         out = [y1, g['weight'], g['bias'], rm, rv, y3, g3['weight'], g3['bias'], gx3, n(v), m.running_mean]",
        &[("x1", &x1), ("x2", &x2), ("x3", &x3), ("v", &v)],
        Some(&d),
    );
    let mut m = BatchNorm::new(3, 1e-5, 0.2, true, true).unwrap();
    m.load_weights(d.join("bn.safetensors"), true).unwrap();
    let names: Vec<String> = m.named_parameters().into_iter().map(|p| p.0).collect();
    assert_eq!(names, ["weight", "bias", "running_mean", "running_var"]);
    let trainable = mlxr::tree::tree_flatten(&m.trainable_parameters());
    assert_eq!(trainable.len(), 2);
    m.unfreeze();
    assert_eq!(mlxr::tree::tree_flatten(&m.trainable_parameters()).len(), 2);
    let lossf = |m: &BatchNorm, a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(&ops::sin(&m.forward(&a[0])?)?, None, false)?])
    };
    let y1 = m.forward(&x1).unwrap();
    let (_, g) = mlxr_nn::value_and_grad(lossf)(&m, std::slice::from_ref(&x2)).unwrap();
    let rm = m.running_mean.as_ref().unwrap().value();
    let rv = m.running_var.as_ref().unwrap().value();
    m.eval_mode();
    assert!(!m.is_training());
    let y3 = m.forward(&x3).unwrap();
    let (_, g3) = mlxr_nn::value_and_grad(lossf)(&m, std::slice::from_ref(&x3)).unwrap();
    let mc = m.clone();
    let gx3 = mlxr::grad(
        move |a: &[Array]| {
            Ok(vec![ops::sum(
                &ops::sin(&mc.forward(&a[0])?)?,
                None,
                false,
            )?])
        },
        &[0],
    )(std::slice::from_ref(&x3))
    .unwrap()
    .pop()
    .unwrap();
    let n = BatchNorm::new(4, 1e-5, 0.1, false, false).unwrap();
    assert_eq!(n.num_parameters(), 0);
    let get = |t: &mlxr::Tree, k: &str| t.get_path(k).unwrap().as_array().unwrap().clone();
    let got = [
        y1,
        get(&g, "weight"),
        get(&g, "bias"),
        rm,
        rv,
        y3,
        get(&g3, "weight"),
        get(&g3, "bias"),
        gx3,
        n.forward(&v).unwrap(),
        m.running_mean.as_ref().unwrap().value(),
    ];
    let labels = [
        "train output",
        "train grad weight",
        "train grad bias",
        "running_mean",
        "running_var",
        "eval output",
        "eval grad weight",
        "eval grad bias",
        "eval grad input",
        "no affine, no tracking",
        "running_mean unchanged in eval",
    ];
    for ((g, w), l) in got.iter().zip(&want).zip(labels) {
        close(g, w, 1e-4, 1e-5, l);
    }
    // Saved weights carry the running statistics under MLX's names.
    m.save_weights(d.join("bn2.safetensors")).unwrap();
    let saved = mlxr::io::load_safetensors(d.join("bn2.safetensors"))
        .unwrap()
        .0;
    close(
        &saved.iter().find(|(k, _)| k == "running_var").unwrap().1,
        &want[4],
        1e-6,
        1e-7,
        "saved running_var",
    );
}

#[test]
fn bad_arguments_and_inputs_are_errors() {
    let x = rand(&[2, 5, 4], -1.0, 1.0, 9);
    assert!(Conv1d::new(4, 6, 3, 1, 0, 1, 3, true).is_err());
    assert!(Conv1d::new(4, 6, 0, 1, 0, 1, 1, true).is_err());
    let c = Conv1d::new(3, 6, 3, 1, 0, 1, 1, true).unwrap();
    let e = c.forward(&x).unwrap_err().to_string();
    assert!(e.contains("input channels"), "{e}");
    let c = Conv2d::new(4, 6, (3, 3), (1, 1), (0, 0), (1, 1), 1, true).unwrap();
    assert!(c.forward(&x).is_err());
    let c = Conv1d::new(4, 6, 7, 1, 0, 1, 1, true).unwrap();
    let e = c.forward(&x).unwrap_err().to_string();
    assert!(e.contains("cannot be smaller"), "{e}");
    assert!(ConvTranspose1d::new(4, 2, 3, 0, 0, 1, 0, true)
        .unwrap()
        .forward(&x)
        .is_err());
    let e = MaxPool1d::new(0, None, 0).unwrap_err().to_string();
    assert!(e.contains("'kernel_size' must be positive"), "{e}");
    let e = AvgPool2d::new((2, 2), Some((0, 1)), (0, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("'stride' must be positive"), "{e}");
    let e = MaxPool2d::new((2, 2), None, (0, 0))
        .unwrap()
        .forward(&x)
        .unwrap_err()
        .to_string();
    assert!(e.contains("MaxPool2d") && e.contains("[2, 5, 4]"), "{e}");
    assert!(MaxPool1d::new(6, None, 0).unwrap().forward(&x).is_err());
    assert!(Upsample::new(&[2.0], "area", false, false).is_err());
    assert!(Upsample::new(&[2.0], "nearest", false, true).is_err());
    assert!(Upsample::new(&[2.0], "linear", true, true).is_err());
    assert!(Upsample::new(&[0.0], "linear", false, false).is_err());
    let u = Upsample::new(&[2.0, 2.0], "linear", false, false).unwrap();
    let e = u.forward(&x).unwrap_err().to_string();
    assert!(e.contains("One scale per spatial dimension"), "{e}");
    assert!(Upsample::new(&[2.0], "nearest", false, false)
        .unwrap()
        .forward(&rand(&[2, 3], 0.0, 1.0, 1))
        .is_err());
    assert!(GroupNorm::new(3, 4, 1e-5, true, false).is_err());
    assert!(GroupNorm::new(0, 4, 1e-5, true, false).is_err());
    assert!(GroupNorm::new(2, 4, 0.0, true, false).is_err());
    assert!(GroupNorm::new(2, 6, 1e-5, true, false)
        .unwrap()
        .forward(&x)
        .is_err());
    assert!(InstanceNorm::new(4, 1e-5, false)
        .unwrap()
        .forward(&rand(&[2, 4], 0.0, 1.0, 1))
        .is_err());
    let bn = BatchNorm::new(4, 1e-5, 0.1, true, true).unwrap();
    let e = bn
        .forward(&rand(&[1, 4], 0.0, 1.0, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than one value per channel"), "{e}");
    assert!(bn.forward(&rand(&[2, 2, 2, 2, 4], 0.0, 1.0, 1)).is_err());
    assert!(bn.forward(&rand(&[2, 3], 0.0, 1.0, 1)).is_err());
}

#[test]
fn views_and_empty_batches() {
    // A transposed view gives the same result as its contiguous copy.
    let base = rand(&[3, 6, 5, 2], -1.0, 1.0, 11);
    let v = ops::transpose_axes(&base, &[3, 2, 1, 0]).unwrap(); // (2, 5, 6, 3)
    let c = ops::contiguous(&v).unwrap();
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(Conv2d::new(3, 4, (3, 2), (2, 1), (1, 1), (1, 1), 1, true).unwrap()),
        Box::new(ConvTranspose2d::new(3, 2, (2, 2), (2, 1), (0, 0), (1, 1), (0, 0), true).unwrap()),
        Box::new(MaxPool2d::new((2, 2), Some((1, 2)), (1, 0)).unwrap()),
        Box::new(AvgPool2d::new((3, 2), None, (0, 0)).unwrap()),
        Box::new(Upsample::new(&[1.5], "cubic", false, false).unwrap()),
        Box::new(GroupNorm::new(3, 3, 1e-5, true, true).unwrap()),
        Box::new(InstanceNorm::new(3, 1e-5, true).unwrap()),
        Box::new(BatchNorm::new(3, 1e-5, 0.1, true, false).unwrap()),
    ];
    for (i, l) in layers.iter().enumerate() {
        close(
            &l.forward(&v).unwrap(),
            &l.forward(&c).unwrap(),
            1e-6,
            1e-6,
            &format!("layer {i} on a view"),
        );
    }
    // An empty batch gives an empty output of the shape a full batch has, batch 0.
    let e = ops::zeros(&[0, 5, 6, 3], None).unwrap();
    for (i, l) in layers.iter().take(5).enumerate() {
        let mut want = l.forward(&c).unwrap().shape().to_vec();
        want[0] = 0;
        let y = l.forward(&e).unwrap();
        assert_eq!(y.shape(), &want[..], "layer {i} on an empty batch");
        assert!(y.to_vec::<f32>().unwrap().is_empty());
    }
}
