//! `checkpoint` saves memory: the gradient of a 100-layer function keeps a much lower host
//! peak with each layer checkpointed than without. Its own test binary, so that no other
//! test allocates while the peaks are measured.

use mlxr::{memory, ops, Array, Result};

/// One layer with several intermediates of the input's size.
fn layer(a: &[Array]) -> Result<Vec<Array>> {
    let x = &a[0];
    let e = ops::exp(&ops::multiply(x, 0.1)?)?;
    let s = ops::sin(&ops::multiply(&e, &a[1])?)?;
    Ok(vec![ops::add(&ops::tanh(&s)?, &ops::multiply(x, 0.5)?)?])
}

fn peak_of_grad(checkpointed: bool) -> (usize, Vec<f32>) {
    let n = 1 << 18; // 1 MiB per f32 intermediate
    let x = ops::contiguous(&ops::multiply(ops::arange(n as i64).unwrap(), 1e-6).unwrap()).unwrap();
    let w = ops::full(&[n], 0.9f32, None).unwrap();
    mlxr::eval(&[x.clone(), w.clone()]).unwrap();
    let ck = mlxr::checkpoint(layer);
    let f = |p: &[Array]| -> Result<Vec<Array>> {
        let mut h = p[0].clone();
        for _ in 0..100 {
            h = if checkpointed {
                ck(&[h, p[1].clone()])?
            } else {
                layer(&[h, p[1].clone()])?
            }
            .remove(0);
        }
        Ok(vec![ops::sum(&h, None, false)?])
    };
    memory::reset_peak_memory();
    let base = memory::active_memory();
    let g = mlxr::grad(f, &[0])(&[x, w]).unwrap();
    g[0].eval().unwrap();
    let peak = memory::peak_memory() - base;
    let head = g[0].to_vec::<f32>().unwrap()[..4].to_vec();
    (peak, head)
}

#[test]
fn checkpoint_lowers_peak_memory() {
    let (plain, g1) = peak_of_grad(false);
    let (ck, g2) = peak_of_grad(true);
    println!(
        "100-layer gradient peak host memory: {:.1} MiB without checkpoint, {:.1} MiB with",
        plain as f64 / (1 << 20) as f64,
        ck as f64 / (1 << 20) as f64
    );
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() <= 1e-5 * a.abs().max(1.0), "{g1:?} vs {g2:?}");
    }
    assert!(
        ck * 2 < plain,
        "checkpoint peak {ck} is not well below {plain}"
    );
}
