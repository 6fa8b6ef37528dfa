//! Sorting and selection: sort / argsort (stable, NaNs last) for every dtype along every
//! axis and flattened, small rows and large (radix / parallel) inputs, non-contiguous
//! inputs; partition / argpartition / topk by their defining property; searchsorted;
//! bad input. References from NumPy.

use crate::common::*;
use mlxr::ops;
use mlxr::{Array, Dtype};

/// A random array with NaNs, infinities and signed zeros mixed in (floats).
fn nasty(shape: &[usize], dt: Dtype, seed: u64) -> Array {
    let a = rand(shape, Dtype::Float64, -20.0, 20.0, seed);
    if !dt.is_floating() {
        return rand(shape, dt, -100.0, 100.0, seed);
    }
    let mut v = a.to_vec::<f64>().unwrap();
    let n = v.len();
    for (k, x) in v.iter_mut().enumerate() {
        match (k * 7 + seed as usize) % 13 {
            0 => *x = f64::NAN,
            1 => *x = -0.0,
            2 => *x = 0.0,
            3 if n > 20 => *x = f64::INFINITY,
            4 if n > 20 => *x = f64::NEG_INFINITY,
            5 => *x = x.round(), // duplicates
            _ => {}
        }
    }
    Array::from_slice(&v, shape).unwrap().astype(dt).unwrap()
}

#[test]
fn sort_and_argsort_every_real_dtype_and_axis() {
    on_each_device(|_| {
        let dts = [
            Dtype::Bool,
            Dtype::Uint8,
            Dtype::Uint16,
            Dtype::Uint32,
            Dtype::Uint64,
            Dtype::Int8,
            Dtype::Int16,
            Dtype::Int32,
            Dtype::Int64,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Float32,
            Dtype::Float64,
        ];
        let mut data = vec![];
        for (k, &dt) in dts.iter().enumerate() {
            // Rows of 150 exceed the small-row cutoff (radix path); 3 and 1 use the
            // comparison path.
            for shape in [vec![3, 150, 2], vec![4, 3, 5], vec![1, 1, 7]] {
                let a = nasty(&shape, dt, k as u64 + shape[1] as u64);
                let t = ops::transpose_axes(
                    &ops::contiguous(&ops::transpose_axes(&a, &[2, 1, 0]).unwrap()).unwrap(),
                    &[2, 1, 0],
                )
                .unwrap();
                data.push((a, t));
            }
        }
        let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
        let mut got = vec![];
        for (a, t) in &data {
            for axis in [Some(-1isize), Some(0), Some(1), None] {
                let ax = axis.map_or("None".to_string(), |x| x.to_string());
                for (src, x) in [("a", a), ("t", t)] {
                    got.push(ops::sort(x, axis).unwrap());
                    cases.push((
                        format!("out = np.sort({src}, axis={ax}, kind='stable')"),
                        vec![(src, x)],
                    ));
                    got.push(ops::argsort(x, axis).unwrap());
                    cases.push((
                        format!(
                            "out = np.argsort({src}, axis={ax}, kind='stable').astype(np.uint32)"
                        ),
                        vec![(src, x)],
                    ));
                }
            }
        }
        let want = numpy_batch(&cases);
        for (k, (g, w)) in got.iter().zip(&want).enumerate() {
            let w = w[0].astype(g.dtype()).unwrap();
            if g.dtype().is_floating() {
                // Bitwise, so -0.0 / 0.0 order and NaNs are checked too.
                let gb = g.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
                let wb = w.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
                for (i, (x, y)) in gb.iter().zip(&wb).enumerate() {
                    assert!(
                        x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
                        "case {k} ({}), element {i}: {x} vs {y}",
                        cases[k].0
                    );
                }
            } else {
                assert_matches(g, &w, &format!("case {k}: {}", cases[k].0));
            }
        }
    });
}

