#!/usr/bin/env bash
# Userspace instructions per call of one bench-server kind, counted by callgrind: the figure
# that stays put when the machine is busy (wall-clock req/s and CPU time do not).
#
#   bash bench/callgrind.sh [KIND] [MODE] [SECONDS]   # defaults: switchyard stateless 5
#   e.g. bash bench/callgrind.sh hyper stateless; bash bench/callgrind.sh rmcp
#
# Runs bench-server under `valgrind --tool=callgrind`, warms it up with one loadgen run, zeroes
# the counters, runs loadgen again for SECONDS (C connections, default 16), dumps, and prints
# `INSTR kind=… mode=… calls=N instr=TOTAL per_call=X file=DUMP`. Open the dump with
# `callgrind_annotate --inclusive=yes DUMP`. Loopback only; every step is under `timeout`.
set -euo pipefail

cd "$(dirname "$0")/.."
KIND=${1:-switchyard}
MODE=${2:-stateless}
SECS=${3:-5}
C=${C:-16}
BIN=${TARGET_DIR:-target/bench}/release
PORT=${PORT:-18890}
WORK=$(mktemp -d)
OUT=${OUT:-$WORK/callgrind.out}

[ -x "$BIN/bench-server" ] || cargo build --release --quiet --manifest-path bench/Cargo.toml \
  --target-dir "${TARGET_DIR:-target/bench}" --bin bench-server --bin loadgen >&2

PID=
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
}
trap cleanup EXIT

valgrind --tool=callgrind --callgrind-out-file="$OUT" \
  "$BIN/bench-server" --kind "$KIND" --port "$PORT" 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 300); do
  grep -q listening "$WORK/server.log" && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
idcheck=()
case $KIND in hyper*) idcheck=(--no-id-check) ;; esac
load() { # seconds
  timeout 120 "$BIN/loadgen" --url "http://127.0.0.1:$PORT/mcp" --concurrency "$C" \
    --duration "$1" --warmup 0 --mode "$MODE" "${idcheck[@]}" | grep '^RESULT'
}
load 2 >/dev/null
callgrind_control -z "$PID" >/dev/null 2>&1
RES=$(load "$SECS")
callgrind_control -d "$PID" >/dev/null 2>&1
DUMP=$(ls -t "$OUT".* 2>/dev/null | head -1)
CALLS=$(sed -n 's/.* requests=\([0-9]*\).*/\1/p' <<<"$RES")
ERRS=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$RES")
TOTAL=$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$DUMP" | head -1)
KEEP=${KEEP:-/tmp/callgrind.$KIND.$MODE.out}
cp "$DUMP" "$KEEP"
echo "INSTR kind=$KIND mode=$MODE c=$C calls=$CALLS errors=$ERRS instr=$TOTAL per_call=$((TOTAL / CALLS)) file=$KEEP"
rm -rf "$WORK"
