#!/usr/bin/env python3
"""The peers, on our computation: PyTorch eager, snnTorch and Python onnxruntime.

Reads what `joulebench bench backends --out DIR` saved:
  DIR/backends.json                      the cases, the latency settings, the thread count;
  DIR/models/<case>/spec.json            our ModelSpec (layers, LIF β and θ, readout);
  DIR/models/<case>/weights.safetensors  our weights (PyTorch names and layouts: fc1.weight, ...);
  DIR/models/<case>/model.onnx           our ONNX export;
  DIR/inputs/<case>-b<batch>.safetensors `input.<v>`: the exact tensors our engines were timed on,
                                         `logits.<v>`: our reference engine's logits on them.
For every case and peer it first runs every saved input and compares the logits with ours
(max |Δ| and argmax agreement), then times with the same harness rules as the Rust side
(warm-up calls and seconds, then timed calls until both a count and a duration are reached, or a
time cap; wall clock around the model call only) and writes DIR/peers.json.

Peers:
  pytorch-eager   torch.nn layers + the LIF recurrence written as a plain torch loop:
                  U[t] = β·U[t−1] + I[t] − S[t−1]·θ, S[t] = (U[t] > θ), U[−1] = S[−1] = 0;
  snntorch        the same layers with snn.Leaky(beta=β, threshold=θ, reset_mechanism="subtract")
                  (spiking models only);
  onnxruntime-py  onnxruntime.InferenceSession on our model.onnx, CPU provider, intra-op threads as
                  the Rust side, 1 inter-op thread, sequential, all graph optimizations.
"""

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone

import numpy as np
import torch
import torch.nn.functional as F

PEERS = ("pytorch-eager", "snntorch", "onnxruntime-py")


def load_avg():
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def utc_now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------- models from our spec


class Net(torch.nn.Module):
    """Our ModelSpec as torch modules; LIF layers either as a plain torch loop or snn.Leaky."""

    def __init__(self, spec, weights, lif_impl):
        super().__init__()
        self.spec = spec
        self.kinds = []
        self.mods = torch.nn.ModuleList()
        self.lif_params = []
        for layer in spec["layers"]:
            op = layer["op"]
            kind = op["type"]
            name = layer["name"]
            mod = torch.nn.Identity()
            if kind == "linear":
                mod = torch.nn.Linear(op["in_features"], op["out_features"])
            elif kind == "conv2d":
                mod = torch.nn.Conv2d(op["in_channels"], op["out_channels"], op["kernel_size"],
                                      stride=op["stride"], padding=op["padding"])
            elif kind == "conv1d":
                mod = torch.nn.Conv1d(op["in_channels"], op["out_channels"], op["kernel_size"],
                                      stride=op["stride"], padding=op["padding"])
            elif kind == "lif" and lif_impl == "snntorch":
                import snntorch as snn

                mod = snn.Leaky(beta=op["beta"], threshold=op["threshold"], reset_mechanism="subtract")
            elif kind not in ("flatten", "relu", "tanh", "max_pool2d", "max_pool1d", "lif"):
                raise SystemExit(f"peers.py: layer `{name}` of type `{kind}` is not supported here")
            if kind in ("linear", "conv2d", "conv1d"):
                with torch.no_grad():
                    mod.weight.copy_(torch.from_numpy(weights[f"{name}.weight"]))
                    mod.bias.copy_(torch.from_numpy(weights[f"{name}.bias"]))
            self.kinds.append((kind, op))
            self.mods.append(mod)
        self.lif_impl = lif_impl
        self.readout = spec["readout"]
        self.spiking = any(k == "lif" for k, _ in self.kinds)

    def _layer(self, i, h):
        kind, op = self.kinds[i]
        if kind == "flatten":
            return torch.flatten(h, 1)
        if kind == "relu":
            return torch.relu(h)
        if kind == "tanh":
            return torch.tanh(h)
        if kind == "max_pool2d":
            return F.max_pool2d(h, op["kernel_size"])
        if kind == "max_pool1d":
            return F.max_pool1d(h, op["kernel_size"])
        return self.mods[i](h)

    def forward(self, x):
        if not self.spiking:
            h = x
            for i in range(len(self.kinds)):
                h = self._layer(i, h)
            return h
        steps = x.shape[0]
        n = len(self.kinds)
        mem = [None] * n
        spk = [None] * n
        acc = None
        last_lif = max(i for i, (k, _) in enumerate(self.kinds) if k == "lif")
        for t in range(steps):
            h = x[t]
            for i, (kind, op) in enumerate(self.kinds):
                if kind != "lif":
                    h = self._layer(i, h)
                    continue
                if self.lif_impl == "snntorch":
                    if mem[i] is None:
                        mem[i] = self.mods[i].init_leaky()
                    s, mem[i] = self.mods[i](h, mem[i])
                else:
                    beta = min(max(op["beta"], 0.0), 1.0)
                    thr = op["threshold"]
                    if mem[i] is None:
                        mem[i] = torch.zeros_like(h)
                        spk[i] = torch.zeros_like(h)
                    # U[t] = β·U[t−1] + I[t] − S[t−1]·θ ;  S[t] = U[t] > θ (strict)
                    mem[i] = beta * mem[i] + h - spk[i] * thr
                    spk[i] = (mem[i] > thr).to(h.dtype)
                    s = spk[i]
                h = s
            if self.readout == "membrane_mean":
                v = mem[last_lif]
            elif self.readout == "spike_count":
                v = h
            elif self.readout == "output":
                v = h
            else:  # membrane_last
                v = None
            if v is not None:
                acc = v.clone() if acc is None else acc + v
        if self.readout == "membrane_mean":
            return acc / steps
        if self.readout == "spike_count":
            return acc
        if self.readout == "output":
            return acc / steps
        return mem[last_lif]


