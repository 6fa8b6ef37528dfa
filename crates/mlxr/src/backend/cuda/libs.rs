//! Finding the CUDA libraries at run time. cudarc opens the driver (`libcuda`), NVRTC
//! and cuBLASLt by file name only, so a library outside the loader's search path (a
//! CUDA toolkit that is not in `LD_LIBRARY_PATH`, or the `nvidia-*` Python wheels) would
//! not be found, and cudarc panics when a library is missing. Here we look for each
//! library ourselves, open it by absolute path before cudarc does (the dynamic loader
//! then hands cudarc the already-loaded library, matched by its soname), and report a
//! missing library as an error instead of a panic.
//!
//! Folders searched, in order: `MLXR_CUDA_LIBRARY_PATH` (colon-separated),
//! `LD_LIBRARY_PATH`, `$CUDA_HOME`/`$CUDA_PATH`/`$CUDA_ROOT` (`lib64`, `lib`),
//! `/usr/local/cuda/lib64`, the `nvidia/*/lib` folders of Python's site-packages (the
//! `nvidia-cuda-nvrtc`, `nvidia-cuda-runtime`, `nvidia-cublas` wheels), then the
//! loader's own search (by soname).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The CUDA major version whose libraries we load (cudarc is built for CUDA 13.0).
pub const CUDA_MAJOR: u32 = 13;

/// Libraries opened by absolute path, kept open for the life of the process.
static OPENED: Mutex<Vec<libloading::Library>> = Mutex::new(Vec::new());

fn env_dirs(var: &str) -> Vec<PathBuf> {
    std::env::var_os(var)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `site-packages` folders of the Python installations we can see: from the active
/// virtual or conda environment, and from asking `python3` (once).
fn site_packages() -> &'static [PathBuf] {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let mut out: Vec<PathBuf> = Vec::new();
        for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
            if let Some(p) = std::env::var_os(var) {
                let lib = Path::new(&p).join("lib");
                if let Ok(rd) = std::fs::read_dir(&lib) {
                    for e in rd.flatten() {
                        if e.file_name().to_string_lossy().starts_with("python3") {
                            out.push(e.path().join("site-packages"));
                        }
                    }
                }
            }
        }
        let py = std::process::Command::new("python3")
            .args([
                "-c",
                "import site,sys\nfor p in site.getsitepackages()+[site.getusersitepackages()]: print(p)",
            ])
            .stderr(std::process::Stdio::null())
            .output();
        if let Ok(o) = py {
            if o.status.success() {
                for l in String::from_utf8_lossy(&o.stdout).lines() {
                    let l = l.trim();
                    if !l.is_empty() {
                        out.push(PathBuf::from(l));
                    }
                }
            }
        }
        out.dedup();
        out
    })
}

/// The `nvidia/*/<sub>` folders of the Python wheels (e.g. `nvidia/cu13/lib`,
/// `nvidia/cuda_nvrtc/lib`), the CUDA-13 ones first.
fn wheel_dirs(sub: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sp in site_packages() {
        let nv = sp.join("nvidia");
        let Ok(rd) = std::fs::read_dir(&nv) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // `cu13` (the CUDA 13 wheels' shared folder) before the per-library folders.
        names.sort_by_key(|n| n != &format!("cu{CUDA_MAJOR}"));
        for n in names {
            let d = nv.join(n).join(sub);
            if d.is_dir() {
                out.push(d);
            }
        }
    }
    out
}

/// Folders to search for CUDA libraries, in order.
pub fn library_dirs() -> Vec<PathBuf> {
    let mut dirs = system_library_dirs();
    dirs.extend(wheel_dirs("lib"));
    clean(dirs)
}

/// The search folders before the Python wheels' (no Python start needed).
fn system_library_dirs() -> Vec<PathBuf> {
    let mut dirs = env_dirs("MLXR_CUDA_LIBRARY_PATH");
    dirs.extend(env_dirs("LD_LIBRARY_PATH"));
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Some(p) = std::env::var_os(var) {
            let p = PathBuf::from(p);
            dirs.push(p.join("lib64"));
            dirs.push(p.join("lib"));
            dirs.push(p.join("targets/x86_64-linux/lib"));
        }
    }
    dirs.push(PathBuf::from("/usr/local/cuda/lib64"));
    dirs.push(PathBuf::from(format!("/usr/local/cuda-{CUDA_MAJOR}/lib64")));
    clean(dirs)
}

/// Drop duplicates and the toolkit's link-time stubs (a stub libcuda only returns errors).
fn clean(mut dirs: Vec<PathBuf>) -> Vec<PathBuf> {
    dirs.retain(|d| !d.components().any(|c| c.as_os_str() == "stubs"));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// Folders holding the CUDA headers (`cuda_fp16.h`), for kernels that include them:
/// `$CUDA_HOME/include`, `/usr/local/cuda/include`, the wheels' `nvidia/*/include`.
pub fn include_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Some(p) = std::env::var_os(var) {
            dirs.push(PathBuf::from(p).join("include"));
        }
    }
    dirs.push(PathBuf::from("/usr/local/cuda/include"));
    dirs.extend(wheel_dirs("include"));
    dirs.retain(|d| d.join("cuda_fp16.h").is_file());
    dirs
}

