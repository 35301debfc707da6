"""Scalar bodies of elementwise ops, and their numpy forms for constant folding."""

import math

import numpy as np

from .emitter import _float_literal


def _f(*lines):
    """A body whose result is %r."""
    return list(lines), "%r"


_BINARY = {
    "Add": ("arith.addf", "arith.addi", np.add),
    "Sub": ("arith.subf", "arith.subi", np.subtract),
    "Mul": ("arith.mulf", "arith.muli", np.multiply),
    "Div": ("arith.divf", "arith.divsi", None),
    "Max": ("arith.maximumf", "arith.maxsi", np.maximum),
    "Min": ("arith.minimumf", "arith.minsi", np.minimum),
}

_COMPARE = {"Equal": ("oeq", "eq", np.equal), "Less": ("olt", "slt", np.less),
            "Greater": ("ogt", "sgt", np.greater),
            "LessOrEqual": ("ole", "sle", np.less_equal),
            "GreaterOrEqual": ("oge", "sge", np.greater_equal)}


def _unary_body(op, attrs):
    """(lines, result) of a float unary op on %x (the first arg), or None."""
    def c(name, value):
        return f"%{name} = arith.constant {_float_literal(value)} : f32"

    if op == "Relu":
        return [c("z", 0.0), "%r = arith.maximumf %x, %z : f32"]
    if op == "LeakyRelu":
        alpha = attrs.get("alpha", 0.01)
        return [c("z", 0.0), c("al", alpha), "%m = arith.mulf %x, %al : f32",
                "%p = arith.cmpf ogt, %x, %z : f32", "%r = arith.select %p, %x, %m : f32"]
    if op == "Sigmoid":
        return [c("one", 1.0), "%n = arith.negf %x : f32", "%e = math.exp %n : f32",
                "%d = arith.addf %one, %e : f32", "%r = arith.divf %one, %d : f32"]
    if op == "Tanh":
        return ["%r = math.tanh %x : f32"]
    if op == "Erf":
        return ["%r = math.erf %x : f32"]
    if op == "Gelu":
        if attrs.get("approximate", b"none") in (b"tanh", "tanh"):
            return [c("k", math.sqrt(2 / math.pi)), c("b", 0.044715), c("h", 0.5),
                    c("one", 1.0), "%x2 = arith.mulf %x, %x : f32",
                    "%x3 = arith.mulf %x2, %x : f32", "%t = arith.mulf %x3, %b : f32",
                    "%u = arith.addf %x, %t : f32", "%v = arith.mulf %u, %k : f32",
                    "%th = math.tanh %v : f32", "%s = arith.addf %th, %one : f32",
                    "%hx = arith.mulf %x, %h : f32", "%r = arith.mulf %hx, %s : f32"]
        return [c("k", 1 / math.sqrt(2)), c("h", 0.5), c("one", 1.0),
                "%u = arith.mulf %x, %k : f32", "%e = math.erf %u : f32",
                "%s = arith.addf %e, %one : f32", "%hx = arith.mulf %x, %h : f32",
                "%r = arith.mulf %hx, %s : f32"]
    if op == "HardSigmoid":
        alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
        return [c("al", alpha), c("be", beta), c("z", 0.0), c("one", 1.0),
                "%m = arith.mulf %x, %al : f32", "%s = arith.addf %m, %be : f32",
                "%lo = arith.maximumf %s, %z : f32", "%r = arith.minimumf %lo, %one : f32"]
    if op == "HardSwish":
        return [c("al", 1 / 6), c("be", 0.5), c("z", 0.0), c("one", 1.0),
                "%m = arith.mulf %x, %al : f32", "%s = arith.addf %m, %be : f32",
                "%lo = arith.maximumf %s, %z : f32", "%h = arith.minimumf %lo, %one : f32",
                "%r = arith.mulf %x, %h : f32"]
    if op == "Sqrt":
        return ["%r = math.sqrt %x : f32"]
    if op == "Exp":
        return ["%r = math.exp %x : f32"]
    if op == "Log":
        return ["%r = math.log %x : f32"]
    if op == "Neg":
        return ["%r = arith.negf %x : f32"]
    if op == "Abs":
        return ["%r = math.absf %x : f32"]
    if op == "Reciprocal":
        return [c("one", 1.0), "%r = arith.divf %one, %x : f32"]
    if op == "Softplus":
        return [c("one", 1.0), "%e = math.exp %x : f32", "%s = arith.addf %e, %one : f32",
                "%r = math.log %s : f32"]
    if op in _MATH_UNARY:
        return [f"%r = math.{_MATH_UNARY[op]} %x : f32"]
    if op == "Sign":
        return [c("z", 0.0), c("one", 1.0), c("mone", -1.0),
                "%p = arith.cmpf ogt, %x, %z : f32", "%n = arith.cmpf olt, %x, %z : f32",
                "%s = arith.select %n, %mone, %x : f32",
                "%r = arith.select %p, %one, %s : f32"]
    if op == "Softsign":
        return [c("one", 1.0), "%a = math.absf %x : f32", "%d = arith.addf %a, %one : f32",
                "%r = arith.divf %x, %d : f32"]
    if op in ("Elu", "Selu", "Celu"):
        # x > 0 ? gamma x : gamma alpha (exp(x / scale) - 1)
        alpha = attrs.get("alpha", {"Elu": 1.0, "Selu": _SELU_ALPHA, "Celu": 1.0}[op])
        gamma = attrs.get("gamma", _SELU_GAMMA) if op == "Selu" else 1.0
        scale = alpha if op == "Celu" else 1.0
        return [c("z", 0.0), c("one", 1.0), c("al", alpha * gamma), c("ga", gamma),
                c("sc", 1.0 / scale), "%u = arith.mulf %x, %sc : f32",
                "%e = math.expm1 %u : f32", "%n = arith.mulf %e, %al : f32",
                "%g = arith.mulf %x, %ga : f32", "%p = arith.cmpf ogt, %x, %z : f32",
                "%r = arith.select %p, %g, %n : f32"]
    if op == "ThresholdedRelu":
        return [c("z", 0.0), c("al", attrs.get("alpha", 1.0)),
                "%p = arith.cmpf ogt, %x, %al : f32", "%r = arith.select %p, %x, %z : f32"]
    if op == "Mish":
        return [c("one", 1.0), "%e = math.exp %x : f32", "%s = arith.addf %e, %one : f32",
                "%l = math.log %s : f32", "%t = math.tanh %l : f32",
                "%r = arith.mulf %x, %t : f32"]
    return None


