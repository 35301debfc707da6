"""The importer: walks the graph and dispatches each node to its handler."""

import math
import re
import sys

import numpy as np

from .common import (_MAX_ELEMENTS, MAX_OPSET, MIN_OPSET, OnnxImportBug, OnnxImportError,
                     ShapeError, _numpy_type)
from .emitter import Emitter, Value, mlir_string
from .loader import _attrs, _clean_name, _mapped_array, _to_array
from .ops_elementwise import _ElementwiseOps
from .ops_shape import _ShapeOps
from .ops_reduce import _ReduceOps
from .ops_norm import _NormOps
from .ops_quant import _QuantOps
from .ops_linear import _LinearOps
from .ops_conv import _ConvOps
from .ops_recurrent import _RecurrentOps


def _boundary_types():
    """ONNX element type -> the library's type for it: floats cross the
    boundary as f32, integers that fit as i32, bool as i32 (0 or 1); the
    Python API converts (lattice.compile's CompiledModel)."""
    from onnx import TensorProto as T
    types = {t: "f32" for t in (T.FLOAT, T.DOUBLE, T.FLOAT16, T.BFLOAT16)}
    types.update({t: "i32" for t in (T.INT64, T.INT32, T.INT16, T.INT8, T.UINT16,
                                      T.UINT8, T.BOOL)})
    return types


_BOUNDARY_TYPES = _boundary_types()


def _reads(node):
    """The names `node` reads: its inputs and, for control flow, what its
    subgraphs read from the scopes around them."""
    from onnx import AttributeProto
    names = {name for name in node.input if name}
    for attr in node.attribute:
        graphs = [attr.g] if attr.type == AttributeProto.GRAPH else list(attr.graphs)
        for graph in graphs:
            defined = ({i.name for i in graph.input} |
                       {t.name for t in graph.initializer} |
                       {o for n in graph.node for o in n.output})
            for inner in graph.node:
                names |= _reads(inner) - defined
            names |= {o.name for o in graph.output} - defined
    return names


