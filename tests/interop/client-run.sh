#!/usr/bin/env bash
# Interop: switchyard-client against official servers.
#
#   bash tests/interop/client-run.sh
#
# Servers: the TypeScript `@modelcontextprotocol/server-everything` (Streamable HTTP, stdio
# and the 2024-11-05 HTTP+SSE transport) and the Python FastMCP server beside this script
# under the Python SDK (PyPI `mcp`) 1.x and 2.x (Streamable HTTP and stdio). Against each,
# crates/client/examples/interop_client.rs initialises, lists every tool, resource, template
# and prompt across pages, calls tools (one with progress), reads resources and gets prompts.
# Installs what is missing (npm ci in tools/interop, venvs under tools/interop/.venv), builds
# the example, and ends with `N passed, M failed` counted over checks; exits non-zero on any
# failure.
#
# Environment: INTEROP_CLIENT_TIMEOUT (seconds per run, default 60), INTEROP_TIMEOUT
# (seconds for all runs together, default 300).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
interop="$root/tools/interop"
node="$interop/node_modules/.bin/node"
everything="$interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
fastmcp="$here/fastmcp_server.py"
bin="$root/target/debug/examples/interop_client"

# --- the runs, under one overall timeout set by the setup phase below ----------------------
if [[ "${1:-}" == "--runs" ]]; then
    work="$2"
    per="${INTEROP_CLIENT_TIMEOUT:-60}"
    py="$interop/.venv/mcp2/bin/python"
    server=""
    client=""
    cleanup() {
        [[ -n "$client" ]] && kill -TERM "$client" 2>/dev/null
        [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null
        wait 2>/dev/null || true
    }
    # The overall timeout signals this shell only: pass it on to the running client and server.
    trap 'cleanup; exit 124' TERM INT
    trap cleanup EXIT
    status=0
    free_port() {
        "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    }
    start_server() { # name, port, command... (environment PORT is set for the node server)
        local name="$1" port="$2"
        shift 2
        PORT="$port" "$@" >"$work/$name.server.log" 2>&1 &
        server=$!
        for _ in $(seq 150); do
            # Open and close a connection without sending anything (no bad-request log lines).
            if (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                return 0
            fi
            kill -0 "$server" 2>/dev/null || break
            sleep 0.1
        done
        echo "FAIL $name: server not listening on port $port"
        sed 's/^/    server: /' "$work/$name.server.log" | tail -n 20
        stop_server
        status=1
        return 1
    }
    stop_server() {
        if [[ -n "$server" ]]; then
            kill -TERM "$server" 2>/dev/null || true
            wait "$server" 2>/dev/null || true
            server=""
        fi
    }
    run() { # name, interop_client arguments...
        local name="$1"
        shift
        echo "== $name"
        local rc=0
        timeout -k 5 "$per" "$bin" "$@" >"$work/$name.out" 2>"$work/$name.err" &
        client=$!
        wait "$client" || rc=$?
        client=""
        # The example's own summary line is left out: the closing count is over checks.
        { grep -v '^[0-9]* passed, [0-9]* failed$' "$work/$name.out" || true; } | sed "s/^\(PASS\|FAIL\) /\1 $name: /"
        if ((rc != 0)); then
            status=1
            grep -q '^FAIL ' "$work/$name.out" || echo "FAIL $name: exited with status $rc$( ((rc == 124)) && echo ' (timed out)')"
            sed 's/^/    stderr: /' "$work/$name.err" | tail -n 20
        fi
        if [[ -n "$server" ]] && ! kill -0 "$server" 2>/dev/null; then
            echo "FAIL $name: the server exited during the run"
            sed 's/^/    server: /' "$work/$name.server.log" | tail -n 20
            status=1
        fi
    }

    # TypeScript server-everything.
    port="$(free_port)"
    if start_server everything-http "$port" "$node" "$everything" streamableHttp; then
        run everything-http everything "http://127.0.0.1:$port/mcp"
        stop_server
    fi
    port="$(free_port)"
    if start_server everything-sse "$port" "$node" "$everything" sse; then
        run everything-sse everything "http://127.0.0.1:$port/sse"
        stop_server
    fi
    run everything-stdio everything -- "$node" "$everything" stdio

    # Python FastMCP, SDK 1.x and 2.x.
    for line in mcp1 mcp2; do
        python="$interop/.venv/$line/bin/python"
        port="$(free_port)"
        if start_server "fastmcp-$line-http" "$port" "$python" "$fastmcp" http "$port"; then
            run "fastmcp-$line-http" fastmcp "http://127.0.0.1:$port/mcp"
            stop_server
        fi
        run "fastmcp-$line-stdio" fastmcp -- "$python" "$fastmcp" stdio
    done
    exit "$status"
fi

# --- setup: what a fresh machine lacks ------------------------------------------------------
# A setup step that fails is one failed check, so the closing line is printed all the same.
trap 'rc=$?; echo "FAIL client interop setup: line $LINENO exited with status $rc"; echo "0 passed, 1 failed"; exit 1' ERR
if [[ ! -x "$node" || ! -f "$everything" || ! -f "$interop/node_modules/.package-lock.json" ||
    "$interop/package-lock.json" -nt "$interop/node_modules/.package-lock.json" ]]; then
    echo "client interop: npm ci in tools/interop"
    (cd "$interop" && timeout 600 npm ci --no-audit --no-fund --loglevel=error)
fi
for line in mcp1 mcp2; do
    venv="$interop/.venv/$line"
    req="$here/requirements-$line.txt"
    stamp="$venv/.requirements"
    if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$stamp"; then
        echo "client interop: Python venv $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
        cp "$req" "$stamp"
    fi
done
echo "client interop: cargo build -p switchyard-client --example interop_client"
(cd "$root" && cargo build --quiet -p switchyard-client --example interop_client)

trap - ERR

# --- the runs, under one overall limit ------------------------------------------------------
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
start=$SECONDS
rc=0
timeout -k 10 "${INTEROP_TIMEOUT:-300}" bash "$here/client-run.sh" --runs "$work" | tee "$work/all.log" || rc=$?
if ((rc == 124)); then
    echo "FAIL client interop: the runs overran ${INTEROP_TIMEOUT:-300} s" | tee -a "$work/all.log"
fi
if ((rc != 0)) && ! grep -q '^FAIL ' "$work/all.log"; then
    echo "FAIL client interop: exited with status $rc" | tee -a "$work/all.log"
fi
passed=$(grep -c '^PASS ' "$work/all.log" || true)
failed=$(grep -c '^FAIL ' "$work/all.log" || true)
echo "client interop: runs took $((SECONDS - start)) s"
echo "$passed passed, $failed failed"
((rc == 0 && failed == 0 && passed > 0))
