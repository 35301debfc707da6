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
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
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

/// `value` with any probes on it looked through.
static Value getObserved(Value value) {
  while (auto probe = value.getDefiningOp<ObserveOp>())
    value = probe.getInput();
  return value;
}

/// Stacks `samples`, ranked tensors of one static type, along dimension 0.
static Value poolSamples(OpBuilder &b, Location loc, ArrayRef<Value> samples) {
  auto type = cast<RankedTensorType>(samples.front().getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] *= static_cast<int64_t>(samples.size());
  Value pooled = tensor::EmptyOp::create(b, loc, shape, type.getElementType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes =
      getAsIndexOpFoldResult(b.getContext(), type.getShape());
  SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
  for (auto [index, sample] : llvm::enumerate(samples)) {
    offsets[0] =
        b.getIndexAttr(static_cast<int64_t>(index) * type.getDimSize(0));
    pooled = tensor::InsertSliceOp::create(b, loc, sample, pooled, offsets,
                                           sizes, strides);
  }
  return pooled;
}

namespace {
struct LatticeObservePass final
    : lattice::impl::LatticeObservePassBase<LatticeObservePass> {
  using Base::Base;

  void runOnOperation() override {
    // Each layer's first matmul and weight.
    llvm::StringMap<std::pair<MatmulOp, Value>> layers;
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
      // One weight used by several matmuls (an unrolled recurrence) is one
      // layer: its probes share names and their samples are pooled.
      auto [it, inserted] =
          layers.try_emplace(name, op, getObserved(op.getRhs()));
      if (!inserted && it->second.second != getObserved(op.getRhs())) {
        op.emitError() << "layer name '" << name
                       << "' is used by two matmuls with different weights; "
                          "probes need unique names";
        it->second.first.emitRemark("the other matmul named '") << name << "'";
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
  // Probes by name, in program order of their first occurrence.
  llvm::MapVector<StringAttr, SmallVector<ObserveOp, 1>> groups;
  for (ObserveOp probe : probes) {
    if (probe->getParentRegion() != &body)
      return probe.emitError("probe '")
             << probe.getName()
             << "' is inside a nested region; only probes in the function "
                "body can be exported";
    SmallVector<ObserveOp, 1> &group = groups[probe.getNameAttr()];
    if (!group.empty() &&
        (probe.getType() != group.front().getType() ||
         probe.getChannelAxis() != group.front().getChannelAxis() ||
         probe.getChannelAxis() == 0)) {
      InFlightDiagnostic diag =
          probe.emitError("probes named '")
          << probe.getName()
          << "' cannot be pooled: they need one type and one channel axis "
             "other than 0";
      diag.attachNote(group.front().getLoc()) << "the first one";
      return diag;
    }
    group.push_back(probe);
  }

  OpBuilder b(ret);
  SmallVector<Type> resultTypes(func.getResultTypes());
  SmallVector<DictionaryAttr> resultAttrs;
  func.getAllResultAttrs(resultAttrs);
  SmallVector<Value> values;
  for (auto &[name, group] : groups) {
    // What a probe observes, seen through the probes before it (the input
    // probe of a layer may observe the output probe of the one before):
    // all of them are erased below.
    llvm::SetVector<Value> inputs;
    for (ObserveOp probe : group) {
      Value observed = probe.getInput();
      while (auto inner = observed.getDefiningOp<ObserveOp>())
        observed = inner.getInput();
      inputs.insert(observed);
    }
    Value value = inputs.size() == 1 ? inputs.front()
                                     : poolSamples(b, group.front().getLoc(),
                                                   inputs.getArrayRef());
    resultTypes.push_back(value.getType());
    resultAttrs.push_back(
        b.getDictionaryAttr(b.getNamedAttr(kResultNameAttr, name)));
    values.push_back(value);
  }
  for (ObserveOp probe : probes) {
    probe.replaceAllUsesWith(probe.getInput());
    probe.erase();
  }
  func.setType(b.getFunctionType(func.getArgumentTypes(), resultTypes));
  func.setAllResultAttrs(resultAttrs);
  ret.getOperandsMutable().append(values);
  return success();
}
