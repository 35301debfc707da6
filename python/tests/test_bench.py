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
    import make_models
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
    """bench/models.py: the example LM against PyTorch, in one run (one
    round, one thread, f32 only, no ONNX Runtime: a smoke test of the
    script)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "models.py"), "--models", "charlm",
         "--threads", "1", "--rounds", "1", "--recipes", "f32", "--work", str(tmp_path)],
        capture_output=True, text=True, env=dict(os.environ, LATTICE_BUILD_DIR=str(BUILD)))
    assert run.returncode == 0, run.stderr
    rows = {line[:24].strip(): line[24:].split() for line in run.stdout.splitlines()}
    assert "PyTorch float" in rows and "Lattice f32" in rows
    # ms per call, then the ratio to ONNX Runtime (not run: nan).
    assert float(rows["Lattice f32"][0]) > 0
    assert rows["Lattice f32"][1] == "nan"


def test_ort_dynamic_form():
    """bench/ort_dynamic.py writes ONNX Runtime's dynamic int8 form: each
    MatMul by a constant weight becomes DynamicQuantizeLinear, MatMulInteger
    on symmetric int8 codes (scale max|w| / 127), Cast and two Muls; the
    float weight goes."""
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper
    from ort_dynamic import dynamic_int8
    w = np.array([[0.5, -1.27], [0.254, 0.0]], np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc"),
         helper.make_node("MatMul", ["y", "y2"], ["z"], name="dynamic")],
        "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 2]),
              helper.make_tensor_value_info("y2", onnx.TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("z", onnx.TensorProto.FLOAT, [1, 2])],
        [numpy_helper.from_array(w, "w")])
    model = dynamic_int8(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    onnx.checker.check_model(model)
    ops = [node.op_type for node in model.graph.node]
    assert ops == ["DynamicQuantizeLinear", "MatMulInteger", "Cast", "Mul", "Mul", "MatMul"]
    inits = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    assert "w" not in inits
    assert np.array_equal(inits["fc_dq_w"], [[50, -127], [25, 0]])
    assert inits["fc_dq_w_scale"] == np.float32(1.27 / 127)
    assert model.metadata_props[0].value == "1"
