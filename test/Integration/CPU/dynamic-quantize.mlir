// Executes lattice.dynamic_quantize and checks the codes, scales and zero
// points against values computed by hand from the documented semantics:
// ranges widened to contain 0, NaN skipped, all-zero and infinite blocks
// falling back to scale 1, asymmetric zero points from the rounded scale,
// groups (a shorter last one included) and ternary storage.
//
// RUN: lattice-opt %s --lattice-lower-to-cpu="target-cpu=x86-64" \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils,%omp_lib \
// RUN: | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils,%omp_lib \
// RUN: | FileCheck %s

func.func private @printMemrefF32(memref<*xf32>)
func.func private @printMemrefI32(memref<*xi32>)

func.func @printF(%t: tensor<?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?xf32> to memref<?xf32>
  %u = memref.cast %m : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @printF2(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // Per-token s8. Row 0: scale 127 / 127 = 1. Row 1: NaN skipped, scale
  // 0.5 / 127, -0.125 / s = -31.75 -> -32, NaN -> 0. Row 2: all zero ->
  // scale 1. Row 3: an infinity -> scale 1, inf saturates at 127.
  // CHECK: [1,   -2,   0,   127],
  // CHECK-NEXT: [0,   127,   -32,   0],
  // CHECK-NEXT: [0,   0,   0,   0],
  // CHECK-NEXT: [127,   1,   -1,   0]
  // CHECK: [1,  0.00393701,  1,  1]
  %x0 = arith.constant dense<[[1.0, -2.0, 0.5, 127.0],
                              [0x7FC00000, 0.5, -0.125, 0.0],
                              [0.0, 0.0, 0.0, 0.0],
                              [0x7F800000, 1.0, -1.0, 0.0]]> : tensor<4x4xf32>
  %q0, %s0 = lattice.dynamic_quantize %x0
      : (tensor<4x4xf32>) -> (tensor<4x4x!lattice.quant<s8, f32, channel<0>>>, tensor<4xf32>)
  %one0 = arith.constant dense<1.0> : tensor<4xf32>
  %c0 = lattice.dequantize %q0, %one0 : (tensor<4x4x!lattice.quant<s8, f32, channel<0>>>, tensor<4xf32>) -> tensor<4x4xf32>
  %p0 = tensor.cast %c0 : tensor<4x4xf32> to tensor<?x?xf32>
  call @printF2(%p0) : (tensor<?x?xf32>) -> ()
  %ps0 = tensor.cast %s0 : tensor<4xf32> to tensor<?xf32>
  call @printF(%ps0) : (tensor<?xf32>) -> ()

  // Per-tensor u8 asymmetric on [-1, 3]: scale 4 / 255, zero point
  // round(63.75) = 64; codes 0, 64 and 191 + 64 = 255.
  // CHECK: [0,  64,  255]
  // CHECK: [0.0156863]
  // CHECK: [64]
  %x1 = arith.constant dense<[-1.0, 0.0, 3.0]> : tensor<3xf32>
  %q1, %s1, %z1 = lattice.dynamic_quantize %x1
      : (tensor<3xf32>) -> (tensor<3x!lattice.quant<u8, f32, asymmetric>>, tensor<f32>, tensor<i32>)
  %one1 = arith.constant dense<1.0> : tensor<f32>
  %zero1 = arith.constant dense<0> : tensor<i32>
  %c1 = lattice.dequantize %q1, %one1, %zero1 : (tensor<3x!lattice.quant<u8, f32, asymmetric>>, tensor<f32>, tensor<i32>) -> tensor<3xf32>
  %p1 = tensor.cast %c1 : tensor<3xf32> to tensor<?xf32>
  call @printF(%p1) : (tensor<?xf32>) -> ()
  %sv1 = tensor.extract %s1[] : tensor<f32>
  %e1 = tensor.from_elements %sv1 : tensor<1xf32>
  %ps1 = tensor.cast %e1 : tensor<1xf32> to tensor<?xf32>
  call @printF(%ps1) : (tensor<?xf32>) -> ()
  %zv1 = tensor.extract %z1[] : tensor<i32>
  %zt1 = tensor.from_elements %zv1 : tensor<1xi32>
  %zm1 = bufferization.to_buffer %zt1 : tensor<1xi32> to memref<1xi32>
  %zu1 = memref.cast %zm1 : memref<1xi32> to memref<*xi32>
  call @printMemrefI32(%zu1) : (memref<*xi32>) -> ()

  // s4 in groups of 2 along K: group 0 has scale 7 / 7 = 1; group 1 has
  // scale 0.5 / 7, where -0.125 / s = -1.75 -> -2.
  // CHECK: [1,   -7,   7,   -2]
  %x2 = arith.constant dense<[[1.0, -7.0, 0.5, -0.125]]> : tensor<1x4xf32>
  %q2, %s2 = lattice.dynamic_quantize %x2
      : (tensor<1x4xf32>) -> (tensor<1x4x!lattice.quant<s4, f32, group<1, 2>>>, tensor<1x2xf32>)
  %one2 = arith.constant dense<1.0> : tensor<1x2xf32>
  %c2 = lattice.dequantize %q2, %one2 : (tensor<1x4x!lattice.quant<s4, f32, group<1, 2>>>, tensor<1x2xf32>) -> tensor<1x4xf32>
  %p2 = tensor.cast %c2 : tensor<1x4xf32> to tensor<?x?xf32>
  call @printF2(%p2) : (tensor<?x?xf32>) -> ()

  // s4 in groups of 2 over K = 5: the third group holds the last element
  // alone. Row 0: scales 1, 0.5 / 7 and 3.5 / 7. Row 1: scales 2 / 7, 1
  // (all zero) and 1 / 7.
  // CHECK: [1,   -7,   7,   -2,   7],
  // CHECK-NEXT: [7,   0,   0,   0,   -7]
  // CHECK: [1,   0.0714286,   0.5],
  // CHECK-NEXT: [0.285714,   1,   0.142857]
  %x4 = arith.constant dense<[[1.0, -7.0, 0.5, -0.125, 3.5], [2.0, 0.0, 0.0, 0.0, -1.0]]> : tensor<2x5xf32>
  %q4, %s4 = lattice.dynamic_quantize %x4
      : (tensor<2x5xf32>) -> (tensor<2x5x!lattice.quant<s4, f32, group<1, 2>>>, tensor<2x3xf32>)
  %one4 = arith.constant dense<1.0> : tensor<2x3xf32>
  %c4 = lattice.dequantize %q4, %one4 : (tensor<2x5x!lattice.quant<s4, f32, group<1, 2>>>, tensor<2x3xf32>) -> tensor<2x5xf32>
  %p4 = tensor.cast %c4 : tensor<2x5xf32> to tensor<?x?xf32>
  call @printF2(%p4) : (tensor<?x?xf32>) -> ()
  %ps4 = tensor.cast %s4 : tensor<2x3xf32> to tensor<?x?xf32>
  call @printF2(%ps4) : (tensor<?x?xf32>) -> ()

  // Ternary per tensor: scale 1; 0.25 -> 0, 0.75 -> 1.
  // CHECK: [0,  -1,  1]
  %x3 = arith.constant dense<[0.25, -1.0, 0.75]> : tensor<3xf32>
  %q3, %s3 = lattice.dynamic_quantize %x3
      : (tensor<3xf32>) -> (tensor<3x!lattice.quant<ternary, f32>>, tensor<f32>)
  %c3 = lattice.dequantize %q3, %one1 : (tensor<3x!lattice.quant<ternary, f32>>, tensor<f32>) -> tensor<3xf32>
  %p3 = tensor.cast %c3 : tensor<3xf32> to tensor<?xf32>
  call @printF(%p3) : (tensor<?xf32>) -> ()
  return
}
