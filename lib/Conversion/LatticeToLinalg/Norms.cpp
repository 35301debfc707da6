//===- Norms.cpp - Lower the norms and channel_scale ----------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// rms_norm, layer_norm and normalize become f32 row reductions over the
// last dimension, the per-row values of the documented formula (a mean, a
// root) computed once per row, and a row-wise map with the rest of it;
// channel_scale becomes an elementwise multiply.
//
//===----------------------------------------------------------------------===//

#include "LoweringUtils.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace mlir::lattice;
using namespace mlir::lattice::detail;

//===----------------------------------------------------------------------===//
// Normalisation over the last dimension
//===----------------------------------------------------------------------===//

/// Body of a row-wise generic: the element, the values of the `rowInputs`
/// (indexed by the leading dimensions) and of the `channelInputs` (1-D,
/// indexed by the last dimension).
using RowwiseBody =
    function_ref<Value(OpBuilder &, Location, Value, ValueRange, ValueRange)>;

/// Maps of a row-wise generic over a tensor of rank `rank`: the tensor, then
/// `numRow` row inputs, then `numChannel` channel inputs, then the output
/// (identity, or the leading dimensions for a row reduction).
static SmallVector<AffineMap> getRowwiseMaps(OpBuilder &b, int64_t rank,
                                             unsigned numRow,
                                             unsigned numChannel,
                                             bool reduceRows) {
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  // Not getMajorSubMap: it returns a null map for rank 1, where the row
  // tensor is 0-d.
  AffineMap rows = AffineMap::get(rank, 0, identity.getResults().drop_back(),
                                  b.getContext());
  AffineMap channel = identity.getMinorSubMap(1);
  SmallVector<AffineMap> maps = {identity};
  maps.append(numRow, rows);
  maps.append(numChannel, channel);
  maps.push_back(reduceRows ? rows : identity);
  return maps;
}

/// Sums `term(x, rows)` in f32 over the last dimension of `input`; returns a
/// tensor over the leading dimensions.
static Value buildRowSum(OpBuilder &b, Location loc, Value input,
                         ValueRange rowInputs, RowwiseBody term) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  sizes.pop_back();
  Value init = buildZeroTensor(b, loc, sizes, b.getF32Type());
  SmallVector<Value> inputs = {input};
  inputs.append(rowInputs.begin(), rowInputs.end());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  iterators.back() = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
             getRowwiseMaps(b, rank, rowInputs.size(), 0, true), iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value value =
                   term(nb, nl, args[0], args.slice(1, rowInputs.size()), {});
               linalg::YieldOp::create(
                   nb, nl,
                   arith::AddFOp::create(nb, nl, args.back(), value)
                       .getResult());
             })
      .getResult(0);
}

/// Maps every element of `input` to `body(x, rows, channels)`.
static Value buildRowwiseMap(OpBuilder &b, Location loc, Value input,
                             ValueRange rowInputs, ValueRange channelInputs,
                             RowwiseBody body) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t rank = type.getRank();
  Value init = tensor::EmptyOp::create(
      b, loc, tensor::getMixedSizes(b, loc, input), type.getElementType());
  SmallVector<Value> inputs = {input};
  inputs.append(rowInputs.begin(), rowInputs.end());
  inputs.append(channelInputs.begin(), channelInputs.end());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, inputs, ValueRange{init},
             getRowwiseMaps(b, rank, rowInputs.size(), channelInputs.size(),
                            false),
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value value =
                   body(nb, nl, args[0], args.slice(1, rowInputs.size()),
                        args.slice(1 + rowInputs.size(), channelInputs.size()));
               linalg::YieldOp::create(nb, nl, value);
             })
      .getResult(0);
}

/// Maps the row tensors `rows` (over the leading dimensions of `input`) to
/// one f32 row tensor per value that `body(rows)` returns: values computed
/// once per row (a mean, a root), not once per element by the row-wise map
/// that reads them.
static SmallVector<Value> buildRowValues(
    OpBuilder &b, Location loc, Value input, ValueRange rows,
    unsigned numResults,
    function_ref<SmallVector<Value>(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  sizes.pop_back();
  int64_t rank = sizes.size();
  SmallVector<Value> inits;
  for (unsigned i = 0; i < numResults; ++i)
    inits.push_back(tensor::EmptyOp::create(b, loc, sizes, b.getF32Type()));
  SmallVector<AffineMap> maps(rows.size() + numResults,
                              b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, ValueRange(inits).getTypes(), rows, inits, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl,
                                body(nb, nl, args.take_front(rows.size())));
      });
  return SmallVector<Value>(generic.getResults());
}

