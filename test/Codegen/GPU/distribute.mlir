// RUN: lattice-opt %s --pass-pipeline="builtin.module(func.func(lattice-gpu-distribute{max-chunk=4}),canonicalize,cse)" \
// RUN: | FileCheck %s
// RUN: lattice-opt %s --pass-pipeline="builtin.module(func.func(lattice-gpu-distribute{max-chunk=4 dot-products=false}),canonicalize,cse)" \
// RUN: | FileCheck %s --check-prefix=NODP4A

// A W4A16 GEMV (the body lattice.matmul lowers to): one warp per output,
// each lane summing chunks of 4 consecutive codes of a group, read with the
// activations in one aligned vector load each, dequantized in registers with
// the group's scale read once per chunk (the codes become floats through the
// exponent of 2^23: 0x4B000008 = 2^23 + 8, the sign bit flipped), then a
// butterfly of shuffles and one store by lane 0.
// CHECK-LABEL: func.func @gemv
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[MAGIC:.*]] = arith.constant 1258291208 : i32
// CHECK-DAG: %[[BIAS:.*]] = arith.constant 0x4B000008 : f32
// CHECK: gpu.launch blocks(%[[BX:.*]], %{{.*}}, %{{.*}}) in (%[[GX:.*]] = %[[C2]], %{{.*}}, %{{.*}}) threads(%[[TX:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C256]],
// CHECK: %[[LANE:.*]] = arith.remui %[[TX]], %[[C32]]
// CHECK: scf.for %[[OUT:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[N:.*]] = arith.remui %[[OUT]]
// CHECK: %[[M:.*]] = arith.divui %[[OUT]]
// CHECK: %[[SUM:.*]] = scf.for %[[CHUNK:.*]] = %[[LANE]] to %{{.*}} step %[[C32]] iter_args(%{{.*}} = %{{.*}}) -> (f32) {
// CHECK: %[[FIRST:.*]] = arith.muli %[[CHUNK]], %[[C4]]
// CHECK: %[[K:.*]] = arith.remui %[[FIRST]], %[[C32]]
// CHECK: %[[G:.*]] = arith.divui %[[FIRST]], %[[C32]]
// CHECK: %[[X:.*]] = vector.load %{{.*}}[%[[M]], %[[G]], %[[K]]] {alignment = 16 : i64} : memref<1x2x32xf32>, vector<4xf32>
// CHECK: %[[W:.*]] = vector.load %{{.*}}[%[[N]], %[[G]], %[[K]]] {alignment = 2 : i64} : memref<16x2x32xi4>, vector<4xi4>
// CHECK: vector.extract %[[X]][0]
// CHECK: %[[CODE:.*]] = vector.extract %[[W]][0]
// CHECK: %[[SCALE:.*]] = memref.load %{{.*}}[%[[N]], %[[G]]] : memref<16x2xf16>
// CHECK: %[[BITS:.*]] = arith.extui %[[CODE]] : i4 to i32
// CHECK: %[[FLIPPED:.*]] = arith.xori %[[BITS]], %[[MAGIC]]
// CHECK: %[[F:.*]] = arith.bitcast %[[FLIPPED]] : i32 to f32
// CHECK: arith.subf %[[F]], %[[BIAS]]
// CHECK-NOT: memref.load
// CHECK-COUNT-3: vector.extract %[[W]]
// CHECK-NOT: memref.load
// CHECK: scf.yield
// CHECK: gpu.shuffle  xor %[[SUM]]
// CHECK-COUNT-4: gpu.shuffle  xor
// CHECK: scf.if
// CHECK: memref.load %{{.*}} : memref<1x16xf32>
// CHECK: memref.store %{{.*}} : memref<1x16xf32>
func.func @gemv(%x: memref<1x2x32xf32>, %w: memref<16x2x32xi4>, %s: memref<16x2xf16>, %y: memref<1x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, g, k) -> (m, g, k)>, affine_map<(m, n, g, k) -> (n, g, k)>, affine_map<(m, n, g, k) -> (n, g)>, affine_map<(m, n, g, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w, %s : memref<1x2x32xf32>, memref<16x2x32xi4>, memref<16x2xf16>) outs(%y : memref<1x16xf32>) {
  ^bb0(%a: f32, %b: i4, %c: f16, %acc: f32):
    %0 = arith.extsi %b : i4 to i32
    %1 = arith.sitofp %0 : i32 to f32
    %2 = arith.extf %c : f16 to f32
    %3 = arith.mulf %1, %2 : f32
    %4 = arith.mulf %a, %3 : f32
    %5 = arith.addf %acc, %4 : f32
    linalg.yield %5 : f32
  }
  return
}

