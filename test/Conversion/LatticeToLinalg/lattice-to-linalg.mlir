// RUN: lattice-opt %s --convert-lattice-to-linalg -split-input-file | FileCheck %s

// CHECK-DAG: #[[$ID1:.+]] = affine_map<(d0) -> (d0)>
// CHECK-DAG: #[[$SCALAR:.+]] = affine_map<(d0) -> ()>
// CHECK-LABEL: func.func @quantize_per_tensor
// CHECK-SAME: (%[[INPUT:.*]]: tensor<8xf32>, %[[SCALE:.*]]: tensor<f32>) -> tensor<8xi8>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<8xi8>
// CHECK: linalg.generic {indexing_maps = [#[[$ID1]], #[[$SCALAR]], #[[$ID1]]], iterator_types = ["parallel"]}
// CHECK-SAME: ins(%[[INPUT]], %[[SCALE]] : tensor<8xf32>, tensor<f32>) outs(%[[INIT]] : tensor<8xi8>)
// CHECK: ^bb0(%[[X:.*]]: f32, %[[S:.*]]: f32, %{{.*}}: i8):
// CHECK: %[[SCALED:.*]] = arith.divf %[[X]], %[[S]] : f32
// CHECK: %[[ROUNDED:.*]] = math.roundeven %[[SCALED]] : f32
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[SCALED]], %[[SCALED]] : f32
// CHECK: %[[PICK:.*]] = arith.select %[[NAN]], %{{.*}}, %[[ROUNDED]] : f32
// CHECK: %[[LO:.*]] = arith.maximumf %[[PICK]], %{{.*}} : f32
// CHECK: %[[HI:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
// CHECK: %[[WIDE:.*]] = arith.fptosi %[[HI]] : f32 to i32
// CHECK: %[[CODE:.*]] = arith.trunci %[[WIDE]] : i32 to i8
// CHECK: linalg.yield %[[CODE]] : i8
func.func @quantize_per_tensor(%x: tensor<8xf32>, %s: tensor<f32>) -> tensor<8x!lattice.quant<s8, f32>> {
  %q = lattice.quantize %x, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8x!lattice.quant<s8, f32>>
  return %q : tensor<8x!lattice.quant<s8, f32>>
}

// -----

/// A constant per-tensor scale: x / s by its reciprocal and one fused
/// correction, q + (x - q s) / s, for |q| < 2^24; no division.
// CHECK-LABEL: func.func @quantize_constant_scale
// CHECK: ^bb0(%[[X:.*]]: f32, %{{.*}}: f32, %{{.*}}: i8):
// CHECK-DAG: %[[S:.*]] = arith.constant 3.000000e-01 : f32
// CHECK-DAG: %[[Y:.*]] = arith.constant 3.33333325 : f32
// CHECK-NOT: arith.divf
// CHECK: %[[Q:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK: %[[NEG:.*]] = arith.negf %[[Q]] : f32
// CHECK: %[[R:.*]] = math.fma %[[NEG]], %[[S]], %[[X]] : f32
// CHECK: %[[FIXED:.*]] = math.fma %[[R]], %[[Y]], %[[Q]] : f32
// CHECK: %[[ABS:.*]] = math.absf %[[Q]] : f32
// CHECK: %[[LIMIT:.*]] = arith.constant 0x4B800000 : f32
// CHECK: %[[IN:.*]] = arith.cmpf olt, %[[ABS]], %[[LIMIT]] : f32
// CHECK: %[[SCALED:.*]] = arith.select %[[IN]], %[[FIXED]], %[[Q]] : f32
// CHECK: math.roundeven %[[SCALED]] : f32
func.func @quantize_constant_scale(%x: tensor<8xf32>) -> tensor<8x!lattice.quant<s8, f32>> {
  %s = arith.constant dense<0.3> : tensor<f32>
  %q = lattice.quantize %x, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8x!lattice.quant<s8, f32>>
  return %q : tensor<8x!lattice.quant<s8, f32>>
}

// -----

/// Constant scales below 2^-64 (or above 2^64) divide: the residual of the
/// reciprocal's correction could underflow.
// CHECK-LABEL: func.func @quantize_tiny_constant_scale
// CHECK: arith.divf
// CHECK-NOT: math.fma
func.func @quantize_tiny_constant_scale(%x: tensor<8xf32>) -> tensor<8x!lattice.quant<s8, f32>> {
  %s = arith.constant dense<1.0e-30> : tensor<f32>
  %q = lattice.quantize %x, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8x!lattice.quant<s8, f32>>
  return %q : tensor<8x!lattice.quant<s8, f32>>
}

