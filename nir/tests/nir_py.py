"""Test helper for joulebench-nir: the `nir` Python package writes and reads NIR files.

    python nir_py.py gen OUTDIR SEED   writes OUTDIR/*.nir and prints {file: dump} as JSON,
                                       the graphs as the nir package holds them after nir.read
    python nir_py.py dump FILE...      prints {file: dump} of nir.read(FILE) as JSON
    python nir_py.py small OUT [raw]   writes the small committed fixture (tests/fixtures/
                                       lif_chain.nir; fuzz/corpus/nir): Input(3) -> Affine ->
                                       LIF -> Output, gzip-compressed (uncompressed with `raw`)
    python nir_py.py latest IN OUT     rewrites IN with h5py's newest format (libver="latest":
                                       superblock 3, object header 2, link messages), uncompressed

A dump is {"nodes": {name: {field: "string" | {"shape": [...], "data": [...]}}},
"edges": [[from, to], ...]}, numbers as float64, arrays flattened row-major.
"""

import json
import sys

import h5py
import nir
import numpy as np


def dump(g):
    nodes = {}
    for name, node in g.nodes.items():
        d = {}
        for k, v in node.to_dict().items():
            if k == "metadata" or v is None:
                continue
            if isinstance(v, bytes):
                v = v.decode("utf8")
            if isinstance(v, str):
                d[k] = v
            else:
                a = np.asarray(v)
                d[k] = {"shape": list(a.shape), "data": a.astype(np.float64).ravel().tolist()}
        nodes[name] = d
    return {"nodes": nodes, "edges": [[str(a), str(b)] for a, b in g.edges]}


def gen(out, seed):
    rng = np.random.default_rng(seed)

    def w(*s):
        return rng.standard_normal(s).astype(np.float32)

    def per_neuron(lo, hi, *s, dtype=np.float32):
        return rng.uniform(lo, hi, s).astype(dtype)

    graphs = {}
    graphs["conv2d"] = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2, 8, 8])),
            "conv": nir.Conv2d(input_shape=(8, 8), weight=w(4, 2, 3, 3), stride=(1, 1),
                               padding=(1, 1), dilation=(1, 1), groups=1, bias=w(4)),
            "lif1": nir.LIF(tau=per_neuron(0.01, 0.05, 4, 8, 8), r=per_neuron(0.5, 2, 4, 8, 8),
                            v_leak=per_neuron(-0.1, 0.1, 4, 8, 8),
                            v_threshold=per_neuron(0.5, 1.5, 4, 8, 8),
                            v_reset=per_neuron(-0.2, 0, 4, 8, 8)),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                  padding=np.array([0, 0])),
            "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
            "fc": nir.Affine(weight=w(10, 64), bias=w(10)),
            "cuba": nir.CubaLIF(tau_syn=per_neuron(0.002, 0.01, 10), tau_mem=per_neuron(0.01, 0.05, 10),
                                r=per_neuron(0.5, 2, 10), v_leak=per_neuron(-0.1, 0.1, 10),
                                v_threshold=per_neuron(0.5, 1.5, 10), v_reset=per_neuron(-0.2, 0, 10),
                                w_in=per_neuron(0.5, 2, 10)),
            "output": nir.Output(output_type=np.array([10])),
        },
        edges=[("input", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "flat"),
               ("flat", "fc"), ("fc", "cuba"), ("cuba", "output")],
    )
    # LI's parameters in float64 (narrowed to f32 by joulebench-nir)
    graphs["dense"] = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([5])),
        nir.Linear(weight=w(3, 5)),
        nir.Scale(scale=w(3)),
        nir.LI(tau=per_neuron(0.01, 0.05, 3, dtype=np.float64), r=per_neuron(0.5, 2, 3, dtype=np.float64),
               v_leak=per_neuron(-0.1, 0.1, 3, dtype=np.float64)),
        nir.IF(r=per_neuron(0.5, 2, 3), v_threshold=per_neuron(0.5, 1.5, 3), v_reset=per_neuron(-0.2, 0, 3)),
        nir.Threshold(threshold=per_neuron(0.1, 0.9, 3)),
        nir.CubaLI(tau_syn=per_neuron(0.002, 0.01, 3), tau_mem=per_neuron(0.01, 0.05, 3),
                   r=per_neuron(0.5, 2, 3), v_leak=per_neuron(-0.1, 0.1, 3), w_in=per_neuron(0.5, 2, 3)),
        nir.Output(output_type=np.array([3])),
    )
    graphs["conv1d"] = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3, 10])),
        nir.Conv1d(input_shape=10, weight=w(2, 3, 3), stride=1, padding="same", dilation=1, groups=1, bias=w(2)),
        nir.Conv1d(input_shape=10, weight=w(4, 2, 3), stride=2, padding=1, dilation=2, groups=1, bias=w(4)),
        nir.Flatten(input_type={"input": np.array([4, 4])}, start_dim=0, end_dim=-1),
        nir.Affine(weight=w(2, 16), bias=w(2)),
        nir.Output(output_type=np.array([2])),
    )
    graphs["avgpool"] = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2, 7, 7])),
            "conv": nir.Conv2d(input_shape=(7, 7), weight=w(4, 2, 3, 3), stride=(2, 2), padding="valid",
                               dilation=(1, 1), groups=1, bias=w(4)),
            "pool": nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([1, 1]), padding=np.array([0, 0])),
            "output": nir.Output(output_type=np.array([4, 2, 2])),
        },
        edges=[("input", "conv"), ("conv", "pool"), ("pool", "output")],
        type_check=False,
    )
    # a large weight: h5py splits it into several gzip chunks
    graphs["big"] = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([700])),
        nir.Affine(weight=w(600, 700), bias=w(600)),
        nir.LIF(tau=per_neuron(0.01, 0.05, 600), r=per_neuron(0.5, 2, 600), v_leak=per_neuron(-0.1, 0.1, 600),
                v_threshold=per_neuron(0.5, 1.5, 600)),
        nir.Output(output_type=np.array([600])),
    )
    for name, g in graphs.items():
        nir.write(f"{out}/{name}.nir", g)
    # files older than nir 1.0: no v_reset (LIF, IF, CubaLIF) and no w_in (CubaLIF)
    old = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([4])),
        nir.Linear(weight=w(4, 4)),
        nir.LIF(tau=per_neuron(0.01, 0.05, 4), r=np.ones(4, np.float32), v_leak=np.zeros(4, np.float32),
                v_threshold=np.ones(4, np.float32)),
        nir.Linear(weight=w(4, 4)),
        nir.CubaLIF(tau_syn=per_neuron(0.002, 0.01, 4), tau_mem=per_neuron(0.01, 0.05, 4),
                    r=np.ones(4, np.float32), v_leak=np.zeros(4, np.float32), v_threshold=np.ones(4, np.float32)),
        nir.Output(output_type=np.array([4])),
    )
    nir.write(f"{out}/old.nir", old)
    with h5py.File(f"{out}/old.nir", "a") as f:
        del f["node/nodes/lif/v_reset"]
        del f["node/nodes/cubalif/v_reset"]
        del f["node/nodes/cubalif/w_in"]
    files = sorted(list(graphs) + ["old"])
    return {f"{n}.nir": dump(nir.read(f"{out}/{n}.nir")) for n in files}


