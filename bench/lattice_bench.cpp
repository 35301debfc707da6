//===- lattice_bench.cpp - Time compiled Lattice kernels ------------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Times libraries made by lattice-compile (bench/make_models.py names them
// <dtype>_m<M>_n<N>_k<K>.so) with Google Benchmark, with passes of a DRAM
// read bandwidth probe between the calls (the machine's bandwidth drifts
// with its other tenants), and prints RESULT lines, the probe's and then the
// kernel's, in the format the peer benchmarks use, after an f32 FMA peak
// probe:
//
//   RESULT peer=lattice op=gemv dtype=w4a16-g32 M=1 N=4096 K=4096 threads=2
//          mode=cold median_us=... min_us=... max_us=... gflops=... gbs=...
//          bytes=... iters=...
//
// bytes counts the weights in their stored format plus the activations and
// the output. In cold mode the weights are copied into enough buffers
// (>= 256 MiB in all) that every call streams them from DRAM, as a decode
// step does; hot mode reuses one copy.
//
//   lattice-bench [--threads=T] [--mode=cold|hot] LIB.so... [benchmark flags]
//   lattice-bench [--threads=T] --peak-only   (the f32 FMA peak alone)
//
//===----------------------------------------------------------------------===//

#include "BenchLibrary.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {
using namespace lattice_bench;

/// Sums `count` floats with eight independent vector accumulators, so that
/// the loads, not the adds, are the limit.
template <int Bytes>
static float sumVectors(const float *data, size_t count) {
  using Vector = float __attribute__((vector_size(Bytes)));
  constexpr size_t lanes = Bytes / sizeof(float);
  const auto *v = reinterpret_cast<const Vector *>(data);
  Vector acc[8] = {};
  size_t blocks = count / (8 * lanes);
  for (size_t i = 0; i < blocks; ++i)
    for (int j = 0; j < 8; ++j)
      acc[j] += v[i * 8 + j];
  float sum = 0;
  for (int j = 0; j < 8; ++j)
    for (size_t l = 0; l < lanes; ++l)
      sum += acc[j][l];
  return sum;
}

__attribute__((target("avx512f"))) static float sumAVX512(const float *data,
                                                          size_t count) {
  return sumVectors<64>(data, count);
}

__attribute__((target("avx2"))) static float sumAVX2(const float *data,
                                                     size_t count) {
  return sumVectors<32>(data, count);
}

/// DRAM read bandwidth: `threads` threads sum disjoint parts of a 512 MiB
/// buffer with the widest vectors the CPU has. Measured right before every
/// kernel, as the machine's bandwidth drifts with its other tenants.
class BandwidthProbe {
public:
  explicit BandwidthProbe(int threads) : threads(threads) {
    const size_t bytes = size_t(512) << 20;
    floats = bytes / sizeof(float);
    buffer = allocate(bytes);
    auto *data = reinterpret_cast<float *>(buffer.get());
    for (size_t i = 0; i < floats; ++i)
      data[i] = float(i & 1023);
    if (__builtin_cpu_supports("avx512f"))
      sum = sumAVX512;
    else if (__builtin_cpu_supports("avx2"))
      sum = sumAVX2;
    // Chunks are multiples of 4 KiB, so every thread starts aligned.
    chunk = floats / threads / 1024 * 1024;
  }

  double bytesPerPass() const { return double(chunk) * threads * 4; }

  /// One pass over the buffer; returns its duration in seconds.
  double pass() {
    const auto *data = reinterpret_cast<const float *>(buffer.get());
    std::vector<float> sinks(threads);
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] { sinks[t] = sum(data + chunk * t, chunk); });
    for (std::thread &w : workers)
      w.join();
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    for (float s : sinks)
      sink += s;
    return seconds;
  }

  float sink = 0; // keeps the sums alive

private:
  int threads;
  size_t floats = 0, chunk = 0;
  Buffer buffer;
  float (*sum)(const float *, size_t) = sumVectors<16>;
};

/// f32 FMA throughput: `threads` threads each run 12 independent chains of
/// vector FMAs; reports GFLOP/s (2 per lane and FMA).
template <int Bytes>
static double fmaChains(size_t iterations) {
  using Vector = float __attribute__((vector_size(Bytes)));
  constexpr int lanes = Bytes / sizeof(float);
  Vector acc[12], x, y;
  for (int l = 0; l < lanes; ++l) {
    x[l] = 0.999f;
    y[l] = 0.001f;
  }
  for (Vector &a : acc)
    a = y;
  for (size_t i = 0; i < iterations; ++i)
    for (Vector &a : acc)
      a = a * x + y;
  float sum = 0;
  for (Vector &a : acc)
    for (int l = 0; l < lanes; ++l)
      sum += a[l];
  return sum;
}

__attribute__((target("avx512f,fma"))) static double
fmaAVX512(size_t iterations) {
  return fmaChains<64>(iterations);
}

__attribute__((target("avx2,fma"))) static double fmaAVX2(size_t iterations) {
  return fmaChains<32>(iterations);
}

