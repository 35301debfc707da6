"""One step from a float model to a native library: import, calibrate,
quantize with a recipe, compile.

    model = lattice.compile("model.onnx", recipe="w4a16")
    (logits,) = model(tokens)

    python3 -m lattice model.onnx --recipe w8a8 --calib data.npz -o out/model

(`lattice-compile model.onnx --recipe ...` runs the same command.)

A recipe names the quantization; every one of them quantizes the weights
of the matmuls (linear layers, convolutions with one group, recurrent
weights) and leaves the rest in float:

    f32          no quantization
    w8a16        8-bit weights, per output channel; float activations
    w4a16        4-bit weights in groups of 128 along K (f16 scales)
    w4a16-gptq   w4a16 with GPTQ (each column's rounding error compensated
                 in the columns after it, from calibration)
    w4a16-awq    w4a16 after AWQ (weights scaled by their inputs'
                 magnitudes, the scales searched on the output error)
    w4a16-gptq-qep  w4a16-gptq on QEP's targets (each layer corrects the
                 error of the quantized layers before it)
    w4a16-g32    4-bit weights in groups of 32
    w3a16        3-bit weights in groups of 128 (f16 scales)
    w3a16-gptq   w3a16 with GPTQ, from calibration
    w3a16-awq    w3a16 after AWQ, from calibration
    w3a16-gptq-qep  w3a16-gptq on QEP's targets, from calibration
    w2a16        2-bit weights in groups of 32, MSE-clipped
    w2a16-gptq   w2a16 with GPTQ, from calibration
    w2a16-gptq-qep  w2a16-gptq on QEP's targets, from calibration
    ternary      {-1, 0, 1} weights, one absmean scale per channel
    mixed        4-bit groups of 32, 8-bit first and last layers (as
                 llama.cpp's Q4_K_M keeps the model's ends more precise)
    w8a8         SmoothQuant (alpha 0.5), then 8-bit per-channel weights
                 and 8-bit per-tensor static activations, from calibration
    w8a8-dynamic 8-bit weights and 8-bit activations quantized per token
                 at run time (SmoothQuant first when calibration data is
                 given)
    llm-int8     LLM.int8(): input channels whose calibrated |x| exceeds 6
                 in a float matmul, the rest as w8a8-dynamic (without
                 SmoothQuant), from calibration

Where a group size does not divide a layer's K, the last group of each row
is shorter.
Models with `lattice.normalize` (nGPT-style) are renormalized after
quantization. Calibration data is an .npz file with one array per model
input (docs/Calibration.md); recipes that need it and get none calibrate on
generated inputs, and say so.
"""

import argparse
import json
import math
import pathlib
import re
import sys
import tempfile
import time

import numpy as np

from . import calibrate as calibration
from . import onnx_import, runtime, tools

# The recipes and what they do with activations ("none", "dynamic",
# "static"; "fitted": none, with weights fitted to calibration data;
# "measured": none, each layer's scheme chosen from errors measured on
# calibration data; "split": dynamic, with the outlier channels that
# calibration finds in float); their
# passes are the lattice-recipe-<name> pipelines of the
# compiler (lib/Dialect/Lattice/Transforms/Recipes.cpp), which
# test_compile checks this table against.
RECIPES = {
    "f32": "none",
    "w8a16": "none",
    "w4a16": "none",
    "w4a16-gptq": "fitted",
    "w4a16-awq": "fitted",
    "w4a16-gptq-qep": "fitted",
    "w4a16-g32": "none",
    "w3a16": "none",
    "w3a16-gptq": "fitted",
    "w3a16-awq": "fitted",
    "w3a16-gptq-qep": "fitted",
    "w2a16": "none",
    "w2a16-gptq": "fitted",
    "w2a16-gptq-qep": "fitted",
    "ternary": "none",
    "mixed": "measured",
    "w8a8": "static",
    "w8a8-dynamic": "dynamic",
    "llm-int8": "split",
}

def _is_note(line):
    """Whether a line of lattice-compile's output is for users to see: notes,
    progress, and warnings (degenerate weights or calibration data)."""
    return (line.startswith(("lattice-compile: note:", "lattice-compile: QEP:",
                             "lattice-quantize: layer "))
            or ": warning: " in line)


class CompileError(RuntimeError):
    """A model that could not be compiled; the message says why."""


