"""Mixed precision end to end: lattice-compile measures each layer's
candidate schemes on calibration data, lattice-assign-precision chooses
under the budget, lattice-quantize applies the choice.
(The solvers against brute force: unittests/Quant/PrecisionAssignmentTest;
the pass and its errors: test/Dialect/Lattice/assign-precision*.mlir.)"""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

from lattice import runtime, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")

WIDTH, CLASSES, ROWS = 64, 16, 8


def _model(tmp_path, planted):
    """Three layers (64 -> 64 -> 64 -> 16) on weights from a safetensors
    file. With `planted`, every group of 32 weights of the middle layer
    starts with one 20 times the others', on an input that the first layer
    leaves at zero: it adds nothing to the output, but 2, 3 or 4 bits per
    group then round the weights that matter to zero or to one step, where
    8 bits per channel keep them."""
    rng = np.random.default_rng(3)
    weights = {name: (rng.standard_normal(shape) / np.sqrt(WIDTH)).astype(np.float32)
               for name, shape in (("l1", (WIDTH, WIDTH)), ("l2", (WIDTH, WIDTH)),
                                   ("l3", (CLASSES, WIDTH)))}
    if planted:
        weights["l1"][::32] = 0
        weights["l2"][:, ::32] = 20 * np.abs(weights["l2"]).max()
    safetensors.save(tmp_path / "w.safetensors", weights)
    body = [f"func.func @main(%x: tensor<{ROWS}x{WIDTH}xf32>) -> tensor<{ROWS}x{CLASSES}xf32> {{"]
    value = "%x"
    for i, (name, w) in enumerate(weights.items()):
        n, k = w.shape
        body.append(f'  %w{i} = lattice.weight "{name}" from "w.safetensors" : '
                    f"tensor<{n}x{k}xf32>")
        body.append(f"  %y{i} = lattice.matmul {value}, %w{i} accumulate(f32) : "
                    f"(tensor<{ROWS}x{k}xf32>, tensor<{n}x{k}xf32>) -> tensor<{ROWS}x{n}xf32>")
        value = f"%y{i}"
    body += [f"  return {value} : tensor<{ROWS}x{CLASSES}xf32>", "}"]
    (tmp_path / "m.mlir").write_text("\n".join(body) + "\n")
    np.savez(tmp_path / "calib.npz",
             input0=rng.standard_normal((16, ROWS, WIDTH)).astype(np.float32))
    return weights


def _compile(tmp_path, name, recipe_file):
    (tmp_path / f"{name}.json").write_text(json.dumps(recipe_file))
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "--recipe-file", str(tmp_path / f"{name}.json"),
         "--calib", str(tmp_path / "calib.npz"), "-o", str(tmp_path / name)],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads((tmp_path / f"{name}.work" / "precision.json").read_text())


def _compile_error(tmp_path, recipe_file):
    """Compiles m.mlir with the recipe file `recipe_file`, which must fail;
    returns the compiler's messages."""
    (tmp_path / "r.json").write_text(json.dumps(recipe_file))
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "--recipe-file", str(tmp_path / "r.json"),
         "--calib", str(tmp_path / "calib.npz"), "-o", str(tmp_path / "m")],
        capture_output=True, text=True)
    assert result.returncode != 0
    return result.stderr


def _bits(report):
    return {layer["name"]: layer["bits_per_weight"] for layer in report["layers"]}


