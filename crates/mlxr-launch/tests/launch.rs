//! `mlxr-launch` end to end: the processes it starts see their rank and size, a failing
//! process stops the job with its exit code, and `--backend mpi` goes through `mpirun`
//! (skipped with a message when `mpirun` is missing).

use std::process::Command;

fn launch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mlxr-launch"))
        .args(args)
        .output()
        .expect("run mlxr-launch")
}

#[test]
fn nccl_backend_passes_rank_and_size() {
    let out = launch(&[
        "-n",
        "3",
        "--backend",
        "nccl",
        "--",
        "sh",
        "-c",
        "echo rank=$MLXR_RANK size=$MLXR_WORLD_SIZE gpu=$CUDA_VISIBLE_DEVICES be=$MLXR_DIST_BACKEND",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for r in 0..3 {
        assert!(
            text.contains(&format!("rank={r} size=3 gpu={r} be=nccl")),
            "{text}"
        );
    }
}

#[test]
fn a_failing_process_stops_the_job() {
    let t = std::time::Instant::now();
    let out = launch(&[
        "-n",
        "2",
        "--backend",
        "nccl",
        "--",
        "sh",
        "-c",
        "if [ $MLXR_RANK = 1 ]; then exit 7; fi; exec sleep 60",
    ]);
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(
        t.elapsed().as_secs() < 30,
        "the sleeping rank was not stopped"
    );
}

#[test]
fn dry_run_prints_the_plan() {
    let out = launch(&[
        "-n",
        "2",
        "--backend",
        "nccl",
        "--port",
        "5555",
        "--dry-run",
        "--",
        "prog",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("MLXR_COORDINATOR=127.0.0.1:5555"), "{text}");
    let bad = launch(&[
        "-n",
        "3",
        "--hosts",
        "a,b",
        "--backend",
        "nccl",
        "--",
        "prog",
    ]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn mpi_backend_uses_mpirun() {
    if Command::new("mpirun").arg("--version").output().is_err() {
        println!("skipping: mpirun not found");
        return;
    }
    let out = launch(&[
        "-n",
        "2",
        "--backend",
        "mpi",
        "--",
        "sh",
        "-c",
        "echo mpi-rank=$OMPI_COMM_WORLD_RANK be=$MLXR_DIST_BACKEND",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for r in 0..2 {
        assert!(text.contains(&format!("mpi-rank={r} be=mpi")), "{text}");
    }
}
