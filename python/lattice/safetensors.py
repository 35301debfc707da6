"""Reading and writing safetensors files with numpy only.

The format: an 8-byte little-endian header size, a JSON header mapping each
tensor name to its dtype, shape and [begin, end) byte offsets into the data
that follows, and the data. Files read here are untrusted: every offset and
size is checked before use.
"""

import json
import mmap
import struct

import numpy as np

_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8,
    "BOOL": np.bool_,
}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


class SafetensorsError(ValueError):
    """A malformed or inconsistent safetensors file."""


def release_pages(array):
    """Gives the resident pages of a memory-mapped array (np.memmap, or a
    view of one) back to the system: they are read again from the file if
    touched, so a process that streams through a mapped file holds one
    tensor of it at a time. Does nothing for other arrays."""
    while isinstance(array, np.ndarray):
        mapping = getattr(array, "_mmap", None)
        if mapping is not None:
            if hasattr(mapping, "madvise"):
                mapping.madvise(mmap.MADV_DONTNEED)
            return
        array = array.base


def save(path, tensors, metadata=None):
    """Writes a dict of name -> numpy array, each tensor 64-byte aligned,
    straight from the arrays (no copy of the whole file in memory)."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    arrays, offset = [], 0
    for name, array in tensors.items():
        array = np.asarray(array)  # keeps 0-d arrays 0-d, unlike ascontiguousarray
        if array.dtype not in _NAMES:
            raise SafetensorsError(f"tensor '{name}': unsupported dtype {array.dtype}")
        header[name] = {"dtype": _NAMES[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        pad = -(offset + array.nbytes) % 64
        arrays.append((array, pad))
        offset += array.nbytes + pad
    text = json.dumps(header).encode()
    text += b" " * (-(8 + len(text)) % 64)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for array, pad in arrays:
            # (A non-contiguous array is copied here, one at a time.)
            f.write(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data
                    if array.size else b"")
            f.write(b"\0" * pad)
            release_pages(array)


def _unique_keys(pairs):
    """A JSON object's members as a dict; a key given twice is an error (a
    dict would keep the last one silently)."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key '{key}' appears twice")
        result[key] = value
    return result


def load(path, with_metadata=False):
    """Reads a safetensors file into a dict of name -> numpy array (and,
    with `with_metadata`, the header's `__metadata__` strings too)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise SafetensorsError(f"{path}: too short for a safetensors file")
    (size,) = struct.unpack("<Q", data[:8])
    if size > len(data) - 8:
        raise SafetensorsError(f"{path}: header size {size} does not fit in the file")
    try:
        header = json.loads(data[8:8 + size], object_pairs_hook=_unique_keys)
    except ValueError as error:
        raise SafetensorsError(f"{path}: header is not JSON: {error}") from None
    except RecursionError:
        raise SafetensorsError(f"{path}: header is JSON nested too deep to "
                               "read") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    payload = memoryview(data)[8 + size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            shape = [int(d) for d in entry["shape"]]
            begin, end = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: tensor '{name}' lacks dtype, shape "
                                   "or data_offsets") from None
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if (min(shape, default=0) < 0 or not 0 <= begin <= end <= len(payload)
                or end - begin != count * dtype.itemsize):
            raise SafetensorsError(f"{path}: tensor '{name}' has data_offsets "
                                   "that do not match its size")
        tensors[name] = np.frombuffer(payload[begin:end], dtype=dtype).reshape(shape).copy()
    if with_metadata:
        metadata = header.get("__metadata__", {})
        if not isinstance(metadata, dict):
            raise SafetensorsError(f"{path}: __metadata__ is not a JSON object")
        return tensors, {str(k): str(v) for k, v in metadata.items()}
    return tensors
