//! Strings and keys: plain runs, escapes, surrogate pairs and UTF-8
//! sequences split across chunks.

use crate::error::{Error, LimitExceeded, SyntaxError};
use crate::event::Event;
use crate::parser::{Parser, State};
use crate::path::Path;
use crate::snapshot::push_escaped;

/// Where an escape sequence is, when a chunk ends inside one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Esc {
    /// Not in an escape.
    None,
    /// After `\`.
    Backslash,
    /// After `\u` and `n` hex digits; `hi` is the high surrogate before it.
    Hex { n: u8, cp: u32, hi: Option<u32> },
    /// After a high surrogate escape: needs `\`.
    LowBackslash { hi: u32 },
    /// After a high surrogate escape and `\`: needs `u`.
    LowU { hi: u32 },
}

/// The first bytes of a UTF-8 sequence that a chunk boundary split.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Utf8Tail {
    bytes: [u8; 4],
    len: usize,
    /// Absolute offset of the sequence's first byte.
    offset: u64,
}

/// Bytes that end a plain run inside a string: `"`, `\` and controls.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

impl Parser {
    /// Reads string bytes from `buf[i..]`; returns where it stopped.
    pub(crate) fn string<F>(
        &mut self,
        buf: &[u8],
        mut i: usize,
        key: bool,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let n = buf.len();
        if self.utf8.len > 0 {
            i = self.utf8_continue(buf, i, key, f)?;
            if self.utf8.len > 0 {
                return Ok(i);
            }
        }
        loop {
            if self.esc != Esc::None {
                i = self.escape(buf, i, key, f)?;
                if self.esc != Esc::None {
                    return Ok(i);
                }
            }
            let start = i;
            while i < n && !SPECIAL[usize::from(buf[i])] {
                i += 1;
            }
            if i > start {
                self.plain_run(buf, start, i, key, f)?;
            }
            let Some(&b) = buf.get(i) else {
                return Ok(i);
            };
            match b {
                b'"' => {
                    self.end_string(key, f);
                    return Ok(i + 1);
                }
                b'\\' => {
                    self.esc = Esc::Backslash;
                    i += 1;
                }
                _ => return Err(self.syntax(i, SyntaxError::ControlCharacterInString)),
            }
        }
    }

