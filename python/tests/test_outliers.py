"""LLM.int8()'s outlier split (the llm-int8 recipe, lattice-split-outliers).

A linear layer whose input has two channels forty times larger than the
rest: per-token int8 activations spend their range on those two and round
the others to a few codes, while llm-int8 multiplies the two in float and
quantizes the rest. The compiled library must compute what that
decomposition computes (a numpy model of it), be far closer to the float
model than w8a8-dynamic, and report the channels it kept in float.
"""

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from lattice import compile as compile_model  # noqa: E402

K, N, TOKENS = 64, 32, 16
OUTLIERS = [5, 17]


def _model(path, weight):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")], "outliers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [TOKENS, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [TOKENS, N])],
        [numpy_helper.from_array(weight.T.copy(), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))


def _inputs(rng, count):
    x = rng.standard_normal((count, TOKENS, K)).astype(np.float32)
    x[:, :, OUTLIERS] *= 40
    return x


def _quantize_rows(a):
    """Symmetric int8 with one scale per row (absmax / 127), as the
    recipes quantize activations per token and weights per channel."""
    scale = np.abs(a).max(axis=-1, keepdims=True) / 127
    return np.clip(np.rint(a / scale), -127, 127), scale


def _decomposition(x, weight):
    """What llm-int8 computes: the outlier channels in float, the rest int8."""
    kept = np.ones(K, bool)
    kept[OUTLIERS] = False
    xq, xs = _quantize_rows(x * kept)
    wq, ws = _quantize_rows(weight * kept)
    return (xq @ wq.T) * xs * ws.T + x[:, OUTLIERS] @ weight[:, OUTLIERS].T


def test_llm_int8_keeps_outlier_channels_in_float(tmp_path):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((N, K)).astype(np.float32) * 0.1
    _model(tmp_path / "fc.onnx", weight)
    calib = {"x": _inputs(rng, 8)}
    models = {recipe: compile_model(tmp_path / "fc.onnx", recipe, calib=calib,
                                    output=tmp_path / recipe / "fc", quiet=True)
              for recipe in ("f32", "w8a8-dynamic", "llm-int8")}
    report = json.loads((tmp_path / "llm-int8" / "fc.work" / "report.json").read_text())
    assert [(layer["name"], layer["float_channels"]) for layer in report["layers"]] == [
        ("fc", len(OUTLIERS))]
    assert "float_channels" not in json.loads(
        (tmp_path / "w8a8-dynamic" / "fc.work" / "report.json").read_text())["layers"][0]

    errors = {recipe: [] for recipe in models}
    for x in _inputs(rng, 4):
        (exact,) = models["f32"](x)
        (split,) = models["llm-int8"](x)
        model = _decomposition(x.astype(np.float64), weight.astype(np.float64))
        # The library computes the decomposition (f32 sums against f64).
        np.testing.assert_allclose(split, model, rtol=0,
                                   atol=1e-5 * np.abs(model).max())
        for recipe, library in models.items():
            errors[recipe].append(np.linalg.norm(library(x)[0] - exact)
                                  / np.linalg.norm(exact))
    # Even after SmoothQuant (which w8a8-dynamic runs with calibration data),
    # quantizing the two large channels with the rest costs several times
    # the split's error (4.3x here; the weights' rounding is common to both).
    assert np.mean(errors["llm-int8"]) * 3 < np.mean(errors["w8a8-dynamic"]), errors


def test_recipe_file_sets_the_threshold(tmp_path):
    """outlier_threshold in a recipe file: the outlier channels (|x| up to
    ~160) above 50, about half the others (max |x| of 2 to 3.5 over the
    calibration samples) above 3; above 1, every channel, and the layer
    stays in float (it leaves the report). On w8a8-dynamic the split comes
    after SmoothQuant, whose factors have shrunk the outliers below 50."""
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((N, K)).astype(np.float32)
    _model(tmp_path / "fc.onnx", weight)
    calib = {"x": _inputs(rng, 8)}

    def float_channels(recipe, threshold):
        recipe_file = tmp_path / f"{recipe}-{threshold}.json"
        recipe_file.write_text(json.dumps({"recipe": recipe,
                                           "outlier_threshold": threshold}))
        output = tmp_path / f"{recipe}-{threshold}" / "fc"
        compile_model(tmp_path / "fc.onnx", recipe_file=recipe_file, calib=calib,
                      output=output, quiet=True)
        report = json.loads((output.parent / "fc.work" / "report.json").read_text())
        return [layer["float_channels"] for layer in report["layers"]]

    assert float_channels("llm-int8", 50) == [len(OUTLIERS)]
    (half,) = float_channels("llm-int8", 3)
    assert K // 4 < half < 3 * K // 4
    assert float_channels("llm-int8", 1) == []
    assert float_channels("w8a8-dynamic", 50) == [0]
