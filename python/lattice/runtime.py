"""Running libraries made by lattice-compile on numpy arrays.

    model = lattice.runtime.load("build/mlp.so")   # weights: build/mlp.safetensors
    (y,) = model(x)

The library describes itself (lattice_model_info_v1): inputs are checked
against its shapes and dtypes before the call, outputs are allocated here.
"""

import ctypes
import os
import shutil
import tempfile
import threading

import numpy as np

_MAX_RANK = 8
_DTYPES = {0: np.float32, 1: np.float16, 2: None, 3: np.int8, 4: np.uint8,
           5: np.int32}


class LatticeError(RuntimeError):
    """A failure reported by the Lattice runtime."""


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32),
                ("rank", ctypes.c_int32), ("shape", ctypes.c_int64 * _MAX_RANK),
                ("num_bytes", ctypes.c_uint64)]


class _ModelInfo(ctypes.Structure):
    _fields_ = [("abi_version", ctypes.c_uint32), ("name", ctypes.c_char_p),
                ("num_inputs", ctypes.c_uint32), ("num_outputs", ctypes.c_uint32),
                ("num_weights", ctypes.c_uint32),
                ("inputs", ctypes.POINTER(_TensorInfo)),
                ("outputs", ctypes.POINTER(_TensorInfo)),
                ("weights", ctypes.POINTER(_TensorInfo)),
                ("entry", ctypes.c_void_p), ("device", ctypes.c_uint32),
                ("workspace_bytes", ctypes.c_uint64)]


# The libraries this process loaded, by path: the identity of the file that
# was loaded. dlopen hands back the library already loaded from a path even
# when the file there was replaced since (a model compiled again to the same
# output), so such a file is loaded from a private copy instead.
_LOADED = {}
_LOADED_LOCK = threading.Lock()


def _open_library(path):
    """ctypes.CDLL of the library file at `path` as it is now."""
    status = os.stat(path)
    identity = (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)
    with _LOADED_LOCK:
        if _LOADED.setdefault(path, identity) == identity:
            return ctypes.CDLL(path)
    fd, copy = tempfile.mkstemp(prefix="lattice-", suffix=".so")
    os.close(fd)
    try:
        shutil.copyfile(path, copy)
        return ctypes.CDLL(copy)
    finally:
        os.unlink(copy)  # (the loaded mapping stays)


def _describe(info):
    dtype = _DTYPES.get(info.dtype)
    return info.name.decode(), dtype, tuple(info.shape[:info.rank])


def _library_info(lib, library):
    """The lattice_model_info of the loaded library `lib` (at `library`),
    checked to be of the ABI version this module reads."""
    get_info = lib.lattice_model_info_v1
    get_info.restype = ctypes.POINTER(_ModelInfo)
    info = get_info()
    if info.contents.abi_version != 3:
        raise LatticeError(f"{library}: built for ABI version "
                           f"{info.contents.abi_version}; this package reads version 3")
    return info


def describe(library):
    """The tensors a library declares, without loading its weights: a dict
    with "inputs", "outputs" and "weights", each a list of (name, numpy
    dtype, or None for bf16, shape). Packed sub-byte weights are uint8,
    their shape the number of bytes."""
    library = os.path.abspath(library)
    info = _library_info(_open_library(library), library).contents
    return {kind: [_describe(getattr(info, kind)[i])
                   for i in range(getattr(info, f"num_{kind}"))]
            for kind in ("inputs", "outputs", "weights")}


