// RUN: lattice-opt %s --lattice-import-quant -split-input-file -verify-diagnostics

func.func @narrow(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{narrowed storage range [-127, 127] is not supported; lattice codes use the whole range of the storage type}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8<-127:127>:f32, 0.5>>
  %d = quant.dcast %q : tensor<4x!quant.uniform<i8<-127:127>:f32, 0.5>> to tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @wide(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{storage of 16 bits is wider than 8 bits}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i16:f32, 0.5>>
  %d = quant.dcast %q : tensor<4x!quant.uniform<i16:f32, 0.5>> to tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @scalar(%x: f32) -> f32 {
  // expected-error@+1 {{quantized values must be ranked tensors, got '!quant.uniform<i8:f32, 5.000000e-01>'}}
  %q = quant.qcast %x : f32 to !quant.uniform<i8:f32, 0.5>
  %d = quant.dcast %q : !quant.uniform<i8:f32, 0.5> to f32
  return %d : f32
}

// -----

func.func @tiny_scale(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{scale 1e-40 is not a positive normal f32: '!quant.uniform}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f32, 1.0e-40>>
  %d = quant.dcast %q : tensor<4x!quant.uniform<i8:f32, 1.0e-40>> to tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @sub_channel(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  // expected-error@+1 {{sub-channel quantized types are not supported: '!quant.uniform}}
  %q = quant.qcast %x : tensor<2x4xf32> to tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{0.1, 0.2}, {0.3, 0.4}}>>
  %d = quant.dcast %q : tensor<2x4x!quant.uniform<i8:f32:{0:1, 1:2}, {{0.1, 0.2}, {0.3, 0.4}}>> to tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

func.func @narrow_codes(%c: tensor<4xi4>) -> tensor<4x!quant.uniform<i4:f32, 0.5>> {
  // expected-error@+1 {{codes of type 'tensor<4xi4>' cannot be imported; lattice.scast takes i8 tensors}}
  %q = quant.scast %c : tensor<4xi4> to tensor<4x!quant.uniform<i4:f32, 0.5>>
  return %q : tensor<4x!quant.uniform<i4:f32, 0.5>>
}

// -----

func.func @other_op(%a: tensor<4x!quant.uniform<i8:f32, 0.5>>) -> tensor<4x!quant.uniform<i8:f32, 0.5>> {
  // expected-error@+1 {{uses upstream quantized types, which lattice-import-quant converts only through quant.qcast, quant.dcast and quant.scast}}
  %r = tensor.empty() : tensor<4x!quant.uniform<i8:f32, 0.5>>
  return %r : tensor<4x!quant.uniform<i8:f32, 0.5>>
}

// -----

func.func @any(%x: tensor<4xf32>) -> tensor<4x!quant.any<i8:f32>> {
  // expected-error@+1 {{only !quant.uniform types can be imported, got '!quant.any<i8:f32>'}}
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.any<i8:f32>>
  return %q : tensor<4x!quant.any<i8:f32>>
}
