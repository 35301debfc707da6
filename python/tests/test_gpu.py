"""Models compiled for CUDA (lattice-compile --target cuda).

Without a GPU: the libraries build, link and load, and running them fails
with a clear "no CUDA driver" / "no CUDA device" error. With one (the `gpu`
marker, set when the CUDA driver sees a device): every recipe matches the CPU
build of the same model, integer paths exactly and float paths within the
tolerance of reassociated sums.
"""

import ctypes
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from lattice import compile as compile_model, runtime, safetensors
from lattice.runtime import LatticeError

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"
CUDA_HOME = pathlib.Path(os.environ.get("CUDA_HOME", "/usr/local/cuda"))

pytestmark = [
    pytest.mark.skipif(not COMPILE.exists(), reason="lattice-compile is not built"),
    pytest.mark.skipif(not (CUDA_HOME / "nvvm" / "libdevice").is_dir(),
                       reason=f"no CUDA toolkit under {CUDA_HOME} (libdevice)"),
]


def _cuda_device():
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
            and count.value > 0)


HAS_GPU = _cuda_device()
gpu = pytest.mark.skipif(not HAS_GPU, reason="no CUDA device answers")


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    work = tmp_path_factory.mktemp("gpu-mlp")
    shutil.copy(ROOT / "examples" / "mlp-w4a16.mlir", work)
    rng = np.random.default_rng(0)
    safetensors.save(work / "mlp.safetensors", {
        "norm.weight": rng.uniform(0.5, 1.5, 64).astype(np.float32),
        "fc1.weight": rng.integers(-8, 8, (128, 64)).astype(np.int8),
        "fc1.scale": rng.uniform(0.01, 0.05, (128, 2)).astype(np.float16),
        "fc2.weight": rng.integers(-8, 8, (64, 128)).astype(np.int8),
        "fc2.scale": rng.uniform(0.01, 0.05, (64, 4)).astype(np.float16),
    })
    for target in ("cpu", "cuda"):
        (work / target).mkdir()
        subprocess.run([str(COMPILE), str(work / "mlp-w4a16.mlir"), "--target",
                        target, "-o", str(work / target / "mlp")], check=True,
                       capture_output=True)
    return work


def test_library_links_and_describes_itself(mlp):
    header = (mlp / "cuda" / "mlp.h").read_text()
    assert "mlp_run(const lattice_model *model, const float *input0" in header
    if HAS_GPU:
        pytest.skip("a CUDA device answers: the model loads (test_matches_cpu)")
    with pytest.raises(LatticeError, match="cannot run a CUDA model: no CUDA "
                                           "(driver|device)"):
        runtime.load(mlp / "cuda" / "mlp.so")


def test_bad_target_and_chip(mlp, tmp_path):
    bad = subprocess.run([str(COMPILE), str(mlp / "mlp-w4a16.mlir"), "--target",
                          "tpu", "-o", str(tmp_path / "m")],
                         capture_output=True, text=True)
    assert bad.returncode == 1
    assert "unknown --target 'tpu' (expected cpu or cuda)" in bad.stderr
    chip = subprocess.run([str(COMPILE), str(mlp / "mlp-w4a16.mlir"), "--target",
                           "cuda", "--gpu-chip", "sm_x", "-o", str(tmp_path / "m")],
                          capture_output=True, text=True)
    assert chip.returncode == 1
    assert "unknown chip 'sm_x'" in chip.stderr
    fmt = subprocess.run([str(COMPILE), str(mlp / "mlp-w4a16.mlir"), "--target",
                          "cuda", "--gpu-format", "ptx", "-o", str(tmp_path / "m")],
                         capture_output=True, text=True)
    assert fmt.returncode == 1
    assert "unknown format 'ptx' (expected isa, bin or fatbin)" in fmt.stderr
    with pytest.raises(Exception, match="unknown target 'tpu'"):
        compile_model(mlp / "mlp-w4a16.mlir", target="tpu")


@gpu
def test_matches_cpu(mlp):
    cpu = runtime.load(mlp / "cpu" / "mlp.so")
    cuda = runtime.load(mlp / "cuda" / "mlp.so")
    assert cuda.device == "cuda" and cpu.device == "cpu"
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((1, 64)).astype(np.float32)
        (expected,) = cpu(x)
        (y,) = cuda(x)
        np.testing.assert_allclose(y, expected, rtol=0,
                                   atol=1e-5 * np.abs(expected).max())


@gpu
@pytest.mark.parametrize("recipe", ["f32", "w8a16", "w4a16", "w4a16-g32", "w2a16",
                                    "ternary", "mixed", "w8a8", "w8a8-dynamic",
                                    "llm-int8"])
def test_recipes_match_cpu(recipe, tmp_path):
    """Every recipe of the example LM, on the GPU against the CPU build.
    Where activations are quantized, a rounding that flips on a last-bit
    difference of the float sums before it (reassociated on the GPU, as
    they are between two CPU builds) moves an activation code by a step:
    those recipes compare by the RMS of the difference (bench/gpu_check.py
    measures how far the GPU is from the CPU on whole models)."""
    pytest.importorskip("torch", reason="exporting the example LM needs PyTorch")
    onnx_model = tmp_path / "charlm.onnx"
    subprocess.run(["/usr/bin/python3", str(ROOT / "examples" / "charlm" / "charlm.py"),
                    "export", "-o", str(onnx_model)], check=True, capture_output=True)
    cpu = compile_model(onnx_model, recipe, output=tmp_path / "cpu" / "m", quiet=True)
    cuda = compile_model(onnx_model, recipe, output=tmp_path / "cuda" / "m",
                         target="cuda", quiet=True)
    rng = np.random.default_rng(1)
    name, dtype, shape = cpu.inputs[0]
    x = rng.integers(0, 64, shape).astype(dtype)
    (expected,) = cpu(x)
    (y,) = cuda(x)
    if recipe in ("w8a8", "w8a8-dynamic", "llm-int8"):
        rms = np.sqrt(np.mean((y - expected) ** 2) / np.mean(expected**2))
        assert rms < 1e-3, rms
    else:
        np.testing.assert_allclose(y, expected, rtol=0,
                                   atol=1e-4 * np.abs(expected).max())


