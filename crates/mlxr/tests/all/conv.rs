//! Convolutions (conv1d/2d/3d, conv_general, conv_transpose1d/2d/3d) against MLX: forward
//! values and the gradients with respect to input and weight (through `mx.vjp`), for
//! strides, paddings (negative and asymmetric too), dilations, groups, batches, float16,
//! non-contiguous and empty inputs; vmap against a loop; errors.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype, Error};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Run MLX (CPU) code once per case: each case's inputs are bound as `mx.array`s and its
/// code assigns `out` (a list of arrays). Returns each case's outputs.
fn mlx_batch(cases: &[(String, Vec<(&str, &Array)>)]) -> Vec<Vec<Array>> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "mlxr-conv-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut body = String::new();
    for (ci, (code, inputs)) in cases.iter().enumerate() {
        let mut names = Vec::new();
        for (name, a) in inputs {
            mlxr::io::save_npy(dir.join(format!("c{ci}_{name}.npy")), a).unwrap();
            names.push(format!("'{name}'"));
        }
        let indented: String = code.lines().map(|l| format!("    {l}\n")).collect();
        body.push_str(&format!(
            "def _case{ci}():\n    for _n in [{names}]:\n        globals()[_n] = mx.array(np.load(os.path.join(d, 'c{ci}_' + _n + '.npy')))\n{indented}    return out\n_save({ci}, _case{ci}())\n",
            names = names.join(", ")
        ));
    }
    let script = format!(
        "import numpy as np, sys, os\nimport mlx.core as mx\nmx.set_default_device(mx.cpu)\nd = sys.argv[1]\ncounts = []\ndef _save(ci, out):\n    for _i, _a in enumerate(out):\n        np.save(os.path.join(d, 'o%d_%d.npy' % (ci, _i)), np.array(_a))\n    counts.append(len(out))\n{body}print(' '.join(map(str, counts)), flush=True)\nos._exit(0)\n"
    );
    let sp = dir.join("ref.py");
    std::fs::write(&sp, script).unwrap();
    let o = Command::new("python3")
        .arg(&sp)
        .arg(&dir)
        .output()
        .expect("python3 with mlx");
    assert!(
        o.status.success(),
        "MLX reference failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let counts: Vec<usize> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|c| c.parse().unwrap())
        .collect();
    let outs = counts
        .iter()
        .enumerate()
        .map(|(ci, &n)| {
            (0..n)
                .map(|i| mlxr::io::load_npy(dir.join(format!("o{ci}_{i}.npy"))).unwrap())
                .collect()
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    outs
}

/// One convolution case: the mlxr call and the same call in MLX (with `x`, `w` bound).
struct Case {
    name: &'static str,
    x: Vec<usize>,
    w: Vec<usize>,
    mlx: &'static str,
    f: fn(&Array, &Array) -> mlxr::Result<Array>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "conv1d plain",
            x: vec![2, 9, 4],
            w: vec![6, 3, 4],
            mlx: "mx.conv1d(x, w)",
            f: |x, w| ops::conv1d(x, w, 1, 0, 1, 1),
        },
        Case {
            name: "conv1d stride/pad/dilation/groups",
            x: vec![3, 10, 4],
            w: vec![6, 3, 2],
            mlx: "mx.conv1d(x, w, stride=2, padding=1, dilation=2, groups=2)",
            f: |x, w| ops::conv1d(x, w, 2, 1, 2, 2),
        },
        Case {
            name: "conv1d negative padding",
            x: vec![2, 8, 3],
            w: vec![4, 2, 3],
            mlx: "mx.conv1d(x, w, stride=3, padding=-1)",
            f: |x, w| ops::conv1d(x, w, 3, -1, 1, 1),
        },
        Case {
            name: "conv1d depthwise",
            x: vec![2, 7, 4],
            w: vec![4, 3, 1],
            mlx: "mx.conv1d(x, w, padding=1, groups=4)",
            f: |x, w| ops::conv1d(x, w, 1, 1, 1, 4),
        },
        Case {
            name: "conv2d",
            x: vec![2, 7, 8, 3],
            w: vec![5, 3, 2, 3],
            mlx: "mx.conv2d(x, w, stride=(2, 1), padding=(1, 2), dilation=(1, 2))",
            f: |x, w| ops::conv2d(x, w, (2, 1), (1, 2), (1, 2), 1),
        },
        Case {
            name: "conv2d groups",
            x: vec![2, 6, 6, 6],
            w: vec![9, 3, 3, 2],
            mlx: "mx.conv2d(x, w, stride=(1, 2), padding=1, dilation=(2, 1), groups=3)",
            f: |x, w| ops::conv2d(x, w, (1, 2), (1, 1), (2, 1), 3),
        },
        Case {
            name: "conv3d",
            x: vec![2, 5, 6, 4, 2],
            w: vec![4, 2, 3, 2, 2],
            mlx: "mx.conv3d(x, w, stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2))",
            f: |x, w| ops::conv3d(x, w, (1, 2, 1), (1, 0, 1), (1, 1, 2), 1),
        },
        Case {
            name: "conv_general",
            x: vec![2, 6, 5, 3],
            w: vec![4, 2, 3, 3],
            mlx: "mx.conv_general(x, w, stride=[2, 1], padding=([1, 0], [0, 2]), kernel_dilation=[1, 2], input_dilation=[2, 1], flip=True)",
            f: |x, w| ops::conv_general(x, w, &[2, 1], &[1, 0], &[0, 2], &[1, 2], &[2, 1], 1, true),
        },
        Case {
            name: "conv_general groups input dilation",
            x: vec![1, 5, 4],
            w: vec![6, 2, 2],
            mlx: "mx.conv_general(x, w, stride=2, padding=1, input_dilation=3, groups=2)",
            f: |x, w| ops::conv_general(x, w, &[2], &[1], &[1], &[1], &[3], 2, false),
        },
        Case {
            name: "conv_transpose1d",
            x: vec![2, 7, 4],
            w: vec![6, 3, 4],
            mlx: "mx.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)",
            f: |x, w| ops::conv_transpose1d(x, w, 2, 1, 1, 1, 1),
        },
        Case {
            name: "conv_transpose1d groups dilation",
            x: vec![2, 5, 4],
            w: vec![6, 3, 2],
            mlx: "mx.conv_transpose1d(x, w, stride=3, dilation=2, groups=2)",
            f: |x, w| ops::conv_transpose1d(x, w, 3, 0, 2, 0, 2),
        },
        Case {
            name: "conv_transpose1d large padding",
            x: vec![2, 7, 3],
            w: vec![2, 3, 3],
            mlx: "mx.conv_transpose1d(x, w, padding=3)",
            f: |x, w| ops::conv_transpose1d(x, w, 1, 3, 1, 0, 1),
        },
        Case {
            name: "conv_transpose2d",
            x: vec![2, 5, 4, 3],
            w: vec![4, 3, 2, 3],
            mlx: "mx.conv_transpose2d(x, w, stride=(2, 3), padding=(1, 0), dilation=(1, 2), output_padding=(1, 0))",
            f: |x, w| ops::conv_transpose2d(x, w, (2, 3), (1, 0), (1, 2), (1, 0), 1),
        },
        Case {
            name: "conv_transpose3d",
            x: vec![1, 3, 4, 2, 2],
            w: vec![3, 2, 2, 3, 2],
            mlx: "mx.conv_transpose3d(x, w, stride=(2, 1, 2), padding=(0, 1, 1))",
            f: |x, w| ops::conv_transpose3d(x, w, (2, 1, 2), (0, 1, 1), (1, 1, 1), (0, 0, 0), 1),
        },
    ]
}

