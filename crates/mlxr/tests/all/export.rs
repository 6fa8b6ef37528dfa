//! `export_function` / `import_function` / `Exporter`: functions over many primitive
//! families (elementwise, reductions, matmul, indexing, sort, scans, random with a key,
//! conv, fft, linalg, quantized, shape ops, an MLP training step, compiled and custom
//! functions) give the same values after a round trip through a `.mlxfn` file as when
//! called directly; captured constants, multiple outputs, keyword inputs, shapeless
//! import, several traces per file, metadata, and the errors (corrupt, truncated, wrong
//! version or magic, missing file, wrong number / shape / dtype of inputs).

use crate::common::{assert_close, rand};
use mlxr::export::{export_function, import_function, Exporter, ImportedFunction, Kwargs};
use mlxr::ops::{self, PadMode};
use mlxr::{Array, Dtype, Error, Result};
use std::path::PathBuf;

fn r32(shape: &[usize], seed: u64) -> Array {
    rand(shape, Dtype::Float32, -1.0, 1.0, seed)
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "mlxr_test_export_{}_{name}.mlxfn",
        std::process::id()
    ))
}

fn no_kw() -> Kwargs {
    Kwargs::new()
}

/// Bitwise equality of output lists (the imported graph runs the same kernels).
fn same(got: &[Array], want: &[Array], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of outputs");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g.shape(), w.shape(), "{what}: output {i} shape");
        assert_eq!(g.dtype(), w.dtype(), "{what}: output {i} dtype");
        assert_eq!(
            g.to_bytes().unwrap(),
            w.to_bytes().unwrap(),
            "{what}: output {i} values\n got: {g}\nwant: {w}"
        );
    }
}

/// Export `f` on `args`, import it, and check it against `f` on `args` and on `again`
/// (other inputs of the same signature). Returns the imported function.
fn roundtrip<F>(name: &str, f: F, args: &[Array], again: &[Array]) -> ImportedFunction
where
    F: Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + Clone + 'static,
{
    let path = tmp(name);
    let g = f.clone();
    export_function(
        &path,
        move |a: &[Array], _: &Kwargs| g(a),
        args,
        &no_kw(),
        false,
    )
    .unwrap_or_else(|e| panic!("{name}: export failed: {e}"));
    let imported = import_function(&path).unwrap_or_else(|e| panic!("{name}: import: {e}"));
    std::fs::remove_file(&path).ok();
    for (which, xs) in [("example inputs", args), ("new inputs", again)] {
        let got = imported.call(xs, &no_kw()).unwrap();
        let want = f(xs).unwrap();
        same(&got, &want, &format!("{name} ({which})"));
    }
    imported
}

#[test]
fn elementwise_unary_binary_ternary() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let (x, y) = (&a[0], &a[1]);
        let e = ops::exp(&ops::sin(x)?)?;
        let t = ops::tanh(&ops::multiply(x, y)?)?;
        let p = ops::power(&ops::abs(y)?, 1.5)?;
        let m = ops::maximum(&ops::logaddexp(x, y)?, 0.25)?;
        let c = ops::where_(&ops::greater(x, y)?, &e, &t)?;
        let (q, r) = ops::divmod(x, 0.3)?;
        let s = ops::sigmoid(&ops::sqrt(&ops::add(&ops::square(x)?, 1.0)?)?)?;
        let i = ops::astype(&ops::multiply(x, 10.0)?, Dtype::Int32)?;
        let n = ops::nan_to_num(&ops::log(x)?, 0.0, Some(7.0), Some(-7.0))?;
        Ok(vec![e, t, p, m, c, q, r, s, i, n])
    };
    let (x, y) = (r32(&[3, 4], 1), r32(&[3, 4], 2));
    roundtrip(
        "elementwise",
        f,
        &[x, y],
        &[r32(&[3, 4], 3), r32(&[3, 4], 4)],
    );
}

