//! The inverted index over tool definitions and BM25F ranking.
//!
//! BM25F (Robertson, Zaragoza & Taylor 2004) combines the fields of a document before
//! saturation: for each query term the per-field term frequencies are length-normalised
//! per field and weighted, `tf~ = Σ_f w_f · tf_f / (1 − b_f + b_f · len_f / avglen_f)`,
//! then `score += idf(t) · tf~ / (k1 + tf~)` with `idf = ln(1 + (N − df + 0.5)/(df + 0.5))`.
//! Averages are taken at query time, so adding and removing tools never rewrites postings.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::limits::{MAX_QUERY_BYTES, MAX_QUERY_TERMS, MAX_RESULTS, MAX_TOOLS};
use crate::thesaurus::Thesaurus;
use crate::tokenize::{for_each_raw_token, utf8, RawToken, Token, Tokenizer};
use crate::tool::ToolDoc;
use crate::SearchError;

/// Number of indexed fields.
pub(crate) const NFIELDS: usize = 7;

/// A small, fast, non-cryptographic hasher (the FxHash mix used in rustc) for term maps.
///
/// Keys are words from tool definitions; hash flooding by a hostile upstream server could
/// only slow indexing of that catalog, which the per-tool limits already bound.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Weight and length normalisation of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldParams {
    /// Multiplier on the field's term frequency.
    pub weight: f32,
    /// Length normalisation, 0 (none) to 1 (full).
    pub b: f32,
}

/// BM25F parameters: `k1` and one [`FieldParams`] per field.
///
/// The defaults were set from first principles before the evaluation set existed: a match in
/// the name says most, then title, parameter names, description, server name, parameter
/// descriptions and annotation hints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Config {
    /// Term-frequency saturation.
    pub k1: f32,
    /// Tool name.
    pub name: FieldParams,
    /// Tool title.
    pub title: FieldParams,
    /// Tool description.
    pub description: FieldParams,
    /// Parameter names.
    pub param_names: FieldParams,
    /// Parameter descriptions and enum values.
    pub param_descriptions: FieldParams,
    /// Annotation hints as words.
    pub annotations: FieldParams,
    /// Server name.
    pub server: FieldParams,
    /// Weight of thesaurus expansions relative to the query's own words (0 turns expansion
    /// off). See the crate docs.
    pub expansion_weight: f32,
}

impl Default for Bm25Config {
    fn default() -> Self {
        let fp = |weight, b| FieldParams { weight, b };
        Self {
            k1: 1.2,
            name: fp(3.0, 0.5),
            title: fp(2.0, 0.5),
            description: fp(1.0, 0.75),
            param_names: fp(1.0, 0.5),
            param_descriptions: fp(0.5, 0.75),
            annotations: fp(0.2, 0.0),
            server: fp(1.0, 0.0),
            expansion_weight: 0.6,
        }
    }
}

impl Bm25Config {
    fn fields(&self) -> [FieldParams; NFIELDS] {
        [
            self.name,
            self.title,
            self.description,
            self.param_names,
            self.param_descriptions,
            self.annotations,
            self.server,
        ]
    }
}

/// Identifies one tool in an [`Index`]. Ids of removed tools are reused by later additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ToolId(pub(crate) u32);

/// One ranked result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a> {
    /// The tool's id in the index.
    pub id: ToolId,
    /// Server name.
    pub server: &'a str,
    /// Tool name.
    pub name: &'a str,
    /// Relevance score; higher is better. Scales differ between modes.
    pub score: f32,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Posting {
    pub(crate) doc: u32,
    pub(crate) tf: [u8; NFIELDS],
}

/// A stored tool: what regex mode searches, plus what removal needs.
#[derive(Debug)]
pub(crate) struct Doc {
    pub(crate) server: Box<str>,
    pub(crate) name: Box<str>,
    pub(crate) title: Box<str>,
    pub(crate) description: Box<str>,
    pub(crate) params: Box<[(Box<str>, Box<str>)]>,
    /// Distinct term ids of this doc, to remove its postings.
    pub(crate) terms: Box<[u32]>,
}

