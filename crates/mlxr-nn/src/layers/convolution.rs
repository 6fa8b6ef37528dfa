//! Convolution layers (MLX's `Conv1d`, `Conv2d`, `Conv3d`, `ConvTranspose1d`,
//! `ConvTranspose2d`, `ConvTranspose3d`): channels-last inputs, a `weight` of shape
//! `(out_channels, kernel..., in_channels / groups)` initialised uniform in
//! `±sqrt(1 / (in_channels / groups * prod(kernel)))`, and a zero `bias`, as MLX.

use crate::{layer, module, Param};
use mlxr::{ops, random, Array, Dtype, Error, Result};

/// The weight `(out, kernel..., in / groups)` and optional bias of a convolution layer.
fn init(
    name: &str,
    in_channels: usize,
    out_channels: usize,
    kernel: &[usize],
    groups: usize,
    bias: bool,
) -> Result<(Param, Option<Param>)> {
    if groups == 0 || !in_channels.is_multiple_of(groups) {
        return Err(Error::InvalidArgument(format!(
            "[{name}] The number of input channels ({in_channels}) must be divisible by the \
             number of groups ({groups})"
        )));
    }
    if kernel.contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "[{name}] 'kernel_size' must be positive but got {kernel:?}."
        )));
    }
    let fan_in = in_channels / groups * kernel.iter().product::<usize>();
    let scale = (1.0 / fan_in.max(1) as f32).sqrt();
    let mut shape = vec![out_channels];
    shape.extend_from_slice(kernel);
    shape.push(in_channels / groups);
    let weight = random::uniform(-scale, scale, &shape, Dtype::Float32, None)?;
    let bias = if bias {
        Some(Param::new(ops::zeros(&[out_channels], None)?))
    } else {
        None
    };
    Ok((Param::new(weight), bias))
}

/// Add the bias, if any.
fn add_bias(y: Array, bias: &Option<Param>) -> Result<Array> {
    match bias {
        Some(b) => ops::add(&y, &b.value),
        None => Ok(y),
    }
}

/// Convert layer padding to the ops' signed padding.
fn signed<const N: usize>(p: [usize; N]) -> [isize; N] {
    p.map(|v| v as isize)
}

/// A 1-d convolution over `(N, L, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct Conv1d {
    /// `(out_channels, kernel_size, in_channels / groups)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride.
    pub stride: usize,
    /// Zero padding on both sides.
    pub padding: usize,
    /// The kernel dilation.
    pub dilation: usize,
    /// The number of channel groups.
    pub groups: usize,
}
module!(Conv1d { weight, bias });
layer!(Conv1d);

impl Conv1d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, groups 1, bias).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
        bias: bool,
    ) -> Result<Conv1d> {
        let (weight, bias) = init(
            "Conv1d",
            in_channels,
            out_channels,
            &[kernel_size],
            groups,
            bias,
        )?;
        Ok(Conv1d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            groups,
        })
    }
    /// Apply to `x` of shape `(N, L, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = ops::conv1d(
            x,
            &self.weight,
            self.stride,
            self.padding as isize,
            self.dilation,
            self.groups,
        )?;
        add_bias(y, &self.bias)
    }
}

/// A 2-d convolution over `(N, H, W, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct Conv2d {
    /// `(out_channels, kh, kw, in_channels / groups)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride per axis.
    pub stride: (usize, usize),
    /// Zero padding per axis (both sides).
    pub padding: (usize, usize),
    /// The kernel dilation per axis.
    pub dilation: (usize, usize),
    /// The number of channel groups.
    pub groups: usize,
}
module!(Conv2d { weight, bias });
layer!(Conv2d);

impl Conv2d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, groups 1, bias).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
        bias: bool,
    ) -> Result<Conv2d> {
        let (weight, bias) = init(
            "Conv2d",
            in_channels,
            out_channels,
            &[kernel_size.0, kernel_size.1],
            groups,
            bias,
        )?;
        Ok(Conv2d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            groups,
        })
    }
    /// Apply to `x` of shape `(N, H, W, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let [p0, p1] = signed([self.padding.0, self.padding.1]);
        let y = ops::conv2d(
            x,
            &self.weight,
            self.stride,
            (p0, p1),
            self.dilation,
            self.groups,
        )?;
        add_bias(y, &self.bias)
    }
}

/// A 3-d convolution over `(N, D, H, W, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct Conv3d {
    /// `(out_channels, kd, kh, kw, in_channels / groups)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride per axis.
    pub stride: (usize, usize, usize),
    /// Zero padding per axis (both sides).
    pub padding: (usize, usize, usize),
    /// The kernel dilation per axis.
    pub dilation: (usize, usize, usize),
    /// The number of channel groups (MLX's `Conv3d` has none: 1).
    pub groups: usize,
}
module!(Conv3d { weight, bias });
layer!(Conv3d);

