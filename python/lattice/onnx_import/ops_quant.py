"""QuantizeLinear and DequantizeLinear: the operators of pre-quantized (QDQ)
ONNX models, with ONNX's arithmetic.

    QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
    DequantizeLinear: y = (x - zero_point) * scale

in f32, per tensor (a scalar scale) or, from opset 13, per axis (a 1-D
scale along `axis`); with DynamicQuantizeLinear, MatMulInteger and
QLinearMatMul beside them. A pre-quantized model carries its scales and
zero points as initializers, which are checked; ONNX's node tests pass them
as inputs, read at run time. Constant operands fold at import; the others
become elementwise ops, whose codes are i32 values in the range of the zero
point's type (int8 or uint8), so that a QDQ pair on an activation computes
exactly what ONNX's reference does. A constant weight made by
DequantizeLinear keeps its codes when a matmul takes it
(ops_linear.matmul_weight).
"""

import numpy as np

from .bodies import _f
from .emitter import _float_literal

# The code types of opsets 10 to 18 (int4, uint4 and the float8 types come
# with opsets 19 and 21), and their ranges.
_RANGES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


def _codes(value, zero, low, high):
    """Body lines that round the f32 `value` half to even, add the f32 zero
    point `zero` and saturate to [low, high]: the i32 code %r."""
    return _f(f"%n = math.roundeven {value} : f32",
              f"%s = arith.addf %n, {zero} : f32",
              f"%lo = arith.constant {_float_literal(low)} : f32",
              f"%hi = arith.constant {_float_literal(high)} : f32",
              "%c = arith.maximumf %s, %lo : f32",
              "%d = arith.minimumf %c, %hi : f32",
              "%r = arith.fptosi %d : f32 to i32")


def _prepend(lines, body):
    """`body` (lines, result) with `lines` before it."""
    return list(lines) + body[0], body[1]


