"""bench/: lattice-bench times a compiled kernel and reports it in the peer
RESULT format; summarize.py turns the lines into ratios."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lattice import safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
BENCH = BUILD / "bin" / "lattice-bench"
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(
    not BENCH.exists() or not COMPILE.exists(),
    reason="lattice-bench (Google Benchmark) or lattice-compile is not built")


def test_results_and_summary(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import make_models  # noqa: E402
    source, weights = make_models.linear("w4a16-g32", 1, 64, 128,
                                         np.random.default_rng(0))
    (tmp_path / "m.mlir").write_text(source)
    safetensors.save(tmp_path / "w.safetensors", weights)
    library = tmp_path / "w4a16-g32_m1_n64_k128"
    subprocess.run([str(COMPILE), str(tmp_path / "m.mlir"), "-o",
                    str(library), "--name=linear", "--num-threads=1"],
                   check=True)
    run = subprocess.run(
        [str(BENCH), "--threads=1", "--mode=hot", f"{library}.so",
         "--benchmark_min_time=0.01"], check=True, capture_output=True,
        text=True)
    lines = [l for l in run.stdout.splitlines() if l.startswith("RESULT")]
    peers = [dict(p.split("=", 1) for p in l.split()[1:]) for l in lines]
    assert [p["peer"] for p in peers] == ["peak", "probe", "lattice"]
    kernel = peers[2]
    assert (kernel["op"], kernel["dtype"], kernel["M"], kernel["N"],
            kernel["K"]) == ("gemv", "w4a16-g32", "1", "64", "128")
    # 4-bit codes, f16 scales per 32, f32 activations and outputs.
    assert int(kernel["bytes"]) == 64 * 128 // 2 + 64 * 4 * 2 + 128 * 4 + \
        64 * 4
    assert float(kernel["median_us"]) > 0 and float(peers[1]["gbs"]) > 0
    (tmp_path / "results.txt").write_text(run.stdout)
    summary = subprocess.run(
        ["/usr/bin/python3", str(ROOT / "bench" / "summarize.py"),
         str(tmp_path / "results.txt")], check=True, capture_output=True,
        text=True).stdout
    assert "| gemv | w4a16-g32 | 1 | 64 | 128 | hot |" in summary
    # The kernel's bandwidth is divided by the probe taken before it.
    row = [l for l in summary.splitlines() if "| w4a16-g32 |" in l][0]
    cells = [c.strip() for c in row.split("|")]
    assert abs(float(cells[8]) - float(peers[2]["gbs"])) < 0.06
    assert abs(float(cells[9]) - float(peers[1]["gbs"])) < 0.06


def test_bad_arguments(tmp_path):
    run = subprocess.run([str(BENCH), "--threads=1", "--frobnicate"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "unknown argument '--frobnicate'" in \
        run.stderr
    (tmp_path / "kernel.so").write_bytes(b"")
    run = subprocess.run([str(BENCH), str(tmp_path / "kernel.so")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "is not named" in run.stderr
    # Named like a kernel but not a library, or a library without the model
    # entry points: a message, not a crash.
    (tmp_path / "f32_m1_n4_k4.so").write_bytes(b"not an ELF file")
    run = subprocess.run([str(BENCH), str(tmp_path / "f32_m1_n4_k4.so")],
                         capture_output=True, text=True)
    assert run.returncode == 1 and run.stderr.startswith("lattice-bench: ")
    omp = pathlib.Path("/usr/lib/llvm-22/lib/libomp.so")
    if omp.exists():
        shutil.copy(omp, tmp_path / "f32_m1_n4_k5.so")
        run = subprocess.run([str(BENCH), str(tmp_path / "f32_m1_n4_k5.so")],
                             capture_output=True, text=True)
        assert run.returncode == 1
        assert "is not a library made by lattice-compile" in run.stderr


def test_peak_only():
    run = subprocess.run([str(BENCH), "--threads=1", "--peak-only"],
                         check=True, capture_output=True, text=True)
    (line,) = [l for l in run.stdout.splitlines() if l.startswith("RESULT")]
    assert "peer=peak" in line
    assert float(line.split("gflops=")[1].split()[0]) > 0
    run = subprocess.run([str(BENCH), "--peak-only", "x_m1_n1_k1.so"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "--peak-only" in run.stderr


def test_model_benchmark(tmp_path):
    """bench/model.py: the example LM against PyTorch, in one run (two
    windows, one round, f32 only: a smoke test of the script)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "model.py"), "--threads", "1",
         "--windows", "2", "--rounds", "1", "--recipes", "f32", "--work", str(tmp_path)],
        capture_output=True, text=True, env=dict(os.environ, LATTICE_BUILD_DIR=str(BUILD)))
    assert run.returncode == 0, run.stderr
    rows = {line.split("  ")[0]: line.split() for line in run.stdout.splitlines()}
    assert "PyTorch float (1t)" in rows and "Lattice f32" in rows
    # µs/call, tokens/s, GFLOP/s, /peak, x PyTorch: numbers, and PyTorch's
    # ratio to itself is 1.
    assert float(rows["PyTorch float (1t)"][-1]) == 1.0
    assert float(rows["Lattice f32"][2].replace(",", "")) > 0
