"""Whole models: Lattice against ONNX Runtime and PyTorch on the same
models and inputs, in one run, at 1 and 2 threads.

    python3 bench/models.py --ort NPM_DIR [--models charlm gpt resnet18
        mobilenet_v3_small lstm] [--threads 1 2] [--rounds 5] [--work DIR]
        [--json results.json] [--busy]

Models (PyTorch modules exported to ONNX by PyTorch, seeded, so that every
run times the same graphs):

    charlm              the bundled example LM (trained weights), 64 tokens
    gpt                 a GPT-style LM: 8 pre-norm blocks, width 512, 8
                        heads, GELU MLP 2048, vocabulary 512; 64 tokens
                        (25 M parameters)
    resnet18            torchvision's ResNet-18, one 224 x 224 image
    mobilenet_v3_small  torchvision's MobileNetV3-Small, one 224 x 224 image
    lstm                a 2-layer LSTM (input 64, hidden 256) over 32 steps
                        and a linear head

Engines: Lattice (lattice.compile with each recipe of the model; its
thread count set per run with Model.threads), ONNX Runtime 1.30 through
the npm package onnxruntime-node (`npm install --prefix NPM_DIR
--ignore-scripts onnxruntime-node@1.30.0`), float and, for the language
models, its dynamic int8 form (bench/ort_dynamic.py, as ONNX Runtime's
quantize_dynamic writes it), and PyTorch (float, torch.set_num_threads).
Each engine runs every prepared input once per round, or again until the
round has lasted 0.1 s; ONNX Runtime and Lattice take turns, a round each
(ONNX Runtime in a process of its own per round), so that their medians
come from the same stretch of a machine whose speed drifts; the figure is
the median over rounds of the mean time per call. Ratios in the table are
"x ORT": ONNX Runtime float's time over the engine's (above 1: faster).
With --busy, Lattice runs its calls again at the largest thread count with
a CPU-bound process beside it; the "busy/quiet" rows are the time ratios.
"""

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))
sys.path.insert(0, str(ROOT / "examples" / "charlm"))
sys.path.insert(0, str(ROOT / "bench"))

import lattice  # noqa: E402