#[test]
fn sort_complex_and_large_inputs() {
    on_each_device(|_| {
        // Integral real parts (many ties) exercise the imaginary tie-break.
        let cv: Vec<mlxr::Complex32> = rand(&[400], Dtype::Float32, -3.0, 3.0, 1)
            .to_vec::<f32>()
            .unwrap()
            .chunks(2)
            .map(|p| mlxr::Complex32::new(p[0].round(), p[1]))
            .collect();
        let c = Array::from_slice(&cv, &[5, 40]).unwrap();
        let got = ops::sort(&c, Some(-1)).unwrap();
        assert_matches(
            &got,
            &numpy1("out = np.sort(a, axis=-1, kind='stable')", &[("a", &c)]),
            "complex sort",
        );
        let got = ops::argsort(&c, Some(0)).unwrap();
        assert_matches(
            &got,
            &numpy1(
                "out = np.argsort(a, axis=0, kind='stable').astype(np.uint32)",
                &[("a", &c)],
            ),
            "complex argsort",
        );
        let cn = Array::from_slice(
            &[
                mlxr::Complex32::new(1.0, 2.0),
                mlxr::Complex32::new(f32::NAN, 0.0),
                mlxr::Complex32::new(1.0, -1.0),
                mlxr::Complex32::new(0.0, 5.0),
            ],
            &[4],
        )
        .unwrap();
        assert_eq!(
            ops::argsort(&cn, None).unwrap().to_vec::<u32>().unwrap(),
            vec![3, 2, 0, 1]
        );
        // Big flat arrays take the parallel radix sort.
        for (k, &dt) in [Dtype::Float32, Dtype::Int64, Dtype::Float16, Dtype::Uint8]
            .iter()
            .enumerate()
        {
            let a = nasty(&[300_000], dt, 40 + k as u64);
            let s = ops::sort(&a, None).unwrap();
            let i = ops::argsort(&a, None).unwrap();
            let w = numpy(
                "out = [np.sort(a, kind='stable'), np.argsort(a, kind='stable').astype(np.uint32)]",
                &[("a", &a)],
            );
            assert_eq!(
                s.to_bytes().unwrap(),
                w[0].astype(dt).unwrap().to_bytes().unwrap(),
                "big sort {dt}"
            );
            assert_eq!(
                i.to_vec::<u32>().unwrap(),
                w[1].to_vec::<u32>().unwrap(),
                "big argsort {dt}"
            );
        }
        // Empty and 0-d.
        let e = Array::from_slice::<f32>(&[], &[0, 3]).unwrap();
        assert_eq!(ops::sort(&e, Some(0)).unwrap().shape(), &[0, 3]);
        assert_eq!(ops::argsort(&e, None).unwrap().shape(), &[0]);
        let s = Array::scalar(3i32);
        assert!(ops::sort(&s, Some(-1)).is_err());
        assert_eq!(
            ops::sort(&s, None).unwrap().to_vec::<i32>().unwrap(),
            vec![3]
        );
        // Broadcast input.
        let b = ops::broadcast_to(&Array::from_slice(&[3i32, 1, 2], &[3, 1]).unwrap(), &[3, 4])
            .unwrap();
        assert_eq!(
            ops::sort(&b, Some(0)).unwrap().to_vec::<i32>().unwrap(),
            vec![1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
        );
    });
}

/// Every real dtype and complex64.
const ALL_DTYPES: [Dtype; 14] = [
    Dtype::Bool,
    Dtype::Uint8,
    Dtype::Uint16,
    Dtype::Uint32,
    Dtype::Uint64,
    Dtype::Int8,
    Dtype::Int16,
    Dtype::Int32,
    Dtype::Int64,
    Dtype::Float16,
    Dtype::Bfloat16,
    Dtype::Float32,
    Dtype::Float64,
    Dtype::Complex64,
];

/// An input dominated by ties and special values: floats are about half NaNs (three bit
/// patterns: both signs, two payloads), signed zeros and infinities, the rest rounded
/// (ties) or random values in [-4, 4); integers and bools draw from a handful of values;
/// complex numbers pair random real parts rounded to integers (ties) with random
/// imaginary parts (no NaNs: NumPy orders NaN-containing complex values by which part is
/// NaN, MLX and mlxr keep them last in input order).
fn heavy(shape: &[usize], dt: Dtype, seed: u64) -> Array {
    let n: usize = shape.iter().product();
    let mut r = Rng::new(seed);
    match dt {
        Dtype::Bool => rand(shape, dt, -1.0, 1.0, seed),
        Dtype::Complex64 => {
            let v: Vec<mlxr::Complex32> = (0..n)
                .map(|_| {
                    let re = r.uniform(-3.0, 3.0).round() as f32;
                    mlxr::Complex32::new(re, r.uniform(-1.0, 1.0) as f32)
                })
                .collect();
            Array::from_slice(&v, shape).unwrap()
        }
        _ if dt.is_unsigned() => rand(shape, dt, 0.0, 6.0, seed),
        _ if dt.is_integer() => rand(shape, dt, -3.0, 3.0, seed),
        _ => {
            let payload = f64::from_bits(0x7FFC_0000_0000_0000);
            let v: Vec<f64> = (0..n)
                .map(|_| {
                    let x = r.uniform(-4.0, 4.0);
                    match r.next_u64() % 12 {
                        0 => f64::NAN,
                        1 => -f64::NAN,
                        2 => payload,
                        3 => -0.0,
                        4 => 0.0,
                        5 => f64::INFINITY,
                        6 => f64::NEG_INFINITY,
                        7 | 8 => x.round(),
                        _ => x,
                    }
                })
                .collect();
            Array::from_slice(&v, shape).unwrap().astype(dt).unwrap()
        }
    }
}

/// `got` (a sort of `x` along `axis`) equals NumPy's stable sort `want` value for value
/// (bitwise for zeros, any NaN for NaN), and equals `x` gathered by `idx` (mlxr's
/// argsort, checked against NumPy separately) bit for bit: the sort keeps the original
/// values (-0.0 / 0.0, NaN payloads) in their original order.
fn check_sorted(
    x: &Array,
    axis: Option<isize>,
    got: &Array,
    idx: &Array,
    want: &Array,
    what: &str,
) {
    let gathered = match axis {
        Some(ax) => ops::take_along_axis(x, idx, Some(ax)).unwrap(),
        None => ops::take(&ops::flatten(x, 0, -1).unwrap(), idx, Some(0)).unwrap(),
    };
    assert_eq!(got.shape(), gathered.shape(), "{what}: shape");
    assert!(
        got.to_bytes().unwrap() == gathered.to_bytes().unwrap(),
        "{what}: sort differs from the argsort gather"
    );
    let want = want.astype(got.dtype()).unwrap();
    if got.dtype() == Dtype::Complex64 {
        assert_matches(got, &want, what);
    } else if got.dtype().is_floating() {
        let gb = got.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
        let wb = want
            .astype(Dtype::Float64)
            .unwrap()
            .to_vec::<f64>()
            .unwrap();
        for (i, (a, b)) in gb.iter().zip(&wb).enumerate() {
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{what}, element {i}: {a} vs {b}"
            );
        }
    } else {
        assert_matches(got, &want, what);
    }
}

