// RUN: lattice-opt %s --lattice-import-quant -split-input-file | FileCheck %s

/// Per tensor, asymmetric: quantize and dequantize with constant scale and
/// zero point.
// CHECK-LABEL: func.func @per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<3> : tensor<i8>
// CHECK: %[[Q:.*]] = lattice.quantize %[[X]], %[[S]], %[[Z]] : (tensor<2x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x4x!lattice.quant<s8, f32, asymmetric>>
// CHECK: %[[D:.*]] = lattice.dequantize %[[Q]], %{{.*}}, %{{.*}} : (tensor<2x4x!lattice.quant<s8, f32, asymmetric>>, tensor<f32>, tensor<i8>) -> tensor<2x4xf32>
// CHECK: return %[[D]]
// CHECK-NOT: quant.
func.func @per_tensor(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32, 0.5:3>>
  %d = quant.dcast %q : tensor<2x4x!quant.uniform<i8:f32, 0.5:3>> to tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

/// Per axis, symmetric (signed, all zero points 0): no zero point tensor.
// CHECK-LABEL: func.func @per_axis
// CHECK: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
// CHECK: lattice.quantize %{{.*}}, %[[S]] : (tensor<2x4xf32>, tensor<2xf32>) -> tensor<2x4x!lattice.quant<s8, f32, channel<0>>>
func.func @per_axis(%x: tensor<2x4xf32>) -> tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>> {
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
  return %q : tensor<2x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
}

// -----

/// A dynamic quantized axis: the type says how many scales there are.
// CHECK-LABEL: func.func @dynamic_axis
// CHECK: %[[S:.*]] = arith.constant dense<[1.000000e-01, 2.000000e-01]> : tensor<2xf32>
// CHECK: lattice.quantize %{{.*}}, %[[S]] : (tensor<?x4xf32>, tensor<2xf32>) -> tensor<?x4x!lattice.quant<s8, f32, channel<0>>>
func.func @dynamic_axis(%x: tensor<?x4xf32>) -> tensor<?x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>> {
  %q = quant.qcast %x : tensor<?x4xf32> to tensor<?x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
  return %q : tensor<?x4x!quant.uniform<i8:f32:0, {0.1, 0.2}>>
}

// -----

/// Codes in a storage cast; signatures converted.
// CHECK-LABEL: func.func @codes
// CHECK-SAME: (%[[C:.*]]: tensor<4xi8>) -> tensor<4xf32>
// CHECK: %[[Q:.*]] = lattice.scast %[[C]] : tensor<4xi8> to tensor<4x!lattice.quant<s8, f32, asymmetric>>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<-8> : tensor<i8>
// CHECK: lattice.dequantize %[[Q]], %[[S]], %[[Z]]
func.func @codes(%c: tensor<4xi8>) -> tensor<4xf32> {
  %q = quant.scast %c : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.25:-8>>
  %d = quant.dcast %q : tensor<4x!quant.uniform<i8:f32, 0.25:-8>> to tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

/// Unsigned 4-bit storage: u4 with its zero point.
// CHECK-LABEL: func.func @unsigned
// CHECK-DAG: %[[S:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK-DAG: %[[Z:.*]] = arith.constant dense<8> : tensor<i8>
// CHECK: lattice.quantize %{{.*}}, %[[S]], %[[Z]] : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4x!lattice.quant<u4, f32, asymmetric>>
func.func @unsigned(%x: tensor<4xf32>) -> tensor<4x!quant.uniform<u4:f32, 0.25:8>> {
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<u4:f32, 0.25:8>>
  return %q : tensor<4x!quant.uniform<u4:f32, 0.25:8>>
}

// -----

/// Quantized values across calls and block arguments.
// CHECK-LABEL: func.func private @callee(tensor<4x!lattice.quant<s8, f32>>) -> tensor<4x!lattice.quant<s8, f32>>
// CHECK-LABEL: func.func @caller
// CHECK-SAME: (%[[A:.*]]: tensor<4x!lattice.quant<s8, f32>>) -> tensor<4x!lattice.quant<s8, f32>>
// CHECK: %[[R:.*]] = call @callee(%[[A]]) : (tensor<4x!lattice.quant<s8, f32>>) -> tensor<4x!lattice.quant<s8, f32>>
// CHECK: return %[[R]]
func.func private @callee(tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4x!quant.uniform<i8:f32, 0.5>>
func.func @caller(%a: tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4x!quant.uniform<i8:f32, 0.5>> {
  %r = call @callee(%a) : (tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4x!quant.uniform<i8:f32, 0.5>>
  return %r : tensor<4x!quant.uniform<i8:f32, 0.5>>
}
