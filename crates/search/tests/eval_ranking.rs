//! The ranking of the eval queries is pinned: `golden/eval_top10.tsv` holds the top 10 of every
//! query of `eval/queries.jsonl` and `eval/queries-holdout.jsonl` over the 601 real tools and
//! over the 10,000-tool benchmark corpus, as the index ranked them before the build was made
//! faster (written by `cargo run --release -p switchyard-search --example build10k -- --dump`).
//! Speed work on indexing must leave every list, and every score, as it was.
//!
//! A deliberate ranking change (new weights, tokenizer rules, thesaurus entries) regenerates
//! the file with that command and says so in its commit, with the eval figures.

use switchyard_search::{Index, SearchError};

#[allow(dead_code)] // the benchmark uses more of the corpus module than this test
#[path = "../benches/common/mod.rs"]
mod common;

/// One golden line: corpus, query number, rank, `server/name`, score.
fn golden() -> Vec<(String, usize, usize, String, f32)> {
    include_str!("golden/eval_top10.tsv")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "golden line {l:?}");
            let num = |s: &str| s.parse::<usize>().expect("number");
            (
                f[0].to_owned(),
                num(f[1]),
                num(f[2]),
                f[3].to_owned(),
                f[4].parse::<f32>().expect("score"),
            )
        })
        .collect()
}

fn ranked(
    corpus: &str,
    index: &Index,
    queries: &[String],
) -> Vec<(String, usize, usize, String, f32)> {
    let mut out = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        let hits = match index.search(q, 10) {
            Ok(h) => h,
            Err(SearchError::NoSearchableTerms) => Vec::new(),
            Err(e) => panic!("query {q:?}: {e}"),
        };
        for (rank, h) in hits.iter().enumerate() {
            let tool = format!("{}/{}", h.server, h.name);
            out.push((corpus.to_owned(), qi, rank + 1, tool, h.score));
        }
    }
    out
}

#[test]
fn eval_queries_rank_as_pinned_over_601_and_10k_tools() {
    let real = common::catalog_docs();
    let ten_k = common::ten_thousand(&real);
    let queries = common::queries();
    let mut got = ranked("601", &Index::from_docs(real).expect("build"), &queries);
    got.extend(ranked(
        "10k",
        &Index::from_docs(ten_k).expect("build"),
        &queries,
    ));
    let want = golden();
    assert!(want.len() > 1000, "golden file is populated");
    assert_eq!(got.len(), want.len(), "number of ranked hits");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(
            (&g.0, g.1, g.2, &g.3),
            (&w.0, w.1, w.2, &w.3),
            "ranked tool"
        );
        // The golden scores are printed to 7 significant digits.
        assert!(
            (g.4 - w.4).abs() <= 1e-5 * w.4.abs().max(1.0),
            "score of {g:?}, pinned {}",
            w.4
        );
    }
}
