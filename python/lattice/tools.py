"""Locating the Lattice command-line tools.

The tools are looked up in $LATTICE_BUILD_DIR/bin, then in the build folder
of this checkout, then on PATH.
"""

import os
import pathlib
import shutil
import subprocess
import sys

_ROOT = pathlib.Path(__file__).resolve().parents[2]


class ToolError(RuntimeError):
    """A Lattice tool is missing or failed; the message holds its output."""


def find(name):
    """The path of the tool `name` (lattice-opt, lattice-compile)."""
    candidates = []
    if os.environ.get("LATTICE_BUILD_DIR"):
        candidates.append(pathlib.Path(os.environ["LATTICE_BUILD_DIR"]) / "bin" / name)
    candidates.append(_ROOT / "build" / "bin" / name)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ToolError(f"{name} not found: build Lattice or set LATTICE_BUILD_DIR")


def missing():
    """Why lattice-opt and lattice-compile cannot run here (a reason to
    skip tests), or None when both are found."""
    try:
        find("lattice-opt")
        find("lattice-compile")
    except ToolError as error:
        return str(error)
    return None


def dense_attr(array, dtype="<f4"):
    """The MLIR dense elements attribute holding `array` stored as `dtype`
    (a hex blob, exact for every value)."""
    import numpy as np  # only the callers that build IR need numpy

    data = np.asarray(array, dtype=dtype).tobytes().hex().upper()
    return f'dense<"0x{data}">'


def run(name, *args, echo=None):
    """Runs the tool `name` with `args`; returns its stderr (remarks).

    lattice-opt prints locations too: layer names travel in name locations
    (loc("fc1")), and the next step looks statistics up by them. With
    `echo`, a predicate on lines, the lines of stderr it accepts are printed
    to sys.stderr as they come (progress of long runs)."""
    extra = ["--mlir-print-debuginfo"] if name == "lattice-opt" else []
    command = [find(name), *map(str, args), *extra]
    if echo is None:
        result = subprocess.run(command, capture_output=True, text=True)
        returncode, stderr = result.returncode, result.stderr
    else:
        lines = []
        with subprocess.Popen(command, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) as process:
            for line in process.stderr:
                lines.append(line)
                if echo(line):
                    print(line, file=sys.stderr, end="", flush=True)
        returncode, stderr = process.returncode, "".join(lines)
    if returncode != 0:
        raise ToolError(f"{name} failed:\n{stderr.strip()}")
    return stderr


def compile_model(model, prefix, *options):
    """Compiles the .mlir file `model` with lattice-compile into
    `prefix`.so (and its weights file) and loads it."""
    from . import runtime  # runtime needs ctypes only; keep imports light

    run("lattice-compile", model, "-o", prefix, *options)
    return runtime.load(f"{prefix}.so")