#[test]
fn reductions_softmax_and_scans() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        Ok(vec![
            ops::sum(x, Some(&[1]), false)?,
            ops::mean(x, None, false)?,
            ops::max(x, Some(&[0]), true)?,
            ops::argmax(x, Some(1), false)?,
            ops::logsumexp(x, Some(&[-1]), false)?,
            ops::softmax(x, Some(&[-1]), false)?,
            ops::prod(x, Some(&[0]), false)?,
            ops::cumsum(x, Some(1), false, true)?,
            ops::cumprod(x, Some(0), true, false)?,
            ops::cummax(x, Some(1), false, true)?,
        ])
    };
    roundtrip("reduce", f, &[r32(&[4, 5], 5)], &[r32(&[4, 5], 6)]);
}

#[test]
fn matmul_and_mlp_training_step() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![
            ops::matmul(&a[0], &a[1])?,
            ops::addmm(&a[2], &a[0], &a[1], 0.5, 2.0)?,
        ])
    };
    roundtrip(
        "matmul",
        f,
        &[r32(&[3, 4], 7), r32(&[4, 2], 8), r32(&[3, 2], 9)],
        &[r32(&[3, 4], 10), r32(&[4, 2], 11), r32(&[3, 2], 12)],
    );

    // One SGD step of a two-layer MLP: the exported graph holds the backward pass.
    let step = |a: &[Array]| -> Result<Vec<Array>> {
        let (x, y) = (a[4].clone(), a[5].clone());
        let loss = move |p: &[Array]| -> Result<Vec<Array>> {
            let h = ops::maximum(&ops::add(&ops::matmul(&x, &p[0])?, &p[1])?, 0.0)?;
            let o = ops::add(&ops::matmul(&h, &p[2])?, &p[3])?;
            let d = ops::subtract(&o, &y)?;
            Ok(vec![ops::mean(&ops::multiply(&d, &d)?, None, false)?])
        };
        let vg = mlxr::value_and_grad(loss, &[0, 1, 2, 3]);
        let (l, g) = vg(&a[..4])?;
        let mut out = vec![l[0].clone()];
        for (p, gp) in a[..4].iter().zip(&g) {
            out.push(ops::subtract(p, &ops::multiply(gp, 0.1)?)?);
        }
        Ok(out)
    };
    let params = |s: u64| {
        vec![
            r32(&[6, 8], s),
            r32(&[8], s + 1),
            r32(&[8, 2], s + 2),
            r32(&[2], s + 3),
            r32(&[5, 6], s + 4),
            r32(&[5, 2], s + 5),
        ]
    };
    roundtrip("mlp", step, &params(20), &params(40));

    // A compiled function exports like the function itself.
    let c = mlxr::compile(step);
    let cf = c.as_fn();
    roundtrip("compiled_mlp", cf, &params(60), &params(80));
}

#[test]
fn indexing_gather_scatter() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let (x, idx) = (&a[0], &a[1]);
        let along = ops::argsort(x, Some(1))?;
        Ok(vec![
            ops::take(x, idx, Some(0))?,
            ops::take_along_axis(x, &along, Some(1))?,
            ops::put_along_axis(x, &along, 2.0, Some(1))?,
            ops::scatter_add(
                x,
                std::slice::from_ref(idx),
                &ops::ones(&[3, 1, 5], None)?,
                &[0],
            )?,
            ops::slice_update(x, &ops::zeros(&[2, 2], None)?, &[1, 1], &[3, 3], &[1, 1])?,
        ])
    };
    let idx = Array::from_slice(&[3i32, 0, 3], &[3]).unwrap();
    let idx2 = Array::from_slice(&[1i32, 2, 0], &[3]).unwrap();
    roundtrip(
        "indexing",
        f,
        &[r32(&[4, 5], 30), idx],
        &[r32(&[4, 5], 31), idx2],
    );
}

#[test]
fn sort_partition_searchsorted() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        let s = ops::sort(x, Some(-1))?;
        Ok(vec![
            s.clone(),
            ops::argsort(x, Some(0))?,
            ops::topk(x, 2, Some(-1))?,
            ops::partition(x, 1, Some(-1))?,
            ops::searchsorted(&ops::sort(x, None)?, &a[1], "right")?,
        ])
    };
    roundtrip(
        "sort",
        f,
        &[r32(&[3, 6], 50), r32(&[4], 51)],
        &[r32(&[3, 6], 52), r32(&[4], 53)],
    );
}