// -----

/// Groups along an axis: the axis is expanded to [D / g, g] so that the
/// scale map is a projected permutation, and collapsed back afterwards.
// CHECK-DAG: #[[$ID3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$GROUP:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @quantize_per_group_f16_scale
// CHECK-SAME: (%[[INPUT:.*]]: tensor<4x64xf32>, %[[SCALE:.*]]: tensor<4x2xf16>) -> tensor<4x64xi4>
// CHECK: %[[EXPANDED:.*]] = tensor.expand_shape %[[INPUT]] {{\[}}[0], [1, 2]] output_shape [4, 2, 32] : tensor<4x64xf32> into tensor<4x2x32xf32>
// CHECK: %[[CODES:.*]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$GROUP]], #[[$ID3]]]
// CHECK-SAME: ins(%[[EXPANDED]], %[[SCALE]] : tensor<4x2x32xf32>, tensor<4x2xf16>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.trunci %{{.*}} : i32 to i4
// CHECK: tensor.collapse_shape %[[CODES]] {{\[}}[0], [1, 2]] : tensor<4x2x32xi4> into tensor<4x64xi4>
func.func @quantize_per_group_f16_scale(%x: tensor<4x64xf32>, %s: tensor<4x2xf16>) -> tensor<4x64x!lattice.quant<s4, f16, group<1, 32>>> {
  %q = lattice.quantize %x, %s : (tensor<4x64xf32>, tensor<4x2xf16>) -> tensor<4x64x!lattice.quant<s4, f16, group<1, 32>>>
  return %q : tensor<4x64x!lattice.quant<s4, f16, group<1, 32>>>
}

// -----

