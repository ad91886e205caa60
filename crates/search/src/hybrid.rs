//! Hybrid mode: BM25F fused with embedding similarity by reciprocal rank fusion (RRF).
//!
//! This crate does no I/O: embeddings come from an [`Embedder`] the caller supplies (the
//! `switchyard` binary has one for OpenAI-compatible `/v1/embeddings` endpoints), and
//! vectors are remembered in a [`VectorCache`] keyed by a hash of the model name and the
//! embedded text, so a tool whose definition did not change is never embedded twice.
//! [`MemoryVectorCache`] keeps them in memory; `switchyard search` keeps them in
//! `switchyard-store` (`SqlStore::embedding_vectors`), keyed by [`VectorKey`].
//!
//! Hybrid is off by default; BM25F ranks on its own.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::index::{Hit, Index, ToolId};
use crate::limits::MAX_RESULTS;
use crate::SearchError;

/// Most texts sent to the embedder in one call. OpenAI's endpoint accepts 2,048 inputs per
/// request; 64 keeps each request small enough for a CPU-bound local model to answer quickly.
pub const MAX_EMBED_BATCH: usize = 64;

/// The RRF constant `k` of Cormack, Clarke & Büttcher (2009): `score = Σ 1 / (k + rank)`.
pub const RRF_K: f32 = 60.0;

/// How many candidates each ranking contributes to the fusion.
pub const FUSION_DEPTH: usize = 50;

/// Why an [`Embedder`] failed.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmbedError {
    /// The endpoint could not be reached or answered with an error status.
    #[error("embedding endpoint unavailable: {0}")]
    Unavailable(String),
    /// The endpoint answered with something that is not a valid embeddings response.
    #[error("bad embeddings response: {0}")]
    BadResponse(String),
    /// Vectors of different lengths came back (across calls or within one).
    #[error("embedding has {got} dimensions, expected {expected}")]
    DimensionMismatch {
        /// Dimensions seen first.
        expected: usize,
        /// Dimensions of the offending vector.
        got: usize,
    },
}

/// Turns texts into vectors. Implementations may block; they must return one vector per
/// input, in order.
pub trait Embedder {
    /// Name of the model, part of every cache key.
    fn model(&self) -> &str;
    /// Embeds `inputs` (at most [`MAX_EMBED_BATCH`] per call).
    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// A cache key: SHA-256 of the model name's length (8 bytes, little-endian), the model name
/// and the text, so no two (model, text) pairs share a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VectorKey(pub [u8; 32]);

impl VectorKey {
    /// The key for `text` embedded by `model`.
    pub fn new(model: &str, text: &str) -> Self {
        let mut h = Sha256::new();
        h.update((model.len() as u64).to_le_bytes());
        h.update(model.as_bytes());
        h.update(text.as_bytes());
        Self(h.finalize().into())
    }
}

/// Where embedding vectors are remembered between index builds.
pub trait VectorCache {
    /// The vector stored under `key`, if any.
    fn get(&self, key: &VectorKey) -> Option<Arc<[f32]>>;
    /// Stores a vector.
    fn put(&mut self, key: VectorKey, vector: Arc<[f32]>);
}

/// A [`VectorCache`] in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryVectorCache {
    map: HashMap<VectorKey, Arc<[f32]>>,
}

impl MemoryVectorCache {
    /// Number of cached vectors.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl VectorCache for MemoryVectorCache {
    fn get(&self, key: &VectorKey) -> Option<Arc<[f32]>> {
        self.map.get(key).cloned()
    }
    fn put(&mut self, key: VectorKey, vector: Arc<[f32]>) {
        self.map.insert(key, vector);
    }
}

/// The text embedded for a tool: server, name, title, description and parameter names.
pub fn embedding_text(index: &Index, id: ToolId) -> Option<String> {
    let doc = index.docs.get(id.0 as usize)?.as_ref()?;
    let mut text = format!("{} {}", doc.server, doc.name.replace(['_', '-', '.'], " "));
    for part in [&doc.title, &doc.description] {
        if !part.is_empty() {
            text.push_str(". ");
            text.push_str(part);
        }
    }
    if !doc.params.is_empty() {
        text.push_str(". Parameters:");
        for (name, _) in doc.params.iter() {
            text.push(' ');
            text.push_str(name);
        }
    }
    Some(text)
}

fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Unit-length embedding vectors for the tools of an [`Index`], by tool id.
#[derive(Debug, Default, Clone)]
pub struct DocVectors {
    vectors: Vec<Option<(VectorKey, Arc<[f32]>)>>,
    dims: Option<usize>,
}

