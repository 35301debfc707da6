// RUN: lattice-opt %s --lattice-fold-scales -split-input-file | FileCheck %s

/// s = [2, 0.5] goes into the weight columns.
// CHECK-LABEL: func.func @into_columns
// CHECK-SAME: (%[[X:.*]]: tensor<3x2xf32>)
// CHECK-NOT: lattice.channel_scale
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00], [6.000000e+00, 2.500000e+00]]> : tensor<2x2xf32>
// CHECK: lattice.matmul %[[X]], %[[W]]
func.func @into_columns(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %xs = lattice.channel_scale %x, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %w = arith.constant dense<[[1.0, 4.0], [3.0, 5.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %xs, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Into the gain and bias of a LayerNorm.
// CHECK-LABEL: func.func @into_norm
// CHECK-DAG: %[[G:.*]] = arith.constant dense<[2.000000e+00, 5.000000e-01]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[6.000000e+00, 1.500000e+00]> : tensor<2xf32>
// CHECK: %[[N:.*]] = lattice.layer_norm %{{.*}}, %[[G]], %[[B]]
// CHECK-NOT: lattice.channel_scale
// CHECK: return %[[N]]
func.func @into_norm(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %g = arith.constant dense<1.0> : tensor<2xf32>
  %b = arith.constant dense<3.0> : tensor<2xf32>
  %n = lattice.layer_norm %x, %g, %b : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %y = lattice.channel_scale %n, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// Over N after a matmul: into the rows of a float weight, and into the
/// per-channel scales of a quantized one.
// CHECK-LABEL: func.func @into_rows
// CHECK-DAG: arith.constant dense<{{\[}}[2.000000e+00, 8.000000e+00], [1.500000e+00, 2.500000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[QS:.*]] = arith.constant dense<[2.000000e-01, 5.000000e-02]> : tensor<2xf32>
// CHECK: lattice.matmul %{{.*}}, %{{.*}} rhs_scale(%[[QS]])
// CHECK-NOT: lattice.channel_scale
func.func @into_rows(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %s = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %w = arith.constant dense<[[1.0, 4.0], [3.0, 5.0]]> : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %ys = lattice.channel_scale %y, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %q = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %qs = arith.constant dense<[0.1, 0.1]> : tensor<2xf32>
  %z = lattice.matmul %x, %q rhs_scale(%qs) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  %zs = lattice.channel_scale %z, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  return %ys, %zs : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

/// Dequantized weights and activations are read inside the reduction.
// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>, %[[Q:.*]]: tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>, %[[S:.*]]: tensor<2x2xf16>, %[[A:.*]]: tensor<3x4x!lattice.quant<u8, f32, asymmetric>>, %[[AS:.*]]: tensor<f32>, %[[AZ:.*]]: tensor<i16>, %[[W:.*]]: tensor<2x4xf32>)
// CHECK-NOT: lattice.dequantize
// CHECK: lattice.matmul %[[X]], %[[Q]] rhs_scale(%[[S]]) accumulate(f32)
// CHECK: lattice.matmul %[[A]], %[[W]] lhs_scale(%[[AS]]) lhs_zero_point(%[[AZ]]) accumulate(f32)
func.func @dequantize(%x: tensor<3x4xf32>, %q: tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>, %s: tensor<2x2xf16>,
                      %a: tensor<3x4x!lattice.quant<u8, f32, asymmetric>>, %as: tensor<f32>, %az: tensor<i16>, %w: tensor<2x4xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %wd = lattice.dequantize %q, %s : (tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>, tensor<2x2xf16>) -> tensor<2x4xf32>
  %y = lattice.matmul %x, %wd accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %ad = lattice.dequantize %a, %as, %az : (tensor<3x4x!lattice.quant<u8, f32, asymmetric>>, tensor<f32>, tensor<i16>) -> tensor<3x4xf32>
  %z = lattice.matmul %ad, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

/// Left alone: a channel_scale with a non-matmul user, a negative factor
/// for quantized scales, a per-channel weight along K.
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-2: lattice.channel_scale
// CHECK: lattice.dequantize
func.func @kept(%x: tensor<3x2xf32>, %q: tensor<2x2x!lattice.quant<s8, f32, channel<1>>>, %qs: tensor<2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %s = arith.constant dense<[2.0, -0.5]> : tensor<2xf32>
  %xs = lattice.channel_scale %x, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %c = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi8>
  %w = lattice.scast %c : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %ws = arith.constant dense<[0.1, 0.1]> : tensor<2xf32>
  %z = lattice.matmul %x, %w rhs_scale(%ws) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  %zs = lattice.channel_scale %z, %s axis(1) : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %d = lattice.dequantize %q, %qs : (tensor<2x2x!lattice.quant<s8, f32, channel<1>>>, tensor<2xf32>) -> tensor<2x2xf32>
  %y = lattice.matmul %x, %d accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %xs, %zs, %y : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

/// quantize(dequantize) is a requantize; a narrower dequantized type rounds
/// in between and stays.
// CHECK-LABEL: func.func @dequantize_quantize
// CHECK-SAME: (%[[Q:.*]]: tensor<4x!lattice.quant<s8, f32>>, %[[S1:.*]]: tensor<f32>, %[[S2:.*]]: tensor<f32>)
// CHECK: %[[R:.*]] = lattice.requantize %[[Q]], %[[S1]] to %[[S2]] : (tensor<4x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x!lattice.quant<s4, f32>>
// CHECK: %[[D:.*]] = lattice.dequantize %[[Q]], %[[S1]] : {{.*}} -> tensor<4xf16>
// CHECK: %[[K:.*]] = lattice.quantize %[[D]], %[[S2]]
// CHECK: return %[[R]], %[[K]]
func.func @dequantize_quantize(%q: tensor<4x!lattice.quant<s8, f32>>, %s1: tensor<f32>, %s2: tensor<f32>)
    -> (tensor<4x!lattice.quant<s4, f32>>, tensor<4x!lattice.quant<s4, f32>>) {
  %d = lattice.dequantize %q, %s1 : (tensor<4x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<4xf32>
  %r = lattice.quantize %d, %s2 : (tensor<4xf32>, tensor<f32>) -> tensor<4x!lattice.quant<s4, f32>>
  %h = lattice.dequantize %q, %s1 : (tensor<4x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<4xf16>
  %k = lattice.quantize %h, %s2 : (tensor<4xf16>, tensor<f32>) -> tensor<4x!lattice.quant<s4, f32>>
  return %r, %k : tensor<4x!lattice.quant<s4, f32>>, tensor<4x!lattice.quant<s4, f32>>
}

// -----

/// s4 at 0.5 -> s8 at 0.125 is lossless (x4, [-32, 28] fits): the chain
/// collapses into one requantize. s8 at 0.5 -> s4 at 0.125 clamps: kept.
// CHECK-LABEL: func.func @requantize_chains
// CHECK-SAME: (%[[A:.*]]: tensor<4x!lattice.quant<s4, f32>>, %[[B:.*]]: tensor<4x!lattice.quant<s8, f32>>)
// CHECK-DAG: %[[HALF:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[OUT:.*]] = arith.constant dense<3.000000e-01> : tensor<f32>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<10> : tensor<i16>
// CHECK: %[[C:.*]] = lattice.requantize %[[A]], %[[HALF]] to %[[OUT]], %[[Z]] : (tensor<4x!lattice.quant<s4, f32>>, tensor<f32>, tensor<f32>, tensor<i16>) -> tensor<4x!lattice.quant<u8, f32, asymmetric>>
// CHECK: %[[K1:.*]] = lattice.requantize %[[B]]
// CHECK: %[[K2:.*]] = lattice.requantize %[[K1]]
// CHECK: return %[[C]], %[[K2]]
func.func @requantize_chains(%a: tensor<4x!lattice.quant<s4, f32>>, %b: tensor<4x!lattice.quant<s8, f32>>)
    -> (tensor<4x!lattice.quant<u8, f32, asymmetric>>, tensor<4x!lattice.quant<u8, f32, asymmetric>>) {
  %half = arith.constant dense<0.5> : tensor<f32>
  %eighth = arith.constant dense<0.125> : tensor<f32>
  %out = arith.constant dense<0.3> : tensor<f32>
  %z = arith.constant dense<10> : tensor<i16>
  %a8 = lattice.requantize %a, %half to %eighth : (tensor<4x!lattice.quant<s4, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x!lattice.quant<s8, f32>>
  %c = lattice.requantize %a8, %eighth to %out, %z : (tensor<4x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>, tensor<i16>) -> tensor<4x!lattice.quant<u8, f32, asymmetric>>
  %b4 = lattice.requantize %b, %half to %eighth : (tensor<4x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x!lattice.quant<s4, f32>>
  %k = lattice.requantize %b4, %eighth to %out, %z : (tensor<4x!lattice.quant<s4, f32>>, tensor<f32>, tensor<f32>, tensor<i16>) -> tensor<4x!lattice.quant<u8, f32, asymmetric>>
  return %c, %k : tensor<4x!lattice.quant<u8, f32, asymmetric>>, tensor<4x!lattice.quant<u8, f32, asymmetric>>
}