/// An incremental index over tool definitions, searchable by BM25F ([`Index::search`]) and
/// by Python-style regex ([`Index::search_regex`]).
///
/// Tools are keyed by (server, name): adding a tool whose key exists replaces it.
#[derive(Debug)]
pub struct Index {
    pub(crate) tokenizer: Tokenizer,
    fields: [FieldParams; NFIELDS],
    k1: f32,
    expansion_weight: f32,
    thesaurus: Thesaurus,
    vocab: Vocab,
    postings: Vec<Vec<Posting>>,
    pub(crate) docs: Vec<Option<Doc>>,
    lens: Vec<[u16; NFIELDS]>,
    free: Vec<u32>,
    by_key: FxMap<Box<str>, u32>,
    live: usize,
    total_len: [u64; NFIELDS],
    scratch: DocTerms,
}

/// Per-document term-frequency accumulator, reused across additions: `pos[term]` is one past
/// the term's entry in `entries` for the document being added (0 = not seen yet).
#[derive(Debug, Default)]
struct DocTerms {
    pos: Vec<u32>,
    entries: Vec<(u32, [u8; NFIELDS])>,
}

impl DocTerms {
    /// Counts one occurrence of `term` in `field` (< [`NFIELDS`]). Runs once per indexed
    /// token: growth of `pos` is kept out of line so the common path stays small.
    fn add(&mut self, term: u32, field: u8) {
        let field = usize::from(field);
        match self.pos.get(term as usize) {
            Some(0) => self.push(term, field),
            Some(&p) => {
                if let Some(tf) = self
                    .entries
                    .get_mut(p as usize - 1)
                    .and_then(|e| e.1.get_mut(field))
                {
                    *tf = tf.saturating_add(1);
                }
            }
            None => self.grow_and_push(term, field),
        }
    }

    /// The first occurrence of `term` in this document.
    fn push(&mut self, term: u32, field: usize) {
        let mut tf = [0u8; NFIELDS];
        if let Some(x) = tf.get_mut(field) {
            *x = 1;
        }
        self.entries.push((term, tf));
        if let Some(p) = self.pos.get_mut(term as usize) {
            *p = self.entries.len() as u32;
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_and_push(&mut self, term: u32, field: usize) {
        self.pos.resize(term as usize + 1, 0);
        self.push(term, field);
    }

    fn clear(&mut self) {
        for &(t, _) in &self.entries {
            self.pos[t as usize] = 0;
        }
        self.entries.clear();
    }
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

/// Term dictionary.
#[derive(Debug, Default)]
struct Vocab {
    /// Term (UTF-8 bytes) → id.
    terms: FxMap<Box<[u8]>, u32>,
    /// Lower-cased word → its term id (`None` for stop words), so each word is stemmed once.
    /// Words of up to [`ShortKey::MAX`] bytes are keyed inline: looking one up then compares
    /// a few machine words instead of chasing a pointer to the key's bytes (the hottest path
    /// of indexing).
    short_words: FxMap<ShortKey, Option<u32>>,
    long_words: FxMap<Box<[u8]>, Option<u32>>,
    /// Direct-mapped cache in front of `short_words` for the most frequent words: one
    /// L2-resident slot per hash bucket, so common words cost one cache line, not a probe of
    /// the whole (megabytes-large) map. Empty slots hold a zero key, which no word has.
    recent: Box<[(ShortKey, Option<u32>)]>,
}

/// Slots of [`Vocab::recent`] (a power of two); 4,096 × 32 bytes = 128 KiB.
const RECENT_SLOTS: usize = 4096;

/// A word of at most [`ShortKey::MAX`] bytes stored inline as three little-endian words:
/// bytes, zero padding, length in the last byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ShortKey([u64; 3]);

impl ShortKey {
    const MAX: usize = 23;

    fn new(b: &[u8]) -> Option<Self> {
        let len = (b.len() as u64) << 56;
        match b.len() {
            0..=8 => Some(Self([load_le(b), 0, len])),
            9..=16 => {
                let (w0, w1) = b.split_at(8);
                Some(Self([load_le(w0), load_le(w1), len]))
            }
            17..=Self::MAX => {
                let (w0, rest) = b.split_at(8);
                let (w1, w2) = rest.split_at(8);
                Some(Self([load_le(w0), load_le(w1), load_le(w2) | len]))
            }
            _ => None,
        }
    }
}

/// Up to 8 bytes as a little-endian word, zero-padded, without a variable-length `memcpy`
/// (this runs once per indexed word): 4 to 8 bytes are two overlapping 4-byte reads, 1 to 3
/// bytes the first, middle and last byte (overlapping reads carry the same bytes to the
/// same places, so OR-ing them is exact).
fn load_le(c: &[u8]) -> u64 {
    let n = c.len();
    if let (Some(lo), Some(hi)) = (c.first_chunk::<4>(), c.last_chunk::<4>()) {
        let (lo, hi) = (u32::from_le_bytes(*lo), u32::from_le_bytes(*hi));
        return u64::from(lo) | u64::from(hi) << ((n - 4) * 8);
    }
    match (c.first(), c.get(n / 2), c.last()) {
        (Some(&a), Some(&m), Some(&z)) => {
            u64::from(a) | u64::from(m) << (n / 2 * 8) | u64::from(z) << ((n - 1) * 8)
        }
        _ => 0,
    }
}

impl ShortKey {
    /// Slot in [`Vocab::recent`].
    fn slot(&self) -> usize {
        let h = (self.0[0] ^ self.0[1].rotate_left(21) ^ self.0[2].rotate_left(42))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (h >> 52) as usize & (RECENT_SLOTS - 1)
    }
}

impl std::hash::Hash for ShortKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for w in self.0 {
            state.write_u64(w);
        }
    }
}

impl Vocab {
    /// The term id of a lower-cased word (UTF-8 bytes), `None` for a stop word.
    fn word_term(&mut self, tokenizer: &Tokenizer, word: &[u8]) -> Option<u32> {
        let Some(k) = ShortKey::new(word) else {
            return self.word_term_slow(tokenizer, word, None);
        };
        if self.recent.is_empty() {
            self.recent = vec![(ShortKey([0; 3]), None); RECENT_SLOTS].into_boxed_slice();
        }
        let i = k.slot();
        if let Some((rk, rt)) = self.recent.get(i) {
            if *rk == k {
                return *rt;
            }
        }
        let term = self.word_term_slow(tokenizer, word, Some(k));
        if let Some(slot) = self.recent.get_mut(i) {
            *slot = (k, term);
        }
        term
    }

