"""The importer: walks the graph and dispatches each node to its handler."""

import re
import sys

import numpy as np

from .common import _MAX_ELEMENTS, MAX_OPSET, MIN_OPSET, OnnxImportError
from .emitter import Emitter, Value
from .loader import _attrs, _clean_name, _mapped_array, _to_array
from .ops_elementwise import _ElementwiseOps
from .ops_shape import _ShapeOps
from .ops_reduce import _ReduceOps
from .ops_norm import _NormOps
from .ops_linear import _LinearOps
from .ops_conv import _ConvOps
from .ops_recurrent import _RecurrentOps


class _Importer(_ElementwiseOps, _ShapeOps, _ReduceOps, _NormOps, _LinearOps, _ConvOps,
                _RecurrentOps):
    """Imports one ModelProto: the graph walked in order, each node's handler
    (op_<OpType>, from the operator families' mixins) emitting MLIR text."""

    def __init__(self, model, weights_file, shapes, quiet, mapped=None):
        self.model = model
        self.mapped = mapped or {}
        self.graph = model.graph
        self.shapes = shapes or {}
        self.quiet = quiet
        self.opset = None
        for entry in model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                self.opset = entry.version
        if self.opset is None:
            raise OnnxImportError("the model imports no version of the default ONNX "
                                  "operator set")
        if not MIN_OPSET <= self.opset <= MAX_OPSET:
            raise OnnxImportError(f"opset {self.opset} is not supported (Lattice imports "
                                  f"opsets {MIN_OPSET} to {MAX_OPSET})")
        self.e = Emitter(weights_file)
        self.env = {}          # ONNX name -> Value or np.ndarray
        self.materialized = {}  # ONNX name -> Value of a constant
        self.layer_names = set()
        self.node = None
        self.producer = {}
        self.consumers = {}
        for node in self.graph.node:
            for out in node.output:
                self.producer[out] = node
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.static = {}
        for init in self.graph.initializer:
            self.static[init.name] = init
        for node in self.graph.node:
            if node.op_type == "Constant" and node.output:
                self.static[node.output[0]] = node

    # -- diagnostics ----------------------------------------------------------

    def where(self, node=None):
        node = node or self.node
        name = node.name or f"#{self.position(node)}"
        return f"node '{name}' ({node.op_type}, opset {self.opset})"

    def position(self, node):
        """The index of `node` in the graph (wrappers compare by value)."""
        for index, candidate in enumerate(self.graph.node):
            if candidate == node:
                return index
        return "?"

    def fail(self, message):
        raise OnnxImportError(f"{self.where()}: {message}")

    # -- values ---------------------------------------------------------------

    def const(self, name):
        """The value of `name` when it is known at import time, else None."""
        if not name:
            return None
        value = self.env.get(name)
        return value if isinstance(value, np.ndarray) else None

    def get(self, name):
        if name not in self.env:
            self.fail(f"input '{name}' is neither a graph input, an initializer nor "
                      "the output of an earlier node")
        return self.env[name]

    def value(self, item, name=None):
        """A run-time Value for an env entry (constants are emitted once)."""
        if isinstance(item, Value):
            return item
        key = (name, id(item)) if name else None
        if key in self.materialized:
            return self.materialized[key]
        value = self.e.constant(item, name=name)
        if key:
            self.materialized[key] = value
        return value

    def static_array(self, name):
        """The array of an initializer or Constant node, before emission."""
        item = self.static.get(name)
        if item is None:
            return None
        if hasattr(item, "op_type"):
            attrs = _attrs(item)
            if "value" in attrs:
                return _to_array(attrs["value"], self.where(item))
            for key in ("value_float", "value_int"):
                if key in attrs:
                    return np.array(attrs[key])
            for key in ("value_floats", "value_ints"):
                if key in attrs:
                    return np.array(attrs[key])
            return None
        return _to_array(item, "initializer")

    def layer_name(self, node, weight_name=""):
        if node.name:
            base = _clean_name(node.name)
        elif weight_name and not weight_name.startswith("onnx::"):
            base = re.sub(r"\.weight$", "", weight_name)
            base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)
        else:
            base = f"{node.op_type.lower()}{self.position(node)}"
        name, n = base, 2
        while name in self.layer_names:
            name = f"{base}_{n}"
            n += 1
        self.layer_names.add(name)
        return name

    # -- recognising norms ------------------------------------------------------

    def _op(self, name, *types):
        node = self.producer.get(name)
        return node if node is not None and node.op_type in types else None

    def _scalar(self, name):
        array = self.static_array(name)
        if array is None or array.size != 1:
            return None
        return float(array.reshape(-1)[0])

    def _last_axis_reduce(self, name, op_type):
        """The input of a keepdims reduction `op_type` over the last axis."""
        node = self._op(name, op_type)
        if node is None:
            return None
        attrs = _attrs(node)
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            array = self.static_array(node.input[1])
            axes = None if array is None else array.reshape(-1).tolist()
        if list(axes or []) != [-1] or attrs.get("keepdims", 1) != 1:
            return None
        return node.input[0]

    def _square_of(self, name):
        node = self._op(name, "Pow", "Mul")
        if node is None:
            return None
        if node.op_type == "Mul":
            return node.input[0] if node.input[0] == node.input[1] else None
        return node.input[0] if self._scalar(node.input[1]) == 2.0 else None

    def _sqrt_plus_eps(self, name):
        """(t, eps) for name = Sqrt(t + eps)."""
        sqrt = self._op(name, "Sqrt")
        add = sqrt and self._op(sqrt.input[0], "Add")
        if add is None:
            return None
        for a, b in (add.input, reversed(add.input)):
            eps = self._scalar(b)
            if eps is not None and eps > 0:
                return a, eps
        return None

    def _rms_core(self, name):
        """(x, eps) when `name` is x / sqrt(mean(x^2, -1) + eps)."""
        node = self._op(name, "Mul", "Div")
        if node is None:
            return None
        pairs = ([(node.input[0], node.input[1])] if node.op_type == "Div" else
                 [(node.input[0], node.input[1]), (node.input[1], node.input[0])])
        for x, r in pairs:
            s = r
            if node.op_type == "Mul":
                inv = self._op(r, "Reciprocal", "Div")
                if inv is None:
                    continue
                if inv.op_type == "Div":
                    if self._scalar(inv.input[0]) != 1.0:
                        continue
                    s = inv.input[1]
                else:
                    s = inv.input[0]
            found = self._sqrt_plus_eps(s)
            if found and self._square_of(self._last_axis_reduce(found[0], "ReduceMean")) == x:
                return x, found[1]
        return None

    def _layer_core(self, name):
        """(x, eps) when `name` is (x - mean(x)) / sqrt(var(x) + eps)."""
        div = self._op(name, "Div")
        sub = div and self._op(div.input[0], "Sub")
        if sub is None or self._last_axis_reduce(sub.input[1], "ReduceMean") != sub.input[0]:
            return None
        found = self._sqrt_plus_eps(div.input[1])
        if found and self._square_of(
                self._last_axis_reduce(found[0], "ReduceMean")) == div.input[0]:
            return sub.input[0], found[1]
        return None

    def _l2_core(self, name):
        """(x, eps) when `name` is x / max(||x||, eps) over the last axis."""
        div = self._op(name, "Div")
        if div is None:
            return None
        x, n = div.input[0], div.input[1]
        eps = 1e-12
        expand = self._op(n, "Expand")
        if expand is not None:
            n = expand.input[0]
        clip = self._op(n, "Clip", "Max")
        if clip is not None:
            if clip.op_type == "Clip":
                low = _attrs(clip).get("min") if self.opset < 11 else (
                    self._scalar(clip.input[1]) if len(clip.input) > 1 and clip.input[1]
                    else None)
                if low is None or (len(clip.input) > 2 and clip.input[2]):
                    return None
            else:
                low = self._scalar(clip.input[1])
            if low is None or low <= 0:
                return None
            eps, n = low, clip.input[0]
        if self._last_axis_reduce(n, "ReduceL2") == x:
            return x, eps
        sqrt = self._op(n, "Sqrt")
        if sqrt and self._square_of(self._last_axis_reduce(sqrt.input[0], "ReduceSum")) == x:
            return x, eps
        return None

    def _constant_operand(self, core, node, op_type):
        """The constant that `node`, the single use of `core`, combines it
        with by `op_type` (a gain or bias over the last axis), or None."""
        if node.op_type != op_type or len(self.consumers.get(core, [])) != 1:
            return None
        other = node.input[1] if node.input[0] == core else node.input[0]
        array = self.static_array(other)
        if array is None or array.ndim < 1 or any(d != 1 for d in array.shape[:-1]):
            return None
        return other

    def match(self, node):
        """A fused form of `node`'s output: (kind, deps, info) or None."""
        out = node.output[0] if node.output else ""
        if node.op_type in ("Mul", "Div"):
            for kind, finder in (("layer_norm", self._layer_core),
                                 ("rms_norm", self._rms_core),
                                 ("normalize", self._l2_core)):
                core = finder(out)
                if core:
                    return kind, [core[0]], {"eps": core[1]}
            # A gain on a core.
            if node.op_type == "Mul":
                for core_name in node.input:
                    for kind, finder in (("layer_norm", self._layer_core),
                                         ("rms_norm", self._rms_core)):
                        core = finder(core_name)
                        gain = core and self._constant_operand(core_name, node, "Mul")
                        if gain:
                            return kind, [core[0], gain], {"eps": core[1], "gain": gain}
        if node.op_type == "Add":
            for scaled in node.input:
                mul = self._op(scaled, "Mul")
                if mul is None:
                    continue
                fused = self.match(mul)
                bias = self._constant_operand(scaled, node, "Add")
                if fused and fused[0] == "layer_norm" and "gain" in fused[2] and bias:
                    info = dict(fused[2], bias=bias)
                    return "layer_norm", fused[1] + [bias], info
        if node.op_type == "BatchNormalization":
            conv = self._op(node.input[0], "Conv")
            if (conv is not None and len(self.consumers.get(node.input[0], [])) == 1
                    and all(self.static_array(n) is not None for n in node.input[1:5])
                    and self.static_array(conv.input[1]) is not None):
                return "conv_bn", [conv.input[0]], {"conv": conv}
        return None

    # -- the graph ---------------------------------------------------------------

    def input_type(self, info):
        import onnx
        tensor = info.type.tensor_type
        if not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' is not a tensor")
        elem = tensor.elem_type
        if elem == onnx.TensorProto.FLOAT:
            dtype = "f32"
        elif elem in (onnx.TensorProto.INT64, onnx.TensorProto.INT32):
            dtype = "i32"
        else:
            name = onnx.TensorProto.DataType.Name(elem) if elem in \
                onnx.TensorProto.DataType.values() else str(elem)
            raise OnnxImportError(f"graph input '{info.name}' has element type {name}; "
                                  "Lattice imports float32 and int32/int64 inputs")
        if info.name in self.shapes:
            shape = tuple(int(d) for d in self.shapes[info.name])
        elif not tensor.HasField("shape"):
            raise OnnxImportError(f"graph input '{info.name}' has no shape; give one "
                                  "with --shape")
        else:
            shape = []
            for i, dim in enumerate(tensor.shape.dim):
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    shape.append(dim.dim_value)
                else:
                    label = dim.dim_param or "?"
                    if not self.quiet:
                        print(f"lattice.onnx_import: input '{info.name}' dimension {i} "
                              f"('{label}') is not fixed; using 1 (set it with --shape)",
                              file=sys.stderr)
                    shape.append(1)
            shape = tuple(shape)
        if any(d <= 0 for d in shape) or int(np.prod(shape)) > _MAX_ELEMENTS:
            raise OnnxImportError(f"graph input '{info.name}' has shape {list(shape)}")
        return shape, dtype

    def run(self, function_name):
        graph = self.graph
        initializers = {init.name for init in graph.initializer}
        for init in graph.initializer:
            self.env[init.name] = (_mapped_array(init, self.mapped[init.name])
                                   if init.name in self.mapped else
                                   _to_array(init, "initializer"))
        args = []
        for info in graph.input:
            if info.name in initializers:
                continue
            shape, dtype = self.input_type(info)
            value = Value(f"%arg{len(args)}", shape, dtype)
            self.env[info.name] = value
            args.append((info.name, value))
        if not graph.output:
            raise OnnxImportError("the graph has no outputs")

        # Protobuf hands out a new wrapper object per access: nodes are
        # keyed by position.
        nodes = list(graph.node)
        fused = {}
        for index, node in enumerate(nodes):
            self.node = node
            found = self.match(node)
            if found:
                fused[index] = found
        live = {out.name for out in graph.output}
        live_nodes = set()
        for index in reversed(range(len(nodes))):
            node = nodes[index]
            if not any(out in live for out in node.output):
                continue
            live_nodes.add(index)
            deps = fused[index][1] if index in fused else list(node.input)
            live.update(d for d in deps if d)

        for index, node in enumerate(nodes):
            if index not in live_nodes:
                continue
            self.node = node
            if index in fused:
                kind, deps, info = fused[index]
                outputs = [getattr(self, "fused_" + kind)(node, dict(info, x=deps[0]))]
            else:
                if node.domain not in ("", "ai.onnx"):
                    self.fail(f"operator domain '{node.domain}' is not supported")
                handler = getattr(self, "op_" + node.op_type, None)
                if handler is None:
                    self.fail("operator not supported by Lattice's importer")
                inputs = [self.get(name) if name else None for name in node.input]
                try:
                    outputs = handler(node, inputs, _attrs(node))
                except OnnxImportError:
                    raise
                except (ValueError, IndexError, TypeError, KeyError) as error:
                    self.fail(f"cannot import: {error}")
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            for name, value in zip(node.output, outputs):
                if isinstance(value, (np.generic, bool, int, float)):
                    value = np.asarray(value)  # folding may give scalars
                if name and value is not None:
                    self.env[name] = value

        results = []
        for info in graph.output:
            if info.name not in self.env:
                raise OnnxImportError(f"graph output '{info.name}' is not computed by "
                                      "any node")
            value = self.value(self.env[info.name])
            if value.dtype == "i1":
                value = self.e.elementwise([value], "i32", lambda a: (
                    [f"%r = arith.extui {a[0]} : i1 to i32"], "%r"))
            results.append((info.name, value))

        def quote(text):
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        sig = ", ".join(f"{v.ssa}: {v.type} {{lattice.name = {quote(n)}}}" for n, v in args)
        res = ", ".join(f"{v.type} {{lattice.name = {quote(n)}}}" for n, v in results)
        text = [f"func.func @{function_name}({sig}) -> ({res}) {{"]
        text += self.e.lines
        text.append("  return " + ", ".join(v.ssa for _, v in results) + " : " +
                    ", ".join(v.type for _, v in results))
        text.append("}")
        return "\n".join(text) + "\n", args, results

    # -- helpers for handlers ------------------------------------------------------

    def need_const(self, item, what):
        if not isinstance(item, np.ndarray):
            self.fail(f"{what} must be known at import time (a constant or shape "
                      "arithmetic on static shapes)")
        return item

    def floats(self, item):
        value = self.value(item)
        if value.dtype != "f32":
            self.fail(f"expected a float tensor, got {value.dtype}")
        return value

    def axes_of(self, node, ins, attrs, index, rank, default=None):
        """Axes from the attribute `axes` or the input `index` (newer opsets),
        normalised to [0, rank)."""
        axes = attrs.get("axes")
        if axes is None and len(ins) > index and ins[index] is not None:
            axes = self.need_const(ins[index], "axes").reshape(-1).tolist()
        if axes is None:
            return default
        result = []
        for a in axes:
            a = int(a)
            if not -rank <= a < max(rank, 1):
                self.fail(f"axis {a} is out of range for rank {rank}")
            result.append(a % rank if rank else 0)
        return result

    def shape_of(self, item):
        return tuple(item.shape)

    # -- elementwise ---------------------------------------------------------------
