"""ONNX import: a float ONNX model to Lattice IR and a safetensors file.

    lattice.onnx_import.import_model("model.onnx", "out/model.mlir")
    python3 -m lattice.onnx_import model.onnx -o out/model.mlir [--shape x=1,3,32,32]

The result is one public function on statically shaped tensors, in the
lattice dialect (matmuls, norms) and upstream dialects (linalg, tensor,
arith, math), with the large weights in `<stem>.safetensors` next to the
.mlir file, referenced by `lattice.weight`. Every tensor's shape is known at
import time: symbolic input dimensions take the sizes given with `shapes`
(1 by default, said on stderr), and shape arithmetic (Shape, Gather on
shapes, Concat, ...) is evaluated here.

Linear layers become `lattice.matmul` on a constant `[N, K]` weight, so the
quantization passes see them: MatMul and Gemm with a constant operand, Conv
with one group (as im2col + matmul, one weight row per output channel),
and the input and recurrence weights of LSTM and GRU. RMS norms, layer norms
and L2 normalisation written as elementwise ops are recognised and raised to
`lattice.rms_norm`, `lattice.layer_norm` and `lattice.normalize`; a
BatchNormalization after a Conv is folded into its weights.

Integer model inputs (token ids) are `i32` in the compiled function; int64
values computed inside a model are i32 too. Gather clamps indices into
range, so no input can read outside a table.

Anything outside the supported set is an `OnnxImportError` naming the node,
the op and the opset; the file is checked (size, external data inside the
model's folder, initializer sizes) before anything is read from it.

Weights are not copied into memory: float initializers in external data
files, and those whose raw bytes lie in the .onnx file itself (found by
walking the protobuf encoding before parsing it), are mapped where they lie
and written to the weights file one at a time.
"""

import argparse
import math
import mmap
import os
import pathlib
import re
import sys

import numpy as np

from . import safetensors

MIN_OPSET, MAX_OPSET = 9, 18
# Float constants with at least this many elements go to the weights file.
_EXTERNAL_ELEMENTS = 1024
_MAX_ELEMENTS = 1 << 31
# Float initializers with at least this many bytes of raw data are mapped
# from the file rather than parsed into the protobuf.
_MAPPED_BYTES = 1 << 16


class OnnxImportError(ValueError):
    """A model that cannot be imported; the message says which node and why."""


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

_NP_OF = {"f32": np.float32, "i32": np.int32, "i1": np.bool_}


class Value:
    """A tensor computed at run time: an SSA name, a static shape and an
    element type ('f32', 'i32' or 'i1')."""

    def __init__(self, ssa, shape, dtype):
        self.ssa, self.shape, self.dtype = ssa, tuple(int(d) for d in shape), dtype

    @property
    def type(self):
        return tensor_type(self.shape, self.dtype)


def tensor_type(shape, dtype):
    return "tensor<" + "".join(f"{d}x" for d in shape) + dtype + ">"


def _dtype_of(array):
    if array.dtype == np.bool_:
        return "i1"
    if np.issubdtype(array.dtype, np.integer):
        return "i32"
    return "f32"


def _affine(dims, results):
    names = ", ".join(f"d{i}" for i in range(dims))
    return f"affine_map<({names}) -> ({', '.join(results)})>"


def _identity(rank):
    return _affine(rank, [f"d{i}" for i in range(rank)])


def _float_literal(value):
    value = float(value)
    if math.isnan(value):
        return "0x7FC00000"
    if math.isinf(value):
        return "0x7F800000" if value > 0 else "0xFF800000"
    return repr(np.float32(value).item())


def _group(big, small):
    """The reassociation that collapses `big` into `small` (lists of
    indices of `big`), or None when it is not a collapse."""
    if len(small) == 0:
        return [] if int(np.prod(big)) == 1 else None
    groups, i = [], 0
    for j, d in enumerate(small):
        if i >= len(big):
            return None
        group, product = [i], big[i]
        i += 1
        while product < d and i < len(big):
            group.append(i)
            product *= big[i]
            i += 1
        if product != d:
            return None
        groups.append(group)
    while i < len(big):
        if big[i] != 1:
            return None
        groups[-1].append(i)
        i += 1
    return groups


def _reassoc_text(groups):
    return "[" + ", ".join("[" + ", ".join(map(str, g)) + "]" for g in groups) + "]"


class Emitter:
    """Writes the function body: one MLIR op per call."""

    def __init__(self, weights_file):
        self.lines = []
        self.counter = 0
        self.weights_file = weights_file
        self.weights = {}

    def fresh(self):
        self.counter += 1
        return f"%v{self.counter}"

    def emit(self, text):
        self.lines.append("  " + text)

    # -- constants ----------------------------------------------------------

    def constant(self, array, name=None, external=False):
        """A constant: in the weights file when it is a large float tensor
        with a name (or `external`), else inline."""
        array = np.asarray(array)
        dtype = _dtype_of(array)
        array = array.astype(_NP_OF[dtype], copy=False)
        ssa = self.fresh()
        ttype = tensor_type(array.shape, dtype)
        if dtype == "f32" and name and (external or array.size >= _EXTERNAL_ELEMENTS):
            key = name
            suffix = 1
            while key in self.weights and not np.array_equal(self.weights[key], array):
                key = f"{name}.{suffix}"
                suffix += 1
            # (A view of a mapped initializer stays one: the weights file
            # is written from it, one tensor at a time.)
            self.weights[key] = array
            self.emit(f'{ssa} = lattice.weight "{key}" from "{self.weights_file}" : {ttype}')
        elif array.size > 0 and np.all(array == array.flat[0]):
            value = array.flat[0]
            literal = (_float_literal(value) if dtype == "f32" else
                       ("true" if value else "false") if dtype == "i1" else str(int(value)))
            self.emit(f"{ssa} = arith.constant dense<{literal}> : {ttype}")
        else:
            data = array.astype(np.uint8 if dtype == "i1" else array.dtype)
            blob = data.tobytes().hex().upper()
            self.emit(f'{ssa} = arith.constant dense<"0x{blob}"> : {ttype}')
        return Value(ssa, array.shape, dtype)

    def scalar(self, value, dtype="f32"):
        ssa = self.fresh()
        literal = _float_literal(value) if dtype == "f32" else str(int(value))
        self.emit(f"{ssa} = arith.constant {literal} : {dtype}")
        return ssa

    def empty(self, shape, dtype):
        ssa = self.fresh()
        self.emit(f"{ssa} = tensor.empty() : {tensor_type(shape, dtype)}")
        return Value(ssa, shape, dtype)

    def filled(self, shape, dtype, value):
        init = self.empty(shape, dtype)
        scalar = self.scalar(value, dtype)
        ssa = self.fresh()
        self.emit(f"{ssa} = linalg.fill ins({scalar} : {dtype}) outs({init.ssa} : "
                  f"{init.type}) -> {init.type}")
        return Value(ssa, shape, dtype)

    # -- structure ------------------------------------------------------------

    def generic(self, inputs, maps, out, out_map, iterators, body, out_dtype=None):
        """A linalg.generic. `body(args, out_arg)` returns (lines, value);
        `out` is the init Value."""
        out_dtype = out_dtype or out.dtype
        args = [f"%a{i}" for i in range(len(inputs))]
        block = ", ".join(f"{a}: {v.dtype}" for a, v in zip(args, inputs))
        block = (block + ", " if block else "") + f"%o: {out.dtype}"
        lines, result = body(args, "%o")
        ssa = self.fresh()
        ins = ""
        if inputs:
            ins = ("ins(" + ", ".join(v.ssa for v in inputs) + " : " +
                   ", ".join(v.type for v in inputs) + ") ")
        iters = ", ".join(f'"{k}"' for k in iterators)
        self.emit(f"{ssa} = linalg.generic {{indexing_maps = [{', '.join(maps + [out_map])}], "
                  f"iterator_types = [{iters}]}} {ins}outs({out.ssa} : {out.type}) {{")
        self.emit(f"^bb0({block}):")
        for line in lines:
            self.emit("  " + line)
        self.emit(f"  linalg.yield {result} : {out.dtype}")
        self.emit(f"}} -> {out.type}")
        return Value(ssa, out.shape, out.dtype)

    def reshape(self, value, shape):
        shape = tuple(int(d) for d in shape)
        if shape == value.shape:
            return value
        if len(shape) < len(value.shape):
            groups = _group(value.shape, shape)
            if groups is not None:
                ssa = self.fresh()
                self.emit(f"{ssa} = tensor.collapse_shape {value.ssa} {_reassoc_text(groups)} "
                          f": {value.type} into {tensor_type(shape, value.dtype)}")
                return Value(ssa, shape, value.dtype)
        elif len(shape) > len(value.shape):
            groups = _group(shape, value.shape)
            if groups is not None:
                ssa = self.fresh()
                self.emit(f"{ssa} = tensor.expand_shape {value.ssa} {_reassoc_text(groups)} "
                          f"output_shape [{', '.join(map(str, shape))}] : {value.type} "
                          f"into {tensor_type(shape, value.dtype)}")
                return Value(ssa, shape, value.dtype)
        flat = self.reshape(value, (int(np.prod(value.shape)),))
        return self.reshape(flat, shape)

    def transpose(self, value, perm):
        perm = list(perm)
        if perm == list(range(len(perm))):
            return value
        rank = len(perm)
        out_shape = [value.shape[p] for p in perm]
        inverse = [0] * rank
        for k, p in enumerate(perm):
            inverse[p] = k
        in_map = _affine(rank, [f"d{inverse[m]}" for m in range(rank)])
        init = self.empty(out_shape, value.dtype)
        return self.generic([value], [in_map], init, _identity(rank),
                            ["parallel"] * rank, lambda a, o: ([], a[0]))

    def broadcast_map(self, value, out_shape):
        """(value reshaped to drop broadcast dims, its indexing map)."""
        rank = len(out_shape)
        offset = rank - len(value.shape)
        kept, results = [], []
        for i, d in enumerate(value.shape):
            j = offset + i
            if d == out_shape[j]:
                kept.append(d)
                results.append(f"d{j}")
            elif d != 1:
                raise ValueError(f"cannot broadcast {value.shape} to {out_shape}")
        return self.reshape(value, kept), _affine(rank, results)

    def elementwise(self, inputs, out_dtype, body, out_shape=None):
        """`body(args)` returns (lines, value) for one element."""
        if out_shape is None:
            out_shape = np.broadcast_shapes(*[v.shape for v in inputs])
        out_shape = tuple(out_shape)
        rank = len(out_shape)
        values, maps = [], []
        for v in inputs:
            reshaped, amap = self.broadcast_map(v, out_shape)
            values.append(reshaped)
            maps.append(amap)
        init = self.empty(out_shape, out_dtype)
        return self.generic(values, maps, init, _identity(rank), ["parallel"] * rank,
                            lambda a, o: body(a))

    def reduce(self, value, axes, kind, keepdims=True):
        """Sum, max, min or mean (in f32) over `axes`."""
        rank = len(value.shape)
        axes = sorted({a % rank for a in axes}) if rank else []
        kept = [i for i in range(rank) if i not in axes]
        out_shape = [value.shape[i] for i in kept]
        start = {"sum": 0.0, "mean": 0.0, "max": -math.inf, "min": math.inf}[kind]
        init = self.filled(out_shape, value.dtype, start)
        op = {"sum": "arith.addf", "mean": "arith.addf", "max": "arith.maximumf",
              "min": "arith.minimumf"}[kind]
        iters = ["reduction" if i in axes else "parallel" for i in range(rank)]
        result = self.generic([value], [_identity(rank)], init,
                              _affine(rank, [f"d{i}" for i in kept]), iters,
                              lambda a, o: ([f"%r = {op} {a[0]}, {o} : f32"], "%r"))
        if kind == "mean":
            count = int(np.prod([value.shape[a] for a in axes])) if axes else 1
            inv = 1.0 / max(count, 1)
            result = self.elementwise([result], "f32", lambda a: (
                [f"%c = arith.constant {_float_literal(inv)} : f32",
                 f"%r = arith.mulf {a[0]}, %c : f32"], "%r"))
        if keepdims:
            result = self.reshape(result, [1 if i in axes else value.shape[i]
                                           for i in range(rank)])
        return result

    def extract_slice(self, value, offsets, sizes, strides):
        out_type = tensor_type(sizes, value.dtype)
        ssa = self.fresh()
        self.emit(f"{ssa} = tensor.extract_slice {value.ssa}[{', '.join(map(str, offsets))}] "
                  f"[{', '.join(map(str, sizes))}] [{', '.join(map(str, strides))}] "
                  f": {value.type} to {out_type}")
        return Value(ssa, sizes, value.dtype)

    def insert_slice(self, source, dest, offsets, strides=None):
        strides = strides or [1] * len(offsets)
        ssa = self.fresh()
        self.emit(f"{ssa} = tensor.insert_slice {source.ssa} into {dest.ssa}"
                  f"[{', '.join(map(str, offsets))}] [{', '.join(map(str, source.shape))}] "
                  f"[{', '.join(map(str, strides))}] : {source.type} into {dest.type}")
        return Value(ssa, dest.shape, dest.dtype)

    def concat(self, values, axis, out_shape):
        result = self.empty(out_shape, values[0].dtype)
        offset = 0
        for v in values:
            offsets = [0] * len(out_shape)
            offsets[axis] = offset
            result = self.insert_slice(v, result, offsets)
            offset += v.shape[axis]
        return result

    def pad(self, value, low, high, fill):
        out_shape = [d + l + h for d, l, h in zip(value.shape, low, high)]
        if out_shape == list(value.shape):
            return value
        dest = self.filled(out_shape, value.dtype, fill)
        return self.insert_slice(value, dest, low)

    def matmul(self, lhs, weight):
        """lattice.matmul of `lhs` [..., K] by a weight Value [N, K]."""
        out_shape = lhs.shape[:-1] + (weight.shape[0],)
        ssa = self.fresh()
        self.emit(f"{ssa} = lattice.matmul {lhs.ssa}, {weight.ssa} accumulate(f32) : "
                  f"({lhs.type}, {weight.type}) -> {tensor_type(out_shape, 'f32')}")
        return Value(ssa, out_shape, "f32")

    def lattice_norm(self, op, x, operands, epsilon):
        ssa = self.fresh()
        names = ", ".join([x.ssa] + [o.ssa for o in operands])
        types = ", ".join([x.type] + [o.type for o in operands])
        self.emit(f"{ssa} = lattice.{op} {names} {{epsilon = {_float_literal(epsilon)} : f32}}"
                  f" : ({types}) -> {x.type}")
        return Value(ssa, x.shape, x.dtype)


