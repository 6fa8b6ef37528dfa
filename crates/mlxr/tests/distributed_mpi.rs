//! Every collective of `mlxr::distributed` over the MPI backend, with 2, 3 and 4
//! processes: the `mpi_ranks_*` tests start `mpirun --oversubscribe -n N` on this test
//! binary's ignored `worker` test, in which each rank computes its own input, runs the
//! collectives and checks them against values computed here on the host from every rank's
//! input (sums, maxima, minima, concatenations written out independently of the code
//! under test). Run with `cargo test -p mlxr --features mpi --test distributed_mpi`; the
//! tests print a message and pass when `mpirun` is missing.
#![cfg(feature = "mpi")]

use mlxr::distributed::{self, Group};
use mlxr::{bf16, f16, ops, Array, Dtype, Result};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set for the processes that `mpirun` starts.
const WORKER: &str = "MLXR_MPI_TEST_WORKER";

fn have_mpirun() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Run the worker test in `n` MPI processes; fail with their output when one fails.
fn run_ranks(n: usize) {
    if !have_mpirun() {
        println!("skipping: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
        return;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new("mpirun")
        .args(["--oversubscribe", "-n", &n.to_string(), "-x", WORKER])
        .arg(exe)
        .args([
            "worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER, "1")
        // mpirun refuses to start as root without these; shared memory only (one host,
        // no single-copy mechanism, which containers often forbid).
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mpirun");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        if child.try_wait().expect("wait for mpirun").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("mpirun output");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "mpirun -n {n} failed ({}):\n{text}",
        out.status
    );
    let done = text.matches("rank checks passed").count();
    assert_eq!(done, n, "expected {n} ranks to finish:\n{text}");
    println!("{text}");
}

#[test]
fn mpi_ranks_2() {
    run_ranks(2);
}

#[test]
fn mpi_ranks_3() {
    run_ranks(3);
}

#[test]
fn mpi_ranks_4() {
    run_ranks(4);
}

/// The input of rank `r`: `len` small values that every dtype below holds exactly.
fn values(r: usize, len: usize, dtype: Dtype) -> Vec<f64> {
    (0..len)
        .map(|i| match dtype {
            Dtype::Bool => (r + i).is_multiple_of(3) as u8 as f64,
            Dtype::Uint8 | Dtype::Uint16 | Dtype::Uint32 | Dtype::Uint64 => {
                ((r * 7 + i * 3) % 11) as f64
            }
            _ => ((r * 7 + i * 3) % 11) as f64 - 5.0 + if dtype.is_floating() { 0.5 } else { 0.0 },
        })
        .collect()
}

/// An array of `dtype` holding `v` (through float64, exact for these values).
fn array(v: &[f64], shape: &[usize], dtype: Dtype) -> Array {
    ops::astype(&Array::from_slice(v, shape).unwrap(), dtype).unwrap()
}

/// The elements of `a` as float64.
fn read(a: &Array) -> Vec<f64> {
    ops::astype(a, Dtype::Float64)
        .unwrap()
        .to_vec::<f64>()
        .unwrap()
}

fn check(what: &str, rank: usize, got: &Array, want: &[f64], shape: &[usize]) {
    assert_eq!(got.shape(), shape, "rank {rank}: {what}: shape");
    let g = read(got);
    assert_eq!(g, want, "rank {rank}: {what}: values");
}

/// The collectives on one dtype.
fn check_dtype(g: &Group, dtype: Dtype) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let (rows, cols) = (2 * n, 3);
    let len = rows * cols;
    let mine = values(r, len, dtype);
    let all: Vec<Vec<f64>> = (0..n).map(|q| values(q, len, dtype)).collect();
    let x = array(&mine, &[rows, cols], dtype);
    let is_bool = dtype == Dtype::Bool;

    // all_sum / all_max / all_min: reference by hand over every rank's input.
    let fold = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
        (0..len)
            .map(|i| (1..n).fold(all[0][i], |acc, q| f(acc, all[q][i])))
            .collect()
    };
    let sum = if is_bool {
        fold(&|a, b| if a != 0.0 || b != 0.0 { 1.0 } else { 0.0 })
    } else {
        fold(&|a, b| a + b)
    };
    let max = fold(&|a, b| if b > a { b } else { a });
    let min = fold(&|a, b| if b < a { b } else { a });
    let s = distributed::all_sum(&x, Some(g))?;
    assert_eq!(s.dtype(), dtype);
    check(&format!("all_sum {dtype}"), r, &s, &sum, &[rows, cols]);
    if dtype != Dtype::Complex64 {
        check(
            &format!("all_max {dtype}"),
            r,
            &distributed::all_max(&x, Some(g))?,
            &max,
            &[rows, cols],
        );
        check(
            &format!("all_min {dtype}"),
            r,
            &distributed::all_min(&x, Some(g))?,
            &min,
            &[rows, cols],
        );
    }

    // all_gather: the inputs stacked in rank order along the first axis.
    let gathered: Vec<f64> = all.concat();
    check(
        &format!("all_gather {dtype}"),
        r,
        &distributed::all_gather(&x, Some(g))?,
        &gathered,
        &[rows * n, cols],
    );

    // sum_scatter: this rank's block of rows of the sum.
    if !is_bool {
        let block = rows / n * cols;
        check(
            &format!("sum_scatter {dtype}"),
            r,
            &distributed::sum_scatter(&x, Some(g))?,
            &sum[r * block..(r + 1) * block],
            &[rows / n, cols],
        );
    }

    // send / recv around the ring: even ranks send first, odd ranks receive first.
    let (next, prev) = ((r + 1) % n, (r + n - 1) % n);
    let sent = distributed::send(&x, next, Some(g))?;
    let got = distributed::recv_like(&x, prev, Some(g))?;
    if r % 2 == 0 {
        sent.eval()?;
        got.eval()?;
    } else {
        got.eval()?;
        sent.eval()?;
    }
    check(
        &format!("send/recv {dtype}"),
        r,
        &got,
        &all[prev],
        &[rows, cols],
    );
    check(
        &format!("send output {dtype}"),
        r,
        &sent,
        &mine,
        &[rows, cols],
    );
    Ok(())
}

/// Collectives on strided inputs, scalars and empty arrays; errors on bad input.
fn check_layouts(g: &Group) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    // A transposed (non-contiguous) input.
    let base: Vec<f64> = (0..6).map(|i| (i + 10 * r) as f64).collect();
    let x = ops::transpose(&array(&base, &[2, 3], Dtype::Float32))?;
    let want: Vec<f64> = [0usize, 3, 1, 4, 2, 5]
        .iter()
        .map(|&i| (0..n).map(|q| (i + 10 * q) as f64).sum())
        .collect();
    check(
        "all_sum transposed",
        r,
        &distributed::all_sum(&x, Some(g))?,
        &want,
        &[3, 2],
    );
    // A scalar gathers to one element per rank.
    let s = Array::scalar(r as i32 * 2);
    let want: Vec<f64> = (0..n).map(|q| (2 * q) as f64).collect();
    check(
        "all_gather scalar",
        r,
        &distributed::all_gather(&s, Some(g))?,
        &want,
        &[n],
    );
    // Empty arrays.
    let e = ops::zeros(&[0, 4], Some(Dtype::Float32))?;
    check(
        "all_sum empty",
        r,
        &distributed::all_sum(&e, Some(g))?,
        &[],
        &[0, 4],
    );
    check(
        "all_gather empty",
        r,
        &distributed::all_gather(&e, Some(g))?,
        &[],
        &[0, 4],
    );
    // Errors: indivisible scatter, bad peers.
    let odd = ops::zeros(&[2 * n + 1], Some(Dtype::Float32))?;
    assert!(distributed::sum_scatter(&odd, Some(g)).is_err());
    assert!(distributed::sum_scatter(&Array::scalar(1.0f32), Some(g)).is_err());
    assert!(distributed::send(&e, n, Some(g)).is_err());
    assert!(distributed::send(&e, r, Some(g)).is_err());
    assert!(distributed::recv(&[2], Dtype::Float32, n + 3, Some(g)).is_err());
    Ok(())
}

