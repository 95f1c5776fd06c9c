# energy-stats (crates/energy-stats): the analysis, its benchmark and its golden fixtures.
#
#   make bench-stats           cold/warm energy-stats vs the study's pandas read vs xz -dc, on
#                              60 study-sized traces (generated once into bench/out/stats/full;
#                              the first time takes ~25 min); QUICK=1 for 6 x 150 k rows (a minute)
#   make stats-golden          regenerate crates/energy-stats/fixtures/golden.json with the pinned
#                              SciPy/pandas (by hand, then commit; CI only compares against it)
#
# Both use the venv .venv-stats with crates/energy-stats/fixtures/requirements.txt.

# The PNG figures need a TrueType font; xz-utils is the benchmark's decompression floor;
# liblzma-dev + pkg-config make xz2 link the system liblzma (the same decoder xz uses) instead
# of compiling its bundled copy.
APT_PACKAGES += fonts-dejavu-core xz-utils liblzma-dev pkg-config
BENCHES      += bench-stats

STATS_VENV := $(CURDIR)/.venv-stats
STATS_REQ  := crates/energy-stats/fixtures/requirements.txt

.PHONY: bench-stats stats-golden stats-build

$(STATS_VENV)/.stamp: $(STATS_REQ) | $(STAMPS)/apt.stamp
	@echo "stats: creating $(STATS_VENV) with $(STATS_REQ)" >&2
	@test -x $(STATS_VENV)/bin/python || $(PYTHON) -m venv $(STATS_VENV)
	@$(STATS_VENV)/bin/pip install -q --disable-pip-version-check -r $(STATS_REQ) >&2
	@touch $@

stats-build: | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p energy-stats

bench-stats: stats-build $(STATS_VENV)/.stamp
	$(STATS_VENV)/bin/python bench/stats/bench.py --size $(if $(QUICK),quick,full) \
	  --bin $(BIN)/energy-stats --out bench/out/stats

stats-golden: $(STATS_VENV)/.stamp
	$(STATS_VENV)/bin/python crates/energy-stats/fixtures/gen_golden.py > crates/energy-stats/fixtures/golden.json.tmp
	mv crates/energy-stats/fixtures/golden.json.tmp crates/energy-stats/fixtures/golden.json
