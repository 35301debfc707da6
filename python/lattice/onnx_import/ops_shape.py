"""Constants and shape operators: Shape, Reshape, Transpose, Concat, Slice,
Gather, Expand, Tile, ... (folded at import time when their inputs are known)."""

import math

import numpy as np

from .common import _MAX_ELEMENTS, broadcast_shapes
from .emitter import _affine, _identity
from .loader import _to_array


def _clamped_index(n):
    """Body lines that turn the i32 index {i} into %k, an index into a
    dimension of n: a negative one counts from the end, and it is clamped
    into [0, n) (out of range reads nothing outside the tensor)."""
    return [f"%n = arith.constant {n} : i32", "%zero = arith.constant 0 : i32",
            f"%top = arith.constant {n - 1} : i32",
            "%neg = arith.cmpi slt, {i}, %zero : i32",
            "%wrap = arith.addi {i}, %n : i32",
            "%j = arith.select %neg, %wrap, {i} : i32",
            "%lo = arith.maxsi %j, %zero : i32", "%hi = arith.minsi %lo, %top : i32",
            "%k = arith.index_cast %hi : i32 to index"]


class _ShapeOps:
    """Handlers of constants and shape operators (mixed into the importer)."""

    def op_Constant(self, node, ins, attrs):
        array = self.constant_value(node)
        if array is None:
            self.fail("only tensor, float and int constants are supported")
        return array

    def op_Shape(self, node, ins, attrs):
        shape = np.array(self.shape_of(ins[0]), np.int64)
        rank = len(shape)
        start = attrs.get("start", 0)
        end = attrs.get("end", rank)
        return shape[slice(start, end)]

    def op_Size(self, node, ins, attrs):
        return np.array(int(np.prod(self.shape_of(ins[0]))), np.int64)

    def op_ConstantOfShape(self, node, ins, attrs):
        shape = self.need_const(ins[0], "the shape").astype(np.int64)
        if np.any(shape < 0) or math.prod(int(d) for d in shape) > _MAX_ELEMENTS:
            self.fail(f"shape {shape.tolist()} is invalid")
        value = attrs.get("value")
        fill = _to_array(value, self.where()) if value is not None else np.zeros(1, np.float32)
        return np.full(shape.tolist(), fill.reshape(-1)[0], fill.dtype)

    def op_Trilu(self, node, ins, attrs):
        """The upper (or lower) triangle of the last two dimensions from the
        k-th diagonal, the rest zero: folded for a constant input (the
        causal masks of GPT exports), else element (i, j) kept where j - i
        >= k (upper) or <= k, k a constant or read at run time."""
        x = ins[0]
        shape = self.shape_of(x)
        if len(shape) < 2:
            self.fail(f"the input has rank {len(shape)}; Trilu needs rank 2 or more")
        upper = attrs.get("upper", 1)
        if upper not in (0, 1):
            self.fail(f"attribute 'upper' is {upper}; it must be 0 or 1")
        k = ins[1] if len(ins) > 1 and ins[1] is not None else np.zeros((), np.int64)
        if int(np.prod(self.shape_of(k))) != 1 or (
                k.dtype.kind not in "iu" if isinstance(k, np.ndarray) else k.dtype != "i32"):
            self.fail(f"k must be one integer, got a {k.dtype} tensor of shape "
                      f"{list(self.shape_of(k))}")
        if isinstance(k, np.ndarray) and isinstance(x, np.ndarray):
            return (np.triu if upper else np.tril)(x, int(k.reshape(-1)[0]))
        x = self.value(x)
        rank = len(shape)
        operands = [x]
        if isinstance(k, np.ndarray):
            k_lines = [f"%k = arith.constant {int(k.reshape(-1)[0])} : i32"]
        else:
            operands.append(self.e.reshape(k, ()))
            k_lines = []
        zero = {"f32": "arith.constant 0.0 : f32", "i1": "arith.constant false",
                "i32": "arith.constant 0 : i32"}[x.dtype]
        predicate = "sge" if upper else "sle"
        return self.e.elementwise(operands, x.dtype, lambda a: (
            k_lines + [f"%i = linalg.index {rank - 2} : index",
                       f"%j = linalg.index {rank - 1} : index",
                       "%ii = arith.index_cast %i : index to i32",
                       "%jj = arith.index_cast %j : index to i32",
                       "%d = arith.subi %jj, %ii : i32",
                       f"%c = arith.cmpi {predicate}, %d, {a[1] if len(a) > 1 else '%k'} "
                       ": i32",
                       f"%z = {zero}",
                       f"%r = arith.select %c, {a[0]}, %z : {x.dtype}"], "%r"),
            out_shape=x.shape)

    def op_Range(self, node, ins, attrs):
        start, limit, delta = (self.need_const(v, "Range's bounds").reshape(-1)[0] for v in ins)
        if delta == 0:
            self.fail("delta is 0")
        count = max(int(math.ceil((limit - start) / delta)), 0)
        if count > _MAX_ELEMENTS:
            self.fail(f"{count} elements")
        return (start + delta * np.arange(count)).astype(np.result_type(start, limit, delta))

    def target_shape(self, shape, new, allowzero=False):
        new = [int(d) for d in new]
        out = []
        for i, d in enumerate(new):
            if d == 0 and not allowzero:
                if i >= len(shape):
                    self.fail(f"shape {new}: 0 copies a dimension the input lacks")
                out.append(shape[i])
            else:
                out.append(d)
        total = int(np.prod(shape))
        if out.count(-1) > 1 or any(d < -1 for d in out):
            self.fail(f"shape {new} is invalid")
        if -1 in out:
            known = int(np.prod([d for d in out if d != -1]))
            if known == 0 or total % known:
                self.fail(f"cannot reshape {list(shape)} to {new}")
            out[out.index(-1)] = total // known
        if int(np.prod(out)) != total:
            self.fail(f"cannot reshape {list(shape)} to {new}")
        return out

    def reshaped(self, x, shape):
        if isinstance(x, np.ndarray):
            return x.reshape(shape)
        return self.e.reshape(x, shape)

    def op_Reshape(self, node, ins, attrs):
        if self.opset < 5 or len(ins) < 2:
            self.fail("Reshape needs its shape as an input")
        new = self.need_const(ins[1], "the shape").reshape(-1)
        shape = self.target_shape(self.shape_of(ins[0]), new, attrs.get("allowzero", 0))
        return self.reshaped(ins[0], shape)

    def op_Flatten(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        rank = len(shape)
        axis = attrs.get("axis", 1)
        # [-rank, rank]: a negative axis counts from the end.
        if not -rank <= axis <= rank:
            self.fail(f"axis {axis} is out of range for rank {rank}")
        if axis < 0:
            axis += rank
        return self.reshaped(ins[0], [int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))])

    def op_Squeeze(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        axes = self.axes_of(node, ins, attrs, 1, len(shape))
        if axes is None:
            axes = [i for i, d in enumerate(shape) if d == 1]
        if any(shape[a] != 1 for a in axes):
            self.fail(f"cannot squeeze axes {axes} of shape {list(shape)}")
        return self.reshaped(ins[0], [d for i, d in enumerate(shape) if i not in axes])

    def op_Unsqueeze(self, node, ins, attrs):
        shape = list(self.shape_of(ins[0]))
        rank = len(shape)
        axes = attrs.get("axes")
        if axes is None:
            axes = self.need_const(ins[1], "axes").reshape(-1).tolist()
        out_rank = rank + len(axes)
        axes = sorted(int(a) % out_rank for a in axes)
        for a in axes:
            shape.insert(a, 1)
        return self.reshaped(ins[0], shape)

    def op_Transpose(self, node, ins, attrs):
        rank = len(self.shape_of(ins[0]))
        perm = list(attrs.get("perm", list(reversed(range(rank)))))
        if sorted(perm) != list(range(rank)):
            self.fail(f"perm {perm} is not a permutation of {rank} axes")
        if isinstance(ins[0], np.ndarray):
            return np.transpose(ins[0], perm)
        return self.e.transpose(ins[0], perm)

    def depth_rearrangement(self, x, shape, perm, out_shape):
        """A reshape, a transpose and a reshape (DepthToSpace and
        SpaceToDepth)."""
        if isinstance(x, np.ndarray):
            return np.transpose(x.reshape(shape), perm).reshape(out_shape)
        return self.reshaped(self.e.transpose(self.reshaped(x, shape), perm), out_shape)

    def op_DepthToSpace(self, node, ins, attrs):
        n, c, h, w = self.rank4(ins[0])
        b = attrs.get("blocksize", 0)
        if b < 1 or c % (b * b):
            self.fail(f"blocksize {b} does not divide the {c} channels into squares")
        mode = attrs.get("mode", b"DCR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("DCR", "CRD"):
            self.fail(f"mode '{mode}' is not DCR or CRD")
        if mode == "DCR":
            shape, perm = [n, b, b, c // (b * b), h, w], [0, 3, 4, 1, 5, 2]
        else:
            shape, perm = [n, c // (b * b), b, b, h, w], [0, 1, 4, 2, 5, 3]
        return self.depth_rearrangement(ins[0], shape, perm, [n, c // (b * b), h * b, w * b])

    def op_SpaceToDepth(self, node, ins, attrs):
        n, c, h, w = self.rank4(ins[0])
        b = attrs.get("blocksize", 0)
        if b < 1 or h % b or w % b:
            self.fail(f"blocksize {b} does not divide the {h} x {w} image")
        return self.depth_rearrangement(ins[0], [n, c, h // b, b, w // b, b],
                                        [0, 3, 5, 1, 2, 4], [n, c * b * b, h // b, w // b])

    def rank4(self, x):
        shape = self.shape_of(x)
        if len(shape) != 4:
            self.fail(f"the input has rank {len(shape)}; it must be 4 (NCHW)")
        return shape

    def op_EyeLike(self, node, ins, attrs):
        """Ones on the k-th diagonal of a matrix of the input's shape (it
        depends on the shape alone: a constant)."""
        shape = self.shape_of(ins[0])
        if len(shape) != 2:
            self.fail(f"the input has rank {len(shape)}; EyeLike takes a matrix")
        dtype = attrs.get("dtype")
        if dtype is None:
            numpy_type = (ins[0].dtype if isinstance(ins[0], np.ndarray) else
                          {"f32": np.float32, "i32": np.int32, "i1": np.bool_}[ins[0].dtype])
        else:
            numpy_type = {"f32": np.float32, "i32": np.int32,
                          "i1": np.bool_}[self.element_type(dtype)]
        return np.eye(shape[0], shape[1], attrs.get("k", 0), dtype=numpy_type)

    def op_Concat(self, node, ins, attrs):
        parts = [x for x in ins if x is not None]
        if any(int(np.prod(self.shape_of(x))) > 0 for x in parts):
            parts = [x for x in parts if int(np.prod(self.shape_of(x))) > 0]
        rank = len(self.shape_of(parts[0]))
        if rank == 0:
            self.fail("the inputs are scalars; Concat joins tensors along an axis")
        axis = self.axis(attrs.get("axis", 0), rank)
        if all(isinstance(x, np.ndarray) for x in parts):
            return np.concatenate(parts, axis)
        values = [self.value(x) for x in parts]
        if len({v.dtype for v in values}) != 1:
            self.fail("inputs of different element types")
        out_shape = list(values[0].shape)
        for v in values[1:]:
            if len(v.shape) != rank or any(v.shape[i] != out_shape[i]
                                           for i in range(rank) if i != axis):
                self.fail(f"cannot concatenate shapes {[list(x.shape) for x in values]}")
        out_shape[axis] = sum(v.shape[axis] for v in values)
        if len(values) == 1:
            return values[0]
        return self.e.concat(values, axis, out_shape)

    def slice_along(self, x, axis, start, end, step=1):
        if isinstance(x, np.ndarray):
            index = [slice(None)] * x.ndim
            # range() bounds: an end of -1 means "before 0", not "the last".
            index[axis] = slice(start, end if end >= 0 else None, step)
            return x[tuple(index)]
        shape = list(x.shape)
        count = len(range(start, end, step))
        if step > 0:
            offsets = [0] * len(shape)
            offsets[axis] = start
            sizes = list(shape)
            sizes[axis] = count
            strides = [1] * len(shape)
            strides[axis] = step
            return self.e.extract_slice(x, offsets, sizes, strides)
        # Negative steps: a gather at the constant indices (a generic that
        # reads along `start - d * step` is tiled into invalid slices).
        return self.gather_constant(x, axis, np.arange(start, end, step, dtype=np.int64))

    def op_Split(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        rank = len(shape)
        if rank == 0:
            self.fail("the input is a scalar; Split cuts a tensor along an axis")
        axis = self.axis(attrs.get("axis", 0), rank)
        split = attrs.get("split")
        if split is None and len(ins) > 1 and ins[1] is not None:
            split = self.need_const(ins[1], "split").reshape(-1).tolist()
        count = len(node.output)
        if split is None:
            parts = attrs.get("num_outputs", count)
            size = -(-shape[axis] // parts)
            split = [min(size, shape[axis] - i * size) for i in range(parts)]
        if sum(split) != shape[axis] or len(split) != count or any(s < 0 for s in split):
            self.fail(f"split {list(split)} does not fit dimension {shape[axis]}")
        outputs, offset = [], 0
        for size in split:
            outputs.append(self.slice_along(ins[0], axis, offset, offset + size))
            offset += size
        return outputs

    def op_Slice(self, node, ins, attrs):
        shape = self.shape_of(ins[0])
        rank = len(shape)
        if self.opset < 10:
            starts, ends = attrs["starts"], attrs["ends"]
            axes = attrs.get("axes", list(range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts = self.need_const(ins[1], "starts").reshape(-1).tolist()
            ends = self.need_const(ins[2], "ends").reshape(-1).tolist()
            axes = (self.need_const(ins[3], "axes").reshape(-1).tolist()
                    if len(ins) > 3 and ins[3] is not None else list(range(len(starts))))
            steps = (self.need_const(ins[4], "steps").reshape(-1).tolist()
                     if len(ins) > 4 and ins[4] is not None else [1] * len(starts))
        if not len(starts) == len(ends) == len(axes) == len(steps):
            self.fail("starts, ends, axes and steps differ in length")
        x = ins[0]
        for start, end, axis, step in zip(starts, ends, axes, steps):
            axis = self.axis(int(axis), rank)
            if step == 0:
                self.fail("step 0")
            start, end, step = slice(int(start), int(end), int(step)).indices(shape[axis])
            if not len(range(start, end, step)) and not isinstance(x, np.ndarray):
                self.fail(f"the slice of axis {axis} is empty (start {start}, end {end}, "
                          f"step {step} on a dimension of {shape[axis]}); empty tensors "
                          "are not supported")
            x = self.slice_along(x, axis, start, end, step)
        return x

    def op_Gather(self, node, ins, attrs):
        data, indices = ins
        shape = self.shape_of(data)
        rank = len(shape)
        axis = self.axis(attrs.get("axis", 0), rank)
        n = shape[axis]
        if isinstance(indices, np.ndarray):
            idx = indices.astype(np.int64)
            if np.any(idx < -n) or np.any(idx >= n):
                self.fail(f"index out of range for dimension {n}")
            idx = np.where(idx < 0, idx + n, idx)
            if isinstance(data, np.ndarray):
                return np.take(data, idx, axis=axis)
            if idx.ndim == 0:
                piece = self.slice_along(data, axis, int(idx), int(idx) + 1)
                return self.e.reshape(piece, shape[:axis] + shape[axis + 1:])
        data = self.value(data, name=node.input[0] if node.input else None)
        indices = self.value(indices)
        if indices.dtype != "i32":
            self.fail("indices must be integers")
        r = len(indices.shape)
        out_shape = shape[:axis] + indices.shape + shape[axis + 1:]
        out_rank = len(out_shape)
        idx_map = _affine(out_rank, [f"d{axis + i}" for i in range(r)])
        init = self.e.empty(out_shape, data.dtype)
        # The table is read with tensor.extract inside the body, so it is
        # captured from above; indices are clamped into [0, n).
        coords = []
        lines = _clamped_index(n)
        for d in range(rank):
            if d == axis:
                coords.append("%k")
            else:
                out_dim = d if d < axis else d - 1 + r
                lines.append(f"%c{d} = linalg.index {out_dim} : index")
                coords.append(f"%c{d}")
        lines.append(f"%r = tensor.extract {data.ssa}[{', '.join(coords)}] : {data.type}")
        return self.e.generic([indices], [idx_map], init, _identity(out_rank),
                              ["parallel"] * out_rank, lambda a, o: (
                                  [line.replace("{i}", a[0]) for line in lines], "%r"))

    def op_GatherElements(self, node, ins, attrs):
        """out[i...] = data[i...] with the axis coordinate replaced by
        indices[i...] (negative ones count from the end; clamped)."""
        data, indices = ins
        shape = self.shape_of(data)
        rank = len(shape)
        axis = self.axis(attrs.get("axis", 0), rank)
        index_shape = self.shape_of(indices)
        if len(index_shape) != rank:
            self.fail(f"indices of rank {len(index_shape)} for data of rank {rank}")
        if any(i > d for k, (i, d) in enumerate(zip(index_shape, shape)) if k != axis):
            self.fail(f"indices of shape {list(index_shape)} exceed the data's "
                      f"{list(shape)}")
        n = shape[axis]
        if isinstance(data, np.ndarray) and isinstance(indices, np.ndarray):
            idx = indices.astype(np.int64)
            if np.any(idx < -n) or np.any(idx >= n):
                self.fail(f"index out of range for dimension {n}")
            block = data[tuple(slice(None) if k == axis else slice(0, index_shape[k])
                               for k in range(rank))]
            return np.take_along_axis(block, np.where(idx < 0, idx + n, idx), axis=axis)
        data, indices = self.value(data), self.value(indices)
        if indices.dtype != "i32":
            self.fail("indices must be integers")
        lines = _clamped_index(n)
        coords = []
        for d in range(rank):
            if d == axis:
                coords.append("%k")
            else:
                lines.append(f"%c{d} = linalg.index {d} : index")
                coords.append(f"%c{d}")
        lines.append(f"%r = tensor.extract {data.ssa}[{', '.join(coords)}] : {data.type}")
        return self.e.generic([indices], [_identity(rank)],
                              self.e.empty(index_shape, data.dtype), _identity(rank),
                              ["parallel"] * rank, lambda a, o: (
                                  [line.replace("{i}", a[0]) for line in lines], "%r"))

    def op_Expand(self, node, ins, attrs):
        target = self.need_const(ins[1], "the shape").reshape(-1).tolist()
        shape = self.shape_of(ins[0])
        out_shape = broadcast_shapes(shape, tuple(int(d) for d in target))
        if isinstance(ins[0], np.ndarray):
            return np.broadcast_to(ins[0], out_shape).copy()
        if out_shape == shape:
            return ins[0]
        x = ins[0]
        return self.e.elementwise([x], x.dtype, lambda a: ([], a[0]), out_shape=out_shape)

    def op_Tile(self, node, ins, attrs):
        repeats = self.need_const(ins[1], "repeats").reshape(-1).tolist()
        if isinstance(ins[0], np.ndarray):
            return np.tile(ins[0], repeats)
        x = ins[0]
        for axis, count in enumerate(repeats):
            if count != 1:
                x = self.e.concat([x] * int(count), axis,
                                  [d * (count if i == axis else 1) for i, d in enumerate(x.shape)])
        return x

    # -- reductions and normalisation ----------------------------------------------
