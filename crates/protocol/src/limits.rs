//! Structural checks that run on raw bytes before any deserialisation.

use crate::ProtocolError;

/// Default maximum JSON nesting depth. Deeply nested input costs stack in recursive parsers and
/// no real MCP message needs more than a few dozen levels.
pub const DEFAULT_MAX_DEPTH: usize = 64;

/// Checks that `bytes` never nests arrays/objects deeper than `max_depth`, without parsing.
///
/// Strings are skipped (brackets inside them do not count). Malformed JSON is left for the real
/// parser to report; this only rejects depth.
pub fn check_depth(bytes: &[u8], max_depth: usize) -> Result<(), ProtocolError> {
    // Nesting can never exceed the number of opening brackets, and counting them is one
    // vectorised pass: the byte-by-byte scan below runs only for bodies with many brackets.
    if count_open_brackets(bytes) <= max_depth {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ProtocolError::TooDeep { limit: max_depth });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// How many `{` and `[` bytes `bytes` holds, strings included.
fn count_open_brackets(bytes: &[u8]) -> usize {
    // Byte-wide counters over chunks of at most 255 bytes cannot overflow, and let the
    // compiler count 16 or 32 bytes per instruction.
    bytes
        .chunks(255)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u8, |n, &b| n + u8::from(b == b'{' || b == b'['))
        })
        .map(usize::from)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_limit_rejects_deep_nesting() {
        let deep = "[".repeat(65) + &"]".repeat(65);
        assert!(matches!(
            check_depth(deep.as_bytes(), 64),
            Err(ProtocolError::TooDeep { limit: 64 })
        ));
        let ok = "[".repeat(64) + &"]".repeat(64);
        assert!(check_depth(ok.as_bytes(), 64).is_ok());
    }

    #[test]
    fn brackets_are_counted_across_chunks() {
        let s = format!("{}{}", "[a".repeat(300), "{".repeat(300));
        assert_eq!(count_open_brackets(s.as_bytes()), 600);
        assert_eq!(count_open_brackets(b""), 0);
    }

    #[test]
    fn many_brackets_fall_back_to_the_exact_scan() {
        // More brackets than the limit, but siblings, not nested: allowed.
        let wide = format!("[{}]", vec!["[]"; 100].join(","));
        assert!(check_depth(wide.as_bytes(), 4).is_ok());
        let deep = format!("[{}{}]", "{\"a\":".repeat(4), "}".repeat(4));
        assert!(check_depth(deep.as_bytes(), 4).is_err());
        assert!(check_depth(deep.as_bytes(), 5).is_ok());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = format!(r#"{{"a":"{}\"{}"}}"#, "[".repeat(100), "{".repeat(100));
        assert!(check_depth(s.as_bytes(), 4).is_ok());
    }
}
