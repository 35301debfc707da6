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
    "mlir-runner",
    ToolSubst("lattice-parser-fuzzer", unresolved="ignore"),
    ToolSubst("%PYTHON", config.python_executable, unresolved="ignore"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# The fuzzer exists only in the sanitizer build.
if os.path.exists(os.path.join(config.lattice_tools_dir,
                               "lattice-parser-fuzzer")):
    config.available_features.add("fuzzer")

# The formatting check needs the clang-format that .clang-format targets.
if lit.util.which("clang-format-22"):
    config.available_features.add("clang-format")
