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
