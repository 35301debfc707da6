//===- Passes.td - Lattice transformation passes -----------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Passes of the `lattice` dialect. Defs end in `Pass`, flags are
// `lattice-<verb>-<object>`; keep them alphabetical within a group.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD
#define LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

//===----------------------------------------------------------------------===//
// Analyses
//===----------------------------------------------------------------------===//

def LatticeReportStoragePass : Pass<"lattice-report-storage", "ModuleOp"> {
  let summary = "Report the storage cost of every quantized weight";
  let description = [{
    Emits one remark per quantized weight (a `lattice.weight` whose element
    type is `!lattice.quant`) with the number of codes and scales, the
    effective bits per weight (codes, scales and zero points; zero points are
    counted at the code width) and the bytes it occupies, then one remark on
    the module with the totals. The IR is not changed.

    Example:

    ```mlir
    %w = lattice.weight "fc1.weight" from "mlp.safetensors"
        : tensor<128x64x!lattice.quant<s4, f16, group<1, 32>>>
    ```

    reports

    ```
    remark: 'fc1.weight': 8192 codes, 256 scales, 4.5 bits per weight, 4608 bytes
    ```
  }];
}

#endif // LATTICE_DIALECT_LATTICE_TRANSFORMS_PASSES_TD
