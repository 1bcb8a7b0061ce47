"""Ground truth for joulebench's NIR import: builds a NIR graph with the `nir` package, runs it
with snnTorch's own importer (`snntorch.import_nir.import_from_nir`) on seeded input spikes, and
writes graph.nir, input.npy ([T, batch, features…]) and spike_counts.npy (the output node's spikes
summed over T, [batch, outputs]) into OUT_DIR.

usage: ground_truth.py fc|conv|cuba|pool|pool_conv OUT_DIR [SEED]
"""
import sys

import numpy as np
import nir
import torch
from snntorch.import_nir import import_from_nir

DT = 1e-4


def betas(rng, n, lo=0.5, hi=0.95):
    """Per-neuron β in [lo, hi) (lo ≥ 0.5) that snnTorch's import (1 − dt/τ in float32) gives
    back exactly from τ = dt/(1 − β) (float32), so both sides run the same β."""
    out = []
    while len(out) < n:
        b = np.float32(rng.uniform(lo, hi))
        tau = np.float32(DT) / (np.float32(1) - b)
        if np.float32(1) - np.float32(DT) / tau == b:
            out.append(b)
    return np.array(out, dtype=np.float32)


def lif(rng, shape, vthr):
    n = int(np.prod(shape))
    b = betas(rng, n).reshape(shape)
    tau = (np.float32(DT) / (np.float32(1) - b)).astype(np.float32)
    return nir.LIF(
        tau=tau,
        r=(tau / np.float32(DT)).astype(np.float32),
        v_leak=np.zeros(shape, np.float32),
        v_threshold=np.full(shape, vthr, np.float32),
        v_reset=np.zeros(shape, np.float32),
    )


def cuba_lif(rng, shape, vthr):
    """A CubaLIF with per-neuron τ_syn and τ_mem written the way snnTorch's importer takes them
    (w_in = τ_syn/dt, r = τ_mem/dt: both input gains 1; v_leak = 0, v_reset = 0)."""
    n = int(np.prod(shape))
    tau = lambda b: (np.float32(DT) / (np.float32(1) - b.reshape(shape))).astype(np.float32)
    tau_syn = tau(betas(rng, n, 0.5, 0.8))
    tau_mem = tau(betas(rng, n))
    return nir.CubaLIF(
        tau_syn=tau_syn,
        tau_mem=tau_mem,
        r=(tau_mem / np.float32(DT)).astype(np.float32),
        v_leak=np.zeros(shape, np.float32),
        v_threshold=np.full(shape, vthr, np.float32),
        v_reset=np.zeros(shape, np.float32),
        w_in=(tau_syn / np.float32(DT)).astype(np.float32),
    )


def fc(rng, neuron=lif, scale=1.0):
    """Input [20] → Affine → neuron(32) → Affine → neuron(10) → Output, weights N(0, 0.6·scale)."""
    w1 = rng.normal(0, 0.6 * scale, (32, 20)).astype(np.float32)
    b1 = rng.normal(0, 0.1 * scale, 32).astype(np.float32)
    w2 = rng.normal(0, 0.6 * scale, (10, 32)).astype(np.float32)
    b2 = rng.normal(0, 0.1 * scale, 10).astype(np.float32)
    nodes = {
        "input": nir.Input(input_type=np.array([20])),
        "fc1": nir.Affine(weight=w1, bias=b1),
        "lif1": neuron(rng, (32,), 1.0),
        "fc2": nir.Affine(weight=w2, bias=b2),
        "lif2": neuron(rng, (10,), 1.0),
        "output": nir.Output(output_type=np.array([10])),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges), (20,)


def cuba(rng):
    """`fc` with current-based neurons (their synaptic currents sum up: smaller weights)."""
    return fc(rng, cuba_lif, 0.5)


def conv(rng):
    c1 = rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)
    cb = rng.normal(0, 0.1, 4).astype(np.float32)
    w2 = rng.normal(0, 0.3, (10, 4 * 6 * 6)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = {
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv1": nir.Conv2d(
            input_shape=(8, 8), weight=c1, stride=1, padding=0, dilation=1, groups=1, bias=cb
        ),
        "lif1": lif(rng, (4, 6, 6), 1.0),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([4, 6, 6])}),
        "fc2": nir.Affine(weight=w2, bias=b2),
        "lif2": lif(rng, (10,), 1.0),
        "output": nir.Output(output_type=np.array([10])),
    }
    order = ["input", "conv1", "lif1", "flat", "fc2", "lif2", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))), (2, 8, 8)


