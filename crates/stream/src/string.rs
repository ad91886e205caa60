//! Strings and keys: plain runs, escapes, surrogate pairs and UTF-8
//! sequences split across chunks.

use crate::error::{Error, LimitExceeded, SyntaxError};
use crate::event::Event;
use crate::parser::{Parser, State};
use crate::path::Path;

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

/// The chunk's UTF-8 text, validated once per chunk so that string runs can
/// be sliced from it instead of each being validated on its own.
pub(crate) struct ChunkText<'a> {
    /// Leading continuation bytes (the end of a sequence split by the last
    /// chunk boundary), which `text` starts after.
    lead: usize,
    /// The longest valid UTF-8 prefix of the chunk after `lead`.
    text: &'a str,
}

impl<'a> ChunkText<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        let lead = buf
            .iter()
            .take(3)
            .take_while(|&&b| (0x80..0xc0).contains(&b))
            .count();
        let rest = &buf[lead..];
        let text = match std::str::from_utf8(rest) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default(),
        };
        ChunkText { lead, text }
    }

    /// `buf[start..end]` as text, if that lies in the validated part on
    /// character boundaries.
    fn get(&self, start: usize, end: usize) -> Option<&'a str> {
        self.text
            .get(start.checked_sub(self.lead)?..end - self.lead)
    }
}

/// Position of the first `"`, `\` or control byte in `buf[i..]`, or
/// `buf.len()`: eight bytes at a time, then one at a time.
fn scan_plain(buf: &[u8], mut i: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(bytes) = buf.get(i..i + 8) {
        let mut a = [0u8; 8];
        a.copy_from_slice(bytes);
        let w = u64::from_le_bytes(a);
        let q = w ^ (LO * u64::from(b'"'));
        let b = w ^ (LO * u64::from(b'\\'));
        // The lowest flagged byte of each "has a zero / small byte" test is
        // exact, so the lowest over all three is the first special byte.
        let zero_q = q.wrapping_sub(LO) & !q;
        let zero_b = b.wrapping_sub(LO) & !b;
        let small = w.wrapping_sub(LO * 0x20) & !w;
        let hit = (zero_q | zero_b | small) & HI;
        if hit != 0 {
            return i + (hit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < buf.len() && !SPECIAL[usize::from(buf[i])] {
        i += 1;
    }
    i
}

impl Parser {
    /// Reads string bytes from `buf[i..]`; returns where it stopped.
    pub(crate) fn string<F>(
        &mut self,
        buf: &[u8],
        text: &ChunkText<'_>,
        mut i: usize,
        key: bool,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
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
            i = scan_plain(buf, i);
            if i > start {
                match text.get(start, i) {
                    Some(s) => self.append(s, start, i, key, f)?,
                    None => self.plain_run(buf, start, i, key, f)?,
                }
            }
            let Some(&b) = buf.get(i) else {
                return Ok(i);
            };
            match b {
                b'"' => {
                    self.end_string(i, key, f);
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
            Ok(s) => self.append(s, start, end, key, f),
            Err(e) => {
                let valid = e.valid_up_to();
                if e.error_len().is_some() || end != buf.len() {
                    return Err(self.syntax(start + valid, SyntaxError::InvalidUtf8));
                }
                if valid > 0 {
                    let s = std::str::from_utf8(&run[..valid]).unwrap_or_default();
                    self.append(s, start, start + valid, key, f)?;
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
                self.append(s, i.saturating_sub(s.len()), i, key, f)?;
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
                        b'"' => "\"",
                        b'\\' => "\\",
                        b'/' => "/",
                        b'b' => "\u{8}",
                        b'f' => "\u{c}",
                        b'n' => "\n",
                        b'r' => "\r",
                        b't' => "\t",
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
                    self.append(c, i, i + 1, key, f)?;
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
        self.append(s, at, at + 1, key, f)
    }

    /// Adds decoded text to the open key or string value. The text came
    /// from chunk positions `at..end` (an escape or UTF-8 sequence may have
    /// begun in an earlier chunk).
    fn append<F>(
        &mut self,
        s: &str,
        at: usize,
        end: usize,
        key: bool,
        f: &mut F,
    ) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let max = self.opts.limits.max_string_len;
        let before = self.str_len;
        self.str_len += s.len();
        if self.str_len > max {
            // For plain text, the byte that crossed the limit.
            let over = (at + (max - before)).min(end.saturating_sub(1));
            return Err(Error::Limit {
                offset: self.offset + over as u64,
                limit: LimitExceeded::StringLength(max),
            });
        }
        if key {
            self.keys.push_str(s);
            return Ok(());
        }
        f(Event::StringDelta(s), &Path::new(&self.frames, &self.keys));
        let cut = self.cut_at(end);
        if let Some(snap) = &mut self.snap {
            snap.cut = cut;
        }
        Ok(())
    }

    /// The closing `"` is at chunk position `i`.
    fn end_string<F>(&mut self, i: usize, key: bool, f: &mut F)
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
            let cut = self.cut_at(i + 1);
            if let Some(s) = &mut self.snap {
                s.cut = cut;
                s.in_string = false;
            }
            self.value_done(f);
        }
    }
}
