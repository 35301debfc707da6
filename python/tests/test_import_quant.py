"""lattice-import-quant: upstream quant.qcast/dcast pairs, imported and
compiled, compute quant.uniform's arithmetic: q = clamp(round_half_even(x /
s) + z, qmin, qmax) in f32 and x_hat = (q - z) * s, checked bit for bit
against numpy."""

import numpy as np
import pytest

from lattice import tools

MISSING = tools.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))


def roundtrip(tmp_path, quant_type, shape):
    t = "x".join(map(str, shape))
    source = tmp_path / "upstream.mlir"
    source.write_text(
        f"func.func @roundtrip(%x: tensor<{t}xf32>) -> tensor<{t}xf32> {{\n"
        f"  %q = quant.qcast %x : tensor<{t}xf32> to tensor<{t}x{quant_type}>\n"
        f"  %d = quant.dcast %q : tensor<{t}x{quant_type}> to tensor<{t}xf32>\n"
        f"  return %d : tensor<{t}xf32>\n}}\n")
    imported = tmp_path / "imported.mlir"
    tools.run("lattice-opt", source, "--lattice-import-quant", "-o", imported)
    return tools.compile_model(imported, tmp_path / "roundtrip")


def expected(x, scale, zero_point, qmin, qmax):
    scale = np.float32(scale)
    q = np.clip(np.round(x / scale) + zero_point, qmin, qmax)
    return ((q - zero_point) * scale).astype(np.float32)


def test_per_tensor_asymmetric(tmp_path):
    model = roundtrip(tmp_path, "!quant.uniform<u8:f32, 0.0625:100>", (4, 64))
    x = np.random.default_rng(1).uniform(-9, 12, (4, 64)).astype(np.float32)
    x[0, :4] = [0.03125, 0.09375, -1e9, np.inf]  # ties to even, saturation
    (y,) = model(x)
    np.testing.assert_array_equal(y, expected(x, 0.0625, 100, 0, 255))


def test_per_axis_symmetric(tmp_path):
    scales = [0.01, 0.02, 0.05]
    text = ", ".join(map(str, scales))
    model = roundtrip(tmp_path, f"!quant.uniform<i8:f32:0, {{{text}}}>", (3, 16))
    x = np.random.default_rng(2).standard_normal((3, 16)).astype(np.float32)
    (y,) = model(x)
    want = np.stack([expected(x[i], s, 0, -128, 127) for i, s in enumerate(scales)])
    np.testing.assert_array_equal(y, want)
