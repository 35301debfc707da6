"""Reductions and softmax."""

import numpy as np

from .bodies import _f


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
