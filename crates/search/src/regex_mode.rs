//! Regex mode, compatible with the Claude API's `tool_search_tool_regex` (see [`ToolPattern`]).

use regex::{Regex, RegexBuilder};

use crate::index::{Hit, Index};
use crate::limits::{MAX_PATTERN_CHARS, MAX_REGEX_PROGRAM_BYTES};
use crate::SearchError;

/// Matches counted per field when scoring; more say nothing new and cost time.
pub const MAX_MATCHES_PER_FIELD: usize = 8;

/// Weights of a match in the name, title, parameter name, description and parameter
/// description, in that order.
const FIELD_WEIGHTS: [f32; 5] = [4.0, 3.0, 2.0, 1.0, 0.5];

/// A compiled tool-search pattern, compatible with the Claude API's `tool_search_tool_regex`.
///
/// Patterns use Python `re` syntax and `re.search` semantics (a match anywhere), are
/// case-sensitive unless they contain `(?i)`, and are at most
/// [`MAX_PATTERN_CHARS`] characters. They are translated to the `regex` crate's syntax,
/// which runs in time linear in the text; Python features that need backtracking
/// (backreferences, lookaround, atomic groups, possessive quantifiers, conditionals) are
/// refused with [`SearchError::UnsupportedRegex`].
///
/// Python's `$` also matches before a final newline; to keep that, one trailing `\n` of a
/// field is left out of the searched text (so `\Z` also matches there, where Python's would
/// not). Remaining differences: `\d`, `\w`, `\s` and `\b` follow Unicode definitions that
/// differ from Python's in a few code points, and global flags need not come first.
///
/// A pattern is searched in each non-empty field of each tool: name, title, description,
/// every parameter name and every parameter description. The score of a tool is the weighted sum,
/// over fields, of the number of matches (capped at [`MAX_MATCHES_PER_FIELD`]).
#[derive(Debug, Clone)]
pub struct ToolPattern {
    regex: Regex,
}

impl ToolPattern {
    /// Checks and compiles a Python-syntax pattern.
    ///
    /// ```
    /// use switchyard_search::{SearchError, ToolPattern};
    /// assert!(ToolPattern::new(r"(?i)get_.*weather").is_ok());
    /// assert!(matches!(ToolPattern::new(r"(a)\1"), Err(SearchError::UnsupportedRegex { .. })));
    /// ```
    pub fn new(pattern: &str) -> Result<Self, SearchError> {
        if pattern.is_empty() {
            return Err(SearchError::EmptyQuery);
        }
        let len = pattern.chars().count();
        if len > MAX_PATTERN_CHARS {
            return Err(SearchError::PatternTooLong {
                len,
                limit: MAX_PATTERN_CHARS,
            });
        }
        let translated = translate(pattern)?;
        let regex = RegexBuilder::new(&translated)
            .size_limit(MAX_REGEX_PROGRAM_BYTES)
            .dfa_size_limit(MAX_REGEX_PROGRAM_BYTES)
            .build()
            .map_err(|e| SearchError::InvalidPattern {
                reason: regex_error_text(&e),
            })?;
        Ok(Self { regex })
    }

    /// Python `re.search`: whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Matches in one field, at most [`MAX_MATCHES_PER_FIELD`]. Absent (empty) fields are
    /// not searched, so `^$` does not match every tool without a title.
    fn count(&self, text: &str) -> usize {
        let text = text.strip_suffix('\n').unwrap_or(text);
        if text.is_empty() {
            return 0;
        }
        self.regex
            .find_iter(text)
            .take(MAX_MATCHES_PER_FIELD)
            .count()
    }
}

fn regex_error_text(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern compiles to more than {limit} bytes; simplify its repetitions")
        }
        // The syntax error text spans several lines with a caret diagram; keep the last line.
        other => {
            let text = other.to_string();
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned()
        }
    }
}

