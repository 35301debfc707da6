//===- BenchLibrary.h - Open benchmark libraries of lattice-compile -------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// What lattice-bench (CPU) and lattice-gpu-bench share: the libraries of
// bench/make_models.py (<dtype>_m<M>_n<N>_k<K>.so beside its weights file),
// loaded once per weight copy, host inputs and outputs, and the RESULT
// lines of the peer benchmarks' format.
//
//===----------------------------------------------------------------------===//

#ifndef LATTICE_BENCH_LIBRARY_H
#define LATTICE_BENCH_LIBRARY_H

#include "lattice_runtime.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace lattice_bench {
using Clock = std::chrono::steady_clock;

struct AlignedFree {
  void operator()(void *p) const { std::free(p); }
};
using Buffer = std::unique_ptr<unsigned char, AlignedFree>;

inline Buffer allocate(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  return Buffer(static_cast<unsigned char *>(
      std::aligned_alloc(64, rounded ? rounded : 64)));
}

[[noreturn]] inline void die(const std::string &message) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name,
               message.c_str());
  std::exit(1);
}

/// Per-call samples of one case, reported as a RESULT line at the end.
struct Case {
  std::string dtype, op;
  int m = 0, n = 0, k = 0;
  double bytes = 0;
  std::vector<double> samples; // seconds
};

inline double median(std::vector<double> samples) {
  if (samples.empty())
    return 0;
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

/// Prints `c` as a RESULT line; `where` is "threads=T" or "device=...",
/// `extra` more fields (may be empty).
inline void report(const char *peer, const Case &c, const std::string &where,
                   bool cold, const std::string &extra = "") {
  std::vector<double> t = c.samples;
  if (t.empty())
    return;
  std::sort(t.begin(), t.end());
  double mid = t[t.size() / 2];
  double flops = 2.0 * c.m * c.n * c.k;
  std::printf("RESULT peer=%s op=%s dtype=%s M=%d N=%d K=%d %s "
              "mode=%s median_us=%.1f min_us=%.1f max_us=%.1f gflops=%.2f "
              "gbs=%.2f bytes=%.0f iters=%zu%s%s\n",
              peer, c.op.c_str(), c.dtype.c_str(), c.m, c.n, c.k, where.c_str(),
              cold ? "cold" : "hot", mid * 1e6, t.front() * 1e6, t.back() * 1e6,
              flops / mid / 1e9, c.bytes / mid / 1e9, c.bytes, t.size(),
              extra.empty() ? "" : " ", extra.c_str());
}

inline std::vector<unsigned char> readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    die("cannot read '" + path + "'");
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(file), {});
}

/// One compiled library, loaded `models.size()` times (each with its own
/// copy of the weights), with host inputs and outputs.
struct Library {
  Case info;
  std::string path;
  void *handle = nullptr;
  const lattice_model_info *model = nullptr;
  std::vector<Buffer> weightCopies;
  std::vector<lattice_model *> models;
  std::vector<Buffer> inputs, outputs;
  std::vector<const void *> inputPtrs;
  std::vector<void *> outputPtrs;

  /// A function of the library's own runtime (each library has one).
  template <typename Fn>
  Fn lookup(const char *name) const {
    auto fn = reinterpret_cast<Fn>(dlsym(handle, name));
    if (!fn)
      die("'" + path +
          "' is not a library made by lattice-compile (it has "
          "no " +
          name + ")");
    return fn;
  }
};

/// Opens `path`; in cold mode loads enough weight copies (>= 256 MiB in
/// all) that the calls, taking them in turn, stream every weight from
/// memory instead of a cache.
inline Library *openLibrary(const std::string &path, bool cold) {
  auto *library = new Library;
  library->path = path;
  Case &c = library->info;
  std::string stem = path.substr(path.find_last_of('/') + 1);
  stem = stem.substr(0, stem.rfind(".so"));
  if (std::sscanf(stem.c_str() + std::min(stem.find("_m"), stem.size()),
                  "_m%d_n%d_k%d", &c.m, &c.n, &c.k) != 3)
    die("'" + path + "' is not named <dtype>_m<M>_n<N>_k<K>.so");
  c.dtype = stem.substr(0, stem.find("_m"));
  c.op = c.m == 1 ? "gemv" : "gemm";
  library->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library->handle)
    die(dlerror());
  using InfoFn = const lattice_model_info *(*)();
  using LoadFn = lattice_status (*)(const lattice_model_info *, const void *,
                                    size_t, lattice_model **);
  using ErrorFn = const char *(*)();
  const lattice_model_info *info =
      library->lookup<InfoFn>("lattice_model_info_v1")();
  library->model = info;
  auto load = library->lookup<LoadFn>("lattice_model_load_memory");
  auto lastError = library->lookup<ErrorFn>("lattice_last_error");
  double weightBytes = 0;
  for (uint32_t i = 0; i < info->num_weights; ++i)
    weightBytes += double(info->weights[i].num_bytes);
  std::vector<unsigned char> file =
      readFile(path.substr(0, path.rfind(".so")) + ".safetensors");
  int copies = cold ? std::max(2, int(256.0 * (1 << 20) / weightBytes) + 1) : 1;
  for (int i = 0; i < copies; ++i) {
    Buffer copy = allocate(file.size());
    std::memcpy(copy.get(), file.data(), file.size());
    lattice_model *loaded = nullptr;
    if (load(info, copy.get(), file.size(), &loaded) != LATTICE_OK)
      die(path + ": " + lastError());
    library->weightCopies.push_back(std::move(copy));
    library->models.push_back(loaded);
  }
  double bytes = weightBytes;
  auto fill = [&](const lattice_tensor_info &t, std::vector<Buffer> &out) {
    Buffer buffer = allocate(t.num_bytes);
    // Small values of the tensor's type: zero bytes are valid everywhere,
    // and a varied pattern keeps float paths honest.
    if (t.dtype == LATTICE_F32)
      for (uint64_t i = 0; i < t.num_bytes / 4; ++i)
        reinterpret_cast<float *>(buffer.get())[i] = float(i % 17) / 17 - 0.5f;
    else
      std::memset(buffer.get(), 0, t.num_bytes);
    bytes += double(t.num_bytes);
    out.push_back(std::move(buffer));
  };
  for (uint32_t i = 0; i < info->num_inputs; ++i)
    fill(info->inputs[i], library->inputs);
  for (uint32_t i = 0; i < info->num_outputs; ++i)
    fill(info->outputs[i], library->outputs);
  for (Buffer &b : library->inputs)
    library->inputPtrs.push_back(b.get());
  for (Buffer &b : library->outputs)
    library->outputPtrs.push_back(b.get());
  c.bytes = bytes;
  return library;
}
} // namespace lattice_bench

#endif // LATTICE_BENCH_LIBRARY_H