#[test]
fn sort_rows_of_many_lengths_every_dtype() {
    // Row lengths around every path: comparison-free networks for tiny rows, the
    // vectorised quicksort / radix sort for rows in cache, one long row (the parallel
    // path); along the last axis (contiguous rows) and along axis 0 of the transposed
    // copy (strided rows).
    let lens = [1usize, 2, 3, 17, 1000, 16384, 100000];
    let mut data = vec![];
    for (k, &dt) in ALL_DTYPES.iter().enumerate() {
        for &l in &lens {
            let rows = match l {
                100000 => 1,
                16384 => 2,
                _ => 3,
            };
            let a = heavy(&[rows, l], dt, 1000 * k as u64 + l as u64);
            let t =
                ops::transpose(&ops::contiguous(&ops::transpose(&a).unwrap()).unwrap()).unwrap();
            data.push((a, t));
        }
    }
    let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
    let mut got = vec![];
    for (a, t) in &data {
        for (src, x) in [("a", a), ("t", t)] {
            got.push((
                x,
                ops::sort(x, Some(-1)).unwrap(),
                ops::argsort(x, Some(-1)).unwrap(),
            ));
            cases.push((
                format!(
                    "out = [np.sort({src}, axis=-1, kind='stable'), \
                     np.argsort({src}, axis=-1, kind='stable').astype(np.uint32)]"
                ),
                vec![(src, x)],
            ));
        }
    }
    let want = numpy_batch(&cases);
    for (k, ((x, s, i), w)) in got.iter().zip(&want).enumerate() {
        let what = format!("case {k} ({} {:?}, {})", x.dtype(), x.shape(), cases[k].0);
        assert_matches(i, &w[1], &format!("{what}: argsort"));
        check_sorted(x, Some(-1), s, i, &w[0], &what);
    }
}

