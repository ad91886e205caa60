//! Builds the 10,000-tool benchmark index once: a small driver for profilers
//! (`valgrind --tool=callgrind`), whose instruction counts stay stable on a loaded machine
//! where wall-clock timings do not.
//!
//! ```text
//! cargo build --release -p switchyard-search --example build10k
//! valgrind --tool=callgrind target/release/examples/build10k
//! cargo run --release -p switchyard-search --example build10k -- --dump > top10.tsv
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
    if !std::env::args().any(|a| a == "--dump") {
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