impl Index {
    /// Ranks tools whose fields match a Python-syntax regex (see [`ToolPattern`] and the crate docs).
    /// Returns at most `top` hits, best first, ties in index order.
    ///
    /// Errors: [`SearchError::EmptyQuery`], [`SearchError::PatternTooLong`],
    /// [`SearchError::InvalidPattern`], [`SearchError::UnsupportedRegex`].
    pub fn search_regex(&self, pattern: &str, top: usize) -> Result<Vec<Hit<'_>>, SearchError> {
        let pattern = ToolPattern::new(pattern)?;
        Ok(self.search_pattern(&pattern, top))
    }

    /// Like [`Index::search_regex`] with a pattern compiled once.
    pub fn search_pattern(&self, pattern: &ToolPattern, top: usize) -> Vec<Hit<'_>> {
        let scored = self.docs.iter().enumerate().filter_map(|(slot, doc)| {
            let doc = doc.as_ref()?;
            let mut score = 0.0;
            score += FIELD_WEIGHTS[0] * pattern.count(&doc.name) as f32;
            score += FIELD_WEIGHTS[1] * pattern.count(&doc.title) as f32;
            score += FIELD_WEIGHTS[3] * pattern.count(&doc.description) as f32;
            for (name, desc) in doc.params.iter() {
                score += FIELD_WEIGHTS[2] * pattern.count(name) as f32;
                score += FIELD_WEIGHTS[4] * pattern.count(desc) as f32;
            }
            Some((slot as u32, score))
        });
        self.top_hits(scored, top)
    }
}

fn unsupported(feature: &'static str) -> SearchError {
    SearchError::UnsupportedRegex { feature }
}

fn invalid(reason: impl Into<String>) -> SearchError {
    SearchError::InvalidPattern {
        reason: reason.into(),
    }
}

/// Escapes Python knows (besides escaped punctuation), outside character classes.
const PY_ESCAPES: &str = "afnrtvxuUdDsSwWAZbB";

/// Characters the `regex` crate treats as meta characters (escaped to be literal).
const REGEX_META: &str = "\\.+*?()|[]{}^$#&-~";

/// Escapes Python knows inside character classes (`\b` is handled apart: it means backspace).
const PY_CLASS_ESCAPES: &str = "afnrtvxuUdDsSwW";

/// Translates Python `re` syntax to `regex` crate syntax.
pub(crate) fn translate(py: &str) -> Result<String, SearchError> {
    let chars: Vec<char> = py.chars().collect();
    let mut out = String::with_capacity(py.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    // Whether the previous item can take a quantifier (for literal `{` handling).
    let mut repeatable = false;
    while i < chars.len() {
        let c = chars[i];
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                    repeatable = true;
                }
                '\\' => {
                    let Some(&e) = chars.get(i + 1) else {
                        return Err(invalid("pattern ends with a lone backslash"));
                    };
                    i += 1;
                    if e == 'b' {
                        out.push_str(r"\x08");
                    } else if e == '0' && chars.get(i + 1).is_some_and(|c| ('0'..='7').contains(c))
                    {
                        return Err(unsupported("an octal escape"));
                    } else {
                        translate_escape(e, true, &mut out)?;
                    }
                }
                '[' | '&' | '~' | '-' if c != '-' || chars.get(i + 1) == Some(&'-') => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '\\' => {
                let Some(&e) = chars.get(i + 1) else {
                    return Err(invalid("pattern ends with a lone backslash"));
                };
                if e.is_ascii_digit() && e != '0' {
                    return Err(unsupported("a backreference"));
                }
                if e == '0' && chars.get(i + 2).is_some_and(|c| ('0'..='7').contains(c)) {
                    return Err(unsupported("an octal escape"));
                }
                translate_escape(e, false, &mut out)?;
                i += 2;
                repeatable = !matches!(e, 'A' | 'Z' | 'b' | 'B');
                continue;
            }
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str(r"\]");
                    i += 1;
                }
                continue;
            }
            '(' if chars.get(i + 1) == Some(&'?') => {
                i = translate_group(&chars, i, &mut out)?;
                repeatable = false;
                continue;
            }
            '{' => {
                if let Some((text, next)) = quantifier(&chars, i).filter(|_| repeatable) {
                    out.push_str(&text);
                    i = next;
                    if matches!(chars.get(i), Some('+')) {
                        return Err(unsupported("a possessive quantifier"));
                    }
                    repeatable = false;
                } else {
                    out.push_str(r"\{");
                    i += 1;
                    repeatable = true;
                }
                continue;
            }
            '}' => out.push_str(r"\}"),
            '*' | '+' | '?' => {
                out.push(c);
                i += 1;
                if chars.get(i) == Some(&'+') {
                    return Err(unsupported("a possessive quantifier"));
                }
                if chars.get(i) == Some(&'?') {
                    out.push('?');
                    i += 1;
                }
                repeatable = false;
                continue;
            }
            '(' | '|' => {
                out.push(c);
                repeatable = false;
                i += 1;
                continue;
            }
            _ => out.push(c),
        }
        repeatable = true;
        i += 1;
    }
    if in_class {
        return Err(invalid("unterminated character set"));
    }
    Ok(out)
}