#[test]
fn sort_flat_large_every_dtype() {
    // 2^20 + 37 elements: the parallel path over one long line.
    let n = (1 << 20) + 37;
    let data: Vec<Array> = ALL_DTYPES
        .iter()
        .enumerate()
        .map(|(k, &dt)| heavy(&[n], dt, 77 + k as u64))
        .collect();
    let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
    let mut got = vec![];
    for a in &data {
        got.push((ops::sort(a, None).unwrap(), ops::argsort(a, None).unwrap()));
        cases.push((
            "out = [np.sort(a, kind='stable'), np.argsort(a, kind='stable').astype(np.uint32)]"
                .to_string(),
            vec![("a", a)],
        ));
    }
    let want = numpy_batch(&cases);
    for (k, ((s, i), w)) in got.iter().zip(&want).enumerate() {
        let what = format!("flat {}", data[k].dtype());
        assert_matches(i, &w[1], &format!("{what}: argsort"));
        check_sorted(&data[k], None, s, i, &w[0], &what);
    }
    // A 2-D input sorted flat (axis None) takes the same path.
    let m = heavy(&[1024, 1030], Dtype::Float32, 5);
    let s = ops::sort(&m, None).unwrap();
    let i = ops::argsort(&m, None).unwrap();
    let w = numpy(
        "out = [np.sort(a, axis=None, kind='stable'), np.argsort(a, axis=None, kind='stable').astype(np.uint32)]",
        &[("a", &m)],
    );
    assert_matches(&i, &w[1], "2-D flat argsort");
    check_sorted(&m, None, &s, &i, &w[0], "2-D flat sort");
}

#[test]
fn sort_signed_zeros_and_nans_keep_input_order() {
    // Rows long enough for the vectorised / radix paths, made only of zeros and NaNs of
    // different signs and payloads, plus a few numbers.
    for &dt in &[
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Float16,
        Dtype::Bfloat16,
    ] {
        let pool = [
            -0.0,
            0.0,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7FFC_0000_0000_0000),
            1.0,
            -1.0,
        ];
        let mut r = Rng::new(9);
        let v: Vec<f64> = (0..3 * 4099)
            .map(|_| pool[(r.next_u64() % pool.len() as u64) as usize])
            .collect();
        let a = Array::from_slice(&v, &[3, 4099])
            .unwrap()
            .astype(dt)
            .unwrap();
        let s = ops::sort(&a, Some(-1)).unwrap();
        let i = ops::argsort(&a, Some(-1)).unwrap();
        let w = numpy(
            "out = [np.sort(a, axis=-1, kind='stable'), np.argsort(a, axis=-1, kind='stable').astype(np.uint32)]",
            &[("a", &a)],
        );
        assert_matches(&i, &w[1], &format!("{dt}: argsort"));
        check_sorted(&a, Some(-1), &s, &i, &w[0], &format!("{dt}: sort"));
        // The zeros come out in input order, signs included.
        let sv = s.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
        let row0: Vec<u64> = v[..4099]
            .iter()
            .filter(|x| **x == 0.0)
            .map(|x| x.to_bits())
            .collect();
        let out0: Vec<u64> = sv[..4099]
            .iter()
            .filter(|x| **x == 0.0)
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(row0, out0, "{dt}: zeros order");
    }
}

