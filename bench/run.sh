#!/usr/bin/env bash
# Streamable HTTP benchmark of switchyard-server against bare hyper and rmcp, in one run.
#
#   bash bench/run.sh            # from the repository root; prints a markdown report
#
# Server pinned to CPU 0, load generator to CPU 1 (taskset). Loopback only (127.0.0.1).
# Bounded: every step runs under `timeout`; the whole run takes about 3 minutes after the build.
# Tunables (environment): DURATION (measured s, default 4), WARMUP (s, default 1),
# SESSIONS (default 100000), RMCP_SESSIONS (default 10000: rmcp needs ~50 KB per session).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
SESSIONS=${SESSIONS:-100000}
RMCP_SESSIONS=${RMCP_SESSIONS:-10000}
TARGET_DIR=${TARGET_DIR:-target/bench}
BIN=$TARGET_DIR/release
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
export RUST_BACKTRACE=0

command -v taskset >/dev/null || { echo "taskset (util-linux) is required" >&2; exit 1; }

# Only the binaries this script runs: without the client and gateway features the build needs
# switchyard-server alone.
echo "building (cargo build --release --no-default-features --manifest-path bench/Cargo.toml --target-dir $TARGET_DIR)..." >&2
cargo build --release --quiet --no-default-features --manifest-path bench/Cargo.toml \
  --target-dir "$TARGET_DIR" --bin bench-server --bin loadgen --bin sessions >&2

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=18800
start_server() { # kind
  PORT=$((PORT + 1))
  taskset -c "$SERVER_CPU" "$BIN/bench-server" --kind "$1" --port "$PORT" 2>"$WORK/server.log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q listening "$WORK/server.log" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "server $1 did not start:" >&2; cat "$WORK/server.log" >&2; exit 1
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

# kind label mode c
RESULTS=$WORK/results
: >"$RESULTS"
run() {
  local kind=$1 label=$2 mode=$3
  start_server "$kind"
  for c in 16 64; do
    local out
    local idcheck=()
    # The bare-hyper ceiling answers fixed bytes, so it cannot echo the request's id.
    [ "$label" = hyper ] && idcheck=(--no-id-check)
    out=$(timeout 60 taskset -c "$LOAD_CPU" "$BIN/loadgen" --url "http://127.0.0.1:$PORT/mcp" \
      --concurrency "$c" --duration "$DURATION" --warmup "$WARMUP" --mode "$mode" \
      --server-pid "$SERVER_PID" "${idcheck[@]}" 2>"$WORK/loadgen.err" | grep '^RESULT') || {
      echo "loadgen failed for $kind c=$c:" >&2; cat "$WORK/loadgen.err" >&2; exit 1; }
    if grep -q 'first error' "$WORK/loadgen.err"; then
      echo "  $label c=$c: $(cat "$WORK/loadgen.err")" >&2
    fi
    echo "$label $mode $out" >>"$RESULTS"
    echo "  $label $mode c=$c: ${out#RESULT }" >&2
  done
  stop_server
}

echo "throughput runs (${WARMUP}s warm-up + ${DURATION}s measured each)..." >&2
run switchyard switchyard stateless
run hyper hyper stateless
run rmcp rmcp stateless
run switchyard-session switchyard session
run hyper-session hyper session
run rmcp-session rmcp session
run switchyard-session switchyard session-stream

echo "idle sessions..." >&2
sessions() { # kind count timeout; one retry on a fresh server
  local out
  for attempt in 1 2; do
    start_server "$1"
    if out=$(timeout $(($3 + 30)) taskset -c "$LOAD_CPU" "$BIN/sessions" --url "http://127.0.0.1:$PORT/mcp" \
      --count "$2" --pid "$SERVER_PID" --timeout "$3" 2>"$WORK/sessions.err" | grep '^SESSIONS'); then
      stop_server
      echo "$out"
      return 0
    fi
    echo "sessions against $1 failed (attempt $attempt): $(cat "$WORK/sessions.err")" >&2
    stop_server
  done
  return 1
}
SY_SESS=$(sessions switchyard-session "$SESSIONS" 120)
RM_SESS=$(sessions rmcp-session "$RMCP_SESSIONS" 60)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
END=$(date +%s)

# ---- report ----------------------------------------------------------------------------------
val() { sed -n "s/.*[ ]$1=\([^ ]*\).*/\1/p" <<<"$2"; }
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ), $((END - START)) s; load average before: $LOAD_START, after: $LOAD_END;"
echo "$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); server on CPU $SERVER_CPU, load generator on CPU $LOAD_CPU."
echo
echo "| server | mode | c | req/s | p50 | p99 | CPU µs/call | ratio vs bare hyper | ratio vs rmcp |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
awk '
  function kv(line, key,   i, n, a, kvp) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) { split(a[i], kvp, "="); if (kvp[1] == key) return kvp[2] }
    return ""
  }
  function ms(us) { return sprintf("%.2f ms", us / 1000) }
  {
    label = $1; mode = $2; c = kv($0, "c"); key = label SUBSEP mode SUBSEP c
    rps[key] = kv($0, "rps"); cpu[key] = kv($0, "cpu_us_per_call")
    p50[key] = kv($0, "p50_us"); p99[key] = kv($0, "p99_us"); err[key] = kv($0, "errors")
    order[++n] = key; lab[n] = label; md[n] = mode; cc[n] = c
  }
  function ratio(a, b, ca, cb) {
    if (b == "" || b == 0 || a == "") return "—"
    return sprintf("%.2f× (CPU %.2f×)", a / b, cb / ca)
  }
  END {
    for (i = 1; i <= n; i++) {
      k = order[i]; base = (md[i] == "session-stream") ? "session" : md[i]
      h = "hyper" SUBSEP base SUBSEP cc[i]; r = "rmcp" SUBSEP base SUBSEP cc[i]
      vh = (lab[i] == "hyper") ? "1" : ratio(rps[k], rps[h], cpu[k], cpu[h])
      vr = (lab[i] == "rmcp") ? "1" : ratio(rps[k], rps[r], cpu[k], cpu[r])
      if (lab[i] == "hyper") vh = "1.00×"
      if (lab[i] == "rmcp") vr = "1.00×"
      e = (err[k] > 0) ? sprintf(" (%d errors)", err[k]) : ""
      printf "| %s | %s | %s | %d%s | %s | %s | %.1f | %s | %s |\n", lab[i], md[i], cc[i], rps[k], e, ms(p50[k]), ms(p99[k]), cpu[k], vh, vr
    }
  }' "$RESULTS"
echo
echo "Ratios: req/s of the row ÷ req/s of the same mode and c (session-stream rows: ÷ the session rows); in"
echo "brackets the same ratio from CPU µs/call (the baseline's µs ÷ the row's µs), i.e. the throughput ratio"
echo "when the server's core, not the load generator, is the limit."
echo
echo "Idle legacy sessions (initialize + notifications/initialized, then nothing), server RSS:"
echo
echo "| server | sessions | RSS before | RSS after | per session | time to create |"
echo "|---|---:|---:|---:|---:|---:|"
for pair in "switchyard|$SY_SESS" "rmcp|$RM_SESS"; do
  name=${pair%%|*}; line=${pair#*|}
  printf '| %s | %s | %.1f MiB | %.1f MiB | %s B | %s s |\n' "$name" "$(val count "$line")" \
    "$(awk -v k="$(val rss_before_kib "$line")" 'BEGIN{print k/1024}')" \
    "$(awk -v k="$(val rss_after_kib "$line")" 'BEGIN{print k/1024}')" \
    "$(val bytes_per_session "$line")" "$(val seconds "$line")"
done
