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
        axis = attrs.get("axis", 0)
        if not -rank <= axis < max(rank, 1):
            self.fail(f"axis {axis} is out of range for rank {rank}")
        axis %= max(rank, 1)
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
