//! The 10,000-tool benchmark corpus, shared by `benches/search.rs` and `examples/build10k.rs`
//! so the profiled build is the benchmarked one.
//!
//! Variations: copy `k` of a real tool keeps its name and schema, moves to server
//! `<server>-<k>`, and gets its description prefixed with two words drawn from a 2,000-word
//! generated vocabulary, so the term dictionary and posting lists grow as they would with
//! thousands of distinct servers rather than 17 exact duplicates.

use serde_json::Value;
use switchyard_search::{Catalog, ToolDoc};

/// Tools in the benchmark index.
pub(crate) const TOOLS: usize = 10_000;

/// Deterministic xorshift generator, so every run benchmarks the same catalog.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn synthetic_word(rng: &mut Rng) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ter", "van", "sol", "ud", "rin", "po", "zel", "qua", "bri", "nor", "te",
        "shi", "dax",
    ];
    (0..2 + rng.below(2))
        .map(|_| SYL[rng.below(SYL.len())])
        .collect()
}

/// The 601 real tools of `eval/catalog.json`.
pub(crate) fn catalog_docs() -> Vec<ToolDoc> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval/catalog.json");
    let text = std::fs::read_to_string(path).expect("eval/catalog.json is readable");
    Catalog::from_json(&text)
        .and_then(|c| c.tool_docs())
        .expect("valid catalog")
}

/// [`TOOLS`] tools: the real ones, then variations of them.
pub(crate) fn ten_thousand(real: &[ToolDoc]) -> Vec<ToolDoc> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let vocab: Vec<String> = (0..2000).map(|_| synthetic_word(&mut rng)).collect();
    let mut out = Vec::with_capacity(TOOLS);
    let mut k = 0;
    while out.len() < TOOLS {
        for t in real {
            if out.len() == TOOLS {
                break;
            }
            let mut v = t.clone();
            if k > 0 {
                v.server = format!("{}-{k}", t.server);
                let (a, b) = (
                    &vocab[rng.below(vocab.len())],
                    &vocab[rng.below(vocab.len())],
                );
                v.description = format!("{a} {b}. {}", t.description);
            }
            out.push(v);
        }
        k += 1;
    }
    out
}

/// The query texts of `eval/queries.jsonl` and `eval/queries-holdout.jsonl`, in order.
pub(crate) fn queries() -> Vec<String> {
    let mut out = Vec::new();
    for file in ["queries.jsonl", "queries-holdout.jsonl"] {
        let path = format!("{}/../../eval/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("eval queries are readable");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect("JSON line");
            out.push(v["query"].as_str().expect("query text").to_owned());
        }
    }
    out
}
