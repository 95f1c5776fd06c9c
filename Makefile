# cpython-energy — the pipeline and the developer commands.
#
#   make demo        the whole experiment on this machine (local MiniTwit, simulated Otii)
#   make interpreters  the local Pythons the demo finds, their labels, what is skipped and why
#   make test        every test: fmt, clippy, cargo tests, Python tests (what CI runs)
#   make check       the same as make test
#   make experiment  the study on a real testbed (INVENTORY=testbed.toml; docs/hardware.md)
#   make bench       all benchmarks (bench-load, bench-capture, bench-stats; QUICK=1 for a
#                    small bench-stats), figures in target/bench/
#   make deps        Debian packages the tools and tests need (apt-get; idempotent)
#   make venv        the Python venv .venv with pinned requirements (idempotent)
#   make build       release build of every tool
#   make seed        MiniTwit's seed data, data/minitwit/seed.sql
#   make clean-demo  remove data/demo

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO      ?= cargo
PYTHON     ?= python3
VENV       := $(CURDIR)/.venv
PY         := $(VENV)/bin/python
BIN        := $(CURDIR)/target/release
STAMPS     := $(CURDIR)/.deps

# Tests find the venv, the repository and the release binaries through these.
export CPE_ROOT    := $(CURDIR)
export CPE_VENV    := $(VENV)
export CPE_BIN_DIR := $(BIN)
export CPE_PYPY_VENV := $(CURDIR)/.venv-pypy
# Wheels of MiniTwit's pins for the local CPython and PyPy: the pi-provision tests deploy from it
# offline (building it is the only step of those tests that reaches the package index).
PROVISION_WHEELHOUSE := $(STAMPS)/wheelhouse
export CPE_WHEELHOUSE := $(PROVISION_WHEELHOUSE)

# Debian packages (make deps), pytest folders, extra test steps and benchmarks. pypy3 is one of
# the demo's local interpreters (`pypy3 -m venv` works with it alone); xz2 links the system
# liblzma through pkg-config.
# The pi-provision tests build a testbed of network namespaces with a real OpenSSH sshd in each
# (openssh-server, iproute2; root); ssh2 builds against the system OpenSSL.
# The PNG figures need a TrueType font (fonts-dejavu-core); the test of report.html opens it in
# headless Chromium (chromium).
APT_PACKAGES := python3-venv xz-utils ca-certificates procps pypy3 liblzma-dev pkg-config \
                openssh-server openssh-client iproute2 shellcheck libssl-dev fonts-dejavu-core \
                chromium time util-linux
PYTEST_PATHS := minitwit/tests
TEST_EXTRA   := minitwit-test-pypy shellcheck-provision
BENCHES      := bench-load bench-capture bench-stats bench-requests
BENCH_OUT    := $(CURDIR)/target/bench

# MiniTwit's generated seed data (GEN_SEED_SQL, from LOAD_SEED; minitwit-load's --seed defaults
# to the same 2024) and the seed the demo serves (SEED_SQL: the generated one unless you give
# another file, e.g. the study's dump.sql; the load follows that file's first 20 users). Only
# the generated file has a rule: a file of yours is read, never rewritten.
LOAD_SEED    ?= 2024
GEN_SEED_SQL := data/minitwit/seed.sql
SEED_SQL     ?= $(GEN_SEED_SQL)
PYPY_VENV := $(CURDIR)/.venv-pypy

.PHONY: help deps venv build test check fmt clippy cargo-test pytest minitwit-test-pypy seed \
        shellcheck-provision provision-wheelhouse \
        bench bench-load bench-capture bench-stats stats-golden otii-sim demo demo-report report clean-demo experiment \
        experiment-report interpreters FORCE

help:
	@sed -n '1,14p' Makefile | sed 's/^# \{0,1\}//'

# --- set-up -------------------------------------------------------------------------------

deps: $(STAMPS)/apt.stamp
$(STAMPS)/apt.stamp: Makefile
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing Debian packages:" $$missing >&2; \
	  if [ "$$(id -u)" != 0 ]; then echo "deps: need root for apt-get (or install: $$missing)" >&2; exit 1; fi; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi
	@touch $@

