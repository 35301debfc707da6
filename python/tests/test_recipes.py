"""Compiled linear layers against lattice.reference.

Each case is a function in the lattice dialect with its weights in a
safetensors file; lattice-compile turns it into a shared library, which runs
on random inputs from Python. Integer paths (W8A8, ternary with int8
activations) must match the reference bit for bit. Float paths sum in f32 in
the compiler's order (lanes, tiles), so each output may differ from the
exactly rounded sum by the standard bound for a sum of K products,
K * 2^-23 * sum_k |a_k| |w_k| (plus the rounding of an f16 result).
"""

import os
import pathlib
import subprocess

import numpy as np
import pytest

from lattice import reference as ref
from lattice import runtime, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")

_NUMPY = {"f32": np.float32, "f16": np.float16}


def _tensor(shape, element):
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


class Weight:
    """A quantized weight [N, K]: random codes, scales and zero points."""

    def __init__(self, prefix, scheme_text, n, k, rng):
        self.prefix = prefix
        self.text = scheme_text
        self.scheme = ref.QuantScheme.parse(scheme_text)
        self.shape = (n, k)
        s = self.scheme
        codes = rng.integers(s.qmin, s.qmax + 1, self.shape)
        if s.kind == "binary":
            codes = np.where(codes > 0, 1, -1)
        scale_shape = s.scale_shape(self.shape)
        scale = rng.uniform(0.01, 0.05, scale_shape).astype(
            _NUMPY[s.scale_type])
        zero_point = None
        if not s.symmetric:
            zero_point = rng.integers(s.qmin, s.qmax + 1,
                                      scale_shape).astype(np.int32)
        self.value = ref.Quantized(codes, scale, zero_point, s)

    @property
    def type(self):
        return _tensor(self.shape, f"!lattice.quant<{self.text}>")

    def files(self):
        """The tensors of the weights file: one code per element."""
        code_dtype = np.uint8 if self.scheme.kind == "u" else np.int8
        out = {f"{self.prefix}.weight": self.value.codes.astype(code_dtype),
               f"{self.prefix}.scale": self.value.scale}
        if self.value.zero_point is not None:
            out[f"{self.prefix}.zero_point"] = self.value.zero_point
        return out

    def declare(self):
        """lattice.weight ops binding %<prefix>_w, _s (and _z)."""
        p, scale = self.prefix, self.value.scale
        lines = [
            f'  %{p}_w = lattice.weight "{p}.weight" from "w.safetensors" : '
            f"{self.type}",
            f'  %{p}_s = lattice.weight "{p}.scale" from "w.safetensors" : '
            f"{_tensor(scale.shape, self.scheme.scale_type)}"]
        if self.value.zero_point is not None:
            lines.append(
                f'  %{p}_z = lattice.weight "{p}.zero_point" from '
                f'"w.safetensors" : {_tensor(scale.shape, "i32")}')
        return lines

    def operands(self):
        """(rhs parameter clause, types of the parameters)."""
        p = self.prefix
        clause = f"rhs_scale(%{p}_s)"
        types = [_tensor(self.value.scale.shape, self.scheme.scale_type)]
        if self.value.zero_point is not None:
            clause += f" rhs_zero_point(%{p}_z)"
            types.append(_tensor(self.value.scale.shape, "i32"))
        return clause, types


def _compile(tmp_path, source, weights, args=()):
    (tmp_path / "m.mlir").write_text(source)
    safetensors.save(tmp_path / "w.safetensors", weights)
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "-o", str(tmp_path / "m"),
         *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr + "\n" + source
    return runtime.load(tmp_path / "m.so")


def _float_bound(a, w, k):
    """K * 2^-23 * |a| |w|^T: the f32 error bound of each output."""
    return k * 2.0**-23 * (np.abs(a).astype(np.float64) @
                           np.abs(w).astype(np.float64).T)


def _float_linear(m, k, n, weight_scheme, io="f32"):
    """Float activations times a float or quantized weight."""
    rng = np.random.default_rng(k * 1000 + n)
    x_type, y_type = _tensor((m, k), io), _tensor((m, n), io)
    if weight_scheme is None:
        w = rng.standard_normal((n, k)).astype(np.float32)
        body = [f'  %w = lattice.weight "fc.weight" from "w.safetensors" : '
                f"{_tensor((n, k), 'f32')}",
                f"  %y = lattice.matmul %x, %w accumulate(f32) : "
                f"({x_type}, {_tensor((n, k), 'f32')}) -> {y_type}"]
        weights, rhs, dense = {"fc.weight": w}, w, w
    else:
        weight = Weight("fc", weight_scheme, n, k, rng)
        clause, types = weight.operands()
        body = weight.declare() + [
            f"  %y = lattice.matmul %x, %fc_w {clause} accumulate(f32) : "
            f"({x_type}, {weight.type}, {', '.join(types)}) -> {y_type}"]
        weights, rhs = weight.files(), weight.value
        dense = weight.value.dequantize()
    source = "\n".join([f"func.func @linear(%x: {x_type}) -> {y_type} {{",
                        *body, f"  return %y : {y_type}", "}", ""])
    return source, weights, rhs, dense


