#!/usr/bin/env bash
# The README quick start, end to end, with headless Chromium as the user:
#   switchyard serve  →  switchyard login (browser: sign in, approve)  →  switchyard tools / call
# Prints `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
node="$(scripts/setup-node.sh)"
cargo build -q -p switchyard || exit 1
bin="$PWD/target/debug/switchyard"
work="$(mktemp -d)"
port=$(( 20000 + RANDOM % 20000 ))
url="http://127.0.0.1:$port/mcp"
export XDG_DATA_HOME="$work/data" SWITCHYARD_DATA_DIR="$work/cli"
export SWITCHYARD_ADMIN_PASSWORD="quickstart-$RANDOM-password"
passed=0; failed=0
check() { if "$@"; then passed=$((passed+1)); echo "PASS: $name"; else failed=$((failed+1)); echo "FAIL: $name"; fi; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT

"$bin" serve --listen "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do grep -q "serving MCP at" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done

name="an anonymous call is refused with 401"
check bash -c "! timeout 20 '$bin' tools '$url' >/dev/null 2>'$work/anon.err'; [ \$? -eq 0 ] && grep -q 'not logged in\|authoriz' '$work/anon.err'"

timeout 120 "$bin" login --no-browser "$url" >"$work/login.out" 2>"$work/login.err" &
login=$!
pids+=($login)
auth_url=""
for _ in $(seq 1 200); do
    auth_url=$(grep -o 'http://127.0.0.1:[0-9]*/authorize?[^ ]*' "$work/login.err" | head -1)
    [ -n "$auth_url" ] && break
    sleep 0.1
done
name="login prints an authorization URL"
check test -n "$auth_url"

name="Chromium signs in as admin and approves"
check env AUTH_URL="$auth_url" LOGIN_USER=admin LOGIN_PASSWORD="$SWITCHYARD_ADMIN_PASSWORD" \
    ARTIFACTS=target/browser-artifacts/quickstart timeout 90 "$node" tests/browser/consent.mjs

name="switchyard login completes"
check wait "$login"

name="switchyard tools lists the demo tools with the stored login"
check bash -c "timeout 20 '$bin' tools '$url' | grep -q '^add '"

name="switchyard call adds 2 and 40"
check bash -c "timeout 20 '$bin' call '$url' add a=2 b=40 | grep -q '\"sum\":42'"

if [ "$failed" -gt 0 ]; then
    echo "--- serve.log"; tail -20 "$work/serve.log"; echo "--- login.err"; tail -20 "$work/login.err"
fi
echo "quickstart: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