/// Gradients, jvps and vmaps through the collectives.
fn check_transforms(g: &Group) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let xv: Vec<f32> = (0..4)
        .map(|i| (i as f32 + 1.0) * (r as f32 + 1.0))
        .collect();
    let x = Array::from_slice(&xv, &[2, 2])?;
    let w = Array::from_slice(&[1.0f32, -2.0, 3.0, 0.5], &[2, 2])?;

    // all_sum: the cotangent passes through (MLX's rule).
    let g1 = g.clone();
    let w1 = w.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        let s = distributed::all_sum(&a[0], Some(&g1))?;
        Ok(vec![ops::sum(&ops::multiply(&s, &w1)?, None, false)?])
    };
    let grads = mlxr::grad(f, &[0])(std::slice::from_ref(&x))?;
    assert_eq!(
        grads[0].to_vec::<f32>()?,
        w.to_vec::<f32>()?,
        "rank {r}: vjp all_sum"
    );

    // all_gather: the cotangent's block of this rank.
    let g2 = g.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        let s = distributed::all_gather(&a[0], Some(&g2))?;
        let k = ops::reshape(&ops::arange((4 * n) as f64)?, &[(2 * n) as isize, 2])?;
        let k = ops::astype(&k, Dtype::Float32)?;
        Ok(vec![ops::sum(&ops::multiply(&s, &k)?, None, false)?])
    };
    let grads = mlxr::grad(f, &[0])(std::slice::from_ref(&x))?;
    let want: Vec<f32> = (4 * r..4 * r + 4).map(|i| i as f32).collect();
    assert_eq!(grads[0].to_vec::<f32>()?, want, "rank {r}: vjp all_gather");

    // sum_scatter: the cotangent gathered from every rank.
    let g3 = g.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        let s = distributed::sum_scatter(&a[0], Some(&g3))?;
        let k = ops::full(s.shape(), (g3.rank() + 1) as f32, None)?;
        Ok(vec![ops::sum(&ops::multiply(&s, &k)?, None, false)?])
    };
    let xs = ops::ones(&[n, 3], Some(Dtype::Float32))?;
    let grads = mlxr::grad(f, &[0])(&[xs])?;
    let want: Vec<f32> = (0..n).flat_map(|q| [(q + 1) as f32; 3]).collect();
    assert_eq!(grads[0].to_vec::<f32>()?, want, "rank {r}: vjp sum_scatter");

    // all_max: the derivative goes to the rank holding the maximum.
    let g4 = g.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![ops::sum(
            &distributed::all_max(&a[0], Some(&g4))?,
            None,
            false,
        )?])
    };
    let grads = mlxr::grad(f, &[0])(std::slice::from_ref(&x))?;
    let want = if r == n - 1 { 1.0 } else { 0.0 };
    assert_eq!(
        grads[0].to_vec::<f32>()?,
        vec![want; 4],
        "rank {r}: vjp all_max"
    );

    // jvp of all_sum: the sum of every rank's tangent.
    let g5 = g.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![distributed::all_sum(&a[0], Some(&g5))?])
    };
    let t = ops::full(&[2, 2], (r + 1) as f32, None)?;
    let (_, tang) = mlxr::jvp(f, std::slice::from_ref(&x), &[t])?;
    let tsum = (n * (n + 1) / 2) as f32;
    assert_eq!(
        tang[0].to_vec::<f32>()?,
        vec![tsum; 4],
        "rank {r}: jvp all_sum"
    );

    // vmap of all_gather over axis 0: each row gathered separately.
    let g6 = g.clone();
    let f = move |a: &[Array]| -> Result<Vec<Array>> {
        Ok(vec![distributed::all_gather(&a[0], Some(&g6))?])
    };
    let out = mlxr::vmap(f, &[Some(0)], &[Some(0)])(std::slice::from_ref(&x))?;
    assert_eq!(
        out[0].shape(),
        &[2, 2 * n],
        "rank {r}: vmap all_gather shape"
    );
    let rows = out[0].to_vec::<f32>()?;
    for b in 0..2 {
        for q in 0..n {
            for j in 0..2 {
                let want = (b * 2 + j) as f32 + 1.0;
                assert_eq!(
                    rows[b * 2 * n + q * 2 + j],
                    want * (q as f32 + 1.0),
                    "rank {r}: vmap all_gather"
                );
            }
        }
    }
    Ok(())
}

