# Sourced by the end-to-end scripts (run from the repository root). Installs only what is
# missing, in the same places the browser and interop suites use: Chromium (Debian package),
# Node 22 and the SDKs in tools/interop (scripts/setup-node.sh), the Python SDK 1.x venv in
# tools/interop/.venv/mcp1 (same requirements file and stamp as tests/interop/run.sh).
# Each helper prints `FAIL setup: …` and returns non-zero when it cannot do its job.
# E2E_SKIP_BUILD=1 uses the binaries already in target/ (for re-runs while the tree is mid-edit).

e2e_setup_node() {
    if [ ! -x /usr/bin/chromium ]; then
        { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } ||
            { echo "FAIL setup: cannot install chromium"; return 1; }
    fi
    E2E_NODE="$(scripts/setup-node.sh 2>/dev/null)" || { echo "FAIL setup: scripts/setup-node.sh"; return 1; }
    if [ ! -d tools/interop/node_modules/playwright-core ] ||
        [ ! -d tools/interop/node_modules/@modelcontextprotocol/server-everything ] ||
        [ tools/interop/package-lock.json -nt tools/interop/node_modules/.package-lock.json ]; then
        (cd tools/interop && npm ci --no-audit --no-fund --loglevel=error >&2) ||
            { echo "FAIL setup: npm ci in tools/interop"; return 1; }
    fi
    export E2E_NODE
}

e2e_setup_python() {
    local venv=tools/interop/.venv/mcp1 req=tests/interop/requirements-mcp1.txt
    if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
        echo "e2e: Python venv $venv"
        rm -rf "$venv"
        { python3 -m venv "$venv" &&
            timeout 600 "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" &&
            cp "$req" "$venv/.requirements"; } || { echo "FAIL setup: Python venv $venv"; return 1; }
    fi
    E2E_PYTHON="$PWD/$venv/bin/python"
    export E2E_PYTHON
}

e2e_build_switchyard() {
    [ "${E2E_SKIP_BUILD:-}" = 1 ] || cargo build -q -p switchyard || { echo "FAIL setup: cargo build -p switchyard"; return 1; }
    E2E_SWITCHYARD="$PWD/target/debug/switchyard"
}

e2e_build_conformance_server() {
    [ "${E2E_SKIP_BUILD:-}" = 1 ] || cargo build -q --release -p switchyard-server --example conformance_server ||
        { echo "FAIL setup: cargo build conformance_server"; return 1; }
    E2E_CONFORMANCE_SERVER="$PWD/target/release/examples/conformance_server"
}

# A free TCP port on 127.0.0.1 (bound and released; a race with other processes is unlikely).
e2e_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something accepts connections on 127.0.0.1:$1 (at most $2 tenths of a second).
e2e_wait_port() {
    for _ in $(seq "${2:-100}"); do
        (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# Starts `switchyard serve --config $1`, logging to $2; appends its pid to the caller's `pids`
# and waits for "serving MCP at".
e2e_start_serve() {
    "$E2E_SWITCHYARD" serve --config "$1" >"$2" 2>&1 &
    pids+=($!)
    local pid=$!
    for _ in $(seq 300); do
        grep -q "serving MCP at" "$2" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "FAIL setup: switchyard serve --config $1 did not start"
    tail -n 20 "$2"
    return 1
}
