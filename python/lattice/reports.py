"""Per-layer quality reports: where quantization hurts a model, and how much.

    rep = lattice.report("model.onnx", "w4a16", inputs, output_dir="report")
    print(rep.table())          # one row per linear layer
    rep.plots                   # PNG files in output_dir

For every linear layer (a `lattice.matmul`), float against quantized:

- weight SQNR (dB) and effective bits per weight (codes, scales and zero
  points), from the quantizer;
- output SQNR (dB): the layer's output in the quantized model against the
  float model's, on the given inputs. It compounds the layer's own error
  and everything upstream (seed 001: SQNR ~ 6.02 b + C per layer);
- RMS of the layer's output in both models, through depth, and the mean
  drift (quantized mean - float mean, relative to the float RMS): the
  diagnosis of seed 004, where a biased quantizer shows up as a mean that
  walks away layer after layer and an RMS that grows;
- sensitivity (seed 003, quantization as a perturbation): the model
  output's SQNR when only that layer's weight gets Gaussian noise of a
  known size (30 dB weight SQNR). Layers with a low figure are the ones to
  keep at more bits. Needs the weights in a file (ONNX imports have them
  there); the compiled float library runs once per layer with a perturbed
  copy of its weights file, without recompiling.

Plots (python3-matplotlib): RMS through depth, mean drift, output and
weight SQNR per layer, sensitivity per layer.
"""

import math
import pathlib
import tempfile

import numpy as np

from . import compiler, onnx_import, runtime, safetensors

NOISE_SQNR_DB = 30.0


def _sqnr(signal_power, noise_power):
    if noise_power <= 0:
        return math.inf
    if signal_power <= 0:
        return -math.inf
    return 10 * math.log10(signal_power / noise_power)


class Report:
    """The rows (one dict per layer, in program order), the model output's
    SQNR, and the plot files."""

    def __init__(self, recipe, rows, output_sqnr, plots):
        self.recipe, self.rows, self.output_sqnr, self.plots = recipe, rows, output_sqnr, plots

    def table(self):
        head = (f"{'layer':28s} {'bits':>5s} {'w SQNR':>7s} {'out SQNR':>8s} "
                f"{'RMS f32':>8s} {'RMS q':>8s} {'drift':>7s} {'sens. dB':>8s}")
        lines = [f"per-layer report, recipe {self.recipe} (SQNR in dB; drift: "
                 "mean shift / float RMS; sensitivity: output SQNR with 30 dB "
                 "noise on that weight)", head, "-" * len(head)]

        def number(value, width, digits=2):
            if value is None:
                return f"{'-':>{width}s}"
            return f"{value:{width}.{digits}f}"

        for row in self.rows:
            lines.append(
                f"{row['layer'][-28:]:28s} {number(row['bits'], 5)} "
                f"{number(row['weight_sqnr'], 7, 1)} {number(row['output_sqnr'], 8, 1)} "
                f"{number(row['rms_float'], 8, 3)} {number(row['rms_quant'], 8, 3)} "
                f"{number(row['drift'], 7, 3)} {number(row['sensitivity'], 8, 1)}")
        lines.append(f"model output SQNR: {self.output_sqnr:.2f} dB")
        return "\n".join(lines)


def _collect(model, samples):
    """Per probe: sum of squares, sum, count, and the outputs per sample."""
    names = [name for name, _, _ in model.outputs]
    results = []
    for sample in samples:
        results.append(dict(zip(names, model(*sample))))
    return names, results


