// Executes the portable lowering of quantize/dequantize/requantize/fake_quant
// and checks every value against results computed by hand from the ops'
// documented numerics (ties to even, saturation, NaN to the zero point,
// zero points at the storage limits, groups, ternary and binary codes).
//
// RUN: lattice-opt %s --convert-lattice-to-linalg \
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
//
// Every quantize here has constant operands: canonicalization quantizes them
// at compile time (constant codes behind lattice.scast), and the printed
// values must not change, in either pipeline.
// RUN: lattice-opt %s --canonicalize > %t.folded.mlir
// RUN: FileCheck %s --check-prefix=FOLDED --implicit-check-not=lattice.quantize < %t.folded.mlir
// RUN: lattice-opt %t.folded.mlir --convert-lattice-to-linalg \
// RUN:   --one-shot-bufferize="bufferize-function-boundaries" \
// RUN:   --convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata \
// RUN:   --lower-affine --convert-to-llvm --reconcile-unrealized-casts \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils \
// RUN: | FileCheck %s
// RUN: lattice-opt %t.folded.mlir --lattice-lower-to-cpu \
// RUN: | mlir-runner -e main -entry-point-result=void \
// RUN:   -shared-libs=%mlir_runner_utils,%mlir_c_runner_utils,%omp_lib \
// RUN: | FileCheck %s
// FOLDED-COUNT-7: lattice.scast

func.func private @printMemrefF32(memref<*xf32>)

