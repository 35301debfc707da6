// RUN: lattice-opt %s -split-input-file -verify-diagnostics

//===----------------------------------------------------------------------===//
// !lattice.quant
//===----------------------------------------------------------------------===//

// expected-error@+1 {{expected storage `sN`, `uN`, `ternary` or `binary`, got 'i8'}}
func.func @quant_type_bad_storage(%arg0: tensor<4x!lattice.quant<i8, f32>>)

// -----

// expected-error@+1 {{expected storage `sN`, `uN`, `ternary` or `binary`, got 's'}}
func.func @quant_type_storage_without_width(%arg0: tensor<4x!lattice.quant<s, f32>>)

// -----

// expected-error@+1 {{storage width must be in [1, 8], got 9}}
func.func @quant_type_width_too_large(%arg0: tensor<4x!lattice.quant<s9, f32>>)

// -----

// expected-error@+1 {{storage width must be in [1, 8], got 0}}
func.func @quant_type_width_zero(%arg0: tensor<4x!lattice.quant<u0, f32>>)

// -----

/// A symmetric signed 1-bit code has no positive value to scale.
// expected-error@+1 {{symmetric signed storage needs at least 2 bits}}
func.func @quant_type_symmetric_s1(%arg0: tensor<4x!lattice.quant<s1, f32>>)

// -----

// expected-error@+1 {{ternary storage must be symmetric}}
func.func @quant_type_ternary_asymmetric(%arg0: tensor<4x!lattice.quant<ternary, f32, asymmetric>>)

// -----

// expected-error@+1 {{binary storage must be symmetric}}
func.func @quant_type_binary_asymmetric(%arg0: tensor<4x!lattice.quant<binary, f32, asymmetric>>)

// -----

// expected-error@+1 {{scale type must be f32, f16 or bf16}}
func.func @quant_type_integer_scale(%arg0: tensor<4x!lattice.quant<s8, i32>>)

// -----

// expected-error@+1 {{scale type must be f32, f16 or bf16}}
func.func @quant_type_f64_scale(%arg0: tensor<4x!lattice.quant<s8, f64>>)

// -----

// expected-error@+1 {{quantized axis must be non-negative, got -1}}
func.func @quant_type_negative_axis(%arg0: tensor<4x!lattice.quant<s8, f32, channel<-1>>>)

// -----

// expected-error@+1 {{group size must be positive, got 0}}
func.func @quant_type_zero_group(%arg0: tensor<4x!lattice.quant<s4, f32, group<0, 0>>>)

// -----

// expected-error@+1 {{granularity is given more than once}}
func.func @quant_type_two_granularities(%arg0: tensor<4x!lattice.quant<s4, f32, channel<0>, group<0, 2>>>)

// -----

// expected-error@+1 {{symmetry is given more than once}}
func.func @quant_type_two_symmetries(%arg0: tensor<4x!lattice.quant<u4, f32, asymmetric, symmetric>>)

// -----

// expected-error@+1 {{expected `channel<axis>`, `group<axis, size>`, `symmetric` or `asymmetric`, got 'tensor'}}
func.func @quant_type_unknown_granularity(%arg0: tensor<4x!lattice.quant<s8, f32, tensor>>)

//===----------------------------------------------------------------------===//
// Scheme against shape, scales and zero points (quantize)
//===----------------------------------------------------------------------===//

// -----

func.func @quantize_axis_out_of_range(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'lattice.quantize' op quantized axis 2 is out of range for rank 2}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8x!lattice.quant<s8, f32, channel<2>>>
  return
}

// -----

/// Groups of 32 over 48 elements: two, the second of 16.
func.func @quantize_ragged_group_scale(%x: tensor<4x48xf32>, %s: tensor<4x1xf32>) {
  // expected-error@+1 {{'lattice.quantize' op scale type 'tensor<4x1xf32>' does not match 'tensor<4x2xf32>' implied by the scheme}}
  %q = lattice.quantize %x, %s : (tensor<4x48xf32>, tensor<4x1xf32>) -> tensor<4x48x!lattice.quant<s4, f32, group<1, 32>>>
  return
}

// -----

