"""Writes and compiles the benchmark kernels: one linear layer per shape and
scheme, with random weights, compiled by lattice-compile.

    make_models.py --out DIR --threads 2 [--shapes gemv] [--dtypes w4a16-g32]
    make_models.py --out DIR --target cuda [--gpu-chip sm_90] [--weights-only]

makes DIR/<dtype>_m<M>_n<N>_k<K>.so (and its weights file) for every case
that is not there yet or is older than lattice-compile or the runtime, and
prints the paths of the libraries, shapes first, one per line. With
--weights-only it writes the weights files of libraries already there (a
GPU machine without lattice-compile gets the libraries alone, which are
small, and makes their weights itself).
"""

import argparse
import os
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from lattice import runtime, safetensors  # noqa: E402

SHAPES = {  # name: (M, N, K)
    "gemv": [(1, 4096, 4096), (1, 11008, 4096)],
    "gemm": [(128, 4096, 4096), (512, 4096, 4096)],
}
DTYPES = ["f32", "w8a8", "w4a16-g32", "w4a16-g128"]


def _t(shape, element):
    return "tensor<" + "".join(f"{d}x" for d in shape) + element + ">"


def linear(dtype, m, n, k, rng):
    """The MLIR text and weights of one layer."""
    x, y = _t((m, k), "f32"), _t((m, n), "f32")
    lines = [f"func.func @linear(%x: {x}) -> {y} {{"]
    weight = lambda name, ty: lines.append(  # noqa: E731
        f'  %{name} = lattice.weight "{name}" from "w.safetensors" : {ty}')
    if dtype == "f32":
        weights = {"w": rng.standard_normal((n, k), np.float32)}
        weight("w", _t((n, k), "f32"))
        lines.append(f"  %y = lattice.matmul %x, %w accumulate(f32) : "
                     f"({x}, {_t((n, k), 'f32')}) -> {y}")
    elif dtype == "w8a8":
        wq = _t((n, k), "!lattice.quant<s8, f32, channel<0>>")
        xq = _t((m, k), "!lattice.quant<s8, f32, channel<0>>")
        weights = {"w": rng.integers(-127, 128, (n, k), dtype=np.int8),
                   "s": rng.uniform(0.001, 0.01, n).astype(np.float32)}
        weight("w", wq)
        weight("s", _t((n,), "f32"))
        lines.append(f"  %xq, %xs = lattice.dynamic_quantize %x : ({x}) -> "
                     f"({xq}, {_t((m,), 'f32')})")
        lines.append(f"  %y = lattice.matmul %xq, %w lhs_scale(%xs) "
                     f"rhs_scale(%s) accumulate(i32) : ({xq}, {wq}, "
                     f"{_t((m,), 'f32')}, {_t((n,), 'f32')}) -> {y}")
    else:
        group = int(dtype.split("-g")[1])
        wq = _t((n, k), f"!lattice.quant<s4, f16, group<1, {group}>>")
        st = _t((n, k // group), "f16")
        weights = {"w": rng.integers(-8, 8, (n, k), dtype=np.int8),
                   "s": rng.uniform(0.001, 0.01, (n, k // group)).astype(
                       np.float16)}
        weight("w", wq)
        weight("s", st)
        lines.append(f"  %y = lattice.matmul %x, %w rhs_scale(%s) "
                     f"accumulate(f32) : ({x}, {wq}, {st}) -> {y}")
    lines += [f"  return %y : {y}", "}", ""]
    return "\n".join(lines), weights


def write_weights(library, rng):
    """Writes random weights of the types and shapes `library` declares, as
    lattice-compile stores them: codes (packed or not) as random bytes,
    scales as small positive floats, float weights as small normals."""
    weights = {}
    for name, dtype, shape in runtime.describe(library)["weights"]:
        if dtype in (np.uint8, np.int8):
            weights[name] = rng.integers(0, 256, shape, dtype=np.uint8).view(dtype)
        elif dtype == np.float16:
            weights[name] = rng.uniform(0.001, 0.01, shape).astype(np.float16)
        elif dtype == np.float32:
            weights[name] = (0.05 * rng.standard_normal(shape)).astype(np.float32)
        else:
            sys.exit(f"{library}: weight '{name}' has a type this script "
                     f"does not make ({dtype})")
    safetensors.save(library.with_suffix(".safetensors"), weights)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=pathlib.Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--target-cpu", default="native")
    parser.add_argument("--target", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--gpu-chip", default="sm_90")
    parser.add_argument("--weights-only", action="store_true")
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    parser.add_argument("--dtypes", nargs="*", default=DTYPES)
    parser.add_argument("--build", type=pathlib.Path,
                        default=pathlib.Path(os.environ.get(
                            "LATTICE_BUILD_DIR", ROOT / "build")))
    args = parser.parse_args()
    compiler = args.build / "bin" / "lattice-compile"
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if args.weights_only:
        for library in sorted(args.out.glob("*_m*_n*_k*.so")):
            write_weights(library, rng)
            print(library, flush=True)
        return
    if args.target == "cuda":
        target = ["--target", "cuda", f"--gpu-chip={args.gpu_chip}"]
    else:
        target = [f"--num-threads={args.threads}",
                  f"--target-cpu={args.target_cpu}"]
    # A cached kernel is stale once the compiler or the runtime changed.
    newest_tool = max(
        path.stat().st_mtime
        for path in (compiler, args.build / "lib" / "liblattice_runtime.a"))
    for shape in args.shapes:
        for m, n, k in SHAPES[shape]:
            for dtype in args.dtypes:
                stem = f"{dtype}_m{m}_n{n}_k{k}"
                library = args.out / f"{stem}.so"
                if library.exists() and \
                        library.stat().st_mtime >= newest_tool:
                    print(library, flush=True)
                    continue
                source, weights = linear(dtype, m, n, k, rng)
                work = args.out / f"{stem}.src"
                work.mkdir(exist_ok=True)
                (work / "m.mlir").write_text(source)
                safetensors.save(work / "w.safetensors", weights)
                subprocess.run(
                    [str(compiler), str(work / "m.mlir"), "-o",
                     str(args.out / stem), "--name", "linear"] + target,
                    check=True)
                (work / "w.safetensors").unlink()
                print(f"compiled {stem}", file=sys.stderr, flush=True)
                print(library, flush=True)


if __name__ == "__main__":
    main()