def test_planted_sensitive_layer_gets_more_bits(tmp_path):
    weights = _model(tmp_path, planted=True)
    report = _compile(tmp_path, "planted", {"recipe": "mixed", "budget": 6.0})
    bits = _bits(report)
    assert report["bits_per_weight"] <= 6.0
    assert bits["l2"] > bits["l1"] and bits["l2"] > bits["l3"], bits
    # The sensitivity file measured every candidate of every layer, and the
    # planted layer is the most sensitive at 4 bits.
    measured = json.loads((tmp_path / "planted.work" / "sensitivity.json").read_text())
    assert measured["candidates"] == ["2/g32", "3/g32", "3/g128", "4/g32", "4/g128",
                                      "8/channel"]
    errors = {layer["name"]: layer["errors"] for layer in measured["layers"]}
    assert errors["l2"]["4/g32"] > 10 * max(errors["l1"]["4/g32"], errors["l3"]["4/g32"])
    assert errors["l2"]["8/channel"] < errors["l2"]["4/g32"] / 10
    assert all(errors[name]["2/g32"] > errors[name]["8/channel"] for name in errors)
    # The library runs; with the planted layer in 8 bits its output is far
    # closer to the float model's than with every layer in 4-bit groups,
    # which round the middle layer's weights away.
    x = np.random.default_rng(7).standard_normal((ROWS, WIDTH)).astype(np.float32)
    expected = x @ weights["l1"].T @ weights["l2"].T @ weights["l3"].T

    def sqnr(library):
        model = runtime.load(library)
        (y,) = model(x)
        model.close()
        return 10 * np.log10(np.sum(expected**2) / np.sum((y - expected) ** 2))

    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "--recipe", "w4a16-g32",
         "-o", str(tmp_path / "uniform")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sqnr(tmp_path / "planted.so") > sqnr(tmp_path / "uniform.so") + 6


def test_budget_and_candidates_of_the_recipe_file(tmp_path):
    _model(tmp_path, planted=False)
    report = _compile(tmp_path, "tight", {"recipe": "mixed", "budget": 2.5,
                                          "candidates": ["2/g32", "8/channel", "float"],
                                          "solver": "annealing", "metric": "nsr"})
    assert report["solver"] == "annealing"
    assert report["metric"].startswith("nsr: ")
    assert set(_bits(report).values()) == {2.5}
    roomy = _compile(tmp_path, "roomy", {"recipe": "mixed", "budget": 32,
                                         "candidates": ["2/g32", "8/channel", "float"]})
    assert set(_bits(roomy).values()) == {32}
    report = _compile(tmp_path, "ragged", {"recipe": "mixed", "budget": 4.5,
                                           "candidates": ["4/g48", "4/g32"]})
    # 48 does not divide K = 64: groups of 48 and 16, two f16 scales a row
    # like groups of 32, so both cost 4.5 bits per weight; each is measured.
    measured = json.loads((tmp_path / "ragged.work" / "sensitivity.json").read_text())
    assert all("4/g48" in layer["errors"] for layer in measured["layers"])
    assert {layer["scheme"] for layer in report["layers"]} <= {"4/g48", "4/g32"}
    assert set(_bits(report).values()) == {4.5}


def test_infeasible_budget_is_an_error(tmp_path):
    _model(tmp_path, planted=False)
    stderr = _compile_error(tmp_path, {"recipe": "mixed", "budget": 2})
    assert ("a budget of 2 bits per weight is below the smallest feasible one, "
            "2.5000 bits per weight") in stderr


def test_outputs_without_signal_are_an_error(tmp_path):
    """All-zero weights make all-zero outputs: no error can be measured
    against them, and the compiler says so instead of choosing blindly."""
    weights = _model(tmp_path, planted=False)
    safetensors.save(tmp_path / "w.safetensors",
                     {name: np.zeros_like(w) for name, w in weights.items()})
    stderr = _compile_error(tmp_path, {"recipe": "mixed"})
    assert ("the float model's outputs on the calibration samples are all zero: "
            "no error can be measured against them") in stderr


