//! Kernels: CUDA C sources kept in `kernels/*.cu` / `*.cuh` (embedded with
//! `include_str!`), compiled by NVRTC for the GPU's own architecture at first use, cached
//! in memory (loaded modules and functions) and on disk (`MLXR_KERNEL_CACHE`, default
//! `~/.cache/mlxr/kernels`), keyed by a hash of the sources, the instantiated names, the
//! options, the architecture and the NVRTC version.
//!
//! Templates are instantiated through NVRTC name expressions: a *group* of names (e.g.
//! every output dtype of a cast from one input dtype) is compiled into one module, so a
//! module covers the variants a family needs while first-use compile time stays small.
//! [`all_groups`] lists every group of every op, so a test can compile all of them on a
//! machine without a GPU.

use super::{drv, Gpu, RawStream};
use crate::error::{Error, Result};
use cudarc::driver::{result as dres, sys as dsys};
use cudarc::nvrtc::sys as nv;
use std::collections::HashMap;
use std::ffi::{c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Shared headers, available to every program under their file names.
pub const HEADERS: &[(&str, &str)] = &[
    ("common.cuh", include_str!("kernels/common.cuh")),
    ("cast.cuh", include_str!("kernels/cast.cuh")),
    ("elementwise.cuh", include_str!("kernels/elementwise.cuh")),
    ("math.cuh", include_str!("kernels/math.cuh")),
];

/// Most axes a kernel's shape/stride parameters hold (after collapsing contiguous axes).
pub const MAX_NDIM: usize = 10;

/// One CUDA source file (a translation unit).
#[derive(Debug)]
pub struct Program {
    /// Short name (also the disk cache file prefix).
    pub name: &'static str,
    /// The `.cu` source; it may `#include` any of [`HEADERS`].
    pub source: &'static str,
}

/// `kernels/copy.cu`: copies and casts.
pub static COPY: Program = Program {
    name: "copy",
    source: include_str!("kernels/copy.cu"),
};

/// `kernels/selftest.cu`: ops that only exercise the launchers in tests.
pub static SELFTEST: Program = Program {
    name: "selftest",
    source: include_str!("kernels/selftest.cu"),
};

/// `kernels/unary.cu`: the unary op functors.
pub static UNARY: Program = Program {
    name: "unary",
    source: include_str!("kernels/unary.cu"),
};

/// `kernels/binary.cu`: the binary op functors and `Select`.
pub static BINARY: Program = Program {
    name: "binary",
    source: include_str!("kernels/binary.cu"),
};

/// `kernels/reduce.cu`: reductions and argmax/argmin.
pub static REDUCE: Program = Program {
    name: "reduce",
    source: include_str!("kernels/reduce.cu"),
};

/// `kernels/softmax.cu`: softmax and log-sum-exp rows.
pub static SOFTMAX: Program = Program {
    name: "softmax",
    source: include_str!("kernels/softmax.cu"),
};

/// `kernels/sort.cu`: sort, argsort (and partitions through them), searchsorted.
pub static SORT: Program = Program {
    name: "sort",
    source: include_str!("kernels/sort.cu"),
};

/// `kernels/creation.cu`: full, arange, linspace, eye and tri.
pub static CREATION: Program = Program {
    name: "creation",
    source: include_str!("kernels/creation.cu"),
};

/// `kernels/shape.cu`: concatenate, pad, tile, repeat, roll and diag copies.
pub static SHAPE: Program = Program {
    name: "shape",
    source: include_str!("kernels/shape.cu"),
};

/// `kernels/scan.cu`: cumulative scans and 1-D convolution.
pub static SCAN: Program = Program {
    name: "scan",
    source: include_str!("kernels/scan.cu"),
};

/// Template instantiations compiled together into one module.
#[derive(Debug, Clone)]
pub struct Group {
    /// The source.
    pub program: &'static Program,
    /// Name expressions of the kernels (e.g. `mlxr::unary_v<mlxr::Identity, float, double, int>`).
    pub names: Vec<String>,
}

/// Every group of every kernel family, for the NVRTC compile test. Families add their
/// groups here.
pub fn all_groups() -> Vec<Group> {
    let mut g = super::copy::kernel_groups();
    g.extend(super::elementwise::selftest_groups());
    g.extend(super::unary::kernel_groups());
    g.extend(super::binary::kernel_groups());
    g.extend(super::ternary::kernel_groups());
    g.extend(super::reduce::kernel_groups());
    g.extend(super::softmax::kernel_groups());
    g.extend(super::softmax::vjp_kernel_groups());
    g.extend(super::sort::kernel_groups());
    g.extend(super::indexing::kernel_groups());
    g.extend(super::random::kernel_groups());
    g.extend(super::creation::kernel_groups());
    g.extend(super::shape::kernel_groups());
    g.extend(super::scan::kernel_groups());
    g.extend(super::optim::kernel_groups());
    g
}

// ---- compilation -------------------------------------------------------------------------

/// What NVRTC produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// PTX for virtual architecture `compute_<arch>` (e.g. 90).
    Ptx(u32),
    /// A CUBIN for real architecture `sm_<arch>`.
    Cubin(u32),
}

