// RUN: rm -rf %t && mkdir -p %t
// RUN: %PYTHON %S/Inputs/make-stats.py %t/w.safetensors "big@128x128=ramp:-1:1" "small@2x128=ramp:0:1"
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" | FileCheck %s --check-prefix=LOAD
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" --lattice-quantize="weight-bits=8" \
// RUN:   | FileCheck %s --check-prefix=QUANT
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" --lattice-quantize="weight-bits=8" \
// RUN:   --mlir-print-debuginfo -o %t/q.mlir
// RUN: lattice-compile %t/q.mlir -o %t/m
// RUN: FileCheck %s --check-prefix=GLUE --input-file=%t/m.c
// RUN: lattice-opt %s --lattice-load-weights="dir=%t" --mlir-print-debuginfo -o %t/f.mlir
// RUN: lattice-compile %t/f.mlir -o %t/f
// RUN: FileCheck %s --check-prefix=FLOAT --input-file=%t/f.c

/// Weights of 2^14 elements or more are blobs over the mapped file, smaller
/// ones dense attributes.
// LOAD-LABEL: func.func @model
// LOAD-DAG: arith.constant dense_resource<big> : tensor<128x128xf32>
// LOAD-DAG: arith.constant dense<{{.*}}> : tensor<2x128xf32>
// LOAD: dialect_resources
// LOAD-NEXT: builtin: {
// LOAD-NEXT: big: "0x

/// The codes of a large weight are a blob too; the float weight's blob is
/// freed once the matmul no longer reads it, and only the codes print.
// QUANT-LABEL: func.func @model
// QUANT: %[[CODES:.*]] = arith.constant dense_resource<big_1> : tensor<128x128xi8>
// QUANT: lattice.scast %[[CODES]] : tensor<128x128xi8> to tensor<128x128x!lattice.quant<s8, f32, channel<0>>>
// QUANT: dialect_resources
// QUANT-NEXT: builtin: {
// QUANT-NEXT: big_1: "0x
// QUANT-NEXT: }

/// lattice-compile reads the printed blob back and stores the codes in the
/// weights file under the weight's name (the small one's codes too).
// GLUE: static const lattice_tensor_info weights[] = {
// GLUE-NEXT: {"big", LATTICE_I8, 2, {128, 128}, 16384u},
// GLUE-NEXT: {"small", LATTICE_I8, 2, {2, 128}, 256u},
// GLUE-NEXT: };
/// A float weight in a blob goes into the weights file too, not into the
/// library's code; the small one stays a constant of the code.
// FLOAT: static const lattice_tensor_info weights[] = {
// FLOAT-NEXT: {"big", LATTICE_F32, {{.*}}},
// FLOAT-NEXT: };
func.func @model(%x: tensor<3x128xf32>) -> (tensor<3x128xf32>, tensor<3x2xf32>) {
  %w = lattice.weight "big" from "w.safetensors" : tensor<128x128xf32>
  %s = lattice.weight "small" from "w.safetensors" : tensor<2x128xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<3x128xf32>, tensor<128x128xf32>) -> tensor<3x128xf32>
  %z = lattice.matmul %x, %s accumulate(f32) : (tensor<3x128xf32>, tensor<2x128xf32>) -> tensor<3x2xf32>
  return %y, %z : tensor<3x128xf32>, tensor<3x2xf32>
}
