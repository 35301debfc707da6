//===- PackWeights.h - Weights in the layout of compiled code ---*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Converting the weights of a model to the layout that the compiled code
// reads (lattice-externalize-weights), and the metadata of the weights file
// that the compiled library maps.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_CODEGEN_PACKWEIGHTS_H
#define LATTICE_CODEGEN_PACKWEIGHTS_H

#include "lattice/Support/Safetensors.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::lattice {
/// A weight of the compiled model, in the layout the generated code reads.
struct PackedWeight {
  std::string name;
  /// safetensors dtype of the stored bytes ("F32", "F16", "BF16", "I8",
  /// "U8"); sub-byte codes are "U8" bytes.
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

/// Converts the tensor `name` of `file` to the layout of a value of `type`
/// (the result type of lattice.weight): floats are copied, codes of a
/// quantized type are range-checked and packed LSB-first
/// (docs/WeightLayout.md). `layout` names a microkernel's layout
/// (lattice/Codegen/Ukernels.h) or is empty: "q4-rows4" interleaves the
/// packed rows of a 4-bit [N, K] weight (K a multiple of 32) by four in
/// 16-byte chunks; "f32-panels32" and "s8-panels32" store an f32 or s8
/// [N, K] weight in the GEMM's panels (runtime/lattice_pack.h).
llvm::Expected<PackedWeight> packWeight(const SafetensorsFile &file,
                                        llvm::StringRef name,
                                        mlir::RankedTensorType type,
                                        llvm::StringRef layout = "");

/// As above, for the tensor `source` named `name`, read from `origin` (a
/// file name or a description, for messages).
llvm::Expected<PackedWeight> packWeight(const SafetensorsEntry &source,
                                        llvm::StringRef origin,
                                        llvm::StringRef name,
                                        mlir::RankedTensorType type,
                                        llvm::StringRef layout = "");

/// The `__metadata__` of a weights file.
inline const std::pair<std::string, std::string> kWeightsFileMetadata[] = {
    {"format", "lattice"}, {"layout", "lsb-first-v1"}};
} // namespace mlir::lattice

#endif // LATTICE_CODEGEN_PACKWEIGHTS_H
