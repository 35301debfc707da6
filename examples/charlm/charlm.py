"""The bundled example model: a character-level transformer language model
trained on the King James Bible (Debian's bible-kjv package).

    python3 examples/charlm/charlm.py train [--ngpt] [--steps N]   # writes the .safetensors
    python3 examples/charlm/charlm.py export [--ngpt] -o model.onnx
    python3 examples/charlm/charlm.py text -o corpus.txt           # the corpus

Two variants share the code:

- `charlm`: pre-norm blocks, RMSNorm (written out as x * rsqrt(mean(x^2) +
  eps) * g, as most exported LLMs have it), causal multi-head attention,
  a SwiGLU MLP; 2 layers, width 128, MLP width 256, context 64.
- `charlm-ngpt`: the nGPT-style variant (seed 000): hidden states on the
  unit sphere (x / ||x||), every block output normalized and mixed in with
  a learned step (h <- norm(h + a * (norm(f(h)) - h))), weight rows of unit
  norm, no RMSNorm; so that quantization moves states off the sphere and
  lattice-renormalize has something to repair.

The trained weights ship as f16 safetensors next to this file (about
0.8 MB each); `export` rebuilds the ONNX model from them in a few seconds.
Training takes a few minutes on 2 cores with a fixed seed.
"""

import argparse
import dataclasses
import json
import math
import pathlib
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
CONTEXT = 64


@dataclasses.dataclass(frozen=True)
class Shape:
    layers: int
    width: int
    heads: int
    hidden: int  # of the SwiGLU MLP


# The bundled example (and its nGPT variant), and the larger LM that 3- and
# 2-bit quantization is measured on (its weights, 10 MB of f16, are in the
# repository too; `charlm.py train --large` trains them again).
SMALL = Shape(layers=2, width=128, heads=4, hidden=256)
LARGE = Shape(layers=6, width=256, heads=8, hidden=768)
LARGE_STEPS = 1000
HELD_OUT = 0.05  # the last 5 % of the text


