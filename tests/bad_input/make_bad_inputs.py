#!/usr/bin/env python3
"""Writes the bad-input corpus used by tests/cli/bad_input.rs (committed; rerun to regenerate).

usage: scripts/jb-env python tests/bad_input/make_bad_inputs.py   (needs the `onnx` package)
"""
import gzip, os, struct
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
def put(name, data):
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)

def idx_images(count, rows, cols, payload):
    return struct.pack(">IIII", 2051, count, rows, cols) + payload

# IDX (MNIST layout, 28x28): header says 10 images, 100 pixel bytes follow
put("truncated-images-idx3-ubyte.gz", gzip.compress(idx_images(10, 28, 28, bytes(100)), mtime=0))
# one whole image and 50 bytes more than the header announces
put("oversized-images-idx3-ubyte", idx_images(1, 28, 28, bytes(784 + 50)))
# a header announcing 4294967295 images (must be refused before allocating)
put("huge-count-images-idx3-ubyte", idx_images(0xFFFFFFFF, 28, 28, bytes(784)))
# magic 2052 instead of 2051
put("wrong-magic-images-idx3-ubyte", struct.pack(">IIII", 2052, 1, 28, 28) + bytes(784))
# ten labels, the fourth is 255
put("label-255-labels-idx1-ubyte", struct.pack(">II", 2049, 10) + bytes([0, 1, 2, 255, 4, 5, 6, 7, 8, 9]))
put("empty-file", b"")
# CSV (label + 784 pixels): NaN / inf pixel on the second data row
def csv(bad):
    header = "label," + ",".join(f"p{i}" for i in range(784))
    row = lambda lab, v0: ",".join([str(lab), v0] + ["0"] * 783)
    return (header + "\n" + row(3, "17") + "\n" + row(5, bad) + "\n").encode()
put("nan-pixel.csv", csv("nan"))
put("inf-pixel.csv", csv("inf"))

# ONNX: a 40 -> 10 Gemm classifier, input [N, 40]; then three broken variants
def gemm_model(input_dims=("N", 40), op="Gemm", keep_bias=True):
    w = numpy_helper.from_array(np.zeros((10, 40), np.float32), "W")
    b = numpy_helper.from_array(np.zeros((10,), np.float32), "B")
    node = helper.make_node(op, ["x", "W", "B"], ["logits"], name="fc", **({"transB": 1} if op == "Gemm" else {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_dims))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])],
        initializer=[w, b] if keep_bias else [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             producer_name="joulebench bad_input")
put("missing-initializer.onnx", gemm_model(keep_bias=False).SerializeToString())
put("unknown-op.onnx", gemm_model(op="FancyDense").SerializeToString())
put("rank-3-input.onnx", gemm_model(input_dims=("N", 1, 40)).SerializeToString())
put("good-gemm.onnx", gemm_model().SerializeToString())

# sweep file with `learning_rate` instead of `lr`
put("misspelt-key.toml", b'description = "typo"\ndataset = "mnist1d"\nmodel = "mlp1d"\nlearning_rate = [0.001]\nepochs = 1\n')
