//! Tokenizer for tool definitions and queries.
//!
//! Text is cut into *runs* of letters, digits and the identifier connectors `_`, `-`, `.`.
//! Each run is split into *parts* at connectors and at camelCase boundaries
//! (`getHTTPResponse` → `get`, `http`, `response`). Every part is emitted as a
//! [`Token::Word`], lower-cased. A run of two or more parts is also emitted whole as a
//! [`Token::Ident`] in a canonical `snake_case` spelling, so `read_file`, `readFile`,
//! `read-file` and `read.file` all meet on the identifier `read_file`.
//!
//! Words are stemmed (Snowball English) and stop words dropped by [`Tokenizer::word_term`];
//! identifiers are kept intact. Han, Hiragana and Katakana characters are emitted one per
//! token since those scripts do not separate words with spaces.

use std::borrow::Cow;

use rust_stemmers::{Algorithm, Stemmer};

use crate::limits::MAX_TOKEN_BYTES;

/// One token produced by [`Tokenizer::for_each_token`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token<'a> {
    /// A lower-cased word (one part of a run). Not yet stemmed.
    Word(&'a str),
    /// A whole identifier of two or more parts, lower-cased and joined with `_`.
    Ident(&'a str),
}

/// Splits text into words and identifiers, folds case and stems English words.
///
/// ```
/// use switchyard_search::Tokenizer;
/// let t = Tokenizer::new();
/// assert_eq!(t.terms("listOpenPullRequests"), ["list", "open", "pull", "request", "list_open_pull_requests"]);
/// ```
pub struct Tokenizer {
    stemmer: Stemmer,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").finish_non_exhaustive()
    }
}

impl Default for Tokenizer {
    fn default() -> Self {
        Self::new()
    }
}

/// Characters that join the parts of an identifier.
fn is_connector(c: char) -> bool {
    matches!(c, '_' | '-' | '.')
}

/// Scripts written without spaces between words: each character becomes one token.
fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30ff}'   // Hiragana, Katakana
        | '\u{3400}'..='\u{4dbf}' // CJK Extension A
        | '\u{4e00}'..='\u{9fff}' // CJK Unified Ideographs
        | '\u{f900}'..='\u{faff}' // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{2ffff}')
}

fn is_run_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || is_connector(c);
    }
    c.is_alphanumeric() && !is_unspaced_script(c)
}

/// Lower-cases `s` into `out` (cleared first).
fn lower_into(s: &str, out: &mut String) {
    out.clear();
    if s.is_ascii() {
        out.push_str(s);
        out.make_ascii_lowercase();
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// English stop words, plus the filler of task phrasing ("please", "want", "my").
///
/// Dropped from documents and queries alike: they match nearly every tool and only add noise
/// and posting-list work. Kept sorted for binary search.
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her",
    "here", "him", "his", "how", "i", "if", "in", "into", "is", "it", "its", "just", "let", "me",
    "my", "need", "of", "on", "or", "our", "please", "she", "should", "so", "some", "than", "that",
    "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "us", "was",
    "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with",
    "would", "you", "your",
];

/// Whether `word` (lower-case) is a stop word.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

impl Tokenizer {
    /// A tokenizer with the Snowball English stemmer.
    pub fn new() -> Self {
        Self {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }

    /// Calls `f` for every token of `text`, in order. ASCII runs (nearly all of tool
    /// definitions) are tokenized without touching the heap; runs with other characters
    /// use two small buffers.
    pub fn for_each_token(&self, text: &str, mut f: impl FnMut(Token<'_>)) {
        for_each_raw_token(text, &mut |t| match t {
            RawToken::Word(w) => f(Token::Word(utf8(w))),
            RawToken::Ident(i) => f(Token::Ident(utf8(i))),
        });
    }

    /// The index term for a lower-cased word: its English stem, or `None` for a stop word
    /// or a one-letter ASCII word. Words that are not plain ASCII letters are kept as they are.
    pub fn word_term<'w>(&self, word: &'w str) -> Option<Cow<'w, str>> {
        if is_stop_word(word) || (word.len() == 1 && word.is_ascii()) {
            return None;
        }
        if word.bytes().all(|b| b.is_ascii_lowercase()) {
            Some(self.stemmer.stem(word))
        } else {
            Some(Cow::Borrowed(word))
        }
    }

    /// All index terms of `text`, in order, duplicates kept: stemmed words without stop
    /// words, then identifiers after the words of their run.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.for_each_token(text, |tok| match tok {
            Token::Word(w) => {
                if let Some(t) = self.word_term(w) {
                    out.push(t.into_owned());
                }
            }
            Token::Ident(i) => out.push(i.to_owned()),
        });
        out
    }
}