    #[cold]
    fn word_term_slow(
        &mut self,
        tokenizer: &Tokenizer,
        word: &[u8],
        short: Option<ShortKey>,
    ) -> Option<u32> {
        let cached = match &short {
            Some(k) => self.short_words.get(k),
            None => self.long_words.get(word),
        };
        if let Some(&t) = cached {
            return t;
        }
        let term = tokenizer
            .word_term(utf8(word))
            .map(|stem| self.intern(stem.as_bytes()));
        match short {
            Some(k) => self.short_words.insert(k, term),
            None => self.long_words.insert(word.into(), term),
        };
        term
    }

    fn intern(&mut self, term: &[u8]) -> u32 {
        if let Some(&t) = self.terms.get(term) {
            return t;
        }
        let id = self.terms.len() as u32;
        self.terms.insert(term.into(), id);
        id
    }
}

/// The (server, name) key of a tool; the server's length comes first, so no two pairs share
/// a key whatever characters the names contain.
fn key_of(server: &str, name: &str) -> String {
    // Built by hand: `format!` costs more than the rest of a small tool's indexing.
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = server.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut key = String::with_capacity(digits.len() - i + 1 + server.len() + name.len());
    key.extend(digits[i..].iter().map(|&d| char::from(d)));
    key.push(':');
    key.push_str(server);
    key.push_str(name);
    key
}

impl Index {
    /// An empty index with the default [`Bm25Config`].
    pub fn new() -> Self {
        Self::with_config(Bm25Config::default())
    }

    /// An empty index with the given BM25F parameters.
    pub fn with_config(config: Bm25Config) -> Self {
        let tokenizer = Tokenizer::new();
        Self {
            thesaurus: Thesaurus::new(&tokenizer),
            tokenizer,
            fields: config.fields(),
            k1: config.k1,
            expansion_weight: config.expansion_weight,
            vocab: Vocab::default(),
            postings: Vec::new(),
            docs: Vec::new(),
            lens: Vec::new(),
            free: Vec::new(),
            by_key: FxMap::default(),
            live: 0,
            total_len: [0; NFIELDS],
            scratch: DocTerms::default(),
        }
    }

    /// Builds an index from tools, in order.
    ///
    /// The same index as [`Index::add`] of each tool in turn, built faster: postings are
    /// collected first and then moved into lists allocated at their final size, instead of
    /// growing every list (and copying it) as tools arrive.
    pub fn from_docs(docs: impl IntoIterator<Item = ToolDoc>) -> Result<Self, SearchError> {
        let mut index = Self::new();
        let mut staged = Vec::new();
        for doc in docs {
            index.add_inner(doc, Some(&mut staged))?;
        }
        index.flush_postings(&mut staged);
        Ok(index)
    }