/// mlxr's output and gradients (w.r.t. input and weight, with cotangent `c`) of a case.
fn run(case: &Case, x: &Array, w: &Array, c: &Array) -> Vec<Array> {
    let f = case.f;
    let (outs, grads) = mlxr::vjp(
        move |a: &[Array]| Ok(vec![f(&a[0], &a[1])?]),
        &[x.clone(), w.clone()],
        std::slice::from_ref(c),
    )
    .unwrap();
    vec![outs[0].clone(), grads[0].clone(), grads[1].clone()]
}

#[test]
fn conv_forward_and_gradients_match_mlx() {
    let cases = cases();
    let mut inputs = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let x = rand(&c.x, Dtype::Float32, -1.0, 1.0, 10 + i as u64);
        let w = rand(&c.w, Dtype::Float32, -1.0, 1.0, 100 + i as u64);
        let y = (c.f)(&x, &w).unwrap();
        let ct = rand(y.shape(), Dtype::Float32, -1.0, 1.0, 200 + i as u64);
        inputs.push((x, w, ct));
    }
    let batch: Vec<(String, Vec<(&str, &Array)>)> = cases
        .iter()
        .zip(&inputs)
        .map(|(c, (x, w, ct))| {
            (
                format!(
                    "y, g = mx.vjp(lambda x, w: [{}], [x, w], [ct])\nout = [y[0], g[0], g[1]]",
                    c.mlx
                ),
                vec![("x", x), ("w", w), ("ct", ct)],
            )
        })
        .collect();
    let want = mlx_batch(&batch);
    on_each_device(|_| {
        for ((c, (x, w, ct)), want) in cases.iter().zip(&inputs).zip(&want) {
            let got = run(c, x, w, ct);
            for (k, what) in ["output", "grad input", "grad weight"].iter().enumerate() {
                assert_close(
                    &got[k],
                    &want[k],
                    1e-4,
                    1e-4,
                    &format!("{}: {what}", c.name),
                );
            }
        }
    });
}

