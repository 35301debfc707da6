"""Writes a seed corpus for one of the file-format fuzzers: valid files of
the kinds Lattice reads, and a few near misses, with the Python standard
library only.

Usage: make-seeds.py {safetensors,stats,npz,recipe,loader} <source root> <dir>
"""

import io
import json
import pathlib
import re
import struct
import sys
import zipfile


def safetensors(tensors, metadata=None, pad_to=1):
    """A safetensors file: `tensors` maps names to (dtype, shape, bytes)."""
    header, payload = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(payload), len(payload) + len(data)]}
        payload += data
    text = json.dumps(header).encode()
    text += b" " * ((-(8 + len(text))) % pad_to)
    return struct.pack("<Q", len(text)) + text + payload


def f32(*values):
    return struct.pack(f"<{len(values)}f", *values)


def stats_file(channels, fields=("absmax",), version="1"):
    """A statistics file of one probe, `fc:input`, with `channels` channels."""
    c = channels
    absmax = [float(i + 1) for i in range(c)]
    tensors = {
        "fc:input.min": ("F32", [], f32(-float(c))),
        "fc:input.max": ("F32", [], f32(float(c) / 2)),
        "fc:input.histogram": ("F32", [8], f32(5, 4, 3, 2, 1, 1, 0, 1)),
    }
    if "absmax" in fields:
        tensors["fc:input.absmax"] = ("F32", [c], f32(*absmax))
    if "absmean" in fields:
        tensors["fc:input.absmean"] = ("F32", [c], f32(*[a / 2 for a in absmax]))
    if "xtx" in fields:
        tensors["fc:input.xtx"] = ("F32", [c, c], f32(*[1.0] * (c * c)))
        tensors["fc:input.rows"] = ("F32", [], f32(16))
    if "cross" in fields:
        tensors["fc:input.cross"] = ("F32", [c, c], f32(*[0.5] * (c * c)))
    return safetensors(tensors, {"format": "lattice-stats", "version": version})


def npy(descr, shape, data, version=1):
    header = ("{'descr': '%s', 'fortran_order': False, 'shape': %s, }"
              % (descr, repr(tuple(shape))))
    prefix = 10 if version == 1 else 12
    header += " " * ((-(prefix + len(header) + 1)) % 64) + "\n"
    size = (struct.pack("<H", len(header)) if version == 1
            else struct.pack("<I", len(header)))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + data


def npz(arrays, compression):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in arrays.items():
            archive.writestr(name + ".npy", data)
    return out.getvalue()


def fake_model_weights(pad_to):
    """The weights of the runtime tests' hand-written model (FakeModel.h)."""
    return safetensors({
        "w": ("F32", [2, 4], f32(*range(1, 9))),
        "codes": ("U8", [3], bytes([1, 2, 3])),
        "scale": ("F16", [2], struct.pack("<2e", 1.0, 2.0)),
    }, {"format": "pt"}, pad_to)


def seeds(kind, root):
    if kind in ("safetensors", "stats"):
        yield stats_file(4)
        yield stats_file(3, ("absmax", "absmean", "xtx", "cross"))
        yield stats_file(1, ())
        yield stats_file(2, version="2")
    if kind == "safetensors":
        yield safetensors({})
        yield safetensors({
            "layer.weight": ("F32", [2, 3], f32(*range(6))),
            "layer.codes": ("I8", [4], bytes([1, 255, 3, 128])),
            "layer.scale": ("BF16", [1], b"\x80\x3f"),
            "layer.count": ("I64", [1], struct.pack("<q", 7)),
            "empty": ("F32", [0, 5], b""),
        }, {"source": "seed"}, 64)
        yield fake_model_weights(64)
    if kind == "loader":
        yield fake_model_weights(1)
        yield fake_model_weights(64)
        yield safetensors({"w": ("F32", [2, 4], f32(*range(8)))})
    if kind == "npz":
        arrays = {
            "input_ids": npy("<i8", [2, 3], struct.pack("<6q", *range(6))),
            "x": npy("<f4", [2, 2], f32(1, -2, 3.5, 0)),
            "mask": npy("|b1", [3], bytes([1, 0, 1])),
            "half": npy("<f2", [2], struct.pack("<2e", 0.5, -1), version=2),
            "bytes": npy("|u1", [], bytes([9])),
        }
        yield npz(arrays, zipfile.ZIP_STORED)
        yield npz(arrays, zipfile.ZIP_DEFLATED)
        yield npz({"text": npy("<U3", [1], "abc".encode("utf-32-le"))},
                  zipfile.ZIP_STORED)
    if kind == "recipe":
        docs = (root / "docs" / "Recipes.md").read_text()
        for block in re.findall(r"```json\n(.*?)```", docs, re.S):
            yield block.encode()
        yield (root / "test/Dialect/Lattice/Inputs/mixed-recipe.json").read_bytes()
        yield json.dumps({
            "recipe": "w4a16-gptq", "awq": True, "awq_grid": 10,
            "qep": True, "qep_alpha": 0.5,
            "layers": [{"match": "down_proj$", "bits": 8,
                        "granularity": "channel", "method": "gptq",
                        "damp": 0.01, "act_order": True, "block_size": 64},
                       {"match": ".*", "bits": "ternary", "keep_float": False,
                        "clip": "mse", "scale_type": "f16",
                        "symmetric": False, "group_size": 32}],
        }).encode()
        yield json.dumps({"recipe": "w8a8", "outlier_threshold": 6.0}).encode()


def main():
    kind, root, corpus = sys.argv[1], pathlib.Path(sys.argv[2]), \
        pathlib.Path(sys.argv[3])
    corpus.mkdir(parents=True, exist_ok=True)
    count = 0
    for count, data in enumerate(seeds(kind, root), 1):
        (corpus / f"seed-{count:02d}").write_bytes(data)
    if count == 0:
        sys.exit(f"no seeds for {kind}")
    print(f"{count} seeds")


if __name__ == "__main__":
    main()