    /// A run of bytes with no `"`, `\` or control: UTF-8 check, then emit.
    fn plain_run<F>(
        &mut self,
        buf: &[u8],
        start: usize,
        end: usize,
        key: bool,
        f: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let run = &buf[start..end];
        match std::str::from_utf8(run) {
            Ok(s) => self.append(s, start, key, false, f),
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() || end != buf.len() {
                    return Err(self.syntax(start + valid, SyntaxError::InvalidUtf8));
                }
                if valid > 0 {
                    let s = std::str::from_utf8(&run[..valid]).unwrap_or_default();
                    self.append(s, start, key, false, f)?;
                }
                let rest = &run[valid..];
                self.utf8.bytes[..rest.len()].copy_from_slice(rest);
                self.utf8.len = rest.len();
                self.utf8.offset = self.offset + (start + valid) as u64;
                Ok(())
            }
        }
    }

    /// Completes a UTF-8 sequence split by the previous chunk boundary.
    fn utf8_continue<F>(
        &mut self,
        buf: &[u8],
        mut i: usize,
        key: bool,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let need = match self.utf8.bytes[0] {
            0xf0..=0xff => 4,
            0xe0..=0xef => 3,
            _ => 2,
        };
        while self.utf8.len < need && i < buf.len() {
            self.utf8.bytes[self.utf8.len] = buf[i];
            self.utf8.len += 1;
            i += 1;
        }
        let bytes = self.utf8.bytes;
        let at = self.utf8.offset;
        match std::str::from_utf8(&bytes[..self.utf8.len]) {
            Ok(s) => {
                self.utf8.len = 0;
                // `at` is absolute; `append` wants a chunk position for errors.
                self.append(s, i.saturating_sub(s.len()), key, false, f)?;
                Ok(i)
            }
            Err(e) if e.error_len().is_none() => Ok(i),
            Err(_) => Err(Error::Syntax {
                offset: at,
                kind: SyntaxError::InvalidUtf8,
            }),
        }
    }

    /// Reads an escape sequence byte by byte from `buf[i..]`.
    fn escape<F>(&mut self, buf: &[u8], mut i: usize, key: bool, f: &mut F) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        while let Some(&b) = buf.get(i) {
            match self.esc {
                Esc::None => break,
                Esc::Backslash => {
                    let c = match b {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            self.esc = Esc::Hex {
                                n: 0,
                                cp: 0,
                                hi: None,
                            };
                            i += 1;
                            continue;
                        }
                        _ => return Err(self.syntax(i, SyntaxError::InvalidEscape)),
                    };
                    self.esc = Esc::None;
                    self.push_char(c, i, key, f)?;
                }
                Esc::Hex { n, cp, hi } => {
                    let Some(d) = char::from(b).to_digit(16) else {
                        return Err(self.syntax(i, SyntaxError::InvalidUnicodeEscape));
                    };
                    let cp = cp * 16 + d;
                    if n < 3 {
                        self.esc = Esc::Hex { n: n + 1, cp, hi };
                    } else {
                        let c = match (hi, cp) {
                            (None, 0xd800..=0xdbff) => {
                                self.esc = Esc::LowBackslash { hi: cp };
                                i += 1;
                                continue;
                            }
                            (Some(h), 0xdc00..=0xdfff) => {
                                char::from_u32(0x10000 + ((h - 0xd800) << 10) + (cp - 0xdc00))
                            }
                            (None, _) => char::from_u32(cp),
                            (Some(_), _) => None,
                        };
                        let Some(c) = c else {
                            return Err(self.syntax(i, SyntaxError::LoneSurrogate));
                        };
                        self.esc = Esc::None;
                        self.push_char(c, i, key, f)?;
                    }
                }
                Esc::LowBackslash { hi } if b == b'\\' => self.esc = Esc::LowU { hi },
                Esc::LowU { hi } if b == b'u' => {
                    self.esc = Esc::Hex {
                        n: 0,
                        cp: 0,
                        hi: Some(hi),
                    }
                }
                Esc::LowBackslash { .. } | Esc::LowU { .. } => {
                    return Err(self.syntax(i, SyntaxError::LoneSurrogate));
                }
            }
            i += 1;
        }
        Ok(i)
    }

    fn push_char<F>(&mut self, c: char, at: usize, key: bool, f: &mut F) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let mut tmp = [0u8; 4];
        let s: &str = c.encode_utf8(&mut tmp);
        self.append(s, at, key, true, f)
    }

    /// Adds decoded text to the open key or string value. `at` is the chunk
    /// position of the text's first byte; `escaped` text came from an escape
    /// and must be re-escaped for the snapshot.
    fn append<F>(
        &mut self,
        s: &str,
        at: usize,
        key: bool,
        escaped: bool,
        f: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let max = self.opts.limits.max_string_len;
        let before = self.str_len;
        self.str_len += s.len();
        if self.str_len > max {
            let over = if escaped { 0 } else { max - before };
            return Err(Error::Limit {
                offset: self.offset + (at + over) as u64,
                limit: LimitExceeded::StringLength(max),
            });
        }
        if key {
            self.keys.push_str(s);
            return Ok(());
        }
        f(Event::StringDelta(s), &Path::new(&self.frames, &self.keys));
        if let Some(snap) = &mut self.snap {
            if escaped {
                push_escaped(&mut snap.body, s);
            } else {
                snap.body.push_str(s);
            }
        }
        Ok(())
    }

    fn end_string<F>(&mut self, key: bool, f: &mut F)
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        if key {
            let end = self.keys.len();
            if let Some(fr) = self.frames.last_mut() {
                fr.key_end = end;
                fr.has_child = true;
                let k = &self.keys[fr.key_start..end];
                f(Event::Key(k), &Path::new(&self.frames, &self.keys));
            }
            self.state = State::Colon;
        } else {
            f(Event::StringEnd, &self.path());
            if let Some(s) = &mut self.snap {
                s.body.push('"');
                s.in_string = false;
            }
            self.value_done(f);
        }
    }
}
