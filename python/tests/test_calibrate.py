"""lattice.calibrate against statistics computed with numpy.

A two-layer model (RMSNorm, then two linear layers) is observed, compiled
and run on random calibration samples; every statistic of the file must
equal the one numpy computes from the same samples with the reference ops.
Bad calibration data gets a CalibrationError that names the input.
"""

import re
import subprocess
import sys

import numpy as np
import pytest

from lattice import calibrate, reference as ref, safetensors, tools

MISSING = tools.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))



def mlp_source(gain, w1, w2, m):
    k, n1, n2 = w1.shape[1], w1.shape[0], w2.shape[0]
    x, h, y = (f"tensor<{m}x{k}xf32>", f"tensor<{m}x{n1}xf32>",
               f"tensor<{m}x{n2}xf32>")
    return (
        f"func.func @mlp(%x: {x}) -> {y} {{\n"
        f"  %g = arith.constant {tools.dense_attr(gain)} : tensor<{k}xf32>\n"
        f"  %n = lattice.rms_norm %x, %g : ({x}, tensor<{k}xf32>) -> {x}\n"
        f"  %w1 = arith.constant {tools.dense_attr(w1)} : tensor<{n1}x{k}xf32> loc(\"fc1\")\n"
        f"  %h = lattice.matmul %n, %w1 accumulate(f32) : ({x}, "
        f"tensor<{n1}x{k}xf32>) -> {h}\n"
        f"  %w2 = arith.constant {tools.dense_attr(w2)} : tensor<{n2}x{n1}xf32> loc(\"fc2\")\n"
        f"  %y = lattice.matmul %h, %w2 accumulate(f32) : ({h}, "
        f"tensor<{n2}x{n1}xf32>) -> {y}\n"
        f"  return %y : {y}\n}}\n")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = np.random.default_rng(7)
    gain = rng.uniform(0.5, 2.0, 16).astype(np.float32)
    w1 = rng.standard_normal((12, 16)).astype(np.float32)
    w2 = rng.standard_normal((8, 12)).astype(np.float32)
    path = tmp_path_factory.mktemp("calibrate") / "mlp.mlir"
    path.write_text(mlp_source(gain, w1, w2, m=4))
    samples = rng.standard_normal((6, 4, 16)).astype(np.float32)
    return path, gain, w1, w2, samples


def test_statistics_match_numpy(model, tmp_path):
    path, gain, w1, w2, samples = model
    out = tmp_path / "stats.safetensors"
    calibrate.calibrate(path, {"input0": samples}, out, bins=64, xtx=True,
                        quiet=True)
    stats = safetensors.load(out)

    inputs = [ref.rms_norm(s, gain, 1e-6) for s in samples]
    hidden = [ref.matmul(n, w1) for n in inputs]
    for name, values, weight in (("fc1", inputs, w1), ("fc2", hidden, w2)):
        x = np.stack(values).astype(np.float64)
        rows = x.reshape(-1, x.shape[-1])
        np.testing.assert_allclose(stats[f"{name}:input.min"], x.min(), rtol=1e-5)
        np.testing.assert_allclose(stats[f"{name}:input.max"], x.max(), rtol=1e-5)
        np.testing.assert_allclose(stats[f"{name}:input.absmax"],
                                   np.abs(rows).max(axis=0), rtol=1e-5)
        np.testing.assert_allclose(stats[f"{name}:input.xtx"], rows.T @ rows,
                                   rtol=1e-4, atol=1e-4)
        assert stats[f"{name}:input.rows"] == rows.shape[0]
        histogram = stats[f"{name}:input.histogram"]
        assert histogram.shape == (64,) and histogram.sum() == rows.size
        expected, _ = np.histogram(np.abs(rows), 64,
                                   (0, max(-x.min(), x.max())))
        # Values on a bin edge may land one bin over after f32 rounding.
        assert np.abs(np.cumsum(histogram) - np.cumsum(expected)).max() <= 2
        np.testing.assert_array_equal(stats[f"{name}:weight.absmax"],
                                      np.abs(weight).max(axis=0))
        assert f"{name}:weight.xtx" not in stats