# --------------------------------------------------------------------------
# Scalar bodies of elementwise ops
# --------------------------------------------------------------------------

def _f(*lines):
    """A body whose result is %r."""
    return list(lines), "%r"


_BINARY = {
    "Add": ("arith.addf", "arith.addi", np.add),
    "Sub": ("arith.subf", "arith.subi", np.subtract),
    "Mul": ("arith.mulf", "arith.muli", np.multiply),
    "Div": ("arith.divf", "arith.divsi", None),
    "Max": ("arith.maximumf", "arith.maxsi", np.maximum),
    "Min": ("arith.minimumf", "arith.minsi", np.minimum),
}

_COMPARE = {"Equal": ("oeq", "eq", np.equal), "Less": ("olt", "slt", np.less),
            "Greater": ("ogt", "sgt", np.greater),
            "LessOrEqual": ("ole", "sle", np.less_equal),
            "GreaterOrEqual": ("oge", "sge", np.greater_equal)}


def _unary_body(op, attrs):
    """(lines, result) of a float unary op on %x (the first arg), or None."""
    def c(name, value):
        return f"%{name} = arith.constant {_float_literal(value)} : f32"

    if op == "Relu":
        return [c("z", 0.0), "%r = arith.maximumf %x, %z : f32"]
    if op == "LeakyRelu":
        alpha = attrs.get("alpha", 0.01)
        return [c("z", 0.0), c("al", alpha), "%m = arith.mulf %x, %al : f32",
                "%p = arith.cmpf ogt, %x, %z : f32", "%r = arith.select %p, %x, %m : f32"]
    if op == "Sigmoid":
        return [c("one", 1.0), "%n = arith.negf %x : f32", "%e = math.exp %n : f32",
                "%d = arith.addf %one, %e : f32", "%r = arith.divf %one, %d : f32"]
    if op == "Tanh":
        return ["%r = math.tanh %x : f32"]
    if op == "Erf":
        return ["%r = math.erf %x : f32"]
    if op == "Gelu":
        if attrs.get("approximate", b"none") in (b"tanh", "tanh"):
            return [c("k", math.sqrt(2 / math.pi)), c("b", 0.044715), c("h", 0.5),
                    c("one", 1.0), "%x2 = arith.mulf %x, %x : f32",
                    "%x3 = arith.mulf %x2, %x : f32", "%t = arith.mulf %x3, %b : f32",
                    "%u = arith.addf %x, %t : f32", "%v = arith.mulf %u, %k : f32",
                    "%th = math.tanh %v : f32", "%s = arith.addf %th, %one : f32",
                    "%hx = arith.mulf %x, %h : f32", "%r = arith.mulf %hx, %s : f32"]
        return [c("k", 1 / math.sqrt(2)), c("h", 0.5), c("one", 1.0),
                "%u = arith.mulf %x, %k : f32", "%e = math.erf %u : f32",
                "%s = arith.addf %e, %one : f32", "%hx = arith.mulf %x, %h : f32",
                "%r = arith.mulf %hx, %s : f32"]
    if op == "HardSigmoid":
        alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
        return [c("al", alpha), c("be", beta), c("z", 0.0), c("one", 1.0),
                "%m = arith.mulf %x, %al : f32", "%s = arith.addf %m, %be : f32",
                "%lo = arith.maximumf %s, %z : f32", "%r = arith.minimumf %lo, %one : f32"]
    if op == "HardSwish":
        return [c("al", 1 / 6), c("be", 0.5), c("z", 0.0), c("one", 1.0),
                "%m = arith.mulf %x, %al : f32", "%s = arith.addf %m, %be : f32",
                "%lo = arith.maximumf %s, %z : f32", "%h = arith.minimumf %lo, %one : f32",
                "%r = arith.mulf %x, %h : f32"]
    if op == "Sqrt":
        return ["%r = math.sqrt %x : f32"]
    if op == "Exp":
        return ["%r = math.exp %x : f32"]
    if op == "Log":
        return ["%r = math.log %x : f32"]
    if op == "Neg":
        return ["%r = arith.negf %x : f32"]
    if op == "Abs":
        return ["%r = math.absf %x : f32"]
    if op == "Reciprocal":
        return [c("one", 1.0), "%r = arith.divf %one, %x : f32"]
    if op == "Softplus":
        return [c("one", 1.0), "%e = math.exp %x : f32", "%s = arith.addf %e, %one : f32",
                "%r = math.log %s : f32"]
    return None


def _numpy_unary(op, attrs, x):
    x = x.astype(np.float64)
    if op == "Relu":
        return np.maximum(x, 0)
    if op == "LeakyRelu":
        return np.where(x > 0, x, x * attrs.get("alpha", 0.01))
    if op == "Sigmoid":
        return 1 / (1 + np.exp(-x))
    if op == "Tanh":
        return np.tanh(x)
    if op == "Sqrt":
        return np.sqrt(x)
    if op == "Exp":
        return np.exp(x)
    if op == "Log":
        return np.log(x)
    if op == "Neg":
        return -x
    if op == "Abs":
        return np.abs(x)
    if op == "Reciprocal":
        return 1 / x
    if op == "Erf":
        return np.vectorize(math.erf)(x)
    if op == "HardSigmoid":
        return np.clip(x * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5), 0, 1)
    if op == "HardSwish":
        return x * np.clip(x / 6 + 0.5, 0, 1)
    if op == "Softplus":
        return np.log1p(np.exp(x))
    if op == "Gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    return None



# --------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------

class _Malformed(Exception):
    """The protobuf encoding ends or nests wrongly."""


def _varint(buf, pos, end):
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start, end):
    """(field, wire type, tag start, value start, value end) of each field of
    the message buf[start:end]; a varint's value is itself."""
    pos = start
    while pos < end:
        tag = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, after = _varint(buf, pos, end)
            yield field, wire, tag, value, after
            pos = after
            continue
        if wire == 2:
            length, pos = _varint(buf, pos, end)
            after = pos + length
        elif wire in (1, 5):
            after = pos + (8 if wire == 1 else 4)
        else:
            raise _Malformed
        if after > end:
            raise _Malformed
        yield field, wire, tag, pos, after
        pos = after


def _encode_varint(value):
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _length_field(field, payload):
    return _encode_varint(field << 3 | 2) + _encode_varint(len(payload)) + payload


# Field numbers of onnx.proto.
_MODEL_GRAPH, _GRAPH_INITIALIZER = 7, 5
_TENSOR_DATA_TYPE, _TENSOR_RAW_DATA, _TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION = 2, 9, 13, 14


def _external_tensor(buf, tag, start, end, location):
    """The encoded initializer field buf[tag:end] (a TensorProto in
    buf[start:end]), with large float raw data replaced by a reference to
    where it lies in the file `location`."""
    data_type, raw = None, None
    for field, wire, _, value, after in _fields(buf, start, end):
        if field == _TENSOR_DATA_TYPE and wire == 0:
            data_type = value
        elif field == _TENSOR_RAW_DATA and wire == 2:
            raw = (value, after)
        elif field == _TENSOR_DATA_LOCATION:
            return buf[tag:end]  # already external
    if data_type != 1 or raw is None or raw[1] - raw[0] < _MAPPED_BYTES:
        return buf[tag:end]
    payload = bytearray()
    for field, wire, field_tag, value, after in _fields(buf, start, end):
        if field != _TENSOR_RAW_DATA:
            payload += buf[field_tag:after]
    for key, value in (("location", location), ("offset", str(raw[0])),
                       ("length", str(raw[1] - raw[0]))):
        entry = _length_field(1, key.encode()) + _length_field(2, value.encode())
        payload += _length_field(_TENSOR_EXTERNAL_DATA, entry)
    payload += _encode_varint(_TENSOR_DATA_LOCATION << 3) + _encode_varint(1)
    return _length_field(_GRAPH_INITIALIZER, bytes(payload))


def _without_raw_weights(buf, location):
    """The ModelProto bytes `buf` (a whole ONNX file) with the raw data of
    every large float initializer replaced by ONNX external data that points
    at those bytes in the file itself (`location`), so that parsing copies
    none of them; None when the encoding is malformed (the parser then says
    what is wrong)."""
    try:
        model = bytearray()
        for field, wire, tag, start, end in _fields(buf, 0, len(buf)):
            if field != _MODEL_GRAPH or wire != 2:
                model += buf[tag:end]
                continue
            graph = bytearray()
            for g_field, g_wire, g_tag, g_start, g_end in _fields(buf, start, end):
                if g_field == _GRAPH_INITIALIZER and g_wire == 2:
                    graph += _external_tensor(buf, g_tag, g_start, g_end, location)
                else:
                    graph += buf[g_tag:g_end]
            model += _length_field(_MODEL_GRAPH, bytes(graph))
        return bytes(model)
    except _Malformed:
        return None


def _parse(path):
    """The ModelProto of the ONNX file `path`, its large float initializers
    left as external data in the file itself."""
    import onnx

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    try:
        stripped = _without_raw_weights(buf, path.name) if size else None
    finally:
        if size:
            buf.close()
    if stripped is None:
        return onnx.load(str(path), load_external_data=False)
    model = onnx.ModelProto()
    model.ParseFromString(stripped)
    return model


def _load(path):
    """The ModelProto of `path`, with external data checked to lie in files
    inside the model's folder, and {initializer name: (file, offset, length)}
    for the float initializers to map from those files (the others' data is
    read into the protobuf)."""
    import onnx
    from onnx import numpy_helper  # noqa: F401 (checked importable here)

    path = pathlib.Path(path)
    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    try:
        model = _parse(path)
    except Exception as error:  # protobuf raises several types
        raise OnnxImportError(f"{path}: not a valid ONNX file ({error})") from None
    if not model.HasField("graph"):
        raise OnnxImportError(f"{path}: not a valid ONNX file (no graph)")
    folder = path.resolve().parent
    initializers = list(model.graph.initializer)
    tensors = initializers[:]
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                tensors.append(attr.t)
    mapped = {}
    for index, tensor in enumerate(tensors):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        target = (folder / location).resolve()
        if not location or os.path.isabs(location) or folder not in target.parents:
            raise OnnxImportError(
                f"{path}: tensor '{tensor.name}' has external data '{location}' "
                "outside the model's folder")
        if not target.is_file():
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': external data "
                                  f"file '{location}' not found")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': malformed external "
                                  "data offset or length") from None
        size = target.stat().st_size
        if offset < 0 or offset > size or (length is not None and
                                           (length < 0 or offset + length > size)):
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': external data "
                                  f"[{offset}, +{length}) is outside '{location}' "
                                  f"({size} bytes)")
        length = size - offset if length is None else length
        if index < len(initializers) and tensor.data_type == onnx.TensorProto.FLOAT:
            mapped[tensor.name] = (target, offset, length)
            continue
        with open(target, "rb") as f:
            f.seek(offset)
            tensor.raw_data = f.read(length)
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]
    return model, mapped


