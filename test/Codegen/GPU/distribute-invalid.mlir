// RUN: lattice-opt %s --split-input-file --verify-diagnostics \
// RUN:   --pass-pipeline="builtin.module(func.func(lattice-gpu-distribute))"
// RUN: not lattice-opt %s --split-input-file \
// RUN:   --pass-pipeline="builtin.module(func.func(lattice-gpu-distribute{block-size=48}))" \
// RUN:   2>&1 | FileCheck %s --check-prefix=BLOCK

// BLOCK: lattice-gpu-distribute: block-size must be a multiple of 32 between 32 and 1024, not 48

func.func @tensors(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @below {{lattice-gpu-distribute: expected an op on buffers (run after bufferization)}}
  %0 = linalg.copy ins(%x : tensor<4xf32>) outs(%y : tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @host_branch(%c: memref<i1>, %x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @below {{lattice-gpu-distribute: reads or writes a buffer outside a kernel; the GPU pipeline keeps buffers in device memory}}
  %b = memref.load %c[] : memref<i1>
  scf.if %b {
    linalg.copy ins(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  }
  return
}

// -----

func.func @softmax(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error @below {{lattice-gpu-distribute: 'linalg.softmax' has no GPU lowering (decompose it first)}}
  %0 = linalg.softmax dimension(1) ins(%x : tensor<2x4xf32>) outs(%y : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}
