"""The demo of the CPU slice: quantize a float two-layer MLP to W4A16
(round-to-nearest, groups of 32, f16 scales), compile
examples/mlp-w4a16.mlir with lattice-compile, run the library from Python,
and report quality and speed:

- output SQNR of the compiled W4A16 model against the float model;
- the largest difference from the numpy reference of the quantized model
  (lattice.reference), which it must match to f32 rounding;
- weight bytes, float vs packed, and time per call.

    mlp_demo.py BUILD_DIR WORK_DIR
"""

import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from lattice import reference as ref  # noqa: E402
from lattice import runtime, safetensors  # noqa: E402

GROUP = 32
SCHEME = ref.QuantScheme.parse("s4, f16, group<1, 32>")


def quantize_rtn(w):
    """Symmetric round-to-nearest with one f16 scale per group of 32."""
    groups = w.reshape(w.shape[0], -1, GROUP)
    absmax = np.abs(groups).max(axis=-1)
    scale = ref.to_scale_type(absmax / SCHEME.qmax, "f16").astype(np.float16)
    scale = np.where(scale > 0, scale, np.float16(1))
    codes = ref.quantize(w, scale, None, SCHEME)
    return ref.Quantized(codes, scale, None, SCHEME)


def forward(x, gamma, fc1, fc2):
    """The model, on float or quantized weights, in float64."""
    h = ref.rms_norm(x.astype(np.float64), gamma, 1e-6)
    a = np.maximum(ref.matmul(h, fc1, result_dtype=np.float64), 0)
    return ref.matmul(a, fc2, result_dtype=np.float64)


def sqnr_db(signal, noisy):
    noise = np.sum((signal - noisy) ** 2)
    return 10 * np.log10(np.sum(signal ** 2) / noise)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    build, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2026)
    gamma = rng.uniform(0.5, 1.5, 64).astype(np.float32)
    fc1 = (rng.standard_normal((128, 64)) / 8).astype(np.float32)
    fc2 = (rng.standard_normal((64, 128)) / 11).astype(np.float32)
    q1, q2 = quantize_rtn(fc1), quantize_rtn(fc2)
    safetensors.save(work / "mlp.safetensors", {
        "norm.weight": gamma,
        "fc1.weight": q1.codes.astype(np.int8), "fc1.scale": q1.scale,
        "fc2.weight": q2.codes.astype(np.int8), "fc2.scale": q2.scale})
    shutil.copy(ROOT / "examples" / "mlp-w4a16.mlir", work)
    out = work / "out"
    out.mkdir(exist_ok=True)
    start = time.perf_counter()
    subprocess.run([str(build / "bin" / "lattice-compile"),
                    str(work / "mlp-w4a16.mlir"), "-o", str(out / "mlp")],
                   check=True)
    compile_s = time.perf_counter() - start
    model = runtime.load(out / "mlp.so")

    inputs = rng.standard_normal((256, 1, 64)).astype(np.float32)
    outputs = np.stack([model(x)[0] for x in inputs])
    float_out = np.stack([forward(x, gamma, fc1, fc2) for x in inputs])
    quant_out = np.stack([forward(x, gamma, q1, q2) for x in inputs])
    error = np.abs(outputs - quant_out).max() / np.abs(quant_out).max()

    times = []
    for x in inputs:
        t0 = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t0)
    float_bytes = 4 * (fc1.size + fc2.size)
    packed = safetensors.load(out / "mlp.safetensors")
    packed_bytes = sum(packed[k].nbytes for k in packed
                       if k.startswith("fc"))

    print(f"compiled examples/mlp-w4a16.mlir in {compile_s:.2f} s -> "
          f"{out / 'mlp.so'}")
    print()
    print("| model | output SQNR vs float | max error vs reference "
          "| linear weight bytes | µs per call (Python) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| float (numpy) | — | — | {float_bytes} | — |")
    print(f"| W4A16 g32, compiled | {sqnr_db(float_out, outputs):.1f} dB | "
          f"{error:.1e} of max |y| | {packed_bytes} "
          f"({8 * packed_bytes / (fc1.size + fc2.size):.2f} bits/weight) | "
          f"{np.median(times) * 1e6:.1f} |")
    if not error < 1e-5:
        sys.exit("the compiled model does not match the reference")


if __name__ == "__main__":
    main()
