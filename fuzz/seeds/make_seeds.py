#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from real files (small samples).

usage: make_seeds.py DATA_DIR ONNX_FILE... -- TOML_FILE...   (writes fuzz/corpus/<target>/seed-*)
Each target's first input byte is a mode byte (see fuzz/src/lib.rs).
"""
import gzip, os, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")
args = sys.argv[1:]
data_dir = args[0]
sep = args.index("--")
onnx_files, toml_files = args[1:sep], args[sep + 1:]

def put(target, name, payload):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(payload)

for ds in ["mnist", "fashion-mnist"]:
    img = gzip.open(os.path.join(data_dir, ds, "t10k-images-idx3-ubyte.gz")).read()
    lab = gzip.open(os.path.join(data_dir, ds, "t10k-labels-idx1-ubyte.gz")).read()
    magic, n, rows, cols = struct.unpack(">IIII", img[:16])
    for k in [1, 2]:
        body = struct.pack(">IIII", magic, k, rows, cols) + img[16:16 + k * rows * cols]
        put("idx", f"{ds}-images-{k}", b"\x00" + body)
        put("idx", f"{ds}-images-{k}.gz", b"\x00" + gzip.compress(body))
    labels = struct.pack(">II", 2049, 20) + lab[8:28]
    put("idx", f"{ds}-labels-20", b"\x01" + labels)
    put("idx", f"{ds}-labels-20.gz", b"\x01" + gzip.compress(labels))
    # CSV rows "label,p0..p7" from the first images (mode 0x97: 8 pixels, 10 classes)
    rows_txt = ["label," + ",".join(f"p{i}" for i in range(8))]
    for s in range(6):
        px = img[16 + s * rows * cols + 14 * cols + 10: 16 + s * rows * cols + 14 * cols + 18]
        rows_txt.append(",".join([str(lab[8 + s])] + [str(b) for b in px]))
    text = ("\n".join(rows_txt) + "\n").encode()
    put("csv", f"{ds}-8px", b"\x97" + text)
    put("csv", f"{ds}-8px.gz", b"\x97" + gzip.compress(text))
for f in onnx_files:
    put("onnx", os.path.basename(os.path.dirname(f)) + ".onnx", open(f, "rb").read())
for f in toml_files:
    put("sweep", os.path.basename(f), open(f, "rb").read())
