# otii-sim and otii-capture (crates/otii-sim, crates/otii-capture): the simulated Otii 3 TCP
# server and the capture client. See docs/otii.md.
#
#   make bench-capture   otii-capture fetch vs the study's way (official Python client +
#                        pandas + xz) on one study-sized recording (150 s at 10 kHz);
#                        figures in bench/out/capture.json, a table on stderr.
#                        BENCH_CAPTURE_PY_XZ=skip leaves pandas' xz step (~2.5 min) out.
#   make otii-sim        run the simulator in the foreground on 127.0.0.1:1905
#
# The conformance test with the official client (crates/otii-sim/tests/conformance.py) runs in
# `cargo test` (otii-sim's tests/sim.rs) through $CPE_VENV, which has otii-tcp-client pinned in
# requirements-dev.txt. xz2 links the system liblzma (found with pkg-config).
APT_PACKAGES += liblzma-dev pkg-config
BENCHES      += bench-capture

BENCH_CAPTURE_VENV    := $(CURDIR)/.venv-bench-capture
BENCH_CAPTURE_SECONDS ?= 150
BENCH_CAPTURE_RATE    ?= 10000
BENCH_CAPTURE_PY_XZ   ?= pandas

.PHONY: bench-capture otii-sim

# A bench-only venv: pandas is the peer's, not a dependency of any test.
$(BENCH_CAPTURE_VENV)/.stamp: bench/capture/requirements.txt | $(STAMPS)/apt.stamp
	@echo "bench-capture: creating $(BENCH_CAPTURE_VENV) (official client + pandas, pinned)" >&2
	@test -x $(BENCH_CAPTURE_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_CAPTURE_VENV)
	@$(BENCH_CAPTURE_VENV)/bin/python -m pip install -q --disable-pip-version-check -r $< >&2
	@touch $@

bench-capture: $(BENCH_CAPTURE_VENV)/.stamp | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p otii-sim -p otii-capture
	@mkdir -p bench/out
	$(BENCH_CAPTURE_VENV)/bin/python bench/capture/run.py --bin-dir $(BIN) \
	  --python $(BENCH_CAPTURE_VENV)/bin/python --seconds $(BENCH_CAPTURE_SECONDS) \
	  --rate $(BENCH_CAPTURE_RATE) --py-xz $(BENCH_CAPTURE_PY_XZ) --work bench/out/capture \
	  > bench/out/capture.json.tmp && mv bench/out/capture.json.tmp bench/out/capture.json

otii-sim: | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p otii-sim
	$(BIN)/otii-sim