/// [`for_each_raw_token`] for any text, on chars.
fn for_each_unicode_token(text: &str, f: &mut impl FnMut(RawToken<'_>)) {
    let mut bufs = Buffers::default();
    let mut iter = text.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        if is_unspaced_script(c) {
            let end = start + c.len_utf8();
            f(RawToken::Word(&text.as_bytes()[start..end]));
            continue;
        }
        if !is_run_char(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, c)) = iter.peek() {
            if !is_run_char(c) {
                break;
            }
            end = i + c.len_utf8();
            iter.next();
        }
        emit_run(&text[start..end], &mut bufs, f);
    }
}

/// A [`Token`] as bytes (UTF-8), for indexing: the index keys words by their bytes, so it
/// need not check that lower-cased ASCII is valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RawToken<'a> {
    /// A lower-cased word.
    Word(&'a [u8]),
    /// A whole identifier, lower-cased and joined with `_`.
    Ident(&'a [u8]),
}

/// Bytes that came from a `&str` or from lower-casing ASCII, as a `&str`.
pub(crate) fn utf8(b: &[u8]) -> &str {
    // Raw tokens are always valid UTF-8; the empty fallback is never taken.
    std::str::from_utf8(b).unwrap_or_default()
}

/// Reusable buffers of [`Tokenizer::for_each_token`].
#[derive(Default)]
struct Buffers {
    word: String,
    ident: String,
    parts: Vec<(usize, usize)>,
}

/// [`BYTE_CLASS`] bit of lower-case ASCII letters and digits.
const PLAIN: u8 = 1;
/// [`BYTE_CLASS`] bit of upper-case ASCII letters.
const UPPER: u8 = 2;
/// [`BYTE_CLASS`] bit of the connectors `_`, `-` and `.`.
const CONNECTOR: u8 = 4;

/// [`BYTE_CLASS`] bit of the bytes of non-ASCII characters.
const NON_ASCII: u8 = 8;

/// Class of each byte: 0 for ASCII outside runs, else one of [`PLAIN`], [`UPPER`],
/// [`CONNECTOR`], [`NON_ASCII`].
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if !c.is_ascii() {
            NON_ASCII
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() {
            PLAIN
        } else if c.is_ascii_uppercase() {
            UPPER
        } else if c == b'_' || c == b'-' || c == b'.' {
            CONNECTOR
        } else {
            0
        };
        b += 1;
    }
    t
};

/// How many of the 8 bytes of `chunk` (text order) are [`PLAIN`] before the first that is
/// not, 8 if all are. Eight bytes at once (SWAR): lower-case words are most of every tool
/// description, and testing them a byte at a time was the largest cost of indexing.
fn plain_prefix(chunk: [u8; 8]) -> usize {
    const fn splat(b: u8) -> u64 {
        u64::from_le_bytes([b; 8])
    }
    const HIGH: u64 = splat(0x80);
    let x = u64::from_le_bytes(chunk);
    // For an ASCII byte b, b + (0x80 - c) sets its high bit iff b >= c, without a carry
    // into the next byte. A non-ASCII byte can carry into the byte after it, but it is not
    // plain itself (the `!x` term), so only bytes after the first non-plain one, which the
    // count ignores, can come out wrong.
    let ge = |c: u8| x.wrapping_add(splat(0x80 - c));
    let lower = ge(b'a') & !ge(b'z' + 1);
    let digit = ge(b'0') & !ge(b'9' + 1);
    let plain = (lower | digit) & !x & HIGH;
    ((!plain & HIGH).trailing_zeros() / 8) as usize
}

