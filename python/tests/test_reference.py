"""Tests of lattice.reference against hand-computed values.

The same cases as the C++ unit tests (unittests/Dialect/Lattice), computed
by hand from the documented rules: two independent implementations that
agree on the numbers.
"""

import math

import numpy as np
import pytest

from lattice.reference import (QuantScheme, SchemeError, bits_per_element,
                               compute_params, dequantize, pack_codes,
                               quantize, round_to_integer, to_scale_type,
                               unpack_codes)

S8 = QuantScheme("s8")
U8A = QuantScheme("u8", symmetric=False)
S8A = QuantScheme("s8", symmetric=False)


@pytest.mark.parametrize("storage,qmin,qmax", [
    ("s8", -128, 127), ("u8", 0, 255), ("s4", -8, 7), ("u4", 0, 15),
    ("s3", -4, 3), ("s2", -2, 1), ("u1", 0, 1), ("ternary", -1, 1),
    ("binary", -1, 1),
])
def test_storage_ranges(storage, qmin, qmax):
    scheme = QuantScheme(storage)
    assert (scheme.qmin, scheme.qmax) == (qmin, qmax)


@pytest.mark.parametrize("kwargs,message", [
    ({"storage": "s9"}, "storage width must be in [1, 8], got 9"),
    ({"storage": "u0"}, "storage width must be in [1, 8], got 0"),
    ({"storage": "s1"}, "symmetric signed storage needs at least 2 bits"),
    ({"storage": "ternary", "symmetric": False},
     "ternary storage must be symmetric"),
    ({"storage": "s8", "scale_type": "f64"},
     "scale type must be f32, f16 or bf16"),
    ({"storage": "s8", "granularity": "channel", "axis": -1},
     "quantized axis must be non-negative, got -1"),
    ({"storage": "s4", "granularity": "group", "axis": 1},
     "group size must be positive, got 0"),
])
def test_invalid_schemes(kwargs, message):
    with pytest.raises(SchemeError, match=message.replace("[", r"\[")
                       .replace("]", r"\]")):
        QuantScheme(**kwargs)


def test_parse_type_text():
    scheme = QuantScheme.parse("!lattice.quant<u4, f16, group<1, 32>, "
                               "asymmetric>")
    assert scheme == QuantScheme("u4", "f16", "group", 1, 32, False)
    assert QuantScheme.parse("!lattice.quant<ternary, bf16>") == \
        QuantScheme("ternary", "bf16")
    assert scheme.scale_shape((64, 128)) == (64, 4)


def test_round_half_to_even():
    ties = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5], np.float32)
    assert round_to_integer(ties).tolist() == [0, 2, 2, 4, 0, -2, -2]
    assert round_to_integer(np.float32(4194304.5)) == 4194304
    assert round_to_integer(np.float32(8388607.5)) == 8388608
    away = round_to_integer(np.array([2.5, -2.5], np.float32), "nearest_away")
    assert away.tolist() == [3, -3]


def test_quantize_ties_and_saturation():
    x = np.array([1.25, 1.75, -1.25, 1000, -1000, np.inf, -np.inf, np.nan],
                 np.float32)
    assert quantize(x, 0.5, None, S8).tolist() == \
        [2, 4, -2, 127, -128, 127, -128, 0]
    assert quantize(np.float32(1.25), 0.5, None, S8,
                    "nearest_away").tolist() == 3


def test_zero_point_at_storage_limits():
    assert quantize(np.array([0, -255, -300, 1], np.float32), 1.0, 255,
                    U8A).tolist() == [255, 0, 0, 255]
    assert quantize(np.array([0, 255, -1], np.float32), 1.0, -128,
                    S8A).tolist() == [-128, 127, -128]
    assert quantize(np.float32(127.5), 1.0, 128, U8A) == 255
    assert quantize(np.float32(np.nan), 1.0, 37, U8A) == 37


def test_ternary_and_binary():
    ternary = QuantScheme("ternary")
    x = np.array([0.4, 0.5, 0.6, 1.5, -0.7], np.float32)
    assert quantize(x, 1.0, None, ternary).tolist() == [0, 0, 1, 1, -1]
    binary = QuantScheme("binary")
    x = np.array([0.0, -0.1, 3.0, np.nan], np.float32)
    assert quantize(x, 1.0, None, binary).tolist() == [1, -1, 1, 1]


def test_dequantize():
    assert dequantize(5, 0.25, 2, U8A) == np.float32(0.75)
    assert dequantize(0, 0.5, 255, U8A) == np.float32(-127.5)


def test_per_channel_and_group_blocks():
    channel = QuantScheme("s8", granularity="channel", axis=0)
    x = np.array([[1.0, 2.0], [1.0, 2.0]], np.float32)
    assert quantize(x, [1.0, 0.5], None, channel).tolist() == [[1, 2], [2, 4]]
    group = QuantScheme("s4", granularity="group", axis=1, group_size=2)
    x = np.array([[1, 1, 1, 1]], np.float32)
    assert quantize(x, [[1.0, 0.25]], None, group).tolist() == [[1, 1, 4, 4]]
    with pytest.raises(SchemeError, match="does not match"):
        quantize(x, [1.0], None, group)


