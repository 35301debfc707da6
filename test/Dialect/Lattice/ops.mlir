// RUN: lattice-opt %s --verify-roundtrip | FileCheck %s
// RUN: lattice-opt %s --mlir-print-op-generic | lattice-opt | FileCheck %s
// RUN: lattice-opt %s --emit-bytecode | lattice-opt | FileCheck %s

// Every op and every form of !lattice.quant, printed back in custom form.

!s8 = !lattice.quant<s8, f32>
!u8_channel = !lattice.quant<u8, f32, channel<0>, asymmetric>
!s4_group = !lattice.quant<s4, f16, group<1, 32>>

// CHECK-LABEL: func.func @quant_type_forms
// CHECK-SAME: tensor<4x8x!lattice.quant<s8, f32>>
// CHECK-SAME: tensor<4x8x!lattice.quant<u4, bf16, channel<1>, asymmetric>>
// CHECK-SAME: tensor<4x64x!lattice.quant<s2, f16, group<1, 64>>>
// CHECK-SAME: tensor<4x8x!lattice.quant<ternary, bf16>>
// CHECK-SAME: tensor<4x8x!lattice.quant<binary, f32, channel<0>>>
// CHECK-SAME: tensor<4x8x!lattice.quant<u1, f32>>
// CHECK-SAME: tensor<4x8x!lattice.quant<s1, f32, asymmetric>>
// CHECK-SAME: tensor<4x8x!lattice.quant<s3, f32, channel<0>>>
func.func @quant_type_forms(
    %a: tensor<4x8x!lattice.quant<s8, f32>>,
    %b: tensor<4x8x!lattice.quant<u4, bf16, channel<1>, asymmetric>>,
    %c: tensor<4x64x!lattice.quant<s2, f16, group<1, 64>>>,
    %d: tensor<4x8x!lattice.quant<ternary, bf16>>,
    %e: tensor<4x8x!lattice.quant<binary, f32, channel<0>>>,
    %f: tensor<4x8x!lattice.quant<u1, f32>>,
    %g: tensor<4x8x!lattice.quant<s1, f32, asymmetric>>,
    // Spelling `symmetric` explicitly is accepted and printed as the default.
    %h: tensor<4x8x!lattice.quant<s3, f32, channel<0>, symmetric>>) {
  return
}

// CHECK-LABEL: func.func @quantize_per_tensor
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x8xf32>, %[[SCALE:.*]]: tensor<f32>)
// CHECK: lattice.quantize %[[INPUT]], %[[SCALE]] : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
func.func @quantize_per_tensor(%x: tensor<4x8xf32>, %s: tensor<f32>) -> tensor<4x8x!s8> {
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!s8>
  return %q : tensor<4x8x!s8>
}

// CHECK-LABEL: func.func @quantize_asymmetric_rounding
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x8xf32>, %[[SCALE:.*]]: tensor<4xf32>, %[[ZERO_POINT:.*]]: tensor<4xi16>)
// CHECK: lattice.quantize %[[INPUT]], %[[SCALE]], %[[ZERO_POINT]] {rounding = #lattice.rounding<nearest_away>}
func.func @quantize_asymmetric_rounding(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %z: tensor<4xi16>) -> tensor<4x8x!u8_channel> {
  %q = lattice.quantize %x, %s, %z {rounding = #lattice.rounding<nearest_away>}
      : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xi16>) -> tensor<4x8x!u8_channel>
  return %q : tensor<4x8x!u8_channel>
}

// CHECK-LABEL: func.func @quantize_dynamic_batch
// CHECK: lattice.quantize {{.*}} : (tensor<?x64xf32>, tensor<?x2xf16>) -> tensor<?x64x!lattice.quant<s4, f16, group<1, 32>>>
func.func @quantize_dynamic_batch(%x: tensor<?x64xf32>, %s: tensor<?x2xf16>) -> tensor<?x64x!s4_group> {
  %q = lattice.quantize %x, %s : (tensor<?x64xf32>, tensor<?x2xf16>) -> tensor<?x64x!s4_group>
  return %q : tensor<?x64x!s4_group>
}

// CHECK-LABEL: func.func @dynamic_quantize
// CHECK: %[[Q:.*]], %[[SCALE:.*]] = lattice.dynamic_quantize %{{.*}} : (tensor<16x64xf32>) -> (tensor<16x64x!lattice.quant<s8, f32, channel<0>>>, tensor<16xf32>)
// CHECK: %{{.*}}, %{{.*}}, %{{.*}} = lattice.dynamic_quantize %{{.*}} : (tensor<16x64xf32>) -> (tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<16xf32>, tensor<16xi32>)
func.func @dynamic_quantize(%x: tensor<16x64xf32>) {
  %q, %s = lattice.dynamic_quantize %x
      : (tensor<16x64xf32>) -> (tensor<16x64x!lattice.quant<s8, f32, channel<0>>>, tensor<16xf32>)
  %qa, %sa, %za = lattice.dynamic_quantize %x
      : (tensor<16x64xf32>) -> (tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<16xf32>, tensor<16xi32>)
  return
}

// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%[[INPUT:.*]]: tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>, %[[SCALE:.*]]: tensor<64x4xf16>)
// CHECK: lattice.dequantize %[[INPUT]], %[[SCALE]] : (tensor<64x128x!lattice.quant<s4, f16, group<1, 32>>>, tensor<64x4xf16>) -> tensor<64x128xf32>
func.func @dequantize(%q: tensor<64x128x!s4_group>, %s: tensor<64x4xf16>) -> tensor<64x128xf32> {
  %x = lattice.dequantize %q, %s : (tensor<64x128x!s4_group>, tensor<64x4xf16>) -> tensor<64x128xf32>
  return %x : tensor<64x128xf32>
}

/// Groups of 32 over K = 72: three scales a row, the last for 8 elements.
// CHECK-LABEL: func.func @dequantize_ragged
// CHECK: lattice.dequantize {{.*}} : (tensor<16x72x!lattice.quant<s4, f16, group<1, 32>>>, tensor<16x3xf16>) -> tensor<16x72xf32>
func.func @dequantize_ragged(%q: tensor<16x72x!s4_group>, %s: tensor<16x3xf16>) -> tensor<16x72xf32> {
  %x = lattice.dequantize %q, %s : (tensor<16x72x!s4_group>, tensor<16x3xf16>) -> tensor<16x72xf32>
  return %x : tensor<16x72xf32>
}

// CHECK-LABEL: func.func @requantize
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>, %[[IN_SCALE:.*]]: tensor<4xf32>, %[[IN_ZP:.*]]: tensor<4xi16>, %[[OUT_SCALE:.*]]: tensor<f32>)
// CHECK: lattice.requantize %[[INPUT]], %[[IN_SCALE]], %[[IN_ZP]] to %[[OUT_SCALE]] : {{.*}} -> tensor<4x8x!lattice.quant<s4, f32>>
func.func @requantize(%q: tensor<4x8x!u8_channel>, %s: tensor<4xf32>, %z: tensor<4xi16>, %s2: tensor<f32>) -> tensor<4x8x!lattice.quant<s4, f32>> {
  %r = lattice.requantize %q, %s, %z to %s2
      : (tensor<4x8x!u8_channel>, tensor<4xf32>, tensor<4xi16>, tensor<f32>) -> tensor<4x8x!lattice.quant<s4, f32>>
  return %r : tensor<4x8x!lattice.quant<s4, f32>>
}

// CHECK-LABEL: func.func @matmul_w4a16
// CHECK-SAME: (%[[LHS:.*]]: tensor<2x64xf16>, %[[RHS:.*]]: tensor<32x64x!lattice.quant<s4, f16, group<1, 32>>>, %[[RHS_SCALE:.*]]: tensor<32x2xf16>)
// CHECK: lattice.matmul %[[LHS]], %[[RHS]] rhs_scale(%[[RHS_SCALE]]) accumulate(f32)
func.func @matmul_w4a16(%x: tensor<2x64xf16>, %w: tensor<32x64x!s4_group>, %ws: tensor<32x2xf16>) -> tensor<2x32xf16> {
  %y = lattice.matmul %x, %w rhs_scale(%ws) accumulate(f32)
      : (tensor<2x64xf16>, tensor<32x64x!s4_group>, tensor<32x2xf16>) -> tensor<2x32xf16>
  return %y : tensor<2x32xf16>
}

