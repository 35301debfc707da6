// RUN: lattice-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @requantize_same_scheme_same_scale
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x8x!lattice.quant<s8, f32>>
// CHECK-NOT: lattice.requantize
// CHECK: return %[[INPUT]]
func.func @requantize_same_scheme_same_scale(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>> {
  %r = lattice.requantize %q, %s to %s : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return %r : tensor<4x8x!lattice.quant<s8, f32>>
}

// -----

/// Equal constants count as the same scale and zero point.
// CHECK-LABEL: func.func @requantize_equal_constants
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>)
// CHECK-NOT: lattice.requantize
// CHECK: return %[[INPUT]]
func.func @requantize_equal_constants(%q: tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>> {
  %s0 = arith.constant dense<[0.5, 0.25, 1.0, 2.0]> : tensor<4xf32>
  %s1 = arith.constant dense<[0.5, 0.25, 1.0, 2.0]> : tensor<4xf32>
  %z0 = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi16>
  %z1 = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi16>
  %r = lattice.requantize %q, %s0, %z0 to %s1, %z1
      : (tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<4xf32>, tensor<4xi16>, tensor<4xf32>, tensor<4xi16>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
  return %r : tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
}

// -----

/// Same scheme, different scale values: the codes change.
// CHECK-LABEL: func.func @no_fold_requantize_other_scale
// CHECK: lattice.requantize
func.func @no_fold_requantize_other_scale(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>, %t: tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>> {
  %r = lattice.requantize %q, %s to %t : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return %r : tensor<4x8x!lattice.quant<s8, f32>>
}

// -----

/// Same scale, different zero points.
// CHECK-LABEL: func.func @no_fold_requantize_other_zero_point
// CHECK: lattice.requantize
func.func @no_fold_requantize_other_zero_point(%q: tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>, %s: tensor<4xf32>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>> {
  %z0 = arith.constant dense<[1, 2, 3, 4]> : tensor<4xi16>
  %z1 = arith.constant dense<[1, 2, 3, 5]> : tensor<4xi16>
  %r = lattice.requantize %q, %s, %z0 to %s, %z1
      : (tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<4xf32>, tensor<4xi16>, tensor<4xf32>, tensor<4xi16>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
  return %r : tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
}

// -----

/// Same scale value, narrower storage: values saturate differently.
// CHECK-LABEL: func.func @no_fold_requantize_other_scheme
// CHECK: lattice.requantize
func.func @no_fold_requantize_other_scheme(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>) -> tensor<4x8x!lattice.quant<s4, f32>> {
  %r = lattice.requantize %q, %s to %s : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s4, f32>>
  return %r : tensor<4x8x!lattice.quant<s4, f32>>
}

// -----

/// dequantize(quantize(x)) is x plus the quantization error, not x.
// CHECK-LABEL: func.func @no_fold_dequantize_quantize
// CHECK: %[[Q:.*]] = lattice.quantize
// CHECK: lattice.dequantize %[[Q]]
func.func @no_fold_dequantize_quantize(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8xf32> {
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  %y = lattice.dequantize %q, %s : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @channel_scale_by_ones
// CHECK-SAME: (%[[INPUT:.*]]: tensor<8x64xf32>)
// CHECK-NOT: lattice.channel_scale
// CHECK: return %[[INPUT]]
func.func @channel_scale_by_ones(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %ones = arith.constant dense<1.0> : tensor<64xf32>
  %y = lattice.channel_scale %x, %ones axis(1) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

// CHECK-LABEL: func.func @no_fold_channel_scale_by_twos
// CHECK: lattice.channel_scale
func.func @no_fold_channel_scale_by_twos(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %twos = arith.constant dense<2.0> : tensor<64xf32>
  %y = lattice.channel_scale %x, %twos axis(1) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return %y : tensor<8x64xf32>
}

// -----

/// Probes have a write effect: an unused probe survives canonicalization and
/// two identical probes are not merged.
// CHECK-LABEL: func.func @no_fold_observe
// CHECK-COUNT-2: lattice.observe
func.func @no_fold_observe(%x: tensor<8x64xf32>) {
  %0 = lattice.observe %x name("x") : tensor<8x64xf32>
  %1 = lattice.observe %x name("x") : tensor<8x64xf32>
  return
}

// -----

/// Quantization of constants at compile time, groups of 2 along axis 1:
/// 0.3 / 0.25 = 1.2 -> 1, 0.375 / 0.25 = 1.5 -> 2 (ties to even), -2.0 / 0.25
/// saturates at -8; 0.1 / 0.05 -> 2, NaN -> 0, 0.025 / 0.05 = 0.5 -> 0.
// CHECK-LABEL: func.func @quantize_constant_groups
// CHECK-DAG: %[[CODES:.*]] = arith.constant dense<{{\[}}[1, 2, -8, 0], [2, 0, 0, -1]]> : tensor<2x4xi8>
// CHECK-DAG: %[[SCALE:.*]] = arith.constant dense<{{.*}}> : tensor<2x2xf32>
// CHECK-NOT: lattice.quantize
// CHECK: %[[Q:.*]] = lattice.scast %[[CODES]] : tensor<2x4xi8> to tensor<2x4x!lattice.quant<s4, f32, group<1, 2>>>
// CHECK: lattice.dequantize %[[Q]], %[[SCALE]]
func.func @quantize_constant_groups() -> tensor<2x4xf32> {
  %x = arith.constant dense<[[0.3, 0.375, -2.0, 0.0], [0.1, 0x7FC00000, 0.025, -0.05]]> : tensor<2x4xf32>
  %s = arith.constant dense<[[0.25, 0.25], [0.05, 0.05]]> : tensor<2x2xf32>
  %q = lattice.quantize %x, %s : (tensor<2x4xf32>, tensor<2x2xf32>) -> tensor<2x4x!lattice.quant<s4, f32, group<1, 2>>>
  %y = lattice.dequantize %q, %s : (tensor<2x4x!lattice.quant<s4, f32, group<1, 2>>>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

/// Asymmetric u8 codes above 127 are stored as their bytes: 128 prints as
/// -128 and 255 as -1.
// CHECK-LABEL: func.func @quantize_constant_unsigned
// CHECK: arith.constant dense<[0, -128, -1]> : tensor<3xi8>
// CHECK: lattice.scast
func.func @quantize_constant_unsigned() -> tensor<3x!lattice.quant<u8, f32, asymmetric>> {
  %x = arith.constant dense<[-200.0, 0.0, 300.0]> : tensor<3xf32>
  %s = arith.constant dense<1.0> : tensor<f32>
  %z = arith.constant dense<128> : tensor<i16>
  %q = lattice.quantize %x, %s, %z : (tensor<3xf32>, tensor<f32>, tensor<i16>) -> tensor<3x!lattice.quant<u8, f32, asymmetric>>
  return %q : tensor<3x!lattice.quant<u8, f32, asymmetric>>
}

// -----

/// The scale is only known at run time: nothing to do at compile time.
// CHECK-LABEL: func.func @no_fold_quantize_runtime_scale
// CHECK: lattice.quantize
func.func @no_fold_quantize_runtime_scale(%s: tensor<f32>) -> tensor<2x!lattice.quant<s8, f32>> {
  %x = arith.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %q = lattice.quantize %x, %s : (tensor<2xf32>, tensor<f32>) -> tensor<2x!lattice.quant<s8, f32>>
  return %q : tensor<2x!lattice.quant<s8, f32>>
}

// -----

// CHECK-LABEL: func.func @scast_round_trip
// CHECK-SAME: (%[[CODES:.*]]: tensor<4xi8>)
// CHECK-NEXT: return %[[CODES]]
func.func @scast_round_trip(%codes: tensor<4xi8>) -> tensor<4xi8> {
  %q = lattice.scast %codes : tensor<4xi8> to tensor<4x!lattice.quant<ternary, f32>>
  %back = lattice.scast %q : tensor<4x!lattice.quant<ternary, f32>> to tensor<4xi8>
  return %back : tensor<4xi8>
}
