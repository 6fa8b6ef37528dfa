//! Sorting primitives: `Sort`, `ArgSort`, `Partition`, `ArgPartition` (along one axis)
//! and `SearchSorted`. Kernels live in `backend/cpu/sort.rs` and `backend/cuda/sort.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[
    "Sort",
    "ArgSort",
    "Partition",
    "ArgPartition",
    "SearchSorted",
];

use super::shape::{node, vmap_loop};
use crate::array::Array;
use crate::backend::cpu::sort as k;
use crate::dtype::Dtype;
use crate::error::Result;
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;

macro_rules! equivalent_by_eq {
    () => {
        fn is_equivalent(&self, other: &dyn Primitive) -> bool {
            other.as_any().downcast_ref::<Self>() == Some(self)
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    };
}

/// vjp and jvp of a primitive with an integer output (no gradient flows through it): zero
/// cotangents for its input, a zero uint32 tangent of the input's shape.
macro_rules! int_output_rules {
    () => {
        fn vjp(
            &self,
            primals: &[Array],
            _: &[Array],
            argnums: &[usize],
            _: &[Array],
        ) -> Result<Vec<Array>> {
            argnums
                .iter()
                .map(|&i| ops::zeros_like(&primals[i]))
                .collect()
        }
        fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
            Ok(vec![ops::zeros(primals[0].shape(), Some(Dtype::Uint32))?])
        }
    };
}

/// `axis` of an item, as an axis of the batched array whose batch sits at `batch`.
fn shifted_axis(axis: usize, batch: Option<usize>) -> usize {
    match batch {
        Some(b) if b <= axis => axis + 1,
        _ => axis,
    }
}

/// Stable sort along `axis` (NaNs last).
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// The sorted axis.
    pub axis: usize,
}

impl Primitive for Sort {
    fn name(&self) -> String {
        "Sort".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::sort(&inputs[0], self.axis, false)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::sort::sort_gpu(self.axis, false, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        // The cotangent goes back through the (stable) sorting permutation.
        let x = &primals[0];
        let ax = Some(self.axis as isize);
        let idx = ops::argsort(x, ax)?;
        Ok(vec![ops::scatter_add_axis(
            &ops::zeros_like(x)?,
            &idx,
            &cotangents[0],
            ax,
        )?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let ax = Some(self.axis as isize);
        let idx = ops::argsort(&primals[0], ax)?;
        Ok(vec![ops::take_along_axis(&tangents[0], &idx, ax)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = Sort {
            axis: shifted_axis(self.axis, axes[0]),
        };
        Ok((
            vec![node(x.shape().to_vec(), x.dtype(), p, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    equivalent_by_eq!();
}

/// Indices (uint32) of a stable sort along `axis`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgSort {
    /// The sorted axis.
    pub axis: usize,
}

impl Primitive for ArgSort {
    fn name(&self) -> String {
        "ArgSort".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::sort(&inputs[0], self.axis, true)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::sort::sort_gpu(self.axis, true, inputs, outputs)
    }
    int_output_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = ArgSort {
            axis: shifted_axis(self.axis, axes[0]),
        };
        Ok((
            vec![node(x.shape().to_vec(), Dtype::Uint32, p, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    equivalent_by_eq!();
}

/// Partition along `axis` around position `kth`.
#[derive(Debug, Clone, PartialEq)]
pub struct Partition {
    /// The position that ends up holding its sorted value.
    pub kth: usize,
    /// The partitioned axis.
    pub axis: usize,
}

impl Primitive for Partition {
    fn name(&self) -> String {
        "Partition".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::partition(&inputs[0], self.axis, self.kth, false)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::sort::sort_gpu(self.axis, false, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        _: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        let x = &primals[0];
        let ax = Some(self.axis as isize);
        let idx = ops::argpartition(x, self.kth as isize, ax)?;
        Ok(vec![ops::scatter_add_axis(
            &ops::zeros_like(x)?,
            &idx,
            &cotangents[0],
            ax,
        )?])
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        let ax = Some(self.axis as isize);
        let idx = ops::argpartition(&primals[0], self.kth as isize, ax)?;
        Ok(vec![ops::take_along_axis(&tangents[0], &idx, ax)?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = Partition {
            kth: self.kth,
            axis: shifted_axis(self.axis, axes[0]),
        };
        Ok((
            vec![node(x.shape().to_vec(), x.dtype(), p, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    equivalent_by_eq!();
}

/// Indices (uint32) of a partition along `axis` around position `kth`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgPartition {
    /// The position that ends up holding its sorted value.
    pub kth: usize,
    /// The partitioned axis.
    pub axis: usize,
}

impl Primitive for ArgPartition {
    fn name(&self) -> String {
        "ArgPartition".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::partition(&inputs[0], self.axis, self.kth, true)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::sort::sort_gpu(self.axis, true, inputs, outputs)
    }
    int_output_rules!();
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let x = &inputs[0];
        let p = ArgPartition {
            kth: self.kth,
            axis: shifted_axis(self.axis, axes[0]),
        };
        Ok((
            vec![node(x.shape().to_vec(), Dtype::Uint32, p, vec![x.clone()])],
            vec![axes[0]],
        ))
    }
    equivalent_by_eq!();
}

/// Insertion points (uint32) of input 1's values into the sorted 1-D input 0.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSorted {
    /// `side="right"` (else left).
    pub right: bool,
}

impl Primitive for SearchSorted {
    fn name(&self) -> String {
        "SearchSorted".into()
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        outputs[0].set_data(k::searchsorted(&inputs[0], &inputs[1], self.right)?);
        Ok(())
    }
    #[cfg(feature = "cuda")]
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        crate::backend::cuda::sort::searchsorted_gpu(self.right, inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        _: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| ops::zeros_like(&primals[i]))
            .collect()
    }
    fn jvp(&self, primals: &[Array], _: &[Array], _: &[usize]) -> Result<Vec<Array>> {
        Ok(vec![ops::zeros(primals[1].shape(), Some(Dtype::Uint32))?])
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        if axes[0].is_some() {
            return vmap_loop(inputs, axes, "SearchSorted", |xs| {
                Ok(vec![node(
                    xs[1].shape().to_vec(),
                    Dtype::Uint32,
                    self.clone(),
                    xs.to_vec(),
                )])
            });
        }
        let v = &inputs[1];
        Ok((
            vec![node(
                v.shape().to_vec(),
                Dtype::Uint32,
                self.clone(),
                inputs.to_vec(),
            )],
            vec![axes[1]],
        ))
    }
    equivalent_by_eq!();
}