# The recipe of every venv stamp: $(call make-venv,INTERPRETER,VENV,REQUIREMENTS) creates VENV
# with INTERPRETER if it is missing, installs the pinned REQUIREMENTS, then touches the stamp.
define make-venv
	@echo "venv: $(2) with $(3)" >&2
	@test -x $(2)/bin/python || $(1) -m venv $(2)
	@$(2)/bin/python -m pip install -q --disable-pip-version-check -r $(3) >&2
	@touch $@
endef

venv: $(VENV)/.stamp
$(VENV)/.stamp: requirements-dev.txt minitwit/requirements.txt | $(STAMPS)/apt.stamp
	$(call make-venv,$(PYTHON),$(VENV),requirements-dev.txt)

build: | $(STAMPS)/apt.stamp
	$(CARGO) build --release --workspace --locked

# --- tests (what CI runs) -----------------------------------------------------------------

test: fmt clippy cargo-test pytest $(TEST_EXTRA)
	@echo "make test: all passed" >&2
check: test

fmt:
	$(CARGO) fmt --all --check

clippy: | $(STAMPS)/apt.stamp
	$(CARGO) clippy --release --workspace --all-targets --locked -- -D warnings

# Release profile everywhere, so tests, benchmarks and the demo share one build.
cargo-test: build venv $(PYPY_VENV)/.stamp $(PROVISION_WHEELHOUSE)/.stamp $(GEN_SEED_SQL)
	$(CARGO) test --release --workspace --locked

pytest: venv
	@if [ -n "$(strip $(PYTEST_PATHS))" ]; then $(PY) -m pytest -q $(PYTEST_PATHS); fi

# The MiniTwit suite again, with gunicorn and MiniTwit under PyPy (pytest runs from .venv;
# CPE_VENV tells the fixtures whose gunicorn to start).
minitwit-test-pypy: $(PYPY_VENV)/.stamp venv
	CPE_VENV=$(PYPY_VENV) $(PY) -m pytest -q minitwit/tests

$(PYPY_VENV)/.stamp: minitwit/requirements.txt | $(STAMPS)/apt.stamp
	$(call make-venv,pypy3,$(PYPY_VENV),minitwit/requirements.txt)

shellcheck-provision: | $(STAMPS)/apt.stamp
	shellcheck -x -s sh shell/*.sh shell/*/*.sh

provision-wheelhouse: $(PROVISION_WHEELHOUSE)/.stamp
$(PROVISION_WHEELHOUSE)/.stamp: minitwit/requirements.txt | build venv $(PYPY_VENV)/.stamp
	@echo "provision: building the test wheelhouse in $(PROVISION_WHEELHOUSE)" >&2
	@rm -rf $(PROVISION_WHEELHOUSE)
	@$(BIN)/pi-provision wheelhouse --python $(PY) --python $(PYPY_VENV)/bin/python \
	  --requirements minitwit/requirements.txt -o $(PROVISION_WHEELHOUSE) > /dev/null
	@touch $@

# --- MiniTwit's seed data -----------------------------------------------------------------
# Rebuilt only when the generator or LOAD_SEED changes (the .seed file holds the value).

seed: $(GEN_SEED_SQL)

$(GEN_SEED_SQL): crates/minitwit-load/src/seed.rs crates/minitwit-load/src/words.rs $(GEN_SEED_SQL).seed | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p minitwit-load
	$(BIN)/minitwit-load seed --seed $(LOAD_SEED) > $@.tmp && mv $@.tmp $@

$(GEN_SEED_SQL).seed: FORCE
	@mkdir -p $(@D)
	@echo $(LOAD_SEED) | cmp -s - $@ || echo $(LOAD_SEED) > $@

FORCE:

# --- benchmarks (figures in target/bench/) ------------------------------------------------

bench: $(BENCHES)

# Client CPU per request: minitwit-load vs the Python `requests` peer, against the same local
# MiniTwit; then minitwit-load's maximum request rate against a trivial local endpoint.
LOAD_BENCH_ROUNDS ?= 5
bench-load: $(GEN_SEED_SQL) venv
	$(CARGO) build --release --locked -p minitwit-load
	@mkdir -p $(BENCH_OUT)
	$(PY) crates/minitwit-load/bench/bench.py --bin $(BIN)/minitwit-load --seed-sql $(GEN_SEED_SQL) \
	  --rounds $(LOAD_BENCH_ROUNDS) | tee $(BENCH_OUT)/load-cpu.txt
	$(CARGO) bench --locked -p minitwit-load --bench rate | tee $(BENCH_OUT)/load-rate.txt

