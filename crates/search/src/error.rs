//! The one error type of this crate.

use thiserror::Error;

/// Everything that can go wrong in `switchyard-search`.
///
/// Variants are grouped by whose fault they are: the query or pattern a caller passed
/// (`EmptyQuery` … `UnsupportedRegex`), the tool definitions being indexed
/// (`InvalidTool`, `InvalidCatalog`), the embedding backend (`Embedding`).
/// The `Display` text is for people; match on the variant, not on the text.
#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum SearchError {
    /// The query was empty or only whitespace.
    #[error("query is empty")]
    EmptyQuery,
    /// The query is longer than [`crate::limits::MAX_QUERY_BYTES`].
    #[error("query is {len} bytes, longer than the limit of {limit} bytes")]
    QueryTooLong {
        /// Length of the query in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The query has more distinct terms than [`crate::limits::MAX_QUERY_TERMS`].
    #[error("query has {count} distinct terms, more than the limit of {limit}")]
    TooManyTerms {
        /// Number of distinct terms in the query.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The query has no word or identifier that can be searched for (only punctuation,
    /// symbols or stop words such as "the").
    #[error("query has no searchable words (only punctuation, symbols or stop words)")]
    NoSearchableTerms,
    /// The regex pattern is longer than [`crate::limits::MAX_PATTERN_CHARS`] characters.
    #[error("pattern is {len} characters, longer than the limit of {limit}")]
    PatternTooLong {
        /// Length of the pattern in characters.
        len: usize,
        /// The limit in characters.
        limit: usize,
    },
    /// The regex pattern is not valid Python `re` syntax (or the `regex` crate rejects it).
    #[error("invalid pattern: {reason}")]
    InvalidPattern {
        /// What is wrong, from the translator or the `regex` crate.
        reason: String,
    },
    /// The pattern uses a Python `re` feature that cannot run in linear time
    /// (backreferences, lookaround, atomic groups, possessive quantifiers, conditionals).
    #[error("pattern uses {feature}, which is not supported (linear-time regex only)")]
    UnsupportedRegex {
        /// The feature, in words.
        feature: &'static str,
    },
    /// A tool definition is malformed (for example it has no `name`).
    #[error("invalid tool definition: {reason}")]
    InvalidTool {
        /// What is wrong.
        reason: String,
    },
    /// The index already holds [`crate::limits::MAX_TOOLS`] tools.
    #[error("index is full: it holds the limit of {limit} tools")]
    IndexFull {
        /// The limit.
        limit: usize,
    },
    /// A catalog document is malformed.
    #[error("invalid catalog: {reason}")]
    InvalidCatalog {
        /// What is wrong.
        reason: String,
    },
    /// The embedding backend failed or returned vectors that do not fit.
    #[error("embedding failed: {0}")]
    Embedding(#[from] crate::hybrid::EmbedError),
}

impl SearchError {
    /// The `error_code` of a Claude API `tool_search_tool_result_error` for this error, from
    /// the SDK's enum (`invalid_tool_input | unavailable | too_many_requests |
    /// execution_time_exceeded`): a query or pattern the caller can fix is
    /// `invalid_tool_input`; everything else is `unavailable`. The one place that maps
    /// search errors to that wire code.
    pub fn tool_search_error_code(&self) -> &'static str {
        match self {
            Self::EmptyQuery
            | Self::QueryTooLong { .. }
            | Self::TooManyTerms { .. }
            | Self::NoSearchableTerms
            | Self::PatternTooLong { .. }
            | Self::InvalidPattern { .. }
            | Self::UnsupportedRegex { .. } => "invalid_tool_input",
            Self::InvalidTool { .. }
            | Self::IndexFull { .. }
            | Self::InvalidCatalog { .. }
            | Self::Embedding(_) => "unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_fixable_errors_map_to_invalid_tool_input() {
        assert_eq!(
            SearchError::EmptyQuery.tool_search_error_code(),
            "invalid_tool_input"
        );
        let long = SearchError::PatternTooLong {
            len: 201,
            limit: 200,
        };
        assert_eq!(long.tool_search_error_code(), "invalid_tool_input");
        let unsupported = SearchError::UnsupportedRegex {
            feature: "lookaround",
        };
        assert_eq!(unsupported.tool_search_error_code(), "invalid_tool_input");
        let down = SearchError::Embedding(crate::EmbedError::Unavailable("x".into()));
        assert_eq!(down.tool_search_error_code(), "unavailable");
    }
}