class _Importer(_ElementwiseOps, _ShapeOps, _ReduceOps, _NormOps, _LinearOps, _ConvOps,
                _RecurrentOps, _QuantOps):
    """Imports one ModelProto: the graph walked in order, each node's handler
    (op_<OpType>, from the operator families' mixins) emitting MLIR text."""

    def __init__(self, model, weights_file, shapes, quiet, mapped=None, bound=None):
        self.model = model
        self.mapped = mapped or {}
        self.graph = model.graph
        self.shapes = shapes or {}
        # Graph inputs given a value at import (`--bind`): constants.
        self.bound = bound or {}
        self.quiet = quiet
        self.opset = None
        for entry in model.opset_import:
            if entry.domain in ("", "ai.onnx"):
                self.opset = entry.version
        if self.opset is None:
            raise OnnxImportError("the model imports no version of the default ONNX "
                                  "operator set")
        if not 1 <= self.opset <= MAX_OPSET:
            raise OnnxImportError(f"opset {self.opset} is not supported (Lattice imports "
                                  f"opsets {MIN_OPSET} to {MAX_OPSET}, and the operators "
                                  f"of older opsets that opset {MIN_OPSET} did not change)")
        self.e = Emitter(weights_file)
        self.env = {}          # ONNX name -> Value or np.ndarray
        # ONNX name -> why it is not computed (optional outputs left out)
        self.uncomputed = {}
        # Symbolic input dimensions taken as 1, as "'x'[2] ('height')"
        self.defaulted = []
        self.materialized = {}  # ONNX name -> Value of a constant
        # ONNX name -> the numpy type of an integer value that the library
        # holds as i32 (graph inputs, QuantizeLinear's codes).
        self.integer_types = {}
        # id of a float constant that DequantizeLinear made from int8 or
        # uint8 codes -> (the constant, codes, scale, zero point): matmuls
        # by it keep the codes (ops_linear.matmul_weight).
        self.dequantized = {}
        self.layer_names = set()
        self.node = None
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
        if self.defaulted:
            # The likely cause of a shape that does not fit.
            message += (f" (the input dimensions {', '.join(self.defaulted)} are not "
                        "fixed and were taken as 1: give their sizes with --shape)")
        raise OnnxImportError(f"{self.where()}: {message}")

    # -- values ---------------------------------------------------------------

    def const(self, name):
        """The value of `name` when it is known at import time, else None."""
        if not name:
            return None
        value = self.env.get(name)
        return value if isinstance(value, np.ndarray) else None

    def get(self, name):
        if name in self.uncomputed:
            self.fail(f"input '{name}': {self.uncomputed[name]}")
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
            return self.constant_value(item)
        return _to_array(item, "initializer")

    def constant_value(self, node):
        """The array of a Constant node, or None for the kinds Lattice does
        not take (strings, sparse tensors)."""
        attrs = _attrs(node)
        if "value" in attrs:
            return _to_array(attrs["value"], self.where(node))
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                           ("value_int", np.int64), ("value_ints", np.int64)):
            if key in attrs:
                return np.array(attrs[key], dtype)
        return None

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

    # -- the graph ---------------------------------------------------------------

    def input_type(self, info):
        import onnx
        tensor = info.type.tensor_type
        if not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' is not a tensor")
        elem = tensor.elem_type
        dtype = _BOUNDARY_TYPES.get(elem)
        if dtype is None:
            name = onnx.TensorProto.DataType.Name(elem) if elem in \
                onnx.TensorProto.DataType.values() else str(elem)
            raise OnnxImportError(f"graph input '{info.name}' has element type {name}; "
                                  "Lattice imports float (32, 64 and 16-bit), integer "
                                  "(up to 64-bit, unsigned up to 16-bit) and bool inputs")
        if info.name in self.shapes:
            shape = tuple(int(d) for d in self.shapes[info.name])
        elif not tensor.HasField("shape"):
            raise OnnxImportError(f"graph input '{info.name}' has no shape; give one "
                                  "with --shape")
        else:
            shape = []
            for i, dim in enumerate(tensor.shape.dim):
                if dim.HasField("dim_value") and dim.dim_value <= 0:
                    # (An empty tensor can still be a constant: a list of
                    # axes, say.)
                    hint = (f" (an empty input can be bound to a value with --bind "
                            f"{info.name}=FILE.npy)" if dim.dim_value == 0 else "")
                    raise OnnxImportError(
                        f"graph input '{info.name}' dimension {i} is {dim.dim_value}; "
                        f"a fixed dimension must be positive{hint}")
                if dim.HasField("dim_value"):
                    shape.append(dim.dim_value)
                else:
                    label = dim.dim_param or "?"
                    self.defaulted.append(f"'{info.name}'[{i}] ('{label}')")
                    if not self.quiet:
                        print(f"lattice.onnx_import: input '{info.name}' dimension {i} "
                              f"('{label}') is not fixed; using 1 (set it with --shape)",
                              file=sys.stderr)
                    shape.append(1)
            shape = tuple(shape)
        if any(d <= 0 for d in shape):
            raise OnnxImportError(f"graph input '{info.name}' has shape {list(shape)}; "
                                  "every dimension must be positive")
        if math.prod(shape) > _MAX_ELEMENTS:
            raise OnnxImportError(f"graph input '{info.name}' has shape {list(shape)}, "
                                  "more elements than Lattice supports "
                                  f"({_MAX_ELEMENTS})")
        return shape, dtype

    def bound_value(self, info):
        """The value given for the graph input `info` (`--bind`), checked
        against its declaration: the same kind of number (or bool) and the
        declared shape, where the declaration fixes it."""
        array = np.asarray(self.bound[info.name])
        declared = _numpy_type(info)
        if declared is None or not info.type.HasField("tensor_type"):
            raise OnnxImportError(f"graph input '{info.name}' cannot be bound: its type "
                                  "is not a tensor of numbers")
        kinds = {"b": "bool", "i": "integer", "u": "integer", "f": "float"}
        if kinds.get(array.dtype.kind) != kinds.get(np.dtype(declared).kind):
            raise OnnxImportError(f"the value bound to graph input '{info.name}' is "
                                  f"{array.dtype}; the input is {np.dtype(declared)}")
        dims = info.type.tensor_type.shape.dim
        fits = (not info.type.tensor_type.HasField("shape") or
                (len(dims) == array.ndim and
                 all(not d.HasField("dim_value") or d.dim_value == size
                     for d, size in zip(dims, array.shape))))
        if not fits:
            declared_shape = [d.dim_value if d.HasField("dim_value") else
                              (d.dim_param or "?") for d in dims]
            raise OnnxImportError(f"the value bound to graph input '{info.name}' has "
                                  f"shape {list(array.shape)}; the input is "
                                  f"{declared_shape}")
        value = array.astype(declared)
        if np.dtype(declared).kind in "iu":
            if not np.array_equal(value, array):
                raise OnnxImportError(f"the value bound to graph input '{info.name}' does "
                                      f"not fit its type, {np.dtype(declared)}")
            self.integer_types[info.name] = np.dtype(declared)
        return value

    def run(self, function_name):
        import onnx
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
            if info.name in self.bound:
                self.env[info.name] = self.bound_value(info)
                continue
            shape, dtype = self.input_type(info)
            value = Value(f"%arg{len(args)}", shape, dtype)
            args.append((info.name, value))
            if info.type.tensor_type.elem_type == onnx.TensorProto.BOOL:
                # A bool input crosses the boundary as i32 (0 or 1).
                value = self.e.elementwise([value], "i1", lambda a: (
                    ["%z = arith.constant 0 : i32",
                     f"%r = arith.cmpi ne, {a[0]}, %z : i32"], "%r"))
            self.env[info.name] = value
            if dtype == "i32":
                self.integer_types[info.name] = _numpy_type(info)
        unknown = sorted(set(self.bound) - {info.name for info in graph.input})
        if unknown:
            raise OnnxImportError(f"--bind names '{unknown[0]}', which is not an input of "
                                  "the model")
        if not graph.output:
            raise OnnxImportError("the graph has no outputs")

        self.import_nodes(graph, [out.name for out in graph.output])

        results = []
        for info in graph.output:
            if info.name in self.uncomputed:
                raise OnnxImportError(f"graph output '{info.name}': "
                                      f"{self.uncomputed[info.name]}")
            if info.name not in self.env:
                raise OnnxImportError(f"graph output '{info.name}' is not computed by "
                                      "any node")
            value = self.value(self.env[info.name])
            if value.dtype == "i1":
                value = self.e.elementwise([value], "i32", lambda a: (
                    [f"%r = arith.extui {a[0]} : i1 to i32"], "%r"))
            results.append((info.name, value))

        sig = ", ".join(f"{v.ssa}: {v.type} {{lattice.name = {mlir_string(n)}}}"
                        for n, v in args)
        res = ", ".join(f"{v.type} {{lattice.name = {mlir_string(n)}}}" for n, v in results)
        text = [f"func.func @{function_name}({sig}) -> ({res}) {{"]
        text += self.e.lines
        text.append("  return " + ", ".join(v.ssa for _, v in results) + " : " +
                    ", ".join(v.type for _, v in results))
        text.append("}")
        return "\n".join(text) + "\n", args, results

    def import_nodes(self, graph, outputs):
        """Imports the nodes of `graph` (the model's, or a branch of an `If`)
        that `outputs` depend on, in order. A subgraph reads the values of
        the scopes around it by name: those count as its node's inputs."""
        # Protobuf hands out a new wrapper object per access: nodes are
        # keyed by position.
        nodes = list(graph.node)
        live = set(outputs)
        live_nodes = set()
        for index in reversed(range(len(nodes))):
            node = nodes[index]
            if not any(out in live for out in node.output):
                continue
            live_nodes.add(index)
            live.update(_reads(node))
        for index, node in enumerate(nodes):
            if index in live_nodes:
                self.import_node(node, index)

    def import_node(self, node, index):
        self.node = node
        if node.domain not in ("", "ai.onnx"):
            self.fail(f"operator domain '{node.domain}' is not supported")
        handler = getattr(self, "op_" + node.op_type, None)
        if handler is None:
            self.fail("operator not supported by Lattice's importer")
        if self.opset < MIN_OPSET:
            self.check_old_operator(node)
        inputs = [self.get(name) if name else None for name in node.input]
        try:
            outputs = handler(node, inputs, _attrs(node))
        except ShapeError as error:
            self.node = node
            self.fail(str(error))
        except OnnxImportError:
            raise
        except Exception as error:
            self.node = node
            raise OnnxImportBug(f"{self.where()}: internal error of the importer "
                                f"({type(error).__name__}: {error}); please report it "
                                "with the model") from error
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        for position, name in enumerate(node.output):
            value = outputs[position] if position < len(outputs) else None
            if isinstance(value, (np.generic, bool, int, float)):
                value = np.asarray(value)  # folding may give scalars
            if name and value is not None:
                self.env[name] = value
            elif name:
                # An optional output that the importer does not compute
                # (LayerNormalization's Mean, MaxPool's Indices): an
                # error if anything reads it.
                self.uncomputed[name] = (
                    f"output {position} ('{name}') of node "
                    f"'{node.name or index}' ({node.op_type}) is not supported")

    def check_old_operator(self, node):
        """A model of an opset below MIN_OPSET: its operator must be the
        version that opset MIN_OPSET has (the handlers implement those and
        later ones), as Elu, Softplus or GlobalAveragePool are; Add of
        opset 6, whose broadcasting was explicit, is not."""
        import onnx

        def version(opset):
            try:
                return onnx.defs.get_schema(node.op_type, opset, "").since_version
            except Exception:  # not an operator of that opset
                return None
        old, current = version(self.opset), version(MIN_OPSET)
        if old is None or old != current:
            self.fail(f"{node.op_type} of opset {self.opset} is not the version of opset "
                      f"{MIN_OPSET} (Lattice imports operators of opsets {MIN_OPSET} to "
                      f"{MAX_OPSET}, and of older opsets those that opset {MIN_OPSET} did "
                      "not change)")

    # -- control flow ------------------------------------------------------------

    def op_If(self, node, ins, attrs):
        """An `If` whose condition is known at import (a constant, or shape
        arithmetic on static shapes, as exporters write for branches on
        the input's size): the taken branch's nodes are imported in its
        place. A condition computed at run time: an `scf.if` whose regions
        are the branches, which must give outputs of the same types."""
        cond = ins[0]
        if not isinstance(cond, np.ndarray):
            return self.run_time_if(node, self.value(cond), attrs)
        if cond.size != 1:
            self.fail(f"the condition has {cond.size} elements; it must have one")
        branch = attrs["then_branch" if bool(cond.reshape(-1)[0]) else "else_branch"]
        if len(branch.output) != len(node.output):
            self.fail(f"the taken branch has {len(branch.output)} outputs for the "
                      f"node's {len(node.output)}")
        for init in branch.initializer:
            self.env[init.name] = _to_array(init, "initializer")
        self.import_nodes(branch, [out.name for out in branch.output])
        self.node = node
        return [self.get(out.name) for out in branch.output]

    # Loops are unrolled at import: at most this many iterations.
    MAX_LOOP_ITERATIONS = 4096

    def op_Loop(self, node, ins, attrs):
        """A `Loop` whose trip count and conditions are known at import
        (constants, or arithmetic on them and on static shapes), unrolled:
        the body is imported once per iteration, with the iteration number
        and condition as constants and the loop-carried values of the
        iteration before; scan outputs are stacked along a new first
        axis."""
        body = attrs["body"]
        trip = ins[0] if len(ins) > 0 and node.input[0] else None
        cond = ins[1] if len(ins) > 1 and node.input[1] else None
        carried = list(ins[2:])
        if trip is None:
            self.fail("a Loop without a trip count is not supported (Lattice unrolls "
                      "loops at import)")
        trip = self.need_const(trip, "the trip count")
        if trip.size != 1:
            self.fail(f"the trip count has {trip.size} elements; it must have one")
        trip = int(trip.reshape(-1)[0])
        if trip > self.MAX_LOOP_ITERATIONS:
            self.fail(f"{trip} iterations; Lattice unrolls loops of at most "
                      f"{self.MAX_LOOP_ITERATIONS}")
        going = True if cond is None else bool(
            self.need_const(cond, "the first condition").reshape(-1)[0])
        n = len(carried)
        scans = len(body.output) - 1 - n
        if len(body.input) != 2 + n or scans < 0:
            self.fail(f"the body takes {len(body.input)} inputs and gives "
                      f"{len(body.output)} outputs for {n} loop-carried values")
        stacked = [[] for _ in range(scans)]
        iteration = 0
        while going and iteration < trip:
            saved = dict(self.env)
            try:
                for info, value in zip(body.input, [np.array(iteration, np.int64),
                                                    np.array(True)] + carried):
                    self.env[info.name] = value
                for init in body.initializer:
                    self.env[init.name] = _to_array(init, "initializer")
                self.import_nodes(body, [out.name for out in body.output])
                outputs = [self.get(out.name) for out in body.output]
            finally:
                self.env = saved
            self.node = node
            condition = outputs[0]
            if not isinstance(condition, np.ndarray):
                self.fail(f"the condition of iteration {iteration} is computed at run "
                          "time (Lattice unrolls loops at import)")
            going = bool(condition.reshape(-1)[0])
            carried = outputs[1:1 + n]
            for index, value in enumerate(outputs[1 + n:]):
                stacked[index].append(value)
            iteration += 1
        if scans and not iteration:
            self.fail("the loop runs no iteration: its scan outputs would be empty")
        results = list(carried)
        for values in stacked:
            if all(isinstance(v, np.ndarray) for v in values):
                results.append(np.stack(values))
                continue
            values = [self.value(v) for v in values]
            if any(v.type != values[0].type for v in values):
                self.fail("a scan output changes its type between iterations")
            parts = [self.e.reshape(v, (1,) + v.shape) for v in values]
            results.append(self.e.concat(parts, 0, (len(parts),) + values[0].shape))
        return results

    def run_time_if(self, node, cond, attrs):
        if int(np.prod(cond.shape)) != 1 or cond.dtype != "i1":
            self.fail(f"the condition is {cond.type}; it must be one bool")
        flag = self.e.fresh()
        self.e.emit(f"{flag} = tensor.extract {self.e.reshape(cond, ()).ssa}[] : "
                    "tensor<i1>")
        branches = [self.import_branch(attrs[key], node)
                    for key in ("then_branch", "else_branch")]
        (then_lines, then_values), (else_lines, else_values) = branches
        if not len(then_values) == len(else_values) == len(node.output):
            self.fail(f"the branches have {len(then_values)} and {len(else_values)} "
                      f"outputs for the node's {len(node.output)}")
        for index, (a, b) in enumerate(zip(then_values, else_values)):
            if a.type != b.type:
                self.fail(f"output {index} is {a.type} in the then branch and {b.type} "
                          "in the else branch; the branches of an If computed at run "
                          "time must agree (every shape is static)")
        types = ", ".join(v.type for v in then_values)
        ssa = self.e.fresh()
        count = len(then_values)
        self.e.emit(f"{ssa}{f':{count}' if count > 1 else ''} = scf.if {flag} -> "
                    f"({types}) {{")
        for lines, values in branches:
            self.e.lines.extend("  " + line for line in lines)
            self.e.emit("  scf.yield " + ", ".join(v.ssa for v in values) +
                        f" : {types}")
            self.e.emit("} else {" if lines is then_lines else "}")
        return [Value(f"{ssa}#{i}" if count > 1 else ssa, v.shape, v.dtype)
                for i, v in enumerate(then_values)]

    def import_branch(self, branch, node):
        """The subgraph `branch` imported into lines of its own: (the lines,
        its outputs as Values). What it defines stays inside it (constants
        it materializes included); it reads the values around it."""
        saved = self.e.lines, dict(self.env), dict(self.materialized)
        self.e.lines = []
        try:
            for init in branch.initializer:
                self.env[init.name] = _to_array(init, "initializer")
            self.import_nodes(branch, [out.name for out in branch.output])
            self.node = node
            values = [self.value(self.get(out.name)) for out in branch.output]
            return self.e.lines, values
        finally:
            self.e.lines, self.env, self.materialized = saved

    # -- helpers for handlers ------------------------------------------------------

    def need_const(self, item, what):
        if not isinstance(item, np.ndarray):
            self.fail(f"{what} must be known at import time (a constant or shape "
                      f"arithmetic on static shapes){self.bind_hint(item)}")
        return item

    def bind_hint(self, item):
        """When the current node reads `item` straight from a graph input:
        how to give that input a value at compile time."""
        name = next((n for n in self.node.input if n and self.env.get(n) is item), None)
        if name not in {info.name for info in self.graph.input}:
            return ""
        return f"; bind graph input '{name}' to a value with --bind {name}=FILE.npy"

    def floats(self, item):
        value = self.value(item)
        if value.dtype != "f32":
            self.fail(f"expected a float tensor, got {value.dtype}")
        return value

    def axis(self, axis, rank):
        """`axis` in [-rank, rank) normalised to [0, rank), else an error."""
        if not -rank <= axis < max(rank, 1):
            self.fail(f"axis {axis} is out of range for rank {rank}")
        return axis % max(rank, 1)

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
