//===- lattice-compile.cpp - Compile a model to a native library ----------===//
//
// Part of the Lattice project, under the Apache License v2.0 with LLVM
// Exceptions. See LICENSE for license information.
// SPDX-License-Identifier: Apache-2.0 WITH LLVM-exception
//
//===----------------------------------------------------------------------===//
//
// The compiler driver: a model in the lattice dialect (.mlir) becomes
//   <out>.o            the compiled code,
//   <out>.so           a shared library with the C ABI of lattice_runtime.h,
//   <out>.h            typed wrappers named after the model,
//   <out>.safetensors  the weights, packed, which the library maps at load,
// and lattice_runtime.h is copied next to them. The steps: parse and verify,
// turn lattice.weight ops into arguments (reading and packing the weights),
// run lattice-lower-to-cpu, translate to LLVM IR, optimize, emit the object,
// generate the glue and link it with the runtime.
//
//===----------------------------------------------------------------------===//

#include "Calibration.h"
#include "lattice/Codegen/ModelInterface.h"
#include "lattice/Codegen/Passes.h"
#include "lattice/Codegen/Ukernels.h"
#include "lattice/Dialect/Lattice/IR/LatticeOps.h"
#include "lattice/Dialect/Lattice/IR/WeightBlobs.h"
#include "lattice/Dialect/Lattice/Transforms/Layers.h"
#include "lattice/Dialect/Lattice/Transforms/Passes.h"
#include "lattice/Dialect/Lattice/Transforms/Recipes.h"
#include "lattice/InitAll.h"
#include "lattice/Pipelines/Pipelines.h"
#include "lattice/Quant/PrecisionAssignment.h"
#include "lattice/Support/Safetensors.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include <chrono>
#include <cmath>
#include <cstdlib>
#if __has_include(<malloc.h>)
#include <malloc.h>
#endif

extern char **environ;

using namespace mlir;
using namespace mlir::lattice::compile;

