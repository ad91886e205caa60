#!/usr/bin/env bash
# Reproduction (not part of run.sh): over stdio, a 2026-07-28 client cannot open
# `subscriptions/listen`. server/discover advertises tools/prompts/resources listChanged,
# but the listen request is answered with -32601 "method not found", and a later
# list change reaches the client neither on a stream nor unsolicited. Over Streamable
# HTTP the same exchange is acknowledged and the change arrives. Found by the TypeScript
# client 2.x (versionNegotiation 'auto' + listChanged over StdioClientTransport), whose
# onerror reports "ProtocolError: method not found: subscriptions/listen".
#
#   bash tests/interop/repro/stdio-subscriptions-listen.sh [server-binary]
#
# Exits 0 once the server acknowledges the subscription and delivers the change.
set -euo pipefail
bin="${1:-target/release/examples/conformance_server}"
meta='"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"repro","version":"0"},"io.modelcontextprotocol/clientCapabilities":{}}'
out="$(
    {
        echo "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"server/discover\",\"params\":{$meta}}"
        echo "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"subscriptions/listen\",\"params\":{$meta,\"notifications\":{\"toolsListChanged\":true}}}"
        sleep 0.2
        echo "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{$meta,\"name\":\"test_trigger_tool_change\",\"arguments\":{}}}"
        sleep 0.5
    } | timeout 10 "$bin" --stdio 2>/dev/null
)"
echo "$out"
if grep -q '"id":2,"error"' <<<"$out" || ! grep -q 'notifications/tools/list_changed' <<<"$out"; then
    echo "BUG: subscriptions/listen is not served over stdio at 2026-07-28"
    exit 1
fi
echo "ok: subscription acknowledged and the change delivered"