#[test]
fn random_with_a_key_input() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let keys = mlxr::random::split(&a[0], 3)?;
        let k: Vec<Array> = (0..3i32)
            .map(|i| ops::take(&keys, &Array::scalar(i), Some(0)))
            .collect::<Result<_>>()?;
        Ok(vec![
            mlxr::random::normal(&[4, 3], Dtype::Float32, 1.0, 2.0, Some(&k[0]))?,
            mlxr::random::uniform(-1.0, 1.0, &[5], Dtype::Float32, Some(&k[1]))?,
            mlxr::random::categorical(&a[1], -1, Some(&k[2]))?,
        ])
    };
    roundtrip(
        "random",
        f,
        &[mlxr::random::key(0), r32(&[4, 6], 60)],
        &[mlxr::random::key(7), r32(&[4, 6], 61)],
    );
}

#[test]
fn conv_and_fft() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let c2 = ops::conv2d(&a[0], &a[1], (1, 1), (1, 1), (1, 1), 1)?;
        let c1 = ops::conv1d(&a[2], &a[3], 2, 0, 1, 1)?;
        let sp = ops::fft::rfft(&a[2], None, 1)?;
        let back = ops::fft::irfft(&sp, Some(9), 1)?;
        let full = ops::fft::fft(&ops::astype(&a[2], Dtype::Complex64)?, None, 0)?;
        Ok(vec![c2, c1, sp, back, full])
    };
    let args = |s: u64| {
        vec![
            r32(&[2, 5, 5, 3], s),
            r32(&[4, 3, 3, 3], s + 1),
            r32(&[2, 9, 2], s + 2),
            r32(&[3, 3, 2], s + 3),
        ]
    };
    roundtrip("conv_fft", f, &args(70), &args(80));
}

#[test]
fn shapes_slices_and_views() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        let t = ops::transpose(x)?;
        let r = ops::reshape(x, &[6, -1])?;
        let s = ops::slice(x, &[0, 1, 0], &[2, 3, 4], &[1, 1, 2])?;
        let c = ops::concatenate(&[x.clone(), ops::negative(x)?], 1)?;
        let p = ops::pad(x, &[(1, 0), (0, 2), (1, 1)], PadMode::Constant, 0.5)?;
        let e = ops::pad(x, &[(1, 1)], PadMode::Edge, 0.0)?;
        let b = ops::broadcast_to(
            &ops::expand_dims(&ops::sum(x, Some(&[0]), false)?, &[0])?,
            &[4, 3, 4],
        )?;
        let tl = ops::tile(x, &[1, 2, 1])?;
        let rp = ops::repeat(x, 2, Some(2))?;
        let ro = ops::roll(x, &[1], Some(&[2]))?;
        let d = ops::diagonal(x, 0, 1, 2)?;
        let v = ops::view(x, Dtype::Int32)?;
        let st = ops::as_strided(x, &[3, 2], &[4, 1], 1)?;
        let tri = ops::tril(&ops::reshape(x, &[4, 6])?, 1)?;
        let sg = ops::stop_gradient(x)?;
        Ok(vec![t, r, s, c, p, e, b, tl, rp, ro, d, v, st, tri, sg])
    };
    roundtrip("shapes", f, &[r32(&[2, 3, 4], 90)], &[r32(&[2, 3, 4], 91)]);
}

#[test]
fn creation_linalg_quantized() {
    let f = |a: &[Array]| -> Result<Vec<Array>> {
        let x = &a[0];
        let spd = ops::add(
            &ops::matmul(x, &ops::transpose(x)?)?,
            &ops::eye(4, None, 0, None)?,
        )?;
        let (q, r) = mlxr::ops::linalg::qr(x)?;
        let lin = ops::add(x, &ops::linspace(0.0, 1.0, 4, None)?)?;
        let ar = ops::multiply(x, &ops::astype(&ops::arange(4)?, Dtype::Float32)?)?;
        Ok(vec![
            mlxr::ops::linalg::inv(&spd)?,
            mlxr::ops::linalg::cholesky(&spd, false)?,
            q,
            r,
            lin,
            ar,
        ])
    };
    roundtrip("linalg", f, &[r32(&[4, 4], 100)], &[r32(&[4, 4], 101)]);

    let (wq, scales, biases) =
        ops::quantize(&r32(&[8, 64], 102), None, None, Default::default()).unwrap();
    let qf = move |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::quantized_matmul(
            &a[0],
            &wq,
            &scales,
            biases.as_ref(),
            true,
            None,
            None,
            Default::default(),
        )?])
    };
    let imported = roundtrip(
        "quantized",
        qf,
        &[r32(&[3, 64], 103)],
        &[r32(&[3, 64], 104)],
    );
    assert_eq!(imported.num_traces(), 1);
}