/// The number of groups of a dynamic axis is unknown, so it cannot be checked.
func.func @quantize_group_on_dynamic_axis(%x: tensor<4x?xf32>, %s: tensor<4x?xf32>) {
  // expected-error@+1 {{'lattice.quantize' op grouped axis 1 must have a static size}}
  %q = lattice.quantize %x, %s : (tensor<4x?xf32>, tensor<4x?xf32>) -> tensor<4x?x!lattice.quant<s4, f32, group<1, 32>>>
  return
}

// -----

func.func @quantize_shape_mismatch(%x: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.quantize' op input and result shapes must match}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<8x4x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @quantize_scale_element_type(%x: tensor<4x8xf32>, %s: tensor<4xf16>) {
  // expected-error@+1 {{'lattice.quantize' op scale type 'tensor<4xf16>' does not match 'tensor<4xf32>' implied by the scheme}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<4xf16>) -> tensor<4x8x!lattice.quant<s8, f32, channel<0>>>
  return
}

// -----

func.func @quantize_group_scale_shape(%x: tensor<4x64xf32>, %s: tensor<4x4xf32>) {
  // expected-error@+1 {{'lattice.quantize' op scale type 'tensor<4x4xf32>' does not match 'tensor<4x2xf32>' implied by the scheme}}
  %q = lattice.quantize %x, %s : (tensor<4x64xf32>, tensor<4x4xf32>) -> tensor<4x64x!lattice.quant<s4, f32, group<1, 32>>>
  return
}

// -----

func.func @quantize_symmetric_with_zero_point(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i32>) {
  // expected-error@+1 {{'lattice.quantize' op symmetric scheme takes no zero point}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<i32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @quantize_asymmetric_without_zero_point(%x: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.quantize' op asymmetric scheme requires a zero point}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<u8, f32, asymmetric>>
  return
}

// -----

func.func @quantize_zero_point_shape(%x: tensor<4x8xf32>, %s: tensor<4xf32>, %z: tensor<8xi32>) {
  // expected-error@+1 {{'lattice.quantize' op zero point type 'tensor<8xi32>' does not have the scale's shape}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<4xf32>, tensor<8xi32>) -> tensor<4x8x!lattice.quant<u8, f32, channel<0>, asymmetric>>
  return
}

// -----

/// Zero points are read as signed: i8 cannot hold 255.
func.func @quantize_zero_point_too_narrow(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i8>) {
  // expected-error@+1 {{'lattice.quantize' op zero point element type 'i8' cannot hold the storage range [0, 255]}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<i8>) -> tensor<4x8x!lattice.quant<u8, f32, asymmetric>>
  return
}

// -----

/// Upstream quant wraps an out-of-range zero point silently (300 -> 44).
func.func @quantize_zero_point_out_of_range(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<0.5> : tensor<f32>
  %z = arith.constant dense<300> : tensor<i32>
  // expected-error@+1 {{'lattice.quantize' op zero point 300 at index 0 is outside the storage range [0, 255]}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<i32>) -> tensor<4x8x!lattice.quant<u8, f32, asymmetric>>
  return
}

// -----

func.func @quantize_zero_point_negative_unsigned(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<0.5> : tensor<4xf32>
  %z = arith.constant dense<[0, 3, -1, 7]> : tensor<4xi16>
  // expected-error@+1 {{'lattice.quantize' op zero point -1 at index 2 is outside the storage range [0, 15]}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<4xf32>, tensor<4xi16>) -> tensor<4x8x!lattice.quant<u4, f32, channel<0>, asymmetric>>
  return
}

// -----

func.func @quantize_zero_scale(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<[1.0, 0.0, 1.0, 1.0]> : tensor<4xf32>
  // expected-error@+1 {{'lattice.quantize' op scale 0 at index 1 is not a finite, positive, normal f32 value}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8x!lattice.quant<s8, f32, channel<0>>>
  return
}

// -----

func.func @quantize_negative_scale(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<-0.5> : tensor<f32>
  // expected-error@+1 {{'lattice.quantize' op scale -0.5 at index 0 is not a finite, positive, normal f32 value}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return
}

// -----

