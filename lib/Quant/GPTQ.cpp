//===- GPTQ.cpp - Error-compensating weight quantization ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The algorithm of the GPTQ paper (and of its reference implementation):
// dead input channels zeroed, H dampened, U the upper Cholesky factor of
// H^-1; then for each column i in order and each row, q = Q(w_i), the error
// e = (w_i - q) / U[i][i] and w_j -= e U[i][j] for every j > i. The paper's
// lazy batches exist to use GPU matrix units; here rows are independent
// given U, so the work goes a tile of rows at a time (each row of U read
// once per tile), which gives the same result.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/GPTQ.h"
#include "llvm/Support/Error.h"
#include <algorithm>
#include <cmath>

using namespace mlir::lattice;

/// Lower Cholesky factor of the symmetric positive definite `a` [k, k] in
/// place (the upper triangle is left as it was); false when a pivot is not
/// positive.
static bool choleskyLower(std::vector<double> &a, int64_t k) {
  for (int64_t j = 0; j < k; ++j) {
    double *rowJ = a.data() + j * k;
    double d = rowJ[j];
    for (int64_t p = 0; p < j; ++p)
      d -= rowJ[p] * rowJ[p];
    if (!(d > 0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    rowJ[j] = d;
    for (int64_t i = j + 1; i < k; ++i) {
      double *rowI = a.data() + i * k;
      double s = rowI[j];
      for (int64_t p = 0; p < j; ++p)
        s -= rowI[p] * rowJ[p];
      rowI[j] = s / d;
    }
  }
  return true;
}

/// U upper triangular with U^T U = H^-1, from the lower factor L of H (H =
/// L L^T): H^-1 = L^-T L^-1, and U is the transposed lower factor of the
/// reversed-order problem. Computed as the Cholesky factor of H^-1 formed
/// explicitly, as the reference does.
static bool inverseUpperFactor(const std::vector<double> &l, int64_t k,
                               std::vector<double> &u) {
  // M = L^-1 (lower triangular), by forward substitution per column.
  std::vector<double> m(k * k, 0.0);
  for (int64_t c = 0; c < k; ++c) {
    m[c * k + c] = 1.0 / l[c * k + c];
    for (int64_t i = c + 1; i < k; ++i) {
      double s = 0;
      for (int64_t p = c; p < i; ++p)
        s += l[i * k + p] * m[p * k + c];
      m[i * k + c] = -s / l[i * k + i];
    }
  }
  // Hinv = M^T M.
  std::vector<double> hinv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = i; j < k; ++j) {
      double s = 0;
      for (int64_t p = j; p < k; ++p)
        s += m[p * k + i] * m[p * k + j];
      hinv[i * k + j] = hinv[j * k + i] = s;
    }
  if (!choleskyLower(hinv, k))
    return false;
  u.assign(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j)
      u[j * k + i] = hinv[i * k + j];
  return true;
}

/// tr(D H D^T) for the rows of D = a - b [n, k].
static double outputError(const std::vector<double> &h, int64_t k,
                          llvm::ArrayRef<float> a, const std::vector<float> &b,
                          int64_t n) {
  double total = 0;
  std::vector<double> d(k);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t j = 0; j < k; ++j)
      d[j] = double(a[r * k + j]) - double(b[r * k + j]);
    for (int64_t i = 0; i < k; ++i) {
      if (d[i] == 0)
        continue;
      double s = 0;
      for (int64_t j = 0; j < k; ++j)
        s += h[i * k + j] * d[j];
      total += d[i] * s;
    }
  }
  return total;
}

