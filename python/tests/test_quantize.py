"""lattice-quantize against the numpy reference (lattice.reference).

A float linear layer with a constant weight goes through `lattice-opt
--lattice-quantize`, then lattice-compile, and runs on random inputs. The
pass's reported weight SQNR must equal the reference quantizer's, and the
compiled layer must compute the reference matmul on the reference's codes:
bit for bit on the integer path, within the f32 summation bound on the
float path. The SQNR of round-to-nearest on Gaussian weights must rise by
6.02 dB per bit (seed 001: SQNR = 6.02 b + C).
"""

import os
import pathlib
import re
import subprocess

import numpy as np
import pytest

from lattice import reference as ref
from lattice import runtime

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
OPT = BUILD / "bin" / "lattice-opt"
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not (OPT.exists() and COMPILE.exists()),
                                reason="lattice-opt or lattice-compile is "
                                       "not built")

_REPORT = re.compile(r"layer '([^']*)': (.*), weight SQNR (\S+) dB, "
                     r"(\S+) bits per weight")


def linear_module(w, m):
    """A function computing x [m, K] times the constant w [N, K]^T."""
    n, k = w.shape
    data = np.asarray(w, dtype="<f4").tobytes().hex().upper()
    x_type, w_type, y_type = (f"tensor<{m}x{k}xf32>", f"tensor<{n}x{k}xf32>",
                              f"tensor<{m}x{n}xf32>")
    return (f"func.func @linear(%x: {x_type}) -> {y_type} {{\n"
            f'  %w = arith.constant dense<"0x{data}"> : {w_type} loc("fc")\n'
            f"  %y = lattice.matmul %x, %w accumulate(f32) : ({x_type}, "
            f"{w_type}) -> {y_type}\n"
            f"  return %y : {y_type}\n}}\n")


