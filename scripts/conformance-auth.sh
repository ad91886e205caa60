#!/usr/bin/env bash
# Runs the conformance suite's authorization-server scenarios
# (authorization-server-metadata-endpoint, authorization-code-grant) against Switchyard's
# authorization server (crates/auth/examples/auth_server.rs) with a pre-registered public
# client. The suite prints an authorization URL and waits for a browser; headless Chromium
# (tests/browser/consent.mjs) signs in and approves, and the suite's callback server receives
# the code. Exits non-zero if a scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."
node="$(scripts/setup-node.sh)"
suite="tools/interop/node_modules/@modelcontextprotocol/conformance/dist/index.js"
out="${CONFORMANCE_OUT:-target/conformance}"
mkdir -p "$out"
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tools/interop/node_modules/playwright-core ]; then
    (cd tools/interop && npm ci --no-audit --no-fund >&2)
fi

cargo build -q -p switchyard-auth --example auth_server
port=$(( 20000 + RANDOM % 20000 ))
cb=$(( port + 1 ))
issuer="http://127.0.0.1:$port"
resource="$issuer/mcp"
server_log="$out/auth-server.log"
target/debug/examples/auth_server --port "$port" --client-id conformance-client \
    --redirect-uri "http://127.0.0.1:$cb/callback" --resource "$resource" \
    --user alice --password 'correct horse battery' >"$server_log" 2>&1 &
server=$!
suite_pid=""
trap 'kill $server 2>/dev/null || true; [ -n "$suite_pid" ] && kill $suite_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    grep -q '^listening on' "$server_log" && break
    sleep 0.1
done
grep -q '^listening on' "$server_log" || { echo "auth_server did not start:"; cat "$server_log"; exit 1; }

log="$out/authorization.txt"
"$node" "$suite" authorization --url "$issuer" --client-id conformance-client \
    --resource "$resource" --port "$cb" -o "$out/authorization-results" >"$log" 2>&1 &
suite_pid=$!

# Wait for the authorization URL the suite asks a browser to open.
auth_url=""
for _ in $(seq 1 600); do
    auth_url=$(grep -A1 '^Access the following URL' "$log" | tail -n +2 | head -1 || true)
    [ -n "$auth_url" ] && break
    kill -0 "$suite_pid" 2>/dev/null || break
    sleep 0.1
done
browser_status=0
if [ -n "$auth_url" ]; then
    echo "== browser: signing in and approving"
    AUTH_URL="$auth_url" LOGIN_USER=alice LOGIN_PASSWORD='correct horse battery' \
        ARTIFACTS=target/browser-artifacts/conformance "$node" tests/browser/consent.mjs || browser_status=$?
else
    echo "the suite printed no authorization URL"
fi
status=0
wait "$suite_pid" || status=$?
suite_pid=""
sed -n '/SUMMARY/,$p' "$log" || true
grep -E '(✓|✗|SUCCESS|FAILURE|WARNING)' "$log" | head -40 || true
if [ "$status" -ne 0 ] || [ "$browser_status" -ne 0 ]; then
    echo "conformance authorization: FAILED (see $log)"
    exit 1
fi
echo "conformance authorization: all scenarios passed"
