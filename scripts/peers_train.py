#!/usr/bin/env python3
"""The peers' training epoch: PyTorch eager and snnTorch, on the same recipe as `joulebench train`.

Run with the project's venv (`scripts/jb-env python scripts/peers_train.py ...`; snnTorch is
installed by `scripts/peers --install`). `joulebench bench training` calls it once per case and
reads the JSON it writes. Recipes (joulebench's presets, models/src/preset.rs; trainer,
training/src/trainer.rs):

  mlp-sweep      Flatten, Linear(784,1024), ReLU, Linear(1024,1024), ReLU, Linear(1024,10);
                 input (x/255 − 0.1307)/0.3081; cross-entropy; Adam(lr 1e-3, β 0.9/0.999, ε 1e-8);
                 batch 64; the training set shuffled once per epoch (one permutation, then
                 consecutive slices; the last batch may be short). Peer: pytorch-eager.
  snn-temporal   Linear(784,256) → LIF → Linear(256,128) → LIF → Linear(128,10) → LIF; LIF β 0.9,
                 θ 1, reset by subtraction (U[t] = β·U[t−1] + I[t] − S[t−1]·θ, reset detached),
                 S = [U > θ] with the arctangent surrogate (α = 2); input: raw pixels x/255 in
                 [0, 1], rate-coded over T = 100 steps per batch inside the timed loop (Bernoulli
                 p = x); logits = mean over the T steps of the output layer's membrane;
                 cross-entropy; Adam(lr 1e-4); batch 128.
                 Peers: snntorch (snn.Leaky(beta=0.9, threshold=1, reset_mechanism="subtract",
                 spike_grad=surrogate.atan(alpha=2)), the step loop of snnTorch's tutorials, input
                 from spikegen.rate) and pytorch-eager (the same math as a plain torch loop with a
                 custom autograd Heaviside/atan function, input from torch.bernoulli).

Timing: wall clock (time.perf_counter) around one epoch's training loop only — the shuffle,
the per-batch slicing and spike encoding, forward, backward and the optimizer step; the data are
decoded to float tensors before the clock starts, and the test evaluation runs after it stops.
No warm-up (the Rust trainer has none either). torch.set_num_threads(--threads).

Output (JSON, --out or stdout): versions, threads, machine, and per (case, peer): train_s,
samples, samples_per_s, train_loss (mean over the epoch's batches weighted by batch size, with the
weights as they were then — as joulebench's metrics), train_acc, test_acc on test_samples images,
load average (1/5/15 min) before and after the timed loop.
"""

import argparse
import gzip
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# machine facts and clock helpers shared with the inference peers (same folder)
from peers import cpu_model, load_avg, utc_now

CASES = ("mlp-sweep", "snn-temporal")
PEERS = {"mlp-sweep": ("pytorch-eager",), "snn-temporal": ("snntorch", "pytorch-eager")}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

# The recipes (joulebench preset defaults).
RECIPES = {
    "mlp-sweep": dict(lr=1e-3, batch=64, test_limit=None),
    "snn-temporal": dict(lr=1e-4, batch=128, steps=100, beta=0.9, threshold=1.0, alpha=2.0,
                         test_limit=1000),
}


# ---------------------------------------------------------------- MNIST IDX files


class DataError(Exception):
    pass


def find_file(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            return p
    raise DataError(f"{os.path.join(folder, stem)}[.gz] not found")


def read_idx(path, magic, dims):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"{path}: cannot read ({e})")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes)")
    got = int.from_bytes(raw[0:4], "big")
    if got != magic:
        raise DataError(f"{path}: wrong magic {got:#010x}, expected {magic:#010x}")
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    n = int(np.prod(shape))
    if len(raw) - header < n:
        raise DataError(f"{path}: truncated: {len(raw) - header} bytes of data, expected {n}")
    return np.frombuffer(raw, dtype=np.uint8, count=n, offset=header).reshape(shape)


def load_split(folder, prefix):
    images = read_idx(find_file(folder, f"{prefix}-images-idx3-ubyte"), 0x00000803, 3)
    labels = read_idx(find_file(folder, f"{prefix}-labels-idx1-ubyte"), 0x00000801, 1)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"{folder}: {prefix} images {images.shape} do not match labels {labels.shape}")
    if labels.max() > 9:
        raise DataError(f"{folder}: {prefix} label {int(labels.max())} out of range 0..9")
    return images, labels


def mnist_folder(d):
    """`d` itself when it holds the IDX files, else `d/mnist`."""
    for cand in (d, os.path.join(d, "mnist")):
        for stem in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
            if os.path.isfile(os.path.join(cand, stem)):
                return cand
    raise DataError(f"no MNIST IDX files (train-images-idx3-ubyte[.gz]) in {d} or {os.path.join(d, 'mnist')}")


