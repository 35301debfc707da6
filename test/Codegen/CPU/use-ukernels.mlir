// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=2" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-lower-to-cpu="ukernels num-threads=2 bare-pointer-abi" -split-input-file \
// RUN:   | FileCheck %s --check-prefix=LLVM

// A W4A16 GEMV: every operand by address, the result in a fresh buffer.
// CHECK-LABEL: func.func private @lattice_uk_matmul_f32_q4(i64, i64, i64, i64, i64, i64, i64, i64, i64, i64, i64)
// CHECK-LABEL: func.func @gemv
// CHECK-SAME: (%[[X:.*]]: tensor<1x256xf32>, %[[W:.*]]: tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>>, %[[S:.*]]: tensor<64x8xf16>)
// CHECK-DAG: %[[CODES:.*]] = builtin.unrealized_conversion_cast %[[W]] : tensor<64x256x!lattice.quant<s4, f16, group<1, 32>>> to tensor<64x256xi4>
// CHECK-DAG: %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x64xf32>
// CHECK-DAG: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<1x256xf32> to memref<1x256xf32>
// CHECK-DAG: %[[WB:.*]] = bufferization.to_buffer %[[CODES]] read_only : tensor<64x256xi4> to memref<64x256xi4>
// CHECK-DAG: %[[SB:.*]] = bufferization.to_buffer %[[S]] read_only : tensor<64x8xf16> to memref<64x8xf16>
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

// Left to the generated code: more than 16 rows, groups of 16, 8-bit
// codes, bf16 scales, f16 activations.
// CHECK-NOT: func.func private @lattice_uk
// CHECK-LABEL: func.func @not_covered
// CHECK-NOT: call @lattice_uk
// CHECK-COUNT-5: lattice.matmul
func.func @not_covered(%x: tensor<32x64xf32>, %w: tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, %s: tensor<8x2xf16>,
                       %x1: tensor<1x64xf32>, %w16: tensor<8x64x!lattice.quant<s4, f16, group<1, 16>>>, %s16: tensor<8x4xf16>,
                       %w8: tensor<8x64x!lattice.quant<s8, f16, group<1, 32>>>,
                       %wb: tensor<8x64x!lattice.quant<s4, bf16, group<1, 32>>>, %sb: tensor<8x2xbf16>,
                       %xh: tensor<1x64xf16>) {
  %a = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<32x64xf32>, tensor<8x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<8x2xf16>) -> tensor<32x8xf32>
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
