//! Optimizers (MLX's `mlx.optimizers`): the [`Optimizer`] trait, the state every optimizer
//! shares (step count, learning rate or schedule, per-parameter state saved and loaded as a
//! tree), learning-rate schedules and `clip_grad_norm`. Each optimizer's update rule lives
//! in its own file and matches MLX's (same defaults, bias correction, epsilon placement).

/// The `base`/`base_mut` accessors of a [`Rule`] whose shared state is the field `base`.
macro_rules! rule_base {
    () => {
        fn base(&self) -> &super::OptimizerState {
            &self.base
        }
        fn base_mut(&mut self) -> &mut super::OptimizerState {
            &mut self.base
        }
    };
}

pub mod adafactor;
pub mod adam;
pub mod adaptive;
pub mod muon;
pub mod schedules;
pub mod sgd;

pub use adafactor::Adafactor;
pub use adam::{Adam, AdamW, Adamax, Lion};
pub use adaptive::{AdaDelta, Adagrad, RMSprop};
pub use muon::Muon;
pub use schedules::{
    cosine_decay, exponential_decay, join_schedules, linear_schedule, step_decay, Schedule,
};
pub use sgd::Sgd;

use crate::Module;
use crate::ModuleExt;
use mlxr::tree::{tree_flatten, tree_map, tree_unflatten, Tree};
use mlxr::{ops, Array, Dtype, Error, Result};
use std::collections::{BTreeMap, HashMap};

/// Per-parameter optimizer state: named arrays (`"m"`, `"v"`, ...).
pub type ParamState = BTreeMap<String, Array>;

/// A learning rate: a constant or a schedule of the step.
#[derive(Clone)]
pub enum LearningRate {
    /// A fixed value.
    Const(f32),
    /// A function of the step count (before the step is taken), as MLX's schedules.
    Schedule(Schedule),
}

impl From<f32> for LearningRate {
    fn from(v: f32) -> Self {
        LearningRate::Const(v)
    }
}
impl From<Schedule> for LearningRate {
    fn from(s: Schedule) -> Self {
        LearningRate::Schedule(s)
    }
}

/// What every optimizer holds: the step count, the current learning rate (and its
/// schedule), and the state of each parameter by path.
#[derive(Clone)]
pub struct OptimizerState {
    /// Number of updates taken (uint64 scalar).
    pub step: Array,
    /// The learning rate used by the last update (float32 scalar).
    pub learning_rate: Array,
    schedule: Option<Schedule>,
    /// Per-parameter state by dotted path.
    pub params: HashMap<String, ParamState>,
}

impl OptimizerState {
    /// New state with a learning rate or schedule.
    pub fn new(lr: impl Into<LearningRate>) -> Result<OptimizerState> {
        let (learning_rate, schedule) = match lr.into() {
            LearningRate::Const(v) => (Array::scalar(v), None),
            LearningRate::Schedule(s) => (s(&Array::scalar(0u64))?, Some(s)),
        };
        Ok(OptimizerState {
            step: Array::scalar(0u64),
            learning_rate,
            schedule,
            params: HashMap::new(),
        })
    }
}

/// An update rule: how one parameter changes given its gradient and state (MLX's
/// `init_single` / `apply_single`). [`Optimizer`] is implemented for every rule.
pub trait Rule {
    /// The shared state.
    fn base(&self) -> &OptimizerState;
    /// The shared state, mutable.
    fn base_mut(&mut self) -> &mut OptimizerState;
    /// The initial state of a parameter.
    fn init_single(&self, parameter: &Array) -> Result<ParamState>;
    /// The new value of `parameter`; updates `state`. `lr` is the learning rate in the
    /// gradient's dtype and `step` the step count after incrementing.
    fn apply_single(
        &self,
        gradient: &Array,
        parameter: &Array,
        state: &mut ParamState,
        lr: &Array,
        step: &Array,
    ) -> Result<Array>;
}

/// An optimizer: applies gradients to parameters (trees of the same paths).
pub trait Optimizer {
    /// The updated parameters for the gradients' paths (MLX's `apply_gradients`): the
    /// schedule is evaluated at the current step, the step incremented, then each
    /// parameter updated.
    fn apply_gradients(&mut self, gradients: &Tree, parameters: &Tree) -> Result<Tree>;
    /// Apply `gradients` to `model`'s parameters in place (MLX's `update`).
    fn update(&mut self, model: &mut dyn Module, gradients: &Tree) -> Result<()> {
        let params = model.trainable_parameters();
        let new = self.apply_gradients(gradients, &params)?;
        model.update(&new)
    }
    /// The state as a tree: `step`, `learning_rate`, and for each parameter path its named
    /// state arrays (`<path>.<name>`), ready for `mlxr::io` saving.
    fn state(&self) -> Result<Tree>;
    /// Restore a state produced by [`Optimizer::state`].
    fn set_state(&mut self, state: &Tree) -> Result<()>;
    /// The learning rate of the last update.
    fn learning_rate(&self) -> Array;
    /// Every array of the state (to `eval` together with the parameters).
    fn state_arrays(&self) -> Vec<Array>;
}

