"""Normalization: LayerNormalization, and BatchNormalization as its channel
affine (lattice-fold-batch-norm folds it into a preceding convolution;
lattice-raise-norms raises norms spelled out in elementwise ops)."""

import numpy as np

from .bodies import _f


class _NormOps:
    """Handlers of norms (mixed into the importer)."""

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
        if attrs.get("spatial", 1) != 1:
            self.fail("spatial = 0 (statistics per activation, opsets 7 and 8) is not "
                      "supported")
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