def _check_dims(tensor, where):
    """The element count of `tensor`, checked."""
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' has a negative dimension")
    count = 1
    for d in dims:
        count *= d
        if count > _MAX_ELEMENTS:
            raise OnnxImportError(f"{where}: tensor '{tensor.name}' has {dims} elements, "
                                  "more than Lattice supports")
    return count


def _mapped_array(tensor, source):
    """The float initializer `tensor` as a read-only array mapped from
    `source` (file, offset, length): no copy in memory."""
    count = _check_dims(tensor, "initializer")
    target, offset, length = source
    if length != 4 * count:
        raise OnnxImportError(f"initializer: tensor '{tensor.name}' has {length} bytes "
                              f"of external data, its shape {list(tensor.dims)} needs "
                              f"{4 * count}")
    if count == 0:
        return np.zeros(tuple(tensor.dims), np.float32)
    return np.memmap(target, dtype="<f4", mode="r", offset=offset,
                     shape=tuple(tensor.dims))


def _to_array(tensor, where):
    import onnx
    from onnx import numpy_helper

    dims = list(tensor.dims)
    count = _check_dims(tensor, where)
    if tensor.data_type == onnx.TensorProto.STRING:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' holds strings")
    if (tensor.data_type == onnx.TensorProto.FLOAT and tensor.HasField("raw_data")
            and len(tensor.raw_data) == 4 * count):
        # A read-only view of the model's bytes, not a copy: an importer
        # that copied every weight held the model twice.
        return np.frombuffer(tensor.raw_data, dtype="<f4").reshape(dims)
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as error:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' is malformed "
                              f"({error})") from None
    if array.size != count:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' holds {array.size} "
                              f"values for shape {dims}")
    return array.reshape(dims)


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _clean_name(text):
    text = text.strip("/")
    parts = [p for p in text.split("/") if p]
    if len(parts) > 1:
        parts = parts[:-1]  # the trailing op name ("MatMul", "Conv")
    name = ".".join(parts)
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    return name or "layer"


# --------------------------------------------------------------------------
# The importer
# --------------------------------------------------------------------------