func.func @print1(%t: tensor<?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?xf32> to memref<?xf32>
  %u = memref.cast %m : memref<?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @print2(%t: tensor<2x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<2x?xf32> to memref<2x?xf32>
  %u = memref.cast %m : memref<2x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // s8, scale 0.5: 1.25 -> 2.5 -> 2 and 1.75 -> 3.5 -> 4 (ties to even),
  // +-1000 and +inf saturate, NaN -> 0; printed as code * 0.5.
  // CHECK: [1,  2,  -1,  63.5,  -64,  63.5,  0]
  %x0 = arith.constant dense<[1.25, 1.75, -1.25, 1000.0, -1000.0, 0x7F800000, 0x7FC00000]> : tensor<7xf32>
  %s0 = arith.constant dense<0.5> : tensor<f32>
  %q0 = lattice.quantize %x0, %s0 : (tensor<7xf32>, tensor<f32>) -> tensor<7x!lattice.quant<s8, f32>>
  %y0 = lattice.dequantize %q0, %s0 : (tensor<7x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<7xf32>
  %p0 = tensor.cast %y0 : tensor<7xf32> to tensor<?xf32>
  call @print1(%p0) : (tensor<?xf32>) -> ()

  // u8 with zero point 128, scale 1: codes 0, 128, 255 (127.5 -> 128, + 128
  // saturates), 254; printed as q - 128.
  // CHECK: [-128,  0,  127,  126]
  %x1 = arith.constant dense<[-200.0, 0.0, 127.5, 126.5]> : tensor<4xf32>
  %s1 = arith.constant dense<1.0> : tensor<f32>
  %z1 = arith.constant dense<128> : tensor<i16>
  %q1 = lattice.quantize %x1, %s1, %z1 : (tensor<4xf32>, tensor<f32>, tensor<i16>) -> tensor<4x!lattice.quant<u8, f32, asymmetric>>
  %y1 = lattice.dequantize %q1, %s1, %z1 : (tensor<4x!lattice.quant<u8, f32, asymmetric>>, tensor<f32>, tensor<i16>) -> tensor<4xf32>
  %p1 = tensor.cast %y1 : tensor<4xf32> to tensor<?xf32>
  call @print1(%p1) : (tensor<?xf32>) -> ()

  // s4 in groups of 2 along axis 1 with f16 scales [1, 0.25]: row 0 gives
  // codes 1 1 4 4; row 1 saturates at 7 and -8, 0.3 -> 1.2 -> 1 and
  // 0.13 -> 0.52 -> 1. Dequantized with unit scales to show the codes.
  // CHECK: {{\[}}[1,   1,   4,   4],
  // CHECK-NEXT: [7,   -8,   1,   1]]
  %x2 = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [100.0, -100.0, 0.3, 0.13]]> : tensor<2x4xf32>
  %s2 = arith.constant dense<[[1.0, 0.25], [1.0, 0.25]]> : tensor<2x2xf16>
  %one2 = arith.constant dense<1.0> : tensor<2x2xf16>
  %q2 = lattice.quantize %x2, %s2 : (tensor<2x4xf32>, tensor<2x2xf16>) -> tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>
  %y2 = lattice.dequantize %q2, %one2 : (tensor<2x4x!lattice.quant<s4, f16, group<1, 2>>>, tensor<2x2xf16>) -> tensor<2x4xf32>
  %p2 = tensor.cast %y2 : tensor<2x4xf32> to tensor<2x?xf32>
  call @print2(%p2) : (tensor<2x?xf32>) -> ()

  // Ternary, scale 1: 0.5 -> 0 (tie to even), 1.5 saturates at 1.
  // CHECK: [0,  0,  1,  1,  -1]
  %x3 = arith.constant dense<[0.4, 0.5, 0.6, 1.5, -0.7]> : tensor<5xf32>
  %q3 = lattice.quantize %x3, %s1 : (tensor<5xf32>, tensor<f32>) -> tensor<5x!lattice.quant<ternary, f32>>
  %y3 = lattice.dequantize %q3, %s1 : (tensor<5x!lattice.quant<ternary, f32>>, tensor<f32>) -> tensor<5xf32>
  %p3 = tensor.cast %y3 : tensor<5xf32> to tensor<?xf32>
  call @print1(%p3) : (tensor<?xf32>) -> ()

  // Binary, scale 2: the sign (zero and NaN count as +1), times 2.
  // CHECK: [2,  -2,  2,  2]
  %x4 = arith.constant dense<[0.0, -0.1, 3.0, 0x7FC00000]> : tensor<4xf32>
  %s4 = arith.constant dense<2.0> : tensor<f32>
  %q4 = lattice.quantize %x4, %s4 : (tensor<4xf32>, tensor<f32>) -> tensor<4x!lattice.quant<binary, f32>>
  %y4 = lattice.dequantize %q4, %s4 : (tensor<4x!lattice.quant<binary, f32>>, tensor<f32>) -> tensor<4xf32>
  %p4 = tensor.cast %y4 : tensor<4xf32> to tensor<?xf32>
  call @print1(%p4) : (tensor<?xf32>) -> ()

  // nearest_away: 1.25 / 0.5 = 2.5 -> 3, -2.5 -> -3.
  // CHECK: [1.5,  -1.5]
  %x5 = arith.constant dense<[1.25, -1.25]> : tensor<2xf32>
  %q5 = lattice.quantize %x5, %s0 {rounding = #lattice.rounding<nearest_away>} : (tensor<2xf32>, tensor<f32>) -> tensor<2x!lattice.quant<s8, f32>>
  %y5 = lattice.dequantize %q5, %s0 : (tensor<2x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<2xf32>
  %p5 = tensor.cast %y5 : tensor<2xf32> to tensor<?xf32>
  call @print1(%p5) : (tensor<?xf32>) -> ()

  // fake_quant, u4 asymmetric per row: row 0 (s 0.5, z 8): codes 10, 0,
  // 15 (28 saturates) -> 1, -4, 3.5; row 1 (s 2, z 0): 1.5 -> 2, 20 -> 15,
  // -0.5 -> -0 -> 0 -> 4, 30, 0.
  // CHECK: {{\[}}[1,   -4,   3.5],
  // CHECK-NEXT: [4,   30,   0]]
  %x6 = arith.constant dense<[[1.0, -4.0, 10.0], [3.0, 40.0, -1.0]]> : tensor<2x3xf32>
  %s6 = arith.constant dense<[0.5, 2.0]> : tensor<2xf32>
  %z6 = arith.constant dense<[8, 0]> : tensor<2xi8>
  %y6 = lattice.fake_quant %x6, %s6, %z6 as !lattice.quant<u4, f32, channel<0>, asymmetric>
      : (tensor<2x3xf32>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x3xf32>
  %p6 = tensor.cast %y6 : tensor<2x3xf32> to tensor<2x?xf32>
  call @print2(%p6) : (tensor<2x?xf32>) -> ()

  // requantize s8 (scale 1) -> s4 (scale 2): 10 -> 5, -10 -> -5,
  // 3 -> 1.5 -> 2; printed times 2.
  // CHECK: [10,  -10,  4]
  %x7 = arith.constant dense<[10.0, -10.0, 3.0]> : tensor<3xf32>
  %q7 = lattice.quantize %x7, %s1 : (tensor<3xf32>, tensor<f32>) -> tensor<3x!lattice.quant<s8, f32>>
  %r7 = lattice.requantize %q7, %s1 to %s4 : (tensor<3x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<3x!lattice.quant<s4, f32>>
  %y7 = lattice.dequantize %r7, %s4 : (tensor<3x!lattice.quant<s4, f32>>, tensor<f32>) -> tensor<3xf32>
  %p7 = tensor.cast %y7 : tensor<3xf32> to tensor<?xf32>
  call @print1(%p7) : (tensor<?xf32>) -> ()
  return
}
