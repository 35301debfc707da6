#!/usr/bin/env python3
"""Compile time and peak memory of whole models, as a user meets them.

    python3 bench/compile_time.py [--blocks 2 4 8 16] [--recipes w4a16 w8a8]

Generates the GPT-style model of bench/models.py (width 512, 8 heads, a
512-token vocabulary, 64 tokens) with each number of blocks as ONNX with
random weights, and compiles it with `lattice-compile MODEL --recipe R`
(w8a8 and mixed on 8 calibration samples), one fresh process per compilation:
wall time, and the peak resident memory of the largest process of the
run (ru_maxrss of the compiler and the processes it waited for), next to
the f32 weight bytes. Prints a markdown table.
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import models  # noqa: E402

COMPILE = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build")) / "bin" / "lattice-compile"


def export(blocks, work):
    import torch
    model, name, calls = models._gpt_module(blocks)
    path = work / f"gpt{blocks}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.from_numpy(calls[0]), str(path),
                          opset_version=17, input_names=[name], output_names=["output"])
    weight_bytes = sum(p.numel() * 4 for p in model.parameters())
    np.savez(work / "calib.npz", **{name: np.stack(calls)})
    return path, weight_bytes


# Runs its arguments and prints the seconds and the peak RSS (KiB) of the
# largest process of the run. It runs in a fresh, small interpreter: a child
# forked from this process (which holds PyTorch) would count its image.
_TRAMPOLINE = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(time.perf_counter() - start, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def measure(args):
    """Runs `args`; returns (seconds, peak RSS in bytes of its largest
    process)."""
    result = subprocess.run([sys.executable, "-c", _TRAMPOLINE, *map(str, args)],
                            capture_output=True, text=True)
    seconds, rss, code = result.stdout.split()
    if int(code) != 0:
        sys.exit(f"{' '.join(map(str, args))} failed:\n{result.stderr}")
    return float(seconds), int(rss) * 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--recipes", nargs="+", default=["w4a16", "w8a8"])
    args = parser.parse_args()
    print("| blocks | f32 weights | " +
          " | ".join(f"{r} time | {r} peak RSS" for r in args.recipes) + " |")
    print("|---" * (2 + 2 * len(args.recipes)) + "|")
    with tempfile.TemporaryDirectory(prefix="lattice-compile-time-") as work:
        work = pathlib.Path(work)
        for blocks in args.blocks:
            path, weight_bytes = export(blocks, work)
            cells = [str(blocks), f"{weight_bytes / 2**20:.0f} MiB"]
            for recipe in args.recipes:
                calib = (["--calib", work / "calib.npz"]
                         if recipe.startswith("w8a8") or recipe == "mixed" else [])
                seconds, rss = measure([COMPILE, path, "--recipe", recipe, *calib,
                                        "-o", work / f"out{blocks}_{recipe}" / "model"])
                cells += [f"{seconds:.1f} s", f"{rss / 2**20:.0f} MiB"]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
