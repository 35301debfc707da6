"""Linear layers: MatMul and Gemm with a constant operand become
lattice.matmul on an [N, K] weight; batched matmuls of activations."""

import re

import numpy as np

from .. import safetensors
from .bodies import _f
from .common import broadcast_shapes
from .emitter import _affine


class _LinearOps:
    """Handlers of linear layers (mixed into the importer)."""

    def weight(self, array, layer):
        """A matmul weight [N, K]: always external, named after its layer."""
        array = np.asarray(array, np.float32)
        finite = np.all(np.isfinite(array))
        safetensors.release_pages(array)  # read again when it is written
        if not finite:
            self.fail("the weight has NaN or infinite values")
        return self.e.constant(array, name=layer, external=True)

    def matmul_weight(self, b, layer, transpose, factor=1.0):
        """The weight [N, K] of a product by the constant `b` (`b`^T when
        `transpose`) times `factor`. When a DequantizeLinear made `b` from
        int8 or uint8 codes with one scale per tensor or per output channel,
        those codes with their scale (times `factor`) and zero point: a
        pre-quantized model's matmul stays quantized as its producer chose.
        Else the float weight."""
        record = self.dequantized.get(id(b))
        if record is not None and record[0] is b:
            _, codes, scale, zero = record
            if transpose:
                codes, scale, zero = codes.T, scale.T, zero.T
            n = codes.shape[0]
            per_channel = scale.shape == (n, 1) and n > 1
            scale = (scale.reshape(n) if per_channel else scale.reshape(())) * \
                np.float32(factor)
            zero = (zero.reshape(n) if per_channel else zero.reshape(())).astype(np.int32)
            if codes.dtype == np.int8 and not np.any(zero):
                zero = None
            if (scale.ndim == 0 or per_channel) and np.all(np.isfinite(scale) & (scale > 0)):
                return self.e.quantized_weight(layer, np.ascontiguousarray(codes), scale,
                                               zero)
        w = b.T if transpose else b
        # (A mapped initializer stays a view unless it is scaled.)
        return self.weight(w if factor == 1.0 else w * factor, layer)

    def linear(self, x, weight, bias=None):
        """x [..., K] times a weight Value [N, K] (+ bias [N])."""
        lead = x.shape[:-1]
        flat = self.e.reshape(x, [int(np.prod(lead)), x.shape[-1]])
        y = self.e.matmul(flat, weight)
        if bias is not None:
            y = self.e.elementwise([y, self.value(np.asarray(bias, np.float32))], "f32",
                                   lambda a: _f(f"%r = arith.addf {a[0]}, {a[1]} : f32"))
        return self.e.reshape(y, lead + (weight.shape[0],))

    def batch_matmul(self, a, b, dtype="f32"):
        """numpy.matmul semantics on two run-time values: f32, or i32 with
        i32 accumulation (which wraps as ONNX's int32 does)."""
        a, b = self.value(a), self.value(b)
        if a.dtype != dtype or b.dtype != dtype:
            self.fail(f"expected {dtype} operands, got {a.dtype} and {b.dtype}")
        mul, add = ("arith.mulf", "arith.addf") if dtype == "f32" else ("arith.muli",
                                                                       "arith.addi")
        squeeze_a, squeeze_b = len(a.shape) == 1, len(b.shape) == 1
        if squeeze_a:
            a = self.e.reshape(a, (1,) + a.shape)
        if squeeze_b:
            b = self.e.reshape(b, b.shape + (1,))
        m, k = a.shape[-2:]
        k2, n = b.shape[-2:]
        if k != k2:
            self.fail(f"cannot multiply {list(a.shape)} by {list(b.shape)}")
        batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
        nb = len(batch)
        rank = nb + 3  # batch..., m, n, k

        def operand(v, dims):
            offset = nb - (len(v.shape) - 2)
            kept, results = [], []
            for i, d in enumerate(v.shape[:-2]):
                j = offset + i
                if d == batch[j]:
                    kept.append(d)
                    results.append(f"d{j}")
            return self.e.reshape(v, kept + list(v.shape[-2:])), _affine(
                rank, results + [f"d{nb + dims[0]}", f"d{nb + dims[1]}"])

        va, ma = operand(a, (0, 2))
        vb, mb = operand(b, (2, 1))
        out_shape = batch + (m, n)
        init = self.e.filled(out_shape, dtype, 0)
        y = self.e.generic([va, vb], [ma, mb], init,
                           _affine(rank, [f"d{i}" for i in range(nb + 2)]),
                           ["parallel"] * (nb + 2) + ["reduction"], lambda x, o: _f(
                               f"%p = {mul} {x[0]}, {x[1]} : {dtype}",
                               f"%r = {add} {o}, %p : {dtype}"))
        if squeeze_a:
            y = self.e.reshape(y, batch + (n,))
        if squeeze_b:
            y = self.e.reshape(y, y.shape[:-1])
        return y

    def op_MatMulInteger(self, node, ins, attrs):
        """(A - a_zero_point) x (B - b_zero_point) in int32, as ONNX Runtime's
        dynamic quantization writes its matmuls: the zero points are scalars,
        or one per row of A ([M]) and per column of B ([N])."""
        return self.integer_matmul(ins[0], ins[1], ins[2:4])

    def integer_matmul(self, a, b, zeros):
        """MatMulInteger's product; `zeros` holds its zero points (or
        fewer, or None for either)."""
        zeros = list(zeros) + [None] * (2 - len(zeros))
        operands = []
        for index, (x, along) in enumerate(((a, -2), (b, -1))):
            shape = self.shape_of(x)
            zero = zeros[index]
            if zero is not None:
                zshape = tuple(self.shape_of(zero))
                if int(np.prod(zshape)) == 1 and len(zshape) <= 1:
                    zero = (zero.reshape(()) if isinstance(zero, np.ndarray) else
                            self.e.reshape(self.value(zero), ()))
                elif len(zshape) == 1 and len(shape) >= 2 and zshape[0] == shape[along]:
                    if along == -2:
                        zero = (zero.reshape(-1, 1) if isinstance(zero, np.ndarray) else
                                self.e.reshape(self.value(zero), (zshape[0], 1)))
                else:
                    self.fail(f"zero point {index} has shape {list(zshape)} for an operand "
                              f"of shape {list(shape)}")
            if isinstance(x, np.ndarray):
                x = x.astype(np.int32) - (np.asarray(zero, np.int32) if zero is not None
                                          else 0)
            elif zero is not None:
                x = self.e.elementwise([self.value(x), self.value(zero)], "i32",
                                       lambda v: _f(f"%r = arith.subi {v[0]}, {v[1]} : i32"))
            operands.append(x)
        if all(isinstance(x, np.ndarray) for x in operands):
            return np.matmul(operands[0].astype(np.int64),
                             operands[1].astype(np.int64)).astype(np.int32)
        return self.batch_matmul(operands[0], operands[1], "i32")

    def op_MatMul(self, node, ins, attrs):
        a, b = ins
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return np.matmul(a, b)
        if isinstance(b, np.ndarray) and b.ndim == 2 and not isinstance(a, np.ndarray):
            layer = self.layer_name(node, node.input[1])
            x = self.floats(a)
            if x.shape[-1] != b.shape[0]:
                self.fail(f"cannot multiply {list(x.shape)} by {list(b.shape)}")
            weight = self.matmul_weight(b, layer, transpose=True)
            if len(x.shape) == 1:
                return self.e.reshape(self.linear(self.e.reshape(x, (1, x.shape[0])),
                                                  weight), (b.shape[1],))
            return self.linear(x, weight)
        return self.batch_matmul(a, b)

    def op_Gemm(self, node, ins, attrs):
        a, b = ins[0], ins[1]
        c = ins[2] if len(ins) > 2 else None
        alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
        ranks = [len(self.shape_of(x)) for x in (a, b)]
        if ranks != [2, 2]:
            self.fail(f"A and B have ranks {ranks[0]} and {ranks[1]}; Gemm multiplies "
                      "matrices")
        if attrs.get("transA", 0):
            a = np.transpose(a) if isinstance(a, np.ndarray) else self.e.transpose(a, [1, 0])
        if isinstance(b, np.ndarray) and not isinstance(a, np.ndarray):
            transpose = not attrs.get("transB", 0)
            w = b.T if transpose else b
            if w.ndim != 2 or len(a.shape) != 2 or w.shape[1] != a.shape[1]:
                self.fail(f"cannot multiply {list(a.shape)} by {list(b.shape)}")
            y = self.linear(self.floats(a), self.matmul_weight(
                b, self.layer_name(node, node.input[1]), transpose, alpha))
        else:
            if attrs.get("transB", 0):
                b = np.transpose(b) if isinstance(b, np.ndarray) else self.e.transpose(b, [1, 0])
            y = self.batch_matmul(a, b)
            if alpha != 1.0:
                y = self.binary(type(node)(op_type="Mul"), [y, np.array(alpha, np.float32)], {})
        if c is not None:
            if isinstance(c, np.ndarray):
                c = (c * beta).astype(np.float32)
            elif beta != 1.0:
                c = self.binary(type(node)(op_type="Mul"), [c, np.array(beta, np.float32)], {})
            y = self.binary(type(node)(op_type="Add"), [y, c], {})
        return y

    # -- convolution and pooling -----------------------------------------------------

    def op_Einsum(self, node, ins, attrs):
        """One linalg.generic: a loop per letter, the output's parallel, the
        others summed. Letters a-z, each at most once per operand (no
        ellipsis, no diagonals)."""
        equation = attrs.get("equation", b"")
        equation = (equation.decode() if isinstance(equation, bytes) else equation)
        equation = equation.replace(" ", "")
        if "..." in equation:
            self.fail(f"equation '{equation}': ellipses are not supported")
        inputs, arrow, output = equation.partition("->")
        terms = inputs.split(",")
        if len(terms) != len(ins) or not all(re.fullmatch("[a-z]*", t) for t in
                                               terms + [output]):
            self.fail(f"equation '{equation}' does not fit {len(ins)} operands (letters "
                      "a-z, one term per operand)")
        if any(len(set(t)) != len(t) for t in terms + [output]):
            self.fail(f"equation '{equation}': a letter repeated in one term (a "
                      "diagonal) is not supported")
        if not arrow:
            counts = {c: inputs.count(c) for c in set(inputs.replace(",", ""))}
            output = "".join(sorted(c for c, k in counts.items() if k == 1))
        sizes = {}
        for term, x in zip(terms, ins):
            shape = self.shape_of(x)
            if len(shape) != len(term):
                self.fail(f"term '{term}' for an operand of shape {list(shape)}")
            for letter, size in zip(term, shape):
                if sizes.setdefault(letter, size) != size:
                    self.fail(f"letter '{letter}' is {sizes[letter]} and {size}")
        if any(c not in sizes for c in output):
            self.fail(f"output letters '{output}' not in the inputs")
        if all(isinstance(x, np.ndarray) for x in ins):
            return np.einsum(f"{','.join(terms)}->{output}",
                             *[x.astype(np.float64) for x in ins]).astype(ins[0].dtype)
        values = [self.floats(x) for x in ins]
        letters = list(output) + sorted(set(sizes) - set(output))
        loop = {c: i for i, c in enumerate(letters)}
        dims = len(letters)
        maps = [_affine(dims, [f"d{loop[c]}" for c in t]) for t in terms]
        init = self.e.filled([sizes[c] for c in output], "f32", 0.0)

        def body(a, o):
            lines, product = [], a[0]
            for i, arg in enumerate(a[1:]):
                lines.append(f"%p{i} = arith.mulf {product}, {arg} : f32")
                product = f"%p{i}"
            return lines + [f"%r = arith.addf {o}, {product} : f32"], "%r"
        return self.e.generic(values, maps, init,
                              _affine(dims, [f"d{loop[c]}" for c in output]),
                              ["parallel"] * len(output) +
                              ["reduction"] * (dims - len(output)), body)