llvm::Expected<GPTQResult>
mlir::lattice::quantizeGPTQ(const QuantScheme &scheme, llvm::ArrayRef<float> w,
                            int64_t n, int64_t k, llvm::ArrayRef<float> xtx,
                            const GPTQOptions &options,
                            ChooseBlockParams choose) {
  if (int64_t(w.size()) != n * k || int64_t(xtx.size()) != k * k)
    return llvm::createStringError("GPTQ: the weight is not [%lld, %lld] or "
                                   "X^T X not [%lld, %lld]",
                                   (long long)n, (long long)k, (long long)k,
                                   (long long)k);
  if (scheme.storageKind == StorageKind::Ternary ||
      scheme.storageKind == StorageKind::Binary)
    return llvm::createStringError(
        "GPTQ quantizes integer schemes (not binary or ternary)");
  if (!(options.damp > 0) || !std::isfinite(options.damp))
    return llvm::createStringError("GPTQ: dampening must be positive, got %g",
                                   options.damp);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < i; ++j) {
      double a = xtx[i * k + j], b = xtx[j * k + i];
      if (!std::isfinite(a) ||
          std::fabs(a - b) > 1e-5 * std::max(std::fabs(a), std::fabs(b)))
        return llvm::createStringError(
            "GPTQ: X^T X is not symmetric: [%lld, %lld] is %g, [%lld, %lld] "
            "is %g",
            (long long)i, (long long)j, a, (long long)j, (long long)i, b);
    }
  GPTQResult result;
  std::vector<double> h(xtx.begin(), xtx.end());
  std::vector<float> weight(w.begin(), w.end());
  // Dead channels: no calibration row reached them, so their weights do
  // not matter to the output; zero, and H's diagonal made 1.
  for (int64_t i = 0; i < k; ++i)
    if (h[i * k + i] == 0) {
      h[i * k + i] = 1;
      ++result.deadChannels;
      for (int64_t r = 0; r < n; ++r)
        weight[r * k + i] = 0;
    }
  double meanDiagonal = 0;
  for (int64_t i = 0; i < k; ++i)
    meanDiagonal += h[i * k + i];
  meanDiagonal /= double(k);
  std::vector<double> u;
  double damp = options.damp;
  bool factored = false;
  for (int attempt = 0; attempt <= 8 && !factored; ++attempt, damp *= 10) {
    std::vector<double> l = h;
    for (int64_t i = 0; i < k; ++i)
      l[i * k + i] += damp * meanDiagonal;
    factored = choleskyLower(l, k) && inverseUpperFactor(l, k, u);
    if (factored)
      result.damp = damp;
  }
  if (!factored)
    return llvm::createStringError(
        "GPTQ: X^T X is not positive definite even with dampening %g",
        damp / 10);

  int64_t blockSize = scheme.granularity == Granularity::PerTensor ? n * k
                      : scheme.granularity == Granularity::PerChannel
                          ? k
                          : scheme.groupSize;
  int64_t groupsPerRow =
      scheme.granularity == Granularity::PerGroup ? k / scheme.groupSize : 1;
  int64_t qmin = scheme.getStorageMin(), qmax = scheme.getStorageMax();
  result.codes.assign(n * k, 0);
  // Per-tensor and per-channel parameters from the weight as it is.
  std::vector<QuantParams> params;
  if (scheme.granularity != Granularity::PerGroup) {
    for (int64_t start = 0; start < n * k; start += blockSize) {
      llvm::Expected<QuantParams> p =
          choose(llvm::ArrayRef<float>(weight).slice(start, blockSize));
      if (!p)
        return p.takeError();
      params.push_back(*p);
    }
  } else {
    params.resize(n * groupsPerRow);
  }
  // Rounding to nearest, for the report.
  std::vector<float> dequantized(n * k);

  constexpr int64_t kTile = 16;
  std::vector<double> rows(kTile * k), errors(kTile);
  for (int64_t r0 = 0; r0 < n; r0 += kTile) {
    int64_t tile = std::min(kTile, n - r0);
    for (int64_t t = 0; t < tile; ++t)
      for (int64_t j = 0; j < k; ++j)
        rows[t * k + j] = weight[(r0 + t) * k + j];
    for (int64_t i = 0; i < k; ++i) {
      const double *uRow = u.data() + i * k;
      for (int64_t t = 0; t < tile; ++t) {
        int64_t r = r0 + t;
        double *row = rows.data() + t * k;
        QuantParams *p;
        if (scheme.granularity == Granularity::PerGroup) {
          int64_t g = i / scheme.groupSize;
          p = &params[r * groupsPerRow + g];
          if (i % scheme.groupSize == 0) {
            std::vector<float> group(row + i, row + i + scheme.groupSize);
            llvm::Expected<QuantParams> chosen = choose(group);
            if (!chosen)
              return chosen.takeError();
            *p = *chosen;
          }
        } else {
          p = &params[scheme.granularity == Granularity::PerTensor ? 0 : r];
        }
        int64_t code = quantizeInRange(float(row[i]), float(p->scale),
                                       p->zeroPoint, qmin, qmax);
        result.codes[r * k + i] = code;
        float q = dequantizeValue(code, float(p->scale), p->zeroPoint);
        dequantized[r * k + i] = q;
        errors[t] = (row[i] - double(q)) / uRow[i];
      }
      for (int64_t t = 0; t < tile; ++t) {
        double e = errors[t];
        if (e == 0)
          continue;
        double *row = rows.data() + t * k;
        for (int64_t j = i + 1; j < k; ++j)
          row[j] -= e * uRow[j];
      }
    }
  }
  for (const QuantParams &p : params) {
    result.scales.push_back(p.scale);
    if (!scheme.symmetric)
      result.zeroPoints.push_back(p.zeroPoint);
    result.degenerateBlocks += p.degenerate;
  }
  // The output error of plain rounding with the same parameters' choice,
  // against that of GPTQ (both on the undampened H).
  std::vector<double> hUndamped(xtx.begin(), xtx.end());
  std::vector<float> rounded(n * k);
  for (int64_t start = 0; start < n * k; start += blockSize) {
    llvm::ArrayRef<float> block = w.slice(start, blockSize);
    llvm::Expected<QuantParams> p = choose(block);
    if (!p)
      return p.takeError();
    for (int64_t j = 0; j < blockSize; ++j)
      rounded[start + j] = dequantizeValue(
          quantizeInRange(block[j], float(p->scale), p->zeroPoint, qmin, qmax),
          float(p->scale), p->zeroPoint);
  }
  result.roundingError = outputError(hUndamped, k, w, rounded, n);
  result.compensatedError = outputError(hUndamped, k, w, dequantized, n);
  return result;
}
