//! The partial value, kept as JSON text that grows with the input.
//!
//! The body holds everything that is already certain, written compactly; the
//! closers (`"`, `]`, `}`) needed to make it valid JSON come from the stack.
//! A value enters the body when it starts (strings, objects, arrays) or when
//! it completes (numbers, literals), so unfinished numbers and literals, and
//! keys whose value has not started, are left out. Every input byte is
//! written to the body at most once, so keeping it costs O(input).

use std::fmt;

/// The snapshot state owned by the parser.
#[derive(Debug, Default)]
pub(crate) struct SnapWriter {
    /// Certain, compact JSON text.
    pub(crate) body: String,
    /// One closer per open container, outermost first.
    pub(crate) closers: Vec<u8>,
    /// A string value is open in the body.
    pub(crate) in_string: bool,
}

impl SnapWriter {
    /// Appends a JSON string literal for `s` (quotes included).
    pub(crate) fn push_quoted(&mut self, s: &str) {
        self.body.push('"');
        push_escaped(&mut self.body, s);
        self.body.push('"');
    }

    /// A view of the current snapshot, or `None` before any value has started.
    pub(crate) fn view(&self) -> Option<Snapshot<'_>> {
        (!self.body.is_empty()).then_some(Snapshot {
            body: &self.body,
            open_string: self.in_string,
            closers: &self.closers,
        })
    }
}

/// Appends `s` escaped as JSON string content.
pub(crate) fn push_escaped(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// The partial value at one moment, as valid JSON text.
///
/// It is a borrowed view: taking it costs O(depth). Render it with `Display`
/// or [`Snapshot::to_json`] (which copies it).
///
/// Open strings are closed, open containers are closed, and unfinished
/// numbers and literals (and keys whose value has not started) are left out.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    body: &'a str,
    open_string: bool,
    closers: &'a [u8],
}

impl<'a> Snapshot<'a> {
    /// The text that is already final; the snapshot is this plus
    /// [`Snapshot::closing`].
    #[must_use]
    pub fn body(&self) -> &'a str {
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
        let mut s = String::with_capacity(self.len());
        s.push_str(self.body);
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
        f.write_str(self.body)?;
        f.write_str(&self.closing())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_quotes_backslashes_and_controls() {
        let mut s = String::new();
        push_escaped(&mut s, "a\"b\\c\nd\u{1}é");
        assert_eq!(s, "a\\\"b\\\\c\\nd\\u0001é");
    }

    #[test]
    fn view_closes_open_string_then_containers_innermost_first() {
        let w = SnapWriter {
            body: "{\"a\":[\"x".to_owned(),
            closers: vec![b'}', b']'],
            in_string: true,
        };
        let v = w.view().expect("body is not empty");
        assert_eq!(v.to_json(), "{\"a\":[\"x\"]}");
        assert_eq!(v.to_string(), v.to_json());
        assert_eq!(v.len(), v.to_json().len());
        assert!(SnapWriter::default().view().is_none());
    }
}