/// The first file in `dirs` whose name is `name`, or (when `name` ends in `*`) starts
/// with the part before the `*`.
fn find_file(dirs: &[PathBuf], name: &str) -> Option<PathBuf> {
    for d in dirs {
        if let Some(prefix) = name.strip_suffix('*') {
            let Ok(rd) = std::fs::read_dir(d) else {
                continue;
            };
            let mut hits: Vec<PathBuf> = rd
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                .map(|e| e.path())
                .collect();
            hits.sort();
            if let Some(h) = hits.pop() {
                return Some(h);
            }
        } else {
            let p = d.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn open_path(p: &Path) -> std::result::Result<(), String> {
    // SAFETY: loading a CUDA library runs its initialisers, which are safe to run.
    let lib = unsafe { libloading::Library::new(p) }.map_err(|e| e.to_string())?;
    OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(lib);
    Ok(())
}

/// Make the library with soname `soname` loadable by name: open it from the first
/// search folder that holds it (plus `companions`, files NVRTC itself opens by name,
/// e.g. `libnvrtc-builtins.so.13.*`, from the same folder); else check that the loader
/// finds it on its own. Returns where it came from, or why it is missing.
pub fn preload(soname: &str, companions: &[&str]) -> std::result::Result<String, String> {
    // Ask Python for its wheels' folders only when the usual places lack the library.
    let found =
        find_file(&system_library_dirs(), soname).or_else(|| find_file(&library_dirs(), soname));
    if let Some(p) = found {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        for c in companions {
            match find_file(std::slice::from_ref(&dir), c) {
                Some(cp) => open_path(&cp)?,
                None => {
                    // Fall back to the loader's search for the companion.
                    let n = c.trim_end_matches('*');
                    if !c.ends_with('*') {
                        // SAFETY: as in `open_path`.
                        if let Ok(l) = unsafe { libloading::Library::new(n) } {
                            OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(l);
                        }
                    }
                }
            }
        }
        open_path(&p)
            .map_err(|e| format!("{soname}: found at {} but failed to load: {e}", p.display()))?;
        return Ok(p.display().to_string());
    }
    // SAFETY: as in `open_path`.
    match unsafe { libloading::Library::new(soname) } {
        Ok(l) => {
            OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(l);
            Ok(format!("{soname} (loader search path)"))
        }
        Err(e) => Err(format!(
            "{soname} was not found (searched {} and the loader path: {e}); install the CUDA \
             {CUDA_MAJOR} libraries (e.g. `pip install nvidia-cuda-nvrtc=={CUDA_MAJOR}.* \
             nvidia-cuda-runtime=={CUDA_MAJOR}.*`) or point MLXR_CUDA_LIBRARY_PATH at them",
            library_dirs()
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        )),
    }
}

/// Load the NVIDIA driver library (`libcuda.so.1`). Only the loader's search and the
/// system library folders: the driver is never part of a toolkit or a wheel.
pub fn load_driver() -> Result<String> {
    static R: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    R.get_or_init(|| {
        let mut dirs = env_dirs("MLXR_CUDA_LIBRARY_PATH");
        dirs.extend(env_dirs("LD_LIBRARY_PATH"));
        for d in [
            "/usr/local/nvidia/lib64",
            "/usr/local/nvidia/lib",
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/usr/lib/wsl/lib",
            "/usr/lib/aarch64-linux-gnu",
        ] {
            dirs.push(PathBuf::from(d));
        }
        dirs.retain(|d| !d.components().any(|c| c.as_os_str() == "stubs"));
        // SAFETY: as in `open_path`.
        if let Ok(l) = unsafe { libloading::Library::new("libcuda.so.1") } {
            OPENED.lock().unwrap_or_else(|e| e.into_inner()).push(l);
            return Ok("libcuda.so.1 (loader search path)".into());
        }
        match find_file(&dirs, "libcuda.so.1") {
            Some(p) => open_path(&p)
                .map(|_| p.display().to_string())
                .map_err(|e| format!("libcuda.so.1 at {} failed to load: {e}", p.display())),
            None => Err(
                "the NVIDIA driver library libcuda.so.1 was not found (no NVIDIA driver \
                         installed on this machine)"
                    .to_string(),
            ),
        }
    })
    .clone()
    .map_err(Error::Device)
}

/// Load NVRTC (`libnvrtc.so.13` and its `libnvrtc-builtins`) once.
pub fn load_nvrtc() -> Result<String> {
    static R: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    R.get_or_init(|| {
        let so = format!("libnvrtc.so.{CUDA_MAJOR}");
        let builtins = format!("libnvrtc-builtins.so.{CUDA_MAJOR}.*");
        let r = preload(&so, &[&builtins])?;
        // cudarc opens NVRTC by name; make sure it will find it (it panics otherwise).
        // SAFETY: only probes dlopen.
        if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return Err(format!(
                "{so} was loaded from {r} but cudarc cannot open it"
            ));
        }
        Ok(r)
    })
    .clone()
    .map_err(Error::Device)
}

/// Load cuBLASLt (`libcublasLt.so.13`) once (used by matmul).
pub fn load_cublaslt() -> Result<String> {
    static R: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    R.get_or_init(|| {
        let r = preload(&format!("libcublasLt.so.{CUDA_MAJOR}"), &[])?;
        // SAFETY: only probes dlopen.
        if !unsafe { cudarc::cublaslt::sys::is_culib_present() } {
            return Err(format!(
                "libcublasLt was loaded from {r} but cudarc cannot open it"
            ));
        }
        Ok(r)
    })
    .clone()
    .map_err(Error::Device)
}

/// Load NCCL (`libnccl.so.2`, e.g. from the `nvidia-nccl-cu13` wheel) once (used by the
/// `nccl` backend of `distributed`).
pub fn load_nccl() -> Result<String> {
    static R: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    R.get_or_init(|| {
        let r = preload("libnccl.so.2", &[])?;
        // SAFETY: only probes dlopen.
        if !unsafe { cudarc::nccl::sys::is_culib_present() } {
            return Err(format!(
                "libnccl was loaded from {r} but cudarc cannot open it"
            ));
        }
        Ok(r)
    })
    .clone()
    .map_err(Error::Device)
}