/// The tokens of [`Tokenizer::for_each_token`] as [`RawToken`]s, found on bytes. ASCII
/// characters outside runs end runs in any script, so the text is cut at them into spans of
/// run bytes; a span with a non-ASCII character goes to [`for_each_unicode_token`], which
/// yields for it what it would for the whole text (a byte below 0x80 is always a whole
/// character, so every cut is on a char boundary).
pub(crate) fn for_each_raw_token(text: &str, f: &mut impl FnMut(RawToken<'_>)) {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    loop {
        while i < n && BYTE_CLASS[usize::from(bytes[i])] == 0 {
            i += 1;
        }
        if i == n {
            return;
        }
        let start = i;
        // Skip the run's plain prefix 8 bytes at a time, then classify the rest bytewise.
        while let Some(chunk) = bytes.get(i..).and_then(|b| b.first_chunk::<8>()) {
            let k = plain_prefix(*chunk);
            i += k;
            if k < 8 {
                break;
            }
        }
        let mut classes = if i > start { PLAIN } else { 0 };
        while i < n {
            let class = BYTE_CLASS[usize::from(bytes[i])];
            if class == 0 {
                break;
            }
            classes |= class;
            i += 1;
        }
        if classes == PLAIN {
            // Lower-case letters and digits only: the run is one word as it stands.
            if i - start <= MAX_TOKEN_BYTES {
                f(RawToken::Word(&bytes[start..i]));
            }
        } else if classes & NON_ASCII == 0 {
            emit_ascii_run(&bytes[start..i], classes, f);
        } else {
            for_each_unicode_token(&text[start..i], f);
        }
    }
}

/// [`emit_run`] for an ASCII run, on one stack buffer: the same tokens in the same order.
///
/// `classes` is the OR of the run's [`BYTE_CLASS`]es, which rules out some cases unseen.
fn emit_ascii_run(run: &[u8], classes: u8, f: &mut impl FnMut(RawToken<'_>)) {
    let mut b = run;
    if classes & CONNECTOR != 0 {
        let is_conn = |c: &&u8| matches!(**c, b'_' | b'-' | b'.');
        let end = run.len() - run.iter().rev().take_while(is_conn).count();
        let start = run[..end].iter().take_while(is_conn).count();
        b = &run[start..end];
        if b.is_empty() {
            return;
        }
        if b.iter().all(|&c| BYTE_CLASS[usize::from(c)] == PLAIN) {
            // A sentence's last word ("disk.") is plain once its connectors are trimmed.
            if b.len() <= MAX_TOKEN_BYTES {
                f(RawToken::Word(b));
            }
            return;
        }
    }
    // One part, no identifier: a capitalised word ("Read": only its first byte is upper
    // case, no connector) or an acronym ("URL", "S3": no lower-case letter, no connector),
    // which no camelCase rule can split. Without upper case, a run that is not plain has a
    // connector inside and so several parts.
    let one_part = classes & UPPER != 0
        && (b[1..].iter().all(|&c| BYTE_CLASS[usize::from(c)] == PLAIN)
            || b.iter()
                .all(|&c| c.is_ascii_uppercase() || c.is_ascii_digit()));
    if one_part {
        let mut word = [0u8; MAX_TOKEN_BYTES];
        if let Some(word) = word.get_mut(..b.len()) {
            for (d, &c) in word.iter_mut().zip(b) {
                *d = c.to_ascii_lowercase();
            }
            f(RawToken::Word(word));
        }
        return;
    }
    // Parts are lower-cased straight into the identifier (parts joined with `_`), and each
    // word is emitted as its slice of it. camelCase splits add separators, so the identifier
    // can be longer than the run: at most twice its length. A run too long for an identifier
    // lower-cases each part at the start of the buffer instead.
    let with_ident = b.len() <= MAX_TOKEN_BYTES;
    let mut buf = [0u8; 2 * MAX_TOKEN_BYTES];
    let mut len = 0;
    let mut parts = 0usize;
    for_each_ascii_part(b, |s, e| {
        let part = &b[s..e];
        if part.len() <= MAX_TOKEN_BYTES {
            let mut at = 0;
            if with_ident {
                if parts > 0 {
                    buf[len] = b'_';
                    len += 1;
                }
                at = len;
                len += part.len();
            }
            let word = &mut buf[at..at + part.len()];
            for (d, &c) in word.iter_mut().zip(part) {
                *d = c.to_ascii_lowercase();
            }
            f(RawToken::Word(word));
        }
        parts += 1;
    });
    if parts > 1 && with_ident {
        f(RawToken::Ident(&buf[..len]));
    }
}

/// Emits the tokens of one run of letters, digits and connectors.
fn emit_run(run: &str, bufs: &mut Buffers, f: &mut impl FnMut(RawToken<'_>)) {
    let run = run.trim_matches(is_connector);
    if run.is_empty() {
        return;
    }
    // Fast path: a plain lower-case ASCII word is its own single part.
    if run
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        if run.len() <= MAX_TOKEN_BYTES {
            f(RawToken::Word(run.as_bytes()));
        }
        return;
    }
    let Buffers { word, ident, parts } = bufs;
    split_parts(run, parts);
    for &(s, e) in parts.iter() {
        let part = &run[s..e];
        if part.len() > MAX_TOKEN_BYTES {
            continue;
        }
        lower_into(part, word);
        f(RawToken::Word(word.as_bytes()));
    }
    if parts.len() > 1 && run.len() <= MAX_TOKEN_BYTES {
        ident.clear();
        for (n, &(s, e)) in parts.iter().enumerate() {
            if n > 0 {
                ident.push('_');
            }
            lower_into(&run[s..e], word);
            ident.push_str(word);
        }
        f(RawToken::Ident(ident.as_bytes()));
    }
}

/// Splits one run (no leading or trailing connector) into parts, as byte ranges of `run`.
fn split_parts(run: &str, parts: &mut Vec<(usize, usize)>) {
    parts.clear();
    if run.is_ascii() {
        split_ascii_parts(run.as_bytes(), parts);
    } else {
        split_unicode_parts(run, parts);
    }
}

/// [`split_parts`] for any run, on chars.
fn split_unicode_parts(run: &str, parts: &mut Vec<(usize, usize)>) {
    let mut start: Option<usize> = None;
    let mut prev = ' ';
    let mut iter = run.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_connector(c) {
            if let Some(s) = start.take() {
                parts.push((s, i));
            }
            continue;
        }
        match start {
            None => start = Some(i),
            Some(s) => {
                let next = iter.peek().map(|&(_, n)| n);
                let lower_to_upper = prev.is_lowercase() && c.is_uppercase();
                let acronym_end =
                    prev.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase);
                if lower_to_upper || acronym_end {
                    parts.push((s, i));
                    start = Some(i);
                }
            }
        }
        prev = c;
    }
    if let Some(s) = start {
        parts.push((s, run.len()));
    }
}

