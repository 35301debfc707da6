//===- CopyTest.cpp - The runtime's copy between strided buffers ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// memrefCopy, what memref.copy of views that are not contiguous lowers to,
// against an element-by-element copy: into and out of a padded buffer's
// interior, an innermost dimension that is strided, rank 0 and empty views,
// and copies large enough to go to the pool's threads, which must copy
// every row once.
//
//===----------------------------------------------------------------------===//

#include "lattice_threads.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <numeric>
#include <vector>

extern "C" {
// The ABI of MLIR's C runner utilities (lattice_runtime.c).
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
void memrefCopy(int64_t elementSize, UnrankedMemRef *source,
                UnrankedMemRef *target);
}

namespace {
/// A strided view of `data` with its descriptor, as the lowering passes it.
struct View {
  View(float *data, int64_t offset, std::vector<int64_t> sizes,
       std::vector<int64_t> strides)
      : sizes(std::move(sizes)), strides(std::move(strides)) {
    descriptor = {reinterpret_cast<int64_t>(data),
                  reinterpret_cast<int64_t>(data), offset};
    descriptor.insert(descriptor.end(), this->sizes.begin(), this->sizes.end());
    descriptor.insert(descriptor.end(), this->strides.begin(),
                      this->strides.end());
    memref = {int64_t(this->sizes.size()), descriptor.data()};
  }

  /// The offset of element `index` (row-major over the sizes) from the
  /// data's start.
  int64_t at(int64_t index) const {
    int64_t offset = descriptor[2];
    for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) {
      offset += (index % sizes[d]) * strides[d];
      index /= sizes[d];
    }
    return offset;
  }

  std::vector<int64_t> sizes, strides, descriptor;
  UnrankedMemRef memref;
};

/// Copies `from` (over `source`) into `to` (over `target`, which starts as
/// -1 everywhere) and checks every element of the target buffer: the view's
/// elements equal the source's, the others are untouched.
void checkCopy(std::vector<float> &from, View source, std::vector<float> &to,
               View target) {
  std::fill(to.begin(), to.end(), -1.0f);
  memrefCopy(sizeof(float), &source.memref, &target.memref);
  int64_t elements = 1;
  for (int64_t size : source.sizes)
    elements *= size;
  std::vector<float> want(to.size(), -1.0f);
  for (int64_t i = 0; i < elements; ++i)
    want[target.at(i)] = from[source.at(i)];
  for (size_t i = 0; i < to.size(); ++i)
    ASSERT_EQ(to[i], want[i]) << "element " << i;
}

TEST(MemrefCopy, StridedViews) {
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    int previous = lattice_set_call_threads(threads);
    // An activation into the interior of its padded buffer and back, small
    // (one thread) and large (the pool's); the large one's rows do not
    // divide evenly among the threads' runs.
    for (auto [c, h, w] : {std::array<int64_t, 3>{3, 5, 7}, {64, 57, 55}}) {
      SCOPED_TRACE(c);
      int64_t hp = h + 2, wp = w + 2;
      std::vector<float> dense(2 * c * h * w), padded(2 * c * hp * wp);
      std::iota(dense.begin(), dense.end(), 0.0f);
      View denseView(dense.data(), 0, {2, c, h, w}, {c * h * w, h * w, w, 1});
      View interior(padded.data(), wp + 1, {2, c, h, w},
                    {c * hp * wp, hp * wp, wp, 1});
      checkCopy(dense, denseView, padded, interior);
      std::iota(padded.begin(), padded.end(), 0.0f);
      checkCopy(padded, interior, dense, denseView);
    }
    // Every other element (the innermost dimension strided on one side).
    std::vector<float> from(300 * 1024), to(150 * 1024);
    std::iota(from.begin(), from.end(), 0.0f);
    checkCopy(from, View(from.data(), 1, {150, 1024}, {2048, 2}), to,
              View(to.data(), 0, {150, 1024}, {1024, 1}));
    // Rank 0, and an empty view, which copies nothing.
    std::vector<float> one = {5.0f}, other = {0.0f};
    checkCopy(one, View(one.data(), 0, {}, {}), other,
              View(other.data(), 0, {}, {}));
    checkCopy(from, View(from.data(), 0, {4, 0, 3}, {3, 3, 1}), to,
              View(to.data(), 0, {4, 0, 3}, {3, 3, 1}));
    lattice_set_call_threads(previous);
  }
}
} // namespace
