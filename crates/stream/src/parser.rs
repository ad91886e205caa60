//! The push parser: structure, containers, numbers and literals.
//!
//! Strings live in `string.rs`. Every byte is looked at a bounded number of
//! times, and every buffer the parser keeps (number text, keys on the current
//! path, a split UTF-8 sequence, the snapshot's copy of the input) is written
//! once per byte, so a whole input costs O(n) however it is chunked.

use crate::error::{Error, Expected, LimitExceeded, SyntaxError};
use crate::event::{Event, OwnedEvent};
use crate::limits::Options;
use crate::path::{Frame, Path};
use crate::snapshot::{SnapWriter, Snapshot};
use crate::string::{ChunkText, Esc, Utf8Tail};

/// What the parser expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// A value: at the root, after `:`, or after `,` in an array.
    Value,
    /// Just after `[`: a value or `]`.
    ArrayFirst,
    /// Just after `{`: a key or `}`.
    ObjectFirst,
    /// After `,` in an object: a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// After a value inside a container: `,` or the closer.
    AfterValue,
    /// The top-level value is complete: only whitespace may follow.
    Done,
    /// Inside a string (an object key when `key`).
    Str { key: bool },
    /// Inside a number.
    Num,
    /// Inside `true`, `false` or `null`.
    Lit,
}

/// Where a number is in the JSON number grammar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Num {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Num {
    fn is_complete(self) -> bool {
        matches!(self, Num::Zero | Num::Int | Num::Frac | Num::Exp)
    }
}

/// How a [`Parser::finish`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Completion {
    /// One complete JSON value was read.
    Complete,
    /// The input stopped before the value was complete (as when a model
    /// stops at `max_tokens`).
    Truncated(Truncated),
}

/// What is known about a truncated input.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truncated {
    /// Bytes read in all.
    pub offset: u64,
    /// The partial value as JSON text (see [`Snapshot`]); `None` if no value
    /// had started, or the snapshot was turned off.
    pub partial: Option<String>,
    /// JSON Pointers of the values left incomplete, outermost first (always
    /// starting with `""`, the root).
    pub incomplete: Vec<String>,
}

/// An incremental JSON parser fed byte chunks split anywhere.
///
/// Feed it with [`Parser::feed`]; it calls back with each [`Event`] and its
/// [`Path`]. After an error every later call returns the same error.
#[derive(Debug)]
pub struct Parser {
    pub(crate) opts: Options,
    pub(crate) state: State,
    pub(crate) frames: Vec<Frame>,
    /// Keys of the objects on the current path, back to back.
    pub(crate) keys: String,
    pub(crate) snap: Option<SnapWriter>,
    /// Absolute offset of the start of the chunk being read.
    pub(crate) offset: u64,
    pub(crate) failed: Option<Error>,
    pub(crate) esc: Esc,
    pub(crate) utf8: Utf8Tail,
    /// Decoded bytes in the current string or key.
    pub(crate) str_len: usize,
    /// Number text split across chunks.
    pub(crate) num: String,
    pub(crate) num_state: Num,
    pub(crate) lit: &'static [u8],
    pub(crate) lit_pos: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default [`Options`].
    #[must_use]
    pub fn new() -> Self {
        Parser::with_options(Options::default())
    }

    /// A parser with the given options.
    #[must_use]
    pub fn with_options(opts: Options) -> Self {
        Parser {
            opts,
            state: State::Value,
            frames: Vec::new(),
            keys: String::new(),
            snap: opts.snapshot.then(SnapWriter::default),
            offset: 0,
            failed: None,
            esc: Esc::None,
            utf8: Utf8Tail::default(),
            str_len: 0,
            num: String::new(),
            num_state: Num::Int,
            lit: b"",
            lit_pos: 0,
        }
    }

