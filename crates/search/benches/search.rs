//! Benchmark over 10,000 tools: the 601 real tools of `eval/catalog.json` plus generated
//! variations. Reports build time, memory and query latency as markdown.
//!
//! `cargo bench -p switchyard-search --bench search` (std::time; no criterion).
//!
//! The corpus (real tools plus generated variations) is in `common/mod.rs`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use switchyard_search::{is_stop_word, Index, ToolPattern};

mod common;
use common::{catalog_docs, queries, ten_thousand};

const BUILD_REPS: usize = 15;
const QUERY_WARMUP_ROUNDS: usize = 3;
const QUERY_ROUNDS: usize = 30;

fn query_regex(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !is_stop_word(w))
        .collect();
    format!("(?i)(?:{})", words.join("|"))
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Nanoseconds this thread has spent on a CPU (`/proc/thread-self/schedstat`), so builds can be
/// timed apart from waiting for a core on a shared machine.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        stat.split_whitespace().next()?.parse().ok()?,
    ))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn latency(label: &str, mut run: impl FnMut(usize) -> usize, n: usize, rounds: usize) -> String {
    for r in 0..QUERY_WARMUP_ROUNDS.min(rounds) * n {
        black_box(run(r % n));
    }
    let mut times = Vec::with_capacity(rounds * n);
    for r in 0..rounds * n {
        let t = Instant::now();
        black_box(run(r % n));
        times.push(t.elapsed());
    }
    times.sort_unstable();
    format!(
        "| {label} | {} | {} | {} | {} | {} |",
        times.len(),
        us(pct(&times, 0.5)),
        us(pct(&times, 0.99)),
        us(*times.last().unwrap_or(&Duration::ZERO)),
        us(times.iter().sum::<Duration>() / times.len() as u32)
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a listing; there are no tests here.
    }
    let t = Instant::now();
    let real = catalog_docs();
    let parse = t.elapsed();
    let docs = ten_thousand(&real);
    let queries = queries();

    // Memory first, on a fresh heap: RSS before and after building one index.
    let input = docs.clone();
    let rss_before = rss_bytes();
    let index = Index::from_docs(input).expect("build");
    let rss_after = rss_bytes();
    let heap = index.heap_bytes();

    // Build: from parsed `ToolDoc`s to a searchable index; the clone of the input is outside
    // the timed region.
    let mut builds = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..BUILD_REPS {
        let input = docs.clone();
        let c = thread_cpu();
        let t = Instant::now();
        let index = Index::from_docs(input).expect("build");
        builds.push(t.elapsed());
        if let (Some(a), Some(b)) = (c, thread_cpu()) {
            cpu.push(b.saturating_sub(a));
        }
        black_box(&index);
    }
    builds.sort_unstable();
    cpu.sort_unstable();

    println!("## switchyard-search benchmark: {} tools\n", index.len());
    println!(
        "Real tools: {} from eval/catalog.json (parsed in {}), generated variations: {}. Queries: {} user-phrased tasks from eval/, cycled.\n",
        real.len(),
        ms(parse),
        index.len() - real.len(),
        queries.len()
    );
    println!("| build ({BUILD_REPS} runs) | min | median | max |");
    println!("|---|---|---|---|");
    println!(
        "| `Index::from_docs`, 10,000 tools, wall clock | {} | {} | {} |",
        ms(builds[0]),
        ms(builds[builds.len() / 2]),
        ms(*builds.last().unwrap_or(&Duration::ZERO))
    );
    if !cpu.is_empty() {
        println!(
            "| same builds, on-CPU time only (`/proc/thread-self/schedstat`) | {} | {} | {} |",
            ms(cpu[0]),
            ms(cpu[cpu.len() / 2]),
            ms(*cpu.last().unwrap_or(&Duration::ZERO))
        );
    }
    println!();
    println!("| memory | bytes |");
    println!("|---|---|");
    println!("| `Index::heap_bytes()` (capacities of the index's vectors, maps and strings) | {:.1} MB |", heap as f64 / 1e6);
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!("| RSS growth while building one index (`/proc/self/statm`; includes allocator slack) | {:.1} MB |", b.saturating_sub(a) as f64 / 1e6);
    }
    println!();
    if std::env::args().any(|a| a == "--build-only") {
        return; // for profiling the build alone
    }
    println!("| query | timed | p50 | p99 | max | mean |");
    println!("|---|---|---|---|---|---|");
    println!(
        "{}",
        latency(
            "BM25F, top 5",
            |i| index.search(&queries[i], 5).map_or(0, |h| h.len()),
            queries.len(),
            QUERY_ROUNDS
        )
    );
    println!(
        "{}",
        latency(
            "BM25F, top 10",
            |i| index.search(&queries[i], 10).map_or(0, |h| h.len()),
            queries.len(),
            QUERY_ROUNDS
        )
    );
    let patterns: Vec<String> = queries.iter().map(|q| query_regex(q)).collect();
    println!(
        "{}",
        latency(
            "regex (compile + scan all tools), top 5",
            |i| index.search_regex(&patterns[i], 5).map_or(0, |h| h.len()),
            patterns.len(),
            2
        )
    );
    let compiled: Vec<ToolPattern> = patterns
        .iter()
        .map(|p| ToolPattern::new(p).expect("valid pattern"))
        .collect();
    println!(
        "{}",
        latency(
            "regex (pattern compiled once; scan all tools), top 5",
            |i| index.search_pattern(&compiled[i], 5).len(),
            compiled.len(),
            2
        )
    );
}
