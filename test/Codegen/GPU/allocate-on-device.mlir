// RUN: lattice-opt %s --split-input-file --lattice-gpu-allocate-on-device \
// RUN:   --verify-diagnostics | FileCheck %s

// Host allocations become device allocations; a constant global that a
// kernel reads is read inside the kernel and aligned as kernels read buffers
// (16 bytes); an external (host) function gets a
// host copy of a device buffer, freed after the call.
// CHECK: memref.global "private" constant @table : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> {alignment = 16 : i64}
// CHECK-LABEL: func.func @f
// CHECK: %[[T:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.launch
// CHECK-NEXT: %[[G:.*]] = memref.get_global @table : memref<4xf32>
// CHECK: memref.load %[[G]]
// CHECK: memref.store %{{.*}}, %[[T]]
// CHECK: %[[H:.*]] = memref.alloc() : memref<4xf32>
// CHECK: gpu.memcpy  %[[H]], %[[T]] : memref<4xf32>, memref<4xf32>
// CHECK: %[[U:.*]] = memref.cast %[[H]] : memref<4xf32> to memref<*xf32>
// CHECK: call @printMemrefF32(%[[U]])
// CHECK: memref.dealloc %[[H]]
// CHECK: gpu.dealloc  %[[T]] : memref<4xf32>
memref.global "private" constant @table : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func private @printMemrefF32(memref<*xf32>)
func.func @f() {
  %t = memref.alloc() : memref<4xf32>
  %g = memref.get_global @table : memref<4xf32>
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    %v = memref.load %g[%tx] : memref<4xf32>
    memref.store %v, %t[%tx] : memref<4xf32>
    gpu.terminator
  }
  %u = memref.cast %t : memref<4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %t : memref<4xf32>
  return
}

// -----

// A stack buffer that a kernel reads cannot live on the device.
func.func @stack(%x: f32) {
  %c1 = arith.constant 1 : index
  // expected-error @below {{lattice-gpu-allocate-on-device: a stack buffer cannot be read by a kernel}}
  %a = memref.alloca() : memref<1xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    memref.store %x, %a[%tx] : memref<1xf32>
    gpu.terminator
  }
  return
}

// -----

// Host functions take contiguous copies only.
func.func private @consume(memref<2xf32, strided<[1], offset: 2>>)
func.func @strided(%b: memref<4xf32>) {
  %v = memref.subview %b[2] [2] [1] : memref<4xf32> to memref<2xf32, strided<[1], offset: 2>>
  // expected-error @below {{lattice-gpu-allocate-on-device: cannot pass a strided view of device memory to the host function 'consume'}}
  call @consume(%v) : (memref<2xf32, strided<[1], offset: 2>>) -> ()
  return
}

// -----

// An unranked buffer whose ranked source is unknown cannot be copied.
func.func private @print(memref<*xf32>)
func.func @unranked(%b: memref<*xf32>) {
  // expected-error @below {{lattice-gpu-allocate-on-device: cannot pass an unranked buffer of device memory to the host function 'print'}}
  call @print(%b) : (memref<*xf32>) -> ()
  return
}
