// Executes the lowering of channel_scale, rms_norm, layer_norm and normalize
// and checks the results against values computed by hand (printed with six
// significant digits).
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

func.func private @printMemrefF32(memref<*xf32>)

func.func @print(%t: tensor<?x?xf32>) {
  %m = bufferization.to_buffer %t : tensor<?x?xf32> to memref<?x?xf32>
  %u = memref.cast %m : memref<?x?xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  return
}

func.func @main() {
  // channel_scale along axis 1 by [2, 0.5].
  // CHECK: {{\[}}[2,   1],
  // CHECK-NEXT: [6,   2]]
  %x0 = arith.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %s0 = arith.constant dense<[2.0, 0.5]> : tensor<2xf32>
  %y0 = lattice.channel_scale %x0, %s0 axis(1) : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %p0 = tensor.cast %y0 : tensor<2x2xf32> to tensor<?x?xf32>
  call @print(%p0) : (tensor<?x?xf32>) -> ()

  // rms_norm: row 0 has mean square 4 -> x / 2 * w = [1, 2, 3, 4];
  // row 1 has mean square 25 / 4 -> x / 2.5 * w = [1.2, -3.2, 0, 0].
  // CHECK: {{\[}}[1,   2,   3,   4],
  // CHECK-NEXT: [1.2,   -3.2,   0,   0]]
  %x1 = arith.constant dense<[[2.0, 2.0, 2.0, 2.0], [3.0, -4.0, 0.0, 0.0]]> : tensor<2x4xf32>
  %w1 = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y1 = lattice.rms_norm %x1, %w1 : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %p1 = tensor.cast %y1 : tensor<2x4xf32> to tensor<?x?xf32>
  call @print(%p1) : (tensor<?x?xf32>) -> ()

  // layer_norm of [1, 2, 3, 4]: mean 2.5, variance 1.25, epsilon 1e-5:
  // (x - 2.5) / sqrt(1.25001) = [-1.34164, -0.447212, 0.447212, 1.34164],
  // then + bias [0, 0, 0, 10].
  // CHECK: {{\[}}[-1.34164,   -0.447212,   0.447212,   11.3416]]
  %x2 = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %w2 = arith.constant dense<1.0> : tensor<4xf32>
  %b2 = arith.constant dense<[0.0, 0.0, 0.0, 10.0]> : tensor<4xf32>
  %y2 = lattice.layer_norm %x2, %w2, %b2 : (tensor<1x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4xf32>
  %p2 = tensor.cast %y2 : tensor<1x4xf32> to tensor<?x?xf32>
  call @print(%p2) : (tensor<?x?xf32>) -> ()

  // normalize onto the unit sphere, with a dynamic row length: [3, 4] / 5;
  // a zero row stays zero (epsilon), never NaN.
  // CHECK: {{\[}}[0.6,   0.8],
  // CHECK-NEXT: [0,   0]]
  %x3 = arith.constant dense<[[3.0, 4.0], [0.0, 0.0]]> : tensor<2x2xf32>
  %x3d = tensor.cast %x3 : tensor<2x2xf32> to tensor<?x?xf32>
  %y3 = lattice.normalize %x3d : (tensor<?x?xf32>) -> tensor<?x?xf32>
  call @print(%y3) : (tensor<?x?xf32>) -> ()
  return
}
