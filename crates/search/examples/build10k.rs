//! Builds the 10,000-tool benchmark index once: a small driver for profilers
//! (`valgrind --tool=callgrind`), whose instruction counts stay stable on a loaded machine
//! where wall-clock timings do not.
//!
//! ```text
//! cargo build --release -p switchyard-search --example build10k
//! valgrind --tool=callgrind target/release/examples/build10k
//! cargo run --release -p switchyard-search --example build10k -- --dump > top10.tsv
//! cargo run --release -p switchyard-search --example build10k -- --time 30
//! ```
//!
//! `--dump` prints the top 10 of every eval query over the 601 real tools and over the 10,000
//! tools (the format of `tests/golden/eval_top10.tsv`), to check that a faster build ranks
//! exactly as before.

use switchyard_search::{Index, SearchError};

#[allow(dead_code)] // the benchmark uses more of the corpus module than this driver
#[path = "../benches/common/mod.rs"]
mod common;

fn main() -> Result<(), SearchError> {
    let real = common::catalog_docs();
    let docs = common::ten_thousand(&real);
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--time")
        .and_then(|i| args.get(i + 1)?.parse::<usize>().ok())
    {
        // On-CPU time of `n` builds (min and median), for A/B runs on a loaded machine.
        let mut cpu = Vec::new();
        for _ in 0..n {
            let input = docs.clone();
            let before = thread_cpu_ns();
            let index = Index::from_docs(input)?;
            cpu.push(thread_cpu_ns().saturating_sub(before));
            drop(index);
        }
        cpu.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        println!(
            "{n} builds, on-CPU: min {:.1} ms, median {:.1} ms",
            ms(cpu.first().copied().unwrap_or(0)),
            ms(cpu.get(n / 2).copied().unwrap_or(0))
        );
        return Ok(());
    }
    if !args.iter().any(|a| a == "--dump") {
        let index = Index::from_docs(docs)?;
        println!("{} tools, {} heap bytes", index.len(), index.heap_bytes());
        return Ok(());
    }
    let queries = common::queries();
    for (corpus, docs) in [("601", real), ("10k", docs)] {
        let index = Index::from_docs(docs)?;
        for (qi, q) in queries.iter().enumerate() {
            let hits = match index.search(q, 10) {
                Ok(h) => h,
                Err(SearchError::NoSearchableTerms) => Vec::new(),
                Err(e) => return Err(e),
            };
            for (rank, h) in hits.iter().enumerate() {
                println!(
                    "{corpus}\t{qi}\t{}\t{}/{}\t{:.6e}",
                    rank + 1,
                    h.server,
                    h.name,
                    h.score
                );
            }
        }
    }
    Ok(())
}

/// Nanoseconds this thread has spent on a CPU (`/proc/thread-self/schedstat`; 0 if unreadable).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
