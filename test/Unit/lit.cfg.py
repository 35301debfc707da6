# -*- Python -*-
"""lit configuration that runs the GoogleTest unit tests, so that
check-lattice covers them next to the FileCheck tests."""

import os

import lit.formats

config.name = "LATTICE-Unit"
config.suffixes = []
config.test_source_root = os.path.join(config.lattice_obj_root, "unittests")
config.test_exec_root = config.test_source_root
config.test_format = lit.formats.GoogleTest(config.llvm_build_mode, "Tests")

# The sanitizer build instruments our code but not libMLIR.so: LLVM's
# allocators, inlined into our code, poison the unused part of their slabs,
# which libMLIR's own (uninstrumented) copies then hand out without
# unpoisoning, a false "use-after-poison" (the parser fuzzer found one).
# User poisoning is off, so that only real errors are reported.
config.environment["ASAN_OPTIONS"] = "allow_user_poisoning=0"
