//===- GPUPipeline.cpp - The lattice-lower-to-gpu pipeline ----------------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// Lattice and upstream ops on tensors, down to host code in the LLVM dialect
// and device code for an NVIDIA GPU, after upstream's gpu-lower-to-nvvm
// pipeline: the portable lowering to linalg, bufferization, one kernel per
// linalg op (lattice-gpu-distribute), buffers in device memory, narrow-type
// packing, outlining, NVVM, and gpu-module-to-binary. The host code calls
// the `mgpu*` functions of the GPU runtime (runtime/lattice_cuda.c), which
// load the module and launch the kernels through the CUDA driver API.
//
//===----------------------------------------------------------------------===//

#include "Steps.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Pipelines/Pipelines.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include <cstdlib>

using namespace mlir;
using namespace mlir::lattice;

/// The compute capability of `chip` ("sm_90a" is 90), from sm_50 on.
static FailureOr<unsigned> getComputeCapability(StringRef chip) {
  StringRef digits = chip;
  if (!digits.consume_front("sm_"))
    return failure();
  digits.consume_back("a");
  digits.consume_back("f");
  unsigned arch;
  if (digits.getAsInteger(10, arch) || arch < 50)
    return failure();
  return arch;
}

FailureOr<std::string> mlir::lattice::findCUDAToolkit(StringRef requested,
                                                      std::string &error) {
  std::string toolkit = requested.str();
  if (toolkit.empty()) {
    const char *home = std::getenv("CUDA_HOME");
    toolkit = home && *home ? home : "/usr/local/cuda";
  }
  SmallString<128> libdevice(toolkit);
  llvm::sys::path::append(libdevice, "nvvm", "libdevice");
  if (!llvm::sys::fs::is_directory(libdevice)) {
    error = "no CUDA toolkit at '" + toolkit +
            "' (its nvvm/libdevice is missing); set cuda-path or CUDA_HOME";
    return failure();
  }
  return toolkit;
}

FailureOr<std::string> mlir::lattice::getDefaultPTXFeatures(StringRef chip) {
  FailureOr<unsigned> capability = getComputeCapability(chip);
  if (failed(capability))
    return failure();
  unsigned arch = *capability;
  // The PTX version that introduced each architecture (PTX ISA, "Release
  // notes"); older ones are all covered by PTX 7.0, and 8.0 adds sm_90a.
  unsigned ptx = 70;
  if (arch >= 120)
    ptx = 87;
  else if (arch >= 100)
    ptx = 86;
  else if (arch >= 90)
    ptx = chip.ends_with("a") ? 80 : 78;
  else if (arch >= 89)
    ptx = 78;
  else if (arch >= 86)
    ptx = 71;
  return llvm::formatv("+ptx{0}", ptx).str();
}

LogicalResult mlir::lattice::buildLatticeGPUPipeline(
    OpPassManager &pm, const GPUPipelineOptions &options, std::string *error) {
  auto fail = [&](const Twine &message) {
    if (error)
      *error = message.str();
    return failure();
  };
  std::string features = options.features;
  if (features.empty()) {
    FailureOr<std::string> derived = getDefaultPTXFeatures(options.chip);
    if (failed(derived))
      return fail("unknown chip '" + options.chip +
                  "' (expected an NVIDIA architecture such as sm_80 or "
                  "sm_90a)");
    features = *derived;
  }
  if (!llvm::is_contained({"isa", "bin", "fatbin"}, options.format))
    return fail("unknown format '" + options.format +
                "' (expected isa, bin or fatbin)");
  if (options.optLevel > 3)
    return fail("opt-level must be 0 to 3, not " +
                Twine(options.optLevel.getValue()));
  if (options.blockSize == 0 || options.blockSize % 32 != 0 ||
      options.blockSize > 1024)
    return fail("block-size must be a multiple of 32 between 32 and 1024, "
                "not " +
                Twine(options.blockSize.getValue()));

  addLatticeToLinalgPasses(pm);
  addBufferizationPasses(pm);
  addDeallocationPasses(pm);

  // Kernels: one per linalg op; buffers in device memory.
  pm.addPass(createExpandMathPass());
  GPUDistributePassOptions distributeOptions;
  distributeOptions.blockSize = options.blockSize;
  // dp4a: sm_61 and newer.
  FailureOr<unsigned> capability = getComputeCapability(options.chip);
  distributeOptions.dotProducts = succeeded(capability) && *capability >= 61;
  pm.addNestedPass<func::FuncOp>(createGPUDistributePass(distributeOptions));
  // Sub-byte codes packed in bytes, in host signatures, allocations and
  // kernels alike (the kernels still read the host function's values).
  pm.addPass(createEmulateNarrowTypesPass());
  pm.addPass(createGPUAllocateOnDevicePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Constants and index arithmetic move into the kernels instead of
  // becoming kernel arguments.
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // One stream per call: launches, allocations and copies queue on it
  // without a synchronization each; the function waits for it at the end.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());

  // Device code: NVVM, then PTX or cubin.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCanonicalizerPass());
  GpuNVVMAttachTargetOptions targetOptions;
  targetOptions.chip = options.chip;
  targetOptions.features = features;
  targetOptions.optLevel = options.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(targetOptions));
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  // Kernels take their buffers as the launches pass them: under the
  // bare-pointer ABI, gpu-to-llvm passes kernels bare pointers too (its
  // type converter's setting overrides use-bare-pointers-for-kernels).
  ConvertGpuOpsToNVVMOpsOptions nvvmOptions;
  nvvmOptions.useBarePtrCallConv = options.barePointerABI;
  // Square roots as the CPU computes them, not libdevice's approximations.
  device.addPass(createGPUExactMathPass());
  device.addPass(createConvertGpuOpsToNVVMOps(nvvmOptions));
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());

  // Host code: kernel launches become calls of the GPU runtime.
  GpuToLLVMConversionPassOptions hostOptions;
  hostOptions.hostBarePtrCallConv = options.barePointerABI;
  pm.addPass(createGpuToLLVMConversionPass(hostOptions));
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  GpuModuleToBinaryPassOptions binaryOptions;
  binaryOptions.compilationTarget = options.format;
  // The toolkit's libdevice holds the math functions kernels call; without
  // it gpu-module-to-binary leaves them unresolved (or only warns). The
  // driver found it (findCUDAToolkit); empty leaves upstream's default.
  binaryOptions.toolkitPath = options.cudaPath.getValue();
  pm.addPass(createGpuModuleToBinaryPass(binaryOptions));
  return success();
}