#[test]
fn captured_constants_and_multiple_outputs() {
    let w = r32(&[3], 110);
    let w_vals = w.to_vec::<f32>().unwrap();
    let lazy = ops::exp(&r32(&[3], 111)).unwrap(); // an unevaluated capture
    let lazy_vals = lazy.to_vec::<f32>().unwrap();
    let path = tmp("constants");
    {
        let (w, lazy) = (w.clone(), lazy.clone());
        export_function(
            &path,
            move |a: &[Array], _: &Kwargs| {
                Ok(vec![
                    ops::multiply(&a[0], &w)?,
                    ops::add(&a[0], &lazy)?,
                    a[0].clone(),
                    w.clone(),
                ])
            },
            &[r32(&[3], 112)],
            &no_kw(),
            false,
        )
        .unwrap();
    }
    drop((w, lazy));
    let f = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let x = Array::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap();
    let out = f.call(std::slice::from_ref(&x), &no_kw()).unwrap();
    assert_eq!(out.len(), 4);
    let prod: Vec<f32> = w_vals
        .iter()
        .zip([1.0, 2.0, 3.0])
        .map(|(a, b)| a * b)
        .collect();
    assert_eq!(out[0].to_vec::<f32>().unwrap(), prod);
    let sum: Vec<f32> = lazy_vals
        .iter()
        .zip([1.0, 2.0, 3.0])
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(out[1].to_vec::<f32>().unwrap(), sum);
    assert_eq!(out[2].to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0]);
    assert_eq!(out[3].to_vec::<f32>().unwrap(), w_vals);

    // A function of no inputs: its outputs are constants.
    let path = tmp("no_inputs");
    export_function(
        &path,
        |_: &[Array], _: &Kwargs| Ok(vec![ops::arange(3)?]),
        &[],
        &no_kw(),
        false,
    )
    .unwrap();
    let f = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let out = f.call(&[], &no_kw()).unwrap();
    assert_eq!(out[0].to_vec::<i32>().unwrap(), vec![0, 1, 2]);
}

#[test]
fn keyword_inputs_and_metadata() {
    let path = tmp("kwargs");
    let f = |a: &[Array], kw: &Kwargs| -> Result<Vec<Array>> {
        let y = ops::add(&ops::matmul(&a[0], &kw["w"])?, &kw["b"])?;
        Ok(vec![y, ops::sum(&a[0], None, false)?])
    };
    let mut kw = Kwargs::new();
    kw.insert("w".into(), r32(&[3, 4], 120));
    kw.insert("b".into(), r32(&[4], 121));
    let x = r32(&[2, 3], 122);
    let mut ex = Exporter::new(&path, f).metadata("{\"layers\": 2}");
    ex.add(std::slice::from_ref(&x), &kw).unwrap();
    let imported = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(imported.metadata(), "{\"layers\": 2}");
    let got = imported.call(std::slice::from_ref(&x), &kw).unwrap();
    same(&got, &f(std::slice::from_ref(&x), &kw).unwrap(), "kwargs");

    // Missing, extra or positional-instead-of-keyword inputs do not match.
    let mut missing = kw.clone();
    missing.remove("b");
    let mut extra = kw.clone();
    extra.insert("c".into(), r32(&[4], 123));
    for (what, args, kws) in [
        ("missing keyword", vec![x.clone()], missing),
        ("extra keyword", vec![x.clone()], extra),
        (
            "keywords given positionally",
            vec![x.clone(), kw["b"].clone(), kw["w"].clone()],
            Kwargs::new(),
        ),
    ] {
        match imported.call(&args, &kws) {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.contains("No imported function found"), "{what}: {m}")
            }
            other => panic!("{what}: expected an error, got {other:?}"),
        }
    }
}