# otii-capture fetch vs the study's way (official Python client + pandas + xz) on one
# study-sized recording (150 s at 10 kHz). BENCH_CAPTURE_PY_XZ=skip leaves pandas' xz step
# (~2.5 min) out. pandas lives in a bench-only venv: no test needs it.
BENCH_CAPTURE_VENV    := $(CURDIR)/.venv-bench-capture
BENCH_CAPTURE_SECONDS ?= 150
BENCH_CAPTURE_RATE    ?= 10000
BENCH_CAPTURE_PY_XZ   ?= pandas
$(BENCH_CAPTURE_VENV)/.stamp: crates/otii-capture/bench/requirements.txt | $(STAMPS)/apt.stamp
	$(call make-venv,$(PYTHON),$(BENCH_CAPTURE_VENV),$<)

bench-capture: $(BENCH_CAPTURE_VENV)/.stamp | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p otii-sim -p otii-capture
	@mkdir -p $(BENCH_OUT)
	$(BENCH_CAPTURE_VENV)/bin/python crates/otii-capture/bench/run.py --bin-dir $(BIN) \
	  --python $(BENCH_CAPTURE_VENV)/bin/python --seconds $(BENCH_CAPTURE_SECONDS) \
	  --rate $(BENCH_CAPTURE_RATE) --py-xz $(BENCH_CAPTURE_PY_XZ) --work $(BENCH_OUT)/capture \
	  > $(BENCH_OUT)/capture.json.tmp && mv $(BENCH_OUT)/capture.json.tmp $(BENCH_OUT)/capture.json

# energy-stats cold (--no-cache) and warm vs the study's pandas read vs plain `xz -dc` (the
# floor), on 60 study-sized traces (generated once into target/bench/stats/full, ~25 min the
# first time); QUICK=1 for 6 traces of 150 k rows (a minute). The venv .venv-stats holds the
# pinned SciPy/pandas of crates/energy-stats/fixtures/requirements.txt.
STATS_VENV := $(CURDIR)/.venv-stats
STATS_REQ  := crates/energy-stats/fixtures/requirements.txt
$(STATS_VENV)/.stamp: $(STATS_REQ) | $(STAMPS)/apt.stamp
	$(call make-venv,$(PYTHON),$(STATS_VENV),$(STATS_REQ))

bench-stats: $(STATS_VENV)/.stamp | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p energy-stats
	$(STATS_VENV)/bin/python crates/energy-stats/bench/bench.py --size $(if $(QUICK),quick,full) \
	  --bin $(BIN)/energy-stats --out $(BENCH_OUT)/stats

# energy-stats requests (energy per request and endpoint, docs/requests.md) warm (its Parquet
# store) and cold, beside the xz decode floor and a pandas + numpy peer doing the same
# attribution, with peak memory (/usr/bin/time -v), on bench-stats' traces laid out as results
# folders with 492 requests per run; QUICK=1 for the small set.
.PHONY: bench-requests
bench-requests: $(STATS_VENV)/.stamp | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p energy-stats
	$(STATS_VENV)/bin/python crates/energy-stats/bench/bench_requests.py --size $(if $(QUICK),quick,full) \
	  --bin $(BIN)/energy-stats --out $(BENCH_OUT)/stats

# Regenerates the golden fixtures with the pinned SciPy/pandas (by hand, then commit; the
# tests only compare against the committed file).
stats-golden: $(STATS_VENV)/.stamp
	$(STATS_VENV)/bin/python crates/energy-stats/fixtures/gen_golden.py > crates/energy-stats/fixtures/golden.json.tmp
	mv crates/energy-stats/fixtures/golden.json.tmp crates/energy-stats/fixtures/golden.json

# The simulator in the foreground on 127.0.0.1:1905, for trying otii-capture by hand.
otii-sim: | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p otii-sim
	$(BIN)/otii-sim