    /// Bytes read so far.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The partial value so far, or `None` if no value has started (or the
    /// snapshot is turned off). Costs O(depth); see [`Snapshot`].
    #[must_use]
    pub fn snapshot(&self) -> Option<Snapshot<'_>> {
        self.snap.as_ref().and_then(SnapWriter::view)
    }

    /// Reads one chunk, calling `on_event` for each event it completes.
    ///
    /// # Errors
    /// [`Error::Syntax`] at the first byte that is not JSON, or
    /// [`Error::Limit`] when a [`crate::Limits`] is crossed. The error is
    /// sticky.
    pub fn feed<F>(&mut self, chunk: &[u8], mut on_event: F) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let max = self.opts.limits.max_total_len;
        let room = usize::try_from(max.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        let (now, over) = if chunk.len() > room {
            (&chunk[..room], true)
        } else {
            (chunk, false)
        };
        if let Some(s) = &mut self.snap {
            s.raw.extend_from_slice(now);
        }
        let mut result = self.run(now, &mut on_event);
        if result.is_ok() && over {
            result = Err(Error::Limit {
                offset: max,
                limit: LimitExceeded::TotalSize(max),
            });
        }
        self.offset += now.len() as u64;
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    /// [`Parser::feed`], collecting the events with their JSON Pointers.
    ///
    /// # Errors
    /// As [`Parser::feed`].
    pub fn feed_owned(&mut self, chunk: &[u8]) -> Result<Vec<(String, OwnedEvent)>, Error> {
        let mut out = Vec::new();
        self.feed(chunk, |e, p| out.push((p.to_pointer(), e.to_owned_event())))?;
        Ok(out)
    }

    /// Ends the input. A top-level number still open is complete now and is
    /// emitted; anything else unfinished is reported as
    /// [`Completion::Truncated`] with the partial value and the paths left
    /// incomplete.
    ///
    /// # Errors
    /// The sticky error, if [`Parser::feed`] failed before.
    pub fn finish<F>(mut self, mut on_event: F) -> Result<Completion, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.state == State::Num && self.frames.is_empty() && self.num_state.is_complete() {
            on_event(Event::Number(&self.num), &self.path());
            if let Some(s) = &mut self.snap {
                s.cut = s.raw.len();
            }
            self.state = State::Done;
        }
        if self.state == State::Done {
            return Ok(Completion::Complete);
        }
        Ok(Completion::Truncated(Truncated {
            offset: self.offset,
            partial: self.snapshot().map(|s| s.to_json()),
            incomplete: self.incomplete_paths(),
        }))
    }

    /// JSON Pointers of the values that are open now, outermost first.
    fn incomplete_paths(&self) -> Vec<String> {
        let mut out = vec![String::new()];
        let depth = self.frames.len();
        for d in 0..depth {
            let fr = self.frames[d];
            if !fr.has_child || (d + 1 == depth && self.state == State::AfterValue) {
                break;
            }
            out.push(Path::new(&self.frames[..=d], &self.keys).to_pointer());
        }
        out
    }

    pub(crate) fn path(&self) -> Path<'_> {
        Path::new(&self.frames, &self.keys)
    }

    /// The snapshot cut for chunk position `at`.
    pub(crate) fn cut_at(&self, at: usize) -> usize {
        usize::try_from(self.offset).unwrap_or(usize::MAX) + at
    }

    pub(crate) fn syntax(&self, at: usize, kind: SyntaxError) -> Error {
        Error::Syntax {
            offset: self.offset + at as u64,
            kind,
        }
    }

    fn unexpected(&self, buf: &[u8], at: usize, expected: Expected) -> Error {
        self.syntax(
            at,
            SyntaxError::UnexpectedByte {
                byte: buf[at],
                expected,
            },
        )
    }

    fn run<F>(&mut self, buf: &[u8], f: &mut F) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let n = buf.len();
        let text = ChunkText::new(buf);
        let mut i = 0;
        while i < n {
            let state = self.state;
            i = match state {
                State::Str { key } => self.string(buf, &text, i, key, f)?,
                State::Num => self.number(buf, i, i, f)?,
                State::Lit => self.literal(buf, i, f)?,
                _ => {
                    i = skip_ws(buf, i);
                    if i == n {
                        break;
                    }
                    self.structural(buf, i, state, f)?
                }
            };
        }
        Ok(())
    }

    /// Handles the non-whitespace byte `buf[i]` in a between-tokens state.
    fn structural<F>(
        &mut self,
        buf: &[u8],
        i: usize,
        state: State,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let b = buf[i];
        match state {
            State::Value => self.begin_value(buf, i, Expected::Value, f),
            State::ArrayFirst if b == b']' => self.close(i, f).map(|()| i + 1),
            State::ArrayFirst => {
                if let Some(fr) = self.frames.last_mut() {
                    fr.has_child = true;
                }
                self.begin_value(buf, i, Expected::ValueOrArrayEnd, f)
            }
            State::ObjectFirst | State::Key if b == b'"' => {
                if let Some(fr) = self.frames.last() {
                    self.keys.truncate(fr.key_start);
                }
                self.str_len = 0;
                self.state = State::Str { key: true };
                Ok(i + 1)
            }
            State::ObjectFirst if b == b'}' => self.close(i, f).map(|()| i + 1),
            State::ObjectFirst => Err(self.unexpected(buf, i, Expected::KeyOrObjectEnd)),
            State::Key => Err(self.unexpected(buf, i, Expected::Key)),
            State::Colon if b == b':' => {
                self.state = State::Value;
                Ok(i + 1)
            }
            State::Colon => Err(self.unexpected(buf, i, Expected::Colon)),
            State::AfterValue => self.after_value(buf, i, f),
            State::Done | State::Str { .. } | State::Num | State::Lit => {
                Err(self.syntax(i, SyntaxError::TrailingCharacters))
            }
        }
    }

    fn after_value<F>(&mut self, buf: &[u8], i: usize, f: &mut F) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let b = buf[i];
        let Some(fr) = self.frames.last_mut() else {
            return Err(self.syntax(i, SyntaxError::TrailingCharacters));
        };
        match (fr.object, b) {
            (true, b',') => {
                fr.has_child = false;
                self.state = State::Key;
            }
            (false, b',') => {
                fr.index += 1;
                self.state = State::Value;
            }
            (true, b'}') | (false, b']') => self.close(i, f)?,
            (true, _) => return Err(self.unexpected(buf, i, Expected::CommaOrObjectEnd)),
            (false, _) => return Err(self.unexpected(buf, i, Expected::CommaOrArrayEnd)),
        }
        Ok(i + 1)
    }

    fn begin_value<F>(
        &mut self,
        buf: &[u8],
        i: usize,
        expected: Expected,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let b = buf[i];
        match b {
            b'{' | b'[' => {
                let object = b == b'{';
                let max = self.opts.limits.max_depth;
                if self.frames.len() >= max {
                    return Err(Error::Limit {
                        offset: self.offset + i as u64,
                        limit: LimitExceeded::Depth(max),
                    });
                }
                f(
                    if object {
                        Event::ObjectStart
                    } else {
                        Event::ArrayStart
                    },
                    &self.path(),
                );
                let cut = self.cut_at(i + 1);
                if let Some(s) = &mut self.snap {
                    s.cut = cut;
                    s.closers.push(if object { b'}' } else { b']' });
                }
                let base = self.frames.last().map_or(0, |fr| fr.key_end);
                self.frames.push(Frame {
                    object,
                    has_child: false,
                    index: 0,
                    key_start: base,
                    key_end: base,
                });
                self.state = if object {
                    State::ObjectFirst
                } else {
                    State::ArrayFirst
                };
                Ok(i + 1)
            }
            b'"' => {
                f(Event::StringStart, &self.path());
                let cut = self.cut_at(i + 1);
                if let Some(s) = &mut self.snap {
                    s.cut = cut;
                    s.in_string = true;
                }
                self.str_len = 0;
                self.state = State::Str { key: false };
                Ok(i + 1)
            }
            b'-' | b'0'..=b'9' => {
                self.num.clear();
                self.num_state = match b {
                    b'-' => Num::Minus,
                    b'0' => Num::Zero,
                    _ => Num::Int,
                };
                self.state = State::Num;
                self.number(buf, i + 1, i, f)
            }
            b't' | b'f' | b'n' => {
                self.lit = match b {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                self.lit_pos = 1;
                self.state = State::Lit;
                self.literal(buf, i + 1, f)
            }
            _ => Err(self.unexpected(buf, i, expected)),
        }
    }

    /// Closes the innermost container (its closer is at chunk position `i`).
    fn close<F>(&mut self, i: usize, f: &mut F) -> Result<(), Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let Some(fr) = self.frames.pop() else {
            return Ok(());
        };
        let cut = self.cut_at(i + 1);
        if let Some(s) = &mut self.snap {
            s.closers.pop();
            s.cut = cut;
        }
        f(
            if fr.object {
                Event::ObjectEnd
            } else {
                Event::ArrayEnd
            },
            &self.path(),
        );
        self.value_done(f);
        Ok(())
    }

    /// A value just completed: mark top-level fields and move on.
    pub(crate) fn value_done<F>(&mut self, f: &mut F)
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        match self.frames.as_slice() {
            [] => self.state = State::Done,
            [root] => {
                if root.object {
                    f(Event::FieldComplete, &self.path());
                }
                self.state = State::AfterValue;
            }
            _ => self.state = State::AfterValue,
        }
    }

    fn number<F>(
        &mut self,
        buf: &[u8],
        mut j: usize,
        start: usize,
        f: &mut F,
    ) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        let mut st = self.num_state;
        while j < buf.len() {
            let b = buf[j];
            st = match (st, b) {
                (Num::Int, b'0'..=b'9') | (Num::Minus, b'1'..=b'9') => Num::Int,
                (Num::Minus, b'0') => Num::Zero,
                (Num::Zero | Num::Int, b'.') => Num::Dot,
                (Num::Dot | Num::Frac, b'0'..=b'9') => Num::Frac,
                (Num::Zero | Num::Int | Num::Frac, b'e' | b'E') => Num::E,
                (Num::E, b'+' | b'-') => Num::ESign,
                (Num::E | Num::ESign | Num::Exp, b'0'..=b'9') => Num::Exp,
                (s, _) if s.is_complete() && !b.is_ascii_digit() => {
                    self.num_state = st;
                    self.check_num_len(self.num.len() + (j - start), j)?;
                    let tail = ascii(&buf[start..j]);
                    let text = if self.num.is_empty() {
                        tail
                    } else {
                        self.num.push_str(tail);
                        &self.num
                    };
                    f(Event::Number(text), &Path::new(&self.frames, &self.keys));
                    let cut = self.cut_at(j);
                    if let Some(s) = &mut self.snap {
                        s.cut = cut;
                    }
                    self.value_done(f);
                    return Ok(j);
                }
                _ => return Err(self.syntax(j, SyntaxError::InvalidNumber)),
            };
            j += 1;
        }
        self.num_state = st;
        self.check_num_len(self.num.len() + (j - start), j)?;
        self.num.push_str(ascii(&buf[start..j]));
        Ok(j)
    }

    /// `len` number bytes have been read, ending before chunk position `at`.
    fn check_num_len(&self, len: usize, at: usize) -> Result<(), Error> {
        let max = self.opts.limits.max_string_len;
        if len > max {
            // The offending byte is the (max + 1)-th of the number.
            return Err(Error::Limit {
                offset: self.offset + at as u64 - (len - max) as u64,
                limit: LimitExceeded::StringLength(max),
            });
        }
        Ok(())
    }

    fn literal<F>(&mut self, buf: &[u8], mut j: usize, f: &mut F) -> Result<usize, Error>
    where
        F: FnMut(Event<'_>, &Path<'_>),
    {
        while self.lit_pos < self.lit.len() {
            let Some(&b) = buf.get(j) else {
                return Ok(j);
            };
            if b != self.lit[self.lit_pos] {
                return Err(self.syntax(j, SyntaxError::InvalidLiteral));
            }
            self.lit_pos += 1;
            j += 1;
        }
        let event = match self.lit {
            b"true" => Event::Bool(true),
            b"false" => Event::Bool(false),
            _ => Event::Null,
        };
        f(event, &self.path());
        let cut = self.cut_at(j);
        if let Some(s) = &mut self.snap {
            s.cut = cut;
        }
        self.value_done(f);
        Ok(j)
    }
}

/// Number bytes are ASCII by construction (the grammar admits nothing else).
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn skip_ws(buf: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = buf.get(i) {
        i += 1;
    }
    i
}