/// The size of the last dimension of `input` as an f32 value.
static Value getRowLength(OpBuilder &b, Location loc, Value input) {
  int64_t last = cast<RankedTensorType>(input.getType()).getRank() - 1;
  OpFoldResult length = tensor::getMixedSize(b, loc, input, last);
  if (auto attr = dyn_cast<Attribute>(length))
    return f32Constant(b, loc, double(cast<IntegerAttr>(attr).getInt()));
  Value index = cast<Value>(length);
  Value wide = arith::IndexCastOp::create(b, loc, b.getI64Type(), index);
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), wide);
}

/// Sums f32(x)^2 over the last dimension of `input`.
static Value buildRowSumOfSquares(OpBuilder &b, Location loc, Value input) {
  return buildRowSum(
      b, loc, input, {},
      [](OpBuilder &nb, Location nl, Value x, ValueRange, ValueRange) {
        Value value = toF32(nb, nl, x);
        return arith::MulFOp::create(nb, nl, value, value).getResult();
      });
}
namespace {
/// channel_scale -> x * s[i[axis]] in the element type.
struct ChannelScaleOpLowering final : OpConversionPattern<ChannelScaleOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ChannelScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap channel =
        AffineMap::get(rank, 0, rewriter.getAffineDimExpr(op.getAxis()));
    Value init = tensor::EmptyOp::create(
        rewriter, loc, tensor::getMixedSizes(rewriter, loc, adaptor.getInput()),
        type.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type},
        ValueRange{adaptor.getInput(), adaptor.getScale()}, ValueRange{init},
        ArrayRef<AffineMap>{identity, channel, identity}, iterators,
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          linalg::YieldOp::create(
              nb, nl,
              arith::MulFOp::create(nb, nl, args[0], args[1]).getResult());
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

/// What every normalisation lowering starts from.
struct NormContext {
  Location loc;
  /// The converted input, its element type, epsilon as an f32 constant and
  /// the length of a row (N) as an f32 value.
  Value input;
  Type elementType;
  Value epsilon, length;
};

/// Shared shell of the normalisation lowerings: builds the NormContext,
/// calls `build` and replaces the op with its result.
template <typename OpTy>
struct NormLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpConversionPattern<OpTy>::OpAdaptor;

  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const final {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    NormContext context{
        loc, input, op.getType().getElementType(),
        f32Constant(rewriter, loc, op.getEpsilon().convertToDouble()),
        getRowLength(rewriter, loc, input)};
    rewriter.replaceOp(op, build(rewriter, adaptor, context));
    return success();
  }

  /// Builds the normalised tensor.
  virtual Value build(OpBuilder &b, OpAdaptor adaptor,
                      const NormContext &context) const = 0;
};

/// rms_norm -> ms = sum(x^2) / N; y = x / sqrt(ms + eps) * w, in f32.
struct RmsNormOpLowering final : NormLowering<RmsNormOp> {
  using NormLowering::NormLowering;

  Value build(OpBuilder &b, OpAdaptor adaptor,
              const NormContext &c) const override {
    Value sums = buildRowSumOfSquares(b, c.loc, c.input);
    Value roots = buildRowValues(
        b, c.loc, c.input, sums, 1,
        [&](OpBuilder &nb, Location nl, ValueRange rows) {
          Value meanSquare = arith::DivFOp::create(nb, nl, rows[0], c.length);
          return SmallVector<Value>{math::SqrtOp::create(
              nb, nl, arith::AddFOp::create(nb, nl, meanSquare, c.epsilon))};
        })[0];
    return buildRowwiseMap(
        b, c.loc, c.input, ValueRange{roots}, ValueRange{adaptor.getWeight()},
        [&](OpBuilder &nb, Location nl, Value x, ValueRange rows,
            ValueRange channels) {
          Value normalized =
              arith::DivFOp::create(nb, nl, toF32(nb, nl, x), rows[0]);
          Value scaled = arith::MulFOp::create(nb, nl, normalized,
                                               toF32(nb, nl, channels[0]));
          return fromF32(nb, nl, scaled, c.elementType);
        });
  }
};

