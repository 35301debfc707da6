"""Elementwise operators: arithmetic, comparisons, logic, activations, casts."""

import math

import numpy as np

from .emitter import Value, _float_literal
from .bodies import _BINARY, _COMPARE, _f, _numpy_unary, _unary_body


class _ElementwiseOps:
    """Handlers of elementwise operators (mixed into the importer)."""

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
            # (Out of the domain: NaN, as the compiled op gives.)
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                return _numpy_unary(node.op_type, attrs, x).astype(np.float32)
        x = self.floats(x)
        lines = _unary_body(node.op_type, attrs)
        return self.e.elementwise([x], "f32", lambda a: (
            [line.replace("%x", a[0]) for line in lines], "%r"))

    op_Relu = op_LeakyRelu = op_Sigmoid = op_Tanh = op_Erf = op_Gelu = unary
    op_HardSigmoid = op_HardSwish = op_Sqrt = op_Exp = op_Log = op_Neg = unary
    op_Abs = op_Reciprocal = op_Softplus = op_Sign = op_Softsign = unary
    op_Elu = op_Selu = op_Celu = op_ThresholdedRelu = op_Mish = unary
    op_Sin = op_Cos = op_Tan = op_Asin = op_Acos = op_Atan = unary
    op_Sinh = op_Cosh = op_Asinh = op_Acosh = op_Atanh = unary
    op_Ceil = op_Floor = op_Round = unary

    def op_Pow(self, node, ins, attrs):
        x, p = ins
        if isinstance(x, np.ndarray) and isinstance(p, np.ndarray):
            return np.power(x.astype(np.float64), p).astype(x.dtype)
        if self.value(x).dtype == "i32":
            # An integer base: the power in f32 (exact below 2^24), truncated
            # to the base's type, as ONNX's reference computes it.
            x, p = self.value(x), self.value(p)
            return self.e.elementwise([x, p], "i32", lambda a: _f(
                f"%b = arith.sitofp {a[0]} : i32 to f32",
                *([f"%e = arith.sitofp {a[1]} : i32 to f32"] if p.dtype == "i32" else []),
                f"%f = math.powf %b, {'%e' if p.dtype == 'i32' else a[1]} : f32",
                "%r = arith.fptosi %f : f32 to i32"))
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
        p = self.value(p)
        if p.dtype == "i32":
            # An integer exponent on a float base (ONNX allows mixed types).
            return self.e.elementwise([x, p], "f32", lambda a: _f(
                f"%e = arith.sitofp {a[1]} : i32 to f32",
                f"%r = math.powf {a[0]}, %e : f32"))
        p = self.floats(p)
        return self.e.elementwise([x, p], "f32", lambda a: _f(
            f"%r = math.powf {a[0]}, {a[1]} : f32"))

    def op_PRelu(self, node, ins, attrs):
        """x < 0 ? slope x : x, the slope broadcast (per channel, usually)."""
        x, slope = ins
        if isinstance(x, np.ndarray) and isinstance(slope, np.ndarray):
            return np.where(x < 0, x * slope, x).astype(x.dtype)
        x, slope = self.floats(x), self.floats(slope)
        return self.e.elementwise([x, slope], "f32", lambda a: _f(
            "%z = arith.constant 0.0 : f32", f"%m = arith.mulf {a[0]}, {a[1]} : f32",
            f"%n = arith.cmpf olt, {a[0]}, %z : f32",
            f"%r = arith.select %n, %m, {a[0]} : f32"), out_shape=x.shape)

    def op_Shrink(self, node, ins, attrs):
        """x < -lambd ? x + bias : x > lambd ? x - bias : 0."""
        lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
        x = ins[0]
        if isinstance(x, np.ndarray):
            return np.where(x < -lambd, x + bias,
                            np.where(x > lambd, x - bias, 0)).astype(x.dtype)
        return self.e.elementwise([self.floats(x)], "f32", lambda a: _f(
            f"%l = arith.constant {_float_literal(lambd)} : f32",
            f"%nl = arith.constant {_float_literal(-lambd)} : f32",
            f"%b = arith.constant {_float_literal(bias)} : f32",
            "%z = arith.constant 0.0 : f32",
            f"%up = arith.subf {a[0]}, %b : f32", f"%dn = arith.addf {a[0]}, %b : f32",
            f"%hi = arith.cmpf ogt, {a[0]}, %l : f32",
            f"%lo = arith.cmpf olt, {a[0]}, %nl : f32",
            "%s = arith.select %hi, %up, %z : f32", "%r = arith.select %lo, %dn, %s : f32"))

    def op_BitShift(self, node, ins, attrs):
        direction = attrs.get("direction", b"")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction not in ("LEFT", "RIGHT"):
            self.fail(f"direction '{direction}' is not LEFT or RIGHT")
        a, b = ins
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return (np.left_shift if direction == "LEFT" else np.right_shift)(a, b)
        va, vb = self.value(a), self.value(b)
        if va.dtype != "i32" or vb.dtype != "i32":
            self.fail(f"operands of types {va.dtype} and {vb.dtype}; BitShift takes "
                      "unsigned integers")
        # Unsigned inputs up to 16 bits are held in i32: the shifts are those
        # of the held value (the boundary truncates to the declared type).
        op = "arith.shli" if direction == "LEFT" else "arith.shrui"
        return self.e.elementwise([va, vb], "i32", lambda x: _f(
            f"%r = {op} {x[0]}, {x[1]} : i32"))

    def op_Mod(self, node, ins, attrs):
        """fmod = 1: the remainder with the dividend's sign (C's fmod, the
        only one ONNX defines for floats); fmod = 0: integers, with the
        divisor's sign (Python's %)."""
        a, b = ins
        fmod = attrs.get("fmod", 0)
        # (A constant zero divisor would trap at run time.)
        if isinstance(b, np.ndarray) and np.issubdtype(b.dtype, np.integer) and \
                np.any(b == 0):
            self.fail("integer modulo by zero")
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return (np.fmod if fmod else np.mod)(a, b).astype(np.result_type(a, b))
        va, vb = self.value(a), self.value(b)
        if va.dtype != vb.dtype or va.dtype == "i1":
            self.fail(f"operands of types {va.dtype} and {vb.dtype}")
        if va.dtype == "f32":
            if not fmod:
                self.fail("fmod = 0 on floats; ONNX defines float Mod with fmod = 1")
            return self.e.elementwise([va, vb], "f32", lambda x: _f(
                f"%r = arith.remf {x[0]}, {x[1]} : f32"))
        if fmod:
            return self.e.elementwise([va, vb], "i32", lambda x: _f(
                f"%r = arith.remsi {x[0]}, {x[1]} : i32"))
        # Python's %: a remainder whose sign differs from the divisor's
        # moves by one divisor.
        return self.e.elementwise([va, vb], "i32", lambda x: _f(
            f"%m = arith.remsi {x[0]}, {x[1]} : i32", "%z = arith.constant 0 : i32",
            "%nz = arith.cmpi ne, %m, %z : i32", "%mn = arith.cmpi slt, %m, %z : i32",
            f"%bn = arith.cmpi slt, {x[1]}, %z : i32", "%d = arith.xori %mn, %bn : i1",
            "%fix = arith.andi %nz, %d : i1", f"%s = arith.addi %m, {x[1]} : i32",
            "%r = arith.select %fix, %s, %m : i32"))

    def op_IsNaN(self, node, ins, attrs):
        x = ins[0]
        if isinstance(x, np.ndarray):
            return np.isnan(x)
        return self.e.elementwise([self.floats(x)], "i1", lambda a: _f(
            f"%r = arith.cmpf uno, {a[0]}, {a[0]} : f32"))

    def op_IsInf(self, node, ins, attrs):
        positive, negative = attrs.get("detect_positive", 1), attrs.get("detect_negative", 1)
        x = ins[0]
        if isinstance(x, np.ndarray):
            return (np.isposinf(x) & bool(positive)) | (np.isneginf(x) & bool(negative))
        lines = ["%f = arith.constant false"]
        result = "%f"
        for flag, name, value in ((positive, "p", "0x7F800000"), (negative, "n", "0xFF800000")):
            if flag:
                lines += [f"%{name}inf = arith.constant {value} : f32",
                          f"%{name} = arith.cmpf oeq, %x, %{name}inf : f32",
                          f"%{name}r = arith.ori {result}, %{name} : i1"]
                result = f"%{name}r"
        return self.e.elementwise([self.floats(x)], "i1", lambda a: (
            [line.replace("%x", a[0]) for line in lines], result))

    def op_Clip(self, node, ins, attrs):
        """min(max(x, low), high); since opset 11 the bounds are inputs, a
        constant or a scalar computed in the graph (read at run time)."""
        if self.opset < 11:
            bounds = [attrs.get("min", -math.inf), attrs.get("max", math.inf)]
        else:
            bounds = [ins[i] if len(ins) > i and ins[i] is not None else default
                      for i, default in ((1, -math.inf), (2, math.inf))]
        for i, (bound, what) in enumerate(zip(bounds, ("min", "max"))):
            if isinstance(bound, np.ndarray):
                if bound.size != 1:
                    self.fail(f"{what} has {bound.size} elements; it must be a scalar")
                bounds[i] = float(bound.reshape(-1)[0])
            elif isinstance(bound, Value) and int(np.prod(bound.shape)) != 1:
                self.fail(f"{what} has shape {list(bound.shape)}; it must be a scalar")
        x = ins[0]
        if isinstance(x, np.ndarray) and all(isinstance(b, float) for b in bounds):
            return np.clip(x, *bounds).astype(x.dtype)
        x = self.value(x)
        if x.dtype not in ("f32", "i32"):
            self.fail(f"Clip of {x.dtype}")
        floats = x.dtype == "f32"
        ops = ("arith.maximumf", "arith.minimumf") if floats else ("arith.maxsi",
                                                                   "arith.minsi")
        # Constant bounds are literals (infinite ones drop out), the others
        # scalar operands read at run time.
        operands, steps = [x], []
        for bound, op in zip(bounds, ops):
            if isinstance(bound, float):
                if not math.isinf(bound):
                    literal = _float_literal(bound) if floats else str(int(bound))
                    steps.append((op, literal))
                continue
            bound = self.value(bound)
            if bound.dtype != x.dtype:
                self.fail(f"a bound of type {bound.dtype} for a {x.dtype} input")
            steps.append((op, len(operands)))
            operands.append(self.e.reshape(bound, ()))
        if not steps:
            return x

        def body(a):
            lines, value = [], a[0]
            for n, (op, bound) in enumerate(steps):
                if isinstance(bound, str):
                    lines.append(f"%b{n} = arith.constant {bound} : {x.dtype}")
                    bound = f"%b{n}"
                else:
                    bound = a[bound]
                lines.append(f"%c{n} = {op} {value}, {bound} : {x.dtype}")
                value = f"%c{n}"
            return lines, value
        return self.e.elementwise(operands, x.dtype, body)

    def op_CastLike(self, node, ins, attrs):
        """Cast to the element type of the second input (as the library
        holds it: floats are f32, integers i32)."""
        import onnx
        like = ins[1]
        kind = (like.dtype.kind if isinstance(like, np.ndarray) else
                {"f32": "f", "i32": "i", "i1": "b"}[like.dtype])
        to = {"f": onnx.TensorProto.FLOAT, "i": onnx.TensorProto.INT32,
              "u": onnx.TensorProto.INT32, "b": onnx.TensorProto.BOOL}.get(kind)
        if to is None:
            self.fail(f"cannot cast like a tensor of kind '{kind}'")
        return self.op_Cast(node, ins[:1], {"to": to})

    def element_type(self, to):
        """The type that values of the ONNX element type `to` have inside
        the model: f32 for floats, i32 for integers, i1 for bools."""
        import onnx
        floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
        ints = (onnx.TensorProto.INT64, onnx.TensorProto.INT32, onnx.TensorProto.INT8,
                onnx.TensorProto.INT16, onnx.TensorProto.UINT8)
        if to in floats:
            return "f32"
        if to in ints:
            return "i32"
        if to == onnx.TensorProto.BOOL:
            return "i1"
        self.fail(f"cast to element type {to} is not supported")

    def op_Cast(self, node, ins, attrs):
        x = ins[0]
        target = self.element_type(attrs.get("to"))
        if target == "i32":
            # The ONNX type, for the ops that read it (a zero point's).
            from onnx import mapping
            self.integer_types[node.output[0]] = np.dtype(
                mapping.TENSOR_TYPE_TO_NP_TYPE[attrs["to"]])
        if isinstance(x, np.ndarray):
            out = {"f32": np.float32, "i1": np.bool_}.get(target)
            return x.astype(out or self.integer_types[node.output[0]])
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

    op_Identity = passthrough

    def op_Dropout(self, node, ins, attrs):
        """Inference: the identity, and a mask that keeps everything.
        Training mode (opset 12's third input) drops at random: refused."""
        if len(ins) > 2 and ins[2] is not None:
            mode = ins[2]
            if not isinstance(mode, np.ndarray):
                self.fail("training_mode is computed at run time; Lattice compiles "
                          "inference (training_mode false)")
            if mode.reshape(-1).any():
                self.fail("training_mode is true; Lattice compiles inference")
        # The mask (a second output) keeps every element.
        return [ins[0], np.ones(self.shape_of(ins[0]), np.bool_)]

    # -- constants and shapes -------------------------------------------------------
