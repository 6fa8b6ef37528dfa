//! The CUDA kernels compile: every instantiation of every kernel (every dtype, variant and
//! index width) is compiled by NVRTC to PTX for sm_90 (H100/H200). Needs no GPU, only
//! NVRTC (e.g. the `nvidia-cuda-nvrtc` Python wheel); skips with a message without it.

use mlxr::backend::cuda::kernels::{self, Target};

fn nvrtc_or_skip(test: &str) -> bool {
    match kernels::nvrtc_version() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("{test}: skipped: NVRTC is not available: {e}");
            false
        }
    }
}

#[test]
fn every_kernel_compiles_for_sm90() {
    if !nvrtc_or_skip("every_kernel_compiles_for_sm90") {
        return;
    }
    // `MLXR_NVRTC_ONLY=sort,scan` compiles only those programs (while developing them).
    let only = std::env::var("MLXR_NVRTC_ONLY").unwrap_or_default();
    let groups: Vec<_> = kernels::all_groups()
        .into_iter()
        .filter(|g| only.is_empty() || only.split(',').any(|p| p == g.program.name))
        .collect();
    assert!(!groups.is_empty());
    // NVRTC compiles independent programs concurrently.
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, Result<usize, String>)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(g) = groups.get(i) else { break };
                        let r = kernels::compile(g, Target::Ptx(90), None)
                            .map_err(|e| e.to_string())
                            .map(|c| {
                                assert_eq!(c.lowered.len(), g.names.len());
                                let ptx = String::from_utf8_lossy(&c.image);
                                for (_, lowered) in &c.lowered {
                                    assert!(
                                        ptx.contains(lowered.as_str()),
                                        "{lowered} not in the PTX"
                                    );
                                }
                                g.names.len()
                            });
                        out.push((i, r));
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut kernels_total = 0;
    let mut failures = Vec::new();
    for (i, r) in results {
        match r {
            Ok(n) => kernels_total += n,
            Err(e) => failures.push(format!("group {i} of {}: {e}", groups[i].program.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!(
        "compiled {kernels_total} kernels in {} modules for sm_90",
        groups.len()
    );
}

#[test]
fn compile_errors_are_reported_with_the_log() {
    if !nvrtc_or_skip("compile_errors_are_reported_with_the_log") {
        return;
    }
    static BAD: kernels::Program = kernels::Program {
        name: "bad",
        source: "#include \"common.cuh\"\n__global__ void k(float* x) { x[0] = undefined_name; }\n",
    };
    let g = kernels::Group {
        program: &BAD,
        names: vec!["k".into()],
    };
    let e = kernels::compile(&g, Target::Ptx(90), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("undefined_name"), "{e}");
}

#[test]
fn disk_cache_is_written_and_read() {
    if !nvrtc_or_skip("disk_cache_is_written_and_read") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("mlxr-kcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let g = kernels::all_groups()
        .into_iter()
        .find(|g| g.program.name == "selftest")
        .unwrap();
    let a = kernels::compile(&g, Target::Cubin(90), Some(&dir)).unwrap();
    assert!(!a.from_cache);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(files.len(), 2, "a cubin and its names file");
    let b = kernels::compile(&g, Target::Cubin(90), Some(&dir)).unwrap();
    assert!(b.from_cache);
    assert_eq!(a.image, b.image);
    assert_eq!(a.lowered, b.lowered);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kernels with inline PTX (atomics) are assembled to machine code, for sm_90 and for
/// sm_80 (whose fallbacks differ), so PTX syntax errors show up without a GPU.
#[test]
fn inline_ptx_kernels_assemble() {
    if !nvrtc_or_skip("inline_ptx_kernels_assemble") {
        return;
    }
    let groups = mlxr::backend::cuda::indexing::kernel_groups();
    for arch in [90, 80] {
        for g in groups.iter().filter(|g| {
            g.names
                .iter()
                .any(|n| n.contains("scatter_add_rows") || n.contains("OpSum, mlxr::bf16"))
        }) {
            if let Err(e) = kernels::compile(g, Target::Cubin(arch), None) {
                panic!("sm_{arch}: {e}");
            }
        }
    }
}
