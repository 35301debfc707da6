"""ONNX Runtime's dynamic int8 form of a float model, written with onnx as
ONNX Runtime's own `quantize_dynamic` writes it (its Python tools are not
installable here): every MatMul whose second input is a 2-D float
initializer becomes

    x_q, x_scale, x_zero = DynamicQuantizeLinear(x)        # u8, per tensor
    y_i = MatMulInteger(x_q, w_q, x_zero, w_zero)          # w_q: s8, per tensor
    y = Mul(Cast<float>(y_i), Mul(x_scale, w_scale))

with symmetric int8 weights (scale = max|w| / 127, zero point 0), the
default of `quantize_dynamic` (QInt8, per tensor). ONNX Runtime fuses the
pattern into its DynamicQuantizeMatMul kernel when the session optimizes the
graph.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper


def dynamic_int8(model):
    """Returns a copy of `model` (onnx.ModelProto) in the dynamic int8 form;
    the number of MatMuls rewritten is `model.metadata_props['rewritten']`."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        weight = initializers.get(node.input[1]) if node.op_type == "MatMul" else None
        if weight is None or len(weight.dims) != 2 or \
                weight.data_type != onnx.TensorProto.FLOAT:
            nodes.append(node)
            continue
        rewritten += 1
        w = numpy_helper.to_array(weight).astype(np.float32)
        scale = max(float(np.abs(w).max()), 1e-12) / 127.0
        codes = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
        prefix = f"{node.name or node.output[0]}_dq"
        graph.initializer.extend([
            numpy_helper.from_array(codes, f"{prefix}_w"),
            numpy_helper.from_array(np.array(scale, np.float32), f"{prefix}_w_scale"),
            numpy_helper.from_array(np.array(0, np.int8), f"{prefix}_w_zero"),
        ])
        x = node.input[0]
        nodes.extend([
            helper.make_node("DynamicQuantizeLinear", [x],
                             [f"{prefix}_x", f"{prefix}_x_scale", f"{prefix}_x_zero"],
                             name=f"{prefix}_quantize"),
            helper.make_node("MatMulInteger",
                             [f"{prefix}_x", f"{prefix}_w", f"{prefix}_x_zero",
                              f"{prefix}_w_zero"], [f"{prefix}_i32"],
                             name=f"{prefix}_matmul"),
            helper.make_node("Cast", [f"{prefix}_i32"], [f"{prefix}_f32"],
                             to=onnx.TensorProto.FLOAT, name=f"{prefix}_cast"),
            helper.make_node("Mul", [f"{prefix}_x_scale", f"{prefix}_w_scale"],
                             [f"{prefix}_scale"], name=f"{prefix}_scale_mul"),
            helper.make_node("Mul", [f"{prefix}_f32", f"{prefix}_scale"],
                             [node.output[0]], name=f"{prefix}_mul"),
        ])
    del graph.node[:]
    graph.node.extend(nodes)
    # Float weights no longer used go.
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    # MatMulInteger and DynamicQuantizeLinear need opset 10 and 11.
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < 11:
            opset.version = 11
    helper.set_model_props(model, {"rewritten": str(rewritten)})
    return model