/// Sub-groups: even and odd ranks sum separately.
fn check_split(g: &Group) -> Result<()> {
    let (r, n) = (g.rank(), g.size());
    let sub = g.split((r % 2) as i32, None)?;
    let members: Vec<usize> = (0..n).filter(|q| q % 2 == r % 2).collect();
    assert_eq!(sub.size(), members.len(), "rank {r}: split size");
    assert_eq!(sub.rank(), r / 2, "rank {r}: split rank");
    let x = Array::scalar(r as f32 + 1.0);
    let want: f64 = members.iter().map(|&q| q as f64 + 1.0).sum();
    if sub.size() > 1 {
        check(
            "split all_sum",
            r,
            &distributed::all_sum(&x, Some(&sub))?,
            &[want],
            &[],
        );
    }
    // A key reverses the order inside the sub-group.
    let rev = g.split(0, Some((n - 1 - r) as i32))?;
    assert_eq!(rev.rank(), n - 1 - r, "rank {r}: split with key");
    assert!(g.split(-1, None).is_err());
    Ok(())
}

/// Run by `mpirun` (see [`run_ranks`]); a no-op outside it.
#[test]
#[ignore = "started by the mpi_ranks_* tests under mpirun"]
fn worker() {
    if std::env::var_os(WORKER).is_none() {
        return;
    }
    let g = distributed::init(true, "mpi").expect("MPI init");
    assert_eq!(g.backend_name(), "mpi");
    let n: usize = std::env::var("OMPI_COMM_WORLD_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("mpirun's world size");
    assert_eq!(g.size(), n);
    assert!(distributed::is_available("mpi"));
    // init again gives the same world; ops without a group use it.
    assert!(distributed::init(false, "any").unwrap().same(&g));
    let one = distributed::all_sum(&Array::scalar(1i32), None).unwrap();
    assert_eq!(one.item::<i32>().unwrap(), n as i32);
    for dtype in [
        Dtype::Float32,
        Dtype::Float64,
        Dtype::Float16,
        Dtype::Bfloat16,
        Dtype::Int32,
        Dtype::Int64,
        Dtype::Int16,
        Dtype::Int8,
        Dtype::Uint8,
        Dtype::Uint32,
        Dtype::Bool,
        Dtype::Complex64,
    ] {
        check_dtype(&g, dtype).unwrap_or_else(|e| panic!("rank {}: {dtype}: {e}", g.rank()));
    }
    check_layouts(&g).unwrap();
    check_transforms(&g).unwrap();
    check_split(&g).unwrap();
    // Half-precision sums round once from float32.
    let h = Array::from_slice(&[f16::from_f32(0.1); 3], &[3]).unwrap();
    let want = f16::from_f32(f16::from_f32(0.1).to_f32() * g.size() as f32);
    let got = distributed::all_sum(&h, Some(&g))
        .unwrap()
        .to_vec::<f16>()
        .unwrap();
    assert_eq!(got, vec![want; 3]);
    let b = Array::from_slice(&[bf16::from_f32(1.0 / 3.0); 2], &[2]).unwrap();
    let want = bf16::from_f32(bf16::from_f32(1.0 / 3.0).to_f32() * g.size() as f32);
    let got = distributed::all_sum(&b, Some(&g))
        .unwrap()
        .to_vec::<bf16>()
        .unwrap();
    assert_eq!(got, vec![want; 2]);
    println!("rank {} of {}: rank checks passed", g.rank(), g.size());
}
