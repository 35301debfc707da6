// RUN: lattice-opt %s --lattice-cpu-fuse-ukernel-epilogues --cse -split-input-file | FileCheck %s

// The elementwise op after a convolution kernel (bias and activation)
// folds into the kernel's call, which writes into the padding the op's
// result went to, if any; ops that are not a per-channel bias and a
// supported activation stay.
// Bias and ReLU: the bias's address (a to_buffer numbered after the
// kernels' operands), epilogue 1, no parameters; the kernel's result
// replaces the op's.
// CHECK-LABEL: func.func @relu
// CHECK-SAME: %[[B:[a-z0-9]+]]: tensor<8xf32>
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[NCHW:.*]] = arith.constant 524288 : i64
// CHECK-DAG: %[[ALLOC:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
// CHECK-DAG: %[[BB:.*]] = bufferization.to_buffer %[[B]] read_only {lattice.ukernel_operand = 0 : i64}
// CHECK-DAG: %[[BP:.*]] = memref.extract_aligned_pointer_as_index %[[BB]]
// CHECK-DAG: %[[BA:.*]] = arith.index_cast %[[BP]]
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[C8]], %[[BA]], %[[C1]], %[[C0]], %[[C0]], %[[NCHW]],
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[ALLOC]] restrict writable
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]] : tensor<1x8x4x4xf32>
func.func @relu(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// The same inserted into a padding (the next convolution's input): the
// kernel writes the interior of the padded buffer, filled before the call
// (the fill's constant moves there), at 32 bytes ((1 * 7 + 1) * 4) from its
// start, its planes in a frame of 3 columns and 2 rows (bits 24 and 32 of
// the flags); the padding's old fill and the insert go.
// CHECK-LABEL: func.func @relu_padded
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[FRESH:.*]] = bufferization.alloc_tensor() : tensor<1x8x6x7xf32>
// CHECK: %[[FILL:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%[[FRESH]]
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[FILL]] : tensor<1x8x6x7xf32> to memref<1x8x6x7xf32>
// CHECK: %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[BUF]]
// CHECK: %[[BASE:.*]] = arith.index_cast %[[PTR]]
// CHECK: %[[OFFSET:.*]] = arith.constant 32 : i64
// CHECK: %[[Y:.*]] = arith.addi %[[BASE]], %[[OFFSET]]
// CHECK: %[[FLAGS:.*]] = arith.constant 8640790528 : i64
// CHECK: call @lattice_uk_conv2d_f32(%{{.*}}, %{{.*}}, %[[Y]], {{.*}}, %[[FLAGS]], %{{.*}})
// CHECK: %[[PADDED:.*]] = bufferization.to_tensor %[[BUF]] restrict writable
// CHECK-NOT: linalg
// CHECK-NOT: insert_slice
// CHECK: return %[[PADDED]] : tensor<1x8x6x7xf32>
func.func @relu_padded(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x6x7xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  %zero = arith.constant 0.0 : f32
  %pe = tensor.empty() : tensor<1x8x6x7xf32>
  %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x8x6x7xf32>) -> tensor<1x8x6x7xf32>
  %padded = tensor.insert_slice %y into %pf[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x4x4xf32> into tensor<1x8x6x7xf32>
  return %padded : tensor<1x8x6x7xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// HardSwish as the ONNX importer writes it (operands in either order):
// epilogue 3, its 1/6 and 1/2 in the low and high halves of the
// parameters.
// CHECK-LABEL: func.func @hardswish
// CHECK-DAG: %[[HS:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[P:.*]] = arith.constant 4539628425432443563 : i64
// CHECK-DAG: %[[ALLOC:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[HS]], %[[P]], %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[R:.*]] = bufferization.to_tensor %[[ALLOC]]
// CHECK-NOT: linalg.generic
// CHECK: return %[[R]]
func.func @hardswish(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %t0 = arith.addf %a1, %a0 : f32
    %al = arith.constant 0.1666666716337204 : f32
    %be = arith.constant 0.5 : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %m = arith.mulf %t0, %al : f32
    %s = arith.addf %m, %be : f32
    %lo = arith.maximumf %s, %z : f32
    %h = arith.minimumf %lo, %one : f32
    %r = arith.mulf %t0, %h : f32
    linalg.yield %r : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A clip to [0, 6] (ReLU6): epilogue 2 with 0 and 6.
// CHECK-LABEL: func.func @relu6
// CHECK-DAG: %[[CLIP:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[P:.*]] = arith.constant 4665729213955833856 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[CLIP]], %[[P]],
// CHECK-NOT: linalg.generic
func.func @relu6(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %six = arith.constant 6.0 : f32
    %m = arith.maximumf %z, %s : f32
    %c = arith.minimumf %m, %six : f32
    linalg.yield %c : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// HardSigmoid without a bias: no bias address (0), epilogue 4.
// CHECK-LABEL: func.func @hardsigmoid
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[HSIG:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[P:.*]] = arith.constant 4539628425434680525 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[C8]], %[[C0]], %[[HSIG]], %[[P]],
// CHECK-NOT: linalg.generic
func.func @hardsigmoid(%xa: i64, %wa: i64) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t : tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %o: f32):
    %al = arith.constant 0.2 : f32
    %be = arith.constant 0.5 : f32
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %m = arith.mulf %a0, %al : f32
    %s = arith.addf %be, %m : f32
    %lo = arith.maximumf %s, %z : f32
    %h = arith.minimumf %one, %lo : f32
    linalg.yield %h : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// Bias, then a residual of the output's shape (ResNet's block output),
// then ReLU: the residual's address is the fourth argument.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: %[[R:[a-z0-9]+]]: tensor<1x8x4x4xf32>
// CHECK-DAG: %[[RB:.*]] = bufferization.to_buffer %[[R]] read_only
// CHECK-DAG: %[[RP:.*]] = memref.extract_aligned_pointer_as_index %[[RB]]
// CHECK-DAG: %[[RA:.*]] = arith.index_cast %[[RP]]
// CHECK-DAG: %[[RELU:.*]] = arith.constant 1 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[RELU]], %{{.*}}, %[[RA]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.generic
func.func @residual(%xa: i64, %wa: i64, %b: tensor<8xf32>, %r: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b, %r : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %q = arith.addf %s, %a2 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %q, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A bias alone folds (epilogue 0 with the bias's address).
// CHECK-LABEL: func.func @bias_only
// CHECK-DAG: %[[NONE:.*]] = arith.constant 0 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[BA:[0-9]+]], %[[NONE]], %[[NONE]], %[[NONE]], %{{.*}}, %{{.*}})
// CHECK-NOT: linalg.generic
func.func @bias_only(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    linalg.yield %s : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A residual added before the bias: another order of sums than the kernels'.
// CHECK-LABEL: func.func @residual_first
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
func.func @residual_first(%xa: i64, %wa: i64, %b: tensor<8xf32>, %r: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b, %r : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %s = arith.addf %a0, %a2 : f32
    %q = arith.addf %s, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %q, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// maximumf with -0 is not ReLU (-0 stays -0).
// CHECK-LABEL: func.func @negative_zero
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
func.func @negative_zero(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant -0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// Fast-math flags allow other results than the kernels': not folded.
// CHECK-LABEL: func.func @fast_math
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
func.func @fast_math(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 fastmath<fast> : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A "bias" that varies along the rows of the planes is not per channel.
// CHECK-LABEL: func.func @pixel_bias
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
func.func @pixel_bias(%xa: i64, %wa: i64, %b: tensor<4xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A pixel-major output (no NCHW flag) has no epilogue.
// CHECK-LABEL: func.func @pixel_major
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %{{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
func.func @pixel_major(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %flags = arith.constant 0 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A depthwise convolution's [N, groups, mult, OH, OW] result with a bias
// per group ((d0, d1) over a 1 x 4 tensor: d0 has one iteration): folded
// into the window kernel's call.
// CHECK-LABEL: func.func @window_relu
// CHECK-DAG: %[[RELU:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK: call @lattice_uk_window2d_f32({{.*}}, %[[C0]], %{{.*}}, %[[RELU]], %[[C0]], %[[C0]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @window_relu(%xa: i64, %wa: i64, %b: tensor<1x4xf32>) -> tensor<1x4x1x5x5xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c5 = arith.constant 5 : i64
  %c7 = arith.constant 7 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x4x1x5x5xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x4x1x5x5xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_window2d_f32(%xa, %wa, %ya, %c1, %c4, %c1, %c7, %c7, %c3, %c3, %c5, %c5, %c1, %c1, %c1, %c1, %c1, %c0, %c0, %c0, %c0, %c0, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x4x1x5x5xf32> to tensor<1x4x1x5x5xf32>
  %e = tensor.empty() : tensor<1x4x1x5x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1)>, affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x4x1x5x5xf32>, tensor<1x4xf32>) outs(%e : tensor<1x4x1x5x5xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    linalg.yield %m : f32
  } -> tensor<1x4x1x5x5xf32>
  return %y : tensor<1x4x1x5x5xf32>
}
func.func private @lattice_uk_window2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A padding after a 1 x 1 convolution that the kernel computes as the
// weight times the input (pixels fill the panels better than the channels):
// that path takes no frame, and the op stays.
// CHECK-LABEL: func.func @by_weight_padded
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[Z:.*]], %[[Z]], %[[Z]], %[[Z]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
// CHECK: tensor.insert_slice
func.func @by_weight_padded(%xa: i64, %wa: i64, %b: tensor<8xf32>) -> tensor<1x8x6x6xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %zero = arith.constant 0.0 : f32
  %flags = arith.constant 524288 : i64
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %p : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c8, %c4, %c4, %c1, %c1, %c4, %c4, %c1, %c1, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b : tensor<1x8x4x4xf32>, tensor<8xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %m = arith.maximumf %s, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  %pe = tensor.empty() : tensor<1x8x6x6xf32>
  %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x8x6x6xf32>) -> tensor<1x8x6x6xf32>
  %padded = tensor.insert_slice %y into %pf[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x4x4xf32> into tensor<1x8x6x6xf32>
  return %padded : tensor<1x8x6x6xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A residual that is the interior of a padded tensor (a block's output that
// the kernel wrote framed), into dense planes; and the op's result, also
// inserted into a padding, read elsewhere: the residual is read in place at
// 32 bytes from the padded tensor's start, its frame in bits 40 and 48 of
// the flags; the other user reads the new padded tensor's interior.
// CHECK-LABEL: func.func @residual_framed
// CHECK-SAME: %[[P:[a-z0-9]+]]: tensor<1x8x6x7xf32>
// CHECK-DAG: %[[OFFSET:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 566248488828928 : i64
// CHECK-DAG: %[[PB:.*]] = bufferization.to_buffer %[[P]] read_only
// CHECK-DAG: %[[PP:.*]] = memref.extract_aligned_pointer_as_index %[[PB]]
// CHECK-DAG: %[[PA:.*]] = arith.index_cast %[[PP]]
// CHECK-DAG: %[[RA:.*]] = arith.addi %[[PA]], %[[OFFSET]]
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[RA]], %[[FLAGS]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @residual_framed(%xa: i64, %wa: i64, %b: tensor<8xf32>, %p: tensor<1x8x6x7xf32>) -> tensor<1x8x4x4xf32> {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %zero = arith.constant 0.0 : f32
  %flags = arith.constant 524288 : i64
  %r = tensor.extract_slice %p[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x6x7xf32> to tensor<1x8x4x4xf32>
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %ptr = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %ptr : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b, %r : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %q = arith.addf %s, %a2 : f32
    %m = arith.maximumf %q, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A residual inserted into a padding before the call (an op's result that
// bufferization writes into the padded buffer), and the op's result both
// inserted into a padding and returned: the residual is read from the
// padded tensor, both frames in the flags; the return reads the interior
// of the kernel's padded output.
// CHECK-LABEL: func.func @residual_inserted
// CHECK-SAME: %[[R:[a-z0-9]+]]: tensor<1x8x4x4xf32>
// CHECK: %[[RP:.*]] = tensor.insert_slice %[[R]] into
// CHECK: %[[RB:.*]] = bufferization.to_buffer %[[RP]] read_only
// CHECK: %[[FLAGS:.*]] = arith.constant 566257129095168 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[FLAGS]], %{{.*}})
// CHECK: %[[PADDED:.*]] = bufferization.to_tensor
// CHECK: %[[INTERIOR:.*]] = tensor.extract_slice %[[PADDED]][0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1]
// CHECK-NOT: linalg.generic
// CHECK: return %[[PADDED]], %[[INTERIOR]], %[[RP]]
func.func @residual_inserted(%xa: i64, %wa: i64, %b: tensor<8xf32>, %r: tensor<1x8x4x4xf32>) -> (tensor<1x8x6x7xf32>, tensor<1x8x4x4xf32>, tensor<1x8x6x7xf32>) {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c3 = arith.constant 3 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %c10 = arith.constant 10 : i64
  %zero = arith.constant 0.0 : f32
  %flags = arith.constant 524288 : i64
  %re = tensor.empty() : tensor<1x8x6x7xf32>
  %rf = linalg.fill ins(%zero : f32) outs(%re : tensor<1x8x6x7xf32>) -> tensor<1x8x6x7xf32>
  %rp = tensor.insert_slice %r into %rf[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x4x4xf32> into tensor<1x8x6x7xf32>
  %alloc = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %ptr = memref.extract_aligned_pointer_as_index %alloc : memref<1x8x4x4xf32> -> index
  %ya = arith.index_cast %ptr : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %ya, %c1, %c3, %c10, %c10, %c3, %c3, %c4, %c4, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %flags, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t = bufferization.to_tensor %alloc restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %e = tensor.empty() : tensor<1x8x4x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%t, %b, %r : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<1x8x4x4xf32>) outs(%e : tensor<1x8x4x4xf32>) {
  ^bb0(%a0: f32, %a1: f32, %a2: f32, %o: f32):
    %s = arith.addf %a0, %a1 : f32
    %q = arith.addf %s, %a2 : f32
    %m = arith.maximumf %q, %zero : f32
    linalg.yield %m : f32
  } -> tensor<1x8x4x4xf32>
  %pe = tensor.empty() : tensor<1x8x6x7xf32>
  %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x8x6x7xf32>) -> tensor<1x8x6x7xf32>
  %padded = tensor.insert_slice %y into %pf[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x4x4xf32> into tensor<1x8x6x7xf32>
  return %padded, %y, %rp : tensor<1x8x6x7xf32>, tensor<1x8x4x4xf32>, tensor<1x8x6x7xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)

// -----

// A convolution whose input is the interior of a padded tensor (a 1 x 1
// window at stride 2 reading the next 3 x 3 convolution's padded input)
// reads it in place: the padded buffer's address plus the interior's
// offset (8 elements), and its rows and planes (6 x 7), instead of a copy
// of the slice. Not for a 1 x 1 window at stride 1 (the kernel computes it
// as the weight times a dense input), nor for weights in the Winograd
// layout, whose tiles read past the last window up to the input's edge.
// CHECK-LABEL: func.func @input_in_place
// CHECK-SAME: %[[P:[a-z0-9]+]]: tensor<1x8x6x7xf32>
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : i64
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : i64
// CHECK-DAG: %[[OFFSET:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[S:.*]] = tensor.extract_slice %[[P]][0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1]
// CHECK-DAG: %[[SB:.*]] = bufferization.to_buffer %[[S]] read_only
// CHECK-DAG: %[[SP:.*]] = memref.extract_aligned_pointer_as_index %[[SB]]
// CHECK-DAG: %[[SA:.*]] = arith.index_cast %[[SP]]
// CHECK-DAG: %[[PB:.*]] = bufferization.to_buffer %[[P]] read_only
// CHECK-DAG: %[[PP:.*]] = memref.extract_aligned_pointer_as_index %[[PB]]
// CHECK-DAG: %[[PA:.*]] = arith.index_cast %[[PP]]
// CHECK-DAG: %[[XA:.*]] = arith.addi %[[PA]], %[[OFFSET]]
// CHECK: call @lattice_uk_conv2d_f32(%[[XA]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C6]], %[[C7]],
// CHECK: call @lattice_uk_conv2d_f32(%[[SA]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C4]], %[[C4]],
// CHECK: call @lattice_uk_conv2d_f32(%[[SA]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C4]], %[[C4]],
func.func @input_in_place(%wa: i64, %p: tensor<1x8x6x7xf32>) -> (tensor<1x8x2x2xf32>, tensor<1x8x4x4xf32>, tensor<1x8x2x2xf32>) {
  %c0 = arith.constant 0 : i64
  %c1 = arith.constant 1 : i64
  %c2 = arith.constant 2 : i64
  %c4 = arith.constant 4 : i64
  %c8 = arith.constant 8 : i64
  %nchw = arith.constant 524288 : i64
  %winograd = arith.constant 1572864 : i64
  %s = tensor.extract_slice %p[0, 0, 1, 1] [1, 8, 4, 4] [1, 1, 1, 1] : tensor<1x8x6x7xf32> to tensor<1x8x4x4xf32>
  %sb = bufferization.to_buffer %s read_only : tensor<1x8x4x4xf32> to memref<1x8x4x4xf32>
  %sp = memref.extract_aligned_pointer_as_index %sb : memref<1x8x4x4xf32> -> index
  %xa = arith.index_cast %sp : index to i64
  %a0 = memref.alloc() {alignment = 64 : i64} : memref<1x8x2x2xf32>
  %p0 = memref.extract_aligned_pointer_as_index %a0 : memref<1x8x2x2xf32> -> index
  %y0 = arith.index_cast %p0 : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %y0, %c1, %c8, %c4, %c4, %c1, %c1, %c2, %c2, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %nchw, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t0 = bufferization.to_tensor %a0 restrict writable : memref<1x8x2x2xf32> to tensor<1x8x2x2xf32>
  %a1 = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
  %p1 = memref.extract_aligned_pointer_as_index %a1 : memref<1x8x4x4xf32> -> index
  %y1 = arith.index_cast %p1 : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %y1, %c1, %c8, %c4, %c4, %c1, %c1, %c4, %c4, %c1, %c1, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %nchw, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t1 = bufferization.to_tensor %a1 restrict writable : memref<1x8x4x4xf32> to tensor<1x8x4x4xf32>
  %a2 = memref.alloc() {alignment = 64 : i64} : memref<1x8x2x2xf32>
  %p2 = memref.extract_aligned_pointer_as_index %a2 : memref<1x8x2x2xf32> -> index
  %y2 = arith.index_cast %p2 : index to i64
  call @lattice_uk_conv2d_f32(%xa, %wa, %y2, %c1, %c8, %c4, %c4, %c1, %c1, %c2, %c2, %c2, %c2, %c1, %c1, %c8, %c0, %c0, %c0, %c0, %winograd, %c2) : (i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
  %t2 = bufferization.to_tensor %a2 restrict writable : memref<1x8x2x2xf32> to tensor<1x8x2x2xf32>
  return %t0, %t1, %t2 : tensor<1x8x2x2xf32>, tensor<1x8x4x4xf32>, tensor<1x8x2x2xf32>
}
func.func private @lattice_uk_conv2d_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
