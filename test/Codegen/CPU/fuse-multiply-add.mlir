// RUN: lattice-opt %s --lattice-cpu-fuse-multiply-add -split-input-file | FileCheck %s

// A contractible product summed over an outer dimension: one fma per
// reduced position, in order.
// CHECK-LABEL: func.func @outer_reduction
// CHECK-SAME: (%[[A:.*]]: vector<2x16xf32>, %[[B:.*]]: vector<2x16xf32>, %[[ACC:.*]]: vector<16xf32>)
// CHECK-DAG: %[[A0:.*]] = vector.extract %{{.*}}[0] : vector<16xf32> from vector<2x16xf32>
// CHECK-DAG: %[[B0:.*]] = vector.extract %{{.*}}[0] : vector<16xf32> from vector<2x16xf32>
// CHECK: %[[F0:.*]] = vector.fma %[[A0]], %[[B0]], %[[ACC]] : vector<16xf32>
// CHECK-DAG: %[[A1:.*]] = vector.extract %{{.*}}[1] : vector<16xf32> from vector<2x16xf32>
// CHECK-DAG: %[[B1:.*]] = vector.extract %{{.*}}[1] : vector<16xf32> from vector<2x16xf32>
// CHECK: %[[F1:.*]] = vector.fma %[[A1]], %[[B1]], %[[F0]] : vector<16xf32>
// CHECK-NOT: vector.multi_reduction
// CHECK: return %[[F1]]
func.func @outer_reduction(%a: vector<2x16xf32>, %b: vector<2x16xf32>, %acc: vector<16xf32>) -> vector<16xf32> {
  %p = arith.mulf %a, %b fastmath<contract> : vector<2x16xf32>
  %r = vector.multi_reduction <add>, %p, %acc [0] : vector<2x16xf32> to vector<16xf32>
  return %r : vector<16xf32>
}

// -----

// Reduced dimensions in the middle keep their row-major order; the kept
// dimensions form the accumulator.
// CHECK-LABEL: func.func @middle_dimensions
// CHECK: %[[AT:.*]] = vector.transpose %{{.*}}, [1, 2, 0, 3] : vector<4x2x3x16xf32> to vector<2x3x4x16xf32>
// CHECK-COUNT-6: vector.fma {{.*}} : vector<4x16xf32>
// CHECK-NOT: vector.multi_reduction
func.func @middle_dimensions(%a: vector<4x2x3x16xf32>, %b: vector<4x2x3x16xf32>, %acc: vector<4x16xf32>) -> vector<4x16xf32> {
  %p = arith.mulf %a, %b fastmath<contract> : vector<4x2x3x16xf32>
  %r = vector.multi_reduction <add>, %p, %acc [1, 2] : vector<4x2x3x16xf32> to vector<4x16xf32>
  return %r : vector<4x16xf32>
}

// -----

// Left alone: a product without the contract flag, a reduction over the
// innermost dimension, and a maximum.
// CHECK-LABEL: func.func @not_fused
// CHECK-NOT: vector.fma
// CHECK-COUNT-3: vector.multi_reduction
func.func @not_fused(%a: vector<2x16xf32>, %b: vector<2x16xf32>, %acc: vector<16xf32>, %acc2: vector<2xf32>) -> (vector<16xf32>, vector<2xf32>, vector<16xf32>) {
  %p = arith.mulf %a, %b : vector<2x16xf32>
  %r = vector.multi_reduction <add>, %p, %acc [0] : vector<2x16xf32> to vector<16xf32>
  %q = arith.mulf %a, %b fastmath<contract> : vector<2x16xf32>
  %s = vector.multi_reduction <add>, %q, %acc2 [1] : vector<2x16xf32> to vector<2xf32>
  %t = vector.multi_reduction <maximumf>, %q, %acc [0] : vector<2x16xf32> to vector<16xf32>
  return %r, %s, %t : vector<16xf32>, vector<2xf32>, vector<16xf32>
}

// -----

// A product that is also used elsewhere stays a product: fusing it would
// compute it twice.
// CHECK-LABEL: func.func @product_used_twice
// CHECK-NOT: vector.fma
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: vector.multi_reduction <add>, %[[P]]
// CHECK: return %{{.*}}, %[[P]]
func.func @product_used_twice(%a: vector<2x16xf32>, %b: vector<2x16xf32>, %acc: vector<16xf32>) -> (vector<16xf32>, vector<2x16xf32>) {
  %p = arith.mulf %a, %b fastmath<contract> : vector<2x16xf32>
  %r = vector.multi_reduction <add>, %p, %acc [0] : vector<2x16xf32> to vector<16xf32>
  return %r, %p : vector<16xf32>, vector<2x16xf32>
}
