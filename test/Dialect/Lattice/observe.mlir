// RUN: lattice-opt %s --lattice-observe -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-observe="weights=false" -split-input-file | FileCheck %s --check-prefix=INPUTS
// RUN: lattice-opt %s --lattice-observe --lattice-observe -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-observe --lattice-export-observations -split-input-file | FileCheck %s --check-prefix=EXPORT
// RUN: lattice-opt %s --lattice-observe="weights=false outputs=true" --lattice-observe="weights=false outputs=true" -split-input-file | FileCheck %s --check-prefix=OUTPUTS
// RUN: lattice-opt %s --lattice-observe="weights=false outputs=true" --lattice-export-observations -split-input-file | FileCheck %s --check-prefix=EXPORT-OUTPUTS

/// Probes on the input (channel axis K, the last) and on the weight (axis
/// 1, also K); running the pass twice adds nothing.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x8xf32>)
// CHECK: %[[W1:.*]] = arith.constant {{.*}} : tensor<4x8xf32>
// CHECK: %[[W2:.*]] = lattice.weight "fc2.weight"
// CHECK: %[[PX:.*]] = lattice.observe %[[X]] name("fc1:input") channel_axis(2) : tensor<2x3x8xf32>
// CHECK-NEXT: %[[PW1:.*]] = lattice.observe %[[W1]] name("fc1:weight") channel_axis(1) : tensor<4x8xf32>
// CHECK-NEXT: %[[H:.*]] = lattice.matmul %[[PX]], %[[PW1]]
// CHECK-NEXT: %[[PH:.*]] = lattice.observe %[[H]] name("fc2.weight:input") channel_axis(2) : tensor<2x3x4xf32>
// CHECK-NEXT: %[[PW2:.*]] = lattice.observe %[[W2]] name("fc2.weight:weight") channel_axis(1) : tensor<4x4xf32>
// CHECK-NEXT: %[[Y:.*]] = lattice.matmul %[[PH]], %[[PW2]]
// CHECK-NOT: lattice.observe
// CHECK: return %[[Y]]

// INPUTS-LABEL: func.func @mlp
// INPUTS: lattice.observe %{{.*}} name("fc1:input")
// INPUTS-NOT: name("fc1:weight")
// INPUTS: lattice.observe %{{.*}} name("fc2.weight:input")
// INPUTS-NOT: lattice.observe

/// Output probes (for reports) on the matmul results, once however often
/// the pass runs; the next layer reads the probe.
// OUTPUTS-LABEL: func.func @mlp
// OUTPUTS: %[[H:.*]] = lattice.matmul
// OUTPUTS-NEXT: %[[PH:.*]] = lattice.observe %[[H]] name("fc1:output") channel_axis(2)
// OUTPUTS-NEXT: lattice.observe %[[PH]] name("fc2.weight:input")
// OUTPUTS: %[[Y:.*]] = lattice.matmul
// OUTPUTS-NEXT: %[[PY:.*]] = lattice.observe %[[Y]] name("fc2.weight:output")
// OUTPUTS-NOT: lattice.observe
// OUTPUTS: return %[[PY]]

