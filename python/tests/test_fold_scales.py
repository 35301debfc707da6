"""lattice-fold-scales keeps what a model computes: a model with every
foldable pattern (channel scales before a matmul, after a norm, after float
and quantized matmuls; dequantized weights and activations feeding
matmuls) is compiled before and after the pass and run on random inputs;
the outputs agree within float rounding (relative error 1e-6), and the pass
removed every channel_scale and dequantize."""

import numpy as np
import pytest

from lattice import tools

MISSING = tools.missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))

M, K, N = 8, 32, 16



def model_source(rng):
    x, h, y = f"tensor<{M}x{K}xf32>", f"tensor<{M}x{N}xf32>", f"tensor<{M}x{N}xf32>"
    w, wq = f"tensor<{N}x{K}xf32>", f"tensor<{N}x{K}x!lattice.quant<s4, f32, group<1, 8>>>"
    return f"""func.func @model(%x: {x}) -> ({y}, {y}) {{
  %g = arith.constant {tools.dense_attr(rng.uniform(0.5, 2, K))} : tensor<{K}xf32>
  %b = arith.constant {tools.dense_attr(rng.standard_normal(K))} : tensor<{K}xf32>
  %n = lattice.layer_norm %x, %g, %b : ({x}, tensor<{K}xf32>, tensor<{K}xf32>) -> {x}
  %s1 = arith.constant {tools.dense_attr(rng.uniform(0.1, 4, K))} : tensor<{K}xf32>
  %ns = lattice.channel_scale %n, %s1 axis(1) : ({x}, tensor<{K}xf32>) -> {x}
  %s2 = arith.constant {tools.dense_attr(rng.uniform(-2, 2, K))} : tensor<{K}xf32>
  %xs = lattice.channel_scale %ns, %s2 axis(1) : ({x}, tensor<{K}xf32>) -> {x}
  %w1 = arith.constant {tools.dense_attr(rng.standard_normal((N, K)))} : {w}
  %y1 = lattice.matmul %xs, %w1 accumulate(f32) : ({x}, {w}) -> {h}
  %s3 = arith.constant {tools.dense_attr(rng.uniform(-2, 2, N))} : tensor<{N}xf32>
  %y1s = lattice.channel_scale %y1, %s3 axis(1) : ({h}, tensor<{N}xf32>) -> {h}
  %c = arith.constant {tools.dense_attr(rng.integers(-8, 8, (N, K)), "i1")} : tensor<{N}x{K}xi8>
  %q = lattice.scast %c : tensor<{N}x{K}xi8> to {wq}
  %qs = arith.constant {tools.dense_attr(rng.uniform(0.01, 0.1, (N, K // 8)))} : tensor<{N}x{K // 8}xf32>
  %wd = lattice.dequantize %q, %qs : ({wq}, tensor<{N}x{K // 8}xf32>) -> {w}
  %y2 = lattice.matmul %n, %wd accumulate(f32) : ({x}, {w}) -> {h}
  %s4 = arith.constant {tools.dense_attr(rng.uniform(0.5, 2, N))} : tensor<{N}xf32>
  %y2s = lattice.channel_scale %y2, %s4 axis(1) : ({h}, tensor<{N}xf32>) -> {h}
  return %y1s, %y2s : {y}, {y}
}}
"""


def test_outputs_unchanged(tmp_path):
    rng = np.random.default_rng(5)
    source = tmp_path / "model.mlir"
    source.write_text(model_source(rng))
    folded = tmp_path / "folded.mlir"
    tools.run("lattice-opt", source, "--lattice-fold-scales", "-o", folded)
    text = folded.read_text()
    assert "lattice.channel_scale" not in text and "lattice.dequantize" not in text
    before = tools.compile_model(source, tmp_path / "before")
    after = tools.compile_model(folded, tmp_path / "after")
    for _ in range(3):
        x = rng.standard_normal((M, K)).astype(np.float32)
        for b, a in zip(before(x), after(x)):
            error = np.linalg.norm(b.astype(np.float64) - a) / np.linalg.norm(b)
            assert error < 1e-6, error


def test_lossless_requantize_chain_is_bit_exact(tmp_path):
    """A requantize chain whose first step is lossless collapses into one
    requantize with exactly the same codes."""
    t = "tensor<64xf32>"
    a = "tensor<64x!lattice.quant<s4, f32>>"
    b = "tensor<64x!lattice.quant<s8, f32>>"
    c = "tensor<64x!lattice.quant<u8, f32, asymmetric>>"
    source = tmp_path / "chain.mlir"
    source.write_text(f"""func.func @chain(%x: {t}) -> {t} {{
  %half = arith.constant dense<0.5> : tensor<f32>
  %eighth = arith.constant dense<0.125> : tensor<f32>
  %out = arith.constant dense<0.3> : tensor<f32>
  %z = arith.constant dense<10> : tensor<i16>
  %q = lattice.quantize %x, %half : ({t}, tensor<f32>) -> {a}
  %q8 = lattice.requantize %q, %half to %eighth : ({a}, tensor<f32>, tensor<f32>) -> {b}
  %r = lattice.requantize %q8, %eighth to %out, %z : ({b}, tensor<f32>, tensor<f32>, tensor<i16>) -> {c}
  %y = lattice.dequantize %r, %out, %z : ({c}, tensor<f32>, tensor<i16>) -> {t}
  return %y : {t}
}}
""")
    folded = tmp_path / "folded.mlir"
    tools.run("lattice-opt", source, "--lattice-fold-scales", "-o", folded)
    assert folded.read_text().count("lattice.requantize") == 1
    before = tools.compile_model(source, tmp_path / "before")
    after = tools.compile_model(folded, tmp_path / "after")
    x = np.linspace(-5, 5, 64, dtype=np.float32)
    np.testing.assert_array_equal(before(x)[0], after(x)[0])