# ONNX unary ops that are one op of MLIR's math dialect (expanded into
# polynomials or other math ops before LLVM: lattice-expand-math).
_MATH_UNARY = {"Sin": "sin", "Cos": "cos", "Tan": "tan", "Asin": "asin", "Acos": "acos",
               "Atan": "atan", "Sinh": "sinh", "Cosh": "cosh", "Asinh": "asinh",
               "Acosh": "acosh", "Atanh": "atanh", "Ceil": "ceil", "Floor": "floor",
               "Round": "roundeven"}
_SELU_ALPHA, _SELU_GAMMA = 1.67326319217681884765625, 1.05070102214813232421875


def _numpy_unary(op, attrs, x):
    x = x.astype(np.float64)
    if op == "Relu":
        return np.maximum(x, 0)
    if op == "LeakyRelu":
        return np.where(x > 0, x, x * attrs.get("alpha", 0.01))
    if op == "Sigmoid":
        return 1 / (1 + np.exp(-x))
    if op == "Tanh":
        return np.tanh(x)
    if op == "Sqrt":
        return np.sqrt(x)
    if op == "Exp":
        return np.exp(x)
    if op == "Log":
        return np.log(x)
    if op == "Neg":
        return -x
    if op == "Abs":
        return np.abs(x)
    if op == "Reciprocal":
        return 1 / x
    if op == "Erf":
        return np.vectorize(math.erf)(x)
    if op == "HardSigmoid":
        return np.clip(x * attrs.get("alpha", 0.2) + attrs.get("beta", 0.5), 0, 1)
    if op == "HardSwish":
        return x * np.clip(x / 6 + 0.5, 0, 1)
    if op == "Softplus":
        return np.log1p(np.exp(x))
    if op == "Gelu":
        return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    if op in _MATH_UNARY:
        name = {"Asin": "arcsin", "Acos": "arccos", "Atan": "arctan", "Asinh": "arcsinh",
                "Acosh": "arccosh", "Atanh": "arctanh", "Round": "rint"}.get(
                    op, _MATH_UNARY[op])
        return getattr(np, name)(x)
    if op == "Sign":
        return np.sign(x)
    if op == "Softsign":
        return x / (1 + np.abs(x))
    if op in ("Elu", "Selu", "Celu"):
        alpha = attrs.get("alpha", {"Elu": 1.0, "Selu": _SELU_ALPHA, "Celu": 1.0}[op])
        gamma = attrs.get("gamma", _SELU_GAMMA) if op == "Selu" else 1.0
        scale = alpha if op == "Celu" else 1.0
        return np.where(x > 0, gamma * x, gamma * alpha * np.expm1(x / scale))
    if op == "ThresholdedRelu":
        return np.where(x > attrs.get("alpha", 1.0), x, 0)
    if op == "Mish":
        return x * np.tanh(np.log1p(np.exp(x)))
    return None
