//===- QuantEnums.h - Enums of quantization schemes -------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The storage kind, granularity and rounding mode enums. Depends on LLVM
// Support (and the header-only mlir/Support/LLVM.h), so that the
// quantization math can use them without linking MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_QUANT_QUANTENUMS_H
#define LATTICE_QUANT_QUANTENUMS_H

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/DenseMapInfo.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"
#include <cstdint>
#include <optional>

#include "lattice/Quant/QuantEnums.h.inc"

#endif // LATTICE_QUANT_QUANTENUMS_H
