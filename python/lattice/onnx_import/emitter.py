"""Values and the emitter of MLIR text (linalg, tensor, arith and lattice ops)."""

import math

import numpy as np

from .common import _EXTERNAL_ELEMENTS, _NP_OF, ShapeError, broadcast_shapes


class Value:
    """A tensor computed at run time: an SSA name, a static shape and an
    element type ('f32', 'i32' or 'i1')."""

    def __init__(self, ssa, shape, dtype):
        self.ssa, self.shape, self.dtype = ssa, tuple(int(d) for d in shape), dtype

    @property
    def type(self):
        return tensor_type(self.shape, self.dtype)



def mlir_string(text):
    """`text` as an MLIR string literal: quotes and backslashes escaped,
    control characters (a newline in an ONNX name) as \\XX hex bytes, which
    MLIR reads back as the same bytes."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):02X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


class QuantizedWeight:
    """A matmul weight [N, K] of integer codes: a `lattice.weight` of a
    `!lattice.quant` type, its scale (per tensor or per output channel)
    and its zero point (None when symmetric), which lattice.matmul takes
    as its rhs."""

    def __init__(self, codes, scale, zero):
        self.codes, self.scale, self.zero = codes, scale, zero
        self.shape = codes.shape


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
            self.emit(f"{ssa} = lattice.weight {mlir_string(self.store(name, array))} "
                      f"from {mlir_string(self.weights_file)} : {ttype}")
        elif array.size > 0 and np.all(array == array.flat[0]):
            value = array.flat[0]
            literal = (_float_literal(value) if dtype == "f32" else
                       ("true" if value else "false") if dtype == "i1" else str(int(value)))
            self.emit(f"{ssa} = arith.constant dense<{literal}> : {ttype}")
        elif dtype == "i1":
            # A bool tensor that is not a splat is stored as bytes and
            # truncated where it is read: read as i1 through the sub-byte
            # emulation of memory (lattice-emulate-narrow-types), rows of
            # a 3 x 4 mask after the first byte came back wrong.
            blob = array.astype(np.uint8).tobytes().hex().upper()
            self.emit(f'{ssa} = arith.constant dense<"0x{blob}"> : '
                      f'{tensor_type(array.shape, "i8")}')
            return self.elementwise([Value(ssa, array.shape, "i8")], "i1", lambda a: (
                [f"%r = arith.trunci {a[0]} : i8 to i1"], "%r"))
        else:
            blob = array.tobytes().hex().upper()
            self.emit(f'{ssa} = arith.constant dense<"0x{blob}"> : {ttype}')
        return Value(ssa, array.shape, dtype)

    def store(self, name, array):
        """Puts `array` in the weights file under `name` (made unique when
        another tensor has it) and returns the name."""
        key = name
        suffix = 1
        while key in self.weights and not np.array_equal(self.weights[key], array):
            key = f"{name}.{suffix}"
            suffix += 1
        # (A view of a mapped initializer stays one: the weights file is
        # written from it, one tensor at a time.)
        self.weights[key] = array
        return key

    def quantized_weight(self, name, codes, scale, zero):
        """A QuantizedWeight of int8 or uint8 `codes` [N, K] in the weights
        file (I8 or U8, as lattice.weight reads codes), with f32 `scale` and
        integer `zero` (None: symmetric) per tensor ([]) or per row ([N])."""
        storage = "s8" if codes.dtype == np.int8 else "u8"
        qtype = f"!lattice.quant<{storage}, f32"
        if scale.ndim:
            qtype += ", channel<0>"
        if zero is not None:
            qtype += ", asymmetric"
        qtype += ">"
        ssa = self.fresh()
        self.emit(f"{ssa} = lattice.weight {mlir_string(self.store(name, codes))} from "
                  f"{mlir_string(self.weights_file)} : {tensor_type(codes.shape, qtype)}")
        return QuantizedWeight(Value(ssa, codes.shape, qtype),
                               self.constant(scale.astype(np.float32)),
                               None if zero is None else self.constant(zero))

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
                raise ShapeError(f"cannot broadcast {list(value.shape)} to {list(out_shape)}")
        return self.reshape(value, kept), _affine(rank, results)

    def elementwise(self, inputs, out_dtype, body, out_shape=None):
        """`body(args)` returns (lines, value) for one element."""
        if out_shape is None:
            out_shape = broadcast_shapes(*[v.shape for v in inputs])
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
        """Sum, product, max, min or mean (in f32) over `axes`."""
        rank = len(value.shape)
        axes = sorted({a % rank for a in axes}) if rank else []
        kept = [i for i in range(rank) if i not in axes]
        out_shape = [value.shape[i] for i in kept]
        start = {"sum": 0.0, "mean": 0.0, "prod": 1.0, "max": -math.inf,
                 "min": math.inf}[kind]
        init = self.filled(out_shape, value.dtype, start)
        op = {"sum": "arith.addf", "mean": "arith.addf", "prod": "arith.mulf",
              "max": "arith.maximumf", "min": "arith.minimumf"}[kind]
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
        """lattice.matmul of `lhs` [..., K] by a weight [N, K]: a float
        Value, or a QuantizedWeight (codes read in the reduction, scaled
        after it)."""
        out_shape = lhs.shape[:-1] + (weight.shape[0],)
        operands, params = [lhs], ""
        if isinstance(weight, QuantizedWeight):
            operands += [weight.codes, weight.scale]
            params = f" rhs_scale({weight.scale.ssa})"
            if weight.zero is not None:
                operands.append(weight.zero)
                params += f" rhs_zero_point({weight.zero.ssa})"
        else:
            operands.append(weight)
        ssa = self.fresh()
        types = ", ".join(v.type for v in operands)
        self.emit(f"{ssa} = lattice.matmul {lhs.ssa}, {operands[1].ssa}{params} "
                  f"accumulate(f32) : ({types}) -> {tensor_type(out_shape, 'f32')}")
        return Value(ssa, out_shape, "f32")

    def lattice_norm(self, op, x, operands, epsilon):
        ssa = self.fresh()
        names = ", ".join([x.ssa] + [o.ssa for o in operands])
        types = ", ".join([x.type] + [o.type for o in operands])
        self.emit(f"{ssa} = lattice.{op} {names} {{epsilon = {_float_literal(epsilon)} : f32}}"
                  f" : ({types}) -> {x.type}")
        return Value(ssa, x.shape, x.dtype)
