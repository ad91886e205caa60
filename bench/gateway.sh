#!/usr/bin/env bash
# What the gateway adds to a tools/call: the same load against the upstream directly and
# through the gateway, in one run. Upstream and gateway share CPU 0; the load generator has
# CPU 1. Loopback only; about 30 s plus the build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --manifest-path bench/Cargo.toml --target-dir target/bench
b=target/bench/release
up=8811; gw=8812
taskset -c 0 "$b/bench-server" --kind switchyard --port $up 2>/dev/null &
p1=$!
sleep 0.5
taskset -c 0 "$b/gateway-server" --upstream "http://127.0.0.1:$up/mcp" --port $gw 2>/dev/null &
p2=$!
trap 'kill $p1 $p2 2>/dev/null || true' EXIT
sleep 1
echo "| path | c | req/s | p50 | p99 | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for c in 16 64; do
    for target in "direct http://127.0.0.1:$up/mcp" "gateway http://127.0.0.1:$gw/mcp"; do
        set -- $target
        line=$(taskset -c 1 "$b/loadgen" --url "$2" --concurrency $c --warmup 1 --duration 4 --mode stateless 2>&1 | grep -E "rps=" | tail -1)
        rps=$(sed -E 's/.*rps=([0-9]+).*/\1/' <<<"$line")
        p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line")
        p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
        err=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
        echo "| $1 | $c | $rps | ${p50} µs | ${p99} µs | $err |"
    done
done
