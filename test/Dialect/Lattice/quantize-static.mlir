// Static activation quantization from calibration statistics.
// RUN: %PYTHON %S/Inputs/make-stats.py %t.stats "fc:input.min@=-6.35" "fc:input.max@=2" "fc:input.histogram@4=90,9,0,1"
// RUN: lattice-opt %s --lattice-quantize="activations=static stats=%t.stats" | FileCheck %s
// RUN: lattice-opt %s --lattice-quantize="activations=static activation-percentile=99 stats=%t.stats" | FileCheck %s --check-prefix=P99
// RUN: lattice-opt %s --lattice-quantize="activations=static activation-bits=4 stats=%t.stats" | FileCheck %s --check-prefix=A4

/// max |x| = 6.35 over the calibration data: scale 6.35 / 127.
// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK-DAG: %[[XS:.*]] = arith.constant dense<5.000000e-02> : tensor<f32>
// CHECK-DAG: %[[W:.*]] = lattice.scast %{{.*}} : tensor<2x4xi8> to tensor<2x4x!lattice.quant<s8, f32, channel<0>>>
// CHECK-DAG: %[[WS:.*]] = arith.constant dense<{{.*}}> : tensor<2xf32>
// CHECK: %[[XQ:.*]] = lattice.quantize %[[X]], %[[XS]] : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4x!lattice.quant<s8, f32>>
// CHECK: %[[Y:.*]] = lattice.matmul %[[XQ]], %[[W]] lhs_scale(%[[XS]]) rhs_scale(%[[WS]]) accumulate(i32)
// CHECK: return %[[Y]]

/// 99 % of |x| lies in the first two of four bins of [0, 6.35]: the range
/// is 3.175 and the scale 3.175 / 127.
// P99-LABEL: func.func @linear
// P99: %[[XS:.*]] = arith.constant dense<2.500000e-02> : tensor<f32>
// P99: lattice.quantize %{{.*}}, %[[XS]]

/// 4-bit activations: scale 6.35 / 7.
// A4-LABEL: func.func @linear
// A4: %[[XS:.*]] = arith.constant dense<0.907142817> : tensor<f32>
// A4: lattice.quantize %{{.*}}, %[[XS]] : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4x!lattice.quant<s4, f32>>
func.func @linear(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 15.0, -1.0, 14.0], [7.0, -3.5, 1.75, -0.25]]> : tensor<2x4xf32> loc("fc")
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

/// A matmul that lattice-smoothquant smoothed carries its input's range
/// (lattice.input_absmax): the 100th percentile takes it (scale 2.54 / 127,
/// 2.54 / 7 in 4 bits) instead of the statistics, which describe the input
/// before smoothing; other percentiles need statistics of the smoothed
/// model and read the file.
// CHECK-LABEL: func.func @smoothed
// CHECK: %[[XS:.*]] = arith.constant dense<2.000000e-02> : tensor<f32>
// CHECK: lattice.quantize %{{.*}}, %[[XS]]
// CHECK-NOT: lattice.input_absmax
// P99-LABEL: func.func @smoothed
// P99: %[[XS:.*]] = arith.constant dense<2.500000e-02> : tensor<f32>
// P99: lattice.quantize %{{.*}}, %[[XS]]
// A4-LABEL: func.func @smoothed
// A4: %[[XS:.*]] = arith.constant dense<0.362857133> : tensor<f32>
// A4: lattice.quantize %{{.*}}, %[[XS]]
func.func @smoothed(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[0.0, 15.0, -1.0, 14.0], [7.0, -3.5, 1.75, -0.25]]> : tensor<2x4xf32> loc("fc")
  %y = lattice.matmul %x, %w accumulate(f32) {lattice.input_absmax = 2.54 : f32}
      : (tensor<3x4xf32>, tensor<2x4xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