def test_params():
    assert compute_params(S8, -1.0, 2.0) == \
        (float(np.float32(2 / 127)), 0, False)
    scale, zp, degenerate = compute_params(U8A, -1.0, 3.0)
    assert (scale, zp, degenerate) == (float(np.float32(4 / 255)), 64, False)
    assert compute_params(S8A, -1.0, 3.0)[1] == -64
    assert compute_params(U8A, 2.0, 5.0)[1] == 0
    for scheme in (S8, U8A, S8A):
        assert compute_params(scheme, 0.0, 0.0) == (1.0, 0, True)
    assert compute_params(S8, 0.0, 1e-40) == (1.0, 0, True)
    scale, zp, _ = compute_params(U8A, 3.0, 3.0)
    assert quantize(np.float32(3.0), scale, zp, U8A) == 255


def test_scale_rounds_to_scale_type():
    f16 = QuantScheme("s8", "f16")
    bf16 = QuantScheme("s8", "bf16")
    assert compute_params(f16, 0.0, 3.0)[0] == 1548 / 1024 / 64
    assert compute_params(bf16, 0.0, 3.0)[0] == 194 / 128 / 64
    assert to_scale_type(1.0, "bf16") == 1.0
    assert compute_params(QuantScheme("ternary"), -0.5, 2.0)[0] == 2.0
    assert compute_params(QuantScheme("u4"), -1.0, 3.0)[0] == \
        float(np.float32(0.2))


@pytest.mark.parametrize("lo,hi,message", [
    (math.nan, 1.0, "is not finite"),
    (-math.inf, 1.0, "is not finite"),
    (2.0, 1.0, r"is empty \(min > max\)"),
])
def test_bad_ranges(lo, hi, message):
    with pytest.raises(SchemeError, match=message):
        compute_params(S8, lo, hi)


def test_scale_overflow():
    with pytest.raises(SchemeError, match="overflows the scale type"):
        compute_params(QuantScheme("s8", "f16"), -1e7, 1e7)


@pytest.mark.parametrize("storage,codes,packed", [
    ("s4", [1, -1, 7, -8, 3], [0xF1, 0x87, 0x03]),
    ("u4", [15, 0, 9], [0x0F, 0x09]),
    ("s2", [1, -2, -1, 0, 1], [0x39, 0x01]),
    ("s3", [3, -4, -1], [0xE3, 0x01]),
    ("ternary", [-1, 0, 1], [0x13]),
    ("binary", [1, -1, -1, 1, 1, 1, -1, 1, 1], [0xB9, 0x01]),
    ("s8", [-128, 127, 0], [0x80, 0x7F, 0x00]),
    ("s8", [], []),
])
def test_packing(storage, codes, packed):
    scheme = QuantScheme(storage)
    assert pack_codes(codes, scheme) == bytes(packed)
    assert unpack_codes(bytes(packed), len(codes), scheme).tolist() == codes


def test_packing_errors():
    s4 = QuantScheme("s4")
    with pytest.raises(SchemeError, match="code 8 at index 1"):
        pack_codes([0, 8], s4)
    with pytest.raises(SchemeError, match="2 codes need 1 bytes, got 2"):
        unpack_codes(bytes([0x11, 0x01]), 2, s4)
    with pytest.raises(SchemeError, match="padding bits"):
        unpack_codes(bytes([0x11, 0x31]), 3, s4)
    with pytest.raises(SchemeError, match="0b10"):
        unpack_codes(bytes([0x02]), 1, QuantScheme("ternary"))


def test_bits_per_element():
    q40 = QuantScheme("s4", "f16", "group", 1, 32)
    assert bits_per_element(q40, (4096, 4096)) == 4.5
    asym = QuantScheme("u4", "f16", "group", 1, 32, False)
    assert bits_per_element(asym, (64, 64)) == 4.625
    channel = QuantScheme("s8", granularity="channel", axis=0)
    assert bits_per_element(channel, (4096, 4096)) == 8.0078125
    assert bits_per_element(S8, (2, 2)) == 16.0
    assert bits_per_element(QuantScheme("ternary", "bf16"), (16, 16)) == 2.0625
    # Groups of 32 over 48: two scales a row, the second for 16 elements.
    ragged = QuantScheme("s8", granularity="group", axis=1, group_size=32)
    assert ragged.scale_shape((4, 48)) == (4, 2)
    assert bits_per_element(ragged, (4, 48)) == (48 * 8 + 2 * 32) / 48


# The ops on tensors, against values worked out by hand.

from lattice import reference as ref  # noqa: E402


