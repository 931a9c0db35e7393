# motcua — make targets. `make run` and `make test` are the two a new user needs.

CARGO ?= cargo
PYTHON ?= python3
DB ?= sqlite://data/motcua.db

.PHONY: chaos fuzz fuzz-api bench-hall bench-import bench-worker bench-http bench-metrics run test lint fmt bench bench-calendar bench-store build

## run: build, migrate data/motcua.db, seed demo data once (a simulated month and one account per
## role, passwords printed on that first run) and serve on http://127.0.0.1:8080 (Ctrl-C stops)
run:
	$(CARGO) build --release
	./target/release/motcua --db $(DB) migrate
	./target/release/motcua --db $(DB) serve --bind 127.0.0.1:8080 --demo

## test: every test (unit, property, store conformance, end to end; PostgreSQL half when
## MOTCUA_TEST_PG_URL is set), then a bounded schemathesis run against a real `motcua serve`
## (scripts/schemathesis.sh: a virtualenv with the pinned schemathesis is made on first use)
test:
	$(CARGO) test --workspace --locked
	bash scripts/schemathesis.sh

## lint: formatting and clippy with warnings as errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

build:
	$(CARGO) build --release

## bench: every benchmark, figures printed with the machine described
bench: bench-calendar bench-store bench-import bench-metrics bench-http bench-worker bench-hall

## bench-store: durable ingest (SQLite, PostgreSQL if MOTCUA_BENCH_PG_URL/MOTCUA_TEST_PG_URL) and report over a 1 M-dossier city-year
bench-store:
	$(CARGO) bench --bench store

## bench-hall: a city of 60 halls × 20 counters × 2,000 numbers a day: call-next with 20 counters at once
## (goal p99 <= 20 ms) and a call reaching the TV and 500 phones on server-sent events (goal <= 1 s),
## SQLite and PostgreSQL (MOTCUA_BENCH_PG_URL/MOTCUA_TEST_PG_URL)
bench-hall:
	@mkdir -p target
	$(CARGO) bench --bench hall | tee target/bench-hall.txt

## bench-import: `motcua import` of a simulated city-year JSONL (1 M dossiers) into a fresh SQLite and PostgreSQL
## (MOTCUA_BENCH_PG_URL/MOTCUA_TEST_PG_URL): wall time, events/s, peak RSS beside the goals and a plain-insert ceiling
bench-import:
	$(CARGO) bench --bench import | tee target/bench-import.txt

## bench-metrics: /metrics scrape time with 1 M open dossiers and 500 agencies, with 1 and 10 years of history (goal <= 10 ms)
bench-metrics:
	@echo "== machine: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB"
	$(CARGO) bench --bench metrics

## bench-calendar: 2 M due dates, motcua vs numpy.busday_offset on the same cases (day-only, full due instants, working minutes); ratios printed last
bench-calendar:
	@mkdir -p target
	@echo "== machine: $$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB"
	@$(PYTHON) -c "import numpy" 2>/dev/null || $(PYTHON) -m pip install --quiet numpy
	$(PYTHON) benches/calendar_numpy.py --dump 5000 > target/numpy-dump.txt
	$(PYTHON) benches/calendar_numpy.py --emit-json | tee target/bench-numpy.txt
	$(CARGO) bench --bench calendar | tee target/bench-calendar.txt
	@$(PYTHON) -c "import json; \
	n = json.loads(open('target/bench-numpy.txt').read().strip().splitlines()[-1])['numpy_dates_per_s']; \
	m = json.loads(open('target/bench-calendar.txt').read().strip().splitlines()[-1]); \
	print(f\"ratio (working days, same cases, day granularity): motcua {m['motcua_dates_per_s']/1e6:.1f} M dates/s / numpy {n/1e6:.1f} M dates/s = {m['motcua_dates_per_s']/n:.1f}x (goal >= 20x)\"); \
	print(f\"due instants (+07:00, office hours, make-up Saturdays), integer path: {m['motcua_due_instants_per_s']/1e6:.1f} M/s / numpy {n/1e6:.1f} M dates/s = {m['motcua_due_instants_per_s']/n:.1f}x numpy's day-only throughput (goal >= 20x); through chrono: {m['motcua_due_instants_chrono_per_s']/1e6:.1f} M/s = {m['motcua_due_instants_chrono_per_s']/n:.2f}x\"); \
	print(f\"working minutes between (the clock, dwell, remaining), integer path: {m['motcua_minutes_between_per_s']/1e6:.1f} M/s = {m['motcua_minutes_between_per_s']/n:.1f}x numpy (goal >= 20x); through chrono: {m['motcua_minutes_between_chrono_per_s']/1e6:.1f} M/s\")"

## bench-http: the intake endpoint and the lookup page at 1,000 requests/s for 30 s each on loopback: p50, p99, max, errors (goal p99 <= 5 ms)
bench-http:
	@mkdir -p target
	$(CARGO) bench --bench http | tee target/bench-http.txt

## bench-worker: outbox delivery to a loopback SMTP server (goal >= 1,000 messages/s) and a scheduler tick with 1 M open dossiers (goal <= 200 ms)
bench-worker:
	@/usr/bin/python3 -c "import aiosmtpd" 2>/dev/null || apt-get install -y -qq python3-aiosmtpd
	$(CARGO) bench --bench worker | tee target/bench-worker.txt

## fuzz-api: the long schemathesis run (ST_MAX_EXAMPLES, default 100 per operation) without a token and
## with each role's, every phase; prints requests, 5xx, non-problem errors and failures per role
fuzz-api:
	bash scripts/schemathesis.sh --long

## fuzz: every cargo-fuzz target for FUZZ_RUNS executions (default 1,000,000) over its committed corpus (nightly)
fuzz:
	bash fuzz/run.sh $(TARGETS)

## chaos: the crash and outage tests (SIGKILL of simulate, import, serve under load and the worker
## mid-delivery, on SQLite and PostgreSQL; PostgreSQL restarted and stopped under load; a full
## disk), one at a time, each printing its counts; a table of them at the end
chaos:
	$(CARGO) test --test e2e --locked -- --include-ignored --test-threads=1 --nocapture \
	  chaos_ killed full_or_read_only serve_on_postgres serve_rides_out backup_taken 2>&1 | tee target/chaos.txt
	@echo; echo "== chaos: per test (acknowledged, present, duplicates, differences) =="
	@grep '^chaos:' target/chaos.txt || true
	@grep -E '^(full disk|postgres|backup under load)' target/chaos.txt || true
	@grep -q '^test result: ok' target/chaos.txt