impl Target {
    fn option(self) -> String {
        match self {
            Target::Ptx(a) => format!("--gpu-architecture=compute_{a}"),
            Target::Cubin(a) => format!("--gpu-architecture=sm_{a}"),
        }
    }
    fn ext(self) -> &'static str {
        match self {
            Target::Ptx(_) => "ptx",
            Target::Cubin(_) => "cubin",
        }
    }
}

/// A compiled group: the image (PTX text or CUBIN) and the mangled name of each name
/// expression.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// PTX (NUL-terminated) or CUBIN bytes.
    pub image: Vec<u8>,
    /// `(name expression, lowered name)` pairs.
    pub lowered: Vec<(String, String)>,
    /// Whether it came from the disk cache.
    pub from_cache: bool,
}

/// NVRTC's version (major, minor); an error when NVRTC cannot be loaded.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    super::libs::load_nvrtc()?;
    let (mut a, mut b) = (0, 0);
    // SAFETY: NVRTC is loaded; out-pointers are valid.
    let r = unsafe { nv::nvrtcVersion(&mut a, &mut b) };
    if r != nv::nvrtcResult::NVRTC_SUCCESS {
        return Err(Error::Device(format!("nvrtcVersion failed: {r:?}")));
    }
    Ok((a, b))
}

/// The compile options for a target.
pub fn options(target: Target) -> Vec<String> {
    vec![
        target.option(),
        "-std=c++17".into(),
        format!("-DMLXR_MAX_NDIM={MAX_NDIM}"),
    ]
}

/// A 128-bit FNV-1a hash (stable across builds, for cache keys).
fn fnv128(parts: &[&[u8]]) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for p in parts {
        for &b in p.iter().chain(&[0xffu8]) {
            h ^= b as u128;
            h = h.wrapping_mul(0x0000000001000000000000000000013B);
        }
    }
    h
}

/// The cache key of a group for a target.
pub fn group_key(group: &Group, target: Target) -> Result<u128> {
    let (a, b) = nvrtc_version()?;
    let ver = format!("nvrtc {a}.{b}");
    let opts = options(target).join(" ");
    let names = group.names.join("\n");
    let mut parts: Vec<&[u8]> = vec![
        ver.as_bytes(),
        opts.as_bytes(),
        group.program.name.as_bytes(),
        group.program.source.as_bytes(),
        names.as_bytes(),
    ];
    for (n, s) in HEADERS {
        parts.push(n.as_bytes());
        parts.push(s.as_bytes());
    }
    Ok(fnv128(&parts))
}

/// The kernel disk cache folder: `$MLXR_KERNEL_CACHE`, else `~/.cache/mlxr/kernels`
/// (`$XDG_CACHE_HOME/mlxr/kernels` when set), else a folder in the temp dir.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("MLXR_KERNEL_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("mlxr/kernels");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache/mlxr/kernels");
    }
    std::env::temp_dir().join("mlxr-kernels")
}

fn nvrtc_err(r: nv::nvrtcResult, what: &str) -> Error {
    Error::Device(format!("NVRTC {what} failed: {r:?}"))
}

