//! einsum against NumPy's `np.einsum`, einsum_path against MLX, and bad subscripts.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

fn r(shape: &[usize], seed: u64) -> Array {
    rand(shape, Dtype::Float32, -1.0, 1.0, seed)
}

#[test]
fn einsum_matches_numpy() {
    on_each_device(|_| {
        let cases: Vec<(&str, Vec<Array>)> = vec![
            ("ij,jk->ik", vec![r(&[3, 4], 1), r(&[4, 5], 2)]),
            ("ij,jk", vec![r(&[3, 4], 3), r(&[4, 5], 4)]),
            ("bij,bjk->bik", vec![r(&[2, 3, 4], 5), r(&[2, 4, 5], 6)]),
            ("ii", vec![r(&[4, 4], 7)]),
            ("ii->i", vec![r(&[4, 4], 8)]),
            ("ij->ji", vec![r(&[3, 5], 9)]),
            ("i,j->ij", vec![r(&[3], 10), r(&[4], 11)]),
            ("ij->", vec![r(&[3, 5], 12)]),
            (
                "...ij,...jk->...ik",
                vec![r(&[2, 3, 4], 13), r(&[4, 5], 14)],
            ),
            ("...ij,...jk", vec![r(&[2, 1, 3, 4], 15), r(&[5, 4, 2], 16)]),
            (
                "ij,jk,kl->il",
                vec![r(&[3, 4], 17), r(&[4, 5], 18), r(&[5, 6], 19)],
            ),
            (
                "ab,cd,bc->ad",
                vec![r(&[2, 3], 20), r(&[4, 5], 21), r(&[3, 4], 22)],
            ),
            ("i,i", vec![r(&[6], 23), r(&[6], 24)]),
            ("ij,j->i", vec![r(&[3, 4], 25), r(&[4], 26)]),
            ("ijk,jil->kl", vec![r(&[2, 3, 4], 27), r(&[3, 2, 5], 28)]),
            ("iij->ji", vec![r(&[3, 3, 2], 29)]),
            ("bA", vec![r(&[3, 4], 30)]),
            ("ij,ij->ij", vec![r(&[3, 4], 31), r(&[3, 4], 32)]),
            ("ij,ij", vec![r(&[3, 4], 33), r(&[3, 4], 34)]),
            ("i...->...", vec![r(&[3, 4, 2], 35)]),
            ("i j , j k -> k i", vec![r(&[3, 4], 36), r(&[4, 2], 37)]),
            (
                "ij,jk,ki->",
                vec![r(&[3, 4], 38), r(&[4, 5], 39), r(&[5, 3], 40)],
            ),
            (
                "bn,anm,bm->ba",
                vec![r(&[2, 3], 41), r(&[4, 3, 5], 42), r(&[2, 5], 43)],
            ),
            ("i,j,k", vec![r(&[2], 44), r(&[3], 45), r(&[4], 46)]),
        ];
        let refs: Vec<(String, Vec<(&str, &Array)>)> = cases
            .iter()
            .map(|(s, ops)| {
                let names = ["x0", "x1", "x2"];
                let args = names[..ops.len()].join(", ");
                (
                    format!("out = np.einsum({s:?}, {args})"),
                    ops.iter().enumerate().map(|(i, a)| (names[i], a)).collect(),
                )
            })
            .collect();
        let want = numpy_batch(&refs);
        for (i, (s, ops)) in cases.iter().enumerate() {
            let got = ops::einsum(s, ops).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_close(&got, &want[i][0], 1e-5, 1e-5, s);
        }
    });
}

