// Each built-in recipe is a pass pipeline, lattice-recipe-<name>.
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16 | FileCheck %s --check-prefix=W4A16
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16-g32 | FileCheck %s --check-prefix=G32
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-mixed | FileCheck %s --check-prefix=MIXED
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w8a8-dynamic | FileCheck %s --check-prefix=DYNAMIC
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-ternary | FileCheck %s --check-prefix=TERNARY
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-f32 | FileCheck %s --check-prefix=F32
//
// Statistics that do not fit the recipe are errors.
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w8a8 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16=float-stats=s.safetensors 2>&1 \
// RUN:   | FileCheck %s --check-prefix=WEIGHTS-ONLY
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-f32=float-stats=s.safetensors 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NONE
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w4a16-awq 2>&1 | FileCheck %s --check-prefix=AWQ
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-w3a16-gptq-qep=float-stats=s.safetensors 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QEP
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-w3a16-gptq=float-stats=s.safetensors qep-stats=q.safetensors" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=NOT-QEP
// RUN: rm -rf %t && mkdir -p %t && echo '{"recipe": "w8a8", "qep": true}' > %t/qep.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-w8a8=float-stats=s.safetensors recipe-file=%t/qep.json" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QEP-ACTIVATIONS

// w4a16: groups of 128 along K, f16 scales; a K of 64 that 128 does not
// divide falls back to one scale per output channel.
// W4A16-COUNT-3: lattice.matmul {{.*}}!lattice.quant<s4, f16, channel<0>>
// G32-COUNT-3: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 32>>
// mixed: the first and the last layer in 8 bits per channel.
// MIXED: lattice.matmul {{.*}}!lattice.quant<s8, f16, channel<0>>
// MIXED: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 32>>
// MIXED: lattice.matmul {{.*}}!lattice.quant<s8, f16, channel<0>>
// DYNAMIC-COUNT-3: lattice.dynamic_quantize
// TERNARY-COUNT-3: lattice.matmul {{.*}}!lattice.quant<ternary
// F32-NOT: lattice.quant
// F32-COUNT-3: lattice.matmul {{.*}} -> tensor

// STATIC: error: recipe 'w8a8' needs the statistics of the float model (float-stats)
// WEIGHTS-ONLY: error: recipe 'w4a16' takes no statistics
// AWQ: error: recipe 'w4a16-awq' uses AWQ, which needs the statistics of the float model with the X^T X of every layer's input (float-stats)
// QEP: error: recipe 'w3a16-gptq-qep' uses QEP, which needs the statistics that lattice-compile gathers layer after layer (qep-stats)
// NOT-QEP: error: recipe 'w3a16-gptq' does not use QEP (qep-stats)
// QEP-ACTIVATIONS: error: QEP quantizes weights only; recipe 'w8a8' quantizes activations
// NONE: error: recipe 'f32' takes no statistics
