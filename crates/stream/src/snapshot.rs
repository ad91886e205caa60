//! The partial value: the input itself, up to the last point where it can be
//! closed into valid JSON.
//!
//! The parser keeps a copy of the input (one `memcpy` per chunk) and a *cut*:
//! the end of the last thing that is certain. The cut moves to just after
//! each container opener and closer, each complete scalar, each string
//! opener and each piece of string text, and never past an unfinished
//! number, literal, escape, surrogate pair or UTF-8 sequence, nor past a key
//! whose value has not started (nor the comma before it). The snapshot is
//! the input up to the cut followed by the closers from the parser's stack
//! (`"`, `]`, `}`). So keeping it costs O(1) per event plus the copy, and
//! taking it costs O(depth).

use std::fmt;

/// The snapshot state owned by the parser.
#[derive(Debug, Default)]
pub(crate) struct SnapWriter {
    /// Every byte read so far.
    pub(crate) raw: Vec<u8>,
    /// `raw[..cut]` is certain.
    pub(crate) cut: usize,
    /// One closer per open container, outermost first.
    pub(crate) closers: Vec<u8>,
    /// A string value is open at the cut.
    pub(crate) in_string: bool,
}

impl SnapWriter {
    /// A view of the current snapshot, or `None` before any value has started.
    pub(crate) fn view(&self) -> Option<Snapshot<'_>> {
        (self.cut > 0).then(|| Snapshot {
            body: &self.raw[..self.cut],
            open_string: self.in_string,
            closers: &self.closers,
        })
    }
}

/// The partial value at one moment, as valid JSON text.
///
/// It is a borrowed view: taking it costs O(depth). Render it with
/// [`Snapshot::to_json`] or `Display` (which cost its length).
///
/// It is the input as written (whitespace and escapes kept) up to the last
/// certain point, then the closing text: open strings and containers are
/// closed, and unfinished numbers and literals (and keys whose value has not
/// started) are left out. The [`Snapshot::body`] only ever grows, so a
/// consumer that wants only what changed can take the body's new bytes and
/// the new [`Snapshot::closing`].
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    body: &'a [u8],
    open_string: bool,
    closers: &'a [u8],
}

impl<'a> Snapshot<'a> {
    /// The input up to the cut (UTF-8); the snapshot is this plus
    /// [`Snapshot::closing`].
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The closing text that makes [`Snapshot::body`] valid JSON.
    #[must_use]
    pub fn closing(&self) -> String {
        let mut s = String::with_capacity(self.closers.len() + 1);
        if self.open_string {
            s.push('"');
        }
        s.extend(self.closers.iter().rev().map(|&b| char::from(b)));
        s
    }

    /// The snapshot as an owned JSON string.
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut s = String::from_utf8_lossy(self.body).into_owned();
        s.push_str(&self.closing());
        s
    }

    /// The snapshot as an owned JSON string without the whitespace between
    /// tokens (so it fits on one line).
    #[must_use]
    pub fn to_compact_json(&self) -> String {
        let mut out = Vec::with_capacity(self.body.len() + self.closers.len() + 1);
        let (mut in_string, mut escaped) = (false, false);
        for &b in self.body {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                continue;
            } else if b == b'"' {
                in_string = true;
            }
            out.push(b);
        }
        let mut s = String::from_utf8_lossy(&out).into_owned();
        s.push_str(&self.closing());
        s
    }

    /// Length of the rendered JSON in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.body.len() + usize::from(self.open_string) + self.closers.len()
    }

    /// Always false: a snapshot exists only once a value has started.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Snapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.body))?;
        f.write_str(&self.closing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_cuts_the_input_then_closes_string_and_containers_innermost_first() {
        let w = SnapWriter {
            raw: b"{\"a\": [\"x\\u00".to_vec(),
            cut: 9,
            closers: vec![b'}', b']'],
            in_string: true,
        };
        let v = w.view().expect("cut is past the start");
        assert_eq!(v.to_json(), "{\"a\": [\"x\"]}");
        assert_eq!(v.to_string(), v.to_json());
        assert_eq!(v.len(), v.to_json().len());
        assert!(SnapWriter::default().view().is_none());
    }

    #[test]
    fn compact_form_drops_whitespace_between_tokens_only() {
        let raw = b"{\n  \"a b\": [1, \"x \\\" \\n y\"],\n  \"c\": \"p q";
        let w = SnapWriter {
            raw: raw.to_vec(),
            cut: raw.len(),
            closers: vec![b'}'],
            in_string: true,
        };
        let v = w.view().expect("cut is past the start");
        assert_eq!(
            v.to_compact_json(),
            "{\"a b\":[1,\"x \\\" \\n y\"],\"c\":\"p q\"}"
        );
    }
}
