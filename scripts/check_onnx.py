#!/usr/bin/env python3
"""Checks ONNX files with the `onnx` checker and runs them in onnxruntime (CPU).

Usage: check_onnx.py MANIFEST.json

MANIFEST.json is a list of jobs:
    [{"model": "path/to/model.onnx",
      "input": {"shape": [T, B, 1, 28, 28], "data": [flat row-major float32 values]}}, ...]

For every job this runs `onnx.checker.check_model(model, full_check=True)` (structure plus
strict shape inference), then one onnxruntime CPU session (1 thread) on the given input, and
prints one JSON list on stdout:
    [{"model": ..., "checker": "ok", "opset": 17, "ir_version": 8,
      "logits": {"shape": [B, C], "data": [...]}}, ...]
A job that fails reports {"model": ..., "error": "..."} instead; the exit status is 1 when any
job failed. Run it with the project's venv (scripts/jb-env sets $JOULEBENCH_PYTHON).
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort


def run_job(job):
    path = job["model"]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    inp = job["input"]
    x = np.asarray(inp["data"], dtype=np.float32).reshape(inp["shape"])
    name = sess.get_inputs()[0].name
    (logits,) = sess.run(["logits"], {name: x})
    return {
        "model": path,
        "checker": "ok",
        "opset": int(opset),
        "ir_version": int(model.ir_version),
        "logits": {"shape": list(logits.shape), "data": [float(v) for v in logits.reshape(-1)]},
    }


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        jobs = json.load(f)
    results, failed = [], False
    for job in jobs:
        try:
            results.append(run_job(job))
        except Exception as e:  # report and go on with the next file
            failed = True
            results.append({"model": job.get("model"), "error": f"{type(e).__name__}: {e}"})
    json.dump(results, sys.stdout)
    print()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
