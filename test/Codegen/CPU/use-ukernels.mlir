// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=2" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu="ukernels num-threads=2 vector-bits=512 bare-pointer-abi" -split-input-file \
// RUN:   | FileCheck %s --check-prefix=LLVM

// A W4A16 GEMV: every operand by address, the result in a fresh buffer.
// CHECK-LABEL: func.func private @lattice_uk_matmul_f32_q4(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @gemv
// CHECK-SAME: (%[[X:.*]]: tensor<1x256xf32>, %[[W:.*]]: tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>>, %[[S:.*]]: tensor<64x8xf16>)
// CHECK-DAG: %[[CODES:.*]] = builtin.unrealized_conversion_cast %[[W]] : tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>> to tensor<64x256xi4>
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x64xf32>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only {lattice.ukernel_operand = {{[0-9]+}} : i64} : tensor<1x256xf32> to memref<1x256xf32>
// CHECK-DAG: %[[WB:.*]] = bufferization.to_buffer %[[CODES]] read_only {lattice.ukernel_operand = {{[0-9]+}} : i64} : tensor<64x256xi4> to memref<64x256xi4>
// CHECK-DAG: %[[SB:.*]] = bufferization.to_buffer %[[S]] read_only {lattice.ukernel_operand = {{[0-9]+}} : i64} : tensor<64x8xf16> to memref<64x8xf16>
// CHECK-DAG: %[[NO_ZERO_POINT:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[N:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[K:.*]] = arith.constant 256 : i64
// CHECK-DAG: %[[G:.*]] = arith.constant 32 : i64
// f16 scales (2), signed codes, no zero point; two threads.
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 2 : i64
// CHECK: call @lattice_uk_matmul_f32_q4(%{{.*}}, %{{.*}}, %{{.*}}, %[[NO_ZERO_POINT]], %{{.*}}, %[[M]], %[[N]], %[[K]], %[[G]], %[[FLAGS]], %{{.*}})
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[Y]]

// The output buffer becomes the caller's: no copy, no allocation.
// LLVM-LABEL: llvm.func @gemv
// LLVM-NOT: llvm.call @malloc
// LLVM: llvm.call @lattice_uk_matmul_f32_q4
// LLVM-NOT: llvm.call @free
// LLVM: llvm.return
func.func @gemv(%x: tensor<1x256xf32>, %w: tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>>,
                %s: tensor<64x8xf16>) -> tensor<1x64xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<1x256xf32>, tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>>, tensor<64x8xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// -----

