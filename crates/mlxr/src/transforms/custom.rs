//! Custom transformation rules: `custom_function` (a function with a user vjp, and optionally
//! jvp and vmap) and `checkpoint` (recompute the forward pass in the backward pass).

use super::ArrayFn;
use crate::array::Array;
use crate::error::{Error, Result};
use crate::ops;
use crate::primitive::Primitive;
use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// A user vjp: `(primals, cotangents, outputs) -> cotangents of every primal`.
pub type VjpFn = Arc<dyn Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync>;
/// A user jvp: `(primals, tangents of every primal) -> tangents of every output`.
pub type JvpFn = Arc<dyn Fn(&[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync>;
/// A user vmap: `(inputs, axes) -> (outputs, output axes)`.
pub type VmapFn = Arc<
    dyn Fn(&[Array], &[Option<usize>]) -> Result<(Vec<Array>, Vec<Option<usize>>)> + Send + Sync,
>;

/// A function with custom transformation rules (MLX's `mx.custom_function`). Rules not
/// given fall back to transforming the function itself.
#[derive(Clone)]
pub struct CustomFunction {
    fun: ArrayFn,
    vjp: Option<VjpFn>,
    jvp: Option<JvpFn>,
    vmap: Option<VmapFn>,
}

/// Make a [`CustomFunction`] from `f`; add rules with `with_vjp` / `with_jvp` / `with_vmap`.
pub fn custom_function(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
) -> CustomFunction {
    CustomFunction {
        fun: Arc::new(f),
        vjp: None,
        jvp: None,
        vmap: None,
    }
}

impl CustomFunction {
    /// Set the vjp rule.
    pub fn with_vjp(
        mut self,
        f: impl Fn(&[Array], &[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> Self {
        self.vjp = Some(Arc::new(f));
        self
    }
    /// Set the jvp rule.
    pub fn with_jvp(
        mut self,
        f: impl Fn(&[Array], &[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
    ) -> Self {
        self.jvp = Some(Arc::new(f));
        self
    }
    /// Set the vmap rule.
    pub fn with_vmap(
        mut self,
        f: impl Fn(&[Array], &[Option<usize>]) -> Result<(Vec<Array>, Vec<Option<usize>>)>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.vmap = Some(Arc::new(f));
        self
    }

    /// Call the function: its outputs, wrapped so that transformations use the custom rules.
    pub fn call(&self, inputs: &[Array]) -> Result<Vec<Array>> {
        let outs = (self.fun)(inputs)?;
        let specs = outs
            .iter()
            .map(|o| (o.shape().to_vec(), o.dtype()))
            .collect();
        let mut all = inputs.to_vec();
        all.extend(outs.iter().cloned());
        let stream = outs
            .first()
            .map(|o| o.stream())
            .unwrap_or_else(crate::ops::stream);
        Ok(Array::new_multi(
            specs,
            Arc::new(CustomTransforms {
                f: self.clone(),
                num_inputs: inputs.len(),
            }),
            all,
            stream,
        ))
    }
}

/// The primitive wrapping a custom function's outputs: its inputs are the function's inputs
/// followed by its outputs (which it passes through), and its rules are the user's.
pub struct CustomTransforms {
    f: CustomFunction,
    num_inputs: usize,
}

impl fmt::Debug for CustomTransforms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CustomTransforms({} inputs)", self.num_inputs)
    }
}

/// Exported as its forward computation only: an [`crate::export::PassThrough`] of the
/// wrapped function's outputs (the user's vjp / jvp / vmap closures cannot be saved).
impl crate::export::serial::ExportState for CustomTransforms {
    fn export_tag(&self) -> &'static str {
        <crate::export::PassThrough as crate::export::serial::ImportState>::TAG
    }
    fn export_state(&self, w: &mut crate::export::serial::Writer) -> Result<()> {
        crate::export::serial::Serial::write(&self.num_inputs, w);
        Ok(())
    }
}

impl Primitive for CustomTransforms {
    fn name(&self) -> String {
        "CustomTransforms".into()
    }
    fn differentiable_input(&self, input: usize) -> bool {
        input < self.num_inputs
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        for (o, i) in outputs.iter().zip(&inputs[self.num_inputs..]) {
            o.set_data(i.data()?);
        }
        Ok(())
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_cpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        outputs: &[Array],
    ) -> Result<Vec<Array>> {
        let n = self.num_inputs;
        let ins = &primals[..n];
        let grads = match &self.f.vjp {
            Some(v) => v(ins, cotangents, outputs)?,
            None => super::vjp(|x| (self.f.fun)(x), ins, cotangents)?.1,
        };
        if grads.len() != n {
            return Err(Error::InvalidArgument(format!(
                "custom_function: the vjp returned {} cotangents for {n} inputs",
                grads.len()
            )));
        }
        argnums
            .iter()
            .map(|&i| {
                if i < n {
                    Ok(grads[i].clone())
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        let n = self.num_inputs;
        let ins = &primals[..n];
        let mut full: Vec<Array> = ins.iter().map(ops::zeros_like).collect::<Result<_>>()?;
        for (&i, t) in argnums.iter().zip(tangents) {
            if i < n {
                full[i] = t.clone();
            }
        }
        match &self.f.jvp {
            Some(j) => j(ins, &full),
            None => Ok(super::jvp(|x| (self.f.fun)(x), ins, &full)?.1),
        }
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n = self.num_inputs;
        match &self.f.vmap {
            Some(v) => v(&inputs[..n], &axes[..n]),
            None => {
                let in_axes: Vec<Option<isize>> =
                    axes[..n].iter().map(|a| a.map(|x| x as isize)).collect();
                let outs = super::vmap(|x| (self.f.fun)(x), &in_axes, &[Some(0)])(&inputs[..n])?;
                let k = outs.len();
                Ok((outs, vec![Some(0); k]))
            }
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// `checkpoint(f)`: the same function, but its backward pass recomputes `f`'s forward pass
/// instead of keeping its intermediate values alive (trading compute for memory).
pub fn checkpoint(
    f: impl Fn(&[Array]) -> Result<Vec<Array>> + Send + Sync + 'static,
) -> impl Fn(&[Array]) -> Result<Vec<Array>> {
    let f: ArrayFn = Arc::new(f);
    let g = f.clone();
    let cf = CustomFunction {
        fun: f,
        vjp: Some(Arc::new(
            move |primals: &[Array], cots: &[Array], _outs: &[Array]| {
                // Make the recomputation wait for the cotangents, so the evaluator cannot run
                // every block's recomputation early and keep all their intermediates alive.
                let primals = depends(primals, cots);
                Ok(super::vjp(|x| g(x), &primals, cots)?.1)
            },
        )),
        jvp: None,
        vmap: None,
    };
    move |inputs: &[Array]| cf.call(inputs)
}

/// `inputs`, passed through unchanged, but evaluated only after `dependencies` (MLX's
/// `depends`): an ordering edge in the graph. Transformations see the identity on `inputs`.
pub fn depends(inputs: &[Array], dependencies: &[Array]) -> Vec<Array> {
    if inputs.is_empty() {
        return vec![];
    }
    let specs = inputs
        .iter()
        .map(|a| (a.shape().to_vec(), a.dtype()))
        .collect();
    let mut all = inputs.to_vec();
    all.extend(dependencies.iter().cloned());
    Array::new_multi(
        specs,
        Arc::new(Depends {
            num_inputs: inputs.len(),
        }),
        all,
        inputs[0].stream(),
    )
}

/// The primitive of [`depends`]: outputs are the first `num_inputs` inputs.
#[derive(Debug)]
pub struct Depends {
    pub(crate) num_inputs: usize,
}

impl Primitive for Depends {
    fn name(&self) -> String {
        "Depends".into()
    }
    fn differentiable_input(&self, input: usize) -> bool {
        input < self.num_inputs
    }
    fn eval_cpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        for (o, i) in outputs.iter().zip(inputs) {
            o.set_data(i.data()?);
        }
        Ok(())
    }
    fn eval_gpu(&self, inputs: &[Array], outputs: &[Array]) -> Result<()> {
        self.eval_cpu(inputs, outputs)
    }
    fn vjp(
        &self,
        primals: &[Array],
        cotangents: &[Array],
        argnums: &[usize],
        _: &[Array],
    ) -> Result<Vec<Array>> {
        argnums
            .iter()
            .map(|&i| {
                if i < self.num_inputs {
                    Ok(cotangents[i].clone())
                } else {
                    ops::zeros_like(&primals[i])
                }
            })
            .collect()
    }
    fn jvp(&self, primals: &[Array], tangents: &[Array], argnums: &[usize]) -> Result<Vec<Array>> {
        (0..self.num_inputs)
            .map(|o| match argnums.iter().position(|&i| i == o) {
                Some(k) => Ok(tangents[k].clone()),
                None => ops::zeros_like(&primals[o]),
            })
            .collect()
    }
    fn vmap(
        &self,
        inputs: &[Array],
        axes: &[Option<usize>],
    ) -> Result<(Vec<Array>, Vec<Option<usize>>)> {
        let n = self.num_inputs;
        Ok((depends(&inputs[..n], &inputs[n..]), axes[..n].to_vec()))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