#[test]
fn sort_adversarial_patterns() {
    // Sorted, reversed, constant, two-valued, sawtooth and organ-pipe rows, below and
    // above the quicksort's 2^15 limit (the quicksort's pivot and duplicate handling, its
    // depth limit, and the radix path).
    let mut data = vec![];
    for &n in &[20000usize, 40000] {
        let pats: Vec<Vec<f64>> = vec![
            (0..n).map(|i| i as f64).collect(),
            (0..n).map(|i| (n - i) as f64).collect(),
            vec![7.0; n],
            (0..n).map(|i| (i % 2) as f64).collect(),
            (0..n).map(|i| (i % 257) as f64).collect(),
            (0..n).map(|i| i.min(n - i) as f64).collect(),
        ];
        for p in &pats {
            for &dt in &[Dtype::Float32, Dtype::Int32, Dtype::Uint32] {
                data.push(Array::from_slice(p, &[1, n]).unwrap().astype(dt).unwrap());
            }
        }
    }
    let mut cases: Vec<(String, Vec<(&str, &Array)>)> = vec![];
    let mut got = vec![];
    for a in &data {
        got.push((
            ops::sort(a, Some(-1)).unwrap(),
            ops::argsort(a, Some(-1)).unwrap(),
        ));
        cases.push((
            "out = [np.sort(a, axis=-1, kind='stable'), np.argsort(a, axis=-1, kind='stable').astype(np.uint32)]"
                .to_string(),
            vec![("a", a)],
        ));
    }
    let want = numpy_batch(&cases);
    for (k, ((s, i), w)) in got.iter().zip(&want).enumerate() {
        let what = format!("pattern case {k} ({})", data[k].dtype());
        assert_matches(i, &w[1], &format!("{what}: argsort"));
        check_sorted(&data[k], Some(-1), s, i, &w[0], &what);
    }
}

/// Check the partition property of `p` (values) / `ip` (indices) of `a` along the last
/// axis around `kth`, against NumPy's sorted rows.
fn check_partition(a: &Array, p: &Array, ip: &Array, kth: usize, what: &str) {
    let sorted = numpy1("out = np.sort(a, axis=-1).astype(np.float64)", &[("a", a)]);
    let n = *a.shape().last().unwrap();
    let rows = a.size() / n;
    let s = sorted.to_vec::<f64>().unwrap();
    let pv = p.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
    let av = a.astype(Dtype::Float64).unwrap().to_vec::<f64>().unwrap();
    let iv = ip.to_vec::<u32>().unwrap();
    let key = |x: f64| if x.is_nan() { f64::INFINITY } else { x };
    for r in 0..rows {
        let row = &pv[r * n..(r + 1) * n];
        let srow = &s[r * n..(r + 1) * n];
        let piv = key(srow[kth]);
        assert!(key(row[kth]) == piv, "{what}: row {r} kth {kth}");
        assert!(
            row[..kth].iter().all(|&x| key(x) <= piv),
            "{what}: row {r} left"
        );
        assert!(
            row[kth..].iter().all(|&x| key(x) >= piv),
            "{what}: row {r} right"
        );
        let mut sr = row.to_vec();
        sr.sort_by(|a, b| key(*a).partial_cmp(&key(*b)).unwrap());
        let mut ss = srow.to_vec();
        ss.sort_by(|a, b| key(*a).partial_cmp(&key(*b)).unwrap());
        assert!(
            sr.iter().zip(&ss).all(|(x, y)| key(*x) == key(*y)),
            "{what}: row {r} multiset"
        );
        // Indices point at values with the partition property, each used once.
        let irow = &iv[r * n..(r + 1) * n];
        let mut seen = vec![false; n];
        for (j, &i) in irow.iter().enumerate() {
            assert!(!seen[i as usize], "{what}: index {i} repeated");
            seen[i as usize] = true;
            let x = key(av[r * n + i as usize]);
            if j < kth {
                assert!(x <= piv, "{what}: arg left");
            } else if j == kth {
                assert!(x == piv, "{what}: arg kth");
            } else {
                assert!(x >= piv, "{what}: arg right");
            }
        }
    }
}

