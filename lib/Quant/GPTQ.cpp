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
// e = (w_i - q) / U[i][i] and w_j -= e U[i][j] for every j > i. The
// columns go in the paper's lazy batches (blocks of `blockSize`): a column
// updates the rest of its block at once, the rest of the row when its
// block is done (one pass over those columns per block, not per column).
// Rows are independent given U, so the work goes a tile of rows at a time
// (each row of U read once per tile), which gives the same result.
//
//===----------------------------------------------------------------------===//

#include "lattice/Quant/GPTQ.h"
#include "llvm/Support/Error.h"
#include <algorithm>
#include <cmath>

using namespace mlir::lattice;

/// The widest vectors the CPU has, for the loops of O(k^3) and O(n k^2)
/// work below.
#define GPTQ_VECTORIZED                                                        \
  __attribute__((target_clones("avx512f", "avx2", "default")))

/// y[0, n) += a * x[0, n): the loops below are written as such updates,
/// which vectorize (a dot product's sum would not be reordered).
static inline __attribute__((always_inline)) void
axpy(double *y, const double *x, double a, int64_t n) {
  for (int64_t j = 0; j < n; ++j)
    y[j] += a * x[j];
}

/// Lower Cholesky factor of the symmetric positive definite `a` [k, k] in
/// place, by outer products on the lower triangle (the upper triangle is
/// left as it was; `column` holds k values); false when a pivot is not
/// positive. (The vectorized functions take plain pointers: clones of
/// library templates would not link.)
GPTQ_VECTORIZED static bool choleskyLower(double *a, int64_t k,
                                          double *column) {
  for (int64_t j = 0; j < k; ++j) {
    double d = a[j * k + j];
    if (!(d > 0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    a[j * k + j] = d;
    for (int64_t i = j + 1; i < k; ++i) {
      a[i * k + j] /= d;
      column[i] = a[i * k + j];
    }
    // The trailing lower triangle minus the column's outer product.
    for (int64_t i = j + 1; i < k; ++i)
      axpy(a + i * k + j + 1, column + j + 1, -column[i], i - j);
  }
  return true;
}

/// L^-1 for the lower triangular `l` [k, k], in place, row by row: X[i] =
/// (e_i - sum_{p<i} L[i][p] X[p]) / L[i][i], row p of X nonzero in [0, p]
/// and stored over row p of L (`row` holds k values: L's row i while X's
/// is computed over it). The upper triangle is zeroed.
GPTQ_VECTORIZED static void invertLowerInPlace(double *l, int64_t k,
                                               double *row) {
  for (int64_t i = 0; i < k; ++i) {
    double *xi = l + i * k;
    for (int64_t c = 0; c <= i; ++c)
      row[c] = xi[c];
    for (int64_t c = 0; c < k; ++c)
      xi[c] = 0.0;
    xi[i] = 1.0;
    for (int64_t p = 0; p < i; ++p)
      axpy(xi, l + p * k, -row[p], p + 1);
    double inverse = 1.0 / row[i];
    for (int64_t c = 0; c <= i; ++c)
      xi[c] *= inverse;
  }
}

/// U upper triangular with U^T U = H^-1, for H + `shift` I: with P the
/// reversal of the indices and P H P = L L^T, H^-1 = P L^-T L^-1 P, so
/// U = P L^-1 P (L^-1 is lower triangular; reversed both ways it is upper).
/// P A P of a row-major [k, k] A is its elements in reverse order, so one
/// buffer does: P (H + shift I) P, factored, inverted and reversed in place.
/// False when H + shift I is not positive definite.
static bool upperFactorOfInverse(const std::vector<double> &h, int64_t k,
                                 double shift, std::vector<double> &u) {
  u.assign(h.rbegin(), h.rend());
  for (int64_t i = 0; i < k; ++i)
    u[i * k + i] += shift;
  std::vector<double> row(k);
  if (!choleskyLower(u.data(), k, row.data()))
    return false;
  invertLowerInPlace(u.data(), k, row.data());
  std::reverse(u.begin(), u.end());
  return true;
}

/// Solves L L^T y = z in place for each of the `n` rows z of `rows` [n, k],
/// L lower triangular [k, k] and `lt` its transpose: forward, then backward
/// substitution, both written as vector updates over the columns not yet
/// solved.
GPTQ_VECTORIZED static void solveCholesky(const double *l, const double *lt,
                                          int64_t k, double *rows, int64_t n) {
  for (int64_t r = 0; r < n; ++r) {
    double *y = rows + r * k;
    // L u = z: u_j = z_j / L[j][j], then z_i -= L[i][j] u_j for i > j
    // (column j of L, row j of L^T).
    for (int64_t j = 0; j < k; ++j) {
      double u = y[j] / l[j * k + j];
      y[j] = u;
      axpy(y + j + 1, lt + j * k + j + 1, -u, k - j - 1);
    }
    // L^T y = u: y_j = u_j / L[j][j] from the last, then u_i -= L[j][i]
    // y_j for i < j (row j of L).
    for (int64_t j = k - 1; j >= 0; --j) {
      double v = y[j] / l[j * k + j];
      y[j] = v;
      axpy(y, l + j * k, -v, j);
    }
  }
}

llvm::Expected<std::vector<float>> mlir::lattice::computeQEPTarget(
    llvm::ArrayRef<float> w, int64_t n, int64_t k, llvm::ArrayRef<float> xtx,
    llvm::ArrayRef<float> cross, double alpha, double &damp) {
  if (int64_t(w.size()) != n * k || int64_t(xtx.size()) != k * k ||
      int64_t(cross.size()) != k * k)
    return llvm::createStringError("QEP: the statistics are not [k, k]");
  for (int64_t e = 0; e < k * k; ++e)
    if (!std::isfinite(xtx[e]) || !std::isfinite(cross[e]))
      return llvm::createStringError("QEP: the statistics are not finite");
  std::vector<float> target(w.begin(), w.end());
  if (alpha == 0)
    return target;
  double meanDiagonal = 0;
  for (int64_t i = 0; i < k; ++i)
    meanDiagonal += xtx[i * k + i];
  meanDiagonal = std::max(meanDiagonal / double(k), 1e-30);
  std::vector<double> l(k * k), column(k);
  bool factored = false;
  for (int attempt = 0; attempt <= 8 && !factored; ++attempt) {
    for (int64_t e = 0; e < k * k; ++e)
      l[e] = xtx[e];
    for (int64_t i = 0; i < k; ++i)
      l[i * k + i] += damp * meanDiagonal;
    factored = choleskyLower(l.data(), k, column.data());
    if (!factored)
      damp *= 10;
  }
  if (!factored)
    return llvm::createStringError(
        "QEP: X^ ^T X^ is not positive definite even with dampening %g",
        damp / 10);
  std::vector<double> lt(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j <= i; ++j)
      lt[j * k + i] = l[i * k + j];
  // Z = W (C - G), a tile of rows at a time (each row of C - G read once
  // per tile), then Z G_d^-1.
  std::vector<double> difference(k * k);
  for (int64_t e = 0; e < k * k; ++e)
    difference[e] = double(cross[e]) - double(xtx[e]);
  constexpr int64_t kTile = 16;
  std::vector<double> z(kTile * k);
  for (int64_t r0 = 0; r0 < n; r0 += kTile) {
    int64_t tile = std::min(kTile, n - r0);
    std::fill(z.begin(), z.end(), 0.0);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t t = 0; t < tile; ++t) {
        double x = w[(r0 + t) * k + i];
        if (x != 0)
          axpy(z.data() + t * k, difference.data() + i * k, x, k);
      }
    solveCholesky(l.data(), lt.data(), k, z.data(), tile);
    for (int64_t t = 0; t < tile; ++t)
      for (int64_t j = 0; j < k; ++j)
        target[(r0 + t) * k + j] =
            float(double(w[(r0 + t) * k + j]) + alpha * z[t * k + j]);
  }
  return target;
}

/// quadraticForms' tiles: rows of each matrix, columns of H.
constexpr int64_t kFormRows = 8, kFormColumns = 256;

/// For each of the `count` row-major [n, k] matrices `m`, the sum over its
/// rows r of m_r^T H m_r (H [k, k]) into `totals`: H m_r accumulated row
/// of H by row of H, for a tile of rows of every matrix at a time and a
/// block of columns (each row of H read once per tile, the partial products
/// in cache: `products` holds count * kFormRows * kFormColumns values).
GPTQ_VECTORIZED static void quadraticForms(const float *xtx, int64_t k,
                                           int64_t n, const double *const *m,
                                           int64_t count, double *totals,
                                           double *products) {
  constexpr int64_t kTile = kFormRows, kColumns = kFormColumns;
  for (int64_t r0 = 0; r0 < n; r0 += kTile) {
    int64_t tile = n - r0 < kTile ? n - r0 : kTile;
    for (int64_t j0 = 0; j0 < k; j0 += kColumns) {
      int64_t width = k - j0 < kColumns ? k - j0 : kColumns;
      for (int64_t e = 0; e < count * kTile * kColumns; ++e)
        products[e] = 0;
      for (int64_t i = 0; i < k; ++i) {
        const float *h = xtx + i * k + j0;
        for (int64_t v = 0; v < count; ++v)
          for (int64_t t = 0; t < tile; ++t) {
            double x = m[v][(r0 + t) * k + i];
            if (x == 0)
              continue;
            double *p = products + (v * kTile + t) * kColumns;
            for (int64_t j = 0; j < width; ++j)
              p[j] += x * double(h[j]);
          }
      }
      for (int64_t v = 0; v < count; ++v)
        for (int64_t t = 0; t < tile; ++t) {
          const double *p = products + (v * kTile + t) * kColumns;
          const double *row = m[v] + (r0 + t) * k + j0;
          for (int64_t j = 0; j < width; ++j)
            totals[v] += row[j] * p[j];
        }
    }
  }
}

std::vector<double>
mlir::lattice::computeOutputErrors(llvm::ArrayRef<float> xtx, int64_t n,
                                   int64_t k,
                                   llvm::ArrayRef<const double *> matrices) {
  std::vector<double> totals(matrices.size(), 0.0);
  std::vector<double> products(matrices.size() * kFormRows * kFormColumns);
  quadraticForms(xtx.data(), k, n, matrices.data(), matrices.size(),
                 totals.data(), products.data());
  return totals;
}

/// The compensation of column `i` in a tile of rows, within its block: row
/// t of `rows` [tile, k] minus errors[t] times row i of U, in columns
/// (i, end).
GPTQ_VECTORIZED static void compensate(double *rows, const double *errors,
                                       const double *uRow, int64_t tile,
                                       int64_t k, int64_t i, int64_t end) {
  for (int64_t t = 0; t < tile; ++t) {
    double e = errors[t];
    if (e == 0)
      continue;
    double *row = rows + t * k;
    for (int64_t j = i + 1; j < end; ++j)
      row[j] -= e * uRow[j];
  }
}

/// The compensation of the block of columns [begin, end) in the columns
/// after it: row t of `rows` minus errors[i - begin][t] (`tiles` errors a
/// column) times row i of U for each i of the block, in columns [end, k), a
/// chunk of columns at a time (it stays in L1 while the block's rows of U
/// go by).
GPTQ_VECTORIZED static void compensateRest(double *rows, const double *errors,
                                           const double *u, int64_t tile,
                                           int64_t tiles, int64_t k,
                                           int64_t begin, int64_t end) {
  constexpr int64_t kChunk = 512;
  for (int64_t t = 0; t < tile; ++t) {
    double *row = rows + t * k;
    for (int64_t j0 = end; j0 < k; j0 += kChunk) {
      int64_t j1 = k - j0 < kChunk ? k : j0 + kChunk;
      for (int64_t i = begin; i < end; ++i) {
        double e = errors[(i - begin) * tiles + t];
        if (e == 0)
          continue;
        const double *uRow = u + i * k;
        for (int64_t j = j0; j < j1; ++j)
          row[j] -= e * uRow[j];
      }
    }
  }
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
  if (options.blockSize <= 0)
    return llvm::createStringError("GPTQ: the block size must be positive, "
                                   "got %lld",
                                   (long long)options.blockSize);
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
  // The order of the columns: storage order, or by decreasing diagonal
  // (ties in storage order). H and the weight's columns
  // are permuted; codes go back to storage order.
  std::vector<int64_t> order(k);
  for (int64_t i = 0; i < k; ++i)
    order[i] = i;
  if (options.actOrder) {
    std::vector<double> diagonal(k);
    for (int64_t i = 0; i < k; ++i)
      diagonal[i] = h[i * k + i];
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return diagonal[a] > diagonal[b] || (diagonal[a] == diagonal[b] && a < b);
    });
    std::vector<double> permuted(k * k);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        permuted[i * k + j] = h[order[i] * k + order[j]];
    h = std::move(permuted);
  }
  double meanDiagonal = 0;
  for (int64_t i = 0; i < k; ++i)
    meanDiagonal += h[i * k + i];
  meanDiagonal /= double(k);
  std::vector<double> u;
  double damp = options.damp;
  bool factored = false;
  for (int attempt = 0; attempt <= 8 && !factored; ++attempt, damp *= 10) {
    factored = upperFactorOfInverse(h, k, damp * meanDiagonal, u);
    if (factored)
      result.damp = damp;
  }
  if (!factored)
    return llvm::createStringError(
        "GPTQ: X^T X is not positive definite even with dampening %g",
        damp / 10);
  // H is in U now; each [k, k] of doubles is 32 MiB at k = 2048.
  std::vector<double>().swap(h);

  int64_t blockSize = scheme.granularity == Granularity::PerTensor ? n * k
                      : scheme.granularity == Granularity::PerChannel
                          ? k
                          : scheme.groupSize;
  // Groups of a row; a group size that does not divide K leaves a shorter
  // last group.
  bool grouped = scheme.granularity == Granularity::PerGroup;
  int64_t groupsPerRow = grouped ? llvm::divideCeil(k, scheme.groupSize) : 1;
  auto blockLength = [&](int64_t start) {
    return getBlockLength(scheme, n, k, start);
  };
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
    // Static groups: every group's parameters from the weight as it is.
    if (options.actOrder)
      for (int64_t r = 0; r < n; ++r)
        for (int64_t g = 0; g < groupsPerRow; ++g) {
          int64_t start = r * k + g * scheme.groupSize;
          llvm::Expected<QuantParams> p = choose(
              llvm::ArrayRef<float>(weight).slice(start, blockLength(start)));
          if (!p)
            return p.takeError();
          params[r * groupsPerRow + g] = *p;
        }
  }
  // The codes' values, for the report.
  std::vector<float> dequantized(n * k);

  // Lazy batches of whole groups (see GPTQOptions::blockSize).
  int64_t columns = std::min(options.blockSize, k);
  if (scheme.granularity == Granularity::PerGroup && !options.actOrder)
    columns = std::min(k, (columns + scheme.groupSize - 1) / scheme.groupSize *
                              scheme.groupSize);
  constexpr int64_t kTile = 16;
  std::vector<double> rows(kTile * k), errors(kTile * columns);
  for (int64_t r0 = 0; r0 < n; r0 += kTile) {
    int64_t tile = std::min(kTile, n - r0);
    for (int64_t t = 0; t < tile; ++t)
      for (int64_t j = 0; j < k; ++j)
        rows[t * k + j] = weight[(r0 + t) * k + order[j]];
    for (int64_t begin = 0; begin < k; begin += columns) {
      int64_t end = std::min(k, begin + columns);
      for (int64_t i = begin; i < end; ++i) {
        const double *uRow = u.data() + i * k;
        // Column i of the permuted weight is column c in storage.
        int64_t c = order[i];
        double *columnErrors = errors.data() + (i - begin) * kTile;
        for (int64_t t = 0; t < tile; ++t) {
          int64_t r = r0 + t;
          double *row = rows.data() + t * k;
          QuantParams *p;
          if (scheme.granularity == Granularity::PerGroup) {
            int64_t g = c / scheme.groupSize;
            p = &params[r * groupsPerRow + g];
            if (!options.actOrder && i % scheme.groupSize == 0) {
              std::vector<float> group(row + i, row + i + blockLength(i));
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
          result.codes[r * k + c] = code;
          float q = dequantizeValue(code, float(p->scale), p->zeroPoint);
          dequantized[r * k + c] = q;
          columnErrors[t] = (row[i] - double(q)) / uRow[i];
        }
        compensate(rows.data(), columnErrors, uRow, tile, k, i, end);
      }
      compensateRest(rows.data(), errors.data(), u.data(), tile, kTile, k,
                     begin, end);
    }
  }
  std::vector<double>().swap(u);
  for (const QuantParams &p : params) {
    result.scales.push_back(p.scale);
    if (!scheme.symmetric)
      result.zeroPoints.push_back(p.zeroPoint);
    result.degenerateBlocks += p.degenerate;
  }
  // The output errors of rounding to nearest (the same choice of
  // parameters) and of GPTQ, and the output's energy, on the undampened H.
  std::vector<double> original(w.begin(), w.end()), rounded(n * k),
      compensated(n * k);
  for (int64_t start = 0, length; start < n * k; start += length) {
    length = blockLength(start);
    llvm::ArrayRef<float> block = w.slice(start, length);
    llvm::Expected<QuantParams> p = choose(block);
    if (!p)
      return p.takeError();
    for (int64_t j = 0; j < length; ++j)
      rounded[start + j] =
          original[start + j] -
          double(dequantizeValue(quantizeInRange(block[j], float(p->scale),
                                                 p->zeroPoint, qmin, qmax),
                                 float(p->scale), p->zeroPoint));
  }
  for (int64_t e = 0; e < n * k; ++e)
    compensated[e] = original[e] - double(dequantized[e]);
  std::vector<double> forms = computeOutputErrors(
      xtx, n, k, {original.data(), rounded.data(), compensated.data()});
  result.outputEnergy = forms[0];
  result.roundingError = forms[1];
  result.compensatedError = forms[2];
  return result;
}
