"""The ONNX importer on damaged models: seeded random mutations of valid
models, of their bytes (flips, truncations, insertions, repeated chunks)
and of their protobuf fields (operator types, attributes, dimensions,
element types, initializer payloads, names, opsets). Each mutant must import
or be refused with OnnxImportError: any other exception is a traceback that
a user would meet, and fails the test with the mutation that caused it.

The seeds are models of ONNX's own node tests (Debian's libonnx-testdata)
that import today, and two small graphs written here; the seed of the random
generator is fixed, so that a failure reproduces.
"""

import copy
import pathlib
import random

import numpy as np
import pytest

from lattice import onnx_import

onnx = pytest.importorskip("onnx")

NODE_TESTS = pathlib.Path("/usr/share/libonnx-testdata/data/node")
# Node tests whose models import: convolutions and pooling, norms, matrix
# products, data movement, and the usual elementwise ops. (Recurrent cells,
# Reshape, Slice and Resize tests pass their parameters as graph inputs,
# which the importer refuses; the graphs below cover the shape arithmetic.)
SEED_TESTS = [
    "test_conv_with_strides_padding", "test_convtranspose_pads",
    "test_maxpool_2d_pads", "test_batchnorm_epsilon", "test_gemm_all_attributes",
    "test_layer_normalization_4d_axis0", "test_lrn", "test_softmax_axis_1",
    "test_clip_default_inbounds", "test_tril_neg", "test_einsum_batch_matmul",
    "test_gather_elements_1", "test_gather_1", "test_split_equal_parts_2d",
    "test_transpose_all_permutations_1", "test_concat_1d_axis_negative_1",
    "test_reduce_log_sum_exp_keepdims_example", "test_argmax_keepdims_example",
    "test_where_example", "test_cast_FLOAT_to_DOUBLE", "test_depthtospace_crd_mode",
    "test_flatten_axis1", "test_hardmax_axis_0", "test_mod_broadcast",
]
MUTANTS_PER_KIND = 1500


