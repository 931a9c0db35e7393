#!/usr/bin/env python3
"""Baseline for the calendar benchmark: numpy.busday_offset on the same cases as the Rust bench.

Cases (shared with benches/calendar.rs, which implements the same generator):
  splitmix64 seeded with 0x6D6F74637561 ("motcua"); for each case, in this order,
    day = next() % 1277          start date = 2023-01-01 + day days
    n   = 1 + next() % 30        working days to add
Calendar: weekmask Monday–Friday, holidays = every [[day_off]] of
config/calendars/vn/2023.toml … 2026.toml, roll="forward".

Only the np.busday_offset call is timed (best of 5 runs). Case generation and calendar loading
happen before timing starts.

Options:
  --cases N      number of cases (default 2,000,000)
  --config DIR   configuration directory (default "config"; a relative path that does not exist
                 from the current directory is looked up from the repository root)
  --emit-json    print {"numpy_dates_per_s": X} as the last line of stdout
  --dump N       print the first N cases as "YYYY-MM-DD n YYYY-MM-DD" (start date, working days,
                 due date computed by numpy) and exit without benchmarking

Dependencies: Python >= 3.11 (tomllib) and numpy.
"""

import argparse
import json
import os
import platform
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

SEED = 0x6D6F74637561  # the bytes "motcua"
GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1

EPOCH = np.datetime64("2023-01-01", "D")
DAY_RANGE = 1277  # start dates 2023-01-01 + [0, 1276]
MAX_N = 30
YEARS = (2023, 2024, 2025, 2026)
RUNS = 5


def splitmix64_scalar(state, count):
    """Reference implementation, one value at a time (used to check the vectorised one)."""
    out = []
    for _ in range(count):
        state = (state + GAMMA) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        out.append(z ^ (z >> 31))
    return out


def splitmix64_stream(count, seed=SEED):
    """The first `count` outputs of splitmix64, vectorised.

    The k-th state (k = 1, 2, ...) is seed + k * GAMMA mod 2**64, so every output can be
    computed independently; numpy's uint64 arithmetic wraps modulo 2**64.
    """
    k = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + k * np.uint64(GAMMA)
        z ^= z >> np.uint64(30)
        z *= np.uint64(MIX1)
        z ^= z >> np.uint64(27)
        z *= np.uint64(MIX2)
        z ^= z >> np.uint64(31)
    return z


def generate_cases(cases):
    """Start dates (datetime64[D]) and working-day counts (int64) of the first `cases` cases."""
    stream = splitmix64_stream(2 * cases)
    day = (stream[0::2] % np.uint64(DAY_RANGE)).astype(np.int64)
    n = (np.uint64(1) + stream[1::2] % np.uint64(MAX_N)).astype(np.int64)
    return EPOCH + day, n


def resolve_config(path_arg):
    path = Path(path_arg)
    if path.is_absolute() or path.exists():
        return path
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root / path


def load_calendar(config_dir):
    """Days off and make-up Saturdays of the years the cases cover."""
    days_off, makeup = [], []
    for year in YEARS:
        file = config_dir / "calendars" / "vn" / f"{year}.toml"
        with open(file, "rb") as handle:
            data = tomllib.load(handle)
        if data.get("year") != year:
            sys.exit(f"{file}: year = {data.get('year')!r}, expected {year}")
        days_off += [entry["date"] for entry in data.get("day_off", [])]
        makeup += [entry["date"] for entry in data.get("makeup_workday", [])]
    return np.array(sorted(days_off), dtype="datetime64[D]"), sorted(makeup)


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000_000)
    parser.add_argument("--config", default="config")
    parser.add_argument("--emit-json", action="store_true")
    parser.add_argument("--dump", type=int, metavar="N")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases must be at least 1")
    if args.dump is not None and args.dump < 0:
        parser.error("--dump must be at least 0")

    # Self-check of the vectorised generator against the scalar definition.
    assert splitmix64_stream(8).tolist() == splitmix64_scalar(SEED, 8)

    days_off, makeup = load_calendar(resolve_config(args.config))
    cal = np.busdaycalendar(weekmask="1111100", holidays=days_off)

    if args.dump is not None:
        starts, ns = generate_cases(args.dump)
        dues = np.busday_offset(starts, ns, roll="forward", busdaycal=cal)
        for start, n, due in zip(starts, ns, dues):
            print(f"{start} {n} {due}")
        return

    starts, ns = generate_cases(args.cases)

    best = float("inf")
    for _ in range(RUNS):
        t0 = time.perf_counter()
        dues = np.busday_offset(starts, ns, roll="forward", busdaycal=cal)
        elapsed = time.perf_counter() - t0
        best = min(best, elapsed)
    rate = args.cases / best

    print(f"numpy {np.__version__}, Python {platform.python_version()}")
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores (numpy runs on one)")
    print(
        f"calendar: {len(days_off)} weekday days off {YEARS[0]}–{YEARS[-1]}; "
        f"numpy cannot express make-up working Saturdays, so the {len(makeup)} in the files "
        f"({', '.join(makeup) or 'none'}) stay non-working days here"
    )
    print(
        f"cases: start {starts.min()} … {starts.max()}, n in [{ns.min()}, {ns.max()}], "
        f"last due date {dues.max()}"
    )
    print(f"numpy busday_offset: {args.cases} cases in {best:.4f} s = {rate / 1e6:.2f} M dates/s")
    if args.emit_json:
        print(json.dumps({"numpy_dates_per_s": rate}))


if __name__ == "__main__":
    main()
