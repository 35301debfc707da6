"""ONNX import: a float ONNX model to Lattice IR and a safetensors file.

    lattice.onnx_import.import_model("model.onnx", "out/model.mlir")
    python3 -m lattice.onnx_import model.onnx -o out/model.mlir [--shape x=1,3,32,32]

The result is one public function on statically shaped tensors, in the
lattice dialect (matmuls, norms) and upstream dialects (linalg, tensor,
arith, math), with the large weights in `<stem>.safetensors` next to the
.mlir file, referenced by `lattice.weight`. Every tensor's shape is known at
import time: symbolic input dimensions take the sizes given with `shapes`
(1 by default, said on stderr), and shape arithmetic (Shape, Gather on
shapes, Concat, ...) is evaluated here.

Linear layers become `lattice.matmul` on a constant `[N, K]` weight, so the
quantization passes see them: MatMul and Gemm with a constant operand, Conv
with one group (as im2col + matmul, one weight row per output channel),
and the input and recurrence weights of LSTM and GRU. Nodes are translated
one by one: norms written as elementwise ops stay so, and BatchNormalization
is its per-channel affine map. The MLIR passes that lattice-compile runs
first (`lattice-prepare-model`: lattice-raise-norms, lattice-fold-batch-norm)
raise the norms to `lattice.rms_norm`, `lattice.layer_norm` and
`lattice.normalize` and fold the batch norms into the convolutions.

Integer model inputs (token ids) are `i32` in the compiled function; int64
values computed inside a model are i32 too. Gather clamps indices into
range, so no input can read outside a table.

Anything outside the supported set is an `OnnxImportError` naming the node,
the op and the opset; the file is checked (size, external data inside the
model's folder, initializer sizes) before anything is read from it.

Weights are not copied into memory: float initializers in external data
files, and those whose raw bytes lie in the .onnx file itself (found by
walking the protobuf encoding before parsing it), are mapped where they lie
and written to the weights file one at a time.
"""

import argparse
import pathlib
import re
import sys

import numpy as np

from .. import safetensors
from .common import MAX_OPSET, MIN_OPSET, OnnxImportBug, OnnxImportError, _numpy_type
from .importer import _Importer
from .loader import _load

__all__ = ["MAX_OPSET", "MIN_OPSET", "Imported", "OnnxImportBug", "OnnxImportError", "import_model",
           "load_bound", "main"]


class Imported:
    """What import_model wrote: the .mlir and weights paths, the model's
    inputs and outputs as (name, shape, dtype) in the library, and their
    numpy types as the ONNX graph declares them (None where it does not):
    the library takes floats as f32 and integers and bools as i32."""

    def __init__(self, mlir, weights, inputs, outputs, input_types=None,
                 output_types=None):
        self.mlir, self.weights = mlir, weights
        self.inputs, self.outputs = inputs, outputs
        self.input_types = input_types or [None] * len(inputs)
        self.output_types = output_types or [None] * len(outputs)


def _identifier(text):
    name = re.sub(r"[^A-Za-z0-9_]", "_", text or "")
    if not name or name[0].isdigit():
        name = "model_" + name
    return name


def import_model(model, output, shapes=None, quiet=False, bind=None):
    """Imports the ONNX file `model` into the .mlir file `output` and the
    weights file next to it (same stem, .safetensors). `shapes` maps input
    names to shapes for inputs with symbolic dimensions; `bind` maps input
    names to arrays: those inputs become constants of these values (the
    parameters that decide shapes, which must be known at import), and the
    library does not take them."""
    output = pathlib.Path(output)
    weights_path = output.with_suffix(".safetensors")
    proto, mapped = _load(model)
    importer = _Importer(proto, weights_path.name, shapes, quiet, mapped, bind)
    for name in (shapes or {}):
        if name not in {i.name for i in proto.graph.input}:
            raise OnnxImportError(f"--shape names '{name}', which is not an input of "
                                  "the model")
    text, args, results = importer.run(_identifier(pathlib.Path(model).stem))
    output.parent.mkdir(parents=True, exist_ok=True)
    header = (f"// Imported from {pathlib.Path(model).name} (ONNX opset {importer.opset}) "
              "by lattice.onnx_import.\n")
    output.write_text(header + text)
    safetensors.save(weights_path, importer.e.weights)
    describe = [(n, v.shape, v.dtype) for n, v in args]
    declared = {info.name: _numpy_type(info) for info in
                list(proto.graph.input) + list(proto.graph.output)}
    return Imported(str(output), str(weights_path), describe,
                    [(n, v.shape, v.dtype) for n, v in results],
                    [declared.get(n) for n, _ in args],
                    [declared.get(n) for n, _ in results])


def _parse_shape(text):
    name, _, dims = text.rpartition("=")
    if not name or not dims:
        raise argparse.ArgumentTypeError(f"expected NAME=D1,D2,..., got '{text}'")
    try:
        return name, [int(d) for d in dims.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=D1,D2,..., got '{text}'") from None


def load_bound(text):
    """A `--bind NAME=FILE.npy` argument: the name and the array (read
    without pickles and mapped, so that a header claiming more than the
    file holds is an error, not an allocation)."""
    name, _, path = text.partition("=")
    if not name or not path:
        raise OnnxImportError(f"--bind takes NAME=FILE.npy, got '{text}'")
    try:
        return name, np.array(np.load(path, mmap_mode="r", allow_pickle=False))
    except (OSError, ValueError, EOFError) as error:
        raise OnnxImportError(f"--bind {name}: cannot read '{path}' as an .npy "
                              f"array: {error}") from None


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m lattice.onnx_import",
        description="Import a float ONNX model into Lattice IR and a weights file.")
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("-o", "--output", required=True, help="the .mlir file to write")
    parser.add_argument("--shape", action="append", type=_parse_shape, default=[],
                        help="NAME=D1,D2,...: the shape of an input with symbolic sizes")
    parser.add_argument("--bind", action="append", default=[],
                        help="NAME=FILE.npy: a constant value for an input (one "
                             "that decides shapes)")
    args = parser.parse_args(argv)
    try:
        bound = dict(load_bound(text) for text in args.bind)
        result = import_model(args.model, args.output, dict(args.shape), bind=bound)
    except (OnnxImportError, OnnxImportBug) as error:
        print(f"lattice.onnx_import: error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {result.mlir} and {result.weights}")
    return 0

