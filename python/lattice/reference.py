"""Numpy reference for the numerics of the `lattice` dialect.

Written from the semantics in docs/Dialects/Lattice.md, not from the C++:
storage ranges, round-half-to-even quantization with saturation, min-max
scale and zero-point computation, the reference bit packing of sub-byte
codes, and storage cost. Quantization arithmetic is done in float32, as the
ops specify; statistics in float64.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

_SCALE_DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": None}
_FLT_MIN = float(np.finfo(np.float32).tiny)


class SchemeError(ValueError):
    """A scheme, range or code that the dialect rejects."""


@dataclasses.dataclass(frozen=True)
class QuantScheme:
    """The content of a `!lattice.quant<...>` type."""

    storage: str  # "sN", "uN", "ternary" or "binary"
    scale_type: str = "f32"  # "f32", "f16" or "bf16"
    granularity: str = "tensor"  # "tensor", "channel" or "group"
    axis: int = 0
    group_size: int = 0
    symmetric: bool = True

    def __post_init__(self):
        kind, bits = self.kind, self.bits
        if kind in "su" and not 1 <= bits <= 8:
            raise SchemeError(f"storage width must be in [1, 8], got {bits}")
        if kind == "s" and bits == 1 and self.symmetric:
            raise SchemeError("symmetric signed storage needs at least 2 bits")
        if kind in ("ternary", "binary") and not self.symmetric:
            raise SchemeError(f"{kind} storage must be symmetric")
        if self.scale_type not in _SCALE_DTYPES:
            raise SchemeError("scale type must be f32, f16 or bf16")
        if self.granularity != "tensor" and self.axis < 0:
            raise SchemeError(
                f"quantized axis must be non-negative, got {self.axis}")
        if self.granularity == "group" and self.group_size < 1:
            raise SchemeError(
                f"group size must be positive, got {self.group_size}")

    @staticmethod
    def parse(text: str) -> "QuantScheme":
        """Parses `!lattice.quant<...>` (or its body)."""
        body = text.strip()
        wrapped = re.fullmatch(r"!lattice\.quant<(.*)>", body)
        if wrapped:
            body = wrapped.group(1)
        parts = [p.strip() for p in re.split(r",(?![^<]*>)", body)]
        kwargs = {"storage": parts[0], "scale_type": parts[1]}
        for part in parts[2:]:
            match = re.fullmatch(r"(channel|group)<\s*(-?\d+)\s*(?:,\s*(\d+))?>",
                                 part)
            if match:
                kwargs["granularity"] = match.group(1)
                kwargs["axis"] = int(match.group(2))
                kwargs["group_size"] = int(match.group(3) or 0)
            elif part in ("symmetric", "asymmetric"):
                kwargs["symmetric"] = part == "symmetric"
            else:
                raise SchemeError(f"unknown scheme part '{part}'")
        return QuantScheme(**kwargs)

    @property
    def kind(self) -> str:
        return self.storage if self.storage in ("ternary", "binary") \
            else self.storage[0]

    @property
    def bits(self) -> int:
        if self.storage == "ternary":
            return 2
        if self.storage == "binary":
            return 1
        return int(self.storage[1:])

    @property
    def qmin(self) -> int:
        if self.kind == "s":
            return -(1 << (self.bits - 1))
        return 0 if self.kind == "u" else -1

    @property
    def qmax(self) -> int:
        if self.kind == "s":
            return (1 << (self.bits - 1)) - 1
        return (1 << self.bits) - 1 if self.kind == "u" else 1

    @property
    def scale_bits(self) -> int:
        return 32 if self.scale_type == "f32" else 16

    def scale_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the scale tensor for a tensor of `shape`."""
        if self.granularity == "tensor":
            return ()
        if self.axis >= len(shape):
            raise SchemeError(f"quantized axis {self.axis} is out of range "
                              f"for rank {len(shape)}")
        if self.granularity == "channel":
            return (shape[self.axis],)
        # A group size that does not divide the axis leaves a shorter last
        # group.
        out = list(shape)
        out[self.axis] = -(-out[self.axis] // self.group_size)
        return tuple(out)

    def broadcast(self, params: np.ndarray, shape: tuple[int, ...]):
        """Expands a scale or zero-point tensor to one value per element."""
        params = np.asarray(params)
        expected = self.scale_shape(shape)
        if params.shape != expected:
            raise SchemeError(f"parameter shape {params.shape} does not match "
                              f"{expected} implied by the scheme")
        if self.granularity == "tensor":
            return np.broadcast_to(params, shape)
        if self.granularity == "channel":
            view = [1] * len(shape)
            view[self.axis] = shape[self.axis]
            return np.broadcast_to(params.reshape(view), shape)
        return np.take(np.repeat(params, self.group_size, axis=self.axis),
                       np.arange(shape[self.axis]), axis=self.axis)


def to_scale_type(value, scale_type: str) -> np.ndarray:
    """Rounds to the scale type (ties to even), returned as float64."""
    value = np.asarray(value, dtype=np.float64)
    if scale_type == "f32":
        return value.astype(np.float32).astype(np.float64)
    if scale_type == "f16":
        return value.astype(np.float16).astype(np.float64)
    # bf16: 8 significant bits and f32's exponent range (subnormals down to
    # 2^-133), rounded once from float64, ties to even.
    _, exponent = np.frexp(value)
    quantum = np.exp2(np.maximum(exponent - 8, -133).astype(np.float64))
    rounded = np.rint(value / quantum) * quantum
    return np.where(np.abs(rounded) > 3.3895313892515355e38,
                    np.copysign(np.inf, value), rounded)


def round_to_integer(x: np.ndarray, rounding: str = "nearest_even"):
    """Rounds float32 values: ties to even, or away from zero."""
    x = np.asarray(x, dtype=np.float32)
    if rounding == "nearest_even":
        return np.rint(x)
    if rounding == "nearest_away":
        # |x| + 0.5 is exact for |x| < 2^23; larger floats are integral.
        return np.where(np.abs(x) >= np.float32(2**23), x,
                        np.copysign(np.floor(np.abs(x) + np.float32(0.5)), x))
    raise SchemeError(f"unknown rounding mode '{rounding}'")


def quantize(x, scale, zero_point, scheme: QuantScheme,
             rounding: str = "nearest_even") -> np.ndarray:
    """`lattice.quantize`: clamp(round(f32(x) / f32(s)) + z, qmin, qmax)."""
    x = np.asarray(x, dtype=np.float32)
    s = scheme.broadcast(np.asarray(scale, dtype=np.float32), x.shape)
    z = np.zeros(x.shape, np.int64) if zero_point is None else \
        scheme.broadcast(np.asarray(zero_point, dtype=np.int64), x.shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = x / s
    if scheme.kind == "binary":
        return np.where(scaled < 0, -1, 1).astype(np.int64)
    rounded = round_to_integer(scaled, rounding).astype(np.float64) + z
    codes = np.clip(rounded, scheme.qmin, scheme.qmax)
    codes = np.where(np.isnan(scaled), np.clip(z, scheme.qmin, scheme.qmax),
                     codes)
    return codes.astype(np.int64)


def dequantize(q, scale, zero_point, scheme: QuantScheme) -> np.ndarray:
    """`lattice.dequantize`: f32(q - z) * f32(s)."""
    q = np.asarray(q, dtype=np.int64)
    s = scheme.broadcast(np.asarray(scale, dtype=np.float32), q.shape)
    z = 0 if zero_point is None else \
        scheme.broadcast(np.asarray(zero_point, dtype=np.int64), q.shape)
    return (q - z).astype(np.float32) * s


def compute_params(scheme: QuantScheme, min_value: float, max_value: float):
    """Min-max scale and zero point: returns (scale, zero_point, degenerate).

    The range is widened to contain 0. A zero or subnormal range gives the
    fallback (1.0, 0, True).
    """
    if not (math.isfinite(min_value) and math.isfinite(max_value)):
        raise SchemeError(f"range [{min_value}, {max_value}] is not finite")
    if min_value > max_value:
        raise SchemeError(
            f"range [{min_value}, {max_value}] is empty (min > max)")
    lo, hi = min(min_value, 0.0), max(max_value, 0.0)
    if not scheme.symmetric:
        scale = (hi - lo) / (scheme.qmax - scheme.qmin)
    elif scheme.kind == "u":
        scale = hi / scheme.qmax
    else:
        scale = max(-lo, hi) / scheme.qmax
    with np.errstate(over="ignore"):
        rounded = float(to_scale_type(scale, scheme.scale_type))
    if math.isinf(rounded):
        raise SchemeError(f"scale {scale} overflows the scale type")
    if not rounded >= _FLT_MIN:
        return 1.0, 0, True
    zero_point = 0
    if not scheme.symmetric:
        zp = float(np.rint(np.float32(scheme.qmin - lo / rounded)))
        zero_point = int(min(max(zp, scheme.qmin), scheme.qmax))
    return rounded, zero_point, False


def pack_codes(codes, scheme: QuantScheme) -> bytes:
    """Reference packing: code i at bits [i*b, (i+1)*b), LSB first, last byte
    zero-padded; b low bits in two's complement (binary: 1 is +1)."""
    codes = [int(c) for c in np.asarray(codes).ravel()]
    width = scheme.bits
    out = bytearray((len(codes) * width + 7) // 8)
    for index, code in enumerate(codes):
        bad = not scheme.qmin <= code <= scheme.qmax or \
            (scheme.kind == "binary" and code == 0)
        if bad:
            raise SchemeError(f"code {code} at index {index} is outside the "
                              "storage range")
        raw = int(code > 0) if scheme.kind == "binary" \
            else code & ((1 << width) - 1)
        offset = index * width
        value = raw << (offset % 8)
        out[offset // 8] |= value & 0xFF
        if offset % 8 + width > 8:
            out[offset // 8 + 1] |= value >> 8
    return bytes(out)


def unpack_codes(data: bytes, count: int, scheme: QuantScheme) -> np.ndarray:
    """Inverse of pack_codes."""
    width = scheme.bits
    if len(data) != (count * width + 7) // 8:
        raise SchemeError(f"{count} codes need {(count * width + 7) // 8} "
                          f"bytes, got {len(data)}")
    stream = int.from_bytes(data, "little")
    codes = []
    for index in range(count):
        raw = (stream >> (index * width)) & ((1 << width) - 1)
        if scheme.kind == "binary":
            codes.append(1 if raw else -1)
        elif scheme.kind == "u":
            codes.append(raw)
        else:
            if scheme.kind == "ternary" and raw == 0b10:
                raise SchemeError(
                    f"invalid ternary bit pattern 0b10 at index {index}")
            codes.append(raw - (1 << width) if raw >> (width - 1) else raw)
    if stream >> (count * width):
        raise SchemeError("padding bits of the last byte are not zero")
    return np.array(codes, dtype=np.int64)


def bits_per_element(scheme: QuantScheme, shape: tuple[int, ...]) -> float:
    """Effective bits per weight: codes, scales and (asymmetric) zero points
    stored at the code width."""
    count = math.prod(shape)
    if count <= 0:
        raise SchemeError(f"shape {list(shape)} must be static and non-empty")
    scales = math.prod(scheme.scale_shape(shape))
    per_scale = scheme.scale_bits + (0 if scheme.symmetric else scheme.bits)
    return (count * scheme.bits + scales * per_scale) / count


# ---------------------------------------------------------------------------
# Ops on tensors. Each follows the pseudo-code of the op's documentation.
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Quantized:
    """A quantized tensor: integer codes with the parameters of its scheme."""

    codes: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray | None
    scheme: QuantScheme

    def dequantize(self) -> np.ndarray:
        return dequantize(self.codes, self.scale, self.zero_point, self.scheme)


def quantize_weight(w, scheme: QuantScheme, clip: str = "minmax",
                    percentile: float = 99.9) -> Quantized:
    """Round-to-nearest weight quantization, as `lattice-quantize` does it.

    Per block of `scheme` (the whole tensor, a channel or a group): ternary
    and binary codes take the absmean scale; integer codes take the min-max
    parameters of the block's range, clipped by `clip`: "minmax", or
    "percentile" (the `percentile`-th percentile of |w|, or the two tails
    for asymmetric schemes, linearly interpolated), or "mse" (the range
    scaled by 1, 0.99, ..., 0.50, whichever gives the least squared error).
    """
    w = np.asarray(w, dtype=np.float32)
    blocks = _blocks(w, scheme).astype(np.float64)
    flat = blocks.reshape(-1, blocks.shape[-1])
    # The elements of each block (a shorter last group is padded in `flat`).
    valid = ~np.isnan(_blocks(np.ones(w.shape, np.float32), scheme))
    valid = valid.reshape(flat.shape)
    scales, zero_points = [], []

    def error(block, scale, zero_point):
        z = None if scheme.symmetric else np.asarray(zero_point)
        one = QuantScheme(scheme.storage, scheme.scale_type, "tensor", 0, 0,
                          scheme.symmetric)
        codes = quantize(block, np.float32(scale), z, one)
        diff = block - dequantize(codes, np.float32(scale), z, one)
        return float(np.sum(diff.astype(np.float64) ** 2))

    for block, elements in zip(flat, valid):
        block = block[elements]
        lo, hi = float(block.min()), float(block.max())
        if scheme.kind in ("ternary", "binary"):
            m = float(np.mean(np.abs(block)))
            params = compute_params(scheme, -m, m)
        elif clip == "minmax":
            params = compute_params(scheme, lo, hi)
        elif clip == "percentile":
            q = percentile / 100
            if scheme.symmetric:
                m = float(np.quantile(np.abs(block), q))
                params = compute_params(scheme, max(lo, -m), min(hi, m))
            else:
                params = compute_params(scheme,
                                        float(np.quantile(block, 1 - q)),
                                        float(np.quantile(block, q)))
        elif clip == "mse":
            params = compute_params(scheme, lo, hi)
            best = error(block, params[0], params[1])
            for step in range(1, 51):
                factor = 1.0 - 0.01 * step
                candidate = compute_params(scheme, lo * factor, hi * factor)
                e = error(block, candidate[0], candidate[1])
                if e < best:
                    best, params = e, candidate
        else:
            raise SchemeError(f"unknown clip method '{clip}'")
        scales.append(params[0])
        zero_points.append(params[1])
    shape = scheme.scale_shape(w.shape)
    scale = np.asarray(scales).reshape(shape).astype(
        _SCALE_DTYPES[scheme.scale_type] if scheme.scale_type != "bf16"
        else np.float32)
    zero_point = None if scheme.symmetric else \
        np.asarray(zero_points, dtype=np.int64).reshape(shape)
    codes = quantize(w, scale, zero_point, scheme)
    return Quantized(codes, scale, zero_point, scheme)


def sqnr_db(signal, approximation) -> float:
    """10 log10(sum(x^2) / sum((x - y)^2)) in float64."""
    x = np.asarray(signal, dtype=np.float64)
    noise = np.sum((x - np.asarray(approximation, dtype=np.float64)) ** 2)
    return float("inf") if noise == 0 else \
        float(10 * np.log10(np.sum(x ** 2) / noise))


def requantize(q: Quantized, scale, zero_point, scheme: QuantScheme,
               rounding: str = "nearest_even") -> np.ndarray:
    """`lattice.requantize`: quantize(dequantize(q)) in f32."""
    return quantize(q.dequantize(), scale, zero_point, scheme, rounding)


def fake_quant(x, scale, zero_point, scheme: QuantScheme,
               rounding: str = "nearest_even") -> np.ndarray:
    """`lattice.fake_quant`: dequantize(quantize(x)), in x's type."""
    x = np.asarray(x)
    codes = quantize(x, scale, zero_point, scheme, rounding)
    return dequantize(codes, scale, zero_point, scheme).astype(x.dtype)


def _blocks(x: np.ndarray, scheme: QuantScheme) -> np.ndarray:
    """`x` viewed as [scale shape..., elements of one block]; a shorter
    last group is padded with NaN."""
    if scheme.granularity == "tensor":
        return x.reshape(-1)
    if scheme.granularity == "channel":
        return np.moveaxis(x, scheme.axis, 0).reshape(x.shape[scheme.axis], -1)
    shape = scheme.scale_shape(x.shape)
    padding = [(0, 0)] * x.ndim
    padding[scheme.axis] = (0, shape[scheme.axis] * scheme.group_size -
                            x.shape[scheme.axis])
    x = np.pad(x, padding, constant_values=np.nan)
    split = shape[:scheme.axis + 1] + (scheme.group_size,) + \
        shape[scheme.axis + 1:]
    return np.moveaxis(x.reshape(split), scheme.axis + 1, -1)


def dynamic_quantize(x, scheme: QuantScheme, rounding: str = "nearest_even"):
    """`lattice.dynamic_quantize`: returns (codes, scale, zero point or None)
    with the scale as float32 values of the scale type."""
    x = np.asarray(x, dtype=np.float32)
    blocks = _blocks(x, scheme)
    f32 = np.float32
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        # The range starts at [0, 0]; NaN elements are skipped.
        lo = np.fmin(np.min(np.where(np.isnan(blocks), 0, blocks), axis=-1),
                     f32(0)).astype(f32)
        hi = np.fmax(np.max(np.where(np.isnan(blocks), 0, blocks), axis=-1),
                     f32(0)).astype(f32)
        if not scheme.symmetric:
            raw = (hi - lo) / f32(scheme.qmax - scheme.qmin)
        elif scheme.kind == "u":
            raw = hi / f32(scheme.qmax)
        else:
            raw = np.maximum(-lo, hi) / f32(scheme.qmax)
        raw = np.asarray(raw, dtype=f32)
        scale = to_scale_type(raw, scheme.scale_type).astype(f32)
        usable = (scale >= f32(_FLT_MIN)) & (scale < f32(np.inf))
        scale = np.where(usable, scale, f32(1)).astype(f32)
        zero_point = None
        if not scheme.symmetric:
            zp = np.rint(f32(scheme.qmin) - lo / scale)
            zp = np.clip(zp, scheme.qmin, scheme.qmax)
            zero_point = np.where(usable, zp, 0).astype(np.int64)
    scale = np.asarray(scale).reshape(scheme.scale_shape(x.shape))
    if zero_point is not None:
        zero_point = np.asarray(zero_point).reshape(scale.shape)
    codes = quantize(x, scale, zero_point, scheme, rounding)
    return codes, scale, zero_point


def _dequantize_operand(operand) -> np.ndarray:
    if isinstance(operand, Quantized):
        return operand.dequantize()
    return np.asarray(operand).astype(np.float32)


def matmul(lhs, rhs, accumulator: str = "f32",
           result_dtype=np.float32) -> np.ndarray:
    """`lattice.matmul`: lhs [..., K] times rhs [N, K] transposed.

    Operands are float arrays or `Quantized`. With two quantized operands
    (the integer path) the sums of each run of K sharing one pair of scales
    are exact integers, checked against the accumulator's range, and the
    epilogue `f32(sum) * s_lhs * s_rhs` is summed over the runs in f32, in
    order. The float path dequantizes in f32 and sums in float64: compiled
    code sums in f32 in another order, so compare it with a tolerance.
    """
    if isinstance(lhs, Quantized) and isinstance(rhs, Quantized):
        result = _integer_matmul(lhs, rhs, accumulator)
    else:
        a = _dequantize_operand(lhs).astype(np.float64)
        w = _dequantize_operand(rhs).astype(np.float64)
        result = a @ w.T
    return result.astype(result_dtype)


def _run_length(scheme: QuantScheme, rank: int, k: int) -> int:
    grouped = scheme.granularity == "group" and scheme.axis == rank - 1
    return scheme.group_size if grouped else k


def _integer_matmul(lhs: Quantized, rhs: Quantized, accumulator: str):
    if accumulator not in ("i32", "i64"):
        raise SchemeError("the integer path accumulates in i32 or i64")
    qa, qw = np.asarray(lhs.codes, np.int64), np.asarray(rhs.codes, np.int64)
    k = qa.shape[-1]
    if qw.ndim != 2 or qw.shape[1] != k:
        raise SchemeError(f"rhs shape {qw.shape} does not match K = {k}")
    run = min(_run_length(lhs.scheme, qa.ndim, k),
              _run_length(rhs.scheme, 2, k))
    za = 0 if lhs.zero_point is None else \
        lhs.scheme.broadcast(np.asarray(lhs.zero_point, np.int64), qa.shape)
    zw = 0 if rhs.zero_point is None else \
        rhs.scheme.broadcast(np.asarray(rhs.zero_point, np.int64), qw.shape)
    # Every element's scale; a run shares one, read at its first element.
    sa = lhs.scheme.broadcast(np.asarray(lhs.scale, np.float32), qa.shape)
    sw = rhs.scheme.broadcast(np.asarray(rhs.scale, np.float32), qw.shape)
    a, w = qa - za, qw - zw
    limit = 2**31 - 1 if accumulator == "i32" else 2**63 - 1
    result = np.zeros(qa.shape[:-1] + (qw.shape[0],), np.float32)
    for start in range(0, k, run):
        window = slice(start, start + run)
        sums = a[..., window] @ w[:, window].T
        if np.abs(sums).max(initial=0) > limit:
            raise SchemeError(f"a run sum overflows the {accumulator} "
                              "accumulator")
        term = sums.astype(np.float32) * sa[..., start, None] * \
            sw[:, start]
        result = (result + term).astype(np.float32)
    return result


def channel_scale(x, scale, axis: int) -> np.ndarray:
    """`lattice.channel_scale`: y[i] = x[i] * s[i[axis]]."""
    x = np.asarray(x)
    view = [1] * x.ndim
    view[axis] = x.shape[axis]
    return (x * np.asarray(scale, x.dtype).reshape(view)).astype(x.dtype)


def rms_norm(x, weight, epsilon: float) -> np.ndarray:
    """`lattice.rms_norm` over the last dimension (float64 inside)."""
    x = np.asarray(x)
    v = x.astype(np.float64)
    ms = np.mean(v * v, axis=-1, keepdims=True)
    y = v / np.sqrt(ms + np.float64(np.float32(epsilon))) * \
        np.asarray(weight, np.float64)
    return y.astype(x.dtype)


def layer_norm(x, weight, bias, epsilon: float) -> np.ndarray:
    """`lattice.layer_norm` over the last dimension (population variance)."""
    x = np.asarray(x)
    v = x.astype(np.float64)
    mu = np.mean(v, axis=-1, keepdims=True)
    var = np.mean((v - mu) ** 2, axis=-1, keepdims=True)
    y = (v - mu) / np.sqrt(var + np.float64(np.float32(epsilon))) * \
        np.asarray(weight, np.float64)
    if bias is not None:
        y = y + np.asarray(bias, np.float64)
    return y.astype(x.dtype)


def normalize(x, epsilon: float) -> np.ndarray:
    """`lattice.normalize`: rows divided by max(L2 norm, epsilon)."""
    x = np.asarray(x)
    v = x.astype(np.float64)
    norm = np.sqrt(np.sum(v * v, axis=-1, keepdims=True))
    return (v / np.maximum(norm, np.float64(np.float32(epsilon)))).astype(
        x.dtype)


def observe(x, stats: dict | None = None, name: str = "",
            channel_axis: int | None = None) -> np.ndarray:
    """`lattice.observe`: returns x; records min, max (and per-channel
    absolute maxima) into `stats[name]` when a dict is given."""
    x = np.asarray(x)
    if stats is not None:
        v = x.astype(np.float64)
        entry = {"min": float(np.nanmin(v)), "max": float(np.nanmax(v))}
        if channel_axis is not None:
            entry["absmax"] = np.nanmax(
                np.abs(np.moveaxis(v, channel_axis, 0)).reshape(
                    x.shape[channel_axis], -1), axis=1)
        stats[name] = entry
    return x