def test_dynamic_quantize_per_token():
    x = np.array([[1, -2, 0.5, 127], [np.nan, 0.5, -0.125, 0],
                  [0, 0, 0, 0], [np.inf, 1, -1, 0]], np.float32)
    codes, scale, zp = ref.dynamic_quantize(
        x, QuantScheme.parse("s8, f32, channel<0>"))
    np.testing.assert_array_equal(
        codes, [[1, -2, 0, 127], [0, 127, -32, 0], [0, 0, 0, 0],
                [127, 1, -1, 0]])
    np.testing.assert_array_equal(scale, np.float32([1, 0.5 / 127, 1, 1]))
    assert zp is None


def test_dynamic_quantize_asymmetric_and_groups():
    codes, scale, zp = ref.dynamic_quantize(
        np.float32([-1, 0, 3]), QuantScheme.parse("u8, f32, asymmetric"))
    np.testing.assert_array_equal(codes, [0, 64, 255])
    assert scale == np.float32(4 / 255) and zp == 64
    codes, scale, _ = ref.dynamic_quantize(
        np.float32([[1, -7, 0.5, -0.125]]),
        QuantScheme.parse("!lattice.quant<s4, f32, group<1, 2>>"))
    np.testing.assert_array_equal(codes, [[1, -7, 7, -2]])
    assert scale.shape == (1, 2)


def test_integer_matmul_runs_and_epilogue():
    # Two groups of 2 along K: sums 1*1 + 2*2 = 5 and 3*1 + 4*(-1) = -1,
    # scaled by s_lhs * s_rhs per group and added in f32.
    lhs = ref.Quantized(np.array([[1, 2, 3, 4]]), np.float32([0.5]), None,
                        QuantScheme.parse("s8, f32, channel<0>"))
    rhs = ref.Quantized(np.array([[1, 2, 1, -1]]), np.float32([[2, 0.25]]),
                        None, QuantScheme.parse("s4, f32, group<1, 2>"))
    y = ref.matmul(lhs, rhs, "i32")
    assert y.dtype == np.float32
    assert y[0, 0] == np.float32(5 * 0.5 * 2 + (-1) * 0.5 * 0.25)


def test_integer_matmul_zero_points_and_overflow():
    scheme = QuantScheme.parse("u8, f32, asymmetric")
    lhs = ref.Quantized(np.array([[255, 0]]), np.float32(1), np.int64(128),
                        scheme)
    rhs = ref.Quantized(np.array([[0, 255]]), np.float32(1), np.int64(128),
                        scheme)
    # (127)(-128) + (-128)(127)
    assert ref.matmul(lhs, rhs, "i32")[0, 0] == -2 * 127 * 128
    big = ref.Quantized(np.full((1, 2**18), 127), np.float32(1), None,
                        QuantScheme("s8"))
    with pytest.raises(SchemeError, match="overflows the i32 accumulator"):
        ref.matmul(big, big, "i32")
    assert ref.matmul(big, big, "i64")[0, 0] == np.float32(127 * 127 * 2**18)


def test_float_matmul_dequantizes_weights():
    w = ref.Quantized(np.array([[1, -2], [3, 4]]), np.float32([0.5, 2]), None,
                      QuantScheme.parse("s4, f32, channel<0>"))
    y = ref.matmul(np.float32([[2, 1]]), w)
    np.testing.assert_array_equal(y, [[2 * 0.5 - 1, 6 * 2 + 4 * 2]])


def test_requantize_and_fake_quant():
    q = ref.Quantized(np.array([3, -3, 100]), np.float32(0.5), None, S8)
    # 1.5 / 1 -> 2 (ties to even), -1.5 -> -2, 50 saturates at 7.
    np.testing.assert_array_equal(
        ref.requantize(q, np.float32(1), None, QuantScheme("s4")), [2, -2, 7])
    y = ref.fake_quant(np.float16([0.3, 9.0]), np.float32(0.25), None,
                       QuantScheme("s4"))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.float16([0.25, 1.75]))


def test_norms():
    x = np.float32([[3, 4], [0, 0]])
    np.testing.assert_allclose(ref.normalize(x, 1e-12), [[0.6, 0.8], [0, 0]])
    y = ref.rms_norm(np.float32([[1, -1]]), np.float32([2, 3]), 0.0)
    np.testing.assert_allclose(y, [[2, -3]])
    y = ref.layer_norm(np.float32([[1, 3]]), np.float32([1, 1]),
                       np.float32([0, 10]), 0.0)
    np.testing.assert_allclose(y, [[-1, 11]])
    np.testing.assert_array_equal(
        ref.channel_scale(np.ones((2, 3), np.float32), np.float32([1, 2, 3]),
                          1), [[1, 2, 3], [1, 2, 3]])


def test_observe_records_statistics():
    stats = {}
    x = np.float32([[1, -5], [2, 3]])
    assert ref.observe(x, stats, "x", channel_axis=1) is x
    assert stats["x"]["min"] == -5 and stats["x"]["max"] == 3
    np.testing.assert_array_equal(stats["x"]["absmax"], [2, 5])
