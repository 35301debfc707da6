"""lattice-awq against a numpy AWQ written from the paper (independent of
the C++): on one layer with outlier input channels, the same alpha and the
same output errors (scaled and unscaled) for per-group and per-channel,
symmetric and asymmetric schemes; scaling pays on such inputs, and the
float model computes the same function after the rewrite.
"""

import re

import numpy as np
import pytest

from lattice import reference as ref, safetensors, tools

MISSING = tools.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))

N, K, ROWS, GRID = 24, 64, 256, 20


def numpy_awq(w, absmean, h, scheme, clip="minmax"):
    """(alpha, relative output error, unscaled relative error)."""
    energy = np.einsum("ri,ij,rj->", w, h, w)
    best = None
    for step in range(GRID + 1):
        alpha = step / GRID
        s = np.ones(K)
        active = absmean > 0
        s[active] = absmean[active] ** alpha
        s[active] /= np.sqrt(s[active].min() * s[active].max())
        s = np.clip(s, 1e-4, 1e4)
        scaled = (w.astype(np.float64) * s).astype(np.float32)
        q = ref.quantize_weight(scaled, scheme, clip).dequantize().astype(np.float64)
        d = w.astype(np.float64) - q / s
        error = np.einsum("ri,ij,rj->", d, h, d) / energy
        if step == 0:
            unscaled = error
        if best is None or error < best[1]:
            best = (alpha, error)
    return best[0], best[1], unscaled


@pytest.fixture(scope="module")
def layer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("awq")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((ROWS, K)).astype(np.float32)
    x[:, [3, 17, 40]] *= np.float32(12)  # outlier channels
    w = rng.standard_normal((N, K)).astype(np.float32)
    x64 = x.astype(np.float64)
    xtx = (x64.T @ x64).astype(np.float32)
    absmean = np.abs(x64).mean(axis=0).astype(np.float32)
    safetensors.save(folder / "stats.safetensors", {
        "fc:input.min": np.float32(x.min()), "fc:input.max": np.float32(x.max()),
        "fc:input.absmax": np.abs(x).max(axis=0).astype(np.float32),
        "fc:input.absmean": absmean, "fc:input.xtx": xtx,
        "fc:input.rows": np.float32(ROWS),
    }, {"format": "lattice-stats", "version": "1"})
    source = (f"func.func @fc(%x: tensor<{ROWS}x{K}xf32>) -> tensor<{ROWS}x{N}xf32> {{\n"
              f"  %w = arith.constant {tools.dense_attr(w)} : tensor<{N}x{K}xf32> loc(\"fc\")\n"
              f"  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<{ROWS}x{K}xf32>, "
              f"tensor<{N}x{K}xf32>) -> tensor<{ROWS}x{N}xf32>\n"
              f"  return %y : tensor<{ROWS}x{N}xf32>\n}}\n")
    (folder / "fc.mlir").write_text(source)
    return folder, x, w, absmean.astype(np.float64), xtx.astype(np.float64)


@pytest.mark.parametrize("bits,granularity,symmetric,clip", [
    (3, "group", True, "minmax"), (4, "group", False, "minmax"),
    (3, "channel", True, "mse"), (2, "channel", False, "minmax")])
def test_awq_matches_numpy(layer, bits, granularity, symmetric, clip):
    folder, _, w, absmean, h = layer
    options = (f"weight-bits={bits} granularity={granularity} group-size=16 "
               f"symmetric={'true' if symmetric else 'false'} scale-type=f32 "
               f"clip={clip} grid={GRID} stats={folder / 'stats.safetensors'}")
    out = tools.run("lattice-opt", folder / "fc.mlir", f"--lattice-awq={options}",
                    "-o", folder / "scaled.mlir")
    found = re.search(r"alpha ([\d.e+-]+), output error ([\d.e+-]+) "
                      r"\(unscaled: ([\d.e+-]+)\)", out)
    assert found, out
    alpha, error, unscaled = (float(v) for v in found.groups())
    storage = f"{'s' if symmetric else 'u'}{bits}"
    scheme = ref.QuantScheme(storage, "f32", granularity,
                             0 if granularity == "channel" else 1,
                             16 if granularity == "group" else 0, symmetric)
    expected = numpy_awq(w, absmean, h, scheme, clip)
    assert alpha == pytest.approx(expected[0], abs=1e-9)
    assert error == pytest.approx(expected[1], rel=1e-6)
    assert unscaled == pytest.approx(expected[2], rel=1e-6)
    # The outlier channels make scaling pay.
    assert alpha > 0 and error < 0.9 * unscaled


def test_scaled_layer_computes_the_same(layer):
    """X W^T = (X diag(s)^-1)(W diag(s))^T: the rewritten float function
    (an explicit channel scale on the argument) gives the same output."""
    folder, x, w, _, _ = layer
    tools.run("lattice-opt", folder / "fc.mlir",
              f"--lattice-awq=weight-bits=3 group-size=16 stats={folder / 'stats.safetensors'}",
              "-o", folder / "scaled.mlir")
    text = (folder / "scaled.mlir").read_text()
    assert "lattice.channel_scale" in text and "lattice.input_rescale" in text
    model = tools.compile_model(folder / "scaled.mlir", folder / "scaled")
    try:
        y = model(x)[0]
    finally:
        model.close()
    expected = x.astype(np.float64) @ w.astype(np.float64).T
    assert np.abs(y - expected).max() <= 1e-4 * np.abs(expected).max()
