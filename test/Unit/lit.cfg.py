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