#[test]
fn conv_noncontiguous_float16_and_empty() {
    // A transposed view as input and a strided view as weight.
    let xt = rand(&[4, 9, 2], Dtype::Float32, -1.0, 1.0, 1);
    let x = ops::transpose_axes(&xt, &[2, 1, 0]).unwrap(); // (2, 9, 4)
    let wb = rand(&[6, 3, 8], Dtype::Float32, -1.0, 1.0, 2);
    let w = ops::slice(&wb, &[0, 0, 0], &[6, 3, 8], &[1, 1, 2]).unwrap(); // (6, 3, 4)
    let x2 = rand(&[2, 6, 5, 4], Dtype::Float16, -1.0, 1.0, 3);
    let w2 = rand(&[6, 3, 3, 2], Dtype::Float16, -1.0, 1.0, 4);
    let xc = ops::contiguous(&x).unwrap();
    let wc = ops::contiguous(&w).unwrap();
    let want = mlx_batch(&[
        (
            "out = [mx.conv1d(x, w, stride=2, padding=2, dilation=1)]".to_string(),
            vec![("x", &xc), ("w", &wc)],
        ),
        (
            "out = [mx.conv2d(x, w, stride=2, padding=1, groups=2), mx.conv_transpose2d(x, w, stride=2, groups=2)]".to_string(),
            vec![("x", &x2), ("w", &w2)],
        ),
    ]);
    on_each_device(|_| {
        let y = ops::conv1d(&x, &w, 2, 2, 1, 1).unwrap();
        assert_close(&y, &want[0][0], 1e-5, 1e-5, "conv1d of views");
        let y = ops::conv2d(&x2, &w2, (2, 2), (1, 1), (1, 1), 2).unwrap();
        assert_eq!(y.dtype(), Dtype::Float16);
        assert_close(&y, &want[1][0], 5e-3, 5e-3, "conv2d float16");
        let y = ops::conv_transpose2d(&x2, &w2, (2, 2), (0, 0), (1, 1), (0, 0), 2).unwrap();
        assert_close(&y, &want[1][1], 5e-3, 5e-3, "conv_transpose2d float16");
        // Mixed precision promotes; an empty batch gives an empty output.
        let y = ops::conv1d(&x.astype(Dtype::Float16).unwrap(), &w, 1, 0, 1, 1).unwrap();
        assert_eq!(y.dtype(), Dtype::Float32);
        let e = ops::zeros(&[0, 7, 4], None).unwrap();
        let y = ops::conv1d(&e, &w, 1, 0, 1, 1).unwrap();
        assert_eq!(y.shape(), &[0, 5, 6]);
        assert_eq!(y.to_vec::<f32>().unwrap().len(), 0);
        let y = ops::conv_transpose1d(&e, &w, 2, 0, 1, 0, 1).unwrap();
        assert_eq!(y.shape(), &[0, 15, 6]);
        assert_eq!(y.to_vec::<f32>().unwrap().len(), 0);
    });
}

#[test]
fn conv_vmap_matches_a_loop() {
    let xs = rand(&[3, 2, 8, 4], Dtype::Float32, -1.0, 1.0, 5);
    let w = rand(&[6, 3, 2], Dtype::Float32, -1.0, 1.0, 6);
    on_each_device(|_| {
        let f = mlxr::vmap(
            |a: &[Array]| Ok(vec![ops::conv1d(&a[0], &a[1], 2, 1, 1, 2)?]),
            &[Some(0), None],
            &[Some(0)],
        );
        let got = f(&[xs.clone(), w.clone()]).unwrap().pop().unwrap();
        let each: Vec<Array> = (0..3)
            .map(|i| {
                let xi = ops::take_index(&xs, i, Some(0)).unwrap();
                ops::conv1d(&xi, &w, 2, 1, 1, 2).unwrap()
            })
            .collect();
        let want = ops::stack(&each, 0).unwrap();
        assert_close(&got, &want, 1e-6, 1e-6, "vmap conv1d");
    });
}