# --- the experiment on this machine: make demo ----------------------------------------------
# Local MiniTwit under gunicorn per interpreter, otii-sim modelling power from gunicorn's CPU
# work, minitwit-load as the three clients, then the analysis. Override e.g.
#   make demo RUNS=10 INTERPRETERS="3.11 pypy3.9" ORDER=shuffled SEED=7
# INTERPRETERS: labels that `make interpreters` shows, paths, or commands on PATH (python3.11).
# By default every interpreter found (PATH, pyenv's versions, uv); QUICK=1 takes only the
# oldest and the newest CPython of them. Expanded when the recipe runs, after `build`.
# The demo's defaults are chosen so that its numbers hold from one demo to the next on a 2-core
# machine (docs/method.md, "The demo's power model" and "The demo's noise"): one run is the
# study's scenario REPEAT times in a row per client (minitwit-load run --repeat; ~4.5 s instead
# of ~1 s), 6 runs per interpreter, shuffled order with one warm-up run per server start (the
# spread between server processes lands inside every interpreter's runs; the warm-up one
# scenario per client, WARMUP_REPEAT=1, which leaves the time for more runs), no cool-down
# (the modelled energy follows CPU work, not the seconds around it), a short baseline and 1 kHz
# samples (the model's load is sampled at 200 Hz; 10 kHz only slows the download).
# PRIORITY=realtime runs the local server and load under SCHED_FIFO (chrt), so other programs on
# the machine do not interrupt them and the same requests cost the same CPU time
# (docs/method.md); PRIORITY=default is the study's ordinary scheduling (needed without root).
INTERPRETERS ?= $(shell $(BIN)/experiment interpreters --format labels $(if $(QUICK),--quick))
ORDER    ?= shuffled
SEED     ?= 1
WARMUP   ?= 1
# TARGET_CI=1.0: run until every pair's interval is at most ±1.0 % (RUNS is then the first
# stage, at least 3; MAX_RUNS caps the runs per interpreter): docs/method.md, "Stopping rule".
TARGET_CI ?=
# How long the experiment waits for the meter or the server when it is away (the run is then
# repeated, not failed), e.g. 90s, 30m, 2h; past it, it stops and says how to continue.
PATIENCE ?= 30m
DEMO     := data/demo
# The demo's own defaults, for `make demo` and for its per-version targets alike.
define demo-defaults
$(1): RUNS ?= 6
$(1): REPEAT ?= 4
$(1): WARMUP_REPEAT ?= 1
$(1): COOLDOWN ?= 0
$(1): BASELINE ?= 1
$(1): RATE ?= 1000
$(1): MAX_RUNS ?= 20
$(1): PRIORITY ?= realtime
endef
$(eval $(call demo-defaults,demo))
$(eval $(call demo-defaults,$(DEMO)/out/%))

# Reruns (docs/hardware.md, "Reruns"): ONLY=3.12 records only that interpreter's missing runs;
# with REDO=1 it records them again (the old set moves to OUT/archive/<folder>-<session>/);
# ADD=3.14 adds an interpreter in a new session, interleaved with runs of a reference already
# in the experiment (REF=3.12, default the newest CPython; REF_RUNS=N, default as many as the
# new one). Several labels: ONLY="3.11 3.12".
RERUN = $(foreach l,$(ONLY),--only $(l)) $(if $(REDO),--redo) $(foreach l,$(ADD),--add $(l)) \
        $(if $(REF),--reference $(REF)) $(if $(REF_RUNS),--ref-runs $(REF_RUNS))
# A rerun's interpreters (and a per-version target's): the experiment's own, from its plan,
# plus ADD; without a plan yet, INTERPRETERS. An INTERPRETERS you give always wins.
given_interpreters = $(filter command line environment,$(origin INTERPRETERS))
plan_labels = $(shell test -f $(1) && $(BIN)/experiment status $(1) --labels)
rerun_interpreters = $(if $(given_interpreters),$(INTERPRETERS),$(or $(call plan_labels,$(1)),$(INTERPRETERS)) $(ADD))
# A group folder's interpreter label, as records::group_label reads it: minitwit312 → 3.12.
folder_label = $(if $(filter minitwit%,$(1)),$(shell echo '$(patsubst minitwit%,%,$(1))' | sed 's/^\([0-9]\)\([0-9][0-9]*\)$$/\1.\2/'),$(1))

