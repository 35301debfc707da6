// RUN: lattice-opt %s --lattice-report-storage -split-input-file -verify-diagnostics | FileCheck %s

/// Totals are 8192 + 128 + 256 = 8576 codes and 36864 + 800 + 528 = 38192
/// bits: 38192 / 8576 = 4.45335821 bits per weight, 4774 bytes.
// expected-remark@+1 {{3 quantized weights: 8576 codes, 4.45335821 bits per weight, 4774 bytes}}
module {
  // CHECK-LABEL: func.func @weights
  func.func @weights() {
    /// 4 bits + 16 / 32 for the f16 group scales.
    // expected-remark@+1 {{'fc1.weight': 8192 codes, 256 scales, 4.5 bits per weight, 4608 bytes}}
    %0 = lattice.weight "fc1.weight" from "m.safetensors" : tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>
    /// (128 * 4 + 8 * (32 + 4)) / 128: a 4-bit zero point per channel.
    // expected-remark@+1 {{'fc2.weight': 128 codes, 8 scales, 6.25 bits per weight, 100 bytes}}
    %1 = lattice.weight "fc2.weight" from "m.safetensors" : tensor<8x16x!lattice.quant<u4, f32, channel<0>, asymmetric>>
    /// Ternary codes occupy 2 bits: (256 * 2 + 16) / 256.
    // expected-remark@+1 {{'fc3.weight': 256 codes, 1 scales, 2.0625 bits per weight, 66 bytes}}
    %2 = lattice.weight "fc3.weight" from "m.safetensors" : tensor<16x16x!lattice.quant<ternary, bf16>>
    /// Float weights and scales are not reported.
    %3 = lattice.weight "fc1.scale" from "m.safetensors" : tensor<128x2xf16>
    // CHECK: lattice.weight "fc1.weight"
    return
  }
}

// -----

/// Verifier-valid but too large to count: the weight says so and no total is
/// reported.
// CHECK-LABEL: func.func @too_large
func.func @too_large() {
  // expected-remark@+1 {{'huge': element count overflows int64}}
  %0 = lattice.weight "huge" from "m.safetensors" : tensor<4611686018427387904x4x!lattice.quant<s8, f32>>
  return
}

// -----

/// No quantized weights: nothing to report.
// CHECK-LABEL: func.func @float_only
func.func @float_only() {
  %0 = lattice.weight "w" from "m.safetensors" : tensor<4x4xf32>
  return
}
