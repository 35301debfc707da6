"""Writes linear.onnx into the folder given: y = x W^T for x [2, 64] and a
weight [16, 64] of random values (fixed seed), for the ONNX path of
lattice-compile."""

import pathlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

folder = pathlib.Path(sys.argv[1])
w = np.random.default_rng(0).standard_normal((64, 16)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "linear",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])],
    [numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.save(model, str(folder / "linear.onnx"))