def test_statistics_file_feeds_static_quantization(model, tmp_path):
    """The file written here is one that lattice-quantize accepts; each
    layer's activation scale is its input's max |x| / 127."""
    path, gain, w1, _, samples = model
    out = tmp_path / "stats.safetensors"
    calibrate.calibrate(path, {"input0": samples}, out, quiet=True)
    quantized = tmp_path / "q.mlir"
    tools.run("lattice-opt", path,
              f"--lattice-quantize=activations=static stats={out}",
              "-o", quantized)
    x = np.stack([ref.rms_norm(s, gain, 1e-6) for s in samples])
    h = np.stack([ref.matmul(n, w1) for n in x])
    text = quantized.read_text()
    scales = [float(v) for v in
              re.findall(r"dense<([-0-9.e+]+)> : tensor<f32>", text)]
    expected = [np.abs(x).max() / 127, np.abs(h).max() / 127]
    np.testing.assert_allclose(sorted(scales), sorted(expected), rtol=1e-6)
    assert text.count("lattice.quantize %") == 2


@pytest.mark.parametrize("data, message", [
    ({}, "calibration data has no array for input 'input0'"),
    ({"input0": np.zeros((2, 4, 15), np.float32)},
     "calibration input 'input0' has shape (2, 4, 15); expected (4, 16)"),
    ({"input0": np.full((2, 4, 16), np.nan, np.float32)},
     "calibration input 'input0' holds NaN or Inf in sample 0"),
    ({"input0": np.zeros((0, 4, 16), np.float32)},
     "calibration data holds no samples"),
    ({"input0": np.array([["a"] * 16] * 4)},
     "calibration input 'input0' has dtype <U1, not a number"),
])
def test_bad_calibration_data(model, tmp_path, data, message):
    path = model[0]
    with pytest.raises(calibrate.CalibrationError) as error:
        calibrate.calibrate(path, data, tmp_path / "s.safetensors", quiet=True)
    assert message in str(error.value)


def test_command_line(model, tmp_path):
    path, _, _, _, samples = model
    np.savez(tmp_path / "calib.npz", input0=samples[0])  # one sample
    out = tmp_path / "stats.safetensors"
    result = subprocess.run(
        [sys.executable, "-m", "lattice.calibrate", str(path), "--calib",
         str(tmp_path / "calib.npz"), "-o", str(out), "--bins", "0"],
        capture_output=True, text=True, cwd=calibrate.__file__.rsplit("/", 2)[0])
    assert result.returncode == 0, result.stderr
    assert "calibrating: pass 1/1, sample 1/1" in result.stderr
    stats = safetensors.load(out)
    assert "fc1:input.histogram" not in stats and "fc1:input.absmax" in stats

    result = subprocess.run(
        [sys.executable, "-m", "lattice.calibrate", str(path), "--calib",
         str(tmp_path / "missing.npz"), "-o", str(out)],
        capture_output=True, text=True, cwd=calibrate.__file__.rsplit("/", 2)[0])
    assert result.returncode == 1
    assert "error: cannot read calibration data" in result.stderr


def test_names_with_quotes_and_unicode(model, tmp_path):
    """Layer names that MLIR prints with escapes (a quote, non-ASCII bytes)
    come back unchanged in the statistics file."""
    path, _, _, _, samples = model
    source = path.read_text().replace('loc("fc1")', r'loc("fc \"1\" \C3\BC")')
    renamed = tmp_path / "renamed.mlir"
    renamed.write_text(source)
    out = tmp_path / "stats.safetensors"
    calibrate.calibrate(renamed, {"input0": samples}, out, bins=0, quiet=True)
    stats = safetensors.load(out)
    assert 'fc "1" ü:input.absmax' in stats
    assert 'fc "1" ü:weight.absmax' in stats