def corpus():
    """The text of the King James Bible, one verse per line, from the
    `bible` program of Debian's bible-kjv package."""
    try:
        raw = subprocess.run(["bible", "-l0", "Gen1:1-Rev22:21"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"cannot read the corpus ({error}); install Debian's "
                         "bible-kjv package") from None
    verses = []
    for line in raw.splitlines():
        line = line.strip()
        head, _, rest = line.partition(" ")
        if head.isdigit() and rest:
            verses.append(rest)
    return "\n".join(verses) + "\n"


def vocabulary(text):
    return sorted(set(text))


def split(text):
    cut = int(len(text) * (1 - HELD_OUT))
    return text[:cut], text[cut:]


def paths(ngpt, large=False):
    stem = "charlm-ngpt" if ngpt else "charlm-large" if large else "charlm"
    return HERE / f"{stem}.safetensors", stem


# --------------------------------------------------------------------------
# The model (PyTorch)
# --------------------------------------------------------------------------

def build(vocab_size, ngpt, shape=SMALL):
    import torch
    from torch import nn

    width, heads, hidden = shape.width, shape.heads, shape.hidden

    def unit(x):
        return x / torch.sqrt((x * x).sum(-1, keepdim=True))

    class RMSNorm(nn.Module):
        def __init__(self, dim):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm = RMSNorm(width)
            self.qkv = nn.Linear(width, 3 * width, bias=False)
            self.out = nn.Linear(width, width, bias=False)
            self.mlp_norm = RMSNorm(width)
            self.gate = nn.Linear(width, hidden, bias=False)
            self.up = nn.Linear(width, hidden, bias=False)
            self.down = nn.Linear(hidden, width, bias=False)
            if ngpt:
                self.attn_step = nn.Parameter(torch.full((width,), 0.05))
                self.mlp_step = nn.Parameter(torch.full((width,), 0.05))
                self.qk_scale = nn.Parameter(torch.ones(width // heads))

        def attention(self, x, mask):
            t = x.shape[1]
            q, k, v = self.qkv(x).split(width, dim=-1)
            shape = (x.shape[0], t, heads, width // heads)
            q, k, v = (y.reshape(shape).transpose(1, 2) for y in (q, k, v))
            if ngpt:
                q = unit(q) * self.qk_scale
                k = unit(k) * self.qk_scale
                scale = math.sqrt(width // heads)
            else:
                scale = 1 / math.sqrt(width // heads)
            scores = q @ k.transpose(-1, -2) * scale + mask
            y = torch.softmax(scores, dim=-1) @ v
            return self.out(y.transpose(1, 2).reshape(x.shape))

        def mlp(self, x):
            g = self.gate(x)
            return self.down(g * torch.sigmoid(g) * self.up(x))

        def forward(self, h, mask):
            if ngpt:
                h = unit(h + self.attn_step * (unit(self.attention(h, mask)) - h))
                return unit(h + self.mlp_step * (unit(self.mlp(h)) - h))
            h = h + self.attention(self.attn_norm(h), mask)
            return h + self.mlp(self.mlp_norm(h))

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, width)
            self.blocks = nn.ModuleList(Block() for _ in range(shape.layers))
            self.norm = RMSNorm(width)
            self.head = nn.Linear(width, vocab_size, bias=False)
            if ngpt:
                self.logit_scale = nn.Parameter(torch.full((vocab_size,), 10.0))
            mask = torch.full((CONTEXT, CONTEXT), -1e9).triu(1)
            self.register_buffer("mask", mask, persistent=False)

        def forward(self, tokens):
            t = tokens.shape[1]
            mask = self.mask[:t, :t]
            h = self.embed(tokens)
            if ngpt:
                h = unit(h)
            for block in self.blocks:
                h = block(h, mask)
            if ngpt:
                return self.head(h) * self.logit_scale
            return self.head(self.norm(h))

        @torch.no_grad()
        def project(self):
            """nGPT: weight rows (and embeddings) back onto the sphere."""
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    module.weight.copy_(unit(module.weight))
            self.embed.weight.copy_(unit(self.embed.weight))

    return CharLM()


# --------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------

def encode(text, vocab):
    index = {c: i for i, c in enumerate(vocab)}
    return np.array([index.get(c, 0) for c in text], np.int64)


def held_out_windows(text, vocab, count=None):
    """Non-overlapping windows of the held-out text: (inputs, targets)."""
    data = encode(split(text)[1], vocab)
    n = (len(data) - 1) // CONTEXT
    if count is not None:
        n = min(n, count)
    x = data[:n * CONTEXT].reshape(n, CONTEXT)
    y = data[1:n * CONTEXT + 1].reshape(n, CONTEXT)
    return x, y


def perplexity(logits, targets):
    """exp(mean cross-entropy) of logits [..., V] against targets [...]."""
    logits = logits.astype(np.float64)
    logits = logits - logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None], -1)
    return float(np.exp(-picked.mean()))


def train(ngpt, steps, large=False, seed=0):
    import torch
    from torch.nn import functional as F

    from lattice import safetensors  # noqa: E402 (python/ on sys.path)

    torch.manual_seed(seed)
    torch.set_num_threads(max(1, len(__import__("os").sched_getaffinity(0))))
    text = corpus()
    vocab = vocabulary(text)
    data = torch.from_numpy(encode(split(text)[0], vocab))
    model = build(len(vocab), ngpt, LARGE if large else SMALL)
    if ngpt:
        model.project()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3 if ngpt else 2e-3,
                            weight_decay=0.0 if ngpt else 0.05, betas=(0.9, 0.98))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=opt.param_groups[0]["lr"],
                                                total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    start = time.time()
    for step in range(steps):
        index = torch.randint(0, len(data) - CONTEXT - 1, (32,), generator=generator)
        x = torch.stack([data[i:i + CONTEXT] for i in index])
        y = torch.stack([data[i + 1:i + CONTEXT + 1] for i in index])
        loss = F.cross_entropy(model(x).reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if ngpt:
            model.project()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.time() - start:.0f} s",
                  flush=True)
    model.eval()
    x, y = held_out_windows(text, vocab, 256)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
    ppl = perplexity(logits, y)
    print(f"held-out perplexity {ppl:.3f} (per character)")
    path, stem = paths(ngpt, large)
    tensors = {k: v.detach().numpy().astype(np.float16)
               for k, v in model.state_dict().items()}
    safetensors.save(path, tensors, {"vocab": json.dumps("".join(vocab)),
                                     "variant": stem, "steps": str(steps),
                                     "perplexity": f"{ppl:.4f}"})
    print(f"wrote {path}")


def load(ngpt, large=False):
    """The trained PyTorch model (weights as shipped, in f32) and its
    vocabulary."""
    import torch

    from lattice import safetensors

    path, _ = paths(ngpt, large)
    if not path.exists():
        raise SystemExit(f"{path} is missing; `charlm.py train{' --large' if large else ''}` "
                         "writes it")
    tensors, metadata = safetensors.load(path, with_metadata=True)
    vocab = list(json.loads(metadata["vocab"]))
    model = build(len(vocab), ngpt, LARGE if large else SMALL)
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float32))
                           for k, v in tensors.items()})
    return model.eval(), vocab


def export(ngpt, output, large=False):
    import torch

    model, vocab = load(ngpt, large)
    tokens = torch.zeros((1, CONTEXT), dtype=torch.int64)
    torch.onnx.export(model, tokens, str(output), opset_version=17,
                      input_names=["tokens"], output_names=["logits"])
    return vocab


def main(argv=None):
    sys.path.insert(0, str(HERE.parents[1] / "python"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train", "export", "text"])
    parser.add_argument("--ngpt", action="store_true", help="the nGPT-style variant")
    parser.add_argument("--large", action="store_true",
                        help=f"the larger LM ({LARGE.layers} layers, width {LARGE.width})")
    parser.add_argument("--steps", type=int)
    parser.add_argument("-o", "--output")
    args = parser.parse_args(argv)
    if args.command == "train":
        if args.ngpt and args.large:
            parser.error("--ngpt and --large are different models")
        train(args.ngpt, args.steps or (LARGE_STEPS if args.large else 1500), args.large)
    elif args.command == "export":
        export(args.ngpt, args.output or paths(args.ngpt, args.large)[1] + ".onnx", args.large)
    else:
        pathlib.Path(args.output or "corpus.txt").write_text(corpus())


if __name__ == "__main__":
    main()
