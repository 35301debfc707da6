"""lattice-compile end to end: the bundled W4A16 MLP compiled to a shared
library, run from Python on numpy arrays, against a numpy computation of the
same layers; and the runtime's checks of a bad weights file."""

import os
import pathlib
import re
import shutil
import subprocess

import numpy as np
import pytest

from lattice import runtime, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")


def _dequantize_groups(codes, scales, group):
    rows = codes.shape[0]
    grouped = codes.astype(np.float32).reshape(rows, -1, group)
    return (grouped * scales.astype(np.float32)[:, :, None]).reshape(codes.shape)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    work = tmp_path_factory.mktemp("mlp")
    shutil.copy(ROOT / "examples" / "mlp-w4a16.mlir", work)
    rng = np.random.default_rng(0)
    weights = {
        "norm.weight": rng.uniform(0.5, 1.5, 64).astype(np.float32),
        "fc1.weight": rng.integers(-8, 8, (128, 64)).astype(np.int8),
        "fc1.scale": rng.uniform(0.01, 0.05, (128, 2)).astype(np.float16),
        "fc2.weight": rng.integers(-8, 8, (64, 128)).astype(np.int8),
        "fc2.scale": rng.uniform(0.01, 0.05, (64, 4)).astype(np.float16),
    }
    safetensors.save(work / "mlp.safetensors", weights)
    out = work / "out"
    out.mkdir()
    subprocess.run([str(COMPILE), str(work / "mlp-w4a16.mlir"), "-o",
                    str(out / "mlp")], check=True, capture_output=True)
    return out, weights


def test_outputs(mlp):
    out, _ = mlp
    for name in ("mlp.so", "mlp.h", "mlp.o", "mlp.safetensors",
                 "lattice_runtime.h"):
        assert (out / name).exists(), name
    header = (out / "mlp.h").read_text()
    assert "lattice_status mlp_run(const lattice_model *model, const float " \
           "*input0 /* [1][64] */, float *output0 /* [1][64] */);" in header


