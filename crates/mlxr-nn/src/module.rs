//! Modules: the `Module` trait (a visitor over named, nested parameters), `Param` (an array
//! with a trainable flag), the `ModuleExt` methods every module gets (parameters as a tree,
//! `update`, `freeze`/`unfreeze`, train/eval mode, `save_weights`/`load_weights` with MLX's
//! dotted names), `nn::value_and_grad` over the trainable parameters, and the `module!`
//! macro that implements `Module` for a struct from its field lists.

use mlxr::tree::{tree_flatten, tree_unflatten, Tree};
use mlxr::{Array, Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// A parameter: an array and whether optimizers train it (`freeze` clears the flag).
#[derive(Debug, Clone)]
pub struct Param {
    /// The value.
    pub value: Array,
    /// Whether the parameter is trainable.
    pub trainable: bool,
}

impl Param {
    /// A trainable parameter.
    pub fn new(value: Array) -> Param {
        Param {
            value,
            trainable: true,
        }
    }
}

impl std::ops::Deref for Param {
    type Target = Array;
    fn deref(&self) -> &Array {
        &self.value
    }
}

/// Join a prefix and a name with a dot (MLX's parameter paths).
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A neural-network module: it exposes its parameters (and its children's, under their
/// field names) to visitors. Implement it with the [`module!`](crate::module!) macro.
pub trait Module {
    /// Call `f(path, param)` for every parameter, depth first in declaration order; paths
    /// are `prefix.field[.child...]`.
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param));
    /// Like [`Module::visit`] with mutable parameters.
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param));
    /// Switch train/eval mode (layers such as Dropout and BatchNorm behave differently);
    /// containers forward it to their children.
    fn set_training(&mut self, _training: bool) {}
    /// Whether the module is in training mode.
    fn is_training(&self) -> bool {
        true
    }
}

/// Methods every [`Module`] has (MLX's `Module` methods).
pub trait ModuleExt: Module {
    /// Every parameter as a tree (dicts by field name, lists for sequences), MLX's
    /// `parameters()`.
    fn parameters(&self) -> Tree {
        let mut items = Vec::new();
        self.visit("", &mut |p, x| items.push((p.to_string(), x.value.clone())));
        tree_unflatten(&items).unwrap_or(Tree::dict())
    }
    /// The trainable parameters as a tree (`trainable_parameters()`).
    fn trainable_parameters(&self) -> Tree {
        let mut items = Vec::new();
        self.visit("", &mut |p, x| {
            if x.trainable {
                items.push((p.to_string(), x.value.clone()))
            }
        });
        tree_unflatten(&items).unwrap_or(Tree::dict())
    }
    /// `(path, array)` for every parameter.
    fn named_parameters(&self) -> Vec<(String, Array)> {
        let mut items = Vec::new();
        self.visit("", &mut |p, x| items.push((p.to_string(), x.value.clone())));
        items
    }
    /// The number of scalars in all parameters.
    fn num_parameters(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, x| n += x.value.size());
        n
    }
    /// Replace the parameters named in `params` (a tree with a subset of the module's
    /// paths, e.g. from an optimizer). Unknown paths and shape changes are errors.
    fn update(&mut self, params: &Tree) -> Result<()> {
        let mut given: HashMap<String, Array> = tree_flatten(params).into_iter().collect();
        let mut err = None;
        self.visit_mut("", &mut |p, x| {
            if let Some(v) = given.remove(p) {
                if v.shape() != x.value.shape() && err.is_none() {
                    err = Some(Error::Shape(format!(
                        "update: parameter '{p}' has shape {:?}, the new value has shape {:?}",
                        x.value.shape(),
                        v.shape()
                    )));
                }
                x.value = v;
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        if let Some(k) = given.keys().next() {
            return Err(Error::InvalidArgument(format!(
                "update: the module has no parameter '{k}'"
            )));
        }
        Ok(())
    }
    /// Freeze every parameter (optimizers and `value_and_grad` skip it).
    fn freeze(&mut self) {
        self.visit_mut("", &mut |_, x| x.trainable = false);
    }
    /// Unfreeze every parameter.
    fn unfreeze(&mut self) {
        self.visit_mut("", &mut |_, x| x.trainable = true);
    }
    /// Freeze the parameters whose path equals one of `paths` or lies under it (a child
    /// module's name freezes the whole child).
    fn freeze_paths(&mut self, paths: &[&str]) {
        self.visit_mut("", &mut |p, x| {
            if paths
                .iter()
                .any(|q| p == *q || p.starts_with(&format!("{q}.")))
            {
                x.trainable = false;
            }
        });
    }
    /// Training mode (`model.train()`).
    fn train(&mut self) {
        self.set_training(true);
    }
    /// Evaluation mode (`model.eval()`).
    fn eval_mode(&mut self) {
        self.set_training(false);
    }
    /// Save every parameter to a `.safetensors` (or `.npz`) file under its dotted path, as
    /// MLX's `save_weights` (so MLX can load it, and the reverse).
    fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        let items = self.named_parameters();
        let path = path.as_ref();
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => mlxr::io::save_safetensors(path, &items, None).map(|_| ()),
            Some("npz") => mlxr::io::savez(path, &items).map(|_| ()),
            _ => Err(Error::InvalidArgument(format!(
                "save_weights: unsupported file extension of {} (use .safetensors or .npz)",
                path.display()
            ))),
        }
    }
    /// Load parameters saved by [`ModuleExt::save_weights`] or MLX's `save_weights`. With
    /// `strict`, the file must hold exactly the module's parameters with their shapes.
    fn load_weights(&mut self, path: impl AsRef<Path>, strict: bool) -> Result<()> {
        let path = path.as_ref();
        let items: Vec<(String, Array)> = match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => mlxr::io::load_safetensors(path)?.0.into_iter().collect(),
            Some("npz") => mlxr::io::load_npz(path)?.into_iter().collect(),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "load_weights: unsupported file extension of {} (use .safetensors or .npz)",
                    path.display()
                )))
            }
        };
        let mut given: HashMap<String, Array> = items.into_iter().collect();
        let mut err: Option<Error> = None;
        let mut missing = Vec::new();
        self.visit_mut("", &mut |p, x| match given.remove(p) {
            Some(v) => {
                if v.shape() != x.value.shape() && err.is_none() {
                    err = Some(Error::Shape(format!(
                        "load_weights: '{p}' has shape {:?} in the file but {:?} in the module",
                        v.shape(),
                        x.value.shape()
                    )));
                }
                x.value = v;
            }
            None => missing.push(p.to_string()),
        });
        if let Some(e) = err {
            return Err(e);
        }
        if strict {
            if let Some(k) = given.keys().next() {
                return Err(Error::InvalidArgument(format!(
                    "load_weights: the file has '{k}', which is not a parameter of the module"
                )));
            }
            if let Some(k) = missing.first() {
                return Err(Error::InvalidArgument(format!(
                    "load_weights: the file lacks the parameter '{k}'"
                )));
            }
        }
        Ok(())
    }
}