# ---------------------------------------------------------------- models


class Mlp(torch.nn.Module):
    def __init__(self, width=1024, depth=2):
        super().__init__()
        layers = [torch.nn.Flatten()]
        prev = 784
        for _ in range(depth):
            layers += [torch.nn.Linear(prev, width), torch.nn.ReLU()]
            prev = width
        layers.append(torch.nn.Linear(prev, 10))
        self.net = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SnnTorchNet(torch.nn.Module):
    """snnTorch's tutorial network: fc/Leaky per layer, a Python loop over the T steps."""

    def __init__(self, r):
        super().__init__()
        import snntorch as snn
        from snntorch import surrogate

        grad = surrogate.atan(alpha=r["alpha"])
        kw = dict(beta=r["beta"], threshold=r["threshold"], reset_mechanism="subtract", spike_grad=grad)
        self.fc1 = torch.nn.Linear(784, 256)
        self.lif1 = snn.Leaky(**kw)
        self.fc2 = torch.nn.Linear(256, 128)
        self.lif2 = snn.Leaky(**kw)
        self.fc3 = torch.nn.Linear(128, 10)
        self.lif3 = snn.Leaky(**kw)

    def forward(self, x):  # x: [T, B, 784] spikes
        mem1 = self.lif1.init_leaky()
        mem2 = self.lif2.init_leaky()
        mem3 = self.lif3.init_leaky()
        mem3_rec = []
        for step in range(x.shape[0]):
            cur1 = self.fc1(x[step])
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            cur3 = self.fc3(spk2)
            _spk3, mem3 = self.lif3(cur3, mem3)
            mem3_rec.append(mem3)
        return torch.stack(mem3_rec).mean(0)


class AtanSpike(torch.autograd.Function):
    """S = [x > 0]; dS/dx = (α/2) / (1 + (π/2·α·x)²)."""

    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return g * (a / 2) / (1 + (torch.pi / 2 * a * x) ** 2), None


class EagerSnn(torch.nn.Module):
    """The same network with the LIF recurrence written out as a plain torch loop."""

    def __init__(self, r):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 256)
        self.fc2 = torch.nn.Linear(256, 128)
        self.fc3 = torch.nn.Linear(128, 10)
        self.beta, self.theta, self.alpha = r["beta"], r["threshold"], r["alpha"]

    def lif(self, cur, mem, spk):
        # U[t] = β·U[t−1] + I[t] − S[t−1]·θ (reset detached); S[t] = [U[t] > θ]
        mem = self.beta * mem + cur - spk.detach() * self.theta
        return AtanSpike.apply(mem - self.theta, self.alpha), mem

    def forward(self, x):  # x: [T, B, 784] spikes
        b = x.shape[1]
        z = lambda n: x.new_zeros(b, n)
        mem1, spk1, mem2, spk2, mem3, spk3 = z(256), z(256), z(128), z(128), z(10), z(10)
        acc = x.new_zeros(b, 10)
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif(self.fc1(x[step]), mem1, spk1)
            spk2, mem2 = self.lif(self.fc2(spk1), mem2, spk2)
            spk3, mem3 = self.lif(self.fc3(spk2), mem3, spk3)
            acc = acc + mem3
        return acc / x.shape[0]


def encoder(case, peer, steps):
    """Analog batch [B, 784] → network input, inside the timed loop."""
    if case == "mlp-sweep":
        return lambda xb: xb
    if peer == "snntorch":
        from snntorch import spikegen

        return lambda xb: spikegen.rate(xb, num_steps=steps)
    return lambda xb: torch.bernoulli(xb.unsqueeze(0).expand(steps, *xb.shape))


def build(case, peer, r):
    if case == "mlp-sweep":
        return Mlp()
    return SnnTorchNet(r) if peer == "snntorch" else EagerSnn(r)


# ---------------------------------------------------------------- one epoch


