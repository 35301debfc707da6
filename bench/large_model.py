#!/usr/bin/env python3
"""Compiles a generated GPT-style model of about 1 B parameters, as a user
with a large model would: ONNX with its weights in an external data file.

    python3 bench/large_model.py [--blocks 20] [--width 2048] [--recipe w4a16]
                                 [--work DIR]

Writes the model with onnx (no PyTorch: 20 pre-norm blocks of width 2048,
16 heads, a 512-token vocabulary, 64 tokens; random weights written one
tensor at a time to `model.onnx.data`), compiles it with `lattice-compile
MODEL --recipe R` in a fresh process (wall time and peak RSS of the largest
process, as bench/compile_time.py measures them), then runs the library
once and compares its logits with a float forward pass in numpy over the
same mapped weights (SQNR). Prints one markdown row. Needs about 6 GB of
disk and, for the numpy reference, about 5 GB of memory.
"""

import argparse
import math
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "python"))
import compile_time  # noqa: E402

VOCAB, CONTEXT, HEADS = 512, 64, 16


class _Writer:
    """Initializers of an ONNX graph: large ones appended to one external
    data file as they are made, small ones inline."""

    def __init__(self, folder, data_name):
        self.data_name = data_name
        self.data = open(folder / data_name, "wb")
        self.offset = 0
        self.tensors = []
        self.parameters = 0

    def add(self, name, array):
        from onnx import TensorProto, numpy_helper
        array = np.ascontiguousarray(array, np.float32)
        self.parameters += array.size
        if array.nbytes < 4096:
            self.tensors.append(numpy_helper.from_array(array, name))
            return name
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT,
                             dims=list(array.shape))
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.data_name), ("offset", str(self.offset)),
                           ("length", str(array.nbytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        self.data.write(array.tobytes())
        self.offset += array.nbytes
        self.tensors.append(tensor)
        return name


def generate(folder, blocks, width, seed=0):
    """Writes folder/model.onnx and its external data; returns the parameter
    count."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = _Writer(folder, "model.onnx.data")
    nodes, head_dim = [], width // HEADS

    def node(op, inputs, **attrs):
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def const(name, values, dtype=np.int64):
        w.tensors.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        return name

    def linear(x, name, k, n, bias=True):
        weight = w.add(f"{name}.weight", rng.standard_normal((k, n), np.float32) * 0.02)
        y = node("MatMul", [x, weight])
        return node("Add", [y, w.add(f"{name}.bias", np.zeros(n, np.float32))]) if bias else y

    def norm(x, name):
        gain = w.add(f"{name}.weight", 1 + 0.1 * rng.standard_normal(width, np.float32))
        bias = w.add(f"{name}.bias", 0.1 * rng.standard_normal(width, np.float32))
        return node("LayerNormalization", [x, gain, bias], axis=-1, epsilon=1e-5)

    const("heads_shape", [1, CONTEXT, HEADS, head_dim])
    const("model_shape", [1, CONTEXT, width])
    const("split", [width] * 3)
    mask = np.triu(np.full((CONTEXT, CONTEXT), -np.inf, np.float32), 1)
    w.tensors.append(numpy_helper.from_array(mask, "mask"))
    const("scale", np.float32(head_dim ** -0.5), np.float32)
    const("half", np.float32(0.5), np.float32)
    const("one", np.float32(1.0), np.float32)
    const("sqrt2", np.float32(math.sqrt(2.0)), np.float32)

    embed = w.add("embed.weight", rng.standard_normal((VOCAB, width), np.float32))
    x = node("Gather", [embed, "tokens"])
    for b in range(blocks):
        p = f"blocks.{b}"
        qkv = linear(norm(x, f"{p}.ln1"), f"{p}.qkv", width, 3 * width)
        split = helper.make_node("Split", [qkv, "split"], [f"{p}.q", f"{p}.k", f"{p}.v"],
                                 axis=2)
        nodes.append(split)
        q, k, v = (node("Reshape", [f"{p}.{n}", "heads_shape"]) for n in "qkv")
        q = node("Transpose", [q], perm=[0, 2, 1, 3])
        k = node("Transpose", [k], perm=[0, 2, 3, 1])
        v = node("Transpose", [v], perm=[0, 2, 1, 3])
        att = node("Add", [node("Mul", [node("MatMul", [q, k]), "scale"]), "mask"])
        y = node("MatMul", [node("Softmax", [att], axis=-1), v])
        y = node("Reshape", [node("Transpose", [y], perm=[0, 2, 1, 3]), "model_shape"])
        x = node("Add", [x, linear(y, f"{p}.proj", width, width)])
        h = linear(norm(x, f"{p}.ln2"), f"{p}.fc", width, 4 * width)
        erf = node("Erf", [node("Div", [h, "sqrt2"])])
        gelu = node("Mul", [node("Mul", [h, "half"]), node("Add", [erf, "one"])])
        x = node("Add", [x, linear(gelu, f"{p}.out", 4 * width, width)])
    logits = linear(norm(x, "ln"), "head", width, VOCAB, bias=False)
    nodes[-1].output[0] = "logits"
    w.data.close()
    graph = helper.make_graph(
        nodes, "gpt", [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, CONTEXT])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, CONTEXT, VOCAB])],
        w.tensors)
    del logits
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(folder / "model.onnx"))
    return w.parameters


def reference(folder, blocks, width, tokens):
    """The float model's logits, in numpy over the mapped weights."""
    from lattice.onnx_import import loader
    proto, mapped = loader._load(folder / "model.onnx")
    initializers = {t.name: t for t in proto.graph.initializer}

    def get(name):
        if name in mapped:
            return loader._mapped_array(initializers[name], mapped[name])
        return loader._to_array(initializers[name], "initializer")

    def norm(x, name):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5) * get(f"{name}.weight") + get(f"{name}.bias")

    def linear(x, name, bias=True):
        y = x @ get(f"{name}.weight")
        return y + get(f"{name}.bias") if bias else y

    from math import erf
    gelu_erf = np.vectorize(erf, otypes=[np.float32])
    head_dim = width // HEADS
    mask = np.triu(np.full((CONTEXT, CONTEXT), -np.inf, np.float32), 1)
    x = get("embed.weight")[tokens[0]]
    for b in range(blocks):
        p = f"blocks.{b}"
        q, k, v = np.split(linear(norm(x, f"{p}.ln1"), f"{p}.qkv"), 3, axis=-1)
        q, k, v = (t.reshape(CONTEXT, HEADS, head_dim).transpose(1, 0, 2) for t in (q, k, v))
        att = q @ k.transpose(0, 2, 1) * np.float32(head_dim ** -0.5) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ v).transpose(1, 0, 2).reshape(CONTEXT, width)
        x = x + linear(y, f"{p}.proj")
        h = linear(norm(x, f"{p}.ln2"), f"{p}.fc")
        x = x + linear(h * 0.5 * (1 + gelu_erf(h / np.float32(math.sqrt(2)))), f"{p}.out")
    return linear(norm(x, "ln"), "head", bias=False)[None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=20)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--recipe", default="w4a16")
    parser.add_argument("--work", type=pathlib.Path,
                        help="folder for the model and the library (default: a "
                             "temporary one, removed at the end)")
    args = parser.parse_args()
    holder = None if args.work else tempfile.TemporaryDirectory(prefix="lattice-large-")
    work = args.work or pathlib.Path(holder.name)
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    parameters = generate(work, args.blocks, args.width)
    generated = time.perf_counter() - start
    seconds, rss = compile_time.measure([compile_time.COMPILE, work / "model.onnx",
                                         "--recipe", args.recipe, "-o", work / "out" / "model"])
    from lattice import runtime
    tokens = np.random.default_rng(1).integers(0, VOCAB, (1, CONTEXT)).astype(np.int32)
    model = runtime.Model(work / "out" / "model.so")
    start = time.perf_counter()
    logits = model(tokens)
    call = time.perf_counter() - start
    expected = reference(work, args.blocks, args.width, tokens)
    error = logits - expected
    sqnr = 10 * math.log10(float((expected ** 2).sum()) / float((error ** 2).sum()))
    weight_bytes = 4 * parameters
    print("| parameters | f32 weights | generate | recipe | compile | peak RSS | "
          "first call | SQNR vs numpy f32 |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {parameters / 1e9:.2f} B | {weight_bytes / 2**30:.2f} GiB | {generated:.0f} s | "
          f"{args.recipe} | {seconds:.0f} s | {rss / 2**30:.2f} GiB | {call:.2f} s | "
          f"{sqnr:.1f} dB |")


if __name__ == "__main__":
    main()
