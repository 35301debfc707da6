"""Lattice: Python side of the Lattice quantization compiler.

    import lattice
    model = lattice.compile("model.onnx", recipe="w4a16", calib="calib.npz")
    (y,) = model(x)

`lattice.compile` imports (ONNX), calibrates, quantizes and compiles a model
into a native library and returns it as a callable on numpy arrays
(`lattice.compiler`); `lattice.reference` is a numpy implementation of the
dialect's numerics, written from the op documentation and independent of
the C++ code: the oracle that compiled code is compared with.
"""

from . import reference
from .compiler import CompileError, RECIPES, compile
from .reports import Report, report

__all__ = ["reference", "compile", "CompileError", "RECIPES", "report", "Report"]