LANGUAGE_MODELS = ("charlm", "gpt")
RECIPES = {
    "charlm": ["f32", "w8a8", "w8a8-dynamic", "w4a16"],
    "gpt": ["f32", "w8a8", "w8a8-dynamic", "w4a16"],
    "resnet18": ["f32", "w8a8"],
    "mobilenet_v3_small": ["f32", "w8a8"],
    "lstm": ["f32", "w8a8-dynamic"],
}


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def _gpt_module(layers=8):
    import torch
    from torch import nn

    width, heads, vocab, context = 512, 8, 512, 64

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
            mask = torch.full((context, context), float("-inf")).triu(1)
            self.register_buffer("mask", mask)

        def forward(self, x):
            t = x.shape[1]
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q, k, v = (y.reshape(1, t, heads, width // heads).transpose(1, 2)
                       for y in (q, k, v))
            att = (q @ k.transpose(-2, -1)) * (width // heads) ** -0.5 + self.mask
            y = (att.softmax(-1) @ v).transpose(1, 2).reshape(1, t, width)
            x = x + self.proj(y)
            return x + self.out(torch.nn.functional.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, width)
            self.blocks = nn.ModuleList(Block() for _ in range(layers))
            self.ln = nn.LayerNorm(width)
            self.head = nn.Linear(width, vocab, bias=False)

        def forward(self, tokens):
            x = self.embed(tokens)
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    torch.manual_seed(0)
    model = GPT().eval()
    rng = np.random.default_rng(1)
    calls = [rng.integers(0, vocab, (1, context)).astype(np.int64) for _ in range(8)]
    return model, "tokens", calls


def _vision_module(name):
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    rng = np.random.default_rng(1)
    calls = [rng.standard_normal((1, 3, 224, 224)).astype(np.float32) for _ in range(4)]
    return model, "image", calls


def _lstm_module():
    import torch
    from torch import nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(64, 256, num_layers=2)
            self.head = nn.Linear(256, 32)

        def forward(self, x):
            y, _ = self.lstm(x)
            return self.head(y)

    torch.manual_seed(0)
    model = Tagger().eval()
    rng = np.random.default_rng(1)
    calls = [rng.standard_normal((32, 1, 64)).astype(np.float32) for _ in range(8)]
    return model, "sequence", calls


def prepare(name, work, gpt_layers=8):
    """(onnx path, input name, calls: list of arrays, PyTorch callable)."""
    import torch
    path = work / f"{name}.onnx"
    if name == "charlm":
        import charlm
        vocab = charlm.export(False, path)
        x, _ = charlm.held_out_windows(charlm.corpus(), vocab, 16)
        model, _ = charlm.load(False)
        return path, "tokens", [w[None, :].astype(np.int64) for w in x], model
    if name == "gpt":
        model, input_name, calls = _gpt_module(gpt_layers)
    elif name == "lstm":
        model, input_name, calls = _lstm_module()
    else:
        model, input_name, calls = _vision_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, torch.from_numpy(calls[0]), str(path),
                          opset_version=17, input_names=[input_name],
                          output_names=["output"])
    return path, input_name, calls, model


# --------------------------------------------------------------------------
# Engines
# --------------------------------------------------------------------------

# A round goes over the inputs as many times as it takes this long (at least
# once): one preemption in a round of a few milliseconds (the small models'
# 16 calls) moved its mean by tens of percent.
MIN_ROUND_S = 0.1


def time_calls(call, calls, rounds):
    """Median over `rounds` of the mean seconds per call, every input once
    or more per round (MIN_ROUND_S), after one call to warm up."""
    call(calls[0])
    means = []
    for _ in range(rounds):
        count = 0
        start = time.perf_counter()
        while count == 0 or time.perf_counter() - start < MIN_ROUND_S:
            for x in calls:
                call(x)
            count += len(calls)
        means.append((time.perf_counter() - start) / count)
    return float(np.median(means))


def time_ort(npm, onnx_path, input_name, calls, threads, rounds, work):
    stem = onnx_path.stem
    data = work / f"{stem}.inputs.bin"
    np.concatenate([c.ravel() for c in calls]).tofile(data)
    manifest = work / f"{stem}.manifest.json"
    manifest.write_text(json.dumps({
        "calls": len(calls),
        "inputs": [{"name": input_name, "dtype": str(calls[0].dtype),
                    "shape": list(calls[0].shape), "file": data.name}]}))
    env = dict(os.environ, NODE_PATH=str(pathlib.Path(npm) / "node_modules"))
    result = subprocess.run(
        ["node", str(ROOT / "bench" / "models_ort.js"), str(onnx_path), str(manifest),
         str(threads), str(rounds), str(MIN_ROUND_S)], capture_output=True, text=True,
        env=env)
    if result.returncode != 0:
        raise RuntimeError(f"ONNX Runtime failed on {onnx_path.name}: {result.stderr.strip()}")
    return float(re.search(r"median_us=([0-9.]+)", result.stdout).group(1)) * 1e-6


def time_torch(model, calls, threads, rounds):
    import torch
    torch.set_num_threads(threads)
    with torch.no_grad():
        return time_calls(lambda x: model(torch.from_numpy(x)), calls, rounds)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def run_model(name, args, work):
    onnx_path, input_name, calls, module = prepare(name, work)
    rows = {"ONNX Runtime float": {}} if args.ort else {}  # engine -> {threads: s}
    ort_int8 = None
    if args.ort and name in LANGUAGE_MODELS:
        import onnx
        from ort_dynamic import dynamic_int8
        ort_int8 = work / f"{name}-int8.onnx"
        onnx.save(dynamic_int8(onnx.load(str(onnx_path))), str(ort_int8))
    compiled = {}
    for recipe in args.recipes or RECIPES[name]:
        started = time.perf_counter()
        compiled[recipe] = lattice.compile(
            onnx_path, recipe, calib={input_name: np.stack(calls)},
            output=work / f"{name}_{recipe.replace('-', '_')}",
            num_threads=max(args.threads), quiet=True)
        print(f"  compiled {name} {recipe} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr, flush=True)
    for threads in args.threads:
        # The engines take turns, a round each: the machine's speed drifts
        # by tens of percent over minutes, and each engine's median then
        # comes from the same stretch of time.
        engines = {}
        if args.ort:
            engines["ONNX Runtime float"] = lambda: time_ort(
                args.ort, onnx_path, input_name, calls, threads, 1, work)
            if ort_int8:
                engines["ONNX Runtime int8"] = lambda: time_ort(
                    args.ort, ort_int8, input_name, calls, threads, 1, work)
        for recipe, model in compiled.items():
            model.runtime_model.threads = threads
            engines[f"Lattice {recipe}"] = (
                lambda m=model: time_calls(lambda x: m(x), calls, 1))
        means = {engine: [] for engine in engines}
        for _ in range(args.rounds):
            for engine, time_round in engines.items():
                means[engine].append(time_round())
        for engine, values in means.items():
            rows.setdefault(engine, {})[threads] = float(np.median(values))
        # PyTorch last: its OpenMP threads keep spinning for a while after
        # its calls, on the cores the next engine would use.
        rows.setdefault("PyTorch float", {})[threads] = time_torch(
            module, calls, threads, args.rounds)
    if args.busy:
        # The same calls with a CPU-bound process beside them, at the largest
        # thread count: the row holds busy / quiet time ratios.
        threads = max(args.threads)
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.2)
            for recipe, model in compiled.items():
                model.runtime_model.threads = threads
                busy = time_calls(lambda x, m=model: m(x), calls, args.rounds)
                quiet = rows[f"Lattice {recipe}"][threads]
                rows.setdefault(f"busy/quiet {recipe}", {})[threads] = busy / quiet
        finally:
            burner.kill()
            burner.wait()
    for model in compiled.values():
        model.close()
    return rows


def print_table(name, rows, threads):
    ort = rows.get("ONNX Runtime float", {})
    head = f"{'engine / recipe':24s}" + "".join(
        f" {f'{t}t ms':>9s} {'x ORT':>6s}" for t in threads)
    print(f"\n{name}")
    print(head)
    print("-" * len(head))
    for engine, times in rows.items():
        line = f"{engine:24s}"
        if engine.startswith("busy/quiet"):
            print(line + "".join(f" {times[t]:9.2f}x {'':6s}" if t in times else
                                 f" {'':10s} {'':6s}" for t in threads))
            continue
        for t in threads:
            seconds = times.get(t)
            ratio = ort[t] / seconds if t in ort and seconds else float("nan")
            line += f" {seconds * 1e3:9.3f} {ratio:6.2f}"
        print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ort", help="folder with node_modules/onnxruntime-node")
    parser.add_argument("--work", default=None)
    parser.add_argument("--json", help="write the times (seconds per call) here")
    parser.add_argument("--recipes", nargs="+",
                        help="Lattice recipes for every model (default: each model's own)")
    parser.add_argument("--busy", action="store_true",
                        help="time Lattice again with a CPU-bound process beside it")
    args = parser.parse_args(argv)
    work = pathlib.Path(args.work or tempfile.mkdtemp(prefix="lattice-models-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for name in args.models:
        print(f"{name} ...", file=sys.stderr, flush=True)
        results[name] = run_model(name, args, work)
        print_table(name, results[name], args.threads)
        sys.stdout.flush()
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