#[test]
fn shapeless_import() {
    let path = tmp("shapeless");
    let f = |a: &[Array], _: &Kwargs| -> Result<Vec<Array>> {
        let y = ops::add(&ops::multiply(&ops::exp(&a[0])?, &a[1])?, 1.0)?;
        Ok(vec![y.clone(), ops::sum(&y, Some(&[-1]), false)?])
    };
    export_function(
        &path,
        f,
        &[r32(&[2, 3], 130), r32(&[2, 3], 131)],
        &no_kw(),
        true,
    )
    .unwrap();
    let imported = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(imported.is_shapeless());
    let (x, y) = (r32(&[4, 5], 132), r32(&[4, 5], 133));
    let got = imported.call(&[x.clone(), y.clone()], &no_kw()).unwrap();
    let want = f(&[x, y], &no_kw()).unwrap();
    assert_eq!(got[0].shape(), &[4, 5]);
    assert_eq!(got[1].shape(), &[4]);
    for (g, w) in got.iter().zip(&want) {
        assert_close(g, w, 1e-6, 1e-6, "shapeless");
    }
    // Another rank or dtype is not accepted.
    let e = imported
        .call(&[r32(&[4], 134), r32(&[4], 135)], &no_kw())
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    let e = imported
        .call(
            &[
                ops::astype(&r32(&[4, 5], 136), Dtype::Float16).unwrap(),
                r32(&[4, 5], 137),
            ],
            &no_kw(),
        )
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");

    // A reshape to a fixed size cannot follow new shapes: a clear error.
    let path = tmp("shapeless_reshape");
    export_function(
        &path,
        |a: &[Array], _: &Kwargs| Ok(vec![ops::reshape(&a[0], &[6])?]),
        &[r32(&[2, 3], 138)],
        &no_kw(),
        true,
    )
    .unwrap();
    let imported = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let e = imported.call(&[r32(&[3, 3], 139)], &no_kw()).unwrap_err();
    assert!(e.to_string().contains("cannot be replayed"), "{e}");
    // The traced shape still works.
    let x = r32(&[2, 3], 140);
    let out = imported.call(std::slice::from_ref(&x), &no_kw()).unwrap();
    assert_eq!(out[0].to_vec::<f32>().unwrap(), x.to_vec::<f32>().unwrap());
}

#[test]
fn several_traces_in_one_file() {
    let path = tmp("traces");
    let sum_all = |a: &[Array], _: &Kwargs| -> Result<Vec<Array>> {
        let mut acc = a[0].clone();
        for x in &a[1..] {
            acc = ops::add(&acc, x)?;
        }
        Ok(vec![acc])
    };
    let mut ex = Exporter::new(&path, sum_all);
    let s = |v: i32| Array::scalar(v);
    ex.add(&[s(1)], &no_kw()).unwrap();
    ex.add(&[s(1), s(2)], &no_kw()).unwrap();
    ex.add(&[s(1), s(2), s(3)], &no_kw()).unwrap();
    ex.add(&[r32(&[2], 150)], &no_kw()).unwrap();
    assert_eq!(ex.num_traces(), 4);
    // The same signature twice is refused (as in MLX).
    let e = ex.add(&[s(5)], &no_kw()).unwrap_err();
    assert!(e.to_string().contains("same signature"), "{e}");

    let f = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(f.num_traces(), 4);
    let get = |xs: &[Array]| f.call(xs, &no_kw()).unwrap()[0].clone();
    assert_eq!(get(&[s(5)]).item::<i32>().unwrap(), 5);
    assert_eq!(get(&[s(5), s(6)]).item::<i32>().unwrap(), 11);
    assert_eq!(get(&[s(5), s(6), s(7)]).item::<i32>().unwrap(), 18);
    let v = Array::from_slice(&[3.0f32, 4.0], &[2]).unwrap();
    assert_eq!(get(&[v]).to_vec::<f32>().unwrap(), vec![3.0, 4.0]);
    let e = f.call(&[r32(&[3], 151)], &no_kw()).unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, Error::InvalidArgument(_)), "{m}");
    assert!(
        m.contains("Possible functions include") && m.contains("Called with 1 positional"),
        "{m}"
    );
}