/// Compile a group with NVRTC (no GPU needed), or load it from `cache` when present
/// there; a fresh compile is written to `cache`.
pub fn compile(group: &Group, target: Target, cache: Option<&Path>) -> Result<Compiled> {
    let key = group_key(group, target)?;
    let file = cache.map(|d| {
        d.join(format!(
            "{}-{key:032x}.{}",
            group.program.name,
            target.ext()
        ))
    });
    if let Some(f) = &file {
        if let Some(c) = read_cached(f, group) {
            return Ok(c);
        }
    }
    let c = compile_uncached(group, target)?;
    if let Some(f) = &file {
        // A cache that cannot be written is not an error: the kernel works anyway.
        let _ = write_cached(f, &c);
    }
    Ok(c)
}

fn names_file(f: &Path) -> PathBuf {
    f.with_extension("names")
}

fn read_cached(f: &Path, group: &Group) -> Option<Compiled> {
    let image = std::fs::read(f).ok()?;
    let names = std::fs::read_to_string(names_file(f)).ok()?;
    let lowered: Vec<(String, String)> = names
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    if lowered.len() != group.names.len()
        || lowered.iter().zip(&group.names).any(|(l, n)| &l.0 != n)
    {
        return None;
    }
    Some(Compiled {
        image,
        lowered,
        from_cache: true,
    })
}

fn write_cached(f: &Path, c: &Compiled) -> std::io::Result<()> {
    let dir = f.parent().expect("cache file has a folder");
    std::fs::create_dir_all(dir)?;
    let tmp = |p: &Path| p.with_extension(format!("tmp{}", std::process::id()));
    let nf = names_file(f);
    let names: String = c
        .lowered
        .iter()
        .map(|(a, b)| format!("{a}\t{b}\n"))
        .collect();
    std::fs::write(tmp(&nf), names)?;
    std::fs::rename(tmp(&nf), &nf)?;
    std::fs::write(tmp(f), &c.image)?;
    std::fs::rename(tmp(f), f)
}

/// An NVRTC program handle, destroyed on drop.
struct Prog(nv::nvrtcProgram);
impl Drop for Prog {
    fn drop(&mut self) {
        // SAFETY: created by nvrtcCreateProgram, destroyed once.
        unsafe {
            nv::nvrtcDestroyProgram(&mut self.0);
        }
    }
}