// Elementwise ops and fills: one thread per element, consecutive threads on
// the innermost dimension, in a grid-stride loop.
// CHECK-LABEL: func.func @elementwise
// CHECK: gpu.launch blocks({{.*}}) in (%[[G:.*]] = %{{.*}}, %{{.*}}, %{{.*}}) threads({{.*}}) in (%[[B:.*]] = %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: %[[STRIDE:.*]] = arith.muli %[[G]], %[[B]]
// CHECK: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %[[STRIDE]] {
// CHECK: %[[COL:.*]] = arith.remui %[[I]], %{{.*}}
// CHECK: %[[ROW:.*]] = arith.divui %[[I]], %{{.*}}
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[ROW]], %[[COL]]]
// CHECK: %[[R:.*]] = math.exp %[[V]]
// CHECK: memref.store %[[R]], %{{.*}}[%[[ROW]], %[[COL]]]
// CHECK: gpu.launch
// CHECK: memref.store %{{.*}}, %{{.*}} : memref<2x3xf32>
func.func @elementwise(%x: memref<2x3xf32>, %y: memref<2x3xf32>, %z: memref<2x3xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<2x3xf32>) outs(%y : memref<2x3xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = math.exp %a : f32
    linalg.yield %0 : f32
  }
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%z : memref<2x3xf32>)
  return
}

// A row maximum (softmax) shares the row among lanes like a sum, starting
// from the identity of maxnumf.
// CHECK-LABEL: func.func @row_max
// CHECK: %[[NEG:.*]] = arith.constant 0xFFC00000 : f32
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[NEG]]) -> (f32)
// CHECK: arith.maxnumf
// CHECK: gpu.shuffle  xor
// CHECK: arith.maxnumf
func.func @row_max(%x: memref<4x256xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x256xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = arith.maxnumf %b, %a : f32
    linalg.yield %0 : f32
  }
  return
}

// Short reductions, and reductions whose output the body uses otherwise,
// run sequentially in one thread per output, the output carried by the loop.
// CHECK-LABEL: func.func @short_reduction
// CHECK: gpu.launch
// CHECK-NOT: gpu.shuffle
// CHECK: %[[INIT:.*]] = memref.load %{{.*}} : memref<8xf32>
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32)
// CHECK: arith.addf %[[ACC]]
// CHECK: memref.store %[[SUM]]
func.func @short_reduction(%x: memref<8x4xf32>, %y: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x4xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = arith.addf %b, %a : f32
    linalg.yield %0 : f32
  }
  return
}

// A scalar read on the host (tensor.extract of a scale) moves into the
// kernel that uses it; a scalar store becomes a one-thread kernel.
// CHECK-LABEL: func.func @host_scalars
// CHECK: gpu.launch
// CHECK: %[[S:.*]] = memref.load %{{.*}}[] : memref<f32>
// CHECK: arith.mulf %{{.*}}, %[[S]]
// CHECK: gpu.launch
// CHECK-NEXT: memref.load %{{.*}}[] : memref<f32>
// CHECK-NEXT: memref.store
func.func @host_scalars(%s: memref<f32>, %x: memref<16xf32>, %y: memref<16xf32>, %z: memref<1xf32>) {
  %v = memref.load %s[] : memref<f32>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>], iterator_types = ["parallel"]}
      ins(%x : memref<16xf32>) outs(%y : memref<16xf32>) {
  ^bb0(%a: f32, %b: f32):
    %0 = arith.mulf %a, %v : f32
    linalg.yield %0 : f32
  }
  %c0 = arith.constant 0 : index
  memref.store %v, %z[%c0] : memref<1xf32>
  return
}