fn translate_escape(e: char, in_class: bool, out: &mut String) -> Result<(), SearchError> {
    match e {
        'Z' if !in_class => out.push_str(r"\z"),
        '0' => out.push_str(r"\x00"),
        'N' => return Err(unsupported(r"a named character escape (\N{...})")),
        c if c.is_ascii_alphanumeric() => {
            let known = if in_class {
                PY_CLASS_ESCAPES
            } else {
                PY_ESCAPES
            };
            if !known.contains(c) {
                return Err(invalid(format!(r"bad escape \{c}")));
            }
            out.push('\\');
            out.push(c);
        }
        // Python lets any non-alphanumeric character be escaped. `regex` gives some escapes
        // a meaning (`\<` and `\>` are word boundaries), so escape only its meta characters
        // and write the others literally.
        c if REGEX_META.contains(c) => {
            out.push('\\');
            out.push(c);
        }
        c => {
            if c.is_whitespace() {
                // Escaped whitespace stays literal even under `(?x)`.
                out.push_str(&format!(r"\x{{{:x}}}", c as u32));
            } else {
                out.push(c);
            }
        }
    }
    Ok(())
}

/// A Python quantifier `{m}`, `{m,}`, `{,n}` or `{m,n}` at `i`: its `regex` spelling and the
/// index after it. `None` if the brace is a literal in Python.
fn quantifier(chars: &[char], i: usize) -> Option<(String, usize)> {
    let close = chars[i..].iter().position(|&c| c == '}')? + i;
    let body: String = chars[i + 1..close].iter().collect();
    let (lo, hi) = match body.split_once(',') {
        Some((lo, hi)) => (lo, Some(hi)),
        None => (body.as_str(), None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if !digits(lo) || !hi.is_none_or(digits) || (lo.is_empty() && hi.is_none()) {
        return None;
    }
    let lo = if lo.is_empty() { "0" } else { lo };
    let mut text = match hi {
        None => format!("{{{lo}}}"),
        Some(hi) => format!("{{{lo},{hi}}}"),
    };
    let mut next = close + 1;
    if chars.get(next) == Some(&'?') {
        text.push('?');
        next += 1;
    }
    Some((text, next))
}

/// Translates a `(?…` construct at `i`; returns the index after what was consumed.
fn translate_group(chars: &[char], i: usize, out: &mut String) -> Result<usize, SearchError> {
    let rest: String = chars[i + 2..chars.len().min(i + 5)].iter().collect();
    let ahead = |s: &str| rest.starts_with(s);
    if ahead("=") || ahead("!") || ahead("<=") || ahead("<!") {
        return Err(unsupported("lookaround"));
    }
    if ahead("P=") {
        return Err(unsupported("a backreference"));
    }
    if ahead(">") {
        return Err(unsupported("an atomic group"));
    }
    if ahead("(") {
        return Err(unsupported("a conditional group"));
    }
    if ahead("#") {
        let end = chars[i..]
            .iter()
            .position(|&c| c == ')')
            .ok_or_else(|| invalid("missing ), unterminated comment"))?;
        return Ok(i + end + 1);
    }
    if ahead(":") || ahead("P<") {
        out.push_str("(?");
        return Ok(i + 2);
    }
    // Inline flags: `(?aiLmsux)` or scoped `(?aiLmsux-imsx:...)`.
    let mut j = i + 2;
    let mut flags = String::new();
    while let Some(&c) = chars.get(j) {
        match c {
            'i' | 'm' | 's' | 'x' | '-' => flags.push(c),
            'u' => {}
            'a' => return Err(unsupported("the ASCII flag (?a)")),
            'L' => return Err(unsupported("the locale flag (?L)")),
            ')' | ':' => break,
            other => return Err(invalid(format!("unknown extension ?{other}"))),
        }
        j += 1;
    }
    match chars.get(j) {
        Some(')') if flags.is_empty() || flags == "-" => Ok(j + 1),
        Some(&end @ (')' | ':')) => {
            out.push_str("(?");
            out.push_str(&flags);
            out.push(end);
            Ok(j + 1)
        }
        _ => Err(invalid("missing ), unterminated flag group")),
    }
}

#[cfg(test)]
mod tests;
