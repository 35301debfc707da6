// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/Inputs/make-stats.py %t/w.safetensors "fc@2x2=1,2,3,4"
// RUN: %PYTHON %S/Inputs/make-stats.py %t/h.safetensors --dtype F16 "fc@2x2=1,2,3,4"
// A header nested 100,000 levels deep (the recursive JSON parser would
// overflow its stack on it):
// RUN: %PYTHON -c "import struct, sys; h = b'[' * 100000; sys.stdout.buffer.write(struct.pack('<Q', len(h)) + h)" > %t/deep.safetensors
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" -split-input-file -verify-diagnostics

func.func @missing_file() -> tensor<2x2xf32> {
  // expected-error @below {{cannot load weight 'fc': }}
  %w = lattice.weight "fc" from "absent.safetensors" : tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}

// -----

func.func @missing_tensor() -> tensor<2x2xf32> {
  // expected-error @below {{weight 'other' is not in}}
  %w = lattice.weight "other" from "w.safetensors" : tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}

// -----

func.func @wrong_shape() -> tensor<4xf32> {
  // expected-error @below {{weight 'fc' is F32 [2, 2] in}}
  %w = lattice.weight "fc" from "w.safetensors" : tensor<4xf32>
  return %w : tensor<4xf32>
}

// -----

func.func @wrong_dtype() -> tensor<2x2xf32> {
  // expected-error @below {{the model expects 'tensor<2x2xf32>'}}
  %w = lattice.weight "fc" from "h.safetensors" : tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}

// -----

func.func @f64() -> tensor<2x2xf64> {
  // expected-error @below {{weight 'fc' has an element type that cannot be loaded: 'f64'}}
  %w = lattice.weight "fc" from "w.safetensors" : tensor<2x2xf64>
  return %w : tensor<2x2xf64>
}

// -----

func.func @deep_header() -> tensor<2x2xf32> {
  // expected-error @below {{deep.safetensors: header is not JSON: JSON nested more than 64 levels deep (at offset 64)}}
  %w = lattice.weight "fc" from "deep.safetensors" : tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}
