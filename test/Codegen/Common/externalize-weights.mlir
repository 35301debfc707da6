// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/../../Dialect/Lattice/Inputs/make-stats.py %t/w.safetensors "fc@2x2=1,2,3,4"
// RUN: lattice-opt %s --lattice-externalize-weights="weights-file=%t/out.safetensors dir=%t" \
// RUN:   --mlir-print-debuginfo | FileCheck %s
// RUN: %PYTHON %S/Inputs/list-safetensors.py %t/out.safetensors | FileCheck %s --check-prefix=FILE

/// The external weight (read twice: one argument) and the quantized
/// constant (4-bit codes, packed two to a byte) become trailing arguments
/// that say what the file holds; the small float constant stays.
// CHECK-LABEL: func.func @model
// CHECK-SAME: %[[X:[^:]*]]: tensor<3x2xf32>
// CHECK-SAME: %[[FC:[^:]*]]: tensor<2x2xf32> {lattice.stored_weight = {dtype = "F32", name = "fc", shape = array<i64: 2, 2>}}
// CHECK-SAME: %[[Q:[^:]*]]: tensor<2x2x!lattice.quant<s4, f32, channel<0>>> {lattice.stored_weight = {dtype = "U8", name = "q", shape = array<i64: 2>}}
// CHECK-NOT: lattice.weight
// CHECK-NOT: lattice.scast
// CHECK: arith.constant dense<{{.*}}> : tensor<2xf32>
// CHECK: lattice.matmul %[[X]], %[[FC]]
// CHECK: lattice.matmul %[[X]], %[[FC]]
// CHECK: lattice.matmul %[[X]], %[[Q]]

// FILE: fc F32 [2, 2] [1.0, 2.0, 3.0, 4.0]
// FILE-NEXT: q U8 [2] [33, 79]
func.func @model(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<2xf32>) {
  %w = lattice.weight "fc" from "w.safetensors" : tensor<2x2xf32>
  %again = lattice.weight "fc" from "w.safetensors" : tensor<2x2xf32>
  %codes = arith.constant dense<[[1, 2], [-1, 4]]> : tensor<2x2xi8> loc("q")
  %q = lattice.scast %codes : tensor<2x2xi8> to tensor<2x2x!lattice.quant<s4, f32, channel<0>>> loc("q")
  %s = arith.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %a = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %b = lattice.matmul %x, %again accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %c = lattice.matmul %x, %q rhs_scale(%s) accumulate(f32) : (tensor<3x2xf32>, tensor<2x2x!lattice.quant<s4, f32, channel<0>>>, tensor<2xf32>) -> tensor<3x2xf32>
  return %a, %b, %c, %s : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>, tensor<2xf32>
}
