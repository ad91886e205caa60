#!/usr/bin/env bash
# Fuzzes switchyard-stream for a bounded time. Called by .ci/run; works on a
# fresh machine with only the stable toolchain.
#
# cargo-fuzz needs nightly-only rustc flags (-Zsanitizer=address and the
# sancov passes). RUSTC_BOOTSTRAP=1 lets the stable compiler accept them; the
# stable toolchain ships the ASan runtime (librustc-stable_rt.asan.a), and
# libfuzzer-sys builds libFuzzer with the system C++ compiler.
#
# Env: FUZZ_SECONDS (default 120, at most 180) bounds the fuzzing itself.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-120}"
if [ "$secs" -gt 180 ]; then secs=180; fi

# 1. Replay the committed corpus through the same checks as a plain test.
cargo test -p switchyard-stream --features fuzzing --lib fuzzing

# 2. Fuzz with libFuzzer.
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
if ! command -v c++ >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq g++ >/dev/null
fi

# New inputs go to a scratch directory; the committed seeds stay as they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

cd fuzz
RUSTC_BOOTSTRAP=1 cargo fuzz run stream "$scratch" corpus/stream -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
echo "fuzz: stream ran ${secs}s with no crash"
