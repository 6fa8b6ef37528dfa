//! How each primitive type is saved in and rebuilt from an export file: one `exportable!`
//! per primitive struct (its fields, listed exhaustively), `Serial` for the parameter enums,
//! and the registry [`import_primitive`] that maps a saved tag back to its type.
//!
//! The compiler enforces completeness where it can: `ExportState` is a supertrait of
//! `Primitive` (a primitive without `exportable!` / `not_exportable!` does not compile),
//! field lists and enum variants are matched exhaustively. A type made exportable but left
//! out of [`REGISTRY`] is caught when exporting ([`is_registered`]), with a clear error.

use super::serial::{exportable, serial_enum, ImportState, Reader, Serial, Writer};
use crate::error::Result;
use crate::ops::quantized::QuantizationMode;
use crate::primitive::Primitive;
use crate::primitives::binary::{Binary, BinaryOp, DivMod};
use crate::primitives::cast::AsType;
use crate::primitives::creation::{Arange, Eye, Full, Linspace, Tri};
use crate::primitives::fft::Fft;
use crate::primitives::fp8::{FromFp8, ToFp8};
use crate::primitives::indexing::{
    DynamicSlice, DynamicSliceUpdate, Gather, GatherAxis, Scatter, ScatterAxis, ScatterReduce,
    SliceUpdate,
};
use crate::primitives::linalg::{Cholesky, Eig, Eigh, Inverse, Luf, Qrf, Svd};
use crate::primitives::matmul::{AddMM, Matmul};
use crate::primitives::quantized::{Dequantize, Quantize, QuantizedMatmul};
use crate::primitives::random::{
    Bernoulli, Categorical, ComplexNormal, Dist, MvnApply, RandInt, RandomBits, RandomTransform,
    SymSqrt,
};
use crate::primitives::reduce::{ArgReduce, ArgReduceOp, Reduce, ReduceOp};
use crate::primitives::scan::{Convolve, Scan, ScanOp};
use crate::primitives::shape::{
    Broadcast, Concatenate, Copy, Diag, Diagonal, Pad, PadMode, Repeat, Reshape, Roll, Tile,
    Transpose, View,
};
use crate::primitives::slicing::{AsStrided, Slice};
use crate::primitives::optim::AdamStep;
use crate::primitives::softmax::{LogSumExp, Softmax, SoftmaxVjp};
use crate::primitives::sort::{ArgPartition, ArgSort, Partition, SearchSorted, Sort};
use crate::primitives::ternary::Select;
use crate::primitives::unary::{StopGradient, Unary, UnaryOp};
use crate::transforms::custom::Depends;
use crate::transforms::Identity;
use std::sync::Arc;

// ---- parameter enums ---------------------------------------------------------------

serial_enum!(BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    FloorDivide,
    Remainder,
    Power,
    Maximum,
    Minimum,
    ArcTan2,
    LogAddExp,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    LogicalAnd,
    LogicalOr,
    LogicalXor,
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    LeftShift,
    RightShift,
});
serial_enum!(ReduceOp {
    And,
    Or,
    Sum,
    Prod,
    Min,
    Max
});
serial_enum!(ArgReduceOp { ArgMin, ArgMax });
serial_enum!(ScanOp {
    Sum,
    Prod,
    Max,
    Min,
    LogAddExp
});
serial_enum!(ScatterReduce {
    None,
    Sum,
    Prod,
    Max,
    Min
});
serial_enum!(PadMode {
    Constant,
    Edge,
    Reflect,
    Symmetric
});
serial_enum!(QuantizationMode {
    Affine,
    Mxfp4,
    Mxfp8,
    Nvfp4
});

