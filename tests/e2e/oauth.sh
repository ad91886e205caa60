#!/usr/bin/env bash
# End to end: the official TypeScript SDK 1.x client's OAuth flow against `switchyard serve`'s
# built-in authorization server, with dynamic registration and with a client ID metadata
# document, each followed by a protected tool call; and a token refused by another resource.
#
#   bash tests/e2e/oauth.sh
#
# Starts two servers on loopback: A = `switchyard serve --config` (built-in authorization
# server, demo server, auth.danger_allow_loopback_metadata_documents so the metadata document
# can be served by the test itself), and B = `switchyard serve` trusting A as an external issuer
# (a second resource). Chromium (Debian package) plays the user through tests/browser/consent.mjs;
# screenshots land in target/e2e-artifacts/oauth/. Prints PASS/FAIL lines and
# `N passed, M failed`; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/e2e/setup.sh
e2e_setup_node || exit 1
e2e_build_switchyard || exit 1

work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port_a="$(e2e_free_port)"
port_b="$(e2e_free_port)"
export LOGIN_USER=e2e-user LOGIN_PASSWORD="e2e-$RANDOM-$RANDOM-password"
export E2E_USER_PASSWORD="$LOGIN_PASSWORD" SWITCHYARD_ADMIN_PASSWORD="admin-$RANDOM-$RANDOM"
unset SWITCHYARD_CONFIG SWITCHYARD_LISTEN SWITCHYARD_PUBLIC_URL SWITCHYARD_DATABASE_URL
cat >"$work/a.toml" <<EOF
[server]
listen = "127.0.0.1:$port_a"

[auth]
database_url = "sqlite://$work/auth.db?mode=rwc"
danger_allow_loopback_metadata_documents = true

[[auth.users]]
username = "$LOGIN_USER"
password_env = "E2E_USER_PASSWORD"
EOF
cat >"$work/b.toml" <<EOF
[server]
listen = "127.0.0.1:$port_b"

[auth]
mode = "external"
issuer = "http://127.0.0.1:$port_a"
jwks_url = "http://127.0.0.1:$port_a/jwks"
EOF

e2e_start_serve "$work/a.toml" "$work/a.log" || exit 1
e2e_start_serve "$work/b.toml" "$work/b.log" || exit 1

# The metadata document's https server: a self-signed certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || { echo "FAIL openssl: no certificate"; exit 1; }

rc=0
MCP_URL="http://127.0.0.1:$port_a/mcp" OTHER_MCP_URL="http://127.0.0.1:$port_b/mcp" \
    TLS_KEY="$work/key.pem" TLS_CERT="$work/cert.pem" ARTIFACTS=target/e2e-artifacts/oauth \
    timeout -k 5 120 "$E2E_NODE" tests/e2e/oauth.mjs | tee "$work/out.log" || rc=$?
if ((rc != 0)); then
    grep -q '^FAIL ' "$work/out.log" || echo "FAIL e2e oauth: exited with status $rc"
    echo "--- serve A (last lines)"; tail -n 15 "$work/a.log"
    echo "--- serve B (last lines)"; tail -n 5 "$work/b.log"
fi
exit "$rc"