@gpu
def test_run_on_device_buffers(mlp):
    """lattice_model_run_device on device buffers: the result of the host
    path; a buffer that is not 16-byte aligned is refused."""
    model = runtime.load(mlp / "cuda" / "mlp.so")
    cuda = ctypes.CDLL("libcuda.so.1")
    device, context = ctypes.c_int(), ctypes.c_void_p()
    assert cuda.cuDeviceGet(ctypes.byref(device), 0) == 0
    assert cuda.cuDevicePrimaryCtxRetain(ctypes.byref(context), device) == 0
    assert cuda.cuCtxSetCurrent(context) == 0
    x = np.random.default_rng(0).standard_normal((1, 64)).astype(np.float32)
    (expected,) = model(x)
    buffer = ctypes.c_uint64()
    assert cuda.cuMemAlloc_v2(ctypes.byref(buffer), ctypes.c_size_t(1024)) == 0
    try:
        x_dev, y_dev = buffer.value, buffer.value + 512
        assert cuda.cuMemcpyHtoD_v2(ctypes.c_uint64(x_dev), x.ctypes.data_as(
            ctypes.c_void_p), ctypes.c_size_t(x.nbytes)) == 0
        run = model._lib.lattice_model_run_device
        run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                        ctypes.POINTER(ctypes.c_void_p)]

        def call(x_ptr, y_ptr):
            return run(model._model, (ctypes.c_void_p * 1)(x_ptr),
                       (ctypes.c_void_p * 1)(y_ptr))

        assert call(x_dev, y_dev) == 0
        y = np.empty_like(expected)
        assert cuda.cuMemcpyDtoH_v2(y.ctypes.data_as(ctypes.c_void_p),
                                    ctypes.c_uint64(y_dev),
                                    ctypes.c_size_t(y.nbytes)) == 0
        np.testing.assert_array_equal(y, expected)
        assert call(x_dev + 4, y_dev) != 0
        assert "not 16-byte aligned" in model._lib.lattice_last_error().decode()
    finally:
        cuda.cuMemFree_v2(buffer)
        cuda.cuDevicePrimaryCtxRelease_v2(device)


GPU_BENCH = BUILD / "bin" / "lattice-gpu-bench"


def _bench_copy(mlp, tmp_path, target):
    """The example MLP under a name of bench/make_models.py."""
    for suffix in (".so", ".safetensors"):
        shutil.copy(mlp / target / f"mlp{suffix}", tmp_path / f"f32_m1_n64_k64{suffix}")
    return tmp_path / "f32_m1_n64_k64.so"


@pytest.mark.skipif(not GPU_BENCH.exists(), reason="lattice-gpu-bench is not built")
def test_gpu_bench_refuses_cpu_libraries_and_needs_a_driver(mlp, tmp_path):
    run = subprocess.run([str(GPU_BENCH), "--frobnicate"], capture_output=True,
                         text=True)
    assert run.returncode == 1 and "unknown argument '--frobnicate'" in run.stderr
    (tmp_path / "cpu").mkdir()
    cpu = _bench_copy(mlp, tmp_path / "cpu", "cpu")
    run = subprocess.run([str(GPU_BENCH), str(cpu)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "built for the CPU" in run.stderr
    if HAS_GPU:
        return
    cuda = _bench_copy(mlp, tmp_path, "cuda")
    run = subprocess.run([str(GPU_BENCH), str(cuda)], capture_output=True, text=True)
    assert run.returncode == 1 and "no CUDA driver" in run.stderr, run.stderr


@gpu
@pytest.mark.skipif(not GPU_BENCH.exists(), reason="lattice-gpu-bench is not built")
def test_gpu_bench_times_kernels(mlp, tmp_path):
    library = _bench_copy(mlp, tmp_path, "cuda")
    run = subprocess.run([str(GPU_BENCH), "--iters=5", "--mode=hot", str(library)],
                         capture_output=True, text=True, check=True)
    results = [dict(field.split("=", 1) for field in line.split()[1:])
               for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert [r["peer"] for r in results] == ["probe", "lattice"]
    assert float(results[0]["gbs"]) > 0
    assert float(results[1]["median_us"]) > 0 and int(results[1]["launches"]) >= 7
    assert results[1]["device"] == "cuda" and results[1]["iters"] == "5"


def test_bench_weights_match_what_the_library_declares(mlp, tmp_path):
    """bench/gpu.sh makes weights on the GPU machine (make_models.py
    --weights-only): the names, types and shapes lattice-compile wrote."""
    import make_models
    library = _bench_copy(mlp, tmp_path, "cuda")
    expected = safetensors.load(library.with_suffix(".safetensors"))
    make_models.write_weights(library, np.random.default_rng(0))
    made = safetensors.load(library.with_suffix(".safetensors"))
    assert {k: (v.dtype, v.shape) for k, v in made.items()} == \
        {k: (v.dtype, v.shape) for k, v in expected.items()}
    assert all(np.isfinite(v).all() for v in made.values()
               if v.dtype.kind == "f")