/// vjp and jvp against central finite differences in float64, including input dilation with
/// asymmetric padding (where MLX 0.32's own input gradient has the wrong shape).
#[test]
fn conv_gradients_match_finite_differences() {
    use crate::gradcheck::{check, r64};
    check(
        "conv_general input dilation, asymmetric padding",
        &|a: &[Array]| {
            Ok(vec![ops::conv_general(
                &a[0],
                &a[1],
                &[2],
                &[2],
                &[1],
                &[1],
                &[3],
                2,
                false,
            )?])
        },
        &[r64(&[1, 5, 4], -1.0, 1.0, 1), r64(&[6, 2, 2], -1.0, 1.0, 2)],
    );
    check(
        "conv2d groups",
        &|a: &[Array]| Ok(vec![ops::conv2d(&a[0], &a[1], (2, 1), (1, 0), (1, 2), 2)?]),
        &[
            r64(&[2, 5, 6, 4], -1.0, 1.0, 3),
            r64(&[4, 2, 3, 2], -1.0, 1.0, 4),
        ],
    );
    check(
        "conv_transpose1d",
        &|a: &[Array]| Ok(vec![ops::conv_transpose1d(&a[0], &a[1], 3, 1, 2, 1, 1)?]),
        &[r64(&[2, 4, 3], -1.0, 1.0, 5), r64(&[2, 3, 3], -1.0, 1.0, 6)],
    );
}

#[test]
fn conv_errors_are_clear() {
    let x = rand(&[2, 7, 4], Dtype::Float32, -1.0, 1.0, 7);
    let w = rand(&[6, 3, 4], Dtype::Float32, -1.0, 1.0, 8);
    let msg = |r: mlxr::Result<Array>| -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(a) => panic!("expected an error, got shape {:?}", a.shape()),
        }
    };
    let m = msg(ops::conv1d(
        &ops::reshape(&x, &[14, 4]).unwrap(),
        &w,
        1,
        0,
        1,
        1,
    ));
    assert!(m.contains("conv1d") && m.contains("[14, 4]"), "{m}");
    let m = msg(ops::conv2d(&x, &w, (1, 1), (0, 0), (1, 1), 1));
    assert!(m.contains("conv2d"), "{m}");
    let w5 = rand(&[6, 3, 5], Dtype::Float32, -1.0, 1.0, 9);
    let m = msg(ops::conv1d(&x, &w5, 1, 0, 1, 1));
    assert!(
        m.contains("input channels") && m.contains("[6, 3, 5]"),
        "{m}"
    );
    let m = msg(ops::conv1d(&x, &w, 1, 0, 1, 3));
    assert!(m.contains("divisible by the number of groups"), "{m}");
    let w7 = rand(&[7, 3, 2], Dtype::Float32, -1.0, 1.0, 9);
    let m = msg(ops::conv1d(&x, &w7, 1, 0, 1, 2));
    assert!(m.contains("output channels must be divisible"), "{m}");
    let m = msg(ops::conv1d(&x, &w, 1, 0, 1, 0));
    assert!(m.contains("groups must be positive"), "{m}");
    let m = msg(ops::conv1d(&x, &w, 0, 0, 1, 1));
    assert!(m.contains("Stride sizes must be positive"), "{m}");
    let m = msg(ops::conv1d(&x, &w, 1, 0, 0, 1));
    assert!(m.contains("dilation sizes must be positive"), "{m}");
    let m = msg(ops::conv1d(&x, &w, 1, -3, 1, 1));
    assert!(m.contains("cannot be smaller than weight"), "{m}");
    let m = msg(ops::conv1d(&x, &w, 1, 0, 4, 1));
    assert!(m.contains("cannot be smaller than weight"), "{m}");
    let xi = x.astype(Dtype::Int32).unwrap();
    let m = msg(ops::conv1d(&xi, &w, 1, 0, 1, 1));
    assert!(m.contains("floating point"), "{m}");
    assert!(matches!(
        ops::conv_general(&x, &w, &[1, 1], &[0], &[0], &[1], &[1], 1, false),
        Err(Error::InvalidArgument(_))
    ));
    let x6 = rand(&[1, 2, 2, 2, 2, 2], Dtype::Float32, -1.0, 1.0, 9);
    let m = msg(ops::conv_general(
        &x6,
        &x6,
        &[1],
        &[0],
        &[0],
        &[1],
        &[1],
        1,
        false,
    ));
    assert!(m.contains("1-3 spatial dimensions"), "{m}");
    let m = msg(ops::conv_transpose1d(&x, &w, 0, 0, 1, 0, 1));
    assert!(m.contains("dilation sizes must be positive"), "{m}");
}
