"""Reading the ONNX file: the protobuf, with weights mapped where they lie
(in the .onnx file or its external data files), and initializers as arrays."""

import mmap
import os
import pathlib
import re

import numpy as np

from .common import _MAPPED_BYTES, _MAX_ELEMENTS, OnnxImportError


class _Malformed(Exception):
    """The protobuf encoding ends or nests wrongly."""


def _varint(buf, pos, end):
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf, start, end):
    """(field, wire type, tag start, value start, value end) of each field of
    the message buf[start:end]; a varint's value is itself."""
    pos = start
    while pos < end:
        tag = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, after = _varint(buf, pos, end)
            yield field, wire, tag, value, after
            pos = after
            continue
        if wire == 2:
            length, pos = _varint(buf, pos, end)
            after = pos + length
        elif wire in (1, 5):
            after = pos + (8 if wire == 1 else 4)
        else:
            raise _Malformed
        if after > end:
            raise _Malformed
        yield field, wire, tag, pos, after
        pos = after


def _encode_varint(value):
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _length_field(field, payload):
    return _encode_varint(field << 3 | 2) + _encode_varint(len(payload)) + payload


# Field numbers of onnx.proto.
_MODEL_GRAPH, _GRAPH_INITIALIZER = 7, 5
_TENSOR_DATA_TYPE, _TENSOR_RAW_DATA, _TENSOR_EXTERNAL_DATA, _TENSOR_DATA_LOCATION = 2, 9, 13, 14


def _external_tensor(buf, tag, start, end, location):
    """The encoded initializer field buf[tag:end] (a TensorProto in
    buf[start:end]), with large float raw data replaced by a reference to
    where it lies in the file `location`."""
    data_type, raw = None, None
    for field, wire, _, value, after in _fields(buf, start, end):
        if field == _TENSOR_DATA_TYPE and wire == 0:
            data_type = value
        elif field == _TENSOR_RAW_DATA and wire == 2:
            raw = (value, after)
        elif field == _TENSOR_DATA_LOCATION:
            return buf[tag:end]  # already external
    if data_type != 1 or raw is None or raw[1] - raw[0] < _MAPPED_BYTES:
        return buf[tag:end]
    payload = bytearray()
    for field, wire, field_tag, value, after in _fields(buf, start, end):
        if field != _TENSOR_RAW_DATA:
            payload += buf[field_tag:after]
    for key, value in (("location", location), ("offset", str(raw[0])),
                       ("length", str(raw[1] - raw[0]))):
        entry = _length_field(1, key.encode()) + _length_field(2, value.encode())
        payload += _length_field(_TENSOR_EXTERNAL_DATA, entry)
    payload += _encode_varint(_TENSOR_DATA_LOCATION << 3) + _encode_varint(1)
    return _length_field(_GRAPH_INITIALIZER, bytes(payload))


def _without_raw_weights(buf, location):
    """The ModelProto bytes `buf` (a whole ONNX file) with the raw data of
    every large float initializer replaced by ONNX external data that points
    at those bytes in the file itself (`location`), so that parsing copies
    none of them; None when the encoding is malformed (the parser then says
    what is wrong)."""
    try:
        model = bytearray()
        for field, wire, tag, start, end in _fields(buf, 0, len(buf)):
            if field != _MODEL_GRAPH or wire != 2:
                model += buf[tag:end]
                continue
            graph = bytearray()
            for g_field, g_wire, g_tag, g_start, g_end in _fields(buf, start, end):
                if g_field == _GRAPH_INITIALIZER and g_wire == 2:
                    graph += _external_tensor(buf, g_tag, g_start, g_end, location)
                else:
                    graph += buf[g_tag:g_end]
            model += _length_field(_MODEL_GRAPH, bytes(graph))
        return bytes(model)
    except _Malformed:
        return None


def _parse(path):
    """The ModelProto of the ONNX file `path`, its large float initializers
    left as external data in the file itself."""
    import onnx

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    try:
        stripped = _without_raw_weights(buf, path.name) if size else None
    finally:
        if size:
            buf.close()
    if stripped is None:
        return onnx.load(str(path), load_external_data=False)
    model = onnx.ModelProto()
    model.ParseFromString(stripped)
    return model


