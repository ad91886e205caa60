//! Typed errors, grouped by whose fault they are.

use std::fmt;

/// Why the parser stopped. Every variant carries the absolute byte offset
/// (counted from the first byte ever fed) of the byte that was rejected.
///
/// Truncated input is not an error: [`crate::Parser::finish`] reports it as
/// [`crate::Completion::Truncated`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not JSON (malformed input).
    #[error("invalid JSON at byte {offset}: {kind}")]
    Syntax {
        /// Absolute offset of the offending byte.
        offset: u64,
        /// What was wrong.
        kind: SyntaxError,
    },
    /// The input is JSON but breaks one of the configured [`crate::Limits`].
    #[error("limit exceeded at byte {offset}: {limit}")]
    Limit {
        /// Absolute offset of the byte that crossed the limit.
        offset: u64,
        /// Which limit.
        limit: LimitExceeded,
    },
}

impl Error {
    /// Absolute byte offset at which the input was rejected.
    #[must_use]
    pub fn offset(&self) -> u64 {
        match self {
            Error::Syntax { offset, .. } | Error::Limit { offset, .. } => *offset,
        }
    }
}

/// The ways in which input can fail to be JSON (RFC 8259).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxError {
    /// A byte that cannot start or continue anything at this point.
    UnexpectedByte {
        /// The byte that was seen.
        byte: u8,
        /// What the grammar allowed here.
        expected: Expected,
    },
    /// A backslash followed by something other than `"\/bfnrtu`.
    InvalidEscape,
    /// `\u` followed by something other than four hex digits.
    InvalidUnicodeEscape,
    /// A `\uD800`–`\uDFFF` escape that is not part of a surrogate pair.
    LoneSurrogate,
    /// String bytes that are not UTF-8.
    InvalidUtf8,
    /// A raw byte below 0x20 inside a string.
    ControlCharacterInString,
    /// A number that breaks the JSON number grammar (`01`, `1.`, `-`, `1e`).
    InvalidNumber,
    /// A misspelled `true`, `false` or `null`.
    InvalidLiteral,
    /// Non-whitespace after the single top-level value.
    TrailingCharacters,
}

/// What the grammar allowed where an unexpected byte was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// Any JSON value.
    Value,
    /// A value or `]`.
    ValueOrArrayEnd,
    /// A key (`"`) or `}`.
    KeyOrObjectEnd,
    /// A key (`"`).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or `]`.
    CommaOrArrayEnd,
    /// `,` or `}`.
    CommaOrObjectEnd,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Value => "a value",
            Expected::ValueOrArrayEnd => "a value or `]`",
            Expected::KeyOrObjectEnd => "a key or `}`",
            Expected::Key => "a key",
            Expected::Colon => "`:`",
            Expected::CommaOrArrayEnd => "`,` or `]`",
            Expected::CommaOrObjectEnd => "`,` or `}`",
        })
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyntaxError::UnexpectedByte { byte, expected } => {
                write!(
                    f,
                    "unexpected byte {:?}, expected {expected}",
                    char::from(*byte)
                )
            }
            SyntaxError::InvalidEscape => f.write_str("invalid escape sequence"),
            SyntaxError::InvalidUnicodeEscape => f.write_str("invalid \\u escape"),
            SyntaxError::LoneSurrogate => f.write_str("unpaired UTF-16 surrogate escape"),
            SyntaxError::InvalidUtf8 => f.write_str("invalid UTF-8 in string"),
            SyntaxError::ControlCharacterInString => {
                f.write_str("control character in string must be escaped")
            }
            SyntaxError::InvalidNumber => f.write_str("invalid number"),
            SyntaxError::InvalidLiteral => f.write_str("invalid literal"),
            SyntaxError::TrailingCharacters => f.write_str("trailing characters after the value"),
        }
    }
}

/// Which of the configured [`crate::Limits`] was crossed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitExceeded {
    /// More nested objects and arrays than [`crate::Limits::max_depth`].
    Depth(usize),
    /// A string, key or number longer than [`crate::Limits::max_string_len`] bytes.
    StringLength(usize),
    /// More input than [`crate::Limits::max_total_len`] bytes.
    TotalSize(u64),
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitExceeded::Depth(n) => write!(f, "nesting deeper than {n}"),
            LimitExceeded::StringLength(n) => write!(f, "string longer than {n} bytes"),
            LimitExceeded::TotalSize(n) => write!(f, "input larger than {n} bytes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_names_offset_and_cause() {
        let e = Error::Syntax {
            offset: 7,
            kind: SyntaxError::UnexpectedByte {
                byte: b'x',
                expected: Expected::Colon,
            },
        };
        assert_eq!(e.offset(), 7);
        assert_eq!(
            e.to_string(),
            "invalid JSON at byte 7: unexpected byte 'x', expected `:`"
        );
        let l = Error::Limit {
            offset: 3,
            limit: LimitExceeded::Depth(2),
        };
        assert_eq!(
            l.to_string(),
            "limit exceeded at byte 3: nesting deeper than 2"
        );
    }
}
