//! Hard limits on untrusted input, and the parser's options.

/// Default maximum nesting of objects and arrays.
///
/// Reason: serde_json refuses a 128th level of nesting (its recursion
/// limit), so stopping at 127 means anything this parser accepts can also be
/// handed to serde_json; it also bounds the path stack that events borrow.
pub const DEFAULT_MAX_DEPTH: usize = 127;

/// Default maximum length in bytes of one decoded string, key or number.
///
/// Reason: a single tool argument (a file body, a patch) is rarely above a few
/// MiB; 16 MiB leaves room while stopping one unterminated string from
/// growing a key or number buffer without bound.
pub const DEFAULT_MAX_STRING_LEN: usize = 16 * 1024 * 1024;

/// Default maximum total input in bytes.
///
/// Reason: model output is capped by its token budget (well under 64 MiB even
/// for 1M-token models); a stream that goes past this is misbehaving, and the
/// snapshot buffer grows with the input.
pub const DEFAULT_MAX_TOTAL_LEN: u64 = 64 * 1024 * 1024;

/// Limits on the input; crossing one is an [`crate::Error::Limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum nesting of objects and arrays ([`DEFAULT_MAX_DEPTH`]).
    pub max_depth: usize,
    /// Maximum decoded bytes in one string, key or number
    /// ([`DEFAULT_MAX_STRING_LEN`]).
    pub max_string_len: usize,
    /// Maximum total input bytes ([`DEFAULT_MAX_TOTAL_LEN`]).
    pub max_total_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: DEFAULT_MAX_DEPTH,
            max_string_len: DEFAULT_MAX_STRING_LEN,
            max_total_len: DEFAULT_MAX_TOTAL_LEN,
        }
    }
}

/// How a [`crate::Parser`] is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Input limits.
    pub limits: Limits,
    /// Keep the partial-value snapshot up to date (on by default). Turning it
    /// off saves one copy of the input; [`crate::Parser::snapshot`] then
    /// returns `None`.
    pub snapshot: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            snapshot: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_named_constants() {
        let o = Options::default();
        assert!(o.snapshot);
        assert_eq!(o.limits.max_depth, DEFAULT_MAX_DEPTH);
        assert_eq!(o.limits.max_string_len, DEFAULT_MAX_STRING_LEN);
        assert_eq!(o.limits.max_total_len, DEFAULT_MAX_TOTAL_LEN);
    }
}
