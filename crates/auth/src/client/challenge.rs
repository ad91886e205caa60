//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).
//!
//! A header holds one or more challenges: `scheme [token68 | auth-param *("," auth-param)]`,
//! where an auth-param is `name = (token | quoted-string)` with optional whitespace around `=`
//! and backslash escapes inside quoted strings. Parameters may come in any order. The parser
//! never fails: malformed tails are skipped, since a challenge is advice, not authority.

/// Longest header this parser looks at; servers have no reason to send more.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// One challenge from a `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent (compare case-insensitively).
    pub scheme: String,
    /// `token68` form, if the challenge used it instead of parameters.
    pub token68: Option<String>,
    /// Parameters with lower-cased names, in header order, values unescaped.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of parameter `name` (case-insensitive); the first one wins.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the OAuth client needs from a Bearer or DPoP challenge.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `resource_metadata`: the PRM URL (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// `scope`: space-separated scopes the request needs.
    pub scope: Option<String>,
    /// `error`, e.g. `invalid_token` or `insufficient_scope`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

impl BearerChallenge {
    /// Parses `header` and picks the first `Bearer` or `DPoP` challenge.
    /// A missing or unrecognised header yields an empty challenge.
    pub fn from_header(header: Option<&str>) -> Self {
        let Some(h) = header else {
            return Self::default();
        };
        parse(h)
            .into_iter()
            .find(|c| {
                c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("dpop")
            })
            .map(|c| Self {
                resource_metadata: c.param("resource_metadata").map(str::to_owned),
                scope: c.param("scope").map(str::to_owned),
                error: c.param("error").map(str::to_owned),
                error_description: c.param("error_description").map(str::to_owned),
            })
            .unwrap_or_default()
    }

    /// The challenged scopes, split on spaces, empty entries dropped.
    pub fn scopes(&self) -> Vec<String> {
        split_scopes(self.scope.as_deref().unwrap_or(""))
    }
}

/// Splits a space-separated scope string.
pub(crate) fn split_scopes(s: &str) -> Vec<String> {
    s.split([' ', '\t'])
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }
    fn skip_ws_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }
    /// A quoted string starting at the current `"`; unescapes `\x`. Unterminated strings run
    /// to the end of input.
    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    /// Skips to the next comma (for malformed params).
    fn skip_item(&mut self) {
        while let Some(b) = self.peek() {
            if b == b',' {
                break;
            }
            if b == b'"' {
                let _ = self.quoted();
            } else {
                self.i += 1;
            }
        }
    }
}

