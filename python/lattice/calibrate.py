"""Calibration: statistics of a float model's tensors on representative data.

    lattice.calibrate.calibrate("model.mlir", "calib.npz", "stats.safetensors")
    python3 -m lattice.calibrate model.mlir --calib calib.npz -o stats.safetensors

The model gets `lattice.observe` probes on every matmul input and weight
(lattice-opt --lattice-observe), the probes become outputs of the compiled
library (--lattice-export-observations, then lattice-compile), and the
library runs on every calibration sample. The statistics file that results
is what `lattice-quantize activations=static` and `lattice-smoothquant` read;
docs/Calibration.md describes its schema.

Calibration data is an .npz file (or a dict) with one array per model input,
named after the input (`input0`, `input1`, ... unless the model names them),
holding either one sample of the input's shape or a stack of samples along
a new first axis.
"""

import argparse
import pathlib
import re
import sys
import tempfile

import numpy as np

from . import runtime, safetensors, tools

FORMAT = "lattice-stats"
VERSION = "1"

_PROBE = re.compile(r'lattice\.observe %[\w#.$-]+ name\("((?:[^"\\]|\\.)*)"\)'
                    r'(?: channel_axis\((\d+)\))?')


class CalibrationError(ValueError):
    """Calibration data that does not fit the model."""


_ESCAPE = re.compile(rb"\\(\\|[0-9A-Fa-f]{2})")


def _unescape(text):
    r"""A string as MLIR prints it (\\ for a backslash, \HH for a quote or
    a byte that is not printable ASCII) back to the string."""
    data = _ESCAPE.sub(lambda m: b"\\" if m.group(1) == b"\\"
                       else bytes([int(m.group(1), 16)]), text.encode())
    return data.decode("utf-8", errors="replace")


def _probes(observed_ir):
    """The (name, channel axis or None) of every probe in printed IR."""
    probes = {}
    for match in _PROBE.finditer(observed_ir):
        name = _unescape(match.group(1))
        probes[name] = int(match.group(2)) if match.group(2) else None
    return probes


def _stack_samples(samples, inputs):
    """A list of samples (each a tuple of arrays in input order, or one array
    for a model with one input) as a dict of stacked arrays."""
    columns = [[] for _ in inputs]
    for index, sample in enumerate(samples):
        if not isinstance(sample, (list, tuple)):
            sample = (sample,)
        if len(sample) != len(inputs):
            raise CalibrationError(
                f"calibration sample {index} has {len(sample)} arrays; the "
                f"model has {len(inputs)} inputs")
        for column, array in zip(columns, sample):
            column.append(np.asarray(array))
    stacked = {}
    for (name, _, shape), column in zip(inputs, columns):
        if not column:
            continue
        if any(array.shape != column[0].shape for array in column):
            raise CalibrationError(
                f"calibration samples for input '{name}' differ in shape")
        stacked[name] = np.stack(column)
    return stacked


def _samples(calib, inputs):
    """The calibration samples: a list of tuples of arrays, one per input,
    checked against the model's inputs."""
    if isinstance(calib, (str, pathlib.Path)):
        try:
            with np.load(calib, allow_pickle=False) as data:
                calib = {name: data[name] for name in data.files}
        except (OSError, ValueError) as error:
            raise CalibrationError(f"cannot read calibration data '{calib}': "
                                   f"{error}") from None
    if isinstance(calib, (list, tuple)):
        calib = _stack_samples(calib, inputs)
    elif not isinstance(calib, dict):
        raise CalibrationError(
            "calibration data must be an .npz file, a dict of arrays (one "
            "per input) or a list of samples (tuples of arrays), not "
            f"{type(calib).__name__}")
    stacks, count = [], None
    for name, dtype, shape in inputs:
        if name not in calib:
            raise CalibrationError(
                f"calibration data has no array for input '{name}' (it has "
                f"{', '.join(sorted(calib)) or 'none'})")
        array = np.asarray(calib[name])
        if array.shape == shape:
            array = array[None]
        if array.shape[1:] != shape:
            raise CalibrationError(
                f"calibration input '{name}' has shape {array.shape}; expected "
                f"{shape} or [samples, {', '.join(map(str, shape))}]")
        if array.dtype.kind not in "fiu":
            raise CalibrationError(f"calibration input '{name}' has dtype "
                                   f"{array.dtype}, not a number")
        bad = ~np.isfinite(array.astype(np.float64))
        if bad.any():
            sample = int(np.argwhere(bad)[0][0])
            raise CalibrationError(f"calibration input '{name}' holds NaN or "
                                   f"Inf in sample {sample}")
        if count is not None and array.shape[0] != count:
            raise CalibrationError(
                f"calibration input '{name}' has {array.shape[0]} samples, "
                f"the others {count}")
        count = array.shape[0]
        stacks.append(array.astype(dtype))
    if not count:
        raise CalibrationError("calibration data holds no samples")
    return [tuple(stack[i] for stack in stacks) for i in range(count)]


