#!/usr/bin/env bash
# Interop: the official MCP clients against the example conformance server.
#
#   bash tests/interop/run.sh
#
# Clients: the TypeScript SDK 1.x (@modelcontextprotocol/sdk) and 2.x
# (@modelcontextprotocol/client), and the Python SDK (PyPI `mcp`) 1.x and 2.x. Each
# connects over Streamable HTTP, stdio (spawning the server with --stdio) and the
# 2024-11-05 HTTP+SSE transport, in each protocol era its SDK speaks, lists and calls
# tools (progress, sampling), reads resources and gets a prompt; see the scripts beside
# this one. Installs what is missing (npm ci in tools/interop, Python venvs under
# tools/interop/.venv), builds the example in release, and ends with `N passed, M failed`
# counted over checks; exits non-zero on any failure.
#
# Environment: INTEROP_CLIENT_TIMEOUT (seconds per client script, default 100),
# INTEROP_TIMEOUT (seconds for all clients together, default 240).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
interop="$root/tools/interop"
node="$interop/node_modules/.bin/node"
bin="$root/target/release/examples/conformance_server"

# --- the client phase, run under one overall timeout by the setup phase below --------------
if [[ "${1:-}" == "--clients" ]]; then
    work="$2"
    per="${INTEROP_CLIENT_TIMEOUT:-100}"
    port="$("$interop/.venv/mcp2/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$bin" --port "$port" --legacy-sse >"$work/server.log" 2>&1 &
    server=$!
    client=""
    cleanup() {
        [[ -n "$client" ]] && kill -TERM "$client" 2>/dev/null
        kill "$server" 2>/dev/null
        wait 2>/dev/null || true
    }
    # The overall timeout signals this shell only: pass it on to the running client and the server.
    trap 'cleanup; exit 124' TERM INT
    trap cleanup EXIT
    for _ in $(seq 100); do
        grep -q "conformance server on" "$work/server.log" && break
        kill -0 "$server" 2>/dev/null || { echo "FAIL server: exited at start"; cat "$work/server.log"; exit 1; }
        sleep 0.1
    done
    grep -q "conformance server on" "$work/server.log" || { echo "FAIL server: not listening after 10 s"; exit 1; }
    url="http://127.0.0.1:$port/mcp"
    args=("$url" --stdio "$bin" --sse "http://127.0.0.1:$port/sse")
    status=0
    run() { # name, command...
        local name="$1"
        shift
        echo "== $name"
        local rc=0
        timeout -k 5 "$per" "$@" >"$work/$name.out" 2>"$work/$name.err" &
        client=$!
        wait "$client" || rc=$?
        client=""
        cat "$work/$name.out"
        if ((rc != 0)); then
            status=1
            # A script that died or timed out without naming the failure still counts as one.
            grep -q '^FAIL ' "$work/$name.out" || echo "FAIL $name: exited with status $rc$( ((rc == 124)) && echo ' (timed out)')"
            sed 's/^/    stderr: /' "$work/$name.err" | tail -n 20
        fi
    }
    run ts-sdk1 "$node" "$here/ts-sdk1.mjs" "${args[@]}"
    run ts-client2 "$node" "$here/ts-client2.mjs" "${args[@]}"
    run py-mcp1 "$interop/.venv/mcp1/bin/python" "$here/python_client.py" "${args[@]}"
    run py-mcp2 "$interop/.venv/mcp2/bin/python" "$here/python_client.py" "${args[@]}"
    kill -0 "$server" 2>/dev/null || { echo "FAIL server: exited during the run"; status=1; }
    exit "$status"
fi

# --- setup: what a fresh machine lacks ------------------------------------------------------
# A setup step that fails is one failed check, so the closing line is printed all the same.
trap 'rc=$?; echo "FAIL interop setup: line $LINENO exited with status $rc"; echo "0 passed, 1 failed"; exit 1' ERR
if [[ ! -x "$node" || ! -f "$interop/node_modules/.package-lock.json" ||
    "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]]; then
    echo "interop: npm ci in tools/interop"
    (cd "$interop" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
fi
for line in mcp1 mcp2; do
    venv="$interop/.venv/$line"
    req="$here/requirements-$line.txt"
    stamp="$venv/.requirements"
    if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$stamp"; then
        echo "interop: Python venv $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        cp "$req" "$stamp"
    fi
done
echo "interop: cargo build --release -p switchyard-server --example conformance_server"
(cd "$root" && cargo build --quiet --release -p switchyard-server --example conformance_server)

trap - ERR

# --- the clients, under one overall limit ---------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
rc=0
timeout -k 10 "${INTEROP_TIMEOUT:-240}" bash "$here/run.sh" --clients "$work" | tee "$work/all.log" || rc=$?
if ((rc == 124)); then
    echo "FAIL interop: the clients overran ${INTEROP_TIMEOUT:-240} s" | tee -a "$work/all.log"
fi
if ((rc != 0)) && ! grep -q '^FAIL ' "$work/all.log"; then
    echo "FAIL interop: exited with status $rc" | tee -a "$work/all.log"
fi
passed=$(grep -c '^PASS ' "$work/all.log" || true)
failed=$(grep -c '^FAIL ' "$work/all.log" || true)
echo "interop: clients took $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
((rc == 0 && failed == 0 && passed > 0))
