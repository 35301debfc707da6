"""Limits and the error type of the ONNX importer."""

import math

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


def _numpy_type(info):
    """The numpy type of a graph input or output's declared element type."""
    from onnx import mapping
    numpy_type = mapping.TENSOR_TYPE_TO_NP_TYPE.get(info.type.tensor_type.elem_type)
    return None if numpy_type is None or numpy_type == object else numpy_type


class ShapeError(OnnxImportError):
    """Shapes that do not fit, found below the level of nodes (in the
    emitter's broadcasts): the importer adds the node to the message."""


def broadcast_shapes(*shapes):
    """The shape that `shapes` broadcast to, as numpy and ONNX define it.
    Shapes that do not broadcast, or a result above the element limit, are a
    ShapeError."""
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(rank):
        sizes = {int(s[axis - rank + len(s)]) for s in shapes if axis - rank + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ShapeError("shapes " + ", ".join(str(list(s)) for s in shapes) +
                             " do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    if math.prod(result) > _MAX_ELEMENTS:
        raise ShapeError(f"the broadcast shape {result} has more elements than Lattice "
                         f"supports ({_MAX_ELEMENTS})")
    return tuple(result)


class OnnxImportBug(RuntimeError):
    """An exception that the importer did not expect, raised while importing
    a node: a bug of the importer, not a diagnostic. The message names the
    node; the command-line drivers print it as an error, and the tests,
    which accept only OnnxImportError from bad models, fail on it."""
