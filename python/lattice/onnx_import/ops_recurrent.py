"""Recurrent layers: LSTM and GRU, unrolled over the sequence."""

import numpy as np

from .bodies import _f, _unary_body


class _RecurrentOps:
    """Handlers of recurrent layers (mixed into the importer)."""

    def recurrent_inputs(self, node, ins, attrs, gates):
        if attrs.get("layout", 0) != 0:
            self.fail("layout=1 (batch first) is not supported")
        if len(ins) > 4 and ins[4] is not None:
            lens = ins[4]
            if not isinstance(lens, np.ndarray):
                self.fail("sequence_lens must be constant")
        if attrs.get("clip") is not None:
            self.fail("clip is not supported")
        x = self.floats(ins[0])
        w = self.need_const(ins[1], "W").astype(np.float32)
        r = self.need_const(ins[2], "R").astype(np.float32)
        hidden = attrs.get("hidden_size", r.shape[-1])
        t, batch, _ = x.shape
        if len(ins) > 4 and ins[4] is not None and np.any(ins[4] != t):
            self.fail("sequence_lens shorter than the sequence are not supported")
        directions = {b"forward": [False], b"reverse": [True],
                      b"bidirectional": [False, True]}.get(
            attrs.get("direction", b"forward"))
        if directions is None:
            self.fail(f"direction {attrs.get('direction')} is invalid")
        if w.shape != (len(directions), gates * hidden, x.shape[2]) or \
                r.shape != (len(directions), gates * hidden, hidden):
            self.fail(f"W {list(w.shape)} or R {list(r.shape)} do not fit hidden_size "
                      f"{hidden} and input {list(x.shape)}")
        b = (self.need_const(ins[3], "B").astype(np.float32) if len(ins) > 3 and
             ins[3] is not None else np.zeros((len(directions), 2 * gates * hidden), np.float32))
        return x, w, r, b, hidden, directions

    def initial_state(self, ins, index, d, batch, hidden):
        if len(ins) > index and ins[index] is not None:
            h = self.value(ins[index])
            return self.e.reshape(self.slice_along(h, 0, d, d + 1), (batch, hidden))
        return self.value(np.zeros((batch, hidden), np.float32))

    def gate_body(self, kind, default):
        return kind or default

    def activation(self, value, name):
        lines = _unary_body(name, {})
        return self.e.elementwise([value], "f32", lambda a: (
            [line.replace("%x", a[0]) for line in lines], "%r"))

    def op_LSTM(self, node, ins, attrs):
        x, w, r, b, hidden, directions = self.recurrent_inputs(node, ins, attrs, 4)
        if len(ins) > 7 and ins[7] is not None:
            self.fail("peepholes (P) are not supported")
        if attrs.get("input_forget", 0):
            self.fail("input_forget is not supported")
        acts = [a.decode() if isinstance(a, bytes) else a
                for a in attrs.get("activations", [b"Sigmoid", b"Tanh", b"Tanh"] *
                                   len(directions))]
        t, batch, _ = x.shape
        layer = self.layer_name(node, node.input[1])
        ys, hs, cs = [], [], []
        for d, reverse in enumerate(directions):
            f, g, h_act = acts[3 * d:3 * d + 3]
            for name in (f, g, h_act):
                if _unary_body(name, {}) is None:
                    self.fail(f"activation '{name}' is not supported")
            suffix = f".{d}" if len(directions) > 1 else ""
            xw = self.linear(x, self.weight(w[d], layer + suffix + ".input"),
                             b[d, :4 * hidden] + b[d, 4 * hidden:])
            rw = self.weight(r[d], layer + suffix + ".recurrent")
            h = self.initial_state(ins, 5, d, batch, hidden)
            c = self.initial_state(ins, 6, d, batch, hidden)
            outs = [None] * t
            for step in (reversed(range(t)) if reverse else range(t)):
                gates = self.binary(type(node)(op_type="Add"), [self.e.reshape(
                    self.slice_along(xw, 0, step, step + 1), (batch, 4 * hidden)),
                    self.e.matmul(h, rw)], {})
                i_g, o_g, f_g, c_g = (self.slice_along(gates, 1, k * hidden, (k + 1) * hidden)
                                      for k in range(4))
                i_g, o_g, f_g = (self.activation(v, f) for v in (i_g, o_g, f_g))
                c_g = self.activation(c_g, g)
                c = self.e.elementwise([f_g, c, i_g, c_g], "f32", lambda v: _f(
                    f"%a = arith.mulf {v[0]}, {v[1]} : f32",
                    f"%b = arith.mulf {v[2]}, {v[3]} : f32", "%r = arith.addf %a, %b : f32"))
                h = self.binary(type(node)(op_type="Mul"), [o_g, self.activation(c, h_act)], {})
                outs[step] = h
            ys.append(outs)
            hs.append(h)
            cs.append(c)
        return self.recurrent_outputs(ys, hs, cs, t, batch, hidden)

    def recurrent_outputs(self, ys, hs, cs, t, batch, hidden):
        nd = len(ys)
        steps = [self.e.reshape(ys[d][s], (1, 1, batch, hidden)) for s in range(t)
                 for d in range(nd)]
        y = self.e.concat(steps, 0, (t * nd, 1, batch, hidden)) if len(steps) > 1 else steps[0]
        y = self.e.reshape(y, (t, nd, batch, hidden))
        y_h = self.e.concat([self.e.reshape(h, (1, batch, hidden)) for h in hs], 0,
                            (nd, batch, hidden)) if nd > 1 else self.e.reshape(
            hs[0], (1, batch, hidden))
        outputs = [y, y_h]
        if cs:
            outputs.append(self.e.concat([self.e.reshape(c, (1, batch, hidden)) for c in cs],
                                         0, (nd, batch, hidden)) if nd > 1 else
                           self.e.reshape(cs[0], (1, batch, hidden)))
        return outputs

    def op_GRU(self, node, ins, attrs):
        x, w, r, b, hidden, directions = self.recurrent_inputs(node, ins, attrs, 3)
        acts = [a.decode() if isinstance(a, bytes) else a
                for a in attrs.get("activations", [b"Sigmoid", b"Tanh"] * len(directions))]
        before_reset = attrs.get("linear_before_reset", 0)
        t, batch, _ = x.shape
        layer = self.layer_name(node, node.input[1])
        ys, hs = [], []
        for d, reverse in enumerate(directions):
            f, g = acts[2 * d:2 * d + 2]
            for name in (f, g):
                if _unary_body(name, {}) is None:
                    self.fail(f"activation '{name}' is not supported")
            suffix = f".{d}" if len(directions) > 1 else ""
            wb, rb = b[d, :3 * hidden], b[d, 3 * hidden:]
            # z and r take both biases; h takes Rbh inside or outside r.
            xw = self.linear(x, self.weight(w[d], layer + suffix + ".input"),
                             wb + np.concatenate([rb[:2 * hidden], np.zeros(hidden, np.float32)]))
            rzr = self.weight(r[d][:2 * hidden], layer + suffix + ".recurrent_zr")
            rh = self.weight(r[d][2 * hidden:], layer + suffix + ".recurrent_h")
            rbh = self.value(rb[2 * hidden:])
            h = self.initial_state(ins, 5, d, batch, hidden)
            outs = [None] * t
            add = type(node)(op_type="Add")
            mul = type(node)(op_type="Mul")
            for step in (reversed(range(t)) if reverse else range(t)):
                xs = self.e.reshape(self.slice_along(xw, 0, step, step + 1), (batch, 3 * hidden))
                zr = self.activation(self.binary(add, [self.slice_along(xs, 1, 0, 2 * hidden),
                                                       self.e.matmul(h, rzr)], {}), f)
                z = self.slice_along(zr, 1, 0, hidden)
                rr = self.slice_along(zr, 1, hidden, 2 * hidden)
                xh = self.slice_along(xs, 1, 2 * hidden, 3 * hidden)
                if before_reset:
                    hr = self.binary(mul, [rr, self.binary(add, [self.e.matmul(h, rh), rbh],
                                                           {})], {})
                else:
                    hr = self.binary(add, [self.e.matmul(self.binary(mul, [rr, h], {}), rh),
                                           rbh], {})
                cand = self.activation(self.binary(add, [xh, hr], {}), g)
                h = self.e.elementwise([z, cand, h], "f32", lambda v: _f(
                    f"%d = arith.subf {v[2]}, {v[1]} : f32",
                    f"%m = arith.mulf {v[0]}, %d : f32", f"%r = arith.addf {v[1]}, %m : f32"))
                outs[step] = h
            ys.append(outs)
            hs.append(h)
        return self.recurrent_outputs(ys, hs, [], t, batch, hidden)
