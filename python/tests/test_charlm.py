"""The bundled example model (examples/charlm): the compiled float model
agrees with PyTorch, and quantization keeps the held-out perplexity within
the bounds users can rely on: w8a8 within 1 % of float, w4a16 within 5 %.
The nGPT-style variant goes through lattice-renormalize, which must fold
the row norms of its unit-norm weights.
"""

import pathlib
import shutil

import numpy as np
import pytest

from lattice import compiler, tools

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

ROOT = pathlib.Path(__file__).resolve().parents[2]
import charlm

pytestmark = [
    pytest.mark.skipif(tools.missing() is not None, reason=str(tools.missing())),
    pytest.mark.skipif(shutil.which("bible") is None,
                       reason="the corpus needs Debian's bible-kjv package"),
]

WINDOWS = 96


@pytest.fixture(scope="module")
def corpus():
    return charlm.corpus()


def _variant(tmp_path_factory, corpus, ngpt):
    folder = tmp_path_factory.mktemp("charlm-ngpt" if ngpt else "charlm")
    vocab = charlm.export(ngpt, folder / "model.onnx")
    x, y = charlm.held_out_windows(corpus, vocab, WINDOWS)
    rng = np.random.default_rng(0)
    train = charlm.encode(charlm.split(corpus)[0], vocab)
    starts = rng.integers(0, len(train) - charlm.CONTEXT, 16)
    np.savez(folder / "calib.npz",
             tokens=np.stack([train[s:s + charlm.CONTEXT] for s in starts])[:, None])
    model, _ = charlm.load(ngpt)
    with torch.no_grad():
        reference = model(torch.from_numpy(x)).numpy()
    return folder, x, y, reference


@pytest.fixture(scope="module")
def plain(tmp_path_factory, corpus):
    return _variant(tmp_path_factory, corpus, False)


@pytest.fixture(scope="module")
def ngpt(tmp_path_factory, corpus):
    return _variant(tmp_path_factory, corpus, True)


def _perplexity(folder, x, y, recipe):
    model = compiler.compile(folder / "model.onnx", recipe, folder / "calib.npz",
                             folder / f"out_{recipe.replace('-', '_')}", quiet=True)
    try:
        logits = np.stack([model(window[None])[0][0] for window in x])
    finally:
        model.close()
    return charlm.perplexity(logits, y), logits


def test_float_matches_pytorch(plain):
    folder, x, y, reference = plain
    ppl, logits = _perplexity(folder, x, y, "f32")
    scale = np.abs(reference).max()
    assert np.abs(logits - reference).max() <= 1e-4 * scale
    assert ppl == pytest.approx(charlm.perplexity(reference, y), rel=1e-5)


@pytest.mark.parametrize("recipe, bound", [("w8a8", 0.01), ("w4a16", 0.05)])
def test_quantized_perplexity(plain, recipe, bound):
    folder, x, y, reference = plain
    float_ppl = charlm.perplexity(reference, y)
    ppl, _ = _perplexity(folder, x, y, recipe)
    assert ppl <= float_ppl * (1 + bound), f"{recipe}: {ppl:.4f} vs float {float_ppl:.4f}"


@pytest.mark.parametrize("bits", [4, 3, 2])
def test_gptq_beats_rounding_to_nearest(plain, bits):
    """GPTQ (fitted to 16 calibration windows) against rounding to nearest
    with the same scheme: better at 3 and 2 bits by a margin, no worse at
    4 (measured: 7.25 against 7.34 at 4 bits, 7.37 against 7.80 at 3, 7.79
    against 8.78 at 2; float 7.23)."""
    folder, x, y, reference = plain
    rtn, _ = _perplexity(folder, x, y, f"w{bits}a16")
    gptq, _ = _perplexity(folder, x, y, f"w{bits}a16-gptq")
    float_ppl = charlm.perplexity(reference, y)
    assert gptq <= rtn
    if bits < 4:
        # At least a third of rounding's loss over float is won back.
        assert gptq - float_ppl <= (rtn - float_ppl) * 2 / 3, (gptq, rtn, float_ppl)


def test_ngpt_is_renormalized(ngpt, tmp_path):
    folder, x, y, reference = ngpt
    mlir = folder / "imported.mlir"
    from lattice import onnx_import
    onnx_import.import_model(folder / "model.onnx", mlir, quiet=True)
    prepared = tmp_path / "prepared.mlir"
    tools.run("lattice-opt", mlir, f"--lattice-prepare-model=dir={folder}", "-o", prepared)
    assert "lattice.normalize" in prepared.read_text()
    remarks = tools.run("lattice-opt", prepared, f"--lattice-load-weights=dir={folder}",
                        "--lattice-quantize=weight-bits=4 granularity=group group-size=32",
                        "--lattice-renormalize=report=true", "-o", tmp_path / "q.mlir")
    assert "row norms folded into the scales" in remarks
    float_ppl = charlm.perplexity(reference, y)
    ppl, _ = _perplexity(folder, x, y, "w4a16")
    assert ppl <= float_ppl * 1.05
