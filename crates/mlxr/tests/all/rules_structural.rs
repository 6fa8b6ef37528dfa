//! Transformation-rule checks (vjp/jvp against finite differences, vmap against loop-and-stack)
//! for the structural primitive families. Called by `transforms_walk`.

use crate::gradcheck::{check, check_vmap, r64};
use mlxr::ops;

/// Finite-difference checks of every primitive of these families.
pub fn run_grad() {
    let _ = (check, check_vmap, r64, "TODO"); // check("exp", &|x| Ok(vec![ops::exp(&x[0])?]), &[r64(&[3], -1.0, 1.0, 1)]);
}

/// vmap checks of every primitive of these families.
pub fn run_vmap() {
    // check_vmap("exp", &|x| Ok(vec![ops::exp(&x[0])?]), &[r64(&[2, 3], -1.0, 1.0, 1)], &[Some(1)]);
}