fn compile_uncached(group: &Group, target: Target) -> Result<Compiled> {
    super::libs::load_nvrtc()?;
    let cstr = |s: &str| CString::new(s).map_err(|_| Error::Device("NUL in kernel source".into()));
    let src = cstr(group.program.source)?;
    let name = cstr(&format!("{}.cu", group.program.name))?;
    let hdr_src: Vec<CString> = HEADERS.iter().map(|h| cstr(h.1)).collect::<Result<_>>()?;
    let hdr_name: Vec<CString> = HEADERS.iter().map(|h| cstr(h.0)).collect::<Result<_>>()?;
    let hs: Vec<*const std::ffi::c_char> = hdr_src.iter().map(|c| c.as_ptr()).collect();
    let hn: Vec<*const std::ffi::c_char> = hdr_name.iter().map(|c| c.as_ptr()).collect();
    let mut raw: nv::nvrtcProgram = std::ptr::null_mut();
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    let r = unsafe {
        nv::nvrtcCreateProgram(
            &mut raw,
            src.as_ptr(),
            name.as_ptr(),
            hs.len() as i32,
            hs.as_ptr(),
            hn.as_ptr(),
        )
    };
    if r != nv::nvrtcResult::NVRTC_SUCCESS {
        return Err(nvrtc_err(r, "nvrtcCreateProgram"));
    }
    let prog = Prog(raw);
    let exprs: Vec<CString> = group.names.iter().map(|n| cstr(n)).collect::<Result<_>>()?;
    for e in &exprs {
        // SAFETY: valid program and string.
        let r = unsafe { nv::nvrtcAddNameExpression(prog.0, e.as_ptr()) };
        if r != nv::nvrtcResult::NVRTC_SUCCESS {
            return Err(nvrtc_err(r, "nvrtcAddNameExpression"));
        }
    }
    let opts: Vec<CString> = options(target)
        .iter()
        .map(|o| cstr(o))
        .collect::<Result<_>>()?;
    let op: Vec<*const std::ffi::c_char> = opts.iter().map(|c| c.as_ptr()).collect();
    // SAFETY: valid program and option strings.
    let r = unsafe { nv::nvrtcCompileProgram(prog.0, op.len() as i32, op.as_ptr()) };
    if r != nv::nvrtcResult::NVRTC_SUCCESS {
        let log = program_log(&prog);
        return Err(Error::Device(format!(
            "NVRTC failed to compile {}.cu ({:?}) for {}: {r:?}\n{log}",
            group.program.name,
            target,
            if group.names.len() <= 3 {
                group.names.join(", ")
            } else {
                format!("{} and {} more", group.names[0], group.names.len() - 1)
            }
        )));
    }
    let mut lowered = Vec::with_capacity(exprs.len());
    for (e, n) in exprs.iter().zip(&group.names) {
        let mut p: *const std::ffi::c_char = std::ptr::null();
        // SAFETY: the program is compiled; the returned string lives as long as it.
        let r = unsafe { nv::nvrtcGetLoweredName(prog.0, e.as_ptr(), &mut p) };
        if r != nv::nvrtcResult::NVRTC_SUCCESS || p.is_null() {
            return Err(nvrtc_err(r, &format!("nvrtcGetLoweredName({n})")));
        }
        // SAFETY: NUL-terminated string owned by the program.
        let l = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
        lowered.push((n.clone(), l));
    }
    let mut size = 0usize;
    let image = match target {
        Target::Ptx(_) => {
            // SAFETY: compiled program; out-pointer valid.
            let r = unsafe { nv::nvrtcGetPTXSize(prog.0, &mut size) };
            if r != nv::nvrtcResult::NVRTC_SUCCESS {
                return Err(nvrtc_err(r, "nvrtcGetPTXSize"));
            }
            let mut buf = vec![0u8; size];
            // SAFETY: buf holds `size` bytes.
            let r = unsafe { nv::nvrtcGetPTX(prog.0, buf.as_mut_ptr() as *mut _) };
            if r != nv::nvrtcResult::NVRTC_SUCCESS {
                return Err(nvrtc_err(r, "nvrtcGetPTX"));
            }
            buf
        }
        Target::Cubin(_) => {
            // SAFETY: as above.
            let r = unsafe { nv::nvrtcGetCUBINSize(prog.0, &mut size) };
            if r != nv::nvrtcResult::NVRTC_SUCCESS {
                return Err(nvrtc_err(r, "nvrtcGetCUBINSize"));
            }
            let mut buf = vec![0u8; size];
            // SAFETY: buf holds `size` bytes.
            let r = unsafe { nv::nvrtcGetCUBIN(prog.0, buf.as_mut_ptr() as *mut _) };
            if r != nv::nvrtcResult::NVRTC_SUCCESS {
                return Err(nvrtc_err(r, "nvrtcGetCUBIN"));
            }
            buf
        }
    };
    Ok(Compiled {
        image,
        lowered,
        from_cache: false,
    })
}

fn program_log(prog: &Prog) -> String {
    let mut n = 0usize;
    // SAFETY: valid program; out-pointer valid.
    if unsafe { nv::nvrtcGetProgramLogSize(prog.0, &mut n) } != nv::nvrtcResult::NVRTC_SUCCESS {
        return String::new();
    }
    let mut buf = vec![0u8; n.max(1)];
    // SAFETY: buf holds n bytes.
    unsafe { nv::nvrtcGetProgramLog(prog.0, buf.as_mut_ptr() as *mut _) };
    String::from_utf8_lossy(&buf)
        .trim_end_matches('\0')
        .to_string()
}

// ---- loading and launching (GPU) ---------------------------------------------------------

/// A kernel function handle.
#[derive(Clone, Copy, Debug)]
pub struct Func(usize);

impl Func {
    fn raw(self) -> dsys::CUfunction {
        self.0 as dsys::CUfunction
    }
}

