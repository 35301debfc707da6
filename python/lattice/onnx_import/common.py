"""Limits and the error type of the ONNX importer."""

import numpy as np


MIN_OPSET, MAX_OPSET = 7, 18
# Float constants with at least this many elements go to the weights file.
_EXTERNAL_ELEMENTS = 1024
_MAX_ELEMENTS = 1 << 31
# Float initializers with at least this many bytes of raw data are mapped
# from the file rather than parsed into the protobuf.
_MAPPED_BYTES = 1 << 16

_NP_OF = {"f32": np.float32, "i32": np.int32, "i1": np.bool_}


class OnnxImportError(ValueError):
    """A model that cannot be imported; the message says which node and why."""