def _load(path):
    """The ModelProto of `path`, with external data checked to lie in files
    inside the model's folder, and {initializer name: (file, offset, length)}
    for the float initializers to map from those files (the others' data is
    read into the protobuf)."""
    import onnx
    from onnx import numpy_helper  # noqa: F401 (checked importable here)

    path = pathlib.Path(path)
    if not path.is_file():
        raise OnnxImportError(f"{path}: no such file")
    try:
        model = _parse(path)
    except Exception as error:  # protobuf raises several types
        raise OnnxImportError(f"{path}: not a valid ONNX file ({error})") from None
    if not model.HasField("graph"):
        raise OnnxImportError(f"{path}: not a valid ONNX file (no graph)")
    folder = path.resolve().parent
    initializers = list(model.graph.initializer)
    tensors = initializers[:]
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                tensors.append(attr.t)
    mapped = {}
    for index, tensor in enumerate(tensors):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        target = (folder / location).resolve()
        if not location or os.path.isabs(location) or folder not in target.parents:
            raise OnnxImportError(
                f"{path}: tensor '{tensor.name}' has external data '{location}' "
                "outside the model's folder")
        if not target.is_file():
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': external data "
                                  f"file '{location}' not found")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': malformed external "
                                  "data offset or length") from None
        size = target.stat().st_size
        if offset < 0 or offset > size or (length is not None and
                                           (length < 0 or offset + length > size)):
            raise OnnxImportError(f"{path}: tensor '{tensor.name}': external data "
                                  f"[{offset}, +{length}) is outside '{location}' "
                                  f"({size} bytes)")
        length = size - offset if length is None else length
        if index < len(initializers) and tensor.data_type == onnx.TensorProto.FLOAT:
            mapped[tensor.name] = (target, offset, length)
            continue
        with open(target, "rb") as f:
            f.seek(offset)
            tensor.raw_data = f.read(length)
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]
    _validate(model, path)
    return model, mapped


# A tensor's typed payloads, any of which beside raw_data is a second copy.
_TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data",
                 "double_data", "uint64_data")


def _validate(model, path):
    """Checks of the graph as a whole, before any of it is imported: the IR
    version, unique names (graph inputs, initializers, the values nodes
    produce), one payload per tensor, and attribute types against the
    operators' schemas."""
    import onnx

    if not 3 <= model.ir_version <= onnx.IR_VERSION:
        raise OnnxImportError(f"{path}: IR version {model.ir_version} is not supported "
                              f"(3 to {onnx.IR_VERSION})")
    graph = model.graph
    _check_text(graph, path)
    defined = {}
    for kind, names in (("graph input", [i.name for i in graph.input]),
                        ("initializer", [t.name for t in graph.initializer])):
        seen = set()
        for name in names:
            if name in seen:
                raise OnnxImportError(f"{path}: {kind} '{name}' is declared twice")
            seen.add(name)
            defined.setdefault(name, kind)
    tensors = [(t, f"initializer '{t.name}'") for t in graph.initializer]
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                 None)
    def check_nodes(graph, scope):
        for index, node in enumerate(graph.node):
            where = f"node '{node.name or index}' ({node.op_type}){scope}"
            for output in node.output:
                if not output:
                    continue
                if output in defined:
                    raise OnnxImportError(f"{path}: {where} produces '{output}', which "
                                          f"{defined[output]} already defines")
                defined[output] = where
            try:
                schema = onnx.defs.get_schema(node.op_type, opset or 1, node.domain)
            except Exception:  # an operator that onnx does not know: the importer says
                schema = None
            if schema is not None:
                for what, count, low, high in (
                        ("inputs", len(node.input), schema.min_input, schema.max_input),
                        ("outputs", len(node.output), schema.min_output,
                         schema.max_output)):
                    if not low <= count <= high:
                        takes = (f"exactly {low}" if low == high else
                                 f"at least {low}" if high >= 2 ** 31 - 1 else
                                 f"{low} to {high}")
                        raise OnnxImportError(f"{path}: {where} has {count} {what}; "
                                              f"{node.op_type} takes {takes}")
                given = {attr.name for attr in node.attribute}
                for name, attribute in schema.attributes.items():
                    if attribute.required and name not in given:
                        raise OnnxImportError(f"{path}: {where} lacks its required "
                                              f"attribute '{name}'")
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.TENSOR:
                    tensors.append((attr.t, f"{where}: attribute '{attr.name}'"))
                if attr.type in (onnx.AttributeProto.STRING, onnx.AttributeProto.STRINGS):
                    for text in [attr.s] if attr.type == onnx.AttributeProto.STRING \
                            else attr.strings:
                        try:
                            text.decode()
                        except UnicodeDecodeError:
                            raise OnnxImportError(f"{path}: {where}: attribute "
                                                  f"'{attr.name}' is not valid UTF-8 "
                                                  f"({text!r})") from None
                if schema is not None and attr.name not in schema.attributes:
                    raise OnnxImportError(
                        f"{path}: {where}: '{attr.name}' is not an attribute of "
                        f"{node.op_type} (opset {schema.since_version})")
                expected = schema.attributes.get(attr.name) if schema else None
                if expected is not None and attr.type != expected.type:
                    kinds = onnx.AttributeProto.AttributeType
                    raise OnnxImportError(
                        f"{path}: {where}: attribute '{attr.name}' is "
                        f"{kinds.Name(attr.type)}; {node.op_type} takes "
                        f"{kinds.Name(expected.type)}")
                if attr.type == onnx.AttributeProto.GRAPH:
                    # A subgraph (a branch of an If): its names are in the
                    # same single-assignment namespace as the graph's.
                    inner = f" in the '{attr.name}' of {where}"
                    for init in attr.g.initializer:
                        if init.name in defined:
                            raise OnnxImportError(
                                f"{path}: initializer '{init.name}'{inner} is "
                                f"already defined by {defined[init.name]}")
                        defined[init.name] = f"initializer{inner}"
                        tensors.append((init, f"initializer '{init.name}'{inner}"))
                    check_nodes(attr.g, inner)

    check_nodes(graph, "")
    for tensor, where in tensors:
        if tensor.HasField("raw_data") and any(len(getattr(tensor, f))
                                               for f in _TYPED_FIELDS):
            raise OnnxImportError(f"{path}: {where} has both raw data and typed data")