class Model:
    """A compiled model with its weights mapped; call it on numpy arrays."""

    def __init__(self, library, weights=None):
        self._model = ctypes.c_void_p()  # what close() frees, once loaded
        library = os.path.abspath(library)
        self._lib = _open_library(library)
        embedded = getattr(self._lib, "lattice_embedded_weights_v1", None)
        if weights is None and embedded is None:
            weights = os.path.splitext(library)[0] + ".safetensors"
        self._info = _library_info(self._lib, library)
        info = self._info.contents
        self.name = info.name.decode()
        #: "cpu" or "cuda": where the model runs (inputs and outputs stay
        #: numpy arrays in host memory either way).
        self.device = {0: "cpu", 1: "cuda"}.get(info.device, "unknown")
        self.inputs = [_describe(info.inputs[i]) for i in range(info.num_inputs)]
        self.outputs = [_describe(info.outputs[i]) for i in range(info.num_outputs)]
        for name, dtype, _ in self.inputs + self.outputs:
            if dtype is None:
                raise LatticeError(f"tensor '{name}' is bf16, which numpy has "
                                   "no type for; call the library from C")
        self._lib.lattice_last_error.restype = ctypes.c_char_p
        self._lib.lattice_model_load.argtypes = [
            ctypes.POINTER(_ModelInfo), ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        self._lib.lattice_model_run.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_void_p)]
        self._lib.lattice_model_free.argtypes = [ctypes.c_void_p]
        self._lib.lattice_model_set_threads.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self._lib.lattice_model_get_threads.argtypes = [ctypes.c_void_p]
        self._lib.lattice_model_get_threads.restype = ctypes.c_int
        #: Bytes of the temporaries of one call, allocated when the model
        #: loads (0 for models that need none).
        self.workspace_bytes = info.workspace_bytes
        if weights is None:
            # Weights inside the library (lattice-compile --embed-weights).
            embedded.restype = ctypes.c_void_p
            embedded.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
            size = ctypes.c_size_t()
            data = embedded(ctypes.byref(size))
            self._lib.lattice_model_load_memory.argtypes = [
                ctypes.POINTER(_ModelInfo), ctypes.c_void_p, ctypes.c_size_t,
                ctypes.POINTER(ctypes.c_void_p)]
            status = self._lib.lattice_model_load_memory(
                self._info, data, size, ctypes.byref(self._model))
        else:
            status = self._lib.lattice_model_load(
                self._info, os.fsencode(weights), ctypes.byref(self._model))
        if status != 0:
            raise LatticeError(self._lib.lattice_last_error().decode())

    def __call__(self, *arrays):
        if len(arrays) != len(self.inputs):
            raise ValueError(f"{self.name} takes {len(self.inputs)} inputs, "
                             f"got {len(arrays)}")
        inputs = []
        for array, (name, dtype, shape) in zip(arrays, self.inputs):
            array = np.asarray(array)
            if array.shape != shape:
                raise ValueError(f"input '{name}' must have shape {shape}, "
                                 f"got {array.shape}")
            if array.dtype != dtype:
                raise ValueError(f"input '{name}' must be {np.dtype(dtype)}, "
                                 f"got {array.dtype}")
            inputs.append(np.asarray(array, order="C"))
        outputs = [np.empty(shape, dtype) for _, dtype, shape in self.outputs]
        in_ptrs = (ctypes.c_void_p * max(1, len(inputs)))(
            *[a.ctypes.data for a in inputs])
        out_ptrs = (ctypes.c_void_p * max(1, len(outputs)))(
            *[a.ctypes.data for a in outputs])
        status = self._lib.lattice_model_run(self._model, in_ptrs, out_ptrs)
        if status != 0:
            raise LatticeError(self._lib.lattice_last_error().decode())
        return tuple(outputs)

    @property
    def threads(self):
        """Threads a call uses: LATTICE_NUM_THREADS when the model loaded,
        else the physical cores this process may run on; settable (1 or
        more)."""
        return self._lib.lattice_model_get_threads(self._model)

    @threads.setter
    def threads(self, count):
        if self._lib.lattice_model_set_threads(self._model, int(count)) != 0:
            raise LatticeError(self._lib.lattice_last_error().decode())

    def close(self):
        if self._model:
            self._lib.lattice_model_free(self._model)
            self._model = ctypes.c_void_p()

    def __del__(self):
        self.close()


def load(library, weights=None):
    """Loads a library made by lattice-compile and binds its weights: the
    file `weights`, else those embedded in the library, else the
    safetensors file next to it."""
    return Model(library, weights)
