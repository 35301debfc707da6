#!/usr/bin/env python3
"""Prints or assembles the PTX that `gpu-module-to-binary{format=isa}` left in
the `gpu.binary` ops of an MLIR file (lattice-lower-to-gpu's output).

  gpu-objects.py FILE             prints each object, after a line
                                  `// object @SYMBOL`
  gpu-objects.py FILE --ptxas PTXAS --arch sm_90
                                  assembles each object with ptxas and prints
                                  `ptxas: @SYMBOL ok` (exit 1 on a failure)

FILE may be `-` for standard input.
"""

import argparse
import re
import subprocess
import sys
import tempfile

BINARY = re.compile(r'gpu\.binary @([\w$.]+)')
ASSEMBLY = re.compile(r'assembly = "((?:[^"\\]|\\.)*)"')


def unescape(text):
    """Undoes MLIR's string escapes (\\XX hex bytes, \\\\, \\", \\n, \\t)."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in '\\"':
            out += nxt.encode()
            i += 2
        elif nxt == "n":
            out += b"\n"
            i += 2
        elif nxt == "t":
            out += b"\t"
            i += 2
        else:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
    return out.decode()


def objects(text):
    for line in text.splitlines():
        binary = BINARY.search(line)
        if not binary:
            continue
        for assembly in ASSEMBLY.finditer(line):
            yield binary.group(1), unescape(assembly.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--ptxas", help="assemble each object with this ptxas")
    parser.add_argument("--arch", default="sm_80")
    args = parser.parse_args()
    text = (sys.stdin if args.file == "-" else open(args.file)).read()
    found = list(objects(text))
    if not found:
        print("gpu-objects.py: no gpu.binary with PTX (format=isa) in the "
              "input", file=sys.stderr)
        return 1
    for symbol, ptx in found:
        if not args.ptxas:
            print(f"// object @{symbol}")
            print(ptx)
            continue
        with tempfile.NamedTemporaryFile("w", suffix=".ptx") as source:
            source.write(ptx)
            source.flush()
            result = subprocess.run(
                [args.ptxas, f"-arch={args.arch}", source.name, "-o",
                 "/dev/null"], capture_output=True, text=True)
        if result.returncode != 0:
            print(f"ptxas: @{symbol} failed:\n{result.stderr}", file=sys.stderr)
            return 1
        print(f"ptxas: @{symbol} ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