def _mlp():
    """x @ w + b, Relu, Softmax over the last axis."""
    from onnx import TensorProto, helper, numpy_helper
    w = numpy_helper.from_array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), "w")
    b = numpy_helper.from_array(np.ones(4, np.float32), "b")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "b"], ["hb"], name="add"),
             helper.make_node("Relu", ["hb"], ["r"], name="relu"),
             helper.make_node("Softmax", ["r"], ["y"], name="sm", axis=-1)]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w, b])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _folded_if():
    """An If on the shape of its input, which the importer folds."""
    from onnx import TensorProto, helper
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [2, 3])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"])], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [2, 3])])
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ReduceProd", ["s"], ["n"], keepdims=0),
             helper.make_node("Constant", [], ["six"],
                              value=helper.make_tensor("six", TensorProto.INT64, [], [6])),
             helper.make_node("Equal", ["n", "six"], ["c"]),
             helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)]
    graph = helper.make_graph(
        nodes, "if", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _seeds():
    seeds = [("mlp", _mlp()), ("folded-if", _folded_if())]
    for name in SEED_TESTS:
        path = NODE_TESTS / name / "model.onnx"
        if path.is_file():
            seeds.append((name, onnx.load(str(path))))
    return seeds


def _mutate_bytes(data, rng):
    data = bytearray(data)
    kind = rng.choice(["flip", "truncate", "insert", "repeat", "zero"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del data[rng.randrange(1, len(data)):]
    elif kind == "insert":
        at = rng.randrange(len(data))
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "repeat":
        at = rng.randrange(len(data))
        data[at:at] = data[at:at + rng.randint(1, 64)] * rng.randint(2, 8)
    else:
        at = rng.randrange(len(data))
        data[at:at + rng.randint(1, 16)] = bytes(min(16, len(data) - at))
    return bytes(data), kind


_OPS = ["Relu", "MatMul", "Conv", "Reshape", "Gather", "Slice", "Concat", "If",
        "Loop", "LSTM", "Resize", "Transpose", "Split", "Unknown", ""]
_INTS = [0, 1, -1, 2, 3, -7, 2 ** 31, -(2 ** 62), 2 ** 63 - 1]
_TYPES = list(range(0, 24))


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _all_nodes(attr.g)


def _mutate_fields(model, rng):
    """One random change of a protobuf field; returns its description."""
    g = model.graph
    nodes = list(_all_nodes(g))
    choices = ["op_type", "drop_input", "add_input", "attr_int", "attr_ints",
               "attr_type", "drop_attr", "dim", "elem_type", "raw_data",
               "dims", "data_type", "rename", "opset", "drop_node",
               "drop_initializer", "drop_output", "ir_version"]
    kind = rng.choice(choices)
    node = rng.choice(nodes) if nodes else None
    if kind == "op_type" and node is not None:
        node.op_type = rng.choice(_OPS)
    elif kind == "drop_input" and node is not None and node.input:
        del node.input[rng.randrange(len(node.input))]
    elif kind == "add_input" and node is not None:
        node.input.append(rng.choice(["", "x", "missing", *node.output]))
    elif kind in ("attr_int", "attr_ints", "attr_type", "drop_attr") and node is not None \
            and node.attribute:
        attr = rng.choice(node.attribute)
        if kind == "attr_int":
            attr.i = rng.choice(_INTS)
        elif kind == "attr_ints":
            attr.ints[:] = [rng.choice(_INTS) for _ in range(rng.randint(0, 5))]
        elif kind == "attr_type":
            attr.type = rng.choice(range(15))
        else:
            node.attribute.remove(attr)
    elif kind == "dim":
        values = list(g.input) + list(g.output)
        if values:
            dims = rng.choice(values).type.tensor_type.shape.dim
            if dims:
                dims[rng.randrange(len(dims))].dim_value = rng.choice(_INTS)
    elif kind == "elem_type":
        values = list(g.input) + list(g.output)
        if values:
            rng.choice(values).type.tensor_type.elem_type = rng.choice(_TYPES)
    elif kind in ("raw_data", "dims", "data_type") and g.initializer:
        t = rng.choice(g.initializer)
        if kind == "raw_data":
            t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data) + 1)]
        elif kind == "dims":
            if t.dims:
                t.dims[rng.randrange(len(t.dims))] = rng.choice(_INTS)
            else:
                t.dims.append(rng.choice(_INTS))
        else:
            t.data_type = rng.choice(_TYPES)
    elif kind == "rename" and node is not None and node.output:
        node.output[rng.randrange(len(node.output))] = rng.choice(
            ["x", "", "y", "\n", "a" * 300])
    elif kind == "opset":
        model.opset_import[0].version = rng.choice([1, 6, 7, 12, 18, 19, 21, 99])
    elif kind == "drop_node" and g.node:
        del g.node[rng.randrange(len(g.node))]
    elif kind == "drop_initializer" and g.initializer:
        del g.initializer[rng.randrange(len(g.initializer))]
    elif kind == "drop_output" and g.output:
        del g.output[rng.randrange(len(g.output))]
    elif kind == "ir_version":
        model.ir_version = rng.choice([0, 1, 3, 7, 10, 99])
    return kind


def _check(tmp_path, data, what):
    path = tmp_path / "mutant.onnx"
    path.write_bytes(data)
    try:
        onnx_import.import_model(path, tmp_path / "mutant.mlir", quiet=True)
    except onnx_import.OnnxImportError:
        pass
    except Exception as error:  # noqa: BLE001 - the test reports any escape
        raise AssertionError(f"{what}: {type(error).__name__}: {error}") from error


@pytest.mark.parametrize("strategy", ["bytes", "fields"])
def test_mutants_import_or_are_refused(tmp_path, strategy):
    rng = random.Random(20261204 + (strategy == "fields"))
    seeds = _seeds()
    for i in range(MUTANTS_PER_KIND):
        name, model = seeds[i % len(seeds)]
        if strategy == "bytes":
            data, kind = _mutate_bytes(model.SerializeToString(), rng)
        else:
            mutant = copy.deepcopy(model)
            kind = _mutate_fields(mutant, rng)
            data = mutant.SerializeToString()
        _check(tmp_path, data, f"mutant {i} of {name} ({kind})")
