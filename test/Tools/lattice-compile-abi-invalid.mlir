// Signatures that the C ABI of compiled models cannot pass are errors that
// name the tensor.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not lattice-compile %S/Inputs/abi-dynamic.mlir -o %t/a 2>&1 | FileCheck %s --check-prefix=DYNAMIC
// DYNAMIC: error: 'input0' has type 'tensor<?x4xf32>'; the C ABI takes statically shaped tensors of rank 8 or less
// RUN: not lattice-compile %S/Inputs/abi-f64.mlir -o %t/b 2>&1 | FileCheck %s --check-prefix=F64
// F64: error: 'input0' has element type 'f64'; the C ABI takes f32, f16, bf16, i8 or i32
// RUN: not lattice-compile %S/Inputs/abi-bad-stored.mlir -o %t/c 2>&1 | FileCheck %s --check-prefix=STORED
// STORED: error: argument 1 has a malformed 'lattice.stored_weight' attribute
// RUN: not lattice-compile %S/Inputs/abi-input-after-weight.mlir -o %t/d 2>&1 | FileCheck %s --check-prefix=ORDER
// ORDER: error: input 1 follows a weight