impl Conv3d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, bias).
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: (usize, usize, usize),
        stride: (usize, usize, usize),
        padding: (usize, usize, usize),
        dilation: (usize, usize, usize),
        bias: bool,
    ) -> Result<Conv3d> {
        let (weight, bias) = init(
            "Conv3d",
            in_channels,
            out_channels,
            &[kernel_size.0, kernel_size.1, kernel_size.2],
            1,
            bias,
        )?;
        Ok(Conv3d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            groups: 1,
        })
    }
    /// Apply to `x` of shape `(N, D, H, W, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let [p0, p1, p2] = signed([self.padding.0, self.padding.1, self.padding.2]);
        let y = ops::conv3d(
            x,
            &self.weight,
            self.stride,
            (p0, p1, p2),
            self.dilation,
            self.groups,
        )?;
        add_bias(y, &self.bias)
    }
}

/// A 1-d transposed convolution over `(N, L, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct ConvTranspose1d {
    /// `(out_channels, kernel_size, in_channels)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride.
    pub stride: usize,
    /// The padding removed from both sides of the output.
    pub padding: usize,
    /// The kernel dilation.
    pub dilation: usize,
    /// Extra size added at the end of the output.
    pub output_padding: usize,
}
module!(ConvTranspose1d { weight, bias });
layer!(ConvTranspose1d);

impl ConvTranspose1d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, output padding 0,
    /// bias).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        output_padding: usize,
        bias: bool,
    ) -> Result<ConvTranspose1d> {
        let (weight, bias) = init(
            "ConvTranspose1d",
            in_channels,
            out_channels,
            &[kernel_size],
            1,
            bias,
        )?;
        Ok(ConvTranspose1d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            output_padding,
        })
    }
    /// Apply to `x` of shape `(N, L, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let y = ops::conv_transpose1d(
            x,
            &self.weight,
            self.stride,
            self.padding as isize,
            self.dilation,
            self.output_padding as isize,
            1,
        )?;
        add_bias(y, &self.bias)
    }
}

/// A 2-d transposed convolution over `(N, H, W, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct ConvTranspose2d {
    /// `(out_channels, kh, kw, in_channels)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride per axis.
    pub stride: (usize, usize),
    /// The padding removed from both sides of the output, per axis.
    pub padding: (usize, usize),
    /// The kernel dilation per axis.
    pub dilation: (usize, usize),
    /// Extra size added at the end of the output, per axis.
    pub output_padding: (usize, usize),
}
module!(ConvTranspose2d { weight, bias });
layer!(ConvTranspose2d);

impl ConvTranspose2d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, output padding 0,
    /// bias).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        output_padding: (usize, usize),
        bias: bool,
    ) -> Result<ConvTranspose2d> {
        let (weight, bias) = init(
            "ConvTranspose2d",
            in_channels,
            out_channels,
            &[kernel_size.0, kernel_size.1],
            1,
            bias,
        )?;
        Ok(ConvTranspose2d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            output_padding,
        })
    }
    /// Apply to `x` of shape `(N, H, W, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let [p0, p1] = signed([self.padding.0, self.padding.1]);
        let [o0, o1] = signed([self.output_padding.0, self.output_padding.1]);
        let y = ops::conv_transpose2d(
            x,
            &self.weight,
            self.stride,
            (p0, p1),
            self.dilation,
            (o0, o1),
            1,
        )?;
        add_bias(y, &self.bias)
    }
}

/// A 3-d transposed convolution over `(N, D, H, W, C_in)` inputs.
#[derive(Debug, Clone)]
pub struct ConvTranspose3d {
    /// `(out_channels, kd, kh, kw, in_channels)`.
    pub weight: Param,
    /// `(out_channels,)`, if the layer has a bias.
    pub bias: Option<Param>,
    /// The stride per axis.
    pub stride: (usize, usize, usize),
    /// The padding removed from both sides of the output, per axis.
    pub padding: (usize, usize, usize),
    /// The kernel dilation per axis.
    pub dilation: (usize, usize, usize),
    /// Extra size added at the end of the output, per axis.
    pub output_padding: (usize, usize, usize),
}
module!(ConvTranspose3d { weight, bias });
layer!(ConvTranspose3d);

impl ConvTranspose3d {
    /// A new layer (MLX's defaults: stride 1, padding 0, dilation 1, output padding 0,
    /// bias).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel_size: (usize, usize, usize),
        stride: (usize, usize, usize),
        padding: (usize, usize, usize),
        dilation: (usize, usize, usize),
        output_padding: (usize, usize, usize),
        bias: bool,
    ) -> Result<ConvTranspose3d> {
        let (weight, bias) = init(
            "ConvTranspose3d",
            in_channels,
            out_channels,
            &[kernel_size.0, kernel_size.1, kernel_size.2],
            1,
            bias,
        )?;
        Ok(ConvTranspose3d {
            weight,
            bias,
            stride,
            padding,
            dilation,
            output_padding,
        })
    }
    /// Apply to `x` of shape `(N, D, H, W, in_channels)`.
    pub fn forward(&self, x: &Array) -> Result<Array> {
        let [p0, p1, p2] = signed([self.padding.0, self.padding.1, self.padding.2]);
        let [o0, o1, o2] = signed([
            self.output_padding.0,
            self.output_padding.1,
            self.output_padding.2,
        ]);
        let y = ops::conv_transpose3d(
            x,
            &self.weight,
            self.stride,
            (p0, p1, p2),
            self.dilation,
            (o0, o1, o2),
            1,
        )?;
        add_bias(y, &self.bias)
    }
}