type Loaded = Arc<OnceLock<std::result::Result<(), Error>>>;

/// Per-GPU cache of loaded modules and their functions.
#[derive(Default)]
pub struct KernelCache {
    /// (program, name expression) → function.
    funcs: RwLock<HashMap<(&'static str, String), Func>>,
    /// Group key → load result (one compile per group, even with concurrent callers).
    groups: Mutex<HashMap<u128, Loaded>>,
    /// Loaded modules (kept for the life of the process).
    modules: Mutex<Vec<usize>>,
}

impl Gpu {
    /// The compile target for this GPU: a CUBIN for its own architecture.
    pub fn target(&self) -> Target {
        Target::Cubin(self.arch)
    }

    /// The kernel `name` of `program`, compiling and loading `group()` (a group that
    /// contains `name`) at first use.
    pub fn function(
        &self,
        program: &'static Program,
        name: &str,
        group: impl FnOnce() -> Vec<String>,
    ) -> Result<Func> {
        if let Some(f) = self
            .kernels
            .funcs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(program.name, name.to_string()))
        {
            return Ok(*f);
        }
        let mut names = group();
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        let g = Group { program, names };
        let key = group_key(&g, self.target())?;
        let cell: Loaded = self
            .kernels
            .groups
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| self.load_group(&g)).clone()?;
        self.kernels
            .funcs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(program.name, name.to_string()))
            .copied()
            .ok_or_else(|| Error::Device(format!("kernel {name} missing from its module")))
    }

    fn load_group(&self, g: &Group) -> Result<()> {
        let dir = cache_dir();
        let c = compile(g, self.target(), Some(&dir))?;
        self.ctx
            .bind_to_thread()
            .map_err(|e| drv(e, "cuCtxSetCurrent"))?;
        let mut image = c.image.clone();
        if matches!(self.target(), Target::Ptx(_)) && image.last() != Some(&0) {
            image.push(0);
        }
        // SAFETY: a valid CUBIN/PTX image for this device.
        let module = unsafe { dres::module::load_data(image.as_ptr() as *const c_void) }
            .map_err(|e| drv(e, &format!("cuModuleLoadData({})", g.program.name)))?;
        self.kernels
            .modules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(module as usize);
        let mut funcs = self
            .kernels
            .funcs
            .write()
            .unwrap_or_else(|e| e.into_inner());
        for (expr, lowered) in &c.lowered {
            let cname = CString::new(lowered.as_str()).expect("mangled names have no NUL");
            // SAFETY: the module is loaded; the name is one of its kernels.
            let f = unsafe { dres::module::get_function(module, cname) }
                .map_err(|e| drv(e, &format!("cuModuleGetFunction({expr})")))?;
            funcs.insert((g.program.name, expr.clone()), Func(f as usize));
        }
        Ok(())
    }

    /// Launch `f` over `units` work items (one thread each, `block` threads per block;
    /// the grid is capped and kernels loop over the rest). `args` point at each argument.
    pub fn launch(
        &self,
        f: Func,
        units: usize,
        stream: RawStream,
        args: &mut [*mut c_void],
    ) -> Result<()> {
        if units == 0 {
            return Ok(());
        }
        let block = 256usize;
        let max_blocks = (self.sm_count as usize * 32).clamp(1, i32::MAX as usize);
        let grid = units.div_ceil(block).min(max_blocks);
        // SAFETY: `f` is a loaded kernel whose parameters match `args` (the launchers
        // build both from the same template); device pointers are live allocations.
        unsafe {
            dres::launch_kernel(
                f.raw(),
                (grid as u32, 1, 1),
                (block as u32, 1, 1),
                0,
                stream.cu(),
                args,
            )
        }
        .map_err(|e| drv(e, "cuLaunchKernel"))
    }

    /// The most threads per block `f` can be launched with (its register and shared
    /// memory use allow fewer than the device's 1024 for large kernels).
    pub fn max_block(&self, f: Func) -> Result<usize> {
        // SAFETY: `f` is a loaded kernel.
        unsafe {
            dres::function::get_function_attribute(
                f.raw(),
                dsys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK,
            )
        }
        .map(|v| v.max(1) as usize)
        .map_err(|e| drv(e, "cuFuncGetAttribute"))
    }

    /// Launch `f` on `grid` blocks of `block` threads with `smem` bytes of dynamic shared
    /// memory (above the default 48 KiB, the kernel is allowed more first).
    pub fn launch_grid(
        &self,
        f: Func,
        grid: usize,
        block: usize,
        smem: usize,
        stream: RawStream,
        args: &mut [*mut c_void],
    ) -> Result<()> {
        if grid == 0 {
            return Ok(());
        }
        if grid > i32::MAX as usize {
            return Err(Error::Device(format!(
                "a kernel launch of {grid} blocks exceeds the grid limit"
            )));
        }
        let max = self.max_block(f)?;
        if block > max {
            return Err(Error::Device(format!(
                "a kernel launch of {block} threads per block exceeds the kernel's limit of {max} (its register use)"
            )));
        }
        if smem > 48 << 10 {
            // SAFETY: a loaded kernel; the driver checks the size against the device.
            unsafe {
                dres::function::set_function_attribute(
                    f.raw(),
                    dsys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    smem as i32,
                )
            }
            .map_err(|e| drv(e, "cuFuncSetAttribute"))?;
        }
        // SAFETY: as in `launch`; `smem` fits the kernel (set above).
        unsafe {
            dres::launch_kernel(
                f.raw(),
                (grid as u32, 1, 1),
                (block as u32, 1, 1),
                smem as u32,
                stream.cu(),
                args,
            )
        }
        .map_err(|e| drv(e, "cuLaunchKernel"))
    }
}

