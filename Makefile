# The two commands of the README. Both set up .jb/ (venv with torch + onnxruntime) on first use.
OUT ?= out/run
ARGS ?= --quick
CARGO_FEATURES = --features training

.PHONY: run test build bench fmt gpu-kit

## Main job on the embedded default dataset (MNIST-1D, no download).
run:
	scripts/jb-env cargo run --release $(CARGO_FEATURES) --bin joulebench -- run $(ARGS) --out $(OUT)

## Whole test suite (every crate, libtorch and ONNX Runtime included).
test:
	scripts/jb-env cargo test --release --workspace $(CARGO_FEATURES)

build:
	scripts/jb-env cargo build --release $(CARGO_FEATURES)

bench:
	scripts/jb-env cargo bench -p joulebench-bench

fmt:
	cargo fmt --all

## The kit scripts/gpu-check runs on a lent GPU machine (stripped binary + MNIST, .jb/gpu-kit).
gpu-kit:
	scripts/gpu-kit