def pool(rng):
    """Conv2d → LIF → AvgPool2d 2×2 → Flatten → Affine → LIF: the pool is folded forward into
    the Affine at import."""
    c1 = rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)
    cb = rng.normal(0, 0.1, 4).astype(np.float32)
    w2 = rng.normal(0, 0.8, (10, 4 * 3 * 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = {
        "input": nir.Input(input_type=np.array([2, 8, 8])),
        "conv1": nir.Conv2d(
            input_shape=(8, 8), weight=c1, stride=1, padding=0, dilation=1, groups=1, bias=cb
        ),
        "lif1": lif(rng, (4, 6, 6), 1.0),
        "pool1": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([4, 3, 3])}),
        "fc2": nir.Affine(weight=w2, bias=b2),
        "lif2": lif(rng, (10,), 1.0),
        "output": nir.Output(output_type=np.array([10])),
    }
    order = ["input", "conv1", "lif1", "pool1", "flat", "fc2", "lif2", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))), (2, 8, 8)


def pool_conv(rng):
    """Odd sizes, both folds: Conv2d (padding 1) → AvgPool2d 2×2 (folded backward into the
    conv; drops row and column 14) → LIF → AvgPool2d 2×2 (folded forward into the next conv;
    drops row and column 6) → Conv2d 2×2 → LIF → Flatten → Affine → LIF."""
    avg = lambda: nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0]))
    c1 = rng.normal(0, 0.5, (4, 2, 3, 3)).astype(np.float32)
    cb1 = rng.normal(0, 0.1, 4).astype(np.float32)
    c2 = rng.normal(0, 0.6, (6, 4, 2, 2)).astype(np.float32)
    cb2 = rng.normal(0, 0.1, 6).astype(np.float32)
    w3 = rng.normal(0, 0.3, (10, 6 * 2 * 2)).astype(np.float32)
    b3 = rng.normal(0, 0.1, 10).astype(np.float32)
    nodes = {
        "input": nir.Input(input_type=np.array([2, 15, 15])),
        "conv1": nir.Conv2d(
            input_shape=(15, 15), weight=c1, stride=1, padding=1, dilation=1, groups=1, bias=cb1
        ),
        "pool1": avg(),
        "lif1": lif(rng, (4, 7, 7), 1.0),
        "pool2": avg(),
        "conv2": nir.Conv2d(
            input_shape=(3, 3), weight=c2, stride=1, padding=0, dilation=1, groups=1, bias=cb2
        ),
        "lif2": lif(rng, (6, 2, 2), 1.0),
        "flat": nir.Flatten(start_dim=0, end_dim=-1, input_type={"input": np.array([6, 2, 2])}),
        "fc3": nir.Affine(weight=w3, bias=b3),
        "lif3": lif(rng, (10,), 1.0),
        "output": nir.Output(output_type=np.array([10])),
    }
    order = ["input", "conv1", "pool1", "lif1", "pool2", "conv2", "lif2", "flat", "fc3", "lif3", "output"]
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order, order[1:]))), (2, 15, 15)


def main():
    kind, out = sys.argv[1], sys.argv[2]
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    rng = np.random.default_rng(seed)
    graph, sample = {"fc": fc, "conv": conv, "pool": pool, "pool_conv": pool_conv, "cuba": cuba}[kind](rng)
    nir.write(f"{out}/graph.nir", graph)
    steps, batch = 60, 5
    x = (rng.random((steps, batch) + sample) < 0.3).astype(np.float32)
    np.save(f"{out}/input.npy", x)
    net = import_from_nir(nir.read(f"{out}/graph.nir"))
    # NIR's Flatten dims exclude the batch (snnTorch's exporter subtracts 1), but snnTorch's
    # importer hands them to torch.nn.Flatten unchanged, which would flatten the batch too:
    # shift them back, as its exporter's inverse.
    for m in net.modules():
        if isinstance(m, torch.nn.Flatten) and m.start_dim >= 0:
            m.start_dim += 1
    counts = np.zeros((batch, 10), np.float32)
    with torch.no_grad():
        state = None
        for t in range(steps):
            y = net(torch.from_numpy(x[t]), state) if state is not None else net(torch.from_numpy(x[t]))
            if isinstance(y, tuple):
                y, state = y
            counts += y.numpy().reshape(batch, 10)
    np.save(f"{out}/spike_counts.npy", counts)
    print(f"{kind}: {int(counts.sum())} output spikes over {steps} steps × {batch} samples")


if __name__ == "__main__":
    main()
