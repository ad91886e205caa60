#!/usr/bin/env bash
# End to end through the gateway: `switchyard serve --config` federates
#   everything   @modelcontextprotocol/server-everything over stdio (Node 22 from tools/interop),
#   conformance  the Switchyard example conformance server over Streamable HTTP,
#   py           tests/e2e/dynamic_server.py, a Python FastMCP server (PyPI `mcp` 1.x) over
#                Streamable HTTP whose tool list changes at runtime,
# and the official TypeScript SDK 1.x client, signed in through the built-in authorization server
# (headless Chromium approving), checks namespacing, one call per upstream, progress and
# list_changed (tests/e2e/gateway.mjs).
#
#   bash tests/e2e/gateway.sh
#
# Prints PASS/FAIL lines and `N passed, M failed`; exits non-zero on any failure. Screenshots
# land in target/e2e-artifacts/gateway/.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/e2e/setup.sh
e2e_setup_node || exit 1
e2e_setup_python || exit 1
e2e_build_switchyard || exit 1
e2e_build_conformance_server || exit 1
everything="$PWD/tools/interop/node_modules/@modelcontextprotocol/server-everything/dist/index.js"

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port_gw="$(e2e_free_port)"
port_conf="$(e2e_free_port)"
port_py="$(e2e_free_port)"

"$E2E_CONFORMANCE_SERVER" --port "$port_conf" >"$work/conformance.log" 2>&1 &
pids+=($!)
"$E2E_PYTHON" tests/e2e/dynamic_server.py "$port_py" >"$work/py.log" 2>&1 &
pids+=($!)
e2e_wait_port "$port_conf" || { echo "FAIL setup: conformance server not listening"; tail "$work/conformance.log"; exit 1; }
e2e_wait_port "$port_py" 150 || { echo "FAIL setup: FastMCP server not listening"; tail "$work/py.log"; exit 1; }

export LOGIN_USER=e2e-user LOGIN_PASSWORD="e2e-$RANDOM-$RANDOM-password"
export E2E_USER_PASSWORD="$LOGIN_PASSWORD" SWITCHYARD_ADMIN_PASSWORD="admin-$RANDOM-$RANDOM"
unset SWITCHYARD_CONFIG SWITCHYARD_LISTEN SWITCHYARD_PUBLIC_URL SWITCHYARD_DATABASE_URL
cat >"$work/gateway.toml" <<EOF
[server]
listen = "127.0.0.1:$port_gw"

[auth]
database_url = "sqlite://$work/auth.db?mode=rwc"

[[auth.users]]
username = "$LOGIN_USER"
password_env = "E2E_USER_PASSWORD"

[[upstreams]]
name = "everything"
command = "$E2E_NODE"
args = ["$everything", "stdio"]
timeout = 30

[[upstreams]]
name = "conformance"
url = "http://127.0.0.1:$port_conf/mcp"
timeout = 30

[[upstreams]]
name = "py"
url = "http://127.0.0.1:$port_py/mcp"
timeout = 30
EOF
e2e_start_serve "$work/gateway.toml" "$work/gateway.log" || exit 1

rc=0
MCP_URL="http://127.0.0.1:$port_gw/mcp" CONFORMANCE_URL="http://127.0.0.1:$port_conf/mcp" \
    PY_URL="http://127.0.0.1:$port_py/mcp" EVERYTHING="$everything" ARTIFACTS=target/e2e-artifacts/gateway \
    timeout -k 5 120 "$E2E_NODE" tests/e2e/gateway.mjs | tee "$work/out.log" || rc=$?
if ((rc != 0)); then
    grep -q '^FAIL ' "$work/out.log" || echo "FAIL e2e gateway: exited with status $rc"
    echo "--- gateway (last lines)"; tail -n 20 "$work/gateway.log"
    echo "--- FastMCP server (last lines)"; tail -n 10 "$work/py.log"
fi
exit "$rc"
