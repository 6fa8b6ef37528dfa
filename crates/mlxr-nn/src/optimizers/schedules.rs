//! Learning-rate schedules (MLX's `mlx.optimizers.schedulers`): functions of the step
//! count returning the learning rate as a float32 scalar array.

use mlxr::{ops, Array, Dtype, Error, Result};
use std::sync::Arc;

/// A schedule: the learning rate at a step (a uint64 scalar array).
pub type Schedule = Arc<dyn Fn(&Array) -> Result<Array> + Send + Sync>;

fn f32_step(step: &Array) -> Result<Array> {
    ops::astype(step, Dtype::Float32)
}

/// `init * decay_rate^step`.
pub fn exponential_decay(init: f32, decay_rate: f32) -> Schedule {
    Arc::new(move |s| ops::multiply(&ops::power(decay_rate, &f32_step(s)?)?, init))
}

/// `init * decay_rate^(step // step_size)`.
pub fn step_decay(init: f32, decay_rate: f32, step_size: u64) -> Result<Schedule> {
    if step_size < 1 {
        return Err(Error::InvalidArgument(format!(
            "step_size must be greater than 0, but got {step_size}."
        )));
    }
    Ok(Arc::new(move |s| {
        let k = f32_step(&ops::floor_divide(s, step_size as i64)?)?;
        ops::multiply(&ops::power(decay_rate, &k)?, init)
    }))
}

/// `end + (init - end) * (1 + cos(pi * min(step, decay_steps) / decay_steps)) / 2`.
pub fn cosine_decay(init: f32, decay_steps: u64, end: f32) -> Result<Schedule> {
    if decay_steps < 1 {
        return Err(Error::InvalidArgument(format!(
            "decay_steps must be greater than 0, but got {decay_steps}."
        )));
    }
    Ok(Arc::new(move |s| {
        let s = f32_step(&ops::minimum(s, decay_steps as i64)?)?;
        let c = ops::cos(&ops::multiply(
            &s,
            std::f32::consts::PI / decay_steps as f32,
        )?)?;
        let decay = ops::multiply(&ops::add(&c, 1.0)?, 0.5)?;
        ops::add(&ops::multiply(&decay, init - end)?, end)
    }))
}

/// `init + min(step, steps) * (end - init) / steps` (a linear warm-up).
pub fn linear_schedule(init: f32, end: f32, steps: u64) -> Result<Schedule> {
    if steps < 1 {
        return Err(Error::InvalidArgument(format!(
            "steps must be greater than 0, but got {steps}."
        )));
    }
    Ok(Arc::new(move |s| {
        let s = f32_step(&ops::minimum(s, steps as i64)?)?;
        ops::add(&ops::multiply(&s, (end - init) / steps as f32)?, init)
    }))
}

/// Schedule `i` runs from `boundaries[i-1]` (with the step counted from that boundary).
pub fn join_schedules(schedules: Vec<Schedule>, boundaries: Vec<u64>) -> Result<Schedule> {
    if schedules.is_empty() {
        return Err(Error::InvalidArgument(
            "Must provide at least 1 schedule to join.".into(),
        ));
    }
    if schedules.len() != boundaries.len() + 1 {
        return Err(Error::InvalidArgument(format!(
            "Received {} boundaries but expected {}.",
            boundaries.len(),
            schedules.len() - 1
        )));
    }
    Ok(Arc::new(move |s| {
        let mut out = schedules[0](s)?;
        for (b, sch) in boundaries.iter().zip(&schedules[1..]) {
            // The shifted step saturates at 0 (the value is unused before the boundary).
            let shifted = ops::subtract(&ops::maximum(s, *b as i64)?, *b as i64)?;
            out = ops::r#where(&ops::less(s, *b as i64)?, &out, &sch(&shifted)?)?;
        }
        Ok(out)
    }))
}
