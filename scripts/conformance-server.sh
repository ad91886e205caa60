#!/usr/bin/env bash
# Runs the official MCP conformance suite (server side) against Switchyard, for both protocol
# revisions, with no expected-failures file. Exits non-zero if any scored scenario fails.
#
#   scripts/conformance-server.sh            # the conformance example server
#   scripts/conformance-server.sh URL        # an already running endpoint (e.g. through the gateway)
set -euo pipefail
cd "$(dirname "$0")/.."
node="$(scripts/setup-node.sh)"
suite="tools/interop/node_modules/@modelcontextprotocol/conformance/dist/index.js"
out="${CONFORMANCE_OUT:-target/conformance}"
mkdir -p "$out"

url="${1:-}"
pid=""
if [ -z "$url" ]; then
    cargo build --release -q -p switchyard-server --example conformance_server
    port=$(( 20000 + RANDOM % 20000 ))
    target/release/examples/conformance_server --port "$port" >"$out/server.log" 2>&1 &
    pid=$!
    trap 'kill $pid 2>/dev/null || true' EXIT
    url="http://127.0.0.1:$port/mcp"
    for _ in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
fi

status=0
for req in 2025-11-25 2026-07-28; do
    log="$out/server-$req.txt"
    echo "== conformance server --requirements $req against $url"
    if timeout 600 "$node" "$suite" server --url "$url" --requirements "$req" -o "$out/results-$req" >"$log" 2>&1; then
        echo "   scored scenarios: all passed"
    else
        echo "   scored scenarios: FAILURES (see $log)"
        status=1
    fi
    sed -n '/=== SUMMARY ===/,$p' "$log" | grep -E '^(Total|Not scored|  [✓✗])' || true
done
exit $status
