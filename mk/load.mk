# minitwit-load (crates/minitwit-load): the seed data MiniTwit's /cleardb loads, and the
# study's client scenario. testkit (crates/testkit) is test-only and needs no targets.
#
#   make seed        data/minitwit/seed.sql (rebuilt only when the generator or LOAD_SEED changes)
#   make bench-load  client CPU per request, minitwit-load vs the Python `requests` peer
#                    (bench/load/), and the client's maximum request rate; figures in bench/out/

# The seed of the seed data; the scenario must be run with the same --seed to follow the
# right users (both default to 2024).
LOAD_SEED ?= 2024
SEED_SQL  := data/minitwit/seed.sql

# Rounds of bench-load (each: one paper scenario per client against the same MiniTwit).
LOAD_BENCH_ROUNDS ?= 5

BENCHES += bench-load

.PHONY: seed load-force bench-load

seed: $(SEED_SQL)

$(SEED_SQL): crates/minitwit-load/src/seed.rs crates/minitwit-load/src/words.rs $(SEED_SQL).seed | $(STAMPS)/apt.stamp
	$(CARGO) build --release --locked -p minitwit-load
	$(BIN)/minitwit-load seed --seed $(LOAD_SEED) > $@.tmp && mv $@.tmp $@

# Holds the seed value; rewritten only when LOAD_SEED changes, so that triggers a rebuild.
$(SEED_SQL).seed: load-force
	@mkdir -p $(@D)
	@echo $(LOAD_SEED) | cmp -s - $@ || echo $(LOAD_SEED) > $@

bench-load: $(SEED_SQL) venv
	$(CARGO) build --release --locked -p minitwit-load
	@mkdir -p bench/out
	$(PY) bench/load/bench.py --bin $(BIN)/minitwit-load --seed-sql $(SEED_SQL) \
	  --rounds $(LOAD_BENCH_ROUNDS) | tee bench/out/load-cpu.txt
	$(CARGO) bench --locked -p minitwit-load --bench rate | tee bench/out/load-rate.txt