class _Steps:
    """Numbered progress lines on stderr, with the time of each step."""

    def __init__(self, total, quiet):
        self.total, self.quiet, self.done = total, quiet, 0
        self.started = None

    def __call__(self, text):
        self.finish()
        self.done += 1
        self.started = time.perf_counter()
        if not self.quiet:
            print(f"[{self.done}/{self.total}] {text} ...", file=sys.stderr, flush=True)

    def finish(self):
        if self.started is not None and not self.quiet:
            print(f"      done in {time.perf_counter() - self.started:.1f} s",
                  file=sys.stderr, flush=True)
        self.started = None


class CompiledModel:
    """A compiled model: call it on numpy arrays, one per input (integer
    inputs may be int64, as ONNX token ids are); it returns the outputs as
    a tuple. `library` is the .so, `layers` the per-layer report of the
    quantizer (name -> dict with 'scheme', 'sqnr_db', 'bits')."""

    def __init__(self, library, recipe, layers, output_types=None):
        self.library = str(library)
        #: The numpy type of each output as the ONNX model declares it
        #: (None: the library's): the library returns integers and bools as
        #: int32 and floats as float32, which __call__ converts back.
        self.output_types = output_types
        self.recipe = recipe
        self.layers = layers
        #: The code generator's remarks (lattice-compile --remarks), one
        #: string each ("not vectorized; left as scalar loops", ...).
        self.remarks = []
        #: The mixed recipe's assignment (docs/MixedPrecision.md): per layer
        #: the scheme chosen, its bits and measured error, and every
        #: candidate's; None for other recipes. lattice.reports.
        #: precision_plot draws it.
        self.precision = None
        # The weights are loaded (for CUDA, copied to the GPU) at the first
        # call: compiling for a GPU needs none.
        self._model = None
        tensors = runtime.describe(self.library)
        self.inputs = tensors["inputs"]
        self.outputs = tensors["outputs"]

    @property
    def runtime_model(self):
        """The library as a lattice.runtime.Model, its weights loaded."""
        if self._model is None:
            self._model = runtime.load(self.library)
        return self._model

    def __call__(self, *arrays):
        if len(arrays) != len(self.inputs):
            raise ValueError(f"the model takes {len(self.inputs)} inputs, got {len(arrays)}")
        converted = []
        for array, (name, dtype, shape) in zip(arrays, self.inputs):
            array = np.asarray(array)
            if np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.inexact):
                raise ValueError(f"input '{name}' is {array.dtype}; it takes integers")
            if np.issubdtype(dtype, np.integer) and np.issubdtype(array.dtype, np.integer):
                info = np.iinfo(dtype)
                if array.size and (array.min() < info.min or array.max() > info.max):
                    raise ValueError(f"input '{name}' has values outside {np.dtype(dtype)}")
            # (np.ascontiguousarray makes a 0-d array 1-d.)
            converted.append(np.asarray(array, dtype=dtype, order="C"))
        outputs = self.runtime_model(*converted)
        # (Outputs the compiler adds after the model's, as the probes of
        # reports, keep the library's types.)
        declared = list(self.output_types or [])
        declared += [None] * (len(outputs) - len(declared))
        return tuple(out if to is None or out.dtype == to else out.astype(to)
                     for out, to in zip(outputs, declared))

    @property
    def weight_bytes(self):
        """Bytes of the weights file next to the library."""
        path = pathlib.Path(self.library).with_suffix(".safetensors")
        return path.stat().st_size if path.exists() else 0

    def close(self):
        if self._model is not None:
            self._model.close()
            self._model = None


def _layers(report_file):
    """The per-layer report that lattice-compile wrote (docs/Reports.md):
    name -> dict with 'scheme', 'sqnr_db' (inf for exact codes) and
    'bits'."""
    if not report_file.is_file():
        return {}
    report = json.loads(report_file.read_text())
    return {layer["name"]: {"scheme": layer["scheme"],
                            "sqnr_db": (math.inf if layer["sqnr_db"] is None
                                        else layer["sqnr_db"]),
                            "bits": layer.get("bits_per_weight")}
            for layer in report["layers"]}


