// Kernels compute square roots correctly rounded, as the CPU does, not with
// libdevice's approximations (sqrt.approx unless a reflection parameter that
// MLIR does not set asks otherwise).
//
// RUN: lattice-opt %s --split-input-file \
// RUN:   --pass-pipeline="builtin.module(gpu.module(lattice-gpu-exact-math))" | FileCheck %s
// REQUIRES: cuda-toolkit
// RUN: lattice-opt %S/Inputs/sqrt.mlir --lattice-lower-to-gpu="chip=sm_90" \
// RUN: | %PYTHON %lattice_src_root/utils/gpu-objects.py - | FileCheck %s --check-prefix=PTX

// CHECK-LABEL: gpu.func @roots
// CHECK-SAME: (%[[X:[^:]*]]: f32, %[[D:[^:]*]]: f64, %[[V:[^:]*]]: vector<2xf32>, %[[H:[^:]*]]: f16,
// CHECK: %[[S:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[X]]) : (f32) -> f32
// CHECK: %[[R:.*]] = llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[X]]) : (f32) -> f32
// CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK: %[[INV:.*]] = arith.divf %[[ONE]], %[[R]] : f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.d"(%[[D]]) : (f64) -> f64
// CHECK: %[[V0:.*]] = vector.extract %[[V]][0]
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[V0]])
// CHECK: %[[V1:.*]] = vector.extract %[[V]][1]
// CHECK: llvm.call_intrinsic "llvm.nvvm.sqrt.rn.f"(%[[V1]])
// f16 has no libdevice approximation to avoid: left as it is.
// CHECK: math.sqrt %[[H]] : f16
// CHECK-NOT: math.sqrt
// CHECK-NOT: math.rsqrt
gpu.module @kernels {
  gpu.func @roots(%x: f32, %d: f64, %v: vector<2xf32>, %h: f16,
                  %out: memref<8xf32>) kernel {
    %s = math.sqrt %x : f32
    %r = math.rsqrt %x : f32
    %sd = math.sqrt %d : f64
    %sv = math.sqrt %v : vector<2xf32>
    %sh = math.sqrt %h : f16
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    memref.store %s, %out[%c0] : memref<8xf32>
    memref.store %r, %out[%c1] : memref<8xf32>
    %fd = arith.truncf %sd : f64 to f32
    memref.store %fd, %out[%c2] : memref<8xf32>
    %e = vector.extract %sv[1] : f32 from vector<2xf32>
    memref.store %e, %out[%c3] : memref<8xf32>
    %fh = arith.extf %sh : f16 to f32
    memref.store %fh, %out[%c4] : memref<8xf32>
    gpu.return
  }
}

// PTX: sqrt.rn.f32
// PTX-NOT: sqrt.approx
