"""Lattice: Python side of the Lattice quantization compiler.

`lattice.reference` is a numpy implementation of the dialect's numerics,
written from the op documentation (docs/Dialects/Lattice.md) and independent
of the C++ code: the oracle that compiled code is compared with.
"""

from . import reference

__all__ = ["reference"]
