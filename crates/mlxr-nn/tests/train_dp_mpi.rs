//! The data-parallel example (`examples/train_dp.rs`, included here as a module) gives the
//! same parameters with 2 MPI processes, each on half of every batch, as one process on
//! the whole batch. The `dp_*` tests start `mpirun --oversubscribe -n 2` on this binary's
//! ignored `worker` test (rank 0 saves its weights; every rank checks that all ranks hold
//! the same parameters), then train alone in this process and compare. Run with
//! `cargo test -p mlxr-nn --features mpi --test train_dp_mpi`; skipped with a message when
//! `mpirun` is missing.
#![cfg(feature = "mpi")]

#[path = "../examples/train_dp.rs"]
#[allow(dead_code)]
mod train_dp;

use mlxr::{distributed, ops, Array};
use mlxr_nn::ModuleExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use train_dp::{Args, Opt, Size};

const WORKER: &str = "MLXR_DP_TEST_WORKER";
const OUT: &str = "MLXR_DP_TEST_OUT";
const OPT: &str = "MLXR_DP_TEST_OPT";

fn args(opt: Opt, out: Option<String>) -> Args {
    Args {
        steps: 3,
        batch: 8,
        context: 16,
        model_size: Size::Micro,
        optimizer: opt,
        lr: 0.05,
        seed: 3,
        out,
        log_every: 0,
    }
}

fn have_mpirun() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn compare(opt: Opt, name: &str, tol: f32) {
    if !have_mpirun() {
        println!("skipping: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mlxr-dp-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("dp.safetensors");
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("mpirun")
        .args([
            "--oversubscribe",
            "-n",
            "2",
            "-x",
            WORKER,
            "-x",
            OUT,
            "-x",
            OPT,
        ])
        .arg(exe)
        .args([
            "worker",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER, "1")
        .env(OUT, &out)
        .env(OPT, name)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_btl", "self,vader")
        .env("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mpirun");
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "mpirun failed:\n{text}");
    assert_eq!(text.matches("dp worker done").count(), 2, "{text}");

    // One process on the whole batch (this process has no MPI: the singleton group).
    let single = train_dp::run(&args(opt, None)).unwrap();
    assert_eq!(single.group.size(), 1);
    let loaded = mlxr::io::load(&out).unwrap();
    let dp: std::collections::HashMap<String, Array> = match loaded {
        mlxr::io::Loaded::Safetensors { arrays, .. } => arrays.into_iter().collect(),
        _ => panic!("{} is not a safetensors file", out.display()),
    };
    let mut worst = 0.0f32;
    for (k, a) in single.model.named_parameters() {
        let b = dp
            .get(&k)
            .unwrap_or_else(|| panic!("{k} missing from the 2-rank weights"));
        assert_eq!(a.shape(), b.shape(), "{k}");
        let (x, y) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        for (p, q) in x.iter().zip(&y) {
            worst = worst.max((p - q).abs() / (1.0 + p.abs()));
        }
    }
    println!("{name}: largest difference between 1 and 2 processes: {worst:e}");
    assert!(worst < tol, "{name}: parameters differ by {worst}");
    // The run actually trained: the parameters moved.
    let start = train_dp::run(&Args {
        steps: 0,
        ..args(opt, None)
    })
    .unwrap();
    let moved = single
        .model
        .named_parameters()
        .iter()
        .zip(start.model.named_parameters())
        .any(|((_, a), (_, b))| {
            ops::array_equal(a, &b, false)
                .and_then(|e| e.item::<bool>())
                .map(|e| !e)
                .unwrap_or(false)
        });
    assert!(moved, "training did not change the parameters");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dp_sgd_matches_one_process() {
    compare(Opt::Sgd, "sgd", 1e-6);
}

#[test]
fn dp_adamw_matches_one_process() {
    compare(Opt::Adamw, "adamw", 1e-5);
}

/// Run by `mpirun` (see [`compare`]).
#[test]
#[ignore = "started by the dp_* tests under mpirun"]
fn worker() {
    if std::env::var_os(WORKER).is_none() {
        return;
    }
    let opt = match std::env::var(OPT).as_deref() {
        Ok("adamw") => Opt::Adamw,
        _ => Opt::Sgd,
    };
    let out = std::env::var(OUT).unwrap();
    let t = train_dp::run(&args(opt, Some(out))).unwrap();
    assert_eq!(t.group.size(), 2);
    assert_eq!(t.group.backend_name(), "mpi");
    // Every rank holds the same parameters: the maximum over ranks equals the minimum.
    for (k, p) in t.model.named_parameters() {
        let hi = distributed::all_max(&p, Some(&t.group)).unwrap();
        let lo = distributed::all_min(&p, Some(&t.group)).unwrap();
        let same = ops::array_equal(&hi, &lo, false)
            .unwrap()
            .item::<bool>()
            .unwrap();
        assert!(same, "rank {}: {k} differs between ranks", t.group.rank());
    }
    println!("rank {}: dp worker done", t.group.rank());
}