def report(model, recipe, inputs, output_dir=None, *, calib=None, shapes=None,
           sensitivity=True, quiet=False):
    """Compares `model` (.onnx or .mlir) compiled with `recipe` against its
    float build on `inputs` (a list of samples, each a tuple of arrays, one
    per model input). Writes plots into `output_dir` when given."""
    model = pathlib.Path(model)
    with tempfile.TemporaryDirectory(prefix="lattice-report-") as work:
        work = pathlib.Path(work)
        if model.suffix == ".onnx":
            source = pathlib.Path(onnx_import.import_model(model, work / "model.mlir",
                                                           shapes, quiet=True).mlir)
        else:
            source = model
        # The float and the quantized build, each with a probe on every
        # matmul's output (named after the layer, placed before the recipe)
        # among its outputs: one lattice-compile run each.
        float_build = compiler.compile(source, "f32", None, work / "float", quiet=True,
                                       _probe_outputs=True)
        quant = compiler.compile(source, recipe, calib, work / "quant", quiet=quiet,
                                 _probe_outputs=True)
        float_model = float_build.runtime_model
        samples = [tuple(np.asarray(a, dtype=d) for a, (_, d, _) in
                         zip(sample, float_model.inputs)) for sample in inputs]
        names, f_out = _collect(float_model, samples)
        _, q_out = _collect(quant.runtime_model, samples)
        probes = [n for n in names if n.endswith(":output")]
        model_output = names[0]

        rows = []
        for probe in probes:
            layer = probe[:-len(":output")]
            f = np.concatenate([r[probe].reshape(-1) for r in f_out]).astype(np.float64)
            q = np.concatenate([r[probe].reshape(-1) for r in q_out]).astype(np.float64)
            rms_f = float(np.sqrt(np.mean(f * f)))
            info = quant.layers.get(layer, {})
            rows.append({"layer": layer, "bits": info.get("bits"),
                         "weight_sqnr": info.get("sqnr_db"),
                         "output_sqnr": _sqnr(np.sum(f * f), np.sum((q - f) ** 2)),
                         "rms_float": rms_f, "rms_quant": float(np.sqrt(np.mean(q * q))),
                         "drift": float(np.mean(q) - np.mean(f)) / (rms_f or 1.0),
                         "sensitivity": None})
        f_y = np.concatenate([r[model_output].reshape(-1) for r in f_out]).astype(np.float64)
        q_y = np.concatenate([r[model_output].reshape(-1) for r in q_out]).astype(np.float64)
        output_sqnr = _sqnr(np.sum(f_y * f_y), np.sum((q_y - f_y) ** 2))
        quant.close()

        if sensitivity:
            _sensitivity(float_build, rows, samples, work, quiet)
        float_build.close()
    plots = _plots(rows, recipe, output_dir) if output_dir else []
    return Report(recipe, rows, output_sqnr, plots)


def _sensitivity(float_build, rows, samples, work, quiet):
    """Fills each row's 'sensitivity': the float model's output SQNR with
    Gaussian noise of NOISE_SQNR_DB on that layer's weight alone (the float
    build run again with a perturbed copy of its weights file; its first
    output is the model's)."""
    library = pathlib.Path(float_build.library)
    clean = [float_build.runtime_model(*s)[0].astype(np.float64) for s in samples]
    tensors = safetensors.load(library.with_suffix(".safetensors"))
    rng = np.random.default_rng(0)
    for i, row in enumerate(rows):
        name = row["layer"]
        if name not in tensors or tensors[name].dtype != np.float32:
            continue
        weight = tensors[name]
        sigma = np.sqrt(np.mean(weight.astype(np.float64) ** 2)) * 10 ** (-NOISE_SQNR_DB / 20)
        noisy = dict(tensors)
        noisy[name] = (weight + rng.standard_normal(weight.shape) * sigma).astype(np.float32)
        path = work / "noisy.safetensors"
        safetensors.save(path, noisy)
        perturbed = runtime.load(str(library), weights=str(path))
        try:
            signal = noise = 0.0
            for sample, reference in zip(samples, clean):
                y = perturbed(*sample)[0].astype(np.float64)
                signal += float(np.sum(reference ** 2))
                noise += float(np.sum((y - reference) ** 2))
        finally:
            perturbed.close()
        row["sensitivity"] = _sqnr(signal, noise)
        if not quiet:
            print(f"\rsensitivity: layer {i + 1}/{len(rows)}", end="", flush=True,
                  file=__import__("sys").stderr)
    if not quiet and rows:
        print(file=__import__("sys").stderr)