#[test]
fn partition_argpartition_topk() {
    on_each_device(|_| {
        for (k, &dt) in [
            Dtype::Float32,
            Dtype::Int16,
            Dtype::Float16,
            Dtype::Bfloat16,
            Dtype::Uint64,
            Dtype::Float64,
        ]
        .iter()
        .enumerate()
        {
            let a = nasty(&[6, 33], dt, 60 + k as u64);
            for kth in [0isize, 5, 16, 32, -1, -33] {
                let kk = if kth < 0 {
                    (33 + kth) as usize
                } else {
                    kth as usize
                };
                let p = ops::partition(&a, kth, Some(-1)).unwrap();
                let ip = ops::argpartition(&a, kth, Some(-1)).unwrap();
                assert_eq!(ip.dtype(), Dtype::Uint32);
                check_partition(&a, &p, &ip, kk, &format!("{dt} kth {kth}"));
            }
            // Along axis 0 via a transposed view.
            let t = ops::transpose(&a).unwrap();
            let p = ops::partition(&t, 3, Some(0)).unwrap();
            let ip = ops::argpartition(&t, 3, Some(0)).unwrap();
            check_partition(
                &a,
                &ops::transpose(&p).unwrap(),
                &ops::transpose(&ip).unwrap(),
                3,
                "axis 0",
            );
        }
        // topk: the k largest (as a multiset) along any axis.
        let a = rand(&[4, 9, 5], Dtype::Float32, -10.0, 10.0, 70);
        for (k, axis, code) in [
            (
                3usize,
                Some(-1isize),
                "np.sort(np.sort(a, axis=-1)[..., -3:], axis=-1)",
            ),
            (2, Some(1), "np.sort(np.sort(a, axis=1)[:, -2:, :], axis=1)"),
            (4, Some(0), "np.sort(np.sort(a, axis=0)[-4:], axis=0)"),
            (5, None, "np.sort(np.sort(a, axis=None)[-5:])"),
        ] {
            let t = ops::topk(&a, k, axis).unwrap();
            let t = ops::sort(&t, Some(axis.unwrap_or(0))).unwrap();
            assert_matches(
                &t,
                &numpy1(&format!("out = {code}"), &[("a", &a)]),
                &format!("topk {k} {axis:?}"),
            );
        }
        assert_eq!(ops::topk(&a, 0, Some(-1)).unwrap().shape(), &[4, 9, 0]);
        assert!(ops::topk(&a, 6, Some(-1)).is_err());
        let n = Array::from_slice(&[1.0f32, f32::NAN, 3.0, 2.0], &[4]).unwrap();
        let t = ops::sort(&ops::topk(&n, 2, None).unwrap(), None)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(t[0] == 3.0 && t[1].is_nan(), "{t:?}");
        // Bad kth / axis.
        assert!(ops::partition(&a, 5, Some(-1)).is_err());
        assert!(ops::partition(&a, -6, Some(-1)).is_err());
        assert!(ops::argpartition(&a, 0, Some(3)).is_err());
    });
}

