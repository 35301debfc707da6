#!/usr/bin/env python3
"""Writes a small statistics file (docs/Calibration.md) for lit tests, with
the Python standard library only.

    make-stats.py OUT [--version V] [--format F] [--dtype D] ENTRY...

An ENTRY is NAME@SHAPE=VALUES: SHAPE is empty for a scalar or sizes joined
by 'x'; VALUES are comma-separated floats ('nan' and 'inf' allowed), e.g.
'fc:input.absmax@4=1,2,3,4' or 'fc:input.max@=4', or ramp:A:B, as many
values as the shape holds from A to B (for weights too large to list). --dtype stores the values
with another safetensors dtype (F16) to test the loader's checks.
"""

import argparse
import json
import struct


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("output")
    parser.add_argument("--version", default="1")
    parser.add_argument("--format", default="lattice-stats")
    parser.add_argument("--dtype", default="F32", choices=["F32", "F16"])
    parser.add_argument("entries", nargs="*")
    args = parser.parse_intermixed_args()
    header = {"__metadata__": {"format": args.format, "version": args.version}}
    data = b""
    for entry in args.entries:
        name, rest = entry.rsplit("@", 1)
        shape_text, values_text = rest.split("=", 1)
        shape = [int(d) for d in shape_text.split("x")] if shape_text else []
        if values_text.startswith("ramp:"):
            first, last = (float(v) for v in values_text.split(":")[1:])
            count = 1
            for size in shape:
                count *= size
            values = [first + (last - first) * i / max(count - 1, 1)
                      for i in range(count)]
        else:
            values = [float(v) for v in values_text.split(",")]
        code = "f" if args.dtype == "F32" else "e"
        blob = struct.pack(f"<{len(values)}{code}", *values)
        header[name] = {"dtype": args.dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    with open(args.output, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


if __name__ == "__main__":
    main()
