//===- QuantTypeTest.cpp - Tests of !lattice.quant ------------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Type storage and the C++-only paths of `!lattice.quant` that text cannot
// reach: getChecked on parameters the parser never produces, and the helpers
// relating a scheme to a tensor shape.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeDialect.h"
#include "lattice/Dialect/Lattice/IR/LatticeTypes.h"
#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace mlir::lattice;

namespace {
class QuantTypeTest : public ::testing::Test {
protected:
  QuantTypeTest() : builder(&context) { context.loadDialect<LatticeDialect>(); }

  /// Builds a type with getChecked and returns the diagnostic it emitted.
  std::pair<QuantType, std::string> getChecked(StorageKind kind, unsigned bits,
                                               Granularity granularity,
                                               int64_t axis, int64_t groupSize,
                                               bool symmetric) {
    std::string message;
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      message = diag.str();
      return success();
    });
    QuantType type = QuantType::getChecked(
        [&] { return emitError(UnknownLoc::get(&context)); }, &context, kind,
        bits, builder.getF32Type(), granularity, axis, groupSize, symmetric);
    return {type, message};
  }

  MLIRContext context;
  Builder builder;
};

TEST_F(QuantTypeTest, UniquedByParameters) {
  auto a = QuantType::get(StorageKind::Signed, 4, builder.getF16Type());
  auto b = QuantType::get(StorageKind::Signed, 4, builder.getF16Type());
  auto c = QuantType::get(StorageKind::Signed, 4, builder.getF16Type(),
                          /*symmetric=*/false);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_TRUE(a.isPerTensor());
  EXPECT_EQ(a.getStorageMin(), -8);
  EXPECT_EQ(a.getStorageMax(), 7);
}

TEST_F(QuantTypeTest, RejectsParametersTheParserCannotProduce) {
  struct Case {
    StorageKind kind;
    unsigned bits;
    Granularity granularity;
    int64_t axis, groupSize;
    bool symmetric;
    /// The diagnostic, or "" for a valid type.
    const char *message;
  } cases[] = {
      {StorageKind::Signed, 8, Granularity::PerTensor, 1, 0, true,
       "per-tensor scheme must not have an axis or a group size"},
      {StorageKind::Signed, 8, Granularity::PerChannel, 0, 4, true,
       "per-channel scheme must not have a group size"},
      {StorageKind::Ternary, 8, Granularity::PerTensor, 0, 0, true,
       "ternary storage must have bits = 2"},
      {StorageKind::Binary, 2, Granularity::PerTensor, 0, 0, true,
       "binary storage must have bits = 1"},
      {StorageKind::Unsigned, 4, Granularity::PerGroup, 1, 32, false, ""},
  };
  for (const Case &c : cases) {
    auto [type, message] = getChecked(c.kind, c.bits, c.granularity, c.axis,
                                      c.groupSize, c.symmetric);
    EXPECT_EQ(bool(type), *c.message == '\0') << c.message;
    EXPECT_EQ(message, c.message);
  }
}

TEST_F(QuantTypeTest, ScaleShapes) {
  auto group =
      QuantType::get(&context, StorageKind::Signed, 4, builder.getF16Type(),
                     Granularity::PerGroup, 1, 32, true);
  EXPECT_EQ(group.getScaleShape({64, 128}), SmallVector<int64_t>({64, 4}));
  auto channel =
      QuantType::get(&context, StorageKind::Signed, 8, builder.getF32Type(),
                     Granularity::PerChannel, 0, 0, true);
  EXPECT_EQ(channel.getScaleShape({64, 128}), SmallVector<int64_t>({64}));
  auto tensor = QuantType::get(StorageKind::Signed, 8, builder.getF32Type());
  EXPECT_TRUE(tensor.getScaleShape({64, 128}).empty());
}

TEST_F(QuantTypeTest, ParsePrintRoundTrip) {
  for (StringRef text : {
           "!lattice.quant<s4, f16, group<1, 32>>",
           "!lattice.quant<u8, f32, channel<0>, asymmetric>",
           "!lattice.quant<ternary, bf16>",
           "!lattice.quant<binary, f32, channel<1>>",
       }) {
    Type type = parseType(text, &context);
    ASSERT_TRUE(type) << text.str();
    std::string printed;
    llvm::raw_string_ostream os(printed);
    type.print(os);
    EXPECT_EQ(printed, text.str());
  }
}
} // namespace