impl DocVectors {
    /// No vectors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the vectors in line with `index`: drops those of removed or changed tools and
    /// embeds the missing ones, from `cache` where possible. Returns how many texts were sent
    /// to the embedder.
    pub fn sync(
        &mut self,
        index: &Index,
        embedder: &dyn Embedder,
        cache: &mut dyn VectorCache,
    ) -> Result<usize, SearchError> {
        self.vectors.resize(index.docs.len(), None);
        let mut missing: Vec<(usize, VectorKey, String)> = Vec::new();
        for slot in 0..index.docs.len() {
            let Some(text) = embedding_text(index, ToolId(slot as u32)) else {
                self.vectors[slot] = None;
                continue;
            };
            let key = VectorKey::new(embedder.model(), &text);
            if self.vectors[slot].as_ref().is_some_and(|(k, _)| *k == key) {
                continue;
            }
            match cache.get(&key) {
                Some(v) => self.vectors[slot] = Some((key, v)),
                None => missing.push((slot, key, text)),
            }
        }
        for batch in missing.chunks(MAX_EMBED_BATCH) {
            let inputs: Vec<&str> = batch.iter().map(|(_, _, t)| t.as_str()).collect();
            let out = embedder.embed(&inputs)?;
            if out.len() != batch.len() {
                return Err(EmbedError::BadResponse(format!(
                    "{} vectors for {} inputs",
                    out.len(),
                    batch.len()
                ))
                .into());
            }
            for ((slot, key, _), mut v) in batch.iter().zip(out) {
                self.check_dims(v.len())?;
                normalize(&mut v);
                let v: Arc<[f32]> = v.into();
                cache.put(*key, Arc::clone(&v));
                self.vectors[*slot] = Some((*key, v));
            }
        }
        for slot in 0..self.vectors.len() {
            if let Some((_, v)) = &self.vectors[slot] {
                self.check_dims(v.len())?;
            }
        }
        Ok(missing.len())
    }

    fn check_dims(&mut self, got: usize) -> Result<(), EmbedError> {
        match self.dims {
            None => {
                self.dims = Some(got);
                Ok(())
            }
            Some(expected) if expected == got => Ok(()),
            Some(expected) => Err(EmbedError::DimensionMismatch { expected, got }),
        }
    }

    /// Tools ranked by cosine similarity to `query` (any length; normalised here).
    pub fn rank(&self, query: &[f32], depth: usize) -> Result<Vec<(ToolId, f32)>, SearchError> {
        if let Some(expected) = self.dims.filter(|&d| d != query.len()) {
            return Err(EmbedError::DimensionMismatch {
                expected,
                got: query.len(),
            }
            .into());
        }
        let mut q = query.to_vec();
        normalize(&mut q);
        let mut scored: Vec<(u32, f32)> = self
            .vectors
            .iter()
            .enumerate()
            .filter_map(|(slot, v)| {
                let (_, v) = v.as_ref()?;
                Some((slot as u32, v.iter().zip(&q).map(|(a, b)| a * b).sum()))
            })
            .collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if scored.len() > depth && depth > 0 {
            scored.select_nth_unstable_by(depth - 1, order);
        }
        scored.truncate(depth);
        scored.sort_unstable_by(order);
        Ok(scored
            .into_iter()
            .map(|(slot, s)| (ToolId(slot), s))
            .collect())
    }
}

/// Reciprocal rank fusion of ranked lists of ids: `Σ 1 / (RRF_K + rank)`, rank from 1.
pub fn rrf(lists: &[&[u32]]) -> Vec<(u32, f32)> {
    let mut scores: HashMap<u32, f32> = HashMap::new();
    for list in lists {
        for (rank, &id) in list.iter().enumerate() {
            *scores.entry(id).or_default() += 1.0 / (RRF_K + rank as f32 + 1.0);
        }
    }
    let mut out: Vec<(u32, f32)> = scores.into_iter().collect();
    out.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

impl Index {
    /// Hybrid ranking: BM25F and embedding similarity, each to [`FUSION_DEPTH`], fused by
    /// [`rrf`]. `vectors` must have been [synced](DocVectors::sync) with this index.
    ///
    /// A query with no term in the index (say, a paraphrase in other words) still ranks by
    /// embeddings; a query with no searchable words at all is an error as in BM25 mode.
    pub fn search_hybrid(
        &self,
        query: &str,
        vectors: &DocVectors,
        embedder: &dyn Embedder,
        top: usize,
    ) -> Result<Vec<Hit<'_>>, SearchError> {
        let q = Self::check_query(query)?;
        let lexical: Vec<u32> = self
            .search(q, FUSION_DEPTH)?
            .iter()
            .map(|h| h.id.0)
            .collect();
        let qv = embedder.embed(&[q])?;
        let Some(qv) = qv.into_iter().next() else {
            return Err(EmbedError::BadResponse("no vector for the query".into()).into());
        };
        let dense: Vec<u32> = vectors
            .rank(&qv, FUSION_DEPTH)?
            .into_iter()
            .map(|(id, _)| id.0)
            .collect();
        let fused = rrf(&[&lexical, &dense]);
        Ok(self.top_hits(fused.into_iter(), top.min(MAX_RESULTS)))
    }
}

#[cfg(test)]
mod tests;