def compile(model, recipe="f32", calib=None, output=None, *, recipe_file=None,
            shapes=None, bind=None,
            target="cpu", gpu_chip=None, gpu_format=None, target_cpu=None,
            num_threads=None, remarks=False, werror=False,
            check_outputs=True, min_output_sqnr=None,
            quiet=False, _probe_outputs=False):
    """Compiles `model` (.onnx or .mlir) with `recipe` into `output` (a
    path prefix: output.so, output.safetensors, output.h; a temporary
    folder when None) and loads it. `calib`: an .npz file, a dict of
    arrays (one per input, samples along a leading axis) or a list of
    samples, each a tuple of arrays in input order. `target`: "cpu", or
    "cuda" for an NVIDIA GPU (`gpu_chip`, default sm_80; `gpu_format`: isa,
    bin or fatbin, default isa; calibration still runs on the CPU).
    `remarks`: print the code generator's remarks (ops left as scalar
    loops, ...) on stderr; they are also in `CompiledModel.remarks`.
    Warnings (degenerate weights or calibration data) are printed unless
    `quiet`; `werror` makes them errors. `check_outputs`: run a quantized
    library beside the float model on the calibration samples and warn
    where an output keeps less than `min_output_sqnr` dB (10 by default)
    of its signal (docs/Recipes.md, "Checking the outputs").
    `recipe_file`: a recipe file (docs/Recipes.md), whose recipe replaces
    `recipe`, with per-layer settings. `shapes` gives the sizes of an ONNX
    model's symbolic input dimensions ({name: shape}); `bind` gives inputs
    constant values ({name: array}: the parameters that decide shapes, a
    Reshape's shape, Slice's bounds, Resize's scales), which the library
    then does not take."""
    if target not in ("cpu", "cuda"):
        raise CompileError(f"unknown target '{target}'; choose cpu or cuda")
    if recipe_file is not None:
        # The file names its recipe (docs/Recipes.md); the compiler checks it.
        recipe_file = pathlib.Path(recipe_file)
        try:
            recipe = json.loads(recipe_file.read_text()).get("recipe")
        except (OSError, ValueError, AttributeError, RecursionError) as error:
            raise CompileError(f"recipe file '{recipe_file}': {error}") from None
    if recipe not in RECIPES:
        raise CompileError(f"unknown recipe '{recipe}'; choose one of "
                           f"{', '.join(RECIPES)}")
    model = pathlib.Path(model)
    if not model.is_file():
        raise CompileError(f"{model}: no such file")
    if output is None:
        holder = tempfile.mkdtemp(prefix="lattice-compile-")
        output = pathlib.Path(holder) / re.sub(r"\W", "_", model.stem)
    output = pathlib.Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    work = output.parent / f"{output.name}.work"
    work.mkdir(exist_ok=True)
    activations = RECIPES[recipe]
    smooth = activations in ("static", "split") or (activations == "dynamic"
                                                    and calib is not None)
    steps = _Steps(1 + (model.suffix == ".onnx"), quiet)
    extra = ["--target", target]
    if gpu_chip:
        extra += ["--gpu-chip", gpu_chip]
    if gpu_format:
        extra += ["--gpu-format", gpu_format]
    if target_cpu:
        extra += ["--target-cpu", target_cpu]
    if num_threads:
        extra += ["--num-threads", str(num_threads)]
    if werror:
        extra += ["--werror"]
    if not check_outputs:
        extra += ["--check-outputs=false"]
    if min_output_sqnr is not None:
        extra += [f"--min-output-sqnr={float(min_output_sqnr)!r}"]
    if _probe_outputs:
        # (Reports build models with a probe on every layer's output, made
        # outputs of the library.)
        extra += ["--observe-outputs"]
    name = re.sub(r"\W", "_", output.name)
    if name[:1].isdigit():
        name = "m_" + name
    extra += ["--name", name]
    report_file = work / "report.json"
    report_file.unlink(missing_ok=True)
    (work / "precision.json").unlink(missing_ok=True)
    try:
        output_types = None
        if model.suffix == ".onnx":
            steps(f"importing {model.name}")
            imported = onnx_import.import_model(model, work / "imported.mlir", shapes,
                                                quiet=quiet, bind=bind)
            source = pathlib.Path(imported.mlir)
            output_types = imported.output_types
        elif model.suffix in (".mlir", ".mlirbc"):
            if shapes or bind:
                # (The IR's shapes and inputs are its own.)
                raise CompileError("--shape and --bind apply to ONNX models, not to "
                                   f"{model.name}")
            source = model
        else:
            raise CompileError(f"{model}: expected an .onnx or .mlir file")
        calibration_data = []
        # (A recipe file may ask for methods fitted to calibration data:
        # the compiler decides whether it needs the samples.)
        if calib is not None and (activations != "none" or recipe_file or
                                  (check_outputs and recipe != "f32")):
            calibration_data = ["--calib", calibration.samples_file(calib, work)]
        steps(("calibrating, " if smooth or activations in ("fitted", "measured")
               else "") +
              f"quantizing ({recipe}) and compiling to {output}.so")
        recipe_options = (["--recipe-file", recipe_file] if recipe_file else
                          ["--recipe", recipe] if recipe != "f32" else [])
        if recipe_options:
            recipe_options += ["--report-file", report_file]
        # The compiler's notes (calibration on generated inputs, ...) and
        # the progress of long quantizations, as they come.
        codegen = tools.run("lattice-compile", source, "-o", output, "--remarks",
                            *recipe_options, *calibration_data, *extra,
                            echo=None if quiet or remarks else _is_note)
        steps.finish()
        if remarks and codegen:
            print(codegen, file=sys.stderr, end="", flush=True)
        layers = _layers(report_file)
    except (onnx_import.OnnxImportError, calibration.CalibrationError) as error:
        raise CompileError(str(error)) from None
    except tools.ToolError as error:
        raise CompileError(str(error)) from None
    compiled = CompiledModel(f"{output}.so", recipe, layers, output_types)
    assignment = work / "precision.json"
    if recipe == "mixed" and assignment.exists():
        compiled.precision = json.loads(assignment.read_text())
    compiled.remarks = [line.split("remark: ", 1)[1] for line in codegen.splitlines()
                        if "remark: " in line]
    return compiled


