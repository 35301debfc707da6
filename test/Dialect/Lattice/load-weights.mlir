// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/Inputs/make-stats.py %t/w.safetensors "fc@2x2=1,2,3,0.5" "gain@2=0.25,4"
// RUN: %PYTHON %S/Inputs/make-stats.py %t/h.safetensors --dtype F16 "half@2=1.5,-2"
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" --mlir-print-debuginfo | FileCheck %s
// RUN: cd %t && lattice-opt %s --lattice-load-weights | FileCheck %s --check-prefix=CWD

/// Float weights become constants named after the weight; quantized ones
/// stay external.
// CHECK-LABEL: func.func @model
// CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 5.000000e-01]]> : tensor<2x2xf32> loc(#[[FC:.*]])
// CHECK-DAG: arith.constant dense<[2.500000e-01, 4.000000e+00]> : tensor<2xf32> loc(#[[GAIN:.*]])
// CHECK-DAG: arith.constant dense<[1.500000e+00, -2.000000e+00]> : tensor<2xf16>
// CHECK-DAG: lattice.weight "codes" from "q.safetensors"
// CHECK-NOT: lattice.weight "fc"
// CHECK-DAG: #[[FC]] = loc("fc"
// CHECK-DAG: #[[GAIN]] = loc("gain"
// CWD: arith.constant dense<{{\[}}[1.000000e+00, 2.000000e+00]
func.func @model(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<2xf16>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>) {
  %w = lattice.weight "fc" from "w.safetensors" : tensor<2x2xf32>
  %g = lattice.weight "gain" from "w.safetensors" : tensor<2xf32>
  %h = lattice.weight "half" from "h.safetensors" : tensor<2xf16>
  %q = lattice.weight "codes" from "q.safetensors" : tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %n = lattice.rms_norm %x, %g : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
  %y = lattice.matmul %n, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y, %h, %q : tensor<3x2xf32>, tensor<2xf16>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
}
