"""The README's demo: the bundled character LM, compiled float and
quantized, run natively, with quality and speed side by side.

    python3 examples/charlm/demo.py [--work DIR] [--windows N]

For each recipe (f32, w8a8, w4a16, w4a16-gptq, mixed; and the nGPT-style
variant in f32 and w4a16): `lattice.compile` from the ONNX export,
calibrated on training text, then every held-out window of 64 characters
runs through the native library. The table gives the held-out perplexity
(per character), the SQNR of the logits against the compiled float model,
the weights' bytes, and tokens per second (64 tokens per call, one thread
per core). The per-layer report of w4a16 and its plots go to DIR/report.
"""

import argparse
import pathlib
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "python"))
sys.path.insert(0, str(HERE))

import charlm  # noqa: E402
import lattice  # noqa: E402
from lattice import reports  # noqa: E402

RECIPES = ["f32", "w8a8", "w4a16", "w4a16-gptq", "mixed"]
NGPT_RECIPES = ["f32", "w4a16"]


def calibration_windows(text, vocab, count=16, seed=0):
    data = charlm.encode(charlm.split(text)[0], vocab)
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(data) - charlm.CONTEXT, count)
    return np.stack([data[s:s + charlm.CONTEXT] for s in starts])[:, None, :]


def evaluate(model, windows):
    """(logits [N, 64, V], seconds) over all windows, one call each."""
    outputs = []
    model(windows[:1])  # warm up (page in the weights, start the threads)
    start = time.perf_counter()
    for window in windows:
        outputs.append(model(window[None])[0][0])
    return np.stack(outputs), time.perf_counter() - start


def sqnr(actual, reference):
    noise = np.sum((actual.astype(np.float64) - reference) ** 2)
    return float("inf") if noise == 0 else 10 * np.log10(np.sum(reference ** 2.0) / noise)


def run_variant(ngpt, recipes, text, work, windows_count, rows):
    stem = "charlm-ngpt" if ngpt else "charlm"
    onnx_path = work / f"{stem}.onnx"
    vocab = charlm.export(ngpt, onnx_path)
    x, y = charlm.held_out_windows(text, vocab, windows_count)
    calib = work / f"{stem}-calib.npz"
    np.savez(calib, tokens=calibration_windows(text, vocab))

    import torch
    model, _ = charlm.load(ngpt)
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(x)).numpy()
        # The peer's speed, timed as the compiled models are: one window
        # per call.
        windows = torch.from_numpy(x)
        model(windows[:1])
        start = time.perf_counter()
        for window in windows:
            model(window[None])
        torch_seconds = time.perf_counter() - start
    rows.append((f"{stem} PyTorch (float)", charlm.perplexity(torch_logits, y), None,
                 4 * sum(p.numel() for p in model.parameters()), x.size / torch_seconds))
    reference = None
    for recipe in recipes:
        print(f"== {stem}: {recipe}", file=sys.stderr, flush=True)
        compiled = lattice.compile(onnx_path, recipe, calib=calib,
                                   output=work / f"{stem.replace('-', '_')}_{recipe}",
                                   quiet=True)
        logits, seconds = evaluate(compiled, x)
        if reference is None:
            reference = logits.astype(np.float64)
        rows.append((f"{stem} {recipe}", charlm.perplexity(logits, y),
                     sqnr(logits, reference), compiled.weight_bytes,
                     x.size / seconds))
        compiled.close()
    return onnx_path, x, calib


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/tmp/lattice-demo/charlm")
    parser.add_argument("--windows", type=int, default=256,
                        help="held-out windows of 64 characters to evaluate")
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    text = charlm.corpus()

    rows = []
    onnx_path, x, calib = run_variant(False, RECIPES, text, work, args.windows, rows)
    run_variant(True, NGPT_RECIPES, text, work, args.windows, rows)

    print()
    print(f"Held-out perplexity of the KJV character LM ({args.windows} windows of "
          f"{charlm.CONTEXT} characters)")
    head = (f"{'model / recipe':26s} {'perplexity':>10s} {'SQNR dB':>8s} "
            f"{'weight bytes':>12s} {'tokens/s':>10s}")
    print(head)
    print("-" * len(head))
    for name, ppl, quality, size, speed in rows:
        print(f"{name:26s} {ppl:10.3f} "
              f"{'-' if quality is None else f'{quality:.1f}':>8s} "
              f"{'-' if size is None else f'{size:,d}':>12s} "
              f"{'-' if speed is None else f'{speed:,.0f}':>10s}")

    if not args.no_report:
        print(file=sys.stderr)
        print("== per-layer report (w4a16)", file=sys.stderr, flush=True)
        samples = [(window[None],) for window in x[:16]]
        rep = reports.report(onnx_path, "w4a16", samples, work / "report", calib=calib,
                               quiet=True)
        print()
        print(rep.table())
        print("plots: " + ", ".join(rep.plots))


if __name__ == "__main__":
    main()
