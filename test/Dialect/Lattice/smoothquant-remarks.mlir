// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats \
// RUN:   "fc:input.min@=-9" "fc:input.max@=4" "fc:input.absmax@4=4,1,0,9" \
// RUN:   "out:input.min@=-9" "out:input.max@=4" "out:input.absmax@4=4,1,0,9" \
// RUN:   "fc:input.xtx@4x4=16,0,0,0,0,1,0,0,0,0,0,0,0,0,0,81" "fc:input.rows@=1" \
// RUN:   "dyn:input.min@=-9" "dyn:input.max@=4" "dyn:input.absmax@4=4,1,0,9" \
// RUN:   "dyn:input.xtx@4x4=16,0,0,0,0,1,0,0,0,0,0,0,0,0,0,81" "dyn:input.rows@=1" \
// RUN:   "out:input.xtx@4x4=16,0,0,0,0,1,0,0,0,0,0,0,0,0,0,81" "out:input.rows@=1" \
// RUN:   "cell:input.min@=-9" "cell:input.max@=4" "cell:input.absmax@4=4,1,0,9" \
// RUN:   "cell:input.xtx@4x4=16,0,0,0,0,1,0,0,0,0,0,0,0,0,0,81" "cell:input.rows@=2"
// RUN: lattice-opt %s --lattice-smoothquant="stats=%t.stats" -split-input-file -verify-diagnostics | FileCheck %s
// RUN: lattice-opt %s --lattice-smoothquant="stats=%t.stats alpha-search=true" -split-input-file 2>&1 | FileCheck %s --check-prefix=SEARCH

/// The input is a function argument: an explicit channel_scale by 1/s.
// CHECK-LABEL: func.func @argument
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK: %[[INV:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: %[[XS:.*]] = lattice.channel_scale %[[X]], %[[INV]] axis(1)
// CHECK: lattice.matmul %[[XS]], %{{.*}} accumulate(f32)

/// alpha-search picks alpha per group and says which.
// SEARCH: remark: layer 'fc': alpha {{(0|1|0\.[0-9]+)$}}
func.func @argument(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("fc")
  // expected-remark@+1 {{layer 'fc': the producer of its input cannot absorb the smoothing factors; kept an explicit lattice.channel_scale}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// The norm's output is also returned: its gain must stay.
// CHECK-LABEL: func.func @other_user
// CHECK: %[[N:.*]] = lattice.rms_norm
// CHECK: %[[XS:.*]] = lattice.channel_scale %[[N]]
// CHECK: lattice.matmul %[[XS]]
// CHECK: return %{{.*}}, %[[N]]
func.func @other_user(%x: tensor<3x4xf32>) -> (tensor<3x2xf32>, tensor<3x4xf32>) {
  %g = arith.constant dense<1.0> : tensor<4xf32>
  %n = lattice.rms_norm %x, %g : (tensor<3x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("out")
  // expected-remark@+1 {{layer 'out': the producer of its input cannot absorb the smoothing factors; kept an explicit lattice.channel_scale}}
  %y = lattice.matmul %n, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y, %n : tensor<3x2xf32>, tensor<3x4xf32>
}

// -----

/// A dynamic K in the input: the factors come from the static weight.
// CHECK-LABEL: func.func @dynamic_k
// CHECK: %[[INV:.*]] = arith.constant dense<[5.000000e-01, 2.000000e+00, 1.000000e+00, 0.333333343]> : tensor<4xf32>
// CHECK: lattice.channel_scale %{{.*}}, %[[INV]] axis(1) : (tensor<3x?xf32>, tensor<4xf32>) -> tensor<3x?xf32>
func.func @dynamic_k(%x: tensor<3x?xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 0.0], [0.25, 1.0, -1.0, 1.0]]> : tensor<2x4xf32> loc("dyn")
  // expected-remark@+1 {{layer 'dyn': the producer of its input cannot absorb the smoothing factors; kept an explicit lattice.channel_scale}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x?xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

/// A weight shared by two steps: one remark for the group, counting the
/// inputs that kept a channel_scale.
// CHECK-LABEL: func.func @recurrent
// CHECK-COUNT-2: lattice.channel_scale
func.func @recurrent(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = arith.constant dense<[[1.0, 4.0, 2.0, 1.0], [1.0, 1.0, 1.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32> loc("cell")
  // expected-remark@+1 {{layer 'cell': the producer of its input cannot absorb the smoothing factors; kept an explicit lattice.channel_scale on 2 of 2 inputs}}
  %h = lattice.matmul %x, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  %y = lattice.matmul %h, %w accumulate(f32) : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
