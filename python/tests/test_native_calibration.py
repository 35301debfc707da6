"""Calibration inside lattice-compile (--calib): the statistics it gathers
from the calibration build equal those of numpy on the same samples, and
lattice.calibrate (lattice-compile --stats-output) writes the same file,
from stored and compressed .npz archives alike; bad archives and samples that do not fit the model are
errors that say what is wrong."""

import os
import pathlib
import subprocess
import zipfile

import numpy as np
import pytest

from lattice import calibrate, compiler, safetensors

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("LATTICE_BUILD_DIR", ROOT / "build"))
COMPILE = BUILD / "bin" / "lattice-compile"
MODEL = ROOT / "test" / "Tools" / "Inputs" / "three-layers.mlir"

pytestmark = pytest.mark.skipif(not COMPILE.exists(),
                                reason="lattice-compile is not built")


def _samples(count=5):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((count, 2, 64)).astype(np.float32)
    x[:, :, 7] *= 40  # an outlier channel
    return x


def _compile(tmp_path, calib, *extra):
    out = tmp_path / "out" / "model"
    result = subprocess.run([str(COMPILE), str(MODEL), "--recipe", "w8a8", "--calib",
                             str(calib), "-o", str(out), *extra],
                            capture_output=True, text=True)
    return result, out.parent / "model.work" / "stats.safetensors"


def test_statistics_equal_numpy(tmp_path):
    x = _samples()
    np.savez(tmp_path / "calib.npz", input0=x)
    result, stats_path = _compile(tmp_path, tmp_path / "calib.npz")
    assert result.returncode == 0, result.stderr
    stats = safetensors.load(stats_path)
    # The first layer's input is the model's input: numpy's statistics of
    # it, histogram included, exactly.
    ax = np.abs(x.astype(np.float64))
    np.testing.assert_array_equal(stats["first:input.min"], np.float32(x.min()))
    np.testing.assert_array_equal(stats["first:input.max"], np.float32(x.max()))
    np.testing.assert_array_equal(stats["first:input.absmax"],
                                  ax.reshape(-1, 64).max(axis=0).astype(np.float32))
    np.testing.assert_allclose(stats["first:input.absmean"],
                               ax.reshape(-1, 64).mean(axis=0).astype(np.float32),
                               rtol=1e-6)
    counts, _ = np.histogram(ax, bins=2048, range=(0.0, float(ax.max())))
    np.testing.assert_array_equal(stats["first:input.histogram"],
                                  counts.astype(np.float32))
    # Every probe as lattice.calibrate (--stats-output, no recipe) writes it.
    reference = tmp_path / "reference.safetensors"
    calibrate.calibrate(MODEL, {"input0": x}, reference, weights=False, quiet=True)
    expected = safetensors.load(reference)
    assert sorted(stats) == sorted(expected)
    for name in expected:
        np.testing.assert_array_equal(stats[name], expected[name], err_msg=name)
    header = safetensors.load(stats_path, with_metadata=True)[1]
    assert header == {"format": "lattice-stats", "version": "1", "samples": "5"}


def test_compressed_archive(tmp_path):
    x = _samples(3)
    np.savez(tmp_path / "stored.npz", input0=x)
    np.savez_compressed(tmp_path / "compressed.npz", input0=x)
    stored, a = _compile(tmp_path / "a", tmp_path / "stored.npz")
    compressed, b = _compile(tmp_path / "b", tmp_path / "compressed.npz")
    assert stored.returncode == 0 and compressed.returncode == 0, compressed.stderr
    assert a.read_bytes() == b.read_bytes()


def test_lattice_compile_calibrates_in_the_compiler(tmp_path):
    """lattice.compile hands its samples to the compiler: a list of samples
    by position and a dict by name give the statistics of the file."""
    x = _samples(4)
    np.savez(tmp_path / "calib.npz", input0=x)
    _, from_file = _compile(tmp_path, tmp_path / "calib.npz")
    for label, calib in (("list", [(s,) for s in x]), ("dict", {"input0": x})):
        model = compiler.compile(MODEL, "w8a8", calib=calib, quiet=True,
                                 output=tmp_path / label / "model")
        model.close()
        written = tmp_path / label / "model.work" / "stats.safetensors"
        assert written.read_bytes() == from_file.read_bytes(), label