def _plots(rows, recipe, output_dir):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    names = [r["layer"] for r in rows]
    depth = np.arange(len(rows))
    paths = []

    def save(fig, name):
        path = output_dir / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(str(path))

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(depth, [r["rms_float"] for r in rows], "o-", label="float")
    ax.plot(depth, [r["rms_quant"] for r in rows], "s--", label=recipe)
    ax.set_xlabel("layer (program order)")
    ax.set_ylabel("RMS of the layer output")
    ax.set_title(f"RMS through depth: float vs {recipe}")
    ax.legend()
    save(fig, "rms")

    fig, ax = plt.subplots(figsize=(8, 4))
    ax.axhline(0, color="grey", lw=0.8)
    ax.plot(depth, [r["drift"] for r in rows], "o-", color="C3")
    ax.set_xlabel("layer (program order)")
    ax.set_ylabel("mean drift / float RMS")
    ax.set_title(f"Mean drift through depth ({recipe})")
    save(fig, "drift")

    fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.5), 4.5))
    width = 0.4
    ax.bar(depth - width / 2, [r["output_sqnr"] for r in rows], width, label="output SQNR")
    ax.bar(depth + width / 2, [r["weight_sqnr"] or 0 for r in rows], width,
           label="weight SQNR")
    ax.set_xticks(depth)
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("dB")
    ax.set_title(f"Per-layer SQNR ({recipe})")
    ax.legend()
    save(fig, "sqnr")

    if any(r["sensitivity"] is not None for r in rows):
        fig, ax = plt.subplots(figsize=(max(8, len(rows) * 0.5), 4.5))
        ax.bar(depth, [r["sensitivity"] or 0 for r in rows], color="C2")
        ax.set_xticks(depth)
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel("model output SQNR (dB)")
        ax.set_title(f"Sensitivity: {NOISE_SQNR_DB:.0f} dB noise on one weight "
                     "(lower = more sensitive)")
        save(fig, "sensitivity")
    return paths


def precision_plot(assignment, output):
    """Plots a mixed-precision assignment (the dict, or the path, of the
    JSON that lattice-assign-precision writes: <out>.work/precision.json
    for lattice-compile's mixed recipe) to the PNG file `output`: each
    layer's measured error under every candidate (the chosen one ringed),
    and the bits per weight it got against the budget. Returns the path."""
    import json

    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    if not isinstance(assignment, dict):
        assignment = json.loads(pathlib.Path(assignment).read_text())
    layers = assignment["layers"]
    depth = np.arange(len(layers))
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True,
                                      figsize=(max(8, len(layers) * 0.45), 7))
    schemes = []
    for layer in layers:
        for candidate in layer["candidates"]:
            if candidate["scheme"] not in schemes:
                schemes.append(candidate["scheme"])
    floor = min((c["error"] for layer in layers for c in layer["candidates"]
                 if c["error"] > 0), default=1e-12) / 10
    for i, scheme in enumerate(schemes):
        points = [(d, max(c["error"], floor)) for d, layer in enumerate(layers)
                  for c in layer["candidates"] if c["scheme"] == scheme]
        if points:
            xs, ys = zip(*points)
            top.plot(xs, ys, "o-", ms=4, lw=0.8, color=f"C{i}", label=scheme)
    top.scatter(depth, [max(layer["error"], floor) for layer in layers], s=120,
                facecolors="none", edgecolors="black", label="chosen")
    top.set_yscale("log")
    top.set_ylabel("measured error")
    top.set_title(f"Sensitivity by layer ({assignment['metric'].split(':')[0]})")
    top.legend(fontsize=7, ncol=2)
    bottom.bar(depth, [layer["bits_per_weight"] for layer in layers], color="C0")
    bottom.axhline(assignment["budget_bits_per_weight"], color="C3", lw=1,
                   label=f"budget {assignment['budget_bits_per_weight']:g}")
    bottom.axhline(assignment["bits_per_weight"], color="grey", lw=1, ls="--",
                   label=f"used {assignment['bits_per_weight']:.3f}")
    bottom.set_ylabel("bits per weight")
    bottom.set_xticks(depth)
    bottom.set_xticklabels([layer["name"] for layer in layers], rotation=70,
                           ha="right", fontsize=7)
    bottom.legend(fontsize=8)
    fig.tight_layout()
    output = pathlib.Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(output, dpi=110)
    plt.close(fig)
    return str(output)
