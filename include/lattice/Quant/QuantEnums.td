//===- QuantEnums.td - Enums of quantization schemes -------*- tablegen -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The enums of quantization schemes, owned by the quantization math
// (QuantMath.h) and used by the dialect's attributes. The generated C++
// depends only on LLVM Support.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_QUANT_QUANTENUMS_TD
#define LATTICE_QUANT_QUANTENUMS_TD

include "mlir/IR/EnumAttr.td"

def Lattice_StorageKind : I32EnumAttr<"StorageKind",
    "storage of quantized codes", [
      I32EnumAttrCase<"Signed", 0, "signed">,
      I32EnumAttrCase<"Unsigned", 1, "unsigned">,
      I32EnumAttrCase<"Ternary", 2, "ternary">,
      I32EnumAttrCase<"Binary", 3, "binary">
    ]> {
  let cppNamespace = "::mlir::lattice";
  let genSpecializedAttr = 0;
}

def Lattice_Granularity : I32EnumAttr<"Granularity",
    "how many scales a quantized tensor has", [
      I32EnumAttrCase<"PerTensor", 0, "tensor">,
      I32EnumAttrCase<"PerChannel", 1, "channel">,
      I32EnumAttrCase<"PerGroup", 2, "group">
    ]> {
  let cppNamespace = "::mlir::lattice";
  let genSpecializedAttr = 0;
}

def Lattice_RoundingModeEnum : I32EnumAttr<"RoundingMode",
    "rounding of x / scale to an integer code", [
      I32EnumAttrCase<"NearestEven", 0, "nearest_even">,
      I32EnumAttrCase<"NearestAway", 1, "nearest_away">
    ]> {
  let cppNamespace = "::mlir::lattice";
  let genSpecializedAttr = 0;
}

#endif // LATTICE_QUANT_QUANTENUMS_TD
