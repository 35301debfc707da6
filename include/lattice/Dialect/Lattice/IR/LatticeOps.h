//===- LatticeOps.h - Lattice operations ------------------------*- C++ -*-===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Declares the operations of the `lattice` dialect.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_H
#define LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_H

#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include <optional>
#include <vector>

#define GET_OP_CLASSES
#include "lattice/Dialect/Lattice/IR/LatticeOps.h.inc"

namespace mlir::lattice {
/// Reads the values of a float constant (row-major, splats expanded) as f32,
/// the arithmetic type of the quantization ops, or std::nullopt when `value`
/// is not a constant. Takes `dense` and `dense_resource` constants; a mapped
/// weight's pages are given back after the copy (WeightBlobs.h).
std::optional<std::vector<float>> getConstantFloats(Value value);

/// The safetensors dtype that holds elements of `type` bit for bit (also the
/// runtime's lattice_dtype name): F32, F16, BF16, I8 or I32; "" for any
/// other type.
StringRef getSafetensorsDType(Type type);

/// Reads the values of an integer constant (`dense` or `dense_resource`,
/// row-major, splats expanded), sign-extended, or std::nullopt when `value`
/// is not a constant.
std::optional<std::vector<int64_t>> getConstantInts(Value value);

/// Creates an arith.constant of the float tensor type `type` holding
/// `values`, rounded to its element type (round to nearest even).
Value createFloatConstant(OpBuilder &b, Location loc, RankedTensorType type,
                          ArrayRef<float> values);

/// As createFloatConstant, for a weight: a large one goes into a blob that
/// is freed once no op refers to it (WeightBlobs.h).
Value createWeightConstant(OpBuilder &b, Location loc, RankedTensorType type,
                           ArrayRef<float> values);

/// Creates an arith.constant of the i8 tensor type `type` holding the codes
/// of a quantized weight (a blob when large, as createWeightConstant).
Value createCodeConstant(OpBuilder &b, Location loc, RankedTensorType type,
                         ArrayRef<int8_t> codes);

/// Creates the scale constant (in `type`'s scale type) and, when `type` is
/// asymmetric, the zero-point constant (i8, or i16 when the codes exceed
/// 127) of a tensor of `shape` quantized as `type`; the zero point is null
/// otherwise. `scales` and `zeroPoints` hold one value per block; the
/// dimensions that `type` blocks must be static in `shape`.
std::pair<Value, Value> createQuantParamConstants(OpBuilder &b, Location loc,
                                                  QuantType type,
                                                  ArrayRef<int64_t> shape,
                                                  ArrayRef<float> scales,
                                                  ArrayRef<int64_t> zeroPoints);
} // namespace mlir::lattice

#endif // LATTICE_DIALECT_LATTICE_IR_LATTICEOPS_H
