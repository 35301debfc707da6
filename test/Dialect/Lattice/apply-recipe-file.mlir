// RUN: lattice-opt %s --lattice-recipe-w4a16="recipe-file=%S/Inputs/mixed-recipe.json" \
// RUN:   -verify-diagnostics | FileCheck %s
// RUN: lattice-opt %s --lattice-apply-recipe-file="file=%S/Inputs/mixed-recipe.json" 2>/dev/null \
// RUN:   | FileCheck %s --check-prefix=ANNOTATED
//
// The first rule that matches a layer's name gives it its settings; rules
// that match nothing get a warning.
// CHECK-LABEL: func.func @three
// CHECK: lattice.matmul {{.*}}!lattice.quant<s8, f32, channel<0>>
// CHECK: lattice.matmul {{.*}}!lattice.quant<u4, f16, group<1, 32>, asymmetric>
// CHECK: lattice.matmul {{.*}} : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
// ANNOTATED: lattice.matmul {{.*}} {lattice.quantize = {granularity = "channel", scale_type = "f32", weight_bits = "8"}}
// ANNOTATED: lattice.matmul {{.*}} {lattice.quantize = {block_size = 64 : i64, clip = "mse", granularity = "group", group_size = 32 : i64, method = "rtn", symmetric = false, weight_bits = "4"}}
// ANNOTATED: lattice.matmul {{.*}} {lattice.quantize = {skip}}
// expected-warning@+1 {{layers[2] (match 'unused') matches no layer}}
module {
func.func @three(%x: tensor<2x64xf32>) -> tensor<2x16xf32> {
  %w1 = arith.constant dense<0.5> : tensor<64x64xf32> loc("first")
  %w2 = arith.constant dense<0.25> : tensor<64x64xf32> loc("middle")
  %w3 = arith.constant dense<0.125> : tensor<16x64xf32> loc("last")
  %a = lattice.matmul %x, %w1 accumulate(f32) : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  %b = lattice.matmul %a, %w2 accumulate(f32) : (tensor<2x64xf32>, tensor<64x64xf32>) -> tensor<2x64xf32>
  %c = lattice.matmul %b, %w3 accumulate(f32) : (tensor<2x64xf32>, tensor<16x64xf32>) -> tensor<2x16xf32>
  return %c : tensor<2x16xf32>
}
}