#[test]
fn searchsorted_sides_and_dtypes() {
    on_each_device(|_| {
        let s = Array::from_slice(&[1i32, 2, 2, 3, 7, 7, 9], &[7]).unwrap();
        let v = Array::from_slice(&[2.0f32, 0.0, 10.0, 2.5, 7.0, -1.0], &[2, 3]).unwrap();
        for side in ["left", "right"] {
            let got = ops::searchsorted(&s, &v, side).unwrap();
            assert_eq!(got.dtype(), Dtype::Uint32);
            let want = numpy1(
                &format!("out = np.searchsorted(s, v, side='{side}').astype(np.uint32)"),
                &[("s", &s), ("v", &v)],
            );
            assert_matches(&got, &want, side);
        }
        let s = ops::sort(&nasty(&[200], Dtype::Float32, 3), None).unwrap();
        let v = nasty(&[50], Dtype::Float32, 4);
        for side in ["left", "right"] {
            let got = ops::searchsorted(&s, &v, side).unwrap();
            let want = numpy1(
                &format!("out = np.searchsorted(s, v, side='{side}').astype(np.uint32)"),
                &[("s", &s), ("v", &v)],
            );
            assert_matches(&got, &want, side);
        }
        let s16 = Array::from_slice(&[1.0f32, 2.0, f32::NAN], &[3])
            .unwrap()
            .astype(Dtype::Bfloat16)
            .unwrap();
        let v = Array::from_slice(&[f32::NAN, 3.0, 1.0], &[3]).unwrap();
        assert_eq!(
            ops::searchsorted(&s16, &v, "left")
                .unwrap()
                .to_vec::<u32>()
                .unwrap(),
            vec![2, 2, 0]
        );
        assert!(ops::searchsorted(&s16, &v, "middle").is_err());
        assert!(ops::searchsorted(&ops::reshape(&s16, &[1, 3]).unwrap(), &v, "left").is_err());
    });
}

