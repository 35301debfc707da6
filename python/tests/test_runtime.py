"""The runtime of compiled models: threads chosen at run time, the
workspace allocated at load (and calls from several threads at once), the
packed GEMM microkernels and the polynomial exp against numpy."""

import os
import pathlib
import shutil
import subprocess
import threading

import numpy as np
import pytest

from lattice import runtime, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")

# Linear layers (M = 64: the packed GEMM, the weights stored in its panels),
# attention scores over 4 heads (a batched contraction of activations), an
# exponential, a linear layer with 4 rows sharing w with the first (the
# packed GEMM too: w is small and packed once, by the driver), and a linear
# layer followed by a ReLU (its product a temporary, in the workspace).
MODEL = """
func.func @model(%x: tensor<64x96xf32>, %q: tensor<4x64x32xf32>, %k: tensor<4x32x64xf32>,
                 %e: tensor<8x1024xf32>, %x4: tensor<4x96xf32>)
    -> (tensor<64x48xf32>, tensor<4x64x64xf32>, tensor<8x1024xf32>, tensor<4x48xf32>,
        tensor<64x40xf32>) {
  %w = lattice.weight "w" from "model.safetensors" : tensor<48x96xf32>
  %w2 = lattice.weight "w2" from "model.safetensors" : tensor<40x96xf32>
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<64x96xf32>, tensor<48x96xf32>) -> tensor<64x48xf32>
  %p2 = lattice.matmul %x, %w2 accumulate(f32) : (tensor<64x96xf32>, tensor<40x96xf32>) -> tensor<64x40xf32>
  %rempty = tensor.empty() : tensor<64x40xf32>
  %y2 = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                        iterator_types = ["parallel", "parallel"]}
      ins(%p2 : tensor<64x40xf32>) outs(%rempty : tensor<64x40xf32>) {
  ^bb0(%a: f32, %o: f32):
    %zero2 = arith.constant 0.0 : f32
    %r = arith.maximumf %a, %zero2 : f32
    linalg.yield %r : f32
  } -> tensor<64x40xf32>
  %empty = tensor.empty() : tensor<4x64x64xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<4x64x64xf32>) -> tensor<4x64x64xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>,
                                        affine_map<(b, m, n, k) -> (b, k, n)>,
                                        affine_map<(b, m, n, k) -> (b, m, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x64x32xf32>, tensor<4x32x64xf32>) outs(%init : tensor<4x64x64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    %r = arith.addf %o, %p : f32
    linalg.yield %r : f32
  } -> tensor<4x64x64xf32>
  %eempty = tensor.empty() : tensor<8x1024xf32>
  %exp = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%e : tensor<8x1024xf32>) outs(%eempty : tensor<8x1024xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8x1024xf32>
  %y4 = lattice.matmul %x4, %w accumulate(f32) : (tensor<4x96xf32>, tensor<48x96xf32>) -> tensor<4x48xf32>
  return %y, %s, %exp, %y4, %y2
      : tensor<64x48xf32>, tensor<4x64x64xf32>, tensor<8x1024xf32>, tensor<4x48xf32>, tensor<64x40xf32>
}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    work = tmp_path_factory.mktemp("runtime")
    (work / "model.mlir").write_text(MODEL)
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((48, 96)).astype(np.float32)
    weight2 = rng.standard_normal((40, 96)).astype(np.float32)
    safetensors.save(work / "model.safetensors", {"w": weight, "w2": weight2})
    subprocess.run([str(COMPILE), str(work / "model.mlir"), "-o", str(work / "out" / "model")],
                   check=True, capture_output=True)
    return work / "out" / "model.so", (weight, weight2)


def _inputs(seed):
    rng = np.random.default_rng(seed)
    exps = rng.uniform(-80, 80, (8, 1024)).astype(np.float32)
    exps[0, :6] = [-np.inf, np.inf, np.nan, 0.0, -100.0, 88.0]
    return (rng.standard_normal((64, 96)).astype(np.float32),
            rng.standard_normal((4, 64, 32)).astype(np.float32),
            rng.standard_normal((4, 32, 64)).astype(np.float32),
            exps,
            rng.standard_normal((4, 96)).astype(np.float32))


def _check(outputs, inputs, weights):
    x, q, k, e, x4 = inputs
    y, s, exp, y4, y2 = outputs
    weight, weight2 = weights
    w, w2 = weight.astype(np.float64), weight2.astype(np.float64)
    for got, want, a, b in ((y, x.astype(np.float64) @ w.T, x, weight.T),
                            (y4, x4.astype(np.float64) @ w.T, x4, weight.T),
                            (y2, np.maximum(x.astype(np.float64) @ w2.T, 0), x, weight2.T)):
        bound = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
        assert np.all(np.abs(got - want) <= 1e-5 * bound)
    want = np.einsum("bmk,bkn->bmn", q.astype(np.float64), k.astype(np.float64))
    bound = np.einsum("bmk,bkn->bmn", np.abs(q.astype(np.float64)), np.abs(k.astype(np.float64)))
    assert np.all(np.abs(s - want) <= 1e-5 * bound)
    # exp: within 1 ulp where the result is a normal f32, exact specials.
    ref = np.exp(e.astype(np.float64))
    normal = np.isfinite(ref) & (ref >= np.finfo(np.float32).tiny) & (ref < 3e38)
    ulp = np.spacing(ref[normal].astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(exp[normal] - ref[normal]) <= ulp)
    assert exp[0, 0] == 0.0 and exp[0, 1] == np.inf and np.isnan(exp[0, 2])
    assert exp[0, 3] == 1.0 and exp[0, 4] == 0.0


def test_kernels_match_numpy(compiled):
    library, weights = compiled
    model = runtime.load(library)
    inputs = _inputs(1)
    _check(model(*inputs), inputs, weights)
    assert model.workspace_bytes > 0


def test_weights_in_panels(compiled):
    """Weights that only the packed GEMM reads, with 64 rows or with 4 (a
    small weight), are stored in its panels: two panels of 32 columns for
    N = 48 and N = 40, 96 deep."""
    library, _ = compiled
    shapes = {name: shape for name, _, shape in runtime.describe(library)["weights"]}
    assert shapes == {"w": (2 * 96 * 32,), "w2": (2 * 96 * 32,)}


def test_threads(compiled, monkeypatch):
    library, _ = compiled
    model = runtime.load(library)
    assert model.threads >= 1
    inputs = _inputs(2)
    model.threads = 1
    one = model(*inputs)
    model.threads = 2
    two = model(*inputs)
    # The split among threads does not change any sum's order.
    for a, b in zip(one, two):
        assert np.array_equal(a, b, equal_nan=True)
    with pytest.raises(runtime.LatticeError, match="0 threads"):
        model.threads = 0
    monkeypatch.setenv("LATTICE_NUM_THREADS", "3")
    assert runtime.load(library).threads == 3
    for bad in ("0", "two", "3x", "100000"):
        monkeypatch.setenv("LATTICE_NUM_THREADS", bad)
        with pytest.raises(runtime.LatticeError,
                           match=f"LATTICE_NUM_THREADS='{bad}' is not a thread count"):
            runtime.load(library)


@pytest.mark.skipif(shutil.which("readelf") is None, reason="no readelf")
def test_library_is_never_unloaded(compiled):
    """The pool's threads run the library's code for as long as the process
    lives: the library is linked so that dlclose leaves it mapped."""
    library, _ = compiled
    dynamic = subprocess.run(["readelf", "-d", str(library)], capture_output=True,
                             text=True, check=True).stdout
    assert "NODELETE" in dynamic


def test_concurrent_calls(compiled):
    """Calls from several threads at once: one takes the model's workspace,
    the others allocate their own; every result is right."""
    library, _ = compiled
    model = runtime.load(library)
    model.threads = 1
    inputs = [_inputs(10 + i) for i in range(4)]
    expected = [model(*x) for x in inputs]
    results = {}

    def work(i):
        for _ in range(20):
            results[i] = model(*inputs[i])

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for i in range(4):
        for a, b in zip(results[i], expected[i]):
            assert np.array_equal(a, b, equal_nan=True)


def test_recompiled_library_at_the_same_path(tmp_path):
    """A model compiled again to the same output and loaded in the same
    process runs the new code: dlopen would hand back the library already
    loaded from that path, with the old code and the new weights."""
    from lattice import compiler

    three = ROOT / "test" / "Tools" / "Inputs" / "three-layers.mlir"
    x = np.linspace(-1, 1, 128, dtype=np.float32).reshape(2, 64)
    outputs = {}
    for recipe in ("w8a16", "w4a16-g32", "w8a16"):
        model = compiler.compile(three, recipe, output=tmp_path / "same", quiet=True)
        try:
            outputs.setdefault(recipe, []).append(model(x)[0])
        finally:
            model.close()
    np.testing.assert_array_equal(outputs["w8a16"][0], outputs["w8a16"][1])
    assert not np.array_equal(outputs["w8a16"][0], outputs["w4a16-g32"][0])
