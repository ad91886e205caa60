#!/usr/bin/env bash
# What the gateway adds to a stateless `tools/call`: the same load against the upstream directly
# and through `gateway-server` (the gateway with that upstream as its only, unprefixed, server),
# in one run. Loopback only.
#
#   bash bench/gateway.sh            # throughput and latency, two CPU layouts (about 80 s)
#   bash bench/gateway.sh callgrind  # userspace instructions per call (gateway and upstream)
#
# Layouts (both reported; neither replaces the other):
#   pinned   — upstream and gateway share CPU 0, the load generator has CPU 1. "Direct" gives
#              the upstream a core of its own; "gateway" makes both servers share it, so the
#              ratio is the upstream's share of (upstream + gateway) CPU per call.
#   unpinned — no pinning; the kernel spreads the three processes over both cores.
# Each server runs one tokio worker thread. The load generator is closed-loop (C connections,
# one call in flight each): at C=1 latency is the bare round trip, at C=16/64 it is mostly
# queueing (p50 ≈ C × per-call CPU time on the busy core).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --release --manifest-path bench/Cargo.toml --target-dir target/bench
b=target/bench/release
up=8811; gw=8812
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

if [ "${1:-}" = callgrind ]; then
    # Instructions per call: a warm-up, counters zeroed, exactly N calls (4 connections), a dump;
    # the dump's total over N. Stable when the machine is busy, unlike wall-clock figures.
    n=${N:-2000}
    work=$(mktemp -d)
    count() { # name pid
        callgrind_control -z "$2" >/dev/null
        "$b/calls" --url "http://127.0.0.1:$3/mcp" --count "$n" --concurrency 4 >/dev/null
        callgrind_control -d "$2" >/dev/null
        sleep 0.5
        local dump total
        dump=$(ls -t "$work"/cg."$2".* | head -1)
        total=$(sed -n 's/^summary: \([0-9]*\).*/\1/p; s/^totals: \([0-9]*\).*/\1/p' "$dump" | head -1)
        cp "$dump" "/tmp/callgrind.gateway-bench.$1.out"
        echo "INSTR $1 calls=$n instr=$total per_call=$((total / n)) file=/tmp/callgrind.gateway-bench.$1.out"
    }
    # The upstream alone, called directly.
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
        "$b/bench-server" --kind switchyard --port $up 2>"$work/up.log" &
    p1=$!; pids+=($p1)
    wait_port $up
    "$b/calls" --url "http://127.0.0.1:$up/mcp" --count 300 >/dev/null
    count upstream $p1 $up
    kill $p1; wait $p1 2>/dev/null || true
    # The gateway, in front of a native upstream.
    "$b/bench-server" --kind switchyard --port $up 2>/dev/null &
    pids+=($!)
    wait_port $up
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" \
        "$b/gateway-server" --upstream "http://127.0.0.1:$up/mcp" --port $gw 2>"$work/gw.log" &
    p2=$!; pids+=($p2)
    wait_port $gw
    "$b/calls" --url "http://127.0.0.1:$gw/mcp" --count 300 >/dev/null
    count gateway $p2 $gw
    rm -rf "$work"
    exit 0
fi

field() { sed -E "s/.*$1=([0-9.]+|NaN).*/\\1/" <<<"$2"; }
run_layout() { # layout server-cpus loadgen-cpus
    local layout=$1 scpu=$2 lcpu=$3
    local pin_s=() pin_l=()
    [ -n "$scpu" ] && pin_s=(taskset -c "$scpu")
    [ -n "$lcpu" ] && pin_l=(taskset -c "$lcpu")
    "${pin_s[@]}" "$b/bench-server" --kind switchyard --port $up 2>/dev/null &
    local p1=$!; pids+=($p1)
    wait_port $up
    "${pin_s[@]}" "$b/gateway-server" --upstream "http://127.0.0.1:$up/mcp" --port $gw 2>/dev/null &
    local p2=$!; pids+=($p2)
    wait_port $gw
    for c in 1 16 64; do
        local drps dp50
        for target in "direct $up $p1" "gateway $gw $p2"; do
            set -- $target
            local line
            line=$("${pin_l[@]}" "$b/loadgen" --url "http://127.0.0.1:$2/mcp" --concurrency $c \
                --warmup 1 --duration 4 --mode stateless --server-pid "$3" 2>&1 | grep -E "rps=" | tail -1)
            local rps p50 p99 err cpu
            rps=$(field rps "$line"); p50=$(field p50_us "$line"); p99=$(field p99_us "$line")
            err=$(field errors "$line"); cpu=$(field cpu_us_per_call "$line")
            if [ "$1" = direct ]; then
                drps=$rps; dp50=$p50
                echo "| $layout | direct | $c | $rps | ${p50} µs | ${p99} µs | $err | $cpu (upstream) | |"
            else
                local cmp
                cmp=$(awk -v r="$rps" -v d="$drps" -v p="$p50" -v q="$dp50" \
                    'BEGIN { printf "%.2f×, %+d µs", r / d, p - q }')
                echo "| $layout | gateway | $c | $rps | ${p50} µs | ${p99} µs | $err | $cpu (gateway) | $cmp |"
            fi
        done
    done
    kill $p1 $p2; wait $p1 $p2 2>/dev/null || true
}
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| layout | path | c | req/s | p50 | p99 | errors | server CPU µs/call | vs direct (req/s, p50) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
run_layout pinned 0 1
run_layout unpinned "" ""
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
