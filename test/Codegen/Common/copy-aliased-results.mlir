// RUN: lattice-opt %s --pass-pipeline="builtin.module(func.func(lattice-copy-aliased-results))" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu="bare-pointer-abi=true ukernels=true target-cpu=x86-64-v4" -split-input-file -o /dev/null

/// A repeated result and a returned argument get copies; the first use of
/// a value stays as it is.
// CHECK-LABEL: func.func @aliased
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[Y:.*]] = lattice.normalize %[[X]]
// CHECK: %[[E1:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C1:.*]] = linalg.copy ins(%[[Y]] : tensor<4xf32>) outs(%[[E1]] : tensor<4xf32>)
// CHECK: %[[E2:.*]] = tensor.empty() : tensor<4xf32>
// CHECK: %[[C2:.*]] = linalg.copy ins(%[[X]] : tensor<4xf32>) outs(%[[E2]] : tensor<4xf32>)
// CHECK: return %[[Y]], %[[C1]], %[[C2]]
func.func @aliased(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %y = lattice.normalize %x : (tensor<4xf32>) -> tensor<4xf32>
  return %y, %y, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

/// The microkernel's result buffer returned twice (a report build returns
/// a probe next to the model output it equals) used to crash
/// buffer-results-to-out-params.
// CHECK-LABEL: func.func @ukernel_twice
func.func @ukernel_twice(%x: tensor<2x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x2xf16>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %q = lattice.scast %w : tensor<8x64xi8> to tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>
  %y = lattice.matmul %x, %q rhs_scale(%s) accumulate(f32) : (tensor<2x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<2x8xf32>
  return %y, %y : tensor<2x8xf32>, tensor<2x8xf32>
}
