// RUN: lattice-opt %s --lattice-cpu-outline-parallel -split-input-file | FileCheck %s

// A parallel loop becomes a call of the pool with a body function; the
// values the loop reads (the buffer, the scale) go through a struct on the
// stack, the constant step is repeated in the body, and the bounds are the
// body's arguments.
// CHECK-LABEL: llvm.func @lattice_parallel_for(!llvm.ptr, !llvm.ptr, i64, i64, i64)
// CHECK-LABEL: llvm.func @scale
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[S:.*]]: f32, %[[N:.*]]: i64)
// CHECK: %[[SLOT:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, f32)>
// CHECK-DAG: %[[C0:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK-DAG: %[[C8:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[X_FIELD:.*]] = llvm.getelementptr %[[SLOT]][0, 0]
// CHECK: llvm.store %[[X]], %[[X_FIELD]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[S_FIELD:.*]] = llvm.getelementptr %[[SLOT]][0, 1]
// CHECK: llvm.store %[[S]], %[[S_FIELD]] : f32, !llvm.ptr
// CHECK: %[[BODY:.*]] = llvm.mlir.addressof @scale..par0
// CHECK: llvm.call @lattice_parallel_for(%[[BODY]], %[[SLOT]], %[[C0]], %[[N]], %[[C8]])
// CHECK-NOT: omp.
// CHECK: llvm.return

// CHECK-LABEL: llvm.func internal @scale..par0
// CHECK-SAME: (%[[CONTEXT:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: %[[STEP:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[X_LOAD:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S_LOAD:.*]] = llvm.load %{{.*}} : !llvm.ptr -> f32
// CHECK: llvm.br ^[[HEADER:.*]](%[[BEGIN]] : i64)
// CHECK: ^[[HEADER]](%[[I:.*]]: i64):
// CHECK: %[[MORE:.*]] = llvm.icmp "slt" %[[I]], %[[END]] : i64
// CHECK: llvm.cond_br %[[MORE]], ^[[LOOP:.*]], ^[[EXIT:.*]]
// CHECK: ^[[LOOP]]:
// CHECK: llvm.getelementptr %[[X_LOAD]][%[[I]]]
// CHECK: llvm.fmul %{{.*}}, %[[S_LOAD]]
// CHECK: llvm.br ^[[LATCH:.*]]
// CHECK: ^[[LATCH]]:
// CHECK: %[[NEXT:.*]] = llvm.add %[[I]], %[[STEP]] : i64
// CHECK: llvm.br ^[[HEADER]](%[[NEXT]] : i64)
// CHECK: ^[[EXIT]]:
// CHECK: llvm.return
llvm.func @scale(%x: !llvm.ptr, %s: f32, %n: i64) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c8 = llvm.mlir.constant(8 : i64) : i64
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c8) {
        %p = llvm.getelementptr %x[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
        %v = llvm.load %p : !llvm.ptr -> f32
        %m = llvm.fmul %v, %s : f32
        llvm.store %m, %p : f32, !llvm.ptr
        omp.yield
      }
    }
    omp.terminator
  }
  llvm.return
}

// -----

// A team size, a schedule, an inclusive bound: left to OpenMP.
// CHECK-LABEL: llvm.func @not_outlined
// CHECK-NOT: lattice_parallel_for
// CHECK-COUNT-3: omp.parallel
llvm.func @not_outlined(%x: !llvm.ptr, %n: i64, %t: i32) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  omp.parallel num_threads(%t : i32) {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop schedule(dynamic) {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : i64 = (%c0) to (%n) inclusive step (%c1) {
        omp.yield
      }
    }
    omp.terminator
  }
  llvm.return
}
