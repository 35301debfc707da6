#!/usr/bin/python3
"""Whole models compiled for CUDA, checked against their CPU builds on a
machine with a GPU but without LLVM.

    bench/gpu_check.py prepare DIR [--models ...] [--recipes ...]
        here (LLVM, no GPU needed): exports the models, compiles each one
        for the CPU and for CUDA with every recipe, runs the CPU build on
        the inputs, and keeps in DIR only what the GPU machine needs: the
        CUDA libraries with their weights, the inputs and the CPU outputs
        (DIR/manifest.json lists them);
    bench/gpu_check.py run DIR [--rounds N]
        on the GPU machine (numpy and this source tree's python/ alone):
        loads every CUDA library, compares its outputs with the CPU's, and
        times its calls (host arrays in and out: copies, launches and the
        final synchronization), then prints one line per case and exits 1
        if any case differs by more than its tolerance.

The GPU's sums are reassociated (warp butterflies) and its multiply-adds
fused where the CPU's are not, so float results differ in their last bits:
models with float activations compare within `TOLERANCE` of the largest CPU
output. Where activations are quantized, a rounding decision that flips on
such a difference moves one activation code by a step, and every output it
feeds by that step times a weight: those compare by the RMS of the
difference, within `FLIP_TOLERANCE` of the RMS of the output.
"""

import argparse
import ctypes
import json
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "examples" / "charlm"))

TOLERANCE = 1e-4
FLIP_TOLERANCE = 1e-3
# The recipes whose activations are quantized.
QUANTIZED_ACTIVATIONS = ("w8a8", "w8a8-dynamic", "llm-int8")
MODELS = ["charlm", "gpt", "lstm", "mobilenet_v3_small"]
RECIPES = {
    "charlm": ["f32", "w8a16", "w4a16", "w4a16-g32", "w2a16", "ternary", "mixed",
               "w8a8", "w8a8-dynamic", "llm-int8"],
    "gpt": ["f32", "w8a8", "w8a8-dynamic", "w4a16", "llm-int8"],
    "lstm": ["f32"],
    "mobilenet_v3_small": ["f32"],
}
# One block of the GPT-style model: its eight take 100 MB of f32 weights,
# more than a GPU machine's working tree may carry.
GPT_LAYERS = 1


def prepare(args):
    import lattice
    import models

    out = pathlib.Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    cases = []
    for name in args.models:
        onnx_path, input_name, calls, _ = models.prepare(name, work, GPT_LAYERS)
        calls = calls[:4]
        calib = {input_name: np.stack(calls)}
        recipe_file = pathlib.Path(args.recipe_file) if args.recipe_file else None
        recipes = ([json.loads(recipe_file.read_text())["recipe"]] if recipe_file
                   else args.recipes or RECIPES[name])
        for recipe in recipes:
            case = f"{name}-{recipe}" + (f"-{recipe_file.stem}" if recipe_file else "")
            print(f"gpu_check: {case}", flush=True)
            cpu = lattice.compile(onnx_path, recipe, calib=calib, recipe_file=recipe_file,
                                  output=work / "cpu" / case, quiet=True)
            try:
                lattice.compile(onnx_path, recipe, calib=calib, recipe_file=recipe_file,
                                output=out / case, target="cuda",
                                gpu_chip=args.gpu_chip, quiet=True)
            except lattice.CompileError as error:
                print(f"gpu_check: {case}: does not compile for CUDA: {error}")
                cases.append({"case": case, "error": str(error)})
                continue
            expected = [cpu(x)[0] for x in calls]
            np.savez(out / f"{case}.npz", **{f"x{i}": x for i, x in enumerate(calls)},
                     **{f"y{i}": y for i, y in enumerate(expected)})
            cases.append({"case": case, "calls": len(calls),
                          "quantized_activations": recipe in QUANTIZED_ACTIVATIONS})
            for leftover in (out / f"{case}.work", out / f"{case}.o", out / f"{case}.c"):
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                elif leftover.exists():
                    leftover.unlink()
    shutil.rmtree(work)
    # The libraries link the OpenMP runtime of this LLVM: it travels beside
    # them (`run` loads it first).
    for line in subprocess.run(["ldd", str(out / f"{cases[0]['case']}.so")],
                               capture_output=True, text=True).stdout.splitlines():
        if "libomp" in line and "=>" in line:
            shutil.copy(line.split("=>")[1].split()[0], out)
    (out / "manifest.json").write_text(json.dumps(cases, indent=1))
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"gpu_check: {len(cases)} cases, {size / 2**20:.1f} MiB in {out}")


def run(args):
    from lattice import runtime

    out = pathlib.Path(args.dir)
    for omp in out.glob("libomp*.so*"):
        # Loaded first, it satisfies the libraries' dependency by its name.
        ctypes.CDLL(str(omp), mode=ctypes.RTLD_GLOBAL)
    failed = 0
    print(f"{'case':34} {'max |diff|':>11} {'/ max |y|':>10} {'rms ratio':>10} "
          f"{'differ':>7} {'ms a call':>10}")
    for entry in json.loads((out / "manifest.json").read_text()):
        case = entry["case"]
        if "error" in entry:
            print(f"{case:34} not compiled: {entry['error'].splitlines()[0]}")
            continue
        try:
            model = runtime.load(out / f"{case}.so")
            data = np.load(out / f"{case}.npz")
            dtype = np.dtype(model.inputs[0][1])
            calls = [data[f"x{i}"].astype(dtype) for i in range(entry["calls"])]
            ys, expected = [], []
            for i, x in enumerate(calls):
                ys.append(model(x)[0].astype(np.float64).ravel())
                expected.append(data[f"y{i}"].astype(np.float64).ravel())
            y, expected = np.concatenate(ys), np.concatenate(expected)
            times = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                for x in calls:
                    model(x)
                times.append((time.perf_counter() - start) / len(calls))
            model.close()
        except Exception as error:  # noqa: BLE001 - reported per case
            failed += 1
            print(f"{case:34} FAILED: {error}")
            continue
        diff = np.abs(y - expected)
        scale = float(np.abs(expected).max()) or 1.0
        ratio = float(diff.max()) / scale
        rms = float(np.sqrt(np.mean(diff**2) / max(np.mean(expected**2), 1e-30)))
        differ = float(np.mean(diff > TOLERANCE * scale))
        bad = (not np.all(np.isfinite(y)) or
               (rms > FLIP_TOLERANCE if entry.get("quantized_activations")
                else ratio > TOLERANCE))
        failed += bad
        print(f"{case:34} {float(diff.max()):11.3g} {ratio:10.3g} {rms:10.3g} "
              f"{differ:7.2%} {statistics.median(times) * 1e3:10.3f}"
              f"{'  DIFFERS' if bad else ''}", flush=True)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("dir")
    p.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    p.add_argument("--recipes", nargs="+")
    p.add_argument("--gpu-chip", default="sm_90")
    p.add_argument("--recipe-file",
                   help="compile with this recipe file (docs/Recipes.md) instead")
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    return prepare(args) if args.step == "prepare" else run(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