class _Importer:
    def __init__(self, model, weights_file, shapes, quiet, mapped=None):
        self.model = model
        self.mapped = mapped or {}
        self.graph = model.graph
        self.shapes = shapes or {}
        self.quiet = quiet
        self.opset = None
        for entry in model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                self.opset = entry.version
        if self.opset is None:
            raise OnnxImportError("the model imports no version of the default ONNX "
                                  "operator set")
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise OnnxImportError(f"opset {self.opset} is not supported (Lattice imports "
                                  f"opsets {MIN_OPSET} to {MAX_OPSET})")
        self.e = Emitter(weights_file)
        self.env = {}          # ONNX name -> Value or np.ndarray
        self.materialized = {}  # ONNX name -> Value of a constant
        self.layer_names = set()
        self.node = None
        self.producer = {}
        self.consumers = {}
        for node in self.graph.node:
            for out in node.output:
                self.producer[out] = node
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.static = {}
        for init in self.graph.initializer:
            self.static[init.name] = init
        for node in self.graph.node:
            if node.op_type == "Constant" and node.output:
                self.static[node.output[0]] = node

    # -- diagnostics ----------------------------------------------------------

    def where(self, node=None):
        node = node or self.node
        name = node.name or f"#{self.position(node)}"
        return f"node '{name}' ({node.op_type}, opset {self.opset})"

    def position(self, node):
        """The index of `node` in the graph (wrappers compare by value)."""
        for index, candidate in enumerate(self.graph.node):
            if candidate == node:
                return index
        return "?"

    def fail(self, message):
        raise OnnxImportError(f"{self.where()}: {message}")

    # -- values ---------------------------------------------------------------

    def const(self, name):
        """The value of `name` when it is known at import time, else None."""
        if not name:
            return None
        value = self.env.get(name)
        return value if isinstance(value, np.ndarray) else None

    def get(self, name):
        if name not in self.env:
            self.fail(f"input '{name}' is neither a graph input, an initializer nor "
                      "the output of an earlier node")
        return self.env[name]

    def value(self, item, name=None):
        """A run-time Value for an env entry (constants are emitted once)."""
        if isinstance(item, Value):
            return item
        key = (name, id(item)) if name else None
        if key in self.materialized:
            return self.materialized[key]
        value = self.e.constant(item, name=name)
        if key:
            self.materialized[key] = value
        return value

    def static_array(self, name):
        """The array of an initializer or Constant node, before emission."""
        item = self.static.get(name)
        if item is None:
            return None
        if hasattr(item, "op_type"):
            attrs = _attrs(item)
            if "value" in attrs:
                return _to_array(attrs["value"], self.where(item))
            for key in ("value_float", "value_int"):
                if key in attrs:
                    return np.array(attrs[key])
            for key in ("value_floats", "value_ints"):
                if key in attrs:
                    return np.array(attrs[key])
            return None
        return _to_array(item, "initializer")

    def layer_name(self, node, weight_name=""):
        if node.name:
            base = _clean_name(node.name)
        elif weight_name and not weight_name.startswith("onnx::"):
            base = re.sub(r"\.weight$", "", weight_name)
            base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)
        else:
            base = f"{node.op_type.lower()}{self.position(node)}"
        name, n = base, 2
        while name in self.layer_names:
            name = f"{base}_{n}"
            n += 1
        self.layer_names.add(name)
        return name

    # -- recognising norms ------------------------------------------------------

    def _op(self, name, *types):
        node = self.producer.get(name)
        return node if node is not None and node.op_type in types else None

    def _scalar(self, name):
        array = self.static_array(name)
        if array is None or array.size != 1:
            return None
        return float(array.reshape(-1)[0])

    def _last_axis_reduce(self, name, op_type):
        """The input of a keepdims reduction `op_type` over the last axis."""
        node = self._op(name, op_type)
        if node is None:
            return None
        attrs = _attrs(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            array = self.static_array(node.input[1])
            axes = None if array is None else array.reshape(-1).tolist()
        if list(axes or []) != [-1] or attrs.get("keepdims", 1) != 1:
            return None
        return node.input[0]

    def _square_of(self, name):
        node = self._op(name, "Pow", "Mul")
        if node is None:
            return None
        if node.op_type == "Mul":
            return node.input[0] if node.input[0] == node.input[1] else None
        return node.input[0] if self._scalar(node.input[1]) == 2.0 else None

    def _sqrt_plus_eps(self, name):
        """(t, eps) for name = Sqrt(t + eps)."""
        sqrt = self._op(name, "Sqrt")
        add = sqrt and self._op(sqrt.input[0], "Add")
        if add is None:
            return None
        for a, b in (add.input, reversed(add.input)):
            eps = self._scalar(b)
            if eps is not None and eps > 0:
                return a, eps
        return None

    def _rms_core(self, name):
        """(x, eps) when `name` is x / sqrt(mean(x^2, -1) + eps)."""
        node = self._op(name, "Mul", "Div")
        if node is None:
            return None
        pairs = ([(node.input[0], node.input[1])] if node.op_type == "Div" else
                 [(node.input[0], node.input[1]), (node.input[1], node.input[0])])
        for x, r in pairs:
            s = r
            if node.op_type == "Mul":
                inv = self._op(r, "Reciprocal", "Div")
                if inv is None:
                    continue
                if inv.op_type == "Div":
                    if self._scalar(inv.input[0]) != 1.0:
                        continue
                    s = inv.input[1]
                else:
                    s = inv.input[0]
            found = self._sqrt_plus_eps(s)
            if found and self._square_of(self._last_axis_reduce(found[0], "ReduceMean")) == x:
                return x, found[1]
        return None

    def _layer_core(self, name):
        """(x, eps) when `name` is (x - mean(x)) / sqrt(var(x) + eps)."""
        div = self._op(name, "Div")
        sub = div and self._op(div.input[0], "Sub")
        if sub is None or self._last_axis_reduce(sub.input[1], "ReduceMean") != sub.input[0]:
            return None
        found = self._sqrt_plus_eps(div.input[1])
        if found and self._square_of(
                self._last_axis_reduce(found[0], "ReduceMean")) == div.input[0]:
            return sub.input[0], found[1]
        return None

    def _l2_core(self, name):
        """(x, eps) when `name` is x / max(||x||, eps) over the last axis."""
        div = self._op(name, "Div")
        if div is None:
            return None
        x, n = div.input[0], div.input[1]
        eps = 1e-12
        expand = self._op(n, "Expand")
        if expand is not None:
            n = expand.input[0]
        clip = self._op(n, "Clip", "Max")
        if clip is not None:
            if clip.op_type == "Clip":
                low = _attrs(clip).get("min") if self.opset < 11 else (
                    self._scalar(clip.input[1]) if len(clip.input) > 1 and clip.input[1]
                    else None)
                if low is None or (len(clip.input) > 2 and clip.input[2]):
                    return None
            else:
                low = self._scalar(clip.input[1])
            if low is None or low <= 0:
                return None
            eps, n = low, clip.input[0]
        if self._last_axis_reduce(n, "ReduceL2") == x:
            return x, eps
        sqrt = self._op(n, "Sqrt")
        if sqrt and self._square_of(self._last_axis_reduce(sqrt.input[0], "ReduceSum")) == x:
            return x, eps
        return None

    def _constant_operand(self, core, node, op_type):
        """The constant that `node`, the single use of `core`, combines it
        with by `op_type` (a gain or bias over the last axis), or None."""
        if node.op_type != op_type or len(self.consumers.get(core, [])) != 1:
            return None
        other = node.input[1] if node.input[0] == core else node.input[0]
        array = self.static_array(other)
        if array is None or array.ndim < 1 or any(d != 1 for d in array.shape[:-1]):
            return None
        return other

    def match(self, node):
        """A fused form of `node`'s output: (kind, deps, info) or None."""
        out = node.output[0] if node.output else ""
        if node.op_type in ("Mul", "Div"):
            for kind, finder in (("layer_norm", self._layer_core),
                                 ("rms_norm", self._rms_core),
                                 ("normalize", self._l2_core)):
                core = finder(out)
                if core:
                    return kind, [core[0]], {"eps": core[1]}
            # A gain on a core.
            if node.op_type == "Mul":
                for core_name in node.input:
                    for kind, finder in (("layer_norm", self._layer_core),
                                         ("rms_norm", self._rms_core)):
                        core = finder(core_name)
                        gain = core and self._constant_operand(core_name, node, "Mul")
                        if gain:
                            return kind, [core[0], gain], {"eps": core[1], "gain": gain}
        if node.op_type == "Add":
            for scaled in node.input:
                mul = self._op(scaled, "Mul")
                if mul is None:
                    continue
                fused = self.match(mul)
                bias = self._constant_operand(scaled, node, "Add")
                if fused and fused[0] == "layer_norm" and "gain" in fused[2] and bias:
                    info = dict(fused[2], bias=bias)
                    return "layer_norm", fused[1] + [bias], info
        if node.op_type == "BatchNormalization":
            conv = self._op(node.input[0], "Conv")
            if (conv is not None and len(self.consumers.get(node.input[0], [])) == 1
                    and all(self.static_array(n) is not None for n in node.input[1:5])
                    and self.static_array(conv.input[1]) is not None):
                return "conv_bn", [conv.input[0]], {"conv": conv}
        return None

    # -- the graph ---------------------------------------------------------------

    def input_type(self, info):
        import onnx
        tensor = info.type.tensor_type
        if not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' is not a tensor")
        elem = tensor.elem_type
        if elem == onnx.TensorProto.FLOAT:
            dtype = "f32"
        elif elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            dtype = "i32"
        else:
            name = onnx.TensorProto.DataType.Name(elem) if elem in \
                onnx.TensorProto.DataType.values() else str(elem)
            raise OnnxImportError(f"graph input '{info.name}' has element type {name}; "
                                  "Lattice imports float32 and int32/int64 inputs")
        if info.name in self.shapes:
            shape = tuple(int(d) for d in self.shapes[info.name])
        elif not tensor.HasField("shape"):
            raise OnnxImportError(f"graph input '{info.name}' has no shape; give one "
                                  "with --shape")
        else:
            shape = []
            for i, dim in enumerate(tensor.shape.dim):
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    shape.append(dim.dim_value)
                else:
                    label = dim.dim_param or "?"
                    if not self.quiet:
                        print(f"lattice.onnx_import: input '{info.name}' dimension {i} "
                              f"('{label}') is not fixed; using 1 (set it with --shape)",
                              file=sys.stderr)
                    shape.append(1)
            shape = tuple(shape)
        if any(d <= 0 for d in shape) or int(np.prod(shape)) > _MAX_ELEMENTS:
            raise OnnxImportError(f"graph input '{info.name}' has shape {list(shape)}")
        return shape, dtype

    def run(self, function_name):
        graph = self.graph
        initializers = {init.name for init in graph.initializer}
        for init in graph.initializer:
            self.env[init.name] = (_mapped_array(init, self.mapped[init.name])
                                   if init.name in self.mapped else
                                   _to_array(init, "initializer"))
        args = []
        for info in graph.input:
            if info.name in initializers:
                continue
            shape, dtype = self.input_type(info)
            value = Value(f"%arg{len(args)}", shape, dtype)
            self.env[info.name] = value
            args.append((info.name, value))
        if not graph.output:
            raise OnnxImportError("the graph has no outputs")

        # Protobuf hands out a new wrapper object per access: nodes are
        # keyed by position.
        nodes = list(graph.node)
        fused = {}
        for index, node in enumerate(nodes):
            self.node = node
            found = self.match(node)
            if found:
                fused[index] = found
        live = {out.name for out in graph.output}
        live_nodes = set()
        for index in reversed(range(len(nodes))):
            node = nodes[index]
            if not any(out in live for out in node.output):
                continue
            live_nodes.add(index)
            deps = fused[index][1] if index in fused else list(node.input)
            live.update(d for d in deps if d)

        for index, node in enumerate(nodes):
            if index not in live_nodes:
                continue
            self.node = node
            if index in fused:
                kind, deps, info = fused[index]
                outputs = [getattr(self, "fused_" + kind)(node, dict(info, x=deps[0]))]
            else:
                if node.domain not in ("", "ai.onnx"):
                    self.fail(f"operator domain '{node.domain}' is not supported")
                handler = getattr(self, "op_" + node.op_type, None)
                if handler is None:
                    self.fail("operator not supported by Lattice's importer")
                inputs = [self.get(name) if name else None for name in node.input]
                try:
                    outputs = handler(node, inputs, _attrs(node))
                except OnnxImportError:
                    raise
                except (ValueError, IndexError, TypeError, KeyError) as error:
                    self.fail(f"cannot import: {error}")
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            for name, value in zip(node.output, outputs):
                if isinstance(value, (np.generic, bool, int, float)):
                    value = np.asarray(value)  # folding may give scalars
                if name and value is not None:
                    self.env[name] = value

        results = []
        for info in graph.output:
            if info.name not in self.env:
                raise OnnxImportError(f"graph output '{info.name}' is not computed by "
                                      "any node")
            value = self.value(self.env[info.name])
            if value.dtype == "i1":
                value = self.e.elementwise([value], "i32", lambda a: (
                    [f"%r = arith.extui {a[0]} : i1 to i32"], "%r"))
            results.append((info.name, value))

        def quote(text):
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        sig = ", ".join(f"{v.ssa}: {v.type} {{lattice.name = {quote(n)}}}" for n, v in args)
        res = ", ".join(f"{v.type} {{lattice.name = {quote(n)}}}" for n, v in results)
        text = [f"func.func @{function_name}({sig}) -> ({res}) {{"]
        text += self.e.lines
        text.append("  return " + ", ".join(v.ssa for _, v in results) + " : " +
                    ", ".join(v.type for _, v in results))
        text.append("}")
        return "\n".join(text) + "\n", args, results

    # -- helpers for handlers ------------------------------------------------------

    def need_const(self, item, what):
        if not isinstance(item, np.ndarray):
            self.fail(f"{what} must be known at import time (a constant or shape "
                      "arithmetic on static shapes)")
        return item

    def floats(self, item):
        value = self.value(item)
        if value.dtype != "f32":
            self.fail(f"expected a float tensor, got {value.dtype}")
        return value

    def axes_of(self, node, ins, attrs, index, rank, default=None):
        """Axes from the attribute `axes` or the input `index` (newer opsets),
        normalised to [0, rank)."""
        axes = attrs.get("axes")
        if axes is None and len(ins) > index and ins[index] is not None:
            axes = self.need_const(ins[index], "axes").reshape(-1).tolist()
        if axes is None:
            return default
        result = []
        for a in axes:
            a = int(a)
            if not -rank <= a < max(rank, 1):
                self.fail(f"axis {a} is out of range for rank {rank}")
            result.append(a % rank if rank else 0)
        return result

    def shape_of(self, item):
        return tuple(item.shape)

    # -- elementwise ---------------------------------------------------------------

    def binary(self, node, ins, attrs):
        a, b = ins[0], ins[1]
        fop, iop, fold = _BINARY[node.op_type]
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            if node.op_type == "Div":
                if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
                    if np.any(b == 0):
                        self.fail("integer division by zero")
                    return (np.trunc(a / b)).astype(np.result_type(a, b))
                return (a / b).astype(np.result_type(a, b))
            return fold(a, b).astype(np.result_type(a, b))
        if (node.op_type == "Div" and isinstance(b, np.ndarray)
                and np.issubdtype(b.dtype, np.floating)):
            # A float divided by constants: a multiplication by their
            # reciprocals (at most one ulp from the quotient, as ONNX
            # Runtime's fused Gelu does for x / sqrt(2)), where every
            # reciprocal is a normal float. A division costs ten times a
            # multiplication per vector.
            with np.errstate(divide="ignore", over="ignore"):
                inverse = (np.float32(1) / b.astype(np.float32)).astype(b.dtype)
            tiny = np.finfo(np.float32).tiny
            if np.all(np.isfinite(inverse)) and np.all(np.abs(inverse) >= tiny):
                fop, b = "arith.mulf", inverse
        va, vb = self.value(a), self.value(b)
        if va.dtype != vb.dtype or va.dtype == "i1":
            self.fail(f"operands of types {va.dtype} and {vb.dtype}")
        op = fop if va.dtype == "f32" else iop
        return self.e.elementwise([va, vb], va.dtype, lambda x: _f(
            f"%r = {op} {x[0]}, {x[1]} : {va.dtype}"))

    op_Add = op_Sub = op_Mul = op_Div = binary

    def op_Max(self, node, ins, attrs):
        result = ins[0]
        for other in ins[1:]:
            result = self.binary(node, [result, other], attrs)
        return result

    op_Min = op_Max

    def op_Sum(self, node, ins, attrs):
        result = ins[0]
        for other in ins[1:]:
            result = self.binary(type(node)(op_type="Add"), [result, other], attrs)
        return result

    def op_Mean(self, node, ins, attrs):
        total = self.op_Sum(node, ins, attrs)
        return self.binary(type(node)(op_type="Mul"),
                           [total, np.array(1.0 / len(ins), np.float32)], attrs)

    def compare(self, node, ins, attrs):
        a, b = ins
        fpred, ipred, fold = _COMPARE[node.op_type]
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return fold(a, b)
        va, vb = self.value(a), self.value(b)
        if va.dtype != vb.dtype:
            self.fail(f"operands of types {va.dtype} and {vb.dtype}")
        op = "arith.cmpf " + fpred if va.dtype == "f32" else "arith.cmpi " + ipred
        return self.e.elementwise([va, vb], "i1", lambda x: _f(
            f"%r = {op}, {x[0]}, {x[1]} : {va.dtype}"))

    op_Equal = op_Less = op_Greater = op_LessOrEqual = op_GreaterOrEqual = compare

    def logical(self, node, ins, attrs):
        op = {"And": "arith.andi", "Or": "arith.ori", "Xor": "arith.xori"}[node.op_type]
        if all(isinstance(x, np.ndarray) for x in ins):
            return {"And": np.logical_and, "Or": np.logical_or,
                    "Xor": np.logical_xor}[node.op_type](*ins)
        va, vb = self.value(ins[0]), self.value(ins[1])
        return self.e.elementwise([va, vb], "i1", lambda x: _f(
            f"%r = {op} {x[0]}, {x[1]} : i1"))

    op_And = op_Or = op_Xor = logical

    def op_Not(self, node, ins, attrs):
        if isinstance(ins[0], np.ndarray):
            return np.logical_not(ins[0])
        return self.e.elementwise([self.value(ins[0])], "i1", lambda x: _f(
            "%t = arith.constant true", f"%r = arith.xori {x[0]}, %t : i1"))

    def op_Where(self, node, ins, attrs):
        if all(isinstance(x, np.ndarray) for x in ins):
            return np.where(*ins)
        c, x, y = (self.value(v) for v in ins)
        if c.dtype != "i1" or x.dtype != y.dtype:
            self.fail("expects a bool condition and two values of one type")
        return self.e.elementwise([c, x, y], x.dtype, lambda a: _f(
            f"%r = arith.select {a[0]}, {a[1]}, {a[2]} : {x.dtype}"))

    def unary(self, node, ins, attrs):
        x = ins[0]
        if isinstance(x, np.ndarray):
            return _numpy_unary(node.op_type, attrs, x).astype(np.float32)
        x = self.floats(x)
        lines = _unary_body(node.op_type, attrs)
        return self.e.elementwise([x], "f32", lambda a: (
            [line.replace("%x", a[0]) for line in lines], "%r"))

    op_Relu = op_LeakyRelu = op_Sigmoid = op_Tanh = op_Erf = op_Gelu = unary
    op_HardSigmoid = op_HardSwish = op_Sqrt = op_Exp = op_Log = op_Neg = unary
    op_Abs = op_Reciprocal = op_Softplus = unary

    def op_Pow(self, node, ins, attrs):
        x, p = ins
        if isinstance(x, np.ndarray) and isinstance(p, np.ndarray):
            return np.power(x.astype(np.float64), p).astype(x.dtype)
        x = self.floats(x)
        if isinstance(p, np.ndarray) and p.size == 1:
            exponent = float(p.reshape(-1)[0])
            if exponent == 2.0:
                return self.e.elementwise([x], "f32", lambda a: _f(
                    f"%r = arith.mulf {a[0]}, {a[0]} : f32"))
            if exponent == 0.5:
                return self.e.elementwise([x], "f32", lambda a: _f(f"%r = math.sqrt {a[0]} : f32"))
            if exponent == 1.0:
                return x
        p = self.floats(p)
        return self.e.elementwise([x, p], "f32", lambda a: _f(
            f"%r = math.powf {a[0]}, {a[1]} : f32"))

    def op_Clip(self, node, ins, attrs):
        if self.opset < 11:
            low, high = attrs.get("min", -math.inf), attrs.get("max", math.inf)
        else:
            low = float(self.need_const(ins[1], "min").reshape(-1)[0]) \
                if len(ins) > 1 and ins[1] is not None else -math.inf
            high = float(self.need_const(ins[2], "max").reshape(-1)[0]) \
                if len(ins) > 2 and ins[2] is not None else math.inf
        x = ins[0]
        if isinstance(x, np.ndarray):
            return np.clip(x, low, high).astype(x.dtype)
        x = self.floats(x)
        return self.e.elementwise([x], "f32", lambda a: _f(
            f"%lo = arith.constant {_float_literal(low)} : f32",
            f"%hi = arith.constant {_float_literal(high)} : f32",
            f"%m = arith.maximumf {a[0]}, %lo : f32",
            "%r = arith.minimumf %m, %hi : f32"))

    def op_Cast(self, node, ins, attrs):
        import onnx
        to = attrs.get("to")
        x = ins[0]
        floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
        ints = (onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT8,
                onnx.TensorProto.INT16, onnx.TensorProto.UINT8)
        if to in floats:
            target = "f32"
        elif to in ints:
            target = "i32"
        elif to == onnx.TensorProto.BOOL:
            target = "i1"
        else:
            self.fail(f"cast to element type {to} is not supported")
        if isinstance(x, np.ndarray):
            out = {"f32": np.float32, "i32": np.int64, "i1": np.bool_}[target]
            return x.astype(out)
        source = x.dtype
        if source == target:
            return x
        body = {
            ("i32", "f32"): "%r = arith.sitofp {0} : i32 to f32",
            ("i1", "f32"): "%r = arith.uitofp {0} : i1 to f32",
            ("f32", "i32"): "%r = arith.fptosi {0} : f32 to i32",
            ("i1", "i32"): "%r = arith.extui {0} : i1 to i32",
        }.get((source, target))
        if target == "i1":
            zero = "arith.constant 0.0 : f32" if source == "f32" else "arith.constant 0 : i32"
            cmp = "arith.cmpf une" if source == "f32" else "arith.cmpi ne"
            return self.e.elementwise([x], "i1", lambda a: _f(
                f"%z = {zero}", f"%r = {cmp}, {a[0]}, %z : {source}"))
        return self.e.elementwise([x], target, lambda a: _f(body.format(a[0])))

    def passthrough(self, node, ins, attrs):
        return ins[0]

    op_Identity = op_Dropout = passthrough

    # -- constants and shapes -------------------------------------------------------

    def op_Constant(self, node, ins, attrs):
        array = self.static_array(node.output[0])
        if array is None:
            self.fail("only tensor, float and int constants are supported")
        return array

    def op_Shape(self, node, ins, attrs):
        shape = np.array(self.shape_of(ins[0]), np.int64)
        rank = len(shape)
        start = attrs.get("start", 0)
        end = attrs.get("end", rank)
        return shape[slice(start, end)]

    def op_Size(self, node, ins, attrs):
        return np.array(int(np.prod(self.shape_of(ins[0]))), np.int64)

    def op_ConstantOfShape(self, node, ins, attrs):
        shape = self.need_const(ins[0], "the shape").astype(np.int64)
        if np.any(shape < 0) or np.prod(shape) > _MAX_ELEMENTS:
            self.fail(f"shape {shape.tolist()} is invalid")
        value = attrs.get("value")
        fill = _to_array(value, self.where()) if value is not None else np.zeros(1, np.float32)
        return np.full(shape.tolist(), fill.reshape(-1)[0], fill.dtype)

    def op_Range(self, node, ins, attrs):
        start, limit, delta = (self.need_const(v, "Range's bounds").reshape(-1)[0] for v in ins)
        if delta == 0:
            self.fail("delta is 0")
        count = max(int(math.ceil((limit - start) / delta)), 0)
        if count > _MAX_ELEMENTS:
            self.fail(f"{count} elements")
        return (start + delta * np.arange(count)).astype(np.result_type(start, limit, delta))

    def target_shape(self, shape, new, allowzero=False):
        new = [int(d) for d in new]
        out = []
        for i, d in enumerate(new):
            if d == 0 and not allowzero:
                if i >= len(shape):
                    self.fail(f"shape {new}: 0 copies a dimension the input lacks")
                out.append(shape[i])
            else:
                out.append(d)
        total = int(np.prod(shape))
        if out.count(-1) > 1 or any(d < -1 for d in out):
            self.fail(f"shape {new} is invalid")
        if -1 in out:
            known = int(np.prod([d for d in out if d != -1]))
            if known == 0 or total % known:
                self.fail(f"cannot reshape {list(shape)} to {new}")
            out[out.index(-1)] = total // known
        if int(np.prod(out)) != total:
            self.fail(f"cannot reshape {list(shape)} to {new}")
        return out

    def reshaped(self, x, shape):
        if isinstance(x, np.ndarray):
            return x.reshape(shape)
        return self.e.reshape(x, shape)

    def op_Reshape(self, node, ins, attrs):
        if self.opset < 5 or len(ins) < 2:
            self.fail("Reshape needs its shape as an input")
        new = self.need_const(ins[1], "the shape").reshape(-1)
        shape = self.target_shape(self.shape_of(ins[0]), new, attrs.get("allowzero", 0))
        return self.reshaped(ins[0], shape)

    def op_Flatten(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        axis = attrs.get("axis", 1) % (len(shape) + 1) if shape else 0
        return self.reshaped(ins[0], [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])

    def op_Squeeze(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        axes = self.axes_of(node, ins, attrs, 1, len(shape))
        if axes is None:
            axes = [i for i, d in enumerate(shape) if d == 1]
        if any(shape[a] != 1 for a in axes):
            self.fail(f"cannot squeeze axes {axes} of shape {list(shape)}")
        return self.reshaped(ins[0], [d for i, d in enumerate(shape) if i not in axes])

    def op_Unsqueeze(self, node, ins, attrs):
        shape = list(self.shape_of(ins[0]))
        rank = len(shape)
        axes = attrs.get("axes")
        if axes is None:
            axes = self.need_const(ins[1], "axes").reshape(-1).tolist()
        out_rank = rank + len(axes)
        axes = sorted(int(a) % out_rank for a in axes)
        for a in axes:
            shape.insert(a, 1)
        return self.reshaped(ins[0], shape)

    def op_Transpose(self, node, ins, attrs):
        rank = len(self.shape_of(ins[0]))
        perm = list(attrs.get("perm", list(reversed(range(rank)))))
        if sorted(perm) != list(range(rank)):
            self.fail(f"perm {perm} is not a permutation of {rank} axes")
        if isinstance(ins[0], np.ndarray):
            return np.transpose(ins[0], perm)
        return self.e.transpose(ins[0], perm)

    def op_Concat(self, node, ins, attrs):
        parts = [x for x in ins if x is not None]
        if any(int(np.prod(self.shape_of(x))) > 0 for x in parts):
            parts = [x for x in parts if int(np.prod(self.shape_of(x))) > 0]
        rank = len(self.shape_of(parts[0]))
        axis = attrs.get("axis", 0)
        if not -rank <= axis < rank:
            self.fail(f"axis {axis} is out of range for rank {rank}")
        axis %= rank
        if all(isinstance(x, np.ndarray) for x in parts):
            return np.concatenate(parts, axis)
        values = [self.value(x) for x in parts]
        if len({v.dtype for v in values}) != 1:
            self.fail("inputs of different element types")
        out_shape = list(values[0].shape)
        for v in values[1:]:
            if len(v.shape) != rank or any(v.shape[i] != out_shape[i]
                                           for i in range(rank) if i != axis):
                self.fail(f"cannot concatenate shapes {[list(x.shape) for x in values]}")
        out_shape[axis] = sum(v.shape[axis] for v in values)
        if len(values) == 1:
            return values[0]
        return self.e.concat(values, axis, out_shape)

    def slice_along(self, x, axis, start, end, step=1):
        if isinstance(x, np.ndarray):
            index = [slice(None)] * x.ndim
            # range() bounds: an end of -1 means "before 0", not "the last".
            index[axis] = slice(start, end if end >= 0 else None, step)
            return x[tuple(index)]
        shape = list(x.shape)
        count = len(range(start, end, step))
        if step > 0:
            offsets = [0] * len(shape)
            offsets[axis] = start
            sizes = list(shape)
            sizes[axis] = count
            strides = [1] * len(shape)
            strides[axis] = step
            return self.e.extract_slice(x, offsets, sizes, strides)
        # Negative steps: a copy that reads backwards.
        out_shape = list(shape)
        out_shape[axis] = count
        rank = len(shape)
        results = [f"d{i}" if i != axis else f"{start} - d{i} * {-step}" for i in range(rank)]
        init = self.e.empty(out_shape, x.dtype)
        return self.e.generic([x], [_affine(rank, results)], init, _identity(rank),
                              ["parallel"] * rank, lambda a, o: ([], a[0]))

    def op_Split(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        rank = len(shape)
        axis = attrs.get("axis", 0) % rank
        split = attrs.get("split")
        if split is None and len(ins) > 1 and ins[1] is not None:
            split = self.need_const(ins[1], "split").reshape(-1).tolist()
        count = len(node.output)
        if split is None:
            parts = attrs.get("num_outputs", count)
            size = -(-shape[axis] // parts)
            split = [min(size, shape[axis] - i * size) for i in range(parts)]
        if sum(split) != shape[axis] or len(split) != count or any(s < 0 for s in split):
            self.fail(f"split {list(split)} does not fit dimension {shape[axis]}")
        outputs, offset = [], 0
        for size in split:
            outputs.append(self.slice_along(ins[0], axis, offset, offset + size))
            offset += size
        return outputs

    def op_Slice(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        rank = len(shape)
        if self.opset < 10:
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts = self.need_const(ins[1], "starts").reshape(-1).tolist()
            ends = self.need_const(ins[2], "ends").reshape(-1).tolist()
            axes = (self.need_const(ins[3], "axes").reshape(-1).tolist()
                    if len(ins) > 3 and ins[3] is not None else list(range(len(starts))))
            steps = (self.need_const(ins[4], "steps").reshape(-1).tolist()
                     if len(ins) > 4 and ins[4] is not None else [1] * len(starts))
        if not len(starts) == len(ends) == len(axes) == len(steps):
            self.fail("starts, ends, axes and steps differ in length")
        x = ins[0]
        for start, end, axis, step in zip(starts, ends, axes, steps):
            axis = int(axis)
            if not -rank <= axis < rank:
                self.fail(f"axis {axis} is out of range for rank {rank}")
            axis %= rank
            if step == 0:
                self.fail("step 0")
            start, end, step = slice(int(start), int(end), int(step)).indices(shape[axis])
            x = self.slice_along(x, axis, start, end, step)
        return x

    def op_Gather(self, node, ins, attrs):
        data, indices = ins
        shape = self.shape_of(data)
        rank = len(shape)
        axis = attrs.get("axis", 0)
        if not -rank <= axis < rank:
            self.fail(f"axis {axis} is out of range for rank {rank}")
        axis %= rank
        n = shape[axis]
        if isinstance(indices, np.ndarray):
            idx = indices.astype(np.int64)
            if np.any(idx < -n) or np.any(idx >= n):
                self.fail(f"index out of range for dimension {n}")
            idx = np.where(idx < 0, idx + n, idx)
            if isinstance(data, np.ndarray):
                return np.take(data, idx, axis=axis)
            if idx.ndim == 0:
                piece = self.slice_along(data, axis, int(idx), int(idx) + 1)
                return self.e.reshape(piece, shape[:axis] + shape[axis + 1:])
        data = self.value(data, name=node.input[0] if node.input else None)
        indices = self.value(indices)
        if indices.dtype != "i32":
            self.fail("indices must be integers")
        r = len(indices.shape)
        out_shape = shape[:axis] + indices.shape + shape[axis + 1:]
        out_rank = len(out_shape)
        idx_map = _affine(out_rank, [f"d{axis + i}" for i in range(r)])
        init = self.e.empty(out_shape, data.dtype)
        # The table is read with tensor.extract inside the body, so it is
        # captured from above; indices are clamped into [0, n).
        coords = []
        lines = [f"%n = arith.constant {n} : i32", "%zero = arith.constant 0 : i32",
                 f"%top = arith.constant {n - 1} : i32",
                 "%neg = arith.cmpi slt, {i}, %zero : i32",
                 "%wrap = arith.addi {i}, %n : i32",
                 "%j = arith.select %neg, %wrap, {i} : i32",
                 "%lo = arith.maxsi %j, %zero : i32", "%hi = arith.minsi %lo, %top : i32",
                 "%k = arith.index_cast %hi : i32 to index"]
        for d in range(rank):
            if d == axis:
                coords.append("%k")
            else:
                out_dim = d if d < axis else d - 1 + r
                lines.append(f"%c{d} = linalg.index {out_dim} : index")
                coords.append(f"%c{d}")
        lines.append(f"%r = tensor.extract {data.ssa}[{', '.join(coords)}] : {data.type}")
        return self.e.generic([indices], [idx_map], init, _identity(out_rank),
                              ["parallel"] * out_rank, lambda a, o: (
                                  [line.replace("{i}", a[0]) for line in lines], "%r"))

    def op_Expand(self, node, ins, attrs):
        target = self.need_const(ins[1], "the shape").reshape(-1).tolist()
        shape = self.shape_of(ins[0])
        out_shape = tuple(np.broadcast_shapes(shape, tuple(int(d) for d in target)))
        if isinstance(ins[0], np.ndarray):
            return np.broadcast_to(ins[0], out_shape).copy()
        if out_shape == shape:
            return ins[0]
        x = ins[0]
        return self.e.elementwise([x], x.dtype, lambda a: ([], a[0]), out_shape=out_shape)

    def op_Tile(self, node, ins, attrs):
        repeats = self.need_const(ins[1], "repeats").reshape(-1).tolist()
        if isinstance(ins[0], np.ndarray):
            return np.tile(ins[0], repeats)
        x = ins[0]
        for axis, count in enumerate(repeats):
            if count != 1:
                x = self.e.concat([x] * int(count), axis,
                                  [d * (count if i == axis else 1) for i, d in enumerate(x.shape)])
        return x

    # -- reductions and normalisation ----------------------------------------------

    def reduction(self, node, ins, attrs):
        x = ins[0]
        shape = self.shape_of(x)
        rank = len(shape)
        axes = self.axes_of(node, ins, attrs, 1, rank)
        if axes is None or not axes:
            if attrs.get("noop_with_empty_axes", 0):
                return x
            axes = list(range(rank))
        keep = bool(attrs.get("keepdims", 1))
        kind = node.op_type[len("Reduce"):]
        if isinstance(x, np.ndarray):
            fold = {"Mean": np.mean, "Sum": np.sum, "Max": np.max, "Min": np.min,
                    "L2": lambda v, axis, keepdims: np.sqrt(np.sum(v * v, axis=axis,
                                                                   keepdims=keepdims)),
                    "SumSquare": lambda v, axis, keepdims: np.sum(v * v, axis=axis,
                                                                  keepdims=keepdims)}[kind]
            return np.asarray(fold(x, axis=tuple(axes), keepdims=keep)).astype(x.dtype)
        x = self.floats(x)
        if kind in ("L2", "SumSquare"):
            x = self.e.elementwise([x], "f32", lambda a: _f(f"%r = arith.mulf {a[0]}, {a[0]} : f32"))
        out = self.e.reduce(x, axes, {"Mean": "mean", "Sum": "sum", "Max": "max", "Min": "min",
                                      "L2": "sum", "SumSquare": "sum"}[kind], keep)
        if kind == "L2":
            out = self.e.elementwise([out], "f32", lambda a: _f(f"%r = math.sqrt {a[0]} : f32"))
        return out

    op_ReduceMean = op_ReduceSum = op_ReduceMax = op_ReduceMin = reduction
    op_ReduceL2 = op_ReduceSumSquare = reduction

    def softmax(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        log = node.op_type == "LogSoftmax"
        if self.opset < 13:
            axis = attrs.get("axis", 1) % rank
            flat = self.e.reshape(x, [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])
            out = self.softmax_axis(flat, 1, log)
            return self.e.reshape(out, shape)
        axis = attrs.get("axis", -1)
        if not -rank <= axis < rank:
            self.fail(f"axis {axis} is out of range for rank {rank}")
        return self.softmax_axis(x, axis % rank, log)

    def softmax_axis(self, x, axis, log):
        peak = self.e.reduce(x, [axis], "max")
        shifted = self.e.elementwise([x, peak], "f32", lambda a: _f(
            f"%d = arith.subf {a[0]}, {a[1]} : f32", "%r = math.exp %d : f32"))
        total = self.e.reduce(shifted, [axis], "sum")
        # log(sum) and 1 / sum once per row, then one subtraction or
        # multiplication per element (as ONNX Runtime's kernels do).
        if log:
            logs = self.e.elementwise([total], "f32", lambda a: _f(
                f"%r = math.log {a[0]} : f32"))
            return self.e.elementwise([x, peak, logs], "f32", lambda a: _f(
                f"%d = arith.subf {a[0]}, {a[1]} : f32",
                f"%r = arith.subf %d, {a[2]} : f32"))
        inverse = self.e.elementwise([total], "f32", lambda a: _f(
            "%c = arith.constant 1.0 : f32", f"%r = arith.divf %c, {a[0]} : f32"))
        return self.e.elementwise([shifted, inverse], "f32", lambda a: _f(
            f"%r = arith.mulf {a[0]}, {a[1]} : f32"))

    op_Softmax = op_LogSoftmax = softmax

    def norm_weight(self, name, size, default):
        if name is None:
            return self.e.constant(np.full(size, default, np.float32))
        array = self.static_array(name)
        if array is None:
            array = self.need_const(self.get(name), "the norm's weight")
        array = np.broadcast_to(np.asarray(array, np.float32).reshape(-1), (size,))
        return self.value(np.ascontiguousarray(array))

    def fused_rms_norm(self, node, info):
        x = self.floats(self.get(self.fused_input(node, info)))
        gain = self.norm_weight(info.get("gain"), x.shape[-1], 1.0)
        return self.e.lattice_norm("rms_norm", x, [gain], info["eps"])

    def fused_layer_norm(self, node, info):
        x = self.floats(self.get(self.fused_input(node, info)))
        d = x.shape[-1]
        operands = [self.norm_weight(info.get("gain"), d, 1.0)]
        if info.get("bias"):
            operands.append(self.norm_weight(info["bias"], d, 0.0))
        return self.e.lattice_norm("layer_norm", x, operands, info["eps"])

    def fused_normalize(self, node, info):
        x = self.floats(self.get(self.fused_input(node, info)))
        ssa = self.e.fresh()
        self.e.emit(f"{ssa} = lattice.normalize {x.ssa} {{epsilon = "
                    f"{_float_literal(info['eps'])} : f32}} : ({x.type}) -> {x.type}")
        return Value(ssa, x.shape, "f32")

    def fused_input(self, node, info):
        return info["x"]

    def op_LayerNormalization(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        axis = attrs.get("axis", -1)
        if not -rank <= axis < rank:
            self.fail(f"axis {axis} is out of range for rank {rank}")
        axis %= rank
        eps = attrs.get("epsilon", 1e-5)
        inner = int(np.prod(shape[axis:]))
        flat = self.e.reshape(x, [int(np.prod(shape[:axis])), inner])
        gain = self.need_const(ins[1], "the scale") if len(ins) > 1 else None
        bias = self.need_const(ins[2], "the bias") if len(ins) > 2 and ins[2] is not None \
            else None
        if axis == rank - 1:
            operands = [self.value(np.broadcast_to(gain, (inner,)).astype(np.float32))]
            if bias is not None:
                operands.append(self.value(np.broadcast_to(bias, (inner,)).astype(np.float32)))
            return self.e.reshape(self.e.lattice_norm("layer_norm", flat, operands, eps), shape)
        ones = self.e.constant(np.ones(inner, np.float32))
        y = self.e.reshape(self.e.lattice_norm("layer_norm", flat, [ones], eps), shape)
        y = self.binary(type(node)(op_type="Mul"), [y, gain.astype(np.float32)], attrs)
        if bias is not None:
            y = self.binary(type(node)(op_type="Add"), [y, bias.astype(np.float32)], attrs)
        return y

    def op_BatchNormalization(self, node, ins, attrs):
        x = self.floats(ins[0])
        scale, bias, mean, var = (self.need_const(v, "statistics").astype(np.float64)
                                  for v in ins[1:5])
        a, b = self.bn_affine(attrs, scale, bias, mean, var)
        shape = [1] * len(x.shape)
        shape[1] = x.shape[1]
        return self.e.elementwise(
            [x, self.value(a.reshape(shape).astype(np.float32)),
             self.value(b.reshape(shape).astype(np.float32))], "f32",
            lambda v: _f(f"%m = arith.mulf {v[0]}, {v[1]} : f32",
                         f"%r = arith.addf %m, {v[2]} : f32"))

    def bn_affine(self, attrs, scale, bias, mean, var):
        eps = attrs.get("epsilon", 1e-5)
        if np.any(var + eps <= 0):
            self.fail("variance + epsilon is not positive")
        a = scale / np.sqrt(var + eps)
        return a, bias - mean * a

    def fused_conv_bn(self, node, info):
        conv = info["conv"]
        scale, bias, mean, var = (self.static_array(n).astype(np.float64) for n in node.input[1:5])
        a, b = self.bn_affine(_attrs(node), scale, bias, mean, var)
        weight = self.static_array(conv.input[1]).astype(np.float64)
        conv_bias = (self.static_array(conv.input[2]).astype(np.float64)
                     if len(conv.input) > 2 and conv.input[2] else np.zeros(weight.shape[0]))
        weight = weight * a.reshape([-1] + [1] * (weight.ndim - 1))
        conv_bias = conv_bias * a + b
        saved = self.node
        self.node = conv
        try:
            return self.conv(conv, self.get(conv.input[0]), weight.astype(np.float32),
                             conv_bias.astype(np.float32), _attrs(conv))
        finally:
            self.node = saved

    # -- linear layers -------------------------------------------------------------

    def weight(self, array, layer):
        """A matmul weight [N, K]: always external, named after its layer."""
        array = np.asarray(array, np.float32)
        finite = np.all(np.isfinite(array))
        safetensors.release_pages(array)  # read again when it is written
        if not finite:
            self.fail("the weight has NaN or infinite values")
        return self.e.constant(array, name=layer, external=True)

    def linear(self, x, weight, bias=None):
        """x [..., K] times a weight Value [N, K] (+ bias [N])."""
        lead = x.shape[:-1]
        flat = self.e.reshape(x, [int(np.prod(lead)), x.shape[-1]])
        y = self.e.matmul(flat, weight)
        if bias is not None:
            y = self.e.elementwise([y, self.value(np.asarray(bias, np.float32))], "f32",
                                   lambda a: _f(f"%r = arith.addf {a[0]}, {a[1]} : f32"))
        return self.e.reshape(y, lead + (weight.shape[0],))

    def batch_matmul(self, a, b):
        """numpy.matmul semantics on two run-time values."""
        a, b = self.floats(a), self.floats(b)
        squeeze_a, squeeze_b = len(a.shape) == 1, len(b.shape) == 1
        if squeeze_a:
            a = self.e.reshape(a, (1,) + a.shape)
        if squeeze_b:
            b = self.e.reshape(b, b.shape + (1,))
        m, k = a.shape[-2:]
        k2, n = b.shape[-2:]
        if k != k2:
            self.fail(f"cannot multiply {list(a.shape)} by {list(b.shape)}")
        batch = tuple(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]))
        nb = len(batch)
        rank = nb + 3  # batch..., m, n, k

        def operand(v, dims):
            offset = nb - (len(v.shape) - 2)
            kept, results = [], []
            for i, d in enumerate(v.shape[:-2]):
                j = offset + i
                if d == batch[j]:
                    kept.append(d)
                    results.append(f"d{j}")
            return self.e.reshape(v, kept + list(v.shape[-2:])), _affine(
                rank, results + [f"d{nb + dims[0]}", f"d{nb + dims[1]}"])

        va, ma = operand(a, (0, 2))
        vb, mb = operand(b, (2, 1))
        out_shape = batch + (m, n)
        init = self.e.filled(out_shape, "f32", 0.0)
        y = self.e.generic([va, vb], [ma, mb], init,
                           _affine(rank, [f"d{i}" for i in range(nb + 2)]),
                           ["parallel"] * (nb + 2) + ["reduction"], lambda x, o: _f(
                               f"%p = arith.mulf {x[0]}, {x[1]} : f32",
                               f"%r = arith.addf {o}, %p : f32"))
        if squeeze_a:
            y = self.e.reshape(y, batch + (n,))
        if squeeze_b:
            y = self.e.reshape(y, y.shape[:-1])
        return y

    def op_MatMul(self, node, ins, attrs):
        a, b = ins
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return np.matmul(a, b)
        if isinstance(b, np.ndarray) and b.ndim == 2 and not isinstance(a, np.ndarray):
            layer = self.layer_name(node, node.input[1])
            x = self.floats(a)
            if x.shape[-1] != b.shape[0]:
                self.fail(f"cannot multiply {list(x.shape)} by {list(b.shape)}")
            if len(x.shape) == 1:
                return self.e.reshape(self.linear(self.e.reshape(x, (1, x.shape[0])),
                                                  self.weight(b.T, layer)), (b.shape[1],))
            return self.linear(x, self.weight(b.T, layer))
        return self.batch_matmul(a, b)

    def op_Gemm(self, node, ins, attrs):
        a, b = ins[0], ins[1]
        c = ins[2] if len(ins) > 2 else None
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        if attrs.get("transA", 0):
            a = np.transpose(a) if isinstance(a, np.ndarray) else self.e.transpose(a, [1, 0])
        if isinstance(b, np.ndarray) and not isinstance(a, np.ndarray):
            w = b if attrs.get("transB", 0) else b.T
            if w.ndim != 2 or len(a.shape) != 2 or w.shape[1] != a.shape[1]:
                self.fail(f"cannot multiply {list(a.shape)} by {list(b.shape)}")
            y = self.linear(self.floats(a), self.weight(w * alpha, self.layer_name(
                node, node.input[1])))
        else:
            if attrs.get("transB", 0):
                b = np.transpose(b) if isinstance(b, np.ndarray) else self.e.transpose(b, [1, 0])
            y = self.batch_matmul(a, b)
            if alpha != 1.0:
                y = self.binary(type(node)(op_type="Mul"), [y, np.array(alpha, np.float32)], {})
        if c is not None:
            if isinstance(c, np.ndarray):
                c = (c * beta).astype(np.float32)
            elif beta != 1.0:
                c = self.binary(type(node)(op_type="Mul"), [c, np.array(beta, np.float32)], {})
            y = self.binary(type(node)(op_type="Add"), [y, c], {})
        return y

    # -- convolution and pooling -----------------------------------------------------

    def window(self, attrs, spatial, kernel):
        """(strides, dilations, pads_begin, pads_end) of a conv or pool."""
        n = len(kernel)
        strides = list(attrs.get("strides", [1] * n))
        dilations = list(attrs.get("dilations", [1] * n))
        pads = list(attrs.get("pads", [0] * (2 * n)))
        if len(strides) != n or len(dilations) != n or len(pads) != 2 * n:
            self.fail("strides, dilations or pads do not match the kernel's rank")
        if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or \
                any(p < 0 for p in pads):
            self.fail("strides and dilations must be positive and pads non-negative")
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        begin, end = pads[:n], pads[n:]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            for i in range(n):
                out = -(-spatial[i] // strides[i])
                total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1
                            - spatial[i], 0)
                small, large = total // 2, total - total // 2
                begin[i], end[i] = (small, large) if auto == "SAME_UPPER" else (large, small)
        elif auto == "VALID":
            begin, end = [0] * n, [0] * n
        elif auto != "NOTSET":
            self.fail(f"auto_pad '{auto}' is not supported")
        return strides, dilations, begin, end

    def op_Conv(self, node, ins, attrs):
        weight = self.need_const(ins[1], "the weight")
        bias = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if bias is not None:
            bias = self.need_const(bias, "the bias")
        return self.conv(node, ins[0], weight, bias, attrs)

    def conv(self, node, x, weight, bias, attrs):
        x = self.floats(x)
        rank = len(x.shape)
        if rank not in (3, 4) or weight.ndim != rank:
            self.fail(f"{rank - 2}-D convolutions are not supported (1-D and 2-D are)")
        one_d = rank == 3
        if one_d:
            x = self.e.reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
            weight = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
            attrs = dict(attrs)
            for key, pad1 in (("strides", [1]), ("dilations", [1])):
                attrs[key] = pad1 + list(attrs.get(key, [1]))
            pads = list(attrs.get("pads", [0, 0]))
            attrs["pads"] = [0, pads[0], 0, pads[1]] if len(pads) == 2 else pads
            if "kernel_shape" in attrs:
                attrs["kernel_shape"] = [1] + list(attrs["kernel_shape"])
        n, c, h, w = x.shape
        m, cg, kh, kw = weight.shape
        group = attrs.get("group", 1)
        if group < 1 or c % group or m % group or cg != c // group:
            self.fail(f"weight {list(weight.shape)} does not fit {c} input channels in "
                      f"{group} groups")
        if bias is not None and bias.reshape(-1).shape != (m,):
            self.fail(f"bias of shape {list(bias.shape)} for {m} output channels")
        (sh, sw), (dh, dw), (pt, pl), (pb, pr) = self.window(attrs, (h, w), (kh, kw))
        oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
        ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            self.fail("the kernel is larger than the padded input")
        xp = self.e.pad(x, [0, 0, pt, pl], [0, 0, pb, pr], 0.0)
        if group == 1:
            layer = self.layer_name(node, node.input[1] if len(node.input) > 1 else "")
            wv = self.weight(weight.reshape(m, c * kh * kw), layer)
            if (kh, kw, sh, sw) == (1, 1, 1, 1):
                cols = self.e.reshape(self.e.transpose(xp, [0, 2, 3, 1]), (n * oh * ow, c))
            else:
                init = self.e.empty((n, oh, ow, c, kh, kw), "f32")
                in_map = _affine(6, ["d0", "d3", f"d1 * {sh} + d4 * {dh}",
                                     f"d2 * {sw} + d5 * {dw}"])
                patches = self.e.generic([xp], [in_map], init, _identity(6),
                                         ["parallel"] * 6, lambda a, o: ([], a[0]))
                cols = self.e.reshape(patches, (n * oh * ow, c * kh * kw))
            y = self.linear(cols, wv, None if bias is None else bias.reshape(-1))
            y = self.e.transpose(self.e.reshape(y, (n, oh, ow, m)), [0, 3, 1, 2])
        else:
            mg = m // group
            xg = self.e.reshape(xp, (n, group, cg) + xp.shape[2:])
            wg = self.value(weight.reshape(group, mg, cg, kh, kw).astype(np.float32),
                            name=self.layer_name(node, node.input[1]))
            init = self.e.filled((n, group, mg, oh, ow), "f32", 0.0)
            in_map = _affine(8, ["d0", "d1", "d5", f"d3 * {sh} + d6 * {dh}",
                                 f"d4 * {sw} + d7 * {dw}"])
            w_map = _affine(8, ["d1", "d2", "d5", "d6", "d7"])
            y = self.e.generic([xg, wg], [in_map, w_map], init, _affine(8, [f"d{i}" for i in
                                                                          range(5)]),
                               ["parallel"] * 5 + ["reduction"] * 3, lambda a, o: _f(
                                   f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                   f"%r = arith.addf {o}, %p : f32"))
            y = self.e.reshape(y, (n, m, oh, ow))
            if bias is not None:
                y = self.e.elementwise([y, self.value(bias.reshape(1, m, 1, 1).astype(
                    np.float32))], "f32", lambda a: _f(f"%r = arith.addf {a[0]}, {a[1]} : f32"))
        if one_d:
            y = self.e.reshape(y, (n, m, ow))
        return y

    def pool(self, node, ins, attrs):
        x = self.floats(ins[0])
        if len(x.shape) not in (3, 4):
            self.fail("1-D and 2-D pooling are supported")
        one_d = len(x.shape) == 3
        kernel = list(attrs.get("kernel_shape", []))
        if one_d:
            x = self.e.reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
            attrs = dict(attrs)
            kernel = [1] + kernel
            for key in ("strides", "dilations"):
                if key in attrs:
                    attrs[key] = [1] + list(attrs[key])
            if "pads" in attrs:
                attrs["pads"] = [0, attrs["pads"][0], 0, attrs["pads"][1]]
        if len(kernel) != 2 or any(k < 1 for k in kernel):
            self.fail(f"kernel_shape {kernel} is invalid")
        n, c, h, w = x.shape
        kh, kw = kernel
        (sh, sw), (dh, dw), (pt, pl), (pb, pr) = self.window(attrs, (h, w), kernel)
        is_max = node.op_type == "MaxPool"
        ceil = attrs.get("ceil_mode", 0)

        def out_size(size, k, s, d, lo, hi):
            span = size + lo + hi - d * (k - 1) - 1
            out = (-(-span // s) if ceil else span // s) + 1
            if ceil and (out - 1) * s >= size + lo:
                out -= 1
            return out

        oh = out_size(h, kh, sh, dh, pt, pb)
        ow = out_size(w, kw, sw, dw, pl, pr)
        if oh < 1 or ow < 1:
            self.fail("the window is larger than the padded input")
        extra_h = max((oh - 1) * sh + dh * (kh - 1) + 1 - (h + pt + pb), 0)
        extra_w = max((ow - 1) * sw + dw * (kw - 1) + 1 - (w + pl + pr), 0)
        fill = -math.inf if is_max else 0.0
        xp = self.e.pad(x, [0, 0, pt, pl], [0, 0, pb + extra_h, pr + extra_w], fill)
        init = self.e.filled((n, c, oh, ow), "f32", fill)
        window = self.e.empty((kh, kw), "f32")
        in_map = _affine(6, ["d0", "d1", f"d2 * {sh} + d4 * {dh}", f"d3 * {sw} + d5 * {dw}"])
        op = "arith.maximumf" if is_max else "arith.addf"
        y = self.e.generic([xp, window], [in_map, _affine(6, ["d4", "d5"])], init,
                           _affine(6, ["d0", "d1", "d2", "d3"]),
                           ["parallel"] * 4 + ["reduction"] * 2, lambda a, o: _f(
                               f"%r = {op} {o}, {a[0]} : f32"))
        if not is_max:
            # The divisor of every window, counted here: the padded cells
            # count with count_include_pad, the ceil_mode overhang never.
            inside = np.zeros((h + pt + pb + extra_h, w + pl + pr + extra_w))
            if attrs.get("count_include_pad", 0):
                inside[:h + pt + pb, :w + pl + pr] = 1
            else:
                inside[pt:pt + h, pl:pl + w] = 1
            counts = np.zeros((oh, ow))
            for i in range(kh):
                for j in range(kw):
                    counts += inside[i * dh:i * dh + (oh - 1) * sh + 1:sh,
                                     j * dw:j * dw + (ow - 1) * sw + 1:sw]
            inv = (1.0 / np.maximum(counts, 1)).astype(np.float32)
            y = self.e.elementwise([y, self.value(inv)], "f32", lambda a: _f(
                f"%r = arith.mulf {a[0]}, {a[1]} : f32"))
        if one_d:
            y = self.e.reshape(y, (n, c, ow))
        return y

    op_MaxPool = op_AveragePool = pool

    def global_pool(self, node, ins, attrs):
        x = self.floats(ins[0])
        kind = "max" if node.op_type == "GlobalMaxPool" else "mean"
        return self.e.reduce(x, list(range(2, len(x.shape))), kind)

    op_GlobalAveragePool = op_GlobalMaxPool = global_pool


    # -- padding and resizing ---------------------------------------------------------

    def op_Pad(self, node, ins, attrs):
        x = ins[0]
        shape = self.shape_of(x)
        rank = len(shape)
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if self.opset < 11:
            pads, fill = list(attrs.get("pads", [])), attrs.get("value", 0.0)
            axes = list(range(rank))
        else:
            pads = self.need_const(ins[1], "pads").reshape(-1).tolist()
            fill = 0.0
            if len(ins) > 2 and ins[2] is not None and np.size(ins[2]):
                fill = float(self.need_const(ins[2], "the value").reshape(-1)[0])
            axes = self.axes_of(node, ins, attrs, 3, rank, list(range(rank)))
        if len(pads) != 2 * len(axes):
            self.fail(f"{len(pads)} pads for {len(axes)} axes")
        low, high = [0] * rank, [0] * rank
        for i, axis in enumerate(axes):
            low[axis], high[axis] = int(pads[i]), int(pads[i + len(axes)])
        # Negative pads crop.
        for axis in range(rank):
            if low[axis] < 0 or high[axis] < 0:
                start = max(-low[axis], 0)
                end = shape[axis] - max(-high[axis], 0)
                if end <= start:
                    self.fail("the pads crop the whole tensor")
                x = self.slice_along(x, axis, start, end)
                low[axis], high[axis] = max(low[axis], 0), max(high[axis], 0)
        if isinstance(x, np.ndarray):
            np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}.get(mode)
            if np_mode is None:
                self.fail(f"mode '{mode}' is not supported")
            kwargs = {"constant_values": fill} if mode == "constant" else {}
            return np.pad(x, list(zip(low, high)), np_mode, **kwargs)
        x = self.value(x)
        if mode == "constant":
            return self.e.pad(x, low, high, fill)
        if mode not in ("reflect", "edge"):
            self.fail(f"mode '{mode}' is not supported (constant, reflect, edge are)")
        # Edge and reflect: gathers along each padded axis with constant
        # source indices.
        for axis in range(rank):
            if not low[axis] and not high[axis]:
                continue
            n = x.shape[axis]
            index = np.arange(-low[axis], n + high[axis])
            if mode == "edge":
                index = np.clip(index, 0, n - 1)
            else:
                if n < 2 or max(low[axis], high[axis]) >= n:
                    self.fail(f"reflect padding of {max(low[axis], high[axis])} on a "
                              f"dimension of {n}")
                index = np.abs(index)
                index = np.where(index >= n, 2 * (n - 1) - index, index)
            x = self.gather_constant(x, axis, index)
        return x

    def gather_constant(self, x, axis, index):
        """x gathered along `axis` by constant indices (in range)."""
        node = type(self.node)(op_type="Gather")
        return self.op_Gather(node, [x, self.value(np.asarray(index, np.int32))],
                              {"axis": axis})

    def op_Resize(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        mode = attrs.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        default_ctm = "asymmetric" if self.opset < 11 else "half_pixel"
        ctm = attrs.get("coordinate_transformation_mode", default_ctm.encode())
        ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
        nearest = attrs.get("nearest_mode", b"round_prefer_floor")
        nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
        if self.opset < 11:
            scales = self.need_const(ins[1], "scales").reshape(-1).astype(np.float64)
            sizes = None
        else:
            scales = ins[2] if len(ins) > 2 else None
            sizes = ins[3] if len(ins) > 3 else None
            scales = (self.need_const(scales, "scales").reshape(-1).astype(np.float64)
                      if scales is not None and np.size(scales) else None)
            sizes = (self.need_const(sizes, "sizes").reshape(-1).astype(np.int64)
                     if sizes is not None and np.size(sizes) else None)
        if sizes is None and scales is None:
            self.fail("neither scales nor sizes are given")
        if sizes is None:
            if len(scales) != rank or np.any(scales <= 0):
                self.fail(f"scales {scales.tolist()} do not fit rank {rank}")
            sizes = np.floor(np.array(shape) * scales).astype(np.int64)
        else:
            if len(sizes) != rank or np.any(sizes < 1):
                self.fail(f"sizes {sizes.tolist()} do not fit rank {rank}")
            scales = sizes / np.array(shape, np.float64)
        if mode not in ("nearest", "linear"):
            self.fail(f"mode '{mode}' is not supported (nearest and linear are)")
        if ctm not in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"):
            self.fail(f"coordinate_transformation_mode '{ctm}' is not supported")
        for axis in range(rank):
            n, out = shape[axis], int(sizes[axis])
            if out == n:
                continue
            o = np.arange(out, dtype=np.float64)
            scale = scales[axis]
            if ctm == "half_pixel" or (ctm == "pytorch_half_pixel" and out > 1):
                src = (o + 0.5) / scale - 0.5
            elif ctm == "pytorch_half_pixel":
                src = np.zeros_like(o)
            elif ctm == "align_corners":
                src = o * (n - 1) / (out - 1) if out > 1 else np.zeros_like(o)
            else:
                src = o / scale
            if mode == "nearest":
                if nearest == "round_prefer_floor":
                    index = np.where(src - np.floor(src) == 0.5, np.floor(src), np.round(src))
                elif nearest == "round_prefer_ceil":
                    index = np.floor(src + 0.5)
                elif nearest == "floor":
                    index = np.floor(src)
                elif nearest == "ceil":
                    index = np.ceil(src)
                else:
                    self.fail(f"nearest_mode '{nearest}' is not supported")
                x = self.gather_constant(x, axis, np.clip(index, 0, n - 1).astype(np.int64))
                continue
            src = np.clip(src, 0, n - 1)
            lo = np.floor(src).astype(np.int64)
            hi = np.minimum(lo + 1, n - 1)
            frac = (src - lo).astype(np.float32)
            a = self.gather_constant(x, axis, lo)
            b = self.gather_constant(x, axis, hi)
            wshape = [1] * rank
            wshape[axis] = out
            w = self.value(frac.reshape(wshape))
            x = self.e.elementwise([a, b, w], "f32", lambda v: _f(
                f"%d = arith.subf {v[1]}, {v[0]} : f32", f"%m = arith.mulf %d, {v[2]} : f32",
                f"%r = arith.addf {v[0]}, %m : f32"))
        return x

    # -- recurrent layers ---------------------------------------------------------------

    def recurrent_inputs(self, node, ins, attrs, gates):
        if attrs.get("layout", 0) != 0:
            self.fail("layout=1 (batch first) is not supported")
        if len(ins) > 4 and ins[4] is not None:
            lens = ins[4]
            if not isinstance(lens, np.ndarray):
                self.fail("sequence_lens must be constant")
        if attrs.get("clip") is not None:
            self.fail("clip is not supported")
        x = self.floats(ins[0])
        w = self.need_const(ins[1], "W").astype(np.float32)
        r = self.need_const(ins[2], "R").astype(np.float32)
        hidden = attrs.get("hidden_size", r.shape[-1])
        t, batch, _ = x.shape
        if len(ins) > 4 and ins[4] is not None and np.any(ins[4] != t):
            self.fail("sequence_lens shorter than the sequence are not supported")
        directions = {b"forward": [False], b"reverse": [True],
                      b"bidirectional": [False, True]}.get(
            attrs.get("direction", b"forward"))
        if directions is None:
            self.fail(f"direction {attrs.get('direction')} is invalid")
        if w.shape != (len(directions), gates * hidden, x.shape[2]) or \
                r.shape != (len(directions), gates * hidden, hidden):
            self.fail(f"W {list(w.shape)} or R {list(r.shape)} do not fit hidden_size "
                      f"{hidden} and input {list(x.shape)}")
        b = (self.need_const(ins[3], "B").astype(np.float32) if len(ins) > 3 and
             ins[3] is not None else np.zeros((len(directions), 2 * gates * hidden), np.float32))
        return x, w, r, b, hidden, directions

    def initial_state(self, ins, index, d, batch, hidden):
        if len(ins) > index and ins[index] is not None:
            h = self.value(ins[index])
            return self.e.reshape(self.slice_along(h, 0, d, d + 1), (batch, hidden))
        return self.value(np.zeros((batch, hidden), np.float32))

    def gate_body(self, kind, default):
        return kind or default

    def activation(self, value, name):
        lines = _unary_body(name, {})
        return self.e.elementwise([value], "f32", lambda a: (
            [line.replace("%x", a[0]) for line in lines], "%r"))

    def op_LSTM(self, node, ins, attrs):
        x, w, r, b, hidden, directions = self.recurrent_inputs(node, ins, attrs, 4)
        if len(ins) > 7 and ins[7] is not None:
            self.fail("peepholes (P) are not supported")
        if attrs.get("input_forget", 0):
            self.fail("input_forget is not supported")
        acts = [a.decode() if isinstance(a, bytes) else a
                for a in attrs.get("activations", [b"Sigmoid", b"Tanh", b"Tanh"] *
                                   len(directions))]
        t, batch, _ = x.shape
        layer = self.layer_name(node, node.input[1])
        ys, hs, cs = [], [], []
        for d, reverse in enumerate(directions):
            f, g, h_act = acts[3 * d:3 * d + 3]
            for name in (f, g, h_act):
                if _unary_body(name, {}) is None:
                    self.fail(f"activation '{name}' is not supported")
            suffix = f".{d}" if len(directions) > 1 else ""
            xw = self.linear(x, self.weight(w[d], layer + suffix + ".input"),
                             b[d, :4 * hidden] + b[d, 4 * hidden:])
            rw = self.weight(r[d], layer + suffix + ".recurrent")
            h = self.initial_state(ins, 5, d, batch, hidden)
            c = self.initial_state(ins, 6, d, batch, hidden)
            outs = [None] * t
            for step in (reversed(range(t)) if reverse else range(t)):
                gates = self.binary(type(node)(op_type="Add"), [self.e.reshape(
                    self.slice_along(xw, 0, step, step + 1), (batch, 4 * hidden)),
                    self.e.matmul(h, rw)], {})
                i_g, o_g, f_g, c_g = (self.slice_along(gates, 1, k * hidden, (k + 1) * hidden)
                                      for k in range(4))
                i_g, o_g, f_g = (self.activation(v, f) for v in (i_g, o_g, f_g))
                c_g = self.activation(c_g, g)
                c = self.e.elementwise([f_g, c, i_g, c_g], "f32", lambda v: _f(
                    f"%a = arith.mulf {v[0]}, {v[1]} : f32",
                    f"%b = arith.mulf {v[2]}, {v[3]} : f32", "%r = arith.addf %a, %b : f32"))
                h = self.binary(type(node)(op_type="Mul"), [o_g, self.activation(c, h_act)], {})
                outs[step] = h
            ys.append(outs)
            hs.append(h)
            cs.append(c)
        return self.recurrent_outputs(ys, hs, cs, t, batch, hidden)

    def recurrent_outputs(self, ys, hs, cs, t, batch, hidden):
        nd = len(ys)
        steps = [self.e.reshape(ys[d][s], (1, 1, batch, hidden)) for s in range(t)
                 for d in range(nd)]
        y = self.e.concat(steps, 0, (t * nd, 1, batch, hidden)) if len(steps) > 1 else steps[0]
        y = self.e.reshape(y, (t, nd, batch, hidden))
        y_h = self.e.concat([self.e.reshape(h, (1, batch, hidden)) for h in hs], 0,
                            (nd, batch, hidden)) if nd > 1 else self.e.reshape(
            hs[0], (1, batch, hidden))
        outputs = [y, y_h]
        if cs:
            outputs.append(self.e.concat([self.e.reshape(c, (1, batch, hidden)) for c in cs],
                                         0, (nd, batch, hidden)) if nd > 1 else
                           self.e.reshape(cs[0], (1, batch, hidden)))
        return outputs

    def op_GRU(self, node, ins, attrs):
        x, w, r, b, hidden, directions = self.recurrent_inputs(node, ins, attrs, 3)
        acts = [a.decode() if isinstance(a, bytes) else a
                for a in attrs.get("activations", [b"Sigmoid", b"Tanh"] * len(directions))]
        before_reset = attrs.get("linear_before_reset", 0)
        t, batch, _ = x.shape
        layer = self.layer_name(node, node.input[1])
        ys, hs = [], []
        for d, reverse in enumerate(directions):
            f, g = acts[2 * d:2 * d + 2]
            for name in (f, g):
                if _unary_body(name, {}) is None:
                    self.fail(f"activation '{name}' is not supported")
            suffix = f".{d}" if len(directions) > 1 else ""
            wb, rb = b[d, :3 * hidden], b[d, 3 * hidden:]
            # z and r take both biases; h takes Rbh inside or outside r.
            xw = self.linear(x, self.weight(w[d], layer + suffix + ".input"),
                             wb + np.concatenate([rb[:2 * hidden], np.zeros(hidden, np.float32)]))
            rzr = self.weight(r[d][:2 * hidden], layer + suffix + ".recurrent_zr")
            rh = self.weight(r[d][2 * hidden:], layer + suffix + ".recurrent_h")
            rbh = self.value(rb[2 * hidden:])
            h = self.initial_state(ins, 5, d, batch, hidden)
            outs = [None] * t
            add = type(node)(op_type="Add")
            mul = type(node)(op_type="Mul")
            for step in (reversed(range(t)) if reverse else range(t)):
                xs = self.e.reshape(self.slice_along(xw, 0, step, step + 1), (batch, 3 * hidden))
                zr = self.activation(self.binary(add, [self.slice_along(xs, 1, 0, 2 * hidden),
                                                       self.e.matmul(h, rzr)], {}), f)
                z = self.slice_along(zr, 1, 0, hidden)
                rr = self.slice_along(zr, 1, hidden, 2 * hidden)
                xh = self.slice_along(xs, 1, 2 * hidden, 3 * hidden)
                if before_reset:
                    hr = self.binary(mul, [rr, self.binary(add, [self.e.matmul(h, rh), rbh],
                                                           {})], {})
                else:
                    hr = self.binary(add, [self.e.matmul(self.binary(mul, [rr, h], {}), rh),
                                           rbh], {})
                cand = self.activation(self.binary(add, [xh, hr], {}), g)
                h = self.e.elementwise([z, cand, h], "f32", lambda v: _f(
                    f"%d = arith.subf {v[2]}, {v[1]} : f32",
                    f"%m = arith.mulf {v[0]}, %d : f32", f"%r = arith.addf {v[1]}, %m : f32"))
                outs[step] = h
            ys.append(outs)
            hs.append(h)
        return self.recurrent_outputs(ys, hs, [], t, batch, hidden)

# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------

class Imported:
    """What import_model wrote: the .mlir and weights paths, and the
    model's inputs and outputs as (name, shape, dtype)."""

    def __init__(self, mlir, weights, inputs, outputs):
        self.mlir, self.weights = mlir, weights
        self.inputs, self.outputs = inputs, outputs


def _identifier(text):
    name = re.sub(r"[^A-Za-z0-9_]", "_", text or "")
    if not name or name[0].isdigit():
        name = "model_" + name
    return name


def import_model(model, output, shapes=None, quiet=False):
    """Imports the ONNX file `model` into the .mlir file `output` and the
    weights file next to it (same stem, .safetensors). `shapes` maps input
    names to shapes for inputs with symbolic dimensions."""
    output = pathlib.Path(output)
    weights_path = output.with_suffix(".safetensors")
    proto, mapped = _load(model)
    importer = _Importer(proto, weights_path.name, shapes, quiet, mapped)
    for name in (shapes or {}):
        if name not in {i.name for i in proto.graph.input}:
            raise OnnxImportError(f"--shape names '{name}', which is not an input of "
                                  "the model")
    text, args, results = importer.run(_identifier(pathlib.Path(model).stem))
    output.parent.mkdir(parents=True, exist_ok=True)
    header = (f"// Imported from {pathlib.Path(model).name} (ONNX opset {importer.opset}) "
              "by lattice.onnx_import.\n")
    output.write_text(header + text)
    safetensors.save(weights_path, importer.e.weights)
    describe = [(n, v.shape, v.dtype) for n, v in args]
    return Imported(str(output), str(weights_path), describe,
                    [(n, v.shape, v.dtype) for n, v in results])


def _parse_shape(text):
    name, _, dims = text.rpartition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"expected NAME=D1,D2,..., got '{text}'")
    try:
        return name, [int(d) for d in dims.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=D1,D2,..., got '{text}'") from None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m lattice.onnx_import",
        description="Import a float ONNX model into Lattice IR and a weights file.")
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("-o", "--output", required=True, help="the .mlir file to write")
    parser.add_argument("--shape", action="append", type=_parse_shape, default=[],
                        help="NAME=D1,D2,...: the shape of an input with symbolic sizes")
    args = parser.parse_args(argv)
    try:
        result = import_model(args.model, args.output, dict(args.shape))
    except OnnxImportError as error:
        print(f"lattice.onnx_import: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {result.mlir} and {result.weights}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