void probePeak(int threads) {
  int lanes = 4;
  double (*chains)(size_t) = fmaChains<16>;
  if (__builtin_cpu_supports("avx512f")) {
    chains = fmaAVX512;
    lanes = 16;
  } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    chains = fmaAVX2;
    lanes = 8;
  }
  const size_t iterations = size_t(1) << 24;
  std::vector<double> samples;
  std::vector<double> sinks(threads);
  for (int pass = 0; pass < 5; ++pass) {
    auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
      workers.emplace_back([&, t] { sinks[t] += chains(iterations); });
    for (std::thread &w : workers)
      w.join();
    samples.push_back(
        std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(samples.begin(), samples.end());
  double flops = 2.0 * lanes * 12 * double(iterations) * threads;
  double median = samples[samples.size() / 2];
  std::printf("RESULT peer=peak op=fma dtype=f32 M=0 N=0 K=0 threads=%d "
              "mode=hot median_us=%.1f min_us=%.1f max_us=%.1f gflops=%.2f "
              "gbs=0 bytes=0 iters=%zu\n",
              threads, median * 1e6, samples.front() * 1e6,
              samples.back() * 1e6, flops / median / 1e9, samples.size());
  if (sinks[0] == -1)
    std::printf("\n"); // keeps the chains alive
}

/// A library with the bandwidth probe of its calls.
struct Kernel {
  Library *library;
  // Bandwidth measured between the kernel's calls (cold mode) or right
  // before them (hot mode, where a probe would evict the weights).
  BandwidthProbe *probe = nullptr;
  Case probeSamples;
};

void runKernel(benchmark::State &state, Kernel *kernel, bool cold) {
  size_t next = 0;
  Library &library = *kernel->library;
  using RunFn = lattice_status (*)(const lattice_model *, const void *const *,
                                   void *const *);
  auto run = library.lookup<RunFn>("lattice_model_run");
  auto call = [&] {
    lattice_model *model = library.models[next++ % library.models.size()];
    if (run(model, library.inputPtrs.data(), library.outputPtrs.data()) !=
        LATTICE_OK)
      die(library.info.dtype + ": the run failed");
  };
  auto probe = [&] {
    kernel->probeSamples.samples.push_back(kernel->probe->pass());
  };
  if (!cold)
    for (int i = 0; i < 3; ++i)
      probe();
  for (int i = 0; i < 3; ++i)
    call(); // warm-up: page faults, thread pool start
  // In cold mode a probe pass every 100 ms of kernel time, outside the
  // timed calls, samples the bandwidth the kernel actually had.
  double sinceProbe = cold ? 1.0 : 0.0;
  for (auto _ : state) {
    if (cold && sinceProbe >= 0.1) {
      probe();
      sinceProbe = 0;
    }
    auto start = Clock::now();
    call();
    double seconds =
        std::chrono::duration<double>(Clock::now() - start).count();
    state.SetIterationTime(seconds);
    library.info.samples.push_back(seconds);
    sinceProbe += seconds;
  }
  state.counters["GB/s"] =
      benchmark::Counter(library.info.bytes * double(state.iterations()),
                         benchmark::Counter::kIsRate);
}
} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  int threads = 2;
  bool cold = true, peakOnly = false;
  std::vector<std::string> libraries;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0)
      threads = std::atoi(arg.c_str() + 10);
    else if (arg == "--mode=cold" || arg == "--mode=hot")
      cold = arg == "--mode=cold";
    else if (arg == "--peak-only")
      peakOnly = true;
    else if (arg.size() > 3 && arg.compare(arg.size() - 3, 3, ".so") == 0)
      libraries.push_back(arg);
    else
      die("unknown argument '" + arg + "'");
  }
  if (threads < 1 || (peakOnly && !libraries.empty()) ||
      (!peakOnly && libraries.empty()))
    die("usage: lattice-bench [--threads=T] [--mode=cold|hot] LIB.so...\n"
        "       lattice-bench [--threads=T] --peak-only");
  if (peakOnly) {
    probePeak(threads);
    return 0;
  }

  // The models take their thread count from the environment when they load.
  setenv("LATTICE_NUM_THREADS", std::to_string(threads).c_str(), 1);
  std::vector<Kernel *> kernels;
  for (const std::string &library : libraries)
    kernels.push_back(new Kernel{openLibrary(library, cold), nullptr, {}});
  BandwidthProbe probe(threads);
  for (Kernel *kernel : kernels) {
    const Case &c = kernel->library->info;
    std::string name = c.op + "/" + c.dtype + "/M" + std::to_string(c.m) +
                       "/N" + std::to_string(c.n) + "/K" + std::to_string(c.k);
    kernel->probe = &probe;
    kernel->probeSamples =
        Case{"f32", "read", 0, 0, 0, probe.bytesPerPass(), {}};
    benchmark::RegisterBenchmark(name.c_str(), runKernel, kernel, cold)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
  probePeak(threads);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::string where = "threads=" + std::to_string(threads);
  for (Kernel *kernel : kernels) {
    report("probe", kernel->probeSamples, where, /*cold=*/true);
    report("lattice", kernel->library->info, where, cold);
  }
  if (probe.sink == -1)
    std::printf("\n");
  return 0;
}
