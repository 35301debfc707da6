"""Convolutions (im2col + lattice.matmul, grouped and depthwise), pooling,
Pad and Resize."""

import math

import numpy as np

from .emitter import _affine, _identity
from .bodies import _f


class _ConvOps:
    """Handlers of convolutions, pooling, Pad and Resize (mixed into the
    importer)."""

    def window_attrs(self, attrs, n):
        """(strides, dilations, pads_begin, pads_end, auto_pad) of a window
        op over `n` spatial dimensions, checked."""
        strides = list(attrs.get("strides", [1] * n))
        dilations = list(attrs.get("dilations", [1] * n))
        pads = list(attrs.get("pads", [0] * (2 * n)))
        if len(strides) != n or len(dilations) != n or len(pads) != 2 * n:
            self.fail("strides, dilations or pads do not match the kernel's rank")
        if any(s < 1 for s in strides) or any(d < 1 for d in dilations) or \
                any(p < 0 for p in pads):
            self.fail("strides and dilations must be positive and pads non-negative")
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto not in ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"):
            self.fail(f"auto_pad '{auto}' is not supported")
        return strides, dilations, pads[:n], pads[n:], auto

    def window(self, attrs, spatial, kernel):
        """(strides, dilations, pads_begin, pads_end) of a conv or pool."""
        n = len(kernel)
        strides, dilations, begin, end, auto = self.window_attrs(attrs, n)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            for i in range(n):
                out = -(-spatial[i] // strides[i])
                total = max((out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1
                            - spatial[i], 0)
                small, large = total // 2, total - total // 2
                begin[i], end[i] = (small, large) if auto == "SAME_UPPER" else (large, small)
        elif auto == "VALID":
            begin, end = [0] * n, [0] * n
        return strides, dilations, begin, end

    def op_Conv(self, node, ins, attrs):
        # A weight or bias computed in the graph (rare: a model's weights are
        # initializers) is read at run time, by the direct convolution.
        weight = ins[1] if isinstance(ins[1], np.ndarray) else self.floats(ins[1])
        bias = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if bias is not None and not isinstance(bias, np.ndarray):
            bias = self.floats(bias)
        return self.conv(node, ins[0], weight, bias, attrs)

    def conv(self, node, x, weight, bias, attrs):
        x = self.floats(x)
        rank = len(x.shape)
        constant = isinstance(weight, np.ndarray)
        if rank not in (3, 4) or len(weight.shape) != rank:
            self.fail(f"{rank - 2}-D convolutions are not supported (1-D and 2-D are)")
        one_d = rank == 3
        if one_d:
            x = self.e.reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
            shape = (weight.shape[0], weight.shape[1], 1, weight.shape[2])
            weight = weight.reshape(shape) if constant else self.e.reshape(weight, shape)
            attrs = dict(attrs)
            for key, pad1 in (("strides", [1]), ("dilations", [1])):
                attrs[key] = pad1 + list(attrs.get(key, [1]))
            pads = list(attrs.get("pads", [0, 0]))
            attrs["pads"] = [0, pads[0], 0, pads[1]] if len(pads) == 2 else pads
            if "kernel_shape" in attrs:
                attrs["kernel_shape"] = [1] + list(attrs["kernel_shape"])
        n, c, h, w = x.shape
        m, cg, kh, kw = weight.shape
        group = attrs.get("group", 1)
        if group < 1 or c % group or m % group or cg != c // group:
            self.fail(f"weight {list(weight.shape)} does not fit {c} input channels in "
                      f"{group} groups")
        if bias is not None and int(np.prod(bias.shape)) != m:
            self.fail(f"bias of shape {list(bias.shape)} for {m} output channels")
        (sh, sw), (dh, dw), (pt, pl), (pb, pr) = self.window(attrs, (h, w), (kh, kw))
        oh = (h + pt + pb - dh * (kh - 1) - 1) // sh + 1
        ow = (w + pl + pr - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            self.fail("the kernel is larger than the padded input")
        xp = self.e.pad(x, [0, 0, pt, pl], [0, 0, pb, pr], 0.0)
        if group == 1 and constant and isinstance(bias, (np.ndarray, type(None))):
            layer = self.layer_name(node, node.input[1] if len(node.input) > 1 else "")
            wv = self.weight(weight.reshape(m, c * kh * kw), layer)
            if (kh, kw, sh, sw) == (1, 1, 1, 1):
                cols = self.e.reshape(self.e.transpose(xp, [0, 2, 3, 1]), (n * oh * ow, c))
            else:
                init = self.e.empty((n, oh, ow, c, kh, kw), "f32")
                in_map = _affine(6, ["d0", "d3", f"d1 * {sh} + d4 * {dh}",
                                     f"d2 * {sw} + d5 * {dw}"])
                patches = self.e.generic([xp], [in_map], init, _identity(6),
                                         ["parallel"] * 6, lambda a, o: ([], a[0]))
                cols = self.e.reshape(patches, (n * oh * ow, c * kh * kw))
            y = self.linear(cols, wv, None if bias is None else bias.reshape(-1))
            y = self.e.transpose(self.e.reshape(y, (n, oh, ow, m)), [0, 3, 1, 2])
        else:
            mg = m // group
            xg = self.e.reshape(xp, (n, group, cg) + xp.shape[2:])
            wg = (self.value(weight.reshape(group, mg, cg, kh, kw).astype(np.float32),
                             name=self.layer_name(node, node.input[1])) if constant else
                  self.e.reshape(weight, (group, mg, cg, kh, kw)))
            init = self.e.filled((n, group, mg, oh, ow), "f32", 0.0)
            in_map = _affine(8, ["d0", "d1", "d5", f"d3 * {sh} + d6 * {dh}",
                                 f"d4 * {sw} + d7 * {dw}"])
            w_map = _affine(8, ["d1", "d2", "d5", "d6", "d7"])
            y = self.e.generic([xg, wg], [in_map, w_map], init, _affine(8, [f"d{i}" for i in
                                                                          range(5)]),
                               ["parallel"] * 5 + ["reduction"] * 3, lambda a, o: _f(
                                   f"%p = arith.mulf {a[0]}, {a[1]} : f32",
                                   f"%r = arith.addf {o}, %p : f32"))
            y = self.e.reshape(y, (n, m, oh, ow))
            if bias is not None:
                bias = (self.value(bias.reshape(1, m, 1, 1).astype(np.float32))
                        if isinstance(bias, np.ndarray) else
                        self.e.reshape(bias, (1, m, 1, 1)))
                y = self.e.elementwise([y, bias], "f32", lambda a: _f(
                    f"%r = arith.addf {a[0]}, {a[1]} : f32"))
        if one_d:
            y = self.e.reshape(y, (n, m, ow))
        return y

    def op_ConvTranspose(self, node, ins, attrs):
        """The transposed convolution as a convolution: the input spread
        `stride` apart and padded by dilation * (kernel - 1) - pads, the
        weight flipped with its two channel axes swapped (per group). The
        weight stays a quantizable matmul's."""
        x = self.floats(ins[0])
        weight = ins[1] if isinstance(ins[1], np.ndarray) else self.floats(ins[1])
        bias = ins[2] if len(ins) > 2 and ins[2] is not None else None
        if bias is not None and not isinstance(bias, np.ndarray):
            bias = self.floats(bias)
        rank = len(x.shape)
        if rank not in (3, 4) or len(weight.shape) != rank:
            self.fail(f"{rank - 2}-D transposed convolutions are not supported (1-D and "
                      "2-D are)")
        n_spatial = rank - 2
        spatial = list(x.shape[2:])
        kernel = list(weight.shape[2:])
        strides, dilations, begin, end, auto = self.window_attrs(attrs, n_spatial)
        extra = list(attrs.get("output_padding", [0] * n_spatial))
        if len(extra) != n_spatial or any(v < 0 for v in extra):
            self.fail(f"output_padding {extra} must be {n_spatial} non-negative values")
        wanted = list(attrs.get("output_shape", []))[-n_spatial:] if \
            "output_shape" in attrs else None
        if wanted is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
            for i in range(n_spatial):
                out = wanted[i] if wanted is not None else spatial[i] * strides[i]
                total = (strides[i] * (spatial[i] - 1) + extra[i] +
                         (kernel[i] - 1) * dilations[i] + 1 - out)
                # (ONNX's reference: floor halves; the larger at the end
                # for SAME_UPPER, else at the start.)
                small, large = total // 2, total - total // 2
                begin[i], end[i] = (small, large) if auto == "SAME_UPPER" else (large, small)
        elif auto == "VALID":
            begin, end = [0] * n_spatial, [0] * n_spatial
        c, mg = weight.shape[:2]
        group = attrs.get("group", 1)
        if group < 1 or c != x.shape[1] or c % group:
            self.fail(f"weight {list(weight.shape)} does not fit {x.shape[1]} input "
                      f"channels in {group} groups")
        # Per group: [C/g, M/g, k...] -> [M/g, C/g, k...], flipped.
        grouped = (group, c // group, mg) + tuple(kernel)
        flipped = (group * mg, c // group) + tuple(kernel)
        if isinstance(weight, np.ndarray):
            w = np.swapaxes(weight.reshape(grouped), 1, 2).reshape(flipped)
            w = np.ascontiguousarray(np.flip(w, axis=tuple(range(2, rank))))
        else:
            # Read at run time: the same rearrangement as a gather (linalg's
            # indexing maps cannot run backwards).
            dims = rank + 1
            source = self.e.reshape(weight, grouped)
            out_shape = (group, mg, c // group) + tuple(kernel)

            def body(a, o):
                lines = [f"%i{d} = linalg.index {d} : index" for d in range(dims)]
                for i in range(n_spatial):
                    lines += [f"%k{i} = arith.constant {kernel[i] - 1} : index",
                              f"%f{i} = arith.subi %k{i}, %i{3 + i} : index"]
                where = ", ".join(["%i0", "%i2", "%i1"] +
                                  [f"%f{i}" for i in range(n_spatial)])
                lines.append(f"%r = tensor.extract {source.ssa}[{where}] : {source.type}")
                return lines, "%r"
            w = self.e.generic([], [], self.e.empty(out_shape, "f32"), _identity(dims),
                               ["parallel"] * dims, body)
            w = self.e.reshape(w, flipped)
        low = [dilations[i] * (kernel[i] - 1) - begin[i] for i in range(n_spatial)]
        high = [dilations[i] * (kernel[i] - 1) - end[i] + extra[i] for i in range(n_spatial)]
        out = [strides[i] * (spatial[i] - 1) + 1 + low[i] + high[i] -
               dilations[i] * (kernel[i] - 1) for i in range(n_spatial)]
        if any(o < 1 for o in out):
            self.fail(f"the output would have shape {out}")
        spread = [(spatial[i] - 1) * strides[i] + 1 + max(low[i], 0) + max(high[i], 0)
                  for i in range(n_spatial)]
        dest = self.e.filled(list(x.shape[:2]) + spread, "f32", 0.0)
        spread_x = self.e.insert_slice(x, dest, [0, 0] + [max(v, 0) for v in low],
                                       [1, 1] + strides)
        y = self.conv(node, spread_x, w, bias,
                      {"dilations": dilations, "group": group})
        start = [max(-v, 0) for v in low]
        if list(y.shape[2:]) != out:
            y = self.e.extract_slice(y, [0, 0] + start, list(y.shape[:2]) + out,
                                     [1] * rank)
        return y

    def pool(self, node, ins, attrs):
        x = self.floats(ins[0])
        if len(x.shape) not in (3, 4):
            self.fail("1-D and 2-D pooling are supported")
        one_d = len(x.shape) == 3
        kernel = list(attrs.get("kernel_shape", []))
        if one_d:
            x = self.e.reshape(x, (x.shape[0], x.shape[1], 1, x.shape[2]))
            attrs = dict(attrs)
            kernel = [1] + kernel
            for key in ("strides", "dilations"):
                if key in attrs:
                    attrs[key] = [1] + list(attrs[key])
            if "pads" in attrs:
                attrs["pads"] = [0, attrs["pads"][0], 0, attrs["pads"][1]]
        if len(kernel) != 2 or any(k < 1 for k in kernel):
            self.fail(f"kernel_shape {kernel} is invalid")
        n, c, h, w = x.shape
        kh, kw = kernel
        (sh, sw), (dh, dw), (pt, pl), (pb, pr) = self.window(attrs, (h, w), kernel)
        is_max = node.op_type == "MaxPool"
        ceil = attrs.get("ceil_mode", 0)

        def out_size(size, k, s, d, lo, hi):
            span = size + lo + hi - d * (k - 1) - 1
            out = (-(-span // s) if ceil else span // s) + 1
            if ceil and (out - 1) * s >= size + lo:
                out -= 1
            return out

        oh = out_size(h, kh, sh, dh, pt, pb)
        ow = out_size(w, kw, sw, dw, pl, pr)
        if oh < 1 or ow < 1:
            self.fail("the window is larger than the padded input")
        extra_h = max((oh - 1) * sh + dh * (kh - 1) + 1 - (h + pt + pb), 0)
        extra_w = max((ow - 1) * sw + dw * (kw - 1) + 1 - (w + pl + pr), 0)
        fill = -math.inf if is_max else 0.0
        xp = self.e.pad(x, [0, 0, pt, pl], [0, 0, pb + extra_h, pr + extra_w], fill)
        init = self.e.filled((n, c, oh, ow), "f32", fill)
        window = self.e.empty((kh, kw), "f32")
        in_map = _affine(6, ["d0", "d1", f"d2 * {sh} + d4 * {dh}", f"d3 * {sw} + d5 * {dw}"])
        op = "arith.maximumf" if is_max else "arith.addf"
        y = self.e.generic([xp, window], [in_map, _affine(6, ["d4", "d5"])], init,
                           _affine(6, ["d0", "d1", "d2", "d3"]),
                           ["parallel"] * 4 + ["reduction"] * 2, lambda a, o: _f(
                               f"%r = {op} {o}, {a[0]} : f32"))
        if not is_max:
            # The divisor of every window, counted here: the padded cells
            # count with count_include_pad, the ceil_mode overhang never.
            inside = np.zeros((h + pt + pb + extra_h, w + pl + pr + extra_w))
            if attrs.get("count_include_pad", 0):
                inside[:h + pt + pb, :w + pl + pr] = 1
            else:
                inside[pt:pt + h, pl:pl + w] = 1
            counts = np.zeros((oh, ow))
            for i in range(kh):
                for j in range(kw):
                    counts += inside[i * dh:i * dh + (oh - 1) * sh + 1:sh,
                                     j * dw:j * dw + (ow - 1) * sw + 1:sw]
            inv = (1.0 / np.maximum(counts, 1)).astype(np.float32)
            y = self.e.elementwise([y, self.value(inv)], "f32", lambda a: _f(
                f"%r = arith.mulf {a[0]}, {a[1]} : f32"))
        if one_d:
            y = self.e.reshape(y, (n, c, ow))
        return y

    op_MaxPool = op_AveragePool = pool

    def global_pool(self, node, ins, attrs):
        x = self.floats(ins[0])
        kind = "max" if node.op_type == "GlobalMaxPool" else "mean"
        return self.e.reduce(x, list(range(2, len(x.shape))), kind)

    op_GlobalAveragePool = op_GlobalMaxPool = global_pool


    # -- padding and resizing ---------------------------------------------------------

    def op_Pad(self, node, ins, attrs):
        x = ins[0]
        shape = self.shape_of(x)
        rank = len(shape)
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if self.opset < 11:
            pads, fill = list(attrs.get("pads", [])), attrs.get("value", 0.0)
            axes = list(range(rank))
        else:
            pads = self.need_const(ins[1], "pads").reshape(-1).tolist()
            fill = 0.0
            if len(ins) > 2 and ins[2] is not None and np.size(ins[2]):
                fill = float(self.need_const(ins[2], "the value").reshape(-1)[0])
            axes = self.axes_of(node, ins, attrs, 3, rank, list(range(rank)))
        if len(pads) != 2 * len(axes):
            self.fail(f"{len(pads)} pads for {len(axes)} axes")
        low, high = [0] * rank, [0] * rank
        for i, axis in enumerate(axes):
            low[axis], high[axis] = int(pads[i]), int(pads[i + len(axes)])
        # Negative pads crop.
        for axis in range(rank):
            if low[axis] < 0 or high[axis] < 0:
                start = max(-low[axis], 0)
                end = shape[axis] - max(-high[axis], 0)
                if end <= start:
                    self.fail("the pads crop the whole tensor")
                x = self.slice_along(x, axis, start, end)
                low[axis], high[axis] = max(low[axis], 0), max(high[axis], 0)
        if isinstance(x, np.ndarray):
            np_mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}.get(mode)
            if np_mode is None:
                self.fail(f"mode '{mode}' is not supported")
            kwargs = {"constant_values": fill} if mode == "constant" else {}
            return np.pad(x, list(zip(low, high)), np_mode, **kwargs)
        x = self.value(x)
        if mode == "constant":
            return self.e.pad(x, low, high, fill)
        if mode not in ("reflect", "edge"):
            self.fail(f"mode '{mode}' is not supported (constant, reflect, edge are)")
        # Edge and reflect: gathers along each padded axis with constant
        # source indices.
        for axis in range(rank):
            if not low[axis] and not high[axis]:
                continue
            n = x.shape[axis]
            index = np.arange(-low[axis], n + high[axis])
            if mode == "edge":
                index = np.clip(index, 0, n - 1)
            else:
                if n < 2 or max(low[axis], high[axis]) >= n:
                    self.fail(f"reflect padding of {max(low[axis], high[axis])} on a "
                              f"dimension of {n}")
                index = np.abs(index)
                index = np.where(index >= n, 2 * (n - 1) - index, index)
            x = self.gather_constant(x, axis, index)
        return x

    def gather_constant(self, x, axis, index):
        """x gathered along `axis` by constant indices (in range)."""
        node = type(self.node)(op_type="Gather")
        return self.op_Gather(node, [x, self.value(np.asarray(index, np.int32))],
                              {"axis": axis})

    def op_Resize(self, node, ins, attrs):
        x = self.floats(ins[0])
        shape = x.shape
        rank = len(shape)
        mode = attrs.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        default_ctm = "asymmetric" if self.opset < 11 else "half_pixel"
        ctm = attrs.get("coordinate_transformation_mode", default_ctm.encode())
        ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
        nearest = attrs.get("nearest_mode", b"round_prefer_floor")
        nearest = nearest.decode() if isinstance(nearest, bytes) else nearest
        if self.opset < 11:
            scales = self.need_const(ins[1], "scales").reshape(-1).astype(np.float64)
            sizes = None
        else:
            scales = ins[2] if len(ins) > 2 else None
            sizes = ins[3] if len(ins) > 3 else None
            scales = (self.need_const(scales, "scales").reshape(-1).astype(np.float64)
                      if scales is not None and np.size(scales) else None)
            sizes = (self.need_const(sizes, "sizes").reshape(-1).astype(np.int64)
                     if sizes is not None and np.size(sizes) else None)
        if sizes is None and scales is None:
            self.fail("neither scales nor sizes are given")
        if sizes is None:
            if len(scales) != rank or np.any(scales <= 0):
                self.fail(f"scales {scales.tolist()} do not fit rank {rank}")
            sizes = np.floor(np.array(shape) * scales).astype(np.int64)
        else:
            if len(sizes) != rank or np.any(sizes < 1):
                self.fail(f"sizes {sizes.tolist()} do not fit rank {rank}")
            scales = sizes / np.array(shape, np.float64)
        if mode not in ("nearest", "linear"):
            self.fail(f"mode '{mode}' is not supported (nearest and linear are)")
        if ctm not in ("half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"):
            self.fail(f"coordinate_transformation_mode '{ctm}' is not supported")
        for axis in range(rank):
            n, out = shape[axis], int(sizes[axis])
            if out == n:
                continue
            o = np.arange(out, dtype=np.float64)
            scale = scales[axis]
            if ctm == "half_pixel" or (ctm == "pytorch_half_pixel" and out > 1):
                src = (o + 0.5) / scale - 0.5
            elif ctm == "pytorch_half_pixel":
                src = np.zeros_like(o)
            elif ctm == "align_corners":
                # The resized length is n * scale, unrounded, as ONNX's
                # reference computes it (out where sizes were given).
                length = n * scale
                src = o * (n - 1) / (length - 1) if length > 1 else np.zeros_like(o)
            else:
                src = o / scale
            if mode == "nearest":
                if nearest == "round_prefer_floor":
                    index = np.where(src - np.floor(src) == 0.5, np.floor(src), np.round(src))
                elif nearest == "round_prefer_ceil":
                    index = np.floor(src + 0.5)
                elif nearest == "floor":
                    index = np.floor(src)
                elif nearest == "ceil":
                    index = np.ceil(src)
                else:
                    self.fail(f"nearest_mode '{nearest}' is not supported")
                x = self.gather_constant(x, axis, np.clip(index, 0, n - 1).astype(np.int64))
                continue
            src = np.clip(src, 0, n - 1)
            lo = np.floor(src).astype(np.int64)
            hi = np.minimum(lo + 1, n - 1)
            frac = (src - lo).astype(np.float32)
            a = self.gather_constant(x, axis, lo)
            b = self.gather_constant(x, axis, hi)
            wshape = [1] * rank
            wshape[axis] = out
            w = self.value(frac.reshape(wshape))
            x = self.e.elementwise([a, b, w], "f32", lambda v: _f(
                f"%d = arith.subf {v[1]}, {v[0]} : f32", f"%m = arith.mulf %d, {v[2]} : f32",
                f"%r = arith.addf {v[0]}, %m : f32"))
        return x

    # -- recurrent layers ---------------------------------------------------------------