// A W8A8 GEMV (i8 codes, i32 accumulation): chunks of 4 bytes of both
// operands are one dp4a; without dot products, the payload as written.
// CHECK-LABEL: func.func @gemv_i8
// CHECK: scf.for {{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (i32)
// CHECK: %[[A:.*]] = vector.load %{{.*}} {alignment = 4 : i64} : memref<1x64xi8>, vector<4xi8>
// CHECK: %[[B:.*]] = vector.load %{{.*}} {alignment = 4 : i64} : memref<8x64xi8>, vector<4xi8>
// CHECK: %[[DOT:.*]] = nvvm.dot.accumulate.4way %[[A]] <signed>, %[[B]] <signed>, %[[ACC]] : vector<4xi8>
// CHECK: scf.yield %[[DOT]]
// CHECK: gpu.shuffle  xor
// NODP4A-LABEL: func.func @gemv_i8
// NODP4A-NOT: nvvm.dot
// NODP4A-COUNT-4: arith.muli
// NODP4A-NOT: nvvm.dot
// NODP4A: gpu.shuffle  xor
func.func @gemv_i8(%x: memref<1x64xi8>, %w: memref<8x64xi8>, %y: memref<1x8xi32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x64xi8>, memref<8x64xi8>) outs(%y : memref<1x8xi32>) {
  ^bb0(%a: i8, %b: i8, %acc: i32):
    %0 = arith.extsi %a : i8 to i32
    %1 = arith.extsi %b : i8 to i32
    %2 = arith.muli %0, %1 : i32
    %3 = arith.addi %acc, %2 : i32
    linalg.yield %3 : i32
  }
  return
}

// The minimum and maximum of a dynamic quantization: two outputs, each with
// its own combiner, shared among the lanes of a warp; a weight read along
// its outer dimension (a transposed layout) is read element by element.
// CHECK-LABEL: func.func @min_max
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7FC00000 : f32
// CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFFC00000 : f32
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[INF]], %{{.*}} = %[[NEGINF]]) -> (f32, f32)
// CHECK: vector.load %{{.*}} : memref<2x256xf32>, vector<4xf32>
// CHECK: gpu.shuffle  xor
// CHECK: arith.minnumf
// CHECK: gpu.shuffle  xor
// CHECK: arith.maxnumf
// CHECK: scf.if
// CHECK: memref.store %{{.*}} : memref<2xf32>
// CHECK: memref.store %{{.*}} : memref<2xf32>
// CHECK-LABEL: func.func @transposed
// CHECK: vector.load %{{.*}} : memref<1x64xf32>, vector<4xf32>
// CHECK-NOT: vector.load
// CHECK-COUNT-4: memref.load %{{.*}} : memref<64x8xf32>
// CHECK-NOT: vector.load
func.func @min_max(%x: memref<2x256xf32>, %lo: memref<2xf32>, %hi: memref<2xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x256xf32>) outs(%lo, %hi : memref<2xf32>, memref<2xf32>) {
  ^bb0(%a: f32, %l: f32, %h: f32):
    %0 = arith.minnumf %l, %a : f32
    %1 = arith.maxnumf %h, %a : f32
    linalg.yield %0, %1 : f32, f32
  }
  return
}
func.func @transposed(%x: memref<1x64xf32>, %w: memref<64x8xf32>, %y: memref<1x8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x64xf32>, memref<64x8xf32>) outs(%y : memref<1x8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// Two outputs that combine each other are no reduction the lanes can share.
// CHECK-LABEL: func.func @crossed_outputs
// CHECK-NOT: gpu.shuffle
// CHECK: return
func.func @crossed_outputs(%x: memref<2x256xf32>, %p: memref<2xf32>, %q: memref<2xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (i)>], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x256xf32>) outs(%p, %q : memref<2xf32>, memref<2xf32>) {
  ^bb0(%a: f32, %l: f32, %h: f32):
    %0 = arith.addf %l, %h : f32
    linalg.yield %0, %0 : f32, f32
  }
  return
}
