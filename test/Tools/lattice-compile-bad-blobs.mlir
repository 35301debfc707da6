// Weight blobs whose bytes do not match their type are errors, not reads
// past their end.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not lattice-compile %s -o %t/m 2>&1 | FileCheck %s
// CHECK: error: constant of type 'tensor<128x128xf32>' has no data that the weights file can hold
// RUN: not lattice-compile %S/Inputs/bad-code-blob.mlir -o %t/q 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CODES
// CODES: error: quantized constant of type 'tensor<128x128xi8>' has no data that the weights file can hold
func.func @model(%x: tensor<3x128xf32>) -> tensor<3x128xf32> {
  %w = arith.constant dense_resource<short_blob> : tensor<128x128xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x128xf32>, tensor<128x128xf32>) -> tensor<3x128xf32>
  return %y : tensor<3x128xf32>
}

{-#
  dialect_resources: {
    builtin: {
      short_blob: "0x040000000000803F"
    }
  }
#-}