    /// Appends staged `(term, posting)` pairs to their lists, in order, each list grown once
    /// to exactly the size it needs.
    fn flush_postings(&mut self, staged: &mut Vec<(u32, Posting)>) {
        let mut extra = vec![0u32; self.postings.len()];
        for &(term, _) in staged.iter() {
            if let Some(n) = extra.get_mut(term as usize) {
                *n += 1;
            }
        }
        for (list, &n) in self.postings.iter_mut().zip(&extra) {
            list.reserve_exact(n as usize);
        }
        for (term, posting) in staged.drain(..) {
            if let Some(list) = self.postings.get_mut(term as usize) {
                list.push(posting);
            }
        }
    }

    /// Number of tools in the index.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the index holds no tools.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The id of the tool `name` of `server`, if indexed.
    pub fn id_of(&self, server: &str, name: &str) -> Option<ToolId> {
        self.by_key
            .get(key_of(server, name).as_str())
            .map(|&i| ToolId(i))
    }

    /// (server, name) of a tool, if `id` is live.
    pub fn tool(&self, id: ToolId) -> Option<(&str, &str)> {
        let doc = self.docs.get(id.0 as usize)?.as_ref()?;
        Some((&doc.server, &doc.name))
    }

    /// Ids of all live tools, in slot order.
    pub fn ids(&self) -> impl Iterator<Item = ToolId> + '_ {
        self.docs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_some())
            .map(|(i, _)| ToolId(i as u32))
    }

    fn tokenize_field(&mut self, text: &str, field: u8, len: &mut u16) {
        let Self {
            tokenizer,
            vocab,
            scratch,
            ..
        } = self;
        for_each_raw_token(text, &mut |tok| {
            let term = match tok {
                RawToken::Word(w) => vocab.word_term(tokenizer, w),
                RawToken::Ident(i) => Some(vocab.intern(i)),
            };
            if let Some(t) = term {
                scratch.add(t, field);
                *len = len.saturating_add(1);
            }
        });
    }

    /// Adds a tool, replacing any tool with the same (server, name). Returns its id.
    pub fn add(&mut self, doc: ToolDoc) -> Result<ToolId, SearchError> {
        self.add_inner(doc, None)
    }

    /// [`Index::add`]; with `staged`, new postings are pushed there for
    /// [`Index::flush_postings`] rather than to their lists.
    fn add_inner(
        &mut self,
        doc: ToolDoc,
        mut staged: Option<&mut Vec<(u32, Posting)>>,
    ) -> Result<ToolId, SearchError> {
        let key = key_of(&doc.server, &doc.name);
        if let Some(&old) = self.by_key.get(key.as_str()) {
            // Removal edits the old tool's posting lists, so they must be complete first.
            if let Some(staged) = staged.as_deref_mut() {
                self.flush_postings(staged);
            }
            self.remove_slot(old);
        }
        if self.live >= MAX_TOOLS {
            return Err(SearchError::IndexFull { limit: MAX_TOOLS });
        }
        self.scratch.clear();
        let mut len = [0u16; NFIELDS];
        let [l_name, l_title, l_desc, l_pname, l_pdesc, l_ann, l_server] = &mut len;
        self.tokenize_field(&doc.name, 0, l_name);
        self.tokenize_field(&doc.title, 1, l_title);
        self.tokenize_field(&doc.description, 2, l_desc);
        for p in &doc.params {
            self.tokenize_field(&p.name, 3, l_pname);
            self.tokenize_field(&p.description, 4, l_pdesc);
        }
        self.tokenize_field(&doc.annotations, 5, l_ann);
        self.tokenize_field(&doc.server, 6, l_server);

        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.docs.push(None);
                self.lens.push([0; NFIELDS]);
                (self.docs.len() - 1) as u32
            }
        };
        let mut terms = Vec::with_capacity(self.scratch.entries.len());
        for &(term, tf) in &self.scratch.entries {
            if term as usize >= self.postings.len() {
                self.postings.resize_with(term as usize + 1, Vec::new);
            }
            let posting = Posting { doc: slot, tf };
            match staged.as_deref_mut() {
                Some(staged) => staged.push((term, posting)),
                None => self.postings[term as usize].push(posting),
            }
            terms.push(term);
        }
        self.scratch.clear();

        for (total, &l) in self.total_len.iter_mut().zip(&len) {
            *total += u64::from(l);
        }
        self.lens[slot as usize] = len;
        self.docs[slot as usize] = Some(Doc {
            server: doc.server.into(),
            name: doc.name.into(),
            title: doc.title.into(),
            description: doc.description.into(),
            params: doc
                .params
                .into_iter()
                .map(|p| (p.name.into(), p.description.into()))
                .collect(),
            terms: terms.into(),
        });
        self.by_key.insert(key.into(), slot);
        self.live += 1;
        Ok(ToolId(slot))
    }

    /// Removes the tool `name` of `server`. Returns whether it was there.
    pub fn remove(&mut self, server: &str, name: &str) -> bool {
        match self.by_key.get(key_of(server, name).as_str()) {
            Some(&slot) => {
                self.remove_slot(slot);
                true
            }
            None => false,
        }
    }

    /// Removes every tool of `server`; returns how many were removed.
    pub fn remove_server(&mut self, server: &str) -> usize {
        let slots: Vec<u32> = self
            .docs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.as_ref().is_some_and(|d| &*d.server == server))
            .map(|(i, _)| i as u32)
            .collect();
        for &s in &slots {
            self.remove_slot(s);
        }
        slots.len()
    }

    fn remove_slot(&mut self, slot: u32) {
        let Some(doc) = self.docs.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        for &t in doc.terms.iter() {
            let list = &mut self.postings[t as usize];
            if let Some(pos) = list.iter().position(|p| p.doc == slot) {
                list.swap_remove(pos);
            }
        }
        let len = std::mem::take(&mut self.lens[slot as usize]);
        for (total, &l) in self.total_len.iter_mut().zip(&len) {
            *total -= u64::from(l);
        }
        self.by_key.remove(key_of(&doc.server, &doc.name).as_str());
        self.free.push(slot);
        self.live -= 1;
    }

    /// Validates a query's size; returns it trimmed.
    pub(crate) fn check_query(query: &str) -> Result<&str, SearchError> {
        if query.len() > MAX_QUERY_BYTES {
            return Err(SearchError::QueryTooLong {
                len: query.len(),
                limit: MAX_QUERY_BYTES,
            });
        }
        let q = query.trim();
        if q.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        Ok(q)
    }

    /// Distinct terms of a query that occur in the index, with their weights: 1 for the
    /// query's own terms, [`Bm25Config::expansion_weight`] for thesaurus expansions. Fails if
    /// the query has no searchable term at all, or too many distinct ones (known or not).
    pub(crate) fn query_terms(&self, query: &str) -> Result<Vec<(u32, f32)>, SearchError> {
        let mut own: Vec<String> = Vec::new();
        self.tokenizer.for_each_token(query, |tok| {
            let term = match tok {
                Token::Word(w) => self.tokenizer.word_term(w).map(|t| t.into_owned()),
                Token::Ident(i) => Some(i.to_owned()),
            };
            if let Some(t) = term.filter(|t| !own.contains(t)) {
                own.push(t);
            }
        });
        if own.is_empty() {
            return Err(SearchError::NoSearchableTerms);
        }
        if own.len() > MAX_QUERY_TERMS {
            return Err(SearchError::TooManyTerms {
                count: own.len(),
                limit: MAX_QUERY_TERMS,
            });
        }
        let mut weighted: Vec<(u32, f32)> = Vec::new();
        let mut put = |term: &str, w: f32| {
            if let Some(&id) = self.vocab.terms.get(term.as_bytes()) {
                match weighted.iter_mut().find(|(i, _)| *i == id) {
                    Some(slot) => slot.1 = slot.1.max(w),
                    None => weighted.push((id, w)),
                }
            }
        };
        for t in &own {
            put(t, 1.0);
        }
        if self.expansion_weight > 0.0 {
            for t in &own {
                for e in self.thesaurus.expand(t) {
                    put(e, self.expansion_weight);
                }
            }
        }
        Ok(weighted)
    }

    /// Ranks tools for a natural-language query by BM25F; returns at most `top` hits
    /// (and at most [`MAX_RESULTS`]), best first, ties in index order. Tools that share no
    /// term with the query are not returned.
    ///
    /// Errors: [`SearchError::EmptyQuery`], [`SearchError::QueryTooLong`],
    /// [`SearchError::NoSearchableTerms`], [`SearchError::TooManyTerms`].
    pub fn search(&self, query: &str, top: usize) -> Result<Vec<Hit<'_>>, SearchError> {
        let query = Self::check_query(query)?;
        let terms = self.query_terms(query)?;
        let mut acc = vec![0f32; self.docs.len()];
        let mut touched: Vec<u32> = Vec::new();
        let n = self.live as f32;
        let mut avg = [1f32; NFIELDS];
        for (a, &t) in avg.iter_mut().zip(&self.total_len) {
            if t > 0 && self.live > 0 {
                *a = t as f32 / n;
            }
        }
        // Per-field constants: tf~ contribution = tf · w / (c0 + c1 · len).
        let mut c0 = [0f32; NFIELDS];
        let mut c1 = [0f32; NFIELDS];
        for f in 0..NFIELDS {
            c0[f] = 1.0 - self.fields[f].b;
            c1[f] = self.fields[f].b / avg[f];
        }
        for (term, weight) in terms {
            let Some(list) = self.postings.get(term as usize) else {
                continue;
            };
            if list.is_empty() {
                continue;
            }
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for p in list {
                let lens = &self.lens[p.doc as usize];
                let mut tfn = 0f32;
                for f in 0..NFIELDS {
                    if p.tf[f] != 0 {
                        tfn += f32::from(p.tf[f]) * self.fields[f].weight
                            / (c0[f] + c1[f] * f32::from(lens[f]));
                    }
                }
                let s = weight * idf * tfn / (self.k1 + tfn);
                let slot = &mut acc[p.doc as usize];
                if *slot == 0.0 {
                    touched.push(p.doc);
                }
                *slot += s;
            }
        }
        let scored = touched.into_iter().map(|d| (d, acc[d as usize]));
        Ok(self.top_hits(scored, top))
    }

    /// The best `top` of `(slot, score)` pairs as hits, best first, ties by slot.
    pub(crate) fn top_hits(
        &self,
        scored: impl Iterator<Item = (u32, f32)>,
        top: usize,
    ) -> Vec<Hit<'_>> {
        let top = top.min(MAX_RESULTS);
        let mut all: Vec<(u32, f32)> = scored.filter(|&(_, s)| s > 0.0).collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if all.len() > top && top > 0 {
            all.select_nth_unstable_by(top - 1, order);
        }
        all.truncate(top);
        all.sort_unstable_by(order);
        all.into_iter()
            .filter_map(|(slot, score)| {
                let doc = self.docs.get(slot as usize)?.as_ref()?;
                Some(Hit {
                    id: ToolId(slot),
                    server: &doc.server,
                    name: &doc.name,
                    score,
                })
            })
            .collect()
    }

    /// Estimated heap bytes held by the index, from the capacities of its vectors, maps and
    /// strings. Allocator overhead and the stemmer's static tables are not counted.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let map_entry = |k: usize, v: usize| k + v + 1;
        let mut n = 0;
        n += self.vocab.terms.capacity() * map_entry(size_of::<Box<[u8]>>(), 4);
        n += self.vocab.terms.keys().map(|k| k.len()).sum::<usize>();
        n += self.vocab.short_words.capacity() * map_entry(size_of::<ShortKey>(), 8);
        n += self.vocab.recent.len() * size_of::<(ShortKey, Option<u32>)>();
        n += self.vocab.long_words.capacity() * map_entry(size_of::<Box<[u8]>>(), 8);
        n += self.vocab.long_words.keys().map(|k| k.len()).sum::<usize>();
        n += self.postings.capacity() * size_of::<Vec<Posting>>();
        n += self
            .postings
            .iter()
            .map(|p| p.capacity() * size_of::<Posting>())
            .sum::<usize>();
        n += self.docs.capacity() * size_of::<Option<Doc>>();
        for d in self.docs.iter().flatten() {
            n += d.server.len() + d.name.len() + d.title.len() + d.description.len();
            n += d.terms.len() * 4;
            n += d.params.len() * size_of::<(Box<str>, Box<str>)>();
            n += d
                .params
                .iter()
                .map(|(a, b)| a.len() + b.len())
                .sum::<usize>();
        }
        n += self.lens.capacity() * size_of::<[u16; NFIELDS]>();
        n += self.free.capacity() * 4;
        n += self.by_key.capacity() * map_entry(size_of::<Box<str>>(), 4);
        n += self.by_key.keys().map(|k| k.len()).sum::<usize>();
        n += self.scratch.pos.capacity() * 4;
        n += self.scratch.entries.capacity() * size_of::<(u32, [u8; NFIELDS])>();
        n += self.thesaurus.heap_bytes();
        n
    }
}

#[cfg(test)]
mod tests;