/// One kernel argument for [`Gpu::launch_with`].
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// A device address.
    Ptr(u64),
    /// A value of the launch's index type (`int`, or `long long` when the launch is wide).
    Idx(i64),
    /// An `int`.
    I32(i32),
    /// A `long long`.
    I64(i64),
    /// A `float`.
    F32(f32),
    /// A `double`.
    F64(f64),
    /// A by-value struct, given by its address (the caller keeps it alive).
    Raw(*mut c_void),
}

impl Gpu {
    /// [`Gpu::launch`] with the arguments given as values: `Arg::Idx` values are passed
    /// as `long long` when `wide`, else as `int`.
    pub fn launch_with(
        &self,
        f: Func,
        units: usize,
        stream: RawStream,
        wide: bool,
        args: &[Arg],
    ) -> Result<()> {
        // Every scalar sits in its own 8-byte slot; narrower ones in the low bytes (the
        // host is little-endian), which is what the kernel reads.
        let mut slots: Vec<u64> = args
            .iter()
            .map(|a| match *a {
                Arg::Ptr(p) => p,
                Arg::Idx(v) if wide => v as u64,
                Arg::Idx(v) => v as i32 as u32 as u64,
                Arg::I32(v) => v as u32 as u64,
                Arg::I64(v) => v as u64,
                Arg::F32(v) => v.to_bits() as u64,
                Arg::F64(v) => v.to_bits(),
                Arg::Raw(_) => 0,
            })
            .collect();
        let mut ptrs: Vec<*mut c_void> = slots
            .iter_mut()
            .zip(args)
            .map(|(s, a)| match *a {
                Arg::Raw(p) => p,
                _ => s as *mut u64 as *mut c_void,
            })
            .collect();
        self.launch(f, units, stream, &mut ptrs)
    }
}

/// The CUDA type naming a dtype's elements in kernel templates.
pub fn type_name(d: crate::Dtype) -> &'static str {
    use crate::Dtype::*;
    match d {
        Bool => "bool",
        Uint8 => "mlxr::u8",
        Uint16 => "mlxr::u16",
        Uint32 => "mlxr::u32",
        Uint64 => "mlxr::u64",
        Int8 => "mlxr::i8",
        Int16 => "mlxr::i16",
        Int32 => "mlxr::i32",
        Int64 => "mlxr::i64",
        Float16 => "mlxr::f16",
        Bfloat16 => "mlxr::bf16",
        Float32 => "float",
        Float64 => "double",
        Complex64 => "mlxr::c64",
    }
}