#[test]
fn einsum_broadcast_views_and_dtypes() {
    on_each_device(|_| {
        // size-1 axes broadcast against larger ones; transposed inputs
        let a = r(&[2, 1], 1);
        let b = r(&[3], 2);
        let c = ops::transpose(&r(&[5, 4], 3)).unwrap();
        let d = r(&[5, 6], 4);
        let x64 = rand(&[3, 4], Dtype::Float64, -1.0, 1.0, 5);
        let y64 = rand(&[4, 2], Dtype::Float64, -1.0, 1.0, 6);
        let h = rand(&[8, 16], Dtype::Float16, -1.0, 1.0, 7);
        let g = rand(&[16, 4], Dtype::Float16, -1.0, 1.0, 8);
        let e = r(&[2, 3, 4], 9);
        let got = [
            ops::einsum("ij,j->i", &[a.clone(), b.clone()]).unwrap(),
            ops::einsum("ij,jk->ik", &[c.clone(), d.clone()]).unwrap(),
            ops::einsum("ij,jk->ki", &[x64.clone(), y64.clone()]).unwrap(),
            ops::einsum("ij,jk->ik", &[h.clone(), g.clone()]).unwrap(),
            // an explicit output without `...` sums the broadcast axes (as MLX)
            ops::einsum("...ij->ij", std::slice::from_ref(&e)).unwrap(),
        ];
        let want = numpy(
            "out = [np.einsum('ij,j->i', a, b), np.einsum('ij,jk->ik', c, dd), \
             np.einsum('ij,jk->ki', x, y), \
             (h.astype(np.float64) @ g.astype(np.float64)).astype(np.float16), \
             np.einsum('...ij->...ij', e).sum(axis=0)]",
            &[
                ("a", &a),
                ("b", &b),
                ("c", &c),
                ("dd", &d),
                ("x", &x64),
                ("y", &y64),
                ("h", &h),
                ("g", &g),
                ("e", &e),
            ],
        );
        assert_close(&got[0], &want[0], 1e-5, 1e-5, "broadcast size-1");
        assert_close(&got[1], &want[1], 1e-5, 1e-5, "transposed input");
        assert_eq!(got[2].dtype(), Dtype::Float64);
        assert_close(&got[2], &want[2], 1e-12, 1e-12, "float64");
        assert_eq!(got[3].dtype(), Dtype::Float16);
        assert_close(&got[3], &want[3], 4e-3, 8e-3, "float16");
        assert_close(&got[4], &want[4], 1e-5, 1e-5, "...ij->ij");
    });
}

#[test]
fn einsum_path_matches_mlx() {
    // Reference values printed by MLX 0.32.4's `mx.einsum_path`.
    let (path, info) = ops::einsum_path(
        "ij,jk,kl->il",
        &[r(&[3, 3], 1), r(&[3, 4], 2), r(&[4, 5], 3)],
    )
    .unwrap();
    assert_eq!(path, vec![vec![1, 2], vec![0, 1]]);
    assert_eq!(
        info,
        "  Complete contraction:  ij,jk,kl->il\n         Naive scaling:  4\n     Optimized scaling:  3\n      Naive FLOP count:  540\n  Optimized FLOP count:  210\n"
    );
    let (path, info) = ops::einsum_path(
        "ij,jk,kl,lm->im",
        &[
            r(&[30, 300], 1),
            r(&[300, 40], 2),
            r(&[40, 500], 3),
            r(&[500, 6], 4),
        ],
    )
    .unwrap();
    assert_eq!(path, vec![vec![2, 3], vec![0, 1], vec![0, 1]]);
    assert!(info.contains("Naive FLOP count:  4320000000\n"), "{info}");
    assert!(info.contains("Optimized FLOP count:  974400\n"), "{info}");
    let (path, info) = ops::einsum_path("ii", &[r(&[3, 3], 1)]).unwrap();
    assert_eq!(path, vec![vec![0]]);
    assert!(
        info.contains("Naive scaling:  1\n") && info.contains("FLOP count:  6\n"),
        "{info}"
    );
    let (path, info) = ops::einsum_path("i,j,k", &[r(&[3], 1), r(&[4], 2), r(&[5], 3)]).unwrap();
    assert_eq!(path, vec![vec![0, 1], vec![0, 1]]);
    assert!(
        info.contains("Naive FLOP count:  120\n") && info.contains("Optimized FLOP count:  72\n"),
        "{info}"
    );
    let (path, _) = ops::einsum_path(
        "ab,cd,bc->ad",
        &[r(&[2, 3], 1), r(&[4, 5], 2), r(&[3, 4], 3)],
    )
    .unwrap();
    assert_eq!(path, vec![vec![1, 2], vec![0, 1]]);
    let (_, info) =
        ops::einsum_path("...ij,...jk->...ik", &[r(&[2, 3, 4], 1), r(&[4, 5], 2)]).unwrap();
    assert!(
        info.contains("Naive scaling:  4\n") && info.contains("Optimized FLOP count:  240\n"),
        "{info}"
    );
}

