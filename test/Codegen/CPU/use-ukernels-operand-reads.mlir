// A microkernel call reads its tensor operands through their addresses; the
// to_buffer op before each call is where bufferization sees that read. Two
// calls that read one tensor keep one to_buffer each, numbered apart, so
// that CSE cannot leave the first as the only read: bufferization would
// then be free to reuse the tensor's buffer for another value before the
// second call reads it (a 2-layer LSTM's recurrent matmuls, both reading
// the quantized zero state, read the layer's input instead).
//
// RUN: lattice-opt %s --lattice-cpu-use-ukernels="num-threads=1" --cse | FileCheck %s

// CHECK-LABEL: func.func @two_reads
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x64x!lattice.quant<s8, f32, channel<0>>>
// CHECK: %[[CODES:.*]] = builtin.unrealized_conversion_cast %[[X]]
// CHECK: bufferization.to_buffer %[[CODES]] read_only {lattice.ukernel_operand = [[FIRST:[0-9]+]] : i64}
// CHECK: call @lattice_uk_gemm_s8
// CHECK: bufferization.to_buffer %[[CODES]] read_only {lattice.ukernel_operand = [[SECOND:[0-9]+]] : i64}
// CHECK-NOT: lattice.ukernel_operand = [[FIRST]] :
// CHECK: call @lattice_uk_gemm_s8
func.func @two_reads(%x: tensor<1x64x!lattice.quant<s8, f32, channel<0>>>, %sx: tensor<1xf32>,
                     %w1: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, %s1: tensor<32xf32>,
                     %w2: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, %s2: tensor<32xf32>)
    -> (tensor<1x32xf32>, tensor<1x32xf32>) {
  %a = lattice.matmul %x, %w1 lhs_scale(%sx) rhs_scale(%s1) accumulate(i32)
      : (tensor<1x64x!lattice.quant<s8, f32, channel<0>>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<1xf32>, tensor<32xf32>) -> tensor<1x32xf32>
  %b = lattice.matmul %x, %w2 lhs_scale(%sx) rhs_scale(%s2) accumulate(i32)
      : (tensor<1x64x!lattice.quant<s8, f32, channel<0>>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<1xf32>, tensor<32xf32>) -> (tensor<1x32xf32>)
  return %a, %b : tensor<1x32xf32>, tensor<1x32xf32>
}
