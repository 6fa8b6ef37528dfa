//! NumPy-style indexing with index arrays (`get_item`) and the `at[...]` updates, against
//! NumPy (`a[idx]`, `np.add.at`, ...).

use crate::common::{assert_matches, numpy_batch, on_each_device, rand};
use mlxr::ops::{self, IndexArg as I, SliceArg as S};
use mlxr::{Array, Dtype};

fn ix(v: &[i64], shape: &[usize]) -> I {
    I::Array(Array::from_slice(v, shape).unwrap())
}

#[test]
fn get_item_matches_numpy() {
    on_each_device(|_| {
        let a = rand(&[4, 5, 6], Dtype::Float32, -5.0, 5.0, 1);
        let at = ops::transpose(&rand(&[6, 5, 4], Dtype::Int32, -50.0, 50.0, 2)).unwrap();
        let cases: Vec<(&str, Vec<I>)> = vec![
            ("[[0, 2, -1]]", vec![ix(&[0, 2, -1], &[3])]),
            ("[:, [1, 3]]", vec![S::Full.into(), ix(&[1, 3], &[2])]),
            (
                "[[0, 1], [2, 3]]",
                vec![ix(&[0, 1], &[2]), ix(&[2, 3], &[2])],
            ),
            (
                "[[[0], [1]], :, [1, 2, 3]]",
                vec![ix(&[0, 1], &[2, 1]), S::Full.into(), ix(&[1, 2, 3], &[3])],
            ),
            (
                "[1, :, [0, 2]]",
                vec![1.into(), S::Full.into(), ix(&[0, 2], &[2])],
            ),
            (
                "[:, 1, [0, 2]]",
                vec![S::Full.into(), 1.into(), ix(&[0, 2], &[2])],
            ),
            (
                "[None, [0, 1], ::2, 1:]",
                vec![
                    S::NewAxis.into(),
                    ix(&[0, 1], &[2]),
                    S::step(2).into(),
                    S::range_step(Some(1), None, 1).into(),
                ],
            ),
            ("[..., [2, 0]]", vec![S::Ellipsis.into(), ix(&[2, 0], &[2])]),
            (
                "[::-1, [1, 1, 1]]",
                vec![S::step(-1).into(), ix(&[1, 1, 1], &[3])],
            ),
            (
                "[[[1, 2], [3, 0]], -1]",
                vec![ix(&[1, 2, 3, 0], &[2, 2]), (-1).into()],
            ),
            ("[[], 2]", vec![ix(&[], &[0]), 2.into()]),
            ("[1:3, 2]", vec![S::range(1, 3).into(), 2.into()]),
        ];
        let mut refs = Vec::new();
        for (src, _) in &cases {
            refs.push((
                format!("out = [a{src}, t{src}]"),
                vec![("a", &a), ("t", &at)],
            ));
        }
        let want = numpy_batch(&refs);
        for ((src, idx), w) in cases.iter().zip(&want) {
            assert_matches(&ops::get_item(&a, idx).unwrap(), &w[0], &format!("a{src}"));
            assert_matches(&at.get(idx).unwrap(), &w[1], &format!("transposed a{src}"));
        }
    });
}

#[test]
fn at_updates_match_numpy() {
    on_each_device(|_| {
        let a = rand(&[5, 4], Dtype::Float32, -5.0, 5.0, 3);
        let v = rand(&[4, 4], Dtype::Float32, 0.5, 2.0, 4);
        let dup = ix(&[0, 3, 0, 3], &[4]);
        let got = vec![
            a.at(std::slice::from_ref(&dup)).add(&v).unwrap(),
            a.at(std::slice::from_ref(&dup)).subtract(&v).unwrap(),
            a.at(std::slice::from_ref(&dup)).multiply(&v).unwrap(),
            a.at(std::slice::from_ref(&dup)).divide(&v).unwrap(),
            a.at(std::slice::from_ref(&dup)).maximum(&v).unwrap(),
            a.at(std::slice::from_ref(&dup)).minimum(&v).unwrap(),
            a.at(&[S::Full.into(), ix(&[1, 1, 2], &[3])])
                .add(1.0)
                .unwrap(),
            a.at(&[S::step(2).into(), 3.into()]).set(7.0).unwrap(),
            ops::set_item(&a, &[ix(&[4, 0], &[2]), ix(&[1, 2], &[2])], -1.0).unwrap(),
            a.at(&[S::step(-1).into(), ix(&[0], &[1])])
                .add(rand(&[5, 1], Dtype::Float32, 0.0, 1.0, 9))
                .unwrap(),
        ];
        let extra = rand(&[5, 1], Dtype::Float32, 0.0, 1.0, 9);
        let want = numpy_batch(&[(
            "i = [0, 3, 0, 3]\n\
             r = []\n\
             for f in [np.add, np.subtract, np.multiply, np.divide, np.maximum, np.minimum]:\n    c = a.copy(); f.at(c, i, v); r.append(c)\n\
             c = a.copy(); np.add.at(c, (slice(None), [1, 1, 2]), 1.0); r.append(c)\n\
             c = a.copy(); c[::2, 3] = 7.0; r.append(c)\n\
             c = a.copy(); c[[4, 0], [1, 2]] = -1.0; r.append(c)\n\
             c = a.copy(); np.add.at(c, (slice(None, None, -1), [0]), e); r.append(c)\n\
             out = r"
                .to_string(),
            vec![("a", &a), ("v", &v), ("e", &extra)],
        )]);
        for (k, (g, w)) in got.iter().zip(&want[0]).enumerate() {
            assert_matches(g, w, &format!("update case {k}"));
        }
    });
}

#[test]
fn advanced_index_errors() {
    let a = rand(&[3, 4], Dtype::Float32, 0.0, 1.0, 5);
    let mask = I::Array(Array::from_slice(&[true, false, true], &[3]).unwrap());
    let e = ops::get_item(&a, &[mask]).unwrap_err().to_string();
    assert!(e.contains("boolean"), "{e}");
    let f = I::Array(Array::from_slice(&[0.0f32], &[1]).unwrap());
    assert!(ops::get_item(&a, &[f])
        .unwrap_err()
        .to_string()
        .contains("integral"));
    let e = ops::get_item(&a, &[0.into(), 0.into(), ix(&[0], &[1])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("too many indices"), "{e}");
    let e = ops::get_item(&a, &[5.into(), ix(&[0], &[1])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of bounds"), "{e}");
    let e = ops::get_item(&a, &[ix(&[0, 1], &[2]), ix(&[0, 1, 2], &[3])])
        .unwrap_err()
        .to_string();
    assert!(e.contains("broadcast"), "{e}");
    let e = a
        .at(&[ix(&[0, 1], &[2])])
        .add(rand(&[3, 4], Dtype::Float32, 0.0, 1.0, 6))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot be broadcast"), "{e}");
}