/// Parses every challenge in a `WWW-Authenticate` header value.
pub fn parse(header: &str) -> Vec<Challenge> {
    let bytes = header.as_bytes();
    let s = &bytes[..bytes.len().min(MAX_HEADER_LEN)];
    let mut c = Cursor { s, i: 0 };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_ws_commas();
        let Some(first) = c.peek() else { break };
        if !is_tchar(first) {
            c.i += 1;
            continue;
        }
        let save = c.i;
        let Some(name) = c.token() else { break };
        c.skip_ws();
        if c.peek() == Some(b'=') && !out.is_empty() {
            // `name = value`: a parameter of the current challenge.
            c.i += 1;
            c.skip_ws();
            let value = match c.peek() {
                Some(b'"') => Some(c.quoted()),
                _ => c.token(),
            };
            match value {
                Some(v) => {
                    if let Some(last) = out.last_mut() {
                        last.params.push((name.to_ascii_lowercase(), v));
                    }
                }
                None => c.skip_item(),
            }
            continue;
        }
        if c.peek() == Some(b'=') {
            // A parameter before any scheme: malformed, skip it.
            c.i = save;
            c.skip_item();
            continue;
        }
        // A new challenge. Is it followed by token68?
        let mut ch = Challenge {
            scheme: name,
            token68: None,
            params: Vec::new(),
        };
        let t_start = c.i;
        while c.peek().is_some_and(is_token68_char) {
            c.i += 1;
        }
        if c.i > t_start {
            while c.peek() == Some(b'=') {
                c.i += 1;
            }
            let after = c.i;
            c.skip_ws();
            if matches!(c.peek(), None | Some(b',')) {
                ch.token68 = Some(String::from_utf8_lossy(&s[t_start..after]).into_owned());
            } else {
                // It was `name=value`, not token68: rewind and let the loop read it as a param.
                c.i = t_start;
            }
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_conformance_header_with_params_in_any_order() {
        let h = r#"Bearer error="invalid_token", error_description="Missing Authorization header", scope="mcp:basic", resource_metadata="http://localhost:3000/.well-known/oauth-protected-resource/mcp""#;
        let b = BearerChallenge::from_header(Some(h));
        assert_eq!(b.error.as_deref(), Some("invalid_token"));
        assert_eq!(
            b.error_description.as_deref(),
            Some("Missing Authorization header")
        );
        assert_eq!(b.scope.as_deref(), Some("mcp:basic"));
        assert_eq!(
            b.resource_metadata.as_deref(),
            Some("http://localhost:3000/.well-known/oauth-protected-resource/mcp")
        );

        let h2 =
            r#"Bearer resource_metadata="https://x/prm", error="insufficient_scope", scope="a b""#;
        let b2 = BearerChallenge::from_header(Some(h2));
        assert_eq!(b2.resource_metadata.as_deref(), Some("https://x/prm"));
        assert_eq!(b2.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(b2.scopes(), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn quoted_strings_unescape_and_may_contain_commas() {
        let h = r#"Bearer error_description="a \"quoted\", \\ value", scope="x""#;
        let b = BearerChallenge::from_header(Some(h));
        assert_eq!(
            b.error_description.as_deref(),
            Some(r#"a "quoted", \ value"#)
        );
        assert_eq!(b.scope.as_deref(), Some("x"));
    }

    #[test]
    fn token_values_and_whitespace_around_equals() {
        let b = BearerChallenge::from_header(Some("bearer error = invalid_token ,scope=\"s\""));
        assert_eq!(b.error.as_deref(), Some("invalid_token"));
        assert_eq!(b.scope.as_deref(), Some("s"));
    }

    #[test]
    fn dpop_scheme_is_accepted_and_first_matching_challenge_wins() {
        let h = r#"Basic realm="x", DPoP algs="ES256", resource_metadata="https://a/prm", Bearer scope="ignored""#;
        let all = parse(h);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].scheme, "Basic");
        assert_eq!(all[0].param("realm"), Some("x"));
        assert_eq!(all[1].scheme, "DPoP");
        assert_eq!(all[1].param("algs"), Some("ES256"));
        assert_eq!(all[2].param("scope"), Some("ignored"));
        let b = BearerChallenge::from_header(Some(h));
        assert_eq!(b.resource_metadata.as_deref(), Some("https://a/prm"));
        assert_eq!(b.scope, None);
    }

    #[test]
    fn token68_challenge_then_param_challenge() {
        let all = parse("Negotiate abc123==, Bearer realm=\"r\"");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].token68.as_deref(), Some("abc123=="));
        assert_eq!(all[1].param("realm"), Some("r"));
    }

    #[test]
    fn bare_scheme_and_garbage_do_not_panic() {
        assert_eq!(
            BearerChallenge::from_header(Some("Bearer")),
            BearerChallenge::default()
        );
        for h in [
            "",
            ",,,",
            "=",
            "Bearer =",
            "Bearer scope=\"unterminated",
            "\"x\"",
            "Bearer a=,b=\"c\"",
        ] {
            let _ = parse(h);
        }
        let b = BearerChallenge::from_header(Some("Bearer scope=\"unterminated"));
        assert_eq!(b.scope.as_deref(), Some("unterminated"));
        let b = BearerChallenge::from_header(Some("Bearer a=,b=\"c\""));
        assert_eq!(parse("Bearer a=,b=\"c\"")[0].param("b"), Some("c"), "{b:?}");
        assert_eq!(
            BearerChallenge::from_header(None),
            BearerChallenge::default()
        );
    }
}
