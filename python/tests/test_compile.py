"""lattice-compile end to end: the bundled W4A16 MLP compiled to a shared
library, run from Python on numpy arrays, against a numpy computation of the
same layers; and the runtime's checks of a bad weights file."""

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from lattice import runtime, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")


def _dequantize_groups(codes, scales, group):
    rows = codes.shape[0]
    grouped = codes.astype(np.float32).reshape(rows, -1, group)
    return (grouped * scales.astype(np.float32)[:, :, None]).reshape(codes.shape)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    work = tmp_path_factory.mktemp("mlp")
    shutil.copy(ROOT / "examples" / "mlp-w4a16.mlir", work)
    rng = np.random.default_rng(0)
    weights = {
        "norm.weight": rng.uniform(0.5, 1.5, 64).astype(np.float32),
        "fc1.weight": rng.integers(-8, 8, (128, 64)).astype(np.int8),
        "fc1.scale": rng.uniform(0.01, 0.05, (128, 2)).astype(np.float16),
        "fc2.weight": rng.integers(-8, 8, (64, 128)).astype(np.int8),
        "fc2.scale": rng.uniform(0.01, 0.05, (64, 4)).astype(np.float16),
    }
    safetensors.save(work / "mlp.safetensors", weights)
    out = work / "out"
    out.mkdir()
    subprocess.run([str(COMPILE), str(work / "mlp-w4a16.mlir"), "-o",
                    str(out / "mlp")], check=True, capture_output=True)
    return out, weights


def test_outputs(mlp):
    out, _ = mlp
    for name in ("mlp.so", "mlp.h", "mlp.o", "mlp.safetensors",
                 "lattice_runtime.h"):
        assert (out / name).exists(), name
    header = (out / "mlp.h").read_text()
    assert "lattice_status mlp_run(const lattice_model *model, const float " \
           "*input0 /* [1][64] */, float *output0 /* [1][64] */);" in header


def test_matches_numpy(mlp):
    out, w = mlp
    model = runtime.load(out / "mlp.so")
    assert model.inputs == [("input0", np.float32, (1, 64))]
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((1, 64)).astype(np.float32)
        (y,) = model(x)
        h = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-6)
        h = h * w["norm.weight"]
        a = np.maximum(h @ _dequantize_groups(w["fc1.weight"], w["fc1.scale"], 32).T, 0)
        ref = a @ _dequantize_groups(w["fc2.weight"], w["fc2.scale"], 32).T
        # f32 with reassociated sums: a few ulps of the largest output.
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_packed_weights(mlp):
    out, w = mlp
    packed = safetensors.load(out / "mlp.safetensors")
    codes = w["fc1.weight"].reshape(-1).astype(np.int16) & 0xF
    expected = (codes[0::2] | (codes[1::2] << 4)).astype(np.uint8)
    np.testing.assert_array_equal(packed["fc1.weight"], expected)


def test_bad_inputs(mlp):
    out, _ = mlp
    model = runtime.load(out / "mlp.so")
    with pytest.raises(ValueError, match="must have shape"):
        model(np.zeros((2, 64), np.float32))
    with pytest.raises(ValueError, match="must be float32"):
        model(np.zeros((1, 64), np.float64))


def test_bad_weights_files(mlp, tmp_path):
    out, w = mlp
    with pytest.raises(runtime.LatticeError, match="No such file"):
        runtime.load(out / "mlp.so", tmp_path / "missing.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes((out / "mlp.safetensors").read_bytes()[:100])
    with pytest.raises(runtime.LatticeError, match="does not fit|data_offsets"):
        runtime.load(out / "mlp.so", truncated)
    missing = tmp_path / "missing-weight.safetensors"
    packed = safetensors.load(out / "mlp.safetensors")
    del packed["fc2.scale"]
    safetensors.save(missing, packed)
    with pytest.raises(runtime.LatticeError, match="'fc2.scale' is missing"):
        runtime.load(out / "mlp.so", missing)
    wrong = tmp_path / "wrong-dtype.safetensors"
    packed = safetensors.load(out / "mlp.safetensors")
    packed["norm.weight"] = packed["norm.weight"].astype(np.float16)
    safetensors.save(wrong, packed)
    with pytest.raises(runtime.LatticeError, match="is F16, the model expects F32"):
        runtime.load(out / "mlp.so", wrong)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(runtime.LatticeError, match="header"):
        runtime.load(out / "mlp.so", garbage)
