#!/usr/bin/env bash
# Runs the official MCP conformance suite (client side) against Switchyard's conformance client,
# for both protocol revisions, with no expected-failures file. Exits non-zero if any scored
# scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."
node="$(scripts/setup-node.sh)"
suite="tools/interop/node_modules/@modelcontextprotocol/conformance/dist/index.js"
out="${CONFORMANCE_OUT:-target/conformance}"
mkdir -p "$out"
# A prebuilt binary: the suite starts ~40 client processes at once, each with a 30 s budget.
cargo build --release -q -p switchyard-client --example conformance_client
bin="$PWD/target/release/examples/conformance_client"

status=0
for req in 2025-11-25 2026-07-28; do
    log="$out/client-$req.txt"
    echo "== conformance client --requirements $req"
    if timeout 900 "$node" "$suite" client --command "$bin" --requirements "$req" -o "$out/client-results-$req" >"$log" 2>&1; then
        echo "   scored scenarios: all passed"
    else
        echo "   scored scenarios: FAILURES (see $log)"
        status=1
    fi
    sed -n '/=== SUMMARY ===/,$p' "$log" | grep -E '^(Total|Not scored|  [✓✗])' || true
    grep -E '^✗' "$log" | head -40 || true
done
exit $status