/// The calibration build: probes become results named after them, in
/// program order after the model's own result.
// EXPORT-LABEL: func.func @mlp
// EXPORT-SAME: (%[[X:.*]]: tensor<2x3x8xf32>) -> (tensor<2x3x4xf32>, tensor<2x3x8xf32> {lattice.name = "fc1:input"}, tensor<4x8xf32> {lattice.name = "fc1:weight"}, tensor<2x3x4xf32> {lattice.name = "fc2.weight:input"}, tensor<4x4xf32> {lattice.name = "fc2.weight:weight"})
// EXPORT-NOT: lattice.observe
// EXPORT: %[[H:.*]] = lattice.matmul %[[X]], %[[W1:[^ ]*]]
// EXPORT: %[[Y:.*]] = lattice.matmul %[[H]], %[[W2:[^ ]*]]
// EXPORT: return %[[Y]], %[[X]], %[[W1]], %[[H]], %[[W2]]
func.func @mlp(%x: tensor<2x3x8xf32>) -> tensor<2x3x4xf32> {
  %w1 = arith.constant dense<0.5> : tensor<4x8xf32> loc("fc1")
  %w2 = lattice.weight "fc2.weight" from "mlp.safetensors" : tensor<4x4xf32>
  %h = lattice.matmul %x, %w1 accumulate(f32) : (tensor<2x3x8xf32>, tensor<4x8xf32>) -> tensor<2x3x4xf32>
  %y = lattice.matmul %h, %w2 accumulate(f32) : (tensor<2x3x4xf32>, tensor<4x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

/// Quantized matmuls are not observed.
// CHECK-LABEL: func.func @quantized
// CHECK-NOT: lattice.observe
// EXPORT-LABEL: func.func @quantized
// EXPORT-SAME: -> tensor<1x2xf32>
func.func @quantized(%x: tensor<1x4xf32>, %w: tensor<2x4x!lattice.quant<s8, f32>>, %s: tensor<f32>) -> tensor<1x2xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32) : (tensor<1x4xf32>, tensor<2x4x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

/// One weight used twice (an unrolled recurrence) is one layer: both uses
/// get probes of its names, and the calibration build stacks the inputs
/// of the two steps into one result and returns the weight once.
// CHECK-LABEL: func.func @recurrent
// CHECK-SAME: (%[[X:.*]]: tensor<1x4xf32>)
// CHECK: %[[W:.*]] = arith.constant
// CHECK: lattice.observe %[[X]] name("cell:input") channel_axis(1)
// CHECK: lattice.observe %[[W]] name("cell:weight") channel_axis(1)
// CHECK: %[[H:.*]] = lattice.matmul
// CHECK: lattice.observe %[[H]] name("cell:input") channel_axis(1)
// CHECK: lattice.observe %[[W]] name("cell:weight") channel_axis(1)
// CHECK: lattice.matmul

// INPUTS-LABEL: func.func @recurrent
// A probe that observes another probe (fc2's input is fc1's observed
// output) exports the value beneath both.
// EXPORT-OUTPUTS-LABEL: func.func @mlp
// EXPORT-OUTPUTS-SAME: {lattice.name = "fc1:output"}, tensor<2x3x4xf32> {lattice.name = "fc2.weight:input"}
// EXPORT-OUTPUTS: %[[H:.*]] = lattice.matmul
// EXPORT-OUTPUTS: %[[Y:.*]] = lattice.matmul %[[H]]
// EXPORT-OUTPUTS-NOT: lattice.observe
// EXPORT-OUTPUTS: return %[[Y]], %arg0, %[[H]], %[[H]], %[[Y]]

// OUTPUTS-LABEL: func.func @recurrent
// OUTPUTS-COUNT-2: name("cell:output")

// EXPORT-LABEL: func.func @recurrent
// EXPORT-SAME: (%[[X:.*]]: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<2x4xf32> {lattice.name = "cell:input"}, tensor<4x4xf32> {lattice.name = "cell:weight"})
// EXPORT: %[[W:.*]] = arith.constant
// EXPORT: %[[H:.*]] = lattice.matmul %[[X]], %[[W]]
// EXPORT: %[[Y:.*]] = lattice.matmul %[[H]], %[[W]]
// EXPORT: %[[E:.*]] = tensor.empty() : tensor<2x4xf32>
// EXPORT: %[[P0:.*]] = tensor.insert_slice %[[X]] into %[[E]][0, 0] [1, 4] [1, 1]
// EXPORT: %[[P1:.*]] = tensor.insert_slice %[[H]] into %[[P0]][1, 0] [1, 4] [1, 1]
// EXPORT: return %[[Y]], %[[P1]], %[[W]]
func.func @recurrent(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<0.5> : tensor<4x4xf32> loc("cell")
  %h = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %y = lattice.matmul %h, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