// Unsigned codes with 16-bit zero points and f32 scales in groups of 128:
// flags = unsigned (1) | zero point (4) | width 16 << 8.
// CHECK-LABEL: func.func @asymmetric
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 4101 : i64
// CHECK-DAG: %[[G:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_matmul_f32_q4({{.*}}, %[[G]], %[[FLAGS]], %{{.*}})
func.func @asymmetric(%x: tensor<4x256xf32>, %w: tensor<8x256x!lattice.quant<u4, f32, group<1, 128>, asymmetric>>,
                      %s: tensor<8x2xf32>, %z: tensor<8x2xi16>) -> tensor<4x8xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) rhs_zero_point(%z) accumulate(f32)
      : (tensor<4x256xf32>, tensor<8x256x!lattice.quant<u4, f32, group<1, 128>, asymmetric>>,
         tensor<8x2xf32>, tensor<8x2xi16>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Left to the generated code: 4-bit weights in groups of 16 (not a
// multiple of 32) or with bf16 scales for the GEMV, 8-bit weights with
// f32 activations, f16 activations, f32 weights with fewer than 8 rows.
// CHECK-NOT: func.func private @lattice_uk
// CHECK-LABEL: func.func @not_covered
// CHECK-NOT: call @lattice_uk
// CHECK-COUNT-5: lattice.matmul
func.func @not_covered(%x: tensor<4x64xf32>, %w: tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, %s: tensor<8x2xf16>,
                       %x1: tensor<1x64xf32>, %w16: tensor<8x64x!lattice.quant<s4, f16, group<1, 16>>>, %s16: tensor<8x4xf16>,
                       %w8: tensor<8x64x!lattice.quant<s8, f16, group<1, 32>>>,
                       %wb: tensor<8x64x!lattice.quant<s4, bf16, group<1, 32>>>, %sb: tensor<8x2xbf16>,
                       %xh: tensor<1x64xf16>, %wf: tensor<8x64xf32>) {
  %a = lattice.matmul %x, %wf accumulate(f32)
      : (tensor<4x64xf32>, tensor<8x64xf32>) -> tensor<4x8xf32>
  %b = lattice.matmul %x1, %w16 rhs_scale(%s16) accumulate(f32)
      : (tensor<1x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 16>>>, tensor<8x4xf16>) -> tensor<1x8xf32>
  %c = lattice.matmul %x1, %w8 rhs_scale(%s) accumulate(f32)
      : (tensor<1x64xf32>, tensor<8x64x!lattice.quant<s8, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<1x8xf32>
  %d = lattice.matmul %x1, %wb rhs_scale(%sb) accumulate(f32)
      : (tensor<1x64xf32>, tensor<8x64x!lattice.quant<s4, bf16, group<1, 32>>>, tensor<8x2xbf16>) -> tensor<1x8xf32>
  %e = lattice.matmul %xh, %w rhs_scale(%s) accumulate(f32)
      : (tensor<1x64xf16>, tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<1x8xf32>
  return
}

// -----

// A weight argument that the driver stored with rows interleaved by four:
// flags = f16 scales (2) | rows4 (16); the attribute is consumed.
// CHECK-LABEL: func.func @interleaved
// CHECK-SAME: %{{.*}}: tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>,
// CHECK-NOT: lattice.layout
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 18 : i64
// CHECK: call @lattice_uk_matmul_f32_q4({{.*}}, %[[FLAGS]], %{{.*}})
func.func @interleaved(%x: tensor<1x64xf32>,
                       %w: tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>> {lattice.layout = "q4-rows4"},
                       %s: tensor<8x2xf16>) -> tensor<1x8xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<1x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// -----

// f32 x f32 with 2 x 64 = 128 rows: the packed GEMM, the weight [N, K] read
// with b_k = 1 and b_n = K; one batch, no flags.
// CHECK-LABEL: func.func private @lattice_uk_gemm_f32(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @gemm_f32
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x64x48xf32>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 128 : i64
// CHECK-DAG: %[[N:.*]] = arith.constant 48 : i64
// CHECK-DAG: %[[K:.*]] = arith.constant 96 : i64
// CHECK: call @lattice_uk_gemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[ONE]], %[[M]], %[[N]], %[[K]], %[[ZERO]], %[[K]], %[[ZERO]], %[[ONE]], %[[K]], %[[ZERO]], %[[N]], %[[ZERO]], %{{.*}})
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
func.func @gemm_f32(%x: tensor<2x64x96xf32>, %w: tensor<48x96xf32>) -> tensor<2x64x48xf32> {
  %y = lattice.matmul %x, %w accumulate(f32)
      : (tensor<2x64x96xf32>, tensor<48x96xf32>) -> tensor<2x64x48xf32>
  return %y : tensor<2x64x48xf32>
}

// -----

// 4-bit weights and 32 rows: the GEMM that dequantizes each weight once;
// groups of 16 are fine there. flags = f16 scales (2).
// CHECK-LABEL: func.func @gemm_q4
// CHECK-DAG: %[[G:.*]] = arith.constant 16 : i64
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 2 : i64
// CHECK: call @lattice_uk_gemm_f32_q4({{.*}}, %[[G]], %[[FLAGS]], %{{.*}})
func.func @gemm_q4(%x: tensor<32x64xf32>, %w: tensor<8x64x!lattice.quant<s4, f16, group<1, 16>>>,
                   %s: tensor<8x4xf16>) -> tensor<32x8xf32> {
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<32x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 16>>>, tensor<8x4xf16>) -> tensor<32x8xf32>
  return %y : tensor<32x8xf32>
}

// -----

// W8A8, static: s8 activations per tensor, s8 weights per channel; no
// flags, no zero point.
// CHECK-LABEL: func.func @gemm_s8_static
// CHECK-DAG: %[[NO_ZERO_POINT:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[M:.*]] = arith.constant 16 : i64
// CHECK: call @lattice_uk_gemm_s8(%{{.*}}, %{{.*}}, %[[NO_ZERO_POINT]], %{{.*}}, %{{.*}}, %{{.*}}, %[[M]], %{{.*}}, %{{.*}}, %[[NO_ZERO_POINT]], %{{.*}})
func.func @gemm_s8_static(%x: tensor<16x64x!lattice.quant<s8, f32>>, %sx: tensor<f32>,
                          %w: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
                          %sw: tensor<32xf32>) -> tensor<16x32xf32> {
  %y = lattice.matmul %x, %w lhs_scale(%sx) rhs_scale(%sw) accumulate(i32)
      : (tensor<16x64x!lattice.quant<s8, f32>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<f32>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// W8A8, dynamic and asymmetric: u8 activations per row with i16 zero
// points, f16 weight scales. flags = f16 (2) | width 16 << 8 | unsigned A
// (1 << 16) | zero point (1 << 17) | per row (1 << 18).
// CHECK-LABEL: func.func @gemm_u8_per_row
// CHECK-SAME: %[[ZP:[a-z0-9]+]]: tensor<16xi16>
// CHECK-DAG: %[[FLAGS:.*]] = arith.constant 462850 : i64
// CHECK-DAG: %[[ZP_BUFFER:.*]] = bufferization.to_buffer %[[ZP]] read_only
// CHECK: call @lattice_uk_gemm_s8({{.*}}, %[[FLAGS]], %{{.*}})
func.func @gemm_u8_per_row(%x: tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>,
                           %sx: tensor<16xf32>, %zp: tensor<16xi16>,
                           %w: tensor<32x64x!lattice.quant<s8, f16, channel<0>>>,
                           %sw: tensor<32xf16>) -> tensor<16x32xf32> {
  %y = lattice.matmul %x, %w lhs_scale(%sx) lhs_zero_point(%zp) rhs_scale(%sw) accumulate(i32)
      : (tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>,
         tensor<32x64x!lattice.quant<s8, f16, channel<0>>>,
         tensor<16xf32>, tensor<16xi16>, tensor<32xf16>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

// The scores of attention, a linalg contraction over batch (1 x 4 heads),
// M = 64 queries, N = 64 keys and K = 32: B is [K, N] (b_k = 64, b_n = 1),
// 4 batches of 64 x 32 (A), 32 x 64 (B) and 64 x 64 (C) elements.
// CHECK-LABEL: func.func @attention_scores
// CHECK-DAG: %[[BATCH:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[D64:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[D32:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[A_BATCH:.*]] = arith.constant 2048 : i64
// CHECK-DAG: %[[C_BATCH:.*]] = arith.constant 4096 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[NO_FLAGS:.*]] = arith.constant 0 : i64
// CHECK: call @lattice_uk_gemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[BATCH]], %[[D64]], %[[D64]], %[[D32]], %[[A_BATCH]], %[[D32]], %[[A_BATCH]], %[[D64]], %[[ONE]], %[[C_BATCH]], %[[D64]], %[[NO_FLAGS]], %{{.*}})
// CHECK-NOT: linalg.generic
func.func @attention_scores(%q: tensor<1x4x64x32xf32>, %k: tensor<1x4x32x64xf32>) -> tensor<1x4x64x64xf32> {
  %e = tensor.empty() : tensor<1x4x64x64xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4x64x64xf32>) -> tensor<1x4x64x64xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>,
                                        affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>,
                                        affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x4x64x32xf32>, tensor<1x4x32x64xf32>) outs(%init : tensor<1x4x64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x4x64x64xf32>
  return %s : tensor<1x4x64x64xf32>
}

// -----

// The products of attention read the heads where the projection wrote
// them, [64, 3 x 4 heads x 32], through the slices, reshapes and transposes
// that split them: Q at element 0 (a_batch = 32, a_row = 384), K at element
// 128 (byte 512) read along K with unit stride (b_batch = 32, b_k = 1,
// b_n = 384), V at element 256 (byte 1024; b_k = 384, b_n = 1); the
// context is written where the transpose back to [64, 4, 32] puts it
// (c_batch = 32, c_row = 128), in that transpose's place.
// CHECK-LABEL: func.func @attention_in_place
// CHECK-SAME: (%[[QKV:.*]]: tensor<1x64x384xf32>, %[[P:.*]]: tensor<1x4x64x64xf32>)
// CHECK: %[[SCORES:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x4x64x64xf32>
// CHECK: bufferization.to_buffer %[[QKV]] read_only
// CHECK-NEXT: memref.extract_aligned_pointer_as_index
// CHECK-NEXT: %[[Q:.*]] = arith.index_cast
// CHECK-NEXT: bufferization.to_buffer %[[QKV]] read_only
// CHECK-NEXT: memref.extract_aligned_pointer_as_index
// CHECK-NEXT: %[[K_BASE:.*]] = arith.index_cast
// CHECK-NEXT: %[[B512:.*]] = arith.constant 512 : i64
// CHECK-NEXT: %[[K:.*]] = arith.addi %[[K_BASE]], %[[B512]]
// CHECK-DAG: %[[D4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[D64:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[D32:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[D384:.*]] = arith.constant 384 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[D4096:.*]] = arith.constant 4096 : i64
// CHECK: call @lattice_uk_gemm_f32(%[[Q]], %[[K]], %{{.*}}, %[[D4]], %[[D64]], %[[D64]], %[[D32]], %[[D32]], %[[D384]], %[[D32]], %[[ONE]], %[[D384]], %[[D4096]], %[[D64]],
// CHECK: %[[S:.*]] = bufferization.to_tensor %[[SCORES]]
// CHECK: %[[CONTEXT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x64x4x32xf32>
// CHECK: bufferization.to_buffer %[[P]] read_only
// CHECK: bufferization.to_buffer %[[QKV]] read_only
// CHECK-NEXT: memref.extract_aligned_pointer_as_index
// CHECK-NEXT: %[[V_BASE:.*]] = arith.index_cast
// CHECK-NEXT: %[[B1024:.*]] = arith.constant 1024 : i64
// CHECK-NEXT: %[[V:.*]] = arith.addi %[[V_BASE]], %[[B1024]]
// CHECK-DAG: %[[E4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[E64:.*]] = arith.constant 64 : i64
// CHECK-DAG: %[[E32:.*]] = arith.constant 32 : i64
// CHECK-DAG: %[[E4096:.*]] = arith.constant 4096 : i64
// CHECK-DAG: %[[E384:.*]] = arith.constant 384 : i64
// CHECK-DAG: %[[E1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[E128:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_gemm_f32(%{{.*}}, %[[V]], %{{.*}}, %[[E4]], %[[E64]], %[[E32]], %[[E64]], %[[E4096]], %[[E64]], %[[E32]], %[[E384]], %[[E1]], %[[E32]], %[[E128]],
// CHECK: %[[T:.*]] = bufferization.to_tensor %[[CONTEXT]]
// CHECK: return %[[S]], %[[T]]
#heads = affine_map<(d0, d1, d2, d3) -> (d0, d2, d1, d3)>
#keys = affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#a = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#b = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4, d3)>
#c = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
func.func @attention_in_place(%qkv: tensor<1x64x384xf32>, %p: tensor<1x4x64x64xf32>)
    -> (tensor<1x4x64x64xf32>, tensor<1x64x4x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %q2 = tensor.extract_slice %qkv[0, 0, 0] [1, 64, 128] [1, 1, 1] : tensor<1x64x384xf32> to tensor<1x64x128xf32>
  %k2 = tensor.extract_slice %qkv[0, 0, 128] [1, 64, 128] [1, 1, 1] : tensor<1x64x384xf32> to tensor<1x64x128xf32>
  %v2 = tensor.extract_slice %qkv[0, 0, 256] [1, 64, 128] [1, 1, 1] : tensor<1x64x384xf32> to tensor<1x64x128xf32>
  %q3 = tensor.expand_shape %q2 [[0], [1], [2, 3]] output_shape [1, 64, 4, 32] : tensor<1x64x128xf32> into tensor<1x64x4x32xf32>
  %k3 = tensor.expand_shape %k2 [[0], [1], [2, 3]] output_shape [1, 64, 4, 32] : tensor<1x64x128xf32> into tensor<1x64x4x32xf32>
  %v3 = tensor.expand_shape %v2 [[0], [1], [2, 3]] output_shape [1, 64, 4, 32] : tensor<1x64x128xf32> into tensor<1x64x4x32xf32>
  %qe = tensor.empty() : tensor<1x4x64x32xf32>
  %q = linalg.generic {indexing_maps = [#heads, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%q3 : tensor<1x64x4x32xf32>) outs(%qe : tensor<1x4x64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x4x64x32xf32>
  %ke = tensor.empty() : tensor<1x4x32x64xf32>
  %k = linalg.generic {indexing_maps = [#keys, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%k3 : tensor<1x64x4x32xf32>) outs(%ke : tensor<1x4x32x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x4x32x64xf32>
  %se = tensor.empty() : tensor<1x4x64x64xf32>
  %sz = linalg.fill ins(%zero : f32) outs(%se : tensor<1x4x64x64xf32>) -> tensor<1x4x64x64xf32>
  %s = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<1x4x64x32xf32>, tensor<1x4x32x64xf32>) outs(%sz : tensor<1x4x64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x64x64xf32>
  %ve = tensor.empty() : tensor<1x4x64x32xf32>
  %v = linalg.generic {indexing_maps = [#heads, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%v3 : tensor<1x64x4x32xf32>) outs(%ve : tensor<1x4x64x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x4x64x32xf32>
  %oe = tensor.empty() : tensor<1x4x64x32xf32>
  %oz = linalg.fill ins(%zero : f32) outs(%oe : tensor<1x4x64x32xf32>) -> tensor<1x4x64x32xf32>
  %o = linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<1x4x64x64xf32>, tensor<1x4x64x32xf32>) outs(%oz : tensor<1x4x64x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x64x32xf32>
  %te = tensor.empty() : tensor<1x64x4x32xf32>
  %t = linalg.generic {indexing_maps = [#heads, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : tensor<1x4x64x32xf32>) outs(%te : tensor<1x64x4x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<1x64x4x32xf32>
  return %s, %t : tensor<1x4x64x64xf32>, tensor<1x64x4x32xf32>
}

// -----

// A transposed A whose K the kernel cannot read with unit stride is read
// where the transpose writes it; a result read by more than the transpose
// is written in order (and the transpose copies it).
// CHECK-LABEL: func.func @transposes_kept
// CHECK: %[[AT:.*]] = linalg.generic
// CHECK: %[[C:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x8xf32>
// CHECK: bufferization.to_buffer %[[AT]]
// CHECK: call @lattice_uk_gemm_f32
// CHECK: %[[PRODUCT:.*]] = bufferization.to_tensor %[[C]]
// CHECK: %[[CT:.*]] = linalg.generic {{.*}} ins(%[[PRODUCT]] : tensor<16x8xf32>)
// CHECK: return %[[PRODUCT]], %[[CT]]
func.func @transposes_kept(%x: tensor<32x16xf32>, %b: tensor<32x8xf32>) -> (tensor<16x8xf32>, tensor<8x16xf32>) {
  %zero = arith.constant 0.0 : f32
  %ae = tensor.empty() : tensor<16x32xf32>
  %at = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<32x16xf32>) outs(%ae : tensor<16x32xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<16x32xf32>
  %ce = tensor.empty() : tensor<16x8xf32>
  %cz = linalg.fill ins(%zero : f32) outs(%ce : tensor<16x8xf32>) -> tensor<16x8xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                        affine_map<(d0, d1, d2) -> (d2, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%at, %b : tensor<16x32xf32>, tensor<32x8xf32>) outs(%cz : tensor<16x8xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %m = arith.mulf %p, %q : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<16x8xf32>
  %te = tensor.empty() : tensor<8x16xf32>
  %ct = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%c : tensor<16x8xf32>) outs(%te : tensor<8x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x16xf32>
  return %c, %ct : tensor<16x8xf32>, tensor<8x16xf32>
}

// -----

// Contractions the GEMM does not take: a destination that does not start
// at zero, and fewer than 8 rows.
// CHECK-LABEL: func.func @contractions_not_covered
// CHECK-NOT: call @lattice_uk
// CHECK-COUNT-2: linalg.generic
func.func @contractions_not_covered(%a: tensor<16x32xf32>, %b: tensor<32x8xf32>, %c: tensor<16x8xf32>,
                                    %a4: tensor<4x32xf32>) -> (tensor<16x8xf32>, tensor<4x8xf32>) {
  %r = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                        affine_map<(d0, d1, d2) -> (d2, d1)>,
                                        affine_map<(d0, d1, d2) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<16x32xf32>, tensor<32x8xf32>) outs(%c : tensor<16x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %r4 = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>,
                                         affine_map<(d0, d1, d2) -> (d2, d1)>,
                                         affine_map<(d0, d1, d2) -> (d0, d1)>],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a4, %b : tensor<4x32xf32>, tensor<32x8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x8xf32>
  return %r, %r4 : tensor<16x8xf32>, tensor<4x8xf32>
}

// -----

// Weight arguments that the driver stored in the GEMMs' panels: flags =
// packed B (128); the attributes are consumed.
// CHECK-LABEL: func.func @prepacked
// CHECK-NOT: lattice.layout
// CHECK: %[[PACKED:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_gemm_f32({{.*}}, %[[PACKED]], %{{.*}})
// CHECK: %[[PACKED_S8:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_gemm_s8({{.*}}, %[[PACKED_S8]], %{{.*}})
func.func @prepacked(%x: tensor<16x64xf32>, %w: tensor<32x64xf32> {lattice.layout = "f32-panels32"},
                     %xq: tensor<16x64x!lattice.quant<s8, f32>>, %sx: tensor<f32>,
                     %wq: tensor<32x64x!lattice.quant<s8, f32, channel<0>>> {lattice.layout = "s8-panels32"},
                     %sw: tensor<32xf32>) -> (tensor<16x32xf32>, tensor<16x32xf32>) {
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<16x64xf32>, tensor<32x64xf32>) -> tensor<16x32xf32>
  %z = lattice.matmul %xq, %wq lhs_scale(%sx) rhs_scale(%sw) accumulate(i32)
      : (tensor<16x64x!lattice.quant<s8, f32>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<f32>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y, %z : tensor<16x32xf32>, tensor<16x32xf32>
}

// -----

// One row (a recurrent cell's GEMV) against a weight in the panels: the
// GEMM kernel, which has nothing to pack; against a plain weight, left to
// linalg (packing it per call would not pay).
// CHECK-LABEL: func.func @one_row_prepacked
// CHECK: %[[PACKED:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_gemm_f32({{.*}}, %[[PACKED]], %{{.*}})
// CHECK-LABEL: func.func @one_row_plain
// CHECK-NOT: call @lattice_uk_gemm_f32
// CHECK: lattice.matmul
func.func @one_row_prepacked(%x: tensor<1x64xf32>, %w: tensor<96x64xf32> {lattice.layout = "f32-panels32"}) -> tensor<1x96xf32> {
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x64xf32>, tensor<96x64xf32>) -> tensor<1x96xf32>
  return %y : tensor<1x96xf32>
}
func.func @one_row_plain(%x: tensor<1x64xf32>, %w: tensor<96x64xf32>) -> tensor<1x96xf32> {
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<1x64xf32>, tensor<96x64xf32>) -> tensor<1x96xf32>
  return %y : tensor<1x96xf32>
}

// -----

// A convolution as the ONNX importer writes it (im2col copy, collapse,
// matmul): 1 image of 3 x 10 x 10 (padded), 3 x 3 windows at stride 2 and
// dilation 1, 4 x 4 outputs, 8 output channels. The kernel gathers the
// im2col matrix itself; the copy is left without users.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x10x10xf32>, %[[W:.*]]: tensor<8x27xf32>)
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[NO_FLAGS:.*]] = arith.constant 0 : i64
// CHECK: call @lattice_uk_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C1]], %[[C3]], %[[C10]], %[[C10]], %[[C3]], %[[C3]], %[[C4]], %[[C4]], %[[C2]], %[[C2]], %[[C1]], %[[C1]], %[[C8]], %[[NO_FLAGS]], %[[NO_FLAGS]], %[[NO_FLAGS]], %[[NO_FLAGS]], %[[NO_FLAGS]], %{{.*}})
// CHECK-NOT: lattice.matmul
func.func @conv(%x: tensor<1x3x10x10xf32>, %w: tensor<8x27xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<16x27xf32>, tensor<8x27xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// A 3 x 3 convolution at stride 1 over 10 x 10 tiles of 2 x 2 outputs, its
// weight an argument that the driver stored in the Winograd layout: the
// call says so (1 << 20); the same weight in panels says B_PACKED (128).
// CHECK-LABEL: func.func @conv_winograd
// CHECK: %[[WINOGRAD:.*]] = arith.constant 1048576 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[WINOGRAD]], %{{.*}})
// CHECK-LABEL: func.func @conv_winograd_panels
// CHECK: %[[PANELS:.*]] = arith.constant 128 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[PANELS]], %{{.*}})
func.func @conv_winograd(%x: tensor<1x2x22x22xf32>,
                         %w: tensor<4x18xf32> {lattice.layout = "f32-winograd2x2"}) -> tensor<400x4xf32> {
  %e = tensor.empty() : tensor<1x20x20x2x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4, d2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x22x22xf32>) outs(%e : tensor<1x20x20x2x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x20x20x2x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x20x20x2x3x3xf32> into tensor<400x18xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<400x18xf32>, tensor<4x18xf32>) -> tensor<400x4xf32>
  return %y : tensor<400x4xf32>
}
func.func @conv_winograd_panels(%x: tensor<1x2x22x22xf32>,
                                %w: tensor<4x18xf32> {lattice.layout = "f32-panels32"}) -> tensor<400x4xf32> {
  %e = tensor.empty() : tensor<1x20x20x2x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d4, d2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x2x22x22xf32>) outs(%e : tensor<1x20x20x2x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x20x20x2x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x20x20x2x3x3xf32> into tensor<400x18xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<400x18xf32>, tensor<4x18xf32>) -> tensor<400x4xf32>
  return %y : tensor<400x4xf32>
}

// -----

// The same convolution with a bias, then transposed to NCHW as the ONNX
// importer writes it: the kernel writes NCHW (flag 1 << 19), and a copy
// gives the matmul's pixel-major result back to the bias.
// CHECK-LABEL: func.func @conv_nchw
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x4x4xf32>
// CHECK: %[[NCHW_FLAG:.*]] = arith.constant 524288 : i64
// CHECK: call @lattice_uk_conv2d_f32({{.*}}, %[[NCHW_FLAG]], %{{.*}})
// CHECK: %[[PLANES:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK: %[[COPY:.*]] = linalg.generic {{.*}} ins(%[[PLANES]] : tensor<1x8x4x4xf32>) outs(%{{.*}} : tensor<1x4x4x8xf32>)
// CHECK: tensor.collapse_shape %[[COPY]] {{\[}}[0, 1, 2], [3]] : tensor<1x4x4x8xf32> into tensor<16x8xf32>
func.func @conv_nchw(%x: tensor<1x3x10x10xf32>, %w: tensor<8x27xf32>, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<16x27xf32>, tensor<8x27xf32>) -> tensor<16x8xf32>
  %e2 = tensor.empty() : tensor<16x8xf32>
  %biased = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                             affine_map<(d0, d1) -> (d0, d1)>],
                            iterator_types = ["parallel", "parallel"]}
      ins(%y, %b : tensor<16x8xf32>, tensor<8xf32>) outs(%e2 : tensor<16x8xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<16x8xf32>
  %nhwc = tensor.expand_shape %biased [[0, 1, 2], [3]] output_shape [1, 4, 4, 8] : tensor<16x8xf32> into tensor<1x4x4x8xf32>
  %e3 = tensor.empty() : tensor<1x8x4x4xf32>
  %nchw = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d2, d3, d1)>,
                                           affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                          iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%nhwc : tensor<1x4x4x8xf32>) outs(%e3 : tensor<1x8x4x4xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x8x4x4xf32>
  return %nchw : tensor<1x8x4x4xf32>
}

// -----

// A convolution with static 8-bit activations, as the quantizer writes it
// after SmoothQuant: the im2col matrix scaled by column, quantized per
// tensor with the matmul's own scale. The kernel gathers, scales and
// quantizes the matrix itself: the copy, the scaling and the quantization
// are left without users.
// CHECK-LABEL: func.func @conv_s8
// CHECK-SAME: (%[[X:[a-z0-9]+]]: tensor<1x3x10x10xf32>, %[[CS:[a-z0-9]+]]: tensor<27xf32>, %[[SX:[a-z0-9]+]]: tensor<f32>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK-DAG: %[[CSB:.*]] = bufferization.to_buffer %[[CS]] read_only
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK-DAG: %[[NONE:.*]] = arith.constant 0 : i64
// CHECK: call @lattice_uk_conv2d_s8(%{{.*}}, %{{.*}}, %{{.*}}, %[[NONE]], %{{.*}}, %{{.*}}, %{{.*}}, %[[C1]], %[[C3]], %[[C10]], %[[C10]], %[[C3]], %[[C3]], %[[C4]], %[[C4]], %[[C2]], %[[C2]], %[[C1]], %[[C1]], %[[C8]], %[[NONE]], %{{.*}})
// CHECK-NOT: lattice.matmul
func.func @conv_s8(%x: tensor<1x3x10x10xf32>, %cs: tensor<27xf32>, %sx: tensor<f32>,
                   %w: tensor<8x27x!lattice.quant<s8, f32, channel<0>>>,
                   %sw: tensor<8xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %scaled = lattice.channel_scale %cols, %cs axis(1) : (tensor<16x27xf32>, tensor<27xf32>) -> tensor<16x27xf32>
  %q = lattice.quantize %scaled, %sx : (tensor<16x27xf32>, tensor<f32>) -> tensor<16x27x!lattice.quant<s8, f32>>
  %y = lattice.matmul %q, %w lhs_scale(%sx) rhs_scale(%sw) accumulate(i32)
      : (tensor<16x27x!lattice.quant<s8, f32>>, tensor<8x27x!lattice.quant<s8, f32, channel<0>>>,
         tensor<f32>, tensor<8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// The quantization's scale is not the matmul's: the matrix is quantized on
// its own and the matmul is an ordinary 8-bit GEMM.
// CHECK-LABEL: func.func @conv_s8_other_scale
// CHECK-NOT: lattice_uk_conv2d_s8
// CHECK: call @lattice_uk_gemm_s8
func.func @conv_s8_other_scale(%x: tensor<1x3x10x10xf32>, %s1: tensor<f32>, %s2: tensor<f32>,
                               %w: tensor<8x27x!lattice.quant<s8, f32, channel<0>>>,
                               %sw: tensor<8xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 * 2 + d4, d2 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %q = lattice.quantize %cols, %s1 : (tensor<16x27xf32>, tensor<f32>) -> tensor<16x27x!lattice.quant<s8, f32>>
  %y = lattice.matmul %q, %w lhs_scale(%s2) rhs_scale(%sw) accumulate(i32)
      : (tensor<16x27x!lattice.quant<s8, f32>>, tensor<8x27x!lattice.quant<s8, f32, channel<0>>>,
         tensor<f32>, tensor<8xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// Not an im2col: the window's offsets in the wrong dimensions. The matmul
// becomes an ordinary GEMM of the copied matrix.
// CHECK-LABEL: func.func @conv_negative
// CHECK-NOT: lattice_uk_conv2d_f32
// CHECK: call @lattice_uk_gemm_f32
func.func @conv_negative(%x: tensor<1x3x10x10xf32>, %w: tensor<8x27xf32>) -> tensor<16x8xf32> {
  %e = tensor.empty() : tensor<1x4x4x3x3x3xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d3, d1 + d2, d4 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x3x10x10xf32>) outs(%e : tensor<1x4x4x3x3x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x4x4x3x3x3xf32>
  %cols = tensor.collapse_shape %p [[0, 1, 2], [3, 4, 5]] : tensor<1x4x4x3x3x3xf32> into tensor<16x27xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<16x27xf32>, tensor<8x27xf32>) -> tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}

// -----

// Max pooling as the ONNX importer writes it: 3 x 3 windows at stride 2 over
// a padded 1 x 4 x 9 x 9 input (filled with -inf), 4 x 4 outputs.
// CHECK-LABEL: func.func @max_pool
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i64
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : i64
// CHECK: call @lattice_uk_window2d_f32(%{{.*}}, %[[C0]], %{{.*}}, %[[C1]], %[[C4]], %[[C1]], %[[C9]], %[[C9]], %[[C3]], %[[C3]], %[[C4]], %[[C4]], %[[C2]], %[[C2]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C2]])
// CHECK-NOT: linalg.generic
func.func @max_pool(%x: tensor<1x4x9x9xf32>) -> tensor<1x4x4x4xf32> {
  %ninf = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %window = tensor.empty() : tensor<3x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

// A sum over whole planes ([N, C, H, W] to [N, C], a mean's numerator as
// the importer writes ReduceMean): global sum pooling, a 5 x 7 window with
// one output pixel, kind 2.
// CHECK-LABEL: func.func @plane_sum
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<2x3xf32>
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : i64
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : i64
// CHECK: call @lattice_uk_window2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C2]], %[[C3]], %[[C1]], %[[C5]], %[[C7]], %[[C5]], %[[C7]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C2]],
// CHECK-NOT: linalg.generic
func.func @plane_sum(%x: tensor<2x3x5x7xf32>) -> tensor<2x3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x : tensor<2x3x5x7xf32>) outs(%init : tensor<2x3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// A sum over the last dimension only is not a plane's: left to linalg.
// CHECK-LABEL: func.func @row_sum
// CHECK-NOT: call @lattice_uk_window2d_f32
// CHECK: linalg.generic
func.func @row_sum(%x: tensor<2x3x5x7xf32>) -> tensor<2x3x5xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x5xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x5xf32>) -> tensor<2x3x5xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<2x3x5x7xf32>) outs(%init : tensor<2x3x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}

// -----

// Sum pooling (the average's numerator), 2 x 2 windows at stride 1 with
// dilation 2: kind 2.
// CHECK-LABEL: func.func @sum_pool
// CHECK: call @lattice_uk_window2d_f32
// CHECK-NOT: linalg.generic
func.func @sum_pool(%x: tensor<2x3x6x6xf32>) -> tensor<2x3x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  %window = tensor.empty() : tensor<2x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4 * 2, d3 + d5 * 2)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %window : tensor<2x3x6x6xf32>, tensor<2x2xf32>) outs(%init : tensor<2x3x4x4xf32>) {
  ^bb0(%a: f32, %w: f32, %o: f32):
    %r = arith.addf %a, %o : f32
    linalg.yield %r : f32
  } -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// -----

// A depthwise convolution (groups of one input channel, two output channels
// each): 1 x 3 x 8 x 8 padded input, 3 x 3 windows at stride 1, 6 x 6
// outputs, multiplier 2, kind 0.
// CHECK-LABEL: func.func @depthwise
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x1x8x8xf32>, %[[W:.*]]: tensor<3x2x1x3x3xf32>)
// CHECK-DAG: %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : i64
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : i64
// CHECK: call @lattice_uk_window2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C1]], %[[C3]], %[[C1]], %[[C8]], %[[C8]], %[[C3]], %[[C3]], %[[C6]], %[[C6]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C2]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C0]], %[[C2]])
// CHECK-NOT: linalg.generic
func.func @depthwise(%x: tensor<1x3x1x8x8xf32>, %w: tensor<3x2x1x3x3xf32>) -> tensor<1x3x2x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x2x6x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x2x6x6xf32>) -> tensor<1x3x2x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x3x1x8x8xf32>, tensor<3x2x1x3x3xf32>) outs(%init : tensor<1x3x2x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<1x3x2x6x6xf32>
  return %y : tensor<1x3x2x6x6xf32>
}

// -----

// A grouped convolution with two input channels per group (3 groups, one
// output channel each): groups 3, cg 2.
// CHECK-LABEL: func.func @grouped
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : i64
// CHECK: call @lattice_uk_window2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C1]], %[[C3]], %[[C2]],
func.func @grouped(%x: tensor<1x3x2x8x8xf32>, %w: tensor<3x1x2x3x3xf32>) -> tensor<1x3x1x6x6xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x3x1x6x6xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x3x1x6x6xf32>) -> tensor<1x3x1x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x3x2x8x8xf32>, tensor<3x1x2x3x3xf32>) outs(%init : tensor<1x3x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x3x1x6x6xf32>
  return %y : tensor<1x3x1x6x6xf32>
}

// -----

// Padded inputs: the kernel pads them itself (the padding's rows above and
// columns left in the kind's bits 8 and 16) when the padding is a fill of
// the value its reduction starts from: max pooling over -inf (kind 1 | 1 <<
// 8 | 1 << 16) reads the 7 x 7 input, not the 9 x 9 padded tensor; a
// depthwise convolution over +0, through the importer's expansion of the
// channels into groups (kind 1 << 8 | 2 << 16), the 6 x 5 input.
// CHECK-LABEL: func.func @padded_inputs
// CHECK-SAME: (%[[X:.*]]: tensor<1x4x7x7xf32>, %[[D:.*]]: tensor<1x3x6x5xf32>,
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only
// CHECK: %[[XP:.*]] = memref.extract_aligned_pointer_as_index %[[XB]]
// CHECK: %[[XA:.*]] = arith.index_cast %[[XP]]
// CHECK: call @lattice_uk_window2d_f32(%[[XA]], {{.*}}, %c7_i64{{[_0-9]*}}, %c7_i64{{[_0-9]*}}, {{.*}}, %c65793_i64{{[_0-9]*}},
// CHECK: %[[DB:.*]] = bufferization.to_buffer %[[D]] read_only
// CHECK: %[[DP:.*]] = memref.extract_aligned_pointer_as_index %[[DB]]
// CHECK: %[[DA:.*]] = arith.index_cast %[[DP]]
// CHECK: call @lattice_uk_window2d_f32(%[[DA]], {{.*}}, %c6_i64{{[_0-9]*}}, %c5_i64{{[_0-9]*}}, {{.*}}, %c131328_i64{{[_0-9]*}},
func.func @padded_inputs(%x: tensor<1x4x7x7xf32>, %d: tensor<1x3x6x5xf32>, %w: tensor<3x1x1x3x3xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x3x1x6x6xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %pe = tensor.empty() : tensor<1x4x9x9xf32>
  %pf = linalg.fill ins(%ninf : f32) outs(%pe : tensor<1x4x9x9xf32>) -> tensor<1x4x9x9xf32>
  %px = tensor.insert_slice %x into %pf[0, 0, 1, 1] [1, 4, 7, 7] [1, 1, 1, 1] : tensor<1x4x7x7xf32> into tensor<1x4x9x9xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %window = tensor.empty() : tensor<3x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%px, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  %de = tensor.empty() : tensor<1x3x8x8xf32>
  %df = linalg.fill ins(%zero : f32) outs(%de : tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  %dp = tensor.insert_slice %d into %df[0, 0, 1, 2] [1, 3, 6, 5] [1, 1, 1, 1] : tensor<1x3x6x5xf32> into tensor<1x3x8x8xf32>
  %dx = tensor.expand_shape %dp [[0], [1], [2, 3], [4]] output_shape [1, 3, 1, 8, 8] : tensor<1x3x8x8xf32> into tensor<1x3x1x8x8xf32>
  %ce = tensor.empty() : tensor<1x3x1x6x6xf32>
  %ci = linalg.fill ins(%zero : f32) outs(%ce : tensor<1x3x1x6x6xf32>) -> tensor<1x3x1x6x6xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%dx, %w : tensor<1x3x1x8x8xf32>, tensor<3x1x1x3x3xf32>) outs(%ci : tensor<1x3x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x3x1x6x6xf32>
  return %y, %z : tensor<1x4x4x4xf32>, tensor<1x3x1x6x6xf32>
}

// -----

// Paddings the kernel does not apply: max pooling over a padding of 0 (not
// -inf), a depthwise convolution over -0 (not +0), and a padding that
// offsets the channels: the kernels read the padded tensors (9 x 9, kind
// 1 and 0).
// CHECK-LABEL: func.func @padded_inputs_kept
// CHECK: call @lattice_uk_window2d_f32(%{{[0-9]+}}, %{{[a-z0-9_]+}}, %{{[0-9]+}}, %c1_i64{{[_0-9]*}}, %c4_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}},
// CHECK: call @lattice_uk_window2d_f32(%{{[0-9]+}}, %{{[a-z0-9_]+}}, %{{[0-9]+}}, %c1_i64{{[_0-9]*}}, %c4_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c0_i64{{[_0-9]*}},
// CHECK: call @lattice_uk_window2d_f32(%{{[0-9]+}}, %{{[a-z0-9_]+}}, %{{[0-9]+}}, %c1_i64{{[_0-9]*}}, %c4_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c9_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c3_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c{{[0-9]+}}_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}}, %c1_i64{{[_0-9]*}},
func.func @padded_inputs_kept(%x: tensor<1x4x7x7xf32>, %d: tensor<1x4x7x7xf32>, %w: tensor<4x1x1x3x3xf32>, %c: tensor<1x2x7x7xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x1x7x7xf32>, tensor<1x4x4x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %nzero = arith.constant -0.0 : f32
  %pe = tensor.empty() : tensor<1x4x9x9xf32>
  %pf = linalg.fill ins(%zero : f32) outs(%pe : tensor<1x4x9x9xf32>) -> tensor<1x4x9x9xf32>
  %px = tensor.insert_slice %x into %pf[0, 0, 1, 1] [1, 4, 7, 7] [1, 1, 1, 1] : tensor<1x4x7x7xf32> into tensor<1x4x9x9xf32>
  %e = tensor.empty() : tensor<1x4x4x4xf32>
  %init = linalg.fill ins(%ninf : f32) outs(%e : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %window = tensor.empty() : tensor<3x3xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%px, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  %de = tensor.empty() : tensor<1x4x9x9xf32>
  %df = linalg.fill ins(%nzero : f32) outs(%de : tensor<1x4x9x9xf32>) -> tensor<1x4x9x9xf32>
  %dp = tensor.insert_slice %d into %df[0, 0, 1, 1] [1, 4, 7, 7] [1, 1, 1, 1] : tensor<1x4x7x7xf32> into tensor<1x4x9x9xf32>
  %dx = tensor.expand_shape %dp [[0], [1], [2, 3], [4]] output_shape [1, 4, 1, 9, 9] : tensor<1x4x9x9xf32> into tensor<1x4x1x9x9xf32>
  %ce = tensor.empty() : tensor<1x4x1x7x7xf32>
  %ci = linalg.fill ins(%zero : f32) outs(%ce : tensor<1x4x1x7x7xf32>) -> tensor<1x4x1x7x7xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%dx, %w : tensor<1x4x1x9x9xf32>, tensor<4x1x1x3x3xf32>) outs(%ci : tensor<1x4x1x7x7xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x4x1x7x7xf32>
  %qe = tensor.empty() : tensor<1x4x9x9xf32>
  %qf = linalg.fill ins(%ninf : f32) outs(%qe : tensor<1x4x9x9xf32>) -> tensor<1x4x9x9xf32>
  %qx = tensor.insert_slice %c into %qf[0, 1, 1, 1] [1, 2, 7, 7] [1, 1, 1, 1] : tensor<1x2x7x7xf32> into tensor<1x4x9x9xf32>
  %q = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%qx, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  return %y, %z, %q : tensor<1x4x4x4xf32>, tensor<1x4x1x7x7xf32>, tensor<1x4x4x4xf32>
}

// -----

// Not covered, left to linalg: a grouped convolution into a destination
// that is not zero; max pooling into a destination that is not -inf; min
// pooling.
// CHECK-LABEL: func.func @windows_not_covered
// CHECK-NOT: lattice_uk_window2d_f32
// CHECK-COUNT-3: linalg.generic
func.func @windows_not_covered(%x: tensor<1x3x2x8x8xf32>, %w: tensor<3x1x2x3x3xf32>,
                               %p: tensor<1x4x9x9xf32>) -> (tensor<1x3x1x6x6xf32>, tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %e = tensor.empty() : tensor<1x3x1x6x6xf32>
  %init = linalg.fill ins(%one : f32) outs(%e : tensor<1x3x1x6x6xf32>) -> tensor<1x3x1x6x6xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d5, d3 + d6, d4 + d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d5, d6, d7)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d2, d3, d4)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x3x2x8x8xf32>, tensor<3x1x2x3x3xf32>) outs(%init : tensor<1x3x1x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %o, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x3x1x6x6xf32>
  %e2 = tensor.empty() : tensor<1x4x4x4xf32>
  %init2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %window = tensor.empty() : tensor<3x3xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init2 : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %ww: f32, %o: f32):
    %r = arith.maximumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  %inf = arith.constant 0x7F800000 : f32
  %e3 = tensor.empty() : tensor<1x4x4x4xf32>
  %init3 = linalg.fill ins(%inf : f32) outs(%e3 : tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %u = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>,
                                        affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %window : tensor<1x4x9x9xf32>, tensor<3x3xf32>) outs(%init3 : tensor<1x4x4x4xf32>) {
  ^bb0(%a: f32, %ww: f32, %o: f32):
    %r = arith.minimumf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<1x4x4x4xf32>
  return %y, %z, %u : tensor<1x3x1x6x6xf32>, tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>
}

// -----

// A pointwise convolution as the ONNX importer writes it (transpose to
// pixel-major, collapse, matmul): lattice_uk_conv2d_f32 with 1 x 1 windows
// at unit strides, which reads the channels in place instead of the
// transposed copy.
// CHECK-LABEL: func.func @pointwise
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[C5:.*]] = arith.constant 5 : i64
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : i64
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : i64
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : i64
// CHECK: call @lattice_uk_conv2d_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[C1]], %[[C5]], %[[C6]], %[[C7]], %[[C1]], %[[C1]], %[[C6]], %[[C7]], %[[C1]], %[[C1]], %[[C1]], %[[C1]], %[[C9]],
// CHECK-NOT: lattice.matmul
func.func @pointwise(%x: tensor<1x5x6x7xf32>, %w: tensor<9x5xf32>) -> tensor<42x9xf32> {
  %e = tensor.empty() : tensor<1x6x7x5xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d3, d1, d2)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x5x6x7xf32>) outs(%e : tensor<1x6x7x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x6x7x5xf32>
  %cols = tensor.collapse_shape %t [[0, 1, 2], [3]] : tensor<1x6x7x5xf32> into tensor<42x5xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<42x5xf32>, tensor<9x5xf32>) -> tensor<42x9xf32>
  return %y : tensor<42x9xf32>
}

// -----

// Not a pointwise convolution: the copy keeps the channels innermost (a
// plain reshape of NHWC data). An ordinary GEMM.
// CHECK-LABEL: func.func @pointwise_negative
// CHECK-NOT: lattice_uk_conv2d_f32
// CHECK: call @lattice_uk_gemm_f32
func.func @pointwise_negative(%x: tensor<1x6x7x5xf32>, %w: tensor<9x5xf32>) -> tensor<42x9xf32> {
  %e = tensor.empty() : tensor<1x6x7x5xf32>
  %t = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>,
                                        affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>],
                       iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : tensor<1x6x7x5xf32>) outs(%e : tensor<1x6x7x5xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<1x6x7x5xf32>
  %cols = tensor.collapse_shape %t [[0, 1, 2], [3]] : tensor<1x6x7x5xf32> into tensor<42x5xf32>
  %y = lattice.matmul %cols, %w accumulate(f32) : (tensor<42x5xf32>, tensor<9x5xf32>) -> tensor<42x9xf32>
  return %y : tensor<42x9xf32>
}
