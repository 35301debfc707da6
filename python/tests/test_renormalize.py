"""lattice-renormalize on an nGPT-style block: normalize -> (fake-quantized
activations) -> matmul with 4-bit unit-norm weight rows -> normalize.

After the pass, the quantized activations are unit vectors again (within
1e-5), and the matmul with row norms folded into its scales computes what
the explicit form computes: the renormalized activations times the
quantized rows divided by their norms (lattice.reference's quantizer gives
the rows).
"""

import numpy as np
import pytest

from lattice import reference as ref, tools

MISSING = tools.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))

M, K, N = 8, 64, 32
ACT_SCALE = 0.05  # s4 fake quantization of the unit vectors: [-0.35, 0.35]


def block_source(w):
    x, y, wt = f"tensor<{M}x{K}xf32>", f"tensor<{M}x{N}xf32>", f"tensor<{N}x{K}xf32>"
    return f"""func.func @block(%x: {x}) -> ({x}, {y}, {y}) {{
  %h = lattice.normalize %x : ({x}) -> {x}
  %s = arith.constant dense<{ACT_SCALE}> : tensor<f32>
  %a = lattice.fake_quant %h, %s as !lattice.quant<s4, f32> : ({x}, tensor<f32>) -> {x}
  %w = arith.constant {tools.dense_attr(w)} : {wt} loc("proj")
  %y = lattice.matmul %a, %w accumulate(f32) : ({x}, {wt}) -> {y}
  %z = lattice.normalize %y : ({y}) -> {y}
  return %a, %y, %z : {x}, {y}, {y}
}}
"""


def build(tmp_path, w, renormalize):
    source = tmp_path / "block.mlir"
    source.write_text(block_source(w))
    out = tmp_path / "quantized.mlir"
    passes = "--lattice-quantize=weight-bits=4 granularity=channel"
    args = [source, passes, "-o", out]
    if renormalize:
        args.insert(2, "--lattice-renormalize=report=true")
    remarks = tools.run("lattice-opt", *args)
    name = "renormalized" if renormalize else "plain"
    return tools.compile_model(out, tmp_path / name), remarks


@pytest.fixture(scope="module")
def block(tmp_path_factory):
    rng = np.random.default_rng(11)
    w = rng.standard_normal((N, K))
    w = (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(np.float32)
    x = rng.standard_normal((M, K)).astype(np.float32)
    plain, _ = build(tmp_path_factory.mktemp("plain"), w, False)
    renormalized, remarks = build(tmp_path_factory.mktemp("renorm"), w, True)
    return w, x, plain(x), renormalized(x), remarks


def test_activations_back_on_sphere(block):
    _, _, (a_plain, _, _), (a_renorm, _, z), _ = block
    plain_error = np.abs(np.linalg.norm(a_plain, axis=1) - 1).max()
    assert plain_error > 1e-2  # quantization did move them off the sphere
    np.testing.assert_allclose(np.linalg.norm(a_renorm, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1, atol=1e-5)
    # The renormalized activations are the quantized ones, rescaled.
    expected = a_plain / np.linalg.norm(a_plain, axis=1, keepdims=True)
    np.testing.assert_allclose(a_renorm, expected, atol=1e-6)


def test_folded_rows_match_explicit_form(block):
    w, _, (a_plain, y_plain, _), (a_renorm, y_folded, _), remarks = block
    assert "layer 'proj': row norms folded into the scales" in remarks
    w_hat = ref.quantize_weight(w, ref.QuantScheme.parse("s4, f32, channel<0>"))
    w_hat = w_hat.dequantize().astype(np.float64)
    norms = np.linalg.norm(w_hat, axis=1)
    assert np.abs(norms - 1).max() > 1e-3  # the rows did leave the sphere
    # Unfolded: the plain model multiplies by the quantized rows as they are.
    np.testing.assert_allclose(y_plain, a_plain.astype(np.float64) @ w_hat.T,
                               atol=1e-5)
    explicit = (a_renorm.astype(np.float64) @ w_hat.T) / norms
    np.testing.assert_allclose(y_folded, explicit, atol=1e-5)
    # Cosines of unit vectors.
    assert np.abs(y_folded).max() <= 1 + 1e-5