def quantize(tmp_path, source, options):
    """Runs the pass with a report; returns the output file and the
    (scheme, SQNR, bits per weight) of the layer."""
    (tmp_path / "float.mlir").write_text(source)
    out = tmp_path / "quantized.mlir"
    result = subprocess.run(
        [str(OPT), str(tmp_path / "float.mlir"),
         f"--lattice-quantize={options} report=true", "-o", str(out)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    match = _REPORT.search(result.stderr)
    assert match and match.group(1) == "fc", result.stderr
    return out, match.group(2), float(match.group(3)), float(match.group(4))


def _sqnr_by_bits(tmp_path, w, options, scheme_text):
    """SQNR reported by the pass for 3 to 8 bits, each checked against the
    reference quantizer's."""
    source = linear_module(w, 1)
    sqnrs = []
    for bits in range(3, 9):
        _, _, sqnr, bpw = quantize(tmp_path, source,
                                   f"weight-bits={bits} {options}")
        scheme = ref.QuantScheme.parse(scheme_text.format(bits=bits))
        expected = ref.quantize_weight(w, scheme)
        assert sqnr == pytest.approx(ref.sqnr_db(w, expected.dequantize()),
                                     abs=0.006)
        assert bpw == pytest.approx(ref.bits_per_element(scheme, w.shape))
        sqnrs.append(sqnr)
    return np.array(sqnrs)


def test_sqnr_rises_by_6_db_per_bit(tmp_path):
    """Asymmetric codes use all 2^b levels over the channel's range, the
    setting of SQNR = 6.02 b + C: the least-squares slope over 3 to 8 bits
    is 6.02 +- 0.3 dB per bit, and the steps approach 6.02 as the rounding
    error becomes uniform. (Measured: 6.64, 6.32, 6.14, 6.07, 6.08.)"""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((128, 512)).astype(np.float32)
    sqnrs = _sqnr_by_bits(tmp_path, w, "symmetric=false",
                          "u{bits}, f32, channel<0>, asymmetric")
    slope = np.polyfit(np.arange(3, 9), sqnrs, 1)[0]
    assert abs(slope - 6.02) <= 0.3, sqnrs
    assert np.all(np.abs(np.diff(sqnrs)[-2:] - 6.02) <= 0.1), sqnrs


def test_symmetric_sqnr_follows_level_count(tmp_path):
    """Symmetric sN codes map absmax to qmax = 2^(b-1) - 1 (-2^(b-1) is
    never produced), so one more bit divides the step by
    (2^b - 1) / (2^(b-1) - 1) and adds 20 log10 of that: 7.36 dB from 3 to
    4 bits, tending to 6.02."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((128, 512)).astype(np.float32)
    sqnrs = _sqnr_by_bits(tmp_path, w, "", "s{bits}, f32, channel<0>")
    qmax = 2.0 ** (np.arange(3, 9) - 1) - 1
    predicted = 20 * np.log10(qmax[1:] / qmax[:-1])
    assert np.all(np.abs(np.diff(sqnrs) - predicted) <= 0.1), sqnrs


@pytest.mark.parametrize("bits, m", [(4, 3), (4, 40), (2, 40)])
def test_ragged_groups_over_rows_of_odd_length(tmp_path, bits, m):
    """K = 147 (a 7 x 7 convolution over 3 channels) in groups of 32: the
    rows of sub-byte codes do not start on a byte, and the last group of 19
    is padded to a whole one after its codes are widened to bytes."""
    rng = np.random.default_rng(11)
    n, k = 24, 147
    w = (rng.standard_normal((n, k)) / 10).astype(np.float32)
    path, _, _, _ = quantize(tmp_path, linear_module(w, m),
                             f"weight-bits={bits} granularity=group "
                             "group-size=32")
    result = subprocess.run([str(COMPILE), str(path), "-o",
                             str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    model = runtime.load(tmp_path / "m.so")
    wq = ref.quantize_weight(
        w, ref.QuantScheme.parse(f"s{bits}, f32, group<1, 32>"))
    x = rng.standard_normal((m, k)).astype(np.float32)
    (y,) = model(x)
    bound = k * 2.0**-23 * (np.abs(x).astype(np.float64) @
                            np.abs(wq.dequantize()).astype(np.float64).T)
    assert np.all(np.abs(y - ref.matmul(x, wq)) <= bound + 1e-30)


def test_ragged_groups_keep_the_group_precision(tmp_path):
    """K = 120 in groups of 32 (a convolution's or a head's K, say): three
    groups of 32 and one of 24 a row, whose scales the SQNR and the bits
    per weight count. They keep the precision of groups (within 1 dB of
    groups of 30, which divide K) where one scale per row, what such
    layers took before, loses several dB on heavy-tailed weights."""
    rng = np.random.default_rng(5)
    w = rng.standard_t(3, size=(64, 120)).astype(np.float32)
    source = linear_module(w, 1)
    results, bits = {}, {}
    for name, options, text in [
            ("ragged", "granularity=group group-size=32", "s4, f32, group<1, 32>"),
            ("dividing", "granularity=group group-size=30", "s4, f32, group<1, 30>"),
            ("channel", "", "s4, f32, channel<0>")]:
        _, scheme, sqnr, bpw = quantize(tmp_path, source,
                                        f"weight-bits=4 {options}")
        reference = ref.QuantScheme.parse(text)
        expected = ref.quantize_weight(w, reference)
        assert sqnr == pytest.approx(ref.sqnr_db(w, expected.dequantize()),
                                     abs=0.006)
        assert bpw == pytest.approx(ref.bits_per_element(reference, w.shape))
        results[name], bits[name] = sqnr, bpw
    # Four f32 scales a row of 120 weights.
    assert bits["ragged"] == pytest.approx(4 + 4 * 32 / 120)
    assert abs(results["ragged"] - results["dividing"]) <= 1.0, results
    assert results["ragged"] >= results["channel"] + 3.0, results


@pytest.mark.parametrize("clip", ["minmax", "percentile", "mse"])
def test_clipping_matches_reference(tmp_path, clip):
    """Heavy-tailed weights (Student t, 3 degrees of freedom), 4 bits in
    groups of 64: each clip method reports the reference's SQNR, and MSE
    clipping is never worse than min-max."""
    rng = np.random.default_rng(2)
    w = rng.standard_t(3, (64, 256)).astype(np.float32)
    options = (f"weight-bits=4 granularity=group group-size=64 clip={clip} "
               "percentile=99")
    _, _, sqnr, _ = quantize(tmp_path, linear_module(w, 1), options)
    scheme = ref.QuantScheme.parse("s4, f32, group<1, 64>")
    expected = ref.quantize_weight(w, scheme, clip=clip, percentile=99)
    assert sqnr == pytest.approx(ref.sqnr_db(w, expected.dequantize()),
                                 abs=0.006)
    minmax = ref.quantize_weight(w, scheme)
    if clip == "mse":
        assert sqnr >= ref.sqnr_db(w, minmax.dequantize()) - 0.006


_CASES = {
    # options: (weight scheme, activation scheme or None)
    "weight-bits=4 granularity=group group-size=32 scale-type=f16":
        ("s4, f16, group<1, 32>", None),
    "weight-bits=3 symmetric=false clip=mse":
        ("u3, f32, channel<0>, asymmetric", None),
    "weight-bits=ternary granularity=tensor scale-type=bf16":
        ("ternary, bf16", None),
    "weight-bits=binary":
        ("binary, f32, channel<0>", None),
    "weight-bits=8 activations=dynamic":
        ("s8, f32, channel<0>", "s8, f32, channel<0>"),
    "weight-bits=4 granularity=group group-size=32 activations=dynamic":
        ("s4, f32, group<1, 32>", "s8, f32, channel<0>"),
    # Groups that do not divide K = 96: a shorter last group (16 of 40), or
    # one group shorter than the group size.
    "weight-bits=4 granularity=group group-size=40 scale-type=f16":
        ("s4, f16, group<1, 40>", None),
    "weight-bits=3 granularity=group group-size=128":
        ("s3, f32, group<1, 128>", None),
    "weight-bits=binary granularity=group group-size=40":
        ("binary, f32, group<1, 40>", None),
    "weight-bits=4 symmetric=false granularity=group group-size=40 "
    "activations=dynamic":
        ("u4, f32, group<1, 40>, asymmetric", "s8, f32, channel<0>"),
}


@pytest.mark.parametrize("options", list(_CASES))
def test_compiled_layer_matches_reference(tmp_path, options):
    weight_text, activation_text = _CASES[options]
    rng = np.random.default_rng(3)
    n, k, m = 48, 96, 5
    w = (rng.standard_normal((n, k)) / 10).astype(np.float32)
    path, _, _, _ = quantize(tmp_path, linear_module(w, m), options)
    result = subprocess.run([str(COMPILE), str(path), "-o",
                             str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    model = runtime.load(tmp_path / "m.so")

    clip = re.search(r"clip=(\w+)", options)
    wq = ref.quantize_weight(w, ref.QuantScheme.parse(weight_text),
                             clip=clip.group(1) if clip else "minmax")
    x = rng.standard_normal((m, k)).astype(np.float32)
    (y,) = model(x)
    if activation_text is None:
        expected = ref.matmul(x, wq)
        bound = k * 2.0**-23 * (np.abs(x).astype(np.float64) @
                                np.abs(wq.dequantize()).astype(np.float64).T)
        assert np.all(np.abs(y - expected) <= bound + 1e-30)
    else:
        scheme = ref.QuantScheme.parse(activation_text)
        codes, scale, _ = ref.dynamic_quantize(x, scheme)
        xq = ref.Quantized(codes, scale, None, scheme)
        expected = ref.matmul(xq, wq, accumulator="i32")
        np.testing.assert_array_equal(y, expected)


@pytest.mark.parametrize("scale", [0.3, 1 / 127, 0.0371, 3.3, 2.0 ** -70])
def test_constant_scale_quantizes_exactly(tmp_path, scale):
    """A static per-tensor scale divides by its reciprocal with one fused
    correction (2^-70 is outside its range and divides): the codes of
    rounding f32(x) / f32(s) to nearest even, bit for bit, on the values
    that round to every half code of the range (ties), their neighbours
    one and two ulps away, saturating and special values, and random ones."""
    from lattice import tools

    s = np.float32(scale)
    halves = (np.arange(-300, 301, dtype=np.float64) + 0.5)
    ties = (halves * np.float64(s)).astype(np.float32)
    up1 = np.nextafter(ties, np.float32(np.inf))
    down1 = np.nextafter(ties, np.float32(-np.inf))
    values = [ties, up1, down1, np.nextafter(up1, np.float32(np.inf)),
              np.nextafter(down1, np.float32(-np.inf)),
              np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30,
                          1e-40, -1e-40]) * np.float32(1),
              (np.random.default_rng(1).standard_normal(4000) * 60 * s)
              .astype(np.float32)]
    x = np.concatenate(values).astype(np.float32)
    n = x.size
    t = f"tensor<{n}xf32>"
    q = f"tensor<{n}x!lattice.quant<s8, f32>>"
    source = tmp_path / "q.mlir"
    source.write_text(
        f"func.func @q(%x: {t}) -> {t} {{\n"
        f"  %s = arith.constant dense<{float(s)!r}> : tensor<f32>\n"
        f"  %q = lattice.quantize %x, %s : ({t}, tensor<f32>) -> {q}\n"
        f"  %y = lattice.dequantize %q, %s : ({q}, tensor<f32>) -> {t}\n"
        f"  return %y : {t}\n}}\n")
    model = tools.compile_model(source, tmp_path / "q")
    got = model(x)[0]
    scheme = ref.QuantScheme("s8")
    want = ref.dequantize(ref.quantize(x, s, None, scheme), s, None, scheme)
    np.testing.assert_array_equal(got, want)
