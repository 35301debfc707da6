"""The peer of lattice-gpu-bench: PyTorch's fp16 matmul (cuBLAS) on the
shapes of bench/make_models.py, timed the same way (cold: the calls take
turns over weight copies of at least 256 MiB in all; CUDA events around each
call), printed as RESULT lines with peer=torch.

    python3 bench/gpu_torch.py [--mode cold|hot] [--iters 200] [--shapes gemv]

Needs PyTorch with a CUDA device; without one it says so and exits 0, as a
peer that is absent.
"""

import argparse
import statistics
import sys

from make_models import SHAPES


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["cold", "hot"], default="cold")
    parser.add_argument("--iters", type=int, default=200)
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES))
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("gpu_torch.py: no PyTorch; the torch peer is skipped", file=sys.stderr)
        return
    if not torch.cuda.is_available():
        print("gpu_torch.py: PyTorch sees no CUDA device; the torch peer is "
              "skipped", file=sys.stderr)
        return
    device = torch.device("cuda")
    for shape in args.shapes:
        for m, n, k in SHAPES[shape]:
            weight_bytes = 2 * n * k
            copies = max(2, (256 << 20) // weight_bytes + 1) if args.mode == "cold" else 1
            weights = [torch.randn(n, k, dtype=torch.float16, device=device)
                       for _ in range(copies)]
            x = torch.randn(m, k, dtype=torch.float16, device=device)
            for i in range(2 * copies + 3):
                torch.matmul(x, weights[i % copies].t())
            torch.cuda.synchronize()
            samples = []
            for i in range(args.iters):
                start = torch.cuda.Event(enable_timing=True)
                end = torch.cuda.Event(enable_timing=True)
                start.record()
                torch.matmul(x, weights[i % copies].t())
                end.record()
                end.synchronize()
                samples.append(start.elapsed_time(end) * 1e-3)
            mid = statistics.median(samples)
            total = weight_bytes + 2 * m * k + 2 * m * n
            print(f"RESULT peer=torch op={'gemv' if m == 1 else 'gemm'} dtype=f16 "
                  f"M={m} N={n} K={k} device=cuda mode={args.mode} "
                  f"median_us={mid * 1e6:.1f} min_us={min(samples) * 1e6:.1f} "
                  f"max_us={max(samples) * 1e6:.1f} "
                  f"gflops={2 * m * n * k / mid / 1e9:.2f} "
                  f"gbs={total / mid / 1e9:.2f} bytes={total} iters={len(samples)}",
                  flush=True)
            del weights


if __name__ == "__main__":
    main()
