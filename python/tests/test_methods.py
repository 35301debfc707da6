"""The weight quantization methods on the example LMs, as
bench/quant_methods.py measures them (the table of docs/Recipes.md): the
orderings that theory and the papers predict.

- On the bundled LM: AWQ beats rounding to nearest at 4 and 3 bits, and
  QEP on top of GPTQ wins at 3 and 2 bits.
- On the larger LM (6 layers, width 256): adding QEP to GPTQ does not
  lose at 4 bits and wins at 3 or 2 bits.
- Mixed precision on the bundled LM: the default budget of 4.5 bits per
  weight beats uniform 4-bit groups of 128, and 3.5 bits beats uniform
  3-bit groups of 128 (bench/mixed_precision.py).
- lattice-compile's QEP sweep keeps the statistics of every layer, from
  which lattice-opt quantizes the model to the same codes, and says how
  far it is.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

from lattice import safetensors, tools

pytest.importorskip("torch")
pytest.importorskip("onnx")
import quant_methods  # noqa: E402

pytestmark = [
    pytest.mark.skipif(tools.missing() is not None, reason=str(tools.missing())),
    pytest.mark.skipif(shutil.which("bible") is None,
                       reason="the corpus needs Debian's bible-kjv package"),
]

WINDOWS = 96


def _evaluate(work, large, methods, labels):
    schemes = [s for s in quant_methods.SCHEMES if s[0] in labels]
    return quant_methods.evaluate(work, large, WINDOWS, quant_methods.CALIB[large],
                                  {m: quant_methods.METHODS[m] for m in methods},
                                  schemes, log=lambda _: None)


def test_awq_beats_rounding_to_nearest(tmp_path):
    """Measured: 7.273 against 7.336 at 4 bits, 7.662 against 7.797 at 3
    (float 7.227)."""
    results = _evaluate(tmp_path, False, ["RTN", "AWQ"], ["W4 g128", "W3 g128"])
    for label in ("W4 g128", "W3 g128"):
        row = results[label]
        assert row["AWQ"] < row["RTN"], (label, row)


def test_qep_improves_gptq(tmp_path):
    """Measured (QEP's strength 0.25): 7.311 against 7.357 at 3 bits, 7.597
    against 7.742 at 2 (float 7.227)."""
    results = _evaluate(tmp_path, False, ["GPTQ", "GPTQ+QEP"], ["W3 g128", "W2 g64"])
    for label in ("W3 g128", "W2 g64"):
        row = results[label]
        assert row["GPTQ+QEP"] < row["GPTQ"], (label, row)


def test_qep_on_the_larger_lm(tmp_path):
    """Measured with 128 calibration windows (QEP's strength 0.25): 4.115
    against 4.118 at 4 bits, 4.119 against 4.131 at 3, 4.169 against 4.176
    at 2 (float 4.113). At strength 0.5 QEP lost at 3 and 2 bits (4.132,
    4.183): the correction over-fitted the calibration rows."""
    results = _evaluate(tmp_path, True, ["GPTQ", "GPTQ+QEP"],
                        ["W4 g128", "W3 g128", "W2 g64"])
    four = results["W4 g128"]
    # Not worse at 4 bits (within 0.1 %, the evaluation's noise there) ...
    assert four["GPTQ+QEP"] <= four["GPTQ"] * 1.001, four
    # ... and better at 3 or 2 bits.
    assert any(results[label]["GPTQ+QEP"] < results[label]["GPTQ"]
               for label in ("W3 g128", "W2 g64")), results


def test_qep_statistics_and_progress(tmp_path):
    """The sweep says where it is (stage, layers, elapsed) and writes the
    statistics of every layer's input, x^ x^T and x x^T, which lattice-opt
    can quantize the model from again (qep-stats)."""
    folder, _, _ = quant_methods.prepare(tmp_path, False, 4, 8)
    out = tmp_path / "model"
    compiled = subprocess.run(
        [tools.find("lattice-compile"), str(folder / "model.onnx"), "--recipe",
         "w3a16-gptq-qep", "--calib", str(folder / "calib.npz"), "-o", str(out)],
        capture_output=True, text=True, env={**os.environ})
    assert compiled.returncode == 0, compiled.stderr
    stats = safetensors.load(pathlib.Path(f"{out}.work") / "qep.safetensors")
    layers = sorted(name[:-len(":input.cross")] for name in stats
                    if name.endswith(":input.cross"))
    # 2 blocks of qkv, out, gate, up, down, and the head.
    assert len(layers) == 11, layers
    assert "blocks.0.qkv" in layers and "head" in layers
    for layer in layers:
        cross, xtx = stats[f"{layer}:input.cross"], stats[f"{layer}:input.xtx"]
        assert cross.shape == xtx.shape and np.all(np.isfinite(cross))
        np.testing.assert_allclose(xtx, xtx.T, rtol=1e-5, atol=1e-3)
    # The first stage sees the float model's input: x^ = x.
    first = stats["blocks.0.qkv:input.cross"]
    np.testing.assert_allclose(first, stats["blocks.0.qkv:input.xtx"], rtol=1e-6)
    assert "QEP: stage 1 of" in compiled.stderr
    assert f"layer {len(layers)} of {len(layers)}" in compiled.stderr


def _blobs(text):
    """The weight blobs (dense_resource) of a printed module, by name."""
    resources = text[text.index("{-#"):]
    return dict(re.findall(r'(\S+): "0x([0-9A-F]+)"', resources))


def test_qep_statistics_reproduce_the_model(tmp_path):
    """lattice-opt, given the float statistics and qep.safetensors that
    lattice-compile's sweep wrote, quantizes the model to the same codes."""
    folder, _, _ = quant_methods.prepare(tmp_path, False, 4, 8)
    # The imported model and its weights (what lattice.compile imports).
    from lattice import onnx_import
    imported = onnx_import.import_model(folder / "model.onnx", tmp_path / "m.mlir",
                                        None, quiet=True)
    model = pathlib.Path(imported.mlir)
    out = tmp_path / "out" / "m"
    compiled = subprocess.run(
        [tools.find("lattice-compile"), str(model), "--recipe", "w3a16-gptq-qep",
         "--calib", str(folder / "calib.npz"), "-o", str(out),
         "--mlir-print-ir-after=lattice-renormalize"],
        capture_output=True, text=True)
    assert compiled.returncode == 0, compiled.stderr
    work = pathlib.Path(f"{out}.work")
    again = subprocess.run(
        [tools.find("lattice-opt"), str(model), f"--lattice-prepare-model=dir={model.parent}",
         f"--lattice-load-weights=dir={model.parent}",
         f"--lattice-recipe-w3a16-gptq-qep=float-stats={work / 'stats.safetensors'} "
         f"qep-stats={work / 'qep.safetensors'}"],
        capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    expected, got = _blobs(compiled.stderr), _blobs(again.stdout)
    assert expected and expected == got


def test_mixed_beats_uniform_schemes_on_the_bundled_lm(tmp_path):
    folder, x, y = quant_methods.prepare(tmp_path, False, WINDOWS,
                                         quant_methods.CALIB[False])

    def perplexity(name, recipe=None, document=None):
        file = None
        if document is not None:
            file = folder / f"{name}.json"
            file.write_text(json.dumps(document))
        return quant_methods.perplexity(folder, x, y, name, recipe, file)

    assert perplexity("mixed", "mixed") < perplexity("w4", "w4a16")
    assert (perplexity("mixed35", document={"recipe": "mixed", "budget": 3.5})
            < perplexity("w3", "w3a16"))