FLOAT_CASES = {
    "f32-gemv-odd-k": (1, 67, 37, None, "f32"),
    "f32-gemm": (5, 64, 48, None, "f32"),
    "w4a16-g32": (1, 160, 37, "s4, f16, group<1, 32>", "f32"),
    "w4a16-g32-asym": (3, 160, 37, "u4, f16, group<1, 32>, asymmetric", "f32"),
    "w4a16-g128": (1, 384, 37, "s4, f16, group<1, 128>", "f32"),
    # 16 groups and more per row: the microkernel converts f16 scales in
    # blocks of 16.
    "w4a16-g32-k512": (2, 512, 37, "s4, f16, group<1, 32>", "f32"),
    "w4a16-g128-k2048": (1, 2048, 21, "s4, f16, group<1, 128>", "f32"),
    "w4a16-g128-asym": (2, 384, 37, "u4, f32, group<1, 128>, asymmetric",
                        "f32"),
    "w8a16": (1, 67, 37, "s8, f32, channel<0>", "f32"),
    "w2a16-g32": (1, 160, 37, "s2, f16, group<1, 32>", "f32"),
    "ternary-a16": (3, 67, 37, "ternary, f32, channel<0>", "f32"),
    "w4a16-f16-io": (1, 160, 37, "s4, f16, group<1, 32>", "f16"),
}
# W4A16 with f32 activations calls the runtime's microkernel on AVX-512
# targets by default: those cases also run without it ("generated") and
# with its portable loop ("generic").
FLOAT_PARAMS = [pytest.param(*case, "default", id=name)
                for name, case in FLOAT_CASES.items()] + [
    pytest.param(*case, kernel, id=f"{name}-{kernel}")
    for name, case in FLOAT_CASES.items()
    if name.startswith("w4a16-g") for kernel in ("generated", "generic")]


@pytest.mark.parametrize("m,k,n,scheme,io,kernel", FLOAT_PARAMS)
def test_float_activations(tmp_path, monkeypatch, m, k, n, scheme, io,
                           kernel):
    if kernel == "generic":
        monkeypatch.setenv("LATTICE_UKERNELS", "generic")
    source, weights, rhs, dense = _float_linear(m, k, n, scheme, io)
    model = _compile(tmp_path, source, weights,
                     ["--ukernels=false"] if kernel == "generated" else [])
    rng = np.random.default_rng(m)
    x = rng.standard_normal((m, k)).astype(_NUMPY[io])
    (y,) = model(x)
    assert y.dtype == _NUMPY[io] and y.shape == (m, n)
    expected = ref.matmul(x, rhs, result_dtype=np.float64)
    bound = _float_bound(x.astype(np.float32), dense, k)
    if io == "f16":
        bound = bound + np.abs(expected) * 2.0**-11
    assert np.all(np.abs(y.astype(np.float64) - expected) <= bound), \
        np.max(np.abs(y - expected) - bound)


def _integer_linear(m, k, n, weight_scheme, activation):
    """int8 activations (static per-tensor or dynamic per-token) times a
    quantized weight: the integer path."""
    rng = np.random.default_rng(k + n)
    weight = Weight("fc", weight_scheme, n, k, rng)
    x_type, y_type = _tensor((m, k), "f32"), _tensor((m, n), "f32")
    clause, types = weight.operands()
    if activation == "static":
        xq_type = _tensor((m, k), "!lattice.quant<s8, f32>")
        scale_type = _tensor((), "f32")
        quantize = [
            f"  %xs = arith.constant dense<0.03125> : {scale_type}",
            f"  %xq = lattice.quantize %x, %xs : ({x_type}, {scale_type}) "
            f"-> {xq_type}"]
    else:
        xq_type = _tensor((m, k), "!lattice.quant<s8, f32, channel<0>>")
        scale_type = _tensor((m,), "f32")
        quantize = [f"  %xq, %xs = lattice.dynamic_quantize %x : ({x_type}) "
                    f"-> ({xq_type}, {scale_type})"]
    body = weight.declare() + quantize + [
        f"  %y = lattice.matmul %xq, %fc_w lhs_scale(%xs) {clause} "
        f"accumulate(i32) : ({xq_type}, {weight.type}, {scale_type}, "
        f"{', '.join(types)}) -> {y_type}"]
    source = "\n".join([f"func.func @linear(%x: {x_type}) -> {y_type} {{",
                        *body, f"  return %y : {y_type}", "}", ""])
    return source, weight


