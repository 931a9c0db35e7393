#!/usr/bin/env bash
# Runs every fuzz target (or those named) for FUZZ_RUNS executions each (default 1,000,000)
# over its committed corpus, and prints one line of figures a target: executions, seconds,
# executions per second, corpus size, and whether it ended without a crash.
# FUZZ_SANITIZER picks cargo-fuzz's sanitizer (default none: motcua's crates hold no unsafe code,
# a panic is what a run looks for, and AddressSanitizer halves the executions per second; set
# FUZZ_SANITIZER=address to run under it).
# Needs the nightly toolchain and cargo-fuzz (installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_RUNS:-1000000}"
sanitizer="${FUZZ_SANITIZER:-none}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz/fuzz_targets | sed 's/\.rs$//')
fi
mkdir -p target/fuzz-logs
echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; commit $(git rev-parse --short HEAD); sanitizer $sanitizer"
status=0
for t in "${targets[@]}"; do
  log="target/fuzz-logs/$t.log"
  if cargo +nightly fuzz run -s "$sanitizer" "$t" "fuzz/corpus/$t" -- -runs="$runs" -max_len=8192 -print_final_stats=1 >"$log" 2>&1; then
    verdict="0 panics"
  else
    verdict="FAILED (see $log; reproducer in fuzz/artifacts/$t)"
    status=1
  fi
  done_runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -n 1 || true)
  secs=$(grep -oE 'in [0-9]+ second' "$log" | grep -oE '[0-9]+' | tail -n 1 || true)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  printf '%-16s %10s execs  %5ss  %8s execs/s  corpus %5s  %s\n' "$t" "${done_runs:-?}" "${secs:-?}" \
    "$( [ -n "${done_runs:-}" ] && [ "${secs:-0}" -gt 0 ] && echo $((done_runs / secs)) || echo '?')" "$corpus" "$verdict"
done
exit $status
