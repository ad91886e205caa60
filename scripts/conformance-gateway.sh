#!/usr/bin/env bash
# The conformance server suites, both revisions, run THROUGH the gateway: the conformance
# fixture server is the gateway's only upstream (names unprefixed), so a pass means the gateway
# is transparent.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p switchyard-server --example conformance_server -p switchyard-gateway --example gateway
out="${CONFORMANCE_OUT:-target/conformance}"
mkdir -p "$out"
up=$(( 20000 + RANDOM % 20000 ))
gw=$(( up + 1 ))
target/release/examples/conformance_server --port "$up" >"$out/gw-upstream.log" 2>&1 &
up_pid=$!
trap 'kill $up_pid ${gw_pid:-} 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$up") 2>/dev/null && break; sleep 0.1; done
target/release/examples/gateway --port "$gw" --no-prefix --upstream "http://127.0.0.1:$up/mcp" >"$out/gw.log" 2>&1 &
gw_pid=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$gw") 2>/dev/null && break; sleep 0.1; done
CONFORMANCE_OUT="$out/through-gateway" bash scripts/conformance-server.sh "http://127.0.0.1:$gw/mcp"
