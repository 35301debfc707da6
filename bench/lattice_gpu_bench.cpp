//===- lattice_gpu_bench.cpp - Time Lattice kernels on a CUDA GPU ---------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Times libraries made by `lattice-compile --target cuda` (bench/make_models.py
// --target cuda) on device buffers (lattice_model_run_device), and prints
// RESULT lines in the format of lattice-bench: first a device-to-device copy
// probe of the GPU's memory bandwidth (bytes read plus bytes written), then
// one line per library whose median_us is the GPU time of the call's kernels
// (CUDA events around every launch), gbs its effective bandwidth over the
// weights, activations and output, and wall_us the median time of the whole
// call on the host (launches and the final synchronization included):
//
//   RESULT peer=lattice op=gemv dtype=w4a16-g128 M=1 N=11008 K=4096
//          device=cuda mode=cold median_us=... gbs=... wall_us=... launches=2
//
// In cold mode the calls take turns over enough models, each with its own
// copy of the weights on the GPU (>= 256 MiB in all, several times the L2
// cache), that every call streams its weights from device memory.
//
//   lattice-gpu-bench [--mode=cold|hot] [--iters=N] LIB.so...
//
// It needs no GPU to build; without one it stops with the runtime's
// "no CUDA driver" or "no CUDA device".
//
//===----------------------------------------------------------------------===//

#include "BenchLibrary.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {
using namespace lattice_bench;

/// The GPU runtime functions of one library (each carries its own).
struct Cuda {
  explicit Cuda(const Library &library)
      : alloc(library.lookup<decltype(alloc)>("lattice_cuda_alloc")),
        copy(library.lookup<decltype(copy)>("lattice_cuda_copy")),
        synchronize(
            library.lookup<decltype(synchronize)>("lattice_cuda_synchronize")),
        timeKernels(
            library.lookup<decltype(timeKernels)>("lattice_cuda_time_kernels")),
        takeKernelTime(library.lookup<decltype(takeKernelTime)>(
            "lattice_cuda_take_kernel_time")),
        takeError(
            library.lookup<decltype(takeError)>("lattice_cuda_take_error")) {}

  /// Stops with the runtime's reason when `status` is a failure.
  void check(int status, const std::string &what) const {
    if (status == 0)
      return;
    const char *reason = takeError();
    die(what + ": " + (reason ? reason : "failed"));
  }

  void *deviceCopy(const void *host, size_t bytes) const {
    void *device = nullptr;
    check(alloc(&device, bytes), "cannot allocate GPU memory");
    check(copy(device, host, bytes), "cannot copy to the GPU");
    return device;
  }

  int (*alloc)(void **, size_t);
  int (*copy)(void *, const void *, size_t);
  int (*synchronize)();
  int (*timeKernels)(int);
  int (*takeKernelTime)(double *, unsigned long long *);
  const char *(*takeError)();
};

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Device memory bandwidth: copies of 1 GiB between two device buffers.
Case probeCopy(const Cuda &cuda) {
  const size_t bytes = size_t(1) << 30;
  void *source = nullptr, *target = nullptr;
  cuda.check(cuda.alloc(&source, bytes), "cannot allocate the probe");
  cuda.check(cuda.alloc(&target, bytes), "cannot allocate the probe");
  Case probe{"u8", "copy", 0, 0, 0, 2.0 * double(bytes), {}};
  for (int pass = 0; pass < 12; ++pass) {
    auto start = Clock::now();
    cuda.check(cuda.copy(target, source, bytes), "the probe failed");
    cuda.check(cuda.synchronize(), "the probe failed");
    if (pass >= 2) // the first passes map the pages
      probe.samples.push_back(secondsSince(start));
  }
  return probe;
}

void runLibrary(Library &library, bool cold, int iterations) {
  Cuda cuda(library);
  using RunFn = lattice_status (*)(const lattice_model *, const void *const *,
                                   void *const *);
  using ErrorFn = const char *(*)();
  auto run = library.lookup<RunFn>("lattice_model_run_device");
  auto lastError = library.lookup<ErrorFn>("lattice_last_error");
  std::vector<const void *> inputs;
  std::vector<void *> outputs;
  const lattice_model_info *info = library.model;
  for (uint32_t i = 0; i < info->num_inputs; ++i)
    inputs.push_back(
        cuda.deviceCopy(library.inputPtrs[i], info->inputs[i].num_bytes));
  for (uint32_t i = 0; i < info->num_outputs; ++i)
    outputs.push_back(
        cuda.deviceCopy(library.outputPtrs[i], info->outputs[i].num_bytes));
  size_t next = 0;
  auto call = [&] {
    lattice_model *model = library.models[next++ % library.models.size()];
    if (run(model, inputs.data(), outputs.data()) != LATTICE_OK)
      die(library.info.dtype + ": " + lastError());
  };
  for (size_t i = 0; i < 2 * library.models.size() + 3; ++i)
    call(); // warm-up: module loads, first touches
  cuda.check(cuda.timeKernels(1), "cannot time kernels");
  Case &kernels = library.info;
  std::vector<double> wall;
  unsigned long long launches = 0;
  for (int i = 0; i < iterations; ++i) {
    auto start = Clock::now();
    call();
    wall.push_back(secondsSince(start));
    double microseconds = 0;
    cuda.check(cuda.takeKernelTime(&microseconds, &launches),
               "cannot read the kernel times");
    kernels.samples.push_back(microseconds * 1e-6);
  }
  cuda.check(cuda.timeKernels(0), "cannot time kernels");
  // The next library needs the memory.
  using FreeModelFn = void (*)(lattice_model *);
  using FreeFn = int (*)(void *);
  auto freeModel = library.lookup<FreeModelFn>("lattice_model_free");
  auto freeDevice = library.lookup<FreeFn>("lattice_cuda_free");
  for (lattice_model *model : library.models)
    freeModel(model);
  library.models.clear();
  library.weightCopies.clear();
  for (const void *input : inputs)
    freeDevice(const_cast<void *>(input));
  for (void *output : outputs)
    freeDevice(output);
  char extra[96];
  std::snprintf(extra, sizeof(extra), "wall_us=%.1f launches=%llu",
                median(wall) * 1e6, launches);
  report("lattice", kernels, "device=cuda", cold, extra);
  std::fflush(stdout);
}
} // namespace

int main(int argc, char **argv) {
  bool cold = true;
  int iterations = 200;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--mode=cold" || arg == "--mode=hot")
      cold = arg == "--mode=cold";
    else if (arg.rfind("--iters=", 0) == 0)
      iterations = std::atoi(arg.c_str() + 8);
    else if (arg.size() > 3 && arg.compare(arg.size() - 3, 3, ".so") == 0)
      paths.push_back(arg);
    else
      die("unknown argument '" + arg + "'");
  }
  if (paths.empty() || iterations < 1)
    die("usage: lattice-gpu-bench [--mode=cold|hot] [--iters=N] LIB.so...");
  // One library at a time: the weight copies of all would not fit.
  bool probed = false;
  for (const std::string &path : paths) {
    Library *library = openLibrary(path, cold);
    if (library->model->device != LATTICE_DEVICE_CUDA)
      die(path + ": built for the CPU (compile it with lattice-compile "
                 "--target cuda)");
    if (!probed) {
      report("probe", probeCopy(Cuda(*library)), "device=cuda",
             /*cold=*/true);
      probed = true;
    }
    runLibrary(*library, cold, iterations);
  }
  return 0;
}
