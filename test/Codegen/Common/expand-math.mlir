// RUN: lattice-opt %s --lattice-expand-math -split-input-file | FileCheck %s

// exp and erf, whose vector forms LLVM's x86 backend would turn into a
// library call per lane, become polynomials; sqrt (an instruction) stays.
// CHECK-LABEL: func.func @expand
// CHECK-NOT: math.exp
// CHECK-NOT: math.erf
// CHECK: math.sqrt
// CHECK-NOT: math.exp
func.func @expand(%x: vector<16xf32>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %f = math.erf %x : vector<16xf32>
  %s = math.sqrt %x : vector<16xf32>
  return %e, %f, %s : vector<16xf32>, vector<16xf32>, vector<16xf32>
}

// -----

// Scalars too: an inline polynomial beats a call.
// CHECK-LABEL: func.func @scalar
// CHECK-NOT: math.exp
// CHECK: return
func.func @scalar(%x: f32) -> f32 {
  %e = math.exp %x : f32
  return %e : f32
}

// -----

// The inverse hyperbolic functions (ONNX's Asinh, Acosh, Atanh), which LLVM
// cannot translate, become logarithms and square roots.
// CHECK-LABEL: func.func @inverse_hyperbolic
// CHECK-NOT: math.asinh
// CHECK-NOT: math.acosh
// CHECK-NOT: math.atanh
// CHECK: return
func.func @inverse_hyperbolic(%x: vector<8xf32>) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>) {
  %a = math.asinh %x : vector<8xf32>
  %b = math.acosh %x : vector<8xf32>
  %c = math.atanh %x : vector<8xf32>
  return %a, %b, %c : vector<8xf32>, vector<8xf32>, vector<8xf32>
}
