//! JSON Pointer (RFC 6901) paths, borrowed from the parser's stack.

use std::fmt;

/// One open object or array on the parser's stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// Object (`{`) rather than array (`[`).
    pub(crate) object: bool,
    /// A child is current: a key has been read (object) or an element has
    /// started (array).
    pub(crate) has_child: bool,
    /// Index of the current element (arrays).
    pub(crate) index: u32,
    /// The current key is `keys[key_start..key_end]` (objects; empty for arrays).
    pub(crate) key_start: usize,
    pub(crate) key_end: usize,
}

/// One step of a [`Path`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    /// An object member, by its decoded key.
    Key(&'a str),
    /// An array element, by index.
    Index(u32),
}

/// Where an event happened, as a borrowed view of the parser's stack.
///
/// `Display` writes it as a JSON Pointer (`""` for the root, `/a/0/b~1c`).
/// Building it costs nothing; rendering it costs its length.
#[derive(Clone, Copy, Debug)]
pub struct Path<'a> {
    frames: &'a [Frame],
    keys: &'a str,
}

impl<'a> Path<'a> {
    pub(crate) fn new(frames: &'a [Frame], keys: &'a str) -> Self {
        Path { frames, keys }
    }

    /// The steps from the root, outermost first.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + 'a {
        let keys = self.keys;
        self.frames.iter().filter(|f| f.has_child).map(move |f| {
            if f.object {
                Segment::Key(keys.get(f.key_start..f.key_end).unwrap_or(""))
            } else {
                Segment::Index(f.index)
            }
        })
    }

    /// Number of steps (0 for the root).
    #[must_use]
    pub fn len(&self) -> usize {
        self.frames.iter().filter(|f| f.has_child).count()
    }

    /// True at the root.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The path as an owned JSON Pointer string.
    #[must_use]
    pub fn to_pointer(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in self.segments() {
            f.write_str("/")?;
            match seg {
                Segment::Key(k) => write_pointer_token(f, k)?,
                Segment::Index(i) => write!(f, "{i}")?,
            }
        }
        Ok(())
    }
}

/// Writes a reference token with `~` as `~0` and `/` as `~1` (RFC 6901 §3).
fn write_pointer_token(f: &mut fmt::Formatter<'_>, key: &str) -> fmt::Result {
    let mut rest = key;
    while let Some(pos) = rest.find(['~', '/']) {
        f.write_str(&rest[..pos])?;
        f.write_str(if rest.as_bytes()[pos] == b'~' {
            "~0"
        } else {
            "~1"
        })?;
        rest = &rest[pos + 1..];
    }
    f.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(object: bool, has_child: bool, index: u32, key: (usize, usize)) -> Frame {
        Frame {
            object,
            has_child,
            index,
            key_start: key.0,
            key_end: key.1,
        }
    }

    #[test]
    fn pointer_escapes_tilde_and_slash() {
        let keys = "a/b~c";
        let frames = [frame(true, true, 0, (0, 5)), frame(false, true, 3, (5, 5))];
        let p = Path::new(&frames, keys);
        assert_eq!(p.to_pointer(), "/a~1b~0c/3");
        assert_eq!(p.len(), 2);
        assert_eq!(
            p.segments().collect::<Vec<_>>(),
            [Segment::Key("a/b~c"), Segment::Index(3)]
        );
    }

    #[test]
    fn frame_without_current_child_adds_no_step() {
        let frames = [frame(true, false, 0, (0, 0))];
        let p = Path::new(&frames, "");
        assert!(p.is_empty());
        assert_eq!(p.to_pointer(), "");
    }
}
