use super::*;
use crate::tool::ToolDoc;
use std::cell::Cell;

/// A toy embedder: a bag of hand-picked concepts, so "climate" and "weather" meet.
struct ConceptEmbedder {
    calls: Cell<usize>,
    texts: Cell<usize>,
}

const CONCEPTS: [&[&str]; 3] = [
    &["weather", "forecast", "climate", "rain"],
    &["file", "disk", "document"],
    &["commit", "git", "history"],
];

impl Embedder for ConceptEmbedder {
    fn model(&self) -> &str {
        "concepts"
    }
    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.calls.set(self.calls.get() + 1);
        self.texts.set(self.texts.get() + inputs.len());
        Ok(inputs
            .iter()
            .map(|t| {
                let t = t.to_lowercase();
                CONCEPTS
                    .iter()
                    .map(|c| c.iter().filter(|w| t.contains(*w)).count() as f32 + 0.01)
                    .collect()
            })
            .collect())
    }
}

fn embedder() -> ConceptEmbedder {
    ConceptEmbedder {
        calls: Cell::new(0),
        texts: Cell::new(0),
    }
}

fn idx() -> Index {
    let mut idx = Index::new();
    for (name, d) in [
        ("get_forecast", "Weather forecast for a city"),
        ("read_file", "Read a file from disk"),
        ("git_log", "Show commit history"),
    ] {
        idx.add(ToolDoc {
            server: "s".into(),
            name: name.into(),
            description: d.into(),
            ..ToolDoc::default()
        })
        .expect("add");
    }
    idx
}

#[test]
fn rrf_rewards_agreement() {
    let fused = rrf(&[&[1, 2, 3], &[2, 1, 4]]);
    assert_eq!(fused[0].0, 1);
    assert_eq!(fused[1].0, 2);
    assert!((fused[0].1 - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-6);
    assert_eq!(fused.len(), 4);
}

#[test]
fn hybrid_finds_tools_bm25_cannot() {
    let idx = idx();
    let e = embedder();
    let mut vectors = DocVectors::new();
    vectors
        .sync(&idx, &e, &mut MemoryVectorCache::default())
        .expect("sync");
    assert!(idx.search("climate", 3).expect("bm25").is_empty());
    let hits = idx
        .search_hybrid("climate", &vectors, &e, 3)
        .expect("hybrid");
    assert_eq!(hits[0].name, "get_forecast");
}

#[test]
fn sync_embeds_only_missing_and_uses_the_cache() {
    let mut idx = idx();
    let e = embedder();
    let mut cache = MemoryVectorCache::default();
    let mut vectors = DocVectors::new();
    assert_eq!(vectors.sync(&idx, &e, &mut cache).expect("sync"), 3);
    assert_eq!(cache.len(), 3);
    assert_eq!(vectors.sync(&idx, &e, &mut cache).expect("sync"), 0);
    idx.add(ToolDoc {
        server: "s".into(),
        name: "rain_radar".into(),
        ..ToolDoc::default()
    })
    .expect("add");
    assert_eq!(vectors.sync(&idx, &e, &mut cache).expect("sync"), 1);
    // A fresh DocVectors over the same tools is served from the cache alone.
    let mut again = DocVectors::new();
    assert_eq!(again.sync(&idx, &e, &mut cache).expect("sync"), 0);
    assert_eq!(e.texts.get(), 4);
}

#[test]
fn max_embed_batch_splits_requests() {
    let mut idx = Index::new();
    for i in 0..MAX_EMBED_BATCH * 2 + 1 {
        idx.add(ToolDoc {
            server: "s".into(),
            name: format!("t{i}"),
            ..ToolDoc::default()
        })
        .expect("add");
    }
    let e = embedder();
    DocVectors::new()
        .sync(&idx, &e, &mut MemoryVectorCache::default())
        .expect("sync");
    assert_eq!(e.calls.get(), 3);
}

struct Broken(usize);
impl Embedder for Broken {
    fn model(&self) -> &str {
        "broken"
    }
    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        Ok(inputs
            .iter()
            .enumerate()
            .map(|(i, _)| vec![1.0; self.0 + i])
            .collect())
    }
}

#[test]
fn dimension_mismatch_is_an_error() {
    let err = DocVectors::new().sync(&idx(), &Broken(2), &mut MemoryVectorCache::default());
    assert_eq!(
        err,
        Err(SearchError::Embedding(EmbedError::DimensionMismatch {
            expected: 2,
            got: 3
        }))
    );
}

#[test]
fn cache_key_depends_on_model_and_text() {
    assert_eq!(VectorKey::new("m", "t"), VectorKey::new("m", "t"));
    assert_ne!(VectorKey::new("m", "t"), VectorKey::new("n", "t"));
    assert_ne!(VectorKey::new("m\0", "t"), VectorKey::new("m", "\0t"));
}
