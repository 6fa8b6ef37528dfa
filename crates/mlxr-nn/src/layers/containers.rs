//! `Sequential`: layers applied in order (parameters under `layers.<i>`).

use super::Layer;
use crate::Module;
use crate::Param;
use mlxr::{Array, Result};

/// Layers applied one after the other.
#[derive(Clone)]
pub struct Sequential {
    /// The layers, in order.
    pub layers: Vec<Box<dyn Layer>>,
}

impl Sequential {
    /// A chain of `layers`.
    pub fn new(layers: Vec<Box<dyn Layer>>) -> Sequential {
        Sequential { layers }
    }
    /// Apply every layer in order.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        Ok(h)
    }
}

impl Module for Sequential {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit(
                &crate::module::join(&crate::module::join(prefix, "layers"), &i.to_string()),
                f,
            );
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.visit_mut(
                &crate::module::join(&crate::module::join(prefix, "layers"), &i.to_string()),
                f,
            );
        }
    }
    fn set_training(&mut self, training: bool) {
        for l in &mut self.layers {
            l.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.layers.iter().all(|l| l.is_training())
    }
}

impl Layer for Sequential {
    fn forward(&self, x: &Array) -> Result<Array> {
        Sequential::forward(self, x)
    }
    fn box_clone(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
