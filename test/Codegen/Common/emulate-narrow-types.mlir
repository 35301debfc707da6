// RUN: lattice-opt %s --lattice-emulate-narrow-types --canonicalize --cse | FileCheck %s

// A vector load of 4-bit codes that carries an alignment (as
// lattice-gpu-distribute emits for a lane's chunk) is one aligned load of
// the bytes holding them; each code is then a shift of the 32-bit word
// holding it (no vector of i4 is left for the backend to unpack).
// CHECK-LABEL: func.func @aligned_codes(
// CHECK-SAME: %[[W:.*]]: memref<64xi8>, %[[I:.*]]: index)
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : i32
// CHECK-DAG: %[[C20:.*]] = arith.constant 20 : i32
// CHECK: %[[BYTE:.*]] = arith.divui %[[I]], %[[C2]]
// CHECK: %[[BYTES:.*]] = vector.load %[[W]][%[[BYTE]]] {alignment = 8 : i64} : memref<64xi8>, vector<8xi8>
// CHECK: %[[WORDS:.*]] = vector.bitcast %[[BYTES]] : vector<8xi8> to vector<2xi32>
// CHECK: %[[W0:.*]] = vector.extract %[[WORDS]][0] : i32 from vector<2xi32>
// CHECK: %[[A:.*]] = arith.trunci %[[W0]] : i32 to i4
// CHECK: %[[S:.*]] = arith.shrui %[[W0]], %[[C4]] : i32
// CHECK: %[[B:.*]] = arith.trunci %[[S]] : i32 to i4
// CHECK: %[[W1:.*]] = vector.extract %[[WORDS]][1] : i32 from vector<2xi32>
// CHECK-NOT: vector<16xi4>
// CHECK: %[[T:.*]] = arith.shrui %[[W1]], %[[C20]] : i32
// CHECK: %[[C:.*]] = arith.trunci %[[T]] : i32 to i4
// CHECK: return %[[A]], %[[B]], %[[C]]
func.func @aligned_codes(%w: memref<128xi4>, %i: index) -> (i4, i4, i4) {
  %v = vector.load %w[%i] {alignment = 8 : i64} : memref<128xi4>, vector<16xi4>
  %a = vector.extract %v[0] : i4 from vector<16xi4>
  %b = vector.extract %v[1] : i4 from vector<16xi4>
  %c = vector.extract %v[13] : i4 from vector<16xi4>
  return %a, %b, %c : i4, i4, i4
}

// Without an alignment, upstream's rewrite: the same bytes, loaded with
// no alignment (which a backend splits into narrow loads).
// CHECK-LABEL: func.func @unaligned_codes(
// CHECK-NOT: alignment
// CHECK: vector.load %{{.*}} : memref<64xi8>, vector<8xi8>
// CHECK-NOT: alignment
// CHECK: return
func.func @unaligned_codes(%w: memref<128xi4>, %i: index) -> vector<16xi4> {
  %v = vector.load %w[%i] : memref<128xi4>, vector<16xi4>
  return %v : vector<16xi4>
}