/// Timings against NumPy on the same machine (run with an optimised build:
/// `cargo test --test all perf_vs_numpy -- --ignored --nocapture`).
#[test]
#[ignore]
fn perf_vs_numpy() {
    use std::time::Instant;
    let best = |f: &dyn Fn() -> Array| {
        let mut b = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            let r = f();
            r.eval().unwrap();
            b = b.min(t.elapsed().as_secs_f64());
        }
        b
    };
    let k = mlxr::random::key(0);
    let rows = mlxr::random::normal(&[4096, 16384], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let flat = mlxr::random::normal(&[1 << 24], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let big = mlxr::random::normal(&[131072, 1024], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let idx = mlxr::random::randint(0, 131072, &[32768], Dtype::Int32, Some(&k)).unwrap();
    let upd = mlxr::random::normal(&[32768, 1, 1024], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    let sq = mlxr::random::normal(&[4096, 4096], Dtype::Float32, 0.0, 1.0, Some(&k)).unwrap();
    mlxr::eval(&[
        rows.clone(),
        flat.clone(),
        big.clone(),
        idx.clone(),
        upd.clone(),
        sq.clone(),
    ])
    .unwrap();
    let ours = [
        (
            "sort 4096x16384 f32 axis -1",
            best(&|| ops::sort(&rows, Some(-1)).unwrap()),
        ),
        (
            "argsort 4096x16384 f32 axis -1",
            best(&|| ops::argsort(&rows, Some(-1)).unwrap()),
        ),
        (
            "sort 2^24 f32 flat",
            best(&|| ops::sort(&flat, None).unwrap()),
        ),
        (
            "argsort 2^24 f32 flat",
            best(&|| ops::argsort(&flat, None).unwrap()),
        ),
        (
            "take 32768 rows of 131072x1024 f32",
            best(&|| ops::take(&big, &idx, Some(0)).unwrap()),
        ),
        (
            "scatter_add 32768 rows into 131072x1024 f32",
            best(&|| ops::scatter_add(&big, std::slice::from_ref(&idx), &upd, &[0]).unwrap()),
        ),
        (
            "cumsum 4096x4096 f32 axis 1",
            best(&|| ops::cumsum(&sq, Some(1), false, true).unwrap()),
        ),
        (
            "cumsum 4096x4096 f32 axis 0",
            best(&|| ops::cumsum(&sq, Some(0), false, true).unwrap()),
        ),
    ];
    let script = r#"
import numpy as np, time
def tm(f, r=3):
    b = 1e9
    for _ in range(r):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b
g = np.random.default_rng(0)
rows = g.standard_normal((4096, 16384), dtype=np.float32)
flat = g.standard_normal(1 << 24, dtype=np.float32)
big = g.standard_normal((131072, 1024), dtype=np.float32)
idx = g.integers(0, 131072, 32768)
upd = g.standard_normal((32768, 1024), dtype=np.float32)
sq = g.standard_normal((4096, 4096), dtype=np.float32)
def sa():
    c = big.copy(); np.add.at(c, idx, upd)
print(tm(lambda: np.sort(rows, axis=-1)))
print(tm(lambda: np.argsort(rows, axis=-1, kind='stable')))
print(tm(lambda: np.sort(flat)))
print(tm(lambda: np.argsort(flat, kind='stable')))
print(tm(lambda: np.take(big, idx, axis=0)))
print(tm(sa, 1))
print(tm(lambda: np.cumsum(sq, axis=1)))
print(tm(lambda: np.cumsum(sq, axis=0)))
"#;
    drop((rows, flat, big, idx, upd, sq));
    let o = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    let np: Vec<f64> = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    println!(
        "{:<48} {:>10} {:>10} {:>8}",
        "op", "mlxr (s)", "numpy (s)", "speedup"
    );
    for ((name, t), n) in ours.iter().zip(&np) {
        println!("{name:<48} {t:>10.4} {n:>10.4} {:>7.2}x", n / t);
    }
}

#[test]
fn median_axes_dtypes_and_nan() {
    on_each_device(|_| {
        for (k, &dt) in [
            Dtype::Float32,
            Dtype::Int16,
            Dtype::Float16,
            Dtype::Float64,
            Dtype::Uint8,
            Dtype::Bfloat16,
        ]
        .iter()
        .enumerate()
        {
            let a = rand(&[4, 5, 6], dt, -50.0, 50.0, 300 + k as u64);
            let t = ops::transpose_axes(
                &ops::contiguous(&ops::transpose_axes(&a, &[2, 1, 0]).unwrap()).unwrap(),
                &[2, 1, 0],
            )
            .unwrap();
            for (axes, code) in [
                (None, "None"),
                (Some(vec![0isize]), "0"),
                (Some(vec![-1]), "-1"),
                (Some(vec![0, 2]), "(0, 2)"),
                (Some(vec![1]), "1"),
            ] {
                for keep in [false, true] {
                    let got = ops::median(&t, axes.as_deref(), keep).unwrap();
                    let want = numpy1(
                        &format!(
                            "out = np.median(a.astype(np.float64), axis={code}, keepdims={})",
                            if keep { "True" } else { "False" }
                        ),
                        &[("a", &a)],
                    );
                    let odt = if dt.is_floating() { dt } else { Dtype::Float32 };
                    assert_eq!(got.dtype(), odt);
                    let (rt, at) = tol(odt);
                    assert_close(
                        &got,
                        &want,
                        rt * 2.0,
                        at * 2.0,
                        &format!("median {dt} {code} {keep}"),
                    );
                }
            }
        }
        let n = Array::from_slice(&[1.0f32, f32::NAN, 3.0, 2.0, 5.0, 4.0], &[2, 3]).unwrap();
        let m = ops::median(&n, Some(&[1]), false)
            .unwrap()
            .to_vec::<f32>()
            .unwrap();
        assert!(m[0].is_nan() && m[1] == 4.0, "{m:?}");
        assert!(ops::median(&Array::from_slice::<f32>(&[], &[0]).unwrap(), None, false).is_err());
        assert!(ops::median(&n, Some(&[2]), false).is_err());
        assert!(ops::median(&n, Some(&[1, 1]), false).is_err());
    });
}