impl Serial for UnaryOp {
    fn write(&self, w: &mut Writer) {
        use UnaryOp::*;
        let name = match self {
            Abs => "Abs",
            Negative => "Negative",
            Sign => "Sign",
            Exp => "Exp",
            Expm1 => "Expm1",
            Log => "Log",
            Log1p => "Log1p",
            Log2 => "Log2",
            Log10 => "Log10",
            Sqrt => "Sqrt",
            Rsqrt => "Rsqrt",
            Square => "Square",
            Reciprocal => "Reciprocal",
            Sin => "Sin",
            Cos => "Cos",
            Tan => "Tan",
            ArcSin => "ArcSin",
            ArcCos => "ArcCos",
            ArcTan => "ArcTan",
            Sinh => "Sinh",
            Cosh => "Cosh",
            Tanh => "Tanh",
            ArcSinh => "ArcSinh",
            ArcCosh => "ArcCosh",
            ArcTanh => "ArcTanh",
            Sigmoid => "Sigmoid",
            Erf => "Erf",
            ErfInv => "ErfInv",
            Floor => "Floor",
            Ceil => "Ceil",
            Round => "Round",
            IsNan => "IsNan",
            IsInf => "IsInf",
            IsPosInf => "IsPosInf",
            IsNegInf => "IsNegInf",
            IsFinite => "IsFinite",
            LogicalNot => "LogicalNot",
            BitwiseInvert => "BitwiseInvert",
            Degrees => "Degrees",
            Radians => "Radians",
            Conj => "Conj",
            Real => "Real",
            Imag => "Imag",
            NanToNum {
                nan,
                posinf,
                neginf,
            } => {
                w.str("NanToNum");
                nan.write(w);
                posinf.write(w);
                neginf.write(w);
                return;
            }
        };
        w.str(name);
    }
    fn read(r: &mut Reader) -> Result<Self> {
        use UnaryOp::*;
        let name = r.str()?;
        Ok(match name.as_str() {
            "Abs" => Abs,
            "Negative" => Negative,
            "Sign" => Sign,
            "Exp" => Exp,
            "Expm1" => Expm1,
            "Log" => Log,
            "Log1p" => Log1p,
            "Log2" => Log2,
            "Log10" => Log10,
            "Sqrt" => Sqrt,
            "Rsqrt" => Rsqrt,
            "Square" => Square,
            "Reciprocal" => Reciprocal,
            "Sin" => Sin,
            "Cos" => Cos,
            "Tan" => Tan,
            "ArcSin" => ArcSin,
            "ArcCos" => ArcCos,
            "ArcTan" => ArcTan,
            "Sinh" => Sinh,
            "Cosh" => Cosh,
            "Tanh" => Tanh,
            "ArcSinh" => ArcSinh,
            "ArcCosh" => ArcCosh,
            "ArcTanh" => ArcTanh,
            "Sigmoid" => Sigmoid,
            "Erf" => Erf,
            "ErfInv" => ErfInv,
            "Floor" => Floor,
            "Ceil" => Ceil,
            "Round" => Round,
            "IsNan" => IsNan,
            "IsInf" => IsInf,
            "IsPosInf" => IsPosInf,
            "IsNegInf" => IsNegInf,
            "IsFinite" => IsFinite,
            "LogicalNot" => LogicalNot,
            "BitwiseInvert" => BitwiseInvert,
            "Degrees" => Degrees,
            "Radians" => Radians,
            "Conj" => Conj,
            "Real" => Real,
            "Imag" => Imag,
            "NanToNum" => NanToNum {
                nan: f64::read(r)?,
                posinf: f64::read(r)?,
                neginf: f64::read(r)?,
            },
            other => return Err(r.corrupt(&format!("unknown UnaryOp variant {other:?}"))),
        })
    }
}

impl Serial for Dist {
    fn write(&self, w: &mut Writer) {
        match self {
            Dist::Uniform => w.str("Uniform"),
            Dist::Normal { scale, loc } => {
                w.str("Normal");
                scale.write(w);
                loc.write(w);
            }
            Dist::TruncatedNormal => w.str("TruncatedNormal"),
            Dist::Gumbel => w.str("Gumbel"),
            Dist::Laplace { scale, loc } => {
                w.str("Laplace");
                scale.write(w);
                loc.write(w);
            }
        }
    }
    fn read(r: &mut Reader) -> Result<Self> {
        let name = r.str()?;
        Ok(match name.as_str() {
            "Uniform" => Dist::Uniform,
            "Normal" => Dist::Normal {
                scale: bool::read(r)?,
                loc: bool::read(r)?,
            },
            "TruncatedNormal" => Dist::TruncatedNormal,
            "Gumbel" => Dist::Gumbel,
            "Laplace" => Dist::Laplace {
                scale: bool::read(r)?,
                loc: bool::read(r)?,
            },
            other => return Err(r.corrupt(&format!("unknown Dist variant {other:?}"))),
        })
    }
}

// ---- primitives --------------------------------------------------------------------

