//! The walk over every primitive: runs each family's rule checks and fails if any primitive
//! named in `mlxr::primitives::all_names()` lacks a finite-difference-checked vjp and jvp,
//! or a loop-and-stack-checked vmap.

use crate::gradcheck::{GRAD_CHECKED, VMAP_CHECKED};

#[test]
fn every_primitive_has_checked_rules() {
    crate::rules_elementwise::run_grad();
    crate::rules_structural::run_grad();
    crate::fft::run_grad();
    crate::linalg::run_grad();
    crate::quantized::run_grad();
    crate::fused::run_grad();
    crate::rules_elementwise::run_vmap();
    crate::fft::run_vmap();
    crate::linalg::run_vmap();
    crate::quantized::run_vmap();
    crate::fused::run_vmap();
    crate::extra_api::run_vmap();
    crate::rules_structural::run_vmap();
    let all = mlxr::primitives::all_names();
    let grad = GRAD_CHECKED.lock().unwrap().clone();
    let vmap = VMAP_CHECKED.lock().unwrap().clone();
    // Stand-ins of the transformations themselves are not user primitives.
    let internal = ["Identity", "VmapPlaceholder"];
    let unknown: Vec<&String> = grad
        .iter()
        .chain(&vmap)
        .filter(|n| !all.contains(&n.as_str()) && !internal.contains(&n.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "primitives missing from all_names(): {unknown:?}"
    );
    // MLX raises for the vjp/jvp of these (bit reinterpretation, the SVD-based covariance
    // square root of multivariate_normal, scatter with multiplication); mlxr returns the
    // same clear error, checked in rules_structural.
    // LUF and Eig have no derivative in MLX either, nor the fp8 conversions.
    let mlx_raises = [
        "Scatter Prod",
        "SymSqrt",
        "View",
        "LUF",
        "Eig",
        "ToFP8",
        "FromFP8",
    ];
    let no_grad: Vec<&&str> = all
        .iter()
        .filter(|n| !grad.contains(**n) && !mlx_raises.contains(*n))
        .collect();
    let no_vmap: Vec<&&str> = all.iter().filter(|n| !vmap.contains(**n)).collect();
    assert!(
        no_grad.is_empty() && no_vmap.is_empty(),
        "primitives without checked rules: vjp/jvp {no_grad:?}; vmap {no_vmap:?}"
    );
}