/// 1/x of a subnormal scale overflows f32.
func.func @quantize_subnormal_scale(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<1.0e-40> : tensor<f32>
  // expected-error@+1 {{'lattice.quantize' op scale 9.9999461e-41 at index 0 is not a finite, positive, normal f32 value}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @quantize_nan_scale(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<0x7FC00000> : tensor<f32>
  // expected-error@+1 {{'lattice.quantize' op scale nan at index 0 is not a finite, positive, normal f32 value}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @quantize_infinite_f16_scale(%x: tensor<4x8xf32>) {
  %s = arith.constant dense<0x7C00> : tensor<f16>
  // expected-error@+1 {{'lattice.quantize' op scale inf at index 0 is not a finite, positive, normal f32 value}}
  %q = lattice.quantize %x, %s : (tensor<4x8xf32>, tensor<f16>) -> tensor<4x8x!lattice.quant<s8, f16>>
  return
}

//===----------------------------------------------------------------------===//
// dynamic_quantize, dequantize, requantize, fake_quant
//===----------------------------------------------------------------------===//

// -----

func.func @dynamic_quantize_missing_zero_point(%x: tensor<16x64xf32>) {
  // expected-error@+1 {{'lattice.dynamic_quantize' op asymmetric scheme requires a zero point}}
  %q, %s = lattice.dynamic_quantize %x
      : (tensor<16x64xf32>) -> (tensor<16x64x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<16xf32>)
  return
}

// -----

func.func @dynamic_quantize_shape_mismatch(%x: tensor<16x64xf32>) {
  // expected-error@+1 {{'lattice.dynamic_quantize' op input and result shapes must match}}
  %q, %s = lattice.dynamic_quantize %x : (tensor<16x64xf32>) -> (tensor<16x32x!lattice.quant<s8, f32>>, tensor<f32>)
  return
}

// -----

func.func @dequantize_shape_mismatch(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.dequantize' op input and result shapes must match}}
  %x = lattice.dequantize %q, %s : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<4x4xf32>
  return
}

// -----

func.func @dequantize_scale_shape(%q: tensor<4x8x!lattice.quant<s8, f32, channel<1>>>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'lattice.dequantize' op scale type 'tensor<4xf32>' does not match 'tensor<8xf32>' implied by the scheme}}
  %x = lattice.dequantize %q, %s : (tensor<4x8x!lattice.quant<s8, f32, channel<1>>>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @requantize_output_scale(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>, %s2: tensor<4xf32>) {
  // expected-error@+1 {{'lattice.requantize' op output scale type 'tensor<4xf32>' does not match 'tensor<f32>' implied by the scheme}}
  %r = lattice.requantize %q, %s to %s2
      : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<4xf32>) -> tensor<4x8x!lattice.quant<s4, f32>>
  return
}

// -----