def small(out, raw):
    rng = np.random.default_rng(3)
    g = nir.NIRGraph.from_list(
        nir.Input(input_type=np.array([3])),
        nir.Affine(weight=rng.standard_normal((4, 3)).astype(np.float32),
                   bias=rng.standard_normal(4).astype(np.float32)),
        nir.LIF(tau=rng.uniform(0.01, 0.05, 4).astype(np.float32), r=np.ones(4, np.float32),
                v_leak=np.zeros(4, np.float32), v_threshold=np.ones(4, np.float32)),
        nir.Output(output_type=np.array([4])),
    )
    nir.write(out, g, compression=None if raw else "gzip")


def latest(src, out):
    """nir.write's layout, but with h5py's newest file format and no compression."""
    d = nir.read(src).to_dict()

    def write_recursive(group, node):
        for k, v in node.items():
            if k == "metadata":
                continue
            if isinstance(v, str):
                group.create_dataset(k, data=v, dtype=h5py.string_dtype())
            elif isinstance(v, dict):
                write_recursive(group.create_group(str(k)), v)
            else:
                group.create_dataset(k, data=v)

    with h5py.File(out, "w", libver="latest") as f:
        f.create_dataset("version", data=nir.version, dtype=h5py.string_dtype())
        write_recursive(f.create_group("node"), d)


if __name__ == "__main__":
    if sys.argv[1] == "latest":
        latest(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "small":
        small(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == "raw")
    elif sys.argv[1] == "gen":
        print(json.dumps(gen(sys.argv[2], int(sys.argv[3]))))
    else:
        print(json.dumps({f: dump(nir.read(f)) for f in sys.argv[2:]}))
