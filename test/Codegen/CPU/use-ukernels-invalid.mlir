// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=2" -split-input-file -verify-diagnostics

// One row against a weight of 4 MB in the panels: the GEMM kernel takes few
// rows over weights that stay in cache only, and the generated GEMV would
// read the panels as a plain weight.
func.func @one_row_large_prepacked(%x: tensor<1x1024xf32>, %w: tensor<1024x1024xf32> {lattice.layout = "f32-panels32"}) -> tensor<1x1024xf32> {
  // expected-error @below {{weight stored in layout 'f32-panels32', which no microkernel for this matmul reads}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x1024xf32>, tensor<1024x1024xf32>) -> tensor<1x1024xf32>
  return %y : tensor<1x1024xf32>
}

// -----

// The same in a module where no matmul is a microkernel's.
func.func @only_matmul(%x: tensor<2x64xf32>, %w: tensor<4x64xf32> {lattice.layout = "s8-panels32"}) -> tensor<2x4xf32> {
  // expected-error @below {{weight stored in layout 's8-panels32', which no microkernel for this matmul reads}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<4x64xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
