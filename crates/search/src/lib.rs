//! Tool search: finds the few MCP tools that fit a request among thousands, by BM25F over
//! tool definitions, by Python-style regex, or by BM25F fused with embeddings. No I/O.
//!
//! ```
//! use switchyard_search::{Catalog, Index};
//!
//! let catalog = Catalog::from_json(r#"{"servers": [
//!   {"name": "git", "tools": [
//!     {"name": "git_log", "description": "Shows the commit logs",
//!      "inputSchema": {"type": "object", "properties": {"repo_path": {"type": "string"}}}},
//!     {"name": "git_diff_staged", "description": "Shows changes that are staged for commit"}]},
//!   {"name": "weather", "tools": [
//!     {"name": "get_forecast", "description": "Get the weather forecast for a location"}]}
//! ]}"#)?;
//! let index = Index::from_docs(catalog.tool_docs()?)?;
//!
//! let hits = index.search("what will the weather be like tomorrow", 5)?;
//! assert_eq!(hits[0].name, "get_forecast");
//!
//! let hits = index.search_regex(r"(?i)^git_.*(log|diff)", 5)?;
//! assert_eq!(hits.len(), 2);
//! # Ok::<(), switchyard_search::SearchError>(())
//! ```
//!
//! | mode | entry point | what it does |
//! |---|---|---|
//! | BM25F | [`Index::search`] | natural-language query, per-field weights ([`Bm25Config`]) |
//! | regex | [`Index::search_regex`] | Python `re.search` syntax, as the Claude API's regex tool search |
//! | hybrid | [`Index::search_hybrid`] | BM25F + embeddings from an [`Embedder`], by reciprocal rank fusion |
//!
//! BM25F tokenizes names and text alike: snake_case, camelCase, kebab-case and dotted names
//! are split into words (and also kept whole as identifiers), case is folded and English words
//! are stemmed. At query time a small thesaurus adds the words tool authors use for the words
//! users say ("folder" → "directory", "PR" → "pull request") at a reduced weight
//! ([`Bm25Config::expansion_weight`]; 0 turns it off). Tools can be added and removed one at a
//! time ([`Index::add`], [`Index::remove`], [`Index::remove_server`]).
//!
//! The crate has no Cargo features. Limits on queries, patterns and indexed tools are in
//! [`limits`]; every failure is a [`SearchError`], and
//! [`SearchError::tool_search_error_code`] gives the Claude API `error_code` for it.

mod error;
pub mod hybrid;
mod index;
pub mod limits;
mod regex_mode;
mod thesaurus;
mod tokenize;
mod tool;

pub use error::SearchError;
pub use hybrid::{DocVectors, EmbedError, Embedder, MemoryVectorCache, VectorCache, VectorKey};
pub use index::{Bm25Config, FieldParams, Hit, Index, ToolId};
pub use regex_mode::{ToolPattern, MAX_MATCHES_PER_FIELD};
pub use tokenize::{is_stop_word, Token, Tokenizer};
pub use tool::{Catalog, CatalogServer, Param, ToolDoc};