# ---------------------------------------------------------------- timing


def time_calls(fn, inputs, batch, cfg):
    """Warm-up (count and seconds), then timed calls until count and duration, or the cap."""
    w0 = time.perf_counter()
    warm = 0
    i = 0
    while warm < cfg["warmup_queries"] or time.perf_counter() - w0 < cfg["warmup_seconds"]:
        fn(inputs[i % len(inputs)])
        i += 1
        warm += 1
    times = []
    start = time.perf_counter()
    cap = cfg.get("max_seconds")
    stopped = "count_and_duration"
    while True:
        x = inputs[i % len(inputs)]
        i += 1
        t0 = time.perf_counter_ns()
        fn(x)
        t1 = time.perf_counter_ns()
        times.append((t1 - t0) * 1e-3)
        wall = time.perf_counter() - start
        if len(times) >= max(cfg["min_queries"], 1) and wall >= cfg["min_seconds"]:
            break
        if cap is not None and wall >= cap:
            stopped = "time_cap"
            break
    per_call = np.array(times)
    per = per_call / batch
    return {
        "median_us": float(np.percentile(per, 50)),
        "p10_us": float(np.percentile(per, 10)),
        "p90_us": float(np.percentile(per, 90)),
        "mean_us": float(per.mean()),
        "std_us": float(per.std(ddof=1)) if len(per) > 1 else 0.0,
        "min_us": float(per.min()),
        "max_us": float(per.max()),
        "per_call_median_us": float(np.percentile(per_call, 50)),
        "repeats": len(per),
        "warmup_calls": warm,
        "wall_s": time.perf_counter() - start,
        "stopped_by": stopped,
        "harness_overhead_ns": None,
    }


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="output folder of `joulebench bench backends` (has backends.json)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ", ".join(PEERS))
    ap.add_argument("--cases", default="", help="comma-separated case names to run (default: all)")
    ap.add_argument("--repeats", type=int, help="minimum timed calls (default: as backends.json)")
    ap.add_argument("--min-seconds", type=float, help="minimum timed seconds (default: as backends.json)")
    ap.add_argument("--max-seconds", type=float, help="time cap per row, seconds (default: as backends.json)")
    ap.add_argument("--tolerance", type=float, default=1e-4,
                    help="max |logit difference| for `agrees` (default 1e-4, as the backend agreement rule)")
    ap.add_argument("--out", help="output file (default DIR/peers.json)")
    args = ap.parse_args()

    from safetensors.numpy import load_file

    with open(os.path.join(args.dir, "backends.json")) as f:
        bench = json.load(f)
    cfg = dict(bench["latency"])
    if args.repeats is not None:
        cfg["min_queries"] = args.repeats
    if args.min_seconds is not None:
        cfg["min_seconds"] = args.min_seconds
    if args.max_seconds is not None:
        cfg["max_seconds"] = args.max_seconds
    threads = int(bench["threads"])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    peers = [p for p in args.peers.split(",") if p]
    for p in peers:
        if p not in PEERS:
            raise SystemExit(f"peers.py: unknown peer `{p}` (expected {', '.join(PEERS)})")
    wanted = {c for c in args.cases.split(",") if c}

    versions = {"python": platform.python_version(), "torch": torch.__version__}
    try:
        import snntorch

        versions["snntorch"] = snntorch.__version__
    except ImportError:
        versions["snntorch"] = None
    try:
        import onnxruntime as ort

        versions["onnxruntime"] = ort.__version__
    except ImportError:
        ort = None
        versions["onnxruntime"] = None

    machine = (f"{cpu_model()} · {os.cpu_count()} logical CPUs · {platform.platform()} · "
               f"Python {versions['python']}")
    report = {
        "what": "peers",
        "date_start": utc_now(),
        "machine": machine,
        "versions": versions,
        "threads": threads,
        "load_start": load_avg(),
        "latency": cfg,
        "tolerance": args.tolerance,
        "how": "wall clock (time.perf_counter_ns) around the model call only; same warm-up/repeat rules as "
               "backends.json; torch.inference_mode(); torch threads = intra-op threads = backends.json's "
               "threads, 1 inter-op thread; per sample = per call / batch; numpy linear percentiles",
        "command": " ".join(sys.argv),
        "rows": [],
    }
    models = {}
    for case in bench["cases"]:
        name, batch = case["case"], case["batch"]
        if wanted and name not in wanted:
            continue
        mdir = os.path.join(args.dir, case["model_dir"])
        if name not in models:
            with open(os.path.join(mdir, "spec.json")) as f:
                spec = json.load(f)
            weights = load_file(os.path.join(mdir, "weights.safetensors"))
            models[name] = (spec, weights)
        spec, weights = models[name]
        saved = load_file(os.path.join(args.dir, case["inputs_file"]))
        xs = [saved[f"input.{v}"] for v in range(case["variants"])]
        refs = [saved[f"logits.{v}"] for v in range(case["variants"])]
        spiking = any(l["op"]["type"] == "lif" for l in spec["layers"])
        for peer in peers:
            row = {
                "case": name, "preset": case["preset"], "steps": case["steps"], "batch": batch,
                "backend": peer, "threads": threads, "status": "ok", "timing": None,
                "max_abs_diff_vs_reference": None, "argmax_agreement": None, "agrees": None,
                "macs_per_sample": case["macs_per_sample"], "date": utc_now(), "load_start": load_avg(),
                "load_end": None, "machine": machine,
            }
            try:
                if peer == "snntorch" and not spiking:
                    raise RuntimeError("not a spiking model (snnTorch runs LIF networks)")
                if peer == "onnxruntime-py":
                    if ort is None:
                        raise RuntimeError("onnxruntime is not installed")
                    so = ort.SessionOptions()
                    so.intra_op_num_threads = threads
                    so.inter_op_num_threads = 1
                    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                    sess = ort.InferenceSession(os.path.join(mdir, "model.onnx"), so,
                                                providers=["CPUExecutionProvider"])
                    in_name = sess.get_inputs()[0].name
                    inputs = [np.ascontiguousarray(x) for x in xs]

                    def fn(x, sess=sess, in_name=in_name):
                        return sess.run(None, {in_name: x})[0]
                else:
                    if peer == "snntorch" and versions["snntorch"] is None:
                        raise RuntimeError("snntorch is not installed (run scripts/peers)")
                    net = Net(spec, weights, "snntorch" if peer == "snntorch" else "torch").eval()
                    inputs = [torch.from_numpy(x) for x in xs]

                    def fn(x, net=net):
                        with torch.inference_mode():
                            return net(x).numpy()
                worst, same, total = 0.0, 0, 0
                for x, r in zip(inputs, refs):
                    y = np.asarray(fn(x))
                    if y.shape != r.shape:
                        raise RuntimeError(f"logits of shape {y.shape}, ours are {r.shape}")
                    worst = max(worst, float(np.abs(y - r).max()))
                    same += int((y.argmax(1) == r.argmax(1)).sum())
                    total += r.shape[0]
                row["max_abs_diff_vs_reference"] = worst
                row["argmax_agreement"] = same / max(total, 1)
                row["agrees"] = worst <= args.tolerance
                if not row["agrees"]:
                    print(f"warning: {peer} on {name} batch {batch}: logits differ from ours by up to {worst:.3g}",
                          file=sys.stderr)
                print(f"timing {name} batch {batch} on {peer} ...", file=sys.stderr)
                row["timing"] = time_calls(fn, inputs, batch, cfg)
            except Exception as e:  # recorded, not fatal: one missing peer must not lose the others
                row["status"] = f"unavailable: {e}"
                print(f"{peer} on {name}: {e}", file=sys.stderr)
            row["load_end"] = load_avg()
            report["rows"].append(row)
            t = row["timing"]
            if t:
                print(f"{name:>18} b{batch:<3} {peer:>15}: {t['median_us']:10.2f} µs/sample "
                      f"[{t['p10_us']:.2f}–{t['p90_us']:.2f}] n={t['repeats']} "
                      f"max|Δ|={row['max_abs_diff_vs_reference']:.2e}")
    report["date_end"] = utc_now()
    report["load_end"] = load_avg()
    out = args.out or os.path.join(args.dir, "peers.json")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
