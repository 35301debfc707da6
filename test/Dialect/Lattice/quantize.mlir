// RUN: lattice-opt %s --lattice-quantize="weight-bits=4" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 granularity=group group-size=2 symmetric=false scale-type=f16" -split-input-file | FileCheck %s --check-prefix=GROUP
// RUN: lattice-opt %s --lattice-quantize="weight-bits=ternary granularity=tensor" -split-input-file | FileCheck %s --check-prefix=TERNARY
// RUN: lattice-opt %s --lattice-quantize="weight-bits=binary granularity=tensor" -split-input-file | FileCheck %s --check-prefix=BINARY
// RUN: lattice-opt %s --lattice-quantize="weight-bits=8 activations=dynamic" -split-input-file | FileCheck %s --check-prefix=DYNAMIC
// RUN: lattice-opt %s --lattice-quantize="weight-bits=4 skip=fc\.[0-9]+,other" -split-input-file | FileCheck %s --check-prefix=SKIP

/// Row 0 has absmax 15 (scale 15/7): -1 rounds to 0, 14 to 7. Row 1 has
/// absmax 7 (scale 1): -3.5 rounds to even (-4), 1.75 to 2.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK-NOT: tensor<2x4xf32>
// CHECK-DAG: %[[CODES:.*]] = arith.constant dense<{{\[}}[0, 7, 0, 7], [7, -4, 2, 0]]> : tensor<2x4xi8>
// CHECK-DAG: %[[W:.*]] = lattice.scast %[[CODES]] : tensor<2x4xi8> to tensor<2x4x!lattice.quant<s4, f32, channel<0>>>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<[2.14285707, 1.000000e+00]> : tensor<2xf32>
// CHECK: %[[Y:.*]] = lattice.matmul %[[X]], %[[W]] rhs_scale(%[[S]]) accumulate(f32)
// CHECK: return %[[Y]]

/// Asymmetric u4 in groups of 2: [0, 15] has scale 1 and zero point 0,
/// [-1, 14] scale 1 and zero point 1; [7, -3.5] scale 0.7 (f16) and zero
/// point 5, [1.75, -0.25] scale 2/15 and zero point 2.
// GROUP-LABEL: func.func @linear
// GROUP-DAG: arith.constant dense<{{\[}}[0, 15, 0, 15], [15, 0, 15, 0]]> : tensor<2x4xi8>
// GROUP-DAG: lattice.scast %{{.*}} : tensor<2x4xi8> to tensor<2x4x!lattice.quant<u4, f16, group<1, 2>, asymmetric>>
// GROUP-DAG: arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [{{.*}}]]> : tensor<2x2xf16>
// GROUP-DAG: arith.constant dense<{{\[}}[0, 1], [5, 2]]> : tensor<2x2xi8>
// GROUP: lattice.matmul {{.*}} rhs_scale({{.*}}) rhs_zero_point({{.*}}) accumulate(f32)

/// absmean = (0+15+1+14+7+3.5+1.75+0.25) / 8 = 5.3125: codes round(w / s)
/// clamped to [-1, 1].
// TERNARY-LABEL: func.func @linear
// TERNARY-DAG: arith.constant dense<{{\[}}[0, 1, 0, 1], [1, -1, 0, 0]]> : tensor<2x4xi8>
// TERNARY-DAG: arith.constant dense<5.312500e+00> : tensor<f32>
// TERNARY-DAG: lattice.scast %{{.*}} to tensor<2x4x!lattice.quant<ternary, f32>>

/// Sign codes (+1 for 0) with the absmean scale.
// BINARY-LABEL: func.func @linear
// BINARY-DAG: arith.constant dense<{{\[}}[1, 1, -1, 1], [1, -1, 1, -1]]> : tensor<2x4xi8>
// BINARY-DAG: arith.constant dense<5.312500e+00> : tensor<f32>

/// Per-token activations at run time, integer accumulation.
// DYNAMIC-LABEL: func.func @linear
// DYNAMIC-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// DYNAMIC: %[[XQ:.*]], %[[XS:.*]] = lattice.dynamic_quantize %[[X]] : (tensor<3x4xf32>) -> (tensor<3x4x!lattice.quant<s8, f32, channel<0>>>, tensor<3xf32>)
// DYNAMIC: lattice.matmul %[[XQ]], %{{.*}} lhs_scale(%[[XS]]) rhs_scale(%{{.*}}) accumulate(i32)

// SKIP-LABEL: func.func @linear
// SKIP: lattice.matmul {{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>)
func.func @linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 15.0, -1.0, 14.0], [7.0, -3.5, 1.75, -0.25]]> : tensor<2x4xf32> loc("fc.1")
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A per-layer override: this layer is 8-bit whatever the options say.
// CHECK-LABEL: func.func @override
// CHECK: lattice.scast {{.*}} to tensor<2x4x!lattice.quant<s8, f16>>
// CHECK-NOT: lattice.quantize =
// SKIP-LABEL: func.func @override
// SKIP: lattice.scast {{.*}} to tensor<2x4x!lattice.quant<s8, f16>>
func.func @override(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]> : tensor<2x4xf32> loc("head")
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {weight_bits = 8, granularity = "tensor", scale_type = "f16", activations = "none"}}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// `skip` in the override keeps the layer in float; the name is not needed.
// CHECK-LABEL: func.func @override_skip
// CHECK: lattice.matmul {{.*}} : (tensor<3x4xf32>, tensor<2x4xf32>)
// CHECK-NOT: lattice.quantize =
func.func @override_skip(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.quantize = {skip}} : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A weight that several matmuls read (an unrolled recurrence) is quantized
/// once, where it is defined: its codes and scales are stored once, and
/// each matmul quantizes its own input.
// CHECK-LABEL: func.func @shared_weight
// CHECK: %[[CODES:.*]] = arith.constant dense<{{.*}}> : tensor<2x4xi8>
// CHECK: %[[W:.*]] = lattice.scast %[[CODES]]
// CHECK: %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<2xf32>
// CHECK-NOT: tensor<2x4xi8>
// CHECK: %[[A:.*]] = lattice.matmul %{{.*}}, %[[W]] rhs_scale(%[[S]])
// CHECK: %[[U:.*]] = lattice.matmul %[[A]]
// CHECK: %[[B:.*]] = lattice.matmul %[[U]], %[[W]] rhs_scale(%[[S]])
// CHECK: return %[[B]]
// DYNAMIC-LABEL: func.func @shared_weight
// DYNAMIC-COUNT-1: : tensor<2x4xi8>{{$}}
// DYNAMIC-NOT: : tensor<2x4xi8>{{$}}
// DYNAMIC: lattice.dynamic_quantize
// DYNAMIC: lattice.dynamic_quantize
func.func @shared_weight(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[15.0, -1.0, 14.0, 0.0], [-3.5, 1.75, 7.0, 0.5]]> : tensor<2x4xf32> loc("cell")
  %w2 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32> loc("up")
  %a = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  %u = lattice.matmul %a, %w2 accumulate(f32) : (tensor<3x2xf32>, tensor<4x2xf32>) -> tensor<3x4xf32>
  %b = lattice.matmul %u, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %b : tensor<3x2xf32>
}
