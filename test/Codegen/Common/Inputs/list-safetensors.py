#!/usr/bin/env python3
"""Prints each tensor of a safetensors file: name, dtype, shape and values
(floats for F32, integers otherwise), with the standard library only."""

import json
import struct
import sys

FORMATS = {"F32": "f", "I8": "b", "U8": "B", "I32": "i", "F16": "e"}

with open(sys.argv[1], "rb") as f:
    data = f.read()
(size,) = struct.unpack("<Q", data[:8])
header = json.loads(data[8:8 + size])
payload = data[8 + size:]
for name in sorted(k for k in header if k != "__metadata__"):
    entry = header[name]
    begin, end = entry["data_offsets"]
    code = FORMATS[entry["dtype"]]
    count = (end - begin) // struct.calcsize(code)
    values = list(struct.unpack(f"<{count}{code}", payload[begin:end]))
    print(name, entry["dtype"], entry["shape"], values)