// CHECK-LABEL: func.func @quantize_asymmetric_nearest_away
// CHECK: ^bb0(%[[X:.*]]: f32, %[[S:.*]]: f32, %[[ZERO_POINT:.*]]: i16, %{{.*}}: i8):
// CHECK: %[[ROUNDED:.*]] = math.round %{{.*}} : f32
// CHECK: %[[ZF:.*]] = arith.sitofp %[[ZERO_POINT]] : i16 to f32
// CHECK: arith.addf %[[ROUNDED]], %[[ZF]] : f32
func.func @quantize_asymmetric_nearest_away(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %z: tensor<4xi16>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>> {
  %q = lattice.quantize %x, %s, %z {rounding = #lattice.rounding<nearest_away>}
      : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xi16>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
  return %q : tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
}

// -----

/// Unsigned codes are zero-extended, signed ones sign-extended; the zero
/// point is subtracted in i32.
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @dequantize_unsigned_per_channel
// CHECK-SAME: (%[[INPUT:.*]]: tensor<?x8xi8>, %[[SCALE:.*]]: tensor<8xf32>, %[[ZERO_POINT:.*]]: tensor<8xi16>) -> tensor<?x8xf16>
// CHECK: %[[DIM:.*]] = tensor.dim %[[INPUT]], %{{.*}} : tensor<?x8xi8>
// CHECK: tensor.empty(%[[DIM]]) : tensor<?x8xf16>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$ROW]], #[[$ROW]], #{{.*}}]
// CHECK: ^bb0(%[[Q:.*]]: i8, %[[S:.*]]: f32, %[[Z:.*]]: i16, %{{.*}}: f16):
// CHECK: %[[QW:.*]] = arith.extui %[[Q]] : i8 to i32
// CHECK: %[[ZW:.*]] = arith.extsi %[[Z]] : i16 to i32
// CHECK: %[[DIFF:.*]] = arith.subi %[[QW]], %[[ZW]] : i32
// CHECK: %[[F:.*]] = arith.sitofp %[[DIFF]] : i32 to f32
// CHECK: %[[Y:.*]] = arith.mulf %[[F]], %[[S]] : f32
// CHECK: arith.truncf %[[Y]] : f32 to f16
func.func @dequantize_unsigned_per_channel(%q: tensor<?x8x!lattice.quant<u8, f32, channel<1>, asymmetric>>, %s: tensor<8xf32>, %z: tensor<8xi16>) -> tensor<?x8xf16> {
  %x = lattice.dequantize %q, %s, %z : (tensor<?x8x!lattice.quant<u8, f32, channel<1>, asymmetric>>, tensor<8xf32>, tensor<8xi16>) -> tensor<?x8xf16>
  return %x : tensor<?x8xf16>
}

// -----

/// Binary codes are stored as i1: 1 for +1, 0 for -1.
// CHECK-LABEL: func.func @binary_round_trip
// CHECK: %[[NEG:.*]] = arith.cmpf olt, %{{.*}}, %{{.*}} : f32
// CHECK: arith.xori %[[NEG]], %{{.*}} : i1
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : i32
func.func @binary_round_trip(%x: tensor<8xf32>, %s: tensor<f32>) -> tensor<8xf32> {
  %q = lattice.quantize %x, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8x!lattice.quant<binary, f32>>
  %y = lattice.dequantize %q, %s : (tensor<8x!lattice.quant<binary, f32>>, tensor<f32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

/// requantize and fake_quant decompose into dequantize/quantize pairs;
/// observe disappears: 2 + 1 + 2 generics.
/// dynamic_quantize: a min/max reduction per block (from 0, skipping NaN),
/// the block parameters from the scale rounded to its type, then quantize.
// CHECK-LABEL: func.func @dynamic_quantize_per_token
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4xf16>, tensor<4xi16>)
// CHECK: %[[ZERO:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[RANGE:.*]]:2 = linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[X]] : tensor<4x64xf32>) outs(%[[ZERO]], %[[ZERO]] : tensor<4xf32>, tensor<4xf32>)
// CHECK: arith.minnumf
// CHECK: arith.maxnumf
// CHECK: %[[PARAMS:.*]]:2 = linalg.generic
// CHECK-SAME: ins(%[[RANGE]]#0, %[[RANGE]]#1 : tensor<4xf32>, tensor<4xf32>)
// CHECK: %[[RANGE_WIDTH:.*]] = arith.subf
// CHECK: %[[RAW:.*]] = arith.divf %[[RANGE_WIDTH]]
// CHECK: %[[HALF:.*]] = arith.truncf %[[RAW]] : f32 to f16
// CHECK: %[[ROUNDED:.*]] = arith.extf %[[HALF]] : f16 to f32
// CHECK: %[[USABLE:.*]] = arith.andi
// CHECK: %[[SCALE:.*]] = arith.select %[[USABLE]], %[[ROUNDED]]
// CHECK: arith.divf %{{.*}}, %[[SCALE]]
// CHECK: math.roundeven
// CHECK: %[[CODES:.*]] = linalg.generic
// CHECK-SAME: ins(%[[X]], %[[PARAMS]]#0, %[[PARAMS]]#1 : tensor<4x64xf32>, tensor<4xf16>, tensor<4xi16>)
// CHECK: return %[[CODES]], %[[PARAMS]]#0, %[[PARAMS]]#1
func.func @dynamic_quantize_per_token(%x: tensor<4x64xf32>) -> (tensor<4x64x!lattice.quant<u8, f16, channel<0>, asymmetric>>, tensor<4xf16>, tensor<4xi16>) {
  %q, %s, %z = lattice.dynamic_quantize %x
      : (tensor<4x64xf32>) -> (tensor<4x64x!lattice.quant<u8, f16, channel<0>, asymmetric>>, tensor<4xf16>, tensor<4xi16>)
  return %q, %s, %z : tensor<4x64x!lattice.quant<u8, f16, channel<0>, asymmetric>>, tensor<4xf16>, tensor<4xi16>
}

// -----

// CHECK-LABEL: func.func @decompositions
// CHECK-SAME: (%[[INPUT:.*]]: tensor<8xf32>
// CHECK-NOT: lattice.
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: linalg.generic
func.func @decompositions(%x: tensor<8xf32>, %s: tensor<f32>, %t: tensor<f32>) -> (tensor<8xf32>, tensor<8x!lattice.quant<s4, f32>>) {
  %o = lattice.observe %x name("x") : tensor<8xf32>
  %f = lattice.fake_quant %o, %s as !lattice.quant<s8, f32> : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %q = lattice.quantize %f, %s : (tensor<8xf32>, tensor<f32>) -> tensor<8x!lattice.quant<s8, f32>>
  %r = lattice.requantize %q, %s to %t : (tensor<8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<8x!lattice.quant<s4, f32>>
  return %f, %r : tensor<8xf32>, tensor<8x!lattice.quant<s4, f32>>
}

// -----

/// W4A16: the weight is dequantized inside the reduction (no float copy of
/// it); K is split into (groups, within group) for the group scales.
// CHECK-DAG: #[[$X:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG: #[[$W:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2, d3)>
// CHECK-DAG: #[[$WS:.+]] = affine_map<(d0, d1, d2, d3) -> (d1, d2)>
// CHECK-DAG: #[[$Y:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_w4a16
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf16>, %[[W:.*]]: tensor<32x64xi4>, %[[WS:.*]]: tensor<32x2xf16>)
// CHECK-DAG: %[[XE:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [2, 2, 32]
// CHECK-DAG: %[[WE:.*]] = tensor.expand_shape %[[W]] {{\[}}[0], [1, 2]] output_shape [32, 2, 32]
// CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x32xf32>)
// CHECK: %[[Y:.*]] = linalg.generic {indexing_maps = [#[[$X]], #[[$W]], #[[$WS]], #[[$Y]]], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
// CHECK-SAME: ins(%[[XE]], %[[WE]], %[[WS]] : tensor<2x2x32xf16>, tensor<32x2x32xi4>, tensor<32x2xf16>) outs(%[[ACC]] : tensor<2x32xf32>)
// CHECK: arith.extsi %{{.*}} : i4 to i32
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @matmul_w4a16(%x: tensor<2x64xf16>, %w: tensor<32x64x!lattice.quant<s4, f16, group<1, 32>>>, %ws: tensor<32x2xf16>) -> tensor<2x32xf16> {
  %y = lattice.matmul %x, %w rhs_scale(%ws) accumulate(f32)
      : (tensor<2x64xf16>, tensor<32x64x!lattice.quant<s4, f16, group<1, 32>>>, tensor<32x2xf16>) -> tensor<2x32xf16>
  return %y : tensor<2x32xf16>
}

// -----

/// W8A8 per token and per channel: an i32 reduction over K, then the
/// epilogue sum * s_lhs[m] * s_rhs[n].
// CHECK-DAG: #[[$TOKEN:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$CHANNEL:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @matmul_w8a8
// CHECK-SAME: (%[[X:.*]]: tensor<16x64xi8>, %[[XS:.*]]: tensor<16xf32>, %[[W:.*]]: tensor<32x64xi8>, %[[WS:.*]]: tensor<32xf32>)
// CHECK: %[[SUMS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<16x64xi8>, tensor<32x64xi8>) outs(%{{.*}} : tensor<16x32xi32>)
// CHECK: arith.muli %{{.*}}, %{{.*}} : i32
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$TOKEN]], #[[$CHANNEL]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[SUMS]], %[[XS]], %[[WS]] : tensor<16x32xi32>, tensor<16xf32>, tensor<32xf32>)
// CHECK: arith.sitofp %{{.*}} : i32 to f32
func.func @matmul_w8a8(%x: tensor<16x64x!lattice.quant<s8, f32, channel<0>>>, %xs: tensor<16xf32>,
                       %w: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, %ws: tensor<32xf32>) -> tensor<16x32xf32> {
  %y = lattice.matmul %x, %w lhs_scale(%xs) rhs_scale(%ws) accumulate(i32)
      : (tensor<16x64x!lattice.quant<s8, f32, channel<0>>>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>,
         tensor<16xf32>, tensor<32xf32>) -> tensor<16x32xf32>
  return %y : tensor<16x32xf32>
}

// -----

/// RMSNorm: a row reduction of x^2 in f32, sqrt(sum / N + eps) once per
/// row, then x / root * w.
// CHECK-DAG: #[[$ROWS:.+]] = affine_map<(d0, d1) -> (d0)>
// CHECK-DAG: #[[$LAST:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf16>, %[[W:.*]]: tensor<64xf16>)
// CHECK: %[[SUMS:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[$ROWS]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<8x64xf16>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: %[[ROOTS:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]}
// CHECK-SAME: ins(%[[SUMS]] : tensor<8xf32>) outs(%{{.*}} : tensor<8xf32>)
// CHECK: arith.divf
// CHECK: math.sqrt
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[$ROWS]], #[[$LAST]], #{{.*}}], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[ROOTS]], %[[W]] : tensor<8x64xf16>, tensor<8xf32>, tensor<64xf16>)
// CHECK-NOT: math.sqrt
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @rms_norm(%x: tensor<8x64xf16>, %w: tensor<64xf16>) -> tensor<8x64xf16> {
  %y = lattice.rms_norm %x, %w : (tensor<8x64xf16>, tensor<64xf16>) -> tensor<8x64xf16>
  return %y : tensor<8x64xf16>
}