/// [`split_parts`] for ASCII runs, on bytes.
fn split_ascii_parts(run: &[u8], parts: &mut Vec<(usize, usize)>) {
    for_each_ascii_part(run, |s, e| parts.push((s, e)));
}

/// Calls `part(start, end)` for each part of an ASCII run (no leading or trailing
/// connector), in order.
fn for_each_ascii_part(run: &[u8], mut part: impl FnMut(usize, usize)) {
    let mut start: Option<usize> = None;
    for (i, &c) in run.iter().enumerate() {
        if matches!(c, b'_' | b'-' | b'.') {
            if let Some(s) = start.take() {
                part(s, i);
            }
            continue;
        }
        match start {
            None => start = Some(i),
            Some(s) => {
                let prev = run[i - 1];
                let lower_to_upper = prev.is_ascii_lowercase() && c.is_ascii_uppercase();
                let acronym_end = prev.is_ascii_uppercase()
                    && c.is_ascii_uppercase()
                    && run.get(i + 1).is_some_and(u8::is_ascii_lowercase);
                if lower_to_upper || acronym_end {
                    part(s, i);
                    start = Some(i);
                }
            }
        }
    }
    if let Some(s) = start {
        part(s, run.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tokenizer {
        Tokenizer::new()
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn splits_snake_camel_kebab_and_dotted_names_to_one_identifier() {
        for name in [
            "read_file",
            "readFile",
            "read-file",
            "read.file",
            "READ_FILE",
            "ReadFile",
        ] {
            let terms = t().terms(name);
            assert_eq!(terms, ["read", "file", "read_file"], "{name}");
        }
    }

    #[test]
    fn splits_acronyms_inside_camel_case() {
        assert_eq!(
            t().terms("getHTTPResponse"),
            ["get", "http", "respons", "get_http_response"]
        );
    }

    #[test]
    fn stems_english_words_and_folds_case() {
        assert_eq!(
            t().terms("Searching Repositories"),
            ["search", "repositori"]
        );
        assert_eq!(t().terms("searches"), t().terms("search"));
    }

    #[test]
    fn drops_stop_words_and_single_letters() {
        assert_eq!(
            t().terms("find all of the files in a repo"),
            ["find", "file", "repo"]
        );
    }

    #[test]
    fn trims_sentence_punctuation_from_runs() {
        assert_eq!(
            t().terms("Reads files. Then stops."),
            ["read", "file", "stop"]
        );
    }

    #[test]
    fn keeps_digits_with_letters() {
        assert_eq!(t().terms("s3 base64 ec2"), ["s3", "base64", "ec2"]);
    }

    #[test]
    fn non_latin_words_are_kept_lowercased_not_stemmed() {
        assert_eq!(t().terms("Привет МИР"), ["привет", "мир"]);
    }

    #[test]
    fn han_and_kana_become_one_token_per_character() {
        assert_eq!(t().terms("查找文件"), ["查", "找", "文", "件"]);
        assert_eq!(t().terms("ファイル"), ["フ", "ァ", "イ", "ル"]);
    }

    #[test]
    fn max_token_bytes_drops_overlong_parts() {
        let long = "x".repeat(MAX_TOKEN_BYTES + 1);
        let ok = "z".repeat(MAX_TOKEN_BYTES);
        let text = format!("{long} {ok}");
        assert_eq!(t().terms(&text), [ok]);
    }

    #[test]
    fn punctuation_only_text_has_no_terms() {
        assert!(t().terms("?!... --- ___ 🚀").is_empty());
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        /// Tokens of `text` from the byte tokenizer or the char one.
        fn tokens(text: &str, bytes: bool) -> Vec<String> {
            let mut out = Vec::new();
            let mut push = |t: RawToken<'_>| out.push(format!("{t:?}"));
            if bytes {
                for_each_raw_token(text, &mut push);
            } else {
                for_each_unicode_token(text, &mut push);
            }
            out
        }

        proptest! {
            /// The eight-at-once count of plain bytes matches a byte-by-byte count, for any
            /// bytes (non-ASCII ones included).
            #[test]
            fn plain_prefix_counts_like_a_byte_loop(chunk in proptest::array::uniform8(any::<u8>())) {
                let bytewise = chunk
                    .iter()
                    .take_while(|&&b| BYTE_CLASS[usize::from(b)] == PLAIN)
                    .count();
                prop_assert_eq!(plain_prefix(chunk), bytewise);
            }

            #[test]
            fn ascii_and_unicode_splitters_agree(run in "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}[a-zA-Z0-9]") {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                split_ascii_parts(run.as_bytes(), &mut a);
                split_unicode_parts(&run, &mut b);
                prop_assert_eq!(a, b);
            }

            /// The byte tokenizer emits exactly what the char one does, on ASCII text and on
            /// text that mixes in accented letters, Cyrillic, Han, dashes, quotes and emoji.
            #[test]
            fn byte_and_char_tokenizers_agree(text in "[ -~]{0,120}|[ -~éÉßПриветМИР查找文件ファイル—’“🚀\u{00a0}]{0,80}") {
                prop_assert_eq!(tokens(&text, true), tokens(&text, false));
            }

            /// Runs built from identifier pieces, with parts and runs around
            /// [`MAX_TOKEN_BYTES`], where words and identifiers are dropped.
            #[test]
            fn tokenizers_agree_on_long_identifiers(
                pieces in proptest::collection::vec("[a-zA-Z0-9]{1,70}|[A-Z]{1,5}[a-z]{0,5}|[_.-]{1,2}", 1..12)
            ) {
                let text = pieces.concat();
                prop_assert_eq!(tokens(&text, true), tokens(&text, false));
            }
        }
    }
}
