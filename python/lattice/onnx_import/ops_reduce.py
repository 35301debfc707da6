"""Reductions and softmax."""

import numpy as np

from .bodies import _f
from .emitter import _affine, _identity


# Reductions folded by a composition of numpy functions.
_COMPOSED = ("L1", "L2", "SumSquare", "LogSum", "LogSumExp")


class _ReduceOps:
    """Handlers of reductions and softmax (mixed into the importer)."""

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
            v, axis = x.astype(np.float64), tuple(axes)
            fold = {"Mean": np.mean, "Sum": np.sum, "Max": np.max, "Min": np.min,
                    "Prod": np.prod,
                    "L1": lambda: np.sum(np.abs(v), axis=axis, keepdims=keep),
                    "L2": lambda: np.sqrt(np.sum(v * v, axis=axis, keepdims=keep)),
                    "SumSquare": lambda: np.sum(v * v, axis=axis, keepdims=keep),
                    "LogSum": lambda: np.log(np.sum(v, axis=axis, keepdims=keep)),
                    "LogSumExp": lambda: np.log(np.sum(np.exp(v), axis=axis,
                                                       keepdims=keep))}[kind]
            result = fold() if kind in _COMPOSED else fold(v, axis=axis, keepdims=keep)
            return np.asarray(result).astype(x.dtype)
        x = self.floats(x)
        if kind == "LogSumExp":
            # log(sum(exp(x - max))) + max: no overflow for large x.
            peak = self.e.reduce(x, axes, "max")
            shifted = self.e.elementwise([x, peak], "f32", lambda a: _f(
                f"%d = arith.subf {a[0]}, {a[1]} : f32", "%r = math.exp %d : f32"))
            total = self.e.reduce(shifted, axes, "sum", keep)
            if not keep:
                peak = self.e.reshape(peak, total.shape)
            return self.e.elementwise([total, peak], "f32", lambda a: _f(
                f"%l = math.log {a[0]} : f32", f"%r = arith.addf %l, {a[1]} : f32"))
        if kind in ("L2", "SumSquare"):
            x = self.e.elementwise([x], "f32", lambda a: _f(f"%r = arith.mulf {a[0]}, {a[0]} : f32"))
        if kind == "L1":
            x = self.e.elementwise([x], "f32", lambda a: _f(f"%r = math.absf {a[0]} : f32"))
        out = self.e.reduce(x, axes, {"Mean": "mean", "Sum": "sum", "Max": "max", "Min": "min",
                                      "Prod": "prod", "L1": "sum", "L2": "sum",
                                      "SumSquare": "sum", "LogSum": "sum"}[kind], keep)
        if kind in ("L2", "LogSum"):
            op = "math.sqrt" if kind == "L2" else "math.log"
            out = self.e.elementwise([out], "f32", lambda a: _f(f"%r = {op} {a[0]} : f32"))
        return out

    op_ReduceMean = op_ReduceSum = op_ReduceMax = op_ReduceMin = reduction
    op_ReduceL2 = op_ReduceSumSquare = op_ReduceL1 = op_ReduceProd = reduction
    op_ReduceLogSum = op_ReduceLogSumExp = reduction

    def arg_extremum(self, node, ins, attrs):
        """ArgMax/ArgMin: the extremum along the axis, then the first (or,
        with select_last_index, the last) index that holds it."""
        x = ins[0]
        shape = self.shape_of(x)
        rank = len(shape)
        axis = self.axis(attrs.get("axis", 0), rank)
        keep = bool(attrs.get("keepdims", 1))
        last = bool(attrs.get("select_last_index", 0))
        is_max = node.op_type == "ArgMax"
        if isinstance(x, np.ndarray):
            pick = np.argmax if is_max else np.argmin
            flipped = np.flip(x, axis) if last else x
            index = pick(flipped, axis=axis)
            if last:
                index = shape[axis] - 1 - index
            return (np.expand_dims(index, axis) if keep else index).astype(np.int64)
        x = self.floats(x)
        peak = self.e.reduce(x, [axis], "max" if is_max else "min", False)
        kept = [i for i in range(rank) if i != axis]
        init = self.e.filled([shape[i] for i in kept], "i32", -1 if last else shape[axis])
        combine = "arith.maxsi" if last else "arith.minsi"
        index = self.e.generic(
            [x, peak], [_identity(rank), _affine(rank, [f"d{i}" for i in kept])], init,
            _affine(rank, [f"d{i}" for i in kept]),
            ["reduction" if i == axis else "parallel" for i in range(rank)],
            lambda a, o: _f(f"%i = linalg.index {axis} : index",
                            "%n = arith.index_cast %i : index to i32",
                            f"%e = arith.cmpf oeq, {a[0]}, {a[1]} : f32",
                            f"%c = arith.select %e, %n, {o} : i32",
                            f"%r = {combine} %c, {o} : i32"))
        if keep:
            index = self.e.reshape(index, [1 if i == axis else shape[i] for i in range(rank)])
        return index

    op_ArgMax = op_ArgMin = arg_extremum

    def op_Hardmax(self, node, ins, attrs):
        """1 at the first maximum along the axis, 0 elsewhere (before opset
        13, of the input flattened to 2-D at the axis)."""
        x = self.floats(ins[0])
        shape, rank = x.shape, len(x.shape)
        axis = self.axis(attrs.get("axis", -1 if self.opset >= 13 else 1), rank)
        if self.opset < 13:
            flat = self.e.reshape(x, [int(np.prod(shape[:axis])),
                                      int(np.prod(shape[axis:]))])
            return self.e.reshape(self.hardmax_axis(node, flat, 1), shape)
        return self.hardmax_axis(node, x, axis)

    def hardmax_axis(self, node, x, axis):
        index = self.arg_extremum(type(node)(op_type="ArgMax"), [x],
                                  {"axis": axis, "keepdims": 1})
        return self.e.elementwise([x, index], "f32", lambda a: _f(
            f"%i = linalg.index {axis} : index",
            "%n = arith.index_cast %i : index to i32",
            f"%e = arith.cmpi eq, %n, {a[1]} : i32",
            "%one = arith.constant 1.0 : f32", "%zero = arith.constant 0.0 : f32",
            "%r = arith.select %e, %one, %zero : f32"), out_shape=x.shape)

    def op_CumSum(self, node, ins, attrs):
        """The running sum along the axis, as a product with a triangular
        0/1 matrix (exclusive: strictly triangular; reverse: the other
        triangle): a reduction linalg can tile and vectorize."""
        x = ins[0]
        shape, rank = self.shape_of(x), len(self.shape_of(x))
        axis_array = self.need_const(ins[1], "axis")
        if axis_array.size != 1:
            self.fail(f"axis must be one integer, got {axis_array.tolist()}")
        axis = self.axis(int(axis_array.reshape(-1)[0]), rank)
        n = shape[axis]
        exclusive, reverse = attrs.get("exclusive", 0), attrs.get("reverse", 0)
        # mask[j, i]: whether input j adds to output i.
        j, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        mask = (j >= i) if reverse else (j <= i)
        if exclusive:
            mask &= j != i
        if isinstance(x, np.ndarray):
            return np.moveaxis(np.tensordot(np.moveaxis(x, axis, -1), mask.astype(x.dtype),
                                            axes=1), -1, axis).astype(x.dtype)
        x = self.value(x)
        dtype = x.dtype
        if dtype not in ("f32", "i32"):
            self.fail(f"CumSum of {dtype}")
        weights = self.value(mask.astype(np.float32 if dtype == "f32" else np.int32))
        # Loops: the input's dimensions, then j (the reduction) last.
        dims = [f"d{k}" for k in range(rank)]
        source = dims.copy()
        source[axis] = f"d{rank}"
        init = self.e.filled(shape, dtype, 0.0 if dtype == "f32" else 0)
        mul, add = ("arith.mulf", "arith.addf") if dtype == "f32" else ("arith.muli",
                                                                        "arith.addi")
        return self.e.generic(
            [x, weights], [_affine(rank + 1, source),
                           _affine(rank + 1, [f"d{rank}", f"d{axis}"])], init,
            _affine(rank + 1, dims), ["parallel"] * rank + ["reduction"],
            lambda a, o: _f(f"%m = {mul} {a[0]}, {a[1]} : {dtype}",
                            f"%r = {add} {o}, %m : {dtype}"))

    def softmax(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        log = node.op_type == "LogSoftmax"
        if self.opset < 13:
            axis = self.axis(attrs.get("axis", 1), rank)
            flat = self.e.reshape(x, [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])
            out = self.softmax_axis(flat, 1, log)
            return self.e.reshape(out, shape)
        return self.softmax_axis(x, self.axis(attrs.get("axis", -1), rank), log)

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