def test_integer_outputs_are_an_error(tmp_path):
    """Mixed precision compares float outputs with the float model's."""
    weight = np.random.default_rng(0).standard_normal((16, 64)).astype(np.float32)
    safetensors.save(tmp_path / "w.safetensors", {"l1": weight})
    (tmp_path / "m.mlir").write_text(
        "func.func @main(%x: tensor<8x64xf32>) -> tensor<8x16xi32> {\n"
        '  %w = lattice.weight "l1" from "w.safetensors" : tensor<16x64xf32>\n'
        "  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<8x64xf32>, "
        "tensor<16x64xf32>) -> tensor<8x16xf32>\n"
        "  %i = arith.fptosi %y : tensor<8x16xf32> to tensor<8x16xi32>\n"
        "  return %i : tensor<8x16xi32>\n}\n")
    result = subprocess.run([str(COMPILE), str(tmp_path / "m.mlir"), "--recipe", "mixed",
                             "-o", str(tmp_path / "m")], capture_output=True, text=True)
    assert result.returncode != 0
    assert ("output 'output0' is not float32: mixed precision measures the error "
            "of float outputs") in result.stderr
    # Without --calib the compiler says that it measures on generated inputs.
    assert "measuring the layers' sensitivity on 8 generated inputs" in result.stderr



def test_python_api_gives_the_assignment_and_its_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import lattice
    from lattice import reports

    _model(tmp_path, planted=True)
    model = lattice.compile(tmp_path / "m.mlir", "mixed", calib=tmp_path / "calib.npz",
                            output=tmp_path / "api", quiet=True)
    assert model.precision is not None
    assert [layer["name"] for layer in model.precision["layers"]] == ["l1", "l2", "l3"]
    assert model.precision["budget_bits_per_weight"] == 4.5
    path = reports.precision_plot(model.precision, tmp_path / "plot" / "mixed.png")
    assert pathlib.Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Other recipes have no assignment.
    other = lattice.compile(tmp_path / "m.mlir", "w4a16-g32", output=tmp_path / "uniform",
                            quiet=True)
    assert other.precision is None
    model.close()
    other.close()


def test_a_shared_weight_is_measured_once(tmp_path):
    """Two matmuls on one weight: one entry in the sensitivity file, and
    each matmul gets a scheme (the budget counts the weight once per
    matmul, as the quantizer stores one quantized copy for each)."""
    rng = np.random.default_rng(4)
    safetensors.save(tmp_path / "w.safetensors",
                     {"w": rng.standard_normal((WIDTH, WIDTH)).astype(np.float32),
                      "head": rng.standard_normal((CLASSES, WIDTH)).astype(np.float32)})
    t = f"tensor<{ROWS}x{WIDTH}xf32>"
    (tmp_path / "m.mlir").write_text(
        f"func.func @main(%x: {t}) -> tensor<{ROWS}x{CLASSES}xf32> {{\n"
        f'  %w = lattice.weight "w" from "w.safetensors" : tensor<{WIDTH}x{WIDTH}xf32>\n'
        f'  %h = lattice.weight "head" from "w.safetensors" : tensor<{CLASSES}x{WIDTH}xf32>\n'
        f"  %a = lattice.matmul %x, %w accumulate(f32) : ({t}, tensor<{WIDTH}x{WIDTH}xf32>) -> {t}\n"
        f"  %b = lattice.matmul %a, %w accumulate(f32) : ({t}, tensor<{WIDTH}x{WIDTH}xf32>) -> {t}\n"
        f"  %y = lattice.matmul %b, %h accumulate(f32) : ({t}, tensor<{CLASSES}x{WIDTH}xf32>)"
        f" -> tensor<{ROWS}x{CLASSES}xf32>\n"
        f"  return %y : tensor<{ROWS}x{CLASSES}xf32>\n}}\n")
    np.savez(tmp_path / "calib.npz",
             input0=rng.standard_normal((8, ROWS, WIDTH)).astype(np.float32))
    report = _compile(tmp_path, "shared", {"recipe": "mixed"})
    measured = json.loads((tmp_path / "shared.work" / "sensitivity.json").read_text())
    assert [layer["name"] for layer in measured["layers"]] == ["w", "head"]
    assert [layer["name"] for layer in report["layers"]] == ["w", "w", "head"]
    assert report["bits_per_weight"] <= 4.5