#[test]
fn custom_function_exports_its_forward_pass() {
    let path = tmp("custom");
    let cf = mlxr::custom_function(|a: &[Array]| Ok(vec![ops::multiply(&a[0], &a[0])?])).with_vjp(
        |p: &[Array], c: &[Array], _: &[Array]| {
            Ok(vec![ops::multiply(&c[0], &ops::multiply(&p[0], 2.0)?)?])
        },
    );
    export_function(
        &path,
        move |a: &[Array], _: &Kwargs| cf.call(a),
        &[r32(&[3], 160)],
        &no_kw(),
        false,
    )
    .unwrap();
    let f = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let x = Array::from_slice(&[1.0f32, -2.0, 3.0], &[3]).unwrap();
    assert_eq!(
        f.call(std::slice::from_ref(&x), &no_kw()).unwrap()[0]
            .to_vec::<f32>()
            .unwrap(),
        vec![1.0, 4.0, 9.0]
    );
    // Gradients flow through the imported graph (the forward computation).
    let g = mlxr::grad(
        move |a: &[Array]| Ok(vec![ops::sum(&f.call(a, &Kwargs::new())?[0], None, false)?]),
        &[0],
    );
    let dx = g(&[x]).unwrap();
    assert_eq!(dx[0].to_vec::<f32>().unwrap(), vec![2.0, -4.0, 6.0]);
}

#[test]
fn wrong_inputs_are_errors() {
    let path = tmp("wrong_inputs");
    export_function(
        &path,
        |a: &[Array], _: &Kwargs| Ok(vec![ops::add(&a[0], &a[1])?]),
        &[r32(&[3], 170), r32(&[3], 171)],
        &no_kw(),
        false,
    )
    .unwrap();
    let f = import_function(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let cases = [
        ("too few", vec![r32(&[3], 1)]),
        ("too many", vec![r32(&[3], 1), r32(&[3], 2), r32(&[3], 3)]),
        ("wrong shape", vec![r32(&[3], 1), r32(&[2], 2)]),
        (
            "wrong dtype",
            vec![
                r32(&[3], 1),
                ops::astype(&r32(&[3], 2), Dtype::Int32).unwrap(),
            ],
        ),
    ];
    for (what, args) in cases {
        match f.call(&args, &no_kw()) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("No imported function"), "{m}"),
            other => panic!("{what}: expected an error, got {other:?}"),
        }
    }
}

#[test]
fn corrupt_truncated_and_foreign_files_are_errors() {
    let path = tmp("corrupt");
    export_function(
        &path,
        |a: &[Array], _: &Kwargs| Ok(vec![ops::exp(&ops::sum(&a[0], None, false)?)?]),
        &[r32(&[4], 180)],
        &no_kw(),
        false,
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert!(ImportedFunction::from_bytes(&bytes).is_ok());
    let io = |b: &[u8], what: &str| match ImportedFunction::from_bytes(b) {
        Err(Error::Io(m)) => m,
        other => panic!("{what}: expected an Io error, got {other:?}"),
    };
    // Every truncation is an error (never a panic).
    for n in 0..bytes.len() {
        io(&bytes[..n], &format!("truncated to {n}"));
    }
    // Flipping any byte after the header is caught.
    for i in 12..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        io(&b, &format!("byte {i} flipped"));
    }
    let mut b = bytes.clone();
    b[0] = b'X';
    assert!(io(&b, "magic").contains("Not an mlxr function file"));
    let mut b = bytes.clone();
    b[8] = 99;
    match ImportedFunction::from_bytes(&b) {
        Err(Error::Unsupported(m)) => assert!(m.contains("version 99"), "{m}"),
        other => panic!("version: {other:?}"),
    }
    assert!(io(b"garbage", "garbage").contains("Not an mlxr"));
    match import_function(tmp("does_not_exist")) {
        Err(Error::Io(m)) => assert!(m.contains("Failed to open"), "{m}"),
        other => panic!("missing file: {other:?}"),
    }
}

#[test]
fn registry_tags_are_unique() {
    let tags = mlxr::export::primitives::registered_tags();
    let mut sorted = tags.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), tags.len(), "duplicate tags in {tags:?}");
    // An unknown tag is a clear error.
    let e = mlxr::export::primitives::import_primitive("NoSuchPrimitive", &[]).unwrap_err();
    assert!(e.to_string().contains("unknown primitive"), "{e}");
}