def _reference_activations(x, activation):
    if activation == "static":
        scheme = ref.QuantScheme("s8")
        scale = np.float32(0.03125)
        return ref.Quantized(ref.quantize(x, scale, None, scheme), scale,
                             None, scheme)
    scheme = ref.QuantScheme.parse("s8, f32, channel<0>")
    codes, scale, _ = ref.dynamic_quantize(x, scheme)
    return ref.Quantized(codes, scale, None, scheme)


@pytest.mark.parametrize("m,k,n,scheme,activation", [
    (4, 67, 37, "s8, f32, channel<0>", "static"),
    (1, 67, 37, "s8, f32, channel<0>", "dynamic"),
    (6, 130, 33, "s8, f32, channel<0>", "dynamic"),
    (3, 67, 37, "u8, f32, channel<0>, asymmetric", "dynamic"),
    (3, 67, 37, "ternary, f32, channel<0>", "dynamic"),
    (2, 160, 37, "s4, f32, group<1, 32>", "dynamic"),
], ids=["w8a8-static", "w8a8-dynamic-gemv", "w8a8-dynamic",
        "w8a8-asym-weights", "ternary-a8", "w4a8-g32"])
def test_integer_path_is_bit_exact(tmp_path, m, k, n, scheme, activation):
    source, weight = _integer_linear(m, k, n, scheme, activation)
    model = _compile(tmp_path, source, weight.files())
    rng = np.random.default_rng(n)
    x = (rng.standard_normal((m, k)) * 2).astype(np.float32)
    (y,) = model(x)
    expected = ref.matmul(_reference_activations(x, activation),
                          weight.value, "i32")
    if weight.scheme.granularity == "group":
        # Several runs: the f32 sum of the group epilogues is reassociated.
        bound = k // weight.scheme.group_size * 2.0**-23 * np.abs(expected)
        assert np.all(np.abs(y - expected) <= bound + 1e-30)
    else:
        np.testing.assert_array_equal(y, expected)


MLP = """
func.func @mlp(%x: tensor<{m}x96xf32>) -> tensor<{m}x40xf32> {{
{fc1}
  %gamma = lattice.weight "norm.weight" from "w.safetensors" : tensor<160xf32>
{fc2}
  %h = lattice.matmul %x, %fc1_w {fc1_clause} accumulate(f32)
      : (tensor<{m}x96xf32>, {fc1_type}, {fc1_types}) -> tensor<{m}x160xf32>
  %n = lattice.rms_norm %h, %gamma {{epsilon = 1.0e-5 : f32}}
      : (tensor<{m}x160xf32>, tensor<160xf32>) -> tensor<{m}x160xf32>
  %y = lattice.matmul %n, %fc2_w {fc2_clause} accumulate(f32)
      : (tensor<{m}x160xf32>, {fc2_type}, {fc2_types}) -> tensor<{m}x40xf32>
  return %y : tensor<{m}x40xf32>
}}
"""


@pytest.mark.parametrize("target", ["native", "x86-64"])
@pytest.mark.parametrize("m", [1, 3])
def test_two_layer_mlp_with_rms_norm(tmp_path, m, target):
    """Also compiled for the portable x86-64 target (SSE2, no microkernel)."""
    rng = np.random.default_rng(7)
    fc1 = Weight("fc1", "s4, f16, group<1, 32>", 160, 96, rng)
    fc2 = Weight("fc2", "u4, f16, group<1, 32>, asymmetric", 40, 160, rng)
    gamma = rng.uniform(0.5, 1.5, 160).astype(np.float32)
    fields = {"m": m}
    for layer in (fc1, fc2):
        clause, types = layer.operands()
        fields.update({f"{layer.prefix}": "\n".join(layer.declare()),
                       f"{layer.prefix}_clause": clause,
                       f"{layer.prefix}_type": layer.type,
                       f"{layer.prefix}_types": ", ".join(types)})
    model = _compile(tmp_path, MLP.format(**fields),
                     {**fc1.files(), **fc2.files(), "norm.weight": gamma},
                     [f"--target-cpu={target}"])
    x = rng.standard_normal((m, 96)).astype(np.float32)
    (y,) = model(x)
    h = ref.matmul(x, fc1.value, result_dtype=np.float64)
    n = ref.rms_norm(h, gamma, 1e-5)
    expected = ref.matmul(n, fc2.value, result_dtype=np.float64)
    # Two f32 layers and a norm: relative to the output's scale.
    np.testing.assert_allclose(y, expected, rtol=0,
                               atol=2e-5 * np.abs(expected).max())