def _progress(label, done, total, quiet):
    """A progress line on stderr, redrawn in place on a terminal."""
    if quiet:
        return
    if sys.stderr.isatty():
        end = "\n" if done == total else ""
        print(f"\rcalibrating: {label} {done}/{total}", end=end,
              file=sys.stderr, flush=True)
    elif done == total:
        print(f"calibrating: {label} {done}/{total}", file=sys.stderr)


class _Accumulator:
    """The running statistics of one probe."""

    def __init__(self, axis, xtx):
        self.axis, self.want_xtx = axis, xtx
        self.min, self.max = np.inf, -np.inf
        self.absmax = self.xtx = None
        self.rows = 0
        self.histogram = None

    def _channels_last(self, x):
        return np.moveaxis(x, self.axis, -1).reshape(-1, x.shape[self.axis])

    def update(self, x):
        x = x.astype(np.float64)
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        if self.axis is None:
            return
        rows = self._channels_last(x)
        absmax = np.abs(rows).max(axis=0)
        self.absmax = absmax if self.absmax is None else np.maximum(self.absmax, absmax)
        if self.want_xtx:
            xtx = rows.T @ rows
            self.xtx = xtx if self.xtx is None else self.xtx + xtx
            self.rows += rows.shape[0]

    def range(self):
        return max(abs(self.min), abs(self.max))

    def update_histogram(self, x, bins):
        counts, _ = np.histogram(np.abs(x.astype(np.float64)), bins=bins,
                                 range=(0.0, self.range() or 1.0))
        self.histogram = counts if self.histogram is None else self.histogram + counts

    def tensors(self, name):
        out = {f"{name}.min": np.float32(self.min),
               f"{name}.max": np.float32(self.max)}
        if self.absmax is not None:
            out[f"{name}.absmax"] = self.absmax
        if self.histogram is not None:
            out[f"{name}.histogram"] = self.histogram
        if self.xtx is not None:
            out[f"{name}.xtx"] = self.xtx
            out[f"{name}.rows"] = np.float32(self.rows)
        return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def calibrate(model, calib, output, *, bins=2048, xtx=False, weights=True,
              quiet=False):
    """Observes the float model `model` (an .mlir file) on `calib` (an .npz
    file or a dict of arrays) and writes the statistics file `output`.
    Returns the statistics as a dict of name -> array."""
    if bins < 0:
        raise CalibrationError(f"bins must be non-negative, got {bins}")
    with tempfile.TemporaryDirectory(prefix="lattice-calibrate-") as work:
        work = pathlib.Path(work)
        # External weights are loaded (the build lives in `work`, away from
        # the model's files); bytecode keeps their constants compact.
        observed = work / "observed.mlirbc"
        folder = pathlib.Path(model).resolve().parent
        tools.run("lattice-opt", model, f"--lattice-load-weights=dir={folder}",
                  f"--lattice-observe=weights={str(weights).lower()}",
                  "--emit-bytecode", "-o", observed)
        listing = work / "observed.mlir"
        tools.run("lattice-opt", observed, "--mlir-elide-elementsattrs-if-larger=8",
                  "-o", listing)
        probes = _probes(listing.read_text())
        if not probes:
            raise CalibrationError(f"{model}: no matmul to observe")
        exported = work / "calibration.mlirbc"
        tools.run("lattice-opt", observed, "--lattice-export-observations",
                  "--emit-bytecode", "-o", exported)
        library = tools.compile_model(exported, work / "calibration")
        try:
            samples = _samples(calib, library.inputs)
            names = [name for name, _, _ in library.outputs]
            missing = sorted(set(probes) - set(names))
            if missing:
                raise CalibrationError(f"probes {missing} are not outputs of "
                                       "the calibration build")
            # x^T x of matmul inputs only: weights need no Hessian.
            stats = {name: _Accumulator(axis, xtx and name.endswith(":input"))
                     for name, axis in probes.items()}
            passes = 2 if bins else 1
            for i, sample in enumerate(samples):
                outputs = dict(zip(names, library(*sample)))
                for name, acc in stats.items():
                    acc.update(outputs[name])
                _progress(f"pass 1/{passes}, sample", i + 1, len(samples), quiet)
            if bins:
                for i, sample in enumerate(samples):
                    outputs = dict(zip(names, library(*sample)))
                    for name, acc in stats.items():
                        acc.update_histogram(outputs[name], bins)
                    _progress("pass 2/2, sample", i + 1, len(samples), quiet)
        finally:
            library.close()
    tensors = {}
    for name, acc in stats.items():
        tensors.update(acc.tensors(name))
    safetensors.save(output, tensors, {"format": FORMAT, "version": VERSION,
                                       "samples": str(len(samples))})
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
    except (CalibrationError, tools.ToolError, runtime.LatticeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
