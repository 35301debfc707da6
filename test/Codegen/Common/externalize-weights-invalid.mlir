// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/../../Dialect/Lattice/Inputs/make-stats.py %t/w.safetensors "fc@2x2=1,2,3,4"
// RUN: not lattice-opt %s -split-input-file --lattice-externalize-weights 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: lattice-externalize-weights: weights-file=<path> is required
// RUN: not lattice-opt %s -split-input-file \
// RUN:   --lattice-externalize-weights="weights-file=%t/out.safetensors dir=%t" 2>&1 | FileCheck %s
// RUN: not lattice-opt %s -split-input-file \
// RUN:   --lattice-externalize-weights="weights-file=%t/out.safetensors dir=%t entry=nope" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ENTRY
// ENTRY: lattice-externalize-weights: no function 'nope'

// CHECK: lattice-externalize-weights: more than one public function; choose one with entry=<name>
func.func @a(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}
func.func @b(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// CHECK: lattice-externalize-weights: no public function
func.func private @hidden(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// CHECK: w.safetensors: tensor 'missing' does not exist
func.func @model(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = lattice.weight "missing" from "w.safetensors" : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// CHECK: cannot read '{{.*}}absent.safetensors'
func.func @model(%x: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = lattice.weight "fc" from "absent.safetensors" : tensor<2x2xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