def test_generated_inputs_say_so(tmp_path):
    result = subprocess.run([str(COMPILE), str(MODEL), "--recipe", "w8a8", "-o",
                             str(tmp_path / "model")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "calibrating on 8 generated inputs" in result.stderr
    assert safetensors.load(tmp_path / "model.work" / "stats.safetensors",
                            with_metadata=True)[1]["samples"] == "8"


def _zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _npy(array):
    import io
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("case, message", [
    ("missing", "calibration data has no array for input 'input0' (it has other)"),
    ("shape", "calibration input 'input0' has shape (3, 2, 63); expected (2, 64) or "
              "(samples, 2, 64)"),
    ("nan", "calibration input 'input0' holds NaN or Inf in sample 1"),
    ("empty", "calibration data holds no samples"),
    ("strings", "calibration input 'input0' has dtype <U1, not a number"),
    ("big-endian", "calibration input 'input0' has dtype >f4, not a number"),
    ("not-zip", "not an .npz file (no zip directory)"),
    ("not-npy", "member 'notes.txt' is not a .npy array"),
    ("bzip2", "member 'input0.npy' uses compression method 12"),
    ("fortran", "array 'input0': Fortran order"),
    ("truncated", "array 'input0': fewer bytes than its shape needs"),
    ("garbage", "array 'input0': not a .npy array"),
    ("missing-file", "cannot read calibration data: cannot read"),
    ("huge", "member 'input0.npy' claims 2147483647 bytes from"),
])
def test_bad_calibration_data(tmp_path, case, message):
    path = tmp_path / "calib.npz"
    x = _samples(3)
    if case == "missing":
        np.savez(path, other=x)
    elif case == "shape":
        np.savez(path, input0=x[:, :, :63])
    elif case == "nan":
        x[1, 0, 0] = np.nan
        np.savez(path, input0=x)
    elif case == "empty":
        np.savez(path, input0=x[:0])
    elif case == "strings":
        np.savez(path, input0=np.array([["a"] * 64] * 2))
    elif case == "big-endian":
        np.savez(path, input0=x.astype(">f4"))
    elif case == "not-zip":
        path.write_bytes(b"not an archive at all, but long enough to search")
    elif case == "not-npy":
        _zip(path, {"input0.npy": _npy(x), "notes.txt": b"hello"})
    elif case == "bzip2":
        _zip(path, {"input0.npy": _npy(x)}, zipfile.ZIP_BZIP2)
    elif case == "fortran":
        _zip(path, {"input0.npy": _npy(np.asfortranarray(x))})
    elif case == "truncated":
        _zip(path, {"input0.npy": _npy(x)[:-8]})
    elif case == "garbage":
        _zip(path, {"input0.npy": b"\x00" * 64})
    elif case == "missing-file":
        path = tmp_path / "absent.npz"
    elif case == "huge":
        # A compressed member whose directory entry claims 2 GiB.
        import struct
        _zip(path, {"input0.npy": _npy(x)}, zipfile.ZIP_DEFLATED)
        data = bytearray(path.read_bytes())
        struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 0x7FFFFFFF)
        path.write_bytes(bytes(data))
    result, _ = _compile(tmp_path, path)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


TWO_INPUTS = ROOT / "test" / "Tools" / "Inputs" / "two-inputs.mlir"


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((3, 2, 64), np.float32), "t": np.zeros((2, 2, 64), np.int64)},
     "calibration input 't' has 2 samples, the others 3"),
    ({"x": np.zeros((2, 64), np.float32), "t": np.full((2, 64), 2**40)},
     "calibration input 't' holds 1099511627776 in sample 0, which int32 cannot hold"),
    ({"x": np.zeros((2, 64), np.float32), "t": np.full((2, 64), 1.5)},
     "calibration input 't' holds 1.5 in sample 0, which int32 cannot hold"),
])
def test_samples_that_do_not_fit(tmp_path, arrays, message):
    np.savez(tmp_path / "calib.npz", **arrays)
    result = subprocess.run([str(COMPILE), str(TWO_INPUTS), "--recipe", "w8a8", "--calib",
                             str(tmp_path / "calib.npz"), "-o", str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert message in result.stderr, result.stderr


def test_integer_and_float_inputs(tmp_path):
    """Integer samples reach an int32 input (int64 arrays, as token ids
    come), and the statistics see them: the matmul's input is x + t."""
    x = np.full((2, 2, 64), 0.25, np.float32)
    t = np.arange(2 * 2 * 64).reshape(2, 2, 64) % 7
    np.savez(tmp_path / "calib.npz", x=x, t=t)
    result = subprocess.run([str(COMPILE), str(TWO_INPUTS), "--recipe", "w8a8", "--calib",
                             str(tmp_path / "calib.npz"), "-o", str(tmp_path / "m")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    stats = safetensors.load(tmp_path / "m.work" / "stats.safetensors")
    assert float(stats["fc:input.max"]) == 6.25
    assert float(stats["fc:input.min"]) == 0.25
