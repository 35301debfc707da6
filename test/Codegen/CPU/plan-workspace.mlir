// RUN: lattice-opt %s --lattice-cpu-plan-workspace="argument=true" -split-input-file | FileCheck %s
// RUN: lattice-opt %s --lattice-cpu-plan-workspace -split-input-file | FileCheck %s --check-prefix=ALLOC

// Three temporaries: %a (4 KiB) dies when %c (4 KiB) is born, so they share
// offset 0; %b (1 KiB) lives across both and goes after them, 64-byte
// aligned. The workspace becomes a trailing argument.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%{{.*}}: memref<1024xf32>, %{{.*}}: memref<1024xf32>, %[[WS:.*]]: memref<5120xi8> {lattice.workspace})
// CHECK-SAME: attributes {lattice.workspace_bytes = 5120 : i64}
// CHECK-NOT: memref.alloc
// CHECK: %[[A_OFFSET:.*]] = arith.constant 0 : index
// CHECK-NEXT: memref.view %[[WS]][%[[A_OFFSET]]][] : memref<5120xi8> to memref<1024xf32>
// CHECK: %[[B_OFFSET:.*]] = arith.constant 4096 : index
// CHECK-NEXT: memref.view %[[WS]][%[[B_OFFSET]]][] : memref<5120xi8> to memref<256xf32>
// CHECK: %[[C_OFFSET:.*]] = arith.constant 0 : index
// CHECK-NEXT: memref.view %[[WS]][%[[C_OFFSET]]][] : memref<5120xi8> to memref<1024xf32>
// CHECK-NOT: memref.dealloc

// Without `argument`, one allocation per call holds them all.
// ALLOC-LABEL: func.func @chain
// ALLOC-SAME: (%{{.*}}: memref<1024xf32>, %{{.*}}: memref<1024xf32>)
// ALLOC: %[[WS:.*]] = memref.alloc() {alignment = 64 : i64} : memref<5120xi8>
// ALLOC-NOT: memref.alloc
// ALLOC: memref.view %[[WS]]
func.func @chain(%in: memref<1024xf32>, %out: memref<1024xf32>) {
  %a = memref.alloc() {alignment = 64 : i64} : memref<1024xf32>
  memref.copy %in, %a : memref<1024xf32> to memref<1024xf32>
  %b = memref.alloc() : memref<256xf32>
  %sa = memref.subview %a[0] [256] [1] : memref<1024xf32> to memref<256xf32, strided<[1]>>
  memref.copy %sa, %b : memref<256xf32, strided<[1]>> to memref<256xf32>
  %c = memref.alloc() : memref<1024xf32>
  memref.copy %in, %c : memref<1024xf32> to memref<1024xf32>
  %sc = memref.subview %c[0] [256] [1] : memref<1024xf32> to memref<256xf32, strided<[1]>>
  memref.copy %b, %sc : memref<256xf32> to memref<256xf32, strided<[1]>>
  memref.copy %c, %out : memref<1024xf32> to memref<1024xf32>
  return
}

// -----

// A buffer whose last use is inside a loop lives until the loop ends: %t
// overlaps %u, allocated before the loop, and they take 128 bytes (64
// each) instead of sharing 64.
// CHECK-LABEL: func.func @loop
// CHECK-SAME: lattice.workspace_bytes = 128 : i64
// CHECK: %[[T_OFFSET:.*]] = arith.constant 0 : index
// CHECK-NEXT: memref.view %{{.*}}[%[[T_OFFSET]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[U_OFFSET:.*]] = arith.constant 64 : index
// CHECK-NEXT: memref.view %{{.*}}[%[[U_OFFSET]]][] : memref<128xi8> to memref<16xf32>
// CHECK: scf.for
func.func @loop(%in: memref<16xf32>, %out: memref<16xf32>) {
  %t = memref.alloc() : memref<16xf32>
  memref.copy %in, %t : memref<16xf32> to memref<16xf32>
  %u = memref.alloc() : memref<16xf32>
  memref.copy %in, %u : memref<16xf32> to memref<16xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %v = memref.load %t[%i] : memref<16xf32>
    memref.store %v, %out[%i] : memref<16xf32>
  }
  memref.copy %u, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// Kept as allocations: a returned buffer, a dynamic shape, sub-byte
// elements, an alignment above 64. Nothing is planned, so the function is
// unchanged.
// CHECK-LABEL: func.func @not_planned
// CHECK-SAME: (%[[N:.*]]: index) -> memref<8xf32>
// CHECK-NOT: lattice.workspace
// CHECK-COUNT-4: memref.alloc
func.func @not_planned(%n: index) -> memref<8xf32> {
  %r = memref.alloc() : memref<8xf32>
  %d = memref.alloc(%n) : memref<?xf32>
  %q = memref.alloc() : memref<64xi4>
  %big = memref.alloc() {alignment = 128 : i64} : memref<8xf32>
  return %r : memref<8xf32>
}

// -----

// A function with a caller in the module gets its workspace allocated
// inside even with `argument`: its callers are not rewritten.
// CHECK-LABEL: func.func @callee
// CHECK-SAME: (%{{.*}}: memref<4xf32>)
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<64xi8>
// CHECK-LABEL: func.func @caller
func.func @callee(%x: memref<4xf32>) {
  %t = memref.alloc() : memref<4xf32>
  memref.copy %x, %t : memref<4xf32> to memref<4xf32>
  memref.copy %t, %x : memref<4xf32> to memref<4xf32>
  return
}
func.func @caller(%x: memref<4xf32>) {
  call @callee(%x) : (memref<4xf32>) -> ()
  return
}
