#!/usr/bin/env bash
# Browser test of the authorization server: installs Chromium (Debian package) and
# playwright-core if missing, starts examples/auth_server.rs with a pre-registered public client
# and a user, and walks login → consent → redirect with code in headless Chromium
# (tests/browser/consent.mjs). Screenshots land in target/browser-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
node="$(scripts/setup-node.sh)"
if [ ! -d tools/interop/node_modules/playwright-core ]; then
    (cd tools/interop && npm ci --no-audit --no-fund >&2)
fi

cargo build -q -p switchyard-auth --example auth_server
port="${AS_PORT:-$(( 20000 + RANDOM % 20000 ))}"
redirect="http://127.0.0.1:$(( port + 1 ))/callback"
mkdir -p target/browser-artifacts
log=target/browser-artifacts/auth_server.log
target/debug/examples/auth_server --port "$port" --client-id browser-client \
    --redirect-uri "$redirect" --user alice --password 'correct horse battery' >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    grep -q '^listening on' "$log" && break
    sleep 0.1
done
grep -q '^listening on' "$log" || { echo "auth_server did not start:"; cat "$log"; exit 1; }

AS_URL="http://127.0.0.1:$port" CLIENT_ID=browser-client REDIRECT_URI="$redirect" \
    RESOURCE="http://127.0.0.1:$port/mcp" LOGIN_USER=alice LOGIN_PASSWORD='correct horse battery' \
    ARTIFACTS=target/browser-artifacts "$node" tests/browser/consent.mjs
