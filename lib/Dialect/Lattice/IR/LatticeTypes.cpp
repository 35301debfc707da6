//===- LatticeTypes.cpp - Lattice quantized element type ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Parsing, printing and verification of `!lattice.quant`, and the helpers that
// relate a scheme to the shape of the tensor it quantizes.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lattice;

#define GET_TYPEDEF_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeOpsTypes.cpp.inc"

void LatticeDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "lattice/Dialect/Lattice/IR/LatticeOpsTypes.cpp.inc"
      >();
}

/// Builds the plain scheme from type parameters; `scaleType` may be null, in
/// which case checkInvariants reports it.
static QuantScheme makeScheme(StorageKind storageKind, unsigned bits,
                              FloatType scaleType, Granularity granularity,
                              int64_t axis, int64_t groupSize, bool symmetric) {
  QuantScheme scheme;
  scheme.storageKind = storageKind;
  scheme.bits = bits;
  scheme.symmetric = symmetric;
  scheme.granularity = granularity;
  scheme.axis = axis;
  scheme.groupSize = groupSize;
  scheme.scaleSemantics = scaleType ? &scaleType.getFloatSemantics() : nullptr;
  return scheme;
}

LogicalResult QuantType::verify(function_ref<InFlightDiagnostic()> emitError,
                                StorageKind storageKind, unsigned bits,
                                FloatType scaleType, Granularity granularity,
                                int64_t axis, int64_t groupSize,
                                bool symmetric) {
  // Ternary and binary widths are fixed; a different `bits` would make two
  // types that print identically but are not equal.
  if ((storageKind == StorageKind::Ternary && bits != 2) ||
      (storageKind == StorageKind::Binary && bits != 1))
    return emitError() << stringifyStorageKind(storageKind)
                       << " storage must have bits = "
                       << (storageKind == StorageKind::Ternary ? 2 : 1);
  QuantScheme scheme = makeScheme(storageKind, bits, scaleType, granularity,
                                  axis, groupSize, symmetric);
  if (std::optional<std::string> message = scheme.checkInvariants())
    return emitError() << *message;
  return success();
}

QuantScheme QuantType::getScheme() const {
  return makeScheme(getStorageKind(), getBits(), getScaleType(),
                    getGranularity(), getAxis(), getGroupSize(),
                    getSymmetric());
}

int64_t QuantType::getStorageMin() const { return getScheme().getStorageMin(); }

int64_t QuantType::getStorageMax() const { return getScheme().getStorageMax(); }

unsigned QuantType::getStorageBits() const {
  return getScheme().getStorageBits();
}

LogicalResult
QuantType::verifyForShape(function_ref<InFlightDiagnostic()> emitError,
                          ArrayRef<int64_t> shape) const {
  if (isPerTensor())
    return success();
  int64_t axis = getAxis();
  int64_t rank = shape.size();
  if (axis >= rank)
    return emitError() << "quantized axis " << axis
                       << " is out of range for rank " << rank;
  if (!isPerGroup())
    return success();
  int64_t dim = shape[axis];
  if (ShapedType::isDynamic(dim))
    return emitError() << "grouped axis " << axis << " must have a static size";
  return success();
}

SmallVector<int64_t> QuantType::getScaleShape(ArrayRef<int64_t> shape) const {
  switch (getGranularity()) {
  case Granularity::PerTensor:
    return {};
  case Granularity::PerChannel:
    return {shape[getAxis()]};
  case Granularity::PerGroup: {
    // A group size that does not divide the axis leaves a shorter last
    // group.
    SmallVector<int64_t> scaleShape(shape);
    scaleShape[getAxis()] = llvm::divideCeil(shape[getAxis()], getGroupSize());
    return scaleShape;
  }
  }
  llvm_unreachable("unknown granularity");
}

//===----------------------------------------------------------------------===//
// Assembly format
//===----------------------------------------------------------------------===//

/// Parses `sN`, `uN`, `ternary` or `binary`.
static ParseResult parseStorage(AsmParser &parser, StorageKind &kind,
                                unsigned &bits) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  if (keyword == "ternary") {
    kind = StorageKind::Ternary;
    bits = 2;
    return success();
  }
  if (keyword == "binary") {
    kind = StorageKind::Binary;
    bits = 1;
    return success();
  }
  bool isStorageWidth =
      (keyword.starts_with("s") || keyword.starts_with("u")) &&
      !keyword.drop_front().getAsInteger(10, bits);
  if (!isStorageWidth)
    return parser.emitError(loc, "expected storage `sN`, `uN`, `ternary` or "
                                 "`binary`, got '")
           << keyword << "'";
  kind = keyword.front() == 's' ? StorageKind::Signed : StorageKind::Unsigned;
  return success();
}

Type QuantType::parse(AsmParser &parser) {
  SMLoc typeLoc = parser.getCurrentLocation();
  StorageKind kind;
  unsigned bits;
  Type scaleType;
  if (parser.parseLess() || parseStorage(parser, kind, bits) ||
      parser.parseComma())
    return {};
  SMLoc scaleLoc = parser.getCurrentLocation();
  if (parser.parseType(scaleType))
    return {};
  auto floatScaleType = dyn_cast<FloatType>(scaleType);
  if (!floatScaleType) {
    parser.emitError(scaleLoc, "scale type must be f32, f16 or bf16");
    return {};
  }

  Granularity granularity = Granularity::PerTensor;
  int64_t axis = 0, groupSize = 0;
  bool symmetric = true, sawGranularity = false, sawSymmetry = false;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc loc = parser.getCurrentLocation();
    StringRef keyword;
    if (parser.parseKeyword(&keyword))
      return {};
    if (keyword == "channel" || keyword == "group") {
      if (sawGranularity) {
        parser.emitError(loc, "granularity is given more than once");
        return {};
      }
      sawGranularity = true;
      granularity = keyword == "channel" ? Granularity::PerChannel
                                         : Granularity::PerGroup;
      if (parser.parseLess() || parser.parseInteger(axis))
        return {};
      if (granularity == Granularity::PerGroup &&
          (parser.parseComma() || parser.parseInteger(groupSize)))
        return {};
      if (parser.parseGreater())
        return {};
    } else if (keyword == "asymmetric" || keyword == "symmetric") {
      if (sawSymmetry) {
        parser.emitError(loc, "symmetry is given more than once");
        return {};
      }
      sawSymmetry = true;
      symmetric = keyword == "symmetric";
    } else {
      parser.emitError(loc, "expected `channel<axis>`, `group<axis, size>`, "
                            "`symmetric` or `asymmetric`, got '")
          << keyword << "'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<QuantType>(typeLoc, parser.getContext(), kind, bits,
                                      floatScaleType, granularity, axis,
                                      groupSize, symmetric);
}

void QuantType::print(AsmPrinter &printer) const {
  printer << '<';
  switch (getStorageKind()) {
  case StorageKind::Signed:
    printer << 's' << getBits();
    break;
  case StorageKind::Unsigned:
    printer << 'u' << getBits();
    break;
  case StorageKind::Ternary:
  case StorageKind::Binary:
    printer << stringifyStorageKind(getStorageKind());
    break;
  }
  printer << ", " << getScaleType();
  if (isPerChannel())
    printer << ", channel<" << getAxis() << '>';
  else if (isPerGroup())
    printer << ", group<" << getAxis() << ", " << getGroupSize() << '>';
  if (isAsymmetric())
    printer << ", asymmetric";
  printer << '>';
}