// -----

/// LayerNorm: sums, sums of squares around the mean, the mean and root once
/// per row, then the map; normalize: sums of squares, the divisor once per
/// row, then the map.
// CHECK-LABEL: func.func @layer_norm_and_normalize
// CHECK-COUNT-2: iterator_types = ["parallel", "reduction"]
// CHECK: iterator_types = ["parallel"]
// CHECK: math.sqrt
// CHECK: iterator_types = ["parallel", "parallel"]
// CHECK-NOT: math.sqrt
// CHECK: iterator_types = ["parallel", "reduction"]
// CHECK: iterator_types = ["parallel"]
// CHECK: arith.maximumf
// CHECK: iterator_types = ["parallel", "parallel"]
// CHECK-NOT: math.sqrt
func.func @layer_norm_and_normalize(%x: tensor<8x64xf32>, %w: tensor<64xf32>) -> tensor<8x64xf32> {
  %y = lattice.layer_norm %x, %w : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  %z = lattice.normalize %y : (tensor<8x64xf32>) -> tensor<8x64xf32>
  return %z : tensor<8x64xf32>
}

// -----

/// Constant codes become a constant of the storage type; binary codes are
/// one bit, set for +1.
// CHECK-LABEL: func.func @scast_constant
// CHECK-DAG: arith.constant dense<[1, -8, 7]> : tensor<3xi4>
// CHECK-DAG: arith.constant dense<[true, false, true]> : tensor<3xi1>
// CHECK-NOT: lattice.scast
func.func @scast_constant() -> (tensor<3x!lattice.quant<s4, f32>>, tensor<3x!lattice.quant<binary, f32>>) {
  %c = arith.constant dense<[1, -8, 7]> : tensor<3xi8>
  %q = lattice.scast %c : tensor<3xi8> to tensor<3x!lattice.quant<s4, f32>>
  %b = arith.constant dense<[1, -1, 1]> : tensor<3xi8>
  %p = lattice.scast %b : tensor<3xi8> to tensor<3x!lattice.quant<binary, f32>>
  return %q, %p : tensor<3x!lattice.quant<s4, f32>>, tensor<3x!lattice.quant<binary, f32>>
}

