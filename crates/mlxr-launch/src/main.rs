//! `mlxr-launch`: start the processes of a distributed mlxr job, like `mlx.launch` or
//! `torchrun`.
//!
//! `mlxr-launch -n N [--backend auto|mpi|nccl] [--hosts h1,h2,...] [--port P] [--dry-run]
//! -- PROGRAM ARGS...`
//!
//! - `mpi`: runs `mpirun -n N [--host h1:k,h2:k] PROGRAM ARGS` (Open MPI), exporting
//!   `MLXR_DIST_BACKEND=mpi`; each process's `mlxr::distributed::init` joins MPI's world.
//! - `nccl`: starts the N processes itself (locally, or through `ssh` on other hosts, N/H
//!   per host in rank order) with `MLXR_RANK`, `MLXR_WORLD_SIZE`, `MLXR_LOCAL_RANK`,
//!   `MLXR_DIST_BACKEND=nccl`, `MLXR_COORDINATOR=host:port` (the first host, where rank 0
//!   hands NCCL's unique id to the others) and `CUDA_VISIBLE_DEVICES` narrowed to the
//!   process's GPU (its local rank, or that entry of the caller's `CUDA_VISIBLE_DEVICES`).
//!   If one process fails, the others are stopped and its exit code is returned.
//! - `auto` (the default): `nccl` when this machine has an NVIDIA GPU (`/dev/nvidia0`),
//!   else `mpi`.
//!
//! The variable names are those of `mlxr::distributed::env`.

use clap::{Parser, ValueEnum};
use std::collections::BTreeMap;
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// `nccl` when an NVIDIA GPU is present, else `mpi`.
    Auto,
    /// Open MPI's `mpirun` starts the processes.
    Mpi,
    /// This launcher starts the processes; NCCL communicates between GPUs.
    Nccl,
}

/// Start N processes of a distributed mlxr program.
#[derive(Parser, Debug)]
#[command(name = "mlxr-launch", version, about)]
struct Args {
    /// Number of processes in all (spread evenly over the hosts, in rank order).
    #[arg(short = 'n', long = "nproc", default_value_t = 1)]
    n: usize,
    /// Communication backend.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    backend: BackendArg,
    /// Comma-separated host names (default: this host only). Remote hosts are reached by
    /// `ssh` (nccl) or by `mpirun` (mpi), and must have the program at the same path.
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<String>,
    /// Port of the NCCL rendezvous on the first host (default: a free port).
    #[arg(long)]
    port: Option<u16>,
    /// Print the commands and environments instead of running them.
    #[arg(long)]
    dry_run: bool,
    /// The program and its arguments.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// One process (or the `mpirun` command) to start.
#[derive(Debug, Clone, PartialEq)]
struct Launch {
    /// The host (`None`: this machine).
    host: Option<String>,
    /// Program and arguments.
    argv: Vec<String>,
    /// Environment variables to set.
    env: BTreeMap<String, String>,
}

fn is_local(host: &str) -> bool {
    if matches!(host, "localhost" | "127.0.0.1" | "::1") {
        return true;
    }
    let me = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    host == me.trim()
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The processes per host, or why `n` does not spread over `hosts`.
fn per_host(n: usize, hosts: usize) -> Result<usize, String> {
    if n == 0 {
        return Err("-n must be at least 1".into());
    }
    if hosts > 0 && !n.is_multiple_of(hosts) {
        return Err(format!(
            "-n {n} does not spread evenly over {hosts} hosts (use a multiple of {hosts})"
        ));
    }
    Ok(n.checked_div(hosts).unwrap_or(n))
}

/// The `mpirun` command for the `mpi` backend.
fn plan_mpi(args: &Args, root: bool) -> Result<Vec<Launch>, String> {
    let k = per_host(args.n, args.hosts.len())?;
    let mut argv = vec!["mpirun".to_string(), "-n".into(), args.n.to_string()];
    if args.hosts.is_empty() {
        argv.push("--oversubscribe".into());
    } else {
        let spec: Vec<String> = args.hosts.iter().map(|h| format!("{h}:{k}")).collect();
        argv.push("--host".into());
        argv.push(spec.join(","));
    }
    argv.extend(["-x".into(), "MLXR_DIST_BACKEND".into()]);
    argv.extend(args.command.iter().cloned());
    let mut env = BTreeMap::new();
    env.insert("MLXR_DIST_BACKEND".into(), "mpi".into());
    if root {
        // Open MPI refuses to start as root unless told twice.
        env.insert("OMPI_ALLOW_RUN_AS_ROOT".into(), "1".into());
        env.insert("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM".into(), "1".into());
    }
    Ok(vec![Launch {
        host: None,
        argv,
        env,
    }])
}

/// One launch per rank for the `nccl` backend.
fn plan_nccl(args: &Args, port: u16, visible: Option<&str>) -> Result<Vec<Launch>, String> {
    let k = per_host(args.n, args.hosts.len())?;
    let coord_host = args
        .hosts
        .first()
        .filter(|h| !is_local(h) || args.hosts.len() > 1)
        .cloned()
        .unwrap_or_else(|| "127.0.0.1".into());
    let gpus: Option<Vec<&str>> = visible
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.split(',').map(str::trim).collect());
    let mut out = Vec::with_capacity(args.n);
    for rank in 0..args.n {
        let local = rank % k;
        let host = args.hosts.get(rank / k).filter(|h| !is_local(h)).cloned();
        let gpu = match &gpus {
            Some(g) => g[local % g.len()].to_string(),
            None => local.to_string(),
        };
        let mut env = BTreeMap::new();
        env.insert("MLXR_DIST_BACKEND".into(), "nccl".into());
        env.insert("MLXR_RANK".into(), rank.to_string());
        env.insert("MLXR_WORLD_SIZE".into(), args.n.to_string());
        env.insert("MLXR_LOCAL_RANK".into(), local.to_string());
        env.insert("MLXR_COORDINATOR".into(), format!("{coord_host}:{port}"));
        env.insert("CUDA_VISIBLE_DEVICES".into(), gpu);
        out.push(Launch {
            host,
            argv: args.command.clone(),
            env,
        });
    }
    Ok(out)
}

/// Quote a word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command that starts a launch: the program itself, or `ssh` to its host.
fn command(l: &Launch) -> Command {
    match &l.host {
        None => {
            let mut c = Command::new(&l.argv[0]);
            c.args(&l.argv[1..]).envs(&l.env);
            c
        }
        Some(h) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            let mut line = format!("cd {} && env", shell_quote(&cwd.to_string_lossy()));
            for (k, v) in &l.env {
                line.push_str(&format!(" {k}={}", shell_quote(v)));
            }
            for a in &l.argv {
                line.push(' ');
                line.push_str(&shell_quote(a));
            }
            let mut c = Command::new("ssh");
            c.args(["-o", "BatchMode=yes", h, &line]);
            c
        }
    }
}