func.func @requantize_input_zero_point(%q: tensor<4x8x!lattice.quant<u8, f32, asymmetric>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.requantize' op input asymmetric scheme requires a zero point}}
  %r = lattice.requantize %q, %s to %s
      : (tensor<4x8x!lattice.quant<u8, f32, asymmetric>>, tensor<f32>, tensor<f32>) -> tensor<4x8x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @requantize_shape_mismatch(%q: tensor<4x8x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.requantize' op input and result shapes must match}}
  %r = lattice.requantize %q, %s to %s
      : (tensor<4x8x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<8x4x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @fake_quant_scale_shape(%x: tensor<8x64xf32>, %s: tensor<64xf32>) {
  // expected-error@+1 {{'lattice.fake_quant' op scale type 'tensor<64xf32>' does not match 'tensor<8xf32>' implied by the scheme}}
  %y = lattice.fake_quant %x, %s as !lattice.quant<s4, f32, channel<0>> : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

// -----

func.func @matmul_rhs_rank(%x: tensor<2x64xf32>, %w: tensor<1x32x64xf32>) {
  // expected-error@+1 {{'lattice.matmul' op rhs must have rank 2 ([N, K]), got rank 3}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<1x32x64xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_lhs_rank(%x: tensor<f32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{'lattice.matmul' op lhs must have rank >= 1}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<f32>, tensor<32x64xf32>) -> tensor<32xf32>
  return
}

// -----

func.func @matmul_k_mismatch(%x: tensor<2x64xf32>, %w: tensor<32x32xf32>) {
  // expected-error@+1 {{'lattice.matmul' op contraction dimension mismatch: lhs has K = 64, rhs has K = 32}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<32x32xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_result_shape(%x: tensor<2x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error@+1 {{'lattice.matmul' op result type 'tensor<2x64xf32>' does not have the shape 'tensor<2x32xf32>' of lhs with its last dimension replaced by N}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<32x64xf32>) -> tensor<2x64xf32>
  return
}

// -----

func.func @matmul_float_with_scale(%x: tensor<2x64xf32>, %w: tensor<32x64xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.matmul' op lhs is a float tensor and takes no scale or zero point}}
  %y = lattice.matmul %x, %w lhs_scale(%s) accumulate(f32) : (tensor<2x64xf32>, tensor<32x64xf32>, tensor<f32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_quantized_without_scale(%x: tensor<2x64xf32>, %w: tensor<32x64x!lattice.quant<s8, f32>>) {
  // expected-error@+1 {{'lattice.matmul' op rhs is quantized and needs a scale}}
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<32x64x!lattice.quant<s8, f32>>) -> tensor<2x32xf32>
  return
}

// -----

/// Scales that vary along K cannot be applied after the reduction.
func.func @matmul_channel_on_k(%x: tensor<2x64xf32>, %w: tensor<32x64x!lattice.quant<s8, f32, channel<1>>>, %s: tensor<64xf32>) {
  // expected-error@+1 {{'lattice.matmul' op rhs per-channel scales must not vary along K (axis 1); use groups along K}}
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<2x64xf32>, tensor<32x64x!lattice.quant<s8, f32, channel<1>>>, tensor<64xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_groups_along_n(%x: tensor<2x64xf32>, %w: tensor<32x64x!lattice.quant<s4, f32, group<0, 16>>>, %s: tensor<2x64xf32>) {
  // expected-error@+1 {{'lattice.matmul' op rhs groups must run along K (axis 1)}}
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<2x64xf32>, tensor<32x64x!lattice.quant<s4, f32, group<0, 16>>>, tensor<2x64xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_rhs_scale_shape(%x: tensor<2x64xf32>, %w: tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, %s: tensor<2xf32>) {
  // expected-error@+1 {{'lattice.matmul' op rhs scale type 'tensor<2xf32>' does not match 'tensor<32xf32>' implied by the scheme}}
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<2x64xf32>, tensor<32x64x!lattice.quant<s8, f32, channel<0>>>, tensor<2xf32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_float_accumulator_for_integers(%x: tensor<2x64x!lattice.quant<s8, f32>>, %w: tensor<32x64x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.matmul' op quantized operands need an i32 or i64 accumulator, got 'f32'}}
  %y = lattice.matmul %x, %w lhs_scale(%s) rhs_scale(%s) accumulate(f32)
      : (tensor<2x64x!lattice.quant<s8, f32>>, tensor<32x64x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_integer_accumulator_for_floats(%x: tensor<2x64xf32>, %w: tensor<32x64x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.matmul' op float accumulation needs an f32 accumulator, got 'i32'}}
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(i32)
      : (tensor<2x64xf32>, tensor<32x64x!lattice.quant<s8, f32>>, tensor<f32>) -> tensor<2x32xf32>
  return
}

// -----

func.func @matmul_integer_dynamic_k(%x: tensor<2x?x!lattice.quant<s8, f32>>, %w: tensor<32x?x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.matmul' op integer accumulation needs a static contraction dimension to bound the accumulator}}
  %y = lattice.matmul %x, %w lhs_scale(%s) rhs_scale(%s) accumulate(i32)
      : (tensor<2x?x!lattice.quant<s8, f32>>, tensor<32x?x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<2x32xf32>
  return
}

// -----

/// 131072 * 128 * 128 = 2^31 > 2^31 - 1: an int8 x int8 dot product this long
/// can overflow i32 (the K > 131,071 case of the reliability notes).
func.func @matmul_i32_overflow(%x: tensor<1x131072x!lattice.quant<s8, f32>>, %w: tensor<4x131072x!lattice.quant<s8, f32>>, %s: tensor<f32>) {
  // expected-error@+1 {{'lattice.matmul' op accumulator 'i32' can overflow: 131072 products of magnitude up to 128 x 128 exceed its range}}
  %y = lattice.matmul %x, %w lhs_scale(%s) rhs_scale(%s) accumulate(i32)
      : (tensor<1x131072x!lattice.quant<s8, f32>>, tensor<4x131072x!lattice.quant<s8, f32>>, tensor<f32>, tensor<f32>) -> tensor<1x4xf32>
  return
}

// -----

/// K = 40 in groups of 32: the last group of 8 is lowered as a whole one
/// padded with zero codes, whose products with the other side's codes
/// vanish only when one of the two zero points is 0.
func.func @matmul_ragged_group_two_zero_points(%x: tensor<2x40x!lattice.quant<u8, f32, channel<0>, asymmetric>>, %sx: tensor<2xf32>, %zx: tensor<2xi16>, %w: tensor<4x40x!lattice.quant<u4, f32, group<1, 32>, asymmetric>>, %sw: tensor<4x2xf32>, %zw: tensor<4x2xi8>) {
  // expected-error@+1 {{'lattice.matmul' op groups of 32 leave a shorter last group of K = 40, which needs lhs or rhs without a zero point}}
  %y = lattice.matmul %x, %w lhs_scale(%sx) lhs_zero_point(%zx) rhs_scale(%sw) rhs_zero_point(%zw) accumulate(i32)
      : (tensor<2x40x!lattice.quant<u8, f32, channel<0>, asymmetric>>, tensor<4x40x!lattice.quant<u4, f32, group<1, 32>, asymmetric>>, tensor<2xf32>, tensor<2xi16>, tensor<4x2xf32>, tensor<4x2xi8>) -> tensor<2x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// channel_scale and norms
//===----------------------------------------------------------------------===//

// -----

func.func @channel_scale_axis(%x: tensor<8x64xf32>, %s: tensor<64xf32>) {
  // expected-error@+1 {{'lattice.channel_scale' op axis 2 is out of range for rank 2}}
  %y = lattice.channel_scale %x, %s axis(2) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @channel_scale_not_vector(%x: tensor<8x64xf32>, %s: tensor<8x64xf32>) {
  // expected-error@+1 {{'lattice.channel_scale' op scale must be a 1-D tensor, got 'tensor<8x64xf32>'}}
  %y = lattice.channel_scale %x, %s axis(1) : (tensor<8x64xf32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @rms_norm_weight_size(%x: tensor<8x64xf32>, %g: tensor<32xf32>) {
  // expected-error@+1 {{'lattice.rms_norm' op weight has 32 elements but dimension 1 of the input has 64}}
  %y = lattice.rms_norm %x, %g : (tensor<8x64xf32>, tensor<32xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @rms_norm_epsilon(%x: tensor<8x64xf32>, %g: tensor<64xf32>) {
  // expected-error@+1 {{'lattice.rms_norm' op epsilon must be finite and positive, got 0}}
  %y = lattice.rms_norm %x, %g {epsilon = 0.0 : f32} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @layer_norm_bias_type(%x: tensor<8x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf16>) {
  // expected-error@+1 {{'lattice.layer_norm' op bias element type 'f16' does not match the input element type 'f32'}}
  %y = lattice.layer_norm %x, %g, %b : (tensor<8x64xf32>, tensor<64xf32>, tensor<64xf16>) -> tensor<8x64xf32>
  return
}

// -----

func.func @layer_norm_negative_epsilon(%x: tensor<8x64xf32>, %g: tensor<64xf32>) {
  // expected-error@+1 {{'lattice.layer_norm' op epsilon must be finite and positive, got -1}}
  %y = lattice.layer_norm %x, %g {epsilon = -1.0 : f32} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @normalize_rank_zero(%x: tensor<f32>) {
  // expected-error@+1 {{'lattice.normalize' op input must have rank >= 1}}
  %y = lattice.normalize %x : (tensor<f32>) -> tensor<f32>
  return
}

// -----

func.func @normalize_empty_axis(%x: tensor<8x0xf32>) {
  // expected-error@+1 {{'lattice.normalize' op normalized (last) dimension must not be empty}}
  %y = lattice.normalize %x : (tensor<8x0xf32>) -> tensor<8x0xf32>
  return
}

// -----

func.func @normalize_infinite_epsilon(%x: tensor<8x64xf32>) {
  // expected-error@+1 {{'lattice.normalize' op epsilon must be finite and positive, got inf}}
  %y = lattice.normalize %x {epsilon = 0x7F800000 : f32} : (tensor<8x64xf32>) -> tensor<8x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// observe, weight
//===----------------------------------------------------------------------===//

// -----

func.func @observe_empty_name(%x: tensor<8x64xf32>) {
  // expected-error@+1 {{'lattice.observe' op name must not be empty}}
  %y = lattice.observe %x name("") : tensor<8x64xf32>
  return
}

// -----

func.func @observe_channel_axis(%x: tensor<8x64xf32>) {
  // expected-error@+1 {{'lattice.observe' op channel_axis 2 is out of range for rank 2}}
  %y = lattice.observe %x name("x") channel_axis(2) : tensor<8x64xf32>
  return
}

// -----

func.func @weight_empty_name() {
  // expected-error@+1 {{'lattice.weight' op name must not be empty}}
  %w = lattice.weight "" from "model.safetensors" : tensor<4x4xf32>
  return
}

// -----

func.func @weight_empty_file() {
  // expected-error@+1 {{'lattice.weight' op file must not be empty}}
  %w = lattice.weight "w" from "" : tensor<4x4xf32>
  return
}

// -----

func.func @weight_dynamic_shape() {
  // expected-error@+1 {{'lattice.weight' op external weights need a static shape, got 'tensor<?x4xf32>'}}
  %w = lattice.weight "w" from "model.safetensors" : tensor<?x4xf32>
  return
}

// -----

func.func @weight_quantized_axis() {
  // expected-error@+1 {{'lattice.weight' op quantized axis 2 is out of range for rank 2}}
  %w = lattice.weight "w" from "model.safetensors" : tensor<4x4x!lattice.quant<s8, f32, channel<2>>>
  return
}

// -----

/// Zero points are 8- to 64-bit integers: wider ones could not be read back
/// exactly.
func.func @quantize_zero_point_i128(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i128>) {
  // expected-error@+1 {{'lattice.quantize' op operand #2 must be ranked tensor of 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer values, but got 'tensor<i128>'}}
  %q = lattice.quantize %x, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<i128>) -> tensor<4x8x!lattice.quant<u8, f32, asymmetric>>
  return
}

//===----------------------------------------------------------------------===//
// lattice.scast
//===----------------------------------------------------------------------===//

// -----

func.func @scast_both_quantized(%q: tensor<4x!lattice.quant<s8, f32>>) {
  // expected-error@+1 {{'lattice.scast' op casts between an i8 tensor and a quantized tensor, got 'tensor<4x!lattice.quant<s8, f32>>' to 'tensor<4x!lattice.quant<s4, f32>>'}}
  %r = lattice.scast %q : tensor<4x!lattice.quant<s8, f32>> to tensor<4x!lattice.quant<s4, f32>>
  return
}

// -----

func.func @scast_both_integer(%c: tensor<4xi8>) {
  // expected-error@+1 {{'lattice.scast' op casts between an i8 tensor and a quantized tensor, got 'tensor<4xi8>' to 'tensor<4xi8>'}}
  %r = lattice.scast %c : tensor<4xi8> to tensor<4xi8>
  return
}

// -----

func.func @scast_shape(%c: tensor<4xi8>) {
  // expected-error@+1 {{'lattice.scast' op input and result shapes must match}}
  %r = lattice.scast %c : tensor<4xi8> to tensor<8x!lattice.quant<s8, f32>>
  return
}

// -----

func.func @scast_code_out_of_range() {
  %c = arith.constant dense<[1, -9, 7]> : tensor<3xi8>
  // expected-error@+1 {{'lattice.scast' op code -9 at index 1 is outside the storage range of '!lattice.quant<s4, f32>'}}
  %r = lattice.scast %c : tensor<3xi8> to tensor<3x!lattice.quant<s4, f32>>
  return
}

// -----

/// u8 codes are the bytes read as unsigned: -1 is 255.
func.func @scast_unsigned_code_out_of_range() {
  %c = arith.constant dense<[0, 15, -1]> : tensor<3xi8>
  // expected-error@+1 {{'lattice.scast' op code 255 at index 2 is outside the storage range of '!lattice.quant<u4, f32>'}}
  %r = lattice.scast %c : tensor<3xi8> to tensor<3x!lattice.quant<u4, f32>>
  return
}

// -----

func.func @scast_binary_zero() {
  %c = arith.constant dense<[1, 0]> : tensor<2xi8>
  // expected-error@+1 {{'lattice.scast' op code 0 at index 1 is outside the storage range of '!lattice.quant<binary, f32>'}}
  %r = lattice.scast %c : tensor<2xi8> to tensor<2x!lattice.quant<binary, f32>>
  return
}
