//! Pooling layers (MLX's `MaxPool1d/2d/3d`, `AvgPool1d/2d/3d`) over channels-last inputs
//! `(N, spatial..., C)`: the stride defaults to the kernel size, max pooling pads with
//! `-inf` and average pooling with zeros (which count in the mean), as MLX. Each window
//! position is a strided slice of the (padded) input; the slices are stacked and reduced,
//! so pooling runs on every device and is differentiable.

use crate::{layer, module};
use mlxr::{ops, Array, Error, Result};

/// Check the pooling parameters (kernel and stride positive).
fn check(name: &str, kernel: &[usize], stride: &[usize]) -> Result<()> {
    for (what, v) in [("kernel_size", kernel), ("stride", stride)] {
        if v.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "[{name}] '{what}' must be positive but got {v:?}."
            )));
        }
    }
    Ok(())
}

/// Max (`max = true`) or average pooling of `x` `(N, spatial..., C)` with one kernel size,
/// stride and padding per spatial axis.
pub fn pool(
    name: &str,
    x: &Array,
    kernel: &[usize],
    stride: &[usize],
    padding: &[usize],
    max: bool,
) -> Result<Array> {
    let sd = kernel.len();
    if x.ndim() != sd + 2 {
        return Err(Error::Shape(format!(
            "[{name}] Expected an input (N, {}C) with {sd} spatial dimensions, got shape {:?}",
            "S, ".repeat(sd),
            x.shape()
        )));
    }
    let x = if padding.iter().any(|&p| p > 0) {
        let mut widths = vec![(0, 0); sd + 2];
        for (i, &p) in padding.iter().enumerate() {
            widths[i + 1] = (p, p);
        }
        if max {
            ops::pad(x, &widths, ops::PadMode::Constant, f64::NEG_INFINITY)?
        } else {
            ops::pad(x, &widths, ops::PadMode::Constant, 0)?
        }
    } else {
        x.clone()
    };
    let shape = x.shape().to_vec();
    let mut out = Vec::with_capacity(sd);
    for i in 0..sd {
        if shape[i + 1] < kernel[i] {
            return Err(Error::Shape(format!(
                "[{name}] The padded input ({:?} after padding {padding:?}) is smaller than the \
                 kernel {kernel:?} on spatial axis {i}",
                shape
            )));
        }
        out.push((shape[i + 1] - kernel[i]) / stride[i] + 1);
    }
    let kk: usize = kernel.iter().product();
    let nd = sd + 2;
    let mut taps = Vec::with_capacity(kk);
    let mut idx = vec![0usize; sd];
    for _ in 0..kk {
        let mut start = vec![0isize; nd];
        let mut stop: Vec<isize> = shape.iter().map(|&s| s as isize).collect();
        let mut steps = vec![1isize; nd];
        for i in 0..sd {
            start[i + 1] = idx[i] as isize;
            stop[i + 1] = (idx[i] + (out[i] - 1) * stride[i] + 1) as isize;
            steps[i + 1] = stride[i] as isize;
        }
        taps.push(ops::slice(&x, &start, &stop, &steps)?);
        for i in (0..sd).rev() {
            idx[i] += 1;
            if idx[i] < kernel[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    let windows = ops::stack(&taps, -2)?; // (N, out..., KK, C)
    if max {
        ops::max(&windows, Some(&[-2]), false)
    } else {
        ops::mean(&windows, Some(&[-2]), false)
    }
}

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $t:ty, $max:expr, |$v:ident| $to_vec:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            /// The window size per spatial axis.
            pub kernel_size: $t,
            /// The step between windows per spatial axis.
            pub stride: $t,
            /// The padding on both sides per spatial axis.
            pub padding: $t,
        }
        module!($name {});
        layer!($name);

        impl $name {
            /// A new layer; without `stride`, the stride is the kernel size (MLX's default).
            pub fn new(kernel_size: $t, stride: Option<$t>, padding: $t) -> Result<$name> {
                let stride = stride.unwrap_or(kernel_size);
                let to_vec = |$v: $t| -> Vec<usize> { $to_vec };
                check(stringify!($name), &to_vec(kernel_size), &to_vec(stride))?;
                Ok($name {
                    kernel_size,
                    stride,
                    padding,
                })
            }
            /// Pool `x` of shape `(N, spatial..., C)`.
            pub fn forward(&self, x: &Array) -> Result<Array> {
                let to_vec = |$v: $t| -> Vec<usize> { $to_vec };
                pool(
                    stringify!($name),
                    x,
                    &to_vec(self.kernel_size),
                    &to_vec(self.stride),
                    &to_vec(self.padding),
                    $max,
                )
            }
        }
    };
}

pool_layer!(
    /// 1-d max pooling over `(N, L, C)` (padding with `-inf`).
    MaxPool1d, usize, true, |v| vec![v]
);
pool_layer!(
    /// 2-d max pooling over `(N, H, W, C)` (padding with `-inf`).
    MaxPool2d, (usize, usize), true, |v| vec![v.0, v.1]
);
pool_layer!(
    /// 3-d max pooling over `(N, D, H, W, C)` (padding with `-inf`).
    MaxPool3d, (usize, usize, usize), true, |v| vec![v.0, v.1, v.2]
);
pool_layer!(
    /// 1-d average pooling over `(N, L, C)` (zero padding, counted in the mean).
    AvgPool1d, usize, false, |v| vec![v]
);
pool_layer!(
    /// 2-d average pooling over `(N, H, W, C)` (zero padding, counted in the mean).
    AvgPool2d, (usize, usize), false, |v| vec![v.0, v.1]
);
pool_layer!(
    /// 3-d average pooling over `(N, D, H, W, C)` (zero padding, counted in the mean).
    AvgPool3d, (usize, usize, usize), false, |v| vec![v.0, v.1, v.2]
);
