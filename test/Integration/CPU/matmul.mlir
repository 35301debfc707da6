// Executes the lowering of lattice.matmul (float x quantized with groups,
// and integer x integer with per-token, per-channel, asymmetric and grouped
// scales) and checks the results against values computed by hand. Each case
// is built so that the quantization is exact and the result equals the float
// product of the original matrices.
//
// RUN: lattice-opt %s --convert-lattice-to-linalg --convert-elementwise-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:   --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata \
// RUN:   --lower-affine --convert-to-llvm --reconcile-unrealized-casts \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
//
// The same through the CPU pipeline, portable (SSE2) and for this machine:
// RUN: lattice-opt %s --lattice-lower-to-cpu="target-cpu=x86-64" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils,%omp_lib \
// RUN: | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils,%omp_lib \
// RUN: | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)

func.func @print(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // W4A16-style: f32 activations x s4 weights in groups of 2 (f16 scales).
  // Row 1 of W has scale 0.5 in its first group: codes 1 1 -1 7.
  // y = [1*1 + 2*-2 + 3*3 + 4*4, 0.5 + 1 - 3 + 28] = [22, 26.5].
  // CHECK: {{\[}}[22,   26.5]]
  %x0 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %w0 = arith.constant dense<[[1.0, -2.0, 3.0, 4.0], [0.5, 0.5, -1.0, 7.0]]> : tensor<2x4xf32>
  %ws0 = arith.constant dense<[[1.0, 1.0], [0.5, 1.0]]> : tensor<2x2xf16>
  %wq0 = lattice.quantize %w0, %ws0 : (tensor<2x4xf32>, tensor<2x2xf16>) -> tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>
  %y0 = lattice.matmul %x0, %wq0 rhs_scale(%ws0) accumulate(f32)
      : (tensor<1x4xf32>, tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>, tensor<2x2xf16>) -> tensor<1x2xf32>
  %p0 = tensor.cast %y0 : tensor<1x2xf32> to tensor<?x?xf32>
  call @print(%p0) : (tensor<?x?xf32>) -> ()

  // W8A8: per-token activations (scales 1, 0.5), per-channel weights
  // (scales 1, 0.5); i32 sums [[3, 0], [14, 8]], epilogue sum * s_x * s_w.
  // X * W^T = [[3, 0], [7, 2]].
  // CHECK: {{\[}}[3,   0],
  // CHECK-NEXT: [7,   2]]
  %x1 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %xs1 = arith.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %w1 = arith.constant dense<[[1.0, 1.0], [2.0, -1.0]]> : tensor<2x2xf32>
  %ws1 = arith.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %xq1 = lattice.quantize %x1, %xs1 : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %wq1 = lattice.quantize %w1, %ws1 : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2x!lattice.quant<s8, f32, channel<0>>>
  %y1 = lattice.matmul %xq1, %wq1 lhs_scale(%xs1) rhs_scale(%ws1) accumulate(i32)
      : (tensor<2x2x!lattice.quant<s8, f32, channel<0>>>, tensor<2x2x!lattice.quant<s8, f32, channel<0>>>,
         tensor<2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %p1 = tensor.cast %y1 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print(%p1) : (tensor<?x?xf32>) -> ()

  // Asymmetric u8 activations (scale 0.5, zero point 10: codes 10 12 14 16)
  // against s8 ones: sum of (q - 10) * 1 = 12, times 0.5 = 6 = 0 + 1 + 2 + 3.
  // CHECK: {{\[}}[6]]
  %x2 = arith.constant dense<[[0.0, 1.0, 2.0, 3.0]]> : tensor<1x4xf32>
  %xs2 = arith.constant dense<0.5> : tensor<f32>
  %xz2 = arith.constant dense<10> : tensor<i16>
  %w2 = arith.constant dense<1.0> : tensor<1x4xf32>
  %ws2 = arith.constant dense<1.0> : tensor<f32>
  %xq2 = lattice.quantize %x2, %xs2, %xz2 : (tensor<1x4xf32>, tensor<f32>, tensor<i16>) -> tensor<1x4x!lattice.quant<u8, f32, asymmetric>>
  %wq2 = lattice.quantize %w2, %ws2 : (tensor<1x4xf32>, tensor<f32>) -> tensor<1x4x!lattice.quant<s8, f32>>
  %y2 = lattice.matmul %xq2, %wq2 lhs_scale(%xs2) lhs_zero_point(%xz2) rhs_scale(%ws2) accumulate(i32)
      : (tensor<1x4x!lattice.quant<u8, f32, asymmetric>>, tensor<1x4x!lattice.quant<s8, f32>>,
         tensor<f32>, tensor<i16>, tensor<f32>) -> tensor<1x1xf32>
  %p2 = tensor.cast %y2 : tensor<1x1xf32> to tensor<?x?xf32>
  call @print(%p2) : (tensor<?x?xf32>) -> ()

  // Both grouped (groups of 2): codes x = 1 2 6 8 (scales 1, 0.5), w = 1 1
  // 2 2 (scales 1, 0.5); per-group sums 3 and 28; 3 + 28 * 0.25 = 10.
  // CHECK: {{\[}}[10]]
  %x3 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %xs3 = arith.constant dense<[[1.0, 0.5]]> : tensor<1x2xf32>
  %w3 = arith.constant dense<1.0> : tensor<1x4xf32>
  %ws3 = arith.constant dense<[[1.0, 0.5]]> : tensor<1x2xf32>
  %xq3 = lattice.quantize %x3, %xs3 : (tensor<1x4xf32>, tensor<1x2xf32>) -> tensor<1x4x!lattice.quant<s8, f32, group<1, 2>>>
  %wq3 = lattice.quantize %w3, %ws3 : (tensor<1x4xf32>, tensor<1x2xf32>) -> tensor<1x4x!lattice.quant<s4, f32, group<1, 2>>>
  %y3 = lattice.matmul %xq3, %wq3 lhs_scale(%xs3) rhs_scale(%ws3) accumulate(i32)
      : (tensor<1x4x!lattice.quant<s8, f32, group<1, 2>>>, tensor<1x4x!lattice.quant<s4, f32, group<1, 2>>>,
         tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x1xf32>
  %p3 = tensor.cast %y3 : tensor<1x1xf32> to tensor<?x?xf32>
  call @print(%p3) : (tensor<?x?xf32>) -> ()

  // Float x float with an f16 result: [[1, 2]] x [[3, 4], [5, -6]]^T.
  // CHECK: {{\[}}[11,   -7]]
  %x4 = arith.constant dense<[[1.0, 2.0]]> : tensor<1x2xf16>
  %w4 = arith.constant dense<[[3.0, 4.0], [5.0, -6.0]]> : tensor<2x2xf32>
  %y4 = lattice.matmul %x4, %w4 accumulate(f32) : (tensor<1x2xf16>, tensor<2x2xf32>) -> tensor<1x2xf16>
  %y4f = arith.extf %y4 : tensor<1x2xf16> to tensor<1x2xf32>
  %p4 = tensor.cast %y4f : tensor<1x2xf32> to tensor<?x?xf32>
  call @print(%p4) : (tensor<?x?xf32>) -> ()
  return
}