class _QuantOps:
    """Handlers of QDQ operators (mixed into the importer)."""

    def checked_scale(self, scale):
        """A constant scale: float32, positive and finite; else a float
        Value read at run time."""
        if not isinstance(scale, np.ndarray):
            return self.floats(scale)
        if scale.dtype != np.float32:
            self.fail(f"the scale is {scale.dtype}; opsets up to 18 take float32")
        flat = scale.reshape(-1)
        bad = flat[~(np.isfinite(flat) & (flat > 0))]
        if bad.size:
            self.fail(f"scale {bad[0]} is not a positive finite number")
        return scale

    def qdq_params(self, node, ins, attrs, shape, codes):
        """The scale and zero point of a QuantizeLinear or DequantizeLinear
        on an input of `shape`, as f32 constants or Values that broadcast
        against it, and the code type: the zero point's (which must be
        `codes` when that is given), else uint8. Constant scales must be
        positive and finite; scales and zero points read at run time (as
        ONNX's node tests pass them) are the model's to get right."""
        scale = ins[1]
        zero = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if zero is not None:
            ztype = (zero.dtype if isinstance(zero, np.ndarray) else
                     self.integer_types.get(node.input[2]))
            if ztype is None:
                self.fail("the zero point's type is not known at import time")
            if codes is not None and np.dtype(ztype) != codes:
                self.fail(f"the zero point is {np.dtype(ztype)}; the input is {codes}")
            codes = ztype
        codes = np.dtype(codes or np.uint8)
        if codes not in _RANGES and codes != np.int32:
            self.fail(f"{codes} codes are not supported (int8 and uint8)")
        scale = self.checked_scale(scale)
        params = self.shape_of(scale)
        if zero is not None and tuple(self.shape_of(zero)) != tuple(params):
            self.fail(f"the zero point has shape {list(self.shape_of(zero))}, the scale "
                      f"{list(params)}")
        if codes == np.int32 and isinstance(zero, np.ndarray) and np.any(zero != 0):
            self.fail("an int32 input takes a zero point of 0")
        count = int(np.prod(params))
        if count == 1 and len(params) <= 1:
            along = []  # one scale: per tensor (a vector of one broadcasts as one)
        elif len(params) != 1 or self.opset < 13:
            self.fail(f"the scale has shape {list(params)}; a scalar or, per axis "
                      "(opset 13 and later), a vector")
        else:
            axis = self.axis(attrs.get("axis", 1), len(shape))
            if count != shape[axis]:
                self.fail(f"{count} scales for axis {axis} of size {shape[axis]}")
            along = [1] * len(shape)
            along[axis] = count

        def broadcast(v):
            return v.reshape(along) if isinstance(v, np.ndarray) else self.e.reshape(v, along)
        if zero is None:
            zero = np.zeros(along, np.float32)
        elif isinstance(zero, np.ndarray):
            zero = zero.astype(np.float32)
        else:
            zero = self.e.elementwise([self.value(zero)], "f32", lambda a: _f(
                f"%r = arith.sitofp {a[0]} : i32 to f32"))
        return broadcast(scale), broadcast(zero), codes

    def op_QuantizeLinear(self, node, ins, attrs):
        x = ins[0]
        shape = self.shape_of(x)
        scale, zero, codes = self.qdq_params(node, ins, attrs, shape, None)
        if codes == np.int32:
            self.fail("QuantizeLinear to int32 is not an ONNX operator")
        low, high = _RANGES[codes]
        self.integer_types[node.output[0]] = codes
        if isinstance(x, np.ndarray) and all(isinstance(v, np.ndarray) for v in (scale, zero)):
            if not np.issubdtype(x.dtype, np.floating):
                self.fail(f"the input is {x.dtype}; QuantizeLinear takes floats")
            q = np.rint(x.astype(np.float32) / scale) + zero
            return np.clip(q, low, high).astype(codes)
        x = self.floats(x)
        return self.e.elementwise(
            [x, self.value(scale), self.value(zero)], "i32", lambda a: _prepend(
                [f"%q = arith.divf {a[0]}, {a[1]} : f32"], _codes("%q", a[2], low, high)))

    def op_DequantizeLinear(self, node, ins, attrs):
        x = ins[0]
        shape = self.shape_of(x)
        codes = (x.dtype if isinstance(x, np.ndarray) else
                 self.integer_types.get(node.input[0]))
        if codes is not None and np.dtype(codes) not in _RANGES and codes != np.int32:
            self.fail(f"the input is {np.dtype(codes)}; DequantizeLinear takes int8, "
                      "uint8 or int32")
        scale, zero, _ = self.qdq_params(node, ins, attrs, shape,
                                         None if codes is None else np.dtype(codes))
        if isinstance(x, np.ndarray) and all(isinstance(v, np.ndarray) for v in (scale, zero)):
            y = ((x.astype(np.float32) - zero) * scale).astype(np.float32)
            if x.ndim == 2 and np.dtype(x.dtype) in _RANGES:
                self.dequantized[id(y)] = (y, x, scale, zero)
            return y
        x = self.value(x)
        if x.dtype != "i32":
            self.fail(f"the input is {x.dtype}; DequantizeLinear takes integer codes")
        return self.e.elementwise(
            [x, self.value(scale), self.value(zero)], "f32", lambda a: _f(
                f"%f = arith.sitofp {a[0]} : i32 to f32",
                f"%d = arith.subf %f, {a[2]} : f32",
                f"%r = arith.mulf %d, {a[1]} : f32"))

    def op_DynamicQuantizeLinear(self, node, ins, attrs):
        """uint8 codes with a scale and zero point from the input's range
        (widened to hold 0), as ONNX defines them: scale = (max - min) / 255
        (1 / 255 when the range is empty), zero point = round(-min / scale),
        codes = saturate(round(x / scale) + zero point)."""
        x = ins[0]
        for name in node.output[0:3:2]:  # the codes and the zero point
            self.integer_types[name] = np.dtype(np.uint8)
        if isinstance(x, np.ndarray):
            x = x.astype(np.float32)
            high = np.float32(max(0.0, float(x.max()))) if x.size else np.float32(0)
            low = np.float32(min(0.0, float(x.min()))) if x.size else np.float32(0)
            scale = np.float32(np.float32(1.0) if high == low else high - low) / \
                np.float32(255)
            zero = np.rint(np.clip(-low / scale, 0, 255)).astype(np.float32)
            codes = np.clip(np.rint(x / scale) + zero, 0, 255).astype(np.uint8)
            return [codes, np.array(scale, np.float32), np.array(zero, np.uint8)]
        x = self.floats(x)
        every = range(len(x.shape))
        high = self.e.reduce(x, every, "max", keepdims=False)
        low = self.e.reduce(x, every, "min", keepdims=False)
        scale = self.e.elementwise([high, low], "f32", lambda a: _f(
            "%z = arith.constant 0.0 : f32",
            "%one = arith.constant 1.0 : f32",
            "%n = arith.constant 255.0 : f32",
            f"%h = arith.maximumf {a[0]}, %z : f32",
            f"%l = arith.minimumf {a[1]}, %z : f32",
            "%d = arith.subf %h, %l : f32",
            "%e = arith.cmpf oeq, %h, %l : f32",
            "%w = arith.select %e, %one, %d : f32",
            "%r = arith.divf %w, %n : f32"))
        zero = self.e.elementwise([low, scale], "f32", lambda a: _f(
            "%z = arith.constant 0.0 : f32",
            "%n = arith.constant 255.0 : f32",
            f"%l = arith.minimumf {a[0]}, %z : f32",
            f"%q = arith.divf %l, {a[1]} : f32",
            "%p = arith.subf %z, %q : f32",
            "%c = arith.minimumf %p, %n : f32",
            "%r = math.roundeven %c : f32"))
        codes = self.e.elementwise([x, scale, zero], "i32", lambda a: _prepend(
            [f"%q = arith.divf {a[0]}, {a[1]} : f32"], _codes("%q", a[2], 0, 255)))
        zero_code = self.e.elementwise([zero], "i32", lambda a: _f(
            f"%r = arith.fptosi {a[0]} : f32 to i32"))
        return [codes, scale, zero_code]

    def op_QLinearMatMul(self, node, ins, attrs):
        """MatMulInteger's product of the codes, requantized to y's:
        saturate(round_half_even(C * (a_scale * b_scale / y_scale)) + y_zero),
        in f32, with a_scale per tensor or per row of A and b_scale per
        tensor or per column of B, as ONNX defines it."""
        if len(ins) < 8 or any(v is None for v in ins[:8]):
            self.fail("QLinearMatMul takes eight inputs")
        a, a_scale, a_zero, b, b_scale, b_zero, y_scale, y_zero = ins[:8]
        ztype = (y_zero.dtype if isinstance(y_zero, np.ndarray) else
                 self.integer_types.get(node.input[7]))
        if ztype is None or np.dtype(ztype) not in _RANGES:
            self.fail("the output's zero point must be int8 or uint8 (known at import)")
        codes = np.dtype(ztype)
        self.integer_types[node.output[0]] = codes
        low, high = _RANGES[codes]
        product = self.integer_matmul(a, b, [a_zero, b_zero])
        product = self.value(product)
        rows, cols = product.shape[-2], product.shape[-1]

        def scale_operand(scale, index, size, shape):
            count = int(np.prod(self.shape_of(scale)))
            if count == 1:
                shape = ()
            elif count != size:
                self.fail(f"input {index} has {count} scales for {size} "
                          f"{'rows' if shape == (size, 1) else 'columns'}")
            scale = self.checked_scale(scale)
            if isinstance(scale, np.ndarray):
                return self.value(scale.reshape(shape))
            return self.e.reshape(scale, shape)
        scales = [scale_operand(a_scale, 1, rows, (rows, 1)),
                  scale_operand(b_scale, 4, cols, (1, cols)),
                  scale_operand(y_scale, 6, 1, ())]
        zero = (self.value(np.asarray(y_zero, np.float32).reshape(()))
                if isinstance(y_zero, np.ndarray) else
                self.e.elementwise([self.e.reshape(self.value(y_zero), ())], "f32",
                                   lambda v: _f(f"%r = arith.sitofp {v[0]} : i32 to f32")))
        return self.e.elementwise([product] + scales + [zero], "i32", lambda v: _prepend(
            [f"%ab = arith.mulf {v[1]}, {v[2]} : f32",
             f"%m = arith.divf %ab, {v[3]} : f32",
             f"%i = arith.sitofp {v[0]} : i32 to f32",
             "%p = arith.mulf %i, %m : f32"], _codes("%p", v[4], low, high)))
