"""Calibration: statistics of a float model's tensors on representative data.

    lattice.calibrate.calibrate("model.mlir", "calib.npz", "stats.safetensors")
    python3 -m lattice.calibrate model.mlir --calib calib.npz -o stats.safetensors

The compiler does the work (`lattice-compile --stats-output`, one process):
it puts `lattice.observe` probes on every matmul input (and weight), builds
the model with the probes as outputs, runs it on every calibration sample
and accumulates the statistics in C++. The statistics file that results is
what `lattice-quantize activations=static` and `lattice-smoothquant` read;
docs/Calibration.md describes its schema.

Calibration data is an .npz file (or a dict of arrays, or a list of
samples) with one array per model input, named after the input (`input0`,
`input1`, ... unless the model names them), holding either one sample of
the input's shape or a stack of samples along a new first axis.
"""

import argparse
import pathlib
import sys
import tempfile

import numpy as np

from . import safetensors, tools


class CalibrationError(ValueError):
    """Calibration data that does not fit the model."""


def samples_file(calib, work):
    """`calib` as an .npz file for lattice-compile: a path as it is, a dict
    of arrays saved under its names, a list of samples (each a tuple of
    arrays in input order, or one array) stacked and saved by position
    (input0, input1, ...)."""
    if isinstance(calib, (str, pathlib.Path)):
        return pathlib.Path(calib)
    if isinstance(calib, (list, tuple)):
        samples = [s if isinstance(s, (list, tuple)) else (s,) for s in calib]
        if not samples:
            raise CalibrationError("calibration data holds no samples")
        if any(len(s) != len(samples[0]) for s in samples):
            raise CalibrationError(
                "calibration samples differ in their number of arrays")
        try:
            calib = {f"input{i}": np.stack([np.asarray(s[i]) for s in samples])
                     for i in range(len(samples[0]))}
        except ValueError as error:
            raise CalibrationError(
                f"calibration samples differ in shape: {error}") from None
    if not isinstance(calib, dict):
        raise CalibrationError(
            "calibration data must be an .npz file, a dict of arrays (one "
            "per input) or a list of samples (tuples of arrays), not "
            f"{type(calib).__name__}")
    path = pathlib.Path(work) / "calibration.npz"
    np.savez(path, **{name: np.asarray(array) for name, array in calib.items()})
    return path


def calibrate(model, calib, output, *, bins=2048, xtx=False, weights=True,
              quiet=False):
    """Observes the float model `model` (an .mlir file) on `calib` and
    writes the statistics file `output`: per-tensor min and max,
    per-channel absmax, `bins` histogram bins of |x| (0: none), x^T x of
    every matmul input with `xtx`, the weights' absmax with `weights`.
    Returns the statistics as a dict of name -> array."""
    if bins < 0:
        raise CalibrationError(f"bins must be non-negative, got {bins}")
    with tempfile.TemporaryDirectory(prefix="lattice-calibrate-") as work:
        options = ["--calib-bins", str(bins)]
        if xtx:
            options.append("--calib-xtx")
        if weights:
            options.append("--observe-weights")
        try:
            tools.run("lattice-compile", model, "--calib", samples_file(calib, work),
                      "--stats-output", output, *options,
                      "-o", pathlib.Path(work) / "model")
        except tools.ToolError as error:
            lines = [line.replace("lattice-compile: ", "", 1)
                     for line in str(error).splitlines()[1:]
                     if not line.startswith("lattice-compile: note:")]
            raise CalibrationError("\n".join(lines) or str(error)) from None
    tensors, metadata = safetensors.load(output, with_metadata=True)
    samples = metadata.get("samples", "?")
    passes = 2 if bins else 1
    if not quiet:
        for done in range(1, passes + 1):
            print(f"calibrating: pass {done}/{passes}, sample {samples}/{samples}",
                  file=sys.stderr)
    return tensors


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m lattice.calibrate",
        description="Gather calibration statistics of a float Lattice model.")
    parser.add_argument("model", help="the float model (.mlir)")
    parser.add_argument("--calib", required=True,
                        help=".npz file with one array per model input")
    parser.add_argument("-o", "--output", required=True,
                        help="the statistics file to write (.safetensors)")
    parser.add_argument("--bins", type=int, default=2048,
                        help="histogram bins of |x| (0: no histograms)")
    parser.add_argument("--xtx", action="store_true",
                        help="also record x^T x of every matmul input")
    parser.add_argument("--no-weights", action="store_true",
                        help="do not observe the weights")
    parser.add_argument("-q", "--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        calibrate(args.model, args.calib, args.output, bins=args.bins,
                  xtx=args.xtx, weights=not args.no_weights, quiet=args.quiet)
    except (CalibrationError, tools.ToolError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
