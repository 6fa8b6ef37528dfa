//! The quantized layers: `QuantizedLinear` / `QuantizedEmbedding` built from float layers
//! compute what the float layers compute on the dequantized weights, and keep their
//! packed parameters frozen under MLX's names.

use mlxr::ops::{self, QuantizationMode};
use mlxr::{random, Dtype};
use mlxr_nn::layers::{Embedding, Linear, QuantizedEmbedding, QuantizedLinear};
use mlxr_nn::ModuleExt;

fn max_abs_diff(a: &mlxr::Array, b: &mlxr::Array) -> f32 {
    ops::max(
        &ops::abs(&ops::subtract(a, b).unwrap()).unwrap(),
        None,
        false,
    )
    .unwrap()
    .item::<f32>()
    .unwrap()
}

#[test]
fn quantized_linear_matches_dequantized_linear() {
    random::seed(3);
    let l = Linear::new(128, 24, true).unwrap();
    let q = QuantizedLinear::from_linear(&l, Some(32), Some(8), QuantizationMode::Affine).unwrap();
    let names: Vec<String> = q.named_parameters().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "scales", "biases", "bias"]);
    assert!(mlxr::tree::tree_flatten(&q.trainable_parameters()).is_empty());
    let w = ops::dequantize(
        &q.weight,
        &q.scales,
        q.biases.as_deref(),
        Some(32),
        Some(8),
        QuantizationMode::Affine,
        None,
    )
    .unwrap();
    let x = random::normal(&[2, 5, 128], Dtype::Float32, 0.0, 1.0, None).unwrap();
    let want = ops::add(
        ops::matmul(&x, &ops::transpose(&w).unwrap()).unwrap(),
        &l.bias.as_ref().unwrap().value,
    )
    .unwrap();
    let got = q.forward(&x).unwrap();
    assert_eq!(got.shape(), &[2, 5, 24]);
    assert!(max_abs_diff(&got, &want) < 1e-4);
    // 8-bit weights stay close to the float layer.
    assert!(max_abs_diff(&got, &l.forward(&x).unwrap()) < 0.05);
}

#[test]
fn quantized_embedding_rows_and_as_linear() {
    random::seed(4);
    let e = Embedding::new(10, 64).unwrap();
    let q = QuantizedEmbedding::from_embedding(&e, None, None, QuantizationMode::Affine).unwrap();
    let idx = mlxr::Array::from_slice(&[3i32, 0, 9, 3], &[2, 2]).unwrap();
    let w = ops::dequantize(
        &q.weight,
        &q.scales,
        q.biases.as_deref(),
        None,
        None,
        QuantizationMode::Affine,
        None,
    )
    .unwrap();
    let got = q.forward(&idx).unwrap();
    assert_eq!(got.shape(), &[2, 2, 64]);
    assert_eq!(
        max_abs_diff(&got, &ops::take(&w, &idx, Some(0)).unwrap()),
        0.0
    );
    let x = random::normal(&[3, 64], Dtype::Float32, 0.0, 1.0, None).unwrap();
    let lin = q.as_linear(&x).unwrap();
    assert!(
        max_abs_diff(
            &lin,
            &ops::matmul(&x, &ops::transpose(&w).unwrap()).unwrap()
        ) < 1e-4
    );
}
