//! Sorting primitives: `Sort`, `ArgSort`, `Partition`, `ArgPartition` (along one axis)
//! and `SearchSorted`. Kernels live in `backend/cpu/sort.rs`.

/// The names this file's primitives report (see [`super::all_names`]).
pub const NAMES: &[&str] = &[];

use crate::array::Array;
use crate::backend::cpu::sort as k;
use crate::error::Result;
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
    equivalent_by_eq!();
}
