"""Turns the RESULT lines of bench/run.sh into a Markdown table of ratios:
each kernel's effective bandwidth over the DRAM read probe taken right
before it, and its GFLOP/s over the f32 FMA peak of the same run. The lines
of bench/gpu.sh (device=cuda) make a table of their own: the kernels'
bandwidth over the device-to-device copy probe, and their time against
PyTorch's fp16 matmul on the same shape where it ran.

    summarize.py results.txt
"""

import collections
import sys


def parse(lines):
    for line in lines:
        if not line.startswith("RESULT "):
            continue
        fields = dict(part.split("=", 1) for part in line.split()[1:])
        yield fields


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        results = list(parse(f))
    gpu = [r for r in results if "device" in r]
    results = [r for r in results if "device" not in r]
    peak = {}
    cases = collections.defaultdict(list)
    last_probe = {}
    for r in results:
        threads = int(r["threads"])
        if r["peer"] == "probe":
            last_probe[threads] = float(r["gbs"])
        elif r["peer"] == "peak":
            peak[threads] = float(r["gflops"])
        else:
            cases[threads].append((r, last_probe.get(threads, 0.0)))
    for threads in sorted(cases, reverse=True):
        print(f"\n{threads} thread(s), f32 FMA peak "
              f"{peak.get(threads, 0):.0f} GFLOP/s\n")
        print("| op | dtype | M | N | K | mode | median µs | GB/s | probe GB/s "
              "| /probe | GFLOP/s | /peak |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
              "| --- | --- |")
        for r, probe in cases[threads]:
            gbs, gflops = float(r["gbs"]), float(r["gflops"])
            ratio_bw = gbs / probe if probe else 0
            ratio_peak = gflops / peak[threads] if peak.get(threads) else 0
            print(f"| {r['op']} | {r['dtype']} | {r['M']} | {r['N']} | "
                  f"{r['K']} | {r['mode']} | {float(r['median_us']):.0f} | "
                  f"{gbs:.1f} | {probe:.1f} | {ratio_bw:.2f} | {gflops:.1f} | "
                  f"{ratio_peak:.2f} |")
    if gpu:
        summarize_gpu(gpu)


def summarize_gpu(results):
    probes = [float(r["gbs"]) for r in results if r["peer"] == "probe"]
    probe = max(probes) if probes else 0.0
    torch = {(r["M"], r["N"], r["K"]): float(r["median_us"])
             for r in results if r["peer"] == "torch"}
    print(f"\nGPU, device-to-device copy {probe:.0f} GB/s (read + written)\n")
    print("| op | dtype | M | N | K | mode | kernels µs | call µs | launches "
          "| GB/s | /copy | torch f16 µs | torch / lattice |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
          "| --- | --- |")
    for r in results:
        if r["peer"] != "lattice":
            continue
        us, gbs = float(r["median_us"]), float(r["gbs"])
        peer = torch.get((r["M"], r["N"], r["K"]))
        print(f"| {r['op']} | {r['dtype']} | {r['M']} | {r['N']} | {r['K']} | "
              f"{r['mode']} | {us:.1f} | {float(r['wall_us']):.1f} | "
              f"{r['launches']} | {gbs:.0f} | "
              f"{gbs / probe if probe else 0:.2f} | "
              f"{f'{peer:.1f}' if peer else ''} | "
              f"{f'{peer / us:.2f}' if peer else ''} |")


if __name__ == "__main__":
    main()