#[test]
fn einsum_errors() {
    let a = r(&[3, 3], 1);
    let v2 = r(&[2], 2);
    let v3 = r(&[3], 3);
    let bad: Vec<(&str, Vec<Array>)> = vec![
        ("ij,jk", vec![a.clone(), a.clone(), a.clone()]), // operand count
        ("ij", vec![v3.clone()]),                         // too many subscripts
        ("i", vec![a.clone()]),                           // too few subscripts
        ("ij->k", vec![a.clone()]),                       // output letter not in inputs
        ("ij->ii", vec![a.clone()]),                      // repeated output letter
        ("i,i", vec![v2.clone(), v3.clone()]),            // sizes do not broadcast
        ("ii", vec![r(&[2, 3], 4)]),                      // diagonal of unequal sizes
        ("1j", vec![a.clone()]),                          // not a letter
        ("ij->i->j", vec![a.clone()]),                    // stray arrow
        ("i..j", vec![a.clone()]),                        // broken ellipsis
        ("...i...", vec![a.clone()]),                     // two ellipses
        ("i,j->", vec![]),                                // no operands
        ("...i,...i", vec![r(&[2, 3], 5), r(&[4, 3], 6)]), // broadcast axes mismatch
    ];
    for (s, ops) in &bad {
        match ops::einsum(s, ops) {
            Ok(x) => panic!("einsum({s:?}) should fail, got shape {:?}", x.shape()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    let e = ops::einsum("1j", std::slice::from_ref(&a))
        .unwrap_err()
        .to_string();
    assert!(e.contains("letters"), "{e}");
    let e = ops::einsum("i,i", &[v2, v3]).unwrap_err().to_string();
    assert!(e.contains("[3]"), "{e}");
    // contractions go through matmul: integer operands are rejected like MLX does
    let ai = rand(&[3, 3], Dtype::Int32, 0.0, 3.0, 7);
    assert!(ops::einsum("ij,jk", &[ai.clone(), ai.clone()]).is_err());
}

#[test]
fn einsum_integer_products() {
    // Products without a contraction use `multiply` and sums use `sum`, so integer
    // operands work there (as in MLX).
    let ai = rand(&[3, 3], Dtype::Int32, -4.0, 4.0, 1);
    let bi = rand(&[4], Dtype::Int32, -4.0, 4.0, 2);
    let got = [
        ops::einsum("ii", std::slice::from_ref(&ai)).unwrap(),
        ops::einsum("i,j->ij", &[bi.clone(), bi.clone()]).unwrap(),
        ops::einsum("ij,ij->ij", &[ai.clone(), ai.clone()]).unwrap(),
        ops::einsum("ii->i", std::slice::from_ref(&ai)).unwrap(),
    ];
    let want = numpy(
        "out = [np.einsum('ii', a), np.einsum('i,j->ij', b, b), np.einsum('ij,ij->ij', a, a), \
         np.einsum('ii->i', a)]",
        &[("a", &ai), ("b", &bi)],
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.dtype(), Dtype::Int32, "case {i}");
        assert_matches(
            g,
            &w.astype(Dtype::Int32).unwrap(),
            &format!("integer einsum {i}"),
        );
    }
}
