// Long runs say where they are: each layer's number, name and the time
// since the pass started, on stderr.
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-quantize="weight-bits=4 progress=true" -o /dev/null 2>&1 | FileCheck %s
// CHECK: lattice-quantize: layer 1 of 3 (first), {{[0-9]+\.[0-9]}} s
// CHECK-NEXT: lattice-quantize: layer 2 of 3 (middle), {{[0-9]+\.[0-9]}} s
// CHECK-NEXT: lattice-quantize: layer 3 of 3 (last), {{[0-9]+\.[0-9]}} s
