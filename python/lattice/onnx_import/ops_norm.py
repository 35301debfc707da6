"""Normalization: LayerNormalization, InstanceNormalization, LRN, and
BatchNormalization as its channel affine (lattice-fold-batch-norm folds it
into a preceding convolution; lattice-raise-norms raises norms spelled out
in elementwise ops)."""

import numpy as np

from .bodies import _f
from .common import ShapeError, broadcast_shapes
from .emitter import _affine, _float_literal


class _NormOps:
    """Handlers of norms (mixed into the importer)."""

    def op_LayerNormalization(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        axis = self.axis(attrs.get("axis", -1), rank)
        eps = attrs.get("epsilon", 1e-5)
        inner = int(np.prod(shape[axis:]))
        flat = self.e.reshape(x, [int(np.prod(shape[:axis])), inner])
        if len(ins) < 2 or ins[1] is None:
            self.fail("the scale (input 1) is missing")
        gain = ins[1]
        bias = ins[2] if len(ins) > 2 and ins[2] is not None else None
        for what, v in (("scale", gain), ("bias", bias)):
            try:
                fits = v is None or broadcast_shapes(v.shape, shape[axis:]) == shape[axis:]
            except ShapeError:
                fits = False
            if not fits:
                self.fail(f"the {what} of shape {list(v.shape)} does not broadcast to the "
                          f"normalized shape {list(shape[axis:])}")
        constant = isinstance(gain, np.ndarray) and (bias is None or
                                                     isinstance(bias, np.ndarray))
        statistics = self.norm_statistics(node, x, axis, eps)
        if axis == rank - 1 and constant:
            operands = [self.value(np.broadcast_to(gain, (inner,)).astype(np.float32))]
            if bias is not None:
                operands.append(self.value(np.broadcast_to(bias, (inner,)).astype(np.float32)))
            y = self.e.reshape(self.e.lattice_norm("layer_norm", flat, operands, eps), shape)
            return [y] + statistics
        # Normalized over several axes, or a scale or bias computed in the
        # graph (read at run time): the norm, then the affine map.
        ones = self.e.constant(np.ones(inner, np.float32))
        y = self.e.reshape(self.e.lattice_norm("layer_norm", flat, [ones], eps), shape)
        for operand, op in ((gain, "Mul"), (bias, "Add")):
            if operand is None:
                continue
            if isinstance(operand, np.ndarray):
                operand = operand.astype(np.float32)
            y = self.binary(type(node)(op_type=op), [y, operand], attrs)
        return [y] + statistics

    def op_InstanceNormalization(self, node, ins, attrs):
        """Each (sample, channel) plane normalized over its spatial extent,
        then scale[c] * y + bias[c]: a layer norm of the planes as rows, and
        the channel affine map."""
        x = self.floats(ins[0])
        shape = x.shape
        if len(shape) < 3:
            self.fail(f"the input has rank {len(shape)}; InstanceNormalization needs N, "
                      "C and spatial dimensions")
        channels = shape[1]
        for index, what in ((1, "scale"), (2, "bias")):
            if list(self.shape_of(ins[index])) != [channels]:
                self.fail(f"the {what} has shape {list(self.shape_of(ins[index]))}; "
                          f"expected [{channels}]")
        inner = int(np.prod(shape[2:]))
        flat = self.e.reshape(x, [shape[0] * channels, inner])
        ones = self.e.constant(np.ones(inner, np.float32))
        y = self.e.reshape(self.e.lattice_norm("layer_norm", flat, [ones],
                                               attrs.get("epsilon", 1e-5)), shape)
        along = (channels,) + (1,) * (len(shape) - 2)
        for operand, op in ((ins[1], "Mul"), (ins[2], "Add")):
            operand = (operand.astype(np.float32).reshape(along)
                       if isinstance(operand, np.ndarray) else
                       self.e.reshape(self.floats(operand), along))
            y = self.binary(type(node)(op_type=op), [y, operand], {})
        return y

    def op_LRN(self, node, ins, attrs):
        """Local response normalization across channels: x / (bias + alpha /
        size * the sum of x^2 over a window of `size` channels)^beta."""
        x = self.floats(ins[0])
        if len(x.shape) < 3:
            self.fail(f"the input has rank {len(x.shape)}; LRN needs N, C and more")
        size = attrs.get("size", 0)
        if size < 1:
            self.fail(f"size {size} must be positive")
        alpha, beta = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75)
        bias = attrs.get("bias", 1.0)
        rank = len(x.shape)
        # Channels farther than C - 1 away are padding on every side: the
        # window stops there (alpha / size keeps the size asked for).
        channels = x.shape[1]
        before = min((size - 1) // 2, channels - 1)
        after = min(size - 1 - (size - 1) // 2, channels - 1)
        squares = self.e.elementwise([x], "f32", lambda a: _f(
            f"%r = arith.mulf {a[0]}, {a[0]} : f32"))
        padded = self.e.pad(squares, [0, before] + [0] * (rank - 2),
                            [0, after] + [0] * (rank - 2), 0.0)
        # Loops: the output's, then the window's (a reduction, which a
        # window of ones gives its extent to, as a kernel does).
        source = [f"d{i}" for i in range(rank)]
        source[1] = f"d1 + d{rank}"
        ones = self.value(np.ones(before + after + 1, np.float32))
        window = self.e.generic([padded, ones], [_affine(rank + 1, source),
                                                 _affine(rank + 1, [f"d{rank}"])],
                                self.e.filled(x.shape, "f32", 0.0),
                                _affine(rank + 1, [f"d{i}" for i in range(rank)]),
                                ["parallel"] * rank + ["reduction"], lambda a, o: _f(
                                    f"%m = arith.mulf {a[0]}, {a[1]} : f32",
                                    f"%r = arith.addf {o}, %m : f32"))
        return self.e.elementwise([x, window], "f32", lambda a: _f(
            f"%al = arith.constant {_float_literal(alpha / size)} : f32",
            f"%bi = arith.constant {_float_literal(bias)} : f32",
            f"%be = arith.constant {_float_literal(-beta)} : f32",
            f"%s = arith.mulf {a[1]}, %al : f32", "%t = arith.addf %s, %bi : f32",
            "%p = math.powf %t, %be : f32", f"%r = arith.mulf {a[0]}, %p : f32"))

    def batch_norm_computed(self, x, parameters, eps):
        """BatchNormalization whose parameters are read at run time:
        (x - mean) * scale / sqrt(variance + epsilon) + bias, per channel."""
        shape = [1] * len(x.shape)
        shape[1] = x.shape[1]
        operands = []
        for v in parameters:
            if int(np.prod(self.shape_of(v))) != x.shape[1]:
                self.fail(f"a parameter of shape {list(self.shape_of(v))} for "
                          f"{x.shape[1]} channels")
            v = v.astype(np.float32) if isinstance(v, np.ndarray) else self.floats(v)
            operands.append(v.reshape(shape) if isinstance(v, np.ndarray) else
                            self.e.reshape(v, shape))
        operands = [self.value(v) for v in operands]
        return self.e.elementwise([x] + operands, "f32", lambda a: _f(
            f"%e = arith.constant {_float_literal(eps)} : f32",
            f"%v = arith.addf {a[4]}, %e : f32", "%s = math.rsqrt %v : f32",
            f"%d = arith.subf {a[0]}, {a[3]} : f32", f"%g = arith.mulf %s, {a[1]} : f32",
            "%m = arith.mulf %d, %g : f32", f"%r = arith.addf %m, {a[2]} : f32"))

    def norm_statistics(self, node, x, axis, eps):
        """LayerNormalization's optional outputs, when the graph names them:
        the mean and 1 / sqrt(variance + epsilon) over the normalized axes,
        which are kept as ones."""
        if len(node.output) < 2 or not any(node.output[1:3]):
            return []
        axes = list(range(axis, len(x.shape)))
        mean = self.e.reduce(x, axes, "mean")
        centered = self.e.elementwise([x, mean], "f32", lambda a: _f(
            f"%d = arith.subf {a[0]}, {a[1]} : f32", "%r = arith.mulf %d, %d : f32"))
        variance = self.e.reduce(centered, axes, "mean")
        inverse = self.e.elementwise([variance], "f32", lambda a: _f(
            f"%e = arith.constant {_float_literal(eps)} : f32",
            f"%s = arith.addf {a[0]}, %e : f32", "%r = math.rsqrt %s : f32"))
        return [mean, inverse]

    def op_BatchNormalization(self, node, ins, attrs):
        if attrs.get("spatial", 1) != 1:
            self.fail("spatial = 0 (statistics per activation, opsets 7 and 8) is not "
                      "supported")
        x = self.floats(ins[0])
        if len(ins) < 5 or any(v is None for v in ins[1:5]):
            self.fail("scale, bias, mean and variance (inputs 1 to 4) are required")
        if not all(isinstance(v, np.ndarray) for v in ins[1:5]):
            return self.batch_norm_computed(x, ins[1:5], attrs.get("epsilon", 1e-5))
        scale, bias, mean, var = (v.astype(np.float64) for v in ins[1:5])
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
