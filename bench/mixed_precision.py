"""Mixed precision on the example LMs: held-out perplexity of the `mixed`
recipe (each layer's scheme chosen by lattice-assign-precision from
sensitivities that lattice-compile measures) against uniform schemes at
the same or more bits per weight, on the bundled character LM and the
larger one.

    python3 bench/mixed_precision.py [--models charlm charlm-large]
        [--windows 96] [--json results.json] [--plots DIR] [--work DIR]

Configurations (bits per weight over the quantized layers, scales
included, from the quantizer's report):

    W4 g128, W4 g32, W3 g128   uniform rounding to nearest (w4a16,
                               w4a16-g32, w3a16)
    8-bit ends                 the fixed rule that `mixed` was before the
                               pass: 4-bit groups of 32, the first and last
                               layers 8 bits per channel
    mixed B                    the mixed recipe at a budget of B bits per
                               weight: 4.5 (its default), 3.5, and the bits
                               of 8-bit ends and of W3 g128 (equal bits)

Calibration as bench/quant_methods.py (32 training windows for the bundled
LM, 128 for the larger one), which also measures the sensitivities.
Prints a Markdown table (the one in docs/MixedPrecision.md), writes the
figures as JSON and, with --plots, each LM's assignment at 4.5 bits as a
PNG (lattice.reports.precision_plot).
"""

import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "examples" / "charlm"))

import quant_methods  # noqa: E402
from lattice import reports  # noqa: E402


def bits_per_weight(folder, name, weights):
    """Bits per weight of the build `name`, from the quantizer's report
    and the layers' weight counts."""
    report = json.loads((folder / f"{name}.work" / "report.json").read_text())
    bits = sum(layer["bits_per_weight"] * weights[layer["name"]]
               for layer in report["layers"])
    return bits / sum(weights.values())


def evaluate(work, large, windows, plots=None, log=print):
    """[(configuration, bits per weight, perplexity)] for one LM."""
    folder, x, y = quant_methods.prepare(work, large, windows,
                                         quant_methods.CALIB[large])
    rows = []

    def run(label, name, recipe=None, document=None):
        file = None
        if document is not None:
            file = folder / f"{name}.json"
            file.write_text(json.dumps(document))
        start = time.time()
        ppl = quant_methods.perplexity(folder, x, y, name, recipe, file)
        bits = bits_per_weight(folder, name, weights) if recipe != "f32" else 32.0
        rows.append((label, bits, ppl))
        log(f"{folder.name}: {label}: {bits:.3f} bits, perplexity {ppl:.4f} "
            f"({time.time() - start:.1f} s)")
        return bits

    # The default mixed build first: its assignment names the layers, in
    # program order, with their weight counts.
    mixed = quant_methods.perplexity(folder, x, y, "mixed_4.5", "mixed")
    assignment = json.loads((folder / "mixed_4.5.work" / "precision.json").read_text())
    weights = {layer["name"]: layer["weights"] for layer in assignment["layers"]}
    run("float", "f32", "f32")
    run("W4 g128", "w4g128", "w4a16")
    run("W4 g32", "w4g32", "w4a16-g32")
    rows.append(("mixed 4.5", bits_per_weight(folder, "mixed_4.5", weights), mixed))
    log(f"{folder.name}: mixed 4.5: {rows[-1][1]:.3f} bits, perplexity {mixed:.4f}")
    ends = [assignment["layers"][0]["name"], assignment["layers"][-1]["name"]]
    rule = {"match": "^(" + "|".join(ends) + ")$", "bits": 8, "granularity": "channel"}
    fixed = run("8-bit ends", "ends", document={"recipe": "w4a16-g32", "layers": [rule]})
    budget = int(fixed * 1000) / 1000  # at most the fixed rule's bits
    run(f"mixed {budget:g} (= 8-bit ends)", "mixed_ends",
        document={"recipe": "mixed", "budget": budget})
    w3 = run("W3 g128", "w3g128", "w3a16")
    budget = int(w3 * 1000) / 1000
    run(f"mixed {budget:g} (= W3 g128)", "mixed_w3",
        document={"recipe": "mixed", "budget": budget})
    run("mixed 3.5", "mixed_3.5", document={"recipe": "mixed", "budget": 3.5})
    if plots:
        path = reports.precision_plot(assignment,
                                      pathlib.Path(plots) / f"{folder.name}-mixed.png")
        log(f"{folder.name}: assignment plot {path}")
    return rows


def table(results):
    lines = ["| model | configuration | bits per weight | perplexity | vs float |",
             "|---|---|---|---|---|"]
    for model, rows in results.items():
        base = dict((label, ppl) for label, _, ppl in rows)["float"]
        for label, bits, ppl in rows:
            change = "" if label == "float" else f"{100 * (ppl / base - 1):+.2f} %"
            lines.append(f"| {model} | {label} | {bits:.3f} | {ppl:.4f} | {change} |")
    return "\n".join(lines)


def main():
    parser = quant_methods.argument_parser(__doc__)
    parser.add_argument("--plots")
    args = parser.parse_args()
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="lattice-mixed-"))
    results = {}
    for model in args.models:
        results[model] = evaluate(work, model == "charlm-large", args.windows,
                                  args.plots, log=lambda m: print(m, file=sys.stderr,
                                                                  flush=True))
    print(table(results))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