impl<M: Module + ?Sized> ModuleExt for M {}

/// MLX's `nn.value_and_grad(model, fn)`: a function of the model and further arguments
/// returning `loss_fn`'s outputs and the gradient of its first output (a scalar) with
/// respect to the model's trainable parameters, as a tree.
pub fn value_and_grad<M, F>(loss_fn: F) -> impl Fn(&M, &[Array]) -> Result<(Vec<Array>, Tree)>
where
    M: Module + Clone,
    F: Fn(&M, &[Array]) -> Result<Vec<Array>>,
{
    move |model: &M, args: &[Array]| {
        let trainable = model.trainable_parameters();
        let vg = mlxr::value_and_grad_tree(|params: &Tree, a: &[Array]| {
            let mut m = model.clone();
            m.update(params)?;
            loss_fn(&m, a)
        });
        vg(&trainable, args)
    }
}

impl<T: Module> Module for Vec<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&join(prefix, &i.to_string()), f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_mut(&join(prefix, &i.to_string()), f);
        }
    }
    fn set_training(&mut self, training: bool) {
        for m in self {
            m.set_training(training);
        }
    }
    fn is_training(&self) -> bool {
        self.first().is_none_or(|m| m.is_training())
    }
}

impl<T: Module> Module for Option<T> {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        if let Some(m) = self {
            m.visit(prefix, f);
        }
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        if let Some(m) = self {
            m.visit_mut(prefix, f);
        }
    }
    fn set_training(&mut self, training: bool) {
        if let Some(m) = self {
            m.set_training(training);
        }
    }
}

impl Module for Param {
    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param)) {
        f(prefix, self);
    }
    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param)) {
        f(prefix, self);
    }
}

/// Implement [`Module`] for a struct from its fields that hold parameters or modules
/// (`Param`, `Option<Param>`, any `Module`, `Vec<Module>`), in declaration order; an
/// optional `training` field (a `bool`) holds the mode.
///
/// ```ignore
/// struct Mlp { l1: Linear, l2: Linear }
/// mlxr_nn::module!(Mlp { l1, l2 });
/// struct Dropout { p: f32, training: bool }
/// mlxr_nn::module!(Dropout {} training);
/// ```
#[macro_export]
macro_rules! module {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        $crate::module!(@impl $ty { $($field),* }
            #[allow(unused_variables)]
            fn set_training(&mut self, training: bool) {
                $( $crate::Module::set_training(&mut self.$field, training); )*
            }
            fn is_training(&self) -> bool {
                true $( && $crate::Module::is_training(&self.$field) )*
            }
        );
    };
    ($ty:ty { $($field:ident),* $(,)? } training) => {
        $crate::module!(@impl $ty { $($field),* }
            fn set_training(&mut self, training: bool) {
                self.training = training;
                $( $crate::Module::set_training(&mut self.$field, training); )*
            }
            fn is_training(&self) -> bool {
                self.training
            }
        );
    };
    (@impl $ty:ty { $($field:ident),* } $($extra:tt)*) => {
        impl $crate::Module for $ty {
            #[allow(unused_variables)]
            fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &$crate::Param)) {
                $( $crate::Module::visit(&self.$field, &$crate::module::join(prefix, stringify!($field)), f); )*
            }
            #[allow(unused_variables)]
            fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut $crate::Param)) {
                $( $crate::Module::visit_mut(&mut self.$field, &$crate::module::join(prefix, stringify!($field)), f); )*
            }
            $($extra)*
        }
    };
}
