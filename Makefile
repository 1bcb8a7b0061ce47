# The two commands of the README. Both set up .jb/ (venv with torch + onnxruntime) on first use.
OUT ?= out/run
ARGS ?= --quick
CARGO_FEATURES = --features training

.PHONY: run test build bench fmt gpu-kit

## Main job on the embedded default dataset (MNIST-1D, no download).
run:
	scripts/jb-env cargo run --release $(CARGO_FEATURES) --bin joulebench -- run $(ARGS) --out $(OUT)

## Whole test suite (every crate, libtorch and ONNX Runtime included). A test whose resource is
## missing (shared datasets, ONNX Runtime, onnx's Python) fails under CI=true; otherwise it is
## listed in $(TEST_SKIPS), printed as one summary at the end (see testkit/).
TEST_SKIPS = $(or $(CARGO_TARGET_DIR),target)/test-skips.txt
test:
	@rm -f $(TEST_SKIPS)
	@status=0; JOULEBENCH_TEST_SKIPS="$(abspath $(TEST_SKIPS))" \
	  scripts/jb-env cargo test --release --workspace --no-fail-fast $(CARGO_FEATURES) || status=$$?; \
	if [ -s $(TEST_SKIPS) ]; then \
	  echo; echo "Skipped checks ($$(sort -u $(TEST_SKIPS) | wc -l); CI=true makes each a failure):"; \
	  sort -u $(TEST_SKIPS) | sed 's/^/  /'; \
	fi; exit $$status

build:
	scripts/jb-env cargo build --release $(CARGO_FEATURES)

bench:
	scripts/jb-env cargo bench -p joulebench-bench

fmt:
	cargo fmt --all

## The kit scripts/gpu-check runs on a lent GPU machine (stripped binary + MNIST, .jb/gpu-kit).
gpu-kit:
	scripts/gpu-kit
