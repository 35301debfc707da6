"""Normalization: raised RMS, layer and L2 norms, LayerNormalization,
BatchNormalization (folded into a preceding Conv when it can be)."""

import numpy as np

from .emitter import Value, _float_literal
from .bodies import _f
from .loader import _attrs


class _NormOps:
    """Handlers of norms (mixed into the importer)."""

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