exportable!(Binary { op });
exportable!(DivMod);
exportable!(AsType { dtype });
exportable!(Full);
exportable!(Arange { start, stop, step });
exportable!(Linspace { start, stop });
exportable!(Eye { k });
exportable!(Tri { k });
exportable!(Fft {
    axes,
    inverse,
    real,
    n
});
exportable!(Gather { axes, slice_sizes });
exportable!(GatherAxis { axis });
exportable!(Scatter { reduce, axes });
exportable!(ScatterAxis { reduce, axis });
exportable!(SliceUpdate {
    reduce,
    start,
    strides
});
exportable!(DynamicSlice { axes, slice_size });
exportable!(DynamicSliceUpdate { axes });
exportable!(Inverse { tri, upper });
exportable!(Cholesky { upper });
exportable!(Eigh { upper, vectors });
exportable!(Svd { compute_uv });
exportable!(Qrf);
exportable!(Luf);
exportable!(Eig { vectors });
exportable!(Matmul);
exportable!(AddMM { alpha, beta });
exportable!(Quantize {
    group_size,
    bits,
    mode
});
exportable!(Dequantize {
    group_size,
    bits,
    mode,
    dtype
});
exportable!(QuantizedMatmul {
    group_size,
    bits,
    mode,
    transpose
});
exportable!(RandomBits { shape, width });
exportable!(RandomTransform { dist, dtype });
exportable!(Bernoulli);
exportable!(RandInt { dtype });
exportable!(Categorical { axis });
exportable!(SymSqrt);
exportable!(MvnApply);
exportable!(ComplexNormal { scale, loc });
exportable!(Reduce { op, axes });
exportable!(ArgReduce { op, axis });
exportable!(Scan {
    op,
    axis,
    reverse,
    inclusive
});
exportable!(Convolve);
exportable!(Reshape { shape });
exportable!(Transpose { perm });
exportable!(Broadcast { shape });
exportable!(Copy);
exportable!(Concatenate { axis });
exportable!(Pad { low, high, mode });
exportable!(Tile { reps });
exportable!(Repeat { repeats, axis });
exportable!(Roll { shifts });
exportable!(Diagonal {
    offset,
    axis1,
    axis2
});
exportable!(Diag { k });
exportable!(View { dtype });
exportable!(Slice {
    start,
    stop,
    strides
});
exportable!(AsStrided {
    shape,
    strides,
    offset
});
exportable!(Softmax { axes, precise });
exportable!(LogSumExp { axes });
exportable!(SoftmaxVjp);
exportable!(AdamStep { b1, b2, eps, bias, decay });
exportable!(Sort { axis });
exportable!(ArgSort { axis });
exportable!(Partition { kth, axis });
exportable!(ArgPartition { kth, axis });
exportable!(SearchSorted { right });
exportable!(Select);
exportable!(Unary { op });
exportable!(StopGradient);
exportable!(Identity);
exportable!(ToFp8);
exportable!(FromFp8 { dtype });
exportable!(Depends { num_inputs });

// ---- registry ----------------------------------------------------------------------

/// Rebuilds one primitive type from its saved parameters.
type Importer = fn(&mut Reader) -> Result<Arc<dyn Primitive>>;

fn imp<T: ImportState + Primitive>(r: &mut Reader) -> Result<Arc<dyn Primitive>> {
    Ok(Arc::new(T::import_state(r)?))
}

macro_rules! registry {
    ($($t:ty),* $(,)?) => {
        &[$((<$t as ImportState>::TAG, imp::<$t> as Importer)),*]
    };
}

/// Every primitive type an export file may hold, by tag.
static REGISTRY: &[(&str, Importer)] = registry![
    Binary,
    DivMod,
    AsType,
    Full,
    Arange,
    Linspace,
    Eye,
    Tri,
    Fft,
    ToFp8,
    FromFp8,
    Gather,
    GatherAxis,
    Scatter,
    ScatterAxis,
    SliceUpdate,
    DynamicSlice,
    DynamicSliceUpdate,
    Inverse,
    Cholesky,
    Eigh,
    Svd,
    Qrf,
    Luf,
    Eig,
    Matmul,
    AddMM,
    Quantize,
    Dequantize,
    QuantizedMatmul,
    RandomBits,
    RandomTransform,
    Bernoulli,
    RandInt,
    Categorical,
    SymSqrt,
    MvnApply,
    ComplexNormal,
    Reduce,
    ArgReduce,
    Scan,
    Convolve,
    Reshape,
    Transpose,
    Broadcast,
    Copy,
    Concatenate,
    Pad,
    Tile,
    Repeat,
    Roll,
    Diagonal,
    Diag,
    View,
    Slice,
    AsStrided,
    Softmax,
    LogSumExp,
    SoftmaxVjp,
    AdamStep,
    Sort,
    ArgSort,
    Partition,
    ArgPartition,
    SearchSorted,
    Select,
    Unary,
    StopGradient,
    Identity,
    Depends,
    super::PassThrough,
];

/// Whether primitives saved under `tag` can be read back.
pub fn is_registered(tag: &str) -> bool {
    REGISTRY.iter().any(|(t, _)| *t == tag)
}

/// The tags of every importable primitive type.
pub fn registered_tags() -> Vec<&'static str> {
    REGISTRY.iter().map(|(t, _)| *t).collect()
}

/// Rebuild the primitive saved under `tag` from its parameters (the whole of `state`).
pub fn import_primitive(tag: &str, state: &[u8]) -> Result<Arc<dyn Primitive>> {
    let mut r = Reader::new(state);
    let (_, f) = REGISTRY
        .iter()
        .find(|(t, _)| *t == tag)
        .ok_or_else(|| r.corrupt(&format!("unknown primitive {tag:?}")))?;
    let p = f(&mut r)?;
    if r.remaining() != 0 {
        return Err(r.corrupt(&format!("extra bytes after the parameters of {tag}")));
    }
    Ok(p)
}
