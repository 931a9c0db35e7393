#!/usr/bin/env bash
# schemathesis against a real `motcua serve`: a fresh SQLite file with a simulated fortnight, one
# account and API token per role, the server on a free loopback port; then schemathesis (every
# phase, the stateful one included, every check) once without credentials and once with each
# role's token. Fails on any failure: a 5xx, a response the OpenAPI document does not describe,
# an error that is not application/problem+json.
#
#   scripts/schemathesis.sh            bounded run (part of `make test`, about two minutes)
#   scripts/schemathesis.sh --long     long run (`make fuzz-api`): more examples, figures printed
#   scripts/schemathesis.sh --install  only make sure the pinned schemathesis is installed (.ci/run)
#
# Environment: ST_VENV (the virtualenv, default target/schemathesis-venv), ST_MAX_EXAMPLES,
# ST_SEED, MOTCUA_BIN (default: target/debug/motcua, built if missing), ST_ROLES (default:
# "anonymous desk agency head chair admin inspector").
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
mode=bounded
case "${1:-}" in
  --long) mode=long ;;
  --install) mode=install ;;
  "") ;;
  *) echo "usage: $0 [--long | --install]" >&2; exit 2 ;;
esac
if [ "$mode" = long ]; then
  max_examples=${ST_MAX_EXAMPLES:-100}
else
  max_examples=${ST_MAX_EXAMPLES:-8}
fi
seed=${ST_SEED:-1}
roles=${ST_ROLES:-"anonymous desk agency head chair admin inspector"}
venv=${ST_VENV:-target/schemathesis-venv}

# --- schemathesis, pinned, in its own virtualenv ----------------------------------------------
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  echo "== installing schemathesis $ST_VERSION in $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
st="$venv/bin/schemathesis"
if [ "$mode" = install ]; then "$st" --version; exit 0; fi

# --- the server --------------------------------------------------------------------------------
bin=${MOTCUA_BIN:-target/debug/motcua}
if [ -z "${MOTCUA_BIN:-}" ]; then cargo build --quiet --locked --bin motcua; fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
db="sqlite://$work/motcua.db"
m() { "$bin" --db "$db" "$@"; }

today=$(date -u +%F)
from=$(date -u -d "$today - 14 days" +%F)
to=$(date -u -d "$today - 1 day" +%F)
m migrate >/dev/null
m simulate --dossiers 300 --from "$from" --to "$to" >/dev/null

declare -A tokens
add_role() { # add_role ROLE AGENCY...
  local role=$1; shift
  local args=()
  for a in "$@"; do args+=(--agency "$a"); done
  echo "schemathesis-$role-password" | m staff add "st.$role" --role "$role" --name "Schemathesis $role" \
    "${args[@]}" --password-stdin >/dev/null
  tokens[$role]=$(m staff token create "st.$role" --name schemathesis | tail -n 1)
}
add_role desk 000.00.02.H17
add_role agency 000.00.12.H17 000.00.10.H17
add_role head 000.00.12.H17 000.00.02.H17
add_role chair
add_role admin
add_role inspector

# A generous lookup limit: the run is about the document, the limit has its own tests.
# Started directly (not through the function), so that $! is the server itself and is stopped.
"$bin" --db "$db" serve --bind 127.0.0.1:0 --no-worker --lookup-burst 1000 --lookup-per-minute 6000 \
  >"$work/serve.log" 2>&1 &
server_pid=$!
base=
for _ in $(seq 1 100); do
  base=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/serve.log" | head -n 1 || true)
  [ -n "$base" ] && break
  sleep 0.1
done
if [ -z "$base" ]; then echo "motcua serve did not start:"; cat "$work/serve.log"; exit 1; fi
echo "== motcua serve on $base (schemathesis $ST_VERSION, $mode run, --max-examples $max_examples, seed $seed)"

# --- the runs ----------------------------------------------------------------------------------
out=target/schemathesis
rm -rf "$out"; mkdir -p "$out"
status=0
summary=()
# Each role's run has two parts: every operation but the revocation of a token, then the
# revocation alone — it may revoke the very token the run uses (its own; an administrator's, any),
# after which every request would be a 401.
for role in $roles; do
  headers=()
  if [ "$role" != anonymous ]; then headers=(-H "Authorization: Bearer ${tokens[$role]}"); fi
  for part in main revoke; do
  if [ "$part" = main ]; then
    only=(--exclude-operation-id revoke_token)
  else
    # No links lead to it alone: every phase but the stateful one.
    only=(--include-operation-id revoke_token --phases examples,coverage,fuzzing)
  fi
  name="$role-$part"
  report="$out/$name.har"
  set +e
  "$st" --config-file scripts/schemathesis.toml run "$base/api/v1/openapi.json" \
    --checks all \
    --max-examples "$max_examples" \
    --seed "$seed" \
    --workers 1 \
    --request-timeout 10 \
    --suppress-health-check all \
    --report har --report-har-path "$report" \
    --output-truncate true \
    "${only[@]}" "${headers[@]}" >"$out/$name.out" 2>&1
  rc=$?
  set -e
  # Our own count of what went over the wire: requests, 5xx, errors that are not problem+json.
  figures=$(python3 - "$report" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["log"]["entries"]
server_errors = sum(1 for e in entries if e["response"]["status"] >= 500)
def content_type(e):
    return next((h["value"] for h in e["response"]["headers"] if h["name"].lower() == "content-type"), "")
not_problem = sum(1 for e in entries if e["response"]["status"] >= 400 and content_type(e) != "application/problem+json")
ok = sum(1 for e in entries if e["response"]["status"] < 400)
unauthorized = sum(1 for e in entries if e["response"]["status"] == 401)
print(f"{len(entries)} requests, {ok} answered 2xx/3xx, {unauthorized} 401, {server_errors} 5xx, {not_problem} errors not problem+json")
PY
)
  failures=$(grep -Eo '[0-9]+ found [0-9]+ unique failures?' "$out/$name.out" | grep -Eo '^[0-9]+' || echo 0)
  errors=$(grep -Eo '[0-9]+ errors?' "$out/$name.out" | tail -n 1 | grep -Eo '^[0-9]+' || echo 0)
  line="$name: $figures; schemathesis: $(grep -Eo '[0-9]+ generated' "$out/$name.out" | tail -n 1) test cases, $failures failures, $errors errors (exit $rc)"
  echo "-- $line"
  if [ "$rc" != 0 ] || ! echo "$figures" | grep -q ' 0 5xx, 0 errors not'; then
    status=1
    sed -n '/FAILURES\|ERRORS/,$p' "$out/$name.out" | head -n 80
  fi
  summary+=("$line")
  done
done
echo "== schemathesis $ST_VERSION against $base ($mode run, --max-examples $max_examples, seed $seed; full output in $out/)"
printf '  %s\n' "${summary[@]}"
if [ "$status" = 0 ]; then echo "== 0 failures"; else echo "== FAILED"; fi
exit "$status"
