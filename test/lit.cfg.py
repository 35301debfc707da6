# -*- Python -*-
"""lit configuration of the Lattice regression tests (FileCheck, diagnostics,
repository checks)."""

import os

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "LATTICE"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "Unit", "CMakeLists.txt", "lit.cfg.py",
                   "lit.site.cfg.py", "make-corpus.py"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lattice_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%lattice_src_root", config.lattice_src_root))
config.substitutions.append(("%lattice_obj_root", config.lattice_obj_root))
# The runtime libraries mlir-runner loads for printMemref* and friends.
mlir_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(
    ("%mlir_runner_utils", os.path.join(mlir_lib_dir, "libmlir_runner_utils.so")))
config.substitutions.append(
    ("%mlir_c_runner_utils",
     os.path.join(mlir_lib_dir, "libmlir_c_runner_utils.so")))

# LLVM's OpenMP runtime, which code from lattice-lower-to-cpu calls into.
config.substitutions.append(("%omp_lib", os.path.join(mlir_lib_dir, "libomp.so")))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# Strict FileCheck, as upstream MLIR's test suite uses it.
config.environment["FILECHECK_OPTS"] = (
    "-enable-var-scope --allow-unused-prefixes=false")

tool_dirs = [config.lattice_tools_dir, config.llvm_tools_dir]
tools = [
    "lattice-opt",
    "lattice-compile",
    "mlir-runner",
] + [
    ToolSubst(f"lattice-{name}-fuzzer", unresolved="ignore")
    for name in ["parser", "safetensors", "stats", "npz", "recipe", "loader"]
] + [
    ToolSubst("%PYTHON", config.python_executable, unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The fuzzers exist only in the sanitizer build.
if os.path.exists(os.path.join(config.lattice_tools_dir,
                               "lattice-parser-fuzzer")):
    config.available_features.add("fuzzer")

# The formatting check needs the clang-format that .clang-format targets.
if lit.util.which("clang-format-22"):
    config.available_features.add("clang-format")

# GPU code generation: gpu-module-to-binary links CUDA's libdevice and ptxas
# assembles the PTX; both come with CUDA's toolkit (CUDA_HOME, else
# /usr/local/cuda). GPU execution needs a device that answers.
cuda_root = (os.environ.get("CUDA_HOME") or os.environ.get("CUDA_ROOT")
             or "/usr/local/cuda")
if os.path.isdir(os.path.join(cuda_root, "nvvm", "libdevice")):
    config.available_features.add("cuda-toolkit")
else:
    lit_config.note(f"no CUDA toolkit under {cuda_root}: the tests that "
                    "generate PTX are unsupported")
ptxas = lit.util.which("ptxas", os.path.join(cuda_root, "bin") + os.pathsep
                       + config.environment["PATH"])
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))
else:
    lit_config.note("ptxas not found: the tests that assemble PTX are "
                    "unsupported")
config.substitutions.append(
    ("%lattice_cuda_runtime",
     os.path.join(config.lattice_obj_root, "lib", "liblattice_cuda_runtime.so")))


def _cuda_device_answers():
    """Whether the CUDA driver loads and sees a device (no GPU: False)."""
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (cuda.cuInit(0) == 0
            and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0)


if _cuda_device_answers():
    config.available_features.add("cuda-device")
else:
    lit_config.note("no CUDA device: the GPU execution tests are unsupported")

# The sanitizer build instruments our code but not libMLIR.so: LLVM's
# allocators, inlined into our code, poison the unused part of their slabs,
# which libMLIR's own (uninstrumented) copies then hand out without
# unpoisoning, a false "use-after-poison" (the parser fuzzer found one).
# User poisoning is off, so that only real errors are reported.
config.environment["ASAN_OPTIONS"] = "allow_user_poisoning=0"