fn describe(l: &Launch) -> String {
    let env: Vec<String> = l
        .env
        .iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(v)))
        .collect();
    let argv: Vec<String> = l.argv.iter().map(|a| shell_quote(a)).collect();
    format!(
        "{}{} {}",
        l.host.as_ref().map_or(String::new(), |h| format!("[{h}] ")),
        env.join(" "),
        argv.join(" ")
    )
}

/// Start every launch and wait; stop the rest when one fails.
fn run(launches: &[Launch]) -> Result<i32, String> {
    let mut children: Vec<(usize, Child)> = Vec::new();
    for (i, l) in launches.iter().enumerate() {
        match command(l).spawn() {
            Ok(c) => children.push((i, c)),
            Err(e) => {
                for (_, c) in &mut children {
                    let _ = c.kill();
                }
                return Err(format!("cannot start `{}`: {e}", l.argv[0]));
            }
        }
    }
    let mut code = 0;
    while !children.is_empty() {
        let mut failed = None;
        children.retain_mut(|(i, c)| match c.try_wait() {
            Ok(Some(st)) => {
                if !st.success() && failed.is_none() {
                    failed = Some((*i, st.code().unwrap_or(1)));
                }
                false
            }
            Ok(None) => true,
            Err(_) => false,
        });
        if let Some((i, c)) = failed {
            if launches.len() > 1 {
                eprintln!("mlxr-launch: process {i} exited with code {c}; stopping the others");
            }
            for (_, ch) in &mut children {
                let _ = ch.kill();
                let _ = ch.wait();
            }
            code = c;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(code)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let backend = match args.backend {
        BackendArg::Auto if std::path::Path::new("/dev/nvidia0").exists() => BackendArg::Nccl,
        BackendArg::Auto => BackendArg::Mpi,
        b => b,
    };
    let plan = match backend {
        BackendArg::Mpi => plan_mpi(&args, running_as_root()),
        _ => {
            let port = match args.port {
                Some(p) => Ok(p),
                None => std::net::TcpListener::bind("127.0.0.1:0")
                    .and_then(|l| l.local_addr())
                    .map(|a| a.port())
                    .map_err(|e| format!("cannot find a free port: {e}")),
            };
            let visible = std::env::var("CUDA_VISIBLE_DEVICES").ok();
            port.and_then(|p| plan_nccl(&args, p, visible.as_deref()))
        }
    };
    let plan = match plan {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mlxr-launch: {e}");
            return ExitCode::from(2);
        }
    };
    if args.dry_run {
        for l in &plan {
            println!("{}", describe(l));
        }
        return ExitCode::SUCCESS;
    }
    match run(&plan) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(c) => ExitCode::from(c.clamp(1, 255) as u8),
        Err(e) => {
            eprintln!("mlxr-launch: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::parse_from(std::iter::once("mlxr-launch").chain(v.iter().copied()))
    }

    #[test]
    fn nccl_plan_sets_ranks_and_gpus() {
        let a = args(&[
            "-n",
            "4",
            "--backend",
            "nccl",
            "--",
            "train",
            "--steps",
            "3",
        ]);
        let p = plan_nccl(&a, 4242, None).unwrap();
        assert_eq!(p.len(), 4);
        for (r, l) in p.iter().enumerate() {
            assert_eq!(l.host, None);
            assert_eq!(l.argv, vec!["train", "--steps", "3"]);
            assert_eq!(l.env["MLXR_RANK"], r.to_string());
            assert_eq!(l.env["MLXR_WORLD_SIZE"], "4");
            assert_eq!(l.env["MLXR_LOCAL_RANK"], r.to_string());
            assert_eq!(l.env["CUDA_VISIBLE_DEVICES"], r.to_string());
            assert_eq!(l.env["MLXR_COORDINATOR"], "127.0.0.1:4242");
            assert_eq!(l.env["MLXR_DIST_BACKEND"], "nccl");
        }
        // The caller's CUDA_VISIBLE_DEVICES is split among the local ranks.
        let p = plan_nccl(&a, 1, Some("3,5")).unwrap();
        let g: Vec<&str> = p
            .iter()
            .map(|l| l.env["CUDA_VISIBLE_DEVICES"].as_str())
            .collect();
        assert_eq!(g, ["3", "5", "3", "5"]);
    }

    #[test]
    fn nccl_plan_over_hosts() {
        let a = args(&["-n", "4", "--hosts", "gpu-a,gpu-b", "--", "prog"]);
        let p = plan_nccl(&a, 7000, None).unwrap();
        let hosts: Vec<Option<&str>> = p.iter().map(|l| l.host.as_deref()).collect();
        assert_eq!(
            hosts,
            [Some("gpu-a"), Some("gpu-a"), Some("gpu-b"), Some("gpu-b")]
        );
        let locals: Vec<&str> = p
            .iter()
            .map(|l| l.env["MLXR_LOCAL_RANK"].as_str())
            .collect();
        assert_eq!(locals, ["0", "1", "0", "1"]);
        assert!(p.iter().all(|l| l.env["MLXR_COORDINATOR"] == "gpu-a:7000"));
        // The ssh command line carries the environment, quoted.
        let c = command(&p[3]);
        assert_eq!(c.get_program(), "ssh");
        let line = c.get_args().last().unwrap().to_string_lossy().into_owned();
        assert!(line.contains("MLXR_RANK=3"), "{line}");
        assert!(line.ends_with(" prog"), "{line}");
        assert!(per_host(3, 2).is_err());
        assert!(per_host(0, 0).is_err());
    }

    #[test]
    fn mpi_plan_runs_mpirun() {
        let a = args(&["-n", "3", "--backend", "mpi", "--", "prog", "x y"]);
        let p = plan_mpi(&a, true).unwrap();
        assert_eq!(p.len(), 1);
        assert_eq!(
            p[0].argv,
            [
                "mpirun",
                "-n",
                "3",
                "--oversubscribe",
                "-x",
                "MLXR_DIST_BACKEND",
                "prog",
                "x y"
            ]
        );
        assert_eq!(p[0].env["OMPI_ALLOW_RUN_AS_ROOT"], "1");
        let a = args(&[
            "-n",
            "4",
            "--hosts",
            "a,b",
            "--backend",
            "mpi",
            "--",
            "prog",
        ]);
        let p = plan_mpi(&a, false).unwrap();
        assert!(p[0].argv.windows(2).any(|w| w == ["--host", "a:2,b:2"]));
        assert!(!p[0].env.contains_key("OMPI_ALLOW_RUN_AS_ROOT"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc/d-1"), "abc/d-1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