def run_one(case, peer, data, args):
    r = RECIPES[case]
    xtr, ytr, xte, yte = data
    torch.manual_seed(args.seed)
    net = build(case, peer, r)
    opt = torch.optim.Adam(net.parameters(), lr=r["lr"], betas=(0.9, 0.999), eps=1e-8)
    enc = encoder(case, peer, r.get("steps", 1))
    n, bs = xtr.shape[0], r["batch"]
    gen = torch.Generator().manual_seed(args.seed)
    load_before = load_avg()
    net.train()
    t0 = time.perf_counter()
    perm = torch.randperm(n, generator=gen)
    xs, ys = xtr.index_select(0, perm), ytr.index_select(0, perm)
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    for start in range(0, n, bs):
        xb, yb = xs[start:start + bs], ys[start:start + bs]
        logits = net(enc(xb))
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach().double() * xb.shape[0]
            correct += (logits.argmax(-1) == yb).sum()
    train_loss = loss_sum.item() / n
    train_acc = correct.item() / n
    train_s = time.perf_counter() - t0
    load_after = load_avg()

    # test accuracy (not timed)
    net.eval()
    limit = r["test_limit"] or xte.shape[0]
    xt, yt = xte[:limit], yte[:limit]
    torch.manual_seed(args.seed + 1)
    right = 0
    with torch.no_grad():
        for start in range(0, xt.shape[0], bs):
            right += (net(enc(xt[start:start + bs])).argmax(-1) == yt[start:start + bs]).sum().item()
    return {
        "case": case,
        "peer": peer,
        "train_s": train_s,
        "samples": n,
        "batches": (n + bs - 1) // bs,
        "samples_per_s": n / max(train_s, 1e-9),
        "train_loss": train_loss if np.isfinite(train_loss) else None,
        "train_acc": train_acc,
        "test_acc": right / xt.shape[0],
        "test_samples": int(xt.shape[0]),
        "lr": r["lr"],
        "batch": bs,
        "steps": r.get("steps", 1),
        "load_before": load_before,
        "load_after": load_after,
    }


def tensors(case, images, labels, limit):
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = torch.from_numpy(images.reshape(images.shape[0], 784).astype(np.float32) / 255.0)
    if case == "mlp-sweep":
        x = (x - MNIST_MEAN) / MNIST_STD
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with the MNIST IDX files (or its parent holding mnist/)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated: mlp-sweep, snn-temporal")
    ap.add_argument("--peers", default="pytorch-eager,snntorch",
                    help="comma-separated: pytorch-eager, snntorch (snntorch applies to snn-temporal only)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch.set_num_threads")
    ap.add_argument("--limit-train", type=int, default=None, help="train on the first N samples only")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed of weights, shuffle and spikes")
    ap.add_argument("--out", default=None, help="write the JSON here (default: stdout)")
    args = ap.parse_args()

    cases = [c for c in args.cases.split(",") if c]
    peers = [p for p in args.peers.split(",") if p]
    for c in cases:
        if c not in CASES:
            sys.exit(f"peers_train.py: unknown case `{c}` (expected {', '.join(CASES)})")
    for p in peers:
        if p not in ("pytorch-eager", "snntorch"):
            sys.exit(f"peers_train.py: unknown peer `{p}` (expected pytorch-eager, snntorch)")
    if args.threads < 1 or (args.limit_train is not None and args.limit_train < 1):
        sys.exit("peers_train.py: --threads and --limit-train must be at least 1")
    torch.set_num_threads(args.threads)

    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    try:
        import snntorch

        versions["snntorch"] = snntorch.__version__
    except ImportError:
        versions["snntorch"] = None
    if versions["snntorch"] is None and "snntorch" in peers and "snn-temporal" in cases:
        sys.exit("peers_train.py: snntorch is not installed in this Python; run `scripts/peers --install`")

    try:
        folder = mnist_folder(args.data)
        train = load_split(folder, "train")
        test = load_split(folder, "t10k")
    except DataError as e:
        sys.exit(f"peers_train.py: MNIST: {e}")

    results = []
    for case in cases:
        data = tensors(case, *train, args.limit_train) + tensors(case, *test, None)
        for peer in PEERS[case]:
            if peer not in peers:
                continue
            print(f"[peers_train] {case} / {peer}: one epoch on {data[0].shape[0]} samples, "
                  f"{args.threads} threads ...", file=sys.stderr, flush=True)
            res = run_one(case, peer, data, args)
            print(f"[peers_train] {case} / {peer}: {res['train_s']:.2f} s, "
                  f"{res['samples_per_s']:.0f} samples/s, loss {res['train_loss']}, "
                  f"test acc {100 * res['test_acc']:.2f} % on {res['test_samples']}",
                  file=sys.stderr, flush=True)
            results.append(res)

    doc = {
        "what": "peers-train",
        "how": "wall clock (time.perf_counter) around one epoch's training loop (shuffle, slicing, "
               "spike encoding, forward, backward, Adam step); data decoded to tensors before; "
               "no warm-up; test accuracy after the epoch, untimed",
        "date": utc_now(),
        "versions": versions,
        "threads": torch.get_num_threads(),
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count()},
        "data": folder,
        "limit_train": args.limit_train,
        "seed": args.seed,
        "results": results,
    }
    text = json.dumps(doc, indent=2)
    if args.out:
        tmp = args.out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text + "\n")
        os.replace(tmp, args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
