"""Weight quantization methods on the example LMs: held-out perplexity of
the bundled character LM (examples/charlm, 2 layers, width 128) and of the
larger one (6 layers, width 256; `charlm.py train --large` trains its
weights again) at 4 bits in groups of 128, 3 bits in groups of 128 and 2 bits in
groups of 64, for rounding to nearest, AWQ, GPTQ, GPTQ+QEP and AWQ+QEP.

    python3 bench/quant_methods.py [--models charlm charlm-large]
        [--windows 96] [--calib N] [--json results.json] [--work DIR]

Every configuration is a recipe file (docs/Recipes.md) compiled by
lattice.compile from the model's ONNX export, calibrated on `--calib`
training windows of 64 characters (32 for the bundled LM, 128 for the
larger one, whose layers are up to 768 wide: QEP's correction needs the
rows) and evaluated on `--windows` held-out windows. The 2-bit rows keep the w2a16 recipe's MSE clipping. Prints a
Markdown table (the one in docs/Recipes.md) and writes the figures as
JSON.
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "charlm"))

import charlm  # noqa: E402
from lattice import compiler  # noqa: E402

SCHEMES = [("W4 g128", "w4a16", 4, 128), ("W3 g128", "w3a16", 3, 128),
           ("W2 g64", "w2a16", 2, 64)]
# Calibration windows of the bundled and of the larger LM.
CALIB = {False: 32, True: 128}
METHODS = {
    "RTN": {},
    "AWQ": {"awq": True},
    "GPTQ": {"method": "gptq"},
    "GPTQ+QEP": {"method": "gptq", "qep": True},
    "AWQ+QEP": {"awq": True, "qep": True},
}


def recipe_file(path, base, bits, group, method):
    rule = {"match": ".", "bits": bits, "granularity": "group", "group_size": group}
    if "method" in method:
        rule["method"] = method["method"]
    document = {"recipe": base, "layers": [rule]}
    document.update({k: v for k, v in method.items() if k != "method"})
    path.write_text(json.dumps(document))
    return path


def prepare(work, large, windows, calib):
    """The ONNX export, calibration windows and held-out windows of one LM."""
    folder = work / ("charlm-large" if large else "charlm")
    folder.mkdir(parents=True, exist_ok=True)
    vocab = charlm.export(False, folder / "model.onnx", large)
    text = charlm.corpus()
    x, y = charlm.held_out_windows(text, vocab, windows)
    rng = np.random.default_rng(0)
    train = charlm.encode(charlm.split(text)[0], vocab)
    starts = rng.integers(0, len(train) - charlm.CONTEXT, calib)
    np.savez(folder / "calib.npz",
             tokens=np.stack([train[s:s + charlm.CONTEXT] for s in starts])[:, None])
    return folder, x, y


def perplexity(folder, x, y, name, recipe=None, recipe_file=None):
    model = compiler.compile(folder / "model.onnx", recipe, folder / "calib.npz",
                             folder / name, recipe_file=recipe_file, quiet=True)
    try:
        logits = np.stack([model(window[None])[0][0] for window in x])
    finally:
        model.close()
    return charlm.perplexity(logits, y)


def evaluate(work, large, windows, calib, methods=METHODS, schemes=SCHEMES, log=print):
    """{"float": ppl, scheme label: {method: ppl}} for one LM."""
    folder, x, y = prepare(work, large, windows, calib)
    results = {"float": perplexity(folder, x, y, "f32", "f32")}
    log(f"{folder.name}: float {results['float']:.4f}")
    for label, base, bits, group in schemes:
        row = results.setdefault(label, {})
        for method, settings in methods.items():
            start = time.time()
            name = f"{base}_{method.replace('+', '_')}_g{group}"
            file = recipe_file(folder / f"{name}.json", base, bits, group, settings)
            row[method] = perplexity(folder, x, y, name, recipe_file=file)
            log(f"{folder.name}: {label} {method}: {row[method]:.4f} "
                f"({time.time() - start:.1f} s)")
    return results


def table(results):
    lines = ["| model | scheme | float | " + " | ".join(METHODS) + " |",
             "|---|---|---|" + "---|" * len(METHODS)]
    for model, figures in results.items():
        for label, _, _, _ in SCHEMES:
            row = figures[label]
            best = min(row.values())
            cells = [f"**{row[m]:.3f}**" if row[m] == best else f"{row[m]:.3f}"
                     for m in METHODS]
            lines.append(f"| {model} | {label} | {figures['float']:.3f} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def argument_parser(doc):
    """The options of the example-LM benchmarks: --models, --windows,
    --json and --work."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["charlm", "charlm-large"],
                        choices=["charlm", "charlm-large"])
    parser.add_argument("--windows", type=int, default=96)
    parser.add_argument("--json")
    parser.add_argument("--work")
    return parser


def main():
    parser = argument_parser(__doc__)
    parser.add_argument("--calib", type=int)
    args = parser.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="lattice-methods-"))
    results = {}
    for model in args.models:
        large = model == "charlm-large"
        calib = args.calib or CALIB[large]
        results[model] = evaluate(work, large, args.windows, calib)
    print(table(results))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