# experiment run for the demo, with the rerun flags and interpreters ($(1)).
demo-run = $(BIN)/experiment run --plan $(DEMO)/plan.json --out $(DEMO)/out --work-dir $(DEMO)/work \
	  $(foreach p,$(1),--python $(p)) --seed-sql $(SEED_SQL) \
	  --runs $(RUNS) --order $(ORDER) --seed $(SEED) --warmup $(WARMUP) \
	  --cooldown $(COOLDOWN) --baseline $(BASELINE) --rate $(RATE) --users 3 \
	  --repeat $(REPEAT) --warmup-repeat $(WARMUP_REPEAT) --priority $(PRIORITY) \
	  --patience $(PATIENCE) $(if $(TARGET_CI),--target-ci $(TARGET_CI) --max-runs $(MAX_RUNS))

demo: build $(SEED_SQL) | $(STAMPS)/apt.stamp
	@mkdir -p $(DEMO)
	$(call demo-run,$(if $(strip $(ONLY)$(ADD)),$(call rerun_interpreters,$(DEMO)/plan.json),$(INTERPRETERS))) $(RERUN)
	@$(MAKE) demo-report

# Per-version targets: `make data/demo/out/minitwit312` records 3.12's missing runs of the
# demo (experiment run --only 3.12). A group folder is up to date once it holds complete.json,
# the file the experiment writes last for a complete group (then `make -n` does nothing);
# without it, the FORCE prerequisite makes the folder out of date.
.SECONDEXPANSION:
group-pending = $$(if $$(wildcard $$@/complete.json),,FORCE)
$(DEMO)/out/%: $(group-pending)
	@$(MAKE) build $(SEED_SQL)
	@mkdir -p $(DEMO)
	$(call demo-run,$(call rerun_interpreters,$(DEMO)/plan.json)) --only $(call folder_label,$(@F))

# SPEED_ADJUST=1 (the demo's default): energies adjusted by the machine's speed measured beside
# each run (energy-stats --speed-adjust; docs/method.md, "The machine's speed"); 0: raw.
demo-report: SPEED_ADJUST ?= 1
demo-report:
	@$(MAKE) --no-print-directory report REPORT_IN=$(DEMO)/out REPORT_DEST=$(DEMO) REPORT_FOR=demo \
	  REPORT_FLAGS="$(if $(filter 1,$(SPEED_ADJUST)),--speed-adjust)"

