// RUN: not lattice-opt %s --lattice-lower-to-cpu="target-cpu=pentium-nonexistent" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CPU
// RUN: lattice-opt %s --pass-pipeline="builtin.module(func.func(lattice-cpu-tile-and-vectorize{vector-bits=96}))" \
// RUN:   -verify-diagnostics

// CPU: lattice-lower-to-cpu: unknown target-cpu 'pentium-nonexistent'

// expected-error @below {{vector-bits must be a power of two in [64, 2048], got 96}}
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
