//! Hard limits, each with the reason it exists. Every limit has a test named after it.

/// Longest query accepted by [`crate::Index::search`], in bytes.
///
/// A query is one user task or one model-written search request; 4 KiB is several paragraphs.
/// Past that the caller is almost certainly pasting a document, and every extra term costs a
/// posting-list walk, so a cap keeps one request from costing milliseconds of CPU.
pub const MAX_QUERY_BYTES: usize = 4096;

/// Most distinct terms a BM25 query may have after tokenizing.
///
/// Each term walks one posting list (up to one entry per tool). 64 terms is far beyond any
/// natural request and bounds the worst case to 64 list walks.
pub const MAX_QUERY_TERMS: usize = 64;

/// Longest regex pattern, in characters (Unicode scalar values), as in the Claude API's
/// `tool_search_tool_regex` (docs: "maximum 200 characters").
pub const MAX_PATTERN_CHARS: usize = 200;

/// Size limit for a compiled regex program, in bytes (passed to `RegexBuilder::size_limit`).
///
/// 200 characters can still describe a huge automaton (`\w{100}{100}`); the `regex` crate
/// guarantees linear time in the haystack but the program size is bounded only by this.
pub const MAX_REGEX_PROGRAM_BYTES: usize = 1 << 20;

/// Most results a search returns, whatever `top` the caller asks for.
///
/// The tool search contract is "the few that fit" (Claude returns 3–5); 100 leaves room for
/// evaluation at @10 and for fusion, and bounds the result allocation.
pub const MAX_RESULTS: usize = 100;

/// Longest token kept by the tokenizer, in bytes. Longer runs (base64, hashes, URLs glued
/// together) carry no search value and would bloat the term dictionary.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Deepest JSON Schema nesting walked for parameter names and descriptions.
///
/// Schemas from upstream servers are untrusted; a self-nested or absurdly deep schema must not
/// cost unbounded work or stack. Real tool schemas rarely nest more than 3 levels.
pub const MAX_SCHEMA_DEPTH: usize = 6;

/// Most parameters (schema properties, at all depths) indexed per tool.
///
/// Bounds the work and memory one hostile tool definition can cause.
pub const MAX_PARAMS_PER_TOOL: usize = 256;

/// Longest text indexed per field of one tool, in bytes; the rest is cut at a char boundary.
///
/// Some servers put whole manuals in descriptions. 16 KiB keeps the useful start and bounds
/// the memory one tool can take.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// Most tools an index holds. The Claude API's tool search supports catalogs of up to 10,000
/// tools; we allow ten times that and refuse beyond, so memory stays bounded.
pub const MAX_TOOLS: usize = 100_000;
