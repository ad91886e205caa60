#!/usr/bin/env bash
# The whole test suite: what the README's test command runs and what CI runs.
#
# 1. formatting and lints        cargo fmt --check, cargo clippy -D warnings
# 2. Rust tests                  cargo test --workspace (unit, property, black-box)
# 3. conformance                 the official MCP suite, server and client, both revisions,
#                                no expected-failures file
# 4. browser                     headless Chromium walks login and consent (Debian chromium)
# 5. interop                     official TypeScript and Python clients and servers, both ways,
#                                and switchyard-client against official TypeScript and Python servers
# 6. end to end                  the official TypeScript client signing in to switchyard serve,
#                                alone and as a gateway over stdio, HTTP and FastMCP upstreams
#                                (tests/e2e/)
#
# Services: tests that need PostgreSQL or Redis read DATABASE_URL / REDIS_URL and say clearly
# when they are skipped because those are unset.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
step() {
    local name="$1"; shift
    echo
    echo "=== $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failures+=("$name")
    fi
}

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
step "cargo test --workspace" cargo test --workspace
step "conformance: server (2025-11-25, 2026-07-28)" bash scripts/conformance-server.sh
step "conformance: client (2025-11-25, 2026-07-28)" bash scripts/conformance-client.sh
step "conformance: server suites through the gateway" bash scripts/conformance-gateway.sh
step "conformance: authorization-server scenarios (headless Chromium)" bash scripts/conformance-auth.sh
step "browser: login, consent and redirect in headless Chromium" bash tests/browser/run.sh
step "browser: README quick start (serve, login, tools, call)" bash tests/browser/quickstart.sh
step "interop: TypeScript and Python clients" bash tests/interop/run.sh
step "interop: switchyard client vs TypeScript and Python servers" bash tests/interop/client-run.sh
step "e2e: official TypeScript client OAuth (DCR, metadata document) vs serve" bash tests/e2e/oauth.sh
step "e2e: gateway over stdio, HTTP and FastMCP upstreams, official TypeScript client" bash tests/e2e/gateway.sh

echo
if [ "$failed" -gt 0 ]; then
    printf 'failed step: %s\n' "${failures[@]}"
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
