"""Whole-model speed of the example LM: Lattice against PyTorch and ONNX
Runtime on the same windows, in one run.

    python3 bench/model.py [--threads 2] [--windows 64] [--rounds 5]
                           [--recipes f32 w8a8 w4a16 mixed] [--ort NPM_DIR]

Every engine runs the held-out windows of examples/charlm one call per
window (64 tokens, the full context), `rounds` times; the figure is the
median over rounds of the mean time per call. Lattice compiles the ONNX
export with each recipe (`lattice.compile`, one thread per `--threads`);
PyTorch runs the float module (the faster of 1 and `--threads` threads); ONNX Runtime runs
the same ONNX file through the npm package onnxruntime-node, when `--ort`
names a folder holding its node_modules (`npm install --prefix DIR
--ignore-scripts onnxruntime-node@1.30.0` makes one; the package carries
its native library). The f32 FMA peak of the run (lattice-bench
--peak-only) gives each engine's fraction of the machine's compute limit;
the weights (1.4 MB in f32) stay in the caches, so the limit is compute,
not memory bandwidth.
"""

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "charlm"))

import charlm  # noqa: E402
import lattice  # noqa: E402
from lattice import tools  # noqa: E402


def time_calls(call, windows, rounds):
    """Median over `rounds` of the mean seconds per call, one call per window."""
    call(windows[0])
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for window in windows:
            call(window)
        means.append((time.perf_counter() - start) / len(windows))
    return float(np.median(means))


def model_flops(model, context):
    """Multiply-adds x 2 of one call: the linear layers and attention."""
    import torch
    flops = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            flops += 2 * module.in_features * module.out_features * context
    # Scores and the weighted sum, causal mask not exploited: 2 x 2 T^2 d.
    flops += len(model.blocks) * 2 * 2 * context * context * charlm.WIDTH
    return flops


def peak_gflops(threads):
    bench = tools.find("lattice-bench")
    out = subprocess.run([str(bench), f"--threads={threads}", "--peak-only"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"gflops=([0-9.]+)", out).group(1))


def run_ort(npm, onnx_path, windows, threads, rounds, work):
    data = work / "windows.bin"
    np.ascontiguousarray(windows, dtype=np.int64).tofile(data)
    env = dict(os.environ, NODE_PATH=str(pathlib.Path(npm) / "node_modules"))
    result = subprocess.run(
        ["node", str(ROOT / "bench" / "model_ort.js"), str(onnx_path), str(data),
         "tokens", str(windows.shape[1]), str(windows.shape[2]), str(threads),
         str(rounds)], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"ONNX Runtime failed: {result.stderr.strip()}")
    return float(re.search(r"median_us=([0-9.]+)", result.stdout).group(1)) * 1e-6


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--windows", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--recipes", nargs="+", default=["f32", "w8a8", "w4a16", "mixed"])
    parser.add_argument("--ort", help="folder with node_modules/onnxruntime-node")
    parser.add_argument("--work", default=None)
    args = parser.parse_args(argv)
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="lattice-model-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    import torch
    text = charlm.corpus()
    onnx_path = work / "charlm.onnx"
    vocab = charlm.export(False, onnx_path)
    x, _ = charlm.held_out_windows(text, vocab, args.windows)
    windows = x[:, None, :]  # one [1, 64] window per call
    calib = {"tokens": windows[: min(16, len(windows))]}
    model, _ = charlm.load(False)
    flops = model_flops(model, charlm.CONTEXT)

    rows = []  # (engine, seconds per call)
    # PyTorch (OpenBLAS and its own OpenMP threads) is often fastest on one
    # thread at this size: the peer gets the better of 1 and --threads.
    best = None
    with torch.no_grad():
        for threads in sorted({1, args.threads}):
            torch.set_num_threads(threads)
            seconds = time_calls(lambda w: model(torch.from_numpy(w)), windows, args.rounds)
            if best is None or seconds < best[1]:
                best = (f"PyTorch float ({threads}t)", seconds)
    rows.append(best)
    if args.ort:
        rows.append(("ONNX Runtime float",
                     run_ort(args.ort, onnx_path, windows, args.threads, args.rounds, work)))
    for recipe in args.recipes:
        compiled = lattice.compile(onnx_path, recipe, calib=calib,
                                   output=work / f"charlm_{recipe.replace('-', '_')}",
                                   num_threads=args.threads, quiet=True)
        rows.append((f"Lattice {recipe}", time_calls(compiled, windows, args.rounds)))
        compiled.close()
    peak = peak_gflops(args.threads)

    peers = [(name, seconds) for name, seconds in rows if not name.startswith("Lattice")]
    print(f"Example LM, {charlm.CONTEXT} tokens per call, {args.threads} threads, "
          f"{len(windows)} windows x {args.rounds} rounds; f32 FMA peak of the run "
          f"{peak:.0f} GFLOP/s; {flops / 1e6:.1f} MFLOP per call")
    head = (f"{'engine / recipe':22s} {'µs/call':>9s} {'tokens/s':>9s} {'GFLOP/s':>8s} "
            f"{'/peak':>6s}" + "".join(f" {'x ' + name.split()[0]:>13s}" for name, _ in peers))
    print(head)
    print("-" * len(head))
    for name, seconds in rows:
        gflops = flops / seconds / 1e9
        print(f"{name:22s} {seconds * 1e6:9.0f} {charlm.CONTEXT / seconds:9,.0f} "
              f"{gflops:8.1f} {gflops / peak:6.3f}"
              + "".join(f" {peer / seconds:13.2f}" for _, peer in peers))


if __name__ == "__main__":
    main()
