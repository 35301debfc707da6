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
//
// llm-int8 splits the input channels that calibration saw above 6 off into a
// float matmul, and quantizes the rest per token; a recipe file sets the
// threshold of w8a8, w8a8-dynamic and llm-int8.
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-llm-int8 2>&1 | FileCheck %s --check-prefix=LLM-INT8-STATS
// RUN: %PYTHON %S/Inputs/make-stats.py %t.outliers \
// RUN:   "first:input.min@=-9" "first:input.max@=9" "first:input.absmax@64=ramp:0:9" \
// RUN:   "middle:input.min@=-1" "middle:input.max@=1" "middle:input.absmax@64=ramp:0:1" \
// RUN:   "last:input.min@=-12" "last:input.max@=12" "last:input.absmax@64=ramp:0:12"
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-llm-int8=float-stats=%t.outliers \
// RUN:   | FileCheck %s --check-prefix=LLM-INT8
// RUN: mkdir -p %t.dir && echo '{"recipe": "llm-int8", "outlier_threshold": 8.5}' > %t.dir/split.json
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-llm-int8=float-stats=%t.outliers recipe-file=%t.dir/split.json" \
// RUN:   | FileCheck %s --check-prefix=THRESHOLD
// RUN: echo '{"recipe": "w4a16", "outlier_threshold": 6}' > %t.dir/weights.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-w4a16=recipe-file=%t.dir/weights.json" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THRESHOLD-WEIGHTS
// RUN: echo '{"recipe": "llm-int8", "outlier_threshold": 0}' > %t.dir/zero.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-llm-int8=float-stats=%t.outliers recipe-file=%t.dir/zero.json" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THRESHOLD-ZERO
// RUN: rm -rf %t && mkdir -p %t && echo '{"recipe": "w8a8", "qep": true}' > %t/qep.json
// RUN: not lattice-opt %S/../../Tools/Inputs/three-layers.mlir "--lattice-recipe-w8a8=float-stats=s.safetensors recipe-file=%t/qep.json" 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QEP-ACTIVATIONS

// w4a16: groups of 128 along K, f16 scales; a K of 64 is one shorter group.
// W4A16-COUNT-3: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 128>>
// G32-COUNT-3: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 32>>
// mixed: the first and the last layer in 8 bits per channel.
// MIXED: lattice.matmul {{.*}}!lattice.quant<s8, f16, channel<0>>
// MIXED: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 32>>
// MIXED: lattice.matmul {{.*}}!lattice.quant<s8, f16, channel<0>>
// DYNAMIC-COUNT-3: lattice.dynamic_quantize
// llm-int8: channels 43-63 of the first layer's input (above 6 on a ramp
// from 0 to 9) and 32-63 of the last's go through float matmuls; the
// middle's input has none. Each quantized matmul reads a masked input.
// LLM-INT8: lattice.channel_scale
// LLM-INT8: lattice.dynamic_quantize
// LLM-INT8: lattice.matmul {{.*}} -> tensor<2x64xf32>
// LLM-INT8: lattice.matmul {{.*}} : (tensor<2x21xf32>, tensor<64x21xf32>) -> tensor<2x64xf32>
// LLM-INT8-NOT: lattice.channel_scale
// LLM-INT8: lattice.dynamic_quantize
// LLM-INT8: lattice.matmul {{.*}} -> tensor<2x64xf32>
// LLM-INT8: lattice.channel_scale
// LLM-INT8: lattice.dynamic_quantize
// LLM-INT8: lattice.matmul {{.*}} -> tensor<2x16xf32>
// LLM-INT8: lattice.matmul {{.*}} : (tensor<2x32xf32>, tensor<16x32xf32>) -> tensor<2x16xf32>
// At 8.5 (a recipe file on llm-int8), four channels of the first layer's
// input and 19 of the last's.
// THRESHOLD: lattice.matmul {{.*}} : (tensor<2x4xf32>, tensor<64x4xf32>) -> tensor<2x64xf32>
// THRESHOLD: lattice.matmul {{.*}} : (tensor<2x19xf32>, tensor<16x19xf32>) -> tensor<2x16xf32>
// TERNARY-COUNT-3: lattice.matmul {{.*}}!lattice.quant<ternary
// F32-NOT: lattice.quant
// F32-COUNT-3: lattice.matmul {{.*}} -> tensor

// STATIC: error: recipe 'w8a8' needs the statistics of the float model (float-stats)
// LLM-INT8-STATS: error: recipe 'llm-int8' splits outlier channels, which needs the statistics of the float model (float-stats)
// THRESHOLD-WEIGHTS: error: recipe file '{{.*}}weights.json': "outlier_threshold" splits the input of matmuls whose activations are quantized; recipe 'w4a16' keeps them in float
// THRESHOLD-ZERO: error: recipe file '{{.*}}zero.json': "outlier_threshold" is 0; expected a positive number
// WEIGHTS-ONLY: error: recipe 'w4a16' takes no statistics
// AWQ: error: recipe 'w4a16-awq' uses AWQ, which needs the statistics of the float model with the X^T X of every layer's input (float-stats)
// QEP: error: recipe 'w3a16-gptq-qep' uses QEP, which needs the statistics that lattice-compile gathers layer after layer (qep-stats)
// NOT-QEP: error: recipe 'w3a16-gptq' does not use QEP (qep-stats)
// QEP-ACTIVATIONS: error: QEP quantizes weights only; recipe 'w8a8' quantizes activations
// NONE: error: recipe 'f32' takes no statistics