// The tool's own options; --help lists these and the recipe options
// (LLVM's and MLIR's are in --help-hidden).
static llvm::cl::OptionCategory toolCategory("lattice-compile options");
static llvm::cl::opt<std::string> inputFile(llvm::cl::Positional,
                                            llvm::cl::desc("<model.mlir>"),
                                            llvm::cl::Required,
                                            llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    outputPrefix("o", llvm::cl::desc("Output path without extension"),
                 llvm::cl::value_desc("prefix"), llvm::cl::Required,
                 llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    modelName("name",
              llvm::cl::desc("C identifier prefixing the generated functions "
                             "(default: the output file name)"),
              llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    entryName("entry",
              llvm::cl::desc("Function to compile (default: the "
                             "only public function)"),
              llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    target("target",
           llvm::cl::desc("Where the model runs: cpu (the default) or cuda "
                          "(an NVIDIA GPU, through the CUDA driver)"),
           llvm::cl::init("cpu"), llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    gpuChip("gpu-chip",
            llvm::cl::desc("With --target cuda: the GPU architecture (sm_80, "
                           "sm_90, ...); the PTX also runs on later GPUs"),
            llvm::cl::init("sm_80"), llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string> gpuFormat(
    "gpu-format",
    llvm::cl::desc("With --target cuda: isa (PTX, compiled by the driver when "
                   "the library loads; the default), bin (cubin for exactly "
                   "--gpu-chip, assembled now with ptxas) or fatbin"),
    llvm::cl::init("isa"), llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    targetCPU("target-cpu",
              llvm::cl::desc("CPU to compile for: native, x86-64, "
                             "x86-64-v2/v3/v4 or an LLVM CPU name"),
              llvm::cl::init("native"), llvm::cl::cat(toolCategory));
static llvm::cl::opt<unsigned>
    numThreads("num-threads",
               llvm::cl::desc("Threads of the parallel loops (0: the number "
                              "of hardware threads)"),
               llvm::cl::init(0), llvm::cl::cat(toolCategory));
static llvm::cl::opt<bool> embedWeights(
    "embed-weights",
    llvm::cl::desc("Put the weights inside the library instead of a "
                   "separate safetensors file"),
    llvm::cl::init(false), llvm::cl::cat(toolCategory));
static llvm::cl::opt<bool> useUkernels(
    "ukernels",
    llvm::cl::desc("Call the runtime's microkernels for the matmuls and "
                   "convolutions they cover, on targets with 256-bit vectors "
                   "or wider (default: on)"),
    llvm::cl::init(true), llvm::cl::cat(toolCategory));
static llvm::cl::opt<bool> showRemarks(
    "remarks",
    llvm::cl::desc("Print the code generator's remarks (ops left as scalar "
                   "loops, microkernel choices, ...); without it only "
                   "errors and warnings are printed"),
    llvm::cl::init(false), llvm::cl::cat(toolCategory));
static llvm::cl::opt<bool> warningsAreErrors(
    "werror",
    llvm::cl::desc("Turn warnings (degenerate weights or calibration data, "
                   "layers left in float, ...) into errors: the compilation "
                   "fails before the library is built"),
    llvm::cl::init(false), llvm::cl::cat(toolCategory));
static llvm::cl::opt<std::string>
    cCompiler("cc", llvm::cl::desc("C compiler that links the library"),
              llvm::cl::init(LATTICE_DEFAULT_CC), llvm::cl::cat(toolCategory));

// Recipes (the lattice-recipe-<name> pipelines) run here on .mlir models,
// after a calibration here too when they need statistics; the Python
// package imports ONNX models and hands the command to this tool again.
static llvm::cl::OptionCategory recipeCategory("Quantization recipes");
static llvm::cl::opt<std::string> recipe("recipe",
                                         llvm::cl::desc("Quantization recipe"),
                                         llvm::cl::cat(recipeCategory));
static llvm::cl::opt<std::string>
    calib("calib",
          llvm::cl::desc("Calibration data (.npz, one array per input, "
                         "named after it or input<i>); the model is built "
                         "with probes and run on it here"),
          llvm::cl::cat(recipeCategory));
static llvm::cl::opt<std::string> statsOutput(
    "stats-output",
    llvm::cl::desc("Only calibrate (on --calib): write the statistics file "
                   "here, the calibration build under the -o prefix, and "
                   "no library"),
    llvm::cl::cat(recipeCategory));
static llvm::cl::opt<unsigned>
    calibBins("calib-bins",
              llvm::cl::desc("Histogram bins of |x| per probe (0: none)"),
              llvm::cl::init(2048), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<bool>
    calibXtX("calib-xtx",
             llvm::cl::desc("Also gather x x^T of every matmul input"),
             llvm::cl::init(false), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<bool> observeWeights(
    "observe-weights",
    llvm::cl::desc("Also gather the per-channel absmax of the weights"),
    llvm::cl::init(false), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<std::string> recipeFile(
    "recipe-file",
    llvm::cl::desc("A recipe file (JSON, docs/Recipes.md): a recipe and "
                   "per-layer settings by layer name"),
    llvm::cl::cat(recipeCategory));
static llvm::cl::opt<std::string> floatStats(
    "float-stats",
    llvm::cl::desc("Statistics of the float model (SmoothQuant and the "
                   "static activation scales of w8a8), instead of "
                   "calibration data"),
    llvm::cl::cat(recipeCategory));
static llvm::cl::opt<bool> exportObservations(
    "export-observations",
    llvm::cl::desc("Make the model's lattice.observe probes outputs of the "
                   "library, after the recipe (for reports that compare "
                   "layers with a float build)"),
    llvm::cl::init(false), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<bool> observeOutputs(
    "observe-outputs",
    llvm::cl::desc("Probe the output of every matmul before the recipe "
                   "(`<layer>:output`) and make the probes outputs of the "
                   "library (for reports that compare layers with a float "
                   "build)"),
    llvm::cl::init(false), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<bool> checkOutputs(
    "check-outputs",
    llvm::cl::desc("Run the quantized library and the float model on the "
                   "calibration samples (--calib, or generated ones) and "
                   "give each output's SQNR; warn below --min-output-sqnr. "
                   "Builds the float model when the recipe did not, for up to "
                   "1 GiB of float weights unless given (default: on, for "
                   "CPU libraries built for this machine)"),
    llvm::cl::init(true), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<double> minOutputSqnr(
    "min-output-sqnr",
    llvm::cl::desc("The output SQNR in dB below which --check-outputs warns "
                   "(default 10)"),
    llvm::cl::init(10.0), llvm::cl::cat(recipeCategory));
static llvm::cl::opt<std::string>
    reportFile("report-file",
               llvm::cl::desc("Write the per-layer quantization report (JSON, "
                              "docs/Reports.md) to this file"),
               llvm::cl::cat(recipeCategory));
static llvm::cl::list<std::string>
    shapes("shape",
           llvm::cl::desc("NAME=D1,D2,...: an ONNX input's shape where the "
                          "model leaves sizes symbolic"),
           llvm::cl::cat(recipeCategory));
static llvm::cl::list<std::string>
    bindings("bind",
             llvm::cl::desc("NAME=FILE.npy: a constant value for an ONNX "
                            "input (one that decides shapes); the library "
                            "does not take it"),
             llvm::cl::cat(recipeCategory));

static LogicalResult
writeFile(StringRef path, llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file) {
    llvm::errs() << "lattice-compile: " << error << "\n";
    return failure();
  }
  fn(file->os());
  file->keep();
  return success();
}

/// Returns the directory of this executable, to find the runtime next to it.
static std::string getToolDir(const char *argv0) {
  std::string exe = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&getToolDir));
  return llvm::sys::path::parent_path(exe).str();
}

static LogicalResult emitObject(llvm::Module &module, StringRef path,
                                StringRef cpuName) {
  std::string error;
  std::string triple = llvm::sys::getProcessTriple();
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(llvm::Triple(triple), error);
  if (!target) {
    llvm::errs() << "lattice-compile: " << error << "\n";
    return failure();
  }
  std::string cpu =
      cpuName == "native" ? llvm::sys::getHostCPUName().str() : cpuName.str();
  std::string features;
  if (cpuName == "native") {
    SmallVector<std::string> list;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      list.push_back((feature.second ? "+" : "-") + feature.first().str());
    features = llvm::join(list, ",");
  }
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      llvm::Triple(triple), cpu, features, options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine) {
    llvm::errs() << "lattice-compile: cannot target CPU '" << cpu << "'\n";
    return failure();
  }
  module.setDataLayout(machine->createDataLayout());
  module.setTargetTriple(llvm::Triple(triple));
  auto optimize = makeOptimizingTransformer(3, 0, machine.get());
  if (llvm::Error err = optimize(&module)) {
    llvm::errs() << "lattice-compile: " << llvm::toString(std::move(err))
                 << "\n";
    return failure();
  }
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    llvm::errs() << "lattice-compile: cannot write '" << path
                 << "': " << ec.message() << "\n";
    return failure();
  }
  llvm::legacy::PassManager pm;
  if (machine->addPassesToEmitFile(pm, out.os(), nullptr,
                                   llvm::CodeGenFileType::ObjectFile)) {
    llvm::errs() << "lattice-compile: the target cannot emit objects\n";
    return failure();
  }
  pm.run(module);
  out.keep();
  return success();
}

namespace {
/// What a library is built for: where it runs (cpu or cuda), the CPU of its
/// host code, whether its weights go inside it, and whether they keep
/// their plain layout (for builds whose weights lattice-compile rewrites).
struct BuildOptions {
  StringRef device, cpu;
  bool embed = false;
  bool plainWeights = false;
};
} // namespace

static LogicalResult compileModule(ModuleOp module, StringRef libraryPrefix,
                                   StringRef name, StringRef modelDir,
                                   const BuildOptions &build,
                                   const char *argv0);
static FailureOr<func::FuncOp> getEntry(ModuleOp module);

/// A pass manager with the pass manager's command-line options (IR
/// printing, timing, crash reproducers), as lattice-opt has them.
static FailureOr<std::unique_ptr<PassManager>> makePassManager(MLIRContext *c) {
  auto pm = std::make_unique<PassManager>(c);
  if (failed(applyPassManagerCLOptions(*pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(*pm);
  return pm;
}

/// The recipe of --recipe or of --recipe-file, or null.
static const lattice::Recipe *selectedRecipe = nullptr;
/// The methods of the recipe (and its recipe file): GPTQ and AWQ need the
/// X^T X of every layer's input from calibration, QEP its own statistics.
static lattice::RecipeMethods selectedMethods;
/// The recipe file of --recipe-file, read once, or none.
static std::optional<lattice::RecipeFile> selectedRecipeFile;

/// The calibration samples of --calib, or null (generated samples) when
/// none are given; failure after an error.
static FailureOr<std::unique_ptr<lattice::NpzFile>> openCalibrationSamples() {
  if (calib.empty())
    return std::unique_ptr<lattice::NpzFile>();
  llvm::Expected<std::unique_ptr<lattice::NpzFile>> opened =
      lattice::compile::openSamples(calib);
  if (!opened) {
    llvm::errs() << "lattice-compile: " << llvm::toString(opened.takeError())
                 << "\n";
    return failure();
  }
  return std::move(*opened);
}

/// Builds `module` (a copy of the model; external weights relative to
/// `modelDir`) for this machine's CPU as `prefix`.so and .safetensors, for
/// lattice-compile to run: calibration and measurements run here, whatever
/// the target. With `plainWeights` the weights keep their plain layout.
static LogicalResult compileForHost(ModuleOp module, StringRef prefix,
                                    StringRef name, StringRef modelDir,
                                    bool plainWeights, const char *argv0) {
  StringRef work = llvm::sys::path::parent_path(prefix);
  if (std::error_code ec = llvm::sys::fs::create_directories(work)) {
    llvm::errs() << "lattice-compile: cannot create '" << work
                 << "': " << ec.message() << "\n";
    return failure();
  }
  // The remarks of the code generator are about the library the user asked
  // for, not about this build.
  ScopedDiagnosticHandler quiet(module.getContext(), [](Diagnostic &d) {
    return success(d.getSeverity() == DiagnosticSeverity::Remark);
  });
  BuildOptions host{"cpu", "native", /*embed=*/false, plainWeights};
  return compileModule(module, prefix, name, modelDir, host, argv0);
}

/// Builds `module` (external weights relative to `modelDir`) with probes on
/// the inputs of its float matmuls (and their weights with `weights`) for
/// this machine's CPU, as `prefix`.so and .safetensors; returns the index of
/// the library's first probe output.
static FailureOr<unsigned> buildProbedLibrary(ModuleOp module,
                                              StringRef modelDir,
                                              StringRef prefix, bool weights,
                                              const char *argv0) {
  // The clone shares the weights loaded in `module`, which lowering it must
  // not free.
  lattice::WeightBlobs::KeepWeights keep(
      lattice::getWeightBlobs(module.getContext()), module);
  OwningOpRef<ModuleOp> probed = module.clone();
  FailureOr<func::FuncOp> entry = getEntry(*probed);
  if (failed(entry))
    return failure();
  unsigned firstProbe = entry->getNumResults();
  FailureOr<std::unique_ptr<PassManager>> made =
      makePassManager(module.getContext());
  if (failed(made))
    return failure();
  PassManager &pm = **made;
  lattice::LatticeObservePassOptions observe;
  observe.weights = weights;
  pm.addPass(lattice::createLatticeObservePass(observe));
  pm.addPass(lattice::createLatticeExportObservationsPass());
  if (failed(pm.run(*probed)))
    return failure();
  if (failed(compileForHost(*probed, prefix, "calibration", modelDir,
                            /*plainWeights=*/false, argv0)))
    return failure();
  return firstProbe;
}

/// A float build of the model made in this run (calibration's, the
/// sensitivity measurements', or one for --check-outputs), as a path
/// prefix; empty when none was built.
static std::string floatBuild;

/// Warnings so far, from the passes' diagnostics and from the driver's own
/// checks (--werror fails on any).
static unsigned numWarnings = 0;

/// Prints a warning of the driver's own.
static void warn(const llvm::Twine &message) {
  llvm::errs() << "lattice-compile: warning: " << message << "\n";
  ++numWarnings;
}

/// With --werror, failure once any warning was given.
static LogicalResult checkWarnings() {
  if (!warningsAreErrors || numWarnings == 0)
    return success();
  llvm::errs() << "lattice-compile: error: " << numWarnings
               << (numWarnings == 1 ? " warning" : " warnings")
               << " with --werror\n";
  return failure();
}

/// Calibrates the float model `module` (external weights relative to
/// `modelDir`) on --calib, or on generated samples: its build with probes
/// goes to `work`, the statistics to `stats`.
static LogicalResult calibrateModule(ModuleOp module, StringRef modelDir,
                                     StringRef work, StringRef stats,
                                     const char *argv0) {
  // The samples first: bad data is reported before anything is built.
  FailureOr<std::unique_ptr<lattice::NpzFile>> samples =
      openCalibrationSamples();
  if (failed(samples))
    return failure();
  std::string prefix = (work + "/calibration").str();
  FailureOr<unsigned> firstProbe =
      buildProbedLibrary(module, modelDir, prefix, observeWeights, argv0);
  if (failed(firstProbe))
    return failure();
  floatBuild = prefix;
  lattice::compile::CalibrationOptions options;
  std::string library = prefix + ".so", weights = prefix + ".safetensors";
  options.library = library;
  options.weights = weights;
  options.firstProbe = *firstProbe;
  options.samples = samples->get();
  options.output = stats;
  options.bins = calibBins;
  options.xtx = calibXtX || selectedMethods.gptq || selectedMethods.awq;
  if (calib.empty())
    llvm::errs() << "lattice-compile: note: no calibration data given "
                    "(--calib); calibrating on "
                 << options.generatedSamples
                 << " generated inputs (normal floats, integers in [0, 64)). "
                    "Statistics of generated data misrepresent real "
                    "activations: give representative inputs for real use.\n";
#if defined(__GLIBC__)
  // What building the probed model freed goes back to the system before
  // calibration, the compilation's peak with GPTQ (15 MiB on 25 M weights).
  malloc_trim(0);
#endif
  std::vector<std::string> warnings;
  options.warnings = &warnings;
  if (llvm::Error error = lattice::compile::calibrate(options)) {
    llvm::errs() << "lattice-compile: " << llvm::toString(std::move(error))
                 << "\n";
    return failure();
  }
  for (const std::string &warning : warnings)
    warn(warning);
  return success();
}

/// The float matmuls of `entry` by QEP stage: a layer's stage is the number
/// of matmuls on the longest path from the function's arguments to its
/// input, so that the layers of one stage do not feed each other and all
/// those before it are quantized when its statistics are gathered.
static FailureOr<std::vector<std::vector<std::string>>>
getQEPStages(func::FuncOp entry) {
  DenseMap<Value, unsigned> depth;
  llvm::StringMap<unsigned> stageOf;
  std::vector<std::string> order;
  WalkResult walk = entry.walk<WalkOrder::PreOrder>([&](Operation *op) {
    unsigned d = 0;
    for (Value operand : op->getOperands())
      d = std::max(d, depth.lookup(operand));
    if (auto matmul = dyn_cast<lattice::MatmulOp>(op)) {
      if (isa<FloatType>(matmul.getRhs().getType().getElementType()) &&
          isa<FloatType>(matmul.getLhs().getType().getElementType())) {
        std::string name = lattice::getLayerName(matmul);
        if (name.empty()) {
          matmul.emitError("QEP needs a name for every layer, to gather the "
                           "statistics of its input");
          return WalkResult::interrupt();
        }
        unsigned stage = depth.lookup(matmul.getLhs());
        auto [it, inserted] = stageOf.try_emplace(name, stage);
        if (inserted)
          order.push_back(name);
        else // A weight used at several depths: its last use decides.
          it->second = std::max(it->second, stage);
        d = stage + 1;
      }
    }
    for (Value result : op->getResults())
      depth[result] = d;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  std::vector<std::vector<std::string>> stages;
  for (const std::string &name : order) {
    unsigned stage = stageOf.lookup(name);
    if (stages.size() <= stage)
      stages.resize(stage + 1);
    stages[stage].push_back(name);
  }
  llvm::erase_if(stages, [](const auto &names) { return names.empty(); });
  return stages;
}

/// QEP: quantizes `module` (after the recipe's prologue) a stage of layers
/// at a time, each stage's statistics gathered from the build of the model
/// as it is then (the layers before it quantized) against the float
/// model's build; `options` are the recipe pipeline's. The statistics of
/// every layer go to `work`/qep.safetensors, from which lattice-opt can
/// repeat the quantization (qep-stats).
static LogicalResult
quantizeWithQEP(ModuleOp module, StringRef modelDir, StringRef work,
                const lattice::Recipe &recipe,
                const lattice::RecipePipelineOptions &options,
                const char *argv0) {
  FailureOr<std::unique_ptr<lattice::NpzFile>> samples =
      openCalibrationSamples();
  if (failed(samples))
    return failure();
  if (calib.empty())
    llvm::errs() << "lattice-compile: note: QEP gathers its statistics on "
                    "generated inputs (no --calib); give representative "
                    "inputs for real use.\n";
  FailureOr<func::FuncOp> entry = getEntry(module);
  if (failed(entry))
    return failure();
  FailureOr<std::vector<std::vector<std::string>>> stages =
      getQEPStages(*entry);
  if (failed(stages))
    return failure();
  std::string reference = (work + "/qep-float").str();
  FailureOr<unsigned> referenceProbe =
      buildProbedLibrary(module, modelDir, reference, false, argv0);
  if (failed(referenceProbe))
    return failure();
  std::string merged = (work + "/qep.safetensors").str();
  std::pair<std::string, std::string> metadata[] = {{"format", "lattice-stats"},
                                                    {"version", "1"}};
  auto writer = lattice::SafetensorsWriter::create(merged, metadata);
  if (!writer) {
    llvm::errs() << "lattice-compile: " << llvm::toString(writer.takeError())
                 << "\n";
    return failure();
  }
  auto fail = [](llvm::Error error) {
    llvm::errs() << "lattice-compile: " << llvm::toString(std::move(error))
                 << "\n";
    return failure();
  };
  auto start = std::chrono::steady_clock::now();
  size_t done = 0, total = 0;
  for (const std::vector<std::string> &names : *stages)
    total += names.size();
  for (auto [index, names] : llvm::enumerate(*stages)) {
    std::string prefix = (work + "/qep-stage").str();
    // A library is loaded once per process: each stage's has its own name.
    std::string library = prefix + std::to_string(index);
    FailureOr<unsigned> firstProbe =
        buildProbedLibrary(module, modelDir, library, false, argv0);
    if (failed(firstProbe))
      return failure();
    lattice::compile::CrossMomentOptions gather;
    std::string so = library + ".so", weights = library + ".safetensors";
    std::string referenceSo = reference + ".so",
                referenceWeights = reference + ".safetensors";
    std::string stats = library + ".stats.safetensors";
    gather.library = so;
    gather.weights = weights;
    gather.firstProbe = *firstProbe;
    gather.reference = referenceSo;
    gather.referenceWeights = referenceWeights;
    gather.samples = samples->get();
    gather.output = stats;
    for (const std::string &name : names)
      gather.probes.push_back(lattice::getInputProbeName(name));
    if (llvm::Error error = lattice::compile::calibrateCrossMoments(gather))
      return fail(std::move(error));
    // The build is loaded; its files are not needed any more.
    for (StringRef extension : {".so", ".safetensors", ".o", ".c", ".h"})
      llvm::sys::fs::remove(library + extension.str());
    {
      llvm::Expected<std::unique_ptr<lattice::SafetensorsFile>> read =
          lattice::SafetensorsFile::open(stats);
      if (!read)
        return fail(read.takeError());
      for (const std::string &name : (*read)->getNames()) {
        const lattice::SafetensorsEntry *tensor = (*read)->lookup(name);
        if (llvm::Error error = (*writer)->add(name, tensor->dtype,
                                               tensor->shape, tensor->data))
          return fail(std::move(error));
      }
    }
    FailureOr<std::unique_ptr<PassManager>> made =
        makePassManager(module.getContext());
    if (failed(made))
      return failure();
    lattice::RecipePipelineOptions stage;
    stage.floatStats = options.floatStats.getValue();
    stage.recipeFile = options.recipeFile.getValue();
    stage.qepStats = stats;
    stage.layers = ArrayRef<std::string>(names);
    std::string error;
    if (failed(lattice::buildRecipePipeline(**made, recipe, stage, error,
                                            lattice::RecipePart::Quantize))) {
      llvm::errs() << "lattice-compile: " << error << "\n";
      return failure();
    }
    if (failed((*made)->run(module)))
      return failure();
    llvm::sys::fs::remove(stats);
    done += names.size();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::errs() << llvm::formatv(
        "lattice-compile: QEP: stage {0} of {1} ({2}), layer {3} of {4}, "
        "{5:f1} s\n",
        index + 1, stages->size(), llvm::join(names, ", "), done, total,
        seconds);
  }
  for (StringRef extension : {".so", ".safetensors", ".o", ".c", ".h"})
    llvm::sys::fs::remove(reference + extension.str());
  if (llvm::Error error = (*writer)->finish())
    return fail(std::move(error));
  return success();
}

/// Mixed precision's measurements: builds the float model `module`
/// (external weights relative to `modelDir`) into `work`, runs it on --calib
/// (or generated samples) with each layer's weight rounded to each
/// candidate of `file` (or the default ones) in turn, and writes the errors
/// to `output`.
static LogicalResult measureSensitivity(ModuleOp module, StringRef modelDir,
                                        StringRef work, StringRef output,
                                        const lattice::RecipeFile *file,
                                        const char *argv0) {
  FailureOr<std::unique_ptr<lattice::NpzFile>> samples =
      openCalibrationSamples();
  if (failed(samples))
    return failure();
  lattice::compile::SensitivityOptions options;
  if (file && file->metric)
    options.metric = *file->metric;
  if (file && !file->candidates.empty())
    options.candidates = file->candidates;
  else
    for (StringRef candidate : lattice::getDefaultPrecisionCandidates())
      options.candidates.push_back(candidate.str());
  // The layers that lattice-assign-precision will assign, by the name of
  // their weight in the build.
  FailureOr<func::FuncOp> entry = getEntry(module);
  if (failed(entry))
    return failure();
  WalkResult walk = entry->walk([&](lattice::MatmulOp op) {
    if (!lattice::hasFloatWeight(op))
      return WalkResult::advance();
    // The weight's name in the build's weights file: a lattice.weight's,
    // or a constant's name location (lattice-externalize-weights).
    std::string weight;
    Operation *source = op.getRhs().getDefiningOp();
    if (auto named = dyn_cast<lattice::WeightOp>(source))
      weight = named.getName().str();
    else if (auto loc = dyn_cast<NameLoc>(source->getLoc()))
      weight = loc.getName().str();
    if (weight.empty()) {
      op.emitError() << "mixed precision measures layers by their weight's "
                        "name; this layer's weight has none";
      return WalkResult::interrupt();
    }
    // A weight that several matmuls share is measured once.
    std::string name = lattice::getLayerName(op);
    if (llvm::any_of(options.layers,
                     [&](const auto &layer) { return layer.name == name; }))
      return WalkResult::advance();
    RankedTensorType type = op.getRhs().getType();
    options.layers.push_back(
        {name, weight, type.getDimSize(0), type.getDimSize(1)});
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  std::string prefix = (work + "/sensitivity").str();
  {
    // The copy shares the weights loaded in `module`, which lowering it must
    // not free.
    lattice::WeightBlobs::KeepWeights keep(
        lattice::getWeightBlobs(module.getContext()), module);
    OwningOpRef<ModuleOp> copy = module.clone();
    if (failed(compileForHost(*copy, prefix, "sensitivity", modelDir,
                              /*plainWeights=*/true, argv0)))
      return failure();
  }
  floatBuild = prefix;
  std::string library = prefix + ".so", weights = prefix + ".safetensors";
  options.library = library;
  options.weights = weights;
  options.samples = samples->get();
  options.output = output;
#if defined(__GLIBC__)
  // What building the float model freed goes back to the system before its
  // weights are copied for the measurements.
  malloc_trim(0);
#endif
  if (calib.empty())
    llvm::errs() << "lattice-compile: note: no calibration data given "
                    "(--calib); measuring the layers' sensitivity on "
                 << options.generatedSamples
                 << " generated inputs (normal floats, integers in [0, 64)). "
                    "Give representative inputs for real use.\n";
  if (llvm::Error error = lattice::compile::measureSensitivity(options)) {
    llvm::errs() << "lattice-compile: " << llvm::toString(std::move(error))
                 << "\n";
    return failure();
  }
  return success();
}

/// The float weights (of matmuls) above which --check-outputs, not given,
/// builds no float model of its own.
static constexpr int64_t kLargestCheckedWeights = int64_t(1) << 30;

/// Whether the library is measured against the float model
/// (--check-outputs): a quantized one, which this process can run.
static bool wantsOutputCheck() {
  return checkOutputs && selectedRecipe && selectedRecipe->name != "f32" &&
         target == "cpu" && targetCPU == "native";
}

/// Measures the library at `prefix` against floatBuild on the calibration
/// samples: a note per model output (the first `modelOutputs` of the
/// library), a warning below --min-output-sqnr.
static LogicalResult checkOutputQuality(StringRef prefix,
                                        unsigned modelOutputs) {
  FailureOr<std::unique_ptr<lattice::NpzFile>> samples =
      openCalibrationSamples();
  if (failed(samples))
    return failure();
  lattice::compile::OutputCheckOptions options;
  options.reference = floatBuild + ".so";
  options.referenceWeights = floatBuild + ".safetensors";
  options.library = (prefix + ".so").str();
  options.weights = (prefix + ".safetensors").str();
  options.samples = samples->get();
  options.outputs = modelOutputs;
  int64_t used = 0;
  llvm::Expected<std::vector<lattice::compile::OutputQuality>> measured =
      lattice::compile::compareOutputs(options, used);
  if (!measured) {
    llvm::errs() << "lattice-compile: checking the outputs: "
                 << llvm::toString(measured.takeError()) << "\n";
    return failure();
  }
  std::string on = (llvm::Twine(" on ") + llvm::Twine(used) +
                    (calib.empty() ? " generated" : " calibration") +
                    (used == 1 ? " sample" : " samples"))
                       .str();
  for (const lattice::compile::OutputQuality &output : *measured) {
    std::string sqnr = std::isfinite(output.sqnrDb)
                           ? llvm::formatv("{0:F2}", output.sqnrDb).str()
                           : lattice::formatNumber(output.sqnrDb);
    llvm::errs() << "lattice-compile: note: output '" << output.name
                 << "': SQNR " << sqnr << " dB against the float model" << on
                 << "\n";
    if (!(output.sqnrDb >= minOutputSqnr))
      warn("output '" + output.name + "' keeps " + sqnr +
           " dB SQNR against the float model" + on + ", below " +
           lattice::formatNumber(minOutputSqnr) +
           " dB: the recipe loses most of its signal (more bits, smaller "
           "groups, a calibrated method or the mixed recipe keep more)");
  }
  return success();
}

/// Runs the recipe of --recipe on `module`, whose external weights are
/// relative to `modelDir`: calibration when the recipe needs statistics
/// that --float-stats does not give, the weights loaded, then the
/// lattice-recipe pipeline.
static LogicalResult quantize(ModuleOp module, StringRef modelDir,
                              const char *argv0) {
  const lattice::Recipe *chosen = selectedRecipe;
  FailureOr<std::unique_ptr<PassManager>> made =
      makePassManager(module.getContext());
  if (failed(made))
    return failure();
  PassManager &pm = **made;
  // Probes on the layers' outputs, named as the float model's layers,
  // before the recipe changes them.
  auto addOutputProbes = [&] {
    if (!observeOutputs)
      return;
    lattice::LatticeObservePassOptions observe;
    observe.weights = false;
    observe.outputs = true;
    pm.addPass(lattice::createLatticeObservePass(observe));
  };
  if (!chosen || chosen->name == "f32") {
    addOutputProbes();
    if (exportObservations || observeOutputs)
      pm.addPass(lattice::createLatticeExportObservationsPass());
    return pm.run(module);
  }
  std::string stats = floatStats;
  bool calibrates =
      stats.empty() &&
      (chosen->activations == lattice::RecipeActivations::Static ||
       selectedMethods.gptq || selectedMethods.awq || selectedMethods.qep ||
       selectedMethods.outlierThreshold > 0 ||
       (chosen->activations == lattice::RecipeActivations::Dynamic &&
        !calib.empty()));
  std::string work = outputPrefix + ".work";
  if (calibrates) {
    stats = work + "/stats.safetensors";
    if (failed(calibrateModule(module, modelDir, work, stats, argv0)))
      return failure();
  }
  lattice::RecipePipelineOptions options;
  if (chosen->name == "mixed") {
    options.sensitivity = work + "/sensitivity.json";
    options.precisionReport = work + "/precision.json";
    if (failed(measureSensitivity(
            module, modelDir, work, options.sensitivity,
            selectedRecipeFile ? &*selectedRecipeFile : nullptr, argv0)))
      return failure();
  }
  if (wantsOutputCheck() && floatBuild.empty() &&
      !checkOutputs.getNumOccurrences()) {
    // A float build only for the check doubles the compilation of a large
    // model: that takes an explicit --check-outputs.
    int64_t bytes = 0;
    module.walk([&](lattice::MatmulOp op) {
      if (lattice::hasFloatWeight(op) && op.getRhs().getType().hasStaticShape())
        bytes += op.getRhs().getType().getNumElements() * 4;
    });
    if (bytes > kLargestCheckedWeights) {
      llvm::errs() << "lattice-compile: note: the outputs are not checked "
                      "against the float model: "
                   << bytes / (1 << 20)
                   << " MiB of float weights would take a float build of "
                      "their own (--check-outputs=true to check them)\n";
      checkOutputs = false;
    }
  }
  if (wantsOutputCheck() && floatBuild.empty()) {
    // The float model to measure the library against.
    lattice::WeightBlobs::KeepWeights keep(
        lattice::getWeightBlobs(module.getContext()), module);
    OwningOpRef<ModuleOp> copy = module.clone();
    std::string prefix = work + "/reference";
    if (failed(compileForHost(*copy, prefix, "reference", modelDir,
                              /*plainWeights=*/false, argv0)))
      return failure();
    floatBuild = prefix;
  }
  addOutputProbes();
  lattice::LatticeLoadWeightsPassOptions load;
  load.dir = modelDir.str();
  pm.addPass(lattice::createLatticeLoadWeightsPass(load));
  options.floatStats = stats;
  options.recipeFile = recipeFile;
  options.reportFile = reportFile;
  // GPTQ takes seconds a layer on large models: say where it is. (QEP's
  // sweep says so per stage.)
  options.progress = selectedMethods.gptq && !selectedMethods.qep;
  std::string error;
  if (!selectedMethods.qep) {
    if (failed(lattice::buildRecipePipeline(pm, *chosen, options, error))) {
      llvm::errs() << "lattice-compile: " << error << "\n";
      return failure();
    }
    if (exportObservations || observeOutputs)
      pm.addPass(lattice::createLatticeExportObservationsPass());
    return pm.run(module);
  }
  // QEP: the prologue, the layers a stage at a time, the epilogue.
  if (failed(lattice::buildRecipePipeline(pm, *chosen, options, error,
                                          lattice::RecipePart::Prologue))) {
    llvm::errs() << "lattice-compile: " << error << "\n";
    return failure();
  }
  if (failed(pm.run(module)) ||
      failed(quantizeWithQEP(module, modelDir, work, *chosen, options, argv0)))
    return failure();
  FailureOr<std::unique_ptr<PassManager>> rest =
      makePassManager(module.getContext());
  if (failed(rest))
    return failure();
  if (failed(lattice::buildRecipePipeline(**rest, *chosen, options, error,
                                          lattice::RecipePart::Epilogue))) {
    llvm::errs() << "lattice-compile: " << error << "\n";
    return failure();
  }
  if (exportObservations || observeOutputs)
    (*rest)->addPass(lattice::createLatticeExportObservationsPass());
  return (*rest)->run(module);
}

static LogicalResult compile(const char *argv0) {
  DialectRegistry registry;
  lattice::registerLatticeDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  // Remarks are dropped unless asked for (handlers run newest first; a
  // handler that fails passes the diagnostic on).
  ScopedDiagnosticHandler remarkFilter(&context, [](Diagnostic &diagnostic) {
    return success(diagnostic.getSeverity() == DiagnosticSeverity::Remark &&
                   !showRemarks);
  });
  // Counts the passes' warnings, and passes them on to be printed.
  ScopedDiagnosticHandler warningCounter(&context, [](Diagnostic &diagnostic) {
    numWarnings += diagnostic.getSeverity() == DiagnosticSeverity::Warning;
    return failure();
  });
  std::string error;
  auto buffer = openInputFile(inputFile, &error);
  if (!buffer) {
    llvm::errs() << "lattice-compile: " << error << "\n";
    return failure();
  }
  sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return failure();
  StringRef modelDir = llvm::sys::path::parent_path(inputFile);
  {
    // The graph rewrites every model gets (norms raised, batch norms
    // folded), before calibration sees it.
    FailureOr<std::unique_ptr<PassManager>> prepare = makePassManager(&context);
    if (failed(prepare))
      return failure();
    lattice::ModelPreparationOptions options;
    options.dir = modelDir.str();
    lattice::buildModelPreparationPipeline(**prepare, options);
    if (failed((*prepare)->run(*module)))
      return failure();
  }
  if (!statsOutput.empty())
    return failure(
        failed(calibrateModule(*module, modelDir, outputPrefix + ".work",
                               statsOutput, argv0)) ||
        failed(checkWarnings()));
  std::string name = modelName;
  if (name.empty())
    name = llvm::sys::path::stem(outputPrefix).str();
  // The model's outputs, before any probes the recipe's options add.
  FailureOr<func::FuncOp> entry = getEntry(*module);
  if (failed(entry))
    return failure();
  unsigned modelOutputs = entry->getNumResults();
  if (failed(quantize(*module, modelDir, argv0)) || failed(checkWarnings()))
    return failure();
  BuildOptions build{target, targetCPU, embedWeights};
  if (failed(
          compileModule(*module, outputPrefix, name, modelDir, build, argv0)))
    return failure();
  if (!wantsOutputCheck() || floatBuild.empty())
    return success();
  if (succeeded(checkOutputQuality(outputPrefix, modelOutputs)) &&
      succeeded(checkWarnings()))
    return success();
  // As for the warnings before it (--werror), no library is left.
  for (StringRef extension : {".so", ".h", ".c", ".o", ".safetensors"})
    (void)llvm::sys::fs::remove(outputPrefix + extension);
  return failure();
}

/// The function of `module` to compile: --entry, or the only public one.
static FailureOr<func::FuncOp> getEntry(ModuleOp module) {
  func::FuncOp entry;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() ||
        (entryName.empty() ? !func.isPublic() : func.getName() != entryName))
      continue;
    if (entry)
      return module.emitError()
             << "more than one public function; choose one with --entry";
    entry = func;
  }
  if (!entry)
    return module.emitError()
           << (entryName.empty() ? "no public function to compile"
                                 : "no function named '" + entryName + "'");
  return entry;
}

/// Lowers `module` (external weights relative to `modelDir`) for `build`
/// and writes `libraryPrefix`.so, .h, .c, .o and .safetensors (the weights
/// in the library instead with build.embed), with the C functions named
/// after `name`.
static LogicalResult compileModule(ModuleOp module, StringRef libraryPrefix,
                                   StringRef name, StringRef modelDir,
                                   const BuildOptions &build,
                                   const char *argv0) {
  StringRef device = build.device;
  MLIRContext &context = *module.getContext();
  FailureOr<func::FuncOp> found = getEntry(module);
  if (failed(found))
    return failure();
  func::FuncOp entry = *found;
  bool isIdentifier =
      !name.empty() && !isdigit(name[0]) && llvm::all_of(name, [](char c) {
        return isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
  if (!isIdentifier) {
    llvm::errs() << "lattice-compile: '" << name
                 << "' is not a C identifier; choose one with --name\n";
    return failure();
  }

  if (device != "cpu" && device != "cuda") {
    llvm::errs() << "lattice-compile: unknown --target '" << device
                 << "' (expected cpu or cuda)\n";
    return failure();
  }

  if (failed(lattice::verifyModelSignature(entry)))
    return failure();
  bool cuda = device == "cuda";
  // The microkernels' fast paths need AVX2 at least (the pass leaves each
  // matmul to the kernel the target's vectors suit); elsewhere the
  // generated vector code is faster than their scalar fallback.
  FailureOr<unsigned> vectorBits = lattice::getTargetVectorBits(build.cpu);
  bool ukernels =
      !cuda && useUkernels && succeeded(vectorBits) && *vectorBits >= 256;
  std::string prefix = libraryPrefix.str();
  StringRef outputDir = llvm::sys::path::parent_path(prefix);
  if (!outputDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
      llvm::errs() << "lattice-compile: cannot create '" << outputDir
                   << "': " << ec.message() << "\n";
      return failure();
    }
  std::string weightsPath = prefix + ".safetensors";
  {
    FailureOr<std::unique_ptr<PassManager>> externalize =
        makePassManager(&context);
    if (failed(externalize))
      return failure();
    lattice::ExternalizeWeightsPassOptions options;
    options.weightsFile = weightsPath;
    options.dir = modelDir.str();
    options.entry = entry.getName().str();
    options.ukernelVectorBits =
        ukernels && !build.plainWeights ? *vectorBits : 0;
    (*externalize)->addPass(lattice::createExternalizeWeightsPass(options));
    if (failed((*externalize)->run(module)))
      return failure();
  }
  // The C API, from the signature and the arguments that the pass added.
  FailureOr<lattice::ModelInterface> model =
      lattice::describeModel(entry, name);
  if (failed(model))
    return failure();
  model->cuda = cuda;
  std::string symbol = model->getEntrySymbol();
  entry.setName(symbol);

  // Lower to the LLVM dialect (with the GPU code in gpu.binary ops).
  FailureOr<std::unique_ptr<PassManager>> made = makePassManager(&context);
  if (failed(made))
    return failure();
  PassManager &pm = **made;
  if (cuda) {
    lattice::GPUPipelineOptions options;
    options.chip = gpuChip;
    options.format = gpuFormat;
    options.barePointerABI = true;
    std::string error;
    FailureOr<std::string> toolkit = lattice::findCUDAToolkit("", error);
    if (succeeded(toolkit))
      options.cudaPath = *toolkit;
    if (failed(toolkit) ||
        failed(lattice::buildLatticeGPUPipeline(pm, options, &error))) {
      llvm::errs() << "lattice-compile: " << error << "\n";
      return failure();
    }
  } else {
    lattice::CPUPipelineOptions options;
    options.targetCPU = build.cpu.str();
    options.numThreads = numThreads;
    options.barePointerABI = true;
    options.workspaceArgument = true;
    options.threadPool = true;
    options.ukernels = ukernels;
    if (failed(lattice::buildLatticeCPUPipeline(pm, options))) {
      llvm::errs() << "lattice-compile: unknown --target-cpu '" << build.cpu
                   << "'\n";
      return failure();
    }
  }
  if (failed(pm.run(module)))
    return failure();
  // The workspace that the runtime allocates for the temporaries, if any.
  if (auto lowered = module.lookupSymbol<LLVM::LLVMFuncOp>(symbol))
    if (auto bytes = lowered->getAttrOfType<IntegerAttr>(
            lattice::kWorkspaceBytesAttrName)) {
      model->workspaceBytes = bytes.getInt();
      lowered->removeAttr(lattice::kWorkspaceBytesAttrName);
      // The glue passes it; LLVM has no use for the marker.
      lowered.removeArgAttr(lowered.getNumArguments() - 1,
                            lattice::kWorkspaceAttrName);
    }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, name);
  if (!llvmModule)
    return module.emitError() << "cannot translate to LLVM IR";

  std::string objectPath = prefix + ".o", glueSource = prefix + ".c";
  std::string headerPath = prefix + ".h", libraryPath = prefix + ".so";
  if (failed(emitObject(*llvmModule, objectPath, build.cpu)))
    return failure();
  if (build.embed) {
    SmallString<256> absoluteWeights(weightsPath);
    llvm::sys::fs::make_absolute(absoluteWeights);
    model->embeddedWeights = absoluteWeights.str().str();
  }
  if (failed(writeFile(headerPath,
                       [&](llvm::raw_ostream &os) {
                         lattice::writeModelHeader(os, *model);
                       })) ||
      failed(writeFile(glueSource, [&](llvm::raw_ostream &os) {
        lattice::writeModelGlue(os, *model,
                                llvm::sys::path::filename(headerPath));
      })))
    return failure();

  // The runtime header goes next to the generated one.
  std::string toolDir = getToolDir(argv0);
  SmallString<256> runtimeHeader(toolDir), runtimeLibrary(toolDir);
  llvm::sys::path::append(runtimeHeader, "..", "include", "lattice_runtime.h");
  llvm::sys::path::append(runtimeLibrary, "..", "lib", "liblattice_runtime.a");
  SmallString<256> headerCopy(llvm::sys::path::parent_path(headerPath));
  llvm::sys::path::append(headerCopy, "lattice_runtime.h");
  if (std::error_code ec =
          llvm::sys::fs::copy_file(runtimeHeader, headerCopy)) {
    llvm::errs() << "lattice-compile: cannot copy '" << runtimeHeader
                 << "': " << ec.message() << "\n";
    return failure();
  }

  // Link.
  auto cc = llvm::sys::findProgramByName(cCompiler);
  if (!cc) {
    llvm::errs() << "lattice-compile: C compiler '" << cCompiler
                 << "' not found; choose one with --cc\n";
    return failure();
  }
  std::string includeFlag =
      "-I" + llvm::sys::path::parent_path(headerPath).str();
  if (includeFlag == "-I")
    includeFlag = "-I.";
  std::string ompDir = "-L" LATTICE_OPENMP_LIBRARY_DIR;
  std::string ompRPath = "-Wl,-rpath," LATTICE_OPENMP_LIBRARY_DIR;
  // -z nodelete: the runtime's pool threads run code of the library until
  // the process ends; unloading it under them (dlclose) would crash them.
  SmallVector<StringRef> args = {*cc,
                                 "-O2",
                                 "-fPIC",
                                 "-shared",
                                 "-Wl,-z,nodelete",
                                 includeFlag,
                                 glueSource,
                                 objectPath,
                                 runtimeLibrary.str(),
                                 ompDir,
                                 "-lomp",
                                 "-lm",
                                 ompRPath,
                                 "-o",
                                 libraryPath};
  std::string message;
  int status =
      llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (status != 0) {
    llvm::errs() << "lattice-compile: linking '" << libraryPath << "' failed"
                 << (message.empty() ? "" : ": ") << message << "\n";
    return failure();
  }
  // Embedded weights live in the library only.
  if (build.embed)
    llvm::sys::fs::remove(weightsPath);
  return success();
}

/// Runs `python3 -m lattice.compiler` with this command's options: ONNX
/// models and recipes go through the Python package (import, calibration,
/// the quantization passes, then this tool again). Returns the exit code.
static int runModelDriver(const char *argv0) {
  std::string toolDir = getToolDir(argv0);
  const char *pythonOverride = std::getenv("LATTICE_PYTHON");
  std::string python = pythonOverride ? pythonOverride : LATTICE_PYTHON;
  SmallVector<std::string> args = {python,    "-m", "lattice",
                                   inputFile, "-o", outputPrefix};
  if (!recipe.empty())
    args.append({"--recipe", recipe});
  if (!recipeFile.empty())
    args.append({"--recipe-file", recipeFile});
  if (!calib.empty())
    args.append({"--calib", calib});
  for (const std::string &shape : shapes)
    args.append({"--shape", shape});
  for (const std::string &binding : bindings)
    args.append({"--bind", binding});
  if (target.getNumOccurrences())
    args.append({"--target", target});
  if (gpuChip.getNumOccurrences())
    args.append({"--gpu-chip", gpuChip});
  if (gpuFormat.getNumOccurrences())
    args.append({"--gpu-format", gpuFormat});
  if (targetCPU.getNumOccurrences())
    args.append({"--target-cpu", targetCPU});
  if (numThreads.getNumOccurrences())
    args.append({"--num-threads", std::to_string(numThreads)});
  if (showRemarks)
    args.push_back("--remarks");
  if (checkOutputs.getNumOccurrences())
    args.push_back(checkOutputs ? "--check-outputs=true"
                                : "--check-outputs=false");
  if (minOutputSqnr.getNumOccurrences())
    args.push_back("--min-output-sqnr=" +
                   std::to_string(minOutputSqnr.getValue()));

  // The package comes from the source tree this tool was built from; the
  // tools it runs are this build's.
  SmallString<256> buildDir(toolDir);
  llvm::sys::path::remove_filename(buildDir);
  std::vector<std::string> environment;
  for (char **entry = environ; *entry; ++entry) {
    StringRef variable(*entry);
    if (!variable.starts_with("PYTHONPATH=") &&
        !variable.starts_with("LATTICE_BUILD_DIR="))
      environment.push_back(variable.str());
  }
  std::string pythonPath = LATTICE_PYTHON_DIR;
  if (const char *existing = std::getenv("PYTHONPATH"))
    pythonPath += ":" + std::string(existing);
  environment.push_back("PYTHONPATH=" + pythonPath);
  environment.push_back("LATTICE_BUILD_DIR=" + buildDir.str().str());

  SmallVector<StringRef> argRefs(args.begin(), args.end());
  SmallVector<StringRef> envRefs(environment.begin(), environment.end());
  std::string message;
  int status =
      llvm::sys::ExecuteAndWait(python, argRefs, envRefs, {}, 0, 0, &message);
  if (status < 0) {
    llvm::errs() << "lattice-compile: cannot run '" << python << "'"
                 << (message.empty() ? "" : ": ") << message
                 << " (set LATTICE_PYTHON to a python3 with numpy and onnx)\n";
    return 1;
  }
  return status;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
#ifdef M_MMAP_THRESHOLD
  // Weights and their copies (MiBs each, freed as the passes go) get pages
  // of their own that go back to the system when freed; glibc's default
  // threshold grows to 32 MiB after the first such free, and the heap keeps
  // what smaller weights leave behind.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  lattice::registerLatticePasses();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  // Every recipe, as the registry has them.
  std::string recipes = "Quantization recipe: ";
  llvm::raw_string_ostream names(recipes);
  llvm::interleaveComma(lattice::getRecipes(), names,
                        [&](const lattice::Recipe &r) { names << r.name; });
  recipe.setDescription(recipes);
  // LLVM's and MLIR's options (the printing of IR after passes, ...) go to
  // --help-hidden: --help shows this tool's.
  for (auto &entry : llvm::cl::getRegisteredOptions()) {
    llvm::cl::Option *option = entry.second;
    if (option->getOptionHiddenFlag() != llvm::cl::NotHidden)
      continue;
    bool shown = llvm::any_of(
        option->Categories, [](const llvm::cl::OptionCategory *category) {
          return category == &toolCategory || category == &recipeCategory ||
                 category->getName() == "Generic Options";
        });
    if (!shown)
      option->setHiddenFlag(llvm::cl::Hidden);
  }
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "lattice-compile: compile a model to a native shared library\n\n"
      "  lattice-compile model.mlir -o out/model\n"
      "  lattice-compile model.onnx --recipe w4a16 [--calib data.npz] -o "
      "out/model\n");
  if (!std::isfinite(minOutputSqnr)) {
    llvm::errs() << "lattice-compile: --min-output-sqnr must be a finite "
                    "number of dB, got "
                 << lattice::formatNumber(minOutputSqnr) << "\n";
    return 1;
  }
  const lattice::Recipe *chosen = nullptr;
  if (!recipe.empty() && !recipeFile.empty()) {
    llvm::errs() << "lattice-compile: give --recipe or --recipe-file (which "
                    "names its recipe), not both\n";
    return 1;
  }
  if (!recipeFile.empty()) {
    llvm::Expected<lattice::RecipeFile> file =
        lattice::readRecipeFile(recipeFile);
    if (!file) {
      llvm::errs() << "lattice-compile: " << llvm::toString(file.takeError())
                   << "\n";
      return 1;
    }
    chosen = file->recipe;
    selectedMethods = lattice::getRecipeMethods(*chosen, &*file);
    selectedRecipeFile = std::move(*file);
    if (chosen->name == "f32") {
      llvm::errs() << "lattice-compile: recipe file '" << recipeFile
                   << "': recipe 'f32' quantizes nothing\n";
      return 1;
    }
  }
  if (!recipe.empty()) {
    chosen = lattice::lookupRecipe(recipe);
    if (!chosen) {
      llvm::errs() << "lattice-compile: unknown recipe '" << recipe
                   << "'; choose one of ";
      llvm::interleaveComma(
          lattice::getRecipes(), llvm::errs(),
          [](const lattice::Recipe &r) { llvm::errs() << r.name; });
      llvm::errs() << "\n";
      return 1;
    }
  }
  // ONNX models go through the Python package, which imports them and
  // calls this tool again on the result.
  if (!shapes.empty() || !bindings.empty() ||
      StringRef(inputFile).ends_with(".onnx")) {
    if (!floatStats.empty() || !reportFile.empty() || exportObservations ||
        observeOutputs || !statsOutput.empty()) {
      llvm::errs() << "lattice-compile: --float-stats, --report-file, "
                      "--export-observations, --observe-outputs and "
                      "--stats-output apply to .mlir models\n";
      return 1;
    }
    return runModelDriver(argv[0]);
  }
  if (!statsOutput.empty()) {
    if (chosen || calib.empty() || !floatStats.empty() || !reportFile.empty()) {
      llvm::errs() << "lattice-compile: --stats-output calibrates on --calib "
                      "alone, without a recipe, statistics or report\n";
      return 1;
    }
    return failed(compile(argv[0])) ? 1 : 0;
  }
  if (!chosen &&
      (!floatStats.empty() || !reportFile.empty() || !calib.empty())) {
    llvm::errs() << "lattice-compile: --calib, --float-stats and "
                    "--report-file need a --recipe\n";
    return 1;
  }
  if (!calib.empty() && !floatStats.empty()) {
    llvm::errs() << "lattice-compile: give --calib (calibration data) or "
                    "--float-stats (statistics gathered before), not both\n";
    return 1;
  }
  if (chosen && recipeFile.empty())
    selectedMethods = lattice::getRecipeMethods(*chosen, nullptr);
  selectedRecipe = chosen;
  if (!calib.empty() &&
      chosen->activations == lattice::RecipeActivations::None &&
      !selectedMethods.gptq && !selectedMethods.awq && !selectedMethods.qep)
    llvm::errs() << "lattice-compile: note: recipe '" << chosen->name
                 << "' quantizes weights only; --calib "
                 << (wantsOutputCheck() ? "serves only to check the outputs"
                                        : "is not used")
                 << "\n";
  return failed(compile(argv[0])) ? 1 : 0;
}