// CHECK-LABEL: func.func @matmul_w8a8_asymmetric
// CHECK: lattice.matmul %{{.*}}, %{{.*}} lhs_scale(%{{.*}}) lhs_zero_point(%{{.*}}) rhs_scale(%{{.*}}) accumulate(i32)
func.func @matmul_w8a8_asymmetric(
    %x: tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>, %xs: tensor<16xf32>, %xz: tensor<16xi16>,
    %w: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, %ws: tensor<32xf32>) -> tensor<16x32xf32> {
  %y = lattice.matmul %x, %w lhs_scale(%xs) lhs_zero_point(%xz) rhs_scale(%ws) accumulate(i32)
      : (tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<16xf32>, tensor<16xi16>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// CHECK-LABEL: func.func @matmul_batched_float
// CHECK: lattice.matmul %{{.*}}, %{{.*}} accumulate(f32) : (tensor<2x?x64xf32>, tensor<32x64xf32>) -> tensor<2x?x32xf32>
func.func @matmul_batched_float(%x: tensor<2x?x64xf32>, %w: tensor<32x64xf32>) -> tensor<2x?x32xf32> {
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x?x64xf32>, tensor<32x64xf32>) -> tensor<2x?x32xf32>
  return %y : tensor<2x?x32xf32>
}

// CHECK-LABEL: func.func @matmul_grouped_both_i64
// CHECK: lattice.matmul %{{.*}}, %{{.*}} lhs_scale(%{{.*}}) rhs_scale(%{{.*}}) rhs_zero_point(%{{.*}}) accumulate(i64)
func.func @matmul_grouped_both_i64(
    %x: tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>, %xs: tensor<1x2xf32>,
    %w: tensor<8x64x!lattice.quant<u4, f16, group<1, 16>, asymmetric>>, %ws: tensor<8x4xf16>, %wz: tensor<8x4xi8>) -> tensor<1x8xf32> {
  %y = lattice.matmul %x, %w lhs_scale(%xs) rhs_scale(%ws) rhs_zero_point(%wz) accumulate(i64)
      : (tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>, tensor<8x64x!lattice.quant<u4, f16, group<1, 16>, asymmetric>>,
         tensor<1x2xf32>, tensor<8x4xf16>, tensor<8x4xi8>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}

// CHECK-LABEL: func.func @scaling_and_norms
// CHECK: lattice.channel_scale %{{.*}}, %{{.*}} axis(1) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
// CHECK: lattice.rms_norm %{{.*}}, %{{.*}} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
// CHECK: lattice.rms_norm %{{.*}}, %{{.*}} {epsilon = 9.99999974E-6 : f32}
// CHECK: lattice.layer_norm %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
// CHECK: lattice.layer_norm %{{.*}}, %{{.*}} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
// CHECK: lattice.normalize %{{.*}} : (tensor<8x64xf32>) -> tensor<8x64xf32>
func.func @scaling_and_norms(%x: tensor<8x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) {
  %0 = lattice.channel_scale %x, %g axis(1) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %1 = lattice.rms_norm %x, %g : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %2 = lattice.rms_norm %x, %g {epsilon = 1.0e-5 : f32} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %3 = lattice.layer_norm %x, %g, %b : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %4 = lattice.layer_norm %x, %g : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %5 = lattice.normalize %x : (tensor<8x64xf32>) -> tensor<8x64xf32>
  return
}

// CHECK-LABEL: func.func @observe_and_fake_quant
// CHECK: lattice.observe %{{.*}} name("blocks.0.mlp.in") channel_axis(1) : tensor<8x64xf32>
// CHECK: lattice.observe %{{.*}} name("blocks.0.mlp.out") : tensor<8x64xf32>
// CHECK: lattice.fake_quant %{{.*}}, %{{.*}} as !lattice.quant<s4, f32, channel<0>> : (tensor<8x64xf32>, tensor<8xf32>) -> tensor<8x64xf32>
// CHECK: lattice.fake_quant %{{.*}}, %{{.*}}, %{{.*}} as !lattice.quant<u8, f32, asymmetric> {rounding = #lattice.rounding<nearest_away>}
func.func @observe_and_fake_quant(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: tensor<f32>, %z: tensor<i32>) {
  %0 = lattice.observe %x name("blocks.0.mlp.in") channel_axis(1) : tensor<8x64xf32>
  %1 = lattice.observe %0 name("blocks.0.mlp.out") : tensor<8x64xf32>
  %2 = lattice.fake_quant %1, %s as !lattice.quant<s4, f32, channel<0>> : (tensor<8x64xf32>, tensor<8xf32>) -> tensor<8x64xf32>
  %3 = lattice.fake_quant %1, %t, %z as !lattice.quant<u8, f32, asymmetric> {rounding = #lattice.rounding<nearest_away>}
      : (tensor<8x64xf32>, tensor<f32>, tensor<i32>) -> tensor<8x64xf32>
  return
}

// CHECK-LABEL: func.func @external_weights
// CHECK: lattice.weight "blocks.0.attn.wq" from "model.safetensors" : tensor<64x64xf32>
// CHECK: lattice.weight "blocks.0.attn.wq.q" from "model.safetensors" : tensor<64x64x!lattice.quant<s4, f16, group<1, 32>>>
// CHECK: lattice.weight "blocks.0.attn.wq.zp" from "model.safetensors" : tensor<64x2xi8>
func.func @external_weights() {
  %0 = lattice.weight "blocks.0.attn.wq" from "model.safetensors" : tensor<64x64xf32>
  %1 = lattice.weight "blocks.0.attn.wq.q" from "model.safetensors" : tensor<64x64x!s4_group>
  %2 = lattice.weight "blocks.0.attn.wq.zp" from "model.safetensors" : tensor<64x2xi8>
  return
}

// CHECK-LABEL: func.func @storage_cast
// CHECK-SAME: (%[[CODES:.*]]: tensor<2x4xi8>)
// CHECK: %[[Q:.*]] = lattice.scast %[[CODES]] : tensor<2x4xi8> to tensor<2x4x!lattice.quant<u4, f32, channel<0>, asymmetric>>
// CHECK: lattice.scast %[[Q]] : tensor<2x4x!lattice.quant<u4, f32, channel<0>, asymmetric>> to tensor<2x4xi8>
func.func @storage_cast(%codes: tensor<2x4xi8>) -> tensor<2x4xi8> {
  %q = lattice.scast %codes : tensor<2x4xi8> to tensor<2x4x!lattice.quant<u4, f32, channel<0>, asymmetric>>
  %back = lattice.scast %q : tensor<2x4x!lattice.quant<u4, f32, channel<0>, asymmetric>> to tensor<2x4xi8>
  return %back : tensor<2x4xi8>
}