# One report recipe for the demo and the experiment: the group folders under REPORT_IN/ give
# report.json, table.tex (the describe table), study.tex (the study's table beside this
# machine's), report.md (with links to the figures), report.html (one self-contained page, every
# figure inline) and figures/ in REPORT_DEST/.
# energy-stats -o writes each file atomically; report.md is assembled under a dot-name first.
report:
	@test -n "$(REPORT_IN)" && test -n "$(REPORT_DEST)" || { echo "report: give REPORT_IN=DIR (holding the group folders) and REPORT_DEST=DIR" >&2; exit 2; }
	@mkdir -p $(REPORT_DEST)/figures
	$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format json -o $(REPORT_DEST)/report.json
	$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format latex -o $(REPORT_DEST)/table.tex
	$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format latex --variable study -o $(REPORT_DEST)/study.tex
	$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format html -o $(REPORT_DEST)/report.html
	$(BIN)/energy-stats plot $(REPORT_IN)/*/ $(REPORT_FLAGS) --out $(REPORT_DEST)/figures --format svg
	$(BIN)/energy-stats plot $(REPORT_IN)/*/ $(REPORT_FLAGS) --out $(REPORT_DEST)/figures --format png
	$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format markdown -o $(REPORT_DEST)/.report-body.md
	@{ cat $(REPORT_DEST)/.report-body.md; printf '\n## Figures\n\n'; \
	   for f in $(REPORT_DEST)/figures/*.svg; do n=$$(basename $$f .svg); printf -- '- [%s](figures/%s.svg) ([PNG](figures/%s.png))\n' $$n $$n $$n; done; \
	 } > $(REPORT_DEST)/.report.md.tmp && mv $(REPORT_DEST)/.report.md.tmp $(REPORT_DEST)/report.md && rm -f $(REPORT_DEST)/.report-body.md
	@echo >&2
	@$(BIN)/energy-stats report $(REPORT_IN)/*/ $(REPORT_FLAGS) --format headline >&2
	@echo "$(REPORT_FOR): report in $(REPORT_DEST)/report.md (LaTeX $(REPORT_DEST)/table.tex and study.tex, figures in $(REPORT_DEST)/figures/)" >&2
	@echo "$(REPORT_FOR): open $(REPORT_DEST)/report.html in a browser: the whole report on one page, figures included" >&2

clean-demo:
	rm -rf $(DEMO)

# Every local interpreter (PATH, pyenv, uv) with its label, and what is skipped and why; with
# INTERPRETERS=… or QUICK=1, the demo's choice is marked. JSON Lines: experiment interpreters
# --format json; their venvs made ahead of the demo: experiment interpreters --install.
interpreters: | $(STAMPS)/apt.stamp
	@$(CARGO) build --release --locked -p experiment
	@$(BIN)/experiment interpreters $(if $(QUICK),--quick) \
	  $(if $(filter command line environment,$(origin INTERPRETERS)),$(foreach p,$(INTERPRETERS),--python $(p)))

# --- the experiment on a real testbed: make experiment --------------------------------------
# Reads the inventory (docs/hardware.md, data/testbed.example.toml); results in $(OUT)/.
#   make experiment INVENTORY=testbed.toml RUNS=10 ORDER=shuffled SEED=1 WARMUP=1 BASELINE=30
INVENTORY  ?= testbed.toml
OUT        ?= data/out
REPORT     ?= data/report
AGENT_PORT ?= 5001
SCENARIO   ?= paper
PROVISION   = $(BIN)/pi-provision --inventory $(INVENTORY)
# experiment run on the testbed, with the inventory's interpreters and extra flags $(1).
define experiment-run
	@test -f $(INVENTORY) || { echo "experiment: no inventory $(INVENTORY): copy data/testbed.example.toml to testbed.toml and edit it (docs/hardware.md)" >&2; exit 2; }
	@$(PROVISION) inventory >/dev/null
	@mkdir -p $(OUT)
	@labels=$$($(PROVISION) inventory get interpreters.version | tr ' ' ','); \
	server=$$($(PROVISION) inventory get server.address); \
	port=$$($(PROVISION) inventory get minitwit.port); \
	otii=$$($(PROVISION) inventory get otii.address):$$($(PROVISION) inventory get otii.port); \
	clients=$$($(PROVISION) inventory get client_hosts.address 2>/dev/null || true); \
	triggers=""; for c in $$clients; do triggers="$$triggers --trigger http://$$c:$(AGENT_PORT)/trigger"; done; \
	if [ -n "$$clients" ]; then $(PROVISION) clients start; fi; \
	trap '[ -n "$$clients" ] && $(PROVISION) clients stop; true' EXIT; \
	$(BIN)/experiment run --plan $(OUT)/plan.json --out $(OUT) --labels $$labels \
	  --server-start "$(PROVISION) server start --python {label}" \
	  --server-stop "$(PROVISION) server stop" \
	  --server-url http://$$server:$$port --otii $$otii $$triggers --scenario $(SCENARIO) \
	  --runs $(RUNS) --order $(ORDER) --seed $(SEED) --warmup $(WARMUP) \
	  --cooldown $(COOLDOWN) --baseline $(BASELINE) --rate $(RATE) \
	  --patience $(PATIENCE) $(if $(TARGET_CI),--target-ci $(TARGET_CI) --max-runs $(MAX_RUNS)) $(1)
endef
define experiment-defaults
$(1): RUNS ?= 10
$(1): COOLDOWN ?= 30
$(1): BASELINE ?= 30
$(1): RATE ?= 10000
$(1): MAX_RUNS ?= 30
endef
$(eval $(call experiment-defaults,experiment))
$(eval $(call experiment-defaults,$(OUT)/%))

# Every missing group in one session (the plan's order mixes the interpreters, which one
# per-version target at a time would not), then the report; ONLY/REDO/ADD/REF as for the demo.
# The inventory's interpreters.version must list the experiment's interpreters (and an ADD).
experiment: build $(SEED_SQL)
	$(call experiment-run,$(RERUN))
	@$(MAKE) experiment-report

# Per-version targets of the experiment: `make data/out/minitwit312` (study folder names),
# up to date as the demo's are.
$(OUT)/%: $(group-pending)
	@$(MAKE) build $(SEED_SQL)
	$(call experiment-run,--only $(call folder_label,$(@F)))

experiment-report:
	@$(MAKE) --no-print-directory report REPORT_IN=$(OUT) REPORT_DEST=$(REPORT) REPORT_FOR=experiment