impl<R: Rule> Optimizer for R {
    fn apply_gradients(&mut self, gradients: &Tree, parameters: &Tree) -> Result<Tree> {
        let grads = tree_flatten(gradients);
        let params: HashMap<String, Array> = tree_flatten(parameters).into_iter().collect();
        // Schedules are evaluated at the step count before this update, as MLX.
        let step_before = self.base().step.clone();
        if let Some(s) = self.base().schedule.clone() {
            let lr = s(&step_before)?;
            self.base_mut().learning_rate = lr;
        }
        let step = ops::add(&step_before, 1i64)?;
        self.base_mut().step = step.clone();
        let mut out = Vec::with_capacity(grads.len());
        let mut lrs: HashMap<mlxr::Dtype, Array> = HashMap::new();
        for (path, g) in grads {
            let p = params.get(&path).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "optimizer: the gradient '{path}' has no matching parameter"
                ))
            })?;
            if p.shape() != g.shape() {
                return Err(Error::Shape(format!(
                    "optimizer: the gradient of '{path}' has shape {:?}, the parameter {:?}",
                    g.shape(),
                    p.shape()
                )));
            }
            let mut st = match self.base_mut().params.remove(&path) {
                Some(s) => s,
                None => self.init_single(p)?,
            };
            // One cast of the learning rate per dtype and update (not one per parameter).
            let lr = match lrs.get(&g.dtype()) {
                Some(l) => l.clone(),
                None => {
                    let l = ops::astype(&self.base().learning_rate, g.dtype())?;
                    lrs.insert(g.dtype(), l.clone());
                    l
                }
            };
            let new = self.apply_single(&g, p, &mut st, &lr, &step)?;
            self.base_mut().params.insert(path.clone(), st);
            out.push((path, new));
        }
        // Keep the gradients' tree structure.
        let mut it = out.into_iter().map(|(_, a)| a);
        tree_map(gradients, &mut |_| {
            it.next()
                .ok_or_else(|| Error::InvalidArgument("optimizer: tree changed".into()))
        })
    }
    fn state(&self) -> Result<Tree> {
        let b = self.base();
        let mut items = vec![
            ("step".to_string(), b.step.clone()),
            ("learning_rate".to_string(), b.learning_rate.clone()),
        ];
        let mut paths: Vec<&String> = b.params.keys().collect();
        paths.sort();
        for p in paths {
            for (k, v) in &b.params[p] {
                items.push((format!("{p}.{k}"), v.clone()));
            }
        }
        tree_unflatten(&items)
    }
    fn set_state(&mut self, state: &Tree) -> Result<()> {
        let mut params: HashMap<String, ParamState> = HashMap::new();
        let mut step = None;
        let mut lr = None;
        for (path, a) in tree_flatten(state) {
            match path.as_str() {
                "step" => step = Some(ops::astype(&a, Dtype::Uint64)?),
                "learning_rate" => lr = Some(a),
                _ => {
                    let (p, k) = path.rsplit_once('.').ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "optimizer state: unexpected entry '{path}'"
                        ))
                    })?;
                    params
                        .entry(p.to_string())
                        .or_default()
                        .insert(k.to_string(), a);
                }
            }
        }
        let b = self.base_mut();
        b.step =
            step.ok_or_else(|| Error::InvalidArgument("optimizer state: missing 'step'".into()))?;
        b.learning_rate = lr.ok_or_else(|| {
            Error::InvalidArgument("optimizer state: missing 'learning_rate'".into())
        })?;
        b.params = params;
        Ok(())
    }
    fn learning_rate(&self) -> Array {
        self.base().learning_rate.clone()
    }
    fn state_arrays(&self) -> Vec<Array> {
        let b = self.base();
        let mut v = vec![b.step.clone(), b.learning_rate.clone()];
        for s in b.params.values() {
            v.extend(s.values().cloned());
        }
        v
    }
}

/// Scale the gradients so their global L2 norm is at most `max_norm` (MLX's
/// `clip_grad_norm`): returns the clipped gradients and the norm before clipping.
pub fn clip_grad_norm(grads: &Tree, max_norm: f32) -> Result<(Tree, Array)> {
    if max_norm < 0.0 {
        return Err(Error::InvalidArgument(format!(
            "max_norm should be >=0, {max_norm} was provided instead"
        )));
    }
    let mut sq = Array::scalar(0.0f32);
    for (_, g) in tree_flatten(grads) {
        let g = if g.dtype() == Dtype::Float16 {
            ops::astype(&g, Dtype::Float32)?
        } else {
            g
        };
        sq = ops::add(&sq, &ops::sum(&ops::square(&g)?, None, false)?)?;
    }
    let total = ops::sqrt(&sq)?;
    let normalizer = ops::minimum(&ops::divide(max_norm, &ops::add(&total, 1e-6)?)?, 1.0)?;
    let clipped = tree_map(grads, &mut |g| {
        let s = ops::multiply(g, &normalizer)?;
        if g.dtype().is_floating() {
            ops::astype(&s, g.dtype())
        } else {
            Ok(s)
        }
    })?;
    Ok((clipped, total))
}