/// layer_norm -> mu = sum(x) / N, var = sum((x - mu)^2) / N,
/// y = (x - mu) / sqrt(var + eps) * w + b, in f32.
struct LayerNormOpLowering final : NormLowering<LayerNormOp> {
  using NormLowering::NormLowering;

  Value build(OpBuilder &b, OpAdaptor adaptor,
              const NormContext &c) const override {
    // mean(...) as sum / N, computed inside the consumer.
    auto mean = [&](OpBuilder &nb, Location nl, Value sum) {
      return arith::DivFOp::create(nb, nl, sum, c.length).getResult();
    };
    Value sums = buildRowSum(b, c.loc, c.input, {},
                             [](OpBuilder &nb, Location nl, Value x, ValueRange,
                                ValueRange) { return toF32(nb, nl, x); });
    Value squares = buildRowSum(
        b, c.loc, c.input, ValueRange{sums},
        [&](OpBuilder &nb, Location nl, Value x, ValueRange rows, ValueRange) {
          Value centered = arith::SubFOp::create(nb, nl, toF32(nb, nl, x),
                                                 mean(nb, nl, rows[0]));
          return arith::MulFOp::create(nb, nl, centered, centered).getResult();
        });
    // The mean and sqrt(var + eps) of each row, once.
    SmallVector<Value> moments = buildRowValues(
        b, c.loc, c.input, ValueRange{sums, squares}, 2,
        [&](OpBuilder &nb, Location nl, ValueRange rows) {
          Value root = math::SqrtOp::create(
              nb, nl,
              arith::AddFOp::create(nb, nl, mean(nb, nl, rows[1]), c.epsilon));
          return SmallVector<Value>{mean(nb, nl, rows[0]), root};
        });
    SmallVector<Value> channels = {adaptor.getWeight()};
    if (adaptor.getBias())
      channels.push_back(adaptor.getBias());
    return buildRowwiseMap(
        b, c.loc, c.input, moments, channels,
        [&](OpBuilder &nb, Location nl, Value x, ValueRange rows,
            ValueRange vectors) {
          Value centered =
              arith::SubFOp::create(nb, nl, toF32(nb, nl, x), rows[0]);
          Value value = arith::DivFOp::create(nb, nl, centered, rows[1]);
          value =
              arith::MulFOp::create(nb, nl, value, toF32(nb, nl, vectors[0]));
          if (vectors.size() > 1)
            value =
                arith::AddFOp::create(nb, nl, value, toF32(nb, nl, vectors[1]));
          return fromF32(nb, nl, value, c.elementType);
        });
  }
};

/// normalize -> y = x / max(sqrt(sum(x^2)), eps), in f32.
struct NormalizeOpLowering final : NormLowering<NormalizeOp> {
  using NormLowering::NormLowering;

  Value build(OpBuilder &b, OpAdaptor adaptor,
              const NormContext &c) const override {
    Value sums = buildRowSumOfSquares(b, c.loc, c.input);
    Value divisors =
        buildRowValues(b, c.loc, c.input, sums, 1,
                       [&](OpBuilder &nb, Location nl, ValueRange rows) {
                         Value norm = math::SqrtOp::create(nb, nl, rows[0]);
                         return SmallVector<Value>{arith::MaximumFOp::create(
                             nb, nl, norm, c.epsilon)};
                       })[0];
    return buildRowwiseMap(
        b, c.loc, c.input, ValueRange{divisors}, {},
        [&](OpBuilder &nb, Location nl, Value x, ValueRange rows, ValueRange) {
          Value value =
              arith::DivFOp::create(nb, nl, toF32(nb, nl, x), rows[0]);
          return fromF32(nb, nl, value, c.elementType);
        });
  }
};
} // namespace

void mlir::lattice::detail::populateNormLoweringPatterns(
    const TypeConverter &typeConverter, RewritePatternSet &patterns) {
  patterns.add<ChannelScaleOpLowering, LayerNormOpLowering, NormalizeOpLowering,
               RmsNormOpLowering>(typeConverter, patterns.getContext());
}