def _parse_shape(text):
    return onnx_import._parse_shape(text)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="lattice-compile MODEL --recipe",
        description="Compile an ONNX or MLIR model to a native library with a "
                    "quantization recipe.",
        epilog="recipes: " + ", ".join(RECIPES))
    parser.add_argument("model", help="the model (.onnx or .mlir)")
    parser.add_argument("-o", "--output", required=True,
                        help="output prefix: writes PREFIX.so, .h, .safetensors")
    parser.add_argument("--recipe", default="f32", help="quantization recipe (default f32)")
    parser.add_argument("--recipe-file",
                        help="a recipe file: a recipe and per-layer settings (docs/Recipes.md)")
    parser.add_argument("--calib", help=".npz file with one array per model input")
    parser.add_argument("--shape", action="append", type=_parse_shape, default=[],
                        help="NAME=D1,D2,...: the shape of an ONNX input with symbolic sizes")
    parser.add_argument("--bind", action="append", default=[],
                        help="NAME=FILE.npy: a constant value for an ONNX input (one "
                             "that decides shapes); the library does not take it")
    parser.add_argument("--target", default="cpu", choices=("cpu", "cuda"),
                        help="where the model runs (default cpu)")
    parser.add_argument("--gpu-chip", help="GPU architecture for --target cuda")
    parser.add_argument("--gpu-format", help="isa, bin or fatbin for --target cuda")
    parser.add_argument("--target-cpu")
    parser.add_argument("--num-threads", type=int)
    parser.add_argument("--remarks", action="store_true",
                        help="print the code generator's remarks")
    parser.add_argument("--werror", action="store_true",
                        help="turn warnings (degenerate weights or calibration data) "
                             "into errors")
    parser.add_argument("--check-outputs", choices=("true", "false"), default="true",
                        help="check a quantized library's outputs against the float "
                             "model on the calibration samples (default true)")
    parser.add_argument("--min-output-sqnr", type=float,
                        help="the output SQNR in dB below which the check warns "
                             "(default 10)")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        bound = dict(onnx_import.load_bound(text) for text in args.bind)
        result = compile(args.model, args.recipe, args.calib, args.output,
                         recipe_file=args.recipe_file,
                         shapes=dict(args.shape), bind=bound, target=args.target,
                         gpu_chip=args.gpu_chip, gpu_format=args.gpu_format,
                         target_cpu=args.target_cpu,
                         num_threads=args.num_threads, remarks=args.remarks,
                         werror=args.werror,
                         check_outputs=args.check_outputs == "true",
                         min_output_sqnr=args.min_output_sqnr, quiet=args.quiet)
    except (CompileError, onnx_import.OnnxImportError, onnx_import.OnnxImportBug) as error:
        print(f"lattice-compile: error: {error}", file=sys.stderr)
        return 1
    if result.layers and not args.quiet:
        print(f"{'layer':40s} {'scheme':40s} {'SQNR dB':>8s} {'bits':>6s}")
        for layer, info in result.layers.items():
            print(f"{layer[:40]:40s} {info['scheme'][:40]:40s} {info['sqnr_db']:8.2f} "
                  f"{info['bits']:6.2f}")
    print(f"wrote {result.library}")
    result.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