def test_matches_numpy(mlp):
    out, w = mlp
    model = runtime.load(out / "mlp.so")
    assert model.inputs == [("input0", np.float32, (1, 64))]
    for seed in range(3):
        x = np.random.default_rng(seed).standard_normal((1, 64)).astype(np.float32)
        (y,) = model(x)
        h = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-6)
        h = h * w["norm.weight"]
        a = np.maximum(h @ _dequantize_groups(w["fc1.weight"], w["fc1.scale"], 32).T, 0)
        ref = a @ _dequantize_groups(w["fc2.weight"], w["fc2.scale"], 32).T
        # f32 with reassociated sums: a few ulps of the largest output.
        np.testing.assert_allclose(y, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


def test_c_program(mlp, tmp_path):
    out, w = mlp
    exe = tmp_path / "run-mlp"
    subprocess.run(["cc", f"-I{out}", str(ROOT / "examples" / "run-mlp.c"),
                    str(out / "mlp.so"), f"-Wl,-rpath,{out}", "-lm", "-o",
                    str(exe)], check=True)
    result = subprocess.run([str(exe), str(out / "mlp.safetensors")],
                            check=True, capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert lines[0] == "NULL output: output 'output0' is NULL"
    y = np.array([float(v) for v in lines[1:]], np.float32)
    (expected,) = runtime.load(out / "mlp.so")(
        np.sin(np.arange(64, dtype=np.float32))[None, :])
    np.testing.assert_allclose(y, expected[0], rtol=1e-6, atol=1e-6)
    missing = subprocess.run([str(exe), str(tmp_path / "none.safetensors")],
                             capture_output=True, text=True)
    assert missing.returncode == 1
    assert "none.safetensors: No such file or directory" in missing.stderr


def test_embedded_weights(mlp, tmp_path):
    out, _ = mlp
    embedded = tmp_path / "embedded"
    embedded.mkdir()
    subprocess.run([str(COMPILE), str(out.parent / "mlp-w4a16.mlir"), "-o",
                    str(embedded / "mlp"), "--embed-weights"], check=True,
                   capture_output=True)
    assert not (embedded / "mlp.safetensors").exists()
    x = np.random.default_rng(5).standard_normal((1, 64)).astype(np.float32)
    (expected,) = runtime.load(out / "mlp.so")(x)
    (y,) = runtime.load(embedded / "mlp.so")(x)
    np.testing.assert_array_equal(y, expected)
    # A weights file given explicitly still takes precedence.
    zeros = {k: np.zeros_like(v) for k, v in
             safetensors.load(out / "mlp.safetensors").items()}
    safetensors.save(tmp_path / "zeros.safetensors", zeros)
    (y,) = runtime.load(embedded / "mlp.so", tmp_path / "zeros.safetensors")(x)
    assert not y.any()
    # The C program without an argument uses the embedded weights.
    exe = tmp_path / "run-mlp"
    subprocess.run(["cc", f"-I{embedded}", str(ROOT / "examples" / "run-mlp.c"),
                    str(embedded / "mlp.so"), f"-Wl,-rpath,{embedded}", "-lm",
                    "-o", str(exe)], check=True)
    result = subprocess.run([str(exe)], check=True, capture_output=True,
                            text=True)
    (expected,) = runtime.load(out / "mlp.so")(
        np.sin(np.arange(64, dtype=np.float32))[None, :])
    np.testing.assert_allclose(
        [float(v) for v in result.stdout.splitlines()[1:]], expected[0],
        rtol=1e-6, atol=1e-6)


def _linear_bytes(codes):
    """The linear packed layout: two 4-bit codes per byte, low nibble
    first."""
    nibbles = codes.reshape(-1).astype(np.int16) & 0xF
    return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8)


def _rows4_bytes(codes):
    """The W4A16 microkernel's layout: 16-byte chunks of four rows in turn."""
    rows, k = codes.shape
    linear = _linear_bytes(codes).reshape(rows, k // 2)
    full = rows // 4 * 4
    blocks = linear[:full].reshape(rows // 4, 4, k // 32, 16)
    return np.concatenate([blocks.transpose(0, 2, 1, 3).reshape(-1),
                           linear[full:].reshape(-1)])


def test_packed_weights(mlp, tmp_path):
    out, w = mlp
    packed = safetensors.load(out / "mlp.safetensors")
    if _cpu_has_avx512():
        # Both layers are covered by the microkernel on AVX-512 machines.
        expected = _rows4_bytes(w["fc1.weight"])
    else:
        expected = _linear_bytes(w["fc1.weight"])
    np.testing.assert_array_equal(packed["fc1.weight"], expected)
    # Without the microkernel (or for a portable target), the linear layout.
    subprocess.run([str(COMPILE), str(out.parent / "mlp-w4a16.mlir"), "-o",
                    str(tmp_path / "mlp"), "--ukernels=false"], check=True,
                   capture_output=True)
    linear = safetensors.load(tmp_path / "mlp.safetensors")
    np.testing.assert_array_equal(linear["fc1.weight"],
                                  _linear_bytes(w["fc1.weight"]))
    assert not (_linear_bytes(w["fc1.weight"]) ==
                _rows4_bytes(w["fc1.weight"])).all()


def _cpu_has_avx512():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        flags = f.read()
    return " avx512f " in flags and " avx512bw " in flags


def test_bad_inputs(mlp):
    out, _ = mlp
    model = runtime.load(out / "mlp.so")
    with pytest.raises(ValueError, match="must have shape"):
        model(np.zeros((2, 64), np.float32))
    with pytest.raises(ValueError, match="must be float32"):
        model(np.zeros((1, 64), np.float64))


def test_bad_weights_files(mlp, tmp_path):
    out, w = mlp
    with pytest.raises(runtime.LatticeError, match="No such file"):
        runtime.load(out / "mlp.so", tmp_path / "missing.safetensors")
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes((out / "mlp.safetensors").read_bytes()[:100])
    with pytest.raises(runtime.LatticeError, match="does not fit|data_offsets"):
        runtime.load(out / "mlp.so", truncated)
    missing = tmp_path / "missing-weight.safetensors"
    packed = safetensors.load(out / "mlp.safetensors")
    del packed["fc2.scale"]
    safetensors.save(missing, packed)
    with pytest.raises(runtime.LatticeError, match="'fc2.scale' is missing"):
        runtime.load(out / "mlp.so", missing)
    wrong = tmp_path / "wrong-dtype.safetensors"
    packed = safetensors.load(out / "mlp.safetensors")
    packed["norm.weight"] = packed["norm.weight"].astype(np.float16)
    safetensors.save(wrong, packed)
    with pytest.raises(runtime.LatticeError, match="is F16, the model expects F32"):
        runtime.load(out / "mlp.so", wrong)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(runtime.LatticeError, match="header"):
        runtime.load(out / "mlp.so", garbage)


def test_bf16_signature_is_refused(tmp_path):
    (tmp_path / "m.mlir").write_text(
        "func.func @f(%x: tensor<4xbf16>) -> tensor<4xbf16> {\n"
        "  return %x : tensor<4xbf16>\n}\n")
    subprocess.run([str(COMPILE), str(tmp_path / "m.mlir"), "-o",
                    str(tmp_path / "m")], check=True, capture_output=True)
    with pytest.raises(runtime.LatticeError, match="'input0' is bf16"):
        runtime.load(tmp_path / "m.so")


# Driver diagnostics: every failure is a message on stderr and exit code 1.

GEMV = """
func.func @f(%x: tensor<1x64xf32>) -> tensor<1x4xf32> {
  %w = lattice.weight "w" from "w.safetensors"
      : tensor<4x64x!lattice.quant<s4, f32, channel<0>>>
  %s = lattice.weight "s" from "w.safetensors" : tensor<4xf32>
  %y = lattice.matmul %x, %w rhs_scale(%s) accumulate(f32)
      : (tensor<1x64xf32>, tensor<4x64x!lattice.quant<s4, f32, channel<0>>>,
         tensor<4xf32>) -> tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
"""


def _compile_error(tmp_path, source, weights=None, args=()):
    (tmp_path / "m.mlir").write_text(source)
    if weights is not None:
        safetensors.save(tmp_path / "w.safetensors", weights)
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "-o", str(tmp_path / "m"),
         *args], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    return result.stderr


def _gemv_weights(**changes):
    weights = {"w": np.ones((4, 64), np.int8), "s": np.ones(4, np.float32)}
    weights.update(changes)
    return {k: v for k, v in weights.items() if v is not None}


def test_error_bad_ir(tmp_path):
    assert "expected" in _compile_error(tmp_path, "func.func @f( {")


def test_error_no_function(tmp_path):
    assert "no public function to compile" in _compile_error(
        tmp_path, "func.func private @f()")


def test_error_dynamic_input(tmp_path):
    source = "func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> {\n" \
             "  return %x : tensor<?xf32>\n}\n"
    assert "the C ABI takes statically shaped tensors" in _compile_error(
        tmp_path, source)


def test_error_quantized_input(tmp_path):
    source = ("func.func @f(%x: tensor<4x!lattice.quant<s8, f32>>)"
              " -> tensor<4x!lattice.quant<s8, f32>> {\n"
              "  return %x : tensor<4x!lattice.quant<s8, f32>>\n}\n")
    assert "the C ABI takes f32, f16, bf16, i8 or i32" in _compile_error(
        tmp_path, source)


def test_error_missing_weights_file(tmp_path):
    assert "cannot read" in _compile_error(tmp_path, GEMV)


def test_error_missing_tensor(tmp_path):
    stderr = _compile_error(tmp_path, GEMV, _gemv_weights(s=None))
    assert "tensor 's' does not exist" in stderr


def test_error_wrong_shape(tmp_path):
    stderr = _compile_error(tmp_path, GEMV,
                            _gemv_weights(s=np.ones(5, np.float32)))
    assert "has shape [5], the model expects [4]" in stderr


def test_error_wrong_dtype(tmp_path):
    stderr = _compile_error(tmp_path, GEMV,
                            _gemv_weights(s=np.ones(4, np.float16)))
    assert "is F16, the model expects F32" in stderr


def test_error_code_out_of_range(tmp_path):
    codes = np.ones((4, 64), np.int8)
    codes[1, 2] = 9
    stderr = _compile_error(tmp_path, GEMV, _gemv_weights(w=codes))
    assert "holds code 9 at element 66, outside the range of 4-bit codes" \
        in stderr


def test_error_corrupt_weights_file(tmp_path):
    (tmp_path / "w.safetensors").write_bytes(b"\xff" * 16)
    assert "does not fit in the file" in _compile_error(tmp_path, GEMV)


def test_name_differs_from_output_file(tmp_path):
    (tmp_path / "m.mlir").write_text(GEMV)
    safetensors.save(tmp_path / "w.safetensors", _gemv_weights())
    subprocess.run([str(COMPILE), str(tmp_path / "m.mlir"), "-o",
                    str(tmp_path / "gemv-4bit"), "--name", "gemv"],
                   check=True, capture_output=True)
    header = (tmp_path / "gemv-4bit.h").read_text()
    assert "lattice_status gemv_load(" in header
    model = runtime.load(tmp_path / "gemv-4bit.so")
    (y,) = model(np.ones((1, 64), np.float32))
    np.testing.assert_array_equal(y, np.full((1, 4), 64, np.float32))


def test_error_bad_options(tmp_path):
    weights = _gemv_weights()
    assert "is not a C identifier" in _compile_error(
        tmp_path, GEMV, weights, ["--name=9lives"])
    assert "unknown --target-cpu 'no-such-cpu'" in _compile_error(
        tmp_path, GEMV, weights, ["--target-cpu=no-such-cpu"])


def test_output_directory_is_created(tmp_path):
    (tmp_path / "m.mlir").write_text(GEMV)
    safetensors.save(tmp_path / "w.safetensors", _gemv_weights())
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "-o",
         str(tmp_path / "new-dir" / "m")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "new-dir" / "m.h").exists()


def test_error_unwritable_output(tmp_path):
    (tmp_path / "m.mlir").write_text(GEMV)
    safetensors.save(tmp_path / "w.safetensors", _gemv_weights())
    # A regular file where the output folder should be: even root cannot
    # create a directory below it.
    (tmp_path / "a-file").write_text("")
    result = subprocess.run(
        [str(COMPILE), str(tmp_path / "m.mlir"), "-o",
         str(tmp_path / "a-file" / "m")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "cannot write" in result.stderr and "Not a directory" in result.stderr


def test_error_unsupported_op(tmp_path):
    source = """
func.func @f(%x: tensor<1x64xf32>) -> tensor<1x8xf32> {
  %w = lattice.weight "w" from "w.safetensors"
      : tensor<8x64x!lattice.quant<s4, f32, group<1, 16>>>
  %ws = lattice.weight "ws" from "w.safetensors" : tensor<8x4xf32>
  %xq, %xs = lattice.dynamic_quantize %x
      : (tensor<1x64xf32>) -> (tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>,
                               tensor<1x2xf32>)
  %y = lattice.matmul %xq, %w lhs_scale(%xs) rhs_scale(%ws) accumulate(i32)
      : (tensor<1x64x!lattice.quant<s8, f32, group<1, 32>>>,
         tensor<8x64x!lattice.quant<s4, f32, group<1, 16>>>,
         tensor<1x2xf32>, tensor<8x4xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
"""
    weights = {"w": np.ones((8, 64), np.int8), "ws": np.ones((8, 4), np.float32)}
    stderr = _compile_error(tmp_path, source, weights)
    assert "'lattice.matmul' op with lhs and rhs groups of different sizes " \
        "is not lowered by convert-lattice-to-linalg yet" in stderr


def test_load_memory_checks_the_buffer(mlp):
    import ctypes
    out, _ = mlp
    lib = ctypes.CDLL(str(out / "mlp.so"))
    lib.lattice_model_info_v1.restype = ctypes.c_void_p
    lib.lattice_model_load_memory.argtypes = [
        ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_void_p)]
    lib.lattice_last_error.restype = ctypes.c_char_p
    model = ctypes.c_void_p()
    data = (out / "mlp.safetensors").read_bytes()[:200]
    status = lib.lattice_model_load_memory(lib.lattice_model_info_v1(), data,
                                           len(data), ctypes.byref(model))
    assert status == 3 and not model  # LATTICE_ERROR_FORMAT
    assert lib.lattice_last_error().startswith(b"<memory>: ")
    status = lib.lattice_model_load_memory(lib.lattice_model_info_v1(), None,
                                           16, ctypes.byref(model))
    assert status == 1  # LATTICE_ERROR_ARGUMENT


def test_demo_script(tmp_path):
    """examples/mlp_demo.py (the README's demo) quantizes, compiles, runs and
    checks the example against the reference; it fails on a mismatch."""
    result = subprocess.run(
        ["/usr/bin/python3", str(ROOT / "examples" / "mlp_demo.py"),
         str(BUILD), str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    row = [l for l in result.stdout.splitlines()
           if l.startswith("| W4A16 g32, compiled")][0]
    sqnr = float(row.split("|")[2].split()[0])
    assert 14 < sqnr < 22  # 4-bit RTN on Gaussian weights, two layers
    assert "4.50 bits/weight" in row


def test_other_abi_version_is_refused(tmp_path):
    """A library of another ABI version: loading it or reading its tensors
    says so instead of misreading its description."""
    source = tmp_path / "old.c"
    source.write_text(
        '#include "lattice_runtime.h"\n'
        "static const lattice_model_info info = {1, \"old\", 0, 0, 0};\n"
        "const lattice_model_info *lattice_model_info_v1(void) { return &info; }\n")
    library = tmp_path / "old.so"
    subprocess.run(["cc", "-shared", "-fPIC", f"-I{ROOT / 'runtime'}", str(source),
                    "-o", str(library)], check=True)
    with pytest.raises(runtime.LatticeError, match="built for ABI version 1"):
        runtime.describe(library)
    with pytest.raises(runtime.LatticeError, match="built for ABI version 1"):
        runtime.load(library, weights=tmp_path / "none.safetensors")


_THREE_LAYERS = ROOT / "test" / "Tools" / "Inputs" / "three-layers.mlir"


def test_recipes_match_the_compiler():
    """The Python driver's recipe table names the compiler's recipes, each
    with what it does with activations: a weight-only recipe's pipeline
    quantizes no activation, a dynamic one quantizes them per token without
    statistics, a static one refuses to run without them, and the measured
    one (mixed) falls back to its fixed rule without measurements."""
    from lattice import compiler

    listed = subprocess.run([str(COMPILE), str(_THREE_LAYERS), "--recipe", "?",
                             "-o", "unused"], capture_output=True, text=True)
    assert listed.returncode == 1
    names = listed.stderr.strip().split("choose one of ", 1)[1].split(", ")
    assert names == list(compiler.RECIPES)
    opt = BUILD / "bin" / "lattice-opt"
    for name, activations in compiler.RECIPES.items():
        run = subprocess.run([str(opt), str(_THREE_LAYERS), f"--lattice-recipe-{name}"],
                             capture_output=True, text=True)
        if activations in ("static", "fitted", "split"):
            assert run.returncode != 0 and "needs the statistics" in run.stderr, name
            continue
        assert run.returncode == 0, (name, run.stderr)
        assert ("lattice.dynamic_quantize" in run.stdout) == (activations == "dynamic"), name
        assert ("!lattice.quant" in run.stdout) == (name != "f32"), name


def test_weight_only_recipe_in_one_process(tmp_path):
    """A weight-only recipe on a .mlir model is one lattice-compile process
    (no Python driver: it runs with no interpreter to find), and
    lattice.compile reads the per-layer report it writes."""
    from lattice import compiler

    env = dict(os.environ, LATTICE_PYTHON=str(tmp_path / "no-python"))
    subprocess.run([str(COMPILE), str(_THREE_LAYERS), "--recipe", "w4a16-g32",
                    "-o", str(tmp_path / "direct")], check=True, env=env)
    assert (tmp_path / "direct.so").is_file()
    model = compiler.compile(_THREE_LAYERS, "w4a16-g32", output=tmp_path / "driven",
                             quiet=True)
    try:
        assert list(model.layers) == ["first", "middle", "last"]
        for info in model.layers.values():
            assert info["scheme"] == "!lattice.quant<s4, f16, group<1, 32>>"
            assert info["bits"] == pytest.approx(4.5)
            # Constant rows: exact codes, the f16 scale's rounding alone.
            assert info["sqnr_db"] > 60
        x = np.ones((2, 64), np.float32)
        (y,) = model(x)
        # Three f16 scales, each within 2^-11 of its value.
        np.testing.assert_allclose(y, np.full((2, 16), 0.125 * 64 * 0.25 * 64 * 0.5 * 64),
                                   rtol=3 * 2.0 ** -11)
    finally:
        model.close()


def test_recipe_file(tmp_path):
    """A recipe file gives layers their own settings by name: the report
    shows each layer's scheme, and the layer kept in float is not in it."""
    from lattice import compiler

    recipe = ROOT / "test" / "Dialect" / "Lattice" / "Inputs" / "mixed-recipe.json"
    model = compiler.compile(_THREE_LAYERS, recipe_file=recipe, quiet=True,
                             output=tmp_path / "model")
    try:
        assert model.recipe == "w4a16"
        assert {name: info["scheme"] for name, info in model.layers.items()} == {
            "first": "!lattice.quant<s8, f32, channel<0>>",
            "middle": "!lattice.quant<u4, f16, group<1, 32>, asymmetric>"}
        (y,) = model(np.ones((2, 64), np.float32))
        np.testing.assert_allclose(y, np.full((2, 16), 0.125 * 64 * 0.25 * 64 * 0.5 * 64),
                                   rtol=1e-3)
    finally:
        model.close()
    with pytest.raises(compiler.CompileError, match="recipe file"):
        compiler.compile(_THREE_LAYERS, recipe_file=tmp_path / "absent.json", quiet=True)
    # JSON nested deeper than Python's parser recurses: an error, no traceback.
    (tmp_path / "deep.json").write_text("[" * 100000)
    with pytest.raises(compiler.CompileError, match="recipe file .*deep.json"):
        compiler.compile(_THREE_LAYERS, recipe_file=tmp_path / "deep.json", quiet=True)


def test_deeply_nested_safetensors_header(tmp_path):
    """A safetensors header nested 100,000 levels deep is refused with an
    error by the Python reader and by the compiler's, which would otherwise
    overflow their parsers' recursion (a RecursionError, a SIGSEGV); so is
    one that names a tensor twice."""
    header = b"[" * 100000
    path = tmp_path / "deep.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(safetensors.SafetensorsError, match="nested too deep"):
        safetensors.load(path)
    # A tensor named twice: which one would be read is not for a reader to
    # guess.
    entry = '{"dtype": "F32", "shape": [], "data_offsets": [0, 4]}'
    twice = f'{{"x": {entry}, "x": {entry}}}'.encode()
    (tmp_path / "twice.safetensors").write_bytes(
        len(twice).to_bytes(8, "little") + twice + bytes(4))
    with pytest.raises(safetensors.SafetensorsError, match="the key 'x' appears twice"):
        safetensors.load(tmp_path / "twice.safetensors")
    opt = BUILD / "bin" / "lattice-opt"
    run = subprocess.run([str(opt), str(_THREE_LAYERS),
                          f"--lattice-smoothquant=stats={path}"],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "JSON nested more than 64 levels deep" in run.stderr, run.stderr


def test_warnings_reach_python_and_werror(tmp_path, capfd):
    """lattice.compile prints the compiler's warnings (here: calibration
    data that is zero everywhere), and werror=True makes them an error."""
    from lattice import compiler

    calib = {"input0": np.zeros((4, 2, 64), np.float32)}
    model = compiler.compile(_THREE_LAYERS, "w8a8", calib=calib,
                             output=tmp_path / "warned" / "m")
    model.close()
    assert "calibration input 'input0' is 0 everywhere" in capfd.readouterr().err
    with pytest.raises(compiler.CompileError, match="1 warning with --werror"):
        compiler.compile(_THREE_LAYERS, "w8a8", calib=calib, werror=True, quiet=True,
                         output=tmp_path / "strict" / "m")


def test_output_check_warns_of_a_collapse(tmp_path, capfd):
    """A quantized library whose outputs lose their signal gets a warning:
    each row of the weight has one large element, on an input channel the
    calibration samples leave at zero, so 2-bit codes round every other
    weight of its group to zero and the outputs keep little (1.1 dB).
    check_outputs=False skips the check."""
    from lattice import compiler

    rng = np.random.default_rng(0)
    w = rng.standard_normal((8, 64)).astype(np.float32)
    w[:, 0] = 100.0
    data = np.asarray(w, "<f4").tobytes().hex().upper()
    (tmp_path / "m.mlir").write_text(f"""
func.func @linear(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {{
  %w = arith.constant dense<"0x{data}"> : tensor<8x64xf32> loc("fc")
  %y = lattice.matmul %x, %w accumulate(f32) : (tensor<2x64xf32>, tensor<8x64xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}}
""")
    x = rng.standard_normal((4, 2, 64)).astype(np.float32)
    x[..., 0] = 0.0
    model = compiler.compile(tmp_path / "m.mlir", "w2a16", calib={"input0": x},
                             output=tmp_path / "collapsed" / "m")
    model.close()
    err = capfd.readouterr().err
    found = re.search(r"warning: output 'output0' keeps (\S+) dB SQNR against "
                      r"the float model on 4 calibration samples, below 10 dB", err)
    assert found and float(found.group(1)) < 3, err
    model = compiler.compile(tmp_path / "m.mlir", "w2a16", calib={"input0": x},
                             output=tmp_path / "unchecked" / "m", check_outputs=False)
    model.close()
    assert "SQNR" not in capfd.readouterr().err
    assert not (tmp_path / "unchecked" / "m.work" / "reference.so").exists()


def test_scalar_inputs(tmp_path):
    """Rank-0 inputs (Clip's bounds, a temperature) stay rank 0 through
    both Python entry points (numpy's ascontiguousarray made them [1])."""
    from lattice import compiler
    (tmp_path / "m.mlir").write_text("""
func.func @scale(%x: tensor<4xf32>, %s: tensor<f32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> ()>,
                                        affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x, %s : tensor<4xf32>, tensor<f32>) outs(%e : tensor<4xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
""")
    compiled = compiler.compile(tmp_path / "m.mlir", output=tmp_path / "scale", quiet=True)
    x = np.arange(4, dtype=np.float32)
    try:
        for s in (np.float32(2), np.array(2.0, np.float32), 2.0):
            np.testing.assert_array_equal(compiled(x, s)[0], 2 * x)
        np.testing.assert_array_equal(compiled.runtime_model(x, np.float32(3))[0], 3 * x)
    finally:
        compiled.close()
