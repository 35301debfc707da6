//===- Observe.cpp - Calibration probes and their export ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// lattice-observe puts a `lattice.observe` probe on the input and weight of
// every float matmul; lattice-export-observations turns probes into extra
// function results, the calibration build that lattice.calibrate runs.
//
//===----------------------------------------------------------------------===//

#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::lattice {
#define GEN_PASS_DEF_LATTICEEXPORTOBSERVATIONSPASS
#define GEN_PASS_DEF_LATTICEOBSERVEPASS
#include "lattice/Dialect/Lattice/Transforms/Passes.h.inc"
} // namespace mlir::lattice

using namespace mlir;
using namespace mlir::lattice;

/// Name of the result attribute that names an exported probe.
static constexpr StringLiteral kResultNameAttr = "lattice.name";

/// Replaces the use of `operand` by a probe named `name` on its value,
/// unless the value already comes from that probe.
static void observe(OpBuilder &b, OpOperand &operand, StringRef name,
                    int64_t channelAxis) {
  Value value = operand.get();
  if (auto probe = value.getDefiningOp<ObserveOp>())
    if (probe.getName() == name)
      return;
  auto probe =
      ObserveOp::create(b, operand.getOwner()->getLoc(), value.getType(), value,
                        name, b.getI64IntegerAttr(channelAxis));
  operand.set(probe.getResult());
}

namespace {
struct LatticeObservePass final
    : lattice::impl::LatticeObservePassBase<LatticeObservePass> {
  using Base::Base;

  void runOnOperation() override {
    llvm::StringMap<MatmulOp> layers;
    WalkResult result = getOperation().walk([&](MatmulOp op) {
      if (isa<QuantType>(op.getLhs().getType().getElementType()) ||
          isa<QuantType>(op.getRhs().getType().getElementType()))
        return WalkResult::advance();
      std::string name = getLayerName(op);
      if (name.empty()) {
        op.emitWarning("matmul has no layer name and is not observed; name "
                       "its weight or give it a name location");
        return WalkResult::advance();
      }
      auto [it, inserted] = layers.try_emplace(name, op);
      if (!inserted) {
        op.emitError() << "layer name '" << name
                       << "' is used by two matmuls; probes need unique names";
        it->second.emitRemark("the other matmul named '") << name << "'";
        return WalkResult::interrupt();
      }
      OpBuilder b(op);
      observe(b, op.getLhsMutable(), getInputProbeName(name),
              op.getLhs().getType().getRank() - 1);
      if (weights)
        observe(b, op.getRhsMutable(), getWeightProbeName(name),
                /*channelAxis=*/1);
      std::string outputProbe = getOutputProbeName(name);
      bool observed = llvm::any_of(op->getUsers(), [&](Operation *user) {
        auto probe = dyn_cast<ObserveOp>(user);
        return probe && probe.getName() == outputProbe;
      });
      if (outputs && !observed) {
        Value result = op.getResult();
        b.setInsertionPointAfter(op);
        auto probe = ObserveOp::create(
            b, op.getLoc(), result.getType(), result, outputProbe,
            b.getI64IntegerAttr(op.getType().getRank() - 1));
        result.replaceAllUsesExcept(probe.getResult(), probe);
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

struct LatticeExportObservationsPass final
    : lattice::impl::LatticeExportObservationsPassBase<
          LatticeExportObservationsPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(exportProbes(func)))
        return signalPassFailure();
  }

private:
  static LogicalResult exportProbes(func::FuncOp func);
};
} // namespace

LogicalResult LatticeExportObservationsPass::exportProbes(func::FuncOp func) {
  SmallVector<ObserveOp> probes;
  func.walk([&](ObserveOp probe) { probes.push_back(probe); });
  if (probes.empty())
    return success();
  Region &body = func.getBody();
  auto ret = body.hasOneBlock()
                 ? dyn_cast<func::ReturnOp>(body.front().getTerminator())
                 : func::ReturnOp();
  if (!ret)
    return func.emitError("a function with probes must have one block "
                          "ending in func.return to export them");
  llvm::StringMap<ObserveOp> names;
  for (ObserveOp probe : probes) {
    if (probe->getParentRegion() != &body)
      return probe.emitError("probe '")
             << probe.getName()
             << "' is inside a nested region; only probes in the function "
                "body can be exported";
    auto [it, inserted] = names.try_emplace(probe.getName(), probe);
    if (!inserted) {
      InFlightDiagnostic diag = probe.emitError("two probes are named '")
                                << probe.getName() << "'";
      diag.attachNote(it->second.getLoc()) << "the first one";
      return diag;
    }
  }
  Builder b(func.getContext());
  SmallVector<Type> resultTypes(func.getResultTypes());
  SmallVector<DictionaryAttr> resultAttrs;
  func.getAllResultAttrs(resultAttrs);
  SmallVector<Value> values;
  for (ObserveOp probe : probes) {
    resultTypes.push_back(probe.getType());
    resultAttrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(kResultNameAttr, probe.getNameAttr())));
    values.push_back(probe.getInput());
    probe.replaceAllUsesWith(probe.getInput());
    probe.erase();
  }
  func.setType(b.getFunctionType(func.getArgumentTypes(), resultTypes));
  func.setAllResultAttrs(resultAttrs);
  ret.getOperandsMutable().append(values);
  return success();
}