// -----

/// Run-time codes: truncated to the storage width, and widened back with
/// the scheme's signedness.
// CHECK-LABEL: func.func @scast_values
// CHECK-SAME: (%[[CODES:.*]]: tensor<8xi8>, %[[Q:.*]]: tensor<8xi4>)
// CHECK: linalg.generic {{.*}} ins(%[[CODES]] : tensor<8xi8>)
// CHECK: arith.trunci %{{.*}} : i8 to i4
// CHECK: linalg.generic {{.*}} ins(%[[Q]] : tensor<8xi4>)
// CHECK: arith.extui %{{.*}} : i4 to i8
func.func @scast_values(%codes: tensor<8xi8>, %q: tensor<8x!lattice.quant<u4, f32>>) -> (tensor<8x!lattice.quant<u4, f32>>, tensor<8xi8>) {
  %to = lattice.scast %codes : tensor<8xi8> to tensor<8x!lattice.quant<u4, f32>>
  %from = lattice.scast %q : tensor<8x!lattice.quant<u4, f32>> to tensor<8xi8>
  return %to, %from : tensor<8x!lattice.quant<u4, f32>>, tensor<8xi8>
}

// -----

/// 3-bit codes live in 4-bit containers (docs/WeightLayout.md).
// CHECK-LABEL: func.func @three_bit_container
// CHECK-SAME: (%{{.*}}: tensor<8xi4>
// CHECK: arith.extsi %{{.*}} : i4 to i32
func.func @three_bit_container(%q: tensor<8x!lattice.quant<s3, f32>>, %s: tensor<f32>) -> tensor<8xf32> {
  %x = lattice.dequantize %q, %s : (tensor<8x!lattice.quant<s3, f32>>, tensor<f32>) -> tensor<8xf32>
  return %x : tensor<8xf32>
}
