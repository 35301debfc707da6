// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=4.5 report=%t.json" \
// RUN:   2>%t.remarks | FileCheck %s
// RUN: FileCheck %s --check-prefix=REMARK < %t.remarks
// RUN: FileCheck %s --check-prefix=REPORT < %t.json
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=4.5 solver=annealing" \
// RUN:   2>/dev/null | FileCheck %s
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=4.5" \
// RUN:   --lattice-quantize 2>/dev/null | FileCheck %s --check-prefix=QUANT
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=2.5" \
// RUN:   2>/dev/null | FileCheck %s --check-prefix=CHEAPEST
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=40" \
// RUN:   2>/dev/null | FileCheck %s --check-prefix=FLOAT
// A budget past the dearest assignment (its bits overflow a double) buys it.
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-assign-precision="sensitivity=%S/Inputs/three-layers-sensitivity.json budget=1e308" \
// RUN:   2>/dev/null | FileCheck %s --check-prefix=FLOAT
//
// Weights: 64 x 64, 64 x 64 and 16 x 64 (9216). At 4.5 bits per weight
// (41472 bits) all three could take 4/g32 (error 0.601), but the least error
// within the budget (0.12, 37376 bits) gives the sensitive last layer 8 bits
// per channel and the insensitive middle one 2 bits.
// CHECK: lattice.matmul {{.*}} {lattice.quantize = {granularity = "group", group_size = 32 : i64, scale_type = "f16", weight_bits = "4"}}
// CHECK: lattice.matmul {{.*}} {lattice.quantize = {granularity = "group", group_size = 32 : i64, scale_type = "f16", weight_bits = "2"}}
// CHECK: lattice.matmul {{.*}} {lattice.quantize = {granularity = "channel", scale_type = "f32", weight_bits = "8"}}
// REMARK: remark: layer 'first': 4/g32, 4.500 bits per weight, error 0.1
// REMARK: remark: layer 'middle': 2/g32, 2.500 bits per weight, error 0.01
// REMARK: remark: layer 'last': 8/channel, 8.500 bits per weight, error 0.01
// REPORT: "bits_per_weight": 4.0555
// REPORT: "budget_bits_per_weight": 4.5
// REPORT: "error": 0.12
// REPORT: "layers": [
// REPORT: "bits_per_weight": 4.5,
// REPORT: "candidates": [
// REPORT: "scheme": "2/g32"
// REPORT: "name": "first",
// REPORT: "scheme": "4/g32",
// REPORT: "weights": 4096
// REPORT: "smallest_bits_per_weight": 2.5,
// REPORT: "solver": "exact",
// QUANT: lattice.matmul {{.*}}!lattice.quant<s4, f16, group<1, 32>>
// QUANT: lattice.matmul {{.*}}!lattice.quant<s2, f16, group<1, 32>>
// QUANT: lattice.matmul {{.*}}!lattice.quant<s8, f32, channel<0>>
// CHEAPEST-COUNT-3: weight_bits = "2"
// FLOAT-COUNT-3: lattice.quantize = {skip}
// The mixed recipe with measurements: the budget and solver of its recipe
// file, and lattice-quantize after the assignment.
// RUN: echo '{"recipe": "mixed", "budget": 2.5, "solver": "annealing"}' > %t.recipe.json
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir \
// RUN:   --lattice-recipe-mixed="sensitivity=%S/Inputs/three-layers-sensitivity.json recipe-file=%t.recipe.json precision-report=%t.recipe-report.json" \
// RUN:   2>/dev/null | FileCheck %s --check-prefix=RECIPE
// RUN: FileCheck %s --check-prefix=RECIPE-REPORT < %t.recipe-report.json
// RECIPE-COUNT-3: !lattice.quant<s2, f16, group<1, 32>>
// RECIPE-REPORT: "budget_bits_per_weight": 2.5
// RECIPE-REPORT: "solver": "annealing"
// Without measurements, the fixed rule: 8 bits for the first and last layers.
// RUN: lattice-opt %S/../../Tools/Inputs/three-layers.mlir --lattice-recipe-mixed \
// RUN:   2>/dev/null | FileCheck %s --check-prefix=FIXED
// FIXED: !lattice.quant<s8, f16, channel<0>>
// FIXED: !lattice.quant<s4, f16, group<1, 32>>
// FIXED: !lattice.quant<s8, f16, channel<0>>