def _check_text(graph, path):
    """Names, operator types and domains must be text: protobuf hands back
    bytes for a string field that is not valid UTF-8."""
    fields = [("graph input", i.name) for i in graph.input]
    fields += [("graph output", o.name) for o in graph.output]
    fields += [("value info", v.name) for v in graph.value_info]
    fields += [("initializer", t.name) for t in graph.initializer]
    for index, node in enumerate(graph.node):
        where = f"node {index}"
        fields += [(where, node.name), (where, node.op_type), (where, node.domain)]
        fields += [(where, name) for name in list(node.input) + list(node.output)]
        fields += [(where, attr.name) for attr in node.attribute]
    for where, text in fields:
        if not isinstance(text, str):
            raise OnnxImportError(f"{path}: {where}: a name or type that is not valid "
                                  f"UTF-8 ({text!r})")
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                _check_text(attr.g, path)


def _check_dims(tensor, where):
    """The element count of `tensor`, checked."""
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' has a negative dimension")
    count = 1
    for d in dims:
        count *= d
        if count > _MAX_ELEMENTS:
            raise OnnxImportError(f"{where}: tensor '{tensor.name}' has {dims} elements, "
                                  "more than Lattice supports")
    return count


def _mapped_array(tensor, source):
    """The float initializer `tensor` as a read-only array mapped from
    `source` (file, offset, length): no copy in memory."""
    count = _check_dims(tensor, "initializer")
    target, offset, length = source
    if length != 4 * count:
        raise OnnxImportError(f"initializer: tensor '{tensor.name}' has {length} bytes "
                              f"of external data, its shape {list(tensor.dims)} needs "
                              f"{4 * count}")
    if count == 0:
        return np.zeros(tuple(tensor.dims), np.float32)
    return np.memmap(target, dtype="<f4", mode="r", offset=offset,
                     shape=tuple(tensor.dims))


def _to_array(tensor, where):
    import onnx
    from onnx import numpy_helper

    dims = list(tensor.dims)
    count = _check_dims(tensor, where)
    if tensor.data_type == onnx.TensorProto.STRING:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' holds strings")
    if (tensor.data_type == onnx.TensorProto.FLOAT and tensor.HasField("raw_data")
            and len(tensor.raw_data) == 4 * count):
        # A read-only view of the model's bytes, not a copy: an importer
        # that copied every weight held the model twice.
        return np.frombuffer(tensor.raw_data, dtype="<f4").reshape(dims)
    try:
        array = numpy_helper.to_array(tensor)
    except Exception as error:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' is malformed "
                              f"({error})") from None
    if array.size != count:
        raise OnnxImportError(f"{where}: tensor '{tensor.name}' holds {array.size} "
                              f"values for shape {dims}")
    return array.reshape(dims)


def _attrs(node):
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _clean_name(text):
    text = text.strip("/")
    parts = [p for p in text.split("/") if p]
    if len(parts) > 1:
        parts = parts[:-1]  # the trailing op name ("MatMul", "Conv")
    name = ".".join(parts)
    name = re.sub(r"[^A-Za-z0-9_.\-]", "_", name)
    return name or "layer"
